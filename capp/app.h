/*
 * app.h — a Custom App server: the pieces of capp wired together.
 *
 *   POST /api/callback      install / uninstall events           (lifecycle.c)
 *   POST /api/portal        the portal generator                 (portal_generator.c)
 *   GET  /portal?token=…    redeem a launch token → session      (session.c)
 *   GET  /portal?handoff=…  the cookie came back, or a header session (session.c)
 *   GET  /portal            the portal page (the app's renderer)  (portal.c)
 *   *    /portal/api/…      the app's portal API: session + CSRF (portal.c)
 *   GET  /healthz
 *
 * An uninstall keeps the install's sealed key until Cloud confirms it (uninstall_confirm.c,
 * started with the server).
 *
 * It answers for one app_id (app_pin.h): config.app_id, else the stored pin, else the first
 * install's app_id.
 *
 * The app supplies the portal page renderer and portal API routes; capp owns
 * everything about trust: installs, keys, tokens, sessions, CSRF and embedding headers.
 */
#ifndef CAPP_APP_H
#define CAPP_APP_H

#include <stdint.h>

#include "app_pin.h"
#include "http.h"
#include "seal.h"
#include "store.h"
#include "uninstall_confirm.h"

#define CAPP_MAX_PORTAL_ROUTES   64
#define CAPP_MAX_FRAME_ANCESTORS 1024

struct capp_config {
    const char *listen;          /* HOST:PORT */
    const char *db_path;         /* SQLite file */
    const char *public_url;      /* base of portal URLs, no trailing slash; NULL: the bound
                                    http://HOST:PORT (known after start) */
    const char *app_id;          /* the app served (spec D1'); NULL: the stored pin, or the
                                    first install's app_id */
    const char *frame_ancestors; /* extra origins, space-separated (spec D11) */
    int session_ttl_seconds;     /* 300..900 (test-only: any >= 1) */
    int launch_ttl_seconds;      /* 60 (test-only: any >= 1) */
    unsigned threads;            /* 0: one per core */
    int quiet;                   /* no per-request log lines */
    unsigned head_timeout_ms;    /* test-only: request head deadline, 0: the default (http.h) */
    unsigned body_timeout_ms;    /* test-only: request body deadline, 0: the default (http.h) */
    const char *cloud_url;       /* Blnk Cloud base URL for uninstall confirmation probes; NULL: the
                                    default (capp_app_set_cloud_url may set it before start) */
    int64_t uninstall_window_ms; /* 0: 10 minutes (test-only: shorter) */
    int64_t uninstall_backoff_ms; /* first wait between probes; 0: 1 s */
    const char *shell_title;      /* portal_shell_page's title; NULL: CAPP_SHELL_TITLE_DEFAULT */
};

#define CAPP_SHELL_TITLE_DEFAULT "Custom app"
/* How the request carried its portal session (session.h). */
enum capp_session_carrier {
    CAPP_CARRIER_COOKIE = 0,
    CAPP_CARRIER_HEADER, /* Authorization: Bearer, when the browser refused the cookie */
    CAPP_CARRIER_TICKET, /* a single-use page ticket on a navigation of a header session */
};

/* What a portal handler knows about its caller. */
struct capp_portal_context {
    struct capp_app *app;
    struct http_request *req;
    struct store_session session;
    struct store_install install; /* sealed key NOT loaded; permissions are */
    char csrf_token[64];          /* to hand to the page */
    enum capp_session_carrier carrier;
};

typedef void (*capp_portal_fn)(struct capp_portal_context *pc, void *ctx);

struct capp_portal_route {
    char method[8];
    char *path; /* under /portal/api/, may end in '*' */
    capp_portal_fn fn;
    void *ctx;
};

struct session_tickets;

struct capp_app {
    struct capp_config config;
    char public_url[512];              /* config.public_url, or derived from the bound address */
    struct seal_keyring *keyring;      /* borrowed */
    struct store *store;               /* owned */
    struct http_server *http;          /* owned */
    struct uninstall_confirm *confirm; /* owned: confirms uninstalls before keys go */
    uint8_t csrf_key[32];
    char csp[CAPP_MAX_FRAME_ANCESTORS + 512];
    capp_portal_fn page; /* renders GET /portal */
    void *page_ctx;
    struct capp_portal_route routes[CAPP_MAX_PORTAL_ROUTES];
    int route_count;
    const char *static_js; /* the app's script (borrowed) */
    char *script; /* served at /portal/static/app.js: capp's session script, then static_js */
    struct session_tickets *tickets; /* owned: page and handoff tickets (session.h) */
    const char *static_css;          /* served at /portal/static/app.css (borrowed) */
    struct app_pin pin;              /* the app served (spec D1') */
};

/* Validates config, opens the store, prepares routes. Keyring is borrowed (must outlive). */
int capp_app_new(const struct capp_config *config, struct seal_keyring *keyring,
                 struct capp_app **out);
void capp_app_set_page(struct capp_app *app, capp_portal_fn fn, void *ctx);
int capp_app_portal_route(struct capp_app *app, const char *method, const char *path,
                          capp_portal_fn fn, void *ctx);
/* Before start. js is served after capp's own session script (capp/portal/session.js) at
 * /portal/static/app.js; both strings are borrowed. */
void capp_app_set_static(struct capp_app *app, const char *js, const char *css);
/* Before start: where Blnk Cloud is (borrowed; must outlive the app). */
void capp_app_set_cloud_url(struct capp_app *app, const char *cloud_url);
/* Called when an uninstall turned out forged and the install was restored (e.g. to audit it);
 * NULL clears it, waiting for a call in progress. See uninstall_confirm.h. */
void capp_app_set_forged_uninstall_hook(struct capp_app *app, uninstall_forged_fn fn, void *ctx);
/* Starts serving; prints `event=server.listening url=...`. */
int capp_app_start(struct capp_app *app);
/* Stops HTTP (finishing deferred answers), then the store (draining writes). */
void capp_app_free(struct capp_app *app);

#endif
