/*
 * Conformance of the V1 (default) lifecycle: install/uninstall payload shapes, D6 formats,
 * idempotency keys, revoke-then-notify, D4 retries, the 10 s rule (shortened with
 * --callback-timeout-ms) and fault injection. Real build/cloudsim, in-process fake app.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_testkit.h"

#define ALL_PERMS "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]"

struct env {
    struct fake_app app;
    struct ts_proc cs;
    char app_id[128];
};

static struct env *start(const char *const *args)
{
    struct env *e = calloc(1, sizeof *e);
    fake_app_start(&e->app);
    cloudsim_start(&e->cs, args);
    snprintf(e->app.cloudsim_url, sizeof e->app.cloudsim_url, "%s", e->cs.url);
    register_fake_app(&e->cs, &e->app, ALL_PERMS, e->app_id, sizeof e->app_id);
    return e;
}

static void stop(struct env *e)
{
    cloudsim_stop(&e->cs);
    fake_app_stop(&e->app);
    free(e);
}

static int is_hex_id(const char *s, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(s, prefix, pl) != 0 || strlen(s) != pl + 32)
        return 0;
    for (const char *p = s + pl; *p; p++)
        if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
            return 0;
    return 1;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void test_install_payload_v1(void **state)
{
    static const char *const args[] = {NULL};
    struct env *e = start(args);
    char id[128];
    assert_int_equal(
        install_app(&e->cs, e->app_id, "[\"alerts:write\",\"data:read\"]", NULL, id, sizeof id),
        201);
    assert_int_equal(fake_app_count(&e->app, "/callback"), 1);
    struct fake_record r;
    fake_app_record(&e->app, "/callback", 0, &r);
    assert_string_equal(r.content_type, "application/json");
    static const char *const keys[] = {"installed_app_id",    "app_id",          "organization_id",
                                       "instance_id",         "api_key",         "api_key_prefix",
                                       "granted_permissions", "idempotency_key", NULL};
    assert_true(json_has_exactly(r.body, keys));
    json_t *o = json_loads(r.body, 0, NULL);
    assert_string_equal(str(o, "installed_app_id"), id);
    assert_true(is_hex_id(id, "instapp_"));
    assert_true(is_hex_id(str(o, "app_id"), "app_"));
    assert_true(is_hex_id(str(o, "organization_id"), "org_"));
    assert_true(is_hex_id(str(o, "instance_id"), "inst_"));
    const char *key = str(o, "api_key");
    assert_int_equal(strlen(key), 48);
    assert_memory_equal(key, "blnk_", 5);
    for (const char *p = key + 5; *p; p++)
        assert_true(isalnum((unsigned char)*p) || *p == '-' || *p == '_');
    assert_int_equal(strlen(str(o, "api_key_prefix")), 8);
    assert_memory_equal(str(o, "api_key_prefix"), key, 8);
    char idem[200];
    snprintf(idem, sizeof idem, "install:%s", id);
    assert_string_equal(str(o, "idempotency_key"), idem);
    /* granted in manifest order, only what was picked */
    json_t *granted = json_object_get(o, "granted_permissions");
    assert_int_equal(json_array_size(granted), 2);
    assert_string_equal(json_string_value(json_array_get(granted, 0)), "data:read");
    assert_string_equal(json_string_value(json_array_get(granted, 1)), "alerts:write");
    /* the admin API never shows the key */
    char url[512];
    snprintf(url, sizeof url, "%s/admin/installs/%s", e->cs.url, id);
    struct ts_response resp;
    ts_http("GET", url, NULL, NULL, &resp);
    TS_ASSERT_STATUS(resp, 200);
    assert_null(strstr(resp.body, key));
    assert_non_null(strstr(resp.body, "\"status\":\"active\""));
    ts_response_free(&resp);
    /* nor the log */
    assert_false(ts_file_contains(e->cs.log_path, key));
    json_decref(o);
    stop(e);
}

static void test_uninstall_v1_revokes_then_notifies(void **state)
{
    static const char *const args[] = {NULL};
    struct env *e = start(args);
    e->app.probe_on_uninstall = 1;
    char id[128], body[256];
    assert_int_equal(install_app(&e->cs, e->app_id, "[\"data:read\"]", NULL, id, sizeof id), 201);
    char path[512];
    snprintf(path, sizeof path, "/data/identities?instance_id=%s", e->app.instance_id);
    assert_int_equal(gateway_get(&e->cs, e->app.api_key, path), 200);
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", id);
    struct ts_response r;
    admin_post(&e->cs, "/admin/uninstalls", body, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    struct fake_record rec;
    assert_int_equal(fake_app_count(&e->app, "/callback"), 2);
    fake_app_record(&e->app, "/callback", 1, &rec);
    static const char *const keys[] = {
        "installed_app_id", "app_id", "organization_id", "instance_id", "uninstalled_at",
        "idempotency_key",  NULL};
    assert_true(json_has_exactly(rec.body, keys));
    json_t *o = json_loads(rec.body, 0, NULL);
    char idem[200];
    snprintf(idem, sizeof idem, "uninstall:%s", id);
    assert_string_equal(str(o, "idempotency_key"), idem);
    const char *at = str(o, "uninstalled_at");
    assert_int_equal(strlen(at), 20);
    assert_int_equal(at[10], 'T');
    assert_int_equal(at[19], 'Z');
    json_decref(o);
    /* V1: the key was already dead when the app handled the event */
    assert_int_equal(rec.probe_status, 401);
    assert_int_equal(gateway_get(&e->cs, e->app.api_key, path), 401);
    stop(e);
}

static void test_v1_retries_identical_payload(void **state)
{
    static const char *const args[] = {NULL};
    struct env *e = start(args);
    e->app.callback_fail_first = 2;
    char id[128];
    assert_int_equal(install_app(&e->cs, e->app_id, "[\"data:read\"]", NULL, id, sizeof id), 201);
    assert_int_equal(fake_app_count(&e->app, "/callback"), 3);
    struct fake_record a, b, c;
    fake_app_record(&e->app, "/callback", 0, &a);
    fake_app_record(&e->app, "/callback", 1, &b);
    fake_app_record(&e->app, "/callback", 2, &c);
    assert_string_equal(a.body, b.body);
    assert_string_equal(b.body, c.body);
    assert_true(b.at_ms - a.at_ms >= 900);
    assert_true(c.at_ms - b.at_ms >= 900);
    stop(e);
}

static void test_v1_all_attempts_fail_revokes_key(void **state)
{
    static const char *const args[] = {NULL};
    struct env *e = start(args);
    e->app.callback_status = 503;
    char id[128];
    assert_int_equal(install_app(&e->cs, e->app_id, "[\"data:read\"]", NULL, id, sizeof id), 502);
    assert_int_equal(fake_app_count(&e->app, "/callback"), 3);
    char path[512];
    snprintf(path, sizeof path, "/data/identities?instance_id=%s", e->app.instance_id);
    assert_int_equal(gateway_get(&e->cs, e->app.api_key, path), 401);
    struct ts_response r;
    char url[512];
    snprintf(url, sizeof url, "%s/admin/installs", e->cs.url);
    ts_http("GET", url, NULL, NULL, &r);
    assert_non_null(strstr(r.body, "\"status\":\"failed\""));
    ts_response_free(&r);
    /* a new install works afterwards (the failed one does not block the instance) */
    e->app.callback_status = 200;
    assert_int_equal(install_app(&e->cs, e->app_id, "[\"data:read\"]", NULL, id, sizeof id), 201);
    stop(e);
}

static void test_v1_ten_second_rule(void **state)
{
    static const char *const args[] = {"--callback-timeout-ms", "300", "--retry-delay-ms", "100",
                                       NULL};
    struct env *e = start(args);
    e->app.callback_delay_ms = 1200;
    char id[128];
    long long t0 = now_ms();
    assert_int_equal(install_app(&e->cs, e->app_id, "[\"data:read\"]", NULL, id, sizeof id), 502);
    assert_true(now_ms() - t0 < 3 * 1200);
    ts_sleep_ms(1500); /* let the slow handlers finish */
    assert_int_equal(fake_app_count(&e->app, "/callback"), 3);
    char path[512];
    snprintf(path, sizeof path, "/data/identities?instance_id=%s", e->app.instance_id);
    assert_int_equal(gateway_get(&e->cs, e->app.api_key, path), 401);
    stop(e);
}

static void test_fault_duplicate_delivery(void **state)
{
    static const char *const args[] = {NULL};
    struct env *e = start(args);
    char id[128];
    assert_int_equal(
        install_app(&e->cs, e->app_id, "[\"data:read\"]", "{\"duplicate\":true}", id, sizeof id),
        201);
    assert_int_equal(fake_app_count(&e->app, "/callback"), 2);
    struct fake_record a, b;
    fake_app_record(&e->app, "/callback", 0, &a);
    fake_app_record(&e->app, "/callback", 1, &b);
    assert_string_equal(a.body, b.body);
    stop(e);
}

static void test_fault_dropped_response_and_delay(void **state)
{
    static const char *const args[] = {NULL};
    struct env *e = start(args);
    char id[128];
    long long t0 = now_ms();
    assert_int_equal(install_app(&e->cs, e->app_id, "[\"data:read\"]",
                                 "{\"drop_responses\":1,\"delay_ms\":400}", id, sizeof id),
                     201);
    assert_int_equal(fake_app_count(&e->app, "/callback"), 2);
    struct fake_record a;
    fake_app_record(&e->app, "/callback", 0, &a);
    assert_true(a.at_ms - t0 >= 350);
    stop(e);
}

static void test_serve_flag_faults(void **state)
{
    static const char *const args[] = {"--fault-duplicate", NULL};
    struct env *e = start(args);
    char id[128];
    assert_int_equal(install_app(&e->cs, e->app_id, "[\"data:read\"]", NULL, id, sizeof id), 201);
    assert_int_equal(fake_app_count(&e->app, "/callback"), 2);
    stop(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_payload_v1),
        cmocka_unit_test(test_uninstall_v1_revokes_then_notifies),
        cmocka_unit_test(test_v1_retries_identical_payload),
        cmocka_unit_test(test_v1_all_attempts_fail_revokes_key),
        cmocka_unit_test(test_v1_ten_second_rule),
        cmocka_unit_test(test_fault_duplicate_delivery),
        cmocka_unit_test(test_fault_dropped_response_and_delay),
        cmocka_unit_test(test_serve_flag_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
