#include "crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "err.h"

int crypto_random(void *out, size_t len)
{
    if (len > (size_t)INT32_MAX)
        return CAPP_EINVAL;
    return RAND_bytes(out, (int)len) == 1 ? 0 : CAPP_ECRYPTO;
}

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_BYTES])
{
    unsigned int n = 0;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX_BYTES])
{
    uint8_t digest[CRYPTO_SHA256_BYTES];
    crypto_sha256(data, len, digest);
    crypto_hex_encode(digest, sizeof digest, out);
}

void crypto_hex_encode(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int crypto_hex_decode(const char *hex, uint8_t *out, size_t out_len)
{
    if (strlen(hex) != 2 * out_len)
        return CAPP_EINVAL;
    for (size_t i = 0; i < out_len; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return CAPP_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t crypto_b64url_len(size_t len)
{
    return (len / 3) * 4 + (len % 3 ? len % 3 + 1 : 0);
}

void crypto_b64url_encode(const uint8_t *data, size_t len, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)data[i] << 16;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int crypto_b64url_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (in_len % 4 == 1)
        return CAPP_EINVAL;
    size_t need = in_len / 4 * 3 + (in_len % 4 ? in_len % 4 - 1 : 0);
    if (need > cap)
        return CAPP_ETOOBIG;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < in_len; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return CAPP_EINVAL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits must be zero, so every token has exactly one encoding. */
    if (bits && (acc & ((1u << bits) - 1)))
        return CAPP_EINVAL;
    *out_len = o;
    return 0;
}

int crypto_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void crypto_wipe(void *p, size_t len)
{
    if (p)
        OPENSSL_cleanse(p, len);
}

int crypto_token(size_t bytes, char *out)
{
    uint8_t raw[64];
    if (bytes > sizeof raw)
        return CAPP_EINVAL;
    int rc = crypto_random(raw, bytes);
    if (rc)
        return rc;
    crypto_b64url_encode(raw, bytes, out);
    crypto_wipe(raw, sizeof raw);
    return 0;
}
