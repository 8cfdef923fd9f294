#include "portal_generator.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "clock.h"
#include "crypto.h"
#include "assert.h"
#include "err.h"
#include "health.h"
#include "http.h"
#include "limits.h"
#include "log.h"

int portal_generator_parse(const char *body, size_t len, struct portal_generator_request *out,
                           struct json_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = json_parse_object(body, len, &out->root, err);
    if (rc)
        return rc;
    struct json_field fields[] = {
        JSON_ID("installed_app_id", &out->installed_app_id, 1),
        JSON_ID("app_id", &out->app_id, 1),
        JSON_ID("organization_id", &out->organization_id, 0),
        JSON_ID("instance_id", &out->instance_id, 1),
        JSON_ID("user_id", &out->user_id, 0),
    };
    rc = json_read_fields(out->root, fields, COUNTOF(fields), err);
    if (rc)
        portal_generator_request_free(out);
    return rc;
}

void portal_generator_request_free(struct portal_generator_request *r)
{
    if (r && r->root) {
        json_decref(r->root);
        r->root = NULL;
    }
}

/* What a launch asked for, kept with the request until the store answers (the parsed JSON is
 * freed before a deferred answer). */
struct launch_call {
    struct http_request *req;
    struct capp_app *app;
    int app_is_pinned; /* the request's app_id is the pinned one */
    char app_id[STORE_ID_CAP];
    struct store_launch launch; /* its organization_id and user_id are "" when absent */
    char token[CAPP_LAUNCH_TOKEN_BYTES * 2];
};

/*
 * Token randomness is drawn from the CSPRNG a batch per thread at a time: OpenSSL's per-call
 * cost (DRBG lookup, fork check, re-keying after every generate) was 9% of the generator's CPU
 * for 32 bytes and is about the same for 1 KB. The bytes are the same CSPRNG output a single
 * call would give; each token's bytes are wiped as they are taken, and a forked child drops
 * the batch it inherited (only the forking thread exists there), so no two processes ever hand
 * out the same token.
 */
#define TOKEN_BATCH 32
_Static_assert(CAPP_LAUNCH_TOKEN_BYTES * 2 > (CAPP_LAUNCH_TOKEN_BYTES * 4 + 2) / 3,
               "a token's base64url text fits the handler's buffer");

struct token_batch {
    uint8_t bytes[TOKEN_BATCH * CAPP_LAUNCH_TOKEN_BYTES];
    size_t left; /* tokens not yet taken, at the end of bytes */
};

static _Thread_local struct token_batch batch;
static pthread_once_t batch_once = PTHREAD_ONCE_INIT;

static void batch_drop_in_child(void)
{
    crypto_wipe(&batch, sizeof batch);
}

static void batch_register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, batch_drop_in_child);
}

static int launch_token(char out[CAPP_LAUNCH_TOKEN_BYTES * 2])
{
    pthread_once(&batch_once, batch_register_fork_handler);
    if (batch.left == 0) {
        int rc = crypto_random(batch.bytes, sizeof batch.bytes);
        if (rc) {
            crypto_wipe(&batch, sizeof batch);
            return rc;
        }
        batch.left = TOKEN_BATCH;
    }
    uint8_t *raw = batch.bytes + (TOKEN_BATCH - batch.left) * CAPP_LAUNCH_TOKEN_BYTES;
    batch.left--;
    crypto_b64url_encode(raw, CAPP_LAUNCH_TOKEN_BYTES, out);
    crypto_wipe(raw, CAPP_LAUNCH_TOKEN_BYTES);
    return 0;
}

/* 1 when s can go into a JSON string as it is: printable ASCII without quote or backslash. */
static int json_plain(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\')
            return 0;
    return 1;
}

/* {"portal_url": url}. Written directly when nothing needs escaping (the token is base64url and
 * public_url is plain in every sane configuration): json_pack and json_dumps cost the generator
 * more than its whole token store. Anything else takes jansson's escaping. */
static void respond_portal_url(struct http_request *req, const char *url)
{
    char body[1100];
    int n = json_plain(url) ? snprintf(body, sizeof body, "{\"portal_url\":\"%s\"}", url) : -1;
    if (n > 0 && (size_t)n < sizeof body)
        http_respond(req, 200, "application/json", body, (size_t)n);
    else
        http_respond_json(req, 200, json_pack("{s:s}", "portal_url", url));
    crypto_wipe(body, sizeof body);
}

static void launch_done(void *ctx, int rc, const struct store_install *in, int minted)
{
    struct launch_call *call = ctx;
    struct http_request *req = call->req;
    const char *id = call->launch.installed_app_id;
    const char *why = NULL; /* rc with an install: read, but the token was not stored */
    if (rc == CAPP_ENOTFOUND && !in)
        why = "unknown_install";
    else if (rc && !in)
        why = health_database_lost(rc) ? "database_unavailable" : "store_unavailable";
    else if (rc == 0)
        why = store_launch_refusal(in, &call->launch, call->app_is_pinned ? call->app_id : NULL);
    if (why) {
        crypto_wipe(call->token, sizeof call->token);
        log_warn("portal.launch", "req", http_request_id(req), "installed_app_id", id, "app_id",
                 call->app_id, "result", why, NULL);
        if (health_database_lost(rc))
            health_respond_database_unavailable(req);
        else if (rc && rc != CAPP_ENOTFOUND)
            http_respond_error(req, 503, why, "the install store is unavailable");
        else
            http_respond_error(req, 403, why,
                               "this install is unknown, inactive or does not match the request");
        return;
    }
    /* Allowed by store_launch_refusal() and not stored: the store failed (on PostgreSQL its
     * guard is the same rule in SQL), so the launch has no token. */
    if (rc == 0 && !minted)
        rc = CAPP_EDB;
    if (rc) {
        crypto_wipe(call->token, sizeof call->token);
        log_error("portal.launch", "req", http_request_id(req), "installed_app_id", id, "result",
                  "token_failed", "error", capp_strerror(rc), NULL);
        if (health_database_lost(rc))
            health_respond_database_unavailable(req);
        else
            http_respond_error(req, 503, "launch_unavailable", "could not create a launch token");
        return;
    }
    char url[1024];
    snprintf(url, sizeof url, "%s/portal?token=%s", call->app->public_url, call->token);
    crypto_wipe(call->token, sizeof call->token);
    log_info("portal.launch", "req", http_request_id(req), "installed_app_id", id, "user_id",
             call->launch.user_id[0] ? call->launch.user_id : NULL, "result", "ok", NULL);
    respond_portal_url(req, url);
    crypto_wipe(url, sizeof url);
}

void portal_generator_handle(struct http_request *req, void *ctx)
{
    struct capp_app *app = ctx;
    size_t len;
    const char *body = http_body(req, &len);
    struct portal_generator_request lr;
    struct json_error err = {0};
    int rc = portal_generator_parse(body, len, &lr, &err);
    if (rc) {
        log_warn("portal.launch", "req", http_request_id(req), "result", "bad_request", "code",
                 err.code, NULL);
        http_respond_error(req, 400, err.code, "%s", err.message);
        return;
    }
    /* Until the first install pins the app (spec D1') no install can exist: say so. */
    const char *pinned = app_pin_get(&app->pin);
    if (!pinned) {
        log_warn("portal.launch", "req", http_request_id(req), "installed_app_id",
                 lr.installed_app_id, "app_id", lr.app_id, "result", "app_not_pinned", NULL);
        http_respond_error(req, 403, "app_not_pinned",
                           "no install has reached this server yet, so it serves no app; "
                           "install the app in Blnk Cloud first");
        portal_generator_request_free(&lr);
        return;
    }
    /* A store that batches launches (PostgreSQL) answers from its own thread, after this
     * returns: the call then lives with the request. Otherwise it is answered before. */
    int defers = store_launch_mint_defers(app->store);
    struct launch_call local, *call = defers ? http_alloc(req, sizeof *call) : &local;
    if (!call) {
        portal_generator_request_free(&lr);
        http_respond_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    memset(call, 0, sizeof *call);
    call->req = req;
    call->app = app;
    call->app_is_pinned = strcmp(lr.app_id, pinned) == 0;
    snprintf(call->app_id, sizeof call->app_id, "%s", lr.app_id);
    /* The token is drawn before the install is read: the store reads and stores in one step. */
    struct store_launch *launch = &call->launch;
    rc = launch_token(call->token);
    if (rc == 0)
        crypto_sha256_hex(call->token, strlen(call->token), launch->token_hash);
    snprintf(launch->installed_app_id, sizeof launch->installed_app_id, "%s", lr.installed_app_id);
    snprintf(launch->organization_id, sizeof launch->organization_id, "%s",
             lr.organization_id ? lr.organization_id : "");
    snprintf(launch->instance_id, sizeof launch->instance_id, "%s", lr.instance_id);
    snprintf(launch->user_id, sizeof launch->user_id, "%s", lr.user_id ? lr.user_id : "");
    launch->created_at_ms = clock_now_ms();
    launch->expires_at_ms = launch->created_at_ms + app->config.launch_ttl_seconds * 1000LL;
    portal_generator_request_free(&lr);
    if (rc) {
        crypto_wipe(call->token, sizeof call->token);
        log_error("portal.launch", "req", http_request_id(req), "installed_app_id",
                  launch->installed_app_id, "result", "token_failed", "error", capp_strerror(rc),
                  NULL);
        http_respond_error(req, 503, "launch_unavailable", "could not create a launch token");
        return;
    }
    /* This pool thread moves on to the next request while the store batches this one. */
    if (defers)
        http_defer(req);
    rc = store_launch_mint(app->store, launch, call->app_is_pinned ? call->app_id : NULL,
                           launch_done, call);
    if (rc)
        launch_done(call, rc, NULL, 0);
}
