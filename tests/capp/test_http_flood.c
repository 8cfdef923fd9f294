/*
 * test_http_flood.c — connection exhaustion (issue 9, defect 4): a capp app server keeps
 * answering Cloud while one address holds 2,000 slow sockets open, and a slow request head or
 * body is cut off at its deadline.
 *
 * The server runs in this process (capp_app, two worker threads, 1.5 s head and body
 * deadlines instead of the production 10 s and 26 s so the test stays short); every client is
 * a raw socket over loopback. The flood comes from 127.0.0.1: 2,000 sockets that each send a
 * request line and then one header line a second, reopened whenever the server closes them
 * (as a slowloris tool does). Cloud's calls come from 127.0.0.2 (on Linux all of 127/8 is
 * loopback), the deadline probes from 127.0.0.3 and .4. Every phase is bounded in time.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "capp/app.h"
#include "capp/seal.h"
#include "serve_fixture.h"

#define FLOOD_SOCKETS 2000
#define DEADLINE_MS   1500
/* ms: Cloud's calls must still be answered this fast. Without the per-address cap nothing
 * answers within 5 s. Kept below DEADLINE_MS (so freed flood sockets cannot be what lets an
 * answer through), with room for a loaded 2-core machine under ASan: 1,031-1,043 ms seen there
 * while other builds ran. */
#define ANSWER_WITHIN  1400
#define PROBE_PHASE_MS 3000

static struct capp_app *app;
static struct seal_keyring *keyring;
static unsigned short port;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A TCP socket from source address src to the server; non-blocking connect when nonblock. */
static int dial(const char *src, int nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &from.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    to.sin_port = htons(port);
    /* the port is picked at connect, by the whole address pair: the flood reopens thousands */
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
        (connect(fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request from src with Connection: close; the whole answer into out. Gives up after
 * 5 s; returns the HTTP status (0: no answer) and the elapsed milliseconds in *ms. */
static int exchange(const char *src, const char *method, const char *path, const char *body,
                    char *out, size_t cap, long *ms)
{
    long start = now_ms(), give_up = start + 5000;
    out[0] = '\0';
    int fd = dial(src, 1);
    if (fd < 0)
        return 0;
    char request[2048];
    int n = snprintf(request, sizeof request,
                     "%s %s HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, body ? strlen(body) : 0, body ? body : "");
    size_t sent = 0, got = 0;
    while (now_ms() < give_up) {
        struct pollfd p = {.fd = fd, .events = sent < (size_t)n ? POLLOUT : POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        if (sent < (size_t)n) {
            ssize_t w = send(fd, request + sent, (size_t)n - sent, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN)
                break;
            sent += w > 0 ? (size_t)w : 0;
            continue;
        }
        ssize_t r = recv(fd, out + got, cap - 1 - got, 0);
        if (r <= 0 || got + (size_t)r >= cap - 1) {
            got += r > 0 ? (size_t)r : 0;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    out[got] = '\0';
    *ms = now_ms() - start;
    int status = 0;
    if (sscanf(out, "HTTP/1.1 %d", &status) != 1)
        status = 0;
    return status;
}

/* ---- the flood ---- */

struct flood {
    int fds[FLOOD_SOCKETS];
    int started[FLOOD_SOCKETS]; /* request line sent */
    atomic_int stop;
    atomic_int rounds;
    atomic_long opened, closed_by_server;
};

static int closed_by_peer(int fd)
{
    char c[64];
    ssize_t r = recv(fd, c, sizeof c, MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN);
}

static void *flood_main(void *arg)
{
    struct flood *f = arg;
    while (!atomic_load(&f->stop)) {
        for (int i = 0; i < FLOOD_SOCKETS; i++) {
            if (f->fds[i] >= 0 && closed_by_peer(f->fds[i])) {
                close(f->fds[i]);
                f->fds[i] = -1;
                atomic_fetch_add(&f->closed_by_server, 1);
            }
            if (f->fds[i] < 0) {
                f->fds[i] = dial("127.0.0.1", 1);
                f->started[i] = 0;
                if (f->fds[i] >= 0)
                    atomic_fetch_add(&f->opened, 1);
                continue;
            }
            const char *line =
                f->started[i] ? "X-Slow: 1\r\n" : "GET /healthz HTTP/1.1\r\nHost: flood\r\n";
            ssize_t w = send(f->fds[i], line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                f->started[i] = 1;
        }
        atomic_fetch_add(&f->rounds, 1);
        for (int t = 0; t < 20 && !atomic_load(&f->stop); t++)
            ts_sleep_ms(50); /* one line per socket per second */
    }
    return NULL;
}

/* ---- deadline probes ---- */

/* Sends head (then one byte of drip every 200 ms) from src; returns the milliseconds until
 * the server closed the connection, or -1 if it was still open after limit_ms. */
static long time_to_close(const char *src, const char *head, const char *drip, long limit_ms)
{
    int fd = dial(src, 0);
    assert_true(fd >= 0);
    long start = now_ms();
    assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    long closed = -1;
    while (now_ms() - start < limit_ms && closed < 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) > 0) {
            char c[512];
            ssize_t r = recv(fd, c, sizeof c, 0);
            if (r <= 0)
                closed = now_ms() - start;
            else
                fail_msg("the server answered a request it has not fully received: %.*s", (int)r,
                         c);
            break;
        }
        if (send(fd, drip, strlen(drip), MSG_NOSIGNAL) < 0)
            closed = now_ms() - start;
    }
    close(fd);
    return closed;
}

/* ---- fixture ---- */

static int setup(void **state)
{
    /* the flood's sockets and the server's side of them live in this process */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 3 * FLOOD_SOCKETS) {
        rl.rlim_cur = rl.rlim_max < 3 * FLOOD_SOCKETS ? rl.rlim_max : 3 * FLOOD_SOCKETS;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    static char dir[256], db[320];
    ts_tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/app.db", dir);
    assert_int_equal(seal_keyring_new(&keyring), 0);
    assert_int_equal(seal_keyring_add_hex(keyring, TEST_MASTER_KEY), 0);
    struct capp_config config = {.listen = "127.0.0.1:0",
                                 .db_path = db,
                                 .app_id = TEST_APP_ID,
                                 .session_ttl_seconds = 900,
                                 .launch_ttl_seconds = 60,
                                 .threads = 2,
                                 .quiet = 1,
                                 .head_timeout_ms = DEADLINE_MS,
                                 .body_timeout_ms = DEADLINE_MS};
    assert_int_equal(capp_app_new(&config, keyring, &app), 0);
    assert_int_equal(capp_app_start(app), 0);
    port = http_server_port(app->http);
    return 0;
}

static int teardown(void **state)
{
    capp_app_free(app);
    seal_keyring_free(keyring);
    return 0;
}

static void expect_answer(const char *what, const char *method, const char *path, const char *body,
                          const char *needle)
{
    char out[8192];
    long ms = 0;
    int status = exchange("127.0.0.2", method, path, body, out, sizeof out, &ms);
    if (status != 200 || ms >= ANSWER_WITHIN)
        fail_msg("%s during the flood: status %d after %ld ms (wanted 200 within %d ms)", what,
                 status, ms, ANSWER_WITHIN);
    if (!strstr(out, needle))
        fail_msg("%s during the flood: no %s in %.300s", what, needle, out);
}

static void test_flood_from_one_address(void **state)
{
    static struct flood f;
    memset(&f, 0, sizeof f);
    for (int i = 0; i < FLOOD_SOCKETS; i++)
        f.fds[i] = -1;
    pthread_t flooder;
    assert_int_equal(pthread_create(&flooder, NULL, flood_main, &f), 0);
    for (long until = now_ms() + 5000; atomic_load(&f.rounds) < 2 && now_ms() < until;)
        ts_sleep_ms(20);
    assert_true(atomic_load(&f.rounds) >= 2);
    assert_true(atomic_load(&f.opened) >= FLOOD_SOCKETS);

    /* Cloud's calls: health, the install callback, the portal generator */
    char install[1024], launch[1024];
    install_body(install, sizeof install, "instapp_flood", "", "blnk_FLOODFLOODFLOODFLOOD",
                 "[\"data:read\"]");
    snprintf(launch, sizeof launch,
             "{\"installed_app_id\":\"instapp_flood\",\"app_id\":\"" TEST_APP_ID
             "\",\"organization_id\":\"" TEST_ORG "\",\"instance_id\":\"" TEST_INSTANCE
             "\",\"user_id\":\"" TEST_USER "\"}");
    int probes = 0;
    for (long until = now_ms() + PROBE_PHASE_MS; now_ms() < until; probes++) {
        expect_answer("GET /healthz", "GET", "/healthz", NULL, "\"status\":\"ok\"");
        expect_answer("the install callback", "POST", "/api/callback", install, "\"outcome\"");
        expect_answer("the portal generator", "POST", "/api/portal", launch, "portal_url");
        ts_sleep_ms(150);
    }
    assert_true(probes >= 3);

    /* a steady trickle does not keep a connection: the head deadline closes it, not before */
    long head = time_to_close("127.0.0.3", "GET /healthz HTTP/1.1\r\nHost: app.test\r\n",
                              "X-Slow: 1\r\n", 3 * DEADLINE_MS);
    if (head < 0)
        fail_msg("a request head trickled for %d ms was not cut off", 3 * DEADLINE_MS);
    if (head < DEADLINE_MS - 200 || head > DEADLINE_MS + 1000)
        fail_msg("slow head closed after %ld ms, deadline %d ms", head, DEADLINE_MS);
    /* the same for a body, one byte at a time */
    long body = time_to_close("127.0.0.4",
                              "POST /api/callback HTTP/1.1\r\nHost: app.test\r\n"
                              "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{",
                              " ", 3 * DEADLINE_MS);
    if (body < 0)
        fail_msg("a request body trickled for %d ms was not cut off", 3 * DEADLINE_MS);
    if (body < DEADLINE_MS - 200 || body > DEADLINE_MS + 1000)
        fail_msg("slow body closed after %ld ms, deadline %d ms", body, DEADLINE_MS);

    /* the flood was refused and cut off all along, not merely queued */
    long closed = atomic_load(&f.closed_by_server);
    atomic_store(&f.stop, 1);
    pthread_join(flooder, NULL);
    for (int i = 0; i < FLOOD_SOCKETS; i++)
        if (f.fds[i] >= 0)
            close(f.fds[i]);
    print_message("flood: %ld sockets opened, %ld closed by the server; %d probe rounds; slow "
                  "head closed after %ld ms, slow body after %ld ms\n",
                  atomic_load(&f.opened), closed, probes, head, body);
    if (closed < FLOOD_SOCKETS)
        fail_msg("the server closed only %ld flood sockets", closed);

    /* and once it stops, its address is served again */
    char out[4096];
    long ms = 0, until = now_ms() + 3000;
    int status = 0;
    while (status != 200 && now_ms() < until) {
        status = exchange("127.0.0.1", "GET", "/healthz", NULL, out, sizeof out, &ms);
        if (status != 200)
            ts_sleep_ms(100);
    }
    assert_int_equal(status, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flood_from_one_address, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
