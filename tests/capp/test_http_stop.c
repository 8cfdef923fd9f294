/*
 * test_http_stop.c — stopping the HTTP server under load, many times: the process survives,
 * every request gets an answer (200, or 503 while the server drains) or a refused connection,
 * and the port is closed afterwards. (http_server_stop no longer calls MHD_quiesce_daemon,
 * whose epoll race in libmicrohttpd 0.9.75 aborted a stop now and then — seen twice in one
 * ASan CI run; the race is timing-dependent, so this loop exercises the path rather than
 * reproducing it on demand.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "capp/http.h"
#include "testsupport.h"

static void hello(struct http_request *req, void *ctx)
{
    (void)ctx;
    http_respond_json(req, 200, json_pack("{s:b}", "ok", 1));
}

struct client {
    char url[96];
    atomic_int stop;
    atomic_long answered, refused, other;
};

static void *hammer(void *arg)
{
    struct client *c = arg;
    while (!atomic_load(&c->stop)) {
        struct ts_response r;
        if (ts_http("GET", c->url, NULL, NULL, &r) != 0 || r.status == 0)
            atomic_fetch_add(&c->refused, 1);
        else if (r.status == 200 || r.status == 503)
            atomic_fetch_add(&c->answered, 1);
        else
            atomic_fetch_add(&c->other, 1);
        ts_response_free(&r);
    }
    return NULL;
}

static void test_stop_under_load_many_times(void **state)
{
    (void)state;
    long answered = 0;
    for (int round = 0; round < 60; round++) {
        struct http_server *srv = NULL;
        struct http_server_config cfg = {.listen = "127.0.0.1:0", .threads = 4, .quiet = 1};
        assert_int_equal(http_server_new(&cfg, &srv), 0);
        assert_int_equal(http_server_route(srv, "GET", "/hello", hello, NULL), 0);
        assert_int_equal(http_server_start(srv), 0);
        struct client c = {0};
        snprintf(c.url, sizeof c.url, "http://127.0.0.1:%u/hello", http_server_port(srv));
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, hammer, &c);
        ts_sleep_ms(5);
        http_server_stop(srv);
        atomic_store(&c.stop, 1);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        assert_int_equal(atomic_load(&c.other), 0);
        answered += atomic_load(&c.answered);
        /* stopped: the port no longer answers */
        struct ts_response r;
        int rc = ts_http("GET", c.url, NULL, NULL, &r);
        assert_true(rc != 0 || r.status == 0);
        ts_response_free(&r);
        http_server_free(srv);
    }
    assert_true(answered > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_under_load_many_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
