/*
 * test_results_units.c — kyc/results_units.h on both engines: a walker's units are claimed one
 * worker each (also by 8 threads at once: every unit exactly once), only while the walker holds
 * the install's run lease and only with the same list generation; a worker's lease is renewed,
 * and when it expires another worker takes the unit over (naming the dead one); finishing is
 * guarded by the holder and idempotent, drops the payload and counts in the run's progress; an
 * orphaned unit (taken over, or done by a replica whose presence lease expired) is reported; the
 * next run drops an old run's units except those a live worker holds. Every case runs on SQLite
 * (CTest kyc_results_units) and on a real PostgreSQL server (kyc_results_units_pg). Times are
 * passed in, so expiry needs no sleeping.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"
#include "engine_kit.h"

#include "capp/err.h"
#include "capp/sql.h"
#include "kyc/results_leases.h"
#include "kyc/results_units.h"

#define INST   "instapp_0123456789abcdef0123456789abcdef"
#define RUN    "walker-a:1700000000000"
#define LISTS  "listskey1"
#define T0     1700000000000LL
#define TTL    30000
#define UNITS  40
#define RACERS 8

static char target[700];

static struct sql_conn *open_fresh(const char *name)
{
    struct sql_conn *c = engine_kit_open(name, target, sizeof target);
    assert_int_equal(results_leases_migrate(c), 0);
    assert_int_equal(results_units_migrate(c), 0);
    return c;
}

static struct sql_conn *open_other(void)
{
    struct sql_conn *c = NULL;
    assert_int_equal(sql_open(target, &c), 0);
    return c;
}

/* The walker holds the run lease from T0 for a long time and adds n units. */
static void walker_adds(struct sql_conn *c, int n)
{
    assert_int_equal(
        results_lease_claim(c, INST, RESULTS_LEASE_RUN, "walker-a", T0, 10000000, NULL), 1);
    for (int i = 1; i <= n; i++) {
        char payload[64];
        snprintf(payload, sizeof payload, "[{\"identity_id\":\"idt_%d\"}]", i);
        assert_int_equal(results_unit_add(c, INST, RUN, i, "walker-a", LISTS, payload), 0);
    }
}

static void test_claim_renew_take_over_finish(void **state)
{
    (void)state;
    struct sql_conn *a = open_fresh("units_basic"), *b = open_other();
    walker_adds(a, 2);
    struct results_unit u1, u2, none;
    assert_int_equal(results_unit_claim(a, "worker-a", "replica-a", LISTS, T0 + 1, TTL, &u1), 1);
    assert_string_equal(u1.installed_app_id, INST);
    assert_string_equal(u1.run_key, RUN);
    assert_int_equal(u1.unit_no, 1);
    assert_string_equal(u1.payload, "[{\"identity_id\":\"idt_1\"}]");
    assert_string_equal(u1.taken_from, "");
    assert_int_equal(u1.attempts, 1);
    /* another worker gets the other unit, then none: another list generation gets none */
    assert_int_equal(
        results_unit_claim(b, "worker-b", "replica-b", "otherlists", T0 + 2, TTL, &none), 0);
    assert_int_equal(results_unit_claim(b, "worker-b", "replica-b", LISTS, T0 + 2, TTL, &u2), 1);
    assert_int_equal(u2.unit_no, 2);
    assert_int_equal(results_unit_claim(b, "worker-b", "replica-b", LISTS, T0 + 3, TTL, &none), 0);
    /* renewal keeps worker-a's unit past its first expiry; b cannot renew or finish it */
    assert_int_equal(results_unit_renew(a, &u1, "worker-a", T0 + TTL - 1, TTL), 1);
    assert_int_equal(results_unit_renew(b, &u1, "worker-b", T0 + TTL - 1, TTL), 0);
    assert_int_equal(results_unit_finish(b, &u1, "worker-b", 0, 1, 0, 5), 0);
    assert_int_equal(
        results_unit_claim(b, "worker-b", "replica-b", LISTS, T0 + TTL + 1, TTL, &none), 0);
    /* worker-b dies: its unit's lease expires and worker-a takes it over, naming it */
    struct results_unit again;
    assert_int_equal(
        results_unit_claim(a, "worker-a", "replica-a", LISTS, T0 + 2 + TTL + 1, TTL, &again), 1);
    assert_int_equal(again.unit_no, 2);
    assert_string_equal(again.taken_from, "worker-b");
    assert_int_equal(again.attempts, 2);
    /* the dead worker's late renewal and finishing change nothing */
    assert_int_equal(results_unit_renew(b, &u2, "worker-b", T0 + 2 + TTL + 2, TTL), 0);
    assert_int_equal(results_unit_finish(b, &u2, "worker-b", 0, 1, 0, 5), 0);
    /* finishing is idempotent: the second time is a no-op */
    assert_int_equal(results_unit_finish(a, &u1, "worker-a", 0, 7, 1, 30), 1);
    assert_int_equal(results_unit_finish(a, &u1, "worker-a", 0, 7, 1, 30), 0);
    struct results_units_progress pr;
    assert_int_equal(results_units_progress(a, INST, RUN, &pr), 0);
    assert_int_equal(pr.units, 2);
    assert_int_equal(pr.finished, 1);
    assert_int_equal(pr.screened, 7);
    assert_int_equal(pr.errors, 1);
    assert_int_equal(pr.screen_ms, 30);
    assert_int_equal(results_unit_finish(a, &again, "worker-a", 1, 0, 0, 0), 1);
    assert_int_equal(results_units_progress(a, INST, RUN, &pr), 0);
    assert_int_equal(pr.finished, 2);
    assert_int_equal(pr.failed, 1);
    /* a finished unit is never claimed again, and its payload (PII) is gone */
    assert_int_equal(
        results_unit_claim(b, "worker-b", "replica-b", LISTS, T0 + 10 * TTL, TTL, &none), 0);
    struct sql_stmt *st = NULL;
    assert_int_equal(sql_prepare(a, "SELECT count(*) FROM kyc_work_units WHERE payload <> ''", &st),
                     0);
    assert_int_equal(sql_step(st), 1);
    assert_int_equal(sql_column_int64(st, 0), 0);
    sql_finalize(st);
    /* the unit taken over is orphaned work; the one this replica (replica-a) did is not */
    int64_t orphaned = -1;
    assert_int_equal(results_units_orphaned(a, INST, RUN, "replica-a", T0 + 100, &orphaned), 0);
    assert_int_equal(orphaned, 1);
    free(u1.payload);
    free(u2.payload);
    free(again.payload);
    sql_close(b);
    sql_close(a);
}

static void test_only_live_runs_and_release(void **state)
{
    (void)state;
    struct sql_conn *a = open_fresh("units_live");
    walker_adds(a, 1);
    struct results_unit u;
    /* the walker loses its run lease (another replica took it): its units are not claimable */
    assert_int_equal(results_lease_release(a, INST, RESULTS_LEASE_RUN, "walker-a", T0 + 1, 0), 1);
    assert_int_equal(results_unit_claim(a, "worker-a", "replica-a", LISTS, T0 + 2, TTL, &u), 0);
    assert_int_equal(results_lease_claim(a, INST, RESULTS_LEASE_RUN, "walker-a", T0 + 3, TTL, NULL),
                     1);
    assert_int_equal(results_unit_claim(a, "worker-a", "replica-a", LISTS, T0 + 4, TTL, &u), 1);
    free(u.payload);
    /* given back: claimable again at once, by anyone */
    assert_int_equal(results_unit_release(a, &u, "worker-b"), 0);
    assert_int_equal(results_unit_release(a, &u, "worker-a"), 1);
    assert_int_equal(results_unit_claim(a, "worker-b", "replica-b", LISTS, T0 + 5, TTL, &u), 1);
    assert_string_equal(u.taken_from, "");
    free(u.payload);
    /* worker-b (of replica-b) finishes the unit claimed twice: orphaned work however present */
    assert_int_equal(
        results_lease_claim(a, "replica-b", RESULTS_LEASE_ALIVE, "replica-b", T0 + 5, 1000, NULL),
        1);
    assert_int_equal(results_unit_finish(a, &u, "worker-b", 0, 1, 0, 1), 1);
    int64_t orphaned = -1;
    assert_int_equal(results_units_orphaned(a, INST, RUN, "walker-a", T0 + 6, &orphaned), 0);
    assert_int_equal(orphaned, 1); /* claimed twice (released once) */
    sql_close(a);
}

static void test_presence_and_forget_others(void **state)
{
    (void)state;
    struct sql_conn *a = open_fresh("units_forget");
    walker_adds(a, 3);
    struct results_unit u1, u2;
    assert_int_equal(results_unit_claim(a, "worker-b", "replica-b", LISTS, T0 + 1, TTL, &u1), 1);
    assert_int_equal(results_unit_claim(a, "worker-c", "replica-c", LISTS, T0 + 1, TTL, &u2), 1);
    assert_int_equal(
        results_lease_claim(a, "replica-b", RESULTS_LEASE_ALIVE, "replica-b", T0, 1000, NULL), 1);
    assert_int_equal(results_unit_finish(a, &u1, "worker-b", 0, 1, 0, 1), 1);
    int64_t orphaned = -1;
    assert_int_equal(results_units_orphaned(a, INST, RUN, "walker-a", T0 + 500, &orphaned), 0);
    assert_int_equal(orphaned, 0); /* worker-b is present */
    assert_int_equal(results_units_orphaned(a, INST, RUN, "walker-a", T0 + 1001, &orphaned), 0);
    assert_int_equal(orphaned, 1); /* its presence expired: its queued work is lost */
    /* the next run drops the old run's units but the one worker-c still holds */
    int64_t left = -1;
    assert_int_equal(results_units_forget_others(a, INST, "walker-a:2", T0 + 2, &left), 0);
    assert_int_equal(left, 1);
    assert_int_equal(results_unit_finish(a, &u2, "worker-c", 0, 1, 0, 1), 1);
    assert_int_equal(results_units_forget_others(a, INST, "walker-a:2", T0 + 3, &left), 0);
    assert_int_equal(left, 0);
    struct results_units_progress pr;
    assert_int_equal(results_units_progress(a, INST, RUN, &pr), 0);
    assert_int_equal(pr.units, 0);
    free(u1.payload);
    free(u2.payload);
    sql_close(a);
}

struct racer {
    pthread_barrier_t *start;
    int index;
    int claimed[UNITS + 1];
    int failed;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct sql_conn *c = NULL;
    if (sql_open(target, &c) != 0) {
        r->failed = 1;
        return NULL;
    }
    char holder[32];
    snprintf(holder, sizeof holder, "worker-%d", r->index);
    pthread_barrier_wait(r->start);
    for (int busy = 0; busy < 200;) {
        struct results_unit u;
        int rc = results_unit_claim(c, holder, "replica-r", LISTS, T0 + 1, TTL, &u);
        if (rc == CAPP_EBUSY) { /* SQLite: another connection writes */
            busy++;
            continue;
        }
        if (rc == 0)
            break;
        if (rc != 1) {
            r->failed = 1;
            break;
        }
        r->claimed[u.unit_no]++;
        free(u.payload);
    }
    sql_close(c);
    return NULL;
}

static void test_concurrent_claims_each_unit_once(void **state)
{
    (void)state;
    struct sql_conn *a = open_fresh("units_race");
    walker_adds(a, UNITS);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACERS);
    static struct racer r[RACERS];
    pthread_t t[RACERS];
    for (int i = 0; i < RACERS; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].start = &start;
        r[i].index = i;
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    int workers_with_units = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(t[i], NULL);
        assert_false(r[i].failed);
    }
    pthread_barrier_destroy(&start);
    for (int no = 1; no <= UNITS; no++) {
        int n = 0;
        for (int i = 0; i < RACERS; i++)
            n += r[i].claimed[no];
        if (n != 1)
            fail_msg("unit %d claimed %d times", no, n);
    }
    for (int i = 0; i < RACERS; i++) {
        int mine = 0;
        for (int no = 1; no <= UNITS; no++)
            mine += r[i].claimed[no];
        workers_with_units += mine > 0;
    }
    print_message("%d of %d workers got units\n", workers_with_units, RACERS);
    sql_close(a);
}

static void test_bad_input_changes_nothing(void **state)
{
    (void)state;
    struct sql_conn *a = open_fresh("units_bad");
    walker_adds(a, 1);
    assert_int_equal(results_unit_add(a, "", RUN, 2, "walker-a", LISTS, "[]"), CAPP_EINVAL);
    assert_int_equal(results_unit_add(a, INST, "", 2, "walker-a", LISTS, "[]"), CAPP_EINVAL);
    assert_int_equal(results_unit_add(a, INST, RUN, 2, "", LISTS, "[]"), CAPP_EINVAL);
    assert_int_equal(results_unit_add(a, INST, RUN, 2, "walker-a", LISTS, NULL), CAPP_EINVAL);
    /* a unit number used twice is refused, the first one kept */
    assert_true(results_unit_add(a, INST, RUN, 1, "walker-a", LISTS, "[]") < 0);
    struct results_unit u;
    assert_int_equal(results_unit_claim(a, "", "replica-x", LISTS, T0 + 1, TTL, &u), CAPP_EINVAL);
    assert_int_equal(results_unit_claim(a, "worker-a", "replica-a", LISTS, T0 + 1, 0, &u),
                     CAPP_EINVAL);
    struct results_units_progress pr;
    assert_int_equal(results_units_progress(a, INST, RUN, &pr), 0);
    assert_int_equal(pr.units, 1);
    assert_int_equal(results_unit_claim(a, "worker-a", "replica-a", LISTS, T0 + 1, TTL, &u), 1);
    assert_string_equal(u.payload, "[{\"identity_id\":\"idt_1\"}]");
    free(u.payload);
    sql_close(a);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_renew_take_over_finish),
        cmocka_unit_test(test_only_live_runs_and_release),
        cmocka_unit_test(test_presence_and_forget_others),
        cmocka_unit_test(test_concurrent_claims_each_unit_once),
        cmocka_unit_test(test_bad_input_changes_nothing),
    };
    return cmocka_run_group_tests_name(engine_kit_postgres() ? "results_units_postgres"
                                                             : "results_units_sqlite",
                                       tests, NULL, NULL);
}
