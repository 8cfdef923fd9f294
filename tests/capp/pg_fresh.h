/*
 * pg_fresh.h — an empty PostgreSQL database for every test of a suite, cheaply. The first call
 * in a process creates the suite's database (testsupport_pg_db); later calls empty that one
 * again by recreating its public schema. CREATE DATABASE copies and syncs a whole template,
 * seconds on a disk shared with other suites; a schema drop is milliseconds. The tests of one
 * binary run one after another, and each closes its stores (or stops its servers) before the
 * next begins, so no connection still uses what is dropped. Header-only.
 */
#ifndef PG_FRESH_H
#define PG_FRESH_H

#include <stdio.h>

#include "capp/sql.h"
#include "testsupport.h"

static inline void pg_fresh_db(const char *suite, char *out, size_t cap)
{
    static char target[1024];
    if (!target[0]) {
        testsupport_pg_db(suite, target, sizeof target);
    } else {
        struct sql_conn *c = NULL;
        if (sql_open(target, &c) != 0 ||
            sql_exec(c, "DROP SCHEMA public CASCADE; CREATE SCHEMA public") != 0)
            fail_msg("cannot empty the test database %s", target);
        sql_close(c);
    }
    if ((size_t)snprintf(out, cap, "%s", target) >= cap)
        fail_msg("the connection string %s does not fit %zu bytes", target, cap);
}

#endif
