/*
 * test_launch_tokens.c — the launch-token table (capp/launch_tokens.h, behind store_launch_put
 * and store_launch_take): single use, expiry kept with the token, revocation when an install is
 * uninstalled, tokens void after a restart, and exactly-once redemption when many threads race for
 * the same tokens.
 *
 * The same behaviour is tested through the store.h contract (store_launch_put/take, as the
 * SQLite store serves it) and, for what only the table itself shows — generations, the byte
 * budget, giving memory back — through launch_tokens_* directly.
 *
 * With --pg (capp_launch_tokens_pg, CTest fixture `pg`) the store-contract tests run on the
 * PostgreSQL store, a fresh database each, where tokens are rows: they survive a restart
 * of the store instead (another replica may redeem them).
 */
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_fresh.h"
#include "testsupport.h"

#include "capp/clock.h"
#include "capp/crypto.h"
#include "capp/err.h"
#include "capp/limits.h"
#include "capp/launch_tokens.h"
#include "capp/store.h"

static int on_pg; /* --pg: the store on a fresh PostgreSQL database */

struct fixture {
    char dir[512];
    char path[600];
    char target[1024]; /* path, or the PostgreSQL database's connection string */
    struct store *s;
};

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    ts_tmpdir(f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/capp.db", f->dir);
    snprintf(f->target, sizeof f->target, "%s", f->path);
    if (on_pg) {
        pg_fresh_db("capp_launch_tokens", f->target, sizeof f->target);
    }
    if (store_open(f->target, &f->s) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct store_launch make(int n, const char *install, int64_t expires)
{
    struct store_launch l;
    memset(&l, 0, sizeof l);
    char token[32];
    snprintf(token, sizeof token, "token-%d", n);
    crypto_sha256_hex(token, strlen(token), l.token_hash);
    snprintf(l.installed_app_id, sizeof l.installed_app_id, "%s", install);
    snprintf(l.organization_id, sizeof l.organization_id, "org_%d", n);
    snprintf(l.instance_id, sizeof l.instance_id, "inst_%d", n);
    snprintf(l.user_id, sizeof l.user_id, "user_%d", n);
    l.created_at_ms = expires - CAPP_LAUNCH_TOKEN_TTL_SECONDS * 1000;
    l.expires_at_ms = expires;
    return l;
}

static int64_t soon(void)
{
    return clock_now_ms() + CAPP_LAUNCH_TOKEN_TTL_SECONDS * 1000;
}

static void test_put_take_single_use(void **state)
{
    struct fixture *f = *state;
    struct store_launch l = make(1, "instapp_a", soon());
    assert_int_equal(store_launch_put(f->s, &l), 0);
    struct store_launch out;
    memset(&out, 0xAB, sizeof out);
    assert_int_equal(store_launch_take(f->s, l.token_hash, &out), 0);
    assert_string_equal(out.token_hash, l.token_hash);
    assert_string_equal(out.installed_app_id, "instapp_a");
    assert_string_equal(out.organization_id, "org_1");
    assert_string_equal(out.instance_id, "inst_1");
    assert_string_equal(out.user_id, "user_1");
    assert_true(out.created_at_ms == l.created_at_ms);
    assert_true(out.expires_at_ms == l.expires_at_ms);
    assert_int_equal(store_launch_take(f->s, l.token_hash, &out), CAPP_ENOTFOUND);
}

static void test_v2_launch_without_org_and_user(void **state)
{
    struct fixture *f = *state;
    struct store_launch l = make(2, "instapp_a", soon());
    l.organization_id[0] = '\0';
    l.user_id[0] = '\0';
    assert_int_equal(store_launch_put(f->s, &l), 0);
    struct store_launch out;
    assert_int_equal(store_launch_take(f->s, l.token_hash, &out), 0);
    assert_string_equal(out.organization_id, "");
    assert_string_equal(out.user_id, "");
    assert_string_equal(out.instance_id, "inst_2");
}

static void test_take_unknown(void **state)
{
    struct fixture *f = *state;
    struct store_launch l = make(1, "instapp_a", soon()), other = make(2, "instapp_a", soon());
    assert_int_equal(store_launch_put(f->s, &l), 0);
    struct store_launch out;
    assert_int_equal(store_launch_take(f->s, other.token_hash, &out), CAPP_ENOTFOUND);
    assert_int_equal(store_launch_take(f->s, "", &out), CAPP_ENOTFOUND);
    /* a prefix of a stored hash is not that hash */
    char prefix[40];
    snprintf(prefix, sizeof prefix, "%.32s", l.token_hash);
    assert_int_equal(store_launch_take(f->s, prefix, &out), CAPP_ENOTFOUND);
    assert_int_equal(store_launch_take(f->s, l.token_hash, &out), 0);
}

static void test_same_hash_twice_keeps_first(void **state)
{
    struct fixture *f = *state;
    struct store_launch l = make(1, "instapp_a", soon());
    assert_int_equal(store_launch_put(f->s, &l), 0);
    struct store_launch clash = l;
    snprintf(clash.installed_app_id, sizeof clash.installed_app_id, "instapp_evil");
    assert_int_not_equal(store_launch_put(f->s, &clash), 0);
    struct store_launch out;
    assert_int_equal(store_launch_take(f->s, l.token_hash, &out), 0);
    assert_string_equal(out.installed_app_id, "instapp_a");
    assert_int_equal(store_launch_take(f->s, l.token_hash, &out), CAPP_ENOTFOUND);
}

static void test_purge_keeps_live_and_expiry_survives(void **state)
{
    /* Expired tokens may linger until housekeeping drops them (the redeemer checks
     * expires_at_ms), but a purge never drops a live one, and a lingering token still carries
     * its past expiry so it cannot be redeemed. */
    struct fixture *f = *state;
    int64_t now = clock_now_ms();
    struct store_launch old = make(1, "instapp_a", now - 1000), live = make(2, "instapp_a", soon());
    assert_int_equal(store_launch_put(f->s, &old), 0);
    assert_int_equal(store_launch_put(f->s, &live), 0);
    assert_int_equal(store_purge_expired(f->s, clock_now_ms()), 0);
    struct store_launch out;
    int rc = store_launch_take(f->s, old.token_hash, &out);
    if (rc == 0)
        assert_true(out.expires_at_ms == now - 1000);
    else
        assert_int_equal(rc, CAPP_ENOTFOUND);
    assert_int_equal(store_launch_take(f->s, live.token_hash, &out), 0);
    assert_true(out.expires_at_ms == live.expires_at_ms);
}

static void test_uninstall_revokes_only_that_install(void **state)
{
    struct fixture *f = *state;
    static const char *const perms[] = {"data:read"};
    const char *ids[] = {"instapp_a", "instapp_ab"}; /* one id a prefix of the other */
    for (int i = 0; i < 2; i++) {
        char key[64];
        snprintf(key, sizeof key, "install:%s", ids[i]);
        struct store_event ev = {.kind = STORE_EVENT_INSTALL,
                                 .idempotency_key = key,
                                 .installed_app_id = ids[i],
                                 .app_id = "app_1",
                                 .instance_id = "inst_1",
                                 .api_key_prefix = "blnk_abc",
                                 .sealed_api_key = "v1.x",
                                 .permissions = perms,
                                 .permission_count = 1};
        enum store_event_outcome o;
        assert_int_equal(store_apply_event(f->s, &ev, &o), 0);
    }
    struct store_launch a[3], b[2];
    for (int i = 0; i < 3; i++) {
        a[i] = make(i, "instapp_a", soon());
        assert_int_equal(store_launch_put(f->s, &a[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        b[i] = make(10 + i, "instapp_ab", soon());
        assert_int_equal(store_launch_put(f->s, &b[i]), 0);
    }
    struct store_event un = {.kind = STORE_EVENT_UNINSTALL,
                             .idempotency_key = "uninstall:instapp_a",
                             .installed_app_id = "instapp_a",
                             .app_id = "app_1",
                             .instance_id = "inst_1"};
    enum store_event_outcome o;
    assert_int_equal(store_apply_event(f->s, &un, &o), 0);
    assert_int_equal(o, STORE_OUTCOME_APPLIED);
    struct store_launch out;
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_launch_take(f->s, a[i].token_hash, &out), CAPP_ENOTFOUND);
    for (int i = 0; i < 2; i++)
        assert_int_equal(store_launch_take(f->s, b[i].token_hash, &out), 0);

    /* an unknown uninstall revokes nothing */
    struct store_launch c = make(20, "instapp_ab", soon());
    assert_int_equal(store_launch_put(f->s, &c), 0);
    un.idempotency_key = "uninstall:instapp_zz";
    un.installed_app_id = "instapp_zz";
    assert_int_equal(store_apply_event(f->s, &un, &o), 0);
    assert_int_equal(o, STORE_OUTCOME_UNKNOWN_INSTALL);
    assert_int_equal(store_launch_take(f->s, c.token_hash, &out), 0);
}

/* SQLite: tokens are in memory, void after a restart (a relaunch). PostgreSQL: rows. */
static void test_tokens_void_after_restart(void **state)
{
    struct fixture *f = *state;
    struct store_launch l = make(1, "instapp_a", soon());
    assert_int_equal(store_launch_put(f->s, &l), 0);
    store_close(f->s);
    assert_int_equal(store_open(f->target, &f->s), 0);
    struct store_launch out;
    if (on_pg) {
        /* a row: a replica that restarts (or another one) still redeems it, once */
        assert_int_equal(store_launch_take(f->s, l.token_hash, &out), 0);
        assert_string_equal(out.user_id, "user_1");
    }
    assert_int_equal(store_launch_take(f->s, l.token_hash, &out), CAPP_ENOTFOUND);
    /* and the table works after the restart */
    assert_int_equal(store_launch_put(f->s, &l), 0);
    assert_int_equal(store_launch_take(f->s, l.token_hash, &out), 0);
}

#define THREADS           8
#define TOKENS_PER_THREAD 500
#define TOKENS            (THREADS * TOKENS_PER_THREAD)

struct race {
    struct store *s;
    struct store_launch *launches;
    atomic_int *taken;
    atomic_int wins;
};

struct worker {
    struct race *race;
    int id;
};

static void *putter(void *p)
{
    struct worker *w = p;
    for (int i = 0; i < TOKENS_PER_THREAD; i++) {
        int n = w->id * TOKENS_PER_THREAD + i;
        if (store_launch_put(w->race->s, &w->race->launches[n]) != 0)
            return (void *)1;
    }
    return NULL;
}

static void *taker(void *p)
{
    struct worker *w = p;
    /* every thread tries every token, each from a different starting point */
    for (int k = 0; k < TOKENS; k++) {
        int n = (k + w->id * 997) % TOKENS;
        struct store_launch out;
        int rc = store_launch_take(w->race->s, w->race->launches[n].token_hash, &out);
        if (rc == 0) {
            if (strcmp(out.user_id, w->race->launches[n].user_id) != 0)
                return (void *)1;
            atomic_fetch_add(&w->race->taken[n], 1);
            atomic_fetch_add(&w->race->wins, 1);
        } else if (rc != CAPP_ENOTFOUND) {
            return (void *)1;
        }
    }
    return NULL;
}

static void run_threads(struct worker *workers, void *(*fn)(void *))
{
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, fn, &workers[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        void *result;
        pthread_join(threads[i], &result);
        assert_null(result);
    }
}

static void test_threads_take_each_token_once(void **state)
{
    struct fixture *f = *state;
    struct race race = {.s = f->s};
    race.launches = calloc(TOKENS, sizeof *race.launches);
    race.taken = calloc(TOKENS, sizeof *race.taken);
    int64_t expires = soon();
    for (int n = 0; n < TOKENS; n++)
        race.launches[n] = make(n, n % 3 ? "instapp_a" : "instapp_b", expires);
    struct worker workers[THREADS];
    for (int i = 0; i < THREADS; i++)
        workers[i] = (struct worker){&race, i};
    run_threads(workers, putter);
    run_threads(workers, taker);
    assert_int_equal(atomic_load(&race.wins), TOKENS);
    for (int n = 0; n < TOKENS; n++)
        if (atomic_load(&race.taken[n]) != 1)
            fail_msg("token %d taken %d times", n, atomic_load(&race.taken[n]));
    free(race.launches);
    free(race.taken);
}

/* ---- the in-memory table itself ---- */

#define TABLE_BYTES (2u * 1024 * 1024) /* the smallest budget: one arena chunk a generation */
#define GENERATION  1000

static void test_table_generations_keep_a_token_one_to_two_generations(void **state)
{
    (void)state;
    struct launch_tokens *t;
    assert_int_equal(launch_tokens_new(TABLE_BYTES, GENERATION, &t), 0);
    int64_t now = 1000000;
    struct store_launch l = make(1, "instapp_a", now - 1); /* already expired: still there */
    assert_int_equal(launch_tokens_put(t, &l, now), 0);
    launch_tokens_rotate(t, now + GENERATION - 1); /* not due */
    launch_tokens_rotate(t, now + GENERATION);     /* now the older generation */
    struct store_launch out;
    assert_int_equal(launch_tokens_take(t, l.token_hash, &out), 0);
    assert_true(out.expires_at_ms == l.expires_at_ms); /* the caller sees "expired" (410) */
    assert_int_equal(launch_tokens_take(t, l.token_hash, &out), CAPP_ENOTFOUND);

    struct store_launch m = make(2, "instapp_a", now);
    assert_int_equal(launch_tokens_put(t, &m, now + GENERATION), 0);
    launch_tokens_rotate(t, now + 2 * GENERATION);
    launch_tokens_rotate(t, now + 3 * GENERATION); /* dropped with its generation */
    assert_int_equal(launch_tokens_take(t, m.token_hash, &out), CAPP_ENOTFOUND);
    assert_int_equal(launch_tokens_bytes(t), 0); /* idle: memory given back */
    launch_tokens_free(t);
}

static void test_table_bounded_by_bytes_newest_kept(void **state)
{
    (void)state;
    struct launch_tokens *t;
    assert_int_equal(launch_tokens_new(TABLE_BYTES, 3600 * 1000, &t), 0);
    int64_t now = 1000000;
    enum { N = 200000 }; /* ~25 MB of tokens into a 2 MB budget */
    size_t peak = 0;
    for (int n = 0; n < N; n++) {
        struct store_launch l = make(n, "instapp_a", now + 60000);
        assert_int_equal(launch_tokens_put(t, &l, now), 0);
        size_t bytes = launch_tokens_bytes(t);
        if (bytes > peak)
            peak = bytes;
    }
    /* the budget plus the bucket arrays (a few bytes a token) */
    if (peak > 3u * TABLE_BYTES)
        fail_msg("table grew to %zu bytes with a budget of %u", peak, TABLE_BYTES);
    struct store_launch out;
    for (int n = N - 100; n < N; n++) {
        struct store_launch l = make(n, "instapp_a", now + 60000);
        assert_int_equal(launch_tokens_take(t, l.token_hash, &out), 0);
        assert_string_equal(out.user_id, l.user_id);
    }
    struct store_launch first = make(0, "instapp_a", now + 60000);
    assert_int_equal(launch_tokens_take(t, first.token_hash, &out), CAPP_ENOTFOUND);
    launch_tokens_free(t);
}

static void test_table_longest_ids_and_bad_input(void **state)
{
    (void)state;
    struct launch_tokens *t;
    assert_int_equal(launch_tokens_new(TABLE_BYTES, GENERATION, &t), 0);
    struct store_launch l = make(1, "instapp_a", 5000);
    memset(l.installed_app_id, 'i', CAPP_MAX_ID_BYTES);
    memset(l.organization_id, 'o', CAPP_MAX_ID_BYTES);
    memset(l.instance_id, 'n', CAPP_MAX_ID_BYTES);
    memset(l.user_id, 'u', CAPP_MAX_ID_BYTES);
    assert_int_equal(launch_tokens_put(t, &l, 1000), 0);
    struct store_launch out;
    assert_int_equal(launch_tokens_take(t, l.token_hash, &out), 0);
    assert_string_equal(out.token_hash, l.token_hash);
    assert_string_equal(out.installed_app_id, l.installed_app_id);
    assert_string_equal(out.organization_id, l.organization_id);
    assert_string_equal(out.instance_id, l.instance_id);
    assert_string_equal(out.user_id, l.user_id);
    assert_int_equal(strlen(out.user_id), CAPP_MAX_ID_BYTES);

    struct store_launch bad = make(2, "instapp_a", 5000);
    bad.token_hash[10] = 'x'; /* not hex: nothing stored, nothing found */
    assert_int_equal(launch_tokens_put(t, &bad, 1000), CAPP_EINVAL);
    assert_int_equal(launch_tokens_take(t, bad.token_hash, &out), CAPP_ENOTFOUND);
    assert_int_equal(launch_tokens_take(t, "", &out), CAPP_ENOTFOUND);
    assert_int_equal(launch_tokens_new(1024, GENERATION, &t), CAPP_EINVAL); /* too small */
    launch_tokens_free(t);
    launch_tokens_free(NULL);
}

static void test_table_revocation_reaches_both_generations(void **state)
{
    (void)state;
    struct launch_tokens *t;
    assert_int_equal(launch_tokens_new(TABLE_BYTES, GENERATION, &t), 0);
    struct store_launch old = make(1, "instapp_a", 5000), young = make(2, "instapp_a", 5000);
    struct store_launch other = make(3, "instapp_ab", 5000);
    assert_int_equal(launch_tokens_put(t, &old, 1000), 0);
    launch_tokens_rotate(t, 1000 + GENERATION);
    assert_int_equal(launch_tokens_put(t, &young, 1000 + GENERATION), 0);
    assert_int_equal(launch_tokens_put(t, &other, 1000 + GENERATION), 0);
    launch_tokens_revoke_install(t, "instapp_a");
    struct store_launch out;
    assert_int_equal(launch_tokens_take(t, old.token_hash, &out), CAPP_ENOTFOUND);
    assert_int_equal(launch_tokens_take(t, young.token_hash, &out), CAPP_ENOTFOUND);
    assert_int_equal(launch_tokens_take(t, other.token_hash, &out), 0);
    launch_tokens_free(t);
}

int main(int argc, char **argv)
{
    on_pg = argc > 1 && strcmp(argv[1], "--pg") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_take_single_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v2_launch_without_org_and_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_hash_twice_keeps_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_keeps_live_and_expiry_survives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uninstall_revokes_only_that_install, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_void_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_take_each_token_once, setup, teardown),
    };
    /* the in-memory table: the SQLite store's only */
    const struct CMUnitTest table[] = {
        cmocka_unit_test(test_table_generations_keep_a_token_one_to_two_generations),
        cmocka_unit_test(test_table_bounded_by_bytes_newest_kept),
        cmocka_unit_test(test_table_longest_ids_and_bad_input),
        cmocka_unit_test(test_table_revocation_reaches_both_generations),
    };
    int failed = cmocka_run_group_tests_name(
        on_pg ? "store contract (PostgreSQL)" : "store contract (SQLite)", tests, NULL, NULL);
    if (!on_pg)
        failed += cmocka_run_group_tests_name("in-memory table", table, NULL, NULL);
    return failed;
}
