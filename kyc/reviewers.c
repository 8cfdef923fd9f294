/*
 * reviewers.c — reviewer accounts, enrolment, TOTP sign-in and the session binding (see
 * reviewers.h for the rules).
 *
 * Design. Every state change runs in one BEGIN IMMEDIATE transaction that reads the row it
 * decides on, so two requests racing (two people finishing the bootstrap, the same code sent
 * twice, a sixth guess during the fifth) are serialised by SQLite's write lock: the first one
 * wins and the other sees its effect. A refused code still commits its counter (the failure
 * is a fact to keep), so those paths commit and then return the refusal.
 *
 * Secrets are generated here, sealed before they are stored, opened only to check a code, and
 * wiped after use. A started setup or enrolment keeps its secret sealed against the portal
 * session (not the account, which does not exist yet); confirming re-seals it for the account.
 */
#include "kyc/reviewers.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/clock.h"
#include "capp/crypto.h"
#include "capp/db.h"
#include "capp/err.h"
#include "capp/json.h"
#include "capp/log.h"
#include "kyc/audit.h"
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

int reviewers_migrate(sqlite3 *db)
{
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
    return (unsigned)role < sizeof role_names / sizeof role_names[0] ? role_names[role] : NULL;
}

int reviewers_role_parse(const char *s, enum reviewer_role *out)
{
    for (size_t i = 0; s && i < sizeof role_names / sizeof role_names[0]; i++) {
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum reviewer_role)i;
            return 0;
        }
    }
    return CAPP_EINVAL;
}

/* ---- small helpers ---- */

static const char *set_why(const char **why, const char *value)
{
    if (why)
        *why = value;
    return value;
}

static int valid_id(const char *s)
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

static const char *user_or_null(const struct reviewers_session *s)
{
    return s && s->user_id && *s->user_id ? s->user_id : NULL;
}

/* The display name without surrounding blanks into out; 0 when it is empty, too long or holds
 * control characters (it is shown on every page and written to the audit log). */
static int name_clean(const char *in, char out[REVIEWERS_NAME_MAX_BYTES + 1])
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

static int code_well_formed(const char *code)
{
    if (!code || strlen(code) != TOTP_DIGITS)
        return 0;
    for (const char *p = code; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

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

static void account_aad(const char *install, const char *account_id, char *out, size_t cap)
{
    snprintf(out, cap, "kyc-reviewer/%s/%s", install, account_id);
}

static void start_aad(const char *install, const char *session_hash, char *out, size_t cap)
{
    snprintf(out, cap, "kyc-reviewer-start/%s/%s", install, session_hash);
}

static int seal_secret(const struct seal_keyring *kr, const char *aad,
                       const uint8_t secret[TOTP_SECRET_BYTES], char **out)
{
    return seal_seal(kr, aad, secret, TOTP_SECRET_BYTES, out);
}

static int open_secret(const struct seal_keyring *kr, const char *aad, const char *sealed,
                       uint8_t secret[TOTP_SECRET_BYTES])
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
    return rc;
}

static int append(sqlite3 *db, const char *install, const char *actor, json_t *payload)
{
    if (!payload)
        return CAPP_ENOMEM;
    int rc = audit_append(db, install, actor, AUDIT_REVIEWER, NULL, payload, NULL);
    json_decref(payload);
    return rc;
}

static json_t *time_or_null(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char ts[40];
    clock_format_rfc3339(ms, ts, sizeof ts);
    return json_string(ts);
}

/* Ends a transaction: commits when rc is 0 or a refusal whose side effects must stay
 * (keep = 1), rolls back otherwise. Returns rc, or the commit's error. */
static int finish(sqlite3 *db, int rc, int keep)
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

#define ACCOUNT_COLUMNS                                                                 \
    "account_id, display_name, role, created_by, created_at, coalesce(disabled_at, 0)," \
    " locked_until, failed_attempts"

static void read_account(sqlite3_stmt *st, int col, struct reviewer_account *out)
{
    memset(out, 0, sizeof *out);
    db_column_copy(st, col, out->account_id, sizeof out->account_id);
    db_column_copy(st, col + 1, out->display_name, sizeof out->display_name);
    char role[16];
    db_column_copy(st, col + 2, role, sizeof role);
    out->role = strcmp(role, "admin") == 0 ? REVIEWER_ROLE_ADMIN : REVIEWER_ROLE_REVIEWER;
    db_column_copy(st, col + 3, out->created_by, sizeof out->created_by);
    out->created_at_ms = sqlite3_column_int64(st, col + 4);
    out->disabled_at_ms = sqlite3_column_int64(st, col + 5);
    out->locked_until_ms = sqlite3_column_int64(st, col + 6);
    out->failed_attempts = sqlite3_column_int(st, col + 7);
}

/* The account with its sealed secret (*sealed, caller frees; may be NULL) and last step. */
static int load_account(sqlite3 *db, const char *install, const char *account_id,
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

int reviewers_get(sqlite3 *db, const char *installed_app_id, const char *account_id,
                  struct reviewer_account *out)
{
    if (!valid_id(installed_app_id) || !valid_id(account_id))
        return CAPP_EINVAL;
    return load_account(db, installed_app_id, account_id, out, NULL, NULL);
}

static int count_where(sqlite3 *db, const char *sql, const char *install, int64_t now_ms, int *out)
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

int reviewers_count(sqlite3 *db, const char *installed_app_id, int *out)
{
    *out = 0;
    return count_where(db, "SELECT count(*) FROM kyc_reviewer_accounts WHERE installed_app_id = ?",
                       installed_app_id, 0, out);
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

/* Binds the session to the account (replacing an earlier binding of the session). */
static int bind_session(sqlite3 *db, const char *install, const struct reviewers_session *s,
                        const char *account_id, int64_t now_ms)
{
    const char *const texts[] = {s->session_hash, install, account_id, user_or_null(s)};
    const int64_t ints[] = {now_ms, s->expires_at_ms};
    return db_run(db,
                  "INSERT OR REPLACE INTO kyc_reviewer_sessions(session_hash, installed_app_id,"
                  " account_id, user_id, signed_in_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                  texts, 4, ints, 2, NULL);
}

/* ---- starting: setup and enrolment ---- */

/* Stores a new secret for the session and fills out with what is shown once. */
static int start(sqlite3 *db, const struct seal_keyring *kr, const char *install,
                 const struct reviewers_session *s, const char *kind, const char *code_hash,
                 const char *name, enum reviewer_role role, int64_t now_ms,
                 struct reviewers_secret *out)
{
    uint8_t secret[TOTP_SECRET_BYTES];
    char aad[400], *sealed = NULL;
    int rc = totp_secret_new(secret);
    start_aad(install, s->session_hash, aad, sizeof aad);
    rc = rc ? rc : seal_secret(kr, aad, secret, &sealed);
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

int reviewers_setup_start(sqlite3 *db, const struct seal_keyring *kr, const char *installed_app_id,
                          const struct reviewers_session *s, const char *display_name,
                          int64_t now_ms, struct reviewers_secret *out, const char **why)
{
    memset(out, 0, sizeof *out);
    set_why(why, NULL);
    char name[REVIEWERS_NAME_MAX_BYTES + 1];
    if (!valid_id(installed_app_id) || !session_valid(s) || !kr) {
        set_why(why, "session");
        return CAPP_EINVAL;
    }
    if (!name_clean(display_name, name)) {
        set_why(why, "display_name");
        return CAPP_EINVAL;
    }
    int rc = db_begin_immediate(db);
    if (rc)
        return rc;
    int n = 0;
    rc = reviewers_count(db, installed_app_id, &n);
    if (rc == 0 && n > 0) {
        set_why(why, "setup_done");
        rc = CAPP_ECONFLICT;
    }
    if (rc == 0)
        rc = start(db, kr, installed_app_id, s, "setup", NULL, name, REVIEWER_ROLE_ADMIN, now_ms,
                   out);
    rc = finish(db, rc, 0);
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
        char r[16];
        db_column_copy(st, 0, r, sizeof r);
        *role = strcmp(r, "admin") == 0 ? REVIEWER_ROLE_ADMIN : REVIEWER_ROLE_REVIEWER;
        db_column_copy(st, 1, created_by, STORE_ID_CAP);
        rc = 0;
    } else if (rc == 0) {
        rc = CAPP_EPERM;
    }
    sqlite3_finalize(st);
    return rc;
}

int reviewers_enrolment_create(sqlite3 *db, const char *installed_app_id,
                               const struct reviewer_account *admin, enum reviewer_role role,
                               int64_t now_ms, char code[REVIEWERS_ENROL_CODE_CAP],
                               int64_t *expires_at_ms, const char **why)
{
    code[0] = 0;
    set_why(why, NULL);
    if (!valid_id(installed_app_id) || !admin || !reviewers_role_name(role)) {
        set_why(why, "role");
        return CAPP_EINVAL;
    }
    if (admin->role != REVIEWER_ROLE_ADMIN || admin->disabled_at_ms) {
        set_why(why, "admin_required");
        return CAPP_EPERM;
    }
    uint8_t raw[REVIEWERS_ENROL_CODE_CHARS];
    char plain[REVIEWERS_ENROL_CODE_CHARS + 1], hash[CRYPTO_SHA256_HEX_BYTES];
    int rc = crypto_random(raw, sizeof raw);
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
    rc = count_where(db,
                     "SELECT count(*) FROM kyc_reviewer_enrolments WHERE installed_app_id = ? AND"
                     " used_at IS NULL AND expires_at > ?",
                     installed_app_id, now_ms, &open);
    if (rc == 0 && open >= REVIEWERS_MAX_OPEN_CODES) {
        set_why(why, "too_many");
        rc = CAPP_ECONFLICT;
    }
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
        rc = append(db, installed_app_id, admin->account_id,
                    json_pack("{s:s, s:s, s:o, s:s}", "event", "enrolment_created", "role",
                              reviewers_role_name(role), "expires_at", time_or_null(expires),
                              "created_by", admin->account_id));
    rc = finish(db, rc, 0);
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

int reviewers_enrol_start(sqlite3 *db, const struct seal_keyring *kr, const char *installed_app_id,
                          const struct reviewers_session *s, const char *enrolment_code,
                          const char *display_name, int64_t now_ms, struct reviewers_secret *out,
                          const char **why)
{
    memset(out, 0, sizeof *out);
    set_why(why, NULL);
    char name[REVIEWERS_NAME_MAX_BYTES + 1], plain[REVIEWERS_ENROL_CODE_CHARS + 1];
    char hash[CRYPTO_SHA256_HEX_BYTES];
    if (!valid_id(installed_app_id) || !session_valid(s) || !kr) {
        set_why(why, "session");
        return CAPP_EINVAL;
    }
    if (!enrol_code_normal(enrolment_code, plain)) {
        set_why(why, "enrolment_code");
        return CAPP_EINVAL;
    }
    if (!name_clean(display_name, name)) {
        set_why(why, "display_name");
        return CAPP_EINVAL;
    }
    crypto_sha256_hex(plain, strlen(plain), hash);
    crypto_wipe(plain, sizeof plain);
    int rc = db_begin_immediate(db);
    if (rc)
        return rc;
    enum reviewer_role role = REVIEWER_ROLE_REVIEWER;
    char created_by[STORE_ID_CAP];
    int n = 0;
    rc = load_enrolment(db, installed_app_id, hash, now_ms, &role, created_by);
    if (rc == CAPP_EPERM)
        set_why(why, "enrolment_code_invalid");
    if (rc == 0)
        rc = reviewers_count(db, installed_app_id, &n);
    if (rc == 0 && n >= REVIEWERS_MAX_ACCOUNTS) {
        set_why(why, "too_many");
        rc = CAPP_ECONFLICT;
    }
    if (rc == 0 && (rc = name_taken(db, installed_app_id, name)) == 1) {
        set_why(why, "name_taken");
        rc = CAPP_ECONFLICT;
    }
    if (rc == 0)
        rc = start(db, kr, installed_app_id, s, "enrol", hash, name, role, now_ms, out);
    rc = finish(db, rc, 0);
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
        char role[16];
        db_column_copy(st, 0, out->kind, sizeof out->kind);
        db_column_copy(st, 1, out->code_hash, sizeof out->code_hash);
        db_column_copy(st, 2, out->display_name, sizeof out->display_name);
        db_column_copy(st, 3, role, sizeof role);
        out->role = strcmp(role, "admin") == 0 ? REVIEWER_ROLE_ADMIN : REVIEWER_ROLE_REVIEWER;
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
    char id[STORE_ID_CAP], aad[400], *sealed = NULL;
    int rc = new_account_id(id);
    if (rc)
        return rc;
    account_aad(install, id, aad, sizeof aad);
    rc = seal_secret(kr, aad, secret, &sealed);
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
        rc = bind_session(db, install, s, id, now_ms);
    if (rc == 0)
        rc = append(db, install, id,
                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s*}", "event", "account_created",
                              "account_id", id, "display_name", st->display_name, "role",
                              reviewers_role_name(st->role), "created_by", created_by, "via",
                              st->code_hash[0] ? "enrolment" : "bootstrap", "user_id",
                              user_or_null(s)));
    if (rc == 0)
        rc = load_account(db, install, id, out, NULL, NULL);
    return rc;
}

int reviewers_start_confirm(sqlite3 *db, const struct seal_keyring *kr,
                            const char *installed_app_id, const struct reviewers_session *s,
                            const char *code, int64_t now_ms, struct reviewer_account *out,
                            const char **why)
{
    memset(out, 0, sizeof *out);
    set_why(why, NULL);
    if (!valid_id(installed_app_id) || !session_valid(s) || !kr) {
        set_why(why, "session");
        return CAPP_EINVAL;
    }
    if (!code_well_formed(code)) {
        set_why(why, "code");
        return CAPP_EINVAL;
    }
    int rc = db_begin_immediate(db);
    if (rc)
        return rc;
    struct started st;
    uint8_t secret[TOTP_SECRET_BYTES];
    int keep = 0;
    rc = load_start(db, installed_app_id, s->session_hash, &st);
    if (rc == CAPP_ENOTFOUND || (rc == 0 && st.expires_at_ms <= now_ms)) {
        if (rc == 0)
            keep = drop_start(db, s->session_hash) == 0;
        set_why(why, "nothing_started");
        rc = CAPP_ECONFLICT;
    }
    char aad[400];
    start_aad(installed_app_id, s->session_hash, aad, sizeof aad);
    if (rc == 0)
        rc = open_secret(kr, aad, st.sealed, secret);
    int64_t step = 0;
    int match = 0;
    if (rc == 0) {
        match = totp_verify(secret, sizeof secret, now_ms / 1000, code, &step);
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
            set_why(why, st.failed + 1 >= REVIEWERS_MAX_FAILED ? "start_ended" : "code_wrong");
            rc = CAPP_EPERM;
        }
    }
    char created_by[STORE_ID_CAP] = REVIEWERS_BOOTSTRAP;
    if (rc == 0 && strcmp(st.kind, "setup") == 0) {
        int n = 0;
        rc = reviewers_count(db, installed_app_id, &n);
        if (rc == 0 && n > 0) {
            /* someone else finished the bootstrap first */
            keep = drop_start(db, s->session_hash) == 0;
            set_why(why, "setup_done");
            rc = CAPP_ECONFLICT;
        }
    } else if (rc == 0) {
        enum reviewer_role role;
        rc = load_enrolment(db, installed_app_id, st.code_hash, now_ms, &role, created_by);
        if (rc == CAPP_EPERM) {
            keep = drop_start(db, s->session_hash) == 0;
            set_why(why, "enrolment_code_invalid");
        }
    }
    if (rc == 0 && (rc = name_taken(db, installed_app_id, st.display_name)) == 1) {
        keep = drop_start(db, s->session_hash) == 0;
        set_why(why, "name_taken");
        rc = CAPP_ECONFLICT;
    }
    if (rc == 0)
        rc =
            create_account(db, kr, installed_app_id, s, &st, created_by, secret, step, now_ms, out);
    crypto_wipe(secret, sizeof secret);
    free(st.sealed);
    rc = finish(db, rc, keep);
    if (rc == 0)
        log_info("kyc.reviewer.created", "installed_app_id", installed_app_id, "account_id",
                 out->account_id, "role", reviewers_role_name(out->role), "created_by", created_by,
                 NULL);
    else
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- sign-in ---- */

int reviewers_sign_in(sqlite3 *db, const struct seal_keyring *kr, const char *installed_app_id,
                      const struct reviewers_session *s, const char *account_id, const char *code,
                      int64_t now_ms, struct reviewer_account *out, const char **why)
{
    memset(out, 0, sizeof *out);
    set_why(why, NULL);
    if (!valid_id(installed_app_id) || !session_valid(s) || !kr) {
        set_why(why, "session");
        return CAPP_EINVAL;
    }
    if (!valid_id(account_id)) {
        set_why(why, "account_id");
        return CAPP_EINVAL;
    }
    if (!code_well_formed(code)) {
        set_why(why, "code");
        return CAPP_EINVAL;
    }
    int rc = db_begin_immediate(db);
    if (rc)
        return rc;
    struct reviewer_account a;
    char *sealed = NULL, aad[400];
    int64_t last_step = -1, step = 0;
    uint8_t secret[TOTP_SECRET_BYTES];
    int keep = 0, match = 0;
    rc = load_account(db, installed_app_id, account_id, &a, &sealed, &last_step);
    if (rc == CAPP_ENOTFOUND)
        set_why(why, "account_id");
    if (rc == 0 && a.disabled_at_ms) {
        set_why(why, "account_disabled");
        rc = CAPP_EPERM;
    }
    if (rc == 0 && a.locked_until_ms > now_ms) {
        set_why(why, "account_locked");
        rc = CAPP_EPERM;
    }
    account_aad(installed_app_id, account_id, aad, sizeof aad);
    if (rc == 0)
        rc = open_secret(kr, aad, sealed, secret);
    if (rc == 0) {
        match = totp_verify(secret, sizeof secret, now_ms / 1000, code, &step);
        if (match < 0)
            rc = match;
    }
    crypto_wipe(secret, sizeof secret);
    free(sealed);
    if (rc == 0 && match && step <= last_step) {
        /* the right code, already spent (RFC 6238 §5.2): not a guess, so not counted */
        set_why(why, "code_used");
        rc = CAPP_EPERM;
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
            rc = append(db, installed_app_id, "system",
                        json_pack("{s:s, s:s, s:s, s:o, s:i, s:s*}", "event", "account_locked",
                                  "account_id", account_id, "display_name", a.display_name,
                                  "locked_until", time_or_null(until), "failed_attempts", failed,
                                  "user_id", user_or_null(s)));
        if (rc == 0) {
            keep = 1;
            set_why(why, lock ? "account_locked" : "code_wrong");
            rc = CAPP_EPERM;
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
            rc = bind_session(db, installed_app_id, s, account_id, now_ms);
        if (rc == 0)
            rc = append(db, installed_app_id, account_id,
                        json_pack("{s:s, s:s, s:s*}", "event", "signed_in", "account_id",
                                  account_id, "user_id", user_or_null(s)));
        if (rc == 0) {
            a.failed_attempts = 0;
            a.locked_until_ms = 0;
            *out = a;
        }
    }
    return finish(db, rc, keep);
}

int reviewers_sign_out(sqlite3 *db, const char *installed_app_id, const char *session_hash)
{
    const char *const texts[] = {session_hash, installed_app_id};
    return db_run(db,
                  "DELETE FROM kyc_reviewer_sessions WHERE session_hash = ? AND"
                  " installed_app_id = ?",
                  texts, 2, NULL, 0, NULL);
}

int reviewers_session_account(sqlite3 *db, const char *installed_app_id, const char *session_hash,
                              int64_t now_ms, struct reviewer_account *out)
{
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

int reviewers_list(sqlite3 *db, const char *installed_app_id, int64_t now_ms, json_t **out)
{
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
            arr, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "account_id", a.account_id,
                           "display_name", a.display_name, "role", reviewers_role_name(a.role),
                           "created_by", a.created_by, "created_by_name",
                           by ? json_string((const char *)by) : json_null(), "created_at",
                           time_or_null(a.created_at_ms), "disabled_at",
                           time_or_null(a.disabled_at_ms), "locked_until",
                           time_or_null(a.locked_until_ms > now_ms ? a.locked_until_ms : 0)));
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

int reviewers_set_disabled(sqlite3 *db, const char *installed_app_id,
                           const struct reviewer_account *admin, const char *account_id,
                           int disabled, int64_t now_ms, const char **why)
{
    set_why(why, NULL);
    if (!valid_id(installed_app_id) || !admin) {
        set_why(why, "session");
        return CAPP_EINVAL;
    }
    if (!valid_id(account_id)) {
        set_why(why, "account_id");
        return CAPP_EINVAL;
    }
    if (admin->role != REVIEWER_ROLE_ADMIN || admin->disabled_at_ms) {
        set_why(why, "admin_required");
        return CAPP_EPERM;
    }
    if (disabled && strcmp(admin->account_id, account_id) == 0) {
        set_why(why, "self_disable");
        return CAPP_ECONFLICT;
    }
    int rc = db_begin_immediate(db);
    if (rc)
        return rc;
    struct reviewer_account a;
    rc = load_account(db, installed_app_id, account_id, &a, NULL, NULL);
    if (rc == CAPP_ENOTFOUND)
        set_why(why, "account_id");
    int change = rc == 0 && (a.disabled_at_ms != 0) != (disabled != 0);
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
            rc = append(db, installed_app_id, admin->account_id,
                        json_pack("{s:s, s:s, s:s}", "event",
                                  disabled ? "account_disabled" : "account_enabled", "account_id",
                                  account_id, "display_name", a.display_name));
    }
    return finish(db, rc, 0);
}

int reviewers_purge(sqlite3 *db, int64_t now_ms)
{
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
