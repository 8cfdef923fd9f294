/*
 * portal_internal.h — what the portal's files share (kyc/portal_*.c). Not for other modules.
 */
#ifndef KYC_PORTAL_INTERNAL_H
#define KYC_PORTAL_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>

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
};

/* The calling thread's connection to the results database (NULL when it cannot be opened). */
sqlite3 *kyc_portal_db(struct kyc_portal *kp);
/* The portal of this process (one per `kyc serve`), for code that gets no context pointer. */
struct kyc_portal *kyc_portal_state(void);

/* ---- reviewer accounts (kyc/portal_reviewers.c, spec D23′) ---- */

/* The account the session is signed in to: 1 and *out, 0 when it is not (a read-only
 * session), negative on a database error. */
int kyc_portal_reviewer(const struct capp_portal_context *pc, sqlite3 *db,
                        struct reviewer_account *out);
/* For a handler that changes something: 0 and the signed-in account in *out, or the response
 * is sent (403 sign_in_required, or 5xx) and nonzero returned. */
int kyc_portal_require_reviewer(struct capp_portal_context *pc, sqlite3 *db,
                                struct reviewer_account *out);
/* 1 when the session is signed in to account_id. */
int kyc_portal_signed_in_as(const struct capp_portal_context *pc, const char *account_id);
/* The end of the page header: who is signed in (or the way to sign in), and a banner while the
 * install has no account. Closes the <header>. */
void kyc_portal_reviewer_bar(struct buf *b, const struct capp_portal_context *pc);
/* Renders ?view=signin or ?view=reviewers and returns 1; 0 for any other view. */
int kyc_portal_reviewer_view(struct capp_portal_context *pc, sqlite3 *db, const char *view);
/* Migrates the account tables and registers /portal/api/reviewers/... */
int kyc_portal_reviewers_register(struct capp_app *app, struct kyc_portal *kp);

/* GET /portal (all views). */
void kyc_portal_page(struct capp_portal_context *pc, void *ctx);

/* Reads the queue filter from the query string into f (strings borrowed from the request).
 * Returns 0, or CAPP_EINVAL with *why naming the bad parameter. */
int kyc_portal_filter(struct http_request *req, struct results_filter *f, const char **why);

/* Inline SVG charts (class names styled by the portal's CSS). */
int kyc_portal_chart_histogram(struct buf *out, const json_t *histogram);
int kyc_portal_chart_runs(struct buf *out, const json_t *runs);

/* Text for an error code of kyc/review.h (or NULL). */
const char *kyc_portal_why_message(const char *why);

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
