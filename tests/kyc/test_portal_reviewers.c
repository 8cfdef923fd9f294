/*
 * test_portal_reviewers.c — "sign in to decide" (spec D23′) over real HTTP: the real cloudsim in
 * V2 mode (launches carry no user_id) and the real `kyc serve`.
 *
 *   - a session that is not signed in reads the queue but cannot decide, confirm, cancel, mark a
 *     false positive, change the settings or export: 403 sign_in_required, nothing changes;
 *   - the first person sets up the admin account (a check code first), invites a second
 *     reviewer with a one-time enrolment code, who enrols from their own launch;
 *   - under V2, the two accounts complete a four-eyes rejection: the maker cannot confirm it
 *     herself, the second account can, and the audit names both accounts;
 *   - a forged portal-generator call with a made-up user_id (V1 shape) gets a session that
 *     cannot confirm another reviewer's pending rejection, nor guess its way into an account;
 *   - sign-out makes the session read-only again; a spent code does not sign in twice;
 *   - a session carried in the Authorization header (a browser that refused the cookie, D10′)
 *     sets up, signs in and stays signed in across page tickets, with no CSRF token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "kyc/reviewers.h"
#include "test_pipeline_kit.h"

/* A portal session from a portal-generator call made by anyone (no signature exists): the
 * launch body Cloud would send, with a user_id of the caller's choosing. */
static void forged_session(const struct kit *k, const char *user_id, char *cookie, size_t ccap,
                           char *csrf, size_t scap)
{
    char url[300], body[800], portal[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/portal", k->kyc_port);
    snprintf(body, sizeof body,
             "{\"installed_app_id\":\"%s\",\"app_id\":\"%s\",\"instance_id\":\"%s\","
             "\"user_id\":\"%s\"}",
             k->installed_app_id, k->app_id, k->instance_id, user_id);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct ts_response r;
    ts_http("POST", url, body, headers, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_int_equal(ts_json_string(&r, "portal_url", portal, sizeof portal), 0);
    ts_response_free(&r);
    kit_portal_redeem(k, portal, cookie, ccap, csrf, scap);
}

/* Sends and expects `status` with `code` in the body. */
static void expect(const struct kit *k, const char *method, const char *path, const char *body,
                   const char *cookie, const char *csrf, long status, const char *code)
{
    struct ts_response r;
    kit_portal_send(k, method, path, body, cookie, csrf, &r);
    if (r.status != status || (code && (!r.body || !strstr(r.body, code))))
        fail_msg("%s %s %s: got %ld %s, wanted %ld %s", method, path, body ? body : "", r.status,
                 r.body ? r.body : "", status, code ? code : "");
    ts_response_free(&r);
}

static long long decisions(const struct kit *k)
{
    return kit_int(k->kyc_db, "SELECT count(*) FROM kyc_review_decisions", NULL);
}

static void test_sign_in_to_decide_under_v2(void **state)
{
    (void)state;
    struct kit k;
    const char *cs_args[] = {"--mode", "v2", NULL};
    kit_start_cloudsim(&k, cs_args);
    kit_seed(&k, 30, 0.3, 0.0);
    kit_register(&k);
    kit_start_kyc(&k, NULL);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 20000);
    char hit1[160] = "", hit2[160] = "";
    assert_true(kit_text(k.kyc_db,
                         "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ?"
                         " AND status IN ('hit', 'needs_review') ORDER BY identity_id LIMIT 1",
                         k.installed_app_id, NULL, hit1, sizeof hit1));
    assert_true(kit_text(k.kyc_db,
                         "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ?"
                         " AND status IN ('hit', 'needs_review') AND identity_id > ?"
                         " ORDER BY identity_id LIMIT 1",
                         k.installed_app_id, hit1, hit2, sizeof hit2));

    /* Ada's launch: V2, so no user_id */
    char ada_cookie[700], ada_csrf[200];
    kit_portal_session(&k, ada_cookie, sizeof ada_cookie, ada_csrf, sizeof ada_csrf);
    json_t *session = kit_portal_json(&k, "/portal/api/session", ada_cookie, ada_csrf);
    assert_null(json_string_value(json_object_get(session, "user_id"))); /* V2: no user */
    json_decref(session);
    json_t *me = kit_portal_json(&k, "/portal/api/reviewers/me", ada_cookie, ada_csrf);
    assert_true(json_is_false(json_object_get(me, "signed_in")));
    assert_true(json_is_true(json_object_get(me, "setup_needed")));
    json_decref(me);

    /* not signed in: reading works, every change is refused and changes nothing */
    json_t *list = kit_portal_json(&k, "/portal/api/identities", ada_cookie, ada_csrf);
    assert_int_equal(json_integer_value(json_object_get(list, "total")), 30);
    json_decref(list);
    char body[600], path[300];
    snprintf(body, sizeof body, "{\"identity_id\":\"%s\",\"action\":\"reject\",\"note\":\"n\"}",
             hit1);
    long long audit_before =
        kit_int(k.kyc_db, "SELECT count(*) FROM kyc_audit_log WHERE kind <> 'reviewer'", NULL);
    expect(&k, "POST", "/portal/api/decisions", body, ada_cookie, ada_csrf, 403,
           "\"sign_in_required\"");
    expect(&k, "POST", "/portal/api/decisions/1/confirm", "{\"note\":\"n\"}", ada_cookie, ada_csrf,
           403, "\"sign_in_required\"");
    expect(&k, "POST", "/portal/api/decisions/1/cancel", "{\"note\":\"n\"}", ada_cookie, ada_csrf,
           403, "\"sign_in_required\"");
    snprintf(body, sizeof body, "{\"identity_id\":\"%s\",\"entry_id\":\"ofac:1\",\"note\":\"n\"}",
             hit1);
    expect(&k, "POST", "/portal/api/false-positives", body, ada_cookie, ada_csrf, 403,
           "\"sign_in_required\"");
    expect(&k, "PUT", "/portal/api/settings", "{\"four_eyes\":false}", ada_cookie, ada_csrf, 403,
           "\"sign_in_required\"");
    expect(&k, "GET", "/portal/api/export.csv", NULL, ada_cookie, ada_csrf, 403,
           "\"sign_in_required\"");
    expect(&k, "GET", "/portal/api/reviewers", NULL, ada_cookie, ada_csrf, 403,
           "\"sign_in_required\"");
    expect(&k, "POST", "/portal/api/reviewers/enrolments", "{}", ada_cookie, ada_csrf, 403,
           "\"sign_in_required\"");
    /* the reviewer API refuses bad input by field */
    expect(&k, "POST", "/portal/api/reviewers/setup", "{\"display_name\":\"\"}", ada_cookie,
           ada_csrf, 400, "\"display_name\"");
    expect(&k, "POST", "/portal/api/reviewers/setup", "{\"display_name\":7}", ada_cookie, ada_csrf,
           400, "display_name");
    expect(&k, "POST", "/portal/api/reviewers/confirm", "{\"code\":\"123456\"}", ada_cookie,
           ada_csrf, 409, "\"nothing_started\"");
    expect(&k, "POST", "/portal/api/reviewers/signin",
           "{\"account_id\":\"rvw_nobody\",\"code\":\"12345x\"}", ada_cookie, ada_csrf, 400,
           "\"code\"");
    assert_int_equal(decisions(&k), 0);
    assert_int_equal(
        kit_int(k.kyc_db, "SELECT count(*) FROM kyc_audit_log WHERE kind <> 'reviewer'", NULL),
        audit_before);
    assert_int_equal(kit_int(k.kyc_db, "SELECT count(*) FROM kyc_reviewer_accounts", NULL), 0);

    /* the first-run setup: Ada becomes the admin, and her session is signed in */
    struct kit_reviewer ada, grace;
    kit_reviewer_create(&k, ada_cookie, ada_csrf, NULL, "Ada", &ada);
    me = kit_portal_json(&k, "/portal/api/reviewers/me", ada_cookie, ada_csrf);
    assert_true(json_is_true(json_object_get(me, "signed_in")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(me, "account"), "role")),
                        "admin");
    json_decref(me);
    expect(&k, "POST", "/portal/api/reviewers/setup", "{\"display_name\":\"Eve\"}", ada_cookie,
           ada_csrf, 409, "\"setup_done\"");

    /* Grace: her own launch, an enrolment code from Ada */
    char enrol[40], grace_cookie[700], grace_csrf[200];
    kit_reviewer_invite(&k, ada_cookie, ada_csrf, "reviewer", enrol, sizeof enrol);
    kit_portal_session(&k, grace_cookie, sizeof grace_cookie, grace_csrf, sizeof grace_csrf);
    kit_reviewer_create(&k, grace_cookie, grace_csrf, enrol, "Grace", &grace);
    assert_string_not_equal(ada.account_id, grace.account_id);
    /* the code was single-use; a reviewer cannot invite */
    expect(&k, "POST", "/portal/api/reviewers/enrol",
           "{\"enrolment_code\":\"AAAA-AAAA-AAAA-AAAA\",\"display_name\":\"Eve\"}", grace_cookie,
           grace_csrf, 403, "\"enrolment_code_invalid\"");
    snprintf(body, sizeof body, "{\"enrolment_code\":\"%s\",\"display_name\":\"Eve\"}", enrol);
    expect(&k, "POST", "/portal/api/reviewers/enrol", body, grace_cookie, grace_csrf, 403,
           "\"enrolment_code_invalid\"");
    expect(&k, "POST", "/portal/api/reviewers/enrolments", "{}", grace_cookie, grace_csrf, 403,
           "\"admin_required\"");
    json_t *accounts = kit_portal_json(&k, "/portal/api/reviewers", ada_cookie, ada_csrf);
    json_t *second = json_array_get(json_object_get(accounts, "accounts"), 1);
    assert_string_equal(json_string_value(json_object_get(second, "display_name")), "Grace");
    assert_string_equal(json_string_value(json_object_get(second, "created_by")), ada.account_id);
    assert_string_equal(json_string_value(json_object_get(second, "created_by_name")), "Ada");
    json_decref(accounts);

    /* four-eyes under V2: Ada proposes a rejection, cannot confirm it, Grace does */
    snprintf(body, sizeof body,
             "{\"identity_id\":\"%s\",\"action\":\"reject\",\"note\":\"listed person\"}", hit1);
    struct ts_response r;
    kit_portal_send(&k, "POST", "/portal/api/decisions", body, ada_cookie, ada_csrf, &r);
    TS_ASSERT_STATUS(r, 202);
    json_t *o = json_loads(r.body, 0, NULL);
    ts_response_free(&r);
    long long decision = json_integer_value(json_object_get(o, "decision_id"));
    json_decref(o);
    snprintf(path, sizeof path, "/portal/api/decisions/%lld/confirm", decision);
    expect(&k, "POST", path, "{\"note\":\"self\"}", ada_cookie, ada_csrf, 409, "\"same_reviewer\"");
    /* Ada signing in from another tab is still Ada */
    char tab_cookie[700], tab_csrf[200];
    kit_portal_session(&k, tab_cookie, sizeof tab_cookie, tab_csrf, sizeof tab_csrf);
    assert_int_equal(kit_reviewer_sign_in(&k, tab_cookie, tab_csrf, &ada, 1), 200);
    assert_int_equal(kit_reviewer_sign_in(&k, tab_cookie, tab_csrf, &ada, 1), 403); /* spent */
    expect(&k, "POST", path, "{\"note\":\"self again\"}", tab_cookie, tab_csrf, 409,
           "\"same_reviewer\"");
    expect(&k, "POST", path, "{\"note\":\"agreed: same date of birth\"}", grace_cookie, grace_csrf,
           200, "\"applied\"");
    char status[32] = "";
    assert_true(kit_text(k.kyc_db,
                         "SELECT status FROM kyc_identities WHERE installed_app_id = ? AND"
                         " identity_id = ?",
                         k.installed_app_id, hit1, status, sizeof status));
    assert_string_equal(status, "rejected");
    char maker[160] = "", checker[160] = "";
    assert_true(kit_text(k.kyc_db, "SELECT maker FROM kyc_review_decisions WHERE identity_id = ?",
                         hit1, NULL, maker, sizeof maker));
    assert_true(kit_text(k.kyc_db, "SELECT checker FROM kyc_review_decisions WHERE identity_id = ?",
                         hit1, NULL, checker, sizeof checker));
    assert_string_equal(maker, ada.account_id);
    assert_string_equal(checker, grace.account_id);
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT count(DISTINCT actor) FROM kyc_audit_log WHERE kind ="
                             " 'decision' AND identity_id = ?",
                             hit1),
                     2);

    /* a forged launch (V1 shape, made-up user_id) cannot confirm Ada's next rejection */
    snprintf(body, sizeof body,
             "{\"identity_id\":\"%s\",\"action\":\"reject\",\"note\":\"listed too\"}", hit2);
    kit_portal_send(&k, "POST", "/portal/api/decisions", body, ada_cookie, ada_csrf, &r);
    TS_ASSERT_STATUS(r, 202);
    o = json_loads(r.body, 0, NULL);
    ts_response_free(&r);
    decision = json_integer_value(json_object_get(o, "decision_id"));
    json_decref(o);
    char forged_cookie[700], forged_csrf[200];
    forged_session(&k, "user_forged", forged_cookie, sizeof forged_cookie, forged_csrf,
                   sizeof forged_csrf);
    session = kit_portal_json(&k, "/portal/api/session", forged_cookie, forged_csrf);
    assert_string_equal(json_string_value(json_object_get(session, "user_id")), "user_forged");
    json_decref(session);
    long long before = decisions(&k);
    snprintf(path, sizeof path, "/portal/api/decisions/%lld/confirm", decision);
    expect(&k, "POST", path, "{\"note\":\"confirmed\"}", forged_cookie, forged_csrf, 403,
           "\"sign_in_required\"");
    snprintf(path, sizeof path, "/portal/api/decisions/%lld/cancel", decision);
    expect(&k, "POST", path, "{\"note\":\"declined\"}", forged_cookie, forged_csrf, 403,
           "\"sign_in_required\"");
    /* nor guess a code: wrong codes count toward Grace's lock */
    snprintf(body, sizeof body, "{\"account_id\":\"%s\",\"code\":\"000000\"}", grace.account_id);
    char right[TOTP_DIGITS + 1];
    kit_totp(grace.secret, 0, right);
    if (strcmp(right, "000000") != 0)
        expect(&k, "POST", "/portal/api/reviewers/signin", body, forged_cookie, forged_csrf, 403,
               "\"code_wrong\"");
    assert_int_equal(decisions(&k), before);
    char state_text[32] = "";
    assert_true(kit_text(k.kyc_db, "SELECT state FROM kyc_review_decisions WHERE identity_id = ?",
                         hit2, NULL, state_text, sizeof state_text));
    assert_string_equal(state_text, "pending");

    /* sign-out: Grace's session reads but no longer decides */
    expect(&k, "POST", "/portal/api/reviewers/signout", "{}", grace_cookie, grace_csrf, 200, NULL);
    snprintf(path, sizeof path, "/portal/api/decisions/%lld/confirm", decision);
    expect(&k, "POST", path, "{\"note\":\"confirmed\"}", grace_cookie, grace_csrf, 403,
           "\"sign_in_required\"");
    json_decref(kit_portal_json(&k, "/portal/api/identities", grace_cookie, grace_csrf));
    /* the page says how to sign in */
    char url[300], header[800];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/portal", k.kyc_port);
    snprintf(header, sizeof header, "Cookie: %s", grace_cookie);
    const char *h[] = {header, NULL};
    ts_http("GET", url, NULL, h, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "Sign in to decide"));
    ts_response_free(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/portal?view=signin", k.kyc_port);
    ts_http("GET", url, NULL, h, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "id=\"signin-form\""));
    assert_non_null(strstr(r.body, ">Grace</option>"));
    assert_null(strstr(r.body, "style="));
    ts_response_free(&r);
    /* signed in again (a later code), she confirms */
    assert_int_equal(kit_reviewer_sign_in(&k, grace_cookie, grace_csrf, &grace, 1), 200);
    expect(&k, "POST", path, "{\"note\":\"confirmed\"}", grace_cookie, grace_csrf, 200,
           "\"applied\"");
    kit_stop(&k);
}

/* A browser that refuses the cookie carries the session in the Authorization header (D10′):
 * it sets up, signs in and decides the same way, with no CSRF token (a header session needs
 * none), and its page tickets open pages that show it signed in. A cookie session still needs
 * its CSRF token to sign in. */
static void test_header_session_signs_in(void **state)
{
    (void)state;
    struct kit k;
    const char *cs_args[] = {"--mode", "v2", NULL};
    kit_start_cloudsim(&k, cs_args);
    kit_seed(&k, 10, 0.3, 0.0);
    kit_register(&k);
    kit_start_kyc(&k, NULL);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 20000);

    char portal[1024], auth[200];
    kit_portal_launch(&k, portal, sizeof portal);
    kit_portal_redeem_header(&k, portal, auth, sizeof auth);
    json_t *session = kit_portal_json(&k, "/portal/api/session", auth, NULL);
    assert_string_equal(json_string_value(json_object_get(session, "carried_by")), "header");
    json_decref(session);

    struct kit_reviewer ada;
    kit_reviewer_create(&k, auth, NULL, NULL, "Ada", &ada); /* set-up + confirm, no CSRF */
    json_t *me = kit_portal_json(&k, "/portal/api/reviewers/me", auth, NULL);
    assert_true(json_is_true(json_object_get(me, "signed_in")));
    json_decref(me);
    expect(&k, "PUT", "/portal/api/settings", "{\"four_eyes\":false}", auth, NULL, 200, NULL);

    /* a navigation with a page ticket shows the page signed in */
    struct ts_response r;
    kit_portal_call(&k, "POST", "/portal/api/ticket", auth, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    char ticket[100], url[300];
    assert_int_equal(ts_json_string(&r, "ticket", ticket, sizeof ticket), 0);
    ts_response_free(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/portal?ticket=%s", k.kyc_port, ticket);
    ts_http("GET", url, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "<strong id=\"reviewer\">Ada</strong>"));
    ts_response_free(&r);

    /* sign out and in again, still without a CSRF token */
    expect(&k, "POST", "/portal/api/reviewers/signout", "{}", auth, NULL, 200, NULL);
    expect(&k, "PUT", "/portal/api/settings", "{\"four_eyes\":true}", auth, NULL, 403,
           "\"sign_in_required\"");
    assert_int_equal(kit_reviewer_sign_in(&k, auth, NULL, &ada, 1), 200);
    expect(&k, "PUT", "/portal/api/settings", "{\"four_eyes\":true}", auth, NULL, 200, NULL);

    /* a cookie session is another matter: without its CSRF token the sign-in is refused */
    char cookie[700], csrf[200], body[300], code[TOTP_DIGITS + 1];
    kit_portal_session(&k, cookie, sizeof cookie, csrf, sizeof csrf);
    kit_totp(ada.secret, 2, code);
    snprintf(body, sizeof body, "{\"account_id\":\"%s\",\"code\":\"%s\"}", ada.account_id, code);
    expect(&k, "POST", "/portal/api/reviewers/signin", body, cookie, NULL, 403, "\"csrf_failed\"");
    kit_stop(&k);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sign_in_to_decide_under_v2, kit_teardown),
        cmocka_unit_test_teardown(test_header_session_signs_in, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
