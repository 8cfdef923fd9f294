/*
 * test_serve_keys.c — the master key checks of a real capp server (the test app) at start-up
 * (spec D30): each refusal exits with status 2 before the server listens, with a message that
 * names the problem; the accepted cases start (the log's server.listening line).
 *
 *   - a second, valid-format key against a database set up with the first: refused;
 *   - a database with installs but no check value (as before the check existed) under a wrong
 *     key: refused, naming an install; under the right key it starts and gets its check value;
 *   - an all-zero key, from the environment or a key file: refused;
 *   - a key file readable by group or others: refused, saying 0600 or 0400; 0600 and 0400 start;
 *   - rotation: "new\nold" starts and reseals the check value; the new key alone then starts;
 *   - the database file serve creates is mode 0600.
 */
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capp/assert.h"
#include "serve_fixture.h"

#define KEY_B   "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f"
#define ZEROS   "0000000000000000000000000000000000000000000000000000000000000000"
#define API_KEY "blnk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

struct run {
    int started;   /* the server printed server.listening (then it was stopped) */
    int exit_code; /* when it did not start */
    char out[4096];
};

/* Runs the test app's serve on db with the key from its environment (env_key) or a key file
 * (key_file, when not NULL), until it listens or exits. */
static void run_serve(const char *db, const char *env_key, const char *key_file, struct run *r)
{
    char dir[256], log[320];
    ts_tmpdir(dir, sizeof dir);
    snprintf(log, sizeof log, "%s/out.log", dir);
    const char *argv[16] = {
        CAPP_TESTAPP,  "serve", "--app-id", TEST_APP_ID,   "--listen",
        "127.0.0.1:0", "--db",  db,         "--cloud-url", "http://127.0.0.1:9"};
    int n = 10;
    if (key_file) {
        argv[n++] = "--master-key-file";
        argv[n++] = key_file;
    }
    argv[n] = NULL;
    char envbuf[200];
    snprintf(envbuf, sizeof envbuf, TEST_ENV_MASTER_KEY "=%s", env_key ? env_key : "");
    const char *env[] = {envbuf, NULL};
    memset(r, 0, sizeof *r);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        for (const char *const *e = env; *e; e++)
            putenv((char *)*e);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    for (int i = 0; i < 400; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            assert_true(WIFEXITED(status));
            r->exit_code = WEXITSTATUS(status);
            break;
        }
        if (ts_file_contains(log, "event=server.listening")) {
            r->started = 1;
            kill(pid, SIGTERM);
            waitpid(pid, &status, 0);
            break;
        }
        ts_sleep_ms(50);
    }
    if (!r->started && !WIFEXITED(status)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("the test app neither started nor exited in 20 s");
    }
    char *text = ts_read_file(log, NULL);
    snprintf(r->out, sizeof r->out, "%s", text ? text : "");
    free(text);
}

static void expect_refused(const struct run *r, const char *needle)
{
    if (r->started)
        fail_msg("the test app started; expected a refusal mentioning \"%s\"", needle);
    if (r->exit_code != 2 || !strstr(r->out, needle))
        fail_msg("exit %d, expected 2 with \"%s\"; output:\n%s", r->exit_code, needle, r->out);
}

static void expect_started(const struct run *r)
{
    if (!r->started)
        fail_msg("the test app did not start (exit %d):\n%s", r->exit_code, r->out);
}

static void db_path(char *out, size_t cap)
{
    char dir[256];
    ts_tmpdir(dir, sizeof dir);
    snprintf(out, cap, "%s/app.db", dir);
}

static void key_file(const char *contents, mode_t mode, char *out, size_t cap)
{
    char dir[256];
    ts_tmpdir(dir, sizeof dir);
    snprintf(out, cap, "%s/master.key", dir);
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    fputs(contents, f);
    fclose(f);
    assert_int_equal(chmod(out, mode), 0);
}

static void sql(const char *db, const char *statement)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    char *err = NULL;
    if (sqlite3_exec(h, statement, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", statement, err ? err : "?");
    sqlite3_close(h);
}

static void check_value_key_id(const char *db, char *out, size_t cap)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(h, "SELECT substr(sealed, 4, 16) FROM capp_key_check", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);
}

static void test_wrong_key_refused(void **state)
{
    (void)state;
    char db[320];
    struct run r;
    db_path(db, sizeof db);
    run_serve(db, TEST_MASTER_KEY, NULL, &r);
    expect_started(&r);
    struct stat st;
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* the database serve created is private */
    run_serve(db, KEY_B, NULL, &r);
    expect_refused(&r, "wrong master key");
    expect_refused(&r, "does not open the check value");
    run_serve(db, TEST_MASTER_KEY, NULL, &r);
    expect_started(&r);
}

static void test_sealed_keys_checked_without_check_value(void **state)
{
    (void)state;
    struct serve_fixture f = {0};
    serve_start(&f, NULL);
    serve_install(&f, "instapp_keycheck", API_KEY);
    serve_stop(&f);
    /* a database from before the check value existed */
    sql(f.db, "DELETE FROM capp_key_check");
    struct run r;
    run_serve(f.db, KEY_B, NULL, &r);
    expect_refused(&r, "cannot open 1 of the 1 sealed API keys");
    expect_refused(&r, "instapp_keycheck");
    run_serve(f.db, TEST_MASTER_KEY, NULL, &r);
    expect_started(&r);
    char id[32];
    check_value_key_id(f.db, id, sizeof id); /* given its check value now */
    assert_int_equal(strlen(id), 16);
}

static void test_zero_key_refused(void **state)
{
    (void)state;
    char db[320], file[320];
    struct run r;
    db_path(db, sizeof db);
    run_serve(db, ZEROS, NULL, &r);
    expect_refused(&r, TEST_ENV_MASTER_KEY " is all zeros");
    key_file(ZEROS "\n", 0600, file, sizeof file);
    run_serve(db, NULL, file, &r);
    expect_refused(&r, "line 1 is all zeros");
}

static void test_key_file_mode(void **state)
{
    (void)state;
    char db[320], file[320];
    struct run r;
    db_path(db, sizeof db);
    static const mode_t loose[] = {0644, 0640, 0604, 0660, 0602};
    for (size_t i = 0; i < COUNTOF(loose); i++) {
        key_file(TEST_MASTER_KEY "\n", loose[i], file, sizeof file);
        run_serve(db, NULL, file, &r);
        expect_refused(&r, "it must be 0600 or 0400");
        char mode[16];
        snprintf(mode, sizeof mode, "mode %04o", (unsigned)loose[i]);
        expect_refused(&r, mode);
    }
    key_file(TEST_MASTER_KEY "\n", 0600, file, sizeof file);
    run_serve(db, NULL, file, &r);
    expect_started(&r);
    key_file(TEST_MASTER_KEY "\n", 0400, file, sizeof file);
    run_serve(db, NULL, file, &r);
    expect_started(&r);
}

static void test_rotation(void **state)
{
    (void)state;
    char db[320], both[320], new_only[320], old_id[32], new_id[32];
    struct run r;
    db_path(db, sizeof db);
    run_serve(db, TEST_MASTER_KEY, NULL, &r);
    expect_started(&r);
    check_value_key_id(db, old_id, sizeof old_id);
    key_file(KEY_B "\n" TEST_MASTER_KEY "\n", 0600, both, sizeof both);
    run_serve(db, NULL, both, &r);
    expect_started(&r);
    check_value_key_id(db, new_id, sizeof new_id);
    assert_string_not_equal(old_id, new_id); /* resealed with the new primary key */
    assert_non_null(strstr(r.out, "check_value=resealed"));
    key_file(KEY_B "\n", 0400, new_only, sizeof new_only);
    run_serve(db, NULL, new_only, &r);
    expect_started(&r);
    run_serve(db, TEST_MASTER_KEY, NULL, &r);
    expect_refused(&r, "does not open the check value");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_key_refused),
        cmocka_unit_test(test_sealed_keys_checked_without_check_value),
        cmocka_unit_test(test_zero_key_refused),
        cmocka_unit_test(test_key_file_mode),
        cmocka_unit_test(test_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
