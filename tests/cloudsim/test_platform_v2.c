/*
 * Conformance of --mode v2: no organization_id/user_id in payloads, exactly one attempt per
 * event, notify-then-revoke uninstall that does not complete on a non-2xx, the 10 s rule.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_testkit.h"

struct env {
    struct fake_app app;
    struct ts_proc cs;
    char app_id[128];
    char probe_path[512];
};

static struct env *start(const char *const *extra)
{
    struct env *e = calloc(1, sizeof *e);
    const char *args[16] = {"--mode", "v2"};
    int n = 2;
    for (const char *const *a = extra; a && *a; a++)
        args[n++] = *a;
    fake_app_start(&e->app);
    cloudsim_start(&e->cs, args);
    snprintf(e->app.cloudsim_url, sizeof e->app.cloudsim_url, "%s", e->cs.url);
    register_fake_app(&e->cs, &e->app, "[\"data:read\",\"alerts:read\"]", e->app_id,
                      sizeof e->app_id);
    return e;
}

static void stop(struct env *e)
{
    cloudsim_stop(&e->cs);
    fake_app_stop(&e->app);
    free(e);
}

static void install_ok(struct env *e, char *id, size_t cap)
{
    assert_int_equal(install_app(&e->cs, e->app_id, "[\"data:read\"]", NULL, id, cap), 201);
    snprintf(e->probe_path, sizeof e->probe_path, "/data/identities?instance_id=%s",
             e->app.instance_id);
}

static long uninstall(struct env *e, const char *id)
{
    char body[256];
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", id);
    struct ts_response r;
    admin_post(&e->cs, "/admin/uninstalls", body, &r);
    long status = r.status;
    ts_response_free(&r);
    return status;
}

static void test_install_payload_v2(void **state)
{
    struct env *e = start(NULL);
    char id[128];
    install_ok(e, id, sizeof id);
    struct fake_record r;
    fake_app_record(&e->app, "/callback", 0, &r);
    static const char *const keys[] = {
        "installed_app_id",    "app_id",          "instance_id", "api_key", "api_key_prefix",
        "granted_permissions", "idempotency_key", NULL};
    assert_true(json_has_exactly(r.body, keys));
    stop(e);
}

static void test_v2_single_attempt(void **state)
{
    struct env *e = start(NULL);
    e->app.callback_status = 500;
    char id[128];
    assert_int_equal(install_app(&e->cs, e->app_id, "[\"data:read\"]", NULL, id, sizeof id), 502);
    ts_sleep_ms(1500); /* a V1 re-send would have arrived by now */
    assert_int_equal(fake_app_count(&e->app, "/callback"), 1);
    char path[512];
    snprintf(path, sizeof path, "/data/identities?instance_id=%s", e->app.instance_id);
    assert_int_equal(gateway_get(&e->cs, e->app.api_key, path), 401);
    stop(e);
}

static void test_v2_ten_second_rule(void **state)
{
    static const char *const args[] = {"--callback-timeout-ms", "300", NULL};
    struct env *e = start(args);
    e->app.callback_delay_ms = 1000;
    char id[128];
    long long t0 = now_ms();
    assert_int_equal(install_app(&e->cs, e->app_id, "[\"data:read\"]", NULL, id, sizeof id), 502);
    assert_true(now_ms() - t0 < 1000);
    ts_sleep_ms(1000);
    assert_int_equal(fake_app_count(&e->app, "/callback"), 1);
    stop(e);
}

static void test_v2_uninstall_key_valid_during_event(void **state)
{
    struct env *e = start(NULL);
    e->app.probe_on_uninstall = 1;
    char id[128];
    install_ok(e, id, sizeof id);
    assert_int_equal(uninstall(e, id), 200);
    struct fake_record r;
    fake_app_record(&e->app, "/callback", 1, &r);
    static const char *const keys[] = {"installed_app_id", "app_id",          "instance_id",
                                       "uninstalled_at",   "idempotency_key", NULL};
    assert_true(json_has_exactly(r.body, keys));
    assert_int_equal(r.probe_status, 200);
    assert_int_equal(gateway_get(&e->cs, e->app.api_key, e->probe_path), 401);
    stop(e);
}

static void test_v2_failed_uninstall_keeps_install(void **state)
{
    struct env *e = start(NULL);
    char id[128];
    install_ok(e, id, sizeof id);
    e->app.callback_status = 500;
    assert_int_equal(uninstall(e, id), 502);
    assert_int_equal(fake_app_count(&e->app, "/callback"), 2); /* install + one uninstall */
    assert_int_equal(gateway_get(&e->cs, e->app.api_key, e->probe_path), 200);
    char url[512];
    snprintf(url, sizeof url, "%s/admin/installs/%s", e->cs.url, id);
    struct ts_response r;
    ts_http("GET", url, NULL, NULL, &r);
    assert_non_null(strstr(r.body, "\"status\":\"active\""));
    ts_response_free(&r);
    /* the user retries once the app is healthy */
    e->app.callback_status = 200;
    assert_int_equal(uninstall(e, id), 200);
    assert_int_equal(gateway_get(&e->cs, e->app.api_key, e->probe_path), 401);
    stop(e);
}

static void test_v2_portal_payload(void **state)
{
    struct env *e = start(NULL);
    char id[128], body[256];
    install_ok(e, id, sizeof id);
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", id);
    struct ts_response r;
    admin_post(&e->cs, "/admin/launches", body, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    struct fake_record rec;
    fake_app_record(&e->app, "/portal-generator", 0, &rec);
    static const char *const keys[] = {"installed_app_id", "app_id", "instance_id", NULL};
    assert_true(json_has_exactly(rec.body, keys));
    stop(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_payload_v2),
        cmocka_unit_test(test_v2_single_attempt),
        cmocka_unit_test(test_v2_ten_second_rule),
        cmocka_unit_test(test_v2_uninstall_key_valid_during_event),
        cmocka_unit_test(test_v2_failed_uninstall_keeps_install),
        cmocka_unit_test(test_v2_portal_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
