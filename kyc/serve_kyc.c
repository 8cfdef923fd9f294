/*
 * serve_kyc.c — `kyc serve`: capp's server plus the screening engine and the pipeline
 * (see serve_kyc.h for the flags and endpoints).
 *
 * The pipeline is wired to capp's store hooks: an install starts a run, an uninstall stops the
 * install's work. Both hooks run on the store's writer thread and only signal. An uninstall
 * capp finds forged (Cloud still accepts the key after the confirmation window) restores the
 * install, which calls the install hook again, and is audited here (kind "lifecycle").
 *
 * And to the review workflow: every decision passes review_decision_allowed (four-eyes cannot
 * be bypassed by any caller of pipeline_apply_decision), and a false positive marked in the
 * portal re-screens its identity on a run queued at once.
 */
#include "kyc/serve_kyc.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capp/app.h"
#include "capp/err.h"
#include "capp/hash.h"
#include "capp/http.h"
#include "capp/log.h"
#include "kyc/audit.h"
#include "kyc/pipeline.h"
#include "kyc/portal.h"
#include "kyc/quality.h"
#include "kyc/review.h"
#include "kyc/screen/screen.h"

struct kyc_serve {
    const char *lists[PIPELINE_MAX_LISTS];
    size_t n_lists;
    const char *cloud_url;
    const char *metadata_key;
    const char *iso_codes;
    int interval;
    int threads;
    int lists_poll;     /* seconds between checks of the list files; 0: SIGHUP only */
    int page_max_bytes; /* test-only: a portal page's limit; 0: PORTAL_PAGE_MAX_BYTES */
    uint64_t lists_sig; /* the files' signature when they were last loaded */
    struct screen_engine *engine;
    struct pipeline *pipeline;
    char lists_problem[512];
};

static struct kyc_serve state = {.interval = PIPELINE_DEFAULT_INTERVAL, .lists_poll = 60};

static int parse_int(const char *v, int lo, int hi, int *out)
{
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi)
        return -1;
    *out = (int)n;
    return 0;
}

static int metadata_key_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

static int option(void *ctx, const char *flag, const char *value)
{
    struct kyc_serve *k = ctx;
    if (strcmp(flag, "--lists") == 0) {
        if (k->n_lists == PIPELINE_MAX_LISTS) {
            fprintf(stderr, "serve: at most %d --lists\n", PIPELINE_MAX_LISTS);
            return -1;
        }
        k->lists[k->n_lists++] = value;
        return 1;
    }
    if (strcmp(flag, "--cloud-url") == 0) {
        if (strncmp(value, "https://", 8) != 0 && strncmp(value, "http://", 7) != 0) {
            fprintf(stderr, "serve: --cloud-url '%s' must be an http(s) URL\n", value);
            return -1;
        }
        k->cloud_url = value;
        return 1;
    }
    if (strcmp(flag, "--metadata-key") == 0) {
        if (!metadata_key_valid(value)) {
            fprintf(stderr, "serve: --metadata-key '%s' must be [A-Za-z0-9_-], 1..64\n", value);
            return -1;
        }
        k->metadata_key = value;
        return 1;
    }
    if (strcmp(flag, "--rescreen-interval") == 0) {
        if (parse_int(value, 0, 30 * 86400, &k->interval)) {
            fprintf(stderr, "serve: --rescreen-interval must be 0..2592000 seconds, got '%s'\n",
                    value);
            return -1;
        }
        return 1;
    }
    if (strcmp(flag, "--pipeline-threads") == 0) {
        if (parse_int(value, 1, PIPELINE_MAX_THREADS, &k->threads)) {
            fprintf(stderr, "serve: --pipeline-threads must be 1..%d, got '%s'\n",
                    PIPELINE_MAX_THREADS, value);
            return -1;
        }
        return 1;
    }
    if (strcmp(flag, "--lists-poll") == 0) {
        if (parse_int(value, 0, 86400, &k->lists_poll)) {
            fprintf(stderr, "serve: --lists-poll must be 0..86400 seconds, got '%s'\n", value);
            return -1;
        }
        return 1;
    }
    if (strcmp(flag, "--test-only-page-max-bytes") == 0) {
        if (parse_int(value, 1, 4 * 1024 * 1024, &k->page_max_bytes)) {
            fprintf(stderr, "serve: --test-only-page-max-bytes must be 1..4194304, got '%s'\n",
                    value);
            return -1;
        }
        return 1;
    }
    if (strcmp(flag, "--iso-codes") == 0) {
        k->iso_codes = value;
        return 1;
    }
    return 0;
}

static void progress_route(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_serve *k = ctx;
    json_t *o = NULL;
    int rc = pipeline_progress(k->pipeline, &pc->install, &o);
    if (rc) {
        http_respond_error(pc->req, 500, "progress_unavailable", "progress is unavailable");
        return;
    }
    /* The page needs no IDs (spec D1): the install is the session's, so it is not sent. */
    json_object_del(o, "installed_app_id");
    http_respond_json(pc->req, 200, o);
}

static void runs_route(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_serve *k = ctx;
    if (!store_install_has_permission(&pc->install, "data:read")) {
        http_respond_error(pc->req, 409, "missing_permission",
                           "identities cannot be read: the install lacks data:read");
        return;
    }
    int rc = pipeline_request_run(k->pipeline, pc->install.installed_app_id, "manual");
    if (rc) {
        http_respond_error(pc->req, 503, "shutting_down", "the server is stopping");
        return;
    }
    http_respond_json(pc->req, 202, json_pack("{s:b}", "queued", 1));
}

static int before_decision(void *ctx, const char *installed_app_id,
                           const struct pipeline_decision *d, const json_t *current)
{
    struct kyc_serve *k = ctx;
    results_db *db = results_conn(pipeline_results(k->pipeline));
    return db ? review_decision_allowed(db, installed_app_id, d->identity_id, d->status, d->user_id,
                                        current)
              : CAPP_EDB;
}

static void false_positive_marked(void *ctx, const char *installed_app_id, const char *identity_id)
{
    struct kyc_serve *k = ctx;
    int rc = pipeline_rescreen_identity(k->pipeline, installed_app_id, identity_id);
    if (rc)
        log_warn("kyc.rescreen_not_queued", "installed_app_id", installed_app_id, "identity_id",
                 identity_id, "error", capp_errcode(rc), NULL);
}

/* capp restored an install whose uninstall Cloud never confirmed (a forged event): the
 * install's audit chain records it. Runs on capp's confirmation thread. */
static void uninstall_forged(void *ctx, const char *installed_app_id, const json_t *detail)
{
    struct kyc_serve *k = ctx;
    results_db *db = k->pipeline ? results_conn(pipeline_results(k->pipeline)) : NULL;
    int rc = db ? audit_append(sql_sqlite_handle(db), installed_app_id, "system", AUDIT_LIFECYCLE,
                               NULL, detail, NULL)
                : CAPP_EDB;
    if (rc)
        log_error("kyc.audit.failed", "installed_app_id", installed_app_id, "kind", "lifecycle",
                  "error", capp_errcode(rc), NULL);
}

static uint64_t file_sig(const char *path, const struct stat *st)
{
    uint64_t h = hash_fnv1a_str(path);
    h = hash_fnv1a_add(h, &st->st_ino, sizeof st->st_ino);
    h = hash_fnv1a_add(h, &st->st_size, sizeof st->st_size);
    h = hash_fnv1a_add(h, &st->st_mtim, sizeof st->st_mtim);
    return h;
}

size_t kyc_lists_poll_path(const char *arg, char *out, size_t cap)
{
    struct stat st;
    size_t len = strlen(arg);
    /* `PATH@YYYY-MM-DD` gives the list's date (screen_list_set_load_path, D29): the files are
     * at PATH. A path that exists as given is a path, whatever it ends with. */
    if (len > 11 && arg[len - 11] == '@' && stat(arg, &st) != 0) {
        static const char shape[] = "dddd-dd-dd";
        int dated = 1;
        for (size_t i = 0; i < 10 && dated; i++)
            dated = shape[i] == '-' ? arg[len - 10 + i] == '-'
                                    : arg[len - 10 + i] >= '0' && arg[len - 10 + i] <= '9';
        if (dated)
            len -= 11;
    }
    if (len >= cap)
        return 0;
    memcpy(out, arg, len);
    out[len] = '\0';
    return len;
}

uint64_t kyc_lists_signature(const char *const *lists, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        char list[4096];
        if (kyc_lists_poll_path(lists[i], list, sizeof list) == 0 || stat(list, &st) != 0) {
            /* missing: a state of its own */
            sum += hash_fnv1a_add(7, lists[i], strlen(lists[i]));
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            sum += file_sig(list, &st);
            continue;
        }
        DIR *d = opendir(list);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            char path[4096];
            if (e->d_name[0] == '.' ||
                snprintf(path, sizeof path, "%s/%s", list, e->d_name) >= (int)sizeof path)
                continue;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                sum += file_sig(path, &st);
        }
        if (d)
            closedir(d);
    }
    return sum;
}

/* Loads k->lists into the engine (swapped only when they load). problem gets why not. */
static int load_lists(struct kyc_serve *k, char *problem, size_t cap)
{
    k->lists_sig = kyc_lists_signature(
        k->lists, k->n_lists); /* a broken file is retried when it changes again */
    struct screen_error err = {0};
    int rc = screen_engine_load(k->engine, k->lists, k->n_lists, &err);
    if (rc) {
        snprintf(problem, cap, "%s", err.message[0] ? err.message : capp_errcode(rc));
        log_warn("kyc.lists.failed", "error", err.message, NULL);
        return rc;
    }
    struct screen_index *idx = screen_engine_acquire(k->engine);
    const struct screen_list_set *set = screen_index_lists(idx);
    for (size_t i = 0; i < screen_list_set_version_count(set); i++) {
        const struct screen_list_version *v = screen_list_set_version(set, i);
        char records[24];
        snprintf(records, sizeof records, "%u", v->records);
        log_info("kyc.lists.loaded", "source", v->source, "date", v->date, "records", records,
                 "sha256", v->sha256, NULL);
    }
    screen_index_release(idx);
    if (problem && cap)
        problem[0] = '\0';
    return 0;
}

static int lists_load_hook(void *ctx, char *problem, size_t cap)
{
    return load_lists(ctx, problem, cap);
}

static int lists_changed_hook(void *ctx)
{
    struct kyc_serve *k = ctx;
    return kyc_lists_signature(k->lists, k->n_lists) != k->lists_sig;
}

static void first_load(struct kyc_serve *k)
{
    if (k->n_lists == 0) {
        snprintf(k->lists_problem, sizeof k->lists_problem,
                 "No sanctions lists configured (--lists): only data-quality checks run.");
        log_warn("kyc.lists.none", "effect", "data-quality checks only", NULL);
        return;
    }
    char why[256];
    if (load_lists(k, why, sizeof why) != 0) {
        snprintf(k->lists_problem, sizeof k->lists_problem,
                 "The sanctions lists could not be loaded: only data-quality checks run.");
        log_warn("kyc.lists.none_loaded", "effect", "data-quality checks only", NULL);
    }
}

static int configure(struct capp_app *app, void *ctx)
{
    struct kyc_serve *k = ctx;
    int rc = quality_init(k->iso_codes);
    if (rc) {
        fprintf(stderr,
                "serve: cannot load ISO 3166 codes (%s): install iso-codes or pass "
                "--iso-codes\n",
                k->iso_codes ? k->iso_codes : "/usr/share/iso-codes/json/iso_3166-1.json");
        return rc;
    }
    rc = screen_engine_new(NULL, &k->engine);
    if (rc)
        return rc;
    first_load(k);
    struct pipeline_config cfg = {
        .db_path = app->config.db_path,
        .store = app->store,
        .keyring = app->keyring,
        .engine = k->engine,
        .cloud_url = k->cloud_url,
        .metadata_key = k->metadata_key,
        .rescreen_interval_seconds = k->interval,
        .threads = k->threads,
        .lists_problem = k->lists_problem[0] ? k->lists_problem : NULL,
        .lists_load = k->n_lists ? lists_load_hook : NULL,
        .lists_changed = lists_changed_hook,
        .lists_ctx = k,
        .lists_poll_seconds = k->lists_poll,
    };
    rc = pipeline_new(&cfg, &k->pipeline);
    if (rc)
        return rc;
    struct pipeline_hooks review_hooks = {.before_decision = before_decision, .ctx = k};
    pipeline_set_hooks(k->pipeline, &review_hooks);
    review_set_false_positive_hook(false_positive_marked, k);
    store_set_install_hook(app->store, pipeline_install_hook, k->pipeline);
    store_set_uninstall_hook(app->store, pipeline_uninstall_hook, k->pipeline);
    capp_app_set_cloud_url(app, k->cloud_url);
    capp_app_set_forged_uninstall_hook(app, uninstall_forged, k);
    rc = capp_app_portal_route(app, "GET", "/progress", progress_route, k);
    if (rc == 0)
        rc = capp_app_portal_route(app, "POST", "/runs", runs_route, k);
    if (rc == 0)
        rc = kyc_portal_register(app, k->pipeline, (size_t)k->page_max_bytes);
    if (rc == 0)
        rc = pipeline_start(k->pipeline);
    return rc;
}

static void shutdown_hook(struct capp_app *app, void *ctx)
{
    struct kyc_serve *k = ctx;
    capp_app_set_forged_uninstall_hook(app, NULL, NULL); /* it uses the pipeline's database */
    store_set_install_hook(app->store, NULL, NULL);
    store_set_uninstall_hook(app->store, NULL, NULL);
    review_set_false_positive_hook(NULL, NULL);
    pipeline_free(k->pipeline);
    k->pipeline = NULL;
    screen_engine_free(k->engine);
    k->engine = NULL;
    quality_shutdown();
}

/* SIGHUP: load the list files again now (the coordinator does it between runs). */
static void reload_hook(struct capp_app *app, void *ctx)
{
    (void)app;
    struct kyc_serve *k = ctx;
    if (k->pipeline)
        pipeline_reload_lists(k->pipeline);
}

static const struct capp_serve_hooks hooks = {
    .option = option,
    .configure = configure,
    .shutdown = shutdown_hook,
    .reload = reload_hook,
    .usage = "KYC options:\n"
             "  --lists PATH              OFAC CSV folder or UN XML file (repeatable)\n"
             "  --cloud-url URL           Blnk Cloud base URL (default "
             "https://api.cloud.blnkfinance.com)\n"
             "  --metadata-key NAME       identity metadata key written back (default kyc)\n"
             "  --rescreen-interval S     seconds between scheduled runs (default 3600, 0 off)\n"
             "  --pipeline-threads N      concurrent Cloud writers (default 8)\n"
             "  --lists-poll S            seconds between checks of the list files for a new\n"
             "                            version (default 60, 0 off; SIGHUP reloads at once)\n"
             "  --iso-codes PATH          ISO 3166 JSON (default Debian iso-codes)\n"
             "  --test-only-page-max-bytes N   lower a portal page's limit (tests of the 500)\n",
    .ctx = &state,
    /* what capp reads and shows under this program's name */
    .env_prefix = "KYC",
    .default_db = "kyc.db",
    .title = "KYC review",
    .product = "blnk-kyc/1",
};

const struct capp_serve_hooks *kyc_serve_hooks(void)
{
    return &hooks;
}
