/*
 * portal_pages.c — the review portal's HTML: GET /portal renders one of three views chosen by
 * ?view= (capp serves only GET /portal to the app's page hook):
 *
 *   overview (default)          counts per status, score histogram, runs chart, last run and
 *                               live progress, the review policy (four-eyes) and exports
 *   view=queue&status=&risk=&reason=&q=&sort=&order=&page=
 *                               the filterable, sortable, paginated results table
 *   view=identity&id=ID         one identity: checks, matches side by side with the list
 *                               entry (matching tokens highlighted, qualifier breakdown), the
 *                               decision form, the pending decision and the audit history
 *
 * Every parameter is validated; a bad one gives a 400 page naming it. The HTML is written with
 * capp's builder (capp/html.h): every value goes through an escaped hole of html_tpl (or
 * html_text/html_textf); html_raw_trusted only writes this file's literal markup. Each helper
 * returns what its appends returned (`rc |=`), and send() hands the page to capp, which answers
 * a page whose buffer failed (over kp->page_max_bytes) with a 500 page_too_large instead of the
 * part that fitted. The page has no inline script or style (the CSP forbids both): behaviour
 * lives in /portal/static/app.js, which finds its hooks through data-* attributes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/assert.h"
#include "capp/clock.h"
#include "capp/err.h"
#include "capp/html.h"
#include "capp/http.h"
#include "capp/json.h"
#include "capp/portal.h"
#include "kyc/audit.h"
#include "kyc/pipeline.h"
#include "kyc/portal_internal.h"
#include "kyc/review.h"
#include "kyc/screen/screen.h"

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static const char *const statuses[][2] = {
    {"hit", "Hit"},     {"needs_review", "Needs review"}, {"error", "Error"},
    {"clear", "Clear"}, {"approved", "Approved"},         {"rejected", "Rejected"},
};

static const char *status_label(const char *s)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (strcmp(s, statuses[i][0]) == 0)
            return statuses[i][1];
    return s;
}

static int badge(struct buf *b, const char *status)
{
    return html_tpl(b, "<span class=\"badge s-{}\">{}</span>", status, status_label(status), NULL);
}

static int risk_badge(struct buf *b, const char *risk)
{
    return html_tpl(b, "<span class=\"risk r-{}\">{}</span>", risk, *risk ? risk : "—", NULL);
}

/* "2026-03-01T12:34:56.789Z" → "2026-03-01 12:34 UTC" */
static int when(struct buf *b, const char *ts)
{
    if (!ts || strlen(ts) < 16)
        return html_text(b, "—");
    char out[32];
    snprintf(out, sizeof out, "%.10s %.5s UTC", ts, ts + 11);
    return html_tpl(b, "<time datetime=\"{}\">{}</time>", ts, out, NULL);
}

/* Percent-encodes s for a query value into u (unreserved characters kept). */
static int url_value(struct buf *u, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
            rc |= buf_append(u, s, 1);
        else
            rc |= buf_printf(u, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
    return rc;
}

/* The filter as query pairs (percent-encoded, not yet HTML-escaped) appended to u, the first
 * after sep ('?' or '&'), the others after '&'. */
static int filter_query(struct buf *u, const struct results_filter *f, char sep)
{
    const char *keys[] = {"status", "risk", "reason", "q", "sort", "order"};
    const char *vals[] = {f->status, f->risk, f->reason, f->name, f->sort, f->order};
    int rc = 0;
    for (size_t i = 0; i < COUNTOF(keys); i++) {
        if (vals[i] && *vals[i]) {
            rc |= buf_printf(u, "%c%s=", sep, keys[i]);
            rc |= url_value(u, vals[i]);
            sep = '&';
        }
    }
    return rc;
}

/* Writes the URL built in u (rc: what building it returned) escaped into b, and frees u. A URL
 * that did not fit u fails b: the page is refused rather than linking somewhere else. */
static int href_from(struct buf *b, struct buf *u, int rc)
{
    rc = rc ? buf_fail(b, buf_failed(u)) : html_text(b, u->data);
    buf_free(u);
    return rc;
}

/* A link's href for the queue with filter f and page (escaped into b). */
static int queue_href(struct buf *b, const struct results_filter *f, int page)
{
    struct buf u;
    buf_init(&u, 4096);
    int rc = buf_append_str(&u, "/portal?view=queue");
    rc |= filter_query(&u, f, '&');
    if (page > 1)
        rc |= buf_printf(&u, "&page=%d", page);
    return href_from(b, &u, rc);
}

/* The CSV export's href for filter f (escaped into b). */
static int export_href(struct buf *b, const struct results_filter *f)
{
    struct buf u;
    buf_init(&u, 4096);
    int rc = buf_append_str(&u, "/portal/api/export.csv");
    rc |= filter_query(&u, f, '?');
    return href_from(b, &u, rc);
}

static int identity_href(struct buf *b, const char *id)
{
    struct buf u;
    buf_init(&u, 1024);
    int rc = buf_append_str(&u, "/portal?view=identity&id=");
    rc |= url_value(&u, id);
    return href_from(b, &u, rc);
}

/* ---- the frame of every view ---- */

static int page_open(struct buf *b, const struct capp_portal_context *pc, const char *title,
                     const char *view)
{
    static const char *const nav[][3] = {{"overview", "/portal", "Overview"},
                                         {"queue", "/portal?view=queue", "Queue"}};
    int rc = portal_page_begin(b, title, pc);
    rc |= html_raw_trusted(b, "<a class=\"skip\" href=\"#main\">Skip to content</a>"
                              "<header class=\"top\"><div class=\"brand\"><span class=\"logo\" "
                              "aria-hidden=\"true\">K</span>KYC review</div>"
                              "<nav aria-label=\"Sections\">");
    for (size_t i = 0; i < COUNTOF(nav); i++)
        rc |= html_tpl(b,
                       strcmp(view, nav[i][0]) == 0 ? "<a href=\"{}\" aria-current=\"page\">{}</a>"
                                                    : "<a href=\"{}\">{}</a>",
                       nav[i][1], nav[i][2], NULL);
    /* No installed_app_id, organization or instance ID on the page (spec D1): the reviewer
     * needs none of them, and with them a page shown or leaked would hand over what a forged
     * portal-generator call needs. */
    rc |= html_tpl(b,
                   "</nav><div class=\"who\"><span>Reviewer <strong id=\"reviewer\">{}</strong>"
                   "</span></div></header>",
                   pc->session.user_id[0] ? pc->session.user_id : "not identified", NULL);
    if (!pc->session.user_id[0])
        rc |= html_raw_trusted(
            b, "<div class=\"banner warn\" role=\"alert\"><strong>Reviewer not identified."
               "</strong> This launch carried no user (a V2 launch), so two reviewers cannot be "
               "told apart. While four-eyes review is on, approvals of hits and every rejection "
               "are refused; other actions are recorded as &ldquo;anonymous&rdquo;.</div>");
    rc |= html_raw_trusted(b, "<main id=\"main\" tabindex=\"-1\">");
    return rc;
}

/* The session's facts the reviewer can act on (IDs are left out: see page_open). */
static int session_footer(struct buf *b, const struct capp_portal_context *pc)
{
    char expires[40];
    clock_format_rfc3339(pc->session.expires_at_ms, expires, sizeof expires);
    int rc = html_raw_trusted(b, "<footer class=\"session\"><span>Permissions ");
    for (size_t i = 0; i < pc->install.permission_count; i++)
        rc |= html_tpl(b, i ? ", {}" : "{}", pc->install.permissions[i], NULL);
    rc |= html_raw_trusted(b, "</span><span>Session ends ");
    rc |= when(b, expires);
    rc |= html_raw_trusted(b, "</span></footer>");
    return rc;
}

static int page_close(struct buf *b, const struct capp_portal_context *pc)
{
    int rc = html_raw_trusted(b, "</main>");
    rc |= session_footer(b, pc);
    rc |= html_raw_trusted(
        b, "<div id=\"toast\" class=\"toast\" role=\"status\" aria-live=\"polite\"></div>");
    rc |= portal_page_end(b);
    return rc;
}

/* Sends the page b (rc: what building it returned) and frees it. capp answers a page whose
 * buffer failed with a 500 page_too_large instead of the part that fitted. */
static void send(struct capp_portal_context *pc, unsigned status, struct buf *b, int rc)
{
    CAPP_ASSERT(rc == 0 || buf_failed(b)); /* every append's failure sticks to the buffer */
    portal_send_html(pc->app, pc->req, status, b);
    buf_free(b);
}

static void error_page(struct capp_portal_context *pc, const struct kyc_portal *kp, unsigned status,
                       const char *title, const char *message)
{
    struct buf b;
    buf_init(&b, kp->page_max_bytes);
    int rc = page_open(&b, pc, title, "");
    rc |= html_tpl(&b,
                   "<section class=\"panel notice-panel\"><h1>{}</h1><p>{}</p>"
                   "<p><a href=\"/portal\">Back to the overview</a></p></section>",
                   title, message, NULL);
    rc |= page_close(&b, pc);
    send(pc, status, &b, rc);
}

/* ---- overview ---- */

static int count_cards(struct buf *b, const json_t *counts)
{
    int rc = html_raw_trusted(b, "<section aria-labelledby=\"h-status\"><h2 id=\"h-status\">"
                                 "Identities by status</h2><ul class=\"cards\">");
    for (size_t i = 0; i < COUNTOF(statuses); i++) {
        char n[32];
        snprintf(n, sizeof n, "%lld",
                 (long long)json_integer_value(json_object_get(counts, statuses[i][0])));
        rc |= html_tpl(b,
                       "<li><a class=\"card s-{}\" href=\"/portal?view=queue&amp;status={}\">"
                       "<span class=\"card-label\">{}</span>"
                       "<span class=\"card-value\" data-count=\"{}\">{}</span></a></li>",
                       statuses[i][0], statuses[i][0], statuses[i][1], statuses[i][0], n, NULL);
    }
    rc |= html_raw_trusted(b, "</ul><p class=\"muted\">");
    rc |= html_textf(b, "%lld identities screened in total.",
                     (long long)json_integer_value(json_object_get(counts, "total")));
    json_int_t removed = json_integer_value(json_object_get(counts, "removed"));
    if (removed > 0)
        rc |= html_textf(b,
                         " %lld deleted in Blnk since they were screened: kept for the record, "
                         "not in the queue.",
                         (long long)removed);
    rc |= html_raw_trusted(b, "</p></section>");
    return rc;
}

static int run_facts(struct buf *b, const json_t *run)
{
    static const char *const nums[][2] = {
        {"fetched", "Fetched"},
        {"screened", "Screened"},
        {"unchanged", "Unchanged"},
        {"written", "Written back"},
        {"alerts_created", "Alerts raised"},
        {"errors", "Errors"},
    };
    int rc =
        html_tpl(b,
                 "<dl class=\"facts-grid\" id=\"run-facts\"><div><dt>State</dt>"
                 "<dd data-run=\"state\">{}</dd></div><div><dt>Trigger</dt>"
                 "<dd data-run=\"trigger\">{}</dd></div><div><dt>Started</dt>"
                 "<dd data-run=\"started_at\">",
                 run ? str(run, "state") : "no run yet", run ? str(run, "trigger") : "—", NULL);
    rc |= when(b, run ? str(run, "started_at") : NULL);
    rc |= html_raw_trusted(b, "</dd></div>");
    for (size_t i = 0; i < COUNTOF(nums); i++) {
        char n[32];
        snprintf(n, sizeof n, "%lld",
                 run ? (long long)json_integer_value(json_object_get(run, nums[i][0])) : 0LL);
        rc |= html_tpl(b, "<div><dt>{}</dt><dd data-run=\"{}\">{}</dd></div>", nums[i][1],
                       nums[i][0], n, NULL);
    }
    rc |= html_raw_trusted(b, "</dl>");
    return rc;
}

static void overview(struct capp_portal_context *pc, const struct kyc_portal *kp, sqlite3 *db)
{
    const char *install = pc->install.installed_app_id;
    json_t *counts = NULL, *hist = NULL, *runs = NULL;
    struct review_settings s = {.four_eyes = 1};
    int read = results_counts(db, install, &counts);
    if (read == 0)
        read = results_score_histogram(db, install, &hist);
    if (read == 0)
        read = results_runs(db, install, PORTAL_RUNS_CHARTED, &runs);
    if (read == 0)
        read = review_settings_get(db, install, &s);
    if (read) {
        json_decref(counts);
        json_decref(hist);
        json_decref(runs);
        error_page(pc, kp, 500, "Overview unavailable",
                   "The results could not be read. Try again.");
        return;
    }
    struct buf b;
    buf_init(&b, kp->page_max_bytes);
    int rc = page_open(&b, pc, "KYC review — overview", "overview");
    rc |= html_raw_trusted(
        &b, "<div class=\"page-head\"><h1>Overview</h1><div class=\"actions\">"
            "<button type=\"button\" class=\"btn\" data-run-now>Screen now</button>"
            "<a class=\"btn secondary\" href=\"/portal/api/export.csv\" download>Export CSV</a>"
            "</div></div>");
    rc |= count_cards(&b, counts);
    rc |= html_raw_trusted(&b, "<div class=\"grid2\"><section class=\"panel\" "
                               "aria-labelledby=\"h-hist\"><h2 id=\"h-hist\">Score distribution"
                               "</h2>");
    rc |= kyc_portal_chart_histogram(&b, hist);
    rc |= html_raw_trusted(&b, "</section><section class=\"panel\" aria-labelledby=\"h-runs\">"
                               "<h2 id=\"h-runs\">Identities screened per run</h2>");
    rc |= kyc_portal_chart_runs(&b, runs);
    rc |= html_raw_trusted(&b, "</section></div>");
    rc |= html_raw_trusted(&b, "<div class=\"grid2\"><section class=\"panel\" "
                               "aria-labelledby=\"h-run\"><h2 id=\"h-run\">Last run</h2>"
                               "<div data-progress>");
    rc |= run_facts(&b, json_array_get(runs, 0));
    rc |= html_raw_trusted(&b, "<ul class=\"notices\" data-notices></ul></div></section>");
    rc |= html_raw_trusted(
        &b, "<section class=\"panel\" aria-labelledby=\"h-policy\"><h2 id=\"h-policy\">"
            "Review policy</h2><form data-api=\"/portal/api/settings\" data-method=\"PUT\">"
            "<div class=\"check\"><input type=\"checkbox\" id=\"four-eyes\" name=\"four_eyes\"");
    rc |= html_raw_trusted(&b, s.four_eyes ? " checked>" : ">");
    rc |= html_raw_trusted(
        &b, "<label for=\"four-eyes\">Four-eyes review</label></div><p class=\"muted\" "
            "id=\"four-eyes-help\">When on, every rejection and every approval of a hit (or of a "
            "score of 0.80 or more) needs a second, different reviewer to confirm it.</p>"
            "<button type=\"submit\" class=\"btn secondary\">Save policy</button>"
            "<p class=\"form-status\" role=\"alert\"></p></form></section></div>");
    rc |= page_close(&b, pc);
    send(pc, 200, &b, rc);
    json_decref(counts);
    json_decref(hist);
    json_decref(runs);
}

/* ---- queue ---- */

static int select_field(struct buf *b, const char *name, const char *label, const char *value,
                        const char *const (*options)[2], size_t n)
{
    int rc = html_tpl(b,
                      "<div class=\"field\"><label for=\"f-{}\">{}</label>"
                      "<select id=\"f-{}\" name=\"{}\">",
                      name, label, name, name, NULL);
    for (size_t i = 0; i < n; i++) {
        int sel = value ? strcmp(value, options[i][0]) == 0 : options[i][0][0] == 0;
        rc |= html_tpl(b,
                       sel ? "<option value=\"{}\" selected>{}</option>"
                           : "<option value=\"{}\">{}</option>",
                       options[i][0], options[i][1], NULL);
    }
    rc |= html_raw_trusted(b, "</select></div>");
    return rc;
}

static int reasons_list(struct buf *b, const json_t *reasons)
{
    if (json_array_size(reasons) == 0)
        return html_raw_trusted(b, "<span class=\"muted\">—</span>");
    int rc = 0;
    size_t i;
    json_t *r;
    json_array_foreach(reasons, i, r)
    {
        rc |= html_tpl(b, "<span class=\"tag\">{}</span> ", json_string_value(r), NULL);
    }
    return rc;
}

static void queue(struct capp_portal_context *pc, const struct kyc_portal *kp, sqlite3 *db)
{
    struct results_filter f;
    const char *why = NULL;
    if (kyc_portal_filter(pc->req, &f, &why) != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "The filter parameter '%s' is not valid.", why);
        error_page(pc, kp, 400, "Invalid filter", msg);
        return;
    }
    json_t *list = NULL;
    int read = results_list(db, pc->install.installed_app_id, &f, &list, &why);
    if (read) {
        error_page(pc, kp, read == CAPP_EINVAL ? 400 : 500, "Queue unavailable",
                   read == CAPP_EINVAL ? "The filter is not valid."
                                       : "The results could not be read.");
        return;
    }
    static const char *const status_opts[][2] = {
        {"", "Any status"},      {"hit", "Hit"},     {"needs_review", "Needs review"},
        {"error", "Error"},      {"clear", "Clear"}, {"approved", "Approved"},
        {"rejected", "Rejected"}};
    static const char *const risk_opts[][2] = {
        {"", "Any risk"}, {"high", "High"}, {"medium", "Medium"}, {"low", "Low"}};
    static const char *const reason_opts[][2] = {{"", "Any reason"},
                                                 {"sanctions_match", "Sanctions match"},
                                                 {"dob_invalid", "Date of birth invalid"},
                                                 {"minor", "Minor"},
                                                 {"country_high_risk", "High-risk country"},
                                                 {"email_disposable", "Disposable email"},
                                                 {"pii_tokenized", "Tokenized PII"},
                                                 {"screening_error", "Screening error"}};
    static const char *const sort_opts[][2] = {
        {"score", "Score"}, {"updated", "Last update"}, {"name", "Name"}, {"status", "Status"}};
    static const char *const order_opts[][2] = {
        {"", "Default order"}, {"desc", "Descending"}, {"asc", "Ascending"}};
    struct buf b;
    buf_init(&b, kp->page_max_bytes);
    int rc = page_open(&b, pc, "KYC review — queue", "queue");
    rc |=
        html_raw_trusted(&b, "<div class=\"page-head\"><h1>Review queue</h1>"
                             "<div class=\"actions\"><a class=\"btn secondary\" download href=\"");
    rc |= export_href(&b, &f);
    rc |= html_raw_trusted(&b, "\">Export CSV</a></div></div>");
    rc |=
        html_tpl(&b,
                 "<form class=\"filters panel\" method=\"get\" action=\"/portal\" role=\"search\" "
                 "aria-label=\"Filter the queue\"><input type=\"hidden\" name=\"view\" "
                 "value=\"queue\"><div class=\"field grow\"><label for=\"f-q\">Search by name"
                 "</label><input type=\"search\" id=\"f-q\" name=\"q\" maxlength=\"128\" "
                 "value=\"{}\" placeholder=\"e.g. Ivanov\"></div>",
                 f.name, NULL);
    rc |= select_field(&b, "status", "Status", f.status, status_opts, COUNTOF(status_opts));
    rc |= select_field(&b, "risk", "Risk", f.risk, risk_opts, COUNTOF(risk_opts));
    rc |= select_field(&b, "reason", "Reason", f.reason, reason_opts, COUNTOF(reason_opts));
    rc |= select_field(&b, "sort", "Sort by", f.sort ? f.sort : "score", sort_opts,
                       COUNTOF(sort_opts));
    rc |= select_field(&b, "order", "Order", f.order, order_opts, COUNTOF(order_opts));
    rc |= html_raw_trusted(&b, "<div class=\"field\"><button type=\"submit\" class=\"btn\">Apply"
                               "</button></div></form>");
    json_int_t total = json_integer_value(json_object_get(list, "total"));
    json_t *items = json_object_get(list, "items");
    rc |= html_raw_trusted(&b, "<div class=\"panel flush\"><table class=\"data\" id=\"queue\">"
                               "<caption>");
    rc |= html_textf(&b, "%lld %s", (long long)total, total == 1 ? "identity" : "identities");
    if (total > 0)
        rc |= html_textf(&b, " — page %d of %lld", f.page,
                         (long long)((total + f.page_size - 1) / f.page_size));
    rc |= html_raw_trusted(&b, "</caption><thead><tr><th scope=\"col\">Name</th>"
                               "<th scope=\"col\">Type</th><th scope=\"col\">Status</th>"
                               "<th scope=\"col\">Risk</th><th scope=\"col\" class=\"num\">Score"
                               "</th><th scope=\"col\">Reasons</th><th scope=\"col\">Screened</th>"
                               "</tr></thead><tbody>");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        char score[32];
        snprintf(score, sizeof score, "%.2f", json_number_value(json_object_get(it, "score")));
        rc |= html_raw_trusted(&b, "<tr><th scope=\"row\"><a href=\"");
        rc |= identity_href(&b, str(it, "identity_id"));
        rc |= html_tpl(&b, "\">{}</a></th><td>{}</td><td>",
                       *str(it, "name") ? str(it, "name") : str(it, "identity_id"),
                       str(it, "identity_type"), NULL);
        rc |= badge(&b, str(it, "status"));
        rc |= html_raw_trusted(&b, "</td><td>");
        rc |= risk_badge(&b, str(it, "risk"));
        rc |= html_tpl(&b, "</td><td class=\"num\">{}</td><td>", score, NULL);
        rc |= reasons_list(&b, json_object_get(it, "reasons"));
        rc |= html_raw_trusted(&b, "</td><td>");
        rc |= when(&b, str(it, "screened_at"));
        rc |= html_raw_trusted(&b, "</td></tr>");
    }
    if (json_array_size(items) == 0)
        rc |= html_raw_trusted(&b, "<tr><td colspan=\"7\" class=\"empty\">No identity matches "
                                   "this filter.</td></tr>");
    rc |= html_raw_trusted(&b, "</tbody></table></div>");
    int pages = (int)((total + f.page_size - 1) / f.page_size);
    if (pages > 1) {
        rc |= html_raw_trusted(&b, "<nav class=\"pager\" aria-label=\"Pages\">");
        if (f.page > 1) {
            rc |= html_raw_trusted(&b, "<a rel=\"prev\" href=\"");
            rc |= queue_href(&b, &f, f.page - 1);
            rc |= html_raw_trusted(&b, "\">&larr; Previous</a>");
        }
        rc |= html_textf(&b, "Page %d of %d", f.page, pages);
        if (f.page < pages) {
            rc |= html_raw_trusted(&b, "<a rel=\"next\" href=\"");
            rc |= queue_href(&b, &f, f.page + 1);
            rc |= html_raw_trusted(&b, "\">Next &rarr;</a>");
        }
        rc |= html_raw_trusted(&b, "</nav>");
    }
    rc |= page_close(&b, pc);
    send(pc, 200, &b, rc);
    json_decref(list);
}

/* ---- identity ---- */

/* 1 when word (as written) normalises to a token found in tokens[] (with similarity sims[]);
 * *exact says whether that pair was exact. */
static int word_matches(const char *word, size_t len, const char *const *tokens, const double *sims,
                        size_t n, int *exact)
{
    struct screen_tokens t;
    if (len == 0 || screen_normalize(word, len, 0, &t) != 0)
        return 0;
    for (uint32_t k = 0; k < t.count; k++) {
        const char *tok = t.text + t.off[k];
        for (size_t i = 0; i < n; i++) {
            if (tokens[i] && strcmp(tokens[i], tok) == 0) {
                *exact = sims[i] >= 0.999;
                return 1;
            }
        }
    }
    return 0;
}

/* Writes name with every word whose normalised form is a paired token wrapped in <mark>. */
static int highlighted(struct buf *b, const char *name, const json_t *alignment, const char *side)
{
    int rc = 0;
    const char *tokens[SCREEN_MAX_PAIRS];
    double sims[SCREEN_MAX_PAIRS];
    size_t n = 0, i;
    json_t *p;
    json_array_foreach(alignment, i, p)
    {
        const char *q = json_string_value(json_object_get(p, "query"));
        const char *l = json_string_value(json_object_get(p, "list"));
        if (!q || !l || n == SCREEN_MAX_PAIRS)
            continue;
        tokens[n] = strcmp(side, "query") == 0 ? q : l;
        sims[n++] = json_number_value(json_object_get(p, "similarity"));
    }
    const char *s = name;
    while (*s) {
        size_t sp = strspn(s, " \t,;/()-");
        if (sp) {
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%.*s", (int)(sp < 63 ? sp : 63), s);
            rc |= html_text(b, tmp);
            s += sp;
            continue;
        }
        size_t w = strcspn(s, " \t,;/()-");
        char word[256];
        snprintf(word, sizeof word, "%.*s", (int)(w < 255 ? w : 255), s);
        int exact = 0;
        if (word_matches(word, strlen(word), tokens, sims, n, &exact)) {
            rc |= html_raw_trusted(b, exact ? "<mark class=\"exact\">" : "<mark class=\"fuzzy\">");
            rc |= html_text(b, word);
            rc |= html_raw_trusted(b, "</mark>");
        } else {
            rc |= html_text(b, word);
        }
        s += w;
    }
    return rc;
}

static const json_t *false_positive_of(const json_t *fps, const char *entry_id)
{
    size_t i;
    json_t *fp;
    json_array_foreach(fps, i, fp) if (strcmp(str(fp, "entry_id"), entry_id) == 0) return fp;
    return NULL;
}

static int note_field(struct buf *b, const char *id, const char *label)
{
    return html_tpl(b,
                    "<div class=\"field\"><label for=\"{}\">{}</label><textarea id=\"{}\" "
                    "name=\"note\" required maxlength=\"2000\" rows=\"2\"></textarea></div>",
                    id, label, id, NULL);
}

static int match_panel(struct buf *b, const json_t *ident, const json_t *m, size_t index,
                       const json_t *fps, const char *current_hash)
{
    int rc = 0;
    const json_t *align = json_object_get(m, "alignment");
    const char *entry_id = str(m, "entry_id");
    const json_t *fp = false_positive_of(fps, entry_id);
    int fp_current = fp && current_hash && strcmp(str(fp, "entry_hash"), current_hash) == 0;
    char hid[32];
    snprintf(hid, sizeof hid, "h-match-%zu", index + 1);
    rc |= html_raw_trusted(b, "<article class=\"panel match\" aria-labelledby=\"");
    rc |= html_text(b, hid);
    rc |= html_raw_trusted(b, "\"><header class=\"match-head\"><h3 id=\"");
    rc |= html_text(b, hid);
    rc |= html_raw_trusted(b, "\">");
    rc |= html_textf(b, "Match %zu: %s", index + 1, str(m, "name"));
    rc |= html_raw_trusted(b, "</h3><div class=\"score-line\"><span class=\"score\">");
    rc |= html_textf(b, "%.2f", json_number_value(json_object_get(m, "score")));
    rc |= html_raw_trusted(b, "</span>");
    rc |= badge(b, strcmp(str(m, "band"), "review") == 0 ? "needs_review" : str(m, "band"));
    if (fp_current)
        rc |= html_raw_trusted(b, "<span class=\"badge s-clear\">False positive</span>");
    rc |= html_raw_trusted(b, "</div></header>");
    rc |= html_raw_trusted(
        b, "<table class=\"side\"><caption>The identity beside the list entry</caption><thead><tr>"
           "<th scope=\"col\"><span class=\"sr-only\">Field</span></th><th scope=\"col\">Identity"
           "</th><th scope=\"col\">List entry</th></tr></thead><tbody><tr><th scope=\"row\">Name"
           "</th><td class=\"name\">");
    rc |= highlighted(b, str(ident, "name"), align, "query");
    rc |= html_raw_trusted(b, "</td><td class=\"name\">");
    rc |= highlighted(b, str(m, "matched_name"), align, "list");
    if (strcmp(str(m, "matched_name"), str(m, "name")) != 0) {
        rc |= html_raw_trusted(b, "<div class=\"muted small\">");
        rc |= html_text(b, str(m, "name_kind"));
        rc |= html_raw_trusted(b, " of ");
        rc |= html_text(b, str(m, "name"));
        rc |= html_raw_trusted(b, "</div>");
    }
    rc |= html_raw_trusted(b, "</td></tr><tr><th scope=\"row\">Type</th><td>");
    rc |= html_text(b, str(ident, "identity_type"));
    rc |= html_raw_trusted(b, "</td><td>");
    rc |= html_text(b, str(m, "type"));
    rc |= html_raw_trusted(
        b, "</td></tr><tr><th scope=\"row\">Source</th><td class=\"muted\">—</td><td>");
    rc |= html_text(b, str(m, "source"));
    rc |= html_raw_trusted(b, " <code>");
    rc |= html_text(b, entry_id);
    rc |= html_raw_trusted(
        b, "</code></td></tr><tr><th scope=\"row\">Programs</th><td class=\"muted\">—</td><td>");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(m, "programs"), i, v)
    {
        rc |= html_raw_trusted(b, "<span class=\"tag\">");
        rc |= html_text(b, json_string_value(v) ? json_string_value(v) : "");
        rc |= html_raw_trusted(b, "</span> ");
    }
    rc |= html_raw_trusted(b, "</td></tr></tbody></table>");
    rc |= html_raw_trusted(
        b, "<div class=\"grid2 tight\"><table class=\"data compact\"><caption>Token alignment "
           "(name score ");
    rc |= html_textf(b, "%.2f", json_number_value(json_object_get(m, "name_score")));
    rc |= html_raw_trusted(
        b, ")</caption><thead><tr><th scope=\"col\">Identity token</th><th scope=\"col\">List token"
           "</th><th scope=\"col\" class=\"num\">Similarity</th><th scope=\"col\" class=\"num\">"
           "Weight</th></tr></thead><tbody>");
    json_array_foreach(align, i, v)
    {
        const char *q = json_string_value(json_object_get(v, "query"));
        const char *l = json_string_value(json_object_get(v, "list"));
        double sim = json_number_value(json_object_get(v, "similarity"));
        rc |= html_raw_trusted(b, "<tr><td>");
        if (q && l) {
            rc |= html_raw_trusted(b, sim >= 0.999 ? "<mark class=\"exact\">"
                                                   : "<mark class=\"fuzzy\">");
            rc |= html_text(b, q);
            rc |= html_raw_trusted(b, "</mark>");
        } else {
            rc |= html_text(b, q ? q : "—");
        }
        rc |= html_raw_trusted(b, "</td><td>");
        if (q && l) {
            rc |= html_raw_trusted(b, sim >= 0.999 ? "<mark class=\"exact\">"
                                                   : "<mark class=\"fuzzy\">");
            rc |= html_text(b, l);
            rc |= html_raw_trusted(b, "</mark>");
        } else {
            rc |= html_text(b, l ? l : "—");
        }
        rc |= html_raw_trusted(b, "</td><td class=\"num\">");
        rc |= html_textf(b, "%.2f", sim);
        rc |= html_raw_trusted(b, "</td><td class=\"num\">");
        rc |= html_textf(b, "%.2f", json_number_value(json_object_get(v, "weight")));
        rc |= html_raw_trusted(b, "</td></tr>");
    }
    rc |= html_raw_trusted(
        b, "</tbody></table><table class=\"data compact\"><caption>Qualifiers</caption><thead><tr>"
           "<th scope=\"col\">Rule</th><th scope=\"col\" class=\"num\">Effect</th>"
           "<th scope=\"col\">Detail</th></tr></thead><tbody>");
    json_array_foreach(json_object_get(m, "qualifiers"), i, v)
    {
        double d = json_number_value(json_object_get(v, "delta"));
        rc |= html_raw_trusted(b, "<tr><td>");
        rc |= html_text(b, str(v, "rule"));
        rc |= html_raw_trusted(b, d < 0 ? "</td><td class=\"num neg\">"
                                        : "</td><td class=\"num pos\">");
        rc |= html_textf(b, "%+.2f", d);
        rc |= html_raw_trusted(b, "</td><td>");
        rc |= html_text(b, str(v, "detail"));
        rc |= html_raw_trusted(b, "</td></tr>");
    }
    if (json_array_size(json_object_get(m, "qualifiers")) == 0)
        rc |= html_raw_trusted(
            b, "<tr><td colspan=\"3\" class=\"empty\">No qualifier applied (name only).</td></tr>");
    rc |= html_raw_trusted(b, "</tbody></table></div>");
    if (fp_current) {
        rc |= html_raw_trusted(b, "<p class=\"fp-note\">Marked a false positive by ");
        rc |= html_text(b, str(fp, "marked_by"));
        rc |= html_raw_trusted(b, " on ");
        rc |= when(b, str(fp, "marked_at"));
        rc |= html_raw_trusted(b, ": &ldquo;");
        rc |= html_text(b, str(fp, "note"));
        rc |= html_raw_trusted(
            b, "&rdquo;. It will not be raised again unless the list entry changes.</p>");
    } else {
        if (fp)
            rc |= html_raw_trusted(
                b, "<p class=\"fp-note warn\">This match was marked a false positive, but the list "
                   "entry has changed since: review it again.</p>");
        char nid[48];
        snprintf(nid, sizeof nid, "fp-note-%zu", index + 1);
        rc |= html_raw_trusted(
            b, "<form class=\"inline-form\" data-api=\"/portal/api/false-positives\">"
               "<input type=\"hidden\" name=\"identity_id\" value=\"");
        rc |= html_text(b, str(ident, "identity_id"));
        rc |= html_raw_trusted(b, "\"><input type=\"hidden\" name=\"entry_id\" value=\"");
        rc |= html_text(b, entry_id);
        rc |= html_raw_trusted(b, "\">");
        rc |= note_field(b, nid, "Why is this not the same person or organization?");
        rc |= html_raw_trusted(
            b, "<button type=\"submit\" class=\"btn secondary\">Mark false positive</button>"
               "<p class=\"form-status\" role=\"alert\"></p></form>");
    }
    rc |= html_raw_trusted(b, "</article>");
    return rc;
}

struct history_ctx {
    struct buf *b;
    int rows;
};

static int history_row(const struct audit_record *r, void *ctx)
{
    int rc = 0;
    struct history_ctx *h = ctx;
    struct buf *b = h->b;
    json_t *p = json_loads(r->payload, 0, NULL);
    rc |= html_raw_trusted(b, "<tr><td>");
    rc |= when(b, r->ts);
    rc |= html_raw_trusted(b, "</td><td>");
    rc |= html_text(b, r->actor);
    rc |= html_raw_trusted(b, "</td><td>");
    rc |= html_text(b, r->kind);
    rc |= html_raw_trusted(b, "</td><td>");
    if (strcmp(r->kind, "status_change") == 0) {
        rc |= html_textf(b, "%s → %s", status_label(str(p, "from")), status_label(str(p, "to")));
    } else if (strcmp(r->kind, "decision") == 0) {
        rc |= html_textf(b, "%s (%s)", str(p, "action"),
                         *str(p, "state") ? str(p, "state") : "recorded");
        if (*str(p, "entry_id"))
            rc |= html_textf(b, " %s", str(p, "entry_id"));
        if (*str(p, "note")) {
            rc |= html_raw_trusted(b, "<div class=\"note\">");
            rc |= html_text(b, str(p, "note"));
            rc |= html_raw_trusted(b, "</div>");
        }
    } else {
        char *text = json_to_string_flags(p, JSON_COMPACT | JSON_SORT_KEYS);
        rc |= html_raw_trusted(b, "<code class=\"small\">");
        rc |= html_text(b, text ? text : "");
        rc |= html_raw_trusted(b, "</code>");
        free(text);
    }
    rc |= html_raw_trusted(b, "</td><td><code class=\"small\" title=\"record hash\">");
    rc |= html_textf(b, "#%lld %.12s", (long long)r->seq, r->hash);
    rc |= html_raw_trusted(b, "</code></td></tr>");
    json_decref(p);
    h->rows++;
    return rc;
}

static int fact(struct buf *b, const char *label, const char *value)
{
    return html_tpl(b, "<div><dt>{}</dt><dd>{}</dd></div>", label, value && *value ? value : "—",
                    NULL);
}

/* 1 when the stored identity fields mark key as a token (never shown: not detokenized). */
static int field_tokenized(const json_t *fields, const char *key)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(fields, "tokenized"), i, v)
    {
        if (json_string_value(v) && strcmp(json_string_value(v), key) == 0)
            return 1;
    }
    return strncmp(str(fields, key), "FPT:", 4) == 0;
}

/* The identity's own fields as stored with its result (results_identity_fields). */
static int identity_data(struct buf *b, const json_t *fields)
{
    int rc = 0;
    static const char *const rows[][2] = {
        {"identity_type", "Identity type"},
        {"dob", "Date of birth"},
        {"nationality", "Nationality"},
        {"country", "Country"},
        {"street", "Street"},
        {"city", "City"},
        {"state", "State"},
        {"post_code", "Post code"},
        {"email_address", "Email"},
        {"phone_number", "Phone"},
        {"created_at", "Created in Blnk"},
    };
    rc |= html_raw_trusted(
        b, "<section class=\"panel flush\" aria-labelledby=\"h-identity-data\"><table "
           "class=\"data\" id=\"identity-data\"><caption id=\"h-identity-data\">Identity data"
           "</caption><tbody>");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *v = str(fields, rows[i][0]);
        rc |= html_raw_trusted(b, "<tr><th scope=\"row\">");
        rc |= html_text(b, rows[i][1]);
        rc |= html_raw_trusted(b, "</th><td data-field=\"");
        rc |= html_text(b, rows[i][0]);
        rc |= html_raw_trusted(b, "\">");
        if (field_tokenized(fields, rows[i][0]))
            rc |= html_raw_trusted(b, "<span class=\"tag\">tokenized</span>");
        else
            rc |= html_text(b, *v ? v : "—");
        rc |= html_raw_trusted(b, "</td></tr>");
    }
    rc |= html_raw_trusted(b, "</tbody></table></section>");
    return rc;
}

static int pending_panel(struct buf *b, const struct capp_portal_context *pc, const json_t *pending)
{
    int rc = 0;
    char path[96];
    json_int_t id = json_integer_value(json_object_get(pending, "decision_id"));
    int own = pc->session.user_id[0] && strcmp(pc->session.user_id, str(pending, "maker")) == 0;
    rc |= html_raw_trusted(
        b, "<section class=\"panel pending\" aria-labelledby=\"h-pending\" id=\"pending\">"
           "<h2 id=\"h-pending\">Waiting for a second reviewer</h2><p>");
    rc |= html_textf(b, "%s proposed to %s this identity on ", str(pending, "maker"),
                     str(pending, "action"));
    rc |= when(b, str(pending, "made_at"));
    rc |= html_raw_trusted(b, ":</p><blockquote>");
    rc |= html_text(b, str(pending, "maker_note"));
    rc |= html_raw_trusted(b, "</blockquote>");
    if (own)
        rc |= html_raw_trusted(
            b, "<p class=\"muted\">You proposed this decision: a different reviewer must confirm "
               "it. You can withdraw it.</p>");
    snprintf(path, sizeof path, "/portal/api/decisions/%lld/", (long long)id);
    rc |= html_raw_trusted(b, "<form data-api=\"");
    rc |= html_text(b, path);
    rc |= html_raw_trusted(b, "\" data-action-path>");
    rc |= note_field(b, "pending-note", own ? "Note (why you withdraw it)" : "Note (required)");
    rc |= html_raw_trusted(b, "<div class=\"button-row\">");
    if (!own)
        rc |= html_raw_trusted(
            b, "<button type=\"submit\" class=\"btn\" name=\"op\" value=\"confirm\" "
               "data-confirm-button>Confirm</button>");
    rc |= html_raw_trusted(
        b, "<button type=\"submit\" class=\"btn secondary\" name=\"op\" value=\"cancel\">");
    rc |= html_text(b, own ? "Withdraw" : "Decline");
    rc |= html_raw_trusted(
        b, "</button></div><p class=\"form-status\" role=\"alert\"></p></form></section>");
    return rc;
}

static int decision_panel(struct buf *b, const json_t *ident, int four_eyes_on,
                          const struct capp_portal_context *pc, const json_t *pending)
{
    int rc = 0;
    const char *status = str(ident, "status");
    int decided = strcmp(status, RESULTS_APPROVED) == 0 || strcmp(status, RESULTS_REJECTED) == 0;
    rc |= html_raw_trusted(
        b, "<section class=\"panel\" aria-labelledby=\"h-decide\"><h2 id=\"h-decide\">Decision"
           "</h2>");
    if (*str(ident, "removed_at")) {
        rc |= html_raw_trusted(
            b, "<p class=\"muted\" data-removed>This identity was deleted in Blnk (noticed ");
        rc |= when(b, str(ident, "removed_at"));
        rc |= html_raw_trusted(
            b, "). Its result and history are kept for the record; it can no longer be decided."
               "</p></section>");
        return rc;
    }
    if (pending) {
        rc |= html_raw_trusted(
            b, "<p class=\"muted\">A decision is waiting for a second reviewer (above).</p>"
               "</section>");
        return rc;
    }
    rc |= html_raw_trusted(b, "<form id=\"decision-form\" data-api=\"/portal/api/decisions\">"
                              "<input type=\"hidden\" name=\"identity_id\" value=\"");
    rc |= html_text(b, str(ident, "identity_id"));
    rc |= html_raw_trusted(b, "\">");
    rc |= note_field(b, "decision-note", "Note (required)");
    rc |= html_raw_trusted(b, "<div class=\"button-row\">");
    if (strcmp(status, RESULTS_APPROVED) != 0)
        rc |= html_raw_trusted(
            b, "<button type=\"submit\" class=\"btn ok\" name=\"action\" value=\"approve\" "
               "aria-keyshortcuts=\"a\">Approve <kbd>A</kbd></button>");
    if (strcmp(status, RESULTS_REJECTED) != 0)
        rc |= html_raw_trusted(
            b, "<button type=\"submit\" class=\"btn danger\" name=\"action\" value=\"reject\" "
               "aria-keyshortcuts=\"r\">Reject <kbd>R</kbd></button>");
    if (decided)
        rc |= html_raw_trusted(
            b, "<button type=\"submit\" class=\"btn secondary\" name=\"action\" value=\"reopen\">"
               "Reopen</button>");
    rc |= html_raw_trusted(
        b, "</div><p class=\"form-status\" role=\"alert\"></p></form><p class=\"muted small\">");
    if (four_eyes_on)
        rc |= html_raw_trusted(
            b, "Four-eyes review is on: rejections, and approvals of a hit or a score of 0.80 or "
               "more, wait for a second reviewer.");
    else
        rc |= html_raw_trusted(b, "Four-eyes review is off: every decision applies at once.");
    if (!pc->session.user_id[0] && four_eyes_on)
        rc |= html_raw_trusted(b, " This launch carries no user, so those decisions are refused.");
    rc |= html_raw_trusted(
        b,
        " Keys: <kbd>A</kbd> approve, <kbd>R</kbd> reject, <kbd>N</kbd> next identity, "
        "<kbd>Ctrl</kbd>+<kbd>Enter</kbd> submit the note, <kbd>Esc</kbd> cancel.</p></section>");
    return rc;
}

/* The next identity to review: the top of hit, then needs_review, other than this one. */
static void next_identity(sqlite3 *db, const char *install, const char *current, char *out,
                          size_t cap)
{
    out[0] = 0;
    const char *order[] = {RESULTS_HIT, RESULTS_NEEDS_REVIEW};
    for (size_t k = 0; k < 2 && !out[0]; k++) {
        struct results_filter f = {.status = order[k], .page = 1, .page_size = 2};
        json_t *list = NULL;
        const char *why;
        if (results_list(db, install, &f, &list, &why) != 0)
            continue;
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(list, "items"), i, it)
        {
            if (strcmp(str(it, "identity_id"), current) != 0) {
                snprintf(out, cap, "%s", str(it, "identity_id"));
                break;
            }
        }
        json_decref(list);
    }
}

static void identity(struct capp_portal_context *pc, const struct kyc_portal *kp, sqlite3 *db)
{
    const char *install = pc->install.installed_app_id;
    const char *id = http_query(pc->req, "id");
    if (!id || !json_is_valid_id(id, CAPP_MAX_ID_BYTES)) {
        error_page(pc, kp, 400, "Invalid identity", "The identity id in the address is not valid.");
        return;
    }
    json_t *ident = NULL, *pending = NULL, *fps = NULL;
    struct review_settings s = {.four_eyes = 1};
    int read = results_get(db, install, id, &ident);
    if (read == CAPP_ENOTFOUND) {
        error_page(pc, kp, 404, "Identity not found",
                   "No screened identity with that id exists for this install.");
        return;
    }
    if (read == 0)
        read = review_pending(db, install, id, &pending);
    if (read == 0)
        read = review_false_positives(db, install, id, &fps);
    if (read == 0)
        read = review_settings_get(db, install, &s);
    if (read) {
        json_decref(ident);
        json_decref(pending);
        json_decref(fps);
        error_page(pc, kp, 500, "Identity unavailable",
                   "The identity could not be read. Try again.");
        return;
    }
    char next[STORE_ID_CAP];
    next_identity(db, install, id, next, sizeof next);
    struct buf b;
    buf_init(&b, kp->page_max_bytes);
    const char *name = *str(ident, "name") ? str(ident, "name") : id;
    int rc = page_open(&b, pc, "KYC review — identity", "queue");
    rc |= html_raw_trusted(
        &b, "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/portal?view=queue\">Queue"
            "</a> / <span aria-current=\"page\">");
    rc |= html_text(&b, name);
    rc |= html_raw_trusted(&b, "</span></nav><div class=\"page-head\"><div><h1>");
    rc |= html_text(&b, name);
    rc |= html_raw_trusted(&b, "</h1><div class=\"head-badges\">");
    rc |= badge(&b, str(ident, "status"));
    rc |= risk_badge(&b, str(ident, "risk"));
    rc |= html_raw_trusted(&b, "<span class=\"score\">Score ");
    rc |= html_textf(&b, "%.2f", json_number_value(json_object_get(ident, "score")));
    rc |= html_raw_trusted(
        &b, "</span></div></div><div class=\"actions\"><a class=\"btn secondary\" download "
            "href=\"/portal/api/identities/");
    rc |= html_text(&b, id);
    rc |= html_raw_trusted(&b, "/dossier\">Export dossier</a>");
    if (next[0]) {
        rc |= html_raw_trusted(
            &b, "<a class=\"btn secondary\" id=\"next-identity\" aria-keyshortcuts=\"n\" href=\"");
        rc |= identity_href(&b, next);
        rc |= html_raw_trusted(&b, "\">Next <kbd>N</kbd></a>");
    }
    rc |= html_raw_trusted(&b, "</div></div>");
    if (pending)
        rc |= pending_panel(&b, pc, pending);
    rc |= html_raw_trusted(
        &b,
        "<div class=\"grid2 identity-top\"><section class=\"panel\" aria-labelledby=\"h-facts\">"
        "<h2 id=\"h-facts\">Identity</h2><dl class=\"facts-grid\">");
    rc |= fact(&b, "Identity ID", id);
    rc |= fact(&b, "Type", str(ident, "identity_type"));
    rc |= fact(&b, "Status", status_label(str(ident, "status")));
    rc |= fact(&b, "Computed by screening", status_label(str(ident, "computed_status")));
    rc |= fact(&b, "Risk", str(ident, "risk"));
    rc |= fact(&b, "Screening", str(ident, "screening"));
    rc |= fact(&b, "Decided by", str(ident, "decided_by"));
    rc |= fact(&b, "Engine", str(ident, "engine_version"));
    rc |= fact(&b, "Write-back", str(ident, "writeback"));
    rc |= fact(&b, "Alert", str(ident, "alert"));
    if (*str(ident, "removed_at")) {
        rc |= html_raw_trusted(&b, "<div><dt>Deleted in Blnk</dt><dd>");
        rc |= when(&b, str(ident, "removed_at"));
        rc |= html_raw_trusted(&b, "</dd></div>");
    }
    rc |= html_raw_trusted(&b, "<div><dt>Screened</dt><dd>");
    rc |= when(&b, str(ident, "screened_at"));
    rc |= html_raw_trusted(&b, "</dd></div></dl></section>");
    rc |= decision_panel(&b, ident, s.four_eyes, pc, pending);
    rc |= html_raw_trusted(&b, "</div>");
    /* the identity's own fields beside the checks */
    rc |= html_raw_trusted(&b, "<div class=\"grid2\">");
    rc |= identity_data(&b, json_object_get(ident, "identity"));
    /* checks */
    rc |= html_raw_trusted(
        &b, "<section class=\"panel flush\" aria-labelledby=\"h-checks\"><table class=\"data\">"
            "<caption id=\"h-checks\">Checks and reasons</caption><thead><tr><th scope=\"col\">"
            "Reason</th><th scope=\"col\">Field</th><th scope=\"col\">Detail</th></tr></thead>"
            "<tbody>");
    size_t i;
    json_t *v;
    json_t *reasons = json_object_get(ident, "reasons");
    json_array_foreach(json_object_get(ident, "findings"), i, v)
    {
        rc |= html_raw_trusted(&b, "<tr><td><span class=\"tag\">");
        rc |= html_text(&b, str(v, "reason"));
        rc |= html_raw_trusted(&b, "</span></td><td>");
        rc |= html_text(&b, str(v, "field"));
        rc |= html_raw_trusted(&b, "</td><td>");
        rc |= html_text(&b, str(v, "detail"));
        rc |= html_raw_trusted(&b, "</td></tr>");
    }
    json_array_foreach(reasons, i, v)
    {
        const char *r = json_string_value(v) ? json_string_value(v) : "";
        if (strcmp(r, "sanctions_match") != 0 && strcmp(r, "screening_error") != 0)
            continue;
        rc |= html_raw_trusted(&b, "<tr><td><span class=\"tag\">");
        rc |= html_text(&b, r);
        rc |= html_raw_trusted(&b, "</span></td><td>name</td><td>");
        rc |= html_text(&b, strcmp(r, "sanctions_match") == 0
                                ? "The name scored in the review or hit band "
                                  "against a sanctions list entry (below)."
                                : "Screening failed; the identity is re-screened "
                                  "on the next run.");
        rc |= html_raw_trusted(&b, "</td></tr>");
    }
    if (json_array_size(json_object_get(ident, "findings")) == 0 && json_array_size(reasons) == 0)
        rc |= html_raw_trusted(
            &b, "<tr><td colspan=\"3\" class=\"empty\">Every check passed.</td></tr>");
    rc |= html_raw_trusted(&b, "</tbody></table></section></div>");
    /* matches */
    json_t *matches = json_object_get(ident, "matches");
    rc |= html_raw_trusted(
        &b, "<section aria-labelledby=\"h-matches\"><h2 id=\"h-matches\">Sanctions matches</h2>");
    if (json_array_size(matches) == 0)
        rc |= html_raw_trusted(
            &b, "<p class=\"panel muted\">No candidate from the sanctions lists.</p>");
    json_array_foreach(matches, i, v)
    {
        char hash[65];
        const char *h = review_list_entry_hash(db, str(v, "entry_id"), hash) == 0 ? hash : NULL;
        rc |= match_panel(&b, ident, v, i, fps, h);
    }
    rc |= html_raw_trusted(&b, "</section>");
    /* history */
    rc |= html_raw_trusted(
        &b, "<section class=\"panel flush\" aria-labelledby=\"h-history\"><table class=\"data\" "
            "id=\"history\"><caption id=\"h-history\">History (audit trail)</caption><thead><tr>"
            "<th scope=\"col\">When</th><th scope=\"col\">Who</th><th scope=\"col\">What</th>"
            "<th scope=\"col\">Detail</th><th scope=\"col\">Record</th></tr></thead><tbody>");
    struct history_ctx hc = {.b = &b};
    audit_history(db, install, id, history_row, &hc); /* stops early once the page failed */
    if (hc.rows == 0)
        rc |= html_raw_trusted(
            &b, "<tr><td colspan=\"5\" class=\"empty\">No audit records yet.</td></tr>");
    rc |= html_raw_trusted(&b, "</tbody></table></section>");
    rc |= page_close(&b, pc);
    send(pc, 200, &b, rc);
    json_decref(ident);
    json_decref(pending);
    json_decref(fps);
}

void kyc_portal_page(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_portal *kp = ctx;
    const char *view = http_query(pc->req, "view");
    sqlite3 *db = kyc_portal_db(kp);
    if (!db) {
        error_page(pc, kp, 503, "Temporarily unavailable", "The results database is unavailable.");
        return;
    }
    if (!view || !*view || strcmp(view, "overview") == 0)
        overview(pc, kp, db);
    else if (strcmp(view, "queue") == 0)
        queue(pc, kp, db);
    else if (strcmp(view, "identity") == 0)
        identity(pc, kp, db);
    else
        error_page(pc, kp, 400, "Unknown view",
                   "The view in the address is not one of overview, "
                   "queue or identity.");
}
