/*
 * The dashboard: server-rendered HTML at /dashboard, on cloudsim's own origin (never the app's),
 * playing the Blnk Cloud UI a newcomer sees first: apps library, app details with Install
 * (permission checkboxes), Launch (the portal in an iframe) and Uninstall, an identities
 * browser, alerts, deliveries and the audit log.
 *
 * Who is signed in: a dashboard session (cookie cs_dash, HttpOnly, SameSite=Strict, stored as
 * a SHA-256 hash) holds the acting user and instance, switchable from the header. Every POST
 * carries the session's CSRF token in a hidden field, compared in constant time, and a
 * cross-origin Origin header is refused as well.
 *
 * All markup goes through capp's builder (capp/html.h): dynamic values are escaped by
 * html_tpl(); html_raw_trusted() is used only for literals. A page is built with `rc |=` appends
 * and sent by send_page(), which answers 500 page_too_large instead of a page whose buffer
 * failed. Pages send a CSP that forbids scripts entirely and frames only in the launch page's
 * iframe; the stylesheet is cloudsim/dashboard/style.css, embedded at build time.
 */
#include "cloudsim/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/assert.h"
#include "capp/buf.h"
#include "capp/crypto.h"
#include "capp/db.h"
#include "capp/err.h"
#include "capp/html.h"
#include "capp/json.h"
#include "capp/log.h"
#include "cloudsim/core.h"
#include "cloudsim/core_alerts.h"
#include "cloudsim/dashboard_form.h"
#include "cloudsim/platform_url.h"

#define PAGE_MAX             (4 * 1024 * 1024) /* one page, unless the config lowers it */
#define COOKIE_NAME          "cs_dash"
#define IDENTITIES_PAGE_SIZE 25

struct dash {
    char session_hash[CRYPTO_SHA256_HEX_BYTES];
    char csrf[64];
    char user_id[CS_ID_BYTES];
    char user_email[CS_TEXT_BYTES];
    char organization_id[CS_ID_BYTES];
    char organization_name[CS_TEXT_BYTES];
    char instance_id[CS_ID_BYTES];
    char instance_name[CS_TEXT_BYTES];
};

static size_t page_max(const struct cloudsim *cs)
{
    return cs->config.page_max_bytes ? cs->config.page_max_bytes : PAGE_MAX;
}

/* ---- sessions ---- */

static int load_context(sqlite3 *db, struct dash *d)
{
    char instance[sizeof d->instance_id];
    snprintf(instance, sizeof instance, "%s", d->instance_id);
    const char *keys[] = {d->user_id, instance[0] ? instance : NULL};
    const struct db_text_out outs[] = {
        {d->user_email, sizeof d->user_email},
        {d->organization_id, sizeof d->organization_id},
        {d->organization_name, sizeof d->organization_name},
        {d->instance_id, sizeof d->instance_id},
        {d->instance_name, sizeof d->instance_name},
    };
    return db_load_texts(db,
                         "SELECT u.email, o.organization_id, o.name, i.instance_id, i.name"
                         " FROM users u JOIN organizations o ON o.organization_id=u.organization_id"
                         " JOIN instances i ON i.organization_id=o.organization_id"
                         " WHERE u.user_id=?1 AND (?2 IS NULL OR i.instance_id=?2)"
                         " ORDER BY i.rowid LIMIT 1",
                         keys, 2, outs, 5);
}

static int save_session(sqlite3 *db, const struct dash *d, int insert)
{
    sqlite3_stmt *stmt = NULL;
    char now[32];
    cs_now_rfc3339(now);
    int rc = db_prepare(db,
                        insert ? "INSERT INTO dashboard_sessions(session_hash, csrf_token, user_id,"
                                 " instance_id, created_at) VALUES(?1,?2,?3,?4,?5)"
                               : "UPDATE dashboard_sessions SET user_id=?3, instance_id=?4"
                                 " WHERE session_hash=?1 AND csrf_token=?2 AND ?5 IS NOT NULL",
                        &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, d->session_hash);
    db_bind_text(stmt, 2, d->csrf);
    db_bind_text(stmt, 3, d->user_id);
    db_bind_text(stmt, 4, d->instance_id);
    db_bind_text(stmt, 5, now);
    rc = db_step_done(stmt);
    sqlite3_finalize(stmt);
    return rc;
}

/* Finds the session of the request's cookie, or starts one (as the first user) and sets the
 * cookie. 0, or an error page was sent. */
static int open_session(struct cloudsim *cs, struct http_request *req, struct dash *d)
{
    memset(d, 0, sizeof *d);
    sqlite3 *db = cs_db(cs);
    if (!db) {
        http_respond(req, 500, "text/plain; charset=utf-8", "database unavailable", 20);
        return -1;
    }
    const char *cookie = http_cookie(req, COOKIE_NAME);
    if (cookie && strlen(cookie) < 128) {
        crypto_sha256_hex(cookie, strlen(cookie), d->session_hash);
        sqlite3_stmt *stmt = NULL;
        if (db_prepare(db,
                       "SELECT csrf_token, user_id, instance_id FROM dashboard_sessions"
                       " WHERE session_hash=?",
                       &stmt) == 0) {
            db_bind_text(stmt, 1, d->session_hash);
            if (db_step_row(stmt) == 1) {
                db_column_copy(stmt, 0, d->csrf, sizeof d->csrf);
                db_column_copy(stmt, 1, d->user_id, sizeof d->user_id);
                db_column_copy(stmt, 2, d->instance_id, sizeof d->instance_id);
            }
            sqlite3_finalize(stmt);
        }
        if (d->csrf[0] && load_context(db, d) == 0)
            return 0;
    }
    memset(d, 0, sizeof *d);
    char token[64];
    sqlite3_stmt *stmt = NULL;
    if (db_prepare(db, "SELECT user_id FROM users ORDER BY rowid LIMIT 1", &stmt) == 0) {
        if (db_step_row(stmt) == 1)
            db_column_copy(stmt, 0, d->user_id, sizeof d->user_id);
        sqlite3_finalize(stmt);
    }
    if (!d->user_id[0] || load_context(db, d) != 0 || crypto_token(32, token) != 0 ||
        crypto_token(32, d->csrf) != 0) {
        http_respond(req, 500, "text/plain; charset=utf-8", "no users seeded", 15);
        return -1;
    }
    crypto_sha256_hex(token, strlen(token), d->session_hash);
    if (save_session(db, d, 1) != 0) {
        http_respond(req, 500, "text/plain; charset=utf-8", "session store failed", 20);
        return -1;
    }
    char header[256];
    snprintf(header, sizeof header, "%s=%s; Path=/dashboard; HttpOnly; SameSite=Strict%s",
             COOKIE_NAME, token,
             strncmp(cs->config.public_url, "https:", 6) == 0 ? "; Secure" : "");
    crypto_wipe(token, sizeof token);
    http_add_header(req, "Set-Cookie", header);
    return 0;
}

/* CSRF token and same-origin check for a POST; 0 ok, or a 403 page was sent. */
static int check_post(struct cloudsim *cs, struct http_request *req, const struct dash *d)
{
    size_t len;
    const char *body = http_body(req, &len);
    char token[64];
    const char *origin = http_header(req, "Origin");
    struct cs_url self, from;
    int origin_ok = !origin || strcmp(origin, "null") == 0
                        ? !origin
                        : (cs_url_parse(origin, &from) == 0 &&
                           cs_url_parse(cs->config.public_url, &self) == 0 &&
                           strcmp(from.origin, self.origin) == 0);
    if (origin_ok && cs_form_value(body, len, "csrf", 0, token, sizeof token) == 0 &&
        strlen(token) == strlen(d->csrf) && crypto_equal(token, d->csrf, strlen(token)))
        return 0;
    static const char refused[] = "<!doctype html><title>Refused</title><p>This form is stale or "
                                  "came from another site. <a href=\"/dashboard/apps\">Back to "
                                  "the dashboard</a>.</p>";
    http_respond(req, 403, "text/html; charset=utf-8", refused, sizeof refused - 1);
    return -1;
}

/* ---- page frame ---- */

/* cloudsim/dashboard/style.css, embedded at build time (cmake/embed.cmake). */
extern const char cs_dashboard_css[];
extern const unsigned long cs_dashboard_css_len;

/* Sends the page b; rc is what building it returned. A page whose buffer failed is a 500
 * {"error", "code": "page_too_large"}, never the part that fitted. */
static void send_page(struct cloudsim *cs, struct http_request *req, unsigned status, struct buf *b,
                      int rc, int allow_frames)
{
    CAPP_ASSERT(rc == 0 || buf_failed(b)); /* every append's failure sticks to the buffer */
    http_add_header(req, "Content-Security-Policy",
                    allow_frames ? "default-src 'none'; style-src 'self'; img-src https: http: "
                                   "data:; frame-src https: http:; form-action 'self'; base-uri "
                                   "'none'; frame-ancestors 'none'"
                                 : "default-src 'none'; style-src 'self'; img-src https: http: "
                                   "data:; form-action 'self'; base-uri 'none'; frame-ancestors "
                                   "'none'");
    http_add_header(req, "X-Frame-Options", "DENY");
    /* Not no-referrer: under it browsers send `Origin: null` on the dashboard's own form POSTs,
     * which check_post refuses. same-origin still sends nothing to other origins (the portal
     * iframe also carries referrerpolicy="no-referrer"). */
    http_add_header(req, "Referrer-Policy", "same-origin");
    int err = buf_failed(b);
    if (err) {
        log_error("dashboard.page_failed", "req", http_request_id(req), "path", http_path(req),
                  "error", capp_errcode(err), NULL);
        http_respond_error(req, 500, err == CAPP_ETOOBIG ? "page_too_large" : "page_failed",
                           "the page could not be built");
        return;
    }
    http_respond(req, status, "text/html; charset=utf-8", b->data ? b->data : "", b->len);
}

static int csrf_field(struct buf *b, const struct dash *d)
{
    return html_tpl(b, "<input type=\"hidden\" name=\"csrf\" value=\"{}\">", d->csrf, NULL);
}

static int context_switcher(struct cloudsim *cs, struct buf *b, const struct dash *d)
{
    sqlite3 *db = cs_db(cs);
    sqlite3_stmt *stmt = NULL;
    int rc = html_raw_trusted(b, "<form method=\"post\" action=\"/dashboard/context\">");
    rc |= csrf_field(b, d);
    rc |= html_raw_trusted(b, "<select name=\"context\" aria-label=\"Signed in as\">");
    if (db && db_prepare(db,
                         "SELECT u.user_id, u.email, i.instance_id, i.name, o.name FROM users u"
                         " JOIN instances i ON i.organization_id=u.organization_id"
                         " JOIN organizations o ON o.organization_id=u.organization_id"
                         " ORDER BY o.rowid, u.rowid, i.rowid",
                         &stmt) == 0) {
        while (db_step_row(stmt) == 1) {
            const char *user = (const char *)sqlite3_column_text(stmt, 0);
            const char *instance = (const char *)sqlite3_column_text(stmt, 2);
            char value[2 * CS_ID_BYTES + 2];
            snprintf(value, sizeof value, "%s/%s", user, instance);
            int selected = strcmp(user, d->user_id) == 0 && strcmp(instance, d->instance_id) == 0;
            rc |= html_tpl(b, selected ? "<option value=\"{}\" selected>" : "<option value=\"{}\">",
                           value, NULL);
            rc |= html_tpl(b, "{} · {} / {}</option>", (const char *)sqlite3_column_text(stmt, 1),
                           (const char *)sqlite3_column_text(stmt, 4),
                           (const char *)sqlite3_column_text(stmt, 3), NULL);
        }
        sqlite3_finalize(stmt);
    }
    rc |= html_raw_trusted(b, "</select><button class=\"secondary\" type=\"submit\">Switch</button>"
                              "</form>");
    return rc;
}

static int page_begin(struct cloudsim *cs, struct buf *b, const struct dash *d, const char *title,
                      const char *active)
{
    static const char *const nav[][2] = {{"apps", "Apps"},
                                         {"identities", "Identities"},
                                         {"alerts", "Alerts"},
                                         {"audit", "Audit log"}};
    int rc = html_tpl(
        b,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>{} · cloudsim</title><link rel=\"stylesheet\" href=\"/dashboard/style.css\">"
        "</head><body><header><span class=\"brand\">Blnk Cloud <span class=\"muted\">"
        "(cloudsim, {})</span></span><nav>",
        title, cs->config.mode == CS_MODE_V2 ? "V2" : "V1", NULL);
    for (size_t i = 0; i < sizeof nav / sizeof nav[0]; i++)
        rc |= html_tpl(b,
                       strcmp(active, nav[i][0]) == 0
                           ? "<a class=\"on\" href=\"/dashboard/{}\">{}</a>"
                           : "<a href=\"/dashboard/{}\">{}</a>",
                       nav[i][0], nav[i][1], NULL);
    rc |= html_raw_trusted(b, "</nav>");
    rc |= context_switcher(cs, b, d);
    rc |= html_raw_trusted(b, "</header><main>");
    return rc;
}

static int page_end(struct buf *b)
{
    return html_raw_trusted(b, "</main></body></html>");
}

/* ---- notices after a POST/redirect ---- */

static const char *const notices[][2] = {
    {"installed", "The app is installed. Launch it from the top right."},
    {"uninstalled", "The app was uninstalled and its API key revoked."},
    {"install_failed", "Install failed: the app did not confirm within 10 seconds, so the install "
                       "was cancelled and its key revoked. Click Install again."},
    {"uninstall_failed", "If uninstall fails, wait a few minutes and try again. The install stays "
                         "active and its key valid."},
    {"already_installed", "The app is already installed in this instance."},
    {"no_permissions", "Grant at least one permission."},
    {"permission_not_requested", "That permission is not requested by the app."},
    {"install_not_active", "The install is not active."},
    {"context", "Switched user and instance."},
};

static int show_notice(struct buf *b, const char *code)
{
    if (!code)
        return 0;
    for (size_t i = 0; i < sizeof notices / sizeof notices[0]; i++) {
        if (strcmp(code, notices[i][0]) == 0) {
            int bad = strstr(code, "failed") || strstr(code, "already") || strstr(code, "not_") ||
                      strstr(code, "no_");
            return html_tpl(b,
                            bad ? "<p class=\"notice bad\">{}</p>" : "<p class=\"notice\">{}</p>",
                            notices[i][1], NULL);
        }
    }
    return html_tpl(b, "<p class=\"notice bad\">The operation failed ({}).</p>", code, NULL);
}

/* ---- apps ---- */

static void apps_page(struct cloudsim *cs, struct http_request *req, const struct dash *d)
{
    struct buf b;
    buf_init(&b, page_max(cs));
    int rc = page_begin(cs, &b, d, "Apps", "apps");
    rc |= html_tpl(&b,
                   "<h1>Apps</h1><p class=\"muted\">Apps library of {} — installs are per instance "
                   "(now: {}).</p><h2>Private apps</h2><div class=\"cards\">",
                   d->organization_name, d->instance_name, NULL);
    sqlite3 *db = cs_db(cs);
    sqlite3_stmt *stmt = NULL;
    int count = 0;
    if (db && db_prepare(db,
                         "SELECT a.app_id, a.display_name, a.description, a.developer_name,"
                         " (SELECT status FROM installs i WHERE i.app_id=a.app_id AND"
                         "  i.instance_id=?2 AND i.status IN ('pending','active'))"
                         " FROM apps a WHERE a.organization_id=?1 ORDER BY a.rowid",
                         &stmt) == 0) {
        db_bind_text(stmt, 1, d->organization_id);
        db_bind_text(stmt, 2, d->instance_id);
        while (db_step_row(stmt) == 1) {
            const char *status = (const char *)sqlite3_column_text(stmt, 4);
            rc |= html_tpl(&b,
                           "<div class=\"card\"><h3><a href=\"/dashboard/apps/{}\">{}</a></h3>"
                           "<div class=\"muted\">by {}</div><p>{}</p>",
                           (const char *)sqlite3_column_text(stmt, 0),
                           (const char *)sqlite3_column_text(stmt, 1),
                           (const char *)sqlite3_column_text(stmt, 3),
                           (const char *)sqlite3_column_text(stmt, 2), NULL);
            rc |= html_raw_trusted(&b, status ? "<span class=\"badge ok\">Installed</span>"
                                              : "<span class=\"badge\">Not installed</span>");
            rc |= html_raw_trusted(&b, "</div>");
            count++;
        }
        sqlite3_finalize(stmt);
    }
    rc |= html_raw_trusted(&b, "</div>");
    if (!count)
        rc |=
            html_raw_trusted(&b, "<p class=\"muted\">No apps yet. Register one with <code>cloudsim "
                                 "register --server URL manifest.json</code>.</p>");
    rc |=
        html_raw_trusted(&b, "<h2>Official apps</h2><p class=\"muted\">None in this emulator.</p>");
    rc |= page_end(&b);
    send_page(cs, req, 200, &b, rc, 0);
    buf_free(&b);
}

static int permission_list(struct buf *b, const char *permissions_json, int checkboxes)
{
    int rc = 0;
    json_t *list = json_loads(permissions_json, 0, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *name = json_string_value(v);
        if (checkboxes)
            rc |= html_tpl(
                b,
                "<label><input type=\"checkbox\" name=\"permission\" value=\"{}\" checked> "
                "<code>{}</code></label>",
                name, name, NULL);
        else
            rc |= html_tpl(b, "<code>{}</code> ", name, NULL);
    }
    json_decref(list);
    return rc;
}

static void app_page(struct cloudsim *cs, struct http_request *req, const struct dash *d,
                     const char *app_id)
{
    sqlite3 *db = cs_db(cs);
    sqlite3_stmt *stmt = NULL;
    struct buf b;
    buf_init(&b, page_max(cs));
    if (!db || db_prepare(db,
                          "SELECT display_name, description, developer_name, logo_url,"
                          " callback_url, portal_generator_url, permissions, created_at"
                          " FROM apps WHERE app_id=? AND organization_id=?",
                          &stmt) != 0) {
        http_respond(req, 500, "text/plain; charset=utf-8", "database unavailable", 20);
        buf_free(&b);
        return;
    }
    db_bind_text(stmt, 1, app_id);
    db_bind_text(stmt, 2, d->organization_id);
    if (db_step_row(stmt) != 1) {
        sqlite3_finalize(stmt);
        int rc = page_begin(cs, &b, d, "App not found", "apps");
        rc |= html_raw_trusted(&b, "<h1>App not found</h1><p>Check the org and instance.</p>");
        rc |= page_end(&b);
        send_page(cs, req, 404, &b, rc, 0);
        buf_free(&b);
        return;
    }
    char name[CS_TEXT_BYTES], permissions[256];
    db_column_copy(stmt, 0, name, sizeof name);
    db_column_copy(stmt, 6, permissions, sizeof permissions);
    int rc = page_begin(cs, &b, d, name, "apps");
    rc |= show_notice(&b, http_query(req, "notice"));
    char installed_app_id[CS_ID_BYTES] = "";
    int installed = cs_find_live_install(cs, app_id, d->instance_id, installed_app_id) == 0;
    rc |= html_tpl(&b,
                   "<div class=\"actions spread\"><div><h1>{}</h1>"
                   "<div class=\"muted\">by {} · registered {}</div></div><div class=\"actions\">",
                   name, (const char *)sqlite3_column_text(stmt, 2),
                   (const char *)sqlite3_column_text(stmt, 7), NULL);
    if (installed) {
        rc |= html_tpl(&b, "<form method=\"post\" action=\"/dashboard/apps/{}/launch\">", app_id,
                       NULL);
        rc |= csrf_field(&b, d);
        rc |= html_raw_trusted(&b, "<button type=\"submit\">Launch app</button></form>");
        rc |= html_tpl(&b, "<form method=\"post\" action=\"/dashboard/apps/{}/uninstall\">", app_id,
                       NULL);
        rc |= csrf_field(&b, d);
        rc |= html_raw_trusted(
            &b, "<button class=\"danger\" type=\"submit\">Uninstall</button></form>");
    }
    rc |= html_raw_trusted(&b, "</div></div>");
    rc |= html_tpl(&b,
                   "<p>{}</p><table><tr><th>App ID</th><td><code>{}</code></td></tr>"
                   "<tr><th>Callback URL</th><td><code>{}</code></td></tr>"
                   "<tr><th>Portal generator URL</th><td><code>{}</code></td></tr>"
                   "<tr><th>Requested permissions</th><td>",
                   (const char *)sqlite3_column_text(stmt, 1), app_id,
                   (const char *)sqlite3_column_text(stmt, 4),
                   (const char *)sqlite3_column_text(stmt, 5), NULL);
    rc |= permission_list(&b, permissions, 0);
    rc |= html_raw_trusted(&b, "</td></tr>");
    sqlite3_finalize(stmt);
    if (installed)
        rc |= html_tpl(&b, "<tr><th>Install in {}</th><td><code>{}</code></td></tr>",
                       d->instance_name, installed_app_id, NULL);
    rc |= html_raw_trusted(&b, "</table>");
    if (!installed) {
        rc |=
            html_tpl(&b,
                     "<h2>Install</h2><form method=\"post\" action=\"/dashboard/apps/{}/install\">"
                     "<fieldset><legend>Grant permissions to this install (in {})</legend>",
                     app_id, d->instance_name, NULL);
        rc |= csrf_field(&b, d);
        rc |= permission_list(&b, permissions, 1);
        rc |= html_raw_trusted(&b,
                               "</fieldset><p><button type=\"submit\">Install</button></p></form>");
    }
    rc |= html_raw_trusted(&b, "<h2>Installs and lifecycle events</h2><table><tr><th>When</th>"
                               "<th>Install</th><th>Event</th><th>Attempt</th><th>HTTP</th>"
                               "<th>Outcome</th><th>ms</th></tr>");
    if (db_prepare(db,
                   "SELECT d.at, d.installed_app_id, d.kind, d.attempt, d.status, d.outcome,"
                   " d.elapsed_ms FROM deliveries d JOIN installs i"
                   " ON i.installed_app_id=d.installed_app_id WHERE i.app_id=? AND i.instance_id=?"
                   " ORDER BY d.id DESC LIMIT 50",
                   &stmt) == 0) {
        db_bind_text(stmt, 1, app_id);
        db_bind_text(stmt, 2, d->instance_id);
        while (db_step_row(stmt) == 1) {
            char attempt[16], status[16], ms[24];
            snprintf(attempt, sizeof attempt, "%d", sqlite3_column_int(stmt, 3));
            snprintf(status, sizeof status, "%d", sqlite3_column_int(stmt, 4));
            snprintf(ms, sizeof ms, "%lld", (long long)sqlite3_column_int64(stmt, 6));
            rc |=
                html_tpl(&b,
                         "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>"
                         "<td>{}</td><td>{}</td></tr>",
                         (const char *)sqlite3_column_text(stmt, 0),
                         (const char *)sqlite3_column_text(stmt, 1),
                         (const char *)sqlite3_column_text(stmt, 2), attempt, status,
                         (const char *)sqlite3_column_text(stmt, 5), ms, NULL);
        }
        sqlite3_finalize(stmt);
    }
    rc |= html_raw_trusted(&b, "</table>");
    rc |= page_end(&b);
    send_page(cs, req, 200, &b, rc, 0);
    buf_free(&b);
}

/* ---- flows from the dashboard ---- */

struct dash_flow_arg {
    struct dash d;
    char app_id[CS_ID_BYTES];
};

static void redirect_to_app(struct http_request *req, const char *app_id, const char *notice)
{
    char location[512];
    snprintf(location, sizeof location, "/dashboard/apps/%s?notice=%s", app_id, notice);
    http_respond_redirect(req, 303, location);
}

static void answer_redirect(struct cloudsim *cs, struct http_request *req, struct cs_outcome *out,
                            void *arg)
{
    struct dash_flow_arg *a = arg;
    const char *code = json_string_value(json_object_get(out->result, "code"));
    const char *notice =
        out->status < 300
            ? (json_object_get(out->result, "uninstalled_at") ? "uninstalled" : "installed")
        : code && json_is_valid_id(code, 64) ? code
                                             : "error";
    redirect_to_app(req, a->app_id, notice);
    json_decref(out->result);
}

static void answer_launch(struct cloudsim *cs, struct http_request *req, struct cs_outcome *out,
                          void *arg)
{
    struct dash_flow_arg *a = arg;
    struct buf b;
    buf_init(&b, page_max(cs));
    const char *name = json_string_value(json_object_get(out->result, "app_name"));
    int rc = page_begin(cs, &b, &a->d, name ? name : "Launch", "apps");
    if (out->status == 200) {
        rc |= html_tpl(&b,
                       "<div class=\"actions spread\"><h1>{}</h1>"
                       "<a href=\"/dashboard/apps/{}\">App details</a></div>"
                       "<iframe src=\"{}\" title=\"{}\" referrerpolicy=\"no-referrer\"></iframe>",
                       name, a->app_id,
                       json_string_value(json_object_get(out->result, "portal_url")), name, NULL);
    } else {
        rc |= html_tpl(
            &b,
            "<h1>Portal does not open</h1><p class=\"notice bad\">{}</p><p class=\"muted\">"
            "Code <code>{}</code>. The generator must be reachable and return a valid "
            "portal_url within about 10 s.</p><p><a href=\"/dashboard/apps/{}\">Back to the "
            "app</a></p>",
            json_string_value(json_object_get(out->result, "error")),
            json_string_value(json_object_get(out->result, "code")), a->app_id, NULL);
    }
    rc |= page_end(&b);
    send_page(cs, req, out->status == 200 ? 200 : 502, &b, rc, out->status == 200);
    buf_free(&b);
    json_decref(out->result);
}

static void app_action(struct cloudsim *cs, struct http_request *req, const struct dash *d,
                       const char *app_id, const char *action)
{
    if (check_post(cs, req, d) != 0)
        return;
    enum cs_flow_kind kind = strcmp(action, "install") == 0     ? CS_FLOW_INSTALL
                             : strcmp(action, "uninstall") == 0 ? CS_FLOW_UNINSTALL
                                                                : CS_FLOW_LAUNCH;
    struct cs_flow *flow = cs_flow_new(cs, kind);
    struct dash_flow_arg *arg = calloc(1, sizeof *arg);
    if (!flow || !arg) {
        cs_flow_free(flow);
        free(arg);
        http_respond(req, 500, "text/plain; charset=utf-8", "out of memory", 13);
        return;
    }
    arg->d = *d;
    snprintf(arg->app_id, sizeof arg->app_id, "%s", app_id);
    flow->arg = arg;
    flow->answer = kind == CS_FLOW_LAUNCH ? answer_launch : answer_redirect;
    if (kind == CS_FLOW_INSTALL) {
        size_t len;
        const char *body = http_body(req, &len);
        /* The flow borrows strings: keep them in a JSON array it owns. */
        flow->owned = json_pack("[s, s, s]", arg->app_id, d->instance_id, d->user_id);
        flow->install.app_id = json_string_value(json_array_get(flow->owned, 0));
        flow->install.instance_id = json_string_value(json_array_get(flow->owned, 1));
        flow->install.user_id = json_string_value(json_array_get(flow->owned, 2));
        char value[CAPP_MAX_PERMISSION_BYTES];
        for (int i = 0; i < CAPP_MAX_PERMISSIONS &&
                        cs_form_value(body, len, "permission", i, value, sizeof value) == 0;
             i++) {
            json_array_append_new(flow->owned, json_string(value));
            flow->install.permissions[flow->install.permission_count++] =
                json_string_value(json_array_get(flow->owned, json_array_size(flow->owned) - 1));
        }
        if (flow->install.permission_count == 0) {
            cs_flow_free(flow);
            redirect_to_app(req, app_id, "no_permissions");
            return;
        }
    } else {
        if (cs_find_live_install(cs, app_id, d->instance_id, flow->installed_app_id) != 0) {
            cs_flow_free(flow);
            redirect_to_app(req, app_id, "install_not_active");
            return;
        }
        snprintf(flow->user_id, sizeof flow->user_id, "%s", d->user_id);
    }
    cs_flow_start(cs, req, flow);
}

static void switch_context(struct cloudsim *cs, struct http_request *req, struct dash *d)
{
    if (check_post(cs, req, d) != 0)
        return;
    size_t len;
    const char *body = http_body(req, &len);
    char value[2 * CS_ID_BYTES + 2];
    char *slash;
    if (cs_form_value(body, len, "context", 0, value, sizeof value) == 0 &&
        (slash = strchr(value, '/')) != NULL) {
        *slash = '\0';
        struct dash next = *d;
        sqlite3 *db = cs_db(cs);
        if (db && strlen(value) < sizeof next.user_id &&
            strlen(slash + 1) < sizeof next.instance_id &&
            memcpy(next.user_id, value, strlen(value) + 1) &&
            memcpy(next.instance_id, slash + 1, strlen(slash + 1) + 1) &&
            json_is_valid_id(next.user_id, 128) && json_is_valid_id(next.instance_id, 128) &&
            load_context(db, &next) == 0 && strcmp(next.instance_id, slash + 1) == 0)
            save_session(db, &next, 0);
    }
    http_respond_redirect(req, 303, "/dashboard/apps");
}

/* ---- identities, alerts, audit ---- */

static const char *field(const json_t *row, const char *name)
{
    const char *s = json_string_value(json_object_get(row, name));
    return s ? s : "";
}

static void identities_page(struct cloudsim *cs, struct http_request *req, const struct dash *d)
{
    const char *page_text = http_query(req, "page");
    long page = page_text ? strtol(page_text, NULL, 10) : 1;
    if (page < 1 || page > 1000000)
        page = 1;
    json_t *data = NULL;
    long long total = 0;
    sqlite3 *db = cs_db(cs);
    int read = db ? core_list(db, core_resource(CORE_IDENTITIES), d->instance_id, NULL,
                              IDENTITIES_PAGE_SIZE, (page - 1) * IDENTITIES_PAGE_SIZE,
                              CORE_FLAVOUR_DATA, &data, &total)
                  : CAPP_EDB;
    struct buf b;
    buf_init(&b, page_max(cs));
    int rc = page_begin(cs, &b, d, "Identities", "identities");
    char total_text[32];
    snprintf(total_text, sizeof total_text, "%lld", total);
    rc |= html_tpl(&b,
                   "<h1>Identities</h1><p class=\"muted\">{} identities in {} (read-only view of "
                   "the instance's Core data).</p>",
                   total_text, d->instance_name, NULL);
    if (read) {
        rc |=
            html_raw_trusted(&b, "<p class=\"notice bad\">The identity store is unavailable.</p>");
    } else {
        rc |= html_raw_trusted(&b, "<table><tr><th>Identity</th><th>Name</th><th>Type</th><th>Email"
                                   "</th><th>Country</th><th>Date of birth</th><th>Created</th>"
                                   "</tr>");
        size_t i;
        json_t *row;
        json_array_foreach(data, i, row)
        {
            char name[512];
            snprintf(name, sizeof name, "%s %s%s", field(row, "first_name"),
                     field(row, "last_name"), field(row, "organization_name"));
            rc |=
                html_tpl(&b,
                         "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                         "<td>{}</td><td>{}</td></tr>",
                         field(row, "identity_id"), name, field(row, "identity_type"),
                         field(row, "email_address"), field(row, "country"), field(row, "dob"),
                         field(row, "created_at"), NULL);
        }
        rc |= html_raw_trusted(&b, "</table><div class=\"pager\">");
        char link[64];
        if (page > 1) {
            snprintf(link, sizeof link, "%ld", page - 1);
            rc |= html_tpl(&b, "<a href=\"/dashboard/identities?page={}\">← Newer</a>", link, NULL);
        }
        if (page * IDENTITIES_PAGE_SIZE < total) {
            snprintf(link, sizeof link, "%ld", page + 1);
            rc |= html_tpl(&b, "<a href=\"/dashboard/identities?page={}\">Older →</a>", link, NULL);
        }
        rc |= html_raw_trusted(&b, "</div>");
    }
    json_decref(data);
    rc |= page_end(&b);
    send_page(cs, req, 200, &b, rc, 0);
    buf_free(&b);
}

static void alerts_page(struct cloudsim *cs, struct http_request *req, const struct dash *d)
{
    json_t *data = NULL;
    long long total = 0;
    sqlite3 *db = cs_db(cs);
    int read = db ? cs_alert_list(db, d->organization_id, d->instance_id, 100, 0, &data, &total)
                  : CAPP_EDB;
    struct buf b;
    buf_init(&b, page_max(cs));
    int rc = page_begin(cs, &b, d, "Alerts", "alerts");
    rc |= html_tpl(&b, "<h1>Alerts</h1><p class=\"muted\">Newest 100 alerts of {} / {}.</p>",
                   d->organization_name, d->instance_name, NULL);
    if (read) {
        rc |= html_raw_trusted(&b, "<p class=\"notice bad\">The alert store is unavailable.</p>");
    } else {
        rc |= html_raw_trusted(&b, "<table><tr><th>Alert</th><th>Title</th><th>Description</th>"
                                   "<th>Type</th><th>Status</th><th>Created</th></tr>");
        size_t i;
        json_t *row;
        json_array_foreach(data, i, row)
        {
            rc |=
                html_tpl(&b,
                         "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>"
                         "<td><span class=\"badge\">{}</span></td><td>{}</td></tr>",
                         field(row, "anomaly_id"), field(row, "title"), field(row, "description"),
                         field(row, "type"), field(row, "status"), field(row, "created_at"), NULL);
        }
        rc |= html_raw_trusted(&b, "</table>");
    }
    json_decref(data);
    rc |= page_end(&b);
    send_page(cs, req, 200, &b, rc, 0);
    buf_free(&b);
}

static void audit_page(struct cloudsim *cs, struct http_request *req, const struct dash *d)
{
    json_t *rows = cs_json_audit(cs, NULL, 300);
    struct buf b;
    buf_init(&b, page_max(cs));
    int rc = page_begin(cs, &b, d, "Audit log", "audit");
    rc |= html_raw_trusted(&b,
                           "<h1>Audit log</h1><p class=\"muted\">Newest 300 entries: every gateway "
                           "call with its install and key prefix (never the key), and every "
                           "lifecycle action.</p><table><tr><th>When</th><th>Actor</th>"
                           "<th>Event</th><th>Install</th><th>Key prefix</th><th>Request</th>"
                           "<th>Status</th><th>Detail</th></tr>");
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        char request[600] = "", status[16] = "";
        if (*field(row, "method"))
            snprintf(request, sizeof request, "%s %s", field(row, "method"), field(row, "path"));
        json_int_t st = json_integer_value(json_object_get(row, "status"));
        if (st)
            snprintf(status, sizeof status, "%lld", (long long)st);
        rc |= html_tpl(&b,
                       "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}"
                       "</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                       field(row, "at"), field(row, "actor"), field(row, "event"),
                       field(row, "installed_app_id"), field(row, "api_key_prefix"), request,
                       status, field(row, "detail"), NULL);
    }
    rc |= html_raw_trusted(&b, "</table>");
    json_decref(rows);
    rc |= page_end(&b);
    send_page(cs, req, 200, &b, rc, 0);
    buf_free(&b);
}

/* ---- routing ---- */

static void dashboard_dispatch(struct http_request *req, void *ctx)
{
    struct cloudsim *cs = ctx;
    const char *path = http_path(req);
    const char *method = http_method(req);
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    if (get && strcmp(path, "/dashboard/style.css") == 0) {
        http_add_header(req, "Cache-Control", "max-age=300");
        http_respond(req, 200, "text/css; charset=utf-8", cs_dashboard_css, cs_dashboard_css_len);
        return;
    }
    if (get && (strcmp(path, "/dashboard") == 0 || strcmp(path, "/dashboard/") == 0)) {
        http_respond_redirect(req, 303, "/dashboard/apps");
        return;
    }
    struct dash d;
    if (open_session(cs, req, &d) != 0)
        return;
    const char *rest = path + strlen("/dashboard/");
    if (strncmp(path, "/dashboard/", 11) != 0)
        rest = "";
    if (get && strcmp(rest, "apps") == 0)
        return apps_page(cs, req, &d);
    if (get && strcmp(rest, "identities") == 0)
        return identities_page(cs, req, &d);
    if (get && strcmp(rest, "alerts") == 0)
        return alerts_page(cs, req, &d);
    if (get && strcmp(rest, "audit") == 0)
        return audit_page(cs, req, &d);
    if (post && strcmp(rest, "context") == 0)
        return switch_context(cs, req, &d);
    if (strncmp(rest, "apps/", 5) == 0) {
        char app_id[CS_ID_BYTES];
        const char *id = rest + 5;
        size_t n = strcspn(id, "/");
        if (n > 0 && n < sizeof app_id) {
            memcpy(app_id, id, n);
            app_id[n] = '\0';
            const char *action = id[n] == '/' ? id + n + 1 : "";
            if (json_is_valid_id(app_id, 128)) {
                if (get && !*action)
                    return app_page(cs, req, &d, app_id);
                if (post && (strcmp(action, "install") == 0 || strcmp(action, "uninstall") == 0 ||
                             strcmp(action, "launch") == 0))
                    return app_action(cs, req, &d, app_id, action);
            }
        }
    }
    struct buf b;
    buf_init(&b, page_max(cs));
    int rc = page_begin(cs, &b, &d, "Not found", "");
    rc |=
        html_raw_trusted(&b, "<h1>Not found</h1><p><a href=\"/dashboard/apps\">Back to the apps</a>"
                             "</p>");
    rc |= page_end(&b);
    send_page(cs, req, 404, &b, rc, 0);
    buf_free(&b);
}

/* Browsers ask for /favicon.ico on every page: an empty 204 (cached for a day) instead of a
 * 404 in every console. */
static void favicon(struct http_request *req, void *ctx)
{
    (void)ctx;
    http_add_header(req, "Cache-Control", "max-age=86400");
    http_respond(req, 204, "image/x-icon", "", 0);
}

int cs_dashboard_register(struct cloudsim *cs, struct http_server *srv)
{
    int rc = http_server_route(srv, "*", "/dashboard/*", dashboard_dispatch, cs);
    if (rc == 0)
        rc = http_server_route(srv, "GET", "/dashboard", dashboard_dispatch, cs);
    if (rc == 0)
        rc = http_server_route(srv, "GET", "/favicon.ico", favicon, cs);
    return rc;
}
