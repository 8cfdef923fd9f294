/*
 * End to end with the real binaries: cloudsim (V1) and `kyc serve` on loopback.
 * install → launch → portal page → uninstall, and an install whose callback times out (kyc
 * frozen with SIGSTOP): the install fails and the key is revoked.
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cs_testkit.h"

static unsigned short free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

struct e2e {
    struct ts_proc cs, kyc;
    char app_id[128];
    char kyc_url[128];
};

static void start_both(struct e2e *e, const char *const *cs_args)
{
    cloudsim_start(&e->cs, cs_args);
    unsigned short port = free_port();
    snprintf(e->kyc_url, sizeof e->kyc_url, "http://127.0.0.1:%u", port);
    char manifest[1024];
    snprintf(manifest, sizeof manifest,
             "{\"display_name\":\"KYC review\",\"callback_url\":\"%s/api/callback\","
             "\"portal_generator_url\":\"%s/api/portal\",\"permissions\":[\"data:read\","
             "\"data:write\",\"alerts:read\",\"alerts:write\"]}",
             e->kyc_url, e->kyc_url);
    struct ts_response r;
    admin_post(&e->cs, "/admin/apps", manifest, &r);
    TS_ASSERT_STATUS(r, 201);
    ts_json_string(&r, "app_id", e->app_id, sizeof e->app_id);
    ts_response_free(&r);
    char bin[512], dir[512], db[600], log[600], listen[64];
    ts_binary("kyc", bin, sizeof bin);
    ts_tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/kyc.db", dir);
    snprintf(log, sizeof log, "%s/kyc.log", dir);
    snprintf(listen, sizeof listen, "127.0.0.1:%u", port);
    /* The app's Cloud is cloudsim: nothing in a test may reach the real Blnk Cloud. */
    const char *argv[] = {bin,
                          "serve",
                          "--listen",
                          listen,
                          "--db",
                          db,
                          "--public-url",
                          e->kyc_url,
                          "--app-id",
                          e->app_id,
                          "--frame-ancestors",
                          e->cs.url,
                          "--cloud-url",
                          e->cs.url,
                          NULL};
    const char *env[] = {"KYC_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabb"
                         "ccddeeff",
                         NULL};
    if (ts_proc_start(&e->kyc, argv, env, log, NULL) != 0) {
        char *text = ts_read_file(log, NULL);
        fail_msg("kyc serve did not start:\n%s", text ? text : "");
    }
}

static void stop_both(struct e2e *e)
{
    ts_proc_stop(&e->kyc, SIGTERM);
    cloudsim_stop(&e->cs);
}

static void test_install_launch_portal_uninstall(void **state)
{
    struct e2e e;
    start_both(&e, NULL);
    char id[128], body[256], portal[1024];
    assert_int_equal(
        install_app(&e.cs, e.app_id, "[\"data:read\",\"alerts:write\"]", NULL, id, sizeof id), 201);
    snprintf(body, sizeof body, "{\"installed_app_id\":\"%s\"}", id);
    struct ts_response r;
    admin_post(&e.cs, "/admin/launches", body, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_int_equal(ts_json_string(&r, "portal_url", portal, sizeof portal), 0);
    ts_response_free(&r);
    ts_http("GET", portal, NULL, NULL, &r);
    assert_true(r.status == 200 || r.status == 302 || r.status == 303);
    char csp[512];
    assert_int_equal(ts_header(&r, "Content-Security-Policy", csp, sizeof csp), 0);
    assert_non_null(strstr(csp, e.cs.url));
    ts_response_free(&r);
    admin_post(&e.cs, "/admin/uninstalls", body, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_non_null(strstr(r.body, "\"delivered\":true"));
    ts_response_free(&r);
    /* a launch after uninstall is refused by cloudsim before it reaches the app */
    admin_post(&e.cs, "/admin/launches", body, &r);
    TS_ASSERT_STATUS(r, 409);
    ts_response_free(&r);
    stop_both(&e);
}

static void test_callback_timeout_fails_install(void **state)
{
    static const char *const args[] = {"--callback-timeout-ms", "500", "--retry-delay-ms", "100",
                                       NULL};
    struct e2e e;
    start_both(&e, args);
    kill(e.kyc.pid, SIGSTOP);
    char id[128];
    assert_int_equal(install_app(&e.cs, e.app_id, "[\"data:read\"]", NULL, id, sizeof id), 502);
    kill(e.kyc.pid, SIGCONT);
    char url[512];
    snprintf(url, sizeof url, "%s/admin/installs/%s", e.cs.url, id);
    struct ts_response r;
    ts_http("GET", url, NULL, NULL, &r);
    assert_non_null(strstr(r.body, "\"status\":\"failed\""));
    assert_non_null(strstr(r.body, "\"live_keys\":0"));
    ts_response_free(&r);
    stop_both(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_launch_portal_uninstall),
        cmocka_unit_test(test_callback_timeout_fails_install),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
