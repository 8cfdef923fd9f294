/*
 * sql.c — the engine-independent half of capp/sql.h: choosing the engine from the target, the
 * per-connection statement cache, transactions, migrations, the one-off helpers and the
 * per-thread pool. The engines live in sql_sqlite.c and sql_pg.c behind struct sql_driver
 * (sql_internal.h).
 *
 * Statement cache: a small hash table per connection keyed by the SQL text. sql_prepare hands
 * out the cached statement when it is free; when the same text is already in use (a nested
 * loop over the same query) the caller gets a fresh statement that sql_finalize frees, so two
 * users never share one cursor. The cache is capped (SQL_CACHE_MAX), so texts built at run time
 * cannot grow it without bound.
 *
 * Migrations: one schema_migrations(component, version, applied_at) table for both engines. On
 * SQLite it is created with the very DDL of capp/db.c's db_migrate, so a file migrated by
 * db_migrate carries on under sql_migrate and the other way round. On PostgreSQL a session
 * advisory lock per component makes replicas that start at once migrate it once.
 */
#include "sql.h"

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "hash.h"
#include "limits.h"
#include "log.h"
#include "sql_internal.h"

/* libpq keywords that can start a keyword/value connection string ("host=/run/pg dbname=app").
 * A SQLite path is taken for PostgreSQL only when its text up to the first '=' is one of them,
 * so "data=1.db" or "/srv/a=b.db" stay files. */
static const char *const pg_keywords[] = {
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "service",
    "connect_timeout",
    "options",
    "sslmode",
    "application_name",
    "target_session_attrs",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "channel_binding",
    "gssencmode",
    "client_encoding",
    "keepalives",
};

int sql_target_is_postgres(const char *target)
{
    if (!target)
        return 0;
    if (strncasecmp(target, "postgres://", 11) == 0 ||
        strncasecmp(target, "postgresql://", 13) == 0)
        return 1;
    const char *s = target;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = 0;
    while (s[n] && s[n] != '=' && s[n] != ' ' && s[n] != '\t')
        n++;
    const char *after = s + n;
    while (*after == ' ' || *after == '\t')
        after++;
    if (*after != '=')
        return 0;
    for (size_t i = 0; i < COUNTOF(pg_keywords); i++)
        if (strlen(pg_keywords[i]) == n && strncmp(s, pg_keywords[i], n) == 0)
            return 1;
    return 0;
}

/* The files SQLite keeps beside a database: "<path>-journal" is the longest name it opens. */
#define SQLITE_SIDE_FILE_SUFFIX "-journal"

/* The longest absolute SQLite path this build's default VFS opens (its full-path limit less the
 * side file's suffix), 0 when it cannot be known. */
size_t sql_sqlite_path_max(void)
{
    sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
    size_t suffix = strlen(SQLITE_SIDE_FILE_SUFFIX);
    if (!vfs || vfs->mxPathname <= (int)suffix)
        return 0;
    return (size_t)vfs->mxPathname - suffix;
}

int sql_check_target(const char *target, char *why, size_t cap)
{
    size_t len = target ? strlen(target) : 0;
    if (len == 0) {
        snprintf(why, cap, "is empty: give a SQLite file path or a PostgreSQL connection string");
        return CAPP_EINVAL;
    }
    if (len > CAPP_MAX_DB_TARGET_BYTES) {
        snprintf(why, cap, "is %zu bytes long; at most %d are accepted", len,
                 CAPP_MAX_DB_TARGET_BYTES);
        return CAPP_ETOOBIG;
    }
    if (sql_target_is_postgres(target) || strcmp(target, ":memory:") == 0 ||
        strncmp(target, "file:", 5) == 0)
        return 0;
    /* SQLite makes a relative path absolute against the working directory, then refuses one
     * whose journal's name would not fit its VFS's limit. When the working directory cannot be
     * read, SQLite cannot resolve the path either and says so when it opens it. */
    size_t full = len;
    if (target[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return 0;
        full += strlen(cwd) + 1;
    }
    size_t max = sql_sqlite_path_max();
    if (max == 0)
        return 0;
    if (full > max) {
        snprintf(why, cap,
                 "is a SQLite path of %zu bytes once made absolute; SQLite opens at most %zu "
                 "(its limit of %zu on a full path, less the \"%s\" of the file it keeps beside "
                 "the database)",
                 full, max, max + strlen(SQLITE_SIDE_FILE_SUFFIX), SQLITE_SIDE_FILE_SUFFIX);
        return CAPP_ETOOBIG;
    }
    return 0;
}

int sql_open(const char *target, struct sql_conn **out)
{
    *out = NULL;
    if (!target)
        return CAPP_EINVAL;
    return sql_target_is_postgres(target) ? sql_pg_open(target, out) : sql_sqlite_open(target, out);
}

void sql_close(struct sql_conn *c)
{
    if (!c)
        return;
    for (int b = 0; b < SQL_CACHE_BUCKETS; b++) {
        struct sql_stmt *st = c->cache[b];
        while (st) {
            struct sql_stmt *next = st->next;
            c->driver->stmt_free(st);
            st = next;
        }
        c->cache[b] = NULL;
    }
    c->driver->close(c);
}

enum sql_engine sql_engine_of(const struct sql_conn *c)
{
    return c->engine;
}

int sql_ping(struct sql_conn *c)
{
    return c->driver->ping(c);
}

static int revive(struct sql_conn *c)
{
    return c->driver->revive ? c->driver->revive(c, 0) : 0;
}

int sql_prepare(struct sql_conn *c, const char *sql, struct sql_stmt **out)
{
    *out = NULL;
    int rc = revive(c);
    if (rc)
        return rc;
    uint64_t h = hash_fnv1a_str(sql);
    struct sql_stmt **bucket = &c->cache[h % SQL_CACHE_BUCKETS];
    int known = 0;
    for (struct sql_stmt *st = *bucket; st; st = st->next) {
        if (st->hash != h || strcmp(st->sql, sql) != 0)
            continue;
        known = 1;
        if (!st->in_use) {
            st->in_use = 1;
            *out = st;
            return 0;
        }
    }
    int cache = !known && c->cached_count < SQL_CACHE_MAX;
    struct sql_stmt *st = NULL;
    rc = c->driver->stmt_new(c, sql, cache, &st);
    if (rc)
        return rc;
    st->conn = c;
    st->hash = h;
    st->cached = cache;
    st->in_use = 1;
    if (cache) {
        st->next = *bucket;
        *bucket = st;
        c->cached_count++;
    }
    *out = st;
    return 0;
}

static int bind(struct sql_stmt *st, int idx, const struct sql_value *v)
{
    if (idx < 1)
        return CAPP_EINVAL;
    return st->conn->driver->bind(st, idx, v);
}

int sql_bind_text(struct sql_stmt *st, int idx, const char *text)
{
    return text ? sql_bind_textn(st, idx, text, strlen(text)) : sql_bind_null(st, idx);
}

int sql_bind_textn(struct sql_stmt *st, int idx, const char *text, size_t len)
{
    if (!text)
        return sql_bind_null(st, idx);
    struct sql_value v = {.type = SQL_VALUE_TEXT, .p = text, .len = len};
    return bind(st, idx, &v);
}

int sql_bind_int64(struct sql_stmt *st, int idx, int64_t value)
{
    struct sql_value v = {.type = SQL_VALUE_INT, .i = value};
    return bind(st, idx, &v);
}

int sql_bind_double(struct sql_stmt *st, int idx, double value)
{
    struct sql_value v = {.type = SQL_VALUE_DOUBLE, .d = value};
    return bind(st, idx, &v);
}

int sql_bind_blob(struct sql_stmt *st, int idx, const void *data, size_t len)
{
    struct sql_value v = {.type = SQL_VALUE_BLOB, .p = data ? data : "", .len = data ? len : 0};
    return bind(st, idx, &v);
}

int sql_bind_null(struct sql_stmt *st, int idx)
{
    struct sql_value v = {.type = SQL_VALUE_NULL};
    return bind(st, idx, &v);
}

int sql_step(struct sql_stmt *st)
{
    return st->conn->driver->step(st);
}

int sql_column_count(struct sql_stmt *st)
{
    return st->conn->driver->column_count(st);
}

static int column_ok(struct sql_stmt *st, int col)
{
    return col >= 0 && col < st->conn->driver->column_count(st);
}

int sql_column_is_null(struct sql_stmt *st, int col)
{
    return column_ok(st, col) ? st->conn->driver->column_is_null(st, col) : 1;
}

const char *sql_column_text(struct sql_stmt *st, int col)
{
    return column_ok(st, col) ? st->conn->driver->column_text(st, col) : NULL;
}

size_t sql_column_bytes(struct sql_stmt *st, int col)
{
    return column_ok(st, col) ? st->conn->driver->column_bytes(st, col) : 0;
}

int64_t sql_column_int64(struct sql_stmt *st, int col)
{
    return column_ok(st, col) ? st->conn->driver->column_int64(st, col) : 0;
}

double sql_column_double(struct sql_stmt *st, int col)
{
    return column_ok(st, col) ? st->conn->driver->column_double(st, col) : 0.0;
}

const void *sql_column_blob(struct sql_stmt *st, int col, size_t *len)
{
    if (!column_ok(st, col)) {
        if (len)
            *len = 0;
        return NULL;
    }
    return st->conn->driver->column_blob(st, col, len);
}

void sql_column_copy(struct sql_stmt *st, int col, char *out, size_t cap)
{
    const char *text = sql_column_text(st, col);
    snprintf(out, cap, "%s", text ? text : "");
}

int64_t sql_stmt_changes(struct sql_stmt *st)
{
    return st->changes;
}

void sql_reset(struct sql_stmt *st)
{
    st->conn->driver->reset(st);
}

void sql_finalize(struct sql_stmt *st)
{
    if (!st)
        return;
    if (st->cached) {
        st->conn->driver->reset(st);
        st->in_use = 0;
        return;
    }
    st->conn->driver->stmt_free(st);
}

int sql_exec(struct sql_conn *c, const char *sql)
{
    int rc = revive(c);
    return rc ? rc : c->driver->exec(c, sql);
}

int sql_begin(struct sql_conn *c)
{
    /* PostgreSQL only warns about a BEGIN inside a transaction and carries on; SQLite refuses.
     * Both refuse here, so a nesting mistake shows on either engine. */
    if (c->driver->in_transaction(c)) {
        log_error("sql.error", "op", "begin", "message", "already inside a transaction", NULL);
        return CAPP_EDB;
    }
    return sql_exec(c, c->driver->begin_sql);
}

int sql_commit(struct sql_conn *c)
{
    return c->driver->commit(c);
}

void sql_rollback(struct sql_conn *c)
{
    if (c->driver->in_transaction(c))
        c->driver->rollback(c);
}

int sql_in_transaction(struct sql_conn *c)
{
    return c->driver->in_transaction(c);
}

/* Runs a one-parameter SELECT (an advisory lock function) to its end. */
static int run_int(struct sql_conn *c, const char *sql, int64_t value)
{
    struct sql_stmt *st;
    int rc = sql_prepare(c, sql, &st);
    if (rc)
        return rc;
    rc = sql_bind_int64(st, 1, value);
    while (rc == 0 && (rc = sql_step(st)) == 1)
        rc = 0;
    sql_finalize(st);
    return rc;
}

/* The advisory-lock key of a text: FNV-1a 64 (stable across versions and machines). */
static int64_t lock_key(const char *prefix, const char *key)
{
    return (int64_t)hash_fnv1a_add_str(hash_fnv1a_str(prefix), key);
}

int sql_xact_lock(struct sql_conn *c, const char *key)
{
    if (c->engine != SQL_POSTGRES)
        return 0;
    if (!c->driver->in_transaction(c)) {
        log_error("sql.error", "op", "xact_lock", "message", "outside a transaction", NULL);
        return CAPP_EINVAL;
    }
    return run_int(c, "SELECT pg_advisory_xact_lock(?)", lock_key("", key));
}

const char *sql_for_update(const struct sql_conn *c)
{
    return c->engine == SQL_POSTGRES ? " FOR UPDATE" : "";
}

/* SQLite: the DDL of db_migrate (capp/db.c), byte for byte, so both create the same table. */
static const char migrations_sqlite[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " component TEXT NOT NULL, version INTEGER NOT NULL,"
    " applied_at INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
    " PRIMARY KEY (component, version))";
static const char migrations_pg[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " component TEXT NOT NULL, version BIGINT NOT NULL, applied_at BIGINT NOT NULL,"
    " PRIMARY KEY (component, version))";

static int migrate_step(struct sql_conn *c, const char *component, const struct sql_migration *m)
{
    int rc = sql_begin(c);
    if (rc)
        return rc;
    struct sql_stmt *st;
    rc = sql_prepare(c, "SELECT 1 FROM schema_migrations WHERE component = ? AND version = ?", &st);
    if (rc == 0) {
        rc = sql_bind_text(st, 1, component);
        if (rc == 0)
            rc = sql_bind_int64(st, 2, m->version);
        if (rc == 0)
            rc = sql_step(st);
        sql_finalize(st);
    }
    if (rc == 0) {
        const char *text = c->engine == SQL_POSTGRES && m->postgres ? m->postgres : m->sqlite;
        rc = sql_exec(c, text);
        if (rc == 0)
            rc = sql_run(c,
                         "INSERT INTO schema_migrations (component, version, applied_at)"
                         " VALUES (?, ?, ?)",
                         (const char *const[]){component}, 1,
                         (const int64_t[]){m->version, clock_now_ms() / 1000}, 2, NULL);
        if (rc == 0) {
            char version[24];
            snprintf(version, sizeof version, "%d", m->version);
            log_info("sql.migrated", "component", component, "version", version, NULL);
        }
    } else if (rc == 1) {
        rc = 0;
    }
    if (rc) {
        sql_rollback(c);
        return rc;
    }
    return sql_commit(c);
}

static int migrate_once(struct sql_conn *c, const char *component,
                        const struct sql_migration *steps, size_t count)
{
    int pg = c->engine == SQL_POSTGRES;
    int64_t key = lock_key("migrate:", component);
    int rc = pg ? run_int(c, "SELECT pg_advisory_lock(?)", key) : 0;
    if (rc)
        return rc;
    rc = sql_exec(c, pg ? migrations_pg : migrations_sqlite);
    /* Two components creating the table at once on PostgreSQL (their locks differ): one of
     * them loses the race on the catalog (a unique violation or "already exists") and finds the
     * table there on the second try. */
    if (pg && (rc == CAPP_EEXIST || rc == CAPP_EDB))
        rc = sql_exec(c, pg ? migrations_pg : migrations_sqlite);
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = migrate_step(c, component, &steps[i]);
    if (pg) {
        int unlock = run_int(c, "SELECT pg_advisory_unlock(?)", key);
        if (rc == 0)
            rc = unlock;
    }
    return rc;
}

int sql_migrate(struct sql_conn *c, const char *component, const struct sql_migration *steps,
                size_t count)
{
    /* SQLite: processes that start at once on one file (replicas, a CLI beside a server under
     * load) wait for the write lock only for the busy timeout, and SQLite's busy handler is not
     * fair: the one that keeps losing gets CAPP_EBUSY. Start-up should wait, not fail: try
     * again (applied steps are skipped) for up to a minute. PostgreSQL waits on its lock. */
    int64_t deadline = clock_now_ms() + 60000;
    useconds_t pause = 20000;
    int rc;
    while ((rc = migrate_once(c, component, steps, count)) == CAPP_EBUSY &&
           c->engine == SQL_SQLITE && clock_now_ms() < deadline) {
        log_warn("sql.migrate_busy", "component", component, NULL);
        usleep(pause);
        if (pause < 1000000)
            pause *= 2;
    }
    return rc;
}

static int bind_params(struct sql_stmt *st, const char *const *texts, int ntexts,
                       const int64_t *ints, int nints)
{
    int rc = 0, idx = 1;
    for (int i = 0; i < ntexts && rc == 0; i++)
        rc = sql_bind_text(st, idx++, texts[i]);
    for (int i = 0; i < nints && rc == 0; i++)
        rc = sql_bind_int64(st, idx++, ints[i]);
    return rc;
}

/* sql prepared with its parameters bound (texts first, then ints) into *out; on an error
 * nothing is left to finalize. */
static int prepare_bound(struct sql_conn *c, const char *sql, const char *const *texts, int ntexts,
                         const int64_t *ints, int nints, struct sql_stmt **out)
{
    struct sql_stmt *st;
    int rc = sql_prepare(c, sql, &st);
    if (rc)
        return rc;
    rc = bind_params(st, texts, ntexts, ints, nints);
    if (rc) {
        sql_finalize(st);
        return rc;
    }
    *out = st;
    return 0;
}

/* The loaders' statement stepped to its first row in *out (the caller finalizes it), or
 * CAPP_ENOTFOUND without a row, or the error, with nothing left to finalize. */
static int first_row(struct sql_conn *c, const char *sql, const char *const *texts, int ntexts,
                     const int64_t *ints, int nints, struct sql_stmt **out)
{
    struct sql_stmt *st;
    int rc = prepare_bound(c, sql, texts, ntexts, ints, nints, &st);
    if (rc)
        return rc;
    rc = sql_step(st);
    if (rc == 1) {
        *out = st;
        return 0;
    }
    sql_finalize(st);
    return rc == 0 ? CAPP_ENOTFOUND : rc;
}

int sql_run(struct sql_conn *c, const char *sql, const char *const *texts, int ntexts,
            const int64_t *ints, int nints, int64_t *changes)
{
    struct sql_stmt *st;
    int rc = prepare_bound(c, sql, texts, ntexts, ints, nints, &st);
    if (rc) {
        if (changes)
            *changes = 0;
        return rc;
    }
    while ((rc = sql_step(st)) == 1)
        ;
    if (changes)
        *changes = rc == 0 ? st->changes : 0;
    sql_finalize(st);
    return rc;
}

int sql_load_int64(struct sql_conn *c, const char *sql, const char *const *texts, int ntexts,
                   const int64_t *ints, int nints, int64_t *out)
{
    struct sql_stmt *st;
    int rc = first_row(c, sql, texts, ntexts, ints, nints, &st);
    if (rc)
        return rc;
    *out = sql_column_int64(st, 0);
    sql_finalize(st);
    return 0;
}

int sql_load_texts(struct sql_conn *c, const char *sql, const char *const *texts, int ntexts,
                   const struct sql_text_out *outs, int nouts)
{
    struct sql_stmt *st;
    int rc = first_row(c, sql, texts, ntexts, NULL, 0, &st);
    if (rc)
        return rc;
    for (int i = 0; i < nouts; i++)
        sql_column_copy(st, i, outs[i].buf, outs[i].cap);
    sql_finalize(st);
    return 0;
}
