/*
 * store.h — the install store: installs with their sealed keys, lifecycle idempotency records,
 * portal sessions and launch tokens.
 *
 * One interface (struct store_ops), two implementations behind the same calls and the same
 * test suite: SQLite (store_sqlite.c, one process owns the file) and PostgreSQL (store_pg.c,
 * any number of replicas share the database). store_open() picks one from its target. Callers
 * use the store_* wrappers only.
 *
 * Durability: store_apply_event() returns only after the event's effect and its idempotency
 * record are committed together in one transaction and on disk. Implementations group-commit:
 * concurrent events share one fsync. store_apply_event_async() is the same with a completion
 * callback (called from a store thread: SQLite's writer, one of PostgreSQL's event workers), so
 * an HTTP handler can defer instead of holding a server thread while the disk syncs.
 *
 * Launch tokens are short-lived (60 s) and single-use; the SQLite store keeps them in memory
 * (one process owns a SQLite file; see launch_tokens.h, lost on restart), the PostgreSQL store
 * keeps them in a table so that any replica redeems a token any other minted, exactly once.
 *
 * Every record carries its installed_app_id. Tokens are stored only as SHA-256 hex hashes.
 *
 * Lifecycle callbacks carry no signature (spec D1'), so the store decides an event against what
 * it already holds, inside the writer's transaction:
 *   - the idempotency key must be "<kind>:<installed_app_id>", optionally followed by a suffix
 *     that starts with a character no ID holds (":2", "#2": a new key for a reinstall, D5);
 *     anything else is refused before it is queued (CAPP_EINVAL, nothing recorded);
 *   - a key recorded for another install or kind: STORE_OUTCOME_IDEMPOTENCY_CONFLICT;
 *   - a recorded install key: duplicate. A recorded uninstall key is a duplicate only while the
 *     install is not active: after a reinstall (or a restored forgery) the same
 *     "uninstall:<id>" takes effect again;
 *   - an install for an active (or uninstall-pending) install whose app, instance,
 *     organization or key differs from the stored one: STORE_OUTCOME_INSTALL_CONFLICT;
 *   - an uninstall marks the install inactive and deletes its sessions at once but keeps the
 *     sealed key, "pending confirmation" (uninstall_pending_since_ms). The key is destroyed by
 *     store_uninstall_resolve(confirmed) once Cloud refuses it, or the install is restored
 *     (active again, key kept, install hook called) by store_uninstall_resolve(refuted) when
 *     Cloud still accepts it: see uninstall_confirm.h.
 * Conflicts change nothing and record nothing.
 *
 * The app pin (spec D1'): the one app_id this database serves, kept in the database so it
 * survives restarts. An event with pin_app_id set is decided against it first, in the same
 * transaction: another app pinned is STORE_OUTCOME_WRONG_APP (nothing changed); no app pinned
 * and an applied install pins the event's app_id (trust on first use). store_app_pin_set
 * replaces it (`serve --app-id`).
 */
#ifndef CAPP_STORE_H
#define CAPP_STORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

#define STORE_ID_CAP   (CAPP_MAX_ID_BYTES + 1)
#define STORE_HASH_CAP 65

struct store_install {
    char installed_app_id[STORE_ID_CAP];
    char app_id[STORE_ID_CAP];
    char organization_id[STORE_ID_CAP]; /* "" when the platform sent none (V2) */
    char instance_id[STORE_ID_CAP];
    char api_key_prefix[CAPP_MAX_KEY_PREFIX_BYTES + 1];
    char permissions[CAPP_MAX_PERMISSIONS][CAPP_MAX_PERMISSION_BYTES + 1];
    size_t permission_count;
    int active;
    int key_invalid;      /* Cloud answered 401 with this key (spec D21) */
    char *sealed_api_key; /* owned; NULL once an uninstall is confirmed; see store_install_clear */
    /* When an uninstall awaiting Cloud's confirmation was received (inactive, key kept); 0 when
     * none is pending. */
    int64_t uninstall_pending_since_ms;
    int64_t created_at_ms;
    int64_t updated_at_ms;
    char uninstalled_at[CAPP_MAX_TIMESTAMP_BYTES + 1];
};

enum store_event_kind { STORE_EVENT_INSTALL, STORE_EVENT_UNINSTALL };

/* A validated lifecycle event (see lifecycle.h). Strings are borrowed. */
struct store_event {
    enum store_event_kind kind;
    const char *idempotency_key;
    const char *installed_app_id;
    const char *app_id;
    const char *organization_id; /* NULL when absent */
    const char *instance_id;
    const char *api_key_prefix; /* install only */
    const char *sealed_api_key; /* install only: already sealed, never plaintext */
    /* install only: store_api_key_fingerprint of the plaintext key; tells a replay of the stored
     * key from another key without opening the sealed one */
    const char *api_key_fingerprint;
    const char *const *permissions;
    size_t permission_count;
    const char *uninstalled_at; /* uninstall only; NULL when absent */
    int pin_app_id;             /* decide against the app pin, pinning a first install */
};

enum store_event_outcome {
    STORE_OUTCOME_APPLIED,         /* the effect happened now */
    STORE_OUTCOME_DUPLICATE,       /* idempotency key seen before: no effect */
    STORE_OUTCOME_UNKNOWN_INSTALL, /* uninstall for an install we never had: recorded only */
    /* Refusals: nothing changed, nothing recorded. */
    STORE_OUTCOME_IDEMPOTENCY_CONFLICT, /* the key was recorded for another install or kind */
    STORE_OUTCOME_INSTALL_CONFLICT,     /* install for a live install with other IDs or key */
    STORE_OUTCOME_WRONG_APP             /* pin_app_id: another app is pinned */
};

/* "applied", "duplicate", "unknown_install", "idempotency_conflict", "install_conflict",
 * "wrong_app". */
const char *store_outcome_name(enum store_event_outcome outcome);
/* 1 when ev->idempotency_key is "<kind>:<installed_app_id>" with an optional suffix that starts
 * with a non-ID character (see the design note above). */
int store_event_key_matches(const struct store_event *ev);
/* Hex SHA-256 of a plaintext API key, for store_event.api_key_fingerprint. The key is 256
 * random bits (D6), so its digest reveals nothing a guess could confirm. */
void store_api_key_fingerprint(const char *api_key, size_t len, char out[STORE_HASH_CAP]);

struct store_session {
    char token_hash[STORE_HASH_CAP];
    char installed_app_id[STORE_ID_CAP];
    char organization_id[STORE_ID_CAP];
    char instance_id[STORE_ID_CAP];
    char user_id[STORE_ID_CAP];
    int64_t created_at_ms;
    int64_t expires_at_ms;
};

/* A launch token has the same shape as a session. */
#define store_launch store_session

typedef void (*store_event_done_fn)(void *ctx, int rc, enum store_event_outcome outcome);
/* The end of a store_launch_mint: install is the install read (sealed key not loaded), NULL when
 * none was read (rc says why: CAPP_ENOTFOUND when there is no such install); minted is 1 when
 * the launch token is stored. rc != 0 with install set: read, but the token could not be
 * stored. */
typedef void (*store_launch_done_fn)(void *ctx, int rc, const struct store_install *install,
                                     int minted);
typedef void (*store_uninstall_fn)(void *ctx, const char *installed_app_id);
/* After an install (or reinstall) commits: start the app's work for it. */
typedef void (*store_install_fn)(void *ctx, const char *installed_app_id);
/* One active install, for store_install_each_active. Return non-zero to stop. */
typedef int (*store_install_visit_fn)(void *ctx, const struct store_install *install);

/* How an uninstall awaiting confirmation ends (store_uninstall_resolve). */
enum store_uninstall_resolution {
    STORE_UNINSTALL_CONFIRMED, /* Cloud refused the key: destroy it */
    STORE_UNINSTALL_REFUTED    /* Cloud still accepts the key: the event was forged; restore */
};

struct store;

/* Completion that a thread can block on (used by the blocking wrappers and implementations). */
struct store_waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    int rc;
    enum store_event_outcome outcome;
};
void store_waiter_init(struct store_waiter *w);
void store_waiter_done(void *ctx, int rc, enum store_event_outcome outcome);
int store_waiter_wait(struct store_waiter *w, enum store_event_outcome *outcome);
void store_waiter_destroy(struct store_waiter *w);

struct store_ops {
    int (*apply_event)(struct store *s, const struct store_event *ev, store_event_done_fn done,
                       void *ctx);
    int (*install_get)(struct store *s, const char *installed_app_id, struct store_install *out);
    int (*install_mark_key_invalid)(struct store *s, const char *installed_app_id);
    int (*session_create)(struct store *s, const struct store_session *session);
    int (*session_get)(struct store *s, const char *token_hash, struct store_session *out);
    int (*session_delete)(struct store *s, const char *token_hash);
    int (*launch_put)(struct store *s, const struct store_launch *launch);
    /* Removes and returns the token: a second take of the same hash is CAPP_ENOTFOUND. */
    int (*launch_take)(struct store *s, const char *token_hash, struct store_launch *out);
    /* Optional (store_launch_mint). NULL: store.c reads the install and puts the token in the
     * caller's thread, through install_get and launch_put. Set: done is called later, from a
     * store thread. */
    int (*launch_mint)(struct store *s, const struct store_launch *launch, const char *app_id,
                       store_launch_done_fn done, void *ctx);
    int (*purge_expired)(struct store *s, int64_t now_ms);
    int (*install_each_active)(struct store *s, store_install_visit_fn fn, void *ctx);
    int (*uninstall_each_pending)(struct store *s, store_install_visit_fn fn, void *ctx);
    int (*uninstall_resolve)(struct store *s, const char *installed_app_id,
                             int64_t pending_since_ms, enum store_uninstall_resolution resolution);
    int (*app_pin_get)(struct store *s, char out[STORE_ID_CAP]);
    int (*app_pin_set)(struct store *s, const char *app_id);
    void (*close)(struct store *s);
    /* 1 when the database answers now, 0 when not (NULL: always 1). */
    int (*ping)(struct store *s);
};

struct store {
    const struct store_ops *ops;
    store_uninstall_fn on_uninstall; /* called after an uninstall commits (stop jobs) */
    void *on_uninstall_ctx;
    store_install_fn on_install; /* called after an install commits (start jobs) */
    void *on_install_ctx;
};

/* SQLite implementation: path to a database file (":memory:" is refused: it could not be
 * shared between the writer and reader connections). */
int store_sqlite_open(const char *path, struct store **out);

/* PostgreSQL implementation (store_pg.c): a libpq connection string. Any number of stores,
 * in one process or many (replicas), may share one database: launch tokens and sessions are
 * rows, every event is decided in a transaction that locks its install, and install reads
 * see every commit that finished before they started, whichever replica made it. */
int store_pg_open(const char *target, struct store **out);
/* The implementation target names (sql_target_is_postgres): a PostgreSQL connection string
 * opens store_pg_open, anything else is a SQLite path for store_sqlite_open. */
int store_open(const char *target, struct store **out);
/* 1 when the store's database is reachable now, 0 when not (for /healthz). SQLite: 1. */
int store_ping(struct store *s);

/* Blocking form of apply_event: returns once the event is durable. */
int store_apply_event(struct store *s, const struct store_event *ev,
                      enum store_event_outcome *outcome);
int store_apply_event_async(struct store *s, const struct store_event *ev, store_event_done_fn done,
                            void *ctx);
int store_install_get(struct store *s, const char *installed_app_id, struct store_install *out);
int store_install_mark_key_invalid(struct store *s, const char *installed_app_id);
/* Frees what store_install_get allocated (the sealed key). NULL-safe. */
void store_install_clear(struct store_install *install);
int store_install_has_permission(const struct store_install *install, const char *permission);
int store_session_create(struct store *s, const struct store_session *session);
int store_session_get(struct store *s, const char *token_hash, struct store_session *out);
int store_session_delete(struct store *s, const char *token_hash);
int store_launch_put(struct store *s, const struct store_launch *launch);
int store_launch_take(struct store *s, const char *token_hash, struct store_launch *out);
/*
 * The portal generator's one step: reads the install launch->installed_app_id and stores the
 * launch token only when store_launch_allowed() holds for it, as one atomic read on PostgreSQL
 * (one statement; concurrent launches are batched into one statement: store_pg.c), so a launch
 * costs no second round trip. The stored token's organization_id is launch's, or the install's
 * when launch has none (""). done(ctx, …) is called exactly once when this returns 0 (never
 * when it returns an error): before it returns when store_launch_mint_defers() is 0 (SQLite),
 * else later from a store thread, so an HTTP caller defers the request first (http_defer).
 */
int store_launch_mint(struct store *s, const struct store_launch *launch, const char *app_id,
                      store_launch_done_fn done, void *ctx);
int store_launch_mint_defers(const struct store *s);
/* When store_launch_mint stores the token: app_id is set (the caller passes NULL to only read)
 * and the install is active with that app_id, launch's instance_id, and launch's organization_id
 * unless either side has none (""). */
int store_launch_allowed(const struct store_install *install, const struct store_launch *launch,
                         const char *app_id);
/* Why store_launch_allowed() refuses, the first that holds of: "install_inactive",
 * "instance_mismatch", "app_mismatch" (also when app_id is NULL), "organization_mismatch"; NULL
 * when it allows. A static string: the portal generator answers the launch with it. */
const char *store_launch_refusal(const struct store_install *install,
                                 const struct store_launch *launch, const char *app_id);
int store_purge_expired(struct store *s, int64_t now_ms);
void store_set_uninstall_hook(struct store *s, store_uninstall_fn fn, void *ctx);
void store_set_install_hook(struct store *s, store_install_fn fn, void *ctx);
/* Visits every active install (sealed key not loaded), e.g. to resume work at start-up. */
int store_install_each_active(struct store *s, store_install_visit_fn fn, void *ctx);
/* Visits every install whose uninstall awaits confirmation, sealed key loaded (borrowed for the
 * call), e.g. to resume probing at start-up. */
int store_uninstall_each_pending(struct store *s, store_install_visit_fn fn, void *ctx);
/* Ends the pending uninstall received at pending_since_ms (durable on return). CONFIRMED
 * destroys the sealed key; REFUTED makes the install active again with its key and calls the
 * install hook. CAPP_ENOTFOUND when that uninstall is no longer pending (a reinstall came
 * first): nothing changes. */
int store_uninstall_resolve(struct store *s, const char *installed_app_id, int64_t pending_since_ms,
                            enum store_uninstall_resolution resolution);
/* The pinned app_id into out; CAPP_ENOTFOUND when none is pinned yet. */
int store_app_pin_get(struct store *s, char out[STORE_ID_CAP]);
/* Pins app_id (durable on return), replacing any other; CAPP_EINVAL for a malformed ID. */
int store_app_pin_set(struct store *s, const char *app_id);
void store_close(struct store *s);

#endif
