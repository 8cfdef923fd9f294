/*
 * test_pipeline_paging.c — paging and alerts that survive undocumented gateway behaviour
 * (spec D17′, D28), end to end: the real cloudsim capping pageSize at 20 (--max-page-size) with
 * 1,000 seeded identities, and the real `kyc serve`, once for each GET /alerts envelope
 * (--alerts-list paged | array | unpaged).
 *
 *   - every identity is read and written back exactly once (the walk used to stop when
 *     page × the 100 it asked for reached the total: with a cap of 20 it read 200 of 1,000);
 *   - one alert per identity that needs review, none twice — also after alerts whose creation
 *     outcome was lost ('uncertain') are reconciled on the next run: the ones Cloud has are
 *     adopted, the ones it does not are created once;
 *   - a resolved alert keeps its description with the app's note appended, and its status is
 *     one Cloud listed: RESOLVED, or the app's own KYC_CLEARED where the organization has no
 *     RESOLVED (--without-resolved-status).
 *
 * kyc_pipeline_paging_pg runs the three modes on PostgreSQL (engine_kit.h); the anomaly_id check
 * joins a copy of cloudsim's alerts on kyc's database (test_pipeline_kit.h: kit_cs_copy).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_pipeline_kit.h"

#define IDENTITIES 1000

static const char resolve_note[] =
    "Resolved in the KYC app: a reviewer decided, or a re-screen cleared the identity.";

/* Runs sql on cloudsim's database file (a change in Core or Cloud behind kyc's back). */
static void exec_sql(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("SQL failed: %s: %s", err ? err : "?", sql);
    sqlite3_close(db);
}

static long long results_count(const struct kit *k, const char *where)
{
    return kit_count(k, "kyc_identities", where);
}

/* Metadata write-backs cloudsim audited for the install: all of them, and distinct targets. */
static void writebacks(const struct kit *k, long long *all, long long *distinct)
{
    *all = kit_int(k->cs_db,
                   "SELECT count(*) FROM audit_log WHERE installed_app_id = ? AND method = 'POST'"
                   " AND path LIKE '/proxy/%/metadata' AND status = 200",
                   k->installed_app_id);
    *distinct = kit_int(k->cs_db,
                        "SELECT count(DISTINCT path) FROM audit_log WHERE installed_app_id = ?"
                        " AND method = 'POST' AND path LIKE '/proxy/%/metadata' AND status = 200",
                        k->installed_app_id);
}

/* Every alert Cloud has is for a distinct identity, and there is one per identity that needs
 * review, with the anomaly_id kyc recorded. */
static void assert_alerts_once(const struct kit *k)
{
    long long review = results_count(k, "status IN ('needs_review','hit') AND removed_at IS NULL");
    assert_true(review > 50);
    assert_int_equal(kit_int(k->cs_db, "SELECT count(*) FROM cloud_alerts", NULL), review);
    assert_int_equal(kit_int(k->cs_db, "SELECT count(DISTINCT target_id) FROM cloud_alerts", NULL),
                     review);
    assert_int_equal(results_count(k, "status IN ('needs_review','hit') AND removed_at IS NULL"
                                      " AND alert_state = 'open' AND anomaly_id LIKE 'ano_%'"),
                     review);
    /* kyc's anomaly_id is the one Cloud has for that identity */
    struct sql_conn *c = kit_kyc_conn(k);
    kit_cs_copy(c, k, "cs_alerts", "SELECT target_id, anomaly_id FROM cloud_alerts");
    assert_int_equal(kit_conn_int(c,
                                  "SELECT count(*) FROM kyc_identities r JOIN cs_alerts a ON"
                                  " a.target_id = r.identity_id WHERE r.installed_app_id = ? AND"
                                  " a.anomaly_id = r.anomaly_id",
                                  k->installed_app_id),
                     review);
    sql_close(c);
}

static void restart_and_wait(struct kit *k, long long runs)
{
    kit_stop_kyc(k);
    kit_start_kyc(k, NULL);
    kit_wait_runs(k, runs, 120000);
}

static void run_mode(const char *mode, int without_resolved)
{
    struct kit k;
    const char *args[] = {"--max-page-size",
                          "20",
                          "--alerts-list",
                          mode,
                          without_resolved ? "--without-resolved-status" : NULL,
                          NULL};
    kit_start_cloudsim(&k, args);
    kit_seed(&k, IDENTITIES, 0.10, 0.20);
    kit_register(&k);
    kit_start_kyc(&k, NULL);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 120000);
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT count(*) FROM kyc_runs WHERE installed_app_id = ?"
                             " AND state = 'done'",
                             k.installed_app_id),
                     1);

    /* every identity read and written back exactly once */
    assert_int_equal(results_count(&k, "1 = 1"), IDENTITIES);
    assert_int_equal(results_count(&k, "writeback_state = 'done'"), IDENTITIES);
    long long all, distinct;
    writebacks(&k, &all, &distinct);
    assert_int_equal(all, IDENTITIES);
    assert_int_equal(distinct, IDENTITIES);
    /* the server's cap, not the size asked for, is what a full page held */
    assert_true(kit_int(k.cs_db,
                        "SELECT count(*) FROM audit_log WHERE installed_app_id = ? AND"
                        " method = 'GET' AND path = '/data/identities'",
                        k.installed_app_id) >= IDENTITIES / 20);
    assert_alerts_once(&k);

    /* Creation outcomes lost: five alerts Cloud has and three it does not (deleted there),
     * all 'uncertain' in kyc. The next run adopts the five and creates the three, once. */
    kit_stop_kyc(&k);
    kit_kyc_exec(&k, "UPDATE kyc_identities SET alert_state = 'uncertain', anomaly_id = NULL"
                     " WHERE identity_id IN (SELECT identity_id FROM kyc_identities WHERE"
                     " alert_state = 'open' ORDER BY identity_id LIMIT 8)");
    char sql[1200], lost[8][160];
    for (int i = 0; i < 8; i++) {
        char q[300];
        snprintf(q, sizeof q,
                 "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ? AND"
                 " alert_state = 'uncertain' ORDER BY identity_id LIMIT 1 OFFSET %d",
                 i);
        assert_true(kit_text(k.kyc_db, q, k.installed_app_id, NULL, lost[i], sizeof lost[i]));
    }
    snprintf(sql, sizeof sql, "DELETE FROM cloud_alerts WHERE target_id IN ('%s','%s','%s')",
             lost[5], lost[6], lost[7]);
    exec_sql(k.cs_db, sql);
    char kept_alert[160];
    snprintf(sql, sizeof sql, "SELECT anomaly_id FROM cloud_alerts WHERE target_id = '%s'",
             lost[0]);
    assert_true(kit_text(k.cs_db, sql, NULL, NULL, kept_alert, sizeof kept_alert));
    kit_start_kyc(&k, NULL);
    kit_wait_runs(&k, 2, 120000);
    assert_int_equal(results_count(&k, "alert_state = 'uncertain'"), 0);
    assert_alerts_once(&k);
    char adopted[160];
    assert_true(kit_text(k.kyc_db,
                         "SELECT anomaly_id FROM kyc_identities WHERE installed_app_id = ? AND"
                         " identity_id = ?",
                         k.installed_app_id, lost[0], adopted, sizeof adopted));
    assert_string_equal(adopted, kept_alert);
    writebacks(&k, &all, &distinct);
    assert_int_equal(all, IDENTITIES); /* nothing changed: nothing written again */

    /* D28: an identity with an open alert is deleted in Blnk; its alert is resolved with a
     * status Cloud listed, and keeps its description with the note appended */
    char gone[160], anomaly[160], before[4096], after[4096], status[64];
    assert_true(kit_text(k.kyc_db,
                         "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ? AND"
                         " alert_state = 'open' ORDER BY identity_id DESC LIMIT 1",
                         k.installed_app_id, NULL, gone, sizeof gone));
    assert_true(kit_text(k.kyc_db,
                         "SELECT anomaly_id FROM kyc_identities WHERE installed_app_id = ? AND"
                         " identity_id = ?",
                         k.installed_app_id, gone, anomaly, sizeof anomaly));
    assert_true(kit_text(k.cs_db, "SELECT description FROM cloud_alerts WHERE anomaly_id = ?",
                         anomaly, NULL, before, sizeof before));
    snprintf(sql, sizeof sql, "DELETE FROM core_identities WHERE identity_id = '%s'", gone);
    exec_sql(k.cs_db, sql);
    restart_and_wait(&k, 3);
    char state[32];
    assert_true(kit_text(k.kyc_db,
                         "SELECT alert_state FROM kyc_identities WHERE installed_app_id = ? AND"
                         " identity_id = ?",
                         k.installed_app_id, gone, state, sizeof state));
    assert_string_equal(state, "resolved");
    assert_true(kit_text(k.cs_db, "SELECT status FROM cloud_alerts WHERE anomaly_id = ?", anomaly,
                         NULL, status, sizeof status));
    assert_string_equal(status, without_resolved ? "KYC_CLEARED" : "RESOLVED");
    assert_true(kit_text(k.cs_db, "SELECT description FROM cloud_alerts WHERE anomaly_id = ?",
                         anomaly, NULL, after, sizeof after));
    char expect[4500];
    snprintf(expect, sizeof expect, "%s\n\n%s", before, resolve_note);
    assert_string_equal(after, expect);
    assert_int_equal(kit_int(k.cs_db,
                             "SELECT count(*) FROM cloud_alert_statuses WHERE key = 'KYC_CLEARED'",
                             NULL),
                     without_resolved ? 1 : 0);
    kit_stop(&k);
}

static void test_paged_envelope(void **state)
{
    (void)state;
    run_mode("paged", 0);
}

static void test_bare_array_without_resolved(void **state)
{
    (void)state;
    run_mode("array", 1);
}

static void test_unpaged_list(void **state)
{
    (void)state;
    run_mode("unpaged", 0);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_paged_envelope, kit_teardown),
        cmocka_unit_test_teardown(test_bare_array_without_resolved, kit_teardown),
        cmocka_unit_test_teardown(test_unpaged_list, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
