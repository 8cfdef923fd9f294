/*
 * capp/country.h — country names and codes to ISO 3166-1 alpha-2, for anything that reads
 * country fields written by people or by other systems (sanctions lists, customer records).
 *
 * The names come from Debian's iso-codes table (COUNTRY_ISO_JSON: alpha-2, alpha-3, name,
 * common_name, official_name, and the part of a name before its comma: "Iran, Islamic
 * Republic of" is also "Iran"), plus the spellings lists use that ISO does not ("Burma",
 * "Korea, North", "Russia", "Ivory Coast", ...). Loaded once on first use, thread-safe;
 * without the iso-codes file only those spellings resolve.
 */
#ifndef CAPP_COUNTRY_H
#define CAPP_COUNTRY_H

#include <stddef.h>

#define COUNTRY_ISO_JSON "/usr/share/iso-codes/json/iso_3166-1.json"

/* Lower-case ASCII letters, words separated by one space; every other ASCII byte separates
 * words, non-ASCII bytes are dropped ("Côte d'Ivoire" → "cte d ivoire"). Returns the length
 * written to out (cap bytes, always NUL-terminated when cap > 0). */
size_t country_squash(const char *s, char *out, size_t cap);

/* "IR", "irn", "Iran", "Iran (Islamic Republic of)", "IRAN, ISLAMIC REPUBLIC OF" → "IR" in
 * out (upper case). 1 when s resolves, 0 when not (out ""). */
int country_code(const char *s, char out[3]);

#endif
