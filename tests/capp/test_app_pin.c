/*
 * test_app_pin.c — the app pin (spec D1'): loaded from the store or --app-id at start-up (the
 * flag replaces a stored pin), noted once by the first install, never changed after; a pin
 * another replica's first install stored in the shared database is found while unset.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testsupport.h"

#include "capp/app_pin.h"
#include "capp/err.h"
#include "capp/store.h"

static struct store *open_store(char *path, size_t cap)
{
    char dir[512];
    ts_tmpdir(dir, sizeof dir);
    snprintf(path, cap, "%s/capp.db", dir);
    struct store *s = NULL;
    assert_int_equal(store_sqlite_open(path, &s), 0);
    return s;
}

static void test_note_once(void **state)
{
    struct app_pin pin;
    app_pin_init(&pin);
    assert_null(app_pin_get(&pin));
    assert_int_equal(app_pin_note(&pin, "app_a"), 1);
    const char *got = app_pin_get(&pin);
    assert_string_equal(got, "app_a");
    assert_int_equal(app_pin_note(&pin, "app_b"), 0);
    assert_ptr_equal(app_pin_get(&pin), got); /* stable: callers keep the pointer */
    assert_string_equal(app_pin_get(&pin), "app_a");
    app_pin_destroy(&pin);
}

static void test_load(void **state)
{
    char path[600];
    struct store *s = open_store(path, sizeof path);
    struct app_pin pin;
    /* nothing stored, no flag: unpinned, and nothing written */
    app_pin_init(&pin);
    assert_int_equal(app_pin_load(&pin, s, NULL), 0);
    assert_null(app_pin_get(&pin));
    char stored[STORE_ID_CAP];
    assert_int_equal(store_app_pin_get(s, stored), CAPP_ENOTFOUND);
    app_pin_destroy(&pin);
    /* a flag pins and is stored */
    app_pin_init(&pin);
    assert_int_equal(app_pin_load(&pin, s, "app_flag"), 0);
    assert_string_equal(app_pin_get(&pin), "app_flag");
    assert_int_equal(store_app_pin_get(s, stored), 0);
    assert_string_equal(stored, "app_flag");
    app_pin_destroy(&pin);
    /* no flag: the stored pin */
    app_pin_init(&pin);
    assert_int_equal(app_pin_load(&pin, s, NULL), 0);
    assert_string_equal(app_pin_get(&pin), "app_flag");
    app_pin_destroy(&pin);
    /* another flag replaces it */
    app_pin_init(&pin);
    assert_int_equal(app_pin_load(&pin, s, "app_other"), 0);
    assert_string_equal(app_pin_get(&pin), "app_other");
    assert_int_equal(store_app_pin_get(s, stored), 0);
    assert_string_equal(stored, "app_other");
    app_pin_destroy(&pin);
    store_close(s);
    unlink(path);
}

/* Replicas share the database: the first install reached replica B, so replica A's mirror,
 * loaded unpinned at its start, must learn the pin from the store, not refuse every launch as
 * "app_not_pinned" for ever. Two store handles on one file stand for the two replicas. */
static void test_pinned_by_another_replica(void **state)
{
    char path[600];
    struct store *a = open_store(path, sizeof path);
    struct app_pin pin;
    app_pin_init(&pin);
    assert_int_equal(app_pin_load(&pin, a, NULL), 0);
    assert_null(app_pin_get(&pin));

    struct store *b = NULL;
    assert_int_equal(store_sqlite_open(path, &b), 0);
    static const char *const perms[] = {"data:read"};
    struct store_event ev = {.kind = STORE_EVENT_INSTALL,
                             .idempotency_key = "install:instapp_b",
                             .installed_app_id = "instapp_b",
                             .app_id = "app_first",
                             .instance_id = "inst_1",
                             .api_key_prefix = "blnk_abc",
                             .sealed_api_key = "v1.x",
                             .permissions = perms,
                             .permission_count = 1,
                             .pin_app_id = 1};
    enum store_event_outcome o;
    assert_int_equal(store_apply_event(b, &ev, &o), 0);
    assert_int_equal(o, STORE_OUTCOME_APPLIED);

    const char *got = app_pin_get(&pin);
    assert_non_null(got);
    assert_string_equal(got, "app_first");
    assert_ptr_equal(app_pin_get(&pin), got); /* noted: stable from now on */
    app_pin_destroy(&pin);
    store_close(b);
    store_close(a);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_note_once),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_pinned_by_another_replica),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
