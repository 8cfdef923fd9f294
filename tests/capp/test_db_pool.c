/*
 * test_db_pool.c — capp/db_pool.h: one connection per thread, set up once on that thread and
 * handed back with its state; closed (teardown first) when the thread exits, when it releases
 * it, or when the pool is freed, each exactly once; a failed setup keeps nothing and the next
 * call tries again.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "capp/db.h"
#include "capp/db_pool.h"
#include "capp/err.h"

struct counters {
    atomic_int setups;
    atomic_int teardowns;
    atomic_int fail_next; /* setups still to refuse */
    pthread_t setup_thread[16];
};

static char path[600];

static int setup(void **state)
{
    char dir[512];
    ts_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/pool.db", dir);
    return 0;
}

static int conn_setup(void *ctx, sqlite3 *db, void **state)
{
    struct counters *c = ctx;
    if (atomic_load(&c->fail_next) > 0) {
        atomic_fetch_sub(&c->fail_next, 1);
        return CAPP_EDB;
    }
    int n = atomic_fetch_add(&c->setups, 1);
    if (n < 16)
        c->setup_thread[n] = pthread_self();
    int *mine = malloc(sizeof *mine);
    *mine = n;
    *state = mine;
    return db_exec(db, "PRAGMA cache_size=-64");
}

static void conn_teardown(void *ctx, sqlite3 *db, void *state)
{
    struct counters *c = ctx;
    assert_non_null(db);
    free(state);
    atomic_fetch_add(&c->teardowns, 1);
}

static struct db_pool *new_pool(struct counters *c)
{
    memset(c, 0, sizeof *c);
    struct db_pool_config config = {
        .path = path, .setup = conn_setup, .teardown = conn_teardown, .ctx = c};
    struct db_pool *pool = NULL;
    assert_int_equal(db_pool_new(&config, &pool), 0);
    return pool;
}

struct worker {
    struct db_pool *pool;
    sqlite3 *db;
    int state;
    pthread_barrier_t *hold; /* keep the thread alive until the test lets it go */
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    void *state = NULL;
    w->db = db_pool_get(w->pool, &state);
    w->state = state ? *(int *)state : -1;
    /* the same connection on a second call, with no second setup */
    if (db_pool_get(w->pool, NULL) != w->db)
        w->db = NULL;
    if (w->hold) {
        pthread_barrier_wait(w->hold);
        pthread_barrier_wait(w->hold);
    }
    return NULL;
}

static void test_one_connection_per_thread(void **state)
{
    struct counters c;
    struct db_pool *pool = new_pool(&c);
    void *mine = NULL;
    sqlite3 *main_db = db_pool_get(pool, &mine);
    assert_non_null(main_db);
    assert_ptr_equal(db_pool_get(pool, NULL), main_db);
    assert_int_equal(*(int *)mine, 0);
    assert_true(pthread_equal(c.setup_thread[0], pthread_self()));

    struct worker w = {.pool = pool};
    pthread_t t;
    pthread_create(&t, NULL, worker_main, &w);
    pthread_join(t, NULL);
    assert_non_null(w.db);
    assert_ptr_not_equal(w.db, main_db);
    assert_int_equal(w.state, 1);
    assert_true(pthread_equal(c.setup_thread[1], t)); /* set up on its own thread */
    /* the worker's connection was closed when it exited; the main thread's still works */
    assert_int_equal(atomic_load(&c.setups), 2);
    assert_int_equal(atomic_load(&c.teardowns), 1);
    assert_int_equal(db_exec(main_db, "CREATE TABLE IF NOT EXISTS t (x)"), 0);
    db_pool_free(pool);
    assert_int_equal(atomic_load(&c.teardowns), 2);
}

static void test_release_then_reopen(void **state)
{
    struct counters c;
    struct db_pool *pool = new_pool(&c);
    assert_non_null(db_pool_get(pool, NULL));
    db_pool_release(pool);
    assert_int_equal(atomic_load(&c.teardowns), 1);
    db_pool_release(pool); /* nothing left to release */
    assert_int_equal(atomic_load(&c.teardowns), 1);
    void *st = NULL;
    assert_non_null(db_pool_get(pool, &st));
    assert_int_equal(*(int *)st, 1); /* a new connection, set up again */
    db_pool_free(pool);
    assert_int_equal(atomic_load(&c.setups), 2);
    assert_int_equal(atomic_load(&c.teardowns), 2);
}

static void test_free_closes_live_threads_connections(void **state)
{
    struct counters c;
    struct db_pool *pool = new_pool(&c);
    enum { N = 4 };
    pthread_barrier_t hold;
    pthread_barrier_init(&hold, NULL, N + 1);
    struct worker w[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){.pool = pool, .hold = &hold};
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    pthread_barrier_wait(&hold); /* every worker holds a connection and is alive */
    for (int i = 0; i < N; i++)
        assert_non_null(w[i].db);
    assert_int_equal(atomic_load(&c.setups), N);
    db_pool_free(pool);
    assert_int_equal(atomic_load(&c.teardowns), N);
    pthread_barrier_wait(&hold); /* now they exit: no second close */
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&c.teardowns), N);
    pthread_barrier_destroy(&hold);
}

static void test_failed_setup_keeps_nothing(void **state)
{
    struct counters c;
    struct db_pool *pool = new_pool(&c);
    atomic_store(&c.fail_next, 1);
    assert_null(db_pool_get(pool, NULL));
    assert_int_equal(atomic_load(&c.teardowns), 0); /* setup cleans up after itself */
    sqlite3 *db = db_pool_get(pool, NULL);          /* tried again */
    assert_non_null(db);
    assert_int_equal(atomic_load(&c.setups), 1);
    db_pool_free(pool);
    assert_int_equal(atomic_load(&c.teardowns), 1);

    struct db_pool_config bad = {.path = "/nonexistent-dir/sub/pool.db"};
    assert_int_equal(db_pool_new(&bad, &pool), 0);
    assert_null(db_pool_get(pool, NULL));
    db_pool_free(pool);
    db_pool_free(NULL);
    assert_int_equal(db_pool_new(NULL, &pool), CAPP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_connection_per_thread),
        cmocka_unit_test(test_release_then_reopen),
        cmocka_unit_test(test_free_closes_live_threads_connections),
        cmocka_unit_test(test_failed_setup_keeps_nothing),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
