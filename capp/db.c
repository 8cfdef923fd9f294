#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

static int db_error(sqlite3 *db, const char *what)
{
    log_error("db.error", "op", what, "message", sqlite3_errmsg(db), NULL);
    return CAPP_EDB;
}

/* SQLite creates a database file with mode 0644 (less the umask), and its -wal and -shm files
 * with the mode of the database file. The files hold install records, identities and review
 * notes: creating the database file 0600 first makes all three readable by the owner only. An
 * existing file keeps the mode its operator gave it. */
static int create_private(const char *path)
{
    if (!path[0] || strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        return close(fd) == 0 ? 0 : CAPP_EDB;
    if (errno == EEXIST)
        return 0;
    log_error("db.open_failed", "path", path, "message", strerror(errno), NULL);
    return CAPP_EDB;
}

/* Processes opening one new file at once (replicas starting together) each switch it to WAL,
 * which needs the file to itself: two connections that both hold a shared lock and both want it
 * get SQLITE_BUSY at once, without the busy handler (SQLite's deadlock rule). Wait and try again
 * for as long as the busy timeout would have waited; once one switched, the others find WAL. */
static int switch_to_wal(sqlite3 *db)
{
    useconds_t pause = 1000;
    for (long waited = 0;; waited += pause, pause = pause < 100000 ? pause * 2 : pause) {
        int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return 0;
        if ((rc & 0xff) != SQLITE_BUSY || waited >= 5000000L)
            return db_error(db, "journal_mode=WAL");
        usleep(pause);
    }
}

int db_open(const char *path, int readonly, sqlite3 **out)
{
    sqlite3 *db = NULL;
    if (!readonly && create_private(path) != 0)
        return CAPP_EDB;
    int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        log_error("db.open_failed", "path", path, "message", db ? sqlite3_errmsg(db) : "oom", NULL);
        sqlite3_close(db);
        return CAPP_EDB;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_extended_result_codes(db, 1);
    int rc = db_exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;");
    if (rc == 0 && !readonly && strcmp(path, ":memory:") != 0)
        rc = switch_to_wal(db);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

void db_close(sqlite3 *db)
{
    if (db)
        sqlite3_close_v2(db);
}

int db_exec(sqlite3 *db, const char *sql)
{
    char *message = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &message) != SQLITE_OK) {
        log_error("db.exec_failed", "message", message ? message : sqlite3_errmsg(db), NULL);
        sqlite3_free(message);
        return CAPP_EDB;
    }
    return 0;
}

int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    if (sqlite3_prepare_v2(db, sql, -1, out, NULL) != SQLITE_OK)
        return db_error(db, "prepare");
    return 0;
}

int db_step_done(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return CAPP_EEXIST;
    return db_error(sqlite3_db_handle(stmt), "step");
}

int db_step_row(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return db_error(sqlite3_db_handle(stmt), "step");
}

int db_bind_text(sqlite3_stmt *stmt, int idx, const char *text)
{
    int rc = text ? sqlite3_bind_text(stmt, idx, text, -1, SQLITE_TRANSIENT)
                  : sqlite3_bind_null(stmt, idx);
    return rc == SQLITE_OK ? 0 : CAPP_EDB;
}

int db_bind_int64(sqlite3_stmt *stmt, int idx, int64_t value)
{
    return sqlite3_bind_int64(stmt, idx, value) == SQLITE_OK ? 0 : CAPP_EDB;
}

void db_column_copy(sqlite3_stmt *stmt, int col, char *out, size_t cap)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    snprintf(out, cap, "%s", text ? (const char *)text : "");
}

int db_run(sqlite3 *db, const char *sql, const char *const *texts, int ntexts, const int64_t *ints,
           int nints, int *changes)
{
    sqlite3_stmt *stmt;
    int rc = db_prepare(db, sql, &stmt);
    if (rc)
        return rc;
    int idx = 1;
    for (int i = 0; i < ntexts && rc == 0; i++)
        rc = db_bind_text(stmt, idx++, texts[i]);
    for (int i = 0; i < nints && rc == 0; i++)
        rc = db_bind_int64(stmt, idx++, ints[i]);
    if (rc == 0)
        rc = db_step_done(stmt);
    if (changes)
        *changes = sqlite3_changes(db);
    sqlite3_finalize(stmt);
    return rc;
}

int db_load_texts(sqlite3 *db, const char *sql, const char *const *texts, int ntexts,
                  const struct db_text_out *outs, int nouts)
{
    sqlite3_stmt *stmt;
    int rc = db ? db_prepare(db, sql, &stmt) : CAPP_EDB;
    if (rc)
        return rc;
    for (int i = 0; i < ntexts && rc == 0; i++)
        rc = db_bind_text(stmt, i + 1, texts[i]);
    int found = rc == 0 ? db_step_row(stmt) : -1;
    for (int i = 0; found == 1 && i < nouts; i++)
        db_column_copy(stmt, i, outs[i].buf, outs[i].cap);
    sqlite3_finalize(stmt);
    return found == 1 ? 0 : found < 0 ? CAPP_EDB : CAPP_ENOTFOUND;
}

int db_begin_immediate(sqlite3 *db)
{
    return db_exec(db, "BEGIN IMMEDIATE");
}

int db_commit(sqlite3 *db)
{
    return db_exec(db, "COMMIT");
}

void db_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int db_migrate(sqlite3 *db, const char *component, const struct db_migration *steps, size_t count)
{
    int rc = db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                         " component TEXT NOT NULL, version INTEGER NOT NULL,"
                         " applied_at INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
                         " PRIMARY KEY (component, version))");
    if (rc)
        return rc;
    for (size_t i = 0; i < count; i++) {
        sqlite3_stmt *stmt = NULL;
        rc = db_begin_immediate(db);
        if (rc)
            return rc;
        rc = db_prepare(db, "SELECT 1 FROM schema_migrations WHERE component=? AND version=?",
                        &stmt);
        if (rc == 0) {
            db_bind_text(stmt, 1, component);
            db_bind_int64(stmt, 2, steps[i].version);
            int found = db_step_row(stmt);
            sqlite3_finalize(stmt);
            stmt = NULL;
            if (found < 0)
                rc = found;
            else if (found == 0) {
                rc = db_exec(db, steps[i].sql);
                if (rc == 0)
                    rc = db_prepare(
                        db, "INSERT INTO schema_migrations(component, version) VALUES(?,?)", &stmt);
                if (rc == 0) {
                    db_bind_text(stmt, 1, component);
                    db_bind_int64(stmt, 2, steps[i].version);
                    rc = db_step_done(stmt);
                    sqlite3_finalize(stmt);
                }
            }
        }
        if (rc) {
            db_rollback(db);
            return rc;
        }
        rc = db_commit(db);
        if (rc)
            return rc;
    }
    return 0;
}
