/*
 * test_crypto.c — SHA-256 against FIPS 180 vectors, hex and unpadded base64url against RFC 4648
 * vectors (translated to the url alphabet), the refusals that make every token have exactly one
 * encoding, token minting, and constant-time comparison.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "capp/assert.h"
#include "capp/crypto.h"
#include "capp/err.h"

static void test_sha256_vectors(void **state)
{
    static const struct {
        const char *in;
        const char *hex;
    } vectors[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t i = 0; i < COUNTOF(vectors); i++) {
        char hex[CRYPTO_SHA256_HEX_BYTES];
        crypto_sha256_hex(vectors[i].in, strlen(vectors[i].in), hex);
        assert_string_equal(hex, vectors[i].hex);
        uint8_t raw[CRYPTO_SHA256_BYTES], expect[CRYPTO_SHA256_BYTES];
        crypto_sha256(vectors[i].in, strlen(vectors[i].in), raw);
        assert_int_equal(crypto_hex_decode(vectors[i].hex, expect, sizeof expect), 0);
        assert_memory_equal(raw, expect, sizeof raw);
    }
    char *million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    char hex[CRYPTO_SHA256_HEX_BYTES];
    crypto_sha256_hex(million, 1000000, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

static void test_sha256_binary_input(void **state)
{
    /* NUL bytes are data, not terminators */
    char a[CRYPTO_SHA256_HEX_BYTES], b[CRYPTO_SHA256_HEX_BYTES];
    crypto_sha256_hex("a\0b", 3, a);
    crypto_sha256_hex("a\0c", 3, b);
    assert_string_not_equal(a, b);
    crypto_sha256_hex("a", 1, b);
    assert_string_not_equal(a, b);
}

static void test_hex_round_trip(void **state)
{
    uint8_t all[256], back[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    char hex[513];
    crypto_hex_encode(all, sizeof all, hex);
    assert_int_equal(strlen(hex), 512);
    assert_memory_equal(hex, "000102", 6);
    assert_string_equal(hex + 506, "fdfeff");
    assert_int_equal(crypto_hex_decode(hex, back, sizeof back), 0);
    assert_memory_equal(all, back, sizeof all);

    uint8_t two[2];
    assert_int_equal(crypto_hex_decode("ABcd", two, 2), 0);
    assert_int_equal(two[0], 0xab);
    assert_int_equal(two[1], 0xcd);
    char empty[1] = {'x'};
    crypto_hex_encode(two, 0, empty);
    assert_string_equal(empty, "");
    assert_int_equal(crypto_hex_decode("", two, 0), 0);
}

static void test_hex_bad_input(void **state)
{
    uint8_t out[2] = {0x11, 0x22};
    assert_int_equal(crypto_hex_decode("abc", out, 2), CAPP_EINVAL);   /* short */
    assert_int_equal(crypto_hex_decode("abcde", out, 2), CAPP_EINVAL); /* odd, long */
    assert_int_equal(crypto_hex_decode("abcdef", out, 2), CAPP_EINVAL);
    assert_int_equal(crypto_hex_decode("ab g", out, 2), CAPP_EINVAL);
    assert_int_equal(crypto_hex_decode("abcg", out, 2), CAPP_EINVAL);
    assert_int_equal(crypto_hex_decode("0x12", out, 2), CAPP_EINVAL);
    assert_int_equal(crypto_hex_decode("-1ab", out, 2), CAPP_EINVAL);
    assert_int_equal(crypto_hex_decode("", out, 2), CAPP_EINVAL);
}

static const struct {
    const char *plain;
    const char *encoded;
} rfc4648[] = {
    {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
};

static void test_b64url_rfc4648_vectors(void **state)
{
    for (size_t i = 0; i < COUNTOF(rfc4648); i++) {
        const char *p = rfc4648[i].plain;
        size_t len = strlen(p);
        char out[32];
        assert_int_equal(crypto_b64url_len(len), strlen(rfc4648[i].encoded));
        crypto_b64url_encode((const uint8_t *)p, len, out);
        assert_string_equal(out, rfc4648[i].encoded);
        uint8_t back[16];
        size_t back_len = 99;
        assert_int_equal(crypto_b64url_decode(out, strlen(out), back, sizeof back, &back_len), 0);
        assert_int_equal(back_len, len);
        assert_memory_equal(back, p, len);
    }
}

static void test_b64url_uses_url_alphabet(void **state)
{
    /* standard base64 of these is "+/+/" and "+/8=": the url alphabet has '-' '_', no padding */
    const uint8_t a[] = {0xfb, 0xff, 0xbf};
    const uint8_t b[] = {0xfb, 0xff};
    char out[8];
    crypto_b64url_encode(a, sizeof a, out);
    assert_string_equal(out, "-_-_");
    crypto_b64url_encode(b, sizeof b, out);
    assert_string_equal(out, "-_8");
    uint8_t back[4];
    size_t n;
    assert_int_equal(crypto_b64url_decode("-_8", 3, back, sizeof back, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(back, b, 2);
}

static void test_b64url_lengths(void **state)
{
    assert_int_equal(crypto_b64url_len(0), 0);
    assert_int_equal(crypto_b64url_len(1), 2);
    assert_int_equal(crypto_b64url_len(2), 3);
    assert_int_equal(crypto_b64url_len(3), 4);
    assert_int_equal(crypto_b64url_len(4), 6);
    assert_int_equal(crypto_b64url_len(32), 43);
    assert_int_equal(crypto_b64url_len(60), 80);
}

static void test_b64url_round_trip_every_length(void **state)
{
    uint8_t data[100], back[100];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof data; len++) {
        char text[140];
        crypto_b64url_encode(data, len, text);
        assert_int_equal(strlen(text), crypto_b64url_len(len));
        size_t n = 0;
        assert_int_equal(crypto_b64url_decode(text, strlen(text), back, sizeof back, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(back, data, len);
    }
}

static void test_b64url_bad_alphabet(void **state)
{
    static const char *const bad[] = {
        "Zm9v+A", "Zm9v/A", "Zm8=", "Zg==", "Zm 9", "Zm9v\nA", "Zm.v", "Zm9\x80"};
    for (size_t i = 0; i < COUNTOF(bad); i++) {
        uint8_t out[16];
        size_t n = 77;
        if (crypto_b64url_decode(bad[i], strlen(bad[i]), out, sizeof out, &n) != CAPP_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(n, 77);
    }
    /* an embedded NUL inside the given length is refused, not a terminator */
    uint8_t out[8];
    size_t n;
    assert_int_equal(crypto_b64url_decode("Zm\0v", 4, out, sizeof out, &n), CAPP_EINVAL);
}

static void test_b64url_noncanonical_trailing_bits(void **state)
{
    uint8_t out[8];
    size_t n;
    /* "Zg" is 'f'; "Zh".."Zv" differ only in bits past the last byte */
    assert_int_equal(crypto_b64url_decode("Zg", 2, out, sizeof out, &n), 0);
    assert_int_equal(crypto_b64url_decode("Zh", 2, out, sizeof out, &n), CAPP_EINVAL);
    assert_int_equal(crypto_b64url_decode("Zv", 2, out, sizeof out, &n), CAPP_EINVAL);
    assert_int_equal(crypto_b64url_decode("Zm8", 3, out, sizeof out, &n), 0);
    assert_int_equal(crypto_b64url_decode("Zm9", 3, out, sizeof out, &n), CAPP_EINVAL);
    assert_int_equal(crypto_b64url_decode("Zm_", 3, out, sizeof out, &n), CAPP_EINVAL);
}

static void test_b64url_length_one_mod_four(void **state)
{
    uint8_t out[16];
    size_t n;
    assert_int_equal(crypto_b64url_decode("Z", 1, out, sizeof out, &n), CAPP_EINVAL);
    assert_int_equal(crypto_b64url_decode("Zm9vY", 5, out, sizeof out, &n), CAPP_EINVAL);
    assert_int_equal(crypto_b64url_decode("Zm9vYmFyA", 9, out, sizeof out, &n), CAPP_EINVAL);
    assert_int_equal(crypto_b64url_decode("", 0, out, sizeof out, &n), 0);
    assert_int_equal(n, 0);
}

static void test_b64url_capacity(void **state)
{
    uint8_t out[6];
    size_t n;
    assert_int_equal(crypto_b64url_decode("Zm9vYmFy", 8, out, 6, &n), 0);
    assert_int_equal(n, 6);
    assert_int_equal(crypto_b64url_decode("Zm9vYmFy", 8, out, 5, &n), CAPP_ETOOBIG);
    assert_int_equal(crypto_b64url_decode("Zm9vYmE", 7, out, 4, &n), CAPP_ETOOBIG);
    assert_int_equal(crypto_b64url_decode("Zm9vYmE", 7, out, 5, &n), 0);
    assert_int_equal(n, 5);
}

static int is_b64url(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return 0;
    return 1;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void test_token_shape_and_distinct(void **state)
{
    enum { N = 2000 };
    char(*tokens)[44] = calloc(N, sizeof *tokens);
    assert_non_null(tokens);
    for (int i = 0; i < N; i++) {
        assert_int_equal(crypto_token(32, tokens[i]), 0);
        assert_int_equal(strlen(tokens[i]), 43);
        assert_true(is_b64url(tokens[i]));
        uint8_t raw[33];
        size_t n;
        assert_int_equal(crypto_b64url_decode(tokens[i], 43, raw, sizeof raw, &n), 0);
        assert_int_equal(n, 32);
    }
    qsort(tokens, N, sizeof *tokens, compare_strings);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(tokens[i - 1], tokens[i]);
    free(tokens);
}

static void test_token_size_limit(void **state)
{
    char out[100];
    assert_int_equal(crypto_token(64, out), 0);
    assert_int_equal(strlen(out), 86);
    memset(out, 'q', sizeof out);
    assert_int_equal(crypto_token(65, out), CAPP_EINVAL);
    assert_int_equal(out[0], 'q');
    assert_int_equal(crypto_token(0, out), 0);
    assert_string_equal(out, "");
}

static void test_random_differs(void **state)
{
    uint8_t a[32] = {0}, b[32] = {0};
    assert_int_equal(crypto_random(a, sizeof a), 0);
    assert_int_equal(crypto_random(b, sizeof b), 0);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(crypto_random(a, 0), 0);
}

static void test_equal(void **state)
{
    const char a[] = "0123456789abcdef", b[] = "0123456789abcdef";
    char c[sizeof a];
    assert_true(crypto_equal(a, b, sizeof a));
    assert_true(crypto_equal(a, "x", 0));
    memcpy(c, a, sizeof a);
    c[0] ^= 1;
    assert_false(crypto_equal(a, c, sizeof a));
    memcpy(c, a, sizeof a);
    c[sizeof a - 2] ^= 0x80;
    assert_false(crypto_equal(a, c, sizeof a));
    /* only len bytes are compared */
    assert_true(crypto_equal(a, c, sizeof a - 2));
}

static void test_wipe(void **state)
{
    char secret[] = "blnk_secret";
    crypto_wipe(secret, sizeof secret);
    for (size_t i = 0; i < sizeof secret; i++)
        assert_int_equal(secret[i], 0);
    crypto_wipe(NULL, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_binary_input),
        cmocka_unit_test(test_hex_round_trip),
        cmocka_unit_test(test_hex_bad_input),
        cmocka_unit_test(test_b64url_rfc4648_vectors),
        cmocka_unit_test(test_b64url_uses_url_alphabet),
        cmocka_unit_test(test_b64url_lengths),
        cmocka_unit_test(test_b64url_round_trip_every_length),
        cmocka_unit_test(test_b64url_bad_alphabet),
        cmocka_unit_test(test_b64url_noncanonical_trailing_bits),
        cmocka_unit_test(test_b64url_length_one_mod_four),
        cmocka_unit_test(test_b64url_capacity),
        cmocka_unit_test(test_token_shape_and_distinct),
        cmocka_unit_test(test_token_size_limit),
        cmocka_unit_test(test_random_differs),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_wipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
