/*
 * test_seal.c — sealed API keys: round trip, the format, AAD binding to the install, tamper
 * detection on every byte, wrong and rotated master keys, nonce freshness, malformed text, and
 * the keyring's refusals.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "capp/assert.h"
#include "capp/crypto.h"
#include "capp/err.h"
#include "capp/seal.h"

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f"
#define KEY_C "0101010101010101010101010101010101010101010101010101010101010101"
#define KEY_D "0202020202020202020202020202020202020202020202020202020202020202"
#define KEY_E "0303030303030303030303030303030303030303030303030303030303030303"
#define AAD   "instapp_0123456789abcdef0123456789abcdef"
#define PLAIN "blnk_TESTKEY0123456789abcdefghijklmnopqrstuvwx"

#define BODY_AT (3 + SEAL_KEY_ID_HEX + 1)

static struct seal_keyring *ring(const char *first, const char *second)
{
    struct seal_keyring *kr = NULL;
    assert_int_equal(seal_keyring_new(&kr), 0);
    if (first)
        assert_int_equal(seal_keyring_add_hex(kr, first), 0);
    if (second)
        assert_int_equal(seal_keyring_add_hex(kr, second), 0);
    return kr;
}

static char *seal_text(const struct seal_keyring *kr, const char *aad, const char *plain)
{
    char *text = NULL;
    assert_int_equal(seal_seal(kr, aad, plain, strlen(plain), &text), 0);
    assert_non_null(text);
    return text;
}

static int open_rc(const struct seal_keyring *kr, const char *aad, const char *text)
{
    char *plain = (char *)0x1;
    size_t len = 12345;
    int rc = seal_open(kr, aad, text, &plain, &len);
    if (rc == 0)
        seal_plain_free(plain, len);
    else {
        assert_ptr_equal(plain, (char *)0x1); /* untouched on failure */
        assert_int_equal(len, 12345);
    }
    return rc;
}

static void test_round_trip(void **state)
{
    struct seal_keyring *kr = ring(KEY_A, NULL);
    char *text = seal_text(kr, AAD, PLAIN);
    char *plain = NULL;
    size_t len = 0;
    assert_int_equal(seal_open(kr, AAD, text, &plain, &len), 0);
    assert_int_equal(len, strlen(PLAIN));
    assert_string_equal(plain, PLAIN);
    seal_plain_free(plain, len);
    free(text);
    seal_keyring_free(kr);
}

static void test_round_trip_binary_and_empty(void **state)
{
    struct seal_keyring *kr = ring(KEY_A, NULL);
    const char bin[] = {'a', 0, 'b', (char)0xff, 0};
    char *text = NULL, *plain = NULL;
    size_t len = 0;
    assert_int_equal(seal_seal(kr, AAD, bin, sizeof bin, &text), 0);
    assert_int_equal(seal_open(kr, AAD, text, &plain, &len), 0);
    assert_int_equal(len, sizeof bin);
    assert_memory_equal(plain, bin, sizeof bin);
    seal_plain_free(plain, len);
    free(text);

    assert_int_equal(seal_seal(kr, AAD, "", 0, &text), 0);
    assert_int_equal(seal_open(kr, AAD, text, &plain, &len), 0);
    assert_int_equal(len, 0);
    assert_string_equal(plain, "");
    seal_plain_free(plain, len);
    free(text);
    seal_keyring_free(kr);
}

static void test_size_limit(void **state)
{
    struct seal_keyring *kr = ring(KEY_A, NULL);
    size_t big = 64 * 1024;
    char *data = calloc(1, big);
    char *text = NULL, *plain = NULL;
    size_t len = 0;
    assert_int_equal(seal_seal(kr, AAD, data, 4096, &text), 0);
    assert_int_equal(seal_open(kr, AAD, text, &plain, &len), 0);
    assert_int_equal(len, 4096);
    seal_plain_free(plain, len);
    free(text);
    text = NULL;
    assert_int_equal(seal_seal(kr, AAD, data, big, &text), CAPP_ETOOBIG);
    assert_null(text);
    free(data);
    seal_keyring_free(kr);
}

static void test_format(void **state)
{
    struct seal_keyring *kr = ring(KEY_A, NULL);
    char *text = seal_text(kr, AAD, PLAIN);
    assert_int_equal(strncmp(text, "v1.", 3), 0);
    const char *id = seal_keyring_primary_id(kr);
    assert_int_equal(strlen(id), SEAL_KEY_ID_HEX);
    for (int i = 0; i < SEAL_KEY_ID_HEX; i++)
        assert_non_null(strchr("0123456789abcdef", id[i]));
    assert_memory_equal(text + 3, id, SEAL_KEY_ID_HEX);
    assert_int_equal(text[3 + SEAL_KEY_ID_HEX], '.');
    const char *body = text + BODY_AT;
    /* nonce(12) || ciphertext || tag(16) */
    assert_int_equal(strlen(body), crypto_b64url_len(12 + strlen(PLAIN) + 16));
    for (const char *p = body; *p; p++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    /* the plaintext and the master key appear nowhere */
    assert_null(strstr(text, "blnk_"));
    assert_null(strstr(text, "00112233"));
    free(text);
    seal_keyring_free(kr);
}

static void test_key_id_stable_and_per_key(void **state)
{
    struct seal_keyring *a1 = ring(KEY_A, NULL), *a2 = ring(KEY_A, NULL), *b = ring(KEY_B, NULL);
    assert_string_equal(seal_keyring_primary_id(a1), seal_keyring_primary_id(a2));
    assert_string_not_equal(seal_keyring_primary_id(a1), seal_keyring_primary_id(b));
    /* the id names the key without being a piece of it */
    assert_null(strstr(KEY_A, seal_keyring_primary_id(a1)));
    seal_keyring_free(a1);
    seal_keyring_free(a2);
    seal_keyring_free(b);
}

static void test_aad_binding(void **state)
{
    struct seal_keyring *kr = ring(KEY_A, NULL);
    char *text = seal_text(kr, AAD, PLAIN);
    assert_int_equal(open_rc(kr, "instapp_other", text), CAPP_ECRYPTO);
    assert_int_equal(open_rc(kr, "", text), CAPP_ECRYPTO);
    assert_int_equal(open_rc(kr, AAD "x", text), CAPP_ECRYPTO);
    assert_int_equal(open_rc(kr, AAD, text), 0);
    free(text);
    seal_keyring_free(kr);
}

static void test_tamper_every_byte(void **state)
{
    struct seal_keyring *kr = ring(KEY_A, NULL);
    char *text = seal_text(kr, AAD, PLAIN);
    const char *body = text + BODY_AT;
    uint8_t raw[256];
    size_t raw_len = 0;
    assert_int_equal(crypto_b64url_decode(body, strlen(body), raw, sizeof raw, &raw_len), 0);
    assert_int_equal(raw_len, 12 + strlen(PLAIN) + 16);
    char *forged = malloc(strlen(text) + 1);
    for (size_t i = 0; i < raw_len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            raw[i] ^= (uint8_t)(1u << bit);
            memcpy(forged, text, BODY_AT);
            crypto_b64url_encode(raw, raw_len, forged + BODY_AT);
            int rc = open_rc(kr, AAD, forged);
            if (rc != CAPP_ECRYPTO)
                fail_msg("flipping bit %d of byte %zu: rc %d, expected CAPP_ECRYPTO", bit, i, rc);
            raw[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* dropping the tag's last byte or appending one fails too */
    memcpy(forged, text, BODY_AT);
    crypto_b64url_encode(raw, raw_len - 1, forged + BODY_AT);
    assert_int_equal(open_rc(kr, AAD, forged), CAPP_ECRYPTO);
    free(forged);
    forged = malloc(strlen(text) + 8);
    memcpy(forged, text, BODY_AT);
    raw[raw_len] = 0;
    crypto_b64url_encode(raw, raw_len + 1, forged + BODY_AT);
    assert_int_equal(open_rc(kr, AAD, forged), CAPP_ECRYPTO);
    free(forged);
    free(text);
    seal_keyring_free(kr);
}

static void test_wrong_master_key(void **state)
{
    struct seal_keyring *a = ring(KEY_A, NULL), *b = ring(KEY_B, NULL);
    char *text = seal_text(a, AAD, PLAIN);
    assert_int_equal(open_rc(b, AAD, text), CAPP_ECRYPTO);
    /* relabelled with B's id, the GCM tag still refuses it */
    memcpy(text + 3, seal_keyring_primary_id(b), SEAL_KEY_ID_HEX);
    assert_int_equal(open_rc(b, AAD, text), CAPP_ECRYPTO);
    free(text);
    seal_keyring_free(a);
    seal_keyring_free(b);
}

static void test_rotation(void **state)
{
    struct seal_keyring *a = ring(KEY_A, NULL);
    char *old = seal_text(a, AAD, PLAIN);

    struct seal_keyring *ba = ring(KEY_B, KEY_A);
    char *plain = NULL;
    size_t len = 0;
    assert_int_equal(seal_open(ba, AAD, old, &plain, &len), 0);
    assert_string_equal(plain, PLAIN);
    seal_plain_free(plain, len);

    char *fresh = seal_text(ba, AAD, PLAIN);
    struct seal_keyring *b = ring(KEY_B, NULL);
    assert_string_equal(seal_keyring_primary_id(ba), seal_keyring_primary_id(b));
    assert_memory_equal(fresh + 3, seal_keyring_primary_id(b), SEAL_KEY_ID_HEX);
    assert_memory_not_equal(fresh + 3, seal_keyring_primary_id(a), SEAL_KEY_ID_HEX);
    assert_int_equal(open_rc(b, AAD, fresh), 0);
    assert_int_equal(open_rc(a, AAD, fresh), CAPP_ECRYPTO);
    /* once A is retired, its old seals no longer open */
    assert_int_equal(open_rc(b, AAD, old), CAPP_ECRYPTO);
    free(old);
    free(fresh);
    seal_keyring_free(a);
    seal_keyring_free(b);
    seal_keyring_free(ba);
}

static void test_nonce_fresh(void **state)
{
    struct seal_keyring *kr = ring(KEY_A, NULL);
    char *one = seal_text(kr, AAD, PLAIN), *two = seal_text(kr, AAD, PLAIN);
    assert_string_not_equal(one, two);
    /* the first 16 body characters are the 12-byte nonce */
    assert_memory_not_equal(one + BODY_AT, two + BODY_AT, 16);
    assert_int_equal(open_rc(kr, AAD, one), 0);
    assert_int_equal(open_rc(kr, AAD, two), 0);
    free(one);
    free(two);
    seal_keyring_free(kr);
}

static void test_malformed_text(void **state)
{
    struct seal_keyring *kr = ring(KEY_A, NULL);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "v1.%s.", seal_keyring_primary_id(kr));
    char buf[256];
    static const char *const no_frame[] = {"",
                                           "v",
                                           "v1",
                                           "v1.",
                                           "v2.0123456789abcdef.AAAA",
                                           "V1.0123456789abcdef.AAAA",
                                           "v1.0123456789abcdef",
                                           "v1.0123456789abcdefAAAA",
                                           "v1.0123456789abcde.AAAAA"};
    for (size_t i = 0; i < COUNTOF(no_frame); i++)
        if (open_rc(kr, AAD, no_frame[i]) != CAPP_EPARSE)
            fail_msg("\"%s\" not refused as malformed", no_frame[i]);
    char as[64];
    memset(as, 'A', sizeof as);
    struct {
        const char *tail;
        int as; /* leading 'A's */
    } bad_body[] = {
        {"", 0},              /* empty */
        {"", 4},              /* 3 bytes: shorter than nonce + tag */
        {"", 36},             /* 27 bytes: one short of nonce + tag */
        {"!A", 38},           /* bad alphabet */
        {"+A", 38}, {"", 41}, /* length 1 mod 4 */
        {"B", 37},            /* non-canonical trailing bits */
    };
    for (size_t i = 0; i < COUNTOF(bad_body); i++) {
        snprintf(buf, sizeof buf, "%s%.*s%s", prefix, bad_body[i].as, as, bad_body[i].tail);
        if (open_rc(kr, AAD, buf) != CAPP_EPARSE)
            fail_msg("\"%s\" not refused as malformed", buf);
    }
    /* well-framed, 28 bytes (nonce + tag), wrong bytes: the tag refuses it */
    snprintf(buf, sizeof buf, "%s%.*s", prefix, 38, as);
    assert_int_equal(open_rc(kr, AAD, buf), CAPP_ECRYPTO);
    seal_keyring_free(kr);
}

static void test_bad_master_hex(void **state)
{
    struct seal_keyring *kr = ring(NULL, NULL);
    static const char *const bad[] = {
        "",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeef",   /* 63 */
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0", /* 65 */
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg",
        "00112233445566778899aabbccddeeff 0112233445566778899aabbccddeeff",
    };
    for (size_t i = 0; i < COUNTOF(bad); i++)
        assert_int_equal(seal_keyring_add_hex(kr, bad[i]), CAPP_EINVAL);
    /* nothing was added: the ring cannot seal */
    assert_string_equal(seal_keyring_primary_id(kr), "");
    char *text = NULL;
    assert_int_equal(seal_seal(kr, AAD, "x", 1, &text), CAPP_ECRYPTO);
    assert_null(text);
    uint8_t derived[32];
    assert_int_equal(seal_keyring_derive(kr, "csrf", derived), CAPP_ECRYPTO);
    assert_int_equal(open_rc(kr, AAD, "v1.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                     CAPP_ECRYPTO);
    seal_keyring_free(kr);
}

static void test_duplicate_and_too_many_keys(void **state)
{
    struct seal_keyring *kr = ring(KEY_A, NULL);
    char id[SEAL_KEY_ID_HEX + 1];
    strcpy(id, seal_keyring_primary_id(kr));
    assert_int_equal(seal_keyring_add_hex(kr, KEY_A), CAPP_EEXIST);
    /* the same bytes in upper case are the same key */
    assert_int_equal(seal_keyring_add_hex(
                         kr, "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"),
                     CAPP_EEXIST);
    assert_string_equal(seal_keyring_primary_id(kr), id);
    assert_int_equal(seal_keyring_add_hex(kr, KEY_B), 0);
    assert_int_equal(seal_keyring_add_hex(kr, KEY_C), 0);
    assert_int_equal(seal_keyring_add_hex(kr, KEY_D), 0);
    assert_int_equal(seal_keyring_add_hex(kr, KEY_E), CAPP_ETOOBIG);
    assert_string_equal(seal_keyring_primary_id(kr), id);
    /* a seal by the last of four keys opens with the full ring */
    struct seal_keyring *d = ring(KEY_D, NULL);
    char *text = seal_text(d, AAD, PLAIN);
    assert_int_equal(open_rc(kr, AAD, text), 0);
    free(text);
    seal_keyring_free(d);
    seal_keyring_free(kr);
}

static void test_derive(void **state)
{
    struct seal_keyring *a1 = ring(KEY_A, NULL), *a2 = ring(KEY_A, KEY_B), *b = ring(KEY_B, KEY_A);
    uint8_t x[32], y[32], z[32], w[32];
    assert_int_equal(seal_keyring_derive(a1, "csrf", x), 0);
    assert_int_equal(seal_keyring_derive(a2, "csrf", y), 0);
    assert_memory_equal(x, y, 32); /* deterministic, from the primary key only */
    assert_int_equal(seal_keyring_derive(a1, "csrg", z), 0);
    assert_memory_not_equal(x, z, 32);
    assert_int_equal(seal_keyring_derive(b, "csrf", w), 0);
    assert_memory_not_equal(x, w, 32);
    assert_int_equal(seal_keyring_derive(a1, "", z), 0);
    assert_memory_not_equal(x, z, 32);
    seal_keyring_free(a1);
    seal_keyring_free(a2);
    seal_keyring_free(b);
}

static void test_free_null_safe(void **state)
{
    seal_keyring_free(NULL);
    seal_plain_free(NULL, 10);
    struct seal_keyring *kr = ring(KEY_A, NULL);
    assert_non_null(kr);
    seal_keyring_free(kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_binary_and_empty),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_key_id_stable_and_per_key),
        cmocka_unit_test(test_aad_binding),
        cmocka_unit_test(test_tamper_every_byte),
        cmocka_unit_test(test_wrong_master_key),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_nonce_fresh),
        cmocka_unit_test(test_malformed_text),
        cmocka_unit_test(test_bad_master_hex),
        cmocka_unit_test(test_duplicate_and_too_many_keys),
        cmocka_unit_test(test_derive),
        cmocka_unit_test(test_free_null_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
