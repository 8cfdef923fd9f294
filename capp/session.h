/*
 * session.h — launch-token redemption and portal sessions (spec D10, D10′).
 *
 * Redeem: the launch token from ?token= is taken from the store (single use), checked for
 * expiry and for an install that is still active, and exchanged for a portal session: 32 random
 * bytes in a cookie (HttpOnly; Secure; SameSite=None; Partitioned; Path=/portal), stored only as
 * SHA-256, bound to install, organization, instance and user, with an absolute lifetime. The
 * redemption also issues a handoff ticket, so that the browser's next request shows whether the
 * cookie came back.
 *
 * Carriers. A session reaches the server in one of three ways, tried in this order:
 *   - `Authorization: Bearer <token>` (header-carried, D10′): the page keeps the token in
 *     sessionStorage when the browser refused the cookie. Any Authorization header means this
 *     carrier; a malformed one is a 401, never a fall-back to the cookie.
 *   - `?ticket=T` on a GET (a navigation, which cannot carry a header): T is a page ticket, 32
 *     random bytes, single use, 30 s, minted by a header-carried session for itself.
 *   - the cookie.
 * All three resolve to the same stored session, with the same checks: unknown → 401, expired →
 * 410, install no longer active or no longer matching the session's instance/org → 403.
 *
 * Handoff: GET /portal?handoff=H, the redirect target of the redemption. When the request
 * carries the session's cookie, cookies work and the page continues with them. When it does not,
 * session_handoff() replaces the session by a new one (same binding, same expiry) whose token is
 * handed to the page once, in the page body (never in a URL, never logged).
 *
 * Tickets live in memory only (a single-process server; a restart only costs a page a new
 * ticket), stored as SHA-256 hashes, at most CAPP_MAX_LIVE_TICKETS at once and
 * CAPP_MAX_TICKETS_PER_SESSION per session (a session's oldest is dropped first).
 *
 * CSRF: the token handed to the page is HMAC-SHA256(csrf key, session hash), so it needs no
 * storage, differs per session, and is compared in constant time. A header-carried session needs
 * none: a browser never attaches the header by itself, so a forged cross-site request cannot
 * carry it.
 *
 * Threads: every function may be called from any HTTP worker at once.
 */
#ifndef CAPP_SESSION_H
#define CAPP_SESSION_H

#include "app.h"

#define SESSION_COOKIE       "capp_session"
#define SESSION_COOKIE_BYTES 256 /* room for the Set-Cookie value session_redeem writes */

enum session_result {
    SESSION_OK = 0,
    SESSION_MISSING = 401, /* no cookie / unknown token */
    SESSION_EXPIRED = 410,
    SESSION_INACTIVE = 403, /* install no longer active */
    SESSION_UNAVAILABLE = 503,
};

enum session_ticket_kind {
    SESSION_TICKET_HANDOFF = 1, /* ?handoff=: the first request after redemption */
    SESSION_TICKET_PAGE = 2,    /* ?ticket=: a navigation of a header-carried session */
};

/* Tokens and tickets as base64url text: crypto_b64url_len(32) + 1. */
#define SESSION_TOKEN_TEXT_BYTES 44

/* The in-memory ticket table of an app (owned by it). */
int session_tickets_new(struct session_tickets **out);
void session_tickets_free(struct session_tickets *t);

/* Redeems a launch token. On success writes the Set-Cookie header into cookie (cap bytes: at
 * least SESSION_COOKIE_BYTES; a smaller buffer is a bug and aborts) and a handoff ticket for the
 * new session into handoff. */
enum session_result session_redeem(struct capp_app *app, const char *token, char *cookie,
                                   size_t cap, char handoff[SESSION_TOKEN_TEXT_BYTES],
                                   struct store_session *out);
/* Resolves the request's session (header, ticket or cookie, see above) into pc->session,
 * pc->install and pc->carrier, and fills pc->csrf_token. Spends a page ticket. */
enum session_result session_lookup(struct capp_app *app, struct http_request *req,
                                   struct capp_portal_context *pc);
/* Takes the handoff ticket H. *cookie_works is set when the request carries the session's own
 * cookie; otherwise the session is moved to a new token, written to token (wipe it after use),
 * and pc describes it. */
enum session_result session_handoff(struct capp_app *app, struct http_request *req,
                                    const char *handoff, int *cookie_works,
                                    char token[SESSION_TOKEN_TEXT_BYTES],
                                    struct capp_portal_context *pc);
/* A page ticket for pc's session (0, CAPP_EBUSY when the table is full, CAPP_ECRYPTO). */
int session_ticket_issue(struct capp_app *app, const struct capp_portal_context *pc,
                         char ticket[SESSION_TOKEN_TEXT_BYTES]);
/* 1 when the request may change state: a header-carried session, or the session's CSRF token
 * in X-CSRF-Token. */
int session_csrf_ok(const struct capp_portal_context *pc);
/* Set-Cookie value that clears the session cookie. */
const char *session_clear_cookie(void);

#endif
