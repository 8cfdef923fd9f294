/*
 * test_pipeline_audit.c — the pipeline's audit records, end to end (the real cloudsim and the
 * real `kyc serve`): after a run the install's chain holds one "screening" record per screened
 * identity (input_sha256, no customer name), one "list_load" for the generation, a "writeback"
 * per metadata write and an "alert" per alert raised; a second run against the same lists adds
 * no list_load; `kyc audit verify --db` exits 0. When an identity's data changes so that its
 * stored status changes, the re-screening appends a "status_change" record (from, to, reasons,
 * check_id) and the result carries the identity's new fields.
 *
 * kyc_pipeline_audit_pg runs both cases on PostgreSQL (engine_kit.h): the payload checks use
 * each engine's JSON functions (kit_json_text), the name check joins copies of cloudsim's names
 * (kit_cs_copy), and `kyc audit verify` gets the connection string.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_pipeline_kit.h"

static long long audit_count(const struct kit *k, const char *where)
{
    return kit_count(k, "kyc_audit_log", where);
}

static long long results(const struct kit *k, const char *where)
{
    return kit_count(k, "kyc_identities", where);
}

/* Fails when a screening payload contains one of the customers' names (case-insensitive). */
static void assert_no_names(const struct kit *k)
{
    struct sql_conn *c = kit_kyc_conn(k);
    /* Names of at least 5 characters with a letter outside a-f: shorter or hex-only names
     * ("Ada", "Abe") also occur by chance inside the payload's random hashes and ids. Chosen
     * on cloudsim's side (GLOB is SQLite's), lower-cased for the portable LIKE below. */
#define NAME_OF(col)                                                                    \
    "SELECT identity_id, lower(" col ") AS name FROM core_identities WHERE length(" col \
    ") >= 5 AND lower(" col ") GLOB '*[g-z]*'"
    long names = kit_cs_copy(c, k, "cs_names",
                             NAME_OF("first_name") " UNION ALL " NAME_OF(
                                 "last_name") " UNION ALL " NAME_OF("organization_name"));
#undef NAME_OF
    assert_true(names > 0);
    assert_int_equal(kit_conn_int(c,
                                  "SELECT count(*) FROM kyc_audit_log a JOIN cs_names n ON"
                                  " n.identity_id = a.identity_id WHERE a.installed_app_id = ?"
                                  " AND a.kind = 'screening' AND lower(a.payload) LIKE"
                                  " '%' || n.name || '%'",
                                  k->installed_app_id),
                     0);
    /* the join itself works: every screened identity is found in cloudsim */
    kit_cs_copy(c, k, "cs_identities", "SELECT identity_id FROM core_identities");
    assert_int_equal(kit_conn_int(c,
                                  "SELECT count(*) FROM kyc_audit_log a JOIN cs_identities i"
                                  " USING (identity_id) WHERE a.installed_app_id = ? AND"
                                  " a.kind = 'screening'",
                                  k->installed_app_id),
                     audit_count(k, "kind = 'screening'"));
    sql_close(c);
}

static void test_run_appends_audit_records(void **state)
{
    (void)state;
    struct kit k;
    kit_start_cloudsim(&k, NULL);
    kit_seed(&k, 80, 0.10, 0.10);
    kit_register(&k);
    kit_start_kyc(&k, NULL);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 20000);

    long long stored = results(&k, "1 = 1");
    assert_int_equal(stored, 80);
    /* one screening record per screened identity, each with the input hash */
    assert_int_equal(audit_count(&k, "kind = 'screening'"), 80);
    assert_int_equal(
        kit_int(k.kyc_db,
                "SELECT count(*) FROM kyc_identities r WHERE installed_app_id = ?1 AND NOT EXISTS"
                " (SELECT 1 FROM kyc_audit_log a WHERE a.installed_app_id = r.installed_app_id"
                " AND a.identity_id = r.identity_id AND a.kind = 'screening')",
                k.installed_app_id),
        0);
    char where[1400], j1[80], j2[80], j3[80];
    snprintf(where, sizeof where,
             "kind = 'screening' AND length(%s) = 64 AND %s IS NOT NULL AND %s IS NOT NULL",
             kit_json_text(j1, sizeof j1, "payload", "input_sha256"),
             kit_json_text(j2, sizeof j2, "payload", "lists_key"),
             kit_json_text(j3, sizeof j3, "payload", "engine_version"));
    assert_int_equal(audit_count(&k, where), 80);
    /* the payload's status is the computed one */
    char sql[1400];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM kyc_identities r JOIN kyc_audit_log a USING"
             " (installed_app_id, identity_id) WHERE r.installed_app_id = ? AND"
             " a.kind = 'screening' AND %s = r.computed_status",
             kit_json_text(j1, sizeof j1, "a.payload", "status"));
    assert_int_equal(kit_int(k.kyc_db, sql, k.installed_app_id), 80);
    assert_no_names(&k);
    assert_int_equal(audit_count(&k, "kind = 'list_load' AND identity_id IS NULL"), 1);
    /* every completed metadata write and every alert raised */
    assert_int_equal(audit_count(&k, "kind = 'writeback'"),
                     results(&k, "writeback_state = 'done'"));
    long long alerts = results(&k, "anomaly_id IS NOT NULL");
    assert_true(alerts > 0);
    snprintf(where, sizeof where, "kind = 'alert' AND %s = 'created'",
             kit_json_text(j1, sizeof j1, "payload", "action"));
    assert_int_equal(audit_count(&k, where), alerts);
    kit_verify_chain(&k);

    /* a restart with the same lists: nothing screened, no second list_load */
    kit_stop_kyc(&k);
    kit_start_kyc(&k, NULL);
    kit_wait_runs(&k, 2, 20000);
    assert_int_equal(audit_count(&k, "kind = 'list_load'"), 1);
    assert_int_equal(audit_count(&k, "kind = 'screening'"), 80);
    kit_verify_chain(&k);
    kit_stop(&k);
}

static void test_status_change_is_audited(void **state)
{
    (void)state;
    struct kit k;
    kit_start_cloudsim(&k, NULL);
    kit_seed(&k, 40, 0.10, 0.10);
    kit_register(&k);
    kit_start_kyc(&k, NULL);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 20000);
    assert_int_equal(audit_count(&k, "kind = 'status_change'"), 0); /* first screenings */

    /* a clear individual becomes a minor in Core: needs_review on the next run */
    char id[200], sql[600];
    assert_true(kit_text(
        k.kyc_db,
        "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ? AND status = 'clear'"
        " AND identity_type = 'individual' AND reasons = '[]' ORDER BY identity_id LIMIT 1",
        k.installed_app_id, NULL, id, sizeof id));
    kit_stop_kyc(&k);
    sqlite3 *cs = NULL;
    assert_int_equal(sqlite3_open(k.cs_db, &cs), SQLITE_OK);
    sqlite3_busy_timeout(cs, 5000);
    snprintf(sql, sizeof sql,
             "UPDATE core_identities SET dob = '2020-01-01' WHERE identity_id = '%s'", id);
    assert_int_equal(sqlite3_exec(cs, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_changes(cs), 1);
    sqlite3_close(cs);
    kit_start_kyc(&k, NULL);
    kit_wait_runs(&k, 2, 20000);

    char where[1000], j1[80], j2[80], j3[80];
    snprintf(where, sizeof where,
             "kind = 'status_change' AND actor = 'system' AND identity_id = '%s' AND"
             " %s = 'clear' AND %s = 'needs_review' AND payload LIKE '%%\"minor\"%%' AND"
             " %s = (SELECT check_id FROM kyc_identities r WHERE r.installed_app_id ="
             " kyc_audit_log.installed_app_id AND r.identity_id = kyc_audit_log.identity_id)",
             id, kit_json_text(j1, sizeof j1, "payload", "from"),
             kit_json_text(j2, sizeof j2, "payload", "to"),
             kit_json_text(j3, sizeof j3, "payload", "check_id"));
    assert_int_equal(audit_count(&k, where), 1);
    assert_int_equal(audit_count(&k, "kind = 'status_change'"), 1);
    /* no PII in it: only from, to, reasons, check_id */
    snprintf(where, sizeof where, "kind = 'status_change' AND %s = 4",
             kit_json_keys(j1, sizeof j1, "payload"));
    assert_int_equal(audit_count(&k, where), 1);
    /* the stored result carries the identity's new fields */
    snprintf(where, sizeof where,
             "identity_id = '%s' AND status = 'needs_review' AND %s = '2020-01-01' AND"
             " %s = 'individual'",
             id, kit_json_text(j1, sizeof j1, "identity_fields", "dob"),
             kit_json_text(j2, sizeof j2, "identity_fields", "identity_type"));
    assert_int_equal(results(&k, where), 1);
    kit_verify_chain(&k);
    kit_stop(&k);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_run_appends_audit_records, kit_teardown),
        cmocka_unit_test_teardown(test_status_change_is_audited, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
