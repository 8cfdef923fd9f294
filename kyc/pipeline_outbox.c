/*
 * pipeline_outbox.c — the writer threads: where write-back and alert calls to Blnk Cloud happen.
 *
 * Design. The outbox's intent is durable before a call is made (kyc/results.h: 'pending',
 * 'creating', 'resolving' are committed with the result or the decision); this file only
 * carries it out. The committer (pipeline_commit.c), the coordinator and a reviewer's decision
 * put outbox items on one bounded task queue (pipeline_queues.c: PIPELINE_QUEUE_MAX, under the
 * pipeline lock); `threads` writer threads take tasks from it, each with its own Cloud client,
 * and make the task's calls: metadata write-back (POST /proxy/{id}/metadata, the whole
 * meta_data.<key> object, D19), alert creation (POST /alerts/flag/{id}) and resolution
 * (PUT /alerts/flag/{anomaly_id}: D28, with a status Cloud confirmed exists — RESOLVED, or our
 * own KYC_CLEARED where the organization has none — and our note appended to the alert's
 * description, never replacing it). What each call achieved goes back to the committer as a
 * struct done_rec on the completion queue (pipeline_done_push), and the committer commits it
 * (the writers never write to the database).
 *
 * Every Cloud call is made with max_attempts = 1 and retried here, so that a retry wait can be
 * cut short by an uninstall and the install's calls share one pause (pipeline_install.c:
 * 429/5xx slow the whole install down, not one thread; a 401 drops the install's work).
 * Alert creation is retried only after a 429 (the gateway refused it before acting); a 5xx or
 * timeout leaves it 'uncertain', which the next run reconciles (pipeline_walk.c) instead of
 * creating it twice.
 *
 * Ownership: a task owns its outbox item and holds a reference on the install; the writer that
 * takes it frees both. Uninstall and a 401 drop the install's queued tasks (pipeline_drop_tasks,
 * pipeline_install.c), and a task whose install generation is gone is not sent. At stop,
 * pipeline_writers_free drops what is still queued (its intent is in the database).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capp/clock.h"
#include "capp/cloud.h"
#include "capp/err.h"
#include "capp/log.h"
#include "kyc/pipeline_internal.h"

#define MAX_CALL_TRIES 12 /* per task and call: after that the work stays in the outbox */

struct writer {
    struct pipeline *p;
    struct cloud_client *client;
    struct done_rec *cur; /* the completions of the task in hand */
};

/* ---- the calls ---- */

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
        if (pipeline_before_call(p, j, t->generation) != 0)
            return res->error = CAPP_ESHUTDOWN;
        cloud_result_free(res);
        struct cloud_request req = {.method = method, .path = path, .body = body};
        int64_t t0 = clock_now_ms();
        int rc = cloud_call(w->client, &t->inst->ci, &req, res);
        int64_t spent = clock_now_ms() - t0;
        pthread_mutex_lock(&p->lock);
        j->write_busy_ms += spent;
        pthread_mutex_unlock(&p->lock);
        if (rc == 0) {
            pipeline_note_ok(p, j);
            return 0;
        }
        if (rc == CAPP_EUNAUTH) {
            if (attempt + 1 < MAX_CALL_TRIES && pipeline_key_refused(p, j, res))
                continue; /* D27: a new install's key may not be active yet */
            pipeline_key_invalid(p, j);
            return rc;
        }
        int again = res->error == CAPP_ERATELIMIT || (retry_5xx && pipeline_retryable(res));
        if (!again || attempt + 1 >= MAX_CALL_TRIES) {
            if (pipeline_retryable(res))
                pipeline_note_trouble(p, j, res);
            else {
                pthread_mutex_lock(&p->lock);
                j->run.errors++;
                pthread_mutex_unlock(&p->lock);
            }
            return rc;
        }
        pipeline_note_trouble(p, j, res);
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
    } else if (rc != CAPP_ESHUTDOWN && rc != CAPP_EUNAUTH && !pipeline_retryable(&res) &&
               res.attempts > 0) {
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

/* What a resolution adds to the alert's description (D28: appended, never replacing it). */
static const char resolve_note[] = "Resolved in the KYC app: a reviewer decided, or a re-screen "
                                   "cleared the identity.";

/* 1 when the statuses listing (GET /alerts/statuses) has key. */
static int status_listed(const json_t *body, const char *key)
{
    json_t *items = cloud_list_items(body, "key", NULL, NULL);
    size_t i;
    json_t *v;
    int found = 0;
    json_array_foreach(items, i, v)
    {
        const char *k = json_string_value(json_object_get(v, "key"));
        if (k && strcasecmp(k, key) == 0)
            found = 1;
    }
    json_decref(items);
    return found;
}

/* D28: the status a resolution sets, one Cloud confirmed exists: RESOLVED when GET
 * /alerts/statuses lists it, else our own KYC_CLEARED — listed, or created now (201, or 409:
 * it exists). Without alerts:read only the creation can confirm it. Cached on the job until a
 * reinstall or a refusal. 0, or the failure (the resolution stays queued for the next run). */
static int resolve_status(struct writer *w, struct task *t, char out[32])
{
    struct pipeline *p = w->p;
    struct job *j = t->job;
    pthread_mutex_lock(&p->lock);
    snprintf(out, 32, "%s", j->alert_status);
    pthread_mutex_unlock(&p->lock);
    if (out[0])
        return 0;
    struct cloud_result res;
    int rc = 0;
    if (t->inst->can_alert_read) {
        rc = call(w, t, "GET", "/alerts/statuses", NULL, 1, &res);
        if (rc == 0 && status_listed(res.body, "RESOLVED"))
            snprintf(out, 32, "RESOLVED");
        else if (rc == 0 && status_listed(res.body, PIPELINE_ALERT_CLEARED_STATUS))
            snprintf(out, 32, "%s", PIPELINE_ALERT_CLEARED_STATUS);
        cloud_result_free(&res);
        if (rc)
            return rc;
    }
    if (!out[0]) {
        json_t *body = json_pack("{s:s, s:s, s:s}", "name", "KYC cleared", "colour", "#10B981",
                                 "key", PIPELINE_ALERT_CLEARED_STATUS);
        rc = body ? call(w, t, "POST", "/alerts/statuses", body, 1, &res) : CAPP_ENOMEM;
        json_decref(body);
        if (rc == 0 || rc == CAPP_ECONFLICT) {
            rc = 0;
            snprintf(out, 32, "%s", PIPELINE_ALERT_CLEARED_STATUS);
            log_info("kyc.pipeline.alert_status", "installed_app_id", j->id, "status", out,
                     "reason", "Cloud lists no RESOLVED status", NULL);
        }
        if (body)
            cloud_result_free(&res);
        if (rc)
            return rc;
    }
    pthread_mutex_lock(&p->lock);
    snprintf(j->alert_status, sizeof j->alert_status, "%s", out);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* The description a resolution sends: the alert's own (read with alerts:read) with our note
 * appended once; NULL leaves the description as it is (no alerts:read, already noted, or too
 * long to grow). CAPP_ENOTFOUND when the alert is gone. */
static int resolved_description(struct writer *w, struct task *t, char **out)
{
    *out = NULL;
    if (!t->inst->can_alert_read)
        return 0;
    char path[STORE_ID_CAP + 32];
    snprintf(path, sizeof path, "/alerts/%s", t->item.anomaly_id);
    struct cloud_result res;
    int rc = call(w, t, "GET", path, NULL, 1, &res);
    const char *old = json_string_value(json_object_get(res.body, "description"));
    if (rc == 0 && old) {
        size_t n = strlen(old), m = strlen(resolve_note);
        int noted = n >= m && strcmp(old + n - m, resolve_note) == 0; /* a retried resolution */
        if (!noted && n + m + 2 <= PIPELINE_ALERT_DESCRIPTION_MAX && (*out = malloc(n + m + 3)))
            snprintf(*out, n + m + 3, "%s%s%s", old, n ? "\n\n" : "", resolve_note);
    }
    cloud_result_free(&res);
    return rc;
}

static void do_alert_resolve(struct writer *w, struct task *t)
{
    struct pipeline *p = w->p;
    if (!t->item.anomaly_id[0])
        return;
    char status[32];
    char *description = NULL;
    int rc = resolve_status(w, t, status);
    if (rc == 0)
        rc = resolved_description(w, t, &description);
    json_t *body = NULL;
    struct cloud_result res = {0};
    if (rc == 0) {
        body = json_pack("{s:s}", "status", status);
        if (body && description)
            json_object_set_new(body, "description", json_string(description));
        char path[STORE_ID_CAP + 32];
        snprintf(path, sizeof path, "/alerts/flag/%s", t->item.anomaly_id);
        rc = body ? call(w, t, "PUT", path, body, 1, &res) : CAPP_ENOMEM;
        if (rc == CAPP_EHTTP && res.status == 400) { /* the status went away: confirm again */
            pthread_mutex_lock(&p->lock);
            t->job->alert_status[0] = '\0';
            pthread_mutex_unlock(&p->lock);
        }
    }
    json_decref(body);
    free(description);
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
        int live = pipeline_job_live(t->job, t->generation) && p->done_db;
        pthread_mutex_unlock(&p->lock);
        struct job *j = t->job;
        w->cur = calloc(1, sizeof *w->cur);
        int pushed = w->cur != NULL;
        if (pushed) {
            w->cur->job = j;
            if (live) /* without a store nothing is sent: the work stays in the outbox */
                process(w, t);
            pipeline_done_push(p, w->cur); /* the committer releases the task */
            w->cur = NULL;
        }
        results_outbox_item_clear(&t->item);
        pipeline_install_ref_release(t->inst);
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

/* ---- the writers' life cycle ---- */

int pipeline_writers_new(struct pipeline *p)
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
    p->writer_state = ws;
    return 0;
}

void pipeline_writers_start(struct pipeline *p)
{
    /* the writer structs live as long as the threads: freed in pipeline_writers_free */
    struct writer *ws = p->writer_state;
    for (int i = 0; i < p->n_writers; i++)
        pthread_create(&p->writers[i], NULL, writer_main, &ws[i]);
}

void pipeline_writers_join(struct pipeline *p)
{
    for (int i = 0; i < p->n_writers; i++)
        pthread_join(p->writers[i], NULL);
}

void pipeline_writers_free(struct pipeline *p)
{
    struct writer *ws = p->writer_state;
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
        pipeline_install_ref_release(t->inst);
        free(t);
    }
    p->tail = NULL;
    p->queued = 0;
}
