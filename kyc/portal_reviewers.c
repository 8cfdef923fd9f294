/*
 * portal_reviewers.c — reviewer accounts in the portal (spec D23′, kyc/reviewers.h): the API
 * for first-run setup, enrolment, TOTP sign-in and administration, the two pages that use it,
 * the header bar every page shows, and the check the other handlers make before they change
 * anything ("sign in to decide").
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
 * Pages are built with capp/html.h in this file only (the portal's page builder is being
 * replaced; see kyc/portal_pages.c): text through html_text, literal markup through
 * html_raw_markup, no inline script or style (the CSP forbids both; the QR code's colours are
 * SVG presentation attributes). Behaviour is in kyc/portal/app.js: forms with data-api post
 * JSON with the CSRF token; data-reveal shows a secret the answer carries instead of reloading.
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

#define H(b, s) html_raw_markup((b), (s))
#define T(b, s) html_text((b), (s))

#define REVIEWERS_PAGE_MAX_BYTES (512 * 1024)

static const char *const why_messages[][2] = {
    {"sign_in_required",
     "Sign in to decide: reading the queue needs only the launch, but decisions, confirmations, "
     "settings and exports need a reviewer signed in with a code from their authenticator app."},
    {"code", "The code is the 6 digits your authenticator app shows."},
    {"code_wrong", "That code is not right. After 5 wrong codes in a row the account is locked "
                   "for 15 minutes."},
    {"code_used", "That code was already used. Wait for the next one (a new code every 30 "
                  "seconds)."},
    {"account_locked", "This account is locked for 15 minutes after 5 wrong codes."},
    {"account_disabled", "This account is disabled. Ask an admin to enable it."},
    {"account_id", "Choose your account."},
    {"enrolment_code", "The enrolment code is 16 letters and digits (dashes optional)."},
    {"enrolment_code_invalid", "That enrolment code is not valid: mistyped, already used or "
                               "expired (codes last 24 hours). Ask an admin for a new one."},
    {"display_name", "A display name is required (up to 80 characters, no control characters)."},
    {"name_taken", "Another account of this install already has that name."},
    {"setup_done", "This install already has reviewer accounts: sign in, or ask an admin for an "
                   "enrolment code."},
    {"nothing_started", "Nothing is waiting for a code (it was never started, or it expired): "
                        "start again."},
    {"start_ended", "Too many wrong codes: start again to get a new secret."},
    {"admin_required", "Only an admin can do this."},
    {"self_disable", "You cannot disable your own account."},
    {"too_many", "The install has reached its limit of accounts or open enrolment codes."},
    {"role", "role must be admin or reviewer."},
};

static const char *message_for(const char *why)
{
    for (size_t i = 0; why && i < sizeof why_messages / sizeof why_messages[0]; i++)
        if (strcmp(why, why_messages[i][0]) == 0)
            return why_messages[i][1];
    return NULL;
}

static void respond(struct http_request *req, int rc, const char *why)
{
    const char *msg = message_for(why);
    switch (rc) {
    case CAPP_EINVAL:
        http_respond_error(req, 400, why ? why : "invalid", "%s",
                           msg ? msg : "the request is not valid");
        return;
    case CAPP_ENOTFOUND:
        http_respond_error(req, 404, "account_not_found", "no such reviewer account here");
        return;
    case CAPP_EPERM:
        http_respond_error(req, 403, why ? why : "forbidden", "%s",
                           msg ? msg : "this action is not allowed");
        return;
    case CAPP_ECONFLICT:
        http_respond_error(req, 409, why ? why : "conflict", "%s",
                           msg ? msg : "the current state does not allow this");
        return;
    case CAPP_EBUSY:
        http_respond_error(req, 503, "busy", "the database is busy; try again");
        return;
    default:
        http_respond_error(req, 500, "internal", "the action could not be completed");
        return;
    }
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

int kyc_portal_reviewer(const struct capp_portal_context *pc, sqlite3 *db,
                        struct reviewer_account *out)
{
    if (!db)
        return CAPP_EDB;
    int rc = reviewers_session_account(db, pc->install.installed_app_id, pc->session.token_hash,
                                       clock_now_ms(), out);
    return rc == 0 ? 1 : rc == CAPP_ENOTFOUND ? 0 : rc;
}

int kyc_portal_require_reviewer(struct capp_portal_context *pc, sqlite3 *db,
                                struct reviewer_account *out)
{
    int rc = kyc_portal_reviewer(pc, db, out);
    if (rc == 1)
        return 0;
    if (rc == 0) {
        log_info("review.sign_in_required", "req", http_request_id(pc->req), "installed_app_id",
                 pc->install.installed_app_id, "path", http_path(pc->req), NULL);
        respond(pc->req, CAPP_EPERM, "sign_in_required");
        return CAPP_EPERM;
    }
    respond(pc->req, rc, NULL);
    return rc;
}

static int read_body(struct capp_portal_context *pc, json_t **obj)
{
    size_t len = 0;
    const char *body = http_body(pc->req, &len);
    struct json_error err;
    int rc = json_parse_object(body ? body : "", len, obj, &err);
    if (rc)
        http_respond_error(pc->req, 400, err.code ? err.code : "invalid_json", "%s", err.message);
    return rc;
}

/* Reads the body's fields; responds 400 naming the bad one and returns nonzero. */
static int read_fields(struct capp_portal_context *pc, json_t **body, struct json_field *fields,
                       size_t n)
{
    if (read_body(pc, body))
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
    sqlite3 *db = kyc_portal_db(ctx);
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

static void setup_post(struct capp_portal_context *pc, void *ctx)
{
    json_t *body = NULL;
    const char *name = NULL;
    struct json_field fields[] = {
        JSON_STRING("display_name", &name, REVIEWERS_NAME_MAX_BYTES * 2, 1)};
    if (read_fields(pc, &body, fields, COUNTOF(fields)))
        return;
    sqlite3 *db = kyc_portal_db(ctx);
    struct reviewers_session s = session_of(pc);
    struct reviewers_secret secret;
    const char *why = NULL;
    int rc = db ? reviewers_setup_start(db, pc->app->keyring, pc->install.installed_app_id, &s,
                                        name, clock_now_ms(), &secret, &why)
                : CAPP_EDB;
    log_reviewer(pc, "setup_start", NULL, rc, why);
    if (rc)
        respond(pc->req, rc, why);
    else
        respond_secret(pc, &secret, name);
    memset(&secret, 0, sizeof secret);
    json_decref(body);
}

static void enrol_post(struct capp_portal_context *pc, void *ctx)
{
    json_t *body = NULL;
    const char *code = NULL, *name = NULL;
    struct json_field fields[] = {
        JSON_STRING("enrolment_code", &code, 64, 1),
        JSON_STRING("display_name", &name, REVIEWERS_NAME_MAX_BYTES * 2, 1),
    };
    if (read_fields(pc, &body, fields, COUNTOF(fields)))
        return;
    sqlite3 *db = kyc_portal_db(ctx);
    struct reviewers_session s = session_of(pc);
    struct reviewers_secret secret;
    const char *why = NULL;
    int rc = db ? reviewers_enrol_start(db, pc->app->keyring, pc->install.installed_app_id, &s,
                                        code, name, clock_now_ms(), &secret, &why)
                : CAPP_EDB;
    log_reviewer(pc, "enrol_start", NULL, rc, why);
    if (rc)
        respond(pc->req, rc, why);
    else
        respond_secret(pc, &secret, name);
    memset(&secret, 0, sizeof secret);
    json_decref(body);
}

static void confirm_post(struct capp_portal_context *pc, void *ctx)
{
    json_t *body = NULL;
    const char *code = NULL;
    struct json_field fields[] = {JSON_STRING("code", &code, 16, 1)};
    if (read_fields(pc, &body, fields, COUNTOF(fields)))
        return;
    sqlite3 *db = kyc_portal_db(ctx);
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
    sqlite3 *db = kyc_portal_db(ctx);
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
    sqlite3 *db = kyc_portal_db(ctx);
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
static int require_admin(struct capp_portal_context *pc, sqlite3 *db, struct reviewer_account *a)
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
    sqlite3 *db = kyc_portal_db(ctx);
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
    sqlite3 *db = kyc_portal_db(ctx);
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
    sqlite3 *db = kyc_portal_db(ctx);
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
    sqlite3 *db = kyc_portal_db(kp);
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

void kyc_portal_reviewer_bar(struct buf *b, const struct capp_portal_context *pc)
{
    sqlite3 *db = kyc_portal_db(kyc_portal_state());
    struct reviewer_account a;
    int n = 0;
    int in = kyc_portal_reviewer(pc, db, &a);
    if (in == 0 && db)
        reviewers_count(db, pc->install.installed_app_id, &n);
    H(b, "<div class=\"who\">");
    if (in == 1) {
        H(b, "<span>Reviewer <strong id=\"reviewer\">");
        T(b, a.display_name);
        H(b, "</strong>");
        if (a.role == REVIEWER_ROLE_ADMIN)
            H(b, " (admin) <a href=\"/portal?view=reviewers\">Reviewers</a>");
        H(b, "</span><form class=\"inline\" data-api=\"/portal/api/reviewers/signout\">"
             "<button type=\"submit\" class=\"btn secondary small\">Sign out</button></form>");
    } else {
        H(b, "<span class=\"muted\" id=\"reviewer-state\">Read only</span>"
             "<a class=\"btn small\" id=\"sign-in-link\" href=\"/portal?view=signin\">");
        T(b, n == 0 ? "Set up reviewer accounts" : "Sign in to decide");
        H(b, "</a>");
    }
    H(b, "</div></header>");
    if (in != 1 && n == 0 && db)
        H(b, "<div class=\"banner warn\" role=\"alert\"><strong>No reviewer accounts yet.</strong>"
             " Decisions need a reviewer signed in with an authenticator app. The first person to "
             "set up an account becomes its admin and can invite the others.</div>");
}

static void frame_open(struct buf *b, const struct capp_portal_context *pc, const char *title)
{
    portal_page_begin(b, title, pc);
    H(b, "<a class=\"skip\" href=\"#main\">Skip to content</a><header class=\"top\">"
         "<div class=\"brand\"><span class=\"logo\" aria-hidden=\"true\">K</span>KYC review</div>"
         "<nav aria-label=\"Sections\"><a href=\"/portal\">Overview</a>"
         "<a href=\"/portal?view=queue\">Queue</a></nav>");
    kyc_portal_reviewer_bar(b, pc);
    H(b, "<main id=\"main\" tabindex=\"-1\">");
}

static void frame_close(struct capp_portal_context *pc, struct buf *b, unsigned status)
{
    H(b, "</main><div id=\"toast\" class=\"toast\" role=\"status\" aria-live=\"polite\"></div>");
    portal_page_end(b);
    portal_send_html(pc->app, pc->req, status, b);
    buf_free(b);
}

static void when(struct buf *b, int64_t ms)
{
    if (ms <= 0) {
        T(b, "—");
        return;
    }
    char ts[40], shown[32];
    clock_format_rfc3339(ms, ts, sizeof ts);
    snprintf(shown, sizeof shown, "%.10s %.5s UTC", ts, ts + 11);
    H(b, "<time datetime=\"");
    T(b, ts);
    H(b, "\">");
    T(b, shown);
    H(b, "</time>");
}

/* The panel that shows a new secret once (filled by app.js from the start's answer) and asks
 * for the code that saves the account. */
static void secret_panel(struct buf *b)
{
    H(b, "<section class=\"panel\" id=\"secret-panel\" aria-labelledby=\"h-secret\" hidden>"
         "<h2 id=\"h-secret\">Scan this into your authenticator app</h2>"
         "<p class=\"muted\">It is shown only now. Any TOTP app works (Google Authenticator, "
         "Microsoft Authenticator, 1Password, FreeOTP…).</p>"
         "<div class=\"secret\"><div class=\"qr-box\" data-field=\"qr_svg\"></div><dl>"
         "<dt>Secret (type it in if you cannot scan)</dt><dd><code id=\"secret-text\" "
         "data-field=\"secret\"></code></dd><dt>Link</dt><dd><code class=\"wrap\" "
         "id=\"secret-uri\" data-field=\"otpauth_uri\"></code></dd></dl></div>"
         "<form data-api=\"/portal/api/reviewers/confirm\" data-next=\"/portal\">"
         "<label for=\"confirm-code\">Code from the app</label><input id=\"confirm-code\" "
         "name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]{6}\" "
         "maxlength=\"6\" required><button type=\"submit\" class=\"btn\">Save my account"
         "</button><p class=\"form-status\" role=\"alert\"></p></form></section>");
}

static void name_field(struct buf *b, const char *id)
{
    H(b, "<label for=\"");
    T(b, id);
    H(b, "\">Your name (shown to the other reviewers)</label><input id=\"");
    T(b, id);
    H(b, "\" name=\"display_name\" maxlength=\"80\" autocomplete=\"name\" required>");
}

/* Enabled accounts to sign in to, as <option>s; the number written into *count. */
static int account_options(struct buf *b, sqlite3 *db, const char *install, int *count)
{
    json_t *list = NULL;
    *count = 0;
    int rc = reviewers_list(db, install, clock_now_ms(), &list);
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        if (!json_is_null(json_object_get(a, "disabled_at")))
            continue;
        H(b, "<option value=\"");
        T(b, json_string_value(json_object_get(a, "account_id")));
        H(b, "\">");
        T(b, json_string_value(json_object_get(a, "display_name")));
        H(b, "</option>");
        (*count)++;
    }
    json_decref(list);
    return rc;
}

static void signin_view(struct capp_portal_context *pc, sqlite3 *db)
{
    struct buf b;
    buf_init(&b, REVIEWERS_PAGE_MAX_BYTES);
    struct reviewer_account a;
    int n = 0, in = kyc_portal_reviewer(pc, db, &a);
    int rc = in < 0 ? in : reviewers_count(db, pc->install.installed_app_id, &n);
    frame_open(&b, pc, "KYC review — sign in");
    if (rc) {
        H(&b, "<section class=\"panel\"><h1>Sign-in unavailable</h1><p>The accounts could not "
              "be read. Try again.</p></section>");
        frame_close(pc, &b, 500);
        return;
    }
    if (in == 1) {
        H(&b, "<section class=\"panel\" aria-labelledby=\"h-in\"><h1 id=\"h-in\">Signed in</h1>"
              "<p>You are signed in as <strong>");
        T(&b, a.display_name);
        H(&b, "</strong> (");
        T(&b, reviewers_role_name(a.role));
        H(&b, ") until this portal session ends.</p><p><a class=\"btn\" href=\"/portal?view=queue"
              "\">Go to the queue</a></p></section>");
        frame_close(pc, &b, 200);
        return;
    }
    if (n == 0) {
        H(&b, "<div class=\"page-head\"><h1>Set up reviewer accounts</h1></div>"
              "<section class=\"panel\" aria-labelledby=\"h-setup\"><h2 id=\"h-setup\">"
              "First account (admin)</h2><p>Decisions in this app are made by reviewers who sign "
              "in with a code from an authenticator app. This install has no reviewer yet: you "
              "create the first account, which is an admin and can invite the others with "
              "one-time enrolment codes.</p><form id=\"setup-form\" "
              "data-api=\"/portal/api/reviewers/setup\" data-reveal=\"secret-panel\">");
        name_field(&b, "setup-name");
        H(&b, "<button type=\"submit\" class=\"btn\">Create my secret</button>"
              "<p class=\"form-status\" role=\"alert\"></p></form></section>");
        secret_panel(&b);
        frame_close(pc, &b, 200);
        return;
    }
    H(&b, "<div class=\"page-head\"><h1>Sign in to decide</h1></div><div class=\"grid2\">"
          "<section class=\"panel\" aria-labelledby=\"h-signin\"><h2 id=\"h-signin\">Sign in"
          "</h2><p class=\"muted\">Reading the queue needs only the launch. Decisions, "
          "confirmations, the review policy and exports need you signed in.</p>"
          "<form id=\"signin-form\" data-api=\"/portal/api/reviewers/signin\" "
          "data-next=\"/portal\"><label for=\"signin-account\">Account</label>"
          "<select id=\"signin-account\" name=\"account_id\" required>");
    int options = 0;
    account_options(&b, db, pc->install.installed_app_id, &options);
    H(&b, "</select><label for=\"signin-code\">Code from your authenticator app</label>"
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
    name_field(&b, "enrol-name");
    H(&b, "<button type=\"submit\" class=\"btn secondary\">Enrol</button>"
          "<p class=\"form-status\" role=\"alert\"></p></form></section></div>");
    secret_panel(&b);
    frame_close(pc, &b, 200);
}

static void reviewers_view(struct capp_portal_context *pc, sqlite3 *db)
{
    struct buf b;
    buf_init(&b, REVIEWERS_PAGE_MAX_BYTES);
    struct reviewer_account me;
    int in = kyc_portal_reviewer(pc, db, &me);
    json_t *list = NULL;
    int rc = in < 0 ? in : 0;
    if (in == 1 && me.role == REVIEWER_ROLE_ADMIN)
        rc = reviewers_list(db, pc->install.installed_app_id, clock_now_ms(), &list);
    frame_open(&b, pc, "KYC review — reviewers");
    if (rc || in != 1 || me.role != REVIEWER_ROLE_ADMIN) {
        H(&b, "<section class=\"panel\"><h1>Reviewers</h1><p>");
        T(&b, rc ? "The accounts could not be read. Try again."
                 : "Only an admin who is signed in sees this page.");
        H(&b, "</p><p><a href=\"/portal?view=signin\">Sign in</a></p></section>");
        frame_close(pc, &b, rc ? 500 : 403);
        return;
    }
    H(&b, "<div class=\"page-head\"><h1>Reviewers</h1></div>"
          "<section class=\"panel\" aria-labelledby=\"h-accounts\"><table class=\"data\" "
          "id=\"accounts\"><caption id=\"h-accounts\">Reviewer accounts of this install"
          "</caption><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Role</th>"
          "<th scope=\"col\">Created by</th><th scope=\"col\">Created</th>"
          "<th scope=\"col\">State</th><th scope=\"col\">Action</th></tr></thead><tbody>");
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        const char *id = json_string_value(json_object_get(a, "account_id"));
        const char *by = json_string_value(json_object_get(a, "created_by_name"));
        const char *created_by = json_string_value(json_object_get(a, "created_by"));
        const char *disabled = json_string_value(json_object_get(a, "disabled_at"));
        const char *locked = json_string_value(json_object_get(a, "locked_until"));
        H(&b, "<tr><th scope=\"row\">");
        T(&b, json_string_value(json_object_get(a, "display_name")));
        H(&b, "</th><td>");
        T(&b, json_string_value(json_object_get(a, "role")));
        H(&b, "</td><td>");
        T(&b, by ? by
              : strcmp(created_by ? created_by : "", REVIEWERS_BOOTSTRAP) == 0 ? "first-run setup"
                                                                               : created_by);
        H(&b, "</td><td>");
        struct reviewer_account row;
        if (reviewers_get(db, pc->install.installed_app_id, id, &row) == 0)
            when(&b, row.created_at_ms);
        H(&b, "</td><td>");
        if (disabled)
            T(&b, "disabled");
        else if (locked)
            html_textf(&b, "locked until %.5s UTC", locked + 11);
        else
            T(&b, "active");
        H(&b, "</td><td>");
        if (strcmp(id, me.account_id) != 0) {
            char path[STORE_ID_CAP + 40];
            snprintf(path, sizeof path, "/portal/api/reviewers/%s/", id);
            H(&b, "<form class=\"inline\" data-api=\"");
            T(&b, path);
            H(&b, "\" data-action-path><button type=\"submit\" class=\"btn secondary small\" "
                  "name=\"op\" value=\"");
            T(&b, disabled ? "enable" : "disable");
            H(&b, "\">");
            T(&b, disabled ? "Enable" : "Disable");
            H(&b, "</button></form>");
        } else {
            T(&b, "you");
        }
        H(&b, "</td></tr>");
    }
    H(&b, "</tbody></table></section>"
          "<section class=\"panel\" aria-labelledby=\"h-invite\"><h2 id=\"h-invite\">"
          "Invite a reviewer</h2><p class=\"muted\">An enrolment code works once, for 24 hours. "
          "The new reviewer enters it on their own sign-in page (launched from Blnk Cloud) with "
          "their name, and sets up their authenticator app there.</p>"
          "<form id=\"invite-form\" data-api=\"/portal/api/reviewers/enrolments\" "
          "data-reveal=\"code-panel\"><label for=\"invite-role\">Role</label>"
          "<select id=\"invite-role\" name=\"role\"><option value=\"reviewer\">reviewer</option>"
          "<option value=\"admin\">admin</option></select><button type=\"submit\" class=\"btn\">"
          "Create enrolment code</button><p class=\"form-status\" role=\"alert\"></p></form>"
          "<div id=\"code-panel\" hidden><p>Enrolment code (shown once): <code "
          "id=\"enrolment-code\" data-field=\"enrolment_code\"></code>, valid until <span "
          "data-field=\"expires_at\"></span>.</p></div></section>");
    json_decref(list);
    frame_close(pc, &b, 200);
}

int kyc_portal_reviewer_view(struct capp_portal_context *pc, sqlite3 *db, const char *view)
{
    if (!view)
        return 0;
    if (strcmp(view, "signin") == 0) {
        signin_view(pc, db);
        return 1;
    }
    if (strcmp(view, "reviewers") == 0) {
        reviewers_view(pc, db);
        return 1;
    }
    return 0;
}

int kyc_portal_signed_in_as(const struct capp_portal_context *pc, const char *account_id)
{
    struct reviewer_account a;
    return account_id && kyc_portal_reviewer(pc, kyc_portal_db(kyc_portal_state()), &a) == 1 &&
           strcmp(a.account_id, account_id) == 0;
}
