#include "serve.h"

#include <errno.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "cloud.h"
#include "crypto.h"
#include "err.h"
#include "json.h"
#include "keycheck.h"
#include "limits.h"
#include "log.h"
#include "sql.h"

/* The program's names for what capp_serve_main reads (capp_serve_hooks), defaults filled in. */
struct names {
    const char *prefix;     /* of the environment variables */
    const char *default_db; /* --db when neither the flag nor <prefix>_DB is given */
    char master_key[CAPP_SERVE_MAX_ENV_PREFIX + 16];
};

static void usage(FILE *out, const struct names *n)
{
    fprintf(
        out,
        "usage: serve [--app-id ID] [--listen HOST:PORT] [--db TARGET] [--public-url URL]\n"
        "             [--master-key-file PATH] [--session-ttl 300..900] "
        "[--frame-ancestors ORIGINS]\n"
        "             [--threads N] [--quiet]\n"
        "--db TARGET (or %s_DB) is where everything is stored, default %s:\n"
        "  a file path            SQLite: one server process owns the file\n"
        "  postgresql://HOST/DB   PostgreSQL, any libpq connection string (URL or\n"
        "  host=H dbname=D        keywords): any number of replicas share one database,\n"
        "                         each holding about one connection per thread (docs/capp.md)\n"
        "  Give the password in PGPASSWORD or ~/.pgpass rather than in the string; logs show\n"
        "  only the engine, host, port and database name. At most %d bytes; a SQLite path\n"
        "  at most %zu bytes once made absolute (SQLite's limit).\n"
        "The master key comes from %s (64 hex characters) or --master-key-file.\n"
        "Without --app-id the first install event pins its app_id (logged as capp.app.pinned).\n",
        n->prefix, n->default_db, CAPP_MAX_DB_TARGET_BYTES, sql_sqlite_path_max(), n->master_key);
}

static int fail(const struct names *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(const struct names *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "serve: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    usage(stderr, n);
    va_end(ap);
    return 2;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* What a refused key is, for the operator: seal_keyring_add_hex's codes in words. */
static const char *key_problem(int rc)
{
    switch (rc) {
    case CAPP_ECRYPTO:
        return "is all zeros, a placeholder that anyone could open what it seals with; generate "
               "one with: openssl rand -hex 32";
    case CAPP_EEXIST:
        return "repeats a key given earlier";
    case CAPP_ETOOBIG:
        return "is one key too many (at most 4: the primary and older ones)";
    default:
        return "is not 64 hex characters";
    }
}

/* Each non-empty line of the file is a 64-hex key; the first is primary. The file must be
 * readable by its owner only: a key that group or others can read is refused, not warned
 * about, since a warning in a log nobody reads protects nothing. */
static int load_key_file(const char *path, struct seal_keyring *kr)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "serve: cannot read master key file %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "serve: master key file %s is not a regular file\n", path);
        fclose(f);
        return -1;
    }
    if (st.st_mode & 077) {
        fprintf(stderr,
                "serve: master key file %s has mode %04o: group or others can read or change it; "
                "it must be 0600 or 0400 (chmod 600 %s)\n",
                path, (unsigned)(st.st_mode & 07777), path);
        fclose(f);
        return -1;
    }
    char line[256];
    int n = 0, rc = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        int added = seal_keyring_add_hex(kr, line);
        if (added != 0) {
            fprintf(stderr, "serve: master key file %s line %d %s\n", path, lineno,
                    key_problem(added));
            rc = -1;
            break;
        }
        n++;
    }
    crypto_wipe(line, sizeof line);
    fclose(f);
    if (rc == 0 && n == 0) {
        fprintf(stderr, "serve: master key file %s holds no key\n", path);
        rc = -1;
    }
    return rc;
}

/* Only these parts of a connection string are shown: enough to tell which server and database a
 * replica uses, nothing that authenticates (user, password, passfile, sslkey, ...). */
static const char *const shown_keywords[] = {"host", "hostaddr", "port", "dbname"};

void capp_serve_describe_db(const char *target, char *out, size_t cap)
{
    if (!cap)
        return;
    if (!target || !sql_target_is_postgres(target)) {
        snprintf(out, cap, "sqlite %s", target ? target : "");
        return;
    }
    /* libpq's own parser, so what is shown is what libpq will use. Its error message is not
     * shown: it quotes the string it could not parse. */
    char *error = NULL;
    PQconninfoOption *options = PQconninfoParse(target, &error);
    PQfreemem(error);
    if (!options) {
        snprintf(out, cap, "postgresql (unparsable connection string)");
        return;
    }
    size_t used = (size_t)snprintf(out, cap, "postgresql");
    for (size_t k = 0; k < COUNTOF(shown_keywords); k++)
        for (PQconninfoOption *o = options; o->keyword && used < cap; o++)
            if (o->val && *o->val && strcmp(o->keyword, shown_keywords[k]) == 0)
                used += (size_t)snprintf(out + used, cap - used, " %s=%s", o->keyword, o->val);
    /* The parsed options hold the password too. */
    for (PQconninfoOption *o = options; o->keyword; o++)
        if (o->val)
            crypto_wipe(o->val, strlen(o->val));
    PQconninfoFree(options);
}

/* <prefix>_<name> from the environment, or fallback when it is unset or empty. */
static const char *env_or(const struct names *n, const char *name, const char *fallback)
{
    char var[CAPP_SERVE_MAX_ENV_PREFIX + 32];
    snprintf(var, sizeof var, "%s_%s", n->prefix, name);
    const char *v = getenv(var);
    return v && *v ? v : fallback;
}

int capp_serve_main(int argc, char **argv, const struct capp_serve_hooks *hooks)
{
    static const struct capp_serve_hooks none = {0};
    if (!hooks)
        hooks = &none;
    struct names names = {
        .prefix = CAPP_SERVE_ENV_PREFIX_DEFAULT,
        .default_db = hooks->default_db ? hooks->default_db : CAPP_SERVE_DB_DEFAULT,
    };
    if (hooks->env_prefix && *hooks->env_prefix &&
        strlen(hooks->env_prefix) <= CAPP_SERVE_MAX_ENV_PREFIX)
        names.prefix = hooks->env_prefix;
    snprintf(names.master_key, sizeof names.master_key, "%s_MASTER_KEY", names.prefix);
    /* Before any Cloud client exists: every one of them names the program. */
    cloud_set_default_product(hooks->product);
    struct capp_config config = {
        .listen = env_or(&names, "LISTEN", "127.0.0.1:8080"),
        .db_path = env_or(&names, "DB", names.default_db),
        .public_url = env_or(&names, "PUBLIC_URL", NULL),
        .app_id = env_or(&names, "APP_ID", NULL),
        .frame_ancestors = env_or(&names, "FRAME_ANCESTORS", NULL),
        .session_ttl_seconds = CAPP_SESSION_TTL_DEFAULT,
        .launch_ttl_seconds = CAPP_LAUNCH_TOKEN_TTL_SECONDS,
        .shell_title = hooks->title,
    };
    /* which of the two gave the database target, for the message that refuses it */
    char db_source[CAPP_SERVE_MAX_ENV_PREFIX + 32];
    if (strcmp(config.db_path, names.default_db) == 0)
        snprintf(db_source, sizeof db_source, "the default --db");
    else
        snprintf(db_source, sizeof db_source, "%s_DB", names.prefix);
    const char *key_file = env_or(&names, "MASTER_KEY_FILE", NULL);
    const char *ttl = env_or(&names, "SESSION_TTL", NULL);
    int test_session_ttl = 0, test_launch_ttl = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quiet") == 0) {
            config.quiet = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, &names);
            if (hooks->usage)
                fputs(hooks->usage, stdout);
            return 0;
        }
        if (!v)
            return fail(&names, "option %s needs a value", a);
        i++;
        if (strcmp(a, "--listen") == 0)
            config.listen = v;
        else if (strcmp(a, "--db") == 0) {
            config.db_path = v;
            snprintf(db_source, sizeof db_source, "--db");
        } else if (strcmp(a, "--public-url") == 0)
            config.public_url = v;
        else if (strcmp(a, "--app-id") == 0)
            config.app_id = v;
        else if (strcmp(a, "--master-key-file") == 0)
            key_file = v;
        else if (strcmp(a, "--session-ttl") == 0)
            ttl = v;
        else if (strcmp(a, "--frame-ancestors") == 0)
            config.frame_ancestors = v;
        else if (strcmp(a, "--threads") == 0) {
            if (parse_int(v, 1, 256, &threads))
                return fail(&names, "--threads must be 1..256, got '%s'", v);
        } else if (strcmp(a, "--test-only-session-ttl") == 0) {
            if (parse_int(v, 1, 86400, &test_session_ttl))
                return fail(&names, "--test-only-session-ttl must be 1..86400, got '%s'", v);
        } else if (strcmp(a, "--test-only-launch-ttl") == 0) {
            if (parse_int(v, 1, 3600, &test_launch_ttl))
                return fail(&names, "--test-only-launch-ttl must be 1..3600, got '%s'", v);
        } else if (strcmp(a, "--test-only-uninstall-window-ms") == 0 ||
                   strcmp(a, "--test-only-uninstall-backoff-ms") == 0) {
            int ms;
            if (parse_int(v, 1, 3600000, &ms))
                return fail(&names, "%s must be 1..3600000, got '%s'", a, v);
            if (strcmp(a, "--test-only-uninstall-window-ms") == 0)
                config.uninstall_window_ms = ms;
            else
                config.uninstall_backoff_ms = ms;
        } else {
            int used = hooks->option ? hooks->option(hooks->ctx, a, v) : 0;
            if (used < 0)
                return 2;
            if (used == 0)
                return fail(&names, "unknown option %s", a);
        }
    }
    /* Checked here, naming the flag or variable, rather than failing later as an opaque
     * "database error"; the message never quotes the target (it may carry a password). */
    char why[300];
    if (sql_check_target(config.db_path, why, sizeof why) != 0)
        return fail(&names, "%s %s", db_source, why);
    /* Optional (spec D1'): Cloud shows the app ID only after registration, which needs this
     * server answering already, so the first install can pin it instead. */
    if (config.app_id && !json_is_valid_id(config.app_id, CAPP_MAX_ID_BYTES))
        return fail(&names, "--app-id '%s' is not a valid ID ([A-Za-z0-9_-], at most 128)",
                    config.app_id);
    if (ttl &&
        parse_int(ttl, CAPP_SESSION_TTL_MIN, CAPP_SESSION_TTL_MAX, &config.session_ttl_seconds))
        return fail(&names, "--session-ttl must be 300..900 seconds (5-15 minutes), got '%s'", ttl);
    if (test_session_ttl)
        config.session_ttl_seconds = test_session_ttl;
    if (test_launch_ttl)
        config.launch_ttl_seconds = test_launch_ttl;
    config.threads = (unsigned)threads;

    size_t ul = config.public_url ? strlen(config.public_url) : 1;
    if (config.public_url && (ul == 0 || config.public_url[ul - 1] == '/' ||
                              (strncmp(config.public_url, "https://", 8) != 0 &&
                               strncmp(config.public_url, "http://", 7) != 0)))
        return fail(&names,
                    "--public-url '%s' must be an absolute http(s) URL without a trailing slash",
                    config.public_url);

    struct seal_keyring *kr = NULL;
    if (seal_keyring_new(&kr) != 0)
        return 1;
    int rc = 0;
    const char *env_key = getenv(names.master_key);
    if (key_file) {
        rc = load_key_file(key_file, kr);
    } else if (env_key && *env_key) {
        rc = seal_keyring_add_hex(kr, env_key);
        if (rc == CAPP_EINVAL)
            fprintf(stderr, "serve: %s must be exactly 64 hex characters\n", names.master_key);
        else if (rc)
            fprintf(stderr, "serve: %s %s\n", names.master_key, key_problem(rc));
    } else {
        fprintf(stderr,
                "serve: no master key: set %s (64 hex characters) or pass --master-key-file PATH\n",
                names.master_key);
        rc = -1;
    }
    if (rc) {
        seal_keyring_free(kr);
        return 2;
    }
    if (test_session_ttl || test_launch_ttl)
        log_warn("server.test_only_lifetimes", "session_ttl",
                 test_session_ttl ? "shortened" : "default", "launch_ttl",
                 test_launch_ttl ? "shortened" : "default", NULL);

    /* Signals are taken synchronously by this thread; workers never see them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The target itself may hold a password: only this account of it is ever printed. */
    char database[CAPP_SERVE_DB_DESCRIPTION_BYTES];
    capp_serve_describe_db(config.db_path, database, sizeof database);
    log_info("server.database", "database", database, NULL);
    struct capp_app *app = NULL;
    rc = capp_app_new(&config, kr, &app);
    if (rc) {
        fprintf(stderr,
                "serve: cannot start: %s (database %s; check --db, --listen, --public-url, "
                "--frame-ancestors)\n",
                capp_strerror(rc), database);
        seal_keyring_free(kr);
        return 1;
    }
    /* Before the server listens or any work starts (spec D30): a wrong key stops here, with
     * exit code 2 like every other configuration error, instead of failing every Cloud call. */
    struct keycheck_result check;
    int64_t check_started = clock_now_ms();
    rc = keycheck_run(config.db_path, kr, &check);
    if (rc) {
        if (rc == CAPP_ECRYPTO)
            fprintf(stderr, "serve: wrong master key for %s: %s\n", database, check.problem);
        else
            fprintf(stderr, "serve: cannot check the master key against %s: %s\n", database,
                    capp_strerror(rc));
        capp_app_free(app);
        seal_keyring_free(kr);
        return rc == CAPP_ECRYPTO ? 2 : 1;
    }
    char checked[24], elapsed[24];
    snprintf(checked, sizeof checked, "%ld", check.secrets_checked);
    snprintf(elapsed, sizeof elapsed, "%lld", (long long)(clock_now_ms() - check_started));
    log_info("server.master_key_checked", "key_id", seal_keyring_primary_id(kr), "secrets", checked,
             "ms", elapsed, "check_value",
             check.created    ? "created"
             : check.resealed ? "resealed"
                              : "verified",
             NULL);
    if (hooks->configure && (rc = hooks->configure(app, hooks->ctx)) != 0) {
        fprintf(stderr, "serve: app setup failed: %s\n", capp_strerror(rc));
        capp_app_free(app);
        seal_keyring_free(kr);
        return 1;
    }
    rc = capp_app_start(app);
    if (rc) {
        fprintf(stderr, "serve: cannot listen on %s\n", config.listen);
        capp_app_free(app);
        seal_keyring_free(kr);
        return 1;
    }
    int sig = 0;
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
        log_info("server.reload", "signal", "SIGHUP", NULL);
        if (hooks->reload)
            hooks->reload(app, hooks->ctx);
    }
    log_info("server.stopping", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    http_server_stop(app->http);
    if (hooks->shutdown)
        hooks->shutdown(app, hooks->ctx);
    capp_app_free(app);
    seal_keyring_free(kr);
    log_info("server.stopped", NULL);
    return 0;
}
