/*
 * reviewers.c — reviewer accounts: the tables, TOTP sign-in and the session binding, and the
 * administration of accounts (see reviewers.h for the rules; reviewers_enrol.c brings accounts
 * into being, reviewers_internal.h says how the module is split).
 *
 * Design. Every state change runs in one BEGIN IMMEDIATE transaction that reads the row it
 * decides on, so two requests racing (the same code sent twice, a sixth guess during the fifth,
 * two admins disabling each other) are serialised by SQLite's write lock: the first one wins and
 * the other sees its effect. A refused code still commits its counter (the failure is a fact to
 * keep), so those paths commit and then return the refusal (reviewers_finish with keep).
 *
 * Secrets are generated in reviewers_enrol.c, sealed before they are stored, opened only to
 * check a code (reviewers_open_and_verify) and wiped after use. An account's secret is sealed
 * with an AAD naming the install and the account, so a secret copied to another row does not
 * open.
 */
#include "kyc/reviewers.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/assert.h"
#include "capp/clock.h"
#include "capp/crypto.h"
#include "capp/db.h"
#include "capp/err.h"
#include "capp/json.h"
#include "capp/log.h"
#include "capp/names.h"
#include "kyc/audit.h"
#include "kyc/reviewers_internal.h"
#include "kyc/totp.h"

static const struct db_migration migrations[] = {
    {1, "CREATE TABLE kyc_reviewer_accounts ("
        " installed_app_id TEXT NOT NULL, account_id TEXT NOT NULL,"
        " display_name TEXT NOT NULL, role TEXT NOT NULL, secret_sealed TEXT NOT NULL,"
        " created_by TEXT NOT NULL, created_at INTEGER NOT NULL, disabled_at INTEGER,"
        " failed_attempts INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0,"
        " last_step INTEGER NOT NULL DEFAULT -1,"
        " PRIMARY KEY (installed_app_id, account_id));"
        "CREATE UNIQUE INDEX kyc_reviewer_accounts_name"
        " ON kyc_reviewer_accounts(installed_app_id, display_name COLLATE NOCASE);"
        "CREATE TABLE kyc_reviewer_enrolments ("
        " code_hash TEXT PRIMARY KEY, installed_app_id TEXT NOT NULL, role TEXT NOT NULL,"
        " created_by TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
        " used_at INTEGER, used_by TEXT);"
        "CREATE TABLE kyc_reviewer_starts ("
        " session_hash TEXT PRIMARY KEY, installed_app_id TEXT NOT NULL, kind TEXT NOT NULL,"
        " code_hash TEXT, display_name TEXT NOT NULL, role TEXT NOT NULL,"
        " secret_sealed TEXT NOT NULL, failed_attempts INTEGER NOT NULL DEFAULT 0,"
        " expires_at INTEGER NOT NULL);"
        "CREATE TABLE kyc_reviewer_sessions ("
        " session_hash TEXT PRIMARY KEY, installed_app_id TEXT NOT NULL,"
        " account_id TEXT NOT NULL, user_id TEXT, signed_in_at INTEGER NOT NULL,"
        " expires_at INTEGER NOT NULL);"
        "CREATE INDEX kyc_reviewer_sessions_account"
        " ON kyc_reviewer_sessions(installed_app_id, account_id);"},
};

int reviewers_migrate(results_db *conn)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    int rc = audit_migrate(db);
    if (rc == 0)
        rc = db_migrate(db, "kyc_reviewers", migrations, sizeof migrations / sizeof migrations[0]);
    return rc;
}

static const char *const role_names[] = {
    [REVIEWER_ROLE_REVIEWER] = "reviewer",
    [REVIEWER_ROLE_ADMIN] = "admin",
};

const char *reviewers_role_name(enum reviewer_role role)
{
    return names_name(role_names, COUNTOF(role_names), (unsigned)role);
}

int reviewers_role_parse(const char *s, enum reviewer_role *out)
{
    unsigned v;
    int rc = names_parse(role_names, COUNTOF(role_names), s, &v);
    if (rc == 0)
        *out = (enum reviewer_role)v;
    return rc;
}

/* ---- helpers shared with reviewers_enrol.c (reviewers_internal.h) ---- */

int reviewers_refuse(const char **why, const char *value, int err)
{
    if (why)
        *why = value;
    return err;
}

int reviewers_valid_id(const char *s)
{
    return s && json_is_valid_id(s, CAPP_MAX_ID_BYTES);
}

static int session_valid(const struct reviewers_session *s)
{
    if (!s || !s->session_hash || strlen(s->session_hash) != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s->session_hash[i]))
            return 0;
    return 1;
}

int reviewers_check_caller(const char *installed_app_id, const struct reviewers_session *s,
                           const struct seal_keyring *kr, const char **why)
{
    if (!reviewers_valid_id(installed_app_id) || !session_valid(s) || !kr)
        return reviewers_refuse(why, "session", CAPP_EINVAL);
    return 0;
}

int reviewers_check_code(const char *code, const char **why)
{
    int ok = code && strlen(code) == TOTP_DIGITS;
    for (const char *p = code; ok && *p; p++)
        ok = *p >= '0' && *p <= '9';
    return ok ? 0 : reviewers_refuse(why, "code", CAPP_EINVAL);
}

int reviewers_check_admin(const struct reviewer_account *admin, const char **why)
{
    if (admin->role != REVIEWER_ROLE_ADMIN || admin->disabled_at_ms)
        return reviewers_refuse(why, "admin_required", CAPP_EPERM);
    return 0;
}

const char *reviewers_user_or_null(const struct reviewers_session *s)
{
    return s && s->user_id && *s->user_id ? s->user_id : NULL;
}

/* (The name is shown on every page and written to the audit log.) */
int reviewers_name_clean(const char *in, char out[REVIEWERS_NAME_MAX_BYTES + 1])
{
    if (!in)
        return 0;
    while (*in == ' ' || *in == '\t')
        in++;
    size_t n = strlen(in);
    while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t'))
        n--;
    if (n == 0 || n > REVIEWERS_NAME_MAX_BYTES)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    memcpy(out, in, n);
    out[n] = 0;
    return 1;
}

void reviewers_account_aad(const char *install, const char *account_id, char out[REVIEWERS_AAD_CAP])
{
    snprintf(out, REVIEWERS_AAD_CAP, "kyc-reviewer/%s/%s", install, account_id);
}

int reviewers_seal_secret(const struct seal_keyring *kr, const char *aad,
                          const uint8_t secret[TOTP_SECRET_BYTES], char **out)
{
    return seal_seal(kr, aad, secret, TOTP_SECRET_BYTES, out);
}

int reviewers_open_and_verify(const struct seal_keyring *kr, const char *aad, const char *sealed,
                              const char *code, int64_t now_ms, uint8_t secret[TOTP_SECRET_BYTES],
                              int64_t *step)
{
    char *plain = NULL;
    size_t len = 0;
    int rc = seal_open(kr, aad, sealed, &plain, &len);
    if (rc)
        return rc;
    if (len == TOTP_SECRET_BYTES)
        memcpy(secret, plain, len);
    else
        rc = CAPP_ECRYPTO;
    seal_plain_free(plain, len);
    return rc ? rc : totp_verify(secret, TOTP_SECRET_BYTES, now_ms / 1000, code, step);
}

int reviewers_audit(sqlite3 *db, const char *install, const char *actor, json_t *payload)
{
    if (!payload)
        return CAPP_ENOMEM;
    int rc = audit_append(db, install, actor, AUDIT_REVIEWER, NULL, payload, NULL);
    json_decref(payload);
    return rc;
}

json_t *reviewers_time_or_null(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char ts[40];
    clock_format_rfc3339(ms, ts, sizeof ts);
    return json_string(ts);
}

int reviewers_finish(sqlite3 *db, int rc, int keep)
{
    if (rc == 0 || keep) {
        int c = db_commit(db);
        if (c) {
            db_rollback(db);
            return c;
        }
        return rc;
    }
    db_rollback(db);
    return rc;
}

enum reviewer_role reviewers_role_column(sqlite3_stmt *st, int col)
{
    char text[16];
    enum reviewer_role role = REVIEWER_ROLE_REVIEWER;
    db_column_copy(st, col, text, sizeof text);
    (void)reviewers_role_parse(text, &role);
    return role;
}

#define ACCOUNT_COLUMNS                                                                 \
    "account_id, display_name, role, created_by, created_at, coalesce(disabled_at, 0)," \
    " locked_until, failed_attempts"

static void read_account(sqlite3_stmt *st, int col, struct reviewer_account *out)
{
    memset(out, 0, sizeof *out);
    db_column_copy(st, col, out->account_id, sizeof out->account_id);
    db_column_copy(st, col + 1, out->display_name, sizeof out->display_name);
    out->role = reviewers_role_column(st, col + 2);
    db_column_copy(st, col + 3, out->created_by, sizeof out->created_by);
    out->created_at_ms = sqlite3_column_int64(st, col + 4);
    out->disabled_at_ms = sqlite3_column_int64(st, col + 5);
    out->locked_until_ms = sqlite3_column_int64(st, col + 6);
    out->failed_attempts = sqlite3_column_int(st, col + 7);
}

int reviewers_load_account(sqlite3 *db, const char *install, const char *account_id,
                           struct reviewer_account *out, char **sealed, int64_t *last_step)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT " ACCOUNT_COLUMNS ", secret_sealed, last_step"
                        " FROM kyc_reviewer_accounts WHERE installed_app_id = ? AND account_id = ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, install);
    db_bind_text(st, 2, account_id);
    rc = db_step_row(st);
    if (rc == 1) {
        read_account(st, 0, out);
        if (sealed) {
            const unsigned char *t = sqlite3_column_text(st, 8);
            *sealed = t ? strdup((const char *)t) : NULL;
            rc = *sealed ? 0 : CAPP_ENOMEM;
        } else {
            rc = 0;
        }
        if (last_step)
            *last_step = sqlite3_column_int64(st, 9);
    } else if (rc == 0) {
        rc = CAPP_ENOTFOUND;
    }
    sqlite3_finalize(st);
    return rc;
}

int reviewers_get(results_db *conn, const char *installed_app_id, const char *account_id,
                  struct reviewer_account *out)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    if (!reviewers_valid_id(installed_app_id) || !reviewers_valid_id(account_id))
        return CAPP_EINVAL;
    return reviewers_load_account(db, installed_app_id, account_id, out, NULL, NULL);
}

int reviewers_count_where(sqlite3 *db, const char *sql, const char *install, int64_t now_ms,
                          int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db, sql, &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, install);
    if (sqlite3_bind_parameter_count(st) >= 2)
        db_bind_int64(st, 2, now_ms);
    rc = db_step_row(st);
    if (rc == 1)
        *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == 1 ? 0 : rc == 0 ? CAPP_EDB : rc;
}

int reviewers_count(results_db *conn, const char *installed_app_id, int *out)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    *out = 0;
    return reviewers_count_where(
        db, "SELECT count(*) FROM kyc_reviewer_accounts WHERE installed_app_id = ?",
        installed_app_id, 0, out);
}

int reviewers_bind_session(sqlite3 *db, const char *install, const struct reviewers_session *s,
                           const char *account_id, int64_t now_ms)
{
    const char *const texts[] = {s->session_hash, install, account_id, reviewers_user_or_null(s)};
    const int64_t ints[] = {now_ms, s->expires_at_ms};
    return db_run(db,
                  "INSERT OR REPLACE INTO kyc_reviewer_sessions(session_hash, installed_app_id,"
                  " account_id, user_id, signed_in_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                  texts, 4, ints, 2, NULL);
}

/* ---- sign-in ---- */

int reviewers_sign_in(results_db *conn, const struct seal_keyring *kr, const char *installed_app_id,
                      const struct reviewers_session *s, const char *account_id, const char *code,
                      int64_t now_ms, struct reviewer_account *out, const char **why)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    memset(out, 0, sizeof *out);
    reviewers_refuse(why, NULL, 0);
    int rc = reviewers_check_caller(installed_app_id, s, kr, why);
    if (rc)
        return rc;
    if (!reviewers_valid_id(account_id))
        return reviewers_refuse(why, "account_id", CAPP_EINVAL);
    if ((rc = reviewers_check_code(code, why)) != 0)
        return rc;
    rc = db_begin_immediate(db);
    if (rc)
        return rc;
    struct reviewer_account a;
    char *sealed = NULL, aad[REVIEWERS_AAD_CAP];
    int64_t last_step = -1, step = 0;
    uint8_t secret[TOTP_SECRET_BYTES];
    int keep = 0, match = 0;
    rc = reviewers_load_account(db, installed_app_id, account_id, &a, &sealed, &last_step);
    if (rc == CAPP_ENOTFOUND)
        rc = reviewers_refuse(why, "account_id", rc);
    if (rc == 0 && a.disabled_at_ms)
        rc = reviewers_refuse(why, "account_disabled", CAPP_EPERM);
    if (rc == 0 && a.locked_until_ms > now_ms)
        rc = reviewers_refuse(why, "account_locked", CAPP_EPERM);
    reviewers_account_aad(installed_app_id, account_id, aad);
    if (rc == 0) {
        match = reviewers_open_and_verify(kr, aad, sealed, code, now_ms, secret, &step);
        if (match < 0)
            rc = match;
    }
    crypto_wipe(secret, sizeof secret);
    free(sealed);
    if (rc == 0 && match && step <= last_step) {
        /* the right code, already spent (RFC 6238 §5.2): not a guess, so not counted */
        rc = reviewers_refuse(why, "code_used", CAPP_EPERM);
    } else if (rc == 0 && !match) {
        int failed = a.failed_attempts + 1;
        int lock = failed >= REVIEWERS_MAX_FAILED;
        int64_t until = lock ? now_ms + REVIEWERS_LOCK_MS : 0;
        const char *const texts[] = {installed_app_id, account_id};
        const int64_t ints[] = {lock ? 0 : failed, until};
        rc = db_run(db,
                    "UPDATE kyc_reviewer_accounts SET failed_attempts = ?3, locked_until = ?4"
                    " WHERE installed_app_id = ?1 AND account_id = ?2",
                    texts, 2, ints, 2, NULL);
        if (rc == 0 && lock)
            rc = reviewers_audit(db, installed_app_id, "system",
                                 json_pack("{s:s, s:s, s:s, s:o, s:i, s:s*}", "event",
                                           "account_locked", "account_id", account_id,
                                           "display_name", a.display_name, "locked_until",
                                           reviewers_time_or_null(until), "failed_attempts", failed,
                                           "user_id", reviewers_user_or_null(s)));
        if (rc == 0) {
            keep = 1;
            rc = reviewers_refuse(why, lock ? "account_locked" : "code_wrong", CAPP_EPERM);
            if (lock)
                log_warn("kyc.reviewer.locked", "installed_app_id", installed_app_id, "account_id",
                         account_id, NULL);
        }
    } else if (rc == 0) {
        const char *const texts[] = {installed_app_id, account_id};
        rc = db_run(db,
                    "UPDATE kyc_reviewer_accounts SET failed_attempts = 0, locked_until = 0,"
                    " last_step = ?3 WHERE installed_app_id = ?1 AND account_id = ?2",
                    texts, 2, &step, 1, NULL);
        if (rc == 0)
            rc = reviewers_bind_session(db, installed_app_id, s, account_id, now_ms);
        if (rc == 0)
            rc = reviewers_audit(db, installed_app_id, account_id,
                                 json_pack("{s:s, s:s, s:s*}", "event", "signed_in", "account_id",
                                           account_id, "user_id", reviewers_user_or_null(s)));
        if (rc == 0) {
            a.failed_attempts = 0;
            a.locked_until_ms = 0;
            *out = a;
        }
    }
    return reviewers_finish(db, rc, keep);
}

int reviewers_sign_out(results_db *conn, const char *installed_app_id, const char *session_hash)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    const char *const texts[] = {session_hash, installed_app_id};
    return db_run(db,
                  "DELETE FROM kyc_reviewer_sessions WHERE session_hash = ? AND"
                  " installed_app_id = ?",
                  texts, 2, NULL, 0, NULL);
}

int reviewers_session_account(results_db *conn, const char *installed_app_id,
                              const char *session_hash, int64_t now_ms,
                              struct reviewer_account *out)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    memset(out, 0, sizeof *out);
    if (!installed_app_id || !session_hash || !*session_hash)
        return CAPP_ENOTFOUND;
    sqlite3_stmt *st = NULL;
    int rc =
        db_prepare(db,
                   "SELECT a.account_id, a.display_name, a.role, a.created_by, a.created_at,"
                   " coalesce(a.disabled_at, 0), a.locked_until, a.failed_attempts"
                   " FROM kyc_reviewer_sessions s JOIN kyc_reviewer_accounts a"
                   " ON a.installed_app_id = s.installed_app_id AND a.account_id = s.account_id"
                   " WHERE s.session_hash = ? AND s.installed_app_id = ? AND s.expires_at > ?"
                   " AND a.disabled_at IS NULL",
                   &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, session_hash);
    db_bind_text(st, 2, installed_app_id);
    db_bind_int64(st, 3, now_ms);
    rc = db_step_row(st);
    if (rc == 1) {
        read_account(st, 0, out);
        rc = 0;
    } else if (rc == 0) {
        rc = CAPP_ENOTFOUND;
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- administration ---- */

int reviewers_list(results_db *conn, const char *installed_app_id, int64_t now_ms, json_t **out)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT a.account_id, a.display_name, a.role, a.created_by, a.created_at,"
                        " coalesce(a.disabled_at, 0), a.locked_until, a.failed_attempts,"
                        " c.display_name FROM kyc_reviewer_accounts a LEFT JOIN"
                        " kyc_reviewer_accounts c ON c.installed_app_id = a.installed_app_id AND"
                        " c.account_id = a.created_by WHERE a.installed_app_id = ?"
                        " ORDER BY a.created_at, a.account_id LIMIT ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_int64(st, 2, REVIEWERS_MAX_ACCOUNTS);
    json_t *arr = json_array();
    while (arr && (rc = db_step_row(st)) == 1) {
        struct reviewer_account a;
        read_account(st, 0, &a);
        const unsigned char *by = sqlite3_column_text(st, 8);
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "account_id", a.account_id,
                      "display_name", a.display_name, "role", reviewers_role_name(a.role),
                      "created_by", a.created_by, "created_by_name",
                      by ? json_string((const char *)by) : json_null(), "created_at",
                      reviewers_time_or_null(a.created_at_ms), "disabled_at",
                      reviewers_time_or_null(a.disabled_at_ms), "locked_until",
                      reviewers_time_or_null(a.locked_until_ms > now_ms ? a.locked_until_ms : 0)));
    }
    sqlite3_finalize(st);
    if (!arr)
        return CAPP_ENOMEM;
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

int reviewers_set_disabled(results_db *conn, const char *installed_app_id,
                           const struct reviewer_account *admin, const char *account_id,
                           int disabled, int64_t now_ms, const char **why)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    reviewers_refuse(why, NULL, 0);
    if (!reviewers_valid_id(installed_app_id) || !admin)
        return reviewers_refuse(why, "session", CAPP_EINVAL);
    if (!reviewers_valid_id(account_id))
        return reviewers_refuse(why, "account_id", CAPP_EINVAL);
    int rc = reviewers_check_admin(admin, why);
    if (rc)
        return rc;
    if (disabled && strcmp(admin->account_id, account_id) == 0)
        return reviewers_refuse(why, "self_disable", CAPP_ECONFLICT);
    rc = db_begin_immediate(db);
    if (rc)
        return rc;
    struct reviewer_account a;
    rc = reviewers_load_account(db, installed_app_id, account_id, &a, NULL, NULL);
    if (rc == CAPP_ENOTFOUND)
        rc = reviewers_refuse(why, "account_id", rc);
    int change = rc == 0 && (a.disabled_at_ms != 0) != (disabled != 0);
    if (change && disabled && a.role == REVIEWER_ROLE_ADMIN) {
        /* the acting admin may have been disabled since their request was let in: the install
         * must keep one admin who can enable the others */
        int admins = 0;
        rc = reviewers_count_where(db,
                                   "SELECT count(*) FROM kyc_reviewer_accounts WHERE"
                                   " installed_app_id = ? AND role = 'admin' AND"
                                   " disabled_at IS NULL",
                                   installed_app_id, 0, &admins);
        if (rc == 0 && admins <= 1)
            rc = reviewers_refuse(why, "last_admin", CAPP_ECONFLICT);
        change = rc == 0;
    }
    if (change) {
        const char *const texts[] = {installed_app_id, account_id};
        rc = db_run(db,
                    disabled ? "UPDATE kyc_reviewer_accounts SET disabled_at = ?3"
                               " WHERE installed_app_id = ?1 AND account_id = ?2"
                             : "UPDATE kyc_reviewer_accounts SET disabled_at = NULL"
                               " WHERE installed_app_id = ?1 AND account_id = ?2",
                    texts, 2, &now_ms, disabled ? 1 : 0, NULL);
        if (rc == 0 && disabled)
            rc = db_run(db,
                        "DELETE FROM kyc_reviewer_sessions WHERE installed_app_id = ? AND"
                        " account_id = ?",
                        texts, 2, NULL, 0, NULL);
        if (rc == 0)
            rc = reviewers_audit(db, installed_app_id, admin->account_id,
                                 json_pack("{s:s, s:s, s:s}", "event",
                                           disabled ? "account_disabled" : "account_enabled",
                                           "account_id", account_id, "display_name",
                                           a.display_name));
    }
    return reviewers_finish(db, rc, 0);
}

int reviewers_purge(results_db *conn, int64_t now_ms)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    int rc = db_run(db, "DELETE FROM kyc_reviewer_starts WHERE expires_at <= ?", NULL, 0, &now_ms,
                    1, NULL);
    if (rc == 0)
        rc = db_run(db, "DELETE FROM kyc_reviewer_sessions WHERE expires_at <= ?", NULL, 0, &now_ms,
                    1, NULL);
    if (rc == 0)
        rc = db_run(db, "DELETE FROM kyc_reviewer_enrolments WHERE expires_at <= ?", NULL, 0,
                    &now_ms, 1, NULL);
    return rc;
}
