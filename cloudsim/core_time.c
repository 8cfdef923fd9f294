/*
 * core_time.c — the Core store's clock and its RFC 3339 parser (see core_time.h).
 *
 * Stored timestamps have one fixed-width UTC form (microseconds, always "Z") so that text
 * order is time order in SQL; the parser brings any RFC 3339 offset and fraction, or a bare
 * date, to that form. The filter engine (core_filter_sql.c) needs only this, not the store.
 */
#include "cloudsim/core_time.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "capp/clock.h"
#include "capp/err.h"

void core_now(char out[CORE_TIME_BYTES])
{
    clock_format_rfc3339_us(clock_now_us(), 6, out, CORE_TIME_BYTES);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

/* Parses date [T time [fraction] zone]; fills broken-down UTC fields. */
static int parse_rfc3339(const char *s, int *y, int *mo, int *d, int *h, int *mi, int *sec,
                         long *usec, int *date_only)
{
    size_t n = strlen(s);
    if (n < 10 || !digits(s, 4, y) || s[4] != '-' || !digits(s + 5, 2, mo) || s[7] != '-' ||
        !digits(s + 8, 2, d))
        return CAPP_EPARSE;
    if (*mo < 1 || *mo > 12 || *d < 1 || *d > days_in_month(*y, *mo))
        return CAPP_EPARSE;
    *h = *mi = *sec = 0;
    *usec = 0;
    *date_only = n == 10;
    if (n == 10)
        return 0;
    if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || n < 20 || !digits(s + 11, 2, h) ||
        s[13] != ':' || !digits(s + 14, 2, mi) || s[16] != ':' || !digits(s + 17, 2, sec) ||
        *h > 23 || *mi > 59 || *sec > 60)
        return CAPP_EPARSE;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        int count = 0;
        long frac = 0;
        while (isdigit((unsigned char)*p)) {
            if (count < 6) {
                frac = frac * 10 + (*p - '0');
                count++;
            }
            p++;
        }
        if (count == 0)
            return CAPP_EPARSE;
        while (count++ < 6)
            frac *= 10;
        *usec = frac;
    }
    int offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
            return CAPP_EPARSE;
        offset = (oh * 60 + om) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return CAPP_EPARSE;
    }
    if (*p)
        return CAPP_EPARSE;
    if (offset) {
        struct tm tm = {0};
        tm.tm_year = *y - 1900;
        tm.tm_mon = *mo - 1;
        tm.tm_mday = *d;
        tm.tm_hour = *h;
        tm.tm_min = *mi - offset;
        tm.tm_sec = *sec;
        time_t t = timegm(&tm);
        gmtime_r(&t, &tm);
        *y = tm.tm_year + 1900;
        *mo = tm.tm_mon + 1;
        *d = tm.tm_mday;
        *h = tm.tm_hour;
        *mi = tm.tm_min;
        *sec = tm.tm_sec;
    }
    return 0;
}

int core_parse_date(const char *s, char out[11])
{
    int y, mo, d, h, mi, sec, date_only;
    long usec;
    if (parse_rfc3339(s, &y, &mo, &d, &h, &mi, &sec, &usec, &date_only))
        return CAPP_EPARSE;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", y, mo, d);
    snprintf(out, 11, "%.10s", tmp);
    return 0;
}

int core_parse_time(const char *s, char out[CORE_TIME_BYTES])
{
    int y, mo, d, h, mi, sec, date_only;
    long usec;
    if (parse_rfc3339(s, &y, &mo, &d, &h, &mi, &sec, &usec, &date_only))
        return CAPP_EPARSE;
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", y, mo, d, h, mi, sec, usec);
    snprintf(out, CORE_TIME_BYTES, "%.39s", tmp);
    return 0;
}
