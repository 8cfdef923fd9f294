/*
 * platform.h — the platform half of cloudsim: the shared server state (struct cloudsim), the
 * platform store (organizations, instances, users, apps, installs, API keys, deliveries, audit),
 * the lifecycle flows (install, uninstall, launch) and the gateway front door.
 *
 * Threads: the HTTP pool threads and one worker thread per lifecycle flow each use their own
 * SQLite connection through cs_db(); everything else in struct cloudsim is immutable after
 * startup, except the rate limiter, which has its own lock.
 *
 * The data half may read cs->config (e.g. cs_strict_mode()) but never writes it.
 */
#ifndef CLOUDSIM_PLATFORM_H
#define CLOUDSIM_PLATFORM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "capp/limits.h"
#include "cloudsim/cloudsim.h"

struct db_pool;

#define CS_ID_BYTES                    64   /* "instapp_" + 32 hex + NUL fits easily */
#define CS_API_KEY_BYTES               64   /* "blnk_" + 43 base64url + NUL */
#define CS_KEY_PREFIX_LEN              8    /* api_key_prefix: first 8 characters (spec D6) */
#define CS_URL_BYTES                   2048 /* manifest and portal URLs */
#define CS_TEXT_BYTES                  1024 /* display name, description, developer */
#define CS_MAX_LAUNCH_ACCESS           64
#define CS_MAX_RATE_KEYS               4096 /* keys tracked by the rate limiter at once */
#define CS_DEFAULT_CALLBACK_TIMEOUT_MS 10000
#define CS_DEFAULT_PORTAL_TIMEOUT_MS   10000
#define CS_DEFAULT_RETRY_DELAY_MS      1000
#define CS_V1_RESENDS                  2 /* spec D4: up to 2 re-sends after the first attempt */

enum cs_mode { CS_MODE_V1 = 1, CS_MODE_V2 = 2 };

/* Fault injection for one lifecycle event delivery (docs/cloudsim.md, "Fault injection"). */
struct cs_faults {
    int duplicate;      /* send the identical payload once more after a 2xx */
    long delay_ms;      /* wait this long before each attempt */
    int drop_responses; /* treat the first N answers as lost (as if the network dropped them) */
};

struct cs_config {
    enum cs_mode mode;
    int strict;                   /* spec D20: /proxy answers 404 outside the documented list */
    long callback_timeout_ms;     /* spec §4: 10 s */
    long portal_timeout_ms;       /* spec D8: 10 s */
    long retry_delay_ms;          /* spec D4: 1 s */
    double rate_limit_per_second; /* spec D16: 0 = off */
    int frame_check;              /* spec D8: check the portal page's frame-ancestors */
    struct cs_faults faults;      /* defaults for every delivery */
    long max_page_size; /* D17′: caps pageSize on /data, root filters, /alerts; 0: 100 */
    enum cs_alerts_list alerts_list;
    int without_resolved;         /* D28: the organizations have no RESOLVED alert status */
    int key_activation;           /* D27: keys answer 401 until their install is active and */
    long key_activation_delay_ms; /* this long has passed since */
    char db_path[1024];
    char public_url[320];  /* the dashboard's origin, e.g. http://127.0.0.1:8800 */
    size_t page_max_bytes; /* a dashboard page's limit; 0: 4 MiB (tests lower it) */
};

struct cloudsim {
    struct cs_config config;
    struct db_pool *db_pool; /* one connection per thread: cs_db() */
    int temp_db;             /* config.db_path is a temporary file standing in for ":memory:" */
    struct http_server *srv;
    pthread_mutex_t rate_lock;
    struct cs_rate_entry *rate_entries; /* CS_MAX_RATE_KEYS slots, gateway_front.c */
    size_t rate_count;
    pthread_mutex_t worker_lock; /* lifecycle worker threads still running */
    pthread_cond_t worker_done;
    int workers;
};

/* ---- lifetime (platform_store.c) ---- */

/* Opens the database (":memory:" becomes a private temporary file so every thread shares it),
 * runs both halves' migrations. config is copied. */
int cs_new(const struct cs_config *config, struct cloudsim **out);
/* Waits for every lifecycle worker thread to finish; call after http_server_stop(). */
void cs_free(struct cloudsim *cs);
/* Worker accounting (admin_api.c starts workers). */
void cs_worker_enter(struct cloudsim *cs);
void cs_worker_leave(struct cloudsim *cs);
/* Closes the calling thread's connection (workers call it before they leave). */
void cs_db_release(struct cloudsim *cs);
int cs_strict_mode(const struct cloudsim *cs);

/* ---- identifiers and time (platform_ids.c) ---- */

/* prefix + 32 lowercase hex (spec D6) into out (CS_ID_BYTES). */
int cs_mint_id(const char *prefix, char out[CS_ID_BYTES]);
/* "blnk_" + 43 base64url characters (spec D6). The caller wipes it after use. */
int cs_mint_api_key(char out[CS_API_KEY_BYTES]);
/* Current time as RFC 3339 UTC with milliseconds and 'Z' into out (32 bytes). */
void cs_now_rfc3339(char out[32]);
/* Same at second precision, for uninstalled_at. */
void cs_now_rfc3339_seconds(char out[32]);
int64_t cs_now_ms(void);
/* "data:read" → CS_SCOPE_DATA_READ; 0 for anything else. */
unsigned cs_scope_from_name(const char *name);
const char *cs_scope_name(unsigned scope_bit);

/* ---- lifecycle (platform_lifecycle.c, platform_launch.c) ---- */

struct cs_install_request {
    const char *app_id;
    const char *instance_id; /* NULL: the org's first instance */
    const char *user_id;     /* NULL: the org's first user */
    const char *permissions[CAPP_MAX_PERMISSIONS];
    size_t permission_count;
    int all_permissions; /* grant everything the manifest requests */
    struct cs_faults faults;
};

/* Outcome of a flow: status is the HTTP status for the admin API, result its JSON body
 * (owned by the caller). */
struct cs_outcome {
    unsigned status;
    json_t *result;
};

void cs_install(struct cloudsim *cs, const struct cs_install_request *in, struct cs_outcome *out);
void cs_uninstall(struct cloudsim *cs, const char *installed_app_id, const struct cs_faults *faults,
                  struct cs_outcome *out);
void cs_launch(struct cloudsim *cs, const char *installed_app_id, const char *user_id,
               struct cs_outcome *out);
/* Test tool (docs/cloudsim.md): POSTs the uninstall event Cloud would send for the install,
 * with overrides (an object, may be NULL) merged over it, once, and changes nothing in cloudsim:
 * the install keeps its status and its key stays valid. The result carries the app's status
 * and JSON answer. */
void cs_forge_uninstall(struct cloudsim *cs, const char *installed_app_id, const json_t *overrides,
                        struct cs_outcome *out);
/* Finds the live (pending or active) install of app_id in instance_id (NULL: any instance of
 * the app's org, first one). 0 found, CAPP_ENOTFOUND. */
int cs_find_live_install(struct cloudsim *cs, const char *app_id, const char *instance_id,
                         char out[CS_ID_BYTES]);

/* ---- running a flow off the HTTP pool (platform_flow.c) ---- */

enum cs_flow_kind { CS_FLOW_INSTALL, CS_FLOW_UNINSTALL, CS_FLOW_LAUNCH, CS_FLOW_FORGED_UNINSTALL };

/* Answers the deferred request once the flow is done; takes ownership of out->result. */
typedef void (*cs_flow_answer_fn)(struct cloudsim *cs, struct http_request *req,
                                  struct cs_outcome *out, void *arg);

struct cs_flow {
    enum cs_flow_kind kind;
    struct cs_install_request install;  /* CS_FLOW_INSTALL */
    char installed_app_id[CS_ID_BYTES]; /* uninstall, launch */
    char user_id[CS_ID_BYTES];          /* launch; "" = the org's first user */
    struct cs_faults faults;            /* uninstall */
    const json_t *overrides;            /* forged uninstall: fields over the payload (in owned) */
    json_t *owned;                      /* released after the flow (strings borrowed) */
    cs_flow_answer_fn answer;           /* NULL: JSON {status, result} */
    void *arg;                          /* for answer; freed with free() after it */
};

/* Allocates a flow with faults set to the server defaults; NULL on OOM. */
struct cs_flow *cs_flow_new(struct cloudsim *cs, enum cs_flow_kind kind);
void cs_flow_free(struct cs_flow *flow);
/* Defers req and runs the flow on a worker thread; takes ownership of flow. */
void cs_flow_start(struct cloudsim *cs, struct http_request *req, struct cs_flow *flow);

/* ---- flow internals shared by the platform files (platform_lifecycle.c) ---- */

struct cs_app_row {
    char app_id[CS_ID_BYTES];
    char organization_id[CS_ID_BYTES];
    char display_name[CS_TEXT_BYTES];
    char callback_url[CS_URL_BYTES];
    char portal_generator_url[CS_URL_BYTES];
    char permissions[256];    /* JSON array text */
    char launch_access[8192]; /* JSON array text */
};

struct cs_install_row {
    char installed_app_id[CS_ID_BYTES];
    char app_id[CS_ID_BYTES];
    char organization_id[CS_ID_BYTES];
    char instance_id[CS_ID_BYTES];
    char status[16];
    char api_key_prefix[CS_KEY_PREFIX_LEN + 1];
};

/* One lifecycle event to POST (borrowed strings). */
struct cs_delivery {
    const char *installed_app_id;
    const char *kind; /* "install", "uninstall" */
    const char *url;
    const char *payload;
    long timeout_ms;
    struct cs_faults faults;
};

int cs_load_app(struct cloudsim *cs, const char *app_id, struct cs_app_row *app);
int cs_load_install(struct cloudsim *cs, const char *installed_app_id, struct cs_install_row *row);
/* `given` (NULL: the first by creation) row of table (instances/users) in organization_id. */
int cs_resolve_member(struct cloudsim *cs, const char *table, const char *id_column,
                      const char *organization_id, const char *given, char out[CS_ID_BYTES]);
/* POSTs d (V1: up to 1 + CS_V1_RESENDS attempts, V2: one), applying faults and recording each
 * attempt. Returns 1 when a 2xx was accepted; *attempts gets a JSON array describing them. */
int cs_deliver(struct cloudsim *cs, const struct cs_delivery *d, json_t **attempts);
void cs_sleep_ms(long ms);

/* ---- store helpers shared by admin, dashboard and flows (platform_store.c) ---- */

/* Records one outbound event attempt. */
void cs_record_delivery(struct cloudsim *cs, const char *installed_app_id, const char *kind,
                        int attempt, const char *url, long status, const char *outcome,
                        long elapsed_ms);
/* A platform (non-gateway) audit row: actor is "user" or "system". */
void cs_audit_event(struct cloudsim *cs, const char *actor, const char *event,
                    const char *installed_app_id, const char *api_key_prefix, const char *detail);
/* Register an app from a manifest object (spec D24) into organization_id (NULL: first org).
 * On success writes app_id; on failure fills err_code/err_message. */
int cs_register_app(struct cloudsim *cs, const json_t *manifest, const char *organization_id,
                    char app_id[CS_ID_BYTES], const char **err_code, char *err_message,
                    size_t err_cap);
/* Seeds organizations, instances and users from a config object (docs/cloudsim.md) when the
 * store has none. */
int cs_seed_config(struct cloudsim *cs, const json_t *config, char *err, size_t err_cap);
/* JSON views used by the admin API and tests. */
json_t *cs_json_state(struct cloudsim *cs);
json_t *cs_json_apps(struct cloudsim *cs, const char *app_id);
json_t *cs_json_installs(struct cloudsim *cs, const char *installed_app_id);
json_t *cs_json_audit(struct cloudsim *cs, const char *installed_app_id, long limit);
json_t *cs_json_deliveries(struct cloudsim *cs, const char *installed_app_id, long limit);

/* ---- HTTP surfaces ---- */

int cs_admin_register(struct cloudsim *cs, struct http_server *srv);     /* admin_api.c */
int cs_dashboard_register(struct cloudsim *cs, struct http_server *srv); /* dashboard.c */

#endif
