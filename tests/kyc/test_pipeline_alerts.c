/*
 * test_pipeline_alerts.c — what the alerts the pipeline raises say, read back from Cloud.
 *
 * The real cloudsim (seeded with planted list matches and bad data, fixture lists) and the real
 * `kyc serve` run one screening pass. A second app (the fake app of tests/cloudsim/cs_testkit.h)
 * is installed on the same instance with alerts:read only, and its key reads every alert back
 * through cloudsim's GET /alerts: the text as Cloud stores it, never kyc's own copy.
 *
 *   - a sanctions alert (hit band and review band) names the list source, the entry id and the
 *     listed name of the identity's top match, its score and band; planted identities name the
 *     very list entry the seeder planted them from;
 *   - a data-quality alert says so and lists the reason of every finding the seeder planted;
 *   - every alert lists all of the identity's reasons, and kyc raised one per identity that
 *     needs review.
 *
 * The alert text used to be built from an array that had already been freed (issue 9): the
 * list, entry id and name came out empty. The sanitizer build did not report it: the freed
 * memory was read inside jansson, which is not instrumented, and the lookups simply found
 * nothing. Only the text shows it, so this test reads the text, in both builds.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cs_testkit.h"
#include "test_pipeline_kit.h"

/* seed_truth's planted data-quality problems and the reason each must produce (the seeder
 * plants a few more, e.g. disposable_email, that are not findings of their own) */
static const struct {
    const char *detail, *reason;
} quality_truth[] = {
    {"dob_future", "dob_invalid"},
    {"dob_unset", "dob_invalid"},
    {"minor", "minor"},
    {"bad_country", "country_invalid"},
    {"bad_nationality", "country_invalid"},
    {"bad_email", "email_invalid"},
    {"bad_phone", "phone_invalid"},
    {"missing_name", "missing_field"},
    {"tokenized_pii", "pii_tokenized"},
};

static const char *quality_reason(const char *detail)
{
    for (size_t i = 0; i < sizeof quality_truth / sizeof quality_truth[0]; i++)
        if (strcmp(quality_truth[i].detail, detail) == 0)
            return quality_truth[i].reason;
    return NULL;
}

/* Every alert of the instance, through Cloud's alerts API with the reader's key. */
static json_t *cloud_alerts(const struct kit *k, const char *key)
{
    json_t *all = json_array();
    char auth[300];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    const char *headers[] = {auth, NULL};
    for (int page = 1; page < 100; page++) {
        char url[600];
        snprintf(url, sizeof url, "%s/alerts?instance_id=%s&page=%d&pageSize=50", k->cs.url,
                 k->instance_id, page);
        struct ts_response r;
        ts_http("GET", url, NULL, headers, &r);
        TS_ASSERT_STATUS(r, 200);
        json_t *o = json_loads(r.body, 0, NULL);
        ts_response_free(&r);
        json_t *data = json_object_get(o, "data");
        assert_true(json_is_array(data));
        json_array_extend(all, data);
        size_t got = json_array_size(data);
        json_int_t total = json_integer_value(json_object_get(o, "total"));
        json_decref(o);
        if (got == 0 || (json_int_t)json_array_size(all) >= total)
            break;
    }
    return all;
}

/* The top (first) match kyc recorded for the identity, as its result detail stores it. */
static json_t *top_match(const struct kit *k, const char *identity_id)
{
    char detail[65536];
    assert_true(kit_text(k->kyc_db,
                         "SELECT detail FROM kyc_identities WHERE installed_app_id = ? AND"
                         " identity_id = ?",
                         k->installed_app_id, identity_id, detail, sizeof detail));
    json_t *d = json_loads(detail, 0, NULL);
    assert_non_null(d);
    json_t *top = json_incref(json_array_get(json_object_get(d, "matches"), 0));
    json_decref(d);
    return top;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The list entry the seeder planted the identity from (seed_truth: source "ofac" or "un", the
 * entry's own id in that list, its primary name); 0 when the identity was not planted. */
static int planted_entry(const struct kit *k, const char *identity_id, char *source, char *entry,
                         char *name, size_t cap)
{
    static const char where[] = " FROM seed_truth WHERE identity_id = ? AND kind = 'sanctions'";
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT list_source%s", where);
    if (!kit_text(k->cs_db, sql, identity_id, NULL, source, cap))
        return 0;
    snprintf(sql, sizeof sql, "SELECT list_entry%s", where);
    assert_true(kit_text(k->cs_db, sql, identity_id, NULL, entry, cap));
    snprintf(sql, sizeof sql, "SELECT list_name%s", where);
    assert_true(kit_text(k->cs_db, sql, identity_id, NULL, name, cap));
    return 1;
}

/* The reasons listed in an alert text ("... Reasons: a, b. Review it in the KYC app."). */
static void text_reasons(const char *text, char *out, size_t cap)
{
    const char *r = strstr(text, " Reasons: ");
    const char *end = strstr(text, ". Review it in the KYC app.");
    if (!r || !end || end < r)
        fail_msg("alert text without its reasons: %s", text);
    r += strlen(" Reasons: ");
    snprintf(out, cap, "%.*s", (int)(end - r), r);
}

static void assert_lists_reason(const char *reasons, const char *reason, const char *text)
{
    size_t n = strlen(reason);
    for (const char *p = reasons; (p = strstr(p, reason)) != NULL; p += n)
        if ((p == reasons || p[-1] == ' ') && (p[n] == ',' || p[n] == 0))
            return;
    fail_msg("alert text does not list reason %s: %s", reason, text);
}

static void test_alert_text_names_the_evidence(void **state)
{
    (void)state;
    struct kit k;
    kit_start_cloudsim(&k, NULL);
    kit_seed(&k, 300, 0.15, 0.20);
    kit_register(&k);
    kit_start_kyc(&k, NULL);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 30000);

    /* a reader on the same instance: its key sees the instance's alerts in Cloud */
    struct fake_app reader;
    fake_app_start(&reader);
    char reader_app[160], reader_install[160];
    register_fake_app(&k.cs, &reader, "[\"alerts:read\"]", reader_app, sizeof reader_app);
    assert_int_equal(install_app(&k.cs, reader_app, "[\"alerts:read\"]", NULL, reader_install,
                                 sizeof reader_install),
                     201);
    assert_true(reader.api_key[0] != 0);
    json_t *alerts = cloud_alerts(&k, reader.api_key);
    fake_app_stop(&reader);

    long long review =
        kit_int(k.kyc_db,
                "SELECT count(*) FROM kyc_identities WHERE installed_app_id = ? AND status IN"
                " ('needs_review','hit')",
                k.installed_app_id);
    assert_int_equal(json_array_size(alerts), review);

    int hits = 0, review_band = 0, quality = 0, planted_named = 0;
    size_t i;
    json_t *alert;
    json_array_foreach(alerts, i, alert)
    {
        const char *title = str(alert, "title");
        const char *text = str(alert, "description");
        const char *identity_id =
            json_string_value(json_array_get(json_object_get(alert, "affected_identities"), 0));
        assert_non_null(identity_id);
        char reasons[1024];
        text_reasons(text, reasons, sizeof reasons);

        /* every reason kyc recorded for the identity is in the text */
        char stored[2048];
        assert_true(kit_text(k.kyc_db,
                             "SELECT reasons FROM kyc_identities WHERE installed_app_id = ? AND"
                             " identity_id = ?",
                             k.installed_app_id, identity_id, stored, sizeof stored));
        json_t *stored_reasons = json_loads(stored, 0, NULL);
        size_t j;
        json_t *v;
        json_array_foreach(stored_reasons, j, v)
            assert_lists_reason(reasons, json_string_value(v), text);
        json_decref(stored_reasons);
        /* and so is the reason of each data-quality problem the seeder planted */
        char detail[64];
        if (kit_text(k.cs_db,
                     "SELECT detail FROM seed_truth WHERE identity_id = ? AND kind = 'quality'",
                     identity_id, NULL, detail, sizeof detail) &&
            quality_reason(detail))
            assert_lists_reason(reasons, quality_reason(detail), text);

        int is_hit = strcmp(title, "KYC: sanctions list hit") == 0;
        if (is_hit || strcmp(title, "KYC: possible sanctions match") == 0) {
            /* the evidence: the top match's list, entry id, listed name, score and band */
            json_t *top = top_match(&k, identity_id);
            assert_non_null(top);
            assert_true(*str(top, "source") && *str(top, "entry_id") && *str(top, "name"));
            double said = -1;
            char rest[1200];
            if (sscanf(text, "Screening score %lf", &said) != 1 ||
                fabs(said - json_real_value(json_object_get(top, "score"))) > 0.0051)
                fail_msg("alert for %s does not give the score %g: %s", identity_id,
                         json_real_value(json_object_get(top, "score")), text);
            snprintf(rest, sizeof rest, " (%s band) against %s entry %s (%s).",
                     is_hit ? "hit" : "review", str(top, "source"), str(top, "entry_id"),
                     str(top, "name"));
            const char *after = strchr(text + strlen("Screening score "), ' ');
            if (!after || strncmp(after, rest, strlen(rest)) != 0)
                fail_msg("alert for %s says\n  %s\nexpected after the score\n  %s", identity_id,
                         text, rest);
            assert_lists_reason(reasons, "sanctions_match", text);
            /* independent of kyc's record: a planted identity whose top match is the entry it
             * was planted from names that entry's list, id (OFAC's are "ofac:<uid>"; the
             * seeder keeps UN's DATAID, kyc the reference number) and name as the list has
             * them */
            char source[512], entry[512], name[512], needle[1200];
            if (planted_entry(&k, identity_id, source, entry, name, sizeof source) &&
                strcmp(name, str(top, "name")) == 0) {
                snprintf(needle, sizeof needle, " against %s-", source);
                if (!strstr(text, needle))
                    fail_msg("alert for %s (planted from %s) names another list: %s", identity_id,
                             source, text);
                if (strcmp(source, "ofac") == 0)
                    snprintf(needle, sizeof needle, " entry ofac:%s (%s).", entry, name);
                else
                    snprintf(needle, sizeof needle, " (%s).", name);
                if (!strstr(text, needle))
                    fail_msg("alert for %s (planted from %s %s) does not say %s: %s", identity_id,
                             source, entry, needle, text);
                planted_named++;
            }
            json_decref(top);
            if (is_hit)
                hits++;
            else
                review_band++;
        } else {
            assert_string_equal(title, "KYC: identity data needs review");
            static const char quality_text[] = "Data-quality checks need a reviewer. Reasons: ";
            if (strncmp(text, quality_text, strlen(quality_text)) != 0)
                fail_msg("data-quality alert for %s says: %s", identity_id, text);
            assert_true(strstr(reasons, "sanctions_match") == NULL);
            quality++;
        }
    }
    print_message("alerts: %d hit, %d review band, %d data quality; %d name their planted entry\n",
                  hits, review_band, quality, planted_named);
    assert_true(hits > 0);
    assert_true(review_band > 0);
    assert_true(quality > 0);
    assert_true(planted_named > 0);
    json_decref(alerts);
    kit_stop(&k);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_alert_text_names_the_evidence, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
