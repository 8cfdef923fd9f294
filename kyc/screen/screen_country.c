/*
 * screen_country.c — one comparable key per country, whether written as an ISO 3166 code or
 * as a name ("IR", "IRN", "Iran", "Iran, Islamic Republic of" → "ir").
 *
 * Names and codes resolve through capp/country.h (Debian's iso-codes table plus the list
 * spellings ISO does not use: "Korea, North", "Burma", ...), shared with cloudsim's seeder. A
 * string that resolves to nothing keys as its own letters, so two identical unknown names
 * still compare equal.
 */
#include <string.h>

#include "capp/country.h"
#include "kyc/screen/screen_internal.h"

size_t screen_country_key(const char *s, char *out, size_t cap)
{
    char sq[256];
    size_t n = country_squash(s, sq, sizeof sq);
    if (!n || cap < 3) {
        if (cap)
            out[0] = '\0';
        return 0;
    }
    char code[3];
    if (country_code(s, code)) {
        out[0] = (char)(code[0] - 'A' + 'a');
        out[1] = (char)(code[1] - 'A' + 'a');
        out[2] = '\0';
        return 2;
    }
    /* "possibly Palestinian", "Giza, Egypt": try the last word group after a comma */
    const char *comma = strrchr(s, ',');
    if (comma && comma[1])
        return screen_country_key(comma + 1, out, cap);
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(out, sq, k);
    out[k] = '\0';
    return k;
}
