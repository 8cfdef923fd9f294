/*
 * health.c — /healthz and the database_unavailable answer (health.h).
 *
 * The check is store_ping: on PostgreSQL one round trip on the calling thread's own connection
 * of the store the handlers use, so it fails when they would; it also resets a connection the
 * server dropped, so a health probe alone brings a replica's thread back. SQLite: always up.
 */
#include "health.h"

#include "app.h"
#include "err.h"
#include "log.h"
#include "store.h"

void health_handle(struct http_request *req, void *ctx)
{
    struct capp_app *app = ctx;
    if (!store_ping(app->store)) {
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
