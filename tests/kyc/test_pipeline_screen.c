/*
 * test_pipeline_screen.c — checking one identity in process (pipeline_check_identity) against
 * a small engine: an OFAC entry from buffers and an OpenSanctions PEP entry (Senzing JSON).
 *
 *   - a candidate whose name alone reached the review floor but whose qualifiers cleared it is
 *     kept in the stored detail ("considered", discounted) and in the audit record, never in
 *     the payload written back to Blnk;
 *   - nationality and address country are screened in their own roles;
 *   - markup stripped from the name is a data-quality finding (name_markup);
 *   - a PEP match is its own reason (pep_match): needs_review, its own alert, never
 *     "sanctions_match";
 *   - `kyc serve --lists PATH@DATE`: the list-change poll watches PATH.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capp/err.h"
#include "kyc/pipeline_internal.h"
#include "kyc/quality.h"
#include "kyc/results_pipeline.h"
#include "kyc/results_portal.h"
#include "kyc/screen/screen.h"
#include "kyc/serve_kyc.h"
#include "testsupport.h"

static const char sdn[] =
    "2676,\"AL ZAWAHIRI, Dr. Ayman\",\"individual\",\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"
    "\"DOB 19 Jun 1951; POB Giza, Egypt; nationality Egypt; Gender Male.\"\r\n";
static const char pep[] =
    "{\"DATA_SOURCE\":\"OS_US_CONGRESS\",\"RECORD_ID\":\"NK-test1\",\"RECORD_TYPE\":\"PERSON\","
    "\"NAMES\":[{\"NAME_TYPE\":\"PRIMARY\",\"NAME_FULL\":\"Jennifer L. McClellan\"}],"
    "\"RISKS\":[{\"TOPIC\":\"role.pep\"}],\"DATES\":[{\"DATE_OF_BIRTH\":\"1972\"}],"
    "\"COUNTRIES\":[{\"NATIONALITY\":\"us\"}]}\n";

static struct screen_engine *engine;

static int setup(void **state)
{
    (void)state;
    if (quality_init(NULL) != 0)
        return -1;
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err;
    if (screen_list_set_load_ofac_buffers(set, sdn, strlen(sdn), "", 0, "", 0, NULL, 0, &err) ||
        screen_list_set_load_senzing_buffer(set, pep, strlen(pep), "pep.json", &err)) {
        fprintf(stderr, "load: %s\n", err.message);
        screen_list_set_free(set);
        return -1;
    }
    struct screen_index *idx = NULL;
    if (screen_index_build(set, &idx) || screen_engine_new(NULL, &engine) ||
        screen_engine_swap(engine, idx))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    screen_engine_free(engine);
    quality_shutdown();
    return 0;
}

/* Checks the identity given as JSON text into out (and its parsed detail into *detail). */
static void check(const char *identity_text, struct pipeline_checked *out, json_t **detail)
{
    json_t *identity = json_loads(identity_text, 0, NULL);
    assert_non_null(identity);
    memset(out, 0, sizeof *out);
    assert_int_equal(pipeline_identity_hash(identity, out->identity_id, out->fields_hash), 0);
    assert_int_equal(pipeline_check_identity(engine, identity, NULL, "2026-01-15", NULL, NULL, out),
                     0);
    json_decref(identity);
    *detail = json_loads(out->detail_json, 0, NULL);
    assert_non_null(*detail);
}

static const json_t *considered_entry(const json_t *list, const char *entry_id)
{
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) if (strcmp(json_string_value(json_object_get(c, "entry_id")),
                                              entry_id) == 0) return c;
    return NULL;
}

static int has_rule(const json_t *match, const char *rule)
{
    size_t i;
    json_t *q;
    json_array_foreach(json_object_get(match, "qualifiers"), i, q)
    {
        if (strcmp(json_string_value(json_object_get(q, "rule")), rule) == 0)
            return 1;
    }
    return 0;
}

static void test_discounted_candidate_kept(void **state)
{
    (void)state;
    struct pipeline_checked c;
    json_t *detail;
    check("{\"identity_id\":\"idt_disc\",\"identity_type\":\"individual\",\"first_name\":\"Ayman\","
          "\"last_name\":\"Al Zawahiri\",\"dob\":\"1990-03-03\",\"nationality\":\"NO\","
          "\"country\":\"NO\",\"gender\":\"male\"}",
          &c, &detail);
    assert_string_equal(c.status, RESULTS_CLEAR);
    assert_int_equal(json_array_size(json_object_get(detail, "matches")), 0);
    const json_t *k = considered_entry(json_object_get(detail, "considered"), "ofac:2676");
    assert_non_null(k);
    assert_true(json_is_true(json_object_get(k, "discounted")));
    assert_true(json_number_value(json_object_get(k, "name_score")) >= 0.8);
    assert_true(json_number_value(json_object_get(k, "score")) < 0.8);
    assert_true(has_rule(k, "nationality_mismatch"));
    assert_true(json_array_size(json_object_get(k, "qualifiers")) >= 2);
    /* the audit record of the screening has it (ids, scores and rules; no names) */
    const json_t *a = considered_entry(json_object_get(c.audit, "considered"), "ofac:2676");
    assert_non_null(a);
    assert_true(json_is_true(json_object_get(a, "discounted")));
    assert_true(json_array_size(json_object_get(a, "qualifiers")) >= 2);
    char *audit_text = json_dumps(c.audit, JSON_COMPACT);
    assert_null(strstr(audit_text, "Zawahiri"));
    assert_null(strstr(audit_text, "ZAWAHIRI"));
    free(audit_text);

    /* stored: the portal's read has it; the payload written back to Blnk has no list detail */
    char dir[256], path[300];
    ts_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/kyc.db", dir);
    struct results_store *rs = NULL;
    assert_int_equal(results_store_open(path, &rs), 0);
    results_db *db = results_conn(rs);
    struct results_row row = {
        .identity_id = c.identity_id,
        .fields_hash = c.fields_hash,
        .lists_key = "",
        .display_name = c.display_name,
        .identity_type = c.identity_type,
        .name_tokens = c.name_tokens,
        .status = c.status,
        .risk = c.risk,
        .score = c.score,
        .reasons_json = c.reasons_json,
        .detail_json = c.detail_json,
        .lists_json = "{}",
        .engine_version = SCREEN_ENGINE_VERSION,
        .basis = c.basis,
        .identity_json = c.identity_json,
    };
    struct results_write_options wo = {.now_ms = 1, .can_alert = 1};
    struct results_outbox_item *items = NULL;
    size_t n_items = 0;
    assert_int_equal(results_store_rows(db, "ins_1", &row, 1, &wo, &items, &n_items), 0);
    assert_int_equal(n_items, 1);
    assert_non_null(items[0].payload);
    assert_null(strstr(items[0].payload, "considered"));
    assert_null(strstr(items[0].payload, "ofac:2676"));
    assert_null(strstr(items[0].payload, "ZAWAHIRI"));
    assert_null(strstr(items[0].payload, "qualifiers"));
    for (size_t i = 0; i < n_items; i++)
        results_outbox_item_clear(&items[i]);
    free(items);
    json_t *got = NULL;
    assert_int_equal(results_get(db, "ins_1", "idt_disc", &got), 0);
    assert_non_null(considered_entry(json_object_get(got, "considered"), "ofac:2676"));
    json_decref(got);
    results_store_close(rs);
    json_decref(detail);
    pipeline_checked_clear(&c);
}

static void test_nationality_and_residence_roles(void **state)
{
    (void)state;
    struct pipeline_checked c;
    json_t *detail;
    /* Egyptian, living in Germany: the nationality matches, the residence costs little */
    check("{\"identity_id\":\"idt_roles\",\"identity_type\":\"individual\",\"first_name\":"
          "\"Ayman\",\"last_name\":\"Al Zawahiri\",\"dob\":\"1951-06-19\",\"nationality\":\"EG\","
          "\"country\":\"DE\",\"gender\":\"male\"}",
          &c, &detail);
    const json_t *k = considered_entry(json_object_get(detail, "considered"), "ofac:2676");
    assert_non_null(k);
    assert_true(has_rule(k, "nationality_match"));
    assert_false(has_rule(k, "country_match"));
    assert_false(has_rule(k, "country_mismatch"));
    assert_string_equal(c.status, RESULTS_HIT);
    json_decref(detail);
    pipeline_checked_clear(&c);
}

static void test_markup_is_a_finding(void **state)
{
    (void)state;
    struct pipeline_checked c;
    json_t *detail;
    check("{\"identity_id\":\"idt_markup\",\"identity_type\":\"individual\",\"first_name\":"
          "\"<img src=x onerror=alert(1)>Maria\",\"last_name\":\"Lopez\",\"dob\":\"1980-01-01\","
          "\"nationality\":\"ES\",\"country\":\"ES\"}",
          &c, &detail);
    assert_string_equal(c.status, RESULTS_CLEAR);
    assert_non_null(strstr(c.reasons_json, "\"name_markup\""));
    size_t i;
    json_t *f;
    int found = 0;
    json_array_foreach(json_object_get(detail, "findings"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "reason")), "name_markup") == 0) {
            found = 1;
            assert_string_equal(json_string_value(json_object_get(f, "field")), "name");
            assert_null(strstr(json_string_value(json_object_get(f, "detail")), "img"));
        }
    }
    assert_true(found);
    json_decref(detail);
    pipeline_checked_clear(&c);
    /* a plain name: no finding */
    check("{\"identity_id\":\"idt_plain\",\"identity_type\":\"individual\",\"first_name\":"
          "\"Maria\",\"last_name\":\"Lopez\",\"dob\":\"1980-01-01\",\"nationality\":\"ES\"}",
          &c, &detail);
    assert_null(strstr(c.reasons_json, "name_markup"));
    json_decref(detail);
    pipeline_checked_clear(&c);
}

static void test_pep_match_is_its_own_reason(void **state)
{
    (void)state;
    struct pipeline_checked c;
    json_t *detail;
    check("{\"identity_id\":\"idt_pep\",\"identity_type\":\"individual\",\"first_name\":"
          "\"Jennifer\",\"last_name\":\"McClellan\",\"dob\":\"1972-05-05\",\"nationality\":\"US\","
          "\"country\":\"US\",\"gender\":\"female\"}",
          &c, &detail);
    assert_string_equal(c.status, RESULTS_NEEDS_REVIEW);
    assert_non_null(strstr(c.reasons_json, "\"pep_match\""));
    assert_null(strstr(c.reasons_json, "sanctions_match"));
    assert_non_null(c.alert_title);
    assert_non_null(strstr(c.alert_title, "politically exposed"));
    assert_non_null(strstr(c.alert_text, "pep_match"));
    assert_null(strstr(c.alert_text, "sanctions_match"));
    assert_null(strstr(c.alert_text, "sanctions list"));
    /* the payload written back carries the reason */
    struct results_row row = {
        .identity_id = c.identity_id,
        .fields_hash = c.fields_hash,
        .status = c.status,
        .risk = c.risk,
        .score = c.score,
        .reasons_json = c.reasons_json,
        .detail_json = c.detail_json,
        .lists_json = "{}",
        .engine_version = SCREEN_ENGINE_VERSION,
        .basis = c.basis,
    };
    char dir[256], path[300];
    ts_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/kyc.db", dir);
    struct results_store *rs = NULL;
    assert_int_equal(results_store_open(path, &rs), 0);
    struct results_write_options wo = {.now_ms = 1};
    struct results_outbox_item *items = NULL;
    size_t n_items = 0;
    assert_int_equal(results_store_rows(results_conn(rs), "ins_1", &row, 1, &wo, &items, &n_items),
                     0);
    json_t *payload = json_loads(items[0].payload, 0, NULL);
    assert_string_equal(json_string_value(json_array_get(json_object_get(payload, "reasons"), 0)),
                        "pep_match");
    assert_string_equal(json_string_value(json_object_get(payload, "status")), "needs_review");
    assert_null(strstr(items[0].payload, "NK-test1"));
    json_decref(payload);
    for (size_t i = 0; i < n_items; i++)
        results_outbox_item_clear(&items[i]);
    free(items);
    results_store_close(rs);
    json_decref(detail);
    pipeline_checked_clear(&c);
}

static void test_dated_lists_path_is_polled(void **state)
{
    (void)state;
    char dir[256], file[300], arg[320], polled[320];
    ts_tmpdir(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/un.xml", dir);
    snprintf(arg, sizeof arg, "%s@2026-02-27", file);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("<CONSOLIDATED_LIST/>", f);
    fclose(f);
    assert_int_equal(kyc_lists_poll_path(arg, polled, sizeof polled), strlen(file));
    assert_string_equal(polled, file);
    const char *lists[] = {arg};
    uint64_t before = kyc_lists_signature(lists, 1);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("<CONSOLIDATED_LIST dateGenerated=\"2026-03-01\"/>", f);
    fclose(f);
    assert_true(kyc_lists_signature(lists, 1) != before);
    /* a path that exists as written is polled as written */
    snprintf(arg, sizeof arg, "%s/odd@2026-02-27", dir);
    f = fopen(arg, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(kyc_lists_poll_path(arg, polled, sizeof polled), strlen(arg));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discounted_candidate_kept),
        cmocka_unit_test(test_nationality_and_residence_roles),
        cmocka_unit_test(test_markup_is_a_finding),
        cmocka_unit_test(test_pep_match_is_its_own_reason),
        cmocka_unit_test(test_dated_lists_path_is_polled),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
