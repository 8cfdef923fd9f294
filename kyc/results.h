/*
 * results.h — the KYC results store: one row per (install, identity) with the screening result,
 * the write-back and alert outbox state, and one row per pipeline run. This header holds what
 * every caller shares: the store and its connections, transactions, the status vocabulary and
 * the run record. The operations are split by caller:
 *   kyc/results_pipeline.h  the pipeline's write path and outbox (results_pipeline.c);
 *   kyc/results_portal.h    the portal's read queries (results_portal.c);
 * with the schema and the connections in results_db.c. The statements are capp/sql.h's portable
 * SQL: one implementation serves SQLite and PostgreSQL; callers see functions and structs,
 * never SQL.
 *
 * Tables live in the database of `kyc serve --db` (a SQLite file shared with capp's store, or
 * a PostgreSQL database), created by the migrations of component "kyc" (sql_migrate). Every row
 * carries its installed_app_id and every query is scoped by it: installs never see each
 * other's results.
 *
 * Several writers (PostgreSQL replicas, or threads on their own connections): a row a
 * transaction reads to decide what it writes is read FOR UPDATE (sql_for_update), counters
 * shared by writers are added in one statement (results_run_add), so concurrent transactions
 * end as if they ran one after the other, as SQLite's one write lock makes them.
 *
 * Status state machine (docs/kyc.md has the picture):
 *
 *   (unscreened) ──screen──▶ clear | needs_review | hit | error
 *   clear|needs_review|hit|error ──re-screen (identity or lists changed)──▶ computed again
 *   needs_review|hit|error|clear ──reviewer decision──▶ approved | rejected
 *   approved|rejected ──re-screen with a different basis (new data, other matches)──▶ computed
 *   approved|rejected ──reviewer reopens──▶ needs_review
 *
 * "computed" is derived from the checks: a screening score in the hit band → hit; in the review
 * band → needs_review (reason sanctions_match); a high-risk data-quality finding (minor,
 * dob_invalid, missing name, pii_tokenized) → needs_review; medium findings (format problems)
 * keep clear with risk "medium" and their reasons; a screening failure → error. A decision stays
 * while the basis (computed status + reasons + matched list entries) it was made on stays.
 *
 * Outbox (record intent locally, call Cloud, then mark done):
 *   writeback_state  'none' nothing to write · 'pending' payload not yet written (also while
 *                    data:write is missing) · 'done' payload written (writeback_hash says which)
 *                    · 'failed' Cloud refused it for good (4xx); a new result makes it pending.
 *   alert_state      'none' no alert needed · 'wanted' needs one, not yet asked for (also while
 *                    alerts:write is missing) · 'creating' intent durable, create call may be in
 *                    flight · 'open' created, anomaly_id stored · 'resolving' a decision wants it
 *                    resolved · 'resolved' · 'uncertain' the create call's outcome is unknown
 *                    (timeout/5xx/crash): reconciled through alerts:read, never re-created blind
 *                    · 'failed' Cloud refused it (4xx).
 *
 * Threads: a struct results_store hands each thread its own connection (results_conn), opened
 * on first use (STYLE rule 7). Functions taking a connection use that connection only; the
 * review and audit modules (kyc/review.h, kyc/audit.h) work on the same connection, so one
 * transaction (results_begin) can hold results rows and their audit records.
 * JSON out-parameters are new references the caller decrefs. Strings passed in are borrowed.
 */
#ifndef KYC_RESULTS_H
#define KYC_RESULTS_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "capp/sql.h"
#include "capp/store.h"

#define RESULTS_PAGE_SIZE_MAX   200
#define RESULTS_NAME_SEARCH_MAX 128
#define RESULTS_HIST_BUCKETS    20
#define RESULTS_STATUS_CAP      16
#define RESULTS_HASH_CAP        65

/* Status values (static strings). */
#define RESULTS_CLEAR        "clear"
#define RESULTS_NEEDS_REVIEW "needs_review"
#define RESULTS_HIT          "hit"
#define RESULTS_APPROVED     "approved"
#define RESULTS_REJECTED     "rejected"
#define RESULTS_ERROR        "error"

struct results_store;

/* One thread's connection to the results store, as callers hold it: they pass it to the
 * results_* functions — and to kyc/review.h and kyc/reviewers.h, whose tables live in the same
 * database, so one transaction can span them — and never look inside it. It is a capp/sql.h
 * connection (SQLite or PostgreSQL). kyc/audit.h still takes the SQLite handle under it
 * (sql_sqlite_handle) until audit.c is written against capp/sql.h. */
typedef struct sql_conn results_db;

/* Opens the store on target (a SQLite path; capp/sql.h), migrating it, and keeps one
 * connection per thread. */
int results_store_open(const char *target, struct results_store **out);
void results_store_close(struct results_store *rs);
/* The calling thread's connection (tuned); NULL when it cannot be opened (logged). */
results_db *results_conn(struct results_store *rs);
/* A connection of the caller's own, for a thread that outlives its opener's (the pipeline's
 * committer), tuned like results_conn's; closed with results_conn_close. */
int results_conn_open(struct results_store *rs, results_db **out);
void results_conn_close(results_db *db);

/* A write transaction on db: results_* calls made inside it (and the audit records written on
 * the same connection) commit or roll back together. */
int results_begin(results_db *db);
int results_commit(results_db *db);
void results_rollback(results_db *db);

/* A millisecond timestamp column as an RFC 3339 JSON string (JSON null for SQL NULL): for the
 * modules with their own tables on the results connection (kyc/review.c). */
json_t *results_column_time(sqlite3_stmt *st, int col);
json_t *results_sql_column_time(struct sql_stmt *st, int col);

/* 1 when s is one of the six statuses. */
int results_status_valid(const char *s);
/* The metadata kyc_status for a status: clear/approved → "verified", the rest as named. */
const char *results_kyc_status(const char *status);

/* ---- runs ---- */

#define RESULTS_RUN_COUNTERS 11 /* fetched .. write_ms below */

struct results_run {
    int64_t run_id;
    char trigger[16]; /* install | startup | manual | schedule | lists | decision */
    char state[16];   /* running | done | failed | stopped */
    int64_t started_at_ms, finished_at_ms;
    long long fetched, screened, unchanged, written, alerts_created, alerts_resolved, errors,
        rate_limited;
    long long fetch_ms, screen_ms, write_ms;
    char message[256];
};

/* A run's row to JSON (the same shape as results_runs items, kyc/results_portal.h). */
json_t *results_run_json(const struct results_run *run);

#endif
