/*
 * core_stmt.h — a per-thread cache of prepared statements for cloudsim's hot paths: the data
 * half's reads (lists, counts, the key-set cursors of core_store.c), the metadata merge and the
 * audit writer.
 *
 * Preparing a list query costs tens of microseconds, as much as serving a small page, so the
 * statements of the last CORE_STMT_CACHE_SIZE distinct SQL texts stay prepared. Each thread
 * caches statements of one connection only (STYLE rule 7: a thread owns one connection); when
 * a thread shows up with another connection, the old statements are finalized first, so a
 * closed connection (sqlite3_close_v2 leaves it a zombie while statements live) is released at
 * the next call or at thread exit at the latest.
 *
 * The database file is deliberately not memory-mapped (PRAGMA mmap_size): it made read-only
 * list pages ~20 % cheaper, but SQLite unmaps a connection's whole mapping at the start of any
 * read transaction after another connection committed, so under the pipeline's writes every
 * call paid an munmap of tens of MB, a TLB shootdown on every core and the page faults to map
 * it again (~30 % of a metadata write's CPU).
 *
 * Ownership: core_stmt_get() lends a statement, reset and with no bindings; give it back with
 * core_stmt_put() (NULL-safe), which resets it so it holds no read snapshot while idle. A
 * statement that could not be cached (cache busy with the same SQL, or full of lent ones) is
 * finalized by core_stmt_put().
 */
#ifndef CLOUDSIM_CORE_STMT_H
#define CLOUDSIM_CORE_STMT_H

#include <sqlite3.h>

#define CORE_STMT_CACHE_SIZE 32

/* 0 or CAPP_EDB / CAPP_ENOMEM. */
int core_stmt_get(sqlite3 *db, const char *sql, sqlite3_stmt **out);
void core_stmt_put(sqlite3_stmt *stmt);

#endif
