/*
 * test_audit.c — the hash-chained audit trail (kyc/audit.h): appends and verification on a
 * fresh database, canonical payloads, input limits, one chain per install, joining the caller's
 * transaction, concurrent appenders on their own connections, the append-only triggers, every
 * kind of tampering (edited payload, deleted row, inserted row, recomputed hash, reordered
 * rows, truncated or rewritten tail) reported with the right seq and kind, the identity
 * history and dossier, and the real `kyc audit` binary's exit codes and messages.
 *
 * Tampering is done the way an attacker with the database file would: plain SQL, dropping the
 * triggers first. The test recomputes hashes with its own copy of the documented encoding, so
 * it also pins that encoding down.
 *
 * Both engines: the CTest entry kyc_audit runs on SQLite files, kyc_audit_pg on the PostgreSQL
 * server of the fixture `pg` (KYC_TEST_PG_DIR set: a fresh database per test). There the
 * concurrent appenders are separate server sessions whose READ COMMITTED transactions would
 * fork the chain without the install's chain lock.
 */
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_kit.h"
#include "testsupport.h"

#include "capp/buf.h"
#include "capp/crypto.h"
#include "capp/err.h"
#include "capp/json.h"
#include "capp/limits.h"
#include "capp/sql.h"
#include "kyc/audit.h"
#include "kyc/review.h"
#include "kyc/reviewers.h"

#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

struct fixture {
    char dir[512];
    char target[600]; /* an SQLite path or a PostgreSQL connection string */
    struct sql_conn *db;
};

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int postgres(const struct fixture *f)
{
    return sql_engine_of(f->db) == SQL_POSTGRES;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    ts_tmpdir(f->dir, sizeof f->dir);
    engine_kit_db(f->dir, "audit", f->target, sizeof f->target);
    if (sql_open(f->target, &f->db) != 0 || audit_migrate(f->db) != 0)
        return -1;
    /* the entry's engine, not a fallback */
    if (sql_engine_of(f->db) != (engine_kit_postgres() ? SQL_POSTGRES : SQL_SQLITE))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sql_close(f->db);
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static json_t *payload_of(const char *key, const char *value)
{
    return json_pack("{s:s}", key, value);
}

static int64_t append(struct sql_conn *db, const char *install, enum audit_kind kind,
                      const char *identity, const char *note)
{
    json_t *payload = payload_of("note", note);
    int64_t seq = 0;
    assert_int_equal(audit_append(db, install, "user_1", kind, identity, payload, &seq), 0);
    json_decref(payload);
    return seq;
}

/* Five records in install inst_a: seq 1..5, identities id_1 and id_2. */
static void seed_five(struct sql_conn *db)
{
    assert_int_equal(append(db, "inst_a", AUDIT_CONFIG_CHANGE, NULL, "threshold"), 1);
    assert_int_equal(append(db, "inst_a", AUDIT_STATUS_CHANGE, "id_1", "pending"), 2);
    assert_int_equal(append(db, "inst_a", AUDIT_DECISION, "id_1", "approve"), 3);
    assert_int_equal(append(db, "inst_a", AUDIT_ALERT, "id_2", "raised"), 4);
    assert_int_equal(append(db, "inst_a", AUDIT_STATUS_CHANGE, "id_1", "verified"), 5);
}

static void exec_ok(struct sql_conn *db, const char *sql)
{
    int rc = sql_exec(db, sql);
    if (rc != 0)
        fail_msg("SQL failed: %s: %s", sql, capp_strerror(rc));
}

static void drop_triggers(struct sql_conn *db)
{
    if (sql_engine_of(db) == SQL_POSTGRES)
        exec_ok(db, "DROP TRIGGER kyc_audit_log_chain ON kyc_audit_log;"
                    "DROP TRIGGER kyc_audit_log_head ON kyc_audit_log;"
                    "DROP TRIGGER kyc_audit_log_no_update ON kyc_audit_log;"
                    "DROP TRIGGER kyc_audit_log_no_delete ON kyc_audit_log;"
                    "DROP TRIGGER kyc_audit_log_no_truncate ON kyc_audit_log;"
                    "DROP TRIGGER kyc_audit_head_forward ON kyc_audit_head;"
                    "DROP TRIGGER kyc_audit_head_no_delete ON kyc_audit_head;"
                    "DROP TRIGGER kyc_audit_head_no_truncate ON kyc_audit_head;");
    else
        exec_ok(db, "DROP TRIGGER kyc_audit_log_chain; DROP TRIGGER kyc_audit_log_head;"
                    "DROP TRIGGER kyc_audit_log_no_update; DROP TRIGGER kyc_audit_log_no_delete;"
                    "DROP TRIGGER kyc_audit_head_forward; DROP TRIGGER kyc_audit_head_no_delete;");
}

/* The documented encoding (audit.c header), written out independently. */
static void put_u64(struct buf *b, uint64_t v)
{
    uint8_t be[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        be[i] = (uint8_t)(v & 0xff);
    assert_int_equal(buf_append(b, be, 8), 0);
}

static void put_field(struct buf *b, const char *s)
{
    put_u64(b, strlen(s));
    assert_int_equal(buf_append(b, s, strlen(s)), 0);
}

static void expected_hash(const char *install, int64_t seq, const char *ts, const char *actor,
                          const char *kind, const char *identity, const char *payload,
                          const char *prev, char out[AUDIT_HASH_HEX_BYTES])
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_str(&b, "kyc-audit-v1"), 0);
    put_field(&b, install);
    put_u64(&b, (uint64_t)seq);
    put_field(&b, ts);
    put_field(&b, actor);
    put_field(&b, kind);
    assert_int_equal(buf_append(&b, identity ? "\1" : "\0", 1), 0);
    if (identity)
        put_field(&b, identity);
    put_field(&b, payload);
    put_field(&b, prev);
    crypto_sha256_hex(b.data, b.len, out);
    buf_free(&b);
}

/* Recomputes and stores the hash of one row from its (possibly edited) content. */
static void rehash_row(struct sql_conn *db, const char *install, int64_t seq)
{
    struct sql_stmt *stmt = NULL;
    assert_int_equal(sql_prepare(db,
                                 "SELECT ts, actor, kind, identity_id, payload, prev_hash FROM"
                                 " kyc_audit_log WHERE installed_app_id = ? AND seq = ?",
                                 &stmt),
                     0);
    sql_bind_text(stmt, 1, install);
    sql_bind_int64(stmt, 2, seq);
    assert_int_equal(sql_step(stmt), 1);
    char hash[AUDIT_HASH_HEX_BYTES];
    expected_hash(install, seq, sql_column_text(stmt, 0), sql_column_text(stmt, 1),
                  sql_column_text(stmt, 2), sql_column_text(stmt, 3), sql_column_text(stmt, 4),
                  sql_column_text(stmt, 5), hash);
    sql_finalize(stmt);
    assert_int_equal(sql_prepare(db,
                                 "UPDATE kyc_audit_log SET hash = ? WHERE installed_app_id = ?"
                                 " AND seq = ?",
                                 &stmt),
                     0);
    sql_bind_text(stmt, 1, hash);
    sql_bind_text(stmt, 2, install);
    sql_bind_int64(stmt, 3, seq);
    assert_int_equal(sql_step(stmt), 0);
    sql_finalize(stmt);
}

static const struct audit_install_report *verify_one(struct sql_conn *db, const char *install,
                                                     struct audit_report *report)
{
    assert_int_equal(audit_verify(db, install, report), 0);
    assert_int_equal(report->count, 1);
    return &report->installs[0];
}

static void assert_break(struct sql_conn *db, const char *install, enum audit_break brk,
                         int64_t seq)
{
    struct audit_report report;
    const struct audit_install_report *r = verify_one(db, install, &report);
    if (r->brk != brk || r->bad_seq != seq)
        fail_msg("verify: %s at seq %lld (%s), expected %s at seq %lld", audit_break_name(r->brk),
                 (long long)r->bad_seq, r->detail, audit_break_name(brk), (long long)seq);
    assert_int_equal(report.tampered, 1);
    audit_report_free(&report);
}

/* ---- appends and the chain -------------------------------------------------------------- */

static int check_stored(const struct audit_record *rec, void *ctx)
{
    char hash[AUDIT_HASH_HEX_BYTES];
    int *seen = ctx;
    expected_hash(rec->installed_app_id, rec->seq, rec->ts, rec->actor, rec->kind, rec->identity_id,
                  rec->payload, rec->prev_hash, hash);
    assert_string_equal(hash, rec->hash);
    assert_true(json_is_rfc3339_utc(rec->ts));
    assert_string_equal(rec->actor, "user_1");
    ++*seen;
    return 0;
}

static void test_append_and_verify_fresh(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(audit_migrate(f->db), 0); /* idempotent */

    struct audit_report report;
    const struct audit_install_report *r = verify_one(f->db, "inst_a", &report);
    assert_int_equal(r->brk, AUDIT_INTACT);
    assert_int_equal(r->records, 0);
    assert_string_equal(r->head_hash, ZEROS);
    audit_report_free(&report);

    seed_five(f->db);
    r = verify_one(f->db, "inst_a", &report);
    assert_int_equal(r->brk, AUDIT_INTACT);
    assert_int_equal(r->records, 5);
    assert_int_equal(r->head_seq, 5);
    assert_int_equal(r->bad_seq, 0);
    assert_int_equal(report.tampered, 0);
    audit_report_free(&report);

    /* seq 1 links to the genesis hash; every stored hash is the documented encoding. */
    struct sql_stmt *stmt = NULL;
    assert_int_equal(sql_prepare(f->db,
                                 "SELECT prev_hash, identity_id FROM kyc_audit_log"
                                 " WHERE installed_app_id = 'inst_a' AND seq = 1",
                                 &stmt),
                     0);
    assert_int_equal(sql_step(stmt), 1);
    assert_string_equal(sql_column_text(stmt, 0), ZEROS);
    assert_true(sql_column_is_null(stmt, 1));
    sql_finalize(stmt);
    int seen = 0;
    assert_int_equal(audit_history(f->db, "inst_a", "id_1", check_stored, &seen), 0);
    assert_int_equal(seen, 3);
}

static void test_every_kind_appends(void **state)
{
    struct fixture *f = *state;
    char input_hash[AUDIT_HASH_HEX_BYTES];
    json_t *input = json_pack("{s:s, s:s}", "name", "Jane Doe", "dob", "1980-01-01");
    assert_int_equal(audit_input_hash(input, input_hash), 0);
    json_t *screening = json_pack("{s:s, s:[{s:s, s:s}]}", "input_sha256", input_hash, "lists",
                                  "source", "ofac", "sha256", ZEROS);
    assert_int_equal(
        audit_append(f->db, "inst_a", "system", AUDIT_SCREENING, "id_1", screening, NULL), 0);
    for (enum audit_kind k = AUDIT_STATUS_CHANGE; k <= AUDIT_ALERT; k++)
        append(f->db, "inst_a", k, NULL, audit_kind_name(k));
    assert_null(audit_kind_name((enum audit_kind)99));

    struct sql_stmt *stmt = NULL;
    assert_int_equal(sql_prepare(f->db, "SELECT kind FROM kyc_audit_log ORDER BY seq", &stmt), 0);
    char kinds[256] = "";
    while (sql_step(stmt) == 1)
        snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s", *kinds ? "," : "",
                 sql_column_text(stmt, 0));
    sql_finalize(stmt);
    assert_string_equal(kinds,
                        "screening,status_change,decision,config_change,list_load,writeback,alert");
    /* The screening payload holds the hash, not the name. */
    assert_int_equal(sql_prepare(f->db,
                                 "SELECT count(*) FROM kyc_audit_log WHERE payload LIKE"
                                 " '%Jane%'",
                                 &stmt),
                     0);
    assert_int_equal(sql_step(stmt), 1);
    assert_int_equal(sql_column_int64(stmt, 0), 0);
    sql_finalize(stmt);
    json_decref(input);
    json_decref(screening);
}

static void test_payload_is_canonical(void **state)
{
    struct fixture *f = *state;
    json_t *payload =
        json_loads("{\"z\": 1, \"a\": {\"y\": true, \"b\": [1, 2]}, \"m\": \"x\"}", 0, NULL);
    assert_int_equal(
        audit_append(f->db, "inst_a", "system", AUDIT_CONFIG_CHANGE, NULL, payload, NULL), 0);
    json_decref(payload);
    struct sql_stmt *stmt = NULL;
    assert_int_equal(sql_prepare(f->db, "SELECT payload FROM kyc_audit_log", &stmt), 0);
    assert_int_equal(sql_step(stmt), 1);
    assert_string_equal(sql_column_text(stmt, 0),
                        "{\"a\":{\"b\":[1,2],\"y\":true},\"m\":\"x\",\"z\":1}");
    sql_finalize(stmt);

    /* Equal inputs hash alike whatever their key order. */
    char h1[AUDIT_HASH_HEX_BYTES], h2[AUDIT_HASH_HEX_BYTES];
    json_t *a = json_loads("{\"first\":\"A\",\"last\":\"B\"}", 0, NULL);
    json_t *b = json_loads("{\"last\":\"B\",\"first\":\"A\"}", 0, NULL);
    assert_int_equal(audit_input_hash(a, h1), 0);
    assert_int_equal(audit_input_hash(b, h2), 0);
    assert_string_equal(h1, h2);
    json_decref(a);
    json_decref(b);
}

static void test_append_refuses_bad_input(void **state)
{
    struct fixture *f = *state;
    json_t *ok = payload_of("k", "v");
    json_t *array = json_array();
    assert_int_equal(audit_append(f->db, "bad id", "system", AUDIT_ALERT, NULL, ok, NULL),
                     CAPP_EINVAL);
    assert_int_equal(audit_append(f->db, NULL, "system", AUDIT_ALERT, NULL, ok, NULL), CAPP_EINVAL);
    assert_int_equal(audit_append(f->db, "inst_a", "system", AUDIT_ALERT, "id/1", ok, NULL),
                     CAPP_EINVAL);
    assert_int_equal(audit_append(f->db, "inst_a", NULL, AUDIT_ALERT, NULL, ok, NULL), CAPP_EINVAL);
    assert_int_equal(audit_append(f->db, "inst_a", "", AUDIT_ALERT, NULL, ok, NULL), CAPP_EINVAL);
    assert_int_equal(audit_append(f->db, "inst_a", "a\nb", AUDIT_ALERT, NULL, ok, NULL),
                     CAPP_EINVAL);
    assert_int_equal(audit_append(f->db, "inst_a", "system", (enum audit_kind)42, NULL, ok, NULL),
                     CAPP_EINVAL);
    assert_int_equal(audit_append(f->db, "inst_a", "system", AUDIT_ALERT, NULL, array, NULL),
                     CAPP_EINVAL);
    assert_int_equal(audit_append(f->db, "inst_a", "system", AUDIT_ALERT, NULL, NULL, NULL),
                     CAPP_EINVAL);
    /* A screening record must carry an input hash, not raw input. */
    json_t *raw = json_pack("{s:s}", "name", "Jane Doe");
    assert_int_equal(audit_append(f->db, "inst_a", "system", AUDIT_SCREENING, "id_1", raw, NULL),
                     CAPP_EINVAL);
    json_t *short_hash = json_pack("{s:s}", "input_sha256", "abc");
    assert_int_equal(
        audit_append(f->db, "inst_a", "system", AUDIT_SCREENING, "id_1", short_hash, NULL),
        CAPP_EINVAL);

    /* Limits: one byte over is refused, the limit itself is accepted. */
    char actor[AUDIT_MAX_ACTOR_BYTES + 2];
    memset(actor, 'u', sizeof actor - 1);
    actor[sizeof actor - 1] = '\0';
    assert_int_equal(audit_append(f->db, "inst_a", actor, AUDIT_ALERT, NULL, ok, NULL),
                     CAPP_ETOOBIG);
    actor[AUDIT_MAX_ACTOR_BYTES] = '\0';
    assert_int_equal(audit_append(f->db, "inst_a", actor, AUDIT_ALERT, NULL, ok, NULL), 0);
    size_t overhead = strlen("{\"k\":\"\"}");
    char *big = malloc(AUDIT_MAX_PAYLOAD_BYTES + 1);
    memset(big, 'x', AUDIT_MAX_PAYLOAD_BYTES - overhead + 1);
    big[AUDIT_MAX_PAYLOAD_BYTES - overhead + 1] = '\0';
    json_t *too_big = payload_of("k", big);
    assert_int_equal(audit_append(f->db, "inst_a", "system", AUDIT_ALERT, NULL, too_big, NULL),
                     CAPP_ETOOBIG);
    big[AUDIT_MAX_PAYLOAD_BYTES - overhead] = '\0';
    json_t *at_limit = payload_of("k", big);
    int64_t seq = 0;
    assert_int_equal(audit_append(f->db, "inst_a", "system", AUDIT_ALERT, NULL, at_limit, &seq), 0);
    assert_int_equal(seq, 2); /* nothing refused took a seq */

    struct audit_report report;
    assert_int_equal(verify_one(f->db, "inst_a", &report)->brk, AUDIT_INTACT);
    audit_report_free(&report);
    assert_int_equal(audit_verify(f->db, "no such id", &report), CAPP_EINVAL);
    audit_report_free(&report);
    free(big);
    json_decref(too_big);
    json_decref(at_limit);
    json_decref(raw);
    json_decref(short_hash);
    json_decref(ok);
    json_decref(array);
}

static void test_chains_per_install_independent(void **state)
{
    struct fixture *f = *state;
    for (int i = 1; i <= 4; i++) {
        assert_int_equal(append(f->db, "inst_a", AUDIT_DECISION, "id_1", "a"), i);
        assert_int_equal(append(f->db, "inst_b", AUDIT_DECISION, "id_1", "b"), i);
    }
    assert_int_equal(append(f->db, "inst_b", AUDIT_ALERT, NULL, "b"), 5);

    struct audit_report report;
    assert_int_equal(audit_verify(f->db, NULL, &report), 0);
    assert_int_equal(report.count, 2);
    assert_int_equal(report.tampered, 0);
    assert_string_equal(report.installs[0].installed_app_id, "inst_a");
    assert_int_equal(report.installs[0].records, 4);
    assert_string_equal(report.installs[1].installed_app_id, "inst_b");
    assert_int_equal(report.installs[1].records, 5);
    assert_string_not_equal(report.installs[0].head_hash, report.installs[1].head_hash);
    audit_report_free(&report);

    /* Breaking one install's chain leaves the other intact. */
    drop_triggers(f->db);
    exec_ok(f->db, "UPDATE kyc_audit_log SET actor = 'mallory' WHERE installed_app_id = 'inst_b'"
                   " AND seq = 2");
    assert_int_equal(audit_verify(f->db, NULL, &report), 0);
    assert_int_equal(report.count, 2);
    assert_int_equal(report.tampered, 1);
    assert_int_equal(report.installs[0].brk, AUDIT_INTACT);
    assert_int_equal(report.installs[1].brk, AUDIT_BREAK_HASH);
    assert_int_equal(report.installs[1].bad_seq, 2);
    audit_report_free(&report);
}

static int64_t count_rows(struct sql_conn *db)
{
    struct sql_stmt *stmt = NULL;
    assert_int_equal(sql_prepare(db, "SELECT count(*) FROM kyc_audit_log", &stmt), 0);
    assert_int_equal(sql_step(stmt), 1);
    int64_t n = sql_column_int64(stmt, 0);
    sql_finalize(stmt);
    return n;
}

static void test_joins_caller_transaction(void **state)
{
    struct fixture *f = *state;
    /* Rolled back with the caller's work. */
    assert_int_equal(sql_begin(f->db), 0);
    assert_int_equal(append(f->db, "inst_a", AUDIT_DECISION, "id_1", "x"), 1);
    assert_int_equal(append(f->db, "inst_a", AUDIT_DECISION, "id_1", "y"), 2);
    assert_true(sql_in_transaction(f->db)); /* still the caller's transaction */
    sql_rollback(f->db);
    assert_int_equal(count_rows(f->db), 0);

    /* Committed with it; a failed append in between leaves the transaction usable. */
    assert_int_equal(sql_begin(f->db), 0);
    assert_int_equal(append(f->db, "inst_a", AUDIT_DECISION, "id_1", "x"), 1);
    json_t *raw = json_pack("{s:s}", "name", "Jane");
    assert_int_equal(audit_append(f->db, "inst_a", "system", AUDIT_SCREENING, "id_1", raw, NULL),
                     CAPP_EINVAL);
    json_decref(raw);
    assert_int_equal(append(f->db, "inst_a", AUDIT_DECISION, "id_1", "y"), 2);
    assert_int_equal(sql_commit(f->db), 0);
    assert_int_equal(count_rows(f->db), 2);
    struct audit_report report;
    assert_int_equal(verify_one(f->db, "inst_a", &report)->brk, AUDIT_INTACT);
    audit_report_free(&report);
}

/* ---- the writer (fast path) ------------------------------------------------------------ */

static int64_t seq_of(struct sql_conn *db, const char *install)
{
    struct sql_stmt *stmt = NULL;
    assert_int_equal(
        sql_prepare(db,
                    "SELECT COALESCE(MAX(seq), 0) FROM kyc_audit_log WHERE installed_app_id = ?",
                    &stmt),
        0);
    sql_bind_text(stmt, 1, install);
    assert_int_equal(sql_step(stmt), 1);
    int64_t seq = sql_column_int64(stmt, 0);
    sql_finalize(stmt);
    return seq;
}

static void assert_intact(struct sql_conn *db, const char *install, int64_t records)
{
    struct audit_report report;
    const struct audit_install_report *r = verify_one(db, install, &report);
    if (r->brk != AUDIT_INTACT)
        fail_msg("verify: %s (%s)", audit_break_name(r->brk), r->detail);
    assert_int_equal(r->records, records);
    audit_report_free(&report);
}

/* Every row's hash is the documented encoding of its content: the writer stores exactly what
 * audit_append would, and the two paths extend one chain interchangeably. */
static void assert_rows_hash_as_documented(struct sql_conn *db, const char *install, int64_t rows)
{
    struct sql_stmt *stmt = NULL;
    assert_int_equal(
        sql_prepare(db,
                    "SELECT seq, ts, actor, kind, identity_id, payload, prev_hash, hash"
                    " FROM kyc_audit_log WHERE installed_app_id = ? ORDER BY seq",
                    &stmt),
        0);
    sql_bind_text(stmt, 1, install);
    char prev[AUDIT_HASH_HEX_BYTES] = ZEROS;
    int64_t n = 0;
    while (sql_step(stmt) == 1) {
        char hash[AUDIT_HASH_HEX_BYTES];
        const char *col[8];
        for (int i = 1; i < 8; i++)
            col[i] = sql_column_text(stmt, i);
        assert_int_equal(sql_column_int64(stmt, 0), ++n);
        expected_hash(install, n, col[1], col[2], col[3], col[4], col[5], col[6], hash);
        assert_string_equal(col[6], prev);
        assert_string_equal(col[7], hash);
        snprintf(prev, sizeof prev, "%s", hash);
    }
    sql_finalize(stmt);
    assert_int_equal(n, rows);
}

/* The stored (kind, identity, payload) of each row, one line each, for comparing two chains. */
static char *chain_content(struct sql_conn *db, const char *install)
{
    struct sql_stmt *stmt = NULL;
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(sql_prepare(db,
                                 "SELECT seq, actor, kind, COALESCE(identity_id, '-'), payload"
                                 " FROM kyc_audit_log WHERE installed_app_id = ? ORDER BY seq",
                                 &stmt),
                     0);
    sql_bind_text(stmt, 1, install);
    while (sql_step(stmt) == 1) {
        char line[512];
        snprintf(line, sizeof line, "%lld %s %s %s %s\n", (long long)sql_column_int64(stmt, 0),
                 sql_column_text(stmt, 1), sql_column_text(stmt, 2), sql_column_text(stmt, 3),
                 sql_column_text(stmt, 4));
        assert_int_equal(buf_append_str(&b, line), 0);
    }
    sql_finalize(stmt);
    assert_int_equal(buf_append(&b, "", 1), 0);
    char *text = strdup((const char *)b.data);
    buf_free(&b);
    return text;
}

static void test_writer_matches_slow_path(void **state)
{
    struct fixture *f = *state;
    char target[700];
    engine_kit_db(f->dir, "audit_slow", target, sizeof target);
    struct sql_conn *slow = NULL;
    assert_int_equal(sql_open(target, &slow), 0);
    assert_int_equal(audit_migrate(slow), 0);
    struct audit_writer *aw = NULL;
    assert_int_equal(audit_writer_new(f->db, &aw), 0);

    char input_hash[AUDIT_HASH_HEX_BYTES];
    json_t *input = json_pack("{s:s}", "name", "Jane Doe");
    assert_int_equal(audit_input_hash(input, input_hash), 0);
    json_decref(input);
    json_t *p1 =
        json_pack("{s:s, s:s, s:i}", "status", "clear", "input_sha256", input_hash, "a", 1);
    json_t *p2 = json_pack("{s:s, s:{s:s, s:s}}", "z", "last", "lists", "un", "2026", "ofac", "x");
    json_t *p3 = payload_of("note", "ünïcode \"quoted\"");
    struct audit_entry batch[] = {
        {AUDIT_SCREENING, "id_1", p1},
        {AUDIT_WRITEBACK, "id_1", p2},
        {AUDIT_LIST_LOAD, NULL, p3},
    };
    /* the same records both ways, mixing the paths on the writer's side */
    int64_t last = 0;
    assert_int_equal(audit_append_many(aw, "inst_a", "system", batch, 3, &last), 0);
    assert_int_equal(last, 3);
    int64_t seq = 0;
    assert_int_equal(audit_writer_append(aw, "inst_a", "system", AUDIT_ALERT, "id_2", p2, &seq), 0);
    assert_int_equal(seq, 4);
    assert_int_equal(audit_append(f->db, "inst_a", "system", AUDIT_DECISION, "id_2", p3, &seq), 0);
    assert_int_equal(seq, 5);
    assert_int_equal(audit_append_many(aw, "inst_a", "system", batch, 2, &last), 0);
    assert_int_equal(last, 7);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(audit_append(slow, "inst_a", "system", batch[i].kind, batch[i].identity_id,
                                      batch[i].payload, NULL),
                         0);
    assert_int_equal(audit_append(slow, "inst_a", "system", AUDIT_ALERT, "id_2", p2, NULL), 0);
    assert_int_equal(audit_append(slow, "inst_a", "system", AUDIT_DECISION, "id_2", p3, NULL), 0);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(audit_append(slow, "inst_a", "system", batch[i].kind, batch[i].identity_id,
                                      batch[i].payload, NULL),
                         0);

    char *fast_text = chain_content(f->db, "inst_a");
    char *slow_text = chain_content(slow, "inst_a");
    assert_string_equal(fast_text, slow_text);
    free(fast_text);
    free(slow_text);
    assert_rows_hash_as_documented(f->db, "inst_a", 7);
    assert_rows_hash_as_documented(slow, "inst_a", 7);
    assert_intact(f->db, "inst_a", 7);

    /* An empty batch does nothing; the checks run before anything is written. */
    assert_int_equal(audit_append_many(aw, "inst_a", "system", NULL, 0, NULL), 0);
    json_t *raw = json_pack("{s:s}", "name", "Jane");
    struct audit_entry bad[] = {{AUDIT_DECISION, "id_1", p3}, {AUDIT_SCREENING, "id_1", raw}};
    assert_int_equal(audit_append_many(aw, "inst_a", "system", bad, 2, NULL), CAPP_EINVAL);
    bad[1] = (struct audit_entry){AUDIT_DECISION, "bad id", p3};
    assert_int_equal(audit_append_many(aw, "inst_a", "system", bad, 2, NULL), CAPP_EINVAL);
    assert_int_equal(audit_append_many(aw, "inst_a", "", bad, 1, NULL), CAPP_EINVAL);
    struct audit_writer *none = aw;
    assert_int_equal(audit_writer_new(NULL, &none), CAPP_EINVAL);
    assert_null(none);
    assert_int_equal(seq_of(f->db, "inst_a"), 7);
    json_decref(raw);

    /* A batch is all or none: a too-big second record keeps the first out too, inside the
     * caller's transaction as well as in the writer's own. */
    char *big_text = malloc(AUDIT_MAX_PAYLOAD_BYTES + 2);
    memset(big_text, 'x', AUDIT_MAX_PAYLOAD_BYTES + 1);
    big_text[AUDIT_MAX_PAYLOAD_BYTES + 1] = '\0';
    json_t *big = payload_of("note", big_text);
    free(big_text);
    struct audit_entry too_big[] = {{AUDIT_DECISION, "id_1", p3}, {AUDIT_DECISION, "id_1", big}};
    assert_int_equal(audit_append_many(aw, "inst_a", "system", too_big, 2, NULL), CAPP_ETOOBIG);
    assert_int_equal(sql_begin(f->db), 0);
    assert_int_equal(audit_append_many(aw, "inst_a", "system", too_big, 2, NULL), CAPP_ETOOBIG);
    assert_int_equal(audit_append_many(aw, "inst_a", "system", too_big, 1, &last), 0);
    assert_int_equal(sql_commit(f->db), 0);
    assert_int_equal(last, 8);
    json_decref(big);
    assert_rows_hash_as_documented(f->db, "inst_a", 8);
    assert_intact(f->db, "inst_a", 8);

    json_decref(p1);
    json_decref(p2);
    json_decref(p3);
    audit_writer_free(aw);
    audit_writer_free(NULL);
    sql_close(slow);
}

/* audit_writer_no_savepoint: inside the caller's transaction a failed batch is not undone on
 * its own (the caller rolls back), large batches chain exactly as with the savepoint, and
 * outside a transaction a batch is still all or none. */
static void test_writer_without_savepoint(void **state)
{
    struct fixture *f = *state;
    struct audit_writer *aw = NULL;
    assert_int_equal(audit_writer_new(f->db, &aw), 0);
    audit_writer_no_savepoint(aw);
    audit_writer_no_savepoint(NULL);
    json_t *p = payload_of("note", "ok");
    char *big_text = malloc(AUDIT_MAX_PAYLOAD_BYTES + 2);
    memset(big_text, 'x', AUDIT_MAX_PAYLOAD_BYTES + 1);
    big_text[AUDIT_MAX_PAYLOAD_BYTES + 1] = '\0';
    json_t *big = payload_of("note", big_text);
    free(big_text);
    struct audit_entry too_big[] = {{AUDIT_DECISION, "id_1", p}, {AUDIT_DECISION, "id_1", big}};
    /* own transaction: all or none */
    assert_int_equal(audit_append_many(aw, "inst_a", "system", too_big, 2, NULL), CAPP_ETOOBIG);
    assert_int_equal(seq_of(f->db, "inst_a"), 0);
    /* the caller's: on SQLite the first record is in its transaction until it rolls back; on
     * PostgreSQL the batch is one INSERT, sent only once every record is built, so nothing is */
    assert_int_equal(sql_begin(f->db), 0);
    assert_int_equal(audit_append_many(aw, "inst_a", "system", too_big, 2, NULL), CAPP_ETOOBIG);
    assert_int_equal(seq_of(f->db, "inst_a"), postgres(f) ? 0 : 1);
    sql_rollback(f->db);
    assert_int_equal(seq_of(f->db, "inst_a"), 0);
    /* 600 records in one transaction (the pipeline's batches), then verified */
    struct audit_entry many[300];
    for (size_t i = 0; i < 300; i++)
        many[i] = (struct audit_entry){AUDIT_WRITEBACK, "id_2", p};
    assert_int_equal(sql_begin(f->db), 0);
    int64_t last = 0;
    assert_int_equal(audit_append_many(aw, "inst_a", "system", many, 300, &last), 0);
    assert_int_equal(audit_append_many(aw, "inst_a", "system", many, 300, &last), 0);
    assert_int_equal(sql_commit(f->db), 0);
    assert_int_equal(last, 600);
    assert_rows_hash_as_documented(f->db, "inst_a", 600);
    assert_intact(f->db, "inst_a", 600);
    json_decref(p);
    json_decref(big);
    audit_writer_free(aw);
}

/* The writer keeps statements, never a tip: appends by another connection, a rolled-back
 * transaction and a tampered head between its calls are all seen. */
static void test_writer_never_uses_stale_tip(void **state)
{
    struct fixture *f = *state;
    struct sql_conn *other = NULL;
    assert_int_equal(sql_open(f->target, &other), 0);
    struct audit_writer *aw = NULL;
    assert_int_equal(audit_writer_new(f->db, &aw), 0);
    json_t *p = payload_of("note", "n");
    struct audit_entry two[] = {{AUDIT_DECISION, "id_1", p}, {AUDIT_DECISION, "id_2", p}};
    int64_t last = 0;

    assert_int_equal(audit_append_many(aw, "inst_a", "system", two, 2, &last), 0);
    assert_int_equal(last, 2);
    /* another connection appends in between */
    assert_int_equal(append(other, "inst_a", AUDIT_STATUS_CHANGE, "id_1", "other"), 3);
    assert_int_equal(audit_append_many(aw, "inst_a", "system", two, 2, &last), 0);
    assert_int_equal(last, 5);

    /* the caller's transaction rolls back after the writer appended in it */
    assert_int_equal(sql_begin(f->db), 0);
    assert_int_equal(audit_append_many(aw, "inst_a", "system", two, 2, &last), 0);
    assert_int_equal(last, 7);
    sql_rollback(f->db);
    assert_int_equal(append(other, "inst_a", AUDIT_STATUS_CHANGE, "id_1", "other"), 6);
    assert_int_equal(audit_writer_append(aw, "inst_a", "system", AUDIT_DECISION, "id_1", p, &last),
                     0);
    assert_int_equal(last, 7);

    /* a savepoint of the caller rolled back between two of the writer's appends */
    assert_int_equal(sql_begin(f->db), 0);
    exec_ok(f->db, "SAVEPOINT caller");
    assert_int_equal(audit_append_many(aw, "inst_a", "system", two, 2, &last), 0);
    exec_ok(f->db, "ROLLBACK TO caller");
    exec_ok(f->db, "RELEASE caller");
    assert_int_equal(audit_append_many(aw, "inst_a", "system", two, 1, &last), 0);
    assert_int_equal(last, 8);
    assert_int_equal(sql_commit(f->db), 0);
    assert_rows_hash_as_documented(f->db, "inst_a", 8);
    assert_intact(f->db, "inst_a", 8);

    /* a log extended around the triggers: the writer refuses, as audit_append does */
    drop_triggers(other);
    exec_ok(other, "INSERT INTO kyc_audit_log SELECT installed_app_id, seq + 1, ts, actor, kind,"
                   " identity_id, payload, hash, hash FROM kyc_audit_log WHERE seq = 8");
    assert_int_equal(audit_append_many(aw, "inst_a", "system", two, 2, NULL), CAPP_ECONFLICT);
    assert_int_equal(seq_of(f->db, "inst_a"), 9);

    json_decref(p);
    audit_writer_free(aw);
    sql_close(other);
}

#define THREADS            8
#define APPENDS_PER_THREAD 40

struct worker {
    const char *target;
    int index;
    int failures;
};

static void *append_worker(void *arg)
{
    struct worker *w = arg;
    struct sql_conn *db = NULL;
    if (sql_open(w->target, &db) != 0) {
        w->failures++;
        return NULL;
    }
    /* odd threads append through a writer (cached statements, tip read per call) */
    struct audit_writer *aw = NULL;
    if (w->index % 2 && audit_writer_new(db, &aw) != 0)
        w->failures++;
    for (int i = 0; i < APPENDS_PER_THREAD; i++) {
        json_t *payload = json_pack("{s:i, s:i}", "thread", w->index, "i", i);
        const char *install = i % 4 == 0 ? "inst_b" : "inst_a";
        int rc =
            aw ? audit_writer_append(aw, install, "system", AUDIT_STATUS_CHANGE, "id_1", payload,
                                     NULL)
               : audit_append(db, install, "system", AUDIT_STATUS_CHANGE, "id_1", payload, NULL);
        if (rc != 0)
            w->failures++;
        json_decref(payload);
    }
    audit_writer_free(aw);
    sql_close(db);
    return NULL;
}

static void test_concurrent_appends(void **state)
{
    struct fixture *f = *state;
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){f->target, i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, append_worker, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    int64_t per_b = THREADS * (APPENDS_PER_THREAD / 4);
    int64_t per_a = THREADS * APPENDS_PER_THREAD - per_b;
    struct audit_report report;
    assert_int_equal(audit_verify(f->db, NULL, &report), 0);
    assert_int_equal(report.count, 2);
    assert_int_equal(report.tampered, 0);
    assert_int_equal(report.installs[0].records, per_a);
    assert_int_equal(report.installs[0].head_seq, per_a);
    assert_int_equal(report.installs[1].records, per_b);
    audit_report_free(&report);
    /* No gaps and no duplicates: seq runs 1..n in each install. */
    struct sql_stmt *stmt = NULL;
    assert_int_equal(sql_prepare(f->db,
                                 "SELECT installed_app_id, count(*), min(seq), max(seq) FROM"
                                 " kyc_audit_log GROUP BY 1 ORDER BY 1",
                                 &stmt),
                     0);
    for (int i = 0; i < 2; i++) {
        int64_t n = i == 0 ? per_a : per_b;
        assert_int_equal(sql_step(stmt), 1);
        assert_int_equal(sql_column_int64(stmt, 1), n);
        assert_int_equal(sql_column_int64(stmt, 2), 1);
        assert_int_equal(sql_column_int64(stmt, 3), n);
    }
    sql_finalize(stmt);
}

/* Two connections (two server sessions on PostgreSQL, two replicas in production) append to
 * ONE install. The first holds its transaction open after appending, as the pipeline does
 * with a batch: the second must wait for it and continue after its record, not read the same
 * tip and take the same seq (the chain lock), and the chain must verify. Then both append in
 * a loop, in transactions of their own and inside a caller's, through a writer as the
 * pipeline does. */
struct racer {
    const char *target;
    int first;     /* 1: holds its first transaction open until the other has started */
    sem_t *opened; /* posted by the first once its record is in its open transaction */
    sem_t *joined; /* posted by the second once its first record is in */
    int64_t first_seq;
    int failures;
};

#define RACE_ROUNDS 25

static void *race_worker(void *arg)
{
    struct racer *r = arg;
    struct sql_conn *db = NULL;
    struct audit_writer *aw = NULL;
    if (sql_open(r->target, &db) != 0 || audit_writer_new(db, &aw) != 0) {
        r->failures++;
        sem_post(r->first ? r->opened : r->joined);
        sql_close(db);
        return NULL;
    }
    json_t *p = json_pack("{s:b}", "first", r->first);
    if (r->first) {
        r->failures += sql_begin(db) != 0;
        r->failures += audit_writer_append(aw, "inst_a", "system", AUDIT_DECISION, "id_1", p,
                                           &r->first_seq) != 0;
        sem_post(r->opened);
        ts_sleep_ms(300); /* the other one appends meanwhile */
        r->failures += sql_commit(db) != 0;
        sem_wait(r->joined);
    } else {
        sem_wait(r->opened);
        r->failures +=
            audit_append(db, "inst_a", "system", AUDIT_DECISION, "id_2", p, &r->first_seq) != 0;
        sem_post(r->joined);
    }
    struct audit_entry batch[] = {{AUDIT_STATUS_CHANGE, "id_1", p}, {AUDIT_WRITEBACK, "id_1", p}};
    for (int i = 0; i < RACE_ROUNDS; i++) {
        int rc;
        if (i % 2) {
            rc = sql_begin(db);
            if (rc == 0)
                rc = audit_append_many(aw, "inst_a", "system", batch, 2, NULL);
            rc = rc ? rc : sql_commit(db);
            if (rc)
                sql_rollback(db);
        } else {
            rc = audit_append(db, "inst_a", "system", AUDIT_ALERT, "id_2", p, NULL);
        }
        r->failures += rc != 0;
    }
    json_decref(p);
    audit_writer_free(aw);
    sql_close(db);
    return NULL;
}

static void test_one_chain_across_connections(void **state)
{
    struct fixture *f = *state;
    sem_t opened, joined;
    assert_int_equal(sem_init(&opened, 0, 0), 0);
    assert_int_equal(sem_init(&joined, 0, 0), 0);
    struct racer racers[2] = {{f->target, 1, &opened, &joined, 0, 0},
                              {f->target, 0, &opened, &joined, 0, 0}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, race_worker, &racers[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    sem_destroy(&opened);
    sem_destroy(&joined);
    assert_int_equal(racers[0].failures, 0);
    assert_int_equal(racers[1].failures, 0);
    /* the second waited for the first's commit and chained after it */
    assert_int_equal(racers[0].first_seq, 1);
    assert_int_equal(racers[1].first_seq, 2);
    int64_t per_thread = 1 + RACE_ROUNDS / 2 * 2 + (RACE_ROUNDS + 1) / 2;
    assert_int_equal(seq_of(f->db, "inst_a"), 2 * per_thread);
    assert_rows_hash_as_documented(f->db, "inst_a", 2 * per_thread);
    assert_intact(f->db, "inst_a", 2 * per_thread);
}

/* Two replicas starting at once against a new database: both migrate the audit, review and
 * reviewer components (PostgreSQL: under sql_migrate's advisory lock), each step is applied
 * once, and the tables work. */
struct migrator {
    const char *target;
    pthread_barrier_t *go;
    int rc;
};

static void *migrate_worker(void *arg)
{
    struct migrator *m = arg;
    struct sql_conn *db = NULL;
    int rc = sql_open(m->target, &db);
    pthread_barrier_wait(m->go);
    if (rc == 0)
        rc = review_migrate(db);
    if (rc == 0)
        rc = reviewers_migrate(db);
    m->rc = rc;
    sql_close(db);
    return NULL;
}

static void test_two_replicas_migrate_at_once(void **state)
{
    struct fixture *f = *state;
    char target[700];
    engine_kit_db(f->dir, "audit_fresh", target, sizeof target);
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
    struct migrator m[2] = {{target, &go, -1}, {target, &go, -1}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, migrate_worker, &m[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&go);
    assert_int_equal(m[0].rc, 0);
    assert_int_equal(m[1].rc, 0);
    struct sql_conn *db = NULL;
    assert_int_equal(sql_open(target, &db), 0);
    struct sql_stmt *stmt = NULL;
    assert_int_equal(sql_prepare(db,
                                 "SELECT component, count(*), max(version) FROM schema_migrations"
                                 " WHERE component IN ('kyc_audit', 'kyc_review', 'kyc_reviewers')"
                                 " GROUP BY component ORDER BY component",
                                 &stmt),
                     0);
    const char *components[] = {"kyc_audit", "kyc_review", "kyc_reviewers"};
    const int64_t versions[] = {3, 4, 1};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sql_step(stmt), 1);
        assert_string_equal(sql_column_text(stmt, 0), components[i]);
        assert_int_equal(sql_column_int64(stmt, 1), versions[i]); /* each step once */
        assert_int_equal(sql_column_int64(stmt, 2), versions[i]);
    }
    assert_int_equal(sql_step(stmt), 0);
    sql_finalize(stmt);
    assert_int_equal(append(db, "inst_a", AUDIT_DECISION, "id_1", "after"), 1);
    assert_intact(db, "inst_a", 1);
    sql_close(db);
}

/* ---- append-only and tampering ---------------------------------------------------------- */

/* The statements the triggers refuse; each one runs once the triggers are dropped, so the
 * refusal is theirs and not the statement's. */
static const char *const refused_sql[] = {
    "UPDATE kyc_audit_log SET payload = '{}' WHERE seq = 3",
    "UPDATE kyc_audit_head SET seq = 4",
    "DELETE FROM kyc_audit_log WHERE seq = 3",
    "DELETE FROM kyc_audit_log",
    "DELETE FROM kyc_audit_head",
};
#define OUT_OF_ORDER(seq)                                                                          \
    "INSERT INTO kyc_audit_log VALUES ('inst_a', " #seq ", 't', 'a', 'alert', NULL, '{}', '" ZEROS \
    "', 'h')"

static void exec_refused(struct sql_conn *db, const char *sql)
{
    if (sql_exec(db, sql) == 0)
        fail_msg("SQL was accepted: %s", sql);
}

static void test_triggers_refuse_update_delete(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    for (size_t i = 0; i < sizeof refused_sql / sizeof refused_sql[0]; i++)
        exec_refused(f->db, refused_sql[i]);
    if (postgres(f)) /* row triggers do not see TRUNCATE there */
        exec_refused(f->db, "TRUNCATE kyc_audit_log, kyc_audit_head");
    /* Hand-made inserts must continue the chain exactly; the refusal is a constraint error on
     * both engines, which the append path reads as "another append took the position". */
    assert_int_equal(sql_exec(f->db, OUT_OF_ORDER(7)), CAPP_EEXIST);
    assert_int_equal(sql_exec(f->db, OUT_OF_ORDER(6)), CAPP_EEXIST);
    assert_int_equal(count_rows(f->db), 5);
    struct audit_report report;
    assert_int_equal(verify_one(f->db, "inst_a", &report)->brk, AUDIT_INTACT);
    audit_report_free(&report);

    drop_triggers(f->db);
    exec_ok(f->db, OUT_OF_ORDER(7));
    for (size_t i = 0; i < sizeof refused_sql / sizeof refused_sql[0]; i++)
        exec_ok(f->db, refused_sql[i]);
    assert_int_equal(count_rows(f->db), 0);
}

/* The head row's seq and hash (test helper). */
static int64_t head_of(struct sql_conn *db, char hash[AUDIT_HASH_HEX_BYTES])
{
    struct sql_stmt *stmt = NULL;
    assert_int_equal(
        sql_prepare(db, "SELECT seq, hash FROM kyc_audit_head WHERE installed_app_id = 'inst_a'",
                    &stmt),
        0);
    assert_int_equal(sql_step(stmt), 1);
    int64_t seq = sql_column_int64(stmt, 0);
    sql_column_copy(stmt, 1, hash, AUDIT_HASH_HEX_BYTES);
    sql_finalize(stmt);
    return seq;
}

/* Several records in one INSERT (how PostgreSQL appends a batch): accepted when each follows
 * the one before it, the head moved to the last; refused whole when any link or seq is off;
 * the head moves forward only onto a logged record. Fails on PostgreSQL's row triggers, which
 * checked every row against a head moved only at the end of the statement. */
static void test_multi_row_insert_chain(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    char h5[AUDIT_HASH_HEX_BYTES], hash[AUDIT_HASH_HEX_BYTES], sql[1024];
    assert_int_equal(head_of(f->db, h5), 5);
    /* each case: three rows (seq, prev_hash, hash); "H5" stands for the head's hash */
    static const struct {
        int64_t seq[3];
        const char *prev[3], *hash[3];
        int ok;
    } cases[] = {
        {{6, 7, 8}, {"H5", "wrong", "x7"}, {"x6", "x7", "x8"}, 0}, /* second link off */
        {{6, 8, 9}, {"H5", "x6", "x8"}, {"x6", "x8", "x9"}, 0},    /* gap */
        {{6, 6, 7}, {"H5", "x6", "x6"}, {"x6", "x6", "x7"}, 0},    /* one seq twice */
        {{7, 8, 9}, {"H5", "x7", "x8"}, {"x7", "x8", "x9"}, 0},    /* does not follow the head */
        {{6, 7, 8}, {"H5", "x6", "x7"}, {"x6", "x7", "x8"}, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int len = snprintf(sql, sizeof sql, "INSERT INTO kyc_audit_log VALUES ");
        for (int r = 0; r < 3; r++)
            len += snprintf(sql + len, sizeof sql - (size_t)len,
                            "%s('inst_a', %lld, 't', 'a', 'alert', NULL, '{}', '%s', '%s')",
                            r ? "," : "", (long long)cases[c].seq[r],
                            strcmp(cases[c].prev[r], "H5") == 0 ? h5 : cases[c].prev[r],
                            cases[c].hash[r]);
        assert_int_equal(sql_exec(f->db, sql), cases[c].ok ? 0 : CAPP_EEXIST);
        assert_int_equal(count_rows(f->db), cases[c].ok ? 8 : 5);
        assert_int_equal(head_of(f->db, hash), cases[c].ok ? 8 : 5);
    }
    assert_string_equal(hash, "x8");
    /* not forward, or not onto a logged record (seq 10 does not exist; SQLite's head moves by
     * one at a time, PostgreSQL's only onto a record of the log) */
    exec_refused(f->db, "UPDATE kyc_audit_head SET seq = 10, hash = 'x10'");
    exec_refused(f->db, "UPDATE kyc_audit_head SET seq = 7, hash = 'x7'");
    if (postgres(f))
        exec_refused(f->db, "UPDATE kyc_audit_head SET seq = 9, hash = 'x9'");
    assert_int_equal(head_of(f->db, hash), 8);
}

static void test_tamper_payload_edited(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    drop_triggers(f->db);
    exec_ok(f->db, "UPDATE kyc_audit_log SET payload = '{\"note\":\"reject\"}' WHERE seq = 3");
    assert_break(f->db, "inst_a", AUDIT_BREAK_HASH, 3);
}

static void test_tamper_identity_nulled(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    drop_triggers(f->db);
    exec_ok(f->db, "UPDATE kyc_audit_log SET identity_id = NULL WHERE seq = 2");
    assert_break(f->db, "inst_a", AUDIT_BREAK_HASH, 2);
}

static void test_tamper_row_deleted(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    drop_triggers(f->db);
    exec_ok(f->db, "DELETE FROM kyc_audit_log WHERE seq = 3");
    assert_break(f->db, "inst_a", AUDIT_BREAK_GAP, 3);
}

static void test_tamper_first_row_deleted(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    drop_triggers(f->db);
    exec_ok(f->db, "DELETE FROM kyc_audit_log WHERE seq = 1");
    assert_break(f->db, "inst_a", AUDIT_BREAK_GAP, 1);
}

static void test_tamper_tail_deleted(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    drop_triggers(f->db);
    exec_ok(f->db, "DELETE FROM kyc_audit_log WHERE seq >= 4");
    assert_break(f->db, "inst_a", AUDIT_BREAK_HEAD, 4);
    /* Appending on a truncated chain is refused rather than papering over the hole. */
    json_t *payload = payload_of("k", "v");
    assert_int_equal(audit_append(f->db, "inst_a", "system", AUDIT_ALERT, NULL, payload, NULL),
                     CAPP_ECONFLICT);
    json_decref(payload);
}

static void test_tamper_head_deleted(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    drop_triggers(f->db);
    exec_ok(f->db, "DELETE FROM kyc_audit_head");
    assert_break(f->db, "inst_a", AUDIT_BREAK_HEAD, 1);
}

static void test_tamper_row_inserted_naive(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    drop_triggers(f->db);
    /* A forged record at the end, linked correctly but with a made-up hash. */
    exec_ok(f->db, "INSERT INTO kyc_audit_log SELECT installed_app_id, 6, ts, actor, kind,"
                   " identity_id, '{\"note\":\"forged\"}', hash, hash FROM kyc_audit_log"
                   " WHERE seq = 5");
    assert_break(f->db, "inst_a", AUDIT_BREAK_HASH, 6);
}

static void test_tamper_row_inserted_hashed(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    drop_triggers(f->db);
    /* Correctly hashed at the end, but the head was not moved. */
    exec_ok(f->db, "INSERT INTO kyc_audit_log SELECT installed_app_id, 6, ts, actor, kind,"
                   " identity_id, '{\"note\":\"forged\"}', hash, '' FROM kyc_audit_log"
                   " WHERE seq = 5");
    rehash_row(f->db, "inst_a", 6);
    assert_break(f->db, "inst_a", AUDIT_BREAK_HEAD, 6);
}

static void test_tamper_row_inserted_middle(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    drop_triggers(f->db);
    /* Shift seq 3.. up by one and slip a correctly hashed record in at 3. */
    exec_ok(f->db, "UPDATE kyc_audit_log SET seq = seq + 100 WHERE seq >= 3;"
                   "UPDATE kyc_audit_log SET seq = seq - 99 WHERE seq >= 100;"
                   "UPDATE kyc_audit_head SET seq = 6;"
                   "INSERT INTO kyc_audit_log SELECT installed_app_id, 3, ts, actor, 'decision',"
                   " 'id_1', '{\"note\":\"forged\"}', hash, '' FROM kyc_audit_log WHERE seq = 2");
    rehash_row(f->db, "inst_a", 3);
    /* Seq 3 is self-consistent; the record after it still points back at seq 2. */
    assert_break(f->db, "inst_a", AUDIT_BREAK_REORDER, 4);
}

static void test_tamper_hash_recomputed(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    drop_triggers(f->db);
    exec_ok(f->db, "UPDATE kyc_audit_log SET payload = '{\"note\":\"reject\"}' WHERE seq = 3");
    rehash_row(f->db, "inst_a", 3);
    assert_break(f->db, "inst_a", AUDIT_BREAK_LINK, 4);
}

static void test_tamper_reordered(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    drop_triggers(f->db);
    exec_ok(f->db, "UPDATE kyc_audit_log SET seq = 100 WHERE seq = 2;"
                   "UPDATE kyc_audit_log SET seq = 2 WHERE seq = 3;"
                   "UPDATE kyc_audit_log SET seq = 3 WHERE seq = 100;");
    assert_break(f->db, "inst_a", AUDIT_BREAK_REORDER, 2);
}

static void test_tamper_last_row_rewritten(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    drop_triggers(f->db);
    exec_ok(f->db, "UPDATE kyc_audit_log SET payload = '{\"note\":\"rejected\"}' WHERE seq = 5");
    rehash_row(f->db, "inst_a", 5);
    assert_break(f->db, "inst_a", AUDIT_BREAK_HEAD, 5);
}

/* ---- history and dossier ---------------------------------------------------------------- */

struct collected {
    int64_t seqs[16];
    size_t n;
};

static int collect(const struct audit_record *rec, void *ctx)
{
    struct collected *c = ctx;
    assert_string_equal(rec->identity_id, "id_1");
    c->seqs[c->n++] = rec->seq;
    return c->n == 2 ? 7 : 0; /* stop after two to check early stopping */
}

static void test_history(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    append(f->db, "inst_b", AUDIT_DECISION, "id_1", "other install");
    struct collected c = {{0}, 0};
    assert_int_equal(audit_history(f->db, "inst_a", "id_1", collect, &c), 7);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.seqs[0], 2);
    assert_int_equal(c.seqs[1], 3);
    assert_int_equal(audit_history(f->db, "inst_a", "bad id", collect, &c), CAPP_EINVAL);
    c.n = 0;
    assert_int_equal(audit_history(f->db, "inst_a", "id_9", collect, &c), 0);
    assert_int_equal(c.n, 0);
}

static void test_dossier_json(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    json_t *extra = json_pack("{s:{s:s}, s:s}", "current", "status", "verified", "records", "no");
    char *text = NULL;
    assert_int_equal(audit_dossier_json(f->db, "inst_a", "id_1", extra, &text), 0);
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "installed_app_id")), "inst_a");
    assert_string_equal(json_string_value(json_object_get(doc, "identity_id")), "id_1");
    assert_true(json_is_rfc3339_utc(json_string_value(json_object_get(doc, "exported_at"))));
    assert_int_equal(json_integer_value(json_object_get(doc, "record_count")), 3);
    assert_true(json_is_false(json_object_get(doc, "truncated")));
    json_t *records = json_object_get(doc, "records");
    assert_true(json_is_array(records)); /* the caller's "records" did not replace ours */
    assert_int_equal(json_array_size(records), 3);
    int64_t want[] = {2, 3, 5};
    for (size_t i = 0; i < 3; i++) {
        json_t *r = json_array_get(records, i);
        assert_int_equal(json_integer_value(json_object_get(r, "seq")), want[i]);
        assert_non_null(json_string_value(json_object_get(r, "ts")));
        assert_string_equal(json_string_value(json_object_get(r, "actor")), "user_1");
        assert_true(json_is_object(json_object_get(r, "payload")));
        assert_int_equal(strlen(json_string_value(json_object_get(r, "hash"))), 64);
        assert_int_equal(strlen(json_string_value(json_object_get(r, "prev_hash"))), 64);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(records, 1), "kind")),
                        "decision");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(records, 1), "payload"), "note")),
                        "approve");
    json_t *chain = json_object_get(doc, "chain");
    assert_true(json_is_true(json_object_get(chain, "intact")));
    assert_string_equal(json_string_value(json_object_get(chain, "break")), "intact");
    assert_int_equal(json_integer_value(json_object_get(chain, "head_seq")), 5);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "current"), "status")), "verified");
    /* Sorted keys, compact. */
    assert_non_null(strstr(text, "{\"chain\":{\"bad_seq\":0,"));
    json_decref(doc);
    free(text);

    /* A tampered install shows up in its dossiers. */
    drop_triggers(f->db);
    exec_ok(f->db, "UPDATE kyc_audit_log SET payload = 'not json' WHERE seq = 3");
    assert_int_equal(audit_dossier_json(f->db, "inst_a", "id_1", NULL, &text), 0);
    doc = json_loads(text, 0, NULL);
    chain = json_object_get(doc, "chain");
    assert_true(json_is_false(json_object_get(chain, "intact")));
    assert_string_equal(json_string_value(json_object_get(chain, "break")), "hash_mismatch");
    assert_int_equal(json_integer_value(json_object_get(chain, "bad_seq")), 3);
    json_t *edited = json_array_get(json_object_get(doc, "records"), 1);
    assert_string_equal(json_string_value(json_object_get(edited, "payload_text")), "not json");
    json_decref(doc);
    free(text);
    json_t *not_object = json_array();
    assert_int_equal(audit_dossier_json(f->db, "inst_a", "id_1", not_object, &text), CAPP_EINVAL);
    json_decref(not_object);
    json_decref(extra);
}

/* ---- the real binary -------------------------------------------------------------------- */

/* Runs `kyc` with args; stdout and stderr both land in out (a malloc'd string). */
static int run_kyc(const struct fixture *f, const char *const *args, char **out)
{
    char binary[512], log_path[700];
    ts_binary("kyc", binary, sizeof binary);
    snprintf(log_path, sizeof log_path, "%s/cli.out", f->dir);
    const char *argv[16] = {binary};
    size_t n = 1;
    for (; args[n - 1]; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    *out = ts_read_file(log_path, NULL);
    assert_non_null(*out);
    return WEXITSTATUS(status);
}

static void assert_output(const char *out, const char *needle)
{
    if (!strstr(out, needle))
        fail_msg("output lacks '%s':\n%s", needle, out);
}

static void test_cli_verify(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    append(f->db, "inst_b", AUDIT_DECISION, "id_1", "b");
    char *out = NULL;

    const char *all[] = {"audit", "verify", "--db", f->target, NULL};
    assert_int_equal(run_kyc(f, all, &out), 0);
    assert_output(out, "audit: install inst_a: intact, 5 records, head seq 5 sha256 ");
    assert_output(out, "audit: install inst_b: intact, 1 records");
    free(out);

    drop_triggers(f->db);
    exec_ok(f->db, "UPDATE kyc_audit_log SET payload = '{}' WHERE installed_app_id = 'inst_a'"
                   " AND seq = 3");
    assert_int_equal(run_kyc(f, all, &out), 1);
    assert_output(out, "audit: install inst_a: TAMPERED at seq 3: hash_mismatch: ");
    assert_output(out, "audit: install inst_b: intact");
    free(out);

    const char *only_b[] = {"audit", "verify", "--db", f->target, "--install", "inst_b", NULL};
    assert_int_equal(run_kyc(f, only_b, &out), 0);
    assert_true(strstr(out, "inst_a") == NULL);
    free(out);

    exec_ok(f->db, "DELETE FROM kyc_audit_log WHERE installed_app_id = 'inst_b'");
    assert_int_equal(run_kyc(f, only_b, &out), 1);
    assert_output(out, "audit: install inst_b: TAMPERED at seq 1: head_mismatch: ");
    free(out);

    /* Usage and I/O errors exit 2 with a line naming the problem. */
    const char *no_db[] = {"audit", "verify", NULL};
    assert_int_equal(run_kyc(f, no_db, &out), 2);
    assert_output(out, "--db PATH|URL is required");
    free(out);
    char missing[700];
    snprintf(missing, sizeof missing, "%s/missing.db", f->dir);
    const char *absent[] = {"audit", "verify", "--db", missing, NULL};
    assert_int_equal(run_kyc(f, absent, &out), 2);
    assert_output(out, "cannot open");
    assert_output(out, missing);
    free(out);
    char empty[700];
    snprintf(empty, sizeof empty, "%s/empty.db", f->dir);
    struct sql_conn *other = NULL;
    assert_int_equal(sql_open(empty, &other), 0);
    exec_ok(other, "CREATE TABLE t(x)");
    sql_close(other);
    const char *no_log[] = {"audit", "verify", "--db", empty, NULL};
    assert_int_equal(run_kyc(f, no_log, &out), 2);
    assert_output(out, "holds no audit log");
    free(out);
    /* --db has kyc serve's limits (sql_check_target): refused before anything is opened */
    const char *empty_db[] = {"audit", "verify", "--db", "", NULL};
    assert_int_equal(run_kyc(f, empty_db, &out), 2);
    assert_output(out, "kyc audit: --db is empty");
    free(out);
    char long_db[CAPP_MAX_DB_TARGET_BYTES + 2];
    memset(long_db, 'x', sizeof long_db - 1);
    memcpy(long_db, "dbname=", 7);
    long_db[sizeof long_db - 1] = '\0';
    const char *too_long[] = {"audit", "verify", "--db", long_db, NULL};
    assert_int_equal(run_kyc(f, too_long, &out), 2);
    assert_output(out, "kyc audit: --db is 4097 bytes long; at most 4096 are accepted");
    assert_true(strstr(out, "xxxxxxxx") == NULL);
    free(out);
    const char *bad_sub[] = {"audit", "frobnicate", NULL};
    assert_int_equal(run_kyc(f, bad_sub, &out), 2);
    assert_output(out, "unknown subcommand 'frobnicate'");
    free(out);
    const char *bad_opt[] = {"audit", "verify", "--db", f->target, "--bogus", "x", NULL};
    assert_int_equal(run_kyc(f, bad_opt, &out), 2);
    assert_output(out, "unknown option '--bogus'");
    free(out);
    const char *bad_id[] = {"audit", "verify", "--db", f->target, "--install", "a b", NULL};
    assert_int_equal(run_kyc(f, bad_id, &out), 2);
    assert_output(out, "--install 'a b' is not a valid id");
    free(out);
}

static void test_cli_export(void **state)
{
    struct fixture *f = *state;
    seed_five(f->db);
    char *out = NULL;
    const char *args[] = {"audit",  "export",     "--db", f->target, "--install",
                          "inst_a", "--identity", "id_1", NULL};
    assert_int_equal(run_kyc(f, args, &out), 0);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "records")), 3);
    assert_true(json_is_true(json_object_get(json_object_get(doc, "chain"), "intact")));
    json_decref(doc);
    free(out);

    const char *unknown[] = {"audit",  "export",     "--db",   f->target, "--install",
                             "inst_a", "--identity", "id_404", NULL};
    assert_int_equal(run_kyc(f, unknown, &out), 2);
    assert_output(out, "no audit records for identity id_404 in install inst_a");
    free(out);
    const char *missing_identity[] = {"audit",     "export", "--db", f->target,
                                      "--install", "inst_a", NULL};
    assert_int_equal(run_kyc(f, missing_identity, &out), 2);
    assert_output(out, "export needs --install ID and --identity ID");
    free(out);

    drop_triggers(f->db);
    exec_ok(f->db, "DELETE FROM kyc_audit_log WHERE seq = 4");
    assert_int_equal(run_kyc(f, args, &out), 1);
    assert_output(out, "\"records\":[");
    assert_output(out, "chain is TAMPERED at seq 4: gap");
    free(out);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_and_verify_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_kind_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payload_is_canonical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_refuses_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chains_per_install_independent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_joins_caller_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_chain_across_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_replicas_migrate_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_matches_slow_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_never_uses_stale_tip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_triggers_refuse_update_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_row_insert_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_payload_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_identity_nulled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_row_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_first_row_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_tail_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_head_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_row_inserted_naive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_row_inserted_hashed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_row_inserted_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_hash_recomputed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_reordered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_last_row_rewritten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_without_savepoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dossier_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_export, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
