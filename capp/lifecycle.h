/*
 * lifecycle.h — install and uninstall events (POST to the registration callback URL).
 *
 * lifecycle_parse() turns a body into a validated event without side effects (and is the
 * fuzzing target). Under V2 any refusal cancels the install (and revokes its key) or leaves the
 * uninstall unfinished for good, so it refuses only what it must (spec D3'):
 *   - the kind comes only from the idempotency_key prefix ("install:" / "uninstall:"), and the
 *     key must name the payload's install: "<kind>:<installed_app_id>" with an optional suffix
 *     after a non-ID character (else idempotency_key_mismatch, spec D1'). IDs are read from
 *     the payload fields, never from the key; organization_id is optional (V2);
 *   - fields the kind does not use are ignored, whatever they hold: an install's
 *     uninstalled_at, an uninstall's granted_permissions or api_key (whose bytes are still
 *     wiped, never stored);
 *   - an install needs api_key, api_key_prefix and granted_permissions. The prefix is display
 *     data: one that is not the key's start is kept and flagged for the log, never refused.
 *     Repeated permissions are dropped (counted for the log);
 *   - uninstalled_at is any RFC 3339 time, stored as UTC; one that does not parse is dropped
 *     (the store uses the receipt time) and flagged for the log.
 *
 * lifecycle_handle() is the HTTP handler: checks the app_id against the pinned one (spec D1';
 * the first install pins it when `serve` got no --app-id: see app.h), seals the key (AAD =
 * installed_app_id), wipes the plaintext, and hands the event to the store, answering once it
 * is durable. No outbound calls. An install for another app is 403 wrong_app, an uninstall
 * for another app 200 "ignored"; both log the app_id received. Store refusals answer 409
 * idempotency_conflict / install_conflict (store.h) and change nothing. An applied uninstall
 * wakes the confirmation worker (uninstall_confirm.h), which destroys the kept key only once
 * Cloud refuses it.
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
    /* Install only: the plaintext key inside root. lifecycle_parsed_free wipes the api_key
     * field of any event (an uninstall's stray one too: never used, never stored). */
    const char *api_key;
    const char *permissions[CAPP_MAX_PERMISSIONS];
    /* What was accepted leniently, for the handler's log line (spec D3'). */
    int api_key_prefix_mismatch;         /* install: the prefix is not the key's start */
    size_t permissions_repeated;         /* install: repeats dropped from granted_permissions */
    int api_key_ignored;                 /* uninstall: it carried an api_key (wiped, unused) */
    int uninstalled_at_replaced;         /* uninstall: sent but not RFC 3339: receipt time used */
    const char *uninstalled_at_received; /* ... the value sent, when it was a string */
    char uninstalled_at_utc[CAPP_MAX_TIMESTAMP_BYTES + 1]; /* backs event.uninstalled_at */
};

int lifecycle_parse(const char *body, size_t len, struct lifecycle_parsed *out,
                    struct json_error *err);
/* Wipes the plaintext key inside the parsed JSON and frees it. NULL-safe. */
void lifecycle_parsed_free(struct lifecycle_parsed *p);

struct capp_app;
struct http_request;
void lifecycle_handle(struct http_request *req, void *app /* struct capp_app */);

#endif
