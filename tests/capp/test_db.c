/*
 * test_db.c — capp/db.h's one-shot helpers on an in-memory database: db_run and
 * db_load_texts (found, not found, NULL columns, truncation, bindings, bad SQL, no database).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>

#include "capp/db.h"
#include "capp/err.h"

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
    assert_int_equal(db_run(db, "INSERT INTO t VALUES (?, ?, ?, ?)", row, 4, NULL, 0, &changes), 0);
    assert_int_equal(changes, 1);
    assert_int_equal(db_run(db, "INSERT INTO t VALUES (?, ?, ?, ?)", row, 4, NULL, 0, NULL),
                     CAPP_EEXIST);

    char a[16] = "x", b[16] = "x", c[5] = "x";
    const struct db_text_out outs[] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
    const char *key[] = {"k1"};
    assert_int_equal(db_load_texts(db, "SELECT a, b, c FROM t WHERE k = ?", key, 1, outs, 3), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_texts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
