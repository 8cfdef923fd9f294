/*
 * Sealed secrets. See seal.h for the format. OpenSSL does the cryptography (EVP AES-256-GCM and
 * HKDF); this file only frames it.
 */
#include "seal.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"

#define NONCE_BYTES    12
#define TAG_BYTES      16
#define MAX_SEAL_PLAIN 4096

struct seal_key {
    uint8_t data_key[32];
    char id[SEAL_KEY_ID_HEX + 1];
};

struct seal_keyring {
    struct seal_key keys[SEAL_MAX_KEYS];
    int count;
};

int seal_keyring_new(struct seal_keyring **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : CAPP_ENOMEM;
}

void seal_keyring_free(struct seal_keyring *kr)
{
    if (!kr)
        return;
    crypto_wipe(kr, sizeof *kr);
    free(kr);
}

static int derive(const uint8_t master[SEAL_MASTER_KEY_BYTES], uint8_t out[32])
{
    static const char info[] = "capp seal v1 data key";
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    size_t len = 32;
    int ok = ctx && EVP_PKEY_derive_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0 &&
             EVP_PKEY_CTX_set1_hkdf_key(ctx, master, SEAL_MASTER_KEY_BYTES) > 0 &&
             EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)info, sizeof info - 1) > 0 &&
             EVP_PKEY_derive(ctx, out, &len) > 0;
    EVP_PKEY_CTX_free(ctx);
    return ok ? 0 : CAPP_ECRYPTO;
}

int seal_keyring_add_hex(struct seal_keyring *kr, const char *hex)
{
    if (kr->count >= SEAL_MAX_KEYS)
        return CAPP_ETOOBIG;
    uint8_t master[SEAL_MASTER_KEY_BYTES];
    int rc = crypto_hex_decode(hex, master, sizeof master);
    if (rc)
        return rc;
    uint8_t any = 0;
    for (size_t i = 0; i < sizeof master; i++)
        any |= master[i];
    if (!any)
        return CAPP_ECRYPTO; /* the all-zero placeholder: anyone could open what it seals */
    struct seal_key *k = &kr->keys[kr->count];
    rc = derive(master, k->data_key);
    if (rc == 0) {
        /* The id is a hash of the derived key: it names the key without revealing it. */
        uint8_t digest[CRYPTO_SHA256_BYTES];
        crypto_sha256(k->data_key, sizeof k->data_key, digest);
        crypto_hex_encode(digest, SEAL_KEY_ID_HEX / 2, k->id);
        for (int i = 0; i < kr->count; i++)
            if (strcmp(kr->keys[i].id, k->id) == 0)
                rc = CAPP_EEXIST;
        if (rc == 0)
            kr->count++;
    }
    crypto_wipe(master, sizeof master);
    return rc;
}

int seal_keyring_count(const struct seal_keyring *kr)
{
    return kr->count;
}

const char *seal_keyring_primary_id(const struct seal_keyring *kr)
{
    return kr->count ? kr->keys[0].id : "";
}

int seal_keyring_derive(const struct seal_keyring *kr, const char *label, uint8_t out[32])
{
    if (kr->count == 0)
        return CAPP_ECRYPTO;
    unsigned int len = 0;
    return HMAC(EVP_sha256(), kr->keys[0].data_key, sizeof kr->keys[0].data_key,
                (const unsigned char *)label, strlen(label), out, &len)
               ? 0
               : CAPP_ECRYPTO;
}

int seal_seal(const struct seal_keyring *kr, const char *aad, const void *plain, size_t len,
              char **out_text)
{
    if (kr->count == 0)
        return CAPP_ECRYPTO;
    if (len > MAX_SEAL_PLAIN)
        return CAPP_ETOOBIG;
    const struct seal_key *k = &kr->keys[0];
    size_t raw_len = NONCE_BYTES + len + TAG_BYTES;
    uint8_t *raw = malloc(raw_len);
    char *text = malloc(3 + SEAL_KEY_ID_HEX + 1 + crypto_b64url_len(raw_len) + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int rc = CAPP_ENOMEM, n = 0;
    if (!raw || !text || !ctx)
        goto out;
    rc = crypto_random(raw, NONCE_BYTES);
    if (rc)
        goto out;
    rc = CAPP_ECRYPTO;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->data_key, raw) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
        EVP_EncryptUpdate(ctx, raw + NONCE_BYTES, &n, plain, (int)len) != 1 ||
        EVP_EncryptFinal_ex(ctx, raw + NONCE_BYTES + n, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, raw + NONCE_BYTES + len) != 1)
        goto out;
    int prefix = sprintf(text, "v1.%s.", k->id);
    crypto_b64url_encode(raw, raw_len, text + prefix);
    *out_text = text;
    text = NULL;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    if (raw)
        crypto_wipe(raw, raw_len);
    free(raw);
    free(text);
    return rc;
}

static int sealed_prefix_ok(const char *text)
{
    return strncmp(text, "v1.", 3) == 0 && strlen(text) >= 3 + SEAL_KEY_ID_HEX + 1 &&
           text[3 + SEAL_KEY_ID_HEX] == '.';
}

int seal_text_key_id(const char *text, char out[SEAL_KEY_ID_HEX + 1])
{
    if (!text || !sealed_prefix_ok(text))
        return CAPP_EPARSE;
    memcpy(out, text + 3, SEAL_KEY_ID_HEX);
    out[SEAL_KEY_ID_HEX] = '\0';
    return 0;
}

int seal_open(const struct seal_keyring *kr, const char *aad, const char *text, char **out_plain,
              size_t *out_len)
{
    if (!sealed_prefix_ok(text))
        return CAPP_EPARSE;
    const struct seal_key *k = NULL;
    for (int i = 0; i < kr->count; i++)
        if (memcmp(kr->keys[i].id, text + 3, SEAL_KEY_ID_HEX) == 0)
            k = &kr->keys[i];
    if (!k)
        return CAPP_ECRYPTO; /* sealed under a key this keyring does not hold */
    const char *body = text + 3 + SEAL_KEY_ID_HEX + 1;
    size_t body_len = strlen(body);
    size_t cap = body_len / 4 * 3 + 3;
    uint8_t *raw = malloc(cap);
    char *plain = NULL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    size_t raw_len = 0, len = 0;
    int rc = CAPP_ENOMEM, n = 0;
    if (!raw || !ctx)
        goto out;
    rc = crypto_b64url_decode(body, body_len, raw, cap, &raw_len);
    if (rc || raw_len < NONCE_BYTES + TAG_BYTES) {
        rc = CAPP_EPARSE;
        goto out;
    }
    len = raw_len - NONCE_BYTES - TAG_BYTES;
    plain = malloc(len + 1);
    rc = CAPP_ENOMEM;
    if (!plain)
        goto out;
    rc = CAPP_ECRYPTO;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->data_key, raw) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
        EVP_DecryptUpdate(ctx, (unsigned char *)plain, &n, raw + NONCE_BYTES, (int)len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, raw + NONCE_BYTES + len) != 1 ||
        EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + n, &n) != 1)
        goto out;
    plain[len] = '\0';
    *out_plain = plain;
    *out_len = len;
    plain = NULL;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    if (raw)
        crypto_wipe(raw, cap);
    free(raw);
    if (plain)
        seal_plain_free(plain, len);
    return rc;
}

void seal_plain_free(char *plain, size_t len)
{
    if (!plain)
        return;
    crypto_wipe(plain, len + 1);
    free(plain);
}
