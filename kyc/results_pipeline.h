/*
 * results_pipeline.h — the results store as the screening pipeline writes it (kyc/pipeline*.c):
 * screened rows and their outbox work, the Cloud calls' completions, removed identities,
 * reviewer decisions, run records and list generations. The status state machine and the
 * outbox states are described in kyc/results.h.
 *
 * Transactions: functions documented as joining the caller's transaction do so when one is
 * open on the connection (results_begin), so the caller can add its audit records to the same
 * commit; the others are one transaction each.
 */
#ifndef KYC_RESULTS_PIPELINE_H
#define KYC_RESULTS_PIPELINE_H

#include "kyc/results.h"

/* One screened identity, ready to be stored. All strings borrowed. */
struct results_row {
    const char *identity_id;
    const char *fields_hash;   /* hash of the normalised screened fields */
    const char *lists_key;     /* list generation screened against ("" when none) */
    const char *display_name;  /* for name search; "" when tokenized */
    const char *identity_type; /* "individual" | "organization" */
    const char *name_tokens;   /* normalised name tokens joined by spaces ("" none) */
    const char *status;        /* computed status */
    const char *risk;
    double score;
    const char *reasons_json; /* JSON array text */
    const char *detail_json;  /* {"matches":[...],"findings":[...]} */
    const char *lists_json;   /* {"<source>":{"sha256","date"}} */
    const char *engine_version;
    const char *basis;       /* hash of computed status + reasons + matched entries */
    const char *alert_title; /* what an alert would say (no customer PII) */
    const char *alert_text;
    /* the identity's own fields for the reviewer (results_identity_fields; NULL: none). Customer
     * PII: stored scoped by install, never logged, never in an audit record or a payload. */
    const char *identity_json;
};

/* The fields a reviewer needs beside the checks, copied from a Blnk identity as compact JSON
 * text (caller frees): identity_type, dob (the date), nationality, country, street, city, state,
 * post_code, email_address, phone_number, created_at — strings only, empty ones left out — and
 * "tokenized": [names] for the values that are tokens ("FPT:" or flagged in
 * meta_data.tokenized_fields): those are kept as tokens, never detokenized, and shown as
 * "tokenized". NULL when out of memory. */
char *results_identity_fields(const json_t *identity);

struct results_snapshot_entry {
    char fields_hash[RESULTS_HASH_CAP];
    char lists_key[RESULTS_HASH_CAP];
    int removed; /* marked removed from Blnk (results_mark_removed) */
};

/* Rows the snapshot reads per query (pages keyed by identity id). */
#define RESULTS_SNAPSHOT_PAGE 2000

/* One stored identity's hashes: 0, or CAPP_ENOTFOUND when it is not stored. */
int results_snapshot_get(results_db *db, const char *installed_app_id, const char *identity_id,
                         struct results_snapshot_entry *e);

/* Calls fn for every stored identity of the install with its hashes (the change snapshot), in
 * identity id order. */
int results_snapshot_each(results_db *db, const char *installed_app_id,
                          int (*fn)(void *ctx, const char *identity_id,
                                    const struct results_snapshot_entry *e, const char *tokens),
                          void *ctx);

/* What a stored row now asks of the outbox (filled by results_store_rows per row). */
struct results_outbox_item {
    char identity_id[STORE_ID_CAP];
    int writeback;     /* 1: write payload */
    int alert_create;  /* 1: create an alert (state is now 'creating') */
    int alert_resolve; /* 1: resolve anomaly_id (state is now 'resolving') */
    char *payload;     /* the whole kyc object as JSON text (owned, free()) */
    char *alert_title; /* owned */
    char *alert_text;  /* owned */
    char anomaly_id[STORE_ID_CAP];
    /* the stored status this row changed (computed, or a decision overturned by a new basis):
     * status_from is "" when it stayed or the identity was not stored before */
    char status_from[RESULTS_STATUS_CAP];
    char status_to[RESULTS_STATUS_CAP];
    char check_id[40]; /* the new screening's check_id */
};
void results_outbox_item_clear(struct results_outbox_item *it);

struct results_write_options {
    const char *metadata_key; /* only for logging; the payload is the kyc object */
    int can_alert;            /* alerts:write granted: wanted → creating */
    int64_t now_ms;
};

/* Stores n screened rows in one transaction (the caller's, when one is open on db: then the
 * caller commits or rolls back, e.g. with the rows' audit records). A reviewer's decision survives
 * when the basis is unchanged. For each row, in order, appends one outbox item to *items (grown
 * with realloc; *n_items updated), which also says whether the stored status changed (the caller
 * appends the status_change audit record in the same transaction). */
int results_store_rows(results_db *db, const char *installed_app_id, const struct results_row *rows,
                       size_t n, const struct results_write_options *o,
                       struct results_outbox_item **items, size_t *n_items);

/* The outbox work left from earlier runs: pending write-backs (when can_write), wanted alerts
 * (moved to 'creating' when can_alert), and 'resolving' alerts. Appends like
 * results_store_rows. Rows left 'creating' by a crash are moved to 'uncertain' first. */
int results_outbox_load(results_db *db, const char *installed_app_id, int can_write, int can_alert,
                        struct results_outbox_item **items, size_t *n_items);

/* Completions, applied in one transaction by the writer threads. */
enum results_done_kind {
    RESULTS_DONE_WRITTEN,         /* payload_hash written */
    RESULTS_DONE_WRITE_FAILED,    /* Cloud refused it (4xx) */
    RESULTS_DONE_ALERT_CREATED,   /* anomaly_id */
    RESULTS_DONE_ALERT_UNCERTAIN, /* timeout/5xx/network: may exist */
    RESULTS_DONE_ALERT_FAILED,    /* Cloud refused (4xx) */
    RESULTS_DONE_ALERT_WANTED,    /* refused before the network (permission): back to wanted */
    RESULTS_DONE_ALERT_RESOLVED,
};
struct results_done {
    enum results_done_kind kind;
    char identity_id[STORE_ID_CAP];
    char value[STORE_ID_CAP]; /* payload hash, anomaly_id, or an error code */
};
/* Joins the caller's transaction when one is open on db, like results_store_rows. */
int results_apply_done(results_db *db, const char *installed_app_id, const struct results_done *d,
                       size_t n);

/* Forgets the identity's change snapshot (its fields hash), so the next run re-screens it even
 * though neither its data nor the lists changed: after a reviewer marked a false positive.
 * CAPP_ENOTFOUND when the identity is not stored for the install. */
int results_forget_snapshot(results_db *db, const char *installed_app_id, const char *identity_id);

/* Rows with alert_state 'uncertain' (up to cap ids into out); returns the count. */
int results_uncertain_alerts(results_db *db, const char *installed_app_id,
                             char (*out)[STORE_ID_CAP], size_t cap, size_t *n);

/* An uncertain alert found in Cloud: 'uncertain' → 'open' with the anomaly_id Cloud has (no
 * change when the row is no longer 'uncertain'). */
int results_alert_adopt(results_db *db, const char *installed_app_id, const char *identity_id,
                        const char *anomaly_id);
/* Uncertain alerts Cloud does not have (a complete /alerts walk did not list them):
 * 'uncertain' → 'wanted', so the outbox asks for them again. */
int results_alerts_not_found(results_db *db, const char *installed_app_id,
                             const char (*ids)[STORE_ID_CAP], size_t n);

/* Marks every row of the install still screened against lists_key `from` as screened against
 * `to`: called after the rows a list change could affect were re-screened. */
int results_advance_lists_key(results_db *db, const char *installed_app_id, const char *from,
                              const char *to);

/* The identity is gone from Blnk (a complete walk did not list it and Blnk answered 404):
 * removed_at is set and the row is kept for the record — out of the queue, the counts by
 * status and the score histogram (counts "removed"), no more write-backs (a pending one is
 * dropped), an open alert is resolved ('resolving': item->alert_resolve) and a wanted one
 * dropped. A later walk that lists it again re-screens it and clears removed_at. Joins the
 * caller's transaction. status_out gets its status; CAPP_ENOTFOUND when the row is not stored
 * or already removed. */
int results_mark_removed(results_db *db, const char *installed_app_id, const char *identity_id,
                         int64_t now_ms, char *status_out, size_t status_cap,
                         struct results_outbox_item *item);

/* A reviewer decision: new status approved|rejected|needs_review for one identity. Rebuilds
 * the payload (writeback pending) and asks for the alert to be resolved (approved/rejected)
 * when one is open. Fills *item with the outbox work (item->writeback etc.).
 * CAPP_ENOTFOUND: no such identity for the install; CAPP_EINVAL: bad status. */
int results_apply_decision(results_db *db, const char *installed_app_id, const char *identity_id,
                           const char *status, const char *user_id, int can_alert, int64_t now_ms,
                           struct results_outbox_item *item);

/* ---- runs ---- */

/* Ends every run of the install still marked running (a replica that died mid-run never
 * finished its row): state "stopped", finished_at now_ms, message. Called by the replica that
 * takes the install's run over, before it begins its own. */
int results_run_abandon(results_db *db, const char *installed_app_id, int64_t now_ms,
                        const char *message);
int results_run_begin(results_db *db, const char *installed_app_id, const char *trigger,
                      int64_t now_ms, int64_t *run_id);
/* Sets the run's state, finish time, message and counters to run's (one writer per run). */
int results_run_update(results_db *db, const char *installed_app_id, const struct results_run *run);
/* Adds delta's counters (fetched .. write_ms) to the run's in one UPDATE, so replicas working on
 * the same run never lose each other's counts; state and message are left alone.
 * CAPP_ENOTFOUND when the run is not the install's. */
int results_run_add(results_db *db, const char *installed_app_id, int64_t run_id,
                    const struct results_run *delta);

/* ---- list generations (re-screening on list change) ---- */

/* Stored per-entry content hashes of the list set last screened with: entry_id → hash and
 * the entry's normalised name tokens. Global (list data belongs to no install). */
int results_list_entries_each(results_db *db,
                              int (*fn)(void *ctx, const char *entry_id, const char *hash,
                                        const char *tokens),
                              void *ctx);
/* Replaces the stored entries and records the generation key → previous key link. */
int results_list_generation_save(results_db *db, const char *lists_key, const char *previous_key,
                                 const char *changed_tokens, const char *const *ids,
                                 const char *const *hashes, const char *const *tokens, size_t n);
/* The previous key and changed tokens recorded for lists_key (CAPP_ENOTFOUND when none). */
int results_list_generation_get(results_db *db, const char *lists_key, char *previous_key,
                                size_t pcap, char **changed_tokens);
/* Records that the install is being screened against generation lists_key: 1 the first time
 * (the caller appends the install's list_load audit record in the same transaction), 0 after,
 * or a negative error. */
int results_list_load_claim(results_db *db, const char *installed_app_id, const char *lists_key,
                            int64_t now_ms);

#endif
