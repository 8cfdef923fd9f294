/*
 * portal_internal.h — what the portal's files share (kyc/portal_*.c). Not for other modules.
 */
#ifndef KYC_PORTAL_INTERNAL_H
#define KYC_PORTAL_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>

#include "capp/app.h"
#include "capp/buf.h"
#include "kyc/results_portal.h"

#define PORTAL_PAGE_MAX_BYTES  (4 * 1024 * 1024) /* one rendered page */
#define PORTAL_EXPORT_MAX_ROWS 100000            /* rows in one CSV export */
#define PORTAL_RUNS_CHARTED    20                /* runs in the overview's run chart */

struct kyc_portal {
    struct pipeline *pipeline; /* borrowed */
    size_t page_max_bytes; /* one rendered page: PORTAL_PAGE_MAX_BYTES unless a test lowers it */
};

/* The calling thread's connection to the results database (NULL when it cannot be opened). */
sqlite3 *kyc_portal_db(struct kyc_portal *kp);

/* GET /portal (all views). */
void kyc_portal_page(struct capp_portal_context *pc, void *ctx);

/* Reads the queue filter from the query string into f (strings borrowed from the request).
 * Returns 0, or CAPP_EINVAL with *why naming the bad parameter. */
int kyc_portal_filter(struct http_request *req, struct results_filter *f, const char **why);

/* Inline SVG charts (class names styled by the portal's CSS). Append in the manner of
 * capp/html.h: 0 or the buffer's sticky error. */
CAPP_WARN_UNUSED int kyc_portal_chart_histogram(struct buf *out, const json_t *histogram);
CAPP_WARN_UNUSED int kyc_portal_chart_runs(struct buf *out, const json_t *runs);

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
