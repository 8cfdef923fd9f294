/*
 * serve.h — the `serve` command of a capp program: flags and environment, master-key loading,
 * signal handling and clean shutdown. A program supplies a configure hook that registers its
 * portal page and routes before the server starts, and its own names: the prefix of its
 * environment variables, its default database file, its shell page title and the product token
 * its Cloud calls carry (capp names no program of its own).
 *
 * Flags (environment equivalents in brackets, P being the program's env_prefix):
 *   --listen HOST:PORT [P_LISTEN]              default 127.0.0.1:8080
 *   --db TARGET [P_DB]                         where everything is stored, default the program's
 *                                              default_db: a path is a SQLite file, a libpq
 *                                              connection string ("postgresql://…", "host=…
 *                                              dbname=…"; sql.h) a PostgreSQL database that
 *                                              any number of replicas share. It may carry a
 *                                              password: logs and messages show only
 *                                              capp_serve_describe_db's account of it.
 *                                              At most CAPP_MAX_DB_TARGET_BYTES; a SQLite
 *                                              path at most SQLite's limit (504 bytes once
 *                                              absolute): sql_check_target (sql.h)
 *   --public-url URL [P_PUBLIC_URL]            base of portal URLs, default http://<listen>
 *   --app-id ID [P_APP_ID]                     the only app served (spec D1'); without it the
 *                                              stored pin, or the first install's app_id
 *   --master-key-file PATH [P_MASTER_KEY_FILE] or P_MASTER_KEY (64 hex characters);
 *                                              a file may hold further lines: older keys kept
 *                                              to open what they sealed (rotation)
 *   --session-ttl SECONDS [P_SESSION_TTL]      300..900, default 900
 *   --frame-ancestors "ORIGIN ..." [P_FRAME_ANCESTORS]
 *   --threads N, --quiet
 *   --test-only-session-ttl S, --test-only-launch-ttl S   shorten lifetimes for tests (warned)
 *   --test-only-uninstall-window-ms MS, --test-only-uninstall-backoff-ms MS
 *                                              shorten uninstall confirmation (uninstall_confirm.h)
 */
#ifndef CAPP_SERVE_H
#define CAPP_SERVE_H

#include <stddef.h>

#include "app.h"

#define CAPP_SERVE_ENV_PREFIX_DEFAULT "CAPP"
#define CAPP_SERVE_MAX_ENV_PREFIX     32 /* a longer env_prefix is ignored (the default is used) */
#define CAPP_SERVE_DB_DEFAULT         "capp.db"

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
    /* The program's names (static strings). env_prefix: "ACME" reads ACME_LISTEN, ACME_DB, …
     * (default CAPP_SERVE_ENV_PREFIX_DEFAULT). default_db: the --db default
     * (CAPP_SERVE_DB_DEFAULT). title: the built-in shell page's title (capp_config.shell_title).
     * product: the User-Agent product token of every Cloud call, before capp's, e.g.
     * "acme-screen/2" (cloud.h; default none). */
    const char *env_prefix;
    const char *default_db;
    const char *title;
    const char *product;
};

/* The database target as logs and messages may show it: "sqlite PATH", or "postgresql" followed
 * by the host, hostaddr, port and dbname the connection string sets (parsed by libpq), or
 * "postgresql (unparsable connection string)". Nothing else of a PostgreSQL target is shown (it
 * may carry a user and password). Always NUL-terminated; truncated to cap bytes. */
#define CAPP_SERVE_DB_DESCRIPTION_BYTES 600
void capp_serve_describe_db(const char *target, char *out, size_t cap);

/* argv[0] is the command word ("serve"). Returns a process exit code. */
int capp_serve_main(int argc, char **argv, const struct capp_serve_hooks *hooks);

#endif
