/*
 * test_portal_generator_parse.c — portal generator bodies (spec §6, D6, D8): the V1 shape with
 * organization_id and user_id, the V2 shape without, and the refusals for missing fields,
 * wrong types, invalid IDs and malformed JSON, each naming the field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "capp/assert.h"
#include "capp/err.h"
#include "capp/json.h"
#include "capp/portal_generator.h"
#include "capp/limits.h"

#define INSTALLED_APP_ID "instapp_0123456789abcdef0123456789abcdef"
#define APP_ID           "app_0123456789abcdef0123456789abcdef"
#define ORG_ID           "org_0123456789abcdef0123456789abcdef"
#define INSTANCE_ID      "inst_0123456789abcdef0123456789abcdef"
#define USER_ID          "user_0123456789abcdef0123456789abcdef"

static json_t *v1_launch(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "installed_app_id", INSTALLED_APP_ID, "app_id",
                     APP_ID, "organization_id", ORG_ID, "instance_id", INSTANCE_ID, "user_id",
                     USER_ID);
}

static int parse_json(json_t *obj, struct portal_generator_request *r, struct json_error *err)
{
    char *body = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    int rc = portal_generator_parse(body, strlen(body), r, err);
    free(body);
    return rc;
}

static void expect_refused_body(const char *body, size_t len, int rc, const char *code,
                                const char *needle)
{
    struct portal_generator_request r;
    struct json_error err = {0};
    int got = portal_generator_parse(body, len, &r, &err);
    if (got != rc)
        fail_msg("body %.200s: rc %d, expected %d (%s)", body, got, rc, err.message);
    assert_null(r.root);
    assert_non_null(err.code);
    if (strcmp(err.code, code) != 0)
        fail_msg("body %.200s: code %s, expected %s", body, err.code, code);
    if (needle && !strstr(err.message, needle))
        fail_msg("message \"%s\" does not mention \"%s\"", err.message, needle);
    portal_generator_request_free(&r);
}

static void expect_refused(json_t *obj, int rc, const char *code, const char *needle)
{
    char *body = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    expect_refused_body(body, strlen(body), rc, code, needle);
    free(body);
}

static void test_valid_v1(void **state)
{
    struct portal_generator_request r;
    struct json_error err = {0};
    assert_int_equal(parse_json(v1_launch(), &r, &err), 0);
    assert_string_equal(r.installed_app_id, INSTALLED_APP_ID);
    assert_string_equal(r.app_id, APP_ID);
    assert_string_equal(r.organization_id, ORG_ID);
    assert_string_equal(r.instance_id, INSTANCE_ID);
    assert_string_equal(r.user_id, USER_ID);
    portal_generator_request_free(&r);
    assert_null(r.root);
    portal_generator_request_free(&r);
    portal_generator_request_free(NULL);
}

static void test_valid_v2(void **state)
{
    json_t *obj = json_pack("{s:s, s:s, s:s}", "installed_app_id", INSTALLED_APP_ID, "app_id",
                            APP_ID, "instance_id", INSTANCE_ID);
    struct portal_generator_request r;
    struct json_error err = {0};
    assert_int_equal(parse_json(obj, &r, &err), 0);
    assert_string_equal(r.installed_app_id, INSTALLED_APP_ID);
    assert_null(r.organization_id);
    assert_null(r.user_id);
    portal_generator_request_free(&r);

    /* explicit nulls read as absent */
    obj = v1_launch();
    json_object_set_new(obj, "organization_id", json_null());
    json_object_set_new(obj, "user_id", json_null());
    assert_int_equal(parse_json(obj, &r, &err), 0);
    assert_null(r.organization_id);
    assert_null(r.user_id);
    portal_generator_request_free(&r);
}

static void test_unknown_fields_ignored(void **state)
{
    json_t *obj = v1_launch();
    json_object_set_new(obj, "return_to", json_string("https://evil.example/"));
    json_object_set_new(obj, "nested", json_pack("{s:[i]}", "a", 1));
    struct portal_generator_request r;
    struct json_error err = {0};
    assert_int_equal(parse_json(obj, &r, &err), 0);
    assert_string_equal(r.instance_id, INSTANCE_ID);
    portal_generator_request_free(&r);
}

static void test_missing_required(void **state)
{
    static const char *const fields[] = {"installed_app_id", "app_id", "instance_id"};
    for (size_t i = 0; i < COUNTOF(fields); i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "'%s'", fields[i]);
        json_t *obj = v1_launch();
        json_object_del(obj, fields[i]);
        expect_refused(obj, CAPP_EINVAL, "missing_field", needle);
        obj = v1_launch();
        json_object_set_new(obj, fields[i], json_null());
        expect_refused(obj, CAPP_EINVAL, "missing_field", needle);
    }
    expect_refused_body("{}", 2, CAPP_EINVAL, "missing_field", "'installed_app_id'");
}

static void test_wrong_types(void **state)
{
    static const char *const fields[] = {"installed_app_id", "app_id", "organization_id",
                                         "instance_id", "user_id"};
    for (size_t i = 0; i < COUNTOF(fields); i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "'%s'", fields[i]);
        json_t *values[] = {json_integer(1), json_true(), json_pack("[s]", "x"),
                            json_pack("{s:s}", "id", "x"), json_real(1.5)};
        for (size_t v = 0; v < COUNTOF(values); v++) {
            json_t *obj = v1_launch();
            json_object_set_new(obj, fields[i], values[v]);
            expect_refused(obj, CAPP_EINVAL, "invalid_field", needle);
        }
    }
}

static void test_invalid_ids(void **state)
{
    static const char *const fields[] = {"installed_app_id", "app_id", "organization_id",
                                         "instance_id", "user_id"};
    static const char *const bad[] = {"",    "a b",         "a/b", "a.b",  "a?b=c",
                                      "%41", "caf\xc3\xa9", "<x>", "a\nb", "javascript:1"};
    char too_long[CAPP_MAX_ID_BYTES + 2];
    memset(too_long, 'u', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    for (size_t i = 0; i < COUNTOF(fields); i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "'%s'", fields[i]);
        for (size_t b = 0; b < COUNTOF(bad); b++) {
            json_t *obj = v1_launch();
            json_object_set_new(obj, fields[i], json_string(bad[b]));
            expect_refused(obj, CAPP_EINVAL, "invalid_field", needle);
        }
        json_t *obj = v1_launch();
        json_object_set_new(obj, fields[i], json_string(too_long));
        expect_refused(obj, CAPP_ETOOBIG, "field_too_long", needle);
    }
    too_long[CAPP_MAX_ID_BYTES] = '\0';
    json_t *obj = v1_launch();
    json_object_set_new(obj, "user_id", json_string(too_long));
    struct portal_generator_request r;
    struct json_error err = {0};
    assert_int_equal(parse_json(obj, &r, &err), 0);
    assert_int_equal(strlen(r.user_id), CAPP_MAX_ID_BYTES);
    portal_generator_request_free(&r);
}

static void test_malformed(void **state)
{
    expect_refused_body("", 0, CAPP_EPARSE, "empty_body", NULL);
    expect_refused_body("installed_app_id=x", 18, CAPP_EPARSE, "malformed_json", NULL);
    const char *arr = "[\"" INSTALLED_APP_ID "\"]";
    expect_refused_body(arr, strlen(arr), CAPP_EINVAL, "not_an_object", NULL);
    const char *dup = "{\"installed_app_id\":\"a\",\"app_id\":\"b\",\"instance_id\":\"c\","
                      "\"instance_id\":\"d\"}";
    expect_refused_body(dup, strlen(dup), CAPP_EPARSE, "malformed_json", NULL);
    const char *trailing = "{\"installed_app_id\":\"a\",\"app_id\":\"b\",\"instance_id\":\"c\"} {}";
    expect_refused_body(trailing, strlen(trailing), CAPP_EPARSE, "malformed_json", NULL);

    char *deep = malloc(200);
    size_t n = 0;
    n += (size_t)sprintf(
        deep, "{\"installed_app_id\":\"a\",\"app_id\":\"b\",\"instance_id\":\"c\",\"x\":");
    for (int i = 0; i < CAPP_MAX_JSON_DEPTH; i++)
        deep[n++] = '[';
    for (int i = 0; i < CAPP_MAX_JSON_DEPTH; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    expect_refused_body(deep, n, CAPP_ETOOBIG, "json_too_deep", NULL);
    free(deep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_v1),
        cmocka_unit_test(test_valid_v2),
        cmocka_unit_test(test_unknown_fields_ignored),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_invalid_ids),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
