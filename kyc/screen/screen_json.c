/*
 * screen_json.c — results and queries as JSON (jansson), for the app's HTTP API, the CLI and
 * the batch mode.
 *
 * A result renders as
 *   {"id", "query": {"tokens"}, "band", "review_floor", "hit_threshold", "candidates",
 *    "lists": [{source, date, date_source, sha256, records}], "engine_version",
 *    "input_flags": ["markup_removed", "control_removed"],
 *    "matches": [{"entry_id", "source", "type", "name", "matched_name", "name_kind",
 *                 "score", "name_score", "band", "reason", "programs", "topics",
 *                 "alignment": [{"query", "list", "similarity", "weight"}],
 *                 "qualifiers": [{"rule", "delta", "detail"}]}],
 *    "considered": [the same, plus "discounted": true when the name alone reached the review
 *                   floor and the final score did not]}
 * so a reviewer sees which list name matched, how each token paired and every rule applied,
 * and, for a clear result, which candidates were considered and why they were discounted.
 * Query parsing is strict: unknown types and non-string fields are refused by name.
 */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "kyc/screen/screen_index.h"

static double round4(double x)
{
    return floor(x * 10000.0 + 0.5) / 10000.0;
}

json_t *screen_index_versions_json(const struct screen_index *idx)
{
    json_t *arr = json_array();
    if (!arr || !idx)
        return arr;
    const struct screen_list_set *set = idx->lists;
    for (size_t i = 0; i < set->n_versions; i++) {
        const struct screen_list_version *v = &set->versions[i];
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "source", v->source, "date", v->date,
                           "date_source", v->date_source[0] ? v->date_source : "unknown", "sha256",
                           v->sha256, "path", v->path, "records", (json_int_t)v->records));
    }
    return arr;
}

static json_t *match_json(const struct screen_match *m, double review_floor)
{
    const struct screen_entry *e = m->entry;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:s}", "entry_id", e->id,
                          "source", e->source, "type", screen_type_name(e->type), "name", e->name,
                          "matched_name", m->matched_name, "name_kind",
                          screen_name_kind_name(m->name_kind), "score", round4(m->score),
                          "name_score", round4(m->name_score), "band", screen_band_name(m->band));
    if (!o)
        return NULL;
    json_t *programs = json_array();
    for (unsigned i = 0; i < e->n_programs; i++)
        json_array_append_new(programs, json_string(e->programs[i]));
    json_object_set_new(o, "programs", programs);
    json_object_set_new(o, "reason", json_string(screen_reason_name(m->reason)));
    json_t *topics = json_array();
    for (unsigned i = 0; i < e->n_topics; i++)
        json_array_append_new(topics, json_string(e->topics[i]));
    json_object_set_new(o, "topics", topics);
    if (m->name_score + 1e-6 >= review_floor && m->score + 1e-6 < review_floor)
        json_object_set_new(o, "discounted", json_true());
    json_t *align = json_array();
    for (uint32_t i = 0; i < m->n_pairs; i++) {
        const struct screen_token_pair *p = &m->pairs[i];
        json_array_append_new(
            align, json_pack("{s:o, s:o, s:f, s:f}", "query",
                             p->query_token ? json_string(p->query_token) : json_null(), "list",
                             p->list_token ? json_string(p->list_token) : json_null(), "similarity",
                             round4(p->similarity), "weight", round4(p->weight)));
    }
    json_object_set_new(o, "alignment", align);
    json_t *quals = json_array();
    for (uint32_t i = 0; i < m->n_qualifiers; i++) {
        const struct screen_qualifier *q = &m->qualifiers[i];
        json_array_append_new(quals,
                              json_pack("{s:s, s:f, s:s}", "rule", screen_qualifier_name(q->kind),
                                        "delta", round4(q->delta), "detail", q->detail));
    }
    json_object_set_new(o, "qualifiers", quals);
    return o;
}

json_t *screen_result_to_json(const struct screen_result *r, const struct screen_query *q)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (q && q->id)
        json_object_set_new(o, "id", json_string(q->id));
    json_t *tokens = json_array();
    for (uint32_t i = 0; i < r->query_tokens.count; i++)
        json_array_append_new(tokens, json_string(r->query_tokens.text + r->query_tokens.off[i]));
    json_t *query = json_object();
    if (q && q->name)
        json_object_set_new(query, "name", json_string(q->name));
    json_object_set_new(query, "tokens", tokens);
    json_object_set_new(o, "query", query);
    json_object_set_new(o, "band", json_string(screen_band_name(r->band)));
    json_object_set_new(o, "review_floor", json_real(round4(r->review_floor)));
    json_object_set_new(o, "hit_threshold", json_real(round4(r->hit_threshold)));
    json_object_set_new(o, "candidates", json_integer(r->candidates));
    json_object_set_new(o, "engine_version", json_string(SCREEN_ENGINE_VERSION));
    json_object_set_new(o, "lists", screen_index_versions_json(r->index));
    json_t *flags = json_array();
    if (r->input_flags & SCREEN_INPUT_MARKUP)
        json_array_append_new(flags, json_string("markup_removed"));
    if (r->input_flags & SCREEN_INPUT_CONTROL)
        json_array_append_new(flags, json_string("control_removed"));
    json_object_set_new(o, "input_flags", flags);
    json_t *matches = json_array();
    for (uint32_t i = 0; i < r->n_matches; i++)
        json_array_append_new(matches, match_json(&r->matches[i], r->review_floor));
    json_object_set_new(o, "matches", matches);
    json_t *considered = json_array();
    for (uint32_t i = 0; i < r->n_considered; i++)
        json_array_append_new(considered, match_json(&r->considered[i], r->review_floor));
    json_object_set_new(o, "considered", considered);
    return o;
}

static int get_string(const json_t *obj, const char *key, const char **out,
                      struct screen_error *err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return screen_fail(err, CAPP_EINVAL, "field \"%s\" must be a string", key);
    size_t len = json_string_length(v);
    size_t max = strcmp(key, "name") == 0 ? SCREEN_MAX_NAME_BYTES : SCREEN_MAX_QUERY_FIELD_BYTES;
    if (len > max)
        return screen_fail(err, CAPP_ETOOBIG, "field \"%s\": %zu bytes exceeds the %zu-byte limit",
                           key, len, max);
    if (strlen(json_string_value(v)) != len)
        return screen_fail(err, CAPP_EINVAL, "field \"%s\" contains a NUL byte", key);
    *out = json_string_value(v);
    return 0;
}

int screen_query_from_json(const json_t *obj, struct screen_query *q, struct screen_error *err)
{
    memset(q, 0, sizeof *q);
    q->type = SCREEN_TYPE_ANY;
    if (!json_is_object(obj))
        return screen_fail(err, CAPP_EINVAL, "query must be a JSON object");
    const char *type = NULL, *gender = NULL, *id_kind = NULL;
    int rc;
    json_t *idv = json_object_get(obj, "id");
    if (json_is_integer(idv) || json_is_real(idv))
        return screen_fail(err, CAPP_EINVAL, "field \"id\" must be a string");
    if ((rc = get_string(obj, "id", &q->id, err)) ||
        (rc = get_string(obj, "name", &q->name, err)) ||
        (rc = get_string(obj, "dob", &q->dob, err)) ||
        (rc = get_string(obj, "country", &q->country, err)) ||
        (rc = get_string(obj, "nationality", &q->nationality, err)) ||
        (rc = get_string(obj, "residence", &q->residence, err)) ||
        (rc = get_string(obj, "id_number", &q->id_number, err)) ||
        (rc = get_string(obj, "id_kind", &id_kind, err)) ||
        (rc = get_string(obj, "gender", &gender, err)) ||
        (rc = get_string(obj, "type", &type, err)))
        return rc;
    if (type && screen_type_parse(type, &q->type) != 0)
        return screen_fail(err, CAPP_EINVAL,
                           "field \"type\": \"%s\" is not individual or organization", type);
    if (gender) {
        if (strcasecmp(gender, "male") == 0 || strcasecmp(gender, "m") == 0)
            q->gender = SCREEN_GENDER_MALE;
        else if (strcasecmp(gender, "female") == 0 || strcasecmp(gender, "f") == 0)
            q->gender = SCREEN_GENDER_FEMALE;
        else if (*gender)
            return screen_fail(err, CAPP_EINVAL, "field \"gender\": \"%s\" is not male or female",
                               gender);
    }
    if (id_kind) {
        if (strcasecmp(id_kind, "passport") == 0)
            q->id_kind = SCREEN_DOC_PASSPORT;
        else if (strcasecmp(id_kind, "national_id") == 0)
            q->id_kind = SCREEN_DOC_NATIONAL_ID;
        else if (strcasecmp(id_kind, "tax_id") == 0)
            q->id_kind = SCREEN_DOC_TAX_ID;
    }
    if (q->dob && *q->dob) {
        struct screen_dob d;
        if (screen_dob_parse(q->dob, strlen(q->dob), &d) != 0 || d.year != d.year_to)
            return screen_fail(err, CAPP_EINVAL,
                               "field \"dob\": \"%s\" is not YYYY, YYYY-MM or YYYY-MM-DD", q->dob);
    }
    if ((!q->name || !*q->name) && (!q->id_number || !*q->id_number))
        return screen_fail(err, CAPP_EINVAL, "field \"name\" is required");
    return 0;
}
