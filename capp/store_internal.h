/*
 * store_internal.h — what the store implementations (store_sqlite.c, store_pg.c) share so that
 * they decide every lifecycle event the same way: a deep copy of an event for a queue, the
 * decision rules of store.h as one pure function over what the store read inside the event's
 * transaction, and the statements that apply the decisions (the same text on both engines:
 * sql.h's portable dialect, which SQLite reads as is). Not for callers of the store.
 */
#ifndef CAPP_STORE_INTERNAL_H
#define CAPP_STORE_INTERNAL_H

#include "store.h"

/* One allocation holding the event, its strings and its permission list; the caller's strings
 * may change right after. NULL when out of memory. store_event_free wipes it (NULL-safe). */
struct store_event *store_event_dup(const struct store_event *ev);
void store_event_free(struct store_event *ev);

/* What the store holds for an installed_app_id when it decides an event against it. */
struct store_stored {
    int known;
    int active;
    int pending; /* an uninstall awaits Cloud's confirmation */
    char app_id[STORE_ID_CAP];
    char organization_id[STORE_ID_CAP];
    char instance_id[STORE_ID_CAP];
    char api_key_prefix[CAPP_MAX_KEY_PREFIX_BYTES + 1];
    char fingerprint[STORE_HASH_CAP]; /* "" for a row from before fingerprints were kept */
};

/* What the transaction does about an event. */
enum store_action {
    STORE_ACTION_NONE,           /* answer *outcome, write nothing */
    STORE_ACTION_INSTALL,        /* record the key as applied, upsert the install */
    STORE_ACTION_UNINSTALL,      /* record the key as applied, mark inactive, drop sessions */
    STORE_ACTION_RECORD_UNKNOWN, /* record the key as unknown_install only */
};

/* The rules of store.h. pinned: the app pin ("" when none; looked at only with pin_app_id);
 * recorded_kind/recorded_id: the idempotency record of ev's key (recorded_kind NULL when
 * none). *pin_now is set when an applied install must also pin its app_id. */
enum store_action store_decide(const struct store_event *ev, const char *pinned,
                               const char *recorded_kind, const char *recorded_id,
                               const struct store_stored *st, enum store_event_outcome *outcome,
                               int *pin_now);

/* A JSON array of ev's permissions for installs.granted_permissions (malloc'd; NULL when out
 * of memory), and back into out->permissions (at most CAPP_MAX_PERMISSIONS; NULL text: none). */
char *store_permissions_json(const struct store_event *ev);
void store_permissions_parse(const char *json_text, struct store_install *out);

/* Records (or re-arms, see store_decide) an event's key: idempotency_key, kind,
 * installed_app_id, outcome (texts), received_at. */
#define STORE_SQL_RECORD_EVENT                                                                    \
    "INSERT INTO lifecycle_events(idempotency_key, kind, installed_app_id, outcome, received_at)" \
    " VALUES(?, ?, ?, ?, ?) ON CONFLICT(idempotency_key) DO UPDATE SET"                           \
    " outcome = excluded.outcome, received_at = excluded.received_at"
/* An applied install: installed_app_id, app_id, organization_id, instance_id, api_key_prefix,
 * granted_permissions, sealed_api_key, api_key_sha256 (texts), created_at, updated_at. A
 * reinstall of a known installed_app_id reactivates it with the new key (spec D5); a pending
 * uninstall confirmation ends with it. */
#define STORE_SQL_UPSERT_INSTALL                                                                \
    "INSERT INTO installs(installed_app_id, app_id, organization_id, instance_id,"              \
    " api_key_prefix, granted_permissions, status, sealed_api_key, api_key_sha256, created_at," \
    " updated_at) VALUES(?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)"                               \
    " ON CONFLICT(installed_app_id) DO UPDATE SET app_id = excluded.app_id,"                    \
    " organization_id = excluded.organization_id, instance_id = excluded.instance_id,"          \
    " api_key_prefix = excluded.api_key_prefix,"                                                \
    " granted_permissions = excluded.granted_permissions, status = 'active',"                   \
    " sealed_api_key = excluded.sealed_api_key, api_key_sha256 = excluded.api_key_sha256,"      \
    " key_invalid = 0, updated_at = excluded.updated_at, uninstalled_at = NULL,"                \
    " uninstall_pending_since = NULL"
/* An applied uninstall: ?1 uninstalled_at (text), ?2 now, ?3 installed_app_id. The key
 * ciphertext stays until Cloud confirms the uninstall: the event may be forged (spec D1'). */
#define STORE_SQL_UNINSTALL                                                          \
    "UPDATE installs SET status = 'inactive', uninstalled_at = ?1, updated_at = ?2," \
    " uninstall_pending_since = ?2 WHERE installed_app_id = ?3"
/* store_uninstall_resolve: ?1 installed_app_id (text), ?2 now, ?3 the pending uninstall's
 * time. Matches nothing once a reinstall ended that uninstall. */
#define STORE_SQL_RESOLVE_CONFIRMED                                              \
    "UPDATE installs SET sealed_api_key = NULL, uninstall_pending_since = NULL," \
    " updated_at = ?2 WHERE installed_app_id = ?1 AND status = 'inactive'"       \
    " AND uninstall_pending_since = ?3"
#define STORE_SQL_RESOLVE_REFUTED                                                  \
    "UPDATE installs SET status = 'active', uninstalled_at = NULL,"                \
    " uninstall_pending_since = NULL, updated_at = ?2 WHERE installed_app_id = ?1" \
    " AND status = 'inactive' AND uninstall_pending_since = ?3"
#define STORE_SQL_LOAD_PIN "SELECT app_id FROM capp_app_pin WHERE id = 1"
/* app_id (text), pinned_at. */
#define STORE_SQL_SAVE_PIN                                            \
    "INSERT INTO capp_app_pin(id, app_id, pinned_at) VALUES(1, ?, ?)" \
    " ON CONFLICT(id) DO UPDATE SET app_id = excluded.app_id, pinned_at = excluded.pinned_at"
/* The columns of an install row in store_install's order, and of a session or launch-token
 * row (store_session). */
#define STORE_SQL_INSTALL_COLUMNS                                                        \
    "installed_app_id, app_id, organization_id, instance_id, api_key_prefix,"            \
    " granted_permissions, status, sealed_api_key, key_invalid, created_at, updated_at," \
    " uninstalled_at, uninstall_pending_since"
#define STORE_SQL_SESSION_COLUMNS \
    "token_hash, installed_app_id, organization_id, instance_id, user_id, created_at, expires_at"
#define STORE_SQL_INSERT_SESSION \
    "INSERT INTO portal_sessions(" STORE_SQL_SESSION_COLUMNS ") VALUES(?, ?, ?, ?, ?, ?, ?)"

#endif
