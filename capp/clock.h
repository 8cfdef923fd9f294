/* clock.h — wall-clock milliseconds (UTC) and RFC 3339 formatting and parsing, in one place. */
#ifndef CAPP_CLOCK_H
#define CAPP_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t clock_now_ms(void);
/* "2026-11-28T05:40:01.123Z" into out (at least 25 bytes). */
void clock_format_rfc3339(int64_t ms, char *out, size_t cap);
/* Parses an RFC 3339 date-time ("YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)", 't' and 'z'
 * accepted) of at most CAPP_MAX_TIMESTAMP_BYTES into UTC milliseconds since the epoch;
 * fractions beyond milliseconds are truncated, a leap second counts as the next second.
 * Returns 0, or CAPP_EPARSE (nothing written) for anything else, dates like 02-30 included. */
int clock_parse_rfc3339(const char *s, int64_t *ms);

#endif
