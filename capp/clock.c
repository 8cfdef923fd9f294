#include "clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "limits.h"

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

/* n decimal digits at s, or -1. */
static int number(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil): no
 * timegm, whose time_t range and time-zone handling vary between C libraries. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int clock_parse_rfc3339(const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    if (len < 20 || len > CAPP_MAX_TIMESTAMP_BYTES)
        return CAPP_EPARSE;
    int year = number(s, 4), month = number(s + 5, 2), day = number(s + 8, 2);
    int hour = number(s + 11, 2), minute = number(s + 14, 2), second = number(s + 17, 2);
    if (year < 0 || s[4] != '-' || month < 1 || month > 12 || s[7] != '-' || day < 1 ||
        day > days_in_month(year, month) || (s[10] != 'T' && s[10] != 't') || hour < 0 ||
        hour > 23 || s[13] != ':' || minute < 0 || minute > 59 || s[16] != ':' || second < 0 ||
        second > 60)
        return CAPP_EPARSE;
    const char *p = s + 19;
    int millis = 0;
    if (*p == '.') {
        const char *start = ++p;
        for (; *p >= '0' && *p <= '9'; p++)
            if (p - start < 3)
                millis = millis * 10 + (*p - '0');
        if (p == start)
            return CAPP_EPARSE;
        for (ptrdiff_t n = p - start; n < 3; n++)
            millis *= 10;
    }
    int offset_minutes = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        offset_minutes = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh = number(p + 1, 2), om = number(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return CAPP_EPARSE;
        offset_minutes = (oh * 60 + om) * (*p == '+' ? 1 : -1);
    } else {
        return CAPP_EPARSE;
    }
    int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                      second - offset_minutes * 60;
    *ms = seconds * 1000 + millis;
    return 0;
}
