/*
 * The gateway front door: 401 for missing/unknown/revoked keys, instance_id binding (400/403,
 * optional on /alerts, D14), scopes per the §10 table (403), the per-key rate limit (429 with
 * Retry-After) and audit rows that carry installed_app_id and api_key_prefix but never the key.
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
    char installed_app_id[128];
    char dir[512];
};

static struct env *start(const char *grant, const char *const *extra)
{
    struct env *e = calloc(1, sizeof *e);
    char db[600];
    ts_tmpdir(e->dir, sizeof e->dir);
    snprintf(db, sizeof db, "%s/cloudsim.db", e->dir);
    const char *args[16] = {"--db", db};
    int n = 2;
    for (const char *const *a = extra; a && *a; a++)
        args[n++] = *a;
    fake_app_start(&e->app);
    cloudsim_start(&e->cs, args);
    register_fake_app(&e->cs, &e->app,
                      "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]", e->app_id,
                      sizeof e->app_id);
    assert_int_equal(install_app(&e->cs, e->app_id, grant, NULL, e->installed_app_id,
                                 sizeof e->installed_app_id),
                     201);
    return e;
}

static void stop(struct env *e)
{
    cloudsim_stop(&e->cs);
    fake_app_stop(&e->app);
    free(e);
}

static long call(struct env *e, const char *method, const char *path, const char *key,
                 int with_instance, struct ts_response *keep)
{
    char url[1024], auth[256];
    snprintf(url, sizeof url, "%s%s%s%s", e->cs.url, path,
             with_instance ? (strchr(path, '?') ? "&instance_id=" : "?instance_id=") : "",
             with_instance ? e->app.instance_id : "");
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    const char *headers[] = {"Content-Type: application/json", auth, NULL};
    const char *body = strcmp(method, "GET") == 0 ? NULL : "{\"description\":\"x\",\"name\":\"l\"}";
    struct ts_response r;
    ts_http(method, url, body, key ? headers : headers + 1 + 0, &r);
    long status = r.status;
    if (keep)
        *keep = r;
    else
        ts_response_free(&r);
    return status;
}

static void test_key_checks_401(void **state)
{
    struct env *e = start("[\"data:read\"]", NULL);
    struct ts_response r;
    assert_int_equal(call(e, "GET", "/data/identities", NULL, 1, &r), 401);
    char code[64];
    assert_int_equal(ts_json_string(&r, "code", code, sizeof code), 0);
    assert_int_equal(ts_json_string(&r, "error", code, sizeof code), 0);
    ts_response_free(&r);
    assert_int_equal(call(e, "GET", "/data/identities", "blnk_nope", 1, NULL), 401);
    char forged[64];
    snprintf(forged, sizeof forged, "%.8s%s", e->app.api_key,
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); /* right prefix, wrong key */
    assert_int_equal(call(e, "GET", "/data/identities", forged, 1, NULL), 401);
    assert_int_equal(call(e, "GET", "/data/identities", e->app.api_key, 1, NULL), 200);
    stop(e);
}

static void test_instance_binding(void **state)
{
    struct env *e = start("[\"data:read\",\"alerts:read\"]", NULL);
    assert_int_equal(call(e, "GET", "/data/identities", e->app.api_key, 0, NULL), 400);
    assert_int_equal(
        call(e, "GET", "/data/identities?instance_id=inst_other", e->app.api_key, 0, NULL), 403);
    /* /alerts: instance_id optional, a mismatch is 403 (D14) */
    assert_int_equal(call(e, "GET", "/alerts", e->app.api_key, 0, NULL), 200);
    assert_int_equal(call(e, "GET", "/alerts?instance_id=inst_other", e->app.api_key, 0, NULL),
                     403);
    assert_int_equal(call(e, "GET", "/alerts", e->app.api_key, 1, NULL), 200);
    stop(e);
}

static void expect_scope(struct env *e, const char *method, const char *path, int instance,
                         int allowed)
{
    long status = call(e, method, path, e->app.api_key, instance, NULL);
    if (allowed ? (status == 401 || status == 403) : status != 403)
        fail_msg("%s %s answered %ld, expected %s", method, path, status,
                 allowed ? "the scope to pass" : "403");
}

static void test_scopes_data_read_only(void **state)
{
    struct env *e = start("[\"data:read\"]", NULL);
    expect_scope(e, "GET", "/data/identities", 1, 1);
    expect_scope(e, "POST", "/identities/filter", 1, 1);
    expect_scope(e, "GET", "/proxy/ledgers", 1, 1);
    expect_scope(e, "POST", "/proxy/ledgers", 1, 0);
    expect_scope(e, "PUT", "/proxy/identities/idt_x", 1, 0);
    expect_scope(e, "GET", "/alerts", 0, 0);
    expect_scope(e, "GET", "/alerts/statuses", 0, 0);
    expect_scope(e, "POST", "/alerts/flag/idt_x", 0, 0);
    expect_scope(e, "POST", "/alerts/statuses", 0, 0);
    stop(e);
}

static void test_scopes_write_and_alerts(void **state)
{
    struct env *e = start("[\"data:write\",\"alerts:write\"]", NULL);
    expect_scope(e, "GET", "/data/identities", 1, 0);
    expect_scope(e, "GET", "/proxy/ledgers", 1, 0);
    expect_scope(e, "POST", "/proxy/ledgers", 1, 1);
    expect_scope(e, "GET", "/alerts", 0, 0);
    expect_scope(e, "POST", "/alerts/flag/idt_x", 0, 1);
    expect_scope(e, "POST", "/alerts/statuses", 0, 1);
    stop(e);
}

static void test_rate_limit(void **state)
{
    static const char *const args[] = {"--rate-limit", "2/s", NULL};
    struct env *e = start("[\"data:read\"]", args);
    long statuses[6];
    struct ts_response last = {0};
    int limited = -1;
    for (int i = 0; i < 6; i++) {
        struct ts_response r;
        statuses[i] = call(e, "GET", "/data/identities", e->app.api_key, 1, &r);
        if (statuses[i] == 429 && limited < 0) {
            limited = i;
            last = r;
        } else {
            ts_response_free(&r);
        }
    }
    assert_int_equal(statuses[0], 200);
    assert_true(limited >= 1);
    char retry[32];
    assert_int_equal(ts_header(&last, "Retry-After", retry, sizeof retry), 0);
    assert_true(atoi(retry) >= 1);
    char code[64];
    assert_int_equal(ts_json_string(&last, "code", code, sizeof code), 0);
    assert_string_equal(code, "rate_limited");
    ts_response_free(&last);
    ts_sleep_ms(1100);
    assert_int_equal(call(e, "GET", "/data/identities", e->app.api_key, 1, NULL), 200);
    stop(e);
}

static void test_audit_rows_without_key(void **state)
{
    struct env *e = start("[\"data:read\"]", NULL);
    assert_int_equal(call(e, "GET", "/data/identities", e->app.api_key, 1, NULL), 200);
    assert_int_equal(call(e, "GET", "/alerts", e->app.api_key, 0, NULL), 403);
    char url[512];
    snprintf(url, sizeof url, "%s/admin/audit?installed_app_id=%s", e->cs.url, e->installed_app_id);
    struct ts_response r;
    ts_http("GET", url, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    json_t *root = json_loads(r.body, 0, NULL);
    json_t *rows = json_object_get(root, "data");
    int gateway_rows = 0, saw_200 = 0, saw_403 = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "event")), "gateway.call") != 0)
            continue;
        gateway_rows++;
        assert_string_equal(json_string_value(json_object_get(row, "installed_app_id")),
                            e->installed_app_id);
        char prefix[16];
        snprintf(prefix, sizeof prefix, "%.8s", e->app.api_key);
        assert_string_equal(json_string_value(json_object_get(row, "api_key_prefix")), prefix);
        json_int_t st = json_integer_value(json_object_get(row, "status"));
        saw_200 |= st == 200;
        saw_403 |= st == 403;
        assert_non_null(json_string_value(json_object_get(row, "method")));
        assert_non_null(json_string_value(json_object_get(row, "path")));
    }
    assert_true(gateway_rows >= 2 && saw_200 && saw_403);
    assert_null(strstr(r.body, e->app.api_key));
    json_decref(root);
    ts_response_free(&r);
    /* the key is nowhere at rest or in the log */
    char key[128], dir[512];
    snprintf(key, sizeof key, "%s", e->app.api_key);
    snprintf(dir, sizeof dir, "%s", e->dir);
    assert_false(ts_file_contains(e->cs.log_path, key + 8));
    stop(e);
    assert_false(ts_dir_contains(dir, key + 8)); /* db, -wal */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_checks_401),
        cmocka_unit_test(test_instance_binding),
        cmocka_unit_test(test_scopes_data_read_only),
        cmocka_unit_test(test_scopes_write_and_alerts),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_audit_rows_without_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
