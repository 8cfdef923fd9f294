/*
 * audit.h — the KYC app's tamper-evident audit trail (kyc-domain.md §7).
 *
 * Every screening, status change, decision, configuration change, list load, write-back and
 * alert is one record in an append-only table of the app's database (SQLite or PostgreSQL,
 * capp/sql.h), in one hash chain PER INSTALL:
 *
 *   (installed_app_id, seq, ts, actor, kind, identity_id, payload, prev_hash, hash)
 *
 *   seq        1, 2, 3, ... with no gaps within an install
 *   ts         RFC 3339 UTC with milliseconds, taken at append time
 *   actor      the reviewer's account_id (kyc/reviewers.h; a V1 user_id in records written
 *              before accounts existed), or "system"
 *   kind       "screening" | "status_change" | "decision" | "config_change" | "list_load" |
 *              "writeback" | "alert | "identity_removed" | "lifecycle" | "reviewer"
 *   payload    canonical JSON text: compact, keys sorted (jansson JSON_SORT_KEYS|JSON_COMPACT)
 *   prev_hash  the previous record's hash; 64 zeros for seq 1
 *   hash       lowercase hex SHA-256 of a length-prefixed encoding of every field above plus
 *              prev_hash (see audit.c), so no two different records encode alike
 *
 * Screening payloads must never carry raw PII: they hold "input_sha256" (audit_input_hash of
 * the screened input) and the list versions. audit_append refuses a screening payload without
 * a well-formed "input_sha256".
 *
 * Append-only is enforced twice: triggers make UPDATE and DELETE of audit rows fail (and an
 * INSERT that does not continue the chain), and the hash chain makes any change that goes
 * around the triggers (dropping them) visible to audit_verify. A per-install head row (last seq
 * and hash, itself guarded by triggers) also exposes a removed or edited tail, which a chain
 * alone cannot. An attacker with write access who knows the scheme can still rewrite a whole
 * chain and its head consistently: publish the head hash that `kyc audit verify` prints
 * somewhere outside the database to anchor it.
 *
 * Connections: every function takes an open struct sql_conn* the caller owns (one per thread,
 * STYLE rule 7), after audit_migrate() has run on the database once. Appends to one install are
 * serialised on its chain (a lock taken first in the append's transaction, see audit.c), so
 * several threads, processes or replicas on one PostgreSQL database still write ONE chain.
 */
#ifndef KYC_AUDIT_H
#define KYC_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "capp/crypto.h"
#include "capp/limits.h"
#include "capp/sql.h"

/* Limits of what one record may hold; larger inputs are refused with CAPP_ETOOBIG. */
#define AUDIT_MAX_PAYLOAD_BYTES   (64 * 1024) /* canonical payload text */
#define AUDIT_MAX_ACTOR_BYTES     CAPP_MAX_ID_BYTES
#define AUDIT_MAX_DOSSIER_RECORDS 10000 /* records in one exported dossier; "truncated" beyond */

#define AUDIT_HASH_HEX_BYTES CRYPTO_SHA256_HEX_BYTES /* 64 hex + NUL */

enum audit_kind {
    AUDIT_SCREENING,
    AUDIT_STATUS_CHANGE,
    AUDIT_DECISION,
    AUDIT_CONFIG_CHANGE,
    AUDIT_LIST_LOAD,
    AUDIT_WRITEBACK,
    AUDIT_ALERT,
    AUDIT_IDENTITY_REMOVED,
    AUDIT_LIFECYCLE, /* an install or uninstall event the app refused or undid (forged) */
    AUDIT_REVIEWER,  /* reviewer accounts: created, enrolment codes, sign-ins, locks (D23′) */
};

/* "screening", "status_change", ...; NULL for a value outside the enum. */
const char *audit_kind_name(enum audit_kind kind);

/* Creates or upgrades the audit tables and triggers (migrations component "kyc_audit"). */
int audit_migrate(struct sql_conn *db);

/*
 * Appends one record to the chain of installed_app_id and writes its seq to *seq_out (may be
 * NULL). identity_id may be NULL (configuration changes, list loads); payload is a JSON object
 * (borrowed), stored in canonical form.
 *
 * Transactions: when the connection has no open transaction, the append runs in its own
 * transaction (sql_begin) and is committed before returning (retried when PostgreSQL reports a
 * deadlock). When the caller has one open (sql_begin), the record joins it (inside a
 * savepoint, so a failed append leaves the caller's transaction usable) and commits or rolls
 * back with the caller's work; the install's chain lock is then held until the caller's
 * transaction ends, so append last, after the caller's other writes.
 *
 * Errors: CAPP_EINVAL (bad id, actor, kind, payload not an object, screening payload without
 * input_sha256), CAPP_ETOOBIG (payload or actor too long), CAPP_ECONFLICT (the stored chain's
 * last record and its head disagree: the log was tampered with, run audit_verify), CAPP_EDB.
 */
int audit_append(struct sql_conn *db, const char *installed_app_id, const char *actor,
                 enum audit_kind kind, const char *identity_id, const json_t *payload,
                 int64_t *seq_out);

/*
 * The fast path for a thread that appends often (the pipeline): a writer appends through one
 * connection's cached statements, so an append parses no SQL, and audit_append_many extends a
 * chain by several records after one read of its tip.
 *
 * audit_writer_new: db is borrowed and must outlive the writer; the writer belongs to the
 * thread that owns db (STYLE rule 7). audit_writer_free (NULL-safe) must run before db is
 * closed. CAPP_EINVAL / CAPP_ENOMEM.
 *
 * No tip is remembered between calls: each call reads it inside its write transaction, so
 * appends by other connections or a rolled-back transaction in between cannot break the chain.
 * Records produced by the writer are byte-for-byte what audit_append would store.
 */
struct audit_writer;

int audit_writer_new(struct sql_conn *db, struct audit_writer **out);
void audit_writer_free(struct audit_writer *w);
/* For a caller that rolls its whole transaction back on any append error (the pipeline): the
 * appends made inside the caller's transaction skip the savepoint that would otherwise undo a
 * failed batch alone. With the savepoint open, SQLite journals every statement of the batch
 * into one growing sub-journal and walks it at each statement's end (quadratic in the batch);
 * without it each statement's journal starts empty. */
void audit_writer_no_savepoint(struct audit_writer *w);

/* One record of a batch; every pointer borrowed (as audit_append's arguments). */
struct audit_entry {
    enum audit_kind kind;
    const char *identity_id; /* may be NULL */
    const json_t *payload;   /* a JSON object */
};

/*
 * Appends entries[0..n) in order to installed_app_id's chain, all by actor, with one timestamp;
 * *last_seq_out (may be NULL) gets the seq of the last one. All or none: on any error no record
 * of the batch is kept. Transactions, errors and checks as audit_append; n == 0 does nothing.
 */
int audit_append_many(struct audit_writer *w, const char *installed_app_id, const char *actor,
                      const struct audit_entry *entries, size_t n, int64_t *last_seq_out);

/* audit_append through a writer's statements. */
int audit_writer_append(struct audit_writer *w, const char *installed_app_id, const char *actor,
                        enum audit_kind kind, const char *identity_id, const json_t *payload,
                        int64_t *seq_out);

/* SHA-256 (lowercase hex) of the canonical JSON of a screening input, for the "input_sha256"
 * field of a screening payload. CAPP_EINVAL when input is not JSON that can be serialised.
 * The hash is unkeyed: it proves which input was screened and keeps PII out of the log's text,
 * but someone who already guesses a name can confirm the guess by hashing it. */
int audit_input_hash(const json_t *input, char out[AUDIT_HASH_HEX_BYTES]);

/* One stored record; every pointer is borrowed and valid only during the callback. */
struct audit_record {
    const char *installed_app_id;
    int64_t seq;
    const char *ts;
    const char *actor;
    const char *kind;
    const char *identity_id; /* NULL when the record concerns no identity */
    const char *payload;     /* canonical JSON text */
    const char *prev_hash;
    const char *hash;
};

/* Called once per record; a nonzero return stops the walk and is returned by the walker. */
typedef int (*audit_record_fn)(const struct audit_record *record, void *ctx);

/* The records of one identity in an install, oldest first (for the identity page). Returns 0,
 * the callback's nonzero value, or CAPP_EINVAL / CAPP_EDB. */
int audit_history(struct sql_conn *db, const char *installed_app_id, const char *identity_id,
                  audit_record_fn fn, void *ctx);

enum audit_break {
    AUDIT_INTACT = 0,
    AUDIT_BREAK_HASH,    /* a record's content no longer matches its stored hash (edited) */
    AUDIT_BREAK_GAP,     /* a seq is missing (a record was deleted) */
    AUDIT_BREAK_LINK,    /* prev_hash is not the previous record's hash (a hash recomputed) */
    AUDIT_BREAK_REORDER, /* the record's prev_hash points to another position in the chain */
    AUDIT_BREAK_HEAD,    /* the head row disagrees with the last record: the log was truncated,
                            its last record rewritten, or records added around audit_append */
};

/* "intact", "hash_mismatch", "gap", "broken_link", "reordered", "head_mismatch". */
const char *audit_break_name(enum audit_break brk);

struct audit_install_report {
    char installed_app_id[CAPP_MAX_ID_BYTES + 1];
    int64_t records;  /* rows checked before the first break (all rows when intact) */
    int64_t head_seq; /* last seq of the chain (0 when empty) */
    char head_hash[AUDIT_HASH_HEX_BYTES];
    enum audit_break brk;
    int64_t bad_seq;  /* first seq at which the chain breaks (0 when intact) */
    char detail[192]; /* one line for humans, names what broke */
};

struct audit_report {
    struct audit_install_report *installs; /* owned; audit_report_free */
    size_t count;
    size_t tampered; /* installs with brk != AUDIT_INTACT */
};

/*
 * Recomputes every hash of one install's chain (installed_app_id) or of every install (NULL),
 * checking seq continuity, prev links and the head row, in one read snapshot. Returns 0 when
 * the check ran — whatever it found, see report->tampered — or CAPP_EINVAL / CAPP_ENOMEM /
 * CAPP_EDB. A named install without records gives one intact entry with records == 0.
 * The report is the caller's to release with audit_report_free (also after an error).
 */
int audit_verify(struct sql_conn *db, const char *installed_app_id, struct audit_report *report);
void audit_report_free(struct audit_report *report);

/*
 * One identity's dossier as compact JSON with sorted keys, into *out (caller frees):
 *
 *   {"installed_app_id": ..., "identity_id": ..., "exported_at": RFC 3339,
 *    "records": [{"seq", "ts", "actor", "kind", "payload": {...}, "prev_hash", "hash"}, ...],
 *    "record_count": n, "truncated": false,
 *    "chain": {"intact": true, "break": "intact", "bad_seq": 0, "head_seq": N,
 *              "head_hash": "...", "detail": "..."},
 *    ...keys of extra}
 *
 * extra (borrowed, may be NULL) is an object the caller merges in, e.g. {"current": result};
 * its keys never replace the ones above. At most AUDIT_MAX_DOSSIER_RECORDS records (the oldest)
 * are included; "truncated" says whether more exist. "chain" is audit_verify of the install.
 */
int audit_dossier_json(struct sql_conn *db, const char *installed_app_id, const char *identity_id,
                       const json_t *extra, char **out);

/*
 * `kyc audit ...` (argv[0] is "audit"):
 *   kyc audit verify --db PATH|URL [--install ID]
 *       exit 0 every chain intact, 1 tampered (one line per broken install naming the install,
 *       the seq and what broke), 2 usage or I/O error
 *   kyc audit export --db PATH|URL --install ID --identity ID
 *       prints the dossier JSON; exit 0, 1 when the install's chain is tampered (the dossier is
 *       still printed), 2 usage or I/O error or no records for that identity
 */
int audit_cli_main(int argc, char **argv);

#endif
