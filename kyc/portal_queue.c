/*
 * portal_queue.c — the review queue (GET /portal?view=queue&status=&risk=&reason=&q=&sort=
 * &order=&page=): the filter form, the sortable results table and the pager, and the CSV export
 * link for the same filter. The filter is read and validated by kyc_portal_filter
 * (portal_query.c), shared with the JSON list and the export; a bad parameter is a 400 page
 * naming it. Links carry the filter back as percent-encoded query pairs, built in a URL buffer
 * of their own and then escaped into the page (kyc_portal_href_from). Drawn in the frame of
 * portal_frame.c; see portal_pages.c for how the view is chosen.
 */
#include <stdio.h>
#include <string.h>

#include "capp/assert.h"
#include "capp/err.h"
#include "capp/html.h"
#include "kyc/portal_internal.h"

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
            rc |= buf_append_url_value(u, vals[i]);
            sep = '&';
        }
    }
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
    return kyc_portal_href_from(b, &u, rc);
}

/* The CSV export's href for filter f (escaped into b). */
static int export_href(struct buf *b, const struct results_filter *f)
{
    struct buf u;
    buf_init(&u, 4096);
    int rc = buf_append_str(&u, "/portal/api/export.csv");
    rc |= filter_query(&u, f, '?');
    return kyc_portal_href_from(b, &u, rc);
}

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

void kyc_portal_queue(struct capp_portal_context *pc, const struct kyc_portal *kp, results_db *db)
{
    struct results_filter f;
    const char *why = NULL;
    if (kyc_portal_filter(pc->req, &f, &why) != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "The filter parameter '%s' is not valid.", why);
        kyc_portal_error_page(pc, kp, 400, "Invalid filter", msg);
        return;
    }
    json_t *list = NULL;
    int read = results_list(db, pc->install.installed_app_id, &f, &list, &why);
    if (read) {
        kyc_portal_error_page(pc, kp, read == CAPP_EINVAL ? 400 : 500, "Queue unavailable",
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
    int rc = kyc_portal_page_open(&b, pc, "KYC review — queue", "queue");
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
        rc |= kyc_portal_identity_href(&b, kyc_portal_str(it, "identity_id"));
        rc |= html_tpl(&b, "\">{}</a></th><td>{}</td><td>",
                       *kyc_portal_str(it, "name") ? kyc_portal_str(it, "name")
                                                   : kyc_portal_str(it, "identity_id"),
                       kyc_portal_str(it, "identity_type"), NULL);
        rc |= kyc_portal_badge(&b, kyc_portal_str(it, "status"));
        rc |= html_raw_trusted(&b, "</td><td>");
        rc |= kyc_portal_risk_badge(&b, kyc_portal_str(it, "risk"));
        rc |= html_tpl(&b, "</td><td class=\"num\">{}</td><td>", score, NULL);
        rc |= reasons_list(&b, json_object_get(it, "reasons"));
        rc |= html_raw_trusted(&b, "</td><td>");
        rc |= kyc_portal_when(&b, kyc_portal_str(it, "screened_at"));
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
    rc |= kyc_portal_page_close(&b, pc);
    kyc_portal_send(pc, 200, &b, rc);
    json_decref(list);
}
