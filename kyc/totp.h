/*
 * totp.h — the reviewer's second factor (spec D23′): RFC 6238 TOTP codes through liboath (OATH
 * Toolkit), the secret as base32 text and as an otpauth:// URI, and that URI as a QR code in
 * inline SVG (libqrencode). No cryptography here is written by hand.
 *
 * Parameters are the ones every authenticator app assumes: HMAC-SHA1, 30 s time step counted
 * from the Unix epoch, 6 digits. A code is accepted for the current step and one step either
 * side (clock drift and typing time); which step it matched is returned, so the caller can
 * refuse a code of a step already used (each code usable once, kyc/reviewers.c).
 *
 * Secrets are TOTP_SECRET_BYTES random bytes (160 bits, RFC 4226 §4). Functions take the time
 * as an argument (Unix seconds), so tests run on any clock.
 *
 * Errors: CAPP_EINVAL (a code that is not 6 digits, a bad secret), CAPP_ECRYPTO (liboath
 * failed), CAPP_ENOMEM, CAPP_ETOOBIG (QR input too long).
 */
#ifndef KYC_TOTP_H
#define KYC_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "capp/buf.h"

#define TOTP_SECRET_BYTES  20
#define TOTP_STEP_SECONDS  30
#define TOTP_DIGITS        6
#define TOTP_WINDOW_STEPS  1  /* steps accepted either side of now */
#define TOTP_BASE32_BYTES  33 /* base32 of TOTP_SECRET_BYTES (32 chars, no padding) + NUL */
#define TOTP_ISSUER        "KYC review"
#define TOTP_URI_MAX_BYTES 512

/* Initialises liboath once per process (thread-safe; every function below calls it). */
int totp_init(void);

/* The time step of a Unix time. */
int64_t totp_step(int64_t unix_seconds);

/* A fresh random secret. */
int totp_secret_new(uint8_t secret[TOTP_SECRET_BYTES]);

/* The 6-digit code of `secret` at unix_seconds into out (7 bytes). */
int totp_code(const uint8_t *secret, size_t len, int64_t unix_seconds, char out[TOTP_DIGITS + 1]);

/* Checks `code` against the steps of unix_seconds ± TOTP_WINDOW_STEPS. Returns 1 and the
 * matched step in *step when it matches, 0 when it does not, CAPP_EINVAL when code is not
 * exactly 6 ASCII digits. */
int totp_verify(const uint8_t *secret, size_t len, int64_t unix_seconds, const char *code,
                int64_t *step);

/* Unpadded base32 (RFC 4648) of the secret into out, as authenticator apps expect. */
int totp_base32(const uint8_t secret[TOTP_SECRET_BYTES], char out[TOTP_BASE32_BYTES]);

/* otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30 into
 * out (TOTP_URI_MAX_BYTES), the label percent-encoded. account is the reviewer's display
 * name. */
int totp_uri(const uint8_t secret[TOTP_SECRET_BYTES], const char *account,
             char out[TOTP_URI_MAX_BYTES]);

/* `text` as a QR code (error correction M) appended to out as one <svg> element: a white
 * square and one black <path>, a quiet zone of 4 modules, colours as presentation attributes
 * (the portal's CSP forbids style attributes). class="qr", role="img" with aria-label. */
int totp_qr_svg(struct buf *out, const char *text, const char *label);

#endif
