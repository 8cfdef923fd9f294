/*
 * Blnk Cloud API client. See cloud.h for the contract.
 *
 * Design notes.
 * - Everything that can be refused locally (bad path, bad query, scope not granted, URL over
 *   CAPP_MAX_URL_BYTES) is refused before the key is opened or a byte is sent.
 * - The key lives in plaintext only around one httpc_perform(): opened, copied into the
 *   Authorization header on the stack, and both wiped as soon as the response is in. While it is
 *   still open, the log snippet of a failed response is cut before any echo of the key, so even
 *   a misbehaving upstream cannot make us log it.
 */
#include "cloud.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "httpc.h"
#include "json.h"
#include "log.h"
#include "seal.h"

#define BEARER_PREFIX "Authorization: Bearer "

struct cloud_client {
    struct httpc *http;
    const struct seal_keyring *keyring;
    char *base_url;
    char *user_agent_header;
    long connect_timeout_ms;
    long total_timeout_ms;
    size_t max_response;
    int max_attempts;
    long backoff_base_ms;
    long backoff_max_ms;
    void (*sleep_ms)(void *hook_ctx, long ms);
    long (*jitter_ms)(void *hook_ctx, long ceiling_ms);
    void *hook_ctx;
    uint64_t prng;
};

/* ---- defaults for the injectable hooks ---- */

static void default_sleep_ms(void *hook_ctx, long ms)
{
    (void)hook_ctx;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* xorshift64*: jitter needs spread, not secrecy. */
static uint64_t prng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static long jitter(struct cloud_client *c, long ceiling_ms)
{
    if (ceiling_ms <= 0)
        return 0;
    long v = c->jitter_ms ? c->jitter_ms(c->hook_ctx, ceiling_ms)
                          : (long)(prng_next(&c->prng) % (uint64_t)(ceiling_ms + 1));
    if (v < 0)
        v = 0;
    if (v > ceiling_ms)
        v = ceiling_ms;
    return v;
}

/* ---- client ---- */

static int valid_base_url(const char *url)
{
    size_t n = strlen(url);
    if (n == 0 || n > CLOUD_MAX_BASE_URL_BYTES)
        return 0;
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '?' || ch == '#')
            return 0;
    }
    return 1;
}

static _Atomic(const char *) default_product;

void cloud_set_default_product(const char *product)
{
    atomic_store(&default_product, product);
}

/* Printable ASCII only: it goes into a header line. */
static int valid_product(const char *product)
{
    size_t n = strlen(product);
    if (n == 0 || n > CLOUD_MAX_PRODUCT_BYTES)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (product[i] < 0x20 || product[i] > 0x7e)
            return 0;
    return 1;
}

int cloud_client_new(const struct cloud_config *config, const struct seal_keyring *keyring,
                     struct cloud_client **out)
{
    static const struct cloud_config defaults;
    if (!config)
        config = &defaults;
    if (!keyring || !out)
        return CAPP_EINVAL;
    const char *base = config->base_url ? config->base_url : CLOUD_DEFAULT_BASE_URL;
    const char *product = config->product ? config->product : atomic_load(&default_product);
    if (!valid_base_url(base) || (product && !valid_product(product)))
        return CAPP_EINVAL;
    if (config->connect_timeout_ms < 0 || config->total_timeout_ms < 0 ||
        config->backoff_base_ms < 0 || config->backoff_max_ms < 0 || config->max_attempts < 0)
        return CAPP_EINVAL;

    struct cloud_client *c = calloc(1, sizeof *c);
    if (!c)
        return CAPP_ENOMEM;
    int rc = CAPP_ENOMEM;
    c->keyring = keyring;
    c->base_url = strdup(base);
    if (!c->base_url)
        goto fail;
    size_t blen = strlen(c->base_url);
    while (blen > 0 && c->base_url[blen - 1] == '/')
        c->base_url[--blen] = '\0';
    size_t ua_len = strlen("User-Agent: ") + (product ? strlen(product) + 1 : 0) +
                    strlen(CLOUD_USER_AGENT_CAPP) + 1;
    c->user_agent_header = malloc(ua_len);
    if (!c->user_agent_header)
        goto fail;
    snprintf(c->user_agent_header, ua_len, "User-Agent: %s%s" CLOUD_USER_AGENT_CAPP,
             product ? product : "", product ? " " : "");

    c->connect_timeout_ms =
        config->connect_timeout_ms ? config->connect_timeout_ms : CAPP_CLOUD_CONNECT_TIMEOUT_MS;
    c->total_timeout_ms =
        config->total_timeout_ms ? config->total_timeout_ms : CAPP_CLOUD_TOTAL_TIMEOUT_MS;
    c->max_response = config->max_response && config->max_response < CAPP_CLOUD_MAX_RESPONSE_BYTES
                          ? config->max_response
                          : CAPP_CLOUD_MAX_RESPONSE_BYTES;
    c->max_attempts = config->max_attempts ? config->max_attempts : CAPP_CLOUD_MAX_ATTEMPTS;
    if (c->max_attempts > CAPP_CLOUD_MAX_ATTEMPTS)
        c->max_attempts = CAPP_CLOUD_MAX_ATTEMPTS;
    c->backoff_base_ms =
        config->backoff_base_ms ? config->backoff_base_ms : CLOUD_DEFAULT_BACKOFF_BASE_MS;
    c->backoff_max_ms =
        config->backoff_max_ms ? config->backoff_max_ms : CLOUD_DEFAULT_BACKOFF_MAX_MS;
    c->sleep_ms = config->sleep_ms ? config->sleep_ms : default_sleep_ms;
    c->jitter_ms = config->jitter_ms;
    c->hook_ctx = config->hook_ctx;
    if (crypto_random(&c->prng, sizeof c->prng) != 0 || c->prng == 0)
        c->prng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)time(NULL);

    rc = httpc_new(&c->http);
    if (rc)
        goto fail;
    *out = c;
    return 0;
fail:
    cloud_client_free(c);
    return rc;
}

void cloud_client_free(struct cloud_client *c)
{
    if (!c)
        return;
    httpc_free(c->http);
    free(c->base_url);
    free(c->user_agent_header);
    free(c);
}

/* ---- the §10 table ---- */

/* Segment i (0-based) of path into out; 1 when it exists. path is already validated. */
static int segment(const char *path, int index, const char **start, size_t *len)
{
    const char *p = path;
    for (int i = 0; *p; i++) {
        p++; /* skip '/' */
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (i == index) {
            *start = p;
            *len = n;
            return 1;
        }
        p += n;
    }
    return 0;
}

static int segment_count(const char *path)
{
    int n = 0;
    for (const char *p = path; *p; p++)
        if (*p == '/')
            n++;
    return n;
}

static int segment_is(const char *path, int index, const char *word)
{
    const char *s;
    size_t n;
    return segment(path, index, &s, &n) && n == strlen(word) && memcmp(s, word, n) == 0;
}

/* Only absolute paths of [A-Za-z0-9._~-] segments, none empty, none "." or "..". */
static int valid_path(const char *path)
{
    if (!path || path[0] != '/')
        return 0;
    size_t n = strlen(path);
    if (n > CAPP_MAX_URL_BYTES)
        return 0;
    size_t seg_len = 0;
    size_t dots = 0;
    for (size_t i = 1; i <= n; i++) {
        char ch = path[i];
        if (ch == '/' || ch == '\0') {
            if (seg_len == 0 || dots == seg_len) /* empty, ".", ".." or "..." */
                return 0;
            seg_len = dots = 0;
            continue;
        }
        int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '_' || ch == '.' || ch == '~';
        if (!ok)
            return 0;
        seg_len++;
        if (ch == '.')
            dots++;
    }
    return 1;
}

static int is_method(const char *method, const char *name)
{
    return strcmp(method, name) == 0;
}

static int is_root_filter(const char *method, const char *path)
{
    return is_method(method, "POST") && segment_count(path) == 2 && segment_is(path, 1, "filter");
}

const char *cloud_required_scope(const char *method, const char *path)
{
    if (!method || !valid_path(path))
        return NULL;
    int count = segment_count(path);
    int get = is_method(method, "GET");
    int write = is_method(method, "POST") || is_method(method, "PUT");
    int del = is_method(method, "DELETE");
    if (segment_is(path, 0, "data"))
        return get && count >= 2 ? CLOUD_SCOPE_DATA_READ : NULL;
    if (segment_is(path, 0, "proxy")) {
        if (count < 2)
            return NULL;
        if (get)
            return CLOUD_SCOPE_DATA_READ;
        return write || del ? CLOUD_SCOPE_DATA_WRITE : NULL;
    }
    if (segment_is(path, 0, "alerts")) {
        if (get)
            return CLOUD_SCOPE_ALERTS_READ;
        if (write && count == 3 && segment_is(path, 1, "flag"))
            return CLOUD_SCOPE_ALERTS_WRITE;
        if ((write || del) && segment_is(path, 1, "statuses") && count <= 3)
            return CLOUD_SCOPE_ALERTS_WRITE;
        return NULL;
    }
    if (is_root_filter(method, path))
        return CLOUD_SCOPE_DATA_READ;
    return NULL;
}

int cloud_is_idempotent(const char *method, const char *path)
{
    if (!method || !valid_path(path))
        return 0;
    if (is_method(method, "GET") || is_root_filter(method, path))
        return 1;
    /* Metadata writes carry the whole app object (D19), so repeating one is harmless. */
    return is_method(method, "POST") && segment_count(path) == 3 && segment_is(path, 0, "proxy") &&
           segment_is(path, 2, "metadata");
}

static int has_scope(const struct cloud_install *inst, const char *scope)
{
    for (size_t i = 0; i < inst->permission_count; i++)
        if (inst->granted_permissions[i] && strcmp(inst->granted_permissions[i], scope) == 0)
            return 1;
    return 0;
}

/* ---- request building ---- */

static int append_param(struct buf *url, char sep, const char *key, const char *value)
{
    char *k = curl_easy_escape(NULL, key, 0);
    char *v = curl_easy_escape(NULL, value, 0);
    int rc = CAPP_ENOMEM;
    if (k && v) {
        rc = buf_printf(url, "%c%s=%s", sep, k, v);
        if (rc != 0 && rc != CAPP_ENOMEM)
            rc = CAPP_ETOOBIG;
    }
    curl_free(k);
    curl_free(v);
    return rc;
}

static int build_url(const struct cloud_client *c, const struct cloud_install *inst,
                     const struct cloud_request *req, char **out)
{
    struct buf url;
    buf_init(&url, CAPP_MAX_URL_BYTES);
    int rc = buf_printf(&url, "%s%s", c->base_url, req->path);
    if (rc == 0)
        rc = append_param(&url, '?', "instance_id", inst->instance_id);
    for (const char *const *q = req->query; rc == 0 && q && q[0]; q += 2)
        rc = append_param(&url, '&', q[0], q[1]);
    if (rc != 0) {
        buf_free(&url);
        return rc == CAPP_ENOMEM ? rc : CAPP_ETOOBIG;
    }
    *out = buf_steal(&url);
    return *out ? 0 : CAPP_ENOMEM;
}

static int valid_query(const char *const *query)
{
    for (const char *const *q = query; q && q[0]; q += 2) {
        if (!q[1] || q[0][0] == '\0' || strcmp(q[0], "instance_id") == 0)
            return 0;
    }
    return 1;
}

static int valid_request_id(const char *id)
{
    return json_is_valid_id(id, CLOUD_REQUEST_ID_BYTES);
}

/* ---- one attempt ---- */

struct attempt {
    struct httpc_response resp;
    int rc;                                  /* httpc_perform's code, or a local failure */
    char snippet[CLOUD_LOG_BODY_BYTES + 16]; /* log-safe start of the body */
};

/* The first CLOUD_LOG_BODY_BYTES of the body, cut before any copy of the key. */
static void make_snippet(struct attempt *a, const char *key, size_t key_len)
{
    size_t n = a->resp.body_len < CLOUD_LOG_BODY_BYTES ? a->resp.body_len : CLOUD_LOG_BODY_BYTES;
    size_t window = a->resp.body_len < n + key_len ? a->resp.body_len : n + key_len;
    const char *hit = a->resp.body ? memmem(a->resp.body, window, key, key_len) : NULL;
    if (hit && (size_t)(hit - a->resp.body) < n) {
        n = (size_t)(hit - a->resp.body);
        memcpy(a->snippet, a->resp.body, n);
        memcpy(a->snippet + n, "[redacted]", sizeof "[redacted]");
        return;
    }
    if (n)
        memcpy(a->snippet, a->resp.body, n);
    a->snippet[n] = '\0';
}

static int key_is_header_safe(const char *key, size_t len)
{
    if (len == 0 || len > CAPP_MAX_API_KEY_BYTES)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)key[i] <= ' ' || (unsigned char)key[i] >= 0x7f)
            return 0;
    return 1;
}

static void perform_once(struct cloud_client *c, const struct cloud_install *inst,
                         const char *method, const char *url, const char *body, size_t body_len,
                         const char *request_id, struct attempt *a)
{
    memset(a, 0, sizeof *a);
    a->resp.retry_after = -1;
    char *key = NULL;
    size_t key_len = 0;
    if (seal_open(c->keyring, inst->installed_app_id, inst->sealed_api_key, &key, &key_len) != 0) {
        a->rc = CAPP_ECRYPTO;
        return;
    }
    if (!key_is_header_safe(key, key_len)) {
        seal_plain_free(key, key_len);
        a->rc = CAPP_ECRYPTO;
        return;
    }
    char auth[sizeof BEARER_PREFIX + CAPP_MAX_API_KEY_BYTES];
    memcpy(auth, BEARER_PREFIX, sizeof BEARER_PREFIX - 1);
    memcpy(auth + sizeof BEARER_PREFIX - 1, key, key_len);
    auth[sizeof BEARER_PREFIX - 1 + key_len] = '\0';
    char request_id_header[32 + CLOUD_REQUEST_ID_BYTES];
    snprintf(request_id_header, sizeof request_id_header, "X-Request-Id: %s", request_id);
    const char *headers[] = {
        auth,
        "Accept: application/json",
        c->user_agent_header,
        request_id_header,
        body ? "Content-Type: application/json" : NULL,
        NULL,
    };
    struct httpc_request hreq = {
        .method = method,
        .url = url,
        .body = body,
        .body_len = body_len,
        .headers = headers,
        .connect_timeout_ms = c->connect_timeout_ms,
        .total_timeout_ms = c->total_timeout_ms,
        .max_response = c->max_response,
    };
    a->rc = httpc_perform(c->http, &hreq, &a->resp);
    if (a->rc != 0 || a->resp.status < 200 || a->resp.status > 299)
        make_snippet(a, key, key_len);
    crypto_wipe(auth, sizeof auth);
    seal_plain_free(key, key_len);
}

/* ---- outcome ---- */

static int status_error(long status)
{
    if (status >= 200 && status <= 299)
        return 0;
    switch (status) {
    case 401:
        return CAPP_EUNAUTH;
    case 403:
        return CAPP_EPERM;
    case 404:
        return CAPP_ENOTFOUND;
    case 409:
        return CAPP_ECONFLICT;
    case 429:
        return CAPP_ERATELIMIT;
    default:
        return CAPP_EHTTP;
    }
}

static void set_message(struct cloud_result *res)
{
    switch (res->error) {
    case 0:
        snprintf(res->message, sizeof res->message, "ok");
        break;
    case CAPP_EUNAUTH:
        snprintf(res->message, sizeof res->message,
                 "Blnk Cloud rejected the install's API key (HTTP %ld)", res->status);
        break;
    case CAPP_ETIMEOUT:
        snprintf(res->message, sizeof res->message, "Blnk Cloud did not answer in time");
        break;
    case CAPP_ENETWORK:
        snprintf(res->message, sizeof res->message, "Blnk Cloud could not be reached");
        break;
    case CAPP_ECRYPTO:
        snprintf(res->message, sizeof res->message, "the install's API key cannot be opened");
        break;
    default:
        if (res->status)
            snprintf(res->message, sizeof res->message, "Blnk Cloud request failed: %s (HTTP %ld)",
                     capp_strerror(res->error), res->status);
        else
            snprintf(res->message, sizeof res->message, "Blnk Cloud request failed: %s",
                     capp_strerror(res->error));
    }
}

static int fail_local(struct cloud_result *res, int err, const char *message)
{
    res->error = err;
    snprintf(res->message, sizeof res->message, "%s", message);
    return err;
}

static long backoff_ms(struct cloud_client *c, const struct attempt *a, int retry)
{
    if (a->resp.retry_after > 0) {
        long seconds = a->resp.retry_after < CAPP_CLOUD_MAX_RETRY_AFTER_SECONDS
                           ? a->resp.retry_after
                           : CAPP_CLOUD_MAX_RETRY_AFTER_SECONDS;
        return seconds * 1000;
    }
    long ceiling = c->backoff_base_ms;
    for (int i = 1; i < retry && ceiling < c->backoff_max_ms; i++)
        ceiling *= 2;
    if (ceiling > c->backoff_max_ms)
        ceiling = c->backoff_max_ms;
    return jitter(c, ceiling);
}

static void log_outcome(const struct cloud_install *inst, const char *method, const char *path,
                        const struct cloud_result *res, const struct attempt *a)
{
    char status[16], attempts[16], elapsed[24];
    snprintf(status, sizeof status, "%ld", res->status);
    snprintf(attempts, sizeof attempts, "%d", res->attempts);
    snprintf(elapsed, sizeof elapsed, "%ld", a->resp.elapsed_ms);
    const char *prefix = inst->api_key_prefix ? inst->api_key_prefix : "-";
    if (res->error == 0) {
        log_debug("cloud.call", "req", res->request_id, "installed_app_id", inst->installed_app_id,
                  "api_key_prefix", prefix, "method", method, "path", path, "status", status,
                  "attempts", attempts, "ms", elapsed, NULL);
        return;
    }
    log_warn("cloud.call_failed", "req", res->request_id, "installed_app_id",
             inst->installed_app_id, "api_key_prefix", prefix, "method", method, "path", path,
             "status", status, "attempts", attempts, "ms", elapsed, "error",
             capp_errcode(res->error), "upstream", a->snippet, NULL);
}

/* check_scope 0: the probe, which must reach Cloud whatever the grant. retry 0: one attempt. */
static int call(struct cloud_client *c, const struct cloud_install *inst,
                const struct cloud_request *req, struct cloud_result *res, int check_scope,
                int retry)
{
    if (!res)
        return CAPP_EINVAL;
    memset(res, 0, sizeof *res);
    res->retry_after = -1;
    if (!c || !inst || !req || !req->method || !inst->installed_app_id || !inst->instance_id ||
        !inst->sealed_api_key || (inst->permission_count && !inst->granted_permissions))
        return fail_local(res, CAPP_EINVAL, "invalid Cloud request");
    const char *method = req->method;
    if (!is_method(method, "GET") && !is_method(method, "POST") && !is_method(method, "PUT") &&
        !is_method(method, "DELETE"))
        return fail_local(res, CAPP_EINVAL, "unsupported Cloud request method");
    if (!valid_path(req->path))
        return fail_local(res, CAPP_EINVAL, "invalid Cloud API path");
    if (!valid_query(req->query))
        return fail_local(res, CAPP_EINVAL, "invalid Cloud query parameters");
    if (req->request_id && !valid_request_id(req->request_id))
        return fail_local(res, CAPP_EINVAL, "invalid request id");

    const char *scope = cloud_required_scope(method, req->path);
    if (!scope)
        return fail_local(res, CAPP_EINVAL, "request outside the Cloud API permission table");
    if (check_scope && !has_scope(inst, scope)) {
        res->missing_scope = scope;
        res->error = CAPP_EPERM;
        snprintf(res->message, sizeof res->message, "the install has not granted the %s permission",
                 scope);
        log_warn("cloud.scope_missing", "installed_app_id", inst->installed_app_id,
                 "api_key_prefix", inst->api_key_prefix ? inst->api_key_prefix : "-", "method",
                 method, "path", req->path, "scope", scope, NULL);
        return CAPP_EPERM;
    }

    if (req->request_id) {
        snprintf(res->request_id, sizeof res->request_id, "%s", req->request_id);
    } else {
        uint8_t raw[CLOUD_REQUEST_ID_BYTES / 2];
        if (crypto_random(raw, sizeof raw) != 0)
            return fail_local(res, CAPP_ECRYPTO, "no randomness for a request id");
        crypto_hex_encode(raw, sizeof raw, res->request_id);
    }

    char *url = NULL;
    char *body = NULL;
    struct attempt a;
    memset(&a, 0, sizeof a);
    int rc = build_url(c, inst, req, &url);
    if (rc)
        return fail_local(res, rc,
                          rc == CAPP_ETOOBIG ? "Cloud request URL too long" : "out of memory");
    if (req->body) {
        body = json_to_string(req->body);
        if (!body) {
            free(url);
            return fail_local(res, CAPP_ENOMEM, "cannot serialise the request body");
        }
    }
    int idempotent = retry && cloud_is_idempotent(method, req->path);

    for (;;) {
        perform_once(c, inst, method, url, body, body ? strlen(body) : 0, res->request_id, &a);
        if (a.rc != CAPP_ECRYPTO)
            res->attempts++;
        res->status = a.resp.status;
        res->retry_after = a.resp.retry_after;
        if (a.rc == 0)
            res->error = status_error(a.resp.status);
        else
            res->error = a.rc;
        int transient = res->error == CAPP_ERATELIMIT || res->error == CAPP_ENETWORK ||
                        (a.rc == 0 && a.resp.status >= 500);
        if (!idempotent || !transient || res->attempts >= c->max_attempts)
            break;
        long wait = backoff_ms(c, &a, res->attempts);
        char status[16], wait_text[24], attempt_text[16];
        snprintf(status, sizeof status, "%ld", a.resp.status);
        snprintf(wait_text, sizeof wait_text, "%ld", wait);
        snprintf(attempt_text, sizeof attempt_text, "%d", res->attempts);
        log_warn("cloud.retry", "req", res->request_id, "installed_app_id", inst->installed_app_id,
                 "api_key_prefix", inst->api_key_prefix ? inst->api_key_prefix : "-", "method",
                 method, "path", req->path, "status", status, "error", capp_errcode(res->error),
                 "attempt", attempt_text, "wait_ms", wait_text, "upstream", a.snippet, NULL);
        httpc_response_free(&a.resp);
        c->sleep_ms(c->hook_ctx, wait);
    }

    if (a.rc == 0 && a.resp.body_len > 0) {
        json_error_t jerr;
        res->body = json_loadb(a.resp.body, a.resp.body_len, 0, &jerr);
        if (!res->body && res->error == 0)
            res->error = CAPP_EPARSE;
    }
    set_message(res);
    log_outcome(inst, method, req->path, res, &a);
    httpc_response_free(&a.resp);
    free(url);
    free(body);
    return res->error;
}

int cloud_call(struct cloud_client *c, const struct cloud_install *inst,
               const struct cloud_request *req, struct cloud_result *res)
{
    return call(c, inst, req, res, 1, 1);
}

int cloud_probe_key(struct cloud_client *c, const struct cloud_install *inst,
                    struct cloud_result *res)
{
    static const char *const query[] = {"pageSize", "1", NULL};
    struct cloud_request req = {.method = "GET", .path = "/data/identities", .query = query};
    int rc = call(c, inst, &req, res, 0, 0);
    /* Cloud checks the key before the instance, the scope or the route (D12): any answer it
     * gave other than 401 means it accepted the key. */
    if (res->status == 401)
        rc = CAPP_EUNAUTH;
    else if (res->status >= 200 && res->status < 500)
        rc = 0;
    else if (rc == 0)
        rc = CAPP_EHTTP;
    res->error = rc;
    return rc;
}

static int call_simple(struct cloud_client *c, const struct cloud_install *inst, const char *method,
                       const char *path, const char *const *query, const json_t *body,
                       struct cloud_result *res)
{
    struct cloud_request req = {
        .method = method, .path = path, .query = query, .body = body, .request_id = NULL};
    return cloud_call(c, inst, &req, res);
}

int cloud_get(struct cloud_client *c, const struct cloud_install *inst, const char *path,
              const char *const *query, struct cloud_result *res)
{
    return call_simple(c, inst, "GET", path, query, NULL, res);
}

int cloud_post_json(struct cloud_client *c, const struct cloud_install *inst, const char *path,
                    const char *const *query, const json_t *body, struct cloud_result *res)
{
    return call_simple(c, inst, "POST", path, query, body, res);
}

int cloud_put_json(struct cloud_client *c, const struct cloud_install *inst, const char *path,
                   const char *const *query, const json_t *body, struct cloud_result *res)
{
    return call_simple(c, inst, "PUT", path, query, body, res);
}

int cloud_delete(struct cloud_client *c, const struct cloud_install *inst, const char *path,
                 const char *const *query, struct cloud_result *res)
{
    return call_simple(c, inst, "DELETE", path, query, NULL, res);
}

void cloud_result_free(struct cloud_result *res)
{
    if (!res)
        return;
    json_decref(res->body);
    res->body = NULL;
}

/* ---- list envelopes and the end of a walk (D15, D17') ---- */

json_t *cloud_list_items(const json_t *body, const char *id_field, enum cloud_list_shape *shape,
                         long *total)
{
    enum cloud_list_shape local;
    if (!shape)
        shape = &local;
    *shape = CLOUD_LIST_NONE;
    if (total)
        *total = -1;
    if (json_is_array(body)) {
        *shape = CLOUD_LIST_ARRAY;
        return json_incref((json_t *)body);
    }
    if (!json_is_object(body))
        return NULL;
    json_t *data = json_object_get(body, "data");
    if (json_is_array(data)) {
        json_t *t = json_object_get(body, "total");
        if (total && json_is_integer(t) && json_integer_value(t) >= 0)
            *total = (long)json_integer_value(t);
        *shape = CLOUD_LIST_DATA;
        return json_incref(data);
    }
    if (data || !id_field || !json_is_string(json_object_get(body, id_field)))
        return NULL;
    json_t *one = json_array();
    if (!one || json_array_append((json_t *)one, (json_t *)body) != 0) {
        json_decref(one);
        return NULL;
    }
    *shape = CLOUD_LIST_SINGLE;
    return one;
}

int cloud_page_is_last(long prev_len, long len, long fresh)
{
    return len <= 0 || (prev_len >= 0 && len < prev_len) || fresh == 0;
}
