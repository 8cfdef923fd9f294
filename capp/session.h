/*
 * session.h — launch-token redemption and portal sessions (spec D10).
 *
 * Redeem: the launch token from ?token= is taken from the store (single use), checked for
 * expiry and for an install that is still active, and exchanged for a portal session: 32 random
 * bytes in a cookie (HttpOnly; Secure; SameSite=None; Partitioned; Path=/portal), stored only as
 * SHA-256, bound to install, organization, instance and user, with an absolute lifetime.
 *
 * Lookup: every portal page and API call resolves the cookie again: unknown → 401, expired →
 * 410, install no longer active → 403.
 *
 * CSRF: the token handed to the page is HMAC-SHA256(csrf key, session hash), so it needs no
 * storage, differs per session, and is compared in constant time.
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

/* Redeems a launch token. On success writes the Set-Cookie header into cookie (cap bytes: at
 * least SESSION_COOKIE_BYTES; a smaller buffer is a bug and aborts). */
enum session_result session_redeem(struct capp_app *app, const char *token, char *cookie,
                                   size_t cap, struct store_session *out);
/* Resolves the request's cookie into pc->session and pc->install, and fills pc->csrf_token. */
enum session_result session_lookup(struct capp_app *app, struct http_request *req,
                                   struct capp_portal_context *pc);
/* 1 when the request carries the session's CSRF token in X-CSRF-Token. */
int session_csrf_ok(const struct capp_portal_context *pc);
/* Set-Cookie value that clears the session cookie. */
const char *session_clear_cookie(void);

#endif
