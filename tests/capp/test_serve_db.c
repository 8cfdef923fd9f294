/*
 * serve's --db TARGET: a SQLite path or a PostgreSQL connection string, which may carry a user
 * and password. capp_serve_describe_db is the only account of it that reaches a log or a
 * message; these tests check what it shows and that no secret part ever gets through.
 */
#include <stdio.h>
#include <string.h>

#include "capp/serve.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_path_is_shown_as_is),
        cmocka_unit_test(test_url_shows_host_port_dbname_only),
        cmocka_unit_test(test_keywords_show_host_port_dbname_only),
        cmocka_unit_test(test_unparsable_string_shows_nothing_of_it),
        cmocka_unit_test(test_description_is_truncated_and_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
