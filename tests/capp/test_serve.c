/*
 * Integration tests: capp's test app (capp_testapp.c, a real server process) on an ephemeral
 * port, spoken to over HTTP the way Blnk Cloud (callback, portal generator) and a browser (portal)
 * do.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#include "capp/assert.h"
#include "capp/limits.h"
#include "serve_fixture.h"

static struct serve_fixture fx;

static int setup(void **state)
{
    memset(&fx, 0, sizeof fx);
    serve_start(&fx, NULL);
    return 0;
}

static int teardown(void **state)
{
    serve_stop(&fx);
    return 0;
}

static void outcome_is(const struct ts_response *r, const char *outcome)
{
    char got[64];
    assert_int_equal(ts_json_string(r, "outcome", got, sizeof got), 0);
    assert_string_equal(got, outcome);
}

static void test_healthz(void **state)
{
    char url[512];
    serve_url(&fx, "/healthz", url, sizeof url);
    struct ts_response r;
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
}

static void test_install_duplicate_uninstall_duplicate(void **state)
{
    char body[1024];
    install_body(body, sizeof body, "instapp_dup", "", INSTALL_KEY_A, "[\"data:read\"]");
    struct ts_response r;
    serve_post(&fx, "/api/callback", body, &r);
    TS_ASSERT_STATUS(r, 200);
    outcome_is(&r, "applied");
    ts_response_free(&r);

    serve_post(&fx, "/api/callback", body, &r);
    TS_ASSERT_STATUS(r, 200);
    outcome_is(&r, "duplicate");
    ts_response_free(&r);

    char token[128];
    serve_launch(&fx, "instapp_dup", token, sizeof token);

    const char *un = "{\"installed_app_id\":\"instapp_dup\",\"app_id\":\"" TEST_APP_ID
                     "\",\"organization_id\":\"" TEST_ORG "\",\"instance_id\":\"" TEST_INSTANCE
                     "\",\"uninstalled_at\":\"2026-04-21T12:00:00Z\","
                     "\"idempotency_key\":\"uninstall:instapp_dup\"}";
    serve_post(&fx, "/api/callback", un, &r);
    TS_ASSERT_STATUS(r, 200);
    outcome_is(&r, "applied");
    ts_response_free(&r);
    serve_post(&fx, "/api/callback", un, &r);
    TS_ASSERT_STATUS(r, 200);
    outcome_is(&r, "duplicate");
    ts_response_free(&r);

    /* the launch token minted before the uninstall was revoked with it */
    char url[512];
    snprintf(url, sizeof url, "%s/portal?token=%s", fx.proc.url, token);
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 401);
    ts_response_free(&r);
    /* and the install can no longer launch */
    const char *launch =
        "{\"installed_app_id\":\"instapp_dup\",\"app_id\":\"" TEST_APP_ID
        "\",\"organization_id\":\"" TEST_ORG "\",\"instance_id\":\"" TEST_INSTANCE "\"}";
    serve_post(&fx, "/api/portal", launch, &r);
    expect_error(&r, 403, "install_inactive");
    ts_response_free(&r);
}

static void test_uninstall_unknown_install_is_acknowledged(void **state)
{
    const char *un =
        "{\"installed_app_id\":\"instapp_never\",\"app_id\":\"" TEST_APP_ID
        "\",\"instance_id\":\"" TEST_INSTANCE "\",\"idempotency_key\":\"uninstall:instapp_never\"}";
    struct ts_response r;
    serve_post(&fx, "/api/callback", un, &r);
    TS_ASSERT_STATUS(r, 200);
    outcome_is(&r, "unknown_install");
    ts_response_free(&r);
}

/* A reinstall of the same installed_app_id with another key while its uninstall awaits Cloud's
 * confirmation (this server's Cloud never answers) is refused: accepting it would let a forged
 * uninstall followed by a forged install replace the install's real key. The full cycle after
 * a confirmed uninstall is in test_store and the cloudsim end-to-end test. */
static void test_reinstall_while_uninstall_unconfirmed_conflicts(void **state)
{
    serve_install(&fx, "instapp_re", INSTALL_KEY_A);
    serve_uninstall(&fx, "instapp_re");
    char body[1024];
    install_body(body, sizeof body, "instapp_re", "#2", INSTALL_KEY_B,
                 "[\"data:read\",\"data:write\"]");
    struct ts_response r;
    serve_post(&fx, "/api/callback", body, &r);
    expect_error(&r, 409, "install_conflict");
    ts_response_free(&r);
    const char *launch =
        "{\"installed_app_id\":\"instapp_re\",\"app_id\":\"" TEST_APP_ID
        "\",\"organization_id\":\"" TEST_ORG "\",\"instance_id\":\"" TEST_INSTANCE "\"}";
    serve_post(&fx, "/api/portal", launch, &r);
    expect_error(&r, 403, "install_inactive");
    ts_response_free(&r);
}

static void launch_works(const char *id)
{
    char token[128];
    serve_launch(&fx, id, token, sizeof token);
    assert_int_equal(strlen(token), 43);
}

/* Issue 9: "uninstall:<victim>" sent with another installed_app_id is refused and spends
 * nothing, so the victim's real uninstall still takes effect. */
static void test_hijacked_idempotency_key_refused(void **state)
{
    serve_install(&fx, "instapp_victim", INSTALL_KEY_A);
    const char *hijack = "{\"installed_app_id\":\"instapp_attacker\",\"app_id\":\"" TEST_APP_ID
                         "\",\"instance_id\":\"" TEST_INSTANCE
                         "\",\"idempotency_key\":\"uninstall:instapp_victim\"}";
    struct ts_response r;
    serve_post(&fx, "/api/callback", hijack, &r);
    expect_error(&r, 400, "idempotency_key_mismatch");
    ts_response_free(&r);
    launch_works("instapp_victim");
    serve_uninstall(&fx, "instapp_victim");
    const char *launch =
        "{\"installed_app_id\":\"instapp_victim\",\"app_id\":\"" TEST_APP_ID
        "\",\"organization_id\":\"" TEST_ORG "\",\"instance_id\":\"" TEST_INSTANCE "\"}";
    serve_post(&fx, "/api/portal", launch, &r);
    expect_error(&r, 403, "install_inactive");
    ts_response_free(&r);
}

/* A forged install for an active install (another key, instance or organization) is refused
 * and changes nothing; an identical replay is still a duplicate. */
static void test_install_conflict_for_active_install(void **state)
{
    char body[1024];
    install_body(body, sizeof body, "instapp_live2", "", INSTALL_KEY_A, "[\"data:read\"]");
    struct ts_response r;
    serve_post(&fx, "/api/callback", body, &r);
    TS_ASSERT_STATUS(r, 200);
    outcome_is(&r, "applied");
    ts_response_free(&r);

    char forged[1024];
    install_body(forged, sizeof forged, "instapp_live2", ":2", INSTALL_KEY_B, "[\"data:read\"]");
    serve_post(&fx, "/api/callback", forged, &r);
    expect_error(&r, 409, "install_conflict");
    ts_response_free(&r);
    install_body(forged, sizeof forged, "instapp_live2", ":3", INSTALL_KEY_A, "[\"data:read\"]");
    char *org = strstr(forged, TEST_ORG);
    memcpy(org, "org_x", 5); /* same key, another organization */
    serve_post(&fx, "/api/callback", forged, &r);
    expect_error(&r, 409, "install_conflict");
    ts_response_free(&r);

    serve_post(&fx, "/api/callback", body, &r);
    TS_ASSERT_STATUS(r, 200);
    outcome_is(&r, "duplicate");
    ts_response_free(&r);
    /* the stored install is untouched: launches work, and the grant is still data:read only */
    char token[128], cookie[256];
    serve_launch(&fx, "instapp_live2", token, sizeof token);
    serve_redeem(&fx, token, cookie, sizeof cookie);
    serve_get_with_cookie(&fx, "/portal/api/session", cookie, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_null(strstr(r.body, "data:write"));
    ts_response_free(&r);
}

/* A recorded key whose install or kind disagrees with the event: 409, nothing changes. Such a
 * record cannot be written through the API any more (the upgrade drops the old ones), so it is
 * put into the database by hand, as another writer could. */
static void test_idempotency_conflict(void **state)
{
    serve_install(&fx, "instapp_ic", INSTALL_KEY_A);
    serve_stop(&fx);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(fx.db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO lifecycle_events VALUES('uninstall:instapp_ic',"
                                  " 'uninstall', 'instapp_other', 'applied', 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    serve_start(&fx, NULL);
    const char *un =
        "{\"installed_app_id\":\"instapp_ic\",\"app_id\":\"" TEST_APP_ID
        "\",\"instance_id\":\"" TEST_INSTANCE "\",\"idempotency_key\":\"uninstall:instapp_ic\"}";
    struct ts_response r;
    serve_post(&fx, "/api/callback", un, &r);
    expect_error(&r, 409, "idempotency_conflict");
    ts_response_free(&r);
    launch_works("instapp_ic");
}

/* An install for another app than --app-id is refused, and the log line says which app_id
 * arrived (spec D1'): the operator's only clue to a misregistered app or a forgery. */
static void test_install_for_another_app_refused(void **state)
{
    const char *body = "{\"installed_app_id\":\"instapp_x\",\"app_id\":\"app_other\","
                       "\"instance_id\":\"" TEST_INSTANCE "\",\"api_key\":\"" INSTALL_KEY_A "\","
                       "\"api_key_prefix\":\"blnk_AAA\",\"granted_permissions\":[],"
                       "\"idempotency_key\":\"install:instapp_x\"}";
    struct ts_response r;
    serve_post(&fx, "/api/callback", body, &r);
    expect_error(&r, 403, "wrong_app");
    ts_response_free(&r);
    assert_true(ts_file_contains(fx.log, "installed_app_id=instapp_x app_id=app_other "
                                         "pinned_app_id=" TEST_APP_ID " result=wrong_app"));
    /* an uninstall for another app is acknowledged, changes nothing, and is logged alike */
    const char *un =
        "{\"installed_app_id\":\"instapp_x\",\"app_id\":\"app_other2\","
        "\"instance_id\":\"" TEST_INSTANCE "\",\"idempotency_key\":\"uninstall:instapp_x\"}";
    serve_post(&fx, "/api/callback", un, &r);
    TS_ASSERT_STATUS(r, 200);
    outcome_is(&r, "ignored");
    ts_response_free(&r);
    assert_true(ts_file_contains(fx.log, "app_id=app_other2 pinned_app_id=" TEST_APP_ID
                                         " result=wrong_app_ignored"));
}

/* One text value from the app's database, read beside the running server. */
static void db_text(const struct serve_fixture *f, const char *sql, const char *id, char *out,
                    size_t cap)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (id)
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static long post_status(const char *path, const char *body, const char *outcome)
{
    struct ts_response r;
    serve_post(&fx, path, body, &r);
    long status = r.status;
    if (outcome)
        outcome_is(&r, outcome);
    ts_response_free(&r);
    return status;
}

/* What Cloud may send and a refusal would turn into a cancelled install or an uninstall that
 * never completes (spec D3'): accepted, stored as the rules say, and logged. */
static void test_lenient_install(void **state)
{
    /* a prefix that is not the key's start (Blnk's own example), repeated permissions */
    char body[1024];
    install_body(body, sizeof body, "instapp_len", "", INSTALL_KEY_A,
                 "[\"data:read\",\"alerts:write\",\"data:read\"]");
    char *prefix = strstr(body, "\"api_key_prefix\":\"blnk_AAA\"");
    assert_non_null(prefix);
    memcpy(prefix + strlen("\"api_key_prefix\":\""), "blnk_abc", 8);
    assert_int_equal(post_status("/api/callback", body, "applied"), 200);
    char got[256];
    db_text(&fx, "SELECT api_key_prefix FROM installs WHERE installed_app_id=?", "instapp_len", got,
            sizeof got);
    assert_string_equal(got, "blnk_abc"); /* display data, kept as sent */
    db_text(&fx, "SELECT granted_permissions FROM installs WHERE installed_app_id=?", "instapp_len",
            got, sizeof got);
    assert_string_equal(got, "[\"data:read\",\"alerts:write\"]");
    assert_true(ts_file_contains(fx.log, "installed_app_id=instapp_len "
                                         "accepted=api_key_prefix_not_key_start"));
    assert_true(ts_file_contains(fx.log, "installed_app_id=instapp_len "
                                         "accepted=repeated_permissions_dropped repeats=1"));
    launch_works("instapp_len");
}

static void test_lenient_uninstall(void **state)
{
    /* an uninstall carrying an api_key (and a grant) is still an uninstall; the key it carries
     * is neither stored nor logged, and the install's own sealed key is what stays pending */
    serve_install(&fx, "instapp_lenu", INSTALL_KEY_A);
    char sealed_before[1024], got[1024];
    db_text(&fx, "SELECT sealed_api_key FROM installs WHERE installed_app_id=?", "instapp_lenu",
            sealed_before, sizeof sealed_before);
    assert_true(sealed_before[0]);
    const char *un = "{\"installed_app_id\":\"instapp_lenu\",\"app_id\":\"" TEST_APP_ID
                     "\",\"instance_id\":\"" TEST_INSTANCE "\",\"api_key\":\"" INSTALL_KEY_B
                     "\",\"api_key_prefix\":\"blnk_BBB\",\"granted_permissions\":[\"data:write\"],"
                     "\"uninstalled_at\":\"2026-04-21T14:00:00.250+02:00\","
                     "\"idempotency_key\":\"uninstall:instapp_lenu\"}";
    assert_int_equal(post_status("/api/callback", un, "applied"), 200);
    db_text(&fx, "SELECT status || ' ' || uninstalled_at FROM installs WHERE installed_app_id=?",
            "instapp_lenu", got, sizeof got);
    assert_string_equal(got, "inactive 2026-04-21T12:00:00.250Z"); /* stored as UTC */
    db_text(&fx, "SELECT sealed_api_key FROM installs WHERE installed_app_id=?", "instapp_lenu",
            got, sizeof got);
    assert_string_equal(got, sealed_before);
    assert_false(ts_dir_contains(fx.dir, INSTALL_KEY_B)); /* database files and log */
    assert_true(ts_file_contains(fx.log, "installed_app_id=instapp_lenu "
                                         "accepted=uninstall_api_key_ignored_and_wiped"));

    /* an unparsable uninstalled_at: the receipt time, and the value sent in the log */
    serve_install(&fx, "instapp_lenu2", INSTALL_KEY_B);
    int64_t t0 = (int64_t)time(NULL);
    const char *un2 = "{\"installed_app_id\":\"instapp_lenu2\",\"app_id\":\"" TEST_APP_ID
                      "\",\"instance_id\":\"" TEST_INSTANCE "\",\"uninstalled_at\":\"21/04/2026\","
                      "\"idempotency_key\":\"uninstall:instapp_lenu2\"}";
    assert_int_equal(post_status("/api/callback", un2, "applied"), 200);
    int64_t t1 = (int64_t)time(NULL);
    db_text(&fx,
            "SELECT CAST(strftime('%s', uninstalled_at) AS TEXT) FROM installs"
            " WHERE installed_app_id=?",
            "instapp_lenu2", got, sizeof got);
    int64_t at = strtoll(got, NULL, 10);
    if (at < t0 || at > t1)
        fail_msg("uninstalled_at %s is not the receipt time (%lld..%lld)", got, (long long)t0,
                 (long long)t1);
    assert_true(ts_file_contains(fx.log, "installed_app_id=instapp_lenu2 "
                                         "accepted=uninstalled_at_replaced_by_receipt_time "
                                         "uninstalled_at_received=21/04/2026"));
}

static void test_callback_malformed_inputs(void **state)
{
    static const struct {
        const char *body;
        long status;
        const char *code;
    } cases[] = {
        {"not json", 400, "malformed_json"},
        {"", 400, "empty_body"},
        {"[1,2]", 400, "not_an_object"},
        {"{\"idempotency_key\":\"reinstall:x\",\"installed_app_id\":\"a\",\"app_id\":\"b\","
         "\"instance_id\":\"c\"}",
         400, "unknown_event"},
        {"{\"idempotency_key\":\"install:x\",\"installed_app_id\":5,\"app_id\":\"b\","
         "\"instance_id\":\"c\"}",
         400, "invalid_field"},
        {"{\"idempotency_key\":\"install:x\",\"installed_app_id\":\"x\",\"app_id\":\"b\","
         "\"instance_id\":\"c\",\"api_key\":\"blnk_zzz\",\"api_key_prefix\":\"blnk_z\","
         "\"granted_permissions\":\"data:read\"}",
         400, "invalid_field"},
        {"{\"idempotency_key\":\"install:x\",\"installed_app_id\":\"x\",\"app_id\":\"b\","
         "\"instance_id\":\"c\",\"uninstalled_at\":\"yesterday\"}",
         400, "missing_field"},
        {"{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
         "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1}}}}}}}}}}}}}}}}}",
         400, "json_too_deep"},
        {"{\"idempotency_key\":\"install:x\",\"idempotency_key\":\"uninstall:x\"}", 400,
         "malformed_json"},
    };
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        struct ts_response r;
        serve_post(&fx, "/api/callback", cases[i].body, &r);
        expect_error(&r, cases[i].status, cases[i].code);
        ts_response_free(&r);
    }
}

static void test_body_and_field_limits(void **state)
{
    /* one byte over 64 KiB → 413 before parsing */
    size_t n = 64 * 1024 + 1;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    struct ts_response r;
    serve_post(&fx, "/api/callback", big, &r);
    expect_error(&r, 413, "body_too_large");
    ts_response_free(&r);
    /* exactly at the limit is parsed (and refused for its content, not its size) */
    big[n - 1] = ' ';
    big[n - 2] = '}';
    big[n - 1] = '\0';
    serve_post(&fx, "/api/callback", big, &r);
    TS_ASSERT_STATUS(r, 400);
    ts_response_free(&r);
    free(big);

    /* IDs: 128 bytes accepted, 129 refused by name */
    char id129[130];
    memset(id129, 'a', 129);
    id129[129] = '\0';
    char body[2048];
    snprintf(body, sizeof body,
             "{\"installed_app_id\":\"%s\",\"app_id\":\"" TEST_APP_ID
             "\",\"instance_id\":\"" TEST_INSTANCE "\"}",
             id129);
    serve_post(&fx, "/api/portal", body, &r);
    expect_error(&r, 400, "field_too_long");
    assert_non_null(strstr(r.body, "installed_app_id"));
    ts_response_free(&r);
    id129[128] = '\0';
    snprintf(body, sizeof body,
             "{\"installed_app_id\":\"%s\",\"app_id\":\"" TEST_APP_ID
             "\",\"instance_id\":\"" TEST_INSTANCE "\"}",
             id129);
    serve_post(&fx, "/api/portal", body, &r);
    expect_error(&r, 403, "unknown_install"); /* valid shape, unknown install */
    ts_response_free(&r);
}

static void test_portal_success_and_fresh_urls(void **state)
{
    serve_install(&fx, "instapp_launch", INSTALL_KEY_A);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"installed_app_id\":\"instapp_launch\",\"app_id\":\"" TEST_APP_ID
             "\",\"organization_id\":\"" TEST_ORG "\",\"instance_id\":\"" TEST_INSTANCE
             "\",\"user_id\":\"" TEST_USER "\"}");
    /* more launches than one thread's batch of token randomness (portal_generator.c), so the refill
     * is covered too: every URL fresh */
    enum { LAUNCHES = 80 };
    static char seen[LAUNCHES][512];
    for (int i = 0; i < LAUNCHES; i++) {
        struct ts_response r;
        serve_post(&fx, "/api/portal", body, &r);
        TS_ASSERT_STATUS(r, 200);
        assert_int_equal(ts_json_string(&r, "portal_url", seen[i], sizeof seen[i]), 0);
        char prefix[512];
        snprintf(prefix, sizeof prefix, "%s/portal?token=", fx.proc.url);
        assert_int_equal(strncmp(seen[i], prefix, strlen(prefix)), 0);
        assert_int_equal(strlen(seen[i]) - strlen(prefix), 43);
        assert_null(strstr(seen[i], "blnk_"));
        ts_response_free(&r);
    }
    for (int i = 0; i < LAUNCHES; i++)
        for (int j = i + 1; j < LAUNCHES; j++)
            assert_string_not_equal(seen[i], seen[j]);

    /* V2 shape: no organization_id, no user_id */
    snprintf(body, sizeof body,
             "{\"installed_app_id\":\"instapp_launch\",\"app_id\":\"" TEST_APP_ID
             "\",\"instance_id\":\"" TEST_INSTANCE "\"}");
    struct ts_response r;
    serve_post(&fx, "/api/portal", body, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
}

static void test_portal_failures(void **state)
{
    serve_install(&fx, "instapp_pf", INSTALL_KEY_A);
    static const struct {
        const char *body;
        long status;
        const char *code;
    } cases[] = {
        {"{", 400, "malformed_json"},
        {"{\"app_id\":\"" TEST_APP_ID "\",\"instance_id\":\"" TEST_INSTANCE "\"}", 400,
         "missing_field"},
        {"{\"installed_app_id\":\"instapp_pf\",\"app_id\":\"" TEST_APP_ID "\",\"instance_id\":7}",
         400, "invalid_field"},
        {"{\"installed_app_id\":\"inst app\",\"app_id\":\"" TEST_APP_ID
         "\",\"instance_id\":\"" TEST_INSTANCE "\"}",
         400, "invalid_field"},
        {"{\"installed_app_id\":\"instapp_nope\",\"app_id\":\"" TEST_APP_ID
         "\",\"instance_id\":\"" TEST_INSTANCE "\"}",
         403, "unknown_install"},
        {"{\"installed_app_id\":\"instapp_pf\",\"app_id\":\"" TEST_APP_ID
         "\",\"instance_id\":\"inst_other\"}",
         403, "instance_mismatch"},
        {"{\"installed_app_id\":\"instapp_pf\",\"app_id\":\"app_other\",\"instance_id\":"
         "\"" TEST_INSTANCE "\"}",
         403, "app_mismatch"},
        {"{\"installed_app_id\":\"instapp_pf\",\"app_id\":\"" TEST_APP_ID
         "\",\"organization_id\":\"org_other\",\"instance_id\":\"" TEST_INSTANCE "\"}",
         403, "organization_mismatch"},
    };
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        struct ts_response r;
        serve_post(&fx, "/api/portal", cases[i].body, &r);
        expect_error(&r, cases[i].status, cases[i].code);
        ts_response_free(&r);
    }
}

static void assert_portal_headers(const struct ts_response *r)
{
    char csp[1024], v[256];
    assert_int_equal(ts_header(r, "Content-Security-Policy", csp, sizeof csp), 0);
    assert_non_null(strstr(csp, "frame-ancestors 'self' https://blnkfinance.com "
                                "https://*.blnkfinance.com http://dashboard.test:9000;"));
    assert_non_null(strstr(csp, "script-src 'self'"));
    assert_int_equal(ts_header(r, "Referrer-Policy", v, sizeof v), 0);
    assert_string_equal(v, "no-referrer");
    assert_int_equal(ts_header(r, "Cache-Control", v, sizeof v), 0);
    assert_string_equal(v, "no-store");
    assert_int_equal(ts_header(r, "X-Content-Type-Options", v, sizeof v), 0);
    assert_string_equal(v, "nosniff");
    assert_int_equal(ts_header_count(r, "X-Frame-Options"), 0);
    /* once, whether the handler or the server's /portal rule set them */
    assert_int_equal(ts_header_count(r, "Content-Security-Policy"), 1);
    assert_int_equal(ts_header_count(r, "Referrer-Policy"), 1);
}

static void test_redeem_reuse_reload_and_headers(void **state)
{
    serve_install(&fx, "instapp_portal", INSTALL_KEY_A);
    char token[128];
    serve_launch(&fx, "instapp_portal", token, sizeof token);
    char url[512];
    snprintf(url, sizeof url, "%s/portal?token=%s", fx.proc.url, token);
    struct ts_response r;
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 303);
    assert_portal_headers(&r);
    char location[256], set_cookie[512];
    assert_int_equal(ts_header(&r, "Location", location, sizeof location), 0);
    /* the token leaves the address bar for a single-use handoff ticket (spec D10′) */
    assert_int_equal(strncmp(location, "/portal?handoff=", 16), 0);
    assert_null(strstr(location, token));
    assert_int_equal(ts_header(&r, "Set-Cookie", set_cookie, sizeof set_cookie), 0);
    for (const char *attr = "HttpOnly\0Secure\0SameSite=None\0Partitioned\0Path=/portal\0"; *attr;
         attr += strlen(attr) + 1)
        if (!strstr(set_cookie, attr))
            fail_msg("cookie lacks %s: %s", attr, set_cookie);
    char cookie[256];
    snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(set_cookie, ";"), set_cookie);
    assert_null(strstr(cookie, token));
    ts_response_free(&r);

    /* the same URL from a client without the cookie is refused */
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 401);
    assert_portal_headers(&r);
    assert_non_null(strstr(r.body, "Launch the app again"));
    ts_response_free(&r);

    /* the browser that redeemed it reloads the launch URL: back to its session */
    serve_get_with_cookie(&fx, "/portal?token=", cookie, &r);
    ts_response_free(&r);
    char path[256];
    snprintf(path, sizeof path, "/portal?token=%s", token);
    serve_get_with_cookie(&fx, path, cookie, &r);
    TS_ASSERT_STATUS(r, 303);
    ts_response_free(&r);

    /* the page, twice (reload within the session) */
    for (int i = 0; i < 2; i++) {
        serve_get_with_cookie(&fx, "/portal", cookie, &r);
        TS_ASSERT_STATUS(r, 200);
        assert_portal_headers(&r);
        /* the reviewer, never the IDs a forged portal-generator call would need (spec D1) */
        assert_null(strstr(r.body, "instapp_portal"));
        assert_null(strstr(r.body, TEST_ORG));
        assert_null(strstr(r.body, TEST_INSTANCE));
        assert_non_null(strstr(r.body, TEST_USER));
        assert_non_null(strstr(r.body, "data:read, alerts:write"));
        assert_non_null(strstr(r.body, "name=\"csrf-token\""));
        assert_null(strstr(r.body, "blnk_AAAA"));
        ts_response_free(&r);
    }
    /* static assets and API answers carry the same headers */
    serve_get_with_cookie(&fx, "/portal/static/app.css", cookie, &r);
    TS_ASSERT_STATUS(r, 200);
    char csp[1024];
    assert_int_equal(ts_header(&r, "Content-Security-Policy", csp, sizeof csp), 0);
    ts_response_free(&r);
    serve_get_with_cookie(&fx, "/portal/api/session", cookie, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_portal_headers(&r);
    assert_non_null(strstr(r.body, TEST_USER));
    assert_null(strstr(r.body, "blnk_"));
    ts_response_free(&r);
}

static void test_portal_without_session(void **state)
{
    struct ts_response r;
    serve_get_with_cookie(&fx, "/portal", NULL, &r);
    TS_ASSERT_STATUS(r, 401);
    assert_portal_headers(&r);
    ts_response_free(&r);
    serve_get_with_cookie(&fx, "/portal",
                          "capp_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &r);
    TS_ASSERT_STATUS(r, 401);
    ts_response_free(&r);
    serve_get_with_cookie(&fx, "/portal/api/session", NULL, &r);
    expect_error(&r, 401, "session_required");
    ts_response_free(&r);
    char url[512];
    serve_url(&fx, "/portal?token=not-a-real-token", url, sizeof url);
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 401);
    ts_response_free(&r);
}

static void post_with(const char *url, const char *cookie, const char *csrf, struct ts_response *r)
{
    char c[300], x[200];
    snprintf(c, sizeof c, "Cookie: %s", cookie);
    snprintf(x, sizeof x, "X-CSRF-Token: %s", csrf ? csrf : "");
    const char *const headers[] = {c, csrf ? x : NULL, NULL};
    assert_int_equal(ts_http("POST", url, "{}", headers, r), 0);
}

static void test_csrf(void **state)
{
    serve_install(&fx, "instapp_csrf", INSTALL_KEY_A);
    char token[128], cookie[256];
    serve_launch(&fx, "instapp_csrf", token, sizeof token);
    serve_redeem(&fx, token, cookie, sizeof cookie);
    struct ts_response r;
    serve_get_with_cookie(&fx, "/portal", cookie, &r);
    const char *meta = strstr(r.body, "name=\"csrf-token\" content=\"");
    assert_non_null(meta);
    meta += strlen("name=\"csrf-token\" content=\"");
    char csrf[128];
    snprintf(csrf, sizeof csrf, "%.*s", (int)strcspn(meta, "\""), meta);
    assert_int_equal(strlen(csrf), 43);
    ts_response_free(&r);

    char url[512];
    serve_url(&fx, "/portal/api/logout", url, sizeof url);
    post_with(url, cookie, NULL, &r);
    expect_error(&r, 403, "csrf_failed");
    ts_response_free(&r);
    char wrong[64];
    snprintf(wrong, sizeof wrong, "%s", csrf);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    post_with(url, cookie, wrong, &r);
    expect_error(&r, 403, "csrf_failed");
    ts_response_free(&r);
    /* still logged in after refused attempts */
    serve_get_with_cookie(&fx, "/portal/api/session", cookie, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    post_with(url, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    serve_get_with_cookie(&fx, "/portal/api/session", cookie, &r);
    expect_error(&r, 401, "session_required");
    ts_response_free(&r);
}

static void test_uninstall_revokes_live_session(void **state)
{
    serve_install(&fx, "instapp_live", INSTALL_KEY_A);
    char token[128], cookie[256];
    serve_launch(&fx, "instapp_live", token, sizeof token);
    serve_redeem(&fx, token, cookie, sizeof cookie);
    struct ts_response r;
    serve_get_with_cookie(&fx, "/portal", cookie, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    serve_uninstall(&fx, "instapp_live");
    serve_get_with_cookie(&fx, "/portal", cookie, &r);
    assert_true(r.status == 401 || r.status == 403);
    ts_response_free(&r);
    serve_get_with_cookie(&fx, "/portal/api/session", cookie, &r);
    assert_true(r.status == 401 || r.status == 403);
    ts_response_free(&r);
}

static void test_unknown_route_and_method(void **state)
{
    char url[512];
    serve_url(&fx, "/nope", url, sizeof url);
    struct ts_response r;
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    expect_error(&r, 404, "not_found");
    ts_response_free(&r);
    serve_url(&fx, "/api/callback", url, sizeof url);
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    expect_error(&r, 405, "method_not_allowed");
    ts_response_free(&r);
}

/* A live session for install id: its cookie and CSRF token. */
static void open_session(const char *id, char *cookie, size_t cookie_cap, char *csrf,
                         size_t csrf_cap)
{
    serve_install(&fx, id, INSTALL_KEY_A);
    char token[128];
    serve_launch(&fx, id, token, sizeof token);
    serve_redeem(&fx, token, cookie, cookie_cap);
    struct ts_response r;
    serve_get_with_cookie(&fx, "/portal", cookie, &r);
    TS_ASSERT_STATUS(r, 200);
    const char *meta = strstr(r.body, "name=\"csrf-token\" content=\"");
    assert_non_null(meta);
    meta += strlen("name=\"csrf-token\" content=\"");
    snprintf(csrf, csrf_cap, "%.*s", (int)strcspn(meta, "\""), meta);
    ts_response_free(&r);
}

static void expect_allow(const struct ts_response *r, const char *allow)
{
    expect_error(r, 405, "method_not_allowed");
    char got[128];
    if (ts_header(r, "Allow", got, sizeof got) != 0)
        fail_msg("405 without an Allow header: %s", r->headers);
    assert_string_equal(got, allow);
}

static void test_method_not_allowed_names_allowed_methods(void **state)
{
    char url[512];
    struct ts_response r;
    /* capp routes */
    static const char *const capp_posts[] = {"/api/callback", "/api/portal"};
    for (size_t i = 0; i < 2; i++) {
        serve_url(&fx, capp_posts[i], url, sizeof url);
        assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
        expect_allow(&r, "POST");
        ts_response_free(&r);
    }
    serve_url(&fx, "/healthz", url, sizeof url);
    assert_int_equal(ts_http("POST", url, "{}", NULL, &r), 0);
    expect_allow(&r, "GET, HEAD");
    ts_response_free(&r);

    /* portal API routes, capp's and the app's, inside a session */
    char cookie[256], csrf[128];
    open_session("instapp_405", cookie, sizeof cookie, csrf, sizeof csrf);
    static const char *const portal_posts[] = {"/portal/api/logout", "/portal/api/things"};
    for (size_t i = 0; i < COUNTOF(portal_posts); i++) {
        serve_get_with_cookie(&fx, portal_posts[i], cookie, &r);
        expect_allow(&r, "POST");
        assert_portal_headers(&r);
        ts_response_free(&r);
    }
    char c[300], x[200];
    snprintf(c, sizeof c, "Cookie: %s", cookie);
    snprintf(x, sizeof x, "X-CSRF-Token: %s", csrf);
    const char *const headers[] = {c, x, NULL};
    serve_url(&fx, "/portal/api/settings", url, sizeof url);
    assert_int_equal(ts_http("DELETE", url, NULL, headers, &r), 0);
    expect_allow(&r, "GET, HEAD, PUT");
    ts_response_free(&r);
    serve_url(&fx, "/portal/api/session", url, sizeof url);
    assert_int_equal(ts_http("POST", url, "{}", headers, &r), 0);
    expect_allow(&r, "GET, HEAD");
    ts_response_free(&r);
    /* an unknown portal API path stays a 404; the session was not ended by any of this */
    serve_get_with_cookie(&fx, "/portal/api/nope", cookie, &r);
    expect_error(&r, 404, "not_found");
    ts_response_free(&r);
    serve_get_with_cookie(&fx, "/portal/api/session", cookie, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
}

static void test_head_does_not_spend_launch_token(void **state)
{
    serve_install(&fx, "instapp_head", INSTALL_KEY_A);
    char token[128];
    serve_launch(&fx, "instapp_head", token, sizeof token);
    char url[512];
    snprintf(url, sizeof url, "%s/portal?token=%s", fx.proc.url, token);
    struct ts_response r;
    for (int i = 0; i < 2; i++) { /* a link checker, then a previewer */
        assert_int_equal(ts_http("HEAD", url, NULL, NULL, &r), 0);
        TS_ASSERT_STATUS(r, 200);
        assert_int_equal(ts_header_count(&r, "Set-Cookie"), 0);
        assert_portal_headers(&r);
        ts_response_free(&r);
    }
    /* the user's browser still redeems it */
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 303);
    assert_int_equal(ts_header_count(&r, "Set-Cookie"), 1);
    ts_response_free(&r);
    /* and only once */
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 401);
    ts_response_free(&r);
}

static void test_every_portal_answer_has_portal_headers(void **state)
{
    char long_query[CAPP_MAX_URL_BYTES + 64];
    memset(long_query, 'a', sizeof long_query - 1);
    long_query[sizeof long_query - 1] = '\0';
    char long_url[CAPP_MAX_URL_BYTES + 600];
    snprintf(long_url, sizeof long_url, "/portal?pad=%s", long_query);
    const struct {
        const char *method, *path;
        long status;
    } cases[] = {
        {"GET", "/portal/nope", 404},
        {"GET", "/portal/static/nope.js", 404},
        {"GET", "/portal/static", 404},
        {"POST", "/portal", 405},
        {"GET", "/portal/api/session", 401},
        {"GET", "/portal/%00", 400},
        {"GET", long_url, 414},
    };
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        char url[CAPP_MAX_URL_BYTES + 700];
        serve_url(&fx, cases[i].path, url, sizeof url);
        struct ts_response r;
        assert_int_equal(
            ts_http(cases[i].method, url, cases[i].method[0] == 'P' ? "{}" : NULL, NULL, &r), 0);
        if (r.status != cases[i].status)
            fail_msg("%s %.60s: %ld, expected %ld", cases[i].method, cases[i].path, r.status,
                     cases[i].status);
        assert_portal_headers(&r);
        ts_response_free(&r);
    }
    /* outside /portal the embedding policy is not sent */
    char url[512];
    serve_url(&fx, "/portalx", url, sizeof url);
    struct ts_response r;
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    expect_error(&r, 404, "not_found");
    assert_int_equal(ts_header_count(&r, "Content-Security-Policy"), 0);
    ts_response_free(&r);
}

static void test_url_limit_covers_path_and_query(void **state)
{
    /* "/healthz?pad=" + padding: 13 bytes of path and key, the rest query */
    static char padding[CAPP_MAX_URL_BYTES + 1];
    char url[CAPP_MAX_URL_BYTES + 600];
    struct ts_response r;
    memset(padding, 'a', CAPP_MAX_URL_BYTES - 13);
    padding[CAPP_MAX_URL_BYTES - 13] = '\0';
    snprintf(url, sizeof url, "%s/healthz?pad=%s", fx.proc.url, padding);
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 200); /* exactly at the limit */
    ts_response_free(&r);
    snprintf(url, sizeof url, "%s/healthz?pad=%sa", fx.proc.url, padding);
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    expect_error(&r, 414, "uri_too_long");
    ts_response_free(&r);
    /* a launch token URL with a long query is refused before anything is looked up */
    snprintf(url, sizeof url, "%s/api/portal?x=%s", fx.proc.url, padding);
    assert_int_equal(ts_http("POST", url, "{}", NULL, &r), 0);
    expect_error(&r, 414, "uri_too_long");
    ts_response_free(&r);
}

static void test_encoded_nul_in_url_is_refused(void **state)
{
    /* decoded, these paths would end at the NUL and reach a real route */
    static const char *const paths[] = {"/healthz%00", "/healthz%00.json", "/portal%00.css",
                                        "/api/callback%00", "/healthz?x=%00"};
    for (size_t i = 0; i < COUNTOF(paths); i++) {
        char url[512];
        serve_url(&fx, paths[i], url, sizeof url);
        struct ts_response r;
        const char *method = strstr(paths[i], "callback") ? "POST" : "GET";
        assert_int_equal(ts_http(method, url, method[0] == 'P' ? "{}" : NULL, NULL, &r), 0);
        if (r.status != 400)
            fail_msg("%s %s: %ld, expected 400", method, paths[i], r.status);
        expect_error(&r, 400, "invalid_url");
        ts_response_free(&r);
    }
    /* nothing was installed by the refused callback, and the server still answers */
    char url[512];
    serve_url(&fx, "/healthz", url, sizeof url);
    struct ts_response r;
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
}

/* A server with 1-second lifetimes for the expiry paths. */
static void test_expiry(void **state)
{
    struct serve_fixture short_fx;
    memset(&short_fx, 0, sizeof short_fx);
    static const char *const extra[] = {"--test-only-launch-ttl", "1", "--test-only-session-ttl",
                                        "2", NULL};
    serve_start(&short_fx, extra);
    serve_install(&short_fx, "instapp_exp", INSTALL_KEY_A);
    char token[128], cookie[256];
    /* launch token expiry → 410 */
    serve_launch(&short_fx, "instapp_exp", token, sizeof token);
    ts_sleep_ms(1300);
    char url[512];
    snprintf(url, sizeof url, "%s/portal?token=%s", short_fx.proc.url, token);
    struct ts_response r;
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 410);
    assert_non_null(strstr(r.body, "Launch the app again from Blnk Cloud"));
    ts_response_free(&r);
    /* session expiry → 410 on the page and the API */
    serve_launch(&short_fx, "instapp_exp", token, sizeof token);
    serve_redeem(&short_fx, token, cookie, sizeof cookie);
    serve_get_with_cookie(&short_fx, "/portal", cookie, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    ts_sleep_ms(2300);
    serve_get_with_cookie(&short_fx, "/portal", cookie, &r);
    TS_ASSERT_STATUS(r, 410);
    ts_response_free(&r);
    serve_get_with_cookie(&short_fx, "/portal/api/session", cookie, &r);
    expect_error(&r, 410, "session_expired");
    ts_response_free(&r);
    serve_stop(&short_fx);
}

/* POSTs an install of id for app_id to f; returns the status. */
static long install_for_app(const struct serve_fixture *f, const char *id, const char *app_id,
                            const char *key)
{
    char body[1024];
    install_body(body, sizeof body, id, "", key, "[\"data:read\"]");
    char *app = strstr(body, TEST_APP_ID);
    assert_non_null(app);
    char patched[1100];
    snprintf(patched, sizeof patched, "%.*s%s%s", (int)(app - body), body, app_id,
             app + strlen(TEST_APP_ID));
    struct ts_response r;
    serve_post(f, "/api/callback", patched, &r);
    long status = r.status;
    if (status == 403)
        expect_error(&r, 403, "wrong_app");
    ts_response_free(&r);
    return status;
}

static long launch_status(const struct serve_fixture *f, const char *id, char *code, size_t cap)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"installed_app_id\":\"%s\",\"app_id\":\"" TEST_APP_ID
             "\",\"instance_id\":\"" TEST_INSTANCE "\"}",
             id);
    struct ts_response r;
    serve_post(f, "/api/portal", body, &r);
    code[0] = '\0';
    ts_json_string(&r, "code", code, cap);
    long status = r.status;
    ts_response_free(&r);
    return status;
}

/* Without --app-id (spec D1'): launches are refused until the first install, which pins its
 * app_id (logged with the value, kept in the database across restarts); events for any other
 * app are then refused with the app_id received in the log line. */
static void test_app_id_pinned_by_first_install(void **state)
{
    struct serve_fixture f = {.app_id = ""};
    serve_start(&f, NULL);
    assert_true(ts_file_contains(f.log, "app_id=unpinned"));
    assert_true(ts_file_contains(f.log, "event=capp.app.unpinned callback_url="));
    char code[64];
    assert_int_equal(launch_status(&f, "instapp_p1", code, sizeof code), 403);
    assert_string_equal(code, "app_not_pinned");

    assert_int_equal(install_for_app(&f, "instapp_p1", TEST_APP_ID, INSTALL_KEY_A), 200);
    assert_true(ts_file_contains(f.log, "event=capp.app.pinned app_id=" TEST_APP_ID
                                        " installed_app_id=instapp_p1 source=first_install"));
    assert_int_equal(launch_status(&f, "instapp_p1", code, sizeof code), 200);
    assert_int_equal(install_for_app(&f, "instapp_p2", "app_intruder", INSTALL_KEY_B), 403);
    assert_true(ts_file_contains(f.log, "installed_app_id=instapp_p2 app_id=app_intruder "
                                        "pinned_app_id=" TEST_APP_ID " result=wrong_app"));
    char got[256];
    db_text(&f, "SELECT app_id FROM capp_app_pin", NULL, got, sizeof got);
    assert_string_equal(got, TEST_APP_ID);
    db_text(&f, "SELECT count(*) FROM installs WHERE installed_app_id='instapp_p2'", NULL, got,
            sizeof got);
    assert_string_equal(got, "0"); /* the refused install changed nothing */

    /* the pin survives a restart without --app-id */
    serve_stop(&f);
    serve_start(&f, NULL);
    assert_int_equal(install_for_app(&f, "instapp_p3", "app_intruder", INSTALL_KEY_B), 403);
    assert_int_equal(launch_status(&f, "instapp_p1", code, sizeof code), 200);
    assert_int_equal(install_for_app(&f, "instapp_p4", TEST_APP_ID, INSTALL_KEY_B), 200);

    /* --app-id wins over the stored pin (the way out of a wrong first install) and replaces it */
    serve_stop(&f);
    f.app_id = "app_intruder";
    serve_start(&f, NULL);
    assert_true(ts_file_contains(f.log, "event=capp.app.pin_replaced app_id=app_intruder "
                                        "previous_app_id=" TEST_APP_ID));
    assert_int_equal(install_for_app(&f, "instapp_p5", TEST_APP_ID, INSTALL_KEY_A), 403);
    assert_int_equal(install_for_app(&f, "instapp_p5", "app_intruder", INSTALL_KEY_A), 200);
    db_text(&f, "SELECT app_id FROM capp_app_pin", NULL, got, sizeof got);
    assert_string_equal(got, "app_intruder");
    serve_stop(&f);
}

/* Many first installs for two apps at once: exactly one app is pinned, every install of the
 * other is refused and none of its installs is stored. */
static void test_racing_first_installs_pin_one_app(void **state)
{
    struct serve_fixture f = {.app_id = ""};
    serve_start(&f, NULL);
    enum { N = 16 };
    pid_t kids[N];
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            char id[64];
            snprintf(id, sizeof id, "instapp_race%d", i);
            long status = install_for_app(&f, id, i % 2 ? "app_odd" : "app_even", INSTALL_KEY_A);
            _exit(status == 200 ? 0 : status == 403 ? 1 : 2);
        }
    }
    int ok = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        int st;
        waitpid(kids[i], &st, 0);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) < 2);
        ok += WEXITSTATUS(st) == 0;
        refused += WEXITSTATUS(st) == 1;
    }
    assert_int_equal(ok, N / 2);
    assert_int_equal(refused, N / 2);
    char pinned[256], other[256];
    db_text(&f, "SELECT app_id FROM capp_app_pin", NULL, pinned, sizeof pinned);
    assert_true(strcmp(pinned, "app_odd") == 0 || strcmp(pinned, "app_even") == 0);
    db_text(&f, "SELECT count(*) FROM installs WHERE app_id<>?", pinned, other, sizeof other);
    assert_string_equal(other, "0");
    serve_stop(&f);
}

static int run_serve(const char *const *args, const char *env_key, char *out, size_t cap)
{
    char dir[256], log[320];
    ts_tmpdir(dir, sizeof dir);
    snprintf(log, sizeof log, "%s/out.log", dir);
    const char *argv[16] = {CAPP_TESTAPP, "serve"};
    int n = 2;
    for (const char *const *a = args; *a; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    char envbuf[200];
    snprintf(envbuf, sizeof envbuf, TEST_ENV_MASTER_KEY "=%s", env_key ? env_key : "");
    const char *env[] = {envbuf, NULL};
    struct ts_proc p;
    int rc = ts_proc_start(&p, argv, env, log, NULL);
    assert_int_equal(rc, -1); /* must refuse to start */
    char *text = ts_read_file(log, NULL);
    snprintf(out, cap, "%s", text ? text : "");
    free(text);
    return 0;
}

/* capp's built-in shell page (an app that registers no page) carries the program's title, and
 * capp names no app of its own anywhere in it. */
static void test_shell_page_title_is_the_programs(void **state)
{
    struct serve_fixture shell;
    memset(&shell, 0, sizeof shell);
    static const char *const extra[] = {"--shell-page", "1", NULL};
    serve_start(&shell, extra);
    serve_install(&shell, "instapp_shell", INSTALL_KEY_A);
    char token[128], cookie[256];
    serve_launch(&shell, "instapp_shell", token, sizeof token);
    serve_redeem(&shell, token, cookie, sizeof cookie);
    struct ts_response r;
    serve_get_with_cookie(&shell, "/portal", cookie, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "<title>" TEST_APP_TITLE "</title>"));
    assert_non_null(strstr(r.body, "<h1>" TEST_APP_TITLE "</h1>"));
    assert_non_null(strstr(r.body, "id=\"session\"")); /* capp's shell, not the app's page */
    assert_null(strcasestr(r.body, "kyc"));
    ts_response_free(&r);
    serve_stop(&shell);
}

static void test_refuses_bad_startup(void **state)
{
    char out[4096];
    static const char *const base[] = {"--app-id", TEST_APP_ID,          "--listen", "127.0.0.1:0",
                                       "--db",     "/tmp/never-used.db", NULL};
    /* the environment named is the program's own (capp_serve_hooks.env_prefix) */
    run_serve(base, "", out, sizeof out);
    assert_non_null(strstr(out, "no master key: set " TEST_ENV_MASTER_KEY " "));
    run_serve(base, "abc123", out, sizeof out);
    assert_non_null(strstr(out, "64 hex characters"));
    static const char *const ttl[] = {"--app-id", TEST_APP_ID, "--session-ttl", "60", NULL};
    run_serve(ttl, TEST_MASTER_KEY, out, sizeof out);
    assert_non_null(strstr(out, "--session-ttl must be 300..900"));
    static const char *const badapp[] = {"--app-id", "app one", "--listen", "127.0.0.1:0", NULL};
    run_serve(badapp, TEST_MASTER_KEY, out, sizeof out);
    assert_non_null(strstr(out, "--app-id 'app one' is not a valid ID"));
    static const char *const url[] = {"--app-id", TEST_APP_ID, "--public-url", "ftp://x", NULL};
    run_serve(url, TEST_MASTER_KEY, out, sizeof out);
    assert_non_null(strstr(out, "--public-url"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_shell_page_title_is_the_programs),
        cmocka_unit_test(test_install_duplicate_uninstall_duplicate),
        cmocka_unit_test(test_uninstall_unknown_install_is_acknowledged),
        cmocka_unit_test(test_reinstall_while_uninstall_unconfirmed_conflicts),
        cmocka_unit_test(test_hijacked_idempotency_key_refused),
        cmocka_unit_test(test_install_conflict_for_active_install),
        cmocka_unit_test(test_idempotency_conflict),
        cmocka_unit_test(test_install_for_another_app_refused),
        cmocka_unit_test(test_lenient_install),
        cmocka_unit_test(test_lenient_uninstall),
        cmocka_unit_test(test_callback_malformed_inputs),
        cmocka_unit_test(test_body_and_field_limits),
        cmocka_unit_test(test_portal_success_and_fresh_urls),
        cmocka_unit_test(test_portal_failures),
        cmocka_unit_test(test_redeem_reuse_reload_and_headers),
        cmocka_unit_test(test_portal_without_session),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_uninstall_revokes_live_session),
        cmocka_unit_test(test_unknown_route_and_method),
        cmocka_unit_test(test_method_not_allowed_names_allowed_methods),
        cmocka_unit_test(test_head_does_not_spend_launch_token),
        cmocka_unit_test(test_every_portal_answer_has_portal_headers),
        cmocka_unit_test(test_url_limit_covers_path_and_query),
        cmocka_unit_test(test_encoded_nul_in_url_is_refused),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_refuses_bad_startup),
        cmocka_unit_test(test_app_id_pinned_by_first_install),
        cmocka_unit_test(test_racing_first_installs_pin_one_app),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
