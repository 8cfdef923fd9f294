/*
 * test_json.c — strict JSON input: every limit from limits.h that the parser enforces (body
 * size, depth, ID length and alphabet, string and array sizes) exactly at and one past the
 * limit, the refusals (duplicates, NUL, non-objects, trailing garbage), typed fields whose
 * errors name the field, and RFC 3339 timestamps; piecewise output (json_append_string,
 * json_append_real) byte for byte against json_dumps of the same value.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "capp/assert.h"
#include "capp/buf.h"
#include "capp/err.h"
#include "capp/json.h"
#include "capp/limits.h"

static int parse(const char *body, json_t **out, struct json_error *err)
{
    return json_parse_object(body, strlen(body), out, err);
}

static void expect_parse_fails(const char *body, size_t len, int rc, const char *code)
{
    json_t *obj = (json_t *)0x1;
    struct json_error err = {0};
    int got = json_parse_object(body, len, &obj, &err);
    if (got != rc)
        fail_msg("body [%.60s]: rc %d, expected %d (%s)", body, got, rc, err.message);
    assert_null(obj);
    assert_non_null(err.code);
    if (code)
        assert_string_equal(err.code, code);
    assert_true(err.message[0] != '\0');
}

/* {"k":"xxx..."} of exactly len bytes */
static char *body_of_size(size_t len)
{
    char *b = malloc(len + 1);
    assert_non_null(b);
    memcpy(b, "{\"k\":\"", 6);
    memset(b + 6, 'x', len - 8);
    memcpy(b + len - 2, "\"}", 3);
    return b;
}

static void test_body_size_limit(void **state)
{
    char *b = body_of_size(CAPP_MAX_BODY_BYTES);
    json_t *obj = NULL;
    struct json_error err = {0};
    assert_int_equal(json_parse_object(b, CAPP_MAX_BODY_BYTES, &obj, &err), 0);
    assert_int_equal(json_string_length(json_object_get(obj, "k")), CAPP_MAX_BODY_BYTES - 8);
    json_decref(obj);
    free(b);
    b = body_of_size(CAPP_MAX_BODY_BYTES + 1);
    expect_parse_fails(b, CAPP_MAX_BODY_BYTES + 1, CAPP_ETOOBIG, "body_too_large");
    free(b);
}

static void test_empty_body(void **state)
{
    expect_parse_fails("", 0, CAPP_EPARSE, "empty_body");
}

/* depth levels of {"a": ... } around a 1 */
static char *nested(int depth, char open, char close)
{
    char *b = malloc((size_t)depth * 8 + 16);
    size_t n = 0;
    for (int i = 0; i < depth; i++) {
        if (open == '{' || i == 0) {
            memcpy(b + n, "{\"a\":", 5);
            n += 5;
        } else {
            b[n++] = open;
        }
    }
    b[n++] = '1';
    for (int i = depth - 1; i >= 0; i--)
        b[n++] = (open == '{' || i == 0) ? '}' : close;
    b[n] = '\0';
    return b;
}

static void test_depth_limit_objects(void **state)
{
    char *ok = nested(CAPP_MAX_JSON_DEPTH, '{', '}');
    json_t *obj = NULL;
    struct json_error err = {0};
    assert_int_equal(parse(ok, &obj, &err), 0);
    json_decref(obj);
    free(ok);
    char *deep = nested(CAPP_MAX_JSON_DEPTH + 1, '{', '}');
    expect_parse_fails(deep, strlen(deep), CAPP_ETOOBIG, "json_too_deep");
    free(deep);
}

static void test_depth_limit_arrays(void **state)
{
    char *ok = nested(CAPP_MAX_JSON_DEPTH, '[', ']');
    json_t *obj = NULL;
    struct json_error err = {0};
    assert_int_equal(parse(ok, &obj, &err), 0);
    json_decref(obj);
    free(ok);
    char *deep = nested(CAPP_MAX_JSON_DEPTH + 1, '[', ']');
    expect_parse_fails(deep, strlen(deep), CAPP_ETOOBIG, "json_too_deep");
    free(deep);
    /* a huge depth is refused before jansson's recursion sees it */
    size_t n = CAPP_MAX_BODY_BYTES;
    char *bomb = malloc(n + 1);
    memset(bomb, '[', n);
    bomb[n] = '\0';
    expect_parse_fails(bomb, n, CAPP_ETOOBIG, "json_too_deep");
    free(bomb);
}

static void test_brackets_in_strings_do_not_count(void **state)
{
    char body[200];
    char brackets[60];
    memset(brackets, '[', sizeof brackets - 1);
    brackets[sizeof brackets - 1] = '\0';
    snprintf(body, sizeof body, "{\"a\":\"%s\"}", brackets);
    json_t *obj = NULL;
    struct json_error err = {0};
    assert_int_equal(parse(body, &obj, &err), 0);
    json_decref(obj);
    /* an escaped quote does not end the string */
    snprintf(body, sizeof body, "{\"a\":\"\\\"%s\\\\\"}", brackets);
    assert_int_equal(parse(body, &obj, &err), 0);
    assert_int_equal(json_string_length(json_object_get(obj, "a")), 1 + 59 + 1);
    json_decref(obj);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "{",
        "}",
        "{\"a\":1,}",
        "{\"a\"}",
        "{'a':1}",
        "{\"a\":01}",
        "{\"a\":nul}",
        "{a:1}",
        "{} x",
        "{}{}",
        "{} []",
        "{\"a\":\"\xff\"}",
        "{\"a\":NaN}",
        "\xef\xbb\xbf{}",
        "{\"a\":\"\\x41\"}",
        "{\"a\":\"\t\"}",
    };
    for (size_t i = 0; i < COUNTOF(bad); i++)
        expect_parse_fails(bad[i], strlen(bad[i]), CAPP_EPARSE, "malformed_json");
    /* the error tells where */
    json_t *obj;
    struct json_error err;
    assert_int_equal(parse("{\"a\":1,}", &obj, &err), CAPP_EPARSE);
    assert_non_null(strstr(err.message, "line 1"));
}

static void test_trailing_whitespace_ok(void **state)
{
    json_t *obj = NULL;
    struct json_error err = {0};
    assert_int_equal(parse(" \n{\"a\":1}\r\n\t ", &obj, &err), 0);
    json_decref(obj);
}

static void test_non_object(void **state)
{
    expect_parse_fails("[]", 2, CAPP_EINVAL, "not_an_object");
    expect_parse_fails("[{\"a\":1}]", 9, CAPP_EINVAL, "not_an_object");
    /* scalars are refused too (jansson wants an array or object at the top) */
    static const char *const scalars[] = {"1", "\"s\"", "null", "true"};
    for (size_t i = 0; i < COUNTOF(scalars); i++) {
        json_t *obj = (json_t *)0x1;
        struct json_error err = {0};
        assert_int_not_equal(parse(scalars[i], &obj, &err), 0);
        assert_null(obj);
    }
}

static void test_duplicate_keys(void **state)
{
    const char *top = "{\"a\":1,\"a\":1}";
    expect_parse_fails(top, strlen(top), CAPP_EPARSE, "malformed_json");
    const char *inner = "{\"o\":{\"x\":1,\"y\":2,\"x\":3}}";
    expect_parse_fails(inner, strlen(inner), CAPP_EPARSE, "malformed_json");
    /* same key in sibling objects is fine */
    json_t *obj = NULL;
    struct json_error err = {0};
    assert_int_equal(parse("{\"o\":{\"x\":1},\"p\":{\"x\":1}}", &obj, &err), 0);
    json_decref(obj);
}

static void test_nul_refused(void **state)
{
    const char *esc = "{\"a\":\"x\\u0000y\"}";
    expect_parse_fails(esc, strlen(esc), CAPP_EPARSE, "malformed_json");
    const char *key = "{\"a\\u0000b\":1}";
    expect_parse_fails(key, strlen(key), CAPP_EPARSE, "malformed_json");
    const char raw[] = "{\"a\":\"x\0y\"}";
    expect_parse_fails(raw, sizeof raw - 1, CAPP_EPARSE, "malformed_json");
    /* the length given is what is parsed: a NUL after it is not seen */
    json_t *obj = NULL;
    struct json_error err = {0};
    assert_int_equal(json_parse_object("{}\0garbage", 2, &obj, &err), 0);
    json_decref(obj);
}

static json_t *object(const char *body)
{
    json_t *obj = NULL;
    struct json_error err = {0};
    if (parse(body, &obj, &err) != 0)
        fail_msg("test body did not parse: %s", err.message);
    return obj;
}

static void expect_field_error(const char *body, const struct json_field *fields, size_t count,
                               int rc, const char *code, const char *needle)
{
    json_t *obj = object(body);
    struct json_error err = {0};
    int got = json_read_fields(obj, fields, count, &err);
    if (got != rc)
        fail_msg("body %s: rc %d, expected %d (%s)", body, got, rc, err.message);
    assert_string_equal(err.code, code);
    if (!strstr(err.message, needle))
        fail_msg("message \"%s\" does not name \"%s\"", err.message, needle);
    json_decref(obj);
}

static void test_id_length_limit(void **state)
{
    char body[400], id[CAPP_MAX_ID_BYTES + 2];
    memset(id, 'a', sizeof id - 1);
    id[CAPP_MAX_ID_BYTES] = '\0';
    const char *out = NULL;
    struct json_field f[] = {JSON_ID("installed_app_id", &out, 1)};
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", id);
    json_t *obj = object(body);
    struct json_error err = {0};
    assert_int_equal(json_read_fields(obj, f, 1, &err), 0);
    assert_int_equal(strlen(out), CAPP_MAX_ID_BYTES);
    json_decref(obj);

    id[CAPP_MAX_ID_BYTES] = 'a';
    id[CAPP_MAX_ID_BYTES + 1] = '\0';
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", id);
    expect_field_error(body, f, 1, CAPP_ETOOBIG, "field_too_long", "'installed_app_id'");
}

static void test_id_alphabet(void **state)
{
    const char *out = NULL;
    struct json_field f[] = {JSON_ID("app_id", &out, 1)};
    static const char *const bad[] = {"",      "a b", "a.b", "a/b",   "a:b",       "caf\\u00e9",
                                      "a\\nb", "a+b", "<x>", "a%20b", "a\\u0001b", "a\\\"b"};
    char body[200];
    for (size_t i = 0; i < COUNTOF(bad); i++) {
        snprintf(body, sizeof body, "{\"app_id\":\"%s\"}", bad[i]);
        expect_field_error(body, f, 1, CAPP_EINVAL, "invalid_field", "'app_id'");
    }
    json_t *obj = object("{\"app_id\":\"app_AZaz09-_x\"}");
    struct json_error err = {0};
    assert_int_equal(json_read_fields(obj, f, 1, &err), 0);
    assert_string_equal(out, "app_AZaz09-_x");
    json_decref(obj);
}

static void test_is_valid_id(void **state)
{
    assert_true(json_is_valid_id("a", 1));
    assert_false(json_is_valid_id("ab", 1));
    assert_false(json_is_valid_id("", 10));
    assert_true(json_is_valid_id("inst_0123456789abcdef0123456789abcdef", CAPP_MAX_ID_BYTES));
    assert_false(json_is_valid_id("inst_\xc3\xa9", CAPP_MAX_ID_BYTES));
    assert_false(json_is_valid_id("-a b", CAPP_MAX_ID_BYTES));
}

static void test_string_max_len(void **state)
{
    const char *out = NULL;
    struct json_field f[] = {JSON_STRING("api_key_prefix", &out, 8, 1)};
    json_t *obj = object("{\"api_key_prefix\":\"blnk_abc\"}");
    struct json_error err = {0};
    assert_int_equal(json_read_fields(obj, f, 1, &err), 0);
    assert_string_equal(out, "blnk_abc");
    json_decref(obj);
    expect_field_error("{\"api_key_prefix\":\"blnk_abcd\"}", f, 1, CAPP_ETOOBIG, "field_too_long",
                       "'api_key_prefix'");
    /* the limit is in bytes, not characters */
    expect_field_error("{\"api_key_prefix\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", f, 1,
                       CAPP_ETOOBIG, "field_too_long", "'api_key_prefix'");

    /* max_len 0 means unlimited; any text is accepted for a plain string */
    struct json_field any[] = {JSON_STRING("note", &out, 0, 1)};
    obj = object("{\"note\":\"x y \\u00e9 <>\"}");
    assert_int_equal(json_read_fields(obj, any, 1, &err), 0);
    assert_string_equal(out, "x y \xc3\xa9 <>");
    json_decref(obj);
}

static void test_string_array_limits(void **state)
{
    const char *items[4] = {0};
    size_t count = 99;
    struct json_field f[] = {JSON_STRING_ARRAY("granted_permissions", items, &count, 3, 6, 1)};
    json_t *obj = object("{\"granted_permissions\":[\"a:read\",\"b\",\"\"]}");
    struct json_error err = {0};
    assert_int_equal(json_read_fields(obj, f, 1, &err), 0);
    assert_int_equal(count, 3);
    assert_string_equal(items[0], "a:read");
    assert_string_equal(items[1], "b");
    assert_string_equal(items[2], "");
    json_decref(obj);

    obj = object("{\"granted_permissions\":[]}");
    assert_int_equal(json_read_fields(obj, f, 1, &err), 0);
    assert_int_equal(count, 0);
    json_decref(obj);

    items[3] = "sentinel";
    expect_field_error("{\"granted_permissions\":[\"a\",\"b\",\"c\",\"d\"]}", f, 1, CAPP_ETOOBIG,
                       "field_too_long", "'granted_permissions'");
    assert_string_equal(items[3], "sentinel"); /* nothing written past max_items */
    expect_field_error("{\"granted_permissions\":[\"a\",\"b:write\"]}", f, 1, CAPP_ETOOBIG,
                       "field_too_long", "item 1");
    expect_field_error("{\"granted_permissions\":[\"a\",2]}", f, 1, CAPP_EINVAL, "invalid_field",
                       "item 1 must be a string");
    expect_field_error("{\"granted_permissions\":[null]}", f, 1, CAPP_EINVAL, "invalid_field",
                       "'granted_permissions'");
    expect_field_error("{\"granted_permissions\":[[\"a\"]]}", f, 1, CAPP_EINVAL, "invalid_field",
                       "'granted_permissions'");
    expect_field_error("{\"granted_permissions\":\"a\"}", f, 1, CAPP_EINVAL, "invalid_field",
                       "'granted_permissions'");
    expect_field_error("{\"granted_permissions\":{\"0\":\"a\"}}", f, 1, CAPP_EINVAL,
                       "invalid_field", "'granted_permissions'");
}

static void test_wrong_types_name_the_field(void **state)
{
    const char *s = NULL;
    long long n = 0;
    int b = 0;
    struct json_field str[] = {JSON_STRING("note", &s, 0, 1)};
    struct json_field id[] = {JSON_ID("instance_id", &s, 1)};
    struct json_field ts[] = {JSON_TIMESTAMP("uninstalled_at", &s, 1)};
    struct json_field in[] = {JSON_INTEGER("ttl", &n, 1)};
    struct json_field bo[] = {JSON_BOOLEAN("flag", &b, 1)};
    expect_field_error("{\"note\":1}", str, 1, CAPP_EINVAL, "invalid_field", "'note'");
    expect_field_error("{\"note\":[\"x\"]}", str, 1, CAPP_EINVAL, "invalid_field", "'note'");
    expect_field_error("{\"note\":true}", str, 1, CAPP_EINVAL, "invalid_field", "'note'");
    expect_field_error("{\"instance_id\":{}}", id, 1, CAPP_EINVAL, "invalid_field",
                       "'instance_id'");
    expect_field_error("{\"instance_id\":12}", id, 1, CAPP_EINVAL, "invalid_field",
                       "'instance_id'");
    expect_field_error("{\"uninstalled_at\":1700000000}", ts, 1, CAPP_EINVAL, "invalid_field",
                       "'uninstalled_at'");
    expect_field_error("{\"ttl\":\"900\"}", in, 1, CAPP_EINVAL, "invalid_field", "'ttl'");
    expect_field_error("{\"ttl\":1.5}", in, 1, CAPP_EINVAL, "invalid_field", "'ttl'");
    expect_field_error("{\"ttl\":true}", in, 1, CAPP_EINVAL, "invalid_field", "'ttl'");
    expect_field_error("{\"flag\":1}", bo, 1, CAPP_EINVAL, "invalid_field", "'flag'");
    expect_field_error("{\"flag\":\"true\"}", bo, 1, CAPP_EINVAL, "invalid_field", "'flag'");
}

static void test_integer_and_boolean_values(void **state)
{
    long long n = 0;
    int b = -1, c = -1;
    struct json_field f[] = {
        JSON_INTEGER("n", &n, 1),
        JSON_BOOLEAN("b", &b, 1),
        JSON_BOOLEAN("c", &c, 1),
    };
    json_t *obj = object("{\"n\":-9007199254740993,\"b\":true,\"c\":false}");
    struct json_error err = {0};
    assert_int_equal(json_read_fields(obj, f, 3, &err), 0);
    assert_true(n == -9007199254740993LL);
    assert_int_equal(b, 1);
    assert_int_equal(c, 0);
    json_decref(obj);
}

static void test_required_optional_present(void **state)
{
    const char *a = "unset", *b = "unset";
    int a_present = -1, b_present = -1;
    struct json_field f[] = {
        JSON_ID("a", &a, 1),
        JSON_ID("b", &b, 0),
    };
    f[0].present = &a_present;
    f[1].present = &b_present;
    json_t *obj = object("{\"a\":\"x\",\"unknown\":{\"deep\":[1,2]},\"other\":null}");
    struct json_error err = {0};
    assert_int_equal(json_read_fields(obj, f, 2, &err), 0);
    assert_string_equal(a, "x");
    assert_string_equal(b, "unset"); /* optional and absent: untouched */
    assert_int_equal(a_present, 1);
    assert_int_equal(b_present, 0);
    json_decref(obj);

    /* null counts as absent */
    obj = object("{\"a\":\"x\",\"b\":null}");
    assert_int_equal(json_read_fields(obj, f, 2, &err), 0);
    assert_int_equal(b_present, 0);
    json_decref(obj);

    expect_field_error("{\"b\":\"y\"}", f, 2, CAPP_EINVAL, "missing_field", "'a'");
    expect_field_error("{\"a\":null}", f, 2, CAPP_EINVAL, "missing_field", "'a'");
    /* names are case-sensitive */
    expect_field_error("{\"A\":\"x\"}", f, 2, CAPP_EINVAL, "missing_field", "'a'");
}

static void test_first_bad_field_reported(void **state)
{
    const char *a = NULL, *b = NULL;
    struct json_field f[] = {JSON_ID("a", &a, 1), JSON_ID("b", &b, 1)};
    expect_field_error("{\"a\":\"bad id\",\"b\":7}", f, 2, CAPP_EINVAL, "invalid_field", "'a'");
    expect_field_error("{\"a\":\"ok\",\"b\":7}", f, 2, CAPP_EINVAL, "invalid_field", "'b'");
    /* err may be NULL: the code still comes back */
    json_t *obj = object("{\"a\":\"ok\"}");
    assert_int_equal(json_read_fields(obj, f, 2, NULL), CAPP_EINVAL);
    json_decref(obj);
}

static void test_rfc3339(void **state)
{
    static const char *const good[] = {
        "2026-04-21T12:00:00Z", "2026-04-21T12:00:00.1Z", "2026-04-21T12:00:00.123456789Z",
        "2026-04-21t12:00:00z", "1970-01-01T00:00:00Z",   "2016-12-31T23:59:60Z",
        "0001-01-01T00:00:00Z", "2026-12-31T23:59:59Z",
    };
    for (size_t i = 0; i < COUNTOF(good); i++)
        if (!json_is_rfc3339_utc(good[i]))
            fail_msg("refused valid timestamp %s", good[i]);
    static const char *const bad[] = {
        "",
        "2026-04-21",
        "2026-04-21T12:00:00",
        "2026-04-21T12:00:00+00:00",
        "2026-04-21T12:00:00.000+01:00",
        "2026-04-21 12:00:00Z",
        "2026-04-21T12:00Z",
        "2026-4-21T12:00:00Z",
        "2026-00-21T12:00:00Z",
        "2026-13-21T12:00:00Z",
        "2026-04-00T12:00:00Z",
        "2026-04-32T12:00:00Z",
        "2026-04-21T24:00:00Z",
        "2026-04-21T12:60:00Z",
        "2026-04-21T12:00:61Z",
        "2026-04-21T12:00:00.Z",
        "2026-04-21T12:00:00ZZ",
        "2026-04-21T12:00:00Z ",
        " 2026-04-21T12:00:00Z",
        "2026/04/21T12:00:00Z",
        "2026-04-21T12-00-00Z",
        "20a6-04-21T12:00:00Z",
        "2026-04-21T12:00:00,5Z",
        "2026-04-21T12:00:00.12a4Z",
    };
    for (size_t i = 0; i < COUNTOF(bad); i++)
        if (json_is_rfc3339_utc(bad[i]))
            fail_msg("accepted invalid timestamp \"%s\"", bad[i]);
    /* CAPP_MAX_TIMESTAMP_BYTES: fractions are allowed up to the length limit */
    char longest[CAPP_MAX_TIMESTAMP_BYTES + 2];
    memcpy(longest, "2026-04-21T12:00:00.", 20);
    memset(longest + 20, '1', CAPP_MAX_TIMESTAMP_BYTES - 21);
    strcpy(longest + CAPP_MAX_TIMESTAMP_BYTES - 1, "Z");
    assert_int_equal(strlen(longest), CAPP_MAX_TIMESTAMP_BYTES);
    assert_true(json_is_rfc3339_utc(longest));
    memset(longest + 20, '1', CAPP_MAX_TIMESTAMP_BYTES - 20);
    strcpy(longest + CAPP_MAX_TIMESTAMP_BYTES, "Z");
    assert_false(json_is_rfc3339_utc(longest));
}

static void test_timestamp_field(void **state)
{
    const char *at = NULL;
    struct json_field f[] = {JSON_TIMESTAMP("uninstalled_at", &at, 1)};
    json_t *obj = object("{\"uninstalled_at\":\"2026-04-21T12:00:00Z\"}");
    struct json_error err = {0};
    assert_int_equal(json_read_fields(obj, f, 1, &err), 0);
    assert_string_equal(at, "2026-04-21T12:00:00Z");
    json_decref(obj);
    expect_field_error("{\"uninstalled_at\":\"2026-04-21T12:00:00+02:00\"}", f, 1, CAPP_EINVAL,
                       "invalid_field", "'uninstalled_at'");
    expect_field_error("{\"uninstalled_at\":\"yesterday\"}", f, 1, CAPP_EINVAL, "invalid_field",
                       "'uninstalled_at'");
}

static void test_to_string(void **state)
{
    json_t *obj = object("{ \"a\" : [1, \"x\"] }");
    char *text = json_to_string(obj);
    assert_string_equal(text, "{\"a\":[1,\"x\"]}");
    free(text);
    json_decref(obj);
    json_t *s = json_string("<\">");
    text = json_to_string(s);
    assert_string_equal(text, "\"<\\\">\"");
    free(text);
    json_decref(s);
}

/* Reals print as people write them: 0.8, never jansson's default 0.80000000000000004. */
static void test_to_string_reals(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:f, s:f, s:f, s:f, s:f}", "four_eyes_score", 0.8, "third", 1.0 / 3,
                          "one", 1.0, "tiny", 1e-7, "score", 0.85);
    char *text = json_to_string(o);
    assert_string_equal(
        text, "{\"four_eyes_score\":0.8,\"third\":0.333333333333333,\"one\":1.0,\"tiny\":1e-7,"
              "\"score\":0.85}");
    free(text);
    text = json_to_string_flags(o, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text, "{\"four_eyes_score\":0.8,\"one\":1.0,\"score\":0.85,"
                              "\"third\":0.333333333333333,\"tiny\":1e-7}");
    free(text);
    /* a caller's own precision wins */
    text = json_to_string_flags(o, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(3));
    assert_non_null(strstr(text, "\"third\":0.333,"));
    free(text);
    /* indentation keeps the precision */
    text = json_to_string_flags(o, JSON_INDENT(2));
    assert_non_null(strstr(text, "\n  \"four_eyes_score\": 0.8,\n"));
    free(text);
    json_decref(o);
    /* every decimal of up to 15 digits survives the round trip */
    json_t *r = json_real(0.123456789012345);
    text = json_to_string(r);
    assert_string_equal(text, "0.123456789012345");
    free(text);
    json_decref(r);
}

/* The one {"error","code"} body: exactly the two keys, the message formatted, a long one cut
 * at the bound (not refused), and text that is not JSON-safe kept as text. */
static void test_error_body(void **state)
{
    json_t *body = json_error_body("not_found", "no such %s: %d", "thing", 42);
    assert_non_null(body);
    assert_int_equal(json_object_size(body), 2);
    assert_string_equal(json_string_value(json_object_get(body, "error")), "no such thing: 42");
    assert_string_equal(json_string_value(json_object_get(body, "code")), "not_found");
    char *text = json_to_string(body);
    assert_string_equal(text, "{\"error\":\"no such thing: 42\",\"code\":\"not_found\"}");
    free(text);
    json_decref(body);

    char longer[JSON_ERROR_MESSAGE_BYTES + 100];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    body = json_error_body("too_long", "%s\"<>", longer);
    assert_non_null(body);
    assert_int_equal(strlen(json_string_value(json_object_get(body, "error"))),
                     JSON_ERROR_MESSAGE_BYTES - 1);
    json_decref(body);
    body = json_error_body("quoted", "say \"%s\"", "<b>");
    assert_string_equal(json_string_value(json_object_get(body, "error")), "say \"<b>\"");
    json_decref(body);
}

/* ---- piecewise output ---- */

/* x written piecewise equals json_dumps of json_real(x) under the same precision. */
static void expect_real_as_jansson(double x, int precision)
{
    json_t *v = json_real(x);
    assert_non_null(v);
    char *want = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(precision));
    json_decref(v);
    assert_non_null(want);
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(json_append_real(&b, x, precision), 0);
    if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0)
        fail_msg("%.17g at precision %d: wrote [%.*s], jansson [%s]", x, precision, (int)b.len,
                 b.data, want);
    free(want);
    buf_free(&b);
}

static double round4(double x)
{
    return floor(x * 10000.0 + 0.5) / 10000.0;
}

static void test_append_real_as_jansson(void **state)
{
    (void)state;
    static const int precisions[] = {0, 1, 5, 6, 7, 15, 16, 17};
    /* every value rounded to 4 decimals in [-100, 100] (the scores, weights and deltas of a
     * screening detail), at the precisions around the integer fast path's bounds */
    for (long k = -1000000; k <= 1000000; k += 7)
        for (size_t p = 0; p < sizeof precisions / sizeof precisions[0]; p++)
            if (p == 3 || k % 1001 == 0)
                expect_real_as_jansson(round4((double)k / 10000.0), precisions[p]);
    /* reals that are not 4-decimal values: floats widened to double, large, tiny, exponents */
    static const double others[] = {0.0,
                                    -0.0,
                                    1.0,
                                    -1.0,
                                    0.87654321f,
                                    0.1f,
                                    100.0,
                                    99.9999,
                                    100.0001,
                                    123456.0,
                                    1234567.0,
                                    1e21,
                                    1e-5,
                                    5e-5,
                                    -3.5e-7,
                                    1e300,
                                    -2.2250738585072014e-308,
                                    4.9e-324,
                                    0.3,
                                    2.0 / 3.0};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        for (size_t p = 0; p < sizeof precisions / sizeof precisions[0]; p++)
            expect_real_as_jansson(others[i], precisions[p]);
    unsigned long long seed = 88172645463325252ull; /* xorshift: any double bit pattern */
    for (int i = 0; i < 20000; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        double x;
        memcpy(&x, &seed, sizeof x);
        if (isfinite(x))
            expect_real_as_jansson(x, i % 2 ? 6 : 15);
        expect_real_as_jansson((double)(seed % 2000001) / 10000.0 - 100.0, 6);
    }
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(json_append_real(&b, NAN, 6), CAPP_EINVAL);
    assert_int_equal(buf_failed(&b), CAPP_EINVAL);
    buf_reset(&b);
    assert_int_equal(json_append_real(&b, -INFINITY, 6), CAPP_EINVAL);
    buf_free(&b);
}

static void expect_string_as_jansson(const char *s)
{
    json_t *v = json_string(s);
    assert_non_null(v);
    char *want = json_dumps(v, JSON_ENCODE_ANY);
    json_decref(v);
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(json_append_string(&b, s), 0);
    if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0)
        fail_msg("wrote [%.*s], jansson [%s]", (int)b.len, b.data, want);
    free(want);
    buf_free(&b);
}

static void test_append_string_as_jansson(void **state)
{
    (void)state;
    static const char *const strings[] = {
        "",
        "ofac:2674",
        "AL ZAWAHIRI, Dr. Ayman",
        "quote \" backslash \\ slash / end",
        "\"\\",
        "tab\tnewline\nreturn\rback\bfeed\f",
        "\x01\x02\x1f\x7f del",
        "Zürich ⟨Καλημέρα⟩ 金正恩 \xF0\x9F\x98\x80 emoji",
        "<img src=x onerror=alert(1)> Kim Jong Un",
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        expect_string_as_jansson(strings[i]);
    char all[128]; /* every ASCII byte, in runs that start and end with escapes */
    for (int c = 1; c < 128; c++)
        all[c - 1] = (char)c;
    all[127] = 0;
    expect_string_as_jansson(all);
    /* what json_string refuses is refused: stray continuation, overlong, surrogate, > U+10FFFF,
     * truncated sequence */
    static const char *const invalid[] = {"a\x80z",           "\xC0\xAF", "\xED\xA0\x80",
                                          "\xF4\x90\x80\x80", "\xE2\x82", "ok \xFF"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        assert_null(json_string(invalid[i]));
        struct buf b;
        buf_init(&b, 64);
        assert_int_equal(json_append_string(&b, invalid[i]), CAPP_EINVAL);
        buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_to_string_reals),
        cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_body_size_limit),
        cmocka_unit_test(test_empty_body),
        cmocka_unit_test(test_depth_limit_objects),
        cmocka_unit_test(test_depth_limit_arrays),
        cmocka_unit_test(test_brackets_in_strings_do_not_count),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_trailing_whitespace_ok),
        cmocka_unit_test(test_non_object),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_nul_refused),
        cmocka_unit_test(test_id_length_limit),
        cmocka_unit_test(test_id_alphabet),
        cmocka_unit_test(test_is_valid_id),
        cmocka_unit_test(test_string_max_len),
        cmocka_unit_test(test_string_array_limits),
        cmocka_unit_test(test_wrong_types_name_the_field),
        cmocka_unit_test(test_integer_and_boolean_values),
        cmocka_unit_test(test_required_optional_present),
        cmocka_unit_test(test_first_bad_field_reported),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_timestamp_field),
        cmocka_unit_test(test_to_string),
        cmocka_unit_test(test_append_real_as_jansson),
        cmocka_unit_test(test_append_string_as_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
