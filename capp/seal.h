/*
 * seal.h — sealed secrets (install API keys) at rest.
 *
 * AES-256-GCM with a fresh 96-bit nonce per seal and associated data that binds a ciphertext
 * to its row (the installed_app_id), so a sealed key copied onto another install fails to open.
 * The data key is derived once from the master key with HKDF-SHA256, never per call.
 *
 * Sealed text format:  "v1." <key id, 16 hex> "." base64url(nonce(12) || ciphertext || tag(16))
 *
 * The key id names the master key that sealed it, so the keyring can hold the current key and
 * older ones during a rotation: seal always uses the primary key, open picks the key by id.
 * Plaintext handed out by seal_open() must be released with seal_plain_free(), which wipes it.
 */
#ifndef CAPP_SEAL_H
#define CAPP_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_MASTER_KEY_BYTES 32
#define SEAL_KEY_ID_HEX       16
#define SEAL_MAX_KEYS         4

struct seal_keyring;

int seal_keyring_new(struct seal_keyring **out);
void seal_keyring_free(struct seal_keyring *kr);
/* Adds a 64-hex-character master key; the first key added is the primary one. Returns
 * CAPP_EINVAL when hex is not 64 hex characters, CAPP_ECRYPTO for a key of all zero bytes (a
 * placeholder, never a real key: refused so it cannot seal anything), CAPP_EEXIST when the
 * keyring already holds the key, CAPP_ETOOBIG past SEAL_MAX_KEYS. */
int seal_keyring_add_hex(struct seal_keyring *kr, const char *hex);
/* How many keys the keyring holds. */
int seal_keyring_count(const struct seal_keyring *kr);
/* The primary key's id (16 hex + NUL), e.g. for logs and status pages. */
const char *seal_keyring_primary_id(const struct seal_keyring *kr);

/* A 32-byte key for another purpose (e.g. CSRF MACs), derived from the primary key with
 * HMAC-SHA256 under a label, so every replica with the same master key derives the same one. */
int seal_keyring_derive(const struct seal_keyring *kr, const char *label, uint8_t out[32]);

int seal_seal(const struct seal_keyring *kr, const char *aad, const void *plain, size_t len,
              char **out_text);
int seal_open(const struct seal_keyring *kr, const char *aad, const char *text, char **out_plain,
              size_t *out_len);
void seal_plain_free(char *plain, size_t len);
/* The key id a sealed text names (16 hex + NUL into out); CAPP_EPARSE when text is not sealed
 * text. Lets a caller say which key sealed a value it cannot open, and spot a value sealed by
 * an older key that should be resealed with the primary one. */
int seal_text_key_id(const char *text, char out[SEAL_KEY_ID_HEX + 1]);

#endif
