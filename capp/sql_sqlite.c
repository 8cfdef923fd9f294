/*
 * sql_sqlite.c — the SQLite driver of capp/sql.h. Opening goes through db_open (capp/db.c): the
 * project's pragmas and 0600 files. SQLite understands the portable "?" / "?N" parameters
 * natively, so statements are prepared as written; values are bound as copies
 * (SQLITE_TRANSIENT).
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "log.h"
#include "sql_internal.h"

struct lite_conn {
    struct sql_conn base;
    sqlite3 *db;
};

struct lite_stmt {
    struct sql_stmt base;
    sqlite3_stmt *stmt;
};

static sqlite3 *handle(struct sql_conn *c)
{
    return ((struct lite_conn *)c)->db;
}

static sqlite3_stmt *stmt_of(struct sql_stmt *st)
{
    return ((struct lite_stmt *)st)->stmt;
}

/* One log line per failure, and the error the contract promises for rc. */
static int fail(sqlite3 *db, const char *op, int rc)
{
    int err = (rc & 0xff) == SQLITE_CONSTRAINT                             ? CAPP_EEXIST
              : (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? CAPP_EBUSY
              : rc == SQLITE_NOMEM                                         ? CAPP_ENOMEM
                                                                           : CAPP_EDB;
    log_event(err == CAPP_EDB ? LOG_ERROR : LOG_WARN, "sql.error", "engine", "sqlite", "op", op,
              "code", sqlite3_errstr(rc), "message", sqlite3_errmsg(db), NULL);
    return err;
}

static void lite_close(struct sql_conn *c)
{
    db_close(handle(c));
    free(c);
}

static int lite_ping(struct sql_conn *c)
{
    return 1;
}

static int lite_stmt_new(struct sql_conn *c, const char *sql, int cached, struct sql_stmt **out)
{
    struct lite_stmt *st = calloc(1, sizeof *st);
    char *copy = strdup(sql);
    if (!st || !copy) {
        free(st);
        free(copy);
        return CAPP_ENOMEM;
    }
    /* A cached statement lives for the connection: SQLITE_PREPARE_PERSISTENT tells SQLite so. */
    int rc = sqlite3_prepare_v3(handle(c), sql, -1, cached ? SQLITE_PREPARE_PERSISTENT : 0,
                                &st->stmt, NULL);
    if (rc != SQLITE_OK) {
        int err = fail(handle(c), "prepare", rc);
        free(copy);
        free(st);
        return err;
    }
    st->base.sql = copy;
    *out = &st->base;
    return 0;
}

static void lite_stmt_free(struct sql_stmt *st)
{
    sqlite3_finalize(stmt_of(st));
    free(st->sql);
    free(st);
}

static int lite_bind(struct sql_stmt *st, int idx, const struct sql_value *v)
{
    sqlite3_stmt *s = stmt_of(st);
    int rc;
    switch (v->type) {
    case SQL_VALUE_INT:
        rc = sqlite3_bind_int64(s, idx, v->i);
        break;
    case SQL_VALUE_DOUBLE:
        rc = sqlite3_bind_double(s, idx, v->d);
        break;
    case SQL_VALUE_TEXT:
        rc = sqlite3_bind_text64(s, idx, v->p, v->len, SQLITE_TRANSIENT, SQLITE_UTF8);
        break;
    case SQL_VALUE_BLOB:
        /* A NULL pointer would bind SQL NULL: an empty blob is a zero-length blob. */
        rc = v->len ? sqlite3_bind_blob64(s, idx, v->p, v->len, SQLITE_TRANSIENT)
                    : sqlite3_bind_zeroblob(s, idx, 0);
        break;
    default:
        rc = sqlite3_bind_null(s, idx);
        break;
    }
    if (rc == SQLITE_RANGE) {
        log_error("sql.error", "engine", "sqlite", "op", "bind", "message",
                  "parameter index out of range", NULL);
        return CAPP_EINVAL;
    }
    return rc == SQLITE_OK ? 0 : fail(sqlite3_db_handle(s), "bind", rc);
}

static int lite_step(struct sql_stmt *st)
{
    sqlite3_stmt *s = stmt_of(st);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE) {
        if (!sqlite3_stmt_readonly(s))
            st->changes = sqlite3_changes64(sqlite3_db_handle(s));
        return 0;
    }
    return fail(sqlite3_db_handle(s), "step", rc);
}

static void lite_reset(struct sql_stmt *st)
{
    sqlite3_reset(stmt_of(st));
    sqlite3_clear_bindings(stmt_of(st));
    st->changes = 0;
}

static int lite_column_count(struct sql_stmt *st)
{
    return sqlite3_column_count(stmt_of(st));
}

static int lite_column_is_null(struct sql_stmt *st, int col)
{
    return sqlite3_column_type(stmt_of(st), col) == SQLITE_NULL;
}

static const char *lite_column_text(struct sql_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(stmt_of(st), col);
}

static size_t lite_column_bytes(struct sql_stmt *st, int col)
{
    return (size_t)sqlite3_column_bytes(stmt_of(st), col);
}

static const void *lite_column_blob(struct sql_stmt *st, int col, size_t *len)
{
    sqlite3_stmt *s = stmt_of(st);
    const void *p = sqlite3_column_blob(s, col);
    size_t n = (size_t)sqlite3_column_bytes(s, col);
    if (len)
        *len = n;
    /* SQLite gives NULL for an empty blob: only SQL NULL should read as NULL. */
    if (!p && sqlite3_column_type(s, col) != SQLITE_NULL)
        return "";
    return p;
}

static int64_t lite_column_int64(struct sql_stmt *st, int col)
{
    return sqlite3_column_int64(stmt_of(st), col);
}

static double lite_column_double(struct sql_stmt *st, int col)
{
    return sqlite3_column_double(stmt_of(st), col);
}

static int lite_exec(struct sql_conn *c, const char *sql)
{
    int rc = sqlite3_exec(handle(c), sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail(handle(c), "exec", rc);
}

static int lite_commit(struct sql_conn *c)
{
    return lite_exec(c, "COMMIT");
}

static void lite_rollback(struct sql_conn *c)
{
    (void)lite_exec(c, "ROLLBACK");
}

static int lite_in_transaction(struct sql_conn *c)
{
    return !sqlite3_get_autocommit(handle(c));
}

static const struct sql_driver lite_driver = {
    .begin_sql = "BEGIN IMMEDIATE",
    .close = lite_close,
    .ping = lite_ping,
    .stmt_new = lite_stmt_new,
    .stmt_free = lite_stmt_free,
    .bind = lite_bind,
    .step = lite_step,
    .reset = lite_reset,
    .column_count = lite_column_count,
    .column_is_null = lite_column_is_null,
    .column_text = lite_column_text,
    .column_bytes = lite_column_bytes,
    .column_blob = lite_column_blob,
    .column_int64 = lite_column_int64,
    .column_double = lite_column_double,
    .exec = lite_exec,
    .commit = lite_commit,
    .rollback = lite_rollback,
    .in_transaction = lite_in_transaction,
};

int sql_sqlite_open(const char *path, struct sql_conn **out)
{
    struct lite_conn *c = calloc(1, sizeof *c);
    if (!c)
        return CAPP_ENOMEM;
    int rc = db_open(path, 0, &c->db);
    if (rc) {
        free(c);
        return rc;
    }
    c->base.driver = &lite_driver;
    c->base.engine = SQL_SQLITE;
    *out = &c->base;
    return 0;
}

struct sqlite3 *sql_sqlite_handle(struct sql_conn *c)
{
    return c && c->engine == SQL_SQLITE ? handle(c) : NULL;
}
