/*
 * capp_testapp.c — the smallest app server capp can run, for tests/capp's integration tests: they
 * exercise capp (callback, portal generator, launch tokens, sessions, portal headers, the
 * dispatcher, serve's flags, environment and key checks) through a real process without
 * depending on any real app. Built by tests/capp/CMakeLists.txt; its path reaches the tests as
 * CAPP_TESTAPP.
 *
 *   capp_testapp serve [capp's flags] [--cloud-url URL] [--shell-page 1]
 *
 * Environment: CAPP_TEST_MASTER_KEY, CAPP_TEST_DB, … (env_prefix "CAPP_TEST"); default database
 * capp_testapp.db. Its portal page shows the launching user and the granted permissions, never
 * an install, organization or instance ID (spec D1); with --shell-page 1 it registers no page, so
 * capp's built-in shell page (titled "capp test app") answers instead. Portal API: POST /things
 * answers {"ok":true}; GET and PUT /settings answer {"settings":{}}; capp's /session and /logout
 * come with capp.
 */
#include <stdio.h>
#include <string.h>

#include "capp/app.h"
#include "capp/assert.h"
#include "capp/clock.h"
#include "capp/html.h"
#include "capp/http.h"
#include "capp/portal.h"
#include "capp/serve.h"

#define TESTAPP_TITLE "capp test app"

struct testapp {
    const char *cloud_url;
    int shell_page;
};

static int option(void *ctx, const char *flag, const char *value)
{
    struct testapp *t = ctx;
    if (strcmp(flag, "--cloud-url") == 0) {
        t->cloud_url = value;
        return 1;
    }
    if (strcmp(flag, "--shell-page") == 0) {
        t->shell_page = strcmp(value, "1") == 0;
        return 1;
    }
    return 0;
}

static void page(struct capp_portal_context *pc, void *ctx)
{
    char perms[CAPP_MAX_PERMISSIONS * (CAPP_MAX_PERMISSION_BYTES + 2) + 1] = "";
    for (size_t i = 0; i < pc->install.permission_count; i++) {
        if (i)
            strcat(perms, ", ");
        strcat(perms, pc->install.permissions[i]);
    }
    char expires[CLOCK_RFC3339_BYTES];
    clock_format_rfc3339(pc->session.expires_at_ms, expires, sizeof expires);
    struct buf out;
    buf_init(&out, 64 * 1024);
    int rc = portal_page_begin(&out, TESTAPP_TITLE, pc);
    rc |= html_tpl(&out,
                   "<main><h1>{}</h1><p id=\"user\">{}</p><p id=\"permissions\">{}</p>"
                   "<p id=\"expires\">{}</p></main>",
                   TESTAPP_TITLE, pc->session.user_id, perms, expires, NULL);
    rc |= portal_page_end(&out);
    CAPP_ASSERT(rc == 0 || buf_failed(&out));
    portal_send_html(pc->app, pc->req, 200, &out); /* a failed page is a 500 there */
    buf_free(&out);
}

static void things(struct capp_portal_context *pc, void *ctx)
{
    http_respond_json(pc->req, 200, json_pack("{s:b}", "ok", 1));
}

static void settings(struct capp_portal_context *pc, void *ctx)
{
    http_respond_json(pc->req, 200, json_pack("{s:{}}", "settings"));
}

static int configure(struct capp_app *app, void *ctx)
{
    struct testapp *t = ctx;
    if (t->cloud_url)
        capp_app_set_cloud_url(app, t->cloud_url);
    if (!t->shell_page)
        capp_app_set_page(app, page, t);
    int rc = capp_app_portal_route(app, "POST", "/things", things, t);
    if (rc == 0)
        rc = capp_app_portal_route(app, "GET", "/settings", settings, t);
    if (rc == 0)
        rc = capp_app_portal_route(app, "PUT", "/settings", settings, t);
    return rc;
}

int main(int argc, char **argv)
{
    static struct testapp state;
    static const struct capp_serve_hooks hooks = {
        .option = option,
        .configure = configure,
        .usage = "test app options:\n"
                 "  --cloud-url URL    Blnk Cloud base URL (uninstall confirmation)\n"
                 "  --shell-page 1     serve capp's built-in shell page\n",
        .ctx = &state,
        .env_prefix = "CAPP_TEST",
        .default_db = "capp_testapp.db",
        .title = TESTAPP_TITLE,
        .product = "capp-testapp/1",
    };
    if (argc < 2 || strcmp(argv[1], "serve") != 0) {
        fputs("usage: capp_testapp serve [options] (capp_testapp serve --help)\n", stderr);
        return 2;
    }
    return capp_serve_main(argc - 1, argv + 1, &hooks);
}
