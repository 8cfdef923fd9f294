/*
 * Durability: every lifecycle event acknowledged with 2xx is on disk before the answer leaves.
 * Many clients send install (and some uninstall) events concurrently; the server is killed with
 * SIGKILL right after the last acknowledgement — no graceful shutdown, no checkpoint — and the
 * database is then opened directly: every acknowledged effect must be there.
 */
#include <pthread.h>
#include <sqlite3.h>

#include "serve_fixture.h"

#define THREADS    8
#define PER_THREAD 40

static struct serve_fixture fx;
static int acked[THREADS][PER_THREAD];
static int uninstall_acked[THREADS][PER_THREAD];

static void *client(void *arg)
{
    long t = (long)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char id[64], key[64], body[1024];
        snprintf(id, sizeof id, "instapp_t%ld_%d", t, i);
        snprintf(key, sizeof key, "blnk_durable%02ld%04dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", t, i);
        install_body(body, sizeof body, id, "", key, "[\"data:read\"]");
        struct ts_response r;
        serve_post(&fx, "/api/callback", body, &r);
        acked[t][i] = r.status == 200;
        ts_response_free(&r);
        if (i % 4 == 0) {
            snprintf(body, sizeof body,
                     "{\"installed_app_id\":\"%s\",\"app_id\":\"" TEST_APP_ID
                     "\",\"instance_id\":\"" TEST_INSTANCE
                     "\",\"idempotency_key\":\"uninstall:%s\"}",
                     id, id);
            serve_post(&fx, "/api/callback", body, &r);
            uninstall_acked[t][i] = r.status == 200;
            ts_response_free(&r);
        }
    }
    return NULL;
}

static void test_acknowledged_events_survive_sigkill(void **state)
{
    memset(&fx, 0, sizeof fx);
    serve_start(&fx, NULL);
    pthread_t threads[THREADS];
    for (long t = 0; t < THREADS; t++)
        pthread_create(&threads[t], NULL, client, (void *)t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    ts_proc_stop(&fx.proc, SIGKILL);

    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(fx.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT status, sealed_api_key IS NOT NULL,"
                                        " uninstall_pending_since IS NOT NULL,"
                                        " (SELECT count(*) FROM lifecycle_events e"
                                        "  WHERE e.installed_app_id = i.installed_app_id)"
                                        " FROM installs i WHERE installed_app_id = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int checked = 0;
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < PER_THREAD; i++) {
            if (!acked[t][i])
                fail_msg("install t%d_%d was not acknowledged", t, i);
            char id[64];
            snprintf(id, sizeof id, "instapp_t%d_%d", t, i);
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(st) != SQLITE_ROW)
                fail_msg("acknowledged install %s lost after SIGKILL", id);
            const char *status = (const char *)sqlite3_column_text(st, 0);
            int has_key = sqlite3_column_int(st, 1);
            int pending = sqlite3_column_int(st, 2);
            int events = sqlite3_column_int(st, 3);
            if (uninstall_acked[t][i]) {
                /* This Cloud is unreachable, so no uninstall is confirmed: each one is inactive
                 * with its key kept, pending confirmation (spec D1'). */
                assert_string_equal(status, "inactive");
                assert_int_equal(has_key, 1);
                assert_int_equal(pending, 1);
                assert_int_equal(events, 2);
            } else {
                assert_string_equal(status, "active");
                assert_int_equal(has_key, 1);
                assert_int_equal(pending, 0);
                assert_int_equal(events, 1);
            }
            checked++;
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(checked, THREADS * PER_THREAD);

    /* And the restarted server serves them. */
    serve_start(&fx, NULL);
    char token[128];
    serve_launch(&fx, "instapp_t0_1", token, sizeof token);
    serve_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acknowledged_events_survive_sigkill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
