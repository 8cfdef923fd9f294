/*
 * serve.h — the `serve` command of a capp program: flags and environment, master-key loading,
 * signal handling and clean shutdown. A program supplies a configure hook that registers its
 * portal page and routes before the server starts.
 *
 * Flags (environment equivalents in brackets):
 *   --listen HOST:PORT [KYC_LISTEN]            default 127.0.0.1:8080
 *   --db PATH [KYC_DB]                         SQLite file, default kyc.db
 *   --public-url URL [KYC_PUBLIC_URL]          base of portal URLs, default http://<listen>
 *   --app-id ID [KYC_APP_ID]                   the only app served (spec D1'); without it the
 *                                              stored pin, or the first install's app_id
 *   --master-key-file PATH [KYC_MASTER_KEY_FILE] or KYC_MASTER_KEY (64 hex characters);
 *                                              a file may hold further lines: older keys kept
 *                                              to open what they sealed (rotation)
 *   --session-ttl SECONDS [KYC_SESSION_TTL]    300..900, default 900
 *   --frame-ancestors "ORIGIN ..." [KYC_FRAME_ANCESTORS]
 *   --threads N, --quiet
 *   --test-only-session-ttl S, --test-only-launch-ttl S   shorten lifetimes for tests (warned)
 *   --test-only-uninstall-window-ms MS, --test-only-uninstall-backoff-ms MS
 *                                              shorten uninstall confirmation (uninstall_confirm.h)
 */
#ifndef CAPP_SERVE_H
#define CAPP_SERVE_H

#include "app.h"

/* What a program adds to `serve`. Every member may be NULL. */
struct capp_serve_hooks {
    /* A flag capp does not know: return 1 when consumed (value used), 0 when unknown, -1 when
     * the value is bad (the hook prints why). Every program flag takes one value. */
    int (*option)(void *ctx, const char *flag, const char *value);
    /* After the app is built, before it listens: register pages, routes, hooks, workers. */
    int (*configure)(struct capp_app *app, void *ctx);
    /* After the HTTP server stopped and before the store closes: stop background work. */
    void (*shutdown)(struct capp_app *app, void *ctx);
    /* On SIGHUP, on the main thread while the server runs (may be NULL): reload what can be
     * reloaded without a restart. Must not block for long. */
    void (*reload)(struct capp_app *app, void *ctx);
    const char *usage; /* extra usage lines for the program's flags */
    void *ctx;
};

/* argv[0] is the command word ("serve"). Returns a process exit code. */
int capp_serve_main(int argc, char **argv, const struct capp_serve_hooks *hooks);

#endif
