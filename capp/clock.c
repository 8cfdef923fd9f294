#include "clock.h"

#include <stdio.h>
#include <time.h>

int64_t clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void clock_format_rfc3339_us(int64_t us, int fraction_digits, char *out, size_t cap)
{
    int64_t seconds = us / 1000000, fraction = us % 1000000;
    if (fraction < 0) { /* before 1970: the second before, plus a positive fraction */
        seconds--;
        fraction += 1000000;
    }
    time_t t = (time_t)seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    char frac[8] = "";
    if (fraction_digits == 3)
        snprintf(frac, sizeof frac, ".%03d", (int)(fraction / 1000));
    else if (fraction_digits == 6)
        snprintf(frac, sizeof frac, ".%06d", (int)fraction);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

void clock_format_rfc3339(int64_t ms, char *out, size_t cap)
{
    clock_format_rfc3339_us(ms * 1000, 3, out, cap);
}
