/*
 * pipeline_queues.c — the hand-over queues between the pipeline's threads: the write-task
 * queue (outbox items on their way to the writers) and the completion queue (what the writers'
 * calls achieved, on its way to the committer).
 *
 * Design. Both queues live in struct pipeline under the pipeline lock; this file is their
 * producers' side. Outbox items are queued (pipeline_enqueue_items) by the committer (a stored
 * batch's work), the coordinator (the outbox left by earlier runs, removed identities' alerts)
 * and a reviewer's decision (non-blocking: with the queue full the work stays in the outbox for
 * the next run). The queue is bounded (PIPELINE_QUEUE_MAX): a producer waits for space, so the
 * walk cannot run far ahead of Cloud. The writers (pipeline_outbox.c) push a struct done_rec
 * per task (pipeline_done_push), which wakes the committer (pipeline_commit.c) on the first of
 * a group and again once PIPELINE_DONE_GROUP are waiting.
 *
 * The consumers take from the queues in their own loops, under the lock (pipeline_outbox.c
 * writer_main, pipeline_commit.c committer_main); an install's queued tasks are dropped by
 * pipeline_drop_tasks (pipeline_install.c). The third hand-over, checked batches from the walk
 * to the committer, stays in pipeline_commit.c (pipeline_store_submit): only those two use it.
 *
 * Ownership: a queued task owns its outbox item (enqueueing takes the items' contents), holds a
 * reference on its install and counts in its job's inflight until the committer has committed
 * its completions; a pushed done_rec belongs to the committer.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "capp/err.h"
#include "kyc/pipeline_internal.h"

/* ---- the write-task queue: committer, coordinator and decisions → writers ---- */

/* Queues the outbox items (takes their contents). Blocks while the queue is full, unless
 * nonblocking (a request thread): then returns CAPP_EBUSY and the work stays in the outbox. */
int pipeline_enqueue_items(struct pipeline *p, struct job *j, unsigned gen,
                           struct install_ref *inst, struct results_outbox_item *items, size_t n,
                           int nonblocking)
{
    pthread_mutex_lock(&p->lock);
    if (nonblocking && p->queued + n > PIPELINE_QUEUE_MAX) {
        pthread_mutex_unlock(&p->lock);
        return CAPP_EBUSY;
    }
    for (size_t i = 0; i < n; i++) {
        while (p->queued >= PIPELINE_QUEUE_MAX && !p->stopping && pipeline_job_live(j, gen))
            pthread_cond_wait(&p->space, &p->lock);
        struct task *t = NULL;
        if (p->stopping || !pipeline_job_live(j, gen) || !(t = calloc(1, sizeof *t))) {
            results_outbox_item_clear(&items[i]);
            continue;
        }
        t->job = j;
        t->generation = gen;
        t->inst = pipeline_install_ref_hold(inst);
        t->item = items[i];
        memset(&items[i], 0, sizeof items[i]);
        if (p->tail)
            p->tail->next = t;
        else
            p->head = t;
        p->tail = t;
        p->queued++;
        j->inflight++;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* ---- the completion queue: writers → committer ---- */

void pipeline_done_push(struct pipeline *p, struct done_rec *r)
{
    pthread_mutex_lock(&p->lock);
    r->next = NULL;
    if (p->done_tail)
        p->done_tail->next = r;
    else
        p->done_head = r;
    p->done_tail = r;
    if (++p->done_count == 1 || p->done_count >= PIPELINE_DONE_GROUP)
        pthread_cond_signal(&p->done_wake);
    pthread_mutex_unlock(&p->lock);
}
