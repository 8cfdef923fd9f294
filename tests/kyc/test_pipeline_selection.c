/*
 * test_pipeline_selection.c — an install chooses which lists and topics it screens against
 * (issue 12), end to end: the real cloudsim and the real `kyc serve` with the OFAC and UN
 * fixtures and the OpenSanctions US Congress sample (PEPs) loaded.
 *
 * Two customers: one who matches only a PEP entry (Jennifer McClellan) and one who matches only
 * a sanctions entry (OFAC fixture 2674 "ABBAS, Abu").
 *   - with everything (the default) they are pep_match and sanctions_match;
 *   - the portal's settings offer the loaded lists and topics; unknown names, an empty choice
 *     and malformed values are refused with their codes, and each change is audited;
 *   - only "sanction": the next run re-screens every identity; the PEP customer is clear, the
 *     sanctioned one still matched; only "role.pep": the other way round;
 *   - every topic but without the OpenSanctions list: the PEP customer is clear again;
 *   - everything again: both matched again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cs_testkit.h"
#include "test_pipeline_kit.h"

static void gateway_call(const struct kit *k, const char *key, const char *method, const char *path,
                         const char *body, struct ts_response *r)
{
    char url[600], auth[300];
    snprintf(url, sizeof url, "%s%s?instance_id=%s", k->cs.url, path, k->instance_id);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    ts_http(method, url, body, headers, r);
}

static void create_identity(const struct kit *k, const char *key, const char *json, char *id,
                            size_t cap)
{
    struct ts_response r;
    gateway_call(k, key, "POST", "/proxy/identities", json, &r);
    TS_ASSERT_STATUS(r, 201);
    assert_int_equal(ts_json_string(&r, "identity_id", id, cap), 0);
    ts_response_free(&r);
}

static void identity_row(const struct kit *k, const char *id, const char *column, char *out,
                         size_t cap)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM kyc_identities WHERE installed_app_id = ? AND identity_id = ?",
             column);
    assert_true(kit_text(k->kyc_db, sql, k->installed_app_id, id, out, cap));
}

/* The identity's status is `status` (or, for "matched", hit or needs_review) and its reasons
 * hold `reason` (NULL: none of the match reasons). */
static void assert_screened(const struct kit *k, const char *id, const char *reason)
{
    char status[64], reasons[4096];
    identity_row(k, id, "status", status, sizeof status);
    identity_row(k, id, "reasons", reasons, sizeof reasons);
    if (reason) {
        if (!strstr(reasons, reason))
            fail_msg("%s: expected %s, got %s %s", id, reason, status, reasons);
        assert_true(strcmp(status, "hit") == 0 || strcmp(status, "needs_review") == 0);
    } else {
        if (strstr(reasons, "_match"))
            fail_msg("%s: expected no match, got %s %s", id, status, reasons);
        assert_string_equal(status, "clear");
    }
}

static void put_settings(const struct kit *k, const char *cookie, const char *csrf,
                         const char *body, long status, const char *code)
{
    struct ts_response r;
    kit_portal_send(k, "PUT", "/portal/api/settings", body, cookie, csrf, &r);
    if (r.status != status)
        fail_msg("PUT %s: %ld %s", body, (long)r.status, r.body ? r.body : "");
    if (code) {
        char quoted[80];
        snprintf(quoted, sizeof quoted, "\"%s\"", code);
        if (!strstr(r.body, quoted))
            fail_msg("PUT %s: expected code %s, got %s", body, code, r.body);
    }
    ts_response_free(&r);
}

/* Starts a run and waits for it (the n-th of the install). */
static void run(const struct kit *k, const char *cookie, const char *csrf, long long n)
{
    struct ts_response r;
    kit_portal_call(k, "POST", "/portal/api/runs", cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 202);
    ts_response_free(&r);
    kit_wait_runs(k, n, 30000);
}

static long long last_run_screened(const struct kit *k)
{
    return kit_int(k->kyc_db,
                   "SELECT screened FROM kyc_runs WHERE installed_app_id = ? ORDER BY run_id DESC"
                   " LIMIT 1",
                   k->installed_app_id);
}

static long long audited(const struct kit *k, const char *setting)
{
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM kyc_audit_log WHERE installed_app_id = ? AND kind ="
             " 'config_change' AND payload LIKE '%%\"setting\":\"%s\"%%'",
             setting);
    return kit_int(k->kyc_db, sql, k->installed_app_id);
}

static int has_name(const json_t *array, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v) if (strcmp(json_string_value(v), name) == 0) return 1;
    return 0;
}

static void test_install_chooses_lists_and_topics(void **state)
{
    (void)state;
    const char *shared = getenv("KYC_SHARED_DIR");
    char pep_list[700];
    snprintf(pep_list, sizeof pep_list,
             "%s/data/sanctions/opensanctions-us-congress-2026-01/us_congress_senzing.json",
             shared ? shared : "../shared");
    if (access(pep_list, R_OK) != 0)
        skip();
    struct kit k;
    kit_start_cloudsim(&k, NULL);
    kit_seed(&k, 5, 0.0, 0.0);
    kit_register(&k);

    /* a second app with data:write creates the two customers */
    struct fake_app writer;
    fake_app_start(&writer);
    char writer_app[160], writer_install[160];
    register_fake_app(&k.cs, &writer, "[\"data:read\",\"data:write\"]", writer_app,
                      sizeof writer_app);
    assert_int_equal(install_app(&k.cs, writer_app, "[\"data:read\",\"data:write\"]", NULL,
                                 writer_install, sizeof writer_install),
                     201);
    char pep_id[160], sdn_id[160];
    create_identity(&k, writer.api_key,
                    "{\"identity_type\":\"individual\",\"first_name\":\"Jennifer\",\"last_name\":"
                    "\"McClellan\",\"dob\":\"1972-05-05T00:00:00Z\",\"nationality\":\"US\","
                    "\"country\":\"US\",\"gender\":\"female\",\"email_address\":"
                    "\"jm@example.com\"}",
                    pep_id, sizeof pep_id);
    create_identity(&k, writer.api_key,
                    "{\"identity_type\":\"individual\",\"first_name\":\"Abu\",\"last_name\":"
                    "\"Abbas\",\"dob\":\"1948-12-10T00:00:00Z\",\"nationality\":\"PS\","
                    "\"country\":\"PS\",\"email_address\":\"abu@example.com\"}",
                    sdn_id, sizeof sdn_id);
    fake_app_stop(&writer);

    const char *extra[] = {"--lists", pep_list, NULL};
    kit_start_kyc(&k, extra);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 30000);
    long long total = kit_int(k.kyc_db,
                              "SELECT count(*) FROM kyc_identities WHERE"
                              " installed_app_id = ?",
                              k.installed_app_id);
    assert_int_equal(total, 7);

    /* everything (the default) */
    assert_screened(&k, pep_id, "pep_match");
    assert_screened(&k, sdn_id, "sanctions_match");

    char cookie[700], csrf[200];
    kit_portal_session(&k, cookie, sizeof cookie, csrf, sizeof csrf);
    /* changing the choice needs a signed-in reviewer */
    put_settings(&k, cookie, csrf, "{\"screen_topics\":[\"sanction\"]}", 403, "sign_in_required");
    struct kit_reviewer admin;
    kit_reviewer_create(&k, cookie, csrf, NULL, "Ada", &admin);

    /* the settings offer what is loaded, all chosen */
    json_t *settings = kit_portal_json(&k, "/portal/api/settings", cookie, csrf);
    json_t *lists = json_object_get(settings, "lists_loaded");
    json_t *topics = json_object_get(settings, "topics_loaded");
    assert_true(has_name(lists, "ofac-sdn"));
    assert_true(has_name(topics, "sanction"));
    assert_true(has_name(topics, "role.pep"));
    char pep_source[64] = "";
    size_t i;
    json_t *v;
    json_array_foreach(lists, i, v)
    {
        if (strncmp(json_string_value(v), "opensanctions-", 14) == 0)
            snprintf(pep_source, sizeof pep_source, "%s", json_string_value(v));
    }
    assert_true(pep_source[0]);
    assert_true(json_equal(json_object_get(settings, "screen_lists"), lists));
    assert_true(json_equal(json_object_get(settings, "screen_topics"), topics));
    /* and every other list, for the PUT below */
    char others[1024] = "";
    json_array_foreach(lists, i, v)
    {
        if (strcmp(json_string_value(v), pep_source) != 0) {
            size_t n = strlen(others);
            snprintf(others + n, sizeof others - n, "%s\"%s\"", n ? "," : "", json_string_value(v));
        }
    }
    json_decref(settings);

    /* the overview's review policy form: a checkbox per loaded list and topic, checked */
    struct ts_response r;
    kit_portal_send(&k, "GET", "/portal", NULL, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "name=\"screen_topics\" value=\"role.pep\" checked>"));
    assert_non_null(strstr(r.body, "name=\"screen_lists\" value=\"ofac-sdn\" checked>"));
    ts_response_free(&r);

    /* precise refusals; nothing changes */
    put_settings(&k, cookie, csrf, "{\"screen_topics\":[\"role.pepx\"]}", 400, "unknown_topic");
    put_settings(&k, cookie, csrf, "{\"screen_lists\":[\"ofac-sdn\",\"nope\"]}", 400,
                 "unknown_list");
    put_settings(&k, cookie, csrf, "{\"screen_topics\":[]}", 400, "empty_selection");
    put_settings(&k, cookie, csrf, "{\"screen_lists\":\"ofac-sdn\"}", 400, NULL);
    put_settings(&k, cookie, csrf, "{\"screen_lists\":[1]}", 400, NULL);
    assert_int_equal(audited(&k, "topics_excluded") + audited(&k, "lists_excluded"), 0);

    /* only sanctions: every identity is re-screened; the PEP is clear */
    put_settings(&k, cookie, csrf, "{\"screen_topics\":[\"sanction\"]}", 200, NULL);
    assert_int_equal(audited(&k, "topics_excluded"), 1);
    kit_portal_send(&k, "GET", "/portal", NULL, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "name=\"screen_topics\" value=\"role.pep\">"));
    assert_non_null(strstr(r.body, "name=\"screen_topics\" value=\"sanction\" checked>"));
    ts_response_free(&r);
    run(&k, cookie, csrf, 2);
    assert_int_equal(last_run_screened(&k), total);
    assert_screened(&k, pep_id, NULL);
    assert_screened(&k, sdn_id, "sanctions_match");

    /* the other way round: only PEPs */
    put_settings(&k, cookie, csrf, "{\"screen_topics\":[\"role.pep\"]}", 200, NULL);
    run(&k, cookie, csrf, 3);
    assert_screened(&k, pep_id, "pep_match");
    assert_screened(&k, sdn_id, NULL);

    /* every topic, every list but the PEP list */
    char body[1200];
    snprintf(body, sizeof body,
             "{\"screen_lists\":[%s],\"screen_topics\":[\"role.pep\","
             "\"sanction\"]}",
             others);
    put_settings(&k, cookie, csrf, body, 200, NULL);
    assert_int_equal(audited(&k, "lists_excluded"), 1);
    settings = kit_portal_json(&k, "/portal/api/settings", cookie, csrf);
    assert_false(has_name(json_object_get(settings, "screen_lists"), pep_source));
    assert_true(has_name(json_object_get(settings, "screen_lists"), "ofac-sdn"));
    json_decref(settings);
    run(&k, cookie, csrf, 4);
    assert_screened(&k, pep_id, NULL);
    assert_screened(&k, sdn_id, "sanctions_match");

    /* everything again, as by default */
    snprintf(body, sizeof body, "{\"screen_lists\":[%s,\"%s\"]}", others, pep_source);
    put_settings(&k, cookie, csrf, body, 200, NULL);
    run(&k, cookie, csrf, 5);
    assert_int_equal(last_run_screened(&k), total);
    assert_screened(&k, pep_id, "pep_match");
    assert_screened(&k, sdn_id, "sanctions_match");
    /* unchanged since: the next run re-screens nothing */
    run(&k, cookie, csrf, 6);
    assert_int_equal(last_run_screened(&k), 0);
    kit_stop(&k);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_install_chooses_lists_and_topics, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
