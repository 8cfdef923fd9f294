/*
 * portal_generator.h — the portal generator (POST to the portal generator URL).
 *
 * Valid only for an install that exists and is active, whose instance_id matches, whose app_id
 * is the pinned one, and whose organization_id matches whenever both sides have one (spec D9).
 * Answers 400 for a malformed request and 403 for an unknown, inactive or mismatched install —
 * never a portal_url then (D8); before any app is pinned (no --app-id, no install yet: app.h)
 * every launch is 403 app_not_pinned. On success: a fresh single-use launch token (32 random bytes,
 * base64url), valid 60 s, stored only as its SHA-256 with install, organization, instance and
 * launching user; answer {"portal_url": "<public-url>/portal?token=<token>"}.
 */
#ifndef CAPP_PORTAL_GENERATOR_H
#define CAPP_PORTAL_GENERATOR_H

#include <jansson.h>

#include "json.h"

struct portal_generator_request {
    json_t *root; /* owns the strings */
    const char *installed_app_id;
    const char *app_id;
    const char *organization_id; /* NULL when absent (V2) */
    const char *instance_id;
    const char *user_id; /* NULL when absent (V2) */
};

int portal_generator_parse(const char *body, size_t len, struct portal_generator_request *out,
                           struct json_error *err);
void portal_generator_request_free(struct portal_generator_request *r);

struct http_request;
void portal_generator_handle(struct http_request *req, void *app /* struct capp_app */);

#endif
