/*
 * httpc.h — an outbound HTTP call on libcurl with the limits every caller needs: connect and
 * total timeouts, a capped response size, and status/body/Retry-After captured for the caller.
 * One struct httpc (one curl easy handle, connections reused) per thread (STYLE rule 7).
 * Used by the Cloud client (capp/cloud.h) and by cloudsim to deliver lifecycle events.
 */
#ifndef CAPP_HTTPC_H
#define CAPP_HTTPC_H

#include <stddef.h>

struct httpc;

struct httpc_request {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *url;
    const char *body; /* NULL: no body */
    size_t body_len;
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    long connect_timeout_ms;    /* 0: CAPP_CLOUD_CONNECT_TIMEOUT_MS */
    long total_timeout_ms;      /* 0: CAPP_CLOUD_TOTAL_TIMEOUT_MS */
    size_t max_response;        /* 0: CAPP_CLOUD_MAX_RESPONSE_BYTES */
};

struct httpc_response {
    long status; /* 0 when no response arrived */
    char *body;  /* NUL-terminated, owned; free with httpc_response_free */
    size_t body_len;
    long retry_after; /* seconds from Retry-After, -1 when absent */
    char content_type[128];
    long elapsed_ms;
};

int httpc_new(struct httpc **out);
void httpc_free(struct httpc *c);
/* 0 when an HTTP response (any status) arrived; CAPP_ETIMEOUT, CAPP_ENETWORK, CAPP_ETOOBIG
 * (response over the cap) otherwise. The response is filled in either case. */
int httpc_perform(struct httpc *c, const struct httpc_request *req, struct httpc_response *resp);
void httpc_response_free(struct httpc_response *resp);

#endif
