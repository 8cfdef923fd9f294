#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "health.h"
#include "portal_generator.h"
#include "lifecycle.h"
#include "log.h"
#include "portal.h"
#include "session.h"

/* capp/portal/session.js, embedded at build time (cmake/embed.cmake). */
extern const char capp_session_js[];

/* /portal/static/app.js is capp's session script followed by the app's: every portal page, the
 * relaunch notices included, loads it, and the app's script finds window.cappSession ready. */
static int compose_script(struct capp_app *app, const char *js)
{
    size_t a = strlen(capp_session_js), b = js ? strlen(js) : 0;
    char *script = malloc(a + 1 + b + 1);
    if (!script)
        return CAPP_ENOMEM;
    memcpy(script, capp_session_js, a);
    script[a] = '\n';
    if (b)
        memcpy(script + a + 1, js, b);
    script[a + 1 + b] = '\0';
    free(app->script);
    app->script = script;
    return 0;
}

static int valid_origin_list(const char *list)
{
    /* Space-separated origins: scheme://host[:port], optionally with a leading "*." label. */
    for (const char *p = list; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '/' || c == '.' || c == '-' || c == '*' || c == ' ' || c == '[' ||
              c == ']'))
            return 0;
    }
    return 1;
}

int capp_app_new(const struct capp_config *config, struct seal_keyring *keyring,
                 struct capp_app **out)
{
    struct capp_app *app = NULL;
    if ((config->app_id && !json_is_valid_id(config->app_id, CAPP_MAX_ID_BYTES)) ||
        (config->public_url && (strncmp(config->public_url, "http", 4) != 0 ||
                                strlen(config->public_url) >= sizeof app->public_url)) ||
        !config->db_path || !config->listen || config->session_ttl_seconds < 1 ||
        config->launch_ttl_seconds < 1 ||
        (config->frame_ancestors && (strlen(config->frame_ancestors) > CAPP_MAX_FRAME_ANCESTORS ||
                                     !valid_origin_list(config->frame_ancestors))))
        return CAPP_EINVAL;
    app = calloc(1, sizeof *app);
    if (!app)
        return CAPP_ENOMEM;
    app->config = *config;
    if (config->public_url)
        snprintf(app->public_url, sizeof app->public_url, "%s", config->public_url);
    app->keyring = keyring;
    app_pin_init(&app->pin);
    int rc = seal_keyring_derive(keyring, "capp portal csrf v1", app->csrf_key);
    if (rc == 0)
        rc = session_tickets_new(&app->tickets);
    if (rc == 0)
        rc = portal_build_csp(app);
    if (rc == 0)
        rc = store_open(config->db_path, &app->store);
    if (rc == 0)
        rc = app_pin_load(&app->pin, app->store, config->app_id);
    if (rc == 0) {
        struct uninstall_confirm_config uc = {.store = app->store,
                                              .keyring = keyring,
                                              .window_ms = config->uninstall_window_ms,
                                              .backoff_ms = config->uninstall_backoff_ms};
        rc = uninstall_confirm_new(&uc, &app->confirm);
    }
    if (rc == 0) {
        struct http_server_config hc = {.listen = config->listen,
                                        .threads = config->threads,
                                        .name = "app",
                                        .quiet = config->quiet,
                                        .head_timeout_ms = config->head_timeout_ms,
                                        .body_timeout_ms = config->body_timeout_ms};
        rc = http_server_new(&hc, &app->http);
    }
    /* Every /portal answer, the server's own errors and 404s included, is framed by the
     * dashboard and must carry the embedding policy. */
    if (rc == 0)
        rc = http_server_add_header(app->http, "/portal", "Content-Security-Policy", app->csp);
    if (rc == 0)
        rc = http_server_add_header(app->http, "/portal", "Referrer-Policy", "no-referrer");
    if (rc) {
        capp_app_free(app);
        return rc;
    }
    struct http_server *h = app->http;
    http_server_route(h, "GET", "/healthz", health_handle, app);
    http_server_route(h, "POST", "/api/callback", lifecycle_handle, app);
    http_server_route(h, "POST", "/api/portal", portal_generator_handle, app);
    http_server_route(h, "GET", "/portal", portal_handle_page, app);
    http_server_route(h, "GET", "/portal/static/*", portal_handle_static, app);
    http_server_route(h, "*", "/portal/api/*", portal_handle_api, app);
    *out = app;
    return 0;
}

void capp_app_set_page(struct capp_app *app, capp_portal_fn fn, void *ctx)
{
    app->page = fn;
    app->page_ctx = ctx;
}

int capp_app_portal_route(struct capp_app *app, const char *method, const char *path,
                          capp_portal_fn fn, void *ctx)
{
    if (app->route_count >= CAPP_MAX_PORTAL_ROUTES || strlen(method) >= 8)
        return CAPP_ETOOBIG;
    struct capp_portal_route *r = &app->routes[app->route_count];
    r->path = strdup(path);
    if (!r->path)
        return CAPP_ENOMEM;
    snprintf(r->method, sizeof r->method, "%s", method);
    r->fn = fn;
    r->ctx = ctx;
    app->route_count++;
    return 0;
}

void capp_app_set_static(struct capp_app *app, const char *js, const char *css)
{
    app->static_js = js;
    app->static_css = css;
}

void capp_app_set_cloud_url(struct capp_app *app, const char *cloud_url)
{
    app->config.cloud_url = cloud_url;
}

void capp_app_set_forged_uninstall_hook(struct capp_app *app, uninstall_forged_fn fn, void *ctx)
{
    uninstall_confirm_set_forged_hook(app->confirm, fn, ctx);
}

int capp_app_start(struct capp_app *app)
{
    int rc = compose_script(app, app->static_js);
    /* Before the server listens: an uninstall must never find the worker absent. */
    if (rc == 0)
        rc = uninstall_confirm_start(app->confirm, app->config.cloud_url);
    if (rc == 0)
        rc = http_server_start(app->http);
    if (rc)
        return rc;
    char url[300];
    const char *listen = app->config.listen;
    const char *colon = strrchr(listen, ':');
    snprintf(url, sizeof url, "http://%.*s:%u", (int)(colon - listen), listen,
             http_server_port(app->http));
    if (!app->public_url[0])
        snprintf(app->public_url, sizeof app->public_url, "%s", url);
    const char *pinned = app_pin_get(&app->pin);
    log_info("server.listening", "url", url, "public_url", app->public_url, "app_id",
             pinned ? pinned : "unpinned", "key_id", seal_keyring_primary_id(app->keyring), NULL);
    if (!pinned) {
        /* What the operator registers in Cloud next (README "Registering the app"). */
        char callback[600], generator[600];
        snprintf(callback, sizeof callback, "%s/api/callback", app->public_url);
        snprintf(generator, sizeof generator, "%s/api/portal", app->public_url);
        log_warn("capp.app.unpinned", "callback_url", callback, "portal_generator_url", generator,
                 "note",
                 "no app_id yet: the first install event pins its app_id (capp.app.pinned); "
                 "--app-id fixes it in advance",
                 NULL);
    }
    return 0;
}

void capp_app_free(struct capp_app *app)
{
    if (!app)
        return;
    http_server_free(app->http);
    uninstall_confirm_free(app->confirm); /* uses the store */
    store_close(app->store);
    for (int i = 0; i < app->route_count; i++)
        free(app->routes[i].path);
    crypto_wipe(app->csrf_key, sizeof app->csrf_key);
    app_pin_destroy(&app->pin);
    session_tickets_free(app->tickets);
    free(app->script);
    free(app);
}
