/*
 * test_pipeline_replicas.c — two real `kyc serve` replicas on one database (the SQLite file both
 * are given with --db) against the real cloudsim: an install's run happens on one replica at a
 * time, the other takes it over when the first is killed (kill -9) and finishes it with every
 * identity written back, no alert created twice and the audit chain intact; a start-up run the
 * other replica's finished run covered is not repeated; a replica whose lease was taken over stops
 * its run at once; scheduled runs happen once per interval across both replicas, not once per
 * replica. Leases are shortened
 * (KYC_PIPELINE_LEASE_MS) so takeovers happen within the test; to 10 s where a replica must not
 * lose its lease while alive (SQLite makes a renewal wait for the other writers).
 */
#include <signal.h>

#include "test_pipeline_kit.h"

#define PERMS "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]"

struct replica {
    struct ts_proc proc;
    char log[400];
    unsigned short port;
    int running;
};

static struct replica *second; /* stopped by teardown when a test fails */

static int teardown(void **state)
{
    if (second && second->running)
        ts_proc_stop(&second->proc, SIGKILL);
    second = NULL;
    return kit_teardown(state);
}

/* Starts `kyc serve` on port with the kit's database, lists and app, and a short lease. */
static void start_replica(struct kit *k, struct replica *r, unsigned short port, const char *name,
                          const char *const *extra, const char *lease_ms)
{
    char bin[512], listen[64], ofac[700], un[700];
    ts_binary("kyc", bin, sizeof bin);
    r->port = port;
    snprintf(listen, sizeof listen, "127.0.0.1:%u", port);
    snprintf(r->log, sizeof r->log, "%s/%s.log", k->dir, name);
    snprintf(ofac, sizeof ofac, "%s/ofac", k->fixtures);
    snprintf(un, sizeof un, "%s/un.xml", k->fixtures);
    const char *argv[40] = {
        bin,        "serve",   "--listen",    listen,    "--db",    k->kyc_db,
        "--app-id", k->app_id, "--cloud-url", k->cs.url, "--quiet", "--pipeline-threads",
        "4",        "--lists", ofac,          "--lists", un};
    int n = 17;
    for (const char *const *a = extra; a && *a && n < 38; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    char lease[64];
    snprintf(lease, sizeof lease, "KYC_PIPELINE_LEASE_MS=%s", lease_ms);
    const char *env[] = {"KYC_MASTER_KEY=" KIT_MASTER_KEY, lease, NULL};
    if (ts_proc_start(&r->proc, argv, env, r->log, NULL) != 0) {
        char *text = ts_read_file(r->log, NULL);
        fail_msg("kyc serve (%s) did not start; log:\n%s", name, text ? text : "(none)");
    }
    r->running = 1;
}

/* The value of key=VALUE on the first log line that has event (into out); 0 when none. */
static int log_value(const char *path, const char *event, const char *key, char *out, size_t cap)
{
    char *text = ts_read_file(path, NULL);
    if (!text)
        return 0;
    char needle[128], k[64];
    snprintf(needle, sizeof needle, "event=%s ", event);
    snprintf(k, sizeof k, " %s=", key);
    int found = 0;
    const char *line = strstr(text, needle);
    if (line) {
        const char *end = strchr(line, '\n');
        const char *v = strstr(line, k);
        if (v && (!end || v < end)) {
            v += strlen(k);
            snprintf(out, cap, "%.*s", (int)strcspn(v, " \n"), v);
            found = 1;
        }
    }
    free(text);
    return found;
}

static int log_has(const char *path, const char *needle)
{
    return ts_file_contains(path, needle);
}

static long long identities(const struct kit *k, const char *where)
{
    char sql[400];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM kyc_identities WHERE installed_app_id = ?%s%s",
             where ? " AND " : "", where ? where : "");
    return kit_int(k->kyc_db, sql, k->installed_app_id);
}

/* Identities of the kit's instance whose metadata carries the kyc object in cloudsim. */
static long long written_in_blnk(const struct kit *k)
{
    return kit_int(k->cs_db,
                   "SELECT count(*) FROM core_identities WHERE instance_id = ?"
                   " AND meta_data LIKE '%\"kyc\"%'",
                   k->instance_id);
}

static void verify_chain(const struct kit *k)
{
    char bin[512], cmd[2000];
    ts_binary("kyc", bin, sizeof bin);
    snprintf(cmd, sizeof cmd, "'%s' audit verify --db '%s' >'%s/verify.log' 2>&1", bin, k->kyc_db,
             k->dir);
    if (system(cmd) != 0) {
        char log[400];
        snprintf(log, sizeof log, "%s/verify.log", k->dir);
        char *text = ts_read_file(log, NULL);
        fail_msg("kyc audit verify failed:\n%s", text ? text : "(no output)");
    }
}

#define N_IDENTITIES 3000

static void test_kill_one_replica_other_takes_over(void **state)
{
    struct kit k;
    struct replica a = {0}, b = {0};
    second = &b;
    /* Cloud's rate limit makes the run last a few seconds: long enough for B to start in it */
    static const char *const slow[] = {"--rate-limit", "500/s", NULL};
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
    assert_true(log_value(a.log, "kyc.pipeline.replica", "holder", holder_a, sizeof holder_a));
    assert_true(
        log_value(b.log, "kyc.pipeline.deferred", "holder", holder_seen, sizeof holder_seen));
    assert_string_equal(holder_seen, holder_a);
    for (int i = 0; i < 400 && identities(&k, "writeback_state = 'done'") <= 0; i++)
        ts_sleep_ms(25);
    assert_true(identities(&k, "writeback_state = 'done'") > 0);

    /* A dies mid-run */
    long long written = identities(&k, "writeback_state = 'done'");
    if (written >= N_IDENTITIES)
        fail_msg("replica A finished before it could be killed: raise N_IDENTITIES");
    ts_proc_stop(&a.proc, SIGKILL);
    k.kyc_running = 0;
    /* B never ran the install while A held it */
    assert_false(log_has(b.log, "event=kyc.pipeline.run_start"));

    /* B takes the run over, names the dead holder, and finishes it */
    char from[64] = "";
    for (int i = 0;
         i < 1200 && !log_value(b.log, "kyc.pipeline.takeover", "from", from, sizeof from); i++)
        ts_sleep_ms(25);
    assert_string_equal(from, holder_a);
    long long settled = 0;
    for (int i = 0; i < 1200; i++) {
        settled = identities(&k, "writeback_state = 'done' AND alert_state NOT IN"
                                 " ('wanted', 'creating', 'uncertain')");
        if (settled == N_IDENTITIES)
            break;
        ts_sleep_ms(100);
    }
    assert_int_equal(identities(&k, NULL), N_IDENTITIES);
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
    long long open_alerts = identities(&k, "alert_state = 'open'");
    assert_true(open_alerts > 0);
    assert_int_equal(
        kit_int(k.cs_db, "SELECT count(*) FROM cloud_alerts WHERE instance_id = ?", k.instance_id),
        open_alerts);
    ts_proc_stop(&b.proc, SIGTERM);
    b.running = 0;
    verify_chain(&k);
    kit_stop(&k);
}

static void test_run_done_elsewhere_is_not_repeated(void **state)
{
    struct kit k;
    struct replica a = {0}, b = {0};
    second = &b;
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

/* Writes to the kit's kyc database as another replica would (one statement, one binding). */
static void kyc_db_exec(const struct kit *k, const char *sql, const char *bind1)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(k->kyc_db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, bind1, -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_lost_lease_stops_the_run(void **state)
{
    struct kit k;
    static const char *const slow[] = {"--rate-limit", "300/s", NULL};
    kit_start_cloudsim(&k, slow);
    kit_seed(&k, 1500, 0.05, 0.05);
    kit_register(&k);
    struct replica a = {0};
    start_replica(&k, &a, k.kyc_port, "replica_a", NULL, "1500");
    k.kyc = a.proc;
    k.kyc_running = 1;
    kit_install(&k, PERMS);
    for (int i = 0; i < 400 && identities(&k, "writeback_state = 'done'") <= 0; i++)
        ts_sleep_ms(25);
    assert_true(identities(&k, "writeback_state = 'done'") > 0);

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
    assert_true(identities(&k, "writeback_state = 'pending'") > 0);
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
    struct replica a = {0}, b = {0};
    second = &b;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_kill_one_replica_other_takes_over, teardown),
        cmocka_unit_test_teardown(test_run_done_elsewhere_is_not_repeated, teardown),
        cmocka_unit_test_teardown(test_lost_lease_stops_the_run, teardown),
        cmocka_unit_test_teardown(test_schedule_once_per_cluster, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
