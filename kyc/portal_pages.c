/*
 * portal_pages.c — the review portal's HTML: GET /portal renders one of the views chosen by
 * ?view= (capp serves only GET /portal to the app's page hook):
 *
 *   overview (default)          counts per status, score histogram, runs chart, last run and
 *                               live progress, the review policy (four-eyes) and exports
 *                               (portal_overview.c)
 *   view=queue&status=&risk=&reason=&q=&sort=&order=&page=
 *                               the filterable, sortable, paginated results table
 *                               (portal_queue.c)
 *   view=identity&id=ID         one identity: checks, matches side by side with the list
 *                               entry (matching tokens highlighted, qualifier breakdown), the
 *                               decision form, the pending decision and the audit history
 *                               (portal_identity.c)
 *   view=signin                 first-run set-up of the reviewer accounts, sign-in and
 *                               enrolment (portal_reviewers.c)
 *   view=reviewers              the admin's page: accounts, enrolment codes (portal_reviewers.c)
 *
 * Each view is drawn in the frame of portal_frame.c (header, navigation, footer, error page)
 * with the pieces the views share from there; the views never call each other, and only this
 * file names them, so the page files form no cycle.
 *
 * Every parameter is validated; a bad one gives a 400 page naming it. The HTML is written with
 * capp's builder (capp/html.h): every value goes through an escaped hole of html_tpl (or
 * html_text/html_textf); html_raw_trusted only writes the page files' literal markup. Each
 * helper returns what its appends returned (`rc |=`), and kyc_portal_send() hands the page to
 * capp, which answers a page whose buffer failed (over kp->page_max_bytes) with a 500
 * page_too_large instead of the part that fitted. The page has no inline script or style (the
 * CSP forbids both): behaviour lives in /portal/static/app.js, which finds its hooks through
 * data-* attributes.
 */
#include <string.h>

#include "capp/http.h"
#include "kyc/portal_internal.h"

void kyc_portal_page(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_portal *kp = ctx;
    const char *view = http_query(pc->req, "view");
    results_db *db = kyc_portal_db(kp);
    if (!db) {
        kyc_portal_error_page(pc, kp, 503, "Temporarily unavailable",
                              "The results database is unavailable.");
        return;
    }
    if (!view || !*view || strcmp(view, "overview") == 0)
        kyc_portal_overview(pc, kp, db);
    else if (strcmp(view, "queue") == 0)
        kyc_portal_queue(pc, kp, db);
    else if (strcmp(view, "identity") == 0)
        kyc_portal_identity(pc, kp, db);
    else if (strcmp(view, "signin") == 0)
        kyc_portal_signin(pc, kp, db);
    else if (strcmp(view, "reviewers") == 0)
        kyc_portal_reviewers(pc, kp, db);
    else
        kyc_portal_error_page(pc, kp, 400, "Unknown view",
                              "The view in the address is not one of overview, queue, identity, "
                              "signin or reviewers.");
}
