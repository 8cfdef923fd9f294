/*
 * pipeline_internal.h — what the pipeline's files share. Not for other modules (their contract is
 * kyc/pipeline.h).
 *
 * The pipeline is split by thread and concern:
 *   pipeline.c          the scheduler (run and schedule queues), the coordinator thread and the
 *                       public API;
 *   pipeline_walk.c     on the coordinator: one run's paging walk of /data/identities, the
 *                       change snapshot, removed-identity detection and the reconciliation of
 *                       uncertain alerts — all its state in the run's context (struct run_ctx);
 *   pipeline_commit.c   the committer thread, the one writer to the results database: checked
 *                       batches from the walk, and completions from the writers (group commit);
 *   pipeline_outbox.c   the writer threads: write-back and alert calls to Cloud;
 *   pipeline_install.c  per-install state shared by the coordinator, the walk and the writers:
 *                       install references, liveness, the install's shared Cloud pause
 *                       (backoff), 401 handling and dropping the install's queued tasks;
 *   pipeline_replicas.c what replicas sharing one database agree on: the install's run lease
 *                       (claimed before a run, renewed by the keeper thread), the cluster-wide
 *                       schedule, the scan for runs a dead replica left;
 *   pipeline_queues.c   the hand-over queues between the threads: the writers' task queue (fed
 *                       by the coordinator, the committer and decisions) and the committer's
 *                       completion queue (fed by the writers);
 *   pipeline_screen.c   checking one identity (any thread; pure but for the false-positive
 *                       reads);
 *   pipeline_lists.c    list generations (what changed between two loads of the lists);
 *   pipeline_units.c    a unit worker's check of one claimed work unit (a page of a run the
 *                       walker wrote to the database for any replica's workers; the worker
 *                       threads are in pipeline.c).
 *
 * The files' calls go one way (scripts/check-cycles, CTest lint_cycles):
 *   pipeline.c         → walk, commit, outbox, queues, install, lists, replicas, units
 *   pipeline_replicas.c → install
 *   pipeline_units.c   → walk, commit, install
 *   pipeline_walk.c    → commit, queues, install, screen, lists
 *   pipeline_commit.c  → queues, screen
 *   pipeline_outbox.c  → queues, install
 *   pipeline_queues.c  → install
 *   pipeline_screen.c  → lists
 * and pipeline_install.c and pipeline_lists.c call none of them. What two threads' files share
 * goes in a file of its own below both, never in one of them (that makes a cycle).
 *
 * Locking: one mutex (struct pipeline.lock) guards the queues, the jobs and their run
 * progress; every field below says whether it needs it. Nothing here is global: per-pipeline
 * state lives in struct pipeline, per-run state in struct run_ctx.
 */
#ifndef KYC_PIPELINE_INTERNAL_H
#define KYC_PIPELINE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "capp/cloud.h"
#include "capp/crypto.h"
#include "capp/store.h"
#include "kyc/pipeline.h"
#include "kyc/results_leases.h"
#include "kyc/results_pipeline.h"
#include "kyc/results_units.h"

struct screen_engine;

/* Bumped when the checks change meaning: every identity is then re-screened once. */
/* 2: D26 organisations by category; 3: considered candidates stored with every result,
 * nationality and residence screened in their own roles, name_markup, pep_match */
#define PIPELINE_RULES_VERSION "kyc-pipeline-3"

/* D28: the alert status the app creates (and resolves with) when Cloud has no RESOLVED. */
#define PIPELINE_ALERT_CLEARED_STATUS "KYC_CLEARED"
/* Cloud's description limit is undocumented: a resolution note that would grow one past this
 * is left out rather than risk a refusal (cloudsim's limit). */
#define PIPELINE_ALERT_DESCRIPTION_MAX 10000
/* D27: a new install's first Cloud call waits this long after the install hook (which runs
 * before capp sends the install's 2xx), and a 401 within the grace period after it is retried
 * with backoff before the key is marked invalid (the platform may not have activated it yet). */
#define PIPELINE_ACTIVATION_DELAY_MS 1000
#define PIPELINE_ACTIVATION_GRACE_MS (2 * 60 * 1000)

/* One checked identity; owns its strings (pipeline_checked_clear). */
struct pipeline_checked {
    char identity_id[STORE_ID_CAP];
    char fields_hash[CRYPTO_SHA256_HEX_BYTES];
    char basis[CRYPTO_SHA256_HEX_BYTES];
    const char *status; /* static */
    const char *risk;   /* static */
    const char *identity_type;
    double score;
    char *display_name, *name_tokens, *reasons_json, *detail_json, *alert_title, *alert_text;
    char *identity_json; /* results_identity_fields: customer PII, never logged or audited */
    /* the screening audit record without the list versions: input_sha256 of the normalised
     * screened fields, status, score, reasons, top matches (entry ids and scores), suppressed
     * matches — never a name (kyc/audit.h) */
    json_t *audit;
};

struct pipeline_map;

/* False-positive memory (kyc/review.h) for one install: a match whose list entry still has the
 * content hash it had when a reviewer marked it is dropped from the result. */
struct pipeline_fp {
    results_db *db;
    const char *installed_app_id;
    const struct pipeline_map *entry_hashes; /* entry_id → current content hash (char *) */
};

/* SHA-256 over the identity's normalised screened fields (never meta_data except
 * tokenized_fields, so our own write-back does not count as a change). CAPP_EINVAL without a
 * valid identity_id (written to id_out, STORE_ID_CAP). */
int pipeline_identity_hash(const json_t *identity, char *id_out,
                           char hash_out[CRYPTO_SHA256_HEX_BYTES]);
/* Runs the data-quality rules and (when names are usable and an index is loaded) the sanctions
 * screening; fills out. The hash must have been computed (identity_id, fields_hash set).
 * plain (may be NULL) is the identity with its tokenized names detokenized in memory: checked
 * and screened instead, with nothing derived from its names kept in out (display name
 * "(tokenized)", name tokens PIPELINE_TOKENS_DETOKENIZED, no query tokens in the matches).
 * fp (may be NULL) drops remembered false positives: they count toward neither the status nor
 * the basis, and the detail lists them under "suppressed". */
struct pipeline_selection;
int pipeline_check_identity(struct screen_engine *engine, const json_t *identity,
                            const json_t *plain, const char *today_ymd,
                            const struct pipeline_fp *fp, const struct pipeline_selection *sel,
                            struct pipeline_checked *out);

/* The lists and topics one run screens against (the install's setting applied to what is
 * loaded): sources/topics name the included ones, none meaning all. An exclusion that leaves
 * nothing of its kind (every loaded list or topic excluded, after the lists changed) is not
 * applied: the install is screened against everything rather than nothing. key is "" when
 * everything is screened, else the applied exclusions, mixed into the change hash so changing
 * the selection re-screens the install's identities. */
struct pipeline_selection {
    struct review_selection loaded_lists, loaded_topics;
    const char *sources[REVIEW_SELECTION_MAX];
    size_t n_sources;
    const char *topics[REVIEW_SELECTION_MAX];
    size_t n_topics;
    char key[2 * REVIEW_SELECTION_MAX * REVIEW_SELECTION_NAME_MAX + 64];
};
/* The loaded catalogue of the engine's current index (see pipeline_screen_catalog). */
int pipeline_engine_catalog(struct screen_engine *engine, struct review_selection *lists,
                            struct review_selection *topics);
/* Applies s to the engine's catalogue into out. */
int pipeline_selection_make(struct screen_engine *engine, const struct review_settings *s,
                            struct pipeline_selection *out);
/* The stored name tokens of an identity screened from detokenized names: none are kept, so a
 * list change always counts as affecting it. Not a token normalisation can produce. */
#define PIPELINE_TOKENS_DETOKENIZED "*"
void pipeline_checked_clear(struct pipeline_checked *c);

/* ---- a string-keyed hash map (open addressing; keys copied, values borrowed) ---- */

struct pipeline_map_slot {
    char *key;
    void *value;
};
struct pipeline_map {
    struct pipeline_map_slot *slots;
    size_t cap, count;
};
/* Inserts or replaces; CAPP_ENOMEM. */
int pipeline_map_put(struct pipeline_map *m, const char *key, void *value);
void *pipeline_map_get(const struct pipeline_map *m, const char *key);
/* Frees the keys and the table; values are the caller's (free_value may be NULL). */
void pipeline_map_clear(struct pipeline_map *m, void (*free_value)(void *));

/* ---- list generations ---- */

struct pipeline_lists {
    char key[CRYPTO_SHA256_HEX_BYTES];      /* current generation; "" without lists */
    char previous[CRYPTO_SHA256_HEX_BYTES]; /* the generation before it; "" unknown */
    char **changed;                         /* tokens of entries changed since `previous` */
    size_t n_changed;
    char *lists_json;                  /* {"<source>":{"sha256","date"}} for the payload */
    json_t *lists;                     /* the same, parsed (for the audit records) */
    struct pipeline_map *entry_hashes; /* entry_id → content hash (char *) of the loaded set */
    size_t n_entries;
    double token_floor;
    double pair_floor; /* similarity a changed token must reach to count (≥ token_floor) */
    int loaded;        /* 1 when an index with entries is loaded */
};

/* Computes the current generation from the engine's index, compares it with the stored one
 * and records the change (kyc_list_entries, kyc_list_generations). */
int pipeline_lists_sync(results_db *db, struct screen_engine *engine, struct pipeline_lists *out);
void pipeline_lists_clear(struct pipeline_lists *l);
/* 1 when an identity with these name tokens (space-separated) could get other candidates
 * from the entries changed between l->previous and l->key. */
int pipeline_lists_affects(const struct pipeline_lists *l, const char *tokens);

/* ---- the pipeline's threads and queues ---- */

#define PIPELINE_STORE_BATCH  256  /* checked identities per stored batch (one transaction) */
#define PIPELINE_DONE_BATCH   256  /* completions per committed transaction */
#define PIPELINE_DONE_GROUP   128  /* completions that wake the committer without waiting */
#define PIPELINE_QUEUE_MAX    4096 /* outbox tasks queued for the writers */
#define PIPELINE_UNIT_WORKERS 2    /* unit workers per replica on PostgreSQL (pipeline_units.c) */

struct audit_writer;
struct cloud_client;

/* An immutable copy of an install for Cloud calls; shared by the run and its tasks
 * (pipeline_install_ref_hold / _release). */
struct install_ref {
    atomic_int refs;
    struct store_install row;
    const char *perms[CAPP_MAX_PERMISSIONS];
    struct cloud_install ci;
    int can_read, can_write, can_alert, can_alert_read;
};

/* One install's scheduling state; lives as long as the pipeline. Guarded by the lock. */
struct job {
    struct job *next;     /* every job, for pipeline_free */
    struct job *run_next; /* the run queue, while queued_run */
    struct job *due_next; /* the deferred queue, while queued_due */
    int queued_run, queued_due;
    int64_t due_key_ms; /* the deferred queue's order: when to ask for the lease again */
    char id[STORE_ID_CAP];
    /* bumped by uninstall and by losing the run lease: older work is dropped */
    unsigned generation;
    int uninstalled; /* until a new install */
    int key_invalid;
    int run_wanted;
    char trigger[16];
    /* when the run wanted (or deferred) was first asked for: a run another replica started
     * since then satisfies it */
    int64_t wanted_ms;
    /* the run is wanted but another replica holds the install's run lease: asked again at
     * due_key_ms (the holder's lease expiry), on the deferred queue */
    int deferred;
    /* a scheduled run found due in the database: the next_at it was found with, which the
     * coordinator claims (compare-and-set) before running; 0 none */
    int64_t schedule_expected_ms;
    /* the next_at this replica moved it to when it claimed it (0 none): while that is still
     * the stored value no run has happened since, so a deferred scheduled run is still due */
    int64_t schedule_claimed_ms;
    int lease_lost; /* the current run's lease was taken over by another replica */
    /* work units: runs to queue after this one because a replica that did units of it died
     * (its queued outbox work is re-sent by the first, its uncertain alerts reconciled by the
     * second) */
    int follow_ups;
    int running;
    long inflight;          /* tasks queued or in a writer, not yet completed */
    int64_t pause_until_ms; /* the install's Cloud calls wait until then */
    int64_t activated_ms;   /* when the install (or reinstall) was applied; 0 at start-up */
    char alert_status[32];  /* D28: the resolving status Cloud confirmed exists; "" unknown */
    long backoff_ms;
    struct install_ref *inst;
    /* progress of the current (or last) run, guarded by the pipeline lock */
    struct results_run run;
    int has_run;
    char phase[16];
    long long total_reported; /* Cloud's "total" */
    long long write_busy_ms;
};

/* One outbox item on its way to a writer (queued in pipeline_queues.c, sent in
 * pipeline_outbox.c). */
struct task {
    struct task *next;
    struct job *job;
    unsigned generation;
    struct install_ref *inst;
    struct results_outbox_item item;
};

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
    struct pipeline_checked batch[PIPELINE_STORE_BATCH];
};

/* A unit worker's claimed unit (pipeline.c, pipeline_units.c; renewed by the keeper). Guarded
 * by the pipeline lock. */
struct pipeline_unit_slot {
    struct results_unit u;                 /* the unit held (payload not kept here) */
    char holder[RESULTS_LEASE_HOLDER_CAP]; /* the worker's holder id: <replica holder>/<n> */
    int held;
    int lost; /* a renewal found the unit taken over: the worker stops it */
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
    /* Deferred runs (another replica holds their lease), in order of due_key_ms. Scheduled
     * runs are not kept here: their next_at lives in the database (results_leases.h), which
     * the coordinator scans every scan_ms, with the expired leases of dead replicas. */
    struct job *due_head, *due_tail;
    /* Replicas (pipeline.c, "Replicas"): this process's holder id, the lease length, the job
     * whose run lease this process holds (NULL none) and when the keeper renews it next. */
    char holder[RESULTS_LEASE_HOLDER_CAP];
    int64_t lease_ms, scan_ms, next_scan_ms;
    struct job *leased;
    int64_t lease_renew_ms, lease_expires_ms;
    pthread_t keeper;
    pthread_cond_t keeper_wake;
    struct task *head, *tail; /* the writers' task queue */
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
    results_db *done_db; /* the committer's connection, opened at start */
    struct audit_writer *done_audit;
    pthread_t *writers;
    void *writer_state; /* struct writer[n_writers] (pipeline_outbox.c) */
    int n_writers;
    /* ---- work units (pipeline_units.c, kyc/results_units.h) ----
     * n_unit_workers threads claim units of any install's run from the database (0: the walk
     * checks identities itself, the direct path). units_active counts workers between a claim
     * and their unit's stores, which read p->lists: reload_lists sets lists_swapping and waits
     * for none to be active before it replaces p->lists (both under the lock). units_wake wakes
     * idle workers (a unit added here, stopping) and reload_lists. units_done counts the units
     * this replica finished (logged at stop). unit_workers_up counts the workers whose
     * connection and Cloud client opened, unit_workers_failed those whose did not (lock): a
     * walk writes units only when one is up, or a replica whose workers could not start would
     * wait for its units forever. */
    int n_unit_workers, unit_workers_up, unit_workers_failed;
    pthread_t *unit_workers;
    /* one per worker: the unit it holds, which the keeper renews every third of a lease
     * (units_renew_ms; 0 when none is held), whatever the worker waits for (the committer) */
    struct pipeline_unit_slot *unit_slots;
    int64_t units_renew_ms;
    int units_active, lists_swapping;
    pthread_cond_t units_wake;
    atomic_long units_done;
};

/* One run of one install, owned by the coordinator (pipeline.c do_run); the walk's and the
 * reconciliation's state lives here, never in globals. */
struct run_ctx {
    struct pipeline *p;
    struct job *job;
    unsigned gen;
    struct install_ref *inst;
    results_db *db;             /* the coordinator's connection */
    struct audit_writer *audit; /* on db */
    struct cloud_client *client;
    struct pipeline_map snapshot; /* identity_id → stored hashes (pipeline_walk.c) */
    struct pipeline_fp fp;
    /* the uncertain alerts being reconciled: identity_id → found flag (char), while the
     * reconciliation's /alerts walk runs; NULL otherwise */
    struct pipeline_map *uncertain;
    struct store_req *cur; /* the batch being filled */
    long stores_pending;   /* submitted, not yet stored (pipeline lock) */
    int store_rc;          /* the first store failure (pipeline lock) */
    int walk_complete;     /* the walk reached the end of the list (D17), not a page cap */
    int detokenize;        /* the install's screen_tokenized setting, with data:read (this run) */
    struct pipeline_selection *selection; /* the install's lists and topics (this run) */
    int can_alert;
    /* ---- work units ----
     * units: the walker writes the identities to check as unit rows (run_key, unit_no, the
     * page's items in unit_items) instead of checking them; unit_worker: this context checks one
     * claimed unit on a unit worker (its tallies go to the unit row, not to job->run);
     * taken_over: a worker had the unit before, so each identity's stored hashes are read
     * before checking it and what that worker already stored is not stored twice. */
    int units, unit_worker;
    char run_key[RESULTS_UNIT_RUN_CAP];
    int64_t unit_no;
    json_t *unit_items;
    long long checked, check_errors;
    int64_t check_ms;
    int taken_over;
};

/* The absolute deadline of pthread_cond_timedwait for a time in ms of clock_now_ms
 * (CLOCK_REALTIME, as the condition variables use). */
static inline struct timespec pipeline_deadline_ts(int64_t ms)
{
    return (struct timespec){.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
}

/* pipeline_install.c: per-install state shared by the coordinator, the walk and the writers */
struct install_ref *pipeline_install_ref_hold(struct install_ref *r);
void pipeline_install_ref_release(struct install_ref *r);
/* 1 while work of this generation may still go on (not uninstalled, key not refused). */
int pipeline_job_live(const struct job *j, unsigned generation);
/* Waits on cond until deadline (ms) or until the job is no longer live. Lock held. */
void pipeline_wait_until(struct pipeline *p, pthread_cond_t *cond, struct job *j, unsigned gen,
                         int64_t deadline);
/* Waits for the install's pause; 0 to go on, CAPP_ESHUTDOWN when the job is no longer live. */
int pipeline_before_call(struct pipeline *p, struct job *j, unsigned gen);
/* A 429/5xx/network failure: lengthens the install's pause (Retry-After when given). */
void pipeline_note_trouble(struct pipeline *p, struct job *j, const struct cloud_result *res);
/* A call that went through: shortens the install's backoff. */
void pipeline_note_ok(struct pipeline *p, struct job *j);
/* 1 for the failures worth retrying (429, 5xx, network, timeout). */
int pipeline_retryable(const struct cloud_result *res);
/* A 401 from Cloud. Within PIPELINE_ACTIVATION_GRACE_MS of the install (D27) the key may not be
 * active yet: lengthens the install's pause and returns 1 (the caller retries). Otherwise 0:
 * the caller calls pipeline_key_invalid. */
int pipeline_key_refused(struct pipeline *p, struct job *j, const struct cloud_result *res);
/* Cloud refused the install's key (401): flags it (D21) and drops its queued work. */
void pipeline_key_invalid(struct pipeline *p, struct job *j);
/* Drops the job's queued tasks (lock held): a 401, and the uninstall hook (pipeline.c). */
void pipeline_drop_tasks(struct pipeline *p, struct job *j);

/* pipeline_replicas.c: what this replica shares with the others through the database (the run
 * leases, the schedule, the scan for work left by dead replicas) */
enum pipeline_admit {
    PIPELINE_ADMIT_RUN,   /* this replica holds the install's run lease: run it */
    PIPELINE_ADMIT_SKIP,  /* nothing to do: another replica ran it since it was asked for */
    PIPELINE_ADMIT_DEFER, /* another replica holds the lease: ask again at retry_at_ms */
};
struct pipeline_admission {
    char taken_from[RESULTS_LEASE_HOLDER_CAP]; /* RUN: the dead holder taken over, "" none */
    char holder[RESULTS_LEASE_HOLDER_CAP];     /* DEFER: who holds the lease */
    int64_t holder_claimed_ms;                 /* DEFER: when that holder's run started */
    int64_t retry_at_ms;                       /* DEFER */
    const char *reason;                        /* SKIP / DEFER, for the log */
};
/* Sets the replica's holder id and lease length (logged). */
void pipeline_replica_init(struct pipeline *p);
/* The keeper thread renews the run lease this replica holds (pipeline.leased); when the lease is
 * lost (another replica took it over after it expired) it bumps the job's generation, which stops
 * the run and drops its queued calls. */
void pipeline_keeper_start(struct pipeline *p);
void pipeline_keeper_join(struct pipeline *p); /* after stopping is set */
/* On the coordinator, before a run: claims a due schedule and the install's run lease. */
enum pipeline_admit pipeline_admit_run(struct pipeline *p, results_db *db, struct job *j,
                                       const char *trigger, int64_t wanted_ms,
                                       struct pipeline_admission *a);
/* On the coordinator, after a run admitted: sets the install's next scheduled run (forgets it
 * when inactive) and releases the lease (done: not stopped by a shutdown), unless it was lost. */
void pipeline_run_finish(struct pipeline *p, results_db *db, struct job *j, int done, int inactive);
/* On the coordinator, every scan_ms: unfinished runs (expired leases of other replicas, runs
 * released unfinished) go to takeover, due schedules to due (their next_at, to claim). */
void pipeline_replicas_scan(struct pipeline *p, results_db *db,
                            int (*takeover)(void *ctx, const char *installed_app_id),
                            int (*due)(void *ctx, const char *installed_app_id, int64_t next_at_ms),
                            void *ctx);

/* pipeline_walk.c: on the coordinator, within one run */
/* With alerts:read, finds the install's uncertain alerts in Cloud and adopts them; the ones
 * Cloud does not have become 'wanted'. */
void pipeline_reconcile_uncertain(struct run_ctx *r);
/* The list_load record, the change snapshot, the walk of /data/identities (checking the new and
 * changed identities and handing them to the committer), and after a complete walk the
 * removed-identity check. 0, or the walk's (or a store's) first failure. */
int pipeline_walk_identities(struct run_ctx *r);
/* Work units: reads the install's screening settings into r (selection, detokenize, fp),
 * as the walk does before it starts; pipeline_run_settings_clear frees them. */
int pipeline_run_settings(struct run_ctx *r);
void pipeline_run_settings_clear(struct run_ctx *r);
/* Checks one identity as fetched (the walk's check: hash, detokenized names, screening) into
 * the run's batch, handing full batches to the committer; skips it when r->stored holds the
 * same hashes. 0 or the run's first store failure. */
int pipeline_check_listed(struct run_ctx *r, json_t *item);
/* Frees what a failed check left in the run's batch, unsubmitted. */
void pipeline_discard_batch(struct run_ctx *r);

/* pipeline_units.c: a unit worker's work on one claimed unit */
/* Checks and stores the unit's identities on db (the worker's connection) for job j at
 * generation gen with inst, while the keeper renews the unit's lease (slot), then marks it
 * finished (or
 * gives it back: a failure, a shutdown; or leaves it: its lease was taken over). 1 when this
 * worker finished it. */
int pipeline_unit_process(struct pipeline *p, results_db *db, struct cloud_client *client,
                          struct job *j, unsigned gen, struct install_ref *inst,
                          struct pipeline_unit_slot *slot, struct results_unit *u);
/* The number of unit workers this replica runs: KYC_PIPELINE_UNIT_WORKERS when set (0 turns
 * units off), else PIPELINE_UNIT_WORKERS on PostgreSQL and 0 on SQLite. */
int pipeline_unit_workers(results_db *db);

/* pipeline_commit.c: the committer thread */
/* Opens the committer's connection and audit writer (without them nothing is stored or sent:
 * the work stays in the outbox) and starts the thread. */
void pipeline_committer_start(struct pipeline *p);
/* After the writers are joined: commits what they left, joins the thread, closes its
 * connection. */
void pipeline_committer_stop(struct pipeline *p);
/* Hands the run's filled batch (r->cur) to the committer, waiting while enough are queued.
 * Returns the run's first store failure, which ends the walk. */
int pipeline_store_submit(struct run_ctx *r);
/* Waits until every batch the run submitted is stored; the run's first store failure. */
int pipeline_store_wait(struct run_ctx *r);

/* pipeline_outbox.c: the writer threads */
/* Creates the writers' Cloud clients (CAPP_ENOMEM). */
int pipeline_writers_new(struct pipeline *p);
void pipeline_writers_start(struct pipeline *p);
/* Joins the writers (after stopping is set). */
void pipeline_writers_join(struct pipeline *p);
/* Frees the writers and drops what is still queued (its intent is in the database). */
void pipeline_writers_free(struct pipeline *p);

/* pipeline_queues.c: the hand-over queues between the threads */
/* Queues the outbox items for the writers (takes their contents). Blocks while the queue is
 * full, unless nonblocking (a request thread): then returns CAPP_EBUSY and the work stays in
 * the outbox. */
int pipeline_enqueue_items(struct pipeline *p, struct job *j, unsigned gen,
                           struct install_ref *inst, struct results_outbox_item *items, size_t n,
                           int nonblocking);
/* A writer's completions, for the committer (the committer frees r and releases its task). */
void pipeline_done_push(struct pipeline *p, struct done_rec *r);

#endif
