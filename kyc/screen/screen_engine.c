/*
 * screen_engine.c — the engine handle: configuration plus the current index, swapped
 * atomically while queries run.
 *
 * Readers never block. A query enters a two-slot epoch (an RCU-like scheme): it reads the
 * epoch, announces itself in readers[epoch & 1], re-checks the epoch (retrying if a swap
 * slipped in between), loads the index pointer, takes a counted reference and leaves the
 * slot. A writer (serialised by a mutex; writers may wait) publishes the new pointer, bumps
 * the epoch, waits for the slot of the previous epoch to drain — after that no reader can
 * still be between "loaded the old pointer" and "took a reference" — and drops the engine's
 * reference to the old index. Results keep their own reference, so an old index lives until
 * the last result made from it is released. All atomics are sequentially consistent.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "kyc/screen/screen_index.h"

struct screen_engine {
    struct screen_config cfg;
    _Atomic(struct screen_index *) current;
    atomic_ulong epoch;
    atomic_long readers[2];
    pthread_mutex_t writer;
};

int screen_engine_new(const struct screen_config *cfg, struct screen_engine **out)
{
    struct screen_engine *e = calloc(1, sizeof *e);
    if (!e)
        return CAPP_ENOMEM;
    if (cfg)
        e->cfg = *cfg;
    else
        screen_config_default(&e->cfg);
    if (e->cfg.top_k == 0 || e->cfg.top_k > SCREEN_MAX_TOP_K) {
        free(e);
        return CAPP_EINVAL;
    }
    atomic_init(&e->current, NULL);
    atomic_init(&e->epoch, 0);
    atomic_init(&e->readers[0], 0);
    atomic_init(&e->readers[1], 0);
    pthread_mutex_init(&e->writer, NULL);
    *out = e;
    return 0;
}

void screen_engine_free(struct screen_engine *e)
{
    if (!e)
        return;
    screen_index_release(atomic_load(&e->current));
    pthread_mutex_destroy(&e->writer);
    free(e);
}

const struct screen_config *screen_engine_config(const struct screen_engine *e)
{
    return &e->cfg;
}

struct screen_index *screen_engine_acquire(struct screen_engine *e)
{
    for (;;) {
        unsigned long ep = atomic_load(&e->epoch);
        atomic_fetch_add(&e->readers[ep & 1], 1);
        if (atomic_load(&e->epoch) != ep) {
            atomic_fetch_sub(&e->readers[ep & 1], 1);
            continue; /* a swap is in progress; its new pointer is already visible */
        }
        struct screen_index *idx = atomic_load(&e->current);
        if (idx)
            screen_index_retain(idx);
        atomic_fetch_sub(&e->readers[ep & 1], 1);
        return idx;
    }
}

int screen_engine_swap(struct screen_engine *e, struct screen_index *idx)
{
    if (!e || !idx)
        return CAPP_EINVAL;
    pthread_mutex_lock(&e->writer);
    struct screen_index *old = atomic_exchange(&e->current, idx);
    unsigned long ep = atomic_fetch_add(&e->epoch, 1);
    while (atomic_load(&e->readers[ep & 1]) != 0)
        sched_yield();
    pthread_mutex_unlock(&e->writer);
    screen_index_release(old);
    return 0;
}

int screen_engine_load(struct screen_engine *e, const char *const *paths, size_t n,
                       struct screen_error *err)
{
    if (n == 0 || n > SCREEN_MAX_LIST_PATHS)
        return screen_fail(err, n ? CAPP_ETOOBIG : CAPP_EINVAL,
                           "expected 1 to %u list paths, got %zu", SCREEN_MAX_LIST_PATHS, n);
    struct screen_list_set *set = screen_list_set_new();
    if (!set)
        return screen_fail(err, CAPP_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = screen_list_set_load_path(set, paths[i], err);
        if (rc) {
            screen_list_set_free(set);
            return rc;
        }
    }
    struct screen_index *idx;
    int rc = screen_index_build(set, &idx);
    if (rc)
        return screen_fail(err, rc, "building the index: %s", capp_strerror(rc));
    return screen_engine_swap(e, idx);
}

int screen_query(struct screen_engine *e, const struct screen_query *q,
                 const struct screen_config *cfg, struct screen_result *out)
{
    struct screen_index *idx = screen_engine_acquire(e);
    if (!idx) {
        memset(out, 0, sizeof *out);
        return CAPP_ENOTFOUND;
    }
    int rc = screen_query_index(idx, q, cfg ? cfg : &e->cfg, out);
    screen_index_release(idx); /* the result holds its own reference */
    return rc;
}
