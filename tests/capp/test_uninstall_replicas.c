/*
 * test_uninstall_replicas.c — uninstall confirmation when the uninstall reached another replica
 * (capp/uninstall_confirm.h, "Replicas").
 *
 * The uninstall is applied to the store directly, never through uninstall_confirm_wake: that is
 * what a worker sees when another replica received the event. Only the periodic rescan can
 * find it. A fake Cloud (libmicrohttpd on an ephemeral loopback port) answers the key probe
 * (GET <base>/data/identities) with 401 (key revoked) or 200 (key accepted) and records which
 * replica probed with which key: each worker gets its own base path (/r1, /r2).
 *
 * Without arguments on a SQLite file; with --pg on a fresh PostgreSQL database (CTest fixture
 * `pg`). On PostgreSQL two replicas are two store handles on the same database; a SQLite file
 * belongs to one process (its handle caches rows it wrote itself), so there both workers share
 * one handle, as two workers in one process would.
 */
#include <ftw.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_fresh.h"
#include "testsupport.h"

#include "capp/clock.h"
#include "capp/err.h"
#include "capp/seal.h"
#include "capp/store.h"
#include "capp/uninstall_confirm.h"

#define MASTER_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static int on_pg;

/* ---- the fake Cloud ---- */

struct fake_cloud {
    struct MHD_Daemon *d;
    char url[64];
    unsigned status; /* the answer to every probe */
    pthread_mutex_t mu;
    int probes[3];     /* by replica (base path /r1, /r2); [0]: any other path */
    char last_key[96]; /* the bearer key of the last probe */
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct fake_cloud *fc = cls;
    int replica = 0;
    if (strcmp(method, "GET") == 0 && strcmp(url, "/r1/data/identities") == 0)
        replica = 1;
    else if (strcmp(method, "GET") == 0 && strcmp(url, "/r2/data/identities") == 0)
        replica = 2;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&fc->mu);
    fc->probes[replica]++;
    snprintf(fc->last_key, sizeof fc->last_key, "%s",
             auth && strncmp(auth, "Bearer ", 7) == 0 ? auth + 7 : "");
    pthread_mutex_unlock(&fc->mu);
    static const char body[] = "{\"data\":[]}";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, replica ? fc->status : 404, r);
    MHD_destroy_response(r);
    return rc;
}

static void cloud_start(struct fake_cloud *fc, unsigned status)
{
    memset(fc, 0, sizeof *fc);
    fc->status = status;
    pthread_mutex_init(&fc->mu, NULL);
    fc->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                             answer, fc, MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
    assert_non_null(fc->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(fc->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    snprintf(fc->url, sizeof fc->url, "http://127.0.0.1:%u", (unsigned)info->port);
}

static void cloud_stop(struct fake_cloud *fc)
{
    MHD_stop_daemon(fc->d);
    pthread_mutex_destroy(&fc->mu);
}

static int probes_of(struct fake_cloud *fc, int replica)
{
    pthread_mutex_lock(&fc->mu);
    int n = fc->probes[replica];
    pthread_mutex_unlock(&fc->mu);
    return n;
}

/* ---- stores, keys, events ---- */

struct fixture {
    char dir[512];
    char target[1024];
    struct store *s1, *s2; /* two replicas' handles on one database; SQLite: s2 == s1 */
    struct seal_keyring *kr;
    struct fake_cloud cloud;
    pthread_mutex_t mu;
    char forged_id[STORE_ID_CAP]; /* what the forged hook was last called with */
    char forged_event[32];
};

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    ts_tmpdir(f->dir, sizeof f->dir);
    snprintf(f->target, sizeof f->target, "%s/capp.db", f->dir);
    if (on_pg)
        pg_fresh_db("capp_uninstall_replicas", f->target, sizeof f->target);
    if (store_open(f->target, &f->s1) != 0)
        return -1;
    f->s2 = f->s1;
    if (on_pg && store_open(f->target, &f->s2) != 0)
        return -1;
    if (seal_keyring_new(&f->kr) != 0 || seal_keyring_add_hex(f->kr, MASTER_KEY) != 0)
        return -1;
    pthread_mutex_init(&f->mu, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->s2 != f->s1)
        store_close(f->s2);
    store_close(f->s1);
    seal_keyring_free(f->kr);
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return 0;
}

static const char *const PERMS[] = {"data:read"};

/* Installs id with the plaintext key `key`, sealed as the app seals it (bound to id). */
static void install(struct fixture *f, const char *id, const char *key)
{
    char *sealed = NULL, idem[96], fp[STORE_HASH_CAP];
    assert_int_equal(seal_seal(f->kr, id, key, strlen(key), &sealed), 0);
    store_api_key_fingerprint(key, strlen(key), fp);
    snprintf(idem, sizeof idem, "install:%s", id);
    struct store_event ev = {.kind = STORE_EVENT_INSTALL,
                             .idempotency_key = idem,
                             .installed_app_id = id,
                             .app_id = "app_1",
                             .organization_id = "org_1",
                             .instance_id = "inst_1",
                             .api_key_prefix = "blnk_abc",
                             .sealed_api_key = sealed,
                             .api_key_fingerprint = fp,
                             .permissions = PERMS,
                             .permission_count = 1};
    enum store_event_outcome out;
    assert_int_equal(store_apply_event(f->s1, &ev, &out), 0);
    assert_int_equal(out, STORE_OUTCOME_APPLIED);
    free(sealed);
}

/* Applies an uninstall of id to the store as another replica would: no wake for any worker. */
static void uninstall_elsewhere(struct store *s, const char *id)
{
    char idem[96];
    snprintf(idem, sizeof idem, "uninstall:%s", id);
    struct store_event ev = {.kind = STORE_EVENT_UNINSTALL,
                             .idempotency_key = idem,
                             .installed_app_id = id,
                             .app_id = "app_1",
                             .organization_id = "org_1",
                             .instance_id = "inst_1"};
    enum store_event_outcome out;
    assert_int_equal(store_apply_event(s, &ev, &out), 0);
    assert_int_equal(out, STORE_OUTCOME_APPLIED);
}

/* 1 when id is in the given state: active or not, its key kept or not, no uninstall pending. */
static int settled(struct store *s, const char *id, int active, int key_kept)
{
    struct store_install in;
    if (store_install_get(s, id, &in) != 0)
        return 0;
    int ok = in.active == active && (in.sealed_api_key != NULL) == key_kept &&
             in.uninstall_pending_since_ms == 0;
    store_install_clear(&in);
    return ok;
}

static int wait_settled(struct store *s, const char *id, int active, int key_kept, long ms)
{
    for (long waited = 0; waited < ms; waited += 20) {
        if (settled(s, id, active, key_kept))
            return 1;
        ts_sleep_ms(20);
    }
    return settled(s, id, active, key_kept);
}

static struct uninstall_confirm *worker(struct fixture *f, struct store *s, int replica,
                                        int64_t window_ms)
{
    struct uninstall_confirm_config c = {.store = s,
                                         .keyring = f->kr,
                                         .window_ms = window_ms,
                                         .backoff_ms = 50,
                                         .backoff_max_ms = 100,
                                         .rescan_ms = 100};
    struct uninstall_confirm *u = NULL;
    assert_int_equal(uninstall_confirm_new(&c, &u), 0);
    char url[96];
    snprintf(url, sizeof url, "%s/r%d", f->cloud.url, replica);
    assert_int_equal(uninstall_confirm_start(u, url), 0);
    return u;
}

/* ---- tests ---- */

static void test_config_refuses_negative_rescan(void **state)
{
    struct fixture *f = *state;
    struct uninstall_confirm_config c = {.store = f->s1, .keyring = f->kr, .rescan_ms = -1};
    struct uninstall_confirm *u = NULL;
    assert_int_equal(uninstall_confirm_new(&c, &u), CAPP_EINVAL);
    assert_null(u);
}

/* An uninstall applied after the worker read the pending list (another replica received it)
 * is found by the rescan, probed with the install's own key, and confirmed: the key goes. */
static void test_rescan_confirms_uninstall_received_elsewhere(void **state)
{
    struct fixture *f = *state;
    cloud_start(&f->cloud, 401);
    install(f, "instapp_first", "blnk_key_first");
    install(f, "instapp_other", "blnk_key_other");
    /* A pending uninstall before the start: its probe proves the worker's first read is done,
     * so the next uninstall can only be found by a rescan. */
    uninstall_elsewhere(f->s1, "instapp_first");
    struct uninstall_confirm *u = worker(f, f->s1, 1, 60000);
    assert_true(wait_settled(f->s1, "instapp_first", 0, 0, 5000));
    int before = probes_of(&f->cloud, 1);
    assert_int_equal(before, 1);

    uninstall_elsewhere(f->s2, "instapp_other");
    assert_true(wait_settled(f->s1, "instapp_other", 0, 0, 5000));
    assert_int_equal(probes_of(&f->cloud, 1), before + 1);
    pthread_mutex_lock(&f->cloud.mu);
    assert_string_equal(f->cloud.last_key, "blnk_key_other");
    pthread_mutex_unlock(&f->cloud.mu);
    assert_int_equal(probes_of(&f->cloud, 0), 0);

    uninstall_confirm_free(u);
    cloud_stop(&f->cloud);
}

struct hook_ctx {
    struct fixture *f;
    int calls;
};

static void on_forged(void *ctx, const char *id, const json_t *detail)
{
    struct hook_ctx *h = ctx;
    pthread_mutex_lock(&h->f->mu);
    h->calls++;
    snprintf(h->f->forged_id, sizeof h->f->forged_id, "%s", id);
    const char *event = json_string_value(json_object_get(detail, "event"));
    snprintf(h->f->forged_event, sizeof h->f->forged_event, "%s", event ? event : "");
    pthread_mutex_unlock(&h->f->mu);
}

/* Two replicas both probe a forged uninstall neither received (Cloud keeps accepting the key):
 * when the window ends both try to restore it; the store lets one resolution through, so the
 * install is restored, its key kept, and the forged hook called once across both. */
static void test_two_replicas_restore_forged_once(void **state)
{
    struct fixture *f = *state;
    cloud_start(&f->cloud, 200);
    install(f, "instapp_forged", "blnk_key_forged");
    struct hook_ctx h1 = {.f = f}, h2 = {.f = f};
    struct uninstall_confirm *u1 = worker(f, f->s1, 1, 800);
    struct uninstall_confirm *u2 = worker(f, f->s2, 2, 800);
    uninstall_confirm_set_forged_hook(u1, on_forged, &h1);
    uninstall_confirm_set_forged_hook(u2, on_forged, &h2);
    ts_sleep_ms(150); /* both have done their first read, which found nothing */

    uninstall_elsewhere(f->s1, "instapp_forged");
    assert_true(wait_settled(f->s2, "instapp_forged", 1, 1, 5000));
    /* Both replicas probed it; and a late duplicate resolution would show up here. */
    ts_sleep_ms(500);
    assert_true(probes_of(&f->cloud, 1) >= 1);
    assert_true(probes_of(&f->cloud, 2) >= 1);
    pthread_mutex_lock(&f->mu);
    assert_int_equal(h1.calls + h2.calls, 1);
    assert_string_equal(f->forged_id, "instapp_forged");
    assert_string_equal(f->forged_event, "uninstall_forged");
    pthread_mutex_unlock(&f->mu);
    assert_true(settled(f->s1, "instapp_forged", 1, 1));

    uninstall_confirm_free(u1);
    uninstall_confirm_free(u2);
    cloud_stop(&f->cloud);
}

int main(int argc, char **argv)
{
    on_pg = argc > 1 && strcmp(argv[1], "--pg") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_refuses_negative_rescan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rescan_confirms_uninstall_received_elsewhere, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_two_replicas_restore_forged_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
