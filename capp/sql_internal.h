/*
 * sql_internal.h — what capp/sql.c (engine-independent: statement cache, transactions,
 * migrations, helpers, pool) needs from an engine driver (sql_sqlite.c, sql_pg.c). Not for code
 * outside capp/sql*.c, except the PostgreSQL parameter rewriter, which its fuzz target drives.
 *
 * A driver's connection and statement structs start with struct sql_conn / struct sql_stmt, so
 * sql.c handles them through these and the driver casts back.
 */
#ifndef CAPP_SQL_INTERNAL_H
#define CAPP_SQL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sql.h"

/* Cached statements per connection: enough for every fixed text of an app; texts beyond it
 * (built at run time) are prepared uncached, so the cache never grows without bound. */
#define SQL_CACHE_MAX     512
#define SQL_CACHE_BUCKETS 128

enum sql_value_type {
    SQL_VALUE_NULL,
    SQL_VALUE_INT,
    SQL_VALUE_DOUBLE,
    SQL_VALUE_TEXT,
    SQL_VALUE_BLOB
};

/* One bound value, borrowed: the driver copies what it keeps. */
struct sql_value {
    enum sql_value_type type;
    int64_t i;
    double d;
    const void *p;
    size_t len;
};

struct sql_driver {
    const char *begin_sql; /* the text sql_begin runs */
    void (*close)(struct sql_conn *c);
    /* Before a prepare, exec or begin: 0 when the connection is usable (a lost PostgreSQL
     * connection is reset here), CAPP_ENETWORK when not. probe: also look at the socket for a
     * server that hung up while the connection sat idle (sql_pool_get, sql_ping); without it
     * only a loss an earlier call saw counts. NULL: always usable. */
    int (*revive)(struct sql_conn *c, int probe);
    int (*ping)(struct sql_conn *c);
    /* A new statement for sql; cached says whether it will live in the connection's cache. */
    int (*stmt_new)(struct sql_conn *c, const char *sql, int cached, struct sql_stmt **out);
    void (*stmt_free)(struct sql_stmt *st);
    int (*bind)(struct sql_stmt *st, int idx, const struct sql_value *v);
    int (*step)(struct sql_stmt *st);
    void (*reset)(struct sql_stmt *st);
    int (*column_count)(struct sql_stmt *st);
    int (*column_is_null)(struct sql_stmt *st, int col);
    const char *(*column_text)(struct sql_stmt *st, int col);
    size_t (*column_bytes)(struct sql_stmt *st, int col);
    const void *(*column_blob)(struct sql_stmt *st, int col, size_t *len);
    int64_t (*column_int64)(struct sql_stmt *st, int col);
    double (*column_double)(struct sql_stmt *st, int col);
    int (*exec)(struct sql_conn *c, const char *sql);
    int (*commit)(struct sql_conn *c);
    void (*rollback)(struct sql_conn *c); /* only called inside a transaction */
    int (*in_transaction)(struct sql_conn *c);
};

struct sql_conn {
    const struct sql_driver *driver;
    enum sql_engine engine;
    struct sql_stmt *cache[SQL_CACHE_BUCKETS];
    int cached_count;
};

struct sql_stmt {
    struct sql_conn *conn;
    struct sql_stmt *next; /* cache bucket chain */
    char *sql;
    uint64_t hash;
    int cached;
    int in_use;
    int64_t changes;
};

/* Driver constructors: 0 and *out, or CAPP_E* (logged). */
int sql_sqlite_open(const char *path, struct sql_conn **out);
int sql_pg_open(const char *target, struct sql_conn **out);

/* Rewrites the portable parameters "?" and "?N" of sql into PostgreSQL's "$N", outside string
 * literals ('…' with '' escapes, E'…' with backslash escapes, $tag$…$tag$), quoted identifiers
 * ("…") and comments (-- to the line end, nested slash-star). "?" takes the number after the
 * largest one so far, as SQLite numbers them. *out is malloc'd (caller frees); *nparams gets the
 * largest parameter number. CAPP_EINVAL for a number outside 1..SQL_MAX_PARAMS. */
#define SQL_MAX_PARAMS 32767
int sql_pg_rewrite(const char *sql, char **out, int *nparams);

#endif
