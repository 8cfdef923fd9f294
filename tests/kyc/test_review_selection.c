/*
 * test_review_selection.c — the install's choice of lists and topics (kyc/review.h, issue 12):
 * stored as exclusions, default none (everything loaded); names validated; a change needs a
 * signed-in account and writes one config_change record per changed setting with the old and
 * new exclusions; an unchanged save writes nothing; another install keeps its default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "capp/err.h"
#include "kyc/audit.h"
#include "kyc/results_pipeline.h"
#include "kyc/review.h"

#define INSTALL "instapp_sel"
#define OTHER   "instapp_other"
#define ALICE   "rvw_alice"
#define BY(a)   (&(struct review_actor){.account_id = (a)})

struct fixture {
    struct results_store *rs;
    results_db *db;
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

/* The config_change payloads of the install, oldest first, joined by '\n'. */
static void config_changes(struct fixture *f, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(sql_sqlite_handle(f->db),
                                        "SELECT actor, payload FROM kyc_audit_log WHERE"
                                        " installed_app_id = ? AND kind = 'config_change'"
                                        " ORDER BY seq",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, INSTALL, -1, SQLITE_STATIC);
    out[0] = '\0';
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_string_equal((const char *)sqlite3_column_text(st, 0), ALICE);
        n += (size_t)snprintf(out + n, cap - n, "%s\n", (const char *)sqlite3_column_text(st, 1));
        assert_true(n < cap);
    }
    sqlite3_finalize(st);
}

static void test_selection_names(void **state)
{
    (void)state;
    assert_true(review_selection_name_valid("ofac-sdn"));
    assert_true(review_selection_name_valid("opensanctions-us_congress"));
    assert_true(review_selection_name_valid("role.pep"));
    assert_false(review_selection_name_valid(""));
    assert_false(review_selection_name_valid(NULL));
    assert_false(review_selection_name_valid("Role.PEP"));
    assert_false(review_selection_name_valid("role pep"));
    assert_false(review_selection_name_valid("role\n"));
    assert_false(review_selection_name_valid("a-name-that-is-thirty-two-bytes!"));
    assert_false(review_selection_name_valid("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
    assert_true(review_selection_name_valid("abcdefghijklmnopqrstuvwxyz01234"));   /* 31 */

    struct review_selection sel = {0};
    assert_int_equal(review_selection_add(&sel, "un-consolidated"), 0);
    assert_int_equal(review_selection_add(&sel, "ofac-sdn"), 0);
    assert_int_equal(review_selection_add(&sel, "ofac-sdn"), 0); /* once */
    assert_int_equal(review_selection_add(&sel, "Bad Name"), CAPP_EINVAL);
    assert_int_equal(sel.n, 2);
    assert_string_equal(sel.names[0], "ofac-sdn"); /* sorted */
    assert_string_equal(sel.names[1], "un-consolidated");
    assert_true(review_selection_has(&sel, "ofac-sdn"));
    assert_false(review_selection_has(&sel, "ofac-cons"));
    struct review_selection full = {0};
    for (int i = 0; i < REVIEW_SELECTION_MAX; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%03d", i);
        assert_int_equal(review_selection_add(&full, name), 0);
    }
    assert_int_equal(review_selection_add(&full, "t999"), CAPP_ETOOBIG);
    assert_int_equal(review_selection_add(&full, "t000"), 0); /* present: no room needed */
}

static void test_selection_stored_and_audited(void **state)
{
    struct fixture *f = *state;
    struct review_settings s;
    assert_int_equal(review_settings_get(f->db, INSTALL, &s), 0);
    /* the default: nothing excluded, i.e. every loaded list and topic */
    assert_int_equal(s.lists_excluded.n, 0);
    assert_int_equal(s.topics_excluded.n, 0);

    assert_int_equal(review_selection_add(&s.topics_excluded, "role.pep"), 0);
    assert_int_equal(review_selection_add(&s.lists_excluded, "un-consolidated"), 0);
    assert_int_equal(review_selection_add(&s.lists_excluded, "ofac-cons"), 0);
    /* no signed-in account: refused, nothing stored */
    assert_int_equal(review_settings_set(f->db, INSTALL, NULL, &s), CAPP_EPERM);
    assert_int_equal(
        review_settings_set(f->db, INSTALL, &(struct review_actor){.user_id = "user_1"}, &s),
        CAPP_EPERM);
    struct review_settings got;
    assert_int_equal(review_settings_get(f->db, INSTALL, &got), 0);
    assert_int_equal(got.lists_excluded.n, 0);

    assert_int_equal(review_settings_set(f->db, INSTALL, BY(ALICE), &s), 0);
    assert_int_equal(review_settings_set(f->db, INSTALL, BY(ALICE), &s), 0); /* unchanged */
    assert_int_equal(review_settings_get(f->db, INSTALL, &got), 0);
    assert_int_equal(got.lists_excluded.n, 2);
    assert_string_equal(got.lists_excluded.names[0], "ofac-cons");
    assert_string_equal(got.lists_excluded.names[1], "un-consolidated");
    assert_int_equal(got.topics_excluded.n, 1);
    assert_string_equal(got.topics_excluded.names[0], "role.pep");
    assert_true(got.four_eyes); /* the others keep their values */
    assert_false(got.screen_tokenized);
    struct review_settings other;
    assert_int_equal(review_settings_get(f->db, OTHER, &other), 0);
    assert_int_equal(other.lists_excluded.n + other.topics_excluded.n, 0);

    /* topics back to everything: one record, for the topics only */
    got.topics_excluded.n = 0;
    assert_int_equal(review_settings_set(f->db, INSTALL, BY(ALICE), &got), 0);
    char text[4096];
    config_changes(f, text, sizeof text);
    assert_string_equal(text,
                        "{\"from\":[],\"setting\":\"lists_excluded\",\"to\":[\"ofac-cons\","
                        "\"un-consolidated\"]}\n"
                        "{\"from\":[],\"setting\":\"topics_excluded\",\"to\":[\"role.pep\"]}\n"
                        "{\"from\":[\"role.pep\"],\"setting\":\"topics_excluded\",\"to\":[]}\n");

    /* what review_selection_add cannot build is refused: nothing stored, nothing audited */
    struct review_settings bad = got;
    snprintf(bad.lists_excluded.names[0], sizeof bad.lists_excluded.names[0], "OFAC SDN");
    assert_int_equal(review_settings_set(f->db, INSTALL, BY(ALICE), &bad), CAPP_EINVAL);
    bad = got;
    snprintf(bad.lists_excluded.names[0], sizeof bad.lists_excluded.names[0], "zz"); /* order */
    assert_int_equal(review_settings_set(f->db, INSTALL, BY(ALICE), &bad), CAPP_EINVAL);
    bad = got;
    bad.topics_excluded.n = 1;
    bad.topics_excluded.names[0][0] = '\0';
    assert_int_equal(review_settings_set(f->db, INSTALL, BY(ALICE), &bad), CAPP_EINVAL);
    bad = got;
    bad.lists_excluded.n = REVIEW_SELECTION_MAX + 1;
    assert_int_equal(review_settings_set(f->db, INSTALL, BY(ALICE), &bad), CAPP_EINVAL);
    char after[4096];
    config_changes(f, after, sizeof after);
    assert_string_equal(after, text);

    struct audit_report report;
    assert_int_equal(audit_verify(sql_sqlite_handle(f->db), INSTALL, &report), 0);
    assert_int_equal(report.tampered, 0);
    assert_int_equal(report.installs[0].records, 3);
    audit_report_free(&report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selection_names),
        cmocka_unit_test_setup_teardown(test_selection_stored_and_audited, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
