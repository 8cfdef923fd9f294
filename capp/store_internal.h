/*
 * store_internal.h — what the store implementations (store_sqlite.c, store_pg.c) share so that
 * they decide every lifecycle event the same way: a deep copy of an event for a queue, and the
 * decision rules of store.h as one pure function over what the store read inside the event's
 * transaction. Not for callers of the store.
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

#endif
