/*
 * portal_query.c — what every portal view reads a request with: the process's portal state,
 * the calling thread's results connection, the JSON body of an API call and the queue filter
 * from the query string (see portal_internal.h). Used by portal_api.c (which registers every
 * portal route), the pages (portal_pages.c, portal_queue.c, portal_reviewers.c) and
 * portal_export.c; it lives apart from portal_api.c so that the pages and exports need nothing
 * from the file that registers them.
 */
#include "kyc/portal_internal.h"

#include <stdlib.h>
#include <string.h>

#include "capp/err.h"
#include "capp/http.h"
#include "capp/json.h"
#include "kyc/pipeline.h"

results_db *kyc_portal_db(struct kyc_portal *kp)
{
    return results_conn(pipeline_results(kp->pipeline));
}

/* The one portal of a `kyc serve` process, set up by kyc_portal_register before serving. */
static struct kyc_portal portal_state;

struct kyc_portal *kyc_portal_state(void)
{
    return &portal_state;
}

int kyc_portal_read_body(struct capp_portal_context *pc, json_t **obj)
{
    size_t len = 0;
    const char *body = http_body(pc->req, &len);
    struct json_error err;
    int rc = json_parse_object(body ? body : "", len, obj, &err);
    if (rc)
        http_respond_error(pc->req, 400, err.code ? err.code : "invalid_json", "%s", err.message);
    return rc;
}

static int one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

static const char *param(struct http_request *req, const char *name)
{
    const char *v = http_query(req, name);
    return v && *v ? v : NULL;
}

int kyc_portal_filter(struct http_request *req, struct results_filter *f, const char **why)
{
    static const char *const risks[] = {"low", "medium", "high", NULL};
    static const char *const sorts[] = {"score", "updated", "name", "status", NULL};
    static const char *const orders[] = {"asc", "desc", NULL};
    memset(f, 0, sizeof *f);
    *why = NULL;
    f->status = param(req, "status");
    f->risk = param(req, "risk");
    f->reason = param(req, "reason");
    f->name = param(req, "q");
    f->sort = param(req, "sort");
    f->order = param(req, "order");
    if (f->status && !results_status_valid(f->status))
        *why = "status";
    else if (f->risk && !one_of(f->risk, risks))
        *why = "risk";
    else if (f->sort && !one_of(f->sort, sorts))
        *why = "sort";
    else if (f->order && !one_of(f->order, orders))
        *why = "order";
    else if (f->name && strlen(f->name) > RESULTS_NAME_SEARCH_MAX)
        *why = "q";
    if (f->reason) {
        size_t n = strlen(f->reason);
        int ok = n >= 1 && n <= 32;
        for (size_t i = 0; ok && i < n; i++)
            ok = (f->reason[i] >= 'a' && f->reason[i] <= 'z') || f->reason[i] == '_';
        if (!ok && !*why)
            *why = "reason";
    }
    const char *page = param(req, "page");
    f->page = 1;
    if (page) {
        char *end = NULL;
        long n = strtol(page, &end, 10);
        if (*end || n < 1 || n > 1000000) {
            if (!*why)
                *why = "page";
        } else {
            f->page = (int)n;
        }
    }
    const char *page_size = param(req, "page_size");
    f->page_size = 25;
    if (page_size) {
        char *end = NULL;
        long n = strtol(page_size, &end, 10);
        if (*end || n < 1 || n > RESULTS_PAGE_SIZE_MAX) {
            if (!*why)
                *why = "page_size";
        } else {
            f->page_size = (int)n;
        }
    }
    return *why ? CAPP_EINVAL : 0;
}
