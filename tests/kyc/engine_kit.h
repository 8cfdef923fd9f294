/*
 * engine_kit.h — which database engine a kyc test suite runs on (capp/sql.h).
 *
 * A suite that runs on both engines is registered twice in tests/kyc/CMakeLists.txt: kyc_<name>
 * on SQLite files, kyc_<name>_pg with the CTest fixture `pg`, whose environment names the test
 * server (KYC_TEST_PG_DIR). The suite asks engine_kit_db for each database it needs and so runs
 * the same code against whichever engine its entry chose.
 */
#ifndef KYC_TESTS_ENGINE_KIT_H
#define KYC_TESTS_ENGINE_KIT_H

#include <stdio.h>
#include <stdlib.h>

#include "testsupport.h"

/* 1 when this run tests PostgreSQL. */
static inline int engine_kit_postgres(void)
{
    return getenv("KYC_TEST_PG_DIR") != NULL;
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

#endif
