/*
 * test_reviewers.c — reviewer accounts (kyc/reviewers.h) on a real SQLite database with an
 * injected clock: the first-run setup (a check code before anything is saved, only once, the
 * first confirmation wins), TOTP sign-in (a code works once, ±1 step), the lockout after 5 wrong
 * codes and its release after 15 minutes, enrolment codes (admin only, single use, 24 h expiry),
 * disabled accounts (never the last enabled admin), the session binding (sign-out, session end,
 * disable), secrets sealed with AAD bound to their row, and the audit record of each of these.
 */
#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "capp/crypto.h"
#include "capp/db.h"
#include "capp/err.h"
#include "capp/seal.h"
#include "kyc/audit.h"
#include "kyc/reviewers.h"
#include "kyc/totp.h"

#define INSTALL    "instapp_rev"
#define MASTER_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define T0         1800000000000LL /* ms: 2027-01-15, inside a 30 s step */
#define MIN_MS     (60 * 1000LL)

struct fixture {
    results_db *db;
    struct seal_keyring *kr;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char dir[512], path[600];
    ts_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/kyc.db", dir);
    if (sql_open(path, &f->db) != 0 || reviewers_migrate(f->db) != 0)
        return -1;
    if (seal_keyring_new(&f->kr) != 0 || seal_keyring_add_hex(f->kr, MASTER_KEY) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sql_close(f->db);
    seal_keyring_free(f->kr);
    free(f);
    return 0;
}

/* A portal session: capp's hash (64 hex from a name), expiry, and a V1 user_id or none. */
struct sess {
    char hash[CRYPTO_SHA256_HEX_BYTES];
    struct reviewers_session s;
};

static struct reviewers_session *sess(struct sess *x, const char *name, const char *user_id)
{
    crypto_sha256_hex(name, strlen(name), x->hash);
    x->s.session_hash = x->hash;
    x->s.expires_at_ms = T0 + 48 * 60 * MIN_MS; /* outlives what the tests do */
    x->s.user_id = user_id;
    return &x->s;
}

/* The code an authenticator app shows for a base32 secret at time ms. */
static void code_at(const char *b32, int64_t ms, char out[TOTP_DIGITS + 1])
{
    char *raw = NULL;
    size_t len = 0;
    assert_int_equal(oath_base32_decode(b32, strlen(b32), &raw, &len), OATH_OK);
    assert_int_equal(len, TOTP_SECRET_BYTES);
    assert_int_equal(totp_code((const uint8_t *)raw, len, ms / 1000, out), 0);
    free(raw);
}

/* A code that is none of the three the window accepts at ms. */
static void wrong_code_at(const char *b32, int64_t ms, char out[TOTP_DIGITS + 1])
{
    char near[3][TOTP_DIGITS + 1];
    for (int d = -1; d <= 1; d++)
        code_at(b32, ms + d * 30000, near[d + 1]);
    for (unsigned n = 0;; n = (n + 1) % 1000000) {
        snprintf(out, TOTP_DIGITS + 1, "%06u", n % 1000000);
        if (strcmp(out, near[0]) && strcmp(out, near[1]) && strcmp(out, near[2]))
            return;
    }
}

static long long count(struct fixture *f, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(sql_sqlite_handle(f->db), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static long long audit_events(struct fixture *f, const char *event)
{
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM kyc_audit_log WHERE installed_app_id = '" INSTALL "' AND"
             " kind = 'reviewer' AND json_extract(payload, '$.event') = '%s'",
             event);
    return count(f, sql);
}

/* The first account (admin) through the setup, at T0. */
static void bootstrap(struct fixture *f, struct sess *x, const char *name,
                      struct reviewer_account *a, char secret[40])
{
    struct reviewers_secret s;
    const char *why = NULL;
    assert_int_equal(
        reviewers_setup_start(f->db, f->kr, INSTALL, sess(x, name, NULL), name, T0, &s, &why), 0);
    snprintf(secret, 40, "%s", s.base32);
    char code[TOTP_DIGITS + 1];
    code_at(secret, T0, code);
    assert_int_equal(reviewers_start_confirm(f->db, f->kr, INSTALL, &x->s, code, T0, a, &why), 0);
}

/* A further account of role, enrolled by admin with a fresh code in session x (named tag) at
 * T0; its secret into secret. */
static void enrol_account(struct fixture *f, const struct reviewer_account *admin,
                          enum reviewer_role role, struct sess *x, const char *tag,
                          const char *name, struct reviewer_account *a, char secret[40])
{
    char code[TOTP_DIGITS + 1], enrolment[REVIEWERS_ENROL_CODE_CAP];
    struct reviewers_secret s;
    const char *why = NULL;
    assert_int_equal(
        reviewers_enrolment_create(f->db, INSTALL, admin, role, T0, enrolment, NULL, &why), 0);
    assert_int_equal(reviewers_enrol_start(f->db, f->kr, INSTALL, sess(x, tag, NULL), enrolment,
                                           name, T0, &s, &why),
                     0);
    snprintf(secret, 40, "%s", s.base32);
    code_at(secret, T0, code);
    assert_int_equal(reviewers_start_confirm(f->db, f->kr, INSTALL, &x->s, code, T0, a, &why), 0);
}

/* Ada, the first admin (bootstrap), and Grace, enrolled by her with grace_role, at T0. */
struct two {
    struct sess ada, grace;
    struct reviewer_account admin, g;
    char secret[40], gsecret[40];
};

static void ada_and_grace(struct fixture *f, enum reviewer_role grace_role, struct two *t)
{
    bootstrap(f, &t->ada, "Ada", &t->admin, t->secret);
    enrol_account(f, &t->admin, grace_role, &t->grace, "g", "Grace", &t->g, t->gsecret);
}

static void test_first_run_setup(void **state)
{
    struct fixture *f = *state;
    int n = -1;
    assert_int_equal(reviewers_count(f->db, INSTALL, &n), 0);
    assert_int_equal(n, 0);
    struct sess ada, bob;
    struct reviewers_secret s, s2;
    struct reviewer_account a;
    const char *why = NULL;
    /* a bad name changes nothing */
    assert_int_equal(reviewers_setup_start(f->db, f->kr, INSTALL, sess(&ada, "ada", "user_ada"),
                                           "  \t ", T0, &s, &why),
                     CAPP_EINVAL);
    assert_string_equal(why, "display_name");
    assert_int_equal(reviewers_setup_start(f->db, f->kr, INSTALL, &ada.s, "a\x01b", T0, &s, &why),
                     CAPP_EINVAL);
    assert_int_equal(count(f, "SELECT count(*) FROM kyc_reviewer_starts"), 0);
    /* two people open a fresh install at once: both may start */
    assert_int_equal(
        reviewers_setup_start(f->db, f->kr, INSTALL, &ada.s, "  Ada Lovelace ", T0, &s, &why), 0);
    assert_int_equal(
        reviewers_setup_start(f->db, f->kr, INSTALL, sess(&bob, "bob", NULL), "Bob", T0, &s2, &why),
        0);
    assert_int_equal(strlen(s.base32), 32);
    assert_non_null(strstr(s.uri, "otpauth://totp/KYC%20review:Ada%20Lovelace?secret="));
    assert_non_null(strstr(s.uri, s.base32));
    /* the secret is stored sealed, never as text */
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM kyc_reviewer_starts WHERE secret_sealed LIKE '%%%s%%'",
             s.base32);
    assert_int_equal(count(f, sql), 0);
    /* nothing is saved until a code checks out */
    char code[TOTP_DIGITS + 1];
    wrong_code_at(s.base32, T0, code);
    assert_int_equal(reviewers_start_confirm(f->db, f->kr, INSTALL, &ada.s, code, T0, &a, &why),
                     CAPP_EPERM);
    assert_string_equal(why, "code_wrong");
    assert_int_equal(reviewers_start_confirm(f->db, f->kr, INSTALL, &ada.s, "12345", T0, &a, &why),
                     CAPP_EINVAL);
    assert_string_equal(why, "code");
    assert_int_equal(reviewers_count(f->db, INSTALL, &n), 0);
    assert_int_equal(n, 0);
    /* Bob's code is not Ada's */
    code_at(s2.base32, T0, code);
    char ada_code[TOTP_DIGITS + 1];
    code_at(s.base32, T0, ada_code);
    if (strcmp(code, ada_code) != 0)
        assert_int_equal(reviewers_start_confirm(f->db, f->kr, INSTALL, &ada.s, code, T0, &a, &why),
                         CAPP_EPERM);
    /* Ada confirms first: she is the admin, signed in, created by the bootstrap, audited */
    assert_int_equal(
        reviewers_start_confirm(f->db, f->kr, INSTALL, &ada.s, ada_code, T0 + 1000, &a, &why), 0);
    assert_string_equal(a.display_name, "Ada Lovelace");
    assert_int_equal(a.role, REVIEWER_ROLE_ADMIN);
    assert_string_equal(a.created_by, REVIEWERS_BOOTSTRAP);
    assert_true(strncmp(a.account_id, "rvw_", 4) == 0);
    struct reviewer_account in;
    assert_int_equal(reviewers_session_account(f->db, INSTALL, ada.hash, T0 + 2000, &in), 0);
    assert_string_equal(in.account_id, a.account_id);
    assert_int_equal(audit_events(f, "account_created"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM kyc_audit_log WHERE kind = 'reviewer' AND"
                              " json_extract(payload, '$.via') = 'bootstrap' AND"
                              " json_extract(payload, '$.user_id') = 'user_ada'"),
                     1);
    assert_int_equal(count(f, "SELECT count(*) FROM kyc_reviewer_starts"), 1); /* Bob's */
    /* Bob confirms second: too late, and nothing is created */
    code_at(s2.base32, T0, code);
    assert_int_equal(
        reviewers_start_confirm(f->db, f->kr, INSTALL, &bob.s, code, T0 + 3000, &a, &why),
        CAPP_ECONFLICT);
    assert_string_equal(why, "setup_done");
    assert_int_equal(reviewers_count(f->db, INSTALL, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(count(f, "SELECT count(*) FROM kyc_reviewer_starts"), 0);
    /* and nobody can start the setup again */
    assert_int_equal(reviewers_setup_start(f->db, f->kr, INSTALL, &bob.s, "Eve", T0, &s2, &why),
                     CAPP_ECONFLICT);
    assert_string_equal(why, "setup_done");
    /* another install is still fresh */
    assert_int_equal(reviewers_count(f->db, "instapp_other", &n), 0);
    assert_int_equal(n, 0);
}

static void test_start_ends_after_five_wrong_codes(void **state)
{
    struct fixture *f = *state;
    struct sess x;
    struct reviewers_secret s;
    struct reviewer_account a;
    const char *why = NULL;
    char code[TOTP_DIGITS + 1];
    assert_int_equal(
        reviewers_setup_start(f->db, f->kr, INSTALL, sess(&x, "x", NULL), "Ada", T0, &s, &why), 0);
    wrong_code_at(s.base32, T0, code);
    for (int i = 1; i <= REVIEWERS_MAX_FAILED; i++) {
        assert_int_equal(reviewers_start_confirm(f->db, f->kr, INSTALL, &x.s, code, T0, &a, &why),
                         CAPP_EPERM);
        assert_string_equal(why, i < REVIEWERS_MAX_FAILED ? "code_wrong" : "start_ended");
    }
    code_at(s.base32, T0, code);
    assert_int_equal(reviewers_start_confirm(f->db, f->kr, INSTALL, &x.s, code, T0, &a, &why),
                     CAPP_ECONFLICT);
    assert_string_equal(why, "nothing_started");
    /* a start also ends with time */
    assert_int_equal(reviewers_setup_start(f->db, f->kr, INSTALL, &x.s, "Ada", T0, &s, &why), 0);
    int64_t late = T0 + REVIEWERS_START_TTL_MS;
    code_at(s.base32, late, code);
    assert_int_equal(reviewers_start_confirm(f->db, f->kr, INSTALL, &x.s, code, late, &a, &why),
                     CAPP_ECONFLICT);
    assert_string_equal(why, "nothing_started");
    int n = -1;
    assert_int_equal(reviewers_count(f->db, INSTALL, &n), 0);
    assert_int_equal(n, 0);
}

static void test_codes_work_once_within_one_step(void **state)
{
    struct fixture *f = *state;
    struct sess ada, other;
    struct reviewer_account a, b;
    char secret[40], code[TOTP_DIGITS + 1];
    const char *why = NULL;
    bootstrap(f, &ada, "Ada", &a, secret);
    sess(&other, "ada-second-tab", NULL);
    /* the code that confirmed the setup is spent */
    code_at(secret, T0, code);
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &other.s, a.account_id, code, T0 + 5000, &b, &why),
        CAPP_EPERM);
    assert_string_equal(why, "code_used");
    /* ten minutes on: the previous step's code is still accepted (clock drift), once */
    const int64_t t1 = T0 + 10 * MIN_MS;
    code_at(secret, t1 - 30000, code);
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &other.s, a.account_id, code, t1, &b, &why), 0);
    assert_string_equal(b.account_id, a.account_id);
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &other.s, a.account_id, code, t1, &b, &why),
        CAPP_EPERM);
    assert_string_equal(why, "code_used");
    /* the current step's code works (a later step), then the next step's */
    code_at(secret, t1, code);
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &other.s, a.account_id, code, t1, &b, &why), 0);
    code_at(secret, t1 + 30000, code);
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &other.s, a.account_id, code, t1, &b, &why), 0);
    /* two steps ahead or behind is outside the window: a wrong code */
    code_at(secret, t1 + 60000, code);
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &other.s, a.account_id, code, t1, &b, &why),
        CAPP_EPERM);
    assert_string_equal(why, "code_wrong");
    const int64_t t2 = t1 + 10 * MIN_MS;
    code_at(secret, t2 - 60000, code);
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &other.s, a.account_id, code, t2, &b, &why),
        CAPP_EPERM);
    assert_string_equal(why, "code_wrong");
    /* a success resets the count of wrong codes */
    code_at(secret, t2, code);
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &other.s, a.account_id, code, t2, &b, &why), 0);
    assert_int_equal(b.failed_attempts, 0);
    assert_int_equal(audit_events(f, "signed_in"), 4);
    /* malformed input changes nothing */
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &other.s, a.account_id, "1234567", t2, &b, &why),
        CAPP_EINVAL);
    assert_string_equal(why, "code");
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &other.s, "no such", "123456", t2, &b, &why),
        CAPP_EINVAL);
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &other.s, "rvw_nobody", "123456", t2, &b, &why),
        CAPP_ENOTFOUND);
    assert_int_equal(reviewers_get(f->db, INSTALL, a.account_id, &b), 0);
    assert_int_equal(b.failed_attempts, 0);
}

static void test_five_wrong_codes_lock_for_fifteen_minutes(void **state)
{
    struct fixture *f = *state;
    struct sess ada, tab;
    struct reviewer_account a, b;
    char secret[40], code[TOTP_DIGITS + 1], wrong[TOTP_DIGITS + 1];
    const char *why = NULL;
    bootstrap(f, &ada, "Ada", &a, secret);
    sess(&tab, "tab", "user_mallory");
    const int64_t t1 = T0 + 5 * MIN_MS;
    wrong_code_at(secret, t1, wrong);
    for (int i = 1; i < REVIEWERS_MAX_FAILED; i++) {
        assert_int_equal(
            reviewers_sign_in(f->db, f->kr, INSTALL, &tab.s, a.account_id, wrong, t1, &b, &why),
            CAPP_EPERM);
        assert_string_equal(why, "code_wrong");
        assert_int_equal(reviewers_get(f->db, INSTALL, a.account_id, &b), 0);
        assert_int_equal(b.failed_attempts, i);
    }
    assert_int_equal(audit_events(f, "account_locked"), 0);
    /* the fifth locks it, audited once */
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &tab.s, a.account_id, wrong, t1, &b, &why),
        CAPP_EPERM);
    assert_string_equal(why, "account_locked");
    assert_int_equal(audit_events(f, "account_locked"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM kyc_audit_log WHERE kind = 'reviewer' AND"
                              " actor = 'system' AND"
                              " json_extract(payload, '$.user_id') = 'user_mallory'"),
                     1);
    assert_int_equal(reviewers_get(f->db, INSTALL, a.account_id, &b), 0);
    assert_int_equal(b.locked_until_ms, t1 + REVIEWERS_LOCK_MS);
    /* locked: even the right code is refused, and does not extend the lock */
    code_at(secret, t1 + 60000, code);
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &tab.s, a.account_id, code, t1 + 60000, &b, &why),
        CAPP_EPERM);
    assert_string_equal(why, "account_locked");
    const int64_t almost = t1 + REVIEWERS_LOCK_MS - 1;
    code_at(secret, almost, code);
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &tab.s, a.account_id, code, almost, &b, &why),
        CAPP_EPERM);
    assert_string_equal(why, "account_locked");
    assert_int_equal(audit_events(f, "account_locked"), 1);
    struct reviewer_account none;
    assert_int_equal(reviewers_session_account(f->db, INSTALL, tab.hash, almost, &none),
                     CAPP_ENOTFOUND);
    /* 15 minutes after the lock: released */
    const int64_t released = t1 + REVIEWERS_LOCK_MS;
    code_at(secret, released, code);
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &tab.s, a.account_id, code, released, &b, &why),
        0);
    assert_int_equal(b.failed_attempts, 0);
    /* and a fresh count of five applies again */
    wrong_code_at(secret, released + 60000, wrong);
    for (int i = 1; i < REVIEWERS_MAX_FAILED; i++)
        assert_int_equal(reviewers_sign_in(f->db, f->kr, INSTALL, &tab.s, a.account_id, wrong,
                                           released + 60000, &b, &why),
                         CAPP_EPERM);
    assert_string_equal(why, "code_wrong");
}

static void test_enrolment_codes(void **state)
{
    struct fixture *f = *state;
    struct sess ada, grace, eve;
    struct reviewer_account admin, g, e;
    char secret[40], code[TOTP_DIGITS + 1], enrol[REVIEWERS_ENROL_CODE_CAP];
    const char *why = NULL;
    int64_t expires = 0;
    bootstrap(f, &ada, "Ada", &admin, secret);
    assert_int_equal(reviewers_enrolment_create(f->db, INSTALL, &admin, REVIEWER_ROLE_REVIEWER, T0,
                                                enrol, &expires, &why),
                     0);
    assert_int_equal(expires, T0 + REVIEWERS_ENROL_TTL_MS);
    assert_int_equal(strlen(enrol), 19); /* XXXX-XXXX-XXXX-XXXX */
    assert_int_equal(audit_events(f, "enrolment_created"), 1);
    /* stored as a hash only */
    char plain[17];
    size_t np = 0;
    for (const char *p = enrol; *p && np < 16; p++)
        if (*p != '-')
            plain[np++] = *p;
    plain[np] = 0;
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM kyc_reviewer_enrolments WHERE code_hash LIKE '%%%s%%'", plain);
    assert_int_equal(count(f, sql), 0);
    /* Grace enrols in her own session, typing it in lower case without dashes */
    char typed[17];
    for (int i = 0; i < 17; i++)
        typed[i] = (char)(plain[i] >= 'A' && plain[i] <= 'Z' ? plain[i] + 32 : plain[i]);
    struct reviewers_secret s;
    assert_int_equal(reviewers_enrol_start(f->db, f->kr, INSTALL, sess(&grace, "g", NULL), "x",
                                           "Grace", T0 + MIN_MS, &s, &why),
                     CAPP_EINVAL);
    assert_string_equal(why, "enrolment_code");
    assert_int_equal(
        reviewers_enrol_start(f->db, f->kr, INSTALL, &grace.s, typed, "ada", T0, &s, &why),
        CAPP_ECONFLICT); /* names are unique whatever their case */
    assert_string_equal(why, "name_taken");
    assert_int_equal(reviewers_enrol_start(f->db, f->kr, INSTALL, &grace.s, typed, "Grace Hopper",
                                           T0 + MIN_MS, &s, &why),
                     0);
    code_at(s.base32, T0 + MIN_MS, code);
    assert_int_equal(
        reviewers_start_confirm(f->db, f->kr, INSTALL, &grace.s, code, T0 + MIN_MS, &g, &why), 0);
    assert_int_equal(g.role, REVIEWER_ROLE_REVIEWER);
    assert_string_equal(g.created_by, admin.account_id);
    assert_int_equal(count(f, "SELECT count(*) FROM kyc_audit_log WHERE kind = 'reviewer' AND"
                              " json_extract(payload, '$.via') = 'enrolment'"),
                     1);
    /* the code is spent */
    assert_int_equal(reviewers_enrol_start(f->db, f->kr, INSTALL, sess(&eve, "e", NULL), enrol,
                                           "Eve", T0 + 2 * MIN_MS, &s, &why),
                     CAPP_EPERM);
    assert_string_equal(why, "enrolment_code_invalid");
    /* a reviewer cannot make codes */
    assert_int_equal(
        reviewers_enrolment_create(f->db, INSTALL, &g, REVIEWER_ROLE_ADMIN, T0, enrol, NULL, &why),
        CAPP_EPERM);
    assert_string_equal(why, "admin_required");
    /* a code expires after 24 hours */
    assert_int_equal(reviewers_enrolment_create(f->db, INSTALL, &admin, REVIEWER_ROLE_ADMIN, T0,
                                                enrol, &expires, &why),
                     0);
    int64_t late = T0 + REVIEWERS_ENROL_TTL_MS;
    assert_int_equal(
        reviewers_enrol_start(f->db, f->kr, INSTALL, &eve.s, enrol, "Eve", late, &s, &why),
        CAPP_EPERM);
    assert_string_equal(why, "enrolment_code_invalid");
    /* started in time, confirmed too late: refused, nothing created */
    assert_int_equal(
        reviewers_enrol_start(f->db, f->kr, INSTALL, &eve.s, enrol, "Eve", late - 1000, &s, &why),
        0);
    code_at(s.base32, late, code);
    assert_int_equal(reviewers_start_confirm(f->db, f->kr, INSTALL, &eve.s, code, late, &e, &why),
                     CAPP_EPERM);
    assert_string_equal(why, "enrolment_code_invalid");
    int n = 0;
    assert_int_equal(reviewers_count(f->db, INSTALL, &n), 0);
    assert_int_equal(n, 2);
    /* limits: a display name of REVIEWERS_NAME_MAX_BYTES fits, one byte more does not */
    char name[REVIEWERS_NAME_MAX_BYTES + 2];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = 0;
    assert_int_equal(reviewers_enrolment_create(f->db, INSTALL, &admin, REVIEWER_ROLE_REVIEWER,
                                                T0 + MIN_MS, enrol, NULL, &why),
                     0);
    assert_int_equal(
        reviewers_enrol_start(f->db, f->kr, INSTALL, &eve.s, enrol, name, T0 + MIN_MS, &s, &why),
        CAPP_EINVAL);
    assert_string_equal(why, "display_name");
    name[REVIEWERS_NAME_MAX_BYTES] = 0;
    assert_int_equal(
        reviewers_enrol_start(f->db, f->kr, INSTALL, &eve.s, enrol, name, T0 + MIN_MS, &s, &why),
        0);
    /* at most REVIEWERS_MAX_OPEN_CODES unused codes at a time (two are open already) */
    for (int i = 2; i < REVIEWERS_MAX_OPEN_CODES; i++)
        assert_int_equal(reviewers_enrolment_create(f->db, INSTALL, &admin, REVIEWER_ROLE_REVIEWER,
                                                    T0 + MIN_MS, enrol, NULL, &why),
                         0);
    assert_int_equal(reviewers_enrolment_create(f->db, INSTALL, &admin, REVIEWER_ROLE_REVIEWER,
                                                T0 + MIN_MS, enrol, NULL, &why),
                     CAPP_ECONFLICT);
    assert_string_equal(why, "too_many");
    /* who created whom */
    json_t *list = NULL;
    assert_int_equal(reviewers_list(f->db, INSTALL, T0, &list), 0);
    assert_int_equal(json_array_size(list), 2);
    json_t *second = json_array_get(list, 1);
    assert_string_equal(json_string_value(json_object_get(second, "display_name")), "Grace Hopper");
    assert_string_equal(json_string_value(json_object_get(second, "created_by_name")), "Ada");
    assert_true(json_is_null(json_object_get(json_array_get(list, 0), "created_by_name")));
    json_decref(list);
}

static void test_disabled_accounts_and_session_binding(void **state)
{
    struct fixture *f = *state;
    struct two t;
    struct sess tab;
    struct reviewer_account b;
    char code[TOTP_DIGITS + 1];
    const char *why = NULL;
    ada_and_grace(f, REVIEWER_ROLE_REVIEWER, &t);
    /* sign-out ends the binding, the session itself lives on */
    assert_int_equal(reviewers_session_account(f->db, INSTALL, t.grace.hash, T0, &b), 0);
    assert_int_equal(reviewers_sign_out(f->db, INSTALL, t.grace.hash), 0);
    assert_int_equal(reviewers_session_account(f->db, INSTALL, t.grace.hash, T0, &b),
                     CAPP_ENOTFOUND);
    /* the binding ends with its session, and belongs to its install */
    code_at(t.gsecret, T0 + 30000, code);
    assert_int_equal(
        reviewers_sign_in(f->db, f->kr, INSTALL, &t.grace.s, t.g.account_id, code, T0, &b, &why),
        0);
    assert_int_equal(
        reviewers_session_account(f->db, INSTALL, t.grace.hash, t.grace.s.expires_at_ms - 1, &b),
        0);
    assert_int_equal(
        reviewers_session_account(f->db, INSTALL, t.grace.hash, t.grace.s.expires_at_ms, &b),
        CAPP_ENOTFOUND);
    assert_int_equal(reviewers_session_account(f->db, "instapp_other", t.grace.hash, T0, &b),
                     CAPP_ENOTFOUND);
    /* only an admin disables; never themselves */
    assert_int_equal(
        reviewers_set_disabled(f->db, INSTALL, &t.g, t.admin.account_id, 1, T0 + MIN_MS, &why),
        CAPP_EPERM);
    assert_string_equal(why, "admin_required");
    assert_int_equal(
        reviewers_set_disabled(f->db, INSTALL, &t.admin, t.admin.account_id, 1, T0 + MIN_MS, &why),
        CAPP_ECONFLICT);
    assert_string_equal(why, "self_disable");
    /* disabling ends Grace's sign-in at once and refuses new ones */
    assert_int_equal(
        reviewers_set_disabled(f->db, INSTALL, &t.admin, t.g.account_id, 1, T0 + MIN_MS, &why), 0);
    assert_int_equal(reviewers_session_account(f->db, INSTALL, t.grace.hash, T0 + MIN_MS, &b),
                     CAPP_ENOTFOUND);
    code_at(t.gsecret, T0 + 2 * MIN_MS, code);
    assert_int_equal(reviewers_sign_in(f->db, f->kr, INSTALL, sess(&tab, "t", NULL), t.g.account_id,
                                       code, T0 + 2 * MIN_MS, &b, &why),
                     CAPP_EPERM);
    assert_string_equal(why, "account_disabled");
    assert_int_equal(reviewers_get(f->db, INSTALL, t.g.account_id, &b), 0);
    assert_int_equal(b.disabled_at_ms, T0 + MIN_MS);
    assert_int_equal(b.failed_attempts, 0); /* a refusal for a disabled account is no guess */
    /* disabling twice records nothing more; enabling lets her in again */
    assert_int_equal(
        reviewers_set_disabled(f->db, INSTALL, &t.admin, t.g.account_id, 1, T0 + MIN_MS, &why), 0);
    assert_int_equal(audit_events(f, "account_disabled"), 1);
    assert_int_equal(
        reviewers_set_disabled(f->db, INSTALL, &t.admin, t.g.account_id, 0, T0 + 3 * MIN_MS, &why),
        0);
    assert_int_equal(audit_events(f, "account_enabled"), 1);
    code_at(t.gsecret, T0 + 3 * MIN_MS, code);
    assert_int_equal(reviewers_sign_in(f->db, f->kr, INSTALL, &tab.s, t.g.account_id, code,
                                       T0 + 3 * MIN_MS, &b, &why),
                     0);
    assert_int_equal(
        reviewers_set_disabled(f->db, INSTALL, &t.admin, "rvw_nobody", 1, T0 + MIN_MS, &why),
        CAPP_ENOTFOUND);
    /* the audit chain holds every record */
    struct audit_report report;
    assert_int_equal(audit_verify(sql_sqlite_handle(f->db), INSTALL, &report), 0);
    assert_int_equal(report.tampered, 0);
    audit_report_free(&report);
}

static void test_secrets_are_bound_to_their_row(void **state)
{
    struct fixture *f = *state;
    struct two t;
    struct sess tab;
    struct reviewer_account b;
    char code[TOTP_DIGITS + 1];
    const char *why = NULL;
    ada_and_grace(f, REVIEWER_ROLE_REVIEWER, &t);
    /* someone with database access copies Grace's sealed secret onto Ada's row: it no longer
     * opens there, so knowing Grace's codes does not make anyone Ada */
    assert_int_equal(db_exec(sql_sqlite_handle(f->db),
                             "UPDATE kyc_reviewer_accounts SET secret_sealed ="
                             " (SELECT secret_sealed FROM kyc_reviewer_accounts"
                             " WHERE display_name = 'Grace') WHERE display_name = 'Ada'"),
                     0);
    code_at(t.gsecret, T0 + 60000, code);
    assert_int_equal(reviewers_sign_in(f->db, f->kr, INSTALL, sess(&tab, "t", NULL),
                                       t.admin.account_id, code, T0 + 60000, &b, &why),
                     CAPP_ECRYPTO);
    assert_int_equal(reviewers_session_account(f->db, INSTALL, tab.hash, T0 + 60000, &b),
                     CAPP_ENOTFOUND);
}

static void test_the_last_admin_stays_enabled(void **state)
{
    struct fixture *f = *state;
    struct two t;
    struct reviewer_account b;
    const char *why = NULL;
    ada_and_grace(f, REVIEWER_ROLE_ADMIN, &t);
    /* Grace disables Ada while Ada's request to disable Grace is already past its admin check
     * (Ada's account as her session loaded it): Grace is the last enabled admin, so it stays */
    assert_int_equal(
        reviewers_set_disabled(f->db, INSTALL, &t.g, t.admin.account_id, 1, T0 + MIN_MS, &why), 0);
    assert_int_equal(
        reviewers_set_disabled(f->db, INSTALL, &t.admin, t.g.account_id, 1, T0 + MIN_MS + 1, &why),
        CAPP_ECONFLICT);
    assert_string_equal(why, "last_admin");
    assert_int_equal(reviewers_get(f->db, INSTALL, t.g.account_id, &b), 0);
    assert_int_equal(b.disabled_at_ms, 0);
    assert_int_equal(audit_events(f, "account_disabled"), 1);
    /* enabling needs no such check, and with two admins again either may be disabled */
    assert_int_equal(
        reviewers_set_disabled(f->db, INSTALL, &t.g, t.admin.account_id, 0, T0 + 2 * MIN_MS, &why),
        0);
    assert_int_equal(
        reviewers_set_disabled(f->db, INSTALL, &t.admin, t.g.account_id, 1, T0 + 3 * MIN_MS, &why),
        0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_run_setup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_ends_after_five_wrong_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_codes_work_once_within_one_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_five_wrong_codes_lock_for_fifteen_minutes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_enrolment_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_accounts_and_session_binding, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_secrets_are_bound_to_their_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_last_admin_stays_enabled, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
