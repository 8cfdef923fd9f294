/*
 * results_internal.h — what the results store's files (results_db.c, results_pipeline.c,
 * results_portal.c) share. Not for callers: they use kyc/results*.h.
 */
#ifndef KYC_RESULTS_INTERNAL_H
#define KYC_RESULTS_INTERNAL_H

#include <jansson.h>

#include "kyc/results.h"

#define RESULTS_STATUS_COUNT 6

/* The six statuses, in display order. */
extern const char *const results_statuses[RESULTS_STATUS_COUNT];

/* A text column, "" for NULL (valid until the statement steps again). */
const char *results_col_text(struct sql_stmt *st, int col);
/* text parsed as JSON, or fallback when it is empty or not JSON (one of the two is released). */
json_t *results_parse_or(const char *text, json_t *fallback);

#endif
