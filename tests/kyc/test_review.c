/*
 * test_review.c — the reviewer workflow (kyc/review.h) on a real results database: four-eyes
 * (same account refused, a second account completes, every rejection needs two, the setting
 * off, no change without a signed-in account, a V1 user_id only recorded beside the account),
 * stale and cancelled proposals, required notes, a status change that
 * fails, false-positive memory keyed by the list entry's content hash, and the audit records
 * each of these writes, with the chain verified after every scenario.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "capp/err.h"
#include "kyc/audit.h"
#include "kyc/results_pipeline.h"
#include "kyc/results_portal.h"
#include "kyc/review.h"

#define INSTALL "instapp_review"
#define OTHER   "instapp_other"
#define ALICE   "rvw_alice" /* reviewer accounts (kyc/reviewers.h) */
#define BOB     "rvw_bob"
#define BY(a)   (&(struct review_actor){.account_id = (a)})
#define HASH1   "1111111111111111111111111111111111111111111111111111111111111111"
#define HASH2   "2222222222222222222222222222222222222222222222222222222222222222"

struct fixture {
    struct results_store *rs;
    results_db *db;
    int applied;        /* calls of the apply function */
    int fail_apply;     /* 1: the apply function refuses */
    char last_user[64]; /* user passed to the last apply */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char dir[512], path[600];
    ts_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/kyc.db", dir);
    if (results_store_open(path, &f->rs) != 0)
        return -1;
    f->db = results_conn(f->rs);
    if (!f->db || review_migrate(f->db) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    results_store_close(f->rs);
    free(f);
    return 0;
}

/* Stores one screened identity with the given computed status and score. */
static void store(struct fixture *f, const char *install, const char *id, const char *status,
                  double score)
{
    struct results_row r = {
        .identity_id = id,
        .fields_hash = "h1",
        .lists_key = "L1",
        .display_name = "Ann Lee",
        .identity_type = "individual",
        .name_tokens = "ann lee",
        .status = status,
        .risk = strcmp(status, "clear") ? "high" : "low",
        .score = score,
        .reasons_json = strcmp(status, "clear") ? "[\"sanctions_match\"]" : "[]",
        .detail_json = "{\"matches\":[{\"entry_id\":\"ofac:1\"}],\"findings\":[]}",
        .lists_json = "{}",
        .engine_version = "screen-1.1",
        .basis = status,
        .alert_title = "t",
        .alert_text = "x",
    };
    struct results_write_options o = {.metadata_key = "kyc", .now_ms = 1};
    struct results_outbox_item *items = NULL;
    size_t n = 0;
    assert_int_equal(results_store_rows(f->db, install, &r, 1, &o, &items, &n), 0);
    for (size_t i = 0; i < n; i++)
        results_outbox_item_clear(&items[i]);
    free(items);
}

static json_t *current(struct fixture *f, const char *install, const char *id)
{
    json_t *o = NULL;
    assert_int_equal(results_get(f->db, install, id, &o), 0);
    return o;
}

static const char *status_of(struct fixture *f, const char *id)
{
    static char buf[32];
    json_t *o = current(f, INSTALL, id);
    snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(o, "status")));
    json_decref(o);
    return buf;
}

/* The status change the portal makes through the pipeline, here straight on the results. */
static int apply(void *ctx, const char *install, const char *id, const char *status,
                 const char *user, const char *note)
{
    struct fixture *f = ctx;
    assert_non_null(note);
    if (f->fail_apply)
        return CAPP_EBUSY;
    f->applied++;
    snprintf(f->last_user, sizeof f->last_user, "%s", user ? user : "");
    struct results_outbox_item item;
    int rc = results_apply_decision(f->db, install, id, status, user, 0, 2, &item);
    results_outbox_item_clear(&item);
    return rc;
}

static int decide(struct fixture *f, const char *id, enum review_action a, const char *user,
                  const char *note, struct review_outcome *o)
{
    struct review_settings s;
    assert_int_equal(review_settings_get(f->db, INSTALL, &s), 0);
    json_t *cur = current(f, INSTALL, id);
    struct review_request rq = {
        .identity_id = id, .action = a, .by = {.account_id = user}, .note = note};
    int rc = review_decide(f->db, INSTALL, &s, cur, &rq, apply, f, o);
    json_decref(cur);
    return rc;
}

static int confirm(struct fixture *f, int64_t decision, const char *id, const char *user,
                   struct review_outcome *o)
{
    json_t *cur = current(f, INSTALL, id);
    int rc = review_confirm(f->db, INSTALL, decision, cur, BY(user), "checked the list entry",
                            apply, f, o);
    json_decref(cur);
    return rc;
}

struct audit_tally {
    int decisions, status_changes, config_changes;
    char last_kind[32], last_actor[64], last_payload[1024];
};

static int tally_record(const struct audit_record *r, void *ctx)
{
    struct audit_tally *t = ctx;
    t->decisions += strcmp(r->kind, "decision") == 0;
    t->status_changes += strcmp(r->kind, "status_change") == 0;
    t->config_changes += strcmp(r->kind, "config_change") == 0;
    snprintf(t->last_kind, sizeof t->last_kind, "%s", r->kind);
    snprintf(t->last_actor, sizeof t->last_actor, "%s", r->actor);
    snprintf(t->last_payload, sizeof t->last_payload, "%s", r->payload);
    return 0;
}

static struct audit_tally history(struct fixture *f, const char *id)
{
    struct audit_tally t;
    memset(&t, 0, sizeof t);
    assert_int_equal(audit_history(sql_sqlite_handle(f->db), INSTALL, id, tally_record, &t), 0);
    return t;
}

static void assert_chain_intact(struct fixture *f)
{
    struct audit_report report;
    assert_int_equal(audit_verify(sql_sqlite_handle(f->db), INSTALL, &report), 0);
    assert_int_equal(report.tampered, 0);
    assert_int_equal(report.count, 1);
    assert_int_equal(report.installs[0].brk, AUDIT_INTACT);
    audit_report_free(&report);
}

static void test_clear_approval_applies_at_once(void **state)
{
    struct fixture *f = *state;
    store(f, INSTALL, "idt_clear", "clear", 0.10);
    struct review_outcome o;
    assert_int_equal(decide(f, "idt_clear", REVIEW_APPROVE, ALICE, "documents checked", &o), 0);
    assert_false(o.pending);
    assert_true(o.decision_id > 0);
    assert_int_equal(f->applied, 1);
    assert_string_equal(status_of(f, "idt_clear"), "approved");
    struct audit_tally t = history(f, "idt_clear");
    assert_int_equal(t.decisions, 1);
    assert_int_equal(t.status_changes, 1);
    assert_string_equal(t.last_actor, ALICE);
    assert_non_null(strstr(t.last_payload, "\"from\":\"clear\""));
    assert_non_null(strstr(t.last_payload, "\"to\":\"approved\""));
    /* the same status again changes nothing */
    assert_int_equal(decide(f, "idt_clear", REVIEW_APPROVE, BOB, "again", &o), CAPP_ECONFLICT);
    assert_string_equal(o.why, "no_change");
    assert_chain_intact(f);
}

static void test_hit_approval_needs_a_second_different_user(void **state)
{
    struct fixture *f = *state;
    store(f, INSTALL, "idt_hit", "hit", 0.97);
    struct review_outcome o;
    assert_int_equal(decide(f, "idt_hit", REVIEW_APPROVE, ALICE, "namesake, other DOB", &o), 0);
    assert_true(o.pending);
    int64_t id = o.decision_id;
    assert_int_equal(f->applied, 0);
    assert_string_equal(status_of(f, "idt_hit"), "hit");
    json_t *p = NULL;
    assert_int_equal(review_pending(f->db, INSTALL, "idt_hit", &p), 0);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "maker")), ALICE);
    assert_string_equal(json_string_value(json_object_get(p, "action")), "approve");
    json_decref(p);

    /* the maker cannot be the checker */
    assert_int_equal(confirm(f, id, "idt_hit", ALICE, &o), CAPP_ECONFLICT);
    assert_string_equal(o.why, "same_reviewer");
    assert_int_equal(f->applied, 0);
    /* nor can a second proposal jump the queue */
    assert_int_equal(decide(f, "idt_hit", REVIEW_REJECT, BOB, "no", &o), CAPP_ECONFLICT);
    assert_string_equal(o.why, "decision_pending");

    /* a different user completes it */
    assert_int_equal(confirm(f, id, "idt_hit", BOB, &o), 0);
    assert_int_equal(f->applied, 1);
    assert_string_equal(f->last_user, BOB);
    assert_string_equal(status_of(f, "idt_hit"), "approved");
    assert_int_equal(review_pending(f->db, INSTALL, "idt_hit", &p), 0);
    assert_null(p);
    /* confirming twice is refused */
    assert_int_equal(confirm(f, id, "idt_hit", "rvw_carol", &o), CAPP_ECONFLICT);
    assert_string_equal(o.why, "decision_not_pending");

    json_t *list = NULL;
    assert_int_equal(review_decisions(f->db, INSTALL, "idt_hit", &list), 0);
    assert_int_equal(json_array_size(list), 1);
    json_t *d = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(d, "state")), "applied");
    assert_string_equal(json_string_value(json_object_get(d, "maker")), ALICE);
    assert_string_equal(json_string_value(json_object_get(d, "checker")), BOB);
    assert_true(json_is_true(json_object_get(d, "four_eyes")));
    json_decref(list);

    /* audit: proposal by Alice, confirmation by Bob, the status change by Bob */
    struct audit_tally t = history(f, "idt_hit");
    assert_int_equal(t.decisions, 2);
    assert_int_equal(t.status_changes, 1);
    assert_string_equal(t.last_kind, "status_change");
    assert_string_equal(t.last_actor, BOB);
    assert_chain_intact(f);
}

static void test_review_band_approval_needs_two(void **state)
{
    struct fixture *f = *state;
    struct review_settings on = {.four_eyes = 1};
    json_t *cur = json_pack("{s:s, s:s, s:f}", "status", "needs_review", "computed_status",
                            "needs_review", "score", 0.85);
    assert_true(review_needs_four_eyes(&on, REVIEW_APPROVE, cur));
    json_object_set_new(cur, "score", json_real(0.5));
    assert_false(review_needs_four_eyes(&on, REVIEW_APPROVE, cur));
    assert_true(review_needs_four_eyes(&on, REVIEW_REJECT, cur));
    assert_false(review_needs_four_eyes(&on, REVIEW_REOPEN, cur));
    json_decref(cur);
    (void)f;
}

static void test_rejection_always_needs_two(void **state)
{
    struct fixture *f = *state;
    store(f, INSTALL, "idt_dq", "needs_review", 0.0);
    struct review_outcome o;
    assert_int_equal(decide(f, "idt_dq", REVIEW_REJECT, ALICE, "fake passport", &o), 0);
    assert_true(o.pending);
    assert_int_equal(f->applied, 0);
    assert_string_equal(status_of(f, "idt_dq"), "needs_review");
    assert_int_equal(confirm(f, o.decision_id, "idt_dq", BOB, &o), 0);
    assert_string_equal(status_of(f, "idt_dq"), "rejected");
    /* reopen is one reviewer's call */
    assert_int_equal(decide(f, "idt_dq", REVIEW_REOPEN, ALICE, "new documents arrived", &o), 0);
    assert_false(o.pending);
    assert_string_equal(status_of(f, "idt_dq"), "needs_review");
    assert_chain_intact(f);
}

static void test_setting_off_applies_at_once_and_is_audited(void **state)
{
    struct fixture *f = *state;
    store(f, INSTALL, "idt_hit2", "hit", 0.99);
    struct review_settings s;
    assert_int_equal(review_settings_get(f->db, INSTALL, &s), 0);
    assert_true(s.four_eyes); /* the default */
    s.four_eyes = 0;
    assert_int_equal(review_settings_set(f->db, INSTALL, BY(ALICE), &s), 0);
    assert_int_equal(review_settings_set(f->db, INSTALL, BY(ALICE), &s), 0); /* unchanged */
    assert_int_equal(review_settings_get(f->db, INSTALL, &s), 0);
    assert_false(s.four_eyes);
    /* another install keeps its own default */
    struct review_settings other;
    assert_int_equal(review_settings_get(f->db, OTHER, &other), 0);
    assert_true(other.four_eyes);

    struct review_outcome o;
    assert_int_equal(decide(f, "idt_hit2", REVIEW_APPROVE, ALICE, "namesake", &o), 0);
    assert_false(o.pending);
    assert_string_equal(status_of(f, "idt_hit2"), "approved");
    assert_int_equal(decide(f, "idt_hit2", REVIEW_REJECT, ALICE, "changed my mind", &o), 0);
    assert_false(o.pending);
    assert_string_equal(status_of(f, "idt_hit2"), "rejected");

    /* the config change is one audit record without identity */
    struct audit_report report;
    assert_int_equal(audit_verify(sql_sqlite_handle(f->db), INSTALL, &report), 0);
    assert_int_equal(report.tampered, 0);
    /* 1 config + 2 × (decision + status change) */
    assert_int_equal(report.installs[0].records, 5);
    audit_report_free(&report);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(sql_sqlite_handle(f->db),
                                        "SELECT actor, payload FROM kyc_audit_log WHERE"
                                        " installed_app_id = ? AND kind = 'config_change'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, INSTALL, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), ALICE);
    assert_string_equal((const char *)sqlite3_column_text(st, 1),
                        "{\"from\":true,\"setting\":\"four_eyes\",\"to\":false}");
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

/* D23′: without a signed-in account nothing changes, whatever the launch said; a V1 user_id is
 * recorded beside the account and never tells two reviewers apart. */
static void test_changes_need_a_signed_in_account(void **state)
{
    struct fixture *f = *state;
    store(f, INSTALL, "idt_v2hit", "hit", 0.96);
    store(f, INSTALL, "idt_v2clear", "clear", 0.0);
    struct review_outcome o;
    const struct review_actor v1_only = {.account_id = NULL, .user_id = "user_alice"};
    /* no account: refused, also what needs only one reviewer, also with a V1 user_id */
    assert_int_equal(decide(f, "idt_v2hit", REVIEW_APPROVE, NULL, "looks fine", &o), CAPP_EPERM);
    assert_string_equal(o.why, "sign_in_required");
    assert_int_equal(decide(f, "idt_v2clear", REVIEW_APPROVE, "", "fine", &o), CAPP_EPERM);
    assert_string_equal(o.why, "sign_in_required");
    json_t *cur = current(f, INSTALL, "idt_v2clear");
    struct review_settings s = {.four_eyes = 1};
    struct review_request rq = {
        .identity_id = "idt_v2clear", .action = REVIEW_APPROVE, .by = v1_only, .note = "fine"};
    assert_int_equal(review_decide(f->db, INSTALL, &s, cur, &rq, apply, f, &o), CAPP_EPERM);
    json_decref(cur);
    assert_int_equal(f->applied, 0);
    struct review_settings off = {.four_eyes = 0};
    assert_int_equal(review_settings_set(f->db, INSTALL, NULL, &off), CAPP_EPERM);
    assert_int_equal(review_settings_set(f->db, INSTALL, &v1_only, &off), CAPP_EPERM);
    assert_int_equal(review_settings_get(f->db, INSTALL, &s), 0);
    assert_true(s.four_eyes);
    const char *why = NULL;
    assert_int_equal(review_false_positive_mark(f->db, INSTALL, "idt_v2hit", "ofac:1", HASH1,
                                                &v1_only, "namesake", &why),
                     CAPP_EPERM);
    assert_string_equal(why, "sign_in_required");
    assert_int_equal(history(f, "idt_v2hit").decisions, 0);

    /* Alice proposes from a V1 launch of "user_alice": the account decides, the user_id is
     * kept beside it */
    cur = current(f, INSTALL, "idt_v2hit");
    rq = (struct review_request){.identity_id = "idt_v2hit",
                                 .action = REVIEW_REJECT,
                                 .by = {.account_id = ALICE, .user_id = "user_alice"},
                                 .note = "sanctioned"};
    assert_int_equal(review_decide(f->db, INSTALL, &s, cur, &rq, apply, f, &o), 0);
    assert_true(o.pending);
    int64_t id = o.decision_id;
    /* a checker without an account is refused, even one claiming another user_id */
    assert_int_equal(review_confirm(f->db, INSTALL, id, cur, &v1_only, "ok", apply, f, &o),
                     CAPP_EPERM);
    assert_string_equal(o.why, "sign_in_required");
    assert_int_equal(review_cancel(f->db, INSTALL, id, &v1_only, "no", &o), CAPP_EPERM);
    /* Alice's account from another launch (another or no user_id) is still Alice */
    const struct review_actor alice_v2 = {.account_id = ALICE};
    assert_int_equal(review_confirm(f->db, INSTALL, id, cur, &alice_v2, "ok", apply, f, &o),
                     CAPP_ECONFLICT);
    assert_string_equal(o.why, "same_reviewer");
    /* Bob under V2 (no user_id) confirms */
    assert_int_equal(review_confirm(f->db, INSTALL, id, cur, BY(BOB), "agreed", apply, f, &o), 0);
    json_decref(cur);
    assert_string_equal(status_of(f, "idt_v2hit"), "rejected");
    json_t *list = NULL;
    assert_int_equal(review_decisions(f->db, INSTALL, "idt_v2hit", &list), 0);
    json_t *d = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(d, "maker")), ALICE);
    assert_string_equal(json_string_value(json_object_get(d, "maker_user_id")), "user_alice");
    assert_string_equal(json_string_value(json_object_get(d, "checker")), BOB);
    assert_true(json_is_null(json_object_get(d, "checker_user_id")));
    json_decref(list);
    /* the audit records name the account as actor and the user_id in the payload */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(sql_sqlite_handle(f->db),
                                        "SELECT actor, payload FROM kyc_audit_log WHERE"
                                        " installed_app_id = ? AND identity_id = 'idt_v2hit' AND"
                                        " kind = 'decision' ORDER BY seq",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, INSTALL, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), ALICE);
    assert_non_null(strstr((const char *)sqlite3_column_text(st, 1), "\"user_id\":\"user_alice\""));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), BOB);
    assert_null(strstr((const char *)sqlite3_column_text(st, 1), "user_id"));
    sqlite3_finalize(st);
    assert_chain_intact(f);
}

static void test_stale_and_cancelled_proposals(void **state)
{
    struct fixture *f = *state;
    store(f, INSTALL, "idt_s", "hit", 0.97);
    struct review_outcome o;
    assert_int_equal(decide(f, "idt_s", REVIEW_REJECT, ALICE, "sanctioned", &o), 0);
    int64_t id = o.decision_id;
    /* the maker withdraws; a new proposal is possible again */
    assert_int_equal(review_cancel(f->db, INSTALL, id, BY(ALICE), "wrong identity", &o), 0);
    assert_int_equal(review_cancel(f->db, INSTALL, id, BY(BOB), "again", &o), CAPP_ECONFLICT);
    assert_int_equal(confirm(f, id, "idt_s", BOB, &o), CAPP_ECONFLICT);
    assert_int_equal(decide(f, "idt_s", REVIEW_REJECT, ALICE, "sanctioned after all", &o), 0);
    id = o.decision_id;
    /* the identity moves on (a re-screen stores another computed status) */
    store(f, INSTALL, "idt_s", "needs_review", 0.85);
    assert_int_equal(confirm(f, id, "idt_s", BOB, &o), CAPP_ECONFLICT);
    assert_string_equal(o.why, "decision_stale");
    assert_int_equal(f->applied, 0);
    json_t *p = NULL;
    assert_int_equal(review_pending(f->db, INSTALL, "idt_s", &p), 0);
    assert_null(p);
    assert_chain_intact(f);
}

static void test_notes_and_failed_status_change(void **state)
{
    struct fixture *f = *state;
    store(f, INSTALL, "idt_n", "hit", 0.97);
    struct review_outcome o;
    assert_int_equal(decide(f, "idt_n", REVIEW_APPROVE, ALICE, "", &o), CAPP_EINVAL);
    assert_string_equal(o.why, "note");
    assert_int_equal(decide(f, "idt_n", REVIEW_APPROVE, ALICE, " \n\t ", &o), CAPP_EINVAL);
    assert_int_equal(decide(f, "idt_n", REVIEW_APPROVE, ALICE, NULL, &o), CAPP_EINVAL);
    assert_int_equal(decide(f, "idt_n", REVIEW_APPROVE, ALICE, "bell\a", &o), CAPP_EINVAL);
    char *big = malloc(REVIEW_NOTE_MAX_BYTES + 2);
    memset(big, 'x', REVIEW_NOTE_MAX_BYTES + 1);
    big[REVIEW_NOTE_MAX_BYTES + 1] = 0;
    assert_int_equal(decide(f, "idt_n", REVIEW_APPROVE, ALICE, big, &o), CAPP_EINVAL);
    big[REVIEW_NOTE_MAX_BYTES] = 0; /* exactly the limit is fine */
    assert_int_equal(decide(f, "idt_n", REVIEW_APPROVE, ALICE, big, &o), 0);
    free(big);
    /* the checker's status change fails: the decision stays pending, nothing is audited */
    struct audit_tally before = history(f, "idt_n");
    f->fail_apply = 1;
    assert_int_equal(confirm(f, o.decision_id, "idt_n", BOB, &o), CAPP_EBUSY);
    f->fail_apply = 0;
    struct audit_tally after = history(f, "idt_n");
    assert_int_equal(after.decisions, before.decisions);
    json_t *p = NULL;
    assert_int_equal(review_pending(f->db, INSTALL, "idt_n", &p), 0);
    assert_non_null(p);
    json_decref(p);
    assert_int_equal(confirm(f, o.decision_id, "idt_n", BOB, &o), 0);
    /* an immediate decision whose status change fails leaves no decision behind */
    store(f, INSTALL, "idt_n2", "clear", 0.0);
    f->fail_apply = 1;
    assert_int_equal(decide(f, "idt_n2", REVIEW_APPROVE, ALICE, "ok", &o), CAPP_EBUSY);
    f->fail_apply = 0;
    json_t *list = NULL;
    assert_int_equal(review_decisions(f->db, INSTALL, "idt_n2", &list), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    assert_int_equal(history(f, "idt_n2").decisions, 0);
    assert_chain_intact(f);
}

static void test_false_positive_memory(void **state)
{
    struct fixture *f = *state;
    const char *why = NULL;
    assert_int_equal(review_false_positive_suppressed(f->db, INSTALL, "idt_fp", "ofac:1", HASH1),
                     0);
    assert_int_equal(review_false_positive_mark(f->db, INSTALL, "idt_fp", "ofac:1", HASH1,
                                                BY(ALICE), "different date of birth", &why),
                     0);
    /* remembered for that identity and that version of the entry */
    assert_int_equal(review_false_positive_suppressed(f->db, INSTALL, "idt_fp", "ofac:1", HASH1),
                     1);
    /* the list entry changed: raised again */
    assert_int_equal(review_false_positive_suppressed(f->db, INSTALL, "idt_fp", "ofac:1", HASH2),
                     0);
    /* other identities, entries and installs are not affected */
    assert_int_equal(review_false_positive_suppressed(f->db, INSTALL, "idt_x", "ofac:1", HASH1), 0);
    assert_int_equal(review_false_positive_suppressed(f->db, INSTALL, "idt_fp", "ofac:2", HASH1),
                     0);
    assert_int_equal(review_false_positive_suppressed(f->db, OTHER, "idt_fp", "ofac:1", HASH1), 0);
    /* marking again is a no-op (no second audit record); the new version can be marked too */
    assert_int_equal(review_false_positive_mark(f->db, INSTALL, "idt_fp", "ofac:1", HASH1, BY(BOB),
                                                "again", &why),
                     0);
    assert_int_equal(history(f, "idt_fp").decisions, 1);
    assert_int_equal(review_false_positive_mark(f->db, INSTALL, "idt_fp", "ofac:1", HASH2, BY(BOB),
                                                "still not him", &why),
                     0);
    assert_int_equal(review_false_positive_suppressed(f->db, INSTALL, "idt_fp", "ofac:1", HASH2),
                     1);
    struct audit_tally t = history(f, "idt_fp");
    assert_int_equal(t.decisions, 2);
    assert_string_equal(t.last_actor, BOB);
    assert_non_null(strstr(t.last_payload, "\"action\":\"false_positive\""));
    assert_non_null(strstr(t.last_payload, HASH2));
    json_t *list = NULL;
    assert_int_equal(review_false_positives(f->db, INSTALL, "idt_fp", &list), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "marked_by")),
                        ALICE);
    json_decref(list);
    /* bad input */
    assert_int_equal(review_false_positive_mark(f->db, INSTALL, "idt_fp", "ofac:1", "nothex",
                                                BY(ALICE), "n", &why),
                     CAPP_EINVAL);
    assert_string_equal(why, "entry_id");
    assert_int_equal(
        review_false_positive_mark(f->db, INSTALL, "idt_fp", "of ac", HASH1, BY(ALICE), "n", &why),
        CAPP_EINVAL);
    assert_int_equal(
        review_false_positive_mark(f->db, INSTALL, "idt_fp", "ofac:1", HASH1, BY(ALICE), "", &why),
        CAPP_EINVAL);
    assert_string_equal(why, "note");
    assert_chain_intact(f);
}

static void test_list_entry_hash(void **state)
{
    struct fixture *f = *state;
    char hash[65];
    assert_int_equal(review_list_entry_hash(f->db, "ofac:7", hash), CAPP_ENOTFOUND);
    const char *ids[] = {"ofac:7"}, *hashes[] = {HASH1}, *tokens[] = {"ann lee"};
    assert_int_equal(results_list_generation_save(f->db, "K1", "", "", ids, hashes, tokens, 1), 0);
    assert_int_equal(review_list_entry_hash(f->db, "ofac:7", hash), 0);
    assert_string_equal(hash, HASH1);
}

static void test_action_names(void **state)
{
    (void)state;
    enum review_action a;
    assert_int_equal(review_action_parse("approve", &a), 0);
    assert_int_equal(a, REVIEW_APPROVE);
    assert_int_equal(review_action_parse("reject", &a), 0);
    assert_string_equal(review_action_status(a), "rejected");
    assert_int_equal(review_action_parse("reopen", &a), 0);
    assert_string_equal(review_action_status(a), "needs_review");
    assert_int_equal(review_action_parse("Approve", &a), CAPP_EINVAL);
    assert_int_equal(review_action_parse(NULL, &a), CAPP_EINVAL);
    assert_null(review_action_name((enum review_action)7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clear_approval_applies_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hit_approval_needs_a_second_different_user, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_review_band_approval_needs_two, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejection_always_needs_two, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setting_off_applies_at_once_and_is_audited, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_changes_need_a_signed_in_account, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_and_cancelled_proposals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notes_and_failed_status_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_false_positive_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_entry_hash, setup, teardown),
        cmocka_unit_test(test_action_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
