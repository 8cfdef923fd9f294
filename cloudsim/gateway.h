/*
 * gateway.h — the data half's route groups, each registered by its handler file:
 *   gateway_data.c    GET /data/{resource}[/{id}] and the root POST /{resource}/filter
 *   gateway_proxy.c   /proxy/<core-path>
 *   gateway_alerts.c  /alerts and /alerts/statuses
 * cs_gateway_register() (cloudsim.h, in gateway.c) calls all three. What the handlers share is
 * in gateway_reply.h; the key/scope front door they start with, cs_gateway_begin()
 * (cloudsim.h), is gateway_front.c.
 *
 * Each adds its routes to srv; on a failure it sets *rc (when still 0) and adds nothing more.
 */
#ifndef CLOUDSIM_GATEWAY_H
#define CLOUDSIM_GATEWAY_H

#include "cloudsim/cloudsim.h"

void gateway_data_register(struct cloudsim *cs, struct http_server *srv, int *rc);
void gateway_proxy_register(struct cloudsim *cs, struct http_server *srv, int *rc);
void gateway_alerts_register(struct cloudsim *cs, struct http_server *srv, int *rc);

#endif
