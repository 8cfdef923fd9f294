/*
 * test_pipeline_tokenized.c — detokenized screening, opt-in, end to end: the real cloudsim with
 * Core's tokenization enabled (CLOUDSIM_TOKENIZATION_SECRET) and the real `kyc serve`.
 *
 * A customer whose name is a near-match of a fixture OFAC entry has first and last name
 * tokenized in Core (POST /proxy/identities/{id}/tokenize, by a second app with data:write).
 *   - by default the names are not screened: needs_review with pii_tokenized, unscreened;
 *   - the portal setting "screen_tokenized" (PUT /portal/api/settings) is audited when changed;
 *   - with it on, the next run reads the names through Core's documented detokenize route
 *     behind /proxy (GET …/detokenize/{Field}, data:read), screens them in memory and raises
 *     the sanctions match;
 *   - the plaintext is nowhere afterwards: not in kyc's database files (WAL included) and not
 *     in either server's log.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cs_testkit.h"
#include "test_pipeline_kit.h"

/* near-matches of OFAC fixture entry 2674 "ABBAS, Abu" (DOB 10 Dec 1948), spelled so that
 * neither appears in any list */
#define PLAIN_FIRST "Abuu"
#define PLAIN_LAST  "Abbbas"

static void gateway_call(const struct kit *k, const char *key, const char *method, const char *path,
                         const char *body, struct ts_response *r)
{
    char url[600], auth[300];
    snprintf(url, sizeof url, "%s%s?instance_id=%s", k->cs.url, path, k->instance_id);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    ts_http(method, url, body, headers, r);
}

/* 1 when the file exists and holds needle, compared without case. */
static int file_has(const char *path, const char *needle)
{
    size_t n = 0;
    char *text = ts_read_file(path, &n);
    if (!text)
        return 0;
    size_t m = strlen(needle);
    int found = 0;
    for (size_t i = 0; !found && i + m <= n; i++) {
        size_t j = 0;
        while (j < m && tolower((unsigned char)text[i + j]) == tolower((unsigned char)needle[j]))
            j++;
        found = j == m;
    }
    free(text);
    return found;
}

static void assert_nowhere(const struct kit *k, const char *plain)
{
    static const char *const files[] = {"kyc.db", "kyc.db-wal", "kyc.db-shm", "kyc.log",
                                        "cloudsim.log"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s", k->dir, files[i]);
        if (file_has(path, plain))
            fail_msg("the plaintext \"%s\" is in %s", plain, path);
    }
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

static void test_tokenized_names_screened_when_opted_in(void **state)
{
    (void)state;
    setenv("CLOUDSIM_TOKENIZATION_SECRET", "0123456789abcdef0123456789abcdef", 1);
    struct kit k;
    kit_start_cloudsim(&k, NULL);
    kit_seed(&k, 20, 0.0, 0.0);
    kit_register(&k);

    /* a second app with data:write creates the customer and tokenizes the names in Core */
    struct fake_app writer;
    fake_app_start(&writer);
    char writer_app[160], writer_install[160];
    register_fake_app(&k.cs, &writer, "[\"data:read\",\"data:write\"]", writer_app,
                      sizeof writer_app);
    assert_int_equal(install_app(&k.cs, writer_app, "[\"data:read\",\"data:write\"]", NULL,
                                 writer_install, sizeof writer_install),
                     201);
    struct ts_response r;
    gateway_call(&k, writer.api_key, "POST", "/proxy/identities",
                 "{\"identity_type\":\"individual\",\"first_name\":\"" PLAIN_FIRST
                 "\",\"last_name\":\"" PLAIN_LAST
                 "\",\"dob\":\"1948-12-10T00:00:00Z\",\"nationality\":\"PS\","
                 "\"country\":\"PS\",\"email_address\":\"abu@example.com\"}",
                 &r);
    TS_ASSERT_STATUS(r, 201);
    char id[160], path[300];
    assert_int_equal(ts_json_string(&r, "identity_id", id, sizeof id), 0);
    ts_response_free(&r);
    snprintf(path, sizeof path, "/proxy/identities/%s/tokenize", id);
    gateway_call(&k, writer.api_key, "POST", path, "{\"fields\":[\"FirstName\",\"LastName\"]}", &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    fake_app_stop(&writer);

    kit_start_kyc(&k, NULL);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 30000);

    /* off by default: to review, unscreened */
    char text[8192];
    identity_row(&k, id, "reasons", text, sizeof text);
    assert_non_null(strstr(text, "pii_tokenized"));
    assert_null(strstr(text, "sanctions_match"));
    identity_row(&k, id, "detail", text, sizeof text);
    assert_non_null(strstr(text, "\"screening\":\"skipped_tokenized\""));
    snprintf(path, sizeof path, "/proxy/identities/%s/detokenize", id);
    assert_int_equal(kit_audit_count(&k, "GET", path), 0);

    /* the setting: refused when malformed, audited when changed (changing it needs a
     * signed-in reviewer, D23′) */
    char cookie[700], csrf[200];
    kit_portal_session(&k, cookie, sizeof cookie, csrf, sizeof csrf);
    struct kit_reviewer admin;
    kit_reviewer_create(&k, cookie, csrf, NULL, "Ada", &admin);
    json_t *settings = kit_portal_json(&k, "/portal/api/settings", cookie, csrf);
    assert_true(json_is_false(json_object_get(settings, "screen_tokenized")));
    json_decref(settings);
    /* the overview's review policy form offers it, unchecked */
    kit_portal_send(&k, "GET", "/portal", NULL, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "name=\"screen_tokenized\">"));
    ts_response_free(&r);
    kit_portal_send(&k, "PUT", "/portal/api/settings", "{\"screen_tokenized\":\"on\"}", cookie,
                    csrf, &r);
    TS_ASSERT_STATUS(r, 400);
    ts_response_free(&r);
    kit_portal_send(&k, "PUT", "/portal/api/settings", "{\"screen_tokenized\":true}", cookie, csrf,
                    &r);
    TS_ASSERT_STATUS(r, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    assert_true(json_is_true(json_object_get(o, "screen_tokenized")));
    assert_true(json_is_true(json_object_get(o, "screen_tokenized_effective")));
    assert_true(json_is_true(json_object_get(o, "four_eyes"))); /* left as it was */
    json_decref(o);
    ts_response_free(&r);
    kit_portal_send(&k, "GET", "/portal", NULL, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "name=\"screen_tokenized\" checked>"));
    ts_response_free(&r);
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT count(*) FROM kyc_audit_log WHERE installed_app_id = ? AND"
                             " kind = 'config_change' AND payload LIKE"
                             " '%\"setting\":\"screen_tokenized\"%'",
                             k.installed_app_id),
                     1);

    /* on: the next run detokenizes the names through the proxy and screens them */
    kit_portal_call(&k, "POST", "/portal/api/runs", cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 202);
    ts_response_free(&r);
    kit_wait_runs(&k, 2, 30000);
    assert_int_equal(kit_audit_count(&k, "GET", "/detokenize/FirstName"), 1);
    assert_int_equal(kit_audit_count(&k, "GET", "/detokenize/LastName"), 1);
    identity_row(&k, id, "reasons", text, sizeof text);
    assert_non_null(strstr(text, "sanctions_match"));
    assert_null(strstr(text, "pii_tokenized"));
    identity_row(&k, id, "status", text, sizeof text);
    assert_true(strcmp(text, "hit") == 0 || strcmp(text, "needs_review") == 0);
    identity_row(&k, id, "detail", text, sizeof text);
    assert_non_null(strstr(text, "\"detokenized\":true"));
    assert_non_null(strstr(text, "ofac:2674"));
    identity_row(&k, id, "display_name", text, sizeof text);
    assert_string_equal(text, "(tokenized)");
    /* only that identity was re-screened: the others have no tokenized names */
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT screened FROM kyc_runs WHERE installed_app_id = ? ORDER BY"
                             " run_id DESC LIMIT 1",
                             k.installed_app_id),
                     1);
    kit_stop(&k);

    /* and the plaintext was never stored or logged */
    assert_nowhere(&k, PLAIN_FIRST);
    assert_nowhere(&k, PLAIN_LAST);
    unsetenv("CLOUDSIM_TOKENIZATION_SECRET");
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_tokenized_names_screened_when_opted_in, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
