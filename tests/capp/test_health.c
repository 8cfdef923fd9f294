/*
 * A replica whose database goes away: /healthz says so, lifecycle callbacks and the portal
 * generator answer 503 database_unavailable (Cloud's attempt fails cleanly, nothing is
 * recorded), and the same process answers normally again once the database is back.
 *
 * In process, over real HTTP: the app runs on its SQLite store, whose operations are wrapped so
 * that the test can make them report what a PostgreSQL store reports when the server is
 * unreachable (CAPP_ENETWORK), then let them through again. The same story against a real
 * PostgreSQL server that is stopped and started is in test_health_pg.c.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "capp/app.h"
#include "capp/err.h"
#include "capp/log.h"
#include "capp/seal.h"
#include "serve_fixture.h"

/* What every wrapped operation answers instead of running: 0 lets it through. */
static atomic_int failure;
static const struct store_ops *real;
static struct store_ops wrapped;

static int wrapped_apply_event(struct store *s, const struct store_event *ev,
                               store_event_done_fn done, void *ctx)
{
    int rc = atomic_load(&failure);
    if (rc == 0)
        return real->apply_event(s, ev, done, ctx);
    /* as a store whose worker lost the connection: accepted, then failed */
    done(ctx, rc, STORE_OUTCOME_APPLIED);
    return 0;
}

static int wrapped_install_get(struct store *s, const char *id, struct store_install *out)
{
    int rc = atomic_load(&failure);
    return rc ? rc : real->install_get(s, id, out);
}

static int wrapped_launch_put(struct store *s, const struct store_launch *launch)
{
    int rc = atomic_load(&failure);
    return rc ? rc : real->launch_put(s, launch);
}

static int wrapped_ping(struct store *s)
{
    return atomic_load(&failure) == 0 && (!real->ping || real->ping(s));
}

/* Only launch_put fails: the install is read, the token cannot be stored. */
static atomic_int launch_only;

static int launch_put_only(struct store *s, const struct store_launch *launch)
{
    int rc = atomic_load(&launch_only);
    return rc ? rc : real->launch_put(s, launch);
}

struct fixture {
    struct seal_keyring *kr;
    struct capp_app *app;
    struct serve_fixture fx; /* only dir and proc.url: the serve_fixture.h calls take it */
};

static struct fixture f;

static int setup(void **state)
{
    memset(&f, 0, sizeof f);
    atomic_store(&failure, 0);
    atomic_store(&launch_only, 0);
    ts_tmpdir(f.fx.dir, sizeof f.fx.dir);
    snprintf(f.fx.db, sizeof f.fx.db, "%s/app.db", f.fx.dir);
    assert_int_equal(seal_keyring_new(&f.kr), 0);
    assert_int_equal(seal_keyring_add_hex(f.kr, TEST_MASTER_KEY), 0);
    struct capp_config config = {
        .listen = "127.0.0.1:0",
        .db_path = f.fx.db,
        .app_id = TEST_APP_ID,
        .session_ttl_seconds = 900,
        .launch_ttl_seconds = 60,
        .threads = 2,
        .quiet = 1,
        .cloud_url = "http://127.0.0.1:9", /* uninstall confirmation never reaches a Cloud */
    };
    assert_int_equal(capp_app_new(&config, f.kr, &f.app), 0);
    real = f.app->store->ops;
    wrapped = *real;
    wrapped.apply_event = wrapped_apply_event;
    wrapped.install_get = wrapped_install_get;
    wrapped.ping = wrapped_ping;
    wrapped.launch_put = wrapped_launch_put;
    f.app->store->ops = &wrapped;
    assert_int_equal(capp_app_start(f.app), 0);
    snprintf(f.fx.proc.url, sizeof f.fx.proc.url, "http://127.0.0.1:%u",
             http_server_port(f.app->http));
    return 0;
}

static int teardown(void **state)
{
    capp_app_free(f.app);
    seal_keyring_free(f.kr);
    return 0;
}

static void get_healthz(struct ts_response *r)
{
    char url[512];
    serve_url(&f.fx, "/healthz", url, sizeof url);
    assert_int_equal(ts_http("GET", url, NULL, NULL, r), 0);
}

static void expect_healthy(void)
{
    struct ts_response r;
    get_healthz(&r);
    TS_ASSERT_STATUS(r, 200);
    char got[32];
    assert_int_equal(ts_json_string(&r, "status", got, sizeof got), 0);
    assert_string_equal(got, "ok");
    assert_int_equal(ts_json_string(&r, "database", got, sizeof got), 0);
    assert_string_equal(got, "ok");
    ts_response_free(&r);
}

static void expect_database_unavailable(const struct ts_response *r)
{
    expect_error(r, 503, "database_unavailable");
    char got[64];
    assert_int_equal(ts_json_string(r, "error", got, sizeof got), 0);
    assert_string_equal(got, "database unreachable");
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
             "\",\"organization_id\":\"" TEST_ORG "\",\"instance_id\":\"" TEST_INSTANCE
             "\",\"user_id\":\"" TEST_USER "\"}",
             id);
}

static void expect_outcome(const struct ts_response *r, const char *outcome)
{
    TS_ASSERT_STATUS(*r, 200);
    char got[64];
    assert_int_equal(ts_json_string(r, "outcome", got, sizeof got), 0);
    assert_string_equal(got, outcome);
}

static void test_lost_database_is_503_and_the_process_recovers(void **state)
{
    expect_healthy();
    serve_install(&f.fx, "instapp_kept", INSTALL_KEY_A);

    atomic_store(&failure, CAPP_ENETWORK);
    struct ts_response r;
    get_healthz(&r);
    expect_database_unavailable(&r);
    ts_response_free(&r);

    char body[1024];
    uninstall_body(body, sizeof body, "instapp_kept");
    serve_post(&f.fx, "/api/callback", body, &r);
    expect_database_unavailable(&r);
    ts_response_free(&r);

    install_body(body, sizeof body, "instapp_new", "", INSTALL_KEY_B, "[\"data:read\"]");
    serve_post(&f.fx, "/api/callback", body, &r);
    expect_database_unavailable(&r);
    ts_response_free(&r);

    launch_body(body, sizeof body, "instapp_kept");
    serve_post(&f.fx, "/api/portal", body, &r);
    expect_database_unavailable(&r);
    ts_response_free(&r);

    /* The database is back: the same process answers, and what failed changed nothing. */
    atomic_store(&failure, 0);
    expect_healthy();
    char token[128];
    serve_launch(&f.fx, "instapp_kept", token, sizeof token); /* still installed */
    assert_int_equal(strlen(token), 43);
    uninstall_body(body, sizeof body, "instapp_kept");
    serve_post(&f.fx, "/api/callback", body, &r);
    expect_outcome(&r, "applied"); /* Cloud's retry is the first to take effect */
    ts_response_free(&r);
    install_body(body, sizeof body, "instapp_new", "", INSTALL_KEY_B, "[\"data:read\"]");
    serve_post(&f.fx, "/api/callback", body, &r);
    expect_outcome(&r, "applied");
    ts_response_free(&r);
}

/* The install was read, then the launch token could not be stored. */
static void test_launch_token_lost_with_the_database_is_503(void **state)
{
    serve_install(&f.fx, "instapp_launch", INSTALL_KEY_A);
    wrapped.launch_put = launch_put_only;
    atomic_store(&launch_only, CAPP_ENETWORK);
    char body[1024];
    launch_body(body, sizeof body, "instapp_launch");
    struct ts_response r;
    serve_post(&f.fx, "/api/portal", body, &r);
    expect_database_unavailable(&r);
    ts_response_free(&r);
    atomic_store(&launch_only, 0);
    char token[128];
    serve_launch(&f.fx, "instapp_launch", token, sizeof token);
    wrapped.launch_put = wrapped_launch_put;
}

/* A store failure that is not a lost connection keeps its own answer: retrying at once will
 * not help, and "database unreachable" would send the operator to the wrong place. */
static void test_other_store_failures_keep_their_codes(void **state)
{
    serve_install(&f.fx, "instapp_edb", INSTALL_KEY_A);
    atomic_store(&failure, CAPP_EDB);
    char body[1024];
    uninstall_body(body, sizeof body, "instapp_edb");
    struct ts_response r;
    serve_post(&f.fx, "/api/callback", body, &r);
    expect_error(&r, 503, "store_unavailable");
    ts_response_free(&r);
    launch_body(body, sizeof body, "instapp_edb");
    serve_post(&f.fx, "/api/portal", body, &r);
    expect_error(&r, 503, "store_unavailable");
    ts_response_free(&r);
    atomic_store(&failure, 0);
}

int main(void)
{
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lost_database_is_503_and_the_process_recovers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_launch_token_lost_with_the_database_is_503, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_store_failures_keep_their_codes, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
