/*
 * test_lifecycle_parse.c — install and uninstall bodies (spec §4, §5, D3', D6): the valid V1
 * and V2 shapes, what is accepted leniently because a refusal would cancel the install or block
 * the uninstall (fields of the other kind, a prefix that is not the key's start, repeated
 * permissions, any RFC 3339 uninstalled_at), and every refusal left with its error code —
 * unknown or empty idempotency prefixes, each missing field, bad permissions and IDs, and
 * malformed JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "capp/assert.h"
#include "capp/err.h"
#include "capp/json.h"
#include "capp/lifecycle.h"
#include "capp/limits.h"

#define INSTALLED_APP_ID "instapp_0123456789abcdef0123456789abcdef"
#define APP_ID           "app_0123456789abcdef0123456789abcdef"
#define ORG_ID           "org_0123456789abcdef0123456789abcdef"
#define INSTANCE_ID      "inst_0123456789abcdef0123456789abcdef"
#define API_KEY          "blnk_TESTKEY0123456789abcdefghijklmnopqrstuvwx"
#define KEY_PREFIX       "blnk_TES"

static json_t *v1_install(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[s,s], s:s}", "installed_app_id",
                     INSTALLED_APP_ID, "app_id", APP_ID, "organization_id", ORG_ID, "instance_id",
                     INSTANCE_ID, "api_key", API_KEY, "api_key_prefix", KEY_PREFIX,
                     "granted_permissions", "data:read", "data:write", "idempotency_key",
                     "install:" INSTALLED_APP_ID);
}

static json_t *v1_uninstall(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "installed_app_id", INSTALLED_APP_ID,
                     "app_id", APP_ID, "organization_id", ORG_ID, "instance_id", INSTANCE_ID,
                     "uninstalled_at", "2026-04-21T12:00:00Z", "idempotency_key",
                     "uninstall:" INSTALLED_APP_ID);
}

/* Serialises obj (consumed) and parses it. */
static int parse_json(json_t *obj, struct lifecycle_parsed *p, struct json_error *err)
{
    char *body = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    assert_non_null(body);
    int rc = lifecycle_parse(body, strlen(body), p, err);
    free(body);
    return rc;
}

static void expect_refused_body(const char *body, size_t len, int rc, const char *code,
                                const char *needle)
{
    struct lifecycle_parsed p;
    struct json_error err = {0};
    int got = lifecycle_parse(body, len, &p, &err);
    if (got != rc)
        fail_msg("body %.200s: rc %d, expected %d (%s: %s)", body, got, rc,
                 err.code ? err.code : "-", err.message);
    assert_null(p.root); /* nothing to free after a refusal */
    assert_non_null(err.code);
    if (strcmp(err.code, code) != 0)
        fail_msg("body %.200s: code %s, expected %s (%s)", body, err.code, code, err.message);
    if (needle && !strstr(err.message, needle))
        fail_msg("message \"%s\" does not mention \"%s\"", err.message, needle);
    lifecycle_parsed_free(&p);
}

static void expect_refused(json_t *obj, int rc, const char *code, const char *needle)
{
    char *body = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    expect_refused_body(body, strlen(body), rc, code, needle);
    free(body);
}

static void test_valid_v1_install(void **state)
{
    struct lifecycle_parsed p;
    struct json_error err = {0};
    assert_int_equal(parse_json(v1_install(), &p, &err), 0);
    const struct store_event *ev = &p.event;
    assert_int_equal(ev->kind, STORE_EVENT_INSTALL);
    assert_string_equal(ev->idempotency_key, "install:" INSTALLED_APP_ID);
    assert_string_equal(ev->installed_app_id, INSTALLED_APP_ID);
    assert_string_equal(ev->app_id, APP_ID);
    assert_string_equal(ev->organization_id, ORG_ID);
    assert_string_equal(ev->instance_id, INSTANCE_ID);
    assert_string_equal(ev->api_key_prefix, KEY_PREFIX);
    assert_string_equal(p.api_key, API_KEY);
    assert_null(ev->sealed_api_key);
    assert_null(ev->uninstalled_at);
    assert_int_equal(ev->permission_count, 2);
    assert_ptr_equal(ev->permissions, p.permissions);
    assert_string_equal(ev->permissions[0], "data:read");
    assert_string_equal(ev->permissions[1], "data:write");
    assert_non_null(p.root);
    lifecycle_parsed_free(&p);
    assert_null(p.root);
    lifecycle_parsed_free(&p); /* twice is harmless */
    lifecycle_parsed_free(NULL);
}

static void test_valid_v2_install(void **state)
{
    json_t *obj = v1_install();
    json_object_del(obj, "organization_id");
    struct lifecycle_parsed p;
    struct json_error err = {0};
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(p.event.kind, STORE_EVENT_INSTALL);
    assert_null(p.event.organization_id);
    assert_string_equal(p.event.installed_app_id, INSTALLED_APP_ID);
    lifecycle_parsed_free(&p);

    /* null is the same as absent */
    obj = v1_install();
    json_object_set_new(obj, "organization_id", json_null());
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_null(p.event.organization_id);
    lifecycle_parsed_free(&p);
}

static void test_valid_uninstall(void **state)
{
    struct lifecycle_parsed p;
    struct json_error err = {0};
    assert_int_equal(parse_json(v1_uninstall(), &p, &err), 0);
    assert_int_equal(p.event.kind, STORE_EVENT_UNINSTALL);
    assert_string_equal(p.event.installed_app_id, INSTALLED_APP_ID);
    assert_string_equal(p.event.organization_id, ORG_ID);
    assert_string_equal(p.event.uninstalled_at, "2026-04-21T12:00:00.000Z"); /* stored form */
    assert_int_equal(p.uninstalled_at_replaced, 0);
    assert_null(p.event.api_key_prefix);
    assert_null(p.api_key);
    assert_int_equal(p.event.permission_count, 0);
    lifecycle_parsed_free(&p);

    json_t *obj = v1_uninstall();
    json_object_del(obj, "uninstalled_at");
    json_object_del(obj, "organization_id");
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(p.event.kind, STORE_EVENT_UNINSTALL);
    assert_null(p.event.uninstalled_at);
    assert_null(p.event.organization_id);
    lifecycle_parsed_free(&p);
}

/* IDs come from the fields, and the key must name the same install (spec D1'): a key for
 * another install could otherwise spend that install's key (issue 9, the uninstall hijack). */
static void test_key_must_name_the_payload_install(void **state)
{
    expect_refused(json_pack("{s:s, s:s, s:s, s:s}", "installed_app_id", "instapp_attacker",
                             "app_id", APP_ID, "instance_id", INSTANCE_ID, "idempotency_key",
                             "uninstall:" INSTALLED_APP_ID),
                   CAPP_EINVAL, "idempotency_key_mismatch", "installed_app_id");
    static const char *const bad[] = {
        "install:instapp_SOMEONE_ELSE", "install:" INSTALLED_APP_ID "x",
        "install:" INSTALLED_APP_ID "_2", "install::" INSTALLED_APP_ID};
    for (size_t i = 0; i < COUNTOF(bad); i++) {
        json_t *obj = v1_install();
        json_object_set_new(obj, "idempotency_key", json_string(bad[i]));
        expect_refused(obj, CAPP_EINVAL, "idempotency_key_mismatch", "idempotency_key");
    }
    /* a suffix after a non-ID character is a new key for the same install (reinstall, D5) */
    static const char *const good[] = {"install:" INSTALLED_APP_ID,
                                       "install:" INSTALLED_APP_ID ":2",
                                       "install:" INSTALLED_APP_ID "#3"};
    for (size_t i = 0; i < COUNTOF(good); i++) {
        json_t *obj = v1_install();
        json_object_set_new(obj, "idempotency_key", json_string(good[i]));
        struct lifecycle_parsed p;
        struct json_error err = {0};
        assert_int_equal(parse_json(obj, &p, &err), 0);
        assert_string_equal(p.event.installed_app_id, INSTALLED_APP_ID);
        assert_string_equal(p.event.idempotency_key, good[i]);
        lifecycle_parsed_free(&p);
    }
}

static void test_kind_only_from_prefix(void **state)
{
    /* a made-up "event" field does not turn an install into an uninstall */
    json_t *obj = v1_install();
    json_object_set_new(obj, "event", json_string("uninstall"));
    json_object_set_new(obj, "type", json_string("app.uninstalled"));
    json_object_set_new(obj, "extra", json_pack("{s:[i,i], s:{s:b}}", "a", 1, 2, "b", "c", 1));
    struct lifecycle_parsed p;
    struct json_error err = {0};
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(p.event.kind, STORE_EVENT_INSTALL);
    lifecycle_parsed_free(&p);
}

static void test_unknown_prefix(void **state)
{
    static const char *const keys[] = {"create:" INSTALLED_APP_ID,
                                       "Install:" INSTALLED_APP_ID,
                                       "installx",
                                       INSTALLED_APP_ID,
                                       "",
                                       "install",
                                       "uninstall",
                                       " install:x",
                                       "reinstall:x"};
    for (size_t i = 0; i < COUNTOF(keys); i++) {
        json_t *obj = v1_install();
        json_object_set_new(obj, "idempotency_key", json_string(keys[i]));
        expect_refused(obj, CAPP_EINVAL, "unknown_event", "idempotency_key");
    }
}

static void test_empty_suffix(void **state)
{
    json_t *obj = v1_install();
    json_object_set_new(obj, "idempotency_key", json_string("install:"));
    expect_refused(obj, CAPP_EINVAL, "unknown_event", NULL);
    obj = v1_uninstall();
    json_object_set_new(obj, "idempotency_key", json_string("uninstall:"));
    expect_refused(obj, CAPP_EINVAL, "unknown_event", NULL);
}

static void test_install_missing_each_required_field(void **state)
{
    static const char *const fields[] = {"idempotency_key",    "installed_app_id", "app_id",
                                         "instance_id",        "api_key",          "api_key_prefix",
                                         "granted_permissions"};
    for (size_t i = 0; i < COUNTOF(fields); i++) {
        json_t *obj = v1_install();
        json_object_del(obj, fields[i]);
        char needle[64];
        snprintf(needle, sizeof needle, "'%s'", fields[i]);
        expect_refused(obj, CAPP_EINVAL, "missing_field", needle);
    }
    /* empty key material counts as missing */
    json_t *obj = v1_install();
    json_object_set_new(obj, "api_key", json_string(""));
    json_object_set_new(obj, "api_key_prefix", json_string(""));
    expect_refused(obj, CAPP_EINVAL, "missing_field", "'api_key'");
    obj = v1_install();
    json_object_set_new(obj, "api_key_prefix", json_string(""));
    expect_refused(obj, CAPP_EINVAL, "missing_field", "'api_key_prefix'");
    obj = v1_install();
    json_object_set_new(obj, "granted_permissions", json_null());
    expect_refused(obj, CAPP_EINVAL, "missing_field", "'granted_permissions'");
}

static void test_uninstall_missing_each_required_field(void **state)
{
    static const char *const fields[] = {"idempotency_key", "installed_app_id", "app_id",
                                         "instance_id"};
    for (size_t i = 0; i < COUNTOF(fields); i++) {
        json_t *obj = v1_uninstall();
        json_object_del(obj, fields[i]);
        char needle[64];
        snprintf(needle, sizeof needle, "'%s'", fields[i]);
        expect_refused(obj, CAPP_EINVAL, "missing_field", needle);
    }
}

/* Display data (spec §4): Blnk's own example sends a prefix that is not the key's start, and a
 * refusal would cancel the install (D3'). Kept as sent, flagged for the log. */
static void test_prefix_not_a_prefix_is_accepted_and_flagged(void **state)
{
    static const char *const prefixes[] = {"blnk_XYZ", "BLNK_TES", "lnk_TEST", KEY_PREFIX "_",
                                           "sk_live_abc"};
    for (size_t i = 0; i < COUNTOF(prefixes); i++) {
        json_t *obj = v1_install();
        json_object_set_new(obj, "api_key_prefix", json_string(prefixes[i]));
        struct lifecycle_parsed p;
        struct json_error err = {0};
        if (parse_json(obj, &p, &err) != 0)
            fail_msg("prefix %s refused: %s %s", prefixes[i], err.code, err.message);
        assert_int_equal(p.event.kind, STORE_EVENT_INSTALL);
        assert_string_equal(p.event.api_key_prefix, prefixes[i]);
        assert_string_equal(p.api_key, API_KEY);
        assert_int_equal(p.api_key_prefix_mismatch, 1);
        lifecycle_parsed_free(&p);
    }
    /* a prefix longer than the key itself, too */
    json_t *obj = v1_install();
    json_object_set_new(obj, "api_key", json_string("blnk_T"));
    struct lifecycle_parsed p;
    struct json_error err = {0};
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(p.api_key_prefix_mismatch, 1);
    lifecycle_parsed_free(&p);
    /* a real prefix, and the whole key as its own prefix, are not flagged */
    assert_int_equal(parse_json(v1_install(), &p, &err), 0);
    assert_int_equal(p.api_key_prefix_mismatch, 0);
    lifecycle_parsed_free(&p);
    obj = v1_install();
    json_object_set_new(obj, "api_key", json_string(KEY_PREFIX));
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(p.api_key_prefix_mismatch, 0);
    lifecycle_parsed_free(&p);
}

/* Only the idempotency_key prefix decides the kind (D3'): what the other kind carries is
 * ignored, whatever its type, instead of cancelling the install or blocking the uninstall. */
static void test_fields_of_the_other_kind_are_ignored(void **state)
{
    struct lifecycle_parsed p;
    struct json_error err = {0};
    json_t *obj = v1_install();
    json_object_set_new(obj, "uninstalled_at", json_string("2026-04-21T12:00:00Z"));
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(p.event.kind, STORE_EVENT_INSTALL);
    assert_null(p.event.uninstalled_at);
    assert_string_equal(p.api_key, API_KEY);
    lifecycle_parsed_free(&p);

    obj = v1_uninstall();
    json_object_set_new(obj, "api_key", json_string(API_KEY));
    json_object_set_new(obj, "api_key_prefix", json_string(KEY_PREFIX));
    json_object_set_new(obj, "granted_permissions", json_pack("[s,s]", "data:read", "data:read"));
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(p.event.kind, STORE_EVENT_UNINSTALL);
    assert_null(p.api_key); /* never handed on */
    assert_int_equal(p.api_key_ignored, 1);
    assert_null(p.event.api_key_prefix);
    assert_null(p.event.sealed_api_key);
    assert_int_equal(p.event.permission_count, 0);
    assert_string_equal(p.event.uninstalled_at, "2026-04-21T12:00:00.000Z");
    lifecycle_parsed_free(&p);

    /* ignored fields are not type-checked either */
    obj = v1_uninstall();
    json_object_set_new(obj, "api_key", json_integer(5));
    json_object_set_new(obj, "granted_permissions", json_string("data:read"));
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(p.event.kind, STORE_EVENT_UNINSTALL);
    lifecycle_parsed_free(&p);
    obj = v1_install();
    json_object_set_new(obj, "uninstalled_at", json_integer(1700000000));
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(p.event.kind, STORE_EVENT_INSTALL);
    lifecycle_parsed_free(&p);

    /* an install-shaped body under an uninstall key is an uninstall, nothing more */
    obj = v1_install();
    json_object_set_new(obj, "idempotency_key", json_string("uninstall:" INSTALLED_APP_ID));
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(p.event.kind, STORE_EVENT_UNINSTALL);
    assert_null(p.api_key);
    assert_int_equal(p.api_key_ignored, 1);
    assert_int_equal(p.event.permission_count, 0);
    assert_null(p.event.uninstalled_at); /* none sent: the store stamps the receipt time */
    assert_int_equal(p.uninstalled_at_replaced, 0);
    lifecycle_parsed_free(&p);
}

/* The key an event carries is wiped when the parse is freed, whatever the kind, and also when
 * the parse fails after reading it. */
static void test_api_key_bytes_are_wiped(void **state)
{
    static const char *const keys[] = {"install:" INSTALLED_APP_ID, "uninstall:" INSTALLED_APP_ID};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *obj = v1_install();
        json_object_set_new(obj, "idempotency_key", json_string(keys[i]));
        char *body = json_dumps(obj, JSON_COMPACT);
        json_decref(obj);
        struct lifecycle_parsed p;
        struct json_error err = {0};
        assert_int_equal(lifecycle_parse(body, strlen(body), &p, &err), 0);
        free(body);
        json_t *root = json_incref(p.root);
        const char *bytes = json_string_value(json_object_get(root, "api_key"));
        assert_string_equal(bytes, API_KEY);
        lifecycle_parsed_free(&p);
        for (size_t j = 0; j < strlen(API_KEY); j++)
            if (bytes[j])
                fail_msg("%s: api_key byte %zu not wiped", keys[i], j);
        json_decref(root);
    }
}

/* Any RFC 3339 time is accepted and stored as UTC (D3'); one that does not parse is dropped,
 * so the store stamps the receipt time, and flagged with the value sent for the log. */
static void test_uninstalled_at_any_rfc3339_as_utc(void **state)
{
    static const struct {
        const char *sent, *stored;
    } good[] = {
        {"2026-04-21T12:00:00Z", "2026-04-21T12:00:00.000Z"},
        {"2026-04-21T12:00:00+00:00", "2026-04-21T12:00:00.000Z"},
        {"2026-04-21T14:00:00+02:00", "2026-04-21T12:00:00.000Z"},
        {"2026-04-21T06:30:00-05:30", "2026-04-21T12:00:00.000Z"},
        {"2026-04-21T12:00:00.5Z", "2026-04-21T12:00:00.500Z"},
        {"2026-04-21T12:00:00.123456789+01:00", "2026-04-21T11:00:00.123Z"},
        {"2026-01-01t00:30:00+01:00", "2025-12-31T23:30:00.000Z"},
        {"2024-02-29T23:00:00-02:00", "2024-03-01T01:00:00.000Z"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        json_t *obj = v1_uninstall();
        json_object_set_new(obj, "uninstalled_at", json_string(good[i].sent));
        struct lifecycle_parsed p;
        struct json_error err = {0};
        if (parse_json(obj, &p, &err) != 0)
            fail_msg("uninstalled_at %s refused: %s", good[i].sent, err.message);
        if (!p.event.uninstalled_at || strcmp(p.event.uninstalled_at, good[i].stored) != 0)
            fail_msg("uninstalled_at %s stored as %s, expected %s", good[i].sent,
                     p.event.uninstalled_at ? p.event.uninstalled_at : "(none)", good[i].stored);
        assert_int_equal(p.uninstalled_at_replaced, 0);
        lifecycle_parsed_free(&p);
    }
    static const char *const bad[] = {
        "yesterday",           "2026-02-30T12:00:00Z",     "2026-04-21",
        "2026-04-21T12:00:00", "2026-04-21T12:00:00+2:00", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *obj = v1_uninstall();
        json_object_set_new(obj, "uninstalled_at", json_string(bad[i]));
        struct lifecycle_parsed p;
        struct json_error err = {0};
        if (parse_json(obj, &p, &err) != 0)
            fail_msg("uninstall with uninstalled_at \"%s\" refused: %s", bad[i], err.message);
        assert_int_equal(p.event.kind, STORE_EVENT_UNINSTALL);
        assert_null(p.event.uninstalled_at);
        assert_int_equal(p.uninstalled_at_replaced, 1);
        assert_string_equal(p.uninstalled_at_received, bad[i]);
        lifecycle_parsed_free(&p);
    }
    json_t *obj = v1_uninstall();
    json_object_set_new(obj, "uninstalled_at", json_integer(1700000000));
    struct lifecycle_parsed p;
    struct json_error err = {0};
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_null(p.event.uninstalled_at);
    assert_int_equal(p.uninstalled_at_replaced, 1);
    assert_null(p.uninstalled_at_received);
    lifecycle_parsed_free(&p);
}

static void test_permissions_type_and_limits(void **state)
{
    json_t *obj = v1_install();
    json_object_set_new(obj, "granted_permissions", json_string("data:read"));
    expect_refused(obj, CAPP_EINVAL, "invalid_field", "granted_permissions");

    obj = v1_install();
    json_object_set_new(obj, "granted_permissions", json_pack("[s,i]", "data:read", 7));
    expect_refused(obj, CAPP_EINVAL, "invalid_field", "granted_permissions");

    obj = v1_install();
    json_object_set_new(obj, "granted_permissions", json_pack("{s:s}", "0", "data:read"));
    expect_refused(obj, CAPP_EINVAL, "invalid_field", "granted_permissions");

    /* exactly CAPP_MAX_PERMISSIONS is fine, one more is not */
    json_t *perms = json_array();
    for (int i = 0; i < CAPP_MAX_PERMISSIONS; i++) {
        char name[32];
        snprintf(name, sizeof name, "scope:%d", i);
        json_array_append_new(perms, json_string(name));
    }
    obj = v1_install();
    json_object_set(obj, "granted_permissions", perms);
    struct lifecycle_parsed p;
    struct json_error err = {0};
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(p.event.permission_count, CAPP_MAX_PERMISSIONS);
    char last[32];
    snprintf(last, sizeof last, "scope:%d", CAPP_MAX_PERMISSIONS - 1);
    assert_string_equal(p.event.permissions[CAPP_MAX_PERMISSIONS - 1], last);
    assert_true(CAPP_MAX_PERMISSIONS >= 64); /* generous: spec D3' */
    lifecycle_parsed_free(&p);
    json_array_append_new(perms, json_string("scope:extra"));
    obj = v1_install();
    json_object_set_new(obj, "granted_permissions", perms);
    expect_refused(obj, CAPP_ETOOBIG, "field_too_long", "granted_permissions");

    /* one permission of CAPP_MAX_PERMISSION_BYTES is fine, one byte more is not */
    char name[CAPP_MAX_PERMISSION_BYTES + 2];
    memset(name, 'p', sizeof name - 1);
    name[CAPP_MAX_PERMISSION_BYTES] = '\0';
    obj = v1_install();
    json_object_set_new(obj, "granted_permissions", json_pack("[s]", name));
    assert_int_equal(parse_json(obj, &p, &err), 0);
    lifecycle_parsed_free(&p);
    name[CAPP_MAX_PERMISSION_BYTES] = 'p';
    name[CAPP_MAX_PERMISSION_BYTES + 1] = '\0';
    obj = v1_install();
    json_object_set_new(obj, "granted_permissions", json_pack("[s]", name));
    expect_refused(obj, CAPP_ETOOBIG, "field_too_long", "granted_permissions");

    /* an empty list is a valid (if useless) grant */
    obj = v1_install();
    json_object_set_new(obj, "granted_permissions", json_array());
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(p.event.permission_count, 0);
    lifecycle_parsed_free(&p);
}

static void test_permissions_duplicates_and_chars(void **state)
{
    /* repeats are dropped, first occurrences kept in order, and counted for the log (D3') */
    json_t *obj = v1_install();
    json_object_set_new(obj, "granted_permissions",
                        json_pack("[s,s,s,s,s]", "data:read", "alerts:write", "data:read",
                                  "alerts:write", "data:read"));
    struct lifecycle_parsed dup;
    struct json_error dup_err = {0};
    assert_int_equal(parse_json(obj, &dup, &dup_err), 0);
    assert_int_equal(dup.event.permission_count, 2);
    assert_string_equal(dup.event.permissions[0], "data:read");
    assert_string_equal(dup.event.permissions[1], "alerts:write");
    assert_int_equal(dup.permissions_repeated, 3);
    lifecycle_parsed_free(&dup);

    static const char *const bad[] = {"",         "data read", "data/read", "data\"read",
                                      "<script>", "data;read", "d\xc3\xa9"};
    for (size_t i = 0; i < COUNTOF(bad); i++) {
        obj = v1_install();
        json_object_set_new(obj, "granted_permissions", json_pack("[s,s]", "data:read", bad[i]));
        expect_refused(obj, CAPP_EINVAL, "invalid_field", "granted_permissions");
    }
    obj = v1_install();
    json_object_set_new(obj, "granted_permissions",
                        json_pack("[s,s,s]", "proxy:identities:write", "data.read-all_x", "*"));
    struct lifecycle_parsed p;
    struct json_error err = {0};
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(p.event.permission_count, 3);
    lifecycle_parsed_free(&p);
}

static void test_invalid_ids(void **state)
{
    static const char *const fields[] = {"installed_app_id", "app_id", "organization_id",
                                         "instance_id"};
    char too_long[CAPP_MAX_ID_BYTES + 2];
    memset(too_long, 'i', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    for (size_t i = 0; i < COUNTOF(fields); i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "'%s'", fields[i]);
        json_t *obj = v1_install();
        json_object_set_new(obj, fields[i], json_string("inst 1"));
        expect_refused(obj, CAPP_EINVAL, "invalid_field", needle);
        obj = v1_uninstall();
        json_object_set_new(obj, fields[i], json_string("../etc"));
        expect_refused(obj, CAPP_EINVAL, "invalid_field", needle);
        obj = v1_install();
        json_object_set_new(obj, fields[i], json_string(""));
        expect_refused(obj, CAPP_EINVAL, "invalid_field", needle);
        obj = v1_install();
        json_object_set_new(obj, fields[i], json_integer(12));
        expect_refused(obj, CAPP_EINVAL, "invalid_field", needle);
        obj = v1_install();
        json_object_set_new(obj, fields[i], json_string(too_long));
        expect_refused(obj, CAPP_ETOOBIG, "field_too_long", needle);
    }
    /* 128 bytes is the longest accepted */
    too_long[CAPP_MAX_ID_BYTES] = '\0';
    json_t *obj = v1_install();
    json_object_set_new(obj, "installed_app_id", json_string(too_long));
    char key[CAPP_MAX_ID_BYTES + 16];
    snprintf(key, sizeof key, "install:%s", too_long); /* the key names the install */
    json_object_set_new(obj, "idempotency_key", json_string(key));
    struct lifecycle_parsed p;
    struct json_error err = {0};
    assert_int_equal(parse_json(obj, &p, &err), 0);
    assert_int_equal(strlen(p.event.installed_app_id), CAPP_MAX_ID_BYTES);
    lifecycle_parsed_free(&p);
}

static void test_string_limits(void **state)
{
    static const struct {
        const char *field;
        size_t max;
    } limits[] = {
        {"idempotency_key", CAPP_MAX_IDEMPOTENCY_KEY_BYTES},
        {"api_key", CAPP_MAX_API_KEY_BYTES},
        {"api_key_prefix", CAPP_MAX_KEY_PREFIX_BYTES},
    };
    for (size_t i = 0; i < COUNTOF(limits); i++) {
        size_t max = limits[i].max;
        char *s = malloc(max + 2);
        /* a key must name the payload's install: fill after "install:<id>:" */
        static const char key_head[] = "install:" INSTALLED_APP_ID ":";
        size_t head = strcmp(limits[i].field, "idempotency_key") == 0 ? sizeof key_head - 1 : 8;
        memcpy(s, key_head, head);
        memset(s + head, 'k', max + 1 - head);
        s[max] = '\0';
        json_t *obj = v1_install();
        json_object_set_new(obj, limits[i].field, json_string(s));
        if (strcmp(limits[i].field, "api_key") == 0)
            json_object_set_new(obj, "api_key_prefix", json_string("install:"));
        if (strcmp(limits[i].field, "api_key_prefix") == 0)
            json_object_set_new(obj, "api_key", json_string(s));
        struct lifecycle_parsed p;
        struct json_error err = {0};
        if (parse_json(obj, &p, &err) != 0)
            fail_msg("%s of %zu bytes refused: %s", limits[i].field, max, err.message);
        lifecycle_parsed_free(&p);
        s[max] = 'k';
        s[max + 1] = '\0';
        obj = v1_install();
        json_object_set_new(obj, limits[i].field, json_string(s));
        expect_refused(obj, CAPP_ETOOBIG, "field_too_long", limits[i].field);
        free(s);
    }
    json_t *obj = v1_install();
    json_object_set_new(obj, "api_key", json_integer(1));
    expect_refused(obj, CAPP_EINVAL, "invalid_field", "'api_key'");
    obj = v1_install();
    json_object_set_new(obj, "idempotency_key", json_pack("[s]", "install:x"));
    expect_refused(obj, CAPP_EINVAL, "invalid_field", "'idempotency_key'");
}

static void test_malformed_bodies(void **state)
{
    expect_refused_body("", 0, CAPP_EPARSE, "empty_body", NULL);
    const char *text = "install:" INSTALLED_APP_ID;
    expect_refused_body(text, strlen(text), CAPP_EPARSE, "malformed_json", NULL);
    const char *arr = "[{\"idempotency_key\":\"install:x\"}]";
    expect_refused_body(arr, strlen(arr), CAPP_EINVAL, "not_an_object", NULL);
    const char *dup = "{\"idempotency_key\":\"uninstall:a\",\"installed_app_id\":\"a\","
                      "\"installed_app_id\":\"b\",\"app_id\":\"x\",\"instance_id\":\"i\"}";
    expect_refused_body(dup, strlen(dup), CAPP_EPARSE, "malformed_json", NULL);
    const char *trunc = "{\"idempotency_key\":\"uninstall:a\",";
    expect_refused_body(trunc, strlen(trunc), CAPP_EPARSE, "malformed_json", NULL);
    const char *nul = "{\"idempotency_key\":\"uninstall:a\\u0000b\",\"installed_app_id\":\"a\","
                      "\"app_id\":\"x\",\"instance_id\":\"i\"}";
    expect_refused_body(nul, strlen(nul), CAPP_EPARSE, "malformed_json", NULL);

    /* a body past CAPP_MAX_BODY_BYTES is refused before parsing */
    json_t *obj = v1_uninstall();
    char *pad = malloc(CAPP_MAX_BODY_BYTES);
    memset(pad, 'x', CAPP_MAX_BODY_BYTES - 1);
    pad[CAPP_MAX_BODY_BYTES - 1] = '\0';
    json_object_set_new(obj, "padding", json_string(pad));
    free(pad);
    expect_refused(obj, CAPP_ETOOBIG, "body_too_large", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_v1_install),
        cmocka_unit_test(test_valid_v2_install),
        cmocka_unit_test(test_valid_uninstall),
        cmocka_unit_test(test_key_must_name_the_payload_install),
        cmocka_unit_test(test_kind_only_from_prefix),
        cmocka_unit_test(test_unknown_prefix),
        cmocka_unit_test(test_empty_suffix),
        cmocka_unit_test(test_install_missing_each_required_field),
        cmocka_unit_test(test_uninstall_missing_each_required_field),
        cmocka_unit_test(test_prefix_not_a_prefix_is_accepted_and_flagged),
        cmocka_unit_test(test_fields_of_the_other_kind_are_ignored),
        cmocka_unit_test(test_api_key_bytes_are_wiped),
        cmocka_unit_test(test_uninstalled_at_any_rfc3339_as_utc),
        cmocka_unit_test(test_permissions_type_and_limits),
        cmocka_unit_test(test_permissions_duplicates_and_chars),
        cmocka_unit_test(test_invalid_ids),
        cmocka_unit_test(test_string_limits),
        cmocka_unit_test(test_malformed_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
