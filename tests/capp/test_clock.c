/*
 * test_clock.c — capp/clock.h: the RFC 3339 forms every component writes (milliseconds for capp
 * and the logs, microseconds for cloudsim's Core store, whole seconds for Cloud's
 * uninstalled_at), truncation rather than rounding, times before 1970, a clock that agrees with
 * itself, and RFC 3339 parsing into UTC milliseconds (offsets, fractions, calendar checks) that
 * round-trips through the formatting.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "testsupport.h"

#include "capp/clock.h"
#include "capp/err.h"
#include "capp/limits.h"

/* 2026-11-28T05:40:01Z, computed independently of the code under test */
#define T0_SECONDS 1795844401LL

static void test_the_three_forms(void **state)
{
    char out[CLOCK_RFC3339_BYTES];
    int64_t us = T0_SECONDS * 1000000 + 123456;
    clock_format_rfc3339_us(us, 6, out, sizeof out);
    assert_string_equal(out, "2026-11-28T05:40:01.123456Z");
    clock_format_rfc3339_us(us, 3, out, sizeof out);
    assert_string_equal(out, "2026-11-28T05:40:01.123Z");
    clock_format_rfc3339_us(us, 0, out, sizeof out);
    assert_string_equal(out, "2026-11-28T05:40:01Z");
    clock_format_rfc3339(T0_SECONDS * 1000 + 999, out, sizeof out);
    assert_string_equal(out, "2026-11-28T05:40:01.999Z"); /* truncated, never rounded up */
    clock_format_rfc3339(0, out, sizeof out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    clock_format_rfc3339_us(7, 6, out, sizeof out);
    assert_string_equal(out, "1970-01-01T00:00:00.000007Z");
}

static void test_before_1970(void **state)
{
    char out[CLOCK_RFC3339_BYTES];
    clock_format_rfc3339(-1, out, sizeof out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    clock_format_rfc3339_us(-1500000, 6, out, sizeof out);
    assert_string_equal(out, "1969-12-31T23:59:58.500000Z");
}

static void test_text_order_is_time_order(void **state)
{
    char a[CLOCK_RFC3339_BYTES], b[CLOCK_RFC3339_BYTES];
    clock_format_rfc3339_us(T0_SECONDS * 1000000 + 999999, 6, a, sizeof a);
    clock_format_rfc3339_us((T0_SECONDS + 1) * 1000000, 6, b, sizeof b);
    assert_true(strcmp(a, b) < 0);
    assert_int_equal(strlen(a), strlen(b));
}

static void test_small_buffer_is_terminated(void **state)
{
    char out[11];
    clock_format_rfc3339(T0_SECONDS * 1000, out, sizeof out);
    assert_string_equal(out, "2026-11-28");
}

static void test_now_agrees_with_time(void **state)
{
    /* Not time(NULL): glibc serves it from the coarse clock, which can still show the previous
     * second after CLOCK_REALTIME has moved on. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t before = (int64_t)ts.tv_sec;
    int64_t ms = clock_now_ms(), us = clock_now_us();
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t after = (int64_t)ts.tv_sec;
    assert_true(ms / 1000 >= before && ms / 1000 <= after);
    assert_true(us / 1000000 >= before && us / 1000000 <= after);
    assert_true(us / 1000 >= ms);
}

static void expect_utc(const char *text, const char *utc)
{
    int64_t ms = -1;
    if (clock_parse_rfc3339(text, &ms) != 0)
        fail_msg("refused %s", text);
    char out[40];
    clock_format_rfc3339(ms, out, sizeof out);
    if (strcmp(out, utc) != 0)
        fail_msg("%s gave %s, expected %s", text, out, utc);
}

static void test_parse_to_utc(void **state)
{
    expect_utc("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z");
    expect_utc("2026-04-21T12:00:00Z", "2026-04-21T12:00:00.000Z");
    expect_utc("2026-04-21t12:00:00z", "2026-04-21T12:00:00.000Z");
    expect_utc("2026-04-21T14:00:00+02:00", "2026-04-21T12:00:00.000Z");
    expect_utc("2026-04-21T12:00:00-00:00", "2026-04-21T12:00:00.000Z");
    expect_utc("2026-04-21T00:15:00+01:00", "2026-04-20T23:15:00.000Z");
    expect_utc("2026-12-31T22:00:00-05:00", "2027-01-01T03:00:00.000Z");
    expect_utc("2026-04-21T12:00:00.1Z", "2026-04-21T12:00:00.100Z");
    expect_utc("2026-04-21T12:00:00.987654321Z", "2026-04-21T12:00:00.987Z");
    expect_utc("2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000Z");
    expect_utc("2000-02-29T12:00:00Z", "2000-02-29T12:00:00.000Z");
    expect_utc("2016-12-31T23:59:60Z", "2017-01-01T00:00:00.000Z"); /* leap second */
    expect_utc("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500Z");
    expect_utc("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z");
    int64_t ms;
    assert_int_equal(clock_parse_rfc3339("2026-04-21T12:00:00Z", &ms), 0);
    assert_int_equal(ms, 1776772800000LL);
}

static void test_parse_refusals(void **state)
{
    static const char *const bad[] = {
        "",
        "2026-04-21",
        "2026-04-21T12:00:00",
        "2026-04-21 12:00:00Z",
        "2026-04-21T12:00Z",
        "2026-02-29T12:00:00Z",
        "1900-02-29T12:00:00Z",
        "2026-04-31T12:00:00Z",
        "2026-13-01T12:00:00Z",
        "2026-04-21T24:00:00Z",
        "2026-04-21T12:60:00Z",
        "2026-04-21T12:00:61Z",
        "2026-04-21T12:00:00.Z",
        "2026-04-21T12:00:00+2:00",
        "2026-04-21T12:00:00+0200",
        "2026-04-21T12:00:00+24:00",
        "2026-04-21T12:00:00+02:60",
        "2026-04-21T12:00:00+02:00Z",
        "2026-04-21T12:00:00ZZ",
        "2026-04-21T12:00:00Z ",
        "+2026-04-21T12:00:00Z",
        "2026-04-21T12:00:00,5Z",
        "yesterday at noon, UTC",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 42;
        if (clock_parse_rfc3339(bad[i], &ms) != CAPP_EPARSE)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(ms, 42); /* nothing written */
    }
    /* the length limit counts */
    char longest[CAPP_MAX_TIMESTAMP_BYTES + 2];
    memcpy(longest, "2026-04-21T12:00:00.", 20);
    memset(longest + 20, '1', CAPP_MAX_TIMESTAMP_BYTES - 21);
    strcpy(longest + CAPP_MAX_TIMESTAMP_BYTES - 1, "Z");
    int64_t ms;
    assert_int_equal(clock_parse_rfc3339(longest, &ms), 0);
    memset(longest + 20, '1', CAPP_MAX_TIMESTAMP_BYTES - 20);
    strcpy(longest + CAPP_MAX_TIMESTAMP_BYTES, "Z");
    assert_int_equal(clock_parse_rfc3339(longest, &ms), CAPP_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_three_forms),
        cmocka_unit_test(test_before_1970),
        cmocka_unit_test(test_text_order_is_time_order),
        cmocka_unit_test(test_small_buffer_is_terminated),
        cmocka_unit_test(test_now_agrees_with_time),
        cmocka_unit_test(test_parse_to_utc),
        cmocka_unit_test(test_parse_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
