/*
 * test_pipeline_audit.c — the pipeline's audit records, end to end (the real cloudsim and the
 * real `kyc serve`): after a run the install's chain holds one "screening" record per screened
 * identity (input_sha256, no customer name), one "list_load" for the generation, a "writeback"
 * per metadata write and an "alert" per alert raised; a second run against the same lists adds
 * no list_load; `kyc audit verify --db` exits 0. When an identity's data changes so that its
 * stored status changes, the re-screening appends a "status_change" record (from, to, reasons,
 * check_id) and the result carries the identity's new fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_pipeline_kit.h"

static long long audit_count(const struct kit *k, const char *where)
{
    char sql[1400];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM kyc_audit_log WHERE installed_app_id = ? AND (%s)", where);
    return kit_int(k->kyc_db, sql, k->installed_app_id);
}

static long long results(const struct kit *k, const char *where)
{
    char sql[1400];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM kyc_identities WHERE installed_app_id = ? AND (%s)", where);
    return kit_int(k->kyc_db, sql, k->installed_app_id);
}

/* Fails when a screening payload contains one of the customers' names (case-insensitive). */
static void assert_no_names(const struct kit *k)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(k->kyc_db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char attach[400];
    snprintf(attach, sizeof attach, "ATTACH DATABASE '%s' AS cs", k->cs_db);
    assert_int_equal(sqlite3_exec(db, attach, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    /* Names of at least 5 characters with a letter outside a-f: shorter or hex-only names
     * ("Ada", "Abe") also occur by chance inside the payload's random hashes and ids. */
#define NAME_IN_PAYLOAD(col)                                           \
    " (length(i." col ") >= 5 AND lower(i." col ") GLOB '*[g-z]*' AND" \
    " instr(lower(a.payload), lower(i." col ")) > 0)"
    const char *sql = "SELECT count(*), count(DISTINCT i.identity_id) FROM kyc_audit_log a"
                      " JOIN cs.core_identities i ON i.identity_id = a.identity_id"
                      " WHERE a.installed_app_id = ?1 AND a.kind = 'screening' AND "
                      "(" NAME_IN_PAYLOAD("first_name") " OR " NAME_IN_PAYLOAD(
                          "last_name") " OR " NAME_IN_PAYLOAD("organization_name") ")";
#undef NAME_IN_PAYLOAD
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, k->installed_app_id, -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 0);
    sqlite3_finalize(st);
    /* the join itself works: every screened identity is found in cloudsim */
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM kyc_audit_log a JOIN"
                                        " cs.core_identities i USING (identity_id)"
                                        " WHERE a.installed_app_id = ? AND a.kind = 'screening'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, k->installed_app_id, -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_true(sqlite3_column_int64(st, 0) > 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void verify_chain(const struct kit *k)
{
    char bin[512], cmd[1400];
    ts_binary("kyc", bin, sizeof bin);
    snprintf(cmd, sizeof cmd, "'%s' audit verify --db '%s' >'%s/verify.log' 2>&1", bin, k->kyc_db,
             k->dir);
    int status = system(cmd);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char log[400];
        snprintf(log, sizeof log, "%s/verify.log", k->dir);
        char *text = ts_read_file(log, NULL);
        fail_msg("kyc audit verify failed:\n%s", text ? text : "(no output)");
    }
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

    long long stored = results(&k, "1");
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
    assert_int_equal(audit_count(&k, "kind = 'screening' AND length(json_extract(payload,"
                                     " '$.input_sha256')) = 64 AND json_extract(payload,"
                                     " '$.lists_key') IS NOT NULL AND json_extract(payload,"
                                     " '$.engine_version') IS NOT NULL"),
                     80);
    /* the payload's status is the computed one */
    assert_int_equal(
        kit_int(k.kyc_db,
                "SELECT count(*) FROM kyc_identities r JOIN kyc_audit_log a USING"
                " (installed_app_id, identity_id) WHERE r.installed_app_id = ? AND"
                " a.kind = 'screening' AND json_extract(a.payload, '$.status') = r.computed_status",
                k.installed_app_id),
        80);
    assert_no_names(&k);
    assert_int_equal(audit_count(&k, "kind = 'list_load' AND identity_id IS NULL"), 1);
    /* every completed metadata write and every alert raised */
    assert_int_equal(audit_count(&k, "kind = 'writeback'"),
                     results(&k, "writeback_state = 'done'"));
    long long alerts = results(&k, "anomaly_id IS NOT NULL");
    assert_true(alerts > 0);
    assert_int_equal(audit_count(&k, "kind = 'alert' AND json_extract(payload, '$.action') ="
                                     " 'created'"),
                     alerts);
    verify_chain(&k);

    /* a restart with the same lists: nothing screened, no second list_load */
    kit_stop_kyc(&k);
    kit_start_kyc(&k, NULL);
    kit_wait_runs(&k, 2, 20000);
    assert_int_equal(audit_count(&k, "kind = 'list_load'"), 1);
    assert_int_equal(audit_count(&k, "kind = 'screening'"), 80);
    verify_chain(&k);
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

    char where[1000];
    snprintf(where, sizeof where,
             "kind = 'status_change' AND actor = 'system' AND identity_id = '%s' AND"
             " json_extract(payload, '$.from') = 'clear' AND json_extract(payload, '$.to') ="
             " 'needs_review' AND payload LIKE '%%\"minor\"%%' AND json_extract(payload,"
             " '$.check_id') = (SELECT check_id FROM kyc_identities r WHERE r.installed_app_id ="
             " kyc_audit_log.installed_app_id AND r.identity_id = kyc_audit_log.identity_id)",
             id);
    assert_int_equal(audit_count(&k, where), 1);
    assert_int_equal(audit_count(&k, "kind = 'status_change'"), 1);
    /* no PII in it: only from, to, reasons, check_id */
    assert_int_equal(audit_count(&k, "kind = 'status_change' AND (SELECT count(*) FROM"
                                     " json_each(payload)) = 4"),
                     1);
    /* the stored result carries the identity's new fields */
    snprintf(where, sizeof where,
             "identity_id = '%s' AND status = 'needs_review' AND"
             " json_extract(identity_fields, '$.dob') = '2020-01-01' AND"
             " json_extract(identity_fields, '$.identity_type') = 'individual'",
             id);
    assert_int_equal(results(&k, where), 1);
    verify_chain(&k);
    kit_stop(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_run_appends_audit_records, kit_teardown),
        cmocka_unit_test_teardown(test_status_change_is_audited, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
