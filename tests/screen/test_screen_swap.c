/*
 * test_screen_swap.c — atomic index swap under concurrent queries (run it under TSan too:
 * -DKYC_TSAN=ON). Readers query continuously while a writer swaps between two indexes built
 * from different fixtures; every query must see one whole index (its result's list versions
 * and matches agree), results taken before a swap stay valid after it, and nothing leaks.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "screen_test.h"

#define READERS 3
#define SWAPS   40

static struct screen_engine *eng;
static atomic_int stop;
static atomic_long queries;

static struct screen_index *build(const char *rel)
{
    char p[512];
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err = {0};
    if (screen_list_set_load_path(set, fixture(rel, p, sizeof p), &err))
        fail_msg("%s", err.message);
    struct screen_index *idx;
    assert_int_equal(screen_index_build(set, &idx), 0);
    return idx;
}

static void *reader(void *arg)
{
    (void)arg;
    struct screen_query q = {.name = "Saddam Hussein al Tikriti", .type = SCREEN_TYPE_ANY};
    struct screen_query q2 = {.name = "Ayman al Zawahiri", .type = SCREEN_TYPE_ANY};
    struct screen_result held = {0};
    int have_held = 0;
    while (!atomic_load(&stop)) {
        for (int k = 0; k < 2; k++) {
            struct screen_result r;
            int rc = screen_query(eng, k ? &q2 : &q, NULL, &r);
            if (rc != 0)
                abort();
            const struct screen_list_set *set = screen_index_lists(r.index);
            const char *src = screen_list_set_version(set, 0)->source;
            /* the UN fixture knows Saddam, the OFAC fixture knows al Zawahiri */
            int un = strcmp(src, "un-consolidated") == 0;
            if (k == 0 && un && (r.n_matches == 0 || r.matches[0].score < 0.99f))
                abort();
            if (k == 1 && !un && (r.n_matches == 0 || r.matches[0].score < 0.99f))
                abort();
            for (uint32_t i = 0; i < r.n_matches; i++)
                if (strcmp(r.matches[i].entry->source, src) != 0)
                    abort(); /* a match from another index than the result's */
            if (!have_held) {
                held = r; /* keep one result across many swaps */
                have_held = 1;
            } else {
                screen_result_release(&r);
            }
            atomic_fetch_add(&queries, 1);
        }
    }
    if (have_held) {
        for (uint32_t i = 0; i < held.n_matches; i++)
            if (!held.matches[i].entry->name[0])
                abort();
        screen_result_release(&held);
    }
    return NULL;
}

static void test_swap_under_load(void **state)
{
    (void)state;
    assert_int_equal(screen_engine_new(NULL, &eng), 0);
    assert_int_equal(screen_engine_swap(eng, build("un.xml")), 0);
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader, NULL), 0);
    for (int s = 0; s < SWAPS; s++)
        assert_int_equal(screen_engine_swap(eng, build(s % 2 ? "un.xml" : "ofac")), 0);
    atomic_store(&stop, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(th[i], NULL);
    printf("%ld queries across %d swaps\n", atomic_load(&queries), SWAPS);
    assert_true(atomic_load(&queries) > 0);
    screen_engine_free(eng);
}

static void test_failed_load_keeps_index(void **state)
{
    (void)state;
    struct screen_engine *e;
    assert_int_equal(screen_engine_new(NULL, &e), 0);
    assert_int_equal(screen_engine_swap(e, build("ofac")), 0);
    char bad[512];
    const char *paths[] = {fixture("ofac-missing", bad, sizeof bad)};
    struct screen_error err = {0};
    assert_int_not_equal(screen_engine_load(e, paths, 1, &err), 0);
    struct screen_query q = {.name = "Ayman al Zawahiri", .type = SCREEN_TYPE_ANY};
    struct screen_result r;
    assert_int_equal(screen_query(e, &q, NULL, &r), 0);
    assert_true(r.n_matches > 0);
    screen_result_release(&r);
    screen_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swap_under_load),
        cmocka_unit_test(test_failed_load_keeps_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
