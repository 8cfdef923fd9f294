/*
 * portal_api.c — the review portal's registration and its JSON endpoints (see portal.h).
 *
 * Every handler scopes by the session's install. Reads need only the portal session; every
 * change needs the session signed in to a reviewer account (D23′, kyc/portal_reviewers.c) and is
 * attributed to that account, with the launch's V1 user_id recorded beside it. Request bodies
 * are parsed strictly (capp/json.h); errors the user can cause get {"error", "code"} with our
 * own words, never an upstream message.
 */
#include "kyc/portal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/err.h"
#include "capp/http.h"
#include "capp/json.h"
#include "capp/log.h"
#include "kyc/pipeline.h"
#include "kyc/portal_internal.h"
#include "kyc/review.h"

static const char *const why_messages[][2] = {
    {"same_reviewer", "A second, different reviewer must confirm this decision."},
    {"sign_in_required", "Sign in to decide: reading the queue needs only the launch, but "
                         "decisions, confirmations, settings and exports need a reviewer signed "
                         "in with a code from their authenticator app."},
    {"decision_pending", "A decision for this identity is already waiting for a second reviewer."},
    {"decision_not_pending", "That decision is no longer waiting for a reviewer."},
    {"decision_stale", "The identity's status changed after the decision was proposed, so it "
                       "was cancelled. Propose it again if it still applies."},
    {"no_change", "The identity already has that status."},
    {"identity_removed", "This identity was deleted in Blnk: it is kept here for the record and "
                         "can no longer be decided."},
    {"note", "A note is required (up to 2000 characters, no control characters)."},
    {"entry_id", "That list entry is not one of this identity's current matches."},
    {"identity_id", "That identity is not known."},
};

const char *kyc_portal_why_message(const char *why)
{
    for (size_t i = 0; why && i < sizeof why_messages / sizeof why_messages[0]; i++)
        if (strcmp(why, why_messages[i][0]) == 0)
            return why_messages[i][1];
    return NULL;
}

static void respond_failure(struct http_request *req, int rc, const char *why)
{
    const char *msg = kyc_portal_why_message(why);
    switch (rc) {
    case CAPP_EINVAL:
        http_respond_error(req, 400, why ? why : "invalid", "%s",
                           msg ? msg : "the request is not valid");
        return;
    case CAPP_ENOTFOUND:
        http_respond_error(req, 404, "not_found", "no such identity or decision for this install");
        return;
    case CAPP_ECONFLICT:
        http_respond_error(req, 409, why ? why : "conflict", "%s",
                           msg ? msg : "the current state does not allow this");
        return;
    case CAPP_EPERM:
        http_respond_error(req, 403, why ? why : "forbidden", "%s",
                           msg ? msg : "this action is not allowed");
        return;
    case CAPP_EBUSY:
        http_respond_error(req, 503, "busy", "the database is busy; try again");
        return;
    default:
        http_respond_error(req, 500, "internal", "the action could not be completed");
        return;
    }
}

/* ---- reads ---- */

static void identities_list(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_portal *kp = ctx;
    struct results_filter f;
    const char *why = NULL;
    int rc = kyc_portal_filter(pc->req, &f, &why);
    if (rc) {
        http_respond_error(pc->req, 400, "invalid_filter", "the filter parameter '%s' is not valid",
                           why);
        return;
    }
    sqlite3 *db = kyc_portal_db(kp);
    json_t *out = NULL;
    rc = db ? results_list(db, pc->install.installed_app_id, &f, &out, &why) : CAPP_EDB;
    if (rc == CAPP_EINVAL) {
        http_respond_error(pc->req, 400, "invalid_filter", "the filter is not valid (%s)",
                           why ? why : "filter");
        return;
    }
    if (rc) {
        respond_failure(pc->req, rc, NULL);
        return;
    }
    http_respond_json(pc->req, 200, out);
}

/* {result..., "pending": {...}|null, "decisions": [...], "false_positives": [...]} */
static int identity_json(sqlite3 *db, const char *install, const char *identity_id, json_t **out)
{
    json_t *o = NULL, *pending = NULL, *decisions = NULL, *fps = NULL;
    int rc = results_get(db, install, identity_id, &o);
    if (rc == 0)
        rc = review_pending(db, install, identity_id, &pending);
    if (rc == 0)
        rc = review_decisions(db, install, identity_id, &decisions);
    if (rc == 0)
        rc = review_false_positives(db, install, identity_id, &fps);
    if (rc) {
        json_decref(o);
        json_decref(pending);
        json_decref(decisions);
        json_decref(fps);
        return rc;
    }
    json_object_set_new(o, "pending", pending ? pending : json_null());
    json_object_set_new(o, "decisions", decisions);
    json_object_set_new(o, "false_positives", fps);
    *out = o;
    return 0;
}

/* /identities/{id} and /identities/{id}/dossier */
static void identity_route(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_portal *kp = ctx;
    const char *rest = http_path(pc->req) + strlen("/portal/api/identities/");
    char id[STORE_ID_CAP];
    size_t n = strcspn(rest, "/");
    const char *tail = rest + n;
    if (n == 0 || n >= sizeof id) {
        http_respond_error(pc->req, 404, "not_found", "no such portal endpoint");
        return;
    }
    memcpy(id, rest, n);
    id[n] = 0;
    if (!json_is_valid_id(id, CAPP_MAX_ID_BYTES) ||
        (strcmp(tail, "") != 0 && strcmp(tail, "/dossier") != 0)) {
        http_respond_error(pc->req, 404, "not_found", "no such portal endpoint");
        return;
    }
    if (strcmp(tail, "/dossier") == 0) {
        kyc_portal_dossier(pc, kp, id);
        return;
    }
    sqlite3 *db = kyc_portal_db(kp);
    json_t *o = NULL;
    int rc = db ? identity_json(db, pc->install.installed_app_id, id, &o) : CAPP_EDB;
    if (rc) {
        respond_failure(pc->req, rc, NULL);
        return;
    }
    http_respond_json(pc->req, 200, o);
}

/* ---- writes ---- */

static int apply_status(void *ctx, const char *installed_app_id, const char *identity_id,
                        const char *status, const char *account_id, const char *note)
{
    struct kyc_portal *kp = ctx;
    /* the pipeline's decider is the reviewer account (review_decision_allowed checks it) */
    struct pipeline_decision d = {
        .identity_id = identity_id,
        .status = status,
        .user_id = account_id,
        .reason = note,
    };
    return pipeline_apply_decision(kp->pipeline, installed_app_id, &d);
}

static int read_body(struct capp_portal_context *pc, json_t **obj)
{
    size_t len = 0;
    const char *body = http_body(pc->req, &len);
    struct json_error err;
    int rc = json_parse_object(body ? body : "", len, obj, &err);
    if (rc)
        http_respond_error(pc->req, 400, err.code ? err.code : "invalid_json", "%s", err.message);
    return rc;
}

/* The actor of a change: the signed-in account, and the launch's V1 user_id beside it. */
static struct review_actor actor_of(const struct capp_portal_context *pc,
                                    const struct reviewer_account *a)
{
    struct review_actor by = {
        .account_id = a->account_id,
        .user_id = pc->session.user_id[0] ? pc->session.user_id : NULL,
    };
    return by;
}

static void log_decision(const struct capp_portal_context *pc, const struct reviewer_account *a,
                         const char *what, const char *identity_id, const char *outcome)
{
    log_info("review.decision", "req", http_request_id(pc->req), "installed_app_id",
             pc->install.installed_app_id, "identity_id", identity_id, "what", what, "account_id",
             a->account_id, "user_id", pc->session.user_id, "outcome", outcome, NULL);
}

static void decisions_post(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_portal *kp = ctx;
    sqlite3 *db = kyc_portal_db(kp);
    struct reviewer_account reviewer;
    if (kyc_portal_require_reviewer(pc, db, &reviewer))
        return;
    json_t *body = NULL;
    if (read_body(pc, &body))
        return;
    const char *identity_id = NULL, *action = NULL, *note = NULL;
    struct json_field fields[] = {
        JSON_ID("identity_id", &identity_id, 1),
        JSON_STRING("action", &action, 16, 1),
        JSON_STRING("note", &note, REVIEW_NOTE_MAX_BYTES, 1),
    };
    struct json_error err;
    struct review_request rq = {0};
    if (json_read_fields(body, fields, 3, &err) != 0) {
        http_respond_error(pc->req, 400, err.code ? err.code : "invalid_field", "%s", err.message);
        goto out;
    }
    if (review_action_parse(action, &rq.action) != 0) {
        http_respond_error(pc->req, 400, "invalid_action",
                           "action must be approve, reject or reopen");
        goto out;
    }
    json_t *current = NULL;
    struct review_settings s;
    struct review_outcome o = {0};
    int rc = db ? results_get(db, pc->install.installed_app_id, identity_id, &current) : CAPP_EDB;
    if (rc == 0)
        rc = review_settings_get(db, pc->install.installed_app_id, &s);
    if (rc == 0) {
        rq.identity_id = identity_id;
        rq.by = actor_of(pc, &reviewer);
        rq.note = note;
        rc =
            review_decide(db, pc->install.installed_app_id, &s, current, &rq, apply_status, kp, &o);
    }
    json_decref(current);
    log_decision(pc, &reviewer, action, identity_id,
                 rc          ? (o.why ? o.why : capp_errcode(rc))
                 : o.pending ? "pending"
                             : "applied");
    if (rc) {
        respond_failure(pc->req, rc, o.why);
        goto out;
    }
    http_respond_json(
        pc->req, o.pending ? 202 : 200,
        json_pack("{s:I, s:s, s:s}", "decision_id", (json_int_t)o.decision_id, "state",
                  o.pending ? "pending" : "applied", "message",
                  o.pending ? "Recorded. A second, different reviewer must confirm it." : "Done."));
out:
    json_decref(body);
}

/* POST /decisions/{id}/confirm | /cancel */
static void decision_post(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_portal *kp = ctx;
    const char *rest = http_path(pc->req) + strlen("/portal/api/decisions/");
    char *end = NULL;
    long long id = strtoll(rest, &end, 10);
    int confirm = end && strcmp(end, "/confirm") == 0;
    int cancel = end && strcmp(end, "/cancel") == 0;
    if (end == rest || id <= 0 || (!confirm && !cancel)) {
        http_respond_error(pc->req, 404, "not_found", "no such portal endpoint");
        return;
    }
    sqlite3 *db = kyc_portal_db(kp);
    struct reviewer_account reviewer;
    if (kyc_portal_require_reviewer(pc, db, &reviewer))
        return;
    json_t *body = NULL;
    if (read_body(pc, &body))
        return;
    const char *note = NULL;
    struct json_field fields[] = {JSON_STRING("note", &note, REVIEW_NOTE_MAX_BYTES, 1)};
    struct json_error err;
    if (json_read_fields(body, fields, 1, &err) != 0) {
        http_respond_error(pc->req, 400, err.code ? err.code : "invalid_field", "%s", err.message);
        json_decref(body);
        return;
    }
    struct review_outcome o = {0};
    struct review_actor by = actor_of(pc, &reviewer);
    char identity_id[STORE_ID_CAP] = "";
    json_t *current = NULL;
    int rc = db ? review_decision_identity(db, pc->install.installed_app_id, id, identity_id,
                                           sizeof identity_id)
                : CAPP_EDB;
    if (rc == 0 && confirm)
        rc = results_get(db, pc->install.installed_app_id, identity_id, &current);
    if (rc == 0)
        rc = confirm ? review_confirm(db, pc->install.installed_app_id, id, current, &by, note,
                                      apply_status, kp, &o)
                     : review_cancel(db, pc->install.installed_app_id, id, &by, note, &o);
    json_decref(current);
    json_decref(body);
    log_decision(pc, &reviewer, confirm ? "confirm" : "cancel", identity_id,
                 rc ? (o.why ? o.why : capp_errcode(rc)) : "ok");
    if (rc) {
        respond_failure(pc->req, rc, o.why);
        return;
    }
    http_respond_json(pc->req, 200,
                      json_pack("{s:I, s:s, s:s}", "decision_id", (json_int_t)id, "state",
                                confirm ? "applied" : "cancelled", "message",
                                confirm ? "Confirmed and applied." : "Cancelled."));
}

/* 1 when entry_id is one of the identity's stored matches. */
static int is_current_match(const json_t *current, const char *entry_id)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(current, "matches"), i, m)
    {
        const char *e = json_string_value(json_object_get(m, "entry_id"));
        if (e && strcmp(e, entry_id) == 0)
            return 1;
    }
    return 0;
}

static void false_positive_post(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_portal *kp = ctx;
    sqlite3 *db = kyc_portal_db(kp);
    struct reviewer_account reviewer;
    if (kyc_portal_require_reviewer(pc, db, &reviewer))
        return;
    json_t *body = NULL;
    if (read_body(pc, &body))
        return;
    const char *identity_id = NULL, *entry_id = NULL, *note = NULL;
    struct json_field fields[] = {
        JSON_ID("identity_id", &identity_id, 1),
        JSON_STRING("entry_id", &entry_id, CAPP_MAX_ID_BYTES, 1),
        JSON_STRING("note", &note, REVIEW_NOTE_MAX_BYTES, 1),
    };
    struct json_error err;
    if (json_read_fields(body, fields, 3, &err) != 0) {
        http_respond_error(pc->req, 400, err.code ? err.code : "invalid_field", "%s", err.message);
        json_decref(body);
        return;
    }
    json_t *current = NULL;
    const char *why = NULL;
    char hash[65] = "";
    struct review_actor by = actor_of(pc, &reviewer);
    int rc = db ? results_get(db, pc->install.installed_app_id, identity_id, &current) : CAPP_EDB;
    if (rc == 0 && !is_current_match(current, entry_id)) {
        why = "entry_id";
        rc = CAPP_EINVAL;
    }
    if (rc == 0) {
        rc = review_list_entry_hash(db, entry_id, hash);
        if (rc == CAPP_ENOTFOUND) {
            why = "entry_id";
            rc = CAPP_EINVAL;
        }
    }
    if (rc == 0)
        rc = review_false_positive_mark(db, pc->install.installed_app_id, identity_id, entry_id,
                                        hash, &by, note, &why);
    json_decref(current);
    log_decision(pc, &reviewer, "false_positive", identity_id,
                 rc ? (why ? why : capp_errcode(rc)) : "ok");
    if (rc)
        respond_failure(pc->req, rc, why);
    else
        http_respond_json(pc->req, 200,
                          json_pack("{s:s, s:s, s:s}", "entry_id", entry_id, "entry_hash", hash,
                                    "message", "Marked as a false positive for this list entry."));
    json_decref(body);
}

static json_t *settings_json(const struct review_settings *s, const struct capp_portal_context *pc)
{
    struct reviewer_account a;
    int signed_in = kyc_portal_reviewer(pc, kyc_portal_db(kyc_portal_state()), &a) == 1;
    return json_pack("{s:b, s:b, s:f}", "four_eyes", s->four_eyes, "signed_in", signed_in,
                     "four_eyes_score", REVIEW_FOUR_EYES_SCORE);
}

static void settings_get(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_portal *kp = ctx;
    sqlite3 *db = kyc_portal_db(kp);
    struct review_settings s;
    int rc = db ? review_settings_get(db, pc->install.installed_app_id, &s) : CAPP_EDB;
    if (rc) {
        respond_failure(pc->req, rc, NULL);
        return;
    }
    http_respond_json(pc->req, 200, settings_json(&s, pc));
}

static void settings_put(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_portal *kp = ctx;
    sqlite3 *db = kyc_portal_db(kp);
    struct reviewer_account reviewer;
    if (kyc_portal_require_reviewer(pc, db, &reviewer))
        return;
    json_t *body = NULL;
    if (read_body(pc, &body))
        return;
    int four_eyes = 0;
    struct json_field fields[] = {JSON_BOOLEAN("four_eyes", &four_eyes, 1)};
    struct json_error err;
    if (json_read_fields(body, fields, 1, &err) != 0) {
        http_respond_error(pc->req, 400, err.code ? err.code : "invalid_field", "%s", err.message);
        json_decref(body);
        return;
    }
    json_decref(body);
    struct review_settings s = {.four_eyes = four_eyes};
    struct review_actor by = actor_of(pc, &reviewer);
    int rc = review_settings_set(db, pc->install.installed_app_id, &by, &s);
    log_info("review.settings", "req", http_request_id(pc->req), "installed_app_id",
             pc->install.installed_app_id, "four_eyes", four_eyes ? "on" : "off", "account_id",
             reviewer.account_id, "outcome", rc ? capp_errcode(rc) : "ok", NULL);
    if (rc) {
        respond_failure(pc->req, rc, NULL);
        return;
    }
    json_t *o = settings_json(&s, pc);
    json_object_set_new(
        o, "message",
        json_string(four_eyes ? "Four-eyes review is on." : "Four-eyes review is off."));
    http_respond_json(pc->req, 200, o);
}

int kyc_portal_register(struct capp_app *app, struct pipeline *pipeline)
{
    struct kyc_portal *kp = kyc_portal_state();
    kp->pipeline = pipeline;
    sqlite3 *db = kyc_portal_db(kp);
    int rc = db ? review_migrate(db) : CAPP_EDB;
    if (rc == 0)
        rc = kyc_portal_reviewers_register(app, kp);
    if (rc)
        return rc;
    static const struct {
        const char *method, *path;
        capp_portal_fn fn;
    } routes[] = {
        {"GET", "/identities", identities_list},
        {"GET", "/identities/*", identity_route},
        {"POST", "/decisions", decisions_post},
        {"POST", "/decisions/*", decision_post},
        {"POST", "/false-positives", false_positive_post},
        {"GET", "/settings", settings_get},
        {"PUT", "/settings", settings_put},
        {"GET", "/export.csv", kyc_portal_export_csv},
    };
    for (size_t i = 0; rc == 0 && i < sizeof routes / sizeof routes[0]; i++)
        rc = capp_app_portal_route(app, routes[i].method, routes[i].path, routes[i].fn, kp);
    if (rc)
        return rc;
    capp_app_set_page(app, kyc_portal_page, kp);
    capp_app_set_static(app, kyc_portal_js, kyc_portal_css);
    return 0;
}
