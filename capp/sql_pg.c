/*
 * sql_pg.c — the PostgreSQL driver of capp/sql.h, over libpq.
 *
 * Statements. The portable "?" / "?N" parameters are rewritten to "$N" once, when the statement
 * is created (sql_pg_rewrite, below). A cached statement is prepared on the server (PQprepare,
 * names s1, s2, … per connection) at its first execution, with the types of the values then
 * bound: BIGINT, DOUBLE PRECISION, TEXT, BYTEA (a NULL takes the last type seen at its index, or
 * lets the server infer it). A later execution whose non-NULL types differ prepares again under
 * a new name. An uncached statement (a text already in use) runs unnamed (PQexecParams) and
 * leaves nothing on the server. Values go as text, except blobs, which go binary; results come
 * as text, and bytea columns are decoded on demand. A step buffers the whole result.
 *
 * Lost connections. A call that finds the connection gone (libpq reports CONNECTION_BAD, or the
 * server says class 08 or 57P01..57P03) answers CAPP_ENETWORK and marks it lost; the next
 * prepare, exec, begin or ping resets it (PQreset), runs the session settings again and bumps
 * the connection's generation, so every cached statement is prepared afresh on the new server
 * session while the cache itself survives. A connection lost inside a transaction stays refused
 * until the caller rolls back: statements meant for the lost transaction must never run one by
 * one in autocommit.
 */
#include <libpq-fe.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "sql_internal.h"

/* pg_type OIDs of the four types values are bound as (fixed in PostgreSQL's catalog). */
enum {
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_TEXT = 25,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_NUMERIC = 1700,
    OID_BOOL = 16
};

/* Every new or reset session: UTF-8 text, UTC times, and no statement that holds a replica's
 * thread for ever. */
static const char session_sql[] = "SET client_encoding TO 'UTF8'; SET TimeZone TO 'UTC';"
                                  " SET statement_timeout TO 30000";

struct pgsql_conn {
    struct sql_conn base;
    PGconn *pg;
    int lost;            /* the server went away; reset at the next prepare/exec/begin/ping */
    int in_xact;         /* a transaction was open after the last call that reached the server */
    int xact_lost;       /* the connection was lost inside a transaction not yet rolled back */
    unsigned generation; /* bumped by each reset: server-side statements before it are gone */
    unsigned next_name;  /* s1, s2, … */
};

struct pgsql_stmt {
    struct sql_stmt base;
    char *text; /* rewritten: $N parameters */
    int nparams;
    /* bound values of the next execution (NULL: SQL NULL), their types and formats */
    char **values;
    int *lengths;
    int *formats;
    Oid *types;
    Oid *last_types;     /* last non-NULL type per index, for a NULL bound there later */
    Oid *prepared_types; /* what the server-side statement was prepared with */
    Oid *exec_types;     /* scratch: the types of the execution under way */
    int prepared;
    unsigned prepared_generation;
    char name[16];
    PGresult *res;
    int executed;
    int row, nrows, ncols;
    unsigned char **decoded; /* bytea columns of the current row, decoded on demand */
    size_t *decoded_len;
};

static struct pgsql_conn *conn_of(struct sql_conn *c)
{
    return (struct pgsql_conn *)c;
}

static struct pgsql_stmt *stmt_of(struct sql_stmt *st)
{
    return (struct pgsql_stmt *)st;
}

static void mark_lost(struct pgsql_conn *c)
{
    c->lost = 1;
    c->xact_lost = c->xact_lost || c->in_xact;
    c->in_xact = 0;
}

static int is_connection_loss(const char *sqlstate)
{
    return sqlstate && (strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "57P01") == 0 ||
                        strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0);
}

/* The error of a failed call (res may be NULL), with its one log line: SQLSTATE and the
 * server's primary message, never the DETAIL (which quotes key values) nor parameters. */
static int fail(struct pgsql_conn *c, const char *op, const PGresult *res)
{
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *message = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!message)
        message = PQerrorMessage(c->pg);
    int err = CAPP_EDB;
    if (c->lost || PQstatus(c->pg) != CONNECTION_OK || is_connection_loss(sqlstate)) {
        err = CAPP_ENETWORK;
        mark_lost(c);
    } else if (sqlstate && strncmp(sqlstate, "23", 2) == 0) {
        err = CAPP_EEXIST;
    } else if (sqlstate && (strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0 ||
                            strcmp(sqlstate, "55P03") == 0)) {
        err = CAPP_EBUSY;
    }
    log_event(err == CAPP_EEXIST || err == CAPP_EBUSY ? LOG_WARN : LOG_ERROR, "sql.error", "engine",
              "postgres", "op", op, "sqlstate", sqlstate ? sqlstate : "", "message", message, NULL);
    return err;
}

/* After a call that reached the server: remember whether a transaction is open. */
static void note_status(struct pgsql_conn *c)
{
    PGTransactionStatusType ts = PQtransactionStatus(c->pg);
    c->in_xact = ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR || ts == PQTRANS_ACTIVE;
}

/* Notices are not errors of ours (NOTICE: relation exists, skipping): debug lines only. But an
 * idle connection also hears here the FATAL a server sends before it hangs up (a terminated
 * backend, a shutdown): then the connection is lost, even if the socket is not closed yet. */
static void notice(void *arg, const PGresult *res)
{
    struct pgsql_conn *c = arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (severity && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0)) {
        const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        log_warn("sql.connection_lost", "engine", "postgres", "sqlstate", sqlstate ? sqlstate : "",
                 NULL);
        mark_lost(c);
        return;
    }
    log_debug("sql.notice", "engine", "postgres", "message",
              PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), NULL);
}

static int session_setup(struct pgsql_conn *c)
{
    PQsetNoticeReceiver(c->pg, notice, c);
    PGresult *res = PQexec(c->pg, session_sql);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : fail(c, "session", res);
    PQclear(res);
    return rc;
}

/* An idle connection has nothing to read, unless the server sent something on its own: a
 * notification, or the error it sends before it hangs up (a terminated backend, a shutdown).
 * Reading that input shows whether the connection is still there; notifications stay queued
 * for PQnotifies. */
static void probe_idle(struct pgsql_conn *c)
{
    for (int i = 0; i < 4 && !c->lost && PQstatus(c->pg) == CONNECTION_OK; i++) {
        struct pollfd fd = {.fd = PQsocket(c->pg), .events = POLLIN};
        if (fd.fd < 0 || poll(&fd, 1, 0) != 1)
            return;
        /* PQisBusy parses what was read: a FATAL goes to notice() above */
        if (!PQconsumeInput(c->pg) || PQisBusy(c->pg))
            break;
    }
    if (!c->lost && PQstatus(c->pg) != CONNECTION_OK) {
        log_warn("sql.connection_lost", "engine", "postgres", "message", PQerrorMessage(c->pg),
                 NULL);
        mark_lost(c);
    }
}

static int pg_revive(struct sql_conn *base, int probe)
{
    struct pgsql_conn *c = conn_of(base);
    if (probe && !c->lost)
        probe_idle(c);
    if (c->xact_lost) {
        log_error("sql.error", "engine", "postgres", "op", "revive", "message",
                  "connection lost inside a transaction: roll back first", NULL);
        return CAPP_ENETWORK;
    }
    if (!c->lost && PQstatus(c->pg) == CONNECTION_OK)
        return 0;
    PQreset(c->pg);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        c->lost = 1;
        log_error("sql.error", "engine", "postgres", "op", "reset", "message",
                  PQerrorMessage(c->pg), NULL);
        return CAPP_ENETWORK;
    }
    c->lost = 0;
    c->in_xact = 0;
    c->generation++;
    int rc = session_setup(c);
    if (rc == 0)
        log_info("sql.reconnected", "engine", "postgres", NULL);
    return rc ? CAPP_ENETWORK : 0;
}

static void pg_close(struct sql_conn *base)
{
    PQfinish(conn_of(base)->pg);
    free(base);
}

static int pg_ping(struct sql_conn *base)
{
    struct pgsql_conn *c = conn_of(base);
    /* Twice: a loss the first round trip discovers is reset and tried again, so a server that
     * is back answers 1. */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (pg_revive(base, 1) != 0)
            return 0;
        PGresult *res = PQexec(c->pg, "SELECT 1");
        int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
        int rc = ok ? 0 : fail(c, "ping", res);
        PQclear(res);
        if (ok) {
            note_status(c);
            return 1;
        }
        if (rc != CAPP_ENETWORK)
            return 0;
    }
    return 0;
}

static void clear_row(struct pgsql_stmt *s)
{
    if (!s->decoded)
        return;
    for (int i = 0; i < s->ncols; i++) {
        free(s->decoded[i]);
        s->decoded[i] = NULL;
    }
}

static void clear_result(struct pgsql_stmt *s)
{
    clear_row(s);
    free(s->decoded);
    free(s->decoded_len);
    s->decoded = NULL;
    s->decoded_len = NULL;
    PQclear(s->res);
    s->res = NULL;
    s->executed = 0;
    s->row = -1;
    s->nrows = s->ncols = 0;
}

static void clear_bindings(struct pgsql_stmt *s)
{
    for (int i = 0; i < s->nparams; i++) {
        free(s->values[i]);
        s->values[i] = NULL;
        s->lengths[i] = 0;
        s->formats[i] = 0;
        s->types[i] = 0;
    }
}

static void pg_stmt_free(struct sql_stmt *st)
{
    struct pgsql_stmt *s = stmt_of(st);
    clear_result(s);
    clear_bindings(s);
    free(s->values);
    free(s->lengths);
    free(s->formats);
    free(s->types);
    free(s->last_types);
    free(s->prepared_types);
    free(s->exec_types);
    free(s->text);
    free(st->sql);
    free(s);
}

static int pg_stmt_new(struct sql_conn *c, const char *sql, int cached, struct sql_stmt **out)
{
    struct pgsql_stmt *s = calloc(1, sizeof *s);
    if (!s)
        return CAPP_ENOMEM;
    s->row = -1;
    int rc = sql_pg_rewrite(sql, &s->text, &s->nparams);
    if (rc) {
        log_error("sql.error", "engine", "postgres", "op", "prepare", "message",
                  "parameter number out of range", NULL);
        free(s);
        return rc;
    }
    size_t n = s->nparams ? (size_t)s->nparams : 1;
    s->base.sql = strdup(sql);
    s->values = calloc(n, sizeof *s->values);
    s->lengths = calloc(n, sizeof *s->lengths);
    s->formats = calloc(n, sizeof *s->formats);
    s->types = calloc(n, sizeof *s->types);
    s->last_types = calloc(n, sizeof *s->last_types);
    s->prepared_types = calloc(n, sizeof *s->prepared_types);
    s->exec_types = calloc(n, sizeof *s->exec_types);
    if (!s->base.sql || !s->values || !s->lengths || !s->formats || !s->types || !s->last_types ||
        !s->prepared_types || !s->exec_types) {
        pg_stmt_free(&s->base);
        return CAPP_ENOMEM;
    }
    *out = &s->base;
    return 0;
}

static int pg_bind(struct sql_stmt *st, int idx, const struct sql_value *v)
{
    struct pgsql_stmt *s = stmt_of(st);
    if (idx > s->nparams) {
        log_error("sql.error", "engine", "postgres", "op", "bind", "message",
                  "parameter index out of range", NULL);
        return CAPP_EINVAL;
    }
    char num[40];
    const char *data = NULL;
    size_t len = 0;
    Oid type = 0;
    int format = 0;
    switch (v->type) {
    case SQL_VALUE_INT:
        len = (size_t)snprintf(num, sizeof num, "%lld", (long long)v->i);
        data = num;
        type = OID_INT8;
        break;
    case SQL_VALUE_DOUBLE:
        /* %.17g reads back as the same double; PostgreSQL spells the non-finite ones. */
        if (isnan(v->d))
            len = (size_t)snprintf(num, sizeof num, "NaN");
        else if (isinf(v->d))
            len = (size_t)snprintf(num, sizeof num, "%sInfinity", v->d < 0 ? "-" : "");
        else
            len = (size_t)snprintf(num, sizeof num, "%.17g", v->d);
        data = num;
        type = OID_FLOAT8;
        break;
    case SQL_VALUE_TEXT:
        /* A text-format value ends at its first NUL: refuse rather than store less. */
        if (memchr(v->p, 0, v->len)) {
            log_error("sql.error", "engine", "postgres", "op", "bind", "message",
                      "text with a NUL byte (bind it as a blob)", NULL);
            return CAPP_EINVAL;
        }
        data = v->p;
        len = v->len;
        type = OID_TEXT;
        break;
    case SQL_VALUE_BLOB:
        data = v->p;
        len = v->len;
        type = OID_BYTEA;
        format = 1;
        break;
    default:
        break;
    }
    if (len > INT32_MAX)
        return CAPP_ETOOBIG;
    char *copy = NULL;
    if (data) {
        copy = malloc(len + 1);
        if (!copy)
            return CAPP_ENOMEM;
        memcpy(copy, data, len);
        copy[len] = '\0';
    }
    int i = idx - 1;
    free(s->values[i]);
    s->values[i] = copy;
    s->lengths[i] = (int)len;
    s->formats[i] = format;
    s->types[i] = type;
    if (type)
        s->last_types[i] = type;
    return 0;
}

/* The types of this execution: a NULL keeps the prepared type, or the last one seen. */
static void execution_types(struct pgsql_stmt *s, Oid *types, int *changed)
{
    *changed = !s->prepared;
    for (int i = 0; i < s->nparams; i++) {
        if (s->values[i]) {
            types[i] = s->types[i];
            if (s->prepared && s->prepared_types[i] != types[i])
                *changed = 1;
        } else {
            types[i] = s->prepared ? s->prepared_types[i] : s->last_types[i];
        }
    }
}

static int prepare_on_server(struct pgsql_conn *c, struct pgsql_stmt *s, const Oid *types)
{
    /* A statement prepared earlier on this session under other types: drop it first, so a
     * long-lived connection does not pile up server-side statements. */
    if (s->prepared && s->prepared_generation == c->generation) {
        char drop[40];
        snprintf(drop, sizeof drop, "DEALLOCATE %s", s->name);
        PQclear(PQexec(c->pg, drop));
    }
    s->prepared = 0;
    snprintf(s->name, sizeof s->name, "s%u", ++c->next_name);
    PGresult *res = PQprepare(c->pg, s->name, s->text, s->nparams, s->nparams ? types : NULL);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : fail(c, "prepare", res);
    PQclear(res);
    if (rc)
        return rc;
    note_status(c);
    memcpy(s->prepared_types, types, (size_t)s->nparams * sizeof *types);
    s->prepared = 1;
    s->prepared_generation = c->generation;
    return 0;
}

static int command_changes_rows(const PGresult *res)
{
    const char *tag = PQcmdStatus((PGresult *)res);
    return strncmp(tag, "INSERT", 6) == 0 || strncmp(tag, "UPDATE", 6) == 0 ||
           strncmp(tag, "DELETE", 6) == 0 || strncmp(tag, "MERGE", 5) == 0;
}

static int execute(struct pgsql_stmt *s)
{
    struct pgsql_conn *c = conn_of(s->base.conn);
    if (c->lost || c->xact_lost || PQstatus(c->pg) != CONNECTION_OK) {
        c->lost = 1;
        log_error("sql.error", "engine", "postgres", "op", "step", "message", "connection lost",
                  NULL);
        return CAPP_ENETWORK;
    }
    Oid *types = s->exec_types;
    int changed;
    execution_types(s, types, &changed);
    PGresult *res;
    if (s->base.cached) {
        if (changed || s->prepared_generation != c->generation) {
            int rc = prepare_on_server(c, s, types);
            if (rc)
                return rc;
        }
        res = PQexecPrepared(c->pg, s->name, s->nparams, (const char *const *)s->values, s->lengths,
                             s->formats, 0);
    } else {
        res = PQexecParams(c->pg, s->text, s->nparams, s->nparams ? types : NULL,
                           (const char *const *)s->values, s->lengths, s->formats, 0);
    }
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        int rc = fail(c, "step", res);
        PQclear(res);
        return rc;
    }
    note_status(c);
    s->res = res;
    s->executed = 1;
    s->row = -1;
    s->nrows = PQntuples(res);
    s->ncols = PQnfields(res);
    s->base.changes = command_changes_rows(res) ? strtoll(PQcmdTuples(res), NULL, 10) : 0;
    if (s->ncols) {
        s->decoded = calloc((size_t)s->ncols, sizeof *s->decoded);
        s->decoded_len = calloc((size_t)s->ncols, sizeof *s->decoded_len);
        if (!s->decoded || !s->decoded_len) {
            clear_result(s);
            return CAPP_ENOMEM;
        }
    }
    return 0;
}

static int pg_step(struct sql_stmt *st)
{
    struct pgsql_stmt *s = stmt_of(st);
    if (!s->executed) {
        int rc = execute(s);
        if (rc)
            return rc;
    }
    clear_row(s);
    if (s->row < s->nrows)
        s->row++;
    return s->row < s->nrows ? 1 : 0;
}

static void pg_reset(struct sql_stmt *st)
{
    struct pgsql_stmt *s = stmt_of(st);
    clear_result(s);
    clear_bindings(s);
    st->changes = 0;
}

static int pg_column_count(struct sql_stmt *st)
{
    return stmt_of(st)->ncols;
}

static int on_row(struct pgsql_stmt *s)
{
    return s->res && s->row >= 0 && s->row < s->nrows;
}

static int pg_column_is_null(struct sql_stmt *st, int col)
{
    struct pgsql_stmt *s = stmt_of(st);
    return !on_row(s) || PQgetisnull(s->res, s->row, col);
}

/* A bytea column's bytes (NUL-terminated for sql_column_text), decoded once per row. */
static const unsigned char *bytea(struct pgsql_stmt *s, int col, size_t *len)
{
    if (!s->decoded[col]) {
        size_t n = 0;
        unsigned char *raw =
            PQunescapeBytea((const unsigned char *)PQgetvalue(s->res, s->row, col), &n);
        unsigned char *copy = raw ? malloc(n + 1) : NULL;
        if (!copy) {
            PQfreemem(raw);
            *len = 0;
            return NULL;
        }
        memcpy(copy, raw, n);
        copy[n] = '\0';
        PQfreemem(raw);
        s->decoded[col] = copy;
        s->decoded_len[col] = n;
    }
    *len = s->decoded_len[col];
    return s->decoded[col];
}

static const char *pg_column_text(struct sql_stmt *st, int col)
{
    struct pgsql_stmt *s = stmt_of(st);
    if (pg_column_is_null(st, col))
        return NULL;
    size_t len;
    if (PQftype(s->res, col) == OID_BYTEA)
        return (const char *)bytea(s, col, &len);
    return PQgetvalue(s->res, s->row, col);
}

static size_t pg_column_bytes(struct sql_stmt *st, int col)
{
    struct pgsql_stmt *s = stmt_of(st);
    if (pg_column_is_null(st, col))
        return 0;
    size_t len = 0;
    if (PQftype(s->res, col) == OID_BYTEA)
        (void)bytea(s, col, &len);
    else
        len = (size_t)PQgetlength(s->res, s->row, col);
    return len;
}

static const void *pg_column_blob(struct sql_stmt *st, int col, size_t *len)
{
    struct pgsql_stmt *s = stmt_of(st);
    size_t n = 0;
    const void *p = NULL;
    if (!pg_column_is_null(st, col)) {
        if (PQftype(s->res, col) == OID_BYTEA) {
            p = bytea(s, col, &n);
        } else {
            p = PQgetvalue(s->res, s->row, col);
            n = (size_t)PQgetlength(s->res, s->row, col);
        }
    }
    if (len)
        *len = n;
    return p;
}

static int64_t pg_column_int64(struct sql_stmt *st, int col)
{
    struct pgsql_stmt *s = stmt_of(st);
    if (pg_column_is_null(st, col))
        return 0;
    const char *v = PQgetvalue(s->res, s->row, col);
    Oid type = PQftype(s->res, col);
    if (type == OID_BOOL)
        return v[0] == 't';
    if (type == OID_FLOAT4 || type == OID_FLOAT8 || type == OID_NUMERIC)
        return (int64_t)strtod(v, NULL);
    return strtoll(v, NULL, 10);
}

static double pg_column_double(struct sql_stmt *st, int col)
{
    struct pgsql_stmt *s = stmt_of(st);
    return pg_column_is_null(st, col) ? 0.0 : strtod(PQgetvalue(s->res, s->row, col), NULL);
}

static int pg_exec(struct sql_conn *base, const char *sql)
{
    struct pgsql_conn *c = conn_of(base);
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType status = PQresultStatus(res);
    int rc = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY
                 ? 0
                 : fail(c, "exec", res);
    PQclear(res);
    if (rc == 0)
        note_status(c);
    return rc;
}

static int pg_in_transaction(struct sql_conn *base)
{
    struct pgsql_conn *c = conn_of(base);
    if (c->xact_lost)
        return 1;
    PGTransactionStatusType ts = PQtransactionStatus(c->pg);
    return ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR || ts == PQTRANS_ACTIVE;
}

static void pg_rollback(struct sql_conn *base)
{
    struct pgsql_conn *c = conn_of(base);
    if (c->xact_lost) {
        /* The server already ended it with the session. */
        c->xact_lost = 0;
        return;
    }
    if (pg_in_transaction(base))
        (void)pg_exec(base, "ROLLBACK");
}

static int pg_commit(struct sql_conn *base)
{
    struct pgsql_conn *c = conn_of(base);
    if (c->xact_lost) {
        c->xact_lost = 0;
        log_error("sql.error", "engine", "postgres", "op", "commit", "message",
                  "connection lost inside the transaction", NULL);
        return CAPP_ENETWORK;
    }
    /* COMMIT of a failed transaction "succeeds" as a rollback: say it failed. */
    if (PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
        (void)pg_exec(base, "ROLLBACK");
        log_error("sql.error", "engine", "postgres", "op", "commit", "message",
                  "transaction failed earlier; rolled back", NULL);
        return CAPP_EDB;
    }
    return pg_exec(base, "COMMIT");
}

static const struct sql_driver pg_driver = {
    .begin_sql = "BEGIN",
    .close = pg_close,
    .revive = pg_revive,
    .ping = pg_ping,
    .stmt_new = pg_stmt_new,
    .stmt_free = pg_stmt_free,
    .bind = pg_bind,
    .step = pg_step,
    .reset = pg_reset,
    .column_count = pg_column_count,
    .column_is_null = pg_column_is_null,
    .column_text = pg_column_text,
    .column_bytes = pg_column_bytes,
    .column_blob = pg_column_blob,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .exec = pg_exec,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_transaction = pg_in_transaction,
};

int sql_pg_open(const char *target, struct sql_conn **out)
{
    *out = NULL;
    struct pgsql_conn *c = calloc(1, sizeof *c);
    if (!c)
        return CAPP_ENOMEM;
    /* Later entries win: a connect_timeout in the target overrides the 5 s default. */
    const char *const keywords[] = {"connect_timeout", "dbname", NULL};
    const char *const values[] = {"5", target, NULL};
    c->pg = PQconnectdbParams(keywords, values, 1);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        log_error("sql.error", "engine", "postgres", "op", "open", "message",
                  c->pg ? PQerrorMessage(c->pg) : "out of memory", NULL);
        PQfinish(c->pg);
        free(c);
        return CAPP_ENETWORK;
    }
    c->base.driver = &pg_driver;
    c->base.engine = SQL_POSTGRES;
    int rc = session_setup(c);
    if (rc) {
        PQfinish(c->pg);
        free(c);
        return rc;
    }
    *out = &c->base;
    return 0;
}

struct pg_conn *sql_pg_handle(struct sql_conn *c)
{
    return c && c->engine == SQL_POSTGRES ? conn_of(c)->pg : NULL;
}

/* --- the parameter rewriter ---------------------------------------------------------------
 * Written by hand: libpq has no "?" placeholders. It tracks only what can hide a "?" from the
 * lexer (string literals, quoted identifiers, comments, dollar quotes); everything else is
 * copied as it is, and malformed SQL is left for the server to refuse. */

static int ident_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '$' || ch >= 0x80;
}

/* Length of a dollar-quote delimiter ($$ or $tag$) at s, 0 when s does not start one. */
static size_t dollar_tag(const char *s)
{
    size_t n = 1;
    if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || s[n] == '_' ||
          (unsigned char)s[n] >= 0x80 || s[n] == '$'))
        return 0;
    while (s[n] && s[n] != '$' && ident_char((unsigned char)s[n]))
        n++;
    return s[n] == '$' ? n + 1 : 0;
}

int sql_pg_rewrite(const char *sql, char **out, int *nparams)
{
    *out = NULL;
    *nparams = 0;
    size_t n = strlen(sql);
    /* "?" (1 byte) becomes at most "$32767" (6 bytes) */
    char *o = malloc(n * 6 + 1);
    if (!o)
        return CAPP_ENOMEM;
    size_t i = 0, w = 0;
    int max = 0;
    while (i < n) {
        unsigned char ch = (unsigned char)sql[i];
        if (ch == '\'') {
            int escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                          (i < 2 || !ident_char((unsigned char)sql[i - 2]));
            o[w++] = sql[i++];
            while (i < n) {
                if (escapes && sql[i] == '\\' && i + 1 < n) {
                    o[w++] = sql[i++];
                    o[w++] = sql[i++];
                    continue;
                }
                if (sql[i] == '\'') {
                    o[w++] = sql[i++];
                    if (i < n && sql[i] == '\'') { /* '' inside the literal */
                        o[w++] = sql[i++];
                        continue;
                    }
                    break;
                }
                o[w++] = sql[i++];
            }
        } else if (ch == '"') {
            o[w++] = sql[i++];
            while (i < n) {
                if (sql[i] == '"') {
                    o[w++] = sql[i++];
                    if (i < n && sql[i] == '"') {
                        o[w++] = sql[i++];
                        continue;
                    }
                    break;
                }
                o[w++] = sql[i++];
            }
        } else if (ch == '-' && sql[i + 1] == '-') {
            while (i < n && sql[i] != '\n')
                o[w++] = sql[i++];
        } else if (ch == '/' && sql[i + 1] == '*') {
            int depth = 0; /* PostgreSQL nests block comments */
            while (i < n) {
                if (sql[i] == '/' && sql[i + 1] == '*') {
                    depth++;
                    o[w++] = sql[i++];
                    o[w++] = sql[i++];
                } else if (sql[i] == '*' && sql[i + 1] == '/') {
                    o[w++] = sql[i++];
                    o[w++] = sql[i++];
                    if (--depth == 0)
                        break;
                } else {
                    o[w++] = sql[i++];
                }
            }
        } else if (ch == '$' && (i == 0 || !ident_char((unsigned char)sql[i - 1])) &&
                   dollar_tag(sql + i)) {
            size_t tag = dollar_tag(sql + i);
            const char *end = NULL;
            for (size_t j = i + tag; j + tag <= n && !end; j++)
                if (memcmp(sql + j, sql + i, tag) == 0)
                    end = sql + j;
            size_t stop = end ? (size_t)(end - sql) + tag : n;
            memcpy(o + w, sql + i, stop - i);
            w += stop - i;
            i = stop;
        } else if (ch == '?') {
            i++;
            long number = 0;
            int digits = 0;
            while (i < n && sql[i] >= '0' && sql[i] <= '9') {
                if (number <= SQL_MAX_PARAMS)
                    number = number * 10 + (sql[i] - '0');
                digits++;
                i++;
            }
            if (!digits)
                number = max + 1;
            if (number < 1 || number > SQL_MAX_PARAMS) {
                free(o);
                return CAPP_EINVAL;
            }
            if (number > max)
                max = (int)number;
            w += (size_t)sprintf(o + w, "$%ld", number);
        } else {
            o[w++] = sql[i++];
        }
    }
    o[w] = '\0';
    *out = o;
    *nparams = max;
    return 0;
}
