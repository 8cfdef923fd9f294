/*
 * cloudsim.h — the contract between the two halves of cloudsim, the local Blnk Cloud.
 *
 *   platform half (platform_*.c, gateway_front.c, admin_*.c, dashboard*.c, main.c):
 *     organizations, instances, users, apps from manifests (spec D24), installs and scoped API
 *     keys (D6), the install / uninstall / launch flows with V1/V2 behaviour (D4, D7, D8), the
 *     admin API and CLI, the dashboard, and the gateway front door below (key → principal,
 *     instance binding, scopes, rate limit, audit log).
 *   data half (core_*.c, gateway.c and its gateway_* handlers, seed*.c): the Core-like store
 *     of identities, ledgers, balances and transactions (spec blnk-core-api.md), /data and
 *     root filters, /proxy, /alerts, and `cloudsim seed`.
 *
 * Both halves share one SQLite database (each with its own migrations component) and one
 * HTTP server. Every function here that takes a request and returns non-zero has already
 * answered it.
 */
#ifndef CLOUDSIM_H
#define CLOUDSIM_H

#include <sqlite3.h>
#include <stdint.h>

#include "capp/http.h"

/* Scopes (spec §10) as bits. */
enum cs_scope {
    CS_SCOPE_DATA_READ = 1 << 0,
    CS_SCOPE_DATA_WRITE = 1 << 1,
    CS_SCOPE_ALERTS_READ = 1 << 2,
    CS_SCOPE_ALERTS_WRITE = 1 << 3,
};

/* Who is calling the gateway: resolved from the Bearer key. */
struct cs_principal {
    char installed_app_id[160];
    char app_id[160];
    char organization_id[160];
    char instance_id[160];
    char api_key_prefix[16];
    unsigned scopes; /* granted enum cs_scope bits */
};

struct cloudsim; /* defined by the platform half */

/* The calling thread's own connection to the cloudsim database (opened on first use). */
sqlite3 *cs_db(struct cloudsim *cs);

/*
 * Gateway front door (platform half, gateway_front.c). Checks, in this order: Bearer key (401
 * missing, unknown or revoked), instance_id query parameter when instance_required (400 missing;
 * 403 when it is not the key's instance; for /alerts it is optional but a mismatch is 403, spec
 * D14), scope (403), per-key rate limit when enabled (429 with Retry-After). On success fills *who
 * and returns 0; otherwise it has answered with {"error","code"} and written the audit row.
 */
int cs_gateway_begin(struct cloudsim *cs, struct http_request *req, unsigned required_scope,
                     int instance_required, struct cs_principal *who);
/* Audit row for a gateway call after it was answered (spec D25): never the key. */
void cs_audit(struct cloudsim *cs, const struct cs_principal *who, const char *method,
              const char *path, unsigned status);

/* How GET /alerts answers (D15, D17′: the envelope is undocumented, so tests try each). */
enum cs_alerts_list {
    CS_ALERTS_PAGED = 0, /* {"data":[...],"total":N}, paged */
    CS_ALERTS_ARRAY,     /* a bare array, paged */
    CS_ALERTS_UNPAGED,   /* {"data":[every alert],"total":N}, page and pageSize ignored */
};
/* The gateway's list behaviour from `cloudsim serve`'s flags (platform half, gateway_front.c;
 * immutable while serving): the pageSize cap (D17′; 0 when only the usual 100 applies) and the
 * GET /alerts envelope. */
long cs_max_page_size(const struct cloudsim *cs);
enum cs_alerts_list cs_alerts_list_mode(const struct cloudsim *cs);

/* Data half: registers the /data, root POST /{resource}/filter, /proxy and /alerts routes. */
int cs_gateway_register(struct cloudsim *cs, struct http_server *srv);
/* Data half: creates its tables (migrations component "cloudsim_data"). */
int cs_data_migrate(sqlite3 *db);

#endif
