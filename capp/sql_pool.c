/*
 * sql_pool.c — one sql_conn per thread, for either engine (see sql.h; the same design as
 * capp/db_pool.c, whose comment explains the key-plus-list scheme).
 *
 * Each connection sits in a pthread key slot (found without a lock) and in the pool's list (so
 * sql_pool_free can close the connections of threads still alive). Whoever unlinks a connection
 * from the list under the lock closes it: the key's destructor at thread exit,
 * sql_pool_release, or sql_pool_free; so a connection is closed exactly once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "sql.h"
#include "sql_internal.h"

struct pooled {
    struct pooled *next;
    struct sql_pool *pool;
    struct sql_conn *conn;
    void *state;
};

struct sql_pool {
    struct sql_pool_config config;
    char *target;
    pthread_key_t key;
    pthread_mutex_t lock;
    struct pooled *conns;
};

static void pooled_close(struct pooled *p)
{
    if (p->pool->config.teardown)
        p->pool->config.teardown(p->pool->config.ctx, p->conn, p->state);
    sql_close(p->conn);
    free(p);
}

/* 1 when p was in the list and is now the caller's to close. */
static int unlink_pooled(struct sql_pool *pool, struct pooled *p)
{
    int found = 0;
    pthread_mutex_lock(&pool->lock);
    for (struct pooled **link = &pool->conns; *link; link = &(*link)->next)
        if (*link == p) {
            *link = p->next;
            found = 1;
            break;
        }
    pthread_mutex_unlock(&pool->lock);
    return found;
}

static void thread_exit(void *arg)
{
    struct pooled *p = arg;
    if (p && unlink_pooled(p->pool, p))
        pooled_close(p);
}

int sql_pool_new(const struct sql_pool_config *config, struct sql_pool **out)
{
    *out = NULL;
    if (!config || !config->target)
        return CAPP_EINVAL;
    struct sql_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return CAPP_ENOMEM;
    pool->config = *config;
    pool->target = strdup(config->target);
    if (!pool->target || pthread_key_create(&pool->key, thread_exit) != 0) {
        free(pool->target);
        free(pool);
        return CAPP_ENOMEM;
    }
    pool->config.target = pool->target;
    pthread_mutex_init(&pool->lock, NULL);
    *out = pool;
    return 0;
}

struct sql_conn *sql_pool_get(struct sql_pool *pool, void **state)
{
    struct pooled *p = pthread_getspecific(pool->key);
    if (p) {
        /* A connection the server dropped is reset now rather than failing the caller's first
         * statement; if the server is still away, that statement reports CAPP_ENETWORK. */
        if (p->conn->driver->revive)
            (void)p->conn->driver->revive(p->conn, 1);
    } else {
        p = calloc(1, sizeof *p);
        if (!p)
            return NULL;
        p->pool = pool;
        if (sql_open(pool->target, &p->conn) != 0 ||
            (pool->config.setup && pool->config.setup(pool->config.ctx, p->conn, &p->state) != 0)) {
            sql_close(p->conn);
            free(p);
            return NULL;
        }
        if (pthread_setspecific(pool->key, p) != 0) {
            pooled_close(p);
            return NULL;
        }
        pthread_mutex_lock(&pool->lock);
        p->next = pool->conns;
        pool->conns = p;
        pthread_mutex_unlock(&pool->lock);
    }
    if (state)
        *state = p->state;
    return p->conn;
}

void sql_pool_release(struct sql_pool *pool)
{
    struct pooled *p = pthread_getspecific(pool->key);
    if (!p)
        return;
    pthread_setspecific(pool->key, NULL);
    if (unlink_pooled(pool, p))
        pooled_close(p);
}

void sql_pool_free(struct sql_pool *pool)
{
    if (!pool)
        return;
    /* No destructor runs for a deleted key: from here on only this function closes. */
    pthread_key_delete(pool->key);
    pthread_mutex_lock(&pool->lock);
    struct pooled *p = pool->conns;
    pool->conns = NULL;
    pthread_mutex_unlock(&pool->lock);
    while (p) {
        struct pooled *next = p->next;
        pooled_close(p);
        p = next;
    }
    pthread_mutex_destroy(&pool->lock);
    free(pool->target);
    free(pool);
}
