/*
 * test_clock.c — RFC 3339 parsing into UTC milliseconds (offsets, fractions, calendar checks)
 * and the formatting it round-trips through.
 */
#include <stdio.h>
#include <string.h>

#include "testsupport.h"

#include "capp/clock.h"
#include "capp/err.h"
#include "capp/limits.h"

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
        cmocka_unit_test(test_parse_to_utc),
        cmocka_unit_test(test_parse_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
