/*
 * serve_fixture.h — runs capp's test app (capp_testapp.c: a real server process on capp and
 * nothing else) for integration tests and wraps the calls Blnk Cloud and a browser make against
 * it. Header-only: each integration test includes it.
 */
#ifndef SERVE_FIXTURE_H
#define SERVE_FIXTURE_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#define TEST_MASTER_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define TEST_APP_ID     "app_0123456789abcdef0123456789abcdef"
#define TEST_ORG        "org_0123456789abcdef0123456789abcdef"
#define TEST_INSTANCE   "inst_0123456789abcdef0123456789abcdef"
#define TEST_USER       "user_0123456789abcdef0123456789abcdef"
/* the test app's names (capp_serve_hooks) */
#define TEST_ENV_MASTER_KEY "CAPP_TEST_MASTER_KEY"
#define TEST_APP_TITLE      "capp test app"

struct serve_fixture {
    const char *app_id; /* --app-id: NULL gives TEST_APP_ID, "" none (the first install pins) */
    char dir[256];
    char db[320];
    char log[320];
    struct ts_proc proc;
};

/* Starts the test app's serve; extra is a NULL-terminated list of further arguments (may be
 * NULL). */
static inline void serve_start(struct serve_fixture *f, const char *const *extra)
{
    if (!f->dir[0]) {
        ts_tmpdir(f->dir, sizeof f->dir);
        snprintf(f->db, sizeof f->db, "%s/app.db", f->dir);
        snprintf(f->log, sizeof f->log, "%s/app.log", f->dir);
    }
    /* These tests need no Cloud: uninstall confirmation is pointed at a closed loopback port
     * (the discard port), so nothing ever leaves the machine. */
    const char *argv[32] = {CAPP_TESTAPP,
                            "serve",
                            "--listen",
                            "127.0.0.1:0",
                            "--db",
                            f->db,
                            "--frame-ancestors",
                            "http://dashboard.test:9000",
                            "--cloud-url",
                            "http://127.0.0.1:9"};
    int n = 10;
    const char *app_id = f->app_id ? f->app_id : TEST_APP_ID;
    if (*app_id) {
        argv[n++] = "--app-id";
        argv[n++] = app_id;
    }
    for (const char *const *e = extra; e && *e && n < 30; e++)
        argv[n++] = *e;
    argv[n] = NULL;
    static const char *env[] = {TEST_ENV_MASTER_KEY "=" TEST_MASTER_KEY, NULL};
    if (ts_proc_start(&f->proc, argv, env, f->log, NULL) != 0) {
        char *log = ts_read_file(f->log, NULL);
        fail_msg("the test app did not start; log:\n%s", log ? log : "(none)");
    }
}

static inline void serve_stop(struct serve_fixture *f)
{
    ts_proc_stop(&f->proc, SIGTERM);
}

static inline void serve_url(const struct serve_fixture *f, const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", f->proc.url, path);
}

static inline void serve_post(const struct serve_fixture *f, const char *path, const char *body,
                              struct ts_response *r)
{
    char url[512];
    serve_url(f, path, url, sizeof url);
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    if (ts_http("POST", url, body, headers, r) != 0)
        fail_msg("POST %s failed to connect", path);
}

static inline void install_body(char *out, size_t cap, const char *id, const char *key_suffix,
                                const char *api_key, const char *perms)
{
    snprintf(out, cap,
             "{\"installed_app_id\":\"%s\",\"app_id\":\"" TEST_APP_ID
             "\",\"organization_id\":\"" TEST_ORG "\",\"instance_id\":\"" TEST_INSTANCE
             "\",\"api_key\":\"%s\",\"api_key_prefix\":\"%.8s\",\"granted_permissions\":%s,"
             "\"idempotency_key\":\"install:%s%s\"}",
             id, api_key, api_key, perms, id, key_suffix);
}

static inline void serve_install(const struct serve_fixture *f, const char *id, const char *api_key)
{
    char body[1024];
    install_body(body, sizeof body, id, "", api_key, "[\"data:read\",\"alerts:write\"]");
    struct ts_response r;
    serve_post(f, "/api/callback", body, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
}

static inline void serve_uninstall(const struct serve_fixture *f, const char *id)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"installed_app_id\":\"%s\",\"app_id\":\"" TEST_APP_ID
             "\",\"organization_id\":\"" TEST_ORG "\",\"instance_id\":\"" TEST_INSTANCE
             "\",\"uninstalled_at\":\"2026-04-21T12:00:00Z\",\"idempotency_key\":\"uninstall:%s\"}",
             id, id);
    struct ts_response r;
    serve_post(f, "/api/callback", body, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
}

/* Launches and returns the portal URL's token (43 chars) in token. */
static inline void serve_launch(const struct serve_fixture *f, const char *id, char *token,
                                size_t cap)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"installed_app_id\":\"%s\",\"app_id\":\"" TEST_APP_ID
             "\",\"organization_id\":\"" TEST_ORG "\",\"instance_id\":\"" TEST_INSTANCE
             "\",\"user_id\":\"" TEST_USER "\"}",
             id);
    struct ts_response r;
    serve_post(f, "/api/portal", body, &r);
    TS_ASSERT_STATUS(r, 200);
    char url[512];
    assert_int_equal(ts_json_string(&r, "portal_url", url, sizeof url), 0);
    const char *t = strstr(url, "/portal?token=");
    assert_non_null(t);
    snprintf(token, cap, "%s", t + strlen("/portal?token="));
    ts_response_free(&r);
}

/* Redeems a token like a browser's first load; returns the session cookie "capp_session=…". */
static inline void serve_redeem(const struct serve_fixture *f, const char *token, char *cookie,
                                size_t cap)
{
    char url[512];
    snprintf(url, sizeof url, "%s/portal?token=%s", f->proc.url, token);
    struct ts_response r;
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 303);
    char set_cookie[512];
    assert_int_equal(ts_header(&r, "Set-Cookie", set_cookie, sizeof set_cookie), 0);
    size_t n = strcspn(set_cookie, ";");
    snprintf(cookie, cap, "%.*s", (int)n, set_cookie);
    ts_response_free(&r);
}

/* GET with a Cookie header. */
static inline void serve_get_with_cookie(const struct serve_fixture *f, const char *path,
                                         const char *cookie, struct ts_response *r)
{
    char url[512], header[600];
    serve_url(f, path, url, sizeof url);
    snprintf(header, sizeof header, "Cookie: %s", cookie ? cookie : "");
    const char *const headers[] = {header, NULL};
    if (ts_http("GET", url, NULL, cookie ? headers : NULL, r) != 0)
        fail_msg("GET %s failed to connect", path);
}

/* Two well-formed install keys for tests that need distinct keys. */
#define INSTALL_KEY_A "blnk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define INSTALL_KEY_B "blnk_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

/* Asserts the status and a proper error body: {"error": …, "code": code}, never a portal URL. */
static inline void expect_error(const struct ts_response *r, long status, const char *code)
{
    TS_ASSERT_STATUS(*r, status);
    char got[128];
    if (ts_json_string(r, "code", got, sizeof got) != 0)
        fail_msg("no JSON error code in: %s", r->body);
    assert_string_equal(got, code);
    assert_int_equal(ts_json_string(r, "error", got, sizeof got), 0);
    assert_null(strstr(r->body, "portal_url"));
}

#endif
