/*
 * results_db.c — the results store's schema (migrations of component "kyc"), connections,
 * transactions and the vocabulary the other files share (see kyc/results.h).
 *
 * Design. The store's database is a SQLite file (shared with capp's store) or a PostgreSQL
 * database; every thread gets its own connection (capp/sql.h's pool), opened on first use and
 * closed when the thread ends or with the store, so no connection is ever shared between
 * threads (STYLE rule 7); every SQLite connection gets the same tuning. The operations live by
 * caller in results_pipeline.c (writes) and results_portal.c (reads).
 */
#include "kyc/results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/assert.h"
#include "capp/clock.h"
#include "capp/sql.h"
#include "capp/err.h"
#include "capp/log.h"
#include "kyc/results_internal.h"

/* The schema. One text per version serves both engines where they agree; where their types
 * differ (64-bit integers, doubles, the generated run id) the text is written once with the
 * types as parameters, so the two schemas cannot drift. SQLite databases made before
 * PostgreSQL support keep their versions: steps are only ever appended. */
#define KYC_SCHEMA_V1(INT, REAL, RUN_ID)                                                      \
    "CREATE TABLE kyc_identities ("                                                           \
    " installed_app_id TEXT NOT NULL,"                                                        \
    " identity_id TEXT NOT NULL,"                                                             \
    " fields_hash TEXT NOT NULL,"                                                             \
    " lists_key TEXT NOT NULL DEFAULT '',"                                                    \
    " display_name TEXT NOT NULL DEFAULT '',"                                                 \
    " identity_type TEXT NOT NULL DEFAULT '',"                                                \
    " name_tokens TEXT NOT NULL DEFAULT '',"                                                  \
    " status TEXT NOT NULL,"                                                                  \
    " computed_status TEXT NOT NULL,"                                                         \
    " risk TEXT NOT NULL,"                                                                    \
    " score " REAL " NOT NULL DEFAULT 0,"                                                     \
    " reasons TEXT NOT NULL DEFAULT '[]',"                                                    \
    " detail TEXT NOT NULL DEFAULT '{}',"                                                     \
    " lists TEXT NOT NULL DEFAULT '{}',"                                                      \
    " engine_version TEXT NOT NULL DEFAULT '',"                                               \
    " basis TEXT NOT NULL DEFAULT '',"                                                        \
    " check_id TEXT NOT NULL,"                                                                \
    " screened_at " INT " NOT NULL,"                                                          \
    " updated_at " INT " NOT NULL,"                                                           \
    " decided_by TEXT,"                                                                       \
    " decided_at " INT ","                                                                    \
    " payload TEXT,"                                                                          \
    " payload_hash TEXT,"                                                                     \
    " writeback_state TEXT NOT NULL DEFAULT 'none',"                                          \
    " writeback_hash TEXT,"                                                                   \
    " writeback_error TEXT,"                                                                  \
    " alert_state TEXT NOT NULL DEFAULT 'none',"                                              \
    " anomaly_id TEXT,"                                                                       \
    " alert_title TEXT,"                                                                      \
    " alert_text TEXT,"                                                                       \
    " alert_error TEXT,"                                                                      \
    " PRIMARY KEY (installed_app_id, identity_id));"                                          \
    "CREATE INDEX kyc_identities_status ON kyc_identities(installed_app_id, status, score);"  \
    "CREATE INDEX kyc_identities_score ON kyc_identities(installed_app_id, score);"           \
    "CREATE INDEX kyc_identities_wb ON kyc_identities(installed_app_id, writeback_state);"    \
    "CREATE INDEX kyc_identities_alert ON kyc_identities(installed_app_id, alert_state);"     \
    "CREATE INDEX kyc_identities_lists ON kyc_identities(installed_app_id, lists_key);"       \
    "CREATE TABLE kyc_runs ("                                                                 \
    " run_id " RUN_ID ","                                                                     \
    " installed_app_id TEXT NOT NULL,"                                                        \
    " trigger TEXT NOT NULL,"                                                                 \
    " state TEXT NOT NULL,"                                                                   \
    " started_at " INT " NOT NULL,"                                                           \
    " finished_at " INT ","                                                                   \
    " fetched " INT " NOT NULL DEFAULT 0, screened " INT " NOT NULL DEFAULT 0,"               \
    " unchanged " INT " NOT NULL DEFAULT 0, written " INT " NOT NULL DEFAULT 0,"              \
    " alerts_created " INT " NOT NULL DEFAULT 0, alerts_resolved " INT " NOT NULL DEFAULT 0," \
    " errors " INT " NOT NULL DEFAULT 0, rate_limited " INT " NOT NULL DEFAULT 0,"            \
    " fetch_ms " INT " NOT NULL DEFAULT 0, screen_ms " INT " NOT NULL DEFAULT 0,"             \
    " write_ms " INT " NOT NULL DEFAULT 0,"                                                   \
    " message TEXT NOT NULL DEFAULT '');"                                                     \
    "CREATE INDEX kyc_runs_install ON kyc_runs(installed_app_id, run_id);"                    \
    "CREATE TABLE kyc_list_entries ("                                                         \
    " entry_id TEXT PRIMARY KEY, hash TEXT NOT NULL, tokens TEXT NOT NULL);"                  \
    "CREATE TABLE kyc_list_generations ("                                                     \
    " lists_key TEXT PRIMARY KEY, previous_key TEXT NOT NULL, changed_tokens TEXT NOT NULL,"  \
    " created_at " INT " NOT NULL);"
#define KYC_SCHEMA_V2(INT)                                                                  \
    "CREATE TABLE kyc_list_loads ("                                                         \
    " installed_app_id TEXT NOT NULL, lists_key TEXT NOT NULL, loaded_at " INT " NOT NULL," \
    " PRIMARY KEY (installed_app_id, lists_key));"

static const struct sql_migration migrations[] = {
    {1, KYC_SCHEMA_V1("INTEGER", "REAL", "INTEGER PRIMARY KEY AUTOINCREMENT"),
     KYC_SCHEMA_V1("BIGINT", "DOUBLE PRECISION",
                   "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")},
    {2, KYC_SCHEMA_V2("INTEGER"), KYC_SCHEMA_V2("BIGINT")},
    /* the identity's own fields for the reviewer (results_identity_fields): PII, never logged */
    {3, "ALTER TABLE kyc_identities ADD COLUMN identity_fields TEXT NOT NULL DEFAULT '{}';", NULL},
    /* when a complete walk no longer listed the identity and Blnk answered 404 for it: the row
     * is kept for the record (results_mark_removed); NULL while it exists */
    {4, "ALTER TABLE kyc_identities ADD COLUMN removed_at INTEGER;",
     "ALTER TABLE kyc_identities ADD COLUMN removed_at BIGINT;"},
};

/* ---- connections ---- */

struct results_store {
    char *target;
    struct sql_pool *conns;
};

/* The page cache, checkpoint and temp-store settings every SQLite results connection gets. */
static int tune(struct sql_conn *db)
{
    if (sql_engine_of(db) != SQL_SQLITE)
        return 0;
    /* A run rewrites rows spread over the whole table (random identity ids) and appends to the
     * audit chain: 32 MB of page cache keeps the touched pages from being read back; a 40 MB
     * WAL lets a page changed by several batches reach the database file once per checkpoint
     * instead of once per 4 MB; the statement journals the audit triggers need stay in
     * memory instead of going through a temporary file. */
    return sql_exec(db, "PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=10000;"
                        " PRAGMA temp_store=MEMORY;");
}

static int pool_setup(void *ctx, struct sql_conn *db, void **state)
{
    (void)ctx;
    (void)state;
    return tune(db);
}

int results_store_open(const char *target, struct results_store **out)
{
    *out = NULL;
    struct results_store *rs = calloc(1, sizeof *rs);
    if (!rs || !(rs->target = strdup(target))) {
        free(rs);
        return CAPP_ENOMEM;
    }
    struct sql_pool_config pool = {.target = target, .setup = pool_setup};
    int rc = sql_pool_new(&pool, &rs->conns);
    if (rc) {
        results_store_close(rs);
        return rc;
    }
    struct sql_conn *db = results_conn(rs);
    if (!db) {
        results_store_close(rs);
        return CAPP_EDB;
    }
    rc = sql_migrate(db, "kyc", migrations, COUNTOF(migrations));
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
    sql_pool_free(rs->conns);
    free(rs->target);
    free(rs);
}

struct sql_conn *results_conn(struct results_store *rs)
{
    struct sql_conn *db = sql_pool_get(rs->conns, NULL);
    if (!db)
        log_error("kyc.results.open_failed", NULL);
    return db;
}

int results_conn_open(struct results_store *rs, struct sql_conn **out)
{
    *out = NULL;
    struct sql_conn *db = NULL;
    int rc = sql_open(rs->target, &db);
    if (rc == 0)
        rc = tune(db);
    if (rc) {
        sql_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

void results_conn_close(struct sql_conn *db)
{
    sql_close(db);
}

/* ---- transactions ---- */

int results_begin(struct sql_conn *db)
{
    return sql_begin(db);
}

int results_commit(struct sql_conn *db)
{
    return sql_commit(db);
}

void results_rollback(struct sql_conn *db)
{
    sql_rollback(db);
}

/* ---- vocabulary ---- */

const char *const results_statuses[RESULTS_STATUS_COUNT] = {RESULTS_CLEAR,    RESULTS_NEEDS_REVIEW,
                                                            RESULTS_HIT,      RESULTS_APPROVED,
                                                            RESULTS_REJECTED, RESULTS_ERROR};

int results_status_valid(const char *s)
{
    for (size_t i = 0; s && i < RESULTS_STATUS_COUNT; i++)
        if (strcmp(s, results_statuses[i]) == 0)
            return 1;
    return 0;
}

const char *results_kyc_status(const char *status)
{
    if (strcmp(status, RESULTS_CLEAR) == 0 || strcmp(status, RESULTS_APPROVED) == 0)
        return "verified";
    return status;
}

const char *results_col_text(struct sql_stmt *st, int i)
{
    const char *t = sql_column_text(st, i);
    return t ? t : "";
}

json_t *results_parse_or(const char *text, json_t *fallback)
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

json_t *results_sql_column_time(struct sql_stmt *st, int i)
{
    if (sql_column_is_null(st, i))
        return json_null();
    char ts[40];
    clock_format_rfc3339(sql_column_int64(st, i), ts, sizeof ts);
    return json_string(ts);
}

/* ---- runs ---- */

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
