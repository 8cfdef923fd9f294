/*
 * test_data_token_oom.c — tokenizing an identity field when memory runs out (SQLite's and
 * curl's allocation-failure runs): jansson's N-th allocation fails, for every N until the call
 * needs no more. Each call either succeeds with the field's token and its tokenized_fields flag
 * stored together, or fails and leaves the row as it was; a token whose metadata does not say
 * so could never be detokenized.
 *
 * The tokenized_fields object used to be handed to the metadata with json_object_set_new
 * unchecked and written to afterwards: an allocation failure there stored the token without
 * its flag (and wrote into the freed object).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capp/db.h"
#include "capp/err.h"
#include "cloudsim/core.h"

#define INST "inst_t"

static sqlite3 *db;
static long allocs_left = -1; /* -1: no failure armed */
static int failed;            /* an allocation was refused since the last arming */

static void *failing_malloc(size_t n)
{
    if (allocs_left == 0) {
        failed = 1;
        return NULL;
    }
    if (allocs_left > 0)
        allocs_left--;
    return malloc(n);
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(setenv("CLOUDSIM_TOKENIZATION_SECRET", "0123456789abcdef0123456789abcdef", 1),
                     0);
    assert_int_equal(db_open(":memory:", 0, &db), 0);
    assert_int_equal(cs_data_migrate(db), 0);
    json_set_alloc_funcs(failing_malloc, free);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_set_alloc_funcs(malloc, free);
    db_close(db);
    return 0;
}

/* The stored first name and meta_data of the identity. */
static void row(const char *id, char *first_name, char *meta, size_t cap)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT first_name, meta_data FROM core_identities WHERE"
                                        " identity_id = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *f = (const char *)sqlite3_column_text(st, 0);
    const char *m = (const char *)sqlite3_column_text(st, 1);
    snprintf(first_name, cap, "%s", f ? f : "(null)");
    snprintf(meta, cap, "%s", m ? m : "(null)");
    sqlite3_finalize(st);
}

static void test_tokenize_when_memory_runs_out(void **state)
{
    (void)state;
    static const char *const fields[] = {"firstName"};
    int done = 0;
    for (long n = 0; n < 500 && !done; n++) {
        /* each round on a fresh identity with metadata of its own, so that the call has to
         * add tokenized_fields to it */
        json_t *body = json_loads(
            "{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"meta_data\":{\"tier\":\"gold\"}}",
            0, NULL);
        struct core_identity in;
        struct core_error err = {0};
        char dob[11], id[CORE_ID_BYTES];
        assert_int_equal(core_identity_from_json(body, &in, dob, &err), 0);
        assert_int_equal(core_identity_create(db, INST, &in, id, &err), 0);
        json_decref(body);
        char before_name[4096], before_meta[4096], name[4096], meta[4096];
        row(id, before_name, before_meta, sizeof before_name);

        allocs_left = n;
        failed = 0;
        memset(&err, 0, sizeof err);
        int rc = core_identity_tokenize(db, INST, id, fields, 1, &err);
        allocs_left = -1;
        done = !failed; /* the call needed fewer than n allocations: every point was tried */

        row(id, name, meta, sizeof name);
        if (rc != 0) {
            assert_true(failed);
            if (strcmp(name, before_name) != 0 || strcmp(meta, before_meta) != 0)
                fail_msg("allocation %ld failed (rc %d) yet the row changed: first_name %s, "
                         "meta_data %s",
                         n, rc, name, meta);
            continue;
        }
        json_t *m = json_loads(meta, 0, NULL);
        const char *tier = json_string_value(json_object_get(m, "tier"));
        if (strncmp(name, "FPT:", 4) != 0 ||
            !json_is_true(json_object_get(json_object_get(m, "tokenized_fields"), "FirstName")) ||
            !tier || strcmp(tier, "gold") != 0)
            fail_msg("with allocation %ld refused the call succeeded, and the row says first_name "
                     "%s, meta_data %s",
                     n, name, meta);
        json_decref(m);
        if (done)
            print_message("tokenize needs %ld jansson allocations; each refusal tried\n", n);
    }
    assert_true(done);
}

/* Metadata that cannot be read (jansson's answer when memory runs out while parsing, and
 * often without saying so; here a row whose text is not JSON) is never replaced by an empty
 * object with the token's flag: the call fails and the row stays as it was. */
static void test_unreadable_metadata_is_never_overwritten(void **state)
{
    (void)state;
    static const char *const fields[] = {"firstName"};
    json_t *body = json_loads("{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\"}", 0, NULL);
    struct core_identity in;
    struct core_error err = {0};
    char dob[11], id[CORE_ID_BYTES];
    assert_int_equal(core_identity_from_json(body, &in, dob, &err), 0);
    assert_int_equal(core_identity_create(db, INST, &in, id, &err), 0);
    json_decref(body);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "UPDATE core_identities SET meta_data = '{\"tier\":' WHERE"
                                        " identity_id = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    char name[4096], meta[4096];
    memset(&err, 0, sizeof err);
    assert_int_not_equal(core_identity_tokenize(db, INST, id, fields, 1, &err), 0);
    assert_int_equal(err.status, 500);
    row(id, name, meta, sizeof name);
    assert_string_equal(name, "Ada");
    assert_string_equal(meta, "{\"tier\":");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenize_when_memory_runs_out),
        cmocka_unit_test(test_unreadable_metadata_is_never_overwritten),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
