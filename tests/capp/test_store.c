/*
 * test_store.c — the install store through the store.h contract: install, duplicate,
 * reinstall and uninstall events with their exact effects, unknown uninstalls, the uninstall
 * hook, sessions and their purge, the key-invalid flag, a failing event that leaves no
 * idempotency record, and many threads applying events that are all present after the
 * database is closed and opened again.
 *
 * One suite, both implementations: without arguments on a SQLite file (capp_store), with --pg
 * on a fresh PostgreSQL database per test (capp_store_pg, CTest fixture `pg`). The stores are
 * opened with store_open, which picks the implementation from the target.
 */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg_fresh.h"
#include "testsupport.h"

#include "capp/assert.h"
#include "capp/clock.h"
#include "capp/crypto.h"
#include "capp/err.h"
#include "capp/json.h"
#include "capp/sql.h"
#include "capp/store.h"

static int on_pg; /* --pg: every store on a fresh PostgreSQL database */

struct fixture {
    char dir[512];
    char path[600];
    char target[1024]; /* path, or the PostgreSQL database's connection string */
    struct store *s;
    pthread_mutex_t mu;
    int hook_calls;
    char hook_id[STORE_ID_CAP];
    int hook_saw_inactive;
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
        pg_fresh_db("capp_store", f->target, sizeof f->target);
    }
    pthread_mutex_init(&f->mu, NULL);
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
    pthread_mutex_destroy(&f->mu);
    free(f);
    return 0;
}

static void reopen(struct fixture *f)
{
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(store_open(f->target, &f->s), 0);
}

static const char *const PERMS[] = {"data:read", "alerts:write", "proxy:identities:write"};

/* The fingerprint of the plaintext key the test pretends was sealed into `sealed`: one key per
 * sealed text, so two events carry the same key exactly when their sealed texts are equal. */
static const char *fingerprint_of(const char *sealed)
{
    static __thread char ring[8][STORE_HASH_CAP];
    static __thread unsigned next;
    char *out = ring[next++ % 8];
    store_api_key_fingerprint(sealed, strlen(sealed), out);
    return out;
}

static struct store_event install_event(const char *key, const char *id, const char *sealed)
{
    struct store_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = STORE_EVENT_INSTALL;
    ev.idempotency_key = key;
    ev.installed_app_id = id;
    ev.app_id = "app_1";
    ev.organization_id = "org_1";
    ev.instance_id = "inst_1";
    ev.api_key_prefix = "blnk_abc";
    ev.sealed_api_key = sealed;
    ev.api_key_fingerprint = fingerprint_of(sealed);
    ev.permissions = PERMS;
    ev.permission_count = 3;
    return ev;
}

static struct store_event uninstall_event(const char *key, const char *id, const char *at)
{
    struct store_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = STORE_EVENT_UNINSTALL;
    ev.idempotency_key = key;
    ev.installed_app_id = id;
    ev.app_id = "app_1";
    ev.organization_id = "org_1";
    ev.instance_id = "inst_1";
    ev.uninstalled_at = at;
    return ev;
}

static const char *outcome_name(enum store_event_outcome o)
{
    return store_outcome_name(o);
}

static void expect_apply(struct store *s, const struct store_event *ev,
                         enum store_event_outcome expected)
{
    enum store_event_outcome got = (enum store_event_outcome) - 1;
    int rc = store_apply_event(s, ev, &got);
    if (rc != 0)
        fail_msg("event %s: rc %d (%s)", ev->idempotency_key, rc, capp_strerror(rc));
    if (got != expected)
        fail_msg("event %s: outcome %s, expected %s", ev->idempotency_key, outcome_name(got),
                 outcome_name(expected));
}

/* Cloud confirmed the pending uninstall of id: its key goes. */
static void confirm_uninstall(struct fixture *f, const char *id)
{
    struct store_install in;
    assert_int_equal(store_install_get(f->s, id, &in), 0);
    assert_true(in.uninstall_pending_since_ms > 0);
    assert_int_equal(
        store_uninstall_resolve(f->s, id, in.uninstall_pending_since_ms, STORE_UNINSTALL_CONFIRMED),
        0);
    store_install_clear(&in);
}

static struct store_session session(const char *hash_seed, const char *id, int64_t expires)
{
    struct store_session x;
    memset(&x, 0, sizeof x);
    crypto_sha256_hex(hash_seed, strlen(hash_seed), x.token_hash);
    snprintf(x.installed_app_id, sizeof x.installed_app_id, "%s", id);
    snprintf(x.organization_id, sizeof x.organization_id, "org_1");
    snprintf(x.instance_id, sizeof x.instance_id, "inst_1");
    snprintf(x.user_id, sizeof x.user_id, "user_%s", hash_seed);
    x.created_at_ms = expires - 900000;
    x.expires_at_ms = expires;
    return x;
}

static int session_exists(struct store *s, const char *hash)
{
    struct store_session out;
    int rc = store_session_get(s, hash, &out);
    if (rc == 0)
        return 1;
    assert_int_equal(rc, CAPP_ENOTFOUND);
    return 0;
}

static void test_open_refuses_memory_and_bad_paths(void **state)
{
    struct store *s = (struct store *)0x1;
    assert_int_equal(store_sqlite_open(":memory:", &s), CAPP_EINVAL);
    assert_int_equal(store_sqlite_open("", &s), CAPP_EINVAL);
    assert_int_equal(store_sqlite_open(NULL, &s), CAPP_EINVAL);
    assert_int_not_equal(store_sqlite_open("/nonexistent-dir/sub/capp.db", &s), 0);
    assert_int_equal(store_open(NULL, &s), CAPP_EINVAL);
    assert_int_equal(store_open(":memory:", &s), CAPP_EINVAL); /* a path: the SQLite store */
    assert_ptr_equal(s, (struct store *)0x1);
    store_close(NULL);
}

static void test_install_applies(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_ping(f->s), 1);
    struct store_event ev = install_event("install:instapp_1", "instapp_1", "v1.sealed.one");
    int64_t before = clock_now_ms();
    expect_apply(f->s, &ev, STORE_OUTCOME_APPLIED);
    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_1", &in), 0);
    assert_string_equal(in.installed_app_id, "instapp_1");
    assert_string_equal(in.app_id, "app_1");
    assert_string_equal(in.organization_id, "org_1");
    assert_string_equal(in.instance_id, "inst_1");
    assert_string_equal(in.api_key_prefix, "blnk_abc");
    assert_int_equal(in.permission_count, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(in.permissions[i], PERMS[i]);
    assert_int_equal(in.active, 1);
    assert_int_equal(in.key_invalid, 0);
    assert_string_equal(in.sealed_api_key, "v1.sealed.one");
    assert_string_equal(in.uninstalled_at, "");
    assert_true(in.created_at_ms >= before - 1000 && in.created_at_ms <= clock_now_ms() + 1000);
    store_install_clear(&in);
    assert_null(in.sealed_api_key);
    store_install_clear(NULL);

    struct store_install none;
    assert_int_equal(store_install_get(f->s, "instapp_2", &none), CAPP_ENOTFOUND);
    assert_null(none.sealed_api_key);
}

static void test_install_v2_without_organization(void **state)
{
    struct fixture *f = *state;
    struct store_event ev = install_event("install:instapp_v2", "instapp_v2", "v1.s");
    ev.organization_id = NULL;
    ev.permission_count = 0;
    expect_apply(f->s, &ev, STORE_OUTCOME_APPLIED);
    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_v2", &in), 0);
    assert_string_equal(in.organization_id, "");
    assert_int_equal(in.permission_count, 0);
    assert_int_equal(in.active, 1);
    store_install_clear(&in);
}

static void test_duplicate_key_has_no_second_effect(void **state)
{
    struct fixture *f = *state;
    struct store_event ev = install_event("install:instapp_1", "instapp_1", "v1.first");
    expect_apply(f->s, &ev, STORE_OUTCOME_APPLIED);
    struct store_install first;
    assert_int_equal(store_install_get(f->s, "instapp_1", &first), 0);

    /* same key, different payload: acknowledged, nothing changes */
    struct store_event again = install_event("install:instapp_1", "instapp_1", "v1.second");
    again.permission_count = 1;
    again.instance_id = "inst_other";
    expect_apply(f->s, &again, STORE_OUTCOME_DUPLICATE);
    expect_apply(f->s, &again, STORE_OUTCOME_DUPLICATE);
    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_1", &in), 0);
    assert_string_equal(in.sealed_api_key, "v1.first");
    assert_int_equal(in.permission_count, 3);
    assert_string_equal(in.instance_id, "inst_1");
    assert_true(in.updated_at_ms == first.updated_at_ms);
    store_install_clear(&in);
    store_install_clear(&first);

    /* the record survives a restart: still a duplicate */
    reopen(f);
    expect_apply(f->s, &again, STORE_OUTCOME_DUPLICATE);
    assert_int_equal(store_install_get(f->s, "instapp_1", &in), 0);
    assert_string_equal(in.sealed_api_key, "v1.first");
    store_install_clear(&in);
}

static void test_reinstall_reactivates_and_replaces(void **state)
{
    struct fixture *f = *state;
    struct store_event ev = install_event("install:instapp_1", "instapp_1", "v1.old");
    expect_apply(f->s, &ev, STORE_OUTCOME_APPLIED);
    assert_int_equal(store_install_mark_key_invalid(f->s, "instapp_1"), 0);
    struct store_event un =
        uninstall_event("uninstall:instapp_1", "instapp_1", "2026-04-21T12:00:00Z");
    expect_apply(f->s, &un, STORE_OUTCOME_APPLIED);
    confirm_uninstall(f, "instapp_1");

    static const char *const fewer[] = {"data:read"};
    struct store_event re = install_event("install:instapp_1:2", "instapp_1", "v1.new");
    re.permissions = fewer;
    re.permission_count = 1;
    re.instance_id = "inst_2";
    re.api_key_prefix = "blnk_new";
    expect_apply(f->s, &re, STORE_OUTCOME_APPLIED);
    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_1", &in), 0);
    assert_int_equal(in.active, 1);
    assert_string_equal(in.sealed_api_key, "v1.new");
    assert_string_equal(in.api_key_prefix, "blnk_new");
    assert_string_equal(in.instance_id, "inst_2");
    assert_int_equal(in.permission_count, 1);
    assert_string_equal(in.permissions[0], "data:read");
    assert_false(store_install_has_permission(&in, "alerts:write"));
    assert_int_equal(in.key_invalid, 0);
    assert_string_equal(in.uninstalled_at, "");
    assert_true(in.updated_at_ms >= in.created_at_ms);
    store_install_clear(&in);

    /* while active, another key is a conflict (a forged install): nothing changes */
    struct store_event third = install_event("install:instapp_1:3", "instapp_1", "v1.third");
    third.instance_id = "inst_2";
    third.api_key_prefix = "blnk_new";
    expect_apply(f->s, &third, STORE_OUTCOME_INSTALL_CONFLICT);
    assert_int_equal(store_install_get(f->s, "instapp_1", &in), 0);
    assert_string_equal(in.sealed_api_key, "v1.new");
    assert_int_equal(in.permission_count, 1);
    store_install_clear(&in);
    /* the same key under a new idempotency key updates the grant (V1 "update later") */
    struct store_event grant = install_event("install:instapp_1:4", "instapp_1", "v1.new");
    grant.instance_id = "inst_2";
    grant.api_key_prefix = "blnk_new";
    expect_apply(f->s, &grant, STORE_OUTCOME_APPLIED);
    assert_int_equal(store_install_get(f->s, "instapp_1", &in), 0);
    assert_string_equal(in.sealed_api_key, "v1.new");
    assert_int_equal(in.permission_count, 3);
    store_install_clear(&in);
    /* the conflicting key was not recorded: once the install is gone it may come again */
    un.instance_id = "inst_2";
    expect_apply(f->s, &un, STORE_OUTCOME_APPLIED); /* the recorded key takes effect again */
    confirm_uninstall(f, "instapp_1");
    expect_apply(f->s, &third, STORE_OUTCOME_APPLIED);
}

static void test_uninstall_effects_scoped_to_install(void **state)
{
    struct fixture *f = *state;
    struct store_event a = install_event("install:instapp_a", "instapp_a", "v1.a");
    struct store_event b = install_event("install:instapp_b", "instapp_b", "v1.b");
    expect_apply(f->s, &a, STORE_OUTCOME_APPLIED);
    expect_apply(f->s, &b, STORE_OUTCOME_APPLIED);
    int64_t later = clock_now_ms() + 600000;
    struct store_session sa1 = session("a1", "instapp_a", later),
                         sa2 = session("a2", "instapp_a", later),
                         sb = session("b1", "instapp_b", later);
    assert_int_equal(store_session_create(f->s, &sa1), 0);
    assert_int_equal(store_session_create(f->s, &sa2), 0);
    assert_int_equal(store_session_create(f->s, &sb), 0);
    struct store_launch la = session("la", "instapp_a", later),
                        lb = session("lb", "instapp_b", later);
    assert_int_equal(store_launch_put(f->s, &la), 0);
    assert_int_equal(store_launch_put(f->s, &lb), 0);

    struct store_event un =
        uninstall_event("uninstall:instapp_a", "instapp_a", "2026-04-21T12:00:00Z");
    expect_apply(f->s, &un, STORE_OUTCOME_APPLIED);

    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_a", &in), 0);
    assert_int_equal(in.active, 0);
    /* the key is kept until Cloud confirms the uninstall */
    assert_string_equal(in.sealed_api_key, "v1.a");
    assert_true(in.uninstall_pending_since_ms > 0);
    assert_string_equal(in.uninstalled_at, "2026-04-21T12:00:00Z");
    assert_string_equal(in.app_id, "app_1"); /* the record is kept, inactive */
    store_install_clear(&in);
    confirm_uninstall(f, "instapp_a");
    assert_int_equal(store_install_get(f->s, "instapp_a", &in), 0);
    assert_int_equal(in.active, 0);
    assert_null(in.sealed_api_key);
    assert_true(in.uninstall_pending_since_ms == 0);
    store_install_clear(&in);
    assert_false(session_exists(f->s, sa1.token_hash));
    assert_false(session_exists(f->s, sa2.token_hash));
    assert_true(session_exists(f->s, sb.token_hash));
    struct store_launch out;
    assert_int_equal(store_launch_take(f->s, la.token_hash, &out), CAPP_ENOTFOUND);
    assert_int_equal(store_launch_take(f->s, lb.token_hash, &out), 0);

    assert_int_equal(store_install_get(f->s, "instapp_b", &in), 0);
    assert_int_equal(in.active, 1);
    assert_string_equal(in.sealed_api_key, "v1.b");
    store_install_clear(&in);

    /* effects are on disk */
    reopen(f);
    assert_int_equal(store_install_get(f->s, "instapp_a", &in), 0);
    assert_int_equal(in.active, 0);
    assert_null(in.sealed_api_key);
    store_install_clear(&in);
    assert_false(session_exists(f->s, sa1.token_hash));
    assert_true(session_exists(f->s, sb.token_hash));
}

static void test_uninstall_without_timestamp_records_now(void **state)
{
    struct fixture *f = *state;
    struct store_event a = install_event("install:instapp_a", "instapp_a", "v1.a");
    expect_apply(f->s, &a, STORE_OUTCOME_APPLIED);
    struct store_event un = uninstall_event("uninstall:instapp_a", "instapp_a", NULL);
    expect_apply(f->s, &un, STORE_OUTCOME_APPLIED);
    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_a", &in), 0);
    assert_int_equal(in.active, 0);
    assert_true(json_is_rfc3339_utc(in.uninstalled_at));
    char now[40];
    clock_format_rfc3339(clock_now_ms(), now, sizeof now);
    assert_memory_equal(in.uninstalled_at, now, 10); /* today */
    store_install_clear(&in);
}

static void hook(void *ctx, const char *installed_app_id)
{
    struct fixture *f = ctx;
    /* called after the commit: the install already reads as inactive */
    struct store_install in;
    int inactive = store_install_get(f->s, installed_app_id, &in) == 0 && !in.active;
    store_install_clear(&in);
    pthread_mutex_lock(&f->mu);
    f->hook_calls++;
    f->hook_saw_inactive = inactive;
    snprintf(f->hook_id, sizeof f->hook_id, "%s", installed_app_id);
    pthread_mutex_unlock(&f->mu);
}

static int hook_calls(struct fixture *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->hook_calls;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static void test_uninstall_unknown_recorded(void **state)
{
    struct fixture *f = *state;
    store_set_uninstall_hook(f->s, hook, f);
    struct store_event un = uninstall_event("uninstall:instapp_x", "instapp_x", NULL);
    expect_apply(f->s, &un, STORE_OUTCOME_UNKNOWN_INSTALL);
    expect_apply(f->s, &un, STORE_OUTCOME_DUPLICATE);
    assert_int_equal(hook_calls(f), 0);
    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_x", &in), CAPP_ENOTFOUND);
    reopen(f);
    expect_apply(f->s, &un, STORE_OUTCOME_DUPLICATE);
    /* a later install of that id is unaffected by the recorded uninstall */
    struct store_event ins = install_event("install:instapp_x", "instapp_x", "v1.x");
    expect_apply(f->s, &ins, STORE_OUTCOME_APPLIED);
    assert_int_equal(store_install_get(f->s, "instapp_x", &in), 0);
    assert_int_equal(in.active, 1);
    store_install_clear(&in);
}

static void test_uninstall_hook_once_per_applied(void **state)
{
    struct fixture *f = *state;
    store_set_uninstall_hook(f->s, hook, f);
    struct store_event a = install_event("install:instapp_a", "instapp_a", "v1.a");
    expect_apply(f->s, &a, STORE_OUTCOME_APPLIED);
    assert_int_equal(hook_calls(f), 0); /* installs do not call it */
    struct store_event un = uninstall_event("uninstall:instapp_a", "instapp_a", NULL);
    expect_apply(f->s, &un, STORE_OUTCOME_APPLIED);
    assert_int_equal(hook_calls(f), 1); /* already called when the event is acknowledged */
    assert_string_equal(f->hook_id, "instapp_a");
    assert_int_equal(f->hook_saw_inactive, 1);
    expect_apply(f->s, &un, STORE_OUTCOME_DUPLICATE);
    expect_apply(f->s, &un, STORE_OUTCOME_DUPLICATE);
    assert_int_equal(hook_calls(f), 1);
    store_set_uninstall_hook(f->s, NULL, NULL);
    struct store_event b = install_event("install:instapp_b", "instapp_b", "v1.b");
    struct store_event unb = uninstall_event("uninstall:instapp_b", "instapp_b", NULL);
    expect_apply(f->s, &b, STORE_OUTCOME_APPLIED);
    expect_apply(f->s, &unb, STORE_OUTCOME_APPLIED); /* no hook set: no call, no crash */
    assert_int_equal(hook_calls(f), 1);
}

static void test_sessions_create_get_delete(void **state)
{
    struct fixture *f = *state;
    int64_t later = clock_now_ms() + 600000;
    struct store_session x = session("s1", "instapp_a", later);
    assert_int_equal(store_session_create(f->s, &x), 0);
    struct store_session out;
    assert_int_equal(store_session_get(f->s, x.token_hash, &out), 0);
    assert_string_equal(out.token_hash, x.token_hash);
    assert_string_equal(out.installed_app_id, "instapp_a");
    assert_string_equal(out.organization_id, "org_1");
    assert_string_equal(out.instance_id, "inst_1");
    assert_string_equal(out.user_id, "user_s1");
    assert_true(out.created_at_ms == x.created_at_ms);
    assert_true(out.expires_at_ms == later);

    /* the same hash twice is refused, and the first stays */
    struct store_session clash = session("s1", "instapp_b", later);
    assert_int_not_equal(store_session_create(f->s, &clash), 0);
    assert_int_equal(store_session_get(f->s, x.token_hash, &out), 0);
    assert_string_equal(out.installed_app_id, "instapp_a");

    /* V2: no organization, no user */
    struct store_session v2 = session("s2", "instapp_a", later);
    v2.organization_id[0] = '\0';
    v2.user_id[0] = '\0';
    assert_int_equal(store_session_create(f->s, &v2), 0);
    assert_int_equal(store_session_get(f->s, v2.token_hash, &out), 0);
    assert_string_equal(out.organization_id, "");
    assert_string_equal(out.user_id, "");

    /* sessions survive a restart */
    reopen(f);
    assert_true(session_exists(f->s, x.token_hash));
    assert_int_equal(store_session_delete(f->s, x.token_hash), 0);
    assert_false(session_exists(f->s, x.token_hash));
    assert_true(session_exists(f->s, v2.token_hash));
    assert_int_equal(store_session_delete(f->s, x.token_hash), 0); /* idempotent */
    struct store_session none;
    assert_int_equal(store_session_get(f->s, "0000", &none), CAPP_ENOTFOUND);
}

static void test_purge_expired_sessions(void **state)
{
    struct fixture *f = *state;
    int64_t now = clock_now_ms();
    struct store_session old = session("old", "instapp_a", now - 1),
                         edge = session("edge", "instapp_a", now),
                         live = session("live", "instapp_a", now + 1);
    assert_int_equal(store_session_create(f->s, &old), 0);
    assert_int_equal(store_session_create(f->s, &edge), 0);
    assert_int_equal(store_session_create(f->s, &live), 0);
    assert_int_equal(store_purge_expired(f->s, now - 2), 0);
    assert_true(session_exists(f->s, old.token_hash));
    assert_int_equal(store_purge_expired(f->s, now), 0);
    assert_false(session_exists(f->s, old.token_hash));
    assert_false(session_exists(f->s, edge.token_hash));
    assert_true(session_exists(f->s, live.token_hash));
}

static void test_mark_key_invalid(void **state)
{
    struct fixture *f = *state;
    struct store_event a = install_event("install:instapp_a", "instapp_a", "v1.a");
    expect_apply(f->s, &a, STORE_OUTCOME_APPLIED);
    assert_int_equal(store_install_mark_key_invalid(f->s, "instapp_a"), 0);
    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_a", &in), 0);
    assert_int_equal(in.key_invalid, 1);
    assert_int_equal(in.active, 1); /* the record is kept (spec D21) */
    assert_string_equal(in.sealed_api_key, "v1.a");
    store_install_clear(&in);
    reopen(f);
    assert_int_equal(store_install_get(f->s, "instapp_a", &in), 0);
    assert_int_equal(in.key_invalid, 1);
    store_install_clear(&in);
    /* an unknown install gains no record */
    store_install_mark_key_invalid(f->s, "instapp_nobody");
    assert_int_equal(store_install_get(f->s, "instapp_nobody", &in), CAPP_ENOTFOUND);
}

static void test_has_permission(void **state)
{
    struct store_install in;
    memset(&in, 0, sizeof in);
    snprintf(in.permissions[0], sizeof in.permissions[0], "data:read");
    snprintf(in.permissions[1], sizeof in.permissions[1], "alerts:write");
    in.permission_count = 2;
    assert_true(store_install_has_permission(&in, "data:read"));
    assert_true(store_install_has_permission(&in, "alerts:write"));
    assert_false(store_install_has_permission(&in, "data:rea"));
    assert_false(store_install_has_permission(&in, "data:read "));
    assert_false(store_install_has_permission(&in, "DATA:READ"));
    in.permission_count = 1;
    assert_false(store_install_has_permission(&in, "alerts:write"));
}

static void test_failed_event_leaves_no_record(void **state)
{
    struct fixture *f = *state;
    /* instance_id NULL violates NOT NULL: the event fails after its idempotency record was
     * written inside the same transaction, so the record must be rolled back with it */
    struct store_event good1 = install_event("install:instapp_g1", "instapp_g1", "v1.g1");
    struct store_event bad = install_event("install:instapp_bad", "instapp_bad", "v1.bad");
    bad.instance_id = NULL;
    struct store_event good2 = install_event("install:instapp_g2", "instapp_g2", "v1.g2");
    struct store_waiter w[3];
    const struct store_event *evs[3] = {&good1, &bad, &good2};
    for (int i = 0; i < 3; i++) {
        store_waiter_init(&w[i]);
        assert_int_equal(store_apply_event_async(f->s, evs[i], store_waiter_done, &w[i]), 0);
    }
    enum store_event_outcome o;
    assert_int_equal(store_waiter_wait(&w[0], &o), 0);
    assert_int_equal(o, STORE_OUTCOME_APPLIED);
    assert_int_not_equal(store_waiter_wait(&w[1], &o), 0);
    assert_int_equal(store_waiter_wait(&w[2], &o), 0);
    assert_int_equal(o, STORE_OUTCOME_APPLIED);
    for (int i = 0; i < 3; i++)
        store_waiter_destroy(&w[i]);
    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_bad", &in), CAPP_ENOTFOUND);
    assert_int_equal(store_install_get(f->s, "instapp_g1", &in), 0);
    store_install_clear(&in);
    assert_int_equal(store_install_get(f->s, "instapp_g2", &in), 0);
    store_install_clear(&in);
    /* a valid re-send under the same key is applied, not a duplicate */
    bad.instance_id = "inst_1";
    expect_apply(f->s, &bad, STORE_OUTCOME_APPLIED);
}

#define ASYNC_EVENTS 100

struct counter {
    pthread_mutex_t mu;
    int done;
    int failed;
};

static void count_done(void *ctx, int rc, enum store_event_outcome outcome)
{
    struct counter *c = ctx;
    pthread_mutex_lock(&c->mu);
    c->done++;
    if (rc != 0 || outcome != STORE_OUTCOME_APPLIED)
        c->failed++;
    pthread_mutex_unlock(&c->mu);
}

static void test_close_drains_async_events(void **state)
{
    struct fixture *f = *state;
    struct counter c = {.done = 0};
    pthread_mutex_init(&c.mu, NULL);
    char keys[ASYNC_EVENTS][40], ids[ASYNC_EVENTS][40];
    for (int i = 0; i < ASYNC_EVENTS; i++) {
        snprintf(keys[i], sizeof keys[i], "install:instapp_q%d", i);
        snprintf(ids[i], sizeof ids[i], "instapp_q%d", i);
        struct store_event ev = install_event(keys[i], ids[i], "v1.q");
        /* the store copies the event: the caller's strings may change right after */
        assert_int_equal(store_apply_event_async(f->s, &ev, count_done, &c), 0);
    }
    memset(keys, 'z', sizeof keys);
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(c.done, ASYNC_EVENTS);
    assert_int_equal(c.failed, 0);
    assert_int_equal(store_open(f->target, &f->s), 0);
    for (int i = 0; i < ASYNC_EVENTS; i++) {
        struct store_install in;
        assert_int_equal(store_install_get(f->s, ids[i], &in), 0);
        store_install_clear(&in);
    }
    pthread_mutex_destroy(&c.mu);
}

#define THREADS           8
#define EVENTS_PER_THREAD 200

struct worker {
    struct store *s;
    int id;
    int failures;
};

static void *apply_many(void *p)
{
    struct worker *w = p;
    for (int i = 0; i < EVENTS_PER_THREAD; i++) {
        char key[96], id[64], sealed[64];
        snprintf(id, sizeof id, "instapp_t%d_%d", w->id, i);
        snprintf(key, sizeof key, "install:%s", id);
        snprintf(sealed, sizeof sealed, "v1.sealed.%d.%d", w->id, i);
        struct store_event ev = install_event(key, id, sealed);
        enum store_event_outcome o;
        if (store_apply_event(w->s, &ev, &o) != 0 || o != STORE_OUTCOME_APPLIED)
            w->failures++;
        /* every tenth event is delivered twice */
        if (i % 10 == 0 && (store_apply_event(w->s, &ev, &o) != 0 || o != STORE_OUTCOME_DUPLICATE))
            w->failures++;
        struct store_install in;
        if (store_install_get(w->s, id, &in) != 0 || !in.sealed_api_key ||
            strcmp(in.sealed_api_key, sealed) != 0)
            w->failures++;
        store_install_clear(&in);
    }
    return NULL;
}

static void test_concurrent_events_all_durable(void **state)
{
    struct fixture *f = *state;
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){f->s, i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, apply_many, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    reopen(f);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < EVENTS_PER_THREAD; i++) {
            char id[64], sealed[64];
            snprintf(id, sizeof id, "instapp_t%d_%d", t, i);
            snprintf(sealed, sizeof sealed, "v1.sealed.%d.%d", t, i);
            struct store_install in;
            assert_int_equal(store_install_get(f->s, id, &in), 0);
            assert_int_equal(in.active, 1);
            assert_string_equal(in.sealed_api_key, sealed);
            store_install_clear(&in);
        }
}

/* ---- idempotency keys and forged events (spec D1') ---- */

static int install_hook_calls;

static void install_hook(void *ctx, const char *installed_app_id)
{
    struct fixture *f = ctx;
    pthread_mutex_lock(&f->mu);
    install_hook_calls++;
    snprintf(f->hook_id, sizeof f->hook_id, "%s", installed_app_id);
    pthread_mutex_unlock(&f->mu);
}

/* The database behind the store, on its own connection (sql.h: either engine). */
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

static void exec_sql(struct fixture *f, const char *sql)
{
    struct sql_conn *c = NULL;
    assert_int_equal(sql_open(f->target, &c), 0);
    if (sql_exec(c, sql) != 0)
        fail_msg("%s: failed", sql);
    sql_close(c);
}

static void expect_active_with_key(struct fixture *f, const char *id, const char *sealed)
{
    struct store_install in;
    assert_int_equal(store_install_get(f->s, id, &in), 0);
    assert_int_equal(in.active, 1);
    assert_string_equal(in.sealed_api_key, sealed);
    assert_true(in.uninstall_pending_since_ms == 0);
    store_install_clear(&in);
}

static void test_key_must_name_its_install(void **state)
{
    struct fixture *f = *state;
    struct store_event victim = install_event("install:instapp_victim", "instapp_victim", "v1.v");
    expect_apply(f->s, &victim, STORE_OUTCOME_APPLIED);

    /* The hijack of issue 9: the victim's uninstall key sent for another install. */
    struct store_event hijack =
        uninstall_event("uninstall:instapp_victim", "instapp_attacker", NULL);
    enum store_event_outcome o;
    assert_int_equal(store_apply_event(f->s, &hijack, &o), CAPP_EINVAL);
    struct store_waiter w;
    store_waiter_init(&w);
    assert_int_equal(store_apply_event_async(f->s, &hijack, store_waiter_done, &w), CAPP_EINVAL);
    store_waiter_destroy(&w);
    /* an ID that is only a prefix of the key's, and a key whose prefix is another kind */
    struct store_event shorter = uninstall_event("uninstall:instapp_victim", "instapp_vic", NULL);
    assert_int_equal(store_apply_event(f->s, &shorter, &o), CAPP_EINVAL);
    struct store_event other_kind =
        uninstall_event("install:instapp_victim", "instapp_victim", NULL);
    assert_int_equal(store_apply_event(f->s, &other_kind, &o), CAPP_EINVAL);
    struct store_event bare = uninstall_event("uninstall:", "instapp_victim", NULL);
    assert_int_equal(store_apply_event(f->s, &bare, &o), CAPP_EINVAL);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM lifecycle_events"), 1);

    /* Nothing was recorded: the victim's real uninstall takes effect. */
    struct store_event real = uninstall_event("uninstall:instapp_victim", "instapp_victim", NULL);
    expect_apply(f->s, &real, STORE_OUTCOME_APPLIED);
    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_victim", &in), 0);
    assert_int_equal(in.active, 0);
    store_install_clear(&in);

    /* A suffix after a non-ID character names the same install (a reinstall's new key). */
    struct store_event colon = install_event("install:instapp_victim:2", "instapp_victim", "v1.2");
    struct store_event hash = install_event("install:instapp_victim#3", "instapp_victim", "v1.2");
    assert_true(store_event_key_matches(&colon));
    assert_true(store_event_key_matches(&hash));
    struct store_event longer = install_event("install:instapp_victim2", "instapp_victim", "v1");
    assert_false(store_event_key_matches(&longer));
}

static void test_recorded_key_of_other_install_or_kind_conflicts(void **state)
{
    struct fixture *f = *state;
    struct store_event a = install_event("install:instapp_v", "instapp_v", "v1.v");
    expect_apply(f->s, &a, STORE_OUTCOME_APPLIED);
    /* Records no event can write any more (another writer, an old version): the key's
     * install or kind disagrees with the record. */
    exec_sql(f, "INSERT INTO lifecycle_events VALUES('uninstall:instapp_v', 'uninstall',"
                " 'instapp_other', 'applied', 0);"
                "INSERT INTO lifecycle_events VALUES('install:instapp_v#k', 'uninstall',"
                " 'instapp_v', 'applied', 0);");
    struct store_event un = uninstall_event("uninstall:instapp_v", "instapp_v", NULL);
    expect_apply(f->s, &un, STORE_OUTCOME_IDEMPOTENCY_CONFLICT);
    struct store_event re = install_event("install:instapp_v#k", "instapp_v", "v1.v");
    expect_apply(f->s, &re, STORE_OUTCOME_IDEMPOTENCY_CONFLICT);
    /* nothing changed, nothing recorded */
    expect_active_with_key(f, "instapp_v", "v1.v");
    assert_int_equal(count_rows(f, "SELECT count(*) FROM lifecycle_events WHERE"
                                   " idempotency_key='uninstall:instapp_v'"
                                   " AND installed_app_id='instapp_other'"),
                     1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM lifecycle_events"), 3);
}

static void test_upgrade_drops_hijacked_records(void **state)
{
    struct fixture *f = *state;
    if (on_pg)
        skip(); /* the PostgreSQL schema starts at the current version: no history to upgrade */
    struct store_event v = install_event("install:instapp_victim", "instapp_victim", "v1.v");
    expect_apply(f->s, &v, STORE_OUTCOME_APPLIED);
    store_close(f->s);
    f->s = NULL;
    /* The database as the previous version left it after the hijack of issue 9. */
    exec_sql(f, "ALTER TABLE installs DROP COLUMN api_key_sha256;"
                "ALTER TABLE installs DROP COLUMN uninstall_pending_since;"
                "DELETE FROM schema_migrations WHERE component='capp' AND version=2;"
                "INSERT INTO lifecycle_events VALUES('uninstall:instapp_victim', 'uninstall',"
                " 'instapp_attacker', 'unknown_install', 0);"
                "INSERT INTO lifecycle_events VALUES('uninstall:instapp_b#1', 'uninstall',"
                " 'instapp_b', 'applied', 0);");
    assert_int_equal(store_sqlite_open(f->path, &f->s), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM lifecycle_events"), 2);
    struct store_event real = uninstall_event("uninstall:instapp_victim", "instapp_victim", NULL);
    expect_apply(f->s, &real, STORE_OUTCOME_APPLIED);
    /* a legacy row (no key fingerprint): its replay is a duplicate and any other key a
     * conflict, so neither can change it */
    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_victim", &in), 0);
    assert_int_equal(in.active, 0);
    store_install_clear(&in);
}

/* The app pin (spec D1'): the first applied install with pin_app_id pins its app; events of
 * another app are then refused and change nothing; the pin survives a reopen; an uninstall
 * never pins; store_app_pin_set replaces it. */
static void test_app_pin(void **state)
{
    struct fixture *f = *state;
    char pinned[STORE_ID_CAP];
    assert_int_equal(store_app_pin_get(f->s, pinned), CAPP_ENOTFOUND);
    struct store_event un = uninstall_event("uninstall:instapp_none", "instapp_none", NULL);
    un.app_id = "app_2";
    un.pin_app_id = 1;
    expect_apply(f->s, &un, STORE_OUTCOME_UNKNOWN_INSTALL);
    assert_int_equal(store_app_pin_get(f->s, pinned), CAPP_ENOTFOUND);

    struct store_event a = install_event("install:instapp_a", "instapp_a", "a.sealed");
    a.pin_app_id = 1;
    expect_apply(f->s, &a, STORE_OUTCOME_APPLIED);
    assert_int_equal(store_app_pin_get(f->s, pinned), 0);
    assert_string_equal(pinned, "app_1");
    expect_apply(f->s, &a, STORE_OUTCOME_DUPLICATE);

    struct store_event b = install_event("install:instapp_b", "instapp_b", "b.sealed");
    b.app_id = "app_2";
    b.pin_app_id = 1;
    expect_apply(f->s, &b, STORE_OUTCOME_WRONG_APP);
    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_b", &in), CAPP_ENOTFOUND);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM lifecycle_events"
                                   " WHERE idempotency_key='install:instapp_b'"),
                     0);
    struct store_event un_a = uninstall_event("uninstall:instapp_a", "instapp_a", NULL);
    un_a.app_id = "app_2";
    un_a.pin_app_id = 1;
    expect_apply(f->s, &un_a, STORE_OUTCOME_WRONG_APP);
    assert_int_equal(store_install_get(f->s, "instapp_a", &in), 0);
    assert_int_equal(in.active, 1);
    store_install_clear(&in);
    /* without pin_app_id the store does not look at the pin */
    b.pin_app_id = 0;
    expect_apply(f->s, &b, STORE_OUTCOME_APPLIED);

    reopen(f);
    assert_int_equal(store_app_pin_get(f->s, pinned), 0);
    assert_string_equal(pinned, "app_1");
    assert_int_equal(store_app_pin_set(f->s, "app 3"), CAPP_EINVAL);
    assert_int_equal(store_app_pin_set(f->s, NULL), CAPP_EINVAL);
    assert_int_equal(store_app_pin_set(f->s, "app_3"), 0);
    assert_int_equal(store_app_pin_get(f->s, pinned), 0);
    assert_string_equal(pinned, "app_3");
    struct store_event c = install_event("install:instapp_c", "instapp_c", "c.sealed");
    c.pin_app_id = 1;
    expect_apply(f->s, &c, STORE_OUTCOME_WRONG_APP);
    c.app_id = "app_3";
    expect_apply(f->s, &c, STORE_OUTCOME_APPLIED);
}

/* A database from before the pin served the one --app-id its installs carry: the upgrade
 * pins that app, so a restart without --app-id does not open the server to any app. */
static void test_upgrade_pins_app_of_existing_installs(void **state)
{
    struct fixture *f = *state;
    if (on_pg)
        skip(); /* the PostgreSQL schema starts at the current version: no history to upgrade */
    struct store_event a = install_event("install:instapp_old", "instapp_old", "old.sealed");
    a.app_id = "app_old";
    expect_apply(f->s, &a, STORE_OUTCOME_APPLIED);
    store_close(f->s);
    f->s = NULL;
    exec_sql(f, "DROP TABLE capp_app_pin;"
                "DELETE FROM schema_migrations WHERE component='capp' AND version=3;");
    assert_int_equal(store_sqlite_open(f->path, &f->s), 0);
    char pinned[STORE_ID_CAP];
    assert_int_equal(store_app_pin_get(f->s, pinned), 0);
    assert_string_equal(pinned, "app_old");
    /* and an empty database pins nothing */
    store_close(f->s);
    f->s = NULL;
    exec_sql(f, "DROP TABLE capp_app_pin; DELETE FROM installs;"
                "DELETE FROM schema_migrations WHERE component='capp' AND version=3;");
    assert_int_equal(store_sqlite_open(f->path, &f->s), 0);
    assert_int_equal(store_app_pin_get(f->s, pinned), CAPP_ENOTFOUND);
}

static void test_install_for_live_install_must_match(void **state)
{
    struct fixture *f = *state;
    store_set_install_hook(f->s, install_hook, f);
    install_hook_calls = 0;
    struct store_event a = install_event("install:instapp_a", "instapp_a", "v1.a");
    expect_apply(f->s, &a, STORE_OUTCOME_APPLIED);
    assert_int_equal(install_hook_calls, 1);
    struct store_install before;
    assert_int_equal(store_install_get(f->s, "instapp_a", &before), 0);

    struct store_event other_key = install_event("install:instapp_a#2", "instapp_a", "v1.evil");
    struct store_event other_instance = install_event("install:instapp_a#3", "instapp_a", "v1.a");
    other_instance.instance_id = "inst_evil";
    struct store_event other_org = install_event("install:instapp_a#4", "instapp_a", "v1.a");
    other_org.organization_id = "org_evil";
    struct store_event other_app = install_event("install:instapp_a#5", "instapp_a", "v1.a");
    other_app.app_id = "app_evil";
    struct store_event no_fingerprint = install_event("install:instapp_a#6", "instapp_a", "v1.a");
    no_fingerprint.api_key_fingerprint = NULL;
    const struct store_event *forged[] = {&other_key, &other_instance, &other_org, &other_app,
                                          &no_fingerprint};
    for (size_t i = 0; i < COUNTOF(forged); i++)
        expect_apply(f->s, forged[i], STORE_OUTCOME_INSTALL_CONFLICT);
    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_a", &in), 0);
    assert_string_equal(in.sealed_api_key, "v1.a");
    assert_string_equal(in.instance_id, "inst_1");
    assert_string_equal(in.organization_id, "org_1");
    assert_true(in.updated_at_ms == before.updated_at_ms);
    store_install_clear(&in);
    store_install_clear(&before);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM lifecycle_events"), 1);
    assert_int_equal(install_hook_calls, 1);

    /* an identical replay is a duplicate; V2 (no organization) is the same install */
    expect_apply(f->s, &a, STORE_OUTCOME_DUPLICATE);
    struct store_event v2 = install_event("install:instapp_a#7", "instapp_a", "v1.a");
    v2.organization_id = NULL;
    expect_apply(f->s, &v2, STORE_OUTCOME_APPLIED);
    expect_active_with_key(f, "instapp_a", "v1.a");
    store_set_install_hook(f->s, NULL, NULL);
}

static int collect_pending(void *ctx, const struct store_install *in)
{
    char *out = ctx;
    assert_non_null(in->sealed_api_key); /* the prober needs it */
    strcat(out, in->installed_app_id);
    strcat(out, ",");
    return 0;
}

static void test_uninstall_waits_for_confirmation(void **state)
{
    struct fixture *f = *state;
    store_set_install_hook(f->s, install_hook, f);
    store_set_uninstall_hook(f->s, hook, f);
    install_hook_calls = 0;
    struct store_event a = install_event("install:instapp_a", "instapp_a", "v1.a");
    struct store_event b = install_event("install:instapp_b", "instapp_b", "v1.b");
    expect_apply(f->s, &a, STORE_OUTCOME_APPLIED);
    expect_apply(f->s, &b, STORE_OUTCOME_APPLIED);
    struct store_session sa = session("a1", "instapp_a", clock_now_ms() + 600000);
    assert_int_equal(store_session_create(f->s, &sa), 0);

    struct store_event un = uninstall_event("uninstall:instapp_a", "instapp_a", NULL);
    int64_t before = clock_now_ms();
    expect_apply(f->s, &un, STORE_OUTCOME_APPLIED);
    assert_int_equal(hook_calls(f), 1); /* jobs stop at once */
    assert_false(session_exists(f->s, sa.token_hash));
    struct store_install in;
    assert_int_equal(store_install_get(f->s, "instapp_a", &in), 0);
    assert_int_equal(in.active, 0);
    assert_string_equal(in.sealed_api_key, "v1.a");
    int64_t since = in.uninstall_pending_since_ms;
    assert_true(since >= before && since <= clock_now_ms());
    store_install_clear(&in);
    /* pending: a replay is a duplicate, an install with another key a conflict */
    expect_apply(f->s, &un, STORE_OUTCOME_DUPLICATE);
    struct store_event evil = install_event("install:instapp_a#evil", "instapp_a", "v1.evil");
    expect_apply(f->s, &evil, STORE_OUTCOME_INSTALL_CONFLICT);

    /* survives a restart and is listed with its key */
    reopen(f);
    store_set_install_hook(f->s, install_hook, f);
    store_set_uninstall_hook(f->s, hook, f);
    char listed[256] = "";
    assert_int_equal(store_uninstall_each_pending(f->s, collect_pending, listed), 0);
    assert_string_equal(listed, "instapp_a,");

    /* refuted (forged): active again with its key, the install hook resumes its work */
    assert_int_equal(store_uninstall_resolve(f->s, "instapp_a", since + 1, STORE_UNINSTALL_REFUTED),
                     CAPP_ENOTFOUND); /* another uninstall than the one probed: untouched */
    assert_int_equal(store_uninstall_resolve(f->s, "instapp_a", since, STORE_UNINSTALL_REFUTED), 0);
    assert_int_equal(install_hook_calls, 3);
    assert_string_equal(f->hook_id, "instapp_a");
    expect_active_with_key(f, "instapp_a", "v1.a");
    assert_int_equal(store_install_get(f->s, "instapp_a", &in), 0);
    assert_string_equal(in.uninstalled_at, "");
    store_install_clear(&in);
    assert_int_equal(store_uninstall_resolve(f->s, "instapp_a", since, STORE_UNINSTALL_CONFIRMED),
                     CAPP_ENOTFOUND);
    expect_active_with_key(f, "instapp_a", "v1.a");
    listed[0] = '\0';
    assert_int_equal(store_uninstall_each_pending(f->s, collect_pending, listed), 0);
    assert_string_equal(listed, "");

    /* Cloud's real uninstall, same key as the forged one, takes effect; confirmed, the key goes */
    expect_apply(f->s, &un, STORE_OUTCOME_APPLIED);
    confirm_uninstall(f, "instapp_a");
    assert_int_equal(store_install_get(f->s, "instapp_a", &in), 0);
    assert_int_equal(in.active, 0);
    assert_null(in.sealed_api_key);
    store_install_clear(&in);
    expect_apply(f->s, &un, STORE_OUTCOME_DUPLICATE);
    expect_active_with_key(f, "instapp_b", "v1.b");

    /* a reinstall of the same installed_app_id (D5) and its next uninstall both take effect */
    struct store_event re = install_event("install:instapp_a:2", "instapp_a", "v1.a2");
    expect_apply(f->s, &re, STORE_OUTCOME_APPLIED);
    expect_active_with_key(f, "instapp_a", "v1.a2");
    expect_apply(f->s, &un, STORE_OUTCOME_APPLIED);
    confirm_uninstall(f, "instapp_a");
    assert_int_equal(store_install_get(f->s, "instapp_a", &in), 0);
    assert_int_equal(in.active, 0);
    assert_null(in.sealed_api_key);
    store_install_clear(&in);
    store_set_install_hook(f->s, NULL, NULL);
    store_set_uninstall_hook(f->s, NULL, NULL);
}

/* ---- the portal generator's step: read the install, store the token (store_launch_mint) ---- */

struct minted {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int done, rc, minted, has_install;
    struct store_install in;
};

static void minted_done(void *ctx, int rc, const struct store_install *in, int minted)
{
    struct minted *m = ctx;
    pthread_mutex_lock(&m->mu);
    m->rc = rc;
    m->minted = minted;
    m->has_install = in != NULL;
    if (in)
        m->in = *in;
    m->done = 1;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->mu);
}

static void minted_init(struct minted *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cond, NULL);
}

static void minted_wait(struct minted *m)
{
    pthread_mutex_lock(&m->mu);
    while (!m->done)
        pthread_cond_wait(&m->cond, &m->mu);
    pthread_mutex_unlock(&m->mu);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->mu);
}

/* Mints l and checks the answer against the rule and the store: minted exactly when the install
 * read allows it, and then its token is stored once, with the install's organization when the
 * launch had none. Returns minted. */
static int mint_checked(struct store *s, const struct store_launch *l, const char *app_id,
                        int expect_rc)
{
    struct minted m;
    minted_init(&m);
    assert_int_equal(store_launch_mint(s, l, app_id, minted_done, &m), 0);
    minted_wait(&m);
    assert_int_equal(m.rc, expect_rc);
    assert_int_equal(m.has_install, expect_rc == 0);
    struct store_launch out;
    if (!m.has_install) {
        assert_int_equal(m.minted, 0);
        assert_int_equal(store_launch_take(s, l->token_hash, &out), CAPP_ENOTFOUND);
        return 0;
    }
    assert_string_equal(m.in.installed_app_id, l->installed_app_id);
    assert_null(m.in.sealed_api_key); /* never loaded for a launch */
    assert_int_equal(m.minted, store_launch_allowed(&m.in, l, app_id));
    if (!m.minted) {
        assert_int_equal(store_launch_take(s, l->token_hash, &out), CAPP_ENOTFOUND);
        return 0;
    }
    assert_int_equal(store_launch_take(s, l->token_hash, &out), 0);
    assert_string_equal(out.installed_app_id, l->installed_app_id);
    assert_string_equal(out.instance_id, l->instance_id);
    assert_string_equal(out.user_id, l->user_id);
    assert_string_equal(out.organization_id,
                        l->organization_id[0] ? l->organization_id : m.in.organization_id);
    assert_true(out.expires_at_ms == l->expires_at_ms);
    assert_int_equal(store_launch_take(s, l->token_hash, &out), CAPP_ENOTFOUND);
    return 1;
}

static void test_launch_mint_reads_and_guards(void **state)
{
    struct fixture *f = *state;
    struct store_event ev = install_event("install:instapp_m", "instapp_m", "v1.sealed.m");
    expect_apply(f->s, &ev, STORE_OUTCOME_APPLIED);
    ev = install_event("install:instapp_v2", "instapp_v2", "v1.sealed.v2");
    ev.organization_id = NULL;
    expect_apply(f->s, &ev, STORE_OUTCOME_APPLIED);
    int64_t later = clock_now_ms() + 60000;

    struct store_launch l = session("m1", "instapp_m", later);
    assert_int_equal(mint_checked(f->s, &l, "app_1", 0), 1);
    /* the install comes back whole but for its key */
    struct minted m;
    minted_init(&m);
    l = session("m1b", "instapp_m", later);
    assert_int_equal(store_launch_mint(f->s, &l, "app_1", minted_done, &m), 0);
    minted_wait(&m);
    assert_int_equal(m.minted, 1);
    assert_int_equal(m.in.active, 1);
    assert_string_equal(m.in.app_id, "app_1");
    assert_string_equal(m.in.organization_id, "org_1");
    assert_string_equal(m.in.instance_id, "inst_1");
    assert_string_equal(m.in.api_key_prefix, "blnk_abc");
    assert_int_equal(m.in.permission_count, 3);
    assert_string_equal(m.in.permissions[2], "proxy:identities:write");
    assert_true(m.in.created_at_ms > 0);

    l = session("m2", "instapp_m", later);
    l.organization_id[0] = '\0'; /* none asked: the install's */
    assert_int_equal(mint_checked(f->s, &l, "app_1", 0), 1);
    l = session("m3", "instapp_m", later);
    snprintf(l.instance_id, sizeof l.instance_id, "inst_2");
    assert_int_equal(mint_checked(f->s, &l, "app_1", 0), 0);
    l = session("m4", "instapp_m", later);
    assert_int_equal(mint_checked(f->s, &l, "app_2", 0), 0);
    l = session("m5", "instapp_m", later);
    assert_int_equal(mint_checked(f->s, &l, NULL, 0), 0); /* read only */
    l = session("m6", "instapp_m", later);
    snprintf(l.organization_id, sizeof l.organization_id, "org_2");
    assert_int_equal(mint_checked(f->s, &l, "app_1", 0), 0);
    l = session("m7", "instapp_nobody", later);
    assert_int_equal(mint_checked(f->s, &l, "app_1", CAPP_ENOTFOUND), 0);

    /* an install without an organization takes the launch's, or none */
    l = session("v1", "instapp_v2", later);
    snprintf(l.organization_id, sizeof l.organization_id, "org_9");
    assert_int_equal(mint_checked(f->s, &l, "app_1", 0), 1);
    l = session("v2", "instapp_v2", later);
    l.organization_id[0] = '\0';
    l.user_id[0] = '\0';
    assert_int_equal(mint_checked(f->s, &l, "app_1", 0), 1);

    /* uninstalled: read as inactive, nothing stored */
    struct store_event un = uninstall_event("uninstall:instapp_m", "instapp_m", NULL);
    expect_apply(f->s, &un, STORE_OUTCOME_APPLIED);
    l = session("m8", "instapp_m", later);
    assert_int_equal(mint_checked(f->s, &l, "app_1", 0), 0);
}

#define MINT_THREADS     6
#define MINTS_PER_THREAD 40

struct mint_worker {
    struct store *s;
    int t;
    int failures;
};

/* Each thread queues all its launches before waiting for any, so that a store that batches
 * launches gets batches mixing every outcome; each answer must be its own launch's. */
static void *mint_many(void *arg)
{
    struct mint_worker *w = arg;
    static const char *const ids[] = {"instapp_a", "instapp_b", "instapp_a", "instapp_nobody"};
    struct store_launch *l = calloc(MINTS_PER_THREAD, sizeof *l);
    struct minted *m = calloc(MINTS_PER_THREAD, sizeof *m);
    int64_t later = clock_now_ms() + 60000;
    for (int i = 0; i < MINTS_PER_THREAD; i++) {
        char seed[32];
        snprintf(seed, sizeof seed, "c%d.%d", w->t, i);
        l[i] = session(seed, ids[i % 4], later);
        if (i % 4 == 2)
            snprintf(l[i].instance_id, sizeof l[i].instance_id, "inst_other");
        if (i % 4 == 1)
            l[i].organization_id[0] = '\0';
        minted_init(&m[i]);
        if (store_launch_mint(w->s, &l[i], "app_1", minted_done, &m[i]) != 0)
            minted_done(&m[i], CAPP_EDB, NULL, 0);
    }
    for (int i = 0; i < MINTS_PER_THREAD; i++) {
        minted_wait(&m[i]);
        int want_minted = i % 4 < 2, want_rc = i % 4 == 3 ? CAPP_ENOTFOUND : 0;
        struct store_launch out;
        int ok =
            m[i].rc == want_rc && m[i].minted == want_minted &&
            m[i].has_install == (want_rc == 0) &&
            (!m[i].has_install || strcmp(m[i].in.installed_app_id, l[i].installed_app_id) == 0) &&
            store_launch_take(w->s, l[i].token_hash, &out) == (want_minted ? 0 : CAPP_ENOTFOUND);
        if (ok && want_minted)
            ok = strcmp(out.user_id, l[i].user_id) == 0 &&
                 strcmp(out.organization_id, i % 4 == 1 ? "org_b" : "org_1") == 0;
        if (!ok)
            w->failures++;
    }
    free(l);
    free(m);
    return NULL;
}

static void test_concurrent_launch_mints_each_answered(void **state)
{
    struct fixture *f = *state;
    struct store_event ev = install_event("install:instapp_a", "instapp_a", "v1.sealed.a");
    expect_apply(f->s, &ev, STORE_OUTCOME_APPLIED);
    ev = install_event("install:instapp_b", "instapp_b", "v1.sealed.b");
    ev.organization_id = "org_b";
    expect_apply(f->s, &ev, STORE_OUTCOME_APPLIED);
    pthread_t threads[MINT_THREADS];
    struct mint_worker workers[MINT_THREADS];
    for (int i = 0; i < MINT_THREADS; i++) {
        workers[i] = (struct mint_worker){f->s, i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, mint_many, &workers[i]), 0);
    }
    for (int i = 0; i < MINT_THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
}

int main(int argc, char **argv)
{
    on_pg = argc > 1 && strcmp(argv[1], "--pg") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_refuses_memory_and_bad_paths),
        cmocka_unit_test(test_has_permission),
        cmocka_unit_test_setup_teardown(test_install_applies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_install_v2_without_organization, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_key_has_no_second_effect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reinstall_reactivates_and_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uninstall_effects_scoped_to_install, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uninstall_without_timestamp_records_now, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_uninstall_unknown_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uninstall_hook_once_per_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_create_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_expired_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_key_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_event_leaves_no_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_drains_async_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_events_all_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_must_name_its_install, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recorded_key_of_other_install_or_kind_conflicts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_drops_hijacked_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_install_for_live_install_must_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_app_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_pins_app_of_existing_installs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_uninstall_waits_for_confirmation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_launch_mint_reads_and_guards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_launch_mints_each_answered, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
