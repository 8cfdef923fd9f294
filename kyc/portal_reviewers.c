/*
 * portal_reviewers.c — reviewer accounts in the portal (spec D23′, kyc/reviewers.h): the API
 * for first-run setup, enrolment, TOTP sign-in and administration, and the two pages that use
 * it. (The check the other handlers make before they change anything, "sign in to decide", and
 * the header bar every page shows are portal_reviewer_session.c's.)
 *
 *   GET  /portal/api/reviewers/me          {signed_in, account|null, setup_needed}
 *   POST /portal/api/reviewers/setup       {display_name} → the first account's secret (shown
 *                                          once: base32, otpauth:// URI, QR as inline SVG)
 *   POST /portal/api/reviewers/enrol       {enrolment_code, display_name} → likewise
 *   POST /portal/api/reviewers/confirm     {code} → the account is saved, the session signed in
 *   POST /portal/api/reviewers/signin      {account_id, code}
 *   POST /portal/api/reviewers/signout
 *   GET  /portal/api/reviewers             admin: the accounts, who created whom
 *   POST /portal/api/reviewers/enrolments  admin: {role} → a one-time enrolment code
 *   POST /portal/api/reviewers/{id}/disable | /enable   admin
 *
 *   GET /portal?view=signin                set-up (no account yet), sign-in and enrolment
 *   GET /portal?view=reviewers             admin: accounts and enrolment codes
 *
 * Pages are drawn in the frame of portal_frame.c with capp's builder (capp/html.h): values
 * through the escaped holes of html_tpl, literal markup through html_raw_trusted, every append
 * chained with `rc |=` and the page sent by kyc_portal_send() (a failed buffer is a 500). No
 * inline script or style (the CSP forbids both; the QR code's colours are SVG presentation
 * attributes). Behaviour is in kyc/portal/app.js: forms with data-api post JSON through
 * cappSession.fetch (the session in the cookie, or in the Authorization header when the browser
 * refused the cookie, D10′); data-reveal shows a secret the answer carries instead of reloading.
 * Refusals go through portal_respond.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/clock.h"
#include "capp/err.h"
#include "capp/html.h"
#include "capp/http.h"
#include "capp/json.h"
#include "capp/log.h"
#include "capp/portal.h"
#include "kyc/portal_internal.h"
#include "kyc/reviewers.h"
#include "kyc/totp.h"

/* The accounts' refusals: an unknown account is "account_not_found", not an identity's 404. */
static void respond(struct http_request *req, int rc, const char *why)
{
    kyc_portal_respond_failure(req, rc, rc == CAPP_ENOTFOUND ? "account_not_found" : why);
}

static struct reviewers_session session_of(const struct capp_portal_context *pc)
{
    struct reviewers_session s = {
        .session_hash = pc->session.token_hash,
        .expires_at_ms = pc->session.expires_at_ms,
        .user_id = pc->session.user_id[0] ? pc->session.user_id : NULL,
    };
    return s;
}

/* Reads the body's fields; responds 400 naming the bad one and returns nonzero. */
static int read_fields(struct capp_portal_context *pc, json_t **body, struct json_field *fields,
                       size_t n)
{
    if (kyc_portal_read_body(pc, body))
        return -1;
    struct json_error err;
    if (json_read_fields(*body, fields, n, &err) != 0) {
        http_respond_error(pc->req, 400, err.code ? err.code : "invalid_field", "%s", err.message);
        json_decref(*body);
        *body = NULL;
        return -1;
    }
    return 0;
}

static json_t *account_json(const struct reviewer_account *a)
{
    return json_pack("{s:s, s:s, s:s}", "account_id", a->account_id, "display_name",
                     a->display_name, "role", reviewers_role_name(a->role));
}

static void log_reviewer(const struct capp_portal_context *pc, const char *what,
                         const char *account, int rc, const char *why)
{
    log_info("kyc.reviewer", "req", http_request_id(pc->req), "installed_app_id",
             pc->install.installed_app_id, "what", what, "account_id", account ? account : "",
             "user_id", pc->session.user_id, "outcome", rc ? (why ? why : capp_errcode(rc)) : "ok",
             NULL);
}

/* ---- API ---- */

static void me_get(struct capp_portal_context *pc, void *ctx)
{
    results_db *db = kyc_portal_db(ctx);
    struct reviewer_account a;
    int n = 0;
    int rc = kyc_portal_reviewer(pc, db, &a);
    int signed_in = rc == 1;
    if (rc >= 0)
        rc = reviewers_count(db, pc->install.installed_app_id, &n);
    if (rc < 0) {
        respond(pc->req, rc, NULL);
        return;
    }
    http_respond_json(pc->req, 200,
                      json_pack("{s:b, s:o, s:b}", "signed_in", signed_in, "account",
                                signed_in ? account_json(&a) : json_null(), "setup_needed",
                                n == 0));
}

/* The secret shown once, with its QR code. */
static void respond_secret(struct capp_portal_context *pc, const struct reviewers_secret *s,
                           const char *name)
{
    struct buf svg;
    buf_init(&svg, 64 * 1024);
    char label[160];
    snprintf(label, sizeof label, "QR code of the sign-in secret for %s", name);
    int rc = totp_qr_svg(&svg, s->uri, label);
    if (rc) {
        buf_free(&svg);
        respond(pc->req, rc, NULL);
        return;
    }
    http_respond_json(pc->req, 200,
                      json_pack("{s:s, s:s, s:s, s:s}", "secret", s->base32, "otpauth_uri", s->uri,
                                "qr_svg", svg.data, "message",
                                "Scan the code (or type the secret) into your authenticator app, "
                                "then enter the code it shows."));
    buf_free(&svg);
}

/* POST /reviewers/setup {display_name} (the first account) and /reviewers/enrol
 * {enrolment_code, display_name}: a new secret, shown once, that a code then confirms. */
static void start_post(struct capp_portal_context *pc, void *ctx, int enrol)
{
    json_t *body = NULL;
    const char *code = NULL, *name = NULL;
    struct json_field fields[] = {
        JSON_STRING("enrolment_code", &code, 64, 1),
        JSON_STRING("display_name", &name, REVIEWERS_NAME_MAX_BYTES * 2, 1),
    };
    if (read_fields(pc, &body, enrol ? fields : fields + 1, enrol ? 2 : 1))
        return;
    results_db *db = kyc_portal_db(ctx);
    struct reviewers_session s = session_of(pc);
    struct reviewers_secret secret;
    const char *why = NULL;
    const char *install = pc->install.installed_app_id;
    int rc = !db     ? CAPP_EDB
             : enrol ? reviewers_enrol_start(db, pc->app->keyring, install, &s, code, name,
                                             clock_now_ms(), &secret, &why)
                     : reviewers_setup_start(db, pc->app->keyring, install, &s, name,
                                             clock_now_ms(), &secret, &why);
    log_reviewer(pc, enrol ? "enrol_start" : "setup_start", NULL, rc, why);
    if (rc)
        respond(pc->req, rc, why);
    else
        respond_secret(pc, &secret, name);
    memset(&secret, 0, sizeof secret);
    json_decref(body);
}

static void setup_post(struct capp_portal_context *pc, void *ctx)
{
    start_post(pc, ctx, 0);
}

static void enrol_post(struct capp_portal_context *pc, void *ctx)
{
    start_post(pc, ctx, 1);
}

static void confirm_post(struct capp_portal_context *pc, void *ctx)
{
    json_t *body = NULL;
    const char *code = NULL;
    struct json_field fields[] = {JSON_STRING("code", &code, 16, 1)};
    if (read_fields(pc, &body, fields, COUNTOF(fields)))
        return;
    results_db *db = kyc_portal_db(ctx);
    struct reviewers_session s = session_of(pc);
    struct reviewer_account a;
    const char *why = NULL;
    int rc = db ? reviewers_start_confirm(db, pc->app->keyring, pc->install.installed_app_id, &s,
                                          code, clock_now_ms(), &a, &why)
                : CAPP_EDB;
    json_decref(body);
    log_reviewer(pc, "confirm", rc ? NULL : a.account_id, rc, why);
    if (rc) {
        respond(pc->req, rc, why);
        return;
    }
    http_respond_json(pc->req, 200,
                      json_pack("{s:o, s:s}", "account", account_json(&a), "message",
                                "Your account is saved and you are signed in."));
}

static void signin_post(struct capp_portal_context *pc, void *ctx)
{
    json_t *body = NULL;
    const char *account = NULL, *code = NULL;
    struct json_field fields[] = {
        JSON_STRING("account_id", &account, CAPP_MAX_ID_BYTES + 8, 1),
        JSON_STRING("code", &code, 16, 1),
    };
    if (read_fields(pc, &body, fields, COUNTOF(fields)))
        return;
    results_db *db = kyc_portal_db(ctx);
    struct reviewers_session s = session_of(pc);
    struct reviewer_account a;
    const char *why = NULL;
    int rc = db ? reviewers_sign_in(db, pc->app->keyring, pc->install.installed_app_id, &s, account,
                                    code, clock_now_ms(), &a, &why)
                : CAPP_EDB;
    log_reviewer(pc, "sign_in", account, rc, why);
    json_decref(body);
    if (rc) {
        respond(pc->req, rc, why);
        return;
    }
    http_respond_json(
        pc->req, 200,
        json_pack("{s:o, s:s}", "account", account_json(&a), "message", "Signed in."));
}

static void signout_post(struct capp_portal_context *pc, void *ctx)
{
    results_db *db = kyc_portal_db(ctx);
    int rc = db ? reviewers_sign_out(db, pc->install.installed_app_id, pc->session.token_hash)
                : CAPP_EDB;
    log_reviewer(pc, "sign_out", NULL, rc, NULL);
    if (rc) {
        respond(pc->req, rc, NULL);
        return;
    }
    http_respond_json(pc->req, 200,
                      json_pack("{s:s}", "message", "Signed out: the portal is read-only now."));
}

/* The signed-in admin into *a, or a response (403 sign_in_required / admin_required). */
static int require_admin(struct capp_portal_context *pc, results_db *db, struct reviewer_account *a)
{
    if (kyc_portal_require_reviewer(pc, db, a))
        return -1;
    if (a->role != REVIEWER_ROLE_ADMIN) {
        respond(pc->req, CAPP_EPERM, "admin_required");
        return -1;
    }
    return 0;
}

static void list_get(struct capp_portal_context *pc, void *ctx)
{
    results_db *db = kyc_portal_db(ctx);
    struct reviewer_account admin;
    if (require_admin(pc, db, &admin))
        return;
    json_t *list = NULL;
    int rc = reviewers_list(db, pc->install.installed_app_id, clock_now_ms(), &list);
    if (rc) {
        respond(pc->req, rc, NULL);
        return;
    }
    http_respond_json(pc->req, 200, json_pack("{s:o}", "accounts", list));
}

static void enrolments_post(struct capp_portal_context *pc, void *ctx)
{
    results_db *db = kyc_portal_db(ctx);
    struct reviewer_account admin;
    if (require_admin(pc, db, &admin))
        return;
    json_t *body = NULL;
    const char *role_text = NULL;
    struct json_field fields[] = {JSON_STRING("role", &role_text, 16, 0)};
    if (read_fields(pc, &body, fields, COUNTOF(fields)))
        return;
    enum reviewer_role role = REVIEWER_ROLE_REVIEWER;
    const char *why = NULL;
    char code[REVIEWERS_ENROL_CODE_CAP];
    int64_t expires = 0;
    int rc = role_text && reviewers_role_parse(role_text, &role) != 0 ? CAPP_EINVAL : 0;
    if (rc)
        why = "role";
    else
        rc = reviewers_enrolment_create(db, pc->install.installed_app_id, &admin, role,
                                        clock_now_ms(), code, &expires, &why);
    json_decref(body);
    log_reviewer(pc, "enrolment_create", admin.account_id, rc, why);
    if (rc) {
        respond(pc->req, rc, why);
        return;
    }
    char ts[40];
    clock_format_rfc3339(expires, ts, sizeof ts);
    http_respond_json(pc->req, 201,
                      json_pack("{s:s, s:s, s:s, s:s}", "enrolment_code", code, "role",
                                reviewers_role_name(role), "expires_at", ts, "message",
                                "Give this code to the new reviewer: it works once, for 24 "
                                "hours, and is not shown again."));
    memset(code, 0, sizeof code);
}

/* POST /reviewers/{id}/disable | /enable */
static void account_post(struct capp_portal_context *pc, void *ctx)
{
    const char *rest = http_path(pc->req) + strlen("/portal/api/reviewers/");
    char id[STORE_ID_CAP];
    size_t n = strcspn(rest, "/");
    const char *op = rest + n;
    int disable = strcmp(op, "/disable") == 0, enable = strcmp(op, "/enable") == 0;
    if (n == 0 || n >= sizeof id || (!disable && !enable)) {
        http_respond_error(pc->req, 404, "not_found", "no such portal endpoint");
        return;
    }
    memcpy(id, rest, n);
    id[n] = 0;
    results_db *db = kyc_portal_db(ctx);
    struct reviewer_account admin;
    if (require_admin(pc, db, &admin))
        return;
    const char *why = NULL;
    int rc = reviewers_set_disabled(db, pc->install.installed_app_id, &admin, id, disable,
                                    clock_now_ms(), &why);
    log_reviewer(pc, disable ? "disable" : "enable", id, rc, why);
    if (rc) {
        respond(pc->req, rc, why);
        return;
    }
    http_respond_json(pc->req, 200,
                      json_pack("{s:s}", "message",
                                disable ? "The account is disabled." : "The account is enabled."));
}

int kyc_portal_reviewers_register(struct capp_app *app, struct kyc_portal *kp)
{
    results_db *db = kyc_portal_db(kp);
    int rc = db ? reviewers_migrate(db) : CAPP_EDB;
    if (rc == 0)
        rc = totp_init();
    if (rc == 0)
        reviewers_purge(db, clock_now_ms());
    static const struct {
        const char *method, *path;
        capp_portal_fn fn;
    } routes[] = {
        /* exact paths first: the last route matches any account path */
        {"GET", "/reviewers/me", me_get},
        {"POST", "/reviewers/setup", setup_post},
        {"POST", "/reviewers/enrol", enrol_post},
        {"POST", "/reviewers/confirm", confirm_post},
        {"POST", "/reviewers/signin", signin_post},
        {"POST", "/reviewers/signout", signout_post},
        {"POST", "/reviewers/enrolments", enrolments_post},
        {"GET", "/reviewers", list_get},
        {"POST", "/reviewers/*", account_post},
    };
    for (size_t i = 0; rc == 0 && i < COUNTOF(routes); i++)
        rc = capp_app_portal_route(app, routes[i].method, routes[i].path, routes[i].fn, kp);
    return rc;
}

/* ---- pages ---- */

/* A time in Unix milliseconds as the frame shows times ("—" for none). */
static int when_ms(struct buf *b, int64_t ms)
{
    if (ms <= 0)
        return kyc_portal_when(b, NULL);
    char ts[40];
    clock_format_rfc3339(ms, ts, sizeof ts);
    return kyc_portal_when(b, ts);
}

/* The panel that shows a new secret once (filled by app.js from the start's answer) and asks
 * for the code that saves the account. */
static int secret_panel(struct buf *b)
{
    return html_raw_trusted(
        b, "<section class=\"panel\" id=\"secret-panel\" aria-labelledby=\"h-secret\" hidden>"
           "<h2 id=\"h-secret\">Scan this into your authenticator app</h2>"
           "<p class=\"muted\">It is shown only now. Any TOTP app works (Google Authenticator, "
           "Microsoft Authenticator, 1Password, FreeOTP…).</p>"
           "<div class=\"secret\"><div class=\"qr-box\" data-field=\"qr_svg\"></div><dl>"
           "<dt>Secret (type it in if you cannot scan)</dt><dd><code id=\"secret-text\" "
           "data-field=\"secret\"></code></dd><dt>Link</dt><dd><code class=\"wrap\" "
           "id=\"secret-uri\" data-field=\"otpauth_uri\"></code></dd></dl></div>"
           "<form data-api=\"/portal/api/reviewers/confirm\" data-next=\"/portal\">"
           "<label for=\"confirm-code\">Code from the app</label><input id=\"confirm-code\" "
           "name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" "
           "pattern=\"[0-9]{6}\" maxlength=\"6\" required><button type=\"submit\" class=\"btn\">"
           "Save my account</button><p class=\"form-status\" role=\"alert\"></p></form>"
           "</section>");
}

static int name_field(struct buf *b, const char *id)
{
    return html_tpl(b,
                    "<label for=\"{}\">Your name (shown to the other reviewers)</label>"
                    "<input id=\"{}\" name=\"display_name\" maxlength=\"80\" autocomplete=\"name\" "
                    "required>",
                    id, id, NULL);
}

/* The enabled accounts to sign in to, as <option>s. */
static int account_options(struct buf *b, const json_t *list)
{
    int rc = 0;
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        if (json_is_null(json_object_get(a, "disabled_at")))
            rc |= html_tpl(b, "<option value=\"{}\">{}</option>", kyc_portal_str(a, "account_id"),
                           kyc_portal_str(a, "display_name"), NULL);
    }
    return rc;
}

static int setup_panel(struct buf *b)
{
    int rc = html_raw_trusted(
        b, "<div class=\"page-head\"><h1>Set up reviewer accounts</h1></div>"
           "<section class=\"panel\" aria-labelledby=\"h-setup\"><h2 id=\"h-setup\">"
           "First account (admin)</h2><p>Decisions in this app are made by reviewers who sign "
           "in with a code from an authenticator app. This install has no reviewer yet: you "
           "create the first account, which is an admin and can invite the others with "
           "one-time enrolment codes.</p><form id=\"setup-form\" "
           "data-api=\"/portal/api/reviewers/setup\" data-reveal=\"secret-panel\">");
    rc |= name_field(b, "setup-name");
    rc |= html_raw_trusted(b, "<button type=\"submit\" class=\"btn\">Create my secret</button>"
                              "<p class=\"form-status\" role=\"alert\"></p></form></section>");
    return rc;
}

static int signin_panels(struct buf *b, const json_t *accounts)
{
    int rc = html_raw_trusted(
        b, "<div class=\"page-head\"><h1>Sign in to decide</h1></div><div class=\"grid2\">"
           "<section class=\"panel\" aria-labelledby=\"h-signin\"><h2 id=\"h-signin\">Sign in"
           "</h2><p class=\"muted\">Reading the queue needs only the launch. Decisions, "
           "confirmations, the review policy and exports need you signed in.</p>"
           "<form id=\"signin-form\" data-api=\"/portal/api/reviewers/signin\" "
           "data-next=\"/portal\"><label for=\"signin-account\">Account</label>"
           "<select id=\"signin-account\" name=\"account_id\" required>");
    rc |= account_options(b, accounts);
    rc |= html_raw_trusted(
        b, "</select><label for=\"signin-code\">Code from your authenticator app</label>"
           "<input id=\"signin-code\" name=\"code\" inputmode=\"numeric\" "
           "autocomplete=\"one-time-code\" pattern=\"[0-9]{6}\" maxlength=\"6\" required>"
           "<button type=\"submit\" class=\"btn\">Sign in</button>"
           "<p class=\"form-status\" role=\"alert\"></p></form></section>"
           "<section class=\"panel\" aria-labelledby=\"h-enrol\"><h2 id=\"h-enrol\">New reviewer"
           "</h2><p class=\"muted\">An admin gives you a one-time enrolment code.</p>"
           "<form id=\"enrol-form\" data-api=\"/portal/api/reviewers/enrol\" "
           "data-reveal=\"secret-panel\"><label for=\"enrol-code\">Enrolment code</label>"
           "<input id=\"enrol-code\" name=\"enrolment_code\" autocomplete=\"off\" "
           "maxlength=\"40\" required>");
    rc |= name_field(b, "enrol-name");
    rc |=
        html_raw_trusted(b, "<button type=\"submit\" class=\"btn secondary\">Enrol</button>"
                            "<p class=\"form-status\" role=\"alert\"></p></form></section></div>");
    return rc;
}

void kyc_portal_signin(struct capp_portal_context *pc, const struct kyc_portal *kp, results_db *db)
{
    struct reviewer_account a;
    int n = 0, in = kyc_portal_reviewer(pc, db, &a);
    json_t *accounts = NULL;
    int got = in < 0 ? in : reviewers_count(db, pc->install.installed_app_id, &n);
    if (got == 0 && in == 0 && n > 0)
        got = reviewers_list(db, pc->install.installed_app_id, clock_now_ms(), &accounts);
    if (got) {
        json_decref(accounts);
        kyc_portal_error_page(pc, kp, 500, "Sign-in unavailable",
                              "The accounts could not be read. Try again.");
        return;
    }
    struct buf b;
    buf_init(&b, kp->page_max_bytes);
    int rc = kyc_portal_page_open(&b, pc, "KYC review — sign in", "");
    if (in == 1)
        rc |= html_tpl(&b,
                       "<section class=\"panel\" aria-labelledby=\"h-in\"><h1 id=\"h-in\">Signed "
                       "in</h1><p>You are signed in as <strong>{}</strong> ({}) until this portal "
                       "session ends.</p><p><a class=\"btn\" href=\"/portal?view=queue\">Go to "
                       "the queue</a></p></section>",
                       a.display_name, reviewers_role_name(a.role), NULL);
    else if (n == 0)
        rc |= setup_panel(&b) | secret_panel(&b);
    else
        rc |= signin_panels(&b, accounts) | secret_panel(&b);
    json_decref(accounts);
    rc |= kyc_portal_page_close(&b, pc);
    kyc_portal_send(pc, 200, &b, rc);
}

/* "first-run setup", the creator's name, or the creator's ID when the account is gone. */
static const char *created_by_text(const json_t *a)
{
    const char *name = json_string_value(json_object_get(a, "created_by_name"));
    const char *by = kyc_portal_str(a, "created_by");
    return name ? name : strcmp(by, REVIEWERS_BOOTSTRAP) == 0 ? "first-run setup" : by;
}

/* One row of the accounts table; me is the signed-in admin (who cannot disable themselves). */
static int account_row(struct buf *b, results_db *db, const struct capp_portal_context *pc,
                       const json_t *a, const struct reviewer_account *me)
{
    const char *id = kyc_portal_str(a, "account_id");
    const char *disabled = json_string_value(json_object_get(a, "disabled_at"));
    const char *locked = json_string_value(json_object_get(a, "locked_until"));
    int rc = html_tpl(b, "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>",
                      kyc_portal_str(a, "display_name"), kyc_portal_str(a, "role"),
                      created_by_text(a), NULL);
    struct reviewer_account row;
    if (reviewers_get(db, pc->install.installed_app_id, id, &row) == 0)
        rc |= when_ms(b, row.created_at_ms);
    rc |= html_raw_trusted(b, "</td><td>");
    if (disabled)
        rc |= html_text(b, "disabled");
    else if (locked && strlen(locked) >= 16)
        rc |= html_textf(b, "locked until %.5s UTC", locked + 11);
    else
        rc |= html_text(b, "active");
    rc |= html_raw_trusted(b, "</td><td>");
    if (strcmp(id, me->account_id) == 0)
        rc |= html_text(b, "you");
    else
        rc |= html_tpl(b,
                       "<form class=\"inline\" data-api=\"/portal/api/reviewers/{}/\" "
                       "data-action-path><button type=\"submit\" class=\"btn secondary small\" "
                       "name=\"op\" value=\"{}\">{}</button></form>",
                       id, disabled ? "enable" : "disable", disabled ? "Enable" : "Disable", NULL);
    rc |= html_raw_trusted(b, "</td></tr>");
    return rc;
}

void kyc_portal_reviewers(struct capp_portal_context *pc, const struct kyc_portal *kp,
                          results_db *db)
{
    struct reviewer_account me;
    int in = kyc_portal_reviewer(pc, db, &me);
    json_t *list = NULL;
    int got = in < 0 ? in : 0;
    if (in == 1 && me.role == REVIEWER_ROLE_ADMIN)
        got = reviewers_list(db, pc->install.installed_app_id, clock_now_ms(), &list);
    if (got) {
        kyc_portal_error_page(pc, kp, 500, "Reviewers",
                              "The accounts could not be read. Try again.");
        return;
    }
    struct buf b;
    buf_init(&b, kp->page_max_bytes);
    int rc = kyc_portal_page_open(&b, pc, "KYC review — reviewers", "");
    if (in != 1 || me.role != REVIEWER_ROLE_ADMIN) {
        rc |= html_raw_trusted(
            &b, "<section class=\"panel\"><h1>Reviewers</h1><p>Only an admin who is signed in "
                "sees this page.</p><p><a href=\"/portal?view=signin\">Sign in</a></p></section>");
        rc |= kyc_portal_page_close(&b, pc);
        kyc_portal_send(pc, 403, &b, rc);
        return;
    }
    rc |= html_raw_trusted(
        &b, "<div class=\"page-head\"><h1>Reviewers</h1></div>"
            "<section class=\"panel\" aria-labelledby=\"h-accounts\"><table class=\"data\" "
            "id=\"accounts\"><caption id=\"h-accounts\">Reviewer accounts of this install"
            "</caption><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Role</th>"
            "<th scope=\"col\">Created by</th><th scope=\"col\">Created</th>"
            "<th scope=\"col\">State</th><th scope=\"col\">Action</th></tr></thead><tbody>");
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a) rc |= account_row(&b, db, pc, a, &me);
    json_decref(list);
    rc |= html_raw_trusted(
        &b, "</tbody></table></section>"
            "<section class=\"panel\" aria-labelledby=\"h-invite\"><h2 id=\"h-invite\">"
            "Invite a reviewer</h2><p class=\"muted\">An enrolment code works once, for 24 "
            "hours. The new reviewer enters it on their own sign-in page (launched from Blnk "
            "Cloud) with their name, and sets up their authenticator app there.</p>"
            "<form id=\"invite-form\" data-api=\"/portal/api/reviewers/enrolments\" "
            "data-reveal=\"code-panel\"><label for=\"invite-role\">Role</label>"
            "<select id=\"invite-role\" name=\"role\"><option value=\"reviewer\">reviewer"
            "</option><option value=\"admin\">admin</option></select><button type=\"submit\" "
            "class=\"btn\">Create enrolment code</button><p class=\"form-status\" "
            "role=\"alert\"></p></form><div id=\"code-panel\" hidden><p>Enrolment code (shown "
            "once): <code id=\"enrolment-code\" data-field=\"enrolment_code\"></code>, valid "
            "until <span data-field=\"expires_at\"></span>.</p></div></section>");
    rc |= kyc_portal_page_close(&b, pc);
    kyc_portal_send(pc, 200, &b, rc);
}
