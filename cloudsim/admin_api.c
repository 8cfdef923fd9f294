/*
 * The admin API: JSON over HTTP under /admin/, used by the `cloudsim` subcommands, by tests and
 * by scripts to drive every flow without a browser (docs/cloudsim.md lists each endpoint).
 *
 * Every POST must be `Content-Type: application/json`: a cross-site form cannot send that
 * without a CORS preflight, which this server never grants, so a web page cannot drive the
 * admin API behind a developer's back. Bad input gets 400 {"error","code"} naming the field.
 *
 * Install, uninstall and launch block on the app's network answers (up to 10 s per attempt), so
 * their handlers validate the body and hand the flow to cs_flow_start() (platform_flow.c),
 * which answers from a worker thread; the HTTP pool threads never wait on the network.
 */
#include "cloudsim/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capp/assert.h"
#include "capp/err.h"
#include "capp/json.h"
#include "capp/log.h"

static int json_content_type(struct http_request *req)
{
    const char *ct = http_header(req, "Content-Type");
    if (ct && strncasecmp(ct, "application/json", 16) == 0 &&
        (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' '))
        return 1;
    http_respond_error(req, 415, "unsupported_media_type",
                       "admin requests must be sent as Content-Type: application/json");
    return 0;
}

static json_t *read_body(struct http_request *req)
{
    if (!json_content_type(req))
        return NULL;
    size_t len;
    const char *body = http_body(req, &len);
    json_t *obj = NULL;
    struct json_error err;
    if (json_parse_object(body, len, &obj, &err) != 0) {
        http_respond_error(req, 400, err.code ? err.code : "invalid_json", "%s", err.message);
        return NULL;
    }
    return obj;
}

static long query_limit(struct http_request *req)
{
    const char *s = http_query(req, "limit");
    long n = s ? strtol(s, NULL, 10) : 100;
    return n < 1 ? 1 : n > 1000 ? 1000 : n;
}

/* "faults": {"duplicate": bool, "delay_ms": int, "drop_responses": int}, over the defaults. */
static int read_faults(struct http_request *req, const json_t *body, struct cs_faults *faults)
{
    const json_t *f = json_object_get(body, "faults");
    if (!f)
        return 0;
    if (!json_is_object(f)) {
        http_respond_error(req, 400, "invalid_field", "faults must be an object");
        return -1;
    }
    int duplicate = faults->duplicate;
    long long delay = faults->delay_ms, drop = faults->drop_responses;
    struct json_field fields[] = {
        JSON_BOOLEAN("duplicate", &duplicate, 0),
        JSON_INTEGER("delay_ms", &delay, 0),
        JSON_INTEGER("drop_responses", &drop, 0),
    };
    struct json_error err;
    if (json_read_fields(f, fields, COUNTOF(fields), &err) != 0) {
        http_respond_error(req, 400, err.code, "faults: %s", err.message);
        return -1;
    }
    if (delay < 0 || delay > 60000 || drop < 0 || drop > 10) {
        http_respond_error(req, 400, "invalid_field",
                           "faults.delay_ms must be 0..60000 and faults.drop_responses 0..10");
        return -1;
    }
    faults->duplicate = duplicate;
    faults->delay_ms = (long)delay;
    faults->drop_responses = (int)drop;
    return 0;
}

/* installed_app_id, or app_id (+ instance_id) naming the live install. */
static int target_install(struct cloudsim *cs, struct http_request *req, const json_t *body,
                          char out[CS_ID_BYTES])
{
    const char *installed_app_id = NULL, *app_id = NULL, *instance_id = NULL;
    struct json_field fields[] = {
        JSON_ID("installed_app_id", &installed_app_id, 0),
        JSON_ID("app_id", &app_id, 0),
        JSON_ID("instance_id", &instance_id, 0),
    };
    struct json_error err;
    if (json_read_fields(body, fields, COUNTOF(fields), &err) != 0) {
        http_respond_error(req, 400, err.code, "%s", err.message);
        return -1;
    }
    if (installed_app_id) {
        snprintf(out, CS_ID_BYTES, "%s", installed_app_id);
        return 0;
    }
    if (!app_id) {
        http_respond_error(req, 400, "missing_field",
                           "installed_app_id (or app_id, optionally with instance_id) is required");
        return -1;
    }
    int rc = cs_find_live_install(cs, app_id, instance_id, out);
    if (rc == CAPP_ENOTFOUND) {
        http_respond_error(req, 404, "not_installed", "app %s has no active install%s%s", app_id,
                           instance_id ? " in " : "", instance_id ? instance_id : "");
        return -1;
    }
    if (rc) {
        http_respond_error(req, 500, "internal_error", "the store is unavailable");
        return -1;
    }
    return 0;
}

static void post_install(struct cloudsim *cs, struct http_request *req)
{
    json_t *body = read_body(req);
    if (!body)
        return;
    struct cs_flow *flow = cs_flow_new(cs, CS_FLOW_INSTALL);
    if (!flow) {
        json_decref(body);
        http_respond_error(req, 500, "internal_error", "out of memory");
        return;
    }
    flow->owned = body;
    struct cs_install_request *in = &flow->install;
    int all = 0, has_perms = 0;
    struct json_field fields[] = {
        JSON_ID("app_id", &in->app_id, 1),
        JSON_ID("instance_id", &in->instance_id, 0),
        JSON_ID("user_id", &in->user_id, 0),
        JSON_STRING_ARRAY("permissions", in->permissions, &in->permission_count,
                          CAPP_MAX_PERMISSIONS, CAPP_MAX_PERMISSION_BYTES, 0),
        JSON_BOOLEAN("all_permissions", &all, 0),
    };
    fields[3].present = &has_perms;
    struct json_error err;
    if (json_read_fields(body, fields, COUNTOF(fields), &err) != 0) {
        http_respond_error(req, 400, err.code, "%s", err.message);
        cs_flow_free(flow);
        return;
    }
    if (!has_perms && !all) {
        http_respond_error(req, 400, "missing_field",
                           "permissions (a subset of the manifest's) or all_permissions is "
                           "required");
        cs_flow_free(flow);
        return;
    }
    in->all_permissions = all;
    if (read_faults(req, body, &in->faults) != 0) {
        cs_flow_free(flow);
        return;
    }
    cs_flow_start(cs, req, flow);
}

static void post_uninstall_or_launch(struct cloudsim *cs, struct http_request *req,
                                     enum cs_flow_kind kind)
{
    json_t *body = read_body(req);
    if (!body)
        return;
    struct cs_flow *flow = cs_flow_new(cs, kind);
    if (!flow) {
        json_decref(body);
        http_respond_error(req, 500, "internal_error", "out of memory");
        return;
    }
    flow->owned = body;
    if (target_install(cs, req, body, flow->installed_app_id) != 0) {
        cs_flow_free(flow);
        return;
    }
    if (kind == CS_FLOW_LAUNCH) {
        const char *user_id = NULL;
        struct json_field fields[] = {JSON_ID("user_id", &user_id, 0)};
        struct json_error err;
        if (json_read_fields(body, fields, COUNTOF(fields), &err) != 0) {
            http_respond_error(req, 400, err.code, "%s", err.message);
            cs_flow_free(flow);
            return;
        }
        if (user_id)
            snprintf(flow->user_id, sizeof flow->user_id, "%s", user_id);
    } else if (kind == CS_FLOW_FORGED_UNINSTALL) {
        const json_t *payload = json_object_get(body, "payload");
        if (payload && !json_is_object(payload)) {
            http_respond_error(req, 400, "invalid_field",
                               "payload must be an object of fields to send over the "
                               "uninstall event");
            cs_flow_free(flow);
            return;
        }
        flow->overrides = payload;
    } else if (read_faults(req, body, &flow->faults) != 0) {
        cs_flow_free(flow);
        return;
    }
    cs_flow_start(cs, req, flow);
}

static void post_app(struct cloudsim *cs, struct http_request *req)
{
    json_t *manifest = read_body(req);
    if (!manifest)
        return;
    const char *org = http_query(req, "organization_id");
    char app_id[CS_ID_BYTES], message[256];
    const char *code = "invalid_manifest";
    if (cs_register_app(cs, manifest, org && *org ? org : NULL, app_id, &code, message,
                        sizeof message) != 0) {
        unsigned status = strcmp(code, "unknown_organization") == 0 ? 404
                          : strcmp(code, "internal_error") == 0     ? 500
                                                                    : 400;
        http_respond_error(req, status, code, "%s", message);
    } else {
        json_t *apps = cs_json_apps(cs, app_id);
        json_t *app = json_array_get(apps, 0);
        http_respond_json(req, 201, app ? json_incref(app) : json_pack("{s:s}", "app_id", app_id));
        json_decref(apps);
    }
    json_decref(manifest);
}

static void respond_one(struct http_request *req, json_t *rows, const char *what, const char *id)
{
    json_t *row = json_array_get(rows, 0);
    if (!row)
        http_respond_error(req, 404, "not_found", "no such %s: %s", what, id);
    else
        http_respond_json(req, 200, json_incref(row));
    json_decref(rows);
}

static void admin_dispatch(struct http_request *req, void *ctx)
{
    struct cloudsim *cs = ctx;
    const char *method = http_method(req);
    const char *path = http_path(req) + strlen("/admin/");
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    const char *filter = http_query(req, "installed_app_id");
    if (filter && !*filter)
        filter = NULL;
    if (get && strcmp(path, "state") == 0) {
        http_respond_json(req, 200, cs_json_state(cs));
    } else if (get && strcmp(path, "apps") == 0) {
        http_respond_json(req, 200, json_pack("{s:o}", "data", cs_json_apps(cs, NULL)));
    } else if (post && strcmp(path, "apps") == 0) {
        post_app(cs, req);
    } else if (get && strncmp(path, "apps/", 5) == 0 && json_is_valid_id(path + 5, 128)) {
        respond_one(req, cs_json_apps(cs, path + 5), "app", path + 5);
    } else if (get && strcmp(path, "installs") == 0) {
        http_respond_json(req, 200, json_pack("{s:o}", "data", cs_json_installs(cs, filter)));
    } else if (get && strncmp(path, "installs/", 9) == 0 && json_is_valid_id(path + 9, 128)) {
        respond_one(req, cs_json_installs(cs, path + 9), "install", path + 9);
    } else if (post && strcmp(path, "installs") == 0) {
        post_install(cs, req);
    } else if (post && strcmp(path, "uninstalls") == 0) {
        post_uninstall_or_launch(cs, req, CS_FLOW_UNINSTALL);
    } else if (post && strcmp(path, "forged-uninstalls") == 0) {
        post_uninstall_or_launch(cs, req, CS_FLOW_FORGED_UNINSTALL);
    } else if (post && strcmp(path, "launches") == 0) {
        post_uninstall_or_launch(cs, req, CS_FLOW_LAUNCH);
    } else if (get && strcmp(path, "audit") == 0) {
        http_respond_json(req, 200,
                          json_pack("{s:o}", "data", cs_json_audit(cs, filter, query_limit(req))));
    } else if (get && strcmp(path, "deliveries") == 0) {
        http_respond_json(
            req, 200, json_pack("{s:o}", "data", cs_json_deliveries(cs, filter, query_limit(req))));
    } else {
        http_respond_error(req, 404, "not_found", "no admin endpoint %s %s (see docs/cloudsim.md)",
                           method, http_path(req));
    }
}

static void healthz(struct http_request *req, void *ctx)
{
    struct cloudsim *cs = ctx;
    http_respond_json(
        req, 200,
        json_pack("{s:b, s:s}", "ok", 1, "mode", cs->config.mode == CS_MODE_V2 ? "v2" : "v1"));
}

int cs_admin_register(struct cloudsim *cs, struct http_server *srv)
{
    int rc = http_server_route(srv, "*", "/admin/*", admin_dispatch, cs);
    if (rc == 0)
        rc = http_server_route(srv, "GET", "/healthz", healthz, cs);
    return rc;
}
