/*
 * Dispatch from the store_* calls to the implementation's ops, plus record helpers and what
 * the implementations share (store_internal.h: the event copy and the decision rules). The
 * in-memory launch-token table the SQLite store uses is in launch_tokens.c.
 */
#include "store.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert.h"
#include "crypto.h"
#include "err.h"
#include "json.h"
#include "store_internal.h"

void store_waiter_init(struct store_waiter *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
}

void store_waiter_done(void *ctx, int rc, enum store_event_outcome outcome)
{
    struct store_waiter *w = ctx;
    pthread_mutex_lock(&w->lock);
    w->rc = rc;
    w->outcome = outcome;
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

int store_waiter_wait(struct store_waiter *w, enum store_event_outcome *outcome)
{
    pthread_mutex_lock(&w->lock);
    while (!w->done)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    if (outcome)
        *outcome = w->outcome;
    return w->rc;
}

void store_waiter_destroy(struct store_waiter *w)
{
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
}

const char *store_outcome_name(enum store_event_outcome outcome)
{
    switch (outcome) {
    case STORE_OUTCOME_APPLIED:
        return "applied";
    case STORE_OUTCOME_DUPLICATE:
        return "duplicate";
    case STORE_OUTCOME_UNKNOWN_INSTALL:
        return "unknown_install";
    case STORE_OUTCOME_IDEMPOTENCY_CONFLICT:
        return "idempotency_conflict";
    case STORE_OUTCOME_INSTALL_CONFLICT:
        return "install_conflict";
    case STORE_OUTCOME_WRONG_APP:
        return "wrong_app";
    }
    return "?";
}

static int id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

int store_event_key_matches(const struct store_event *ev)
{
    if (!ev->idempotency_key || !ev->installed_app_id || !*ev->installed_app_id)
        return 0;
    const char *prefix = ev->kind == STORE_EVENT_INSTALL ? "install:" : "uninstall:";
    size_t plen = strlen(prefix), idlen = strlen(ev->installed_app_id);
    const char *key = ev->idempotency_key;
    if (strncmp(key, prefix, plen) != 0 || strncmp(key + plen, ev->installed_app_id, idlen) != 0)
        return 0;
    /* "uninstall:victim" must not pass for installed_app_id "vic": the ID ends where the key
     * does or at a character no ID holds. */
    return !id_char(key[plen + idlen]);
}

void store_api_key_fingerprint(const char *api_key, size_t len, char out[STORE_HASH_CAP])
{
    crypto_sha256_hex(api_key, len, out);
}

/* ---- shared by the implementations (store_internal.h) ---- */

struct event_block {
    size_t size; /* of the whole block, for the wipe */
    struct store_event ev;
    const char *permissions[];
};

static const char *copy_into(char **at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *copy = *at;
    memcpy(copy, s, n);
    *at += n;
    return copy;
}

struct store_event *store_event_dup(const struct store_event *ev)
{
    const char *const strings[] = {
        ev->idempotency_key, ev->installed_app_id,    ev->app_id,
        ev->organization_id, ev->instance_id,         ev->api_key_prefix,
        ev->sealed_api_key,  ev->api_key_fingerprint, ev->uninstalled_at};
    size_t size = offsetof(struct event_block, permissions) +
                  (ev->permission_count + 1) * sizeof(const char *);
    for (size_t i = 0; i < COUNTOF(strings); i++)
        size += strings[i] ? strlen(strings[i]) + 1 : 0;
    for (size_t i = 0; i < ev->permission_count; i++)
        size += strlen(ev->permissions[i]) + 1;
    struct event_block *b = calloc(1, size);
    if (!b)
        return NULL;
    b->size = size;
    char *at = (char *)&b->permissions[ev->permission_count + 1];
    b->ev = *ev;
    b->ev.idempotency_key = copy_into(&at, ev->idempotency_key);
    b->ev.installed_app_id = copy_into(&at, ev->installed_app_id);
    b->ev.app_id = copy_into(&at, ev->app_id);
    b->ev.organization_id = copy_into(&at, ev->organization_id);
    b->ev.instance_id = copy_into(&at, ev->instance_id);
    b->ev.api_key_prefix = copy_into(&at, ev->api_key_prefix);
    b->ev.sealed_api_key = copy_into(&at, ev->sealed_api_key);
    b->ev.api_key_fingerprint = copy_into(&at, ev->api_key_fingerprint);
    b->ev.uninstalled_at = copy_into(&at, ev->uninstalled_at);
    for (size_t i = 0; i < ev->permission_count; i++)
        b->permissions[i] = copy_into(&at, ev->permissions[i]);
    b->ev.permissions = b->permissions;
    CAPP_ASSERT(at == (char *)b + size);
    return &b->ev;
}

void store_event_free(struct store_event *ev)
{
    if (!ev)
        return;
    struct event_block *b = (struct event_block *)((char *)ev - offsetof(struct event_block, ev));
    /* the sealed key is ciphertext, but wipe everything anyway: cheap and uniform */
    crypto_wipe(b, b->size);
    free(b);
}

enum install_match { SAME_INSTALL, SAME_LEGACY, OTHER_INSTALL };

/* Does an install event describe the install the store holds (app, instance, organization
 * when both have one, and the key itself)? A row written before key fingerprints were kept can
 * only be compared by prefix: SAME_LEGACY, which the caller treats as a replay (no change), so
 * a forger who copies the public prefix still changes nothing. */
static enum install_match match_install(const struct store_stored *st, const struct store_event *ev)
{
    if (strcmp(st->app_id, ev->app_id) != 0 || strcmp(st->instance_id, ev->instance_id) != 0)
        return OTHER_INSTALL;
    if (ev->organization_id && st->organization_id[0] &&
        strcmp(st->organization_id, ev->organization_id) != 0)
        return OTHER_INSTALL;
    if (!st->fingerprint[0])
        return ev->api_key_prefix && strcmp(st->api_key_prefix, ev->api_key_prefix) == 0
                   ? SAME_LEGACY
                   : OTHER_INSTALL;
    if (!ev->api_key_fingerprint || strlen(ev->api_key_fingerprint) != STORE_HASH_CAP - 1)
        return OTHER_INSTALL;
    return crypto_equal(st->fingerprint, ev->api_key_fingerprint, STORE_HASH_CAP - 1)
               ? SAME_INSTALL
               : OTHER_INSTALL;
}

enum store_action store_decide(const struct store_event *ev, const char *pinned,
                               const char *recorded_kind, const char *recorded_id,
                               const struct store_stored *st, enum store_event_outcome *outcome,
                               int *pin_now)
{
    *pin_now = 0;
    /* The pin first: an event for another app changes nothing. */
    if (ev->pin_app_id) {
        if (pinned[0] && strcmp(pinned, ev->app_id) != 0) {
            *outcome = STORE_OUTCOME_WRONG_APP;
            return STORE_ACTION_NONE;
        }
        *pin_now = !pinned[0] && ev->kind == STORE_EVENT_INSTALL;
    }
    const char *kind = ev->kind == STORE_EVENT_INSTALL ? "install" : "uninstall";
    int recorded = recorded_kind != NULL;
    if (recorded &&
        (strcmp(recorded_kind, kind) != 0 || strcmp(recorded_id, ev->installed_app_id) != 0)) {
        *outcome = STORE_OUTCOME_IDEMPOTENCY_CONFLICT;
        return STORE_ACTION_NONE;
    }
    if (ev->kind == STORE_EVENT_INSTALL) {
        if (recorded) {
            *outcome = STORE_OUTCOME_DUPLICATE;
            return STORE_ACTION_NONE;
        }
        if (st->known && (st->active || st->pending)) {
            enum install_match m = match_install(st, ev);
            if (m != SAME_INSTALL) {
                *outcome =
                    m == SAME_LEGACY ? STORE_OUTCOME_DUPLICATE : STORE_OUTCOME_INSTALL_CONFLICT;
                return STORE_ACTION_NONE;
            }
        }
        *outcome = STORE_OUTCOME_APPLIED;
        return STORE_ACTION_INSTALL;
    }
    /* A recorded uninstall key is spent only while its effect holds: once the install is
     * active again (a reinstall, D5, or a refuted forgery) the same key takes effect again. */
    if ((recorded && !(st->known && st->active)) || (st->known && !st->active)) {
        *outcome = STORE_OUTCOME_DUPLICATE;
        return STORE_ACTION_NONE;
    }
    if (!st->known) {
        *outcome = STORE_OUTCOME_UNKNOWN_INSTALL;
        return STORE_ACTION_RECORD_UNKNOWN;
    }
    *outcome = STORE_OUTCOME_APPLIED;
    return STORE_ACTION_UNINSTALL;
}

char *store_permissions_json(const struct store_event *ev)
{
    json_t *perms = json_array();
    for (size_t i = 0; perms && i < ev->permission_count; i++)
        json_array_append_new(perms, json_string(ev->permissions[i]));
    char *text = perms ? json_dumps(perms, JSON_COMPACT) : NULL;
    json_decref(perms);
    return text;
}

void store_permissions_parse(const char *json_text, struct store_install *out)
{
    json_t *perms = json_text ? json_loads(json_text, 0, NULL) : NULL;
    size_t i;
    json_t *p;
    json_array_foreach(perms, i, p)
    {
        if (out->permission_count < CAPP_MAX_PERMISSIONS && json_is_string(p))
            snprintf(out->permissions[out->permission_count++], sizeof out->permissions[0], "%s",
                     json_string_value(p));
    }
    json_decref(perms);
}

/* ---- dispatch ---- */

int store_ping(struct store *s)
{
    return s->ops->ping ? s->ops->ping(s) : 1;
}

int store_apply_event(struct store *s, const struct store_event *ev,
                      enum store_event_outcome *outcome)
{
    if (!store_event_key_matches(ev))
        return CAPP_EINVAL;
    struct store_waiter w;
    store_waiter_init(&w);
    int rc = s->ops->apply_event(s, ev, store_waiter_done, &w);
    if (rc == 0)
        rc = store_waiter_wait(&w, outcome);
    store_waiter_destroy(&w);
    return rc;
}

int store_apply_event_async(struct store *s, const struct store_event *ev, store_event_done_fn done,
                            void *ctx)
{
    if (!store_event_key_matches(ev))
        return CAPP_EINVAL;
    return s->ops->apply_event(s, ev, done, ctx);
}

int store_install_get(struct store *s, const char *installed_app_id, struct store_install *out)
{
    return s->ops->install_get(s, installed_app_id, out);
}

int store_install_mark_key_invalid(struct store *s, const char *installed_app_id)
{
    return s->ops->install_mark_key_invalid(s, installed_app_id);
}

void store_install_clear(struct store_install *install)
{
    if (!install)
        return;
    if (install->sealed_api_key) {
        free(install->sealed_api_key);
        install->sealed_api_key = NULL;
    }
}

int store_install_has_permission(const struct store_install *install, const char *permission)
{
    for (size_t i = 0; i < install->permission_count; i++)
        if (strcmp(install->permissions[i], permission) == 0)
            return 1;
    return 0;
}

int store_session_create(struct store *s, const struct store_session *session)
{
    return s->ops->session_create(s, session);
}

int store_session_get(struct store *s, const char *token_hash, struct store_session *out)
{
    return s->ops->session_get(s, token_hash, out);
}

int store_session_delete(struct store *s, const char *token_hash)
{
    return s->ops->session_delete(s, token_hash);
}

int store_launch_put(struct store *s, const struct store_launch *launch)
{
    return s->ops->launch_put(s, launch);
}

int store_launch_take(struct store *s, const char *token_hash, struct store_launch *out)
{
    return s->ops->launch_take(s, token_hash, out);
}

const char *store_launch_refusal(const struct store_install *in, const struct store_launch *launch,
                                 const char *app_id)
{
    if (!in->active)
        return "install_inactive";
    if (strcmp(in->instance_id, launch->instance_id) != 0)
        return "instance_mismatch";
    if (!app_id || strcmp(in->app_id, app_id) != 0)
        return "app_mismatch";
    if (launch->organization_id[0] && in->organization_id[0] &&
        strcmp(in->organization_id, launch->organization_id) != 0)
        return "organization_mismatch";
    return NULL;
}

int store_launch_allowed(const struct store_install *in, const struct store_launch *launch,
                         const char *app_id)
{
    return !store_launch_refusal(in, launch, app_id);
}

int store_launch_mint_defers(const struct store *s)
{
    return s->ops->launch_mint != NULL;
}

int store_launch_mint(struct store *s, const struct store_launch *launch, const char *app_id,
                      store_launch_done_fn done, void *ctx)
{
    if (s->ops->launch_mint)
        return s->ops->launch_mint(s, launch, app_id, done, ctx);
    /* A store that reads installs from memory (SQLite's per-thread cache): two calls cost
     * nothing a batch would save. */
    struct store_install in;
    int rc = s->ops->install_get(s, launch->installed_app_id, &in);
    if (rc) {
        done(ctx, rc, NULL, 0);
        return 0;
    }
    store_install_clear(&in);
    int minted = 0;
    if (store_launch_allowed(&in, launch, app_id)) {
        struct store_launch row = *launch;
        if (!row.organization_id[0])
            snprintf(row.organization_id, sizeof row.organization_id, "%s", in.organization_id);
        rc = s->ops->launch_put(s, &row);
        minted = rc == 0;
    }
    done(ctx, rc, &in, minted);
    return 0;
}

int store_purge_expired(struct store *s, int64_t now_ms)
{
    return s->ops->purge_expired(s, now_ms);
}

void store_set_uninstall_hook(struct store *s, store_uninstall_fn fn, void *ctx)
{
    s->on_uninstall = fn;
    s->on_uninstall_ctx = ctx;
}

void store_set_install_hook(struct store *s, store_install_fn fn, void *ctx)
{
    s->on_install = fn;
    s->on_install_ctx = ctx;
}

int store_install_each_active(struct store *s, store_install_visit_fn fn, void *ctx)
{
    return s->ops->install_each_active(s, fn, ctx);
}

int store_uninstall_each_pending(struct store *s, store_install_visit_fn fn, void *ctx)
{
    return s->ops->uninstall_each_pending(s, fn, ctx);
}

int store_uninstall_resolve(struct store *s, const char *installed_app_id, int64_t pending_since_ms,
                            enum store_uninstall_resolution resolution)
{
    return s->ops->uninstall_resolve(s, installed_app_id, pending_since_ms, resolution);
}

int store_app_pin_get(struct store *s, char out[STORE_ID_CAP])
{
    return s->ops->app_pin_get(s, out);
}

int store_app_pin_set(struct store *s, const char *app_id)
{
    if (!app_id || !json_is_valid_id(app_id, CAPP_MAX_ID_BYTES))
        return CAPP_EINVAL;
    return s->ops->app_pin_set(s, app_id);
}

void store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
}
