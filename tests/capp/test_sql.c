/*
 * test_sql.c — capp/sql.h on both engines. Every case runs on SQLite (CTest capp_sql) and again
 * on a real PostgreSQL server (capp_sql_pg: this binary with the argument "postgres", fixture
 * pg), each case on a fresh database: parameters ? and ?N, every value type (NULL, blobs with
 * NUL bytes, int64 extremes), constraint errors, the statement cache, transactions, migrations
 * and the per-thread pool. SQLite-only and PostgreSQL-only cases follow.
 */
#include <float.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsupport.h"

#include "capp/db.h"
#include "capp/err.h"
#include "capp/sql.h"
#include "capp/sql_internal.h" /* sql_pg_rewrite */

static int on_pg; /* argv[1] == "postgres" */
static char target[700];

/* A fresh, empty database for the running case: target names it. */
static void fresh_target(const char *name)
{
    if (on_pg) {
        testsupport_pg_db(name, target, sizeof target);
        return;
    }
    char dir[512];
    ts_tmpdir(dir, sizeof dir);
    snprintf(target, sizeof target, "%s/%s.db", dir, name);
}

static struct sql_conn *open_fresh(const char *name)
{
    fresh_target(name);
    struct sql_conn *c = NULL;
    assert_int_equal(sql_open(target, &c), 0);
    assert_int_equal(sql_engine_of(c), on_pg ? SQL_POSTGRES : SQL_SQLITE);
    return c;
}

static void exec_ok(struct sql_conn *c, const char *sql)
{
    int rc = sql_exec(c, sql);
    if (rc)
        fail_msg("sql_exec(%s) = %d", sql, rc);
}

/* The single integer a query without parameters returns. */
static int64_t query_int(struct sql_conn *c, const char *sql)
{
    struct sql_stmt *st;
    assert_int_equal(sql_prepare(c, sql, &st), 0);
    assert_int_equal(sql_step(st), 1);
    int64_t v = sql_column_int64(st, 0);
    assert_int_equal(sql_step(st), 0);
    sql_finalize(st);
    return v;
}

static void test_target_detection(void **state)
{
    assert_true(sql_target_is_postgres("postgres://u@h/db"));
    assert_true(sql_target_is_postgres("postgresql://h:5433/db?sslmode=disable"));
    assert_true(sql_target_is_postgres("POSTGRES://h/db"));
    assert_true(sql_target_is_postgres("host=/run/pg dbname=kyc"));
    assert_true(sql_target_is_postgres("  dbname = kyc"));
    assert_true(sql_target_is_postgres("service=kyc"));
    assert_false(sql_target_is_postgres("kyc.db"));
    assert_false(sql_target_is_postgres(":memory:"));
    assert_false(sql_target_is_postgres("/srv/host=a/kyc.db"));
    assert_false(sql_target_is_postgres("data=1.db"));
    assert_false(sql_target_is_postgres("file:kyc.db?mode=ro"));
    assert_false(sql_target_is_postgres(""));
    assert_false(sql_target_is_postgres(NULL));
}

static void test_parameters_numbered_and_next(void **state)
{
    struct sql_conn *c = open_fresh("params");
    exec_ok(c, "CREATE TABLE t (a TEXT, b TEXT, c TEXT, d TEXT)");
    struct sql_stmt *st;
    /* "?" after "?3" is 4, as SQLite numbers it; ?1 may come after ?2 */
    assert_int_equal(sql_prepare(c, "INSERT INTO t (a, b, c, d) VALUES (?2, ?1, ?3, ?)", &st), 0);
    const char *v[] = {"one", "two", "three", "four"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(sql_bind_text(st, i + 1, v[i]), 0);
    assert_int_equal(sql_step(st), 0);
    assert_int_equal(sql_stmt_changes(st), 1);
    sql_finalize(st);
    assert_int_equal(sql_prepare(c, "SELECT a, b, c, d FROM t WHERE a = ? AND d = ?", &st), 0);
    assert_int_equal(sql_bind_text(st, 1, "two"), 0);
    assert_int_equal(sql_bind_text(st, 2, "four"), 0);
    assert_int_equal(sql_step(st), 1);
    assert_int_equal(sql_column_count(st), 4);
    assert_string_equal(sql_column_text(st, 0), "two");
    assert_string_equal(sql_column_text(st, 1), "one");
    assert_string_equal(sql_column_text(st, 2), "three");
    assert_string_equal(sql_column_text(st, 3), "four");
    assert_int_equal(sql_step(st), 0);
    /* out of range: refused, not bound somewhere else */
    sql_reset(st);
    assert_int_equal(sql_bind_text(st, 0, "x"), CAPP_EINVAL);
    assert_int_equal(sql_bind_text(st, 3, "x"), CAPP_EINVAL);
    sql_finalize(st);
    sql_close(c);
}

static void test_value_types(void **state)
{
    struct sql_conn *c = open_fresh("types");
    static const struct sql_migration schema[] = {
        {1, "CREATE TABLE v (k INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB)",
         "CREATE TABLE v (k BIGINT PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, t TEXT, b BYTEA)"},
    };
    assert_int_equal(sql_migrate(c, "types", schema, COUNTOF(schema)), 0);
    static const unsigned char blob[] = {'a', 0, 'b', 0, 0xff, '\\', 'x', 0};
    const char *text = "caf\xc3\xa9 \xe2\x82\xac '\"?";
    struct sql_stmt *st;
    const char *ins = "INSERT INTO v (k, i, r, t, b) VALUES (?, ?, ?, ?, ?)";
    assert_int_equal(sql_prepare(c, ins, &st), 0);
    assert_int_equal(sql_bind_int64(st, 1, 1), 0);
    assert_int_equal(sql_bind_int64(st, 2, INT64_MAX), 0);
    assert_int_equal(sql_bind_double(st, 3, 0.1), 0);
    assert_int_equal(sql_bind_text(st, 4, text), 0);
    assert_int_equal(sql_bind_blob(st, 5, blob, sizeof blob), 0);
    assert_int_equal(sql_step(st), 0);
    sql_reset(st);
    assert_int_equal(sql_bind_int64(st, 1, 2), 0);
    assert_int_equal(sql_bind_int64(st, 2, INT64_MIN), 0);
    assert_int_equal(sql_bind_double(st, 3, -1.5e300), 0);
    assert_int_equal(sql_bind_textn(st, 4, "abcdef", 3), 0);
    assert_int_equal(sql_bind_blob(st, 5, blob, 0), 0); /* empty, not NULL */
    assert_int_equal(sql_step(st), 0);
    sql_reset(st);
    assert_int_equal(sql_bind_int64(st, 1, 3), 0);
    assert_int_equal(sql_bind_null(st, 2), 0);
    assert_int_equal(sql_bind_null(st, 3), 0);
    assert_int_equal(sql_bind_text(st, 4, NULL), 0);
    assert_int_equal(sql_bind_null(st, 5), 0);
    assert_int_equal(sql_step(st), 0);
    sql_finalize(st);

    assert_int_equal(sql_prepare(c, "SELECT i, r, t, b FROM v ORDER BY k", &st), 0);
    assert_int_equal(sql_step(st), 1);
    assert_true(sql_column_int64(st, 0) == INT64_MAX);
    assert_true(sql_column_double(st, 1) == 0.1);
    assert_string_equal(sql_column_text(st, 2), text);
    assert_int_equal(sql_column_bytes(st, 2), strlen(text));
    size_t len = 0;
    const void *p = sql_column_blob(st, 3, &len);
    assert_int_equal(len, sizeof blob);
    assert_memory_equal(p, blob, sizeof blob);
    assert_false(sql_column_is_null(st, 3));

    assert_int_equal(sql_step(st), 1);
    assert_true(sql_column_int64(st, 0) == INT64_MIN);
    assert_true(sql_column_double(st, 1) == -1.5e300);
    assert_string_equal(sql_column_text(st, 2), "abc");
    p = sql_column_blob(st, 3, &len);
    assert_non_null(p);
    assert_int_equal(len, 0);
    assert_false(sql_column_is_null(st, 3));

    assert_int_equal(sql_step(st), 1);
    for (int col = 0; col < 4; col++)
        assert_true(sql_column_is_null(st, col));
    assert_null(sql_column_text(st, 2));
    assert_int_equal(sql_column_int64(st, 0), 0);
    assert_true(sql_column_double(st, 1) == 0.0);
    assert_null(sql_column_blob(st, 3, &len));
    assert_int_equal(len, 0);
    char copy[8] = "junk";
    sql_column_copy(st, 2, copy, sizeof copy);
    assert_string_equal(copy, "");
    assert_int_equal(sql_step(st), 0);
    sql_finalize(st);

    /* a parameter compared with a column keeps its full 64 bits */
    assert_int_equal(sql_prepare(c, "SELECT k FROM v WHERE i = ?", &st), 0);
    assert_int_equal(sql_bind_int64(st, 1, INT64_MIN), 0);
    assert_int_equal(sql_step(st), 1);
    assert_int_equal(sql_column_int64(st, 0), 2);
    sql_finalize(st);
    sql_close(c);
}

static void test_constraint_is_eexist(void **state)
{
    struct sql_conn *c = open_fresh("eexist");
    exec_ok(c, "CREATE TABLE u (id TEXT PRIMARY KEY, n BIGINT NOT NULL)");
    int64_t changes = -1;
    assert_int_equal(
        sql_run(c, "INSERT INTO u (id, n) VALUES (?, ?)", DB_TEXTS("a"), DB_INTS(1), &changes), 0);
    assert_int_equal(changes, 1);
    assert_int_equal(
        sql_run(c, "INSERT INTO u (id, n) VALUES (?, ?)", DB_TEXTS("a"), DB_INTS(2), &changes),
        CAPP_EEXIST);
    /* bad input changed nothing; the connection carries on */
    assert_int_equal(query_int(c, "SELECT n FROM u WHERE id = 'a'"), 1);
    /* an upsert in the portable dialect */
    assert_int_equal(sql_run(c,
                             "INSERT INTO u (id, n) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET"
                             " n = excluded.n",
                             DB_TEXTS("a"), DB_INTS(7), &changes),
                     0);
    assert_int_equal(changes, 1);
    assert_int_equal(query_int(c, "SELECT n FROM u WHERE id = 'a'"), 7);
    assert_int_equal(sql_run(c, "INSERT INTO u (id, n) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                             DB_TEXTS("a"), DB_INTS(9), &changes),
                     0);
    assert_int_equal(changes, 0);
    /* RETURNING, and changes counting every row an UPDATE touched */
    struct sql_stmt *st;
    assert_int_equal(sql_prepare(c, "INSERT INTO u (id, n) VALUES (?, ?) RETURNING n * 2", &st), 0);
    assert_int_equal(sql_bind_text(st, 1, "b"), 0);
    assert_int_equal(sql_bind_int64(st, 2, 21), 0);
    assert_int_equal(sql_step(st), 1);
    assert_int_equal(sql_column_int64(st, 0), 42);
    assert_int_equal(sql_step(st), 0);
    assert_int_equal(sql_stmt_changes(st), 1);
    sql_finalize(st);
    assert_int_equal(sql_run(c, "UPDATE u SET n = n + ?", DB_NONE, DB_INTS(1), &changes), 0);
    assert_int_equal(changes, 2);
    sql_close(c);
}

static void test_load_texts(void **state)
{
    struct sql_conn *c = open_fresh("load");
    exec_ok(c, "CREATE TABLE p (id TEXT PRIMARY KEY, name TEXT, note TEXT)");
    assert_int_equal(sql_run(c, "INSERT INTO p (id, name, note) VALUES (?, ?, ?)",
                             DB_TEXTS("x", "Ada", NULL), DB_NONE, NULL),
                     0);
    char name[4], note[8] = "junk";
    const struct sql_text_out outs[] = {{name, sizeof name}, {note, sizeof note}};
    assert_int_equal(sql_load_texts(c, "SELECT name, note FROM p WHERE id = ?", DB_TEXTS("x"), outs,
                                    (int)COUNTOF(outs)),
                     0);
    assert_string_equal(name, "Ada");
    assert_string_equal(note, "");
    assert_int_equal(sql_load_texts(c, "SELECT name, note FROM p WHERE id = ?", DB_TEXTS("y"), outs,
                                    (int)COUNTOF(outs)),
                     CAPP_ENOTFOUND);
    assert_int_equal(sql_load_texts(c, "SELECT nope FROM p", DB_NONE, outs, 1), CAPP_EDB);
    sql_close(c);
}

static void test_load_int64(void **state)
{
    struct sql_conn *c = open_fresh("loadint");
    exec_ok(c, "CREATE TABLE q (id TEXT, n BIGINT)");
    exec_ok(c, "INSERT INTO q (id, n) VALUES ('a', 5), ('a', 7), ('b', 9000000000)");
    int64_t v = -1;
    /* texts bound first, then integers, ?N numbering across both */
    assert_int_equal(sql_load_int64(c, "SELECT count(*) FROM q WHERE id = ?1 AND n >= ?2",
                                    DB_TEXTS("a"), DB_INTS(6), &v),
                     0);
    assert_int_equal(v, 1);
    assert_int_equal(sql_load_int64(c, "SELECT n FROM q WHERE id = ?", DB_TEXTS("b"), DB_NONE, &v),
                     0);
    assert_true(v == INT64_C(9000000000));
    v = -1;
    assert_int_equal(sql_load_int64(c, "SELECT n FROM q WHERE id = ?", DB_TEXTS("c"), DB_NONE, &v),
                     CAPP_ENOTFOUND);
    assert_int_equal(v, -1); /* untouched without a row */
    assert_int_equal(sql_load_int64(c, "SELECT nope FROM q", DB_NONE, DB_NONE, &v), CAPP_EDB);
    sql_close(c);
}

static void test_statement_cache(void **state)
{
    struct sql_conn *c = open_fresh("cache");
    exec_ok(c, "CREATE TABLE n (k BIGINT PRIMARY KEY)");
    for (int i = 1; i <= 3; i++)
        assert_int_equal(sql_run(c, "INSERT INTO n (k) VALUES (?)", DB_NONE, DB_INTS(i), NULL), 0);
    const char *q = "SELECT k FROM n WHERE k >= ? ORDER BY k";
    struct sql_stmt *a, *b;
    assert_int_equal(sql_prepare(c, q, &a), 0);
    sql_finalize(a);
    assert_int_equal(sql_prepare(c, q, &b), 0);
    assert_ptr_equal(a, b); /* handed back by the cache */
    /* the cached statement comes back reset with its bindings cleared */
    assert_int_equal(sql_bind_int64(b, 1, 2), 0);
    assert_int_equal(sql_step(b), 1);
    assert_int_equal(sql_column_int64(b, 0), 2);
    /* the same text while b is in use: a separate statement with its own cursor */
    struct sql_stmt *inner;
    int64_t sum = 0;
    do {
        int64_t outer = sql_column_int64(b, 0);
        assert_int_equal(sql_prepare(c, q, &inner), 0);
        assert_ptr_not_equal(inner, b);
        assert_int_equal(sql_bind_int64(inner, 1, outer), 0);
        int rc;
        while ((rc = sql_step(inner)) == 1)
            sum += outer * 10 + sql_column_int64(inner, 0);
        assert_int_equal(rc, 0);
        sql_finalize(inner);
    } while (sql_step(b) == 1);
    /* outer 2: 22 + 23; outer 3: 33 */
    assert_int_equal(sum, 22 + 23 + 33);
    sql_finalize(b);
    assert_int_equal(sql_prepare(c, q, &a), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(sql_step(a), 0); /* bindings cleared: NULL, and no k >= NULL */
    sql_finalize(a);
    sql_close(c);
}

static void test_transactions(void **state)
{
    struct sql_conn *c = open_fresh("xact");
    exec_ok(c, "CREATE TABLE x (k BIGINT PRIMARY KEY)");
    assert_false(sql_in_transaction(c));
    sql_rollback(c); /* no-op outside a transaction */
    assert_int_equal(sql_xact_lock(c, "install:1"), on_pg ? CAPP_EINVAL : 0); /* no transaction */
    assert_int_equal(sql_begin(c), 0);
    assert_true(sql_in_transaction(c));
    assert_int_equal(sql_begin(c), CAPP_EDB); /* no nesting, on either engine */
    assert_true(sql_in_transaction(c));
    assert_int_equal(sql_xact_lock(c, "install:1"), 0);
    assert_int_equal(sql_run(c, "INSERT INTO x (k) VALUES (?)", DB_NONE, DB_INTS(1), NULL), 0);
    sql_rollback(c);
    assert_false(sql_in_transaction(c));
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM x"), 0);
    assert_int_equal(sql_begin(c), 0);
    assert_int_equal(sql_run(c, "INSERT INTO x (k) VALUES (?)", DB_NONE, DB_INTS(2), NULL), 0);
    assert_int_equal(sql_commit(c), 0);
    assert_false(sql_in_transaction(c));
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM x"), 1);
    /* a failed statement inside a transaction: the caller rolls back, nothing is kept */
    assert_int_equal(sql_begin(c), 0);
    assert_int_equal(sql_run(c, "INSERT INTO x (k) VALUES (?)", DB_NONE, DB_INTS(3), NULL), 0);
    assert_int_equal(sql_run(c, "INSERT INTO x (k) VALUES (?)", DB_NONE, DB_INTS(2), NULL),
                     CAPP_EEXIST);
    sql_rollback(c);
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM x"), 1);
    char q[64];
    snprintf(q, sizeof q, "SELECT k FROM x WHERE k = 2%s", sql_for_update(c));
    assert_string_equal(sql_for_update(c), on_pg ? " FOR UPDATE" : "");
    assert_int_equal(sql_begin(c), 0);
    assert_int_equal(query_int(c, q), 2);
    assert_int_equal(sql_commit(c), 0);
    assert_int_equal(sql_ping(c), 1);
    sql_close(c);
}

/* A lock another connection holds: CAPP_EBUSY (SQLite: BUSY at BEGIN IMMEDIATE, with a short
 * busy timeout; PostgreSQL: 55P03 from FOR UPDATE NOWAIT on a locked row). */
static void test_busy(void **state)
{
    struct sql_conn *a = open_fresh("busy"), *b;
    exec_ok(a, "CREATE TABLE l (k BIGINT PRIMARY KEY)");
    assert_int_equal(sql_run(a, "INSERT INTO l (k) VALUES (?)", DB_NONE, DB_INTS(1), NULL), 0);
    assert_int_equal(sql_open(target, &b), 0);
    assert_int_equal(sql_begin(a), 0);
    if (on_pg) {
        assert_int_equal(query_int(a, "SELECT k FROM l WHERE k = 1 FOR UPDATE"), 1);
        assert_int_equal(sql_begin(b), 0);
        assert_int_equal(sql_exec(b, "SELECT k FROM l WHERE k = 1 FOR UPDATE NOWAIT"), CAPP_EBUSY);
        sql_rollback(b);
    } else {
        assert_int_equal(sql_run(a, "UPDATE l SET k = 2", DB_NONE, DB_NONE, NULL), 0);
        sqlite3_busy_timeout(sql_sqlite_handle(b), 20);
        assert_int_equal(sql_begin(b), CAPP_EBUSY);
        assert_false(sql_in_transaction(b));
    }
    sql_rollback(a);
    /* once a let go, b gets through */
    assert_int_equal(sql_begin(b), 0);
    assert_int_equal(sql_run(b, "UPDATE l SET k = 3", DB_NONE, DB_NONE, NULL), 0);
    assert_int_equal(sql_commit(b), 0);
    assert_int_equal(query_int(a, "SELECT k FROM l"), 3);
    sql_close(b);
    sql_close(a);
}

static const struct sql_migration steps_v3[] = {
    {1, "CREATE TABLE m (k INTEGER PRIMARY KEY)", "CREATE TABLE m (k BIGINT PRIMARY KEY)"},
    {2, "INSERT INTO m (k) VALUES (1)", NULL},
    {3, "INSERT INTO m (k) VALUES (2); INSERT INTO m (k) VALUES (3)", NULL},
};

static void test_migrate_idempotent(void **state)
{
    struct sql_conn *c = open_fresh("migrate");
    assert_int_equal(sql_migrate(c, "m", steps_v3, 2), 0);
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM m"), 1);
    assert_int_equal(sql_migrate(c, "m", steps_v3, 2), 0); /* again: nothing re-applied */
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM m"), 1);
    assert_int_equal(sql_migrate(c, "m", steps_v3, COUNTOF(steps_v3)), 0); /* only step 3 */
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM m"), 3);
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM schema_migrations WHERE component = 'm'"),
                     3);
    assert_true(query_int(c, "SELECT MIN(applied_at) FROM schema_migrations") > 1700000000);
    /* another component keeps its own versions */
    static const struct sql_migration other[] = {{1, "CREATE TABLE o (k BIGINT)", NULL}};
    assert_int_equal(sql_migrate(c, "o", other, COUNTOF(other)), 0);
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM schema_migrations"), 4);
    /* a failing step rolls back whole and is not recorded; earlier steps stay */
    static const struct sql_migration bad[] = {
        {1, "CREATE TABLE o (k BIGINT)", NULL},
        {2, "INSERT INTO o (k) VALUES (1); INSERT INTO nowhere VALUES (1)", NULL},
    };
    assert_int_equal(sql_migrate(c, "o", bad, COUNTOF(bad)), CAPP_EDB);
    assert_false(sql_in_transaction(c));
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM o"), 0);
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM schema_migrations WHERE component = 'o'"),
                     1);
    sql_close(c);
}

/* SQLite only: a file migrated by capp/db.c's db_migrate carries on under sql_migrate (the same
 * table), and the other way round. */
/* A writer holds the file longer than the busy timeout (5 s) while another process's start-up
 * migrates: the migration waits and succeeds instead of failing start-up with CAPP_EBUSY. */
struct busy_holder {
    pthread_barrier_t *held;
    int hold_ms;
};

static void *busy_holder_main(void *arg)
{
    struct busy_holder *h = arg;
    struct sql_conn *c = NULL;
    assert_int_equal(sql_open(target, &c), 0);
    assert_int_equal(sql_begin(c), 0);
    assert_int_equal(sql_exec(c, "INSERT INTO held (k) VALUES (1)"), 0);
    pthread_barrier_wait(h->held);
    usleep((useconds_t)h->hold_ms * 1000);
    assert_int_equal(sql_commit(c), 0);
    sql_close(c);
    return NULL;
}

static void test_migrate_waits_out_a_busy_file(void **state)
{
    fresh_target("migbusy");
    struct sql_conn *c;
    assert_int_equal(sql_open(target, &c), 0);
    assert_int_equal(sql_exec(c, "CREATE TABLE held (k INTEGER)"), 0);
    pthread_barrier_t held;
    pthread_barrier_init(&held, NULL, 2);
    struct busy_holder h = {.held = &held, .hold_ms = 6500};
    pthread_t t;
    pthread_create(&t, NULL, busy_holder_main, &h);
    pthread_barrier_wait(&held);
    assert_int_equal(sql_migrate(c, "busy", steps_v3, COUNTOF(steps_v3)), 0);
    pthread_join(t, NULL);
    pthread_barrier_destroy(&held);
    assert_int_equal(
        query_int(c, "SELECT COUNT(*) FROM schema_migrations WHERE component = 'busy'"), 3);
    sql_close(c);
}

static void test_migrate_continues_db_migrate(void **state)
{
    fresh_target("compat");
    sqlite3 *db;
    assert_int_equal(db_open(target, 0, &db), 0);
    static const struct db_migration old[] = {
        {1, "CREATE TABLE m (k INTEGER PRIMARY KEY)"},
        {2, "INSERT INTO m (k) VALUES (1)"},
    };
    assert_int_equal(db_migrate(db, "m", old, COUNTOF(old)), 0);
    db_close(db);

    struct sql_conn *c;
    assert_int_equal(sql_open(target, &c), 0);
    /* steps 1 and 2 would fail or duplicate if re-run: only step 3 runs */
    assert_int_equal(sql_migrate(c, "m", steps_v3, COUNTOF(steps_v3)), 0);
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM m"), 3);
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM schema_migrations"), 3);
    assert_true(query_int(c, "SELECT MIN(applied_at) FROM schema_migrations") > 1700000000);
    sql_close(c);

    assert_int_equal(db_open(target, 0, &db), 0);
    static const struct db_migration newer[] = {
        {1, "CREATE TABLE m (k INTEGER PRIMARY KEY)"},
        {2, "INSERT INTO m (k) VALUES (1)"},
        {3, "INSERT INTO m (k) VALUES (2)"},
        {4, "INSERT INTO m (k) VALUES (4)"},
    };
    assert_int_equal(db_migrate(db, "m", newer, COUNTOF(newer)), 0);
    db_close(db);
    assert_int_equal(sql_open(target, &c), 0);
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM m"), 4);
    assert_int_equal(query_int(c, "SELECT SUM(k) FROM m"), 1 + 2 + 3 + 4);
    assert_null(sql_sqlite_handle(NULL));
    assert_non_null(sql_sqlite_handle(c));
    sql_close(c);
}

struct pool_counts {
    atomic_int setups;
    atomic_int teardowns;
};

static int pool_setup(void *ctx, struct sql_conn *c, void **state)
{
    struct pool_counts *n = ctx;
    int *mine = malloc(sizeof *mine);
    *mine = atomic_fetch_add(&n->setups, 1);
    *state = mine;
    return sql_exec(c, "CREATE TABLE IF NOT EXISTS seen (who BIGINT)");
}

static void pool_teardown(void *ctx, struct sql_conn *c, void *state)
{
    struct pool_counts *n = ctx;
    assert_non_null(c);
    free(state);
    atomic_fetch_add(&n->teardowns, 1);
}

struct pool_worker {
    struct sql_pool *pool;
    struct sql_conn *conn;
    int again_same;
    int wrote;
};

static void *pool_worker_main(void *arg)
{
    struct pool_worker *w = arg;
    w->conn = sql_pool_get(w->pool, NULL);
    w->again_same = w->conn && sql_pool_get(w->pool, NULL) == w->conn;
    w->wrote = w->conn && sql_run(w->conn, "INSERT INTO seen (who) VALUES (?)", DB_NONE, DB_INTS(7),
                                  NULL) == 0;
    return NULL;
}

static void test_pool_per_thread(void **state)
{
    fresh_target("pool");
    struct pool_counts n = {0};
    struct sql_pool_config config = {
        .target = target, .setup = pool_setup, .teardown = pool_teardown, .ctx = &n};
    struct sql_pool *pool;
    assert_int_equal(sql_pool_new(&config, &pool), 0);
    void *mine = NULL;
    struct sql_conn *main_conn = sql_pool_get(pool, &mine);
    assert_non_null(main_conn);
    assert_int_equal(*(int *)mine, 0);
    assert_ptr_equal(sql_pool_get(pool, NULL), main_conn);

    struct pool_worker w[2] = {{.pool = pool}, {.pool = pool}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, pool_worker_main, &w[i]);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_non_null(w[i].conn);
        assert_true(w[i].again_same);
        assert_true(w[i].wrote);
        assert_ptr_not_equal(w[i].conn, main_conn);
    }
    /* each worker had its own connection, closed when it exited */
    assert_int_equal(atomic_load(&n.setups), 3);
    assert_int_equal(atomic_load(&n.teardowns), 2);
    assert_int_equal(query_int(main_conn, "SELECT COUNT(*) FROM seen"), 2);
    sql_pool_release(pool);
    assert_int_equal(atomic_load(&n.teardowns), 3);
    assert_non_null(sql_pool_get(pool, NULL)); /* a new one */
    assert_int_equal(atomic_load(&n.setups), 4);
    sql_pool_free(pool);
    assert_int_equal(atomic_load(&n.teardowns), 4);
    sql_pool_free(NULL);
    assert_int_equal(sql_pool_new(NULL, &pool), CAPP_EINVAL);
}

/* The rewriter alone (a pure function: runs in both modes). */
static void expect_rewrite(const char *in, const char *want, int want_params)
{
    char *out = NULL;
    int n = -1;
    assert_int_equal(sql_pg_rewrite(in, &out, &n), 0);
    assert_string_equal(out, want);
    assert_int_equal(n, want_params);
    free(out);
}

static void test_pg_rewrite(void **state)
{
    expect_rewrite("SELECT 1", "SELECT 1", 0);
    expect_rewrite("SELECT ?, ?, ?", "SELECT $1, $2, $3", 3);
    expect_rewrite("VALUES (?2, ?1, ?3, ?)", "VALUES ($2, $1, $3, $4)", 4);
    expect_rewrite("a = ?10 AND b = ?", "a = $10 AND b = $11", 11);
    expect_rewrite("x = '?' AND y = 'it''s ?' AND z = ?", "x = '?' AND y = 'it''s ?' AND z = $1",
                   1);
    expect_rewrite("E'\\'?' || ?", "E'\\'?' || $1", 1);
    expect_rewrite("'\\' || ?", "'\\' || $1", 1); /* standard strings: no backslash escapes */
    expect_rewrite("\"a?\"\"b?\" = ?", "\"a?\"\"b?\" = $1", 1);
    expect_rewrite("? -- ?\n?", "$1 -- ?\n$2", 2);
    expect_rewrite("? /* ? /* ? */ ? */ ?", "$1 /* ? /* ? */ ? */ $2", 2);
    expect_rewrite("$$?$$ || $f$ ? $$ ? $f$ || ?", "$$?$$ || $f$ ? $$ ? $f$ || $1", 1);
    expect_rewrite("a$b ?", "a$b $1", 1);
    expect_rewrite("'unterminated ?", "'unterminated ?", 0);
    char *out = NULL;
    int n;
    assert_int_equal(sql_pg_rewrite("?0", &out, &n), CAPP_EINVAL);
    assert_null(out);
    assert_int_equal(sql_pg_rewrite("?32768", &out, &n), CAPP_EINVAL);
    assert_int_equal(sql_pg_rewrite("?99999999999999999999", &out, &n), CAPP_EINVAL);
    expect_rewrite("?32767", "$32767", 32767);
}

/* PostgreSQL only below. */

static void test_pg_literals_keep_question_marks(void **state)
{
    struct sql_conn *c = open_fresh("literals");
    struct sql_stmt *st;
    assert_int_equal(sql_prepare(c,
                                 "SELECT '?' AS a, E'it\\'s ?' AS b, $$?$$ AS c, ? AS \"d?\""
                                 " /* ? */ -- ?\n",
                                 &st),
                     0);
    assert_int_equal(sql_bind_text(st, 1, "x"), 0);
    assert_int_equal(sql_step(st), 1);
    assert_string_equal(sql_column_text(st, 0), "?");
    assert_string_equal(sql_column_text(st, 1), "it's ?");
    assert_string_equal(sql_column_text(st, 2), "?");
    assert_string_equal(sql_column_text(st, 3), "x");
    sql_finalize(st);
    sql_close(c);
}

static void test_pg_types_change_between_executions(void **state)
{
    struct sql_conn *c = open_fresh("retype");
    struct sql_stmt *st;
    assert_int_equal(sql_prepare(c, "SELECT ?", &st), 0);
    assert_int_equal(sql_bind_int64(st, 1, INT64_MAX), 0);
    assert_int_equal(sql_step(st), 1);
    assert_true(sql_column_int64(st, 0) == INT64_MAX);
    sql_reset(st);
    assert_int_equal(sql_bind_text(st, 1, "text now"), 0); /* prepared again as text */
    assert_int_equal(sql_step(st), 1);
    assert_string_equal(sql_column_text(st, 0), "text now");
    sql_reset(st);
    assert_int_equal(sql_bind_null(st, 1), 0);
    assert_int_equal(sql_step(st), 1);
    assert_true(sql_column_is_null(st, 0));
    sql_reset(st);
    /* a text that PostgreSQL's text format would cut at the NUL is refused */
    assert_int_equal(sql_bind_textn(st, 1, "a\0b", 3), CAPP_EINVAL);
    sql_finalize(st);
    /* a foreign-key violation is a constraint error too */
    exec_ok(c, "CREATE TABLE parent (id BIGINT PRIMARY KEY);"
               " CREATE TABLE child (p BIGINT REFERENCES parent (id))");
    assert_int_equal(sql_run(c, "INSERT INTO child (p) VALUES (?)", DB_NONE, DB_INTS(1), NULL),
                     CAPP_EEXIST);
    sql_close(c);
}

static void test_pg_unreachable_is_enetwork(void **state)
{
    struct sql_conn *c = (struct sql_conn *)1;
    assert_int_equal(sql_open("host=/nonexistent-dir port=5432 dbname=x", &c), CAPP_ENETWORK);
    assert_null(c);
    assert_null(sql_pg_handle(NULL));
}

static void test_pg_failed_transaction_does_not_commit(void **state)
{
    struct sql_conn *c = open_fresh("failedxact");
    exec_ok(c, "CREATE TABLE f (k BIGINT PRIMARY KEY)");
    assert_int_equal(sql_begin(c), 0);
    assert_int_equal(sql_run(c, "INSERT INTO f (k) VALUES (?)", DB_NONE, DB_INTS(1), NULL), 0);
    assert_int_equal(sql_exec(c, "SELECT nope"), CAPP_EDB);
    /* PostgreSQL answers COMMIT of a failed transaction with a rollback: that is a failure */
    assert_int_equal(sql_commit(c), CAPP_EDB);
    assert_false(sql_in_transaction(c));
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM f"), 0);
    sql_close(c);
}

/* Ends the server session of victim from another connection and waits until it is gone. */
static void kill_backend(struct sql_conn *victim)
{
    int64_t pid = query_int(victim, "SELECT pg_backend_pid()");
    struct sql_conn *killer;
    assert_int_equal(sql_open(target, &killer), 0);
    assert_int_equal(sql_run(killer, "SELECT pg_terminate_backend(CAST(? AS INTEGER))", DB_NONE,
                             DB_INTS(pid), NULL),
                     0);
    for (int i = 0; i < 500; i++) {
        struct sql_stmt *st;
        assert_int_equal(
            sql_prepare(killer, "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?", &st), 0);
        assert_int_equal(sql_bind_int64(st, 1, pid), 0);
        assert_int_equal(sql_step(st), 1);
        int64_t left = sql_column_int64(st, 0);
        sql_finalize(st);
        if (left == 0)
            break;
        ts_sleep_ms(10);
    }
    sql_close(killer);
    /* The backend leaves pg_stat_activity a moment before its socket closes: wait until the
     * hang-up has reached victim's side, as it has for a replica whose server went away. */
    struct pollfd fd = {.fd = PQsocket(sql_pg_handle(victim)), .events = POLLIN};
    assert_int_equal(poll(&fd, 1, 10000), 1);
}

static void test_pg_killed_backend_then_reset(void **state)
{
    struct sql_conn *c = open_fresh("killed");
    exec_ok(c, "CREATE TABLE k (v BIGINT)");
    const char *q = "SELECT COUNT(*) + ? FROM k";
    struct sql_stmt *before;
    assert_int_equal(sql_prepare(c, q, &before), 0);
    assert_int_equal(sql_bind_int64(before, 1, 1), 0);
    assert_int_equal(sql_step(before), 1); /* prepared on the server now */
    sql_finalize(before);
    int64_t old_pid = query_int(c, "SELECT pg_backend_pid()");

    kill_backend(c);
    struct sql_stmt *st;
    assert_int_equal(sql_prepare(c, q, &st), 0); /* nothing noticed the loss yet */
    assert_int_equal(sql_bind_int64(st, 1, 1), 0);
    assert_int_equal(sql_step(st), CAPP_ENETWORK);
    sql_finalize(st);
    /* the next call on the same connection resets it; the cached statement is prepared again on
     * the new session */
    assert_int_equal(sql_prepare(c, q, &st), 0);
    assert_ptr_equal(st, before);
    assert_int_equal(sql_bind_int64(st, 1, 41), 0);
    assert_int_equal(sql_step(st), 1);
    assert_int_equal(sql_column_int64(st, 0), 41);
    sql_finalize(st);
    assert_true(query_int(c, "SELECT pg_backend_pid()") != old_pid);
    assert_int_equal(query_int(c, "SHOW statement_timeout"), 30); /* "30s": the settings again */

    /* lost inside a transaction: refused until the caller rolls back, then usable again */
    assert_int_equal(sql_begin(c), 0);
    assert_int_equal(sql_run(c, "INSERT INTO k (v) VALUES (?)", DB_NONE, DB_INTS(1), NULL), 0);
    kill_backend(c);
    assert_int_equal(sql_run(c, "INSERT INTO k (v) VALUES (?)", DB_NONE, DB_INTS(2), NULL),
                     CAPP_ENETWORK);
    assert_true(sql_in_transaction(c));
    assert_int_equal(sql_run(c, "INSERT INTO k (v) VALUES (?)", DB_NONE, DB_INTS(3), NULL),
                     CAPP_ENETWORK);
    sql_rollback(c);
    assert_false(sql_in_transaction(c));
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM k"), 0); /* nothing ran in autocommit */

    /* sql_ping reports a lost connection as usable once it could reset it */
    kill_backend(c);
    assert_int_equal(sql_ping(c), 1);
    assert_int_equal(query_int(c, "SELECT 7"), 7);
    sql_close(c);
}

static void test_pg_pool_resets_broken_connection(void **state)
{
    fresh_target("poolreset");
    struct sql_pool_config config = {.target = target};
    struct sql_pool *pool;
    assert_int_equal(sql_pool_new(&config, &pool), 0);
    struct sql_conn *c = sql_pool_get(pool, NULL);
    assert_non_null(c);
    kill_backend(c);
    assert_ptr_equal(sql_pool_get(pool, NULL), c); /* found broken and reset here */
    struct sql_stmt *st;
    assert_int_equal(sql_prepare(c, "SELECT 5", &st), 0);
    /* the first statement after the get works: no CAPP_ENETWORK for the caller to see */
    assert_int_equal(sql_step(st), 1);
    assert_int_equal(sql_column_int64(st, 0), 5);
    sql_finalize(st);
    sql_pool_free(pool);
}

struct migrator {
    pthread_barrier_t *start;
    int rc;
};

static const struct sql_migration race_steps[] = {
    {1, "CREATE TABLE r (k BIGINT)", NULL},
    {2, "INSERT INTO r (k) VALUES (1)", NULL},
    /* slow, so the other replica arrives while it runs */
    {3, "SELECT pg_sleep(0.2); INSERT INTO r (k) VALUES (2)", NULL},
};

static void *migrator_main(void *arg)
{
    struct migrator *m = arg;
    struct sql_conn *c = NULL;
    m->rc = sql_open(target, &c);
    pthread_barrier_wait(m->start);
    if (m->rc == 0)
        m->rc = sql_migrate(c, "race", race_steps, COUNTOF(race_steps));
    sql_close(c);
    return NULL;
}

static void test_pg_concurrent_migrations_apply_once(void **state)
{
    fresh_target("migrace"); /* empty: not even schema_migrations yet */
    enum { N = 3 };
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, N);
    struct migrator m[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        m[i] = (struct migrator){.start = &start, .rc = -1};
        pthread_create(&t[i], NULL, migrator_main, &m[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(m[i].rc, 0);
    }
    pthread_barrier_destroy(&start);
    struct sql_conn *c;
    assert_int_equal(sql_open(target, &c), 0);
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM r"), 2);
    assert_int_equal(query_int(c, "SELECT SUM(k) FROM r"), 3);
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM schema_migrations"), 3);
    /* the session lock was let go: nothing of ours is still held (advisory locks are per
     * database: other suites on the same server hold their own) */
    assert_int_equal(query_int(c, "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'"
                                  " AND database = (SELECT oid FROM pg_database"
                                  " WHERE datname = current_database())"),
                     0);
    sql_close(c);
}

/* sql_xact_lock: an ordered record of what two threads did. */
static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;
static char events[8][16];
static int nevents;

static void event(const char *what)
{
    pthread_mutex_lock(&events_lock);
    snprintf(events[nevents++], sizeof events[0], "%s", what);
    pthread_mutex_unlock(&events_lock);
}

struct locker {
    const char *key;
    const char *name;          /* events name-locked, name-done */
    pthread_barrier_t *locked; /* the first thread holds its lock (NULL: second thread) */
    int rc;
};

static void *locker_main(void *arg)
{
    struct locker *l = arg;
    struct sql_conn *c = NULL;
    char what[16];
    l->rc = sql_open(target, &c);
    if (l->rc == 0)
        l->rc = sql_begin(c);
    if (l->rc == 0)
        l->rc = sql_xact_lock(c, l->key);
    snprintf(what, sizeof what, "%s-locked", l->name);
    event(what);
    if (l->locked) {
        pthread_barrier_wait(l->locked);
        ts_sleep_ms(300); /* hold it while the other thread tries */
    }
    snprintf(what, sizeof what, "%s-done", l->name);
    event(what);
    if (l->rc == 0)
        l->rc = sql_commit(c);
    sql_close(c);
    return NULL;
}

static void lock_race(const char *second_key)
{
    fresh_target("xactlock");
    nevents = 0;
    pthread_barrier_t locked;
    pthread_barrier_init(&locked, NULL, 2);
    struct locker first = {.key = "install:42", .name = "A", .locked = &locked};
    struct locker second = {.key = second_key, .name = "B"};
    pthread_t a, b;
    pthread_create(&a, NULL, locker_main, &first);
    pthread_barrier_wait(&locked); /* A holds the lock now */
    pthread_create(&b, NULL, locker_main, &second);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_barrier_destroy(&locked);
    assert_int_equal(first.rc, 0);
    assert_int_equal(second.rc, 0);
    assert_int_equal(nevents, 4);
    assert_string_equal(events[0], "A-locked");
}

static void test_pg_xact_lock_serialises(void **state)
{
    lock_race("install:42");
    /* B waited for A's transaction to end */
    assert_string_equal(events[1], "A-done");
    assert_string_equal(events[2], "B-locked");
    assert_string_equal(events[3], "B-done");
    /* the control: another key does not wait (B is through while A still holds its lock) */
    lock_race("install:43");
    assert_string_equal(events[1], "B-locked");
    assert_string_equal(events[2], "B-done");
    assert_string_equal(events[3], "A-done");
}

int main(int argc, char **argv)
{
    on_pg = argc > 1 && strcmp(argv[1], "postgres") == 0;
    const struct CMUnitTest both[] = {
        cmocka_unit_test(test_target_detection),
        cmocka_unit_test(test_parameters_numbered_and_next),
        cmocka_unit_test(test_value_types),
        cmocka_unit_test(test_constraint_is_eexist),
        cmocka_unit_test(test_load_texts),
        cmocka_unit_test(test_load_int64),
        cmocka_unit_test(test_statement_cache),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_migrate_idempotent),
        cmocka_unit_test(test_pool_per_thread),
        cmocka_unit_test(test_pg_rewrite),
    };
    const struct CMUnitTest sqlite_only[] = {
        cmocka_unit_test(test_migrate_continues_db_migrate),
        cmocka_unit_test(test_migrate_waits_out_a_busy_file),
    };
    const struct CMUnitTest postgres_only[] = {
        cmocka_unit_test(test_pg_literals_keep_question_marks),
        cmocka_unit_test(test_pg_types_change_between_executions),
        cmocka_unit_test(test_pg_unreachable_is_enetwork),
        cmocka_unit_test(test_pg_failed_transaction_does_not_commit),
        cmocka_unit_test(test_pg_killed_backend_then_reset),
        cmocka_unit_test(test_pg_pool_resets_broken_connection),
        cmocka_unit_test(test_pg_concurrent_migrations_apply_once),
        cmocka_unit_test(test_pg_xact_lock_serialises),
    };
    int failed =
        cmocka_run_group_tests_name(on_pg ? "sql_postgres" : "sql_sqlite", both, NULL, NULL);
    if (on_pg)
        failed += cmocka_run_group_tests_name("sql_postgres_only", postgres_only, NULL, NULL);
    else
        failed += cmocka_run_group_tests_name("sql_sqlite_only", sqlite_only, NULL, NULL);
    return failed;
}
