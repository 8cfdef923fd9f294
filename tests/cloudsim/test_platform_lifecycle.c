/*
 * Conformance of the lifecycle in both platform modes (spec §1, §4, §5, D4, D6, D7), each test
 * run once per mode and asserting what that mode must do: install and uninstall payload shapes
 * (organization_id only in V1), D6 formats, idempotency keys, uninstall ordering (V1 revokes
 * then notifies; V2 notifies and completes only on a 2xx), delivery (V1 re-sends up to twice,
 * V2 makes one attempt), the 10 s rule (shortened with --callback-timeout-ms) and fault
 * injection. Real build/cloudsim, in-process fake app.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_testkit.h"

#define ALL_PERMS "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]"

struct env {
    const struct cs_mode *mode;
    struct fake_app app;
    struct ts_proc cs;
    char app_id[128];
    char probe_path[512];
};

static struct env *start(void **state, const char *const *args)
{
    struct env *e = calloc(1, sizeof *e);
    e->mode = cs_mode_of(state);
    fake_app_start(&e->app);
    cloudsim_start_mode(&e->cs, e->mode, args);
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

/* Installs with data:read; the status is checked by the caller. */
static long install(struct env *e, const char *faults, char *id, size_t cap)
{
    long status = install_app(&e->cs, e->app_id, "[\"data:read\"]", faults, id, cap);
    snprintf(e->probe_path, sizeof e->probe_path, "/data/identities?instance_id=%s",
             e->app.instance_id);
    return status;
}

static long uninstall(struct env *e, const char *id, struct ts_response *r)
{
    char body[256];
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", id);
    admin_post(&e->cs, "/admin/uninstalls", body, r);
    return r->status;
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

static void install_status_is(struct env *e, const char *id, const char *status)
{
    char url[512], want[64];
    snprintf(url, sizeof url, "%s/admin/installs/%s", e->cs.url, id);
    snprintf(want, sizeof want, "\"status\":\"%s\"", status);
    struct ts_response r;
    ts_http("GET", url, NULL, NULL, &r);
    if (!r.body || !strstr(r.body, want))
        fail_msg("install %s: expected %s in %s", id, want, r.body ? r.body : "(none)");
    ts_response_free(&r);
}

/* The default mode is V2, the live platform (spec §1); V1 is behind --mode v1. */
static void test_default_mode_is_v2(void **state)
{
    struct ts_proc cs;
    cloudsim_start(&cs, NULL);
    char url[512];
    snprintf(url, sizeof url, "%s/healthz", cs.url);
    struct ts_response r;
    ts_http("GET", url, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "\"mode\":\"v2\""));
    ts_response_free(&r);
    cloudsim_stop(&cs);
    cloudsim_start_mode(&cs, &cs_mode_v1, NULL);
    snprintf(url, sizeof url, "%s/healthz", cs.url);
    ts_http("GET", url, NULL, NULL, &r);
    assert_non_null(strstr(r.body, "\"mode\":\"v1\""));
    ts_response_free(&r);
    cloudsim_stop(&cs);
}

static void test_install_payload(void **state)
{
    struct env *e = start(state, NULL);
    char id[128];
    assert_int_equal(
        install_app(&e->cs, e->app_id, "[\"alerts:write\",\"data:read\"]", NULL, id, sizeof id),
        201);
    assert_int_equal(fake_app_count(&e->app, "/callback"), 1);
    struct fake_record r;
    fake_app_record(&e->app, "/callback", 0, &r);
    assert_string_equal(r.content_type, "application/json");
    static const char *const v1_keys[] = {
        "installed_app_id",    "app_id",          "organization_id",
        "instance_id",         "api_key",         "api_key_prefix",
        "granted_permissions", "idempotency_key", NULL};
    static const char *const v2_keys[] = {
        "installed_app_id",    "app_id",          "instance_id", "api_key", "api_key_prefix",
        "granted_permissions", "idempotency_key", NULL};
    assert_true(json_has_exactly(r.body, e->mode->v2 ? v2_keys : v1_keys));
    json_t *o = json_loads(r.body, 0, NULL);
    assert_string_equal(str(o, "installed_app_id"), id);
    assert_true(is_hex_id(id, "instapp_"));
    assert_true(is_hex_id(str(o, "app_id"), "app_"));
    if (!e->mode->v2)
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

/* V1: the key is revoked and the install uninstalled before the event, so the app's handler
 * sees a dead key. V2: the key still works while the app handles the event and is revoked
 * only after its 2xx. Either way it is dead afterwards. */
static void test_uninstall_payload_and_ordering(void **state)
{
    struct env *e = start(state, NULL);
    e->app.probe_on_uninstall = 1;
    char id[128];
    assert_int_equal(install(e, NULL, id, sizeof id), 201);
    assert_int_equal(gateway_get(&e->cs, e->app.api_key, e->probe_path), 200);
    struct ts_response r;
    assert_int_equal(uninstall(e, id, &r), 200);
    ts_response_free(&r);
    struct fake_record rec;
    assert_int_equal(fake_app_count(&e->app, "/callback"), 2);
    fake_app_record(&e->app, "/callback", 1, &rec);
    static const char *const v1_keys[] = {
        "installed_app_id", "app_id", "organization_id", "instance_id", "uninstalled_at",
        "idempotency_key",  NULL};
    static const char *const v2_keys[] = {"installed_app_id", "app_id",          "instance_id",
                                          "uninstalled_at",   "idempotency_key", NULL};
    assert_true(json_has_exactly(rec.body, e->mode->v2 ? v2_keys : v1_keys));
    json_t *o = json_loads(rec.body, 0, NULL);
    char idem[200];
    snprintf(idem, sizeof idem, "uninstall:%s", id);
    assert_string_equal(str(o, "idempotency_key"), idem);
    const char *at = str(o, "uninstalled_at");
    assert_int_equal(strlen(at), 20);
    assert_int_equal(at[10], 'T');
    assert_int_equal(at[19], 'Z');
    json_decref(o);
    assert_int_equal(rec.probe_status, e->mode->v2 ? 200 : 401);
    assert_int_equal(gateway_get(&e->cs, e->app.api_key, e->probe_path), 401);
    install_status_is(e, id, "uninstalled");
    stop(e);
}

/* Two failed answers: V1 re-sends the identical payload 1 s apart and the third attempt
 * succeeds; V2 makes one attempt, so the install fails and its key is revoked. */
static void test_delivery_after_failures(void **state)
{
    struct env *e = start(state, NULL);
    e->app.callback_fail_first = 2;
    char id[128];
    assert_int_equal(install(e, NULL, id, sizeof id), e->mode->v2 ? 502 : 201);
    ts_sleep_ms(e->mode->v2 ? 1500 : 0); /* a V1 re-send would have arrived by now */
    assert_int_equal(fake_app_count(&e->app, "/callback"), e->mode->v2 ? 1 : 3);
    if (e->mode->v2) {
        assert_int_equal(gateway_get(&e->cs, e->app.api_key, e->probe_path), 401);
    } else {
        struct fake_record a, b, c;
        fake_app_record(&e->app, "/callback", 0, &a);
        fake_app_record(&e->app, "/callback", 1, &b);
        fake_app_record(&e->app, "/callback", 2, &c);
        assert_string_equal(a.body, b.body);
        assert_string_equal(b.body, c.body);
        assert_true(b.at_ms - a.at_ms >= 900);
        assert_true(c.at_ms - b.at_ms >= 900);
        assert_int_equal(gateway_get(&e->cs, e->app.api_key, e->probe_path), 200);
    }
    stop(e);
}

static void test_all_attempts_fail_revokes_key(void **state)
{
    struct env *e = start(state, NULL);
    e->app.callback_status = 503;
    char id[128];
    assert_int_equal(install(e, NULL, id, sizeof id), 502);
    assert_int_equal(fake_app_count(&e->app, "/callback"), e->mode->v2 ? 1 : 3);
    assert_int_equal(gateway_get(&e->cs, e->app.api_key, e->probe_path), 401);
    install_status_is(e, id, "failed");
    /* a new install works afterwards (the failed one does not block the instance) */
    e->app.callback_status = 200;
    assert_int_equal(install(e, NULL, id, sizeof id), 201);
    stop(e);
}

static void test_ten_second_rule(void **state)
{
    static const char *const args[] = {"--callback-timeout-ms", "300", "--retry-delay-ms", "100",
                                       NULL};
    struct env *e = start(state, args);
    e->app.callback_delay_ms = 1200;
    char id[128];
    long long t0 = now_ms();
    assert_int_equal(install(e, NULL, id, sizeof id), 502);
    assert_true(now_ms() - t0 < (e->mode->v2 ? 1200 : 3 * 1200));
    ts_sleep_ms(1500); /* let the slow handlers finish */
    assert_int_equal(fake_app_count(&e->app, "/callback"), e->mode->v2 ? 1 : 3);
    assert_int_equal(gateway_get(&e->cs, e->app.api_key, e->probe_path), 401);
    stop(e);
}

/* A failed uninstall: V2 leaves the install active and its key valid until the user retries;
 * V1 has already revoked the key and marked it uninstalled, and says the app did not get it. */
static void test_failed_uninstall(void **state)
{
    struct env *e = start(state, NULL);
    char id[128];
    assert_int_equal(install(e, NULL, id, sizeof id), 201);
    e->app.callback_status = 500;
    struct ts_response r;
    long status = uninstall(e, id, &r);
    if (e->mode->v2) {
        assert_int_equal(status, 502);
        char code[64];
        assert_int_equal(ts_json_string(&r, "code", code, sizeof code), 0);
        assert_string_equal(code, "uninstall_failed");
    } else {
        assert_int_equal(status, 200);
        assert_non_null(strstr(r.body, "\"delivered\":false"));
    }
    ts_response_free(&r);
    /* install + one uninstall attempt (V2) or three (V1) */
    assert_int_equal(fake_app_count(&e->app, "/callback"), e->mode->v2 ? 2 : 4);
    assert_int_equal(gateway_get(&e->cs, e->app.api_key, e->probe_path), e->mode->v2 ? 200 : 401);
    install_status_is(e, id, e->mode->v2 ? "active" : "uninstalled");
    if (e->mode->v2) {
        /* the user retries once the app is healthy */
        e->app.callback_status = 200;
        assert_int_equal(uninstall(e, id, &r), 200);
        ts_response_free(&r);
        assert_int_equal(gateway_get(&e->cs, e->app.api_key, e->probe_path), 401);
        install_status_is(e, id, "uninstalled");
    }
    stop(e);
}

static void test_fault_duplicate_delivery(void **state)
{
    struct env *e = start(state, NULL);
    char id[128];
    assert_int_equal(install(e, "{\"duplicate\":true}", id, sizeof id), 201);
    assert_int_equal(fake_app_count(&e->app, "/callback"), 2);
    struct fake_record a, b;
    fake_app_record(&e->app, "/callback", 0, &a);
    fake_app_record(&e->app, "/callback", 1, &b);
    assert_string_equal(a.body, b.body);
    stop(e);
}

/* The app's first answer is lost: V1 re-sends and succeeds; V2 has no second attempt. */
static void test_fault_dropped_response_and_delay(void **state)
{
    struct env *e = start(state, NULL);
    char id[128];
    long long t0 = now_ms();
    assert_int_equal(install(e, "{\"drop_responses\":1,\"delay_ms\":400}", id, sizeof id),
                     e->mode->v2 ? 502 : 201);
    assert_int_equal(fake_app_count(&e->app, "/callback"), e->mode->v2 ? 1 : 2);
    struct fake_record a;
    fake_app_record(&e->app, "/callback", 0, &a);
    assert_true(a.at_ms - t0 >= 350);
    stop(e);
}

static void test_serve_flag_faults(void **state)
{
    static const char *const args[] = {"--fault-duplicate", NULL};
    struct env *e = start(state, args);
    char id[128];
    assert_int_equal(install(e, NULL, id, sizeof id), 201);
    assert_int_equal(fake_app_count(&e->app, "/callback"), 2);
    stop(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_mode_is_v2),
        CS_BOTH_MODES(test_install_payload),
        CS_BOTH_MODES(test_uninstall_payload_and_ordering),
        CS_BOTH_MODES(test_delivery_after_failures),
        CS_BOTH_MODES(test_all_attempts_fail_revokes_key),
        CS_BOTH_MODES(test_ten_second_rule),
        CS_BOTH_MODES(test_failed_uninstall),
        CS_BOTH_MODES(test_fault_duplicate_delivery),
        CS_BOTH_MODES(test_fault_dropped_response_and_delay),
        CS_BOTH_MODES(test_serve_flag_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
