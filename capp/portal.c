/*
 * The portal. Requests arrive inside the Cloud dashboard's iframe:
 *   GET /portal?token=T   redeem T once, set the session cookie, 303 to /portal?handoff=H so the
 *                         token leaves the address bar (a repeat of the same URL from the same
 *                         browser, which holds a live session, is sent to /portal as well; from
 *                         anywhere else it is a 401); HEAD never redeems (link checkers and
 *                         previewers send it, and a spent token would lock the user out);
 *   GET /portal?handoff=H the redirect's target (single use): with the session's cookie, cookies
 *                         work: 303 to /portal; without it the browser refused the cookie, and
 *                         the answer is a page that hands its script a header-carried session
 *                         (spec D10′, session.h);
 *   GET /portal           the page, for a live session (cookie, or ?ticket= for a header-carried
 *                         session's navigation);
 *   /portal/api/...       JSON for the page's scripts: session always, CSRF for cookie sessions'
 *                         state changes; a known path with another method is a 405 with Allow.
 */
#include "portal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert.h"
#include "clock.h"
#include "crypto.h"
#include "err.h"
#include "html.h"
#include "log.h"
#include "session.h"

int portal_build_csp(struct capp_app *app)
{
    const char *extra = app->config.frame_ancestors ? app->config.frame_ancestors : "";
    int n = snprintf(app->csp, sizeof app->csp,
                     "frame-ancestors 'self' https://blnkfinance.com https://*.blnkfinance.com%s%s;"
                     " default-src 'self'; script-src 'self'; style-src 'self';"
                     " img-src 'self' data:; connect-src 'self'; object-src 'none';"
                     " base-uri 'none'; form-action 'self'",
                     *extra ? " " : "", extra);
    return n > 0 && (size_t)n < sizeof app->csp ? 0 : CAPP_ETOOBIG;
}

void portal_add_headers(struct capp_app *app, struct http_request *req)
{
    http_add_header(req, "Content-Security-Policy", app->csp);
    http_add_header(req, "Referrer-Policy", "no-referrer");
    http_add_header(req, "Cache-Control", "no-store");
}

int portal_page_begin(struct buf *out, const char *title, const struct capp_portal_context *pc)
{
    int rc = html_tpl(out,
                      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                      "<title>{}</title>",
                      title, NULL);
    if (pc)
        rc |= html_tpl(out, "<meta name=\"csrf-token\" content=\"{}\">", pc->csrf_token, NULL);
    rc |= html_raw_trusted(out, "<link rel=\"stylesheet\" href=\"/portal/static/app.css\">"
                                "<script src=\"/portal/static/app.js\" defer></script>"
                                "</head><body>");
    return rc;
}

int portal_page_end(struct buf *out)
{
    return html_raw_trusted(out, "</body></html>\n");
}

void portal_send_html(struct capp_app *app, struct http_request *req, unsigned status,
                      const struct buf *page)
{
    portal_add_headers(app, req);
    int err = buf_failed(page);
    if (err) {
        /* The page lost an append somewhere: what it holds is not the page, so none of it goes
         * out (a truncated form or table would be read as the whole truth). */
        log_error("portal.page_failed", "req", http_request_id(req), "path", http_path(req),
                  "error", capp_errcode(err), NULL);
        http_respond_error(req, 500, err == CAPP_ETOOBIG ? "page_too_large" : "page_failed",
                           "the page could not be built");
        return;
    }
    http_respond(req, status, "text/html; charset=utf-8", page->data ? page->data : "", page->len);
}

static void message_page(struct capp_app *app, struct http_request *req, unsigned status,
                         const char *title, const char *message)
{
    struct buf page;
    buf_init(&page, 64 * 1024);
    int rc = portal_page_begin(&page, title, NULL);
    /* data-status tells the session script (capp/portal/session.js) why there is no page. */
    char status_text[16];
    snprintf(status_text, sizeof status_text, "%u", status);
    rc |= html_tpl(&page, "<main class=\"notice\" data-status=\"{}\"><h1>{}</h1><p>{}</p></main>",
                   status_text, title, message, NULL);
    rc |= portal_page_end(&page);
    CAPP_ASSERT(rc == 0 || buf_failed(&page));
    portal_send_html(app, req, status, &page); /* a failed page is a 500 there */
    buf_free(&page);
}

static void session_failure_page(struct capp_app *app, struct http_request *req,
                                 enum session_result r)
{
    switch (r) {
    case SESSION_EXPIRED:
        message_page(app, req, 410, "Session expired",
                     "This portal session has expired. Launch the app again from Blnk Cloud.");
        break;
    case SESSION_INACTIVE:
        message_page(app, req, 403, "App not installed",
                     "This app is no longer installed on this Blnk Cloud instance.");
        break;
    case SESSION_UNAVAILABLE:
        message_page(app, req, 503, "Temporarily unavailable",
                     "The portal could not be opened. Try again in a moment.");
        break;
    default:
        message_page(app, req, 401, "Open this app from Blnk Cloud",
                     "This link is not valid here. Launch the app again from the Blnk Cloud "
                     "dashboard. If your browser blocks cookies in embedded pages, allow them for"
                     " this site and launch again.");
        break;
    }
}

/* The answer to a handoff whose cookie did not come back: the page's script keeps the token in
 * sessionStorage and carries it in a header from now on. The token is in the body only, once. */
static void handover_page(struct capp_app *app, struct http_request *req, const char *token)
{
    struct buf page;
    buf_init(&page, 64 * 1024);
    int rc = portal_page_begin(&page, "Opening the portal", NULL);
    rc |= html_tpl(&page,
                   "<main class=\"notice\" data-status=\"200\" data-capp-session=\"{}\">"
                   "<h1>Opening the portal…</h1><p>This browser keeps no cookies for embedded "
                   "pages: the portal continues without them.</p></main>",
                   token, NULL);
    rc |= portal_page_end(&page);
    CAPP_ASSERT(rc == 0 || buf_failed(&page));
    portal_send_html(app, req, 200, &page); /* a failed page is a 500 there */
    crypto_wipe(page.data, page.len);
    buf_free(&page);
}

static const char *result_name(enum session_result r)
{
    return r == SESSION_EXPIRED    ? "expired"
           : r == SESSION_INACTIVE ? "inactive"
           : r == SESSION_MISSING  ? "unknown"
                                   : "unavailable";
}

static void handle_handoff(struct capp_app *app, struct http_request *req, const char *handoff)
{
    struct capp_portal_context pc;
    int cookie_works = 0;
    char token[SESSION_TOKEN_TEXT_BYTES];
    enum session_result r = session_handoff(app, req, handoff, &cookie_works, token, &pc);
    if (r == SESSION_OK) {
        log_info("portal.handoff", "req", http_request_id(req), "installed_app_id",
                 pc.session.installed_app_id, "carrier", cookie_works ? "cookie" : "header", NULL);
        if (cookie_works) {
            portal_add_headers(app, req);
            http_respond_redirect(req, 303, "/portal");
        } else {
            handover_page(app, req, token);
        }
        crypto_wipe(token, sizeof token);
        return;
    }
    /* A reload of the handoff URL inside a browser whose cookie works: its session is live. */
    if (r == SESSION_MISSING && session_lookup(app, req, &pc) == SESSION_OK) {
        portal_add_headers(app, req);
        http_respond_redirect(req, 303, "/portal");
        return;
    }
    log_warn("portal.handoff", "req", http_request_id(req), "result", result_name(r), NULL);
    session_failure_page(app, req, r);
}

void portal_handle_page(struct http_request *req, void *ctx)
{
    struct capp_app *app = ctx;
    const char *token = http_query(req, "token");
    const char *handoff = http_query(req, "handoff");
    struct capp_portal_context pc;
    if ((token || handoff || http_query(req, "ticket")) && strcmp(http_method(req), "HEAD") == 0) {
        portal_add_headers(app, req);
        http_respond(req, 200, "text/html; charset=utf-8", "", 0);
        return;
    }
    if (token) {
        struct store_session session;
        char cookie[256], next[64 + SESSION_TOKEN_TEXT_BYTES];
        char ticket[SESSION_TOKEN_TEXT_BYTES];
        enum session_result r = session_redeem(app, token, cookie, sizeof cookie, ticket, &session);
        if (r == SESSION_OK) {
            log_info("portal.redeem", "req", http_request_id(req), "installed_app_id",
                     session.installed_app_id, "user_id", session.user_id, "result", "ok", NULL);
            http_add_header(req, "Set-Cookie", cookie);
            crypto_wipe(cookie, sizeof cookie);
            snprintf(next, sizeof next, "/portal?handoff=%s", ticket);
            crypto_wipe(ticket, sizeof ticket);
            portal_add_headers(app, req);
            http_respond_redirect(req, 303, next);
            crypto_wipe(next, sizeof next);
            return;
        }
        /* A reload of the launch URL inside the browser that redeemed it: its session is live. */
        if (r == SESSION_MISSING && session_lookup(app, req, &pc) == SESSION_OK) {
            portal_add_headers(app, req);
            http_respond_redirect(req, 303, "/portal");
            return;
        }
        log_warn("portal.redeem", "req", http_request_id(req), "result", result_name(r), NULL);
        session_failure_page(app, req, r);
        return;
    }
    if (handoff) {
        handle_handoff(app, req, handoff);
        return;
    }
    enum session_result r = session_lookup(app, req, &pc);
    if (r != SESSION_OK) {
        session_failure_page(app, req, r);
        return;
    }
    if (app->page)
        app->page(&pc, app->page_ctx);
    else
        portal_shell_page(&pc, NULL);
}

static void api_failure(struct http_request *req, enum session_result r)
{
    switch (r) {
    case SESSION_EXPIRED:
        http_respond_error(req, 410, "session_expired",
                           "the portal session expired; launch the app again from Blnk Cloud");
        break;
    case SESSION_INACTIVE:
        http_respond_error(req, 403, "install_inactive", "the app is no longer installed");
        break;
    case SESSION_UNAVAILABLE:
        http_respond_error(req, 503, "store_unavailable", "try again in a moment");
        break;
    default:
        http_respond_error(req, 401, "session_required", "a portal session is required");
        break;
    }
}

static void builtin_session(struct capp_portal_context *pc)
{
    json_t *perms = json_array();
    for (size_t i = 0; i < pc->install.permission_count; i++)
        json_array_append_new(perms, json_string(pc->install.permissions[i]));
    char expires[40];
    clock_format_rfc3339(pc->session.expires_at_ms, expires, sizeof expires);
    static const char *const carriers[] = {[CAPP_CARRIER_COOKIE] = "cookie",
                                           [CAPP_CARRIER_HEADER] = "header",
                                           [CAPP_CARRIER_TICKET] = "ticket"};
    http_respond_json(pc->req, 200,
                      json_pack("{s:s?, s:o, s:s, s:s}", "user_id",
                                pc->session.user_id[0] ? pc->session.user_id : NULL,
                                "granted_permissions", perms, "expires_at", expires, "carried_by",
                                carriers[pc->carrier]));
}

/* POST /portal/api/ticket: a single-use ticket for the next navigation of a header-carried
 * session (a navigation cannot carry the header). */
static void builtin_ticket(struct capp_portal_context *pc)
{
    char ticket[SESSION_TOKEN_TEXT_BYTES];
    int rc = session_ticket_issue(pc->app, pc, ticket);
    if (rc == CAPP_EPERM) {
        http_respond_error(pc->req, 403, "header_session_required",
                           "page tickets are for sessions carried in the Authorization header");
        return;
    }
    if (rc) {
        http_respond_error(pc->req, 503, "tickets_unavailable", "try again in a moment");
        return;
    }
    http_respond_json(
        pc->req, 200,
        json_pack("{s:s, s:i}", "ticket", ticket, "expires_in", CAPP_TICKET_TTL_SECONDS));
    crypto_wipe(ticket, sizeof ticket);
}

static int route_path_matches(const struct capp_portal_route *r, const char *path)
{
    size_t n = strlen(r->path);
    if (n && r->path[n - 1] == '*')
        return strncmp(path, r->path, n - 1) == 0;
    return strcmp(path, r->path) == 0;
}

static int route_method_matches(const struct capp_portal_route *r, const char *method)
{
    return strcmp(r->method, method) == 0 ||
           (strcmp(r->method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

void portal_handle_api(struct http_request *req, void *ctx)
{
    struct capp_app *app = ctx;
    portal_add_headers(app, req);
    struct capp_portal_context pc;
    enum session_result r = session_lookup(app, req, &pc);
    if (r != SESSION_OK) {
        api_failure(req, r);
        return;
    }
    const char *method = http_method(req);
    int safe = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (!safe && !session_csrf_ok(&pc)) {
        log_warn("portal.csrf_refused", "req", http_request_id(req), "installed_app_id",
                 pc.session.installed_app_id, NULL);
        http_respond_error(req, 403, "csrf_failed",
                           "missing or wrong X-CSRF-Token header for a state-changing request");
        return;
    }
    const char *path = http_path(req) + strlen("/portal/api");
    if (strcmp(path, "/session") == 0 && safe) {
        builtin_session(&pc);
        return;
    }
    if (strcmp(path, "/ticket") == 0 && strcmp(method, "POST") == 0) {
        builtin_ticket(&pc);
        return;
    }
    if (strcmp(path, "/logout") == 0 && strcmp(method, "POST") == 0) {
        store_session_delete(app->store, pc.session.token_hash);
        http_add_header(req, "Set-Cookie", session_clear_cookie());
        http_respond_json(req, 200, json_pack("{s:b}", "ok", 1));
        return;
    }
    char allow[64] = "";
    if (strcmp(path, "/session") == 0)
        http_allow_add(allow, sizeof allow, "GET");
    if (strcmp(path, "/logout") == 0 || strcmp(path, "/ticket") == 0)
        http_allow_add(allow, sizeof allow, "POST");
    for (int i = 0; i < app->route_count; i++) {
        if (!route_path_matches(&app->routes[i], path))
            continue;
        if (route_method_matches(&app->routes[i], method)) {
            app->routes[i].fn(&pc, app->routes[i].ctx);
            return;
        }
        http_allow_add(allow, sizeof allow, app->routes[i].method);
    }
    if (allow[0]) {
        http_add_header(req, "Allow", allow);
        http_respond_error(req, 405, "method_not_allowed", "method %s is not allowed on %s", method,
                           http_path(req));
        return;
    }
    http_respond_error(req, 404, "not_found", "no such portal endpoint");
}

/* Used until the app supplies its own stylesheet: the relaunch pages and the shell page must
 * look at home inside the dashboard too. */
static const char default_css[] =
    ":root{color-scheme:light;--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;"
    "--accent:#2563eb}"
    "*{box-sizing:border-box}body{margin:0;font:14px/1.5 system-ui,-apple-system,'Segoe UI',"
    "Roboto,sans-serif;color:var(--fg);background:var(--bg)}"
    "main{max-width:960px;margin:0 auto;padding:24px}h1{font-size:20px;margin:0 0 16px}"
    ".notice{max-width:520px;margin:64px auto;background:#fff;border:1px solid var(--line);"
    "border-radius:8px;padding:24px}.notice p{color:var(--muted)}"
    "table.facts{border-collapse:collapse;background:#fff;border:1px solid var(--line);"
    "border-radius:8px;width:100%}table.facts th,table.facts td{text-align:left;padding:8px 12px;"
    "border-bottom:1px solid var(--line)}table.facts th{width:220px;color:var(--muted);"
    "font-weight:500}";

void portal_handle_static(struct http_request *req, void *ctx)
{
    struct capp_app *app = ctx;
    const char *path = http_path(req);
    const char *body = NULL, *type = NULL;
    if (strcmp(path, "/portal/static/app.js") == 0) {
        body = app->script ? app->script : "";
        type = "text/javascript; charset=utf-8";
    } else if (strcmp(path, "/portal/static/app.css") == 0) {
        body = app->static_css ? app->static_css : default_css;
        type = "text/css; charset=utf-8";
    }
    portal_add_headers(app, req);
    if (!body) {
        http_respond_error(req, 404, "not_found", "no such asset");
        return;
    }
    http_add_header(req, "Cache-Control", "no-cache");
    http_respond(req, 200, type, body, strlen(body));
}

static int row(struct buf *out, const char *label, const char *value)
{
    return html_tpl(out, "<tr><th scope=\"row\">{}</th><td>{}</td></tr>", label,
                    value && *value ? value : "—", NULL);
}

void portal_shell_page(struct capp_portal_context *pc, void *ctx)
{
    struct buf page;
    buf_init(&page, 256 * 1024);
    char expires[40], perms[CAPP_MAX_PERMISSIONS * (CAPP_MAX_PERMISSION_BYTES + 2) + 1] = "";
    clock_format_rfc3339(pc->session.expires_at_ms, expires, sizeof expires);
    for (size_t i = 0; i < pc->install.permission_count; i++) {
        if (i)
            strcat(perms, ", ");
        strcat(perms, pc->install.permissions[i]);
    }
    /* No install, organization or instance ID (spec D1): the user needs none of them, and a
     * page shown or leaked would hand over what a forged portal-generator call needs. */
    const char *title =
        pc->app->config.shell_title ? pc->app->config.shell_title : CAPP_SHELL_TITLE_DEFAULT;
    int rc = portal_page_begin(&page, title, pc);
    rc |= html_raw_trusted(&page, "<main><h1>");
    rc |= html_text(&page, title);
    rc |= html_raw_trusted(&page, "</h1><table class=\"facts\" id=\"session\">");
    rc |= row(&page, "Launched by", pc->session.user_id);
    rc |= row(&page, "Granted permissions", perms);
    rc |= row(&page, "Session expires", expires);
    rc |= html_raw_trusted(&page, "</table></main>");
    rc |= portal_page_end(&page);
    CAPP_ASSERT(rc == 0 || buf_failed(&page));
    portal_send_html(pc->app, pc->req, 200, &page); /* a failed page is a 500 there */
    buf_free(&page);
}
