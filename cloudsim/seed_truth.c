/*
 * seed_truth.c — the seeder's answer key: the seed_truth table (what seed.h says each planted
 * identity is) and its migrations, component "cloudsim_seed".
 *
 * It is the seeder's table, not Core's: the Core schema (core_store.c) knows nothing of it,
 * and the first `cloudsim seed` creates it in the same database file. Databases from before
 * this split already have it, made by the old "cloudsim_data" migrations 1 and 4 with the
 * same columns in the same order: IF NOT EXISTS keeps them as they are. One last opened
 * before migration 4 lacks the qualifiers column, which that migration used to add; it is
 * added here instead.
 */
#include "capp/assert.h"
#include "capp/db.h"
#include "capp/err.h"
#include "seed_internal.h"

static const struct db_migration migrations[] = {
    {1, "CREATE TABLE IF NOT EXISTS seed_truth ("
        " identity_id TEXT NOT NULL,"
        " instance_id TEXT NOT NULL,"
        " kind TEXT NOT NULL,"
        " detail TEXT NOT NULL,"
        " list_source TEXT,"
        " list_entry TEXT,"
        " list_name TEXT,"
        " qualifiers TEXT," /* which of the entry's qualifiers the identity carries (seed.h) */
        " PRIMARY KEY (identity_id, kind));"
        "CREATE INDEX IF NOT EXISTS seed_truth_instance ON seed_truth (instance_id, kind);"},
};

int seed_truth_migrate(sqlite3 *db)
{
    int rc = db_migrate(db, "cloudsim_seed", migrations, COUNTOF(migrations));
    if (rc)
        return rc;
    char found[2] = "";
    const struct db_text_out out[] = {{found, sizeof found}};
    rc = db_load_texts(db, "SELECT 1 FROM pragma_table_info('seed_truth') WHERE name='qualifiers'",
                       DB_NONE, out, COUNTOF(out));
    if (rc == CAPP_ENOTFOUND)
        rc = db_exec(db, "ALTER TABLE seed_truth ADD COLUMN qualifiers TEXT");
    return rc;
}
