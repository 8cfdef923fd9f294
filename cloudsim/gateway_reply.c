/*
 * gateway_reply.c — the answer, paging, body and filter helpers every data-half handler shares
 * (see gateway_reply.h). They sit apart from gateway.c, which only wires the handlers' routes,
 * so the handlers depend on these helpers and nothing depends back on a handler.
 */
#include "cloudsim/gateway_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/err.h"
#include "capp/json.h"

void gateway_reply(struct cloudsim *cs, struct http_request *req, const struct cs_principal *who,
                   unsigned status, json_t *body)
{
    if (!body) {
        status = 500;
        body = json_error_body("out_of_memory", "out of memory");
    }
    http_respond_json(req, status, body);
    cs_audit(cs, who, http_method(req), http_path(req), status);
}

void gateway_reply_error(struct cloudsim *cs, struct http_request *req,
                         const struct cs_principal *who, unsigned status, const char *code,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *body = json_error_bodyv(code, fmt, ap);
    va_end(ap);
    gateway_reply(cs, req, who, status, body);
}

void gateway_reply_core_error(struct cloudsim *cs, struct http_request *req,
                              const struct cs_principal *who, const struct core_error *err)
{
    if (!err->code) {
        struct core_error internal = {0};
        core_error_set(&internal, 500, "GEN_INTERNAL", "internal server error");
        gateway_reply(cs, req, who, 500, core_error_body(&internal));
        return;
    }
    gateway_reply(cs, req, who, err->status, core_error_body(err));
}

void gateway_reply_text(struct cloudsim *cs, struct http_request *req,
                        const struct cs_principal *who, unsigned status, const char *text)
{
    http_respond(req, status, "text/plain; charset=utf-8", text, strlen(text));
    cs_audit(cs, who, http_method(req), http_path(req), status);
}

static long long number_or(const char *s, long long def)
{
    if (!s || !*s)
        return def;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    return *end ? def : v;
}

void gateway_paging(struct http_request *req, long long def, long long *page, long long *page_size)
{
    *page = number_or(http_query(req, "page"), 1);
    if (*page < 1)
        *page = 1;
    *page_size = number_or(http_query(req, "pageSize"), def);
    if (*page_size < 1)
        *page_size = def;
    if (*page_size > CORE_MAX_PAGE_SIZE)
        *page_size = CORE_MAX_PAGE_SIZE;
    /* keep (page-1)*pageSize well inside int64 */
    if (*page > 1000000000LL)
        *page = 1000000000LL;
}

json_t *gateway_body_object(struct http_request *req)
{
    size_t len = 0;
    const char *body = http_body(req, &len);
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    if (i == len)
        return json_object();
    json_t *obj = NULL;
    struct json_error err;
    if (json_parse_object(body, len, &obj, &err) != 0)
        return NULL;
    return obj;
}

struct query_ctx {
    struct core_filter_set *set;
    const struct core_resource *res;
    enum core_dialect dialect;
    struct core_filter_error *err;
    int rc;
};

static int on_query(void *ctx, const char *key, const char *value)
{
    struct query_ctx *q = ctx;
    q->rc = core_filter_add_query(q->set, q->res, q->dialect, key, value, q->err);
    return q->rc != 0;
}

int gateway_query_filters(struct http_request *req, const struct core_resource *res,
                          enum core_dialect dialect, struct core_filter_set *set,
                          struct core_filter_error *err)
{
    struct query_ctx q = {set, res, dialect, err, 0};
    http_query_each(req, on_query, &q);
    return q.rc;
}
