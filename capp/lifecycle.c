#include "lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "crypto.h"
#include "assert.h"
#include "err.h"
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

int lifecycle_parse(const char *body, size_t len, struct lifecycle_parsed *out,
                    struct json_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = json_parse_object(body, len, &out->root, err);
    if (rc)
        return rc;
    struct store_event *ev = &out->event;
    const char *api_key = NULL, *uninstalled_at = NULL;
    size_t nperms = 0;
    int has_perms = 0;
    struct json_field common[] = {
        JSON_STRING("idempotency_key", &ev->idempotency_key, CAPP_MAX_IDEMPOTENCY_KEY_BYTES, 1),
        JSON_ID("installed_app_id", &ev->installed_app_id, 1),
        JSON_ID("app_id", &ev->app_id, 1),
        JSON_ID("organization_id", &ev->organization_id, 0),
        JSON_ID("instance_id", &ev->instance_id, 1),
        JSON_STRING("api_key", &api_key, CAPP_MAX_API_KEY_BYTES, 0),
        JSON_STRING("api_key_prefix", &ev->api_key_prefix, CAPP_MAX_KEY_PREFIX_BYTES, 0),
        JSON_STRING_ARRAY("granted_permissions", out->permissions, &nperms, CAPP_MAX_PERMISSIONS,
                          CAPP_MAX_PERMISSION_BYTES, 0),
        JSON_TIMESTAMP("uninstalled_at", &uninstalled_at, 0),
    };
    common[7].present = &has_perms;
    rc = json_read_fields(out->root, common, COUNTOF(common), err);
    if (rc)
        goto fail;
    const char *key = ev->idempotency_key;
    if (strncmp(key, "install:", 8) == 0 && key[8]) {
        ev->kind = STORE_EVENT_INSTALL;
        if (!api_key || !*api_key)
            rc = invalid(err, "missing_field", "field 'api_key' is required for an install event");
        else if (!ev->api_key_prefix || !*ev->api_key_prefix)
            rc = invalid(err, "missing_field",
                         "field 'api_key_prefix' is required for an install event");
        else if (!has_perms)
            rc = invalid(err, "missing_field",
                         "field 'granted_permissions' is required for an install event");
        else if (uninstalled_at)
            rc = invalid(err, "contradictory_event",
                         "an install event must not carry 'uninstalled_at'");
        else if (strncmp(api_key, ev->api_key_prefix, strlen(ev->api_key_prefix)) != 0)
            rc = invalid(err, "contradictory_event",
                         "field 'api_key_prefix' is not a prefix of the key");
        if (rc)
            goto fail;
        for (size_t i = 0; i < nperms; i++) {
            if (!valid_permission(out->permissions[i])) {
                rc = invalid(err, "invalid_field",
                             "field 'granted_permissions' holds an invalid permission name");
                goto fail;
            }
            for (size_t j = 0; j < i; j++)
                if (strcmp(out->permissions[i], out->permissions[j]) == 0) {
                    rc = invalid(err, "invalid_field",
                                 "field 'granted_permissions' repeats a permission");
                    goto fail;
                }
        }
        out->api_key = api_key;
        ev->permissions = out->permissions;
        ev->permission_count = nperms;
    } else if (strncmp(key, "uninstall:", 10) == 0 && key[10]) {
        ev->kind = STORE_EVENT_UNINSTALL;
        if (api_key || has_perms) {
            rc = invalid(err, "contradictory_event",
                         "an uninstall event must not carry 'api_key' or 'granted_permissions'");
            goto fail;
        }
        ev->api_key_prefix = NULL;
        ev->uninstalled_at = uninstalled_at;
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
    return 0;
fail:
    lifecycle_parsed_free(out);
    return rc;
}

void lifecycle_parsed_free(struct lifecycle_parsed *p)
{
    if (!p || !p->root)
        return;
    if (p->api_key) /* jansson owns the bytes; wipe them before they go back to the heap */
        crypto_wipe((void *)p->api_key, strlen(p->api_key));
    json_decref(p->root);
    p->root = NULL;
}

struct pending {
    struct http_request *req;
    struct capp_app *app;
    enum store_event_kind kind;
    char installed_app_id[STORE_ID_CAP];
    char api_key_prefix[CAPP_MAX_KEY_PREFIX_BYTES + 1];
};

/* Runs on the store's writer thread once the event is durable (or failed). */
static void event_done(void *ctx, int rc, enum store_event_outcome outcome)
{
    struct pending *p = ctx;
    const char *event = p->kind == STORE_EVENT_INSTALL ? "callback.install" : "callback.uninstall";
    if (rc) {
        log_error(event, "req", http_request_id(p->req), "installed_app_id", p->installed_app_id,
                  "result", "store_failed", "error", capp_strerror(rc), NULL);
        http_respond_error(p->req, 503, "store_unavailable",
                           "the event could not be stored; retry later");
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
    if (ev->api_key_prefix)
        snprintf(p->api_key_prefix, sizeof p->api_key_prefix, "%s", ev->api_key_prefix);

    if (strcmp(ev->app_id, app->config.app_id) != 0) {
        if (ev->kind == STORE_EVENT_INSTALL) {
            log_warn("callback.install", "req", http_request_id(req), "installed_app_id",
                     p->installed_app_id, "result", "wrong_app", NULL);
            http_respond_error(req, 403, "wrong_app", "this server does not serve app_id '%s'",
                               ev->app_id);
        } else {
            /* Not ours: acknowledge so Cloud can complete, change nothing (spec D1). */
            log_warn("callback.uninstall", "req", http_request_id(req), "installed_app_id",
                     p->installed_app_id, "result", "wrong_app_ignored", NULL);
            http_respond_json(req, 200, json_pack("{s:b, s:s}", "ok", 1, "outcome", "ignored"));
        }
        lifecycle_parsed_free(&parsed);
        return;
    }

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
