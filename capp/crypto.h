/*
 * crypto.h — small primitives on OpenSSL: CSPRNG, SHA-256, base64url, hex, constant-time
 * comparison and wiping. Everything that mints or checks a secret goes through here.
 */
#ifndef CAPP_CRYPTO_H
#define CAPP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_BYTES     32
#define CRYPTO_SHA256_HEX_BYTES 65 /* 64 hex + NUL */

int crypto_random(void *out, size_t len);
void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_BYTES]);
/* Lowercase hex of SHA-256(data) into out (65 bytes with NUL). */
void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX_BYTES]);
void crypto_hex_encode(const uint8_t *data, size_t len, char *out /* 2*len+1 */);
/* Decodes exactly out_len bytes from 2*out_len hex characters; CAPP_EINVAL otherwise. */
int crypto_hex_decode(const char *hex, uint8_t *out, size_t out_len);
/* Unpadded base64url; out must hold crypto_b64url_len(len)+1 bytes. */
size_t crypto_b64url_len(size_t len);
void crypto_b64url_encode(const uint8_t *data, size_t len, char *out);
/* Decodes unpadded base64url into out (capacity cap); CAPP_EINVAL on a bad alphabet/length. */
int crypto_b64url_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len);
/* 1 when equal; runs in time that depends only on len. */
int crypto_equal(const void *a, const void *b, size_t len);
void crypto_wipe(void *p, size_t len);
/* A fresh random token: `bytes` CSPRNG bytes as base64url into out (crypto_b64url_len+1). */
int crypto_token(size_t bytes, char *out);

#endif
