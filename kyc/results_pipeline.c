/*
 * results_pipeline.c — the pipeline's write path and outbox (see kyc/results_pipeline.h; the
 * state machine and outbox states are in kyc/results.h).
 *
 * Design. Rows are written in batches by the pipeline's committer (one transaction per batch
 * of screened identities, so one fsync per few hundred rows) and completed in batches too (one
 * transaction per group of Cloud answers). The intent an alert needs is durable before its
 * create call is made ('creating' is committed in the batch that stored the result), so a crash
 * can leave an alert 'uncertain' but never create it twice.
 *
 * On PostgreSQL a batch costs a few statements, not a few per row (every statement is a round
 * trip and a trip through the executor): the stored rows are read in one locked SELECT and
 * written in one upsert, the completions in one UPDATE per kind, each taking the batch's
 * columns as arrays (capp/pg_array.h) and planned for the rows at hand (plan_for_batch). SQLite
 * keeps the one-row statements: they cost no round trip there.
 *
 * The payload written to Cloud is built here, from the stored columns, so a decision rebuilds
 * exactly what a screening would have written.
 *
 * Threads: every function works on the connection it is given (the committer's for batches and
 * completions, the coordinator's for runs and the walk's writes, a request thread's for a
 * decision) and keeps nothing between calls. Outbox items it fills belong to the caller
 * (results_outbox_item_clear).
 */
#include "kyc/results_pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/clock.h"
#include "capp/crypto.h"
#include "capp/db.h" /* DB_TEXTS, DB_INTS, DB_NONE */
#include "capp/sql.h"
#include "capp/err.h"
#include "capp/pg_array.h"
#include "kyc/results_internal.h"

static int needs_alert(const char *status)
{
    return strcmp(status, RESULTS_NEEDS_REVIEW) == 0 || strcmp(status, RESULTS_HIT) == 0;
}

static int is_decided(const char *status)
{
    return strcmp(status, RESULTS_APPROVED) == 0 || strcmp(status, RESULTS_REJECTED) == 0;
}

/* ---- payload (the whole meta_data.<key> object, D19) ---- */

static char *build_payload(const char *status, const char *risk, double score,
                           const char *reasons_json, const char *check_id, int64_t checked_at,
                           const char *lists_json, const char *engine_version, int64_t decided_at)
{
    char ts[40], dts[40];
    clock_format_rfc3339(checked_at, ts, sizeof ts);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:f, s:o, s:s, s:s, s:o, s:s}", "kyc_status", results_kyc_status(status),
        "status", status, "risk", risk, "score", score, "reasons",
        results_parse_or(reasons_json, json_array()), "check_id", check_id, "checked_at", ts,
        "lists", results_parse_or(lists_json, json_object()), "engine_version", engine_version);
    if (!o)
        return NULL;
    if (decided_at > 0) {
        clock_format_rfc3339(decided_at, dts, sizeof dts);
        json_object_set_new(o, "decided_at", json_string(dts));
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
    json_decref(o);
    return text;
}

void results_outbox_item_clear(struct results_outbox_item *it)
{
    if (!it)
        return;
    free(it->payload);
    free(it->alert_title);
    free(it->alert_text);
    memset(it, 0, sizeof *it);
}

static struct results_outbox_item *item_push(struct results_outbox_item **items, size_t *n)
{
    if ((*n & (*n - 1)) == 0 || *n == 0) {
        size_t cap = *n ? *n * 2 : 16;
        struct results_outbox_item *grown = realloc(*items, cap * sizeof **items);
        if (!grown)
            return NULL;
        *items = grown;
    }
    struct results_outbox_item *it = &(*items)[(*n)++];
    memset(it, 0, sizeof *it);
    return it;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* ---- the pipeline's writes ---- */

/* "email_address" and Core's "EmailAddress" name the same field (case and '_' ignored). */
static int same_field(const char *a, const char *b)
{
    for (;;) {
        while (*a == '_')
            a++;
        while (*b == '_')
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (ca != cb)
            return 0;
        a++;
        b++;
    }
}

/* 1 when meta_data.tokenized_fields flags name (an object of flags or a list of names). */
static int flagged_tokenized(const json_t *flags, const char *name)
{
    const char *key;
    size_t i;
    json_t *v;
    if (json_is_object(flags)) {
        json_object_foreach((json_t *)flags, key, v)
        {
            if (!json_is_false(v) && !json_is_null(v) && same_field(key, name))
                return 1;
        }
    } else if (json_is_array(flags)) {
        json_array_foreach(flags, i, v)
        {
            if (json_is_string(v) && same_field(json_string_value(v), name))
                return 1;
        }
    }
    return 0;
}

char *results_identity_fields(const json_t *identity)
{
    static const char *const keys[] = {
        "identity_type", "dob",       "nationality",   "country",      "street",     "city",
        "state",         "post_code", "email_address", "phone_number", "created_at",
    };
    const json_t *flags =
        json_object_get(json_object_get(identity, "meta_data"), "tokenized_fields");
    json_t *o = json_object(), *tokenized = json_array();
    for (size_t i = 0; o && tokenized && i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = json_string_value(json_object_get(identity, keys[i]));
        size_t n = v ? strlen(v) : 0;
        if (!n || n > 1024 || (strcmp(keys[i], "dob") == 0 && strncmp(v, "0001-01-01", 10) == 0))
            continue; /* 0001-01-01: Core's "no date of birth" */
        if (strcmp(keys[i], "dob") == 0 && n > 10 && strncmp(v, "FPT:", 4) != 0)
            n = 10; /* D18: /proxy gives RFC 3339 midnight; the date is what matters */
        json_object_set_new(o, keys[i], json_stringn(v, n));
        if (strncmp(v, "FPT:", 4) == 0 || flagged_tokenized(flags, keys[i]))
            json_array_append_new(tokenized, json_string(keys[i]));
    }
    char *text = NULL;
    if (o && tokenized && json_object_set(o, "tokenized", tokenized) == 0)
        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(tokenized);
    json_decref(o);
    return text;
}

/* The walk of a large install reads its snapshot in pages keyed by identity id, so PostgreSQL
 * (which buffers a whole result) never holds it all at once. */
/* The snapshot's columns of kyc_identities, read by snapshot_row. */
#define SNAPSHOT_COLUMNS                                       \
    "SELECT identity_id, fields_hash, lists_key, name_tokens," \
    " CASE WHEN removed_at IS NULL THEN 0 ELSE 1 END FROM kyc_identities"

static void snapshot_row(struct sql_stmt *st, struct results_snapshot_entry *e)
{
    sql_column_copy(st, 1, e->fields_hash, sizeof e->fields_hash);
    sql_column_copy(st, 2, e->lists_key, sizeof e->lists_key);
    e->removed = sql_column_int64(st, 4) != 0;
}

int results_snapshot_get(results_db *db, const char *installed_app_id, const char *identity_id,
                         struct results_snapshot_entry *e)
{
    struct sql_stmt *st = NULL;
    int rc =
        sql_prepare(db, SNAPSHOT_COLUMNS " WHERE installed_app_id = ?1 AND identity_id = ?2", &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, installed_app_id);
    sql_bind_text(st, 2, identity_id);
    rc = sql_step(st);
    if (rc == 1)
        snapshot_row(st, e);
    sql_finalize(st);
    return rc == 1 ? 0 : rc == 0 ? CAPP_ENOTFOUND : rc;
}

int results_snapshot_each(results_db *db, const char *installed_app_id,
                          int (*fn)(void *ctx, const char *identity_id,
                                    const struct results_snapshot_entry *e, const char *tokens),
                          void *ctx)
{
    char after[STORE_ID_CAP] = "";
    for (;;) {
        struct sql_stmt *st = NULL;
        int rc = sql_prepare(db,
                             SNAPSHOT_COLUMNS " WHERE installed_app_id = ?1 AND identity_id > ?2"
                                              " ORDER BY identity_id LIMIT ?3",
                             &st);
        if (rc)
            return rc;
        sql_bind_text(st, 1, installed_app_id);
        sql_bind_text(st, 2, after);
        sql_bind_int64(st, 3, RESULTS_SNAPSHOT_PAGE);
        struct results_snapshot_entry e;
        int rows = 0;
        while ((rc = sql_step(st)) == 1) {
            rows++;
            sql_column_copy(st, 0, after, sizeof after);
            snapshot_row(st, &e);
            if ((rc = fn(ctx, results_col_text(st, 0), &e, results_col_text(st, 3))) != 0)
                break;
        }
        sql_finalize(st);
        if (rc != 0)
            return rc < 0 ? rc : 0;
        if (rows < RESULTS_SNAPSHOT_PAGE)
            return 0;
    }
}

/* The stored row a new screening is compared with. FOR UPDATE on PostgreSQL: the decision a
 * reviewer commits on another connection (results_apply_decision) waits for this batch, or this
 * batch reads it; SQLite's write lock (BEGIN IMMEDIATE) already does that. */
static const char GET_ROW[] =
    "SELECT status, basis, alert_state, anomaly_id, decided_at"
    " FROM kyc_identities WHERE installed_app_id = ?1 AND identity_id = ?2";

static int prepare_locked(results_db *db, const char *select, struct sql_stmt **out)
{
    char sql[512];
    int n = snprintf(sql, sizeof sql, "%s%s", select, sql_for_update(db));
    if (n < 0 || (size_t)n >= sizeof sql)
        return CAPP_EINVAL;
    return sql_prepare(db, sql, out);
}

/* What is stored for an identity before a new screening of it (GET_ROW's columns). */
struct stored_row {
    int exists;
    char status[RESULTS_STATUS_CAP];
    char basis[RESULTS_HASH_CAP];
    char alert_state[16];
    char anomaly_id[STORE_ID_CAP];
    char decided_by[STORE_ID_CAP * 2];
    int64_t decided_at;
};

/* What a new screening of a row changes: the status it gets (a decision stays while its basis
 * stays), the alert state and outbox work, a new check_id and the payload built from them. */
struct row_plan {
    int keep_decision, want_create, want_resolve;
    const char *status;
    const char *new_alert;
    char check_id[4 + 33];
    char *payload; /* owned until handed to the outbox item */
    char payload_hash[CRYPTO_SHA256_HEX_BYTES];
};

static int plan_row(const struct results_row *r, const struct stored_row *old,
                    const struct results_write_options *o, struct row_plan *pl)
{
    memset(pl, 0, sizeof *pl);
    /* a decision stays while the basis it was made on stays */
    pl->keep_decision = old->exists && is_decided(old->status) && strcmp(old->basis, r->basis) == 0;
    pl->status = pl->keep_decision ? old->status : r->status;
    const char *alert_state = old->alert_state;
    pl->new_alert = alert_state;
    if (needs_alert(pl->status)) {
        if (strcmp(alert_state, "none") == 0 || strcmp(alert_state, "resolved") == 0 ||
            strcmp(alert_state, "failed") == 0 || strcmp(alert_state, "wanted") == 0) {
            pl->new_alert = o->can_alert ? "creating" : "wanted";
            pl->want_create = o->can_alert;
        }
    } else if (strcmp(alert_state, "open") == 0 && !pl->keep_decision) {
        pl->new_alert = "resolving";
        pl->want_resolve = 1;
    } else if (strcmp(alert_state, "wanted") == 0) {
        pl->new_alert = "none";
    }
    memcpy(pl->check_id, "chk_", 4);
    uint8_t raw[16];
    if (crypto_random(raw, sizeof raw) != 0)
        return CAPP_ECRYPTO;
    crypto_hex_encode(raw, sizeof raw, pl->check_id + 4);
    pl->payload =
        build_payload(pl->status, r->risk, r->score, r->reasons_json, pl->check_id, o->now_ms,
                      r->lists_json, r->engine_version, pl->keep_decision ? old->decided_at : 0);
    if (!pl->payload)
        return CAPP_ENOMEM;
    crypto_sha256_hex(pl->payload, strlen(pl->payload), pl->payload_hash);
    return 0;
}

/* Appends the row's outbox item; takes pl->payload (freed on failure). */
static int push_item(const struct results_row *r, const struct stored_row *old, struct row_plan *pl,
                     struct results_outbox_item **items, size_t *n_items)
{
    struct results_outbox_item *it = item_push(items, n_items);
    if (!it) {
        free(pl->payload);
        pl->payload = NULL;
        return CAPP_ENOMEM;
    }
    snprintf(it->identity_id, sizeof it->identity_id, "%s", r->identity_id);
    it->writeback = 1;
    it->payload = pl->payload;
    pl->payload = NULL;
    it->alert_create = pl->want_create;
    it->alert_resolve = pl->want_resolve;
    if (pl->want_create) {
        it->alert_title = dup_or_null(r->alert_title);
        it->alert_text = dup_or_null(r->alert_text);
    }
    snprintf(it->anomaly_id, sizeof it->anomaly_id, "%s", old->anomaly_id);
    snprintf(it->status_to, sizeof it->status_to, "%s", pl->status);
    snprintf(it->check_id, sizeof it->check_id, "%s", pl->check_id);
    if (old->exists && strcmp(old->status, pl->status) != 0)
        snprintf(it->status_from, sizeof it->status_from, "%s", old->status);
    return 0;
}

/* One row at a time: SQLite (statements cost no round trip there) and a PostgreSQL batch that
 * names an identity twice (one upsert statement cannot touch a row twice). */
static int store_rows_each(results_db *db, const char *installed_app_id,
                           const struct results_row *rows, size_t n,
                           const struct results_write_options *o,
                           struct results_outbox_item **items, size_t *n_items)
{
    struct sql_stmt *get = NULL, *put = NULL;
    int rc = prepare_locked(db, GET_ROW, &get);
    if (rc == 0)
        rc = sql_prepare(
            db,
            "INSERT INTO kyc_identities (installed_app_id, identity_id, fields_hash, lists_key,"
            " display_name, identity_type, name_tokens, status, computed_status, risk, score,"
            " reasons, detail, lists, engine_version, basis, check_id, screened_at, updated_at,"
            " decided_by, decided_at, payload, payload_hash, writeback_state, alert_state,"
            " alert_title, alert_text, identity_fields)"
            " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?18,"
            " NULL,NULL,?19,?20,'pending',?21,?22,?23,?25)"
            " ON CONFLICT(installed_app_id, identity_id) DO UPDATE SET"
            " fields_hash=?3, lists_key=?4, display_name=?5, identity_type=?6, name_tokens=?7,"
            " status=?8, computed_status=?9, risk=?10, score=?11, reasons=?12, detail=?13,"
            " lists=?14, engine_version=?15, basis=?16, check_id=?17, screened_at=?18,"
            " updated_at=?18,"
            " decided_by=CASE WHEN ?24 = 1 THEN kyc_identities.decided_by END,"
            " decided_at=CASE WHEN ?24 = 1 THEN kyc_identities.decided_at END,"
            " payload=?19, payload_hash=?20,"
            " writeback_state='pending', writeback_error=NULL, alert_state=?21,"
            " alert_title=?22, alert_text=?23, identity_fields=?25, removed_at=NULL",
            &put);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct results_row *r = &rows[i];
        struct stored_row old = {.alert_state = "none"};
        sql_reset(get);
        sql_bind_text(get, 1, installed_app_id);
        sql_bind_text(get, 2, r->identity_id);
        int found = sql_step(get);
        if (found < 0) {
            rc = found;
            break;
        }
        if (found == 1) {
            old.exists = 1;
            sql_column_copy(get, 0, old.status, sizeof old.status);
            sql_column_copy(get, 1, old.basis, sizeof old.basis);
            sql_column_copy(get, 2, old.alert_state, sizeof old.alert_state);
            sql_column_copy(get, 3, old.anomaly_id, sizeof old.anomaly_id);
            old.decided_at = sql_column_int64(get, 4);
        }
        struct row_plan pl;
        if ((rc = plan_row(r, &old, o, &pl)) != 0)
            break;
        sql_reset(put);
        sql_bind_text(put, 1, installed_app_id);
        sql_bind_text(put, 2, r->identity_id);
        sql_bind_text(put, 3, r->fields_hash);
        sql_bind_text(put, 4, r->lists_key ? r->lists_key : "");
        sql_bind_text(put, 5, r->display_name ? r->display_name : "");
        sql_bind_text(put, 6, r->identity_type ? r->identity_type : "");
        sql_bind_text(put, 7, r->name_tokens ? r->name_tokens : "");
        sql_bind_text(put, 8, pl.status);
        sql_bind_text(put, 9, r->status);
        sql_bind_text(put, 10, r->risk);
        sql_bind_double(put, 11, r->score);
        sql_bind_text(put, 12, r->reasons_json);
        sql_bind_text(put, 13, r->detail_json);
        sql_bind_text(put, 14, r->lists_json);
        sql_bind_text(put, 15, r->engine_version);
        sql_bind_text(put, 16, r->basis);
        sql_bind_text(put, 17, pl.check_id);
        sql_bind_int64(put, 18, o->now_ms);
        sql_bind_text(put, 19, pl.payload);
        sql_bind_text(put, 20, pl.payload_hash);
        sql_bind_text(put, 21, pl.new_alert);
        sql_bind_text(put, 22, r->alert_title);
        sql_bind_text(put, 23, r->alert_text);
        sql_bind_int64(put, 24, pl.keep_decision);
        sql_bind_text(put, 25, r->identity_json && *r->identity_json ? r->identity_json : "{}");
        rc = sql_step(put);
        if (rc > 0)
            rc = 0;
        if (rc) {
            free(pl.payload);
            break;
        }
        rc = push_item(r, &old, &pl, items, n_items);
    }
    sql_finalize(get);
    sql_finalize(put);
    return rc;
}

/* PostgreSQL batches are planned for the arrays at hand: a cached generic plan cannot see how
 * many elements an array parameter has (1 or 256), a custom plan does. The statements run once
 * per batch, so one plan each costs little. */
static int plan_for_batch(results_db *db)
{
    return sql_exec(db, "SET LOCAL plan_cache_mode = force_custom_plan");
}

/* The stored rows of a batch, locked (as GET_ROW's FOR UPDATE), in one statement. */
static int load_stored_pg(results_db *db, const char *installed_app_id,
                          const struct results_row *rows, size_t n, struct stored_row *old)
{
    struct pg_array ids;
    pg_array_init(&ids);
    for (size_t i = 0; i < n; i++)
        pg_array_add_text(&ids, rows[i].identity_id);
    const char *ids_text = pg_array_text(&ids);
    struct sql_stmt *st = NULL;
    int rc = ids_text ? sql_prepare(db,
                                    "SELECT identity_id, status, basis, alert_state, anomaly_id,"
                                    " decided_at, decided_by FROM kyc_identities"
                                    " WHERE installed_app_id = ?1"
                                    " AND identity_id = ANY(?2::text[]) FOR UPDATE",
                                    &st)
                      : CAPP_ENOMEM;
    if (rc == 0) {
        sql_bind_text(st, 1, installed_app_id);
        sql_bind_text(st, 2, ids_text);
        while ((rc = sql_step(st)) == 1) {
            const char *id = results_col_text(st, 0);
            for (size_t i = 0; i < n; i++) {
                if (old[i].exists || strcmp(rows[i].identity_id, id) != 0)
                    continue;
                old[i].exists = 1;
                sql_column_copy(st, 1, old[i].status, sizeof old[i].status);
                sql_column_copy(st, 2, old[i].basis, sizeof old[i].basis);
                sql_column_copy(st, 3, old[i].alert_state, sizeof old[i].alert_state);
                sql_column_copy(st, 4, old[i].anomaly_id, sizeof old[i].anomaly_id);
                old[i].decided_at = sql_column_int64(st, 5);
                sql_column_copy(st, 6, old[i].decided_by, sizeof old[i].decided_by);
                break;
            }
        }
        sql_finalize(st);
    }
    pg_array_free(&ids);
    return rc < 0 ? rc : 0;
}

/* The batch's columns as arrays (STORE_PG's ?3..?26), in its INSERT's column order. */
enum {
    COL_ID,
    COL_FIELDS_HASH,
    COL_LISTS_KEY,
    COL_DISPLAY,
    COL_TYPE,
    COL_TOKENS,
    COL_STATUS,
    COL_COMPUTED,
    COL_RISK,
    COL_SCORE,
    COL_REASONS,
    COL_DETAIL,
    COL_LISTS,
    COL_ENGINE,
    COL_BASIS,
    COL_CHECK,
    COL_DECIDED_BY,
    COL_DECIDED_AT,
    COL_PAYLOAD,
    COL_PAYLOAD_HASH,
    COL_ALERT_STATE,
    COL_ALERT_TITLE,
    COL_ALERT_TEXT,
    COL_IDENTITY,
    STORE_COLS
};

/* The kept decision travels in the inserted row (decided_by/at of the stored row when the
 * decision stays, else NULL), so the update takes every column from excluded: the row is
 * locked since load_stored_pg, so it is what the plan was made from. */
static const char STORE_PG[] =
    "INSERT INTO kyc_identities (installed_app_id, identity_id, fields_hash, lists_key,"
    " display_name, identity_type, name_tokens, status, computed_status, risk, score,"
    " reasons, detail, lists, engine_version, basis, check_id, screened_at, updated_at,"
    " decided_by, decided_at, payload, payload_hash, writeback_state, alert_state,"
    " alert_title, alert_text, identity_fields)"
    " SELECT ?1, u.id, u.fh, u.lk, u.dn, u.it, u.nt, u.st, u.cs, u.rk, u.sc, u.re, u.de, u.li,"
    " u.ev, u.ba, u.ci, ?2, ?2, u.db, u.da, u.pl, u.ph, 'pending', u.al, u.att, u.atx, u.idf"
    " FROM unnest(?3::text[], ?4::text[], ?5::text[], ?6::text[], ?7::text[], ?8::text[],"
    " ?9::text[], ?10::text[], ?11::text[], ?12::float8[], ?13::text[], ?14::text[],"
    " ?15::text[], ?16::text[], ?17::text[], ?18::text[], ?19::text[], ?20::bigint[],"
    " ?21::text[], ?22::text[], ?23::text[], ?24::text[], ?25::text[], ?26::text[])"
    " AS u(id, fh, lk, dn, it, nt, st, cs, rk, sc, re, de, li, ev, ba, ci, db, da, pl, ph, al,"
    " att, atx, idf)"
    " ON CONFLICT(installed_app_id, identity_id) DO UPDATE SET"
    " fields_hash = excluded.fields_hash, lists_key = excluded.lists_key,"
    " display_name = excluded.display_name, identity_type = excluded.identity_type,"
    " name_tokens = excluded.name_tokens, status = excluded.status,"
    " computed_status = excluded.computed_status, risk = excluded.risk, score = excluded.score,"
    " reasons = excluded.reasons, detail = excluded.detail, lists = excluded.lists,"
    " engine_version = excluded.engine_version, basis = excluded.basis,"
    " check_id = excluded.check_id, screened_at = excluded.screened_at,"
    " updated_at = excluded.updated_at, decided_by = excluded.decided_by,"
    " decided_at = excluded.decided_at, payload = excluded.payload,"
    " payload_hash = excluded.payload_hash, writeback_state = 'pending',"
    " writeback_error = NULL, alert_state = excluded.alert_state,"
    " alert_title = excluded.alert_title, alert_text = excluded.alert_text,"
    " identity_fields = excluded.identity_fields, removed_at = NULL";

static int has_duplicate_id(const struct results_row *rows, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(rows[i].identity_id, rows[j].identity_id) == 0)
                return 1;
    return 0;
}

/* PostgreSQL: the batch's stored rows read in one statement and written in one upsert (two
 * statements per batch instead of two per row). */
static int store_rows_pg(results_db *db, const char *installed_app_id,
                         const struct results_row *rows, size_t n,
                         const struct results_write_options *o, struct results_outbox_item **items,
                         size_t *n_items)
{
    struct stored_row *old = calloc(n, sizeof *old);
    struct row_plan *plans = calloc(n, sizeof *plans);
    struct pg_array cols[STORE_COLS];
    for (int c = 0; c < STORE_COLS; c++)
        pg_array_init(&cols[c]);
    int rc = old && plans ? plan_for_batch(db) : CAPP_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        snprintf(old[i].alert_state, sizeof old[i].alert_state, "none");
    if (rc == 0)
        rc = load_stored_pg(db, installed_app_id, rows, n, old);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct results_row *r = &rows[i];
        struct row_plan *pl = &plans[i];
        if ((rc = plan_row(r, &old[i], o, pl)) != 0)
            break;
        const char *texts[STORE_COLS] = {
            [COL_ID] = r->identity_id,
            [COL_FIELDS_HASH] = r->fields_hash,
            [COL_LISTS_KEY] = r->lists_key ? r->lists_key : "",
            [COL_DISPLAY] = r->display_name ? r->display_name : "",
            [COL_TYPE] = r->identity_type ? r->identity_type : "",
            [COL_TOKENS] = r->name_tokens ? r->name_tokens : "",
            [COL_STATUS] = pl->status,
            [COL_COMPUTED] = r->status,
            [COL_RISK] = r->risk,
            [COL_REASONS] = r->reasons_json,
            [COL_DETAIL] = r->detail_json,
            [COL_LISTS] = r->lists_json,
            [COL_ENGINE] = r->engine_version,
            [COL_BASIS] = r->basis,
            [COL_CHECK] = pl->check_id,
            [COL_DECIDED_BY] = pl->keep_decision && old[i].decided_by[0] ? old[i].decided_by : NULL,
            [COL_PAYLOAD] = pl->payload,
            [COL_PAYLOAD_HASH] = pl->payload_hash,
            [COL_ALERT_STATE] = pl->new_alert,
            [COL_ALERT_TITLE] = r->alert_title,
            [COL_ALERT_TEXT] = r->alert_text,
            [COL_IDENTITY] = r->identity_json && *r->identity_json ? r->identity_json : "{}",
        };
        for (int c = 0; c < STORE_COLS; c++) {
            if (c == COL_SCORE)
                pg_array_add_double(&cols[c], r->score);
            else if (c == COL_DECIDED_AT && pl->keep_decision && old[i].decided_at)
                pg_array_add_int(&cols[c], old[i].decided_at);
            else if (c == COL_DECIDED_AT)
                pg_array_add_text(&cols[c], NULL);
            else
                pg_array_add_text(&cols[c], texts[c]);
        }
    }
    struct sql_stmt *put = NULL;
    if (rc == 0)
        rc = sql_prepare(db, STORE_PG, &put);
    if (rc == 0) {
        sql_bind_text(put, 1, installed_app_id);
        sql_bind_int64(put, 2, o->now_ms);
        for (int c = 0; rc == 0 && c < STORE_COLS; c++) {
            const char *text = pg_array_text(&cols[c]);
            rc = text ? sql_bind_text(put, 3 + c, text) : CAPP_ENOMEM;
        }
        if (rc == 0)
            rc = sql_step(put);
        if (rc > 0)
            rc = 0;
        sql_finalize(put);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = push_item(&rows[i], &old[i], &plans[i], items, n_items);
    for (size_t i = 0; plans && i < n; i++)
        free(plans[i].payload);
    for (int c = 0; c < STORE_COLS; c++)
        pg_array_free(&cols[c]);
    free(old);
    free(plans);
    return rc;
}

int results_store_rows(results_db *db, const char *installed_app_id, const struct results_row *rows,
                       size_t n, const struct results_write_options *o,
                       struct results_outbox_item **items, size_t *n_items)
{
    int own = !sql_in_transaction(db); /* else: the caller's transaction */
    int rc = own ? results_begin(db) : 0;
    if (rc)
        return rc;
    if (n > 1 && sql_engine_of(db) == SQL_POSTGRES && !has_duplicate_id(rows, n))
        rc = store_rows_pg(db, installed_app_id, rows, n, o, items, n_items);
    else
        rc = store_rows_each(db, installed_app_id, rows, n, o, items, n_items);
    if (own && rc == 0)
        rc = results_commit(db);
    if (own && rc)
        results_rollback(db);
    return rc;
}

int results_outbox_load(results_db *db, const char *installed_app_id, int can_write, int can_alert,
                        struct results_outbox_item **items, size_t *n_items)
{
    int rc = results_begin(db);
    if (rc)
        return rc;
    const char *const install[] = {installed_app_id};
    rc = sql_run(db,
                 "UPDATE kyc_identities SET alert_state = 'uncertain'"
                 " WHERE installed_app_id = ?1 AND alert_state = 'creating'",
                 install, 1, NULL, 0, NULL);
    if (rc == 0 && can_alert)
        rc = sql_run(db,
                     "UPDATE kyc_identities SET alert_state = 'creating'"
                     " WHERE installed_app_id = ?1 AND alert_state = 'wanted'",
                     install, 1, NULL, 0, NULL);
    struct sql_stmt *st = NULL;
    if (rc == 0)
        rc = sql_prepare(db,
                         "SELECT identity_id, CASE WHEN writeback_state = 'pending' AND ?2 = 1"
                         " AND removed_at IS NULL THEN 1 ELSE 0 END, payload,"
                         " alert_state, anomaly_id, alert_title, alert_text FROM kyc_identities"
                         " WHERE installed_app_id = ?1 AND ((?2 = 1 AND writeback_state = 'pending'"
                         " AND removed_at IS NULL) OR alert_state IN ('creating', 'resolving'))",
                         &st);
    if (rc == 0) {
        sql_bind_text(st, 1, installed_app_id);
        sql_bind_int64(st, 2, can_write ? 1 : 0);
        int step;
        while ((step = sql_step(st)) == 1) {
            struct results_outbox_item *it = item_push(items, n_items);
            if (!it) {
                rc = CAPP_ENOMEM;
                break;
            }
            sql_column_copy(st, 0, it->identity_id, sizeof it->identity_id);
            it->writeback = sql_column_int64(st, 1) != 0;
            if (it->writeback)
                it->payload = dup_or_null(results_col_text(st, 2));
            const char *state = results_col_text(st, 3);
            it->alert_create = strcmp(state, "creating") == 0;
            it->alert_resolve = strcmp(state, "resolving") == 0;
            sql_column_copy(st, 4, it->anomaly_id, sizeof it->anomaly_id);
            if (it->alert_create) {
                it->alert_title = dup_or_null(results_col_text(st, 5));
                it->alert_text = dup_or_null(results_col_text(st, 6));
            }
            if (it->writeback && !it->payload)
                it->writeback = 0;
        }
        if (step < 0)
            rc = step;
        sql_finalize(st);
    }
    if (rc == 0)
        rc = results_commit(db);
    if (rc)
        results_rollback(db);
    return rc;
}

/* What each kind of completion changes in its identity's row, and on what condition: one table
 * for the one-by-one statements (WHERE: the identity, V: ?3) and the PostgreSQL group statements
 * (WHERE: joined to the unnested ids, V: u.v), so the two forms cannot drift apart. */
#define DONE_STATEMENTS(WHERE, V)                                                                  \
    {                                                                                              \
        [RESULTS_DONE_WRITTEN] =                                                                   \
            "UPDATE kyc_identities SET writeback_state = 'done',"                                  \
            " writeback_hash = " V ", writeback_error = NULL" WHERE " AND payload_hash = " V,      \
        [RESULTS_DONE_WRITE_FAILED] =                                                              \
            "UPDATE kyc_identities SET writeback_state = 'failed',"                                \
            " writeback_error = " V WHERE " AND writeback_state = 'pending'",                      \
        [RESULTS_DONE_ALERT_CREATED] =                                                             \
            "UPDATE kyc_identities SET alert_state = CASE"                                         \
            " WHEN alert_state = 'resolving' THEN 'resolving'"                                     \
            " ELSE 'open' END, anomaly_id = " V ", alert_error = NULL" WHERE,                      \
        [RESULTS_DONE_ALERT_UNCERTAIN] =                                                           \
            "UPDATE kyc_identities SET alert_state = 'uncertain',"                                 \
            " alert_error = " V WHERE " AND alert_state = 'creating'",                             \
        [RESULTS_DONE_ALERT_FAILED] =                                                              \
            "UPDATE kyc_identities SET alert_state = 'failed',"                                    \
            " alert_error = " V WHERE " AND alert_state IN ('creating', 'resolving')",             \
        [RESULTS_DONE_ALERT_WANTED] = "UPDATE kyc_identities SET alert_state = 'wanted',"          \
                                      " alert_error = " V WHERE " AND alert_state = 'creating'",   \
        [RESULTS_DONE_ALERT_RESOLVED] = "UPDATE kyc_identities SET alert_state = 'resolved'" WHERE \
                                        " AND alert_state = 'resolving' AND anomaly_id = " V,      \
    }

/* PostgreSQL: one UPDATE per kind of completion in the group (in practice one for the
 * write-backs and one for the alerts) instead of one per completion; the same changes and
 * conditions as results_apply_done's statements (DONE_STATEMENTS). An identity with several
 * completions in the group (a write-back and an alert) has them applied in their order, in
 * rounds: round k takes each identity's k-th completion, so within a round every row is
 * changed by one statement at most and the order of the kinds does not matter. */
static int apply_done_pg(results_db *db, const char *installed_app_id, const struct results_done *d,
                         size_t n)
{
    static const char *const sql[] =
        DONE_STATEMENTS(" FROM unnest(?2::text[], ?3::text[]) AS u(id, v)"
                        " WHERE installed_app_id = ?1 AND identity_id = u.id",
                        "u.v");
    enum { KINDS = COUNTOF(sql) }; /* kinds checked by results_apply_done */
    unsigned *round = calloc(n, sizeof *round);
    if (!round)
        return CAPP_ENOMEM;
    unsigned rounds = 1;
    for (size_t i = 1; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(d[i].identity_id, d[j].identity_id) == 0 && round[j] + 1 > round[i])
                round[i] = round[j] + 1;
        if (round[i] + 1 > rounds)
            rounds = round[i] + 1;
    }
    int rc = plan_for_batch(db);
    for (unsigned r = 0; r < rounds; r++)
        for (unsigned k = 0; rc == 0 && k < KINDS; k++) {
            struct pg_array ids, values;
            pg_array_init(&ids);
            pg_array_init(&values);
            for (size_t i = 0; i < n; i++) {
                if ((unsigned)d[i].kind != k || round[i] != r)
                    continue;
                pg_array_add_text(&ids, d[i].identity_id);
                pg_array_add_text(&values, d[i].value);
            }
            if (ids.n) {
                const char *id_text = pg_array_text(&ids), *value_text = pg_array_text(&values);
                const char *const texts[] = {installed_app_id, id_text, value_text};
                rc = id_text && value_text
                         ? sql_run(db, sql[k], texts, COUNTOF(texts), NULL, 0, NULL)
                         : CAPP_ENOMEM;
            }
            pg_array_free(&ids);
            pg_array_free(&values);
        }
    free(round);
    return rc;
}

int results_apply_done(results_db *db, const char *installed_app_id, const struct results_done *d,
                       size_t n)
{
    static const char *const sql[] =
        DONE_STATEMENTS(" WHERE installed_app_id = ?1 AND identity_id = ?2", "?3");
    for (size_t i = 0; i < n; i++)
        if ((unsigned)d[i].kind >= COUNTOF(sql))
            return CAPP_EINVAL;        /* nothing applied */
    int own = !sql_in_transaction(db); /* else: the caller's transaction */
    int rc = own ? results_begin(db) : 0;
    if (rc)
        return rc;
    if (n > 1 && sql_engine_of(db) == SQL_POSTGRES) {
        rc = apply_done_pg(db, installed_app_id, d, n);
        n = 0; /* done: the loop below is the one-by-one form */
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *const texts[] = {installed_app_id, d[i].identity_id, d[i].value};
        rc = sql_run(db, sql[d[i].kind], texts, COUNTOF(texts), NULL, 0, NULL);
    }
    if (own && rc == 0)
        rc = results_commit(db);
    if (own && rc)
        results_rollback(db);
    return rc;
}

int results_forget_snapshot(results_db *db, const char *installed_app_id, const char *identity_id)
{
    int64_t changes = 0;
    int rc = sql_run(db,
                     "UPDATE kyc_identities SET fields_hash = ''"
                     " WHERE installed_app_id = ?1 AND identity_id = ?2",
                     DB_TEXTS(installed_app_id, identity_id), DB_NONE, &changes);
    if (rc == 0 && changes != 1)
        rc = CAPP_ENOTFOUND;
    return rc;
}

int results_uncertain_alerts(results_db *db, const char *installed_app_id,
                             char (*out)[STORE_ID_CAP], size_t cap, size_t *n)
{
    *n = 0;
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db,
                         "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ?1"
                         " AND alert_state = 'uncertain' ORDER BY identity_id LIMIT ?2",
                         &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, installed_app_id);
    sql_bind_int64(st, 2, (int64_t)cap);
    while (*n < cap && (rc = sql_step(st)) == 1)
        sql_column_copy(st, 0, out[(*n)++], STORE_ID_CAP);
    sql_finalize(st);
    return rc < 0 ? rc : 0;
}

int results_alert_adopt(results_db *db, const char *installed_app_id, const char *identity_id,
                        const char *anomaly_id)
{
    return sql_run(db,
                   "UPDATE kyc_identities SET alert_state = 'open', anomaly_id = ?3"
                   " WHERE installed_app_id = ?1 AND identity_id = ?2"
                   " AND alert_state = 'uncertain'",
                   DB_TEXTS(installed_app_id, identity_id, anomaly_id), DB_NONE, NULL);
}

int results_alerts_not_found(results_db *db, const char *installed_app_id,
                             const char (*ids)[STORE_ID_CAP], size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        /* one row's failure does not keep the others 'uncertain' */
        int step = sql_run(db,
                           "UPDATE kyc_identities SET alert_state = 'wanted'"
                           " WHERE installed_app_id = ?1 AND identity_id = ?2"
                           " AND alert_state = 'uncertain'",
                           DB_TEXTS(installed_app_id, ids[i]), DB_NONE, NULL);
        if (step && !rc)
            rc = step;
    }
    return rc;
}

int results_advance_lists_key(results_db *db, const char *installed_app_id, const char *from,
                              const char *to)
{
    return sql_run(db,
                   "UPDATE kyc_identities SET lists_key = ?3"
                   " WHERE installed_app_id = ?1 AND lists_key = ?2",
                   DB_TEXTS(installed_app_id, from, to), DB_NONE, NULL);
}

int results_mark_removed(results_db *db, const char *installed_app_id, const char *identity_id,
                         int64_t now_ms, char *status_out, size_t status_cap,
                         struct results_outbox_item *item)
{
    memset(item, 0, sizeof *item);
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db,
                         "UPDATE kyc_identities SET removed_at = ?3, updated_at = ?3,"
                         " writeback_state = CASE writeback_state WHEN 'pending' THEN 'none'"
                         " ELSE writeback_state END,"
                         " alert_state = CASE alert_state WHEN 'open' THEN 'resolving'"
                         " WHEN 'wanted' THEN 'none' ELSE alert_state END"
                         " WHERE installed_app_id = ?1 AND identity_id = ?2 AND removed_at IS NULL"
                         " RETURNING status, alert_state, anomaly_id",
                         &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, installed_app_id);
    sql_bind_text(st, 2, identity_id);
    sql_bind_int64(st, 3, now_ms);
    rc = sql_step(st);
    if (rc == 1) {
        sql_column_copy(st, 0, status_out, status_cap);
        snprintf(item->identity_id, sizeof item->identity_id, "%s", identity_id);
        item->alert_resolve = strcmp(results_col_text(st, 1), "resolving") == 0;
        sql_column_copy(st, 2, item->anomaly_id, sizeof item->anomaly_id);
        rc = 0;
    } else if (rc == 0) {
        rc = CAPP_ENOTFOUND;
    }
    sql_finalize(st);
    return rc;
}

int results_apply_decision(results_db *db, const char *installed_app_id, const char *identity_id,
                           const char *status, const char *user_id, int can_alert, int64_t now_ms,
                           struct results_outbox_item *item)
{
    memset(item, 0, sizeof *item);
    if (!status || (!is_decided(status) && strcmp(status, RESULTS_NEEDS_REVIEW) != 0))
        return CAPP_EINVAL;
    int rc = results_begin(db);
    if (rc)
        return rc;
    /* locked on PostgreSQL: a batch storing a new screening of this identity on another
     * connection either commits first (and this decision sees it) or waits for it */
    struct sql_stmt *st = NULL;
    rc = prepare_locked(db,
                        "SELECT risk, score, reasons, lists, engine_version, alert_state,"
                        " anomaly_id, check_id, screened_at FROM kyc_identities"
                        " WHERE installed_app_id = ?1 AND identity_id = ?2",
                        &st);
    char *payload = NULL;
    char alert_state[16] = "", anomaly_id[STORE_ID_CAP] = "";
    if (rc == 0) {
        sql_bind_text(st, 1, installed_app_id);
        sql_bind_text(st, 2, identity_id);
        rc = sql_step(st);
        if (rc == 0)
            rc = CAPP_ENOTFOUND;
        if (rc == 1) {
            rc = 0;
            sql_column_copy(st, 5, alert_state, sizeof alert_state);
            sql_column_copy(st, 6, anomaly_id, sizeof anomaly_id);
            payload = build_payload(status, results_col_text(st, 0), sql_column_double(st, 1),
                                    results_col_text(st, 2), results_col_text(st, 7),
                                    sql_column_int64(st, 8), results_col_text(st, 3),
                                    results_col_text(st, 4), is_decided(status) ? now_ms : 0);
            if (!payload)
                rc = CAPP_ENOMEM;
        }
        sql_finalize(st);
    }
    const char *new_alert = alert_state;
    if (rc == 0) {
        if (is_decided(status) && strcmp(alert_state, "open") == 0) {
            new_alert = "resolving";
            item->alert_resolve = 1;
        } else if (is_decided(status) && strcmp(alert_state, "wanted") == 0) {
            new_alert = "none";
        } else if (!is_decided(status) &&
                   (strcmp(alert_state, "none") == 0 || strcmp(alert_state, "resolved") == 0)) {
            new_alert = can_alert ? "creating" : "wanted";
            item->alert_create = can_alert;
        }
        char payload_hash[CRYPTO_SHA256_HEX_BYTES];
        crypto_sha256_hex(payload, strlen(payload), payload_hash);
        rc = sql_prepare(db,
                         "UPDATE kyc_identities SET status = ?3, decided_by = ?4, decided_at = ?5,"
                         " updated_at = ?5, payload = ?6, payload_hash = ?7,"
                         " writeback_state = CASE WHEN removed_at IS NULL THEN 'pending'"
                         " ELSE writeback_state END, alert_state = ?8,"
                         " alert_title = CASE WHEN ?9 = 1 THEN 'KYC: identity reopened for review'"
                         " ELSE alert_title END,"
                         " alert_text = CASE WHEN ?9 = 1 THEN 'A reviewer reopened this identity"
                         " in the KYC app.' ELSE alert_text END"
                         " WHERE installed_app_id = ?1 AND identity_id = ?2",
                         &st);
        if (rc == 0) {
            sql_bind_text(st, 1, installed_app_id);
            sql_bind_text(st, 2, identity_id);
            sql_bind_text(st, 3, status);
            sql_bind_text(st, 4, user_id && *user_id ? user_id : NULL);
            sql_bind_int64(st, 5, now_ms);
            sql_bind_text(st, 6, payload);
            sql_bind_text(st, 7, payload_hash);
            sql_bind_text(st, 8, new_alert);
            sql_bind_int64(st, 9, item->alert_create ? 1 : 0);
            rc = sql_step(st);
            if (rc > 0)
                rc = 0;
            sql_finalize(st);
        }
    }
    if (rc == 0)
        rc = results_commit(db);
    if (rc) {
        results_rollback(db);
        free(payload);
        memset(item, 0, sizeof *item);
        return rc;
    }
    snprintf(item->identity_id, sizeof item->identity_id, "%s", identity_id);
    snprintf(item->anomaly_id, sizeof item->anomaly_id, "%s", anomaly_id);
    item->writeback = 1;
    item->payload = payload;
    if (item->alert_create) {
        item->alert_title = strdup("KYC: identity reopened for review");
        item->alert_text = strdup("A reviewer reopened this identity in the KYC app.");
    }
    return 0;
}

/* ---- runs ---- */

int results_run_abandon(results_db *db, const char *installed_app_id, int64_t now_ms,
                        const char *message)
{
    return sql_run(db,
                   "UPDATE kyc_runs SET state = 'stopped', finished_at = ?3, message = ?2"
                   " WHERE installed_app_id = ?1 AND state = 'running'",
                   DB_TEXTS(installed_app_id, message), DB_INTS(now_ms), NULL);
}

int results_run_begin(results_db *db, const char *installed_app_id, const char *trigger,
                      int64_t now_ms, int64_t *run_id)
{
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db,
                         "INSERT INTO kyc_runs (installed_app_id, trigger, state, started_at)"
                         " VALUES (?1, ?2, 'running', ?3) RETURNING run_id",
                         &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, installed_app_id);
    sql_bind_text(st, 2, trigger);
    sql_bind_int64(st, 3, now_ms);
    rc = sql_step(st);
    if (rc == 1) {
        *run_id = sql_column_int64(st, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = CAPP_EDB;
    }
    sql_finalize(st);
    return rc;
}

/* The run's counters in results_run order (run_update sets them, run_add adds to them). */
static void run_counters(const struct results_run *run, long long v[RESULTS_RUN_COUNTERS])
{
    long long all[] = {run->fetched,        run->screened,        run->unchanged, run->written,
                       run->alerts_created, run->alerts_resolved, run->errors,    run->rate_limited,
                       run->fetch_ms,       run->screen_ms,       run->write_ms};
    _Static_assert(COUNTOF(all) == RESULTS_RUN_COUNTERS, "every counter of struct results_run");
    memcpy(v, all, sizeof all);
}

int results_run_update(results_db *db, const char *installed_app_id, const struct results_run *run)
{
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db,
                         "UPDATE kyc_runs SET state=?3, finished_at=?4, fetched=?5, screened=?6,"
                         " unchanged=?7, written=?8, alerts_created=?9, alerts_resolved=?10,"
                         " errors=?11, rate_limited=?12, fetch_ms=?13, screen_ms=?14,"
                         " write_ms=?15, message=?16 WHERE installed_app_id=?1 AND run_id=?2",
                         &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, installed_app_id);
    sql_bind_int64(st, 2, run->run_id);
    sql_bind_text(st, 3, run->state);
    if (run->finished_at_ms)
        sql_bind_int64(st, 4, run->finished_at_ms);
    else
        sql_bind_null(st, 4);
    long long v[RESULTS_RUN_COUNTERS];
    run_counters(run, v);
    for (int i = 0; i < RESULTS_RUN_COUNTERS; i++)
        sql_bind_int64(st, 5 + i, v[i]);
    sql_bind_text(st, 16, run->message);
    rc = sql_step(st);
    sql_finalize(st);
    return rc > 0 ? 0 : rc;
}

int results_run_add(results_db *db, const char *installed_app_id, int64_t run_id,
                    const struct results_run *delta)
{
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db,
                         "UPDATE kyc_runs SET fetched = fetched + ?3, screened = screened + ?4,"
                         " unchanged = unchanged + ?5, written = written + ?6,"
                         " alerts_created = alerts_created + ?7,"
                         " alerts_resolved = alerts_resolved + ?8, errors = errors + ?9,"
                         " rate_limited = rate_limited + ?10, fetch_ms = fetch_ms + ?11,"
                         " screen_ms = screen_ms + ?12, write_ms = write_ms + ?13"
                         " WHERE installed_app_id = ?1 AND run_id = ?2",
                         &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, installed_app_id);
    sql_bind_int64(st, 2, run_id);
    long long v[RESULTS_RUN_COUNTERS];
    run_counters(delta, v);
    for (int i = 0; i < RESULTS_RUN_COUNTERS; i++)
        sql_bind_int64(st, 3 + i, v[i]);
    rc = sql_step(st);
    int64_t changes = rc == 0 ? sql_stmt_changes(st) : 0;
    sql_finalize(st);
    if (rc > 0)
        rc = 0;
    return rc == 0 && changes != 1 ? CAPP_ENOTFOUND : rc;
}

/* ---- list generations ---- */

int results_list_entries_each(results_db *db,
                              int (*fn)(void *ctx, const char *entry_id, const char *hash,
                                        const char *tokens),
                              void *ctx)
{
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db, "SELECT entry_id, hash, tokens FROM kyc_list_entries", &st);
    if (rc)
        return rc;
    while ((rc = sql_step(st)) == 1)
        if ((rc = fn(ctx, results_col_text(st, 0), results_col_text(st, 1),
                     results_col_text(st, 2))) != 0)
            break;
    sql_finalize(st);
    return rc < 0 ? rc : 0;
}

int results_list_generation_save(results_db *db, const char *lists_key, const char *previous_key,
                                 const char *changed_tokens, const char *const *ids,
                                 const char *const *hashes, const char *const *tokens, size_t n)
{
    int rc = results_begin(db);
    if (rc)
        return rc;
    /* one generation replaces the entries at a time: replicas that load new lists at once
     * take turns instead of interleaving their deletes and inserts */
    rc = sql_xact_lock(db, "kyc_list_entries");
    if (rc == 0)
        rc = sql_exec(db, "DELETE FROM kyc_list_entries");
    struct sql_stmt *st = NULL;
    if (rc == 0)
        rc = sql_prepare(db,
                         "INSERT INTO kyc_list_entries (entry_id, hash, tokens) VALUES (?1, ?2, ?3)"
                         " ON CONFLICT (entry_id) DO NOTHING", /* the same id twice: the first */
                         &st);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sql_reset(st);
        sql_bind_text(st, 1, ids[i]);
        sql_bind_text(st, 2, hashes[i]);
        sql_bind_text(st, 3, tokens[i]);
        rc = sql_step(st);
    }
    sql_finalize(st);
    if (rc == 0)
        rc = sql_run(db,
                     "INSERT INTO kyc_list_generations (lists_key, previous_key, changed_tokens,"
                     " created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (lists_key) DO UPDATE SET"
                     " previous_key = excluded.previous_key,"
                     " changed_tokens = excluded.changed_tokens, created_at = excluded.created_at",
                     DB_TEXTS(lists_key, previous_key ? previous_key : "",
                              changed_tokens ? changed_tokens : ""),
                     DB_INTS(clock_now_ms()), NULL);
    if (rc == 0)
        rc = results_commit(db);
    if (rc)
        results_rollback(db);
    return rc;
}

int results_list_generation_get(results_db *db, const char *lists_key, char *previous_key,
                                size_t pcap, char **changed_tokens)
{
    *changed_tokens = NULL;
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db,
                         "SELECT previous_key, changed_tokens FROM kyc_list_generations"
                         " WHERE lists_key = ?1",
                         &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, lists_key);
    rc = sql_step(st);
    if (rc == 1) {
        sql_column_copy(st, 0, previous_key, pcap);
        *changed_tokens = strdup(results_col_text(st, 1));
        rc = *changed_tokens ? 0 : CAPP_ENOMEM;
    } else if (rc == 0) {
        rc = CAPP_ENOTFOUND;
    }
    sql_finalize(st);
    return rc;
}

int results_list_load_claim(results_db *db, const char *installed_app_id, const char *lists_key,
                            int64_t now_ms)
{
    int64_t changes = 0;
    int rc = sql_run(db,
                     "INSERT INTO kyc_list_loads (installed_app_id, lists_key, loaded_at)"
                     " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                     DB_TEXTS(installed_app_id, lists_key), DB_INTS(now_ms), &changes);
    return rc ? rc : changes == 1;
}
