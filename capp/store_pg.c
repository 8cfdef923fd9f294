/*
 * PostgreSQL install store: the store.h contract for any number of replicas sharing one
 * database. Written against capp/sql.h in its portable SQL (so it also ran on a SQLite file,
 * which exercised it before the PostgreSQL driver existed; store_open gives SQLite paths to
 * store_sqlite.c), except the launch-minting statement (below), which needs PostgreSQL.
 *
 * Events: store_apply_event_async queues a deep copy; a small pool of event workers, each with
 * its own connection (sql_pool), decides one event per transaction. The transaction first takes
 * an advisory lock on the install ("capp_install:<installed_app_id>", sql_xact_lock), so two
 * replicas deciding events for the same install serialise, and under READ COMMITTED every
 * statement after the lock sees what the other committed: Cloud's retry reaching another
 * replica reads the idempotency record and is a duplicate. The record's PRIMARY KEY is the
 * backstop: a unique violation (or a deadlock / serialization failure) rolls back and decides
 * the event again from scratch. The first install's pin is serialised the same way on
 * "capp_app_pin", taken only while no app is pinned. COMMIT returns once the WAL is flushed
 * (synchronous_commit stays on): durable on return. Group commit is PostgreSQL's: the workers'
 * commits waiting on one WAL flush share it, so throughput grows with concurrent events and no
 * event connects or waits for a batch.
 *
 * Launch tokens and sessions are rows, stored by hash only. launch_take is one
 * DELETE … RETURNING, so of any number of concurrent takers on any replica exactly one gets the
 * row. Launch tokens live in an UNLOGGED table: a 60 s single-use token is not worth a WAL
 * flush per launch; a server crash empties the table and costs a relaunch, as a restart of the
 * SQLite store does. The uninstall transaction deletes the install's sessions and tokens.
 *
 * Launches (store_launch_mint, the portal generator's step): a minter thread (MINTERS of them)
 * takes every launch queued while its previous statement ran (as group commit does, up to
 * MINT_BATCH) and mints them in one statement: the launches as arrays (unnest), one INSERT … SELECT
 * that joins each to its install and inserts the token only where store_launch_allowed() holds, and
 * the install rows returned in the launches' order; one snapshot, so each launch's install and
 * whether its token went in agree. The HTTP request is deferred meanwhile. This statement is
 * PostgreSQL's own (arrays, casts, a data-modifying WITH), not the portable dialect. Before, a
 * launch was two round trips on the request thread (read the install, insert the token) and
 * the two HTTP threads waited on them: 3.5-5.6k launches/s through one replica here, the
 * server's CPU spent per statement (bench/README.md "bench/launch").
 *
 * Install reads: no cache. The SQLite store caches installs per thread and bumps an in-process
 * generation on every commit; across replicas a cache must be proven fresh before each hit or
 * a replica could serve an install another replica uninstalled a moment ago. LISTEN/NOTIFY
 * cannot prove it (a notification arrives asynchronously, after the uninstalling replica has
 * already answered), and a version check is one round trip on the thread's connection, as
 * reading the row by its primary key is (a prepared statement; the two measured within each
 * other's noise: docs/capp.md). So install_get reads through, and sees every commit that
 * finished before it started, whichever replica made it.
 *
 * Housekeeping: a thread per store deletes sessions expired for a day and launch tokens
 * expired for two TTLs (so a late redemption still reads "expired"), every 30 s; replicas doing
 * the same delete concurrently is harmless.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assert.h"
#include "clock.h"
#include "err.h"
#include "limits.h"
#include "log.h"
#include "pg_array.h"
#include "sql.h"
#include "store.h"
#include "store_internal.h"

/* Concurrent event transactions per store: the more commits wait on one WAL flush, the more
 * share it (through one store on this 2-core VM: 8 gave 1,100-1,400 durable events/s, 16 gave
 * 1,500-1,700, 32 gave 2,000-2,400), but each is a connection once used, and several replicas
 * must stay inside max_connections (100 by default). */
#define EVENT_WORKERS          16
#define EVENT_ATTEMPTS         5
#define HOUSEKEEPING_MS        30000
#define SESSION_PURGE_GRACE_MS (24 * 3600 * 1000LL)
#define LAUNCH_PURGE_GRACE_MS  (2 * CAPP_LAUNCH_TOKEN_TTL_SECONDS * 1000LL)
#define EACH_PAGE              256
/* Launches per minting statement: bounds the statement's parameters (a few KB per launch). */
#define MINT_BATCH 256
/* Minting statements in flight per store: while one runs, the other takes what queued
 * meanwhile (two measured 14.8k and 15.6k launches/s against one's 12.8k and 9.0k, alternated
 * on this 2-core VM: bench/README.md). Each is a connection. */
#define MINTERS 2

/* The schema of store_sqlite.c's three migrations as one, plus the launch-token table. */
#define SCHEMA_COMMON                                                            \
    "CREATE TABLE installs ("                                                    \
    " installed_app_id TEXT PRIMARY KEY,"                                        \
    " app_id TEXT NOT NULL,"                                                     \
    " organization_id TEXT,"                                                     \
    " instance_id TEXT NOT NULL,"                                                \
    " api_key_prefix TEXT NOT NULL,"                                             \
    " granted_permissions TEXT NOT NULL,"                                        \
    " status TEXT NOT NULL CHECK (status IN ('active','inactive')),"             \
    " sealed_api_key TEXT,"                                                      \
    " key_invalid BIGINT NOT NULL DEFAULT 0,"                                    \
    " created_at BIGINT NOT NULL,"                                               \
    " updated_at BIGINT NOT NULL,"                                               \
    " uninstalled_at TEXT,"                                                      \
    " api_key_sha256 TEXT,"                                                      \
    " uninstall_pending_since BIGINT);"                                          \
    "CREATE TABLE lifecycle_events ("                                            \
    " idempotency_key TEXT PRIMARY KEY,"                                         \
    " kind TEXT NOT NULL CHECK (kind IN ('install','uninstall')),"               \
    " installed_app_id TEXT NOT NULL,"                                           \
    " outcome TEXT NOT NULL,"                                                    \
    " received_at BIGINT NOT NULL);"                                             \
    "CREATE TABLE portal_sessions ("                                             \
    " token_hash TEXT PRIMARY KEY,"                                              \
    " installed_app_id TEXT NOT NULL,"                                           \
    " organization_id TEXT,"                                                     \
    " instance_id TEXT NOT NULL,"                                                \
    " user_id TEXT,"                                                             \
    " created_at BIGINT NOT NULL,"                                               \
    " expires_at BIGINT NOT NULL);"                                              \
    "CREATE INDEX portal_sessions_install ON portal_sessions(installed_app_id);" \
    "CREATE INDEX portal_sessions_expiry ON portal_sessions(expires_at);"        \
    "CREATE TABLE capp_app_pin ("                                                \
    " id BIGINT PRIMARY KEY CHECK (id = 1),"                                     \
    " app_id TEXT NOT NULL,"                                                     \
    " pinned_at BIGINT NOT NULL);"
#define LAUNCH_TABLE                                                                   \
    " capp_launch_tokens ("                                                            \
    " token_hash TEXT PRIMARY KEY,"                                                    \
    " installed_app_id TEXT NOT NULL,"                                                 \
    " organization_id TEXT,"                                                           \
    " instance_id TEXT NOT NULL,"                                                      \
    " user_id TEXT,"                                                                   \
    " created_at BIGINT NOT NULL,"                                                     \
    " expires_at BIGINT NOT NULL);"                                                    \
    "CREATE INDEX capp_launch_tokens_install ON capp_launch_tokens(installed_app_id);" \
    "CREATE INDEX capp_launch_tokens_expiry ON capp_launch_tokens(expires_at);"

static const struct sql_migration migrations[] = {
    {1, SCHEMA_COMMON "CREATE TABLE" LAUNCH_TABLE,
     SCHEMA_COMMON "CREATE UNLOGGED TABLE" LAUNCH_TABLE},
};

struct job {
    struct job *next;
    struct store_event *ev; /* store_event_dup */
    store_event_done_fn done;
    void *ctx;
};

/* A launch queued for the minter (pg_launch_mint). */
struct mint_job {
    struct mint_job *next;
    struct store_launch launch;
    char app_id[STORE_ID_CAP]; /* "" when the caller only reads */
    store_launch_done_fn done;
    void *ctx;
};

struct pg_store {
    struct store base;
    struct sql_pool *pool; /* one connection per thread: callers, workers, housekeeping */
    pthread_mutex_t lock;
    pthread_cond_t wake;    /* workers: a job or stopping */
    pthread_cond_t hk_wake; /* housekeeping: stopping */
    struct job *head, *tail;
    int stopping;
    pthread_t workers[EVENT_WORKERS];
    int worker_count;
    pthread_t housekeeper;
    int housekeeper_started;
    pthread_cond_t mint_wake; /* minter: a launch or stopping */
    struct mint_job *mint_head, *mint_tail;
    pthread_t minters[MINTERS];
    int minter_count;
};

static struct sql_conn *conn(struct pg_store *s)
{
    return sql_pool_get(s->pool, NULL);
}

/* ---- deciding an event ---- */

static int load_pin(struct sql_conn *c, char out[STORE_ID_CAP])
{
    const struct sql_text_out outs[] = {{out, STORE_ID_CAP}};
    return sql_load_texts(c, STORE_SQL_LOAD_PIN, NULL, 0, outs, COUNTOF(outs));
}

static int save_pin(struct sql_conn *c, const char *app_id, int64_t now)
{
    return sql_run(c, STORE_SQL_SAVE_PIN, (const char *const[]){app_id}, 1, &now, 1, NULL);
}

/* Everything an event is decided against, in one round trip: the app pin, the idempotency
 * record of the event's key and the stored install. */
struct facts {
    char pinned[STORE_ID_CAP]; /* "" when none */
    char recorded_kind[16];    /* "" when the key was never recorded */
    char recorded_id[STORE_ID_CAP];
    struct store_stored st;
};

static int load_facts(struct sql_conn *c, const struct store_event *ev, struct facts *f)
{
    memset(f, 0, sizeof *f);
    struct store_stored *st = &f->st;
    char status[16], pending[32];
    const struct sql_text_out outs[] = {
        {f->pinned, sizeof f->pinned},
        {f->recorded_kind, sizeof f->recorded_kind},
        {f->recorded_id, sizeof f->recorded_id},
        {st->app_id, sizeof st->app_id},
        {st->organization_id, sizeof st->organization_id},
        {st->instance_id, sizeof st->instance_id},
        {st->api_key_prefix, sizeof st->api_key_prefix},
        {st->fingerprint, sizeof st->fingerprint},
        {status, sizeof status},
        {pending, sizeof pending},
    };
    const char *texts[] = {ev->idempotency_key, ev->installed_app_id};
    int rc = sql_load_texts(
        c,
        "SELECT (SELECT app_id FROM capp_app_pin WHERE id = 1),"
        " (SELECT kind FROM lifecycle_events WHERE idempotency_key = ?1),"
        " (SELECT installed_app_id FROM lifecycle_events WHERE idempotency_key = ?1),"
        " i.app_id, i.organization_id, i.instance_id, i.api_key_prefix, i.api_key_sha256,"
        " i.status, i.uninstall_pending_since"
        " FROM (SELECT 1 AS one) AS here LEFT JOIN installs AS i ON i.installed_app_id = ?2",
        texts, COUNTOF(texts), outs, COUNTOF(outs));
    if (rc)
        return rc;
    st->known = status[0] != '\0';
    st->active = strcmp(status, "active") == 0;
    st->pending = pending[0] != '\0';
    return 0;
}

/* Records (or re-arms, see store_decide) the event's idempotency key. */
static int record_event(struct sql_conn *c, const struct store_event *ev, const char *outcome,
                        int64_t now)
{
    const char *texts[] = {ev->idempotency_key,
                           ev->kind == STORE_EVENT_INSTALL ? "install" : "uninstall",
                           ev->installed_app_id, outcome};
    return sql_run(c, STORE_SQL_RECORD_EVENT, texts, COUNTOF(texts), &now, 1, NULL);
}

static int apply_install(struct sql_conn *c, const struct store_event *ev, int64_t now)
{
    char *perms_text = store_permissions_json(ev);
    if (!perms_text)
        return CAPP_ENOMEM;
    const char *texts[] = {
        ev->installed_app_id, ev->app_id, ev->organization_id, ev->instance_id,
        ev->api_key_prefix,   perms_text, ev->sealed_api_key,  ev->api_key_fingerprint};
    const int64_t ints[] = {now, now};
    int rc = sql_run(c, STORE_SQL_UPSERT_INSTALL, texts, COUNTOF(texts), ints, COUNTOF(ints), NULL);
    free(perms_text);
    return rc;
}

static int apply_uninstall(struct sql_conn *c, const struct store_event *ev, int64_t now)
{
    char stamp[40];
    const char *when = ev->uninstalled_at;
    if (!when) {
        clock_format_rfc3339(now, stamp, sizeof stamp);
        when = stamp;
    }
    /* Inactive, sessions and launch tokens gone in one transaction (spec D7), but the key
     * ciphertext stays until Cloud confirms the uninstall: the event may be forged (D1'). */
    struct sql_stmt *st;
    int rc = sql_prepare(c, STORE_SQL_UNINSTALL, &st);
    if (rc)
        return rc;
    rc = sql_bind_text(st, 1, when);
    if (rc == 0)
        rc = sql_bind_int64(st, 2, now);
    if (rc == 0)
        rc = sql_bind_text(st, 3, ev->installed_app_id);
    if (rc == 0)
        rc = sql_step(st);
    sql_finalize(st);
    const char *texts[] = {ev->installed_app_id};
    if (rc == 0)
        rc = sql_run(c, "DELETE FROM portal_sessions WHERE installed_app_id = ?", texts, 1, NULL, 0,
                     NULL);
    if (rc == 0)
        rc = sql_run(c, "DELETE FROM capp_launch_tokens WHERE installed_app_id = ?", texts, 1, NULL,
                     0, NULL);
    return rc;
}

/* One attempt at an event: BEGIN, lock the install, decide, apply, COMMIT. */
static int decide_once(struct sql_conn *c, const struct store_event *ev,
                       enum store_event_outcome *outcome)
{
    int64_t now = clock_now_ms();
    char lock_key[16 + STORE_ID_CAP];
    snprintf(lock_key, sizeof lock_key, "capp_install:%s", ev->installed_app_id);
    int rc = sql_begin(c);
    if (rc == 0)
        rc = sql_xact_lock(c, lock_key);
    struct facts f;
    if (rc == 0)
        rc = load_facts(c, ev, &f);
    /* No app pinned yet: first installs for two apps on two replicas must pin one, so they
     * serialise here, and the one that waited reads the other's pin. */
    if (rc == 0 && ev->pin_app_id && !f.pinned[0] && ev->kind == STORE_EVENT_INSTALL) {
        rc = sql_xact_lock(c, "capp_app_pin");
        if (rc == 0)
            rc = load_facts(c, ev, &f);
    }
    if (rc) {
        sql_rollback(c);
        return rc;
    }
    int pin_now = 0;
    enum store_action action =
        store_decide(ev, f.pinned, f.recorded_kind[0] ? f.recorded_kind : NULL, f.recorded_id,
                     &f.st, outcome, &pin_now);
    switch (action) {
    case STORE_ACTION_NONE:
        sql_rollback(c); /* refusals and duplicates write nothing */
        return 0;
    case STORE_ACTION_RECORD_UNKNOWN:
        rc = record_event(c, ev, "unknown_install", now);
        break;
    case STORE_ACTION_INSTALL:
        rc = record_event(c, ev, "applied", now);
        if (rc == 0)
            rc = apply_install(c, ev, now);
        if (rc == 0 && pin_now)
            rc = save_pin(c, ev->app_id, now);
        break;
    case STORE_ACTION_UNINSTALL:
        rc = record_event(c, ev, "applied", now);
        if (rc == 0)
            rc = apply_uninstall(c, ev, now);
        break;
    }
    if (rc == 0)
        rc = sql_commit(c);
    if (rc)
        sql_rollback(c);
    return rc;
}

/* Decides ev durably. A unique violation (the record written meanwhile by a transaction that
 * did not hold our lock) or a deadlock / serialization failure is decided again from scratch:
 * the second attempt reads what the other committed (duplicate or conflict). */
static int decide_event(struct pg_store *s, const struct store_event *ev,
                        enum store_event_outcome *outcome)
{
    struct sql_conn *c = conn(s);
    if (!c)
        return CAPP_ENETWORK;
    int rc = decide_once(c, ev, outcome);
    /* A constraint that still fails on the second reading is the event's own fault (SQLite
     * reports NOT NULL as a constraint violation too): no more attempts. */
    if (rc == CAPP_EEXIST)
        rc = decide_once(c, ev, outcome);
    for (int attempt = 1; rc == CAPP_EBUSY && attempt < EVENT_ATTEMPTS; attempt++)
        rc = decide_once(c, ev, outcome);
    return rc;
}

static void *worker_main(void *arg)
{
    struct pg_store *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->wake, &s->lock);
        struct job *j = s->head;
        if (j) {
            s->head = j->next;
            if (!s->head)
                s->tail = NULL;
        }
        pthread_mutex_unlock(&s->lock);
        if (!j)
            break; /* stopping, and the queue is drained */
        enum store_event_outcome outcome = STORE_OUTCOME_APPLIED;
        int rc = decide_event(s, j->ev, &outcome);
        /* Durable now: start or stop the install's work, then acknowledge. */
        if (rc == 0 && outcome == STORE_OUTCOME_APPLIED) {
            if (j->ev->kind == STORE_EVENT_UNINSTALL && s->base.on_uninstall)
                s->base.on_uninstall(s->base.on_uninstall_ctx, j->ev->installed_app_id);
            if (j->ev->kind == STORE_EVENT_INSTALL && s->base.on_install)
                s->base.on_install(s->base.on_install_ctx, j->ev->installed_app_id);
        }
        if (j->done)
            j->done(j->ctx, rc, outcome);
        store_event_free(j->ev);
        free(j);
    }
    sql_pool_release(s->pool);
    return NULL;
}

static int pg_apply_event(struct store *base, const struct store_event *ev,
                          store_event_done_fn done, void *ctx)
{
    struct pg_store *s = (struct pg_store *)base;
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return CAPP_ENOMEM;
    j->ev = store_event_dup(ev);
    if (!j->ev) {
        free(j);
        return CAPP_ENOMEM;
    }
    j->done = done;
    j->ctx = ctx;
    pthread_mutex_lock(&s->lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->lock);
        store_event_free(j->ev);
        free(j);
        return CAPP_ESHUTDOWN;
    }
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* ---- reads ---- */

/* Reads an install row laid out as STORE_SQL_INSTALL_COLUMNS, starting at column first, from a
 * stepped statement: every column but the sealed key (first + 7), which only install_read
 * copies (the launch minter's rows carry a NULL there). */
static void install_from_row(struct sql_stmt *st, int first, struct store_install *out)
{
    sql_column_copy(st, first, out->installed_app_id, sizeof out->installed_app_id);
    sql_column_copy(st, first + 1, out->app_id, sizeof out->app_id);
    sql_column_copy(st, first + 2, out->organization_id, sizeof out->organization_id);
    sql_column_copy(st, first + 3, out->instance_id, sizeof out->instance_id);
    sql_column_copy(st, first + 4, out->api_key_prefix, sizeof out->api_key_prefix);
    store_permissions_parse(sql_column_text(st, first + 5), out);
    const char *status = sql_column_text(st, first + 6);
    out->active = status && strcmp(status, "active") == 0;
    out->key_invalid = (int)sql_column_int64(st, first + 8);
    out->created_at_ms = sql_column_int64(st, first + 9);
    out->updated_at_ms = sql_column_int64(st, first + 10);
    sql_column_copy(st, first + 11, out->uninstalled_at, sizeof out->uninstalled_at);
    out->uninstall_pending_since_ms = sql_column_int64(st, first + 12);
}

static int install_read(struct sql_conn *c, const char *id, struct store_install *out)
{
    memset(out, 0, sizeof *out);
    struct sql_stmt *st;
    int rc = sql_prepare(
        c, "SELECT " STORE_SQL_INSTALL_COLUMNS " FROM installs WHERE installed_app_id = ?", &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, id);
    int row = sql_step(st);
    rc = row < 0 ? row : row == 0 ? CAPP_ENOTFOUND : 0;
    if (rc == 0) {
        install_from_row(st, 0, out);
        const char *sealed = sql_column_text(st, 7);
        if (sealed && !(out->sealed_api_key = strdup(sealed)))
            rc = CAPP_ENOMEM;
    }
    sql_finalize(st);
    return rc;
}

static int pg_install_get(struct store *base, const char *id, struct store_install *out)
{
    memset(out, 0, sizeof *out);
    struct sql_conn *c = conn((struct pg_store *)base);
    return c ? install_read(c, id, out) : CAPP_ENETWORK;
}

/* Reads a session or launch-token row (STORE_SQL_SESSION_COLUMNS) from a stepped statement. */
static void session_from_row(struct sql_stmt *st, struct store_session *out)
{
    sql_column_copy(st, 0, out->token_hash, sizeof out->token_hash);
    sql_column_copy(st, 1, out->installed_app_id, sizeof out->installed_app_id);
    sql_column_copy(st, 2, out->organization_id, sizeof out->organization_id);
    sql_column_copy(st, 3, out->instance_id, sizeof out->instance_id);
    sql_column_copy(st, 4, out->user_id, sizeof out->user_id);
    out->created_at_ms = sql_column_int64(st, 5);
    out->expires_at_ms = sql_column_int64(st, 6);
}

/* Runs sql (binding hash) and reads the one row it returns, if any. */
static int session_row(struct pg_store *s, const char *sql, const char *hash,
                       struct store_session *out)
{
    memset(out, 0, sizeof *out);
    struct sql_conn *c = conn(s);
    if (!c)
        return CAPP_ENETWORK;
    struct sql_stmt *st;
    int rc = sql_prepare(c, sql, &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, hash);
    int row = sql_step(st);
    rc = row < 0 ? row : row == 0 ? CAPP_ENOTFOUND : 0;
    if (rc == 0)
        session_from_row(st, out);
    sql_finalize(st);
    return rc;
}

static int pg_session_get(struct store *base, const char *hash, struct store_session *out)
{
    return session_row((struct pg_store *)base,
                       "SELECT " STORE_SQL_SESSION_COLUMNS
                       " FROM portal_sessions WHERE token_hash = ?",
                       hash, out);
}

/* Exactly one of any number of concurrent takers, on any replica, gets the row. */
static int pg_launch_take(struct store *base, const char *hash, struct store_launch *out)
{
    return session_row(
        (struct pg_store *)base,
        "DELETE FROM capp_launch_tokens WHERE token_hash = ? RETURNING " STORE_SQL_SESSION_COLUMNS,
        hash, out);
}

/* ---- launches: one statement for every launch queued meanwhile ---- */

/* Mints a batch of launches (MINT_BATCH at most) in one statement. Reads and insert see one
 * snapshot, so each job's install row and whether its token went in agree, and the insert's
 * guard is store_launch_allowed() in SQL. Each row is n, minted, then the install in
 * STORE_SQL_INSTALL_COLUMNS' layout (install_from_row), a NULL in the sealed key's place: a launch
 * does not need the key. */
#define MINT_COLUMNS 8
#define MINT_SQL                                                                                  \
    "WITH r AS (SELECT * FROM unnest(?1::text[], ?2::text[], ?3::text[], ?4::text[], ?5::text[]," \
    " ?6::text[], ?7::bigint[], ?8::bigint[]) WITH ORDINALITY AS r(token_hash, installed_app_id," \
    " app_id, organization_id, instance_id, user_id, created_at, expires_at, n)),"                \
    " ins AS (INSERT INTO capp_launch_tokens(" STORE_SQL_SESSION_COLUMNS ")"                      \
    " SELECT r.token_hash, r.installed_app_id,"                                                   \
    " NULLIF(COALESCE(r.organization_id, i.organization_id), ''), r.instance_id, r.user_id,"      \
    " r.created_at, r.expires_at FROM r JOIN installs AS i"                                       \
    " ON i.installed_app_id = r.installed_app_id"                                                 \
    " WHERE i.status = 'active' AND i.app_id = r.app_id AND i.instance_id = r.instance_id"        \
    " AND (r.organization_id IS NULL OR COALESCE(i.organization_id, '') = ''"                     \
    " OR i.organization_id = r.organization_id) RETURNING token_hash)"                            \
    " SELECT r.n, CASE WHEN ins.token_hash IS NULL THEN 0 ELSE 1 END, i.installed_app_id,"        \
    " i.app_id, i.organization_id, i.instance_id, i.api_key_prefix, i.granted_permissions,"       \
    " i.status, NULL, i.key_invalid, i.created_at, i.updated_at, i.uninstalled_at,"               \
    " i.uninstall_pending_since FROM r"                                                           \
    " LEFT JOIN installs AS i ON i.installed_app_id = r.installed_app_id"                         \
    " LEFT JOIN ins ON ins.token_hash = r.token_hash ORDER BY r.n"

static int mint_run(struct pg_store *s, struct mint_job **jobs, int n)
{
    struct sql_conn *c = conn(s);
    struct pg_array cols[MINT_COLUMNS];
    for (int k = 0; k < MINT_COLUMNS; k++)
        pg_array_init(&cols[k]);
    for (int j = 0; j < n; j++) {
        const struct store_launch *l = &jobs[j]->launch;
        const char *v[] = {l->token_hash,      l->installed_app_id, jobs[j]->app_id,
                           l->organization_id, l->instance_id,      l->user_id};
        /* "" is an absent id (no organization or user): NULL in the row */
        for (int k = 0; k < (int)COUNTOF(v); k++)
            pg_array_add_text(&cols[k], *v[k] ? v[k] : NULL);
        pg_array_add_int(&cols[6], l->created_at_ms); /* ?7 and ?8, the bigint[] */
        pg_array_add_int(&cols[7], l->expires_at_ms);
    }
    const char *text[MINT_COLUMNS];
    int rc = 0;
    for (int k = 0; k < MINT_COLUMNS; k++)
        if (!(text[k] = pg_array_text(&cols[k])))
            rc = CAPP_ENOMEM;
    struct sql_stmt *st = NULL;
    if (rc == 0 && !c)
        rc = CAPP_ENETWORK;
    else if (rc == 0)
        rc = sql_prepare(c, MINT_SQL, &st);
    for (int k = 0; rc == 0 && k < MINT_COLUMNS; k++)
        rc = sql_bind_text(st, k + 1, text[k]);
    for (int k = 0; k < MINT_COLUMNS; k++)
        pg_array_free(&cols[k]);
    /* One row per job, in order; each job is answered as its row is read. */
    int answered = 0, row = 0;
    struct store_install in;
    while (rc == 0 && (row = sql_step(st)) == 1) {
        int64_t at = sql_column_int64(st, 0) - 1;
        if (at != answered) {
            rc = CAPP_EDB; /* cannot happen: the statement returns every n once, in order */
            break;
        }
        struct mint_job *job = jobs[answered++];
        if (sql_column_is_null(st, 2)) {
            job->done(job->ctx, CAPP_ENOTFOUND, NULL, 0);
            continue;
        }
        memset(&in, 0, sizeof in);
        install_from_row(st, 2, &in);
        job->done(job->ctx, 0, &in, (int)sql_column_int64(st, 1));
    }
    if (rc == 0 && row < 0)
        rc = row;
    if (rc == 0 && answered != n)
        rc = CAPP_EDB;
    sql_finalize(st);
    /* The jobs not answered yet (all of them when the statement failed) fail together. */
    for (int j = answered; j < n; j++)
        jobs[j]->done(jobs[j]->ctx, rc, NULL, 0);
    return rc;
}

static void *minter_main(void *arg)
{
    struct pg_store *s = arg;
    struct mint_job *jobs[MINT_BATCH];
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!s->mint_head && !s->stopping)
            pthread_cond_wait(&s->mint_wake, &s->lock);
        /* Every launch queued while the previous statement ran, as group commit does. */
        int n = 0;
        while (n < MINT_BATCH && s->mint_head) {
            jobs[n++] = s->mint_head;
            s->mint_head = s->mint_head->next;
        }
        if (!s->mint_head)
            s->mint_tail = NULL;
        pthread_mutex_unlock(&s->lock);
        if (n == 0)
            break; /* stopping, and the queue is drained */
        mint_run(s, jobs, n);
        for (int j = 0; j < n; j++)
            free(jobs[j]);
    }
    sql_pool_release(s->pool);
    return NULL;
}

static int pg_launch_mint(struct store *base, const struct store_launch *launch, const char *app_id,
                          store_launch_done_fn done, void *ctx)
{
    struct pg_store *s = (struct pg_store *)base;
    if (strlen(launch->token_hash) != STORE_HASH_CAP - 1 ||
        (app_id && strlen(app_id) >= STORE_ID_CAP))
        return CAPP_EINVAL;
    struct mint_job *j = calloc(1, sizeof *j);
    if (!j)
        return CAPP_ENOMEM;
    j->launch = *launch;
    if (app_id)
        snprintf(j->app_id, sizeof j->app_id, "%s", app_id);
    j->done = done;
    j->ctx = ctx;
    pthread_mutex_lock(&s->lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->lock);
        free(j);
        return CAPP_ESHUTDOWN;
    }
    if (s->mint_tail)
        s->mint_tail->next = j;
    else
        s->mint_head = j;
    s->mint_tail = j;
    pthread_cond_signal(&s->mint_wake);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* ---- writes on the caller's connection (one statement each: atomic without a lock) ---- */

static int insert_session(struct pg_store *s, const char *table_sql, const struct store_session *x)
{
    struct sql_conn *c = conn(s);
    if (!c)
        return CAPP_ENETWORK;
    const char *texts[] = {x->token_hash, x->installed_app_id,
                           x->organization_id[0] ? x->organization_id : NULL, x->instance_id,
                           x->user_id[0] ? x->user_id : NULL};
    const int64_t ints[] = {x->created_at_ms, x->expires_at_ms};
    return sql_run(c, table_sql, texts, COUNTOF(texts), ints, COUNTOF(ints), NULL);
}

static int pg_session_create(struct store *base, const struct store_session *session)
{
    return insert_session((struct pg_store *)base, STORE_SQL_INSERT_SESSION, session);
}

static int pg_launch_put(struct store *base, const struct store_launch *launch)
{
    if (strlen(launch->token_hash) != STORE_HASH_CAP - 1)
        return CAPP_EINVAL;
    return insert_session((struct pg_store *)base,
                          "INSERT INTO capp_launch_tokens(" STORE_SQL_SESSION_COLUMNS
                          ") VALUES(?, ?, ?, ?, ?, ?, ?)",
                          launch);
}

static int run_one(struct pg_store *s, const char *sql, const char *text, const int64_t *ints,
                   int nints, int64_t *changes)
{
    struct sql_conn *c = conn(s);
    if (!c)
        return CAPP_ENETWORK;
    const char *texts[] = {text};
    return sql_run(c, sql, texts, text ? 1 : 0, ints, nints, changes);
}

static int pg_session_delete(struct store *base, const char *hash)
{
    return run_one((struct pg_store *)base, "DELETE FROM portal_sessions WHERE token_hash = ?",
                   hash, NULL, 0, NULL);
}

static int pg_mark_key_invalid(struct store *base, const char *id)
{
    return run_one((struct pg_store *)base,
                   "UPDATE installs SET key_invalid = 1 WHERE installed_app_id = ?", id, NULL, 0,
                   NULL);
}

/* Both expired sessions and launch tokens, up to now_ms. */
static int purge(struct pg_store *s, int64_t sessions_until, int64_t launches_until)
{
    int rc = run_one(s, "DELETE FROM portal_sessions WHERE expires_at <= ?", NULL, &sessions_until,
                     1, NULL);
    if (rc == 0)
        rc = run_one(s, "DELETE FROM capp_launch_tokens WHERE expires_at <= ?", NULL,
                     &launches_until, 1, NULL);
    return rc;
}

static int pg_purge_expired(struct store *base, int64_t now_ms)
{
    return purge((struct pg_store *)base, now_ms, now_ms);
}

static int pg_uninstall_resolve(struct store *base, const char *id, int64_t pending_since_ms,
                                enum store_uninstall_resolution resolution)
{
    struct pg_store *s = (struct pg_store *)base;
    if (strlen(id) >= STORE_ID_CAP)
        return CAPP_EINVAL;
    /* One UPDATE whose WHERE names the pending uninstall: a reinstall committed first on any
     * replica makes it match nothing (READ COMMITTED re-checks the row it waited for). */
    const char *sql = resolution == STORE_UNINSTALL_CONFIRMED ? STORE_SQL_RESOLVE_CONFIRMED
                                                              : STORE_SQL_RESOLVE_REFUTED;
    const int64_t ints[] = {clock_now_ms(), pending_since_ms};
    int64_t changes = 0;
    int rc = run_one(s, sql, id, ints, COUNTOF(ints), &changes);
    if (rc == 0 && changes == 0)
        return CAPP_ENOTFOUND;
    /* A refuted (forged) uninstall: the install's work resumes as after an install. */
    if (rc == 0 && resolution == STORE_UNINSTALL_REFUTED && s->base.on_install)
        s->base.on_install(s->base.on_install_ctx, id);
    return rc;
}

static int pg_app_pin_get(struct store *base, char out[STORE_ID_CAP])
{
    struct sql_conn *c = conn((struct pg_store *)base);
    return c ? load_pin(c, out) : CAPP_ENETWORK;
}

static int pg_app_pin_set(struct store *base, const char *app_id)
{
    if (strlen(app_id) >= STORE_ID_CAP)
        return CAPP_EINVAL;
    struct sql_conn *c = conn((struct pg_store *)base);
    return c ? save_pin(c, app_id, clock_now_ms()) : CAPP_ENETWORK;
}

static int pg_ping(struct store *base)
{
    struct sql_conn *c = conn((struct pg_store *)base);
    return c && sql_ping(c) == 1;
}

/* Visits the installs sql selects, a page at a time by installed_app_id (results are buffered
 * whole on PostgreSQL), each read again with its key when with_key. fn may use the store. */
static int each_install(struct pg_store *s, const char *sql, int with_key,
                        store_install_visit_fn fn, void *ctx)
{
    struct sql_conn *c = conn(s);
    if (!c)
        return CAPP_ENETWORK;
    char after[STORE_ID_CAP] = "";
    for (;;) {
        char ids[EACH_PAGE][STORE_ID_CAP];
        int n = 0;
        struct sql_stmt *st;
        int rc = sql_prepare(c, sql, &st);
        if (rc)
            return rc;
        sql_bind_text(st, 1, after);
        sql_bind_int64(st, 2, EACH_PAGE);
        int row;
        while (n < EACH_PAGE && (row = sql_step(st)) == 1)
            sql_column_copy(st, 0, ids[n++], STORE_ID_CAP);
        sql_finalize(st);
        if (row < 0)
            return row;
        for (int i = 0; i < n; i++) {
            struct store_install in;
            if (install_read(c, ids[i], &in) != 0)
                continue;
            if (!with_key)
                store_install_clear(&in);
            int stop = fn(ctx, &in);
            store_install_clear(&in);
            if (stop)
                return 0;
        }
        if (n < EACH_PAGE)
            return 0;
        snprintf(after, sizeof after, "%s", ids[n - 1]);
    }
}

static int pg_install_each_active(struct store *base, store_install_visit_fn fn, void *ctx)
{
    return each_install((struct pg_store *)base,
                        "SELECT installed_app_id FROM installs WHERE status = 'active'"
                        " AND installed_app_id > ? ORDER BY installed_app_id LIMIT ?",
                        0, fn, ctx);
}

static int pg_uninstall_each_pending(struct store *base, store_install_visit_fn fn, void *ctx)
{
    return each_install((struct pg_store *)base,
                        "SELECT installed_app_id FROM installs"
                        " WHERE uninstall_pending_since IS NOT NULL AND installed_app_id > ?"
                        " ORDER BY installed_app_id LIMIT ?",
                        1, fn, ctx);
}

/* ---- housekeeping, open, close ---- */

static void *housekeeping_main(void *arg)
{
    struct pg_store *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += HOUSEKEEPING_MS / 1000;
        pthread_cond_timedwait(&s->hk_wake, &s->lock, &until);
        if (s->stopping)
            break;
        pthread_mutex_unlock(&s->lock);
        /* Expired rows are kept a while so a late request still learns "expired" (410). */
        int64_t now = clock_now_ms();
        int rc = purge(s, now - SESSION_PURGE_GRACE_MS, now - LAUNCH_PURGE_GRACE_MS);
        if (rc)
            log_warn("store.housekeeping", "error", capp_strerror(rc), NULL);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    sql_pool_release(s->pool);
    return NULL;
}

static void pg_close(struct store *base)
{
    struct pg_store *s = (struct pg_store *)base;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_broadcast(&s->wake);
    pthread_cond_broadcast(&s->hk_wake);
    pthread_cond_broadcast(&s->mint_wake);
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < s->minter_count; i++)
        pthread_join(s->minters[i], NULL); /* they answer every queued launch first */
    for (int i = 0; i < s->worker_count; i++)
        pthread_join(s->workers[i], NULL); /* they drain every queued event first */
    if (s->housekeeper_started)
        pthread_join(s->housekeeper, NULL);
    sql_pool_free(s->pool);
    pthread_cond_destroy(&s->mint_wake);
    pthread_cond_destroy(&s->hk_wake);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* A 2xx to Cloud means the event is on disk: with synchronous_commit off the server would
 * acknowledge commits it could still lose. The operator's setting is kept, but said loudly. */
static void warn_if_not_durable(struct sql_conn *c)
{
    char setting[32] = "";
    const struct sql_text_out outs[] = {{setting, sizeof setting}};
    if (sql_load_texts(c, "SHOW synchronous_commit", NULL, 0, outs, COUNTOF(outs)) == 0 &&
        strcmp(setting, "off") == 0)
        log_warn("store.not_durable", "synchronous_commit", setting, "note",
                 "lifecycle events are acknowledged before they are on disk; set"
                 " synchronous_commit to on for the app's database",
                 NULL);
}

static const struct store_ops pg_ops = {
    .apply_event = pg_apply_event,
    .install_get = pg_install_get,
    .install_mark_key_invalid = pg_mark_key_invalid,
    .session_create = pg_session_create,
    .session_get = pg_session_get,
    .session_delete = pg_session_delete,
    .launch_put = pg_launch_put,
    .launch_take = pg_launch_take,
    .launch_mint = pg_launch_mint,
    .purge_expired = pg_purge_expired,
    .install_each_active = pg_install_each_active,
    .uninstall_each_pending = pg_uninstall_each_pending,
    .uninstall_resolve = pg_uninstall_resolve,
    .app_pin_get = pg_app_pin_get,
    .app_pin_set = pg_app_pin_set,
    .close = pg_close,
    .ping = pg_ping,
};

int store_pg_open(const char *target, struct store **out)
{
    if (!target || !*target || strcmp(target, ":memory:") == 0)
        return CAPP_EINVAL;
    struct pg_store *s = calloc(1, sizeof *s);
    if (!s)
        return CAPP_ENOMEM;
    s->base.ops = &pg_ops;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->hk_wake, NULL);
    pthread_cond_init(&s->mint_wake, NULL);
    struct sql_pool_config pool = {.target = target};
    int rc = sql_pool_new(&pool, &s->pool);
    struct sql_conn *c = rc == 0 ? conn(s) : NULL;
    if (rc == 0 && !c)
        rc = CAPP_ENETWORK;
    /* Replicas starting at once migrate once (sql_migrate holds an advisory lock). */
    if (rc == 0)
        rc = sql_migrate(c, "capp", migrations, COUNTOF(migrations));
    if (rc == 0 && sql_engine_of(c) == SQL_POSTGRES)
        warn_if_not_durable(c);
    for (int i = 0; rc == 0 && i < EVENT_WORKERS; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0)
            rc = CAPP_ENOMEM;
        else
            s->worker_count++;
    }
    if (rc == 0) {
        if (pthread_create(&s->housekeeper, NULL, housekeeping_main, s) != 0)
            rc = CAPP_ENOMEM;
        else
            s->housekeeper_started = 1;
    }
    for (int i = 0; rc == 0 && i < MINTERS; i++) {
        if (pthread_create(&s->minters[i], NULL, minter_main, s) != 0)
            rc = CAPP_ENOMEM;
        else
            s->minter_count++;
    }
    if (rc) {
        if (s->pool)
            sql_pool_release(s->pool);
        pg_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
