/*
 * portal.h — everything served under /portal: embedding headers, the launch redirect, the
 * portal page, the relaunch/error pages, static assets and the portal API dispatcher.
 *
 * Every portal response carries the app's Content-Security-Policy (frame-ancestors 'self'
 * https://blnkfinance.com and its subdomains, plus configured origins, and a strict
 * default-src 'self' policy: no inline script), Referrer-Policy: no-referrer,
 * Cache-Control: no-store, X-Content-Type-Options: nosniff, and never X-Frame-Options.
 */
#ifndef CAPP_PORTAL_H
#define CAPP_PORTAL_H

#include "app.h"
#include "buf.h"

void portal_handle_page(struct http_request *req, void *app);
void portal_handle_api(struct http_request *req, void *app);
void portal_handle_static(struct http_request *req, void *app);

/* Builds the CSP value for the app (called once at start). */
int portal_build_csp(struct capp_app *app);
/* Adds the embedding headers to a portal response. */
void portal_add_headers(struct capp_app *app, struct http_request *req);
/* Opens/closes a full portal HTML document (title escaped; CSRF token in a meta tag when
 * pc is given). Appends in the manner of html.h: 0 or the buffer's sticky error. */
CAPP_WARN_UNUSED int portal_page_begin(struct buf *out, const char *title,
                                       const struct capp_portal_context *pc);
CAPP_WARN_UNUSED int portal_page_end(struct buf *out);
/* Sends an HTML page with the portal headers; a page whose buffer failed (buf_failed) is not
 * sent: the answer is a 500 {"error", "code": "page_too_large"} ("page_failed" when memory ran
 * out), logged as portal.page_failed. */
void portal_send_html(struct capp_app *app, struct http_request *req, unsigned status,
                      const struct buf *page);
/* The built-in page of an app that registers none: the user, permissions and session expiry
 * (never the install, organization or instance ID: spec D1). */
void portal_shell_page(struct capp_portal_context *pc, void *ctx);

#endif
