/*
 * results.c — the KYC results store (see results.h for the state machine and the outbox).
 *
 * Design. Rows are written in batches by the pipeline's coordinator (one transaction per batch
 * of screened identities, so one fsync per few hundred rows) and completed in batches by the
 * writer threads (one transaction per batch of Cloud answers). The intent an alert needs is
 * durable before its create call is made ('creating' is committed in the batch that stored the
 * result), so a crash can leave an alert 'uncertain' but never create it twice.
 *
 * The payload written to Cloud is built here, from the stored columns, so a decision rebuilds
 * exactly what a screening would have written.
 */
#include "kyc/results.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/clock.h"
#include "capp/crypto.h"
#include "capp/db.h"
#include "capp/err.h"
#include "capp/log.h"

static const struct db_migration migrations[] = {
    {1, "CREATE TABLE kyc_identities ("
        " installed_app_id TEXT NOT NULL,"
        " identity_id TEXT NOT NULL,"
        " fields_hash TEXT NOT NULL,"
        " lists_key TEXT NOT NULL DEFAULT '',"
        " display_name TEXT NOT NULL DEFAULT '',"
        " identity_type TEXT NOT NULL DEFAULT '',"
        " name_tokens TEXT NOT NULL DEFAULT '',"
        " status TEXT NOT NULL,"
        " computed_status TEXT NOT NULL,"
        " risk TEXT NOT NULL,"
        " score REAL NOT NULL DEFAULT 0,"
        " reasons TEXT NOT NULL DEFAULT '[]',"
        " detail TEXT NOT NULL DEFAULT '{}',"
        " lists TEXT NOT NULL DEFAULT '{}',"
        " engine_version TEXT NOT NULL DEFAULT '',"
        " basis TEXT NOT NULL DEFAULT '',"
        " check_id TEXT NOT NULL,"
        " screened_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL,"
        " decided_by TEXT,"
        " decided_at INTEGER,"
        " payload TEXT,"
        " payload_hash TEXT,"
        " writeback_state TEXT NOT NULL DEFAULT 'none',"
        " writeback_hash TEXT,"
        " writeback_error TEXT,"
        " alert_state TEXT NOT NULL DEFAULT 'none',"
        " anomaly_id TEXT,"
        " alert_title TEXT,"
        " alert_text TEXT,"
        " alert_error TEXT,"
        " PRIMARY KEY (installed_app_id, identity_id));"
        "CREATE INDEX kyc_identities_status ON kyc_identities(installed_app_id, status, score);"
        "CREATE INDEX kyc_identities_score ON kyc_identities(installed_app_id, score);"
        "CREATE INDEX kyc_identities_wb ON kyc_identities(installed_app_id, writeback_state);"
        "CREATE INDEX kyc_identities_alert ON kyc_identities(installed_app_id, alert_state);"
        "CREATE INDEX kyc_identities_lists ON kyc_identities(installed_app_id, lists_key);"
        "CREATE TABLE kyc_runs ("
        " run_id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " installed_app_id TEXT NOT NULL,"
        " trigger TEXT NOT NULL,"
        " state TEXT NOT NULL,"
        " started_at INTEGER NOT NULL,"
        " finished_at INTEGER,"
        " fetched INTEGER NOT NULL DEFAULT 0, screened INTEGER NOT NULL DEFAULT 0,"
        " unchanged INTEGER NOT NULL DEFAULT 0, written INTEGER NOT NULL DEFAULT 0,"
        " alerts_created INTEGER NOT NULL DEFAULT 0, alerts_resolved INTEGER NOT NULL DEFAULT 0,"
        " errors INTEGER NOT NULL DEFAULT 0, rate_limited INTEGER NOT NULL DEFAULT 0,"
        " fetch_ms INTEGER NOT NULL DEFAULT 0, screen_ms INTEGER NOT NULL DEFAULT 0,"
        " write_ms INTEGER NOT NULL DEFAULT 0,"
        " message TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX kyc_runs_install ON kyc_runs(installed_app_id, run_id);"
        "CREATE TABLE kyc_list_entries ("
        " entry_id TEXT PRIMARY KEY, hash TEXT NOT NULL, tokens TEXT NOT NULL);"
        "CREATE TABLE kyc_list_generations ("
        " lists_key TEXT PRIMARY KEY, previous_key TEXT NOT NULL, changed_tokens TEXT NOT NULL,"
        " created_at INTEGER NOT NULL);"},
    {2, "CREATE TABLE kyc_list_loads ("
        " installed_app_id TEXT NOT NULL, lists_key TEXT NOT NULL, loaded_at INTEGER NOT NULL,"
        " PRIMARY KEY (installed_app_id, lists_key));"},
    /* the identity's own fields for the reviewer (results_identity_fields): PII, never logged */
    {3, "ALTER TABLE kyc_identities ADD COLUMN identity_fields TEXT NOT NULL DEFAULT '{}';"},
    /* when a complete walk no longer listed the identity and Blnk answered 404 for it: the row
     * is kept for the record (results_mark_removed); NULL while it exists */
    {4, "ALTER TABLE kyc_identities ADD COLUMN removed_at INTEGER;"},
};

/* ---- connections ---- */

struct conn {
    struct conn *next;
    sqlite3 *db;
};

struct results_store {
    char *path;
    pthread_key_t key;
    pthread_mutex_t lock;
    struct conn *conns;
};

static void conn_release(void *p)
{
    (void)p; /* connections are closed with the store; a thread exit just forgets its slot */
}

int results_store_open(const char *path, struct results_store **out)
{
    *out = NULL;
    struct results_store *rs = calloc(1, sizeof *rs);
    if (!rs || !(rs->path = strdup(path))) {
        free(rs);
        return CAPP_ENOMEM;
    }
    pthread_mutex_init(&rs->lock, NULL);
    pthread_key_create(&rs->key, conn_release);
    sqlite3 *db = results_conn(rs);
    if (!db) {
        results_store_close(rs);
        return CAPP_EDB;
    }
    int rc = db_migrate(db, "kyc", migrations, sizeof migrations / sizeof migrations[0]);
    if (rc) {
        results_store_close(rs);
        return rc;
    }
    *out = rs;
    return 0;
}

void results_store_close(struct results_store *rs)
{
    if (!rs)
        return;
    struct conn *c = rs->conns;
    while (c) {
        struct conn *next = c->next;
        db_close(c->db);
        free(c);
        c = next;
    }
    pthread_key_delete(rs->key);
    pthread_mutex_destroy(&rs->lock);
    free(rs->path);
    free(rs);
}

int results_tune(sqlite3 *db)
{
    /* A run rewrites rows spread over the whole table (random identity ids) and appends to the
     * audit chain: 32 MB of page cache keeps the touched pages from being read back; a 40 MB
     * WAL lets a page changed by several batches reach the database file once per checkpoint
     * instead of once per 4 MB; the statement journals the audit triggers need stay in
     * memory instead of going through a temporary file. */
    return db_exec(db, "PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=10000;"
                       " PRAGMA temp_store=MEMORY;");
}

sqlite3 *results_conn(struct results_store *rs)
{
    struct conn *c = pthread_getspecific(rs->key);
    if (c)
        return c->db;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (db_open(rs->path, 0, &c->db) != 0 || results_tune(c->db) != 0) {
        db_close(c->db);
        log_error("kyc.results.open_failed", NULL);
        free(c);
        return NULL;
    }
    pthread_mutex_lock(&rs->lock);
    c->next = rs->conns;
    rs->conns = c;
    pthread_mutex_unlock(&rs->lock);
    pthread_setspecific(rs->key, c);
    return c->db;
}

/* ---- vocabulary ---- */

static const char *const statuses[] = {RESULTS_CLEAR,    RESULTS_NEEDS_REVIEW, RESULTS_HIT,
                                       RESULTS_APPROVED, RESULTS_REJECTED,     RESULTS_ERROR};

int results_status_valid(const char *s)
{
    for (size_t i = 0; s && i < sizeof statuses / sizeof statuses[0]; i++)
        if (strcmp(s, statuses[i]) == 0)
            return 1;
    return 0;
}

const char *results_kyc_status(const char *status)
{
    if (strcmp(status, RESULTS_CLEAR) == 0 || strcmp(status, RESULTS_APPROVED) == 0)
        return "verified";
    return status;
}

static int needs_alert(const char *status)
{
    return strcmp(status, RESULTS_NEEDS_REVIEW) == 0 || strcmp(status, RESULTS_HIT) == 0;
}

static int is_decided(const char *status)
{
    return strcmp(status, RESULTS_APPROVED) == 0 || strcmp(status, RESULTS_REJECTED) == 0;
}

static int reason_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return 0;
    return 1;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? t : "";
}

static json_t *parse_or(const char *text, json_t *fallback)
{
    json_t *v = text && *text ? json_loads(text, 0, NULL) : NULL;
    if (!v)
        return fallback;
    json_decref(fallback);
    return v;
}

json_t *results_column_time(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_null();
    char ts[40];
    clock_format_rfc3339(sqlite3_column_int64(st, i), ts, sizeof ts);
    return json_string(ts);
}

/* ---- payload (the whole meta_data.<key> object, D19) ---- */

static char *build_payload(const char *status, const char *risk, double score,
                           const char *reasons_json, const char *check_id, int64_t checked_at,
                           const char *lists_json, const char *engine_version, int64_t decided_at)
{
    char ts[40], dts[40];
    clock_format_rfc3339(checked_at, ts, sizeof ts);
    json_t *o = json_pack("{s:s, s:s, s:s, s:f, s:o, s:s, s:s, s:o, s:s}", "kyc_status",
                          results_kyc_status(status), "status", status, "risk", risk, "score",
                          score, "reasons", parse_or(reasons_json, json_array()), "check_id",
                          check_id, "checked_at", ts, "lists", parse_or(lists_json, json_object()),
                          "engine_version", engine_version);
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

int results_snapshot_each(sqlite3 *db, const char *installed_app_id,
                          int (*fn)(void *ctx, const char *identity_id,
                                    const struct results_snapshot_entry *e, const char *tokens),
                          void *ctx)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT identity_id, fields_hash, lists_key, name_tokens,"
                        " removed_at IS NOT NULL FROM kyc_identities WHERE installed_app_id = ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    struct results_snapshot_entry e;
    while ((rc = db_step_row(st)) == 1) {
        db_column_copy(st, 1, e.fields_hash, sizeof e.fields_hash);
        db_column_copy(st, 2, e.lists_key, sizeof e.lists_key);
        e.removed = sqlite3_column_int(st, 4);
        if ((rc = fn(ctx, col_text(st, 0), &e, col_text(st, 3))) != 0)
            break;
    }
    sqlite3_finalize(st);
    return rc < 0 ? rc : 0;
}

int results_store_rows(sqlite3 *db, const char *installed_app_id, const struct results_row *rows,
                       size_t n, const struct results_write_options *o,
                       struct results_outbox_item **items, size_t *n_items)
{
    sqlite3_stmt *get = NULL, *put = NULL;
    int rc = db_prepare(db,
                        "SELECT status, basis, alert_state, anomaly_id, decided_at"
                        " FROM kyc_identities WHERE installed_app_id = ? AND identity_id = ?",
                        &get);
    if (rc == 0)
        rc = db_prepare(
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
            " updated_at=?18, decided_by=CASE WHEN ?24 THEN decided_by END,"
            " decided_at=CASE WHEN ?24 THEN decided_at END, payload=?19, payload_hash=?20,"
            " writeback_state='pending', writeback_error=NULL, alert_state=?21,"
            " alert_title=?22, alert_text=?23, identity_fields=?25, removed_at=NULL",
            &put);
    int own = sqlite3_get_autocommit(db); /* else: the caller's transaction */
    if (rc == 0 && own)
        rc = db_begin_immediate(db);
    if (rc) {
        sqlite3_finalize(get);
        sqlite3_finalize(put);
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct results_row *r = &rows[i];
        char old_status[RESULTS_STATUS_CAP] = "", old_basis[RESULTS_HASH_CAP] = "";
        char alert_state[16] = "none", anomaly_id[STORE_ID_CAP] = "";
        int64_t decided_at = 0;
        int exists = 0;
        sqlite3_reset(get);
        db_bind_text(get, 1, installed_app_id);
        db_bind_text(get, 2, r->identity_id);
        int found = db_step_row(get);
        if (found < 0) {
            rc = found;
            break;
        }
        if (found == 1) {
            exists = 1;
            db_column_copy(get, 0, old_status, sizeof old_status);
            db_column_copy(get, 1, old_basis, sizeof old_basis);
            db_column_copy(get, 2, alert_state, sizeof alert_state);
            db_column_copy(get, 3, anomaly_id, sizeof anomaly_id);
            decided_at = sqlite3_column_int64(get, 4);
        }
        /* a decision stays while the basis it was made on stays */
        int keep_decision = exists && is_decided(old_status) && strcmp(old_basis, r->basis) == 0;
        const char *status = keep_decision ? old_status : r->status;
        int want_create = 0, want_resolve = 0;
        const char *new_alert = alert_state;
        if (needs_alert(status)) {
            if (strcmp(alert_state, "none") == 0 || strcmp(alert_state, "resolved") == 0 ||
                strcmp(alert_state, "failed") == 0 || strcmp(alert_state, "wanted") == 0) {
                new_alert = o->can_alert ? "creating" : "wanted";
                want_create = o->can_alert;
            }
        } else if (strcmp(alert_state, "open") == 0 && !keep_decision) {
            new_alert = "resolving";
            want_resolve = 1;
        } else if (strcmp(alert_state, "wanted") == 0) {
            new_alert = "none";
        }
        char check_id[4 + 33] = "chk_";
        uint8_t raw[16];
        if (crypto_random(raw, sizeof raw) != 0) {
            rc = CAPP_ECRYPTO;
            break;
        }
        crypto_hex_encode(raw, sizeof raw, check_id + 4);
        char *payload =
            build_payload(status, r->risk, r->score, r->reasons_json, check_id, o->now_ms,
                          r->lists_json, r->engine_version, keep_decision ? decided_at : 0);
        if (!payload) {
            rc = CAPP_ENOMEM;
            break;
        }
        char payload_hash[CRYPTO_SHA256_HEX_BYTES];
        crypto_sha256_hex(payload, strlen(payload), payload_hash);
        sqlite3_reset(put);
        sqlite3_clear_bindings(put);
        db_bind_text(put, 1, installed_app_id);
        db_bind_text(put, 2, r->identity_id);
        db_bind_text(put, 3, r->fields_hash);
        db_bind_text(put, 4, r->lists_key ? r->lists_key : "");
        db_bind_text(put, 5, r->display_name ? r->display_name : "");
        db_bind_text(put, 6, r->identity_type ? r->identity_type : "");
        db_bind_text(put, 7, r->name_tokens ? r->name_tokens : "");
        db_bind_text(put, 8, status);
        db_bind_text(put, 9, r->status);
        db_bind_text(put, 10, r->risk);
        sqlite3_bind_double(put, 11, r->score);
        db_bind_text(put, 12, r->reasons_json);
        db_bind_text(put, 13, r->detail_json);
        db_bind_text(put, 14, r->lists_json);
        db_bind_text(put, 15, r->engine_version);
        db_bind_text(put, 16, r->basis);
        db_bind_text(put, 17, check_id);
        db_bind_int64(put, 18, o->now_ms);
        db_bind_text(put, 19, payload);
        db_bind_text(put, 20, payload_hash);
        db_bind_text(put, 21, new_alert);
        db_bind_text(put, 22, r->alert_title);
        db_bind_text(put, 23, r->alert_text);
        db_bind_int64(put, 24, keep_decision);
        db_bind_text(put, 25, r->identity_json && *r->identity_json ? r->identity_json : "{}");
        rc = db_step_done(put);
        if (rc) {
            free(payload);
            break;
        }
        struct results_outbox_item *it = item_push(items, n_items);
        if (!it) {
            free(payload);
            rc = CAPP_ENOMEM;
            break;
        }
        snprintf(it->identity_id, sizeof it->identity_id, "%s", r->identity_id);
        it->writeback = 1;
        it->payload = payload;
        it->alert_create = want_create;
        it->alert_resolve = want_resolve;
        if (want_create) {
            it->alert_title = dup_or_null(r->alert_title);
            it->alert_text = dup_or_null(r->alert_text);
        }
        snprintf(it->anomaly_id, sizeof it->anomaly_id, "%s", anomaly_id);
        snprintf(it->status_to, sizeof it->status_to, "%s", status);
        snprintf(it->check_id, sizeof it->check_id, "%s", check_id);
        if (exists && strcmp(old_status, status) != 0)
            snprintf(it->status_from, sizeof it->status_from, "%s", old_status);
    }
    sqlite3_finalize(get);
    sqlite3_finalize(put);
    if (own && rc == 0)
        rc = db_commit(db);
    if (own && rc)
        db_rollback(db);
    return rc;
}

int results_outbox_load(sqlite3 *db, const char *installed_app_id, int can_write, int can_alert,
                        struct results_outbox_item **items, size_t *n_items)
{
    int rc = db_begin_immediate(db);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    const char *const install[] = {installed_app_id};
    rc = db_run(db,
                "UPDATE kyc_identities SET alert_state = 'uncertain'"
                " WHERE installed_app_id = ?1 AND alert_state = 'creating'",
                install, 1, NULL, 0, NULL);
    if (rc == 0 && can_alert)
        rc = db_run(db,
                    "UPDATE kyc_identities SET alert_state = 'creating'"
                    " WHERE installed_app_id = ?1 AND alert_state = 'wanted'",
                    install, 1, NULL, 0, NULL);
    if (rc == 0)
        rc = db_prepare(db,
                        "SELECT identity_id,"
                        " writeback_state = 'pending' AND ?2 AND removed_at IS NULL, payload,"
                        " alert_state, anomaly_id, alert_title, alert_text FROM kyc_identities"
                        " WHERE installed_app_id = ?1 AND ((?2 AND writeback_state = 'pending'"
                        " AND removed_at IS NULL) OR alert_state IN ('creating', 'resolving'))",
                        &st);
    if (rc == 0) {
        db_bind_text(st, 1, installed_app_id);
        db_bind_int64(st, 2, can_write);
        int step;
        while ((step = db_step_row(st)) == 1) {
            struct results_outbox_item *it = item_push(items, n_items);
            if (!it) {
                rc = CAPP_ENOMEM;
                break;
            }
            db_column_copy(st, 0, it->identity_id, sizeof it->identity_id);
            it->writeback = sqlite3_column_int(st, 1);
            if (it->writeback)
                it->payload = dup_or_null(col_text(st, 2));
            const char *state = col_text(st, 3);
            it->alert_create = strcmp(state, "creating") == 0;
            it->alert_resolve = strcmp(state, "resolving") == 0;
            db_column_copy(st, 4, it->anomaly_id, sizeof it->anomaly_id);
            if (it->alert_create) {
                it->alert_title = dup_or_null(col_text(st, 5));
                it->alert_text = dup_or_null(col_text(st, 6));
            }
            if (it->writeback && !it->payload)
                it->writeback = 0;
        }
        if (step < 0)
            rc = step;
        sqlite3_finalize(st);
    }
    if (rc == 0)
        rc = db_commit(db);
    if (rc)
        db_rollback(db);
    return rc;
}

int results_apply_done(sqlite3 *db, const char *installed_app_id, const struct results_done *d,
                       size_t n)
{
    static const char *const sql[] = {
        [RESULTS_DONE_WRITTEN] = "UPDATE kyc_identities SET writeback_state = 'done',"
                                 " writeback_hash = ?3, writeback_error = NULL"
                                 " WHERE installed_app_id = ?1 AND identity_id = ?2"
                                 " AND payload_hash = ?3",
        [RESULTS_DONE_WRITE_FAILED] = "UPDATE kyc_identities SET writeback_state = 'failed',"
                                      " writeback_error = ?3"
                                      " WHERE installed_app_id = ?1 AND identity_id = ?2"
                                      " AND writeback_state = 'pending'",
        [RESULTS_DONE_ALERT_CREATED] = "UPDATE kyc_identities SET alert_state = CASE"
                                       " WHEN alert_state = 'resolving' THEN 'resolving'"
                                       " ELSE 'open' END, anomaly_id = ?3, alert_error = NULL"
                                       " WHERE installed_app_id = ?1 AND identity_id = ?2",
        [RESULTS_DONE_ALERT_UNCERTAIN] = "UPDATE kyc_identities SET alert_state = 'uncertain',"
                                         " alert_error = ?3"
                                         " WHERE installed_app_id = ?1 AND identity_id = ?2"
                                         " AND alert_state = 'creating'",
        [RESULTS_DONE_ALERT_FAILED] = "UPDATE kyc_identities SET alert_state = 'failed',"
                                      " alert_error = ?3"
                                      " WHERE installed_app_id = ?1 AND identity_id = ?2"
                                      " AND alert_state IN ('creating', 'resolving')",
        [RESULTS_DONE_ALERT_WANTED] = "UPDATE kyc_identities SET alert_state = 'wanted',"
                                      " alert_error = ?3"
                                      " WHERE installed_app_id = ?1 AND identity_id = ?2"
                                      " AND alert_state = 'creating'",
        [RESULTS_DONE_ALERT_RESOLVED] = "UPDATE kyc_identities SET alert_state = 'resolved'"
                                        " WHERE installed_app_id = ?1 AND identity_id = ?2"
                                        " AND alert_state = 'resolving' AND anomaly_id = ?3",
    };
    enum { KINDS = sizeof sql / sizeof sql[0] };
    sqlite3_stmt *st[KINDS] = {0};
    int own = sqlite3_get_autocommit(db); /* else: the caller's transaction */
    int rc = own ? db_begin_immediate(db) : 0;
    if (rc)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned k = (unsigned)d[i].kind;
        if (k >= KINDS) {
            rc = CAPP_EINVAL;
            break;
        }
        if (!st[k] && (rc = db_prepare(db, sql[k], &st[k])) != 0)
            break;
        sqlite3_reset(st[k]);
        db_bind_text(st[k], 1, installed_app_id);
        db_bind_text(st[k], 2, d[i].identity_id);
        db_bind_text(st[k], 3, d[i].value);
        rc = db_step_done(st[k]);
    }
    for (int k = 0; k < KINDS; k++)
        sqlite3_finalize(st[k]);
    if (own && rc == 0)
        rc = db_commit(db);
    if (own && rc)
        db_rollback(db);
    return rc;
}

int results_forget_snapshot(sqlite3 *db, const char *installed_app_id, const char *identity_id)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "UPDATE kyc_identities SET fields_hash = ''"
                        " WHERE installed_app_id = ? AND identity_id = ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_text(st, 2, identity_id);
    rc = db_step_done(st);
    sqlite3_finalize(st);
    if (rc == 0 && sqlite3_changes(db) != 1)
        rc = CAPP_ENOTFOUND;
    return rc;
}

int results_uncertain_alerts(sqlite3 *db, const char *installed_app_id, char (*out)[STORE_ID_CAP],
                             size_t cap, size_t *n)
{
    *n = 0;
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ?"
                        " AND alert_state = 'uncertain' LIMIT ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_int64(st, 2, (int64_t)cap);
    while ((rc = db_step_row(st)) == 1)
        db_column_copy(st, 0, out[(*n)++], STORE_ID_CAP);
    sqlite3_finalize(st);
    return rc < 0 ? rc : 0;
}

int results_alert_adopt(sqlite3 *db, const char *installed_app_id, const char *identity_id,
                        const char *anomaly_id)
{
    const char *const texts[] = {installed_app_id, identity_id, anomaly_id};
    return db_run(db,
                  "UPDATE kyc_identities SET alert_state = 'open', anomaly_id = ?3"
                  " WHERE installed_app_id = ?1 AND identity_id = ?2"
                  " AND alert_state = 'uncertain'",
                  texts, 3, NULL, 0, NULL);
}

int results_alerts_not_found(sqlite3 *db, const char *installed_app_id,
                             const char (*ids)[STORE_ID_CAP], size_t n)
{
    if (n == 0)
        return 0;
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "UPDATE kyc_identities SET alert_state = 'wanted'"
                        " WHERE installed_app_id = ?1 AND identity_id = ?2"
                        " AND alert_state = 'uncertain'",
                        &st);
    for (size_t i = 0; st && i < n; i++) {
        sqlite3_reset(st);
        db_bind_text(st, 1, installed_app_id);
        db_bind_text(st, 2, ids[i]);
        int step = db_step_done(st); /* one row's failure does not keep the others 'uncertain' */
        if (step && !rc)
            rc = step;
    }
    sqlite3_finalize(st);
    return rc;
}

int results_advance_lists_key(sqlite3 *db, const char *installed_app_id, const char *from,
                              const char *to)
{
    const char *const texts[] = {installed_app_id, from, to};
    return db_run(db,
                  "UPDATE kyc_identities SET lists_key = ?3"
                  " WHERE installed_app_id = ?1 AND lists_key = ?2",
                  texts, 3, NULL, 0, NULL);
}

int results_mark_removed(sqlite3 *db, const char *installed_app_id, const char *identity_id,
                         int64_t now_ms, char *status_out, size_t status_cap,
                         struct results_outbox_item *item)
{
    memset(item, 0, sizeof *item);
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
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
    db_bind_text(st, 1, installed_app_id);
    db_bind_text(st, 2, identity_id);
    db_bind_int64(st, 3, now_ms);
    rc = db_step_row(st);
    if (rc == 1) {
        db_column_copy(st, 0, status_out, status_cap);
        snprintf(item->identity_id, sizeof item->identity_id, "%s", identity_id);
        item->alert_resolve = strcmp(col_text(st, 1), "resolving") == 0;
        db_column_copy(st, 2, item->anomaly_id, sizeof item->anomaly_id);
        rc = 0;
    } else if (rc == 0) {
        rc = CAPP_ENOTFOUND;
    }
    sqlite3_finalize(st);
    return rc;
}

int results_apply_decision(sqlite3 *db, const char *installed_app_id, const char *identity_id,
                           const char *status, const char *user_id, int can_alert, int64_t now_ms,
                           struct results_outbox_item *item)
{
    memset(item, 0, sizeof *item);
    if (!status || (!is_decided(status) && strcmp(status, RESULTS_NEEDS_REVIEW) != 0))
        return CAPP_EINVAL;
    int rc = db_begin_immediate(db);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    rc = db_prepare(db,
                    "SELECT risk, score, reasons, lists, engine_version, alert_state, anomaly_id,"
                    " check_id, screened_at FROM kyc_identities"
                    " WHERE installed_app_id = ? AND identity_id = ?",
                    &st);
    char *payload = NULL;
    char alert_state[16] = "", anomaly_id[STORE_ID_CAP] = "";
    if (rc == 0) {
        db_bind_text(st, 1, installed_app_id);
        db_bind_text(st, 2, identity_id);
        rc = db_step_row(st);
        if (rc == 0)
            rc = CAPP_ENOTFOUND;
        if (rc == 1) {
            rc = 0;
            db_column_copy(st, 5, alert_state, sizeof alert_state);
            db_column_copy(st, 6, anomaly_id, sizeof anomaly_id);
            payload =
                build_payload(status, col_text(st, 0), sqlite3_column_double(st, 1),
                              col_text(st, 2), col_text(st, 7), sqlite3_column_int64(st, 8),
                              col_text(st, 3), col_text(st, 4), is_decided(status) ? now_ms : 0);
            if (!payload)
                rc = CAPP_ENOMEM;
        }
        sqlite3_finalize(st);
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
        rc = db_prepare(db,
                        "UPDATE kyc_identities SET status = ?3, decided_by = ?4, decided_at = ?5,"
                        " updated_at = ?5, payload = ?6, payload_hash = ?7,"
                        " writeback_state = CASE WHEN removed_at IS NULL THEN 'pending'"
                        " ELSE writeback_state END, alert_state = ?8,"
                        " alert_title = CASE WHEN ?9 THEN 'KYC: identity reopened for review'"
                        " ELSE alert_title END,"
                        " alert_text = CASE WHEN ?9 THEN 'A reviewer reopened this identity in"
                        " the KYC app.' ELSE alert_text END"
                        " WHERE installed_app_id = ?1 AND identity_id = ?2",
                        &st);
        if (rc == 0) {
            db_bind_text(st, 1, installed_app_id);
            db_bind_text(st, 2, identity_id);
            db_bind_text(st, 3, status);
            db_bind_text(st, 4, user_id && *user_id ? user_id : NULL);
            db_bind_int64(st, 5, now_ms);
            db_bind_text(st, 6, payload);
            db_bind_text(st, 7, payload_hash);
            db_bind_text(st, 8, new_alert);
            db_bind_int64(st, 9, item->alert_create);
            rc = db_step_done(st);
            sqlite3_finalize(st);
        }
    }
    if (rc == 0)
        rc = db_commit(db);
    if (rc) {
        db_rollback(db);
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

int results_run_begin(sqlite3 *db, const char *installed_app_id, const char *trigger,
                      int64_t now_ms, int64_t *run_id)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "INSERT INTO kyc_runs (installed_app_id, trigger, state, started_at)"
                        " VALUES (?, ?, 'running', ?)",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_text(st, 2, trigger);
    db_bind_int64(st, 3, now_ms);
    rc = db_step_done(st);
    sqlite3_finalize(st);
    if (rc == 0)
        *run_id = sqlite3_last_insert_rowid(db);
    return rc;
}

int results_run_update(sqlite3 *db, const char *installed_app_id, const struct results_run *run)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "UPDATE kyc_runs SET state=?3, finished_at=?4, fetched=?5, screened=?6,"
                        " unchanged=?7, written=?8, alerts_created=?9, alerts_resolved=?10,"
                        " errors=?11, rate_limited=?12, fetch_ms=?13, screen_ms=?14, write_ms=?15,"
                        " message=?16 WHERE installed_app_id=?1 AND run_id=?2",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_int64(st, 2, run->run_id);
    db_bind_text(st, 3, run->state);
    if (run->finished_at_ms)
        db_bind_int64(st, 4, run->finished_at_ms);
    long long v[] = {run->fetched,        run->screened,        run->unchanged, run->written,
                     run->alerts_created, run->alerts_resolved, run->errors,    run->rate_limited,
                     run->fetch_ms,       run->screen_ms,       run->write_ms};
    for (int i = 0; i < 11; i++)
        db_bind_int64(st, 5 + i, v[i]);
    db_bind_text(st, 16, run->message);
    rc = db_step_done(st);
    sqlite3_finalize(st);
    return rc;
}

static json_t *ts_or_null(int64_t ms)
{
    if (!ms)
        return json_null();
    char ts[40];
    clock_format_rfc3339(ms, ts, sizeof ts);
    return json_string(ts);
}

json_t *results_run_json(const struct results_run *r)
{
    return json_pack("{s:I, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
                     " s:I, s:s}",
                     "run_id", (json_int_t)r->run_id, "trigger", r->trigger, "state", r->state,
                     "started_at", ts_or_null(r->started_at_ms), "finished_at",
                     ts_or_null(r->finished_at_ms), "fetched", (json_int_t)r->fetched, "screened",
                     (json_int_t)r->screened, "unchanged", (json_int_t)r->unchanged, "written",
                     (json_int_t)r->written, "alerts_created", (json_int_t)r->alerts_created,
                     "alerts_resolved", (json_int_t)r->alerts_resolved, "errors",
                     (json_int_t)r->errors, "rate_limited", (json_int_t)r->rate_limited, "fetch_ms",
                     (json_int_t)r->fetch_ms, "screen_ms", (json_int_t)r->screen_ms, "write_ms",
                     (json_int_t)r->write_ms, "message", r->message);
}

int results_runs(sqlite3 *db, const char *installed_app_id, int limit, json_t **out)
{
    *out = NULL;
    if (limit <= 0 || limit > 100)
        limit = 20;
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT run_id, trigger, state, started_at, coalesce(finished_at, 0),"
                        " fetched, screened, unchanged, written, alerts_created, alerts_resolved,"
                        " errors, rate_limited, fetch_ms, screen_ms, write_ms, message"
                        " FROM kyc_runs WHERE installed_app_id = ? ORDER BY run_id DESC LIMIT ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_int64(st, 2, limit);
    json_t *arr = json_array();
    while ((rc = db_step_row(st)) == 1) {
        struct results_run r;
        memset(&r, 0, sizeof r);
        r.run_id = sqlite3_column_int64(st, 0);
        db_column_copy(st, 1, r.trigger, sizeof r.trigger);
        db_column_copy(st, 2, r.state, sizeof r.state);
        r.started_at_ms = sqlite3_column_int64(st, 3);
        r.finished_at_ms = sqlite3_column_int64(st, 4);
        long long *v[] = {&r.fetched,        &r.screened,        &r.unchanged, &r.written,
                          &r.alerts_created, &r.alerts_resolved, &r.errors,    &r.rate_limited,
                          &r.fetch_ms,       &r.screen_ms,       &r.write_ms};
        for (int i = 0; i < 11; i++)
            *v[i] = sqlite3_column_int64(st, 5 + i);
        db_column_copy(st, 16, r.message, sizeof r.message);
        json_array_append_new(arr, results_run_json(&r));
    }
    sqlite3_finalize(st);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

/* ---- the portal's reads ---- */

static json_t *row_summary(sqlite3_stmt *st)
{
    /* columns: 0 identity_id 1 display_name 2 identity_type 3 status 4 risk 5 score 6 reasons
     * 7 screened_at 8 updated_at 9 writeback_state 10 alert_state */
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:o, s:o, s:o, s:s, s:s}", "identity_id",
                     col_text(st, 0), "name", col_text(st, 1), "identity_type", col_text(st, 2),
                     "status", col_text(st, 3), "risk", col_text(st, 4), "score",
                     sqlite3_column_double(st, 5), "reasons",
                     parse_or(col_text(st, 6), json_array()), "screened_at",
                     results_column_time(st, 7), "updated_at", results_column_time(st, 8),
                     "writeback", col_text(st, 9), "alert", col_text(st, 10));
}

#define SUMMARY_COLUMNS                                                                    \
    "identity_id, display_name, identity_type, status, risk, score, reasons, screened_at," \
    " updated_at, writeback_state, alert_state"

int results_list(sqlite3 *db, const char *installed_app_id, const struct results_filter *f,
                 json_t **out, const char **why)
{
    *out = NULL;
    *why = NULL;
    struct results_filter none = {0};
    if (!f)
        f = &none;
    const char *status = f->status && *f->status ? f->status : NULL;
    const char *risk = f->risk && *f->risk ? f->risk : NULL;
    const char *reason = f->reason && *f->reason ? f->reason : NULL;
    const char *name = f->name && *f->name ? f->name : NULL;
    if (status && !results_status_valid(status))
        return *why = "status must be clear, needs_review, hit, approved, rejected or error",
               CAPP_EINVAL;
    if (risk && strcmp(risk, "low") && strcmp(risk, "medium") && strcmp(risk, "high"))
        return *why = "risk must be low, medium or high", CAPP_EINVAL;
    if (reason && !reason_valid(reason))
        return *why = "reason must be a reason code ([a-z_], at most 32)", CAPP_EINVAL;
    if (name && strlen(name) > RESULTS_NAME_SEARCH_MAX)
        return *why = "name search is longer than 128 bytes", CAPP_EINVAL;
    const char *order = "score";
    int desc = 1;
    if (f->sort && *f->sort) {
        if (strcmp(f->sort, "score") == 0)
            order = "score";
        else if (strcmp(f->sort, "updated") == 0)
            order = "updated_at";
        else if (strcmp(f->sort, "name") == 0)
            order = "display_name", desc = 0;
        else if (strcmp(f->sort, "status") == 0)
            order = "status", desc = 0;
        else
            return *why = "sort must be score, updated, name or status", CAPP_EINVAL;
    }
    if (f->order && *f->order) {
        if (strcmp(f->order, "asc") == 0)
            desc = 0;
        else if (strcmp(f->order, "desc") == 0)
            desc = 1;
        else
            return *why = "order must be asc or desc", CAPP_EINVAL;
    }
    if (f->page_size < 0 || f->page_size > RESULTS_PAGE_SIZE_MAX)
        return *why = "page_size must be 1..200", CAPP_EINVAL;
    if (f->page < 0 || f->page > 1000000)
        return *why = "page must be 1..1000000", CAPP_EINVAL;
    int page_size = f->page_size ? f->page_size : 50;
    int page = f->page ? f->page : 1;
    /* name search as a LIKE pattern with its own escapes */
    char pattern[RESULTS_NAME_SEARCH_MAX * 2 + 3] = "";
    if (name) {
        size_t j = 0;
        pattern[j++] = '%';
        for (const char *p = name; *p; p++) {
            if (*p == '%' || *p == '_' || *p == '\\')
                pattern[j++] = '\\';
            pattern[j++] = *p;
        }
        pattern[j++] = '%';
        pattern[j] = 0;
    }
    char reason_pattern[40] = "";
    if (reason)
        snprintf(reason_pattern, sizeof reason_pattern, "%%\"%s\"%%", reason);
    static const char where[] = " WHERE installed_app_id = ?1 AND removed_at IS NULL"
                                " AND (?2 IS NULL OR status = ?2)"
                                " AND (?3 IS NULL OR risk = ?3) AND (?4 IS NULL OR reasons LIKE ?4)"
                                " AND (?5 IS NULL OR display_name LIKE ?5 ESCAPE '\\')";
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT " SUMMARY_COLUMNS " FROM kyc_identities%s ORDER BY %s %s, identity_id"
             " LIMIT ?6 OFFSET ?7",
             where, order, desc ? "DESC" : "ASC");
    char count_sql[512];
    snprintf(count_sql, sizeof count_sql, "SELECT count(*) FROM kyc_identities%s", where);
    sqlite3_stmt *st = NULL, *cnt = NULL;
    int rc = db_prepare(db, sql, &st);
    if (rc == 0)
        rc = db_prepare(db, count_sql, &cnt);
    if (rc) {
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_stmt *both[2] = {st, cnt};
    for (int i = 0; i < 2; i++) {
        db_bind_text(both[i], 1, installed_app_id);
        db_bind_text(both[i], 2, status);
        db_bind_text(both[i], 3, risk);
        db_bind_text(both[i], 4, reason ? reason_pattern : NULL);
        db_bind_text(both[i], 5, name ? pattern : NULL);
    }
    db_bind_int64(st, 6, page_size);
    db_bind_int64(st, 7, (int64_t)(page - 1) * page_size);
    json_t *items = json_array();
    while ((rc = db_step_row(st)) == 1)
        json_array_append_new(items, row_summary(st));
    long long total = 0;
    if (rc == 0 && (rc = db_step_row(cnt)) == 1) {
        total = sqlite3_column_int64(cnt, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    sqlite3_finalize(cnt);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    *out = json_pack("{s:o, s:I, s:i, s:i}", "items", items, "total", (json_int_t)total, "page",
                     page, "page_size", page_size);
    return *out ? 0 : CAPP_ENOMEM;
}

int results_get(sqlite3 *db, const char *installed_app_id, const char *identity_id, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT " SUMMARY_COLUMNS ", computed_status, detail, lists,"
                        " engine_version, check_id, decided_by, decided_at, anomaly_id,"
                        " writeback_error, alert_error, identity_fields, removed_at"
                        " FROM kyc_identities WHERE installed_app_id = ? AND identity_id = ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_text(st, 2, identity_id);
    rc = db_step_row(st);
    if (rc == 1) {
        json_t *o = row_summary(st);
        json_t *detail = parse_or(col_text(st, 12), json_object());
        json_t *matches = json_object_get(detail, "matches");
        json_t *findings = json_object_get(detail, "findings");
        json_t *suppressed = json_object_get(detail, "suppressed");
        /* borrowed from detail (kept alive by the incref) or a fresh empty array */
        json_object_set_new(o, "matches", matches ? json_incref(matches) : json_array());
        json_object_set_new(o, "findings", findings ? json_incref(findings) : json_array());
        json_object_set_new(o, "suppressed", suppressed ? json_incref(suppressed) : json_array());
        json_t *screening = json_object_get(detail, "screening");
        if (screening)
            json_object_set(o, "screening", screening);
        json_decref(detail);
        json_object_set_new(o, "computed_status", json_string(col_text(st, 11)));
        json_object_set_new(o, "lists", parse_or(col_text(st, 13), json_object()));
        json_object_set_new(o, "engine_version", json_string(col_text(st, 14)));
        json_object_set_new(o, "check_id", json_string(col_text(st, 15)));
        json_object_set_new(o, "decided_by",
                            sqlite3_column_type(st, 16) == SQLITE_NULL
                                ? json_null()
                                : json_string(col_text(st, 16)));
        json_object_set_new(o, "decided_at", results_column_time(st, 17));
        json_object_set_new(o, "anomaly_id",
                            sqlite3_column_type(st, 18) == SQLITE_NULL
                                ? json_null()
                                : json_string(col_text(st, 18)));
        json_object_set_new(o, "writeback_error",
                            sqlite3_column_type(st, 19) == SQLITE_NULL
                                ? json_null()
                                : json_string(col_text(st, 19)));
        json_object_set_new(o, "alert_error",
                            sqlite3_column_type(st, 20) == SQLITE_NULL
                                ? json_null()
                                : json_string(col_text(st, 20)));
        json_object_set_new(o, "identity", parse_or(col_text(st, 21), json_object()));
        json_object_set_new(o, "removed_at", results_column_time(st, 22));
        *out = o;
        rc = 0;
    } else if (rc == 0) {
        rc = CAPP_ENOTFOUND;
    }
    sqlite3_finalize(st);
    return rc;
}

int results_counts(sqlite3 *db, const char *installed_app_id, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT CASE WHEN removed_at IS NULL THEN status ELSE 'removed' END,"
                        " count(*) FROM kyc_identities WHERE installed_app_id = ? GROUP BY 1",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        json_object_set_new(o, statuses[i], json_integer(0));
    json_object_set_new(o, "removed", json_integer(0));
    long long total = 0;
    while ((rc = db_step_row(st)) == 1) {
        long long c = sqlite3_column_int64(st, 1);
        json_object_set_new(o, col_text(st, 0), json_integer(c));
        if (strcmp(col_text(st, 0), "removed") != 0)
            total += c; /* the identities Blnk has */
    }
    sqlite3_finalize(st);
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    json_object_set_new(o, "total", json_integer(total));
    *out = o;
    return 0;
}

int results_score_histogram(sqlite3 *db, const char *installed_app_id, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT min(CAST(score * ?2 AS INTEGER), ?2 - 1), count(*)"
                        " FROM kyc_identities WHERE installed_app_id = ?1 AND removed_at IS NULL"
                        " GROUP BY 1",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_int64(st, 2, RESULTS_HIST_BUCKETS);
    long long counts[RESULTS_HIST_BUCKETS] = {0};
    while ((rc = db_step_row(st)) == 1) {
        int b = sqlite3_column_int(st, 0);
        if (b >= 0 && b < RESULTS_HIST_BUCKETS)
            counts[b] += sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc < 0)
        return rc;
    json_t *arr = json_array();
    for (int b = 0; b < RESULTS_HIST_BUCKETS; b++)
        json_array_append_new(
            arr, json_pack("{s:f, s:f, s:I}", "from", (double)b / RESULTS_HIST_BUCKETS, "to",
                           (double)(b + 1) / RESULTS_HIST_BUCKETS, "count", (json_int_t)counts[b]));
    *out = json_pack("{s:o}", "buckets", arr);
    return 0;
}

int results_outbox_counts(sqlite3 *db, const char *installed_app_id, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(
        db,
        "SELECT coalesce(sum(writeback_state = 'pending'), 0),"
        " coalesce(sum(writeback_state = 'failed'), 0), coalesce(sum(alert_state = 'wanted'), 0),"
        " coalesce(sum(alert_state = 'open'), 0), coalesce(sum(alert_state = 'uncertain'), 0),"
        " coalesce(sum(alert_state = 'failed'), 0), coalesce(sum(alert_state = 'resolved'), 0)"
        " FROM kyc_identities WHERE installed_app_id = ?",
        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    rc = db_step_row(st);
    if (rc == 1) {
        *out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "writeback_pending",
                         (json_int_t)sqlite3_column_int64(st, 0), "writeback_failed",
                         (json_int_t)sqlite3_column_int64(st, 1), "alerts_wanted",
                         (json_int_t)sqlite3_column_int64(st, 2), "alerts_open",
                         (json_int_t)sqlite3_column_int64(st, 3), "alerts_uncertain",
                         (json_int_t)sqlite3_column_int64(st, 4), "alerts_failed",
                         (json_int_t)sqlite3_column_int64(st, 5), "alerts_resolved",
                         (json_int_t)sqlite3_column_int64(st, 6));
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc < 0 ? rc : 0;
}

/* ---- list generations ---- */

int results_list_entries_each(sqlite3 *db,
                              int (*fn)(void *ctx, const char *entry_id, const char *hash,
                                        const char *tokens),
                              void *ctx)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db, "SELECT entry_id, hash, tokens FROM kyc_list_entries", &st);
    if (rc)
        return rc;
    while ((rc = db_step_row(st)) == 1)
        if ((rc = fn(ctx, col_text(st, 0), col_text(st, 1), col_text(st, 2))) != 0)
            break;
    sqlite3_finalize(st);
    return rc < 0 ? rc : 0;
}

int results_list_generation_save(sqlite3 *db, const char *lists_key, const char *previous_key,
                                 const char *changed_tokens, const char *const *ids,
                                 const char *const *hashes, const char *const *tokens, size_t n)
{
    int rc = db_begin_immediate(db);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    rc = db_exec(db, "DELETE FROM kyc_list_entries");
    if (rc == 0)
        rc = db_prepare(db, "INSERT INTO kyc_list_entries (entry_id, hash, tokens) VALUES (?,?,?)",
                        &st);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_reset(st);
        db_bind_text(st, 1, ids[i]);
        db_bind_text(st, 2, hashes[i]);
        db_bind_text(st, 3, tokens[i]);
        rc = db_step_done(st);
        if (rc == CAPP_EEXIST)
            rc = 0; /* the same entry id twice in a list: keep the first */
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == 0)
        rc = db_prepare(db,
                        "INSERT OR REPLACE INTO kyc_list_generations (lists_key, previous_key,"
                        " changed_tokens, created_at) VALUES (?,?,?,?)",
                        &st);
    if (rc == 0) {
        db_bind_text(st, 1, lists_key);
        db_bind_text(st, 2, previous_key ? previous_key : "");
        db_bind_text(st, 3, changed_tokens ? changed_tokens : "");
        db_bind_int64(st, 4, clock_now_ms());
        rc = db_step_done(st);
        sqlite3_finalize(st);
    }
    if (rc == 0)
        rc = db_commit(db);
    if (rc)
        db_rollback(db);
    return rc;
}

int results_list_generation_get(sqlite3 *db, const char *lists_key, char *previous_key, size_t pcap,
                                char **changed_tokens)
{
    *changed_tokens = NULL;
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT previous_key, changed_tokens FROM kyc_list_generations"
                        " WHERE lists_key = ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, lists_key);
    rc = db_step_row(st);
    if (rc == 1) {
        db_column_copy(st, 0, previous_key, pcap);
        *changed_tokens = strdup(col_text(st, 1));
        rc = *changed_tokens ? 0 : CAPP_ENOMEM;
    } else if (rc == 0) {
        rc = CAPP_ENOTFOUND;
    }
    sqlite3_finalize(st);
    return rc;
}

int results_list_entry_hash(sqlite3 *db, const char *entry_id, char out[RESULTS_HASH_CAP])
{
    out[0] = 0;
    const char *key[] = {entry_id};
    const struct db_text_out hash = {out, RESULTS_HASH_CAP};
    return db_load_texts(db, "SELECT hash FROM kyc_list_entries WHERE entry_id = ?", key, 1, &hash,
                         1);
}

int results_list_load_claim(sqlite3 *db, const char *installed_app_id, const char *lists_key,
                            int64_t now_ms)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "INSERT INTO kyc_list_loads (installed_app_id, lists_key, loaded_at)"
                        " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_text(st, 2, lists_key);
    db_bind_int64(st, 3, now_ms);
    rc = db_step_done(st);
    sqlite3_finalize(st);
    return rc ? rc : sqlite3_changes(db) == 1;
}
