/*
 * test_portal_ids.c — the review portal never sends the browser an ID it does not need
 * (spec D1): no installed_app_id, organization ID or instance ID in any page (overview, queue,
 * identity) or portal JSON answer, since they are exactly what a forged portal-generator call
 * needs. Also: JSON numbers print as written (four_eyes_score 0.8, not 0.80000000000000004).
 * Over real HTTP: the real cloudsim, seeded, and the real `kyc serve`, with a portal session
 * launched through cloudsim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_pipeline_kit.h"

static void assert_no_ids(const char *what, const char *body, const char *const *ids)
{
    for (const char *const *id = ids; *id; id++)
        if (strstr(body, *id))
            fail_msg("%s contains %s:\n%.3000s", what, *id, body);
}

static void test_portal_sends_no_ids(void **state)
{
    (void)state;
    struct kit k;
    /* V1: only a V1 install carries an organization_id, the ID whose absence from the portal
     * this checks alongside the others (V2, the default, sends none). */
    static const char *const v1[] = {"--mode", "v1", NULL};
    kit_start_cloudsim(&k, v1);
    kit_seed(&k, 20, 0.3, 0.2);
    kit_register(&k);
    kit_start_kyc(&k, NULL);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 20000);

    char org[160] = "", identity[160] = "";
    assert_true(kit_text(k.kyc_db,
                         "SELECT organization_id FROM installs WHERE installed_app_id = ?",
                         k.installed_app_id, NULL, org, sizeof org));
    assert_true(org[0] != '\0');
    assert_true(kit_text(k.kyc_db,
                         "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ?"
                         " ORDER BY identity_id LIMIT 1",
                         k.installed_app_id, NULL, identity, sizeof identity));
    const char *ids[] = {k.installed_app_id, org, k.instance_id, NULL};

    char cookie[700], csrf[200];
    kit_portal_session(&k, cookie, sizeof cookie, csrf, sizeof csrf);
    struct kit_reviewer ada; /* an admin, so every page and the export answer */
    kit_reviewer_create(&k, cookie, csrf, NULL, "Ada", &ada);
    /* each path, then (when with_id) the identity id */
    static const struct {
        const char *path;
        int with_id;
    } pages[] = {{"/portal", 0},
                 {"/portal?view=queue", 0},
                 {"/portal?view=identity&id=", 1},
                 {"/portal?view=signin", 0},
                 {"/portal?view=reviewers", 0},
                 {"/portal?view=nonesuch", 0}},
      apis[] = {{"/portal/api/progress", 0},    {"/portal/api/settings", 0},
                {"/portal/api/identities", 0},  {"/portal/api/identities/", 1},
                {"/portal/api/export.csv", 0},  {"/portal/api/reviewers", 0},
                {"/portal/api/reviewers/me", 0}};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        char path[240];
        snprintf(path, sizeof path, "%s%s", pages[i].path, pages[i].with_id ? identity : "");
        struct ts_response r;
        kit_portal_call(&k, "GET", path, cookie, csrf, &r);
        if (i < 5)
            TS_ASSERT_STATUS(r, 200);
        assert_non_null(strstr(r.body, "<html"));
        assert_no_ids(path, r.body, ids);
        ts_response_free(&r);
    }
    /* (the dossier is left out: an audit export, whose records name their install on purpose) */
    for (size_t i = 0; i < sizeof apis / sizeof apis[0]; i++) {
        char path[240];
        snprintf(path, sizeof path, "%s%s", apis[i].path, apis[i].with_id ? identity : "");
        struct ts_response r;
        kit_portal_call(&k, "GET", path, cookie, csrf, &r);
        TS_ASSERT_STATUS(r, 200);
        assert_no_ids(path, r.body, ids);
        ts_response_free(&r);
    }
    /* the progress answer still says what the page shows */
    json_t *progress = kit_portal_json(&k, "/portal/api/progress", cookie, csrf);
    assert_non_null(json_object_get(progress, "engine_version"));
    json_decref(progress);

    /* numbers as written: 0.8, never 0.80000000000000004 */
    struct ts_response r;
    kit_portal_call(&k, "GET", "/portal/api/settings", cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    if (!strstr(r.body, "\"four_eyes_score\":0.8,") && !strstr(r.body, "\"four_eyes_score\":0.8}"))
        fail_msg("four_eyes_score is not printed as 0.8: %s", r.body);
    ts_response_free(&r);
    kit_stop(&k);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_portal_sends_no_ids, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
