/*
 * Admin API input validation ({"error","code"} on bad input), the CLI subcommands against a
 * running server, and the dashboard: escaping, CSRF, security headers, install/launch/uninstall
 * through the forms. What installs, launches or uninstalls runs in both platform modes.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cs_testkit.h"

static void expect_error(const struct ts_proc *p, const char *path, const char *body, long status,
                         const char *code)
{
    struct ts_response r;
    admin_post(p, path, body, &r);
    char got[64] = "", message[256] = "";
    ts_json_string(&r, "code", got, sizeof got);
    ts_json_string(&r, "error", message, sizeof message);
    if (r.status != status || strcmp(got, code) != 0 || !message[0])
        fail_msg("POST %s %s: got %ld %s, expected %ld %s (%s)", path, body, r.status, got, status,
                 code, r.body);
    ts_response_free(&r);
}

static void test_admin_validation(void **state)
{
    struct fake_app app;
    struct ts_proc cs;
    fake_app_start(&app);
    cloudsim_start_mode(&cs, cs_mode_of(state), NULL);
    expect_error(&cs, "/admin/apps", "{nope", 400, "malformed_json");
    expect_error(&cs, "/admin/apps", "[]", 400, "not_an_object");
    expect_error(&cs, "/admin/apps", "{}", 400, "missing_field");
    char manifest[1024];
    snprintf(manifest, sizeof manifest,
             "{\"display_name\":\"A\",\"callback_url\":\"http://example.com/cb\","
             "\"portal_generator_url\":\"%s/p\",\"permissions\":[\"data:read\"]}",
             app.url);
    expect_error(&cs, "/admin/apps", manifest, 400, "insecure_url");
    snprintf(manifest, sizeof manifest,
             "{\"display_name\":\"A\",\"callback_url\":\"%s/cb\",\"portal_generator_url\":\"p\","
             "\"permissions\":[\"data:read\"]}",
             app.url);
    expect_error(&cs, "/admin/apps", manifest, 400, "invalid_url");
    snprintf(manifest, sizeof manifest,
             "{\"display_name\":\"A\",\"callback_url\":\"%s/cb\",\"portal_generator_url\":\"%s/p\","
             "\"permissions\":[\"data:admin\"]}",
             app.url, app.url);
    expect_error(&cs, "/admin/apps", manifest, 400, "invalid_permission");
    snprintf(manifest, sizeof manifest,
             "{\"display_name\":\"A\",\"callback_url\":\"%s/cb\",\"portal_generator_url\":\"%s/p\","
             "\"permissions\":[\"data:read\"],\"colour\":\"red\"}",
             app.url, app.url);
    expect_error(&cs, "/admin/apps", manifest, 400, "unknown_field");
    /* wrong media type: a cross-site form cannot drive the admin API */
    char url[512];
    snprintf(url, sizeof url, "%s/admin/installs", cs.url);
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    struct ts_response r;
    ts_http("POST", url, "app_id=x", form, &r);
    TS_ASSERT_STATUS(r, 415);
    ts_response_free(&r);

    char app_id[128], id[128];
    register_fake_app(&cs, &app, "[\"data:read\",\"alerts:read\"]", app_id, sizeof app_id);
    expect_error(&cs, "/admin/installs", "{\"permissions\":[\"data:read\"]}", 400, "missing_field");
    expect_error(&cs, "/admin/installs", "{\"app_id\":\"app_x\"}", 400, "missing_field");
    expect_error(&cs, "/admin/installs", "{\"app_id\":\"app_x\",\"permissions\":[\"data:read\"]}",
                 404, "unknown_app");
    char body[512];
    snprintf(body, sizeof body, "{\"app_id\":\"%s\",\"permissions\":[\"data:write\"]}", app_id);
    expect_error(&cs, "/admin/installs", body, 400, "permission_not_requested");
    snprintf(body, sizeof body, "{\"app_id\":\"%s\",\"permissions\":[]}", app_id);
    expect_error(&cs, "/admin/installs", body, 400, "no_permissions");
    snprintf(body, sizeof body,
             "{\"app_id\":\"%s\",\"permissions\":[\"data:read\"],"
             "\"instance_id\":\"inst_nope\"}",
             app_id);
    expect_error(&cs, "/admin/installs", body, 404, "unknown_instance");
    snprintf(body, sizeof body,
             "{\"app_id\":\"%s\",\"permissions\":[\"data:read\"],\"faults\":{\"delay_ms\":-1}}",
             app_id);
    expect_error(&cs, "/admin/installs", body, 400, "invalid_field");
    assert_int_equal(install_app(&cs, app_id, "[\"data:read\"]", NULL, id, sizeof id), 201);
    /* one install per instance */
    snprintf(body, sizeof body, "{\"app_id\":\"%s\",\"all_permissions\":true}", app_id);
    expect_error(&cs, "/admin/installs", body, 409, "already_installed");
    expect_error(&cs, "/admin/uninstalls", "{}", 400, "missing_field");
    expect_error(&cs, "/admin/uninstalls", "{\"installed_app_id\":\"instapp_x\"}", 404,
                 "unknown_install");
    expect_error(&cs, "/admin/launches", "{\"installed_app_id\":\"a b\"}", 400, "invalid_field");
    snprintf(url, sizeof url, "%s/admin/nothing", cs.url);
    ts_http("GET", url, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 404);
    ts_response_free(&r);
    cloudsim_stop(&cs);
    fake_app_stop(&app);
}

/* Runs `cloudsim ARGS...`; stdout into out. Returns the exit code. */
static int run_cli(const char *const *args, char *out, size_t cap)
{
    char bin[512], dir[512], path[600];
    ts_binary("cloudsim", bin, sizeof bin);
    ts_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out", dir);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen(path, "w", stdout);
        (void)f;
        const char *argv[32] = {bin};
        int n = 1;
        for (const char *const *a = args; *a; a++)
            argv[n++] = *a;
        argv[n] = NULL;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    char *text = ts_read_file(path, NULL);
    snprintf(out, cap, "%s", text ? text : "");
    free(text);
    size_t n = strlen(out);
    while (n && out[n - 1] == '\n')
        out[--n] = '\0';
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* `cloudsim serve` with one bad flag: must exit 2 before listening, its stderr naming the flag. */
static void refused_flag(const char *flag, const char *value)
{
    char bin[512], dir[512], path[600];
    ts_binary("cloudsim", bin, sizeof bin);
    ts_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/err", dir);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen(path, "w", stderr);
        (void)f;
        const char *argv[] = {bin, "serve", "--listen", "127.0.0.1:0", flag, value, NULL};
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    char *text = ts_read_file(path, NULL);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 2 || !text || !strstr(text, flag))
        fail_msg("cloudsim serve %s %s: status %d, stderr: %s", flag, value, status,
                 text ? text : "(none)");
    free(text);
}

static void test_non_finite_flags_refused(void **state)
{
    (void)state;
    static const char *const values[] = {"nan",  "nan/s", "inf",    "inf/s",
                                         "-inf", "1e999", "1e999/s"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        refused_flag("--rate-limit", values[i]);
}

static void test_cli_flow(void **state)
{
    struct fake_app app;
    struct ts_proc cs;
    fake_app_start(&app);
    cloudsim_start_mode(&cs, cs_mode_of(state), NULL);
    char dir[512], manifest_path[600];
    ts_tmpdir(dir, sizeof dir);
    snprintf(manifest_path, sizeof manifest_path, "%s/manifest.json", dir);
    FILE *f = fopen(manifest_path, "w");
    fprintf(f,
            "{\"display_name\":\"KYC\",\"callback_url\":\"%s/callback\","
            "\"portal_generator_url\":\"%s/portal-generator\","
            "\"permissions\":[\"data:read\",\"alerts:write\"]}",
            app.url, app.url);
    fclose(f);
    char app_id[256], id[256], out[1024];
    const char *reg[] = {"register", "--server", cs.url, manifest_path, NULL};
    assert_int_equal(run_cli(reg, app_id, sizeof app_id), 0);
    assert_memory_equal(app_id, "app_", 4);
    const char *inst[] = {
        "install", "--server", cs.url, "--app", app_id, "--permissions", "data:read,alerts:write",
        NULL};
    assert_int_equal(run_cli(inst, id, sizeof id), 0);
    assert_memory_equal(id, "instapp_", 8);
    const char *again[] = {"install", "--server",      cs.url,      "--app",
                           app_id,    "--permissions", "data:read", NULL};
    assert_int_equal(run_cli(again, out, sizeof out), 1);
    const char *launch[] = {"launch", "--server", cs.url, "--app", app_id, NULL};
    assert_int_equal(run_cli(launch, out, sizeof out), 0);
    assert_non_null(strstr(out, "/portal?token="));
    const char *un[] = {"uninstall", "--server", cs.url, "--install", id, NULL};
    assert_int_equal(run_cli(un, out, sizeof out), 0);
    assert_string_equal(out, id);
    const char *bad[] = {"install", "--server", cs.url, NULL};
    assert_int_equal(run_cli(bad, out, sizeof out), 2);
    const char *unknown[] = {"frobnicate", NULL};
    assert_int_equal(run_cli(unknown, out, sizeof out), 2);
    cloudsim_stop(&cs);
    fake_app_stop(&app);
}

/* Dashboard session: cookie and CSRF token scraped from a page. */
struct browser {
    char cookie[256];
    char csrf[128];
};

/* The dashboard's CSP (style-src 'self') blocks inline style attributes: a page that has one
 * renders wrongly in a browser, so no dashboard page may carry one. */
static void no_inline_style(const char *path, const struct ts_response *r)
{
    char type[128] = "";
    ts_header(r, "Content-Type", type, sizeof type);
    if (strstr(type, "text/html") && r->body && strstr(r->body, "style="))
        fail_msg("%s has an inline style attribute, which its CSP blocks:\n%s", path,
                 strstr(r->body, "style="));
}

static void get_page(const struct ts_proc *cs, struct browser *b, const char *path,
                     struct ts_response *r)
{
    char url[512], cookie[300];
    snprintf(url, sizeof url, "%s%s", cs->url, path);
    snprintf(cookie, sizeof cookie, "Cookie: %s", b->cookie);
    const char *headers[] = {cookie, NULL};
    ts_http("GET", url, NULL, b->cookie[0] ? headers : NULL, r);
    no_inline_style(path, r);
    char set[512];
    if (ts_header(r, "Set-Cookie", set, sizeof set) == 0)
        snprintf(b->cookie, sizeof b->cookie, "%.*s", (int)strcspn(set, ";"), set);
    const char *at = strstr(r->body, "name=\"csrf\" value=\"");
    if (at) {
        at += strlen("name=\"csrf\" value=\"");
        snprintf(b->csrf, sizeof b->csrf, "%.*s", (int)strcspn(at, "\""), at);
    }
}

static long post_form(const struct ts_proc *cs, const struct browser *b, const char *path,
                      const char *fields, const char *origin, struct ts_response *r)
{
    char url[512], cookie[300], body[1024], origin_header[300];
    snprintf(url, sizeof url, "%s%s", cs->url, path);
    snprintf(cookie, sizeof cookie, "Cookie: %s", b->cookie);
    snprintf(origin_header, sizeof origin_header, "Origin: %s", origin ? origin : cs->url);
    snprintf(body, sizeof body, "%s", fields);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", cookie,
                             origin_header, NULL};
    ts_http("POST", url, body, headers, r);
    no_inline_style(path, r);
    return r->status;
}

static void test_dashboard(void **state)
{
    struct fake_app app;
    struct ts_proc cs;
    fake_app_start(&app);
    cloudsim_start_mode(&cs, cs_mode_of(state), NULL);
    /* an app whose name would be markup if it were not escaped */
    char manifest[1024], app_id[128];
    snprintf(manifest, sizeof manifest,
             "{\"display_name\":\"<script>alert(1)</script>\",\"description\":\"a & b\","
             "\"callback_url\":\"%s/callback\",\"portal_generator_url\":\"%s/portal-generator\","
             "\"permissions\":[\"data:read\",\"alerts:write\"]}",
             app.url, app.url);
    struct ts_response r;
    admin_post(&cs, "/admin/apps", manifest, &r);
    TS_ASSERT_STATUS(r, 201);
    ts_json_string(&r, "app_id", app_id, sizeof app_id);
    ts_response_free(&r);

    struct browser b = {0};
    get_page(&cs, &b, "/dashboard/apps", &r);
    TS_ASSERT_STATUS(r, 200);
    assert_null(strstr(r.body, "<script>"));
    assert_non_null(strstr(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(r.body, "a &amp; b"));
    char csp[512];
    assert_int_equal(ts_header(&r, "Content-Security-Policy", csp, sizeof csp), 0);
    assert_non_null(strstr(csp, "default-src 'none'"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    char set_cookie_check[8];
    (void)set_cookie_check;
    assert_true(b.cookie[0] && b.csrf[0]);
    ts_response_free(&r);

    char path[256], fields[512];
    snprintf(path, sizeof path, "/dashboard/apps/%s", app_id);
    get_page(&cs, &b, path, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "name=\"permission\" value=\"data:read\""));
    ts_response_free(&r);

    /* CSRF: missing token, wrong token, foreign origin */
    snprintf(path, sizeof path, "/dashboard/apps/%s/install", app_id);
    assert_int_equal(post_form(&cs, &b, path, "permission=data%3Aread", NULL, &r), 403);
    ts_response_free(&r);
    assert_int_equal(post_form(&cs, &b, path, "csrf=nope&permission=data%3Aread", NULL, &r), 403);
    ts_response_free(&r);
    snprintf(fields, sizeof fields, "csrf=%s&permission=data%%3Aread", b.csrf);
    assert_int_equal(post_form(&cs, &b, path, fields, "https://evil.example", &r), 403);
    ts_response_free(&r);
    assert_int_equal(fake_app_count(&app, "/callback"), 0);

    /* install through the form */
    assert_int_equal(post_form(&cs, &b, path, fields, NULL, &r), 303);
    char location[256];
    assert_int_equal(ts_header(&r, "Location", location, sizeof location), 0);
    assert_non_null(strstr(location, "notice=installed"));
    ts_response_free(&r);
    assert_int_equal(fake_app_count(&app, "/callback"), 1);
    struct fake_record rec;
    fake_app_record(&app, "/callback", 0, &rec);
    assert_non_null(strstr(rec.body, "\"granted_permissions\":[\"data:read\"]"));

    /* the app page of an installed app (its Launch and Uninstall buttons) */
    snprintf(path, sizeof path, "/dashboard/apps/%s", app_id);
    get_page(&cs, &b, path, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "<div class=\"actions spread\">"));
    ts_response_free(&r);
    get_page(&cs, &b, "/dashboard/style.css", &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, ".actions.spread{justify-content:space-between}"));
    ts_response_free(&r);
    get_page(&cs, &b, "/dashboard/nonesuch", &r);
    TS_ASSERT_STATUS(r, 404);
    ts_response_free(&r);
    /* browsers ask for it on every page: never a 404 */
    get_page(&cs, &b, "/favicon.ico", &r);
    TS_ASSERT_STATUS(r, 204);
    ts_response_free(&r);

    /* launch: the portal in an iframe */
    snprintf(path, sizeof path, "/dashboard/apps/%s/launch", app_id);
    snprintf(fields, sizeof fields, "csrf=%s", b.csrf);
    assert_int_equal(post_form(&cs, &b, path, fields, NULL, &r), 200);
    char iframe[256];
    snprintf(iframe, sizeof iframe, "<iframe src=\"%s/portal?token=", app.url);
    assert_non_null(strstr(r.body, iframe));
    assert_int_equal(ts_header(&r, "Content-Security-Policy", csp, sizeof csp), 0);
    assert_non_null(strstr(csp, "frame-src"));
    ts_response_free(&r);

    /* the other pages render */
    get_page(&cs, &b, "/dashboard/identities", &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    get_page(&cs, &b, "/dashboard/alerts", &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    get_page(&cs, &b, "/dashboard/audit", &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "install.succeeded"));
    ts_response_free(&r);

    /* uninstall */
    snprintf(path, sizeof path, "/dashboard/apps/%s/uninstall", app_id);
    assert_int_equal(post_form(&cs, &b, path, fields, NULL, &r), 303);
    assert_int_equal(ts_header(&r, "Location", location, sizeof location), 0);
    assert_non_null(strstr(location, "notice=uninstalled"));
    ts_response_free(&r);
    assert_int_equal(fake_app_count(&app, "/callback"), 2);
    cloudsim_stop(&cs);
    fake_app_stop(&app);
}

static void test_config_file_and_persistence(void **state)
{
    char dir[512], config[600], db[600];
    ts_tmpdir(dir, sizeof dir);
    snprintf(config, sizeof config, "%s/orgs.json", dir);
    snprintf(db, sizeof db, "%s/cs.db", dir);
    FILE *f = fopen(config, "w");
    fputs("{\"organizations\":[{\"organization_id\":\"org_acme\",\"name\":\"Acme\","
          "\"instances\":[{\"instance_id\":\"inst_prod\",\"name\":\"prod\"},{\"name\":\"dev\"}],"
          "\"users\":[{\"user_id\":\"user_ann\",\"email\":\"ann@acme.test\"}]}]}",
          f);
    fclose(f);
    const char *args[] = {"--config", config, "--db", db, NULL};
    struct ts_proc cs;
    cloudsim_start(&cs, args);
    char url[512];
    snprintf(url, sizeof url, "%s/admin/state", cs.url);
    struct ts_response r;
    ts_http("GET", url, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "\"organization_id\":\"org_acme\""));
    assert_non_null(strstr(r.body, "\"instance_id\":\"inst_prod\""));
    assert_non_null(strstr(r.body, "\"user_id\":\"user_ann\""));
    ts_response_free(&r);
    cloudsim_stop(&cs);
    /* restart on the same database: same IDs, nothing seeded twice */
    cloudsim_start(&cs, args);
    snprintf(url, sizeof url, "%s/admin/state", cs.url);
    ts_http("GET", url, NULL, NULL, &r);
    json_t *state_json = json_loads(r.body, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(state_json, "organizations")), 1);
    assert_int_equal(json_array_size(json_object_get(state_json, "instances")), 2);
    json_decref(state_json);
    ts_response_free(&r);
    cloudsim_stop(&cs);
}

/* The forged-uninstall test tool: the app receives the uninstall event Cloud would send (with
 * any fields the test overrides), and cloudsim changes nothing: the install stays active and
 * its key valid. */
static void test_forged_uninstall(void **state)
{
    struct fake_app app;
    struct ts_proc cs;
    fake_app_start(&app);
    cloudsim_start_mode(&cs, cs_mode_of(state), NULL);
    char app_id[128], id[128], body[512];
    register_fake_app(&cs, &app, "[\"data:read\"]", app_id, sizeof app_id);
    assert_int_equal(install_app(&cs, app_id, "[\"data:read\"]", NULL, id, sizeof id), 201);
    expect_error(&cs, "/admin/forged-uninstalls", "{\"installed_app_id\":\"instapp_none\"}", 404,
                 "unknown_install");
    expect_error(&cs, "/admin/forged-uninstalls", "{\"installed_app_id\":\"x\",\"payload\":[]}",
                 400, "invalid_field");

    snprintf(body, sizeof body,
             "{\"installed_app_id\":\"%s\",\"payload\":{\"installed_app_id\":\"instapp_other\"}}",
             id);
    struct ts_response r;
    admin_post(&cs, "/admin/forged-uninstalls", body, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "\"forged\":true"));
    assert_non_null(strstr(r.body, "\"status\":\"active\""));
    assert_non_null(strstr(r.body, "\"app_status\":200"));
    ts_response_free(&r);
    assert_int_equal(fake_app_count(&app, "/callback"), 2); /* the install, then the forgery */
    struct fake_record rec;
    fake_app_record(&app, "/callback", 1, &rec);
    json_t *sent = json_loads(rec.body, 0, NULL);
    assert_non_null(sent);
    assert_string_equal(json_string_value(json_object_get(sent, "installed_app_id")),
                        "instapp_other");
    char key[160];
    snprintf(key, sizeof key, "uninstall:%s", id);
    assert_string_equal(json_string_value(json_object_get(sent, "idempotency_key")), key);
    assert_non_null(json_object_get(sent, "uninstalled_at"));
    assert_null(json_object_get(sent, "api_key"));
    json_decref(sent);

    /* nothing changed in cloudsim: active, key valid, recorded as a forged delivery */
    char url[512];
    snprintf(url, sizeof url, "%s/admin/installs/%s", cs.url, id);
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    assert_non_null(strstr(r.body, "\"status\":\"active\""));
    assert_non_null(strstr(r.body, "\"live_keys\":1"));
    ts_response_free(&r);
    char probe[256];
    snprintf(probe, sizeof probe, "/data/identities?instance_id=%s", app.instance_id);
    assert_int_equal(gateway_get(&cs, app.api_key, probe), 200);
    snprintf(url, sizeof url, "%s/admin/deliveries?installed_app_id=%s", cs.url, id);
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    assert_non_null(strstr(r.body, "forged_uninstall"));
    ts_response_free(&r);
    cloudsim_stop(&cs);
    fake_app_stop(&app);
}

/* A dashboard page whose buffer fails is a 500, never a truncated page: with the page limit
 * lowered below the apps page (which lists a registered app) that page is a 500
 * {"error", "code": "page_too_large"} carrying none of its HTML, while a page that fits (the
 * short not-found page) still goes out whole, and the stylesheet is not a page at all. */
static void test_dashboard_page_over_limit_is_500(void **state)
{
    struct fake_app app;
    struct ts_proc cs;
    fake_app_start(&app);
    const char *extra[] = {"--test-only-page-max-bytes", "2048", NULL};
    cloudsim_start(&cs, extra);
    char manifest[4096], description[1001];
    memset(description, 'd', sizeof description - 1);
    description[sizeof description - 1] = '\0';
    snprintf(manifest, sizeof manifest,
             "{\"display_name\":\"Big app\",\"description\":\"%s\","
             "\"callback_url\":\"%s/callback\",\"portal_generator_url\":\"%s/portal-generator\","
             "\"permissions\":[\"data:read\"]}",
             description, app.url, app.url);
    struct ts_response r;
    admin_post(&cs, "/admin/apps", manifest, &r);
    TS_ASSERT_STATUS(r, 201);
    ts_response_free(&r);

    struct browser b = {0};
    get_page(&cs, &b, "/dashboard/apps", &r);
    TS_ASSERT_STATUS(r, 500);
    char code[64] = "";
    assert_int_equal(ts_json_string(&r, "code", code, sizeof code), 0);
    assert_string_equal(code, "page_too_large");
    assert_null(strstr(r.body, "<html"));
    assert_null(strstr(r.body, "ddd"));
    ts_response_free(&r);
    /* the control: a page that fits is sent whole */
    get_page(&cs, &b, "/dashboard/nonesuch", &r);
    TS_ASSERT_STATUS(r, 404);
    assert_true(r.body_len <= 2048);
    assert_non_null(strstr(r.body, "<h1>Not found</h1>"));
    assert_non_null(strstr(r.body, "</html>"));
    ts_response_free(&r);
    get_page(&cs, &b, "/dashboard/style.css", &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    cloudsim_stop(&cs);
    fake_app_stop(&app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        CS_BOTH_MODES(test_admin_validation),
        cmocka_unit_test(test_non_finite_flags_refused),
        CS_BOTH_MODES(test_cli_flow),
        CS_BOTH_MODES(test_dashboard),
        cmocka_unit_test(test_dashboard_page_over_limit_is_500),
        cmocka_unit_test(test_config_file_and_persistence),
        CS_BOTH_MODES(test_forged_uninstall),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
