/*
 * test_serve_replicas.c — two `serve` processes of capp's test app on one PostgreSQL database
 * (--db <connection string>), spoken to over HTTP as Blnk Cloud and a browser would behind a
 * load balancer that may send any request to either: the first install reaching A pins the
 * app for B too; a launch minted by B is redeemed on A and its session serves pages on B; the
 * redeemed token is refused on B; Cloud's retry of an install reaching B is a duplicate;
 * browsers racing for one launch URL on both replicas get one session between them; an
 * uninstall through B is refused by A at once (launch and session); an unknown install and a
 * launch for another instance are refused with their codes.
 *
 * Needs the CTest fixture `pg` (an empty database per test: pg_fresh.h).
 */
#include <pthread.h>

#include "pg_fresh.h"
#include "serve_fixture.h"

static struct serve_fixture a, b; /* two replicas */

static int setup(void **state)
{
    char target[320];
    pg_fresh_db("capp_serve_replicas", target, sizeof target);
    struct serve_fixture *replicas[] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        struct serve_fixture *f = replicas[i];
        memset(f, 0, sizeof *f);
        f->app_id = ""; /* no --app-id: the first install pins, on whichever replica */
        ts_tmpdir(f->dir, sizeof f->dir);
        snprintf(f->db, sizeof f->db, "%s", target);
        snprintf(f->log, sizeof f->log, "%s/app.log", f->dir);
        serve_start(f, NULL);
    }
    return 0;
}

static int teardown(void **state)
{
    serve_stop(&a);
    serve_stop(&b);
    return 0;
}

static void outcome_is(const struct ts_response *r, const char *outcome)
{
    char got[64];
    assert_int_equal(ts_json_string(r, "outcome", got, sizeof got), 0);
    assert_string_equal(got, outcome);
}

static long redeem_status(const struct serve_fixture *f, const char *token)
{
    char url[512];
    snprintf(url, sizeof url, "%s/portal?token=%s", f->proc.url, token);
    struct ts_response r;
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    long status = r.status;
    ts_response_free(&r);
    return status;
}

static void test_launch_on_b_redeemed_on_a(void **state)
{
    serve_install(&a, "instapp_r1", INSTALL_KEY_A); /* pins the app, in the database */
    char token[128], cookie[256];
    serve_launch(&b, "instapp_r1", token, sizeof token); /* B was started unpinned */
    serve_redeem(&a, token, cookie, sizeof cookie);
    assert_int_equal(redeem_status(&b, token), 401); /* spent, whichever replica asks */

    struct ts_response r;
    serve_get_with_cookie(&b, "/portal", cookie, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, TEST_USER));
    ts_response_free(&r);

    /* Cloud's retry of the install reaching the other replica */
    char body[1024];
    install_body(body, sizeof body, "instapp_r1", "", INSTALL_KEY_A,
                 "[\"data:read\",\"alerts:write\"]");
    serve_post(&b, "/api/callback", body, &r);
    TS_ASSERT_STATUS(r, 200);
    outcome_is(&r, "duplicate");
    ts_response_free(&r);
}

#define RACERS 8
#define RACES  10

struct racer {
    const struct serve_fixture *f;
    const char *token;
    pthread_barrier_t *start;
    long status;
};

static void *race(void *p)
{
    struct racer *r = p;
    pthread_barrier_wait(r->start);
    r->status = redeem_status(r->f, r->token);
    return NULL;
}

static void test_racing_redemptions_one_session(void **state)
{
    serve_install(&b, "instapp_race", INSTALL_KEY_A);
    for (int n = 0; n < RACES; n++) {
        char token[128];
        serve_launch(n % 2 ? &a : &b, "instapp_race", token, sizeof token);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, RACERS);
        struct racer racers[RACERS];
        pthread_t threads[RACERS];
        for (int i = 0; i < RACERS; i++) {
            racers[i] = (struct racer){i % 2 ? &a : &b, token, &start, 0};
            assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
        }
        int sessions = 0;
        for (int i = 0; i < RACERS; i++) {
            pthread_join(threads[i], NULL);
            if (racers[i].status == 303)
                sessions++;
            else if (racers[i].status != 401)
                fail_msg("race %d: status %ld", n, racers[i].status);
        }
        pthread_barrier_destroy(&start);
        if (sessions != 1)
            fail_msg("race %d: %d sessions from one launch", n, sessions);
    }
}

static void test_uninstall_on_b_refused_by_a(void **state)
{
    serve_install(&a, "instapp_gone", INSTALL_KEY_A);
    char token[128], cookie[256], unused[128];
    serve_launch(&a, "instapp_gone", token, sizeof token);
    serve_redeem(&a, token, cookie, sizeof cookie);
    serve_launch(&a, "instapp_gone", unused, sizeof unused);
    struct ts_response r;
    serve_get_with_cookie(&a, "/portal", cookie, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);

    serve_uninstall(&b, "instapp_gone");
    /* at once on A: no launch, no session, no redemption of a URL minted before */
    char body[1024];
    snprintf(body, sizeof body,
             "{\"installed_app_id\":\"instapp_gone\",\"app_id\":\"" TEST_APP_ID
             "\",\"organization_id\":\"" TEST_ORG "\",\"instance_id\":\"" TEST_INSTANCE
             "\",\"user_id\":\"" TEST_USER "\"}");
    serve_post(&a, "/api/portal", body, &r);
    expect_error(&r, 403, "install_inactive");
    ts_response_free(&r);
    serve_get_with_cookie(&a, "/portal", cookie, &r);
    assert_true(r.status == 401 || r.status == 403);
    ts_response_free(&r);
    assert_int_equal(redeem_status(&a, unused), 401);
}

/* The minter's refusals come back through its answer path as test_serve.c's do on SQLite: an
 * install no replica has, and one launched for another instance. */
static void test_launch_refusals_from_the_minter(void **state)
{
    serve_install(&a, "instapp_refused", INSTALL_KEY_A);
    static const struct {
        const char *installed_app_id, *instance_id, *code;
    } cases[] = {
        {"instapp_nope", TEST_INSTANCE, "unknown_install"},
        {"instapp_refused", "inst_other", "instance_mismatch"},
    };
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        struct serve_fixture *f = i % 2 ? &a : &b;
        char body[1024];
        snprintf(body, sizeof body,
                 "{\"installed_app_id\":\"%s\",\"app_id\":\"" TEST_APP_ID
                 "\",\"organization_id\":\"" TEST_ORG
                 "\",\"instance_id\":\"%s\",\"user_id\":\"" TEST_USER "\"}",
                 cases[i].installed_app_id, cases[i].instance_id);
        struct ts_response r;
        serve_post(f, "/api/portal", body, &r);
        expect_error(&r, 403, cases[i].code);
        ts_response_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_launch_on_b_redeemed_on_a, setup, teardown),
        cmocka_unit_test_setup_teardown(test_racing_redemptions_one_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uninstall_on_b_refused_by_a, setup, teardown),
        cmocka_unit_test_setup_teardown(test_launch_refusals_from_the_minter, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
