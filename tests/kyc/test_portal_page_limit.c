/*
 * test_portal_page_limit.c — a portal page whose buffer fails is a 500, never a truncated page.
 * Over real HTTP: the real cloudsim, seeded, and the real `kyc serve` started with
 * --test-only-page-max-bytes 2048, too small for any view. Every view (overview, queue,
 * identity) answers 500 {"error", "code": "page_too_large"} with none of its HTML, while a page
 * that fits (the error page of an unknown view) still goes out whole and the JSON API beside
 * them answers: only the pages over the limit are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_pipeline_kit.h"

/* A portal session's cookie (kit_portal_session reads the CSRF token from the page, which is
 * what this test refuses; GETs need no token). */
static void session_cookie(const struct kit *k, char *cookie, size_t cap)
{
    char body[300], portal[1024];
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", k->installed_app_id);
    struct ts_response r;
    kit_admin(k, "/admin/launches", body, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_int_equal(ts_json_string(&r, "portal_url", portal, sizeof portal), 0);
    ts_response_free(&r);
    ts_http("GET", portal, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 303);
    char set_cookie[600];
    assert_int_equal(ts_header(&r, "Set-Cookie", set_cookie, sizeof set_cookie), 0);
    snprintf(cookie, cap, "%.*s", (int)strcspn(set_cookie, ";"), set_cookie);
    ts_response_free(&r);
}

static void test_page_over_its_limit_is_500(void **state)
{
    (void)state;
    struct kit k;
    kit_start_cloudsim(&k, NULL);
    kit_seed(&k, 10, 0.3, 0.2);
    kit_register(&k);
    /* 2 KiB: more than the short error page of an unknown view needs, less than any view */
    const char *extra[] = {"--test-only-page-max-bytes", "2048", NULL};
    kit_start_kyc(&k, extra);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 20000);
    char identity[160] = "";
    assert_true(kit_text(k.kyc_db,
                         "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ?"
                         " ORDER BY identity_id LIMIT 1",
                         k.installed_app_id, NULL, identity, sizeof identity));

    char cookie[700];
    const char *csrf = "";
    session_cookie(&k, cookie, sizeof cookie);
    char identity_path[240];
    snprintf(identity_path, sizeof identity_path, "/portal?view=identity&id=%s", identity);
    const char *pages[] = {"/portal", "/portal?view=queue", identity_path};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        struct ts_response r;
        kit_portal_call(&k, "GET", pages[i], cookie, csrf, &r);
        if (r.status != 500)
            fail_msg("%s: status %ld, not 500:\n%.2000s", pages[i], r.status, r.body);
        char code[64] = "";
        assert_int_equal(ts_json_string(&r, "code", code, sizeof code), 0);
        assert_string_equal(code, "page_too_large");
        if (strstr(r.body, "<html") || strstr(r.body, "<main"))
            fail_msg("%s: part of the page went out:\n%.2000s", pages[i], r.body);
        ts_response_free(&r);
    }
    /* the control: a page that fits (the short error page of an unknown view) goes out whole */
    struct ts_response r;
    kit_portal_call(&k, "GET", "/portal?view=nonesuch", cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 400);
    assert_true(r.body_len <= 2048);
    assert_non_null(strstr(r.body, "<h1>Unknown view</h1>"));
    assert_non_null(strstr(r.body, "</html>"));
    ts_response_free(&r);
    /* the API beside the pages is not limited by them */
    kit_portal_call(&k, "GET", "/portal/api/settings", cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    kit_stop(&k);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_page_over_its_limit_is_500, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
