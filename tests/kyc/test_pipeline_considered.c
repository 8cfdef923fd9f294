/*
 * test_pipeline_considered.c — a discounted candidate is kept, end to end: the real cloudsim and
 * the real `kyc serve` with the OFAC and UN fixtures.
 *
 * An identity named exactly like OFAC 2676 (AL ZAWAHIRI, Ayman: DOB 19 Jun 1951, nationality
 * Egypt) but born in 1990 and Norwegian: the name alone reaches the review floor, the
 * qualifiers clear it. The candidate shows in the stored result, the portal identity page
 * ("Considered and discounted"), the dossier and the audit log; the write-back to Blnk
 * (meta_data.kyc) carries no list detail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_pipeline_kit.h"

#define DISCOUNTED_ID "idt_considered0000000000000001"

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

static void test_discounted_candidate_end_to_end(void **state)
{
    (void)state;
    struct kit k;
    kit_start_cloudsim(&k, NULL);
    kit_seed(&k, 5, 0.0, 0.0);
    char sql[1200];
    snprintf(sql, sizeof sql,
             "INSERT INTO core_identities (identity_id, instance_id, identity_type, first_name,"
             " last_name, gender, nationality, country, dob, created_at, meta_data) VALUES"
             " ('%s', '%s', 'individual', 'Ayman', 'Al Zawahiri', 'male', 'NO', 'NO',"
             " '1990-03-03', '2024-06-01T00:00:00.000000Z', NULL)",
             DISCOUNTED_ID, k.instance_id);
    core_exec(&k, sql);
    kit_register(&k);
    kit_start_kyc(&k, NULL);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 20000);

    /* the stored result: clear, no match, the candidate considered and discounted */
    char text[20000] = "";
    /* the same summary from SQLite's and PostgreSQL's JSON functions */
    const char *summary =
        engine_kit_postgres()
            ? "SELECT status || ' ' || json_array_length(detail::json -> 'matches') || ' ' ||"
              " (SELECT string_agg((c ->> 'entry_id') || ':' || CASE WHEN (c ->> 'discounted')"
              " = 'true' THEN '1' ELSE '0' END, ',')"
              " FROM json_array_elements(detail::json -> 'considered') AS c)"
              " FROM kyc_identities WHERE installed_app_id = ? AND identity_id = ?"
            : "SELECT status || ' ' || json_array_length(detail, '$.matches') || ' ' ||"
              " (SELECT group_concat(json_extract(c.value, '$.entry_id') || ':' ||"
              " json_extract(c.value, '$.discounted')) FROM"
              " json_each(detail, '$.considered') AS c)"
              " FROM kyc_identities WHERE installed_app_id = ? AND identity_id = ?";
    assert_true(kit_text(k.kyc_db, summary, k.installed_app_id, DISCOUNTED_ID, text, sizeof text));
    assert_int_equal(strncmp(text, "clear 0 ", 8), 0);
    assert_non_null(strstr(text, "ofac:2676:1"));

    /* the audit log's screening record */
    assert_true(kit_text(k.kyc_db,
                         "SELECT payload FROM kyc_audit_log WHERE installed_app_id = ?"
                         " AND identity_id = ? AND kind = 'screening' ORDER BY seq DESC LIMIT 1",
                         k.installed_app_id, DISCOUNTED_ID, text, sizeof text));
    json_t *audit = json_loads(text, 0, NULL);
    assert_non_null(audit);
    const json_t *c = json_array_get(json_object_get(audit, "considered"), 0);
    size_t i;
    json_t *v;
    int in_audit = 0;
    json_array_foreach(json_object_get(audit, "considered"), i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "entry_id")), "ofac:2676") == 0) {
            in_audit = 1;
            c = v;
        }
    }
    assert_true(in_audit);
    assert_true(json_is_true(json_object_get(c, "discounted")));
    assert_true(json_array_size(json_object_get(c, "qualifiers")) > 0);
    json_decref(audit);

    /* the portal identity page and the dossier */
    char cookie[700], csrf[200], path[300];
    kit_portal_session(&k, cookie, sizeof cookie, csrf, sizeof csrf);
    struct ts_response r;
    snprintf(path, sizeof path, "/portal?view=identity&id=%s", DISCOUNTED_ID);
    kit_portal_call(&k, "GET", path, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    const char *section = strstr(r.body, "Considered and discounted");
    assert_non_null(section);
    const char *end = strstr(section, "</section>");
    assert_non_null(end);
    const char *entry = strstr(section, "ofac:2676");
    assert_true(entry && entry < end);
    assert_non_null(strstr(section, "AL ZAWAHIRI"));
    assert_non_null(strstr(section, "nationality_mismatch"));
    assert_non_null(strstr(section, ">discounted<"));
    ts_response_free(&r);
    snprintf(path, sizeof path, "/portal/api/identities/%s/dossier", DISCOUNTED_ID);
    json_t *dossier = kit_portal_json(&k, path, cookie, csrf);
    char *dossier_text = json_dumps(dossier, JSON_COMPACT);
    json_decref(dossier);
    assert_non_null(dossier_text);
    const char *cons = strstr(dossier_text, "\"considered\"");
    assert_non_null(cons);
    assert_non_null(strstr(cons, "ofac:2676"));
    free(dossier_text);

    /* the write-back to Blnk: the status, no list detail */
    char meta[4000] = "";
    for (long waited = 0;; waited += 100) {
        meta[0] = 0;
        kit_text(k.cs_db,
                 "SELECT coalesce(meta_data, '') FROM core_identities WHERE identity_id = ?",
                 DISCOUNTED_ID, NULL, meta, sizeof meta);
        if (strstr(meta, "kyc_status"))
            break;
        assert_true(waited < 20000);
        ts_sleep_ms(100);
    }
    assert_non_null(strstr(meta, "\"clear\""));
    assert_null(strstr(meta, "ofac:2676"));
    assert_null(strstr(meta, "considered"));
    assert_null(strstr(meta, "ZAWAHIRI"));
    assert_null(strstr(meta, "qualifiers"));
    kit_stop(&k);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_discounted_candidate_end_to_end, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
