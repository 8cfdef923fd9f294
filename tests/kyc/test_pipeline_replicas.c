/*
 * test_pipeline_replicas.c — two real `kyc serve` replicas on one database (the SQLite file both
 * are given with --db) against the real cloudsim: an install's run happens on one replica at a
 * time, the other takes it over when the first is killed (kill -9) and finishes it with every
 * identity written back, no alert created twice and the audit chain intact; a start-up run the
 * other replica's finished run covered is not repeated; a replica whose lease was taken over stops
 * its run at once; scheduled runs happen once per interval across both replicas, not once per
 * replica; two replicas started at once on an empty database migrate it once; a launch minted
 * through one replica is redeemed exactly once on the other, also under racing redemptions on
 * both. The same binary runs on PostgreSQL (argument "postgres", CTest entry
 * kyc_pipeline_replicas_pg; engine_kit.h), with a 20,000-identity failover run. Leases are
 * shortened (KYC_PIPELINE_LEASE_MS) so takeovers happen within the test; to 10 s where a replica
 * must not lose its lease while alive (SQLite makes a renewal wait for the other writers).
 */
#include <pthread.h>
#include <signal.h>

#include "capp/db.h" /* DB_TEXTS */
#include "test_pipeline_kit.h"

#define PERMS "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]"
/* Cloud's rate limit for the 20,000-identity failover run on PostgreSQL */
#define RATE_PG "2000/s"

/* Starts `kyc serve` on port with the kit's database, lists and app, and a short lease. */
static void start_replica(struct kit *k, struct kit_replica *r, unsigned short port,
                          const char *name, const char *const *extra, const char *lease_ms)
{
    char lease[64];
    snprintf(lease, sizeof lease, "KYC_PIPELINE_LEASE_MS=%s", lease_ms);
    const char *env[] = {lease, NULL};
    kit_start_replica(k, r, port, name, extra, env);
}

static int log_has(const char *path, const char *needle)
{
    return ts_file_contains(path, needle);
}

/* Identities of the kit's instance whose metadata carries the kyc object in cloudsim. */
static long long written_in_blnk(const struct kit *k)
{
    return kit_int(k->cs_db,
                   "SELECT count(*) FROM core_identities WHERE instance_id = ?"
                   " AND meta_data LIKE '%\"kyc\"%'",
                   k->instance_id);
}

static void test_kill_one_replica_other_takes_over(void **state)
{
    struct kit k;
    struct kit_replica a = {0}, b = {0};
    kit_second = &b;
    /* Cloud's rate limit makes the run last a few seconds: long enough for B to start in it. On
     * PostgreSQL the size: 20,000 identities, under a looser limit so the run still fits
     * the test's time. */
    const long N_IDENTITIES = engine_kit_postgres() ? 20000 : 3000;
    const char *const slow[] = {"--rate-limit", engine_kit_postgres() ? RATE_PG : "500/s", NULL};
    kit_start_cloudsim(&k, slow);
    kit_seed(&k, N_IDENTITIES, 0.05, 0.05);
    kit_register(&k);
    start_replica(&k, &a, k.kyc_port, "replica_a", NULL, "10000");
    k.kyc = a.proc; /* the kit stops it if the test fails */
    k.kyc_running = 1;

    kit_install(&k, PERMS); /* the callback reaches replica A, which starts the run */
    /* B starts while A runs: its start-up run waits for A's lease instead of running too. (B
     * starts at once, while A waits out the new key's activation delay: on SQLite a replica
     * starting while another writes at full speed can wait past the busy timeout.) */
    start_replica(&k, &b, kit_free_port(), "replica_b", NULL, "10000");
    for (int i = 0; i < 400 && !log_has(b.log, "event=kyc.pipeline.deferred") &&
                    !log_has(b.log, "event=kyc.pipeline.run_start");
         i++)
        ts_sleep_ms(25);
    assert_false(log_has(b.log, "event=kyc.pipeline.run_start"));
    assert_true(log_has(b.log, "event=kyc.pipeline.deferred"));
    char holder_a[64] = "", holder_seen[64] = "";
    assert_true(kit_log_value(a.log, "kyc.pipeline.replica", "holder", holder_a, sizeof holder_a));
    assert_true(
        kit_log_value(b.log, "kyc.pipeline.deferred", "holder", holder_seen, sizeof holder_seen));
    assert_string_equal(holder_seen, holder_a);
    for (int i = 0; i < 400 && kit_count(&k, "kyc_identities", "writeback_state = 'done'") <= 0;
         i++)
        ts_sleep_ms(25);
    assert_true(kit_count(&k, "kyc_identities", "writeback_state = 'done'") > 0);

    /* A dies mid-run */
    long long written = kit_count(&k, "kyc_identities", "writeback_state = 'done'");
    if (written >= N_IDENTITIES)
        fail_msg("replica A finished before it could be killed: raise N_IDENTITIES");
    ts_proc_stop(&a.proc, SIGKILL);
    k.kyc_running = 0;
    /* B never ran the install while A held it */
    assert_false(log_has(b.log, "event=kyc.pipeline.run_start"));

    /* B takes the run over, names the dead holder, and finishes it */
    char from[64] = "";
    for (int i = 0;
         i < 1200 && !kit_log_value(b.log, "kyc.pipeline.takeover", "from", from, sizeof from); i++)
        ts_sleep_ms(25);
    assert_string_equal(from, holder_a);
    long long settled = 0;
    for (int i = 0; i < 1200; i++) {
        settled = kit_count(&k, "kyc_identities",
                            "writeback_state = 'done' AND alert_state NOT IN"
                            " ('wanted', 'creating', 'uncertain')");
        if (settled == N_IDENTITIES)
            break;
        ts_sleep_ms(100);
    }
    assert_int_equal(kit_count(&k, "kyc_identities", "1 = 1"), N_IDENTITIES);
    assert_int_equal(settled, N_IDENTITIES);
    /* every identity written back in Blnk */
    assert_int_equal(written_in_blnk(&k), N_IDENTITIES);
    /* every alert needed exists once: none created twice, none missing */
    assert_int_equal(kit_int(k.cs_db,
                             "SELECT count(*) FROM (SELECT target_id FROM cloud_alerts"
                             " WHERE instance_id = ? GROUP BY target_id HAVING count(*) > 1)",
                             k.instance_id),
                     0);
    /* resumed, not redone: each identity was screened once, by A or by B */
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT count(*) FROM kyc_audit_log WHERE installed_app_id = ?"
                             " AND kind = 'screening'",
                             k.installed_app_id),
                     N_IDENTITIES);
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT count(DISTINCT identity_id) FROM kyc_audit_log"
                             " WHERE installed_app_id = ? AND kind = 'screening'",
                             k.installed_app_id),
                     N_IDENTITIES);
    long long open_alerts = kit_count(&k, "kyc_identities", "alert_state = 'open'");
    assert_true(open_alerts > 0);
    assert_int_equal(
        kit_int(k.cs_db, "SELECT count(*) FROM cloud_alerts WHERE instance_id = ?", k.instance_id),
        open_alerts);
    /* A's run row does not stay "running" forever: B ended it, naming A */
    long long running = -1;
    for (int i = 0; i < 200 && running != 0; i++) { /* B's own runs finish too */
        running = kit_int(k.kyc_db,
                          "SELECT count(*) FROM kyc_runs WHERE installed_app_id = ?"
                          " AND state = 'running'",
                          k.installed_app_id);
        if (running)
            ts_sleep_ms(100);
    }
    assert_int_equal(running, 0);
    char message[200] = "", expected[200];
    assert_true(kit_text(k.kyc_db,
                         "SELECT message FROM kyc_runs WHERE installed_app_id = ?"
                         " ORDER BY run_id LIMIT 1",
                         k.installed_app_id, NULL, message, sizeof message));
    snprintf(expected, sizeof expected,
             "replica %s stopped during the run; another replica took it over", holder_a);
    assert_string_equal(message, expected);
    ts_proc_stop(&b.proc, SIGTERM);
    b.running = 0;
    kit_verify_chain(&k);
    kit_stop(&k);
}

static void test_run_done_elsewhere_is_not_repeated(void **state)
{
    struct kit k;
    struct kit_replica a = {0}, b = {0};
    kit_second = &b;
    static const char *const slow[] = {"--rate-limit", "400/s", NULL};
    kit_start_cloudsim(&k, slow);
    kit_seed(&k, 800, 0.05, 0.05);
    kit_register(&k);
    start_replica(&k, &a, k.kyc_port, "replica_a", NULL, "4000");
    k.kyc = a.proc;
    k.kyc_running = 1;
    kit_install(&k, PERMS);
    start_replica(&k, &b, kit_free_port(), "replica_b", NULL, "4000");
    for (int i = 0; i < 400 && !log_has(b.log, "event=kyc.pipeline.deferred") &&
                    !log_has(b.log, "event=kyc.pipeline.run_start");
         i++)
        ts_sleep_ms(25);
    assert_true(log_has(b.log, "event=kyc.pipeline.deferred"));
    /* A finishes; B, asking again, finds that run done since its start-up asked: it skips */
    kit_wait_runs(&k, 1, 60000);
    for (int i = 0; i < 600 && !log_has(b.log, "reason=ran_elsewhere"); i++)
        ts_sleep_ms(25);
    assert_true(log_has(b.log, "event=kyc.pipeline.skip"));
    assert_true(log_has(b.log, "reason=ran_elsewhere"));
    assert_false(log_has(b.log, "event=kyc.pipeline.run_start"));
    assert_int_equal(kit_int(k.kyc_db, "SELECT count(*) FROM kyc_runs WHERE installed_app_id = ?",
                             k.installed_app_id),
                     1);
    ts_proc_stop(&b.proc, SIGTERM);
    b.running = 0;
    kit_stop(&k);
}

/* Writes to the kit's kyc database as another replica would (one statement, one binding; a
 * SQLite file or PostgreSQL, capp/sql.h). */
static void kyc_db_exec(const struct kit *k, const char *sql, const char *bind1)
{
    struct sql_conn *c = NULL;
    assert_int_equal(sql_open(k->kyc_db, &c), 0);
    int64_t changes = 0;
    int rc = sql_run(c, sql, DB_TEXTS(bind1), DB_NONE, &changes);
    sql_close(c);
    assert_int_equal(rc, 0);
    assert_int_equal(changes, 1);
}

static void test_lost_lease_stops_the_run(void **state)
{
    struct kit k;
    static const char *const slow[] = {"--rate-limit", "300/s", NULL};
    kit_start_cloudsim(&k, slow);
    kit_seed(&k, 1500, 0.05, 0.05);
    kit_register(&k);
    struct kit_replica a = {0};
    start_replica(&k, &a, k.kyc_port, "replica_a", NULL, "1500");
    k.kyc = a.proc;
    k.kyc_running = 1;
    kit_install(&k, PERMS);
    for (int i = 0; i < 400 && kit_count(&k, "kyc_identities", "writeback_state = 'done'") <= 0;
         i++)
        ts_sleep_ms(25);
    assert_true(kit_count(&k, "kyc_identities", "writeback_state = 'done'") > 0);

    /* another replica takes the lease over (as after A stalled past it) */
    kyc_db_exec(&k,
                "UPDATE kyc_leases SET holder = 'replica-thief', expires_at = 9000000000000,"
                " claimed_at = 1 WHERE installed_app_id = ?1 AND unit = 'run'",
                k.installed_app_id);
    for (int i = 0; i < 200 && !log_has(a.log, "event=kyc.pipeline.lease_lost"); i++)
        ts_sleep_ms(25);
    assert_true(log_has(a.log, "event=kyc.pipeline.lease_lost"));
    kit_wait_runs(&k, 1, 20000);
    char state_text[32] = "", message[200] = "";
    assert_true(kit_text(k.kyc_db,
                         "SELECT state FROM kyc_runs WHERE installed_app_id = ?"
                         " ORDER BY run_id DESC LIMIT 1",
                         k.installed_app_id, NULL, state_text, sizeof state_text));
    assert_string_equal(state_text, "stopped");
    assert_true(kit_text(k.kyc_db,
                         "SELECT message FROM kyc_runs WHERE installed_app_id = ?"
                         " ORDER BY run_id DESC LIMIT 1",
                         k.installed_app_id, NULL, message, sizeof message));
    assert_string_equal(message, "another replica took the run over");
    /* A makes no more calls for the install: its queued write-backs were dropped (their intent
     * stays pending for the lease's holder) */
    long long before = written_in_blnk(&k);
    ts_sleep_ms(1500);
    assert_int_equal(written_in_blnk(&k), before);
    assert_true(kit_count(&k, "kyc_identities", "writeback_state = 'pending'") > 0);
    /* the lease stays the thief's: A neither renewed nor released it */
    char holder[64] = "";
    assert_true(kit_text(
        k.kyc_db, "SELECT holder FROM kyc_leases WHERE installed_app_id = ? AND unit = 'run'",
        k.installed_app_id, NULL, holder, sizeof holder));
    assert_string_equal(holder, "replica-thief");
    kit_stop(&k);
}

static void test_schedule_once_per_cluster(void **state)
{
    struct kit k;
    struct kit_replica a = {0}, b = {0};
    kit_second = &b;
    kit_start_cloudsim(&k, NULL);
    kit_seed(&k, 40, 0.1, 0.1);
    kit_register(&k);
    static const char *const interval[] = {"--rescreen-interval", "2", NULL};
    start_replica(&k, &a, k.kyc_port, "replica_a", interval, "1500");
    k.kyc = a.proc;
    k.kyc_running = 1;
    kit_install(&k, PERMS);
    kit_wait_runs(&k, 1, 30000);
    /* B knows the install from the start (its start-up run) */
    start_replica(&k, &b, kit_free_port(), "replica_b", interval, "1500");
    /* about four intervals with both replicas up */
    ts_sleep_ms(8500);
    ts_proc_stop(&b.proc, SIGTERM);
    b.running = 0;
    kit_stop_kyc(&k);
    long long scheduled = kit_int(k.kyc_db,
                                  "SELECT count(*) FROM kyc_runs WHERE installed_app_id = ?"
                                  " AND trigger = 'schedule'",
                                  k.installed_app_id);
    /* one replica alone would have run 3 or 4; two each on their own schedule 6 to 8 */
    assert_true(scheduled >= 2);
    assert_true(scheduled <= 4);
    /* and never two at once: each started at least most of an interval after the one before */
    long long close = kit_int(k.kyc_db,
                              "SELECT count(*) FROM kyc_runs r1 JOIN kyc_runs r2"
                              " ON r1.installed_app_id = r2.installed_app_id"
                              " AND r2.run_id <> r1.run_id AND r2.started_at >= r1.started_at"
                              " AND r2.started_at < r1.started_at + 1500"
                              " WHERE r1.installed_app_id = ? AND r1.trigger = 'schedule'"
                              " AND r2.trigger = 'schedule'",
                              k.installed_app_id);
    assert_int_equal(close, 0);
    /* both replicas ran scheduled runs or skipped them: the log says who */
    assert_true(log_has(a.log, "trigger=schedule") || log_has(b.log, "trigger=schedule"));
    kit_stop(&k);
}

/* Starts a replica from its own thread, so two start at the same instant. */
struct starter {
    struct kit *k;
    struct kit_replica *r;
    unsigned short port;
    const char *name;
    pthread_barrier_t *go;
    int started;
};

static void *start_thread(void *p)
{
    struct starter *s = p;
    char bin[512], listen[64], ofac[700], un[700];
    ts_binary("kyc", bin, sizeof bin);
    s->r->port = s->port;
    snprintf(listen, sizeof listen, "127.0.0.1:%u", s->port);
    snprintf(s->r->log, sizeof s->r->log, "%s/%s.log", s->k->dir, s->name);
    snprintf(ofac, sizeof ofac, "%s/ofac", s->k->fixtures);
    snprintf(un, sizeof un, "%s/un.xml", s->k->fixtures);
    const char *argv[] = {bin,           "serve",      "--listen", listen,
                          "--db",        s->k->kyc_db, "--app-id", s->k->app_id,
                          "--cloud-url", s->k->cs.url, "--quiet",  "--lists",
                          ofac,          "--lists",    un,         NULL};
    const char *env[] = {"KYC_MASTER_KEY=" KIT_MASTER_KEY, NULL};
    pthread_barrier_wait(s->go);
    s->started = ts_proc_start(&s->r->proc, argv, env, s->r->log, NULL) == 0;
    s->r->running = s->started;
    return NULL;
}

static void assert_healthy(const struct kit_replica *r)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/healthz", r->port);
    struct ts_response resp;
    assert_int_equal(ts_http("GET", url, NULL, NULL, &resp), 0);
    TS_ASSERT_STATUS(resp, 200);
    char database[32] = "";
    assert_int_equal(ts_json_string(&resp, "database", database, sizeof database), 0);
    assert_string_equal(database, "ok");
    ts_response_free(&resp);
}

/* Two replicas started at the same instant against an empty database: both start (neither
 * trips over the other's half-applied migration), every migration step is recorded once, both
 * answer /healthz with the database reachable. */
static void test_start_together_migrate_once(void **state)
{
    struct kit k;
    struct kit_replica a = {0}, b = {0};
    kit_second = &b;
    kit_start_cloudsim(&k, NULL);
    kit_register(&k);
    assert_false(kit_has_table(&k, "schema_migrations")); /* empty */
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    struct starter sa = {&k, &a, k.kyc_port, "replica_a", &go, 0};
    struct starter sb = {&k, &b, kit_free_port(), "replica_b", &go, 0};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, start_thread, &sa), 0);
    assert_int_equal(pthread_create(&tb, NULL, start_thread, &sb), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&go);
    if (a.running) {
        k.kyc = a.proc;
        k.kyc_running = 1;
    }
    for (int i = 0; i < 2; i++) {
        const struct starter *s = i ? &sb : &sa;
        if (!s->started) {
            char *text = ts_read_file(s->r->log, NULL);
            fail_msg("%s did not start; log:\n%s", s->name, text ? text : "(none)");
        }
    }
    assert_healthy(&a);
    assert_healthy(&b);
    /* every component's steps 1..max recorded exactly once */
    long long steps = kit_int(k.kyc_db, "SELECT count(*) FROM schema_migrations", NULL);
    assert_true(steps >= 4);
    assert_int_equal(
        kit_int(k.kyc_db,
                "SELECT count(*) FROM (SELECT DISTINCT component, version FROM schema_migrations)"
                " AS d",
                NULL),
        steps);
    assert_int_equal(
        kit_int(k.kyc_db,
                "SELECT sum(top) FROM (SELECT max(version) AS top FROM schema_migrations"
                " GROUP BY component) AS m",
                NULL),
        steps);
    /* neither replica logged a failed migration */
    assert_false(log_has(a.log, "level=error"));
    assert_false(log_has(b.log, "level=error"));
    /* and they work on the one database: an install through A is known to B */
    kit_install(&k, PERMS);
    kit_wait_runs(&k, 1, 30000);
    ts_proc_stop(&b.proc, SIGTERM);
    b.running = 0;
    kit_stop(&k);
}

/* The portal URL of a launch with its origin changed to replica r's. */
static void on_replica(const char *portal, const struct kit_replica *r, char *out, size_t cap)
{
    const char *path = strstr(portal, "://");
    path = path ? strchr(path + 3, '/') : NULL;
    assert_non_null(path);
    snprintf(out, cap, "http://127.0.0.1:%u%s", r->port, path);
}

static long get_status(const char *url, const char *cookie)
{
    char header[800];
    snprintf(header, sizeof header, "Cookie: %s", cookie ? cookie : "");
    const char *headers[] = {header, NULL};
    struct ts_response r;
    assert_int_equal(ts_http("GET", url, NULL, cookie ? headers : NULL, &r), 0);
    long status = r.status;
    ts_response_free(&r);
    return status;
}

struct racer {
    const char *url;
    pthread_barrier_t *go;
    long status;
};

static void *race(void *p)
{
    struct racer *r = p;
    pthread_barrier_wait(r->go);
    r->status = get_status(r->url, NULL);
    return NULL;
}

#define RACERS 8
#define RACES  6

/* A launch minted through replica A (Cloud calls A's portal generator) is redeemed once on
 * replica B and refused afterwards on both; its session serves the portal on A. Racing
 * redemptions of one launch on both replicas give exactly one session. PostgreSQL only: the
 * SQLite store keeps launch tokens in its process's memory (capp/launch_tokens.h), by design. */
static void test_launch_on_a_redeemed_on_b(void **state)
{
    if (!engine_kit_postgres())
        skip();
    struct kit k;
    struct kit_replica a = {0}, b = {0};
    kit_second = &b;
    kit_start_cloudsim(&k, NULL);
    kit_seed(&k, 20, 0.1, 0.1);
    kit_register(&k); /* the manifest names A's port: Cloud mints launches through A */
    const char *const framed[] = {"--frame-ancestors", k.cs.url, NULL};
    start_replica(&k, &a, k.kyc_port, "replica_a", framed, "10000");
    k.kyc = a.proc;
    k.kyc_running = 1;
    start_replica(&k, &b, kit_free_port(), "replica_b", framed, "10000");
    kit_install(&k, PERMS);

    char portal[1024], on_a[1100], on_b[1100];
    kit_portal_launch(&k, portal, sizeof portal);
    char a_origin[64];
    snprintf(a_origin, sizeof a_origin, "http://127.0.0.1:%u/", a.port);
    assert_int_equal(strncmp(portal, a_origin, strlen(a_origin)), 0);
    on_replica(portal, &b, on_b, sizeof on_b);
    on_replica(portal, &a, on_a, sizeof on_a);
    struct ts_response r;
    assert_int_equal(ts_http("GET", on_b, NULL, NULL, &r), 0);
    TS_ASSERT_STATUS(r, 303);
    char set_cookie[600], cookie[600];
    assert_int_equal(ts_header(&r, "Set-Cookie", set_cookie, sizeof set_cookie), 0);
    snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(set_cookie, ";"), set_cookie);
    ts_response_free(&r);
    /* spent, whichever replica asks */
    assert_int_equal(get_status(on_a, NULL), 401);
    assert_int_equal(get_status(on_b, NULL), 401);
    /* the session B opened serves the portal on A */
    char page[128];
    snprintf(page, sizeof page, "http://127.0.0.1:%u/portal", a.port);
    assert_int_equal(get_status(page, cookie), 200);

    for (int n = 0; n < RACES; n++) {
        kit_portal_launch(&k, portal, sizeof portal);
        on_replica(portal, &a, on_a, sizeof on_a);
        on_replica(portal, &b, on_b, sizeof on_b);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, RACERS);
        struct racer racers[RACERS];
        pthread_t threads[RACERS];
        for (int i = 0; i < RACERS; i++) {
            racers[i] = (struct racer){i % 2 ? on_a : on_b, &go, 0};
            assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
        }
        int sessions = 0;
        for (int i = 0; i < RACERS; i++) {
            pthread_join(threads[i], NULL);
            if (racers[i].status == 303)
                sessions++;
            else if (racers[i].status != 401)
                fail_msg("race %d: status %ld", n, racers[i].status);
        }
        pthread_barrier_destroy(&go);
        if (sessions != 1)
            fail_msg("race %d: %d sessions from one launch", n, sessions);
    }
    kit_wait_runs(&k, 1, 30000);
    ts_proc_stop(&b.proc, SIGTERM);
    b.running = 0;
    kit_stop(&k);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_kill_one_replica_other_takes_over, kit_replica_teardown),
        cmocka_unit_test_teardown(test_run_done_elsewhere_is_not_repeated, kit_replica_teardown),
        cmocka_unit_test_teardown(test_lost_lease_stops_the_run, kit_replica_teardown),
        cmocka_unit_test_teardown(test_schedule_once_per_cluster, kit_replica_teardown),
        cmocka_unit_test_teardown(test_start_together_migrate_once, kit_replica_teardown),
        cmocka_unit_test_teardown(test_launch_on_a_redeemed_on_b, kit_replica_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
