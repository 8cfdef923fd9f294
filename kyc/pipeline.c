/*
 * pipeline.c — the per-install screening pipeline (see pipeline.h for the contract).
 *
 * Design. One coordinator thread runs one install at a time: it reads the install (with its
 * sealed key) from capp's store, loads the stored snapshot (identity → fields hash, lists key)
 * into a hash map, walks /data/identities page by page (D17: until an empty page or
 * page × pageSize ≥ total, deduped by ID) and checks the new or changed identities. Checked
 * identities go in batches of STORE_BATCH to the committer thread, the pipeline's one writer
 * to the results database, which stores each batch in one transaction and queues its outbox
 * work (metadata writes, alert creates and resolutions) on a bounded queue that `threads`
 * writer threads drain with their own Cloud clients — so checking, storing and Cloud writes
 * overlap. Writers hand each task's completions back to the committer, which commits every
 * completion that arrived since its last turn in one transaction (group commit). A run ends
 * when the walk is over, its batches are stored and the install's queued and in-flight work
 * is done.
 *
 * Every Cloud call is made with max_attempts = 1 and retried here, so that a retry wait can be
 * cut short by an uninstall and the install's calls share one pause (429/5xx slow the whole
 * install down, not one thread). Alert creation is retried only after a 429 (the gateway
 * refused it before acting); a 5xx or timeout leaves it 'uncertain'.
 *
 * Uninstall: the store hook bumps the install's generation and drops its queued tasks; every
 * call checks the generation first, so no new call starts with that key.
 *
 * Audit (kyc/audit.h): each stored batch carries one "screening" record per identity in the
 * same transaction as its rows (and a "status_change" for each row whose stored status changed),
 * each committed group of completions one "writeback" / "alert" record per completed call in
 * the same transaction as the completions, and the first run of an install against a list
 * generation a "list_load" record. A chain that cannot be extended (tampered: see `kyc audit
 * verify`) stops storing, fail-closed, rather than leaving unaudited results.
 */
#include "kyc/pipeline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capp/clock.h"
#include "capp/cloud.h"
#include "capp/db.h"
#include "capp/err.h"
#include "capp/log.h"
#include "capp/store.h"
#include "kyc/audit.h"
#include "kyc/pipeline_internal.h"
#include "kyc/review.h"
#include "kyc/screen/screen.h"

#define PAGE_SIZE          100
#define STORE_BATCH        256
#define QUEUE_MAX          4096
#define DONE_BATCH         256
#define DONE_GROUP         128 /* completions that make a group without waiting */
#define DONE_GROUP_WAIT_MS 5   /* how long a smaller group waits for more */
#define STORE_QUEUE_MAX    4   /* checked batches waiting for the committer */
#define BACKOFF_START_MS   250
#define MAX_CALL_TRIES     12 /* per task and call: after that the work stays in the outbox */
#define MAX_PAGE_TRIES     20
#define UNCERTAIN_MAX      10000

/* An immutable copy of an install for Cloud calls; shared by the run and its tasks. */
struct install_ref {
    atomic_int refs;
    struct store_install row;
    const char *perms[CAPP_MAX_PERMISSIONS];
    struct cloud_install ci;
    int can_read, can_write, can_alert, can_alert_read;
};

struct job {
    struct job *next;     /* every job, for pipeline_free */
    struct job *run_next; /* the run queue, while queued_run */
    struct job *due_next; /* the schedule queue, while queued_due */
    int queued_run, queued_due;
    int64_t due_key_ms; /* the schedule queue's order: next_schedule_ms when queued */
    char id[STORE_ID_CAP];
    unsigned generation; /* bumped by uninstall: older work is dropped */
    int uninstalled;     /* until a new install */
    int key_invalid;
    int run_wanted;
    char trigger[16];
    int running;
    long inflight;            /* tasks queued or in a writer, not yet completed */
    int64_t next_schedule_ms; /* 0: none */
    int64_t pause_until_ms;   /* the install's Cloud calls wait until then */
    long backoff_ms;
    struct install_ref *inst;
    /* progress of the current (or last) run, guarded by the pipeline lock */
    struct results_run run;
    int has_run;
    char phase[16];
    long long total_reported; /* Cloud's "total" */
    long long write_busy_ms;
};

struct task {
    struct task *next;
    struct job *job;
    unsigned generation;
    struct install_ref *inst;
    struct results_outbox_item item;
};

struct pipeline {
    struct pipeline_config cfg;
    char *db_path, *cloud_url, *metadata_key, *lists_problem, *today;
    struct results_store *rs;
    struct pipeline_lists lists;
    struct pipeline_hooks hooks;
    pthread_mutex_t lock;
    pthread_cond_t wake;  /* coordinator: a run was asked for, or stopping */
    pthread_cond_t work;  /* writers: a task is queued */
    pthread_cond_t space; /* the queue has room, a job drained, or a cancel happened */
    struct job *jobs;
    struct pipeline_map job_index; /* id → struct job * */
    /* Runs wanted, oldest request first. A job is in it at most once (queued_run), so a burst
     * of requests for one install is one run; entries whose job no longer wants a run are
     * skipped when popped. */
    struct job *run_head, *run_tail;
    /* Re-screening schedule, in order of due_key_ms: every schedule is set to now + the one
     * interval after a run, so appending keeps the order; a job whose schedule moved later
     * while queued is re-appended when its old turn comes. */
    struct job *due_head, *due_tail;
    struct task *head, *tail;
    size_t queued;
    int stopping, started;
    int reload_wanted;          /* pipeline_reload_lists */
    int64_t next_lists_poll_ms; /* 0: no polling */
    char reload_problem[512];   /* the last reload's failure, "" (lock) */
    pthread_t coordinator;
    /* completions, from the writers to the committer (under lock) */
    struct done_rec *done_head, *done_tail;
    size_t done_count;
    /* checked batches, from the walk to the committer (under lock) */
    struct store_req *store_head, *store_tail;
    size_t stores_queued;
    pthread_cond_t done_wake;
    int done_stop;
    pthread_t committer;
    sqlite3 *done_db; /* the committer's connection, opened at start */
    struct audit_writer *done_audit;
    pthread_t *writers;
    void *writer_state; /* struct writer[n_writers] */
    int n_writers;
};

static void inst_unref(struct install_ref *r)
{
    if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
        store_install_clear(&r->row);
        free(r);
    }
}

static struct install_ref *inst_ref(struct install_ref *r)
{
    if (r)
        atomic_fetch_add(&r->refs, 1);
    return r;
}

/* ---- jobs (call with the lock held) ---- */

/* O(1): the install hook runs on capp's store writer thread for every applied install. */
static struct job *job_find(struct pipeline *p, const char *id, int create)
{
    struct job *j = pipeline_map_get(&p->job_index, id);
    if (j || !create)
        return j;
    j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    snprintf(j->id, sizeof j->id, "%s", id);
    snprintf(j->phase, sizeof j->phase, "idle");
    if (pipeline_map_put(&p->job_index, j->id, j) != 0) {
        free(j);
        return NULL;
    }
    j->next = p->jobs;
    p->jobs = j;
    return j;
}

/* Asks for a run of j (coalesced with one already asked for) and wakes the coordinator. */
static void want_run(struct pipeline *p, struct job *j, const char *trigger)
{
    if (!j->run_wanted)
        snprintf(j->trigger, sizeof j->trigger, "%s", trigger);
    j->run_wanted = 1;
    if (!j->queued_run) {
        j->queued_run = 1;
        j->run_next = NULL;
        if (p->run_tail)
            p->run_tail->run_next = j;
        else
            p->run_head = j;
        p->run_tail = j;
    }
    pthread_cond_signal(&p->wake);
}

/* The oldest job that wants a run and may run, or NULL. */
static struct job *pop_run(struct pipeline *p)
{
    while (p->run_head) {
        struct job *j = p->run_head;
        p->run_head = j->run_next;
        if (!p->run_head)
            p->run_tail = NULL;
        j->run_next = NULL;
        j->queued_run = 0;
        /* uninstalled or key_invalid jobs keep waiting for a reinstall, which queues them */
        if (j->run_wanted && !j->uninstalled && !j->key_invalid)
            return j;
    }
    return NULL;
}

static void push_due(struct pipeline *p, struct job *j)
{
    j->queued_due = 1;
    j->due_key_ms = j->next_schedule_ms;
    j->due_next = NULL;
    if (p->due_tail)
        p->due_tail->due_next = j;
    else
        p->due_head = j;
    p->due_tail = j;
}

/* Turns the schedules that are due into wanted runs; returns when the next one is due. */
static int64_t run_due(struct pipeline *p, int64_t now, int64_t next)
{
    while (p->due_head && p->due_head->due_key_ms <= now) {
        struct job *j = p->due_head;
        p->due_head = j->due_next;
        if (!p->due_head)
            p->due_tail = NULL;
        j->due_next = NULL;
        j->queued_due = 0;
        if (!j->next_schedule_ms || j->uninstalled || j->key_invalid)
            continue; /* cancelled: a reinstall's next run schedules it again */
        if (j->next_schedule_ms > now)
            push_due(p, j); /* moved later while queued */
        else if (!j->run_wanted)
            want_run(p, j, "schedule");
    }
    if (p->due_head && p->due_head->due_key_ms < next)
        next = p->due_head->due_key_ms;
    return next;
}

static int job_live(const struct job *j, unsigned generation)
{
    return j->generation == generation && !j->uninstalled && !j->key_invalid;
}

/* Drops the job's queued tasks (lock held). */
static void drop_tasks(struct pipeline *p, struct job *j)
{
    struct task **link = &p->head, *last = NULL;
    while (*link) {
        struct task *t = *link;
        if (t->job == j) {
            *link = t->next;
            p->queued--;
            j->inflight--;
            results_outbox_item_clear(&t->item);
            inst_unref(t->inst);
            free(t);
        } else {
            last = t;
            link = &t->next;
        }
    }
    p->tail = last;
    pthread_cond_broadcast(&p->space);
}

static int64_t now_ms(void)
{
    return clock_now_ms();
}

/* Waits on cond until deadline (ms) or until the job is no longer live. Lock held. */
static void wait_until(struct pipeline *p, pthread_cond_t *cond, struct job *j, unsigned gen,
                       int64_t deadline)
{
    if (!p->stopping && (!j || job_live(j, gen)) && now_ms() < deadline) {
        struct timespec ts = {.tv_sec = deadline / 1000,
                              .tv_nsec = (long)(deadline % 1000) * 1000000L};
        /* one wake-up at most: callers re-check their condition (CLOCK_REALTIME, like
         * clock_now_ms) */
        pthread_cond_timedwait(cond, &p->lock, &ts);
    }
}

/* ---- Cloud trouble: the install's shared pause ---- */

static void note_trouble(struct pipeline *p, struct job *j, const struct cloud_result *res)
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

static void note_ok(struct pipeline *p, struct job *j)
{
    if (j->backoff_ms) {
        pthread_mutex_lock(&p->lock);
        j->backoff_ms = j->backoff_ms / 2 < BACKOFF_START_MS ? 0 : j->backoff_ms / 2;
        pthread_mutex_unlock(&p->lock);
    }
}

/* Waits for the install's pause; 0 to go on, CAPP_ESHUTDOWN when the job is no longer live. */
static int before_call(struct pipeline *p, struct job *j, unsigned gen)
{
    pthread_mutex_lock(&p->lock);
    while (!p->stopping && job_live(j, gen) && now_ms() < j->pause_until_ms)
        wait_until(p, &p->space, j, gen, j->pause_until_ms);
    int live = !p->stopping && job_live(j, gen);
    pthread_mutex_unlock(&p->lock);
    return live ? 0 : CAPP_ESHUTDOWN;
}

static int retryable(const struct cloud_result *res)
{
    return res->error == CAPP_ERATELIMIT || res->error == CAPP_ENETWORK ||
           res->error == CAPP_ETIMEOUT || (res->error == CAPP_EHTTP && res->status >= 500);
}

static void key_invalid(struct pipeline *p, struct job *j)
{
    log_warn("kyc.pipeline.key_invalid", "installed_app_id", j->id, NULL);
    store_install_mark_key_invalid(p->cfg.store, j->id);
    pthread_mutex_lock(&p->lock);
    j->key_invalid = 1;
    drop_tasks(p, j);
    pthread_mutex_unlock(&p->lock);
}

/* ---- completions: one committer thread, group commit ---- */

/* One task's completed Cloud calls (at most one write-back and one alert action each), handed
 * from a writer to the committer. */
struct done_rec {
    struct done_rec *next;
    struct job *job;
    size_t n;
    struct results_done d[3];
};

struct run_ctx;

/* A batch of checked identities on its way from the walk to the committer. */
struct store_req {
    struct store_req *next;
    struct run_ctx *r;
    size_t n;
    struct pipeline_checked batch[STORE_BATCH];
};

struct writer {
    struct pipeline *p;
    struct cloud_client *client;
    struct done_rec *cur; /* the completions of the task in hand */
};

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
static int apply_done_audited(sqlite3 *db, struct audit_writer *aw, const char *installed_app_id,
                              const struct results_done *d, size_t n)
{
    struct audit_entry entries[DONE_BATCH];
    size_t n_entries = 0;
    int rc = n <= DONE_BATCH ? db_begin_immediate(db) : CAPP_EINVAL;
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
        rc = db_commit(db);
    if (rc)
        db_rollback(db);
    return rc;
}

static void commit_chunk(sqlite3 *db, struct audit_writer *aw, const struct job *j,
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
 * install), in transactions of up to DONE_BATCH completions, then releases the tasks' inflight
 * counts. Frees the records. */
static void commit_recs(struct pipeline *p, sqlite3 *db, struct audit_writer *aw,
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
            if (n + r->n > DONE_BATCH) {
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

static void store_req_run(struct pipeline *p, struct store_req *q);

/* The committer: the pipeline's one writer to the results database (no lock contention with
 * the walk). Each turn it takes every completion queued so far (after waiting up to
 * DONE_GROUP_WAIT_MS for DONE_GROUP of them) and commits them together, so the writers'
 * completions share transactions (and fsyncs) however fast they come, and stores one checked
 * batch from the walk. Drains both queues before it exits. */
static void *committer_main(void *arg)
{
    struct pipeline *p = arg;
    struct results_done buf[DONE_BATCH]; /* ~66 KB of the thread's stack */
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->done_head && !p->store_head && !p->done_stop)
            pthread_cond_wait(&p->done_wake, &p->lock);
        if (!p->done_head && !p->store_head)
            break;
        if (!p->store_head && p->done_count < DONE_GROUP && !p->done_stop) {
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

static void done_push(struct pipeline *p, struct done_rec *r)
{
    pthread_mutex_lock(&p->lock);
    r->next = NULL;
    if (p->done_tail)
        p->done_tail->next = r;
    else
        p->done_head = r;
    p->done_tail = r;
    if (++p->done_count == 1 || p->done_count >= DONE_GROUP)
        pthread_cond_signal(&p->done_wake);
    pthread_mutex_unlock(&p->lock);
}

static void add_done(struct writer *w, enum results_done_kind kind, const char *identity_id,
                     const char *value)
{
    struct results_done *d = &w->cur->d[w->cur->n++];
    d->kind = kind;
    snprintf(d->identity_id, sizeof d->identity_id, "%s", identity_id);
    snprintf(d->value, sizeof d->value, "%s", value ? value : "");
}

/* One Cloud call with the pipeline's retries. Returns the last result's error. */
static int call(struct writer *w, struct task *t, const char *method, const char *path,
                const json_t *body, int retry_5xx, struct cloud_result *res)
{
    struct pipeline *p = w->p;
    struct job *j = t->job;
    memset(res, 0, sizeof *res);
    for (int attempt = 0;; attempt++) {
        if (before_call(p, j, t->generation) != 0)
            return res->error = CAPP_ESHUTDOWN;
        cloud_result_free(res);
        struct cloud_request req = {.method = method, .path = path, .body = body};
        int64_t t0 = now_ms();
        int rc = cloud_call(w->client, &t->inst->ci, &req, res);
        int64_t spent = now_ms() - t0;
        pthread_mutex_lock(&p->lock);
        j->write_busy_ms += spent;
        pthread_mutex_unlock(&p->lock);
        if (rc == 0) {
            note_ok(p, j);
            return 0;
        }
        if (rc == CAPP_EUNAUTH) {
            key_invalid(p, j);
            return rc;
        }
        int again = res->error == CAPP_ERATELIMIT || (retry_5xx && retryable(res));
        if (!again || attempt + 1 >= MAX_CALL_TRIES) {
            if (retryable(res))
                note_trouble(p, j, res);
            else {
                pthread_mutex_lock(&p->lock);
                j->run.errors++;
                pthread_mutex_unlock(&p->lock);
            }
            return rc;
        }
        note_trouble(p, j, res);
    }
}

static void do_writeback(struct writer *w, struct task *t)
{
    struct pipeline *p = w->p;
    json_t *obj = json_loads(t->item.payload, 0, NULL);
    if (!obj)
        return;
    json_t *body = json_pack("{s:{s:o}}", "meta_data", p->metadata_key, obj);
    char path[STORE_ID_CAP + 32];
    snprintf(path, sizeof path, "/proxy/%s/metadata", t->item.identity_id);
    struct cloud_result res;
    int rc = call(w, t, "POST", path, body, 1, &res);
    json_decref(body);
    char hash[CRYPTO_SHA256_HEX_BYTES];
    if (rc == 0) {
        crypto_sha256_hex(t->item.payload, strlen(t->item.payload), hash);
        add_done(w, RESULTS_DONE_WRITTEN, t->item.identity_id, hash);
        pthread_mutex_lock(&p->lock);
        t->job->run.written++;
        pthread_mutex_unlock(&p->lock);
    } else if (rc != CAPP_ESHUTDOWN && rc != CAPP_EUNAUTH && !retryable(&res) && res.attempts > 0) {
        add_done(w, RESULTS_DONE_WRITE_FAILED, t->item.identity_id, capp_errcode(rc));
    }
    cloud_result_free(&res);
}

static void do_alert_create(struct writer *w, struct task *t)
{
    struct pipeline *p = w->p;
    json_t *body = json_pack(
        "{s:s, s:s}", "title",
        t->item.alert_title ? t->item.alert_title : "KYC: identity needs review", "description",
        t->item.alert_text ? t->item.alert_text : "The KYC app flagged this identity for review.");
    char path[STORE_ID_CAP + 32];
    snprintf(path, sizeof path, "/alerts/flag/%s", t->item.identity_id);
    struct cloud_result res;
    int rc = call(w, t, "POST", path, body, 0, &res);
    json_decref(body);
    const char *id = json_string_value(json_object_get(res.body, "anomaly_id"));
    if (rc == 0 && id) {
        add_done(w, RESULTS_DONE_ALERT_CREATED, t->item.identity_id, id);
        snprintf(t->item.anomaly_id, sizeof t->item.anomaly_id, "%s", id);
        pthread_mutex_lock(&p->lock);
        t->job->run.alerts_created++;
        pthread_mutex_unlock(&p->lock);
    } else if (rc == 0 || (rc != CAPP_ESHUTDOWN && res.attempts > 0 &&
                           (rc == CAPP_ETIMEOUT || rc == CAPP_ENETWORK ||
                            (rc == CAPP_EHTTP && res.status >= 500) || rc == CAPP_EPARSE))) {
        add_done(w, RESULTS_DONE_ALERT_UNCERTAIN, t->item.identity_id, capp_errcode(rc));
    } else if (rc == CAPP_ESHUTDOWN || rc == CAPP_EUNAUTH || rc == CAPP_ERATELIMIT ||
               res.attempts == 0) {
        /* not sent, or refused before acting: ask again next run */
        add_done(w, RESULTS_DONE_ALERT_WANTED, t->item.identity_id, capp_errcode(rc));
    } else {
        add_done(w, RESULTS_DONE_ALERT_FAILED, t->item.identity_id, capp_errcode(rc));
    }
    cloud_result_free(&res);
}

static void do_alert_resolve(struct writer *w, struct task *t)
{
    struct pipeline *p = w->p;
    if (!t->item.anomaly_id[0])
        return;
    json_t *body = json_pack("{s:s, s:s}", "status", "RESOLVED", "description",
                             "Resolved in the KYC app: a reviewer decided, or a re-screen "
                             "cleared the identity.");
    char path[STORE_ID_CAP + 32];
    snprintf(path, sizeof path, "/alerts/flag/%s", t->item.anomaly_id);
    struct cloud_result res;
    int rc = call(w, t, "PUT", path, body, 1, &res);
    json_decref(body);
    if (rc == 0) {
        add_done(w, RESULTS_DONE_ALERT_RESOLVED, t->item.identity_id, t->item.anomaly_id);
        pthread_mutex_lock(&p->lock);
        t->job->run.alerts_resolved++;
        pthread_mutex_unlock(&p->lock);
    } else if (rc == CAPP_ENOTFOUND || (rc == CAPP_EPERM && res.attempts > 0)) {
        add_done(w, RESULTS_DONE_ALERT_FAILED, t->item.identity_id, capp_errcode(rc));
    }
    cloud_result_free(&res);
}

static void process(struct writer *w, struct task *t)
{
    struct install_ref *inst = t->inst;
    if (t->item.writeback && inst->can_write)
        do_writeback(w, t);
    if (t->item.alert_create && inst->can_alert)
        do_alert_create(w, t);
    else if (t->item.alert_create)
        add_done(w, RESULTS_DONE_ALERT_WANTED, t->item.identity_id, "missing_scope");
    if (t->item.alert_resolve && inst->can_alert)
        do_alert_resolve(w, t);
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct pipeline *p = w->p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->work, &p->lock);
        if (!p->head && p->stopping)
            break;
        struct task *t = p->head;
        p->head = t->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        pthread_cond_broadcast(&p->space);
        int live = job_live(t->job, t->generation) && p->done_db;
        pthread_mutex_unlock(&p->lock);
        struct job *j = t->job;
        w->cur = calloc(1, sizeof *w->cur);
        int pushed = w->cur != NULL;
        if (pushed) {
            w->cur->job = j;
            if (live) /* without a store nothing is sent: the work stays in the outbox */
                process(w, t);
            done_push(p, w->cur); /* the committer releases the task */
            w->cur = NULL;
        }
        results_outbox_item_clear(&t->item);
        inst_unref(t->inst);
        free(t);
        pthread_mutex_lock(&p->lock);
        if (!pushed) { /* out of memory: nothing sent, the work stays in the outbox */
            j->inflight--;
            pthread_cond_broadcast(&p->space);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Queues the outbox items (takes their contents). Blocks while the queue is full, unless
 * nonblocking (a request thread): then returns CAPP_EBUSY and the work stays in the outbox. */
static int enqueue_items(struct pipeline *p, struct job *j, unsigned gen, struct install_ref *inst,
                         struct results_outbox_item *items, size_t n, int nonblocking)
{
    pthread_mutex_lock(&p->lock);
    if (nonblocking && p->queued + n > QUEUE_MAX) {
        pthread_mutex_unlock(&p->lock);
        return CAPP_EBUSY;
    }
    for (size_t i = 0; i < n; i++) {
        while (p->queued >= QUEUE_MAX && !p->stopping && job_live(j, gen))
            pthread_cond_wait(&p->space, &p->lock);
        struct task *t = NULL;
        if (p->stopping || !job_live(j, gen) || !(t = calloc(1, sizeof *t))) {
            results_outbox_item_clear(&items[i]);
            continue;
        }
        t->job = j;
        t->generation = gen;
        t->inst = inst_ref(inst);
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

static void enqueue(struct pipeline *p, struct job *j, unsigned gen, struct install_ref *inst,
                    struct results_outbox_item *items, size_t n)
{
    enqueue_items(p, j, gen, inst, items, n, 0);
}

/* ---- the coordinator's run ---- */

struct snap {
    struct results_snapshot_entry e;
    char *tokens;
    int seen;
};

static void snap_free(void *v)
{
    struct snap *s = v;
    if (s)
        free(s->tokens);
    free(s);
}

static int snap_visit(void *ctx, const char *id, const struct results_snapshot_entry *e,
                      const char *tokens)
{
    struct snap *s = calloc(1, sizeof *s);
    if (!s || !(s->tokens = strdup(tokens))) {
        free(s);
        return CAPP_ENOMEM;
    }
    s->e = *e;
    if (pipeline_map_put(ctx, id, s) != 0) {
        snap_free(s);
        return CAPP_ENOMEM;
    }
    return 0;
}

struct run_ctx {
    struct pipeline *p;
    struct job *job;
    unsigned gen;
    struct install_ref *inst;
    sqlite3 *db;
    struct audit_writer *audit; /* on db */
    struct cloud_client *client;
    struct pipeline_map snapshot;
    struct pipeline_fp fp;
    struct store_req *cur; /* the batch being filled */
    long stores_pending;   /* submitted, not yet stored (pipeline lock) */
    int store_rc;          /* the first store failure (pipeline lock) */
    int walk_complete;     /* the walk reached the end of the list (D17), not a page cap */
    int can_alert;
};

/* The batch's rows, one screening audit record per row and one status_change record per row
 * whose stored status changed ({from, to, reasons, check_id}: no PII), in one transaction. */
static int store_batch_audited(sqlite3 *db, struct audit_writer *aw, const struct store_req *q,
                               const struct results_row *rows,
                               const struct results_write_options *o,
                               struct results_outbox_item **items, size_t *n_items)
{
    const struct run_ctx *r = q->r;
    struct audit_entry entries[2 * STORE_BATCH];
    json_t *changes[STORE_BATCH] = {0};
    size_t n_entries = 0, first = *n_items;
    int rc = db_begin_immediate(db);
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
        rc = db_commit(db);
    if (rc)
        db_rollback(db);
    return rc;
}

/* On the committer: stores a submitted batch, queues its outbox work for the writers, frees
 * it and tells the run. */
static void store_req_run(struct pipeline *p, struct store_req *q)
{
    struct run_ctx *r = q->r;
    struct results_row rows[STORE_BATCH];
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
        .metadata_key = p->metadata_key, .can_alert = r->can_alert, .now_ms = now_ms()};
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
        enqueue(p, r->job, r->gen, r->inst, items, n_items);
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

/* Hands the filled batch to the committer (waiting while STORE_QUEUE_MAX batches are queued).
 * Returns the run's first store failure, which ends the walk. */
static int submit_batch(struct run_ctx *r)
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
static int wait_stored(struct run_ctx *r)
{
    struct pipeline *p = r->p;
    pthread_mutex_lock(&p->lock);
    while (r->stores_pending > 0)
        pthread_cond_wait(&p->space, &p->lock);
    int rc = r->store_rc;
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static void discard_batch(struct run_ctx *r)
{
    if (!r->cur)
        return;
    for (size_t i = 0; i < r->cur->n; i++)
        pipeline_checked_clear(&r->cur->batch[i]);
    free(r->cur);
    r->cur = NULL;
}

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Screening is measured in the coordinator's CPU time (what it costs, not how long the
 * machine made it wait); fetching in wall time (it is mostly waiting for Cloud). */
static int64_t cpu_ms(void)
{
    return clock_ms(CLOCK_THREAD_CPUTIME_ID);
}

static int64_t wall_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

static int handle_identity(struct run_ctx *r, json_t *item)
{
    struct pipeline *p = r->p;
    if (!r->cur && !(r->cur = calloc(1, sizeof *r->cur)))
        return CAPP_ENOMEM;
    r->cur->r = r;
    struct pipeline_checked *c = &r->cur->batch[r->cur->n];
    memset(c, 0, sizeof *c);
    if (pipeline_identity_hash(item, c->identity_id, c->fields_hash) != 0)
        return 0; /* an identity without a usable ID cannot be tracked: skipped */
    struct snap *s = pipeline_map_get(&r->snapshot, c->identity_id);
    if (s) {
        if (s->seen)
            return 0; /* D17 dedupe */
        s->seen = 1;
    }
    if (s && !s->e.removed && strcmp(s->e.fields_hash, c->fields_hash) == 0) {
        int same_lists = strcmp(s->e.lists_key, p->lists.key) == 0;
        int unaffected = !same_lists && p->lists.previous[0] &&
                         strcmp(s->e.lists_key, p->lists.previous) == 0 &&
                         !pipeline_lists_affects(&p->lists, s->tokens);
        if (same_lists || unaffected) {
            pthread_mutex_lock(&p->lock);
            r->job->run.unchanged++;
            pthread_mutex_unlock(&p->lock);
            return 0;
        }
    }
    int64_t t0 = cpu_ms();
    int rc = pipeline_check_identity(p->cfg.engine, item, p->today, &r->fp, c);
    int64_t spent = cpu_ms() - t0;
    pthread_mutex_lock(&p->lock);
    r->job->run.screen_ms += spent;
    r->job->run.screened++;
    if (rc)
        r->job->run.errors++;
    pthread_mutex_unlock(&p->lock);
    if (rc) {
        pipeline_checked_clear(c);
        return 0;
    }
    if (++r->cur->n == STORE_BATCH)
        return submit_batch(r);
    return 0;
}

static int load_install(struct pipeline *p, struct job *j, struct install_ref **out)
{
    *out = NULL;
    struct install_ref *r = calloc(1, sizeof *r);
    if (!r)
        return CAPP_ENOMEM;
    int rc = store_install_get(p->cfg.store, j->id, &r->row);
    if (rc || !r->row.active || !r->row.sealed_api_key) {
        store_install_clear(&r->row);
        free(r);
        return rc ? rc : CAPP_EINACTIVE;
    }
    atomic_init(&r->refs, 1);
    for (size_t i = 0; i < r->row.permission_count; i++)
        r->perms[i] = r->row.permissions[i];
    r->ci = (struct cloud_install){.installed_app_id = r->row.installed_app_id,
                                   .instance_id = r->row.instance_id,
                                   .api_key_prefix = r->row.api_key_prefix,
                                   .sealed_api_key = r->row.sealed_api_key,
                                   .granted_permissions = r->perms,
                                   .permission_count = r->row.permission_count};
    r->can_read = store_install_has_permission(&r->row, CLOUD_SCOPE_DATA_READ);
    r->can_write = store_install_has_permission(&r->row, CLOUD_SCOPE_DATA_WRITE);
    r->can_alert = store_install_has_permission(&r->row, CLOUD_SCOPE_ALERTS_WRITE);
    r->can_alert_read = store_install_has_permission(&r->row, CLOUD_SCOPE_ALERTS_READ);
    *out = r;
    return 0;
}

/* Pages a GET walk with the pipeline's retries; fn per item. */
static int walk(struct run_ctx *r, const char *path, int (*fn)(struct run_ctx *, json_t *),
                int count_fetch)
{
    struct pipeline *p = r->p;
    long total = -1;
    for (long page = 1; page <= CLOUD_PAGE_MAX_PAGES; page++) {
        char page_text[24], size_text[24];
        snprintf(page_text, sizeof page_text, "%ld", page);
        snprintf(size_text, sizeof size_text, "%d", PAGE_SIZE);
        const char *query[] = {"page", page_text, "pageSize", size_text, NULL};
        struct cloud_result res;
        int rc;
        for (int tries = 0;; tries++) {
            if (before_call(p, r->job, r->gen) != 0)
                return CAPP_ESHUTDOWN;
            int64_t t0 = wall_ms();
            rc = cloud_get(r->client, &r->inst->ci, path, query, &res);
            if (count_fetch) {
                pthread_mutex_lock(&p->lock);
                r->job->run.fetch_ms += wall_ms() - t0;
                pthread_mutex_unlock(&p->lock);
            }
            if (rc == 0 || !retryable(&res) || tries + 1 >= MAX_PAGE_TRIES)
                break;
            note_trouble(p, r->job, &res);
            cloud_result_free(&res);
        }
        if (rc == CAPP_EUNAUTH)
            key_invalid(p, r->job);
        if (rc) {
            cloud_result_free(&res);
            return rc;
        }
        note_ok(p, r->job);
        json_t *data = json_is_array(res.body) ? res.body : json_object_get(res.body, "data");
        json_t *t = json_object_get(res.body, "total");
        if (json_is_integer(t))
            total = (long)json_integer_value(t);
        size_t n = json_array_size(data);
        if (count_fetch) {
            pthread_mutex_lock(&p->lock);
            r->job->run.fetched += (long long)n;
            r->job->total_reported = total;
            pthread_mutex_unlock(&p->lock);
        }
        int is_array = json_is_array(data);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = fn(r, json_array_get(data, i));
        cloud_result_free(&res);
        if (rc)
            return rc;
        if (n == 0 || (total >= 0 && page * PAGE_SIZE >= total) || !is_array) {
            r->walk_complete = 1;
            break;
        }
    }
    return 0;
}

static struct pipeline_map *uncertain_map;
static pthread_mutex_t uncertain_lock = PTHREAD_MUTEX_INITIALIZER;

static int reconcile_alert(struct run_ctx *r, json_t *alert)
{
    const char *anomaly = json_string_value(json_object_get(alert, "anomaly_id"));
    const char *title = json_string_value(json_object_get(alert, "title"));
    json_t *affected = json_object_get(alert, "affected_identities");
    if (!anomaly || !title || strncmp(title, "KYC:", 4) != 0 || !json_is_array(affected))
        return 0;
    size_t i;
    json_t *v;
    json_array_foreach(affected, i, v)
    {
        const char *id = json_string_value(v);
        if (!id)
            continue;
        char *found = pipeline_map_get(uncertain_map, id);
        if (found && !*found) {
            struct results_done d = {.kind = RESULTS_DONE_ALERT_CREATED};
            snprintf(d.identity_id, sizeof d.identity_id, "%s", id);
            snprintf(d.value, sizeof d.value, "%s", anomaly);
            /* 'uncertain' → 'open' with the alert Cloud has */
            sqlite3_stmt *st = NULL;
            if (db_prepare(r->db,
                           "UPDATE kyc_identities SET alert_state = 'open', anomaly_id = ?3"
                           " WHERE installed_app_id = ?1 AND identity_id = ?2"
                           " AND alert_state = 'uncertain'",
                           &st) == 0) {
                db_bind_text(st, 1, r->job->id);
                db_bind_text(st, 2, d.identity_id);
                db_bind_text(st, 3, d.value);
                db_step_done(st);
                sqlite3_finalize(st);
            }
            *found = 1;
        }
    }
    return 0;
}

/* Uncertain alerts (a create whose outcome is unknown): with alerts:read, find them in Cloud
 * (ours carry a "KYC:" title) and adopt them; the ones Cloud does not have become 'wanted'. */
static void reconcile_uncertain(struct run_ctx *r)
{
    static char ids[UNCERTAIN_MAX][STORE_ID_CAP];
    size_t n = 0;
    pthread_mutex_lock(&uncertain_lock);
    if (results_uncertain_alerts(r->db, r->job->id, ids, UNCERTAIN_MAX, &n) != 0 || n == 0 ||
        !r->inst->can_alert_read) {
        pthread_mutex_unlock(&uncertain_lock);
        return;
    }
    struct pipeline_map map = {0};
    char *flags = calloc(n, 1);
    for (size_t i = 0; flags && i < n; i++)
        pipeline_map_put(&map, ids[i], &flags[i]);
    uncertain_map = &map;
    int rc = flags ? walk(r, "/alerts", reconcile_alert, 0) : CAPP_ENOMEM;
    if (rc == 0) {
        sqlite3_stmt *st = NULL;
        if (db_prepare(r->db,
                       "UPDATE kyc_identities SET alert_state = 'wanted'"
                       " WHERE installed_app_id = ?1 AND identity_id = ?2"
                       " AND alert_state = 'uncertain'",
                       &st) == 0) {
            for (size_t i = 0; i < n; i++) {
                if (flags[i])
                    continue;
                sqlite3_reset(st);
                db_bind_text(st, 1, r->job->id);
                db_bind_text(st, 2, ids[i]);
                db_step_done(st);
            }
            sqlite3_finalize(st);
        }
    }
    uncertain_map = NULL;
    pipeline_map_clear(&map, NULL);
    free(flags);
    pthread_mutex_unlock(&uncertain_lock);
}

static void set_phase(struct pipeline *p, struct job *j, const char *phase)
{
    pthread_mutex_lock(&p->lock);
    snprintf(j->phase, sizeof j->phase, "%s", phase);
    pthread_mutex_unlock(&p->lock);
}

static void save_run(struct pipeline *p, struct run_ctx *r)
{
    struct results_run copy;
    pthread_mutex_lock(&p->lock);
    copy = r->job->run;
    pthread_mutex_unlock(&p->lock);
    results_run_update(r->db, r->job->id, &copy);
}

/* The install's list_load audit record, the first time it is screened against this
 * generation (lists are global: each install's chain records the load it was screened with). */
static int record_list_load(struct pipeline *p, sqlite3 *db, struct audit_writer *aw,
                            const char *installed_app_id)
{
    if (!p->lists.loaded)
        return 0;
    int rc = db_begin_immediate(db);
    if (rc)
        return rc;
    rc = results_list_load_claim(db, installed_app_id, p->lists.key, now_ms());
    if (rc == 1) {
        json_t *payload =
            json_pack("{s:s, s:s, s:O, s:I, s:I, s:s}", "lists_key", p->lists.key, "previous_key",
                      p->lists.previous, "lists", p->lists.lists, "entries",
                      (json_int_t)p->lists.n_entries, "changed_tokens",
                      (json_int_t)p->lists.n_changed, "engine_version", SCREEN_ENGINE_VERSION);
        rc = payload ? audit_writer_append(aw, installed_app_id, "system", AUDIT_LIST_LOAD, NULL,
                                           payload, NULL)
                     : CAPP_ENOMEM;
        json_decref(payload);
    }
    if (rc == 0)
        rc = db_commit(db);
    if (rc) {
        db_rollback(db);
        log_error("kyc.pipeline.list_load_unrecorded", "installed_app_id", installed_app_id,
                  "error", capp_errcode(rc), NULL);
    }
    return rc;
}

/* Asks Blnk about one identity the walk did not list: 1 gone (404), 0 still there (the list
 * moved under the walk's pages), < 0 a failure that ends the check for this run. */
static int confirm_gone(struct run_ctx *r, const char *identity_id)
{
    char path[STORE_ID_CAP + 32];
    snprintf(path, sizeof path, "/data/identities/%s", identity_id);
    for (int tries = 0;; tries++) {
        if (before_call(r->p, r->job, r->gen) != 0)
            return CAPP_ESHUTDOWN;
        struct cloud_result res;
        int rc = cloud_get(r->client, &r->inst->ci, path, NULL, &res);
        int again =
            rc != 0 && rc != CAPP_ENOTFOUND && retryable(&res) && tries + 1 < MAX_PAGE_TRIES;
        if (again)
            note_trouble(r->p, r->job, &res);
        else if (rc == 0 || rc == CAPP_ENOTFOUND)
            note_ok(r->p, r->job);
        cloud_result_free(&res);
        if (rc == CAPP_EUNAUTH)
            key_invalid(r->p, r->job);
        if (!again)
            return rc == CAPP_ENOTFOUND ? 1 : rc;
    }
}

/* After a complete walk: every stored identity it did not list that Blnk confirms gone (404 on
 * GET /data/identities/{id}) is marked removed with an "identity_removed" audit record, in one
 * transaction per STORE_BATCH, and its open alert is queued for resolution. Returns how many
 * were marked. */
static long detect_removed(struct run_ctx *r)
{
    struct pipeline *p = r->p;
    long marked = 0;
    const struct pipeline_map *m = &r->snapshot;
    char(*gone)[STORE_ID_CAP] = malloc(STORE_BATCH * sizeof *gone);
    if (!gone)
        return 0;
    size_t i = 0;
    int stop = 0;
    while (!stop && i < m->cap) {
        size_t n = 0;
        for (; i < m->cap && n < STORE_BATCH; i++) {
            const struct snap *s = m->slots[i].key ? m->slots[i].value : NULL;
            if (!s || s->seen || s->e.removed)
                continue;
            int rc = confirm_gone(r, m->slots[i].key);
            if (rc < 0) {
                stop = 1;
                break;
            }
            if (rc == 1)
                snprintf(gone[n++], STORE_ID_CAP, "%s", m->slots[i].key);
        }
        if (n == 0)
            continue;
        struct results_outbox_item items[STORE_BATCH];
        struct audit_entry entries[STORE_BATCH];
        json_t *payloads[STORE_BATCH] = {0};
        size_t n_items = 0, n_entries = 0;
        int rc = db_begin_immediate(r->db);
        for (size_t k = 0; rc == 0 && k < n; k++) {
            char status[RESULTS_STATUS_CAP] = "";
            struct results_outbox_item *it = &items[n_items];
            rc = results_mark_removed(r->db, r->job->id, gone[k], now_ms(), status, sizeof status,
                                      it);
            if (rc == CAPP_ENOTFOUND) { /* removed meanwhile: nothing to record */
                rc = 0;
                continue;
            }
            if (rc)
                break;
            if (it->alert_resolve)
                n_items++;
            else
                results_outbox_item_clear(it);
            payloads[n_entries] = json_pack("{s:s, s:s}", "previous_status", status, "confirmed_by",
                                            "GET /data/identities/{id}: 404 after a complete walk");
            if (!payloads[n_entries]) {
                rc = CAPP_ENOMEM;
                break;
            }
            entries[n_entries] = (struct audit_entry){.kind = AUDIT_IDENTITY_REMOVED,
                                                      .identity_id = gone[k],
                                                      .payload = payloads[n_entries]};
            n_entries++;
        }
        if (rc == 0)
            rc = audit_append_many(r->audit, r->job->id, "system", entries, n_entries, NULL);
        if (rc == 0)
            rc = db_commit(r->db);
        for (size_t k = 0; k < n_entries; k++)
            json_decref(payloads[k]);
        if (rc) {
            db_rollback(r->db);
            log_error("kyc.pipeline.removed_unrecorded", "installed_app_id", r->job->id, "error",
                      capp_errcode(rc), NULL);
            for (size_t k = 0; k < n_items; k++)
                results_outbox_item_clear(&items[k]);
            break;
        }
        marked += (long)n_entries;
        enqueue(p, r->job, r->gen, r->inst, items, n_items);
        for (size_t k = 0; k < n_items; k++)
            results_outbox_item_clear(&items[k]);
    }
    free(gone);
    return marked;
}

static void do_run(struct pipeline *p, struct job *j, unsigned gen, const char *trigger,
                   struct cloud_client *client, sqlite3 *db, struct audit_writer *aw)
{
    struct run_ctx *r = calloc(1, sizeof *r);
    if (!r)
        return;
    r->p = p;
    r->job = j;
    r->gen = gen;
    r->db = db;
    r->audit = aw;
    r->client = client;
    int rc = load_install(p, j, &r->inst);
    if (rc) {
        log_info("kyc.pipeline.skip", "installed_app_id", j->id, "reason", capp_errcode(rc), NULL);
        free(r);
        return;
    }
    r->can_alert = r->inst->can_alert;
    int64_t started = now_ms(), run_id = 0;
    pthread_mutex_lock(&p->lock);
    inst_unref(j->inst);
    j->inst = inst_ref(r->inst);
    memset(&j->run, 0, sizeof j->run);
    snprintf(j->run.trigger, sizeof j->run.trigger, "%s", trigger);
    snprintf(j->run.state, sizeof j->run.state, "running");
    j->run.started_at_ms = started;
    j->has_run = 1;
    j->total_reported = -1;
    j->write_busy_ms = 0;
    pthread_mutex_unlock(&p->lock);
    if (results_run_begin(db, j->id, trigger, started, &run_id) == 0) {
        pthread_mutex_lock(&p->lock);
        j->run.run_id = run_id;
        pthread_mutex_unlock(&p->lock);
    }
    log_info("kyc.pipeline.run_start", "installed_app_id", j->id, "trigger", trigger, NULL);
    const char *message = "";
    /* 1. the outbox left by earlier runs and decisions */
    set_phase(p, j, "outbox");
    reconcile_uncertain(r);
    struct results_outbox_item *items = NULL;
    size_t n_items = 0;
    if (results_outbox_load(db, j->id, r->inst->can_write, r->can_alert, &items, &n_items) == 0)
        enqueue(p, j, gen, r->inst, items, n_items);
    for (size_t i = 0; i < n_items; i++)
        results_outbox_item_clear(&items[i]);
    free(items);
    /* 2. the walk */
    if (!r->inst->can_read) {
        rc = CAPP_EPERM;
        message = "data:read is not granted: identities cannot be read";
    } else {
        set_phase(p, j, "fetching");
        r->fp = (struct pipeline_fp){
            .db = db, .installed_app_id = j->id, .entry_hashes = p->lists.entry_hashes};
        rc = record_list_load(p, db, aw, j->id);
        if (rc == 0)
            rc = results_snapshot_each(db, j->id, snap_visit, &r->snapshot);
        if (rc == 0)
            rc = walk(r, "/data/identities", handle_identity, 1);
        if (rc == 0)
            rc = submit_batch(r);
        discard_batch(r); /* what a failed walk left unsubmitted */
        int stored = wait_stored(r);
        if (rc == 0)
            rc = stored;
        if (rc == 0 && r->walk_complete) {
            long removed = detect_removed(r);
            if (removed > 0) {
                char n_text[24];
                snprintf(n_text, sizeof n_text, "%ld", removed);
                log_info("kyc.pipeline.removed", "installed_app_id", j->id, "identities", n_text,
                         NULL);
            }
        }
        if (rc == 0 && p->lists.previous[0])
            results_advance_lists_key(db, j->id, p->lists.previous, p->lists.key);
        if (rc && rc != CAPP_ESHUTDOWN)
            message = "reading identities from Blnk Cloud failed; the next run retries";
    }
    pipeline_map_clear(&r->snapshot, snap_free);
    /* 3. the writers finish this install's work */
    set_phase(p, j, "writing");
    int64_t drain_start = now_ms();
    pthread_mutex_lock(&p->lock);
    while (j->inflight > 0 && !p->stopping && job_live(j, gen)) {
        pthread_mutex_unlock(&p->lock);
        save_run(p, r);
        pthread_mutex_lock(&p->lock);
        wait_until(p, &p->space, j, gen, now_ms() + 1000);
    }
    int live = job_live(j, gen) && !p->stopping;
    int keybad = j->key_invalid;
    j->run.write_ms = j->write_busy_ms;
    j->run.finished_at_ms = now_ms();
    if (!live)
        snprintf(j->run.state, sizeof j->run.state, "stopped");
    else
        snprintf(j->run.state, sizeof j->run.state, "%s", rc ? "failed" : "done");
    if (keybad)
        message = "Blnk Cloud refused the install's API key (401): reinstall the app";
    else if (!live)
        message = p->stopping ? "the server stopped" : "the app was uninstalled";
    snprintf(j->run.message, sizeof j->run.message, "%s", message);
    snprintf(j->phase, sizeof j->phase, "idle");
    pthread_mutex_unlock(&p->lock);
    save_run(p, r);
    char ms[24], n[24], drain[24], total[24];
    snprintf(total, sizeof total, "%lld", j->total_reported);
    snprintf(ms, sizeof ms, "%lld", (long long)(now_ms() - started));
    snprintf(n, sizeof n, "%lld", j->run.screened);
    snprintf(drain, sizeof drain, "%lld", (long long)(now_ms() - drain_start));
    log_info("kyc.pipeline.run_end", "installed_app_id", j->id, "state", j->run.state, "ms", ms,
             "screened", n, "drain_ms", drain, "total", total, NULL);
    inst_unref(r->inst);
    free(r);
}

static int lists_visit(void *ctx, const struct store_install *install)
{
    pipeline_request_run(ctx, install->installed_app_id, "lists");
    return 0;
}

/* On the coordinator, between runs (no batch in flight reads p->lists): loads the lists again
 * when asked (forced) or when the files changed; on a new generation, publishes it and queues
 * a run for every active install. A failed load keeps the current index and generation. */
static void reload_lists(struct pipeline *p, sqlite3 *db, int forced)
{
    if (!p->cfg.lists_load || !db)
        return;
    if (!forced && !(p->cfg.lists_changed && p->cfg.lists_changed(p->cfg.lists_ctx)))
        return;
    char problem[512] = "";
    int rc = p->cfg.lists_load(p->cfg.lists_ctx, problem, sizeof problem);
    if (rc) {
        log_warn("kyc.pipeline.lists_reload_failed", "error", capp_errcode(rc), "effect",
                 "screening goes on with the lists loaded before", NULL);
        pthread_mutex_lock(&p->lock);
        snprintf(p->reload_problem, sizeof p->reload_problem,
                 "New sanctions list files could not be loaded (%s): screening goes on with "
                 "the lists loaded before.",
                 problem[0] ? problem : capp_errcode(rc));
        pthread_mutex_unlock(&p->lock);
        return;
    }
    struct pipeline_lists fresh;
    rc = pipeline_lists_sync(db, p->cfg.engine, &fresh);
    if (rc) {
        log_error("kyc.pipeline.lists_sync_failed", "error", capp_errcode(rc), NULL);
        pipeline_lists_clear(&fresh);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->reload_problem[0] = '\0';
    int same = strcmp(fresh.key, p->lists.key) == 0;
    struct pipeline_lists old = p->lists;
    if (!same) {
        p->lists = fresh;
        free(p->lists_problem);
        p->lists_problem = problem[0] ? strdup(problem) : NULL;
    }
    pthread_mutex_unlock(&p->lock);
    pipeline_lists_clear(same ? &fresh : &old);
    if (same) {
        log_info("kyc.pipeline.lists_unchanged", NULL);
        return;
    }
    char changed[24];
    snprintf(changed, sizeof changed, "%zu", p->lists.n_changed);
    log_info("kyc.pipeline.lists_reloaded", "generation", p->lists.key[0] ? p->lists.key : "none",
             "previous", p->lists.previous[0] ? p->lists.previous : "none", "changed_tokens",
             changed, NULL);
    store_install_each_active(p->cfg.store, lists_visit, p);
}

static void *coordinator_main(void *arg)
{
    struct pipeline *p = arg;
    sqlite3 *db = results_conn(p->rs);
    struct cloud_config cc = {.base_url = p->cloud_url, .max_attempts = 1};
    struct cloud_client *client = NULL;
    struct audit_writer *aw = NULL;
    if (!db || audit_writer_new(db, &aw) != 0 ||
        cloud_client_new(&cc, p->cfg.keyring, &client) != 0) {
        log_error("kyc.pipeline.coordinator_failed", NULL);
        audit_writer_free(aw);
        return NULL;
    }
    audit_writer_no_savepoint(aw); /* the run's transactions roll back whole on an error */
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        int64_t now = now_ms();
        int poll = p->next_lists_poll_ms && now >= p->next_lists_poll_ms;
        if (p->reload_wanted || poll) {
            int forced = p->reload_wanted;
            p->reload_wanted = 0;
            if (p->next_lists_poll_ms)
                p->next_lists_poll_ms = now + (int64_t)p->cfg.lists_poll_seconds * 1000;
            pthread_mutex_unlock(&p->lock);
            reload_lists(p, db, forced);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        int64_t next = run_due(p, now, now + 60000);
        if (p->next_lists_poll_ms && p->next_lists_poll_ms < next)
            next = p->next_lists_poll_ms;
        struct job *pick = pop_run(p);
        if (!pick) {
            struct timespec ts = {.tv_sec = next / 1000, .tv_nsec = (long)(next % 1000) * 1000000L};
            pthread_cond_timedwait(&p->wake, &p->lock, &ts);
            continue;
        }
        pick->run_wanted = 0;
        pick->running = 1;
        char trigger[16];
        snprintf(trigger, sizeof trigger, "%s", pick->trigger);
        unsigned gen = pick->generation;
        pthread_mutex_unlock(&p->lock);
        do_run(p, pick, gen, trigger, client, db, aw);
        pthread_mutex_lock(&p->lock);
        pick->running = 0;
        if (p->cfg.rescreen_interval_seconds > 0) {
            pick->next_schedule_ms = now_ms() + (int64_t)p->cfg.rescreen_interval_seconds * 1000;
            if (!pick->queued_due)
                push_due(p, pick);
        }
        if (pick->run_wanted && !pick->queued_run)
            want_run(p, pick, pick->trigger); /* asked for again while it ran */
    }
    pthread_mutex_unlock(&p->lock);
    audit_writer_free(aw);
    cloud_client_free(client);
    return NULL;
}

/* ---- public ---- */

static char *dup_opt(const char *s, const char *fallback)
{
    const char *v = s && *s ? s : fallback;
    return v ? strdup(v) : NULL;
}

int pipeline_new(const struct pipeline_config *config, struct pipeline **out)
{
    *out = NULL;
    if (!config || !config->db_path || !config->store || !config->keyring || !config->engine)
        return CAPP_EINVAL;
    struct pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return CAPP_ENOMEM;
    p->cfg = *config;
    p->db_path = dup_opt(config->db_path, NULL);
    p->cloud_url = dup_opt(config->cloud_url, CLOUD_DEFAULT_BASE_URL);
    p->metadata_key = dup_opt(config->metadata_key, PIPELINE_DEFAULT_METADATA_KEY);
    p->lists_problem = dup_opt(config->lists_problem, NULL);
    p->today = dup_opt(config->today_ymd, NULL);
    if (config->lists_load && config->lists_changed && config->lists_poll_seconds > 0)
        p->next_lists_poll_ms = now_ms() + (int64_t)config->lists_poll_seconds * 1000;
    p->n_writers = config->threads > 0 ? config->threads : PIPELINE_DEFAULT_THREADS;
    if (p->n_writers > PIPELINE_MAX_THREADS)
        p->n_writers = PIPELINE_MAX_THREADS;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->space, NULL);
    pthread_cond_init(&p->done_wake, NULL);
    int rc = (!p->db_path || !p->cloud_url || !p->metadata_key) ? CAPP_ENOMEM : 0;
    if (rc == 0)
        rc = results_store_open(p->db_path, &p->rs);
    if (rc == 0) {
        sqlite3 *db = results_conn(p->rs);
        /* the false-positive memory and the audit chain the pipeline writes to */
        rc = db ? review_migrate(db) : CAPP_EDB;
        if (rc == 0)
            rc = pipeline_lists_sync(db, p->cfg.engine, &p->lists);
    }
    if (rc) {
        pipeline_free(p);
        return rc;
    }
    char changed[24];
    snprintf(changed, sizeof changed, "%zu", p->lists.n_changed);
    log_info("kyc.pipeline.lists", "loaded", p->lists.loaded ? "yes" : "no", "changed_tokens",
             changed, "generation", p->lists.key[0] ? p->lists.key : "none", NULL);
    *out = p;
    return 0;
}

void pipeline_set_hooks(struct pipeline *p, const struct pipeline_hooks *hooks)
{
    pthread_mutex_lock(&p->lock);
    if (hooks)
        p->hooks = *hooks;
    else
        memset(&p->hooks, 0, sizeof p->hooks);
    pthread_mutex_unlock(&p->lock);
}

static int resume_visit(void *ctx, const struct store_install *install)
{
    pipeline_request_run(ctx, install->installed_app_id, "startup");
    return 0;
}

int pipeline_start(struct pipeline *p)
{
    p->writers = calloc((size_t)p->n_writers, sizeof *p->writers);
    if (!p->writers)
        return CAPP_ENOMEM;
    struct writer *ws = calloc((size_t)p->n_writers, sizeof *ws);
    if (!ws)
        return CAPP_ENOMEM;
    struct cloud_config cc = {.base_url = p->cloud_url, .max_attempts = 1};
    for (int i = 0; i < p->n_writers; i++) {
        ws[i].p = p;
        if (cloud_client_new(&cc, p->cfg.keyring, &ws[i].client) != 0)
            return CAPP_ENOMEM;
    }
    /* the committer's own connection and audit writer, handed to its thread: without them the
     * writers send nothing and the work stays in the outbox */
    if (db_open(p->db_path, 0, &p->done_db) != 0 || results_tune(p->done_db) != 0 ||
        audit_writer_new(p->done_db, &p->done_audit) != 0) {
        log_error("kyc.pipeline.committer_db", NULL);
        db_close(p->done_db);
        p->done_db = NULL;
    }
    audit_writer_no_savepoint(p->done_audit); /* every committer transaction rolls back whole */
    pthread_create(&p->committer, NULL, committer_main, p);
    /* the writer structs live as long as the threads: freed in pipeline_stop */
    for (int i = 0; i < p->n_writers; i++)
        pthread_create(&p->writers[i], NULL, writer_main, &ws[i]);
    pthread_create(&p->coordinator, NULL, coordinator_main, p);
    p->started = 1;
    p->cfg.threads = p->n_writers;
    p->writer_state = ws;
    store_install_each_active(p->cfg.store, resume_visit, p);
    return 0;
}

void pipeline_stop(struct pipeline *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    int was = p->started;
    p->stopping = 1;
    p->started = 0;
    pthread_cond_broadcast(&p->wake);
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->space);
    pthread_mutex_unlock(&p->lock);
    if (!was)
        return;
    pthread_join(p->coordinator, NULL);
    struct writer *ws = p->writer_state;
    for (int i = 0; i < p->n_writers; i++)
        pthread_join(p->writers[i], NULL);
    /* the writers are gone: the committer commits what they left and exits */
    pthread_mutex_lock(&p->lock);
    p->done_stop = 1;
    pthread_cond_signal(&p->done_wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->committer, NULL);
    audit_writer_free(p->done_audit);
    p->done_audit = NULL;
    db_close(p->done_db);
    p->done_db = NULL;
    for (int i = 0; ws && i < p->n_writers; i++)
        cloud_client_free(ws[i].client);
    free(ws);
    p->writer_state = NULL;
    free(p->writers);
    p->writers = NULL;
    /* whatever is still queued stays in the outbox (its intent is in the database) */
    while (p->head) {
        struct task *t = p->head;
        p->head = t->next;
        results_outbox_item_clear(&t->item);
        inst_unref(t->inst);
        free(t);
    }
    p->tail = NULL;
    p->queued = 0;
}

void pipeline_free(struct pipeline *p)
{
    if (!p)
        return;
    pipeline_stop(p);
    struct job *j = p->jobs;
    while (j) {
        struct job *next = j->next;
        inst_unref(j->inst);
        free(j);
        j = next;
    }
    pipeline_map_clear(&p->job_index, NULL);
    results_store_close(p->rs);
    pipeline_lists_clear(&p->lists);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->space);
    pthread_cond_destroy(&p->done_wake);
    free(p->db_path);
    free(p->cloud_url);
    free(p->metadata_key);
    free(p->lists_problem);
    free(p->today);
    free(p);
}

int pipeline_request_run(struct pipeline *p, const char *installed_app_id, const char *trigger)
{
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        return CAPP_ESHUTDOWN;
    }
    struct job *j = job_find(p, installed_app_id, 1);
    if (!j) {
        pthread_mutex_unlock(&p->lock);
        return CAPP_ENOMEM;
    }
    want_run(p, j, trigger ? trigger : "manual");
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void pipeline_reload_lists(struct pipeline *p)
{
    pthread_mutex_lock(&p->lock);
    p->reload_wanted = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

int pipeline_rescreen_identity(struct pipeline *p, const char *installed_app_id,
                               const char *identity_id)
{
    sqlite3 *db = results_conn(p->rs);
    int rc = db ? results_forget_snapshot(db, installed_app_id, identity_id) : CAPP_EDB;
    if (rc == 0)
        rc = pipeline_request_run(p, installed_app_id, "review");
    return rc;
}

void pipeline_install_hook(void *ctx, const char *installed_app_id)
{
    struct pipeline *p = ctx;
    pthread_mutex_lock(&p->lock);
    struct job *j = job_find(p, installed_app_id, 1);
    if (j) {
        /* a reinstall (D5) starts over: new key, new permissions */
        if (j->uninstalled || j->key_invalid)
            j->generation++;
        j->uninstalled = 0;
        j->key_invalid = 0;
        j->pause_until_ms = 0;
        j->backoff_ms = 0;
        want_run(p, j, "install");
    }
    pthread_mutex_unlock(&p->lock);
}

void pipeline_uninstall_hook(void *ctx, const char *installed_app_id)
{
    struct pipeline *p = ctx;
    pthread_mutex_lock(&p->lock);
    struct job *j = job_find(p, installed_app_id, 0);
    if (j) {
        j->generation++;
        j->uninstalled = 1;
        j->run_wanted = 0;
        j->next_schedule_ms = 0;
        drop_tasks(p, j);
        pthread_cond_broadcast(&p->space);
    }
    pthread_mutex_unlock(&p->lock);
    log_info("kyc.pipeline.uninstalled", "installed_app_id", installed_app_id, NULL);
}

int pipeline_busy(struct pipeline *p, const char *installed_app_id)
{
    pthread_mutex_lock(&p->lock);
    struct job *j = job_find(p, installed_app_id, 0);
    int busy = j && (j->run_wanted || j->running || j->inflight > 0);
    pthread_mutex_unlock(&p->lock);
    return busy;
}

static void notice(json_t *arr, const char *code, const char *permission, const char *message)
{
    json_t *o = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (permission)
        json_object_set_new(o, "permission", json_string(permission));
    json_array_append_new(arr, o);
}

int pipeline_progress(struct pipeline *p, const struct store_install *install, json_t **out)
{
    *out = NULL;
    const char *id = install->installed_app_id;
    sqlite3 *db = results_conn(p->rs);
    if (!db)
        return CAPP_EDB;
    json_t *o = json_pack("{s:s, s:s, s:s}", "installed_app_id", id, "engine_version",
                          SCREEN_ENGINE_VERSION, "metadata_key", p->metadata_key);
    pthread_mutex_lock(&p->lock);
    struct job *j = job_find(p, id, 0);
    const char *state = "idle";
    json_t *run = NULL;
    if (j) {
        if (j->uninstalled)
            state = "stopped";
        else if (j->running)
            state = "running";
        else if (j->run_wanted)
            state = "queued";
        if (j->has_run) {
            run = results_run_json(&j->run);
            int64_t end = j->run.finished_at_ms ? j->run.finished_at_ms : now_ms();
            double secs = (double)(end - j->run.started_at_ms) / 1000.0;
            json_object_set_new(run, "rate_per_second",
                                json_real(secs > 0 ? (double)j->run.fetched / secs : 0));
            json_object_set_new(run, "phase", json_string(j->phase));
            json_object_set_new(run, "total", json_integer(j->total_reported));
            json_object_set_new(run, "queued_calls", json_integer(j->inflight));
        }
    }
    pthread_mutex_unlock(&p->lock);
    json_object_set_new(o, "state", json_string(state));
    if (!run) {
        json_t *runs = NULL;
        if (results_runs(db, id, 1, &runs) == 0 && json_array_size(runs))
            run = json_incref(json_array_get(runs, 0));
        json_decref(runs);
    }
    json_object_set_new(o, "run", run ? run : json_null());
    json_t *counts = NULL, *outbox = NULL;
    results_counts(db, id, &counts);
    results_outbox_counts(db, id, &outbox);
    json_object_set_new(o, "counts", counts ? counts : json_null());
    json_object_set_new(o, "outbox", outbox ? outbox : json_null());
    json_t *notices = json_array();
    pthread_mutex_lock(&p->lock);
    if (!p->lists.loaded)
        notice(notices, "no_lists", NULL,
               p->lists_problem ? p->lists_problem
                                : "No sanctions lists are loaded: only data-quality checks run.");
    if (p->reload_problem[0])
        notice(notices, "lists_reload_failed", NULL, p->reload_problem);
    pthread_mutex_unlock(&p->lock);
    if (install->key_invalid)
        notice(notices, "key_invalid", NULL,
               "Blnk Cloud refused this install's API key: reinstall the app.");
    if (!store_install_has_permission(install, CLOUD_SCOPE_DATA_READ))
        notice(notices, "missing_permission", CLOUD_SCOPE_DATA_READ,
               "Identities cannot be read from Blnk: grant data:read to screen them.");
    if (!store_install_has_permission(install, CLOUD_SCOPE_DATA_WRITE))
        notice(notices, "missing_permission", CLOUD_SCOPE_DATA_WRITE,
               "Results are kept here but not written to the identities' metadata in Blnk: "
               "grant data:write to enable write-back.");
    if (!store_install_has_permission(install, CLOUD_SCOPE_ALERTS_WRITE))
        notice(notices, "missing_permission", CLOUD_SCOPE_ALERTS_WRITE,
               "No Blnk alerts are raised for identities that need review: grant alerts:write "
               "to enable them.");
    if (!store_install_has_permission(install, CLOUD_SCOPE_ALERTS_READ))
        notice(notices, "missing_permission", CLOUD_SCOPE_ALERTS_READ,
               "Alerts whose creation could not be confirmed cannot be checked in Blnk: grant "
               "alerts:read to reconcile them.");
    json_object_set_new(o, "notices", notices);
    struct screen_index *idx = screen_engine_acquire(p->cfg.engine);
    json_t *versions = screen_index_versions_json(idx);
    screen_index_release(idx);
    /* the browser gets sources, dates and hashes, not server paths */
    size_t i;
    json_t *v;
    json_array_foreach(versions, i, v) json_object_del(v, "path");
    json_object_set_new(o, "lists", versions);
    *out = o;
    return 0;
}

int pipeline_apply_decision(struct pipeline *p, const char *installed_app_id,
                            const struct pipeline_decision *d)
{
    if (!d || !d->identity_id || !d->status)
        return CAPP_EINVAL;
    sqlite3 *db = results_conn(p->rs);
    if (!db)
        return CAPP_EDB;
    struct pipeline_hooks hooks;
    pthread_mutex_lock(&p->lock);
    hooks = p->hooks;
    pthread_mutex_unlock(&p->lock);
    if (hooks.before_decision) {
        json_t *current = NULL;
        int rc = results_get(db, installed_app_id, d->identity_id, &current);
        if (rc)
            return rc;
        rc = hooks.before_decision(hooks.ctx, installed_app_id, d, current);
        json_decref(current);
        if (rc)
            return rc;
    }
    struct install_ref *inst = NULL;
    pthread_mutex_lock(&p->lock);
    struct job *j = job_find(p, installed_app_id, 1);
    unsigned gen = j ? j->generation : 0;
    pthread_mutex_unlock(&p->lock);
    if (!j)
        return CAPP_ENOMEM;
    int loaded = load_install(p, j, &inst) == 0;
    struct results_outbox_item item;
    int rc = results_apply_decision(db, installed_app_id, d->identity_id, d->status, d->user_id,
                                    loaded && inst->can_alert, now_ms(), &item);
    if (rc) {
        inst_unref(inst);
        return rc;
    }
    /* the Cloud side, off the request path; a full queue leaves it to the next run */
    if (loaded && enqueue_items(p, j, gen, inst, &item, 1, 1) != 0)
        pipeline_request_run(p, installed_app_id, "decision");
    results_outbox_item_clear(&item);
    inst_unref(inst);
    if (hooks.after_decision)
        hooks.after_decision(hooks.ctx, installed_app_id, d);
    return 0;
}

struct results_store *pipeline_results(struct pipeline *p)
{
    return p->rs;
}
