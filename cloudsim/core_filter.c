/*
 * core_filter.c — filters → SQL with bound parameters (see core_filter.h).
 *
 * Design: parsing resolves the field against the resource's whitelist first, so only column
 * names from our own tables ever reach the SQL text; everything that came from the request —
 * values, and JSON paths into meta_data — is a bound parameter. Each operator maps to a small
 * SQL shape per field kind:
 *
 *   text/number/time/date  col = ?, col IN (?,..), col BETWEEN ? AND ?, ...; time and date
 *                          values are normalised to the stored form first, so lexicographic
 *                          comparison is chronological.
 *   like                   SQLite LIKE ignores ASCII case, so a case-sensitive like is
 *                          "col LIKE ? AND col GLOB ?" with the pattern translated to GLOB.
 *   meta_data path         eq is type-sensitive like Core's JSONB containment (json_type must
 *                          agree); ne/in/like/ilike compare the text value; gt..between cast to
 *                          a number; an object value under eq is a containment test, key by key.
 */
#include "cloudsim/core_filter.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capp/err.h"
#include "capp/json.h"
#include "cloudsim/core_time.h"

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

static void value_free(struct core_value *v)
{
    free(v->text);
    json_decref(v->object);
}

void core_filter_set_clear(struct core_filter_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        struct core_filter *f = &set->items[i];
        for (size_t j = 0; j < f->value_count; j++)
            value_free(&f->values[j]);
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

/* ---- values ---- */

/* Types a query-string value the way Core does: integer, float, boolean, else string. */
static int value_from_text(struct core_value *v, const char *s, size_t n)
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

static int value_from_json(struct core_value *v, const json_t *j)
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
        value_free(&f->values[j]);
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
        int rc = value_from_text(&f->values[i], start, len);
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
        rc = f->values ? value_from_text(&f->values[0], value, strlen(value)) : CAPP_ENOMEM;
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
            rc = value_from_json(&f->values[i], json_array_get(values, i));
            if (rc == 0)
                f->value_count++;
        }
    } else if ((f->op == CORE_OP_IN || f->op == CORE_OP_BETWEEN) && json_is_string(value)) {
        rc = split_values(f, json_string_value(value), f->op == CORE_OP_IN ? ',' : '|', name, err);
        if (rc == 0 && !arity_ok(f->op, f->value_count))
            rc = fail(err, CORE_FILTER_PARSE, name, "between on '%.100s' needs two values", name);
    } else if (value && f->op != CORE_OP_IN && f->op != CORE_OP_BETWEEN) {
        f->values = calloc(1, sizeof *f->values);
        rc = f->values ? value_from_json(&f->values[0], value) : CAPP_ENOMEM;
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

/* ---- binds ---- */

void core_binds_free(struct core_binds *binds)
{
    for (size_t i = 0; i < binds->count; i++)
        if (binds->items[i].owned)
            free((char *)binds->items[i].text);
    free(binds->items);
    memset(binds, 0, sizeof *binds);
}

static struct core_bind *bind_slot(struct core_binds *binds)
{
    if (binds->count == binds->cap) {
        size_t cap = binds->cap ? binds->cap * 2 : 16;
        struct core_bind *items = realloc(binds->items, cap * sizeof *items);
        if (!items)
            return NULL;
        binds->items = items;
        binds->cap = cap;
    }
    struct core_bind *b = &binds->items[binds->count++];
    memset(b, 0, sizeof *b);
    return b;
}

int core_binds_text(struct core_binds *binds, const char *text, int owned)
{
    struct core_bind *b = text ? bind_slot(binds) : NULL;
    if (!b) {
        if (owned)
            free((char *)text);
        return CAPP_ENOMEM;
    }
    b->type = CORE_BIND_TEXT;
    b->text = text;
    b->owned = owned;
    return 0;
}

int core_binds_int(struct core_binds *binds, long long value)
{
    struct core_bind *b = bind_slot(binds);
    if (!b)
        return CAPP_ENOMEM;
    b->type = CORE_BIND_INT;
    b->integer = value;
    return 0;
}

static int binds_real(struct core_binds *binds, double value)
{
    struct core_bind *b = bind_slot(binds);
    if (!b)
        return CAPP_ENOMEM;
    b->type = CORE_BIND_REAL;
    b->real = value;
    return 0;
}

int core_binds_apply(const struct core_binds *binds, sqlite3_stmt *stmt, int first)
{
    for (size_t i = 0; i < binds->count; i++) {
        const struct core_bind *b = &binds->items[i];
        int idx = first + (int)i, rc;
        if (b->type == CORE_BIND_INT)
            rc = sqlite3_bind_int64(stmt, idx, b->integer);
        else if (b->type == CORE_BIND_REAL)
            rc = sqlite3_bind_double(stmt, idx, b->real);
        else
            rc = sqlite3_bind_text(stmt, idx, b->text, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
            return CAPP_EDB;
    }
    return 0;
}

/* ---- SQL ---- */

/* SQL LIKE pattern (backslash escapes) → GLOB pattern, for case-sensitive like. */
static char *like_to_glob(const char *like)
{
    size_t n = strlen(like);
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = like[i];
        if (c == '\\' && i + 1 < n)
            c = like[++i];
        else if (c == '%') {
            *o++ = '*';
            continue;
        } else if (c == '_') {
            *o++ = '?';
            continue;
        }
        if (c == '*' || c == '?' || c == '[') {
            *o++ = '[';
            *o++ = c;
            *o++ = ']';
        } else {
            *o++ = c;
        }
    }
    *o = '\0';
    return out;
}

static int number_of(const struct core_value *v, double *out)
{
    if (v->type == CORE_VALUE_INTEGER || v->type == CORE_VALUE_REAL) {
        *out = v->real;
        return 1;
    }
    char *end = NULL;
    double d = strtod(v->text, &end);
    if (end != v->text && *end == '\0' && isfinite(d)) {
        *out = d;
        return 1;
    }
    return 0;
}

/* The value bound for a plain column of this kind. */
static int bind_column_value(struct core_binds *binds, const struct core_field *field,
                             const struct core_value *v)
{
    if (field->kind == CORE_FIELD_NUMBER) {
        if (v->type == CORE_VALUE_INTEGER)
            return core_binds_int(binds, v->integer);
        if (v->type == CORE_VALUE_REAL)
            return binds_real(binds, v->real);
    }
    if (field->kind == CORE_FIELD_TIME || field->kind == CORE_FIELD_DATE) {
        char norm[CORE_TIME_BYTES];
        int rc = field->kind == CORE_FIELD_TIME ? core_parse_time(v->text, norm)
                                                : core_parse_date(v->text, norm);
        if (rc == 0) {
            char *copy = strdup(norm);
            return copy ? core_binds_text(binds, copy, 1) : CAPP_ENOMEM;
        }
    }
    return core_binds_text(binds, v->text, 0);
}

static const char *cmp_sql(enum core_op op)
{
    switch (op) {
    case CORE_OP_EQ:
        return "=";
    case CORE_OP_NE:
        return "!=";
    case CORE_OP_GT:
        return ">";
    case CORE_OP_GTE:
        return ">=";
    case CORE_OP_LT:
        return "<";
    default:
        return "<=";
    }
}

/* Shapes shared by a column expression whose values bind via bind_column_value or as text. */
static int plain_sql(const struct core_filter *f, const char *expr, int text_values,
                     struct buf *sql, struct core_binds *binds)
{
    static const struct core_field text_field = {"", "", CORE_FIELD_TEXT};
    const struct core_field *bf = text_values ? &text_field : f->field;
    int rc = 0;
    switch (f->op) {
    case CORE_OP_EQ:
    case CORE_OP_NE:
    case CORE_OP_GT:
    case CORE_OP_GTE:
    case CORE_OP_LT:
    case CORE_OP_LTE:
        rc = buf_printf(sql, "%s %s ?", expr, cmp_sql(f->op));
        return rc ? rc : bind_column_value(binds, bf, &f->values[0]);
    case CORE_OP_IN:
        rc = buf_printf(sql, "%s IN (", expr);
        for (size_t i = 0; rc == 0 && i < f->value_count; i++) {
            rc = buf_append_str(sql, i ? ",?" : "?");
            if (rc == 0)
                rc = bind_column_value(binds, bf, &f->values[i]);
        }
        return rc ? rc : buf_append_str(sql, ")");
    case CORE_OP_BETWEEN:
        rc = buf_printf(sql, "%s BETWEEN ? AND ?", expr);
        if (rc == 0)
            rc = bind_column_value(binds, bf, &f->values[0]);
        return rc ? rc : bind_column_value(binds, bf, &f->values[1]);
    case CORE_OP_ILIKE:
        rc = buf_printf(sql, "%s LIKE ? ESCAPE '\\'", expr);
        return rc ? rc : core_binds_text(binds, f->values[0].text, 0);
    case CORE_OP_LIKE: {
        rc = buf_printf(sql, "(%s LIKE ? ESCAPE '\\' AND %s GLOB ?)", expr, expr);
        if (rc == 0)
            rc = core_binds_text(binds, f->values[0].text, 0);
        char *glob = rc ? NULL : like_to_glob(f->values[0].text);
        return rc ? rc : glob ? core_binds_text(binds, glob, 1) : CAPP_ENOMEM;
    }
    case CORE_OP_ISNULL:
    case CORE_OP_NOTEXISTS:
        return buf_printf(sql, "%s IS NULL", expr);
    case CORE_OP_ISNOTNULL:
    case CORE_OP_EXISTS:
        return buf_printf(sql, "%s IS NOT NULL", expr);
    }
    return CAPP_EINVAL;
}

/* Type-sensitive equality of the JSON value at path (Core's containment semantics). */
static int json_eq_sql(const char *col, const char *path, const struct core_value *v,
                       const json_t *object, struct buf *sql, struct core_binds *binds)
{
    int rc;
    char *p = strdup(path);
    if (!p)
        return CAPP_ENOMEM;
    if (object) {
        if (json_is_array(object)) {
            /* arrays compare as whole JSON text */
            rc = buf_printf(sql, "json(json_extract(%s, ?)) = json(?)", col);
            if (rc == 0)
                rc = core_binds_text(binds, p, 1);
            else
                free(p);
            char *text = rc ? NULL : json_to_string(object);
            return rc ? rc : text ? core_binds_text(binds, text, 1) : CAPP_ENOMEM;
        }
        free(p);
        const char *key;
        json_t *val;
        rc = buf_append_str(sql, "(1");
        json_object_foreach((json_t *)object, key, val)
        {
            char sub[CORE_MAX_JSON_PATH];
            int ok = 1;
            for (const char *k = key; *k; k++)
                ok &= *k != '"' && *k != '\\';
            if (!ok || (size_t)snprintf(sub, sizeof sub, "%s.\"%s\"", path, key) >= sizeof sub)
                return CAPP_EINVAL;
            struct core_value sv;
            memset(&sv, 0, sizeof sv);
            if (rc == 0)
                rc = buf_append_str(sql, " AND ");
            if (rc == 0 && (json_is_object(val) || json_is_array(val)))
                rc = json_eq_sql(col, sub, NULL, val, sql, binds);
            else if (rc == 0) {
                size_t before = binds->count;
                rc = value_from_json(&sv, val);
                if (rc == 0)
                    rc = json_eq_sql(col, sub, &sv, NULL, sql, binds);
                /* the bound text must outlive sv: hand its ownership to the bind */
                for (size_t b = before; rc == 0 && b < binds->count; b++) {
                    if (binds->items[b].type == CORE_BIND_TEXT && !binds->items[b].owned &&
                        binds->items[b].text == sv.text) {
                        binds->items[b].owned = 1;
                        sv.text = NULL;
                        break;
                    }
                }
                value_free(&sv);
            }
        }
        return rc ? rc : buf_append_str(sql, ")");
    }
    switch (v->type) {
    case CORE_VALUE_STRING:
        rc = buf_printf(sql, "(json_extract(%s, ?) = ? AND json_type(%s, ?) = 'text')", col, col);
        break;
    case CORE_VALUE_INTEGER:
    case CORE_VALUE_REAL:
        rc = buf_printf(sql, "(json_extract(%s, ?) = ? AND json_type(%s, ?) IN ('integer','real'))",
                        col, col);
        break;
    case CORE_VALUE_BOOLEAN:
        rc = buf_printf(sql, "json_type(%s, ?) = ?", col);
        if (rc == 0)
            rc = core_binds_text(binds, p, 1);
        else
            free(p);
        return rc ? rc : core_binds_text(binds, v->boolean ? "true" : "false", 0);
    case CORE_VALUE_NULL:
        rc = buf_printf(sql, "json_type(%s, ?) = 'null'", col);
        return rc ? (free(p), rc) : core_binds_text(binds, p, 1);
    default:
        free(p);
        return CAPP_EINVAL;
    }
    if (rc) {
        free(p);
        return rc;
    }
    rc = core_binds_text(binds, p, 1);
    if (rc == 0 && v->type == CORE_VALUE_STRING)
        rc = core_binds_text(binds, v->text, 0);
    else if (rc == 0 && v->type == CORE_VALUE_INTEGER)
        rc = core_binds_int(binds, v->integer);
    else if (rc == 0)
        rc = binds_real(binds, v->real);
    if (rc)
        return rc;
    /* the value bind must stay last-but-one for the containment caller's ownership check */
    char *again = strdup(path);
    return again ? core_binds_text(binds, again, 1) : CAPP_ENOMEM;
}

static int json_filter_sql(const struct core_filter *f, struct buf *sql, struct core_binds *binds)
{
    const char *col = f->field->column;
    const char *path = f->json_path[0] ? f->json_path : NULL;
    int rc;
    if (!path) {
        /* the whole meta_data column */
        if (f->op == CORE_OP_EQ && f->values[0].type == CORE_VALUE_OBJECT)
            return json_eq_sql(col, "$", NULL, f->values[0].object, sql, binds);
        return plain_sql(f, col, 1, sql, binds);
    }
    switch (f->op) {
    case CORE_OP_EQ:
        return json_eq_sql(col, path, &f->values[0],
                           f->values[0].type == CORE_VALUE_OBJECT ? f->values[0].object : NULL, sql,
                           binds);
    case CORE_OP_ISNULL:
        rc = buf_printf(sql, "coalesce(json_type(%s, ?), 'null') = 'null'", col);
        return rc ? rc : core_binds_text(binds, path, 0);
    case CORE_OP_ISNOTNULL:
        rc = buf_printf(sql, "coalesce(json_type(%s, ?), 'null') != 'null'", col);
        return rc ? rc : core_binds_text(binds, path, 0);
    case CORE_OP_EXISTS:
    case CORE_OP_NOTEXISTS:
        rc = buf_printf(sql, "json_type(%s, ?) IS %s", col,
                        f->op == CORE_OP_EXISTS ? "NOT NULL" : "NULL");
        return rc ? rc : core_binds_text(binds, path, 0);
    case CORE_OP_GT:
    case CORE_OP_GTE:
    case CORE_OP_LT:
    case CORE_OP_LTE:
    case CORE_OP_BETWEEN: {
        rc = f->op == CORE_OP_BETWEEN
                 ? buf_printf(sql, "CAST(json_extract(%s, ?) AS REAL) BETWEEN ? AND ?", col)
                 : buf_printf(sql, "CAST(json_extract(%s, ?) AS REAL) %s ?", col, cmp_sql(f->op));
        if (rc == 0)
            rc = core_binds_text(binds, path, 0);
        for (size_t i = 0; rc == 0 && i < f->value_count; i++) {
            double d;
            rc = number_of(&f->values[i], &d) ? binds_real(binds, d)
                                              : core_binds_text(binds, f->values[i].text, 0);
        }
        return rc;
    }
    default: {
        /* ne, in, like, ilike compare the text value; booleans read as true/false */
        char expr[256];
        snprintf(expr, sizeof expr,
                 "(CASE json_type(%s, ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
                 "ELSE CAST(json_extract(%s, ?) AS TEXT) END)",
                 col, col);
        /* expr may appear twice (like): bind the path for each occurrence, in order */
        struct buf part;
        buf_init(&part, 1 << 20);
        struct core_binds inner = {0};
        rc = plain_sql(f, "\x01", 1, &part, &inner);
        for (size_t i = 0; rc == 0 && i < part.len; i++) {
            if (part.data[i] == '\x01')
                rc = buf_append_str(sql, expr);
            else
                rc = buf_append(sql, &part.data[i], 1);
        }
        /* replay binds: each \x01 consumes two path binds before the value binds that follow */
        size_t next_inner = 0;
        for (size_t i = 0; rc == 0 && i < part.len; i++) {
            if (part.data[i] == '\x01') {
                rc = core_binds_text(binds, path, 0);
                if (rc == 0)
                    rc = core_binds_text(binds, path, 0);
            } else if (part.data[i] == '?') {
                struct core_bind *b = &inner.items[next_inner++];
                struct core_bind *o = bind_slot(binds);
                if (!o)
                    rc = CAPP_ENOMEM;
                else {
                    *o = *b;
                    b->owned = 0; /* ownership moves */
                }
            }
        }
        core_binds_free(&inner);
        buf_free(&part);
        return rc;
    }
    }
}

static int balance_id_sql(const struct core_filter *f, struct buf *sql, struct core_binds *binds)
{
    int rc;
    switch (f->op) {
    case CORE_OP_EQ:
    case CORE_OP_NE:
        rc = buf_append_str(sql, f->op == CORE_OP_EQ ? "? IN (source, destination)"
                                                     : "? NOT IN (source, destination)");
        return rc ? rc : core_binds_text(binds, f->values[0].text, 0);
    case CORE_OP_IN:
        rc = buf_append_str(sql, "(source IN (");
        for (int pass = 0; pass < 2 && rc == 0; pass++) {
            for (size_t i = 0; rc == 0 && i < f->value_count; i++) {
                rc = buf_append_str(sql, i ? ",?" : "?");
                if (rc == 0)
                    rc = core_binds_text(binds, f->values[i].text, 0);
            }
            if (rc == 0)
                rc = buf_append_str(sql, pass == 0 ? ") OR destination IN (" : "))");
        }
        return rc;
    case CORE_OP_ISNULL:
        return buf_append_str(sql, "(source IS NULL AND destination IS NULL)");
    case CORE_OP_ISNOTNULL:
        return buf_append_str(sql, "(source IS NOT NULL OR destination IS NOT NULL)");
    default:
        return CAPP_EINVAL;
    }
}

int core_filter_sql(const struct core_filter_set *set, struct buf *sql, struct core_binds *binds)
{
    if (set->count == 0)
        return 0;
    int rc = buf_append_str(sql, " AND (");
    for (size_t i = 0; rc == 0 && i < set->count; i++) {
        const struct core_filter *f = &set->items[i];
        if (i)
            rc = buf_append_str(sql, set->logical_or ? " OR " : " AND ");
        if (rc == 0)
            rc = buf_append_str(sql, "(");
        if (rc)
            break;
        switch (f->field->kind) {
        case CORE_FIELD_JSON:
            rc = json_filter_sql(f, sql, binds);
            break;
        case CORE_FIELD_BALANCE_ID:
            rc = balance_id_sql(f, sql, binds);
            break;
        default:
            rc = plain_sql(f, f->field->column, 0, sql, binds);
            break;
        }
        if (rc == 0)
            rc = buf_append_str(sql, ")");
    }
    return rc ? rc : buf_append_str(sql, ")");
}
