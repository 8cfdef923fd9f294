/*
 * portal.h — the KYC review portal inside the Blnk Cloud iframe (issue #5): server-rendered
 * pages at GET /portal (?view=overview|queue|identity) and the review API under /portal/api/
 * (capp enforces the session and, for state changes, the CSRF token):
 *
 *   GET  /portal/api/identities              results_list() with the queue's filters
 *   GET  /portal/api/identities/{id}         one result + pending decision, decisions, false
 *                                            positives
 *   GET  /portal/api/identities/{id}/dossier the audit dossier as a JSON download
 *   POST /portal/api/decisions               {identity_id, action, note} → 200 applied | 202
 *                                            pending (four-eyes)
 *   POST /portal/api/decisions/{id}/confirm  {note} the second reviewer
 *   POST /portal/api/decisions/{id}/cancel   {note} withdraw / decline
 *   POST /portal/api/false-positives         {identity_id, entry_id, note}
 *   GET  /portal/api/settings, PUT {four_eyes}
 *   GET  /portal/api/export.csv              the queue's filters, every page, as CSV
 *   /portal/api/reviewers/...                reviewer accounts: set-up, enrolment, TOTP sign-in,
 *                                            administration (kyc/portal_reviewers.c)
 *
 * Reading needs only the portal session; every change above (decisions, confirmations, false
 * positives, settings, the CSV export) needs the session signed in to a reviewer account (spec
 * D23′, kyc/reviewers.h), else 403 sign_in_required.
 *
 * The workflow rules are kyc/review.h's; this module only turns HTTP into calls and results
 * into HTML/JSON. Nothing it sends names a Cloud key or an upstream error text.
 */
#ifndef KYC_PORTAL_H
#define KYC_PORTAL_H

#include <stddef.h>

struct capp_app;
struct pipeline;

/* Migrates the review tables, sets the portal page, static assets and API routes. The
 * pipeline is borrowed and must outlive the app's HTTP server. page_max_bytes is the most one
 * rendered page may hold (0: PORTAL_PAGE_MAX_BYTES, 4 MiB); a page that does not fit is a 500
 * page_too_large, never a truncated page. */
int kyc_portal_register(struct capp_app *app, struct pipeline *pipeline, size_t page_max_bytes);

#endif
