/*
 * core_filter_sql.c — a parsed filter set → a SQL WHERE fragment with bound parameters (see
 * core_filter.h), and the list of those parameters (core_binds).
 *
 * Design: parsing (core_filter_parse.c) resolves the field against the resource's whitelist
 * first, so only column names from our own tables ever reach the SQL text; everything that came
 * from the request — values, and JSON paths into meta_data — is a bound parameter. Each operator
 * maps to a small SQL shape per field kind:
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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/err.h"
#include "capp/json.h"
#include "cloudsim/core_filter_internal.h"
#include "cloudsim/core_time.h"

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
                rc = core_filter_value_from_json(&sv, val);
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
                core_filter_value_free(&sv);
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
