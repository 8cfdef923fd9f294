/*
 * core_filter_parse.c — filters read from a request into a core_filter_set (see core_filter.h):
 * `<field>_<op>=<value>` query parameters and the "filters" array of a JSON body.
 *
 * Design: the field is resolved against the resource's whitelist first (resolve_field), so
 * only column names from our own tables ever reach the SQL that core_filter_sql.c builds; a
 * meta_data path is checked segment by segment (top-level keys only in Core's dialect, nested
 * dot paths in Cloud's) and becomes a quoted JSON path that is bound, never spliced. A query
 * key splits at its last underscore, and a suffix that is no operator leaves the key ignored,
 * as Core does; a JSON body must name its operator exactly. Values are typed by
 * core_filter_value.c; in and between take their values split at ',' and '|' (query form, or a
 * JSON string) or as a JSON array. Every limit of core_filter.h (filters, values, value bytes,
 * path depth) is checked here, each failure naming the parameter, and a filter that fails is
 * discarded whole: the set only ever holds complete filters.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capp/err.h"
#include "cloudsim/core_filter_internal.h"

static const char *const reserved[] = {
    "page",    "pagesize",   "per_page",      "limit",        "offset", "sort",
    "order",   "order_by",   "order_dir",     "instance_id",  "org_id", "logical_operator",
    "sort_by", "sort_order", "include_count", "strict_total",
};

int core_filter_is_reserved(const char *key)
{
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcasecmp(key, reserved[i]) == 0)
            return 1;
    return 0;
}

static const struct {
    const char *name;
    enum core_op op;
    int query_only; /* aliases */
    int cloud_only;
} ops[] = {
    {"eq", CORE_OP_EQ, 0, 0},
    {"ne", CORE_OP_NE, 0, 0},
    {"neq", CORE_OP_NE, 1, 0},
    {"gt", CORE_OP_GT, 0, 0},
    {"gte", CORE_OP_GTE, 0, 0},
    {"gteq", CORE_OP_GTE, 1, 0},
    {"lt", CORE_OP_LT, 0, 0},
    {"lte", CORE_OP_LTE, 0, 0},
    {"lteq", CORE_OP_LTE, 1, 0},
    {"in", CORE_OP_IN, 0, 0},
    {"between", CORE_OP_BETWEEN, 0, 0},
    {"like", CORE_OP_LIKE, 0, 0},
    {"ilike", CORE_OP_ILIKE, 0, 0},
    {"isnull", CORE_OP_ISNULL, 0, 0},
    {"isnotnull", CORE_OP_ISNOTNULL, 0, 0},
    {"exists", CORE_OP_EXISTS, 0, 1},
    {"notexists", CORE_OP_NOTEXISTS, 0, 1},
};

int core_filter_op_parse(const char *name, int query, enum core_dialect dialect)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (ops[i].query_only && !query)
            continue;
        if (ops[i].cloud_only && dialect != CORE_DIALECT_CLOUD)
            continue;
        if (query ? strcasecmp(name, ops[i].name) == 0 : strcmp(name, ops[i].name) == 0)
            return (int)ops[i].op;
    }
    return -1;
}

void core_filter_set_init(struct core_filter_set *set)
{
    memset(set, 0, sizeof *set);
}

void core_filter_set_clear(struct core_filter_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        struct core_filter *f = &set->items[i];
        for (size_t j = 0; j < f->value_count; j++)
            core_filter_value_free(&f->values[j]);
        free(f->values);
    }
    set->count = 0;
    set->logical_or = 0;
}

static int fail(struct core_filter_error *err, enum core_filter_failure failure, const char *param,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct core_filter_error *err, enum core_filter_failure failure, const char *param,
                const char *fmt, ...)
{
    if (err) {
        err->failure = failure;
        snprintf(err->param, sizeof err->param, "%s", param);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return CAPP_EINVAL;
}

/* ---- field resolution ---- */

static int segment_ok(const char *s, size_t n, enum core_dialect dialect)
{
    if (n == 0)
        return 0;
    if (dialect == CORE_DIALECT_CORE && !isalpha((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '_' || (dialect == CORE_DIALECT_CLOUD && c == '-')))
            return 0;
    }
    return 1;
}

/* Resolves "first_name" or "meta_data[.a.b]" for res into f->field / f->json_path. */
static int resolve_field(struct core_filter *f, const struct core_resource *res,
                         enum core_dialect dialect, const char *name, struct core_filter_error *err)
{
    const char *dot = strchr(name, '.');
    size_t base_len = dot ? (size_t)(dot - name) : strlen(name);
    f->field = NULL;
    for (size_t i = 0; i < res->field_count; i++) {
        const struct core_field *cand = &res->fields[i];
        if (strlen(cand->name) == base_len && strncmp(cand->name, name, base_len) == 0) {
            f->field = cand;
            break;
        }
    }
    if (!f->field || (dot && f->field->kind != CORE_FIELD_JSON)) {
        char msg[300];
        snprintf(msg, sizeof msg, "invalid field '%.100s' for table '%s'", name, res->table_name);
        return fail(err, CORE_FILTER_FIELD, name, "%s", msg);
    }
    f->json_path[0] = '\0';
    if (!dot)
        return 0;
    struct buf path;
    buf_init(&path, sizeof f->json_path - 1);
    int rc = buf_append_str(&path, "$");
    int depth = 0;
    const char *seg = dot + 1;
    while (rc == 0) {
        const char *end = strchr(seg, '.');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (!segment_ok(seg, n, dialect) || ++depth > CORE_MAX_PATH_DEPTH ||
            (dialect == CORE_DIALECT_CORE && end)) {
            buf_free(&path);
            return fail(err, CORE_FILTER_PARSE, name, "invalid JSON key '%.100s'", name);
        }
        rc = buf_printf(&path, ".\"%.*s\"", (int)n, seg);
        if (!end)
            break;
        seg = end + 1;
    }
    if (rc) {
        buf_free(&path);
        return fail(err, CORE_FILTER_PARSE, name, "JSON path too long: '%.100s'", name);
    }
    snprintf(f->json_path, sizeof f->json_path, "%s", path.data);
    buf_free(&path);
    return 0;
}

static struct core_filter *next_slot(struct core_filter_set *set, const char *param,
                                     struct core_filter_error *err)
{
    if (set->count >= CORE_MAX_FILTERS) {
        fail(err, CORE_FILTER_PARSE, param, "too many filters (maximum %s)", "20");
        return NULL;
    }
    struct core_filter *f = &set->items[set->count];
    memset(f, 0, sizeof *f);
    return f;
}

static int arity_ok(enum core_op op, size_t n)
{
    switch (op) {
    case CORE_OP_ISNULL:
    case CORE_OP_ISNOTNULL:
    case CORE_OP_EXISTS:
    case CORE_OP_NOTEXISTS:
        return 1;
    case CORE_OP_BETWEEN:
        return n == 2;
    case CORE_OP_IN:
        return n >= 1 && n <= CORE_MAX_IN_VALUES;
    default:
        return n == 1;
    }
}

static void discard(struct core_filter *f)
{
    for (size_t j = 0; j < f->value_count; j++)
        core_filter_value_free(&f->values[j]);
    free(f->values);
    f->values = NULL;
    f->value_count = 0;
}

/* Splits s at sep (comma for in, '|' for between) into typed values. */
static int split_values(struct core_filter *f, const char *s, char sep, const char *param,
                        struct core_filter_error *err)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == sep;
    if (n > CORE_MAX_IN_VALUES)
        return fail(err, CORE_FILTER_PARSE, param, "too many values in '%.100s' (maximum 100)",
                    param);
    f->values = calloc(n, sizeof *f->values);
    if (!f->values)
        return CAPP_ENOMEM;
    const char *start = s;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr(start, sep);
        size_t len = end ? (size_t)(end - start) : strlen(start);
        int rc = core_filter_value_from_text(&f->values[i], start, len);
        if (rc)
            return rc;
        f->value_count++;
        start = end ? end + 1 : start + len;
    }
    return 0;
}

int core_filter_add_query(struct core_filter_set *set, const struct core_resource *res,
                          enum core_dialect dialect, const char *key, const char *value,
                          struct core_filter_error *err)
{
    if (core_filter_is_reserved(key))
        return 0;
    const char *us = strrchr(key, '_');
    if (!us || us == key)
        return 0;
    int op = core_filter_op_parse(us + 1, 1, dialect);
    if (op < 0)
        return 0; /* Core: a suffix that is no operator is silently ignored */
    if (!value)
        value = "";
    if (strlen(value) > CORE_MAX_VALUE_BYTES)
        return fail(err, CORE_FILTER_PARSE, key, "value of '%.100s' exceeds 1000 characters", key);
    struct core_filter *f = next_slot(set, key, err);
    if (!f)
        return CAPP_EINVAL;
    char field[256];
    snprintf(field, sizeof field, "%.*s", (int)(us - key), key);
    int rc = resolve_field(f, res, dialect, field, err);
    if (rc)
        return rc;
    f->op = (enum core_op)op;
    switch (f->op) {
    case CORE_OP_ISNULL:
    case CORE_OP_ISNOTNULL:
    case CORE_OP_EXISTS:
    case CORE_OP_NOTEXISTS:
        break; /* the value is ignored */
    case CORE_OP_IN:
        rc = split_values(f, value, ',', key, err);
        break;
    case CORE_OP_BETWEEN:
        rc = split_values(f, value, '|', key, err);
        if (rc == 0 && f->value_count != 2)
            rc = fail(err, CORE_FILTER_PARSE, key,
                      "between on '%.100s' needs two values joined by '|'", key);
        break;
    default:
        f->values = calloc(1, sizeof *f->values);
        rc = f->values ? core_filter_value_from_text(&f->values[0], value, strlen(value))
                       : CAPP_ENOMEM;
        if (rc == 0)
            f->value_count = 1;
        break;
    }
    if (rc) {
        discard(f);
        return rc;
    }
    set->count++;
    return 0;
}

static int add_json_one(struct core_filter_set *set, const struct core_resource *res,
                        enum core_dialect dialect, const json_t *item,
                        struct core_filter_error *err)
{
    if (!json_is_object(item))
        return fail(err, CORE_FILTER_PARSE, "filters", "%s", "each filter must be an object");
    const json_t *jfield = json_object_get(item, "field");
    const json_t *jop = json_object_get(item, "operator");
    if (!json_is_string(jfield) || !json_is_string(jop))
        return fail(err, CORE_FILTER_PARSE, "filters", "%s",
                    "each filter needs string 'field' and 'operator'");
    const char *name = json_string_value(jfield);
    int op = core_filter_op_parse(json_string_value(jop), 0, dialect);
    if (op < 0)
        return fail(err, CORE_FILTER_OPERATOR, name, "invalid operator '%.50s'",
                    json_string_value(jop));
    struct core_filter *f = next_slot(set, name, err);
    if (!f)
        return CAPP_EINVAL;
    int rc = resolve_field(f, res, dialect, name, err);
    if (rc)
        return rc;
    f->op = (enum core_op)op;
    const json_t *values = json_object_get(item, "values");
    const json_t *value = json_object_get(item, "value");
    if (f->op == CORE_OP_ISNULL || f->op == CORE_OP_ISNOTNULL || f->op == CORE_OP_EXISTS ||
        f->op == CORE_OP_NOTEXISTS) {
        set->count++;
        return 0;
    }
    if ((f->op == CORE_OP_IN || f->op == CORE_OP_BETWEEN) && json_is_array(values)) {
        size_t n = json_array_size(values);
        if (!arity_ok(f->op, n))
            return fail(err, CORE_FILTER_PARSE, name, "%s on '%.100s' needs %s",
                        f->op == CORE_OP_IN ? "in" : "between", name,
                        f->op == CORE_OP_IN ? "1 to 100 values" : "exactly two values");
        f->values = calloc(n, sizeof *f->values);
        if (!f->values)
            return CAPP_ENOMEM;
        for (size_t i = 0; i < n && rc == 0; i++) {
            rc = core_filter_value_from_json(&f->values[i], json_array_get(values, i));
            if (rc == 0)
                f->value_count++;
        }
    } else if ((f->op == CORE_OP_IN || f->op == CORE_OP_BETWEEN) && json_is_string(value)) {
        rc = split_values(f, json_string_value(value), f->op == CORE_OP_IN ? ',' : '|', name, err);
        if (rc == 0 && !arity_ok(f->op, f->value_count))
            rc = fail(err, CORE_FILTER_PARSE, name, "between on '%.100s' needs two values", name);
    } else if (value && f->op != CORE_OP_IN && f->op != CORE_OP_BETWEEN) {
        f->values = calloc(1, sizeof *f->values);
        rc = f->values ? core_filter_value_from_json(&f->values[0], value) : CAPP_ENOMEM;
        if (rc == 0)
            f->value_count = 1;
    } else {
        rc = fail(err, CORE_FILTER_PARSE, name, "filter on '%.100s' needs '%s'", name,
                  f->op == CORE_OP_IN || f->op == CORE_OP_BETWEEN ? "values" : "value");
    }
    for (size_t i = 0; rc == 0 && i < f->value_count; i++)
        if (strlen(f->values[i].text) > CORE_MAX_VALUE_BYTES)
            rc = fail(err, CORE_FILTER_PARSE, name, "value of '%.100s' exceeds 1000 characters",
                      name);
    if (rc) {
        discard(f);
        return rc;
    }
    set->count++;
    return 0;
}

int core_filter_add_json(struct core_filter_set *set, const struct core_resource *res,
                         enum core_dialect dialect, const json_t *filters,
                         struct core_filter_error *err)
{
    if (!filters || json_is_null(filters))
        return 0;
    if (!json_is_array(filters))
        return fail(err, CORE_FILTER_PARSE, "filters", "%s", "'filters' must be an array");
    for (size_t i = 0; i < json_array_size(filters); i++) {
        int rc = add_json_one(set, res, dialect, json_array_get(filters, i), err);
        if (rc)
            return rc;
    }
    return 0;
}
