/*
 * totp.c — RFC 6238 codes, base32 and otpauth:// URIs through liboath, QR codes through
 * libqrencode (see totp.h).
 *
 * Only the SVG drawing of the QR matrix is ours: libqrencode returns the module matrix and
 * leaves rendering to the caller. Dark modules of one row are merged into runs so the path stays
 * small (a 57-module code is a few kilobytes).
 */
#include "kyc/totp.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/buf.h"
#include "capp/crypto.h"
#include "capp/err.h"
#include "capp/html.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void init_oath(void)
{
    init_rc = oath_init() == OATH_OK ? 0 : CAPP_ECRYPTO;
}

int totp_init(void)
{
    pthread_once(&init_once, init_oath);
    return init_rc;
}

int64_t totp_step(int64_t unix_seconds)
{
    return unix_seconds / TOTP_STEP_SECONDS;
}

int totp_secret_new(uint8_t secret[TOTP_SECRET_BYTES])
{
    return crypto_random(secret, TOTP_SECRET_BYTES);
}

int totp_code(const uint8_t *secret, size_t len, int64_t unix_seconds, char out[TOTP_DIGITS + 1])
{
    int rc = totp_init();
    if (rc)
        return rc;
    if (!secret || len == 0 || unix_seconds < 0)
        return CAPP_EINVAL;
    if (oath_totp_generate((const char *)secret, len, (time_t)unix_seconds, TOTP_STEP_SECONDS,
                           OATH_TOTP_DEFAULT_START_TIME, TOTP_DIGITS, out) != OATH_OK)
        return CAPP_ECRYPTO;
    return 0;
}

static int code_well_formed(const char *code)
{
    if (!code || strlen(code) != TOTP_DIGITS)
        return 0;
    for (size_t i = 0; i < TOTP_DIGITS; i++)
        if (code[i] < '0' || code[i] > '9')
            return 0;
    return 1;
}

int totp_verify(const uint8_t *secret, size_t len, int64_t unix_seconds, const char *code,
                int64_t *step)
{
    int rc = totp_init();
    if (rc)
        return rc;
    /* liboath takes the code's length as its digit count: only exactly six digits may reach it */
    if (!secret || len == 0 || unix_seconds < 0 || !code_well_formed(code))
        return CAPP_EINVAL;
    int pos = 0;
    uint64_t counter = 0;
    int r =
        oath_totp_validate3((const char *)secret, len, (time_t)unix_seconds, TOTP_STEP_SECONDS,
                            OATH_TOTP_DEFAULT_START_TIME, TOTP_WINDOW_STEPS, &pos, &counter, code);
    if (r == OATH_INVALID_OTP)
        return 0;
    if (r < 0)
        return CAPP_ECRYPTO;
    if (step)
        *step = (int64_t)counter;
    return 1;
}

int totp_base32(const uint8_t secret[TOTP_SECRET_BYTES], char out[TOTP_BASE32_BYTES])
{
    int rc = totp_init();
    if (rc)
        return rc;
    char *text = NULL;
    size_t n = 0;
    if (oath_base32_encode((const char *)secret, TOTP_SECRET_BYTES, &text, &n) != OATH_OK)
        return CAPP_ENOMEM;
    size_t total = n;
    while (n > 0 && text[n - 1] == '=') /* 20 bytes need none, but apps want none */
        n--;
    rc = n < TOTP_BASE32_BYTES ? 0 : CAPP_ETOOBIG;
    if (rc == 0) {
        memcpy(out, text, n);
        out[n] = 0;
    }
    crypto_wipe(text, total);
    free(text);
    return rc;
}

int totp_uri(const uint8_t secret[TOTP_SECRET_BYTES], const char *account,
             char out[TOTP_URI_MAX_BYTES])
{
    char b32[TOTP_BASE32_BYTES];
    int rc = totp_base32(secret, b32);
    if (rc)
        return rc;
    struct buf b;
    buf_init(&b, TOTP_URI_MAX_BYTES - 1);
    rc = buf_append_str(&b, "otpauth://totp/");
    rc = rc ? rc : buf_append_url_value(&b, TOTP_ISSUER);
    rc = rc ? rc : buf_append_str(&b, ":");
    rc = rc ? rc : buf_append_url_value(&b, account ? account : "");
    rc = rc ? rc : buf_printf(&b, "?secret=%s&issuer=", b32);
    rc = rc ? rc : buf_append_url_value(&b, TOTP_ISSUER);
    rc = rc ? rc
            : buf_printf(&b, "&algorithm=SHA1&digits=%d&period=%d", TOTP_DIGITS, TOTP_STEP_SECONDS);
    if (rc == 0)
        memcpy(out, b.data, b.len + 1);
    crypto_wipe(b32, sizeof b32);
    if (b.data)
        crypto_wipe(b.data, b.len);
    buf_free(&b);
    return rc;
}

int totp_qr_svg(struct buf *out, const char *text, const char *label)
{
    if (!text || strlen(text) > TOTP_URI_MAX_BYTES)
        return CAPP_ETOOBIG;
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr)
        return CAPP_ENOMEM;
    const int quiet = 4, size = qr->width + 2 * quiet;
    int rc = buf_printf(out,
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" role=\"img\""
                        " viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\""
                        " shape-rendering=\"crispEdges\" aria-label=\"",
                        size, size, size * 4, size * 4);
    rc = rc ? rc : html_text(out, label ? label : "QR code");
    rc = rc ? rc
            : buf_printf(out, "\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path d=\"", size,
                         size);
    for (int y = 0; rc == 0 && y < qr->width; y++) {
        for (int x = 0; rc == 0 && x < qr->width;) {
            if (!(qr->data[y * qr->width + x] & 1)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < qr->width && (qr->data[y * qr->width + x + run] & 1))
                run++;
            rc = buf_printf(out, "M%d %dh%dv1h-%dz", x + quiet, y + quiet, run, run);
            x += run;
        }
    }
    rc = rc ? rc : buf_append_str(out, "\" fill=\"#000\"/></svg>");
    QRcode_free(qr);
    return rc;
}
