/*
 * gateway.c — cs_gateway_register(): wires the data half's route groups (/alerts, /data and
 * the root filters, /proxy) into the server. The handlers live in gateway_{alerts,data,proxy}.c
 * and share gateway_reply.h; this file only knows their registration functions.
 */
#include "cloudsim/gateway.h"

int cs_gateway_register(struct cloudsim *cs, struct http_server *srv)
{
    int rc = 0;
    gateway_alerts_register(cs, srv, &rc);
    gateway_data_register(cs, srv, &rc);
    gateway_proxy_register(cs, srv, &rc);
    return rc;
}
