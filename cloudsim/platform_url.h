/*
 * platform_url.h — URL and origin checks for manifests and launch answers (spec §3, D8, §7).
 *
 * Parsing is libcurl's URL API (curl_url), not hand-written. An acceptable app URL is absolute
 * http(s) with a host; plain http is allowed only for loopback hosts (dev, spec D8).
 */
#ifndef CLOUDSIM_PLATFORM_URL_H
#define CLOUDSIM_PLATFORM_URL_H

struct cs_url {
    char scheme[16];          /* lowercase "http" or "https" */
    char host[256];           /* lowercase, IPv6 without brackets */
    int port;                 /* explicit or the scheme default */
    char origin[300];         /* scheme://host[:port], the port only when not the default */
    char without_query[2048]; /* scheme://host[:port]/path — no query, no fragment */
    int loopback;             /* 127.0.0.0/8, ::1 or localhost */
};

/* 0 on an absolute http/https URL with a host; CAPP_EINVAL otherwise. */
int cs_url_parse(const char *url, struct cs_url *out);
/* 1 for https, or http on a loopback host. */
int cs_url_secure_enough(const struct cs_url *u);
/* 1 when a Content-Security-Policy value's frame-ancestors directive lets `ancestor` (the parsed
 * dashboard URL) embed `page` (for 'self'); 0 when it does not or the directive is absent.
 * Follows CSP Level 3 source matching: *, 'none', 'self', scheme-sources and host-sources
 * with *. wildcards and ports. */
int cs_frame_ancestors_allow(const char *csp, const struct cs_url *page,
                             const struct cs_url *ancestor);

#endif
