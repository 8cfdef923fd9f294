#include "launch.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "clock.h"
#include "crypto.h"
#include "err.h"
#include "http.h"
#include "limits.h"
#include "log.h"

int launch_parse(const char *body, size_t len, struct launch_request *out, struct json_error *err)
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
    rc = json_read_fields(out->root, fields, sizeof fields / sizeof fields[0], err);
    if (rc)
        launch_request_free(out);
    return rc;
}

void launch_request_free(struct launch_request *r)
{
    if (r && r->root) {
        json_decref(r->root);
        r->root = NULL;
    }
}

static const char *refusal(const struct capp_app *app, const struct launch_request *lr,
                           const struct store_install *in)
{
    if (!in->active)
        return "install_inactive";
    if (strcmp(in->instance_id, lr->instance_id) != 0)
        return "instance_mismatch";
    if (strcmp(lr->app_id, app->config.app_id) != 0 || strcmp(in->app_id, lr->app_id) != 0)
        return "app_mismatch";
    if (lr->organization_id && in->organization_id[0] &&
        strcmp(in->organization_id, lr->organization_id) != 0)
        return "organization_mismatch";
    return NULL;
}

void launch_handle(struct http_request *req, void *ctx)
{
    struct capp_app *app = ctx;
    size_t len;
    const char *body = http_body(req, &len);
    struct launch_request lr;
    struct json_error err = {0};
    int rc = launch_parse(body, len, &lr, &err);
    if (rc) {
        log_warn("portal.launch", "req", http_request_id(req), "result", "bad_request", "code",
                 err.code, NULL);
        http_respond_error(req, 400, err.code, "%s", err.message);
        return;
    }
    struct store_install in;
    rc = store_install_get(app->store, lr.installed_app_id, &in);
    const char *why = rc == CAPP_ENOTFOUND ? "unknown_install"
                      : rc                 ? "store_unavailable"
                                           : refusal(app, &lr, &in);
    if (why) {
        log_warn("portal.launch", "req", http_request_id(req), "installed_app_id",
                 lr.installed_app_id, "result", why, NULL);
        if (rc && rc != CAPP_ENOTFOUND)
            http_respond_error(req, 503, why, "the install store is unavailable");
        else
            http_respond_error(req, 403, why,
                               "this install is unknown, inactive or does not match the request");
        store_install_clear(&in);
        launch_request_free(&lr);
        return;
    }
    store_install_clear(&in);

    char token[CAPP_LAUNCH_TOKEN_BYTES * 2];
    struct store_launch launch = {0};
    rc = crypto_token(CAPP_LAUNCH_TOKEN_BYTES, token);
    if (rc == 0) {
        crypto_sha256_hex(token, strlen(token), launch.token_hash);
        snprintf(launch.installed_app_id, sizeof launch.installed_app_id, "%s",
                 lr.installed_app_id);
        snprintf(launch.organization_id, sizeof launch.organization_id, "%s",
                 lr.organization_id ? lr.organization_id : in.organization_id);
        snprintf(launch.instance_id, sizeof launch.instance_id, "%s", lr.instance_id);
        snprintf(launch.user_id, sizeof launch.user_id, "%s", lr.user_id ? lr.user_id : "");
        launch.created_at_ms = clock_now_ms();
        launch.expires_at_ms = launch.created_at_ms + app->config.launch_ttl_seconds * 1000LL;
        rc = store_launch_put(app->store, &launch);
    }
    if (rc) {
        crypto_wipe(token, sizeof token);
        log_error("portal.launch", "req", http_request_id(req), "installed_app_id",
                  lr.installed_app_id, "result", "token_failed", "error", capp_strerror(rc), NULL);
        http_respond_error(req, 503, "launch_unavailable", "could not create a launch token");
        launch_request_free(&lr);
        return;
    }
    char url[1024];
    snprintf(url, sizeof url, "%s/portal?token=%s", app->public_url, token);
    crypto_wipe(token, sizeof token);
    log_info("portal.launch", "req", http_request_id(req), "installed_app_id", lr.installed_app_id,
             "user_id", lr.user_id, "result", "ok", NULL);
    launch_request_free(&lr);
    http_respond_json(req, 200, json_pack("{s:s}", "portal_url", url));
    crypto_wipe(url, sizeof url);
}
