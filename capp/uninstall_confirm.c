/*
 * The uninstall confirmation worker. See uninstall_confirm.h for the rule.
 *
 * One thread keeps a small table of pending uninstalls (installed_app_id, when the uninstall was
 * received, when to probe next, the current backoff, whether Cloud ever accepted the key) and
 * sleeps until the earliest probe is due, a wake arrives or the next rescan is due. A wake (an
 * uninstall was applied, or the start) and the periodic rescan re-read the store's pending list,
 * so a restart loses nothing and an uninstall another replica received is probed here too. Before
 * each probe the install is read again: a reinstall that came in meanwhile ends the pending state,
 * and the entry is dropped.
 *
 * Times are wall-clock milliseconds (clock_now_ms), like the stored pending_since, so the window
 * keeps running across a restart.
 */
#include "uninstall_confirm.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "cloud.h"
#include "err.h"
#include "log.h"
#include "store.h"

#define IDLE_WAIT_MS (3600 * 1000LL) /* nothing pending: sleep until woken */

struct pending {
    char installed_app_id[STORE_ID_CAP];
    int64_t since_ms;
    int64_t next_ms;
    int64_t backoff_ms;
    int key_accepted; /* Cloud accepted the key at least once since the uninstall */
    long last_status;
    int probes;
    int overdue_logged;
};

struct uninstall_confirm {
    struct uninstall_confirm_config config;
    char *cloud_url;
    pthread_t thread;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stopping;
    int wake;
    pthread_mutex_t hook_lock; /* held while the forged hook runs */
    uninstall_forged_fn forged;
    void *forged_ctx;
    /* worker-only */
    struct pending *pending;
    size_t count, cap;
};

int uninstall_confirm_new(const struct uninstall_confirm_config *config,
                          struct uninstall_confirm **out)
{
    if (!config || !config->store || !config->keyring || config->window_ms < 0 ||
        config->backoff_ms < 0 || config->backoff_max_ms < 0 || config->rescan_ms < 0)
        return CAPP_EINVAL;
    struct uninstall_confirm *u = calloc(1, sizeof *u);
    if (!u)
        return CAPP_ENOMEM;
    u->config = *config;
    if (!u->config.window_ms)
        u->config.window_ms = UNINSTALL_CONFIRM_WINDOW_MS;
    if (!u->config.backoff_ms)
        u->config.backoff_ms = UNINSTALL_CONFIRM_BACKOFF_MS;
    if (!u->config.backoff_max_ms)
        u->config.backoff_max_ms = UNINSTALL_CONFIRM_BACKOFF_MAX_MS;
    if (!u->config.rescan_ms)
        u->config.rescan_ms = UNINSTALL_CONFIRM_RESCAN_MS;
    if (u->config.backoff_max_ms < u->config.backoff_ms)
        u->config.backoff_max_ms = u->config.backoff_ms;
    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->cond, NULL);
    pthread_mutex_init(&u->hook_lock, NULL);
    *out = u;
    return 0;
}

void uninstall_confirm_set_forged_hook(struct uninstall_confirm *u, uninstall_forged_fn fn,
                                       void *ctx)
{
    pthread_mutex_lock(&u->hook_lock);
    u->forged = fn;
    u->forged_ctx = ctx;
    pthread_mutex_unlock(&u->hook_lock);
}

void uninstall_confirm_wake(struct uninstall_confirm *u)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->lock);
    u->wake = 1;
    pthread_cond_signal(&u->cond);
    pthread_mutex_unlock(&u->lock);
}

/* ---- the table (worker thread only) ---- */

static void drop(struct uninstall_confirm *u, size_t i)
{
    u->pending[i] = u->pending[--u->count];
}

static int track(void *ctx, const struct store_install *in)
{
    struct uninstall_confirm *u = ctx;
    for (size_t i = 0; i < u->count; i++)
        if (strcmp(u->pending[i].installed_app_id, in->installed_app_id) == 0) {
            if (u->pending[i].since_ms == in->uninstall_pending_since_ms)
                return 0;
            drop(u, i); /* a newer uninstall of the same install: start over */
            break;
        }
    if (u->count == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 16;
        struct pending *p = realloc(u->pending, cap * sizeof *p);
        if (!p)
            return 0; /* retried at the next wake */
        u->pending = p;
        u->cap = cap;
    }
    struct pending *p = &u->pending[u->count++];
    memset(p, 0, sizeof *p);
    snprintf(p->installed_app_id, sizeof p->installed_app_id, "%s", in->installed_app_id);
    p->since_ms = in->uninstall_pending_since_ms;
    p->next_ms = clock_now_ms();
    p->backoff_ms = u->config.backoff_ms;
    return 0;
}

/* ---- one probe ---- */

static void restored(struct uninstall_confirm *u, const struct pending *p, const char *prefix)
{
    char received[40], probes[16], status[16];
    clock_format_rfc3339(p->since_ms, received, sizeof received);
    snprintf(probes, sizeof probes, "%d", p->probes);
    snprintf(status, sizeof status, "%ld", p->last_status);
    log_warn("capp.uninstall.forged", "installed_app_id", p->installed_app_id, "api_key_prefix",
             prefix, "uninstall_received_at", received, "probes", probes, "last_status", status,
             "action", "install_restored", NULL);
    json_t *detail = json_pack("{s:s, s:s, s:s, s:I, s:i, s:I}", "event", "uninstall_forged",
                               "action", "install_restored", "uninstall_received_at", received,
                               "window_seconds", (json_int_t)(u->config.window_ms / 1000), "probes",
                               p->probes, "last_status", (json_int_t)p->last_status);
    pthread_mutex_lock(&u->hook_lock);
    if (u->forged && detail)
        u->forged(u->forged_ctx, p->installed_app_id, detail);
    pthread_mutex_unlock(&u->hook_lock);
    json_decref(detail);
}

/* Probes p once; returns 1 when the entry is done (resolved or no longer pending). */
static int probe(struct uninstall_confirm *u, struct cloud_client *client, struct pending *p)
{
    struct store_install in;
    int rc = store_install_get(u->config.store, p->installed_app_id, &in);
    if (rc == CAPP_ENOTFOUND ||
        (rc == 0 && (in.uninstall_pending_since_ms != p->since_ms || !in.sealed_api_key))) {
        store_install_clear(&in);
        return 1;
    }
    if (rc) {
        p->next_ms = clock_now_ms() + p->backoff_ms;
        return 0;
    }
    const char *perms[CAPP_MAX_PERMISSIONS];
    for (size_t i = 0; i < in.permission_count; i++)
        perms[i] = in.permissions[i];
    struct cloud_install ci = {.installed_app_id = in.installed_app_id,
                               .instance_id = in.instance_id,
                               .api_key_prefix = in.api_key_prefix,
                               .sealed_api_key = in.sealed_api_key,
                               .granted_permissions = perms,
                               .permission_count = in.permission_count};
    struct cloud_result res;
    int verdict = cloud_probe_key(client, &ci, &res);
    cloud_result_free(&res);
    p->probes++;
    if (res.status)
        p->last_status = res.status;
    int64_t now = clock_now_ms(), deadline = p->since_ms + u->config.window_ms;
    int done = 0;
    if (verdict == CAPP_EUNAUTH) {
        rc = store_uninstall_resolve(u->config.store, p->installed_app_id, p->since_ms,
                                     STORE_UNINSTALL_CONFIRMED);
        if (rc == 0) {
            char probes[16];
            snprintf(probes, sizeof probes, "%d", p->probes);
            log_info("capp.uninstall.confirmed", "installed_app_id", p->installed_app_id,
                     "api_key_prefix", in.api_key_prefix, "probes", probes, "effect",
                     "key_destroyed", NULL);
        }
        done = rc == 0 || rc == CAPP_ENOTFOUND;
    } else {
        if (verdict == 0)
            p->key_accepted = 1;
        if (now >= deadline && p->key_accepted) {
            rc = store_uninstall_resolve(u->config.store, p->installed_app_id, p->since_ms,
                                         STORE_UNINSTALL_REFUTED);
            if (rc == 0)
                restored(u, p, in.api_key_prefix);
            done = rc == 0 || rc == CAPP_ENOTFOUND;
        } else if (now >= deadline && !p->overdue_logged) {
            /* No evidence either way: neither destroy the key nor restore the install. */
            p->overdue_logged = 1;
            log_warn("capp.uninstall.unconfirmed", "installed_app_id", p->installed_app_id,
                     "api_key_prefix", in.api_key_prefix, "error", capp_errcode(verdict), "effect",
                     "still probing", NULL);
        }
    }
    store_install_clear(&in);
    if (!done) {
        int64_t next = now + p->backoff_ms;
        /* one probe exactly at the end of the window decides a forgery without delay */
        p->next_ms = now < deadline && next > deadline ? deadline : next;
        p->backoff_ms *= 2;
        if (p->backoff_ms > u->config.backoff_max_ms)
            p->backoff_ms = u->config.backoff_max_ms;
    }
    return done;
}

/* ---- the worker ---- */

static void wait_until(struct uninstall_confirm *u, int64_t until_ms)
{
    int64_t now = clock_now_ms();
    if (until_ms <= now)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t wait = until_ms - now;
    ts.tv_sec += wait / 1000;
    ts.tv_nsec += (wait % 1000) * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&u->cond, &u->lock, &ts);
}

static void *worker_main(void *arg)
{
    struct uninstall_confirm *u = arg;
    struct cloud_client *client = NULL;
    /* One attempt a probe: the worker has its own schedule. */
    struct cloud_config cc = {.base_url = u->cloud_url, .max_attempts = 1};
    if (cloud_client_new(&cc, u->config.keyring, &client) != 0) {
        log_error("capp.uninstall.confirm_failed", "error", "cannot create the Cloud client",
                  "effect", "uninstalled keys are kept until a restart", NULL);
        return NULL;
    }
    int64_t rescan_at = 0;
    pthread_mutex_lock(&u->lock);
    while (!u->stopping) {
        if (u->wake || clock_now_ms() >= rescan_at) {
            u->wake = 0;
            pthread_mutex_unlock(&u->lock);
            store_uninstall_each_pending(u->config.store, track, u);
            rescan_at = clock_now_ms() + u->config.rescan_ms;
            pthread_mutex_lock(&u->lock);
            continue;
        }
        int64_t now = clock_now_ms(), earliest = now + IDLE_WAIT_MS;
        if (rescan_at < earliest)
            earliest = rescan_at;
        for (size_t i = 0; i < u->count; i++)
            if (u->pending[i].next_ms < earliest)
                earliest = u->pending[i].next_ms;
        if (earliest > now) {
            wait_until(u, earliest);
            continue;
        }
        pthread_mutex_unlock(&u->lock);
        for (size_t i = 0; i < u->count;) {
            if (u->pending[i].next_ms <= clock_now_ms() && probe(u, client, &u->pending[i]))
                drop(u, i);
            else
                i++;
        }
        pthread_mutex_lock(&u->lock);
    }
    pthread_mutex_unlock(&u->lock);
    cloud_client_free(client);
    return NULL;
}

int uninstall_confirm_start(struct uninstall_confirm *u, const char *cloud_url)
{
    if (u->started)
        return CAPP_EINVAL;
    if (cloud_url && !(u->cloud_url = strdup(cloud_url)))
        return CAPP_ENOMEM;
    u->wake = 1; /* resume what a previous run left pending */
    if (pthread_create(&u->thread, NULL, worker_main, u) != 0)
        return CAPP_ENOMEM;
    u->started = 1;
    return 0;
}

void uninstall_confirm_free(struct uninstall_confirm *u)
{
    if (!u)
        return;
    if (u->started) {
        pthread_mutex_lock(&u->lock);
        u->stopping = 1;
        pthread_cond_signal(&u->cond);
        pthread_mutex_unlock(&u->lock);
        pthread_join(u->thread, NULL);
    }
    free(u->pending);
    free(u->cloud_url);
    pthread_cond_destroy(&u->cond);
    pthread_mutex_destroy(&u->lock);
    pthread_mutex_destroy(&u->hook_lock);
    free(u);
}
