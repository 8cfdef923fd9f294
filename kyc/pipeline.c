/*
 * pipeline.c — the per-install screening pipeline's scheduler, coordinator and public API (see
 * pipeline.h for the contract, pipeline_internal.h for the map of its files).
 *
 * Design. Runs are asked for by an install, at start-up, on demand, by a reviewer's decision,
 * on a schedule and after a list reload; a run queue (oldest request first, one entry per
 * install) holds them, and a deferred queue (in due order) the ones another replica is running.
 * Scheduled runs and runs dead replicas left are found by a scan of the database every few
 * seconds (pipeline_replicas.c: a run happens only under the install's run lease, and a
 * scheduled one only after claiming it). One coordinator thread runs one
 * install at a time: it reads the install (with its sealed key) from capp's store, hands the
 * outbox left by earlier runs to the writers (pipeline_outbox.c) after reconciling uncertain
 * alerts, walks the install's identities (pipeline_walk.c, whose checked batches the committer
 * stores: pipeline_commit.c), then waits until the writers finished the install's work. A run
 * ends when the walk is over, its batches are stored and the install's queued and in-flight
 * work is done. Between runs it reloads the sanctions lists when asked or when they changed.
 *
 * Cloud trouble: every call of an install (the walk's and the writers') waits for the
 * install's one pause, which 429/5xx lengthen and successes shorten; a 401 flags the key invalid
 * (D21) and drops the install's queued work. That per-install state (install references,
 * liveness, the pause, the 401) is shared by the coordinator, the walk and the writers, so it
 * lives in pipeline_install.c; the hand-over queues between the threads (the writers' task
 * queue, the committer's completion queue) live in pipeline_queues.c.
 *
 * Uninstall: the store hook bumps the install's generation and drops its queued tasks
 * (pipeline_drop_tasks); every call checks the generation first (pipeline_job_live), so no new
 * call starts with that key.
 *
 * Threads: the coordinator (this file), the committer (pipeline_commit.c), `threads` writers
 * (pipeline_outbox.c), the lease keeper (pipeline_replicas.c), and with work units (PostgreSQL
 * by default) n_unit_workers unit workers (this file; their work in pipeline_units.c) that
 * claim pages of any replica's runs from the database. The public functions run on any
 * thread and take the pipeline lock only briefly; the store hooks run on capp's store writer
 * thread.
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
#include "capp/err.h"
#include "capp/log.h"
#include "capp/store.h"
#include "kyc/audit.h"
#include "kyc/pipeline_internal.h"
#include "kyc/results_portal.h"
#include "kyc/review.h"
#include "kyc/screen/screen.h"

/* ---- installs ---- */

/* Reads the install (with its sealed key) from capp's store into a new reference, held once;
 * pipeline_install_ref_release (pipeline_install.c) frees it with the last reference. */
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

static int64_t now_ms(void)
{
    return clock_now_ms();
}

/* Puts j on the run queue (once) and wakes the coordinator. */
static void queue_run(struct pipeline *p, struct job *j)
{
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

/* Asks for a run of j (coalesced with one already asked for or deferred: the first request
 * names the trigger, the latest one says since when a run is wanted). */
static void want_run(struct pipeline *p, struct job *j, const char *trigger)
{
    if (!j->run_wanted && !j->deferred)
        snprintf(j->trigger, sizeof j->trigger, "%s", trigger);
    j->wanted_ms = now_ms();
    queue_run(p, j);
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

/* Defers j's wanted run until `at` (another replica holds its lease until then): the deferred
 * queue is kept in order of due_key_ms (few entries: one per install running elsewhere). */
static void defer_run(struct pipeline *p, struct job *j, int64_t at)
{
    struct job **link = &p->due_head, *prev = NULL;
    if (j->queued_due) { /* moved: unlink it first */
        for (; *link && *link != j; link = &(*link)->due_next)
            prev = *link;
        if (*link)
            *link = j->due_next;
        if (p->due_tail == j)
            p->due_tail = prev;
        link = &p->due_head;
        prev = NULL;
    }
    j->deferred = 1;
    j->queued_due = 1;
    j->due_key_ms = at;
    while (*link && (*link)->due_key_ms <= at) {
        prev = *link;
        link = &(*link)->due_next;
    }
    j->due_next = *link;
    *link = j;
    if (!j->due_next)
        p->due_tail = j;
}

/* Puts the deferred runs that are due back on the run queue; returns when the next one is
 * due. */
static int64_t run_due(struct pipeline *p, int64_t now, int64_t next)
{
    while (p->due_head && p->due_head->due_key_ms <= now) {
        struct job *j = p->due_head;
        p->due_head = j->due_next;
        if (!p->due_head)
            p->due_tail = NULL;
        j->due_next = NULL;
        j->queued_due = 0;
        int deferred = j->deferred;
        j->deferred = 0;
        if (deferred && !j->uninstalled && !j->key_invalid)
            queue_run(p, j); /* keeps the trigger and wanted_ms it was deferred with */
    }
    if (p->due_head && p->due_head->due_key_ms < next)
        next = p->due_head->due_key_ms;
    return next;
}

/* ---- the coordinator ---- */

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

/* One run of j, with its run lease held. 0, CAPP_EINACTIVE (or CAPP_ENOTFOUND) when the install
 * is not active (nothing ran), or CAPP_ENOMEM. */
static int do_run(struct pipeline *p, struct job *j, unsigned gen, const char *trigger,
                  const char *taken_from, struct cloud_client *client, results_db *db,
                  struct audit_writer *aw)
{
    struct run_ctx *r = calloc(1, sizeof *r);
    if (!r)
        return CAPP_ENOMEM;
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
        return rc;
    }
    if (taken_from[0]) {
        log_info("kyc.pipeline.takeover", "installed_app_id", j->id, "from", taken_from, "effect",
                 "resumed: identities it stored are not screened again, its outbox is re-sent",
                 NULL);
        /* the dead holder never finished its run's row: end it, saying why */
        char why[200];
        snprintf(why, sizeof why, "replica %s stopped during the run; another replica took it over",
                 taken_from);
        if (results_run_abandon(db, j->id, now_ms(), why) != 0)
            log_warn("kyc.pipeline.run_abandon_failed", "installed_app_id", j->id, NULL);
    }
    r->can_alert = r->inst->can_alert;
    int64_t started = now_ms(), run_id = 0;
    pthread_mutex_lock(&p->lock);
    pipeline_install_ref_release(j->inst);
    j->inst = pipeline_install_ref_hold(r->inst);
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
    pipeline_reconcile_uncertain(r);
    struct results_outbox_item *items = NULL;
    size_t n_items = 0;
    if (results_outbox_load(db, j->id, r->inst->can_write, r->can_alert, &items, &n_items) == 0)
        pipeline_enqueue_items(p, j, gen, r->inst, items, n_items, 0);
    for (size_t i = 0; i < n_items; i++)
        results_outbox_item_clear(&items[i]);
    free(items);
    /* 2. the walk */
    if (!r->inst->can_read) {
        rc = CAPP_EPERM;
        message = "data:read is not granted: identities cannot be read";
    } else {
        set_phase(p, j, "fetching");
        rc = pipeline_walk_identities(r);
        if (rc && rc != CAPP_ESHUTDOWN)
            message = "reading identities from Blnk Cloud failed; the next run retries";
    }
    /* 3. the writers finish this install's work */
    set_phase(p, j, "writing");
    int64_t drain_start = now_ms();
    pthread_mutex_lock(&p->lock);
    while (j->inflight > 0 && !p->stopping && pipeline_job_live(j, gen)) {
        pthread_mutex_unlock(&p->lock);
        save_run(p, r);
        pthread_mutex_lock(&p->lock);
        pipeline_wait_until(p, &p->space, j, gen, now_ms() + 1000);
    }
    int live = pipeline_job_live(j, gen) && !p->stopping;
    int keybad = j->key_invalid;
    j->run.write_ms = j->write_busy_ms;
    j->run.finished_at_ms = now_ms();
    if (!live)
        snprintf(j->run.state, sizeof j->run.state, "stopped");
    else
        snprintf(j->run.state, sizeof j->run.state, "%s", rc ? "failed" : "done");
    if (keybad)
        message = "Blnk Cloud refused the install's API key (401): reinstall the app";
    else if (!live && j->lease_lost)
        message = "another replica took the run over";
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
    pipeline_install_ref_release(r->inst);
    free(r);
    return 0;
}

static int lists_visit(void *ctx, const struct store_install *install)
{
    pipeline_request_run(ctx, install->installed_app_id, "lists");
    return 0;
}

/* On the coordinator, between runs (no batch in flight reads p->lists): loads the lists again
 * when asked (forced) or when the files changed; on a new generation, publishes it and queues
 * a run for every active install. A failed load keeps the current index and generation. */
static void reload_lists(struct pipeline *p, results_db *db, int forced)
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
        /* unit workers read p->lists until their unit is stored: none may be mid-unit */
        p->lists_swapping = 1;
        while (p->units_active > 0)
            pthread_cond_wait(&p->units_wake, &p->lock);
        p->lists = fresh;
        free(p->lists_problem);
        p->lists_problem = problem[0] ? strdup(problem) : NULL;
        p->lists_swapping = 0;
        pthread_cond_broadcast(&p->units_wake);
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

/* The scan's findings (pipeline_replicas.c), on the coordinator without the lock. */
static int takeover_visit(void *ctx, const char *installed_app_id)
{
    struct pipeline *p = ctx;
    pthread_mutex_lock(&p->lock);
    struct job *j = job_find(p, installed_app_id, 1);
    if (j && !j->uninstalled && !j->key_invalid)
        want_run(p, j, "takeover");
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static int due_visit(void *ctx, const char *installed_app_id, int64_t next_at_ms)
{
    struct pipeline *p = ctx;
    pthread_mutex_lock(&p->lock);
    struct job *j = job_find(p, installed_app_id, 1);
    if (j && !j->uninstalled && !j->key_invalid) {
        j->schedule_expected_ms = next_at_ms;
        want_run(p, j, "schedule");
    }
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* Admits and runs the picked job (lock not held). */
static void admit_and_run(struct pipeline *p, struct job *pick, unsigned gen, const char *trigger,
                          int64_t wanted_ms, struct cloud_client *client, results_db *db,
                          struct audit_writer *aw)
{
    struct pipeline_admission a;
    enum pipeline_admit admit = pipeline_admit_run(p, db, pick, trigger, wanted_ms, &a);
    if (admit == PIPELINE_ADMIT_RUN) {
        int rc = do_run(p, pick, gen, trigger, a.taken_from, client, db, aw);
        pthread_mutex_lock(&p->lock);
        int done = !p->stopping; /* a run stopped by a shutdown is left for another replica */
        pthread_mutex_unlock(&p->lock);
        pipeline_run_finish(p, db, pick, done, rc == CAPP_EINACTIVE || rc == CAPP_ENOTFOUND);
    } else {
        log_info(admit == PIPELINE_ADMIT_SKIP ? "kyc.pipeline.skip" : "kyc.pipeline.deferred",
                 "installed_app_id", pick->id, "trigger", trigger, "reason", a.reason, "holder",
                 a.holder[0] ? a.holder : "-", NULL);
    }
    pthread_mutex_lock(&p->lock);
    pick->running = 0;
    if (admit == PIPELINE_ADMIT_DEFER) {
        /* a start-up or takeover run does what the holder's run does: that run satisfies it
         * (unless a request came since) */
        int same_work = strcmp(trigger, "startup") == 0 || strcmp(trigger, "takeover") == 0;
        if (same_work && !pick->run_wanted && a.holder[0] && a.holder_claimed_ms < pick->wanted_ms)
            pick->wanted_ms = a.holder_claimed_ms;
        defer_run(p, pick, a.retry_at_ms);
    }
    if (admit == PIPELINE_ADMIT_RUN && a.taken_from[0] && !p->stopping && !pick->lease_lost)
        want_run(p, pick, "takeover"); /* reconciles the alerts the dead replica left 'creating' */
    else if (admit == PIPELINE_ADMIT_RUN && pick->follow_ups > 0 && !p->stopping &&
             !pick->lease_lost) {
        pick->follow_ups--; /* a replica that did units of this run died (pipeline_walk.c) */
        want_run(p, pick, "takeover");
    }
    if (pick->run_wanted && !pick->queued_run)
        queue_run(p, pick); /* asked for again while it ran */
    pthread_mutex_unlock(&p->lock);
}

static void *coordinator_main(void *arg)
{
    struct pipeline *p = arg;
    results_db *db = results_conn(p->rs);
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
        if (now >= p->next_scan_ms) {
            p->next_scan_ms = now + p->scan_ms;
            pthread_mutex_unlock(&p->lock);
            pipeline_replicas_scan(p, db, takeover_visit, due_visit, p);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        int64_t next = run_due(p, now, p->next_scan_ms);
        if (p->next_lists_poll_ms && p->next_lists_poll_ms < next)
            next = p->next_lists_poll_ms;
        struct job *pick = pop_run(p);
        if (!pick) {
            struct timespec ts = pipeline_deadline_ts(next);
            pthread_cond_timedwait(&p->wake, &p->lock, &ts);
            continue;
        }
        pick->run_wanted = 0;
        pick->running = 1;
        char trigger[16];
        snprintf(trigger, sizeof trigger, "%s", pick->trigger);
        int64_t wanted_ms = pick->wanted_ms;
        unsigned gen = pick->generation;
        pthread_mutex_unlock(&p->lock);
        admit_and_run(p, pick, gen, trigger, wanted_ms, client, db, aw);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    audit_writer_free(aw);
    cloud_client_free(client);
    return NULL;
}

/* ---- unit workers ---- */

/* An idle worker looks for units again after UNIT_IDLE_MIN_MS, doubling up to UNIT_IDLE_MAX_MS
 * while it finds none: a replica whose walker is another is told of new units by nothing but
 * this poll. */
#define UNIT_IDLE_MIN_MS 25
#define UNIT_IDLE_MAX_MS 250

struct unit_worker_arg {
    struct pipeline *p;
    int index;
};

/* Claims units of any install's live run (this replica's or another's) and checks them
 * (pipeline_units.c), on its own connection and Cloud client (for detokenized names). A unit of
 * an install this replica cannot run (not active here, uninstalled, key refused) is given back. */
static void *unit_worker_main(void *arg)
{
    struct pipeline *p = ((struct unit_worker_arg *)arg)->p;
    struct pipeline_unit_slot *slot = &p->unit_slots[((struct unit_worker_arg *)arg)->index];
    free(arg);
    results_db *db = NULL;
    struct cloud_config cc = {.base_url = p->cloud_url, .max_attempts = 1};
    struct cloud_client *client = NULL;
    if (results_conn_open(p->rs, &db) != 0 || cloud_client_new(&cc, p->cfg.keyring, &client) != 0) {
        log_error("kyc.pipeline.unit_worker_failed", NULL);
        results_conn_close(db);
        pthread_mutex_lock(&p->lock);
        p->unit_workers_failed++; /* pipeline_start waits for every worker to be up or failed */
        pthread_cond_broadcast(&p->units_wake);
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    int64_t idle_ms = UNIT_IDLE_MIN_MS;
    pthread_mutex_lock(&p->lock);
    p->unit_workers_up++;
    pthread_cond_broadcast(&p->units_wake);
    while (!p->stopping) {
        if (p->lists_swapping) {
            pthread_cond_wait(&p->units_wake, &p->lock);
            continue;
        }
        p->units_active++;
        char lists_key[sizeof p->lists.key];
        snprintf(lists_key, sizeof lists_key, "%s", p->lists.key);
        pthread_mutex_unlock(&p->lock);
        struct results_unit u;
        int64_t claimed_ms = now_ms();
        int got =
            results_unit_claim(db, slot->holder, p->holder, lists_key, claimed_ms, p->lease_ms, &u);
        int worked = 0;
        if (got == 1) {
            pthread_mutex_lock(&p->lock);
            slot->u = u;
            slot->u.payload = NULL;
            slot->held = 1;
            slot->lost = 0;
            /* the keeper renews it a third of a lease from now at the latest */
            if (!p->units_renew_ms || p->units_renew_ms > claimed_ms + p->lease_ms / 3) {
                p->units_renew_ms = claimed_ms + p->lease_ms / 3;
                pthread_cond_signal(&p->keeper_wake);
            }
            struct job *j = job_find(p, u.installed_app_id, 1);
            unsigned gen = j ? j->generation : 0;
            int usable = j && pipeline_job_live(j, gen);
            pthread_mutex_unlock(&p->lock);
            struct install_ref *inst = NULL;
            if (usable && load_install(p, j, &inst) == 0)
                worked = pipeline_unit_process(p, db, client, j, gen, inst, slot, &u);
            else
                results_unit_release(db, &u, slot->holder);
            pipeline_install_ref_release(inst);
            free(u.payload);
            pthread_mutex_lock(&p->lock);
            slot->held = 0;
            pthread_mutex_unlock(&p->lock);
        } else if (got < 0) {
            log_warn("kyc.pipeline.unit_claim_failed", "error", capp_errcode(got), NULL);
        }
        pthread_mutex_lock(&p->lock);
        p->units_active--;
        if (p->lists_swapping) /* reload_lists waits for none to be active */
            pthread_cond_broadcast(&p->units_wake);
        if (worked) {
            idle_ms = UNIT_IDLE_MIN_MS;
            continue;
        }
        int64_t until = now_ms() + idle_ms;
        idle_ms = idle_ms * 2 > UNIT_IDLE_MAX_MS ? UNIT_IDLE_MAX_MS : idle_ms * 2;
        struct timespec ts = pipeline_deadline_ts(until);
        if (pthread_cond_timedwait(&p->units_wake, &p->lock, &ts) == 0)
            idle_ms = UNIT_IDLE_MIN_MS; /* woken: a unit was added here (or stopping) */
    }
    p->unit_workers_up--;
    pthread_mutex_unlock(&p->lock);
    cloud_client_free(client);
    results_conn_close(db);
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
    pthread_cond_init(&p->keeper_wake, NULL);
    pthread_cond_init(&p->units_wake, NULL);
    atomic_init(&p->units_done, 0);
    pipeline_replica_init(p);
    int rc = (!p->db_path || !p->cloud_url || !p->metadata_key) ? CAPP_ENOMEM : 0;
    if (rc == 0)
        rc = results_store_open(p->db_path, &p->rs);
    if (rc == 0) {
        results_db *db = results_conn(p->rs);
        /* the false-positive memory and the audit chain the pipeline writes to */
        rc = db ? review_migrate(db) : CAPP_EDB;
        if (rc == 0) /* the run leases and the schedule replicas share */
            rc = results_leases_migrate(db);
        if (rc == 0) /* the work units of runs, shared by the replicas' unit workers */
            rc = results_units_migrate(db);
        p->n_unit_workers = pipeline_unit_workers(db);
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
    int rc = pipeline_writers_new(p);
    if (rc)
        return rc;
    pipeline_committer_start(p);
    pipeline_writers_start(p);
    pipeline_keeper_start(p);
    if (p->n_unit_workers > 0 &&
        (!(p->unit_workers = calloc((size_t)p->n_unit_workers, sizeof *p->unit_workers)) ||
         !(p->unit_slots = calloc((size_t)p->n_unit_workers, sizeof *p->unit_slots))))
        p->n_unit_workers = 0; /* the walk checks directly */
    for (int i = 0; i < p->n_unit_workers; i++) {
        snprintf(p->unit_slots[i].holder, sizeof p->unit_slots[i].holder, "%.40s/%u", p->holder,
                 (unsigned)(unsigned char)i); /* i < PIPELINE_MAX_THREADS */
        struct unit_worker_arg *a = malloc(sizeof *a);
        if (!a) {
            p->n_unit_workers = i; /* the ones started do the units */
            break;
        }
        *a = (struct unit_worker_arg){.p = p, .index = i};
        if (pthread_create(&p->unit_workers[i], NULL, unit_worker_main, a) != 0) {
            free(a);
            p->n_unit_workers = i; /* pipeline_stop joins the ones started */
            break;
        }
    }
    /* the first runs start below: they write units only if a worker is up to check them */
    pthread_mutex_lock(&p->lock);
    while (p->unit_workers_up + p->unit_workers_failed < p->n_unit_workers)
        pthread_cond_wait(&p->units_wake, &p->lock);
    pthread_mutex_unlock(&p->lock);
    char workers[24];
    snprintf(workers, sizeof workers, "%d", p->n_unit_workers);
    log_info("kyc.pipeline.unit_workers", "workers", workers, "mode",
             p->n_unit_workers > 0 ? "units" : "direct", NULL);
    pthread_create(&p->coordinator, NULL, coordinator_main, p);
    p->started = 1;
    p->cfg.threads = p->n_writers;
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
    pthread_cond_broadcast(&p->units_wake);
    pthread_mutex_unlock(&p->lock);
    if (!was)
        return;
    pthread_join(p->coordinator, NULL);
    /* the unit workers give their units back (stopping) and wait for their stores, so before
     * the committer stops */
    for (int i = 0; i < p->n_unit_workers; i++)
        pthread_join(p->unit_workers[i], NULL);
    char units[24];
    snprintf(units, sizeof units, "%ld", atomic_load(&p->units_done));
    log_info("kyc.pipeline.units_done", "holder", p->holder, "units", units, NULL);
    /* after the coordinator: it released its lease (or left it to expire) */
    pipeline_keeper_join(p);
    pipeline_writers_join(p);
    /* the writers are gone: the committer commits what they left and exits */
    pipeline_committer_stop(p);
    pipeline_writers_free(p);
}

void pipeline_free(struct pipeline *p)
{
    if (!p)
        return;
    pipeline_stop(p);
    struct job *j = p->jobs;
    while (j) {
        struct job *next = j->next;
        pipeline_install_ref_release(j->inst);
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
    pthread_cond_destroy(&p->keeper_wake);
    pthread_cond_destroy(&p->units_wake);
    free(p->unit_workers);
    free(p->unit_slots);
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
    results_db *db = results_conn(p->rs);
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
        /* D27: this hook runs when the install commits, before capp sends its 2xx; the first
         * Cloud call waits for the answer to be out (and a 401 soon after is retried). */
        j->activated_ms = now_ms();
        j->pause_until_ms = j->activated_ms + PIPELINE_ACTIVATION_DELAY_MS;
        j->backoff_ms = 0;
        j->alert_status[0] = '\0'; /* a reinstall may be in another organization */
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
        j->deferred = 0; /* left on the deferred queue: run_due drops it */
        j->schedule_expected_ms = j->schedule_claimed_ms = 0;
        pipeline_drop_tasks(p, j);
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
    results_db *db = results_conn(p->rs);
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
        else if (j->run_wanted || j->deferred) /* deferred: another replica runs it now */
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

int pipeline_screen_catalog(struct pipeline *p, struct review_selection *lists,
                            struct review_selection *topics)
{
    return pipeline_engine_catalog(p ? p->cfg.engine : NULL, lists, topics);
}

int pipeline_apply_decision(struct pipeline *p, const char *installed_app_id,
                            const struct pipeline_decision *d)
{
    if (!d || !d->identity_id || !d->status)
        return CAPP_EINVAL;
    results_db *db = results_conn(p->rs);
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
        pipeline_install_ref_release(inst);
        return rc;
    }
    /* the Cloud side, off the request path; a full queue leaves it to the next run */
    if (loaded && pipeline_enqueue_items(p, j, gen, inst, &item, 1, 1) != 0)
        pipeline_request_run(p, installed_app_id, "decision");
    results_outbox_item_clear(&item);
    pipeline_install_ref_release(inst);
    if (hooks.after_decision)
        hooks.after_decision(hooks.ctx, installed_app_id, d);
    return 0;
}

struct results_store *pipeline_results(struct pipeline *p)
{
    return p->rs;
}
