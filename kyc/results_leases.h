/*
 * results_leases.h — work shared between `kyc serve` replicas on one database: leases on units of
 * an install's work, and the install's next scheduled run.
 *
 * A lease is a row (installed_app_id, unit) held by one replica (holder: a per-process random id)
 * until expires_at. The unit "run" is the install's run coordinator: only its holder runs the
 * install; RESULTS_LEASE_ALIVE says a replica is present (pipeline_replicas.c). The pieces of a
 * run that replicas share are work units with a payload (kyc/results_units.h). A replica that
 * dies stops renewing, its leases expire, and the next claim takes them over (taken_from names
 * the dead holder).
 *
 * The schedule is one row per install: next_at, the time its next scheduled run is due. A
 * replica that finds it due claims it with a compare-and-set (results_schedule_claim): of all
 * replicas that read the same next_at, exactly one moves it, so a scheduled run happens once per
 * interval across the cluster.
 *
 * Times are the replicas' wall clocks in milliseconds (clock_now_ms): replicas must keep their
 * clocks in sync (NTP) to well within a lease.
 *
 * Tables are created by the migrations of component "kyc_leases" (results_leases_migrate), in
 * portable SQL (capp/sql.h), on SQLite and PostgreSQL, in the results database: db is the
 * results store's connection (results_db is a struct sql_conn) or any connection to it. Every
 * function is one statement (one transaction) on the connection it is given. Strings passed in
 * are borrowed.
 */
#ifndef KYC_RESULTS_LEASES_H
#define KYC_RESULTS_LEASES_H

#include <stddef.h>
#include <stdint.h>

struct sql_conn;

#define RESULTS_LEASE_HOLDER_CAP 48 /* a holder id and its NUL */
#define RESULTS_LEASE_UNIT_CAP   64
#define RESULTS_LEASE_RUN        "run" /* the unit of an install's run coordinator */
/* a replica's presence lease (installed_app_id = its holder id): renewed while it runs */
#define RESULTS_LEASE_ALIVE "alive"

/* Creates (or upgrades) the lease and schedule tables; safe when replicas start at once. */
int results_leases_migrate(struct sql_conn *db);

struct results_lease {
    char holder[RESULTS_LEASE_HOLDER_CAP];     /* "" when released */
    char taken_from[RESULTS_LEASE_HOLDER_CAP]; /* whose expired lease the holder took over */
    int64_t expires_at_ms;                     /* 0 when released */
    int64_t claimed_at_ms;                     /* when the holder (or the last one) claimed it */
    int64_t released_at_ms;                    /* when it was last released; 0 never */
    int done;                                  /* released as finished (results_lease_release) */
};

/* One statement: inserts the lease, or takes it when it is released, expired (expires_at <
 * now_ms) or already holder's. 1: holder now holds it until now_ms + ttl_ms (out, may be NULL,
 * gets the row as claimed: out->taken_from is the holder whose expired lease this claim took
 * over, "" when it was free or already holder's); 0: another holder's lease is live (out gets
 * that lease); < 0 an error. Of concurrent claims of one free unit exactly one returns 1. */
int results_lease_claim(struct sql_conn *db, const char *installed_app_id, const char *unit,
                        const char *holder, int64_t now_ms, int64_t ttl_ms,
                        struct results_lease *out);
/* Extends holder's lease to now_ms + ttl_ms. 1 renewed; 0 holder no longer holds it (another
 * replica took it over, or it was released); < 0 an error. */
int results_lease_renew(struct sql_conn *db, const char *installed_app_id, const char *unit,
                        const char *holder, int64_t now_ms, int64_t ttl_ms);
/* Gives holder's lease up (done: its work is finished, recorded until a claim clears the mark).
 * 1 released; 0 not holder's; < 0 an error. */
int results_lease_release(struct sql_conn *db, const char *installed_app_id, const char *unit,
                          const char *holder, int64_t now_ms, int done);
/* The lease row; CAPP_ENOTFOUND when the unit was never claimed or added. */
int results_lease_get(struct sql_conn *db, const char *installed_app_id, const char *unit,
                      struct results_lease *out);
/* Calls fn for every install whose `unit` lease was left unfinished: held by a holder other
 * than `except` (may be NULL) and expired before now_ms (the holder died or stalled), or
 * released without done (its holder shut down mid-way). A non-zero return from fn stops the
 * walk and is returned. */
int results_lease_each_unfinished(struct sql_conn *db, const char *unit, const char *except,
                                  int64_t now_ms,
                                  int (*fn)(void *ctx, const char *installed_app_id), void *ctx);

/* ---- the schedule: one row per install ---- */

/* The install's next scheduled run; CAPP_ENOTFOUND when it has none. */
int results_schedule_get(struct sql_conn *db, const char *installed_app_id, int64_t *next_at_ms);
/* Sets (inserts or replaces) the install's next scheduled run. */
int results_schedule_set(struct sql_conn *db, const char *installed_app_id, int64_t next_at_ms);
/* Compare-and-set: moves next_at from expected to next only when it is still expected. 1 this
 * caller claimed that due run; 0 another replica moved it first (or the row is gone). */
int results_schedule_claim(struct sql_conn *db, const char *installed_app_id, int64_t expected_ms,
                           int64_t next_ms);
/* Forgets the install's schedule (an install found inactive). */
int results_schedule_forget(struct sql_conn *db, const char *installed_app_id);
/* Calls fn for every install whose next run is due (next_at <= now_ms), with that next_at (the
 * value results_schedule_claim expects). A non-zero return from fn stops and is returned. */
int results_schedule_each_due(struct sql_conn *db, int64_t now_ms,
                              int (*fn)(void *ctx, const char *installed_app_id,
                                        int64_t next_at_ms),
                              void *ctx);

#endif
