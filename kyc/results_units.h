/*
 * results_units.h — an install's run cut into work units that `kyc serve` replicas share: the
 * walker (the holder of the install's "run" lease, kyc/results_leases.h) writes each page of the
 * identities it found new or changed as one unit row; every replica's unit workers claim units,
 * check them and store their results, then mark them done; the walker waits for all its units
 * before it finishes the run.
 *
 * A unit is claimed under a lease (holder, lease_until) that its worker renews while it works.
 * A worker that dies stops renewing; when the lease expires another worker claims the unit
 * again (taken_from names the dead holder). Only units of a live run are claimable: the run's
 * walker must still hold the install's run lease — a run whose walker died or lost its lease is
 * walked again by the replica that takes the run over, which first drops the old run's units.
 *
 * Tables are created by the migrations of component "kyc_units" (results_units_migrate), in
 * portable SQL (capp/sql.h), on SQLite and PostgreSQL, in the results database. Every function is
 * one statement on the connection it is given, except results_unit_claim (one transaction).
 * Strings passed in are borrowed.
 */
#ifndef KYC_RESULTS_UNITS_H
#define KYC_RESULTS_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "kyc/results_leases.h"

struct sql_conn;

#define RESULTS_UNIT_RUN_CAP 96  /* a run key ("<walker holder>:<start ms>") and its NUL */
#define RESULTS_UNIT_ID_CAP  130 /* an installed_app_id (STORE_ID_CAP or more) */

/* Creates (or upgrades) the unit table; safe when replicas start at once. */
int results_units_migrate(struct sql_conn *db);

/* Adds the free unit unit_no of the run (one INSERT): payload is the JSON array of the
 * identities as fetched, lists_key the list generation they are to be checked against (only a
 * worker with the same generation loaded claims it), walker the run lease's holder. */
int results_unit_add(struct sql_conn *db, const char *installed_app_id, const char *run_key,
                     int64_t unit_no, const char *walker, const char *lists_key,
                     const char *payload);

/* A claimed unit. */
struct results_unit {
    char installed_app_id[RESULTS_UNIT_ID_CAP];
    char run_key[RESULTS_UNIT_RUN_CAP];
    int64_t unit_no;
    char taken_from[RESULTS_LEASE_HOLDER_CAP]; /* whose expired lease this claim took, "" none */
    int64_t attempts;                          /* claims so far, this one included */
    char *payload;                             /* malloc'd; the caller frees it */
};

/* Claims one free unit (not done; no live lease) of any install whose run is live (its walker
 * still holds the install's run lease at now_ms) and whose lists_key is lists_key, in one
 * transaction. holder is the worker (unique per worker), replica its process's holder id (kept
 * on the row: whose outbox got the unit's work). On PostgreSQL the candidate row is read FOR UPDATE
 * SKIP LOCKED, so workers claiming at once each get a different unit without waiting on each other;
 * on SQLite the transaction's one write lock (BEGIN IMMEDIATE) does the same. 1 claimed (out
 * filled); 0 none; < 0 an error. */
int results_unit_claim(struct sql_conn *db, const char *holder, const char *replica,
                       const char *lists_key, int64_t now_ms, int64_t ttl_ms,
                       struct results_unit *out);
/* Extends holder's unit lease to now_ms + ttl_ms. 1 renewed; 0 not holder's any more (it
 * expired and another worker took it, or the unit is gone); < 0 an error. */
int results_unit_renew(struct sql_conn *db, const struct results_unit *u, const char *holder,
                       int64_t now_ms, int64_t ttl_ms);
/* Marks holder's unit finished (failed: given up after too many attempts), with what its worker
 * did (for the run's progress), and drops its payload. Idempotent: 1 marked; 0 not holder's
 * (another worker has it, or it is done or gone); < 0 an error. */
int results_unit_finish(struct sql_conn *db, const struct results_unit *u, const char *holder,
                        int failed, int64_t screened, int64_t errors, int64_t screen_ms);
/* Gives holder's unit back unfinished (claimable again at once). 1, 0 not holder's, < 0. */
int results_unit_release(struct sql_conn *db, const struct results_unit *u, const char *holder);

/* A run's units so far. */
struct results_units_progress {
    int64_t units, finished, failed;     /* finished counts the failed ones */
    int64_t screened, errors, screen_ms; /* sums over the finished units */
};
int results_units_progress(struct sql_conn *db, const char *installed_app_id, const char *run_key,
                           struct results_units_progress *out);
/* How many of the run's units another replica may have left work of behind: units taken over
 * from a worker (claimed more than once), and units finished by a replica other than self (the
 * replica column) whose presence lease (installed_app_id = its holder id, unit
 * RESULTS_LEASE_ALIVE) expired before
 * now_ms — a replica that died (or stopped) drops the outbox work its writers had queued. */
int results_units_orphaned(struct sql_conn *db, const char *installed_app_id, const char *run_key,
                           const char *self, int64_t now_ms, int64_t *n);

/* Deletes the install's units of runs other than keep_run_key that no worker holds a live lease
 * on; *left gets how many such units remain (held by a live worker: wait and call again). */
int results_units_forget_others(struct sql_conn *db, const char *installed_app_id,
                                const char *keep_run_key, int64_t now_ms, int64_t *left);

#endif
