/*
 * test_buf.c — the bounded buffer: the maximum is a hard limit hit exactly, a refused append
 * leaves the content as it was and sticks (every later append fails with the same error until
 * the buffer is reset), printf grows the storage, steal hands over and resets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "capp/buf.h"
#include "capp/err.h"

static void fill(char *p, size_t n, char c)
{
    memset(p, c, n);
}

static void test_init_is_empty(void **state)
{
    struct buf b;
    buf_init(&b, 100);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 100);
    buf_free(&b);
}

static void test_append_exactly_max_then_one_more(void **state)
{
    enum { MAX = 1000 };
    char src[MAX + 1];
    fill(src, sizeof src, 'x');
    struct buf b;
    buf_init(&b, MAX);
    assert_int_equal(buf_append(&b, src, MAX), 0);
    assert_int_equal(b.len, MAX);
    assert_int_equal(b.data[MAX], '\0');
    assert_true(b.cap <= MAX + 1);
    /* An empty append still fits a full buffer. */
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_int_equal(b.len, MAX);
    assert_int_equal(buf_failed(&b), 0);
    assert_int_equal(buf_append(&b, "y", 1), CAPP_ETOOBIG);
    assert_int_equal(b.len, MAX);
    assert_int_equal(b.data[MAX - 1], 'x');
    assert_int_equal(b.data[MAX], '\0');
    assert_int_equal(buf_failed(&b), CAPP_ETOOBIG);
    buf_free(&b);
}

static void test_append_max_plus_one_at_once_refused(void **state)
{
    enum { MAX = 257 };
    char src[MAX + 1];
    fill(src, sizeof src, 'a');
    struct buf b;
    buf_init(&b, MAX);
    assert_int_equal(buf_append_str(&b, "keep"), 0);
    assert_int_equal(buf_append(&b, src, MAX + 1 - 4), CAPP_ETOOBIG);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "keep");
    /* after a reset the same buffer takes exactly MAX */
    buf_reset(&b);
    assert_int_equal(buf_append_str(&b, "keep"), 0);
    assert_int_equal(buf_append(&b, src, MAX - 4), 0);
    assert_int_equal(b.len, MAX);
    assert_memory_equal(b.data, "keep", 4);
    buf_free(&b);
}

static void test_append_huge_length_does_not_wrap(void **state)
{
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append_str(&b, "abc"), 0);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX), CAPP_ETOOBIG);
    buf_reset(&b);
    assert_int_equal(buf_append_str(&b, "abc"), 0);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX - 2), CAPP_ETOOBIG);
    assert_string_equal(b.data, "abc");
    buf_free(&b);
}

static void test_zero_max_holds_only_empty(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_append(&b, "a", 1), CAPP_ETOOBIG);
    buf_reset(&b);
    assert_int_equal(buf_printf(&b, "%s", "a"), CAPP_ETOOBIG);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_binary_content_and_nul_termination(void **state)
{
    const char bytes[] = {'a', '\0', 'b', '\xff'};
    struct buf b;
    buf_init(&b, 16);
    assert_int_equal(buf_append(&b, bytes, sizeof bytes), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, bytes, 4);
    assert_int_equal(b.data[4], '\0');
    buf_free(&b);
}

static void test_printf_grows(void **state)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_printf(&b, "%04d,", i), 0);
    assert_int_equal(b.len, 5000);
    assert_true(b.cap >= b.len + 1);
    assert_memory_equal(b.data, "0000,0001,", 10);
    assert_string_equal(b.data + 4995, "0999,");
    assert_int_equal(strlen(b.data), 5000);
    buf_free(&b);
}

static void test_printf_limit_exact_and_over(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_printf(&b, "%d", 12345), 0);
    assert_int_equal(buf_printf(&b, "%s", "678901"), CAPP_ETOOBIG);
    assert_string_equal(b.data, "12345");
    assert_int_equal(b.len, 5);
    buf_reset(&b);
    assert_int_equal(buf_printf(&b, "%d", 12345), 0);
    assert_int_equal(buf_printf(&b, "%s", "67890"), 0);
    assert_string_equal(b.data, "1234567890");
    assert_int_equal(buf_printf(&b, "%s", ""), 0);
    assert_int_equal(buf_printf(&b, "%c", 'z'), CAPP_ETOOBIG);
    assert_string_equal(b.data, "1234567890");
    buf_free(&b);
}

/* curl's dynbuf rule: a failure sticks. Every later append fails with the first error, even
 * one that would fit, and changes nothing; buf_failed names the error; reset clears it. */
static void test_failure_sticks_until_reset(void **state)
{
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_failed(&b), 0);
    assert_int_equal(buf_append_str(&b, "head"), 0);
    assert_int_equal(buf_append_str(&b, "too long"), CAPP_ETOOBIG);
    assert_int_equal(buf_failed(&b), CAPP_ETOOBIG);
    assert_int_equal(buf_append_str(&b, "x"), CAPP_ETOOBIG);
    assert_int_equal(buf_append(&b, "y", 1), CAPP_ETOOBIG);
    assert_int_equal(buf_append(&b, "", 0), CAPP_ETOOBIG);
    assert_int_equal(buf_printf(&b, "%d", 7), CAPP_ETOOBIG);
    assert_string_equal(b.data, "head");
    assert_int_equal(b.len, 4);
    /* chained appends, checked once */
    int rc = buf_append_str(&b, "a");
    rc |= buf_append_str(&b, "b");
    assert_int_not_equal(rc, 0);
    assert_string_equal(b.data, "head");
    /* buf_fail keeps the first error */
    assert_int_equal(buf_fail(&b, CAPP_ENOMEM), CAPP_ETOOBIG);
    assert_int_equal(buf_failed(&b), CAPP_ETOOBIG);
    buf_reset(&b);
    assert_int_equal(buf_failed(&b), 0);
    assert_int_equal(buf_append_str(&b, "again"), 0);
    assert_string_equal(b.data, "again");
    /* a builder on top marks the buffer failed with its own error */
    assert_int_equal(buf_fail(&b, CAPP_ENOMEM), CAPP_ENOMEM);
    assert_int_equal(buf_append_str(&b, "x"), CAPP_ENOMEM);
    assert_string_equal(b.data, "again");
    /* steal and free forget the failure too */
    free(buf_steal(&b));
    assert_int_equal(buf_failed(&b), 0);
    assert_int_equal(buf_append_str(&b, "z"), 0);
    buf_free(&b);
    assert_int_equal(buf_failed(&b), 0);
}

static void test_reset_keeps_storage(void **state)
{
    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(buf_append_str(&b, "hello"), 0);
    char *data = b.data;
    size_t cap = b.cap;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_append_str(&b, "again"), 0);
    assert_string_equal(b.data, "again");
    buf_free(&b);
    /* reset of a never-used buffer is harmless */
    buf_init(&b, 100);
    buf_reset(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

static void test_steal_hands_over_and_resets(void **state)
{
    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(buf_printf(&b, "n=%d", 7), 0);
    char *s = buf_steal(&b);
    assert_string_equal(s, "n=7");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 100);
    /* usable again, with the same limit */
    assert_int_equal(buf_append_str(&b, "next"), 0);
    assert_string_equal(b.data, "next");
    assert_string_not_equal(s, b.data);
    free(s);
    buf_free(&b);
}

static void test_steal_empty_returns_empty_string(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    char *s = buf_steal(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

static void test_free_is_null_safe_and_idempotent(void **state)
{
    buf_free(NULL);
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_append_str(&b, "x"), 0);
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_url_value_keeps_unreserved_encodes_the_rest(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append_url_value(&b, "Az09-_.~ a/é&"), 0);
    assert_string_equal(b.data, "Az09-_.~%20a%2F%C3%A9%26");
    assert_int_equal(buf_append_url_value(&b, NULL), 0);
    assert_int_equal(b.len, strlen("Az09-_.~%20a%2F%C3%A9%26"));
    buf_free(&b);
    buf_init(&b, 4);
    assert_int_equal(buf_append_url_value(&b, "a b"), CAPP_ETOOBIG);
    assert_int_equal(buf_failed(&b), CAPP_ETOOBIG);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_is_empty),
        cmocka_unit_test(test_append_exactly_max_then_one_more),
        cmocka_unit_test(test_append_max_plus_one_at_once_refused),
        cmocka_unit_test(test_append_huge_length_does_not_wrap),
        cmocka_unit_test(test_zero_max_holds_only_empty),
        cmocka_unit_test(test_binary_content_and_nul_termination),
        cmocka_unit_test(test_printf_grows),
        cmocka_unit_test(test_printf_limit_exact_and_over),
        cmocka_unit_test(test_failure_sticks_until_reset),
        cmocka_unit_test(test_reset_keeps_storage),
        cmocka_unit_test(test_steal_hands_over_and_resets),
        cmocka_unit_test(test_steal_empty_returns_empty_string),
        cmocka_unit_test(test_free_is_null_safe_and_idempotent),
        cmocka_unit_test(test_url_value_keeps_unreserved_encodes_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
