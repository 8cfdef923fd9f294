/*
 * Master key check at start-up. See keycheck.h for the contract.
 *
 * The stored secrets are read straight from the install store's table (one sequential query,
 * through capp/sql.h, so the same code serves a SQLite file and a PostgreSQL database) rather
 * than through store_install_get per install, so a big store costs one scan and one AES-GCM
 * open per row, and the check can run before any store thread does work.
 */
#include "keycheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "assert.h"
#include "err.h"
#include "sql.h"

/* Associated data of the check value: it can never be mistaken for an install's sealed key,
 * whose associated data is an installed_app_id. */
#define CHECK_AAD   "capp master key check v1"
#define CHECK_PLAIN "capp master key check value"

static const struct sql_migration migrations[] = {
    {1,
     "CREATE TABLE capp_key_check ("
     " id INTEGER PRIMARY KEY CHECK (id = 1),"
     " sealed TEXT NOT NULL,"
     " created_at INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL)",
     "CREATE TABLE capp_key_check ("
     " id BIGINT PRIMARY KEY CHECK (id = 1),"
     " sealed TEXT NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " updated_at BIGINT NOT NULL)"},
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

/* 1 when the install store has created its table in this database. */
static int has_installs_table(struct sql_conn *c, int *out)
{
    const char *sql = sql_engine_of(c) == SQL_POSTGRES
                          ? "SELECT count(*) FROM pg_catalog.pg_tables"
                            " WHERE tablename = 'installs' AND schemaname = current_schema()"
                          : "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                            " AND name = 'installs'";
    char count[24] = "";
    const struct sql_text_out outs[] = {{count, sizeof count}};
    int rc = sql_load_texts(c, sql, NULL, 0, outs, COUNTOF(outs));
    *out = rc == 0 && strcmp(count, "1") == 0;
    return rc;
}

static int check_secrets(struct sql_conn *c, const struct seal_keyring *kr,
                         struct keycheck_result *out)
{
    int has_installs = 0;
    int rc = has_installs_table(c, &has_installs);
    if (rc)
        return rc;
    if (!has_installs)
        return 0; /* no store yet: nothing sealed */
    /* Paged by installed_app_id: a PostgreSQL result is buffered whole (sql.h). */
    long failed = 0, total = 0;
    char first_id[160] = "", first_key[64] = "", after[160] = "";
    for (;;) {
        struct sql_stmt *st = NULL;
        rc = sql_prepare(c,
                         "SELECT installed_app_id, sealed_api_key FROM installs"
                         " WHERE sealed_api_key IS NOT NULL AND installed_app_id > ?"
                         " ORDER BY installed_app_id LIMIT 1000",
                         &st);
        if (rc)
            return rc;
        sql_bind_text(st, 1, after);
        int row, rows = 0;
        while ((row = sql_step(st)) == 1) {
            const char *id = sql_column_text(st, 0);
            const char *sealed = sql_column_text(st, 1);
            total++;
            rows++;
            snprintf(after, sizeof after, "%s", id ? id : "");
            if (id && sealed && opens(kr, id, sealed))
                continue;
            if (failed++ == 0) {
                snprintf(first_id, sizeof first_id, "%s", id ? id : "");
                describe_key(sealed ? sealed : "", first_key, sizeof first_key);
            }
        }
        sql_finalize(st);
        if (row < 0)
            return row;
        if (rows < 1000)
            break;
    }
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

int keycheck_run(const char *target, const struct seal_keyring *kr, struct keycheck_result *out)
{
    memset(out, 0, sizeof *out);
    if (seal_keyring_count(kr) == 0) {
        snprintf(out->problem, sizeof out->problem, "no master key");
        return CAPP_ECRYPTO;
    }
    struct sql_conn *c = NULL;
    int rc = sql_open(target, &c);
    if (rc == 0)
        rc = sql_migrate(c, "capp_keycheck", migrations, COUNTOF(migrations));
    char sealed[512] = "";
    if (rc == 0) {
        const struct sql_text_out col[] = {{sealed, sizeof sealed}};
        rc = sql_load_texts(c, "SELECT sealed FROM capp_key_check WHERE id = 1", NULL, 0, col,
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
        rc = check_secrets(c, kr, out);
    char key_id[SEAL_KEY_ID_HEX + 1] = "";
    int stale = sealed[0] && seal_text_key_id(sealed, key_id) == 0 &&
                strcmp(key_id, seal_keyring_primary_id(kr)) != 0;
    if (rc == 0 && (!sealed[0] || stale)) {
        char *fresh = NULL;
        rc = seal_seal(kr, CHECK_AAD, CHECK_PLAIN, strlen(CHECK_PLAIN), &fresh);
        if (rc == 0) {
            const char *texts[] = {fresh};
            const int64_t now[] = {clock_now_ms()};
            /* Two replicas starting at once may both write it: the row stays one. */
            rc = sql_run(c,
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
    sql_close(c);
    return rc;
}
