/*
 * core_time.h — the Core store's clock and time parsing: every stored timestamp has the one
 * fixed-width UTC form "YYYY-MM-DDTHH:MM:SS.ffffffZ", so text order is time order.
 */
#ifndef CLOUDSIM_CORE_TIME_H
#define CLOUDSIM_CORE_TIME_H

#define CORE_TIME_BYTES 40 /* "2026-01-15T09:22:37.557630Z" + NUL */

/* Current time as "YYYY-MM-DDTHH:MM:SS.ffffffZ". */
void core_now(char out[CORE_TIME_BYTES]);
/* Parses "YYYY-MM-DD" or an RFC 3339 timestamp: writes the date part "YYYY-MM-DD".
 * Returns 0 or CAPP_EPARSE. */
int core_parse_date(const char *s, char out[11]);
/* Parses RFC 3339 (any offset, optional fraction) or a bare date into the canonical UTC form
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ" used for stored timestamps. Returns 0 or CAPP_EPARSE. */
int core_parse_time(const char *s, char out[CORE_TIME_BYTES]);

#endif
