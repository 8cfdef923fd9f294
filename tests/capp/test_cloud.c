/*
 * test_cloud.c — the Cloud API client against a fake Cloud: capp's own http_server on
 * 127.0.0.1:0 inside the test process, answering from a per-test script and recording every
 * request it sees. Sleep and jitter are injected so retries run in milliseconds; the tests that
 * measure a wait (Retry-After, total timeout) use small real values.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "testsupport.h"

#include "capp/assert.h"
#include "capp/cloud.h"
#include "capp/err.h"
#include "capp/http.h"
#include "capp/log.h"
#include "capp/seal.h"

#define MASTER_HEX       "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define API_KEY          "blnk_TESTKEY0123456789abcdefghijklmnopqrstuvwxyz"
#define KEY_PREFIX       "blnk_TES"
#define INSTALLED_APP_ID "instapp_0123456789abcdef0123456789abcdef"
/* Not a D6 ID on purpose: proves every query character is percent-encoded. */
#define INSTANCE_ID "inst_1 &x=y+z/%"

#define MAX_SCRIPT   8
#define MAX_RECORDED 64
#define MAX_STALLED  8

struct canned {
    unsigned status;
    const char *body;
    const char *retry_after;
    int stall;     /* defer and never answer (until teardown) */
    int echo_auth; /* put the Authorization header into the body */
    size_t big;    /* body of this many bytes */
};

struct recorded {
    char method[8];
    char path[256];
    char query[2048]; /* "k=v\n" per decoded argument */
    int query_count;
    char auth[700];
    char accept[64];
    char user_agent[128];
    char request_id[80];
    char content_type[64];
    int has_content_type;
    char body[2048];
    struct timespec at;
};

struct fake {
    struct http_server *srv;
    pthread_mutex_t mu;
    struct canned script[MAX_SCRIPT];
    int script_len;
    int served;
    int total; /* requests seen, recorded or not */
    struct recorded reqs[MAX_RECORDED];
    struct http_request *stalled[MAX_STALLED];
    int stalled_count;
};

struct hooks {
    long sleeps[16];
    int sleep_count;
    int real_sleep;
};

static struct fake fake;
static struct hooks hooks;
static struct seal_keyring *keyring;
static char *sealed_key;
static struct cloud_client *client;
static struct cloud_install inst;
static char base_url[64];
static char log_path[256];
static int log_fd = -1;

static const char *const all_scopes[] = {"data:read", "data:write", "alerts:read", "alerts:write"};

/* ---- fake Cloud ---- */

static int record_arg(void *ctx, const char *key, const char *value)
{
    struct recorded *r = ctx;
    size_t used = strlen(r->query);
    snprintf(r->query + used, sizeof r->query - used, "%s=%s\n", key, value ? value : "");
    r->query_count++;
    return 0;
}

static void copy_header(struct http_request *req, const char *name, char *out, size_t cap)
{
    const char *v = http_header(req, name);
    snprintf(out, cap, "%s", v ? v : "");
}

static void handle(struct http_request *req, void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&fake.mu);
    int index = fake.total++;
    if (index < MAX_RECORDED) {
        struct recorded *r = &fake.reqs[index];
        memset(r, 0, sizeof *r);
        clock_gettime(CLOCK_MONOTONIC, &r->at);
        snprintf(r->method, sizeof r->method, "%s", http_method(req));
        snprintf(r->path, sizeof r->path, "%s", http_path(req));
        http_query_each(req, record_arg, r);
        copy_header(req, "Authorization", r->auth, sizeof r->auth);
        copy_header(req, "Accept", r->accept, sizeof r->accept);
        copy_header(req, "User-Agent", r->user_agent, sizeof r->user_agent);
        copy_header(req, "X-Request-Id", r->request_id, sizeof r->request_id);
        r->has_content_type = http_header(req, "Content-Type") != NULL;
        copy_header(req, "Content-Type", r->content_type, sizeof r->content_type);
        size_t len;
        const char *body = http_body(req, &len);
        snprintf(r->body, sizeof r->body, "%.*s", (int)len, body);
    }
    struct canned c = {.status = 200, .body = "{}"};
    if (fake.script_len > 0) {
        int i = fake.served < fake.script_len ? fake.served : fake.script_len - 1;
        c = fake.script[i];
    }
    fake.served++;
    if (c.stall && fake.stalled_count < MAX_STALLED) {
        fake.stalled[fake.stalled_count++] = req;
        http_defer(req);
        pthread_mutex_unlock(&fake.mu);
        return;
    }
    pthread_mutex_unlock(&fake.mu);
    if (c.retry_after)
        http_add_header(req, "Retry-After", c.retry_after);
    if (c.big) {
        char *big = http_alloc(req, c.big);
        memset(big, 'x', c.big);
        memcpy(big, "{\"a\":\"", 6);
        memcpy(big + c.big - 2, "\"}", 2);
        http_respond(req, c.status, "application/json", big, c.big);
    } else if (c.echo_auth) {
        char body[1024];
        const char *auth = http_header(req, "Authorization");
        snprintf(body, sizeof body, "{\"error\":\"bad credential %s\"}", auth ? auth : "");
        http_respond(req, c.status, "application/json", body, strlen(body));
    } else {
        const char *body = c.body ? c.body : "";
        http_respond(req, c.status, "application/json", body, strlen(body));
    }
}

static void script(const struct canned *steps, int count)
{
    pthread_mutex_lock(&fake.mu);
    memcpy(fake.script, steps, (size_t)count * sizeof *steps);
    fake.script_len = count;
    fake.served = 0;
    fake.total = 0;
    pthread_mutex_unlock(&fake.mu);
    hooks.sleep_count = 0;
}

static int requests_seen(void)
{
    pthread_mutex_lock(&fake.mu);
    int n = fake.total;
    pthread_mutex_unlock(&fake.mu);
    return n;
}

/* ---- hooks ---- */

static void hook_sleep(void *ctx, long ms)
{
    struct hooks *h = ctx;
    if (h->sleep_count < 16)
        h->sleeps[h->sleep_count] = ms;
    h->sleep_count++;
    if (h->real_sleep)
        ts_sleep_ms(ms);
}

static long hook_jitter(void *ctx, long ceiling_ms)
{
    (void)ctx;
    return ceiling_ms; /* the top of the window: deterministic and still shows the doubling */
}

static struct cloud_config test_config(void)
{
    struct cloud_config config = {
        .base_url = base_url,
        .connect_timeout_ms = 1000,
        .total_timeout_ms = 3000,
        .backoff_base_ms = 5,
        .backoff_max_ms = 40,
        .sleep_ms = hook_sleep,
        .jitter_ms = hook_jitter,
        .hook_ctx = &hooks,
    };
    return config;
}

static void new_client(const struct cloud_config *config)
{
    cloud_client_free(client);
    client = NULL;
    assert_int_equal(cloud_client_new(config, keyring, &client), 0);
}

/* ---- fixtures ---- */

static int setup(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof fake);
    memset(&hooks, 0, sizeof hooks);
    hooks.real_sleep = 1;
    pthread_mutex_init(&fake.mu, NULL);

    snprintf(log_path, sizeof log_path, "%s/cloudlog.XXXXXX",
             getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    log_fd = mkstemp(log_path);
    assert_true(log_fd >= 0);
    log_set_fd(log_fd);
    log_set_level(LOG_DEBUG);

    struct http_server_config sc = {
        .listen = "127.0.0.1:0", .threads = 2, .name = "fakecloud", .quiet = 1};
    assert_int_equal(http_server_new(&sc, &fake.srv), 0);
    assert_int_equal(http_server_route(fake.srv, "*", "/*", handle, NULL), 0);
    assert_int_equal(http_server_start(fake.srv), 0);
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%u/", http_server_port(fake.srv));

    assert_int_equal(seal_keyring_new(&keyring), 0);
    assert_int_equal(seal_keyring_add_hex(keyring, MASTER_HEX), 0);
    assert_int_equal(seal_seal(keyring, INSTALLED_APP_ID, API_KEY, strlen(API_KEY), &sealed_key),
                     0);
    inst = (struct cloud_install){
        .installed_app_id = INSTALLED_APP_ID,
        .instance_id = INSTANCE_ID,
        .api_key_prefix = KEY_PREFIX,
        .sealed_api_key = sealed_key,
        .granted_permissions = all_scopes,
        .permission_count = 4,
    };
    struct cloud_config config = test_config();
    new_client(&config);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cloud_client_free(client);
    client = NULL;
    pthread_mutex_lock(&fake.mu);
    for (int i = 0; i < fake.stalled_count; i++)
        http_respond(fake.stalled[i], 200, "application/json", "{}", 2);
    fake.stalled_count = 0;
    pthread_mutex_unlock(&fake.mu);
    http_server_free(fake.srv);
    fake.srv = NULL;
    free(sealed_key);
    sealed_key = NULL;
    seal_keyring_free(keyring);
    keyring = NULL;
    log_set_fd(2);
    close(log_fd);
    log_fd = -1;
    unlink(log_path);
    pthread_mutex_destroy(&fake.mu);
    return 0;
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000L + (b->tv_nsec - a->tv_nsec) / 1000000L;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A port with no listener: bind an ephemeral port, then release it. */
static unsigned short dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* ---- headers, URL, body ---- */

static void test_headers_and_query(void **state)
{
    (void)state;
    struct canned ok[] = {{.status = 200, .body = "{\"data\":[],\"total\":0}"}};
    script(ok, 1);
    const char *query[] = {"first_name_ilike", "%an_ & co=1", "meta_data.kyc.status_eq", "a+b",
                           NULL};
    struct cloud_result res;
    assert_int_equal(cloud_get(client, &inst, "/data/identities", query, &res), 0);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.attempts, 1);
    assert_true(json_is_object(res.body));
    assert_int_equal(json_integer_value(json_object_get(res.body, "total")), 0);
    assert_int_equal(requests_seen(), 1);

    struct recorded *r = &fake.reqs[0];
    assert_string_equal(r->method, "GET");
    assert_string_equal(r->path, "/data/identities");
    assert_string_equal(r->auth, "Bearer " API_KEY);
    assert_string_equal(r->accept, "application/json");
    assert_string_equal(r->user_agent, CLOUD_USER_AGENT_CAPP); /* no app named: capp alone */
    assert_int_equal(strlen(r->request_id), CLOUD_REQUEST_ID_BYTES);
    assert_string_equal(r->request_id, res.request_id);
    assert_false(r->has_content_type);
    assert_string_equal(r->body, "");
    /* Decoded on the server exactly as sent: nothing was split by '&', '=', '+' or '%'. */
    assert_int_equal(r->query_count, 3);
    assert_string_equal(r->query, "instance_id=" INSTANCE_ID "\n"
                                  "first_name_ilike=%an_ & co=1\n"
                                  "meta_data.kyc.status_eq=a+b\n");
    assert_null(strstr(r->path, API_KEY));
    assert_null(strstr(r->query, API_KEY));
    cloud_result_free(&res);
    cloud_result_free(&res); /* idempotent */
}

/* capp's User-Agent names the app that uses it (its product token first, then capp's), never a
 * product capp does not know about. */
static void test_user_agent_names_the_app(void **state)
{
    struct cloud_config config = test_config();
    config.product = "test-app/2";
    new_client(&config);
    struct cloud_result res;
    assert_int_equal(cloud_get(client, &inst, "/data/identities", NULL, &res), 0);
    cloud_result_free(&res);

    cloud_set_default_product("default-app/3"); /* what capp_serve_main does at start-up */
    config.product = NULL;
    new_client(&config);
    assert_int_equal(cloud_get(client, &inst, "/data/identities", NULL, &res), 0);
    cloud_result_free(&res);
    config.product = "own/4"; /* a client's own token wins */
    new_client(&config);
    assert_int_equal(cloud_get(client, &inst, "/data/identities", NULL, &res), 0);
    cloud_result_free(&res);
    cloud_set_default_product(NULL);

    assert_int_equal(requests_seen(), 3);
    assert_string_equal(fake.reqs[0].user_agent, "test-app/2 " CLOUD_USER_AGENT_CAPP);
    assert_string_equal(fake.reqs[1].user_agent, "default-app/3 " CLOUD_USER_AGENT_CAPP);
    assert_string_equal(fake.reqs[2].user_agent, "own/4 " CLOUD_USER_AGENT_CAPP);
    assert_string_equal(CLOUD_USER_AGENT_CAPP, "capp/1");
}

static void test_json_body_and_methods(void **state)
{
    (void)state;
    struct canned ok[] = {{.status = 200, .body = "{\"meta_data\":{\"kyc\":{\"s\":1}}}"}};
    script(ok, 1);
    json_t *body = json_pack("{s:{s:{s:s}}}", "meta_data", "kyc", "status", "verified");
    struct cloud_result res;
    assert_int_equal(cloud_post_json(client, &inst, "/proxy/idt_1/metadata", NULL, body, &res), 0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(res.body, "meta_data"), "kyc"), "s")),
                     1);
    cloud_result_free(&res);
    assert_int_equal(cloud_put_json(client, &inst, "/alerts/flag/ano_1", NULL, body, &res), 0);
    cloud_result_free(&res);
    assert_int_equal(cloud_delete(client, &inst, "/alerts/statuses/PENDING_REVIEW", NULL, &res), 0);
    cloud_result_free(&res);
    json_decref(body);

    assert_int_equal(requests_seen(), 3);
    assert_string_equal(fake.reqs[0].method, "POST");
    assert_string_equal(fake.reqs[0].path, "/proxy/idt_1/metadata");
    assert_string_equal(fake.reqs[0].content_type, "application/json");
    assert_string_equal(fake.reqs[0].body, "{\"meta_data\":{\"kyc\":{\"status\":\"verified\"}}}");
    assert_string_equal(fake.reqs[0].query, "instance_id=" INSTANCE_ID "\n");
    assert_string_equal(fake.reqs[1].method, "PUT");
    assert_string_equal(fake.reqs[1].content_type, "application/json");
    /* D14: /alerts gets instance_id too. */
    assert_string_equal(fake.reqs[1].query, "instance_id=" INSTANCE_ID "\n");
    assert_string_equal(fake.reqs[2].method, "DELETE");
    assert_false(fake.reqs[2].has_content_type);
    /* One request id per logical call. */
    assert_string_not_equal(fake.reqs[0].request_id, fake.reqs[1].request_id);
}

static void test_caller_request_id_and_2xx_not_json(void **state)
{
    (void)state;
    struct canned steps[] = {{.status = 200, .body = "<html>"}};
    script(steps, 1);
    struct cloud_request req = {.method = "GET", .path = "/alerts", .request_id = "job-42_a"};
    struct cloud_result res;
    assert_int_equal(cloud_call(client, &inst, &req, &res), CAPP_EPARSE);
    assert_string_equal(fake.reqs[0].request_id, "job-42_a");
    assert_string_equal(res.request_id, "job-42_a");
    assert_null(res.body);
    cloud_result_free(&res);
    req.request_id = "bad id\r\nX: y";
    assert_int_equal(cloud_call(client, &inst, &req, &res), CAPP_EINVAL);
    assert_int_equal(requests_seen(), 1);
}

/* ---- permissions ---- */

static void test_scope_table(void **state)
{
    (void)state;
    assert_string_equal(cloud_required_scope("GET", "/data/identities"), "data:read");
    assert_string_equal(cloud_required_scope("GET", "/data/identities/idt_1"), "data:read");
    assert_string_equal(cloud_required_scope("POST", "/identities/filter"), "data:read");
    assert_string_equal(cloud_required_scope("POST", "/ledger/filter"), "data:read");
    assert_string_equal(cloud_required_scope("GET", "/proxy/identities/idt_1/tokenized-fields"),
                        "data:read");
    assert_string_equal(cloud_required_scope("POST", "/proxy/idt_1/metadata"), "data:write");
    assert_string_equal(cloud_required_scope("PUT", "/proxy/identities/idt_1"), "data:write");
    assert_string_equal(cloud_required_scope("DELETE", "/proxy/reconciliation/matching-rules/m"),
                        "data:write");
    assert_string_equal(cloud_required_scope("GET", "/alerts"), "alerts:read");
    assert_string_equal(cloud_required_scope("GET", "/alerts/ano_1"), "alerts:read");
    assert_string_equal(cloud_required_scope("GET", "/alerts/statuses"), "alerts:read");
    assert_string_equal(cloud_required_scope("POST", "/alerts/flag/idt_1"), "alerts:write");
    assert_string_equal(cloud_required_scope("PUT", "/alerts/flag/ano_1"), "alerts:write");
    assert_string_equal(cloud_required_scope("POST", "/alerts/statuses"), "alerts:write");
    assert_string_equal(cloud_required_scope("PUT", "/alerts/statuses/KEY"), "alerts:write");
    assert_string_equal(cloud_required_scope("DELETE", "/alerts/statuses/KEY"), "alerts:write");
    /* Outside the table: refused. */
    assert_null(cloud_required_scope("POST", "/data/identities"));
    assert_null(cloud_required_scope("GET", "/data"));
    assert_null(cloud_required_scope("GET", "/proxy"));
    assert_null(cloud_required_scope("DELETE", "/alerts/flag/ano_1"));
    assert_null(cloud_required_scope("POST", "/alerts/flag"));
    assert_null(cloud_required_scope("GET", "/identities/filter"));
    assert_null(cloud_required_scope("GET", "/admin"));
    assert_null(cloud_required_scope("GET", "/data/../admin"));
    assert_null(cloud_required_scope("GET", "/data//identities"));
    assert_null(cloud_required_scope("GET", "/data/identities?x=1"));
    assert_null(cloud_required_scope("GET", "/data/identities/"));
    assert_null(cloud_required_scope("GET", "data/identities"));
    assert_null(cloud_required_scope("PATCH", "/proxy/x"));

    assert_true(cloud_is_idempotent("GET", "/data/identities"));
    assert_true(cloud_is_idempotent("POST", "/transactions/filter"));
    assert_true(cloud_is_idempotent("POST", "/proxy/idt_1/metadata"));
    assert_false(cloud_is_idempotent("POST", "/alerts/flag/idt_1"));
    assert_false(cloud_is_idempotent("PUT", "/alerts/flag/ano_1"));
    assert_false(cloud_is_idempotent("POST", "/proxy/transactions"));
    assert_false(cloud_is_idempotent("POST", "/alerts/statuses"));
}

static void test_permission_refused_without_traffic(void **state)
{
    (void)state;
    const char *const read_only[] = {"data:read"};
    struct cloud_install ro = inst;
    ro.granted_permissions = read_only;
    ro.permission_count = 1;
    json_t *body = json_pack("{s:s}", "description", "check");
    struct cloud_result res;

    assert_int_equal(cloud_post_json(client, &ro, "/proxy/idt_1/metadata", NULL, body, &res),
                     CAPP_EPERM);
    assert_string_equal(res.missing_scope, "data:write");
    assert_non_null(strstr(res.message, "data:write"));
    assert_int_equal(res.attempts, 0);
    cloud_result_free(&res);

    assert_int_equal(cloud_post_json(client, &ro, "/alerts/flag/idt_1", NULL, body, &res),
                     CAPP_EPERM);
    assert_string_equal(res.missing_scope, "alerts:write");
    cloud_result_free(&res);

    assert_int_equal(cloud_get(client, &ro, "/alerts", NULL, &res), CAPP_EPERM);
    assert_string_equal(res.missing_scope, "alerts:read");
    cloud_result_free(&res);

    struct cloud_install none = inst;
    none.granted_permissions = NULL;
    none.permission_count = 0;
    assert_int_equal(cloud_get(client, &none, "/data/identities", NULL, &res), CAPP_EPERM);
    assert_string_equal(res.missing_scope, "data:read");
    cloud_result_free(&res);

    /* Unmapped or malformed requests are refused locally too. */
    assert_int_equal(cloud_get(client, &inst, "/admin", NULL, &res), CAPP_EINVAL);
    assert_int_equal(cloud_get(client, &inst, "/data/identities?instance_id=other", NULL, &res),
                     CAPP_EINVAL);
    const char *spoof[] = {"instance_id", "inst_other", NULL};
    assert_int_equal(cloud_get(client, &inst, "/data/identities", spoof, &res), CAPP_EINVAL);
    assert_int_equal(cloud_post_json(client, &inst, "/data/identities", NULL, body, &res),
                     CAPP_EINVAL);
    json_decref(body);

    assert_int_equal(requests_seen(), 0);
}

static void test_unopenable_key_sends_nothing(void **state)
{
    (void)state;
    struct cloud_install other = inst;
    other.installed_app_id = "instapp_someone_else"; /* wrong AAD: the ciphertext was swapped */
    struct cloud_result res;
    assert_int_equal(cloud_get(client, &other, "/data/identities", NULL, &res), CAPP_ECRYPTO);
    assert_int_equal(res.attempts, 0);
    assert_int_equal(requests_seen(), 0);
    cloud_result_free(&res);
}

static void test_url_limit(void **state)
{
    (void)state;
    char *long_value = malloc(CAPP_MAX_URL_BYTES + 1);
    memset(long_value, 'a', CAPP_MAX_URL_BYTES);
    long_value[CAPP_MAX_URL_BYTES] = '\0';
    const char *query[] = {"first_name_eq", long_value, NULL};
    struct cloud_result res;
    assert_int_equal(cloud_get(client, &inst, "/data/identities", query, &res), CAPP_ETOOBIG);
    assert_int_equal(requests_seen(), 0);
    free(long_value);
}

/* ---- status mapping ---- */

static void test_status_mapping(void **state)
{
    (void)state;
    static const struct {
        unsigned status;
        int error;
        int attempts; /* GET: 429 and 5xx are retried up to the cap */
    } cases[] = {
        {200, 0, 1},
        {201, 0, 1},
        {400, CAPP_EHTTP, 1},
        {401, CAPP_EUNAUTH, 1},
        {403, CAPP_EPERM, 1},
        {404, CAPP_ENOTFOUND, 1},
        {409, CAPP_ECONFLICT, 1},
        {429, CAPP_ERATELIMIT, CAPP_CLOUD_MAX_ATTEMPTS},
        {500, CAPP_EHTTP, CAPP_CLOUD_MAX_ATTEMPTS},
        {502, CAPP_EHTTP, CAPP_CLOUD_MAX_ATTEMPTS},
        {503, CAPP_EHTTP, CAPP_CLOUD_MAX_ATTEMPTS},
    };
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        struct canned steps[] = {
            {.status = cases[i].status, .body = "{\"error\":\"UPSTREAM-DETAIL-xyz\"}"}};
        script(steps, 1);
        struct cloud_result res;
        int rc = cloud_get(client, &inst, "/data/identities/idt_1", NULL, &res);
        if (rc != cases[i].error)
            fail_msg("HTTP %u gave %d, expected %d", cases[i].status, rc, cases[i].error);
        assert_int_equal(res.error, rc);
        assert_int_equal(res.status, cases[i].status);
        assert_int_equal(res.attempts, cases[i].attempts);
        assert_int_equal(requests_seen(), cases[i].attempts);
        /* The parsed body is there for the caller, but never in the browser-safe message. */
        assert_true(json_is_object(res.body));
        assert_null(strstr(res.message, "UPSTREAM-DETAIL"));
        cloud_result_free(&res);
    }
}

/* ---- retries ---- */

static void test_retry_after_honoured(void **state)
{
    (void)state;
    struct canned steps[] = {
        {.status = 429, .body = "{\"error\":\"slow down\"}", .retry_after = "1"},
        {.status = 200, .body = "{\"data\":[]}"},
    };
    script(steps, 2);
    struct cloud_result res;
    long start = now_ms();
    assert_int_equal(cloud_get(client, &inst, "/data/ledgers", NULL, &res), 0);
    long elapsed = now_ms() - start;
    assert_int_equal(res.attempts, 2);
    assert_int_equal(requests_seen(), 2);
    assert_int_equal(hooks.sleep_count, 1);
    assert_int_equal(hooks.sleeps[0], 1000);
    long gap = ms_between(&fake.reqs[0].at, &fake.reqs[1].at);
    if (gap < 950 || elapsed < 950)
        fail_msg("the client did not wait for Retry-After: gap %ld ms, call %ld ms", gap, elapsed);
    /* Same request id on every attempt of one call. */
    assert_string_equal(fake.reqs[0].request_id, fake.reqs[1].request_id);
    cloud_result_free(&res);
}

static void test_retry_after_capped(void **state)
{
    (void)state;
    hooks.real_sleep = 0;
    struct canned steps[] = {
        {.status = 503, .body = "{}", .retry_after = "86400"},
        {.status = 200, .body = "{}"},
    };
    script(steps, 2);
    struct cloud_result res;
    assert_int_equal(cloud_get(client, &inst, "/alerts/statuses", NULL, &res), 0);
    assert_int_equal(hooks.sleep_count, 1);
    assert_int_equal(hooks.sleeps[0], CAPP_CLOUD_MAX_RETRY_AFTER_SECONDS * 1000L);
    cloud_result_free(&res);
}

static void test_retry_5xx_with_backoff(void **state)
{
    (void)state;
    struct canned steps[] = {
        {.status = 503, .body = "{}"},
        {.status = 502, .body = ""},
        {.status = 200, .body = "{\"data\":[],\"total\":0}"},
    };
    script(steps, 3);
    struct cloud_result res;
    json_t *filter = json_pack("{s:[]}", "filters");
    const char *paging[] = {"page", "1", NULL};
    assert_int_equal(cloud_post_json(client, &inst, "/identities/filter", paging, filter, &res), 0);
    assert_int_equal(res.attempts, 3);
    assert_int_equal(requests_seen(), 3);
    /* Full jitter under an exponential ceiling: base 5 ms, then 10 ms (jitter hook = ceiling). */
    assert_int_equal(hooks.sleep_count, 2);
    assert_int_equal(hooks.sleeps[0], 5);
    assert_int_equal(hooks.sleeps[1], 10);
    assert_string_equal(fake.reqs[2].body, "{\"filters\":[]}");
    cloud_result_free(&res);

    /* Metadata writes are idempotent and retried too. */
    struct canned again[] = {{.status = 500, .body = "{}"}, {.status = 200, .body = "{}"}};
    script(again, 2);
    json_t *meta = json_pack("{s:{s:{}}}", "meta_data", "kyc");
    assert_int_equal(cloud_post_json(client, &inst, "/proxy/idt_9/metadata", NULL, meta, &res), 0);
    assert_int_equal(res.attempts, 2);
    cloud_result_free(&res);
    json_decref(meta);
    json_decref(filter);
}

static void test_backoff_ceiling(void **state)
{
    (void)state;
    hooks.real_sleep = 0;
    struct cloud_config config = test_config();
    config.backoff_base_ms = 30;
    config.backoff_max_ms = 50;
    new_client(&config);
    struct canned steps[] = {{.status = 500, .body = "{}"}};
    script(steps, 1);
    struct cloud_result res;
    assert_int_equal(cloud_get(client, &inst, "/data/balances", NULL, &res), CAPP_EHTTP);
    assert_int_equal(hooks.sleep_count, 2);
    assert_int_equal(hooks.sleeps[0], 30);
    assert_int_equal(hooks.sleeps[1], 50); /* 60 capped at backoff_max */
    cloud_result_free(&res);

    /* Default jitter: uniform within the window. */
    config.jitter_ms = NULL;
    new_client(&config);
    script(steps, 1);
    assert_int_equal(cloud_get(client, &inst, "/data/balances", NULL, &res), CAPP_EHTTP);
    assert_int_equal(hooks.sleep_count, 2);
    assert_true(hooks.sleeps[0] >= 0 && hooks.sleeps[0] <= 30);
    assert_true(hooks.sleeps[1] >= 0 && hooks.sleeps[1] <= 50);
    cloud_result_free(&res);
}

static void test_retry_connection_refused(void **state)
{
    (void)state;
    struct cloud_config config = test_config();
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%u", dead_port());
    config.base_url = dead;
    new_client(&config);
    hooks.sleep_count = 0;
    struct cloud_result res;
    assert_int_equal(cloud_get(client, &inst, "/data/identities", NULL, &res), CAPP_ENETWORK);
    assert_int_equal(res.attempts, CAPP_CLOUD_MAX_ATTEMPTS);
    assert_int_equal(res.status, 0);
    assert_int_equal(hooks.sleep_count, CAPP_CLOUD_MAX_ATTEMPTS - 1);
    assert_string_equal(res.message, "Blnk Cloud could not be reached");
    cloud_result_free(&res);

    /* Alert creation is never retried blindly, not even on a connection error (D16). */
    hooks.sleep_count = 0;
    json_t *body = json_pack("{s:s}", "description", "review");
    assert_int_equal(cloud_post_json(client, &inst, "/alerts/flag/idt_1", NULL, body, &res),
                     CAPP_ENETWORK);
    assert_int_equal(res.attempts, 1);
    assert_int_equal(hooks.sleep_count, 0);
    cloud_result_free(&res);
    json_decref(body);
}

static void test_alert_creation_never_retried(void **state)
{
    (void)state;
    json_t *body = json_pack("{s:s}", "description", "needs manual review");
    unsigned statuses[] = {500, 503, 429};
    for (size_t i = 0; i < COUNTOF(statuses); i++) {
        struct canned steps[] = {{.status = statuses[i], .body = "{}", .retry_after = "0"},
                                 {.status = 201, .body = "{\"anomaly_id\":\"ano_1\"}"}};
        script(steps, 2);
        struct cloud_result res;
        int rc = cloud_post_json(client, &inst, "/alerts/flag/idt_1", NULL, body, &res);
        assert_int_equal(rc, statuses[i] == 429 ? CAPP_ERATELIMIT : CAPP_EHTTP);
        assert_int_equal(res.attempts, 1);
        assert_int_equal(requests_seen(), 1);
        assert_int_equal(hooks.sleep_count, 0);
        cloud_result_free(&res);
    }
    /* Other writes neither. */
    struct canned fail[] = {{.status = 503, .body = "{}"}};
    script(fail, 1);
    struct cloud_result res;
    assert_int_equal(cloud_post_json(client, &inst, "/proxy/transactions", NULL, body, &res),
                     CAPP_EHTTP);
    assert_int_equal(requests_seen(), 1);
    cloud_result_free(&res);
    json_decref(body);
}

static void test_no_retry_on_4xx(void **state)
{
    (void)state;
    unsigned statuses[] = {400, 401, 403, 404, 409, 422};
    for (size_t i = 0; i < COUNTOF(statuses); i++) {
        struct canned steps[] = {{.status = statuses[i], .body = "{}"},
                                 {.status = 200, .body = "{}"}};
        script(steps, 2);
        struct cloud_result res;
        assert_true(cloud_get(client, &inst, "/data/identities", NULL, &res) < 0);
        assert_int_equal(requests_seen(), 1);
        assert_int_equal(hooks.sleep_count, 0);
        cloud_result_free(&res);
    }
}

static void test_attempt_cap(void **state)
{
    (void)state;
    struct canned steps[] = {{.status = 500, .body = "{}"}};
    struct cloud_result res;

    struct cloud_config config = test_config();
    config.max_attempts = 50; /* clamped to CAPP_CLOUD_MAX_ATTEMPTS */
    new_client(&config);
    script(steps, 1);
    assert_int_equal(cloud_get(client, &inst, "/data/identities", NULL, &res), CAPP_EHTTP);
    assert_int_equal(res.attempts, CAPP_CLOUD_MAX_ATTEMPTS);
    assert_int_equal(requests_seen(), CAPP_CLOUD_MAX_ATTEMPTS);
    cloud_result_free(&res);

    config.max_attempts = 1;
    new_client(&config);
    script(steps, 1);
    assert_int_equal(cloud_get(client, &inst, "/data/identities", NULL, &res), CAPP_EHTTP);
    assert_int_equal(requests_seen(), 1);
    cloud_result_free(&res);
}

/* ---- limits ---- */

static void test_total_timeout(void **state)
{
    (void)state;
    struct cloud_config config = test_config();
    config.total_timeout_ms = 300;
    new_client(&config);
    struct canned steps[] = {{.stall = 1}};
    script(steps, 1);
    struct cloud_result res;
    long start = now_ms();
    assert_int_equal(cloud_get(client, &inst, "/data/identities", NULL, &res), CAPP_ETIMEOUT);
    long elapsed = now_ms() - start;
    if (elapsed < 250 || elapsed > 2500)
        fail_msg("timed out after %ld ms, expected about 300", elapsed);
    /* A stalled Cloud is not hit again: timeouts are not retried. */
    assert_int_equal(res.attempts, 1);
    assert_int_equal(requests_seen(), 1);
    assert_string_equal(res.message, "Blnk Cloud did not answer in time");
    cloud_result_free(&res);
}

static void test_response_cap(void **state)
{
    (void)state;
    struct cloud_config config = test_config();
    config.max_response = 1024;
    new_client(&config);
    struct canned steps[] = {{.status = 200, .big = 4096}};
    script(steps, 1);
    struct cloud_result res;
    assert_int_equal(cloud_get(client, &inst, "/data/identities", NULL, &res), CAPP_ETOOBIG);
    assert_int_equal(res.attempts, 1);
    assert_null(res.body);
    cloud_result_free(&res);

    struct canned fits[] = {{.status = 200, .big = 1000}};
    script(fits, 1);
    assert_int_equal(cloud_get(client, &inst, "/data/identities", NULL, &res), 0);
    assert_int_equal(json_string_length(json_object_get(res.body, "a")), 1000 - 8);
    cloud_result_free(&res);
}

static void test_list_envelopes(void **state)
{
    (void)state;
    enum cloud_list_shape shape;
    long total;
    json_t *body = json_loads("{\"data\":[{\"anomaly_id\":\"ano_1\"}],\"total\":9}", 0, NULL);
    json_t *items = cloud_list_items(body, "anomaly_id", &shape, &total);
    assert_int_equal(shape, CLOUD_LIST_DATA);
    assert_int_equal(total, 9);
    assert_int_equal(json_array_size(items), 1);
    json_decref(items);
    json_decref(body);
    body = json_loads("[{\"anomaly_id\":\"ano_1\"},{\"anomaly_id\":\"ano_2\"}]", 0, NULL);
    items = cloud_list_items(body, "anomaly_id", &shape, &total);
    assert_int_equal(shape, CLOUD_LIST_ARRAY);
    assert_int_equal(total, -1);
    assert_int_equal(json_array_size(items), 2);
    json_decref(items);
    json_decref(body);
    /* the documented GET /alerts example: one object */
    body = json_loads("{\"anomaly_id\":\"ano_3\",\"title\":\"t\"}", 0, NULL);
    items = cloud_list_items(body, "anomaly_id", &shape, &total);
    assert_int_equal(shape, CLOUD_LIST_SINGLE);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "anomaly_id")),
                        "ano_3");
    json_decref(items);
    json_decref(body);
    /* not a list: an error body, a data that is no array, a number */
    const char *const not_lists[] = {"{\"error\":\"x\"}", "{\"data\":{\"a\":1}}", "7"};
    for (size_t i = 0; i < sizeof not_lists / sizeof not_lists[0]; i++) {
        body = json_loads(not_lists[i], JSON_DECODE_ANY, NULL);
        assert_null(cloud_list_items(body, "anomaly_id", &shape, &total));
        assert_int_equal(shape, CLOUD_LIST_NONE);
        json_decref(body);
    }
    /* the end of a walk (D17′) */
    assert_false(cloud_page_is_last(-1, 20, 20)); /* a first page shorter than asked */
    assert_false(cloud_page_is_last(20, 20, 20));
    assert_false(cloud_page_is_last(20, 21, 20));
    assert_true(cloud_page_is_last(20, 19, 19)); /* short after full */
    assert_true(cloud_page_is_last(20, 0, 0));
    assert_true(cloud_page_is_last(20, 20, 0)); /* paging ignored: nothing new */
}

static void test_logs_never_contain_the_key(void **state)
{
    (void)state;
    /* An upstream that echoes the credential in its error body, on a retried call... */
    struct canned echo[] = {{.status = 500, .echo_auth = 1}};
    script(echo, 1);
    struct cloud_result res;
    assert_int_equal(cloud_get(client, &inst, "/data/identities", NULL, &res), CAPP_EHTTP);
    assert_int_equal(res.attempts, CAPP_CLOUD_MAX_ATTEMPTS);
    assert_null(strstr(res.message, API_KEY));
    cloud_result_free(&res);
    /* ...on a 401, on a success, and a local refusal. */
    struct canned unauth[] = {{.status = 401, .echo_auth = 1}};
    script(unauth, 1);
    assert_int_equal(cloud_get(client, &inst, "/alerts", NULL, &res), CAPP_EUNAUTH);
    cloud_result_free(&res);
    struct canned ok[] = {{.status = 200, .body = "{}"}};
    script(ok, 1);
    assert_int_equal(cloud_get(client, &inst, "/alerts", NULL, &res), 0);
    cloud_result_free(&res);
    struct cloud_install none = inst;
    none.permission_count = 0;
    assert_int_equal(cloud_get(client, &none, "/alerts", NULL, &res), CAPP_EPERM);

    size_t len = 0;
    char *log = ts_read_file(log_path, &len);
    assert_non_null(log);
    if (strstr(log, API_KEY) || strstr(log, API_KEY + 8))
        fail_msg("the API key reached the log:\n%s", log);
    /* The lines are there, identified by install and key prefix. */
    assert_non_null(strstr(log, "event=cloud.retry"));
    assert_non_null(strstr(log, "event=cloud.call_failed"));
    assert_non_null(strstr(log, "event=cloud.call "));
    assert_non_null(strstr(log, "event=cloud.scope_missing"));
    assert_non_null(strstr(log, "installed_app_id=" INSTALLED_APP_ID));
    assert_non_null(strstr(log, "api_key_prefix=" KEY_PREFIX));
    assert_non_null(strstr(log, "[redacted]"));
    /* No query strings (they may carry personal data) and no instance_id. */
    assert_null(strstr(log, "instance_id"));
    free(log);
}

static void test_upstream_body_truncated_in_log(void **state)
{
    (void)state;
    char body[1200];
    memset(body, 'q', sizeof body - 1);
    body[0] = '{';
    body[sizeof body - 1] = '\0';
    struct canned steps[] = {{.status = 404, .body = body}};
    script(steps, 1);
    struct cloud_result res;
    assert_int_equal(cloud_get(client, &inst, "/data/identities/idt_x", NULL, &res),
                     CAPP_ENOTFOUND);
    cloud_result_free(&res);
    char *log = ts_read_file(log_path, NULL);
    assert_non_null(log);
    char too_long[CLOUD_LOG_BODY_BYTES + 2];
    memset(too_long, 'q', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    assert_null(strstr(log, too_long));
    assert_non_null(strstr(log, "upstream={qqqq"));
    free(log);
}

static void test_client_config_validation(void **state)
{
    (void)state;
    struct cloud_client *c = NULL;
    struct cloud_config bad = {.base_url = "ftp://example.com"};
    assert_int_equal(cloud_client_new(&bad, keyring, &c), CAPP_EINVAL);
    bad.base_url = "https://example.com/?x=1";
    assert_int_equal(cloud_client_new(&bad, keyring, &c), CAPP_EINVAL);
    struct cloud_config agent = {.product = "x\r\nInjected: 1"};
    assert_int_equal(cloud_client_new(&agent, keyring, &c), CAPP_EINVAL);
    agent.product = "";
    assert_int_equal(cloud_client_new(&agent, keyring, &c), CAPP_EINVAL);
    char longer[CLOUD_MAX_PRODUCT_BYTES + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    agent.product = longer;
    assert_int_equal(cloud_client_new(&agent, keyring, &c), CAPP_EINVAL);
    assert_int_equal(cloud_client_new(NULL, NULL, &c), CAPP_EINVAL);
    assert_int_equal(cloud_client_new(NULL, keyring, &c), 0); /* all defaults */
    cloud_client_free(c);
    cloud_client_free(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_headers_and_query),
        T(test_user_agent_names_the_app),
        T(test_json_body_and_methods),
        T(test_caller_request_id_and_2xx_not_json),
        T(test_scope_table),
        T(test_permission_refused_without_traffic),
        T(test_unopenable_key_sends_nothing),
        T(test_url_limit),
        T(test_status_mapping),
        T(test_retry_after_honoured),
        T(test_retry_after_capped),
        T(test_retry_5xx_with_backoff),
        T(test_backoff_ceiling),
        T(test_retry_connection_refused),
        T(test_alert_creation_never_retried),
        T(test_no_retry_on_4xx),
        T(test_attempt_cap),
        T(test_total_timeout),
        T(test_response_cap),
        T(test_list_envelopes),
        T(test_logs_never_contain_the_key),
        T(test_upstream_body_truncated_in_log),
        T(test_client_config_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
