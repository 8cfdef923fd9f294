/*
 * The platform store: one SQLite database shared with the data half (each half migrates its own
 * component), one connection per thread through cs_db().
 *
 * ":memory:" cannot be shared between connections, and every HTTP pool thread and lifecycle
 * worker has its own connection, so an in-memory run uses a private temporary file that is
 * deleted at shutdown; behaviour is identical to a file run.
 *
 * API keys are stored only as SHA-256 hex digests next to their 8-character prefix; the plaintext
 * exists in memory just long enough to be delivered to the app's callback.
 */
#include "cloudsim/platform.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capp/assert.h"
#include "capp/db.h"
#include "capp/db_pool.h"
#include "capp/err.h"
#include "capp/json.h"
#include "capp/log.h"
#include "cloudsim/core_stmt.h"
#include "cloudsim/platform_url.h"

static void audit_stop(struct cloudsim *cs); /* the audit writer, below */

static const struct db_migration platform_migrations[] = {
    {1,
     "CREATE TABLE organizations ("
     "  organization_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);"
     "CREATE TABLE instances ("
     "  instance_id TEXT PRIMARY KEY,"
     "  organization_id TEXT NOT NULL REFERENCES organizations(organization_id),"
     "  name TEXT NOT NULL, created_at TEXT NOT NULL);"
     "CREATE TABLE users ("
     "  user_id TEXT PRIMARY KEY,"
     "  organization_id TEXT NOT NULL REFERENCES organizations(organization_id),"
     "  email TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL);"
     "CREATE TABLE apps ("
     "  app_id TEXT PRIMARY KEY,"
     "  organization_id TEXT NOT NULL REFERENCES organizations(organization_id),"
     "  display_name TEXT NOT NULL, description TEXT NOT NULL, logo_url TEXT NOT NULL,"
     "  developer_name TEXT NOT NULL, callback_url TEXT NOT NULL,"
     "  portal_generator_url TEXT NOT NULL, permissions TEXT NOT NULL,"
     "  launch_access TEXT NOT NULL, created_at TEXT NOT NULL);"
     "CREATE TABLE installs ("
     "  installed_app_id TEXT PRIMARY KEY,"
     "  app_id TEXT NOT NULL REFERENCES apps(app_id),"
     "  organization_id TEXT NOT NULL, instance_id TEXT NOT NULL REFERENCES instances(instance_id),"
     "  installed_by TEXT NOT NULL, granted_permissions TEXT NOT NULL,"
     "  scopes INTEGER NOT NULL, api_key_prefix TEXT NOT NULL,"
     "  status TEXT NOT NULL CHECK (status IN ('pending','active','failed','uninstalled')),"
     "  failure TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
     "  uninstalled_at TEXT);"
     /* spec §2: one install per organization + instance (per app) */
     "CREATE UNIQUE INDEX installs_one_live ON installs(app_id, instance_id)"
     "  WHERE status IN ('pending','active');"
     "CREATE TABLE api_keys ("
     "  key_hash TEXT PRIMARY KEY, api_key_prefix TEXT NOT NULL,"
     "  installed_app_id TEXT NOT NULL REFERENCES installs(installed_app_id),"
     "  created_at TEXT NOT NULL, revoked_at TEXT);"
     "CREATE INDEX api_keys_prefix ON api_keys(api_key_prefix);"
     "CREATE TABLE deliveries ("
     "  id INTEGER PRIMARY KEY, installed_app_id TEXT NOT NULL, kind TEXT NOT NULL,"
     "  attempt INTEGER NOT NULL, url TEXT NOT NULL, status INTEGER NOT NULL,"
     "  outcome TEXT NOT NULL, elapsed_ms INTEGER NOT NULL, at TEXT NOT NULL);"
     "CREATE INDEX deliveries_install ON deliveries(installed_app_id);"
     "CREATE TABLE audit_log ("
     "  id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, event TEXT NOT NULL,"
     "  installed_app_id TEXT NOT NULL, api_key_prefix TEXT NOT NULL,"
     "  method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,"
     "  detail TEXT NOT NULL);"
     "CREATE INDEX audit_install ON audit_log(installed_app_id);"
     "CREATE TABLE dashboard_sessions ("
     "  session_hash TEXT PRIMARY KEY, csrf_token TEXT NOT NULL, user_id TEXT,"
     "  instance_id TEXT, created_at TEXT NOT NULL);"},
};

/* An emulator's state need not survive power loss: WAL with synchronous=NORMAL still survives a
 * crash of the process, and spares every gateway call (and its audit row) an fsync — the
 * difference between hundreds and thousands of calls per second. */
static int tune(void *ctx, sqlite3 *db, void **state)
{
    return db_exec(db, "PRAGMA synchronous=NORMAL");
}

sqlite3 *cs_db(struct cloudsim *cs)
{
    return db_pool_get(cs->db_pool, NULL);
}

void cs_db_release(struct cloudsim *cs)
{
    db_pool_release(cs->db_pool);
}

int cs_strict_mode(const struct cloudsim *cs)
{
    return cs->config.strict;
}

static int make_temp_db(char *path, size_t cap)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, cap, "%s/cloudsim-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return CAPP_EIO;
    close(fd);
    return 0;
}

int cs_new(const struct cs_config *config, struct cloudsim **out)
{
    struct cloudsim *cs = calloc(1, sizeof *cs);
    if (!cs)
        return CAPP_ENOMEM;
    cs->config = *config;
    int rc = 0;
    if (strcmp(config->db_path, ":memory:") == 0) {
        rc = make_temp_db(cs->config.db_path, sizeof cs->config.db_path);
        if (rc) {
            free(cs);
            return rc;
        }
        cs->temp_db = 1;
    }
    pthread_mutex_init(&cs->rate_lock, NULL);
    pthread_mutex_init(&cs->worker_lock, NULL);
    pthread_cond_init(&cs->worker_done, NULL);
    struct db_pool_config pool = {.path = cs->config.db_path, .setup = tune};
    rc = db_pool_new(&pool, &cs->db_pool);
    sqlite3 *db = rc == 0 ? cs_db(cs) : NULL;
    if (rc == 0 && !db)
        rc = CAPP_EDB;
    if (rc == 0)
        rc = db_migrate(db, "cloudsim_platform", platform_migrations, COUNTOF(platform_migrations));
    if (rc == 0)
        rc = cs_data_migrate(db);
    if (rc) {
        cs_free(cs);
        return rc;
    }
    *out = cs;
    return 0;
}

void cs_worker_enter(struct cloudsim *cs)
{
    pthread_mutex_lock(&cs->worker_lock);
    cs->workers++;
    pthread_mutex_unlock(&cs->worker_lock);
}

void cs_worker_leave(struct cloudsim *cs)
{
    pthread_mutex_lock(&cs->worker_lock);
    cs->workers--;
    pthread_cond_broadcast(&cs->worker_done);
    pthread_mutex_unlock(&cs->worker_lock);
}

void cs_free(struct cloudsim *cs)
{
    if (!cs)
        return;
    pthread_mutex_lock(&cs->worker_lock);
    while (cs->workers > 0)
        pthread_cond_wait(&cs->worker_done, &cs->worker_lock);
    pthread_mutex_unlock(&cs->worker_lock);
    audit_stop(cs);
    db_pool_free(cs->db_pool);
    if (cs->temp_db) {
        char path[1100];
        unlink(cs->config.db_path);
        snprintf(path, sizeof path, "%s-wal", cs->config.db_path);
        unlink(path);
        snprintf(path, sizeof path, "%s-shm", cs->config.db_path);
        unlink(path);
    }
    pthread_mutex_destroy(&cs->rate_lock);
    pthread_mutex_destroy(&cs->worker_lock);
    pthread_cond_destroy(&cs->worker_done);
    free(cs->rate_entries);
    free(cs);
}

/* ---- audit and deliveries ---- */

/*
 * Audit rows are written by one writer thread per cloudsim, not by the calling thread: every
 * gateway call adds a row, and a transaction of its own per row (the write lock, a WAL frame,
 * a commit) cost about as much as the metadata write the call was for. Callers append a
 * row, with its timestamp taken at the call, to a FIFO queue and return; the writer takes
 * everything queued and inserts it in one transaction with a cached statement, so under load
 * one commit carries tens of rows. Rows reach the table in the order they were queued, within
 * a commit's time (~1 ms) of the call. cs_json_audit() first waits until everything queued
 * before it is written, so GET /admin/audit and the dashboard still read their own writes.
 * A row that cannot be written is logged (cloudsim.audit_failed) and dropped, as before.
 *
 * struct cloudsim has no slot for the queue, so queues live in a short list keyed by the
 * cloudsim (one per process in practice); the writer starts with the first row and is
 * stopped, after writing what is left, by cs_free().
 */
struct audit_row {
    struct audit_row *next;
    char at[32];
    char *actor, *event, *installed_app_id, *prefix, *method, *path, *detail;
    unsigned status;
};

struct audit_queue {
    struct audit_queue *next;
    struct cloudsim *cs;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* rows queued, or stop */
    pthread_cond_t idle; /* nothing queued or being written */
    struct audit_row *head, **tail;
    unsigned long long queued, written; /* rows ever queued / handled by the writer */
    int stop, started;
    pthread_t writer;
};

static pthread_mutex_t audit_queues_lock = PTHREAD_MUTEX_INITIALIZER;
static struct audit_queue *audit_queues;

static void audit_row_free(struct audit_row *r)
{
    if (!r)
        return;
    free(r->actor);
    free(r->event);
    free(r->installed_app_id);
    free(r->prefix);
    free(r->method);
    free(r->path);
    free(r->detail);
    free(r);
}

/* Inserts rows in one transaction; 0 or a CAPP error (logged by the caller). */
static int audit_write(sqlite3 *db, const struct audit_row *rows)
{
    int rc = db_begin_immediate(db);
    for (const struct audit_row *r = rows; rc == 0 && r; r = r->next) {
        sqlite3_stmt *stmt = NULL;
        rc = core_stmt_get(db,
                           "INSERT INTO audit_log(at, actor, event, installed_app_id,"
                           " api_key_prefix, method, path, status, detail)"
                           " VALUES(?,?,?,?,?,?,?,?,?)",
                           &stmt);
        if (rc)
            break;
        db_bind_text(stmt, 1, r->at);
        db_bind_text(stmt, 2, r->actor);
        db_bind_text(stmt, 3, r->event);
        db_bind_text(stmt, 4, r->installed_app_id);
        db_bind_text(stmt, 5, r->prefix);
        db_bind_text(stmt, 6, r->method);
        db_bind_text(stmt, 7, r->path);
        db_bind_int64(stmt, 8, r->status);
        db_bind_text(stmt, 9, r->detail);
        rc = db_step_done(stmt);
        core_stmt_put(stmt);
    }
    if (rc == 0)
        rc = db_commit(db);
    if (rc && !sqlite3_get_autocommit(db))
        db_rollback(db);
    return rc;
}

static void *audit_writer(void *arg)
{
    struct audit_queue *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->head && !q->stop)
            pthread_cond_wait(&q->wake, &q->lock);
        if (!q->head)
            break; /* stopping, and everything is written */
        struct audit_row *rows = q->head;
        unsigned long long n = q->queued - q->written;
        q->head = NULL;
        q->tail = &q->head;
        pthread_mutex_unlock(&q->lock);
        sqlite3 *db = cs_db(q->cs);
        if (!db || audit_write(db, rows) != 0)
            log_error("cloudsim.audit_failed", "event", rows->event, NULL);
        while (rows) {
            struct audit_row *next = rows->next;
            audit_row_free(rows);
            rows = next;
        }
        pthread_mutex_lock(&q->lock);
        q->written += n;
        if (q->written == q->queued)
            pthread_cond_broadcast(&q->idle);
    }
    pthread_mutex_unlock(&q->lock);
    cs_db_release(q->cs);
    return NULL;
}

/* The cloudsim's queue, created (writer not yet started) when create is set. */
static struct audit_queue *audit_queue(struct cloudsim *cs, int create)
{
    pthread_mutex_lock(&audit_queues_lock);
    struct audit_queue *q = audit_queues;
    while (q && q->cs != cs)
        q = q->next;
    if (!q && create && (q = calloc(1, sizeof *q)) != NULL) {
        q->cs = cs;
        q->tail = &q->head;
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->wake, NULL);
        pthread_cond_init(&q->idle, NULL);
        q->next = audit_queues;
        audit_queues = q;
    }
    pthread_mutex_unlock(&audit_queues_lock);
    return q;
}

/* Waits until every row queued so far is written (or dropped after an error). */
static void audit_sync(struct cloudsim *cs)
{
    struct audit_queue *q = audit_queue(cs, 0);
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    unsigned long long target = q->queued;
    while (q->started && q->written < target)
        pthread_cond_wait(&q->idle, &q->lock);
    pthread_mutex_unlock(&q->lock);
}

/* cs_free(): writes what is queued, stops the writer, frees the queue. */
static void audit_stop(struct cloudsim *cs)
{
    pthread_mutex_lock(&audit_queues_lock);
    struct audit_queue **link = &audit_queues;
    while (*link && (*link)->cs != cs)
        link = &(*link)->next;
    struct audit_queue *q = *link;
    if (q)
        *link = q->next;
    pthread_mutex_unlock(&audit_queues_lock);
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stop = 1;
    pthread_cond_signal(&q->wake);
    int started = q->started;
    pthread_mutex_unlock(&q->lock);
    if (started)
        pthread_join(q->writer, NULL);
    while (q->head) {
        struct audit_row *next = q->head->next;
        audit_row_free(q->head);
        q->head = next;
    }
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->wake);
    pthread_cond_destroy(&q->idle);
    free(q);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static void insert_audit(struct cloudsim *cs, const char *actor, const char *event,
                         const char *installed_app_id, const char *prefix, const char *method,
                         const char *path, unsigned status, const char *detail)
{
    struct audit_row *r = calloc(1, sizeof *r);
    struct audit_queue *q = r ? audit_queue(cs, 1) : NULL;
    if (r) {
        cs_now_rfc3339(r->at);
        r->actor = dup_or_empty(actor);
        r->event = dup_or_empty(event);
        r->installed_app_id = dup_or_empty(installed_app_id);
        r->prefix = dup_or_empty(prefix);
        r->method = dup_or_empty(method);
        r->path = dup_or_empty(path);
        r->detail = dup_or_empty(detail);
        r->status = status;
    }
    if (!q || !r->actor || !r->event || !r->installed_app_id || !r->prefix || !r->method ||
        !r->path || !r->detail) {
        log_error("cloudsim.audit_failed", "event", event, NULL);
        audit_row_free(r);
        return;
    }
    pthread_mutex_lock(&q->lock);
    if (!q->started && !q->stop && pthread_create(&q->writer, NULL, audit_writer, q) == 0)
        q->started = 1;
    if (!q->started) {
        pthread_mutex_unlock(&q->lock);
        log_error("cloudsim.audit_failed", "event", event, NULL);
        audit_row_free(r);
        return;
    }
    *q->tail = r;
    q->tail = &r->next;
    q->queued++;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
}

void cs_audit(struct cloudsim *cs, const struct cs_principal *who, const char *method,
              const char *path, unsigned status)
{
    insert_audit(cs, "app", "gateway.call", who ? who->installed_app_id : "",
                 who ? who->api_key_prefix : "", method, path, status, "");
}

void cs_audit_event(struct cloudsim *cs, const char *actor, const char *event,
                    const char *installed_app_id, const char *api_key_prefix, const char *detail)
{
    insert_audit(cs, actor, event, installed_app_id, api_key_prefix, "", "", 0, detail);
}

void cs_record_delivery(struct cloudsim *cs, const char *installed_app_id, const char *kind,
                        int attempt, const char *url, long status, const char *outcome,
                        long elapsed_ms)
{
    sqlite3 *db = cs_db(cs);
    sqlite3_stmt *stmt = NULL;
    char now[32];
    cs_now_rfc3339(now);
    if (!db || db_prepare(db,
                          "INSERT INTO deliveries(installed_app_id, kind, attempt, url, status,"
                          " outcome, elapsed_ms, at) VALUES(?,?,?,?,?,?,?,?)",
                          &stmt) != 0)
        return;
    db_bind_text(stmt, 1, installed_app_id);
    db_bind_text(stmt, 2, kind);
    db_bind_int64(stmt, 3, attempt);
    db_bind_text(stmt, 4, url);
    db_bind_int64(stmt, 5, status);
    db_bind_text(stmt, 6, outcome);
    db_bind_int64(stmt, 7, elapsed_ms);
    db_bind_text(stmt, 8, now);
    db_step_done(stmt);
    sqlite3_finalize(stmt);
}

/* ---- seeding ---- */

static int insert_row(sqlite3 *db, const char *sql, const char *const *values, int count)
{
    sqlite3_stmt *stmt = NULL;
    int rc = db_prepare(db, sql, &stmt);
    for (int i = 0; rc == 0 && i < count; i++)
        rc = db_bind_text(stmt, i + 1, values[i]);
    if (rc == 0)
        rc = db_step_done(stmt);
    sqlite3_finalize(stmt);
    return rc;
}

static int count_rows(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (db_prepare(db, sql, &stmt) != 0)
        return -1;
    int n = db_step_row(stmt) == 1 ? sqlite3_column_int(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    return n;
}

/* Takes the given ID (validated, with the right prefix) or mints one. */
static int pick_id(const json_t *obj, const char *field, const char *prefix, char out[CS_ID_BYTES],
                   char *err, size_t err_cap)
{
    const char *given = json_string_value(json_object_get(obj, field));
    if (!given)
        return cs_mint_id(prefix, out);
    if (strncmp(given, prefix, strlen(prefix)) != 0 || strlen(given) >= CS_ID_BYTES ||
        !json_is_valid_id(given, CS_ID_BYTES - 1)) {
        snprintf(err, err_cap, "%s must be an ID starting with %s (letters, digits, _ and -)",
                 field, prefix);
        return CAPP_EINVAL;
    }
    snprintf(out, CS_ID_BYTES, "%s", given);
    return 0;
}

static const char *string_or(const json_t *obj, const char *field, const char *fallback)
{
    const char *s = json_string_value(json_object_get(obj, field));
    return s && *s && strlen(s) < CS_TEXT_BYTES ? s : fallback;
}

int cs_seed_config(struct cloudsim *cs, const json_t *config, char *err, size_t err_cap)
{
    sqlite3 *db = cs_db(cs);
    if (!db)
        return CAPP_EDB;
    if (count_rows(db, "SELECT count(*) FROM organizations") > 0)
        return 0; /* persistent store already seeded: keep its IDs */
    const json_t *orgs = json_object_get(config, "organizations");
    if (!json_is_array(orgs) || json_array_size(orgs) == 0) {
        snprintf(err, err_cap, "config needs a non-empty \"organizations\" array");
        return CAPP_EINVAL;
    }
    char now[32];
    cs_now_rfc3339(now);
    int rc = db_begin_immediate(db);
    size_t i, j;
    const json_t *org, *item;
    json_array_foreach(orgs, i, org)
    {
        char org_id[CS_ID_BYTES];
        if (rc == 0 && !json_is_object(org)) {
            snprintf(err, err_cap, "organizations[%zu] must be an object", i);
            rc = CAPP_EINVAL;
        }
        if (rc == 0)
            rc = pick_id(org, "organization_id", "org_", org_id, err, err_cap);
        if (rc == 0) {
            const char *v[] = {org_id, string_or(org, "name", "Demo organization"), now};
            rc = insert_row(db, "INSERT INTO organizations VALUES(?,?,?)", v, 3);
        }
        const json_t *instances = rc == 0 ? json_object_get(org, "instances") : NULL;
        const json_t *users = rc == 0 ? json_object_get(org, "users") : NULL;
        if (rc == 0 && (!json_is_array(instances) || json_array_size(instances) == 0 ||
                        !json_is_array(users) || json_array_size(users) == 0)) {
            snprintf(err, err_cap,
                     "organizations[%zu] needs non-empty \"instances\" and \"users\" arrays", i);
            rc = CAPP_EINVAL;
        }
        json_array_foreach(instances, j, item)
        {
            char id[CS_ID_BYTES];
            if (rc == 0)
                rc = pick_id(item, "instance_id", "inst_", id, err, err_cap);
            if (rc == 0) {
                const char *v[] = {id, org_id, string_or(item, "name", "sandbox"), now};
                rc = insert_row(db, "INSERT INTO instances VALUES(?,?,?,?)", v, 4);
            }
        }
        json_array_foreach(users, j, item)
        {
            char id[CS_ID_BYTES];
            if (rc == 0)
                rc = pick_id(item, "user_id", "user_", id, err, err_cap);
            if (rc == 0) {
                const char *v[] = {id, org_id, string_or(item, "email", "demo@example.com"),
                                   string_or(item, "name", "Demo user"), now};
                rc = insert_row(db, "INSERT INTO users VALUES(?,?,?,?,?)", v, 5);
            }
        }
    }
    if (rc == CAPP_EEXIST)
        snprintf(err, err_cap, "config repeats an organization, instance or user ID");
    if (rc == 0)
        rc = db_commit(db);
    if (rc)
        db_rollback(db);
    return rc;
}

/* ---- app registration (spec §3, D24) ---- */

static const char *const manifest_fields[] = {
    "display_name",   "description",   "logo_url",
    "developer_name", "callback_url",  "portal_generator_url",
    "permissions",    "launch_access", NULL};

static int manifest_fail(const char **code, char *message, size_t cap, const char *c,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int manifest_fail(const char **code, char *message, size_t cap, const char *c,
                         const char *fmt, ...)
{
    va_list ap;
    *code = c;
    va_start(ap, fmt);
    vsnprintf(message, cap, fmt, ap);
    va_end(ap);
    return CAPP_EINVAL;
}

static int check_text(const json_t *m, const char *field, int required, size_t max,
                      const char **code, char *message, size_t cap)
{
    const json_t *v = json_object_get(m, field);
    if (!v)
        return required ? manifest_fail(code, message, cap, "missing_field",
                                        "manifest field %s is required", field)
                        : 0;
    if (!json_is_string(v) || (required && json_string_length(v) == 0))
        return manifest_fail(code, message, cap, "invalid_field",
                             "manifest field %s must be a non-empty string", field);
    if (json_string_length(v) > max)
        return manifest_fail(code, message, cap, "field_too_long", "manifest field %s is too long",
                             field);
    return 0;
}

static int check_url(const json_t *m, const char *field, int required, const char **code,
                     char *message, size_t cap)
{
    int rc = check_text(m, field, required, CS_URL_BYTES - 1, code, message, cap);
    const char *url = json_string_value(json_object_get(m, field));
    if (rc || !url || !*url)
        return rc;
    struct cs_url parsed;
    if (cs_url_parse(url, &parsed) != 0)
        return manifest_fail(code, message, cap, "invalid_url",
                             "manifest field %s must be an absolute http(s) URL", field);
    if (!cs_url_secure_enough(&parsed))
        return manifest_fail(code, message, cap, "insecure_url",
                             "manifest field %s must use https (http only on loopback)", field);
    return 0;
}

int cs_register_app(struct cloudsim *cs, const json_t *manifest, const char *organization_id,
                    char app_id[CS_ID_BYTES], const char **err_code, char *err_message,
                    size_t err_cap)
{
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)manifest, key, value)
    {
        int known = 0;
        for (const char *const *f = manifest_fields; *f; f++)
            known |= strcmp(*f, key) == 0;
        if (!known)
            return manifest_fail(err_code, err_message, err_cap, "unknown_field",
                                 "unknown manifest field %s (spec D24)", key);
    }
    int rc = check_text(manifest, "display_name", 1, 200, err_code, err_message, err_cap);
    if (rc == 0)
        rc = check_text(manifest, "description", 0, CS_TEXT_BYTES - 1, err_code, err_message,
                        err_cap);
    if (rc == 0)
        rc = check_text(manifest, "developer_name", 0, 200, err_code, err_message, err_cap);
    if (rc == 0)
        rc = check_url(manifest, "logo_url", 0, err_code, err_message, err_cap);
    if (rc == 0)
        rc = check_url(manifest, "callback_url", 1, err_code, err_message, err_cap);
    if (rc == 0)
        rc = check_url(manifest, "portal_generator_url", 1, err_code, err_message, err_cap);
    if (rc)
        return rc;

    const json_t *perms = json_object_get(manifest, "permissions");
    if (!json_is_array(perms) || json_array_size(perms) == 0)
        return manifest_fail(err_code, err_message, err_cap, "invalid_field",
                             "manifest field %s must be a non-empty array of scopes",
                             "permissions");
    unsigned seen = 0;
    size_t i;
    json_array_foreach(perms, i, value)
    {
        unsigned bit = json_is_string(value) ? cs_scope_from_name(json_string_value(value)) : 0;
        if (!bit || (seen & bit))
            return manifest_fail(err_code, err_message, err_cap, "invalid_permission",
                                 "%s must list distinct scopes among data:read, data:write, "
                                 "alerts:read, alerts:write",
                                 "permissions");
        seen |= bit;
    }
    const json_t *access = json_object_get(manifest, "launch_access");
    if (access && (!json_is_array(access) || json_array_size(access) > CS_MAX_LAUNCH_ACCESS))
        return manifest_fail(err_code, err_message, err_cap, "invalid_field",
                             "manifest field %s must be an array of user IDs", "launch_access");
    json_array_foreach(access, i, value)
    {
        if (!json_is_string(value) || !json_is_valid_id(json_string_value(value), 128))
            return manifest_fail(err_code, err_message, err_cap, "invalid_field",
                                 "manifest field %s must be an array of user IDs", "launch_access");
    }

    sqlite3 *db = cs_db(cs);
    if (!db)
        return manifest_fail(err_code, err_message, err_cap, "internal_error", "%s",
                             "database unavailable");
    char org[CS_ID_BYTES] = "";
    const char *org_key[] = {organization_id};
    const struct db_text_out out_org = {org, sizeof org};
    db_load_texts(db,
                  organization_id
                      ? "SELECT organization_id FROM organizations WHERE organization_id=?"
                      : "SELECT organization_id FROM organizations ORDER BY rowid LIMIT 1",
                  org_key, organization_id ? 1 : 0, &out_org, 1);
    if (!org[0])
        return manifest_fail(err_code, err_message, err_cap, "unknown_organization",
                             "no such organization: %s",
                             organization_id ? organization_id : "(none seeded)");

    char *perms_text = json_to_string(perms);
    json_t *empty = json_array();
    char *access_text = json_to_string(access ? access : empty);
    json_decref(empty);
    char now[32];
    cs_now_rfc3339(now);
    rc = perms_text && access_text ? cs_mint_id("app_", app_id) : CAPP_ENOMEM;
    if (rc == 0) {
        const char *v[] = {app_id,
                           org,
                           json_string_value(json_object_get(manifest, "display_name")),
                           string_or(manifest, "description", ""),
                           string_or(manifest, "logo_url", ""),
                           string_or(manifest, "developer_name", ""),
                           json_string_value(json_object_get(manifest, "callback_url")),
                           json_string_value(json_object_get(manifest, "portal_generator_url")),
                           perms_text,
                           access_text,
                           now};
        rc = insert_row(db, "INSERT INTO apps VALUES(?,?,?,?,?,?,?,?,?,?,?)", v, 11);
    }
    free(perms_text);
    free(access_text);
    if (rc)
        return manifest_fail(err_code, err_message, err_cap, "internal_error", "%s",
                             "could not store the app");
    log_info("cloudsim.app_registered", "app_id", app_id, "organization_id", org, NULL);
    cs_audit_event(cs, "user", "app.registered", "", "", app_id);
    return 0;
}

int cs_find_live_install(struct cloudsim *cs, const char *app_id, const char *instance_id,
                         char out[CS_ID_BYTES])
{
    const char *keys[] = {app_id, instance_id};
    const struct db_text_out id = {out, CS_ID_BYTES};
    return db_load_texts(cs_db(cs),
                         "SELECT installed_app_id FROM installs WHERE app_id=?1"
                         " AND (?2 IS NULL OR instance_id=?2) AND status IN ('pending','active')"
                         " ORDER BY rowid LIMIT 1",
                         keys, 2, &id, 1);
}

/* ---- JSON views ---- */

static int is_json_column(const char *name)
{
    return strcmp(name, "permissions") == 0 || strcmp(name, "granted_permissions") == 0 ||
           strcmp(name, "launch_access") == 0;
}

/* Every row of stmt as an object keyed by column name; JSON-typed text columns are parsed. */
static json_t *rows_to_json(sqlite3_stmt *stmt)
{
    json_t *rows = json_array();
    while (rows && db_step_row(stmt) == 1) {
        json_t *row = json_object();
        for (int c = 0; row && c < sqlite3_column_count(stmt); c++) {
            const char *name = sqlite3_column_name(stmt, c);
            json_t *v;
            switch (sqlite3_column_type(stmt, c)) {
            case SQLITE_INTEGER:
                v = json_integer(sqlite3_column_int64(stmt, c));
                break;
            case SQLITE_NULL:
                v = json_null();
                break;
            default: {
                const char *text = (const char *)sqlite3_column_text(stmt, c);
                v = is_json_column(name) ? json_loads(text ? text : "null", 0, NULL) : NULL;
                if (!v)
                    v = json_string(text ? text : "");
            }
            }
            json_object_set_new(row, name, v);
        }
        json_array_append_new(rows, row);
    }
    return rows;
}

static json_t *query_json(struct cloudsim *cs, const char *sql, const char *arg, long limit)
{
    sqlite3 *db = cs_db(cs);
    sqlite3_stmt *stmt = NULL;
    if (!db || db_prepare(db, sql, &stmt) != 0)
        return json_array();
    db_bind_text(stmt, 1, arg);
    if (sqlite3_bind_parameter_count(stmt) >= 2)
        db_bind_int64(stmt, 2, limit);
    json_t *rows = rows_to_json(stmt);
    sqlite3_finalize(stmt);
    return rows;
}

json_t *cs_json_state(struct cloudsim *cs)
{
    return json_pack(
        "{s:s, s:o, s:o, s:o}", "mode", cs->config.mode == CS_MODE_V2 ? "v2" : "v1",
        "organizations",
        query_json(cs, "SELECT * FROM organizations WHERE ?1 IS NULL ORDER BY rowid", NULL, 0),
        "instances",
        query_json(cs, "SELECT * FROM instances WHERE ?1 IS NULL ORDER BY rowid", NULL, 0), "users",
        query_json(cs, "SELECT * FROM users WHERE ?1 IS NULL ORDER BY rowid", NULL, 0));
}

json_t *cs_json_apps(struct cloudsim *cs, const char *app_id)
{
    return query_json(cs, "SELECT * FROM apps WHERE ?1 IS NULL OR app_id=?1 ORDER BY rowid", app_id,
                      0);
}

json_t *cs_json_installs(struct cloudsim *cs, const char *installed_app_id)
{
    return query_json(
        cs,
        "SELECT installed_app_id, app_id, organization_id, instance_id,"
        " installed_by, granted_permissions, api_key_prefix, status, failure,"
        " created_at, updated_at, uninstalled_at,"
        " (SELECT count(*) FROM api_keys k WHERE k.installed_app_id=i.installed_app_id"
        "  AND k.revoked_at IS NULL) AS live_keys"
        " FROM installs i WHERE ?1 IS NULL OR installed_app_id=?1 ORDER BY rowid",
        installed_app_id, 0);
}

json_t *cs_json_audit(struct cloudsim *cs, const char *installed_app_id, long limit)
{
    audit_sync(cs); /* read our own writes: rows queued before this call are in the table */
    return query_json(cs,
                      "SELECT id, at, actor, event, installed_app_id, api_key_prefix, method,"
                      " path, status, detail FROM audit_log"
                      " WHERE ?1 IS NULL OR installed_app_id=?1 ORDER BY id DESC LIMIT ?2",
                      installed_app_id, limit);
}

json_t *cs_json_deliveries(struct cloudsim *cs, const char *installed_app_id, long limit)
{
    return query_json(cs,
                      "SELECT id, installed_app_id, kind, attempt, url, status, outcome,"
                      " elapsed_ms, at FROM deliveries"
                      " WHERE ?1 IS NULL OR installed_app_id=?1 ORDER BY id DESC LIMIT ?2",
                      installed_app_id, limit);
}
