/*
 * pipeline_units.c — a unit worker's work on one claimed unit of a run (kyc/results_units.h): the
 * identities a walker found new or changed on one page, checked and stored on this replica.
 *
 * Design. The walker (the holder of the install's run lease, pipeline_walk.c) does not check
 * what it finds: it writes each page's identities that need checking as one unit row and waits
 * for the run's units to be finished. Unit workers on every replica (their threads are in
 * pipeline.c) claim units under a lease; this file checks a claimed unit with the walk's own
 * check (pipeline_check_listed: same hash, detokenized names, screening, false-positive memory,
 * selection) in a run context of its own, hands the batches to this replica's committer (which
 * stores them with their audit records and queues their outbox work for this replica's writers,
 * exactly as for a walk), waits until they are stored, and only then marks the unit finished.
 *
 * Exactly once. The results are stored before the unit is marked finished, in two transactions
 * (the committer's store and the finishing UPDATE): a worker that dies between them leaves the
 * unit unfinished with its results stored. The worker that claims it after its lease expires
 * (taken_from names the dead one) reads what is stored for each of the unit's identities and
 * skips every one stored with the same hashes, so nothing is stored (nor audited, nor alerted)
 * twice;
 * a second finishing of one unit is a no-op (guarded by holder and state). Alerts stay
 * exactly-once regardless: the committer records the 'creating' intent before the Cloud call.
 *
 * Leases. Each worker has a holder id of its own (<replica>/<n>). The keeper thread
 * (pipeline_replicas.c) renews the unit a worker holds every third of a lease, whatever the worker
 * waits for (the committer, a Cloud pause); a renewal that finds the unit taken over marks the
 * slot lost and the worker stops (its stored batches stand; the new holder skips them). A unit that
 * fails UNIT_MAX_ATTEMPTS times (a store failure each time) is finished as failed, so its run can
 * end; its identities are checked again by the next run (they were never stored). A shutdown gives
 * the unit back for another worker at once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/clock.h"
#include "capp/crypto.h"
#include "capp/err.h"
#include "capp/log.h"
#include "kyc/pipeline_internal.h"

#define UNIT_MAX_ATTEMPTS 5

int pipeline_unit_workers(results_db *db)
{
    const char *env = getenv("KYC_PIPELINE_UNIT_WORKERS");
    if (env && *env) {
        char *end = NULL;
        long v = strtol(env, &end, 10);
        if (end && !*end && v >= 0 && v <= PIPELINE_MAX_THREADS)
            return (int)v;
        log_warn("kyc.pipeline.unit_workers_env_ignored", "variable", "KYC_PIPELINE_UNIT_WORKERS",
                 NULL);
    }
    /* SQLite: one process, one writer: the walk checks directly (no unit rows to write) */
    return db && sql_engine_of(db) == SQL_POSTGRES ? PIPELINE_UNIT_WORKERS : 0;
}

static void log_unit(const char *event, const struct results_unit *u, const char *key,
                     const char *value)
{
    char no[24];
    snprintf(no, sizeof no, "%lld", (long long)u->unit_no);
    log_info(event, "installed_app_id", u->installed_app_id, "run", u->run_key, "unit", no, key,
             value, NULL);
}

int pipeline_unit_process(struct pipeline *p, results_db *db, struct cloud_client *client,
                          struct job *j, unsigned gen, struct install_ref *inst,
                          struct pipeline_unit_slot *slot, struct results_unit *u)
{
    struct run_ctx *r = calloc(1, sizeof *r);
    json_t *items = json_loads(u->payload, 0, NULL);
    crypto_wipe(u->payload, strlen(u->payload)); /* customer PII */
    int rc = !r ? CAPP_ENOMEM : !json_is_array(items) ? CAPP_EPARSE : 0;
    if (rc == 0) {
        r->p = p;
        r->job = j;
        r->gen = gen;
        r->inst = inst;
        r->db = db;
        r->client = client;
        r->can_alert = inst->can_alert;
        r->unit_worker = 1;
        rc = pipeline_run_settings(r);
    }
    if (rc == 0 && (u->taken_from[0] || u->attempts > 1)) {
        /* a worker had it before: what it stored is not stored again (pipeline_check_listed
         * reads each identity's stored hashes: a unit's hundred, not the install's snapshot) */
        r->taken_over = 1;
        log_unit("kyc.pipeline.unit_takeover", u, "from",
                 u->taken_from[0] ? u->taken_from : "(released)");
    }
    int lost = 0, finished = 0;
    const char *holder = slot->holder;
    for (size_t i = 0; rc == 0 && i < json_array_size(items); i++) {
        pthread_mutex_lock(&p->lock);
        int live = pipeline_job_live(j, gen) && !p->stopping;
        lost = slot->lost;
        pthread_mutex_unlock(&p->lock);
        if (!live || lost) {
            rc = CAPP_ESHUTDOWN;
            break;
        }
        rc = pipeline_check_listed(r, json_array_get(items, i));
    }
    if (rc == 0)
        rc = pipeline_store_submit(r);
    if (r)
        pipeline_discard_batch(r);
    int stored_rc = r ? pipeline_store_wait(r) : 0;
    if (rc == 0)
        rc = stored_rc;
    pthread_mutex_lock(&p->lock);
    lost = slot->lost;
    pthread_mutex_unlock(&p->lock);
    if (lost) {
        log_unit("kyc.pipeline.unit_lost", u, "effect",
                 "the worker that took the unit over finishes it");
    } else if (rc == 0 || rc == CAPP_EPARSE ||
               (rc != CAPP_ESHUTDOWN && u->attempts >= UNIT_MAX_ATTEMPTS)) {
        /* a payload that does not parse fails at once: trying again cannot help */
        int failed = rc != 0;
        int done = results_unit_finish(db, u, holder, failed, r ? r->checked : 0,
                                       r ? r->check_errors : 0, r ? r->check_ms : 0);
        finished = done == 1;
        if (done == 1) {
            atomic_fetch_add(&p->units_done, 1);
            char n[24];
            snprintf(n, sizeof n, "%lld", r ? r->checked : 0);
            log_unit(failed ? "kyc.pipeline.unit_failed" : "kyc.pipeline.unit_done", u, "checked",
                     n);
        }
    } else {
        /* another worker (or this one) tries again at once */
        results_unit_release(db, u, holder);
        log_unit("kyc.pipeline.unit_released", u, "error", capp_errcode(rc));
    }
    if (r)
        pipeline_run_settings_clear(r);
    json_decref(items);
    free(r);
    return finished;
}
