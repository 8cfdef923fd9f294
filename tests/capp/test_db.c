/*
 * test_db.c — capp/db.h's one-shot helpers on an in-memory database: db_run and
 * db_load_texts (found, not found, NULL columns, truncation, bindings, bad SQL, no database);
 * and the mode of the files db_open creates (the database, its -wal and -shm: 0600).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "capp/assert.h"
#include "capp/db.h"
#include "capp/err.h"
#include "testsupport.h"

static int setup(void **state)
{
    sqlite3 *db = NULL;
    if (db_open(":memory:", 0, &db) != 0)
        return -1;
    if (db_exec(db, "CREATE TABLE t (k TEXT PRIMARY KEY, a TEXT, b TEXT, c TEXT);") != 0)
        return -1;
    *state = db;
    return 0;
}

static int teardown(void **state)
{
    db_close(*state);
    return 0;
}

static void test_load_texts(void **state)
{
    sqlite3 *db = *state;
    const char *row[] = {"k1", "alpha", NULL, "0123456789"};
    int changes = 0;
    assert_int_equal(
        db_run(db, "INSERT INTO t VALUES (?, ?, ?, ?)", row, COUNTOF(row), DB_NONE, &changes), 0);
    assert_int_equal(changes, 1);
    assert_int_equal(
        db_run(db, "INSERT INTO t VALUES (?, ?, ?, ?)", row, COUNTOF(row), DB_NONE, NULL),
        CAPP_EEXIST);

    char a[16] = "x", b[16] = "x", c[5] = "x";
    const struct db_text_out outs[] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
    const char *key[] = {"k1"};
    assert_int_equal(db_load_texts(db, "SELECT a, b, c FROM t WHERE k = ?", key, COUNTOF(key), outs,
                                   COUNTOF(outs)),
                     0);
    assert_string_equal(a, "alpha");
    assert_string_equal(b, "");     /* NULL column */
    assert_string_equal(c, "0123"); /* truncated, NUL-terminated */

    /* no row: CAPP_ENOTFOUND and the buffers are left as they were */
    strcpy(a, "kept");
    const char *missing[] = {"k2"};
    assert_int_equal(db_load_texts(db, "SELECT a FROM t WHERE k = ?", missing, 1, outs, 1),
                     CAPP_ENOTFOUND);
    assert_string_equal(a, "kept");

    /* a NULL binding binds NULL (the ?2 IS NULL idiom), numbered parameters in order */
    const char *two[] = {"alpha", NULL};
    assert_int_equal(db_load_texts(db, "SELECT k FROM t WHERE a = ?1 AND (?2 IS NULL OR b = ?2)",
                                   two, 2, outs, 1),
                     0);
    assert_string_equal(a, "k1");

    /* bad SQL and no database are database errors */
    assert_int_equal(db_load_texts(db, "SELECT nope FROM t", NULL, 0, outs, 1), CAPP_EDB);
    assert_int_equal(db_load_texts(NULL, "SELECT 1", NULL, 0, outs, 1), CAPP_EDB);
}

static unsigned file_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("%s does not exist", path);
    return (unsigned)(st.st_mode & 0777);
}

/* Processes opening one new file at once (replicas starting together): each switches it to WAL,
 * which needs the file to itself; two connections that both hold a shared lock and both want it
 * get SQLITE_BUSY at once, without the busy handler (SQLite's deadlock rule). db_open must wait
 * and try again, not fail start-up. */
enum { OPENERS = 6, FRESH_FILES = 40 };

struct opener {
    const char *path;
    pthread_barrier_t *go;
    int rc;
};

static void *open_fresh(void *arg)
{
    struct opener *o = arg;
    sqlite3 *db = NULL;
    pthread_barrier_wait(o->go);
    o->rc = db_open(o->path, 0, &db);
    if (o->rc == 0)
        o->rc = db_exec(db, "CREATE TABLE IF NOT EXISTS t (k INTEGER)");
    db_close(db);
    return NULL;
}

static void test_open_together_on_a_new_file(void **state)
{
    (void)state;
    char dir[512], path[600];
    ts_tmpdir(dir, sizeof dir);
    int failed = 0;
    for (int f = 0; f < FRESH_FILES; f++) {
        snprintf(path, sizeof path, "%s/fresh%d.db", dir, f);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, OPENERS);
        struct opener o[OPENERS];
        pthread_t t[OPENERS];
        for (int i = 0; i < OPENERS; i++) {
            o[i] = (struct opener){path, &go, -1};
            pthread_create(&t[i], NULL, open_fresh, &o[i]);
        }
        for (int i = 0; i < OPENERS; i++) {
            pthread_join(t[i], NULL);
            failed += o[i].rc != 0;
        }
        pthread_barrier_destroy(&go);
    }
    assert_int_equal(failed, 0);
}

static void test_created_files_are_private(void **state)
{
    (void)state;
    char dir[256], path[320], wal[330], shm[330], ro[330];
    ts_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/state.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    mode_t old = umask(022); /* the usual umask, which leaves SQLite's 0644 readable by all */
    sqlite3 *db = NULL, *reader = NULL;
    assert_int_equal(db_open(path, 0, &db), 0);
    assert_int_equal(db_exec(db, "CREATE TABLE t (k TEXT); INSERT INTO t VALUES ('x');"), 0);
    assert_int_equal(db_open(path, 1, &reader), 0); /* a reader beside the writer, as the store */
    assert_int_equal(db_exec(reader, "SELECT * FROM t"), 0);
    assert_int_equal(file_mode(path), 0600);
    assert_int_equal(file_mode(wal), 0600);
    assert_int_equal(file_mode(shm), 0600);
    db_close(reader);
    db_close(db);

    /* an existing file keeps the mode its operator chose */
    snprintf(ro, sizeof ro, "%s/shared.db", dir);
    FILE *f = fopen(ro, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(ro, 0640), 0);
    assert_int_equal(db_open(ro, 0, &db), 0);
    db_close(db);
    assert_int_equal(file_mode(ro), 0640);
    umask(old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_texts, setup, teardown),
        cmocka_unit_test(test_created_files_are_private),
        cmocka_unit_test(test_open_together_on_a_new_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
