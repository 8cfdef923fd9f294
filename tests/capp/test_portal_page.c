/*
 * test_portal_page.c — capp's own portal pages over real HTTP (capp's http_server in-process on
 * an ephemeral port, the page functions called from its handlers):
 *
 *   - the built-in page of an app that registers none (portal_shell_page) shows the user, the
 *     permissions and the expiry but never the install, organization or instance ID (spec D1);
 *   - portal_send_html never sends a page whose buffer failed: a page that outgrew its buffer is
 *     a 500 {"error", "code": "page_too_large"} with the portal headers, and none of its HTML.
 */
#include <stdio.h>
#include <string.h>

#include "testsupport.h"

#include "capp/app.h"
#include "capp/buf.h"
#include "capp/err.h"
#include "capp/html.h"
#include "capp/portal.h"

#define INSTALL  "inst_app_0123456789abcdef0123456789abcdef"
#define ORG      "org_0123456789abcdef0123456789abcdef"
#define INSTANCE "inst_0123456789abcdef0123456789abcdef"
#define USER     "user_0123456789abcdef0123456789abcdef"

static struct capp_app app; /* only what the portal pages read: the CSP */

static void fill_context(struct capp_portal_context *pc, struct http_request *req)
{
    memset(pc, 0, sizeof *pc);
    pc->app = &app;
    pc->req = req;
    snprintf(pc->session.installed_app_id, sizeof pc->session.installed_app_id, "%s", INSTALL);
    snprintf(pc->session.organization_id, sizeof pc->session.organization_id, "%s", ORG);
    snprintf(pc->session.instance_id, sizeof pc->session.instance_id, "%s", INSTANCE);
    snprintf(pc->session.user_id, sizeof pc->session.user_id, "%s", USER);
    pc->session.expires_at_ms = 1893456000000; /* 2030-01-01T00:00:00Z */
    pc->install = (struct store_install){.permission_count = 2};
    snprintf(pc->install.installed_app_id, sizeof pc->install.installed_app_id, "%s", INSTALL);
    snprintf(pc->install.organization_id, sizeof pc->install.organization_id, "%s", ORG);
    snprintf(pc->install.instance_id, sizeof pc->install.instance_id, "%s", INSTANCE);
    snprintf(pc->install.permissions[0], sizeof pc->install.permissions[0], "data:read");
    snprintf(pc->install.permissions[1], sizeof pc->install.permissions[1], "alerts:write");
    snprintf(pc->csrf_token, sizeof pc->csrf_token, "csrf-token-value");
}

static void shell(struct http_request *req, void *ctx)
{
    (void)ctx;
    struct capp_portal_context pc;
    fill_context(&pc, req);
    portal_shell_page(&pc, NULL);
}

/* A page that does not fit its buffer: the part that fitted must not go out. */
static void overflowing(struct http_request *req, void *ctx)
{
    (void)ctx;
    struct buf page;
    buf_init(&page, 256);
    int rc = portal_page_begin(&page, "Too big", NULL);
    for (int i = 0; i < 20; i++)
        rc |= html_tpl(&page, "<p>row {}</p>", "MARKER", NULL);
    rc |= portal_page_end(&page);
    assert_int_not_equal(rc, 0);
    assert_int_equal(buf_failed(&page), CAPP_ETOOBIG);
    portal_send_html(&app, req, 200, &page);
    buf_free(&page);
}

/* The same page with room: sent whole (the control for the 500). */
static void fitting(struct http_request *req, void *ctx)
{
    (void)ctx;
    struct buf page;
    buf_init(&page, 64 * 1024);
    int rc = portal_page_begin(&page, "Fits", NULL);
    for (int i = 0; i < 20; i++)
        rc |= html_tpl(&page, "<p>row {}</p>", "MARKER", NULL);
    rc |= portal_page_end(&page);
    assert_int_equal(rc, 0);
    portal_send_html(&app, req, 200, &page);
    buf_free(&page);
}

static struct http_server *start_server(void)
{
    memset(&app, 0, sizeof app);
    assert_int_equal(portal_build_csp(&app), 0);
    struct http_server *srv = NULL;
    struct http_server_config cfg = {.listen = "127.0.0.1:0", .threads = 2, .quiet = 1};
    assert_int_equal(http_server_new(&cfg, &srv), 0);
    assert_int_equal(http_server_route(srv, "GET", "/shell", shell, NULL), 0);
    assert_int_equal(http_server_route(srv, "GET", "/overflowing", overflowing, NULL), 0);
    assert_int_equal(http_server_route(srv, "GET", "/fitting", fitting, NULL), 0);
    assert_int_equal(http_server_start(srv), 0);
    return srv;
}

static void get(struct http_server *srv, const char *path, struct ts_response *r)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", http_server_port(srv), path);
    assert_int_equal(ts_http("GET", url, NULL, NULL, r), 0);
}

static void test_shell_page_names_no_ids(void **state)
{
    struct http_server *srv = start_server();
    struct ts_response r;
    get(srv, "/shell", &r);
    TS_ASSERT_STATUS(r, 200);
    /* what the user can act on is there */
    assert_non_null(strstr(r.body, "<table class=\"facts\" id=\"session\">"));
    assert_non_null(strstr(r.body, USER));
    assert_non_null(strstr(r.body, "data:read, alerts:write"));
    assert_non_null(strstr(r.body, "2030-01-01T00:00:00"));
    assert_non_null(strstr(r.body, "content=\"csrf-token-value\""));
    /* the IDs a forged portal-generator call would need are not (spec D1) */
    assert_null(strstr(r.body, INSTALL));
    assert_null(strstr(r.body, ORG));
    assert_null(strstr(r.body, INSTANCE));
    assert_null(strstr(r.body, ">Install<"));
    assert_null(strstr(r.body, ">Organization<"));
    assert_null(strstr(r.body, ">Instance<"));
    ts_response_free(&r);
    http_server_stop(srv);
    http_server_free(srv);
}

static void test_failed_page_is_500_not_truncated(void **state)
{
    struct http_server *srv = start_server();
    struct ts_response r;
    get(srv, "/fitting", &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "<p>row MARKER</p>"));
    assert_non_null(strstr(r.body, "</html>"));
    ts_response_free(&r);

    get(srv, "/overflowing", &r);
    TS_ASSERT_STATUS(r, 500);
    char type[128], csp[1024];
    assert_int_equal(ts_header(&r, "Content-Type", type, sizeof type), 0);
    assert_non_null(strstr(type, "application/json"));
    assert_int_equal(ts_header(&r, "Content-Security-Policy", csp, sizeof csp), 0);
    assert_non_null(strstr(csp, "frame-ancestors"));
    char code[64];
    assert_int_equal(ts_json_string(&r, "code", code, sizeof code), 0);
    assert_string_equal(code, "page_too_large");
    /* none of the page that fitted went out */
    assert_null(strstr(r.body, "MARKER"));
    assert_null(strstr(r.body, "<!doctype"));
    ts_response_free(&r);
    http_server_stop(srv);
    http_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shell_page_names_no_ids),
        cmocka_unit_test(test_failed_page_is_500_not_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
