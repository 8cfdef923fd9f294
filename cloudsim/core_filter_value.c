/*
 * core_filter_value.c — a filter's typed values (see core_filter_internal.h), shared by the
 * parser (core_filter_parse.c), which types every value it reads, and the SQL builder
 * (core_filter_sql.c), which types the members of an object value it compares key by key.
 *
 * Core types a query-string value by trying integer, float, boolean, and keeps it a string
 * otherwise (so "007" is 7 and "0x1p3" is a string: hex and binary exponents are refused);
 * a JSON value keeps its JSON type, objects and arrays as CORE_VALUE_OBJECT. Every value also
 * keeps its text as sent (numbers from JSON printed back), which is what text comparisons bind.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capp/err.h"
#include "capp/json.h"
#include "cloudsim/core_filter_internal.h"

void core_filter_value_free(struct core_value *v)
{
    free(v->text);
    json_decref(v->object);
}

/* Types a query-string value the way Core does: integer, float, boolean, else string. */
int core_filter_value_from_text(struct core_value *v, const char *s, size_t n)
{
    memset(v, 0, sizeof *v);
    v->text = strndup(s, n);
    if (!v->text)
        return CAPP_ENOMEM;
    v->type = CORE_VALUE_STRING;
    if (n == 0)
        return 0;
    char *end = NULL;
    errno = 0;
    long long i = strtoll(v->text, &end, 10);
    if (errno == 0 && *end == '\0' && !isspace((unsigned char)v->text[0])) {
        v->type = CORE_VALUE_INTEGER;
        v->integer = i;
        v->real = (double)i;
        return 0;
    }
    errno = 0;
    double d = strtod(v->text, &end);
    if (errno == 0 && *end == '\0' && isfinite(d) && strpbrk(v->text, "0123456789") &&
        !isspace((unsigned char)v->text[0]) && !strpbrk(v->text, "xXpP")) {
        v->type = CORE_VALUE_REAL;
        v->real = d;
        return 0;
    }
    if (strcasecmp(v->text, "true") == 0 || strcasecmp(v->text, "false") == 0) {
        v->type = CORE_VALUE_BOOLEAN;
        v->boolean = strcasecmp(v->text, "true") == 0;
    }
    return 0;
}

int core_filter_value_from_json(struct core_value *v, const json_t *j)
{
    memset(v, 0, sizeof *v);
    char num[64];
    switch (json_typeof(j)) {
    case JSON_STRING:
        v->type = CORE_VALUE_STRING;
        v->text = strdup(json_string_value(j));
        break;
    case JSON_INTEGER:
        v->type = CORE_VALUE_INTEGER;
        v->integer = json_integer_value(j);
        v->real = (double)v->integer;
        snprintf(num, sizeof num, "%lld", v->integer);
        v->text = strdup(num);
        break;
    case JSON_REAL:
        v->type = CORE_VALUE_REAL;
        v->real = json_real_value(j);
        snprintf(num, sizeof num, "%.17g", v->real);
        v->text = strdup(num);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        v->type = CORE_VALUE_BOOLEAN;
        v->boolean = json_is_true(j);
        v->text = strdup(v->boolean ? "true" : "false");
        break;
    case JSON_NULL:
        v->type = CORE_VALUE_NULL;
        v->text = strdup("null");
        break;
    case JSON_OBJECT:
    case JSON_ARRAY:
        v->type = CORE_VALUE_OBJECT;
        v->object = json_incref((json_t *)j);
        v->text = json_to_string(j);
        break;
    }
    return v->text ? 0 : CAPP_ENOMEM;
}
