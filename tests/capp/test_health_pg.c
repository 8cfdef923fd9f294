/*
 * A replica on PostgreSQL whose database server stops and starts again, for real: the test app
 * (a real server process) runs with --db on a PostgreSQL server of this test's own
 * (scripts/pg-test-server in a temporary directory, so stopping it disturbs no other test).
 * While the server is down /healthz, lifecycle callbacks and the portal generator answer 503
 * database_unavailable and nothing changes; once it is back the same process answers again, and
 * Cloud's retried uninstall is the one that takes effect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "serve_fixture.h"

static char pg_dir[320];
static char script[512];
static struct serve_fixture app;

/* scripts/pg-test-server COMMAND DIR [ARG]; its first output line into out when given. */
static void pg(const char *command, const char *arg, char *out, size_t cap)
{
    char cmd[2400], log[400];
    snprintf(log, sizeof log, "%s.log", pg_dir);
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' %s > '%s' 2>&1", script, command, pg_dir,
             arg ? arg : "", log);
    if (system(cmd) != 0) {
        char *text = ts_read_file(log, NULL);
        fail_msg("scripts/pg-test-server %s failed:\n%s", command, text ? text : "");
    }
    if (out) {
        char *text = ts_read_file(log, NULL);
        assert_non_null(text);
        text[strcspn(text, "\n")] = '\0';
        snprintf(out, cap, "%s", text);
        free(text);
    }
}

static void expect_database_unavailable(const struct ts_response *r)
{
    expect_error(r, 503, "database_unavailable");
    char got[64];
    assert_int_equal(ts_json_string(r, "error", got, sizeof got), 0);
    assert_string_equal(got, "database unreachable");
}

static void get(const struct serve_fixture *f, const char *path, struct ts_response *r)
{
    char url[512];
    serve_url(f, path, url, sizeof url);
    assert_int_equal(ts_http("GET", url, NULL, NULL, r), 0);
}

static void expect_healthy(const struct serve_fixture *f)
{
    struct ts_response r;
    get(f, "/healthz", &r);
    TS_ASSERT_STATUS(r, 200);
    char got[32];
    assert_int_equal(ts_json_string(&r, "database", got, sizeof got), 0);
    assert_string_equal(got, "ok");
    ts_response_free(&r);
}

static void uninstall_body(char *out, size_t cap, const char *id)
{
    snprintf(out, cap,
             "{\"installed_app_id\":\"%s\",\"app_id\":\"" TEST_APP_ID
             "\",\"organization_id\":\"" TEST_ORG "\",\"instance_id\":\"" TEST_INSTANCE
             "\",\"uninstalled_at\":\"2026-04-21T12:00:00Z\",\"idempotency_key\":\"uninstall:%s\"}",
             id, id);
}

static void launch_body(char *out, size_t cap, const char *id)
{
    snprintf(out, cap,
             "{\"installed_app_id\":\"%s\",\"app_id\":\"" TEST_APP_ID
             "\",\"organization_id\":\"" TEST_ORG "\",\"instance_id\":\"" TEST_INSTANCE "\"}",
             id);
}

/* Even when the test fails half-way, neither the app nor the server outlives it. */
static int teardown(void **state)
{
    if (app.proc.pid > 0)
        serve_stop(&app);
    if (pg_dir[0]) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "'%s' stop '%s' >/dev/null 2>&1", script, pg_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not stop the test's PostgreSQL server in %s\n", pg_dir);
    }
    return 0;
}

static void test_database_stops_and_returns(void **state)
{
    ts_tmpdir(app.dir, sizeof app.dir);
    snprintf(app.log, sizeof app.log, "%s/app.log", app.dir);
    /* Run as root, the server runs as `postgres`, which must reach its directory. */
    assert_int_equal(chmod(app.dir, 0711), 0);
    snprintf(pg_dir, sizeof pg_dir, "%s/pg", app.dir);
    const char *source = getenv("KYC_SOURCE_DIR");
    assert_non_null(source);
    snprintf(script, sizeof script, "%s/scripts/pg-test-server", source);
    pg("start", NULL, NULL, 0);
    pg("createdb", "app", app.db, sizeof app.db); /* its connection string */
    serve_start(&app, NULL);

    expect_healthy(&app);
    serve_install(&app, "instapp_pg", INSTALL_KEY_A);

    pg("stop", NULL, NULL, 0);
    struct ts_response r;
    get(&app, "/healthz", &r);
    expect_database_unavailable(&r);
    ts_response_free(&r);
    char body[1024];
    uninstall_body(body, sizeof body, "instapp_pg");
    serve_post(&app, "/api/callback", body, &r);
    expect_database_unavailable(&r);
    ts_response_free(&r);
    install_body(body, sizeof body, "instapp_pg2", "", INSTALL_KEY_B, "[\"data:read\"]");
    serve_post(&app, "/api/callback", body, &r);
    expect_database_unavailable(&r);
    ts_response_free(&r);
    launch_body(body, sizeof body, "instapp_pg");
    serve_post(&app, "/api/portal", body, &r);
    expect_database_unavailable(&r);
    ts_response_free(&r);

    /* Back, with no restart of the app: what failed changed nothing, and Cloud's retries are
     * decided now. */
    pg("start", NULL, NULL, 0);
    expect_healthy(&app);
    char token[128];
    serve_launch(&app, "instapp_pg", token, sizeof token);
    char cookie[512];
    serve_redeem(&app, token, cookie, sizeof cookie);
    uninstall_body(body, sizeof body, "instapp_pg");
    serve_post(&app, "/api/callback", body, &r);
    TS_ASSERT_STATUS(r, 200);
    char outcome[32];
    assert_int_equal(ts_json_string(&r, "outcome", outcome, sizeof outcome), 0);
    assert_string_equal(outcome, "applied");
    ts_response_free(&r);
    launch_body(body, sizeof body, "instapp_pg");
    serve_post(&app, "/api/portal", body, &r);
    expect_error(&r, 403, "install_inactive");
    ts_response_free(&r);
    install_body(body, sizeof body, "instapp_pg2", "", INSTALL_KEY_B, "[\"data:read\"]");
    serve_post(&app, "/api/callback", body, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_database_stops_and_returns, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
