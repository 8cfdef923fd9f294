/*
 * End to end with the real binaries: cloudsim and `kyc serve` on loopback, every test in both
 * platform modes (V2, cloudsim's default, and V1).
 * install → launch → portal page → uninstall, and an install whose callback times out (kyc
 * frozen with SIGSTOP): the install fails and the key is revoked. Forged lifecycle events
 * (spec D1'): a forged uninstall sent by cloudsim is undone after the (shortened) confirmation
 * window and audited; a real one destroys the key once Cloud answers 401. The app-id bootstrap
 * (D1'): `kyc serve` started without --app-id, as README "Registering the app" says, pins the
 * first installed app and refuses another app's install, across a restart.
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capp/sql.h"
#include "cs_testkit.h"

/* argv[1] == "postgres" (CTest entry cloudsim_e2e_test_kyc_lifecycle_pg): kyc serve's database
 * is a fresh one on the fixture's PostgreSQL server instead of a SQLite file. */
static int on_postgres;

static unsigned short free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

struct e2e {
    const struct cs_mode *mode;
    int no_app_id; /* start kyc serve without --app-id (the first install pins) */
    struct ts_proc cs, kyc;
    char app_id[128];
    char kyc_url[128];
    char db[600];
    char log[600];
};

static void start_both_with(struct e2e *e, void **state, const char *const *cs_args,
                            const char *const *kyc_args);

static void start_both(struct e2e *e, void **state, const char *const *cs_args)
{
    start_both_with(e, state, cs_args, NULL);
}

/* Registers an app named display_name whose URLs point at kyc serve; writes its app_id. */
static void register_kyc_app(struct e2e *e, const char *display_name, char *app_id, size_t cap)
{
    char manifest[1024];
    snprintf(manifest, sizeof manifest,
             "{\"display_name\":\"%s\",\"callback_url\":\"%s/api/callback\","
             "\"portal_generator_url\":\"%s/api/portal\",\"permissions\":[\"data:read\","
             "\"data:write\",\"alerts:read\",\"alerts:write\"]}",
             display_name, e->kyc_url, e->kyc_url);
    struct ts_response r;
    admin_post(&e->cs, "/admin/apps", manifest, &r);
    TS_ASSERT_STATUS(r, 201);
    ts_json_string(&r, "app_id", app_id, cap);
    ts_response_free(&r);
}

static void start_kyc(struct e2e *e, const char *const *kyc_args);

static void start_both_with(struct e2e *e, void **state, const char *const *cs_args,
                            const char *const *kyc_args)
{
    e->mode = cs_mode_of(state);
    cloudsim_start_mode(&e->cs, e->mode, cs_args);
    unsigned short port = free_port();
    snprintf(e->kyc_url, sizeof e->kyc_url, "http://127.0.0.1:%u", port);
    register_kyc_app(e, "KYC review", e->app_id, sizeof e->app_id);
    char dir[512];
    ts_tmpdir(dir, sizeof dir);
    if (on_postgres) {
        static int dbs; /* one database per start, each test's own (testsupport adds the pid) */
        char name[32];
        snprintf(name, sizeof name, "e2e_lifecycle_%d", ++dbs);
        testsupport_pg_db(name, e->db, sizeof e->db);
    } else {
        snprintf(e->db, sizeof e->db, "%s/kyc.db", dir);
    }
    snprintf(e->log, sizeof e->log, "%s/kyc.log", dir);
    start_kyc(e, kyc_args);
}

/* Starts (or restarts, same database and log) kyc serve on e->kyc_url. */
static void start_kyc(struct e2e *e, const char *const *kyc_args)
{
    char bin[512], listen[64];
    char *db = e->db, *log = e->log;
    ts_binary("kyc", bin, sizeof bin);
    snprintf(listen, sizeof listen, "%s", e->kyc_url + strlen("http://"));
    /* The app's Cloud is cloudsim: nothing in a test may reach the real Blnk Cloud. */
    const char *argv[32] = {bin,
                            "serve",
                            "--listen",
                            listen,
                            "--db",
                            db,
                            "--public-url",
                            e->kyc_url,
                            "--frame-ancestors",
                            e->cs.url,
                            "--cloud-url",
                            e->cs.url,
                            NULL};
    int n = 12;
    if (!e->no_app_id) {
        argv[n++] = "--app-id";
        argv[n++] = e->app_id;
    }
    for (const char *const *a = kyc_args; a && *a && n < 31; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    const char *env[] = {"KYC_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabb"
                         "ccddeeff",
                         NULL};
    if (ts_proc_start(&e->kyc, argv, env, log, NULL) != 0) {
        char *text = ts_read_file(log, NULL);
        fail_msg("kyc serve did not start:\n%s", text ? text : "");
    }
}

static void stop_both(struct e2e *e)
{
    ts_proc_stop(&e->kyc, SIGTERM);
    cloudsim_stop(&e->cs);
}

static void test_install_launch_portal_uninstall(void **state)
{
    struct e2e e = {0};
    start_both(&e, state, NULL);
    char id[128], body[256], portal[1024];
    assert_int_equal(
        install_app(&e.cs, e.app_id, "[\"data:read\",\"alerts:write\"]", NULL, id, sizeof id), 201);
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", id);
    struct ts_response r;
    admin_post(&e.cs, "/admin/launches", body, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_int_equal(ts_json_string(&r, "portal_url", portal, sizeof portal), 0);
    ts_response_free(&r);
    ts_http("GET", portal, NULL, NULL, &r);
    assert_true(r.status == 200 || r.status == 302 || r.status == 303);
    char csp[512];
    assert_int_equal(ts_header(&r, "Content-Security-Policy", csp, sizeof csp), 0);
    assert_non_null(strstr(csp, e.cs.url));
    ts_response_free(&r);
    admin_post(&e.cs, "/admin/uninstalls", body, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "\"delivered\":true"));
    ts_response_free(&r);
    /* a launch after uninstall is refused by cloudsim before it reaches the app */
    admin_post(&e.cs, "/admin/launches", body, &r);
    TS_ASSERT_STATUS(r, 409);
    ts_response_free(&r);
    stop_both(&e);
}

static void test_callback_timeout_fails_install(void **state)
{
    static const char *const args[] = {"--callback-timeout-ms", "500", "--retry-delay-ms", "100",
                                       NULL};
    struct e2e e = {0};
    start_both(&e, state, args);
    kill(e.kyc.pid, SIGSTOP);
    char id[128];
    assert_int_equal(install_app(&e.cs, e.app_id, "[\"data:read\"]", NULL, id, sizeof id), 502);
    kill(e.kyc.pid, SIGCONT);
    char url[512];
    snprintf(url, sizeof url, "%s/admin/installs/%s", e.cs.url, id);
    struct ts_response r;
    ts_http("GET", url, NULL, NULL, &r);
    assert_non_null(strstr(r.body, "\"status\":\"failed\""));
    assert_non_null(strstr(r.body, "\"live_keys\":0"));
    ts_response_free(&r);
    stop_both(&e);
}

/* ---- forged lifecycle events (issue 9, spec D1') ---- */

/* One value from the app's database (beside the running server; a SQLite file or PostgreSQL,
 * capp/sql.h); -1 without a row. */
static long long db_int(const struct e2e *e, const char *sql, const char *id)
{
    struct sql_conn *c = NULL;
    assert_int_equal(sql_open(e->db, &c), 0);
    struct sql_stmt *st = NULL;
    if (sql_prepare(c, sql, &st) != 0) {
        sql_close(c);
        fail_msg("cannot prepare %s", sql);
    }
    sql_bind_text(st, 1, id);
    int rc = sql_step(st);
    long long v = rc == 1 ? sql_column_int64(st, 0) : -1;
    sql_finalize(st);
    sql_close(c);
    if (rc < 0)
        fail_msg("%s: error %d", sql, rc);
    return v;
}

/* booleans as 1/0 on both engines (PostgreSQL would answer t/f) */
#define KEY_KEPT                                                                        \
    "SELECT CASE WHEN sealed_api_key IS NOT NULL THEN 1 ELSE 0 END FROM installs WHERE" \
    " installed_app_id=?"
#define ACTIVE \
    "SELECT CASE WHEN status='active' THEN 1 ELSE 0 END FROM installs WHERE installed_app_id=?"
#define PENDING                                                                                  \
    "SELECT CASE WHEN uninstall_pending_since IS NOT NULL THEN 1 ELSE 0 END FROM installs WHERE" \
    " installed_app_id=?"
#define AUDITED                                                                        \
    "SELECT count(*) FROM kyc_audit_log WHERE installed_app_id=? AND kind='lifecycle'" \
    " AND payload LIKE '%\"event\":\"uninstall_forged\"%'"

/* Polls sql until it gives want (or fails after timeout_ms). */
static void wait_for(const struct e2e *e, const char *sql, const char *id, long long want,
                     long timeout_ms)
{
    long long got = -2;
    for (long waited = 0; waited <= timeout_ms; waited += 50) {
        if ((got = db_int(e, sql, id)) == want)
            return;
        ts_sleep_ms(50);
    }
    fail_msg("%s for %s: %lld after %ld ms, expected %lld", sql, id, got, timeout_ms, want);
}

/* Launches through cloudsim and opens the portal like a browser; returns the session cookie. */
static void portal_session(const struct e2e *e, const char *id, char *cookie, size_t cap)
{
    char body[256], portal[1024];
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", id);
    struct ts_response r;
    admin_post(&e->cs, "/admin/launches", body, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_int_equal(ts_json_string(&r, "portal_url", portal, sizeof portal), 0);
    ts_response_free(&r);
    assert_int_equal(ts_http("GET", portal, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 303);
    char set_cookie[512];
    assert_int_equal(ts_header(&r, "Set-Cookie", set_cookie, sizeof set_cookie), 0);
    snprintf(cookie, cap, "Cookie: %.*s", (int)strcspn(set_cookie, ";"), set_cookie);
    ts_response_free(&r);
}

static long portal_status(const struct e2e *e, const char *cookie)
{
    char url[256];
    snprintf(url, sizeof url, "%s/portal/api/session", e->kyc_url);
    const char *headers[] = {cookie, NULL};
    struct ts_response r;
    assert_int_equal(ts_http("GET", url, NULL, headers, &r), 0);
    long status = r.status;
    ts_response_free(&r);
    return status;
}

static const char *const short_window[] = {"--test-only-uninstall-window-ms", "2500",
                                           "--test-only-uninstall-backoff-ms", "200", NULL};

/* A forged uninstall (the install stays active in Cloud, its key valid): sessions and jobs end
 * at once, the key is kept, and after the window the install is restored and audited. */
static void test_forged_uninstall_is_undone(void **state)
{
    struct e2e e = {0};
    start_both_with(&e, state, NULL, short_window);
    char id[128], body[256], cookie[600];
    assert_int_equal(install_app(&e.cs, e.app_id, "[\"alerts:write\"]", NULL, id, sizeof id), 201);
    portal_session(&e, id, cookie, sizeof cookie);
    assert_int_equal(portal_status(&e, cookie), 200);

    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", id);
    struct ts_response r;
    admin_post(&e.cs, "/admin/forged-uninstalls", body, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "\"app_status\":200"));
    assert_non_null(strstr(r.body, "\"outcome\":\"applied\""));
    assert_non_null(strstr(r.body, "\"status\":\"active\"")); /* cloudsim: unchanged */
    ts_response_free(&r);
    /* at once: the session is gone and the install is inactive, but the key is kept */
    long status = portal_status(&e, cookie);
    assert_true(status == 401 || status == 403);
    assert_int_equal(db_int(&e, ACTIVE, id), 0);
    assert_int_equal(db_int(&e, KEY_KEPT, id), 1);
    assert_int_equal(db_int(&e, PENDING, id), 1);
    assert_int_equal(db_int(&e, AUDITED, id), 0);

    /* after the window (2.5 s) the key still works: restored, audited, logged */
    wait_for(&e, ACTIVE, id, 1, 10000);
    assert_int_equal(db_int(&e, KEY_KEPT, id), 1);
    assert_int_equal(db_int(&e, PENDING, id), 0);
    wait_for(&e, AUDITED, id, 1, 5000);
    assert_true(ts_file_contains(e.log, "event=capp.uninstall.forged"));
    assert_true(ts_file_contains(e.log, "action=install_restored"));
    char again[600];
    portal_session(&e, id, again, sizeof again); /* launches work again */
    assert_int_equal(portal_status(&e, again), 200);

    /* and Cloud's real uninstall, same idempotency key as the forgery, still takes effect */
    admin_post(&e.cs, "/admin/uninstalls", body, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    wait_for(&e, KEY_KEPT, id, 0, 5000);
    assert_int_equal(db_int(&e, ACTIVE, id), 0);
    stop_both(&e);
}

/* A real uninstall: the key is destroyed once Cloud answers 401 for it — at once under V1
 * (revoked before the event), after the app's 2xx under V2 — never restored. */
static void test_real_uninstall_destroys_key(void **state)
{
    struct e2e e = {0};
    start_both_with(&e, state, NULL, short_window);
    char id[128], body[256];
    assert_int_equal(install_app(&e.cs, e.app_id, "[\"data:read\"]", NULL, id, sizeof id), 201);
    assert_int_equal(db_int(&e, KEY_KEPT, id), 1);
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", id);
    struct ts_response r;
    admin_post(&e.cs, "/admin/uninstalls", body, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    wait_for(&e, KEY_KEPT, id, 0, 2000); /* well inside the window */
    assert_int_equal(db_int(&e, PENDING, id), 0);
    /* the log line follows the database change: give the worker a moment to write it */
    for (int i = 0; i < 100 && !ts_file_contains(e.log, "event=capp.uninstall.confirmed"); i++)
        ts_sleep_ms(20);
    assert_true(ts_file_contains(e.log, "event=capp.uninstall.confirmed"));
    ts_sleep_ms(3000); /* past the window: nothing is restored */
    assert_int_equal(db_int(&e, ACTIVE, id), 0);
    assert_false(ts_file_contains(e.log, "event=capp.uninstall.forged"));
    stop_both(&e);
}

/* README "Registering the app": kyc serve starts without --app-id, the app is registered with
 * its URLs and installed; the install pins the app (logged with its ID, kept across a
 * restart), it launches, and an install of another app registered with the same URLs fails in
 * Cloud (403 wrong_app, logged with the app_id received) and changes nothing. */
static void test_app_id_pinned_by_first_install(void **state)
{
    struct e2e e = {.no_app_id = 1};
    start_both(&e, state, NULL);
    assert_true(ts_file_contains(e.log, "event=capp.app.unpinned"));
    char other_app[128], id[128], other_id[128], body[256], line[600];
    register_kyc_app(&e, "Look-alike", other_app, sizeof other_app);
    assert_int_equal(install_app(&e.cs, e.app_id, "[\"data:read\"]", NULL, id, sizeof id), 201);
    snprintf(line, sizeof line, "event=capp.app.pinned app_id=%s installed_app_id=%s", e.app_id,
             id);
    assert_true(ts_file_contains(e.log, line));
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", id);
    struct ts_response r;
    admin_post(&e.cs, "/admin/launches", body, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);

    assert_int_equal(
        install_app(&e.cs, other_app, "[\"data:read\"]", NULL, other_id, sizeof other_id), 502);
    snprintf(line, sizeof line, "installed_app_id=%s app_id=%s pinned_app_id=%s result=wrong_app",
             other_id, other_app, e.app_id);
    assert_true(ts_file_contains(e.log, line));
    assert_int_equal(db_int(&e, ACTIVE, other_id), -1); /* never stored */

    /* a restart, still without --app-id, keeps the pin */
    ts_proc_stop(&e.kyc, SIGTERM);
    start_kyc(&e, NULL);
    admin_post(&e.cs, "/admin/launches", body, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    assert_int_equal(
        install_app(&e.cs, other_app, "[\"data:read\"]", NULL, other_id, sizeof other_id), 502);
    stop_both(&e);
}

int main(int argc, char **argv)
{
    on_postgres = argc > 1 && strcmp(argv[1], "postgres") == 0;
    const struct CMUnitTest tests[] = {
        CS_BOTH_MODES(test_install_launch_portal_uninstall),
        CS_BOTH_MODES(test_callback_timeout_fails_install),
        CS_BOTH_MODES(test_forged_uninstall_is_undone),
        CS_BOTH_MODES(test_real_uninstall_destroys_key),
        CS_BOTH_MODES(test_app_id_pinned_by_first_install),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
