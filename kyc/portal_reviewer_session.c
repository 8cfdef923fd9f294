/*
 * portal_reviewer_session.c — which reviewer account a portal session is signed in to (spec
 * D23′, kyc/reviewers.h), for every portal file that needs to know: the handlers that change
 * something ask for a signed-in account first ("sign in to decide"), the identity page asks
 * whether a pending decision is the session's own, and the frame of every page shows the
 * reviewer bar at the end of its header.
 *
 * The binding is keyed by capp's session hash, never by a cookie: a session carried in an
 * `Authorization: Bearer` header (D10′, a browser that refused the cookie) or navigating with a
 * page ticket resolves to the same hash, so it signs in and stays signed in the same way.
 *
 * This file draws only the bar and calls neither the frame (portal_frame.c) nor the account
 * pages (portal_reviewers.c), which both call it: no cycle between the page files.
 */
#include <string.h>

#include "capp/clock.h"
#include "capp/err.h"
#include "capp/html.h"
#include "capp/http.h"
#include "capp/log.h"
#include "kyc/portal_internal.h"
#include "kyc/reviewers.h"

int kyc_portal_reviewer(const struct capp_portal_context *pc, results_db *db,
                        struct reviewer_account *out)
{
    if (!db)
        return CAPP_EDB;
    int rc = reviewers_session_account(db, pc->install.installed_app_id, pc->session.token_hash,
                                       clock_now_ms(), out);
    return rc == 0 ? 1 : rc == CAPP_ENOTFOUND ? 0 : rc;
}

int kyc_portal_require_reviewer(struct capp_portal_context *pc, results_db *db,
                                struct reviewer_account *out)
{
    int rc = kyc_portal_reviewer(pc, db, out);
    if (rc == 1)
        return 0;
    if (rc == 0) {
        log_info("review.sign_in_required", "req", http_request_id(pc->req), "installed_app_id",
                 pc->install.installed_app_id, "path", http_path(pc->req), NULL);
        kyc_portal_respond_failure(pc->req, CAPP_EPERM, "sign_in_required");
        return CAPP_EPERM;
    }
    kyc_portal_respond_failure(pc->req, rc, NULL);
    return rc;
}

int kyc_portal_signed_in_as(const struct capp_portal_context *pc, const char *account_id)
{
    struct reviewer_account a;
    return account_id && kyc_portal_reviewer(pc, kyc_portal_db(kyc_portal_state()), &a) == 1 &&
           strcmp(a.account_id, account_id) == 0;
}

int kyc_portal_reviewer_bar(struct buf *b, const struct capp_portal_context *pc)
{
    results_db *db = kyc_portal_db(kyc_portal_state());
    struct reviewer_account a;
    int accounts = -1; /* unknown unless counted */
    int in = kyc_portal_reviewer(pc, db, &a);
    if (in == 0 && reviewers_count(db, pc->install.installed_app_id, &accounts) != 0)
        accounts = -1;
    int rc;
    if (in == 1) {
        rc = html_tpl(b, "<div class=\"who\"><span>Reviewer <strong id=\"reviewer\">{}</strong>",
                      a.display_name, NULL);
        if (a.role == REVIEWER_ROLE_ADMIN)
            rc |= html_raw_trusted(b, " (admin) <a href=\"/portal?view=reviewers\">Reviewers</a>");
        rc |= html_raw_trusted(
            b, "</span><form class=\"inline\" data-api=\"/portal/api/reviewers/signout\">"
               "<button type=\"submit\" class=\"btn secondary small\">Sign out</button></form>"
               "</div></header>");
        return rc;
    }
    rc = html_tpl(b,
                  "<div class=\"who\"><span class=\"muted\" id=\"reviewer-state\">Read only</span>"
                  "<a class=\"btn small\" id=\"sign-in-link\" href=\"/portal?view=signin\">{}</a>"
                  "</div></header>",
                  accounts == 0 ? "Set up reviewer accounts" : "Sign in to decide", NULL);
    if (accounts == 0)
        rc |= html_raw_trusted(
            b, "<div class=\"banner warn\" role=\"alert\"><strong>No reviewer accounts yet."
               "</strong> Decisions need a reviewer signed in with an authenticator app. The "
               "first person to set up an account becomes its admin and can invite the "
               "others.</div>");
    return rc;
}
