/*
 * serve's --db TARGET: a SQLite path or a PostgreSQL connection string, which may carry a user
 * and password. capp_serve_describe_db is the only account of it that reaches a log or a
 * message; these tests check what it shows and that no secret part ever gets through, in the
 * function and in a real server process that fails to reach its database or, with --pg (CTest
 * capp_serve_db_pg, on the fixture's server), refuses the master key.
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capp/err.h"
#include "capp/limits.h"
#include "capp/serve.h"
#include "capp/sql.h"
#include "serve_fixture.h"

static void describe(const char *target, char *out, size_t cap)
{
    capp_serve_describe_db(target, out, cap);
}

static void test_sqlite_path_is_shown_as_is(void **state)
{
    char out[CAPP_SERVE_DB_DESCRIPTION_BYTES];
    describe("/var/lib/kyc/kyc.db", out, sizeof out);
    assert_string_equal(out, "sqlite /var/lib/kyc/kyc.db");
    describe("kyc.db", out, sizeof out);
    assert_string_equal(out, "sqlite kyc.db");
}

static void test_url_shows_host_port_dbname_only(void **state)
{
    char out[CAPP_SERVE_DB_DESCRIPTION_BYTES];
    describe("postgresql://kycapp:S3cretPw@db.example.com:6432/kyc"
             "?sslmode=require&application_name=replica1",
             out, sizeof out);
    assert_string_equal(out, "postgresql host=db.example.com port=6432 dbname=kyc");
    describe("postgres://kycapp:S3cretPw@db.example.com/kyc", out, sizeof out);
    assert_string_equal(out, "postgresql host=db.example.com dbname=kyc");
}

static void test_keywords_show_host_port_dbname_only(void **state)
{
    char out[CAPP_SERVE_DB_DESCRIPTION_BYTES];
    describe("host=/run/pg port=5433 user=kycapp password='S3cret pw' dbname=kyc", out, sizeof out);
    assert_string_equal(out, "postgresql host=/run/pg port=5433 dbname=kyc");
    /* a password given as a URL parameter, percent-encoded in the user info */
    describe("postgresql://kycapp:p%40ss@10.0.0.5/kyc?password=Other", out, sizeof out);
    assert_string_equal(out, "postgresql host=10.0.0.5 dbname=kyc");
    describe("dbname=kyc password=S3cret", out, sizeof out);
    assert_string_equal(out, "postgresql dbname=kyc");
}

/* libpq's parse error quotes the string: none of it is shown. */
static void test_unparsable_string_shows_nothing_of_it(void **state)
{
    char out[CAPP_SERVE_DB_DESCRIPTION_BYTES];
    describe("host=/run/pg password='S3cret", out, sizeof out);
    assert_string_equal(out, "postgresql (unparsable connection string)");
    describe("postgresql://kycapp:S3cret@[::1/kyc", out, sizeof out);
    assert_string_equal(out, "postgresql (unparsable connection string)");
}

static void test_description_is_truncated_and_terminated(void **state)
{
    char out[24];
    memset(out, 'x', sizeof out);
    describe("postgresql://kycapp:S3cret@db.example.com:6432/kyc", out, 20);
    assert_int_equal(strlen(out), 19);
    assert_memory_equal(out, "postgresql host=db.", 19);
    assert_int_equal(out[20], 'x'); /* nothing written past cap */
    describe("/a/very/long/path/to/kyc.db", out, 12);
    assert_string_equal(out, "sqlite /a/v");
}

/* Runs the test app's serve with target as CAPP_TEST_DB (NULL: unset) and the given master key,
 * and with --db flag_db when flag_db is not NULL, until it exits; returns its wait status and
 * its output (stdout and stderr) in *log_text. */
static int run_serve_flag(const char *target, const char *flag_db, const char *key, char **log_text)
{
    char dir[256], log[320];
    ts_tmpdir(dir, sizeof dir);
    snprintf(log, sizeof log, "%s/serve.log", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || chdir(dir) != 0)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv(TEST_ENV_MASTER_KEY, key, 1);
        if (target)
            setenv("CAPP_TEST_DB", target, 1);
        else
            unsetenv("CAPP_TEST_DB");
        const char *argv[] = {
            CAPP_TESTAPP, "serve",       "--listen",           "127.0.0.1:0",           "--app-id",
            TEST_APP_ID,  "--cloud-url", "http://127.0.0.1:9", flag_db ? "--db" : NULL, flag_db,
            NULL};
        execv(CAPP_TESTAPP, (char **)argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *log_text = ts_read_file(log, NULL);
    assert_non_null(*log_text);
    return status;
}

static int run_serve(const char *target, const char *key, char **log_text)
{
    return run_serve_flag(target, NULL, key, log_text);
}

static void expect_no_credentials(const char *log)
{
    if (strstr(log, "S3cretPw") || strstr(log, "kycapp"))
        fail_msg("the output holds the connection string's credentials:\n%s", log);
}

/* A replica that cannot reach its PostgreSQL server exits, naming the server, and neither its
 * log nor its messages hold the password or the user. */
static void test_unreachable_server_is_named_without_credentials(void **state)
{
    /* port 9 (discard) on loopback: nothing listens, the connection is refused at once */
    char *log = NULL;
    int status = run_serve("postgresql://kycapp:S3cretPw@127.0.0.1:9/kyc?connect_timeout=2",
                           TEST_MASTER_KEY, &log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 127)
        fail_msg("serve should fail to start without its database; output:\n%s", log);
    if (!strstr(log, "postgresql host=127.0.0.1 port=9 dbname=kyc"))
        fail_msg("the output does not name the database server:\n%s", log);
    expect_no_credentials(log);
    free(log);
}

/* A connection string of exactly len bytes carrying a password: "host=127.0.0.1 port=9
 * password=S3cretPw options='-c application_name=xxx…'". */
static char *connection_string_of(size_t len)
{
    static const char head[] = "host=127.0.0.1 port=9 password=S3cretPw options='-c "
                               "application_name=";
    assert_true(len > sizeof head);
    char *s = malloc(len + 1);
    assert_non_null(s);
    memcpy(s, head, sizeof head - 1);
    memset(s + sizeof head - 1, 'x', len - sizeof head);
    s[len - 1] = '\'';
    s[len] = '\0';
    return s;
}

/* A SQLite path of exactly len bytes (absolute; the directory need not exist). */
static char *sqlite_path_of(size_t len)
{
    char *s = malloc(len + 1);
    assert_non_null(s);
    memset(s, 'd', len);
    for (size_t i = 0; i < len; i += 100)
        s[i] = '/';
    memcpy(s + len - 3, ".db", 3);
    s[len] = '\0';
    return s;
}

static void test_check_db_limits(void **state)
{
    char why[300];
    assert_int_equal(sql_check_target("/var/lib/kyc/kyc.db", why, sizeof why), 0);
    assert_int_equal(sql_check_target("postgresql://db/kyc", why, sizeof why), 0);
    assert_int_equal(sql_check_target(":memory:", why, sizeof why), 0);
    assert_int_equal(sql_check_target("", why, sizeof why), CAPP_EINVAL);
    assert_non_null(strstr(why, "is empty"));

    /* a connection string: CAPP_MAX_DB_TARGET_BYTES, and nothing of it in the reason */
    char *s = connection_string_of(CAPP_MAX_DB_TARGET_BYTES);
    assert_int_equal(sql_check_target(s, why, sizeof why), 0);
    free(s);
    s = connection_string_of(CAPP_MAX_DB_TARGET_BYTES + 1);
    assert_int_equal(sql_check_target(s, why, sizeof why), CAPP_ETOOBIG);
    assert_string_equal(why, "is 4097 bytes long; at most 4096 are accepted");
    free(s);

    /* a SQLite path: 504 bytes is the longest SQLite 3's unix VFS opens (512 less "-journal") */
    s = sqlite_path_of(504);
    assert_int_equal(sql_check_target(s, why, sizeof why), 0);
    free(s);
    s = sqlite_path_of(505);
    assert_int_equal(sql_check_target(s, why, sizeof why), CAPP_ETOOBIG);
    assert_non_null(strstr(why, "SQLite path of 505 bytes once made absolute; SQLite opens at"
                                " most 504"));
    assert_null(strstr(why, "ddd"));
    free(s);

    /* a relative path counts the working directory and the '/' after it */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    size_t room = 504 - strlen(cwd) - 1;
    s = malloc(room + 2);
    assert_non_null(s);
    memset(s, 'r', room + 1);
    s[room] = '\0';
    assert_int_equal(sql_check_target(s, why, sizeof why), 0);
    s[room] = 'r';
    s[room + 1] = '\0';
    assert_int_equal(sql_check_target(s, why, sizeof why), CAPP_ETOOBIG);
    free(s);
}

/* The limit's edge on a real SQLite: the longest path the check accepts opens (journal, WAL and
 * all), and one byte more does not, so the check refuses nothing SQLite would open. */
static void test_sqlite_opens_exactly_what_the_check_accepts(void **state)
{
    char dir[600], why[300];
    ts_tmpdir(dir, 256);
    /* before the two parts below are appended: a long TMPDIR would overflow dir */
    if (strlen(dir) + 2 * 201 >= 490)
        fail_msg("the temporary directory %s is too long for this test", dir);
    /* two directories of 200 bytes below it: a name in a directory has at most 255 */
    for (int i = 0; i < 2; i++) {
        size_t used = strlen(dir);
        dir[used] = '/';
        memset(dir + used + 1, 'a' + i, 200);
        dir[used + 201] = '\0';
        assert_int_equal(mkdir(dir, 0700), 0);
    }
    assert_true(strlen(dir) + 1 + 255 >= 505 && strlen(dir) < 490); /* the file name fits */
    for (size_t len = 504; len <= 505; len++) {
        char path[600];
        size_t used = (size_t)snprintf(path, sizeof path, "%s/", dir);
        memset(path + used, 'p', len - used - 3);
        memcpy(path + len - 3, ".db", 4);
        assert_int_equal(strlen(path), len);
        sqlite3 *db = NULL;
        int rc = sqlite3_open(path, &db);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(db,
                              "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES(1)",
                              NULL, NULL, NULL);
        sqlite3_close(db);
        int accepted = sql_check_target(path, why, sizeof why) == 0;
        if ((rc == SQLITE_OK) != accepted)
            fail_msg("a %zu-byte path: SQLite %s it, the check %s it", len,
                     rc == SQLITE_OK ? "opens" : "refuses", accepted ? "accepts" : "refuses");
        assert_int_equal(accepted, len == 504);
    }
}

/* serve refuses a target over the limits before opening anything, naming the flag or the
 * variable, with exit 2 (a usage error) and without quoting the target. */
static void test_serve_refuses_too_long_targets(void **state)
{
    char *log = NULL;
    char *s = connection_string_of(CAPP_MAX_DB_TARGET_BYTES + 1);
    int status = run_serve(s, TEST_MASTER_KEY, &log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 2 ||
        !strstr(log, "serve: CAPP_TEST_DB is 4097 bytes long; at most 4096 are accepted"))
        fail_msg("serve should refuse a 4097-byte CAPP_TEST_DB with exit 2; output:\n%s", log);
    expect_no_credentials(log);
    free(log);
    status = run_serve_flag(NULL, s, TEST_MASTER_KEY, &log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 2 ||
        !strstr(log, "serve: --db is 4097 bytes long; at most 4096 are accepted"))
        fail_msg("serve should refuse a 4097-byte --db with exit 2; output:\n%s", log);
    expect_no_credentials(log);
    free(log);
    free(s);

    s = sqlite_path_of(505);
    status = run_serve_flag("ignored.db", s, TEST_MASTER_KEY, &log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 2 ||
        !strstr(log, "serve: --db is a SQLite path of 505 bytes once made absolute; SQLite "
                     "opens at most 504"))
        fail_msg("serve should refuse a 505-byte SQLite path with exit 2; output:\n%s", log);
    free(log);
    free(s);

    status = run_serve_flag(NULL, "", TEST_MASTER_KEY, &log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 2 || !strstr(log, "serve: --db is empty"))
        fail_msg("serve should refuse an empty --db with exit 2; output:\n%s", log);
    free(log);
}

/* --pg (the CTest fixture's server): the master key check fails on a real database, and its
 * message names the database without the password the connection string carries. */
static void test_wrong_master_key_names_the_database_without_credentials(void **state)
{
    char db[200], target[300];
    testsupport_pg_db("serve_db_key", db, sizeof db);
    /* The test server trusts local connections: the password is carried, never needed. */
    snprintf(target, sizeof target, "%s password=S3cretPw application_name=kycapp", db);
    struct serve_fixture f = {0};
    ts_tmpdir(f.dir, sizeof f.dir);
    snprintf(f.db, sizeof f.db, "%s", target);
    snprintf(f.log, sizeof f.log, "%s/first.log", f.dir);
    serve_start(&f, NULL); /* writes the check value with TEST_MASTER_KEY */
    serve_stop(&f);
    char *log = ts_read_file(f.log, NULL);
    assert_non_null(log);
    expect_no_credentials(log);
    free(log);

    int status =
        run_serve(target, "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100", &log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 2)
        fail_msg("serve should exit 2 for a wrong master key; output:\n%s", log);
    if (!strstr(log, "wrong master key for postgresql host="))
        fail_msg("the output does not name the database:\n%s", log);
    expect_no_credentials(log);
    free(log);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--pg") == 0) {
        const struct CMUnitTest pg[] = {
            cmocka_unit_test(test_wrong_master_key_names_the_database_without_credentials),
        };
        return cmocka_run_group_tests(pg, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_path_is_shown_as_is),
        cmocka_unit_test(test_url_shows_host_port_dbname_only),
        cmocka_unit_test(test_keywords_show_host_port_dbname_only),
        cmocka_unit_test(test_unparsable_string_shows_nothing_of_it),
        cmocka_unit_test(test_description_is_truncated_and_terminated),
        cmocka_unit_test(test_unreachable_server_is_named_without_credentials),
        cmocka_unit_test(test_check_db_limits),
        cmocka_unit_test(test_sqlite_opens_exactly_what_the_check_accepts),
        cmocka_unit_test(test_serve_refuses_too_long_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
