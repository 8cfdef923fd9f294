/*
 * pipeline_install.c — what the coordinator, the walk and the writers share about one install:
 * its reference, whether its work may still go on, its one Cloud pause, and the dropping of its
 * queued work on a 401 or an uninstall.
 *
 * Design. A run loads the install once (pipeline.c, load_install) into an immutable,
 * reference-counted struct install_ref: the run, its job and every queued task hold a reference
 * (pipeline_install_ref_hold / _release), so a reinstall never frees a key a call is using.
 * Work is tied to the job's generation: pipeline_job_live says whether work of a generation may
 * go on (not uninstalled, key not refused), and every wait and every call checks it first, so
 * after an uninstall or a 401 no new call starts with that key.
 *
 * Cloud trouble: every call of an install (the walk's and the writers') waits for the
 * install's one pause (pipeline_before_call); a 429, 5xx or connection error lengthens it
 * (Retry-After when given, else doubling from BACKOFF_START_MS to backoff_max_ms) and a success
 * shortens it, so trouble slows the whole install down, not one thread. A 401 flags the key
 * invalid (D21) and drops the install's queued tasks — except in the first two minutes after
 * an install (D27), when it is retried like a 5xx: the platform may not have activated the key
 * yet (pipeline_drop_tasks, which the uninstall
 * hook in pipeline.c calls too).
 *
 * pipeline_drop_tasks edits the writers' task queue, yet lives here, not in pipeline_queues.c:
 * the queues hold install references and check liveness (they depend on this file), so the
 * install's side of dropping its work belongs here, or the two files would depend on each other.
 *
 * Threads and locking: any thread. The pause, backoff and liveness fields of struct job and the
 * task queue are guarded by the pipeline lock (each function says whether it takes the lock or
 * wants it held); the reference count is atomic.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "capp/clock.h"
#include "capp/cloud.h"
#include "capp/err.h"
#include "capp/log.h"
#include "capp/store.h"
#include "kyc/pipeline_internal.h"

#define BACKOFF_START_MS 250

/* ---- references ---- */

void pipeline_install_ref_release(struct install_ref *r)
{
    if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
        store_install_clear(&r->row);
        free(r);
    }
}

struct install_ref *pipeline_install_ref_hold(struct install_ref *r)
{
    if (r)
        atomic_fetch_add(&r->refs, 1);
    return r;
}

/* ---- liveness ---- */

int pipeline_job_live(const struct job *j, unsigned generation)
{
    return j->generation == generation && !j->uninstalled && !j->key_invalid;
}

static int64_t now_ms(void)
{
    return clock_now_ms();
}

/* Waits on cond until deadline (ms) or until the job is no longer live. Lock held. */
void pipeline_wait_until(struct pipeline *p, pthread_cond_t *cond, struct job *j, unsigned gen,
                         int64_t deadline)
{
    if (!p->stopping && (!j || pipeline_job_live(j, gen)) && now_ms() < deadline) {
        struct timespec ts = pipeline_deadline_ts(deadline);
        /* one wake-up at most: callers re-check their condition (CLOCK_REALTIME, like
         * clock_now_ms) */
        pthread_cond_timedwait(cond, &p->lock, &ts);
    }
}

/* ---- Cloud trouble: the install's shared pause ---- */

void pipeline_note_trouble(struct pipeline *p, struct job *j, const struct cloud_result *res)
{
    pthread_mutex_lock(&p->lock);
    long max = p->cfg.backoff_max_ms > 0 ? p->cfg.backoff_max_ms : 30000;
    long wait = j->backoff_ms ? j->backoff_ms * 2 : BACKOFF_START_MS;
    if (wait > max)
        wait = max;
    j->backoff_ms = wait;
    if (res->retry_after > 0 && res->retry_after * 1000 > wait)
        wait = res->retry_after * 1000 > max ? max : res->retry_after * 1000;
    int64_t until = now_ms() + wait;
    if (until > j->pause_until_ms)
        j->pause_until_ms = until;
    if (res->error == CAPP_ERATELIMIT)
        j->run.rate_limited++;
    else
        j->run.errors++;
    pthread_mutex_unlock(&p->lock);
}

void pipeline_note_ok(struct pipeline *p, struct job *j)
{
    if (j->backoff_ms) {
        pthread_mutex_lock(&p->lock);
        j->backoff_ms = j->backoff_ms / 2 < BACKOFF_START_MS ? 0 : j->backoff_ms / 2;
        pthread_mutex_unlock(&p->lock);
    }
}

/* Waits for the install's pause; 0 to go on, CAPP_ESHUTDOWN when the job is no longer live. */
int pipeline_before_call(struct pipeline *p, struct job *j, unsigned gen)
{
    pthread_mutex_lock(&p->lock);
    while (!p->stopping && pipeline_job_live(j, gen) && now_ms() < j->pause_until_ms)
        pipeline_wait_until(p, &p->space, j, gen, j->pause_until_ms);
    int live = !p->stopping && pipeline_job_live(j, gen);
    pthread_mutex_unlock(&p->lock);
    return live ? 0 : CAPP_ESHUTDOWN;
}

int pipeline_retryable(const struct cloud_result *res)
{
    return res->error == CAPP_ERATELIMIT || res->error == CAPP_ENETWORK ||
           res->error == CAPP_ETIMEOUT || (res->error == CAPP_EHTTP && res->status >= 500);
}

/* ---- cancelling: uninstall and 401 ---- */

int pipeline_key_refused(struct pipeline *p, struct job *j, const struct cloud_result *res)
{
    pthread_mutex_lock(&p->lock);
    int young = j->activated_ms > 0 && now_ms() - j->activated_ms < PIPELINE_ACTIVATION_GRACE_MS;
    pthread_mutex_unlock(&p->lock);
    if (!young)
        return 0;
    log_info("kyc.pipeline.key_not_active_yet", "installed_app_id", j->id, "effect",
             "retried with backoff", NULL);
    pipeline_note_trouble(p, j, res);
    return 1;
}

void pipeline_key_invalid(struct pipeline *p, struct job *j)
{
    log_warn("kyc.pipeline.key_invalid", "installed_app_id", j->id, NULL);
    store_install_mark_key_invalid(p->cfg.store, j->id);
    pthread_mutex_lock(&p->lock);
    j->key_invalid = 1;
    pipeline_drop_tasks(p, j);
    pthread_mutex_unlock(&p->lock);
}

/* Drops the job's queued tasks (lock held). */
void pipeline_drop_tasks(struct pipeline *p, struct job *j)
{
    struct task **link = &p->head, *last = NULL;
    while (*link) {
        struct task *t = *link;
        if (t->job == j) {
            *link = t->next;
            p->queued--;
            j->inflight--;
            results_outbox_item_clear(&t->item);
            pipeline_install_ref_release(t->inst);
            free(t);
        } else {
            last = t;
            link = &t->next;
        }
    }
    p->tail = last;
    pthread_cond_broadcast(&p->space);
}
