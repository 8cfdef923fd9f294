/*
 * results_portal.c — the portal's read queries (see kyc/results_portal.h): the queue with its
 * filters, sort and pages, one identity with its checks, counts, the score histogram, runs and
 * outbox counts.
 *
 * Design. Every filter is checked before any SQL is built and bound as a parameter; the only
 * text put into a statement is the ORDER BY column, chosen from a fixed list. Removed
 * identities (kyc/results_pipeline.h, results_mark_removed) stay out of the queue, the counts by
 * status and the histogram. Stored JSON columns are parsed back into objects, with an empty one
 * when a column does not parse, so a page never fails on one bad row.
 *
 * Threads: any request thread, each on its own connection (results_conn); nothing is kept
 * between calls. The JSON it returns belongs to the caller.
 */
#include "kyc/results_portal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/sql.h"
#include "capp/err.h"
#include "kyc/results_internal.h"

static int reason_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return 0;
    return 1;
}

static json_t *row_summary(struct sql_stmt *st)
{
    /* columns: 0 identity_id 1 display_name 2 identity_type 3 status 4 risk 5 score 6 reasons
     * 7 screened_at 8 updated_at 9 writeback_state 10 alert_state */
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:o, s:o, s:o, s:s, s:s}", "identity_id",
                     results_col_text(st, 0), "name", results_col_text(st, 1), "identity_type",
                     results_col_text(st, 2), "status", results_col_text(st, 3), "risk",
                     results_col_text(st, 4), "score", sql_column_double(st, 5), "reasons",
                     results_parse_or(results_col_text(st, 6), json_array()), "screened_at",
                     results_sql_column_time(st, 7), "updated_at", results_sql_column_time(st, 8),
                     "writeback", results_col_text(st, 9), "alert", results_col_text(st, 10));
}

#define SUMMARY_COLUMNS                                                                    \
    "identity_id, display_name, identity_type, status, risk, score, reasons, screened_at," \
    " updated_at, writeback_state, alert_state"

int results_list(results_db *db, const char *installed_app_id, const struct results_filter *f,
                 json_t **out, const char **why)
{
    *out = NULL;
    *why = NULL;
    struct results_filter none = {0};
    if (!f)
        f = &none;
    const char *status = f->status && *f->status ? f->status : NULL;
    const char *risk = f->risk && *f->risk ? f->risk : NULL;
    const char *reason = f->reason && *f->reason ? f->reason : NULL;
    const char *name = f->name && *f->name ? f->name : NULL;
    if (status && !results_status_valid(status))
        return *why = "status must be clear, needs_review, hit, approved, rejected or error",
               CAPP_EINVAL;
    if (risk && strcmp(risk, "low") && strcmp(risk, "medium") && strcmp(risk, "high"))
        return *why = "risk must be low, medium or high", CAPP_EINVAL;
    if (reason && !reason_valid(reason))
        return *why = "reason must be a reason code ([a-z_], at most 32)", CAPP_EINVAL;
    if (name && strlen(name) > RESULTS_NAME_SEARCH_MAX)
        return *why = "name search is longer than 128 bytes", CAPP_EINVAL;
    const char *order = "score";
    int desc = 1;
    if (f->sort && *f->sort) {
        if (strcmp(f->sort, "score") == 0)
            order = "score";
        else if (strcmp(f->sort, "updated") == 0)
            order = "updated_at";
        else if (strcmp(f->sort, "name") == 0)
            order = "display_name", desc = 0;
        else if (strcmp(f->sort, "status") == 0)
            order = "status", desc = 0;
        else
            return *why = "sort must be score, updated, name or status", CAPP_EINVAL;
    }
    if (f->order && *f->order) {
        if (strcmp(f->order, "asc") == 0)
            desc = 0;
        else if (strcmp(f->order, "desc") == 0)
            desc = 1;
        else
            return *why = "order must be asc or desc", CAPP_EINVAL;
    }
    if (f->page_size < 0 || f->page_size > RESULTS_PAGE_SIZE_MAX)
        return *why = "page_size must be 1..200", CAPP_EINVAL;
    if (f->page < 0 || f->page > 1000000)
        return *why = "page must be 1..1000000", CAPP_EINVAL;
    int page_size = f->page_size ? f->page_size : 50;
    int page = f->page ? f->page : 1;
    /* name search as a LIKE pattern with its own escapes */
    char pattern[RESULTS_NAME_SEARCH_MAX * 2 + 3] = "";
    if (name) {
        size_t j = 0;
        pattern[j++] = '%';
        for (const char *p = name; *p; p++) {
            if (*p == '%' || *p == '_' || *p == '\\')
                pattern[j++] = '\\';
            pattern[j++] = *p;
        }
        pattern[j++] = '%';
        pattern[j] = 0;
    }
    char reason_pattern[40] = "";
    if (reason)
        snprintf(reason_pattern, sizeof reason_pattern, "%%\"%s\"%%", reason);
    /* a filter left out binds NULL: the casts give PostgreSQL the parameter's type where it
     * first meets it */
    static const char where[] =
        " WHERE installed_app_id = ?1 AND removed_at IS NULL"
        " AND (CAST(?2 AS TEXT) IS NULL OR status = ?2)"
        " AND (CAST(?3 AS TEXT) IS NULL OR risk = ?3)"
        " AND (CAST(?4 AS TEXT) IS NULL OR reasons LIKE ?4)"
        " AND (CAST(?5 AS TEXT) IS NULL OR lower(display_name) LIKE lower(?5) ESCAPE '\\')";
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT " SUMMARY_COLUMNS " FROM kyc_identities%s ORDER BY %s %s, identity_id"
             " LIMIT ?6 OFFSET ?7",
             where, order, desc ? "DESC" : "ASC");
    char count_sql[512];
    snprintf(count_sql, sizeof count_sql, "SELECT count(*) FROM kyc_identities%s", where);
    struct sql_stmt *st = NULL, *cnt = NULL;
    int rc = sql_prepare(db, sql, &st);
    if (rc == 0)
        rc = sql_prepare(db, count_sql, &cnt);
    if (rc) {
        sql_finalize(st);
        return rc;
    }
    struct sql_stmt *both[2] = {st, cnt};
    for (int i = 0; i < 2; i++) {
        sql_bind_text(both[i], 1, installed_app_id);
        sql_bind_text(both[i], 2, status);
        sql_bind_text(both[i], 3, risk);
        sql_bind_text(both[i], 4, reason ? reason_pattern : NULL);
        sql_bind_text(both[i], 5, name ? pattern : NULL);
    }
    sql_bind_int64(st, 6, page_size);
    sql_bind_int64(st, 7, (int64_t)(page - 1) * page_size);
    json_t *items = json_array();
    while ((rc = sql_step(st)) == 1)
        json_array_append_new(items, row_summary(st));
    long long total = 0;
    if (rc == 0 && (rc = sql_step(cnt)) == 1) {
        total = sql_column_int64(cnt, 0);
        rc = 0;
    }
    sql_finalize(st);
    sql_finalize(cnt);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    *out = json_pack("{s:o, s:I, s:i, s:i}", "items", items, "total", (json_int_t)total, "page",
                     page, "page_size", page_size);
    return *out ? 0 : CAPP_ENOMEM;
}

int results_get(results_db *db, const char *installed_app_id, const char *identity_id, json_t **out)
{
    *out = NULL;
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db,
                         "SELECT " SUMMARY_COLUMNS ", computed_status, detail, lists,"
                         " engine_version, check_id, decided_by, decided_at, anomaly_id,"
                         " writeback_error, alert_error, identity_fields, removed_at"
                         " FROM kyc_identities WHERE installed_app_id = ? AND identity_id = ?",
                         &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, installed_app_id);
    sql_bind_text(st, 2, identity_id);
    rc = sql_step(st);
    if (rc == 1) {
        json_t *o = row_summary(st);
        json_t *detail = results_parse_or(results_col_text(st, 12), json_object());
        json_t *matches = json_object_get(detail, "matches");
        json_t *findings = json_object_get(detail, "findings");
        json_t *suppressed = json_object_get(detail, "suppressed");
        json_t *considered = json_object_get(detail, "considered");
        /* borrowed from detail (kept alive by the incref) or a fresh empty array */
        json_object_set_new(o, "matches", matches ? json_incref(matches) : json_array());
        json_object_set_new(o, "findings", findings ? json_incref(findings) : json_array());
        json_object_set_new(o, "suppressed", suppressed ? json_incref(suppressed) : json_array());
        json_object_set_new(o, "considered", considered ? json_incref(considered) : json_array());
        json_t *screening = json_object_get(detail, "screening");
        if (screening)
            json_object_set(o, "screening", screening);
        json_decref(detail);
        json_object_set_new(o, "computed_status", json_string(results_col_text(st, 11)));
        json_object_set_new(o, "lists", results_parse_or(results_col_text(st, 13), json_object()));
        json_object_set_new(o, "engine_version", json_string(results_col_text(st, 14)));
        json_object_set_new(o, "check_id", json_string(results_col_text(st, 15)));
        json_object_set_new(o, "decided_by",
                            sql_column_is_null(st, 16) ? json_null()
                                                       : json_string(results_col_text(st, 16)));
        json_object_set_new(o, "decided_at", results_sql_column_time(st, 17));
        json_object_set_new(o, "anomaly_id",
                            sql_column_is_null(st, 18) ? json_null()
                                                       : json_string(results_col_text(st, 18)));
        json_object_set_new(o, "writeback_error",
                            sql_column_is_null(st, 19) ? json_null()
                                                       : json_string(results_col_text(st, 19)));
        json_object_set_new(o, "alert_error",
                            sql_column_is_null(st, 20) ? json_null()
                                                       : json_string(results_col_text(st, 20)));
        json_object_set_new(o, "identity",
                            results_parse_or(results_col_text(st, 21), json_object()));
        json_object_set_new(o, "removed_at", results_sql_column_time(st, 22));
        *out = o;
        rc = 0;
    } else if (rc == 0) {
        rc = CAPP_ENOTFOUND;
    }
    sql_finalize(st);
    return rc;
}

int results_counts(results_db *db, const char *installed_app_id, json_t **out)
{
    *out = NULL;
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db,
                         "SELECT CASE WHEN removed_at IS NULL THEN status ELSE 'removed' END,"
                         " count(*) FROM kyc_identities WHERE installed_app_id = ? GROUP BY 1",
                         &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, installed_app_id);
    json_t *o = json_object();
    for (size_t i = 0; i < RESULTS_STATUS_COUNT; i++)
        json_object_set_new(o, results_statuses[i], json_integer(0));
    json_object_set_new(o, "removed", json_integer(0));
    long long total = 0;
    while ((rc = sql_step(st)) == 1) {
        long long c = sql_column_int64(st, 1);
        json_object_set_new(o, results_col_text(st, 0), json_integer(c));
        if (strcmp(results_col_text(st, 0), "removed") != 0)
            total += c; /* the identities Blnk has */
    }
    sql_finalize(st);
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    json_object_set_new(o, "total", json_integer(total));
    *out = o;
    return 0;
}

int results_score_histogram(results_db *db, const char *installed_app_id, json_t **out)
{
    *out = NULL;
    /* the bucket is floor(score * buckets), the top bucket closed: SQLite's CAST truncates a
     * non-negative real (it has no floor() without its math extension); PostgreSQL's CAST
     * rounds, so floor() is spelled out there */
    static const char *const sql[] = {
        [SQL_SQLITE] = "SELECT CASE WHEN score >= 1 THEN ?2 - 1 ELSE CAST(score * ?2 AS INTEGER)"
                       " END, count(*) FROM kyc_identities"
                       " WHERE installed_app_id = ?1 AND removed_at IS NULL GROUP BY 1",
        [SQL_POSTGRES] = "SELECT CASE WHEN score >= 1 THEN ?2 - 1 ELSE CAST(floor(score * ?2) AS"
                         " BIGINT) END, count(*) FROM kyc_identities"
                         " WHERE installed_app_id = ?1 AND removed_at IS NULL GROUP BY 1",
    };
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db, sql[sql_engine_of(db)], &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, installed_app_id);
    sql_bind_int64(st, 2, RESULTS_HIST_BUCKETS);
    long long counts[RESULTS_HIST_BUCKETS] = {0};
    while ((rc = sql_step(st)) == 1) {
        int64_t b = sql_column_int64(st, 0);
        if (b >= 0 && b < RESULTS_HIST_BUCKETS)
            counts[b] += sql_column_int64(st, 1);
    }
    sql_finalize(st);
    if (rc < 0)
        return rc;
    json_t *arr = json_array();
    for (int b = 0; b < RESULTS_HIST_BUCKETS; b++)
        json_array_append_new(
            arr, json_pack("{s:f, s:f, s:I}", "from", (double)b / RESULTS_HIST_BUCKETS, "to",
                           (double)(b + 1) / RESULTS_HIST_BUCKETS, "count", (json_int_t)counts[b]));
    *out = json_pack("{s:o}", "buckets", arr);
    return 0;
}

/* How many rows match cond, 0 over no rows (a boolean is no number on PostgreSQL). */
#define COUNT_IF(cond) "coalesce(sum(CASE WHEN " cond " THEN 1 ELSE 0 END), 0)"

int results_outbox_counts(results_db *db, const char *installed_app_id, json_t **out)
{
    *out = NULL;
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(
        db,
        "SELECT " COUNT_IF("writeback_state = 'pending'") ", " COUNT_IF(
            "writeback_state = "
            "'failed'") ", " COUNT_IF("alert_state = 'wanted'") ", " COUNT_IF("alert_state = "
                                                                              "'open'") ","
                                                                                        " " COUNT_IF("alert_state = 'uncertain'") ", " COUNT_IF(
                                                                                            "alert"
                                                                                            "_stat"
                                                                                            "e = "
                                                                                            "'fail"
                                                                                            "ed'") ", " COUNT_IF("alert_state = 'resolved'") " FROM kyc_identities WHERE installed_app_id = ?",
        &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, installed_app_id);
    rc = sql_step(st);
    if (rc == 1) {
        *out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "writeback_pending",
                         (json_int_t)sql_column_int64(st, 0), "writeback_failed",
                         (json_int_t)sql_column_int64(st, 1), "alerts_wanted",
                         (json_int_t)sql_column_int64(st, 2), "alerts_open",
                         (json_int_t)sql_column_int64(st, 3), "alerts_uncertain",
                         (json_int_t)sql_column_int64(st, 4), "alerts_failed",
                         (json_int_t)sql_column_int64(st, 5), "alerts_resolved",
                         (json_int_t)sql_column_int64(st, 6));
        rc = 0;
    }
    sql_finalize(st);
    return rc < 0 ? rc : 0;
}

int results_runs(results_db *db, const char *installed_app_id, int limit, json_t **out)
{
    *out = NULL;
    if (limit <= 0 || limit > 100)
        limit = 20;
    struct sql_stmt *st = NULL;
    int rc = sql_prepare(db,
                         "SELECT run_id, trigger, state, started_at, coalesce(finished_at, 0),"
                         " fetched, screened, unchanged, written, alerts_created, alerts_resolved,"
                         " errors, rate_limited, fetch_ms, screen_ms, write_ms, message"
                         " FROM kyc_runs WHERE installed_app_id = ? ORDER BY run_id DESC LIMIT ?",
                         &st);
    if (rc)
        return rc;
    sql_bind_text(st, 1, installed_app_id);
    sql_bind_int64(st, 2, limit);
    json_t *arr = json_array();
    while ((rc = sql_step(st)) == 1) {
        struct results_run r;
        memset(&r, 0, sizeof r);
        r.run_id = sql_column_int64(st, 0);
        sql_column_copy(st, 1, r.trigger, sizeof r.trigger);
        sql_column_copy(st, 2, r.state, sizeof r.state);
        r.started_at_ms = sql_column_int64(st, 3);
        r.finished_at_ms = sql_column_int64(st, 4);
        long long *v[] = {&r.fetched,        &r.screened,        &r.unchanged, &r.written,
                          &r.alerts_created, &r.alerts_resolved, &r.errors,    &r.rate_limited,
                          &r.fetch_ms,       &r.screen_ms,       &r.write_ms};
        for (int i = 0; i < 11; i++)
            *v[i] = sql_column_int64(st, 5 + i);
        sql_column_copy(st, 16, r.message, sizeof r.message);
        json_array_append_new(arr, results_run_json(&r));
    }
    sql_finalize(st);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

int results_list_entry_hash(results_db *db, const char *entry_id, char out[RESULTS_HASH_CAP])
{
    out[0] = 0;
    const char *key[] = {entry_id};
    const struct sql_text_out hash = {out, RESULTS_HASH_CAP};
    return sql_load_texts(db, "SELECT hash FROM kyc_list_entries WHERE entry_id = ?1", key, 1,
                          &hash, 1);
}
