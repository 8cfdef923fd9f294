/*
 * test_results.c — the results store on its own: storing screened rows and their outbox work,
 * completions, decisions that stick while their basis stays, install scoping, the portal's
 * list filters (and their limits), counts, histogram and runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capp/err.h"
#include "kyc/results_pipeline.h"
#include "kyc/results_portal.h"
#include "testsupport.h"

#define A "instapp_a"
#define B "instapp_b"

static struct results_store *open_store(void)
{
    char dir[256], path[320];
    ts_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/kyc.db", dir);
    struct results_store *rs = NULL;
    assert_int_equal(results_store_open(path, &rs), 0);
    return rs;
}

static struct results_row row(const char *id, const char *status, double score, const char *reasons,
                              const char *basis)
{
    return (struct results_row){.identity_id = id,
                                .fields_hash = "h1",
                                .lists_key = "L1",
                                .display_name = id,
                                .identity_type = "individual",
                                .name_tokens = "ann lee",
                                .status = status,
                                .risk = strcmp(status, "clear") ? "high" : "low",
                                .score = score,
                                .reasons_json = reasons,
                                .detail_json = "{\"matches\":[{\"entry_id\":\"ofac:1\"}],"
                                               "\"findings\":[],\"screening\":\"done\"}",
                                .lists_json = "{\"ofac-sdn\":{\"sha256\":\"x\",\"date\":\"d\"}}",
                                .engine_version = "screen-1.0",
                                .basis = basis,
                                .alert_title = "KYC: possible sanctions match",
                                .alert_text = "why"};
}

static void free_items(struct results_outbox_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        results_outbox_item_clear(&items[i]);
    free(items);
}

static void store(results_db *db, const char *install, const struct results_row *rows, size_t n,
                  int can_alert, struct results_outbox_item **items, size_t *n_items)
{
    struct results_write_options o = {.metadata_key = "kyc", .can_alert = can_alert, .now_ms = 1};
    *items = NULL;
    *n_items = 0;
    assert_int_equal(results_store_rows(db, install, rows, n, &o, items, n_items), 0);
}

static void test_store_outbox_and_payload(void **state)
{
    (void)state;
    struct results_store *rs = open_store();
    results_db *db = results_conn(rs);
    struct results_row rows[] = {row("idt_1", "clear", 0.1, "[]", "b1"),
                                 row("idt_2", "needs_review", 0.9, "[\"sanctions_match\"]", "b2")};
    struct results_outbox_item *items;
    size_t n;
    store(db, A, rows, 2, 1, &items, &n);
    assert_int_equal(n, 2);
    assert_true(items[0].writeback && !items[0].alert_create);
    assert_true(items[1].writeback && items[1].alert_create);
    json_t *payload = json_loads(items[0].payload, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(payload, "kyc_status")), "verified");
    assert_non_null(json_object_get(payload, "check_id"));
    assert_non_null(json_object_get(json_object_get(payload, "lists"), "ofac-sdn"));
    json_decref(payload);
    /* completions */
    struct results_done done[2] = {{.kind = RESULTS_DONE_ALERT_CREATED},
                                   {.kind = RESULTS_DONE_WRITTEN}};
    snprintf(done[0].identity_id, sizeof done[0].identity_id, "idt_2");
    snprintf(done[0].value, sizeof done[0].value, "ano_1");
    snprintf(done[1].identity_id, sizeof done[1].identity_id, "idt_2");
    snprintf(done[1].value, sizeof done[1].value, "%s", "not-the-hash");
    assert_int_equal(results_apply_done(db, A, done, 2), 0);
    json_t *one = NULL;
    assert_int_equal(results_get(db, A, "idt_2", &one), 0);
    assert_string_equal(json_string_value(json_object_get(one, "alert")), "open");
    assert_string_equal(json_string_value(json_object_get(one, "anomaly_id")), "ano_1");
    /* a completion for another payload than the stored one leaves it pending */
    assert_string_equal(json_string_value(json_object_get(one, "writeback")), "pending");
    assert_int_equal(json_array_size(json_object_get(one, "matches")), 1);
    json_decref(one);
    /* another install sees nothing */
    assert_int_equal(results_get(db, B, "idt_2", &one), CAPP_ENOTFOUND);
    /* outbox left over: writebacks pending; the open alert is not asked for again */
    free_items(items, n);
    items = NULL;
    n = 0;
    assert_int_equal(results_outbox_load(db, A, 1, 1, &items, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_false(items[i].alert_create);
    free_items(items, n);
    results_store_close(rs);
}

static void test_decision_sticks_while_basis_stays(void **state)
{
    (void)state;
    struct results_store *rs = open_store();
    results_db *db = results_conn(rs);
    struct results_row r = row("idt_9", "hit", 0.97, "[\"sanctions_match\"]", "basis-1");
    struct results_outbox_item *items;
    size_t n;
    store(db, A, &r, 1, 1, &items, &n);
    free_items(items, n);
    struct results_done d = {.kind = RESULTS_DONE_ALERT_CREATED};
    snprintf(d.identity_id, sizeof d.identity_id, "idt_9");
    snprintf(d.value, sizeof d.value, "ano_9");
    assert_int_equal(results_apply_done(db, A, &d, 1), 0);
    struct results_outbox_item item;
    assert_int_equal(results_apply_decision(db, A, "idt_9", "bogus", "u", 1, 5, &item),
                     CAPP_EINVAL);
    assert_int_equal(results_apply_decision(db, B, "idt_9", "approved", "u", 1, 5, &item),
                     CAPP_ENOTFOUND);
    assert_int_equal(results_apply_decision(db, A, "idt_9", "approved", "user_1", 1, 5, &item), 0);
    assert_true(item.writeback && item.alert_resolve && !item.alert_create);
    assert_string_equal(item.anomaly_id, "ano_9");
    assert_non_null(strstr(item.payload, "\"kyc_status\":\"verified\""));
    results_outbox_item_clear(&item);
    /* the same basis on a re-screen keeps the decision */
    store(db, A, &r, 1, 1, &items, &n);
    assert_non_null(strstr(items[0].payload, "\"status\":\"approved\""));
    free_items(items, n);
    /* a new basis reopens it */
    r.basis = "basis-2";
    store(db, A, &r, 1, 1, &items, &n);
    assert_non_null(strstr(items[0].payload, "\"status\":\"hit\""));
    free_items(items, n);
    results_store_close(rs);
}

static void test_list_filters_counts_histogram(void **state)
{
    (void)state;
    struct results_store *rs = open_store();
    results_db *db = results_conn(rs);
    struct results_row rows[] = {
        row("idt_a", "clear", 0.05, "[]", "x"),
        row("idt_b", "clear", 0.10, "[\"email_invalid\"]", "x"),
        row("idt_c", "needs_review", 0.85, "[\"sanctions_match\"]", "x"),
        row("idt_d", "hit", 0.99, "[\"sanctions_match\",\"minor\"]", "x"),
    };
    struct results_outbox_item *items;
    size_t n;
    store(db, A, rows, 4, 0, &items, &n);
    free_items(items, n);
    store(db, B, rows, 1, 0, &items, &n);
    free_items(items, n);
    json_t *out = NULL;
    const char *why = NULL;
    struct results_filter f = {.reason = "sanctions_match"};
    assert_int_equal(results_list(db, A, &f, &out, &why), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "total")), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(out, "items"), 0), "identity_id")),
                        "idt_d"); /* score descending by default */
    json_decref(out);
    f = (struct results_filter){
        .status = "clear", .sort = "name", .order = "desc", .page_size = 1, .page = 2};
    assert_int_equal(results_list(db, A, &f, &out, &why), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "total")), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(out, "items"), 0), "identity_id")),
                        "idt_a");
    json_decref(out);
    f = (struct results_filter){.name = "_c"}; /* LIKE wildcards are literal */
    assert_int_equal(results_list(db, A, &f, &out, &why), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "total")), 1);
    json_decref(out);
    /* bad filters and limits */
    struct results_filter bad[] = {{.status = "pending"}, {.risk = "extreme"}, {.reason = "DROP"},
                                   {.sort = "id"},        {.order = "up"},     {.page_size = 201},
                                   {.page = -1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(results_list(db, A, &bad[i], &out, &why), CAPP_EINVAL);
        assert_non_null(why);
    }
    char longname[RESULTS_NAME_SEARCH_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    f = (struct results_filter){.name = longname};
    assert_int_equal(results_list(db, A, &f, &out, &why), CAPP_EINVAL);
    assert_int_equal(results_counts(db, A, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "clear")), 2);
    assert_int_equal(json_integer_value(json_object_get(out, "hit")), 1);
    assert_int_equal(json_integer_value(json_object_get(out, "total")), 4);
    json_decref(out);
    assert_int_equal(results_score_histogram(db, A, &out), 0);
    json_t *buckets = json_object_get(out, "buckets");
    assert_int_equal(json_array_size(buckets), RESULTS_HIST_BUCKETS);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(buckets, 19), "count")), 1);
    json_decref(out);
    int64_t run_id = 0;
    assert_int_equal(results_run_begin(db, A, "manual", 1000, &run_id), 0);
    struct results_run run = {.run_id = run_id, .fetched = 4, .finished_at_ms = 2000};
    snprintf(run.state, sizeof run.state, "done");
    assert_int_equal(results_run_update(db, A, &run), 0);
    assert_int_equal(results_runs(db, A, 5, &out), 0);
    assert_int_equal(json_array_size(out), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "fetched")), 4);
    json_decref(out);
    assert_int_equal(results_runs(db, B, 5, &out), 0);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);
    results_store_close(rs);
}

/* The identity's own fields are stored with its result (install-scoped), tokens stay tokens and
 * are listed under "tokenized"; a changed stored status is reported with the outbox item. */
static void test_identity_fields_and_status_change(void **state)
{
    (void)state;
    struct results_store *rs = open_store();
    results_db *db = results_conn(rs);
    json_t *identity = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:{s:b}}}", "identity_id",
        "idt_7", "identity_type", "individual", "first_name", "Ann", "dob", "1980-02-03T00:00:00Z",
        "nationality", "NG", "country", "GB", "street", "1 <Main> St", "city", "Leeds",
        "email_address", "FPT:abc123", "phone_number", "+447700900123", "created_at",
        "2026-01-02T03:04:05Z", "meta_data", "tokenized_fields", "PhoneNumber", 1);
    char *fields = results_identity_fields(identity);
    json_decref(identity);
    assert_non_null(fields);
    assert_null(strstr(fields, "Ann")); /* names are not copied */
    struct results_row r = row("idt_7", "clear", 0.1, "[]", "b1");
    r.identity_json = fields;
    struct results_outbox_item *items;
    size_t n;
    store(db, A, &r, 1, 1, &items, &n);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].status_from, ""); /* first screening: no change recorded */
    assert_string_equal(items[0].status_to, "clear");
    free_items(items, n);
    json_t *out = NULL;
    assert_int_equal(results_get(db, A, "idt_7", &out), 0);
    json_t *id = json_object_get(out, "identity");
    assert_string_equal(json_string_value(json_object_get(id, "dob")), "1980-02-03");
    assert_string_equal(json_string_value(json_object_get(id, "nationality")), "NG");
    assert_string_equal(json_string_value(json_object_get(id, "country")), "GB");
    assert_string_equal(json_string_value(json_object_get(id, "street")), "1 <Main> St");
    assert_string_equal(json_string_value(json_object_get(id, "city")), "Leeds");
    assert_string_equal(json_string_value(json_object_get(id, "identity_type")), "individual");
    assert_string_equal(json_string_value(json_object_get(id, "created_at")),
                        "2026-01-02T03:04:05Z");
    assert_string_equal(json_string_value(json_object_get(id, "email_address")), "FPT:abc123");
    json_t *tok = json_object_get(id, "tokenized");
    assert_int_equal(json_array_size(tok), 2);
    assert_string_equal(json_string_value(json_array_get(tok, 0)), "email_address");
    assert_string_equal(json_string_value(json_array_get(tok, 1)), "phone_number");
    assert_null(json_object_get(id, "first_name"));
    json_decref(out);
    /* another install never sees it */
    assert_int_equal(results_get(db, B, "idt_7", &out), CAPP_ENOTFOUND);
    /* re-screened with another status: the change is reported */
    struct results_row r2 = row("idt_7", "hit", 0.97, "[\"sanctions_match\"]", "b2");
    store(db, A, &r2, 1, 1, &items, &n);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].status_from, "clear");
    assert_string_equal(items[0].status_to, "hit");
    assert_int_equal(strncmp(items[0].check_id, "chk_", 4), 0);
    free_items(items, n);
    /* a row without fields stores {} */
    assert_int_equal(results_get(db, A, "idt_7", &out), 0);
    assert_int_equal(json_object_size(json_object_get(out, "identity")), 0);
    json_decref(out);
    free(fields);
    results_store_close(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_outbox_and_payload),
        cmocka_unit_test(test_decision_sticks_while_basis_stays),
        cmocka_unit_test(test_list_filters_counts_histogram),
        cmocka_unit_test(test_identity_fields_and_status_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
