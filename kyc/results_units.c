/*
 * results_units.c — the work units of a run shared between replicas (see kyc/results_units.h),
 * in the portable SQL of capp/sql.h.
 *
 * Design. As with the leases (results_leases.c), every decision two replicas could race for is
 * settled by the database, never by a row read and then acted on outside a transaction:
 *   - a claim selects one claimable unit and updates it in one transaction: on PostgreSQL the
 *     select is FOR UPDATE SKIP LOCKED, so concurrent claimers skip the row another is taking
 *     (each gets a different unit, nobody queues), and the update re-states the claimable
 *     condition; on SQLite sql_begin takes the one write lock (BEGIN IMMEDIATE), which
 *     serialises the select and the update;
 *   - renew, finish and release are UPDATEs guarded by holder = me AND state = 'free': a worker
 *     whose lease another took over learns it from the row count, and a unit is marked finished
 *     once whatever happens (finishing twice is a no-op, not an error);
 *   - a unit is claimable only while its run is live: an EXISTS on the install's "run" lease held
 *     by the unit's walker and not expired — a run whose walker died or lost the lease is walked
 *     again by the replica that takes it over, and its units would only repeat that work.
 * The payload (the identities as fetched: customer PII, like kyc_identities.identity_json) is
 * cleared when the unit is finished; the finished rows stay, with who did them and what, until
 * the install's next run deletes them (results_units_forget_others).
 */
#include "kyc/results_units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/db.h" /* DB_TEXTS, DB_INTS */
#include "capp/err.h"
#include "capp/sql.h"

static const struct sql_migration migrations[] = {
    {1,
     "CREATE TABLE kyc_work_units ("
     " installed_app_id TEXT NOT NULL,"
     " run_key TEXT NOT NULL,"
     " unit_no BIGINT NOT NULL,"
     " walker TEXT NOT NULL,"
     " lists_key TEXT NOT NULL DEFAULT '',"
     " payload TEXT NOT NULL DEFAULT '',"
     " state TEXT NOT NULL DEFAULT 'free'," /* free | done | failed */
     " holder TEXT NOT NULL DEFAULT '',"
     " replica TEXT NOT NULL DEFAULT ''," /* the holder's (or last holder's) replica */
     " lease_until BIGINT NOT NULL DEFAULT 0,"
     " taken_from TEXT NOT NULL DEFAULT '',"
     " attempts BIGINT NOT NULL DEFAULT 0,"
     " done_by TEXT NOT NULL DEFAULT '',"
     " screened BIGINT NOT NULL DEFAULT 0,"
     " errors BIGINT NOT NULL DEFAULT 0,"
     " screen_ms BIGINT NOT NULL DEFAULT 0,"
     " PRIMARY KEY (installed_app_id, run_key, unit_no));"
     "CREATE INDEX kyc_work_units_free ON kyc_work_units(state, lease_until);",
     NULL},
};

int results_units_migrate(struct sql_conn *db)
{
    return sql_migrate(db, "kyc_units", migrations, COUNTOF(migrations));
}

static int valid_unit(const struct results_unit *u, const char *holder)
{
    return u && u->installed_app_id[0] && u->run_key[0] && holder && *holder &&
           strlen(holder) < RESULTS_LEASE_HOLDER_CAP;
}

int results_unit_add(struct sql_conn *db, const char *installed_app_id, const char *run_key,
                     int64_t unit_no, const char *walker, const char *lists_key,
                     const char *payload)
{
    if (!installed_app_id || !*installed_app_id ||
        strlen(installed_app_id) >= RESULTS_UNIT_ID_CAP || !run_key || !*run_key ||
        strlen(run_key) >= RESULTS_UNIT_RUN_CAP || !walker || !*walker || !lists_key || !payload)
        return CAPP_EINVAL;
    return sql_run(db,
                   "INSERT INTO kyc_work_units"
                   " (installed_app_id, run_key, walker, lists_key, payload, unit_no)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                   DB_TEXTS(installed_app_id, run_key, walker, lists_key, payload),
                   DB_INTS(unit_no), NULL);
}

/* ?1 lists_key, ?2 now */
#define CLAIMABLE                                                                           \
    "u.state = 'free' AND u.lease_until < ?2 AND u.lists_key = ?1"                          \
    " AND EXISTS (SELECT 1 FROM kyc_leases l WHERE l.installed_app_id = u.installed_app_id" \
    " AND l.unit = 'run' AND l.holder = u.walker AND l.expires_at >= ?2)"

int results_unit_claim(struct sql_conn *db, const char *holder, const char *replica,
                       const char *lists_key, int64_t now_ms, int64_t ttl_ms,
                       struct results_unit *out)
{
    memset(out, 0, sizeof *out);
    if (!holder || !*holder || strlen(holder) >= RESULTS_LEASE_HOLDER_CAP || !replica ||
        !*replica || strlen(replica) >= RESULTS_LEASE_HOLDER_CAP || !lists_key || ttl_ms <= 0)
        return CAPP_EINVAL;
    static const char *const pick_sqlite =
        "SELECT u.installed_app_id, u.run_key, u.unit_no FROM kyc_work_units u WHERE " CLAIMABLE
        " ORDER BY u.run_key, u.unit_no LIMIT 1";
    static const char *const pick_postgres =
        "SELECT u.installed_app_id, u.run_key, u.unit_no FROM kyc_work_units u WHERE " CLAIMABLE
        " ORDER BY u.run_key, u.unit_no LIMIT 1 FOR UPDATE OF u SKIP LOCKED";
    int rc = sql_begin(db);
    struct sql_stmt *st = NULL;
    if (rc == 0)
        rc = sql_prepare(db, sql_engine_of(db) == SQL_POSTGRES ? pick_postgres : pick_sqlite, &st);
    if (rc == 0)
        rc = sql_bind_text(st, 1, lists_key);
    if (rc == 0)
        rc = sql_bind_int64(st, 2, now_ms);
    if (rc == 0)
        rc = sql_step(st);
    int found = rc == 1;
    if (found) {
        sql_column_copy(st, 0, out->installed_app_id, sizeof out->installed_app_id);
        sql_column_copy(st, 1, out->run_key, sizeof out->run_key);
        out->unit_no = sql_column_int64(st, 2);
        rc = 0;
    }
    sql_finalize(st);
    st = NULL;
    if (rc == 0 && found) {
        /* the dead holder (if any) goes to taken_from in the same statement that takes it */
        rc = sql_prepare(db,
                         "UPDATE kyc_work_units SET holder = ?4, lease_until = ?5,"
                         " taken_from = holder, attempts = attempts + 1, replica = ?7"
                         " WHERE installed_app_id = ?1 AND run_key = ?2 AND unit_no = ?3"
                         " AND state = 'free' AND lease_until < ?6"
                         " RETURNING taken_from, attempts, payload",
                         &st);
        if (rc == 0)
            rc = sql_bind_text(st, 1, out->installed_app_id);
        if (rc == 0)
            rc = sql_bind_text(st, 2, out->run_key);
        if (rc == 0)
            rc = sql_bind_int64(st, 3, out->unit_no);
        if (rc == 0)
            rc = sql_bind_text(st, 4, holder);
        if (rc == 0)
            rc = sql_bind_int64(st, 5, now_ms + ttl_ms);
        if (rc == 0)
            rc = sql_bind_int64(st, 6, now_ms);
        if (rc == 0)
            rc = sql_bind_text(st, 7, replica);
        if (rc == 0)
            rc = sql_step(st);
        found = rc == 1;
        if (found) {
            sql_column_copy(st, 0, out->taken_from, sizeof out->taken_from);
            out->attempts = sql_column_int64(st, 1);
            const char *payload = sql_column_text(st, 2);
            out->payload = strdup(payload ? payload : "");
            rc = out->payload ? 0 : CAPP_ENOMEM;
        }
        sql_finalize(st);
    }
    if (rc == 0)
        rc = sql_commit(db);
    if (rc) {
        sql_rollback(db);
        free(out->payload);
        memset(out, 0, sizeof *out);
        return rc;
    }
    if (!found) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    return 1;
}

int results_unit_renew(struct sql_conn *db, const struct results_unit *u, const char *holder,
                       int64_t now_ms, int64_t ttl_ms)
{
    if (!valid_unit(u, holder) || ttl_ms <= 0)
        return CAPP_EINVAL;
    int64_t changes = 0;
    int rc = sql_run(db,
                     "UPDATE kyc_work_units SET lease_until = ?5 WHERE installed_app_id = ?1"
                     " AND run_key = ?2 AND holder = ?3 AND state = 'free' AND unit_no = ?4",
                     DB_TEXTS(u->installed_app_id, u->run_key, holder),
                     DB_INTS(u->unit_no, now_ms + ttl_ms), &changes);
    return rc ? rc : changes > 0;
}

int results_unit_finish(struct sql_conn *db, const struct results_unit *u, const char *holder,
                        int failed, int64_t screened, int64_t errors, int64_t screen_ms)
{
    if (!valid_unit(u, holder))
        return CAPP_EINVAL;
    int64_t changes = 0;
    int rc = sql_run(db,
                     "UPDATE kyc_work_units SET state = ?4, done_by = holder, holder = '',"
                     " lease_until = 0, payload = '', screened = ?6, errors = ?7, screen_ms = ?8"
                     " WHERE installed_app_id = ?1 AND run_key = ?2 AND holder = ?3"
                     " AND state = 'free' AND unit_no = ?5",
                     DB_TEXTS(u->installed_app_id, u->run_key, holder, failed ? "failed" : "done"),
                     DB_INTS(u->unit_no, screened, errors, screen_ms), &changes);
    return rc ? rc : changes > 0;
}

int results_unit_release(struct sql_conn *db, const struct results_unit *u, const char *holder)
{
    if (!valid_unit(u, holder))
        return CAPP_EINVAL;
    int64_t changes = 0;
    int rc =
        sql_run(db,
                "UPDATE kyc_work_units SET holder = '', lease_until = 0"
                " WHERE installed_app_id = ?1 AND run_key = ?2 AND holder = ?3"
                " AND state = 'free' AND unit_no = ?4",
                DB_TEXTS(u->installed_app_id, u->run_key, holder), DB_INTS(u->unit_no), &changes);
    return rc ? rc : changes > 0;
}

int results_units_progress(struct sql_conn *db, const char *installed_app_id, const char *run_key,
                           struct results_units_progress *out)
{
    memset(out, 0, sizeof *out);
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(
        db,
        "SELECT count(*),"
        " COALESCE(sum(CASE WHEN state <> 'free' THEN 1 ELSE 0 END), 0),"
        " COALESCE(sum(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0),"
        " COALESCE(sum(screened), 0), COALESCE(sum(errors), 0), COALESCE(sum(screen_ms), 0)"
        " FROM kyc_work_units WHERE installed_app_id = ?1 AND run_key = ?2",
        &st);
    if (rc == 0)
        rc = sql_bind_text(st, 1, installed_app_id);
    if (rc == 0)
        rc = sql_bind_text(st, 2, run_key);
    if (rc == 0)
        rc = sql_step(st);
    if (rc == 1) {
        out->units = sql_column_int64(st, 0);
        out->finished = sql_column_int64(st, 1);
        out->failed = sql_column_int64(st, 2);
        out->screened = sql_column_int64(st, 3);
        out->errors = sql_column_int64(st, 4);
        out->screen_ms = sql_column_int64(st, 5);
        rc = 0;
    } else if (rc == 0) {
        rc = CAPP_EDB; /* an aggregate always has a row */
    }
    sql_finalize(st);
    return rc;
}

int results_units_forget_others(struct sql_conn *db, const char *installed_app_id,
                                const char *keep_run_key, int64_t now_ms, int64_t *left)
{
    *left = 0;
    int rc = sql_run(db,
                     "DELETE FROM kyc_work_units WHERE installed_app_id = ?1 AND run_key <> ?2"
                     " AND (state <> 'free' OR holder = '' OR lease_until < ?3)",
                     DB_TEXTS(installed_app_id, keep_run_key), DB_INTS(now_ms), NULL);
    if (rc == 0)
        rc = sql_load_int64(db,
                            "SELECT count(*) FROM kyc_work_units"
                            " WHERE installed_app_id = ?1 AND run_key <> ?2",
                            DB_TEXTS(installed_app_id, keep_run_key), DB_NONE, left);
    return rc;
}

int results_units_orphaned(struct sql_conn *db, const char *installed_app_id, const char *run_key,
                           const char *self, int64_t now_ms, int64_t *n)
{
    *n = 0;
    return sql_load_int64(db,
                          "SELECT count(*) FROM kyc_work_units u WHERE u.installed_app_id = ?1"
                          " AND u.run_key = ?2 AND (u.attempts > 1 OR (u.state <> 'free'"
                          " AND u.replica <> ?3 AND NOT EXISTS (SELECT 1 FROM kyc_leases l"
                          " WHERE l.installed_app_id = u.replica AND l.unit = '" RESULTS_LEASE_ALIVE
                          "' AND l.expires_at >= ?4)))",
                          DB_TEXTS(installed_app_id, run_key, self), DB_INTS(now_ms), n);
}
