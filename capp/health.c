/*
 * health.c — /healthz and the database_unavailable answer (health.h).
 *
 * The check is one cheap read through the store the handlers use, on the calling thread's own
 * connection: it fails exactly when they would, and on PostgreSQL it is also what resets a
 * connection the server dropped, so a health probe alone brings a replica back.
 */
#include "health.h"

#include "app.h"
#include "err.h"
#include "log.h"
#include "store.h"

static int database_reachable(struct store *s)
{
    char pin[STORE_ID_CAP];
    int rc = store_app_pin_get(s, pin);
    return rc == 0 || rc == CAPP_ENOTFOUND;
}

void health_handle(struct http_request *req, void *ctx)
{
    struct capp_app *app = ctx;
    if (!database_reachable(app->store)) {
        log_warn("server.health", "req", http_request_id(req), "database", "unreachable", NULL);
        health_respond_database_unavailable(req);
        return;
    }
    static const char ok[] = "{\"status\":\"ok\",\"database\":\"ok\"}";
    http_respond(req, 200, "application/json", ok, sizeof ok - 1);
}

int health_database_lost(int rc)
{
    return rc == CAPP_ENETWORK;
}

void health_respond_database_unavailable(struct http_request *req)
{
    http_respond_error(req, 503, "database_unavailable", "database unreachable");
}
