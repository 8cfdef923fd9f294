/*
 * TEMPORARY stand-in for the data half's gateway (gateway_*.c) and seeder (seed.c), compiled
 * only while those files do not exist (see CMakeLists.txt). It routes the §10 surfaces through
 * cs_gateway_begin() and answers an empty page, so the platform's gateway rules can be tested.
 * Delete this file as soon as the data half's gateway lands.
 */
#include <stdio.h>
#include <string.h>

#include "cloudsim/platform.h"

#ifdef CLOUDSIM_STUB_GATEWAY

static void answer(struct cloudsim *cs, struct http_request *req, unsigned scope, int instance)
{
    struct cs_principal who;
    if (cs_gateway_begin(cs, req, scope, instance, &who) != 0)
        return;
    http_respond_json(req, 200, json_pack("{s:[], s:i}", "data", "total", 0));
    cs_audit(cs, &who, http_method(req), http_path(req), 200);
}

static void data_read(struct http_request *req, void *ctx)
{
    answer(ctx, req, CS_SCOPE_DATA_READ, 1);
}

static void proxy(struct http_request *req, void *ctx)
{
    int read = strcmp(http_method(req), "GET") == 0;
    answer(ctx, req, read ? CS_SCOPE_DATA_READ : CS_SCOPE_DATA_WRITE, 1);
}

static void alerts(struct http_request *req, void *ctx)
{
    int read = strcmp(http_method(req), "GET") == 0;
    answer(ctx, req, read ? CS_SCOPE_ALERTS_READ : CS_SCOPE_ALERTS_WRITE, 0);
}

int cs_gateway_register(struct cloudsim *cs, struct http_server *srv)
{
    int rc = http_server_route(srv, "GET", "/data/*", data_read, cs);
    if (rc == 0)
        rc = http_server_route(srv, "*", "/proxy/*", proxy, cs);
    if (rc == 0)
        rc = http_server_route(srv, "*", "/alerts*", alerts, cs);
    if (rc == 0)
        rc = http_server_route(srv, "POST", "/identities/filter", data_read, cs);
    return rc;
}

#endif

#ifdef CLOUDSIM_STUB_SEED
int cs_seed_main(int argc, char **argv);
int cs_seed_main(int argc, char **argv)
{
    fprintf(stderr, "cloudsim seed: not available in this build yet\n");
    return 2;
}
#endif
