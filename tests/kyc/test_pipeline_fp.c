/*
 * test_pipeline_fp.c — false-positive memory on re-screening, end to end: the real cloudsim
 * (seeded with planted OFAC matches) and the real `kyc serve` with a copy of the OFAC fixture.
 *
 *   - every raised match of a flagged identity marked a false positive through the portal API
 *     re-screens it at once: the matches are not raised, the status becomes clear, the detail
 *     lists them as suppressed, the alert is resolved;
 *   - the list entry changes (an alias added to the copy, kyc serve restarted on it): the
 *     entry's content hash differs, so the match is raised again;
 *   - the before_decision guard: a status change that needs two reviewers is refused unless
 *     review_confirm claimed it (in process, on the results store).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "capp/err.h"
#include "kyc/results_pipeline.h"
#include "kyc/results_portal.h"
#include "kyc/review.h"
#include "test_pipeline_kit.h"

#include <sys/stat.h>

static void identity_status(const struct kit *k, const char *id, char *out, size_t cap)
{
    assert_true(kit_text(k->kyc_db,
                         "SELECT status FROM kyc_identities WHERE installed_app_id = ?"
                         " AND identity_id = ?",
                         k->installed_app_id, id, out, cap));
}

/* Waits until the identity's status is (not, when negate) `want`. */
static void wait_status(const struct kit *k, const char *id, const char *want, int negate,
                        long timeout_ms)
{
    char status[32] = "";
    for (long waited = 0; waited < timeout_ms; waited += 100) {
        identity_status(k, id, status, sizeof status);
        if ((strcmp(status, want) == 0) != negate)
            return;
        ts_sleep_ms(100);
    }
    fail_msg("identity %s stayed %s (wanted %s%s)", id, status, negate ? "not " : "", want);
}

static void test_false_positive_suppressed_until_entry_changes(void **state)
{
    (void)state;
    struct kit k;
    kit_start_cloudsim(&k, NULL);
    kit_seed(&k, 60, 0.25, 0.0);
    kit_register(&k);
    /* a copy of the OFAC fixture the test can change later */
    char ofac[400], path[600];
    kit_copy_ofac(&k, ofac, sizeof ofac);
    const char *lists[] = {"--no-default-lists", "--lists", ofac, NULL};
    kit_start_kyc(&k, lists);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 20000);

    /* an identity flagged by sanctions alone, with an open alert */
    char id[160] = "";
    assert_true(kit_text(k.kyc_db,
                         "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ?"
                         " AND status IN ('needs_review', 'hit')"
                         " AND reasons = '[\"sanctions_match\"]' AND alert_state = 'open'"
                         " ORDER BY identity_id LIMIT 1",
                         k.installed_app_id, NULL, id, sizeof id));
    char cookie[700], csrf[200], api[300];
    kit_portal_session(&k, cookie, sizeof cookie, csrf, sizeof csrf);
    struct kit_reviewer ada; /* changes need a signed-in reviewer (D23′) */
    kit_reviewer_create(&k, cookie, csrf, NULL, "Ada", &ada);
    snprintf(api, sizeof api, "/portal/api/identities/%s", id);
    struct ts_response r;
    kit_portal_call(&k, "GET", api, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    ts_response_free(&r);
    assert_non_null(o);
    long long runs = kit_runs_finished(&k);
    size_t i, marked = 0;
    json_t *m;
    char first_entry[64] = "";
    json_array_foreach(json_object_get(o, "matches"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "band")), "clear") == 0)
            continue;
        const char *entry = json_string_value(json_object_get(m, "entry_id"));
        if (!first_entry[0])
            snprintf(first_entry, sizeof first_entry, "%s", entry);
        char body[400];
        snprintf(body, sizeof body,
                 "{\"identity_id\":\"%s\",\"entry_id\":\"%s\",\"note\":\"different person\"}", id,
                 entry);
        kit_portal_send(&k, "POST", "/portal/api/false-positives", body, cookie, csrf, &r);
        TS_ASSERT_STATUS(r, 200);
        ts_response_free(&r);
        marked++;
    }
    json_decref(o);
    assert_true(marked > 0);
    assert_int_equal(strncmp(first_entry, "ofac:", 5), 0);

    /* marking re-screens the identity without a manual run: clear, the alert resolved */
    wait_status(&k, id, "clear", 0, 20000);
    kit_wait_runs(&k, runs + 1, 20000);
    char suppressed[4000] = "";
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM kyc_identities WHERE installed_app_id = ? AND identity_id = ?",
             engine_kit_postgres() ? "(detail::json -> 'suppressed')::text"
                                   : "json_extract(detail, '$.suppressed')");
    assert_true(kit_text(k.kyc_db, sql, k.installed_app_id, id, suppressed, sizeof suppressed));
    assert_non_null(strstr(suppressed, first_entry));
    kit_portal_call(&k, "GET", api, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    o = json_loads(r.body, 0, NULL);
    ts_response_free(&r);
    assert_int_equal(json_array_size(json_object_get(o, "suppressed")), marked);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "clear");
    json_decref(o);
    for (long waited = 0; waited < 20000; waited += 100) {
        char alert[32] = "";
        kit_text(k.kyc_db,
                 "SELECT alert_state FROM kyc_identities WHERE installed_app_id = ?"
                 " AND identity_id = ?",
                 k.installed_app_id, id, alert, sizeof alert);
        if (strcmp(alert, "resolved") == 0)
            break;
        assert_true(waited + 100 < 20000);
        ts_sleep_ms(100);
    }
    /* the next run, nothing changed: still not raised */
    runs = kit_runs_finished(&k);
    kit_portal_call(&k, "POST", "/portal/api/runs", cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 202);
    ts_response_free(&r);
    kit_wait_runs(&k, runs + 1, 20000);
    identity_status(&k, id, suppressed, sizeof suppressed);
    assert_string_equal(suppressed, "clear");
    kit_stop_kyc(&k);

    /* the entry changes (one more alias): its content hash differs, the match is raised again */
    snprintf(path, sizeof path, "%s/alt.csv", ofac);
    size_t len = 0;
    char *alt = ts_read_file(path, &len);
    assert_non_null(alt);
    if (len && alt[len - 1] == 0x1a)
        len--; /* OFAC's files end with a DOS end-of-file byte: the new row goes before it */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(alt, 1, len, f), len);
    fprintf(f, "%s,9901,\"aka\",\"ZQUIVERTON PLAXWORTH\",-0- \r\n\x1a", first_entry + 5);
    fclose(f);
    free(alt);
    runs = kit_runs_finished(&k);
    kit_start_kyc(&k, lists);
    kit_wait_runs(&k, runs + 1, 20000);
    wait_status(&k, id, "clear", 1, 20000);
    char reasons[200] = "";
    kit_text(k.kyc_db,
             "SELECT reasons FROM kyc_identities WHERE installed_app_id = ? AND identity_id = ?",
             k.installed_app_id, id, reasons, sizeof reasons);
    assert_non_null(strstr(reasons, "sanctions_match"));
    kit_stop(&k);
}

struct guard_ctx {
    results_db *db;
    const json_t *current;
};

/* review_decide's and review_confirm's apply function: what kyc serve's pipeline does first. */
static int guarded_apply(void *ctx, const char *installed_app_id, const char *identity_id,
                         const char *status, const char *user_id, const char *note)
{
    (void)note;
    const struct guard_ctx *g = ctx;
    return review_decision_allowed(g->db, installed_app_id, identity_id, status, user_id,
                                   g->current);
}

static void test_four_eyes_cannot_be_bypassed(void **state)
{
    (void)state;
    char dir[256], path[300];
    ts_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/kyc.db", dir);
    struct results_store *rs = NULL;
    assert_int_equal(results_store_open(path, &rs), 0);
    results_db *db = results_conn(rs);
    assert_int_equal(review_migrate(db), 0);
    struct results_row row = {
        .identity_id = "idt_hit",
        .fields_hash = "h",
        .lists_key = "",
        .display_name = "",
        .identity_type = "individual",
        .name_tokens = "",
        .status = RESULTS_HIT,
        .risk = "high",
        .score = 0.97,
        .reasons_json = "[\"sanctions_match\"]",
        .detail_json = "{}",
        .lists_json = "{}",
        .engine_version = "test",
        .basis = "b",
    };
    struct results_write_options wo = {.now_ms = 1};
    struct results_outbox_item *items = NULL;
    size_t n_items = 0;
    assert_int_equal(results_store_rows(db, "ins_1", &row, 1, &wo, &items, &n_items), 0);
    for (size_t i = 0; i < n_items; i++)
        results_outbox_item_clear(&items[i]);
    free(items);
    json_t *current = NULL;
    assert_int_equal(results_get(db, "ins_1", "idt_hit", &current), 0);
    /* a direct status change of a hit: refused for anyone, also the would-be checker */
    assert_int_equal(
        review_decision_allowed(db, "ins_1", "idt_hit", RESULTS_APPROVED, "ada", current),
        CAPP_EPERM);
    assert_int_equal(
        review_decision_allowed(db, "ins_1", "idt_hit", RESULTS_REJECTED, NULL, current),
        CAPP_EPERM);
    /* a reopen needs one reviewer */
    assert_int_equal(
        review_decision_allowed(db, "ins_1", "idt_hit", RESULTS_NEEDS_REVIEW, NULL, current), 0);
    assert_int_equal(review_decision_allowed(db, "ins_1", "idt_hit", "clear", "ada", current),
                     CAPP_EINVAL);
    /* through the workflow: Ada proposes, Grace confirms, and the guard lets Grace's apply by */
    struct guard_ctx g = {db, current};
    struct review_settings s = {.four_eyes = 1};
    struct review_request rq = {.identity_id = "idt_hit",
                                .action = REVIEW_APPROVE,
                                .by = {.account_id = "rvw_ada"},
                                .note = "same person? no: checked the passport"};
    struct review_outcome out;
    assert_int_equal(review_decide(db, "ins_1", &s, current, &rq, guarded_apply, &g, &out), 0);
    assert_int_equal(out.pending, 1);
    assert_int_equal(
        review_decision_allowed(db, "ins_1", "idt_hit", RESULTS_APPROVED, "rvw_grace", current),
        CAPP_EPERM); /* pending, not claimed */
    const struct review_actor grace = {.account_id = "rvw_grace"};
    assert_int_equal(review_confirm(db, "ins_1", out.decision_id, current, &grace, "agreed",
                                    guarded_apply, &g, &out),
                     0);
    json_decref(current);
    results_store_close(rs);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_false_positive_suppressed_until_entry_changes, kit_teardown),
        cmocka_unit_test(test_four_eyes_cannot_be_bypassed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
