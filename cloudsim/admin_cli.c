/*
 * Client subcommands: parse flags, build one admin API request, print the answer.
 * Errors name the bad input on stderr ("cloudsim install: --app is required").
 */
#include "cloudsim/admin_cli.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/httpc.h"
#include "capp/json.h"
#include "capp/limits.h"

#define CLI_TIMEOUT_MS 120000 /* a V1 flow may take 3 attempts of 10 s plus retries */

struct cli {
    const char *name;
    const char *server;
    int json;
};

static const char *default_server(void)
{
    const char *env = getenv("CLOUDSIM_URL");
    return env && *env ? env : "http://127.0.0.1:8800";
}

static int usage(const char *name, const char *text)
{
    fprintf(stderr, "usage: cloudsim %s %s\n", name, text);
    return 2;
}

/* Sends the request; prints errors; returns the parsed answer on 2xx (caller decrefs). */
static void print_json(const json_t *answer)
{
    char *text = json_to_string_flags(answer, JSON_INDENT(2));
    if (text)
        puts(text);
    free(text);
}

static json_t *call(const struct cli *cli, const char *method, const char *path, const char *body,
                    int *exit_code)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", cli->server, path);
    struct httpc *client = NULL;
    *exit_code = 1;
    if (httpc_new(&client) != 0) {
        fprintf(stderr, "cloudsim %s: out of memory\n", cli->name);
        return NULL;
    }
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json", NULL};
    struct httpc_request request = {.method = method,
                                    .url = url,
                                    .body = body,
                                    .body_len = body ? strlen(body) : 0,
                                    .headers = headers,
                                    .connect_timeout_ms = 5000,
                                    .total_timeout_ms = CLI_TIMEOUT_MS};
    struct httpc_response resp = {0};
    int rc = httpc_perform(client, &request, &resp);
    json_t *answer = NULL;
    if (rc != 0) {
        fprintf(stderr, "cloudsim %s: cannot reach %s (is `cloudsim serve` running?)\n", cli->name,
                cli->server);
    } else {
        answer = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
        if (resp.status >= 200 && resp.status < 300 && answer) {
            *exit_code = 0;
        } else {
            const char *error = json_string_value(json_object_get(answer, "error"));
            const char *code = json_string_value(json_object_get(answer, "code"));
            fprintf(stderr, "cloudsim %s: %s (%s, HTTP %ld)\n", cli->name,
                    error ? error : "unexpected answer", code ? code : "no code", resp.status);
            if (cli->json && answer)
                print_json(answer);
            json_decref(answer);
            answer = NULL;
        }
    }
    httpc_response_free(&resp);
    httpc_free(client);
    return answer;
}

static int print_field(const struct cli *cli, json_t *answer, const char *field)
{
    if (cli->json) {
        print_json(answer);
    } else {
        const char *v = json_string_value(json_object_get(answer, field));
        printf("%s\n", v ? v : "");
    }
    json_decref(answer);
    return 0;
}

static int send_body(const struct cli *cli, const char *path, json_t *body, const char *field)
{
    char *text = json_to_string(body);
    json_decref(body);
    if (!text)
        return 1;
    int exit_code;
    json_t *answer = call(cli, "POST", path, text, &exit_code);
    free(text);
    if (!answer)
        return exit_code;
    return print_field(cli, answer, field);
}

enum {
    OPT_SERVER = 1000,
    OPT_JSON,
    OPT_APP,
    OPT_INSTALL,
    OPT_INSTANCE,
    OPT_USER,
    OPT_PERMS,
    OPT_ALL,
    OPT_ORG,
    OPT_DUP,
    OPT_DELAY,
    OPT_DROP,
    OPT_FORGED
};

static const struct option cli_options[] = {
    {"server", required_argument, NULL, OPT_SERVER},
    {"json", no_argument, NULL, OPT_JSON},
    {"app", required_argument, NULL, OPT_APP},
    {"install", required_argument, NULL, OPT_INSTALL},
    {"instance", required_argument, NULL, OPT_INSTANCE},
    {"user", required_argument, NULL, OPT_USER},
    {"permissions", required_argument, NULL, OPT_PERMS},
    {"all-permissions", no_argument, NULL, OPT_ALL},
    {"org", required_argument, NULL, OPT_ORG},
    {"fault-duplicate", no_argument, NULL, OPT_DUP},
    {"fault-delay-ms", required_argument, NULL, OPT_DELAY},
    {"fault-drop-responses", required_argument, NULL, OPT_DROP},
    {"forged", no_argument, NULL, OPT_FORGED},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct cli_args {
    struct cli cli;
    const char *app, *install, *instance, *user, *permissions, *org;
    int all, duplicate, have_faults, forged;
    long delay_ms, drop;
    int help;
};

static int parse(const char *name, int argc, char **argv, struct cli_args *a)
{
    memset(a, 0, sizeof *a);
    a->cli.name = name;
    a->cli.server = default_server();
    optind = 1;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "h", cli_options, NULL)) != -1) {
        switch (c) {
        case OPT_SERVER:
            a->cli.server = optarg;
            break;
        case OPT_JSON:
            a->cli.json = 1;
            break;
        case OPT_APP:
            a->app = optarg;
            break;
        case OPT_INSTALL:
            a->install = optarg;
            break;
        case OPT_INSTANCE:
            a->instance = optarg;
            break;
        case OPT_USER:
            a->user = optarg;
            break;
        case OPT_PERMS:
            a->permissions = optarg;
            break;
        case OPT_ALL:
            a->all = 1;
            break;
        case OPT_ORG:
            a->org = optarg;
            break;
        case OPT_DUP:
            a->duplicate = a->have_faults = 1;
            break;
        case OPT_DELAY:
        case OPT_DROP: {
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0) {
                fprintf(stderr, "cloudsim %s: --%s needs a non-negative integer, not \"%s\"\n",
                        name, c == OPT_DELAY ? "fault-delay-ms" : "fault-drop-responses", optarg);
                return 2;
            }
            *(c == OPT_DELAY ? &a->delay_ms : &a->drop) = v;
            a->have_faults = 1;
            break;
        }
        case OPT_FORGED:
            a->forged = 1;
            break;
        case 'h':
            a->help = 1;
            break;
        default:
            return 2;
        }
    }
    return 0;
}

static void put_id(json_t *body, const char *field, const char *value)
{
    if (value)
        json_object_set_new(body, field, json_string(value));
}

static void put_faults(json_t *body, const struct cli_args *a)
{
    if (a->have_faults)
        json_object_set_new(body, "faults",
                            json_pack("{s:b, s:I, s:I}", "duplicate", a->duplicate, "delay_ms",
                                      (json_int_t)a->delay_ms, "drop_responses",
                                      (json_int_t)a->drop));
}

int cs_cli_register(int argc, char **argv)
{
    static const char text[] = "[--server URL] [--org ORG_ID] [--json] MANIFEST.json";
    struct cli_args a;
    int rc = parse("register", argc, argv, &a);
    if (rc || a.help || optind != argc - 1)
        return a.help ? (usage("register", text), 0) : usage("register", text);
    json_error_t jerr;
    json_t *manifest = json_load_file(argv[optind], JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(manifest)) {
        fprintf(stderr, "cloudsim register: %s: not a JSON object (%s, line %d)\n", argv[optind],
                jerr.text, jerr.line);
        json_decref(manifest);
        return 2;
    }
    char path[512];
    if (a.org && !json_is_valid_id(a.org, CAPP_MAX_ID_BYTES)) {
        fprintf(stderr, "cloudsim register: --org \"%s\" is not a valid ID\n", a.org);
        json_decref(manifest);
        return 2;
    }
    snprintf(path, sizeof path, "/admin/apps%s%s", a.org ? "?organization_id=" : "",
             a.org ? a.org : "");
    return send_body(&a.cli, path, manifest, "app_id");
}

int cs_cli_install(int argc, char **argv)
{
    static const char text[] =
        "[--server URL] --app APP_ID (--permissions P1,P2 | --all-permissions) [--instance ID] "
        "[--user ID] [--fault-duplicate] [--fault-delay-ms N] [--fault-drop-responses N] [--json]";
    struct cli_args a;
    int rc = parse("install", argc, argv, &a);
    if (rc || a.help)
        return a.help ? (usage("install", text), 0) : rc;
    if (!a.app) {
        fprintf(stderr, "cloudsim install: --app is required\n");
        return usage("install", text);
    }
    if (!a.permissions && !a.all) {
        fprintf(stderr, "cloudsim install: --permissions or --all-permissions is required\n");
        return usage("install", text);
    }
    json_t *body = json_pack("{s:s}", "app_id", a.app);
    put_id(body, "instance_id", a.instance);
    put_id(body, "user_id", a.user);
    if (a.all)
        json_object_set_new(body, "all_permissions", json_true());
    if (a.permissions) {
        json_t *list = json_array();
        char *copy = strdup(a.permissions), *save = NULL;
        for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p; p = strtok_r(NULL, ",", &save))
            json_array_append_new(list, json_string(p));
        free(copy);
        json_object_set_new(body, "permissions", list);
    }
    put_faults(body, &a);
    return send_body(&a.cli, "/admin/installs", body, "installed_app_id");
}

static json_t *target_body(const struct cli_args *a)
{
    json_t *body = json_object();
    put_id(body, "installed_app_id", a->install);
    put_id(body, "app_id", a->app);
    put_id(body, "instance_id", a->instance);
    return body;
}

int cs_cli_launch(int argc, char **argv)
{
    static const char text[] =
        "[--server URL] (--install INSTALLED_APP_ID | --app APP_ID [--instance ID]) "
        "[--user USER_ID] [--json]";
    struct cli_args a;
    int rc = parse("launch", argc, argv, &a);
    if (rc || a.help)
        return a.help ? (usage("launch", text), 0) : rc;
    if (!a.install && !a.app) {
        fprintf(stderr, "cloudsim launch: --install or --app is required\n");
        return usage("launch", text);
    }
    json_t *body = target_body(&a);
    put_id(body, "user_id", a.user);
    return send_body(&a.cli, "/admin/launches", body, "portal_url");
}

int cs_cli_uninstall(int argc, char **argv)
{
    static const char text[] =
        "[--server URL] (--install INSTALLED_APP_ID | --app APP_ID [--instance ID]) "
        "[--fault-duplicate] [--fault-delay-ms N] [--fault-drop-responses N] [--json]\n"
        "       --forged: send the uninstall event only (a forgery: the install stays active in "
        "cloudsim, its key valid); prints the app's HTTP status";
    struct cli_args a;
    int rc = parse("uninstall", argc, argv, &a);
    if (rc || a.help)
        return a.help ? (usage("uninstall", text), 0) : rc;
    if (!a.install && !a.app) {
        fprintf(stderr, "cloudsim uninstall: --install or --app is required\n");
        return usage("uninstall", text);
    }
    json_t *body = target_body(&a);
    if (a.forged) {
        if (a.have_faults) {
            fprintf(stderr, "cloudsim uninstall: --forged takes no --fault-* options\n");
            json_decref(body);
            return usage("uninstall", text);
        }
        char *text_body = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (!text_body)
            return 1;
        int exit_code;
        json_t *answer = call(&a.cli, "POST", "/admin/forged-uninstalls", text_body, &exit_code);
        free(text_body);
        if (!answer)
            return exit_code;
        if (!a.cli.json)
            printf("%lld\n", (long long)json_integer_value(json_object_get(answer, "app_status")));
        return a.cli.json ? print_field(&a.cli, answer, "") : (json_decref(answer), 0);
    }
    put_faults(body, &a);
    return send_body(&a.cli, "/admin/uninstalls", body, "installed_app_id");
}

int cs_cli_state(int argc, char **argv)
{
    struct cli_args a;
    int rc = parse("state", argc, argv, &a);
    if (rc || a.help)
        return a.help ? (usage("state", "[--server URL]"), 0) : rc;
    int exit_code;
    json_t *answer = call(&a.cli, "GET", "/admin/state", NULL, &exit_code);
    if (!answer)
        return exit_code;
    a.cli.json = 1;
    return print_field(&a.cli, answer, "");
}
