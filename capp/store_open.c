/*
 * store_open: the implementation a target names. Its own file so that the implementations,
 * which use store.c's shared helpers, are not tied back to it (scripts/check-cycles).
 */
#include "err.h"
#include "sql.h"
#include "store.h"

int store_open(const char *target, struct store **out)
{
    if (!target)
        return CAPP_EINVAL;
    return sql_target_is_postgres(target) ? store_pg_open(target, out)
                                          : store_sqlite_open(target, out);
}
