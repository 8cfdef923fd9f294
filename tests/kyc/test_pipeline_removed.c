/*
 * test_pipeline_removed.c — identities deleted in Blnk, end to end: the real cloudsim (seeded
 * with planted matches) and the real `kyc serve`.
 *
 *   - two identities are deleted from Core (one with an open alert, one clear); the next run's
 *     walk does not list them, Blnk confirms each with a 404, and they are marked removed:
 *     kept with removed_at, out of the queue and of the counts by status (counted "removed"),
 *     one identity_removed audit record each, the open alert resolved in Cloud, no write-back;
 *   - the others are untouched (nothing else marked; the audit chain verifies);
 *   - a decision on a removed identity is refused (409 identity_removed);
 *   - the identity comes back in Core: the next run re-screens it and clears removed_at.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_pipeline_kit.h"

static void core_exec(const struct kit *k, const char *sql)
{
    sqlite3 *cs = NULL;
    assert_int_equal(sqlite3_open(k->cs_db, &cs), SQLITE_OK);
    sqlite3_busy_timeout(cs, 5000);
    char *err = NULL;
    if (sqlite3_exec(cs, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("cloudsim SQL failed: %s: %s", err ? err : "?", sql);
    sqlite3_close(cs);
}

static long long removed_rows(const struct kit *k)
{
    return kit_int(k->kyc_db,
                   "SELECT count(*) FROM kyc_identities WHERE installed_app_id = ?"
                   " AND removed_at IS NOT NULL",
                   k->installed_app_id);
}

static void run_now(const struct kit *k, const char *cookie, const char *csrf)
{
    long long runs = kit_runs_finished(k);
    struct ts_response r;
    kit_portal_call(k, "POST", "/portal/api/runs", cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 202);
    ts_response_free(&r);
    kit_wait_runs(k, runs + 1, 20000);
}

static void test_deleted_identities_are_kept_and_marked(void **state)
{
    (void)state;
    struct kit k;
    kit_start_cloudsim(&k, NULL);
    kit_seed(&k, 60, 0.25, 0.0);
    kit_register(&k);
    kit_start_kyc(&k, NULL);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 20000);
    char cookie[700], csrf[200];
    kit_portal_session(&k, cookie, sizeof cookie, csrf, sizeof csrf);
    struct kit_reviewer ada; /* changes need a signed-in reviewer (D23′) */
    kit_reviewer_create(&k, cookie, csrf, NULL, "Ada", &ada);

    char flagged[160] = "", clear[160] = "", sql[1200];
    assert_true(kit_text(k.kyc_db,
                         "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ?"
                         " AND status IN ('needs_review', 'hit') AND alert_state = 'open'"
                         " ORDER BY identity_id LIMIT 1",
                         k.installed_app_id, NULL, flagged, sizeof flagged));
    assert_true(kit_text(k.kyc_db,
                         "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ?"
                         " AND status = 'clear' ORDER BY identity_id LIMIT 1",
                         k.installed_app_id, NULL, clear, sizeof clear));
    /* wait for the first run's write-backs, so the count below is the second run's */
    for (long waited = 0; kit_audit_count(&k, "POST", "/metadata") < 60; waited += 100) {
        assert_true(waited < 20000);
        ts_sleep_ms(100);
    }
    long metadata_before = kit_audit_count(&k, "POST", "/metadata");

    /* both deleted in Core (the clear one kept aside to come back later) */
    snprintf(sql, sizeof sql,
             "CREATE TABLE kept AS SELECT * FROM core_identities WHERE identity_id = '%s';"
             "DELETE FROM core_identities WHERE identity_id IN ('%s', '%s');",
             clear, clear, flagged);
    core_exec(&k, sql);
    run_now(&k, cookie, csrf);

    assert_int_equal(removed_rows(&k), 2);
    char text[64];
    assert_true(
        kit_text(k.kyc_db,
                 "SELECT CASE WHEN removed_at IS NOT NULL THEN 1 ELSE 0 END FROM kyc_identities"
                 " WHERE installed_app_id = ? AND identity_id = ?",
                 k.installed_app_id, flagged, text, sizeof text));
    assert_string_equal(text, "1");
    /* each was confirmed with Blnk before it was marked */
    char path[300];
    snprintf(path, sizeof path, "/data/identities/%s", flagged);
    assert_true(kit_audit_count(&k, "GET", path) >= 1);
    /* one audit record each, and the chain still verifies */
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT count(*) FROM kyc_audit_log WHERE installed_app_id = ?"
                             " AND kind = 'identity_removed'",
                             k.installed_app_id),
                     2);
    char bin[512], cmd[1200];
    ts_binary("kyc", bin, sizeof bin);
    snprintf(cmd, sizeof cmd, "'%s' audit verify --db '%s' >/dev/null 2>&1", bin, k.kyc_db);
    assert_int_equal(system(cmd), 0);

    /* out of the queue and of the counts by status, counted "removed" */
    json_t *progress = kit_portal_json(&k, "/portal/api/progress", cookie, csrf);
    json_t *counts = json_object_get(progress, "counts");
    assert_int_equal(json_integer_value(json_object_get(counts, "removed")), 2);
    assert_int_equal(json_integer_value(json_object_get(counts, "total")), 58);
    json_decref(progress);
    json_t *queue = kit_portal_json(&k, "/portal/api/identities?page_size=200", cookie, csrf);
    assert_int_equal(json_integer_value(json_object_get(queue, "total")), 58);
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(queue, "items"), i, item)
    {
        const char *id = json_string_value(json_object_get(item, "identity_id"));
        assert_string_not_equal(id, flagged);
        assert_string_not_equal(id, clear);
    }
    json_decref(queue);
    /* the identity itself is still there, with when it was noticed */
    snprintf(path, sizeof path, "/portal/api/identities/%s", flagged);
    json_t *ident = kit_portal_json(&k, path, cookie, csrf);
    assert_true(json_is_string(json_object_get(ident, "removed_at")));
    json_decref(ident);

    /* the open alert is resolved in Cloud; nothing is written to the deleted identities */
    for (long waited = 0;; waited += 100) {
        assert_true(kit_text(k.kyc_db,
                             "SELECT alert_state FROM kyc_identities WHERE installed_app_id = ?"
                             " AND identity_id = ?",
                             k.installed_app_id, flagged, text, sizeof text));
        if (strcmp(text, "resolved") == 0)
            break;
        assert_true(waited < 20000);
        ts_sleep_ms(100);
    }
    assert_int_equal(kit_audit_count(&k, "POST", "/metadata"), metadata_before);

    /* a decision on it is refused, and changes nothing */
    char body[400];
    snprintf(body, sizeof body,
             "{\"identity_id\":\"%s\",\"action\":\"approve\",\"note\":\"checked\"}", flagged);
    struct ts_response r;
    kit_portal_send(&k, "POST", "/portal/api/decisions", body, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 409);
    assert_non_null(strstr(r.body, "\"identity_removed\""));
    ts_response_free(&r);
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT count(*) FROM kyc_audit_log WHERE installed_app_id = ?"
                             " AND kind = 'decision'",
                             k.installed_app_id),
                     0);

    /* a run with nothing new marks nothing more */
    run_now(&k, cookie, csrf);
    assert_int_equal(removed_rows(&k), 2);

    /* the clear one comes back in Core: re-screened, no longer removed */
    core_exec(&k, "INSERT INTO core_identities SELECT * FROM kept; DROP TABLE kept;");
    run_now(&k, cookie, csrf);
    assert_int_equal(removed_rows(&k), 1);
    assert_true(kit_text(k.kyc_db,
                         "SELECT CASE WHEN removed_at IS NULL THEN 1 ELSE 0 END FROM kyc_identities"
                         " WHERE installed_app_id = ? AND identity_id = ?",
                         k.installed_app_id, clear, text, sizeof text));
    assert_string_equal(text, "1");
    progress = kit_portal_json(&k, "/portal/api/progress", cookie, csrf);
    counts = json_object_get(progress, "counts");
    assert_int_equal(json_integer_value(json_object_get(counts, "removed")), 1);
    assert_int_equal(json_integer_value(json_object_get(counts, "total")), 59);
    json_decref(progress);
    kit_stop(&k);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_deleted_identities_are_kept_and_marked, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
