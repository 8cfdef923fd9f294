/*
 * reviewers_enrol.c — bringing a reviewer account into being: the first-run setup (bootstrap),
 * enrolment codes, and confirming a started setup or enrolment (see reviewers.h for the rules,
 * reviewers_internal.h for how the module is split).
 *
 * Design. An account is saved only once a code from its new secret checks out, so a secret
 * that was shown but never scanned leaves nothing behind but a start row that expires. Until
 * then the secret is sealed against the portal session (start_aad); confirming re-seals it for
 * the new account. Each step is one BEGIN IMMEDIATE transaction that re-reads what it decides
 * on: two sessions finishing the bootstrap, or two confirmations spending the same enrolment
 * code, are serialised by SQLite's write lock and the second one sees the first's account (it
 * gets "setup_done", "enrolment_code_invalid" or "name_taken", and its start is ended).
 *
 * Enrolment codes are random letters from a 32-letter alphabet (5 uniform bits a letter), shown
 * once and stored only as SHA-256; the count of open codes per install is capped.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/crypto.h"
#include "capp/db.h"
#include "capp/err.h"
#include "capp/log.h"
#include "kyc/reviewers.h"
#include "kyc/reviewers_internal.h"
#include "kyc/totp.h"

/* Letters and digits that cannot be misread for one another (no 0/O, 1/I). */
static const char code_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/* The enrolment code without dashes and spaces, upper case; 0 when it is not one. */
static int enrol_code_normal(const char *in, char out[REVIEWERS_ENROL_CODE_CHARS + 1])
{
    size_t n = 0;
    for (const char *p = in; p && *p; p++) {
        if (*p == '-' || *p == ' ')
            continue;
        char c = (char)toupper((unsigned char)*p);
        if (n == REVIEWERS_ENROL_CODE_CHARS || !strchr(code_alphabet, c) || c == 0)
            return 0;
        out[n++] = c;
    }
    out[n] = 0;
    return n == REVIEWERS_ENROL_CODE_CHARS;
}

/* The AAD a started secret is sealed with: bound to the portal session, not yet to an account. */
static void start_aad(const char *install, const char *session_hash, char out[REVIEWERS_AAD_CAP])
{
    snprintf(out, REVIEWERS_AAD_CAP, "kyc-reviewer-start/%s/%s", install, session_hash);
}

static int name_taken(sqlite3 *db, const char *install, const char *name)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT 1 FROM kyc_reviewer_accounts WHERE installed_app_id = ? AND"
                        " display_name = ? COLLATE NOCASE",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, install);
    db_bind_text(st, 2, name);
    rc = db_step_row(st);
    sqlite3_finalize(st);
    return rc;
}

/* ---- starting: setup and enrolment ---- */

/* Stores a new secret for the session and fills out with what is shown once. */
static int start(sqlite3 *db, const struct seal_keyring *kr, const char *install,
                 const struct reviewers_session *s, const char *kind, const char *code_hash,
                 const char *name, enum reviewer_role role, int64_t now_ms,
                 struct reviewers_secret *out)
{
    uint8_t secret[TOTP_SECRET_BYTES];
    char aad[REVIEWERS_AAD_CAP], *sealed = NULL;
    int rc = totp_secret_new(secret);
    start_aad(install, s->session_hash, aad);
    rc = rc ? rc : reviewers_seal_secret(kr, aad, secret, &sealed);
    int64_t expires = now_ms + REVIEWERS_START_TTL_MS;
    if (s->expires_at_ms > 0 && s->expires_at_ms < expires)
        expires = s->expires_at_ms;
    if (rc == 0) {
        const char *const texts[] = {s->session_hash,           install, kind, code_hash, name,
                                     reviewers_role_name(role), sealed};
        rc = db_run(db,
                    "INSERT OR REPLACE INTO kyc_reviewer_starts(session_hash, installed_app_id,"
                    " kind, code_hash, display_name, role, secret_sealed, expires_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    texts, 7, &expires, 1, NULL);
    }
    if (rc == 0)
        rc = totp_base32(secret, out->base32);
    if (rc == 0)
        rc = totp_uri(secret, name, out->uri);
    crypto_wipe(secret, sizeof secret);
    free(sealed);
    return rc;
}

int reviewers_setup_start(results_db *conn, const struct seal_keyring *kr,
                          const char *installed_app_id, const struct reviewers_session *s,
                          const char *display_name, int64_t now_ms, struct reviewers_secret *out,
                          const char **why)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    memset(out, 0, sizeof *out);
    reviewers_refuse(why, NULL, 0);
    char name[REVIEWERS_NAME_MAX_BYTES + 1];
    int rc = reviewers_check_caller(installed_app_id, s, kr, why);
    if (rc)
        return rc;
    if (!reviewers_name_clean(display_name, name))
        return reviewers_refuse(why, "display_name", CAPP_EINVAL);
    rc = db_begin_immediate(db);
    if (rc)
        return rc;
    int n = 0;
    rc = reviewers_count(conn, installed_app_id, &n);
    if (rc == 0 && n > 0)
        rc = reviewers_refuse(why, "setup_done", CAPP_ECONFLICT);
    if (rc == 0)
        rc = start(db, kr, installed_app_id, s, "setup", NULL, name, REVIEWER_ROLE_ADMIN, now_ms,
                   out);
    rc = reviewers_finish(db, rc, 0);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* The unspent, unexpired enrolment with code_hash: its role and creator; CAPP_EPERM when there
 * is none. */
static int load_enrolment(sqlite3 *db, const char *install, const char *code_hash, int64_t now_ms,
                          enum reviewer_role *role, char created_by[STORE_ID_CAP])
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT role, created_by FROM kyc_reviewer_enrolments WHERE code_hash = ?"
                        " AND installed_app_id = ? AND used_at IS NULL AND expires_at > ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, code_hash);
    db_bind_text(st, 2, install);
    db_bind_int64(st, 3, now_ms);
    rc = db_step_row(st);
    if (rc == 1) {
        *role = reviewers_role_column(st, 0);
        db_column_copy(st, 1, created_by, STORE_ID_CAP);
        rc = 0;
    } else if (rc == 0) {
        rc = CAPP_EPERM;
    }
    sqlite3_finalize(st);
    return rc;
}

int reviewers_enrolment_create(results_db *conn, const char *installed_app_id,
                               const struct reviewer_account *admin, enum reviewer_role role,
                               int64_t now_ms, char code[REVIEWERS_ENROL_CODE_CAP],
                               int64_t *expires_at_ms, const char **why)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    code[0] = 0;
    reviewers_refuse(why, NULL, 0);
    if (!reviewers_valid_id(installed_app_id) || !admin || !reviewers_role_name(role))
        return reviewers_refuse(why, "role", CAPP_EINVAL);
    int rc = reviewers_check_admin(admin, why);
    if (rc)
        return rc;
    uint8_t raw[REVIEWERS_ENROL_CODE_CHARS];
    char plain[REVIEWERS_ENROL_CODE_CHARS + 1], hash[CRYPTO_SHA256_HEX_BYTES];
    rc = crypto_random(raw, sizeof raw);
    if (rc)
        return rc;
    for (size_t i = 0; i < sizeof raw; i++)
        plain[i] = code_alphabet[raw[i] & 31]; /* 32 letters: 5 uniform bits each */
    plain[REVIEWERS_ENROL_CODE_CHARS] = 0;
    crypto_wipe(raw, sizeof raw);
    crypto_sha256_hex(plain, REVIEWERS_ENROL_CODE_CHARS, hash);
    int64_t expires = now_ms + REVIEWERS_ENROL_TTL_MS;
    rc = db_begin_immediate(db);
    if (rc)
        goto out;
    int open = 0;
    rc = reviewers_count_where(
        db,
        "SELECT count(*) FROM kyc_reviewer_enrolments WHERE installed_app_id = ? AND"
        " used_at IS NULL AND expires_at > ?",
        installed_app_id, now_ms, &open);
    if (rc == 0 && open >= REVIEWERS_MAX_OPEN_CODES)
        rc = reviewers_refuse(why, "too_many", CAPP_ECONFLICT);
    if (rc == 0) {
        const char *const texts[] = {hash, installed_app_id, reviewers_role_name(role),
                                     admin->account_id};
        const int64_t ints[] = {now_ms, expires};
        rc = db_run(db,
                    "INSERT INTO kyc_reviewer_enrolments(code_hash, installed_app_id, role,"
                    " created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                    texts, 4, ints, 2, NULL);
    }
    if (rc == 0)
        rc = reviewers_audit(db, installed_app_id, admin->account_id,
                             json_pack("{s:s, s:s, s:o, s:s}", "event", "enrolment_created", "role",
                                       reviewers_role_name(role), "expires_at",
                                       reviewers_time_or_null(expires), "created_by",
                                       admin->account_id));
    rc = reviewers_finish(db, rc, 0);
    if (rc == 0) {
        snprintf(code, REVIEWERS_ENROL_CODE_CAP, "%.4s-%.4s-%.4s-%.4s", plain, plain + 4, plain + 8,
                 plain + 12);
        if (expires_at_ms)
            *expires_at_ms = expires;
    }
out:
    crypto_wipe(plain, sizeof plain);
    return rc;
}

int reviewers_enrol_start(results_db *conn, const struct seal_keyring *kr,
                          const char *installed_app_id, const struct reviewers_session *s,
                          const char *enrolment_code, const char *display_name, int64_t now_ms,
                          struct reviewers_secret *out, const char **why)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    memset(out, 0, sizeof *out);
    reviewers_refuse(why, NULL, 0);
    char name[REVIEWERS_NAME_MAX_BYTES + 1], plain[REVIEWERS_ENROL_CODE_CHARS + 1];
    char hash[CRYPTO_SHA256_HEX_BYTES];
    int rc = reviewers_check_caller(installed_app_id, s, kr, why);
    if (rc)
        return rc;
    if (!enrol_code_normal(enrolment_code, plain))
        return reviewers_refuse(why, "enrolment_code", CAPP_EINVAL);
    if (!reviewers_name_clean(display_name, name))
        return reviewers_refuse(why, "display_name", CAPP_EINVAL);
    crypto_sha256_hex(plain, strlen(plain), hash);
    crypto_wipe(plain, sizeof plain);
    rc = db_begin_immediate(db);
    if (rc)
        return rc;
    enum reviewer_role role = REVIEWER_ROLE_REVIEWER;
    char created_by[STORE_ID_CAP];
    int n = 0;
    rc = load_enrolment(db, installed_app_id, hash, now_ms, &role, created_by);
    if (rc == CAPP_EPERM)
        rc = reviewers_refuse(why, "enrolment_code_invalid", rc);
    if (rc == 0)
        rc = reviewers_count(conn, installed_app_id, &n);
    if (rc == 0 && n >= REVIEWERS_MAX_ACCOUNTS)
        rc = reviewers_refuse(why, "too_many", CAPP_ECONFLICT);
    if (rc == 0 && (rc = name_taken(db, installed_app_id, name)) == 1)
        rc = reviewers_refuse(why, "name_taken", CAPP_ECONFLICT);
    if (rc == 0)
        rc = start(db, kr, installed_app_id, s, "enrol", hash, name, role, now_ms, out);
    rc = reviewers_finish(db, rc, 0);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

struct started {
    char kind[16];
    char code_hash[CRYPTO_SHA256_HEX_BYTES];
    char display_name[REVIEWERS_NAME_MAX_BYTES + 1];
    enum reviewer_role role;
    char *sealed;
    int failed;
    int64_t expires_at_ms;
};

static int load_start(sqlite3 *db, const char *install, const char *session_hash,
                      struct started *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT kind, coalesce(code_hash, ''), display_name, role, secret_sealed,"
                        " failed_attempts, expires_at FROM kyc_reviewer_starts"
                        " WHERE session_hash = ? AND installed_app_id = ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, session_hash);
    db_bind_text(st, 2, install);
    rc = db_step_row(st);
    if (rc == 1) {
        db_column_copy(st, 0, out->kind, sizeof out->kind);
        db_column_copy(st, 1, out->code_hash, sizeof out->code_hash);
        db_column_copy(st, 2, out->display_name, sizeof out->display_name);
        out->role = reviewers_role_column(st, 3);
        const unsigned char *t = sqlite3_column_text(st, 4);
        out->sealed = t ? strdup((const char *)t) : NULL;
        out->failed = sqlite3_column_int(st, 5);
        out->expires_at_ms = sqlite3_column_int64(st, 6);
        rc = out->sealed ? 0 : CAPP_ENOMEM;
    } else if (rc == 0) {
        rc = CAPP_ENOTFOUND;
    }
    sqlite3_finalize(st);
    return rc;
}

static int drop_start(sqlite3 *db, const char *session_hash)
{
    const char *const texts[] = {session_hash};
    return db_run(db, "DELETE FROM kyc_reviewer_starts WHERE session_hash = ?", texts, 1, NULL, 0,
                  NULL);
}

/* Ends the session's start for a refusal that must stay (*keep set when the start is gone):
 * sets *why and returns err. */
static int end_start(sqlite3 *db, const char *session_hash, int *keep, const char **why,
                     const char *value, int err)
{
    *keep = drop_start(db, session_hash) == 0;
    return reviewers_refuse(why, value, err);
}

/* A fresh account id: "rvw_" and 24 hex characters. */
static int new_account_id(char out[STORE_ID_CAP])
{
    uint8_t raw[12];
    char hex[sizeof raw * 2 + 1];
    int rc = crypto_random(raw, sizeof raw);
    if (rc)
        return rc;
    crypto_hex_encode(raw, sizeof raw, hex);
    snprintf(out, STORE_ID_CAP, "rvw_%s", hex);
    return 0;
}

/* Saves the started account (its secret re-sealed for it, last step `step`), spends the
 * enrolment code and audits. */
static int create_account(sqlite3 *db, const struct seal_keyring *kr, const char *install,
                          const struct reviewers_session *s, const struct started *st,
                          const char *created_by, const uint8_t secret[TOTP_SECRET_BYTES],
                          int64_t step, int64_t now_ms, struct reviewer_account *out)
{
    char id[STORE_ID_CAP], aad[REVIEWERS_AAD_CAP], *sealed = NULL;
    int rc = new_account_id(id);
    if (rc)
        return rc;
    reviewers_account_aad(install, id, aad);
    rc = reviewers_seal_secret(kr, aad, secret, &sealed);
    if (rc == 0) {
        const char *const texts[] = {
            install, id, st->display_name, reviewers_role_name(st->role), sealed, created_by};
        const int64_t ints[] = {now_ms, step};
        rc = db_run(db,
                    "INSERT INTO kyc_reviewer_accounts(installed_app_id, account_id, display_name,"
                    " role, secret_sealed, created_by, created_at, last_step)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    texts, 6, ints, 2, NULL);
    }
    free(sealed);
    int spent = 0;
    if (rc == 0 && st->code_hash[0]) {
        sqlite3_stmt *stmt = NULL;
        rc = db_prepare(db,
                        "UPDATE kyc_reviewer_enrolments SET used_at = ?1, used_by = ?2 WHERE"
                        " code_hash = ?3 AND used_at IS NULL",
                        &stmt);
        if (rc == 0) {
            db_bind_int64(stmt, 1, now_ms);
            db_bind_text(stmt, 2, id);
            db_bind_text(stmt, 3, st->code_hash);
            rc = db_step_done(stmt);
            spent = sqlite3_changes(db);
            sqlite3_finalize(stmt);
        }
        if (rc == 0 && spent != 1)
            rc = CAPP_ECONFLICT;
    }
    if (rc == 0)
        rc = drop_start(db, s->session_hash);
    if (rc == 0)
        rc = reviewers_bind_session(db, install, s, id, now_ms);
    if (rc == 0)
        rc = reviewers_audit(db, install, id,
                             json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s*}", "event",
                                       "account_created", "account_id", id, "display_name",
                                       st->display_name, "role", reviewers_role_name(st->role),
                                       "created_by", created_by, "via",
                                       st->code_hash[0] ? "enrolment" : "bootstrap", "user_id",
                                       reviewers_user_or_null(s)));
    if (rc == 0)
        rc = reviewers_load_account(db, install, id, out, NULL, NULL);
    return rc;
}

int reviewers_start_confirm(results_db *conn, const struct seal_keyring *kr,
                            const char *installed_app_id, const struct reviewers_session *s,
                            const char *code, int64_t now_ms, struct reviewer_account *out,
                            const char **why)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    memset(out, 0, sizeof *out);
    reviewers_refuse(why, NULL, 0);
    int rc = reviewers_check_caller(installed_app_id, s, kr, why);
    if (rc)
        return rc;
    if ((rc = reviewers_check_code(code, why)) != 0)
        return rc;
    rc = db_begin_immediate(db);
    if (rc)
        return rc;
    struct started st;
    uint8_t secret[TOTP_SECRET_BYTES];
    int keep = 0;
    rc = load_start(db, installed_app_id, s->session_hash, &st);
    if (rc == CAPP_ENOTFOUND)
        rc = reviewers_refuse(why, "nothing_started", CAPP_ECONFLICT);
    else if (rc == 0 && st.expires_at_ms <= now_ms)
        rc = end_start(db, s->session_hash, &keep, why, "nothing_started", CAPP_ECONFLICT);
    char aad[REVIEWERS_AAD_CAP];
    start_aad(installed_app_id, s->session_hash, aad);
    int64_t step = 0;
    int match = 0;
    if (rc == 0) {
        match = reviewers_open_and_verify(kr, aad, st.sealed, code, now_ms, secret, &step);
        if (match < 0)
            rc = match;
    }
    if (rc == 0 && !match) {
        /* a wrong code: the start survives REVIEWERS_MAX_FAILED of them */
        const char *const texts[] = {s->session_hash};
        rc = st.failed + 1 >= REVIEWERS_MAX_FAILED
                 ? drop_start(db, s->session_hash)
                 : db_run(db,
                          "UPDATE kyc_reviewer_starts SET failed_attempts = failed_attempts + 1"
                          " WHERE session_hash = ?",
                          texts, 1, NULL, 0, NULL);
        if (rc == 0) {
            keep = 1;
            rc = reviewers_refuse(
                why, st.failed + 1 >= REVIEWERS_MAX_FAILED ? "start_ended" : "code_wrong",
                CAPP_EPERM);
        }
    }
    char created_by[STORE_ID_CAP] = REVIEWERS_BOOTSTRAP;
    if (rc == 0 && strcmp(st.kind, "setup") == 0) {
        int n = 0;
        rc = reviewers_count(conn, installed_app_id, &n);
        if (rc == 0 && n > 0) /* someone else finished the bootstrap first */
            rc = end_start(db, s->session_hash, &keep, why, "setup_done", CAPP_ECONFLICT);
    } else if (rc == 0) {
        enum reviewer_role role;
        rc = load_enrolment(db, installed_app_id, st.code_hash, now_ms, &role, created_by);
        if (rc == CAPP_EPERM)
            rc = end_start(db, s->session_hash, &keep, why, "enrolment_code_invalid", rc);
    }
    if (rc == 0 && (rc = name_taken(db, installed_app_id, st.display_name)) == 1)
        rc = end_start(db, s->session_hash, &keep, why, "name_taken", CAPP_ECONFLICT);
    if (rc == 0)
        rc =
            create_account(db, kr, installed_app_id, s, &st, created_by, secret, step, now_ms, out);
    crypto_wipe(secret, sizeof secret);
    free(st.sealed);
    rc = reviewers_finish(db, rc, keep);
    if (rc == 0)
        log_info("kyc.reviewer.created", "installed_app_id", installed_app_id, "account_id",
                 out->account_id, "role", reviewers_role_name(out->role), "created_by", created_by,
                 NULL);
    else
        memset(out, 0, sizeof *out);
    return rc;
}
