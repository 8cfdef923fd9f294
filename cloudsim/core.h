/*
 * core.h — the Core-like store behind the local Blnk Cloud (spec blnk-core-api.md).
 *
 * Identities, ledgers, balances and transactions live in SQLite tables of their own
 * (migrations component "cloudsim_data"), every row tagged with the instance it belongs to:
 * a call never sees another instance's rows. Cloud-native alerts and custom alert statuses
 * are here too (core_alerts.c), scoped to organization and instance.
 *
 * Two JSON "flavours" of the same row exist because Cloud serves two contracts:
 *   CORE_FLAVOUR_PROXY  what Core answers (and /proxy passes through): dob as RFC 3339
 *                       midnight UTC, "0001-01-01T00:00:00Z" when unset (spec D18);
 *   CORE_FLAVOUR_DATA   what Cloud's /data and root filters answer: dob as YYYY-MM-DD.
 *
 * Lists take a filter set (core_filter.h) that is turned into SQL with bound parameters only;
 * they sort by created_at descending, then by ID ascending (spec D17).
 *
 * Errors: functions return 0 or a negative CAPP_E* code; a struct core_error, when given,
 * receives Core's error code and message (e.g. IDT_NOT_FOUND) so the /proxy layer can answer
 * with Core's body. JSON results are new references the caller owns (json_decref).
 */
#ifndef CLOUDSIM_CORE_H
#define CLOUDSIM_CORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

#include "cloudsim/core_filter.h"
#include "cloudsim/core_time.h"

#define CORE_UUID_BYTES    37 /* 36 characters + NUL */
#define CORE_ID_BYTES      64 /* "idt_" + UUID + NUL, with room */
#define CORE_MAX_PAGE_SIZE 100

enum core_flavour { CORE_FLAVOUR_PROXY, CORE_FLAVOUR_DATA };

/* Core's error vocabulary for one failed call: HTTP status, code (IDT_NOT_FOUND...),
 * message, and whether error_detail.details is an empty object (left out otherwise). */
struct core_error {
    unsigned status;
    const char *code;
    char message[512];
    int details_empty_object;
    json_t *details; /* owned; used instead of {} when set (filter parse errors) */
};

void core_error_set(struct core_error *err, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void core_error_clear(struct core_error *err);
/* Core's body: {"error": m, "error_detail": {"code", "message"[, "details"]}}. New reference. */
json_t *core_error_body(const struct core_error *err);

/* Creates the data half's tables (component "cloudsim_data"). Idempotent. */
int cs_data_migrate(sqlite3 *db);

/* ---- small shared helpers (the clock and time parsing: core_time.h) ---- */

/* Lowercase UUID v4 from the CSPRNG. */
int core_uuid4(char out[CORE_UUID_BYTES]);
/* Formats 16 random bytes as a UUID v4 (version and variant bits set). */
void core_uuid_format(const unsigned char raw[16], char out[CORE_UUID_BYTES]);
/* 1 when s is a canonical UUID (8-4-4-4-12 hex digits). */
int core_is_uuid(const char *s);

/* ---- resources ---- */

enum core_resource_kind {
    CORE_LEDGERS,
    CORE_BALANCES,
    CORE_TRANSACTIONS,
    CORE_IDENTITIES,
    CORE_RESOURCE_COUNT
};

/* The resource descriptor (table, ID column, filterable fields). */
const struct core_resource *core_resource(enum core_resource_kind kind);
/* By plural URL name ("identities", "ledgers", ...); NULL when unknown. */
const struct core_resource *core_resource_by_name(const char *name);

/*
 * One page of a list: rows matching filters in instance, sorted (spec D17). *data receives a
 * JSON array; *total (optional) the full match count. limit <= CORE_MAX_PAGE_SIZE.
 */
int core_list(sqlite3 *db, const struct core_resource *res, const char *instance_id,
              const struct core_filter_set *filters, long long limit, long long offset,
              enum core_flavour flavour, json_t **data, long long *total);
/* One row by ID; CAPP_ENOTFOUND when absent from this instance. */
int core_get(sqlite3 *db, const struct core_resource *res, const char *instance_id, const char *id,
             enum core_flavour flavour, json_t **out);

/* ---- identities (core_identity.c) ---- */

/* The identity fields a caller may set; NULL means "not given". dob is "YYYY-MM-DD". */
struct core_identity {
    const char *identity_id;
    const char *identity_type, *organization_name, *category;
    const char *first_name, *last_name, *other_names, *gender;
    const char *email_address, *phone_number, *nationality;
    const char *street, *country, *state, *post_code, *city;
    const char *dob;
    const char *created_at;  /* NULL: now (the seeder sets its own) */
    const json_t *meta_data; /* NULL: stored as null */
};

/* POST /identities. out_id receives the ID (generated when not given). */
int core_identity_create(sqlite3 *db, const char *instance_id, const struct core_identity *in,
                         char out_id[CORE_ID_BYTES], struct core_error *err);
/* Core's create body parsed into *in (strings borrowed from body). Core rules: dob RFC 3339,
 * identity_id idt_+UUID. On failure err says why (400). */
int core_identity_from_json(const json_t *body, struct core_identity *in, char dob[11],
                            struct core_error *err);
/* PUT /identities/{id}: partial update, only non-empty strings / a non-zero dob; a meta_data
 * in the body replaces the stored object. */
int core_identity_update(sqlite3 *db, const char *instance_id, const char *id,
                         const struct core_identity *in, struct core_error *err);
int core_identity_delete(sqlite3 *db, const char *instance_id, const char *id,
                         struct core_error *err);

/* ---- ledgers, balances, transactions (core_ledger.c) ---- */

int core_ledger_create(sqlite3 *db, const char *instance_id, const char *name,
                       const json_t *meta_data, const char *created_at, char out_id[CORE_ID_BYTES]);
int core_ledger_rename(sqlite3 *db, const char *instance_id, const char *id, const char *name);
int core_balance_create(sqlite3 *db, const char *instance_id, const char *ledger_id,
                        const char *identity_id, const char *currency, double precision,
                        const json_t *meta_data, const char *created_at, char out_id[CORE_ID_BYTES],
                        struct core_error *err);
int core_balance_set_identity(sqlite3 *db, const char *instance_id, const char *balance_id,
                              const char *identity_id, struct core_error *err);
/* POST /transactions (body already parsed): applies immediately, status APPLIED unless the
 * body says "inflight": true (INFLIGHT). Cloud's precision/reference defaults are applied by
 * the gateway. */
int core_transaction_create(sqlite3 *db, const char *instance_id, const json_t *body, json_t **out,
                            struct core_error *err);
int core_transaction_by_reference(sqlite3 *db, const char *instance_id, const char *reference,
                                  json_t **out);

/* ---- metadata (core_metadata.c) ---- */

/* POST /{id}/metadata: Core's shallow top-level merge (spec §6). *out is {"meta_data": ...}:
 * the merged object, or for transactions only the keys sent. */
int core_metadata_update(sqlite3 *db, const char *instance_id, const char *entity_id,
                         const json_t *patch, json_t **out, struct core_error *err);

/* ---- tokenization (core_token.c) ---- */

/* Core's tokenization secret: CLOUDSIM_TOKENIZATION_SECRET, enabled only when exactly 32 bytes. */
int core_tokenization_enabled(void);
int core_identity_tokenize(sqlite3 *db, const char *instance_id, const char *id,
                           const char *const *fields, size_t count, struct core_error *err);
/* Plaintext of one tokenized field; *out is malloc'd. */
int core_identity_detokenize(sqlite3 *db, const char *instance_id, const char *id,
                             const char *field, char **out, struct core_error *err);
int core_identity_tokenized_fields(sqlite3 *db, const char *instance_id, const char *id,
                                   json_t **out, struct core_error *err);
/* The FPT:<visible>:<ciphertext> form of value under key (32 bytes); *out malloc'd. Used by
 * the seeder too (with a throwaway key, which models "cannot be detokenized"). */
int core_token_encode(const unsigned char key[32], const char *value, char **out);
/* Maps "first_name"-free struct names: "FirstName"/"firstName" → column; NULL if not tokenizable.
 */
const char *core_token_column(const char *field, char canonical[32]);

#endif
