/*
 * test_clock.c — capp/clock.h: the RFC 3339 forms every component writes (milliseconds for capp
 * and the logs, microseconds for cloudsim's Core store, whole seconds for Cloud's
 * uninstalled_at), truncation rather than rounding, times before 1970, and a clock that agrees
 * with itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "capp/clock.h"

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
    int64_t before = (int64_t)time(NULL);
    int64_t ms = clock_now_ms(), us = clock_now_us();
    int64_t after = (int64_t)time(NULL);
    assert_true(ms / 1000 >= before && ms / 1000 <= after);
    assert_true(us / 1000000 >= before && us / 1000000 <= after);
    assert_true(us / 1000 >= ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_three_forms),
        cmocka_unit_test(test_before_1970),
        cmocka_unit_test(test_text_order_is_time_order),
        cmocka_unit_test(test_small_buffer_is_terminated),
        cmocka_unit_test(test_now_agrees_with_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
