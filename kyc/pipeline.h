/*
 * pipeline.h — the per-install screening pipeline: background workers that read an install's
 * identities from Blnk Cloud, screen the new or changed ones (sanctions engine + data-quality
 * rules), store the results (kyc/results.h) and write them back (metadata, alerts).
 *
 * Never on a request path. Threads:
 *   - one coordinator: runs one install's run at a time — pages /data/identities (D17),
 *     compares each identity's hash of normalised fields with the stored snapshot, screens the
 *     new or changed ones (and, after a list change, the ones whose candidates could change),
 *     stores them in batches and hands the outbox work to the writers;
 *   - `threads` writers, each with its own Cloud client and database connection: metadata
 *     write-back (POST /proxy/{id}/metadata, the whole meta_data.<key> object, D19), alert
 *     creation (POST /alerts/flag/{id}) and resolution (PUT /alerts/flag/{anomaly_id}).
 * Runs are triggered by an install (store hook), at start-up for every active install, on
 * demand (pipeline_request_run, the portal's POST /portal/api/runs), on a schedule
 * (rescreen_interval_seconds), and by a reviewer decision (outbox only).
 *
 * Replicas: several processes may share one results database. An install's run happens only
 * on the replica holding its "run" lease (kyc/results_leases.h; the others defer), a run left
 * by a dead replica is taken over and resumed, and a scheduled run happens once per interval
 * across the cluster (its next time is in the database). pipeline_replicas.c has the design.
 *
 * Cloud trouble slows the pipeline down instead of failing it: a 429, 5xx or connection error
 * pauses the install's calls (Retry-After when given, else doubling from 250 ms to 30 s) and
 * retries; a 401 flags the key invalid (D21) and stops the install's work. Uninstall stops the
 * install's work at once: queued calls are dropped, no new call starts with its key.
 *
 * Missing permissions never stop screening: without data:write results stay 'pending' locally,
 * without alerts:write alerts stay 'wanted', without alerts:read alerts whose creation outcome is
 * unknown stay 'uncertain' (never re-created blind). pipeline_progress() says which permission
 * would enable what.
 *
 * Thread-safety: every function may be called from any thread. The install and uninstall hooks
 * only take a short lock and signal (they run on the store's writer thread).
 */
#ifndef KYC_PIPELINE_H
#define KYC_PIPELINE_H

#include <jansson.h>

#include "kyc/results.h"
#include "kyc/review.h"

struct seal_keyring;
struct screen_engine;
struct store;

#define PIPELINE_DEFAULT_THREADS      8
#define PIPELINE_MAX_THREADS          64
#define PIPELINE_DEFAULT_INTERVAL     3600
#define PIPELINE_DEFAULT_METADATA_KEY "kyc"
#define PIPELINE_MAX_LISTS            8
#define PIPELINE_DEFAULT_LEASE_MS     30000

struct pipeline_config {
    const char *db_path;                /* the SQLite file shared with capp's store */
    struct store *store;                /* borrowed: installs and their sealed keys */
    const struct seal_keyring *keyring; /* borrowed */
    struct screen_engine *engine;       /* borrowed; without an index: data-quality only */
    const char *cloud_url;              /* NULL: CLOUD_DEFAULT_BASE_URL */
    const char *metadata_key;           /* NULL: "kyc" */
    int rescreen_interval_seconds;      /* 0: no schedule */
    int threads;                        /* writer threads; 0: PIPELINE_DEFAULT_THREADS */
    const char *lists_problem;          /* why no lists are loaded (shown in progress), or NULL */
    const char *today_ymd;              /* NULL: today (tests pin the age rule) */
    long backoff_max_ms;                /* 0: 30000 */
    /* New list versions without a restart. load (NULL: no reloading) re-reads the lists into
     * engine, swapping the index only when they load (screen_engine_load), and writes why not
     * into problem (cap bytes; "" when they loaded). changed (may be NULL) tells whether the
     * files differ from what was last loaded; it is polled every lists_poll_seconds (0: never;
     * pipeline_reload_lists asks at once). Both run on the coordinator, between runs. */
    int (*lists_load)(void *ctx, char *problem, size_t cap);
    int (*lists_changed)(void *ctx);
    void *lists_ctx;
    int lists_poll_seconds;
    /* Replicas sharing one database: an install's run holds its "run" lease
     * (kyc/results_leases.h) for this long past the last renewal (renewed every third of it).
     * 0: KYC_PIPELINE_LEASE_MS from the environment (tests shorten it), else
     * PIPELINE_DEFAULT_LEASE_MS. */
    long lease_ms;
};

/* Hooks for the review workflow. `kyc serve` sets before_decision to review_decision_allowed
 * (kyc/review.h), so a decision that needs two reviewers applies only through review_confirm. */
struct pipeline_decision {
    const char *identity_id;
    const char *status;  /* approved | rejected | needs_review (reopen) */
    const char *user_id; /* the portal session's user (D23); may be NULL */
    const char *reason;  /* free text for the audit trail; may be NULL */
};
struct pipeline_hooks {
    /* Before a decision is applied: return 0 to allow, a negative CAPP_E* to refuse (e.g.
     * CAPP_ECONFLICT for a four-eyes violation). current is results_get()'s object. */
    int (*before_decision)(void *ctx, const char *installed_app_id,
                           const struct pipeline_decision *d, const json_t *current);
    /* After the decision committed locally (its Cloud side is queued). */
    void (*after_decision)(void *ctx, const char *installed_app_id,
                           const struct pipeline_decision *d);
    void *ctx;
};

struct pipeline;

/* Opens the results store (migrating it) and syncs the list generation; threads start in
 * pipeline_start. The config strings are copied. */
int pipeline_new(const struct pipeline_config *config, struct pipeline **out);
void pipeline_set_hooks(struct pipeline *p, const struct pipeline_hooks *hooks);
/* Starts the threads and queues a start-up run for every active install. */
int pipeline_start(struct pipeline *p);
/* Stops every run and joins the threads (in-flight Cloud calls finish first). Idempotent. */
void pipeline_stop(struct pipeline *p);
void pipeline_free(struct pipeline *p);

/* Store hooks (store_set_install_hook / store_set_uninstall_hook with ctx = the pipeline). */
void pipeline_install_hook(void *ctx, const char *installed_app_id);
void pipeline_uninstall_hook(void *ctx, const char *installed_app_id);

/* Queues a run (trigger: "manual", "schedule", ...). A run already queued is not queued twice;
 * a running one gets a follow-up. CAPP_ESHUTDOWN when stopping. */
int pipeline_request_run(struct pipeline *p, const char *installed_app_id, const char *trigger);
/* Re-screens one identity on the next run (queued now, trigger "review") although neither its
 * data nor the lists changed: after a reviewer marked one of its matches a false positive.
 * CAPP_ENOTFOUND when the identity is not stored for the install. */
int pipeline_rescreen_identity(struct pipeline *p, const char *installed_app_id,
                               const char *identity_id);
/* Asks the coordinator to reload the lists after the current run (SIGHUP). When the generation
 * changed, every active install gets a run (trigger "lists") that re-screens only the
 * identities the changed entries could affect. */
void pipeline_reload_lists(struct pipeline *p);
/* 1 while the install has a run queued or running or outbox calls in flight. */
int pipeline_busy(struct pipeline *p, const char *installed_app_id);

/* {"installed_app_id","state":"idle|queued|running|stopped","run":{…current or last…,
 * "rate_per_second"},"counts":{…},"outbox":{…},"notices":[{"code","message","permission"?}],
 * "lists":[…versions…],"engine_version","metadata_key"} — safe for the browser. */
int pipeline_progress(struct pipeline *p, const struct store_install *install, json_t **out);

/* Applies a reviewer decision: local status change (writeback pending) + alert resolution
 * queued. CAPP_ENOTFOUND, CAPP_EINVAL (bad status), or the before_decision hook's refusal. */
int pipeline_apply_decision(struct pipeline *p, const char *installed_app_id,
                            const struct pipeline_decision *d);

/* What can be screened against: the loaded lists' sources and their entries' topics (an entry
 * without topics counts as "sanction"), each sorted; both empty when no lists are loaded. */
int pipeline_screen_catalog(struct pipeline *p, struct review_selection *lists,
                            struct review_selection *topics);

/* The results store (for the portal's reads; results_conn() per thread). */
struct results_store *pipeline_results(struct pipeline *p);

#endif
