/* clock.h — wall-clock milliseconds (UTC) and RFC 3339 formatting, in one place. */
#ifndef CAPP_CLOCK_H
#define CAPP_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t clock_now_ms(void);
/* "2026-11-28T05:40:01.123Z" into out (at least 25 bytes). */
void clock_format_rfc3339(int64_t ms, char *out, size_t cap);

#endif
