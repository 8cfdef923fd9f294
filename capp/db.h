/*
 * db.h — SQLite plumbing shared by every component that keeps state in SQLite (the capp store,
 * an app's own tables, cloudsim): opening with the project's pragmas, versioned migrations, and
 * thin statement helpers that turn SQLite errors into CAPP_EDB with a log line.
 *
 * Pragmas: WAL journal, synchronous=FULL (an acknowledged commit survives power loss), foreign
 * keys on, busy timeout 5 s. A connection belongs to one thread at a time (STYLE rule 7).
 * All SQL takes bound parameters only.
 */
#ifndef CAPP_DB_H
#define CAPP_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "assert.h" /* COUNTOF */

/* One migration step: applied once, in order, inside a transaction, recorded in
 * schema_migrations(component, version). */
struct db_migration {
    int version;
    const char *sql;
};

/* Opens (creating if needed) path; ":memory:" works too. readonly=1 opens without write access.
 * A database file it creates is mode 0600, and so are its -wal and -shm files. */
int db_open(const char *path, int readonly, sqlite3 **out);
void db_close(sqlite3 *db);
int db_migrate(sqlite3 *db, const char *component, const struct db_migration *steps, size_t count);
/* Runs SQL without results (several statements allowed). */
int db_exec(sqlite3 *db, const char *sql);
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out);
/* Step a statement expected to finish (INSERT/UPDATE/DELETE): 0 or CAPP_EDB / CAPP_EEXIST on a
 * constraint violation. */
int db_step_done(sqlite3_stmt *stmt);
/* Step expecting a row: 1 row, 0 done, CAPP_EDB error. */
int db_step_row(sqlite3_stmt *stmt);
int db_bind_text(sqlite3_stmt *stmt, int idx, const char *text); /* NULL binds NULL */
int db_bind_int64(sqlite3_stmt *stmt, int idx, int64_t value);
/* Column text copied into out (cap bytes, always NUL-terminated); "" for NULL. */
void db_column_copy(sqlite3_stmt *stmt, int col, char *out, size_t cap);
/* Prepares sql, binds texts[0..ntexts) then ints[0..nints) in order, steps it to the end and
 * finalizes it: for one-off writes. *changes (may be NULL) gets sqlite3_changes(). NULL texts
 * bind NULL. Returns 0, CAPP_EEXIST on a constraint violation, or CAPP_EDB. */
int db_run(sqlite3 *db, const char *sql, const char *const *texts, int ntexts, const int64_t *ints,
           int nints, int *changes);
/* A parameter list and its count for db_run and db_load_texts, so no call spells a count that
 * can drift from its list: db_run(db, sql, DB_TEXTS(id, name), DB_INTS(now), NULL). DB_NONE: no
 * parameters of that kind. An array the caller declared goes in as `array, COUNTOF(array)`. */
#define DB_TEXTS(...) \
    ((const char *const[]){__VA_ARGS__}), (int)COUNTOF(((const char *const[]){__VA_ARGS__}))
#define DB_INTS(...) \
    ((const int64_t[]){__VA_ARGS__}), (int)COUNTOF(((const int64_t[]){__VA_ARGS__}))
#define DB_NONE NULL, 0
/* Where db_load_texts copies one column: cap bytes at buf (always NUL-terminated). */
struct db_text_out {
    char *buf;
    size_t cap;
};
/* Prepares sql, binds texts[0..ntexts) in order (NULL binds NULL) and copies the first row's
 * columns 0..nouts into outs as db_column_copy does: for one-row lookups. Returns 0,
 * CAPP_ENOTFOUND without a row, or CAPP_EDB. */
int db_load_texts(sqlite3 *db, const char *sql, const char *const *texts, int ntexts,
                  const struct db_text_out *outs, int nouts);
int db_begin_immediate(sqlite3 *db);
int db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);

#endif
