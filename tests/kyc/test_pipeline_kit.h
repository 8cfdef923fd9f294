/*
 * test_pipeline_kit.h — the real cloudsim (file database, seeded) and the real `kyc serve`
 * pointed at it, for the pipeline's end-to-end tests. Header-only; included by
 * tests/kyc/test_pipeline*.c.
 *
 * Seeding runs `cloudsim seed` against cloudsim's database file while it serves (WAL), as
 * `make demo` does. The tests read seed_truth and the Core tables from that file, kyc's results
 * from kyc's database, and count Cloud calls from cloudsim's audit (GET /admin/audit).
 *
 * kyc's database is a SQLite file, or, when the suite runs on PostgreSQL (engine_kit.h: the
 * binary given "postgres", CTest entry kyc_<name>_pg), a fresh database on the fixture's server
 * for each kit; kit_text and kit_int read either (capp/sql.h), so a suite runs unchanged on both.
 * A join of kyc's tables with cloudsim's runs on kyc's database over temporary copies of
 * cloudsim's rows (kit_cs_copy), never by attaching cloudsim's file, which only SQLite can do.
 */
#ifndef TEST_PIPELINE_KIT_H
#define TEST_PIPELINE_KIT_H

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <liboath/oath.h>
#include <time.h>

#include "capp/sql.h"
#include "engine_kit.h"
#include "kyc/totp.h"
#include "testsupport.h"

#define KIT_MASTER_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

struct kit {
    char dir[256];
    char cs_db[320], kyc_db[320];
    struct ts_proc cs, kyc;
    int kyc_running, cs_running;
    char instance_id[160];
    char app_id[160];
    char installed_app_id[160];
    unsigned short kyc_port;
    char fixtures[600]; /* <build>/fixtures: the OFAC and UN list fixtures */
};

/* kyc serve's port must be known before it starts (the manifest names it): the kernel picks
 * a free one, which is released just before kyc serve binds it. */
static inline unsigned short kit_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* The kit of the running test, so a failed assertion (which longjmps out of the test) still
 * stops its servers in kit_teardown. */
static struct kit *kit_current;

static inline int kit_teardown(void **state)
{
    (void)state;
    struct kit *k = kit_current;
    if (k && k->kyc_running)
        ts_proc_stop(&k->kyc, SIGTERM);
    if (k && k->cs_running)
        ts_proc_stop(&k->cs, SIGTERM);
    if (k)
        k->kyc_running = k->cs_running = 0;
    kit_current = NULL;
    return 0;
}

static inline void kit_start_cloudsim(struct kit *k, const char *const *extra)
{
    memset(k, 0, sizeof *k);
    kit_current = k;
    ts_tmpdir(k->dir, sizeof k->dir);
    snprintf(k->cs_db, sizeof k->cs_db, "%s/cs.db", k->dir);
    if (engine_kit_postgres()) {
        static int kits; /* one database per kit of the process (testsupport adds the pid) */
        char name[32];
        snprintf(name, sizeof name, "kit_%d", ++kits);
        testsupport_pg_db(name, k->kyc_db, sizeof k->kyc_db);
    } else {
        snprintf(k->kyc_db, sizeof k->kyc_db, "%s/kyc.db", k->dir);
    }
    /* the list fixtures as the build lays them out (tests/screen/CMakeLists.txt) */
    const char *build = getenv("KYC_BUILD_DIR");
    snprintf(k->fixtures, sizeof k->fixtures, "%s/fixtures", build ? build : "build");
    char bin[512], log[400];
    ts_binary("cloudsim", bin, sizeof bin);
    snprintf(log, sizeof log, "%s/cloudsim.log", k->dir);
    const char *argv[32] = {bin, "serve", "--listen", "127.0.0.1:0", "--db", k->cs_db};
    int n = 6;
    for (const char *const *a = extra; a && *a && n < 30; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    if (ts_proc_start(&k->cs, argv, NULL, log, NULL) != 0) {
        char *text = ts_read_file(log, NULL);
        fail_msg("cloudsim did not start; log:\n%s", text ? text : "(none)");
    }
    k->cs_running = 1;
    struct ts_response r;
    char url[400];
    snprintf(url, sizeof url, "%s/admin/state", k->cs.url);
    ts_http("GET", url, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    json_t *state = json_loads(r.body, 0, NULL);
    const char *inst = json_string_value(
        json_object_get(json_array_get(json_object_get(state, "instances"), 0), "instance_id"));
    assert_non_null(inst);
    snprintf(k->instance_id, sizeof k->instance_id, "%s", inst);
    json_decref(state);
    ts_response_free(&r);
}

static inline void kit_admin(const struct kit *k, const char *path, const char *json,
                             struct ts_response *r)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", k->cs.url, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    ts_http("POST", url, json, headers, r);
}

/* Seeds n identities with planted matches from the fixture lists and bad data. */
static inline void kit_seed(struct kit *k, long n, double plant, double bad)
{
    char bin[512], cmd[3000];
    ts_binary("cloudsim", bin, sizeof bin);
    snprintf(cmd, sizeof cmd,
             "'%s' seed --db '%s' --instance %s --identities %ld --seed 7 --plant-lists "
             "'%s/ofac' '%s/un.xml' --plant-rate %.3f --bad-rate %.3f >'%s/seed.log' 2>&1",
             bin, k->cs_db, k->instance_id, n, k->fixtures, k->fixtures, plant, bad, k->dir);
    assert_int_equal(system(cmd), 0);
}

/* Registers the app (kyc serve's URLs on a fixed free port) once per kit. */
static inline void kit_register(struct kit *k)
{
    k->kyc_port = kit_free_port();
    assert_true(k->kyc_port != 0);
    char manifest[1024];
    snprintf(manifest, sizeof manifest,
             "{\"display_name\":\"KYC review\",\"callback_url\":\"http://127.0.0.1:%u/api/"
             "callback\",\"portal_generator_url\":\"http://127.0.0.1:%u/api/portal\","
             "\"permissions\":[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]}",
             k->kyc_port, k->kyc_port);
    struct ts_response r;
    kit_admin(k, "/admin/apps", manifest, &r);
    TS_ASSERT_STATUS(r, 201);
    assert_int_equal(ts_json_string(&r, "app_id", k->app_id, sizeof k->app_id), 0);
    ts_response_free(&r);
}

/* Starts kyc serve; extra flags are appended (NULL-terminated, may be NULL). Lists default to
 * the OFAC and UN fixtures unless extra has its own --lists (pass "--no-default-lists"). */
static inline void kit_start_kyc(struct kit *k, const char *const *extra)
{
    char bin[512], listen[64], log[400], ofac[700], un[700];
    ts_binary("kyc", bin, sizeof bin);
    snprintf(listen, sizeof listen, "127.0.0.1:%u", k->kyc_port);
    snprintf(log, sizeof log, "%s/kyc.log", k->dir);
    snprintf(ofac, sizeof ofac, "%s/ofac", k->fixtures);
    snprintf(un, sizeof un, "%s/un.xml", k->fixtures);
    const char *argv[40] = {bin,           "serve",
                            "--listen",    listen,
                            "--db",        k->kyc_db,
                            "--app-id",    k->app_id,
                            "--cloud-url", k->cs.url,
                            "--quiet",     "--pipeline-threads",
                            "4",           "--frame-ancestors",
                            k->cs.url};
    int n = 15, default_lists = 1;
    for (const char *const *a = extra; a && *a && n < 34; a++) {
        if (strcmp(*a, "--no-default-lists") == 0) {
            default_lists = 0;
            continue;
        }
        argv[n++] = *a;
    }
    if (default_lists) {
        argv[n++] = "--lists";
        argv[n++] = ofac;
        argv[n++] = "--lists";
        argv[n++] = un;
    }
    argv[n] = NULL;
    static const char *env[] = {"KYC_MASTER_KEY=" KIT_MASTER_KEY, NULL};
    if (ts_proc_start(&k->kyc, argv, env, log, NULL) != 0) {
        char *text = ts_read_file(log, NULL);
        fail_msg("kyc serve did not start; log:\n%s", text ? text : "(none)");
    }
    k->kyc_running = 1;
}

/* A further `kyc serve` beside the kit's (the replica tests): on port, with the kit's database,
 * fixture lists and app, its log <name>.log in the kit's directory. extra (flags) and env_extra
 * ("NAME=value") are NULL-terminated and may be NULL. */
struct kit_replica {
    struct ts_proc proc;
    char log[400];
    unsigned short port;
    int running;
};

static inline void kit_start_replica(struct kit *k, struct kit_replica *r, unsigned short port,
                                     const char *name, const char *const *extra,
                                     const char *const *env_extra)
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
    const char *env[12] = {"KYC_MASTER_KEY=" KIT_MASTER_KEY};
    int e = 1;
    for (const char *const *a = env_extra; a && *a && e < 11; a++)
        env[e++] = *a;
    env[e] = NULL;
    if (ts_proc_start(&r->proc, argv, env, r->log, NULL) != 0) {
        char *text = ts_read_file(r->log, NULL);
        fail_msg("kyc serve (%s) did not start; log:\n%s", name, text ? text : "(none)");
    }
    r->running = 1;
}

/* The further replica a running case started, if any: kit_replica_teardown kills it when the case
 * fails before stopping it. */
static struct kit_replica *kit_second;

static inline int kit_replica_teardown(void **state)
{
    if (kit_second && kit_second->running)
        ts_proc_stop(&kit_second->proc, SIGKILL);
    kit_second = NULL;
    return kit_teardown(state);
}

/* The value of key=VALUE on the first line of the log at path that has event (into out); 0 when
 * there is none. */
static inline int kit_log_value(const char *path, const char *event, const char *key, char *out,
                                size_t cap)
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

static inline void kit_stop_kyc(struct kit *k)
{
    if (!k->kyc_running)
        return;
    int status = ts_proc_stop(&k->kyc, SIGTERM);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    k->kyc_running = 0;
}

static inline void kit_stop(struct kit *k)
{
    kit_stop_kyc(k);
    if (k->cs_running)
        ts_proc_stop(&k->cs, SIGTERM);
    k->cs_running = 0;
    kit_current = NULL;
}

/* Installs with the given permissions (JSON array text); writes installed_app_id. */
static inline void kit_install(struct kit *k, const char *permissions_json)
{
    char body[800];
    snprintf(body, sizeof body, "{\"app_id\":\"%s\",\"permissions\":%s}", k->app_id,
             permissions_json);
    struct ts_response r;
    kit_admin(k, "/admin/installs", body, &r);
    TS_ASSERT_STATUS(r, 201);
    assert_int_equal(
        ts_json_string(&r, "installed_app_id", k->installed_app_id, sizeof k->installed_app_id), 0);
    ts_response_free(&r);
}

static inline void kit_uninstall(struct kit *k)
{
    char body[300];
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", k->installed_app_id);
    struct ts_response r;
    kit_admin(k, "/admin/uninstalls", body, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);
}

/* A connection to target (either engine); sql_close it. The kit opens one per query
 * (kit_wait_runs polls ten a second): on a host loaded far beyond its 2 cores a PostgreSQL
 * connection can outlast libpq's 5 s connect timeout (seen in a full suite run), which is the
 * host's doing, not the code under test's, so it gets three attempts. */
static inline struct sql_conn *kit_sql_connect(const char *target)
{
    struct sql_conn *c = NULL;
    int rc = -1;
    for (int attempt = 0; attempt < 3 && rc != 0; attempt++)
        rc = sql_open(target, &c);
    if (rc != 0)
        fail_msg("cannot connect to %s", target);
    return c;
}

/* kit_text on a PostgreSQL target (capp/sql.h: the same "?" parameters). */
static inline int kit_text_pg(const char *target, const char *sql, const char *bind1,
                              const char *bind2, char *out, size_t cap)
{
    struct sql_conn *c = kit_sql_connect(target);
    struct sql_stmt *st = NULL;
    if (sql_prepare(c, sql, &st) != 0) {
        sql_close(c);
        fail_msg("sql error: %s", sql);
    }
    /* bound only when given: PostgreSQL refuses more parameters than the statement has */
    if (bind1)
        sql_bind_text(st, 1, bind1);
    if (bind2)
        sql_bind_text(st, 2, bind2);
    int rc = sql_step(st);
    if (rc == 1)
        sql_column_copy(st, 0, out, cap);
    sql_finalize(st);
    sql_close(c);
    if (rc < 0)
        fail_msg("sql error %d: %s", rc, sql);
    return rc == 1;
}

/* One text column from a database (a SQLite file or a PostgreSQL connection string; the first
 * row; up to two text bindings) into out; 0 when there is no row. */
static inline int kit_text(const char *db_path, const char *sql, const char *bind1,
                           const char *bind2, char *out, size_t cap)
{
    if (sql_target_is_postgres(db_path))
        return kit_text_pg(db_path, sql, bind1, bind2, out, cap);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("sql error %s: %s", sqlite3_errmsg(db), sql);
    sqlite3_bind_text(st, 1, bind1, -1, SQLITE_TRANSIENT);
    if (bind2)
        sqlite3_bind_text(st, 2, bind2, -1, SQLITE_TRANSIENT);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        snprintf(out, cap, "%s", v ? v : "");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return found;
}

/* One integer from a query on a database file (the first column of the first row); -1 when
 * there is no row, 0 for NULL. */
static inline long long kit_int(const char *db_path, const char *sql, const char *bind1)
{
    char text[32];
    return kit_text(db_path, sql, bind1, NULL, text, sizeof text) ? atoll(text) : -1;
}

/* Rows of kyc's `table` for the kit's install that match `where` (an SQL condition; a boolean
 * on PostgreSQL: "1 = 1", not "1"). */
static inline long long kit_count(const struct kit *k, const char *table, const char *where)
{
    char sql[1800];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE installed_app_id = ? AND (%s)", table,
             where);
    return kit_int(k->kyc_db, sql, k->installed_app_id);
}

/* `kyc audit verify` on the kit's database: fails the test with its output when the chain does
 * not verify. */
static inline void kit_verify_chain(const struct kit *k)
{
    char bin[512], cmd[2000];
    ts_binary("kyc", bin, sizeof bin);
    snprintf(cmd, sizeof cmd, "'%s' audit verify --db '%s' >'%s/verify.log' 2>&1", bin, k->kyc_db,
             k->dir);
    int status = system(cmd);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char log[400];
        snprintf(log, sizeof log, "%s/verify.log", k->dir);
        char *text = ts_read_file(log, NULL);
        fail_msg("kyc audit verify failed:\n%s", text ? text : "(no output)");
    }
}

/* ---- cloudsim's data beside kyc's, on either engine ----
 * cloudsim's database is always a SQLite file and kyc's may be a PostgreSQL database, so one
 * connection cannot ATTACH the other. A suite that joins them copies the cloudsim rows it needs,
 * read through the test's own connection to cloudsim's file, into temporary tables on a
 * connection to kyc's database (kit_cs_copy), and runs its joins there: the same portable SQL
 * (capp/sql.h) on both engines. */

/* A connection to kyc's database, either engine; sql_close it. */
static inline struct sql_conn *kit_kyc_conn(const struct kit *k)
{
    return kit_sql_connect(k->kyc_db);
}

/* Runs sql (no parameters, no rows) on kyc's database, either engine. */
static inline void kit_kyc_exec(const struct kit *k, const char *sql)
{
    struct sql_conn *c = kit_kyc_conn(k);
    int rc = sql_exec(c, sql);
    sql_close(c);
    if (rc != 0)
        fail_msg("sql error %d: %s", rc, sql);
}

/* The first column of the first row of sql on c (up to one text binding) as an integer; -1
 * when there is no row, 0 for NULL. */
static inline long long kit_conn_int(struct sql_conn *c, const char *sql, const char *bind1)
{
    struct sql_stmt *st = NULL;
    if (sql_prepare(c, sql, &st) != 0)
        fail_msg("sql error: %s", sql);
    if (bind1)
        sql_bind_text(st, 1, bind1);
    int rc = sql_step(st);
    long long v = rc == 1 ? (long long)sql_column_int64(st, 0) : -1;
    sql_finalize(st);
    if (rc < 0)
        fail_msg("sql error %d: %s", rc, sql);
    return v;
}

/* Copies the rows of `select` on cloudsim's database into a new temporary table `table` on c
 * (kyc's database), its columns named as select names them, every value as text (NULL kept).
 * Values computed with SQLite-only functions (json_extract, GLOB) belong in select, on
 * cloudsim's side, so that the joins on c stay portable. Returns the number of rows. */
static inline long kit_cs_copy(struct sql_conn *c, const struct kit *k, const char *table,
                               const char *select)
{
    sqlite3 *cs = NULL;
    assert_int_equal(sqlite3_open_v2(k->cs_db, &cs, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(cs, 5000);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(cs, select, -1, &q, NULL) != SQLITE_OK)
        fail_msg("sql error %s: %s", sqlite3_errmsg(cs), select);
    int cols = sqlite3_column_count(q);
    assert_true(cols > 0 && cols <= 16);
    char create[1200], insert[600];
    size_t cl = (size_t)snprintf(create, sizeof create, "CREATE TEMPORARY TABLE %s (", table);
    size_t il = (size_t)snprintf(insert, sizeof insert, "INSERT INTO %s VALUES (", table);
    for (int i = 0; i < cols; i++) {
        cl += (size_t)snprintf(create + cl, sizeof create - cl, "%s%s TEXT", i ? ", " : "",
                               sqlite3_column_name(q, i));
        il += (size_t)snprintf(insert + il, sizeof insert - il, "%s?", i ? ", " : "");
    }
    assert_true(cl + 2 < sizeof create && il + 2 < sizeof insert);
    strcat(create, ")");
    strcat(insert, ")");
    if (sql_exec(c, create) != 0)
        fail_msg("sql error: %s", create);
    /* one transaction: on PostgreSQL a commit per row would be a round trip and a flush each */
    assert_int_equal(sql_begin(c), 0);
    long rows = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct sql_stmt *st = NULL;
        assert_int_equal(sql_prepare(c, insert, &st), 0);
        for (int i = 0; i < cols; i++)
            sql_bind_text(st, i + 1, (const char *)sqlite3_column_text(q, i));
        if (sql_step(st) != 0)
            fail_msg("sql error: %s", insert);
        sql_finalize(st);
        rows++;
    }
    assert_int_equal(rc, SQLITE_DONE);
    assert_int_equal(sql_commit(c), 0);
    sqlite3_finalize(q);
    sqlite3_close(cs);
    return rows;
}

/* An expression for the text of key `key` (top level) of the JSON object in `column`: the
 * one thing the kyc suites read inside JSON, which each engine spells its own way. */
static inline const char *kit_json_text(char *out, size_t cap, const char *column, const char *key)
{
    if (engine_kit_postgres())
        snprintf(out, cap, "(%s::json ->> '%s')", column, key);
    else
        snprintf(out, cap, "json_extract(%s, '$.%s')", column, key);
    return out;
}

/* An expression for the number of keys of the JSON object in `column`. */
static inline const char *kit_json_keys(char *out, size_t cap, const char *column)
{
    if (engine_kit_postgres())
        snprintf(out, cap, "(SELECT count(*) FROM json_object_keys(%s::json))", column);
    else
        snprintf(out, cap, "(SELECT count(*) FROM json_each(%s))", column);
    return out;
}

static inline void kit_copy_file(const char *from, const char *to)
{
    size_t n = 0;
    char *text = ts_read_file(from, &n);
    assert_non_null(text);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
    free(text);
}

/* A copy of the OFAC fixture folder in the kit's directory (<dir>/ofac, into out) that a test
 * can change. */
static inline void kit_copy_ofac(const struct kit *k, char *out, size_t cap)
{
    char path[700], from[900];
    snprintf(out, cap, "%s/ofac", k->dir);
    assert_int_equal(mkdir(out, 0700), 0);
    static const char *const files[] = {"sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(from, sizeof from, "%s/ofac/%s", k->fixtures, files[i]);
        snprintf(path, sizeof path, "%s/%s", out, files[i]);
        kit_copy_file(from, path);
    }
}

/* 1 when kyc's database exists and has table `name` (kyc serve created it). */
static inline int kit_has_table(const struct kit *k, const char *name)
{
    if (sql_target_is_postgres(k->kyc_db))
        return kit_int(k->kyc_db,
                       "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                       name) == 1;
    return access(k->kyc_db, F_OK) == 0 &&
           kit_int(k->kyc_db, "SELECT count(*) FROM sqlite_master WHERE name = ?", name) == 1;
}

/* Number of runs of the install that finished (done|failed|stopped). */

static inline long long kit_runs_finished(const struct kit *k)
{
    return kit_int(k->kyc_db,
                   "SELECT count(*) FROM kyc_runs WHERE installed_app_id = ?"
                   " AND state IN ('done','failed','stopped')",
                   k->installed_app_id);
}

/* Waits until `count` runs of the install have finished (at most timeout_ms). */
static inline void kit_wait_runs(const struct kit *k, long long count, long timeout_ms)
{
    for (long waited = 0; waited < timeout_ms; waited += 100) {
        if (kit_has_table(k, "kyc_runs") && kit_runs_finished(k) >= count)
            return;
        ts_sleep_ms(100);
    }
    fail_msg("run %lld of %s did not finish within %ld ms", count, k->installed_app_id, timeout_ms);
}

/* Gateway calls cloudsim audited for the install whose path contains `needle` and whose method
 * is `method` (NULL: any). */
static inline long kit_audit_count(const struct kit *k, const char *method, const char *needle)
{
    char url[512];
    snprintf(url, sizeof url, "%s/admin/audit?installed_app_id=%s&limit=1000", k->cs.url,
             k->installed_app_id);
    struct ts_response r;
    ts_http("GET", url, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    ts_response_free(&r);
    long n = 0;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(o, "data"), i, row)
    {
        const char *m = json_string_value(json_object_get(row, "method"));
        const char *p = json_string_value(json_object_get(row, "path"));
        if (p && strstr(p, needle) && (!method || (m && strcmp(m, method) == 0)))
            n++;
    }
    json_decref(o);
    return n;
}

/* A launch of the install through cloudsim: the portal URL (with its launch token). */
static inline void kit_portal_launch(const struct kit *k, char *portal, size_t cap)
{
    char body[300];
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", k->installed_app_id);
    struct ts_response r;
    kit_admin(k, "/admin/launches", body, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_int_equal(ts_json_string(&r, "portal_url", portal, cap), 0);
    ts_response_free(&r);
}

/* Redeems a portal URL as a browser that keeps the cookie: the cookie and the page's CSRF
 * token. */
static inline void kit_portal_redeem(const struct kit *k, const char *portal, char *cookie,
                                     size_t ccap, char *csrf, size_t scap)
{
    struct ts_response r;
    ts_http("GET", portal, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 303);
    char set_cookie[600];
    assert_int_equal(ts_header(&r, "Set-Cookie", set_cookie, sizeof set_cookie), 0);
    snprintf(cookie, ccap, "%.*s", (int)strcspn(set_cookie, ";"), set_cookie);
    ts_response_free(&r);
    char url[300], header[800];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/portal", k->kyc_port);
    snprintf(header, sizeof header, "Cookie: %s", cookie);
    const char *headers[] = {header, NULL};
    ts_http("GET", url, NULL, headers, &r);
    TS_ASSERT_STATUS(r, 200);
    const char *meta = strstr(r.body, "name=\"csrf-token\" content=\"");
    assert_non_null(meta);
    meta += strlen("name=\"csrf-token\" content=\"");
    snprintf(csrf, scap, "%.*s", (int)strcspn(meta, "\""), meta);
    ts_response_free(&r);
}

/* Redeems a portal URL as a browser that refuses the cookie (spec D10′): the handoff page
 * hands the session token over, and auth gets "Bearer <token>", which kit_portal_send sends as
 * the Authorization header in place of a cookie (with no CSRF token: it needs none). */
static inline void kit_portal_redeem_header(const struct kit *k, const char *portal, char *auth,
                                            size_t cap)
{
    struct ts_response r;
    ts_http("GET", portal, NULL, NULL, &r);
    TS_ASSERT_STATUS(r, 303);
    char handoff[300], url[600];
    assert_int_equal(ts_header(&r, "Location", handoff, sizeof handoff), 0);
    ts_response_free(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", k->kyc_port, handoff);
    ts_http("GET", url, NULL, NULL, &r); /* no cookie: the browser refused it */
    TS_ASSERT_STATUS(r, 200);
    const char *p = strstr(r.body, "data-capp-session=\"");
    assert_non_null(p);
    p += strlen("data-capp-session=\"");
    snprintf(auth, cap, "Bearer %.*s", (int)strcspn(p, "\""), p);
    ts_response_free(&r);
}

/* A portal session for the install: launch through cloudsim, redeem the token, read the page's
 * CSRF token. */
static inline void kit_portal_session(const struct kit *k, char *cookie, size_t ccap, char *csrf,
                                      size_t scap)
{
    char portal[1024];
    kit_portal_launch(k, portal, sizeof portal);
    kit_portal_redeem(k, portal, cookie, ccap, csrf, scap);
}

/* A portal API call with body; cookie is the session's Cookie value, or "Bearer <token>" for a
 * header-carried one (kit_portal_redeem_header); csrf NULL sends no X-CSRF-Token. */
static inline void kit_portal_send(const struct kit *k, const char *method, const char *path,
                                   const char *body, const char *cookie, const char *csrf,
                                   struct ts_response *r)
{
    char url[400], h1[800], h2[300];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", k->kyc_port, path);
    snprintf(h1, sizeof h1, strncmp(cookie, "Bearer ", 7) == 0 ? "Authorization: %s" : "Cookie: %s",
             cookie);
    const char *headers[4] = {h1};
    size_t n = 1;
    if (csrf) {
        snprintf(h2, sizeof h2, "X-CSRF-Token: %s", csrf);
        headers[n++] = h2;
    }
    headers[n] = "Content-Type: application/json";
    ts_http(method, url, body, headers, r);
}

/* The same without a body; POST sends "{}". */
static inline void kit_portal_call(const struct kit *k, const char *method, const char *path,
                                   const char *cookie, const char *csrf, struct ts_response *r)
{
    kit_portal_send(k, method, path, strcmp(method, "POST") == 0 ? "{}" : NULL, cookie, csrf, r);
}

/* GET path through the portal API: asserts 200 and returns the parsed body (caller decrefs). */
static inline json_t *kit_portal_json(const struct kit *k, const char *path, const char *cookie,
                                      const char *csrf)
{
    struct ts_response r;
    kit_portal_call(k, "GET", path, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    ts_response_free(&r);
    assert_non_null(o);
    return o;
}

/* ---- reviewer accounts (kyc/reviewers.h): a change needs a signed-in reviewer ---- */

struct kit_reviewer {
    char account_id[160];
    char secret[64]; /* base32, as the portal shows it once */
};

/* The TOTP code of a base32 secret at now + steps × 30 s, computed as an authenticator app
 * does (liboath, through kyc/totp.h). */
static inline void kit_totp(const char *secret_b32, int steps, char out[TOTP_DIGITS + 1])
{
    char *raw = NULL;
    size_t len = 0;
    assert_int_equal(oath_base32_decode(secret_b32, strlen(secret_b32), &raw, &len), OATH_OK);
    assert_int_equal(
        totp_code((const uint8_t *)raw, len, (int64_t)time(NULL) + steps * TOTP_STEP_SECONDS, out),
        0);
    free(raw);
}

/* Creates a reviewer account from the session (cookie, csrf) and leaves the session signed in
 * to it: the first-run setup when enrolment_code is NULL, else an enrolment with the code. */
static inline void kit_reviewer_create(const struct kit *k, const char *cookie, const char *csrf,
                                       const char *enrolment_code, const char *name,
                                       struct kit_reviewer *out)
{
    char body[400], code[TOTP_DIGITS + 1];
    struct ts_response r;
    if (enrolment_code) {
        snprintf(body, sizeof body, "{\"enrolment_code\":\"%s\",\"display_name\":\"%s\"}",
                 enrolment_code, name);
        kit_portal_send(k, "POST", "/portal/api/reviewers/enrol", body, cookie, csrf, &r);
    } else {
        snprintf(body, sizeof body, "{\"display_name\":\"%s\"}", name);
        kit_portal_send(k, "POST", "/portal/api/reviewers/setup", body, cookie, csrf, &r);
    }
    TS_ASSERT_STATUS(r, 200);
    assert_int_equal(ts_json_string(&r, "secret", out->secret, sizeof out->secret), 0);
    ts_response_free(&r);
    kit_totp(out->secret, 0, code);
    snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
    kit_portal_send(k, "POST", "/portal/api/reviewers/confirm", body, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    ts_response_free(&r);
    const char *id =
        json_string_value(json_object_get(json_object_get(o, "account"), "account_id"));
    assert_non_null(id);
    snprintf(out->account_id, sizeof out->account_id, "%s", id);
    json_decref(o);
}

/* An enrolment code for a new account of `role`, created by the admin signed in to the
 * session. */
static inline void kit_reviewer_invite(const struct kit *k, const char *cookie, const char *csrf,
                                       const char *role, char *code, size_t cap)
{
    char body[100];
    snprintf(body, sizeof body, "{\"role\":\"%s\"}", role);
    struct ts_response r;
    kit_portal_send(k, "POST", "/portal/api/reviewers/enrolments", body, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 201);
    assert_int_equal(ts_json_string(&r, "enrolment_code", code, cap), 0);
    ts_response_free(&r);
}

/* Signs the session in to an existing account with the code `steps` time steps from now (a
 * step after the last one used, since each code works once); returns the HTTP status. */
static inline long kit_reviewer_sign_in(const struct kit *k, const char *cookie, const char *csrf,
                                        const struct kit_reviewer *rv, int steps)
{
    char body[300], code[TOTP_DIGITS + 1];
    kit_totp(rv->secret, steps, code);
    snprintf(body, sizeof body, "{\"account_id\":\"%s\",\"code\":\"%s\"}", rv->account_id, code);
    struct ts_response r;
    kit_portal_send(k, "POST", "/portal/api/reviewers/signin", body, cookie, csrf, &r);
    long status = r.status;
    ts_response_free(&r);
    return status;
}

#endif
