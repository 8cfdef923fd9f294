/*
 * screen_ofac.c — loader for the OFAC legacy CSV sets: the SDN list (sdn, alt, add,
 * sdn_comments) and the Consolidated (non-SDN) list, published in the same layout under a
 * `cons_` prefix (cons_prim, cons_alt, cons_add, cons_comments). A layout table names the files
 * (for messages), the source and the id prefix ("ofac:", "ofac-cons:"); the parsing is one.
 *
 * The files have no header row, CRLF line ends, an optional trailing 0x1A (DOS EOF) byte,
 * double-quoted text fields, bare numbers and the null marker `-0- ` (with its trailing
 * space). The reader below is a strict RFC 4180-style scanner over the whole file in memory:
 * it knows these quirks, counts lines for error messages, and refuses a record with the wrong
 * number of fields, an unterminated quote or a missing final line end, which is how a
 * truncated download shows itself. alt/add/comments rows are grouped by ent_num with one sort
 * each and joined to sdn.csv rows by binary search. sdn.csv remarks cut at 1,000 characters
 * continue in sdn_comments.csv and are joined with no separator before the remarks parser
 * (screen_remarks.c) sees them.
 *
 * Neither layout carries a publication date. Per D29 a version's date is never a file's
 * modification time: it is the date `kyc lists fetch` recorded from the publisher's
 * Last-Modified (SCREEN_LIST_DATE_FILE in the folder), or the one given as `PATH@YYYY-MM-DD`
 * (screen_load.c), else "unknown".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kyc/screen/screen_internal.h"
#include "kyc/screen/screen_ofac.h"

const struct screen_ofac_layout screen_ofac_sdn = {
    "ofac-sdn", "ofac", {"sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"}};
const struct screen_ofac_layout screen_ofac_cons = {
    "ofac-cons",
    "ofac-cons",
    {"cons_prim.csv", "cons_alt.csv", "cons_add.csv", "cons_comments.csv"}};

static const char *const sanction_topics[] = {"sanction"};

struct slice {
    const char *p;
    size_t len;
    int null;
};

struct csv {
    const char *name;
    const char *p, *end;
    unsigned long line;
};

static void csv_init(struct csv *c, const char *name, const char *data, size_t len)
{
    c->name = name;
    c->p = data;
    c->end = data + len;
    /* trailing DOS EOF marker(s) */
    while (c->end > c->p && c->end[-1] == 0x1a)
        c->end--;
    c->line = 0;
}

/* Reads one record. Returns 1 with fields, 0 at end of input, or a negative error. */
static int csv_next(struct csv *c, struct slice *fields, unsigned want, struct screen_error *err)
{
    if (c->p >= c->end)
        return 0;
    c->line++;
    unsigned n = 0;
    for (;;) {
        struct slice f = {c->p, 0, 0};
        if (c->p < c->end && *c->p == '"') {
            const char *start = ++c->p;
            const char *q = memchr(c->p, '"', (size_t)(c->end - c->p));
            while (q && q + 1 < c->end && q[1] == '"') /* "" escape: keep scanning */
                q = memchr(q + 2, '"', (size_t)(c->end - q - 2));
            if (!q)
                return screen_fail(err, CAPP_EPARSE,
                                   "%s line %lu field %u: unterminated quoted field (truncated "
                                   "file?)",
                                   c->name, c->line, n + 1);
            f.p = start;
            f.len = (size_t)(q - start);
            c->p = q + 1;
            while (c->p < c->end && *c->p == ' ')
                c->p++;
        } else {
            while (c->p < c->end && *c->p != ',' && *c->p != '\r' && *c->p != '\n')
                c->p++;
            f.len = (size_t)(c->p - f.p);
            while (f.len && (f.p[f.len - 1] == ' ' || f.p[f.len - 1] == '\t'))
                f.len--;
            while (f.len && (*f.p == ' ' || *f.p == '\t')) {
                f.p++;
                f.len--;
            }
            if (f.len == 3 && memcmp(f.p, "-0-", 3) == 0) {
                f.null = 1;
                f.len = 0;
            }
        }
        if (f.len > SCREEN_MAX_FIELD_BYTES)
            return screen_fail(err, CAPP_ETOOBIG,
                               "%s line %lu field %u: %zu bytes exceeds the %u-byte field limit",
                               c->name, c->line, n + 1, f.len, SCREEN_MAX_FIELD_BYTES);
        if (n >= want)
            return screen_fail(err, CAPP_EPARSE, "%s line %lu: more than %u fields", c->name,
                               c->line, want);
        fields[n++] = f;
        if (c->p >= c->end)
            return screen_fail(err, CAPP_EPARSE,
                               "%s line %lu: file ends without a line break (truncated file?)",
                               c->name, c->line);
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '\r')
            c->p++;
        if (c->p < c->end && *c->p == '\n')
            c->p++;
        else
            return screen_fail(err, CAPP_EPARSE, "%s line %lu field %u: unexpected character",
                               c->name, c->line, n);
        break;
    }
    if (n != want)
        return screen_fail(err, CAPP_EPARSE, "%s line %lu: expected %u fields, found %u", c->name,
                           c->line, want, n);
    return 1;
}

static int parse_ent_num(const struct csv *c, const struct slice *f, long *out,
                         struct screen_error *err)
{
    char tmp[16];
    if (f->null || f->len == 0 || f->len >= sizeof tmp)
        return screen_fail(err, CAPP_EPARSE, "%s line %lu: ent_num missing or invalid", c->name,
                           c->line);
    memcpy(tmp, f->p, f->len);
    tmp[f->len] = '\0';
    char *endp;
    errno = 0;
    long v = strtol(tmp, &endp, 10);
    if (errno || *endp || v <= 0)
        return screen_fail(err, CAPP_EPARSE, "%s line %lu: ent_num \"%s\" is not a number", c->name,
                           c->line, tmp);
    *out = v;
    return 0;
}

/* A joined row of alt/add/comments: ent_num plus up to 4 text slices and its line. */
struct side_row {
    long ent;
    unsigned long line;
    struct slice f[4];
};

struct side_table {
    struct side_row *rows;
    size_t n;
};

static int cmp_side(const void *a, const void *b)
{
    const struct side_row *x = a, *y = b;
    if (x->ent != y->ent)
        return x->ent < y->ent ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Reads a side file; keeps the fields listed in `keep` (indexes into the record). */
static int load_side(const char *name, const char *data, size_t len, unsigned want,
                     const unsigned *keep, unsigned n_keep, struct side_table *t,
                     struct screen_error *err)
{
    struct csv c;
    csv_init(&c, name, data, len);
    size_t cap = 0;
    struct slice fields[12];
    int rc;
    t->rows = NULL;
    t->n = 0;
    while ((rc = csv_next(&c, fields, want, err)) == 1) {
        if (t->n == cap) {
            cap = cap ? cap * 2 : 1024;
            if (cap > SCREEN_MAX_ENTRIES * 8) {
                rc = screen_fail(err, CAPP_ETOOBIG, "%s: more than %u rows", name,
                                 SCREEN_MAX_ENTRIES * 8);
                break;
            }
            struct side_row *grown = realloc(t->rows, cap * sizeof *grown);
            if (!grown) {
                rc = screen_fail(err, CAPP_ENOMEM, "%s: out of memory", name);
                break;
            }
            t->rows = grown;
        }
        struct side_row *r = &t->rows[t->n];
        if ((rc = parse_ent_num(&c, &fields[0], &r->ent, err)) != 0)
            break;
        r->line = c.line;
        for (unsigned i = 0; i < n_keep; i++)
            r->f[i] = fields[keep[i]];
        t->n++;
    }
    if (rc < 0) {
        free(t->rows);
        t->rows = NULL;
        t->n = 0;
        return rc;
    }
    if (t->n)
        qsort(t->rows, t->n, sizeof *t->rows, cmp_side);
    return 0;
}

static size_t side_find(const struct side_table *t, long ent, size_t *count)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->rows[mid].ent < ent)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < t->n && t->rows[end].ent == ent)
        end++;
    *count = end - lo;
    return lo;
}

static char *dup_slice(struct screen_list_set *set, const struct slice *f)
{
    if (f->null || f->len == 0)
        return NULL;
    char *s = screen_arena_strndup(&set->arena, f->p, f->len);
    if (s)
        screen_collapse_space(s, f->len);
    return s;
}

static int add_programs(struct screen_list_set *set, struct screen_entry_builder *b,
                        const struct slice *f)
{
    /* "SDGT] [IFSR": the outer brackets were stripped by OFAC */
    const char *p = f->p, *end = f->p + f->len;
    while (!f->null && p < end) {
        while (p < end && (*p == '[' || *p == ']' || *p == ' '))
            p++;
        const char *q = p;
        while (q < end && *q != ']' && *q != '[')
            q++;
        size_t n = (size_t)(q - p);
        while (n && p[n - 1] == ' ')
            n--;
        if (n) {
            char *s = screen_arena_strndup(&set->arena, p, n);
            if (!s)
                return CAPP_ENOMEM;
            const char **arr = b->programs;
            int rc = screen_builder_string(b, &arr, &b->n_programs, s);
            if (rc)
                return rc;
        }
        p = q;
    }
    return 0;
}

static enum screen_entity_type parse_type(const struct slice *f)
{
    if (f->null || f->len == 0)
        return SCREEN_TYPE_ORGANIZATION;
    if (f->len == 10 && memcmp(f->p, "individual", 10) == 0)
        return SCREEN_TYPE_INDIVIDUAL;
    if (f->len == 6 && memcmp(f->p, "vessel", 6) == 0)
        return SCREEN_TYPE_VESSEL;
    if (f->len == 8 && memcmp(f->p, "aircraft", 8) == 0)
        return SCREEN_TYPE_AIRCRAFT;
    return SCREEN_TYPE_ORGANIZATION;
}

/* Checks every side row refers to an entry of the primary file: a dangling ent_num means a
 * truncated or mismatched primary file. `seen` is sorted. */
static int check_orphans(const struct screen_ofac_layout *lay, int file, const struct side_table *t,
                         const long *seen, size_t n_seen, struct screen_error *err)
{
    const char *name = lay->files[file];
    for (size_t i = 0; i < t->n; i++) {
        long ent = t->rows[i].ent;
        size_t lo = 0, hi = n_seen;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (seen[mid] < ent)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == n_seen || seen[lo] != ent)
            return screen_fail(err, CAPP_EPARSE,
                               "%s line %lu: ent_num %ld is not in %s (mismatched or "
                               "truncated %s?)",
                               name, t->rows[i].line, ent, lay->files[0], lay->files[0]);
    }
    return 0;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

int screen_ofac_load(struct screen_list_set *out, const struct screen_ofac_files *files,
                     struct screen_error *err)
{
    struct side_table alt = {0}, add = {0}, com = {0};
    struct screen_entry_builder *b = malloc(sizeof *b);
    struct screen_list_set *set = screen_list_set_new();
    long *seen = NULL;
    char *remarks = NULL;
    size_t n_seen = 0;
    int rc = CAPP_ENOMEM;
    if (!b || !set) {
        screen_fail(err, rc, "out of memory");
        goto out;
    }
    static const unsigned alt_keep[] = {2, 3};    /* alt_type, alt_name */
    static const unsigned add_keep[] = {2, 3, 4}; /* address, city, country */
    static const unsigned com_keep[] = {1};
    const struct screen_ofac_layout *lay = files->layout ? files->layout : &screen_ofac_sdn;
    if ((rc = load_side(lay->files[1], files->alt, files->alt_len, 5, alt_keep, 2, &alt, err)) ||
        (rc = load_side(lay->files[2], files->add, files->add_len, 6, add_keep, 3, &add, err)))
        goto out;
    if (files->comments && (rc = load_side(lay->files[3], files->comments, files->comments_len, 2,
                                           com_keep, 1, &com, err)))
        goto out;

    struct csv c;
    csv_init(&c, lay->files[0], files->sdn, files->sdn_len);
    struct slice f[12];
    size_t cap_seen = 0;
    remarks = malloc(SCREEN_MAX_REMARKS_BYTES + 1);
    if (!remarks) {
        rc = screen_fail(err, CAPP_ENOMEM, "out of memory");
        goto out;
    }
    while ((rc = csv_next(&c, f, 12, err)) == 1) {
        long ent;
        if ((rc = parse_ent_num(&c, &f[0], &ent, err)))
            goto out;
        if (n_seen == cap_seen) {
            cap_seen = cap_seen ? cap_seen * 2 : 4096;
            long *grown = realloc(seen, cap_seen * sizeof *grown);
            if (!grown) {
                rc = screen_fail(err, CAPP_ENOMEM, "out of memory");
                goto out;
            }
            seen = grown;
        }
        seen[n_seen++] = ent;
        if (f[1].null || f[1].len == 0) {
            rc = screen_fail(err, CAPP_EPARSE, "%s line %lu: ent_num %ld has no name",
                             lay->files[0], c.line, ent);
            goto out;
        }
        struct screen_entry e = {0};
        char idbuf[32];
        snprintf(idbuf, sizeof idbuf, "%s:%ld", lay->id_prefix, ent);
        e.id = screen_arena_strndup(&set->arena, idbuf, strlen(idbuf));
        e.source = lay->source;
        e.topics = sanction_topics;
        e.n_topics = 1;
        e.type = parse_type(&f[2]);
        e.name = dup_slice(set, &f[1]);
        if (!e.id || !e.name) {
            rc = screen_fail(err, CAPP_ENOMEM, "out of memory");
            goto out;
        }
        screen_builder_reset(b);
        if ((rc = add_programs(set, b, &f[3])))
            goto entry_error;

        /* remarks + continuation */
        size_t rlen = f[11].null ? 0 : f[11].len;
        memcpy(remarks, f[11].p, rlen);
        size_t k, n;
        k = side_find(&com, ent, &n);
        for (size_t i = 0; i < n; i++) {
            const struct slice *cs = &com.rows[k + i].f[0];
            if (cs->null)
                continue;
            if (rlen + cs->len > SCREEN_MAX_REMARKS_BYTES) {
                rc = screen_fail(err, CAPP_ETOOBIG,
                                 "sdn_comments.csv line %lu: remarks of ent_num %ld exceed %u "
                                 "bytes",
                                 com.rows[k + i].line, ent, SCREEN_MAX_REMARKS_BYTES);
                goto out;
            }
            memcpy(remarks + rlen, cs->p, cs->len);
            rlen += cs->len;
        }
        remarks[rlen] = '\0';
        if (rlen) {
            e.remarks = screen_arena_strndup(&set->arena, remarks, rlen);
            if (!e.remarks) {
                rc = CAPP_ENOMEM;
                goto entry_error;
            }
            if ((rc = screen_remarks_collect(set, b, e.remarks, rlen, &e.gender, err)))
                goto entry_error;
        }

        k = side_find(&alt, ent, &n);
        for (size_t i = 0; i < n; i++) {
            const struct side_row *r = &alt.rows[k + i];
            char *name = dup_slice(set, &r->f[1]);
            if (!name)
                continue;
            enum screen_name_kind kind = SCREEN_NAME_ALIAS;
            if (r->f[0].len == 3 && memcmp(r->f[0].p, "fka", 3) == 0)
                kind = SCREEN_NAME_FORMER;
            if ((rc = screen_builder_alias(b, name, kind)))
                goto entry_error;
        }
        k = side_find(&add, ent, &n);
        for (size_t i = 0; i < n; i++) {
            char *country = dup_slice(set, &add.rows[k + i].f[2]);
            const char **arr = b->countries;
            if (country && (rc = screen_builder_string(b, &arr, &b->n_countries, country)))
                goto entry_error;
        }
        if ((rc = screen_builder_commit(set, b, &e)) || (rc = screen_list_set_append(set, &e)))
            goto entry_error;
        continue;
    entry_error:
        if (rc == CAPP_ETOOBIG)
            screen_fail(err, rc,
                        "%s line %lu: ent_num %ld has more attributes than the "
                        "per-entry limit",
                        lay->files[0], c.line, ent);
        else if (err && err->code != rc)
            screen_fail(err, rc, "%s line %lu: %s", lay->files[0], c.line, capp_strerror(rc));
        goto out;
    }
    if (rc < 0)
        goto out;
    if (n_seen == 0) {
        rc = screen_fail(err, CAPP_EPARSE, "%s: no records (empty or truncated file)",
                         lay->files[0]);
        goto out;
    }
    qsort(seen, n_seen, sizeof *seen, cmp_long);
    for (size_t i = 1; i < n_seen; i++)
        if (seen[i] == seen[i - 1]) {
            rc = screen_fail(err, CAPP_EPARSE, "%s: ent_num %ld appears twice", lay->files[0],
                             seen[i]);
            goto out;
        }
    if ((rc = check_orphans(lay, 1, &alt, seen, n_seen, err)) ||
        (rc = check_orphans(lay, 2, &add, seen, n_seen, err)) ||
        (rc = check_orphans(lay, 3, &com, seen, n_seen, err)))
        goto out;

    struct screen_list_version v = {0};
    snprintf(v.source, sizeof v.source, "%s", lay->source);
    snprintf(v.date, sizeof v.date, "%s", files->date ? files->date : "unknown");
    snprintf(v.date_source, sizeof v.date_source, "%s",
             files->date && files->date_source ? files->date_source : "unknown");
    snprintf(v.path, sizeof v.path, "%s", files->path ? files->path : "(memory)");
    const char *parts[4] = {files->sdn, files->alt, files->add, files->comments};
    size_t lens[4] = {files->sdn_len, files->alt_len, files->add_len, files->comments_len};
    screen_sha256_hex(parts, lens, 4, v.sha256);
    v.records = (uint32_t)set->n_entries;
    if ((rc = screen_list_set_add_version(set, &v)) || (rc = screen_list_set_merge(out, set))) {
        screen_fail(err, rc, "%s: list set is full", lay->source);
        goto out;
    }
    rc = 0;
out:
    free(alt.rows);
    free(add.rows);
    free(com.rows);
    free(seen);
    free(remarks);
    free(b);
    screen_list_set_free(set);
    return rc;
}

int screen_list_set_load_ofac_buffers(struct screen_list_set *set, const char *sdn, size_t sdn_len,
                                      const char *alt, size_t alt_len, const char *add,
                                      size_t add_len, const char *comments, size_t comments_len,
                                      struct screen_error *err)
{
    struct screen_ofac_files files = {sdn,      sdn_len,      alt,  alt_len, add,  add_len,
                                      comments, comments_len, NULL, NULL,    NULL, NULL};
    return screen_ofac_load(set, &files, err);
}

/* The date `kyc lists fetch` recorded for a folder (the publisher's Last-Modified), if any. */
static int fetched_date(const char *dir, char out[11])
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, SCREEN_LIST_DATE_FILE);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[32] = "";
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!ok || !screen_date_valid(line, 10))
        return 0;
    memcpy(out, line, 10);
    out[10] = '\0';
    return 1;
}

int screen_list_set_load_ofac(struct screen_list_set *set, const char *dir,
                              struct screen_error *err)
{
    char path[PATH_MAX];
    struct stat st;
    /* which list: the SDN files, else the Consolidated ones */
    const struct screen_ofac_layout *lay = &screen_ofac_sdn;
    snprintf(path, sizeof path, "%s/%s", dir, screen_ofac_sdn.files[0]);
    if (stat(path, &st) != 0) {
        snprintf(path, sizeof path, "%s/%s", dir, screen_ofac_cons.files[0]);
        if (stat(path, &st) == 0)
            lay = &screen_ofac_cons;
    }
    char *data[4] = {0};
    size_t lens[4] = {0};
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, lay->files[i]);
        if (i == 3 && stat(path, &st) != 0)
            break; /* the comments file is optional */
        if ((rc = screen_read_file(path, &data[i], &lens[i], err)))
            goto out;
    }
    char date[11];
    int dated = fetched_date(dir, date);
    struct screen_ofac_files files = {data[0], lens[0], data[1],
                                      lens[1], data[2], lens[2],
                                      data[3], lens[3], dated ? date : NULL,
                                      dir,     lay,     "fetched"};
    rc = screen_ofac_load(set, &files, err);
    if (rc && err && strstr(err->message, ".csv") && !strstr(err->message, dir)) {
        char prefix[PATH_MAX];
        snprintf(prefix, sizeof prefix, "%s/", dir);
        screen_error_prefix(err, prefix);
    }
out:
    for (int i = 0; i < 4; i++)
        free(data[i]);
    return rc;
}
