/*
 * HTTP server on libmicrohttpd. See http.h for the contract.
 *
 * Design: MHD calls on_request() several times per request — once with the headers, once per
 * body chunk, once at the end. We gather the body into a buffer with a hard maximum, then route.
 * Deferred answers use MHD's suspend/resume: the handler suspends the connection and returns,
 * whoever finishes the work stores the response and resumes it, and MHD calls on_request() once
 * more, where the stored response is queued. http_server_stop() answers new requests 503 and
 * waits for every deferred request to be answered before MHD is stopped, so no acknowledged work
 * is cut off.
 *
 * Slow clients. MHD's own limits cover the count of connections (in all and per IP address,
 * checked at accept) and idleness (CONNECTION_TIMEOUT: no byte for 30 s), but a client that
 * sends one header line every few seconds is never idle and holds its connection for ever.
 * MHD 0.9.75 has no deadline for a whole request head, so we keep one per connection: the
 * connection-notify callback registers each socket with a deadline (head: from accept, or from
 * the end of the previous request on a keep-alive connection; body: from the end of the head;
 * none while a handler or the response runs), and a reaper thread shuts down (never closes)
 * the socket of any connection past its deadline. MHD sees end-of-stream on its next read and
 * closes the connection in its own thread. The registry lock is held across shutdown() and
 * MHD reports the close before it closes the descriptor, so a descriptor is never shut down
 * after it was reused.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "json.h"
#include "limits.h"
#include "log.h"

#define MAX_ROUTES       128
#define MAX_PATH_HEADERS 16
#define POOL_CHUNK       4096
#define REAPER_PERIOD_MS 100
#define MHD_LOG_PER_SEC                                                      \
    10 /* MHD log lines per second; a flood of refused sockets is summarised \
        */

struct route {
    char method[8];
    char *path;
    size_t path_len;
    int prefix;
    http_handler_fn fn;
    void *ctx;
};

struct path_header {
    char *prefix;
    size_t prefix_len;
    char *name;
    char *value;
};

/* One per TCP connection (MHD's socket context). */
struct conn_slot {
    struct conn_slot *prev, *next;
    int fd;
    _Atomic int64_t deadline_ms; /* CLOCK_MONOTONIC ms; 0: none */
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
    struct path_header path_headers[MAX_PATH_HEADERS];
    int path_header_count;
    /* connection deadlines */
    pthread_mutex_t conns_lock;
    pthread_cond_t reaper_wake;
    struct conn_slot *conns;
    pthread_t reaper;
    int reaper_running;
    int reaper_stop; /* under conns_lock */
    /* MHD log rate limit */
    pthread_mutex_t log_lock;
    int64_t log_second;
    int log_count;
    long log_suppressed;
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
    const char *method; /* NULL until MHD presents the request (its head is complete) */
    char *path;
    size_t url_bytes; /* path and query as received */
    int encoded_nul;  /* the URL held %00 */
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

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static int under_prefix(const char *path, const char *prefix, size_t prefix_len)
{
    return strncmp(path, prefix, prefix_len) == 0 &&
           (path[prefix_len] == '\0' || path[prefix_len] == '/');
}

static void add_path_headers(struct http_request *req, struct MHD_Response *resp)
{
    const struct http_server *srv = req->srv;
    for (int i = 0; i < srv->path_header_count; i++) {
        const struct path_header *ph = &srv->path_headers[i];
        if (!req->path || !under_prefix(req->path, ph->prefix, ph->prefix_len))
            continue;
        int set = 0;
        for (struct header *h = req->headers; h && !set; h = h->next)
            set = strcasecmp(h->name, ph->name) == 0;
        if (!set)
            MHD_add_response_header(resp, ph->name, ph->value);
    }
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
        add_path_headers(req, resp);
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
    va_list ap;
    va_start(ap, fmt);
    json_t *body = json_error_bodyv(code, fmt, ap);
    va_end(ap);
    http_respond_json(req, status, body);
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

static int allow_has(const char *allow, const char *method)
{
    size_t len = strlen(method);
    for (const char *p = allow; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, method, len) == 0)
            return 1;
        p += n;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return 0;
}

void http_allow_add(char *allow, size_t cap, const char *method)
{
    /* A GET route answers HEAD too (see dispatch). */
    const char *names[2] = {method, strcmp(method, "GET") == 0 ? "HEAD" : NULL};
    for (int i = 0; i < 2 && names[i]; i++) {
        size_t used = strlen(allow), len = strlen(names[i]);
        if (!allow_has(allow, names[i]) && used + len + 3 <= cap)
            snprintf(allow + used, cap - used, "%s%s", used ? ", " : "", names[i]);
    }
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
    char allow[64] = "";
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
        http_allow_add(allow, sizeof allow, r->method);
    }
    if (srv->fallback) {
        srv->fallback(req, srv->fallback_ctx);
    } else if (path_seen) {
        http_add_header(req, "Allow", allow);
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

/* ---- connection deadlines ---- */

static struct conn_slot *slot_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void set_deadline(struct MHD_Connection *conn, int64_t deadline_ms)
{
    struct conn_slot *slot = slot_of(conn);
    if (slot)
        atomic_store(&slot->deadline_ms, deadline_ms);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct conn_slot *slot = ci ? calloc(1, sizeof *slot) : NULL;
        if (!slot) {
            log_error("http.connection_untracked", "server", srv->name, NULL);
            return;
        }
        slot->fd = ci->connect_fd;
        atomic_store(&slot->deadline_ms, now_ms() + srv->config.head_timeout_ms);
        pthread_mutex_lock(&srv->conns_lock);
        slot->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = slot;
        srv->conns = slot;
        pthread_mutex_unlock(&srv->conns_lock);
        *socket_context = slot;
        return;
    }
    struct conn_slot *slot = *socket_context;
    if (!slot)
        return;
    pthread_mutex_lock(&srv->conns_lock);
    if (slot->prev)
        slot->prev->next = slot->next;
    else
        srv->conns = slot->next;
    if (slot->next)
        slot->next->prev = slot->prev;
    pthread_mutex_unlock(&srv->conns_lock);
    free(slot);
    *socket_context = NULL;
}

static void *reaper_main(void *arg)
{
    struct http_server *srv = arg;
    pthread_mutex_lock(&srv->conns_lock);
    while (!srv->reaper_stop) {
        struct timespec wake;
        clock_gettime(CLOCK_MONOTONIC, &wake);
        wake.tv_nsec += REAPER_PERIOD_MS * 1000000L;
        if (wake.tv_nsec >= 1000000000L) {
            wake.tv_sec++;
            wake.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->reaper_wake, &srv->conns_lock, &wake);
        int64_t now = now_ms();
        int closed = 0;
        for (struct conn_slot *c = srv->conns; c; c = c->next) {
            int64_t deadline = atomic_load(&c->deadline_ms);
            if (deadline && now >= deadline) {
                /* shutdown, not close: the descriptor stays MHD's until it reports the close */
                shutdown(c->fd, SHUT_RDWR);
                atomic_store(&c->deadline_ms, 0);
                closed++;
            }
        }
        if (closed) { /* logged outside the lock MHD's threads take on every accept */
            pthread_mutex_unlock(&srv->conns_lock);
            char n[16];
            snprintf(n, sizeof n, "%d", closed);
            log_warn("http.deadline_closed", "server", srv->name, "connections", n, NULL);
            pthread_mutex_lock(&srv->conns_lock);
        }
    }
    pthread_mutex_unlock(&srv->conns_lock);
    return NULL;
}

/* ---- requests ---- */

static struct http_request *request_new(struct http_server *srv, struct MHD_Connection *conn)
{
    struct http_request *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->srv = srv;
    req->conn = conn;
    clock_gettime(CLOCK_MONOTONIC, &req->start);
    buf_init(&req->body, srv->config.max_body);
    return req;
}

/* MHD's URI log callback: the request target as received, before MHD splits off the query and
 * decodes the path in place (a %00 would end the decoded path there). Its result becomes the
 * request's con_cls; MHD reports the request as completed even if it never reaches on_request. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_request *req = request_new(cls, conn);
    if (!req)
        return NULL;
    req->url_bytes = strlen(uri);
    req->encoded_nul = strstr(uri, "%00") != NULL;
    size_t path_len = strcspn(uri, "?");
    req->path = strndup(uri, path_len < CAPP_MAX_URL_BYTES ? path_len : CAPP_MAX_URL_BYTES);
    return req;
}

/* The head is complete: checks that need no body, then the body deadline. */
static enum MHD_Result begin(struct http_request *req, const char *url, const char *method)
{
    struct http_server *srv = req->srv;
    req->method = method;
    if (!req->path) /* on_uri had no memory */
        req->url_bytes = strlen(url);
    if (!req->encoded_nul) {
        /* the decoded path routes; with a %00 the raw one is kept for the log line */
        free(req->path);
        req->path = strdup(url);
    }
    if (!req->path)
        return MHD_NO;
    assign_request_id(req);
    set_deadline(req->conn, now_ms() + srv->config.body_timeout_ms);
    if (atomic_load(&srv->stopping)) {
        http_respond_error(req, 503, "shutting_down", "the server is stopping");
        return queue(req);
    }
    if (req->url_bytes > CAPP_MAX_URL_BYTES) {
        http_respond_error(req, 414, "uri_too_long", "request URL exceeds %d bytes",
                           CAPP_MAX_URL_BYTES);
        return queue(req);
    }
    if (req->encoded_nul) {
        http_respond_error(req, 400, "invalid_url", "the URL contains an encoded NUL (%%00)");
        return queue(req);
    }
    const char *length =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull(length, NULL, 10) > srv->config.max_body) {
        http_respond_error(req, 413, "body_too_large", "request body exceeds %zu bytes",
                           srv->config.max_body);
        return queue(req);
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    if (!req) {
        req = request_new(srv, conn);
        if (!req)
            return MHD_NO;
        *con_cls = req;
    }
    if (!req->method)
        return begin(req, url, method);
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
    /* The body is in: the handler and the response are not on a receive deadline (MHD's idle
     * timeout still applies to a client that stops reading). */
    set_deadline(conn, 0);
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
    /* A keep-alive connection now waits for its next head. */
    set_deadline(conn, now_ms() + srv->config.head_timeout_ms);
    if (!req)
        return;
    if (!srv->config.quiet && req->method) {
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
    /* MHD logs every socket it refuses at its limits; under a flood that would be a line per
     * connection, so at most MHD_LOG_PER_SEC a second, then one line with the count dropped. */
    struct http_server *srv = cls;
    int64_t second = now_ms() / 1000;
    long dropped = 0;
    pthread_mutex_lock(&srv->log_lock);
    if (second != srv->log_second) {
        dropped = srv->log_suppressed;
        srv->log_suppressed = 0;
        srv->log_second = second;
        srv->log_count = 0;
    }
    int over = ++srv->log_count > MHD_LOG_PER_SEC;
    if (over)
        srv->log_suppressed++;
    pthread_mutex_unlock(&srv->log_lock);
    if (dropped) {
        char n[24];
        snprintf(n, sizeof n, "%ld", dropped);
        log_warn("http.mhd_suppressed", "server", srv->name, "lines", n, NULL);
    }
    if (over)
        return;
    char message[256];
    vsnprintf(message, sizeof message, fmt, ap);
    size_t n = strlen(message);
    while (n && (message[n - 1] == '\n' || message[n - 1] == '\r'))
        message[--n] = '\0';
    log_warn("http.mhd", "server", srv->name, "message", message, NULL);
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
    struct http_server_config *c = &srv->config;
    if (!c->max_body)
        c->max_body = CAPP_MAX_BODY_BYTES;
    if (!c->threads) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        c->threads = cores > 0 ? (unsigned)cores : 1;
    }
    if (!c->max_connections)
        c->max_connections = CAPP_MAX_CONNECTIONS;
    if (!c->max_connections_per_client)
        c->max_connections_per_client = CAPP_MAX_CONNECTIONS_PER_CLIENT;
    if (!c->head_timeout_ms)
        c->head_timeout_ms = CAPP_HEAD_TIMEOUT_SECONDS * 1000;
    if (!c->body_timeout_ms)
        c->body_timeout_ms =
            c->head_timeout_ms + (unsigned)(c->max_body * 1000 / CAPP_MIN_BODY_BYTES_PER_SECOND);
    srv->name = strdup(config->name ? config->name : "http");
    if (!srv->name) {
        free(srv);
        return CAPP_ENOMEM;
    }
    c->name = srv->name;
    int rc = parse_listen(config->listen ? config->listen : "127.0.0.1:0", &srv->addr, &srv->ipv6);
    if (rc) {
        free(srv->name);
        free(srv);
        return rc;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->reaper_wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&srv->conns_lock, NULL);
    pthread_mutex_init(&srv->log_lock, NULL);
    *out = srv;
    return 0;
}

int http_server_add_header(struct http_server *srv, const char *path_prefix, const char *name,
                           const char *value)
{
    if (srv->path_header_count >= MAX_PATH_HEADERS)
        return CAPP_ETOOBIG;
    struct path_header *ph = &srv->path_headers[srv->path_header_count];
    ph->prefix = strdup(path_prefix);
    ph->name = strdup(name);
    ph->value = strdup(value);
    if (!ph->prefix || !ph->name || !ph->value) {
        free(ph->prefix);
        free(ph->name);
        free(ph->value);
        memset(ph, 0, sizeof *ph);
        return CAPP_ENOMEM;
    }
    ph->prefix_len = strlen(path_prefix);
    srv->path_header_count++;
    return 0;
}

/* Each connection is a descriptor: a soft limit of 1024 (the usual default) would refuse
 * accepts, and database opens, before the connection limit is reached. */
static void raise_fd_limit(rlim_t wanted)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= wanted)
        return;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < wanted ? rl.rlim_max : wanted;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_warn("http.fd_limit", "message", "could not raise the open-file limit", NULL);
}

static void stop_reaper(struct http_server *srv);

int http_server_start(struct http_server *srv)
{
    const struct http_server_config *c = &srv->config;
    raise_fd_limit((rlim_t)c->max_connections + 256);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (srv->ipv6)
        flags |= MHD_USE_IPv6;
    srv->reaper_stop = 0;
    if (pthread_create(&srv->reaper, NULL, reaper_main, srv) != 0)
        return CAPP_EIO;
    srv->reaper_running = 1;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&srv->addr, MHD_OPTION_THREAD_POOL_SIZE,
        c->threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, srv, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv, MHD_OPTION_CONNECTION_LIMIT,
        c->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->max_connections_per_client,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CAPP_CONNECTION_TIMEOUT_SECONDS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CAPP_MAX_HEADER_BYTES * 2,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, MHD_OPTION_END);
    if (!srv->daemon) {
        stop_reaper(srv);
        return CAPP_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    return 0;
}

unsigned short http_server_port(const struct http_server *srv)
{
    return srv->port;
}

static void stop_reaper(struct http_server *srv)
{
    if (!srv->reaper_running)
        return;
    pthread_mutex_lock(&srv->conns_lock);
    srv->reaper_stop = 1;
    pthread_cond_signal(&srv->reaper_wake);
    pthread_mutex_unlock(&srv->conns_lock);
    pthread_join(srv->reaper, NULL);
    srv->reaper_running = 0;
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
    /* after MHD: every connection has been reported closed, the registry is empty */
    stop_reaper(srv);
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    http_server_stop(srv);
    for (int i = 0; i < srv->route_count; i++)
        free(srv->routes[i].path);
    for (int i = 0; i < srv->path_header_count; i++) {
        free(srv->path_headers[i].prefix);
        free(srv->path_headers[i].name);
        free(srv->path_headers[i].value);
    }
    pthread_cond_destroy(&srv->reaper_wake);
    pthread_mutex_destroy(&srv->conns_lock);
    pthread_mutex_destroy(&srv->log_lock);
    free(srv->name);
    free(srv);
}
