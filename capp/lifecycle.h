/*
 * lifecycle.h — install and uninstall events (POST to the registration callback URL).
 *
 * lifecycle_parse() turns a body into a validated event without side effects (and is the
 * fuzzing target): the kind comes only from the idempotency_key prefix ("install:" /
 * "uninstall:", spec D3) and is cross-checked against the fields present — an install carries
 * api_key, api_key_prefix (a prefix of api_key) and granted_permissions and no uninstalled_at;
 * an uninstall carries no api_key. Contradictory or unknown payloads are refused. IDs are read
 * from the payload fields, never from the key, but the key must name the payload's install:
 * "<kind>:<installed_app_id>" with an optional suffix after a non-ID character (else
 * idempotency_key_mismatch). organization_id is optional (V2).
 *
 * lifecycle_handle() is the HTTP handler: seals the key (AAD = installed_app_id), wipes the
 * plaintext, and hands the event to the store, answering once it is durable. No outbound calls.
 * Store refusals answer 409 idempotency_conflict / install_conflict (store.h) and change
 * nothing. An applied uninstall wakes the confirmation worker (uninstall_confirm.h), which
 * destroys the kept key only once Cloud refuses it.
 */
#ifndef CAPP_LIFECYCLE_H
#define CAPP_LIFECYCLE_H

#include <jansson.h>

#include "json.h"
#include "limits.h"
#include "store.h"

struct lifecycle_parsed {
    json_t *root;             /* owns every string below */
    struct store_event event; /* sealed_api_key is NULL until the handler seals */
    const char *api_key;      /* install only; plaintext inside root */
    const char *permissions[CAPP_MAX_PERMISSIONS];
};

int lifecycle_parse(const char *body, size_t len, struct lifecycle_parsed *out,
                    struct json_error *err);
/* Wipes the plaintext key inside the parsed JSON and frees it. NULL-safe. */
void lifecycle_parsed_free(struct lifecycle_parsed *p);

struct capp_app;
struct http_request;
void lifecycle_handle(struct http_request *req, void *app /* struct capp_app */);

#endif
