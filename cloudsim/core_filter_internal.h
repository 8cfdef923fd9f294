/*
 * core_filter_internal.h — what the filter engine's files share (cloudsim/core_filter_*.c):
 * typed filter values, made by the parser (core_filter_parse.c) and by the SQL builder
 * (core_filter_sql.c) for the members of an object value. Not for other modules: they use
 * core_filter.h.
 */
#ifndef CLOUDSIM_CORE_FILTER_INTERNAL_H
#define CLOUDSIM_CORE_FILTER_INTERNAL_H

#include "cloudsim/core_filter.h"

/* Frees what v owns (its text and object), not v itself. */
void core_filter_value_free(struct core_value *v);
/* Types the n bytes at s the way Core types a query value: integer, float, boolean, else
 * string. 0 or CAPP_ENOMEM; v owns what it holds either way (free with core_filter_value_free). */
int core_filter_value_from_text(struct core_value *v, const char *s, size_t n);
/* Keeps j's JSON type (objects and arrays as CORE_VALUE_OBJECT, referenced) with its text.
 * 0 or CAPP_ENOMEM; as above for ownership. */
int core_filter_value_from_json(struct core_value *v, const json_t *j);

#endif
