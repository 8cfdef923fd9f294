/*
 * Identifiers, keys, clock and scope names of the emulator (spec D6, §10).
 *
 * IDs are a type prefix plus 16 CSPRNG bytes in lowercase hex; API keys are "blnk_" plus 32
 * CSPRNG bytes in unpadded base64url (43 characters), so the first 8 characters — the
 * api_key_prefix — carry only 3 random characters and never identify a key on their own.
 */
#include "cloudsim/platform.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "capp/crypto.h"
#include "capp/err.h"

int cs_mint_id(const char *prefix, char out[CS_ID_BYTES])
{
    uint8_t raw[16];
    char hex[33];
    if (strlen(prefix) + sizeof hex > CS_ID_BYTES)
        return CAPP_EINVAL;
    int rc = crypto_random(raw, sizeof raw);
    if (rc)
        return rc;
    crypto_hex_encode(raw, sizeof raw, hex);
    snprintf(out, CS_ID_BYTES, "%s%s", prefix, hex);
    return 0;
}

int cs_mint_api_key(char out[CS_API_KEY_BYTES])
{
    char token[48]; /* 43 base64url characters + NUL */
    int rc = crypto_token(32, token);
    if (rc)
        return rc;
    memcpy(out, "blnk_", 5);
    memcpy(out + 5, token, 44);
    crypto_wipe(token, sizeof token);
    return 0;
}

int64_t cs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void format_time(char out[32], int with_millis)
{
    int64_t ms = cs_now_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (with_millis)
        snprintf(out, 32, "%s.%03dZ", base, (int)(ms % 1000));
    else
        snprintf(out, 32, "%sZ", base);
}

void cs_now_rfc3339(char out[32])
{
    format_time(out, 1);
}

void cs_now_rfc3339_seconds(char out[32])
{
    format_time(out, 0);
}

static const struct {
    const char *name;
    unsigned bit;
} scope_names[] = {
    {"data:read", CS_SCOPE_DATA_READ},
    {"data:write", CS_SCOPE_DATA_WRITE},
    {"alerts:read", CS_SCOPE_ALERTS_READ},
    {"alerts:write", CS_SCOPE_ALERTS_WRITE},
};

unsigned cs_scope_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof scope_names / sizeof scope_names[0]; i++)
        if (strcmp(name, scope_names[i].name) == 0)
            return scope_names[i].bit;
    return 0;
}

const char *cs_scope_name(unsigned scope_bit)
{
    for (size_t i = 0; i < sizeof scope_names / sizeof scope_names[0]; i++)
        if (scope_names[i].bit == scope_bit)
            return scope_names[i].name;
    return "unknown";
}
