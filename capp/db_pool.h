/*
 * db_pool.h — one SQLite connection per thread, for any number of threads (STYLE rule 7: a
 * connection is never shared). Used by capp's store readers, the apps' own stores and cloudsim's
 * platform and Core stores.
 *
 * A thread's first db_pool_get() opens its connection (db_open: the project's pragmas, files
 * mode 0600) and runs the pool's setup function on it, on that thread; later calls return the
 * same connection. It is closed when the thread exits (teardown first), when the thread calls
 * db_pool_release(), or by db_pool_free(), whichever comes first. A failed open or setup gives
 * NULL and keeps nothing, so the next call tries again.
 *
 * Threads: db_pool_get/release from any thread. db_pool_free once, when no other thread still
 * uses the pool and none is exiting; connections of threads still alive are closed by it (on
 * the freeing thread: SQLite allows that once the owner stopped using the connection).
 */
#ifndef CAPP_DB_POOL_H
#define CAPP_DB_POOL_H

#include <sqlite3.h>

struct db_pool;

struct db_pool_config {
    const char *path; /* copied */
    int readonly;
    /* Each new connection, before first use (NULL: none): tuning pragmas, cached statements.
     * *state (NULL on entry) is the caller's per-connection data, handed back by db_pool_get
     * and to teardown. Returns 0 or a CAPP_E*: the connection is then closed, teardown not run
     * (setup cleans up after itself). */
    int (*setup)(void *ctx, sqlite3 *db, void **state);
    /* Before each connection closes (NULL: none): release *state. */
    void (*teardown)(void *ctx, sqlite3 *db, void *state);
    void *ctx;
};

int db_pool_new(const struct db_pool_config *config, struct db_pool **out);
/* The calling thread's connection; state (may be NULL) gets its setup state. NULL when it
 * cannot be opened or set up. */
sqlite3 *db_pool_get(struct db_pool *pool, void **state);
/* Closes the calling thread's connection now, if it has one. */
void db_pool_release(struct db_pool *pool);
/* Closes every connection and frees the pool. NULL-safe. */
void db_pool_free(struct db_pool *pool);

#endif
