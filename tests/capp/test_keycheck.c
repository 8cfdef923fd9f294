/*
 * test_keycheck.c — the start-up master key check (spec D30) on real database files: the check
 * value written at first start and verified after; a wrong key refused with a message naming
 * the value; a database from before the check (sealed install keys, no check value) refused
 * under a wrong key and given its check value under the right one; one install key the keyring
 * cannot open refuses start-up and names the install; rotation reseals the check value with
 * the primary key; and 10 000 installs opened in one pass (the time is printed, not asserted).
 *
 * Both engines: on SQLite files (capp_keycheck) and, with --pg, on a fresh PostgreSQL database
 * per test holding the PostgreSQL install store's schema (capp_keycheck_pg, CTest fixture `pg`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capp/err.h"
#include "capp/keycheck.h"
#include "capp/seal.h"
#include "capp/sql.h"
#include "capp/store.h"
#include "pg_fresh.h"
#include "testsupport.h"

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f"

static struct seal_keyring *ring(const char *first, const char *second)
{
    struct seal_keyring *kr = NULL;
    assert_int_equal(seal_keyring_new(&kr), 0);
    assert_int_equal(seal_keyring_add_hex(kr, first), 0);
    if (second)
        assert_int_equal(seal_keyring_add_hex(kr, second), 0);
    return kr;
}

static int on_pg; /* --pg: every database a fresh PostgreSQL one */

/* A database with the install store's schema, as `serve` leaves it: a SQLite file, or with
 * --pg a PostgreSQL database (path is then its connection string). */
static void fresh_db(char *path, size_t cap)
{
    if (on_pg) {
        pg_fresh_db("capp_keycheck", path, cap);
    } else {
        char dir[256];
        ts_tmpdir(dir, sizeof dir);
        snprintf(path, cap, "%s/app.db", dir);
    }
    struct store *s = NULL;
    assert_int_equal(store_open(path, &s), 0);
    store_close(s);
}

static struct sql_conn *open_db(const char *path)
{
    struct sql_conn *c = NULL;
    assert_int_equal(sql_open(path, &c), 0);
    return c;
}

/* Adds n installs whose API keys are sealed by kr, in one transaction. */
static void add_installs(const char *path, const struct seal_keyring *kr, const char *prefix,
                         long n)
{
    struct sql_conn *db = open_db(path);
    assert_int_equal(sql_begin(db), 0);
    for (long i = 0; i < n; i++) {
        char id[64], *sealed = NULL;
        snprintf(id, sizeof id, "instapp_%s%08ld", prefix, i);
        static const char key[] = "blnk_TESTKEY0123456789abcdefghijklmnopqrstuvwx";
        assert_int_equal(seal_seal(kr, id, key, strlen(key), &sealed), 0);
        const char *texts[] = {id, sealed};
        assert_int_equal(sql_run(db,
                                 "INSERT INTO installs(installed_app_id, app_id, instance_id,"
                                 " api_key_prefix, granted_permissions, status, sealed_api_key,"
                                 " created_at, updated_at) VALUES(?, 'app_x', 'inst_x', 'blnk_TES',"
                                 " '[]', 'active', ?, 0, 0)",
                                 texts, 2, NULL, 0, NULL),
                         0);
        free(sealed);
    }
    assert_int_equal(sql_commit(db), 0);
    sql_close(db);
}

static void check_key_id(const char *path, char out[SEAL_KEY_ID_HEX + 1])
{
    struct sql_conn *db = open_db(path);
    char sealed[512] = "";
    const struct sql_text_out col = {sealed, sizeof sealed};
    assert_int_equal(
        sql_load_texts(db, "SELECT sealed FROM capp_key_check WHERE id = 1", NULL, 0, &col, 1), 0);
    sql_close(db);
    assert_int_equal(seal_text_key_id(sealed, out), 0);
}

static void test_first_start_then_wrong_key(void **state)
{
    (void)state;
    char path[1024];
    fresh_db(path, sizeof path);
    struct seal_keyring *a = ring(KEY_A, NULL), *b = ring(KEY_B, NULL);
    struct keycheck_result res;
    assert_int_equal(keycheck_run(path, a, &res), 0);
    assert_int_equal(res.created, 1);
    char id[SEAL_KEY_ID_HEX + 1];
    check_key_id(path, id);
    assert_string_equal(id, seal_keyring_primary_id(a));

    assert_int_equal(keycheck_run(path, a, &res), 0);
    assert_int_equal(res.created, 0);
    assert_int_equal(res.resealed, 0);

    assert_int_equal(keycheck_run(path, b, &res), CAPP_ECRYPTO);
    assert_non_null(strstr(res.problem, "does not open the check value"));
    assert_non_null(strstr(res.problem, seal_keyring_primary_id(a))); /* which key sealed it */
    assert_non_null(strstr(res.problem, seal_keyring_primary_id(b)));
    check_key_id(path, id); /* a refusal writes nothing */
    assert_string_equal(id, seal_keyring_primary_id(a));
    seal_keyring_free(a);
    seal_keyring_free(b);
}

static void test_database_from_before_the_check(void **state)
{
    (void)state;
    char path[1024];
    fresh_db(path, sizeof path);
    struct seal_keyring *a = ring(KEY_A, NULL), *b = ring(KEY_B, NULL);
    add_installs(path, a, "old", 3);
    struct keycheck_result res;
    assert_int_equal(keycheck_run(path, b, &res), CAPP_ECRYPTO);
    assert_non_null(strstr(res.problem, "cannot open 3 of the 3 sealed API keys"));
    assert_non_null(strstr(res.problem, "instapp_old00000000"));
    /* no check value was written under the wrong key */
    struct sql_conn *db = open_db(path);
    char n[8] = "";
    const struct sql_text_out col = {n, sizeof n};
    assert_int_equal(sql_load_texts(db, "SELECT count(*) FROM capp_key_check", NULL, 0, &col, 1),
                     0);
    sql_close(db);
    assert_string_equal(n, "0");

    assert_int_equal(keycheck_run(path, a, &res), 0);
    assert_int_equal(res.created, 1);
    assert_int_equal(res.secrets_checked, 3);
    seal_keyring_free(a);
    seal_keyring_free(b);
}

static void test_one_secret_that_does_not_open(void **state)
{
    (void)state;
    char path[1024];
    fresh_db(path, sizeof path);
    struct seal_keyring *a = ring(KEY_A, NULL), *b = ring(KEY_B, NULL);
    struct keycheck_result res;
    assert_int_equal(keycheck_run(path, a, &res), 0);
    add_installs(path, a, "good", 2);
    add_installs(path, b, "stray", 1); /* sealed by a key the server no longer holds */
    assert_int_equal(keycheck_run(path, a, &res), CAPP_ECRYPTO);
    assert_non_null(strstr(res.problem, "cannot open 1 of the 3"));
    assert_non_null(strstr(res.problem, "instapp_stray00000000"));
    assert_non_null(strstr(res.problem, seal_keyring_primary_id(b)));
    seal_keyring_free(a);
    seal_keyring_free(b);
}

static void test_rotation_reseals_the_check_value(void **state)
{
    (void)state;
    char path[1024];
    fresh_db(path, sizeof path);
    struct seal_keyring *a = ring(KEY_A, NULL), *ba = ring(KEY_B, KEY_A), *b = ring(KEY_B, NULL);
    struct keycheck_result res;
    assert_int_equal(keycheck_run(path, a, &res), 0);
    /* the new key first, the old one kept: starts, and the check value moves to the new key */
    assert_int_equal(keycheck_run(path, ba, &res), 0);
    assert_int_equal(res.resealed, 1);
    char id[SEAL_KEY_ID_HEX + 1];
    check_key_id(path, id);
    assert_string_equal(id, seal_keyring_primary_id(b));
    assert_int_equal(keycheck_run(path, ba, &res), 0);
    assert_int_equal(res.resealed, 0);
    /* nothing else was sealed by the old key, so the new key alone now starts */
    assert_int_equal(keycheck_run(path, b, &res), 0);
    assert_int_equal(keycheck_run(path, a, &res), CAPP_ECRYPTO);
    seal_keyring_free(a);
    seal_keyring_free(ba);
    seal_keyring_free(b);
}

static void test_ten_thousand_installs(void **state)
{
    (void)state;
    char path[1024];
    fresh_db(path, sizeof path);
    struct seal_keyring *a = ring(KEY_A, NULL);
    add_installs(path, a, "big", 10000);
    struct keycheck_result res;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(keycheck_run(path, a, &res), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(res.secrets_checked, 10000);
    /* A figure for the record, never an assertion (STYLE rule 10). */
    printf("keycheck: 10000 sealed install keys opened in %.1f ms\n",
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    seal_keyring_free(a);
}

static void test_all_zero_key_refused(void **state)
{
    (void)state;
    struct seal_keyring *kr = NULL;
    assert_int_equal(seal_keyring_new(&kr), 0);
    assert_int_equal(seal_keyring_add_hex(
                         kr, "0000000000000000000000000000000000000000000000000000000000000000"),
                     CAPP_ECRYPTO);
    assert_int_equal(seal_keyring_count(kr), 0);
    assert_int_equal(seal_keyring_add_hex(kr, KEY_A), 0);
    assert_int_equal(seal_keyring_count(kr), 1);
    seal_keyring_free(kr);
}

int main(int argc, char **argv)
{
    on_pg = argc > 1 && strcmp(argv[1], "--pg") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_start_then_wrong_key),
        cmocka_unit_test(test_database_from_before_the_check),
        cmocka_unit_test(test_one_secret_that_does_not_open),
        cmocka_unit_test(test_rotation_reseals_the_check_value),
        cmocka_unit_test(test_ten_thousand_installs),
        cmocka_unit_test(test_all_zero_key_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
