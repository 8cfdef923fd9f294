/*
 * gateway_reply.h — helpers shared by the data half's gateway handlers (gateway_data.c,
 * gateway_proxy.c, gateway_alerts.c).
 *
 * Every handler starts with cs_gateway_begin() (platform half: key, instance, scope, rate
 * limit) and ends by answering through gateway_reply*(), which also writes the audit row
 * (spec D25) with the status it sent.
 */
#ifndef CLOUDSIM_GATEWAY_REPLY_H
#define CLOUDSIM_GATEWAY_REPLY_H

#include <jansson.h>

#include "cloudsim/cloudsim.h"
#include "cloudsim/core.h"

/* Takes ownership of body. */
void gateway_reply(struct cloudsim *cs, struct http_request *req, const struct cs_principal *who,
                   unsigned status, json_t *body);
/* Cloud's error body {"error": message, "code": code}. */
void gateway_reply_error(struct cloudsim *cs, struct http_request *req,
                         const struct cs_principal *who, unsigned status, const char *code,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Core's error body (blnk-core-api.md §2), status from err. */
void gateway_reply_core_error(struct cloudsim *cs, struct http_request *req,
                              const struct cs_principal *who, const struct core_error *err);
/* Plain-text answer (Core's "404 page not found"). */
void gateway_reply_text(struct cloudsim *cs, struct http_request *req,
                        const struct cs_principal *who, unsigned status, const char *text);

/* Cloud paging (spec §8.3, D17): page (default 1; < 1 or not a number → 1) and pageSize
 * (default def; < 1 or not a number → def; > 100 → 100). */
void gateway_paging(struct http_request *req, long long def, long long *page, long long *page_size);
/* Parses the request body as one JSON object; an empty body gives {}. NULL when malformed. */
json_t *gateway_body_object(struct http_request *req);
/* Collects query filters of res into set; 0 or CAPP_EINVAL with err filled. */
int gateway_query_filters(struct http_request *req, const struct core_resource *res,
                          enum core_dialect dialect, struct core_filter_set *set,
                          struct core_filter_error *err);

#endif
