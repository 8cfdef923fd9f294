/*
 * pipeline_commit.c — the committer thread: the pipeline's one writer to the results database.
 *
 * Design. Two queues meet here, both under the pipeline lock: checked batches from the walk
 * (struct store_req, at most STORE_QUEUE_MAX waiting, so the walk cannot run far ahead of the
 * disk; the walk's side, pipeline_store_submit / _wait, is at the end of this file) and
 * completions from the writers (struct done_rec, pushed through pipeline_queues.c). Each turn
 * the committer takes every completion queued so far and commits them together (group commit:
 * waiting up to DONE_GROUP_WAIT_MS for PIPELINE_DONE_GROUP of them), then stores one checked
 * batch. One writer means no lock contention inside SQLite with the walk's reads, and
 * completions share transactions (and fsyncs) however fast the writers produce them.
 *
 * Audit (kyc/audit.h): each stored batch carries one "screening" record per identity in the
 * same transaction as its rows (and a "status_change" for each row whose stored status changed),
 * each committed group of completions one "writeback" / "alert" record per completed call in
 * the same transaction as the completions. A chain that cannot be extended (tampered: see
 * `kyc audit verify`) stops storing, fail-closed, rather than leaving unaudited results.
 *
 * Ownership: the committer owns its connection and audit writer (opened in
 * pipeline_committer_start, closed in pipeline_committer_stop) and frees every batch and
 * completion record it takes; a stored batch's outbox work goes on the writers' task queue
 * (pipeline_queues.c, taken by pipeline_outbox.c). Without a connection nothing is stored or
 * sent: the work stays in the outbox for the next run.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capp/clock.h"
#include "capp/err.h"
#include "capp/log.h"
#include "kyc/audit.h"
#include "kyc/pipeline_internal.h"
#include "kyc/screen/screen.h"

#define DONE_GROUP_WAIT_MS 5 /* how long a smaller group waits for more */
#define STORE_QUEUE_MAX    4 /* checked batches waiting for the committer */

/* ---- completions (group commit) ---- */

/* The audit record of a completed Cloud call, or NULL when the completion is not one. */
static json_t *done_audit(const struct results_done *d, enum audit_kind *kind)
{
    switch (d->kind) {
    case RESULTS_DONE_WRITTEN:
        *kind = AUDIT_WRITEBACK;
        return json_pack("{s:s}", "payload_sha256", d->value);
    case RESULTS_DONE_ALERT_CREATED:
        *kind = AUDIT_ALERT;
        return json_pack("{s:s, s:s}", "action", "created", "anomaly_id", d->value);
    case RESULTS_DONE_ALERT_RESOLVED:
        *kind = AUDIT_ALERT;
        return json_pack("{s:s, s:s}", "action", "resolved", "anomaly_id", d->value);
    default:
        return NULL;
    }
}

/* Completions of one install and their audit records, in one transaction. */
static int apply_done_audited(results_db *db, struct audit_writer *aw, const char *installed_app_id,
                              const struct results_done *d, size_t n)
{
    struct audit_entry entries[PIPELINE_DONE_BATCH];
    size_t n_entries = 0;
    int rc = n <= PIPELINE_DONE_BATCH ? results_begin(db) : CAPP_EINVAL;
    if (rc)
        return rc;
    rc = results_apply_done(db, installed_app_id, d, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        enum audit_kind kind;
        json_t *payload = done_audit(&d[i], &kind);
        if (payload)
            entries[n_entries++] = (struct audit_entry){
                .kind = kind, .identity_id = d[i].identity_id, .payload = payload};
    }
    if (rc == 0)
        rc = audit_append_many(aw, installed_app_id, "system", entries, n_entries, NULL);
    for (size_t i = 0; i < n_entries; i++)
        json_decref((json_t *)entries[i].payload);
    if (rc == 0)
        rc = results_commit(db);
    if (rc)
        results_rollback(db);
    return rc;
}

static void commit_chunk(results_db *db, struct audit_writer *aw, const struct job *j,
                         const struct results_done *d, size_t n)
{
    if (!n || !db) /* no store: the work stays in the outbox */
        return;
    int rc;
    for (int tries = 0; (rc = apply_done_audited(db, aw, j->id, d, n)) && tries < 20; tries++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (rc) /* the work stays in the outbox: the next run sends it again */
        log_error("kyc.pipeline.done_lost", "installed_app_id", j->id, "error", capp_errcode(rc),
                  NULL);
}

/* Commits the records taken from the queue, install by install (in their order within an
 * install), in transactions of up to PIPELINE_DONE_BATCH completions, then releases the tasks'
 * inflight counts. Frees the records. */
static void commit_recs(struct pipeline *p, results_db *db, struct audit_writer *aw,
                        struct done_rec *list, struct results_done *buf)
{
    while (list) {
        struct job *j = list->job;
        struct done_rec **link = &list;
        long tasks = 0;
        size_t n = 0;
        while (*link) {
            struct done_rec *r = *link;
            if (r->job != j) {
                link = &r->next;
                continue;
            }
            *link = r->next;
            if (n + r->n > PIPELINE_DONE_BATCH) {
                commit_chunk(db, aw, j, buf, n);
                n = 0;
            }
            memcpy(buf + n, r->d, r->n * sizeof *buf);
            n += r->n;
            tasks++;
            free(r);
        }
        commit_chunk(db, aw, j, buf, n);
        pthread_mutex_lock(&p->lock);
        j->inflight -= tasks;
        pthread_cond_broadcast(&p->space);
        pthread_mutex_unlock(&p->lock);
    }
}

/* ---- checked batches ---- */

/* The batch's rows, one screening audit record per row and one status_change record per row
 * whose stored status changed ({from, to, reasons, check_id}: no PII), in one transaction. */
static int store_batch_audited(results_db *db, struct audit_writer *aw, const struct store_req *q,
                               const struct results_row *rows,
                               const struct results_write_options *o,
                               struct results_outbox_item **items, size_t *n_items)
{
    const struct run_ctx *r = q->r;
    struct audit_entry entries[2 * PIPELINE_STORE_BATCH];
    json_t *changes[PIPELINE_STORE_BATCH] = {0};
    size_t n_entries = 0, first = *n_items;
    int rc = results_begin(db);
    if (rc)
        return rc;
    rc = results_store_rows(db, r->job->id, rows, q->n, o, items, n_items);
    if (rc == 0 && *n_items - first != q->n)
        rc = CAPP_EINVAL; /* results_store_rows appends one item per row */
    for (size_t i = 0; rc == 0 && i < q->n; i++) {
        json_t *payload = q->batch[i].audit;
        json_object_set(payload, "lists", r->p->lists.lists);
        json_object_set_new(payload, "lists_key", json_string(r->p->lists.key));
        entries[n_entries++] = (struct audit_entry){
            .kind = AUDIT_SCREENING, .identity_id = q->batch[i].identity_id, .payload = payload};
        const struct results_outbox_item *it = &(*items)[first + i];
        if (!it->status_from[0])
            continue;
        json_t *reasons = json_loads(rows[i].reasons_json, 0, NULL);
        changes[i] =
            json_pack("{s:s, s:s, s:o, s:s}", "from", it->status_from, "to", it->status_to,
                      "reasons", reasons ? reasons : json_array(), "check_id", it->check_id);
        if (!changes[i]) {
            rc = CAPP_ENOMEM;
            break;
        }
        entries[n_entries++] = (struct audit_entry){.kind = AUDIT_STATUS_CHANGE,
                                                    .identity_id = q->batch[i].identity_id,
                                                    .payload = changes[i]};
    }
    if (rc == 0)
        rc = audit_append_many(aw, r->job->id, "system", entries, n_entries, NULL);
    for (size_t i = 0; i < q->n; i++)
        json_decref(changes[i]);
    if (rc == 0)
        rc = results_commit(db);
    if (rc)
        results_rollback(db);
    return rc;
}

/* On the committer: stores a submitted batch, queues its outbox work for the writers, frees
 * it and tells the run. */
static void store_req_run(struct pipeline *p, struct store_req *q)
{
    struct run_ctx *r = q->r;
    struct results_row rows[PIPELINE_STORE_BATCH];
    for (size_t i = 0; i < q->n; i++) {
        struct pipeline_checked *c = &q->batch[i];
        rows[i] = (struct results_row){
            .identity_id = c->identity_id,
            .fields_hash = c->fields_hash,
            .lists_key = p->lists.key,
            .display_name = c->display_name,
            .identity_type = c->identity_type,
            .name_tokens = c->name_tokens,
            .status = c->status,
            .risk = c->risk,
            .score = c->score,
            .reasons_json = c->reasons_json,
            .detail_json = c->detail_json,
            .lists_json = p->lists.lists_json,
            .engine_version = SCREEN_ENGINE_VERSION,
            .basis = c->basis,
            .alert_title = c->alert_title,
            .alert_text = c->alert_text,
            .identity_json = c->identity_json,
        };
    }
    struct results_write_options o = {
        .metadata_key = p->metadata_key, .can_alert = r->can_alert, .now_ms = clock_now_ms()};
    struct results_outbox_item *items = NULL;
    size_t n_items = 0;
    int rc = CAPP_EDB;
    for (int tries = 0; p->done_db && tries < 6; tries++) {
        rc = store_batch_audited(p->done_db, p->done_audit, q, rows, &o, &items, &n_items);
        if (rc != CAPP_EDB)
            break;
        for (size_t i = 0; i < n_items; i++)
            results_outbox_item_clear(&items[i]);
        n_items = 0;
    }
    if (rc)
        log_error("kyc.pipeline.store_failed", "installed_app_id", r->job->id, "error",
                  capp_errcode(rc), NULL);
    for (size_t i = 0; i < q->n; i++)
        pipeline_checked_clear(&q->batch[i]);
    free(q);
    if (rc == 0)
        pipeline_enqueue_items(p, r->job, r->gen, r->inst, items, n_items, 0);
    for (size_t i = 0; i < n_items; i++)
        results_outbox_item_clear(&items[i]);
    free(items);
    pthread_mutex_lock(&p->lock);
    r->stores_pending--;
    if (rc && !r->store_rc)
        r->store_rc = rc;
    pthread_cond_broadcast(&p->space);
    pthread_mutex_unlock(&p->lock);
}

/* The committer: the pipeline's one writer to the results database (no lock contention with
 * the walk). Each turn it takes every completion queued so far (after waiting up to
 * DONE_GROUP_WAIT_MS for PIPELINE_DONE_GROUP of them) and commits them together, so the
 * writers' completions share transactions (and fsyncs) however fast they come, and stores one
 * checked batch from the walk. Drains both queues before it exits. */
static void *committer_main(void *arg)
{
    struct pipeline *p = arg;
    struct results_done buf[PIPELINE_DONE_BATCH]; /* ~66 KB of the thread's stack */
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->done_head && !p->store_head && !p->done_stop)
            pthread_cond_wait(&p->done_wake, &p->lock);
        if (!p->done_head && !p->store_head)
            break;
        if (!p->store_head && p->done_count < PIPELINE_DONE_GROUP && !p->done_stop) {
            /* a few completions: give the writers a moment to add to the group (fewer, larger
             * transactions: the pages every commit rewrites are written less often) */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += DONE_GROUP_WAIT_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->done_wake, &p->lock, &ts);
        }
        struct done_rec *list = p->done_head;
        p->done_head = p->done_tail = NULL;
        p->done_count = 0;
        struct store_req *q = p->store_head;
        if (q) {
            p->store_head = q->next;
            if (!p->store_head)
                p->store_tail = NULL;
            p->stores_queued--;
            pthread_cond_broadcast(&p->space);
        }
        pthread_mutex_unlock(&p->lock);
        if (list)
            commit_recs(p, p->done_db, p->done_audit, list, buf);
        if (q)
            store_req_run(p, q);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- the walk's side of the store queue ---- */

/* Hands the filled batch to the committer (waiting while STORE_QUEUE_MAX batches are queued).
 * Returns the run's first store failure, which ends the walk. */
int pipeline_store_submit(struct run_ctx *r)
{
    struct pipeline *p = r->p;
    struct store_req *q = r->cur;
    pthread_mutex_lock(&p->lock);
    int rc = r->store_rc;
    if (q && q->n && rc == 0) {
        while (p->stores_queued >= STORE_QUEUE_MAX && !p->stopping)
            pthread_cond_wait(&p->space, &p->lock);
        q->next = NULL;
        if (p->store_tail)
            p->store_tail->next = q;
        else
            p->store_head = q;
        p->store_tail = q;
        p->stores_queued++;
        r->stores_pending++;
        r->cur = NULL;
        pthread_cond_signal(&p->done_wake);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* Waits until every batch the run submitted is stored; the run's first store failure. */
int pipeline_store_wait(struct run_ctx *r)
{
    struct pipeline *p = r->p;
    pthread_mutex_lock(&p->lock);
    while (r->stores_pending > 0)
        pthread_cond_wait(&p->space, &p->lock);
    int rc = r->store_rc;
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* ---- the thread's life cycle ---- */

void pipeline_committer_start(struct pipeline *p)
{
    /* the committer's own connection and audit writer, handed to its thread: without them the
     * writers send nothing and the work stays in the outbox */
    if (results_conn_open(p->rs, &p->done_db) != 0 ||
        audit_writer_new(sql_sqlite_handle(p->done_db), &p->done_audit) != 0) {
        log_error("kyc.pipeline.committer_db", NULL);
        results_conn_close(p->done_db);
        p->done_db = NULL;
    }
    audit_writer_no_savepoint(p->done_audit); /* every committer transaction rolls back whole */
    pthread_create(&p->committer, NULL, committer_main, p);
}

void pipeline_committer_stop(struct pipeline *p)
{
    pthread_mutex_lock(&p->lock);
    p->done_stop = 1;
    pthread_cond_signal(&p->done_wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->committer, NULL);
    audit_writer_free(p->done_audit);
    p->done_audit = NULL;
    results_conn_close(p->done_db);
    p->done_db = NULL;
}
