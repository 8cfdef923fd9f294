/*
 * engine_kit.h — which database engine a kyc test suite runs on (capp/sql.h).
 *
 * A suite that runs on both engines is registered twice in tests/kyc/CMakeLists.txt: kyc_<name>
 * on SQLite files, and kyc_<name>_pg, the same binary with the argument "postgres" and the CTest
 * fixture `pg`, whose environment names the test server (KYC_TEST_PG_DIR; as capp_sql_pg and
 * kyc_results_pg do). main() calls engine_kit_init first; the suite then asks engine_kit_db for
 * each database it needs and so runs the same code against whichever engine its entry chose.
 */
#ifndef KYC_TESTS_ENGINE_KIT_H
#define KYC_TESTS_ENGINE_KIT_H

#include <stdio.h>
#include <string.h>

#include "capp/sql.h"
#include "testsupport.h"

static int engine_kit_on_postgres; /* argv[1] == "postgres" */

static inline void engine_kit_init(int argc, char **argv)
{
    engine_kit_on_postgres = argc > 1 && strcmp(argv[1], "postgres") == 0;
}

/* 1 when this run tests PostgreSQL. */
static inline int engine_kit_postgres(void)
{
    return engine_kit_on_postgres;
}

/* The target of database `name` ([a-z0-9_]): a fresh, empty PostgreSQL database on the test
 * server, or the SQLite file dir/name.db. */
static inline void engine_kit_db(const char *dir, const char *name, char *out, size_t cap)
{
    if (engine_kit_postgres())
        testsupport_pg_db(name, out, cap);
    else
        snprintf(out, cap, "%s/%s.db", dir, name);
}

/* engine_kit_db for database `name` in a fresh temporary directory. */
static inline void engine_kit_fresh(const char *name, char *out, size_t cap)
{
    char dir[256];
    ts_tmpdir(dir, sizeof dir);
    engine_kit_db(dir, name, out, cap);
}

/* A fresh database `name` (its target in out) and one connection to it, on the suite's engine. */
static inline struct sql_conn *engine_kit_open(const char *name, char *out, size_t cap)
{
    engine_kit_fresh(name, out, cap);
    struct sql_conn *c = NULL;
    assert_int_equal(sql_open(out, &c), 0);
    assert_int_equal(sql_engine_of(c), engine_kit_postgres() ? SQL_POSTGRES : SQL_SQLITE);
    return c;
}

#endif
