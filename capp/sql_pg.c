/*
 * sql_pg.c — the PostgreSQL driver of capp/sql.h (libpq). Stage 1: not yet available.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "sql_internal.h"

int sql_pg_open(const char *target, struct sql_conn **out)
{
    *out = NULL;
    log_error("sql.error", "engine", "postgres", "op", "open", "message",
              "PostgreSQL driver not built yet", NULL);
    return CAPP_EDB;
}

int sql_pg_rewrite(const char *sql, char **out, int *nparams)
{
    *out = NULL;
    *nparams = 0;
    return CAPP_EDB;
}
