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
#include "capp/store.h"
#include "kyc/pipeline.h"
#include "kyc/portal_internal.h"
#include "kyc/review.h"

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
    results_db *db = kyc_portal_db(kp);
    json_t *out = NULL;
    rc = db ? results_list(db, pc->install.installed_app_id, &f, &out, &why) : CAPP_EDB;
    if (rc == CAPP_EINVAL) {
        http_respond_error(pc->req, 400, "invalid_filter", "the filter is not valid (%s)",
                           why ? why : "filter");
        return;
    }
    if (rc) {
        kyc_portal_respond_failure(pc->req, rc, NULL);
        return;
    }
    http_respond_json(pc->req, 200, out);
}

/* {result..., "pending": {...}|null, "decisions": [...], "false_positives": [...]} */
static int identity_json(results_db *db, const char *install, const char *identity_id, json_t **out)
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
    results_db *db = kyc_portal_db(kp);
    json_t *o = NULL;
    int rc = db ? identity_json(db, pc->install.installed_app_id, id, &o) : CAPP_EDB;
    if (rc) {
        kyc_portal_respond_failure(pc->req, rc, NULL);
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
    results_db *db = kyc_portal_db(kp);
    struct reviewer_account reviewer;
    if (kyc_portal_require_reviewer(pc, db, &reviewer))
        return;
    json_t *body = NULL;
    if (kyc_portal_read_body(pc, &body))
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
        kyc_portal_respond_failure(pc->req, rc, o.why);
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
    results_db *db = kyc_portal_db(kp);
    struct reviewer_account reviewer;
    if (kyc_portal_require_reviewer(pc, db, &reviewer))
        return;
    json_t *body = NULL;
    if (kyc_portal_read_body(pc, &body))
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
        kyc_portal_respond_failure(pc->req, rc, o.why);
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
    results_db *db = kyc_portal_db(kp);
    struct reviewer_account reviewer;
    if (kyc_portal_require_reviewer(pc, db, &reviewer))
        return;
    json_t *body = NULL;
    if (kyc_portal_read_body(pc, &body))
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
        kyc_portal_respond_failure(pc->req, rc, why);
    else
        http_respond_json(pc->req, 200,
                          json_pack("{s:s, s:s, s:s}", "entry_id", entry_id, "entry_hash", hash,
                                    "message", "Marked as a false positive for this list entry."));
    json_decref(body);
}

/* The loaded names the install screens against (those not excluded). */
static json_t *chosen_json(const struct review_selection *loaded,
                           const struct review_selection *excluded)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < loaded->n; i++)
        if (!review_selection_has(excluded, loaded->names[i]))
            json_array_append_new(a, json_string(loaded->names[i]));
    return a;
}

static json_t *names_json(const struct review_selection *sel)
{
    return chosen_json(sel, NULL);
}

/* screen_tokenized_effective: the setting takes effect only with data:read (detokenize is a
 * proxy read), so the page can say why it does nothing. screen_lists and screen_topics are the
 * loaded lists (by source) and topics the install screens against, lists_loaded and
 * topics_loaded all there are to choose from. */
static json_t *settings_json(const struct review_settings *s, const struct capp_portal_context *pc)
{
    struct kyc_portal *kp = kyc_portal_state();
    struct reviewer_account a;
    int signed_in = kyc_portal_reviewer(pc, kyc_portal_db(kp), &a) == 1;
    struct review_selection lists, topics;
    (void)pipeline_screen_catalog(kp->pipeline, &lists, &topics);
    return json_pack("{s:b, s:b, s:f, s:b, s:b, s:o, s:o, s:o, s:o}", "four_eyes", s->four_eyes,
                     "signed_in", signed_in, "four_eyes_score", REVIEW_FOUR_EYES_SCORE,
                     "screen_tokenized", s->screen_tokenized, "screen_tokenized_effective",
                     s->screen_tokenized && store_install_has_permission(&pc->install, "data:read"),
                     "screen_lists", chosen_json(&lists, &s->lists_excluded), "screen_topics",
                     chosen_json(&topics, &s->topics_excluded), "lists_loaded", names_json(&lists),
                     "topics_loaded", names_json(&topics));
}

static void settings_get(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_portal *kp = ctx;
    results_db *db = kyc_portal_db(kp);
    struct review_settings s;
    int rc = db ? review_settings_get(db, pc->install.installed_app_id, &s) : CAPP_EDB;
    if (rc) {
        kyc_portal_respond_failure(pc->req, rc, NULL);
        return;
    }
    http_respond_json(pc->req, 200, settings_json(&s, pc));
}

/* The exclusions a choice gives: every loaded name not chosen, and the earlier exclusions of
 * names not loaded now (kept for when they are loaded again). A chosen name that is not loaded
 * → 400 unknown_code; nothing chosen → 400 empty_code. 0 or -1 (the response is sent). */
static int exclusions_of(struct capp_portal_context *pc, const char *field, const char *what,
                         const char *const *chosen, size_t n_chosen,
                         const struct review_selection *loaded, const struct review_selection *old,
                         struct review_selection *out, const char *unknown_code)
{
    if (n_chosen == 0) {
        http_respond_error(pc->req, 400, "empty_selection",
                           "%s: choose at least one %s to screen against", field, what);
        return -1;
    }
    for (size_t i = 0; i < n_chosen; i++) {
        if (!review_selection_has(loaded, chosen[i])) {
            http_respond_error(pc->req, 400, unknown_code, "%s: \"%.64s\" is not a loaded %s",
                               field, chosen[i], what);
            return -1;
        }
    }
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < loaded->n; i++) {
        int picked = 0;
        for (size_t k = 0; !picked && k < n_chosen; k++)
            picked = strcmp(chosen[k], loaded->names[i]) == 0;
        if (!picked)
            (void)review_selection_add(out, loaded->names[i]);
    }
    for (size_t i = 0; i < old->n; i++)
        if (!review_selection_has(loaded, old->names[i]))
            (void)review_selection_add(out, old->names[i]);
    return 0;
}

/* PUT /settings: {"four_eyes": bool, "screen_tokenized": bool, "screen_lists": [source...],
 * "screen_topics": [topic...]}, each optional, at least one; the others keep their values.
 * Every change is audited (review_settings_set). */
static void settings_put(struct capp_portal_context *pc, void *ctx)
{
    struct kyc_portal *kp = ctx;
    results_db *db = kyc_portal_db(kp);
    struct reviewer_account reviewer;
    if (kyc_portal_require_reviewer(pc, db, &reviewer))
        return;
    json_t *body = NULL;
    if (kyc_portal_read_body(pc, &body))
        return;
    int four_eyes = 0, screen_tokenized = 0;
    const char *lists[REVIEW_SELECTION_MAX], *topics[REVIEW_SELECTION_MAX];
    size_t n_lists = 0, n_topics = 0;
    int has_four_eyes = json_object_get(body, "four_eyes") != NULL;
    int has_screen = json_object_get(body, "screen_tokenized") != NULL;
    int has_lists = json_object_get(body, "screen_lists") != NULL;
    int has_topics = json_object_get(body, "screen_topics") != NULL;
    struct json_field fields[] = {
        JSON_BOOLEAN("four_eyes", &four_eyes, 0),
        JSON_BOOLEAN("screen_tokenized", &screen_tokenized, 0),
        JSON_STRING_ARRAY("screen_lists", lists, &n_lists, REVIEW_SELECTION_MAX,
                          REVIEW_SELECTION_NAME_MAX - 1, 0),
        JSON_STRING_ARRAY("screen_topics", topics, &n_topics, REVIEW_SELECTION_MAX,
                          REVIEW_SELECTION_NAME_MAX - 1, 0),
    };
    struct json_error err;
    if (json_read_fields(body, fields, 4, &err) != 0) {
        http_respond_error(pc->req, 400, err.code ? err.code : "invalid_field", "%s", err.message);
        json_decref(body);
        return;
    }
    if (!has_four_eyes && !has_screen && !has_lists && !has_topics) {
        json_decref(body);
        http_respond_error(pc->req, 400, "missing_field",
                           "give four_eyes or screen_tokenized (true or false), or screen_lists "
                           "or screen_topics (arrays of names)");
        return;
    }
    struct review_settings s;
    int rc = review_settings_get(db, pc->install.installed_app_id, &s);
    if (rc) {
        json_decref(body);
        kyc_portal_respond_failure(pc->req, rc, NULL);
        return;
    }
    if (has_four_eyes)
        s.four_eyes = four_eyes;
    if (has_screen)
        s.screen_tokenized = screen_tokenized;
    if (has_lists || has_topics) {
        struct review_selection loaded_lists, loaded_topics;
        (void)pipeline_screen_catalog(kp->pipeline, &loaded_lists, &loaded_topics);
        struct review_selection old_lists = s.lists_excluded, old_topics = s.topics_excluded;
        int bad =
            has_lists && exclusions_of(pc, "screen_lists", "list", lists, n_lists, &loaded_lists,
                                       &old_lists, &s.lists_excluded, "unknown_list") != 0;
        bad = bad || (has_topics &&
                      exclusions_of(pc, "screen_topics", "topic", topics, n_topics, &loaded_topics,
                                    &old_topics, &s.topics_excluded, "unknown_topic") != 0);
        if (bad) {
            json_decref(body);
            return;
        }
    }
    json_decref(body); /* lists and topics were borrowed from it */
    struct review_actor by = actor_of(pc, &reviewer);
    rc = review_settings_set(db, pc->install.installed_app_id, &by, &s);
    log_info("review.settings", "req", http_request_id(pc->req), "installed_app_id",
             pc->install.installed_app_id, "four_eyes", s.four_eyes ? "on" : "off",
             "screen_tokenized", s.screen_tokenized ? "on" : "off", "account_id",
             reviewer.account_id, "outcome", rc ? capp_errcode(rc) : "ok", NULL);
    if (rc) {
        kyc_portal_respond_failure(pc->req, rc, NULL);
        return;
    }
    json_t *o = settings_json(&s, pc);
    json_object_set_new(
        o, "message",
        json_string(has_four_eyes
                        ? (s.four_eyes ? "Four-eyes review is on." : "Four-eyes review is off.")
                    : has_screen ? (s.screen_tokenized
                                        ? "Tokenized names will be screened from the next run."
                                        : "Tokenized names are no longer screened.")
                                 : "The lists and topics screened against change from the next "
                                   "run, which re-screens every identity."));
    http_respond_json(pc->req, 200, o);
}

int kyc_portal_register(struct capp_app *app, struct pipeline *pipeline, size_t page_max_bytes)
{
    struct kyc_portal *kp = kyc_portal_state();
    kp->pipeline = pipeline;
    kp->page_max_bytes = page_max_bytes ? page_max_bytes : PORTAL_PAGE_MAX_BYTES;
    results_db *db = kyc_portal_db(kp);
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
