/*
 * pipeline_internal.h — what the pipeline's files share: checking one identity
 * (pipeline_screen.c) and the list generations (pipeline_lists.c). Not for other modules.
 */
#ifndef KYC_PIPELINE_INTERNAL_H
#define KYC_PIPELINE_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>

#include "capp/crypto.h"
#include "kyc/results.h"

struct screen_engine;

/* Bumped when the checks change meaning: every identity is then re-screened once. */
#define PIPELINE_RULES_VERSION "kyc-pipeline-1"

/* One checked identity; owns its strings (pipeline_checked_clear). */
struct pipeline_checked {
    char identity_id[STORE_ID_CAP];
    char fields_hash[CRYPTO_SHA256_HEX_BYTES];
    char basis[CRYPTO_SHA256_HEX_BYTES];
    const char *status; /* static */
    const char *risk;   /* static */
    const char *identity_type;
    double score;
    char *display_name, *name_tokens, *reasons_json, *detail_json, *alert_title, *alert_text;
    char *identity_json; /* results_identity_fields: customer PII, never logged or audited */
    /* the screening audit record without the list versions: input_sha256 of the normalised
     * screened fields, status, score, reasons, top matches (entry ids and scores), suppressed
     * matches — never a name (kyc/audit.h) */
    json_t *audit;
};

struct pipeline_map;

/* False-positive memory (kyc/review.h) for one install: a match whose list entry still has the
 * content hash it had when a reviewer marked it is dropped from the result. */
struct pipeline_fp {
    sqlite3 *db;
    const char *installed_app_id;
    const struct pipeline_map *entry_hashes; /* entry_id → current content hash (char *) */
};

/* SHA-256 over the identity's normalised screened fields (never meta_data except
 * tokenized_fields, so our own write-back does not count as a change). CAPP_EINVAL without a
 * valid identity_id (written to id_out, STORE_ID_CAP). */
int pipeline_identity_hash(const json_t *identity, char *id_out,
                           char hash_out[CRYPTO_SHA256_HEX_BYTES]);
/* Runs the data-quality rules and (when names are usable and an index is loaded) the sanctions
 * screening; fills out. The hash must have been computed (identity_id, fields_hash set).
 * fp (may be NULL) drops remembered false positives: they count toward neither the status nor
 * the basis, and the detail lists them under "suppressed". */
int pipeline_check_identity(struct screen_engine *engine, const json_t *identity,
                            const char *today_ymd, const struct pipeline_fp *fp,
                            struct pipeline_checked *out);
void pipeline_checked_clear(struct pipeline_checked *c);

/* ---- a string-keyed hash map (open addressing; keys copied, values borrowed) ---- */

struct pipeline_map_slot {
    char *key;
    void *value;
};
struct pipeline_map {
    struct pipeline_map_slot *slots;
    size_t cap, count;
};
/* Inserts or replaces; CAPP_ENOMEM. */
int pipeline_map_put(struct pipeline_map *m, const char *key, void *value);
void *pipeline_map_get(const struct pipeline_map *m, const char *key);
/* Frees the keys and the table; values are the caller's (free_value may be NULL). */
void pipeline_map_clear(struct pipeline_map *m, void (*free_value)(void *));

/* ---- list generations ---- */

struct pipeline_lists {
    char key[CRYPTO_SHA256_HEX_BYTES];      /* current generation; "" without lists */
    char previous[CRYPTO_SHA256_HEX_BYTES]; /* the generation before it; "" unknown */
    char **changed;                         /* tokens of entries changed since `previous` */
    size_t n_changed;
    char *lists_json;                  /* {"<source>":{"sha256","date"}} for the payload */
    json_t *lists;                     /* the same, parsed (for the audit records) */
    struct pipeline_map *entry_hashes; /* entry_id → content hash (char *) of the loaded set */
    size_t n_entries;
    double token_floor;
    double pair_floor; /* similarity a changed token must reach to count (≥ token_floor) */
    int loaded;        /* 1 when an index with entries is loaded */
};

/* Computes the current generation from the engine's index, compares it with the stored one
 * and records the change (kyc_list_entries, kyc_list_generations). */
int pipeline_lists_sync(sqlite3 *db, struct screen_engine *engine, struct pipeline_lists *out);
void pipeline_lists_clear(struct pipeline_lists *l);
/* 1 when an identity with these name tokens (space-separated) could get other candidates
 * from the entries changed between l->previous and l->key. */
int pipeline_lists_affects(const struct pipeline_lists *l, const char *tokens);

#endif
