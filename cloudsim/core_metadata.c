/*
 * core_metadata.c — POST /{id}/metadata with Core's shallow top-level merge
 * (blnk-core-api.md §6): each top-level key sent overwrites or adds that key, nothing is ever
 * removed, a nested object replaces the old one whole. Identities, ledgers and balances answer
 * with the merged object; transactions merge into the row and its children
 * (parent_transaction = id) and echo only the keys sent. Read-merge-write runs inside one
 * IMMEDIATE transaction so concurrent writers never lose each other's keys.
 *
 * This is the hottest write path (one call per screened identity): BEGIN, the read, the
 * update and COMMIT are the calling thread's cached statements (core_stmt.h), so a call
 * parses no SQL; the stored object is parsed once and the merged one serialised once.
 */
#include "cloudsim/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/db.h"
#include "capp/err.h"
#include "capp/json.h"
#include "cloudsim/core_stmt.h"

/* BEGIN IMMEDIATE, COMMIT, ROLLBACK through the thread's statement cache. */
static int run_cached(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int rc = core_stmt_get(db, sql, &stmt);
    if (rc == 0) {
        rc = db_step_done(stmt);
        core_stmt_put(stmt);
    }
    return rc;
}

static int merge_row(sqlite3 *db, const char *table, const char *id_column, const char *id,
                     const char *instance_id, const json_t *patch, json_t **merged)
{
    char sql[256];
    sqlite3_stmt *stmt = NULL;
    snprintf(sql, sizeof sql, "SELECT meta_data FROM %s WHERE %s = ? AND instance_id = ?", table,
             id_column);
    int rc = core_stmt_get(db, sql, &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, id);
    db_bind_text(stmt, 2, instance_id);
    rc = db_step_row(stmt);
    json_t *current = NULL;
    if (rc == 1) {
        const char *text = (const char *)sqlite3_column_text(stmt, 0);
        current = text ? json_loadb(text, (size_t)sqlite3_column_bytes(stmt, 0), 0, NULL) : NULL;
        if (!json_is_object(current)) {
            json_decref(current);
            current = json_object();
        }
    }
    core_stmt_put(stmt);
    if (rc <= 0)
        return rc < 0 ? rc : CAPP_ENOTFOUND;
    if (!current || json_object_update(current, (json_t *)patch) != 0) {
        json_decref(current);
        return CAPP_ENOMEM;
    }
    char *text = json_to_string(current);
    snprintf(sql, sizeof sql, "UPDATE %s SET meta_data = ? WHERE %s = ? AND instance_id = ?", table,
             id_column);
    rc = text ? core_stmt_get(db, sql, &stmt) : CAPP_ENOMEM;
    if (rc == 0) {
        db_bind_text(stmt, 1, text);
        db_bind_text(stmt, 2, id);
        db_bind_text(stmt, 3, instance_id);
        rc = db_step_done(stmt);
        core_stmt_put(stmt);
    }
    free(text);
    if (rc == 0 && merged)
        *merged = current;
    else
        json_decref(current);
    return rc;
}

int core_metadata_update(sqlite3 *db, const char *instance_id, const char *entity_id,
                         const json_t *patch, json_t **out, struct core_error *err)
{
    const char *table, *id_column;
    int is_txn = 0;
    if (strncmp(entity_id, "idt_", 4) == 0) {
        table = "core_identities";
        id_column = "identity_id";
    } else if (strncmp(entity_id, "ldg_", 4) == 0) {
        table = "core_ledgers";
        id_column = "ledger_id";
    } else if (strncmp(entity_id, "bln_", 4) == 0) {
        table = "core_balances";
        id_column = "balance_id";
    } else if (strncmp(entity_id, "txn_", 4) == 0 || strncmp(entity_id, "bulk_", 5) == 0) {
        table = "core_transactions";
        id_column = "transaction_id";
        is_txn = 1;
    } else {
        core_error_set(err, 400, "META_INVALID_ENTITY_ID", "invalid entity ID format: %s",
                       entity_id);
        return CAPP_EINVAL;
    }
    if (!json_is_object(patch)) {
        core_error_set(err, 400, "GEN_MALFORMED_REQUEST", "meta_data is required");
        return CAPP_EPARSE;
    }
    int rc = run_cached(db, "BEGIN IMMEDIATE");
    if (rc)
        return rc;
    json_t *merged = NULL;
    rc = merge_row(db, table, id_column, entity_id, instance_id, patch, &merged);
    if (rc == 0 && is_txn) {
        /* children: every row whose parent_transaction is this ID */
        sqlite3_stmt *stmt = NULL;
        rc = db_prepare(db,
                        "SELECT transaction_id FROM core_transactions WHERE parent_transaction = ?"
                        " AND instance_id = ?",
                        &stmt);
        if (rc == 0) {
            db_bind_text(stmt, 1, entity_id);
            db_bind_text(stmt, 2, instance_id);
            char child[CORE_ID_BYTES];
            json_t *ids = json_array();
            while (db_step_row(stmt) == 1) {
                db_column_copy(stmt, 0, child, sizeof child);
                json_array_append_new(ids, json_string(child));
            }
            sqlite3_finalize(stmt);
            size_t i;
            json_t *c;
            json_array_foreach(ids, i, c)
            {
                if (rc == 0)
                    rc = merge_row(db, table, id_column, json_string_value(c), instance_id, patch,
                                   NULL);
            }
            json_decref(ids);
        }
    }
    if (rc) {
        if (run_cached(db, "ROLLBACK") != 0)
            db_rollback(db);
        json_decref(merged);
        if (rc == CAPP_ENOTFOUND)
            core_error_set(err, 404, "META_ENTITY_NOT_FOUND", "entity not found");
        else
            core_error_set(err, 500, "GEN_INTERNAL", "internal server error");
        return rc;
    }
    rc = run_cached(db, "COMMIT");
    if (rc) {
        if (sqlite3_get_autocommit(db) == 0)
            db_rollback(db);
        json_decref(merged);
        core_error_set(err, 500, "GEN_INTERNAL", "internal server error");
        return rc;
    }
    if (is_txn) {
        json_decref(merged);
        merged = json_deep_copy(patch);
    }
    *out = json_pack("{s:o}", "meta_data", merged);
    return *out ? 0 : CAPP_ENOMEM;
}
