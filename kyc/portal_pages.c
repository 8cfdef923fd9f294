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
 * Every parameter is validated; a bad one gives a 400 page naming it. All text goes through
 * html_text/html_textf; html_raw_markup only writes this file's literal markup. The page has no
 * inline script or style (the CSP forbids both): behaviour lives in /portal/static/app.js,
 * which finds its hooks through data-* attributes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#define H(b, s) html_raw_markup((b), (s))
#define T(b, s) html_text((b), (s))

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

static void badge(struct buf *b, const char *status)
{
    H(b, "<span class=\"badge s-");
    T(b, status);
    H(b, "\">");
    T(b, status_label(status));
    H(b, "</span>");
}

static void risk_badge(struct buf *b, const char *risk)
{
    H(b, "<span class=\"risk r-");
    T(b, risk);
    H(b, "\">");
    T(b, *risk ? risk : "—");
    H(b, "</span>");
}

/* "2026-03-01T12:34:56.789Z" → "2026-03-01 12:34 UTC" */
static void when(struct buf *b, const char *ts)
{
    if (!ts || strlen(ts) < 16) {
        T(b, "—");
        return;
    }
    char out[32];
    snprintf(out, sizeof out, "%.10s %.5s UTC", ts, ts + 11);
    H(b, "<time datetime=\"");
    T(b, ts);
    H(b, "\">");
    T(b, out);
    H(b, "</time>");
}

/* Percent-encodes s for a query value into b (unreserved characters kept). */
static void url_value(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
            buf_append(b, s, 1);
        else
            buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
}

/* The filter as "&key=value" pairs (percent-encoded, not yet HTML-escaped) into u. */
static void filter_query(struct buf *u, const struct results_filter *f)
{
    const char *keys[] = {"status", "risk", "reason", "q", "sort", "order"};
    const char *vals[] = {f->status, f->risk, f->reason, f->name, f->sort, f->order};
    for (size_t i = 0; i < 6; i++) {
        if (vals[i] && *vals[i]) {
            buf_printf(u, "&%s=", keys[i]);
            url_value(u, vals[i]);
        }
    }
}

/* A link's href for the queue with filter f and page (escaped into b). */
static void queue_href(struct buf *b, const struct results_filter *f, int page)
{
    struct buf u;
    buf_init(&u, 4096);
    buf_append_str(&u, "/portal?view=queue");
    filter_query(&u, f);
    if (page > 1)
        buf_printf(&u, "&page=%d", page);
    T(b, u.data);
    buf_free(&u);
}

/* The CSV export's href for filter f (escaped into b). */
static void export_href(struct buf *b, const struct results_filter *f)
{
    struct buf u;
    buf_init(&u, 4096);
    filter_query(&u, f);
    T(b, "/portal/api/export.csv");
    if (u.len) {
        T(b, "?");
        T(b, u.data + 1);
    }
    buf_free(&u);
}

static void identity_href(struct buf *b, const char *id)
{
    struct buf u;
    buf_init(&u, 1024);
    buf_append_str(&u, "/portal?view=identity&id=");
    url_value(&u, id);
    T(b, u.data);
    buf_free(&u);
}

/* ---- the frame of every view ---- */

static void page_open(struct buf *b, const struct capp_portal_context *pc, const char *title,
                      const char *view)
{
    portal_page_begin(b, title, pc);
    H(b, "<a class=\"skip\" href=\"#main\">Skip to content</a><header class=\"top\">"
         "<div class=\"brand\"><span class=\"logo\" aria-hidden=\"true\">K</span>KYC review</div>"
         "<nav aria-label=\"Sections\">");
    static const char *const nav[][3] = {{"overview", "/portal", "Overview"},
                                         {"queue", "/portal?view=queue", "Queue"}};
    for (size_t i = 0; i < 2; i++) {
        H(b, "<a href=\"");
        T(b, nav[i][1]);
        H(b, strcmp(view, nav[i][0]) == 0 ? "\" aria-current=\"page\">" : "\">");
        T(b, nav[i][2]);
        H(b, "</a>");
    }
    /* No installed_app_id, organization or instance ID on the page (spec D1): the reviewer
     * needs none of them, and with them a page shown or leaked would hand over what a forged
     * portal-generator call needs. */
    H(b, "</nav>");
    kyc_portal_reviewer_bar(b, pc); /* sign in to decide (kyc/portal_reviewers.c) */
    H(b, "<main id=\"main\" tabindex=\"-1\">");
}

/* The session's facts the reviewer can act on (IDs are left out: see page_open). */
static void session_footer(struct buf *b, const struct capp_portal_context *pc)
{
    char expires[40];
    clock_format_rfc3339(pc->session.expires_at_ms, expires, sizeof expires);
    H(b, "<footer class=\"session\"><span>Permissions ");
    for (size_t i = 0; i < pc->install.permission_count; i++) {
        if (i)
            T(b, ", ");
        T(b, pc->install.permissions[i]);
    }
    H(b, "</span><span>Session ends ");
    when(b, expires);
    H(b, "</span></footer>");
}

static void page_close(struct buf *b, const struct capp_portal_context *pc)
{
    H(b, "</main>");
    session_footer(b, pc);
    H(b, "<div id=\"toast\" class=\"toast\" role=\"status\" aria-live=\"polite\"></div>");
    portal_page_end(b);
}

static void send(struct capp_portal_context *pc, unsigned status, struct buf *b)
{
    portal_send_html(pc->app, pc->req, status, b);
    buf_free(b);
}

static void error_page(struct capp_portal_context *pc, unsigned status, const char *title,
                       const char *message)
{
    struct buf b;
    buf_init(&b, PORTAL_PAGE_MAX_BYTES);
    page_open(&b, pc, title, "");
    H(&b, "<section class=\"panel notice-panel\"><h1>");
    T(&b, title);
    H(&b, "</h1><p>");
    T(&b, message);
    H(&b, "</p><p><a href=\"/portal\">Back to the overview</a></p></section>");
    page_close(&b, pc);
    send(pc, status, &b);
}

/* ---- overview ---- */

static void count_cards(struct buf *b, const json_t *counts)
{
    H(b, "<section aria-labelledby=\"h-status\"><h2 id=\"h-status\">Identities by status</h2>"
         "<ul class=\"cards\">");
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        json_int_t n = json_integer_value(json_object_get(counts, statuses[i][0]));
        H(b, "<li><a class=\"card s-");
        T(b, statuses[i][0]);
        H(b, "\" href=\"/portal?view=queue&amp;status=");
        T(b, statuses[i][0]);
        H(b, "\"><span class=\"card-label\">");
        T(b, statuses[i][1]);
        H(b, "</span><span class=\"card-value\" data-count=\"");
        T(b, statuses[i][0]);
        H(b, "\">");
        html_textf(b, "%lld", (long long)n);
        H(b, "</span></a></li>");
    }
    H(b, "</ul><p class=\"muted\">");
    html_textf(b, "%lld identities screened in total.",
               (long long)json_integer_value(json_object_get(counts, "total")));
    json_int_t removed = json_integer_value(json_object_get(counts, "removed"));
    if (removed > 0)
        html_textf(b,
                   " %lld deleted in Blnk since they were screened: kept for the record, not in "
                   "the queue.",
                   (long long)removed);
    H(b, "</p></section>");
}

static void run_facts(struct buf *b, const json_t *run)
{
    static const char *const nums[][2] = {
        {"fetched", "Fetched"},
        {"screened", "Screened"},
        {"unchanged", "Unchanged"},
        {"written", "Written back"},
        {"alerts_created", "Alerts raised"},
        {"errors", "Errors"},
    };
    H(b, "<dl class=\"facts-grid\" id=\"run-facts\"><div><dt>State</dt><dd data-run=\"state\">");
    T(b, run ? str(run, "state") : "no run yet");
    H(b, "</dd></div><div><dt>Trigger</dt><dd data-run=\"trigger\">");
    T(b, run ? str(run, "trigger") : "—");
    H(b, "</dd></div><div><dt>Started</dt><dd data-run=\"started_at\">");
    when(b, run ? str(run, "started_at") : NULL);
    H(b, "</dd></div>");
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        H(b, "<div><dt>");
        T(b, nums[i][1]);
        H(b, "</dt><dd data-run=\"");
        T(b, nums[i][0]);
        H(b, "\">");
        html_textf(b, "%lld",
                   run ? (long long)json_integer_value(json_object_get(run, nums[i][0])) : 0LL);
        H(b, "</dd></div>");
    }
    H(b, "</dl>");
}

static void overview(struct capp_portal_context *pc, struct kyc_portal *kp, sqlite3 *db)
{
    const char *install = pc->install.installed_app_id;
    json_t *counts = NULL, *hist = NULL, *runs = NULL;
    struct review_settings s = {.four_eyes = 1};
    int rc = results_counts(db, install, &counts);
    if (rc == 0)
        rc = results_score_histogram(db, install, &hist);
    if (rc == 0)
        rc = results_runs(db, install, PORTAL_RUNS_CHARTED, &runs);
    if (rc == 0)
        rc = review_settings_get(db, install, &s);
    if (rc) {
        json_decref(counts);
        json_decref(hist);
        json_decref(runs);
        error_page(pc, 500, "Overview unavailable", "The results could not be read. Try again.");
        return;
    }
    (void)kp;
    struct buf b;
    buf_init(&b, PORTAL_PAGE_MAX_BYTES);
    page_open(&b, pc, "KYC review — overview", "overview");
    H(&b, "<div class=\"page-head\"><h1>Overview</h1><div class=\"actions\">"
          "<button type=\"button\" class=\"btn\" data-run-now>Screen now</button>"
          "<a class=\"btn secondary\" href=\"/portal/api/export.csv\" download>Export CSV</a>"
          "</div></div>");
    count_cards(&b, counts);
    H(&b, "<div class=\"grid2\"><section class=\"panel\" aria-labelledby=\"h-hist\">"
          "<h2 id=\"h-hist\">Score distribution</h2>");
    kyc_portal_chart_histogram(&b, hist);
    H(&b, "</section><section class=\"panel\" aria-labelledby=\"h-runs\">"
          "<h2 id=\"h-runs\">Identities screened per run</h2>");
    kyc_portal_chart_runs(&b, runs);
    H(&b, "</section></div>");
    H(&b, "<div class=\"grid2\"><section class=\"panel\" aria-labelledby=\"h-run\">"
          "<h2 id=\"h-run\">Last run</h2><div data-progress>");
    run_facts(&b, json_array_get(runs, 0));
    H(&b, "<ul class=\"notices\" data-notices></ul></div></section>");
    H(&b, "<section class=\"panel\" aria-labelledby=\"h-policy\"><h2 id=\"h-policy\">"
          "Review policy</h2><form data-api=\"/portal/api/settings\" data-method=\"PUT\">"
          "<div class=\"check\"><input type=\"checkbox\" id=\"four-eyes\" name=\"four_eyes\"");
    H(&b, s.four_eyes ? " checked>" : ">");
    H(&b, "<label for=\"four-eyes\">Four-eyes review</label></div><p class=\"muted\" "
          "id=\"four-eyes-help\">When on, every rejection and every approval of a hit (or of a "
          "score of 0.80 or more) needs a second, different reviewer to confirm it.</p>"
          "<button type=\"submit\" class=\"btn secondary\">Save policy</button>"
          "<p class=\"form-status\" role=\"alert\"></p></form></section></div>");
    page_close(&b, pc);
    send(pc, 200, &b);
    json_decref(counts);
    json_decref(hist);
    json_decref(runs);
}

/* ---- queue ---- */

static void select_field(struct buf *b, const char *name, const char *label, const char *value,
                         const char *const (*options)[2], size_t n)
{
    H(b, "<div class=\"field\"><label for=\"f-");
    T(b, name);
    H(b, "\">");
    T(b, label);
    H(b, "</label><select id=\"f-");
    T(b, name);
    H(b, "\" name=\"");
    T(b, name);
    H(b, "\">");
    for (size_t i = 0; i < n; i++) {
        int sel = value ? strcmp(value, options[i][0]) == 0 : options[i][0][0] == 0;
        H(b, "<option value=\"");
        T(b, options[i][0]);
        H(b, sel ? "\" selected>" : "\">");
        T(b, options[i][1]);
        H(b, "</option>");
    }
    H(b, "</select></div>");
}

static void reasons_list(struct buf *b, const json_t *reasons)
{
    size_t i;
    json_t *r;
    if (json_array_size(reasons) == 0) {
        H(b, "<span class=\"muted\">—</span>");
        return;
    }
    json_array_foreach(reasons, i, r)
    {
        H(b, "<span class=\"tag\">");
        T(b, json_string_value(r) ? json_string_value(r) : "");
        H(b, "</span> ");
    }
}

static void queue(struct capp_portal_context *pc, sqlite3 *db)
{
    struct results_filter f;
    const char *why = NULL;
    if (kyc_portal_filter(pc->req, &f, &why) != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "The filter parameter '%s' is not valid.", why);
        error_page(pc, 400, "Invalid filter", msg);
        return;
    }
    json_t *list = NULL;
    int rc = results_list(db, pc->install.installed_app_id, &f, &list, &why);
    if (rc) {
        error_page(pc, rc == CAPP_EINVAL ? 400 : 500, "Queue unavailable",
                   rc == CAPP_EINVAL ? "The filter is not valid."
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
    buf_init(&b, PORTAL_PAGE_MAX_BYTES);
    page_open(&b, pc, "KYC review — queue", "queue");
    H(&b, "<div class=\"page-head\"><h1>Review queue</h1><div class=\"actions\">"
          "<a class=\"btn secondary\" download href=\"");
    export_href(&b, &f);
    H(&b, "\">Export CSV</a></div></div>");
    H(&b, "<form class=\"filters panel\" method=\"get\" action=\"/portal\" role=\"search\" "
          "aria-label=\"Filter the queue\"><input type=\"hidden\" name=\"view\" value=\"queue\">"
          "<div class=\"field grow\"><label for=\"f-q\">Search by name</label>"
          "<input type=\"search\" id=\"f-q\" name=\"q\" maxlength=\"128\" value=\"");
    T(&b, f.name ? f.name : "");
    H(&b, "\" placeholder=\"e.g. Ivanov\"></div>");
    select_field(&b, "status", "Status", f.status, status_opts, 7);
    select_field(&b, "risk", "Risk", f.risk, risk_opts, 4);
    select_field(&b, "reason", "Reason", f.reason, reason_opts, 8);
    select_field(&b, "sort", "Sort by", f.sort ? f.sort : "score", sort_opts, 4);
    select_field(&b, "order", "Order", f.order, order_opts, 3);
    H(&b, "<div class=\"field\"><button type=\"submit\" class=\"btn\">Apply</button></div>"
          "</form>");
    json_int_t total = json_integer_value(json_object_get(list, "total"));
    json_t *items = json_object_get(list, "items");
    H(&b, "<div class=\"panel flush\"><table class=\"data\" id=\"queue\"><caption>");
    html_textf(&b, "%lld %s", (long long)total, total == 1 ? "identity" : "identities");
    if (total > 0)
        html_textf(&b, " — page %d of %lld", f.page,
                   (long long)((total + f.page_size - 1) / f.page_size));
    H(&b, "</caption><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Type</th>"
          "<th scope=\"col\">Status</th><th scope=\"col\">Risk</th>"
          "<th scope=\"col\" class=\"num\">Score</th><th scope=\"col\">Reasons</th>"
          "<th scope=\"col\">Screened</th></tr></thead><tbody>");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        H(&b, "<tr><th scope=\"row\"><a href=\"");
        identity_href(&b, str(it, "identity_id"));
        H(&b, "\">");
        T(&b, *str(it, "name") ? str(it, "name") : str(it, "identity_id"));
        H(&b, "</a></th><td>");
        T(&b, str(it, "identity_type"));
        H(&b, "</td><td>");
        badge(&b, str(it, "status"));
        H(&b, "</td><td>");
        risk_badge(&b, str(it, "risk"));
        H(&b, "</td><td class=\"num\">");
        html_textf(&b, "%.2f", json_number_value(json_object_get(it, "score")));
        H(&b, "</td><td>");
        reasons_list(&b, json_object_get(it, "reasons"));
        H(&b, "</td><td>");
        when(&b, str(it, "screened_at"));
        H(&b, "</td></tr>");
    }
    if (json_array_size(items) == 0)
        H(&b, "<tr><td colspan=\"7\" class=\"empty\">No identity matches this filter.</td></tr>");
    H(&b, "</tbody></table></div>");
    int pages = (int)((total + f.page_size - 1) / f.page_size);
    if (pages > 1) {
        H(&b, "<nav class=\"pager\" aria-label=\"Pages\">");
        if (f.page > 1) {
            H(&b, "<a rel=\"prev\" href=\"");
            queue_href(&b, &f, f.page - 1);
            H(&b, "\">&larr; Previous</a>");
        }
        html_textf(&b, "Page %d of %d", f.page, pages);
        if (f.page < pages) {
            H(&b, "<a rel=\"next\" href=\"");
            queue_href(&b, &f, f.page + 1);
            H(&b, "\">Next &rarr;</a>");
        }
        H(&b, "</nav>");
    }
    page_close(&b, pc);
    send(pc, 200, &b);
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
static void highlighted(struct buf *b, const char *name, const json_t *alignment, const char *side)
{
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
            T(b, tmp);
            s += sp;
            continue;
        }
        size_t w = strcspn(s, " \t,;/()-");
        char word[256];
        snprintf(word, sizeof word, "%.*s", (int)(w < 255 ? w : 255), s);
        int exact = 0;
        if (word_matches(word, strlen(word), tokens, sims, n, &exact)) {
            H(b, exact ? "<mark class=\"exact\">" : "<mark class=\"fuzzy\">");
            T(b, word);
            H(b, "</mark>");
        } else {
            T(b, word);
        }
        s += w;
    }
}

static const json_t *false_positive_of(const json_t *fps, const char *entry_id)
{
    size_t i;
    json_t *fp;
    json_array_foreach(fps, i, fp) if (strcmp(str(fp, "entry_id"), entry_id) == 0) return fp;
    return NULL;
}

static void note_field(struct buf *b, const char *id, const char *label)
{
    H(b, "<div class=\"field\"><label for=\"");
    T(b, id);
    H(b, "\">");
    T(b, label);
    H(b, "</label><textarea id=\"");
    T(b, id);
    H(b, "\" name=\"note\" required maxlength=\"2000\" rows=\"2\"></textarea></div>");
}

static void match_panel(struct buf *b, const json_t *ident, const json_t *m, size_t index,
                        const json_t *fps, const char *current_hash)
{
    const json_t *align = json_object_get(m, "alignment");
    const char *entry_id = str(m, "entry_id");
    const json_t *fp = false_positive_of(fps, entry_id);
    int fp_current = fp && current_hash && strcmp(str(fp, "entry_hash"), current_hash) == 0;
    char hid[32];
    snprintf(hid, sizeof hid, "h-match-%zu", index + 1);
    H(b, "<article class=\"panel match\" aria-labelledby=\"");
    T(b, hid);
    H(b, "\"><header class=\"match-head\"><h3 id=\"");
    T(b, hid);
    H(b, "\">");
    html_textf(b, "Match %zu: %s", index + 1, str(m, "name"));
    H(b, "</h3><div class=\"score-line\"><span class=\"score\">");
    html_textf(b, "%.2f", json_number_value(json_object_get(m, "score")));
    H(b, "</span>");
    badge(b, strcmp(str(m, "band"), "review") == 0 ? "needs_review" : str(m, "band"));
    if (fp_current)
        H(b, "<span class=\"badge s-clear\">False positive</span>");
    H(b, "</div></header>");
    H(b, "<table class=\"side\"><caption>The identity beside the list entry</caption><thead><tr>"
         "<th scope=\"col\"><span class=\"sr-only\">Field</span></th><th scope=\"col\">Identity"
         "</th><th scope=\"col\">List entry</th></tr></thead><tbody><tr><th scope=\"row\">Name"
         "</th><td class=\"name\">");
    highlighted(b, str(ident, "name"), align, "query");
    H(b, "</td><td class=\"name\">");
    highlighted(b, str(m, "matched_name"), align, "list");
    if (strcmp(str(m, "matched_name"), str(m, "name")) != 0) {
        H(b, "<div class=\"muted small\">");
        T(b, str(m, "name_kind"));
        H(b, " of ");
        T(b, str(m, "name"));
        H(b, "</div>");
    }
    H(b, "</td></tr><tr><th scope=\"row\">Type</th><td>");
    T(b, str(ident, "identity_type"));
    H(b, "</td><td>");
    T(b, str(m, "type"));
    H(b, "</td></tr><tr><th scope=\"row\">Source</th><td class=\"muted\">—</td><td>");
    T(b, str(m, "source"));
    H(b, " <code>");
    T(b, entry_id);
    H(b, "</code></td></tr><tr><th scope=\"row\">Programs</th><td class=\"muted\">—</td><td>");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(m, "programs"), i, v)
    {
        H(b, "<span class=\"tag\">");
        T(b, json_string_value(v) ? json_string_value(v) : "");
        H(b, "</span> ");
    }
    H(b, "</td></tr></tbody></table>");
    H(b, "<div class=\"grid2 tight\"><table class=\"data compact\"><caption>Token alignment "
         "(name score ");
    html_textf(b, "%.2f", json_number_value(json_object_get(m, "name_score")));
    H(b, ")</caption><thead><tr><th scope=\"col\">Identity token</th><th scope=\"col\">List token"
         "</th><th scope=\"col\" class=\"num\">Similarity</th><th scope=\"col\" class=\"num\">"
         "Weight</th></tr></thead><tbody>");
    json_array_foreach(align, i, v)
    {
        const char *q = json_string_value(json_object_get(v, "query"));
        const char *l = json_string_value(json_object_get(v, "list"));
        double sim = json_number_value(json_object_get(v, "similarity"));
        H(b, "<tr><td>");
        if (q && l) {
            H(b, sim >= 0.999 ? "<mark class=\"exact\">" : "<mark class=\"fuzzy\">");
            T(b, q);
            H(b, "</mark>");
        } else {
            T(b, q ? q : "—");
        }
        H(b, "</td><td>");
        if (q && l) {
            H(b, sim >= 0.999 ? "<mark class=\"exact\">" : "<mark class=\"fuzzy\">");
            T(b, l);
            H(b, "</mark>");
        } else {
            T(b, l ? l : "—");
        }
        H(b, "</td><td class=\"num\">");
        html_textf(b, "%.2f", sim);
        H(b, "</td><td class=\"num\">");
        html_textf(b, "%.2f", json_number_value(json_object_get(v, "weight")));
        H(b, "</td></tr>");
    }
    H(b, "</tbody></table><table class=\"data compact\"><caption>Qualifiers</caption><thead><tr>"
         "<th scope=\"col\">Rule</th><th scope=\"col\" class=\"num\">Effect</th>"
         "<th scope=\"col\">Detail</th></tr></thead><tbody>");
    json_array_foreach(json_object_get(m, "qualifiers"), i, v)
    {
        double d = json_number_value(json_object_get(v, "delta"));
        H(b, "<tr><td>");
        T(b, str(v, "rule"));
        H(b, d < 0 ? "</td><td class=\"num neg\">" : "</td><td class=\"num pos\">");
        html_textf(b, "%+.2f", d);
        H(b, "</td><td>");
        T(b, str(v, "detail"));
        H(b, "</td></tr>");
    }
    if (json_array_size(json_object_get(m, "qualifiers")) == 0)
        H(b, "<tr><td colspan=\"3\" class=\"empty\">No qualifier applied (name only).</td></tr>");
    H(b, "</tbody></table></div>");
    if (fp_current) {
        H(b, "<p class=\"fp-note\">Marked a false positive by ");
        T(b, str(fp, "marked_by"));
        H(b, " on ");
        when(b, str(fp, "marked_at"));
        H(b, ": &ldquo;");
        T(b, str(fp, "note"));
        H(b, "&rdquo;. It will not be raised again unless the list entry changes.</p>");
    } else {
        if (fp)
            H(b, "<p class=\"fp-note warn\">This match was marked a false positive, but the list "
                 "entry has changed since: review it again.</p>");
        char nid[48];
        snprintf(nid, sizeof nid, "fp-note-%zu", index + 1);
        H(b, "<form class=\"inline-form\" data-api=\"/portal/api/false-positives\">"
             "<input type=\"hidden\" name=\"identity_id\" value=\"");
        T(b, str(ident, "identity_id"));
        H(b, "\"><input type=\"hidden\" name=\"entry_id\" value=\"");
        T(b, entry_id);
        H(b, "\">");
        note_field(b, nid, "Why is this not the same person or organization?");
        H(b, "<button type=\"submit\" class=\"btn secondary\">Mark false positive</button>"
             "<p class=\"form-status\" role=\"alert\"></p></form>");
    }
    H(b, "</article>");
}

struct history_ctx {
    struct buf *b;
    int rows;
};

static int history_row(const struct audit_record *r, void *ctx)
{
    struct history_ctx *h = ctx;
    struct buf *b = h->b;
    json_t *p = json_loads(r->payload, 0, NULL);
    H(b, "<tr><td>");
    when(b, r->ts);
    H(b, "</td><td>");
    T(b, r->actor);
    H(b, "</td><td>");
    T(b, r->kind);
    H(b, "</td><td>");
    if (strcmp(r->kind, "status_change") == 0) {
        html_textf(b, "%s → %s", status_label(str(p, "from")), status_label(str(p, "to")));
    } else if (strcmp(r->kind, "decision") == 0) {
        html_textf(b, "%s (%s)", str(p, "action"), *str(p, "state") ? str(p, "state") : "recorded");
        if (*str(p, "entry_id"))
            html_textf(b, " %s", str(p, "entry_id"));
        if (*str(p, "note")) {
            H(b, "<div class=\"note\">");
            T(b, str(p, "note"));
            H(b, "</div>");
        }
    } else {
        char *text = json_to_string_flags(p, JSON_COMPACT | JSON_SORT_KEYS);
        H(b, "<code class=\"small\">");
        T(b, text ? text : "");
        H(b, "</code>");
        free(text);
    }
    H(b, "</td><td><code class=\"small\" title=\"record hash\">");
    html_textf(b, "#%lld %.12s", (long long)r->seq, r->hash);
    H(b, "</code></td></tr>");
    json_decref(p);
    h->rows++;
    return 0;
}

static void fact(struct buf *b, const char *label, const char *value)
{
    H(b, "<div><dt>");
    T(b, label);
    H(b, "</dt><dd>");
    T(b, value && *value ? value : "—");
    H(b, "</dd></div>");
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
static void identity_data(struct buf *b, const json_t *fields)
{
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
    H(b, "<section class=\"panel flush\" aria-labelledby=\"h-identity-data\"><table "
         "class=\"data\" id=\"identity-data\"><caption id=\"h-identity-data\">Identity data"
         "</caption><tbody>");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *v = str(fields, rows[i][0]);
        H(b, "<tr><th scope=\"row\">");
        T(b, rows[i][1]);
        H(b, "</th><td data-field=\"");
        T(b, rows[i][0]);
        H(b, "\">");
        if (field_tokenized(fields, rows[i][0]))
            H(b, "<span class=\"tag\">tokenized</span>");
        else
            T(b, *v ? v : "—");
        H(b, "</td></tr>");
    }
    H(b, "</tbody></table></section>");
}

static void pending_panel(struct buf *b, const struct capp_portal_context *pc,
                          const json_t *pending)
{
    char path[96];
    json_int_t id = json_integer_value(json_object_get(pending, "decision_id"));
    int own = kyc_portal_signed_in_as(pc, str(pending, "maker"));
    H(b, "<section class=\"panel pending\" aria-labelledby=\"h-pending\" id=\"pending\">"
         "<h2 id=\"h-pending\">Waiting for a second reviewer</h2><p>");
    html_textf(b, "%s proposed to %s this identity on ", str(pending, "maker"),
               str(pending, "action"));
    when(b, str(pending, "made_at"));
    H(b, ":</p><blockquote>");
    T(b, str(pending, "maker_note"));
    H(b, "</blockquote>");
    if (own)
        H(b, "<p class=\"muted\">You proposed this decision: a different reviewer must confirm "
             "it. You can withdraw it.</p>");
    snprintf(path, sizeof path, "/portal/api/decisions/%lld/", (long long)id);
    H(b, "<form data-api=\"");
    T(b, path);
    H(b, "\" data-action-path>");
    note_field(b, "pending-note", own ? "Note (why you withdraw it)" : "Note (required)");
    H(b, "<div class=\"button-row\">");
    if (!own)
        H(b, "<button type=\"submit\" class=\"btn\" name=\"op\" value=\"confirm\" "
             "data-confirm-button>Confirm</button>");
    H(b, "<button type=\"submit\" class=\"btn secondary\" name=\"op\" value=\"cancel\">");
    T(b, own ? "Withdraw" : "Decline");
    H(b, "</button></div><p class=\"form-status\" role=\"alert\"></p></form></section>");
}

static void decision_panel(struct buf *b, const json_t *ident, int four_eyes_on,
                           const struct capp_portal_context *pc, const json_t *pending)
{
    const char *status = str(ident, "status");
    int decided = strcmp(status, RESULTS_APPROVED) == 0 || strcmp(status, RESULTS_REJECTED) == 0;
    H(b, "<section class=\"panel\" aria-labelledby=\"h-decide\"><h2 id=\"h-decide\">Decision"
         "</h2>");
    if (*str(ident, "removed_at")) {
        H(b, "<p class=\"muted\" data-removed>This identity was deleted in Blnk (noticed ");
        when(b, str(ident, "removed_at"));
        H(b, "). Its result and history are kept for the record; it can no longer be decided."
             "</p></section>");
        return;
    }
    if (pending) {
        H(b, "<p class=\"muted\">A decision is waiting for a second reviewer (above).</p>"
             "</section>");
        return;
    }
    H(b, "<form id=\"decision-form\" data-api=\"/portal/api/decisions\">"
         "<input type=\"hidden\" name=\"identity_id\" value=\"");
    T(b, str(ident, "identity_id"));
    H(b, "\">");
    note_field(b, "decision-note", "Note (required)");
    H(b, "<div class=\"button-row\">");
    if (strcmp(status, RESULTS_APPROVED) != 0)
        H(b, "<button type=\"submit\" class=\"btn ok\" name=\"action\" value=\"approve\" "
             "aria-keyshortcuts=\"a\">Approve <kbd>A</kbd></button>");
    if (strcmp(status, RESULTS_REJECTED) != 0)
        H(b, "<button type=\"submit\" class=\"btn danger\" name=\"action\" value=\"reject\" "
             "aria-keyshortcuts=\"r\">Reject <kbd>R</kbd></button>");
    if (decided)
        H(b, "<button type=\"submit\" class=\"btn secondary\" name=\"action\" value=\"reopen\">"
             "Reopen</button>");
    H(b, "</div><p class=\"form-status\" role=\"alert\"></p></form><p class=\"muted small\">");
    if (four_eyes_on)
        H(b, "Four-eyes review is on: rejections, and approvals of a hit or a score of 0.80 or "
             "more, wait for a second reviewer.");
    else
        H(b, "Four-eyes review is off: every decision applies at once.");
    H(b, " Keys: <kbd>A</kbd> approve, <kbd>R</kbd> reject, <kbd>N</kbd> next identity, "
         "<kbd>Ctrl</kbd>+<kbd>Enter</kbd> submit the note, <kbd>Esc</kbd> cancel.</p></section>");
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

static void identity(struct capp_portal_context *pc, sqlite3 *db)
{
    const char *install = pc->install.installed_app_id;
    const char *id = http_query(pc->req, "id");
    if (!id || !json_is_valid_id(id, CAPP_MAX_ID_BYTES)) {
        error_page(pc, 400, "Invalid identity", "The identity id in the address is not valid.");
        return;
    }
    json_t *ident = NULL, *pending = NULL, *fps = NULL;
    struct review_settings s = {.four_eyes = 1};
    int rc = results_get(db, install, id, &ident);
    if (rc == CAPP_ENOTFOUND) {
        error_page(pc, 404, "Identity not found",
                   "No screened identity with that id exists for this install.");
        return;
    }
    if (rc == 0)
        rc = review_pending(db, install, id, &pending);
    if (rc == 0)
        rc = review_false_positives(db, install, id, &fps);
    if (rc == 0)
        rc = review_settings_get(db, install, &s);
    if (rc) {
        json_decref(ident);
        json_decref(pending);
        json_decref(fps);
        error_page(pc, 500, "Identity unavailable", "The identity could not be read. Try again.");
        return;
    }
    char next[STORE_ID_CAP];
    next_identity(db, install, id, next, sizeof next);
    struct buf b;
    buf_init(&b, PORTAL_PAGE_MAX_BYTES);
    const char *name = *str(ident, "name") ? str(ident, "name") : id;
    page_open(&b, pc, "KYC review — identity", "queue");
    H(&b, "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/portal?view=queue\">Queue"
          "</a> / <span aria-current=\"page\">");
    T(&b, name);
    H(&b, "</span></nav><div class=\"page-head\"><div><h1>");
    T(&b, name);
    H(&b, "</h1><div class=\"head-badges\">");
    badge(&b, str(ident, "status"));
    risk_badge(&b, str(ident, "risk"));
    H(&b, "<span class=\"score\">Score ");
    html_textf(&b, "%.2f", json_number_value(json_object_get(ident, "score")));
    H(&b, "</span></div></div><div class=\"actions\"><a class=\"btn secondary\" download "
          "href=\"/portal/api/identities/");
    T(&b, id);
    H(&b, "/dossier\">Export dossier</a>");
    if (next[0]) {
        H(&b, "<a class=\"btn secondary\" id=\"next-identity\" aria-keyshortcuts=\"n\" href=\"");
        identity_href(&b, next);
        H(&b, "\">Next <kbd>N</kbd></a>");
    }
    H(&b, "</div></div>");
    if (pending)
        pending_panel(&b, pc, pending);
    H(&b, "<div class=\"grid2 identity-top\"><section class=\"panel\" aria-labelledby=\"h-facts\">"
          "<h2 id=\"h-facts\">Identity</h2><dl class=\"facts-grid\">");
    fact(&b, "Identity ID", id);
    fact(&b, "Type", str(ident, "identity_type"));
    fact(&b, "Status", status_label(str(ident, "status")));
    fact(&b, "Computed by screening", status_label(str(ident, "computed_status")));
    fact(&b, "Risk", str(ident, "risk"));
    fact(&b, "Screening", str(ident, "screening"));
    fact(&b, "Decided by", str(ident, "decided_by"));
    fact(&b, "Engine", str(ident, "engine_version"));
    fact(&b, "Write-back", str(ident, "writeback"));
    fact(&b, "Alert", str(ident, "alert"));
    if (*str(ident, "removed_at")) {
        H(&b, "<div><dt>Deleted in Blnk</dt><dd>");
        when(&b, str(ident, "removed_at"));
        H(&b, "</dd></div>");
    }
    H(&b, "<div><dt>Screened</dt><dd>");
    when(&b, str(ident, "screened_at"));
    H(&b, "</dd></div></dl></section>");
    decision_panel(&b, ident, s.four_eyes, pc, pending);
    H(&b, "</div>");
    /* the identity's own fields beside the checks */
    H(&b, "<div class=\"grid2\">");
    identity_data(&b, json_object_get(ident, "identity"));
    /* checks */
    H(&b, "<section class=\"panel flush\" aria-labelledby=\"h-checks\"><table class=\"data\">"
          "<caption id=\"h-checks\">Checks and reasons</caption><thead><tr><th scope=\"col\">"
          "Reason</th><th scope=\"col\">Field</th><th scope=\"col\">Detail</th></tr></thead>"
          "<tbody>");
    size_t i;
    json_t *v;
    json_t *reasons = json_object_get(ident, "reasons");
    json_array_foreach(json_object_get(ident, "findings"), i, v)
    {
        H(&b, "<tr><td><span class=\"tag\">");
        T(&b, str(v, "reason"));
        H(&b, "</span></td><td>");
        T(&b, str(v, "field"));
        H(&b, "</td><td>");
        T(&b, str(v, "detail"));
        H(&b, "</td></tr>");
    }
    json_array_foreach(reasons, i, v)
    {
        const char *r = json_string_value(v) ? json_string_value(v) : "";
        if (strcmp(r, "sanctions_match") != 0 && strcmp(r, "screening_error") != 0)
            continue;
        H(&b, "<tr><td><span class=\"tag\">");
        T(&b, r);
        H(&b, "</span></td><td>name</td><td>");
        T(&b, strcmp(r, "sanctions_match") == 0 ? "The name scored in the review or hit band "
                                                  "against a sanctions list entry (below)."
                                                : "Screening failed; the identity is re-screened "
                                                  "on the next run.");
        H(&b, "</td></tr>");
    }
    if (json_array_size(json_object_get(ident, "findings")) == 0 && json_array_size(reasons) == 0)
        H(&b, "<tr><td colspan=\"3\" class=\"empty\">Every check passed.</td></tr>");
    H(&b, "</tbody></table></section></div>");
    /* matches */
    json_t *matches = json_object_get(ident, "matches");
    H(&b, "<section aria-labelledby=\"h-matches\"><h2 id=\"h-matches\">Sanctions matches</h2>");
    if (json_array_size(matches) == 0)
        H(&b, "<p class=\"panel muted\">No candidate from the sanctions lists.</p>");
    json_array_foreach(matches, i, v)
    {
        char hash[65];
        const char *h = review_list_entry_hash(db, str(v, "entry_id"), hash) == 0 ? hash : NULL;
        match_panel(&b, ident, v, i, fps, h);
    }
    H(&b, "</section>");
    /* history */
    H(&b, "<section class=\"panel flush\" aria-labelledby=\"h-history\"><table class=\"data\" "
          "id=\"history\"><caption id=\"h-history\">History (audit trail)</caption><thead><tr>"
          "<th scope=\"col\">When</th><th scope=\"col\">Who</th><th scope=\"col\">What</th>"
          "<th scope=\"col\">Detail</th><th scope=\"col\">Record</th></tr></thead><tbody>");
    struct history_ctx hc = {.b = &b};
    audit_history(db, install, id, history_row, &hc);
    if (hc.rows == 0)
        H(&b, "<tr><td colspan=\"5\" class=\"empty\">No audit records yet.</td></tr>");
    H(&b, "</tbody></table></section>");
    page_close(&b, pc);
    send(pc, 200, &b);
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
        error_page(pc, 503, "Temporarily unavailable", "The results database is unavailable.");
        return;
    }
    if (kyc_portal_reviewer_view(pc, db, view))
        return;
    if (!view || !*view || strcmp(view, "overview") == 0)
        overview(pc, kp, db);
    else if (strcmp(view, "queue") == 0)
        queue(pc, db);
    else if (strcmp(view, "identity") == 0)
        identity(pc, db);
    else
        error_page(pc, 400, "Unknown view",
                   "The view in the address is not one of overview, "
                   "queue or identity.");
}
