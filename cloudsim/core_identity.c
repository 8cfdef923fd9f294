/*
 * core_identity.c — Core's identity endpoints as store operations (blnk-core-api.md §3–4):
 * create with Core's validation (dob RFC 3339, identity_id idt_+UUID, duplicate → 400),
 * partial update (only non-empty strings; meta_data replaces the whole object), delete.
 */
#include "cloudsim/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/db.h"
#include "capp/err.h"
#include "capp/json.h"

/* The string columns in the order struct core_identity lists them. */
static const char *const string_columns[] = {
    "identity_type", "organization_name", "category",     "first_name",  "last_name", "other_names",
    "gender",        "email_address",     "phone_number", "nationality", "street",    "country",
    "state",         "post_code",         "city",
};
#define STRING_COLUMNS (sizeof string_columns / sizeof string_columns[0])

static const char *string_at(const struct core_identity *in, size_t i)
{
    const char *const values[STRING_COLUMNS] = {
        in->identity_type, in->organization_name, in->category, in->first_name,
        in->last_name,     in->other_names,       in->gender,   in->email_address,
        in->phone_number,  in->nationality,       in->street,   in->country,
        in->state,         in->post_code,         in->city,
    };
    return values[i];
}

static const char **string_slot(struct core_identity *in, size_t i)
{
    const char **slots[STRING_COLUMNS] = {
        &in->identity_type, &in->organization_name, &in->category, &in->first_name,
        &in->last_name,     &in->other_names,       &in->gender,   &in->email_address,
        &in->phone_number,  &in->nationality,       &in->street,   &in->country,
        &in->state,         &in->post_code,         &in->city,
    };
    return slots[i];
}

int core_identity_from_json(const json_t *body, struct core_identity *in, char dob[11],
                            struct core_error *err)
{
    memset(in, 0, sizeof *in);
    if (!json_is_object(body)) {
        core_error_set(err, 400, "GEN_MALFORMED_REQUEST", "invalid request body");
        return CAPP_EPARSE;
    }
    for (size_t i = 0; i < STRING_COLUMNS; i++) {
        const json_t *v = json_object_get(body, string_columns[i]);
        if (!v || json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            core_error_set(err, 400, "GEN_MALFORMED_REQUEST",
                           "json: cannot unmarshal %s into Go struct field Identity.%s of type "
                           "string",
                           json_is_number(v) ? "number" : "value", string_columns[i]);
            return CAPP_EPARSE;
        }
        *string_slot(in, i) = json_string_value(v);
    }
    const json_t *id = json_object_get(body, "identity_id");
    if (json_is_string(id) && json_string_length(id) > 0) {
        const char *s = json_string_value(id);
        if (strncmp(s, "idt_", 4) != 0) {
            core_error_set(err, 400, "IDT_VALIDATION_ERROR",
                           "identity_id must start with the 'idt_' prefix");
            return CAPP_EINVAL;
        }
        if (!core_is_uuid(s + 4)) {
            core_error_set(err, 400, "IDT_VALIDATION_ERROR",
                           "identity_id suffix after 'idt_' must be a valid UUID");
            return CAPP_EINVAL;
        }
        in->identity_id = s;
    }
    const json_t *jdob = json_object_get(body, "dob");
    if (jdob && !json_is_null(jdob)) {
        const char *s = json_is_string(jdob) ? json_string_value(jdob) : "";
        /* Go's time.Time decodes RFC 3339 only: a bare date is a decoding error */
        if (!json_is_string(jdob) || strlen(s) <= 10 || core_parse_date(s, dob) != 0) {
            core_error_set(
                err, 400, "GEN_MALFORMED_REQUEST",
                "parsing time \"\\\"%.60s\\\"\" as \"\\\"2006-01-02T15:04:05Z07:00\\\"\": "
                "cannot parse \"\\\"\" as \"T\"",
                s);
            return CAPP_EPARSE;
        }
        in->dob = dob;
    }
    const json_t *meta = json_object_get(body, "meta_data");
    if (meta && !json_is_null(meta)) {
        if (!json_is_object(meta)) {
            core_error_set(err, 400, "GEN_MALFORMED_REQUEST",
                           "json: cannot unmarshal meta_data: expected an object");
            return CAPP_EPARSE;
        }
        in->meta_data = meta;
    }
    return 0;
}

int core_identity_create(sqlite3 *db, const char *instance_id, const struct core_identity *in,
                         char out_id[CORE_ID_BYTES], struct core_error *err)
{
    char uuid[CORE_UUID_BYTES], now[CORE_TIME_BYTES];
    if (in->identity_id) {
        snprintf(out_id, CORE_ID_BYTES, "%s", in->identity_id);
    } else {
        int rc = core_uuid4(uuid);
        if (rc)
            return rc;
        snprintf(out_id, CORE_ID_BYTES, "idt_%s", uuid);
    }
    core_now(now);
    sqlite3_stmt *stmt = NULL;
    int rc = db_prepare(db,
                        "INSERT INTO core_identities (identity_id, instance_id, identity_type,"
                        " organization_name, category, first_name, last_name, other_names,"
                        " gender, email_address, phone_number, nationality, street, country,"
                        " state, post_code, city, dob, created_at, meta_data)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        &stmt);
    if (rc)
        return rc;
    char *meta = in->meta_data ? json_to_string(in->meta_data) : NULL;
    db_bind_text(stmt, 1, out_id);
    db_bind_text(stmt, 2, instance_id);
    for (size_t i = 0; i < STRING_COLUMNS; i++)
        db_bind_text(stmt, 3 + (int)i, string_at(in, i) ? string_at(in, i) : "");
    db_bind_text(stmt, 18, in->dob ? in->dob : "0001-01-01");
    db_bind_text(stmt, 19, in->created_at ? in->created_at : now);
    db_bind_text(stmt, 20, meta);
    rc = db_step_done(stmt);
    sqlite3_finalize(stmt);
    free(meta);
    if (rc == CAPP_EEXIST)
        core_error_set(err, 400, "IDT_VALIDATION_ERROR", "Identity already exists: %s", out_id);
    else if (rc)
        core_error_set(err, 500, "GEN_INTERNAL", "internal server error");
    return rc;
}

static void not_found(struct core_error *err, const char *id)
{
    core_error_set(err, 404, "IDT_NOT_FOUND", "Identity with ID '%s' not found", id);
    if (err)
        err->details_empty_object = 1;
}

int core_identity_update(sqlite3 *db, const char *instance_id, const char *id,
                         const struct core_identity *in, struct core_error *err)
{
    struct buf sql;
    const char *binds[STRING_COLUMNS + 2];
    size_t nbinds = 0;
    char *meta = NULL;
    buf_init(&sql, 4096);
    int rc = buf_append_str(&sql, "UPDATE core_identities SET ");
    for (size_t i = 0; rc == 0 && i < STRING_COLUMNS; i++) {
        const char *v = string_at(in, i);
        if (!v || !*v)
            continue;
        rc = buf_printf(&sql, "%s%s = ?", nbinds ? ", " : "", string_columns[i]);
        binds[nbinds++] = v;
    }
    if (rc == 0 && in->dob && strcmp(in->dob, "0001-01-01") != 0) {
        rc = buf_printf(&sql, "%sdob = ?", nbinds ? ", " : "");
        binds[nbinds++] = in->dob;
    }
    if (rc == 0 && in->meta_data) {
        meta = json_to_string(in->meta_data);
        rc = meta ? buf_printf(&sql, "%smeta_data = ?", nbinds ? ", " : "") : CAPP_ENOMEM;
        binds[nbinds++] = meta;
    }
    if (rc == 0)
        rc = buf_append_str(&sql, " WHERE identity_id = ? AND instance_id = ?");
    if (rc)
        goto out;
    /* existence first: Core answers 404 before "no fields" for an unknown ID */
    sqlite3_stmt *stmt = NULL;
    rc = db_prepare(db, "SELECT 1 FROM core_identities WHERE identity_id = ? AND instance_id = ?",
                    &stmt);
    if (rc == 0) {
        db_bind_text(stmt, 1, id);
        db_bind_text(stmt, 2, instance_id);
        int r = db_step_row(stmt);
        rc = r == 1 ? 0 : r == 0 ? CAPP_ENOTFOUND : r;
        sqlite3_finalize(stmt);
    }
    if (rc == CAPP_ENOTFOUND) {
        not_found(err, id);
        goto out;
    }
    if (rc)
        goto out;
    if (nbinds == 0) {
        core_error_set(err, 400, "GEN_BAD_REQUEST", "No fields provided for update");
        rc = CAPP_EINVAL;
        goto out;
    }
    rc = db_prepare(db, sql.data, &stmt);
    if (rc)
        goto out;
    for (size_t i = 0; i < nbinds; i++)
        db_bind_text(stmt, (int)i + 1, binds[i]);
    db_bind_text(stmt, (int)nbinds + 1, id);
    db_bind_text(stmt, (int)nbinds + 2, instance_id);
    rc = db_step_done(stmt);
    sqlite3_finalize(stmt);
out:
    if (rc && err && !err->code)
        core_error_set(err, 500, "GEN_INTERNAL", "internal server error");
    free(meta);
    buf_free(&sql);
    return rc;
}

int core_identity_delete(sqlite3 *db, const char *instance_id, const char *id,
                         struct core_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = db_prepare(db, "DELETE FROM core_identities WHERE identity_id = ? AND instance_id = ?",
                        &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, id);
    db_bind_text(stmt, 2, instance_id);
    rc = db_step_done(stmt);
    int changed = sqlite3_changes(db);
    sqlite3_finalize(stmt);
    if (rc == CAPP_EEXIST) {
        /* a balance still references it (foreign key) */
        core_error_set(err, 500, "GEN_INTERNAL", "Failed to delete identity");
        return CAPP_ECONFLICT;
    }
    if (rc) {
        core_error_set(err, 500, "GEN_INTERNAL", "internal server error");
        return rc;
    }
    if (changed == 0) {
        not_found(err, id);
        return CAPP_ENOTFOUND;
    }
    return 0;
}
