/*
 * Launch (spec §6, D8), every test in both platform modes: the portal payload (organization_id
 * and user_id only in V1), and one test per failure kind the emulator detects — non-2xx,
 * non-JSON, missing or relative portal_url, plain http off loopback, the API key inside the
 * URL, frame-ancestors that do not admit the dashboard, a slow generator.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_testkit.h"

struct env {
    const struct cs_mode *mode;
    struct fake_app app;
    struct ts_proc cs;
    char app_id[128];
    char installed_app_id[128];
};

static struct env *start(void **state, const char *const *args)
{
    struct env *e = calloc(1, sizeof *e);
    e->mode = cs_mode_of(state);
    fake_app_start(&e->app);
    cloudsim_start_mode(&e->cs, e->mode, args);
    register_fake_app(&e->cs, &e->app, "[\"data:read\"]", e->app_id, sizeof e->app_id);
    assert_int_equal(install_app(&e->cs, e->app_id, "[\"data:read\"]", NULL, e->installed_app_id,
                                 sizeof e->installed_app_id),
                     201);
    return e;
}

static void stop(struct env *e)
{
    cloudsim_stop(&e->cs);
    fake_app_stop(&e->app);
    free(e);
}

/* Launches and returns the status; code receives the error code ("" on success). */
static long launch(struct env *e, char *code, size_t cap)
{
    char body[256];
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", e->installed_app_id);
    struct ts_response r;
    admin_post(&e->cs, "/admin/launches", body, &r);
    code[0] = '\0';
    ts_json_string(&r, "code", code, cap);
    if (r.status == 200) {
        char url[512];
        assert_int_equal(ts_json_string(&r, "portal_url", url, sizeof url), 0);
    }
    long status = r.status;
    ts_response_free(&r);
    return status;
}

static void expect_failure(struct env *e, const char *expected_code)
{
    char code[64];
    long status = launch(e, code, sizeof code);
    if (status < 400 || strcmp(code, expected_code) != 0)
        fail_msg("launch answered %ld %s, expected failure %s", status, code, expected_code);
}

static void test_launch_ok_payload(void **state)
{
    struct env *e = start(state, NULL);
    char code[64];
    assert_int_equal(launch(e, code, sizeof code), 200);
    struct fake_record r;
    fake_app_record(&e->app, "/portal-generator", 0, &r);
    static const char *const v1_keys[] = {"installed_app_id", "app_id",  "organization_id",
                                          "instance_id",      "user_id", NULL};
    static const char *const v2_keys[] = {"installed_app_id", "app_id", "instance_id", NULL};
    assert_true(json_has_exactly(r.body, e->mode->v2 ? v2_keys : v1_keys));
    assert_string_equal(r.content_type, "application/json");
    json_t *o = json_loads(r.body, 0, NULL);
    if (!e->mode->v2)
        assert_memory_equal(json_string_value(json_object_get(o, "user_id")), "user_", 5);
    json_decref(o);
    /* the frame check fetched the page without the single-use token */
    struct fake_record page;
    fake_app_record(&e->app, "/portal", 0, &page);
    /* every launch reaches the generator afresh */
    assert_int_equal(launch(e, code, sizeof code), 200);
    assert_int_equal(fake_app_count(&e->app, "/portal-generator"), 2);
    stop(e);
}

static void test_non_2xx(void **state)
{
    struct env *e = start(state, NULL);
    e->app.portal_status = 403;
    snprintf(e->app.portal_body, sizeof e->app.portal_body, "{\"error\":\"no\",\"code\":\"x\"}");
    expect_failure(e, "portal_http_status");
    stop(e);
}

static void test_not_json(void **state)
{
    struct env *e = start(state, NULL);
    snprintf(e->app.portal_body, sizeof e->app.portal_body, "<html>portal</html>");
    snprintf(e->app.portal_content_type, sizeof e->app.portal_content_type, "text/html");
    expect_failure(e, "portal_not_json");
    snprintf(e->app.portal_body, sizeof e->app.portal_body, "[\"%s/portal\"]", e->app.url);
    expect_failure(e, "portal_not_json");
    stop(e);
}

static void test_missing_portal_url(void **state)
{
    struct env *e = start(state, NULL);
    snprintf(e->app.portal_body, sizeof e->app.portal_body, "{\"url\":\"%s/portal\"}", e->app.url);
    expect_failure(e, "portal_url_missing");
    snprintf(e->app.portal_body, sizeof e->app.portal_body, "{\"portal_url\":42}");
    expect_failure(e, "portal_url_missing");
    stop(e);
}

static void test_relative_url(void **state)
{
    struct env *e = start(state, NULL);
    snprintf(e->app.portal_body, sizeof e->app.portal_body, "{\"portal_url\":\"/portal?token=a\"}");
    expect_failure(e, "portal_url_not_absolute");
    snprintf(e->app.portal_body, sizeof e->app.portal_body,
             "{\"portal_url\":\"javascript:alert(1)\"}");
    expect_failure(e, "portal_url_not_absolute");
    stop(e);
}

static void test_insecure_url(void **state)
{
    struct env *e = start(state, NULL);
    snprintf(e->app.portal_body, sizeof e->app.portal_body,
             "{\"portal_url\":\"http://app.example.com/portal?token=a\"}");
    expect_failure(e, "portal_url_insecure");
    stop(e);
}

static void test_key_in_url(void **state)
{
    struct env *e = start(state, NULL);
    snprintf(e->app.portal_body, sizeof e->app.portal_body,
             "{\"portal_url\":\"%s/portal?token=a&k=%s\"}", e->app.url, e->app.api_key);
    expect_failure(e, "portal_url_contains_api_key");
    stop(e);
}

static void test_frame_ancestors(void **state)
{
    struct env *e = start(state, NULL);
    e->app.page_csp[0] = '\0'; /* no CSP at all */
    expect_failure(e, "portal_frame_ancestors");
    snprintf(e->app.page_csp, sizeof e->app.page_csp,
             "frame-ancestors 'self' https://blnkfinance.com https://*.blnkfinance.com");
    expect_failure(e, "portal_frame_ancestors");
    snprintf(e->app.page_csp, sizeof e->app.page_csp, "default-src 'self'; frame-ancestors 'none'");
    expect_failure(e, "portal_frame_ancestors");
    snprintf(e->app.page_csp, sizeof e->app.page_csp, "frame-ancestors %s", e->cs.url);
    char code[64];
    assert_int_equal(launch(e, code, sizeof code), 200);
    stop(e);
}

static void test_frame_check_can_be_disabled(void **state)
{
    static const char *const args[] = {"--no-frame-check", NULL};
    struct env *e = start(state, args);
    e->app.page_csp[0] = '\0';
    char code[64];
    assert_int_equal(launch(e, code, sizeof code), 200);
    assert_int_equal(fake_app_count(&e->app, "/portal"), 0);
    stop(e);
}

static void test_slow_generator(void **state)
{
    static const char *const args[] = {"--portal-timeout-ms", "300", NULL};
    struct env *e = start(state, args);
    e->app.portal_delay_ms = 1000;
    expect_failure(e, "portal_timeout");
    ts_sleep_ms(800);
    stop(e);
}

static void test_inactive_install_and_unknown_user(void **state)
{
    struct env *e = start(state, NULL);
    char body[256];
    struct ts_response r;
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\",\"user_id\":\"user_nobody\"}",
             e->installed_app_id);
    admin_post(&e->cs, "/admin/launches", body, &r);
    TS_ASSERT_STATUS(r, 403);
    ts_response_free(&r);
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", e->installed_app_id);
    admin_post(&e->cs, "/admin/uninstalls", body, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    expect_failure(e, "install_not_active");
    assert_int_equal(fake_app_count(&e->app, "/portal-generator"), 0);
    stop(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        CS_BOTH_MODES(test_launch_ok_payload),
        CS_BOTH_MODES(test_non_2xx),
        CS_BOTH_MODES(test_not_json),
        CS_BOTH_MODES(test_missing_portal_url),
        CS_BOTH_MODES(test_relative_url),
        CS_BOTH_MODES(test_insecure_url),
        CS_BOTH_MODES(test_key_in_url),
        CS_BOTH_MODES(test_frame_ancestors),
        CS_BOTH_MODES(test_frame_check_can_be_disabled),
        CS_BOTH_MODES(test_slow_generator),
        CS_BOTH_MODES(test_inactive_install_and_unknown_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
