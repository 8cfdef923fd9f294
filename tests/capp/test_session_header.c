/*
 * Integration tests of header-carried portal sessions (spec D10′) against the real `kyc serve`:
 * the handoff that detects a refused cookie, `Authorization: Bearer` on the portal API (valid,
 * unknown, malformed, expired, revoked at uninstall, bound to its install, no CSRF needed), the
 * single-use page tickets that carry such a session across navigations, and logs that never
 * contain a token or a ticket.
 */
#include <sqlite3.h>

#include "capp/limits.h"
#include "serve_fixture.h"

static struct serve_fixture fx;

static int setup(void **state)
{
    memset(&fx, 0, sizeof fx);
    serve_start(&fx, NULL);
    return 0;
}

static int teardown(void **state)
{
    serve_stop(&fx);
    return 0;
}

/* A request with optional Authorization, Cookie and X-CSRF-Token headers (NULL: not sent). */
static void request(const struct serve_fixture *f, const char *method, const char *path,
                    const char *authorization, const char *cookie, const char *csrf,
                    struct ts_response *r)
{
    char url[600], a[200], c[300], x[200];
    serve_url(f, path, url, sizeof url);
    const char *headers[4] = {NULL};
    int n = 0;
    if (authorization) {
        snprintf(a, sizeof a, "Authorization: %s", authorization);
        headers[n++] = a;
    }
    if (cookie) {
        snprintf(c, sizeof c, "Cookie: %s", cookie);
        headers[n++] = c;
    }
    if (csrf) {
        snprintf(x, sizeof x, "X-CSRF-Token: %s", csrf);
        headers[n++] = x;
    }
    const char *body = strcmp(method, "POST") == 0 ? "{}" : NULL;
    if (ts_http(method, url, body, headers, r) != 0)
        fail_msg("%s %s failed to connect", method, path);
}

static void bearer(const char *token, char *out, size_t cap)
{
    snprintf(out, cap, "Bearer %s", token);
}

/* Redeems a fresh launch of install id: the cookie ("capp_session=…") and the handoff path. */
static void redeem(const struct serve_fixture *f, const char *id, char *cookie, size_t ccap,
                   char *handoff, size_t hcap)
{
    char token[128], url[512];
    serve_launch(f, id, token, sizeof token);
    snprintf(url, sizeof url, "%s/portal?token=%s", f->proc.url, token);
    struct ts_response r;
    assert_int_equal(ts_http("GET", url, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 303);
    char set_cookie[512];
    assert_int_equal(ts_header(&r, "Set-Cookie", set_cookie, sizeof set_cookie), 0);
    snprintf(cookie, ccap, "%.*s", (int)strcspn(set_cookie, ";"), set_cookie);
    assert_int_equal(ts_header(&r, "Location", handoff, hcap), 0);
    assert_int_equal(strncmp(handoff, "/portal?handoff=", 16), 0);
    ts_response_free(&r);
}

/* The token a handoff page hands to its script (data-capp-session="…"). */
static void handed_token(const struct ts_response *r, char *out, size_t cap)
{
    const char *p = strstr(r->body, "data-capp-session=\"");
    assert_non_null(p);
    p += strlen("data-capp-session=\"");
    snprintf(out, cap, "%.*s", (int)strcspn(p, "\""), p);
    assert_int_equal(strlen(out), 43);
}

/* A header-carried session for install id, as a browser that refuses the cookie gets it. */
static void header_session(const struct serve_fixture *f, const char *id, char *token, size_t cap)
{
    char cookie[256], handoff[256];
    redeem(f, id, cookie, sizeof cookie, handoff, sizeof handoff);
    struct ts_response r;
    request(f, "GET", handoff, NULL, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    handed_token(&r, token, cap);
    ts_response_free(&r);
}

static void carried_by(const struct ts_response *r, const char *want)
{
    TS_ASSERT_STATUS(*r, 200);
    char got[32];
    assert_int_equal(ts_json_string(r, "carried_by", got, sizeof got), 0);
    assert_string_equal(got, want);
}

/* A page ticket for a header-carried session. */
static void ticket_for(const struct serve_fixture *f, const char *auth, char *out, size_t cap)
{
    struct ts_response r;
    request(f, "POST", "/portal/api/ticket", auth, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_int_equal(ts_json_string(&r, "ticket", out, cap), 0);
    assert_int_equal(strlen(out), 43);
    ts_response_free(&r);
}

static void test_cookie_that_comes_back_stays_the_session(void **state)
{
    serve_install(&fx, "instapp_cookie", INSTALL_KEY_A);
    char cookie[256], handoff[256];
    redeem(&fx, "instapp_cookie", cookie, sizeof cookie, handoff, sizeof handoff);
    struct ts_response r;
    request(&fx, "GET", handoff, NULL, cookie, NULL, &r);
    TS_ASSERT_STATUS(r, 303);
    char location[256];
    assert_int_equal(ts_header(&r, "Location", location, sizeof location), 0);
    assert_string_equal(location, "/portal");
    assert_null(strstr(r.body, "data-capp-session"));
    ts_response_free(&r);
    request(&fx, "GET", "/portal/api/session", NULL, cookie, NULL, &r);
    carried_by(&r, "cookie");
    ts_response_free(&r);
    /* the handoff is single use; a reload of it in the same browser lands on the portal */
    request(&fx, "GET", handoff, NULL, cookie, NULL, &r);
    TS_ASSERT_STATUS(r, 303);
    ts_response_free(&r);
    request(&fx, "GET", handoff, NULL, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 401);
    assert_non_null(strstr(r.body, "data-status=\"401\""));
    ts_response_free(&r);
}

static void test_refused_cookie_moves_the_session_to_a_header(void **state)
{
    serve_install(&fx, "instapp_header", INSTALL_KEY_A);
    char cookie[256], handoff[256], token[64], auth[128];
    redeem(&fx, "instapp_header", cookie, sizeof cookie, handoff, sizeof handoff);
    struct ts_response r;
    request(&fx, "GET", handoff, NULL, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    handed_token(&r, token, sizeof token);
    assert_null(strstr(cookie, token)); /* a new token, not the refused cookie's */
    assert_int_equal(ts_header_count(&r, "Set-Cookie"), 0);
    char v[64];
    assert_int_equal(ts_header(&r, "Cache-Control", v, sizeof v), 0);
    assert_string_equal(v, "no-store");
    ts_response_free(&r);
    /* the header carries the session; the cookie's token, which no browser holds, is gone */
    bearer(token, auth, sizeof auth);
    request(&fx, "GET", "/portal/api/session", auth, NULL, NULL, &r);
    carried_by(&r, "header");
    assert_non_null(strstr(r.body, TEST_USER));
    ts_response_free(&r);
    request(&fx, "GET", "/portal/api/session", NULL, cookie, NULL, &r);
    expect_error(&r, 401, "session_required");
    ts_response_free(&r);
    /* the handoff cannot hand the session out twice */
    request(&fx, "GET", handoff, NULL, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 401);
    assert_null(strstr(r.body, "data-capp-session"));
    ts_response_free(&r);
    /* the token is stored only as its SHA-256 */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(fx.db, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM portal_sessions WHERE token_hash = ?"
                                        " OR installed_app_id = ? AND length(token_hash) != 64",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, "instapp_header", -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_header_session_needs_no_csrf(void **state)
{
    serve_install(&fx, "instapp_nocsrf", INSTALL_KEY_A);
    char token[64], auth[128];
    header_session(&fx, "instapp_nocsrf", token, sizeof token);
    bearer(token, auth, sizeof auth);
    /* the control: a cookie session's state change without its CSRF token is refused */
    char cookie[256], handoff[256];
    redeem(&fx, "instapp_nocsrf", cookie, sizeof cookie, handoff, sizeof handoff);
    struct ts_response r;
    request(&fx, "POST", "/portal/api/logout", NULL, cookie, NULL, &r);
    expect_error(&r, 403, "csrf_failed");
    ts_response_free(&r);
    /* the header session's is accepted without one, and ends the session */
    request(&fx, "POST", "/portal/api/logout", auth, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    request(&fx, "GET", "/portal/api/session", auth, NULL, NULL, &r);
    expect_error(&r, 401, "session_required");
    ts_response_free(&r);
}

static void test_unknown_or_malformed_header_refused(void **state)
{
    serve_install(&fx, "instapp_bad", INSTALL_KEY_A);
    char token[64], auth[128], cookie[256], handoff[256];
    header_session(&fx, "instapp_bad", token, sizeof token);
    redeem(&fx, "instapp_bad", cookie, sizeof cookie, handoff, sizeof handoff);
    char wrong[64];
    snprintf(wrong, sizeof wrong, "%s", token);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    char shortened[64];
    snprintf(shortened, sizeof shortened, "Bearer %.42s", token);
    char basic[128];
    snprintf(basic, sizeof basic, "Basic %s", token);
    char unknown[128];
    bearer(wrong, unknown, sizeof unknown);
    const char *refused[] = {unknown, shortened, basic, "Bearer"};
    struct ts_response r;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        /* a live cookie beside it changes nothing: a sent header is the session's only carrier */
        request(&fx, "GET", "/portal/api/session", refused[i], cookie, NULL, &r);
        expect_error(&r, 401, "session_required");
        ts_response_free(&r);
    }
    /* the scheme is case-insensitive (RFC 6750) */
    snprintf(auth, sizeof auth, "bearer %s", token);
    request(&fx, "GET", "/portal/api/session", auth, NULL, NULL, &r);
    carried_by(&r, "header");
    ts_response_free(&r);
}

static void test_header_session_expires(void **state)
{
    struct serve_fixture short_fx;
    memset(&short_fx, 0, sizeof short_fx);
    static const char *const extra[] = {"--test-only-session-ttl", "2", NULL};
    serve_start(&short_fx, extra);
    serve_install(&short_fx, "instapp_exp", INSTALL_KEY_A);
    char token[64], auth[128], ticket[64];
    header_session(&short_fx, "instapp_exp", token, sizeof token);
    bearer(token, auth, sizeof auth);
    struct ts_response r;
    request(&short_fx, "GET", "/portal/api/session", auth, NULL, NULL, &r);
    carried_by(&r, "header");
    ts_response_free(&r);
    ticket_for(&short_fx, auth, ticket, sizeof ticket);
    ts_sleep_ms(2300);
    request(&short_fx, "GET", "/portal/api/session", auth, NULL, NULL, &r);
    expect_error(&r, 410, "session_expired");
    ts_response_free(&r);
    request(&short_fx, "POST", "/portal/api/ticket", auth, NULL, NULL, &r);
    expect_error(&r, 410, "session_expired");
    ts_response_free(&r);
    /* a ticket never outlives its session */
    char path[128];
    snprintf(path, sizeof path, "/portal?ticket=%s", ticket);
    request(&short_fx, "GET", path, NULL, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 410);
    ts_response_free(&r);
    serve_stop(&short_fx);
}

static void test_uninstall_revokes_header_session_and_tickets(void **state)
{
    serve_install(&fx, "instapp_gone", INSTALL_KEY_A);
    char token[64], auth[128], ticket[64];
    header_session(&fx, "instapp_gone", token, sizeof token);
    bearer(token, auth, sizeof auth);
    ticket_for(&fx, auth, ticket, sizeof ticket);
    serve_uninstall(&fx, "instapp_gone");
    struct ts_response r;
    request(&fx, "GET", "/portal/api/session", auth, NULL, NULL, &r);
    assert_true(r.status == 401 || r.status == 403);
    ts_response_free(&r);
    request(&fx, "POST", "/portal/api/ticket", auth, NULL, NULL, &r);
    assert_true(r.status == 401 || r.status == 403);
    ts_response_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/portal?ticket=%s", ticket);
    request(&fx, "GET", path, NULL, NULL, NULL, &r);
    assert_true(r.status == 401 || r.status == 403);
    assert_null(strstr(r.body, "csrf-token"));
    ts_response_free(&r);
}

/* Sets a column of the install's stored session rows, as if they named another binding. */
static void tamper_sessions(const char *id, const char *column, const char *value)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(fx.db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE portal_sessions SET %s = ? WHERE installed_app_id = ?",
             column);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_true(sqlite3_changes(db) >= 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_header_session_bound_to_its_install(void **state)
{
    serve_install(&fx, "instapp_one", INSTALL_KEY_A);
    char body[1024];
    install_body(body, sizeof body, "instapp_two", "", INSTALL_KEY_B, "[\"data:write\"]");
    struct ts_response r;
    serve_post(&fx, "/api/callback", body, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    char one[64], two[64], auth_one[128], auth_two[128];
    header_session(&fx, "instapp_one", one, sizeof one);
    header_session(&fx, "instapp_two", two, sizeof two);
    bearer(one, auth_one, sizeof auth_one);
    bearer(two, auth_two, sizeof auth_two);
    /* each token reaches its own install only */
    request(&fx, "GET", "/portal/api/session", auth_one, NULL, NULL, &r);
    carried_by(&r, "header");
    assert_non_null(strstr(r.body, "alerts:write"));
    assert_null(strstr(r.body, "data:write"));
    ts_response_free(&r);
    request(&fx, "GET", "/portal/api/session", auth_two, NULL, NULL, &r);
    carried_by(&r, "header");
    assert_non_null(strstr(r.body, "data:write"));
    ts_response_free(&r);
    /* a session whose instance or organization is not its install's is refused */
    tamper_sessions("instapp_one", "instance_id", "inst_someoneelse");
    request(&fx, "GET", "/portal/api/session", auth_one, NULL, NULL, &r);
    expect_error(&r, 403, "install_inactive");
    ts_response_free(&r);
    request(&fx, "POST", "/portal/api/ticket", auth_one, NULL, NULL, &r);
    expect_error(&r, 403, "install_inactive");
    ts_response_free(&r);
    tamper_sessions("instapp_two", "organization_id", "org_someoneelse");
    request(&fx, "GET", "/portal/api/session", auth_two, NULL, NULL, &r);
    expect_error(&r, 403, "install_inactive");
    ts_response_free(&r);
}

static void test_page_tickets(void **state)
{
    serve_install(&fx, "instapp_ticket", INSTALL_KEY_A);
    char token[64], auth[128], ticket[64], path[320];
    header_session(&fx, "instapp_ticket", token, sizeof token);
    bearer(token, auth, sizeof auth);
    struct ts_response r;
    /* a navigation without the header: the "no session" notice, marked for the script */
    request(&fx, "GET", "/portal", NULL, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 401);
    assert_non_null(strstr(r.body, "data-status=\"401\""));
    ts_response_free(&r);
    /* with a ticket: the page, once; HEAD does not spend it */
    ticket_for(&fx, auth, ticket, sizeof ticket);
    snprintf(path, sizeof path, "/portal?view=queue&ticket=%s", ticket);
    request(&fx, "HEAD", path, NULL, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    request(&fx, "GET", path, NULL, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "name=\"csrf-token\""));
    assert_null(strstr(r.body, "instapp_ticket"));
    assert_null(strstr(r.body, token));
    ts_response_free(&r);
    request(&fx, "GET", path, NULL, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 401);
    ts_response_free(&r);
    /* a download (an API GET) takes a ticket too; a state change never does */
    ticket_for(&fx, auth, ticket, sizeof ticket);
    snprintf(path, sizeof path, "/portal/api/session?ticket=%s", ticket);
    request(&fx, "POST", path, NULL, NULL, NULL, &r);
    expect_error(&r, 401, "session_required");
    ts_response_free(&r);
    request(&fx, "GET", path, NULL, NULL, NULL, &r);
    carried_by(&r, "ticket");
    ts_response_free(&r);
    /* a handoff is not a page ticket, nor the other way round */
    char cookie[256], handoff[256];
    redeem(&fx, "instapp_ticket", cookie, sizeof cookie, handoff, sizeof handoff);
    snprintf(path, sizeof path, "/portal?ticket=%s", handoff + strlen("/portal?handoff="));
    request(&fx, "GET", path, NULL, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 401);
    ts_response_free(&r);
    ticket_for(&fx, auth, ticket, sizeof ticket);
    snprintf(path, sizeof path, "/portal?handoff=%s", ticket);
    request(&fx, "GET", path, NULL, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 401);
    ts_response_free(&r);
    /* a cookie session navigates with its cookie and gets no tickets */
    request(&fx, "GET", handoff, NULL, cookie, NULL, &r);
    TS_ASSERT_STATUS(r, 303);
    ts_response_free(&r);
    request(&fx, "GET", "/portal", NULL, cookie, NULL, &r);
    const char *meta = strstr(r.body, "name=\"csrf-token\" content=\"");
    assert_non_null(meta);
    meta += strlen("name=\"csrf-token\" content=\"");
    char csrf[64];
    snprintf(csrf, sizeof csrf, "%.*s", (int)strcspn(meta, "\""), meta);
    ts_response_free(&r);
    request(&fx, "POST", "/portal/api/ticket", NULL, cookie, csrf, &r);
    expect_error(&r, 403, "header_session_required");
    ts_response_free(&r);
    request(&fx, "GET", "/portal/api/ticket", auth, NULL, NULL, &r);
    expect_error(&r, 405, "method_not_allowed");
    ts_response_free(&r);
}

static void test_ticket_limit_per_session(void **state)
{
    serve_install(&fx, "instapp_many", INSTALL_KEY_A);
    char token[64], auth[128], first[64], ticket[64], path[160];
    header_session(&fx, "instapp_many", token, sizeof token);
    bearer(token, auth, sizeof auth);
    ticket_for(&fx, auth, first, sizeof first);
    for (int i = 0; i < CAPP_MAX_TICKETS_PER_SESSION; i++)
        ticket_for(&fx, auth, ticket, sizeof ticket);
    /* one more than the limit: the session's oldest ticket made room */
    struct ts_response r;
    snprintf(path, sizeof path, "/portal/api/session?ticket=%s", first);
    request(&fx, "GET", path, NULL, NULL, NULL, &r);
    expect_error(&r, 401, "session_required");
    ts_response_free(&r);
    snprintf(path, sizeof path, "/portal/api/session?ticket=%s", ticket);
    request(&fx, "GET", path, NULL, NULL, NULL, &r);
    carried_by(&r, "ticket");
    ts_response_free(&r);
}

static void test_tokens_and_tickets_never_logged(void **state)
{
    serve_install(&fx, "instapp_log", INSTALL_KEY_A);
    char cookie[256], handoff[256], token[64], auth[128], ticket[64], path[160];
    redeem(&fx, "instapp_log", cookie, sizeof cookie, handoff, sizeof handoff);
    struct ts_response r;
    request(&fx, "GET", handoff, NULL, NULL, NULL, &r);
    handed_token(&r, token, sizeof token);
    ts_response_free(&r);
    request(&fx, "GET", handoff, NULL, NULL, NULL, &r); /* a refused reuse is logged too */
    ts_response_free(&r);
    bearer(token, auth, sizeof auth);
    ticket_for(&fx, auth, ticket, sizeof ticket);
    snprintf(path, sizeof path, "/portal?ticket=%s", ticket);
    request(&fx, "GET", path, NULL, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
    request(&fx, "GET", path, NULL, NULL, NULL, &r);
    ts_response_free(&r);
    char wrong[128];
    snprintf(wrong, sizeof wrong, "Bearer %.40sxyz", token);
    request(&fx, "GET", "/portal/api/session", wrong, NULL, NULL, &r);
    ts_response_free(&r);
    serve_stop(&fx); /* flushes the log */
    char *log = ts_read_file(fx.log, NULL);
    assert_non_null(log);
    assert_non_null(strstr(log, "portal.handoff")); /* the events are there, the secrets not */
    const char *secrets[] = {token, ticket, handoff + strlen("/portal?handoff="),
                             cookie + strlen("capp_session="), wrong + strlen("Bearer ")};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (strstr(log, secrets[i]))
            fail_msg("the log contains secret %zu: %s", i, secrets[i]);
    free(log);
    serve_start(&fx, NULL); /* for teardown */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cookie_that_comes_back_stays_the_session, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_cookie_moves_the_session_to_a_header, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_header_session_needs_no_csrf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_or_malformed_header_refused, setup, teardown),
        cmocka_unit_test(test_header_session_expires),
        cmocka_unit_test_setup_teardown(test_uninstall_revokes_header_session_and_tickets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_header_session_bound_to_its_install, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_tickets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ticket_limit_per_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_and_tickets_never_logged, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
