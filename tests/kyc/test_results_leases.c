/*
 * test_results_leases.c — kyc/results_leases.h on both engines: run leases (two holders, one
 * wins; renewal keeps a lease; expiry lets another holder take it over and names the dead one;
 * release), the unfinished runs a scan finds, and the schedule's compare-and-set. Every
 * case runs on SQLite (CTest kyc_results_leases, two or more connections to one file) and again
 * on a real PostgreSQL server (kyc_results_leases_pg: this binary with the argument "postgres",
 * fixture pg). Times are passed in, so expiry needs no sleeping.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"
#include "engine_kit.h"

#include "capp/err.h"
#include "capp/sql.h"
#include "kyc/results_leases.h"

#define INST "instapp_0123456789abcdef0123456789abcdef"
#define T0   1700000000000LL
#define TTL  30000

static char target[700];

/* A fresh database for the running case (target names it), migrated, and one connection. */
static struct sql_conn *open_fresh(const char *name)
{
    struct sql_conn *c = engine_kit_open(name, target, sizeof target);
    assert_int_equal(results_leases_migrate(c), 0);
    return c;
}

/* Another connection to the running case's database: another replica. */
static struct sql_conn *open_other(void)
{
    struct sql_conn *c = NULL;
    assert_int_equal(sql_open(target, &c), 0);
    return c;
}

static void test_two_holders_one_wins(void **state)
{
    struct sql_conn *a = open_fresh("two_holders"), *b = open_other();
    struct results_lease l;
    assert_int_equal(results_lease_claim(a, INST, RESULTS_LEASE_RUN, "replica-a", T0, TTL, &l), 1);
    assert_string_equal(l.holder, "replica-a");
    assert_string_equal(l.taken_from, "");
    assert_int_equal(l.expires_at_ms, T0 + TTL);
    assert_int_equal(l.claimed_at_ms, T0);

    /* b loses, and learns who holds it until when */
    assert_int_equal(results_lease_claim(b, INST, RESULTS_LEASE_RUN, "replica-b", T0 + 10, TTL, &l),
                     0);
    assert_string_equal(l.holder, "replica-a");
    assert_int_equal(l.expires_at_ms, T0 + TTL);
    /* b cannot renew or release a's lease */
    assert_int_equal(results_lease_renew(b, INST, RESULTS_LEASE_RUN, "replica-b", T0 + 20, TTL), 0);
    assert_int_equal(results_lease_release(b, INST, RESULTS_LEASE_RUN, "replica-b", T0 + 20, 1), 0);
    assert_int_equal(results_lease_get(a, INST, RESULTS_LEASE_RUN, &l), 0);
    assert_string_equal(l.holder, "replica-a");
    assert_int_equal(l.expires_at_ms, T0 + TTL);

    /* the same holder claiming again keeps its tenure (claimed_at) */
    assert_int_equal(
        results_lease_claim(a, INST, RESULTS_LEASE_RUN, "replica-a", T0 + 100, TTL, &l), 1);
    assert_int_equal(l.claimed_at_ms, T0);
    assert_int_equal(l.expires_at_ms, T0 + 100 + TTL);

    /* leases are per install and unit */
    assert_int_equal(
        results_lease_claim(b, INST "x", RESULTS_LEASE_RUN, "replica-b", T0 + 10, TTL, NULL), 1);
    assert_int_equal(results_lease_claim(b, INST, "page:0001", "replica-b", T0 + 10, TTL, NULL), 1);
    sql_close(a);
    sql_close(b);
}

static void test_renew_keeps_expiry_takes_over(void **state)
{
    struct sql_conn *a = open_fresh("renew_expiry"), *b = open_other();
    struct results_lease l;
    assert_int_equal(results_lease_claim(a, INST, RESULTS_LEASE_RUN, "replica-a", T0, 1000, &l), 1);
    /* renewed before it expires: still a's past the first expiry */
    assert_int_equal(results_lease_renew(a, INST, RESULTS_LEASE_RUN, "replica-a", T0 + 800, 1000),
                     1);
    assert_int_equal(
        results_lease_claim(b, INST, RESULTS_LEASE_RUN, "replica-b", T0 + 1500, 1000, &l), 0);
    assert_string_equal(l.holder, "replica-a");
    assert_int_equal(l.expires_at_ms, T0 + 1800);

    /* a stops renewing (died): once expired, b takes it over and is told from whom */
    assert_int_equal(
        results_lease_claim(b, INST, RESULTS_LEASE_RUN, "replica-b", T0 + 1801, 1000, &l), 1);
    assert_string_equal(l.holder, "replica-b");
    assert_string_equal(l.taken_from, "replica-a");
    assert_int_equal(l.claimed_at_ms, T0 + 1801);

    /* a comes back: its renewal and release fail, the lease stays b's */
    assert_int_equal(results_lease_renew(a, INST, RESULTS_LEASE_RUN, "replica-a", T0 + 1900, 1000),
                     0);
    assert_int_equal(results_lease_release(a, INST, RESULTS_LEASE_RUN, "replica-a", T0 + 1900, 1),
                     0);
    assert_int_equal(results_lease_get(a, INST, RESULTS_LEASE_RUN, &l), 0);
    assert_string_equal(l.holder, "replica-b");

    /* b finishes: released as done, and the next claim is a fresh tenure, not a takeover */
    assert_int_equal(results_lease_release(b, INST, RESULTS_LEASE_RUN, "replica-b", T0 + 2000, 1),
                     1);
    assert_int_equal(results_lease_get(a, INST, RESULTS_LEASE_RUN, &l), 0);
    assert_string_equal(l.holder, "");
    assert_int_equal(l.done, 1);
    assert_int_equal(l.expires_at_ms, 0);
    assert_int_equal(l.released_at_ms, T0 + 2000);
    assert_int_equal(l.claimed_at_ms, T0 + 1801);
    assert_int_equal(
        results_lease_claim(a, INST, RESULTS_LEASE_RUN, "replica-a", T0 + 2001, 1000, &l), 1);
    assert_string_equal(l.taken_from, "");
    assert_int_equal(l.done, 0);
    sql_close(a);
    sql_close(b);
}

static void test_bad_input_changes_nothing(void **state)
{
    struct sql_conn *a = open_fresh("bad_input");
    struct results_lease l;
    assert_int_equal(results_lease_claim(a, INST, RESULTS_LEASE_RUN, "", T0, TTL, &l), CAPP_EINVAL);
    assert_int_equal(results_lease_claim(a, "", RESULTS_LEASE_RUN, "replica-a", T0, TTL, &l),
                     CAPP_EINVAL);
    assert_int_equal(results_lease_claim(a, INST, RESULTS_LEASE_RUN, "replica-a", T0, 0, &l),
                     CAPP_EINVAL);
    char long_holder[RESULTS_LEASE_HOLDER_CAP + 8];
    memset(long_holder, 'h', sizeof long_holder - 1);
    long_holder[sizeof long_holder - 1] = '\0';
    assert_int_equal(results_lease_claim(a, INST, RESULTS_LEASE_RUN, long_holder, T0, TTL, &l),
                     CAPP_EINVAL);
    assert_int_equal(results_lease_get(a, INST, RESULTS_LEASE_RUN, &l), CAPP_ENOTFOUND);
    sql_close(a);
}

/* ---- 8 replicas claiming one lease at once ---- */

#define RACERS 8

struct racer {
    pthread_barrier_t *start;
    int index;
    int result;
    char holder[32];
};

static void *race_claim(void *arg)
{
    struct racer *r = arg;
    struct sql_conn *c = NULL;
    if (sql_open(target, &c) != 0) {
        r->result = -100;
        return NULL;
    }
    snprintf(r->holder, sizeof r->holder, "replica-%d", r->index);
    pthread_barrier_wait(r->start);
    int rc;
    /* SQLite may answer busy while another connection writes: that claimer tries again */
    for (int tries = 0; tries < 100; tries++) {
        rc = results_lease_claim(c, INST, RESULTS_LEASE_RUN, r->holder, T0, TTL, NULL);
        if (rc != CAPP_EBUSY)
            break;
    }
    r->result = rc;
    sql_close(c);
    return NULL;
}

static void test_concurrent_claim_exactly_one(void **state)
{
    for (int round = 0; round < 5; round++) {
        char name[32];
        snprintf(name, sizeof name, "race_%d", round);
        struct sql_conn *a = open_fresh(name);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, RACERS);
        struct racer r[RACERS];
        pthread_t t[RACERS];
        for (int i = 0; i < RACERS; i++) {
            r[i] = (struct racer){.start = &start, .index = i};
            assert_int_equal(pthread_create(&t[i], NULL, race_claim, &r[i]), 0);
        }
        int winners = 0, winner = -1;
        for (int i = 0; i < RACERS; i++) {
            pthread_join(t[i], NULL);
            if (r[i].result != 0 && r[i].result != 1)
                fail_msg("claimer %d: %d", i, r[i].result);
            if (r[i].result == 1) {
                winners++;
                winner = i;
            }
        }
        pthread_barrier_destroy(&start);
        assert_int_equal(winners, 1);
        struct results_lease l;
        assert_int_equal(results_lease_get(a, INST, RESULTS_LEASE_RUN, &l), 0);
        assert_string_equal(l.holder, r[winner].holder);
        sql_close(a);
    }
}

/* ---- what a scan finds ---- */

struct seen {
    char ids[8][64];
    int n;
};

static int collect(void *ctx, const char *id)
{
    struct seen *s = ctx;
    if (s->n < 8)
        snprintf(s->ids[s->n++], sizeof s->ids[0], "%s", id);
    return 0;
}

static void test_unfinished_runs(void **state)
{
    struct sql_conn *a = open_fresh("unfinished");
    /* A: held by a dead replica (expired) · B: held and live · C: finished · D: released
     * unfinished (its replica shut down mid-run) · E: held by the scanner itself, expired */
    assert_int_equal(results_lease_claim(a, "inst_a", RESULTS_LEASE_RUN, "dead", T0, 1000, NULL),
                     1);
    assert_int_equal(results_lease_claim(a, "inst_b", RESULTS_LEASE_RUN, "live", T0, TTL, NULL), 1);
    assert_int_equal(results_lease_claim(a, "inst_c", RESULTS_LEASE_RUN, "live", T0, TTL, NULL), 1);
    assert_int_equal(results_lease_release(a, "inst_c", RESULTS_LEASE_RUN, "live", T0 + 5, 1), 1);
    assert_int_equal(results_lease_claim(a, "inst_d", RESULTS_LEASE_RUN, "live", T0, TTL, NULL), 1);
    assert_int_equal(results_lease_release(a, "inst_d", RESULTS_LEASE_RUN, "live", T0 + 5, 0), 1);
    assert_int_equal(results_lease_claim(a, "inst_e", RESULTS_LEASE_RUN, "me", T0, 1000, NULL), 1);
    assert_int_equal(results_lease_claim(a, "inst_f", "page:0001", "dead", T0, 1000, NULL), 1);

    struct seen s = {0};
    assert_int_equal(
        results_lease_each_unfinished(a, RESULTS_LEASE_RUN, "me", T0 + 2000, collect, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ids[0], "inst_a");
    assert_string_equal(s.ids[1], "inst_d");
    /* before the dead replica's lease expired only the released one shows */
    memset(&s, 0, sizeof s);
    assert_int_equal(
        results_lease_each_unfinished(a, RESULTS_LEASE_RUN, "me", T0 + 500, collect, &s), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.ids[0], "inst_d");
    sql_close(a);
}

/* ---- the schedule ---- */

struct due_seen {
    char id[64];
    int64_t next_at;
    int n;
};

static int collect_due(void *ctx, const char *id, int64_t next_at)
{
    struct due_seen *d = ctx;
    snprintf(d->id, sizeof d->id, "%s", id);
    d->next_at = next_at;
    d->n++;
    return 0;
}

static void test_schedule_claimed_once(void **state)
{
    struct sql_conn *a = open_fresh("schedule"), *b = open_other();
    int64_t next = 0;
    assert_int_equal(results_schedule_get(a, INST, &next), CAPP_ENOTFOUND);
    assert_int_equal(results_schedule_claim(a, INST, T0, T0 + 1), 0); /* no row: nothing due */
    assert_int_equal(results_schedule_set(a, INST, T0 + 3600000), 0);
    assert_int_equal(results_schedule_set(a, INST, T0 + 1000), 0); /* replaced */
    assert_int_equal(results_schedule_get(b, INST, &next), 0);
    assert_int_equal(next, T0 + 1000);

    struct due_seen d = {0};
    assert_int_equal(results_schedule_each_due(a, T0 + 999, collect_due, &d), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(results_schedule_each_due(b, T0 + 1000, collect_due, &d), 0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.id, INST);
    assert_int_equal(d.next_at, T0 + 1000);

    /* both replicas found it due with the same next_at: exactly one claims it */
    assert_int_equal(results_schedule_claim(a, INST, T0 + 1000, T0 + 31000), 1);
    assert_int_equal(results_schedule_claim(b, INST, T0 + 1000, T0 + 32000), 0);
    assert_int_equal(results_schedule_get(b, INST, &next), 0);
    assert_int_equal(next, T0 + 31000);
    memset(&d, 0, sizeof d);
    assert_int_equal(results_schedule_each_due(b, T0 + 2000, collect_due, &d), 0);
    assert_int_equal(d.n, 0);

    assert_int_equal(results_schedule_forget(a, INST), 0);
    assert_int_equal(results_schedule_get(b, INST, &next), CAPP_ENOTFOUND);
    sql_close(a);
    sql_close(b);
}

static void test_migrate_twice(void **state)
{
    struct sql_conn *a = open_fresh("migrate_twice"), *b = open_other();
    assert_int_equal(results_leases_migrate(b), 0);
    assert_int_equal(results_leases_migrate(a), 0);
    assert_int_equal(results_lease_claim(b, INST, RESULTS_LEASE_RUN, "replica-b", T0, TTL, NULL),
                     1);
    sql_close(a);
    sql_close(b);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_holders_one_wins),
        cmocka_unit_test(test_renew_keeps_expiry_takes_over),
        cmocka_unit_test(test_bad_input_changes_nothing),
        cmocka_unit_test(test_concurrent_claim_exactly_one),
        cmocka_unit_test(test_unfinished_runs),
        cmocka_unit_test(test_schedule_claimed_once),
        cmocka_unit_test(test_migrate_twice),
    };
    return cmocka_run_group_tests_name(engine_kit_postgres() ? "results_leases_postgres"
                                                             : "results_leases_sqlite",
                                       tests, NULL, NULL);
}
