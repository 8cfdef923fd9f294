/*
 * core_alerts.c — alerts and custom statuses (see core_alerts.h).
 *
 * Status keys are stored upper-case, so the case-insensitive lookups of the spec are plain
 * equality on an upper-cased key. The affected_* arrays are not stored: an alert flags exactly
 * one ID, which lands in the array matching its type.
 */
#include "cloudsim/core_alerts.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "capp/db.h"
#include "capp/err.h"

const char *const cs_alert_builtin_statuses[3] = {"FLAGGED", "INVESTIGATING", "RESOLVED"};
static const char *const builtin_names[3] = {"Flagged", "Investigating", "Resolved"};
static const char *const builtin_colours[3] = {"#EF4444", "#F59E0B", "#10B981"};

static int without_resolved; /* immutable once serving (cs_alert_configure) */

void cs_alert_configure(int without)
{
    without_resolved = without;
}

static int builtin_exists(int i)
{
    return !(without_resolved && strcmp(cs_alert_builtin_statuses[i], "RESOLVED") == 0);
}

const char *const cs_alert_allowed_colours[] = {
    "#3B82F6", "#10B981", "#F59E0B", "#EF4444", "#8B5CF6", "#EC4899", "#06B6D4", "#84CC16",
    "#F97316", "#6366F1", "#14B8A6", "#A855F7", "#E11D48", "#64748B", "#0EA5E9", NULL,
};

#define ALERT_COLUMNS                                                                      \
    "anomaly_id, title, description, type, assigned_to, escalated_to, status, created_at," \
    " updated_at, target_id"

static json_t *alert_json(sqlite3_stmt *stmt)
{
    const char *type = (const char *)sqlite3_column_text(stmt, 3);
    const char *target = (const char *)sqlite3_column_text(stmt, 9);
    json_t *escalated = json_loads((const char *)sqlite3_column_text(stmt, 5), 0, NULL);
    if (!json_is_array(escalated)) {
        json_decref(escalated);
        escalated = json_array();
    }
    json_t *balances = json_array(), *identities = json_array(), *transactions = json_array();
    json_t *which = strcmp(type, "Balance") == 0       ? balances
                    : strcmp(type, "Identity") == 0    ? identities
                    : strcmp(type, "Transaction") == 0 ? transactions
                                                       : NULL;
    if (which)
        json_array_append_new(which, json_string(target));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:o, s:o}", "anomaly_id",
                     (const char *)sqlite3_column_text(stmt, 0), "title",
                     (const char *)sqlite3_column_text(stmt, 1), "description",
                     (const char *)sqlite3_column_text(stmt, 2), "type", type, "assigned_to",
                     (const char *)sqlite3_column_text(stmt, 4), "escalated_to", escalated,
                     "status", (const char *)sqlite3_column_text(stmt, 6), "created_at",
                     (const char *)sqlite3_column_text(stmt, 7), "updated_at",
                     (const char *)sqlite3_column_text(stmt, 8), "affected_balances", balances,
                     "affected_identities", identities, "affected_transactions", transactions);
}

int cs_alert_get(sqlite3 *db, const char *organization_id, const char *instance_id,
                 const char *anomaly_id, json_t **out, struct core_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = db_prepare(db,
                        "SELECT " ALERT_COLUMNS " FROM cloud_alerts WHERE anomaly_id = ? AND"
                        " organization_id = ? AND instance_id = ?",
                        &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, anomaly_id);
    db_bind_text(stmt, 2, organization_id);
    db_bind_text(stmt, 3, instance_id);
    rc = db_step_row(stmt);
    if (rc == 1) {
        *out = alert_json(stmt);
        rc = *out ? 0 : CAPP_ENOMEM;
    } else if (rc == 0) {
        core_error_set(err, 404, "not_found", "alert '%s' not found", anomaly_id);
        rc = CAPP_ENOTFOUND;
    }
    sqlite3_finalize(stmt);
    return rc;
}

static int target_exists(sqlite3 *db, const char *table, const char *column, const char *id,
                         const char *instance_id)
{
    char sql[200];
    sqlite3_stmt *stmt = NULL;
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE %s = ? AND instance_id = ?", table, column);
    int rc = db_prepare(db, sql, &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, id);
    db_bind_text(stmt, 2, instance_id);
    rc = db_step_row(stmt);
    sqlite3_finalize(stmt);
    return rc;
}

int cs_alert_create(sqlite3 *db, const char *organization_id, const char *instance_id,
                    const char *target_id, const char *title, const char *description, json_t **out,
                    struct core_error *err)
{
    const char *type, *table, *column;
    if (strncmp(target_id, "idt_", 4) == 0) {
        type = "Identity", table = "core_identities", column = "identity_id";
    } else if (strncmp(target_id, "bln_", 4) == 0) {
        type = "Balance", table = "core_balances", column = "balance_id";
    } else if (strncmp(target_id, "txn_", 4) == 0) {
        type = "Transaction", table = "core_transactions", column = "transaction_id";
    } else {
        core_error_set(err, 400, "invalid_id",
                       "'%.128s' is not a balance (bln_), transaction (txn_) or identity (idt_) ID",
                       target_id);
        return CAPP_EINVAL;
    }
    if (!description || !*description) {
        core_error_set(err, 400, "missing_description", "description is required");
        return CAPP_EINVAL;
    }
    if (strlen(description) > CS_ALERT_MAX_DESCRIPTION ||
        (title && strlen(title) > CS_ALERT_MAX_TITLE)) {
        core_error_set(err, 400, "too_large", "title or description too long");
        return CAPP_ETOOBIG;
    }
    int rc = target_exists(db, table, column, target_id, instance_id);
    if (rc <= 0) {
        core_error_set(err, 404, "not_found", "%s '%.128s' not found", type, target_id);
        return rc < 0 ? rc : CAPP_ENOTFOUND;
    }
    char uuid[CORE_UUID_BYTES], id[CORE_ID_BYTES], now[CORE_TIME_BYTES];
    rc = core_uuid4(uuid);
    if (rc)
        return rc;
    snprintf(id, sizeof id, "ano_%s", uuid);
    core_now(now);
    sqlite3_stmt *stmt = NULL;
    rc = db_prepare(db,
                    "INSERT INTO cloud_alerts (anomaly_id, organization_id, instance_id, title,"
                    " description, type, target_id, status, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,'FLAGGED',?,?)",
                    &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, id);
    db_bind_text(stmt, 2, organization_id);
    db_bind_text(stmt, 3, instance_id);
    db_bind_text(stmt, 4, title && *title ? title : "");
    db_bind_text(stmt, 5, description);
    db_bind_text(stmt, 6, type);
    db_bind_text(stmt, 7, target_id);
    db_bind_text(stmt, 8, now);
    db_bind_text(stmt, 9, now);
    rc = db_step_done(stmt);
    sqlite3_finalize(stmt);
    if (rc)
        return rc;
    return cs_alert_get(db, organization_id, instance_id, id, out, err);
}

int cs_alert_status_key(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    int pending_sep = 0;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c)) {
            if (pending_sep && n > 0 && n + 1 < cap)
                out[n++] = '_';
            pending_sep = 0;
            if (n + 1 < cap)
                out[n++] = (char)toupper(c);
        } else {
            pending_sep = 1;
        }
    }
    out[n] = '\0';
    return n ? 0 : CAPP_EINVAL;
}

/* 1 when key is built-in or a custom status of the organization. */
static int status_known(sqlite3 *db, const char *organization_id, const char *key)
{
    for (int i = 0; i < 3; i++)
        if (builtin_exists(i) && strcmp(key, cs_alert_builtin_statuses[i]) == 0)
            return 1;
    sqlite3_stmt *stmt = NULL;
    if (db_prepare(db, "SELECT 1 FROM cloud_alert_statuses WHERE organization_id = ? AND key = ?",
                   &stmt))
        return -1;
    db_bind_text(stmt, 1, organization_id);
    db_bind_text(stmt, 2, key);
    int rc = db_step_row(stmt);
    sqlite3_finalize(stmt);
    return rc;
}

static void upper_copy(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        out[i] = (char)toupper((unsigned char)s[i]);
    out[i] = '\0';
}

int cs_alert_update(sqlite3 *db, const char *organization_id, const char *instance_id,
                    const char *anomaly_id, const char *title, const char *description,
                    const char *status, json_t **out, struct core_error *err)
{
    json_t *current = NULL;
    int rc = cs_alert_get(db, organization_id, instance_id, anomaly_id, &current, err);
    if (rc)
        return rc;
    json_decref(current);
    char key[CS_ALERT_MAX_STATUS_NAME + 1] = "";
    if (status) {
        upper_copy(status, key, sizeof key);
        int known = *key ? status_known(db, organization_id, key) : 0;
        if (known < 0)
            return CAPP_EDB;
        if (!known) {
            core_error_set(err, 400, "unknown_status", "unknown alert status '%.100s'", status);
            return CAPP_EINVAL;
        }
    }
    if ((description && strlen(description) > CS_ALERT_MAX_DESCRIPTION) ||
        (title && strlen(title) > CS_ALERT_MAX_TITLE)) {
        core_error_set(err, 400, "too_large", "title or description too long");
        return CAPP_ETOOBIG;
    }
    char now[CORE_TIME_BYTES];
    core_now(now);
    sqlite3_stmt *stmt = NULL;
    rc = db_prepare(db,
                    "UPDATE cloud_alerts SET title = coalesce(?, title),"
                    " description = coalesce(?, description), status = coalesce(?, status),"
                    " updated_at = ? WHERE anomaly_id = ? AND organization_id = ? AND"
                    " instance_id = ?",
                    &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, title);
    db_bind_text(stmt, 2, description && *description ? description : NULL);
    db_bind_text(stmt, 3, status ? key : NULL);
    db_bind_text(stmt, 4, now);
    db_bind_text(stmt, 5, anomaly_id);
    db_bind_text(stmt, 6, organization_id);
    db_bind_text(stmt, 7, instance_id);
    rc = db_step_done(stmt);
    sqlite3_finalize(stmt);
    if (rc)
        return rc;
    return cs_alert_get(db, organization_id, instance_id, anomaly_id, out, err);
}

int cs_alert_list(sqlite3 *db, const char *organization_id, const char *instance_id,
                  long long limit, long long offset, json_t **data, long long *total)
{
    sqlite3_stmt *stmt = NULL;
    int rc = db_prepare(db,
                        "SELECT count(*) FROM cloud_alerts WHERE organization_id = ? AND"
                        " instance_id = ?",
                        &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, organization_id);
    db_bind_text(stmt, 2, instance_id);
    rc = db_step_row(stmt);
    *total = rc == 1 ? sqlite3_column_int64(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    if (rc < 0)
        return rc;
    rc = db_prepare(db,
                    "SELECT " ALERT_COLUMNS " FROM cloud_alerts WHERE organization_id = ? AND"
                    " instance_id = ? ORDER BY created_at DESC, anomaly_id ASC LIMIT ? OFFSET ?",
                    &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, organization_id);
    db_bind_text(stmt, 2, instance_id);
    db_bind_int64(stmt, 3, limit);
    db_bind_int64(stmt, 4, offset);
    json_t *rows = json_array();
    while ((rc = db_step_row(stmt)) == 1)
        json_array_append_new(rows, alert_json(stmt));
    sqlite3_finalize(stmt);
    if (rc < 0) {
        json_decref(rows);
        return rc;
    }
    *data = rows;
    return 0;
}

/* ---- custom statuses ---- */

static int colour_allowed(const char *colour)
{
    for (int i = 0; cs_alert_allowed_colours[i]; i++)
        if (strcasecmp(colour, cs_alert_allowed_colours[i]) == 0)
            return 1;
    return 0;
}

static json_t *colours_json(void)
{
    json_t *a = json_array();
    for (int i = 0; cs_alert_allowed_colours[i]; i++)
        json_array_append_new(a, json_string(cs_alert_allowed_colours[i]));
    return a;
}

#define STATUS_COLUMNS "organization_id, key, name, colour, created_at, updated_at"

static json_t *status_json(sqlite3_stmt *stmt)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "organization_id",
                     (const char *)sqlite3_column_text(stmt, 0), "key",
                     (const char *)sqlite3_column_text(stmt, 1), "name",
                     (const char *)sqlite3_column_text(stmt, 2), "colour",
                     (const char *)sqlite3_column_text(stmt, 3), "created_at",
                     (const char *)sqlite3_column_text(stmt, 4), "updated_at",
                     (const char *)sqlite3_column_text(stmt, 5));
}

static int status_get(sqlite3 *db, const char *organization_id, const char *key, json_t **out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = db_prepare(db,
                        "SELECT " STATUS_COLUMNS " FROM cloud_alert_statuses WHERE"
                        " organization_id = ? AND key = ?",
                        &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, organization_id);
    db_bind_text(stmt, 2, key);
    rc = db_step_row(stmt);
    if (rc == 1) {
        *out = status_json(stmt);
        rc = *out ? 0 : CAPP_ENOMEM;
    } else if (rc == 0) {
        rc = CAPP_ENOTFOUND;
    }
    sqlite3_finalize(stmt);
    return rc;
}

int cs_alert_status_list(sqlite3 *db, const char *organization_id, json_t **out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = db_prepare(db,
                        "SELECT " STATUS_COLUMNS " FROM cloud_alert_statuses WHERE"
                        " organization_id = ? ORDER BY created_at, key",
                        &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, organization_id);
    json_t *rows = json_array();
    for (int i = 0; i < 3; i++)
        if (builtin_exists(i))
            json_array_append_new(
                rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "organization_id",
                                organization_id, "key", cs_alert_builtin_statuses[i], "name",
                                builtin_names[i], "colour", builtin_colours[i], "created_at",
                                "1970-01-01T00:00:00Z", "updated_at", "1970-01-01T00:00:00Z"));
    while ((rc = db_step_row(stmt)) == 1)
        json_array_append_new(rows, status_json(stmt));
    sqlite3_finalize(stmt);
    if (rc < 0) {
        json_decref(rows);
        return rc;
    }
    *out = json_pack("{s:o, s:o}", "data", rows, "allowed_colours", colours_json());
    return *out ? 0 : CAPP_ENOMEM;
}

int cs_alert_status_create(sqlite3 *db, const char *organization_id, const char *name,
                           const char *colour, const char *key_in, json_t **out,
                           struct core_error *err)
{
    char key[CS_ALERT_MAX_STATUS_NAME + 1];
    if (!name || !*name || strlen(name) > CS_ALERT_MAX_STATUS_NAME) {
        core_error_set(err, 400, "invalid_name", "name is required (at most %d bytes)",
                       CS_ALERT_MAX_STATUS_NAME);
        return CAPP_EINVAL;
    }
    if (!colour || !colour_allowed(colour)) {
        core_error_set(err, 400, "invalid_colour", "colour must be one of allowed_colours");
        return CAPP_EINVAL;
    }
    if (cs_alert_status_key(key_in && *key_in ? key_in : name, key, sizeof key) != 0 ||
        (key_in && *key_in && strlen(key_in) > CS_ALERT_MAX_STATUS_NAME)) {
        core_error_set(err, 400, "invalid_key", "status key must contain letters or digits");
        return CAPP_EINVAL;
    }
    if (status_known(db, organization_id, key) != 0) {
        core_error_set(err, 409, "status_exists", "status key '%s' already exists", key);
        return CAPP_EEXIST;
    }
    char now[CORE_TIME_BYTES], upper[16];
    core_now(now);
    upper_copy(colour, upper, sizeof upper);
    sqlite3_stmt *stmt = NULL;
    int rc = db_prepare(db,
                        "INSERT INTO cloud_alert_statuses (" STATUS_COLUMNS ")"
                        " VALUES (?,?,?,?,?,?)",
                        &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, organization_id);
    db_bind_text(stmt, 2, key);
    db_bind_text(stmt, 3, name);
    db_bind_text(stmt, 4, upper);
    db_bind_text(stmt, 5, now);
    db_bind_text(stmt, 6, now);
    rc = db_step_done(stmt);
    sqlite3_finalize(stmt);
    if (rc == CAPP_EEXIST)
        core_error_set(err, 409, "status_exists", "status key '%s' already exists", key);
    return rc ? rc : status_get(db, organization_id, key, out);
}

int cs_alert_status_update(sqlite3 *db, const char *organization_id, const char *key_in,
                           const char *name, const char *colour, json_t **out,
                           struct core_error *err)
{
    char key[CS_ALERT_MAX_STATUS_NAME + 1], now[CORE_TIME_BYTES], upper[16] = "";
    upper_copy(key_in, key, sizeof key);
    if (name && (!*name || strlen(name) > CS_ALERT_MAX_STATUS_NAME)) {
        core_error_set(err, 400, "invalid_name", "name must be 1 to %d bytes",
                       CS_ALERT_MAX_STATUS_NAME);
        return CAPP_EINVAL;
    }
    if (colour && !colour_allowed(colour)) {
        core_error_set(err, 400, "invalid_colour", "colour must be one of allowed_colours");
        return CAPP_EINVAL;
    }
    if (colour)
        upper_copy(colour, upper, sizeof upper);
    core_now(now);
    sqlite3_stmt *stmt = NULL;
    int rc = db_prepare(db,
                        "UPDATE cloud_alert_statuses SET name = coalesce(?, name),"
                        " colour = coalesce(?, colour), updated_at = ? WHERE organization_id = ?"
                        " AND key = ?",
                        &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, name);
    db_bind_text(stmt, 2, colour ? upper : NULL);
    db_bind_text(stmt, 3, now);
    db_bind_text(stmt, 4, organization_id);
    db_bind_text(stmt, 5, key);
    rc = db_step_done(stmt);
    int changed = sqlite3_changes(db);
    sqlite3_finalize(stmt);
    if (rc)
        return rc;
    if (!changed) {
        core_error_set(err, 404, "not_found", "status '%.100s' not found", key_in);
        return CAPP_ENOTFOUND;
    }
    return status_get(db, organization_id, key, out);
}

int cs_alert_status_delete(sqlite3 *db, const char *organization_id, const char *key_in,
                           struct core_error *err)
{
    char key[CS_ALERT_MAX_STATUS_NAME + 1];
    upper_copy(key_in, key, sizeof key);
    int rc = db_begin_immediate(db);
    if (rc)
        return rc;
    sqlite3_stmt *stmt = NULL;
    rc = db_prepare(
        db, "SELECT count(*) FROM cloud_alerts WHERE organization_id = ? AND status = ?", &stmt);
    long long in_use = 0;
    if (rc == 0) {
        db_bind_text(stmt, 1, organization_id);
        db_bind_text(stmt, 2, key);
        if (db_step_row(stmt) == 1)
            in_use = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
    }
    if (rc == 0 && in_use > 0) {
        core_error_set(err, 409, "status_in_use",
                       "cannot delete status: %lld alert(s) use this status - reassign them to "
                       "another status first",
                       in_use);
        rc = CAPP_ECONFLICT;
    }
    if (rc == 0)
        rc = db_prepare(
            db, "DELETE FROM cloud_alert_statuses WHERE organization_id = ? AND key = ?", &stmt);
    if (rc == 0) {
        db_bind_text(stmt, 1, organization_id);
        db_bind_text(stmt, 2, key);
        rc = db_step_done(stmt);
        int changed = sqlite3_changes(db);
        sqlite3_finalize(stmt);
        if (rc == 0 && !changed) {
            core_error_set(err, 404, "not_found", "status '%.100s' not found", key_in);
            rc = CAPP_ENOTFOUND;
        }
    }
    if (rc) {
        db_rollback(db);
        return rc;
    }
    return db_commit(db);
}
