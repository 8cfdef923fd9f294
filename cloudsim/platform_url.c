/*
 * URL parsing (libcurl's URL API) and CSP frame-ancestors matching.
 *
 * The frame-ancestors matcher is hand-written because no Debian-packaged library evaluates CSP
 * source lists; it implements the subset of CSP Level 3 §6.7.2 that frame-ancestors uses
 * (no nonces or hashes apply there).
 */
#include "cloudsim/platform_url.h"

#include <curl/curl.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capp/err.h"

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static int default_port(const char *scheme)
{
    return strcmp(scheme, "https") == 0 ? 443 : 80;
}

static int is_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
           strncmp(host, "127.", 4) == 0;
}

int cs_url_parse(const char *url, struct cs_url *out)
{
    memset(out, 0, sizeof *out);
    if (!url || !*url || strlen(url) >= sizeof out->without_query)
        return CAPP_EINVAL;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return CAPP_EINVAL;
    CURLU *u = curl_url();
    if (!u)
        return CAPP_ENOMEM;
    char *scheme = NULL, *host = NULL, *path = NULL, *port = NULL;
    int rc = CAPP_EINVAL;
    /* No CURLU_GUESS_SCHEME / DEFAULT_SCHEME: a relative or scheme-less URL is refused. */
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        goto out;
    if (strlen(scheme) >= sizeof out->scheme || strlen(host) + 1 >= sizeof out->host)
        goto out;
    snprintf(out->scheme, sizeof out->scheme, "%s", scheme);
    lower(out->scheme);
    if (strcmp(out->scheme, "http") != 0 && strcmp(out->scheme, "https") != 0)
        goto out;
    const char *h = host;
    size_t hl = strlen(h);
    if (hl == 0)
        goto out;
    if (h[0] == '[' && h[hl - 1] == ']')
        snprintf(out->host, sizeof out->host, "%.*s", (int)(hl - 2), h + 1);
    else
        snprintf(out->host, sizeof out->host, "%s", h);
    lower(out->host);
    out->port = default_port(out->scheme);
    int explicit_port = 0;
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port) {
        out->port = atoi(port);
        explicit_port = out->port != default_port(out->scheme);
    }
    int v6 = strchr(out->host, ':') != NULL;
    char port_text[16] = "";
    if (explicit_port)
        snprintf(port_text, sizeof port_text, ":%d", out->port);
    snprintf(out->origin, sizeof out->origin, "%s://%s%s%s%s", out->scheme, v6 ? "[" : "",
             out->host, v6 ? "]" : "", port_text);
    snprintf(out->without_query, sizeof out->without_query, "%s%s", out->origin,
             path && *path ? path : "/");
    out->loopback = is_loopback(out->host);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(path);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

int cs_url_secure_enough(const struct cs_url *u)
{
    return strcmp(u->scheme, "https") == 0 || u->loopback;
}

/* host-source host part: "*.example.com" matches subdomains only; otherwise exact. */
static int host_matches(const char *pattern, size_t len, const char *host)
{
    if (len >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        size_t suffix = len - 1; /* ".example.com" */
        size_t hl = strlen(host);
        return hl > suffix && strncasecmp(host + hl - suffix, pattern + 1, suffix) == 0;
    }
    return strlen(host) == len && strncasecmp(host, pattern, len) == 0;
}

static int source_matches(const char *src, size_t len, const struct cs_url *page,
                          const struct cs_url *a)
{
    if (len == 1 && src[0] == '*')
        return 1; /* any network scheme: the ancestor is http(s) by construction */
    if (len == 6 && strncasecmp(src, "'self'", 6) == 0)
        return strcmp(page->origin, a->origin) == 0;
    if (len > 0 && src[0] == '\'')
        return 0; /* 'none' and keywords that do not apply to frame-ancestors */
    /* scheme-source "https:" */
    if (len > 1 && src[len - 1] == ':' && !memchr(src, '/', len)) {
        if (len - 1 == 4 && strncasecmp(src, "http", 4) == 0)
            return 1; /* http: also matches https (upgrade) */
        return len - 1 == strlen(a->scheme) && strncasecmp(src, a->scheme, len - 1) == 0;
    }
    /* host-source: [scheme://]host[:port][/path] */
    const char *p = src, *end = src + len;
    const char *sep = NULL;
    for (const char *q = src; q + 2 < end; q++)
        if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
            sep = q;
            break;
        }
    if (sep) {
        size_t sl = (size_t)(sep - src);
        int scheme_ok =
            (sl == strlen(a->scheme) && strncasecmp(src, a->scheme, sl) == 0) ||
            (sl == 4 && strncasecmp(src, "http", 4) == 0 && strcmp(a->scheme, "https") == 0);
        if (!scheme_ok)
            return 0;
        p = sep + 3;
    } else if (strcmp(a->scheme, "https") != 0 && strcmp(a->scheme, page->scheme) != 0) {
        return 0;
    }
    const char *host_end = p;
    if (host_end < end && *host_end == '[') {
        while (host_end < end && *host_end != ']')
            host_end++;
        if (host_end < end)
            host_end++;
    }
    while (host_end < end && *host_end != ':' && *host_end != '/')
        host_end++;
    const char *hp = p;
    size_t hlen = (size_t)(host_end - p);
    if (hlen >= 2 && hp[0] == '[' && hp[hlen - 1] == ']') {
        hp++;
        hlen -= 2;
    }
    if (!host_matches(hp, hlen, a->host))
        return 0;
    if (host_end < end && *host_end == ':') {
        const char *port = host_end + 1;
        if (port < end && *port == '*')
            return 1;
        return atoi(port) == a->port;
    }
    return a->port == default_port(a->scheme);
}

/* Evaluates the frame-ancestors directive of one policy: -1 absent, 0 blocks, 1 allows. */
static int policy_allows(const char *policy, const struct cs_url *page, const struct cs_url *a)
{
    const char *d = policy;
    while (*d) {
        while (*d == ' ' || *d == '\t' || *d == ';')
            d++;
        const char *dir_end = d + strcspn(d, ";");
        size_t name_len = strcspn(d, " \t;");
        if (name_len == 15 && strncasecmp(d, "frame-ancestors", 15) == 0) {
            const char *s = d + name_len;
            while (s < dir_end) {
                while (s < dir_end && (*s == ' ' || *s == '\t'))
                    s++;
                size_t sl = strcspn(s, " \t;");
                if (s + sl > dir_end)
                    sl = (size_t)(dir_end - s);
                if (sl && source_matches(s, sl, page, a))
                    return 1;
                s += sl;
            }
            return 0;
        }
        d = dir_end;
    }
    return -1;
}

int cs_frame_ancestors_allow(const char *csp, const struct cs_url *page,
                             const struct cs_url *ancestor)
{
    /* Several policies (joined with ',' by the caller) must all allow: CSP intersects them. */
    int seen = 0;
    const char *p = csp;
    while (p && *p) {
        size_t n = strcspn(p, ",");
        char *policy = strndup(p, n);
        if (!policy)
            return 0;
        int r = policy_allows(policy, page, ancestor);
        free(policy);
        if (r == 0)
            return 0;
        if (r == 1)
            seen = 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return seen;
}
