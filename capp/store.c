/*
 * Dispatch from the store_* calls to the implementation's ops, plus record helpers. The
 * in-memory launch-token table the SQLite store uses is in launch_tokens.c.
 */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "json.h"

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
