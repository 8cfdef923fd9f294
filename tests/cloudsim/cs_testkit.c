#include "cs_testkit.h"

#include <jansson.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "capp/http.h"

long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void record(struct fake_app *app, struct http_request *req, long probe)
{
    size_t len;
    const char *body = http_body(req, &len);
    const char *ct = http_header(req, "Content-Type");
    pthread_mutex_lock(&app->lock);
    if (app->count < FAKE_MAX_RECORDS) {
        struct fake_record *r = &app->records[app->count++];
        snprintf(r->path, sizeof r->path, "%s", http_path(req));
        snprintf(r->body, sizeof r->body, "%.*s", (int)len, body);
        snprintf(r->content_type, sizeof r->content_type, "%s", ct ? ct : "");
        r->at_ms = now_ms();
        r->probe_status = probe;
    }
    pthread_mutex_unlock(&app->lock);
}

static void on_callback(struct http_request *req, void *ctx)
{
    struct fake_app *app = ctx;
    size_t len;
    const char *body = http_body(req, &len);
    json_t *obj = json_loadb(body, len, 0, NULL);
    const char *idem = json_string_value(json_object_get(obj, "idempotency_key"));
    long probe = 0;
    if (idem && strncmp(idem, "install:", 8) == 0) {
        pthread_mutex_lock(&app->lock);
        snprintf(app->api_key, sizeof app->api_key, "%s",
                 json_string_value(json_object_get(obj, "api_key")));
        snprintf(app->instance_id, sizeof app->instance_id, "%s",
                 json_string_value(json_object_get(obj, "instance_id")));
        pthread_mutex_unlock(&app->lock);
    } else if (idem && strncmp(idem, "uninstall:", 10) == 0 && app->probe_on_uninstall) {
        char url[512], auth[256];
        snprintf(url, sizeof url, "%s/data/identities?instance_id=%s", app->cloudsim_url,
                 app->instance_id);
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", app->api_key);
        const char *headers[] = {auth, NULL};
        struct ts_response r;
        ts_http("GET", url, NULL, headers, &r);
        probe = r.status;
        ts_response_free(&r);
    }
    json_decref(obj);
    record(app, req, probe);
    if (app->callback_delay_ms)
        ts_sleep_ms(app->callback_delay_ms);
    int status = app->callback_status;
    pthread_mutex_lock(&app->lock);
    if (app->callback_fail_first > 0) {
        app->callback_fail_first--;
        status = 500;
    }
    pthread_mutex_unlock(&app->lock);
    http_respond(req, (unsigned)status, "application/json", "{\"ok\":true}", 11);
}

static void on_portal_generator(struct http_request *req, void *ctx)
{
    struct fake_app *app = ctx;
    record(app, req, 0);
    if (app->portal_delay_ms)
        ts_sleep_ms(app->portal_delay_ms);
    char body[4096];
    if (app->portal_body[0])
        snprintf(body, sizeof body, "%s", app->portal_body);
    else
        snprintf(body, sizeof body, "{\"portal_url\":\"%s/portal?token=t%d\"}", app->url,
                 app->count);
    http_respond(req, (unsigned)app->portal_status,
                 app->portal_content_type[0] ? app->portal_content_type : "application/json", body,
                 strlen(body));
}

static void on_portal_page(struct http_request *req, void *ctx)
{
    struct fake_app *app = ctx;
    record(app, req, 0);
    if (app->page_csp[0])
        http_add_header(req, "Content-Security-Policy", app->page_csp);
    static const char page[] = "<!doctype html><p>launch again</p>";
    http_respond(req, 401, "text/html", page, sizeof page - 1);
}

void fake_app_start(struct fake_app *app)
{
    memset(app, 0, sizeof *app);
    pthread_mutex_init(&app->lock, NULL);
    app->callback_status = 200;
    app->portal_status = 200;
    snprintf(app->page_csp, sizeof app->page_csp,
             "frame-ancestors 'self' https://blnkfinance.com https://*.blnkfinance.com "
             "http://127.0.0.1:*");
    struct http_server_config config = {
        .listen = "127.0.0.1:0", .threads = 4, .name = "fakeapp", .quiet = 1};
    assert_int_equal(http_server_new(&config, &app->srv), 0);
    http_server_route(app->srv, "POST", "/callback", on_callback, app);
    http_server_route(app->srv, "POST", "/portal-generator", on_portal_generator, app);
    http_server_route(app->srv, "GET", "/portal", on_portal_page, app);
    assert_int_equal(http_server_start(app->srv), 0);
    snprintf(app->url, sizeof app->url, "http://127.0.0.1:%u", http_server_port(app->srv));
}

void fake_app_stop(struct fake_app *app)
{
    http_server_free(app->srv);
    pthread_mutex_destroy(&app->lock);
}

int fake_app_count(struct fake_app *app, const char *path)
{
    int n = 0;
    pthread_mutex_lock(&app->lock);
    for (int i = 0; i < app->count; i++)
        n += strcmp(app->records[i].path, path) == 0;
    pthread_mutex_unlock(&app->lock);
    return n;
}

void fake_app_record(struct fake_app *app, const char *path, int n, struct fake_record *out)
{
    int found = 0;
    pthread_mutex_lock(&app->lock);
    for (int i = 0; i < app->count; i++) {
        if (strcmp(app->records[i].path, path) == 0 && n-- == 0) {
            *out = app->records[i];
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&app->lock);
    if (!found)
        fail_msg("no record %d for %s", n, path);
}

void cloudsim_start(struct ts_proc *p, const char *const *extra_args)
{
    char bin[512], dir[512], log[600];
    ts_binary("cloudsim", bin, sizeof bin);
    ts_tmpdir(dir, sizeof dir);
    snprintf(log, sizeof log, "%s/cloudsim.log", dir);
    const char *argv[48] = {bin, "serve", "--listen", "127.0.0.1:0"};
    int n = 4;
    for (const char *const *a = extra_args; a && *a && n < 46; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    if (ts_proc_start(p, argv, NULL, log, NULL) != 0) {
        char *text = ts_read_file(log, NULL);
        fail_msg("cloudsim did not start; log:\n%s", text ? text : "(none)");
    }
}

const struct cs_mode cs_mode_v1 = {"v1", 0};
const struct cs_mode cs_mode_v2 = {"v2", 1};

const struct cs_mode *cs_mode_of(void **state)
{
    if (!state || !*state)
        fail_msg("%s", "a CS_BOTH_MODES test was registered without its mode");
    return *state;
}

void cloudsim_start_mode(struct ts_proc *p, const struct cs_mode *mode,
                         const char *const *extra_args)
{
    const char *args[44] = {"--mode", mode->name};
    int n = 2;
    for (const char *const *a = extra_args; a && *a && n < 43; a++)
        args[n++] = *a;
    args[n] = NULL;
    cloudsim_start(p, args);
}

void cloudsim_stop(struct ts_proc *p)
{
    int status = ts_proc_stop(p, SIGTERM);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

void admin_post(const struct ts_proc *p, const char *path, const char *json, struct ts_response *r)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", p->url, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    ts_http("POST", url, json, headers, r);
}

void register_fake_app(const struct ts_proc *p, const struct fake_app *app,
                       const char *permissions_json, char *app_id, size_t cap)
{
    char manifest[2048];
    snprintf(manifest, sizeof manifest,
             "{\"display_name\":\"KYC review\",\"description\":\"Screens identities\","
             "\"developer_name\":\"Tests\",\"callback_url\":\"%s/callback\","
             "\"portal_generator_url\":\"%s/portal-generator\",\"permissions\":%s}",
             app->url, app->url, permissions_json);
    struct ts_response r;
    admin_post(p, "/admin/apps", manifest, &r);
    TS_ASSERT_STATUS(r, 201);
    assert_int_equal(ts_json_string(&r, "app_id", app_id, cap), 0);
    ts_response_free(&r);
}

long install_app(const struct ts_proc *p, const char *app_id, const char *permissions_json,
                 const char *faults_json, char *installed_app_id, size_t cap)
{
    char body[1024];
    snprintf(body, sizeof body, "{\"app_id\":\"%s\",\"permissions\":%s%s%s}", app_id,
             permissions_json, faults_json ? ",\"faults\":" : "", faults_json ? faults_json : "");
    struct ts_response r;
    admin_post(p, "/admin/installs", body, &r);
    installed_app_id[0] = '\0';
    ts_json_string(&r, "installed_app_id", installed_app_id, cap);
    long status = r.status;
    ts_response_free(&r);
    return status;
}

long gateway_get(const struct ts_proc *p, const char *key, const char *path_and_query)
{
    char url[1024], auth[256];
    snprintf(url, sizeof url, "%s%s", p->url, path_and_query);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    const char *headers[] = {auth, NULL};
    struct ts_response r;
    ts_http("GET", url, NULL, key ? headers : NULL, &r);
    long status = r.status;
    ts_response_free(&r);
    return status;
}

int json_has_exactly(const char *json_text, const char *const *keys)
{
    json_t *obj = json_loads(json_text, 0, NULL);
    size_t n = 0;
    int ok = json_is_object(obj);
    for (const char *const *k = keys; ok && *k; k++, n++)
        ok = json_object_get(obj, *k) != NULL;
    ok = ok && json_object_size(obj) == n;
    json_decref(obj);
    return ok;
}
