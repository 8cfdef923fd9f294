/*
 * portal_respond.c — how the portal's JSON endpoints refuse (see portal_internal.h): one table
 * of the error codes a reviewer can cause (the workflow's of kyc/review.h and the accounts' of
 * kyc/reviewers.h), each with the sentence the page shows, and the mapping of a capp error to
 * its HTTP status. portal_api.c, portal_export.c, portal_reviewers.c and the sign-in check of
 * portal_reviewer_session.c all answer through it, so a refusal reads the same wherever it
 * comes from and no upstream text reaches the browser.
 */
#include <string.h>

#include "capp/err.h"
#include "capp/http.h"
#include "kyc/portal_internal.h"

static const char *const why_messages[][2] = {
    /* the review workflow (kyc/review.h) */
    {"same_reviewer", "A second, different reviewer must confirm this decision."},
    {"sign_in_required", "Sign in to decide: reading the queue needs only the launch, but "
                         "decisions, confirmations, settings and exports need a reviewer signed "
                         "in with a code from their authenticator app."},
    {"decision_pending", "A decision for this identity is already waiting for a second reviewer."},
    {"decision_not_pending", "That decision is no longer waiting for a reviewer."},
    {"decision_stale", "The identity's status changed after the decision was proposed, so it "
                       "was cancelled. Propose it again if it still applies."},
    {"no_change", "The identity already has that status."},
    {"identity_removed", "This identity was deleted in Blnk: it is kept here for the record and "
                         "can no longer be decided."},
    {"note", "A note is required (up to 2000 characters, no control characters)."},
    {"entry_id", "That list entry is not one of this identity's current matches."},
    {"identity_id", "That identity is not known."},
    /* reviewer accounts (kyc/reviewers.h) */
    {"account_not_found", "No such reviewer account here."},
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
    {"last_admin", "That is the last active admin: enable or enrol another admin first."},
    {"too_many", "The install has reached its limit of accounts or open enrolment codes."},
    {"role", "role must be admin or reviewer."},
    {NULL, NULL},
};

const char *kyc_portal_why_message(const char *why)
{
    for (size_t i = 0; why && why_messages[i][0]; i++)
        if (strcmp(why, why_messages[i][0]) == 0)
            return why_messages[i][1];
    return NULL;
}

void kyc_portal_respond_failure(struct http_request *req, int rc, const char *why)
{
    const char *msg = kyc_portal_why_message(why);
    switch (rc) {
    case CAPP_EINVAL:
        http_respond_error(req, 400, why ? why : "invalid", "%s",
                           msg ? msg : "the request is not valid");
        return;
    case CAPP_ENOTFOUND:
        http_respond_error(req, 404, why ? why : "not_found", "%s",
                           msg ? msg : "no such identity or decision for this install");
        return;
    case CAPP_ECONFLICT:
        http_respond_error(req, 409, why ? why : "conflict", "%s",
                           msg ? msg : "the current state does not allow this");
        return;
    case CAPP_EPERM:
        http_respond_error(req, 403, why ? why : "forbidden", "%s",
                           msg ? msg : "this action is not allowed");
        return;
    case CAPP_EBUSY:
        http_respond_error(req, 503, "busy", "the database is busy; try again");
        return;
    default:
        http_respond_error(req, 500, "internal", "the action could not be completed");
        return;
    }
}
