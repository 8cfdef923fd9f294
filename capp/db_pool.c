/*
 * Per-thread SQLite connections (see db_pool.h).
 *
 * Each connection sits in a pthread key slot (found without a lock) and in the pool's list (so
 * db_pool_free can close the connections of threads that are still alive). Whoever unlinks a
 * connection from the list under the lock closes it: the key's destructor at thread exit,
 * db_pool_release, or db_pool_free; so a connection is closed exactly once even if a thread
 * exits while the pool is being freed.
 */
#include "db_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"

struct conn {
    struct conn *next;
    struct db_pool *pool;
    sqlite3 *db;
    void *state;
};

struct db_pool {
    struct db_pool_config config;
    char *path;
    pthread_key_t key;
    pthread_mutex_t lock;
    struct conn *conns;
};

static void conn_close(struct conn *c)
{
    if (c->pool->config.teardown)
        c->pool->config.teardown(c->pool->config.ctx, c->db, c->state);
    db_close(c->db);
    free(c);
}

/* 1 when c was in the list and is now the caller's to close. */
static int unlink_conn(struct db_pool *pool, struct conn *c)
{
    int found = 0;
    pthread_mutex_lock(&pool->lock);
    for (struct conn **link = &pool->conns; *link; link = &(*link)->next)
        if (*link == c) {
            *link = c->next;
            found = 1;
            break;
        }
    pthread_mutex_unlock(&pool->lock);
    return found;
}

static void thread_exit(void *p)
{
    struct conn *c = p;
    if (c && unlink_conn(c->pool, c))
        conn_close(c);
}

int db_pool_new(const struct db_pool_config *config, struct db_pool **out)
{
    *out = NULL;
    if (!config || !config->path)
        return CAPP_EINVAL;
    struct db_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return CAPP_ENOMEM;
    pool->config = *config;
    pool->path = strdup(config->path);
    if (!pool->path || pthread_key_create(&pool->key, thread_exit) != 0) {
        free(pool->path);
        free(pool);
        return CAPP_ENOMEM;
    }
    pool->config.path = pool->path;
    pthread_mutex_init(&pool->lock, NULL);
    *out = pool;
    return 0;
}

sqlite3 *db_pool_get(struct db_pool *pool, void **state)
{
    struct conn *c = pthread_getspecific(pool->key);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return NULL;
        c->pool = pool;
        if (db_open(pool->path, pool->config.readonly, &c->db) != 0 ||
            (pool->config.setup && pool->config.setup(pool->config.ctx, c->db, &c->state) != 0)) {
            db_close(c->db);
            free(c);
            return NULL;
        }
        if (pthread_setspecific(pool->key, c) != 0) {
            conn_close(c);
            return NULL;
        }
        pthread_mutex_lock(&pool->lock);
        c->next = pool->conns;
        pool->conns = c;
        pthread_mutex_unlock(&pool->lock);
    }
    if (state)
        *state = c->state;
    return c->db;
}

void db_pool_release(struct db_pool *pool)
{
    struct conn *c = pthread_getspecific(pool->key);
    if (!c)
        return;
    pthread_setspecific(pool->key, NULL);
    if (unlink_conn(pool, c))
        conn_close(c);
}

void db_pool_free(struct db_pool *pool)
{
    if (!pool)
        return;
    /* No destructor runs for a deleted key: from here on only this function closes. */
    pthread_key_delete(pool->key);
    pthread_mutex_lock(&pool->lock);
    struct conn *c = pool->conns;
    pool->conns = NULL;
    pthread_mutex_unlock(&pool->lock);
    while (c) {
        struct conn *next = c->next;
        conn_close(c);
        c = next;
    }
    pthread_mutex_destroy(&pool->lock);
    free(pool->path);
    free(pool);
}
