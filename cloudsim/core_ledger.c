/*
 * core_ledger.c — ledgers, balances and transactions, the basics Core offers behind /proxy
 * (blnk-core-api.md §8). Transactions are applied at once (no queue): amounts move between the
 * source and destination balances in minor units (precise_amount = amount × precision) inside
 * one SQLite transaction. "@world"-style indicators are not modelled; an unknown source or
 * destination is a validation error.
 */
#include "cloudsim/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/assert.h"
#include "capp/db.h"
#include "capp/err.h"
#include "capp/json.h"

static char *meta_text(const json_t *meta)
{
    return meta ? json_to_string(meta) : NULL;
}

int core_ledger_create(sqlite3 *db, const char *instance_id, const char *name,
                       const json_t *meta_data, const char *created_at, char out_id[CORE_ID_BYTES])
{
    char uuid[CORE_UUID_BYTES], now[CORE_TIME_BYTES];
    int rc = core_uuid4(uuid);
    if (rc)
        return rc;
    snprintf(out_id, CORE_ID_BYTES, "ldg_%s", uuid);
    core_now(now);
    sqlite3_stmt *stmt = NULL;
    rc = db_prepare(db,
                    "INSERT INTO core_ledgers (ledger_id, instance_id, name, created_at, meta_data)"
                    " VALUES (?,?,?,?,?)",
                    &stmt);
    if (rc)
        return rc;
    char *meta = meta_text(meta_data);
    db_bind_text(stmt, 1, out_id);
    db_bind_text(stmt, 2, instance_id);
    db_bind_text(stmt, 3, name);
    db_bind_text(stmt, 4, created_at ? created_at : now);
    db_bind_text(stmt, 5, meta);
    rc = db_step_done(stmt);
    sqlite3_finalize(stmt);
    free(meta);
    return rc;
}

int core_ledger_rename(sqlite3 *db, const char *instance_id, const char *id, const char *name)
{
    sqlite3_stmt *stmt = NULL;
    int rc = db_prepare(
        db, "UPDATE core_ledgers SET name = ? WHERE ledger_id = ? AND instance_id = ?", &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, name);
    db_bind_text(stmt, 2, id);
    db_bind_text(stmt, 3, instance_id);
    rc = db_step_done(stmt);
    int changed = sqlite3_changes(db);
    sqlite3_finalize(stmt);
    return rc ? rc : changed ? 0 : CAPP_ENOTFOUND;
}

static int exists(sqlite3 *db, const char *table, const char *id_column, const char *id,
                  const char *instance_id)
{
    char sql[256];
    sqlite3_stmt *stmt = NULL;
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE %s = ? AND instance_id = ?", table,
             id_column);
    int rc = db_prepare(db, sql, &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, id);
    db_bind_text(stmt, 2, instance_id);
    rc = db_step_row(stmt);
    sqlite3_finalize(stmt);
    return rc;
}

int core_balance_create(sqlite3 *db, const char *instance_id, const char *ledger_id,
                        const char *identity_id, const char *currency, double precision,
                        const json_t *meta_data, const char *created_at, char out_id[CORE_ID_BYTES],
                        struct core_error *err)
{
    if (!ledger_id || !*ledger_id || !currency || !*currency) {
        core_error_set(err, 400, "BAL_VALIDATION_ERROR", "ledger_id and currency are required");
        return CAPP_EINVAL;
    }
    int rc = exists(db, "core_ledgers", "ledger_id", ledger_id, instance_id);
    if (rc <= 0) {
        core_error_set(err, 400, "BAL_VALIDATION_ERROR", "ledger with ID '%s' not found",
                       ledger_id);
        return rc < 0 ? rc : CAPP_EINVAL;
    }
    if (identity_id && *identity_id) {
        rc = exists(db, "core_identities", "identity_id", identity_id, instance_id);
        if (rc <= 0) {
            core_error_set(err, 400, "BAL_VALIDATION_ERROR", "identity with ID '%s' not found",
                           identity_id);
            return rc < 0 ? rc : CAPP_EINVAL;
        }
    }
    char uuid[CORE_UUID_BYTES], now[CORE_TIME_BYTES];
    rc = core_uuid4(uuid);
    if (rc)
        return rc;
    snprintf(out_id, CORE_ID_BYTES, "bln_%s", uuid);
    core_now(now);
    sqlite3_stmt *stmt = NULL;
    rc = db_prepare(db,
                    "INSERT INTO core_balances (balance_id, instance_id, ledger_id, identity_id,"
                    " currency, precision, created_at, meta_data) VALUES (?,?,?,?,?,?,?,?)",
                    &stmt);
    if (rc)
        return rc;
    char *meta = meta_text(meta_data);
    db_bind_text(stmt, 1, out_id);
    db_bind_text(stmt, 2, instance_id);
    db_bind_text(stmt, 3, ledger_id);
    db_bind_text(stmt, 4, identity_id && *identity_id ? identity_id : NULL);
    db_bind_text(stmt, 5, currency);
    sqlite3_bind_double(stmt, 6, precision > 0 ? precision : 1);
    db_bind_text(stmt, 7, created_at ? created_at : now);
    db_bind_text(stmt, 8, meta);
    rc = db_step_done(stmt);
    sqlite3_finalize(stmt);
    free(meta);
    return rc;
}

int core_balance_set_identity(sqlite3 *db, const char *instance_id, const char *balance_id,
                              const char *identity_id, struct core_error *err)
{
    int rc = exists(db, "core_balances", "balance_id", balance_id, instance_id);
    if (rc <= 0) {
        core_error_set(err, 404, "BAL_NOT_FOUND", "balance with ID '%s' not found", balance_id);
        return rc < 0 ? rc : CAPP_ENOTFOUND;
    }
    rc = exists(db, "core_identities", "identity_id", identity_id, instance_id);
    if (rc <= 0) {
        core_error_set(err, 404, "IDT_NOT_FOUND", "Identity with ID '%s' not found", identity_id);
        if (err)
            err->details_empty_object = 1;
        return rc < 0 ? rc : CAPP_ENOTFOUND;
    }
    sqlite3_stmt *stmt = NULL;
    rc = db_prepare(db, "UPDATE core_balances SET identity_id = ? WHERE balance_id = ?", &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, identity_id);
    db_bind_text(stmt, 2, balance_id);
    rc = db_step_done(stmt);
    sqlite3_finalize(stmt);
    return rc;
}

static int move(sqlite3 *db, const char *balance_id, long long delta)
{
    sqlite3_stmt *stmt = NULL;
    int rc = db_prepare(db,
                        "UPDATE core_balances SET balance = balance + ?1,"
                        " credit_balance = credit_balance + max(?1, 0),"
                        " debit_balance = debit_balance + max(-?1, 0), version = version + 1"
                        " WHERE balance_id = ?2",
                        &stmt);
    if (rc)
        return rc;
    db_bind_int64(stmt, 1, delta);
    db_bind_text(stmt, 2, balance_id);
    rc = db_step_done(stmt);
    sqlite3_finalize(stmt);
    return rc;
}

int core_transaction_create(sqlite3 *db, const char *instance_id, const json_t *body, json_t **out,
                            struct core_error *err)
{
    const char *currency = json_string_value(json_object_get(body, "currency"));
    const char *reference = json_string_value(json_object_get(body, "reference"));
    const char *description = json_string_value(json_object_get(body, "description"));
    const char *source = json_string_value(json_object_get(body, "source"));
    const char *destination = json_string_value(json_object_get(body, "destination"));
    const json_t *jamount = json_object_get(body, "amount");
    const json_t *jprecise = json_object_get(body, "precise_amount");
    const json_t *jprecision = json_object_get(body, "precision");
    const json_t *meta = json_object_get(body, "meta_data");
    double precision = json_is_number(jprecision) ? json_number_value(jprecision) : 1;
    if (!currency || !reference || !description || !source || !destination ||
        (!jamount == !jprecise) || (jamount && !json_is_number(jamount)) ||
        (jprecise && !json_is_integer(jprecise)) || precision <= 0 ||
        (meta && !json_is_null(meta) && !json_is_object(meta))) {
        core_error_set(err, 400, "TXN_VALIDATION_ERROR",
                       "amount or precise_amount (not both), currency, reference, description, "
                       "source and destination are required");
        return CAPP_EINVAL;
    }
    double amount;
    long long precise;
    if (jamount) {
        amount = json_number_value(jamount);
        precise = llround(amount * precision);
    } else {
        precise = json_integer_value(jprecise);
        amount = (double)precise / precision;
    }
    if (amount <= 0) {
        core_error_set(err, 400, "TXN_VALIDATION_ERROR", "amount must be greater than zero");
        return CAPP_EINVAL;
    }
    int inflight = json_is_true(json_object_get(body, "inflight"));
    char uuid[CORE_UUID_BYTES], now[CORE_TIME_BYTES], txn_id[CORE_ID_BYTES];
    int rc = core_uuid4(uuid);
    if (rc)
        return rc;
    snprintf(txn_id, sizeof txn_id, "txn_%s", uuid);
    core_now(now);
    rc = db_begin_immediate(db);
    if (rc)
        return rc;
    for (int side = 0; side < 2 && rc == 0; side++) {
        const char *id = side ? destination : source;
        int r = exists(db, "core_balances", "balance_id", id, instance_id);
        if (r <= 0) {
            core_error_set(err, 400, "TXN_VALIDATION_ERROR", "balance with ID '%s' not found", id);
            rc = r < 0 ? r : CAPP_EINVAL;
        }
    }
    sqlite3_stmt *stmt = NULL;
    char *meta_str = NULL;
    if (rc == 0)
        rc = db_prepare(db,
                        "INSERT INTO core_transactions (transaction_id, instance_id, amount,"
                        " precise_amount, precision, currency, source, destination, reference,"
                        " description, status, created_at, effective_date, meta_data)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        &stmt);
    if (rc == 0) {
        meta_str = meta && json_is_object(meta) ? json_to_string(meta) : NULL;
        db_bind_text(stmt, 1, txn_id);
        db_bind_text(stmt, 2, instance_id);
        sqlite3_bind_double(stmt, 3, amount);
        db_bind_int64(stmt, 4, precise);
        sqlite3_bind_double(stmt, 5, precision);
        db_bind_text(stmt, 6, currency);
        db_bind_text(stmt, 7, source);
        db_bind_text(stmt, 8, destination);
        db_bind_text(stmt, 9, reference);
        db_bind_text(stmt, 10, description);
        db_bind_text(stmt, 11, inflight ? "INFLIGHT" : "APPLIED");
        db_bind_text(stmt, 12, now);
        db_bind_text(stmt, 13, now);
        db_bind_text(stmt, 14, meta_str);
        rc = db_step_done(stmt);
        sqlite3_finalize(stmt);
        free(meta_str);
        if (rc == CAPP_EEXIST)
            core_error_set(err, 409, "TXN_DUPLICATE_REFERENCE",
                           "transaction with reference '%s' already exists", reference);
    }
    if (rc == 0 && !inflight)
        rc = move(db, source, -precise);
    if (rc == 0 && !inflight)
        rc = move(db, destination, precise);
    if (rc) {
        db_rollback(db);
        if (err && !err->code)
            core_error_set(err, 500, "GEN_INTERNAL", "internal server error");
        return rc;
    }
    rc = db_commit(db);
    if (rc)
        return rc;
    return core_get(db, core_resource(CORE_TRANSACTIONS), instance_id, txn_id, CORE_FLAVOUR_PROXY,
                    out);
}

int core_transaction_by_reference(sqlite3 *db, const char *instance_id, const char *reference,
                                  json_t **out)
{
    char id[CORE_ID_BYTES] = "";
    const char *keys[] = {instance_id, reference};
    const struct db_text_out out_id[] = {{id, sizeof id}};
    int rc = db_load_texts(db,
                           "SELECT transaction_id FROM core_transactions WHERE instance_id = ?"
                           " AND reference = ?",
                           keys, COUNTOF(keys), out_id, COUNTOF(out_id));
    if (rc)
        return rc;
    return core_get(db, core_resource(CORE_TRANSACTIONS), instance_id, id, CORE_FLAVOUR_PROXY, out);
}
