/*
 * audit.c — the hash-chained audit log (contract in audit.h).
 *
 * Storage. kyc_audit_log holds the records, keyed (installed_app_id, seq). kyc_audit_head holds
 * one row per install: the seq and hash of its last record. Triggers do the bookkeeping and
 * the guarding, so even SQL typed by hand goes through them:
 *   - an INSERT into the log must carry seq = head.seq + 1 and prev_hash = head.hash (seq 1 and
 *     64 zeros for a new install), and moves the head forward;
 *   - UPDATE and DELETE of log rows fail; the head can only move forward by one and never be
 *     deleted.
 * Going around all that means dropping triggers, and then the hashes tell.
 *
 * Hash. hash = SHA-256 over
 *     "kyc-audit-v1" || f(installed_app_id) || u64be(seq) || f(ts) || f(actor) || f(kind)
 *     || presence byte (0 NULL, 1 present) || [f(identity_id)] || f(payload) || f(prev_hash)
 * with f(s) = u64be(strlen(s)) || s. The length prefixes make the encoding injective: no two
 * different records hash the same input, whatever bytes their fields contain.
 *
 * Concurrency. Every append first takes the install's chain lock, sql_xact_lock("audit:<id>"),
 * then reads seq and prev_hash and inserts, all in one write transaction (our own, or the
 * caller's under a savepoint). On SQLite the lock is the database's one write lock (sql_begin
 * is BEGIN IMMEDIATE); on PostgreSQL, whose READ COMMITTED transactions would otherwise both
 * read the same tip, it is an advisory lock held to the end of the transaction, and the tip is
 * read after it is granted, so it sees the previous holder's committed records. Concurrent
 * appenders, on any connection or replica, queue on it and never fork or skip a seq; appenders
 * to different installs do not wait for each other there. Should anything append without the
 * lock, the chain trigger refuses the second insert of a position (CAPP_ECONFLICT).
 *
 * Cost. A busy appender (the pipeline: a record per screened identity and per write-back) uses
 * an audit_writer: its statements come from the connection's statement cache, a batch reads
 * the tip once (log and head in one statement) and hashes each record after the previous one in
 * memory, and each payload is serialised once (that text is both hashed and stored). The tip is
 * never carried over between calls, so there is no cache to go stale; the chain trigger would
 * refuse a stale one anyway.
 *
 * Storage on PostgreSQL: the same tables and guards as PL/pgSQL functions (plus a TRUNCATE
 * guard, which row triggers do not see there), except that the chain check and the head's move
 * are statement triggers over the statement's inserted rows (migration 3): a batch is one
 * multi-row INSERT (arrays unnested, capp/pg_array.h) checked against the head once and moving it
 * once, to its last record — 1 INSERT and 3 trigger statements per batch instead of 1 INSERT
 * and 2 trigger statements per record. The head may then move forward by more than one, but
 * only onto a record of the log with that seq and hash.
 *
 * Verification walks an install's rows in seq order, in pages, in one read snapshot and stops
 * at the first break; on a row whose hash and link are both wrong it looks up where the row's
 * prev_hash points, to tell a moved record (reordered) from an edited one.
 */
#include "kyc/audit.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "capp/buf.h"
#include "capp/clock.h"
#include "capp/err.h"
#include "capp/json.h"
#include "capp/log.h"
#include "capp/sql.h"
#include "capp/pg_array.h"

#define GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define HASH_DOMAIN  "kyc-audit-v1"

/* PostgreSQL's version of migration 1: the same tables (no WITHOUT ROWID, BIGINT), and the same
 * guards as PL/pgSQL trigger functions. TRUNCATE skips row triggers there, so it is refused by a
 * statement trigger of its own. The chain refusal is a unique_violation, as SQLite's RAISE is a
 * constraint error: both reach audit_append as CAPP_EEXIST (another append took the position).
 * The hash index of SQLite's first version is not created (migration 2 drops it there). */
static const char pg_audit_v1[] =
    "CREATE TABLE kyc_audit_log ("
    " installed_app_id TEXT NOT NULL,"
    " seq BIGINT NOT NULL CHECK (seq >= 1),"
    " ts TEXT NOT NULL,"
    " actor TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " identity_id TEXT,"
    " payload TEXT NOT NULL,"
    " prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL,"
    " PRIMARY KEY (installed_app_id, seq));"
    "CREATE INDEX kyc_audit_log_identity ON kyc_audit_log(installed_app_id, identity_id, seq);"
    "CREATE TABLE kyc_audit_head ("
    " installed_app_id TEXT PRIMARY KEY,"
    " seq BIGINT NOT NULL,"
    " hash TEXT NOT NULL);"
    "CREATE FUNCTION kyc_audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$"
    " DECLARE head_seq BIGINT; head_hash TEXT;"
    " BEGIN"
    "  SELECT seq, hash INTO head_seq, head_hash FROM kyc_audit_head"
    "   WHERE installed_app_id = NEW.installed_app_id;"
    "  IF NEW.seq IS DISTINCT FROM COALESCE(head_seq, 0) + 1"
    "     OR NEW.prev_hash IS DISTINCT FROM COALESCE(head_hash, '" GENESIS_HASH "') THEN"
    "   RAISE EXCEPTION 'kyc_audit_log: append out of chain order'"
    "    USING ERRCODE = 'unique_violation';"
    "  END IF;"
    "  RETURN NEW;"
    " END $$;"
    "CREATE FUNCTION kyc_audit_log_head() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  INSERT INTO kyc_audit_head(installed_app_id, seq, hash)"
    "   VALUES (NEW.installed_app_id, NEW.seq, NEW.hash)"
    "   ON CONFLICT (installed_app_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash;"
    "  RETURN NULL;"
    " END $$;"
    "CREATE FUNCTION kyc_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';"
    " END $$;"
    "CREATE TRIGGER kyc_audit_log_chain BEFORE INSERT ON kyc_audit_log"
    " FOR EACH ROW EXECUTE FUNCTION kyc_audit_log_chain();"
    "CREATE TRIGGER kyc_audit_log_head AFTER INSERT ON kyc_audit_log"
    " FOR EACH ROW EXECUTE FUNCTION kyc_audit_log_head();"
    "CREATE TRIGGER kyc_audit_log_no_update BEFORE UPDATE ON kyc_audit_log"
    " FOR EACH ROW EXECUTE FUNCTION kyc_audit_refuse('kyc_audit_log is append-only');"
    "CREATE TRIGGER kyc_audit_log_no_delete BEFORE DELETE ON kyc_audit_log"
    " FOR EACH ROW EXECUTE FUNCTION kyc_audit_refuse('kyc_audit_log is append-only');"
    "CREATE TRIGGER kyc_audit_log_no_truncate BEFORE TRUNCATE ON kyc_audit_log"
    " FOR EACH STATEMENT EXECUTE FUNCTION kyc_audit_refuse('kyc_audit_log is append-only');"
    "CREATE TRIGGER kyc_audit_head_forward BEFORE UPDATE ON kyc_audit_head FOR EACH ROW"
    " WHEN (NEW.seq IS DISTINCT FROM OLD.seq + 1"
    "       OR NEW.installed_app_id IS DISTINCT FROM OLD.installed_app_id)"
    " EXECUTE FUNCTION kyc_audit_refuse('kyc_audit_head only moves forward');"
    "CREATE TRIGGER kyc_audit_head_no_delete BEFORE DELETE ON kyc_audit_head"
    " FOR EACH ROW EXECUTE FUNCTION kyc_audit_refuse('kyc_audit_head is append-only');"
    "CREATE TRIGGER kyc_audit_head_no_truncate BEFORE TRUNCATE ON kyc_audit_head"
    " FOR EACH STATEMENT EXECUTE FUNCTION kyc_audit_refuse('kyc_audit_head is append-only');";

/* PostgreSQL's migration 3: the row triggers that checked each record against the head (one
 * head read) and moved the head (one upsert) per record become statement triggers over the
 * statement's inserted rows (a transition table): the first record of each install must follow
 * the head, each next one the record before it; then the head moves once, to the last. The
 * triggers keep their names (chain before head: AFTER triggers of one event fire in name order)
 * and the refusal stays a unique_violation. The head guard now lets the head move forward by
 * more than one, but only onto a record of the log with that seq and hash. */
static const char pg_audit_v3[] =
    "DROP TRIGGER kyc_audit_log_chain ON kyc_audit_log;"
    "DROP TRIGGER kyc_audit_log_head ON kyc_audit_log;"
    "DROP TRIGGER kyc_audit_head_forward ON kyc_audit_head;"
    "DROP FUNCTION kyc_audit_log_chain();"
    "DROP FUNCTION kyc_audit_log_head();"
    "CREATE FUNCTION kyc_audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF EXISTS (SELECT 1 FROM (SELECT a.installed_app_id, a.seq, a.prev_hash,"
    "              lag(a.seq) OVER w AS p_seq, lag(a.hash) OVER w AS p_hash,"
    "              row_number() OVER w AS rn"
    "             FROM added a WINDOW w AS (PARTITION BY a.installed_app_id ORDER BY a.seq)) x"
    "   LEFT JOIN kyc_audit_head h ON h.installed_app_id = x.installed_app_id"
    "   WHERE CASE WHEN x.rn = 1"
    "    THEN x.seq IS DISTINCT FROM COALESCE(h.seq, 0) + 1"
    "      OR x.prev_hash IS DISTINCT FROM COALESCE(h.hash, '" GENESIS_HASH "')"
    "    ELSE x.seq IS DISTINCT FROM x.p_seq + 1 OR x.prev_hash IS DISTINCT FROM x.p_hash END)"
    "  THEN"
    "   RAISE EXCEPTION 'kyc_audit_log: append out of chain order'"
    "    USING ERRCODE = 'unique_violation';"
    "  END IF;"
    "  RETURN NULL;"
    " END $$;"
    "CREATE FUNCTION kyc_audit_log_head() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  INSERT INTO kyc_audit_head(installed_app_id, seq, hash)"
    "   SELECT DISTINCT ON (installed_app_id) installed_app_id, seq, hash FROM added"
    "   ORDER BY installed_app_id, seq DESC"
    "   ON CONFLICT (installed_app_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash;"
    "  RETURN NULL;"
    " END $$;"
    "CREATE FUNCTION kyc_audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF NEW.installed_app_id IS DISTINCT FROM OLD.installed_app_id OR NEW.seq <= OLD.seq"
    "     OR NOT EXISTS (SELECT 1 FROM kyc_audit_log WHERE installed_app_id = NEW.installed_app_id"
    "                    AND seq = NEW.seq AND hash = NEW.hash) THEN"
    "   RAISE EXCEPTION 'kyc_audit_head only moves forward, onto a logged record'"
    "    USING ERRCODE = 'integrity_constraint_violation';"
    "  END IF;"
    "  RETURN NEW;"
    " END $$;"
    "CREATE TRIGGER kyc_audit_log_chain AFTER INSERT ON kyc_audit_log"
    " REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION kyc_audit_log_chain();"
    "CREATE TRIGGER kyc_audit_log_head AFTER INSERT ON kyc_audit_log"
    " REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION kyc_audit_log_head();"
    "CREATE TRIGGER kyc_audit_head_forward BEFORE UPDATE ON kyc_audit_head"
    " FOR EACH ROW EXECUTE FUNCTION kyc_audit_head_forward();";

static const struct sql_migration migrations[] = {
    {1,
     "CREATE TABLE kyc_audit_log ("
     " installed_app_id TEXT NOT NULL,"
     " seq INTEGER NOT NULL CHECK (seq >= 1),"
     " ts TEXT NOT NULL,"
     " actor TEXT NOT NULL,"
     " kind TEXT NOT NULL,"
     " identity_id TEXT,"
     " payload TEXT NOT NULL,"
     " prev_hash TEXT NOT NULL,"
     " hash TEXT NOT NULL,"
     " PRIMARY KEY (installed_app_id, seq)) WITHOUT ROWID;"
     "CREATE INDEX kyc_audit_log_identity ON kyc_audit_log(installed_app_id, identity_id, seq);"
     "CREATE INDEX kyc_audit_log_hash ON kyc_audit_log(installed_app_id, hash);"
     "CREATE TABLE kyc_audit_head ("
     " installed_app_id TEXT PRIMARY KEY,"
     " seq INTEGER NOT NULL,"
     " hash TEXT NOT NULL) WITHOUT ROWID;"
     "CREATE TRIGGER kyc_audit_log_chain BEFORE INSERT ON kyc_audit_log"
     " WHEN NEW.seq IS NOT COALESCE((SELECT seq FROM kyc_audit_head"
     "                               WHERE installed_app_id = NEW.installed_app_id), 0) + 1"
     "   OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM kyc_audit_head"
     "                                     WHERE installed_app_id = NEW.installed_app_id),"
     "                                    '" GENESIS_HASH "')"
     " BEGIN SELECT RAISE(ABORT, 'kyc_audit_log: append out of chain order'); END;"
     "CREATE TRIGGER kyc_audit_log_head AFTER INSERT ON kyc_audit_log BEGIN"
     " INSERT INTO kyc_audit_head(installed_app_id, seq, hash)"
     "  VALUES (NEW.installed_app_id, NEW.seq, NEW.hash)"
     "  ON CONFLICT(installed_app_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash;"
     " END;"
     "CREATE TRIGGER kyc_audit_log_no_update BEFORE UPDATE ON kyc_audit_log"
     " BEGIN SELECT RAISE(ABORT, 'kyc_audit_log is append-only'); END;"
     "CREATE TRIGGER kyc_audit_log_no_delete BEFORE DELETE ON kyc_audit_log"
     " BEGIN SELECT RAISE(ABORT, 'kyc_audit_log is append-only'); END;"
     "CREATE TRIGGER kyc_audit_head_forward BEFORE UPDATE ON kyc_audit_head"
     " WHEN NEW.seq IS NOT OLD.seq + 1 OR NEW.installed_app_id IS NOT OLD.installed_app_id"
     " BEGIN SELECT RAISE(ABORT, 'kyc_audit_head only moves forward'); END;"
     "CREATE TRIGGER kyc_audit_head_no_delete BEFORE DELETE ON kyc_audit_head"
     " BEGIN SELECT RAISE(ABORT, 'kyc_audit_head is append-only'); END;",
     pg_audit_v1},
    /* Only verification's diagnosis of a broken link looks a row up by hash, and only after
     * a break: a scan of the install's rows then is cheaper than an index every append pays
     * for (a random 64-hex key: one more page written per record). */
    {2, "DROP INDEX IF EXISTS kyc_audit_log_hash;", NULL},
    /* PostgreSQL: the chain checked and the head moved once per INSERT statement instead of
     * once per row, so a batch of records is one statement (insert_batch_pg). SQLite keeps its
     * row triggers: its statements cost no round trip. */
    {3, "SELECT 1;", pg_audit_v3},
};

static const char *const kind_names[] = {
    [AUDIT_SCREENING] = "screening", [AUDIT_STATUS_CHANGE] = "status_change",
    [AUDIT_DECISION] = "decision",   [AUDIT_CONFIG_CHANGE] = "config_change",
    [AUDIT_LIST_LOAD] = "list_load", [AUDIT_WRITEBACK] = "writeback",
    [AUDIT_ALERT] = "alert",         [AUDIT_IDENTITY_REMOVED] = "identity_removed",
    [AUDIT_LIFECYCLE] = "lifecycle", [AUDIT_REVIEWER] = "reviewer",
};

static const char *const break_names[] = {
    [AUDIT_INTACT] = "intact",           [AUDIT_BREAK_HASH] = "hash_mismatch",
    [AUDIT_BREAK_GAP] = "gap",           [AUDIT_BREAK_LINK] = "broken_link",
    [AUDIT_BREAK_REORDER] = "reordered", [AUDIT_BREAK_HEAD] = "head_mismatch",
};

const char *audit_kind_name(enum audit_kind kind)
{
    if ((unsigned)kind >= sizeof kind_names / sizeof kind_names[0])
        return NULL;
    return kind_names[kind];
}

const char *audit_break_name(enum audit_break brk)
{
    if ((unsigned)brk >= sizeof break_names / sizeof break_names[0])
        return "unknown";
    return break_names[brk];
}

int audit_migrate(struct sql_conn *db)
{
    return sql_migrate(db, "kyc_audit", migrations, COUNTOF(migrations));
}

/* ---- hashing ---------------------------------------------------------------------------- */

static int put_u64(struct buf *b, uint64_t v)
{
    uint8_t be[8];
    for (int i = 7; i >= 0; i--) {
        be[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    return buf_append(b, be, sizeof be);
}

static int put_field(struct buf *b, const char *s)
{
    size_t len = strlen(s);
    int rc = put_u64(b, len);
    return rc ? rc : buf_append(b, s, len);
}

/* The record hash; rec->hash is not read. */
static int record_hash(const struct audit_record *rec, char out[AUDIT_HASH_HEX_BYTES])
{
    struct buf b;
    /* Tampered rows may hold anything up to SQLite's own limits; hash them whole. */
    buf_init(&b, SIZE_MAX / 2);
    int rc = buf_append_str(&b, HASH_DOMAIN);
    if (rc == 0)
        rc = put_field(&b, rec->installed_app_id);
    if (rc == 0)
        rc = put_u64(&b, (uint64_t)rec->seq);
    if (rc == 0)
        rc = put_field(&b, rec->ts);
    if (rc == 0)
        rc = put_field(&b, rec->actor);
    if (rc == 0)
        rc = put_field(&b, rec->kind);
    if (rc == 0)
        rc = buf_append(&b, rec->identity_id ? "\1" : "\0", 1);
    if (rc == 0 && rec->identity_id)
        rc = put_field(&b, rec->identity_id);
    if (rc == 0)
        rc = put_field(&b, rec->payload);
    if (rc == 0)
        rc = put_field(&b, rec->prev_hash);
    if (rc == 0)
        crypto_sha256_hex(b.data, b.len, out);
    buf_free(&b);
    return rc;
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

int audit_input_hash(const json_t *input, char out[AUDIT_HASH_HEX_BYTES])
{
    if (!input)
        return CAPP_EINVAL;
    /* A hash compared with hashes computed before: its text format is fixed, so this is the one
     * dump in the file that does not use json_to_string_flags. */
    char *text = json_dumps(input, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return CAPP_EINVAL;
    crypto_sha256_hex(text, strlen(text), out);
    free(text);
    return 0;
}

/* ---- append ----------------------------------------------------------------------------- */

static int valid_id(const char *id)
{
    return id && json_is_valid_id(id, CAPP_MAX_ID_BYTES);
}

static int valid_actor(const char *actor)
{
    size_t len = actor ? strlen(actor) : 0;
    if (len == 0 || len > AUDIT_MAX_ACTOR_BYTES)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)actor[i] < 0x20 || actor[i] == 0x7f)
            return 0;
    return 1;
}

#define SQL_HEAD "SELECT seq, hash FROM kyc_audit_head WHERE installed_app_id = ?"
#define SQL_INSERT                                                                            \
    "INSERT INTO kyc_audit_log(installed_app_id, seq, ts, actor, kind, identity_id, payload," \
    " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)"

/* Runs a (seq, hash) query for one install: 1 and the row, 0 and (0, genesis) without a row,
 * or a CAPP_E* error. */
static int read_seq_hash(struct sql_conn *db, const char *sql, const char *install, int64_t *seq,
                         char hash[AUDIT_HASH_HEX_BYTES])
{
    struct sql_stmt *stmt = NULL;
    *seq = 0;
    memcpy(hash, GENESIS_HASH, AUDIT_HASH_HEX_BYTES);
    int rc = sql_prepare(db, sql, &stmt);
    if (rc)
        return rc;
    rc = sql_bind_text(stmt, 1, install);
    if (rc == 0)
        rc = sql_step(stmt);
    if (rc == 1) {
        *seq = sql_column_int64(stmt, 0);
        sql_column_copy(stmt, 1, hash, AUDIT_HASH_HEX_BYTES);
    }
    sql_finalize(stmt);
    return rc;
}

/*
 * The writer: a connection and how its appends treat the caller's transaction. Statements come
 * from the connection's cache (capp/sql.h), so appending parses no SQL after the first time;
 * a batch reads the chain's tip once and extends it record by record. No tip is remembered
 * between calls: each call reads it inside its own write transaction, after taking the
 * install's chain lock, so another connection's appends (or a rolled-back transaction of ours)
 * can never leave a stale seq behind — and if one did, the chain trigger would refuse the
 * insert rather than fork the chain.
 */
struct audit_writer {
    struct sql_conn *db;
    int caller_rolls_back; /* audit_writer_no_savepoint */
};

int audit_writer_new(struct sql_conn *db, struct audit_writer **out)
{
    if (!out)
        return CAPP_EINVAL;
    *out = NULL;
    if (!db)
        return CAPP_EINVAL;
    struct audit_writer *w = calloc(1, sizeof *w);
    if (!w)
        return CAPP_ENOMEM;
    w->db = db;
    *out = w;
    return 0;
}

void audit_writer_free(struct audit_writer *w)
{
    free(w);
}

/* The chain's last record per the log and per the head, in one statement (one round trip on
 * PostgreSQL); NULL columns when the install has no record. */
#define SQL_TIP                                                                   \
    "SELECT l.seq, l.hash, h.seq, h.hash FROM (SELECT 1 AS one) o"                \
    " LEFT JOIN (SELECT seq, hash FROM kyc_audit_log WHERE installed_app_id = ?1" \
    " ORDER BY seq DESC LIMIT 1) l ON 1 = 1 LEFT JOIN kyc_audit_head h"           \
    " ON h.installed_app_id = ?1"

/* The chain's last record per the log and per the head; they must agree before we extend it. */
static int read_tip(struct sql_conn *db, const char *install, int64_t *seq,
                    char hash[AUDIT_HASH_HEX_BYTES])
{
    int64_t head_seq = 0;
    char head_hash[AUDIT_HASH_HEX_BYTES] = GENESIS_HASH;
    *seq = 0;
    memcpy(hash, GENESIS_HASH, AUDIT_HASH_HEX_BYTES);
    struct sql_stmt *stmt = NULL;
    int rc = sql_prepare(db, SQL_TIP, &stmt);
    if (rc)
        return rc;
    rc = sql_bind_text(stmt, 1, install) ? CAPP_EDB : sql_step(stmt);
    if (rc == 1) {
        rc = 0;
        if (!sql_column_is_null(stmt, 0)) {
            *seq = sql_column_int64(stmt, 0);
            sql_column_copy(stmt, 1, hash, AUDIT_HASH_HEX_BYTES);
        }
        if (!sql_column_is_null(stmt, 2)) {
            head_seq = sql_column_int64(stmt, 2);
            sql_column_copy(stmt, 3, head_hash, AUDIT_HASH_HEX_BYTES);
        }
    } else if (rc == 0) {
        rc = CAPP_EDB; /* the statement always has its one row */
    }
    sql_finalize(stmt);
    if (rc < 0)
        return rc;
    if (*seq != head_seq || strcmp(hash, head_hash) != 0) {
        char log_text[24], head_text[24];
        snprintf(log_text, sizeof log_text, "%lld", (long long)*seq);
        snprintf(head_text, sizeof head_text, "%lld", (long long)head_seq);
        log_error("audit.chain_inconsistent", "installed_app_id", install, "log_seq", log_text,
                  "head_seq", head_text, "hint", "run kyc audit verify", NULL);
        return CAPP_ECONFLICT;
    }
    return 0;
}

/* The chain's step: rec becomes the record after (seq, prev) (its seq and prev_hash, which
 * borrows prev) and hash its own hash. The tip moves to it only once the record is kept
 * (chain_move): a refused insert leaves it where it was. */
static int chain_next(struct audit_record *rec, int64_t seq, const char *prev,
                      char hash[AUDIT_HASH_HEX_BYTES])
{
    rec->seq = seq + 1;
    rec->prev_hash = prev;
    return record_hash(rec, hash);
}

static void chain_move(int64_t *seq, char prev[AUDIT_HASH_HEX_BYTES],
                       const struct audit_record *rec, const char hash[AUDIT_HASH_HEX_BYTES])
{
    *seq = rec->seq;
    memcpy(prev, hash, AUDIT_HASH_HEX_BYTES);
}

/* Inserts rec as the record after (*seq, prev) and moves both to it. */
static int insert_record(struct sql_conn *db, struct audit_record *rec, int64_t *seq,
                         char prev[AUDIT_HASH_HEX_BYTES])
{
    char hash[AUDIT_HASH_HEX_BYTES];
    int rc = chain_next(rec, *seq, prev, hash);
    if (rc)
        return rc;
    struct sql_stmt *stmt = NULL;
    rc = sql_prepare(db, SQL_INSERT, &stmt);
    if (rc)
        return rc;
    if (sql_bind_text(stmt, 1, rec->installed_app_id) || sql_bind_int64(stmt, 2, rec->seq) ||
        sql_bind_text(stmt, 3, rec->ts) || sql_bind_text(stmt, 4, rec->actor) ||
        sql_bind_text(stmt, 5, rec->kind) || sql_bind_text(stmt, 6, rec->identity_id) ||
        sql_bind_text(stmt, 7, rec->payload) || sql_bind_text(stmt, 8, rec->prev_hash) ||
        sql_bind_text(stmt, 9, hash))
        rc = CAPP_EDB;
    else
        rc = sql_step(stmt);
    sql_finalize(stmt);
    rec->prev_hash = NULL;
    if (rc)
        /* A constraint here is the chain trigger refusing: someone else moved the head. */
        return rc == CAPP_EEXIST ? CAPP_ECONFLICT : rc;
    chain_move(seq, prev, rec, hash);
    return 0;
}

static int entry_shape_ok(const struct audit_entry *e)
{
    return audit_kind_name(e->kind) && (!e->identity_id || valid_id(e->identity_id)) &&
           json_is_object(e->payload);
}

/* A screening payload carries the hash of its input, never the input (audit.h). */
static int entry_input_hash_ok(const struct audit_entry *e)
{
    if (e->kind != AUDIT_SCREENING)
        return 1;
    const char *input_hash = json_string_value(json_object_get(e->payload, "input_sha256"));
    return input_hash && is_hex64(input_hash);
}

/* The lock that makes an install's appends one queue (audit.h, Concurrency). */
static int lock_chain(struct sql_conn *db, const char *install)
{
    char key[CAPP_MAX_ID_BYTES + 16];
    snprintf(key, sizeof key, "audit:%s", install);
    return sql_xact_lock(db, key);
}

#define SQL_INSERT_BATCH                                                                         \
    "INSERT INTO kyc_audit_log(installed_app_id, seq, ts, actor, kind, identity_id, payload,"    \
    " prev_hash, hash) SELECT ?1, u.seq, ?2, ?3, u.kind, u.identity_id, u.payload, u.prev_hash," \
    " u.hash FROM unnest(?4::bigint[], ?5::text[], ?6::text[], ?7::text[], ?8::text[],"          \
    " ?9::text[]) AS u(seq, kind, identity_id, payload, prev_hash, hash)"

/* The arrays of one batch insert on PostgreSQL (SQL_INSERT_BATCH's ?4..?9). */
enum { BATCH_SEQ, BATCH_KIND, BATCH_IDENTITY, BATCH_PAYLOAD, BATCH_PREV, BATCH_HASH, BATCH_COLS };

/* PostgreSQL: the batch's records in one INSERT (the statement triggers check the chain and move
 * the head once, audit.c migration 3), instead of one INSERT and two trigger statements each. */
static int insert_batch_pg(struct sql_conn *db, const char *installed_app_id, const char *ts,
                           const char *actor, struct pg_array cols[BATCH_COLS])
{
    const char *text[BATCH_COLS];
    for (int c = 0; c < BATCH_COLS; c++)
        if (!(text[c] = pg_array_text(&cols[c])))
            return CAPP_ENOMEM;
    struct sql_stmt *stmt = NULL;
    int rc = sql_prepare(db, SQL_INSERT_BATCH, &stmt);
    if (rc)
        return rc;
    rc = sql_bind_text(stmt, 1, installed_app_id) || sql_bind_text(stmt, 2, ts) ||
                 sql_bind_text(stmt, 3, actor)
             ? CAPP_EDB
             : 0;
    for (int c = 0; rc == 0 && c < BATCH_COLS; c++)
        rc = sql_bind_text(stmt, 4 + c, text[c]) ? CAPP_EDB : 0;
    if (rc == 0)
        rc = sql_step(stmt);
    sql_finalize(stmt);
    /* A constraint here is the chain trigger refusing: someone else moved the head. */
    return rc == CAPP_EEXIST ? CAPP_ECONFLICT : rc;
}

/* The records, in order, after one read of the tip (inside a write transaction that holds the
 * install's chain lock). Each is hashed after the one before it in memory; SQLite inserts them
 * one by one, PostgreSQL in one statement (insert_batch_pg). */
static int insert_entries(struct sql_conn *db, const char *installed_app_id, const char *actor,
                          const struct audit_entry *entries, size_t n, int64_t *seq_out)
{
    int64_t seq = 0;
    char prev[AUDIT_HASH_HEX_BYTES];
    int rc = read_tip(db, installed_app_id, &seq, prev);
    char ts[40];
    clock_format_rfc3339(clock_now_ms(), ts, sizeof ts);
    int batch = sql_engine_of(db) == SQL_POSTGRES;
    struct pg_array cols[BATCH_COLS];
    for (int c = 0; batch && c < BATCH_COLS; c++)
        pg_array_init(&cols[c]);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        /* the one serialisation of the payload: its canonical text is both hashed and stored */
        char *text = json_to_string_flags(entries[i].payload, JSON_SORT_KEYS | JSON_COMPACT);
        if (!text) {
            rc = CAPP_ENOMEM;
            break;
        }
        struct audit_record rec = {
            .installed_app_id = installed_app_id,
            .ts = ts,
            .actor = actor,
            .kind = audit_kind_name(entries[i].kind),
            .identity_id = entries[i].identity_id,
            .payload = text,
        };
        if (strlen(text) > AUDIT_MAX_PAYLOAD_BYTES) {
            rc = CAPP_ETOOBIG;
        } else if (!batch) {
            rc = insert_record(db, &rec, &seq, prev);
        } else {
            char hash[AUDIT_HASH_HEX_BYTES];
            rc = chain_next(&rec, seq, prev, hash);
            if (rc == 0) {
                pg_array_add_int(&cols[BATCH_SEQ], rec.seq);
                pg_array_add_text(&cols[BATCH_KIND], rec.kind);
                pg_array_add_text(&cols[BATCH_IDENTITY], rec.identity_id);
                pg_array_add_text(&cols[BATCH_PAYLOAD], text);
                pg_array_add_text(&cols[BATCH_PREV], prev);
                pg_array_add_text(&cols[BATCH_HASH], hash);
                chain_move(&seq, prev, &rec, hash);
            }
        }
        free(text);
    }
    if (batch && rc == 0 && n)
        rc = insert_batch_pg(db, installed_app_id, ts, actor, cols);
    for (int c = 0; batch && c < BATCH_COLS; c++)
        pg_array_free(&cols[c]);
    if (rc == 0 && seq_out)
        *seq_out = seq;
    return rc;
}

/* Appends in a transaction of our own. A deadlock or serialization failure (CAPP_EBUSY, only
 * PostgreSQL reports them) undid everything, so the batch is simply tried again. */
#define OWN_TRANSACTION_TRIES 3

static int append_own_transaction(struct sql_conn *db, const char *installed_app_id,
                                  const char *actor, const struct audit_entry *entries, size_t n,
                                  int64_t *last_seq_out)
{
    int rc = CAPP_EBUSY;
    for (int attempt = 0; rc == CAPP_EBUSY && attempt < OWN_TRANSACTION_TRIES; attempt++) {
        rc = sql_begin(db);
        if (rc)
            continue;
        rc = lock_chain(db, installed_app_id);
        if (rc == 0)
            rc = insert_entries(db, installed_app_id, actor, entries, n, last_seq_out);
        if (rc == 0)
            rc = sql_commit(db);
        if (rc)
            sql_rollback(db);
    }
    return rc;
}

int audit_append_many(struct audit_writer *w, const char *installed_app_id, const char *actor,
                      const struct audit_entry *entries, size_t n, int64_t *last_seq_out)
{
    /* everything that can be checked without the database, in audit_append's order */
    if (!w || !valid_id(installed_app_id) || (n && !entries))
        return CAPP_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!entry_shape_ok(&entries[i]))
            return CAPP_EINVAL;
    if (actor && strlen(actor) > AUDIT_MAX_ACTOR_BYTES)
        return CAPP_ETOOBIG;
    if (!valid_actor(actor))
        return CAPP_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!entry_input_hash_ok(&entries[i]))
            return CAPP_EINVAL;
    if (n == 0)
        return 0;

    struct sql_conn *db = w->db;
    if (!sql_in_transaction(db))
        return append_own_transaction(db, installed_app_id, actor, entries, n, last_seq_out);
    if (w->caller_rolls_back) {
        int rc = lock_chain(db, installed_app_id);
        return rc ? rc : insert_entries(db, installed_app_id, actor, entries, n, last_seq_out);
    }
    int rc = sql_exec(db, "SAVEPOINT kyc_audit_append");
    if (rc)
        return rc;
    rc = lock_chain(db, installed_app_id);
    if (rc == 0)
        rc = insert_entries(db, installed_app_id, actor, entries, n, last_seq_out);
    if (rc)
        sql_exec(db, "ROLLBACK TO kyc_audit_append");
    int release = sql_exec(db, "RELEASE kyc_audit_append");
    return rc ? rc : release;
}

void audit_writer_no_savepoint(struct audit_writer *w)
{
    if (w)
        w->caller_rolls_back = 1;
}

int audit_writer_append(struct audit_writer *w, const char *installed_app_id, const char *actor,
                        enum audit_kind kind, const char *identity_id, const json_t *payload,
                        int64_t *seq_out)
{
    struct audit_entry e = {.kind = kind, .identity_id = identity_id, .payload = payload};
    return audit_append_many(w, installed_app_id, actor, &e, 1, seq_out);
}

int audit_append(struct sql_conn *db, const char *installed_app_id, const char *actor,
                 enum audit_kind kind, const char *identity_id, const json_t *payload,
                 int64_t *seq_out)
{
    struct audit_writer w = {.db = db};
    return db ? audit_writer_append(&w, installed_app_id, actor, kind, identity_id, payload,
                                    seq_out)
              : CAPP_EINVAL;
}

/* ---- reading ---------------------------------------------------------------------------- */

#define RECORD_COLUMNS \
    "installed_app_id, seq, ts, actor, kind, identity_id, payload, prev_hash, hash"

static const char *column_text(struct sql_stmt *stmt, int col)
{
    const char *text = sql_column_text(stmt, col);
    return text ? text : "";
}

static void read_record(struct sql_stmt *stmt, struct audit_record *rec)
{
    rec->installed_app_id = column_text(stmt, 0);
    rec->seq = sql_column_int64(stmt, 1);
    rec->ts = column_text(stmt, 2);
    rec->actor = column_text(stmt, 3);
    rec->kind = column_text(stmt, 4);
    rec->identity_id = sql_column_is_null(stmt, 5) ? NULL : column_text(stmt, 5);
    rec->payload = column_text(stmt, 6);
    rec->prev_hash = column_text(stmt, 7);
    rec->hash = column_text(stmt, 8);
}

int audit_history(struct sql_conn *db, const char *installed_app_id, const char *identity_id,
                  audit_record_fn fn, void *ctx)
{
    if (!db || !fn || !valid_id(installed_app_id) || !valid_id(identity_id))
        return CAPP_EINVAL;
    struct sql_stmt *stmt = NULL;
    int rc = sql_prepare(db,
                         "SELECT " RECORD_COLUMNS " FROM kyc_audit_log"
                         " WHERE installed_app_id = ? AND identity_id = ? ORDER BY seq",
                         &stmt);
    if (rc)
        return rc;
    rc = sql_bind_text(stmt, 1, installed_app_id);
    if (rc == 0)
        rc = sql_bind_text(stmt, 2, identity_id);
    while (rc == 0 && (rc = sql_step(stmt)) == 1) {
        struct audit_record rec;
        read_record(stmt, &rec);
        rc = fn(&rec, ctx);
    }
    sql_finalize(stmt);
    return rc;
}

/* ---- verification ----------------------------------------------------------------------- */

/* Current seq of the row whose hash is `hash` in this install: -1 none, 0 genesis. */
static int find_hash(struct sql_conn *db, const char *install, const char *hash, int64_t *seq)
{
    if (strcmp(hash, GENESIS_HASH) == 0) {
        *seq = 0;
        return 0;
    }
    struct sql_stmt *stmt = NULL;
    int rc = sql_prepare(db,
                         "SELECT seq FROM kyc_audit_log WHERE installed_app_id = ? AND hash = ?"
                         " ORDER BY seq LIMIT 1",
                         &stmt);
    if (rc)
        return rc;
    rc = sql_bind_text(stmt, 1, install);
    if (rc == 0)
        rc = sql_bind_text(stmt, 2, hash);
    if (rc == 0)
        rc = sql_step(stmt);
    *seq = rc == 1 ? sql_column_int64(stmt, 0) : -1;
    sql_finalize(stmt);
    return rc < 0 ? rc : 0;
}

static void set_break(struct audit_install_report *r, enum audit_break brk, int64_t seq,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set_break(struct audit_install_report *r, enum audit_break brk, int64_t seq,
                      const char *fmt, ...)
{
    va_list ap;
    r->brk = brk;
    r->bad_seq = seq;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
}

/* Rows fetched per query while verifying: a PostgreSQL step buffers its whole result, so a long
 * chain is walked in pages (by seq, inside the verification's one snapshot). */
#define VERIFY_PAGE_ROWS 2000

/* Checks one row against the walk so far (r, expected seq and prev hash) and moves the walk
 * on; sets r's break on the first one that does not fit. */
static int check_row(struct sql_conn *db, struct audit_install_report *r,
                     const struct audit_record *rec, int64_t *expected,
                     char expected_prev[AUDIT_HASH_HEX_BYTES])
{
    char computed[AUDIT_HASH_HEX_BYTES];
    if (rec->seq != *expected) {
        set_break(r, AUDIT_BREAK_GAP, *expected,
                  "seq %lld is missing (the next record is seq %lld)", (long long)*expected,
                  (long long)rec->seq);
        return 0;
    }
    int rc = record_hash(rec, computed);
    if (rc)
        return rc;
    int hash_ok = strcmp(computed, rec->hash) == 0;
    int link_ok = strcmp(rec->prev_hash, expected_prev) == 0;
    if (hash_ok && !link_ok) {
        set_break(r, AUDIT_BREAK_LINK, rec->seq,
                  "prev_hash of seq %lld is not the hash of seq %lld (a record before it was "
                  "rewritten)",
                  (long long)rec->seq, (long long)(rec->seq - 1));
    } else if (!hash_ok && !link_ok) {
        int64_t pred = -1;
        rc = find_hash(db, r->installed_app_id, rec->prev_hash, &pred);
        if (rc)
            return rc;
        if (pred >= 0 && pred != rec->seq - 1)
            set_break(r, AUDIT_BREAK_REORDER, rec->seq,
                      "the record at seq %lld was chained after seq %lld (records moved)",
                      (long long)rec->seq, (long long)pred);
        else
            set_break(r, AUDIT_BREAK_HASH, rec->seq,
                      "seq %lld: neither its content nor its link to seq %lld matches",
                      (long long)rec->seq, (long long)(rec->seq - 1));
    } else if (!hash_ok) {
        set_break(r, AUDIT_BREAK_HASH, rec->seq,
                  "seq %lld: the content no longer matches the stored hash (edited)",
                  (long long)rec->seq);
    }
    if (r->brk != AUDIT_INTACT)
        return 0;
    r->records++;
    r->head_seq = rec->seq;
    snprintf(r->head_hash, sizeof r->head_hash, "%s", rec->hash);
    snprintf(expected_prev, AUDIT_HASH_HEX_BYTES, "%s", rec->hash);
    (*expected)++;
    return 0;
}

static int verify_rows(struct sql_conn *db, struct audit_install_report *r)
{
    char expected_prev[AUDIT_HASH_HEX_BYTES] = GENESIS_HASH;
    int64_t expected = 1, after = -1;
    int rc = 0;
    for (int more = 1; rc == 0 && more && r->brk == AUDIT_INTACT;) {
        struct sql_stmt *stmt = NULL;
        rc = sql_prepare(db,
                         "SELECT " RECORD_COLUMNS " FROM kyc_audit_log WHERE installed_app_id = ?"
                         " AND seq > ? ORDER BY seq LIMIT ?",
                         &stmt);
        if (rc)
            return rc;
        rc = sql_bind_text(stmt, 1, r->installed_app_id);
        if (rc == 0)
            rc = sql_bind_int64(stmt, 2, after);
        if (rc == 0)
            rc = sql_bind_int64(stmt, 3, VERIFY_PAGE_ROWS);
        int rows = 0;
        while (rc == 0 && r->brk == AUDIT_INTACT && (rc = sql_step(stmt)) == 1) {
            struct audit_record rec;
            read_record(stmt, &rec);
            rows++;
            after = rec.seq;
            rc = check_row(db, r, &rec, &expected, expected_prev);
        }
        sql_finalize(stmt);
        more = rows == VERIFY_PAGE_ROWS;
    }
    return rc < 0 ? rc : 0;
}

static int verify_head(struct sql_conn *db, struct audit_install_report *r)
{
    int64_t head_seq = 0;
    char head_hash[AUDIT_HASH_HEX_BYTES];
    int rc = read_seq_hash(db, SQL_HEAD, r->installed_app_id, &head_seq, head_hash);
    if (rc < 0)
        return rc;
    if (rc == 0 && r->head_seq > 0)
        set_break(r, AUDIT_BREAK_HEAD, 1, "the head row is missing for a chain of %lld records",
                  (long long)r->head_seq);
    else if (head_seq > r->head_seq)
        set_break(r, AUDIT_BREAK_HEAD, r->head_seq + 1,
                  "records after seq %lld are missing: the head is at seq %lld (truncated)",
                  (long long)r->head_seq, (long long)head_seq);
    else if (head_seq < r->head_seq)
        set_break(r, AUDIT_BREAK_HEAD, head_seq + 1,
                  "records from seq %lld on were added around the append path (head at %lld)",
                  (long long)(head_seq + 1), (long long)head_seq);
    else if (strcmp(head_hash, r->head_hash) != 0 && r->head_seq > 0)
        set_break(r, AUDIT_BREAK_HEAD, r->head_seq,
                  "the last record, seq %lld, differs from the head's hash (rewritten)",
                  (long long)r->head_seq);
    return 0;
}

static int report_add(struct audit_report *report, const char *install)
{
    struct audit_install_report *grown =
        realloc(report->installs, (report->count + 1) * sizeof *report->installs);
    if (!grown)
        return CAPP_ENOMEM;
    report->installs = grown;
    struct audit_install_report *r = &report->installs[report->count++];
    memset(r, 0, sizeof *r);
    snprintf(r->installed_app_id, sizeof r->installed_app_id, "%s", install);
    snprintf(r->head_hash, sizeof r->head_hash, "%s", GENESIS_HASH);
    return 0;
}

static int verify_all(struct sql_conn *db, const char *only, struct audit_report *report)
{
    int rc = 0;
    if (only) {
        rc = report_add(report, only);
    } else {
        struct sql_stmt *stmt = NULL;
        rc = sql_prepare(db,
                         "SELECT installed_app_id FROM kyc_audit_log UNION"
                         " SELECT installed_app_id FROM kyc_audit_head ORDER BY 1",
                         &stmt);
        if (rc)
            return rc;
        while (rc == 0 && (rc = sql_step(stmt)) == 1)
            rc = report_add(report, column_text(stmt, 0));
        sql_finalize(stmt);
    }
    for (size_t i = 0; rc == 0 && i < report->count; i++) {
        struct audit_install_report *r = &report->installs[i];
        rc = verify_rows(db, r);
        if (rc == 0 && r->brk == AUDIT_INTACT)
            rc = verify_head(db, r);
        if (rc == 0 && r->brk == AUDIT_INTACT)
            snprintf(r->detail, sizeof r->detail, "%lld records intact", (long long)r->records);
        if (rc == 0 && r->brk != AUDIT_INTACT)
            report->tampered++;
    }
    return rc;
}

int audit_verify(struct sql_conn *db, const char *installed_app_id, struct audit_report *report)
{
    if (!report)
        return CAPP_EINVAL;
    memset(report, 0, sizeof *report);
    if (!db || (installed_app_id && !valid_id(installed_app_id)))
        return CAPP_EINVAL;
    /* One snapshot for the whole walk, so appends running meanwhile cannot look like breaks:
     * a read transaction (SQLite's deferred BEGIN takes no write lock, so appenders go on;
     * PostgreSQL needs REPEATABLE READ, its READ COMMITTED takes a snapshot per statement). */
    int own_transaction = !sql_in_transaction(db);
    int rc = own_transaction ? sql_exec(db, sql_engine_of(db) == SQL_POSTGRES
                                                ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                                : "BEGIN")
                             : 0;
    if (rc)
        return rc;
    rc = verify_all(db, installed_app_id, report);
    if (own_transaction)
        sql_exec(db, "ROLLBACK");
    return rc;
}

void audit_report_free(struct audit_report *report)
{
    if (!report)
        return;
    free(report->installs);
    report->installs = NULL;
    report->count = report->tampered = 0;
}

/* ---- dossier ---------------------------------------------------------------------------- */

struct dossier_ctx {
    json_t *records;
    size_t count;
    int truncated;
};

static int set_new(json_t *obj, const char *key, json_t *value)
{
    return value && json_object_set_new(obj, key, value) == 0 ? 0 : CAPP_ENOMEM;
}

static int add_dossier_record(const struct audit_record *rec, void *opaque)
{
    struct dossier_ctx *ctx = opaque;
    if (ctx->count >= AUDIT_MAX_DOSSIER_RECORDS) {
        ctx->truncated = 1;
        return 1;
    }
    json_t *item = json_object();
    if (!item)
        return CAPP_ENOMEM;
    json_t *payload = json_loads(rec->payload, 0, NULL);
    int rc = set_new(item, "seq", json_integer(rec->seq));
    if (rc == 0)
        rc = set_new(item, "ts", json_string(rec->ts));
    if (rc == 0)
        rc = set_new(item, "actor", json_string(rec->actor));
    if (rc == 0)
        rc = set_new(item, "kind", json_string(rec->kind));
    /* A payload that no longer parses was tampered with; show its text rather than hide it. */
    if (rc == 0)
        rc = payload ? set_new(item, "payload", payload)
                     : set_new(item, "payload_text", json_string(rec->payload));
    else
        json_decref(payload);
    if (rc == 0)
        rc = set_new(item, "prev_hash", json_string(rec->prev_hash));
    if (rc == 0)
        rc = set_new(item, "hash", json_string(rec->hash));
    if (rc == 0 && json_array_append_new(ctx->records, item) != 0)
        return CAPP_ENOMEM;
    if (rc) {
        json_decref(item);
        return rc;
    }
    ctx->count++;
    return 0;
}

static json_t *chain_json(const struct audit_install_report *r)
{
    return json_pack("{s:b, s:s, s:I, s:I, s:s, s:s}", "intact", r->brk == AUDIT_INTACT, "break",
                     audit_break_name(r->brk), "bad_seq", (json_int_t)r->bad_seq, "head_seq",
                     (json_int_t)r->head_seq, "head_hash", r->head_hash, "detail", r->detail);
}

int audit_dossier_json(struct sql_conn *db, const char *installed_app_id, const char *identity_id,
                       const json_t *extra, char **out)
{
    if (!out || (extra && !json_is_object(extra)))
        return CAPP_EINVAL;
    *out = NULL;
    struct dossier_ctx ctx = {json_array(), 0, 0};
    struct audit_report report = {0};
    json_t *doc = json_object();
    char now[40];
    int rc = ctx.records && doc ? 0 : CAPP_ENOMEM;
    if (rc == 0)
        rc = audit_history(db, installed_app_id, identity_id, add_dossier_record, &ctx);
    if (rc == 1)
        rc = 0; /* the record cap stopped the walk */
    if (rc == 0)
        rc = audit_verify(db, installed_app_id, &report);
    if (rc == 0) {
        clock_format_rfc3339(clock_now_ms(), now, sizeof now);
        rc = set_new(doc, "installed_app_id", json_string(installed_app_id));
        if (rc == 0)
            rc = set_new(doc, "identity_id", json_string(identity_id));
        if (rc == 0)
            rc = set_new(doc, "exported_at", json_string(now));
        if (rc == 0)
            rc = set_new(doc, "record_count", json_integer((json_int_t)ctx.count));
        if (rc == 0)
            rc = set_new(doc, "truncated", json_boolean(ctx.truncated));
        if (rc == 0)
            rc = set_new(doc, "chain", chain_json(&report.installs[0]));
        if (rc == 0) {
            rc = set_new(doc, "records", ctx.records);
            ctx.records = NULL;
        }
        if (rc == 0 && extra && json_object_update_missing(doc, (json_t *)extra) != 0)
            rc = CAPP_ENOMEM;
        if (rc == 0) {
            *out = json_to_string_flags(doc, JSON_SORT_KEYS | JSON_COMPACT);
            if (!*out)
                rc = CAPP_ENOMEM;
        }
    }
    audit_report_free(&report);
    json_decref(ctx.records);
    json_decref(doc);
    return rc;
}
