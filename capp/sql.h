/*
 * sql.h — one SQL interface over two engines: SQLite (embedded, the default: a path) and
 * PostgreSQL through libpq (a connection string: "postgres://…", "postgresql://…", or a libpq
 * keyword string such as "host=/run/pg dbname=app"). Code above it (an app's results layer,
 * reviews, reviewers, audit, the PostgreSQL install store) is written once and runs on both.
 *
 * Portable SQL (what statements given to sql_prepare / sql_exec may use):
 *   - parameters: "?" (next number) or "?N" (1-based); the PostgreSQL driver rewrites them to
 *     "$N" outside string literals, quoted identifiers and comments;
 *   - upserts with INSERT … ON CONFLICT (cols) DO NOTHING / DO UPDATE SET c = excluded.c; never
 *     INSERT OR IGNORE / OR REPLACE; RETURNING instead of last-insert-rowid;
 *   - COALESCE (not IFNULL); CASE instead of two-argument MIN/MAX or GREATEST/LEAST; lower() on
 *     both sides for case-insensitive LIKE; no json_* functions, no strftime/julianday, no rowid;
 *     a boolean expression in a select list is wrapped as CASE WHEN … THEN 1 ELSE 0 END;
 *   - integers are 64-bit (BIGINT in PostgreSQL DDL), reals DOUBLE PRECISION, text TEXT, blobs
 *     BYTEA; DDL that differs between engines goes in the two texts of a sql_migration.
 *   - row locks: sql_xact_lock() (an advisory transaction lock on PostgreSQL; a no-op on SQLite,
 *     where sql_begin already takes the one write lock) or "FOR UPDATE" via sql_for_update().
 *
 * Statements are cached per connection by SQL text: sql_prepare returns the connection's cached
 * statement for that text (reset, bindings cleared) and sql_finalize hands it back to the cache;
 * a text already in use on the connection gets a fresh, uncached statement. On PostgreSQL a
 * statement is prepared server-side once per connection (PQprepare) and executed with typed,
 * text-format parameters; a step buffers the whole result (PQexecPrepared), so very large scans
 * should page (LIMIT with a key cursor) on both engines.
 *
 * Errors: 0 / 1 / CAPP_E* as documented; a unique or foreign-key violation is CAPP_EEXIST; a
 * serialization failure or deadlock (PostgreSQL 40001 / 40P01) or SQLITE_BUSY is CAPP_EBUSY
 * (retry the transaction); a lost server connection is CAPP_ENETWORK (the connection is reset
 * on the next sql_prepare / sql_exec / sql_begin; statements are re-prepared); anything else
 * CAPP_EDB. A connection lost inside a transaction answers CAPP_ENETWORK to everything until
 * sql_rollback, so no statement meant for that transaction runs alone in autocommit. Each
 * failure logs one line (component "sql", never parameter values).
 *
 * Threads: a connection belongs to one thread at a time (STYLE rule 7); sql_pool gives each
 * thread its own.
 */
#ifndef CAPP_SQL_H
#define CAPP_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "assert.h" /* COUNTOF */

enum sql_engine { SQL_SQLITE, SQL_POSTGRES };

struct sql_conn;
struct sql_stmt;

/* 1 when target names a PostgreSQL server, 0 for a SQLite path. The rule: target starts with
 * "postgres://" or "postgresql://" (any case), or its first word, up to a '=' (blanks allowed
 * around it), is a libpq keyword (host, hostaddr, port, dbname, user, password, passfile,
 * service, connect_timeout, options, sslmode, application_name, …; the list is in sql.c). So
 * "data=1.db", "/srv/host=a/x.db" and "file:x.db" are SQLite files. */
int sql_target_is_postgres(const char *target);
/* The longest absolute path SQLite opens here: its default VFS's mxPathname less the
 * "-journal" suffix of the files it keeps beside a database; 0 when it cannot be known. */
size_t sql_sqlite_path_max(void);
/* Whether target can be serve's --db TARGET (capp/serve.h), before anything opens it: 0, or
 * CAPP_EINVAL when it is empty, CAPP_ETOOBIG when it is longer than CAPP_MAX_DB_TARGET_BYTES or,
 * as a SQLite path, longer once made absolute (against the working directory) than
 * sql_sqlite_path_max() (SQLite itself says only "unable to open database file"). why (cap
 * bytes) then says so in words that never quote the target, which may carry a password; the
 * caller names the flag. */
int sql_check_target(const char *target, char *why, size_t cap);
/* Opens target. SQLite: as db_open (pragmas, files created 0600; ":memory:" works). PostgreSQL:
 * connects (connect_timeout 5 s unless the string sets one), sets client_encoding UTF8, TimeZone
 * UTC, and statement_timeout 30 s. CAPP_ENETWORK when the server cannot be reached. */
int sql_open(const char *target, struct sql_conn **out);
void sql_close(struct sql_conn *c); /* NULL-safe; finalizes cached statements */
enum sql_engine sql_engine_of(const struct sql_conn *c);
/* A PostgreSQL connection: 1 when it is usable now (after a reset if it was lost; a cheap
 * "SELECT 1" round trip); SQLite: always 1. For /healthz. */
int sql_ping(struct sql_conn *c);
/* The SQLite handle under c (NULL on PostgreSQL): for code not yet written against this
 * interface only. */
struct sqlite3 *sql_sqlite_handle(struct sql_conn *c);
/* The libpq connection under c (NULL on SQLite): for what the interface does not cover
 * (LISTEN/NOTIFY, PQsocket). Valid until the next call that may reset the connection. */
struct pg_conn *sql_pg_handle(struct sql_conn *c);

int sql_prepare(struct sql_conn *c, const char *sql, struct sql_stmt **out);
/* Bindings are copied. idx is 1-based. NULL text binds NULL. */
int sql_bind_text(struct sql_stmt *st, int idx, const char *text);
int sql_bind_textn(struct sql_stmt *st, int idx, const char *text, size_t len);
int sql_bind_int64(struct sql_stmt *st, int idx, int64_t value);
int sql_bind_double(struct sql_stmt *st, int idx, double value);
int sql_bind_blob(struct sql_stmt *st, int idx, const void *data, size_t len);
int sql_bind_null(struct sql_stmt *st, int idx);
/* 1: a row is available; 0: done; CAPP_E* (see above). The first step executes. */
int sql_step(struct sql_stmt *st);
int sql_column_count(struct sql_stmt *st);
int sql_column_is_null(struct sql_stmt *st, int col);
/* Column values of the current row, valid until the next step, reset or finalize. Text: NULL
 * for SQL NULL. Integers and reals parse the column (PostgreSQL sends text); 0 for NULL. */
const char *sql_column_text(struct sql_stmt *st, int col);
size_t sql_column_bytes(struct sql_stmt *st, int col); /* text or blob length */
int64_t sql_column_int64(struct sql_stmt *st, int col);
double sql_column_double(struct sql_stmt *st, int col);
const void *sql_column_blob(struct sql_stmt *st, int col, size_t *len);
/* Copies the column's text into out (cap bytes, always NUL-terminated); "" for NULL. */
void sql_column_copy(struct sql_stmt *st, int col, char *out, size_t cap);
/* Rows changed by the last finished INSERT/UPDATE/DELETE on this statement. */
int64_t sql_stmt_changes(struct sql_stmt *st);
/* Ready to bind and step again (bindings cleared). */
void sql_reset(struct sql_stmt *st);
/* Back to the connection's cache (or freed when uncached). NULL-safe. */
void sql_finalize(struct sql_stmt *st);

/* Runs SQL without parameters or results; several statements allowed. */
int sql_exec(struct sql_conn *c, const char *sql);
/* SQLite: BEGIN IMMEDIATE (the one write lock). PostgreSQL: BEGIN (READ COMMITTED). Inside a
 * transaction already: CAPP_EDB on both (no nesting). */
int sql_begin(struct sql_conn *c);
int sql_commit(struct sql_conn *c);
void sql_rollback(struct sql_conn *c); /* no-op outside a transaction */
int sql_in_transaction(struct sql_conn *c);
/* Inside a transaction: serialises every transaction that takes the same key until it ends
 * (PostgreSQL: pg_advisory_xact_lock on a 64-bit hash of key; SQLite: no-op). */
int sql_xact_lock(struct sql_conn *c, const char *key);
/* " FOR UPDATE" on PostgreSQL, "" on SQLite: appended to a SELECT that must lock its rows. */
const char *sql_for_update(const struct sql_conn *c);

/* One migration step, applied once, in order, in its own transaction, recorded in
 * schema_migrations(component, version, applied_at). postgres NULL: the sqlite text serves both.
 * On PostgreSQL the whole migration of a component holds an advisory lock, so replicas that
 * start at once migrate it exactly once; the others wait and then see it done. */
struct sql_migration {
    int version;
    const char *sqlite;
    const char *postgres;
};
int sql_migrate(struct sql_conn *c, const char *component, const struct sql_migration *steps,
                size_t count);

/* One-off statements with text and integer parameters, bound texts first then ints (as db_run /
 * db_load_texts in db.h; DB_TEXTS / DB_INTS / DB_NONE build the lists). *changes may be NULL. */
int sql_run(struct sql_conn *c, const char *sql, const char *const *texts, int ntexts,
            const int64_t *ints, int nints, int64_t *changes);
struct sql_text_out {
    char *buf;
    size_t cap;
};
/* First row's columns 0..nouts copied as text; CAPP_ENOTFOUND without a row. */
int sql_load_texts(struct sql_conn *c, const char *sql, const char *const *texts, int ntexts,
                   const struct sql_text_out *outs, int nouts);

/* First row's column 0 as an integer (a count, a sum); CAPP_ENOTFOUND without a row. */
int sql_load_int64(struct sql_conn *c, const char *sql, const char *const *texts, int ntexts,
                   const int64_t *ints, int nints, int64_t *out);

/* One connection per thread, any number of threads (as db_pool.h, for both engines). */
struct sql_pool;
struct sql_pool_config {
    const char *target; /* copied */
    /* Each new connection, before first use (NULL: none). *state is the caller's per-connection
     * data (NULL on entry). Non-zero: the connection is closed and sql_pool_get gives NULL. */
    int (*setup)(void *ctx, struct sql_conn *c, void **state);
    void (*teardown)(void *ctx, struct sql_conn *c, void *state);
    void *ctx;
};
int sql_pool_new(const struct sql_pool_config *config, struct sql_pool **out);
/* The calling thread's connection (opened on first use); NULL when it cannot be opened. A
 * PostgreSQL connection found broken is reset here. */
struct sql_conn *sql_pool_get(struct sql_pool *pool, void **state);
void sql_pool_release(struct sql_pool *pool);
void sql_pool_free(struct sql_pool *pool);

#endif
