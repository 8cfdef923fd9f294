#include "session.h"

#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assert.h"
#include "clock.h"
#include "crypto.h"
#include "err.h"
#include "log.h"

/* One live ticket; a slot whose hash is "" is free. */
struct ticket {
    char hash[CRYPTO_SHA256_HEX_BYTES];
    char session_hash[CRYPTO_SHA256_HEX_BYTES];
    int64_t issued_at_ms;
    int64_t expires_at_ms;
    enum session_ticket_kind kind;
};

/* A fixed table scanned under one lock: a handful of tickets per open portal page, each alive
 * for seconds, so a linear scan of CAPP_MAX_LIVE_TICKETS entries costs nothing next to the page
 * it opens, and the memory is bounded whatever the clients do. */
struct session_tickets {
    pthread_mutex_t lock;
    struct ticket slots[CAPP_MAX_LIVE_TICKETS];
};

int session_tickets_new(struct session_tickets **out)
{
    struct session_tickets *t = calloc(1, sizeof *t);
    if (!t)
        return CAPP_ENOMEM;
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return CAPP_ENOMEM;
    }
    *out = t;
    return 0;
}

void session_tickets_free(struct session_tickets *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    crypto_wipe(t->slots, sizeof t->slots);
    free(t);
}

static int ticket_issue(struct session_tickets *t, const char *session_hash,
                        enum session_ticket_kind kind, int64_t expires_at_ms,
                        char ticket[SESSION_TOKEN_TEXT_BYTES])
{
    if (crypto_token(CAPP_TICKET_BYTES, ticket) != 0)
        return CAPP_ECRYPTO;
    char hash[CRYPTO_SHA256_HEX_BYTES];
    crypto_sha256_hex(ticket, strlen(ticket), hash);
    int64_t now = clock_now_ms();
    pthread_mutex_lock(&t->lock);
    int free_slot = -1, oldest_own = -1, own = 0;
    for (int i = 0; i < CAPP_MAX_LIVE_TICKETS; i++) {
        struct ticket *s = &t->slots[i];
        if (s->hash[0] && s->expires_at_ms <= now)
            memset(s, 0, sizeof *s);
        if (!s->hash[0]) {
            if (free_slot < 0)
                free_slot = i;
        } else if (strcmp(s->session_hash, session_hash) == 0) {
            own++;
            if (oldest_own < 0 || s->issued_at_ms < t->slots[oldest_own].issued_at_ms)
                oldest_own = i;
        }
    }
    /* One session cannot fill the table for the others: it recycles its own oldest ticket. */
    int slot = own >= CAPP_MAX_TICKETS_PER_SESSION ? oldest_own : free_slot;
    if (slot < 0) {
        pthread_mutex_unlock(&t->lock);
        crypto_wipe(ticket, SESSION_TOKEN_TEXT_BYTES);
        return CAPP_EBUSY;
    }
    struct ticket *s = &t->slots[slot];
    memcpy(s->hash, hash, sizeof s->hash);
    snprintf(s->session_hash, sizeof s->session_hash, "%s", session_hash);
    s->issued_at_ms = now;
    s->expires_at_ms = expires_at_ms;
    s->kind = kind;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

/* Spends a ticket of the given kind: 0 with its session's hash, CAPP_ENOTFOUND, CAPP_EEXPIRED. */
static int ticket_take(struct session_tickets *t, const char *ticket, enum session_ticket_kind kind,
                       char session_hash[CRYPTO_SHA256_HEX_BYTES])
{
    if (strlen(ticket) != crypto_b64url_len(CAPP_TICKET_BYTES))
        return CAPP_ENOTFOUND;
    char hash[CRYPTO_SHA256_HEX_BYTES];
    crypto_sha256_hex(ticket, strlen(ticket), hash);
    int rc = CAPP_ENOTFOUND;
    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < CAPP_MAX_LIVE_TICKETS; i++) {
        struct ticket *s = &t->slots[i];
        if (!s->hash[0] || s->kind != kind || strcmp(s->hash, hash) != 0)
            continue;
        rc = s->expires_at_ms <= clock_now_ms() ? CAPP_EEXPIRED : 0;
        memcpy(session_hash, s->session_hash, CRYPTO_SHA256_HEX_BYTES);
        memset(s, 0, sizeof *s);
        break;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

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

static int64_t ticket_expiry(int64_t now, int64_t session_expires_at_ms)
{
    int64_t t = now + CAPP_TICKET_TTL_SECONDS * 1000LL;
    return t < session_expires_at_ms ? t : session_expires_at_ms;
}

enum session_result session_redeem(struct capp_app *app, const char *token, char *cookie,
                                   size_t cap, char handoff[SESSION_TOKEN_TEXT_BYTES],
                                   struct store_session *out)
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

    char session_token[SESSION_TOKEN_TEXT_BYTES];
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
    if (ticket_issue(app->tickets, s.token_hash, SESSION_TICKET_HANDOFF,
                     ticket_expiry(now, s.expires_at_ms), handoff) != 0) {
        crypto_wipe(session_token, sizeof session_token);
        store_session_delete(app->store, s.token_hash);
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

/* The stored session with this hash, checked for expiry and its install's binding. */
static enum session_result resolve(struct capp_app *app, const char *hash,
                                   struct capp_portal_context *pc)
{
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

static int session_token_hash(const char *token, char hash[CRYPTO_SHA256_HEX_BYTES])
{
    if (!token || strlen(token) != crypto_b64url_len(CAPP_SESSION_TOKEN_BYTES))
        return CAPP_EINVAL;
    crypto_sha256_hex(token, strlen(token), hash);
    return 0;
}

static enum session_result ticket_result(int rc)
{
    return rc == CAPP_EEXPIRED ? SESSION_EXPIRED : rc ? SESSION_MISSING : SESSION_OK;
}

enum session_result session_lookup(struct capp_app *app, struct http_request *req,
                                   struct capp_portal_context *pc)
{
    memset(pc, 0, sizeof *pc);
    pc->app = app;
    pc->req = req;
    char hash[CRYPTO_SHA256_HEX_BYTES];
    const char *auth = http_header(req, "Authorization");
    const char *ticket = strcmp(http_method(req), "GET") == 0 ? http_query(req, "ticket") : NULL;
    if (auth) {
        /* RFC 6750: the scheme is case-insensitive; the token is ours, exact. */
        pc->carrier = CAPP_CARRIER_HEADER;
        if (strncasecmp(auth, "Bearer ", 7) != 0 || session_token_hash(auth + 7, hash) != 0)
            return SESSION_MISSING;
    } else if (ticket) {
        pc->carrier = CAPP_CARRIER_TICKET;
        enum session_result r =
            ticket_result(ticket_take(app->tickets, ticket, SESSION_TICKET_PAGE, hash));
        if (r != SESSION_OK)
            return r;
    } else {
        pc->carrier = CAPP_CARRIER_COOKIE;
        if (session_token_hash(http_cookie(req, SESSION_COOKIE), hash) != 0)
            return SESSION_MISSING;
    }
    return resolve(app, hash, pc);
}

enum session_result session_handoff(struct capp_app *app, struct http_request *req,
                                    const char *handoff, int *cookie_works,
                                    char token[SESSION_TOKEN_TEXT_BYTES],
                                    struct capp_portal_context *pc)
{
    memset(pc, 0, sizeof *pc);
    pc->app = app;
    pc->req = req;
    *cookie_works = 0;
    token[0] = '\0';
    char hash[CRYPTO_SHA256_HEX_BYTES], cookie_hash[CRYPTO_SHA256_HEX_BYTES];
    enum session_result r =
        ticket_result(ticket_take(app->tickets, handoff, SESSION_TICKET_HANDOFF, hash));
    if (r != SESSION_OK)
        return r;
    if (session_token_hash(http_cookie(req, SESSION_COOKIE), cookie_hash) == 0 &&
        crypto_equal(cookie_hash, hash, sizeof hash)) {
        *cookie_works = 1;
        pc->carrier = CAPP_CARRIER_COOKIE;
        return resolve(app, hash, pc);
    }
    /* The cookie did not come back: the browser refused it. The session moves to a new token
     * that the page carries in a header; the cookie's token, which no browser holds, goes. */
    pc->carrier = CAPP_CARRIER_HEADER;
    r = resolve(app, hash, pc);
    if (r != SESSION_OK)
        return r;
    if (crypto_token(CAPP_SESSION_TOKEN_BYTES, token) != 0)
        return SESSION_UNAVAILABLE;
    struct store_session moved = pc->session;
    crypto_sha256_hex(token, strlen(token), moved.token_hash);
    if (store_session_create(app->store, &moved) != 0) {
        crypto_wipe(token, SESSION_TOKEN_TEXT_BYTES);
        return SESSION_UNAVAILABLE;
    }
    store_session_delete(app->store, hash);
    pc->session = moved;
    csrf_for(app, moved.token_hash, pc->csrf_token);
    return SESSION_OK;
}

int session_ticket_issue(struct capp_app *app, const struct capp_portal_context *pc,
                         char ticket[SESSION_TOKEN_TEXT_BYTES])
{
    /* A cookie session navigates with its cookie; a ticket must not outlive a page it opens. */
    if (pc->carrier != CAPP_CARRIER_HEADER)
        return CAPP_EPERM;
    return ticket_issue(app->tickets, pc->session.token_hash, SESSION_TICKET_PAGE,
                        ticket_expiry(clock_now_ms(), pc->session.expires_at_ms), ticket);
}

int session_csrf_ok(const struct capp_portal_context *pc)
{
    /* A browser attaches a cookie to a forged cross-site request by itself, never a header. */
    if (pc->carrier == CAPP_CARRIER_HEADER)
        return 1;
    const char *sent = http_header(pc->req, "X-CSRF-Token");
    size_t n = strlen(pc->csrf_token);
    return sent && strlen(sent) == n && crypto_equal(sent, pc->csrf_token, n);
}

const char *session_clear_cookie(void)
{
    return SESSION_COOKIE "=; Path=/portal; Max-Age=0; HttpOnly; Secure; SameSite=None;"
                          " Partitioned";
}
