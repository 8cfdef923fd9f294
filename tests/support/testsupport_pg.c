/*
 * testsupport_pg.c — a fresh PostgreSQL database per test on the server of the CTest fixture
 * `pg` (scripts/pg-test-server, directory in KYC_TEST_PG_DIR).
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsupport.h"

#include "capp/sql.h"

/* The connection string of database db on the fixture's server, as `pg-test-server url` prints
 * it: the unix socket in dir, the `postgres` user under root (the server runs as that user),
 * else the caller's own. */
static void pg_url(const char *dir, const char *db, char *out, size_t cap)
{
    const char *user = "postgres";
    if (geteuid() != 0) {
        struct passwd *pw = getpwuid(geteuid());
        user = pw ? pw->pw_name : "postgres";
    }
    snprintf(out, cap, "host=%s port=5432 user=%s dbname=%s", dir, user, db);
}

int testsupport_pg_db(const char *name, char *out, size_t cap)
{
    const char *dir = getenv("KYC_TEST_PG_DIR");
    if (!dir || !*dir)
        fail_msg("KYC_TEST_PG_DIR is not set: run this test through ctest (fixture pg)");
    /* [a-z0-9_] only, so the name needs no quoting; the pid keeps parallel tests apart, and the
     * whole stays under PostgreSQL's 63-byte identifier limit. */
    char db[64];
    size_t n = 0;
    n += (size_t)snprintf(db, sizeof db, "t_");
    for (const char *s = name; *s && n < 40; s++) {
        char ch = *s;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        db[n++] = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ? ch : '_';
    }
    snprintf(db + n, sizeof db - n, "_%ld", (long)getpid());

    char admin[600], sql[200];
    pg_url(dir, "postgres", admin, sizeof admin);
    struct sql_conn *c = NULL;
    int rc = sql_open(admin, &c);
    if (rc)
        fail_msg("cannot connect to the test server (%s): %d", admin, rc);
    /* Two statements, two calls: CREATE DATABASE refuses to run inside the implicit transaction
     * of a multi-statement query. */
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    rc = sql_exec(c, sql);
    if (rc == 0) {
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
        rc = sql_exec(c, sql);
    }
    sql_close(c);
    if (rc)
        fail_msg("cannot create test database %s: %d", db, rc);
    pg_url(dir, db, out, cap);
    return 0;
}
