/*
 * test_totp.c — the reviewer's second factor (kyc/totp.h): RFC 6238 appendix B test vectors
 * through liboath, our 6-digit codes as their last six digits, the ±1 step window and the step a
 * code matched, malformed codes, base32 and the otpauth:// URI, and the QR code's SVG (the dark
 * modules drawn are exactly libqrencode's, no style attribute, the label escaped).
 */
#include <liboath/oath.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "capp/buf.h"
#include "capp/err.h"
#include "kyc/totp.h"

/* RFC 6238 appendix B: the SHA-1 seed and its 8-digit codes. */
static const char rfc_seed[] = "12345678901234567890";
static const struct {
    int64_t t;
    const char *code8;
} rfc_vectors[] = {
    {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
    {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
};

static void test_rfc6238_vectors(void **state)
{
    (void)state;
    assert_int_equal(totp_init(), 0);
    for (size_t i = 0; i < sizeof rfc_vectors / sizeof rfc_vectors[0]; i++) {
        char eight[9], six[TOTP_DIGITS + 1];
        /* liboath itself, with the RFC's 8 digits */
        assert_int_equal(
            oath_totp_generate(rfc_seed, 20, (time_t)rfc_vectors[i].t, 30, 0, 8, eight), OATH_OK);
        assert_string_equal(eight, rfc_vectors[i].code8);
        /* ours: 6 digits, the same truncated value mod 10^6 */
        assert_int_equal(totp_code((const uint8_t *)rfc_seed, 20, rfc_vectors[i].t, six), 0);
        assert_string_equal(six, rfc_vectors[i].code8 + 2);
        int64_t step = -1;
        assert_int_equal(totp_verify((const uint8_t *)rfc_seed, 20, rfc_vectors[i].t, six, &step),
                         1);
        assert_int_equal(step, rfc_vectors[i].t / 30);
    }
}

static void test_window_is_one_step_each_side(void **state)
{
    (void)state;
    const uint8_t *seed = (const uint8_t *)rfc_seed;
    const int64_t now = 1800000000 + 7; /* inside a step, not on its edge */
    char code[TOTP_DIGITS + 1];
    int64_t step = 0;
    for (int d = -3; d <= 3; d++) {
        assert_int_equal(totp_code(seed, 20, now + d * 30, code), 0);
        int r = totp_verify(seed, 20, now, code, &step);
        if (d >= -1 && d <= 1) {
            assert_int_equal(r, 1);
            assert_int_equal(step, totp_step(now) + d);
        } else {
            assert_int_equal(r, 0);
        }
    }
    /* a code of another secret does not match */
    uint8_t other[TOTP_SECRET_BYTES];
    assert_int_equal(totp_secret_new(other), 0);
    assert_int_equal(totp_code(other, sizeof other, now, code), 0);
    char mine[TOTP_DIGITS + 1];
    assert_int_equal(totp_code(seed, 20, now, mine), 0);
    if (strcmp(code, mine) != 0) /* one chance in a million they agree */
        assert_int_equal(totp_verify(seed, 20, now, code, &step), 0);
    /* only exactly six ASCII digits are codes */
    const char *bad[] = {"", "12345", "1234567", "12a456", " 23456", "123 56", "１２３４５６"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(totp_verify(seed, 20, now, bad[i], &step), CAPP_EINVAL);
    assert_int_equal(totp_verify(seed, 20, now, NULL, &step), CAPP_EINVAL);
}

static void test_base32_and_uri(void **state)
{
    (void)state;
    char b32[TOTP_BASE32_BYTES], uri[TOTP_URI_MAX_BYTES];
    assert_int_equal(totp_base32((const uint8_t *)rfc_seed, b32), 0);
    assert_string_equal(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    assert_int_equal(totp_uri((const uint8_t *)rfc_seed, "Ada Lovelace & co", uri), 0);
    assert_string_equal(uri, "otpauth://totp/KYC%20review:Ada%20Lovelace%20%26%20co"
                             "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=KYC%20review"
                             "&algorithm=SHA1&digits=6&period=30");
    /* fresh secrets differ */
    uint8_t a[TOTP_SECRET_BYTES], b[TOTP_SECRET_BYTES];
    assert_int_equal(totp_secret_new(a), 0);
    assert_int_equal(totp_secret_new(b), 0);
    assert_memory_not_equal(a, b, sizeof a);
}

/* Sums the run lengths of "M x yhNv1h-Nz" segments in an SVG path. */
static long dark_in_path(const char *d)
{
    long sum = 0;
    const char *p = d;
    while ((p = strchr(p, 'h')) != NULL) {
        char *end = NULL;
        long n = strtol(p + 1, &end, 10);
        if (n > 0)
            sum += n; /* "h-N" back is negative and skipped */
        p = end && end > p ? end : p + 1;
    }
    return sum;
}

static void test_qr_svg(void **state)
{
    (void)state;
    const char *text = "otpauth://totp/KYC%20review:Ada?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                       "&issuer=KYC%20review&algorithm=SHA1&digits=6&period=30";
    struct buf b;
    buf_init(&b, 64 * 1024);
    assert_int_equal(totp_qr_svg(&b, text, "QR for <Ada> & \"co\""), 0);
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    assert_non_null(qr);
    long dark = 0;
    for (int i = 0; i < qr->width * qr->width; i++)
        dark += qr->data[i] & 1;
    char view[64];
    snprintf(view, sizeof view, "viewBox=\"0 0 %d %d\"", qr->width + 8, qr->width + 8);
    assert_non_null(strstr(b.data, view));
    QRcode_free(qr);
    assert_true(strncmp(b.data, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
    assert_non_null(strstr(b.data, "role=\"img\""));
    assert_non_null(strstr(b.data, "aria-label=\"QR for &lt;Ada&gt; &amp; &quot;co&quot;\""));
    assert_null(strstr(b.data, "style"));
    assert_null(strstr(b.data, "<Ada>"));
    const char *d = strstr(b.data, "<path d=\"");
    assert_non_null(d);
    assert_int_equal(dark_in_path(d + 9), dark);
    assert_true(dark > 100);
    assert_non_null(strstr(b.data, "</svg>"));
    buf_free(&b);
    /* too long to be a URI of ours */
    char *big = malloc(TOTP_URI_MAX_BYTES + 2);
    memset(big, 'a', TOTP_URI_MAX_BYTES + 1);
    big[TOTP_URI_MAX_BYTES + 1] = 0;
    buf_init(&b, 64 * 1024);
    assert_int_equal(totp_qr_svg(&b, big, "x"), CAPP_ETOOBIG);
    buf_free(&b);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_vectors),
        cmocka_unit_test(test_window_is_one_step_each_side),
        cmocka_unit_test(test_base32_and_uri),
        cmocka_unit_test(test_qr_svg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
