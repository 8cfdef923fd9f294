/*
 * portal_export.c — downloads: the results as CSV (GET /portal/api/export.csv, the queue's
 * filters, every page up to PORTAL_EXPORT_MAX_ROWS) and one identity's audit dossier as JSON
 * (GET /portal/api/identities/{id}/dossier).
 *
 * CSV (RFC 4180): every field quoted, quotes doubled, CRLF line ends. A cell that a spreadsheet
 * would read as a formula (= + - @, tab, CR) gets a leading apostrophe: names come from
 * customers and must never run as formulas in a reviewer's spreadsheet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/clock.h"
#include "capp/err.h"
#include "capp/http.h"
#include "capp/log.h"
#include "kyc/audit.h"
#include "kyc/portal_internal.h"
#include "kyc/review.h"

#define EXPORT_MAX_BYTES (64 * 1024 * 1024)

static int cell(struct buf *b, const char *s, int last)
{
    int rc = buf_append_str(b, "\"");
    if (rc == 0 && s &&
        (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
        rc = buf_append_str(b, "'");
    for (const char *p = s ? s : ""; rc == 0 && *p; p++)
        rc = *p == '"' ? buf_append_str(b, "\"\"") : buf_append(b, p, 1);
    return rc ? rc : buf_append_str(b, last ? "\"\r\n" : "\",");
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int row(struct buf *b, const json_t *it)
{
    char score[32], reasons[512] = "";
    snprintf(score, sizeof score, "%.4f", json_number_value(json_object_get(it, "score")));
    size_t i, n = 0;
    json_t *r;
    json_array_foreach(json_object_get(it, "reasons"), i, r)
    {
        int w = snprintf(reasons + n, sizeof reasons - n, "%s%s", i ? ";" : "",
                         json_string_value(r) ? json_string_value(r) : "");
        if (w < 0 || (size_t)w >= sizeof reasons - n)
            break;
        n += (size_t)w;
    }
    const char *cols[] = {str(it, "identity_id"),
                          str(it, "name"),
                          str(it, "identity_type"),
                          str(it, "status"),
                          str(it, "risk"),
                          score,
                          reasons,
                          str(it, "screened_at"),
                          str(it, "updated_at"),
                          str(it, "writeback"),
                          str(it, "alert")};
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < sizeof cols / sizeof cols[0]; k++)
        rc = cell(b, cols[k], k + 1 == sizeof cols / sizeof cols[0]);
    return rc;
}

void kyc_portal_export_csv(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_portal *kp = ctx;
    struct reviewer_account reviewer; /* a bulk export needs a signed-in reviewer (D23′) */
    if (kyc_portal_require_reviewer(pc, kyc_portal_db(kp), &reviewer))
        return;
    struct results_filter f;
    const char *why = NULL;
    if (kyc_portal_filter(pc->req, &f, &why) != 0) {
        http_respond_error(pc->req, 400, "invalid_filter", "the filter parameter '%s' is not valid",
                           why);
        return;
    }
    results_db *db = kyc_portal_db(kp);
    if (!db) {
        http_respond_error(pc->req, 503, "unavailable", "the results database is unavailable");
        return;
    }
    struct buf b;
    buf_init(&b, EXPORT_MAX_BYTES);
    int rc = buf_append_str(&b, "identity_id,name,identity_type,status,risk,score,reasons,"
                                "screened_at,updated_at,writeback,alert\r\n");
    f.page_size = RESULTS_PAGE_SIZE_MAX;
    long rows = 0;
    for (f.page = 1; rc == 0 && rows < PORTAL_EXPORT_MAX_ROWS; f.page++) {
        json_t *list = NULL;
        rc = results_list(db, pc->install.installed_app_id, &f, &list, &why);
        if (rc)
            break;
        json_t *items = json_object_get(list, "items");
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            if (rc || rows >= PORTAL_EXPORT_MAX_ROWS)
                break;
            rc = row(&b, it);
            rows++;
        }
        size_t got = json_array_size(items);
        json_decref(list);
        if (got < (size_t)f.page_size)
            break;
    }
    if (rc) {
        buf_free(&b);
        http_respond_error(pc->req, rc == CAPP_EINVAL ? 400 : 500,
                           rc == CAPP_EINVAL ? "invalid_filter" : "export_failed",
                           rc == CAPP_EINVAL ? "the filter is not valid"
                                             : "the export could not be built");
        return;
    }
    char ts[40], disposition[96];
    clock_format_rfc3339(clock_now_ms(), ts, sizeof ts);
    snprintf(disposition, sizeof disposition,
             "attachment; filename=\"kyc-results-%.4s%.2s%.2s.csv\"", ts, ts + 5, ts + 8);
    http_add_header(pc->req, "Content-Disposition", disposition);
    log_info("review.export", "req", http_request_id(pc->req), "installed_app_id",
             pc->install.installed_app_id, "kind", "csv", NULL);
    http_respond(pc->req, 200, "text/csv; charset=utf-8", b.data ? b.data : "", b.len);
    buf_free(&b);
}

void kyc_portal_dossier(struct capp_portal_context *pc, struct kyc_portal *kp,
                        const char *identity_id)
{
    results_db *db = kyc_portal_db(kp);
    const char *install = pc->install.installed_app_id;
    json_t *current = NULL, *decisions = NULL, *fps = NULL;
    int rc = db ? results_get(db, install, identity_id, &current) : CAPP_EDB;
    if (rc == CAPP_ENOTFOUND) {
        http_respond_error(pc->req, 404, "not_found", "no such identity for this install");
        return;
    }
    if (rc == 0)
        rc = review_decisions(db, install, identity_id, &decisions);
    if (rc == 0)
        rc = review_false_positives(db, install, identity_id, &fps);
    char *text = NULL;
    if (rc == 0) {
        json_t *extra = json_pack("{s:O, s:O, s:O}", "current", current, "decisions", decisions,
                                  "false_positives", fps);
        rc = extra ? audit_dossier_json(sql_sqlite_handle(db), install, identity_id, extra, &text)
                   : CAPP_ENOMEM;
        json_decref(extra);
    }
    json_decref(current);
    json_decref(decisions);
    json_decref(fps);
    if (rc) {
        http_respond_error(pc->req, 500, "dossier_failed", "the dossier could not be built");
        return;
    }
    char disposition[200];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"kyc-dossier-%s.json\"",
             identity_id);
    http_add_header(pc->req, "Content-Disposition", disposition);
    log_info("review.export", "req", http_request_id(pc->req), "installed_app_id", install,
             "identity_id", identity_id, "kind", "dossier", NULL);
    http_respond(pc->req, 200, "application/json", text, strlen(text));
    free(text);
}
