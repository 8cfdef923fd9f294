/*
 * gateway_proxy.c — /proxy/<core-path> (spec §8.2): the gateway checks key, instance and scope
 * (GET needs data:read, every other method data:write), then the request is answered the way
 * Core would answer it — Core's shapes, status codes and error bodies
 * ({"error", "error_detail"}), dob as RFC 3339 midnight UTC (D18), a bare array or null for
 * lists, and the plain-text "404 page not found" for routes Core does not have.
 *
 * Routes (Core v0.15 paths): identities (create, list, get, update, delete, filter, tokenize,
 * detokenize, tokenized-fields), /{id}/metadata, ledgers, balances, transactions basics.
 * Sorting parameters are ignored: lists use the fixed order of D17.
 */
#include "cloudsim/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/err.h"
#include "cloudsim/gateway_reply.h"

#define PROXY_MAX_SEGMENTS   6
#define PROXY_UNFILTERED_MAX 100000 /* Core returns every identity when unfiltered */

struct call {
    struct cloudsim *cs;
    struct http_request *req;
    struct cs_principal who;
    sqlite3 *db;
    const char *method;
    char *seg[PROXY_MAX_SEGMENTS];
    int nseg;
};

static void not_found_route(struct call *c)
{
    gateway_reply_text(c->cs, c->req, &c->who, 404, "404 page not found");
}

static void core_fail(struct call *c, unsigned status, const char *code, const char *message)
{
    struct core_error err = {0};
    core_error_set(&err, status, code, "%s", message);
    gateway_reply_core_error(c->cs, c->req, &c->who, &err);
}

static void reply_message(struct call *c, unsigned status, const char *message)
{
    gateway_reply(c->cs, c->req, &c->who, status, json_pack("{s:s}", "message", message));
}

/* A list body: Core answers null for an empty list. */
static json_t *array_or_null(json_t *a)
{
    if (a && json_array_size(a) == 0) {
        json_decref(a);
        return json_null();
    }
    return a;
}

static void filter_error(struct call *c, const struct core_resource *res,
                         const struct core_filter_error *ferr, int json_body)
{
    struct core_error err = {0};
    if (ferr->failure == CORE_FILTER_FIELD || ferr->failure == CORE_FILTER_OPERATOR) {
        core_error_set(&err, 400, "GEN_BAD_REQUEST", "Invalid filter: %s", ferr->message);
        gateway_reply_core_error(c->cs, c->req, &c->who, &err);
        return;
    }
    if (json_body) {
        core_error_set(&err, 400, "GEN_VALIDATION_ERROR", "%s", ferr->message);
        gateway_reply_core_error(c->cs, c->req, &c->who, &err);
        return;
    }
    /* GET-list parse errors use the legacy "errors" array with capitalised keys */
    json_t *errors = json_pack("[{s:s, s:s}]", "Param", ferr->param, "Message", ferr->message);
    json_t *body = json_pack("{s:O, s:{s:s, s:s, s:O}}", "errors", errors, "error_detail", "code",
                             "GEN_VALIDATION_ERROR", "message", "invalid filter parameters",
                             "details", errors);
    json_decref(errors);
    gateway_reply(c->cs, c->req, &c->who, 400, body);
}

static long long int_or(const char *s, long long def, int *bad)
{
    if (!s)
        return def;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end) {
        if (bad)
            *bad = 1;
        return def;
    }
    return v;
}

/* GET /{resource} with Core's paging rules per resource. */
static void core_list_get(struct call *c, enum core_resource_kind kind)
{
    const struct core_resource *res = core_resource(kind);
    struct core_filter_set set;
    struct core_filter_error ferr;
    core_filter_set_init(&set);
    if (gateway_query_filters(c->req, res, CORE_DIALECT_CORE, &set, &ferr) != 0) {
        filter_error(c, res, &ferr, 0);
        core_filter_set_clear(&set);
        return;
    }
    int bad = 0;
    long long limit, offset;
    if (kind == CORE_LEDGERS) {
        limit = int_or(http_query(c->req, "limit"), 10, &bad);
        offset = int_or(http_query(c->req, "offset"), 0, &bad);
        if (bad || limit < 1 || offset < 0) {
            core_filter_set_clear(&set);
            core_fail(c, 400, "GEN_VALIDATION_ERROR", "invalid limit or offset");
            return;
        }
        if (limit > CORE_MAX_PAGE_SIZE)
            limit = CORE_MAX_PAGE_SIZE;
    } else if (kind == CORE_IDENTITIES && set.count == 0) {
        limit = PROXY_UNFILTERED_MAX; /* limit/offset read but ignored */
        offset = 0;
    } else {
        limit = int_or(http_query(c->req, "limit"), 20, NULL);
        offset = int_or(http_query(c->req, "offset"), 0, NULL);
        if (limit <= 0 || limit > CORE_MAX_PAGE_SIZE)
            limit = 20;
        if (offset < 0)
            offset = 0;
    }
    json_t *data = NULL;
    int rc = core_list(c->db, res, c->who.instance_id, &set, limit, offset, CORE_FLAVOUR_PROXY,
                       &data, NULL);
    core_filter_set_clear(&set);
    if (rc) {
        core_fail(c, 500, "GEN_INTERNAL", "internal server error");
        return;
    }
    gateway_reply(c->cs, c->req, &c->who, 200, array_or_null(data));
}

/* POST /{resource}/filter: Core's JSON filter (blnk-core-api.md §4). */
static void core_filter_post(struct call *c, enum core_resource_kind kind)
{
    const struct core_resource *res = core_resource(kind);
    json_t *body = gateway_body_object(c->req);
    if (!body) {
        core_fail(c, 400, "GEN_VALIDATION_ERROR", "invalid request body");
        return;
    }
    struct core_filter_set set;
    struct core_filter_error ferr;
    core_filter_set_init(&set);
    const json_t *logical = json_object_get(body, "logical_operator");
    if (logical && !(json_is_string(logical) && (strcmp(json_string_value(logical), "and") == 0 ||
                                                 strcmp(json_string_value(logical), "or") == 0))) {
        core_fail(c, 400, "GEN_VALIDATION_ERROR", "logical_operator must be 'and' or 'or'");
        goto out;
    }
    set.logical_or = logical && strcmp(json_string_value(logical), "or") == 0;
    if (core_filter_add_json(&set, res, CORE_DIALECT_CORE, json_object_get(body, "filters"),
                             &ferr) != 0) {
        filter_error(c, res, &ferr, 1);
        goto out;
    }
    const json_t *jl = json_object_get(body, "limit"), *jo = json_object_get(body, "offset");
    long long limit = json_is_integer(jl) ? json_integer_value(jl) : 20;
    long long offset = json_is_integer(jo) ? json_integer_value(jo) : 0;
    if (limit <= 0 || limit > CORE_MAX_PAGE_SIZE)
        limit = 20;
    if (offset < 0)
        offset = 0;
    int count = json_is_true(json_object_get(body, "include_count"));
    long long total = 0;
    json_t *data = NULL;
    int rc = core_list(c->db, res, c->who.instance_id, &set, limit, offset, CORE_FLAVOUR_PROXY,
                       &data, count ? &total : NULL);
    if (rc) {
        core_fail(c, 500, "GEN_INTERNAL", "internal server error");
        goto out;
    }
    if (!count) {
        gateway_reply(c->cs, c->req, &c->who, 200, array_or_null(data));
    } else {
        json_t *reply = json_pack("{s:o}", "data", array_or_null(data));
        if (reply && total > 0) /* Core leaves total_count out when nothing matches */
            json_object_set_new(reply, "total_count", json_integer(total));
        gateway_reply(c->cs, c->req, &c->who, 200, reply);
    }
out:
    core_filter_set_clear(&set);
    json_decref(body);
}

/* ---- identities ---- */

static void identity_get(struct call *c, const char *id)
{
    json_t *obj = NULL;
    int rc = core_get(c->db, core_resource(CORE_IDENTITIES), c->who.instance_id, id,
                      CORE_FLAVOUR_PROXY, &obj);
    if (rc == CAPP_ENOTFOUND) {
        struct core_error err = {0};
        core_error_set(&err, 404, "IDT_NOT_FOUND", "Identity with ID '%s' not found", id);
        err.details_empty_object = 1;
        gateway_reply_core_error(c->cs, c->req, &c->who, &err);
    } else if (rc) {
        core_fail(c, 500, "GEN_INTERNAL", "internal server error");
    } else {
        gateway_reply(c->cs, c->req, &c->who, 200, obj);
    }
}

static void identity_create(struct call *c)
{
    json_t *body = gateway_body_object(c->req);
    struct core_identity in;
    struct core_error err = {0};
    char dob[11], id[CORE_ID_BYTES];
    if (!body) {
        core_fail(c, 400, "GEN_MALFORMED_REQUEST", "invalid JSON body");
        return;
    }
    if (core_identity_from_json(body, &in, dob, &err) != 0 ||
        core_identity_create(c->db, c->who.instance_id, &in, id, &err) != 0) {
        gateway_reply_core_error(c->cs, c->req, &c->who, &err);
    } else {
        json_t *obj = NULL;
        core_get(c->db, core_resource(CORE_IDENTITIES), c->who.instance_id, id, CORE_FLAVOUR_PROXY,
                 &obj);
        gateway_reply(c->cs, c->req, &c->who, 201, obj);
    }
    json_decref(body);
}

static void identity_update(struct call *c, const char *id)
{
    json_t *body = gateway_body_object(c->req);
    struct core_identity in;
    struct core_error err = {0};
    char dob[11];
    if (!body) {
        core_fail(c, 400, "GEN_MALFORMED_REQUEST", "invalid JSON body");
        return;
    }
    if (core_identity_from_json(body, &in, dob, &err) != 0 ||
        core_identity_update(c->db, c->who.instance_id, id, &in, &err) != 0)
        gateway_reply_core_error(c->cs, c->req, &c->who, &err);
    else
        reply_message(c, 200, "Identity updated successfully");
    json_decref(body);
}

static void identity_delete(struct call *c, const char *id)
{
    struct core_error err = {0};
    if (core_identity_delete(c->db, c->who.instance_id, id, &err) != 0)
        gateway_reply_core_error(c->cs, c->req, &c->who, &err);
    else
        reply_message(c, 200, "Identity deleted successfully");
}

/* Reads {"fields": [...]} for tokenize/detokenize; NULL array when absent. */
static int fields_of(json_t *body, const char **fields, size_t cap, size_t *count)
{
    const json_t *a = json_object_get(body, "fields");
    *count = 0;
    if (!json_is_array(a))
        return CAPP_EPARSE;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_string(v) || *count >= cap)
            return CAPP_EPARSE;
        fields[(*count)++] = json_string_value(v);
    }
    return 0;
}

static void identity_tokenize(struct call *c, const char *id, const char *field)
{
    struct core_error err = {0};
    const char *fields[16];
    size_t count = 0;
    json_t *body = NULL;
    if (field) {
        fields[0] = field;
        count = 1;
    } else {
        body = gateway_body_object(c->req);
        if (!body || fields_of(body, fields, 16, &count) != 0) {
            json_decref(body);
            core_fail(c, 400, "GEN_MALFORMED_REQUEST", "invalid request body");
            return;
        }
        if (count == 0) {
            json_decref(body);
            core_fail(c, 400, "GEN_VALIDATION_ERROR", "at least one field must be specified");
            return;
        }
    }
    if (core_identity_tokenize(c->db, c->who.instance_id, id, fields, count, &err) != 0)
        gateway_reply_core_error(c->cs, c->req, &c->who, &err);
    else
        reply_message(c, 200,
                      field ? "Field tokenized successfully" : "Fields tokenized successfully");
    json_decref(body);
}

static void identity_detokenize_one(struct call *c, const char *id, const char *field)
{
    struct core_error err = {0};
    char *plain = NULL;
    if (core_identity_detokenize(c->db, c->who.instance_id, id, field, &plain, &err) != 0) {
        gateway_reply_core_error(c->cs, c->req, &c->who, &err);
        return;
    }
    gateway_reply(c->cs, c->req, &c->who, 200,
                  json_pack("{s:s, s:s}", "field", field, "value", plain));
    free(plain);
}

static void identity_detokenize_many(struct call *c, const char *id)
{
    struct core_error err = {0};
    const char *fields[16];
    size_t count = 0;
    json_t *body = gateway_body_object(c->req), *all = NULL;
    if (!body || (json_object_get(body, "fields") && fields_of(body, fields, 16, &count) != 0)) {
        json_decref(body);
        core_fail(c, 400, "GEN_MALFORMED_REQUEST", "invalid request body");
        return;
    }
    if (count == 0) {
        /* an empty list means every tokenized field, keyed by stored names */
        json_t *tf = NULL;
        if (core_identity_tokenized_fields(c->db, c->who.instance_id, id, &tf, &err) != 0) {
            json_decref(body);
            gateway_reply_core_error(c->cs, c->req, &c->who, &err);
            return;
        }
        all = json_incref(json_object_get(tf, "tokenized_fields"));
        json_decref(tf);
        for (size_t i = 0; i < json_array_size(all) && count < 16; i++)
            fields[count++] = json_string_value(json_array_get(all, i));
    }
    json_t *out = json_object();
    for (size_t i = 0; i < count; i++) {
        char *plain = NULL;
        if (core_identity_detokenize(c->db, c->who.instance_id, id, fields[i], &plain, &err) != 0) {
            json_decref(out);
            json_decref(all);
            json_decref(body);
            gateway_reply_core_error(c->cs, c->req, &c->who, &err);
            return;
        }
        json_object_set_new(out, fields[i], json_string(plain));
        free(plain);
    }
    gateway_reply(c->cs, c->req, &c->who, 200, json_pack("{s:o}", "fields", out));
    json_decref(all);
    json_decref(body);
}

static void identities(struct call *c)
{
    const char *m = c->method;
    if (c->nseg == 1) {
        if (strcmp(m, "POST") == 0)
            identity_create(c);
        else if (strcmp(m, "GET") == 0)
            core_list_get(c, CORE_IDENTITIES);
        else
            not_found_route(c);
        return;
    }
    const char *id = c->seg[1];
    if (c->nseg == 2) {
        if (strcmp(id, "filter") == 0 && strcmp(m, "POST") == 0)
            core_filter_post(c, CORE_IDENTITIES);
        else if (strcmp(m, "GET") == 0)
            identity_get(c, id);
        else if (strcmp(m, "PUT") == 0)
            identity_update(c, id);
        else if (strcmp(m, "DELETE") == 0)
            identity_delete(c, id);
        else
            not_found_route(c);
        return;
    }
    const char *action = c->seg[2];
    struct core_error err = {0};
    if (c->nseg == 3 && strcmp(action, "tokenized-fields") == 0 && strcmp(m, "GET") == 0) {
        json_t *out = NULL;
        if (core_identity_tokenized_fields(c->db, c->who.instance_id, id, &out, &err) != 0)
            gateway_reply_core_error(c->cs, c->req, &c->who, &err);
        else
            gateway_reply(c->cs, c->req, &c->who, 200, out);
    } else if (strcmp(action, "tokenize") == 0 && strcmp(m, "POST") == 0 && c->nseg <= 4) {
        identity_tokenize(c, id, c->nseg == 4 ? c->seg[3] : NULL);
    } else if (c->nseg == 4 && strcmp(action, "detokenize") == 0 && strcmp(m, "GET") == 0) {
        identity_detokenize_one(c, id, c->seg[3]);
    } else if (c->nseg == 3 && strcmp(action, "detokenize") == 0 && strcmp(m, "POST") == 0) {
        identity_detokenize_many(c, id);
    } else {
        not_found_route(c);
    }
}

/* ---- ledgers, balances, transactions ---- */

static void get_one(struct call *c, enum core_resource_kind kind, const char *id, const char *code,
                    const char *what)
{
    json_t *obj = NULL;
    int rc = core_get(c->db, core_resource(kind), c->who.instance_id, id, CORE_FLAVOUR_PROXY, &obj);
    if (rc == CAPP_ENOTFOUND) {
        char message[256];
        snprintf(message, sizeof message, "%s with ID '%.128s' not found", what, id);
        core_fail(c, 404, code, message);
    } else if (rc) {
        core_fail(c, 500, "GEN_INTERNAL", "internal server error");
    } else {
        gateway_reply(c->cs, c->req, &c->who, 200, obj);
    }
}

static void legacy_errors(struct call *c, const char *message)
{
    gateway_reply(c->cs, c->req, &c->who, 400, json_pack("{s:[s]}", "errors", message));
}

static void ledgers(struct call *c)
{
    const char *m = c->method;
    if (c->nseg == 1 && strcmp(m, "GET") == 0) {
        core_list_get(c, CORE_LEDGERS);
    } else if (c->nseg == 1 && strcmp(m, "POST") == 0) {
        json_t *body = gateway_body_object(c->req);
        const json_t *name = body ? json_object_get(body, "name") : NULL;
        const json_t *meta = body ? json_object_get(body, "meta_data") : NULL;
        char id[CORE_ID_BYTES];
        if (!body)
            core_fail(c, 400, "GEN_MALFORMED_REQUEST", "invalid JSON body");
        else if (!json_is_string(name) || json_string_length(name) == 0)
            legacy_errors(c, "name is required");
        else if (core_ledger_create(c->db, c->who.instance_id, json_string_value(name),
                                    json_is_object(meta) ? meta : NULL, NULL, id) != 0)
            core_fail(c, 500, "GEN_INTERNAL", "internal server error");
        else {
            json_t *obj = NULL;
            core_get(c->db, core_resource(CORE_LEDGERS), c->who.instance_id, id, CORE_FLAVOUR_PROXY,
                     &obj);
            gateway_reply(c->cs, c->req, &c->who, 201, obj);
        }
        json_decref(body);
    } else if (c->nseg == 2 && strcmp(c->seg[1], "filter") == 0 && strcmp(m, "POST") == 0) {
        core_filter_post(c, CORE_LEDGERS);
    } else if (c->nseg == 2 && strcmp(m, "GET") == 0) {
        get_one(c, CORE_LEDGERS, c->seg[1], "LGR_NOT_FOUND", "ledger");
    } else if (c->nseg == 2 && strcmp(m, "PUT") == 0) {
        json_t *body = gateway_body_object(c->req);
        const json_t *name = body ? json_object_get(body, "name") : NULL;
        if (!json_is_string(name) || json_string_length(name) == 0)
            legacy_errors(c, "name is required");
        else {
            int rc =
                core_ledger_rename(c->db, c->who.instance_id, c->seg[1], json_string_value(name));
            if (rc == CAPP_ENOTFOUND || rc == 0)
                get_one(c, CORE_LEDGERS, c->seg[1], "LGR_NOT_FOUND", "ledger");
            else
                core_fail(c, 500, "GEN_INTERNAL", "internal server error");
        }
        json_decref(body);
    } else {
        not_found_route(c);
    }
}

struct includes {
    int identity, ledger;
};

static int on_include(void *ctx, const char *key, const char *value)
{
    struct includes *inc = ctx;
    if (strcmp(key, "include") == 0) {
        inc->identity |= strcmp(value, "identity") == 0;
        inc->ledger |= strcmp(value, "ledger") == 0;
    }
    return 0;
}

static void balance_get(struct call *c, const char *id)
{
    json_t *obj = NULL;
    int rc = core_get(c->db, core_resource(CORE_BALANCES), c->who.instance_id, id,
                      CORE_FLAVOUR_PROXY, &obj);
    if (rc) {
        get_one(c, CORE_BALANCES, id, "BAL_NOT_FOUND", "balance");
        return;
    }
    struct includes inc = {0, 0};
    http_query_each(c->req, on_include, &inc);
    const char *identity_id = json_string_value(json_object_get(obj, "identity_id"));
    json_t *extra = NULL;
    if (inc.identity && identity_id && *identity_id &&
        core_get(c->db, core_resource(CORE_IDENTITIES), c->who.instance_id, identity_id,
                 CORE_FLAVOUR_PROXY, &extra) == 0)
        json_object_set_new(obj, "identity", extra);
    const char *ledger_id = json_string_value(json_object_get(obj, "ledger_id"));
    if (inc.ledger && ledger_id &&
        core_get(c->db, core_resource(CORE_LEDGERS), c->who.instance_id, ledger_id,
                 CORE_FLAVOUR_PROXY, &extra) == 0)
        json_object_set_new(obj, "ledger", extra);
    gateway_reply(c->cs, c->req, &c->who, 200, obj);
}

static void balances(struct call *c)
{
    const char *m = c->method;
    struct core_error err = {0};
    if (c->nseg == 1 && strcmp(m, "GET") == 0) {
        core_list_get(c, CORE_BALANCES);
    } else if (c->nseg == 1 && strcmp(m, "POST") == 0) {
        json_t *body = gateway_body_object(c->req);
        char id[CORE_ID_BYTES];
        if (!body) {
            core_fail(c, 400, "GEN_MALFORMED_REQUEST", "invalid JSON body");
            return;
        }
        const char *ledger_id = json_string_value(json_object_get(body, "ledger_id"));
        const char *currency = json_string_value(json_object_get(body, "currency"));
        const json_t *jp = json_object_get(body, "precision");
        const json_t *meta = json_object_get(body, "meta_data");
        if (!ledger_id || !*ledger_id || !currency || !*currency)
            legacy_errors(c, "ledger_id and currency are required");
        else if (core_balance_create(c->db, c->who.instance_id, ledger_id,
                                     json_string_value(json_object_get(body, "identity_id")),
                                     currency, json_is_number(jp) ? json_number_value(jp) : 1,
                                     json_is_object(meta) ? meta : NULL, NULL, id, &err) != 0)
            gateway_reply_core_error(c->cs, c->req, &c->who, &err);
        else {
            json_t *obj = NULL;
            core_get(c->db, core_resource(CORE_BALANCES), c->who.instance_id, id,
                     CORE_FLAVOUR_PROXY, &obj);
            gateway_reply(c->cs, c->req, &c->who, 201, obj);
        }
        json_decref(body);
    } else if (c->nseg == 2 && strcmp(c->seg[1], "filter") == 0 && strcmp(m, "POST") == 0) {
        core_filter_post(c, CORE_BALANCES);
    } else if (c->nseg == 2 && strcmp(m, "GET") == 0) {
        balance_get(c, c->seg[1]);
    } else if (c->nseg == 3 && strcmp(c->seg[2], "identity") == 0 && strcmp(m, "PUT") == 0) {
        json_t *body = gateway_body_object(c->req);
        const char *identity_id =
            body ? json_string_value(json_object_get(body, "identity_id")) : NULL;
        if (!identity_id)
            core_fail(c, 400, "GEN_MALFORMED_REQUEST", "identity_id is required");
        else if (core_balance_set_identity(c->db, c->who.instance_id, c->seg[1], identity_id,
                                           &err) != 0)
            gateway_reply_core_error(c->cs, c->req, &c->who, &err);
        else
            reply_message(c, 200, "Balance identity updated successfully");
        json_decref(body);
    } else {
        not_found_route(c);
    }
}

static void transactions(struct call *c)
{
    const char *m = c->method;
    struct core_error err = {0};
    if (c->nseg == 1 && strcmp(m, "GET") == 0) {
        core_list_get(c, CORE_TRANSACTIONS);
    } else if (c->nseg == 1 && strcmp(m, "POST") == 0) {
        json_t *body = gateway_body_object(c->req), *out = NULL;
        if (!body) {
            core_fail(c, 400, "GEN_MALFORMED_REQUEST", "invalid JSON body");
            return;
        }
        /* Cloud adds precision 100 and a reference when they are omitted (spec §8.2) */
        if (!json_object_get(body, "precision"))
            json_object_set_new(body, "precision", json_integer(100));
        if (!json_object_get(body, "reference")) {
            char uuid[CORE_UUID_BYTES], ref[64];
            core_uuid4(uuid);
            snprintf(ref, sizeof ref, "ref_%s", uuid);
            json_object_set_new(body, "reference", json_string(ref));
        }
        if (core_transaction_create(c->db, c->who.instance_id, body, &out, &err) != 0)
            gateway_reply_core_error(c->cs, c->req, &c->who, &err);
        else
            gateway_reply(c->cs, c->req, &c->who, 201, out);
        json_decref(body);
    } else if (c->nseg == 2 && strcmp(c->seg[1], "filter") == 0 && strcmp(m, "POST") == 0) {
        core_filter_post(c, CORE_TRANSACTIONS);
    } else if (c->nseg == 2 && strcmp(m, "GET") == 0) {
        get_one(c, CORE_TRANSACTIONS, c->seg[1], "TXN_NOT_FOUND", "transaction");
    } else if (c->nseg == 3 && strcmp(c->seg[1], "reference") == 0 && strcmp(m, "GET") == 0) {
        json_t *out = NULL;
        if (core_transaction_by_reference(c->db, c->who.instance_id, c->seg[2], &out) != 0)
            core_fail(c, 404, "TXN_NOT_FOUND", "transaction not found");
        else
            gateway_reply(c->cs, c->req, &c->who, 200, out);
    } else {
        not_found_route(c);
    }
}

static void metadata(struct call *c)
{
    json_t *body = gateway_body_object(c->req), *out = NULL;
    struct core_error err = {0};
    const json_t *patch = body ? json_object_get(body, "meta_data") : NULL;
    if (!json_is_object(patch)) {
        json_decref(body);
        core_fail(c, 400, "GEN_MALFORMED_REQUEST", "meta_data is required");
        return;
    }
    if (core_metadata_update(c->db, c->who.instance_id, c->seg[0], patch, &out, &err) != 0)
        gateway_reply_core_error(c->cs, c->req, &c->who, &err);
    else
        gateway_reply(c->cs, c->req, &c->who, 200, out);
    json_decref(body);
}

static void proxy_handler(struct http_request *req, void *ctx)
{
    struct call c = {.cs = ctx, .req = req, .method = http_method(req)};
    unsigned scope = strcmp(c.method, "GET") == 0 || strcmp(c.method, "HEAD") == 0
                         ? CS_SCOPE_DATA_READ
                         : CS_SCOPE_DATA_WRITE;
    if (cs_gateway_begin(c.cs, req, scope, 1, &c.who) != 0)
        return;
    c.db = cs_db(c.cs);
    char *path = http_strdup(req, http_path(req) + strlen("/proxy"));
    if (!path || !c.db) {
        core_fail(&c, 500, "GEN_INTERNAL", "internal server error");
        return;
    }
    for (char *save = NULL, *tok = strtok_r(path, "/", &save); tok;
         tok = strtok_r(NULL, "/", &save)) {
        if (c.nseg == PROXY_MAX_SEGMENTS) {
            not_found_route(&c);
            return;
        }
        c.seg[c.nseg++] = tok;
    }
    if (c.nseg == 0)
        not_found_route(&c);
    else if (strcmp(c.seg[0], "identities") == 0)
        identities(&c);
    else if (strcmp(c.seg[0], "ledgers") == 0)
        ledgers(&c);
    else if (strcmp(c.seg[0], "balances") == 0)
        balances(&c);
    else if (strcmp(c.seg[0], "transactions") == 0)
        transactions(&c);
    else if (c.nseg == 2 && strcmp(c.seg[1], "metadata") == 0 && strcmp(c.method, "POST") == 0)
        metadata(&c);
    else
        not_found_route(&c);
}

void gateway_proxy_register(struct cloudsim *cs, struct http_server *srv, int *rc)
{
    if (*rc == 0)
        *rc = http_server_route(srv, "*", "/proxy/*", proxy_handler, cs);
}
