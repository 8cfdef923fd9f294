/*
 * screen_entry.c — building list entries: the per-entry attribute collector, what an entry's
 * topics make of a match (sanctions, PEP, watch list), and the date of birth parser shared by
 * the loaders.
 *
 * Loaders collect an entry's repeated attributes into a fixed-size builder (limits from
 * screen_limits.h) and commit them into the list set's arena in one step, so a half-parsed
 * entry never leaks into a set.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kyc/screen/screen_internal.h"

void screen_builder_reset(struct screen_entry_builder *b)
{
    b->n_aliases = b->n_dobs = b->n_pobs = b->n_nationalities = b->n_countries = 0;
    b->n_documents = b->n_programs = 0;
}

int screen_builder_alias(struct screen_entry_builder *b, const char *name,
                         enum screen_name_kind kind)
{
    if (!name || !*name)
        return 0;
    for (unsigned i = 0; i < b->n_aliases; i++)
        if (strcmp(b->aliases[i].name, name) == 0)
            return 0;
    if (b->n_aliases >= SCREEN_MAX_ALIASES_PER_ENTRY)
        return CAPP_ETOOBIG;
    b->aliases[b->n_aliases].name = name;
    b->aliases[b->n_aliases].kind = kind;
    b->n_aliases++;
    return 0;
}

int screen_builder_dob(struct screen_entry_builder *b, const struct screen_dob *d)
{
    if (b->n_dobs >= SCREEN_MAX_ATTRS_PER_ENTRY)
        return CAPP_ETOOBIG;
    b->dobs[b->n_dobs++] = *d;
    return 0;
}

int screen_builder_string(struct screen_entry_builder *b, const char ***arr, unsigned *n,
                          const char *s)
{
    (void)b;
    if (!s || !*s)
        return 0;
    for (unsigned i = 0; i < *n; i++)
        if (strcasecmp((*arr)[i], s) == 0)
            return 0;
    if (*n >= SCREEN_MAX_ATTRS_PER_ENTRY)
        return CAPP_ETOOBIG;
    (*arr)[(*n)++] = s;
    return 0;
}

int screen_builder_document(struct screen_entry_builder *b, const struct screen_document *d)
{
    if (!d->number || !*d->number)
        return 0;
    if (b->n_documents >= SCREEN_MAX_ATTRS_PER_ENTRY)
        return CAPP_ETOOBIG;
    b->documents[b->n_documents++] = *d;
    return 0;
}

static void *copy_array(struct screen_arena *a, const void *src, size_t n, size_t size)
{
    if (n == 0)
        return NULL;
    void *p = screen_arena_alloc(a, n * size);
    if (p)
        memcpy(p, src, n * size);
    return p;
}

int screen_builder_commit(struct screen_list_set *set, struct screen_entry_builder *b,
                          struct screen_entry *e)
{
    struct screen_arena *a = &set->arena;
#define COPY(field, src, n)                              \
    do {                                                 \
        e->field = copy_array(a, src, n, sizeof *(src)); \
        if ((n) && !e->field)                            \
            return CAPP_ENOMEM;                          \
    } while (0)
    COPY(aliases, b->aliases, b->n_aliases);
    COPY(dobs, b->dobs, b->n_dobs);
    COPY(places_of_birth, b->pobs, b->n_pobs);
    COPY(nationalities, b->nationalities, b->n_nationalities);
    COPY(countries, b->countries, b->n_countries);
    COPY(documents, b->documents, b->n_documents);
    COPY(programs, b->programs, b->n_programs);
#undef COPY
    e->n_aliases = (uint16_t)b->n_aliases;
    e->n_dobs = (uint16_t)b->n_dobs;
    e->n_places_of_birth = (uint16_t)b->n_pobs;
    e->n_nationalities = (uint16_t)b->n_nationalities;
    e->n_countries = (uint16_t)b->n_countries;
    e->n_documents = (uint16_t)b->n_documents;
    e->n_programs = (uint16_t)b->n_programs;
    return 0;
}

/* ---------------------------------------------------------------- topics */

const char *screen_reason_name(enum screen_reason r)
{
    return r == SCREEN_REASON_PEP         ? "pep_match"
           : r == SCREEN_REASON_WATCHLIST ? "watchlist_match"
                                          : "sanctions_match";
}

/* The publisher's topics decide what a match means: any sanction topic makes a sanctions
 * entry (OFAC and UN entries carry "sanction"; no topics at all counts the same), a role.*
 * topic without one a PEP, anything else (crime, debarment, ...) a watch-list entry. */
enum screen_reason screen_entry_reason(const struct screen_entry *e)
{
    if (!e->n_topics)
        return SCREEN_REASON_SANCTIONS;
    int pep = 0;
    for (unsigned i = 0; i < e->n_topics; i++) {
        if (strncmp(e->topics[i], "sanction", 8) == 0)
            return SCREEN_REASON_SANCTIONS; /* "sanction", "sanction.linked", ... */
        pep |= strncmp(e->topics[i], "role.", 5) == 0;
    }
    return pep ? SCREEN_REASON_PEP : SCREEN_REASON_WATCHLIST;
}

/* ---------------------------------------------------------------- dates of birth */

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};

struct cursor {
    const char *p, *end;
};

static void skip_space(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == ','))
        c->p++;
}

static int read_number(struct cursor *c, int max_digits, int *out)
{
    int v = 0, n = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p) && n < max_digits) {
        v = v * 10 + (*c->p - '0');
        c->p++;
        n++;
    }
    if (n == 0 || (c->p < c->end && isdigit((unsigned char)*c->p)))
        return -1;
    *out = v;
    return n;
}

static int read_month(struct cursor *c)
{
    if (c->end - c->p < 3)
        return 0;
    for (int m = 0; m < 12; m++) {
        if (strncasecmp(c->p, months[m], 3) == 0) {
            c->p += 3;
            while (c->p < c->end && isalpha((unsigned char)*c->p))
                c->p++; /* "September" */
            return m + 1;
        }
    }
    return 0;
}

static int match_word(struct cursor *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && strncasecmp(c->p, w, n) == 0 &&
        (c->p + n == c->end || !isalpha((unsigned char)c->p[n]))) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* One date: "10 Dec 1948" | "Dec 1948" | "1948" | "1948-12-10" | "1948-12". */
static int read_date(struct cursor *c, int *y, int *m, int *d)
{
    *y = *m = *d = 0;
    skip_space(c);
    struct cursor save = *c;
    int v;
    int digits = read_number(c, 4, &v);
    if (digits == 4) {
        *y = v;
        /* ISO form, but not "1979-1982" (a range, handled by the caller) */
        if (c->end - c->p >= 3 && c->p[0] == '-' && isdigit((unsigned char)c->p[1]) &&
            isdigit((unsigned char)c->p[2]) &&
            (c->end - c->p == 3 || !isdigit((unsigned char)c->p[3]))) {
            c->p++;
            read_number(c, 2, m);
            if (c->end - c->p >= 3 && c->p[0] == '-') {
                c->p++;
                if (read_number(c, 2, d) < 0)
                    return -1;
            }
        }
    } else if (digits == 1 || digits == 2) {
        *d = v;
        skip_space(c);
        if (!(*m = read_month(c)))
            return -1;
        skip_space(c);
        if (read_number(c, 4, y) != 4)
            return -1;
    } else {
        *c = save;
        if (!(*m = read_month(c)))
            return -1;
        skip_space(c);
        if (read_number(c, 4, y) != 4)
            return -1;
    }
    if (*y < 1000 || *y > 2999 || *m > 12 || *d > 31)
        return -1;
    return 0;
}

int screen_dob_parse(const char *s, size_t len, struct screen_dob *out)
{
    struct cursor c = {s, s + len};
    memset(out, 0, sizeof *out);
    skip_space(&c);
    if (match_word(&c, "circa") || match_word(&c, "approximately") || match_word(&c, "approx"))
        out->circa = 1;
    int y, m, d;
    if (read_date(&c, &y, &m, &d) != 0)
        return CAPP_EPARSE;
    out->year = (int16_t)y;
    out->month = (uint8_t)m;
    out->day = (uint8_t)d;
    out->year_to = (int16_t)y;
    out->month_to = (uint8_t)m;
    out->day_to = (uint8_t)d;
    skip_space(&c);
    int range = 0;
    if (c.p < c.end && *c.p == '-') {
        c.p++;
        range = 1;
    } else if (c.p < c.end && match_word(&c, "to")) {
        range = 1;
    }
    if (range) {
        if (read_date(&c, &y, &m, &d) != 0 || y < out->year)
            return CAPP_EPARSE;
        out->year_to = (int16_t)y;
        out->month_to = (uint8_t)m;
        out->day_to = (uint8_t)d;
    }
    skip_space(&c);
    while (c.p < c.end && (*c.p == '.' || *c.p == ' '))
        c.p++;
    return c.p == c.end ? 0 : CAPP_EPARSE;
}
