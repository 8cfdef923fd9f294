/*
 * results_leases.c — leases on units of an install's work and the cluster-wide schedule (see
 * kyc/results_leases.h), in the portable SQL of capp/sql.h.
 *
 * Design. Every decision that two replicas could race for is one statement whose outcome the
 * database serialises, so no replica reads a row and then acts on what it read:
 *   - a claim is INSERT … ON CONFLICT DO UPDATE … WHERE (the lease is free, expired or ours)
 *     RETURNING: on PostgreSQL the conflicting row is locked and the WHERE re-checked on its
 *     newest version, on SQLite the statement runs under the one write lock, so of concurrent
 *     claims exactly one gets a row back;
 *   - renew and release are UPDATEs guarded by holder = me: a replica that lost its lease learns
 *     it from the row count and never extends another replica's lease;
 *   - a schedule claim is a compare-and-set on next_at (UPDATE … WHERE next_at = what I read).
 * The DO UPDATE copies the old holder into taken_from when it takes an expired lease over, so the
 * new holder knows, from the same statement, that it is resuming a dead replica's work.
 * Work units with a payload, claimed among many with FOR UPDATE SKIP LOCKED, are
 * kyc/results_units.c.
 */
#include "kyc/results_leases.h"

#include <stdio.h>
#include <string.h>

#include "capp/db.h" /* DB_TEXTS, DB_INTS */
#include "capp/err.h"
#include "capp/sql.h"

static const struct sql_migration migrations[] = {
    {1,
     "CREATE TABLE kyc_leases ("
     " installed_app_id TEXT NOT NULL,"
     " unit TEXT NOT NULL,"
     " holder TEXT NOT NULL DEFAULT '',"
     " expires_at BIGINT NOT NULL DEFAULT 0,"
     " claimed_at BIGINT NOT NULL DEFAULT 0,"
     " released_at BIGINT NOT NULL DEFAULT 0,"
     " taken_from TEXT NOT NULL DEFAULT '',"
     " done BIGINT NOT NULL DEFAULT 0,"
     " PRIMARY KEY (installed_app_id, unit));"
     "CREATE INDEX kyc_leases_expiry ON kyc_leases(unit, expires_at);"
     "CREATE TABLE kyc_schedules ("
     " installed_app_id TEXT NOT NULL PRIMARY KEY,"
     " next_at BIGINT NOT NULL);"
     "CREATE INDEX kyc_schedules_due ON kyc_schedules(next_at);",
     NULL},
};

int results_leases_migrate(struct sql_conn *db)
{
    return sql_migrate(db, "kyc_leases", migrations, COUNTOF(migrations));
}

#define LEASE_COLUMNS "holder, taken_from, expires_at, claimed_at, released_at, done"

static void read_lease(struct sql_stmt *st, struct results_lease *out)
{
    sql_column_copy(st, 0, out->holder, sizeof out->holder);
    sql_column_copy(st, 1, out->taken_from, sizeof out->taken_from);
    out->expires_at_ms = sql_column_int64(st, 2);
    out->claimed_at_ms = sql_column_int64(st, 3);
    out->released_at_ms = sql_column_int64(st, 4);
    out->done = sql_column_int64(st, 5) != 0;
}

static int valid_args(const char *installed_app_id, const char *unit, const char *holder)
{
    return installed_app_id && *installed_app_id && unit && *unit &&
           strlen(unit) < RESULTS_LEASE_UNIT_CAP &&
           (!holder || (*holder && strlen(holder) < RESULTS_LEASE_HOLDER_CAP));
}

int results_lease_get(struct sql_conn *db, const char *installed_app_id, const char *unit,
                      struct results_lease *out)
{
    memset(out, 0, sizeof *out);
    if (!valid_args(installed_app_id, unit, NULL))
        return CAPP_EINVAL;
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db,
                         "SELECT " LEASE_COLUMNS " FROM kyc_leases"
                         " WHERE installed_app_id = ?1 AND unit = ?2",
                         &st);
    if (rc == 0)
        rc = sql_bind_text(st, 1, installed_app_id);
    if (rc == 0)
        rc = sql_bind_text(st, 2, unit);
    if (rc == 0)
        rc = sql_step(st);
    if (rc == 1) {
        read_lease(st, out);
        rc = 0;
    } else if (rc == 0) {
        rc = CAPP_ENOTFOUND;
    }
    sql_finalize(st);
    return rc;
}

int results_lease_claim(struct sql_conn *db, const char *installed_app_id, const char *unit,
                        const char *holder, int64_t now_ms, int64_t ttl_ms,
                        struct results_lease *out)
{
    struct results_lease scratch;
    if (!out)
        out = &scratch;
    memset(out, 0, sizeof *out);
    if (!valid_args(installed_app_id, unit, holder) || ttl_ms <= 0)
        return CAPP_EINVAL;
    struct sql_stmt *st = NULL;
    /* released rows have expires_at 0, so "expired" covers them; a same-holder claim keeps its
     * claimed_at and taken_from (it is a renewal, not a new tenure) */
    int rc = sql_prepare(
        db,
        "INSERT INTO kyc_leases (installed_app_id, unit, holder, expires_at, claimed_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5)"
        " ON CONFLICT (installed_app_id, unit) DO UPDATE SET"
        " holder = excluded.holder, expires_at = excluded.expires_at,"
        " claimed_at = CASE WHEN kyc_leases.holder = excluded.holder"
        " THEN kyc_leases.claimed_at ELSE excluded.claimed_at END,"
        " taken_from = CASE WHEN kyc_leases.holder = excluded.holder"
        " THEN kyc_leases.taken_from ELSE kyc_leases.holder END,"
        " done = 0"
        " WHERE kyc_leases.expires_at < ?5 OR kyc_leases.holder = ?3"
        " RETURNING " LEASE_COLUMNS,
        &st);
    if (rc == 0)
        rc = sql_bind_text(st, 1, installed_app_id);
    if (rc == 0)
        rc = sql_bind_text(st, 2, unit);
    if (rc == 0)
        rc = sql_bind_text(st, 3, holder);
    if (rc == 0)
        rc = sql_bind_int64(st, 4, now_ms + ttl_ms);
    if (rc == 0)
        rc = sql_bind_int64(st, 5, now_ms);
    if (rc == 0)
        rc = sql_step(st);
    if (rc == 1)
        read_lease(st, out);
    sql_finalize(st);
    if (rc == 0) {
        /* another holder's lease is live: tell the caller whose, and until when */
        int got = results_lease_get(db, installed_app_id, unit, out);
        if (got && got != CAPP_ENOTFOUND)
            return got;
    }
    return rc;
}

int results_lease_renew(struct sql_conn *db, const char *installed_app_id, const char *unit,
                        const char *holder, int64_t now_ms, int64_t ttl_ms)
{
    if (!valid_args(installed_app_id, unit, holder) || ttl_ms <= 0)
        return CAPP_EINVAL;
    int64_t changes = 0;
    int rc = sql_run(db,
                     "UPDATE kyc_leases SET expires_at = ?4"
                     " WHERE installed_app_id = ?1 AND unit = ?2 AND holder = ?3",
                     DB_TEXTS(installed_app_id, unit, holder), DB_INTS(now_ms + ttl_ms), &changes);
    return rc ? rc : changes > 0;
}

int results_lease_release(struct sql_conn *db, const char *installed_app_id, const char *unit,
                          const char *holder, int64_t now_ms, int done)
{
    if (!valid_args(installed_app_id, unit, holder))
        return CAPP_EINVAL;
    int64_t changes = 0;
    int rc =
        sql_run(db,
                "UPDATE kyc_leases SET holder = '', expires_at = 0, released_at = ?4,"
                " done = ?5 WHERE installed_app_id = ?1 AND unit = ?2 AND holder = ?3",
                DB_TEXTS(installed_app_id, unit, holder), DB_INTS(now_ms, done ? 1 : 0), &changes);
    return rc ? rc : changes > 0;
}

int results_lease_each_unfinished(struct sql_conn *db, const char *unit, const char *except,
                                  int64_t now_ms,
                                  int (*fn)(void *ctx, const char *installed_app_id), void *ctx)
{
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db,
                         "SELECT installed_app_id FROM kyc_leases WHERE unit = ?1"
                         " AND ((holder <> '' AND holder <> ?2 AND expires_at < ?3)"
                         " OR (holder = '' AND done = 0 AND released_at > 0))"
                         " ORDER BY installed_app_id",
                         &st);
    if (rc == 0)
        rc = sql_bind_text(st, 1, unit);
    if (rc == 0)
        rc = sql_bind_text(st, 2, except ? except : "");
    if (rc == 0)
        rc = sql_bind_int64(st, 3, now_ms);
    while (rc == 0 && (rc = sql_step(st)) == 1)
        rc = fn(ctx, sql_column_text(st, 0));
    sql_finalize(st);
    return rc;
}

/* ---- the schedule ---- */

int results_schedule_get(struct sql_conn *db, const char *installed_app_id, int64_t *next_at_ms)
{
    *next_at_ms = 0;
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db, "SELECT next_at FROM kyc_schedules WHERE installed_app_id = ?1", &st);
    if (rc == 0)
        rc = sql_bind_text(st, 1, installed_app_id);
    if (rc == 0)
        rc = sql_step(st);
    if (rc == 1) {
        *next_at_ms = sql_column_int64(st, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = CAPP_ENOTFOUND;
    }
    sql_finalize(st);
    return rc;
}

int results_schedule_set(struct sql_conn *db, const char *installed_app_id, int64_t next_at_ms)
{
    return sql_run(db,
                   "INSERT INTO kyc_schedules (installed_app_id, next_at) VALUES (?1, ?2)"
                   " ON CONFLICT (installed_app_id) DO UPDATE SET next_at = excluded.next_at",
                   DB_TEXTS(installed_app_id), DB_INTS(next_at_ms), NULL);
}

int results_schedule_claim(struct sql_conn *db, const char *installed_app_id, int64_t expected_ms,
                           int64_t next_ms)
{
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db,
                         "UPDATE kyc_schedules SET next_at = ?3"
                         " WHERE installed_app_id = ?1 AND next_at = ?2 RETURNING next_at",
                         &st);
    if (rc == 0)
        rc = sql_bind_text(st, 1, installed_app_id);
    if (rc == 0)
        rc = sql_bind_int64(st, 2, expected_ms);
    if (rc == 0)
        rc = sql_bind_int64(st, 3, next_ms);
    if (rc == 0)
        rc = sql_step(st);
    sql_finalize(st);
    return rc;
}

int results_schedule_forget(struct sql_conn *db, const char *installed_app_id)
{
    return sql_run(db, "DELETE FROM kyc_schedules WHERE installed_app_id = ?1",
                   DB_TEXTS(installed_app_id), DB_NONE, NULL);
}

int results_schedule_each_due(struct sql_conn *db, int64_t now_ms,
                              int (*fn)(void *ctx, const char *installed_app_id,
                                        int64_t next_at_ms),
                              void *ctx)
{
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db,
                         "SELECT installed_app_id, next_at FROM kyc_schedules WHERE next_at <= ?1"
                         " ORDER BY next_at, installed_app_id",
                         &st);
    if (rc == 0)
        rc = sql_bind_int64(st, 1, now_ms);
    while (rc == 0 && (rc = sql_step(st)) == 1)
        rc = fn(ctx, sql_column_text(st, 0), sql_column_int64(st, 1));
    sql_finalize(st);
    return rc;
}
