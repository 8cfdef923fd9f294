/*
 * pipeline_replicas.c — what `kyc serve` replicas sharing one database agree on, so that each
 * install's run happens on one replica at a time, a scheduled run once per interval across the
 * cluster, and a run a dead replica left is taken over.
 *
 * Design. An install's run has one coordinator at a time, on one replica (its checks are shared:
 * the walker writes them as work units that every replica's unit workers take, see
 * pipeline_units.c and kyc/results_units.h). Before a run the coordinator claims the
 * install's "run" lease (kyc/results_leases.h: one INSERT … ON CONFLICT DO UPDATE statement that
 * only takes a free, expired or own lease). Its holder is this process's random replica id
 * (pipeline_replica_init, logged at start). While the run goes on, the keeper thread renews the
 * lease every third of its length, whatever the coordinator is waiting for (a Cloud pause, a
 * full queue); if a renewal finds the lease gone (it expired and another replica took it), the
 * keeper bumps the job's generation: the walk and the writers stop at their next check and the
 * install's queued calls are dropped — their intent stays in the database for the new holder.
 *
 * A replica that cannot claim (another holds the lease) defers its wanted run to the holder's
 * expiry and asks again then; when it finds the lease released by a run that finished and started
 * after the request (claimed_at ≥ wanted_ms), the request is satisfied and dropped. A start-up
 * or takeover request is satisfied by the holder's own run (it does the same work), others (a
 * reviewer's re-screen, a reinstall) wait for a run after it.
 *
 * Takeover and resuming: every scan_ms the coordinator lists runs left unfinished — leases held
 * by another replica and expired (it died, or stalled past the lease) and leases released
 * unfinished (a replica shut down mid-run) — and asks for a "takeover" run of each; the claim
 * that wins tells, from the same statement, whose lease it took (taken_from). The run resumes
 * from what the dead replica made durable: its walk starts at page 1 again (Cloud's pages are not
 * a stable cursor: D17′), but every identity whose result the dead replica stored has an unchanged
 * snapshot hash and is not screened again; pending write-backs are sent again (the whole kyc
 * object: idempotent); alerts left 'creating' become 'uncertain' and are reconciled through
 * alerts:read, never created twice — in a follow-up run (trigger "takeover") queued right after
 * the takeover run, since a run reconciles before it loads the outbox.
 *
 * Schedule: the next scheduled run of an install is a row in the database (next_at), set by the
 * replica that finished a run to its end + the interval. The scan lists the due ones; the
 * coordinator claims one with a compare-and-set (next_at: what it read → now + the lease) before
 * running it, so of the replicas that found it due exactly one runs it. Moving it only a lease
 * ahead means a replica that dies between the claim and the run leaves it due again a lease
 * later, not an interval later; a deferred scheduled run whose next_at someone rewrote (a run
 * finished meanwhile) is dropped.
 *
 * Presence: with unit workers, the keeper also renews this replica's presence lease (installed
 * app id = the holder id, unit "alive") and releases it at a clean stop; a walker whose units a
 * replica no longer present did learns from it that the outbox work that replica had queued was
 * lost, and queues follow-up runs that send it (pipeline_walk.c).
 *
 * Threads and locking: the coordinator calls admit, finish and scan on its own connection; the
 * keeper has its own connection. pipeline.leased, the lease times and the job fields they touch
 * are guarded by the pipeline lock.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capp/clock.h"
#include "capp/crypto.h"
#include "capp/err.h"
#include "capp/log.h"
#include "kyc/pipeline_internal.h"
#include "kyc/results_units.h"

#define LEASE_MIN_MS  200     /* shorter ones would be renewed more often than a run checks */
#define LEASE_MAX_MS  3600000 /* an hour: a dead replica's runs wait at most that long */
#define SCAN_MAX_MS   5000    /* how often runs left by dead replicas and due schedules are seen */
#define RETRY_SLOP_MS 50      /* asks again this long after the holder's lease expires */

/* ---- identity and configuration ---- */

static int64_t lease_length(const struct pipeline_config *c)
{
    if (c->lease_ms > 0)
        return c->lease_ms < LEASE_MIN_MS ? LEASE_MIN_MS : c->lease_ms;
    const char *env = getenv("KYC_PIPELINE_LEASE_MS");
    if (env && *env) {
        char *end = NULL;
        long long v = strtoll(env, &end, 10);
        if (end && !*end && v >= LEASE_MIN_MS && v <= LEASE_MAX_MS)
            return v;
        log_warn("kyc.pipeline.lease_env_ignored", "variable", "KYC_PIPELINE_LEASE_MS", "effect",
                 "the default lease length is used", NULL);
    }
    return PIPELINE_DEFAULT_LEASE_MS;
}

void pipeline_replica_init(struct pipeline *p)
{
    /* the host name makes the id readable in the lease table and the logs; the random part
     * makes it unique per process (a restarted process is a new holder) */
    char host[24] = "";
    if (gethostname(host, sizeof host) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    uint8_t rnd[8] = {0};
    char hex[2 * sizeof rnd + 1];
    if (crypto_random(rnd, sizeof rnd) != 0) {
        /* not secret, only unique: fall back on the pid and the clock */
        uint64_t v = ((uint64_t)getpid() << 40) ^ (uint64_t)clock_now_ms();
        memcpy(rnd, &v, sizeof rnd);
    }
    crypto_hex_encode(rnd, sizeof rnd, hex);
    snprintf(p->holder, sizeof p->holder, "%s%s%s", host, host[0] ? "-" : "", hex);
    p->lease_ms = lease_length(&p->cfg);
    p->scan_ms = p->lease_ms / 3 < SCAN_MAX_MS ? p->lease_ms / 3 : SCAN_MAX_MS;
    char lease[24];
    snprintf(lease, sizeof lease, "%lld", (long long)p->lease_ms);
    log_info("kyc.pipeline.replica", "holder", p->holder, "lease_ms", lease, NULL);
}

/* ---- the keeper: renews the run lease this replica holds ---- */

/* Lock held. The lease is another replica's now: this run's work stops here. */
static void lease_lost(struct pipeline *p, struct job *j, int rc)
{
    j->lease_lost = 1;
    j->generation++;
    pipeline_drop_tasks(p, j);
    p->leased = NULL;
    pthread_cond_broadcast(&p->space);
    log_warn("kyc.pipeline.lease_lost", "installed_app_id", j->id, "holder", p->holder, "error",
             rc ? capp_errcode(rc) : "taken over", "effect",
             "the run stops; the replica that took the lease resumes it", NULL);
}

/* Lock held (dropped during the statements). Renews the units this replica's workers hold; a
 * unit another worker took over (its lease expired: a long stall) is marked lost, which stops
 * its worker. */
static void renew_units(struct pipeline *p, results_db *db, int64_t now)
{
    /* n_unit_workers ≤ PIPELINE_MAX_THREADS: the copies fit on the keeper's stack */
    int n = p->n_unit_workers, held = 0;
    struct pipeline_unit_slot copy[PIPELINE_MAX_THREADS];
    int rcs[PIPELINE_MAX_THREADS];
    for (int i = 0; i < n; i++) {
        copy[i] = p->unit_slots[i];
        held += copy[i].held;
    }
    p->units_renew_ms = held ? now + p->lease_ms / 3 : 0;
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < n; i++)
        rcs[i] = copy[i].held && db
                     ? results_unit_renew(db, &copy[i].u, copy[i].holder, now, p->lease_ms)
                     : 1;
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < n; i++) {
        struct pipeline_unit_slot *s = &p->unit_slots[i];
        if (rcs[i] == 0 && s->held && s->u.unit_no == copy[i].u.unit_no &&
            strcmp(s->u.run_key, copy[i].u.run_key) == 0 &&
            strcmp(s->u.installed_app_id, copy[i].u.installed_app_id) == 0)
            s->lost = 1;
        else if (rcs[i] < 0 && held)
            p->units_renew_ms = now + p->lease_ms / 10; /* busy database: again soon */
    }
}

static void *keeper_main(void *arg)
{
    struct pipeline *p = arg;
    results_db *db = NULL;
    if (results_conn_open(p->rs, &db) != 0) {
        /* without renewals a lease lasts one period: runs stop when theirs expires */
        log_error("kyc.pipeline.keeper_no_database", NULL);
        db = NULL;
    }
    /* with unit workers, the replica's presence lease: a walker whose units this replica did
     * learns from its expiry that this replica's queued outbox work was lost (results_units.h) */
    int present = db && p->n_unit_workers > 0;
    int64_t presence_at = 0;
    pthread_mutex_lock(&p->lock);
    /* a stopping run still holds its lease until the coordinator releases it */
    while (!p->stopping || p->leased) {
        struct job *j = p->leased;
        int64_t now = clock_now_ms();
        if (present && !p->stopping && now >= presence_at) {
            pthread_mutex_unlock(&p->lock);
            int rc = results_lease_claim(db, p->holder, RESULTS_LEASE_ALIVE, p->holder, now,
                                         p->lease_ms, NULL);
            pthread_mutex_lock(&p->lock);
            presence_at = now + (rc == 1 ? p->lease_ms / 3 : p->lease_ms / 10);
            continue;
        }
        if (p->units_renew_ms && now >= p->units_renew_ms) {
            renew_units(p, db, now);
            continue;
        }
        if (j && now >= p->lease_renew_ms) {
            char id[STORE_ID_CAP];
            snprintf(id, sizeof id, "%s", j->id);
            pthread_mutex_unlock(&p->lock);
            int rc =
                db ? results_lease_renew(db, id, RESULTS_LEASE_RUN, p->holder, now, p->lease_ms)
                   : CAPP_EDB;
            pthread_mutex_lock(&p->lock);
            if (p->leased != j)
                continue; /* the run ended meanwhile */
            if (rc == 1) {
                p->lease_expires_ms = now + p->lease_ms;
                p->lease_renew_ms = now + p->lease_ms / 3;
            } else if (rc == 0 || clock_now_ms() >= p->lease_expires_ms) {
                lease_lost(p, j, rc);
            } else {
                /* a failed renewal (busy database): again soon, while the lease still runs */
                p->lease_renew_ms = clock_now_ms() + p->lease_ms / 10;
            }
            continue;
        }
        int64_t until = j ? p->lease_renew_ms : now + 60000;
        if (present && !p->stopping && presence_at < until)
            until = presence_at;
        if (p->units_renew_ms && p->units_renew_ms < until)
            until = p->units_renew_ms;
        struct timespec ts = pipeline_deadline_ts(until);
        pthread_cond_timedwait(&p->keeper_wake, &p->lock, &ts);
    }
    pthread_mutex_unlock(&p->lock);
    if (present) /* stopped: the writers drop what they had queued, as if it died */
        results_lease_release(db, p->holder, RESULTS_LEASE_ALIVE, p->holder, clock_now_ms(), 0);
    results_conn_close(db);
    return NULL;
}

void pipeline_keeper_start(struct pipeline *p)
{
    pthread_create(&p->keeper, NULL, keeper_main, p);
}

void pipeline_keeper_join(struct pipeline *p)
{
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->keeper_wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->keeper, NULL);
}

/* ---- before and after a run ---- */

enum pipeline_admit pipeline_admit_run(struct pipeline *p, results_db *db, struct job *j,
                                       const char *trigger, int64_t wanted_ms,
                                       struct pipeline_admission *a)
{
    memset(a, 0, sizeof *a);
    int scheduled = strcmp(trigger, "schedule") == 0;
    int64_t now = clock_now_ms();
    pthread_mutex_lock(&p->lock);
    int64_t expected = j->schedule_expected_ms, claimed = j->schedule_claimed_ms;
    j->schedule_expected_ms = 0;
    pthread_mutex_unlock(&p->lock);
    int rc;
    if (expected) {
        rc = results_schedule_claim(db, j->id, expected, now + p->lease_ms);
        if (rc == 1) {
            claimed = now + p->lease_ms;
            pthread_mutex_lock(&p->lock);
            j->schedule_claimed_ms = claimed;
            pthread_mutex_unlock(&p->lock);
        } else if (scheduled) {
            a->reason = rc ? capp_errcode(rc) : "scheduled_elsewhere";
            return PIPELINE_ADMIT_SKIP;
        }
    } else if (scheduled && claimed) {
        int64_t next_at = 0;
        rc = results_schedule_get(db, j->id, &next_at);
        if (rc == CAPP_ENOTFOUND || (rc == 0 && next_at != claimed)) {
            a->reason = "ran_elsewhere";
            return PIPELINE_ADMIT_SKIP;
        }
    }
    struct results_lease l;
    rc = results_lease_get(db, j->id, RESULTS_LEASE_RUN, &l);
    if (rc == 0 && !l.holder[0] && l.done && l.claimed_at_ms >= wanted_ms) {
        a->reason = "ran_elsewhere";
        return PIPELINE_ADMIT_SKIP;
    }
    rc = results_lease_claim(db, j->id, RESULTS_LEASE_RUN, p->holder, now, p->lease_ms, &l);
    if (rc == 1) {
        /* a takeover only when this claim started a tenure: a claim of a lease this replica
         * still held (a release that failed) keeps the taken_from of its earlier tenure */
        if (l.claimed_at_ms == now)
            snprintf(a->taken_from, sizeof a->taken_from, "%s", l.taken_from);
        pthread_mutex_lock(&p->lock);
        p->leased = j;
        j->lease_lost = 0;
        j->schedule_claimed_ms = 0;
        p->lease_expires_ms = now + p->lease_ms;
        p->lease_renew_ms = now + p->lease_ms / 3;
        pthread_cond_signal(&p->keeper_wake);
        pthread_mutex_unlock(&p->lock);
        return PIPELINE_ADMIT_RUN;
    }
    if (rc == 0) {
        snprintf(a->holder, sizeof a->holder, "%s", l.holder);
        a->holder_claimed_ms = l.claimed_at_ms;
        a->retry_at_ms = (l.expires_at_ms > now ? l.expires_at_ms : now) + RETRY_SLOP_MS;
        a->reason = "leased_elsewhere";
        return PIPELINE_ADMIT_DEFER;
    }
    /* the database did not answer: asked again at the next scan */
    a->retry_at_ms = now + p->scan_ms;
    a->reason = capp_errcode(rc);
    return PIPELINE_ADMIT_DEFER;
}

void pipeline_run_finish(struct pipeline *p, results_db *db, struct job *j, int done, int inactive)
{
    pthread_mutex_lock(&p->lock);
    int lost = j->lease_lost;
    if (p->leased == j)
        p->leased = NULL;
    pthread_cond_signal(&p->keeper_wake);
    pthread_mutex_unlock(&p->lock);
    if (lost)
        return; /* another replica holds the lease and the schedule now */
    int64_t now = clock_now_ms();
    int rc = 0;
    if (inactive)
        rc = results_schedule_forget(db, j->id);
    else if (p->cfg.rescreen_interval_seconds > 0)
        rc =
            results_schedule_set(db, j->id, now + (int64_t)p->cfg.rescreen_interval_seconds * 1000);
    if (rc)
        log_warn("kyc.pipeline.schedule_unsaved", "installed_app_id", j->id, "error",
                 capp_errcode(rc), NULL);
    /* after the schedule: a replica that sees the lease free sees the next run's time */
    rc = results_lease_release(db, j->id, RESULTS_LEASE_RUN, p->holder, now, done);
    if (rc < 0)
        log_warn("kyc.pipeline.lease_release_failed", "installed_app_id", j->id, "effect",
                 "other replicas take the run over when the lease expires", NULL);
}

void pipeline_replicas_scan(struct pipeline *p, results_db *db,
                            int (*takeover)(void *ctx, const char *installed_app_id),
                            int (*due)(void *ctx, const char *installed_app_id, int64_t next_at_ms),
                            void *ctx)
{
    int64_t now = clock_now_ms();
    int rc = results_lease_each_unfinished(db, RESULTS_LEASE_RUN, p->holder, now, takeover, ctx);
    if (rc == 0 && p->cfg.rescreen_interval_seconds > 0)
        rc = results_schedule_each_due(db, now, due, ctx);
    if (rc)
        log_warn("kyc.pipeline.scan_failed", "error", capp_errcode(rc), NULL);
}
