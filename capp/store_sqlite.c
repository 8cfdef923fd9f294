/*
 * SQLite install store.
 *
 * Writes: one writer thread owns the only write connection. Callers enqueue jobs (lifecycle
 * events, session writes); the writer takes everything queued, runs it in ONE transaction with
 * a savepoint per job (a failing job rolls back alone), commits with synchronous=FULL — one
 * fsync for the whole batch — and only then completes each job. Under load the batch grows
 * with the queue, so durable throughput scales with concurrency instead of being one fsync per
 * request (group commit). The idempotency record and the state change of an event are in the
 * same transaction, so a crash can never keep one without the other.
 *
 * Reads: every thread gets its own read connection (db_pool.h) with cached statements; WAL
 * lets reads run beside the writer without blocking.
 *
 * Launch tokens live in memory (launch_tokens.c), not in SQLite: they are valid
 * 60 s and single-use, so losing them in a crash costs a relaunch, and the portal generator
 * inserts one per launch, so the insert must not cost a B-tree write and a commit under a
 * process-wide mutex (that was a third of the server's CPU under the launch bench when they
 * lived in an ephemeral SQLite file). Memory is bounded by LAUNCH_TABLE_BYTES whatever the
 * launch rate: above about 4k launches/s sustained the oldest unredeemed tokens are dropped
 * before their 60 s are up (a late redemption gets "launch again"), never more memory.
 *
 * Housekeeping runs in the writer thread: every second, launch-token generations that are due
 * are dropped; every 30 s, expired sessions are purged and the main WAL is checkpointed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "crypto.h"
#include "db.h"
#include "db_pool.h"
#include "assert.h"
#include "err.h"
#include "hash.h"
#include "launch_tokens.h"
#include <unistd.h>
#include "log.h"
#include "store.h"
#include "store_internal.h"

#define MAX_BATCH              512
#define HOUSEKEEPING_MS        30000
#define SESSION_PURGE_GRACE_MS (24 * 3600 * 1000LL)
#define LAUNCH_HOUSEKEEPING_MS 1000
#define LAUNCH_GENERATION_MS   (2 * CAPP_LAUNCH_TOKEN_TTL_SECONDS * 1000LL)
/* ~120 bytes a token with short IDs: a generation (half the budget) holds ~280k tokens, a full
 * 60 s of about 4k launches/s; the other half keeps expired tokens recognisable. */
#define LAUNCH_TABLE_BYTES (64u * 1024 * 1024)

static const struct db_migration migrations[] = {
    {1, "CREATE TABLE installs ("
        " installed_app_id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL,"
        " organization_id TEXT,"
        " instance_id TEXT NOT NULL,"
        " api_key_prefix TEXT NOT NULL,"
        " granted_permissions TEXT NOT NULL,"
        " status TEXT NOT NULL CHECK (status IN ('active','inactive')),"
        " sealed_api_key TEXT,"
        " key_invalid INTEGER NOT NULL DEFAULT 0,"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL,"
        " uninstalled_at TEXT);"
        "CREATE TABLE lifecycle_events ("
        " idempotency_key TEXT PRIMARY KEY,"
        " kind TEXT NOT NULL CHECK (kind IN ('install','uninstall')),"
        " installed_app_id TEXT NOT NULL,"
        " outcome TEXT NOT NULL,"
        " received_at INTEGER NOT NULL);"
        "CREATE TABLE portal_sessions ("
        " token_hash TEXT PRIMARY KEY,"
        " installed_app_id TEXT NOT NULL,"
        " organization_id TEXT,"
        " instance_id TEXT NOT NULL,"
        " user_id TEXT,"
        " created_at INTEGER NOT NULL,"
        " expires_at INTEGER NOT NULL);"
        "CREATE INDEX portal_sessions_install ON portal_sessions(installed_app_id);"
        "CREATE INDEX portal_sessions_expiry ON portal_sessions(expires_at);"},
    /* Forged lifecycle events (spec D1'): the key's fingerprint tells a replay from another
     * key; an uninstall keeps the sealed key until Cloud confirms it (NULL: none pending).
     * Records whose key names another install or kind were written before keys were checked
     * (a hijack: "uninstall:<victim>" recorded for another install); kept, they would block the
     * victim's real event, so they go. IDs hold no GLOB metacharacters ([A-Za-z0-9_-]). */
    {2, "ALTER TABLE installs ADD COLUMN api_key_sha256 TEXT;"
        "ALTER TABLE installs ADD COLUMN uninstall_pending_since INTEGER;"
        "DELETE FROM lifecycle_events WHERE NOT ("
        " idempotency_key = kind || ':' || installed_app_id OR idempotency_key GLOB"
        " kind || ':' || installed_app_id || '[^A-Za-z0-9_-]*');"},
    /* The app pin (spec D1'): one row at most. A database from before it was kept served only
     * the --app-id its installs carry, so that app is pinned from them. */
    {3, "CREATE TABLE capp_app_pin ("
        " id INTEGER PRIMARY KEY CHECK (id = 1),"
        " app_id TEXT NOT NULL,"
        " pinned_at INTEGER NOT NULL);"
        "INSERT INTO capp_app_pin(id, app_id, pinned_at)"
        " SELECT 1, app_id, updated_at FROM installs ORDER BY updated_at DESC LIMIT 1;"},
};

enum job_kind {
    JOB_EVENT,
    JOB_SESSION_CREATE,
    JOB_SESSION_DELETE,
    JOB_KEY_INVALID,
    JOB_PURGE,
    JOB_RESOLVE,
    JOB_PIN
};

struct job {
    struct job *next;
    enum job_kind kind;
    /* JOB_EVENT: a deep copy of the event (store_event_dup) */
    struct store_event *ev;
    /* session jobs */
    struct store_session session;
    char id[STORE_ID_CAP];
    /* JOB_RESOLVE */
    int64_t pending_since_ms;
    enum store_uninstall_resolution resolution;
    store_event_done_fn done;
    void *ctx;
    int rc;
    enum store_event_outcome outcome;
};

#define INSTALL_CACHE_SLOTS 64

/* A thread's copy of an install row, valid while the store's install generation is unchanged. */
struct cached_install {
    uint64_t generation; /* 0: empty slot */
    struct store_install install;
    char *sealed_api_key;
};

struct reader {
    sqlite3 *db; /* borrowed from the pool */
    sqlite3_stmt *install_get;
    sqlite3_stmt *session_get;
    struct cached_install cache[INSTALL_CACHE_SLOTS];
};

struct sqlite_store {
    struct store base;
    char *path;
    sqlite3 *wdb;
    pthread_t writer;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct job *head, *tail;
    int stopping;
    struct db_pool *readers;
    /* Bumped after every commit that changed an install: per-thread install caches compare it
     * so the portal generator reads installs without a database round trip. */
    _Atomic uint64_t install_generation;
    struct launch_tokens *launches;
};

/* ---- job plumbing ---- */

static void job_free(struct job *j)
{
    if (!j)
        return;
    store_event_free(j->ev);
    free(j);
}

static struct job *job_from_event(const struct store_event *ev)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->kind = JOB_EVENT;
    j->ev = store_event_dup(ev);
    if (!j->ev) {
        free(j);
        return NULL;
    }
    return j;
}

static int enqueue(struct sqlite_store *s, struct job *j)
{
    pthread_mutex_lock(&s->lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->lock);
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

/* ---- writer-side SQL ---- */

/* Records (or re-arms, see run_event) the event's idempotency key. */
static int record_event(sqlite3 *db, const struct store_event *ev, const char *outcome, int64_t now)
{
    const char *texts[] = {ev->idempotency_key,
                           ev->kind == STORE_EVENT_INSTALL ? "install" : "uninstall",
                           ev->installed_app_id, outcome};
    int64_t ints[] = {now};
    return db_run(db, STORE_SQL_RECORD_EVENT, texts, COUNTOF(texts), ints, COUNTOF(ints), NULL);
}

static int load_stored(sqlite3 *db, const char *id, struct store_stored *st)
{
    memset(st, 0, sizeof *st);
    char status[16], pending[32];
    const struct db_text_out outs[] = {
        {st->app_id, sizeof st->app_id},
        {st->organization_id, sizeof st->organization_id},
        {st->instance_id, sizeof st->instance_id},
        {st->api_key_prefix, sizeof st->api_key_prefix},
        {st->fingerprint, sizeof st->fingerprint},
        {status, sizeof status},
        {pending, sizeof pending},
    };
    int rc = db_load_texts(db,
                           "SELECT app_id, organization_id, instance_id, api_key_prefix,"
                           " api_key_sha256, status, uninstall_pending_since FROM installs"
                           " WHERE installed_app_id=?",
                           DB_TEXTS(id), outs, COUNTOF(outs));
    if (rc == CAPP_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    st->known = 1;
    st->active = strcmp(status, "active") == 0;
    st->pending = pending[0] != '\0';
    return 0;
}

static int apply_install(sqlite3 *db, const struct store_event *ev, int64_t now)
{
    char *perms_text = store_permissions_json(ev);
    if (!perms_text)
        return CAPP_ENOMEM;
    const char *texts[] = {
        ev->installed_app_id, ev->app_id, ev->organization_id, ev->instance_id,
        ev->api_key_prefix,   perms_text, ev->sealed_api_key,  ev->api_key_fingerprint};
    int64_t ints[] = {now, now};
    int rc = db_run(db, STORE_SQL_UPSERT_INSTALL, texts, COUNTOF(texts), ints, COUNTOF(ints), NULL);
    free(perms_text);
    return rc;
}

static int apply_uninstall(sqlite3 *db, const struct store_event *ev, int64_t now)
{
    char stamp[40];
    const char *when = ev->uninstalled_at;
    if (!when) {
        clock_format_rfc3339(now, stamp, sizeof stamp);
        when = stamp;
    }
    /* Inactive and sessions gone in one transaction (spec D7), but the key ciphertext stays
     * until Cloud confirms the uninstall: the event may be forged (spec D1'). */
    sqlite3_stmt *stmt;
    int rc = db_prepare(db, STORE_SQL_UNINSTALL, &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, when);
    db_bind_int64(stmt, 2, now);
    db_bind_text(stmt, 3, ev->installed_app_id);
    rc = db_step_done(stmt);
    sqlite3_finalize(stmt);
    if (rc)
        return rc;
    return db_run(db, "DELETE FROM portal_sessions WHERE installed_app_id=?",
                  DB_TEXTS(ev->installed_app_id), DB_NONE, NULL);
}

static int load_pin(sqlite3 *db, char out[STORE_ID_CAP])
{
    const struct db_text_out outs[] = {{out, STORE_ID_CAP}};
    return db_load_texts(db, STORE_SQL_LOAD_PIN, NULL, 0, outs, 1);
}

static int save_pin(sqlite3 *db, const char *app_id, int64_t now)
{
    return db_run(db, STORE_SQL_SAVE_PIN, (const char *const[]){app_id}, 1, &now, 1, NULL);
}

/* Decides an event against the pin, the recorded key and the stored install (store_decide:
 * the rules are in store.h) and applies it; refusals write nothing. The writer deciding every
 * event makes two racing first installs for different apps pin exactly one. */
static int run_event(struct sqlite_store *s, struct job *j, int64_t now)
{
    const struct store_event *ev = j->ev;
    char pinned[STORE_ID_CAP] = "";
    if (ev->pin_app_id) {
        int rc = load_pin(s->wdb, pinned);
        if (rc && rc != CAPP_ENOTFOUND)
            return rc;
    }
    char recorded_kind[16], recorded_id[STORE_ID_CAP];
    const struct db_text_out outs[] = {{recorded_kind, sizeof recorded_kind},
                                       {recorded_id, sizeof recorded_id}};
    int rc = db_load_texts(s->wdb,
                           "SELECT kind, installed_app_id FROM lifecycle_events"
                           " WHERE idempotency_key=?",
                           DB_TEXTS(ev->idempotency_key), outs, COUNTOF(outs));
    if (rc && rc != CAPP_ENOTFOUND)
        return rc;
    int recorded = rc == 0;
    struct store_stored st;
    rc = load_stored(s->wdb, ev->installed_app_id, &st);
    if (rc)
        return rc;
    int pin_now = 0;
    switch (store_decide(ev, pinned, recorded ? recorded_kind : NULL, recorded_id, &st, &j->outcome,
                         &pin_now)) {
    case STORE_ACTION_NONE:
        return 0;
    case STORE_ACTION_RECORD_UNKNOWN:
        return record_event(s->wdb, ev, "unknown_install", now);
    case STORE_ACTION_INSTALL:
        rc = record_event(s->wdb, ev, "applied", now);
        if (rc == 0)
            rc = apply_install(s->wdb, ev, now);
        if (rc == 0 && pin_now)
            rc = save_pin(s->wdb, ev->app_id, now);
        return rc;
    case STORE_ACTION_UNINSTALL:
        rc = record_event(s->wdb, ev, "applied", now);
        if (rc == 0)
            rc = apply_uninstall(s->wdb, ev, now);
        return rc;
    }
    return CAPP_EINVAL;
}

static int run_resolve(struct sqlite_store *s, struct job *j, int64_t now)
{
    const char *sql = j->resolution == STORE_UNINSTALL_CONFIRMED ? STORE_SQL_RESOLVE_CONFIRMED
                                                                 : STORE_SQL_RESOLVE_REFUTED;
    int changes = 0;
    int64_t ints[] = {now, j->pending_since_ms};
    int rc = db_run(s->wdb, sql, DB_TEXTS(j->id), ints, COUNTOF(ints), &changes);
    if (rc == 0 && changes == 0)
        rc = CAPP_ENOTFOUND;
    return rc;
}

static int run_job(struct sqlite_store *s, struct job *j, int64_t now)
{
    switch (j->kind) {
    case JOB_EVENT:
        return run_event(s, j, now);
    case JOB_SESSION_CREATE: {
        const struct store_session *x = &j->session;
        const char *texts[] = {x->token_hash, x->installed_app_id,
                               x->organization_id[0] ? x->organization_id : NULL, x->instance_id,
                               x->user_id[0] ? x->user_id : NULL};
        int64_t ints[] = {x->created_at_ms, x->expires_at_ms};
        return db_run(s->wdb, STORE_SQL_INSERT_SESSION, texts, COUNTOF(texts), ints, COUNTOF(ints),
                      NULL);
    }
    case JOB_SESSION_DELETE:
        return db_run(s->wdb, "DELETE FROM portal_sessions WHERE token_hash=?",
                      DB_TEXTS(j->session.token_hash), DB_NONE, NULL);
    case JOB_PURGE:
        return db_run(s->wdb, "DELETE FROM portal_sessions WHERE expires_at <= ?", DB_NONE,
                      DB_INTS(j->session.expires_at_ms), NULL);
    case JOB_KEY_INVALID:
        return db_run(s->wdb, "UPDATE installs SET key_invalid=1 WHERE installed_app_id=?",
                      DB_TEXTS(j->id), DB_NONE, NULL);
    case JOB_RESOLVE:
        return run_resolve(s, j, now);
    case JOB_PIN:
        return save_pin(s->wdb, j->id, now);
    }
    return CAPP_EINVAL;
}

static struct reader *reader_get(struct sqlite_store *s);

/* Expiry without an expiry index: tokens go into the current of two generations; every
 * LAUNCH_GENERATION_MS the older one is dropped and the current one becomes older. A token
 * therefore lives between one and two generations — longer than its TTL, so an expired token is
 * still recognised as expired (410), never mistaken for unknown (401). */
static void launch_housekeeping(struct sqlite_store *s)
{
    launch_tokens_rotate(s->launches, clock_now_ms());
}

static void housekeeping(struct sqlite_store *s)
{
    /* Expired sessions are kept a while so a late request still learns "expired" (410). */
    int64_t horizon = clock_now_ms() - SESSION_PURGE_GRACE_MS;
    int changes = 0;
    db_run(s->wdb, "DELETE FROM portal_sessions WHERE expires_at <= ?", DB_NONE, DB_INTS(horizon),
           &changes);
    sqlite3_wal_checkpoint_v2(s->wdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

static void run_batch(struct sqlite_store *s, struct job *batch)
{
    int64_t now = clock_now_ms();
    int rc = db_begin_immediate(s->wdb);
    for (struct job *j = batch; j; j = j->next) {
        if (rc) {
            j->rc = rc;
            continue;
        }
        sqlite3_exec(s->wdb, "SAVEPOINT job", NULL, NULL, NULL);
        j->rc = run_job(s, j, now);
        if (j->rc)
            sqlite3_exec(s->wdb, "ROLLBACK TO job", NULL, NULL, NULL);
        sqlite3_exec(s->wdb, "RELEASE job", NULL, NULL, NULL);
    }
    if (rc == 0 && db_commit(s->wdb) != 0) {
        db_rollback(s->wdb);
        for (struct job *j = batch; j; j = j->next)
            if (j->rc == 0)
                j->rc = CAPP_EDB;
    }
    /* Durable now: invalidate install caches, revoke launch tokens, stop jobs, acknowledge. */
    for (struct job *j = batch; j; j = j->next)
        if (j->rc == 0 &&
            (j->kind == JOB_EVENT || j->kind == JOB_KEY_INVALID || j->kind == JOB_RESOLVE)) {
            atomic_fetch_add(&s->install_generation, 1);
            break;
        }
    for (struct job *j = batch; j; j = j->next) {
        if (j->rc == 0 && j->kind == JOB_EVENT && j->ev->kind == STORE_EVENT_UNINSTALL &&
            j->outcome == STORE_OUTCOME_APPLIED) {
            launch_tokens_revoke_install(s->launches, j->ev->installed_app_id);
            if (s->base.on_uninstall)
                s->base.on_uninstall(s->base.on_uninstall_ctx, j->ev->installed_app_id);
        }
        if (j->rc == 0 && j->kind == JOB_EVENT && j->ev->kind == STORE_EVENT_INSTALL &&
            j->outcome == STORE_OUTCOME_APPLIED && s->base.on_install)
            s->base.on_install(s->base.on_install_ctx, j->ev->installed_app_id);
        /* A refuted (forged) uninstall: the install's work resumes as after an install. */
        if (j->rc == 0 && j->kind == JOB_RESOLVE && j->resolution == STORE_UNINSTALL_REFUTED &&
            s->base.on_install)
            s->base.on_install(s->base.on_install_ctx, j->id);
    }
    while (batch) {
        struct job *next = batch->next;
        if (batch->done)
            batch->done(batch->ctx, batch->rc, batch->outcome);
        job_free(batch);
        batch = next;
    }
}

static void *writer_main(void *arg)
{
    struct sqlite_store *s = arg;
    int64_t last_housekeeping = clock_now_ms(), last_launch_housekeeping = last_housekeeping;
    for (;;) {
        int64_t now = clock_now_ms();
        if (now - last_launch_housekeeping >= LAUNCH_HOUSEKEEPING_MS) {
            launch_housekeeping(s);
            last_launch_housekeeping = now;
        }
        if (now - last_housekeeping >= HOUSEKEEPING_MS) {
            housekeeping(s);
            last_housekeeping = now;
        }
        pthread_mutex_lock(&s->lock);
        if (!s->head && !s->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += LAUNCH_HOUSEKEEPING_MS * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&s->wake, &s->lock, &until);
        }
        struct job *batch = s->head, *last = NULL;
        int n = 0;
        for (struct job *j = batch; j && n < MAX_BATCH; j = j->next, n++)
            last = j;
        if (last) {
            s->head = last->next;
            if (!s->head)
                s->tail = NULL;
            last->next = NULL;
        }
        int stop = s->stopping && !s->head && !batch;
        pthread_mutex_unlock(&s->lock);
        if (batch)
            run_batch(s, batch);
        if (stop)
            break;
    }
    return NULL;
}

/* ---- readers ---- */

static void reader_teardown(void *ctx, sqlite3 *db, void *state)
{
    struct reader *r = state;
    if (!r)
        return;
    for (int i = 0; i < INSTALL_CACHE_SLOTS; i++)
        free(r->cache[i].sealed_api_key);
    sqlite3_finalize(r->install_get);
    sqlite3_finalize(r->session_get);
    free(r);
}

static int reader_setup(void *ctx, sqlite3 *db, void **state)
{
    struct reader *r = calloc(1, sizeof *r);
    if (!r)
        return CAPP_ENOMEM;
    r->db = db;
    int rc = db_exec(db, "PRAGMA cache_size=-512");
    if (rc == 0)
        rc = db_prepare(
            db, "SELECT " STORE_SQL_INSTALL_COLUMNS " FROM installs WHERE installed_app_id=?",
            &r->install_get);
    if (rc == 0)
        rc = db_prepare(
            db, "SELECT " STORE_SQL_SESSION_COLUMNS " FROM portal_sessions WHERE token_hash=?",
            &r->session_get);
    if (rc) {
        reader_teardown(ctx, db, r);
        return rc;
    }
    *state = r;
    return 0;
}

/* The calling thread's reader (its own connection with cached statements), or NULL. */
static struct reader *reader_get(struct sqlite_store *s)
{
    void *r = NULL;
    return db_pool_get(s->readers, &r) ? r : NULL;
}

static unsigned cache_slot(const char *id)
{
    return (unsigned)(hash_fnv1a_str(id) % INSTALL_CACHE_SLOTS);
}

static int install_from_cache(struct cached_install *c, uint64_t generation, const char *id,
                              struct store_install *out)
{
    if (c->generation != generation || strcmp(c->install.installed_app_id, id) != 0)
        return CAPP_ENOTFOUND;
    *out = c->install;
    out->sealed_api_key = NULL;
    if (c->sealed_api_key && !(out->sealed_api_key = strdup(c->sealed_api_key)))
        return CAPP_ENOMEM;
    return 0;
}

static void install_to_cache(struct cached_install *c, uint64_t generation,
                             const struct store_install *in)
{
    free(c->sealed_api_key);
    c->install = *in;
    c->install.sealed_api_key = NULL;
    c->sealed_api_key = in->sealed_api_key ? strdup(in->sealed_api_key) : NULL;
    c->generation = in->sealed_api_key && !c->sealed_api_key ? 0 : generation;
}

static int install_read(struct reader *r, const char *id, struct store_install *out);

static int sqlite_install_get(struct store *base, const char *id, struct store_install *out)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    memset(out, 0, sizeof *out);
    struct reader *r = reader_get(s);
    if (!r)
        return CAPP_EDB;
    /* Read the generation before the row: a commit in between only costs a re-read later. */
    uint64_t generation = atomic_load(&s->install_generation) + 1;
    struct cached_install *c = &r->cache[cache_slot(id)];
    if (install_from_cache(c, generation, id, out) == 0)
        return 0;
    int rc = install_read(r, id, out);
    if (rc == 0)
        install_to_cache(c, generation, out);
    return rc;
}

static int install_read(struct reader *r, const char *id, struct store_install *out)
{
    sqlite3_stmt *st = r->install_get;
    sqlite3_reset(st);
    db_bind_text(st, 1, id);
    int found = db_step_row(st);
    int rc = found < 0 ? found : found == 0 ? CAPP_ENOTFOUND : 0;
    if (rc == 0) {
        db_column_copy(st, 0, out->installed_app_id, sizeof out->installed_app_id);
        db_column_copy(st, 1, out->app_id, sizeof out->app_id);
        db_column_copy(st, 2, out->organization_id, sizeof out->organization_id);
        db_column_copy(st, 3, out->instance_id, sizeof out->instance_id);
        db_column_copy(st, 4, out->api_key_prefix, sizeof out->api_key_prefix);
        store_permissions_parse((const char *)sqlite3_column_text(st, 5), out);
        out->active = strcmp((const char *)sqlite3_column_text(st, 6), "active") == 0;
        const unsigned char *sealed = sqlite3_column_text(st, 7);
        if (sealed) {
            out->sealed_api_key = strdup((const char *)sealed);
            if (!out->sealed_api_key)
                rc = CAPP_ENOMEM;
        }
        out->key_invalid = sqlite3_column_int(st, 8);
        out->created_at_ms = sqlite3_column_int64(st, 9);
        out->updated_at_ms = sqlite3_column_int64(st, 10);
        db_column_copy(st, 11, out->uninstalled_at, sizeof out->uninstalled_at);
        out->uninstall_pending_since_ms = sqlite3_column_int64(st, 12);
    }
    sqlite3_reset(st);
    return rc;
}

static int sqlite_session_get(struct store *base, const char *hash, struct store_session *out)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    memset(out, 0, sizeof *out);
    struct reader *r = reader_get(s);
    if (!r)
        return CAPP_EDB;
    sqlite3_stmt *st = r->session_get;
    sqlite3_reset(st);
    db_bind_text(st, 1, hash);
    int found = db_step_row(st);
    int rc = found < 0 ? found : found == 0 ? CAPP_ENOTFOUND : 0;
    if (rc == 0) {
        db_column_copy(st, 0, out->token_hash, sizeof out->token_hash);
        db_column_copy(st, 1, out->installed_app_id, sizeof out->installed_app_id);
        db_column_copy(st, 2, out->organization_id, sizeof out->organization_id);
        db_column_copy(st, 3, out->instance_id, sizeof out->instance_id);
        db_column_copy(st, 4, out->user_id, sizeof out->user_id);
        out->created_at_ms = sqlite3_column_int64(st, 5);
        out->expires_at_ms = sqlite3_column_int64(st, 6);
    }
    sqlite3_reset(st);
    return rc;
}

/* ---- writes through the writer ---- */

static int sqlite_apply_event(struct store *base, const struct store_event *ev,
                              store_event_done_fn done, void *ctx)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct job *j = job_from_event(ev);
    if (!j)
        return CAPP_ENOMEM;
    j->done = done;
    j->ctx = ctx;
    int rc = enqueue(s, j);
    if (rc)
        job_free(j);
    return rc;
}

/* Session and key writes wait for their commit like events do. */
static int write_and_wait(struct sqlite_store *s, struct job *j)
{
    struct store_waiter w;
    store_waiter_init(&w);
    j->done = store_waiter_done;
    j->ctx = &w;
    int rc = enqueue(s, j);
    if (rc)
        job_free(j);
    else
        rc = store_waiter_wait(&w, NULL);
    store_waiter_destroy(&w);
    return rc;
}

static int sqlite_session_create(struct store *base, const struct store_session *session)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return CAPP_ENOMEM;
    j->kind = JOB_SESSION_CREATE;
    j->session = *session;
    return write_and_wait((struct sqlite_store *)base, j);
}

static int sqlite_session_delete(struct store *base, const char *hash)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return CAPP_ENOMEM;
    j->kind = JOB_SESSION_DELETE;
    snprintf(j->session.token_hash, sizeof j->session.token_hash, "%s", hash);
    return write_and_wait((struct sqlite_store *)base, j);
}

static int sqlite_mark_key_invalid(struct store *base, const char *id)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return CAPP_ENOMEM;
    j->kind = JOB_KEY_INVALID;
    snprintf(j->id, sizeof j->id, "%s", id);
    return write_and_wait((struct sqlite_store *)base, j);
}

static int sqlite_launch_put(struct store *base, const struct store_launch *l)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    return launch_tokens_put(s->launches, l, clock_now_ms());
}

static int sqlite_launch_take(struct store *base, const char *hash, struct store_launch *out)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    return launch_tokens_take(s->launches, hash, out);
}

static int sqlite_uninstall_resolve(struct store *base, const char *id, int64_t pending_since_ms,
                                    enum store_uninstall_resolution resolution)
{
    if (strlen(id) >= STORE_ID_CAP)
        return CAPP_EINVAL;
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return CAPP_ENOMEM;
    j->kind = JOB_RESOLVE;
    snprintf(j->id, sizeof j->id, "%s", id);
    j->pending_since_ms = pending_since_ms;
    j->resolution = resolution;
    return write_and_wait((struct sqlite_store *)base, j);
}

static int sqlite_purge_expired(struct store *base, int64_t now_ms)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    launch_housekeeping(s);
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return CAPP_ENOMEM;
    j->kind = JOB_PURGE;
    j->session.expires_at_ms = now_ms;
    return write_and_wait(s, j);
}

static int sqlite_app_pin_get(struct store *base, char out[STORE_ID_CAP])
{
    struct reader *r = reader_get((struct sqlite_store *)base);
    if (!r)
        return CAPP_EDB;
    return load_pin(r->db, out);
}

static int sqlite_app_pin_set(struct store *base, const char *app_id)
{
    if (strlen(app_id) >= STORE_ID_CAP)
        return CAPP_EINVAL;
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return CAPP_ENOMEM;
    j->kind = JOB_PIN;
    snprintf(j->id, sizeof j->id, "%s", app_id);
    return write_and_wait((struct sqlite_store *)base, j);
}

static void sqlite_close(struct store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->writer, NULL); /* drains every queued job first */
    db_pool_free(s->readers);
    sqlite3_wal_checkpoint_v2(s->wdb, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    db_close(s->wdb);
    launch_tokens_free(s->launches);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s->path);
    free(s);
}

/* Visits the installs sql selects (by installed_app_id), with or without their sealed keys. */
static int each_install(struct sqlite_store *s, const char *sql, int with_key,
                        store_install_visit_fn fn, void *ctx)
{
    struct reader *r = reader_get(s);
    if (!r)
        return CAPP_EDB;
    sqlite3_stmt *st;
    int rc = db_prepare(r->db, sql, &st);
    if (rc)
        return rc;
    int row;
    while ((row = db_step_row(st)) > 0) {
        struct store_install in;
        char id[STORE_ID_CAP];
        db_column_copy(st, 0, id, sizeof id);
        if (install_read(r, id, &in) != 0)
            continue;
        if (!with_key)
            store_install_clear(&in);
        int stop = fn(ctx, &in);
        store_install_clear(&in);
        if (stop)
            break;
    }
    sqlite3_finalize(st);
    return row < 0 ? row : 0;
}

static int sqlite_install_each_active(struct store *base, store_install_visit_fn fn, void *ctx)
{
    return each_install((struct sqlite_store *)base,
                        "SELECT installed_app_id FROM installs WHERE status='active'"
                        " ORDER BY installed_app_id",
                        0, fn, ctx);
}

static int sqlite_uninstall_each_pending(struct store *base, store_install_visit_fn fn, void *ctx)
{
    return each_install((struct sqlite_store *)base,
                        "SELECT installed_app_id FROM installs"
                        " WHERE uninstall_pending_since IS NOT NULL ORDER BY installed_app_id",
                        1, fn, ctx);
}

static const struct store_ops sqlite_ops = {
    .install_each_active = sqlite_install_each_active,
    .apply_event = sqlite_apply_event,
    .install_get = sqlite_install_get,
    .install_mark_key_invalid = sqlite_mark_key_invalid,
    .session_create = sqlite_session_create,
    .session_get = sqlite_session_get,
    .session_delete = sqlite_session_delete,
    .launch_put = sqlite_launch_put,
    .launch_take = sqlite_launch_take,
    .purge_expired = sqlite_purge_expired,
    .uninstall_each_pending = sqlite_uninstall_each_pending,
    .uninstall_resolve = sqlite_uninstall_resolve,
    .app_pin_get = sqlite_app_pin_get,
    .app_pin_set = sqlite_app_pin_set,
    .close = sqlite_close,
};

/* Launch tokens used to live in <path>-launch; a file left by an older version holds only
 * void tokens (they never survived a restart) and is removed. */
static void remove_old_launch_db(const char *path)
{
    static const char *const suffixes[] = {"-launch", "-launch-wal", "-launch-shm",
                                           "-launch-journal"};
    for (int i = 0; i < 4; i++) {
        char file[4200];
        snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
        unlink(file);
    }
}

int store_sqlite_open(const char *path, struct store **out)
{
    if (!path || !*path || strcmp(path, ":memory:") == 0)
        return CAPP_EINVAL;
    struct sqlite_store *s = calloc(1, sizeof *s);
    if (!s)
        return CAPP_ENOMEM;
    s->base.ops = &sqlite_ops;
    s->path = strdup(path);
    int rc = s->path ? 0 : CAPP_ENOMEM;
    if (rc == 0)
        rc = db_open(path, 0, &s->wdb);
    if (rc == 0)
        rc = db_migrate(s->wdb, "capp", migrations, COUNTOF(migrations));
    if (rc == 0)
        rc = launch_tokens_new(LAUNCH_TABLE_BYTES, LAUNCH_GENERATION_MS, &s->launches);
    struct db_pool_config readers = {
        .path = path, .setup = reader_setup, .teardown = reader_teardown};
    if (rc == 0)
        rc = db_pool_new(&readers, &s->readers);
    if (rc) {
        launch_tokens_free(s->launches);
        db_close(s->wdb);
        free(s->path);
        free(s);
        return rc;
    }
    remove_old_launch_db(path);
    /* Checkpoints run in the writer's idle time, not inside a commit on the request path. */
    sqlite3_wal_autocheckpoint(s->wdb, 10000);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        db_pool_free(s->readers);
        launch_tokens_free(s->launches);
        db_close(s->wdb);
        free(s->path);
        free(s);
        return CAPP_ENOMEM;
    }
    *out = &s->base;
    return 0;
}
