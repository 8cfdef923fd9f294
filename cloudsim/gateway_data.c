/*
 * gateway_data.c — Cloud's read surface: GET /data/{resource}[/{id}] (spec §8.3) and the root
 * filters POST /ledger/filter, /balances/filter, /transactions/filter, /identities/filter
 * (spec §8.4). Both need data:read and instance_id; both answer Cloud's shapes ({data,total}
 * and {data,total,stats}), Cloud's {"error","code"} errors, dob as YYYY-MM-DD (D18), and the
 * fixed order of D17. `--max-page-size` caps pageSize lower than asked (D17′). The three documented
 * extra /data resources (reconciliations, matching-rules, external-transactions) are not modelled
 * and list as empty.
 */
#include "cloudsim/gateway.h"

#include <stdio.h>
#include <string.h>

#include "capp/err.h"
#include "cloudsim/gateway_reply.h"

static const char *const empty_resources[] = {"reconciliations", "matching-rules",
                                              "external-transactions"};

static void reply_filter_error(struct cloudsim *cs, struct http_request *req,
                               const struct cs_principal *who, const struct core_filter_error *ferr)
{
    gateway_reply_error(cs, req, who, 400,
                        ferr->failure == CORE_FILTER_FIELD      ? "invalid_field"
                        : ferr->failure == CORE_FILTER_OPERATOR ? "invalid_operator"
                                                                : "invalid_filter",
                        "%s", ferr->message);
}

static void list_reply(struct cloudsim *cs, struct http_request *req,
                       const struct cs_principal *who, const struct core_resource *res,
                       const struct core_filter_set *set, int root_filter)
{
    long long page, size, total = 0;
    gateway_paging(req, res->default_page_size, &page, &size);
    if (cs_max_page_size(cs) > 0 && size > cs_max_page_size(cs))
        size = cs_max_page_size(cs); /* D17′: a Cloud that caps lower than asked */
    json_t *data = NULL;
    int rc = core_list(cs_db(cs), res, who->instance_id, set, size, (page - 1) * size,
                       CORE_FLAVOUR_DATA, &data, &total);
    if (rc) {
        gateway_reply_error(cs, req, who, 500, "internal_error", "query failed");
        return;
    }
    json_t *body = json_pack("{s:o, s:I}", "data", data, "total", (json_int_t)total);
    if (body && root_filter && res != core_resource(CORE_LEDGERS)) {
        json_object_set_new(body, "stats", json_object());
        if (res == core_resource(CORE_TRANSACTIONS)) {
            json_object_set_new(body, "total_is_estimate", json_false());
            json_object_set_new(body, "total_source", json_string("exact"));
        }
    }
    gateway_reply(cs, req, who, 200, body);
}

static void data_handler(struct http_request *req, void *ctx)
{
    struct cloudsim *cs = ctx;
    struct cs_principal who;
    if (cs_gateway_begin(cs, req, CS_SCOPE_DATA_READ, 1, &who) != 0)
        return;
    const char *rest = http_path(req) + strlen("/data/");
    char name[64];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n >= sizeof name) {
        gateway_reply_error(cs, req, &who, 404, "not_found", "no such endpoint");
        return;
    }
    snprintf(name, sizeof name, "%.*s", (int)n, rest);
    const char *id = slash ? slash + 1 : NULL;
    if (id && (!*id || strchr(id, '/'))) {
        gateway_reply_error(cs, req, &who, 404, "not_found", "no such endpoint");
        return;
    }
    const struct core_resource *res = core_resource_by_name(name);
    if (!res) {
        for (size_t i = 0; i < sizeof empty_resources / sizeof empty_resources[0]; i++)
            if (strcmp(name, empty_resources[i]) == 0 && !id) {
                gateway_reply(cs, req, &who, 200, json_pack("{s:[], s:i}", "data", "total", 0));
                return;
            }
        gateway_reply_error(cs, req, &who, 404, "not_found", "unknown resource '%s'", name);
        return;
    }
    if (id) {
        json_t *obj = NULL;
        int rc = core_get(cs_db(cs), res, who.instance_id, id, CORE_FLAVOUR_DATA, &obj);
        if (rc == CAPP_ENOTFOUND)
            gateway_reply_error(cs, req, &who, 404, "not_found", "%s '%.128s' not found",
                                res->table_name, id);
        else if (rc)
            gateway_reply_error(cs, req, &who, 500, "internal_error", "query failed");
        else
            gateway_reply(cs, req, &who, 200, obj);
        return;
    }
    struct core_filter_set set;
    struct core_filter_error ferr;
    core_filter_set_init(&set);
    if (gateway_query_filters(req, res, CORE_DIALECT_CLOUD, &set, &ferr) != 0)
        reply_filter_error(cs, req, &who, &ferr);
    else
        list_reply(cs, req, &who, res, &set, 0);
    core_filter_set_clear(&set);
}

static void root_filter(struct http_request *req, struct cloudsim *cs, enum core_resource_kind kind)
{
    struct cs_principal who;
    if (cs_gateway_begin(cs, req, CS_SCOPE_DATA_READ, 1, &who) != 0)
        return;
    const struct core_resource *res = core_resource(kind);
    json_t *body = gateway_body_object(req);
    if (!body) {
        gateway_reply_error(cs, req, &who, 400, "malformed", "body must be a JSON object");
        return;
    }
    struct core_filter_set set;
    struct core_filter_error ferr;
    core_filter_set_init(&set);
    const json_t *logical = json_object_get(body, "logical_operator");
    if (logical && !(json_is_string(logical) && (strcmp(json_string_value(logical), "and") == 0 ||
                                                 strcmp(json_string_value(logical), "or") == 0))) {
        gateway_reply_error(cs, req, &who, 400, "invalid_filter",
                            "logical_operator must be \"and\" or \"or\"");
        goto out;
    }
    set.logical_or = logical && strcmp(json_string_value(logical), "or") == 0;
    if (core_filter_add_json(&set, res, CORE_DIALECT_CLOUD, json_object_get(body, "filters"),
                             &ferr) != 0) {
        reply_filter_error(cs, req, &who, &ferr);
        goto out;
    }
    list_reply(cs, req, &who, res, &set, 1);
out:
    core_filter_set_clear(&set);
    json_decref(body);
}

static void ledger_filter(struct http_request *req, void *ctx)
{
    root_filter(req, ctx, CORE_LEDGERS);
}

static void balances_filter(struct http_request *req, void *ctx)
{
    root_filter(req, ctx, CORE_BALANCES);
}

static void transactions_filter(struct http_request *req, void *ctx)
{
    root_filter(req, ctx, CORE_TRANSACTIONS);
}

static void identities_filter(struct http_request *req, void *ctx)
{
    root_filter(req, ctx, CORE_IDENTITIES);
}

void gateway_data_register(struct cloudsim *cs, struct http_server *srv, int *rc)
{
    if (*rc == 0)
        *rc = http_server_route(srv, "GET", "/data/*", data_handler, cs);
    if (*rc == 0)
        *rc = http_server_route(srv, "POST", "/ledger/filter", ledger_filter, cs);
    if (*rc == 0)
        *rc = http_server_route(srv, "POST", "/balances/filter", balances_filter, cs);
    if (*rc == 0)
        *rc = http_server_route(srv, "POST", "/transactions/filter", transactions_filter, cs);
    if (*rc == 0)
        *rc = http_server_route(srv, "POST", "/identities/filter", identities_filter, cs);
}
