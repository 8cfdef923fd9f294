/*
 * HTTP server on libmicrohttpd. See http.h for the contract.
 *
 * Design: MHD calls on_request() several times per request — once with the headers, once per
 * body chunk, once at the end. We gather the body into a buffer with a hard maximum, then route.
 * Deferred answers use MHD's suspend/resume: the handler suspends the connection and returns,
 * whoever finishes the work stores the response and resumes it, and MHD calls on_request() once
 * more, where the stored response is queued. http_server_stop() quiesces the listener and waits
 * for every deferred request to be answered before MHD is stopped, so no acknowledged work is
 * cut off.
 */
#include "http.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "json.h"
#include "limits.h"
#include "log.h"

#define MAX_ROUTES 128
#define POOL_CHUNK 4096

struct route {
    char method[8];
    char *path;
    size_t path_len;
    int prefix;
    http_handler_fn fn;
    void *ctx;
};

struct http_server {
    struct http_server_config config;
    char *name;
    struct MHD_Daemon *daemon;
    struct route routes[MAX_ROUTES];
    int route_count;
    http_handler_fn fallback;
    void *fallback_ctx;
    unsigned short port;
    atomic_int deferred;
    atomic_int stopping; /* http_server_stop: new requests get 503 */
    struct sockaddr_storage addr;
    int ipv6;
};

struct header {
    struct header *next;
    char *name;
    char *value;
};

struct pool_chunk {
    struct pool_chunk *next;
    size_t used;
    size_t cap;
    max_align_t data[];
};

enum request_state { STATE_NEW, STATE_DEFERRED, STATE_READY, STATE_QUEUED };

struct http_request {
    struct http_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    char *path;
    struct buf body;
    int body_too_large;
    char request_id[CAPP_REQUEST_ID_MAX + 1];
    struct header *headers;
    int has_cache_control;
    struct MHD_Response *response;
    unsigned status;
    enum request_state state;
    int counted_deferred;
    struct pool_chunk *pool;
    void *user;
    struct timespec start;
};

/* ---- request memory pool ---- */

void *http_alloc(struct http_request *req, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct pool_chunk *c = req->pool;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > POOL_CHUNK ? size : POOL_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = req->pool;
        req->pool = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

char *http_strdup(struct http_request *req, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = http_alloc(req, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static void request_free(struct http_request *req)
{
    if (!req)
        return;
    if (req->response)
        MHD_destroy_response(req->response);
    buf_free(&req->body);
    while (req->pool) {
        struct pool_chunk *next = req->pool->next;
        free(req->pool);
        req->pool = next;
    }
    free(req->path);
    free(req);
}

/* ---- accessors ---- */

const char *http_method(const struct http_request *req)
{
    return req->method;
}

const char *http_path(const struct http_request *req)
{
    return req->path;
}

const char *http_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_cookie(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

const char *http_body(const struct http_request *req, size_t *len)
{
    if (len)
        *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

void http_body_wipe(struct http_request *req)
{
    crypto_wipe(req->body.data, req->body.len);
}

const char *http_request_id(const struct http_request *req)
{
    return req->request_id;
}

struct query_iter {
    int (*fn)(void *ctx, const char *key, const char *value);
    void *ctx;
    int stopped;
};

static enum MHD_Result query_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct query_iter *it = cls;
    if (it->fn(it->ctx, key, value ? value : "")) {
        it->stopped = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

int http_query_each(const struct http_request *req,
                    int (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
    struct query_iter it = {fn, ctx, 0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_visit, &it);
    return it.stopped;
}

void http_set_user(struct http_request *req, void *user)
{
    req->user = user;
}

void *http_get_user(const struct http_request *req)
{
    return req->user;
}

/* ---- responses ---- */

int http_add_header(struct http_request *req, const char *name, const char *value)
{
    struct header *h = http_alloc(req, sizeof *h);
    if (!h)
        return CAPP_ENOMEM;
    h->name = http_strdup(req, name);
    h->value = http_strdup(req, value);
    if (!h->name || !h->value)
        return CAPP_ENOMEM;
    if (strcasecmp(name, "Cache-Control") == 0)
        req->has_cache_control = 1;
    h->next = req->headers;
    req->headers = h;
    return 0;
}

static void finish(struct http_request *req)
{
    if (req->state == STATE_DEFERRED) {
        req->state = STATE_READY;
        MHD_resume_connection(req->conn);
    } else {
        req->state = STATE_READY;
    }
}

void http_respond(struct http_request *req, unsigned status, const char *content_type,
                  const void *body, size_t len)
{
    if (req->state == STATE_READY || req->state == STATE_QUEUED) {
        log_error("http.double_response", "req", req->request_id, "path", req->path, NULL);
        return;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) {
        status = 500;
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (resp) {
        if (content_type)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        MHD_add_response_header(resp, "X-Request-Id", req->request_id);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        if (!req->has_cache_control)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        for (struct header *h = req->headers; h; h = h->next)
            MHD_add_response_header(resp, h->name, h->value);
    }
    req->response = resp;
    req->status = status;
    finish(req);
}

void http_respond_json(struct http_request *req, unsigned status, json_t *value)
{
    char *text = value ? json_to_string(value) : NULL;
    json_decref(value);
    if (!text) {
        static const char oom[] = "{\"error\":\"out of memory\",\"code\":\"out_of_memory\"}";
        http_respond(req, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    http_respond(req, status, "application/json", text, strlen(text));
    free(text);
}

void http_respond_error(struct http_request *req, unsigned status, const char *code,
                        const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    http_respond_json(req, status, json_pack("{s:s, s:s}", "error", message, "code", code));
}

void http_respond_redirect(struct http_request *req, unsigned status, const char *location)
{
    http_add_header(req, "Location", location);
    http_respond(req, status, "text/plain; charset=utf-8", "", 0);
}

void http_defer(struct http_request *req)
{
    req->state = STATE_DEFERRED;
    req->counted_deferred = 1;
    atomic_fetch_add(&req->srv->deferred, 1);
    MHD_suspend_connection(req->conn);
}

/* ---- routing ---- */

int http_server_route(struct http_server *srv, const char *method, const char *path,
                      http_handler_fn fn, void *ctx)
{
    if (srv->route_count >= MAX_ROUTES || strlen(method) >= sizeof srv->routes[0].method)
        return CAPP_ETOOBIG;
    struct route *r = &srv->routes[srv->route_count];
    size_t len = strlen(path);
    r->path = strdup(path);
    if (!r->path)
        return CAPP_ENOMEM;
    r->prefix = len > 0 && path[len - 1] == '*';
    r->path_len = r->prefix ? len - 1 : len;
    strcpy(r->method, method);
    r->fn = fn;
    r->ctx = ctx;
    srv->route_count++;
    return 0;
}

void http_server_set_fallback(struct http_server *srv, http_handler_fn fn, void *ctx)
{
    srv->fallback = fn;
    srv->fallback_ctx = ctx;
}

static int path_matches(const struct route *r, const char *path)
{
    if (r->prefix)
        return strncmp(path, r->path, r->path_len) == 0;
    return strcmp(path, r->path) == 0;
}

static void dispatch(struct http_request *req)
{
    struct http_server *srv = req->srv;
    int path_seen = 0;
    for (int i = 0; i < srv->route_count; i++) {
        const struct route *r = &srv->routes[i];
        if (!path_matches(r, req->path))
            continue;
        path_seen = 1;
        if (strcmp(r->method, "*") == 0 || strcmp(r->method, req->method) == 0 ||
            (strcmp(r->method, "GET") == 0 && strcmp(req->method, "HEAD") == 0)) {
            r->fn(req, r->ctx);
            return;
        }
    }
    if (srv->fallback) {
        srv->fallback(req, srv->fallback_ctx);
    } else if (path_seen) {
        http_respond_error(req, 405, "method_not_allowed", "method %s is not allowed on %s",
                           req->method, req->path);
    } else {
        http_respond_error(req, 404, "not_found", "no such endpoint");
    }
}

/* ---- MHD glue ---- */

static void assign_request_id(struct http_request *req)
{
    const char *inbound = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (inbound && json_is_valid_id(inbound, CAPP_REQUEST_ID_MAX)) {
        snprintf(req->request_id, sizeof req->request_id, "%s", inbound);
        return;
    }
    /* Ids correlate log lines: unique, not secret (the client sees its own). One RNG call per
     * thread, not per request (that was 8% of a small request's CPU): a per-thread sequence from
     * a random start, through the splitmix64 finaliser, a bijection, so a thread never repeats
     * an id and ids of consecutive requests look unrelated. */
    static _Thread_local uint64_t sequence;
    static _Thread_local int seeded;
    if (!seeded) {
        if (crypto_random((uint8_t *)&sequence, sizeof sequence) != 0)
            sequence = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&sequence;
        seeded = 1;
    }
    uint64_t x = sequence += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    x ^= x >> 31;
    uint8_t raw[8];
    for (int i = 0; i < 8; i++)
        raw[i] = (uint8_t)(x >> (8 * i));
    crypto_hex_encode(raw, sizeof raw, req->request_id);
}

static enum MHD_Result queue(struct http_request *req)
{
    req->state = STATE_QUEUED;
    enum MHD_Result r = MHD_queue_response(req->conn, req->status, req->response);
    MHD_destroy_response(req->response);
    req->response = NULL;
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        req->srv = srv;
        req->conn = conn;
        req->method = method;
        req->path = strdup(url);
        clock_gettime(CLOCK_MONOTONIC, &req->start);
        buf_init(&req->body, srv->config.max_body);
        *con_cls = req;
        if (!req->path)
            return MHD_NO;
        assign_request_id(req);
        if (atomic_load(&srv->stopping)) {
            http_respond_error(req, 503, "shutting_down", "the server is stopping");
            return queue(req);
        }
        if (strlen(url) > CAPP_MAX_URL_BYTES) {
            http_respond_error(req, 414, "uri_too_long", "request URL exceeds %d bytes",
                               CAPP_MAX_URL_BYTES);
            return queue(req);
        }
        const char *length =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull(length, NULL, 10) > srv->config.max_body) {
            http_respond_error(req, 413, "body_too_large", "request body exceeds %zu bytes",
                               srv->config.max_body);
            return queue(req);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!req->body_too_large && buf_append(&req->body, upload_data, *upload_data_size) != 0)
            req->body_too_large = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    switch (req->state) {
    case STATE_READY:
        return queue(req);
    case STATE_DEFERRED:
        return MHD_YES; /* resumed without an answer yet: keep waiting */
    case STATE_QUEUED:
        return MHD_YES;
    case STATE_NEW:
        break;
    }
    if (req->body_too_large) {
        http_respond_error(req, 413, "body_too_large", "request body exceeds %zu bytes",
                           srv->config.max_body);
        return queue(req);
    }
    dispatch(req);
    /* A deferred request may already be answered by another thread; only the resumed call
     * may queue it (MHD orders that call after the resume), so never look at its state here. */
    if (req->counted_deferred)
        return MHD_YES;
    if (req->state == STATE_READY)
        return queue(req);
    log_error("http.no_response", "req", req->request_id, "path", req->path, NULL);
    http_respond_error(req, 500, "internal_error", "the server produced no response");
    return queue(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    if (!req)
        return;
    if (!srv->config.quiet) {
        struct timespec end;
        clock_gettime(CLOCK_MONOTONIC, &end);
        long us = (end.tv_sec - req->start.tv_sec) * 1000000L +
                  (end.tv_nsec - req->start.tv_nsec) / 1000L;
        char status[16], micros[24];
        snprintf(status, sizeof status, "%u", req->status);
        snprintf(micros, sizeof micros, "%ld", us);
        log_info("http.request", "server", srv->name, "req", req->request_id, "method", req->method,
                 "path", req->path, "status", status, "us", micros,
                 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? NULL : "terminated", "yes", NULL);
    }
    if (req->counted_deferred)
        atomic_fetch_sub(&srv->deferred, 1);
    request_free(req);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char message[256];
    vsnprintf(message, sizeof message, fmt, ap);
    size_t n = strlen(message);
    while (n && (message[n - 1] == '\n' || message[n - 1] == '\r'))
        message[--n] = '\0';
    log_warn("http.mhd", "message", message, NULL);
}

static int parse_listen(const char *listen, struct sockaddr_storage *out, int *ipv6)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host || colon == listen)
        return CAPP_EINVAL;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *h = host;
    size_t hl = strlen(h);
    if (h[0] == '[' && hl > 2 && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || colon[1] == '\0')
        return CAPP_EINVAL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *res;
    if (getaddrinfo(h, colon + 1, &hints, &res) != 0)
        return CAPP_EINVAL;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *ipv6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return 0;
}

int http_server_new(const struct http_server_config *config, struct http_server **out)
{
    struct http_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return CAPP_ENOMEM;
    srv->config = *config;
    if (!srv->config.max_body)
        srv->config.max_body = CAPP_MAX_BODY_BYTES;
    if (!srv->config.threads) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        srv->config.threads = cores > 0 ? (unsigned)cores : 1;
    }
    srv->name = strdup(config->name ? config->name : "http");
    if (!srv->name) {
        free(srv);
        return CAPP_ENOMEM;
    }
    srv->config.name = srv->name;
    int rc = parse_listen(config->listen ? config->listen : "127.0.0.1:0", &srv->addr, &srv->ipv6);
    if (rc) {
        free(srv->name);
        free(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

int http_server_start(struct http_server *srv)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (srv->ipv6)
        flags |= MHD_USE_IPv6;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&srv->addr, MHD_OPTION_THREAD_POOL_SIZE,
        srv->config.threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CAPP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)CAPP_CONNECTION_TIMEOUT_SECONDS, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CAPP_MAX_HEADER_BYTES * 2, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, MHD_OPTION_END);
    if (!srv->daemon)
        return CAPP_EIO;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    return 0;
}

unsigned short http_server_port(const struct http_server *srv)
{
    return srv->port;
}

void http_server_stop(struct http_server *srv)
{
    if (!srv || !srv->daemon)
        return;
    /* No MHD_quiesce_daemon: with a thread pool and epoll, libmicrohttpd 0.9.75 removes the
     * listen socket from each worker's epoll set both in the quiescing thread and in the
     * worker that sees the flag, and whichever loses the race aborts the process ("Failed to
     * remove listen FD from epoll set"). New requests get 503 instead while deferred ones,
     * answered by their workers, finish; MHD must not stop under them. */
    atomic_store(&srv->stopping, 1);
    for (int i = 0; i < 3000 && atomic_load(&srv->deferred) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    http_server_stop(srv);
    for (int i = 0; i < srv->route_count; i++)
        free(srv->routes[i].path);
    free(srv->name);
    free(srv);
}
