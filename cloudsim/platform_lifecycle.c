/*
 * Install and uninstall flows (spec §2, §4, §5, D4, D5, D6, D7).
 *
 *   install:   validate → mint installed_app_id + key (stored hashed, install "pending") →
 *              POST the install event (10 s per attempt; V1: up to 2 re-sends 1 s apart) →
 *              2xx: "active" | otherwise: key revoked, install "failed".
 *   uninstall: V1: revoke key + mark uninstalled, then notify (with V1 retries);
 *              V2: notify once; only a 2xx marks it uninstalled and revokes the key.
 *
 * Flows block on the network, so they run on a worker thread (admin_api.c), never on an HTTP
 * pool thread. The plaintext key lives only in the payload buffer and is wiped after delivery.
 * Fault injection (duplicate, delay, dropped responses) is applied here so that every caller —
 * admin API, CLI, dashboard — gets it the same way.
 */
#include "cloudsim/platform.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capp/assert.h"
#include "capp/crypto.h"
#include "capp/db.h"
#include "capp/err.h"
#include "capp/httpc.h"
#include "capp/json.h"
#include "capp/log.h"

static void outcome_error(struct cs_outcome *out, unsigned status, const char *code,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void outcome_error(struct cs_outcome *out, unsigned status, const char *code,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out->status = status;
    out->result = json_error_bodyv(code, fmt, ap);
    va_end(ap);
}

void cs_sleep_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ---- delivery of one lifecycle event ---- */

int cs_deliver(struct cloudsim *cs, const struct cs_delivery *d, json_t **attempts_out)
{
    struct httpc *client = NULL;
    json_t *attempts = json_array();
    int delivered = 0;
    int dropped = 0;
    if (httpc_new(&client) != 0) {
        *attempts_out = attempts;
        return 0;
    }
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json",
                                          "User-Agent: cloudsim (local Blnk Cloud)", NULL};
    int max_attempts = cs->config.mode == CS_MODE_V1 ? 1 + CS_V1_RESENDS : 1;
    for (int attempt = 1; attempt <= max_attempts && !delivered; attempt++) {
        if (attempt > 1)
            cs_sleep_ms(cs->config.retry_delay_ms);
        cs_sleep_ms(d->faults.delay_ms);
        struct httpc_request request = {.method = "POST",
                                        .url = d->url,
                                        .body = d->payload,
                                        .body_len = strlen(d->payload),
                                        .headers = headers,
                                        .connect_timeout_ms = d->timeout_ms,
                                        .total_timeout_ms = d->timeout_ms,
                                        .max_response = 64 * 1024};
        struct httpc_response response = {0};
        int rc = httpc_perform(client, &request, &response);
        char outcome[32];
        if (rc == CAPP_ETIMEOUT)
            snprintf(outcome, sizeof outcome, "timeout");
        else if (rc != 0)
            snprintf(outcome, sizeof outcome, "network_error");
        else if (response.status >= 200 && response.status < 300 &&
                 dropped < d->faults.drop_responses) {
            dropped++;
            snprintf(outcome, sizeof outcome, "dropped");
        } else if (response.status >= 200 && response.status < 300) {
            snprintf(outcome, sizeof outcome, "ok");
            delivered = 1;
        } else {
            snprintf(outcome, sizeof outcome, "http_%ld", response.status);
        }
        cs_record_delivery(cs, d->installed_app_id, d->kind, attempt, d->url, response.status,
                           outcome, response.elapsed_ms);
        char attempt_text[16], status_text[24];
        snprintf(attempt_text, sizeof attempt_text, "%d", attempt);
        snprintf(status_text, sizeof status_text, "%ld", response.status);
        log_info("cloudsim.delivery", "kind", d->kind, "installed_app_id", d->installed_app_id,
                 "attempt", attempt_text, "status", status_text, "outcome", outcome, NULL);
        json_array_append_new(attempts,
                              json_pack("{s:i, s:I, s:s, s:I}", "attempt", attempt, "status",
                                        (json_int_t)response.status, "outcome", outcome,
                                        "elapsed_ms", (json_int_t)response.elapsed_ms));
        httpc_response_free(&response);
    }
    if (delivered && d->faults.duplicate) {
        /* spec D4: a duplicate of the identical payload after a success; its answer is
         * recorded but changes nothing. */
        struct httpc_request request = {.method = "POST",
                                        .url = d->url,
                                        .body = d->payload,
                                        .body_len = strlen(d->payload),
                                        .headers = headers,
                                        .connect_timeout_ms = d->timeout_ms,
                                        .total_timeout_ms = d->timeout_ms,
                                        .max_response = 64 * 1024};
        struct httpc_response response = {0};
        httpc_perform(client, &request, &response);
        cs_record_delivery(cs, d->installed_app_id, d->kind, 0, d->url, response.status,
                           "duplicate", response.elapsed_ms);
        json_array_append_new(attempts,
                              json_pack("{s:i, s:I, s:s, s:I}", "attempt", 0, "status",
                                        (json_int_t)response.status, "outcome", "duplicate",
                                        "elapsed_ms", (json_int_t)response.elapsed_ms));
        httpc_response_free(&response);
    }
    httpc_free(client);
    *attempts_out = attempts;
    return delivered;
}

/* ---- lookups ---- */

int cs_load_app(struct cloudsim *cs, const char *app_id, struct cs_app_row *app)
{
    const char *key[] = {app_id};
    const struct db_text_out outs[] = {
        {app->app_id, sizeof app->app_id},
        {app->organization_id, sizeof app->organization_id},
        {app->callback_url, sizeof app->callback_url},
        {app->portal_generator_url, sizeof app->portal_generator_url},
        {app->permissions, sizeof app->permissions},
        {app->launch_access, sizeof app->launch_access},
        {app->display_name, sizeof app->display_name},
    };
    return db_load_texts(cs_db(cs),
                         "SELECT app_id, organization_id, callback_url, portal_generator_url,"
                         " permissions, launch_access, display_name FROM apps WHERE app_id=?",
                         key, COUNTOF(key), outs, COUNTOF(outs));
}

int cs_load_install(struct cloudsim *cs, const char *installed_app_id, struct cs_install_row *row)
{
    const char *key[] = {installed_app_id};
    const struct db_text_out outs[] = {
        {row->installed_app_id, sizeof row->installed_app_id},
        {row->app_id, sizeof row->app_id},
        {row->organization_id, sizeof row->organization_id},
        {row->instance_id, sizeof row->instance_id},
        {row->status, sizeof row->status},
        {row->api_key_prefix, sizeof row->api_key_prefix},
    };
    return db_load_texts(cs_db(cs),
                         "SELECT installed_app_id, app_id, organization_id, instance_id, status,"
                         " api_key_prefix FROM installs WHERE installed_app_id=?",
                         key, COUNTOF(key), outs, COUNTOF(outs));
}

int cs_resolve_member(struct cloudsim *cs, const char *table, const char *id_column,
                      const char *organization_id, const char *given, char out[CS_ID_BYTES])
{
    char sql[256];
    /* table and id_column are compile-time constants of the callers, never input. */
    if (given)
        snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE %s=?2 AND organization_id=?1", id_column,
                 table, id_column);
    else
        snprintf(sql, sizeof sql,
                 "SELECT %s FROM %s WHERE organization_id=?1 AND ?2 IS NULL ORDER BY rowid LIMIT 1",
                 id_column, table);
    const char *keys[] = {organization_id, given};
    const struct db_text_out id[] = {{out, CS_ID_BYTES}};
    return db_load_texts(cs_db(cs), sql, keys, COUNTOF(keys), id, COUNTOF(id));
}

/* Revokes the install's keys and sets its final status, in one transaction. Only a row in
 * `from_status` moves; CAPP_ECONFLICT when none did (a concurrent flow got there first). */
static int finish_install(sqlite3 *db, const char *installed_app_id, const char *from_status,
                          const char *to_status, int revoke, const char *failure,
                          const char *uninstalled_at)
{
    char now[32];
    cs_now_rfc3339(now);
    sqlite3_stmt *stmt = NULL;
    int rc = db_begin_immediate(db);
    if (rc == 0)
        rc = db_prepare(db,
                        "UPDATE installs SET status=?1, failure=?2, updated_at=?3,"
                        " uninstalled_at=COALESCE(?4, uninstalled_at)"
                        " WHERE installed_app_id=?5 AND status=?6",
                        &stmt);
    if (rc == 0) {
        db_bind_text(stmt, 1, to_status);
        db_bind_text(stmt, 2, failure);
        db_bind_text(stmt, 3, now);
        db_bind_text(stmt, 4, uninstalled_at);
        db_bind_text(stmt, 5, installed_app_id);
        db_bind_text(stmt, 6, from_status);
        rc = db_step_done(stmt);
        if (rc == 0 && sqlite3_changes(db) != 1)
            rc = CAPP_ECONFLICT;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc == 0 && revoke) {
        rc = db_prepare(db,
                        "UPDATE api_keys SET revoked_at=?1 WHERE installed_app_id=?2"
                        " AND revoked_at IS NULL",
                        &stmt);
        if (rc == 0) {
            db_bind_text(stmt, 1, now);
            db_bind_text(stmt, 2, installed_app_id);
            rc = db_step_done(stmt);
        }
        sqlite3_finalize(stmt);
    }
    if (rc == 0)
        rc = db_commit(db);
    if (rc)
        db_rollback(db);
    return rc;
}

/* ---- install ---- */

/* Permissions granted, in manifest order, as a JSON array and scope bits; 0 or an error. */
static int pick_permissions(const struct cs_install_request *in, const json_t *requested,
                            json_t *granted, unsigned *scopes, struct cs_outcome *out)
{
    unsigned chosen = 0, offered = 0;
    size_t i;
    const json_t *v;
    json_array_foreach(requested, i, v) offered |= cs_scope_from_name(json_string_value(v));
    if (in->all_permissions) {
        chosen = offered;
    } else {
        for (size_t p = 0; p < in->permission_count; p++) {
            unsigned bit = cs_scope_from_name(in->permissions[p]);
            if (!bit) {
                outcome_error(out, 400, "unknown_permission", "unknown permission %s",
                              in->permissions[p]);
                return CAPP_EINVAL;
            }
            if (!(offered & bit)) {
                outcome_error(out, 400, "permission_not_requested",
                              "the app's manifest does not request %s", in->permissions[p]);
                return CAPP_EINVAL;
            }
            chosen |= bit;
        }
    }
    if (!chosen) {
        outcome_error(out, 400, "no_permissions", "grant at least one permission");
        return CAPP_EINVAL;
    }
    json_array_foreach(requested, i, v)
    {
        if (chosen & cs_scope_from_name(json_string_value(v)))
            json_array_append(granted, (json_t *)v);
    }
    *scopes = chosen;
    return 0;
}

static int store_pending_install(sqlite3 *db, const char *installed_app_id,
                                 const struct cs_app_row *app, const char *instance_id,
                                 const char *user_id, const char *granted_text, unsigned scopes,
                                 const char *prefix, const char *key_hash)
{
    char now[32];
    cs_now_rfc3339(now);
    sqlite3_stmt *stmt = NULL;
    int rc = db_begin_immediate(db);
    if (rc == 0)
        rc = db_prepare(db,
                        "INSERT INTO installs(installed_app_id, app_id, organization_id,"
                        " instance_id, installed_by, granted_permissions, scopes, api_key_prefix,"
                        " status, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,'pending',?,?)",
                        &stmt);
    if (rc == 0) {
        db_bind_text(stmt, 1, installed_app_id);
        db_bind_text(stmt, 2, app->app_id);
        db_bind_text(stmt, 3, app->organization_id);
        db_bind_text(stmt, 4, instance_id);
        db_bind_text(stmt, 5, user_id);
        db_bind_text(stmt, 6, granted_text);
        db_bind_int64(stmt, 7, scopes);
        db_bind_text(stmt, 8, prefix);
        db_bind_text(stmt, 9, now);
        db_bind_text(stmt, 10, now);
        rc = db_step_done(stmt);
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc == 0)
        rc = db_prepare(db,
                        "INSERT INTO api_keys(key_hash, api_key_prefix, installed_app_id,"
                        " created_at) VALUES(?,?,?,?)",
                        &stmt);
    if (rc == 0) {
        db_bind_text(stmt, 1, key_hash);
        db_bind_text(stmt, 2, prefix);
        db_bind_text(stmt, 3, installed_app_id);
        db_bind_text(stmt, 4, now);
        rc = db_step_done(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc == 0)
        rc = db_commit(db);
    if (rc)
        db_rollback(db);
    return rc;
}

void cs_install(struct cloudsim *cs, const struct cs_install_request *in, struct cs_outcome *out)
{
    struct cs_app_row app;
    char instance_id[CS_ID_BYTES], user_id[CS_ID_BYTES], installed_app_id[CS_ID_BYTES];
    char api_key[CS_API_KEY_BYTES] = "", prefix[CS_KEY_PREFIX_LEN + 1];
    char key_hash[CRYPTO_SHA256_HEX_BYTES];
    json_t *requested = NULL, *granted = json_array(), *payload = NULL, *attempts = NULL;
    char *payload_text = NULL, *granted_text = NULL;
    unsigned scopes = 0;
    sqlite3 *db = cs_db(cs);
    out->result = NULL;

    int rc = db ? cs_load_app(cs, in->app_id, &app) : CAPP_EDB;
    if (rc == CAPP_ENOTFOUND) {
        outcome_error(out, 404, "unknown_app", "no such app: %s", in->app_id);
        goto out;
    }
    if (rc == 0) {
        rc = cs_resolve_member(cs, "instances", "instance_id", app.organization_id, in->instance_id,
                               instance_id);
        if (rc == CAPP_ENOTFOUND) {
            outcome_error(out, 404, "unknown_instance",
                          "no instance %s in the app's organization (check the org and instance)",
                          in->instance_id ? in->instance_id : "(none)");
            goto out;
        }
    }
    if (rc == 0) {
        rc = cs_resolve_member(cs, "users", "user_id", app.organization_id, in->user_id, user_id);
        if (rc == CAPP_ENOTFOUND) {
            outcome_error(out, 404, "unknown_user", "no user %s in the app's organization",
                          in->user_id ? in->user_id : "(none)");
            goto out;
        }
    }
    if (rc) {
        outcome_error(out, 500, "internal_error", "the store is unavailable");
        goto out;
    }
    requested = json_loads(app.permissions, 0, NULL);
    if (!requested || !granted) {
        outcome_error(out, 500, "internal_error", "the app's permissions are unreadable");
        goto out;
    }
    if (pick_permissions(in, requested, granted, &scopes, out) != 0)
        goto out;
    char existing[CS_ID_BYTES];
    if (cs_find_live_install(cs, app.app_id, instance_id, existing) == 0) {
        outcome_error(out, 409, "already_installed",
                      "the app is already installed in %s as %s (one install per instance)",
                      instance_id, existing);
        goto out;
    }

    granted_text = json_to_string(granted);
    rc = granted_text ? cs_mint_id("instapp_", installed_app_id) : CAPP_ENOMEM;
    if (rc == 0)
        rc = cs_mint_api_key(api_key);
    if (rc) {
        outcome_error(out, 500, "internal_error", "could not mint the install's identifiers");
        goto out;
    }
    memcpy(prefix, api_key, CS_KEY_PREFIX_LEN);
    prefix[CS_KEY_PREFIX_LEN] = '\0';
    crypto_sha256_hex(api_key, strlen(api_key), key_hash);
    rc = store_pending_install(db, installed_app_id, &app, instance_id, user_id, granted_text,
                               scopes, prefix, key_hash);
    if (rc == CAPP_EEXIST) {
        outcome_error(out, 409, "already_installed", "the app is already installed in %s",
                      instance_id);
        goto out;
    }
    if (rc) {
        outcome_error(out, 500, "internal_error", "could not store the install");
        goto out;
    }
    log_info("cloudsim.install_started", "installed_app_id", installed_app_id, "app_id", app.app_id,
             "instance_id", instance_id, "api_key_prefix", prefix, "api_key", api_key, NULL);

    char idempotency_key[CS_ID_BYTES + 16];
    snprintf(idempotency_key, sizeof idempotency_key, "install:%s", installed_app_id);
    payload = json_pack("{s:s, s:s}", "installed_app_id", installed_app_id, "app_id", app.app_id);
    if (payload && cs->config.mode == CS_MODE_V1)
        json_object_set_new(payload, "organization_id", json_string(app.organization_id));
    if (payload) {
        json_object_set_new(payload, "instance_id", json_string(instance_id));
        json_object_set_new(payload, "api_key", json_string(api_key));
        json_object_set_new(payload, "api_key_prefix", json_string(prefix));
        json_object_set(payload, "granted_permissions", granted);
        json_object_set_new(payload, "idempotency_key", json_string(idempotency_key));
    }
    payload_text = payload ? json_to_string(payload) : NULL;
    if (payload) {
        /* the key inside the json_t: overwrite before release */
        json_object_set_new(payload, "api_key", json_string(""));
    }
    int delivered = 0;
    if (payload_text) {
        struct cs_delivery d = {.installed_app_id = installed_app_id,
                                .kind = "install",
                                .url = app.callback_url,
                                .payload = payload_text,
                                .timeout_ms = cs->config.callback_timeout_ms,
                                .faults = in->faults};
        delivered = cs_deliver(cs, &d, &attempts);
    }
    if (delivered &&
        finish_install(db, installed_app_id, "pending", "active", 0, NULL, NULL) == 0) {
        cs_audit_event(cs, "user", "install.succeeded", installed_app_id, prefix, user_id);
        log_info("cloudsim.install_ok", "installed_app_id", installed_app_id, "api_key_prefix",
                 prefix, NULL);
        out->status = 201;
        out->result = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:s, s:s, s:o}", "installed_app_id",
                                installed_app_id, "app_id", app.app_id, "organization_id",
                                app.organization_id, "instance_id", instance_id, "api_key_prefix",
                                prefix, "granted_permissions", granted, "installed_by", user_id,
                                "status", "active", "attempts", attempts ? attempts : json_array());
        attempts = NULL;
        goto out;
    }
    /* spec §4: no 2xx in time → cancel the install and revoke the key */
    char failure[160];
    snprintf(failure, sizeof failure, "the app did not answer 2xx within %ld ms%s",
             cs->config.callback_timeout_ms,
             cs->config.mode == CS_MODE_V1 ? " (after V1 retries)" : "");
    finish_install(db, installed_app_id, "pending", "failed", 1, failure, NULL);
    cs_audit_event(cs, "user", "install.failed", installed_app_id, prefix, failure);
    log_warn("cloudsim.install_failed", "installed_app_id", installed_app_id, "api_key_prefix",
             prefix, NULL);
    out->status = 502;
    out->result = json_pack("{s:s, s:s, s:s, s:s, s:o}", "error", failure, "code", "install_failed",
                            "installed_app_id", installed_app_id, "status", "failed", "attempts",
                            attempts ? attempts : json_array());
    attempts = NULL;
out:
    crypto_wipe(api_key, sizeof api_key);
    if (payload_text) {
        crypto_wipe(payload_text, strlen(payload_text));
        free(payload_text);
    }
    free(granted_text);
    json_decref(payload);
    json_decref(requested);
    json_decref(granted);
    json_decref(attempts);
}

/* ---- uninstall ---- */

void cs_uninstall(struct cloudsim *cs, const char *installed_app_id, const struct cs_faults *faults,
                  struct cs_outcome *out)
{
    struct cs_install_row row;
    struct cs_app_row app;
    sqlite3 *db = cs_db(cs);
    json_t *attempts = NULL;
    char *payload_text = NULL;
    out->result = NULL;
    int rc = db ? cs_load_install(cs, installed_app_id, &row) : CAPP_EDB;
    if (rc == CAPP_ENOTFOUND) {
        outcome_error(out, 404, "unknown_install", "no such install: %s", installed_app_id);
        return;
    }
    if (rc == 0)
        rc = cs_load_app(cs, row.app_id, &app);
    if (rc) {
        outcome_error(out, 500, "internal_error", "the store is unavailable");
        return;
    }
    if (strcmp(row.status, "active") != 0) {
        outcome_error(out, 409, "install_not_active", "install %s is %s, not active",
                      installed_app_id, row.status);
        return;
    }
    char uninstalled_at[32], idempotency_key[CS_ID_BYTES + 16];
    cs_now_rfc3339_seconds(uninstalled_at);
    snprintf(idempotency_key, sizeof idempotency_key, "uninstall:%s", installed_app_id);
    json_t *payload =
        json_pack("{s:s, s:s}", "installed_app_id", installed_app_id, "app_id", row.app_id);
    if (payload && cs->config.mode == CS_MODE_V1)
        json_object_set_new(payload, "organization_id", json_string(row.organization_id));
    if (payload) {
        json_object_set_new(payload, "instance_id", json_string(row.instance_id));
        json_object_set_new(payload, "uninstalled_at", json_string(uninstalled_at));
        json_object_set_new(payload, "idempotency_key", json_string(idempotency_key));
        payload_text = json_to_string(payload);
    }
    json_decref(payload);
    if (!payload_text) {
        outcome_error(out, 500, "internal_error", "out of memory");
        return;
    }
    struct cs_delivery d = {.installed_app_id = installed_app_id,
                            .kind = "uninstall",
                            .url = app.callback_url,
                            .payload = payload_text,
                            .timeout_ms = cs->config.callback_timeout_ms,
                            .faults = *faults};
    if (cs->config.mode == CS_MODE_V1) {
        /* spec §5 [V1]: the key is dead before the app hears of the uninstall */
        rc = finish_install(db, installed_app_id, "active", "uninstalled", 1, NULL, uninstalled_at);
        if (rc) {
            outcome_error(out, rc == CAPP_ECONFLICT ? 409 : 500,
                          rc == CAPP_ECONFLICT ? "install_not_active" : "internal_error",
                          "install %s could not be uninstalled", installed_app_id);
            free(payload_text);
            return;
        }
        int delivered = cs_deliver(cs, &d, &attempts);
        cs_audit_event(cs, "user", "uninstall.succeeded", installed_app_id, row.api_key_prefix,
                       delivered ? "event delivered" : "event not acknowledged");
        out->status = 200;
        out->result =
            json_pack("{s:s, s:s, s:s, s:b, s:o}", "installed_app_id", installed_app_id, "status",
                      "uninstalled", "uninstalled_at", uninstalled_at, "delivered", delivered,
                      "attempts", attempts ? attempts : json_array());
        free(payload_text);
        return;
    }
    /* spec §5 [V2]: notify first; only a 2xx completes the uninstall */
    int delivered = cs_deliver(cs, &d, &attempts);
    free(payload_text);
    if (delivered) {
        rc = finish_install(db, installed_app_id, "active", "uninstalled", 1, NULL, uninstalled_at);
        if (rc == 0) {
            cs_audit_event(cs, "user", "uninstall.succeeded", installed_app_id, row.api_key_prefix,
                           "event delivered");
            out->status = 200;
            out->result =
                json_pack("{s:s, s:s, s:s, s:b, s:o}", "installed_app_id", installed_app_id,
                          "status", "uninstalled", "uninstalled_at", uninstalled_at, "delivered", 1,
                          "attempts", attempts ? attempts : json_array());
            return;
        }
    }
    cs_audit_event(cs, "user", "uninstall.failed", installed_app_id, row.api_key_prefix,
                   "the app did not acknowledge the uninstall event");
    out->status = 502;
    out->result = json_pack("{s:s, s:s, s:s, s:s, s:o}", "error",
                            "the app did not acknowledge the uninstall; the install stays active "
                            "and its key valid. If uninstall fails, wait a few minutes and try "
                            "again.",
                            "code", "uninstall_failed", "installed_app_id", installed_app_id,
                            "status", "active", "attempts", attempts ? attempts : json_array());
}

/* ---- forged uninstall (a test tool) ---- */

void cs_forge_uninstall(struct cloudsim *cs, const char *installed_app_id, const json_t *overrides,
                        struct cs_outcome *out)
{
    struct cs_install_row row;
    struct cs_app_row app;
    out->result = NULL;
    int rc = cs_db(cs) ? cs_load_install(cs, installed_app_id, &row) : CAPP_EDB;
    if (rc == CAPP_ENOTFOUND) {
        outcome_error(out, 404, "unknown_install", "no such install: %s", installed_app_id);
        return;
    }
    if (rc == 0)
        rc = cs_load_app(cs, row.app_id, &app);
    if (rc) {
        outcome_error(out, 500, "internal_error", "the store is unavailable");
        return;
    }
    /* The payload Cloud would send for this install, with the caller's fields over it. */
    char uninstalled_at[32], idempotency_key[CS_ID_BYTES + 16];
    cs_now_rfc3339_seconds(uninstalled_at);
    snprintf(idempotency_key, sizeof idempotency_key, "uninstall:%s", installed_app_id);
    json_t *payload =
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "installed_app_id", installed_app_id, "app_id",
                  row.app_id, "instance_id", row.instance_id, "uninstalled_at", uninstalled_at,
                  "idempotency_key", idempotency_key);
    if (payload && cs->config.mode == CS_MODE_V1)
        json_object_set_new(payload, "organization_id", json_string(row.organization_id));
    if (payload && overrides)
        json_object_update(payload, (json_t *)overrides);
    char *text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    struct httpc *client = NULL;
    if (!text || httpc_new(&client) != 0) {
        free(text);
        outcome_error(out, 500, "internal_error", "out of memory");
        return;
    }
    /* One attempt, as a forger sends it; cloudsim's own state is not touched: the install
     * stays as it is and its key valid. */
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json",
                                          "User-Agent: cloudsim (forged event)", NULL};
    struct httpc_request request = {.method = "POST",
                                    .url = app.callback_url,
                                    .body = text,
                                    .body_len = strlen(text),
                                    .headers = headers,
                                    .connect_timeout_ms = cs->config.callback_timeout_ms,
                                    .total_timeout_ms = cs->config.callback_timeout_ms,
                                    .max_response = 64 * 1024};
    struct httpc_response response = {0};
    rc = httpc_perform(client, &request, &response);
    const char *outcome = rc == CAPP_ETIMEOUT ? "timeout" : rc ? "network_error" : "forged";
    cs_record_delivery(cs, installed_app_id, "forged_uninstall", 1, app.callback_url,
                       response.status, outcome, response.elapsed_ms);
    cs_audit_event(cs, "system", "uninstall.forged_sent", installed_app_id, row.api_key_prefix,
                   "a forged uninstall event was sent; the install is unchanged");
    log_info("cloudsim.forged_uninstall", "installed_app_id", installed_app_id, "status",
             rc ? outcome : "answered", NULL);
    json_t *answer =
        rc == 0 && response.body ? json_loadb(response.body, response.body_len, 0, NULL) : NULL;
    out->status = 200;
    out->result =
        json_pack("{s:s, s:b, s:s, s:I, s:o, s:s}", "installed_app_id", installed_app_id, "forged",
                  1, "status", row.status, "app_status", (json_int_t)response.status, "app_answer",
                  answer ? answer : json_null(), "payload", text);
    httpc_response_free(&response);
    httpc_free(client);
    free(text);
}
