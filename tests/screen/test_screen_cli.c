/*
 * test_screen_cli.c — `kyc screen` and `kyc lists` through the real kyc-screen binary: exit
 * codes, error lines naming the bad input, JSON and batch output, fetch from file:// URLs
 * (valid, then truncated: refused and the previous files kept), list dates (never a file's
 * mtime: the fetched Last-Modified, `PATH@YYYY-MM-DD`, the file's own date), progress on a
 * terminal only (a pseudo-terminal as stderr, then a pipe).
 */
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include "screen_test.h"

static char out_path[] = "/tmp/screen-cli-out-XXXXXX";
static char err_path[] = "/tmp/screen-cli-err-XXXXXX";
static char *out_text, *err_text;

/* Runs kyc-screen with `args` (shell-quoted by the caller); returns the exit code. */
static int run(const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s >%s 2>%s", SCREEN_CLI, args, out_path, err_path);
    int st = system(cmd);
    free(out_text);
    free(err_text);
    size_t n;
    out_text = read_all(out_path, &n);
    err_text = read_all(err_path, &n);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char lists_args[2048];

static int setup(void **state)
{
    (void)state;
    int fd = mkstemp(out_path);
    close(fd);
    fd = mkstemp(err_path);
    close(fd);
    char a[512], b[512];
    snprintf(lists_args, sizeof lists_args, "--lists '%s' --lists '%s'",
             fixture("ofac", a, sizeof a), fixture("un.xml", b, sizeof b));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(out_path);
    unlink(err_path);
    free(out_text);
    free(err_text);
    return 0;
}

static void test_usage(void **state)
{
    (void)state;
    assert_int_equal(run("screen --dir /nonexistent"), 2);
    assert_non_null(strstr(err_text, "no lists directory found"));
    char args[4096];
    snprintf(args, sizeof args, "screen %s", lists_args);
    assert_int_equal(run(args), 2);
    assert_non_null(strstr(err_text, "a NAME or --batch is required"));
    assert_int_equal(run("bogus"), 2);
    assert_non_null(strstr(err_text, "unknown command \"bogus\""));
    snprintf(args, sizeof args, "screen %s --type robot 'X'", lists_args);
    assert_int_equal(run(args), 2);
    assert_non_null(strstr(err_text, "--type \"robot\""));
    snprintf(args, sizeof args, "screen %s --dob 31/12/1970 'X'", lists_args);
    assert_int_equal(run(args), 2);
    assert_non_null(strstr(err_text, "--dob \"31/12/1970\""));
    snprintf(args, sizeof args, "screen %s --top 5000 'X'", lists_args);
    assert_int_equal(run(args), 2);
    assert_non_null(strstr(err_text, "--top \"5000\""));
    snprintf(args, sizeof args, "screen %s --frobnicate 'X'", lists_args);
    assert_int_equal(run(args), 2);
    assert_non_null(strstr(err_text, "--frobnicate"));
}

/* NaN passes both `v < lo` and `v > hi` as false: every float flag refuses every non-finite
 * spelling, naming the flag. */
static void test_non_finite_numbers(void **state)
{
    (void)state;
    static const char *const flags[] = {"--min-score", "--top"};
    static const char *const values[] = {"nan", "NaN", "-nan", "inf", "-inf", "infinity", "1e999"};
    for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++)
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
            char args[4096], needle[64];
            snprintf(args, sizeof args, "screen %s %s %s 'Kim Jong Un'", lists_args, flags[f],
                     values[v]);
            int rc = run(args);
            snprintf(needle, sizeof needle, "%s \"%s\"", flags[f], values[v]);
            if (rc != 2 || !strstr(err_text, needle))
                fail_msg("%s %s: exit %d, stderr: %s", flags[f], values[v], rc, err_text);
        }
}

static void test_screen_name(void **state)
{
    (void)state;
    char args[4096];
    snprintf(args, sizeof args, "screen %s 'Ayman al Zawahiri' --dob 1951-06-19", lists_args);
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out_text, "ofac:2676"));
    assert_non_null(strstr(out_text, "dob_match"));
    assert_non_null(strstr(out_text, "ayman~ayman"));
    snprintf(args, sizeof args, "screen %s --json --type individual 'Saddam Hussein'", lists_args);
    assert_int_equal(run(args), 0);
    json_t *j = json_loads(out_text, 0, NULL);
    assert_non_null(j);
    json_t *m0 = json_array_get(json_object_get(j, "matches"), 0);
    assert_string_equal(json_string_value(json_object_get(m0, "entry_id")), "un:IQi.001");
    json_decref(j);
}

static void test_bad_lists(void **state)
{
    (void)state;
    assert_int_equal(run("screen --lists /nonexistent/un.xml 'X'"), 1);
    assert_non_null(strstr(err_text, "cannot load lists: /nonexistent/un.xml"));
    char p[512];
    char args[4096];
    snprintf(args, sizeof args, "screen --lists '%s' 'X'", fixture("ofac/sdn.csv", p, sizeof p));
    assert_int_equal(run(args), 1); /* a CSV file is not a UN XML file */
    assert_non_null(strstr(err_text, "sdn.csv"));
}

static void test_batch(void **state)
{
    (void)state;
    char in[] = "/tmp/screen-batch-XXXXXX";
    int fd = mkstemp(in);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"id\":\"c1\",\"name\":\"Ayman al Zawahiri\",\"dob\":\"1951\","
               "\"type\":\"individual\"}\n");
    fprintf(f, "{\"id\":\"c2\",\"name\":\"Jane Doe\",\"country\":\"GB\"}\n");
    fprintf(f, "not json\n");
    fprintf(f, "{\"id\":\"c4\",\"name\":\"X\",\"type\":\"robot\"}\n");
    fprintf(f, "{\"id\":\"c5\",\"name\":\"");
    for (unsigned i = 0; i < SCREEN_MAX_BATCH_LINE_BYTES; i++)
        fputc('a', f);
    fprintf(f, "\"}\n");
    fclose(f);
    char args[4096];
    snprintf(args, sizeof args, "screen %s --batch %s", lists_args, in);
    assert_int_equal(run(args), 1); /* some lines failed */
    unlink(in);
    /* one JSON line out per line in */
    char *save, *line = strtok_r(out_text, "\n", &save);
    int n = 0;
    const char *bands[5] = {0};
    json_t *objs[5] = {0};
    while (line && n < 5) {
        objs[n] = json_loads(line, 0, NULL);
        assert_non_null(objs[n]);
        bands[n] = json_string_value(json_object_get(objs[n], "band"));
        n++;
        line = strtok_r(NULL, "\n", &save);
    }
    assert_int_equal(n, 5);
    assert_string_equal(json_string_value(json_object_get(objs[0], "id")), "c1");
    assert_string_equal(bands[0], "hit");
    assert_string_equal(bands[1], "clear");
    assert_non_null(strstr(json_string_value(json_object_get(objs[2], "error")), "line 3"));
    assert_non_null(strstr(json_string_value(json_object_get(objs[3], "error")), "\"type\""));
    assert_string_equal(json_string_value(json_object_get(objs[3], "id")), "c4");
    assert_string_equal(json_string_value(json_object_get(objs[4], "code")), "too_large");
    for (int i = 0; i < 5; i++)
        json_decref(objs[i]);
    /* stderr is a file here, not a terminal: no progress line among the errors */
    assert_null(strstr(err_text, "queries"));
    assert_null(strchr(err_text, '\r'));
    assert_non_null(strstr(err_text, "line 3: invalid JSON"));
}

static void test_lists_status_and_fetch(void **state)
{
    (void)state;
    char args[4096];
    snprintf(args, sizeof args, "lists status %s", lists_args);
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out_text, "ofac-sdn"));
    assert_non_null(strstr(out_text, "un-consolidated"));
    assert_non_null(strstr(out_text, "sha256"));

    /* a fake publisher: the official upper-case names under a file:// base URL, the SDN and
     * the Consolidated sets (the latter the same fixture rows under its own names), files
     * last modified on 2025-12-01 */
    char src[] = "/tmp/screen-src-XXXXXX", dst[] = "/tmp/screen-lists-XXXXXX";
    assert_non_null(mkdtemp(src));
    assert_non_null(mkdtemp(dst));
    char p[512], cmd[8192];
    fixture("ofac", p, sizeof p);
    snprintf(cmd, sizeof cmd,
             "cp '%s/sdn.csv' %s/SDN.CSV && cp '%s/alt.csv' %s/ALT.CSV && cp '%s/add.csv' "
             "%s/ADD.CSV && cp '%s/sdn_comments.csv' %s/SDN_COMMENTS.CSV && cp '%s' %s/un.xml && "
             "cp '%s/sdn.csv' %s/CONS_PRIM.CSV && cp '%s/alt.csv' %s/CONS_ALT.CSV && "
             "cp '%s/add.csv' %s/CONS_ADD.CSV && cp '%s/sdn_comments.csv' %s/CONS_COMMENTS.CSV && "
             "touch -d '2025-12-01 12:00:00 UTC' %s/*",
             p, src, p, src, p, src, p, src, SCREEN_FIXTURES "/un.xml", src, p, src, p, src, p, src,
             p, src, src);
    assert_int_equal(system(cmd), 0);
    snprintf(args, sizeof args,
             "lists fetch --dir %s --ofac-url file://%s/ --un-url file://%s/un.xml", dst, src, src);
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out_text, "un-consolidated"));
    /* the dates: the publisher's Last-Modified for the CSV sets (their files have none), the
     * UN file's own; the local files' mtime (now) is never used */
    assert_non_null(strstr(out_text, "ofac-sdn         date 2025-12-01 (fetched)"));
    assert_non_null(strstr(out_text, "ofac-cons        date 2025-12-01 (fetched)"));
    assert_non_null(strstr(out_text, "un-consolidated  date 2026-02-27 (content)"));
    assert_null(strchr(err_text, '\r')); /* no progress into a file */
    /* without a recorded date: "unknown", unless given with the path */
    snprintf(cmd, sizeof cmd,
             "mkdir %s/cons && mv %s/CONS_PRIM.CSV %s/cons/cons_prim.csv && "
             "mv %s/CONS_ALT.CSV %s/cons/cons_alt.csv && "
             "mv %s/CONS_ADD.CSV %s/cons/cons_add.csv",
             src, src, src, src, src, src, src);
    assert_int_equal(system(cmd), 0);
    snprintf(args, sizeof args, "lists status --lists %s/cons", src);
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out_text, "ofac-cons        date unknown (unknown)  records 11"));
    snprintf(args, sizeof args, "lists status --lists %s/cons@2025-11-30", src);
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out_text, "ofac-cons        date 2025-11-30 (given)"));
    snprintf(args, sizeof args, "lists status --lists %s/cons@2025-11-31", src); /* no such day */
    assert_int_equal(run(args), 1);
    /* now publish a truncated UN file: refused, the previous one stays */
    snprintf(cmd, sizeof cmd, "head -c 900 %s/un.xml > %s/bad.xml", src, src);
    assert_int_equal(system(cmd), 0);
    snprintf(args, sizeof args, "lists fetch --dir %s --un-only --un-url file://%s/bad.xml", dst,
             src);
    assert_int_equal(run(args), 1);
    assert_non_null(strstr(err_text, "refused, previous kept"));
    snprintf(args, sizeof args, "lists status --dir %s", dst);
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out_text, "un-consolidated  date 2026-02-27 (content)  records 5"));
    /* a missing file on the publisher side */
    snprintf(args, sizeof args, "lists fetch --dir %s --un-only --un-url file://%s/none.xml", dst,
             src);
    assert_int_equal(run(args), 1);
    assert_non_null(strstr(err_text, "none.xml"));
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", src, dst);
    assert_int_equal(system(cmd), 0);
}

/* Runs kyc-screen with stderr on a pseudo-terminal (stdout to a file); returns what the
 * terminal received. */
static char *run_on_tty(char *const argv[])
{
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, STDOUT_FILENO);
        execv(SCREEN_CLI, argv);
        _exit(127);
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = calloc(1, cap);
    for (;;) {
        struct pollfd pfd = {master, POLLIN, 0};
        if (poll(&pfd, 1, 10000) <= 0)
            break;
        ssize_t n = read(master, buf + len, cap - len - 1);
        if (n <= 0)
            break; /* EIO once the child has gone */
        len += (size_t)n;
    }
    int st;
    waitpid(pid, &st, 0);
    close(master);
    buf[len] = '\0';
    return buf;
}

static void test_progress_on_a_terminal(void **state)
{
    (void)state;
    char in[] = "/tmp/screen-batch-tty-XXXXXX";
    int fd = mkstemp(in);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 3; i++)
        fprintf(f, "{\"id\":\"c%d\",\"name\":\"Ayman al Zawahiri\"}\n", i);
    fclose(f);
    char a[512], b[512];
    char *argv[] = {"kyc-screen", "screen",
                    "--lists",    (char *)fixture("ofac", a, sizeof a),
                    "--lists",    (char *)fixture("un.xml", b, sizeof b),
                    "--batch",    in,
                    NULL};
    char *tty = run_on_tty(argv);
    unlink(in);
    assert_non_null(strstr(tty, "kyc screen: 3 queries"));
    free(tty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_non_finite_numbers),
        cmocka_unit_test(test_screen_name),
        cmocka_unit_test(test_bad_lists),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_lists_status_and_fetch),
        cmocka_unit_test(test_progress_on_a_terminal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
