/*
 * cs_testkit.h — helpers for cloudsim tests: a fake Custom App served in-process (capp's
 * http_server on an ephemeral port) that records every lifecycle and portal request and answers
 * as the test says, plus helpers that start the real build/cloudsim binary and drive its admin
 * API. Linked into every test in tests/cloudsim/ (data-half tests may use it to get a key).
 */
#ifndef CS_TESTKIT_H
#define CS_TESTKIT_H

#include <pthread.h>
#include <stddef.h>

#include "testsupport.h"

#define FAKE_MAX_RECORDS 64

struct fake_record {
    char path[64];
    char body[8192];
    char content_type[128];
    long long at_ms;
    long probe_status; /* gateway status seen while handling (uninstall probe), 0 = none */
};

struct fake_app {
    struct http_server *srv;
    char url[128]; /* http://127.0.0.1:PORT */
    pthread_mutex_t lock;
    struct fake_record records[FAKE_MAX_RECORDS];
    int count;
    /* callback behaviour */
    int callback_status;     /* default 200 */
    int callback_fail_first; /* answer 500 to this many callbacks first */
    long callback_delay_ms;
    int probe_on_uninstall; /* call cloudsim's gateway with the key while handling uninstall */
    char cloudsim_url[256];
    char api_key[128]; /* from the last install event */
    char instance_id[128];
    /* portal generator behaviour */
    int portal_status;      /* default 200 */
    char portal_body[4096]; /* raw body; "" = {"portal_url":"<url>/portal?token=t<n>"} */
    char portal_content_type[64];
    long portal_delay_ms;
    /* portal page behaviour */
    char page_csp[512]; /* "" = no CSP header */
};

void fake_app_start(struct fake_app *app);
void fake_app_stop(struct fake_app *app);
int fake_app_count(struct fake_app *app, const char *path);
/* Copy of the n-th record (0-based) with this path; fails the test if absent. */
void fake_app_record(struct fake_app *app, const char *path, int n, struct fake_record *out);
long long now_ms(void);

/*
 * Platform modes. cloudsim defaults to V2 (the live platform, spec §1) and keeps V1 behind
 * --mode v1; every lifecycle and launch test runs in both, as one test function registered
 * twice (CS_BOTH_MODES) that reads its mode from cmocka's initial state and asserts what that
 * mode must do.
 */
struct cs_mode {
    const char *name; /* "v1" or "v2", as --mode takes it */
    int v2;
};
extern const struct cs_mode cs_mode_v1, cs_mode_v2;
/* The mode a CS_BOTH_MODES test runs in. */
const struct cs_mode *cs_mode_of(void **state);
#define CS_TEST_IN_MODE(fn, mode)                                  \
    {                                                              \
#fn "(" #mode ")", fn, NULL, NULL, (void *)&cs_mode_##mode \
    }
#define CS_BOTH_MODES(fn) CS_TEST_IN_MODE(fn, v1), CS_TEST_IN_MODE(fn, v2)

/* Starts build/cloudsim serve with extra args (NULL-terminated), in its default mode (V2). */
void cloudsim_start(struct ts_proc *p, const char *const *extra_args);
/* The same with --mode mode->name first. */
void cloudsim_start_mode(struct ts_proc *p, const struct cs_mode *mode,
                         const char *const *extra_args);
void cloudsim_stop(struct ts_proc *p);
/* POST JSON to cloudsim's admin API; the response is the caller's. */
void admin_post(const struct ts_proc *p, const char *path, const char *json, struct ts_response *r);
/* Registers an app whose URLs point at the fake app; writes app_id. */
void register_fake_app(const struct ts_proc *p, const struct fake_app *app,
                       const char *permissions_json, char *app_id, size_t cap);
/* Installs app_id with permissions_json (e.g. ["data:read"]); returns the HTTP status and
 * writes installed_app_id ("" on failure). */
long install_app(const struct ts_proc *p, const char *app_id, const char *permissions_json,
                 const char *faults_json, char *installed_app_id, size_t cap);
/* GET a gateway path with Bearer key; returns the status. */
long gateway_get(const struct ts_proc *p, const char *key, const char *path_and_query);
/* 1 when the JSON object has exactly these keys (NULL-terminated). */
int json_has_exactly(const char *json_text, const char *const *keys);

#endif
