/*
 * test_log.c — structured log lines: redaction by key whatever the value, quoting and escaping
 * so a value can never forge another key or another line, value and line limits, and one
 * write per line under threads. Output is captured by pointing log_set_fd at a temp file.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsupport.h"

#include "capp/assert.h"
#include "capp/limits.h"
#include "capp/log.h"

static int capture_fd = -1;
static char capture_dir[512];
static char capture_path[600];

static int setup(void **state)
{
    ts_tmpdir(capture_dir, sizeof capture_dir);
    snprintf(capture_path, sizeof capture_path, "%s/log.txt", capture_dir);
    capture_fd = open(capture_path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (capture_fd < 0)
        return -1;
    log_set_fd(capture_fd);
    log_set_level(LOG_INFO);
    return 0;
}

static int teardown(void **state)
{
    log_set_fd(2);
    log_set_level(LOG_INFO);
    close(capture_fd);
    unlink(capture_path);
    rmdir(capture_dir);
    return 0;
}

/* Returns everything written since the previous call (malloc'd, NUL-terminated). */
static char *take_output(size_t *len)
{
    off_t end = lseek(capture_fd, 0, SEEK_END);
    char *out = malloc((size_t)end + 1);
    assert_non_null(out);
    ssize_t n = pread(capture_fd, out, (size_t)end, 0);
    assert_int_equal(n, end);
    out[n] = '\0';
    assert_int_equal(ftruncate(capture_fd, 0), 0);
    if (len)
        *len = (size_t)n;
    return out;
}

/* Exactly one line, ending in its only '\n'. */
static char *take_line(void)
{
    size_t len;
    char *line = take_output(&len);
    assert_true(len > 0);
    assert_int_equal(line[len - 1], '\n');
    assert_ptr_equal(memchr(line, '\n', len), line + len - 1);
    return line;
}

/*
 * Splits a line into its keys the way a log reader would: tokens separated by spaces outside
 * double quotes, with backslash escapes inside quotes. Returns the key count.
 */
static int parse_keys(const char *line, char keys[][80], char values[][600], int max)
{
    int n = 0;
    const char *p = line;
    while (*p && *p != '\n') {
        assert_true(n < max);
        const char *eq = strchr(p, '=');
        assert_non_null(eq);
        size_t klen = (size_t)(eq - p);
        assert_true(klen < 80);
        memcpy(keys[n], p, klen);
        keys[n][klen] = '\0';
        assert_null(memchr(keys[n], ' ', klen));
        p = eq + 1;
        size_t v = 0;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\')
                    p++;
                values[n][v++] = *p++;
            }
            assert_int_equal(*p, '"');
            p++;
            while (*p && *p != ' ' && *p != '\n') /* "..." after a cut value */
                values[n][v++] = *p++;
        } else {
            while (*p && *p != ' ' && *p != '\n')
                values[n][v++] = *p++;
        }
        values[n][v] = '\0';
        n++;
        if (*p == ' ')
            p++;
    }
    return n;
}

static void test_line_format(void **state)
{
    log_info("unit.started", "req", "r1", "n", "42", NULL);
    char *line = take_line();
    char keys[8][80], values[8][600];
    int n = parse_keys(line, keys, values, 8);
    assert_int_equal(n, 5);
    assert_string_equal(keys[0], "ts");
    assert_int_equal(strlen(values[0]), 24); /* 2026-11-28T05:40:01.123Z */
    assert_int_equal(values[0][10], 'T');
    assert_int_equal(values[0][23], 'Z');
    assert_string_equal(keys[1], "level");
    assert_string_equal(values[1], "info");
    assert_string_equal(keys[2], "event");
    assert_string_equal(values[2], "unit.started");
    assert_string_equal(keys[3], "req");
    assert_string_equal(values[3], "r1");
    assert_string_equal(keys[4], "n");
    assert_string_equal(values[4], "42");
    free(line);
}

static void test_levels_filter(void **state)
{
    log_set_level(LOG_WARN);
    log_info("hidden", NULL);
    log_debug("hidden", NULL);
    size_t len;
    char *out = take_output(&len);
    assert_int_equal(len, 0);
    free(out);
    log_warn("shown.warn", NULL);
    char *line = take_line();
    assert_non_null(strstr(line, " level=warn event=shown.warn\n"));
    free(line);
    log_error("shown.error", NULL);
    line = take_line();
    assert_non_null(strstr(line, " level=error event=shown.error\n"));
    free(line);
    log_set_level(LOG_DEBUG);
    log_debug("shown.debug", NULL);
    line = take_line();
    assert_non_null(strstr(line, " level=debug event=shown.debug\n"));
    free(line);
}

static void test_every_redacted_key_whatever_value(void **state)
{
    static const char *const keys[] = {"api_key", "token",         "authorization", "cookie",
                                       "session", "secret",        "password",      "master_key",
                                       "csrf",    "launch_token",  "session_token", "set-cookie",
                                       "API_KEY", "Authorization", "Set-Cookie"};
    static const char *const values[] = {"blnk_SECRETVALUE", "", "a b \"c\"", "x\ny", NULL};
    for (size_t k = 0; k < COUNTOF(keys); k++) {
        assert_true(log_key_is_redacted(keys[k]));
        for (size_t v = 0; v < COUNTOF(values); v++) {
            log_info("redaction", keys[k], values[v], NULL);
            char *line = take_line();
            char expect[128];
            snprintf(expect, sizeof expect, " %s=[redacted]\n", keys[k]);
            if (!strstr(line, expect))
                fail_msg("key %s not redacted: %s", keys[k], line);
            if (values[v] && values[v][0])
                assert_null(strstr(line, values[v]));
            assert_null(strstr(line, "SECRET"));
            free(line);
        }
    }
}

static void test_near_keys_not_redacted(void **state)
{
    /* the prefix is meant to be logged (spec §4); only exact key names are redacted */
    assert_false(log_key_is_redacted("api_key_prefix"));
    assert_false(log_key_is_redacted("installed_app_id"));
    assert_false(log_key_is_redacted("tokens"));
    log_info("install.ok", "api_key_prefix", "blnk_abc", NULL);
    char *line = take_line();
    assert_non_null(strstr(line, " api_key_prefix=blnk_abc\n"));
    free(line);
}

static void check_value(const char *value, const char *expected_text)
{
    log_info("quote", "k", value, NULL);
    char *line = take_line();
    const char *at = strstr(line, " k=");
    assert_non_null(at);
    char expect[1024];
    snprintf(expect, sizeof expect, " k=%s\n", expected_text);
    if (strcmp(at, expect) != 0)
        fail_msg("value [%s] logged as [%s], expected [%s]", value, at, expect);
    free(line);
}

static void test_quoting_and_escaping(void **state)
{
    check_value("plain", "plain");
    check_value("café", "café");
    check_value("a b", "\"a b\"");
    check_value("say \"hi\"", "\"say \\\"hi\\\"\"");
    check_value("a=b", "\"a=b\"");
    check_value("back\\slash", "\"back\\\\slash\"");
    check_value("", "\"\"");
    check_value("tab\there", "\"tab\\x09here\"");
    check_value("cr\rlf\n", "\"cr\\x0dlf\\x0a\"");
    check_value("\x01\x1f\x7f", "\"\\x01\\x1f\\x7f\"");
    check_value(NULL, "-");
}

static void test_value_cannot_forge_key_or_line(void **state)
{
    static const char *const attacks[] = {
        "x level=error event=forged",
        "x\nts=2026-01-01T00:00:00.000Z level=error event=forged",
        "x\" event=forged",
        "x\\\" event=forged",
        "\" api_key=leak",
        "x\r\nevent=forged",
    };
    for (size_t i = 0; i < COUNTOF(attacks); i++) {
        log_info("forge", "k", attacks[i], "after", "1", NULL);
        char *line = take_line();
        char keys[8][80], values[8][600];
        int n = parse_keys(line, keys, values, 8);
        assert_int_equal(n, 5);
        assert_string_equal(keys[3], "k");
        assert_string_equal(keys[4], "after");
        assert_string_equal(values[4], "1");
        free(line);
    }
    /* the event name is escaped the same way */
    log_info("ev\nlevel=error", "k", "v", NULL);
    char *line = take_line();
    char keys[8][80], values[8][600];
    assert_int_equal(parse_keys(line, keys, values, 8), 4);
    free(line);
}

static void test_value_truncated_at_limit(void **state)
{
    char value[CAPP_LOG_VALUE_MAX + 50];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    log_info("cut", "k", value, NULL);
    char *line = take_line();
    char expect[CAPP_LOG_VALUE_MAX + 16];
    memset(expect, 'v', CAPP_LOG_VALUE_MAX);
    strcpy(expect + CAPP_LOG_VALUE_MAX, "...\n");
    const char *at = strstr(line, " k=");
    assert_non_null(at);
    assert_string_equal(at + 3, expect);
    free(line);

    /* exactly at the limit: whole, no marker */
    value[CAPP_LOG_VALUE_MAX] = '\0';
    log_info("cut", "k", value, NULL);
    line = take_line();
    assert_null(strstr(line, "..."));
    at = strstr(line, " k=");
    assert_int_equal(strlen(at + 3), CAPP_LOG_VALUE_MAX + 1);
    free(line);

    /* a quoted value is cut at the limit too, closing its quote */
    memset(value, ' ', CAPP_LOG_VALUE_MAX + 10);
    value[CAPP_LOG_VALUE_MAX + 10] = '\0';
    log_info("cut", "k", value, NULL);
    line = take_line();
    at = strstr(line, " k=\"");
    assert_non_null(at);
    assert_int_equal(strlen(at + 4), CAPP_LOG_VALUE_MAX + 5); /* spaces + "..." + '\n' */
    assert_string_equal(at + 4 + CAPP_LOG_VALUE_MAX, "\"...\n");
    free(line);
}

static void test_line_length_capped(void **state)
{
    char big[CAPP_LOG_VALUE_MAX + 1];
    memset(big, '\x01', CAPP_LOG_VALUE_MAX); /* each byte becomes 4 characters */
    big[CAPP_LOG_VALUE_MAX] = '\0';
    log_info("long", "a", big, "b", big, "c", big, "api_key", "blnk_SECRET", NULL);
    size_t len;
    char *line = take_output(&len);
    assert_int_equal(len, CAPP_LOG_LINE_MAX);
    assert_int_equal(line[len - 1], '\n');
    assert_ptr_equal(memchr(line, '\n', len), line + len - 1);
    assert_null(strstr(line, "SECRET"));
    free(line);
}

static void test_long_key_cut(void **state)
{
    char key[100];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    log_info("key", key, "v", NULL);
    char *line = take_line();
    const char *end = strstr(line, "=v\n");
    assert_non_null(end);
    int run = 0;
    while (end - run - 1 >= line && end[-run - 1] == 'k')
        run++;
    assert_int_equal(run, 64);
    assert_int_equal(end[-run - 1], ' ');
    free(line);
}

struct writer_arg {
    int id;
};

#define THREADS          8
#define LINES_PER_THREAD 300

static void *writer(void *p)
{
    struct writer_arg *a = p;
    char id[16], pad[200];
    snprintf(id, sizeof id, "%d", a->id);
    memset(pad, 'a' + a->id, sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < LINES_PER_THREAD; i++)
        log_info("thread.line", "t", id, "pad", pad, NULL);
    return NULL;
}

static void test_threads_never_interleave(void **state)
{
    pthread_t threads[THREADS];
    struct writer_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i].id = i;
        assert_int_equal(pthread_create(&threads[i], NULL, writer, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    size_t len;
    char *out = take_output(&len);
    int counts[THREADS] = {0};
    int lines = 0;
    for (char *p = out, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        *nl = '\0';
        int t = -1;
        char *at = strstr(p, " t=");
        assert_non_null(at);
        t = atoi(at + 3);
        assert_true(t >= 0 && t < THREADS);
        const char *pad = strstr(p, " pad=");
        assert_non_null(pad);
        assert_int_equal(strlen(pad + 5), 199);
        for (int i = 0; i < 199; i++)
            assert_int_equal(pad[5 + i], 'a' + t);
        assert_int_equal(strncmp(p, "ts=", 3), 0);
        counts[t]++;
        lines++;
    }
    assert_int_equal(lines, THREADS * LINES_PER_THREAD);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(counts[i], LINES_PER_THREAD);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_format),
        cmocka_unit_test(test_levels_filter),
        cmocka_unit_test(test_every_redacted_key_whatever_value),
        cmocka_unit_test(test_near_keys_not_redacted),
        cmocka_unit_test(test_quoting_and_escaping),
        cmocka_unit_test(test_value_cannot_forge_key_or_line),
        cmocka_unit_test(test_value_truncated_at_limit),
        cmocka_unit_test(test_line_length_capped),
        cmocka_unit_test(test_long_key_cut),
        cmocka_unit_test(test_threads_never_interleave),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
