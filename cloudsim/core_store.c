/*
 * core_store.c — schema, resource descriptors, row → JSON, and the generic list/get used by
 * /data, the root filters and /proxy reads.
 *
 * Design: one table per Core resource, every row tagged with instance_id. Each table has an
 * index (instance_id, created_at DESC, id) that serves the fixed sort order of D17, and the
 * identity table has one (instance_id, <field>, created_at DESC, identity_id) index per field
 * the KYC app and the benchmark filter on, so "filter + count + first page" over 100k rows is
 * two index range scans. An unfiltered list never counts: core_counts holds each instance's
 * row count per table, kept exact by triggers in the writing transaction, and its deep pages
 * start from key-set cursors instead of skipping with OFFSET (see "key-set cursors" below).
 * Count and page are read in one snapshot, and statements come from a per-thread cache
 * (core_stmt.h). Timestamps are stored in one fixed-width UTC form
 * (YYYY-MM-DDTHH:MM:SS.ffffffZ) so text order is time order; dob is a DATE-like YYYY-MM-DD
 * with Core's unset value 0001-01-01.
 */
#include "cloudsim/core.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/crypto.h"
#include "capp/db.h"
#include "capp/assert.h"
#include "capp/err.h"
#include "capp/hash.h"
#include "capp/log.h"
#include "cloudsim/core_stmt.h"

/* ---- schema ---- */

/* Backfill and triggers that keep core_counts exact for one table: n is the instance's row
 * count; version takes a new random 64-bit value on every change that can move a row's
 * position in the D17 order (insert, delete, new instance_id, created_at or ID), so a version
 * never comes back, not even in another database. Rolled-back changes roll back both. */
/* clang-format off */
#define COUNT_BUMP(t, inst, delta)                                                           \
    "INSERT INTO core_counts (table_name, instance_id, n, version)"                          \
    " VALUES ('" t "', " inst ", " delta ", random())"                                       \
    " ON CONFLICT (table_name, instance_id)"                                                 \
    " DO UPDATE SET n = n + (" delta "), version = random();"
#define COUNTED(t, id)                                                                       \
    "INSERT INTO core_counts (table_name, instance_id, n, version)"                          \
    " SELECT '" t "', instance_id, count(*), random() FROM " t " GROUP BY instance_id;"      \
    "CREATE TRIGGER " t "_count_insert AFTER INSERT ON " t                                   \
    " BEGIN " COUNT_BUMP(t, "NEW.instance_id", "1") " END;"                                  \
    "CREATE TRIGGER " t "_count_delete AFTER DELETE ON " t                                   \
    " BEGIN " COUNT_BUMP(t, "OLD.instance_id", "-1") " END;"                                 \
    "CREATE TRIGGER " t "_count_update AFTER UPDATE OF instance_id, created_at, " id         \
    " ON " t " BEGIN " COUNT_BUMP(t, "OLD.instance_id", "-1")                                \
    COUNT_BUMP(t, "NEW.instance_id", "1") " END;"
/* clang-format on */

static const struct db_migration migrations[] = {
    {1,
     "CREATE TABLE core_identities ("
     " identity_id TEXT PRIMARY KEY,"
     " instance_id TEXT NOT NULL,"
     " identity_type TEXT NOT NULL DEFAULT '',"
     " organization_name TEXT NOT NULL DEFAULT '',"
     " category TEXT NOT NULL DEFAULT '',"
     " first_name TEXT NOT NULL DEFAULT '',"
     " last_name TEXT NOT NULL DEFAULT '',"
     " other_names TEXT NOT NULL DEFAULT '',"
     " gender TEXT NOT NULL DEFAULT '',"
     " email_address TEXT NOT NULL DEFAULT '',"
     " phone_number TEXT NOT NULL DEFAULT '',"
     " nationality TEXT NOT NULL DEFAULT '',"
     " street TEXT NOT NULL DEFAULT '',"
     " country TEXT NOT NULL DEFAULT '',"
     " state TEXT NOT NULL DEFAULT '',"
     " post_code TEXT NOT NULL DEFAULT '',"
     " city TEXT NOT NULL DEFAULT '',"
     " dob TEXT NOT NULL DEFAULT '0001-01-01',"
     " created_at TEXT NOT NULL,"
     " meta_data TEXT);"
     "CREATE INDEX core_identities_created ON core_identities"
     " (instance_id, created_at DESC, identity_id);"
     "CREATE INDEX core_identities_country ON core_identities"
     " (instance_id, country, created_at DESC, identity_id);"
     "CREATE INDEX core_identities_nationality ON core_identities"
     " (instance_id, nationality, created_at DESC, identity_id);"
     "CREATE INDEX core_identities_last_name ON core_identities"
     " (instance_id, last_name, created_at DESC, identity_id);"
     "CREATE INDEX core_identities_first_name ON core_identities"
     " (instance_id, first_name, created_at DESC, identity_id);"
     "CREATE INDEX core_identities_type ON core_identities"
     " (instance_id, identity_type, created_at DESC, identity_id);"
     "CREATE INDEX core_identities_category ON core_identities"
     " (instance_id, category, created_at DESC, identity_id);"
     "CREATE INDEX core_identities_dob ON core_identities"
     " (instance_id, dob, created_at DESC, identity_id);"
     "CREATE INDEX core_identities_email ON core_identities"
     " (instance_id, email_address, created_at DESC, identity_id);"
     "CREATE TABLE core_ledgers ("
     " ledger_id TEXT PRIMARY KEY,"
     " instance_id TEXT NOT NULL,"
     " name TEXT NOT NULL,"
     " created_at TEXT NOT NULL,"
     " meta_data TEXT);"
     "CREATE INDEX core_ledgers_created ON core_ledgers (instance_id, created_at DESC, ledger_id);"
     "CREATE TABLE core_balances ("
     " balance_id TEXT PRIMARY KEY,"
     " instance_id TEXT NOT NULL,"
     " ledger_id TEXT NOT NULL REFERENCES core_ledgers(ledger_id),"
     " identity_id TEXT REFERENCES core_identities(identity_id),"
     " indicator TEXT NOT NULL DEFAULT '',"
     " currency TEXT NOT NULL,"
     " balance INTEGER NOT NULL DEFAULT 0,"
     " credit_balance INTEGER NOT NULL DEFAULT 0,"
     " debit_balance INTEGER NOT NULL DEFAULT 0,"
     " inflight_balance INTEGER NOT NULL DEFAULT 0,"
     " inflight_credit_balance INTEGER NOT NULL DEFAULT 0,"
     " inflight_debit_balance INTEGER NOT NULL DEFAULT 0,"
     " precision NUMERIC NOT NULL DEFAULT 1,"
     " version INTEGER NOT NULL DEFAULT 0,"
     " created_at TEXT NOT NULL,"
     " meta_data TEXT);"
     "CREATE INDEX core_balances_created ON core_balances"
     " (instance_id, created_at DESC, balance_id);"
     "CREATE INDEX core_balances_identity ON core_balances (identity_id);"
     "CREATE INDEX core_balances_indicator ON core_balances (instance_id, indicator);"
     "CREATE TABLE core_transactions ("
     " transaction_id TEXT PRIMARY KEY,"
     " instance_id TEXT NOT NULL,"
     " parent_transaction TEXT,"
     " amount NUMERIC NOT NULL,"
     " precise_amount INTEGER NOT NULL,"
     " precision NUMERIC NOT NULL,"
     " currency TEXT NOT NULL,"
     " source TEXT NOT NULL,"
     " destination TEXT NOT NULL,"
     " reference TEXT NOT NULL,"
     " description TEXT NOT NULL DEFAULT '',"
     " status TEXT NOT NULL,"
     " created_at TEXT NOT NULL,"
     " effective_date TEXT NOT NULL,"
     " meta_data TEXT,"
     " UNIQUE (instance_id, reference));"
     "CREATE INDEX core_transactions_created ON core_transactions"
     " (instance_id, created_at DESC, transaction_id);"
     "CREATE INDEX core_transactions_parent ON core_transactions (parent_transaction);"
     "CREATE TABLE cloud_alerts ("
     " anomaly_id TEXT PRIMARY KEY,"
     " organization_id TEXT NOT NULL,"
     " instance_id TEXT NOT NULL,"
     " title TEXT NOT NULL,"
     " description TEXT NOT NULL,"
     " type TEXT NOT NULL,"
     " target_id TEXT NOT NULL,"
     " assigned_to TEXT NOT NULL DEFAULT '',"
     " escalated_to TEXT NOT NULL DEFAULT '[]',"
     " status TEXT NOT NULL,"
     " created_at TEXT NOT NULL,"
     " updated_at TEXT NOT NULL);"
     "CREATE INDEX cloud_alerts_scope ON cloud_alerts"
     " (organization_id, instance_id, created_at DESC, anomaly_id);"
     "CREATE INDEX cloud_alerts_status ON cloud_alerts (organization_id, status);"
     "CREATE TABLE cloud_alert_statuses ("
     " organization_id TEXT NOT NULL,"
     " key TEXT NOT NULL,"
     " name TEXT NOT NULL,"
     " colour TEXT NOT NULL,"
     " created_at TEXT NOT NULL,"
     " updated_at TEXT NOT NULL,"
     " PRIMARY KEY (organization_id, key));"},
    /* a narrow index makes count(*) of an unfiltered list scan ~10 bytes per row, not ~90 */
    {2, "CREATE INDEX core_identities_instance ON core_identities (instance_id);"
        "CREATE INDEX core_balances_instance ON core_balances (instance_id);"
        "CREATE INDEX core_transactions_instance ON core_transactions (instance_id);"},
    /* per-instance row counts and change versions, kept by triggers (see the file comment) */
    {3, "CREATE TABLE core_counts ("
        " table_name TEXT NOT NULL,"
        " instance_id TEXT NOT NULL,"
        " n INTEGER NOT NULL,"
        " version INTEGER NOT NULL,"
        " PRIMARY KEY (table_name, instance_id)) WITHOUT ROWID;" COUNTED(
            "core_identities", "identity_id") COUNTED("core_ledgers", "ledger_id")
            COUNTED("core_balances", "balance_id") COUNTED("core_transactions", "transaction_id")},
    /* Version 4 was seed_truth's qualifiers column: the seeder's table is now created by the
     * seeder (seed_truth.c), not by this schema. A version number is never reused. */
};

int cs_data_migrate(sqlite3 *db)
{
    return db_migrate(db, "cloudsim_data", migrations, COUNTOF(migrations));
}

/* ---- errors ---- */

void core_error_set(struct core_error *err, unsigned status, const char *code, const char *fmt, ...)
{
    if (!err)
        return;
    err->status = status;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

void core_error_clear(struct core_error *err)
{
    if (!err)
        return;
    json_decref(err->details);
    memset(err, 0, sizeof *err);
}

json_t *core_error_body(const struct core_error *err)
{
    json_t *detail = json_pack("{s:s, s:s}", "code", err->code ? err->code : "GEN_INTERNAL",
                               "message", err->message);
    if (detail && err->details)
        json_object_set(detail, "details", err->details);
    else if (detail && err->details_empty_object)
        json_object_set_new(detail, "details", json_object());
    return json_pack("{s:s, s:o}", "error", err->message, "error_detail", detail);
}

/* ---- IDs ---- */

void core_uuid_format(const unsigned char raw_in[16], char out[CORE_UUID_BYTES])
{
    unsigned char raw[16];
    memcpy(raw, raw_in, 16);
    raw[6] = (unsigned char)((raw[6] & 0x0f) | 0x40);
    raw[8] = (unsigned char)((raw[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[raw[i] >> 4];
        *o++ = hex[raw[i] & 15];
    }
    *o = '\0';
}

int core_uuid4(char out[CORE_UUID_BYTES])
{
    unsigned char raw[16];
    int rc = crypto_random(raw, sizeof raw);
    if (rc)
        return rc;
    core_uuid_format(raw, out);
    return 0;
}

int core_is_uuid(const char *s)
{
    size_t n = strlen(s);
    if (n != 36)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

/* ---- resources ---- */

static const struct core_field ledger_fields[] = {
    {"ledger_id", "ledger_id", CORE_FIELD_TEXT},
    {"name", "name", CORE_FIELD_TEXT},
    {"created_at", "created_at", CORE_FIELD_TIME},
    {"meta_data", "meta_data", CORE_FIELD_JSON},
};

static const struct core_field balance_fields[] = {
    {"balance_id", "balance_id", CORE_FIELD_TEXT},
    {"ledger_id", "ledger_id", CORE_FIELD_TEXT},
    {"identity_id", "identity_id", CORE_FIELD_TEXT},
    {"indicator", "indicator", CORE_FIELD_TEXT},
    {"currency", "currency", CORE_FIELD_TEXT},
    {"balance", "balance", CORE_FIELD_NUMBER},
    {"credit_balance", "credit_balance", CORE_FIELD_NUMBER},
    {"debit_balance", "debit_balance", CORE_FIELD_NUMBER},
    {"inflight_balance", "inflight_balance", CORE_FIELD_NUMBER},
    {"inflight_credit_balance", "inflight_credit_balance", CORE_FIELD_NUMBER},
    {"inflight_debit_balance", "inflight_debit_balance", CORE_FIELD_NUMBER},
    {"created_at", "created_at", CORE_FIELD_TIME},
    {"meta_data", "meta_data", CORE_FIELD_JSON},
};

static const struct core_field transaction_fields[] = {
    {"transaction_id", "transaction_id", CORE_FIELD_TEXT},
    {"parent_transaction", "parent_transaction", CORE_FIELD_TEXT},
    {"amount", "amount", CORE_FIELD_NUMBER},
    {"currency", "currency", CORE_FIELD_TEXT},
    {"source", "source", CORE_FIELD_TEXT},
    {"destination", "destination", CORE_FIELD_TEXT},
    {"balance_id", "", CORE_FIELD_BALANCE_ID},
    {"reference", "reference", CORE_FIELD_TEXT},
    {"status", "status", CORE_FIELD_TEXT},
    {"created_at", "created_at", CORE_FIELD_TIME},
    {"effective_date", "effective_date", CORE_FIELD_TIME},
    {"description", "description", CORE_FIELD_TEXT},
    {"precision", "precision", CORE_FIELD_NUMBER},
    {"meta_data", "meta_data", CORE_FIELD_JSON},
};

static const struct core_field identity_fields[] = {
    {"identity_id", "identity_id", CORE_FIELD_TEXT},
    {"first_name", "first_name", CORE_FIELD_TEXT},
    {"last_name", "last_name", CORE_FIELD_TEXT},
    {"other_names", "other_names", CORE_FIELD_TEXT},
    {"gender", "gender", CORE_FIELD_TEXT},
    {"dob", "dob", CORE_FIELD_DATE},
    {"email_address", "email_address", CORE_FIELD_TEXT},
    {"phone_number", "phone_number", CORE_FIELD_TEXT},
    {"nationality", "nationality", CORE_FIELD_TEXT},
    {"street", "street", CORE_FIELD_TEXT},
    {"country", "country", CORE_FIELD_TEXT},
    {"state", "state", CORE_FIELD_TEXT},
    {"organization_name", "organization_name", CORE_FIELD_TEXT},
    {"category", "category", CORE_FIELD_TEXT},
    {"identity_type", "identity_type", CORE_FIELD_TEXT},
    {"post_code", "post_code", CORE_FIELD_TEXT},
    {"city", "city", CORE_FIELD_TEXT},
    {"created_at", "created_at", CORE_FIELD_TIME},
    {"meta_data", "meta_data", CORE_FIELD_JSON},
};

#define FIELDS(a) a, COUNTOF(a)

static const struct core_resource resources[CORE_RESOURCE_COUNT] = {
    [CORE_LEDGERS] = {"ledgers", "ledgers", "core_ledgers", "ledger_id", "ldg_",
                      "ledger_id, name, created_at, meta_data", FIELDS(ledger_fields), 30},
    [CORE_BALANCES] = {"balances", "balances", "core_balances", "balance_id", "bln_",
                       "balance_id, ledger_id, identity_id, indicator, currency, balance,"
                       " credit_balance, debit_balance, inflight_balance,"
                       " inflight_credit_balance, inflight_debit_balance, precision, version,"
                       " created_at, meta_data",
                       FIELDS(balance_fields), 20},
    [CORE_TRANSACTIONS] = {"transactions", "transactions", "core_transactions", "transaction_id",
                           "txn_",
                           "transaction_id, parent_transaction, amount, precise_amount,"
                           " precision, currency, source, destination, reference, description,"
                           " status, created_at, effective_date, meta_data",
                           FIELDS(transaction_fields), 20},
    [CORE_IDENTITIES] = {"identities", "identity", "core_identities", "identity_id", "idt_",
                         "identity_id, identity_type, organization_name, category, first_name,"
                         " last_name, other_names, gender, email_address, phone_number,"
                         " nationality, street, country, state, post_code, city, dob,"
                         " created_at, meta_data",
                         FIELDS(identity_fields), 20},
};

const struct core_resource *core_resource(enum core_resource_kind kind)
{
    return kind < CORE_RESOURCE_COUNT ? &resources[kind] : NULL;
}

const struct core_resource *core_resource_by_name(const char *name)
{
    for (int i = 0; i < CORE_RESOURCE_COUNT; i++)
        if (strcmp(resources[i].plural, name) == 0)
            return &resources[i];
    return NULL;
}

/* ---- row → JSON ---- */

static json_t *row_to_json(const struct core_resource *res, sqlite3_stmt *stmt,
                           enum core_flavour flavour)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    int is_txn = res == &resources[CORE_TRANSACTIONS];
    int n = sqlite3_column_count(stmt);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(stmt, i);
        int type = sqlite3_column_type(stmt, i);
        const char *text = (const char *)sqlite3_column_text(stmt, i);
        json_t *v = NULL;
        if (strcmp(name, "meta_data") == 0) {
            v = text ? json_loads(text, 0, NULL) : NULL;
            if (is_txn && (!v || (json_is_object(v) && json_object_size(v) == 0))) {
                json_decref(v);
                continue; /* Core omits an empty transaction meta_data */
            }
            if (!v)
                v = json_null();
        } else if (strcmp(name, "dob") == 0) {
            char dob[40];
            if (flavour == CORE_FLAVOUR_PROXY)
                snprintf(dob, sizeof dob, "%.10sT00:00:00Z", text ? text : "0001-01-01");
            else
                snprintf(dob, sizeof dob, "%.10s", text ? text : "0001-01-01");
            v = json_string(dob);
        } else if (type == SQLITE_INTEGER) {
            v = json_integer(sqlite3_column_int64(stmt, i));
        } else if (type == SQLITE_FLOAT) {
            v = json_real(sqlite3_column_double(stmt, i));
        } else {
            v = json_string(text ? text : "");
        }
        if (!v || json_object_set_new(obj, name, v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

/* ---- key-set cursors for deep unfiltered pages ---- */

/*
 * OFFSET makes page k of an unfiltered list step over (k-1)*pageSize index entries: ~7 ms at
 * offset 50 000, so paging through 100k identities would be quadratic. Each served page leaves
 * a cursor "the row at position p of (resource, instance) is (created_at, id)" here; a later
 * page at offset > p seeks just past that key and skips only the rest. A cursor is valid only
 * while the instance's core_counts.version is the one it was recorded under: any insert,
 * delete or move in that instance bumps it (in the same transaction), so a stale cursor is
 * never used. The table is process-wide (any thread may serve the next page) and small; the
 * least recently used slot is reused.
 */
#define CURSOR_SLOTS      64
#define CURSOR_MIN_OFFSET 500 /* below this, skipping with OFFSET is cheaper than a lookup */

struct cursor {
    const struct core_resource *res; /* NULL: empty slot */
    char instance_id[CORE_ID_BYTES];
    long long version, position;
    char created_at[CORE_TIME_BYTES];
    char id[CORE_ID_BYTES];
    unsigned long long used_at;
};

static pthread_mutex_t cursor_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cursor cursors[CURSOR_SLOTS];
static unsigned long long cursor_clock;

/* The cursor with the largest position below offset, copied into *out. 1 when found. */
static int cursor_find(const struct core_resource *res, const char *instance_id, long long version,
                       long long offset, struct cursor *out)
{
    int found = 0;
    pthread_mutex_lock(&cursor_lock);
    struct cursor *best = NULL;
    for (int i = 0; i < CURSOR_SLOTS; i++) {
        struct cursor *c = &cursors[i];
        if (c->res == res && c->version == version && c->position < offset &&
            strcmp(c->instance_id, instance_id) == 0 && (!best || c->position > best->position))
            best = c;
    }
    if (best) {
        best->used_at = ++cursor_clock;
        *out = *best;
        found = 1;
    }
    pthread_mutex_unlock(&cursor_lock);
    return found;
}

static void cursor_store(const struct core_resource *res, const char *instance_id,
                         long long version, long long position, const char *created_at,
                         const char *id)
{
    if (!created_at || !id || strlen(instance_id) >= CORE_ID_BYTES ||
        strlen(created_at) >= CORE_TIME_BYTES || strlen(id) >= CORE_ID_BYTES)
        return;
    pthread_mutex_lock(&cursor_lock);
    struct cursor *slot = NULL;
    for (int i = 0; i < CURSOR_SLOTS; i++) {
        struct cursor *c = &cursors[i];
        if (c->res == res && c->version == version && c->position == position &&
            strcmp(c->instance_id, instance_id) == 0) {
            slot = c; /* already known */
            break;
        }
        if (!slot || !c->res || (slot->res && c->used_at < slot->used_at))
            slot = c;
    }
    slot->res = res;
    snprintf(slot->instance_id, sizeof slot->instance_id, "%s", instance_id);
    slot->version = version;
    slot->position = position;
    snprintf(slot->created_at, sizeof slot->created_at, "%s", created_at);
    snprintf(slot->id, sizeof slot->id, "%s", id);
    slot->used_at = ++cursor_clock;
    pthread_mutex_unlock(&cursor_lock);
}

/* ---- lists ---- */

/* Steps a cached one-statement SQL text (BEGIN, COMMIT). */
static int exec_cached(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int rc = core_stmt_get(db, sql, &stmt);
    if (rc == 0)
        rc = db_step_done(stmt);
    core_stmt_put(stmt);
    return rc;
}

/* The unfiltered count and change version of (res, instance) from core_counts. */
static int instance_counts(sqlite3 *db, const struct core_resource *res, const char *instance_id,
                           long long *n, long long *version)
{
    sqlite3_stmt *stmt = NULL;
    int rc = core_stmt_get(db,
                           "SELECT n, version FROM core_counts"
                           " WHERE table_name = ? AND instance_id = ?",
                           &stmt);
    if (rc == 0)
        rc = db_bind_text(stmt, 1, res->table);
    if (rc == 0)
        rc = db_bind_text(stmt, 2, instance_id);
    if (rc == 0) {
        int r = db_step_row(stmt);
        *n = r == 1 ? sqlite3_column_int64(stmt, 0) : 0;
        *version = r == 1 ? sqlite3_column_int64(stmt, 1) : 0;
        rc = r < 0 ? r : 0;
    }
    core_stmt_put(stmt);
    return rc;
}

static int filtered_count(sqlite3 *db, const struct core_resource *res, const char *instance_id,
                          const struct buf *where, const struct core_binds *binds, long long *n)
{
    struct buf sql;
    sqlite3_stmt *stmt = NULL;
    buf_init(&sql, 1 << 20);
    int rc = buf_printf(&sql, "SELECT count(*) FROM %s%s", res->table, where->data);
    if (rc == 0)
        rc = core_stmt_get(db, sql.data, &stmt);
    if (rc == 0)
        rc = db_bind_text(stmt, 1, instance_id);
    if (rc == 0)
        rc = core_binds_apply(binds, stmt, 2);
    if (rc == 0) {
        int r = db_step_row(stmt);
        *n = r == 1 ? sqlite3_column_int64(stmt, 0) : 0;
        rc = r == 1 ? 0 : r < 0 ? r : CAPP_EDB;
    }
    core_stmt_put(stmt);
    buf_free(&sql);
    return rc;
}

/* One page: rows in D17 order after skipping offset matches, or — with a cursor — after the
 * cursor's key and then offset - position - 1 more. */
static int page_rows(sqlite3 *db, const struct core_resource *res, const char *instance_id,
                     const struct buf *where, const struct core_binds *binds,
                     const struct cursor *cur, long long limit, long long offset,
                     enum core_flavour flavour, json_t *rows)
{
    struct buf sql;
    sqlite3_stmt *stmt = NULL;
    buf_init(&sql, 1 << 20);
    int rc = buf_printf(&sql, "SELECT %s FROM %s%s", res->columns, res->table, where->data);
    if (rc == 0 && cur)
        rc = buf_printf(&sql, " AND created_at <= ? AND NOT (created_at = ? AND %s <= ?)",
                        res->id_column);
    if (rc == 0)
        rc = buf_printf(&sql, " ORDER BY created_at DESC, %s ASC LIMIT ? OFFSET ?", res->id_column);
    if (rc == 0)
        rc = core_stmt_get(db, sql.data, &stmt);
    if (rc == 0)
        rc = db_bind_text(stmt, 1, instance_id);
    if (rc == 0)
        rc = core_binds_apply(binds, stmt, 2);
    int next = 2 + (int)binds->count;
    if (rc == 0 && cur) {
        rc = db_bind_text(stmt, next++, cur->created_at);
        if (rc == 0)
            rc = db_bind_text(stmt, next++, cur->created_at);
        if (rc == 0)
            rc = db_bind_text(stmt, next++, cur->id);
        offset -= cur->position + 1;
    }
    if (rc == 0)
        rc = db_bind_int64(stmt, next, limit);
    if (rc == 0)
        rc = db_bind_int64(stmt, next + 1, offset);
    while (rc == 0) {
        int r = db_step_row(stmt);
        if (r < 0)
            rc = r;
        if (r <= 0)
            break;
        json_t *row = row_to_json(res, stmt, flavour);
        if (!row || json_array_append_new(rows, row) != 0)
            rc = CAPP_ENOMEM;
    }
    core_stmt_put(stmt);
    buf_free(&sql);
    return rc;
}

int core_list(sqlite3 *db, const struct core_resource *res, const char *instance_id,
              const struct core_filter_set *filters, long long limit, long long offset,
              enum core_flavour flavour, json_t **data, long long *total)
{
    struct buf where;
    struct core_binds binds = {0};
    json_t *rows = json_array();
    int unfiltered = !filters || filters->count == 0;
    long long count = 0, version = 0;
    /* count, version and page from one snapshot, so total always matches the page */
    int own_txn = sqlite3_get_autocommit(db);
    buf_init(&where, 1 << 20);
    int rc = rows ? 0 : CAPP_ENOMEM;
    if (rc == 0)
        rc = buf_append_str(&where, " WHERE instance_id = ?");
    if (rc == 0 && !unfiltered)
        rc = core_filter_sql(filters, &where, &binds);
    if (rc == 0 && own_txn)
        rc = exec_cached(db, "BEGIN");
    if (rc)
        goto out;
    if (unfiltered)
        rc = instance_counts(db, res, instance_id, &count, &version);
    else if (total)
        rc = filtered_count(db, res, instance_id, &where, &binds, &count);
    /* cursors are shared by every connection of the process: tie them to this database too */
    const char *file = sqlite3_db_filename(db, "main");
    version ^= (long long)hash_fnv1a_str(file ? file : "");
    if (rc == 0 && total)
        *total = count;
    if (rc || ((total || unfiltered) && count <= offset))
        goto done; /* nothing on this page */
    struct cursor cur;
    int deep = unfiltered && offset >= CURSOR_MIN_OFFSET;
    int have_cursor = deep && cursor_find(res, instance_id, version, offset, &cur);
    /* unless a cursor sits right before it, a deep page also reads the row just before it and
     * leaves a cursor there, so asking for the same page again (a retry, another reviewer) is
     * as cheap as asking for the next one */
    int lead = deep && !(have_cursor && cur.position == offset - 1);
    rc = page_rows(db, res, instance_id, &where, &binds, have_cursor ? &cur : NULL, limit + lead,
                   offset - lead, flavour, rows);
    size_t got = json_array_size(rows);
    if (rc == 0 && deep && got > 0) {
        const json_t *first = json_array_get(rows, 0), *last = json_array_get(rows, got - 1);
        if (lead)
            cursor_store(res, instance_id, version, offset - 1,
                         json_string_value(json_object_get(first, "created_at")),
                         json_string_value(json_object_get(first, res->id_column)));
        cursor_store(res, instance_id, version, offset - lead + (long long)got - 1,
                     json_string_value(json_object_get(last, "created_at")),
                     json_string_value(json_object_get(last, res->id_column)));
        if (lead && json_array_remove(rows, 0) != 0)
            rc = CAPP_ENOMEM;
    }
done:
    if (own_txn && sqlite3_get_autocommit(db) == 0) {
        int end = exec_cached(db, "COMMIT");
        if (end)
            db_rollback(db);
        if (rc == 0)
            rc = end;
    }
    if (rc == 0) {
        *data = rows;
        rows = NULL;
    }
out:
    json_decref(rows);
    core_binds_free(&binds);
    buf_free(&where);
    return rc;
}

int core_get(sqlite3 *db, const struct core_resource *res, const char *instance_id, const char *id,
             enum core_flavour flavour, json_t **out)
{
    char sql[1024];
    sqlite3_stmt *stmt = NULL;
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE %s = ? AND instance_id = ?", res->columns,
             res->table, res->id_column);
    int rc = core_stmt_get(db, sql, &stmt);
    if (rc == 0)
        rc = db_bind_text(stmt, 1, id);
    if (rc == 0)
        rc = db_bind_text(stmt, 2, instance_id);
    if (rc == 0) {
        int r = db_step_row(stmt);
        if (r == 1) {
            *out = row_to_json(res, stmt, flavour);
            rc = *out ? 0 : CAPP_ENOMEM;
        } else {
            rc = r == 0 ? CAPP_ENOTFOUND : r;
        }
    }
    core_stmt_put(stmt);
    return rc;
}
