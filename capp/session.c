#include "session.h"

#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "assert.h"
#include "clock.h"
#include "crypto.h"
#include "err.h"
#include "log.h"

static void csrf_for(const struct capp_app *app, const char *session_hash, char out[64])
{
    uint8_t mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), app->csrf_key, sizeof app->csrf_key, (const unsigned char *)session_hash,
         strlen(session_hash), mac, &len);
    crypto_b64url_encode(mac, sizeof mac, out);
}

static enum session_result check_install(struct capp_app *app, const char *installed_app_id,
                                         struct store_install *in)
{
    int rc = store_install_get(app->store, installed_app_id, in);
    if (rc == CAPP_ENOTFOUND)
        return SESSION_INACTIVE;
    if (rc)
        return SESSION_UNAVAILABLE;
    /* The portal never needs the sealed key: drop it at once. */
    store_install_clear(in);
    return in->active ? SESSION_OK : SESSION_INACTIVE;
}

enum session_result session_redeem(struct capp_app *app, const char *token, char *cookie,
                                   size_t cap, struct store_session *out)
{
    char hash[CRYPTO_SHA256_HEX_BYTES];
    crypto_sha256_hex(token, strlen(token), hash);
    struct store_launch launch;
    if (store_launch_take(app->store, hash, &launch) != 0)
        return SESSION_MISSING;
    int64_t now = clock_now_ms();
    if (launch.expires_at_ms <= now)
        return SESSION_EXPIRED;
    struct store_install in;
    enum session_result r = check_install(app, launch.installed_app_id, &in);
    if (r != SESSION_OK)
        return r;

    char session_token[CAPP_SESSION_TOKEN_BYTES * 2];
    if (crypto_token(CAPP_SESSION_TOKEN_BYTES, session_token) != 0)
        return SESSION_UNAVAILABLE;
    struct store_session s = launch;
    crypto_sha256_hex(session_token, strlen(session_token), s.token_hash);
    s.created_at_ms = now;
    s.expires_at_ms = now + app->config.session_ttl_seconds * 1000LL;
    if (store_session_create(app->store, &s) != 0) {
        crypto_wipe(session_token, sizeof session_token);
        return SESSION_UNAVAILABLE;
    }
    /* A browser-session cookie, not Max-Age=TTL: the server decides expiry, so an expired
     * session still reaches it and gets the "session expired, launch again" page (410)
     * instead of an anonymous 401. */
    int n =
        snprintf(cookie, cap,
                 SESSION_COOKIE "=%s; Path=/portal; HttpOnly; Secure; SameSite=None; Partitioned",
                 session_token);
    crypto_wipe(session_token, sizeof session_token);
    /* the caller's buffer is sized for this cookie (session.h): a cut one would be a session
     * the browser can never present */
    CAPP_ASSERT(n > 0 && (size_t)n < cap);
    *out = s;
    return SESSION_OK;
}

enum session_result session_lookup(struct capp_app *app, struct http_request *req,
                                   struct capp_portal_context *pc)
{
    memset(pc, 0, sizeof *pc);
    pc->app = app;
    pc->req = req;
    const char *token = http_cookie(req, SESSION_COOKIE);
    if (!token || strlen(token) != crypto_b64url_len(CAPP_SESSION_TOKEN_BYTES))
        return SESSION_MISSING;
    char hash[CRYPTO_SHA256_HEX_BYTES];
    crypto_sha256_hex(token, strlen(token), hash);
    int rc = store_session_get(app->store, hash, &pc->session);
    if (rc == CAPP_ENOTFOUND)
        return SESSION_MISSING;
    if (rc)
        return SESSION_UNAVAILABLE;
    if (pc->session.expires_at_ms <= clock_now_ms())
        return SESSION_EXPIRED;
    enum session_result r = check_install(app, pc->session.installed_app_id, &pc->install);
    if (r != SESSION_OK)
        return r;
    /* A session is bound to its instance and organization, not just to the install. */
    if (strcmp(pc->install.instance_id, pc->session.instance_id) != 0 ||
        (pc->session.organization_id[0] && pc->install.organization_id[0] &&
         strcmp(pc->install.organization_id, pc->session.organization_id) != 0))
        return SESSION_INACTIVE;
    csrf_for(app, pc->session.token_hash, pc->csrf_token);
    return SESSION_OK;
}

int session_csrf_ok(const struct capp_portal_context *pc)
{
    const char *sent = http_header(pc->req, "X-CSRF-Token");
    size_t n = strlen(pc->csrf_token);
    return sent && strlen(sent) == n && crypto_equal(sent, pc->csrf_token, n);
}

const char *session_clear_cookie(void)
{
    return SESSION_COOKIE "=; Path=/portal; Max-Age=0; HttpOnly; Secure; SameSite=None;"
                          " Partitioned";
}
