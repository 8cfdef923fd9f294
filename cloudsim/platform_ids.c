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

#include "capp/crypto.h"
#include "capp/clock.h"
#include "capp/assert.h"
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
    return clock_now_ms();
}

void cs_now_rfc3339(char out[32])
{
    clock_format_rfc3339(clock_now_ms(), out, 32);
}

void cs_now_rfc3339_seconds(char out[32])
{
    clock_format_rfc3339_us(clock_now_us(), 0, out, 32);
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
    for (size_t i = 0; i < COUNTOF(scope_names); i++)
        if (strcmp(name, scope_names[i].name) == 0)
            return scope_names[i].bit;
    return 0;
}

const char *cs_scope_name(unsigned scope_bit)
{
    for (size_t i = 0; i < COUNTOF(scope_names); i++)
        if (scope_names[i].bit == scope_bit)
            return scope_names[i].name;
    return "unknown";
}
