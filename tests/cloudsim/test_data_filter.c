/*
 * test_data_filter.c — the filter engine against an in-memory store: one test per documented
 * operator in its query form (Cloud /data dialect and Core dialect) and its JSON-body form,
 * aliases, reserved parameters, limits, nested metadata paths, and the fixed sort (D17).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capp/db.h"
#include "capp/err.h"
#include "cloudsim/core.h"

#define INST "inst_f"

struct row {
    const char *first, *last, *country, *dob, *created, *meta;
};

/* created_at ascending by index; the list answers newest first */
static const struct row rows[] = {
    {"Ada", "Lovelace", "GB", "1990-01-15", "2025-01-01T10:00:00.000000Z",
     "{\"kyc\":{\"kyc_status\":\"pending\",\"score\":10},\"flag\":true}"},
    {"alan", "Turing", "GB", "1985-06-23", "2025-01-02T10:00:00.000000Z",
     "{\"kyc\":{\"kyc_status\":\"clear\",\"score\":90},\"flag\":false}"},
    {"Grace", "Hopper", "US", "1970-12-09", "2025-01-03T10:00:00.000000Z",
     "{\"kyc\":{\"kyc_status\":\"hit\",\"score\":99,\"lists\":{\"ofac\":\"x\"}}}"},
    {"Chinedu", "Okafor", "NG", "2001-03-01", "2025-01-04T10:00:00.000000Z", NULL},
    {"Mei", "Wang", "CN", "0001-01-01", "2025-01-05T10:00:00.000000Z",
     "{\"kyc\":{\"score\":\"5\"}}"},
};
#define ROWS (sizeof rows / sizeof rows[0])

static sqlite3 *db;

static int setup(void **state)
{
    assert_int_equal(db_open(":memory:", 0, &db), 0);
    assert_int_equal(cs_data_migrate(db), 0);
    for (size_t i = 0; i < ROWS; i++) {
        struct core_identity in = {0};
        char id[CORE_ID_BYTES], want[64];
        snprintf(want, sizeof want, "idt_00000000-0000-4000-8000-00000000000%zu", i);
        in.identity_id = want;
        in.first_name = rows[i].first;
        in.last_name = rows[i].last;
        in.country = rows[i].country;
        in.dob = rows[i].dob;
        in.created_at = rows[i].created;
        json_t *meta = rows[i].meta ? json_loads(rows[i].meta, 0, NULL) : NULL;
        in.meta_data = meta;
        assert_int_equal(core_identity_create(db, INST, &in, id, NULL), 0);
        json_decref(meta);
    }
    /* another instance's row never shows */
    struct core_identity other = {.first_name = "Ada", .country = "GB"};
    char id[CORE_ID_BYTES];
    assert_int_equal(core_identity_create(db, "inst_other", &other, id, NULL), 0);
    return 0;
}

static int teardown(void **state)
{
    db_close(db);
    return 0;
}

/* Runs the query filters (key=value pairs) and returns the matching row indexes as a string
 * of digits, newest first, e.g. "10". */
static void query(enum core_dialect dialect, const char *expect, int expect_rc, ...)
{
    struct core_filter_set set;
    struct core_filter_error err;
    core_filter_set_init(&set);
    va_list ap;
    va_start(ap, expect_rc);
    int rc = 0;
    for (const char *k; rc == 0 && (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        rc = core_filter_add_query(&set, core_resource(CORE_IDENTITIES), dialect, k, v, &err);
    }
    va_end(ap);
    assert_int_equal(rc, expect_rc);
    if (rc) {
        core_filter_set_clear(&set);
        return;
    }
    json_t *data = NULL;
    long long total = -1;
    assert_int_equal(core_list(db, core_resource(CORE_IDENTITIES), INST, &set, 100, 0,
                               CORE_FLAVOUR_DATA, &data, &total),
                     0);
    char got[32] = "";
    size_t i;
    json_t *row;
    json_array_foreach(data, i, row)
    {
        const char *id = json_string_value(json_object_get(row, "identity_id"));
        size_t n = strlen(got);
        got[n] = id[strlen(id) - 1];
        got[n + 1] = '\0';
    }
    assert_string_equal(got, expect);
    assert_int_equal(total, (long long)strlen(expect));
    json_decref(data);
    core_filter_set_clear(&set);
}

#define Q(expect, ...)     query(CORE_DIALECT_CLOUD, expect, 0, __VA_ARGS__, NULL)
#define QCORE(expect, ...) query(CORE_DIALECT_CORE, expect, 0, __VA_ARGS__, NULL)
#define QERR(...)          query(CORE_DIALECT_CLOUD, "", CAPP_EINVAL, __VA_ARGS__, NULL)
#define QCOREERR(...)      query(CORE_DIALECT_CORE, "", CAPP_EINVAL, __VA_ARGS__, NULL)

static void test_no_filter_sorts_newest_first(void **state)
{
    query(CORE_DIALECT_CLOUD, "43210", 0, NULL);
}

static void test_eq_ne(void **state)
{
    Q("10", "country_eq", "GB");
    Q("432", "country_ne", "GB");
    Q("432", "country_neq", "GB"); /* alias */
    Q("432", "country_NEQ", "GB"); /* aliases in any case */
}

static void test_comparisons(void **state)
{
    Q("43", "created_at_gt", "2025-01-03T10:00:00Z");
    Q("432", "created_at_gte", "2025-01-03T10:00:00Z");
    Q("432", "created_at_gteq", "2025-01-03");
    Q("10", "created_at_lt", "2025-01-03T10:00:00Z");
    Q("210", "created_at_lte", "2025-01-03T10:00:00Z");
    Q("210", "created_at_lteq", "2025-01-03T11:00:00+01:00"); /* offsets normalised */
}

static void test_in_and_between(void **state)
{
    Q("3210", "country_in", "GB,US,NG");
    Q("21", "created_at_between", "2025-01-02T00:00:00Z|2025-01-03T23:59:59Z");
    Q("10", "dob_between", "1980-01-01|1995-12-31");
    QERR("created_at_between", "2025-01-02T00:00:00Z");
}

static void test_like_is_case_sensitive_ilike_is_not(void **state)
{
    Q("0", "first_name_like", "A%");
    Q("10", "first_name_ilike", "a%");
    Q("2", "last_name_like", "H_pper");
    Q("", "last_name_like", "h_pper");
}

static void test_isnull_isnotnull(void **state)
{
    Q("3", "meta_data_isnull", "true");
    Q("4210", "meta_data_isnotnull", "anything");
    Q("43210", "first_name_isnotnull", "");
}

static void test_nested_metadata_paths(void **state)
{
    Q("0", "meta_data.kyc.kyc_status_eq", "pending");
    Q("21", "meta_data.kyc.kyc_status_ne", "pending"); /* missing keys never match ne */
}

static void test_metadata_eq_is_type_sensitive(void **state)
{
    Q("4210", "meta_data.kyc.score_gte", "5"); /* numeric cast: the string "5" is 5 too */
    Q("", "meta_data.kyc.score_eq", "50");
    Q("0", "meta_data.kyc.score_eq", "10");  /* integer */
    Q("4", "meta_data.kyc.score_in", "5,7"); /* in compares text */
    Q("", "meta_data.kyc.score_eq", "5x");
    Q("0", "meta_data.flag_eq", "true"); /* boolean, not the string "true" */
    Q("1", "meta_data.flag_eq", "false");
    Q("10", "meta_data.flag_isnotnull", "1");
    Q("21", "meta_data.kyc.score_between", "50|100");
}

static void test_core_dialect_rejects_nested_keys(void **state)
{
    QCOREERR("meta_data.kyc.kyc_status_eq", "pending");
    QCORE("4210", "meta_data.kyc_isnotnull", "1"); /* top-level keys are fine */
}

static void test_reserved_and_unknown_suffixes_are_ignored(void **state)
{
    Q("43210", "page", "2", "pageSize", "1", "per_page", "1", "limit", "1", "offset", "3", "sort",
      "x", "order", "asc", "order_by", "x", "order_dir", "asc", "instance_id", "inst_x", "org_id",
      "y");
    Q("43210", "first_name", "Ada", "country_within", "GB");
}

static void test_invalid_field(void **state)
{
    struct core_filter_set set;
    struct core_filter_error err;
    core_filter_set_init(&set);
    assert_int_equal(core_filter_add_query(&set, core_resource(CORE_IDENTITIES), CORE_DIALECT_CLOUD,
                                           "foo_eq", "1", &err),
                     CAPP_EINVAL);
    assert_int_equal(err.failure, CORE_FILTER_FIELD);
    assert_string_equal(err.message, "invalid field 'foo' for table 'identity'");
    core_filter_set_clear(&set);
}

static void test_limits(void **state)
{
    struct core_filter_set set;
    struct core_filter_error err;
    core_filter_set_init(&set);
    for (int i = 0; i < CORE_MAX_FILTERS; i++)
        assert_int_equal(core_filter_add_query(&set, core_resource(CORE_IDENTITIES),
                                               CORE_DIALECT_CLOUD, "country_ne", "XX", &err),
                         0);
    assert_int_equal(core_filter_add_query(&set, core_resource(CORE_IDENTITIES), CORE_DIALECT_CLOUD,
                                           "country_ne", "XX", &err),
                     CAPP_EINVAL);
    core_filter_set_clear(&set);
    char values[CORE_MAX_IN_VALUES * 3 + 8] = "";
    for (int i = 0; i <= CORE_MAX_IN_VALUES; i++)
        strcat(values, i ? ",ab" : "ab");
    QERR("country_in", values);
    char big[CORE_MAX_VALUE_BYTES + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    QERR("country_eq", big);
}

/* JSON-body form: {"filters":[...]} with value/values and exists/notexists. */
static void body(enum core_dialect dialect, const char *json, const char *expect, int expect_rc)
{
    json_t *filters = json_loads(json, 0, NULL);
    assert_non_null(filters);
    struct core_filter_set set;
    struct core_filter_error err;
    core_filter_set_init(&set);
    int rc = core_filter_add_json(&set, core_resource(CORE_IDENTITIES), dialect, filters, &err);
    json_decref(filters);
    assert_int_equal(rc, expect_rc);
    if (!rc) {
        json_t *data = NULL;
        long long total = 0;
        assert_int_equal(core_list(db, core_resource(CORE_IDENTITIES), INST, &set, 100, 0,
                                   CORE_FLAVOUR_DATA, &data, &total),
                         0);
        assert_int_equal(total, (long long)strlen(expect));
        for (size_t i = 0; i < json_array_size(data); i++) {
            const char *id =
                json_string_value(json_object_get(json_array_get(data, i), "identity_id"));
            assert_int_equal(id[strlen(id) - 1], expect[i]);
        }
        json_decref(data);
    }
    core_filter_set_clear(&set);
}

static void test_json_operators(void **state)
{
    body(CORE_DIALECT_CLOUD, "[{\"field\":\"country\",\"operator\":\"eq\",\"value\":\"GB\"}]", "10",
         0);
    body(CORE_DIALECT_CLOUD, "[{\"field\":\"country\",\"operator\":\"ne\",\"value\":\"GB\"}]",
         "432", 0);
    body(CORE_DIALECT_CLOUD,
         "[{\"field\":\"country\",\"operator\":\"in\",\"values\":[\"US\",\"NG\"]}]", "32", 0);
    body(CORE_DIALECT_CLOUD,
         "[{\"field\":\"created_at\",\"operator\":\"between\",\"values\":[\"2025-01-02\","
         "\"2025-01-04\"]}]",
         "21", 0);
    body(CORE_DIALECT_CLOUD,
         "[{\"field\":\"created_at\",\"operator\":\"gt\",\"value\":"
         "\"2025-01-04T00:00:00Z\"}]",
         "43", 0);
    body(CORE_DIALECT_CLOUD,
         "[{\"field\":\"created_at\",\"operator\":\"gte\",\"value\":"
         "\"2025-01-04T10:00:00Z\"}]",
         "43", 0);
    body(CORE_DIALECT_CLOUD,
         "[{\"field\":\"created_at\",\"operator\":\"lt\",\"value\":"
         "\"2025-01-02T10:00:00Z\"}]",
         "0", 0);
    body(CORE_DIALECT_CLOUD,
         "[{\"field\":\"created_at\",\"operator\":\"lte\",\"value\":"
         "\"2025-01-02T10:00:00Z\"}]",
         "10", 0);
    body(CORE_DIALECT_CLOUD, "[{\"field\":\"first_name\",\"operator\":\"like\",\"value\":\"a%\"}]",
         "1", 0);
    body(CORE_DIALECT_CLOUD, "[{\"field\":\"first_name\",\"operator\":\"ilike\",\"value\":\"A%\"}]",
         "10", 0);
    body(CORE_DIALECT_CLOUD, "[{\"field\":\"meta_data\",\"operator\":\"isnull\"}]", "3", 0);
    body(CORE_DIALECT_CLOUD, "[{\"field\":\"meta_data\",\"operator\":\"isnotnull\"}]", "4210", 0);
    body(CORE_DIALECT_CLOUD, "[{\"field\":\"meta_data.kyc.lists.ofac\",\"operator\":\"exists\"}]",
         "2", 0);
    body(CORE_DIALECT_CLOUD,
         "[{\"field\":\"meta_data.kyc.kyc_status\",\"operator\":\"notexists\"}]", "43", 0);
    /* containment of a partial nested object */
    body(CORE_DIALECT_CLOUD,
         "[{\"field\":\"meta_data.kyc\",\"operator\":\"eq\",\"value\":{\"kyc_status\":\"hit\"}}]",
         "2", 0);
    /* JSON operators are exact lowercase names; aliases are query-only */
    body(CORE_DIALECT_CLOUD, "[{\"field\":\"country\",\"operator\":\"neq\",\"value\":\"GB\"}]", "",
         CAPP_EINVAL);
    body(CORE_DIALECT_CLOUD, "[{\"field\":\"country\",\"operator\":\"EQ\",\"value\":\"GB\"}]", "",
         CAPP_EINVAL);
    /* exists/notexists are Cloud-only */
    body(CORE_DIALECT_CORE, "[{\"field\":\"meta_data\",\"operator\":\"exists\"}]", "", CAPP_EINVAL);
    body(CORE_DIALECT_CLOUD, "[{\"field\":\"country\",\"operator\":\"in\"}]", "", CAPP_EINVAL);
}

static void test_logical_or(void **state)
{
    json_t *filters = json_loads("[{\"field\":\"country\",\"operator\":\"eq\",\"value\":\"US\"},"
                                 "{\"field\":\"country\",\"operator\":\"eq\",\"value\":\"NG\"}]",
                                 0, NULL);
    struct core_filter_set set;
    struct core_filter_error err;
    core_filter_set_init(&set);
    assert_int_equal(core_filter_add_json(&set, core_resource(CORE_IDENTITIES), CORE_DIALECT_CORE,
                                          filters, &err),
                     0);
    set.logical_or = 1;
    long long total = 0;
    json_t *data = NULL;
    assert_int_equal(core_list(db, core_resource(CORE_IDENTITIES), INST, &set, 10, 0,
                               CORE_FLAVOUR_PROXY, &data, &total),
                     0);
    assert_int_equal(total, 2);
    json_decref(data);
    json_decref(filters);
    core_filter_set_clear(&set);
}

static void test_injection_is_inert(void **state)
{
    Q("", "country_eq", "GB' OR '1'='1");
    QERR("meta_data.kyc\"')--_eq", "x");
}

static void test_paging_offsets(void **state)
{
    json_t *data = NULL;
    long long total = 0;
    assert_int_equal(core_list(db, core_resource(CORE_IDENTITIES), INST, NULL, 2, 2,
                               CORE_FLAVOUR_DATA, &data, &total),
                     0);
    assert_int_equal(total, 5);
    assert_int_equal(json_array_size(data), 2);
    const char *id = json_string_value(json_object_get(json_array_get(data, 0), "identity_id"));
    assert_int_equal(id[strlen(id) - 1], '2');
    json_decref(data);
    assert_int_equal(core_list(db, core_resource(CORE_IDENTITIES), INST, NULL, 2, 10,
                               CORE_FLAVOUR_DATA, &data, &total),
                     0);
    assert_int_equal(json_array_size(data), 0);
    json_decref(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_filter_sorts_newest_first),
        cmocka_unit_test(test_eq_ne),
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_in_and_between),
        cmocka_unit_test(test_like_is_case_sensitive_ilike_is_not),
        cmocka_unit_test(test_isnull_isnotnull),
        cmocka_unit_test(test_nested_metadata_paths),
        cmocka_unit_test(test_metadata_eq_is_type_sensitive),
        cmocka_unit_test(test_core_dialect_rejects_nested_keys),
        cmocka_unit_test(test_reserved_and_unknown_suffixes_are_ignored),
        cmocka_unit_test(test_invalid_field),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_json_operators),
        cmocka_unit_test(test_logical_or),
        cmocka_unit_test(test_injection_is_inert),
        cmocka_unit_test(test_paging_offsets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
