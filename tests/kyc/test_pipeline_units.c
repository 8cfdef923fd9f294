/*
 * test_pipeline_units.c — one install's run shared between two real `kyc serve` replicas through
 * work units (kyc/results_units.h, kyc/pipeline_units.c) against the real cloudsim: the walker
 * (replica A, which holds the run lease) writes each page's identities to check as a unit, and
 * the unit workers of both replicas check and store them; every identity is stored once, every
 * alert created once, and both replicas did units. When the replica that is not the walker is
 * killed (kill -9) holding a unit, the unit's lease expires and A's workers take it over; the run
 * finishes with nothing lost or stored twice, and the write-backs the dead replica had queued are
 * sent by follow-up runs. The same binary runs on PostgreSQL (argument "postgres", CTest entry
 * kyc_pipeline_units_pg), where units are on by default; on SQLite the replicas turn them on with
 * KYC_PIPELINE_UNIT_WORKERS (one SQLite file shared by two processes).
 */
#include <signal.h>

#include "test_pipeline_kit.h"

#define PERMS "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]"

/* Starts `kyc serve` on port with the kit's database, lists and app, `workers` unit workers and
 * the lease length. */
static void start_replica(struct kit *k, struct kit_replica *r, unsigned short port,
                          const char *name, const char *lease_ms, const char *workers)
{
    char lease[64], unit_workers[64];
    snprintf(lease, sizeof lease, "KYC_PIPELINE_LEASE_MS=%s", lease_ms);
    snprintf(unit_workers, sizeof unit_workers, "KYC_PIPELINE_UNIT_WORKERS=%s", workers);
    const char *env[] = {lease, unit_workers, NULL};
    kit_start_replica(k, r, port, name, NULL, env);
}

/* Lines of the log that have needle. */
static long log_count(const char *path, const char *needle)
{
    char *text = ts_read_file(path, NULL);
    long n = 0;
    for (const char *at = text; at && (at = strstr(at, needle)); at += strlen(needle))
        n++;
    free(text);
    return n;
}

/* Every identity screened (stored) once, written back in Blnk, every alert it needs created
 * once, the audit chain intact. */
static void assert_all_once(struct kit *k, long n)
{
    long long settled = 0;
    for (int i = 0; i < 1200; i++) {
        settled = kit_count(k, "kyc_identities",
                            "writeback_state = 'done' AND alert_state NOT IN"
                            " ('wanted', 'creating', 'uncertain')");
        if (settled == n)
            break;
        ts_sleep_ms(100);
    }
    assert_int_equal(kit_count(k, "kyc_identities", "1 = 1"), n);
    assert_int_equal(settled, n);
    assert_int_equal(kit_int(k->cs_db,
                             "SELECT count(*) FROM core_identities WHERE instance_id = ?"
                             " AND meta_data LIKE '%\"kyc\"%'",
                             k->instance_id),
                     n);
    /* stored once: one screening record per identity, none twice */
    assert_int_equal(kit_int(k->kyc_db,
                             "SELECT count(*) FROM kyc_audit_log WHERE installed_app_id = ?"
                             " AND kind = 'screening'",
                             k->installed_app_id),
                     n);
    assert_int_equal(kit_int(k->kyc_db,
                             "SELECT count(DISTINCT identity_id) FROM kyc_audit_log"
                             " WHERE installed_app_id = ? AND kind = 'screening'",
                             k->installed_app_id),
                     n);
    /* every alert once: none twice, none missing */
    assert_int_equal(kit_int(k->cs_db,
                             "SELECT count(*) FROM (SELECT target_id FROM cloud_alerts"
                             " WHERE instance_id = ? GROUP BY target_id HAVING count(*) > 1) AS d",
                             k->instance_id),
                     0);
    long long open_alerts = kit_count(k, "kyc_identities", "alert_state = 'open'");
    assert_true(open_alerts > 0);
    assert_int_equal(kit_int(k->cs_db, "SELECT count(*) FROM cloud_alerts WHERE instance_id = ?",
                             k->instance_id),
                     open_alerts);
    kit_verify_chain(k);
}

/* The install's units finished by a replica, and those it holds (claimed, not finished). */
#define UNITS_DONE_BY                                                                    \
    "SELECT count(*) FROM kyc_work_units WHERE installed_app_id = ?1 AND state = 'done'" \
    " AND replica = ?2"
#define UNITS_HELD_BY                                                                    \
    "SELECT count(*) FROM kyc_work_units WHERE installed_app_id = ?1 AND state = 'free'" \
    " AND holder <> '' AND replica = ?2"

/* count(*) of a query binding the install and a replica, on an open connection; -1 on an
 * error. */
static long long count_on(struct sql_conn *c, const char *sql, const char *installed_app_id,
                          const char *replica)
{
    struct sql_stmt *st = NULL;
    long long n = -1;
    if (sql_prepare(c, sql, &st) == 0 && sql_bind_text(st, 1, installed_app_id) == 0 &&
        sql_bind_text(st, 2, replica) == 0 && sql_step(st) == 1)
        n = sql_column_int64(st, 0);
    sql_finalize(st);
    return n;
}

/* Units of the install's latest run finished by holder. */
static long long units_done_by(const struct kit *k, const char *holder)
{
    char text[32];
    return kit_text(k->kyc_db, UNITS_DONE_BY, k->installed_app_id, holder, text, sizeof text)
               ? atoll(text)
               : -1;
}

static void test_both_replicas_do_units(void **state)
{
    (void)state;
    struct kit k;
    struct kit_replica a = {0}, b = {0};
    kit_second = &b;
    const long N = engine_kit_postgres() ? 6000 : 3000;
    const char *const limit[] = {"--rate-limit", "3000/s", NULL};
    kit_start_cloudsim(&k, limit);
    kit_seed(&k, N, 0.05, 0.05);
    kit_register(&k);
    /* both up before the install: the callback reaches A, which walks; B only does units */
    /* A has one unit worker, B two: the walk outpaces A's worker, whatever the machine's load,
     * so units wait for B too (A's worker is told of each new unit at once, B polls) */
    start_replica(&k, &a, k.kyc_port, "replica_a", engine_kit_postgres() ? "5000" : "10000", "1");
    k.kyc = a.proc;
    k.kyc_running = 1;
    start_replica(&k, &b, kit_free_port(), "replica_b", engine_kit_postgres() ? "5000" : "10000",
                  "2");
    char holder_a[64] = "", holder_b[64] = "";
    for (int i = 0; i < 400 && !kit_log_value(b.log, "kyc.pipeline.replica", "holder", holder_b,
                                              sizeof holder_b);
         i++)
        ts_sleep_ms(25);
    assert_true(kit_log_value(a.log, "kyc.pipeline.replica", "holder", holder_a, sizeof holder_a));
    assert_true(holder_b[0]);
    kit_install(&k, PERMS);
    kit_wait_runs(&k, 1, 300000);
    /* one run, walked by A; B never ran the install */
    assert_int_equal(log_count(a.log, "event=kyc.pipeline.run_start "), 1);
    assert_int_equal(log_count(b.log, "event=kyc.pipeline.run_start "), 0);
    /* both replicas checked units of it, and every unit was finished */
    long long by_a = units_done_by(&k, holder_a), by_b = units_done_by(&k, holder_b);
    print_message("units: A %lld, B %lld\n", by_a, by_b);
    assert_true(by_a > 0);
    assert_true(by_b > 0);
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT count(*) FROM kyc_work_units WHERE installed_app_id = ?"
                             " AND state <> 'done'",
                             k.installed_app_id),
                     0);
    assert_int_equal(by_a + by_b, kit_int(k.kyc_db,
                                          "SELECT count(*) FROM kyc_work_units"
                                          " WHERE installed_app_id = ?",
                                          k.installed_app_id));
    assert_int_equal(log_count(a.log, "event=kyc.pipeline.unit_done "), by_a);
    assert_int_equal(log_count(b.log, "event=kyc.pipeline.unit_done "), by_b);
    /* the units' payloads (customer PII) are gone once finished */
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT count(*) FROM kyc_work_units WHERE installed_app_id = ?"
                             " AND payload <> ''",
                             k.installed_app_id),
                     0);
    /* the run's progress counts what both replicas screened */
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT screened FROM kyc_runs WHERE installed_app_id = ?"
                             " ORDER BY run_id LIMIT 1",
                             k.installed_app_id),
                     N);
    assert_all_once(&k, N);
    ts_proc_stop(&b.proc, SIGTERM);
    b.running = 0;
    kit_stop(&k);
}

static void test_dead_worker_unit_taken_over(void **state)
{
    (void)state;
    struct kit k;
    struct kit_replica a = {0}, b = {0};
    kit_second = &b;
    /* 6,000 on both engines: with fewer, on a loaded 2-core host, the run could end before B had
     * finished a unit while holding another (seen on SQLite) */
    const long N = 6000;
    /* Cloud's rate limit keeps the write-backs behind the checks: B dies with write-backs queued
     * (pending in the database), which follow-up runs must send */
    const char *const limit[] = {"--rate-limit", "200/s", NULL};
    kit_start_cloudsim(&k, limit);
    kit_seed(&k, N, 0.05, 0.05);
    kit_register(&k);
    const char *lease = engine_kit_postgres() ? "3000" : "10000";
    start_replica(&k, &a, k.kyc_port, "replica_a", lease, "1");
    k.kyc = a.proc;
    k.kyc_running = 1;
    start_replica(&k, &b, kit_free_port(), "replica_b", lease, "2");
    char holder_b[64] = "";
    for (int i = 0; i < 400 && !kit_log_value(b.log, "kyc.pipeline.replica", "holder", holder_b,
                                              sizeof holder_b);
         i++)
        ts_sleep_ms(25);
    assert_true(holder_b[0]);
    kit_install(&k, PERMS);
    /* B dies (kill -9) while it holds a unit */
    /* polled on one connection (a connection per poll would load the server more than B) */
    struct sql_conn *c = NULL;
    assert_int_equal(sql_open(k.kyc_db, &c), 0);
    /* after B finished a unit (its write-backs queued in B's writers, behind the rate limit) */
    int held = 0;
    for (int i = 0; i < 3000 && !held; i++) {
        held = count_on(c, UNITS_DONE_BY, k.installed_app_id, holder_b) >= 1 &&
               count_on(c, UNITS_HELD_BY, k.installed_app_id, holder_b) > 0;
        if (!held)
            ts_sleep_ms(10);
    }
    assert_true(held);
    ts_proc_stop(&b.proc, SIGKILL);
    b.running = 0;
    long long still = count_on(c, UNITS_HELD_BY, k.installed_app_id, holder_b);
    sql_close(c);
    if (still <= 0)
        fail_msg("replica B finished its unit before it was killed: retry or raise N");
    /* A's workers take B's unit over when its lease expires, and the run finishes */
    char from[64] = "";
    for (int i = 0;
         i < 1200 && !kit_log_value(a.log, "kyc.pipeline.unit_takeover", "from", from, sizeof from);
         i++)
        ts_sleep_ms(25);
    /* the dead worker's holder id is <replica>/<worker> */
    assert_memory_equal(from, holder_b, strlen(holder_b));
    assert_int_equal(from[strlen(holder_b)], '/');
    kit_wait_runs(&k, 1, 300000);
    char state_text[32] = "";
    assert_true(kit_text(k.kyc_db,
                         "SELECT state FROM kyc_runs WHERE installed_app_id = ?"
                         " ORDER BY run_id LIMIT 1",
                         k.installed_app_id, NULL, state_text, sizeof state_text));
    assert_string_equal(state_text, "done");
    /* the work B's writers had queued (pending in the database) is sent by follow-up runs:
     * every identity ends written back, every alert settled */
    assert_true(log_count(a.log, "event=kyc.pipeline.units_orphaned ") >= 1);
    assert_all_once(&k, N);
    kit_stop(&k);
}

/* KYC_PIPELINE_UNIT_WORKERS: 0 to PIPELINE_MAX_THREADS (64) is taken; out of range or not a
 * number is ignored with a warning, and the engine's default applies (2 workers on PostgreSQL,
 * the direct path on SQLite). What a replica uses is in its log. */
static void test_unit_workers_from_env(void **state)
{
    (void)state;
    struct kit k;
    kit_start_cloudsim(&k, NULL);
    kit_register(&k);
    const char *def = engine_kit_postgres() ? "2" : "0";
    const struct {
        const char *value, *workers;
        int ignored;
    } cases[] = {{"3", "3", 0}, {"0", "0", 0}, {"65", def, 1}, {"-1", def, 1}, {"x", def, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct kit_replica r = {0};
        kit_second = &r;
        char name[32];
        snprintf(name, sizeof name, "env_%zu", i);
        start_replica(&k, &r, kit_free_port(), name, "5000", cases[i].value);
        char workers[16] = "", mode[16] = "";
        for (int t = 0; t < 400 && !kit_log_value(r.log, "kyc.pipeline.unit_workers", "workers",
                                                  workers, sizeof workers);
             t++)
            ts_sleep_ms(25);
        assert_true(kit_log_value(r.log, "kyc.pipeline.unit_workers", "mode", mode, sizeof mode));
        ts_proc_stop(&r.proc, SIGTERM);
        r.running = 0;
        kit_second = NULL;
        if (strcmp(workers, cases[i].workers) != 0)
            fail_msg("KYC_PIPELINE_UNIT_WORKERS=%s: %s workers, expected %s", cases[i].value,
                     workers, cases[i].workers);
        assert_string_equal(mode, strcmp(cases[i].workers, "0") ? "units" : "direct");
        assert_int_equal(log_count(r.log, "event=kyc.pipeline.unit_workers_env_ignored "),
                         cases[i].ignored);
    }
    kit_stop(&k);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_both_replicas_do_units, kit_replica_teardown),
        cmocka_unit_test_teardown(test_dead_worker_unit_taken_over, kit_replica_teardown),
        cmocka_unit_test_teardown(test_unit_workers_from_env, kit_replica_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
