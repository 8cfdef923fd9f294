/*
 * Master key check at start-up. See keycheck.h for the contract.
 *
 * The stored secrets are read straight from the SQLite install store's table (one sequential
 * query) rather than through store_install_get per install, so a big store costs one scan and
 * one AES-GCM open per row, and the check can run before any store thread does work.
 */
#include "keycheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "assert.h"
#include "err.h"

/* Associated data of the check value: it can never be mistaken for an install's sealed key,
 * whose associated data is an installed_app_id. */
#define CHECK_AAD   "capp master key check v1"
#define CHECK_PLAIN "capp master key check value"

static const struct db_migration migrations[] = {
    {1, "CREATE TABLE capp_key_check ("
        " id INTEGER PRIMARY KEY CHECK (id = 1),"
        " sealed TEXT NOT NULL,"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL)"},
};

static void describe_key(const char *sealed, char *out, size_t cap)
{
    char id[SEAL_KEY_ID_HEX + 1];
    if (seal_text_key_id(sealed, id) == 0)
        snprintf(out, cap, "sealed with key id %s", id);
    else
        snprintf(out, cap, "not sealed text");
}

/* 1 when the keyring opens text under aad; the plaintext is wiped at once. */
static int opens(const struct seal_keyring *kr, const char *aad, const char *text)
{
    char *plain = NULL;
    size_t len = 0;
    if (seal_open(kr, aad, text, &plain, &len) != 0)
        return 0;
    seal_plain_free(plain, len);
    return 1;
}

static int check_secrets(sqlite3 *db, const struct seal_keyring *kr, struct keycheck_result *out)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(
        db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='installs'", &st);
    if (rc)
        return rc;
    int has_installs = db_step_row(st) == 1 && sqlite3_column_int(st, 0) == 1;
    sqlite3_finalize(st);
    if (!has_installs)
        return 0; /* no store yet: nothing sealed */
    rc = db_prepare(db,
                    "SELECT installed_app_id, sealed_api_key FROM installs"
                    " WHERE sealed_api_key IS NOT NULL ORDER BY installed_app_id",
                    &st);
    if (rc)
        return rc;
    long failed = 0, total = 0;
    char first_id[160] = "", first_key[64] = "";
    int row;
    while ((row = db_step_row(st)) == 1) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *sealed = (const char *)sqlite3_column_text(st, 1);
        total++;
        if (id && sealed && opens(kr, id, sealed))
            continue;
        if (failed++ == 0) {
            snprintf(first_id, sizeof first_id, "%s", id ? id : "");
            describe_key(sealed ? sealed : "", first_key, sizeof first_key);
        }
    }
    sqlite3_finalize(st);
    if (row < 0)
        return row;
    out->secrets_checked = total - failed;
    if (failed) {
        snprintf(out->problem, sizeof out->problem,
                 "the master key cannot open %ld of the %ld sealed API keys in the database "
                 "(first: install %s, %s; this key is %s): start with the key that sealed them "
                 "(during a rotation, keep the old key on a later line of the key file)",
                 failed, total, first_id, first_key, seal_keyring_primary_id(kr));
        return CAPP_ECRYPTO;
    }
    return 0;
}

int keycheck_run(const char *db_path, const struct seal_keyring *kr, struct keycheck_result *out)
{
    memset(out, 0, sizeof *out);
    if (seal_keyring_count(kr) == 0) {
        snprintf(out->problem, sizeof out->problem, "no master key");
        return CAPP_ECRYPTO;
    }
    sqlite3 *db = NULL;
    int rc = db_open(db_path, 0, &db);
    if (rc == 0)
        rc = db_migrate(db, "capp_keycheck", migrations, COUNTOF(migrations));
    char sealed[512] = "";
    if (rc == 0) {
        const struct db_text_out col[] = {{sealed, sizeof sealed}};
        rc = db_load_texts(db, "SELECT sealed FROM capp_key_check WHERE id = 1", DB_NONE, col,
                           COUNTOF(col));
        if (rc == CAPP_ENOTFOUND) {
            sealed[0] = '\0';
            rc = 0;
        }
    }
    if (rc == 0 && sealed[0] && !opens(kr, CHECK_AAD, sealed)) {
        char what[64];
        describe_key(sealed, what, sizeof what);
        snprintf(out->problem, sizeof out->problem,
                 "the master key does not open the check value written at this database's first "
                 "start (%s; this key is %s): it is not the key this database was set up with",
                 what, seal_keyring_primary_id(kr));
        rc = CAPP_ECRYPTO;
    }
    if (rc == 0)
        rc = check_secrets(db, kr, out);
    char key_id[SEAL_KEY_ID_HEX + 1] = "";
    int stale = sealed[0] && seal_text_key_id(sealed, key_id) == 0 &&
                strcmp(key_id, seal_keyring_primary_id(kr)) != 0;
    if (rc == 0 && (!sealed[0] || stale)) {
        char *fresh = NULL;
        rc = seal_seal(kr, CHECK_AAD, CHECK_PLAIN, strlen(CHECK_PLAIN), &fresh);
        if (rc == 0) {
            const char *texts[] = {fresh};
            const int64_t now[] = {clock_now_ms()};
            rc = db_run(db,
                        "INSERT INTO capp_key_check(id, sealed, created_at, updated_at)"
                        " VALUES(1, ?1, ?2, ?2) ON CONFLICT(id) DO UPDATE"
                        " SET sealed = excluded.sealed, updated_at = excluded.updated_at",
                        texts, COUNTOF(texts), now, COUNTOF(now), NULL);
        }
        free(fresh);
        if (rc == 0) {
            out->created = !sealed[0];
            out->resealed = stale;
        }
    }
    db_close(db);
    return rc;
}
