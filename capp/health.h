/*
 * health.h — what a replica says about its database: GET /healthz, and the one 503 answer of
 * every handler that finds the database unreachable.
 *
 *   GET /healthz   200 {"status":"ok","database":"ok"}
 *                  503 {"error":"database unreachable","code":"database_unavailable"}
 *
 * A replica that loses its database keeps running. Lifecycle callbacks and the portal generator
 * answer 503 database_unavailable when the store reports the server unreachable (CAPP_ENETWORK),
 * so Blnk Cloud's single attempt fails cleanly (an uninstall completes only after the app's
 * 2xx) and a load balancer's health check takes the replica out of rotation. Nothing is cached
 * about the failure: every request asks the store again, and the store reconnects on its next
 * use, so the first request after the database returns succeeds without a restart.
 */
#ifndef CAPP_HEALTH_H
#define CAPP_HEALTH_H

#include "http.h"

/* GET /healthz; ctx is the struct capp_app. */
void health_handle(struct http_request *req, void *ctx);
/* 1 when a store result means the database server cannot be reached (as opposed to a refused
 * or failed statement): the request may succeed once it is back. */
int health_database_lost(int rc);
/* 503 {"error":"database unreachable","code":"database_unavailable"}. */
void health_respond_database_unavailable(struct http_request *req);

#endif
