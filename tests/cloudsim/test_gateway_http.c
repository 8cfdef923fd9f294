/*
 * test_gateway_http.c — the data half's gateway over real HTTP: paging defaults and caps,
 * response shapes of /data, the root filters, /proxy and /alerts, D18 dob formats, Core error
 * bodies, and scopes per route through the platform's front door.
 *
 * It starts the real build/cloudsim, registers five copies of the shared fake app, installs
 * each with a different grant to get keys with known scopes, and seeds 250 identities into the
 * install's instance with `cloudsim seed` on the same database. With CLOUDSIM_TEST_SERVER set
 * it instead runs that binary as `BIN serve DB 127.0.0.1:0`, which must accept the fixed keys
 * below on instance inst_test (the data half's scratch stub for the platform half).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cs_testkit.h"
#include "testsupport.h"

static struct ts_proc server;
static struct fake_app app;
static char base[300];
static int running, real;
static char instance[128] = "inst_test";

/* Key names the tests use → the keys the server knows. */
static const char *const key_names[] = {"blnk_all", "blnk_read", "blnk_write", "blnk_alerts",
                                        "blnk_alertsr"};
static const char *const key_grants[] = {
    "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]", "[\"data:read\"]",
    "[\"data:write\"]", "[\"alerts:read\",\"alerts:write\"]", "[\"alerts:read\"]"};
static char keys[5][160];

static const char *key_for(const char *name)
{
    for (int i = 0; real && i < 5; i++)
        if (strcmp(name, key_names[i]) == 0)
            return keys[i];
    return name;
}

static int seed(const char *bin, const char *db, const char *dir)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' seed --db '%s' --instance '%s' --identities 250 --seed 9 >'%s/seed.out' 2>&1",
             bin, db, instance, dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    const char *bin = getenv("CLOUDSIM_TEST_SERVER");
    char dir[512], db[600], log[600];
    ts_tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/cs.db", dir);
    if (bin) {
        snprintf(log, sizeof log, "%s/serve.log", dir);
        if (seed(bin, db, dir) != 0)
            return -1;
        const char *argv[] = {bin, "serve", db, "127.0.0.1:0", NULL};
        if (ts_proc_start(&server, argv, NULL, log, NULL) != 0)
            return -1;
    } else {
        real = 1;
        const char *args[] = {"--db", db, NULL};
        fake_app_start(&app);
        cloudsim_start(&server, args);
        for (int i = 0; i < 5; i++) {
            char app_id[128], installed[128];
            register_fake_app(&server, &app, key_grants[0], app_id, sizeof app_id);
            if (install_app(&server, app_id, key_grants[i], NULL, installed, sizeof installed) !=
                201)
                return -1;
            snprintf(keys[i], sizeof keys[i], "%s", app.api_key);
        }
        snprintf(instance, sizeof instance, "%s", app.instance_id);
        char cs_bin[512];
        ts_binary("cloudsim", cs_bin, sizeof cs_bin);
        if (seed(cs_bin, db, dir) != 0)
            return -1;
    }
    snprintf(base, sizeof base, "%s", server.url);
    running = 1;
    return 0;
}

static int teardown(void **state)
{
    if (running && real) {
        cloudsim_stop(&server);
        fake_app_stop(&app);
    } else if (running) {
        ts_proc_stop(&server, 15);
    }
    return 0;
}

#define NEED_SERVER() \
    do {              \
        if (!running) \
            skip();   \
    } while (0)

static json_t *call(const char *method, const char *key, const char *path_in, const char *body,
                    long expect)
{
    char url[2048], auth[256], path[1024];
    /* the tests say inst_test; the real server names its own instance */
    const char *hit = strstr(path_in, "inst_test");
    if (hit)
        snprintf(path, sizeof path, "%.*s%s%s", (int)(hit - path_in), path_in, instance,
                 hit + strlen("inst_test"));
    else
        snprintf(path, sizeof path, "%s", path_in);
    snprintf(url, sizeof url, "%s%s", base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key_for(key));
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    struct ts_response r;
    assert_int_equal(ts_http(method, url, body, headers, &r), 0);
    TS_ASSERT_STATUS(r, expect);
    json_t *j = json_loadb(r.body ? r.body : "", r.body_len, JSON_DECODE_ANY, NULL);
    if (!j)
        j = json_string(r.body ? r.body : "");
    ts_response_free(&r);
    return j;
}

static void test_data_paging_defaults_and_caps(void **state)
{
    NEED_SERVER();
    json_t *j = call("GET", "blnk_read", "/data/identities?instance_id=inst_test", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 20);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 250);
    assert_int_equal(json_object_size(j), 2);
    json_decref(j);
    j = call("GET", "blnk_read", "/data/identities?instance_id=inst_test&pageSize=1000", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 100);
    json_decref(j);
    j = call("GET", "blnk_read", "/data/identities?instance_id=inst_test&page=0&pageSize=5", NULL,
             200);
    json_t *first =
        call("GET", "blnk_read", "/data/identities?instance_id=inst_test&pageSize=5", NULL, 200);
    assert_true(json_equal(j, first)); /* page < 1 means 1 */
    json_decref(j);
    json_decref(first);
    j = call("GET", "blnk_read", "/data/identities?instance_id=inst_test&page=3&pageSize=100", NULL,
             200);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 50);
    json_decref(j);
    /* sort: created_at descending */
    j = call("GET", "blnk_read", "/data/identities?instance_id=inst_test&pageSize=100&sort=asc",
             NULL, 200);
    json_t *data = json_object_get(j, "data");
    for (size_t i = 1; i < json_array_size(data); i++)
        assert_true(
            strcmp(json_string_value(json_object_get(json_array_get(data, i - 1), "created_at")),
                   json_string_value(json_object_get(json_array_get(data, i), "created_at"))) > 0);
    json_decref(j);
    j = call("GET", "blnk_read", "/data/ledgers?instance_id=inst_test", NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);
}

static void test_data_detail_and_dob_formats(void **state)
{
    NEED_SERVER();
    json_t *j = call("POST", "blnk_all", "/proxy/identities?instance_id=inst_test",
                     "{\"first_name\":\"Dob\",\"dob\":\"1985-05-15T00:00:00Z\"}", 201);
    char id[128];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(j, "identity_id")));
    assert_string_equal(json_string_value(json_object_get(j, "dob")), "1985-05-15T00:00:00Z");
    json_decref(j);
    char path[256];
    snprintf(path, sizeof path, "/data/identities/%s?instance_id=inst_test", id);
    j = call("GET", "blnk_read", path, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "dob")), "1985-05-15");
    json_decref(j);
    snprintf(path, sizeof path, "/proxy/identities/%s?instance_id=inst_test", id);
    j = call("GET", "blnk_read", path, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "dob")), "1985-05-15T00:00:00Z");
    json_decref(j);
    j = call("GET", "blnk_read", "/data/identities/idt_missing?instance_id=inst_test", NULL, 404);
    assert_non_null(json_object_get(j, "error"));
    assert_non_null(json_object_get(j, "code"));
    json_decref(j);
    /* a bare date on /proxy create is Core's decoding error */
    j = call("POST", "blnk_all", "/proxy/identities?instance_id=inst_test",
             "{\"dob\":\"1990-01-01\"}", 400);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "error_detail"), "code")),
        "GEN_MALFORMED_REQUEST");
    json_decref(j);
}

static void test_root_filter_shapes(void **state)
{
    NEED_SERVER();
    const char *body = "{\"filters\":[{\"field\":\"identity_type\",\"operator\":\"in\","
                       "\"values\":[\"individual\",\"organization\"]}]}";
    json_t *j =
        call("POST", "blnk_read", "/identities/filter?instance_id=inst_test&pageSize=3", body, 200);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 3);
    assert_true(json_is_object(json_object_get(j, "stats")));
    assert_null(json_object_get(j, "total_source"));
    json_decref(j);
    j = call("POST", "blnk_read", "/transactions/filter?instance_id=inst_test", "{}", 200);
    assert_true(json_is_false(json_object_get(j, "total_is_estimate")));
    assert_string_equal(json_string_value(json_object_get(j, "total_source")), "exact");
    json_decref(j);
    j = call("POST", "blnk_read", "/ledger/filter?instance_id=inst_test", "{}", 200);
    assert_int_equal(json_object_size(j), 2);
    json_decref(j);
    j = call("POST", "blnk_read", "/identities/filter?instance_id=inst_test",
             "{\"filters\":[{\"field\":\"nope\",\"operator\":\"eq\",\"value\":1}]}", 400);
    json_decref(j);
}

static void test_proxy_core_shapes(void **state)
{
    NEED_SERVER();
    json_t *j =
        call("GET", "blnk_read", "/proxy/identities/idt_x?instance_id=inst_test", NULL, 404);
    assert_string_equal(j ? json_string_value(json_object_get(j, "error")) : "",
                        "Identity with ID 'idt_x' not found");
    json_decref(j);
    j = call("GET", "blnk_read", "/proxy/no/such/route?instance_id=inst_test", NULL, 404);
    assert_string_equal(json_string_value(j), "404 page not found");
    json_decref(j);
    j = call("GET", "blnk_read", "/proxy/identities?instance_id=inst_test&first_name_eq=zzzz", NULL,
             200);
    assert_true(json_is_null(j)); /* empty list is null */
    json_decref(j);
    j = call("GET", "blnk_read", "/proxy/identities?instance_id=inst_test&created_at_isnotnull=1",
             NULL, 200);
    assert_int_equal(json_array_size(j), 20);
    json_decref(j);
}

static void test_metadata_merge_over_http(void **state)
{
    NEED_SERVER();
    json_t *j = call("POST", "blnk_all", "/proxy/identities?instance_id=inst_test",
                     "{\"meta_data\":{\"a\":1,\"kyc\":{\"x\":1,\"y\":2}}}", 201);
    char path[256];
    snprintf(path, sizeof path, "/proxy/%s/metadata?instance_id=inst_test",
             json_string_value(json_object_get(j, "identity_id")));
    json_decref(j);
    j = call("POST", "blnk_write", path, "{\"meta_data\":{\"kyc\":{\"x\":3}}}", 200);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"meta_data\":{\"a\":1,\"kyc\":{\"x\":3}}}");
    free(text);
    json_decref(j);
    j = call("POST", "blnk_write", "/proxy/acc_1/metadata?instance_id=inst_test",
             "{\"meta_data\":{}}", 400);
    json_decref(j);
}

static void test_scopes_and_instance(void **state)
{
    NEED_SERVER();
    json_decref(call("GET", "blnk_write", "/data/identities?instance_id=inst_test", NULL, 403));
    json_decref(call("POST", "blnk_write", "/identities/filter?instance_id=inst_test", "{}", 403));
    json_decref(call("GET", "blnk_write", "/proxy/identities?instance_id=inst_test", NULL, 403));
    json_decref(call("POST", "blnk_read", "/proxy/identities?instance_id=inst_test", "{}", 403));
    json_decref(call("POST", "blnk_read", "/proxy/idt_x/metadata?instance_id=inst_test",
                     "{\"meta_data\":{}}", 403));
    json_decref(call("GET", "blnk_read", "/alerts", NULL, 403));
    json_decref(call("POST", "blnk_alertsr", "/alerts/flag/idt_x", "{\"description\":\"d\"}", 403));
    json_decref(call("POST", "blnk_alertsr", "/alerts/statuses",
                     "{\"name\":\"X\",\"colour\":\"#3B82F6\"}", 403));
    json_decref(call("GET", "blnk_alertsr", "/alerts/statuses", NULL, 200));
    json_decref(call("GET", "blnk_read", "/data/identities", NULL, 400));
    json_decref(call("GET", "blnk_read", "/data/identities?instance_id=inst_other", NULL, 403));
    json_decref(call("GET", "blnk_alerts", "/alerts?instance_id=inst_other", NULL, 403));
    json_decref(call("GET", "nope", "/data/identities?instance_id=inst_test", NULL, 401));
    if (real)
        return; /* the fixed-key server has a second instance; the real one needs a config */
    /* another instance's key sees none of inst_test's identities */
    json_t *j = call("GET", "blnk_other", "/data/identities?instance_id=inst_other", NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);
}

static void test_alerts_over_http(void **state)
{
    NEED_SERVER();
    json_t *j =
        call("GET", "blnk_read", "/data/identities?instance_id=inst_test&pageSize=1", NULL, 200);
    char path[256];
    snprintf(path, sizeof path, "/alerts/flag/%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(j, "data"), 0), "identity_id")));
    json_decref(j);
    json_decref(call("POST", "blnk_alerts", path, "{\"title\":\"t\"}", 400));
    j = call("POST", "blnk_alerts", path, "{\"title\":\"t\",\"description\":\"d\"}", 201);
    snprintf(path, sizeof path, "/alerts/flag/%s",
             json_string_value(json_object_get(j, "anomaly_id")));
    json_decref(j);
    json_decref(call("PUT", "blnk_alerts", path, "{\"status\":\"BOGUS\"}", 400));
    j = call("PUT", "blnk_alerts", path, "{\"status\":\"resolved\"}", 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "RESOLVED");
    json_decref(j);
    j = call("GET", "blnk_alerts", "/alerts?instance_id=inst_test", NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
    json_decref(j);
    json_decref(call("GET", "blnk_alerts", "/alerts/ano_missing", NULL, 404));
    json_decref(call("POST", "blnk_alerts", "/alerts/flag/xyz_1", "{\"description\":\"d\"}", 400));
    json_decref(call("POST", "blnk_alerts", "/alerts/statuses",
                     "{\"name\":\"On Hold\",\"colour\":\"#F59E0B\"}", 201));
    j = call("DELETE", "blnk_alerts", "/alerts/statuses/on_hold", NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "message")), "Status deleted");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_paging_defaults_and_caps),
        cmocka_unit_test(test_data_detail_and_dob_formats),
        cmocka_unit_test(test_root_filter_shapes),
        cmocka_unit_test(test_proxy_core_shapes),
        cmocka_unit_test(test_metadata_merge_over_http),
        cmocka_unit_test(test_scopes_and_instance),
        cmocka_unit_test(test_alerts_over_http),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
