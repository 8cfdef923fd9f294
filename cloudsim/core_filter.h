/*
 * core_filter.h — the filter engine shared by Core's GET filters, Core's JSON /filter bodies,
 * Cloud's /data query filters and Cloud's root POST /{resource}/filter (spec §8.3, §8.4 and
 * blnk-core-api.md §5).
 *
 * A filter is (field, operator, values). Query strings give `<field>_<op>=<value>` split at the
 * last underscore; JSON bodies give {"field","operator","value"|"values"}. The set compiles to a
 * SQL WHERE fragment whose every value is a bound parameter (never concatenated text); field
 * names are resolved against the resource's whitelist, and JSON paths into meta_data are bound
 * as parameters too.
 *
 * Dialects:
 *   CORE_DIALECT_CORE   Core: meta_data.<key> only top-level keys ^[a-zA-Z][a-zA-Z0-9_]*$,
 *                       operators of §5 (no exists/notexists).
 *   CORE_DIALECT_CLOUD  Cloud /data and root filters: nested dot paths, plus exists/notexists.
 *
 * Ownership: a core_filter_set owns the values it holds; core_filter_set_clear() frees them.
 *
 * Files: core_filter_parse.c (query and JSON filters → a set), core_filter_value.c (typed values,
 * core_filter_internal.h), core_filter_sql.c (a set → SQL and its binds).
 */
#ifndef CLOUDSIM_CORE_FILTER_H
#define CLOUDSIM_CORE_FILTER_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

#include "capp/buf.h"

#define CORE_MAX_FILTERS     20   /* per request (Core's limit) */
#define CORE_MAX_IN_VALUES   100  /* values of one in */
#define CORE_MAX_VALUE_BYTES 1000 /* one filter value */
#define CORE_MAX_PATH_DEPTH  8    /* meta_data.a.b... segments */
#define CORE_MAX_JSON_PATH   256  /* "$.\"a\".\"b\"" */

enum core_op {
    CORE_OP_EQ,
    CORE_OP_NE,
    CORE_OP_GT,
    CORE_OP_GTE,
    CORE_OP_LT,
    CORE_OP_LTE,
    CORE_OP_IN,
    CORE_OP_BETWEEN,
    CORE_OP_LIKE,
    CORE_OP_ILIKE,
    CORE_OP_ISNULL,
    CORE_OP_ISNOTNULL,
    CORE_OP_EXISTS,
    CORE_OP_NOTEXISTS,
};

enum core_dialect { CORE_DIALECT_CORE, CORE_DIALECT_CLOUD };

/* How a field's column compares (see core_filter_sql.c for the SQL of each). */
enum core_field_kind {
    CORE_FIELD_TEXT,
    CORE_FIELD_NUMBER,
    CORE_FIELD_TIME,       /* stored canonical RFC 3339 UTC with microseconds */
    CORE_FIELD_DATE,       /* stored YYYY-MM-DD */
    CORE_FIELD_JSON,       /* meta_data */
    CORE_FIELD_BALANCE_ID, /* transactions.balance_id: source or destination */
};

struct core_field {
    const char *name;
    const char *column;
    enum core_field_kind kind;
};

struct core_resource {
    const char *plural;     /* URL name: "identities" */
    const char *table_name; /* Core's name in errors: "identity" */
    const char *table;      /* SQL table */
    const char *id_column;
    const char *id_prefix; /* "idt_" */
    const char *columns;   /* SELECT list the serializer reads */
    const struct core_field *fields;
    size_t field_count;
    long long default_page_size; /* Cloud /data default */
};

/* A typed filter value: Core types query values by trying integer, float, boolean,
 * date-time, string; JSON values keep their JSON type. text is the value as sent. */
enum core_value_type {
    CORE_VALUE_STRING,
    CORE_VALUE_INTEGER,
    CORE_VALUE_REAL,
    CORE_VALUE_BOOLEAN,
    CORE_VALUE_NULL,
    CORE_VALUE_OBJECT
};

struct core_value {
    enum core_value_type type;
    long long integer;
    double real;
    int boolean;
    char *text;     /* owned */
    json_t *object; /* owned; CORE_VALUE_OBJECT only */
};

struct core_filter {
    const struct core_field *field;
    char json_path[CORE_MAX_JSON_PATH]; /* "" for the whole column */
    enum core_op op;
    struct core_value *values; /* owned */
    size_t value_count;
};

struct core_filter_set {
    struct core_filter items[CORE_MAX_FILTERS];
    size_t count;
    int logical_or;
};

/* Why parsing failed: the /proxy layer answers Core's way (legacy "errors" array for parse
 * errors, GEN_BAD_REQUEST for an invalid field), /data answers Cloud's {"error","code"}. */
enum core_filter_failure {
    CORE_FILTER_PARSE = 1, /* bad between, too many filters/values, long value, bad JSON key */
    CORE_FILTER_FIELD,     /* unknown field */
    CORE_FILTER_OPERATOR,  /* unknown operator (JSON bodies) */
};

struct core_filter_error {
    enum core_filter_failure failure;
    char param[128];
    char message[300];
};

void core_filter_set_init(struct core_filter_set *set);
void core_filter_set_clear(struct core_filter_set *set);

/* 1 when key is a reserved (non-filter) query parameter (case-insensitive). */
int core_filter_is_reserved(const char *key);
/* Operator by name. Query form (query=1) also takes neq/gteq/lteq in any case; JSON form needs
 * the exact lowercase name. exists/notexists only in the Cloud dialect. -1 when unknown. */
int core_filter_op_parse(const char *name, int query, enum core_dialect dialect);

/*
 * Adds one query parameter. Reserved keys and keys whose suffix is no operator are ignored
 * (returns 0 without adding). CAPP_EINVAL with err filled on a bad filter.
 */
int core_filter_add_query(struct core_filter_set *set, const struct core_resource *res,
                          enum core_dialect dialect, const char *key, const char *value,
                          struct core_filter_error *err);
/* Adds the "filters" array of a JSON body (absent or null: nothing). */
int core_filter_add_json(struct core_filter_set *set, const struct core_resource *res,
                         enum core_dialect dialect, const json_t *filters,
                         struct core_filter_error *err);

/* One bound parameter of a compiled filter. text is borrowed from the set, or owned when
 * owned=1 (derived values such as GLOB patterns and containment paths). */
enum core_bind_type { CORE_BIND_TEXT, CORE_BIND_INT, CORE_BIND_REAL };

struct core_bind {
    enum core_bind_type type;
    long long integer;
    double real;
    const char *text;
    int owned;
};

struct core_binds {
    struct core_bind *items;
    size_t count, cap;
};

void core_binds_free(struct core_binds *binds);
int core_binds_text(struct core_binds *binds, const char *text, int owned);
int core_binds_int(struct core_binds *binds, long long value);
/* Binds every parameter in order, starting at SQL parameter first (1-based). */
int core_binds_apply(const struct core_binds *binds, sqlite3_stmt *stmt, int first);

/*
 * Appends " AND (...)" for the set (filters joined with AND, or OR when logical_or) to sql,
 * with one "?" per value, recording the values in binds in the same order. Nothing is
 * appended for an empty set. The set must outlive binds.
 */
int core_filter_sql(const struct core_filter_set *set, struct buf *sql, struct core_binds *binds);

#endif
