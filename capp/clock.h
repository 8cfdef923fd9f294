/*
 * clock.h — wall-clock time (UTC) and its RFC 3339 text (formatting and parsing), in one place for
 * records and log lines, the apps' records, cloudsim's platform and Core timestamps.
 *
 * The forms in use are all "YYYY-MM-DDTHH:MM:SS[.f]Z" in UTC with a fixed number of fraction
 * digits, so that text order is time order: 3 (milliseconds: capp, logs, cloudsim's platform), 6
 * (microseconds: cloudsim's Core store, as Blnk Core writes them) or 0 (whole seconds: cloudsim's
 * uninstalled_at, as Cloud sends it).
 */
#ifndef CAPP_CLOCK_H
#define CAPP_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define CLOCK_RFC3339_BYTES 32 /* room for any of the forms above and the NUL */

int64_t clock_now_ms(void);
int64_t clock_now_us(void);
/* "2026-11-28T05:40:01.123Z" into out (at least 25 bytes). */
void clock_format_rfc3339(int64_t ms, char *out, size_t cap);
/* Parses an RFC 3339 date-time ("YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)", 't' and 'z'
 * accepted) of at most CAPP_MAX_TIMESTAMP_BYTES into UTC milliseconds since the epoch;
 * fractions beyond milliseconds are truncated, a leap second counts as the next second.
 * Returns 0, or CAPP_EPARSE (nothing written) for anything else, dates like 02-30 included. */
int clock_parse_rfc3339(const char *s, int64_t *ms);
/* The time us (microseconds since the epoch) with fraction_digits 3 or 6 (truncated, not
 * rounded), any other value giving none: "2026-11-28T05:40:01Z", "….123Z", "….123456Z". */
void clock_format_rfc3339_us(int64_t us, int fraction_digits, char *out, size_t cap);

#endif
