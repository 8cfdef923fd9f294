#include "httpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "err.h"
#include "limits.h"

struct httpc {
    CURL *curl;
};

struct capture {
    struct buf body;
    int too_big;
    struct httpc_response *resp;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_ok;

static void global_init(void)
{
    global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int httpc_new(struct httpc **out)
{
    pthread_once(&global_once, global_init);
    if (!global_ok)
        return CAPP_ENETWORK;
    struct httpc *c = calloc(1, sizeof *c);
    if (!c)
        return CAPP_ENOMEM;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return CAPP_ENOMEM;
    }
    *out = c;
    return 0;
}

void httpc_free(struct httpc *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct capture *cap = userp;
    size_t n = size * nmemb;
    if (buf_append(&cap->body, data, n) != 0) {
        cap->too_big = 1;
        return 0; /* aborts the transfer */
    }
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct capture *cap = userp;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof name && strncasecmp(data, name, sizeof name - 1) == 0) {
        char value[32];
        size_t len = n - (sizeof name - 1);
        if (len >= sizeof value)
            len = sizeof value - 1;
        memcpy(value, data + sizeof name - 1, len);
        value[len] = '\0';
        char *end;
        long seconds = strtol(value, &end, 10);
        /* Only the delta-seconds form; an HTTP-date falls back to our own backoff. */
        if (end != value && seconds >= 0)
            cap->resp->retry_after = seconds;
    }
    return n;
}

int httpc_perform(struct httpc *c, const struct httpc_request *req, struct httpc_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->retry_after = -1;
    struct capture cap = {.resp = resp};
    buf_init(&cap.body, req->max_response ? req->max_response : CAPP_CLOUD_MAX_RESPONSE_BYTES);
    CURL *curl = c->curl;
    curl_easy_reset(curl);
    struct curl_slist *headers = NULL;
    int rc = 0;
    for (const char *const *h = req->headers; h && *h; h++) {
        struct curl_slist *next = curl_slist_append(headers, *h);
        if (!next) {
            rc = CAPP_ENOMEM;
            goto out;
        }
        headers = next;
    }
    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms ? req->connect_timeout_ms
                                             : (long)CAPP_CLOUD_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     req->total_timeout_ms ? req->total_timeout_ms
                                           : (long)CAPP_CLOUD_TOTAL_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &cap);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &cap);
    if (req->body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    CURLcode cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    char *ct = NULL;
    if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        snprintf(resp->content_type, sizeof resp->content_type, "%s", ct);
    curl_off_t total_us = 0;
    curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME_T, &total_us);
    resp->elapsed_ms = (long)(total_us / 1000);
    if (cap.too_big)
        rc = CAPP_ETOOBIG;
    else if (cc == CURLE_OPERATION_TIMEDOUT)
        rc = CAPP_ETIMEOUT;
    else if (cc != CURLE_OK)
        rc = CAPP_ENETWORK;
out:
    /* Header lines may carry the Authorization secret: wipe before they return to the heap. */
    for (struct curl_slist *h = headers; h; h = h->next)
        memset(h->data, 0, strlen(h->data));
    curl_slist_free_all(headers);
    resp->body_len = cap.body.len;
    resp->body = buf_steal(&cap.body);
    return rc;
}

void httpc_response_free(struct httpc_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    resp->body = NULL;
}
