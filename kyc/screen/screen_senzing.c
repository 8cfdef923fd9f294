/*
 * screen_senzing.c — loader for OpenSanctions' Senzing JSON export (jansson).
 *
 * OpenSanctions publishes every dataset and collection (sanctions, PEPs, the `default`
 * collection of 300+ sources) in one format: one JSON object per line, an entity each:
 *   {"DATA_SOURCE":"OS_US_CONGRESS", "RECORD_ID":"NK-…", "RECORD_TYPE":"PERSON",
 *    "LAST_CHANGE":"2024-03-21T08:44:01", "NAMES":[{"NAME_TYPE":"PRIMARY","NAME_FULL":"…"}],
 *    "GENDER":"M", "DATES":[{"DATE_OF_BIRTH":"1972"}], "COUNTRIES":[{"NATIONALITY":"us"}],
 *    "ADDRESSES":[{"ADDR_FULL":"…"},{"PLACE_OF_BIRTH":"…"}], "RISKS":[{"TOPIC":"role.pep"}],
 *    "IDENTIFIERS":[{"PASSPORT_NUMBER":"…","PASSPORT_COUNTRY":"…"}], "URL":"…"}
 * (the exporter is zavod/exporters/senzing.py). A record becomes an entry: PERSON an
 * individual, ORGANIZATION an organisation, VESSEL/VEHICLE a vessel, AIRCRAFT an aircraft;
 * records of no type (the export's positions, "United States senator") are skipped and
 * counted. NAME_FULL or NAME_ORG is a name (the first PRIMARY the entry's name, the rest
 * aliases); NATIONALITY and CITIZENSHIP are nationalities, COUNTRY_OF_ASSOCIATION and
 * REGISTRATION_COUNTRY address-like countries; RISKS' topics are kept on the entry (they decide
 * whether a match is a sanctions hit or a PEP, screen.h). Document numbers keep their kind;
 * OpenSanctions' own and Wikidata ids are not customer documents and are left out.
 *
 * Strict like the other loaders: a line that is not a JSON object, a known field of the wrong
 * type, a typed record without a name or id refuse the whole file with its name and line. The
 * version's date is the newest LAST_CHANGE of the file (its own content, D29).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "kyc/screen/screen_internal.h"

struct ctx {
    struct screen_list_set *set;
    struct screen_entry_builder *b;
    const char *name; /* file name, for messages */
    unsigned long line;
    struct screen_error *err;
    char newest[11]; /* newest LAST_CHANGE day */
    char source[32]; /* "opensanctions-<dataset>" */
    unsigned long skipped;
};

static int fail(struct ctx *c, int code, const char *what)
{
    return screen_fail(c->err, code, "%s line %lu: %s", c->name, c->line, what);
}

static char *dup(struct ctx *c, const char *s)
{
    size_t n = strlen(s);
    char *d = n ? screen_arena_strndup(&c->set->arena, s, n) : NULL;
    if (d)
        screen_collapse_space(d, n);
    return d;
}

/* An optional array of objects at `key`; CAPP_EPARSE naming the field when it is not one. */
static int objects(struct ctx *c, const json_t *rec, const char *key, const json_t **out)
{
    char msg[96];
    *out = json_object_get(rec, key);
    if (!*out || json_is_null(*out))
        return 0;
    if (!json_is_array(*out)) {
        snprintf(msg, sizeof msg, "field \"%s\" must be an array", key);
        return fail(c, CAPP_EPARSE, msg);
    }
    size_t i;
    const json_t *v;
    json_array_foreach(*out, i, v) if (!json_is_object(v))
    {
        snprintf(msg, sizeof msg, "field \"%s\" item %zu must be an object", key, i + 1);
        return fail(c, CAPP_EPARSE, msg);
    }
    return 0;
}

/* A string member of an item (NULL when absent); CAPP_EPARSE when present and not a string. */
static int member(struct ctx *c, const json_t *item, const char *key, const char **out)
{
    const json_t *v = json_object_get(item, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        char msg[96];
        snprintf(msg, sizeof msg, "field \"%s\" must be a string", key);
        return fail(c, CAPP_EPARSE, msg);
    }
    if (json_string_length(v) > SCREEN_MAX_FIELD_BYTES) {
        char msg[96];
        snprintf(msg, sizeof msg, "field \"%s\" exceeds %u bytes", key, SCREEN_MAX_FIELD_BYTES);
        return fail(c, CAPP_ETOOBIG, msg);
    }
    *out = json_string_value(v);
    return 0;
}

static int record_type(const char *t, enum screen_entity_type *out)
{
    static const struct {
        const char *name;
        enum screen_entity_type type;
    } map[] = {{"PERSON", SCREEN_TYPE_INDIVIDUAL},
               {"ORGANIZATION", SCREEN_TYPE_ORGANIZATION},
               {"VESSEL", SCREEN_TYPE_VESSEL},
               {"VEHICLE", SCREEN_TYPE_VESSEL},
               {"AIRCRAFT", SCREEN_TYPE_AIRCRAFT}};
    for (size_t i = 0; t && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(t, map[i].name) == 0) {
            *out = map[i].type;
            return 1;
        }
    return 0;
}

static int add_names(struct ctx *c, const json_t *rec, struct screen_entry *e)
{
    const json_t *names;
    int rc = objects(c, rec, "NAMES", &names);
    size_t i;
    const json_t *it;
    json_array_foreach(names, i, it)
    {
        const char *type, *full, *org;
        if (rc || (rc = member(c, it, "NAME_TYPE", &type)) ||
            (rc = member(c, it, "NAME_FULL", &full)) || (rc = member(c, it, "NAME_ORG", &org)))
            return rc;
        char *name = dup(c, full ? full : org ? org : "");
        if (!name)
            continue;
        if (!e->name && (!type || strcmp(type, "PRIMARY") == 0))
            e->name = name;
        else if ((rc = screen_builder_alias(c->b, name, SCREEN_NAME_ALIAS)))
            return rc;
    }
    if (!e->name && c->b->n_aliases) { /* no PRIMARY: the first alias names the entry */
        e->name = c->b->aliases[0].name;
        memmove(c->b->aliases, c->b->aliases + 1, --c->b->n_aliases * sizeof *c->b->aliases);
    }
    return rc;
}

static int add_attributes(struct ctx *c, const json_t *rec, struct screen_entry *e)
{
    struct screen_entry_builder *b = c->b;
    const json_t *arr, *it;
    size_t i;
    const char *v, *num, *ctry;
    int rc;
    if ((rc = member(c, rec, "GENDER", &v)))
        return rc;
    if (v)
        e->gender = v[0] == 'M'   ? SCREEN_GENDER_MALE
                    : v[0] == 'F' ? SCREEN_GENDER_FEMALE
                                  : SCREEN_GENDER_UNKNOWN;
    if ((rc = objects(c, rec, "DATES", &arr)))
        return rc;
    json_array_foreach(arr, i, it)
    {
        struct screen_dob d;
        if ((rc = member(c, it, "DATE_OF_BIRTH", &v)))
            return rc;
        /* an unreadable date is not a reason to refuse the list (as in the UN loader) */
        if (v && screen_dob_parse(v, strlen(v), &d) == 0 && (rc = screen_builder_dob(b, &d)))
            return rc;
    }
    if ((rc = objects(c, rec, "COUNTRIES", &arr)))
        return rc;
    static const char *const nat_keys[] = {"NATIONALITY", "CITIZENSHIP"};
    static const char *const addr_keys[] = {"COUNTRY_OF_ASSOCIATION", "REGISTRATION_COUNTRY"};
    json_array_foreach(arr, i, it)
    {
        for (int k = 0; k < 2; k++) {
            const char **nat = b->nationalities, **addr = b->countries;
            if ((rc = member(c, it, nat_keys[k], &v)) ||
                (v && (rc = screen_builder_string(b, &nat, &b->n_nationalities, dup(c, v)))) ||
                (rc = member(c, it, addr_keys[k], &v)) ||
                (v && (rc = screen_builder_string(b, &addr, &b->n_countries, dup(c, v)))))
                return rc;
        }
    }
    if ((rc = objects(c, rec, "ADDRESSES", &arr)))
        return rc;
    json_array_foreach(arr, i, it)
    {
        const char **pobs = b->pobs;
        if ((rc = member(c, it, "PLACE_OF_BIRTH", &v)) ||
            (v && (rc = screen_builder_string(b, &pobs, &b->n_pobs, dup(c, v)))))
            return rc;
    }
    if ((rc = objects(c, rec, "IDENTIFIERS", &arr)))
        return rc;
    static const struct {
        const char *number, *country, *type;
        enum screen_doc_kind kind;
    } docs[] = {
        {"PASSPORT_NUMBER", "PASSPORT_COUNTRY", "Passport", SCREEN_DOC_PASSPORT},
        {"NATIONAL_ID_NUMBER", "NATIONAL_ID_COUNTRY", "National ID", SCREEN_DOC_NATIONAL_ID},
        {"TAX_ID_NUMBER", "TAX_ID_COUNTRY", "Tax ID", SCREEN_DOC_TAX_ID},
        {"LEI_NUMBER", NULL, "LEI", SCREEN_DOC_REGISTRATION},
        {"DUNS_NUMBER", NULL, "DUNS", SCREEN_DOC_REGISTRATION},
        {"IMO_NUMBER", NULL, "IMO", SCREEN_DOC_VESSEL_IMO},
        {"OTHER_ID_NUMBER", NULL, "Other ID", SCREEN_DOC_OTHER}};
    json_array_foreach(arr, i, it)
    {
        const char *other_type;
        if ((rc = member(c, it, "OTHER_ID_TYPE", &other_type)))
            return rc;
        for (size_t k = 0; k < sizeof docs / sizeof docs[0]; k++) {
            if ((rc = member(c, it, docs[k].number, &num)))
                return rc;
            ctry = NULL;
            if (docs[k].country && (rc = member(c, it, docs[k].country, &ctry)))
                return rc;
            /* OpenSanctions' own ids are references into its database, not documents */
            if (!num || (docs[k].kind == SCREEN_DOC_OTHER && other_type &&
                         strcmp(other_type, "OPEN_SANCTIONS") == 0))
                continue;
            struct screen_document d = {
                docs[k].kind,
                docs[k].kind == SCREEN_DOC_OTHER && other_type ? dup(c, other_type) : docs[k].type,
                dup(c, num), ctry ? dup(c, ctry) : NULL};
            if ((rc = screen_builder_document(b, &d)))
                return rc;
        }
    }
    return 0;
}

static int add_topics(struct ctx *c, const json_t *rec, struct screen_entry *e)
{
    const json_t *arr, *it;
    size_t i;
    const char *topics[SCREEN_MAX_ATTRS_PER_ENTRY];
    unsigned n = 0;
    int rc = objects(c, rec, "RISKS", &arr);
    json_array_foreach(arr, i, it)
    {
        const char *t;
        if (rc || (rc = member(c, it, "TOPIC", &t)))
            return rc;
        if (!t || !*t)
            continue;
        if (n >= SCREEN_MAX_ATTRS_PER_ENTRY)
            return CAPP_ETOOBIG;
        if (!(topics[n++] = dup(c, t)))
            return CAPP_ENOMEM;
    }
    if (n) {
        const char **arr_out = screen_arena_alloc(&c->set->arena, n * sizeof *arr_out);
        if (!arr_out)
            return CAPP_ENOMEM;
        memcpy(arr_out, topics, n * sizeof *arr_out);
        e->topics = arr_out;
        e->n_topics = (uint16_t)n;
    }
    return rc;
}

/* "OS_US_CONGRESS" → "opensanctions-us_congress"; a collection's "OPEN_SANCTIONS" →
 * "opensanctions". */
static void source_name(const char *data_source, char *out, size_t cap)
{
    if (!data_source || strcmp(data_source, "OPEN_SANCTIONS") == 0 ||
        strncmp(data_source, "OS_", 3) != 0) {
        snprintf(out, cap, "opensanctions");
        return;
    }
    int n = snprintf(out, cap, "opensanctions-");
    for (const char *p = data_source + 3; *p && (size_t)n + 1 < cap; p++)
        out[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    out[n] = '\0';
}

static int load_record(struct ctx *c, const json_t *rec)
{
    const char *type, *id, *source, *changed;
    int rc;
    if ((rc = member(c, rec, "RECORD_TYPE", &type)) || (rc = member(c, rec, "RECORD_ID", &id)) ||
        (rc = member(c, rec, "DATA_SOURCE", &source)) ||
        (rc = member(c, rec, "LAST_CHANGE", &changed)))
        return rc;
    struct screen_entry e = {0};
    if (!record_type(type, &e.type)) {
        c->skipped++; /* a position or another record nobody is screened against */
        return 0;
    }
    if (!id || !*id)
        return fail(c, CAPP_EPARSE, "record without RECORD_ID");
    if (!c->source[0])
        source_name(source, c->source, sizeof c->source);
    if (changed && screen_date_valid(changed, strlen(changed)) &&
        strncmp(changed, c->newest, 10) > 0) {
        memcpy(c->newest, changed, 10);
        c->newest[10] = '\0';
    }
    char idbuf[160];
    snprintf(idbuf, sizeof idbuf, "os:%s", id);
    e.id = dup(c, idbuf);
    e.source = c->source; /* re-pointed at the arena copy when the set is committed */
    screen_builder_reset(c->b);
    if ((rc = add_names(c, rec, &e)) || (rc = add_attributes(c, rec, &e)) ||
        (rc = add_topics(c, rec, &e)))
        goto fail;
    if (!e.name) {
        char msg[200];
        snprintf(msg, sizeof msg, "record %.120s has no name", id);
        return fail(c, CAPP_EPARSE, msg);
    }
    if (!e.id)
        return fail(c, CAPP_ENOMEM, "out of memory");
    if ((rc = screen_builder_commit(c->set, c->b, &e)) || (rc = screen_list_set_append(c->set, &e)))
        goto fail;
    return 0;
fail:
    if (c->err && c->err->code == rc && strstr(c->err->message, c->name))
        return rc; /* already explained */
    return fail(
        c, rc, rc == CAPP_ETOOBIG ? "more attributes than the per-entry limit" : capp_strerror(rc));
}

int screen_list_set_load_senzing_buffer(struct screen_list_set *out, const char *json, size_t len,
                                        const char *name, struct screen_error *err)
{
    if (len > SCREEN_MAX_LIST_FILE_BYTES)
        return screen_fail(err, CAPP_ETOOBIG, "%s: %zu bytes exceeds the %u-byte list file limit",
                           name ? name : "senzing.json", len, SCREEN_MAX_LIST_FILE_BYTES);
    struct ctx c = {0};
    c.name = name ? name : "senzing.json";
    c.err = err;
    c.set = screen_list_set_new();
    c.b = malloc(sizeof *c.b);
    int rc = 0;
    if (!c.set || !c.b) {
        rc = screen_fail(err, CAPP_ENOMEM, "out of memory");
        goto out;
    }
    if (err)
        err->code = 0;
    for (const char *p = json, *end = json + len; p < end && rc == 0;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        c.line++;
        const char *line = p;
        p = nl ? nl + 1 : end;
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        if (n == 0)
            continue;
        if (n > SCREEN_MAX_JSON_LINE_BYTES) {
            char msg[96];
            snprintf(msg, sizeof msg, "%zu bytes exceeds the %u-byte record limit", n,
                     SCREEN_MAX_JSON_LINE_BYTES);
            rc = fail(&c, CAPP_ETOOBIG, msg);
            break;
        }
        json_error_t jerr;
        json_t *rec = json_loadb(line, n, JSON_REJECT_DUPLICATES, &jerr);
        if (!rec) {
            char msg[240];
            snprintf(msg, sizeof msg, "invalid JSON at column %d: %s (truncated file?)",
                     jerr.column, jerr.text);
            rc = fail(&c, CAPP_EPARSE, msg);
            break;
        }
        if (!json_is_object(rec))
            rc = fail(&c, CAPP_EPARSE, "a record must be a JSON object");
        else if (c.set->n_entries >= SCREEN_MAX_ENTRIES)
            rc = fail(&c, CAPP_ETOOBIG, "more records than the list set limit");
        else
            rc = load_record(&c, rec);
        json_decref(rec);
    }
    if (rc)
        goto out;
    if (c.set->n_entries == 0) {
        rc = screen_fail(err, CAPP_EPARSE,
                         "%s: no person, organisation, vessel or aircraft records", c.name);
        goto out;
    }
    /* the entries point at c.source until now: give them the set's copy */
    const char *src = dup(&c, c.source);
    if (!src) {
        rc = screen_fail(err, CAPP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < c.set->n_entries; i++)
        c.set->entries[i].source = src;
    struct screen_list_version v = {0};
    snprintf(v.source, sizeof v.source, "%s", c.source);
    snprintf(v.date, sizeof v.date, "%s", c.newest[0] ? c.newest : "unknown");
    snprintf(v.date_source, sizeof v.date_source, "%s", c.newest[0] ? "content" : "unknown");
    snprintf(v.path, sizeof v.path, "(memory)");
    const char *parts[1] = {json};
    size_t lens[1] = {len};
    screen_sha256_hex(parts, lens, 1, v.sha256);
    v.records = (uint32_t)c.set->n_entries;
    if ((rc = screen_list_set_add_version(c.set, &v)) || (rc = screen_list_set_merge(out, c.set)))
        screen_fail(err, rc, "%s: list set is full", c.name);
out:
    free(c.b);
    screen_list_set_free(c.set);
    return rc;
}

int screen_list_set_load_senzing(struct screen_list_set *set, const char *path,
                                 struct screen_error *err)
{
    char *data;
    size_t len;
    int rc = screen_read_file(path, &data, &len, err);
    if (rc)
        return rc;
    size_t before = set->n_versions;
    rc = screen_list_set_load_senzing_buffer(set, data, len, path, err);
    if (rc == 0 && set->n_versions > before)
        snprintf(set->versions[set->n_versions - 1].path,
                 sizeof set->versions[set->n_versions - 1].path, "%s", path);
    free(data);
    return rc;
}
