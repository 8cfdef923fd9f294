/*
 * core_token.c — Core's PII tokenization (blnk-core-api.md §7), enough to be faithful at the
 * API: a tokenized field is stored as "FPT:<visible>:<base64 AES-256-GCM ciphertext>", the
 * visible part keeps character classes and is deterministic per (key, value), and
 * meta_data.tokenized_fields records which struct fields are tokenized. The secret comes from
 * CLOUDSIM_TOKENIZATION_SECRET and must be exactly 32 bytes, or tokenizing answers 403.
 * AES-GCM and SHA-256 come from OpenSSL; only the token layout is written here.
 */
#include "cloudsim/core.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/crypto.h"
#include "capp/db.h"
#include "capp/err.h"
#include "capp/json.h"

static const struct {
    const char *name, *column;
} tokenizable[] = {
    {"FirstName", "first_name"},     {"LastName", "last_name"},
    {"OtherNames", "other_names"},   {"EmailAddress", "email_address"},
    {"PhoneNumber", "phone_number"}, {"Street", "street"},
    {"PostCode", "post_code"},
};

const char *core_token_column(const char *field, char canonical[32])
{
    /* Core capitalises the first letter of the name it is given: "firstName" works,
     * "first_name" becomes "First_name" and is refused */
    snprintf(canonical, 32, "%s", field);
    canonical[0] = (char)toupper((unsigned char)canonical[0]);
    for (size_t i = 0; i < sizeof tokenizable / sizeof tokenizable[0]; i++)
        if (strcmp(canonical, tokenizable[i].name) == 0)
            return tokenizable[i].column;
    return NULL;
}

static const char *secret(void)
{
    const char *s = getenv("CLOUDSIM_TOKENIZATION_SECRET");
    return s && strlen(s) == 32 ? s : NULL;
}

int core_tokenization_enabled(void)
{
    return secret() != NULL;
}

int core_token_encode(const unsigned char key[32], const char *value, char **out)
{
    size_t n = strlen(value);
    char *visible = malloc(n + 1);
    unsigned char *blob = malloc(12 + n + 16);
    char *b64 = malloc(4 * ((12 + n + 16 + 2) / 3) + 1);
    int rc = visible && blob && b64 ? 0 : CAPP_ENOMEM;
    /* visible part: each letter/digit replaced from SHA-256(key || counter || value) */
    uint8_t stream[CRYPTO_SHA256_BYTES];
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i % CRYPTO_SHA256_BYTES == 0) {
            size_t len = 32 + sizeof i + n;
            unsigned char *in = malloc(len);
            if (!in) {
                rc = CAPP_ENOMEM;
                break;
            }
            memcpy(in, key, 32);
            memcpy(in + 32, &i, sizeof i);
            memcpy(in + 32 + sizeof i, value, n);
            crypto_sha256(in, len, stream);
            free(in);
        }
        unsigned char c = (unsigned char)value[i], r = stream[i % CRYPTO_SHA256_BYTES];
        visible[i] = isupper(c)   ? (char)('A' + r % 26)
                     : islower(c) ? (char)('a' + r % 26)
                     : isdigit(c) ? (char)('0' + r % 10)
                                  : (char)c;
    }
    /* nonce = SHA-256(key || "nonce" || value)[0..12): deterministic, so the same value under
     * the same key gives the same token and seeded data is reproducible. Reusing a nonce only
     * ever re-encrypts the same plaintext, which reveals equality, already public through the
     * visible part of the token. */
    if (rc == 0) {
        size_t len_in = 32 + 5 + n;
        unsigned char *in = malloc(len_in);
        uint8_t digest[CRYPTO_SHA256_BYTES];
        if (!in) {
            rc = CAPP_ENOMEM;
        } else {
            memcpy(in, key, 32);
            memcpy(in + 32, "nonce", 5);
            memcpy(in + 37, value, n);
            crypto_sha256(in, len_in, digest);
            memcpy(blob, digest, 12);
            free(in);
        }
    }
    EVP_CIPHER_CTX *ctx = rc == 0 ? EVP_CIPHER_CTX_new() : NULL;
    int len = 0, fin = 0;
    if (rc == 0 &&
        (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, blob) != 1 ||
         EVP_EncryptUpdate(ctx, blob + 12, &len, (const unsigned char *)value, (int)n) != 1 ||
         EVP_EncryptFinal_ex(ctx, blob + 12 + len, &fin) != 1 ||
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, blob + 12 + n) != 1))
        rc = CAPP_ECRYPTO;
    EVP_CIPHER_CTX_free(ctx);
    if (rc == 0) {
        visible[n] = '\0';
        EVP_EncodeBlock((unsigned char *)b64, blob, (int)(12 + n + 16));
        size_t total = 4 + n + 1 + strlen(b64) + 1;
        *out = malloc(total);
        if (*out)
            snprintf(*out, total, "FPT:%s:%s", visible, b64);
        else
            rc = CAPP_ENOMEM;
    }
    free(visible);
    free(blob);
    free(b64);
    return rc;
}

static int token_decode(const unsigned char key[32], const char *token, char **out)
{
    if (strncmp(token, "FPT:", 4) != 0)
        return CAPP_EPARSE;
    const char *b64 = strrchr(token + 4, ':');
    if (!b64)
        return CAPP_EPARSE;
    b64++;
    size_t blen = strlen(b64);
    unsigned char *blob = malloc(blen + 1);
    if (!blob)
        return CAPP_ENOMEM;
    int dlen = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)blen);
    while (dlen > 0 && blen > 0 && b64[blen - 1] == '=') {
        dlen--;
        blen--;
    }
    int rc = dlen >= 28 ? 0 : CAPP_EPARSE;
    size_t n = rc == 0 ? (size_t)dlen - 28 : 0;
    char *plain = rc == 0 ? malloc(n + 1) : NULL;
    EVP_CIPHER_CTX *ctx = plain ? EVP_CIPHER_CTX_new() : NULL;
    int len = 0, fin = 0;
    if (rc == 0 && (!ctx || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, blob) != 1 ||
                    EVP_DecryptUpdate(ctx, (unsigned char *)plain, &len, blob + 12, (int)n) != 1 ||
                    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, blob + 12 + n) != 1 ||
                    EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + len, &fin) != 1))
        rc = CAPP_ECRYPTO;
    EVP_CIPHER_CTX_free(ctx);
    free(blob);
    if (rc) {
        free(plain);
        return rc;
    }
    plain[n] = '\0';
    *out = plain;
    return 0;
}

/* Loads meta_data (object, never NULL on success) and optionally one column's value. */
static int load(sqlite3 *db, const char *instance_id, const char *id, const char *column,
                json_t **meta, char **value, struct core_error *err)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT meta_data, %s FROM core_identities WHERE identity_id = ? AND instance_id = ?",
             column ? column : "''");
    sqlite3_stmt *stmt = NULL;
    int rc = db_prepare(db, sql, &stmt);
    if (rc)
        return rc;
    db_bind_text(stmt, 1, id);
    db_bind_text(stmt, 2, instance_id);
    rc = db_step_row(stmt);
    if (rc == 1) {
        const char *text = (const char *)sqlite3_column_text(stmt, 0);
        *meta = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
        /* metadata that is not an object counts as empty; metadata that could not be read
         * (out of memory: jansson does not always say so) must not be replaced by an empty
         * object and written back */
        int unread = text && !*meta;
        if (!json_is_object(*meta)) {
            json_decref(*meta);
            *meta = unread ? NULL : json_object();
        }
        if (value && *meta)
            *value = strdup((const char *)sqlite3_column_text(stmt, 1));
        rc = 0;
        if (!*meta) {
            core_error_set(err, 500, "GEN_INTERNAL", "internal server error");
            rc = CAPP_ENOMEM;
        }
    } else if (rc == 0) {
        core_error_set(err, 404, "IDT_NOT_FOUND", "Identity with ID '%s' not found", id);
        if (err)
            err->details_empty_object = 1;
        rc = CAPP_ENOTFOUND;
    }
    sqlite3_finalize(stmt);
    return rc;
}

static int is_tokenized(const json_t *meta, const char *name)
{
    return json_is_true(json_object_get(json_object_get(meta, "tokenized_fields"), name));
}

static int tokenize_one(sqlite3 *db, const char *instance_id, const char *id, const char *field,
                        struct core_error *err)
{
    char name[32];
    const char *column = core_token_column(field, name);
    if (!column) {
        core_error_set(err, 400, "IDT_FIELD_NOT_TOKENIZABLE", "field %s is not tokenizable", name);
        return CAPP_EINVAL;
    }
    json_t *meta = NULL;
    char *value = NULL, *token = NULL, *meta_text = NULL;
    int rc = load(db, instance_id, id, column, &meta, &value, err);
    if (rc)
        return rc;
    if (is_tokenized(meta, name)) {
        core_error_set(err, 409, "IDT_FIELD_ALREADY_TOKENIZED", "field %s is already tokenized",
                       name);
        rc = CAPP_EEXIST;
        goto out;
    }
    rc = value ? core_token_encode((const unsigned char *)secret(), value, &token) : CAPP_ENOMEM;
    if (rc)
        goto out;
    /* Every hand-over is checked: a failed json_object_set_new has already freed tf, and a
     * token stored without its tokenized_fields flag could never be detokenized. */
    json_t *tf = json_object_get(meta, "tokenized_fields");
    if (!json_is_object(tf)) {
        tf = json_object();
        if (!tf || json_object_set_new(meta, "tokenized_fields", tf) != 0) {
            rc = CAPP_ENOMEM;
            goto out;
        }
    }
    meta_text = json_object_set_new(tf, name, json_true()) == 0 ? json_to_string(meta) : NULL;
    if (!meta_text) {
        rc = CAPP_ENOMEM;
        goto out;
    }
    char sql[160];
    snprintf(sql, sizeof sql,
             "UPDATE core_identities SET %s = ?, meta_data = ? WHERE identity_id = ? AND"
             " instance_id = ?",
             column);
    sqlite3_stmt *stmt = NULL;
    rc = db_prepare(db, sql, &stmt);
    if (rc == 0) {
        db_bind_text(stmt, 1, token);
        db_bind_text(stmt, 2, meta_text);
        db_bind_text(stmt, 3, id);
        db_bind_text(stmt, 4, instance_id);
        rc = db_step_done(stmt);
        sqlite3_finalize(stmt);
    }
out:
    if (rc && err && !err->code)
        core_error_set(err, 500, "GEN_INTERNAL", "internal server error");
    json_decref(meta);
    free(value);
    free(token);
    free(meta_text);
    return rc;
}

int core_identity_tokenize(sqlite3 *db, const char *instance_id, const char *id,
                           const char *const *fields, size_t count, struct core_error *err)
{
    if (!secret()) {
        core_error_set(err, 403, "IDT_TOKENIZATION_DISABLED", "tokenization is disabled");
        return CAPP_EPERM;
    }
    /* not atomic, like Core: fields done before a failure stay tokenized */
    for (size_t i = 0; i < count; i++) {
        int rc = tokenize_one(db, instance_id, id, fields[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

int core_identity_detokenize(sqlite3 *db, const char *instance_id, const char *id,
                             const char *field, char **out, struct core_error *err)
{
    char name[32];
    const char *column = core_token_column(field, name);
    json_t *meta = NULL;
    char *value = NULL;
    int rc = load(db, instance_id, id, column, &meta, &value, err);
    if (rc)
        return rc;
    if (!column || !is_tokenized(meta, name)) {
        core_error_set(err, 400, "IDT_FIELD_NOT_TOKENIZED", "field %s is not tokenized", name);
        rc = CAPP_EINVAL;
    } else if (!secret() || !value ||
               token_decode((const unsigned char *)secret(), value, out) != 0) {
        core_error_set(err, 500, "GEN_INTERNAL", "failed to detokenize field %s", name);
        rc = CAPP_ECRYPTO;
    }
    json_decref(meta);
    free(value);
    return rc;
}

int core_identity_tokenized_fields(sqlite3 *db, const char *instance_id, const char *id,
                                   json_t **out, struct core_error *err)
{
    json_t *meta = NULL;
    int rc = load(db, instance_id, id, NULL, &meta, NULL, err);
    if (rc)
        return rc;
    json_t *names = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(meta, "tokenized_fields"), key, v)
    {
        if (json_is_true(v))
            json_array_append_new(names, json_string(key));
    }
    json_decref(meta);
    *out = json_pack("{s:o}", "tokenized_fields", names);
    return *out ? 0 : CAPP_ENOMEM;
}
