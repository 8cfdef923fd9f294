/*
 * test_results.c — the results store on its own: storing screened rows and their outbox work,
 * completions, decisions that stick while their basis stays, install scoping, the portal's
 * list filters (and their limits), counts, histogram and runs, list generations, the change
 * snapshot in pages, run counters added by concurrent writers, and migrations run by two
 * openers at once.
 *
 * Both engines: kyc_results runs it on a SQLite file, kyc_results_pg (this binary with the
 * argument "postgres", CTest fixture pg) on a fresh database of a real PostgreSQL server for
 * each case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "capp/crypto.h"
#include "capp/err.h"
#include "kyc/results_pipeline.h"
#include "kyc/results_portal.h"
#include "capp/sql.h"
#include "testsupport.h"
#include "engine_kit.h"

#define A "instapp_a"
#define B "instapp_b"

/* A fresh, empty database for the case name (a SQLite file or a PostgreSQL database). */
static struct results_store *open_store_named(const char *name)
{
    char target[700];
    engine_kit_fresh(name, target, sizeof target);
    struct results_store *rs = NULL;
    assert_int_equal(results_store_open(target, &rs), 0);
    assert_int_equal(sql_engine_of(results_conn(rs)),
                     engine_kit_postgres() ? SQL_POSTGRES : SQL_SQLITE);
    return rs;
}
#define open_store() open_store_named(__func__)

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

/* Buckets are floor(score × 20) with the top one closed, on both engines (PostgreSQL's CAST
 * rounds: 0.99 would land in a 21st bucket); removed identities are not counted. */
static void test_histogram_bucket_edges(void **state)
{
    (void)state;
    struct results_store *rs = open_store();
    results_db *db = results_conn(rs);
    struct results_row rows[] = {
        row("idt_0", "clear", 0.0, "[]", "x"),        row("idt_1", "clear", 0.049, "[]", "x"),
        row("idt_2", "clear", 0.05, "[]", "x"),       row("idt_3", "hit", 0.99, "[]", "x"),
        row("idt_4", "hit", 0.999, "[]", "x"),        row("idt_5", "hit", 1.0, "[]", "x"),
        row("idt_6", "needs_review", 0.5, "[]", "x"),
    };
    struct results_outbox_item *items;
    size_t n;
    store(db, A, rows, COUNTOF(rows), 0, &items, &n);
    free_items(items, n);
    char status[RESULTS_STATUS_CAP];
    struct results_outbox_item item;
    assert_int_equal(results_mark_removed(db, A, "idt_6", 9, status, sizeof status, &item), 0);
    assert_string_equal(status, "needs_review");
    json_t *out = NULL;
    assert_int_equal(results_score_histogram(db, A, &out), 0);
    json_t *buckets = json_object_get(out, "buckets");
    assert_int_equal(json_array_size(buckets), RESULTS_HIST_BUCKETS);
    long long want[RESULTS_HIST_BUCKETS] = {[0] = 2, [1] = 1, [19] = 3};
    for (size_t b = 0; b < RESULTS_HIST_BUCKETS; b++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(buckets, b), "count")),
                         want[b]);
    json_decref(out);
    results_store_close(rs);
}

/* The name search ignores case on both engines (PostgreSQL's LIKE does not) and takes % and _
 * literally; counts, outbox counts and a removed identity. */
static void test_name_search_counts_and_removed(void **state)
{
    (void)state;
    struct results_store *rs = open_store();
    results_db *db = results_conn(rs);
    struct results_row rows[] = {row("idt_a", "clear", 0.1, "[]", "x"),
                                 row("idt_b", "hit", 0.95, "[\"sanctions_match\"]", "x"),
                                 row("idt_c", "needs_review", 0.8, "[\"sanctions_match\"]", "x")};
    rows[0].display_name = "Ann LEE";
    rows[1].display_name = "Bob 100% Stone";
    rows[2].display_name = "ann_lee";
    struct results_outbox_item *items;
    size_t n;
    store(db, A, rows, COUNTOF(rows), 1, &items, &n);
    free_items(items, n);
    json_t *out = NULL;
    const char *why = NULL;
    struct results_filter f = {.name = "aNN lee"};
    assert_int_equal(results_list(db, A, &f, &out, &why), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "total")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(out, "items"), 0), "identity_id")),
                        "idt_a");
    json_decref(out);
    f = (struct results_filter){.name = "100%"};
    assert_int_equal(results_list(db, A, &f, &out, &why), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "total")), 1);
    json_decref(out);
    /* the hit's alert is 'creating' (intent stored), the writebacks pending */
    assert_int_equal(results_outbox_counts(db, A, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "writeback_pending")), 3);
    assert_int_equal(json_integer_value(json_object_get(out, "alerts_open")), 0);
    json_decref(out);
    struct results_done d[] = {
        {.kind = RESULTS_DONE_ALERT_CREATED, .identity_id = "idt_b", .value = "ano_b"},
        {.kind = RESULTS_DONE_ALERT_UNCERTAIN, .identity_id = "idt_c", .value = "timeout"}};
    assert_int_equal(results_apply_done(db, A, d, COUNTOF(d)), 0);
    char status[RESULTS_STATUS_CAP];
    struct results_outbox_item item;
    assert_int_equal(results_mark_removed(db, A, "idt_b", 7, status, sizeof status, &item), 0);
    assert_string_equal(status, "hit");
    assert_true(item.alert_resolve);
    assert_string_equal(item.anomaly_id, "ano_b");
    assert_int_equal(results_mark_removed(db, A, "idt_b", 8, status, sizeof status, &item),
                     CAPP_ENOTFOUND); /* already removed */
    assert_int_equal(results_mark_removed(db, B, "idt_a", 8, status, sizeof status, &item),
                     CAPP_ENOTFOUND); /* another install's */
    assert_int_equal(results_counts(db, A, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "hit")), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "removed")), 1);
    assert_int_equal(json_integer_value(json_object_get(out, "total")), 2);
    json_decref(out);
    assert_int_equal(results_outbox_counts(db, A, &out), 0);
    /* the removed identity's write-back is dropped; its alert is being resolved */
    assert_int_equal(json_integer_value(json_object_get(out, "writeback_pending")), 2);
    assert_int_equal(json_integer_value(json_object_get(out, "alerts_uncertain")), 1);
    json_decref(out);
    /* uncertain alerts: listed, one adopted, the rest asked for again */
    char ids[4][STORE_ID_CAP];
    size_t n_ids = 0;
    assert_int_equal(results_uncertain_alerts(db, A, ids, 4, &n_ids), 0);
    assert_int_equal(n_ids, 1);
    assert_string_equal(ids[0], "idt_c");
    assert_int_equal(results_alerts_not_found(db, A, (const char(*)[STORE_ID_CAP])ids, n_ids), 0);
    assert_int_equal(results_get(db, A, "idt_c", &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "alert")), "wanted");
    json_decref(out);
    assert_int_equal(results_forget_snapshot(db, A, "idt_c"), 0);
    assert_int_equal(results_forget_snapshot(db, B, "idt_c"), CAPP_ENOTFOUND);
    results_store_close(rs);
}

/* List generations: duplicate entry ids keep the first, a new generation replaces the entries,
 * saving a key again updates its link; list loads are claimed once per install. */
static void test_list_generations_and_loads(void **state)
{
    (void)state;
    struct results_store *rs = open_store();
    results_db *db = results_conn(rs);
    const char *ids[] = {"ofac:1", "ofac:2", "ofac:1"};
    const char *hashes[] = {"h1", "h2", "h1-again"};
    const char *tokens[] = {"ann lee", "bob stone", "x"};
    assert_int_equal(results_list_generation_save(db, "K1", "", "", ids, hashes, tokens, 3), 0);
    char hash[RESULTS_HASH_CAP];
    assert_int_equal(results_list_entry_hash(db, "ofac:1", hash), 0);
    assert_string_equal(hash, "h1");
    const char *ids2[] = {"un:9"};
    const char *hashes2[] = {"h9"};
    const char *tokens2[] = {"carl"};
    assert_int_equal(
        results_list_generation_save(db, "K2", "K1", "ann lee", ids2, hashes2, tokens2, 1), 0);
    assert_int_equal(results_list_entry_hash(db, "ofac:1", hash), CAPP_ENOTFOUND);
    assert_int_equal(results_list_entry_hash(db, "un:9", hash), 0);
    assert_string_equal(hash, "h9");
    char previous[RESULTS_HASH_CAP];
    char *changed = NULL;
    assert_int_equal(results_list_generation_get(db, "K2", previous, sizeof previous, &changed), 0);
    assert_string_equal(previous, "K1");
    assert_string_equal(changed, "ann lee");
    free(changed);
    assert_int_equal(results_list_generation_save(db, "K2", "K0", "bob", ids2, hashes2, tokens2, 1),
                     0);
    assert_int_equal(results_list_generation_get(db, "K2", previous, sizeof previous, &changed), 0);
    assert_string_equal(previous, "K0");
    assert_string_equal(changed, "bob");
    free(changed);
    assert_int_equal(results_list_generation_get(db, "K9", previous, sizeof previous, &changed),
                     CAPP_ENOTFOUND);
    assert_int_equal(results_list_load_claim(db, A, "K2", 1), 1);
    assert_int_equal(results_list_load_claim(db, A, "K2", 2), 0);
    assert_int_equal(results_list_load_claim(db, B, "K2", 3), 1);
    results_store_close(rs);
}

struct snap_seen {
    size_t n, removed;
    char last[STORE_ID_CAP];
    int ordered;
};

static int snap_count(void *ctx, const char *identity_id, const struct results_snapshot_entry *e,
                      const char *tokens)
{
    struct snap_seen *s = ctx;
    if (s->n && strcmp(s->last, identity_id) >= 0)
        s->ordered = 0;
    snprintf(s->last, sizeof s->last, "%s", identity_id);
    s->n++;
    s->removed += (size_t)e->removed;
    assert_string_equal(e->fields_hash, "h1");
    assert_string_equal(tokens, "ann lee");
    return 0;
}

/* The change snapshot crosses page boundaries: every row once, in id order, another install's
 * rows never. */
static void test_snapshot_pages(void **state)
{
    (void)state;
    struct results_store *rs = open_store();
    results_db *db = results_conn(rs);
    enum { ROWS = 2 * RESULTS_SNAPSHOT_PAGE + 3, BATCH = 500 };
    static char names[ROWS][16];
    static struct results_row rows[ROWS];
    for (size_t i = 0; i < ROWS; i++) {
        snprintf(names[i], sizeof names[i], "idt_%05zu", (size_t)(ROWS - i)); /* any order in */
        rows[i] = row(names[i], "clear", 0.1, "[]", "x");
    }
    for (size_t i = 0; i < ROWS; i += BATCH) {
        struct results_outbox_item *items;
        size_t n;
        store(db, A, rows + i, i + BATCH <= ROWS ? BATCH : ROWS - i, 0, &items, &n);
        free_items(items, n);
    }
    struct results_outbox_item *items;
    size_t n;
    store(db, B, rows, 1, 0, &items, &n);
    free_items(items, n);
    char status[RESULTS_STATUS_CAP];
    struct results_outbox_item item;
    assert_int_equal(results_mark_removed(db, A, "idt_02001", 5, status, sizeof status, &item), 0);
    struct snap_seen seen = {.ordered = 1};
    assert_int_equal(results_snapshot_each(db, A, snap_count, &seen), 0);
    assert_int_equal(seen.n, ROWS);
    assert_int_equal(seen.removed, 1);
    assert_true(seen.ordered);
    results_store_close(rs);
}

struct adder {
    struct results_store *rs;
    int64_t run_id;
    int rounds, failures;
};

static void *add_counts(void *arg)
{
    struct adder *a = arg;
    results_db *db = NULL;
    if (results_conn_open(a->rs, &db) != 0) {
        a->failures = a->rounds;
        return NULL;
    }
    struct results_run delta = {.fetched = 1, .screened = 2, .write_ms = 3};
    for (int i = 0; i < a->rounds; i++)
        if (results_run_add(db, A, a->run_id, &delta) != 0)
            a->failures++;
    results_conn_close(db);
    return NULL;
}

/* Writers on their own connections add to one run's counters at once: no count is lost. */
static void test_run_counters_added_concurrently(void **state)
{
    (void)state;
    struct results_store *rs = open_store();
    results_db *db = results_conn(rs);
    int64_t run_id = 0;
    assert_int_equal(results_run_begin(db, A, "manual", 1000, &run_id), 0);
    enum { WRITERS = 4, ROUNDS = 100 };
    struct adder adders[WRITERS];
    pthread_t threads[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        adders[i] = (struct adder){.rs = rs, .run_id = run_id, .rounds = ROUNDS};
        assert_int_equal(pthread_create(&threads[i], NULL, add_counts, &adders[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(adders[i].failures, 0);
    }
    struct results_run delta = {.errors = 1};
    assert_int_equal(results_run_add(db, B, run_id, &delta), CAPP_ENOTFOUND);
    json_t *out = NULL;
    assert_int_equal(results_runs(db, A, 5, &out), 0);
    json_t *run = json_array_get(out, 0);
    assert_int_equal(json_integer_value(json_object_get(run, "fetched")), WRITERS * ROUNDS);
    assert_int_equal(json_integer_value(json_object_get(run, "screened")), 2 * WRITERS * ROUNDS);
    assert_int_equal(json_integer_value(json_object_get(run, "write_ms")), 3 * WRITERS * ROUNDS);
    assert_int_equal(json_integer_value(json_object_get(run, "errors")), 0);
    assert_string_equal(json_string_value(json_object_get(run, "state")), "running");
    assert_string_equal(json_string_value(json_object_get(run, "trigger")), "manual");
    assert_true(json_is_null(json_object_get(run, "finished_at")));
    json_decref(out);
    results_store_close(rs);
}

struct decider {
    struct results_store *rs;
    struct results_outbox_item item;
    int rc;
};

static void *decide_approved(void *arg)
{
    struct decider *d = arg;
    results_db *db = NULL;
    d->rc = results_conn_open(d->rs, &db);
    if (d->rc == 0)
        d->rc = results_apply_decision(db, A, "idt_1", "approved", "user_1", 1, 50, &d->item);
    results_conn_close(db);
    return NULL;
}

/* A reviewer's decision made while a batch re-screening the same identity is still open on
 * another connection is built on the batch's row (it waits for it), as if they had run one
 * after the other: the alert intent the batch committed survives, and the payload carries the
 * new screening's check. */
static void test_decision_waits_for_open_batch(void **state)
{
    (void)state;
    struct results_store *rs = open_store();
    results_db *db = results_conn(rs);
    struct results_row r = row("idt_1", "clear", 0.1, "[]", "b1");
    struct results_outbox_item *items;
    size_t n;
    store(db, A, &r, 1, 1, &items, &n);
    free_items(items, n);
    /* the batch: a new basis makes it a hit, whose alert intent is stored ('creating') */
    assert_int_equal(results_begin(db), 0);
    r = row("idt_1", "hit", 0.97, "[\"sanctions_match\"]", "b2");
    store(db, A, &r, 1, 1, &items, &n);
    assert_true(items[0].alert_create);
    char check_id[40];
    snprintf(check_id, sizeof check_id, "%s", items[0].check_id);
    free_items(items, n);
    struct decider d = {.rs = rs};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, decide_approved, &d), 0);
    ts_sleep_ms(300); /* the decision reads while the batch is open */
    assert_int_equal(results_commit(db), 0);
    pthread_join(thread, NULL);
    assert_int_equal(d.rc, 0);
    assert_non_null(strstr(d.item.payload, check_id));
    assert_false(d.item.alert_create);
    results_outbox_item_clear(&d.item);
    json_t *out = NULL;
    assert_int_equal(results_get(db, A, "idt_1", &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "status")), "approved");
    assert_string_equal(json_string_value(json_object_get(out, "alert")), "creating");
    assert_string_equal(json_string_value(json_object_get(out, "check_id")), check_id);
    json_decref(out);
    results_store_close(rs);
}

struct screener {
    struct results_store *rs;
    int rc;
};

static void *screen_again(void *arg)
{
    struct screener *s = arg;
    results_db *db = NULL;
    s->rc = results_conn_open(s->rs, &db);
    struct results_row r = row("idt_1", "hit", 0.97, "[\"sanctions_match\"]", "b1");
    struct results_write_options o = {.metadata_key = "kyc", .can_alert = 1, .now_ms = 60};
    struct results_outbox_item *items = NULL;
    size_t n = 0;
    if (s->rc == 0)
        s->rc = results_store_rows(db, A, &r, 1, &o, &items, &n);
    free_items(items, n);
    results_conn_close(db);
    return NULL;
}

/* A batch storing a screening while another connection's transaction has just changed the
 * row (here: marked the identity removed, its open alert now 'resolving') compares with that
 * change once it commits, never with the row as it was before: the resolve intent survives. */
static void test_batch_waits_for_open_change(void **state)
{
    (void)state;
    struct results_store *rs = open_store();
    results_db *db = results_conn(rs);
    struct results_row r = row("idt_1", "hit", 0.97, "[\"sanctions_match\"]", "b1");
    struct results_outbox_item *items;
    size_t n;
    store(db, A, &r, 1, 1, &items, &n);
    free_items(items, n);
    struct results_done d = {
        .kind = RESULTS_DONE_ALERT_CREATED, .identity_id = "idt_1", .value = "ano_1"};
    assert_int_equal(results_apply_done(db, A, &d, 1), 0);
    assert_int_equal(results_begin(db), 0);
    char status[RESULTS_STATUS_CAP];
    struct results_outbox_item item;
    assert_int_equal(results_mark_removed(db, A, "idt_1", 40, status, sizeof status, &item), 0);
    assert_true(item.alert_resolve);
    struct screener s = {.rs = rs};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, screen_again, &s), 0);
    ts_sleep_ms(300); /* the batch reads while the removal is open */
    assert_int_equal(results_commit(db), 0);
    pthread_join(thread, NULL);
    assert_int_equal(s.rc, 0);
    json_t *out = NULL;
    assert_int_equal(results_get(db, A, "idt_1", &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "alert")), "resolving");
    assert_string_equal(json_string_value(json_object_get(out, "anomaly_id")), "ano_1");
    json_decref(out);
    results_store_close(rs);
}

/* The outbox work of an item, as text, to compare two ways of storing the same rows. */
static void item_text(const struct results_outbox_item *it, char *out, size_t cap)
{
    snprintf(out, cap, "%s wb=%d create=%d resolve=%d ano=%s from=%s to=%s title=%s text=%s",
             it->identity_id, it->writeback, it->alert_create, it->alert_resolve, it->anomaly_id,
             it->status_from, it->status_to, it->alert_title ? it->alert_title : "-",
             it->alert_text ? it->alert_text : "-");
}

/* The stored row without what differs between two screenings of it (a new random check_id). */
static char *stored_text(results_db *db, const char *install, const char *id)
{
    json_t *o = NULL;
    assert_int_equal(results_get(db, install, id, &o), 0);
    json_object_del(o, "check_id");
    char *text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(o);
    return text;
}

/* Rows stored and completions applied as whole batches (PostgreSQL: one statement each, see
 * results_pipeline.c) end exactly as the same work done one row at a time: decisions kept or
 * reopened, alert intents, status changes, write-backs matched on their payload hash, and a
 * batch naming an identity twice. Install A takes batches, B one row at a time. */
static void test_batch_same_as_one_by_one(void **state)
{
    (void)state;
    struct results_store *rs = open_store();
    results_db *db = results_conn(rs);
    const char *const installs[] = {A, B};
    struct results_row first[] = {
        row("idt_1", "hit", 0.97, "[\"sanctions_match\"]", "b1"),
        row("idt_2", "clear", 0.1, "[]", "b2"),
        row("idt_3", "needs_review", 0.8, "[\"sanctions_match\"]", "b3"),
        row("idt_4", "hit", 0.95, "[\"sanctions_match\"]", "b4"),
    };
    struct results_row again[] = {
        row("idt_1", "hit", 0.97, "[\"sanctions_match\"]", "b1"), /* decision kept */
        row("idt_3", "clear", 0.1, "[]", "b3x"),                  /* open alert: resolve */
        row("idt_4", "needs_review", 0.7, "[\"bad \\\"data\\\"\"]", "b4x"), /* reopened */
        row("idt_5", "needs_review", 0.6, "[\"sanctions_match\"]", "b5"),   /* new */
        row("idt_2", "hit", 0.99, "[\"sanctions_match\"]", "b2x"),
    };
    again[2].display_name = "Zoë \"Z\" O'Neil, {x} \\ y"; /* quotes, braces, commas */
    /* a batch naming an identity twice: the second sees the first */
    struct results_row twice[] = {
        row("idt_5", "clear", 0.2, "[]", "b5y"),
        row("idt_6", "hit", 0.9, "[\"sanctions_match\"]", "b6"),
        row("idt_5", "hit", 0.9, "[\"sanctions_match\"]", "b5z"),
    };
    char texts[2][COUNTOF(again) + COUNTOF(twice)][512];
    for (int k = 0; k < 2; k++) {
        const char *in = installs[k];
        struct results_outbox_item *items;
        size_t n;
        store(db, in, first, COUNTOF(first), 1, &items, &n);
        assert_int_equal(n, COUNTOF(first));
        /* idt_1 twice: its write-back, then its alert (applied in that order) */
        struct results_done done[4] = {
            {.kind = RESULTS_DONE_WRITTEN, .identity_id = "idt_1"},
            {.kind = RESULTS_DONE_ALERT_CREATED, .identity_id = "idt_1", .value = "ano_1"},
            {.kind = RESULTS_DONE_ALERT_CREATED, .identity_id = "idt_3", .value = "ano_3"},
            {.kind = RESULTS_DONE_WRITTEN, .identity_id = "idt_2"},
        };
        crypto_sha256_hex(items[0].payload, strlen(items[0].payload), done[0].value);
        crypto_sha256_hex(items[1].payload, strlen(items[1].payload), done[3].value);
        free_items(items, n);
        if (k == 0) {
            assert_int_equal(results_apply_done(db, in, done, COUNTOF(done)), 0);
            json_t *o = NULL;
            assert_int_equal(results_get(db, in, "idt_1", &o), 0);
            assert_string_equal(json_string_value(json_object_get(o, "writeback")), "done");
            assert_string_equal(json_string_value(json_object_get(o, "alert")), "open");
            json_decref(o);
        } else {
            for (size_t i = 0; i < COUNTOF(done); i++)
                assert_int_equal(results_apply_done(db, in, &done[i], 1), 0);
        }
        struct results_outbox_item item;
        assert_int_equal(results_apply_decision(db, in, "idt_1", "approved", "user_1", 1, 5, &item),
                         0);
        results_outbox_item_clear(&item);
        struct results_outbox_item *all = NULL;
        size_t n_all = 0;
        struct results_write_options o = {.metadata_key = "kyc", .can_alert = 1, .now_ms = 1};
        if (k == 0) {
            assert_int_equal(results_store_rows(db, in, again, COUNTOF(again), &o, &all, &n_all),
                             0);
            assert_int_equal(results_store_rows(db, in, twice, COUNTOF(twice), &o, &all, &n_all),
                             0);
        } else {
            for (size_t i = 0; i < COUNTOF(again); i++)
                assert_int_equal(results_store_rows(db, in, &again[i], 1, &o, &all, &n_all), 0);
            for (size_t i = 0; i < COUNTOF(twice); i++)
                assert_int_equal(results_store_rows(db, in, &twice[i], 1, &o, &all, &n_all), 0);
        }
        assert_int_equal(n_all, COUNTOF(again) + COUNTOF(twice));
        for (size_t i = 0; i < n_all; i++)
            item_text(&all[i], texts[k][i], sizeof texts[k][i]);
        free_items(all, n_all);
        /* every other kind of completion, in one group (A) or one by one (B) */
        struct results_done more[] = {
            {.kind = RESULTS_DONE_WRITE_FAILED, .identity_id = "idt_4", .value = "http 500"},
            {.kind = RESULTS_DONE_ALERT_UNCERTAIN, .identity_id = "idt_2", .value = "timeout"},
            {.kind = RESULTS_DONE_ALERT_FAILED, .identity_id = "idt_6", .value = "http 403"},
            {.kind = RESULTS_DONE_ALERT_RESOLVED, .identity_id = "idt_3", .value = "ano_3"},
            {.kind = RESULTS_DONE_ALERT_WANTED, .identity_id = "idt_5", .value = "paused"},
        };
        if (k == 0)
            assert_int_equal(results_apply_done(db, in, more, COUNTOF(more)), 0);
        else
            for (size_t i = 0; i < COUNTOF(more); i++)
                assert_int_equal(results_apply_done(db, in, &more[i], 1), 0);
    }
    /* each changed its row (the stored rows of A and B are compared below) */
    const char *const after[][3] = {{"idt_4", "writeback", "failed"},
                                    {"idt_2", "alert", "uncertain"},
                                    {"idt_6", "alert", "failed"},
                                    {"idt_3", "alert", "resolved"},
                                    {"idt_5", "alert", "wanted"}};
    for (size_t i = 0; i < COUNTOF(after); i++) {
        json_t *o = NULL;
        assert_int_equal(results_get(db, A, after[i][0], &o), 0);
        assert_string_equal(json_string_value(json_object_get(o, after[i][1])), after[i][2]);
        json_decref(o);
    }
    for (size_t i = 0; i < COUNTOF(again) + COUNTOF(twice); i++)
        assert_string_equal(texts[0][i], texts[1][i]);
    assert_non_null(strstr(texts[0][7], "idt_5 wb=1 create=0 resolve=0 ano= from=clear to=hit"));
    /* what both ended with, checked outright */
    assert_non_null(
        strstr(texts[0][0], "idt_1 wb=1 create=0 resolve=0 ano=ano_1 from= to=approved"));
    assert_non_null(
        strstr(texts[0][1], "idt_3 wb=1 create=0 resolve=1 ano=ano_3 from=needs_review"));
    assert_non_null(strstr(texts[0][4], "idt_2 wb=1 create=1 resolve=0 ano= from=clear to=hit"));
    const char *const ids[] = {"idt_1", "idt_2", "idt_3", "idt_4", "idt_5", "idt_6"};
    for (size_t i = 0; i < COUNTOF(ids); i++) {
        char *a = stored_text(db, A, ids[i]), *b = stored_text(db, B, ids[i]);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    json_t *o = NULL;
    assert_int_equal(results_get(db, A, "idt_1", &o), 0);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "approved");
    assert_string_equal(json_string_value(json_object_get(o, "decided_by")), "user_1");
    json_decref(o);
    assert_int_equal(results_get(db, A, "idt_4", &o), 0);
    assert_string_equal(json_string_value(json_object_get(o, "name")),
                        "Zoë \"Z\" O'Neil, {x} \\ y");
    json_decref(o);
    assert_int_equal(results_get(db, A, "idt_5", &o), 0);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "hit");
    json_decref(o);
    results_store_close(rs);
}

struct opener {
    const char *target;
    int rc;
};

static void *open_close(void *arg)
{
    struct opener *o = arg;
    struct results_store *rs = NULL;
    o->rc = results_store_open(o->target, &rs);
    results_store_close(rs);
    return NULL;
}

/* Two processes' stores opening one new database at once (replicas starting together) both
 * succeed, and the schema is made once: a later open finds it and the store works. */
static void test_two_openers_migrate_once(void **state)
{
    (void)state;
    char target[700];
    engine_kit_fresh(__func__, target, sizeof target);
    struct opener openers[2] = {{.target = target}, {.target = target}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, open_close, &openers[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(openers[i].rc, 0);
    }
    struct results_store *rs = NULL;
    assert_int_equal(results_store_open(target, &rs), 0);
    results_db *db = results_conn(rs);
    char versions[16] = "";
    const struct sql_text_out out = {versions, sizeof versions};
    assert_int_equal(sql_load_texts(db,
                                    "SELECT CAST(count(*) AS TEXT) FROM schema_migrations"
                                    " WHERE component = 'kyc'",
                                    NULL, 0, &out, 1),
                     0);
    assert_string_equal(versions, "4");
    struct results_row r = row("idt_1", "clear", 0.1, "[]", "x");
    struct results_outbox_item *items;
    size_t n;
    store(db, A, &r, 1, 0, &items, &n);
    free_items(items, n);
    results_store_close(rs);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_outbox_and_payload),
        cmocka_unit_test(test_decision_sticks_while_basis_stays),
        cmocka_unit_test(test_list_filters_counts_histogram),
        cmocka_unit_test(test_identity_fields_and_status_change),
        cmocka_unit_test(test_histogram_bucket_edges),
        cmocka_unit_test(test_name_search_counts_and_removed),
        cmocka_unit_test(test_list_generations_and_loads),
        cmocka_unit_test(test_snapshot_pages),
        cmocka_unit_test(test_run_counters_added_concurrently),
        cmocka_unit_test(test_two_openers_migrate_once),
        cmocka_unit_test(test_decision_waits_for_open_batch),
        cmocka_unit_test(test_batch_waits_for_open_change),
        cmocka_unit_test(test_batch_same_as_one_by_one),
    };
    return cmocka_run_group_tests_name(
        engine_kit_postgres() ? "results_postgres" : "results_sqlite", tests, NULL, NULL);
}
