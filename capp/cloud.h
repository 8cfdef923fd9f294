/*
 * cloud.h — the Blnk Cloud API client (spec blnk-cloud-apps.md §8, §10, D12–D21).
 *
 * Design. A struct cloud_client is one libcurl easy handle (through capp/httpc, so connections
 * are reused) plus immutable configuration; it belongs to one thread (STYLE rule 7). Each call
 * names the install it acts for in a small struct cloud_install, so this module does not depend
 * on the store: the caller copies the row's fields into it.
 *
 * Every call, in order:
 *   1. Maps METHOD + path to the scope of the §10 table and checks it against the install's
 *      granted_permissions. A missing scope fails with CAPP_EPERM, names the scope in the result
 *      and sends nothing. A request outside the table is refused (CAPP_EINVAL): fail closed.
 *   2. Builds base_url + path + "?instance_id=…" followed by the caller's query parameters, all
 *      percent-encoded (D14: /alerts gets instance_id too). The key never goes into the URL.
 *   3. Opens the sealed key (AAD = installed_app_id) for that attempt only and wipes it as soon
 *      as the response is in. Headers: Authorization: Bearer, Accept: application/json,
 *      User-Agent, X-Request-Id (one id per logical call, the same on every attempt) and
 *      Content-Type: application/json when there is a body.
 *   4. Maps the outcome to one error code: 2xx → 0, 401 → CAPP_EUNAUTH (D21: the caller flags
 *      the key invalid), 403 → CAPP_EPERM, 404 → CAPP_ENOTFOUND, 409 → CAPP_ECONFLICT,
 *      429 → CAPP_ERATELIMIT, other statuses → CAPP_EHTTP, timeout → CAPP_ETIMEOUT, connection
 *      failure → CAPP_ENETWORK, response over the cap → CAPP_ETOOBIG, 2xx with a body that is
 *      not JSON → CAPP_EPARSE.
 *   5. Retries only idempotent requests — GET, root POST /{resource}/filter and
 *      POST /proxy/{id}/metadata (whole-object writes, D19) — on 429, 5xx and connection
 *      failures, at most max_attempts times in all. The wait is Retry-After when the server
 *      sent one (capped by CAPP_CLOUD_MAX_RETRY_AFTER_SECONDS), otherwise "full jitter":
 *      uniform in [0, min(backoff_max, backoff_base × 2^(retry-1))]. Alert creation
 *      (POST /alerts/flag/…) and every other write is never retried (D16); neither is a timeout,
 *      so one attempt never exceeds total_timeout_ms and a stalled Cloud is not hit again.
 *
 * Upstream bodies never reach result.message (safe for a browser); logs carry at most the first
 * CLOUD_LOG_BODY_BYTES of a failed response, with the key scrubbed out should the upstream echo
 * it, plus installed_app_id and api_key_prefix — never the key, never the query string.
 *
 * Ownership: everything passed in is borrowed for the duration of the call (the keyring and the
 * config strings for the client's lifetime; the client copies the config strings it keeps).
 * A struct cloud_result is filled on success and on failure alike; its body is owned by the
 * result and released by cloud_result_free() (NULL-safe, idempotent).
 *
 * Paging (D17′) is the caller's: a walk must end on an empty page or a short page after a full
 * one, dedupe by ID and tolerate a capped or ignored pageSize. Apps walk pages themselves, with
 * the limits below.
 */
#ifndef CAPP_CLOUD_H
#define CAPP_CLOUD_H

#include <jansson.h>
#include <stddef.h>

#include "limits.h"

struct cloud_client;
struct seal_keyring;

#define CLOUD_DEFAULT_BASE_URL        "https://api.cloud.blnkfinance.com"
#define CLOUD_USER_AGENT_CAPP         "capp/1" /* capp's product token, last in User-Agent */
#define CLOUD_MAX_PRODUCT_BYTES       128
#define CLOUD_DEFAULT_BACKOFF_BASE_MS 250
#define CLOUD_DEFAULT_BACKOFF_MAX_MS  4000
#define CLOUD_MAX_BASE_URL_BYTES      512
#define CLOUD_LOG_BODY_BYTES          200    /* upstream body bytes a log line may carry */
#define CLOUD_REQUEST_ID_BYTES        32     /* generated X-Request-Id: 16 random bytes as hex */
#define CLOUD_PAGE_SIZE_MAX           100    /* Cloud caps pageSize at 100 (D17) */
#define CLOUD_PAGE_MAX_PAGES          100000 /* safety stop for a Cloud that never ends a walk */

/* Scopes of §10. */
#define CLOUD_SCOPE_DATA_READ    "data:read"
#define CLOUD_SCOPE_DATA_WRITE   "data:write"
#define CLOUD_SCOPE_ALERTS_READ  "alerts:read"
#define CLOUD_SCOPE_ALERTS_WRITE "alerts:write"

struct cloud_config {
    const char *base_url; /* NULL: CLOUD_DEFAULT_BASE_URL; http:// or https://, no query */
    /* The app's product token(s), sent before capp's in User-Agent ("acme-screen/2 capp/1"); at
     * most CLOUD_MAX_PRODUCT_BYTES, no control characters. NULL: cloud_set_default_product's. */
    const char *product;
    long connect_timeout_ms; /* 0: CAPP_CLOUD_CONNECT_TIMEOUT_MS */
    long total_timeout_ms;   /* per attempt; 0: CAPP_CLOUD_TOTAL_TIMEOUT_MS */
    size_t max_response;     /* 0: CAPP_CLOUD_MAX_RESPONSE_BYTES; never above it */
    int max_attempts;        /* 0: CAPP_CLOUD_MAX_ATTEMPTS; clamped to 1..CAPP_CLOUD_MAX_ATTEMPTS */
    long backoff_base_ms;    /* 0: CLOUD_DEFAULT_BACKOFF_BASE_MS */
    long backoff_max_ms;     /* 0: CLOUD_DEFAULT_BACKOFF_MAX_MS */
    /* Injectable for tests. sleep_ms NULL: nanosleep. jitter_ms NULL: a per-client PRNG; it
     * must return a value in [0, ceiling_ms]. Both get hook_ctx. */
    void (*sleep_ms)(void *hook_ctx, long ms);
    long (*jitter_ms)(void *hook_ctx, long ceiling_ms);
    void *hook_ctx;
};

/* The install a call acts for. All borrowed. */
struct cloud_install {
    const char *installed_app_id; /* AAD of the sealed key; logged */
    const char *instance_id;      /* sent as ?instance_id= on every call */
    const char *api_key_prefix;   /* logged; never authenticates anything */
    const char *sealed_api_key;   /* seal.h text */
    const char *const *granted_permissions;
    size_t permission_count;
};

struct cloud_result {
    int error;        /* same as the return value */
    long status;      /* HTTP status of the last attempt; 0 when none arrived */
    json_t *body;     /* parsed JSON body of the last response (any status), or NULL; owned */
    int attempts;     /* requests sent (0 when refused before the network) */
    long retry_after; /* seconds from the last response's Retry-After, -1 when absent */
    const char *missing_scope; /* on a local CAPP_EPERM refusal: the scope lacking (static) */
    char request_id[CLOUD_REQUEST_ID_BYTES + 1];
    char message[160]; /* short English text, never upstream content: safe for a browser */
};

/* One request. query is NULL or a NULL-terminated list of key, value pairs, e.g.
 * {"page", "2", "first_name_ilike", "%ann%", NULL}; instance_id must not be in it. path starts
 * with '/' and holds only [A-Za-z0-9._~/-] without "." or ".." segments (IDs are D6 opaque
 * strings); anything that needs encoding goes into query. */
struct cloud_request {
    const char *method; /* GET, POST, PUT, DELETE */
    const char *path;
    const char *const *query;
    const json_t *body;     /* NULL: no body */
    const char *request_id; /* NULL: generated; else [A-Za-z0-9_-]{1,CLOUD_REQUEST_ID_BYTES} */
};

/* The product token of every client whose config names none (capp_serve_main sets the
 * program's, from capp_serve_hooks.product). Call at start-up, before any client exists;
 * product is borrowed for the life of the process. */
void cloud_set_default_product(const char *product);

/* config may be NULL for all defaults. keyring is borrowed and must outlive the client. */
int cloud_client_new(const struct cloud_config *config, const struct seal_keyring *keyring,
                     struct cloud_client **out);
void cloud_client_free(struct cloud_client *c);

/* The scope a request needs per §10, or NULL (with CAPP_EINVAL from the calls) when it is
 * outside the table. */
const char *cloud_required_scope(const char *method, const char *path);
/* 1 when method + path may be retried blindly (see the design note). */
int cloud_is_idempotent(const char *method, const char *path);

/* Returns 0 on a 2xx, a negative CAPP_E* otherwise; res is filled either way (free it with
 * cloud_result_free). */
int cloud_call(struct cloud_client *c, const struct cloud_install *inst,
               const struct cloud_request *req, struct cloud_result *res);
int cloud_get(struct cloud_client *c, const struct cloud_install *inst, const char *path,
              const char *const *query, struct cloud_result *res);
int cloud_post_json(struct cloud_client *c, const struct cloud_install *inst, const char *path,
                    const char *const *query, const json_t *body, struct cloud_result *res);
int cloud_put_json(struct cloud_client *c, const struct cloud_install *inst, const char *path,
                   const char *const *query, const json_t *body, struct cloud_result *res);
int cloud_delete(struct cloud_client *c, const struct cloud_install *inst, const char *path,
                 const char *const *query, struct cloud_result *res);
void cloud_result_free(struct cloud_result *res);

/* Does Cloud still accept the install's key? The cheapest call any key may make whatever its
 * scopes: GET /data/identities?instance_id=…&pageSize=1, sent without the local scope check (a
 * Cloud that accepted a key without data:read answers 403) and never retried (the caller has its
 * own schedule). Returns 0 when Cloud accepted the key (any HTTP answer below 500 but 401),
 * CAPP_EUNAUTH when it refused it (401: revoked or unknown), another CAPP_E* when the answer
 * proves nothing (network, timeout, 5xx, a key that cannot be opened). Used to confirm an
 * uninstall before its key is destroyed (uninstall_confirm.h). */
int cloud_probe_key(struct cloud_client *c, const struct cloud_install *inst,
                    struct cloud_result *res);

/* ---- list envelopes and the end of a walk (D15, D17′) ---- */

enum cloud_list_shape {
    CLOUD_LIST_NONE = 0, /* not a list: none of the shapes below */
    CLOUD_LIST_DATA,     /* {"data": [...], "total": N} (total optional) */
    CLOUD_LIST_ARRAY,    /* a bare array */
    CLOUD_LIST_SINGLE,   /* one object carrying id_field: GET /alerts's documented example */
};

/* The items of a list response whatever its envelope, as a new reference to an array (the
 * caller decrefs; a single object becomes an array of one), or NULL with CLOUD_LIST_NONE.
 * *total (may be NULL) gets the envelope's integer "total", -1 when there is none. The total is
 * for progress only: no walk may end on it (D17′). */
json_t *cloud_list_items(const json_t *body, const char *id_field, enum cloud_list_shape *shape,
                         long *total);

/* D17′: 1 when a walk is over after a page of `len` items, `fresh` of them with IDs not seen
 * before; prev_len is the previous page's length (-1 for the first page). Never decided by
 * page × pageSize ≥ total nor by the page size asked for, which a server may cap or ignore: the
 * walk is over on an empty page, on a page shorter than the one before it (a short page after a
 * full one: what the server returned as a full page is its cap, whatever was asked), and on a
 * page that brought no new ID (a server that ignores paging repeats itself). A first page
 * shorter than asked is not the end: the server's cap may be that short. */
int cloud_page_is_last(long prev_len, long len, long fresh);

#endif
