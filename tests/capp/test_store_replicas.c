/*
 * test_store_replicas.c — the PostgreSQL install store as replicas use it: two store handles
 * on one database stand for two `serve` processes (each has its own connections, workers and
 * no memory in common with the other except the database). A launch minted on A is redeemed
 * once on B; 16 threads over both handles race for each of 200 tokens and exactly one wins;
 * the same install event delivered to A and B at once is applied once and is a duplicate once,
 * with one install row; first installs of two apps racing on A and B pin one app; a session
 * created on A is read and deleted on B; an uninstall through B is refused by A as soon as B's
 * call returns (install inactive, A's launch token and session gone); two replicas starting on
 * an empty database migrate it once; the master key check runs against PostgreSQL; 2,000
 * install events sent through both replicas at once are all applied (the rate is printed); a
 * server with synchronous_commit off is named at open.
 *
 * Needs the CTest fixture `pg` (an empty database per test: pg_fresh.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_fresh.h"
#include "testsupport.h"

#include "capp/assert.h"
#include "capp/clock.h"
#include "capp/crypto.h"
#include "capp/err.h"
#include "capp/keycheck.h"
#include "capp/limits.h"
#include "capp/log.h"
#include "capp/seal.h"
#include "capp/sql.h"
#include "capp/store.h"

struct fixture {
    char target[1024];
    struct store *a, *b; /* two replicas */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    pg_fresh_db("capp_replicas", f->target, sizeof f->target);
    if (store_open(f->target, &f->a) != 0 || store_open(f->target, &f->b) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->a);
    store_close(f->b);
    free(f);
    return 0;
}

static long long count_rows(struct fixture *f, const char *sql)
{
    struct sql_conn *c = NULL;
    assert_int_equal(sql_open(f->target, &c), 0);
    char n[32] = "";
    const struct sql_text_out outs[] = {{n, sizeof n}};
    assert_int_equal(sql_load_texts(c, sql, NULL, 0, outs, COUNTOF(outs)), 0);
    sql_close(c);
    return atoll(n);
}

static const char *const PERMS[] = {"data:read", "alerts:write"};

static struct store_event install_event(const char *key, const char *id, const char *sealed,
                                        char fingerprint[STORE_HASH_CAP])
{
    store_api_key_fingerprint(sealed, strlen(sealed), fingerprint);
    struct store_event ev = {.kind = STORE_EVENT_INSTALL,
                             .idempotency_key = key,
                             .installed_app_id = id,
                             .app_id = "app_1",
                             .organization_id = "org_1",
                             .instance_id = "inst_1",
                             .api_key_prefix = "blnk_abc",
                             .sealed_api_key = sealed,
                             .api_key_fingerprint = fingerprint,
                             .permissions = PERMS,
                             .permission_count = COUNTOF(PERMS)};
    return ev;
}

static void expect_apply(struct store *s, const struct store_event *ev,
                         enum store_event_outcome expected)
{
    enum store_event_outcome got = (enum store_event_outcome) - 1;
    int rc = store_apply_event(s, ev, &got);
    if (rc != 0)
        fail_msg("event %s: rc %d (%s)", ev->idempotency_key, rc, capp_strerror(rc));
    if (got != expected)
        fail_msg("event %s: outcome %s, expected %s", ev->idempotency_key, store_outcome_name(got),
                 store_outcome_name(expected));
}

static struct store_launch launch(const char *seed, const char *id, int64_t expires)
{
    struct store_launch l;
    memset(&l, 0, sizeof l);
    crypto_sha256_hex(seed, strlen(seed), l.token_hash);
    snprintf(l.installed_app_id, sizeof l.installed_app_id, "%s", id);
    snprintf(l.organization_id, sizeof l.organization_id, "org_1");
    snprintf(l.instance_id, sizeof l.instance_id, "inst_1");
    snprintf(l.user_id, sizeof l.user_id, "user_%s", seed);
    l.created_at_ms = expires - CAPP_LAUNCH_TOKEN_TTL_SECONDS * 1000;
    l.expires_at_ms = expires;
    return l;
}

static int64_t soon(void)
{
    return clock_now_ms() + CAPP_LAUNCH_TOKEN_TTL_SECONDS * 1000;
}

static void test_launch_on_a_redeemed_once_on_b(void **state)
{
    struct fixture *f = *state;
    struct store_launch l = launch("t1", "instapp_a", soon());
    l.user_id[0] = '\0'; /* V2: no user */
    assert_int_equal(store_launch_put(f->a, &l), 0);
    struct store_launch out;
    memset(&out, 0xAB, sizeof out);
    assert_int_equal(store_launch_take(f->b, l.token_hash, &out), 0);
    assert_string_equal(out.token_hash, l.token_hash);
    assert_string_equal(out.installed_app_id, "instapp_a");
    assert_string_equal(out.organization_id, "org_1");
    assert_string_equal(out.instance_id, "inst_1");
    assert_string_equal(out.user_id, "");
    assert_true(out.created_at_ms == l.created_at_ms);
    assert_true(out.expires_at_ms == l.expires_at_ms);
    assert_int_equal(store_launch_take(f->b, l.token_hash, &out), CAPP_ENOTFOUND);
    assert_int_equal(store_launch_take(f->a, l.token_hash, &out), CAPP_ENOTFOUND);
    /* the same hash minted twice (on either replica) is refused, the first kept */
    struct store_launch again = launch("t2", "instapp_a", soon());
    assert_int_equal(store_launch_put(f->a, &again), 0);
    struct store_launch clash = again;
    snprintf(clash.installed_app_id, sizeof clash.installed_app_id, "instapp_evil");
    assert_int_equal(store_launch_put(f->b, &clash), CAPP_EEXIST);
    assert_int_equal(store_launch_take(f->a, again.token_hash, &out), 0);
    assert_string_equal(out.installed_app_id, "instapp_a");
    /* an expired token is still returned once with its expiry (the redeemer answers 410);
     * purge_expired drops it */
    struct store_launch old = launch("t3", "instapp_a", clock_now_ms() - 1000);
    struct store_launch older = launch("t4", "instapp_a", clock_now_ms() - 1000);
    assert_int_equal(store_launch_put(f->a, &old), 0);
    assert_int_equal(store_launch_put(f->a, &older), 0);
    assert_int_equal(store_launch_take(f->b, old.token_hash, &out), 0);
    assert_true(out.expires_at_ms == old.expires_at_ms);
    assert_int_equal(store_purge_expired(f->b, clock_now_ms()), 0);
    assert_int_equal(store_launch_take(f->a, older.token_hash, &out), CAPP_ENOTFOUND);
}

#define RACE_THREADS 16
#define RACE_TOKENS  200

struct race {
    struct fixture *f;
    pthread_barrier_t *start;
    char (*hashes)[STORE_HASH_CAP];
    atomic_int *wins; /* per token */
    int index;
    int errors;
};

static void *take_all(void *p)
{
    struct race *r = p;
    struct store *s = r->index % 2 ? r->f->b : r->f->a; /* half the threads on each replica */
    pthread_barrier_wait(r->start);
    for (int t = 0; t < RACE_TOKENS; t++) {
        struct store_launch out;
        int rc = store_launch_take(s, r->hashes[t], &out);
        if (rc == 0)
            atomic_fetch_add(&r->wins[t], 1);
        else if (rc != CAPP_ENOTFOUND)
            r->errors++;
    }
    return NULL;
}

static void test_concurrent_redemption_exactly_one_wins(void **state)
{
    struct fixture *f = *state;
    static char hashes[RACE_TOKENS][STORE_HASH_CAP];
    static atomic_int wins[RACE_TOKENS];
    for (int t = 0; t < RACE_TOKENS; t++) {
        char seed[32];
        snprintf(seed, sizeof seed, "race-%d", t);
        struct store_launch l = launch(seed, "instapp_a", soon());
        assert_int_equal(store_launch_put(t % 2 ? f->b : f->a, &l), 0);
        memcpy(hashes[t], l.token_hash, STORE_HASH_CAP);
        atomic_store(&wins[t], 0);
    }
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACE_THREADS);
    pthread_t threads[RACE_THREADS];
    struct race races[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++) {
        races[i] = (struct race){f, &start, hashes, wins, i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, take_all, &races[i]), 0);
    }
    for (int i = 0; i < RACE_THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(races[i].errors, 0);
    }
    pthread_barrier_destroy(&start);
    for (int t = 0; t < RACE_TOKENS; t++)
        if (atomic_load(&wins[t]) != 1)
            fail_msg("token %d redeemed %d times", t, atomic_load(&wins[t]));
    assert_int_equal(count_rows(f, "SELECT count(*) FROM capp_launch_tokens"), 0);
}

#define SAME_EVENTS 40

struct delivery {
    struct store *s;
    const struct store_event *ev;
    pthread_barrier_t *start;
    int rc;
    enum store_event_outcome outcome;
};

static void *deliver(void *p)
{
    struct delivery *d = p;
    pthread_barrier_wait(d->start);
    d->rc = store_apply_event(d->s, d->ev, &d->outcome);
    return NULL;
}

/* Cloud's retry of one event reaching the other replica while the first is still deciding:
 * one applied, one duplicate, whichever wins. */
static void race_event(struct fixture *f, const struct store_event *ev,
                       enum store_event_outcome *first, enum store_event_outcome *second)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    struct delivery d[2] = {{f->a, ev, &start, -1, 0}, {f->b, ev, &start, -1, 0}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, deliver, &d[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    assert_int_equal(d[0].rc, 0);
    assert_int_equal(d[1].rc, 0);
    *first = d[0].outcome;
    *second = d[1].outcome;
}

static int hook_calls;
static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;

static void count_hook(void *ctx, const char *installed_app_id)
{
    pthread_mutex_lock(&hook_mu);
    hook_calls++;
    pthread_mutex_unlock(&hook_mu);
}

static void test_same_event_on_both_replicas_applied_once(void **state)
{
    struct fixture *f = *state;
    hook_calls = 0;
    store_set_install_hook(f->a, count_hook, NULL);
    store_set_install_hook(f->b, count_hook, NULL);
    for (int i = 0; i < SAME_EVENTS; i++) {
        char key[64], id[48], sealed[48], fp[STORE_HASH_CAP];
        snprintf(id, sizeof id, "instapp_r%d", i);
        snprintf(key, sizeof key, "install:%s", id);
        snprintf(sealed, sizeof sealed, "v1.sealed.%d", i);
        struct store_event ev = install_event(key, id, sealed, fp);
        enum store_event_outcome x, y;
        race_event(f, &ev, &x, &y);
        if (!((x == STORE_OUTCOME_APPLIED && y == STORE_OUTCOME_DUPLICATE) ||
              (x == STORE_OUTCOME_DUPLICATE && y == STORE_OUTCOME_APPLIED)))
            fail_msg("event %d: outcomes %s and %s", i, store_outcome_name(x),
                     store_outcome_name(y));
        /* and the uninstall, raced the same way */
        char ukey[64];
        snprintf(ukey, sizeof ukey, "uninstall:%s", id);
        struct store_event un = {.kind = STORE_EVENT_UNINSTALL,
                                 .idempotency_key = ukey,
                                 .installed_app_id = id,
                                 .app_id = "app_1",
                                 .instance_id = "inst_1"};
        race_event(f, &un, &x, &y);
        if (!((x == STORE_OUTCOME_APPLIED && y == STORE_OUTCOME_DUPLICATE) ||
              (x == STORE_OUTCOME_DUPLICATE && y == STORE_OUTCOME_APPLIED)))
            fail_msg("uninstall %d: outcomes %s and %s", i, store_outcome_name(x),
                     store_outcome_name(y));
    }
    assert_int_equal(count_rows(f, "SELECT count(*) FROM installs"), SAME_EVENTS);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM installs WHERE status = 'inactive'"),
                     SAME_EVENTS);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM lifecycle_events"), 2 * SAME_EVENTS);
    pthread_mutex_lock(&hook_mu);
    assert_int_equal(hook_calls, SAME_EVENTS); /* the work started once per install */
    pthread_mutex_unlock(&hook_mu);
    store_set_install_hook(f->a, NULL, NULL);
    store_set_install_hook(f->b, NULL, NULL);
}

/* Trust on first use across replicas: the first installs of two apps race on A and B; the
 * database pins one app, the other install is refused and leaves nothing. */
static void test_first_installs_of_two_apps_pin_one(void **state)
{
    struct fixture *f = *state;
    char fp1[STORE_HASH_CAP], fp2[STORE_HASH_CAP];
    struct store_event one = install_event("install:instapp_one", "instapp_one", "v1.one", fp1);
    struct store_event two = install_event("install:instapp_two", "instapp_two", "v1.two", fp2);
    one.pin_app_id = two.pin_app_id = 1;
    two.app_id = "app_2";
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    struct delivery d[2] = {{f->a, &one, &start, -1, 0}, {f->b, &two, &start, -1, 0}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, deliver, &d[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    assert_int_equal(d[0].rc, 0);
    assert_int_equal(d[1].rc, 0);
    int one_won = d[0].outcome == STORE_OUTCOME_APPLIED;
    assert_int_equal(d[one_won ? 1 : 0].outcome, STORE_OUTCOME_WRONG_APP);
    assert_int_equal(d[one_won ? 0 : 1].outcome, STORE_OUTCOME_APPLIED);
    char pinned_a[STORE_ID_CAP], pinned_b[STORE_ID_CAP];
    assert_int_equal(store_app_pin_get(f->a, pinned_a), 0);
    assert_int_equal(store_app_pin_get(f->b, pinned_b), 0);
    assert_string_equal(pinned_a, one_won ? "app_1" : "app_2");
    assert_string_equal(pinned_b, pinned_a);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM installs"), 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM lifecycle_events"), 1);
}

static void test_session_created_on_a_read_on_b(void **state)
{
    struct fixture *f = *state;
    struct store_session x = launch("s1", "instapp_a", clock_now_ms() + 900000);
    x.organization_id[0] = '\0';
    assert_int_equal(store_session_create(f->a, &x), 0);
    struct store_session out;
    assert_int_equal(store_session_get(f->b, x.token_hash, &out), 0);
    assert_string_equal(out.installed_app_id, "instapp_a");
    assert_string_equal(out.organization_id, "");
    assert_string_equal(out.user_id, "user_s1");
    assert_true(out.expires_at_ms == x.expires_at_ms);
    assert_int_not_equal(store_session_create(f->b, &x), 0); /* one hash, one session */
    assert_int_equal(store_session_delete(f->b, x.token_hash), 0);
    assert_int_equal(store_session_get(f->a, x.token_hash, &out), CAPP_ENOTFOUND);
}

static void test_uninstall_on_b_refused_by_a_at_once(void **state)
{
    struct fixture *f = *state;
    char fp[STORE_HASH_CAP];
    struct store_event ev = install_event("install:instapp_u", "instapp_u", "v1.u", fp);
    expect_apply(f->a, &ev, STORE_OUTCOME_APPLIED);
    /* A has read the install (a replica's portal generator does on every launch) and holds a
     * launch token and a session for it */
    struct store_install in;
    assert_int_equal(store_install_get(f->a, "instapp_u", &in), 0);
    assert_int_equal(in.active, 1);
    store_install_clear(&in);
    struct store_launch l = launch("lu", "instapp_u", soon());
    assert_int_equal(store_launch_put(f->a, &l), 0);
    struct store_session x = launch("su", "instapp_u", clock_now_ms() + 900000);
    assert_int_equal(store_session_create(f->a, &x), 0);

    struct store_event un = {.kind = STORE_EVENT_UNINSTALL,
                             .idempotency_key = "uninstall:instapp_u",
                             .installed_app_id = "instapp_u",
                             .app_id = "app_1",
                             .instance_id = "inst_1"};
    expect_apply(f->b, &un, STORE_OUTCOME_APPLIED);
    /* right after B's call returned, with no wait: A sees it */
    assert_int_equal(store_install_get(f->a, "instapp_u", &in), 0);
    assert_int_equal(in.active, 0);
    assert_true(in.uninstall_pending_since_ms > 0);
    store_install_clear(&in);
    struct store_launch out;
    assert_int_equal(store_launch_take(f->a, l.token_hash, &out), CAPP_ENOTFOUND);
    struct store_session sout;
    assert_int_equal(store_session_get(f->a, x.token_hash, &sout), CAPP_ENOTFOUND);
    /* Cloud retries the uninstall on A: a duplicate */
    expect_apply(f->a, &un, STORE_OUTCOME_DUPLICATE);

    /* Cloud confirms through B, and a reinstall on A is seen by B at once */
    assert_int_equal(store_install_get(f->a, "instapp_u", &in), 0);
    int64_t since = in.uninstall_pending_since_ms;
    store_install_clear(&in);
    assert_int_equal(store_uninstall_resolve(f->b, "instapp_u", since, STORE_UNINSTALL_CONFIRMED),
                     0);
    assert_int_equal(store_uninstall_resolve(f->a, "instapp_u", since, STORE_UNINSTALL_CONFIRMED),
                     CAPP_ENOTFOUND); /* resolved once, whichever replica asks */
    assert_int_equal(store_install_get(f->a, "instapp_u", &in), 0);
    assert_null(in.sealed_api_key);
    store_install_clear(&in);
    struct store_event re = install_event("install:instapp_u:2", "instapp_u", "v1.u2", fp);
    expect_apply(f->a, &re, STORE_OUTCOME_APPLIED);
    assert_int_equal(store_install_get(f->b, "instapp_u", &in), 0);
    assert_int_equal(in.active, 1);
    assert_string_equal(in.sealed_api_key, "v1.u2");
    store_install_clear(&in);
}

/* Measures what an install read costs on PostgreSQL (printed, never asserted: STYLE rule 10),
 * the figure behind reading through instead of caching (store_pg.c, docs/capp.md). */
static void test_install_read_cost(void **state)
{
    struct fixture *f = *state;
    char fp[STORE_HASH_CAP];
    struct store_event ev = install_event("install:instapp_c", "instapp_c", "v1.c", fp);
    expect_apply(f->a, &ev, STORE_OUTCOME_APPLIED);
    struct sql_conn *c = NULL;
    assert_int_equal(sql_open(f->target, &c), 0);
    enum { READS = 2000 };
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < READS; i++) {
        struct store_install in;
        assert_int_equal(store_install_get(f->a, "instapp_c", &in), 0);
        store_install_clear(&in);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (int i = 0; i < READS; i++) {
        char v[32];
        const struct sql_text_out outs[] = {{v, sizeof v}};
        assert_int_equal(sql_load_texts(c,
                                        "SELECT updated_at FROM installs"
                                        " WHERE installed_app_id = ?",
                                        (const char *const[]){"instapp_c"}, 1, outs, 1),
                         0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t2);
    sql_close(c);
    double row = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / READS;
    double version = ((t2.tv_sec - t1.tv_sec) * 1e9 + (t2.tv_nsec - t1.tv_nsec)) / 1e3 / READS;
    printf("store_pg: install_get (whole row) %.1f us; one-column version check %.1f us\n", row,
           version);
}

#define THROUGHPUT_EVENTS 2000

struct tally {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int done, failed;
    int64_t worst_ms;
};

struct timed {
    struct tally *t;
    int64_t sent_ms;
};

static void tally_done(void *ctx, int rc, enum store_event_outcome outcome)
{
    struct timed *x = ctx;
    int64_t took = clock_now_ms() - x->sent_ms;
    pthread_mutex_lock(&x->t->mu);
    x->t->done++;
    if (rc != 0 || outcome != STORE_OUTCOME_APPLIED)
        x->t->failed++;
    if (took > x->t->worst_ms)
        x->t->worst_ms = took;
    pthread_cond_signal(&x->t->cond);
    pthread_mutex_unlock(&x->t->mu);
}

/* Durable install events through both replicas at once, as Cloud's callbacks would arrive: all
 * applied; the rate and the slowest are printed, never asserted (STYLE rule 10; bench/ measures
 * for real). */
static void test_many_events_through_both_replicas(void **state)
{
    struct fixture *f = *state;
    static struct timed sent[THROUGHPUT_EVENTS];
    struct tally t = {.done = 0};
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cond, NULL);
    int64_t start = clock_now_ms();
    for (int i = 0; i < THROUGHPUT_EVENTS; i++) {
        char key[64], id[48], sealed[48], fp[STORE_HASH_CAP];
        snprintf(id, sizeof id, "instapp_tp%d", i);
        snprintf(key, sizeof key, "install:%s", id);
        snprintf(sealed, sizeof sealed, "v1.sealed.tp%d", i);
        struct store_event ev = install_event(key, id, sealed, fp);
        ev.pin_app_id = 1;
        sent[i] = (struct timed){&t, clock_now_ms()};
        assert_int_equal(store_apply_event_async(i % 2 ? f->b : f->a, &ev, tally_done, &sent[i]),
                         0);
    }
    pthread_mutex_lock(&t.mu);
    while (t.done < THROUGHPUT_EVENTS)
        pthread_cond_wait(&t.cond, &t.mu);
    pthread_mutex_unlock(&t.mu);
    int64_t elapsed = clock_now_ms() - start;
    assert_int_equal(t.failed, 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM installs"), THROUGHPUT_EVENTS);
    printf("store_pg: %d durable install events through 2 replicas in %lld ms (%.0f/s),"
           " all queued at once, the last durable after %lld ms\n",
           THROUGHPUT_EVENTS, (long long)elapsed,
           elapsed ? THROUGHPUT_EVENTS * 1000.0 / (double)elapsed : 0.0, (long long)t.worst_ms);
    pthread_cond_destroy(&t.cond);
    pthread_mutex_destroy(&t.mu);
}

struct opener {
    const char *target;
    pthread_barrier_t *start;
    struct store *s;
    int rc;
};

static void *open_store(void *p)
{
    struct opener *o = p;
    pthread_barrier_wait(o->start);
    o->rc = store_open(o->target, &o->s);
    return NULL;
}

static void test_two_replicas_migrate_an_empty_database_once(void **state)
{
    char target[1024];
    pg_fresh_db("capp_replicas", target, sizeof target); /* empty: not even schema_migrations */
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    struct opener o[2] = {{target, &start, NULL, -1}, {target, &start, NULL, -1}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, open_store, &o[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    assert_int_equal(o[0].rc, 0);
    assert_int_equal(o[1].rc, 0);
    assert_int_equal(store_ping(o[0].s), 1);
    struct fixture f = {.a = o[0].s, .b = o[1].s};
    snprintf(f.target, sizeof f.target, "%s", target);
    assert_int_equal(
        count_rows(&f, "SELECT count(*) FROM schema_migrations WHERE component = 'capp'"), 1);
    char fp[STORE_HASH_CAP];
    struct store_event ev = install_event("install:instapp_m", "instapp_m", "v1.m", fp);
    expect_apply(o[1].s, &ev, STORE_OUTCOME_APPLIED);
    store_close(o[0].s);
    store_close(o[1].s);
}

/* A server that acknowledges commits before they are on disk is named at open. */
static void test_warns_when_commits_are_not_durable(void **state)
{
    struct fixture *f = *state;
    char path[600], dir[512];
    ts_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/log", dir);
    struct sql_conn *c = NULL;
    assert_int_equal(sql_open(f->target, &c), 0);
    assert_int_equal(sql_exec(c, "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET"
                                 " synchronous_commit = off', current_database()); END $$"),
                     0);
    sql_close(c);
    FILE *log = fopen(path, "w");
    assert_non_null(log);
    log_set_fd(fileno(log));
    struct store *s = NULL;
    int rc = store_open(f->target, &s);
    log_set_fd(2);
    fclose(log);
    assert_int_equal(rc, 0);
    store_close(s);
    assert_true(ts_file_contains(path, "event=store.not_durable synchronous_commit=off"));
    /* the setting belongs to the database, which the suite's next test reuses (pg_fresh.h) */
    assert_int_equal(sql_open(f->target, &c), 0);
    assert_int_equal(sql_exec(c, "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET"
                                 " synchronous_commit', current_database()); END $$"),
                     0);
    sql_close(c);
}

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f"

/* The start-up key check reads the sealed keys the PostgreSQL store holds. */
static void test_keycheck_on_postgres(void **state)
{
    struct fixture *f = *state;
    struct seal_keyring *a = NULL, *b = NULL;
    assert_int_equal(seal_keyring_new(&a), 0);
    assert_int_equal(seal_keyring_add_hex(a, KEY_A), 0);
    assert_int_equal(seal_keyring_new(&b), 0);
    assert_int_equal(seal_keyring_add_hex(b, KEY_B), 0);
    static const char key[] = "blnk_TESTKEY0123456789abcdefghijklmnopqrstuvwx";
    char *sealed = NULL, fp[STORE_HASH_CAP];
    assert_int_equal(seal_seal(a, "instapp_k", key, strlen(key), &sealed), 0);
    struct store_event ev = install_event("install:instapp_k", "instapp_k", sealed, fp);
    expect_apply(f->a, &ev, STORE_OUTCOME_APPLIED);
    free(sealed);

    struct keycheck_result res;
    assert_int_equal(keycheck_run(f->target, a, &res), 0);
    assert_int_equal(res.created, 1);
    assert_int_equal(res.secrets_checked, 1);
    assert_int_equal(keycheck_run(f->target, a, &res), 0); /* the second replica's start */
    assert_int_equal(res.created, 0);
    assert_int_equal(keycheck_run(f->target, b, &res), CAPP_ECRYPTO);
    assert_non_null(strstr(res.problem, seal_keyring_primary_id(a)));
    assert_int_equal(count_rows(f, "SELECT count(*) FROM capp_key_check"), 1);
    seal_keyring_free(a);
    seal_keyring_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_launch_on_a_redeemed_once_on_b, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_redemption_exactly_one_wins, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_same_event_on_both_replicas_applied_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_first_installs_of_two_apps_pin_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_created_on_a_read_on_b, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uninstall_on_b_refused_by_a_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_install_read_cost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_events_through_both_replicas, setup, teardown),
        cmocka_unit_test(test_two_replicas_migrate_an_empty_database_once),
        cmocka_unit_test_setup_teardown(test_keycheck_on_postgres, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warns_when_commits_are_not_durable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
