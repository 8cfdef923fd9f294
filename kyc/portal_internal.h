/*
 * portal_internal.h — what the portal's files share (kyc/portal_*.c). Not for other modules.
 */
#ifndef KYC_PORTAL_INTERNAL_H
#define KYC_PORTAL_INTERNAL_H

#include <jansson.h>

#include "capp/app.h"
#include "capp/assert.h"
#include "capp/buf.h"
#include "kyc/results_portal.h"
#include "kyc/reviewers.h"

#define PORTAL_PAGE_MAX_BYTES  (4 * 1024 * 1024) /* one rendered page */
#define PORTAL_EXPORT_MAX_ROWS 100000            /* rows in one CSV export */
#define PORTAL_RUNS_CHARTED    20                /* runs in the overview's run chart */

struct kyc_portal {
    struct pipeline *pipeline; /* borrowed */
    size_t page_max_bytes; /* one rendered page: PORTAL_PAGE_MAX_BYTES unless a test lowers it */
};

/* The calling thread's connection to the results database (NULL when it cannot be opened). */
results_db *kyc_portal_db(struct kyc_portal *kp);
/* The portal of this process (one per `kyc serve`), for code that gets no context pointer. */
struct kyc_portal *kyc_portal_state(void);

/* The request's JSON object body into *obj (the caller frees it), or a 400 naming what is wrong
 * is sent and nonzero returned. */
int kyc_portal_read_body(struct capp_portal_context *pc, json_t **obj);

/* ---- refusals (portal_respond.c) ---- */

/* The sentence for an error code of kyc/review.h or kyc/reviewers.h (or NULL). */
const char *kyc_portal_why_message(const char *why);
/* Answers rc (a capp error) as {"error", "code"}: 400, 403, 404, 409 with why as the code and
 * its sentence when given, 503 busy, else 500 (never an upstream text). */
void kyc_portal_respond_failure(struct http_request *req, int rc, const char *why);

/* ---- the reviewer a session is signed in to (portal_reviewer_session.c, spec D23′) ---- */

/* The account the session is signed in to: 1 and *out, 0 when it is not (a read-only
 * session), negative on a database error. The binding is keyed by the session (its hash), so it
 * holds whatever carries the session: cookie, Authorization header or page ticket. */
int kyc_portal_reviewer(const struct capp_portal_context *pc, results_db *db,
                        struct reviewer_account *out);
/* For a handler that changes something: 0 and the signed-in account in *out, or the response
 * is sent (403 sign_in_required, or 5xx) and nonzero returned. */
int kyc_portal_require_reviewer(struct capp_portal_context *pc, results_db *db,
                                struct reviewer_account *out);
/* 1 when the session is signed in to account_id. */
int kyc_portal_signed_in_as(const struct capp_portal_context *pc, const char *account_id);
/* The end of the page header (portal_frame.c draws the rest): who is signed in (or the way to
 * sign in), and a banner while the install has no account. Closes the <header>. */
CAPP_WARN_UNUSED int kyc_portal_reviewer_bar(struct buf *b, const struct capp_portal_context *pc);

/* ---- reviewer accounts: API and pages (portal_reviewers.c) ---- */

/* Migrates the account tables and registers /portal/api/reviewers/... */
int kyc_portal_reviewers_register(struct capp_app *app, struct kyc_portal *kp);

/* GET /portal (all views): portal_pages.c reads ?view= and calls one of the views below. */
void kyc_portal_page(struct capp_portal_context *pc, void *ctx);

/* The views, each answering the request itself (its page, or an error page); db is the
 * calling thread's connection (borrowed). */
void kyc_portal_overview(struct capp_portal_context *pc, const struct kyc_portal *kp,
                         results_db *db); /* portal_overview.c */
void kyc_portal_queue(struct capp_portal_context *pc, const struct kyc_portal *kp,
                      results_db *db); /* portal_queue.c */
void kyc_portal_identity(struct capp_portal_context *pc, const struct kyc_portal *kp,
                         results_db *db); /* portal_identity.c */
/* ?view=signin: first-run set-up, sign-in and enrolment; ?view=reviewers: the admin's page
 * (portal_reviewers.c). */
void kyc_portal_signin(struct capp_portal_context *pc, const struct kyc_portal *kp, results_db *db);
void kyc_portal_reviewers(struct capp_portal_context *pc, const struct kyc_portal *kp,
                          results_db *db);

/* ---- what the views share (portal_frame.c) ----
 * Appends go in the manner of capp/html.h: 0 or the buffer's sticky error, chained with
 * `rc |=` and checked once by kyc_portal_send(). */

/* o's string member key, or "" (never NULL; borrowed from o). */
const char *kyc_portal_str(const json_t *o, const char *key);
/* The result statuses as {code, label} in the order the overview shows them, ending {NULL, NULL}.
 */
extern const char *const kyc_portal_statuses[][2];
/* The label of a status code (the code itself when unknown). */
const char *kyc_portal_status_label(const char *status);
CAPP_WARN_UNUSED int kyc_portal_badge(struct buf *b, const char *status);
CAPP_WARN_UNUSED int kyc_portal_risk_badge(struct buf *b, const char *risk);
/* A <time> for an RFC 3339 timestamp, shown "2026-03-01 12:34 UTC" ("—" for NULL or short). */
CAPP_WARN_UNUSED int kyc_portal_when(struct buf *b, const char *ts);
/* Writes the URL built in u (rc: what building it returned) escaped into b, and frees u. A URL
 * that did not fit u fails b: the page is refused rather than linking somewhere else. */
CAPP_WARN_UNUSED int kyc_portal_href_from(struct buf *b, struct buf *u, int rc);
/* The identity page's href for id (escaped into b). */
CAPP_WARN_UNUSED int kyc_portal_identity_href(struct buf *b, const char *id);
/* The frame: page_open writes the head, the header with the navigation (view: "overview",
 * "queue" or "" for none current) and the reviewer, and opens <main>; page_close closes it
 * with the session footer. */
CAPP_WARN_UNUSED int kyc_portal_page_open(struct buf *b, const struct capp_portal_context *pc,
                                          const char *title, const char *view);
CAPP_WARN_UNUSED int kyc_portal_page_close(struct buf *b, const struct capp_portal_context *pc);
/* Sends the page b (rc: what building it returned) with status and frees b. capp answers a
 * page whose buffer failed with a 500 page_too_large instead of the part that fitted. */
void kyc_portal_send(struct capp_portal_context *pc, unsigned status, struct buf *b, int rc);
/* Answers with a framed page saying title and message (both escaped). */
void kyc_portal_error_page(struct capp_portal_context *pc, const struct kyc_portal *kp,
                           unsigned status, const char *title, const char *message);

/* Reads the queue filter from the query string into f (strings borrowed from the request).
 * Returns 0, or CAPP_EINVAL with *why naming the bad parameter. */
int kyc_portal_filter(struct http_request *req, struct results_filter *f, const char **why);

/* Inline SVG charts (class names styled by the portal's CSS). Append in the manner of
 * capp/html.h: 0 or the buffer's sticky error. */
CAPP_WARN_UNUSED int kyc_portal_chart_histogram(struct buf *out, const json_t *histogram);
CAPP_WARN_UNUSED int kyc_portal_chart_runs(struct buf *out, const json_t *runs);

/* GET /portal/api/export.csv and /portal/api/identities/{id}/dossier. */
void kyc_portal_export_csv(struct capp_portal_context *pc, void *ctx);
void kyc_portal_dossier(struct capp_portal_context *pc, struct kyc_portal *kp,
                        const char *identity_id);

/* kyc/portal/app.js and app.css, embedded at build time (cmake/embed.cmake); served by capp at
 * /portal/static/. The script only submits forms to /portal/api/ with the CSRF token, handles the
 * keyboard shortcuts and refreshes the run progress (the pages are rendered on the server; the
 * CSP allows scripts and styles from 'self' only, never inline). */
extern const char kyc_portal_js[];
extern const char kyc_portal_css[];

#endif
