/*
 * pipeline_screen.c — checking one Blnk identity: the change hash, the data-quality rules
 * (kyc/quality.h), the sanctions screening (kyc/screen/screen.h) and the computed status.
 *
 * Status rules (docs/kyc.md): a screening score in the hit band → hit; in the review band →
 * needs_review; otherwise a high-risk data-quality finding (minor, dob_invalid, missing name,
 * pii_tokenized) → needs_review; medium findings keep clear with their reasons; a screening
 * failure → error. Tokenized names are never screened as they are (ciphertext), and neither
 * are names that are missing. With the install's opt-in setting the walk detokenizes them
 * (pipeline_walk.c) and passes the plaintext copy here: the rules and the screening read it,
 * and nothing derived from its names is kept — the display name stays "(tokenized)", the name
 * tokens a marker, the matches lose their query-side tokens, the audit hash and the reviewer's
 * fields come from the identity as Blnk returned it.
 *
 * What was considered: the detail keeps every candidate the engine considered ("considered":
 * the best three and every one whose name alone reached the review floor, also when the status
 * is clear), and the audit record their ids, scores and qualifier rules, so an examiner can ask
 * why an exact list name was cleared. The write-back payload (results_pipeline.c) never has
 * them. Each raised match gives its own reason (sanctions_match, pep_match: a PEP is at most
 * needs_review), and what the engine stripped from the name (markup, control characters) is
 * the data-quality finding name_markup.
 *
 * False-positive memory: a candidate in the review or hit band whose (identity, entry, entry
 * content hash) a reviewer marked is dropped before the status is computed — it counts toward
 * neither the band nor the decision basis — and listed under the detail's "suppressed". A
 * changed entry has another hash, so it is raised again.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/buf.h"
#include "capp/err.h"
#include "capp/json.h"
#include "kyc/audit.h"
#include "kyc/pipeline_internal.h"
#include "kyc/quality.h"
#include "kyc/review.h"
#include "kyc/screen/screen.h"

#define TOP_MATCHES 5

static const char *const hashed_fields[] = {
    "identity_type", "first_name",  "last_name", "other_names",   "organization_name", "gender",
    "dob",           "nationality", "country",   "email_address", "phone_number",      "category",
};

static const char *str_field(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int append_trimmed(struct buf *b, const char *s, size_t max)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n > max)
        n = max;
    return buf_append(b, s, n);
}

int pipeline_identity_hash(const json_t *identity, char *id_out,
                           char hash_out[CRYPTO_SHA256_HEX_BYTES])
{
    const char *id = json_string_value(json_object_get(identity, "identity_id"));
    if (!id || !json_is_valid_id(id, CAPP_MAX_ID_BYTES))
        return CAPP_EINVAL;
    snprintf(id_out, STORE_ID_CAP, "%s", id);
    struct buf b;
    buf_init(&b, 64 * 1024);
    int rc = buf_append_str(&b, PIPELINE_RULES_VERSION "\n");
    for (size_t i = 0; rc == 0 && i < sizeof hashed_fields / sizeof hashed_fields[0]; i++) {
        const json_t *v = json_object_get(identity, hashed_fields[i]);
        rc |= buf_append_str(&b, hashed_fields[i]);
        rc |= buf_append_str(&b, "=");
        if (json_is_string(v)) {
            /* D18: /data gives YYYY-MM-DD, /proxy RFC 3339 midnight: the same date */
            size_t max = strcmp(hashed_fields[i], "dob") == 0 ? 10 : 4096;
            rc |= append_trimmed(&b, json_string_value(v), max);
        } else if (v && !json_is_null(v)) {
            char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
            if (text)
                rc |= buf_append_str(&b, text);
            free(text);
        }
        rc |= buf_append_str(&b, "\n");
    }
    const json_t *tokenized =
        json_object_get(json_object_get(identity, "meta_data"), "tokenized_fields");
    if (rc == 0 && tokenized) {
        char *text = json_dumps(tokenized, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        if (text)
            rc = buf_printf(&b, "tokenized_fields=%s\n", text);
        free(text);
    }
    if (rc == 0)
        crypto_sha256_hex(b.data, b.len, hash_out);
    else
        rc = buf_failed(&b); /* the `|=` above only said that something failed */
    buf_free(&b);
    return rc;
}

/* The audit record's input_sha256: audit_input_hash() of the normalised screened fields (the
 * same fields and trimming as the change hash) as a JSON object, i.e. SHA-256 of that object
 * dumped with sorted keys. The dump is written here directly, keys already in sorted order:
 * building the object and sorting its keys cost as much as the rest of the audit record.
 * tests/kyc/test_pipeline_detail.c compares both ways. */
static const char *const input_keys_sorted[] = {
    "category",      "country",   "dob",         "email_address",     "first_name",  "gender",
    "identity_type", "last_name", "nationality", "organization_name", "other_names", "phone_number",
};

static int input_append_dump(struct buf *b, const char *key, const json_t *v, int *first)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!text)
        return 0; /* json_deep_copy failing: the key was left out */
    int rc = buf_append_str(b, *first ? "\"" : ",\"");
    rc |= buf_append_str(b, key);
    rc |= buf_append_str(b, "\":");
    rc |= buf_append_str(b, text);
    free(text);
    *first = 0;
    return rc ? buf_failed(b) : 0;
}

static int input_hash(const json_t *identity, char out[AUDIT_HASH_HEX_BYTES])
{
    struct buf text, trimmed, value;
    buf_init(&text, 1024 * 1024);
    buf_init(&trimmed, 64 * 1024);
    buf_init(&value, 64 * 1024);
    int first = 1;
    int rc = buf_append_str(&text, "{");
    for (size_t i = 0; rc == 0 && i < sizeof input_keys_sorted / sizeof input_keys_sorted[0]; i++) {
        const char *key = input_keys_sorted[i];
        const json_t *v = json_object_get(identity, key);
        if (json_is_string(v)) {
            size_t max = strcmp(key, "dob") == 0 ? 10 : 4096;
            buf_reset(&trimmed);
            buf_reset(&value);
            rc = append_trimmed(&trimmed, json_string_value(v), max); /* 4 KiB in 64: memory */
            /* a cut that splits a UTF-8 sequence is not a JSON string: the key is left out */
            if (rc || json_append_string(&value, trimmed.data) != 0)
                continue;
            rc = buf_append_str(&text, first ? "\"" : ",\"");
            rc |= buf_append_str(&text, key);
            rc |= buf_append_str(&text, "\":");
            rc |= buf_append(&text, value.data, value.len);
            first = 0;
        } else if (v && !json_is_null(v)) {
            rc = input_append_dump(&text, key, v, &first);
        }
    }
    const json_t *tokenized =
        json_object_get(json_object_get(identity, "meta_data"), "tokenized_fields");
    if (rc == 0 && tokenized)
        rc = input_append_dump(&text, "tokenized_fields", tokenized, &first);
    if (rc == 0)
        rc = buf_append_str(&text, "}");
    if (rc == 0)
        crypto_sha256_hex(text.data, text.len, out);
    else
        rc = buf_failed(&text) ? buf_failed(&text) : rc;
    buf_free(&text);
    buf_free(&trimmed);
    buf_free(&value);
    return rc;
}

/* 1 when the match was marked a false positive against the entry's current content. */
static int fp_suppressed(const struct pipeline_fp *fp, const char *identity_id,
                         const char *entry_id, const char **hash)
{
    *hash = fp && fp->entry_hashes ? pipeline_map_get(fp->entry_hashes, entry_id) : NULL;
    return *hash && review_false_positive_suppressed(fp->db, fp->installed_app_id, identity_id,
                                                     entry_id, *hash) == 1;
}

void pipeline_checked_clear(struct pipeline_checked *c)
{
    if (!c)
        return;
    free(c->display_name);
    free(c->name_tokens);
    free(c->reasons_json);
    free(c->detail_json);
    free(c->alert_title);
    free(c->alert_text);
    free(c->identity_json);
    json_decref(c->audit);
    memset(c, 0, sizeof *c);
}

static void add_reason(json_t *reasons, const char *r)
{
    size_t i;
    json_t *v;
    json_array_foreach(reasons, i, v) if (strcmp(json_string_value(v), r) == 0) return;
    json_array_append_new(reasons, json_string(r));
}

static void join_name(const json_t *identity, char *out, size_t cap)
{
    const char *parts[] = {str_field(identity, "first_name"), str_field(identity, "other_names"),
                           str_field(identity, "last_name")};
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < 3; i++) {
        const char *s = parts[i];
        while (*s && isspace((unsigned char)*s))
            s++;
        if (!*s)
            continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? " " : "", s);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
}

/* The dob for the screening query: a well-formed YYYY-MM-DD, never the unset 0001-01-01. */
static const char *query_dob(const char *dob, char out[11])
{
    if (strlen(dob) < 10)
        return NULL;
    for (int i = 0; i < 10; i++) {
        int want_dash = i == 4 || i == 7;
        if (want_dash ? dob[i] != '-' : !isdigit((unsigned char)dob[i]))
            return NULL;
    }
    if (strncmp(dob, "0001-01-01", 10) == 0)
        return NULL;
    memcpy(out, dob, 10);
    out[10] = 0;
    return out;
}

static enum screen_gender query_gender(const char *g)
{
    if (strcasecmp(g, "male") == 0 || strcasecmp(g, "m") == 0)
        return SCREEN_GENDER_MALE;
    if (strcasecmp(g, "female") == 0 || strcasecmp(g, "f") == 0)
        return SCREEN_GENDER_FEMALE;
    return SCREEN_GENDER_UNKNOWN;
}

static const char *risk_max(const char *a, const char *b)
{
    static const char *const order[] = {"low", "medium", "high"};
    int ia = 0, ib = 0;
    for (int i = 0; i < 3; i++) {
        if (strcmp(a, order[i]) == 0)
            ia = i;
        if (strcmp(b, order[i]) == 0)
            ib = i;
    }
    return order[ia > ib ? ia : ib];
}

/* ---- the stored detail, written as text ----
 *
 * The detail (results' detail_json) used to be built as a jansson tree from
 * screen_result_to_json() and dumped: with up to SCREEN_MAX_CONSIDERED candidates, each with
 * its alignment and qualifiers, that tree building, copying, dumping and freeing cost more CPU
 * than the screening query itself (bench/pipeline/README.md). It is now written straight from
 * the result with json_append_* (capp/json.h), byte for byte what json_dumps(JSON_COMPACT |
 * JSON_REAL_PRECISION(6)) wrote for the tree: stored details keep their exact form, and
 * tests/kyc/test_pipeline_detail.c compares the two renderings for a set of identities. */

#define DETAIL_REAL_PRECISION 6

/* screen_json.c rounds every score, similarity, weight and delta to 4 decimals */
static double round4(double x)
{
    return floor(x * 10000.0 + 0.5) / 10000.0;
}

static int put_key_string(struct buf *b, const char *key, const char *value)
{
    int rc = buf_append_str(b, key);
    return rc ? rc : json_append_string(b, value);
}

static int put_key_real(struct buf *b, const char *key, double value)
{
    int rc = buf_append_str(b, key);
    return rc ? rc : json_append_real(b, value, DETAIL_REAL_PRECISION);
}

static int put_string_array(struct buf *b, const char *key, const char *const *items, size_t n)
{
    int rc = buf_append_str(b, key);
    rc |= buf_append_str(b, "[");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i)
            rc |= buf_append_str(b, ",");
        rc |= json_append_string(b, items[i]);
    }
    rc |= buf_append_str(b, "]");
    return rc ? buf_failed(b) : 0;
}

/* One match as screen_result_to_json renders it (match_json in kyc/screen/screen_json.c: the
 * same keys in the same order). scrub: the customer's own name tokens are left out of the
 * alignment (a detokenized screening); the list side stays, so a reviewer still sees which
 * entry tokens paired. */
static int write_match(struct buf *b, const struct screen_match *m, double review_floor, int scrub)
{
    const struct screen_entry *e = m->entry;
    int rc = put_key_string(b, "{\"entry_id\":", e->id);
    rc |= put_key_string(b, ",\"source\":", e->source);
    rc |= put_key_string(b, ",\"type\":", screen_type_name(e->type));
    rc |= put_key_string(b, ",\"name\":", e->name);
    rc |= put_key_string(b, ",\"matched_name\":", m->matched_name);
    rc |= put_key_string(b, ",\"name_kind\":", screen_name_kind_name(m->name_kind));
    rc |= put_key_real(b, ",\"score\":", round4(m->score));
    rc |= put_key_real(b, ",\"name_score\":", round4(m->name_score));
    rc |= put_key_string(b, ",\"band\":", screen_band_name(m->band));
    rc |= put_string_array(b, ",\"programs\":", e->programs, e->n_programs);
    rc |= put_key_string(b, ",\"reason\":", screen_reason_name(m->reason));
    rc |= put_string_array(b, ",\"topics\":", e->topics, e->n_topics);
    if (m->name_score + 1e-6 >= review_floor && m->score + 1e-6 < review_floor)
        rc |= buf_append_str(b, ",\"discounted\":true");
    rc |= buf_append_str(b, ",\"alignment\":[");
    for (uint32_t i = 0; rc == 0 && i < m->n_pairs; i++) {
        const struct screen_token_pair *pair = &m->pairs[i];
        rc |= buf_append_str(b, i ? ",{\"query\":" : "{\"query\":");
        rc |= pair->query_token && !scrub ? json_append_string(b, pair->query_token)
                                          : buf_append_str(b, "null");
        rc |= buf_append_str(b, ",\"list\":");
        rc |=
            pair->list_token ? json_append_string(b, pair->list_token) : buf_append_str(b, "null");
        rc |= put_key_real(b, ",\"similarity\":", round4(pair->similarity));
        rc |= put_key_real(b, ",\"weight\":", round4(pair->weight));
        rc |= buf_append_str(b, "}");
    }
    rc |= buf_append_str(b, "],\"qualifiers\":[");
    for (uint32_t i = 0; rc == 0 && i < m->n_qualifiers; i++) {
        const struct screen_qualifier *ql = &m->qualifiers[i];
        rc |= put_key_string(b, i ? ",{\"rule\":" : "{\"rule\":", screen_qualifier_name(ql->kind));
        rc |= put_key_real(b, ",\"delta\":", round4(ql->delta));
        rc |= put_key_string(b, ",\"detail\":", ql->detail);
        rc |= buf_append_str(b, "}");
    }
    rc |= buf_append_str(b, "]}");
    return rc ? buf_failed(b) : 0;
}

/* Appends one match to the text of an array (a comma before all but the first), through
 * scratch. A list string that is not valid UTF-8 (a list file in another encoding) cannot be a
 * JSON string: that candidate is left out, as the jansson rendering left it out, rather than
 * failing the identity's check. 1 when written, 0 when left out, or a negative error. */
static int append_match(struct buf *arr, struct buf *scratch, const struct screen_match *m,
                        double review_floor, int scrub)
{
    buf_reset(scratch);
    int rc = write_match(scratch, m, review_floor, scrub);
    if (rc == CAPP_EINVAL)
        return 0;
    if (rc)
        return rc;
    if (arr->len)
        rc = buf_append(arr, ",", 1);
    rc |= buf_append(arr, scratch->data, scratch->len);
    return rc ? buf_failed(arr) : 1;
}

/* A considered candidate in the audit record: ids, scores and rules, never a name. */
static json_t *audit_candidate(const struct screen_match *m, double review_floor)
{
    /* the keys are literals: the _nocheck setters skip jansson's UTF-8 check of each */
    json_t *quals = json_array();
    for (uint32_t i = 0; quals && i < m->n_qualifiers; i++) {
        json_t *ql = json_object();
        if (!ql ||
            json_object_set_new_nocheck(
                ql, "rule", json_string(screen_qualifier_name(m->qualifiers[i].kind))) ||
            json_object_set_new_nocheck(ql, "delta", json_real(round4(m->qualifiers[i].delta))) ||
            json_array_append_new(quals, ql)) {
            json_decref(quals);
            return NULL;
        }
    }
    json_t *a = json_object();
    int discounted = m->name_score + 1e-6 >= review_floor && m->score + 1e-6 < review_floor;
    if (!a || !quals || json_object_set_new_nocheck(a, "entry_id", json_string(m->entry->id)) ||
        json_object_set_new_nocheck(a, "source", json_string(m->entry->source)) ||
        json_object_set_new_nocheck(a, "name_score", json_real(round4(m->name_score))) ||
        json_object_set_new_nocheck(a, "score", json_real(round4(m->score))) ||
        json_object_set_new_nocheck(a, "band", json_string(screen_band_name(m->band))) ||
        json_object_set_new_nocheck(a, "qualifiers", quals) ||
        json_object_set_new_nocheck(a, "discounted", json_boolean(discounted))) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* ---- the install's lists and topics ---- */

int pipeline_engine_catalog(struct screen_engine *engine, struct review_selection *lists,
                            struct review_selection *topics)
{
    memset(lists, 0, sizeof *lists);
    memset(topics, 0, sizeof *topics);
    struct screen_index *idx = engine ? screen_engine_acquire(engine) : NULL;
    if (!idx)
        return 0;
    const struct screen_list_set *set = screen_index_lists(idx);
    int rc = 0;
    for (size_t i = 0; set && i < screen_list_set_version_count(set); i++) {
        int arc = review_selection_add(lists, screen_list_set_version(set, i)->source);
        if (arc == CAPP_ETOOBIG)
            rc = arc;
    }
    size_t n = set ? screen_list_set_count(set) : 0;
    for (size_t i = 0; i < n; i++) {
        const struct screen_entry *e = screen_list_set_entry(set, i);
        if (!e->n_topics && !review_selection_has(topics, "sanction"))
            (void)review_selection_add(topics, "sanction");
        for (unsigned k = 0; k < e->n_topics; k++)
            if (!review_selection_has(topics, e->topics[k]) &&
                review_selection_add(topics, e->topics[k]) == CAPP_ETOOBIG)
                rc = CAPP_ETOOBIG;
    }
    screen_index_release(idx);
    return rc;
}

/* The loaded names not excluded into names (borrowed from loaded); n 0 when nothing is
 * excluded or everything would be. Appends the applied exclusions to key. */
static size_t apply_exclusions(const struct review_selection *loaded,
                               const struct review_selection *excluded, const char **names,
                               const char *kind, struct buf *key, int *failed)
{
    size_t n = 0, dropped = 0;
    for (size_t i = 0; i < loaded->n; i++) {
        if (review_selection_has(excluded, loaded->names[i]))
            dropped++;
        else
            names[n++] = loaded->names[i];
    }
    if (!dropped || !n)
        return 0;
    /* sized for every name (pipeline_selection.key): only memory can make an append fail */
    int rc = buf_printf(key, "%s_excluded=", kind);
    for (size_t i = 0; i < loaded->n; i++)
        if (review_selection_has(excluded, loaded->names[i]))
            rc |= buf_printf(key, "%s,", loaded->names[i]);
    rc |= buf_printf(key, ";");
    if (rc)
        *failed = CAPP_ENOMEM;
    return n;
}

int pipeline_selection_make(struct screen_engine *engine, const struct review_settings *s,
                            struct pipeline_selection *out)
{
    memset(out, 0, sizeof *out);
    int rc = pipeline_engine_catalog(engine, &out->loaded_lists, &out->loaded_topics);
    struct buf key;
    buf_init(&key, sizeof out->key - 1);
    int failed = 0;
    out->n_sources = apply_exclusions(&out->loaded_lists, &s->lists_excluded, out->sources, "lists",
                                      &key, &failed);
    out->n_topics = apply_exclusions(&out->loaded_topics, &s->topics_excluded, out->topics,
                                     "topics", &key, &failed);
    if (failed)
        rc = failed;
    snprintf(out->key, sizeof out->key, "%.*s", (int)key.len, key.data ? key.data : "");
    buf_free(&key);
    return rc;
}

int pipeline_check_identity(struct screen_engine *engine, const json_t *identity,
                            const json_t *plain, const char *today_ymd,
                            const struct pipeline_fp *fp, const struct pipeline_selection *sel,
                            struct pipeline_checked *out)
{
    /* what the rules and the screening read: the detokenized copy when there is one */
    const json_t *subject = plain ? plain : identity;
    int org = quality_is_organization(subject);
    out->identity_type = org ? "organization" : "individual";
    struct quality_result q;
    int quality_rc = quality_check(subject, today_ymd, &q);
    json_t *reasons = json_array(), *suppressed = json_array(), *audit_matches = json_array();
    json_t *audit_considered = json_array();
    /* the detail's "matches" and "considered" arrays, written as text (write_match) */
    struct buf matches, considered, scratch;
    buf_init(&matches, 1024 * 1024);
    buf_init(&considered, 4 * 1024 * 1024);
    buf_init(&scratch, 1024 * 1024);
    struct screen_result r;
    int have_result = 0;
    const struct screen_match *top = NULL; /* the best kept match, borrowed from r */
    char name[1024];
    if (org)
        snprintf(name, sizeof name, "%s", str_field(subject, "organization_name"));
    else
        join_name(subject, name, sizeof name);
    const char *screening = "done";
    enum screen_band band = SCREEN_BAND_CLEAR;
    double score = 0;
    int screen_failed = 0;
    struct buf tokens;
    buf_init(&tokens, 4096);
    struct buf basis_ids;
    buf_init(&basis_ids, 4096);
    /* The buffers below are sized for the caps on names and matches (SCREEN_MAX_NAME_TOKENS,
     * TOP_MATCHES): only memory can make an append fail, which fails the check as a whole. */
    int built = 0;
    unsigned input_flags = 0;
    json_t *match_reasons = json_array();
    if (quality_rc != 0) {
        screening = "error";
        screen_failed = 1;
    } else if (q.names_tokenized) {
        screening = "skipped_tokenized"; /* never screen ciphertext */
    } else if (!name[0]) {
        screening = "skipped_no_name";
    } else {
        /* each country in its own role (screen-2.0 evidence rules): a nationality that
         * contradicts the list weighs more than a residence elsewhere (people live abroad) */
        char dob_buf[11], nat_alpha2[3], ctry_alpha2[3];
        const char *country = NULL, *nationality = NULL, *residence = NULL;
        const char *nat = str_field(subject, "nationality");
        const char *ctry = str_field(subject, "country");
        int ctry_ok = *ctry && quality_country_alpha2(ctry, ctry_alpha2) == 0;
        if (!org && *nat && quality_country_alpha2(nat, nat_alpha2) == 0)
            nationality = nat_alpha2;
        if (ctry_ok && org)
            country = ctry_alpha2; /* an organisation's country: of unknown role */
        else if (ctry_ok)
            residence = ctry_alpha2;
        struct screen_query sq = {
            .id = NULL,
            .name = name,
            .dob = org ? NULL : query_dob(str_field(subject, "dob"), dob_buf),
            .country = country,
            .nationality = nationality,
            .residence = residence,
            .gender = org ? SCREEN_GENDER_UNKNOWN : query_gender(str_field(subject, "gender")),
            .type = org ? SCREEN_TYPE_ORGANIZATION : SCREEN_TYPE_INDIVIDUAL,
            .id_kind = SCREEN_DOC_OTHER,
            .sources = sel ? sel->sources : NULL,
            .n_sources = sel ? sel->n_sources : 0,
            .topics = sel ? sel->topics : NULL,
            .n_topics = sel ? sel->n_topics : 0,
        };
        int rc = screen_query(engine, &sq, NULL, &r);
        if (rc == CAPP_ENOTFOUND) {
            screening = "skipped_no_lists";
        } else if (rc == CAPP_EINVAL) {
            screening = "skipped_no_name"; /* nothing left after normalisation */
        } else if (rc != 0) {
            screening = "error";
            screen_failed = 1;
        } else {
            have_result = 1;
            for (uint32_t i = 0; i < r.query_tokens.count; i++) {
                if (i)
                    built |= buf_append_str(&tokens, " ");
                built |= buf_append_str(&tokens, r.query_tokens.text + r.query_tokens.off[i]);
            }
            /* the best TOP_MATCHES candidates that are not remembered false positives */
            uint32_t kept[TOP_MATCHES];
            size_t n_kept = 0;
            for (uint32_t i = 0; i < r.n_matches && n_kept < TOP_MATCHES; i++) {
                const struct screen_match *m = &r.matches[i];
                const char *hash = NULL;
                if (m->band != SCREEN_BAND_CLEAR &&
                    fp_suppressed(fp, out->identity_id, m->entry->id, &hash)) {
                    json_array_append_new(suppressed, json_pack("{s:s, s:s, s:f, s:s}", "entry_id",
                                                                m->entry->id, "entry_hash", hash,
                                                                "score", (double)m->score, "band",
                                                                screen_band_name(m->band)));
                    continue;
                }
                kept[n_kept++] = i;
            }
            top = n_kept ? &r.matches[kept[0]] : NULL;
            band = top ? top->band : SCREEN_BAND_CLEAR;
            score = top ? top->score : 0;
            input_flags = r.input_flags;
            for (size_t i = 0; i < n_kept; i++) {
                int w = append_match(&matches, &scratch, &r.matches[kept[i]], r.review_floor,
                                     plain != NULL);
                if (w < 0)
                    built = w;
            }
            /* what the engine considered, kept whatever the outcome (also when clear): an
             * examiner asks why an exact list name was discounted */
            for (uint32_t i = 0; i < r.n_considered; i++) {
                int w = append_match(&considered, &scratch, &r.considered[i], r.review_floor,
                                     plain != NULL);
                if (w <= 0) {
                    built = w < 0 ? w : built;
                    continue;
                }
                json_t *a = audit_candidate(&r.considered[i], r.review_floor);
                if (!a || json_array_append_new(audit_considered, a) != 0)
                    built = CAPP_ENOMEM;
            }
            for (size_t i = 0; i < n_kept; i++) {
                const struct screen_match *m = &r.matches[kept[i]];
                if (m->band != SCREEN_BAND_CLEAR) {
                    built |= buf_printf(&basis_ids, "%s,", m->entry->id);
                    /* each raised match's own reason: a PEP is not a sanctions hit */
                    add_reason(match_reasons, screen_reason_name(m->reason));
                }
                json_array_append_new(
                    audit_matches,
                    json_pack("{s:s, s:f}", "entry_id", m->entry->id, "score", (double)m->score));
            }
        }
    }
    /* the data-quality findings, with what the screening removed from the name */
    const char *quality_risk_level = "low";
    if (quality_rc == 0) {
        quality_add_name_input(&q, org ? "organization_name" : "name",
                               (input_flags & SCREEN_INPUT_MARKUP) != 0,
                               (input_flags & SCREEN_INPUT_CONTROL) != 0);
        quality_risk_level = quality_risk(&q);
        for (size_t i = 0; i < q.count; i++)
            add_reason(reasons, q.findings[i].reason);
    }
    const char *status = RESULTS_CLEAR;
    const char *risk = quality_risk_level;
    size_t ri;
    json_t *rv;
    if (screen_failed) {
        status = RESULTS_ERROR;
        add_reason(reasons, "screening_error");
        risk = risk_max(risk, "medium");
    } else if (band == SCREEN_BAND_HIT) {
        status = RESULTS_HIT;
        json_array_foreach(match_reasons, ri, rv) add_reason(reasons, json_string_value(rv));
        risk = "high";
    } else if (band == SCREEN_BAND_REVIEW) {
        status = RESULTS_NEEDS_REVIEW;
        json_array_foreach(match_reasons, ri, rv) add_reason(reasons, json_string_value(rv));
        risk = risk_max(risk, "medium");
    } else if (strcmp(quality_risk_level, "high") == 0) {
        status = RESULTS_NEEDS_REVIEW;
    }
    out->status = status;
    out->risk = risk;
    out->score = score;
    out->reasons_json = json_dumps(reasons, JSON_COMPACT);
    char input_sha256[AUDIT_HASH_HEX_BYTES];
    int input_rc = input_hash(identity, input_sha256);
    out->audit =
        input_rc ? NULL
                 : json_pack("{s:s, s:s, s:s, s:f, s:O, s:O, s:O, s:O, s:s, s:s}", "input_sha256",
                             input_sha256, "status", status, "screening", screening, "score", score,
                             "reasons", reasons, "matches", audit_matches, "considered",
                             audit_considered, "suppressed", suppressed, "engine_version",
                             SCREEN_ENGINE_VERSION, "rules_version", PIPELINE_RULES_VERSION);
    json_decref(audit_matches);
    json_decref(audit_considered);
    json_decref(match_reasons);
    /* {"screening","matches","findings","considered"[,"suppressed"][,"detokenized"]} */
    struct buf detail;
    buf_init(&detail, 8 * 1024 * 1024);
    built |= put_key_string(&detail, "{\"screening\":", screening);
    built |= buf_append_str(&detail, ",\"matches\":[");
    built |= buf_append(&detail, matches.data ? matches.data : "", matches.len);
    built |= buf_append_str(&detail, "],\"findings\":[");
    for (size_t i = 0; quality_rc == 0 && i < q.count; i++) {
        const struct quality_finding *f = &q.findings[i];
        built |= put_key_string(&detail, i ? ",{\"reason\":" : "{\"reason\":", f->reason);
        built |= put_key_string(&detail, ",\"field\":", f->field);
        built |= put_key_string(&detail, ",\"detail\":", f->detail);
        built |= buf_append_str(&detail, "}");
    }
    built |= buf_append_str(&detail, "],\"considered\":[");
    built |= buf_append(&detail, considered.data ? considered.data : "", considered.len);
    built |= buf_append_str(&detail, "]");
    if (json_array_size(suppressed)) { /* rare: a reviewer's remembered false positive */
        char *text = json_dumps(suppressed, JSON_COMPACT | JSON_REAL_PRECISION(6));
        built |= text ? buf_append_str(&detail, ",\"suppressed\":") : CAPP_ENOMEM;
        built |= text ? buf_append_str(&detail, text) : CAPP_ENOMEM;
        free(text);
    }
    if (plain)
        built |= buf_append_str(&detail, ",\"detokenized\":true");
    built |= buf_append_str(&detail, "}");
    json_decref(suppressed);
    buf_free(&matches);
    buf_free(&considered);
    buf_free(&scratch);
    out->detail_json = built ? NULL : buf_steal(&detail);
    buf_free(&detail);
    /* never anything derived from detokenized names: they exist only in memory */
    out->display_name =
        strdup(plain || (q.names_tokenized && quality_rc == 0) ? "(tokenized)" : name);
    out->name_tokens = strdup(plain ? PIPELINE_TOKENS_DETOKENIZED : tokens.data ? tokens.data : "");
    out->identity_json = results_identity_fields(identity);
    buf_free(&tokens);
    /* the basis a decision is made on: computed status, reasons, the matched entries */
    struct buf basis;
    buf_init(&basis, 16 * 1024);
    built |= buf_printf(&basis, "%s|%s|%s", status, out->reasons_json ? out->reasons_json : "",
                        basis_ids.data ? basis_ids.data : "");
    crypto_sha256_hex(basis.data, basis.len, out->basis);
    buf_free(&basis);
    buf_free(&basis_ids);
    /* what an alert says: why, without customer PII (list data and reason codes only) */
    int is_hit = strcmp(status, RESULTS_HIT) == 0;
    if (is_hit || strcmp(status, RESULTS_NEEDS_REVIEW) == 0) {
        struct buf text;
        buf_init(&text, 2048);
        int pep_only = !is_hit && top && top->reason == SCREEN_REASON_PEP;
        if (is_hit || band == SCREEN_BAND_REVIEW) {
            out->alert_title = strdup(is_hit     ? "KYC: sanctions list hit"
                                      : pep_only ? "KYC: possible politically exposed person"
                                                 : "KYC: possible sanctions match");
            built |= buf_printf(&text, "Screening score %.2f (%s band) against %s entry %s (%s).",
                                score, is_hit ? "hit" : "review", top ? top->entry->source : "",
                                top ? top->entry->id : "", top ? top->entry->name : "");
        } else {
            out->alert_title = strdup("KYC: identity data needs review");
            built |= buf_append_str(&text, "Data-quality checks need a reviewer.");
        }
        built |= buf_append_str(&text, " Reasons:");
        size_t i;
        json_t *v;
        json_array_foreach(reasons, i, v) built |=
            buf_printf(&text, "%s %s", i ? "," : "", json_string_value(v));
        built |= buf_append_str(&text, ". Review it in the KYC app.");
        out->alert_text = strdup(text.data ? text.data : "");
        buf_free(&text);
    }
    json_decref(reasons);
    if (have_result)
        screen_result_release(&r);
    if (built || !out->reasons_json || !out->detail_json || !out->display_name ||
        !out->name_tokens || !out->identity_json || !out->audit)
        return CAPP_ENOMEM;
    return 0;
}
