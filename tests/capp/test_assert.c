/*
 * test_assert.c — CAPP_ASSERT holds in every build (this test is compiled like the rest, with
 * NDEBUG or not) and says where it failed; COUNTOF counts what the array holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "capp/assert.h"
#include "capp/log.h"

static int checks_run;

static int counted(int v)
{
    checks_run++;
    return v;
}

static void test_assert_passes_and_evaluates_once(void **state)
{
    (void)state;
    checks_run = 0;
    CAPP_ASSERT(counted(1) == 1);
    assert_int_equal(checks_run, 1);
}

/* In a child: the failing assert must abort (SIGABRT) after one log line naming file and line. */
static void test_assert_failure_aborts_with_location(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int expected_line = __LINE__ + 7;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        log_set_fd(fds[1]);
        int two = 2;
        CAPP_ASSERT(two == 3);
        _exit(0); /* not reached when the assert works */
    }
    close(fds[1]);
    char out[2048];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof out - 1 && (r = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_non_null(strstr(out, "event=assert.failed"));
    assert_non_null(strstr(out, "test_assert.c"));
    char where[32];
    snprintf(where, sizeof where, "line=%d", expected_line);
    assert_non_null(strstr(out, where));
    assert_non_null(strstr(out, "\"two == 3\""));
}

static void test_countof(void **state)
{
    (void)state;
    static const char *const words[] = {"a", "b", "c"};
    struct pair {
        int x, y;
    } pairs[7];
    (void)pairs;
    assert_int_equal(COUNTOF(words), 3);
    assert_int_equal(COUNTOF(pairs), 7);
    assert_int_equal(COUNTOF(((const char *const[]){"x", "y"})), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assert_passes_and_evaluates_once),
        cmocka_unit_test(test_assert_failure_aborts_with_location),
        cmocka_unit_test(test_countof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
