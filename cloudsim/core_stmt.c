/*
 * core_stmt.c — per-thread prepared statement cache (see core_stmt.h).
 *
 * A thread's cache is a small array searched linearly by SQL text (at most a few dozen
 * distinct list queries are live at once, and a memcmp per entry is far cheaper than a
 * prepare); the least recently used idle entry is replaced when full. It hangs off a pthread
 * key whose destructor finalizes everything at thread exit.
 */
#include "cloudsim/core_stmt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "capp/db.h"
#include "capp/err.h"

struct entry {
    char *sql; /* owned; NULL = empty slot */
    size_t len;
    sqlite3_stmt *stmt;
    unsigned long long used_at;
    int lent;
};

struct cache {
    sqlite3 *db;
    unsigned long long clock;
    struct entry entries[CORE_STMT_CACHE_SIZE];
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void drop_all(struct cache *c)
{
    for (int i = 0; i < CORE_STMT_CACHE_SIZE; i++) {
        struct entry *e = &c->entries[i];
        if (!e->sql)
            continue;
        sqlite3_finalize(e->stmt);
        free(e->sql);
        memset(e, 0, sizeof *e);
    }
}

static void cache_destroy(void *p)
{
    struct cache *c = p;
    drop_all(c);
    free(c);
}

static void make_key(void)
{
    (void)pthread_key_create(&cache_key, cache_destroy);
}

static struct cache *thread_cache(void)
{
    pthread_once(&cache_once, make_key);
    struct cache *c = pthread_getspecific(cache_key);
    if (c)
        return c;
    c = calloc(1, sizeof *c);
    if (c && pthread_setspecific(cache_key, c) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

/* Switches the cache to db: finalizes another connection's statements (unless some are lent,
 * in which case the cache is left alone and bypassed). 0 when the cache now serves db. */
static int attach(struct cache *c, sqlite3 *db)
{
    if (c->db == db)
        return 0;
    for (int i = 0; i < CORE_STMT_CACHE_SIZE; i++)
        if (c->entries[i].lent)
            return -1;
    drop_all(c);
    c->db = db;
    return 0;
}

int core_stmt_get(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    *out = NULL;
    struct cache *c = thread_cache();
    if (!c || attach(c, db) != 0)
        return db_prepare(db, sql, out);
    size_t len = strlen(sql);
    struct entry *victim = NULL;
    for (int i = 0; i < CORE_STMT_CACHE_SIZE; i++) {
        struct entry *e = &c->entries[i];
        if (e->sql && !e->lent && e->len == len && memcmp(e->sql, sql, len) == 0) {
            e->lent = 1;
            e->used_at = ++c->clock;
            *out = e->stmt;
            return 0;
        }
        if (!e->lent && (!victim || !e->sql || (victim->sql && e->used_at < victim->used_at)))
            victim = e;
    }
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v3(db, sql, (int)len + 1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) !=
        SQLITE_OK) {
        sqlite3_finalize(stmt);
        return db_prepare(db, sql, out); /* logs SQLite's message */
    }
    char *copy = victim ? malloc(len + 1) : NULL;
    if (!copy) {
        *out = stmt; /* uncached: core_stmt_put() finalizes it */
        return 0;
    }
    memcpy(copy, sql, len + 1);
    if (victim->sql) {
        sqlite3_finalize(victim->stmt);
        free(victim->sql);
    }
    victim->sql = copy;
    victim->len = len;
    victim->stmt = stmt;
    victim->lent = 1;
    victim->used_at = ++c->clock;
    *out = stmt;
    return 0;
}

void core_stmt_put(sqlite3_stmt *stmt)
{
    if (!stmt)
        return;
    struct cache *c = thread_cache();
    for (int i = 0; c && i < CORE_STMT_CACHE_SIZE; i++) {
        struct entry *e = &c->entries[i];
        if (e->sql && e->stmt == stmt && e->lent) {
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
            e->lent = 0;
            return;
        }
    }
    sqlite3_finalize(stmt);
}
