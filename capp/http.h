/*
 * http.h — the HTTP server of every capp program (app servers, cloudsim, test servers).
 *
 * libmicrohttpd in epoll mode with a thread pool (one thread per core by default). A router maps
 * METHOD + path (exact, or prefix when the route ends in '*') to a handler. The server reads the
 * whole body first, under a hard limit (413 past it, checked on Content-Length before reading),
 * then calls the handler once with the complete request.
 *
 * A handler answers exactly once with one of the http_respond* calls. It may instead call
 * http_defer() and answer later from any thread (e.g. after a group commit): the connection is
 * suspended, the pool thread moves on, and the late http_respond* resumes it. A handler that
 * returns without answering or deferring gets a 500 and a log line.
 *
 * Every response carries X-Request-Id, X-Content-Type-Options: nosniff and, unless the handler
 * set one, Cache-Control: no-store, plus the headers registered for its path with
 * http_server_add_header (errors the server answers itself included). Request lines are logged
 * without query strings (they may carry tokens).
 *
 * The server refuses before routing: a URL (path and query) over CAPP_MAX_URL_BYTES (414), an
 * encoded NUL (%00) anywhere in the URL (400 invalid_url: it would cut the decoded path or
 * value short), a Content-Length over the body limit (413). A 405 names the allowed methods in
 * an Allow header.
 *
 * Connections (defence against slow or numerous clients, e.g. slowloris): at most
 * max_connections in all and max_connections_per_client from one IP address (more are closed
 * at accept, so one address cannot starve the others); a request head must arrive within
 * head_timeout_ms of the moment the server starts waiting for it (connection accepted, or the
 * previous response sent), and its body within body_timeout_ms of the head, however steadily
 * the client trickles bytes; past either deadline the connection is closed. An idle
 * keep-alive connection is therefore closed after head_timeout_ms.
 *
 * Ownership: a struct http_request and everything from http_alloc() belong to the server and
 * are freed when the response has been sent; strings returned by the accessors are borrowed.
 */
#ifndef CAPP_HTTP_H
#define CAPP_HTTP_H

#include <jansson.h>
#include <stddef.h>

struct http_server;
struct http_request;

typedef void (*http_handler_fn)(struct http_request *req, void *ctx);

struct http_server_config {
    const char *listen;       /* "HOST:PORT"; port 0 picks a free port (see http_server_port) */
    unsigned threads;         /* 0: one per online core */
    size_t max_body;          /* 0: CAPP_MAX_BODY_BYTES */
    const char *name;         /* for log lines */
    int quiet;                /* 1: no per-request log lines (benchmarks) */
    unsigned max_connections; /* 0: CAPP_MAX_CONNECTIONS */
    unsigned max_connections_per_client; /* 0: CAPP_MAX_CONNECTIONS_PER_CLIENT */
    unsigned head_timeout_ms;            /* 0: CAPP_HEAD_TIMEOUT_SECONDS */
    unsigned body_timeout_ms; /* 0: the head timeout + max_body at CAPP_MIN_BODY_BYTES_PER_SECOND */
};

int http_server_new(const struct http_server_config *config, struct http_server **out);
/* path may end in a star to match a prefix (e.g. "/portal/api/" + star). Routes are tried in order.
 */
int http_server_route(struct http_server *srv, const char *method, const char *path,
                      http_handler_fn fn, void *ctx);
/* Every response to path_prefix or below it (path_prefix + "/…") carries name: value unless
 * its handler set a header of that name. Call before http_server_start; strings are copied. */
int http_server_add_header(struct http_server *srv, const char *path_prefix, const char *name,
                           const char *value);
/* Handler for requests no route matches; default answers 404/405 JSON. */
void http_server_set_fallback(struct http_server *srv, http_handler_fn fn, void *ctx);
int http_server_start(struct http_server *srv);
unsigned short http_server_port(const struct http_server *srv);
/* Answers new requests 503 shutting_down, finishes in-flight ones (deferred ones included, up
 * to 30 s), then closes the listen socket and joins the threads. */
void http_server_stop(struct http_server *srv);
void http_server_free(struct http_server *srv);

/* Request accessors (borrowed strings, valid until the response is sent). */
const char *http_method(const struct http_request *req);
const char *http_path(const struct http_request *req);
const char *http_query(const struct http_request *req, const char *name);
const char *http_header(const struct http_request *req, const char *name);
const char *http_cookie(const struct http_request *req, const char *name);
const char *http_body(const struct http_request *req, size_t *len);
const char *http_request_id(const struct http_request *req);
/* Overwrites the received body with zeros (it may have carried a secret). */
void http_body_wipe(struct http_request *req);
/* Calls fn for every query argument in order; stops early when fn returns non-zero. */
int http_query_each(const struct http_request *req,
                    int (*fn)(void *ctx, const char *key, const char *value), void *ctx);
/* Per-request memory, freed with the request. NULL on exhaustion. */
void *http_alloc(struct http_request *req, size_t size);
char *http_strdup(struct http_request *req, const char *s);
/* Per-request slot for the handler's own state. */
void http_set_user(struct http_request *req, void *user);
void *http_get_user(const struct http_request *req);

/* Responses. Headers added before the respond call go out with it. */
int http_add_header(struct http_request *req, const char *name, const char *value);
void http_respond(struct http_request *req, unsigned status, const char *content_type,
                  const void *body, size_t len);
/* Takes ownership of value. */
void http_respond_json(struct http_request *req, unsigned status, json_t *value);
/* {"error": message, "code": code} */
void http_respond_error(struct http_request *req, unsigned status, const char *code,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void http_respond_redirect(struct http_request *req, unsigned status, const char *location);
/* Adds method to a comma-separated Allow header value in allow (cap bytes), once; a GET adds
 * HEAD too. For 405 answers. */
void http_allow_add(char *allow, size_t cap, const char *method);

/* Suspends the request; answer later from any thread with http_respond*. */
void http_defer(struct http_request *req);

#endif
