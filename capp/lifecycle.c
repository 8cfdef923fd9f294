#include "lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "assert.h"
#include "clock.h"
#include "crypto.h"
#include "err.h"
#include "health.h"
#include "http.h"
#include "log.h"
#include "seal.h"
#include "uninstall_confirm.h"

static int invalid(struct json_error *err, const char *code, const char *message)
{
    err->code = code;
    snprintf(err->message, sizeof err->message, "%s", message);
    return CAPP_EINVAL;
}

static int valid_permission(const char *p)
{
    if (!*p)
        return 0;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == ':' || *p == '_' || *p == '-' || *p == '.' || *p == '*'))
            return 0;
    return 1;
}

/* The fields only an install uses. */
static int parse_install(struct lifecycle_parsed *out, struct json_error *err)
{
    struct store_event *ev = &out->event;
    const char *api_key = NULL;
    size_t nperms = 0;
    struct json_field fields[] = {
        JSON_STRING("api_key", &api_key, CAPP_MAX_API_KEY_BYTES, 1),
        JSON_STRING("api_key_prefix", &ev->api_key_prefix, CAPP_MAX_KEY_PREFIX_BYTES, 1),
        JSON_STRING_ARRAY("granted_permissions", out->permissions, &nperms, CAPP_MAX_PERMISSIONS,
                          CAPP_MAX_PERMISSION_BYTES, 1),
    };
    int rc = json_read_fields(out->root, fields, COUNTOF(fields), err);
    if (rc)
        return rc;
    out->api_key = api_key;
    if (!*api_key)
        return invalid(err, "missing_field", "field 'api_key' is required for an install event");
    if (!*ev->api_key_prefix)
        return invalid(err, "missing_field",
                       "field 'api_key_prefix' is required for an install event");
    /* Display data that must never authenticate anything (spec §4): Blnk's own example sends
     * one that is not the key's start, and refusing it would cancel the install (D3'). */
    out->api_key_prefix_mismatch =
        strncmp(api_key, ev->api_key_prefix, strlen(ev->api_key_prefix)) != 0;
    size_t kept = 0;
    for (size_t i = 0; i < nperms; i++) {
        if (!valid_permission(out->permissions[i]))
            return invalid(err, "invalid_field",
                           "field 'granted_permissions' holds an invalid permission name");
        int repeated = 0;
        for (size_t j = 0; j < kept && !repeated; j++)
            repeated = strcmp(out->permissions[i], out->permissions[j]) == 0;
        if (repeated)
            out->permissions_repeated++;
        else
            out->permissions[kept++] = out->permissions[i];
    }
    ev->permissions = out->permissions;
    ev->permission_count = kept;
    return 0;
}

/* The fields only an uninstall uses; anything else it carries is ignored (D3'). */
static void parse_uninstall(struct lifecycle_parsed *out)
{
    json_t *stray = json_object_get(out->root, "api_key");
    out->api_key_ignored = stray && !json_is_null(stray);
    json_t *at = json_object_get(out->root, "uninstalled_at");
    if (!at || json_is_null(at))
        return;
    int64_t ms;
    if (json_is_string(at) && clock_parse_rfc3339(json_string_value(at), &ms) == 0) {
        clock_format_rfc3339(ms, out->uninstalled_at_utc, sizeof out->uninstalled_at_utc);
        out->event.uninstalled_at = out->uninstalled_at_utc;
    } else {
        /* The store stamps the receipt time; the handler logs what was sent. */
        out->uninstalled_at_replaced = 1;
        out->uninstalled_at_received = json_is_string(at) ? json_string_value(at) : NULL;
    }
}

int lifecycle_parse(const char *body, size_t len, struct lifecycle_parsed *out,
                    struct json_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = json_parse_object(body, len, &out->root, err);
    if (rc)
        return rc;
    struct store_event *ev = &out->event;
    struct json_field common[] = {
        JSON_STRING("idempotency_key", &ev->idempotency_key, CAPP_MAX_IDEMPOTENCY_KEY_BYTES, 1),
        JSON_ID("installed_app_id", &ev->installed_app_id, 1),
        JSON_ID("app_id", &ev->app_id, 1),
        JSON_ID("organization_id", &ev->organization_id, 0),
        JSON_ID("instance_id", &ev->instance_id, 1),
    };
    rc = json_read_fields(out->root, common, COUNTOF(common), err);
    if (rc)
        goto fail;
    const char *key = ev->idempotency_key;
    if (strncmp(key, "install:", 8) == 0 && key[8]) {
        ev->kind = STORE_EVENT_INSTALL;
    } else if (strncmp(key, "uninstall:", 10) == 0 && key[10]) {
        ev->kind = STORE_EVENT_UNINSTALL;
    } else {
        rc = invalid(err, "unknown_event",
                     "field 'idempotency_key' must start with 'install:' or 'uninstall:'");
        goto fail;
    }
    /* A key names the install it is for; one naming another install could spend that
     * install's key (spec D1'). */
    if (!store_event_key_matches(ev)) {
        rc = invalid(err, "idempotency_key_mismatch",
                     "field 'idempotency_key' must be '<kind>:<installed_app_id>' for the "
                     "installed_app_id of the payload");
        goto fail;
    }
    if (ev->kind == STORE_EVENT_INSTALL)
        rc = parse_install(out, err);
    else
        parse_uninstall(out);
    if (rc)
        goto fail;
    return 0;
fail:
    lifecycle_parsed_free(out);
    return rc;
}

void lifecycle_parsed_free(struct lifecycle_parsed *p)
{
    if (!p || !p->root)
        return;
    /* jansson owns the bytes; wipe a key before they go back to the heap, whatever the event
     * and however far parsing got (an uninstall's stray api_key is a live key too). */
    json_t *key = json_object_get(p->root, "api_key");
    if (json_is_string(key))
        crypto_wipe((void *)json_string_value(key), json_string_length(key));
    json_decref(p->root);
    p->root = NULL;
}

struct pending {
    struct http_request *req;
    struct capp_app *app;
    enum store_event_kind kind;
    char installed_app_id[STORE_ID_CAP];
    char app_id[STORE_ID_CAP];
    char api_key_prefix[CAPP_MAX_KEY_PREFIX_BYTES + 1];
};

/* An event for an app this server does not serve changes nothing. The log line names the
 * app_id received, so an operator can tell a misregistered app from a forgery (spec D1'). An
 * install is refused (Cloud cancels it); an uninstall is acknowledged so Cloud can complete. */
static void answer_wrong_app(struct pending *p)
{
    const char *pinned = app_pin_get(&p->app->pin);
    if (p->kind == STORE_EVENT_INSTALL) {
        log_warn("callback.install", "req", http_request_id(p->req), "installed_app_id",
                 p->installed_app_id, "app_id", p->app_id, "pinned_app_id", pinned, "result",
                 "wrong_app", NULL);
        http_respond_error(p->req, 403, "wrong_app", "this server does not serve app_id '%s'",
                           p->app_id);
    } else {
        log_warn("callback.uninstall", "req", http_request_id(p->req), "installed_app_id",
                 p->installed_app_id, "app_id", p->app_id, "pinned_app_id", pinned, "result",
                 "wrong_app_ignored", NULL);
        http_respond_json(p->req, 200, json_pack("{s:b, s:s}", "ok", 1, "outcome", "ignored"));
    }
}

/* Runs on the store's writer thread once the event is durable (or failed). */
static void event_done(void *ctx, int rc, enum store_event_outcome outcome)
{
    struct pending *p = ctx;
    const char *event = p->kind == STORE_EVENT_INSTALL ? "callback.install" : "callback.uninstall";
    if (rc) {
        log_error(event, "req", http_request_id(p->req), "installed_app_id", p->installed_app_id,
                  "result", "store_failed", "error", capp_strerror(rc), NULL);
        /* Cloud's attempt fails cleanly and nothing was recorded: its next attempt, or the
         * operator's retry, is decided afresh once the database is back. */
        if (health_database_lost(rc))
            health_respond_database_unavailable(p->req);
        else
            http_respond_error(p->req, 503, "store_unavailable",
                               "the event could not be stored; retry later");
    } else if (outcome == STORE_OUTCOME_WRONG_APP) {
        answer_wrong_app(p); /* another app was pinned first, by an event racing this one */
    } else if (outcome == STORE_OUTCOME_IDEMPOTENCY_CONFLICT ||
               outcome == STORE_OUTCOME_INSTALL_CONFLICT) {
        /* Nothing changed. Logged with the IDs so a forgery attempt can be traced. */
        log_warn(event, "req", http_request_id(p->req), "installed_app_id", p->installed_app_id,
                 "api_key_prefix", p->api_key_prefix[0] ? p->api_key_prefix : NULL, "outcome",
                 store_outcome_name(outcome), NULL);
        if (outcome == STORE_OUTCOME_IDEMPOTENCY_CONFLICT)
            http_respond_error(p->req, 409, "idempotency_conflict",
                               "this idempotency_key was already used for another install or "
                               "event kind; nothing was changed");
        else
            http_respond_error(p->req, 409, "install_conflict",
                               "installed_app_id '%s' is installed with another instance, "
                               "organization or key (or its uninstall awaits Cloud's "
                               "confirmation); nothing was changed",
                               p->installed_app_id);
    } else {
        /* The store pinned this install's app if none was (trust on first use): say which, so
         * the operator learns the app ID from the log (README "Registering the app"). */
        if (p->kind == STORE_EVENT_INSTALL && outcome == STORE_OUTCOME_APPLIED &&
            app_pin_note(&p->app->pin, p->app_id))
            log_info("capp.app.pinned", "app_id", p->app_id, "installed_app_id",
                     p->installed_app_id, "source", "first_install", NULL);
        log_info(event, "req", http_request_id(p->req), "installed_app_id", p->installed_app_id,
                 "api_key_prefix", p->api_key_prefix[0] ? p->api_key_prefix : NULL, "outcome",
                 store_outcome_name(outcome), NULL);
        /* The key is kept until Cloud confirms the uninstall: start probing now. */
        if (p->kind == STORE_EVENT_UNINSTALL && outcome == STORE_OUTCOME_APPLIED)
            uninstall_confirm_wake(p->app->confirm);
        http_respond_json(p->req, 200,
                          json_pack("{s:b, s:s}", "ok", 1, "outcome", store_outcome_name(outcome)));
    }
}

static int ids_match(const struct store_install *in, const struct store_event *ev)
{
    if (strcmp(in->app_id, ev->app_id) != 0 || strcmp(in->instance_id, ev->instance_id) != 0)
        return 0;
    if (ev->organization_id && in->organization_id[0] &&
        strcmp(in->organization_id, ev->organization_id) != 0)
        return 0;
    return 1;
}

/* What was accepted instead of refused (spec D3'), one line each, so it can be followed up. */
static void log_leniency(struct http_request *req, const struct lifecycle_parsed *parsed)
{
    const struct store_event *ev = &parsed->event;
    const char *id = ev->installed_app_id, *rid = http_request_id(req);
    if (parsed->api_key_prefix_mismatch)
        log_warn("callback.lenient", "req", rid, "installed_app_id", id, "accepted",
                 "api_key_prefix_not_key_start", "api_key_prefix", ev->api_key_prefix, NULL);
    if (parsed->permissions_repeated) {
        char n[24];
        snprintf(n, sizeof n, "%zu", parsed->permissions_repeated);
        log_warn("callback.lenient", "req", rid, "installed_app_id", id, "accepted",
                 "repeated_permissions_dropped", "repeats", n, NULL);
    }
    if (parsed->uninstalled_at_replaced)
        log_warn("callback.lenient", "req", rid, "installed_app_id", id, "accepted",
                 "uninstalled_at_replaced_by_receipt_time", "uninstalled_at_received",
                 parsed->uninstalled_at_received ? parsed->uninstalled_at_received
                                                 : "(not a string)",
                 NULL);
    if (parsed->api_key_ignored)
        log_warn("callback.lenient", "req", rid, "installed_app_id", id, "accepted",
                 "uninstall_api_key_ignored_and_wiped", NULL);
}

void lifecycle_handle(struct http_request *req, void *ctx)
{
    struct capp_app *app = ctx;
    size_t len;
    const char *body = http_body(req, &len);
    struct lifecycle_parsed parsed;
    struct json_error err = {0};
    int rc = lifecycle_parse(body, len, &parsed, &err);
    http_body_wipe(req);
    if (rc) {
        log_warn("callback.rejected", "req", http_request_id(req), "code", err.code, NULL);
        http_respond_error(
            req, rc == CAPP_ETOOBIG && strcmp(err.code, "body_too_large") == 0 ? 413 : 400,
            err.code, "%s", err.message);
        return;
    }
    struct store_event *ev = &parsed.event;
    struct pending *p = http_alloc(req, sizeof *p);
    if (!p) {
        lifecycle_parsed_free(&parsed);
        http_respond_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    memset(p, 0, sizeof *p);
    p->req = req;
    p->app = app;
    p->kind = ev->kind;
    snprintf(p->installed_app_id, sizeof p->installed_app_id, "%s", ev->installed_app_id);
    snprintf(p->app_id, sizeof p->app_id, "%s", ev->app_id);
    if (ev->api_key_prefix)
        snprintf(p->api_key_prefix, sizeof p->api_key_prefix, "%s", ev->api_key_prefix);
    log_leniency(req, &parsed);

    /* Checked here for a quick answer; the store decides again in its transaction, which is
     * what settles the first install's pin. */
    const char *pinned = app_pin_get(&app->pin);
    if (pinned && strcmp(ev->app_id, pinned) != 0) {
        answer_wrong_app(p);
        lifecycle_parsed_free(&parsed);
        return;
    }
    ev->pin_app_id = 1;

    char *sealed = NULL;
    char fingerprint[STORE_HASH_CAP];
    if (ev->kind == STORE_EVENT_INSTALL) {
        store_api_key_fingerprint(parsed.api_key, strlen(parsed.api_key), fingerprint);
        ev->api_key_fingerprint = fingerprint;
        rc = seal_seal(app->keyring, ev->installed_app_id, parsed.api_key, strlen(parsed.api_key),
                       &sealed);
        if (rc) {
            lifecycle_parsed_free(&parsed);
            log_error("callback.install", "req", http_request_id(req), "installed_app_id",
                      p->installed_app_id, "result", "seal_failed", NULL);
            http_respond_error(req, 500, "seal_failed", "the API key could not be sealed");
            return;
        }
        ev->sealed_api_key = sealed;
    } else {
        struct store_install existing;
        if (store_install_get(app->store, ev->installed_app_id, &existing) == 0) {
            int match = ids_match(&existing, ev);
            store_install_clear(&existing);
            if (!match) {
                log_warn("callback.uninstall", "req", http_request_id(req), "installed_app_id",
                         p->installed_app_id, "result", "mismatch_ignored", NULL);
                http_respond_json(req, 200, json_pack("{s:b, s:s}", "ok", 1, "outcome", "ignored"));
                lifecycle_parsed_free(&parsed);
                return;
            }
        }
    }
    http_defer(req);
    rc = store_apply_event_async(app->store, ev, event_done, p);
    free(sealed);
    lifecycle_parsed_free(&parsed);
    if (rc)
        event_done(p, rc, STORE_OUTCOME_APPLIED);
}
