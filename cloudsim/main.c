/*
 * cloudsim — the local Blnk Cloud. `cloudsim serve` runs the emulator (gateway, admin API,
 * dashboard); the other subcommands drive a running one through its admin API, except `seed`,
 * which belongs to the data half (cloudsim/seed.h). docs/cloudsim.md documents every flag.
 *
 * serve blocks SIGINT and SIGTERM before any thread starts and waits for them with sigwait(),
 * so shutdown runs on the main thread: stop accepting, let in-flight flows answer, close.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/err.h"
#include "capp/http.h"
#include "capp/log.h"
#include "cloudsim/admin_cli.h"
#include "cloudsim/core_alerts.h"
#include "cloudsim/platform.h"
#include "cloudsim/platform_url.h"
#include "cloudsim/seed.h"

static const char serve_usage[] =
    "usage: cloudsim serve [options]\n"
    "  --listen HOST:PORT          address to listen on (default 127.0.0.1:8800; port 0 = any)\n"
    "  --db PATH|:memory:          SQLite database (default :memory:)\n"
    "  --config FILE               organizations, instances and users (JSON)\n"
    "  --org NAME --instance NAME --user EMAIL   seed one of each (without --config)\n"
    "  --mode v1|v2                platform behaviour (default v2, the live platform)\n"
    "  --strict                    /proxy answers 404 outside the documented routes\n"
    "  --rate-limit N[/s]          per-key requests per second (default off)\n"
    "  --callback-timeout-ms N     install/uninstall event timeout (default 10000)\n"
    "  --portal-timeout-ms N       portal generator timeout (default 10000)\n"
    "  --retry-delay-ms N          V1 delay between re-sends (default 1000)\n"
    "  --public-url URL            the dashboard's origin (default http://LISTEN)\n"
    "  --no-frame-check            skip the portal page's frame-ancestors check\n"
    "  --fault-duplicate           send every event twice after a 2xx\n"
    "  --fault-delay-ms N          wait before every event attempt\n"
    "  --fault-drop-responses N    treat the first N answers of each event as lost\n"
    "  --max-page-size N           cap pageSize on /data, root filters and /alerts (1..100)\n"
    "  --alerts-list paged|array|unpaged   GET /alerts envelope (default paged {data,total})\n"
    "  --without-resolved-status   organizations have no RESOLVED alert status\n"
    "  --key-activation-delay-ms N keys answer 401 until N ms after their install's 2xx\n"
    "  --threads N                 HTTP threads (default: one per core)\n"
    "  --log-level debug|info|warn|error\n"
    "  --test-only-page-max-bytes N   lower the dashboard's page limit (tests of the 500)\n";

static const char main_usage[] =
    "usage: cloudsim COMMAND [options]   (cloudsim COMMAND --help for details)\n"
    "  serve       run the local Blnk Cloud (gateway, admin API, dashboard)\n"
    "  register    register an app from a manifest JSON file\n"
    "  install     install an app (grants permissions, delivers the install event)\n"
    "  launch      launch an install; prints the portal_url\n"
    "  uninstall   uninstall an install (V1 or V2 ordering)\n"
    "  state       print organizations, instances and users\n"
    "  seed        seed Core-like data (identities, ledgers, ...)\n";

static int parse_long(const char *flag, const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || v < min || v > max) {
        fprintf(stderr, "cloudsim serve: %s must be an integer in %ld..%ld, not \"%s\"\n", flag,
                min, max, text);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_rate(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || (strcmp(end, "") != 0 && strcmp(end, "/s") != 0) || !isfinite(v) ||
        !(v > 0) || v > 1e6) {
        fprintf(stderr, "cloudsim serve: --rate-limit must look like 5/s, not \"%s\"\n", text);
        return -1;
    }
    *out = v;
    return 0;
}

struct serve_options {
    struct cs_config config;
    const char *listen;
    const char *config_file;
    const char *org, *instance, *user;
    long threads;
};

enum {
    O_LISTEN = 1000,
    O_DB,
    O_CONFIG,
    O_ORG,
    O_INSTANCE,
    O_USER,
    O_MODE,
    O_STRICT,
    O_RATE,
    O_CB_TIMEOUT,
    O_PORTAL_TIMEOUT,
    O_RETRY,
    O_PUBLIC,
    O_NOFRAME,
    O_DUP,
    O_DELAY,
    O_DROP,
    O_THREADS,
    O_LOGLEVEL,
    O_PAGE_MAX,
    O_MAX_PAGE,
    O_ALERTS_LIST,
    O_NO_RESOLVED,
    O_KEY_ACTIVATION
};

static int parse_serve(int argc, char **argv, struct serve_options *o)
{
    static const struct option options[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"db", required_argument, NULL, O_DB},
        {"config", required_argument, NULL, O_CONFIG},
        {"org", required_argument, NULL, O_ORG},
        {"instance", required_argument, NULL, O_INSTANCE},
        {"user", required_argument, NULL, O_USER},
        {"mode", required_argument, NULL, O_MODE},
        {"strict", no_argument, NULL, O_STRICT},
        {"rate-limit", required_argument, NULL, O_RATE},
        {"callback-timeout-ms", required_argument, NULL, O_CB_TIMEOUT},
        {"portal-timeout-ms", required_argument, NULL, O_PORTAL_TIMEOUT},
        {"retry-delay-ms", required_argument, NULL, O_RETRY},
        {"public-url", required_argument, NULL, O_PUBLIC},
        {"no-frame-check", no_argument, NULL, O_NOFRAME},
        {"fault-duplicate", no_argument, NULL, O_DUP},
        {"fault-delay-ms", required_argument, NULL, O_DELAY},
        {"fault-drop-responses", required_argument, NULL, O_DROP},
        {"threads", required_argument, NULL, O_THREADS},
        {"log-level", required_argument, NULL, O_LOGLEVEL},
        {"test-only-page-max-bytes", required_argument, NULL, O_PAGE_MAX},
        {"max-page-size", required_argument, NULL, O_MAX_PAGE},
        {"alerts-list", required_argument, NULL, O_ALERTS_LIST},
        {"without-resolved-status", no_argument, NULL, O_NO_RESOLVED},
        {"key-activation-delay-ms", required_argument, NULL, O_KEY_ACTIVATION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cs_config *c = &o->config;
    /* V2 is what the live platform does (spec §1, revised 2026-12-07); V1, the private beta,
     * stays behind --mode v1. */
    c->mode = CS_MODE_V2;
    c->callback_timeout_ms = CS_DEFAULT_CALLBACK_TIMEOUT_MS;
    c->portal_timeout_ms = CS_DEFAULT_PORTAL_TIMEOUT_MS;
    c->retry_delay_ms = CS_DEFAULT_RETRY_DELAY_MS;
    c->frame_check = 1;
    snprintf(c->db_path, sizeof c->db_path, ":memory:");
    o->listen = "127.0.0.1:8800";
    int opt;
    long v;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case O_LISTEN:
            o->listen = optarg;
            break;
        case O_DB:
            if (strlen(optarg) >= sizeof c->db_path) {
                fprintf(stderr, "cloudsim serve: --db path is too long\n");
                return 2;
            }
            snprintf(c->db_path, sizeof c->db_path, "%s", optarg);
            break;
        case O_CONFIG:
            o->config_file = optarg;
            break;
        case O_ORG:
            o->org = optarg;
            break;
        case O_INSTANCE:
            o->instance = optarg;
            break;
        case O_USER:
            o->user = optarg;
            break;
        case O_MODE:
            if (strcmp(optarg, "v1") == 0)
                c->mode = CS_MODE_V1;
            else if (strcmp(optarg, "v2") == 0)
                c->mode = CS_MODE_V2;
            else {
                fprintf(stderr, "cloudsim serve: --mode must be v1 or v2, not \"%s\"\n", optarg);
                return 2;
            }
            break;
        case O_STRICT:
            c->strict = 1;
            break;
        case O_RATE:
            if (parse_rate(optarg, &c->rate_limit_per_second))
                return 2;
            break;
        case O_CB_TIMEOUT:
            if (parse_long("--callback-timeout-ms", optarg, 1, 600000, &c->callback_timeout_ms))
                return 2;
            break;
        case O_PORTAL_TIMEOUT:
            if (parse_long("--portal-timeout-ms", optarg, 1, 600000, &c->portal_timeout_ms))
                return 2;
            break;
        case O_RETRY:
            if (parse_long("--retry-delay-ms", optarg, 0, 60000, &c->retry_delay_ms))
                return 2;
            break;
        case O_PUBLIC: {
            struct cs_url u;
            if (cs_url_parse(optarg, &u) != 0) {
                fprintf(stderr, "cloudsim serve: --public-url must be an absolute http(s) URL\n");
                return 2;
            }
            snprintf(c->public_url, sizeof c->public_url, "%s", u.origin);
            break;
        }
        case O_NOFRAME:
            c->frame_check = 0;
            break;
        case O_DUP:
            c->faults.duplicate = 1;
            break;
        case O_DELAY:
            if (parse_long("--fault-delay-ms", optarg, 0, 60000, &c->faults.delay_ms))
                return 2;
            break;
        case O_DROP:
            if (parse_long("--fault-drop-responses", optarg, 0, 10, &v))
                return 2;
            c->faults.drop_responses = (int)v;
            break;
        case O_THREADS:
            if (parse_long("--threads", optarg, 1, 256, &o->threads))
                return 2;
            break;
        case O_LOGLEVEL:
            if (strcmp(optarg, "debug") == 0)
                log_set_level(LOG_DEBUG);
            else if (strcmp(optarg, "info") == 0)
                log_set_level(LOG_INFO);
            else if (strcmp(optarg, "warn") == 0)
                log_set_level(LOG_WARN);
            else if (strcmp(optarg, "error") == 0)
                log_set_level(LOG_ERROR);
            else {
                fprintf(stderr, "cloudsim serve: unknown --log-level \"%s\"\n", optarg);
                return 2;
            }
            break;
        case O_PAGE_MAX:
            if (parse_long("--test-only-page-max-bytes", optarg, 1, 4 * 1024 * 1024, &v))
                return 2;
            c->page_max_bytes = (size_t)v;
            break;
        case O_MAX_PAGE:
            if (parse_long("--max-page-size", optarg, 1, 100, &c->max_page_size))
                return 2;
            break;
        case O_ALERTS_LIST:
            if (strcmp(optarg, "paged") == 0)
                c->alerts_list = CS_ALERTS_PAGED;
            else if (strcmp(optarg, "array") == 0)
                c->alerts_list = CS_ALERTS_ARRAY;
            else if (strcmp(optarg, "unpaged") == 0)
                c->alerts_list = CS_ALERTS_UNPAGED;
            else {
                fprintf(
                    stderr,
                    "cloudsim serve: --alerts-list must be paged, array or unpaged, not \"%s\"\n",
                    optarg);
                return 2;
            }
            break;
        case O_NO_RESOLVED:
            c->without_resolved = 1;
            break;
        case O_KEY_ACTIVATION:
            if (parse_long("--key-activation-delay-ms", optarg, 0, 600000,
                           &c->key_activation_delay_ms))
                return 2;
            c->key_activation = 1;
            break;
        case 'h':
            fputs(serve_usage, stdout);
            return 1;
        default:
            fputs(serve_usage, stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "cloudsim serve: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (o->config_file && (o->org || o->instance || o->user)) {
        fprintf(stderr, "cloudsim serve: use either --config or --org/--instance/--user\n");
        return 2;
    }
    return 0;
}

static json_t *seed_config(const struct serve_options *o)
{
    if (o->config_file) {
        json_error_t err;
        json_t *config = json_load_file(o->config_file, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_object(config)) {
            fprintf(stderr, "cloudsim serve: --config %s: %s (line %d)\n", o->config_file,
                    config ? "not a JSON object" : err.text, err.line);
            json_decref(config);
            return NULL;
        }
        return config;
    }
    return json_pack("{s:[{s:s, s:[{s:s}], s:[{s:s, s:s}]}]}", "organizations", "name",
                     o->org ? o->org : "Demo organization", "instances", "name",
                     o->instance ? o->instance : "sandbox", "users", "email",
                     o->user ? o->user : "demo@example.com", "name", "Demo user");
}

/* http://HOST:PORT from the listen address and the bound port. */
static void listen_url(const char *listen, unsigned short port, char *out, size_t cap)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    size_t n = colon ? (size_t)(colon - listen) : 0;
    if (n >= sizeof host)
        n = sizeof host - 1;
    memcpy(host, listen, n);
    host[n] = '\0';
    if (!*host || strcmp(host, "0.0.0.0") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    else if (strcmp(host, "::") == 0 || strcmp(host, "[::]") == 0)
        snprintf(host, sizeof host, "[::1]");
    int bare_v6 = strchr(host, ':') && host[0] != '[';
    snprintf(out, cap, "http://%s%s%s:%u", bare_v6 ? "[" : "", host, bare_v6 ? "]" : "", port);
}

static int serve(int argc, char **argv)
{
    struct serve_options o = {0};
    int rc = parse_serve(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    json_t *seed = seed_config(&o);
    if (!seed)
        return 2;
    cs_alert_configure(o.config.without_resolved);
    struct cloudsim *cs = NULL;
    struct http_server *srv = NULL;
    rc = cs_new(&o.config, &cs);
    if (rc) {
        fprintf(stderr, "cloudsim serve: cannot open the database %s: %s\n", o.config.db_path,
                capp_strerror(rc));
        json_decref(seed);
        return 1;
    }
    char err[256] = "";
    rc = cs_seed_config(cs, seed, err, sizeof err);
    json_decref(seed);
    if (rc) {
        fprintf(stderr, "cloudsim serve: bad organization config: %s\n",
                err[0] ? err : capp_strerror(rc));
        cs_free(cs);
        return 2;
    }
    struct http_server_config hc = {
        .listen = o.listen, .threads = (unsigned)o.threads, .name = "cloudsim"};
    rc = http_server_new(&hc, &srv);
    if (rc == 0)
        rc = cs_admin_register(cs, srv);
    if (rc == 0)
        rc = cs_dashboard_register(cs, srv);
    if (rc == 0)
        rc = cs_gateway_register(cs, srv);
    if (rc) {
        fprintf(stderr, "cloudsim serve: cannot set up the server on %s: %s\n", o.listen,
                capp_strerror(rc));
        http_server_free(srv);
        cs_free(cs);
        return rc == CAPP_EINVAL ? 2 : 1;
    }
    cs->srv = srv;
    rc = http_server_start(srv);
    if (rc) {
        fprintf(stderr, "cloudsim serve: cannot listen on %s\n", o.listen);
        http_server_free(srv);
        cs_free(cs);
        return 1;
    }
    char url[300];
    listen_url(o.listen, http_server_port(srv), url, sizeof url);
    if (!cs->config.public_url[0])
        snprintf(cs->config.public_url, sizeof cs->config.public_url, "%s", url);
    char dashboard[400];
    snprintf(dashboard, sizeof dashboard, "%s/dashboard", cs->config.public_url);
    log_info("server.listening", "url", url, "dashboard", dashboard, "mode",
             cs->config.mode == CS_MODE_V2 ? "v2" : "v1", "strict",
             cs->config.strict ? "yes" : "no", NULL);

    int sig = 0;
    sigwait(&signals, &sig);
    log_info("server.stopping", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    http_server_stop(srv);
    http_server_free(srv);
    cs_free(cs);
    log_info("server.stopped", NULL);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(main_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    if (strcmp(cmd, "serve") == 0)
        return serve(sub_argc, sub_argv);
    if (strcmp(cmd, "register") == 0)
        return cs_cli_register(sub_argc, sub_argv);
    if (strcmp(cmd, "install") == 0)
        return cs_cli_install(sub_argc, sub_argv);
    if (strcmp(cmd, "launch") == 0)
        return cs_cli_launch(sub_argc, sub_argv);
    if (strcmp(cmd, "uninstall") == 0)
        return cs_cli_uninstall(sub_argc, sub_argv);
    if (strcmp(cmd, "state") == 0)
        return cs_cli_state(sub_argc, sub_argv);
    if (strcmp(cmd, "seed") == 0)
        return cs_seed_main(sub_argc, sub_argv);
    fprintf(stderr, "cloudsim: unknown command \"%s\"\n%s", cmd, main_usage);
    return 2;
}
