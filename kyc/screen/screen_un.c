/*
 * screen_un.c — loader for the UN Security Council consolidated list (XML, libxml2).
 *
 * The document is parsed as a tree (2 MB today; SCREEN_MAX_LIST_FILE_BYTES caps it) with
 * network access and entity expansion off, then walked once. CONSOLIDATED_LIST/@dateGenerated
 * dates the version. Each INDIVIDUAL/ENTITY becomes one entry: the name is FIRST..FOURTH_NAME
 * joined, NAME_ORIGINAL_SCRIPT becomes an original-script alias, aliases keep their QUALITY
 * (Good and a.k.a. strong, Low weak, f.k.a. former), and DOBs, places of birth, nationalities,
 * addresses and documents are collected. Values may hold line breaks and runs of spaces, which
 * are collapsed; empty placeholder elements (<INDIVIDUAL_DOCUMENT/>, empty ALIAS_NAME) are
 * skipped. A parse error (a truncated download) refuses the whole file with libxml2's line.
 */
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "kyc/screen/screen_internal.h"

static const char *const sanction_topics[] = {"sanction"};

static int is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* Collapsed text of an element into the arena; NULL when empty. Sets *too_big on overflow. */
static char *text(struct screen_list_set *set, const xmlNode *n, int *too_big)
{
    xmlChar *raw = xmlNodeGetContent(n);
    if (!raw)
        return NULL;
    size_t len = strlen((const char *)raw);
    char *out = NULL;
    if (len > SCREEN_MAX_FIELD_BYTES) {
        *too_big = 1;
    } else {
        len = screen_collapse_space((char *)raw, len);
        if (len)
            out = screen_arena_strndup(&set->arena, (const char *)raw, len);
    }
    xmlFree(raw);
    return out;
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (is(c, name))
            return c;
    return NULL;
}

static char *child_text(struct screen_list_set *set, const xmlNode *n, const char *name,
                        int *too_big)
{
    const xmlNode *c = child(n, name);
    return c ? text(set, c, too_big) : NULL;
}

static int parse_dob(struct screen_list_set *set, struct screen_entry_builder *b, const xmlNode *n,
                     int *too_big)
{
    char *type = child_text(set, n, "TYPE_OF_DATE", too_big);
    char *date = child_text(set, n, "DATE", too_big);
    char *year = child_text(set, n, "YEAR", too_big);
    char *from = child_text(set, n, "FROM_YEAR", too_big);
    char *to = child_text(set, n, "TO_YEAR", too_big);
    struct screen_dob d;
    int ok = -1;
    if (date)
        ok = screen_dob_parse(date, strlen(date), &d);
    else if (year)
        ok = screen_dob_parse(year, strlen(year), &d);
    else if (from && to) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s to %s", from, to);
        ok = screen_dob_parse(buf, strlen(buf), &d);
    } else if (from)
        ok = screen_dob_parse(from, strlen(from), &d);
    if (ok != 0)
        return 0; /* an empty or unreadable date is not a reason to refuse the list */
    if (type && strcasecmp(type, "APPROXIMATELY") == 0)
        d.circa = 1;
    return screen_builder_dob(b, &d);
}

static enum screen_doc_kind doc_kind(const char *type)
{
    if (!type)
        return SCREEN_DOC_OTHER;
    if (strcasestr(type, "passport") || strcasestr(type, "passeport") ||
        strcasestr(type, "pasaporte"))
        return SCREEN_DOC_PASSPORT;
    if (strcasestr(type, "national") || strcasestr(type, "identi"))
        return SCREEN_DOC_NATIONAL_ID;
    return SCREEN_DOC_OTHER;
}

static char *join(struct screen_list_set *set, const char *const *parts, size_t n, const char *sep)
{
    char buf[SCREEN_MAX_FIELD_BYTES];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!parts[i])
            continue;
        int w = snprintf(buf + len, sizeof buf - len, "%s%s", len ? sep : "", parts[i]);
        if (w < 0 || (size_t)w >= sizeof buf - len)
            break;
        len += (size_t)w;
    }
    return len ? screen_arena_strndup(&set->arena, buf, len) : NULL;
}

static int parse_record(struct screen_list_set *set, struct screen_entry_builder *b,
                        const xmlNode *rec, int individual, struct screen_error *err)
{
    int too_big = 0, rc = 0;
    struct screen_entry e = {0};
    screen_builder_reset(b);
    e.source = "un-consolidated";
    e.topics = sanction_topics;
    e.n_topics = 1;
    e.type = individual ? SCREEN_TYPE_INDIVIDUAL : SCREEN_TYPE_ORGANIZATION;
    char *names[4] = {0};
    char *ref = NULL, *dataid = NULL;
    for (const xmlNode *c = rec->children; c && rc == 0; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *tag = (const char *)c->name;
        if (strcmp(tag, "FIRST_NAME") == 0)
            names[0] = text(set, c, &too_big);
        else if (strcmp(tag, "SECOND_NAME") == 0)
            names[1] = text(set, c, &too_big);
        else if (strcmp(tag, "THIRD_NAME") == 0)
            names[2] = text(set, c, &too_big);
        else if (strcmp(tag, "FOURTH_NAME") == 0)
            names[3] = text(set, c, &too_big);
        else if (strcmp(tag, "REFERENCE_NUMBER") == 0)
            ref = text(set, c, &too_big);
        else if (strcmp(tag, "DATAID") == 0)
            dataid = text(set, c, &too_big);
        else if (strcmp(tag, "UN_LIST_TYPE") == 0) {
            const char **arr = b->programs;
            rc = screen_builder_string(b, &arr, &b->n_programs, text(set, c, &too_big));
        } else if (strcmp(tag, "NAME_ORIGINAL_SCRIPT") == 0)
            rc = screen_builder_alias(b, text(set, c, &too_big), SCREEN_NAME_ORIGINAL_SCRIPT);
        else if (strcmp(tag, "GENDER") == 0) {
            char *g = text(set, c, &too_big);
            if (g && strcasecmp(g, "male") == 0)
                e.gender = SCREEN_GENDER_MALE;
            else if (g && strcasecmp(g, "female") == 0)
                e.gender = SCREEN_GENDER_FEMALE;
        } else if (strcmp(tag, "COMMENTS1") == 0)
            e.remarks = text(set, c, &too_big);
        else if (strcmp(tag, "NATIONALITY") == 0) {
            for (const xmlNode *v = c->children; v && rc == 0; v = v->next)
                if (is(v, "VALUE")) {
                    const char **arr = b->nationalities;
                    rc =
                        screen_builder_string(b, &arr, &b->n_nationalities, text(set, v, &too_big));
                }
        } else if (strcmp(tag, "INDIVIDUAL_ALIAS") == 0 || strcmp(tag, "ENTITY_ALIAS") == 0) {
            char *q = child_text(set, c, "QUALITY", &too_big);
            char *name = child_text(set, c, "ALIAS_NAME", &too_big);
            enum screen_name_kind kind = SCREEN_NAME_ALIAS;
            if (q && strcasecmp(q, "Low") == 0)
                kind = SCREEN_NAME_ALIAS_WEAK;
            else if (q && strcasecmp(q, "f.k.a.") == 0)
                kind = SCREEN_NAME_FORMER;
            rc = screen_builder_alias(b, name, kind);
        } else if (strcmp(tag, "INDIVIDUAL_ADDRESS") == 0 || strcmp(tag, "ENTITY_ADDRESS") == 0) {
            const char **arr = b->countries;
            rc = screen_builder_string(b, &arr, &b->n_countries,
                                       child_text(set, c, "COUNTRY", &too_big));
        } else if (strcmp(tag, "INDIVIDUAL_DATE_OF_BIRTH") == 0) {
            rc = parse_dob(set, b, c, &too_big);
        } else if (strcmp(tag, "INDIVIDUAL_PLACE_OF_BIRTH") == 0) {
            const char *parts[3] = {child_text(set, c, "CITY", &too_big),
                                    child_text(set, c, "STATE_PROVINCE", &too_big),
                                    child_text(set, c, "COUNTRY", &too_big)};
            const char **arr = b->pobs;
            rc = screen_builder_string(b, &arr, &b->n_pobs, join(set, parts, 3, ", "));
        } else if (strcmp(tag, "INDIVIDUAL_DOCUMENT") == 0) {
            struct screen_document d = {0};
            d.type = child_text(set, c, "TYPE_OF_DOCUMENT", &too_big);
            d.number = child_text(set, c, "NUMBER", &too_big);
            d.country = child_text(set, c, "ISSUING_COUNTRY", &too_big);
            if (!d.country)
                d.country = child_text(set, c, "COUNTRY_OF_ISSUE", &too_big);
            d.kind = doc_kind(d.type);
            rc = screen_builder_document(b, &d);
        }
    }
    long line = rec->line;
    if (too_big)
        return screen_fail(err, CAPP_ETOOBIG,
                           "consolidated.xml line %ld: a value exceeds the %u-byte field limit",
                           line, SCREEN_MAX_FIELD_BYTES);
    if (rc == CAPP_ETOOBIG)
        return screen_fail(
            err, rc, "consolidated.xml line %ld: more attributes than the per-entry limit", line);
    if (rc)
        return screen_fail(err, rc, "consolidated.xml line %ld: %s", line, capp_strerror(rc));
    e.name = join(set, (const char *const *)names, 4, " ");
    if (!e.name)
        return screen_fail(err, CAPP_EPARSE, "consolidated.xml line %ld: %s %s has no name", line,
                           individual ? "INDIVIDUAL" : "ENTITY",
                           ref ? ref : (dataid ? dataid : "(no reference)"));
    char idbuf[96];
    snprintf(idbuf, sizeof idbuf, "un:%s", ref ? ref : (dataid ? dataid : "unknown"));
    e.id = screen_arena_strndup(&set->arena, idbuf, strlen(idbuf));
    if (!e.id)
        return screen_fail(err, CAPP_ENOMEM, "out of memory");
    if ((rc = screen_builder_commit(set, b, &e)) || (rc = screen_list_set_append(set, &e)))
        return screen_fail(err, rc, "consolidated.xml line %ld: %s", line, capp_strerror(rc));
    return 0;
}

static int depth_ok(const xmlNode *n, unsigned depth)
{
    if (depth > SCREEN_MAX_XML_DEPTH)
        return 0;
    for (const xmlNode *c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !depth_ok(c, depth + 1))
            return 0;
    return 1;
}

int screen_list_set_load_un_buffer(struct screen_list_set *out, const char *xml, size_t len,
                                   struct screen_error *err)
{
    if (len > SCREEN_MAX_LIST_FILE_BYTES)
        return screen_fail(err, CAPP_ETOOBIG,
                           "consolidated.xml: %zu bytes exceeds the %u-byte list file limit", len,
                           SCREEN_MAX_LIST_FILE_BYTES);
    xmlDoc *doc = xmlReadMemory(xml, (int)len, "consolidated.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *xe = xmlGetLastError();
        return screen_fail(
            err, CAPP_EPARSE, "consolidated.xml line %d: %s (truncated file?)", xe ? xe->line : 0,
            xe && xe->message ? strtok((char *)xe->message, "\n") : "not well-formed XML");
    }
    int rc = 0;
    struct screen_list_set *set = screen_list_set_new();
    struct screen_entry_builder *b = malloc(sizeof *b);
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!set || !b) {
        rc = screen_fail(err, CAPP_ENOMEM, "out of memory");
        goto out;
    }
    if (!root || !is(root, "CONSOLIDATED_LIST")) {
        rc = screen_fail(err, CAPP_EPARSE,
                         "consolidated.xml: root element is <%s>, expected <CONSOLIDATED_LIST>",
                         root ? (const char *)root->name : "(none)");
        goto out;
    }
    if (!depth_ok(root, 1)) {
        rc = screen_fail(err, CAPP_ETOOBIG, "consolidated.xml: nesting deeper than %u levels",
                         SCREEN_MAX_XML_DEPTH);
        goto out;
    }
    for (const xmlNode *group = root->children; group && rc == 0; group = group->next) {
        int individual = is(group, "INDIVIDUALS");
        if (!individual && !is(group, "ENTITIES"))
            continue;
        const char *want = individual ? "INDIVIDUAL" : "ENTITY";
        for (const xmlNode *rec = group->children; rec && rc == 0; rec = rec->next)
            if (is(rec, want))
                rc = parse_record(set, b, rec, individual, err);
    }
    if (rc)
        goto out;
    if (set->n_entries == 0) {
        rc = screen_fail(err, CAPP_EPARSE, "consolidated.xml: no INDIVIDUAL or ENTITY records");
        goto out;
    }
    struct screen_list_version v = {0};
    snprintf(v.source, sizeof v.source, "un-consolidated");
    xmlChar *generated = xmlGetProp(root, (const xmlChar *)"dateGenerated");
    snprintf(v.date, sizeof v.date, "%.10s", generated ? (const char *)generated : "unknown");
    snprintf(v.date_source, sizeof v.date_source, "%s",
             generated && screen_date_valid(v.date, strlen(v.date)) ? "content" : "unknown");
    xmlFree(generated);
    snprintf(v.path, sizeof v.path, "(memory)");
    const char *parts[1] = {xml};
    size_t lens[1] = {len};
    screen_sha256_hex(parts, lens, 1, v.sha256);
    v.records = (uint32_t)set->n_entries;
    if ((rc = screen_list_set_add_version(set, &v)) || (rc = screen_list_set_merge(out, set)))
        screen_fail(err, rc, "un: list set is full");
out:
    free(b);
    screen_list_set_free(set);
    xmlFreeDoc(doc);
    return rc;
}

int screen_list_set_load_un(struct screen_list_set *set, const char *path, struct screen_error *err)
{
    char *data;
    size_t len;
    int rc = screen_read_file(path, &data, &len, err);
    if (rc)
        return rc;
    size_t before = set->n_versions;
    rc = screen_list_set_load_un_buffer(set, data, len, err);
    if (rc == 0 && set->n_versions > before)
        snprintf(set->versions[set->n_versions - 1].path,
                 sizeof set->versions[set->n_versions - 1].path, "%s", path);
    else if (rc && err) {
        char prefix[PATH_MAX];
        snprintf(prefix, sizeof prefix, "%s: ", path);
        screen_error_prefix(err, prefix);
    }
    free(data);
    return rc;
}
