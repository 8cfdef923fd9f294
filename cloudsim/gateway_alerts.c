/*
 * gateway_alerts.c — Cloud's alerts API (spec §8.5, D14, D15): create and update flags, read
 * one or a page, and the organization's custom statuses. GET /alerts answers in the envelope
 * --alerts-list picks (D15, D17′: {data,total} paged, a bare array paged, or every alert
 * unpaged), its pageSize capped by --max-page-size. instance_id is optional here (D14):
 * the front door rejects a mismatch, and alerts are always scoped to the key's organization
 * and instance. Create answers 201, everything else 200; errors are {"error","code"}.
 */
#include "cloudsim/gateway.h"

#include <stdio.h>
#include <string.h>

#include "capp/err.h"
#include "cloudsim/gateway_reply.h"
#include "cloudsim/core_alerts.h"

static void reply_store_error(struct cloudsim *cs, struct http_request *req,
                              const struct cs_principal *who, const struct core_error *err)
{
    if (err->code)
        gateway_reply_error(cs, req, who, err->status, err->code, "%s", err->message);
    else
        gateway_reply_error(cs, req, who, 500, "internal_error", "internal error");
}

/* Optional string field: 0 ok (absent → NULL), -1 present but not a string. */
static int opt_string(const json_t *body, const char *name, const char **out)
{
    const json_t *v = json_object_get(body, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

static json_t *body_or_reply(struct cloudsim *cs, struct http_request *req,
                             const struct cs_principal *who)
{
    json_t *body = gateway_body_object(req);
    if (!body)
        gateway_reply_error(cs, req, who, 400, "malformed", "body must be a JSON object");
    return body;
}

static void flag_handler(struct http_request *req, void *ctx)
{
    struct cloudsim *cs = ctx;
    struct cs_principal who;
    if (cs_gateway_begin(cs, req, CS_SCOPE_ALERTS_WRITE, 0, &who) != 0)
        return;
    const char *id = http_path(req) + strlen("/alerts/flag/");
    if (!*id || strchr(id, '/')) {
        gateway_reply_error(cs, req, &who, 404, "not_found", "no such endpoint");
        return;
    }
    json_t *body = body_or_reply(cs, req, &who), *out = NULL;
    if (!body)
        return;
    const char *title, *description, *status = NULL;
    struct core_error err = {0};
    int is_create = strcmp(http_method(req), "POST") == 0;
    if (opt_string(body, "title", &title) || opt_string(body, "description", &description) ||
        opt_string(body, "status", &status)) {
        gateway_reply_error(cs, req, &who, 400, "invalid_field",
                            "title, description and status must be strings");
    } else if (is_create) {
        if (cs_alert_create(cs_db(cs), who.organization_id, who.instance_id, id, title, description,
                            &out, &err) != 0)
            reply_store_error(cs, req, &who, &err);
        else
            gateway_reply(cs, req, &who, 201, out);
    } else {
        if (cs_alert_update(cs_db(cs), who.organization_id, who.instance_id, id, title, description,
                            status, &out, &err) != 0)
            reply_store_error(cs, req, &who, &err);
        else
            gateway_reply(cs, req, &who, 200, out);
    }
    json_decref(body);
}

static void list_handler(struct http_request *req, void *ctx)
{
    struct cloudsim *cs = ctx;
    struct cs_principal who;
    if (cs_gateway_begin(cs, req, CS_SCOPE_ALERTS_READ, 0, &who) != 0)
        return;
    long long page, size, total = 0;
    gateway_paging(req, 20, &page, &size);
    if (cs_max_page_size(cs) > 0 && size > cs_max_page_size(cs))
        size = cs_max_page_size(cs);
    int unpaged = cs_alerts_list_mode(cs) == CS_ALERTS_UNPAGED;
    json_t *data = NULL;
    if (cs_alert_list(cs_db(cs), who.organization_id, who.instance_id, unpaged ? -1 : size,
                      unpaged ? 0 : (page - 1) * size, &data, &total) != 0)
        gateway_reply_error(cs, req, &who, 500, "internal_error", "query failed");
    else if (cs_alerts_list_mode(cs) == CS_ALERTS_ARRAY)
        gateway_reply(cs, req, &who, 200, data);
    else
        gateway_reply(cs, req, &who, 200,
                      json_pack("{s:o, s:I}", "data", data, "total", (json_int_t)total));
}

static void get_handler(struct http_request *req, void *ctx)
{
    struct cloudsim *cs = ctx;
    struct cs_principal who;
    if (cs_gateway_begin(cs, req, CS_SCOPE_ALERTS_READ, 0, &who) != 0)
        return;
    const char *id = http_path(req) + strlen("/alerts/");
    json_t *out = NULL;
    struct core_error err = {0};
    if (!*id || strchr(id, '/'))
        gateway_reply_error(cs, req, &who, 404, "not_found", "no such endpoint");
    else if (cs_alert_get(cs_db(cs), who.organization_id, who.instance_id, id, &out, &err) != 0)
        reply_store_error(cs, req, &who, &err);
    else
        gateway_reply(cs, req, &who, 200, out);
}

static void statuses_handler(struct http_request *req, void *ctx)
{
    struct cloudsim *cs = ctx;
    struct cs_principal who;
    int is_get = strcmp(http_method(req), "GET") == 0;
    if (cs_gateway_begin(cs, req, is_get ? CS_SCOPE_ALERTS_READ : CS_SCOPE_ALERTS_WRITE, 0, &who) !=
        0)
        return;
    json_t *out = NULL;
    struct core_error err = {0};
    if (is_get) {
        if (cs_alert_status_list(cs_db(cs), who.organization_id, &out) != 0)
            gateway_reply_error(cs, req, &who, 500, "internal_error", "query failed");
        else
            gateway_reply(cs, req, &who, 200, out);
        return;
    }
    json_t *body = body_or_reply(cs, req, &who);
    if (!body)
        return;
    const char *name, *colour, *key;
    if (opt_string(body, "name", &name) || opt_string(body, "colour", &colour) ||
        opt_string(body, "key", &key))
        gateway_reply_error(cs, req, &who, 400, "invalid_field",
                            "name, colour and key must be strings");
    else if (cs_alert_status_create(cs_db(cs), who.organization_id, name, colour, key, &out,
                                    &err) != 0)
        reply_store_error(cs, req, &who, &err);
    else
        gateway_reply(cs, req, &who, 201, out);
    json_decref(body);
}

static void status_handler(struct http_request *req, void *ctx)
{
    struct cloudsim *cs = ctx;
    struct cs_principal who;
    if (cs_gateway_begin(cs, req, CS_SCOPE_ALERTS_WRITE, 0, &who) != 0)
        return;
    const char *key = http_path(req) + strlen("/alerts/statuses/");
    struct core_error err = {0};
    if (!*key || strchr(key, '/') || strlen(key) > CS_ALERT_MAX_STATUS_NAME) {
        gateway_reply_error(cs, req, &who, 404, "not_found", "no such status");
        return;
    }
    if (strcmp(http_method(req), "DELETE") == 0) {
        if (cs_alert_status_delete(cs_db(cs), who.organization_id, key, &err) != 0)
            reply_store_error(cs, req, &who, &err);
        else
            gateway_reply(cs, req, &who, 200, json_pack("{s:s}", "message", "Status deleted"));
        return;
    }
    json_t *body = body_or_reply(cs, req, &who), *out = NULL;
    if (!body)
        return;
    const char *name, *colour;
    if (opt_string(body, "name", &name) || opt_string(body, "colour", &colour))
        gateway_reply_error(cs, req, &who, 400, "invalid_field", "name and colour must be strings");
    else if (cs_alert_status_update(cs_db(cs), who.organization_id, key, name, colour, &out,
                                    &err) != 0)
        reply_store_error(cs, req, &who, &err);
    else
        gateway_reply(cs, req, &who, 200, out);
    json_decref(body);
}

void gateway_alerts_register(struct cloudsim *cs, struct http_server *srv, int *rc)
{
    static const struct {
        const char *method, *path;
        http_handler_fn fn;
    } routes[] = {
        {"GET", "/alerts", list_handler},
        {"GET", "/alerts/statuses", statuses_handler},
        {"POST", "/alerts/statuses", statuses_handler},
        {"PUT", "/alerts/statuses/*", status_handler},
        {"DELETE", "/alerts/statuses/*", status_handler},
        {"POST", "/alerts/flag/*", flag_handler},
        {"PUT", "/alerts/flag/*", flag_handler},
        {"GET", "/alerts/*", get_handler},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0] && *rc == 0; i++)
        *rc = http_server_route(srv, routes[i].method, routes[i].path, routes[i].fn, cs);
}
