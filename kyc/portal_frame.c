/*
 * portal_frame.c — the frame every portal page is drawn in, and the pieces more than one view
 * draws (see portal_internal.h): the header with its navigation and the reviewer bar (drawn by
 * portal_reviewer_session.c, which calls nothing here), the session footer, the error page,
 * and the status and risk badges, times and identity links that the views share. The views
 * (portal_overview.c, portal_queue.c, portal_identity.c, portal_reviewers.c) call into this
 * file and never into each other, and this file calls none of them (portal_pages.c chooses the
 * view): no cycle between the page files.
 *
 * Every helper appends in the manner of capp/html.h: values through escaped holes, only this
 * file's literals through html_raw_trusted, and it returns what its appends returned, so a view
 * chains them with `rc |=` and kyc_portal_send() hands the page to capp, which answers a page
 * whose buffer failed (over kp->page_max_bytes) with a 500 page_too_large instead of the part
 * that fitted.
 */
#include <stdio.h>
#include <string.h>

#include "capp/assert.h"
#include "capp/clock.h"
#include "capp/html.h"
#include "capp/portal.h"
#include "kyc/portal_internal.h"

const char *kyc_portal_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

const char *const kyc_portal_statuses[][2] = {
    {"hit", "Hit"},     {"needs_review", "Needs review"}, {"error", "Error"},
    {"clear", "Clear"}, {"approved", "Approved"},         {"rejected", "Rejected"},
    {NULL, NULL},
};

const char *kyc_portal_status_label(const char *s)
{
    for (size_t i = 0; kyc_portal_statuses[i][0]; i++)
        if (strcmp(s, kyc_portal_statuses[i][0]) == 0)
            return kyc_portal_statuses[i][1];
    return s;
}

int kyc_portal_badge(struct buf *b, const char *status)
{
    return html_tpl(b, "<span class=\"badge s-{}\">{}</span>", status,
                    kyc_portal_status_label(status), NULL);
}

int kyc_portal_risk_badge(struct buf *b, const char *risk)
{
    return html_tpl(b, "<span class=\"risk r-{}\">{}</span>", risk, *risk ? risk : "—", NULL);
}

/* "2026-03-01T12:34:56.789Z" → "2026-03-01 12:34 UTC" */
int kyc_portal_when(struct buf *b, const char *ts)
{
    if (!ts || strlen(ts) < 16)
        return html_text(b, "—");
    char out[32];
    snprintf(out, sizeof out, "%.10s %.5s UTC", ts, ts + 11);
    return html_tpl(b, "<time datetime=\"{}\">{}</time>", ts, out, NULL);
}

/* Writes the URL built in u (rc: what building it returned) escaped into b, and frees u. A URL
 * that did not fit u fails b: the page is refused rather than linking somewhere else. */
int kyc_portal_href_from(struct buf *b, struct buf *u, int rc)
{
    rc = rc ? buf_fail(b, buf_failed(u)) : html_text(b, u->data);
    buf_free(u);
    return rc;
}

int kyc_portal_identity_href(struct buf *b, const char *id)
{
    struct buf u;
    buf_init(&u, 1024);
    int rc = buf_append_str(&u, "/portal?view=identity&id=");
    rc |= buf_append_url_value(&u, id);
    return kyc_portal_href_from(b, &u, rc);
}

/* ---- the frame of every page ---- */

int kyc_portal_page_open(struct buf *b, const struct capp_portal_context *pc, const char *title,
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
    rc |= html_raw_trusted(b, "</nav>");
    rc |= kyc_portal_reviewer_bar(b, pc); /* sign in to decide (portal_reviewer_session.c) */
    rc |= html_raw_trusted(b, "<main id=\"main\" tabindex=\"-1\">");
    return rc;
}

/* The session's facts the reviewer can act on (IDs are left out: see kyc_portal_page_open). */
static int session_footer(struct buf *b, const struct capp_portal_context *pc)
{
    char expires[40];
    clock_format_rfc3339(pc->session.expires_at_ms, expires, sizeof expires);
    int rc = html_raw_trusted(b, "<footer class=\"session\"><span>Permissions ");
    for (size_t i = 0; i < pc->install.permission_count; i++)
        rc |= html_tpl(b, i ? ", {}" : "{}", pc->install.permissions[i], NULL);
    rc |= html_raw_trusted(b, "</span><span>Session ends ");
    rc |= kyc_portal_when(b, expires);
    rc |= html_raw_trusted(b, "</span></footer>");
    return rc;
}

int kyc_portal_page_close(struct buf *b, const struct capp_portal_context *pc)
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
void kyc_portal_send(struct capp_portal_context *pc, unsigned status, struct buf *b, int rc)
{
    CAPP_ASSERT(rc == 0 || buf_failed(b)); /* every append's failure sticks to the buffer */
    portal_send_html(pc->app, pc->req, status, b);
    buf_free(b);
}

void kyc_portal_error_page(struct capp_portal_context *pc, const struct kyc_portal *kp,
                           unsigned status, const char *title, const char *message)
{
    struct buf b;
    buf_init(&b, kp->page_max_bytes);
    int rc = kyc_portal_page_open(&b, pc, title, "");
    rc |= html_tpl(&b,
                   "<section class=\"panel notice-panel\"><h1>{}</h1><p>{}</p>"
                   "<p><a href=\"/portal\">Back to the overview</a></p></section>",
                   title, message, NULL);
    rc |= kyc_portal_page_close(&b, pc);
    kyc_portal_send(pc, status, &b, rc);
}
