/*
 * audit_cli.c — `kyc audit verify` and `kyc audit export` (contract in audit.h).
 *
 * The database (an SQLite path or a PostgreSQL connection string) is never migrated and its
 * connection refuses writes: checking a log must not change it, and a database without the
 * audit tables is an error, not an empty log. A connection string is never printed (it may
 * hold a password).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capp/err.h"
#include "capp/json.h"
#include "capp/sql.h"
#include "kyc/audit.h"

struct opts {
    const char *db;
    const char *install;
    const char *identity;
};

static int usage(const char *problem)
{
    if (problem)
        fprintf(stderr, "kyc audit: %s\n", problem);
    fputs("usage: kyc audit verify --db PATH|URL [--install ID]\n"
          "       kyc audit export --db PATH|URL --install ID --identity ID\n",
          stderr);
    return 2;
}

static int parse(int argc, char **argv, struct opts *o)
{
    for (int i = 2; i < argc; i++) {
        const char **slot = NULL;
        if (strcmp(argv[i], "--db") == 0)
            slot = &o->db;
        else if (strcmp(argv[i], "--install") == 0)
            slot = &o->install;
        else if (strcmp(argv[i], "--identity") == 0)
            slot = &o->identity;
        if (!slot) {
            fprintf(stderr, "kyc audit: unknown option '%s'\n", argv[i]);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "kyc audit: %s needs a value\n", argv[i]);
            return -1;
        }
        *slot = argv[++i];
    }
    if (!o->db) {
        fputs("kyc audit: --db PATH|URL is required\n", stderr);
        return -1;
    }
    /* the limits of kyc serve's --db (never quoting the target: it may carry a password) */
    char why[300];
    if (sql_check_target(o->db, why, sizeof why) != 0) {
        fprintf(stderr, "kyc audit: --db %s\n", why);
        return -1;
    }
    if (o->install && !json_is_valid_id(o->install, CAPP_MAX_ID_BYTES)) {
        fprintf(stderr, "kyc audit: --install '%.200s' is not a valid id\n", o->install);
        return -1;
    }
    if (o->identity && !json_is_valid_id(o->identity, CAPP_MAX_ID_BYTES)) {
        fprintf(stderr, "kyc audit: --identity '%.200s' is not a valid id\n", o->identity);
        return -1;
    }
    return 0;
}

/* 1 when both audit tables exist in the database. */
static int has_audit_tables(struct sql_conn *db)
{
    const char *sql =
        sql_engine_of(db) == SQL_POSTGRES
            ? "SELECT count(*) FROM information_schema.tables WHERE table_schema ="
              " current_schema() AND table_name IN ('kyc_audit_log', 'kyc_audit_head')"
            : "SELECT count(*) FROM sqlite_master"
              " WHERE type = 'table' AND name IN ('kyc_audit_log', 'kyc_audit_head')";
    struct sql_stmt *stmt = NULL;
    int found = 0;
    if (sql_prepare(db, sql, &stmt) == 0) {
        found = sql_step(stmt) == 1 && sql_column_int64(stmt, 0) == 2;
        sql_finalize(stmt);
    }
    return found;
}

static int open_log(const char *target, struct sql_conn **out)
{
    struct stat st;
    int postgres = sql_target_is_postgres(target);
    /* sql_open would create a missing SQLite file */
    if (!postgres && stat(target, &st) != 0) {
        fprintf(stderr, "kyc audit: cannot open %s: %s\n", target, strerror(errno));
        return -1;
    }
    struct sql_conn *db = NULL;
    if (sql_open(target, &db) != 0) {
        /* a connection string may hold a password: never echo it */
        fprintf(stderr, "kyc audit: cannot open %s\n",
                postgres ? "the PostgreSQL database" : target);
        return -1;
    }
    /* checking a log must not change it: the connection refuses writes */
    if (sql_exec(db, postgres ? "SET default_transaction_read_only = on"
                              : "PRAGMA query_only = ON") != 0 ||
        !has_audit_tables(db)) {
        fprintf(stderr, "kyc audit: %s holds no audit log (tables kyc_audit_log/kyc_audit_head)\n",
                postgres ? "the PostgreSQL database" : target);
        sql_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

static void print_install(FILE *f, const struct audit_install_report *r)
{
    if (r->brk == AUDIT_INTACT)
        fprintf(f, "audit: install %s: intact, %lld records, head seq %lld sha256 %s\n",
                r->installed_app_id, (long long)r->records, (long long)r->head_seq, r->head_hash);
    else
        fprintf(f, "audit: install %s: TAMPERED at seq %lld: %s: %s\n", r->installed_app_id,
                (long long)r->bad_seq, audit_break_name(r->brk), r->detail);
}

static int cmd_verify(struct sql_conn *db, const struct opts *o)
{
    struct audit_report report;
    int rc = audit_verify(db, o->install, &report);
    if (rc) {
        fprintf(stderr, "kyc audit: verify failed: %s\n", capp_strerror(rc));
        audit_report_free(&report);
        return 2;
    }
    if (report.count == 0)
        printf("audit: %s holds no audit records\n",
               sql_target_is_postgres(o->db) ? "the PostgreSQL database" : o->db);
    for (size_t i = 0; i < report.count; i++)
        print_install(stdout, &report.installs[i]);
    if (report.tampered)
        printf("audit: %zu of %zu install chains TAMPERED\n", report.tampered, report.count);
    int exit_code = report.tampered ? 1 : 0;
    audit_report_free(&report);
    return exit_code;
}

static int count_record(const struct audit_record *record, void *ctx)
{
    (void)record;
    ++*(size_t *)ctx;
    return 1; /* one is enough */
}

static int cmd_export(struct sql_conn *db, const struct opts *o)
{
    size_t found = 0;
    int rc = audit_history(db, o->install, o->identity, count_record, &found);
    if (rc < 0) {
        fprintf(stderr, "kyc audit: export failed: %s\n", capp_strerror(rc));
        return 2;
    }
    if (!found) {
        fprintf(stderr, "kyc audit: no audit records for identity %s in install %s\n", o->identity,
                o->install);
        return 2;
    }
    char *json = NULL;
    rc = audit_dossier_json(db, o->install, o->identity, NULL, &json);
    if (rc) {
        fprintf(stderr, "kyc audit: export failed: %s\n", capp_strerror(rc));
        return 2;
    }
    puts(json);
    json_t *doc = json_loads(json, 0, NULL);
    json_t *chain = json_object_get(doc, "chain");
    int exit_code = 0;
    if (!json_is_true(json_object_get(chain, "intact"))) {
        const char *brk = json_string_value(json_object_get(chain, "break"));
        const char *detail = json_string_value(json_object_get(chain, "detail"));
        fprintf(stderr,
                "kyc audit: warning: install %s's chain is TAMPERED at seq %lld: %s: %s; the "
                "dossier may be false\n",
                o->install, (long long)json_integer_value(json_object_get(chain, "bad_seq")),
                brk ? brk : "unknown", detail ? detail : "");
        exit_code = 1;
    }
    json_decref(doc);
    free(json);
    return exit_code;
}

int audit_cli_main(int argc, char **argv)
{
    if (argc < 2)
        return usage(NULL);
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
        fputs("usage: kyc audit verify --db PATH|URL [--install ID]\n"
              "       kyc audit export --db PATH|URL --install ID --identity ID\n",
              stdout);
        return 0;
    }
    if (strcmp(sub, "verify") != 0 && strcmp(sub, "export") != 0) {
        fprintf(stderr, "kyc audit: unknown subcommand '%.100s'\n", sub);
        return usage(NULL);
    }
    struct opts o = {0};
    if (parse(argc, argv, &o) != 0)
        return usage(NULL);
    if (strcmp(sub, "export") == 0 && (!o.install || !o.identity))
        return usage("export needs --install ID and --identity ID");
    struct sql_conn *db = NULL;
    if (open_log(o.db, &db) != 0)
        return 2;
    int exit_code = strcmp(sub, "verify") == 0 ? cmd_verify(db, &o) : cmd_export(db, &o);
    sql_close(db);
    return exit_code;
}
