/*
 * review.c — decisions with maker/checker, false-positive memory and review settings (see
 * review.h for the rules).
 *
 * Design. A decision row moves pending → applying → applied, or pending → cancelled. The
 * "applying" state is the claim a confirming checker takes before calling the status-change
 * function outside our transaction: two checkers confirming at once cannot both apply, and a
 * failed apply puts the row back to pending. Audit records are appended inside the transaction
 * that writes the row they describe (audit_append joins an open BEGIN IMMEDIATE), so a decision
 * is never stored without its audit record.
 */
#include "kyc/review.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/assert.h"
#include "capp/clock.h"
#include "capp/db.h"
#include "capp/err.h"
#include "capp/json.h"
#include "capp/log.h"
#include "capp/names.h"
#include "capp/store.h"
#include "kyc/audit.h"
#include "kyc/results_portal.h"

static const struct db_migration migrations[] = {
    {1, "CREATE TABLE kyc_review_decisions ("
        " decision_id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " installed_app_id TEXT NOT NULL,"
        " identity_id TEXT NOT NULL,"
        " action TEXT NOT NULL,"
        " state TEXT NOT NULL," /* pending | applying | applied | cancelled */
        " four_eyes INTEGER NOT NULL,"
        " status_before TEXT NOT NULL,"
        " maker TEXT NOT NULL, maker_note TEXT NOT NULL, made_at INTEGER NOT NULL,"
        " checker TEXT, checker_note TEXT, checked_at INTEGER);"
        "CREATE INDEX kyc_review_decisions_identity"
        " ON kyc_review_decisions(installed_app_id, identity_id, decision_id);"
        "CREATE UNIQUE INDEX kyc_review_decisions_open ON kyc_review_decisions"
        "(installed_app_id, identity_id) WHERE state IN ('pending', 'applying');"
        "CREATE TABLE kyc_review_false_positives ("
        " installed_app_id TEXT NOT NULL, identity_id TEXT NOT NULL, entry_id TEXT NOT NULL,"
        " entry_hash TEXT NOT NULL, marked_by TEXT NOT NULL, note TEXT NOT NULL,"
        " marked_at INTEGER NOT NULL,"
        " PRIMARY KEY (installed_app_id, identity_id, entry_id, entry_hash));"
        "CREATE TABLE kyc_review_settings ("
        " installed_app_id TEXT PRIMARY KEY, four_eyes INTEGER NOT NULL,"
        " updated_by TEXT NOT NULL, updated_at INTEGER NOT NULL);"},
    /* opt-in detokenized screening (off by default) */
    {2, "ALTER TABLE kyc_review_settings ADD COLUMN screen_tokenized INTEGER NOT NULL DEFAULT 0;"},
    /* Reviewer accounts (D23′): maker, checker, marked_by and updated_by now hold an account_id;
     * the launch's V1 user_id is kept beside it. */
    {3, "ALTER TABLE kyc_review_decisions ADD COLUMN maker_user_id TEXT;"
        "ALTER TABLE kyc_review_decisions ADD COLUMN checker_user_id TEXT;"
        "ALTER TABLE kyc_review_false_positives ADD COLUMN marked_by_user_id TEXT;"
        "ALTER TABLE kyc_review_settings ADD COLUMN updated_by_user_id TEXT;"},
    /* the lists and topics an install does not screen against (JSON arrays; none by default) */
    {4, "ALTER TABLE kyc_review_settings ADD COLUMN lists_excluded TEXT NOT NULL DEFAULT '[]';"
        "ALTER TABLE kyc_review_settings ADD COLUMN topics_excluded TEXT NOT NULL DEFAULT '[]';"},
};

int review_migrate(results_db *conn)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    int rc = audit_migrate(db);
    if (rc == 0)
        rc = db_migrate(db, "kyc_review", migrations, sizeof migrations / sizeof migrations[0]);
    return rc;
}

/* A change needs a signed-in account (D23′); a V1 user_id alone never identifies anyone. */
static int signed_in(const struct review_actor *by)
{
    return by && by->account_id && json_is_valid_id(by->account_id, CAPP_MAX_ID_BYTES);
}

/* Cancels a decision that went stale: nobody's choice. */
static const struct review_actor system_actor = {.account_id = "system"};

/* The V1 user_id recorded beside the account, or NULL. */
static const char *user_of(const struct review_actor *by)
{
    return by && by->user_id && *by->user_id ? by->user_id : NULL;
}

static int valid_id(const char *s)
{
    return s && json_is_valid_id(s, CAPP_MAX_ID_BYTES);
}

/* A note has visible text, fits the limit and holds no control characters but line breaks and
 * tabs (it is shown in the portal and stored in the audit log). */
static int note_valid(const char *note)
{
    if (!note)
        return 0;
    size_t n = strlen(note);
    if (n > REVIEW_NOTE_MAX_BYTES)
        return 0;
    int visible = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)note[i];
        if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f)
            return 0;
        if (c > 0x20)
            visible = 1;
    }
    return visible;
}

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? json_string((const char *)t) : json_null();
}

/* ---- settings ---- */

int review_selection_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= REVIEW_SELECTION_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int review_selection_has(const struct review_selection *sel, const char *name)
{
    for (size_t i = 0; sel && name && i < sel->n; i++)
        if (strcmp(sel->names[i], name) == 0)
            return 1;
    return 0;
}

int review_selection_add(struct review_selection *sel, const char *name)
{
    if (!review_selection_name_valid(name))
        return CAPP_EINVAL;
    size_t at = 0;
    while (at < sel->n && strcmp(sel->names[at], name) < 0)
        at++;
    if (at < sel->n && strcmp(sel->names[at], name) == 0)
        return 0;
    if (sel->n == REVIEW_SELECTION_MAX)
        return CAPP_ETOOBIG;
    memmove(sel->names[at + 1], sel->names[at], (sel->n - at) * sizeof sel->names[0]);
    snprintf(sel->names[at], sizeof sel->names[at], "%s", name);
    sel->n++;
    return 0;
}

/* 1 when sel is what review_selection_add builds: valid names, sorted, no duplicates. */
static int selection_valid(const struct review_selection *sel)
{
    if (sel->n > REVIEW_SELECTION_MAX)
        return 0;
    for (size_t i = 0; i < sel->n; i++) {
        if (!review_selection_name_valid(sel->names[i]) ||
            (i && strcmp(sel->names[i - 1], sel->names[i]) >= 0))
            return 0;
    }
    return 1;
}

static int selection_equal(const struct review_selection *a, const struct review_selection *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->names[i], b->names[i]) != 0)
            return 0;
    return 1;
}

static json_t *selection_json(const struct review_selection *sel)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < sel->n; i++)
        if (json_array_append_new(a, json_string(sel->names[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* A stored JSON array into sel; names that are not valid any more are skipped. */
static void selection_read(const unsigned char *text, struct review_selection *sel)
{
    memset(sel, 0, sizeof *sel);
    json_t *a = text ? json_loads((const char *)text, 0, NULL) : NULL;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)(void) review_selection_add(sel, json_string_value(v));
    json_decref(a);
}

int review_settings_get(results_db *conn, const char *installed_app_id, struct review_settings *out)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    memset(out, 0, sizeof *out);
    out->four_eyes = 1;
    out->screen_tokenized = 0;
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT four_eyes, screen_tokenized, lists_excluded, topics_excluded"
                        " FROM kyc_review_settings WHERE installed_app_id = ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    rc = db_step_row(st);
    if (rc == 1) {
        out->four_eyes = sqlite3_column_int(st, 0) != 0;
        out->screen_tokenized = sqlite3_column_int(st, 1) != 0;
        selection_read(sqlite3_column_text(st, 2), &out->lists_excluded);
        selection_read(sqlite3_column_text(st, 3), &out->topics_excluded);
    }
    sqlite3_finalize(st);
    return rc < 0 ? rc : 0;
}

/* One config_change record for a setting that changed (joins the open transaction); takes
 * from and to. */
static int audit_change(sqlite3 *db, const char *installed_app_id, const struct review_actor *by,
                        const char *name, json_t *from, json_t *to)
{
    json_t *payload = from && to ? json_pack("{s:s, s:O, s:O, s:s*}", "setting", name, "from", from,
                                             "to", to, "user_id", user_of(by))
                                 : NULL;
    json_decref(from);
    json_decref(to);
    int rc = payload ? audit_append(db, installed_app_id, by->account_id, AUDIT_CONFIG_CHANGE, NULL,
                                    payload, NULL)
                     : CAPP_ENOMEM;
    json_decref(payload);
    return rc;
}

static int audit_setting(sqlite3 *db, const char *installed_app_id, const struct review_actor *by,
                         const char *name, int from, int to)
{
    if (from == to)
        return 0;
    return audit_change(db, installed_app_id, by, name, json_boolean(from), json_boolean(to));
}

static int audit_selection(sqlite3 *db, const char *installed_app_id, const struct review_actor *by,
                           const char *name, const struct review_selection *from,
                           const struct review_selection *to)
{
    if (selection_equal(from, to))
        return 0;
    return audit_change(db, installed_app_id, by, name, selection_json(from), selection_json(to));
}

int review_settings_set(results_db *conn, const char *installed_app_id,
                        const struct review_actor *by, const struct review_settings *s)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    if (!valid_id(installed_app_id) || !s || !selection_valid(&s->lists_excluded) ||
        !selection_valid(&s->topics_excluded))
        return CAPP_EINVAL;
    if (!signed_in(by))
        return CAPP_EPERM;
    int rc = db_begin_immediate(db);
    if (rc)
        return rc;
    struct review_settings old;
    rc = review_settings_get(conn, installed_app_id, &old);
    int four_eyes = s->four_eyes != 0, screen_tokenized = s->screen_tokenized != 0;
    if (rc == 0 && (old.four_eyes != four_eyes || old.screen_tokenized != screen_tokenized ||
                    !selection_equal(&old.lists_excluded, &s->lists_excluded) ||
                    !selection_equal(&old.topics_excluded, &s->topics_excluded))) {
        sqlite3_stmt *st = NULL;
        json_t *lists = selection_json(&s->lists_excluded);
        json_t *topics = selection_json(&s->topics_excluded);
        char *lists_text = lists ? json_dumps(lists, JSON_COMPACT) : NULL;
        char *topics_text = topics ? json_dumps(topics, JSON_COMPACT) : NULL;
        json_decref(lists);
        json_decref(topics);
        rc = lists_text && topics_text ? 0 : CAPP_ENOMEM;
        if (rc == 0)
            rc = db_prepare(
                db,
                "INSERT INTO kyc_review_settings(installed_app_id, four_eyes,"
                " screen_tokenized, updated_by, updated_at, updated_by_user_id, lists_excluded,"
                " topics_excluded) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                " ON CONFLICT(installed_app_id) DO UPDATE"
                " SET four_eyes = ?2, screen_tokenized = ?3, updated_by = ?4,"
                " updated_at = ?5, updated_by_user_id = ?6, lists_excluded = ?7,"
                " topics_excluded = ?8",
                &st);
        if (rc == 0) {
            db_bind_text(st, 7, lists_text);
            db_bind_text(st, 8, topics_text);
            db_bind_text(st, 1, installed_app_id);
            db_bind_int64(st, 2, four_eyes);
            db_bind_int64(st, 3, screen_tokenized);
            db_bind_text(st, 4, by->account_id);
            db_bind_int64(st, 5, clock_now_ms());
            db_bind_text(st, 6, user_of(by));
            rc = db_step_done(st);
            sqlite3_finalize(st);
        }
        free(lists_text);
        free(topics_text);
        if (rc == 0)
            rc = audit_setting(db, installed_app_id, by, "four_eyes", old.four_eyes, four_eyes);
        if (rc == 0)
            rc = audit_setting(db, installed_app_id, by, "screen_tokenized", old.screen_tokenized,
                               screen_tokenized);
        if (rc == 0)
            rc = audit_selection(db, installed_app_id, by, "lists_excluded", &old.lists_excluded,
                                 &s->lists_excluded);
        if (rc == 0)
            rc = audit_selection(db, installed_app_id, by, "topics_excluded", &old.topics_excluded,
                                 &s->topics_excluded);
    }
    if (rc == 0)
        rc = db_commit(db);
    if (rc)
        db_rollback(db);
    return rc;
}

/* ---- actions ---- */

static const char *const action_names[] = {
    [REVIEW_APPROVE] = "approve",
    [REVIEW_REJECT] = "reject",
    [REVIEW_REOPEN] = "reopen",
};

const char *review_action_name(enum review_action a)
{
    return names_name(action_names, COUNTOF(action_names), (unsigned)a);
}

int review_action_parse(const char *s, enum review_action *out)
{
    unsigned v;
    int rc = names_parse(action_names, COUNTOF(action_names), s, &v);
    if (rc == 0)
        *out = (enum review_action)v;
    return rc;
}

const char *review_action_status(enum review_action a)
{
    switch (a) {
    case REVIEW_APPROVE:
        return RESULTS_APPROVED;
    case REVIEW_REJECT:
        return RESULTS_REJECTED;
    default:
        return RESULTS_NEEDS_REVIEW;
    }
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

int review_needs_four_eyes(const struct review_settings *s, enum review_action a,
                           const json_t *current)
{
    if (!s->four_eyes)
        return 0;
    if (a == REVIEW_REJECT)
        return 1;
    if (a != REVIEW_APPROVE)
        return 0;
    return strcmp(str(current, "computed_status"), RESULTS_HIT) == 0 ||
           strcmp(str(current, "status"), RESULTS_HIT) == 0 ||
           json_number_value(json_object_get(current, "score")) >= REVIEW_FOUR_EYES_SCORE;
}

/* Whether the action changes anything from the current status. */
static int action_allowed(enum review_action a, const char *status)
{
    switch (a) {
    case REVIEW_APPROVE:
        return strcmp(status, RESULTS_APPROVED) != 0;
    case REVIEW_REJECT:
        return strcmp(status, RESULTS_REJECTED) != 0;
    default:
        return strcmp(status, RESULTS_APPROVED) == 0 || strcmp(status, RESULTS_REJECTED) == 0;
    }
}

static int append(sqlite3 *db, const char *installed_app_id, const char *actor,
                  enum audit_kind kind, const char *identity_id, json_t *payload)
{
    if (!payload)
        return CAPP_ENOMEM;
    int rc = audit_append(db, installed_app_id, actor, kind, identity_id, payload, NULL);
    json_decref(payload);
    return rc;
}

static int insert_decision(sqlite3 *db, const char *installed_app_id, const char *identity_id,
                           enum review_action a, const char *state, int four_eyes,
                           const char *status_before, const struct review_actor *maker,
                           const char *note, int64_t *id)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "INSERT INTO kyc_review_decisions(installed_app_id, identity_id, action,"
                        " state, four_eyes, status_before, maker, maker_note, made_at,"
                        " maker_user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_text(st, 2, identity_id);
    db_bind_text(st, 3, review_action_name(a));
    db_bind_text(st, 4, state);
    db_bind_int64(st, 5, four_eyes);
    db_bind_text(st, 6, status_before);
    db_bind_text(st, 7, maker->account_id);
    db_bind_text(st, 8, note);
    db_bind_int64(st, 9, clock_now_ms());
    db_bind_text(st, 10, user_of(maker));
    rc = db_step_done(st);
    sqlite3_finalize(st);
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(db);
    return rc;
}

static int has_open_decision(sqlite3 *db, const char *installed_app_id, const char *identity_id)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT 1 FROM kyc_review_decisions WHERE installed_app_id = ? AND"
                        " identity_id = ? AND state IN ('pending', 'applying')",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_text(st, 2, identity_id);
    rc = db_step_row(st);
    sqlite3_finalize(st);
    return rc;
}

static json_t *status_change(const char *from, const char *to, int64_t decision_id)
{
    return json_pack("{s:s, s:s, s:I}", "from", from, "to", to, "decision_id",
                     (json_int_t)decision_id);
}

int review_decide(results_db *conn, const char *installed_app_id, const struct review_settings *s,
                  const json_t *current, const struct review_request *rq, review_apply_fn apply,
                  void *apply_ctx, struct review_outcome *out)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    memset(out, 0, sizeof *out);
    if (!valid_id(installed_app_id) || !rq || !valid_id(rq->identity_id) ||
        !review_action_name(rq->action)) {
        out->why = "identity_id";
        return CAPP_EINVAL;
    }
    if (!note_valid(rq->note)) {
        out->why = "note";
        return CAPP_EINVAL;
    }
    const char *status = str(current, "status");
    if (json_is_string(json_object_get(current, "removed_at"))) {
        out->why = "identity_removed";
        return CAPP_ECONFLICT;
    }
    if (!action_allowed(rq->action, status)) {
        out->why = "no_change";
        return CAPP_ECONFLICT;
    }
    if (!signed_in(&rq->by)) {
        out->why = "sign_in_required";
        return CAPP_EPERM;
    }
    int four = review_needs_four_eyes(s, rq->action, current);
    const char *actor = rq->by.account_id;
    const char *to = review_action_status(rq->action);
    int rc = has_open_decision(db, installed_app_id, rq->identity_id);
    if (rc == 1) {
        out->why = "decision_pending";
        return CAPP_ECONFLICT;
    }
    if (rc < 0)
        return rc;
    if (!four) {
        /* applied first: a refused status change leaves no decision behind */
        rc = apply(apply_ctx, installed_app_id, rq->identity_id, to, actor, rq->note);
        if (rc)
            return rc;
    }
    rc = db_begin_immediate(db);
    if (rc)
        return rc;
    rc = insert_decision(db, installed_app_id, rq->identity_id, rq->action,
                         four ? "pending" : "applied", four, status, &rq->by, rq->note,
                         &out->decision_id);
    if (rc == CAPP_EEXIST) {
        out->why = "decision_pending";
        rc = CAPP_ECONFLICT;
    }
    if (rc == 0)
        rc = append(db, installed_app_id, actor, AUDIT_DECISION, rq->identity_id,
                    json_pack("{s:I, s:s, s:s, s:s, s:b, s:s*}", "decision_id",
                              (json_int_t)out->decision_id, "action",
                              review_action_name(rq->action), "state", four ? "pending" : "applied",
                              "note", rq->note, "four_eyes", four, "user_id", user_of(&rq->by)));
    if (rc == 0 && !four)
        rc = append(db, installed_app_id, actor, AUDIT_STATUS_CHANGE, rq->identity_id,
                    status_change(status, to, out->decision_id));
    if (rc == 0)
        rc = db_commit(db);
    if (rc) {
        db_rollback(db);
        if (!four)
            log_error("review.unrecorded_decision", "installed_app_id", installed_app_id,
                      "identity_id", rq->identity_id, "status", to, "error", capp_strerror(rc),
                      NULL);
        return rc;
    }
    out->pending = four;
    return 0;
}

struct decision_row {
    char identity_id[STORE_ID_CAP];
    char action[16];
    char state[16];
    char status_before[RESULTS_STATUS_CAP];
    char maker[CAPP_MAX_ID_BYTES + 16];
};

static int load_decision(sqlite3 *db, const char *installed_app_id, int64_t decision_id,
                         struct decision_row *d)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT identity_id, action, state, status_before, maker FROM"
                        " kyc_review_decisions WHERE installed_app_id = ? AND decision_id = ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_int64(st, 2, decision_id);
    rc = db_step_row(st);
    if (rc == 1) {
        db_column_copy(st, 0, d->identity_id, sizeof d->identity_id);
        db_column_copy(st, 1, d->action, sizeof d->action);
        db_column_copy(st, 2, d->state, sizeof d->state);
        db_column_copy(st, 3, d->status_before, sizeof d->status_before);
        db_column_copy(st, 4, d->maker, sizeof d->maker);
        rc = 0;
    } else if (rc == 0) {
        rc = CAPP_ENOTFOUND;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Moves a decision from state `from` to `to`, recording the checker; 0, or CAPP_ECONFLICT when
 * it was no longer in `from` (someone else got there first). */
static int move_decision(sqlite3 *db, const char *installed_app_id, int64_t decision_id,
                         const char *from, const char *to, const struct review_actor *checker,
                         const char *note)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "UPDATE kyc_review_decisions SET state = ?4, checker = ?5,"
                        " checker_note = ?6, checked_at = ?7, checker_user_id = ?8"
                        " WHERE installed_app_id = ?1 AND decision_id = ?2 AND state = ?3",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_int64(st, 2, decision_id);
    db_bind_text(st, 3, from);
    db_bind_text(st, 4, to);
    db_bind_text(st, 5, checker ? checker->account_id : NULL);
    db_bind_text(st, 6, note);
    if (checker)
        db_bind_int64(st, 7, clock_now_ms());
    else
        db_bind_text(st, 7, NULL);
    db_bind_text(st, 8, user_of(checker));
    rc = db_step_done(st);
    sqlite3_finalize(st);
    if (rc == 0 && sqlite3_changes(db) != 1)
        rc = CAPP_ECONFLICT;
    return rc;
}

static int cancel_locked(sqlite3 *db, const char *installed_app_id, int64_t decision_id,
                         const struct decision_row *d, const struct review_actor *by,
                         const char *note, const char *reason)
{
    int rc = move_decision(db, installed_app_id, decision_id, "pending", "cancelled", by, note);
    if (rc == 0)
        rc = append(db, installed_app_id, by->account_id, AUDIT_DECISION, d->identity_id,
                    json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s*}", "decision_id",
                              (json_int_t)decision_id, "action", d->action, "state", "cancelled",
                              "maker", d->maker, "note", note, "reason", reason, "user_id",
                              user_of(by)));
    return rc;
}

int review_confirm(results_db *conn, const char *installed_app_id, int64_t decision_id,
                   const json_t *current, const struct review_actor *by, const char *note,
                   review_apply_fn apply, void *apply_ctx, struct review_outcome *out)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    memset(out, 0, sizeof *out);
    out->decision_id = decision_id;
    if (!valid_id(installed_app_id)) {
        out->why = "installed_app_id";
        return CAPP_EINVAL;
    }
    if (!note_valid(note)) {
        out->why = "note";
        return CAPP_EINVAL;
    }
    if (!signed_in(by)) {
        out->why = "sign_in_required";
        return CAPP_EPERM;
    }
    struct decision_row d;
    int rc = load_decision(db, installed_app_id, decision_id, &d);
    if (rc)
        return rc;
    if (strcmp(d.state, "pending") != 0) {
        out->why = "decision_not_pending";
        return CAPP_ECONFLICT;
    }
    if (strcmp(d.maker, by->account_id) == 0) {
        out->why = "same_reviewer";
        return CAPP_ECONFLICT;
    }
    enum review_action a;
    if (review_action_parse(d.action, &a) != 0)
        return CAPP_EINVAL;
    const char *status = str(current, "status");
    if (strcmp(str(current, "identity_id"), d.identity_id) != 0)
        return CAPP_EINVAL;
    int removed = json_is_string(json_object_get(current, "removed_at"));
    if (removed || strcmp(status, d.status_before) != 0) {
        /* the identity moved on since the proposal (or left Blnk): what was proposed no longer
         * applies */
        rc = db_begin_immediate(db);
        if (rc == 0)
            rc = cancel_locked(db, installed_app_id, decision_id, &d, &system_actor,
                               removed ? "The identity was deleted in Blnk before the decision "
                                         "was confirmed."
                                       : "The identity's status changed before the decision "
                                         "was confirmed.",
                               "stale");
        rc = rc ? rc : db_commit(db);
        if (rc)
            db_rollback(db);
        out->why = removed ? "identity_removed" : "decision_stale";
        return CAPP_ECONFLICT;
    }
    /* the claim: one checker applies */
    rc = move_decision(db, installed_app_id, decision_id, "pending", "applying", by, note);
    if (rc == CAPP_ECONFLICT)
        out->why = "decision_not_pending";
    if (rc)
        return rc;
    const char *to = review_action_status(a);
    rc = apply(apply_ctx, installed_app_id, d.identity_id, to, by->account_id, note);
    if (rc) {
        move_decision(db, installed_app_id, decision_id, "applying", "pending", NULL, NULL);
        return rc;
    }
    rc = db_begin_immediate(db);
    if (rc == 0)
        rc = move_decision(db, installed_app_id, decision_id, "applying", "applied", by, note);
    if (rc == 0)
        rc = append(db, installed_app_id, by->account_id, AUDIT_DECISION, d.identity_id,
                    json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:s*}", "decision_id",
                              (json_int_t)decision_id, "action", d.action, "state", "confirmed",
                              "maker", d.maker, "note", note, "four_eyes", 1, "user_id",
                              user_of(by)));
    if (rc == 0)
        rc = append(db, installed_app_id, by->account_id, AUDIT_STATUS_CHANGE, d.identity_id,
                    status_change(status, to, decision_id));
    if (rc == 0)
        rc = db_commit(db);
    if (rc) {
        db_rollback(db);
        log_error("review.unrecorded_decision", "installed_app_id", installed_app_id, "identity_id",
                  d.identity_id, "status", to, "error", capp_strerror(rc), NULL);
    }
    return rc;
}

int review_cancel(results_db *conn, const char *installed_app_id, int64_t decision_id,
                  const struct review_actor *by, const char *note, struct review_outcome *out)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    memset(out, 0, sizeof *out);
    out->decision_id = decision_id;
    if (!note_valid(note)) {
        out->why = "note";
        return CAPP_EINVAL;
    }
    if (!signed_in(by)) {
        out->why = "sign_in_required";
        return CAPP_EPERM;
    }
    int rc = db_begin_immediate(db);
    if (rc)
        return rc;
    struct decision_row d;
    rc = load_decision(db, installed_app_id, decision_id, &d);
    if (rc == 0 && strcmp(d.state, "pending") != 0) {
        out->why = "decision_not_pending";
        rc = CAPP_ECONFLICT;
    }
    if (rc == 0)
        rc = cancel_locked(db, installed_app_id, decision_id, &d, by, note,
                           strcmp(by->account_id, d.maker) == 0 ? "withdrawn" : "declined");
    if (rc == 0)
        rc = db_commit(db);
    if (rc)
        db_rollback(db);
    return rc;
}

int review_decision_identity(results_db *conn, const char *installed_app_id, int64_t decision_id,
                             char *identity_id, size_t cap)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    struct decision_row d;
    int rc = load_decision(db, installed_app_id, decision_id, &d);
    if (rc == 0)
        snprintf(identity_id, cap, "%s", d.identity_id);
    return rc;
}

int review_decision_allowed(results_db *conn, const char *installed_app_id, const char *identity_id,
                            const char *status, const char *account_id, const json_t *current)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    enum review_action a;
    if (!status || !valid_id(installed_app_id) || !valid_id(identity_id))
        return CAPP_EINVAL;
    if (strcmp(status, RESULTS_APPROVED) == 0)
        a = REVIEW_APPROVE;
    else if (strcmp(status, RESULTS_REJECTED) == 0)
        a = REVIEW_REJECT;
    else if (strcmp(status, RESULTS_NEEDS_REVIEW) == 0)
        a = REVIEW_REOPEN;
    else
        return CAPP_EINVAL;
    struct review_settings s;
    int rc = review_settings_get(conn, installed_app_id, &s);
    if (rc || !review_needs_four_eyes(&s, a, current))
        return rc;
    /* only review_confirm's claim lets it through: a pending decision of another maker, taken
     * by this checker */
    sqlite3_stmt *st = NULL;
    rc = db_prepare(db,
                    "SELECT 1 FROM kyc_review_decisions WHERE installed_app_id = ? AND"
                    " identity_id = ? AND state = 'applying' AND action = ? AND checker = ? AND"
                    " maker <> checker",
                    &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_text(st, 2, identity_id);
    db_bind_text(st, 3, review_action_name(a));
    db_bind_text(st, 4, account_id ? account_id : "");
    rc = db_step_row(st);
    sqlite3_finalize(st);
    if (rc == 0) {
        log_warn("review.four_eyes_refused", "installed_app_id", installed_app_id, "identity_id",
                 identity_id, "status", status, NULL);
        return CAPP_EPERM;
    }
    return rc < 0 ? rc : 0;
}

int review_pending(results_db *conn, const char *installed_app_id, const char *identity_id,
                   json_t **out)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT decision_id, action, maker, maker_note, made_at, status_before,"
                        " maker_user_id FROM kyc_review_decisions WHERE installed_app_id = ? AND"
                        " identity_id = ? AND state = 'pending'",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_text(st, 2, identity_id);
    rc = db_step_row(st);
    if (rc == 1) {
        *out = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "decision_id",
                         (json_int_t)sqlite3_column_int64(st, 0), "action", text_or_null(st, 1),
                         "maker", text_or_null(st, 2), "maker_note", text_or_null(st, 3), "made_at",
                         results_column_time(st, 4), "status_at_proposal", text_or_null(st, 5),
                         "maker_user_id", text_or_null(st, 6));
        rc = *out ? 0 : CAPP_ENOMEM;
    }
    sqlite3_finalize(st);
    return rc < 0 ? rc : 0;
}

int review_decisions(results_db *conn, const char *installed_app_id, const char *identity_id,
                     json_t **out)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT decision_id, action, state, four_eyes, maker, maker_note, made_at,"
                        " checker, checker_note, checked_at, maker_user_id, checker_user_id"
                        " FROM kyc_review_decisions"
                        " WHERE installed_app_id = ? AND identity_id = ?"
                        " ORDER BY decision_id DESC LIMIT ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_text(st, 2, identity_id);
    db_bind_int64(st, 3, REVIEW_HISTORY_MAX);
    json_t *arr = json_array();
    while (arr && (rc = db_step_row(st)) == 1) {
        json_array_append_new(
            arr, json_pack("{s:I, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                           "decision_id", (json_int_t)sqlite3_column_int64(st, 0), "action",
                           text_or_null(st, 1), "state", text_or_null(st, 2), "four_eyes",
                           sqlite3_column_int(st, 3), "maker", text_or_null(st, 4), "maker_note",
                           text_or_null(st, 5), "made_at", results_column_time(st, 6), "checker",
                           text_or_null(st, 7), "checker_note", text_or_null(st, 8), "checked_at",
                           results_column_time(st, 9), "maker_user_id", text_or_null(st, 10),
                           "checker_user_id", text_or_null(st, 11)));
    }
    sqlite3_finalize(st);
    if (!arr)
        return CAPP_ENOMEM;
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

/* ---- false positives ---- */

int review_list_entry_hash(results_db *db, const char *entry_id, char out[65])
{
    return results_list_entry_hash(db, entry_id, out);
}

/* Set once at start-up, before any request is served (configuration, not shared state). */
static struct {
    review_false_positive_fn fn;
    void *ctx;
} fp_hook;

void review_set_false_positive_hook(review_false_positive_fn fn, void *ctx)
{
    fp_hook.fn = fn;
    fp_hook.ctx = ctx;
}

/* List entry ids look like "ofac:2674" or "un:QDi.001": printable ASCII without spaces. */
static int entry_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > CAPP_MAX_ID_BYTES)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return 0;
    return 1;
}

static int hash_valid(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int review_false_positive_mark(results_db *conn, const char *installed_app_id,
                               const char *identity_id, const char *entry_id,
                               const char *entry_hash, const struct review_actor *by,
                               const char *note, const char **why)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    const char *unused;
    why = why ? why : &unused;
    *why = NULL;
    if (!valid_id(installed_app_id) || !valid_id(identity_id)) {
        *why = "identity_id";
        return CAPP_EINVAL;
    }
    if (!entry_id_valid(entry_id) || !hash_valid(entry_hash)) {
        *why = "entry_id";
        return CAPP_EINVAL;
    }
    if (!note_valid(note)) {
        *why = "note";
        return CAPP_EINVAL;
    }
    if (!signed_in(by)) {
        *why = "sign_in_required";
        return CAPP_EPERM;
    }
    const char *actor = by->account_id;
    int rc = db_begin_immediate(db);
    if (rc)
        return rc;
    const char *const texts[] = {installed_app_id, identity_id, entry_id, entry_hash, actor, note,
                                 user_of(by)};
    const int64_t now = clock_now_ms();
    int changes = 0;
    rc = db_run(db,
                "INSERT INTO kyc_review_false_positives(installed_app_id, identity_id,"
                " entry_id, entry_hash, marked_by, note, marked_by_user_id, marked_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                texts, 7, &now, 1, &changes);
    int added = rc == 0 && changes == 1;
    if (added)
        rc = append(db, installed_app_id, actor, AUDIT_DECISION, identity_id,
                    json_pack("{s:s, s:s, s:s, s:s, s:s*}", "action", "false_positive", "entry_id",
                              entry_id, "entry_hash", entry_hash, "note", note, "user_id",
                              user_of(by)));
    if (rc == 0)
        rc = db_commit(db);
    if (rc)
        db_rollback(db);
    if (rc == 0 && added && fp_hook.fn)
        fp_hook.fn(fp_hook.ctx, installed_app_id, identity_id);
    return rc;
}

int review_false_positive_suppressed(results_db *conn, const char *installed_app_id,
                                     const char *identity_id, const char *entry_id,
                                     const char *entry_hash)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT 1 FROM kyc_review_false_positives WHERE installed_app_id = ?"
                        " AND identity_id = ? AND entry_id = ? AND entry_hash = ?",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_text(st, 2, identity_id);
    db_bind_text(st, 3, entry_id);
    db_bind_text(st, 4, entry_hash);
    rc = db_step_row(st);
    sqlite3_finalize(st);
    return rc;
}

int review_false_positives(results_db *conn, const char *installed_app_id, const char *identity_id,
                           json_t **out)
{
    sqlite3 *db = sql_sqlite_handle(conn);
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db,
                        "SELECT entry_id, entry_hash, marked_by, note, marked_at FROM"
                        " kyc_review_false_positives WHERE installed_app_id = ? AND"
                        " identity_id = ? ORDER BY marked_at, entry_id",
                        &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, installed_app_id);
    db_bind_text(st, 2, identity_id);
    json_t *arr = json_array();
    while (arr && (rc = db_step_row(st)) == 1)
        json_array_append_new(
            arr, json_pack("{s:o, s:o, s:o, s:o, s:o}", "entry_id", text_or_null(st, 0),
                           "entry_hash", text_or_null(st, 1), "marked_by", text_or_null(st, 2),
                           "note", text_or_null(st, 3), "marked_at", results_column_time(st, 4)));
    sqlite3_finalize(st);
    if (!arr)
        return CAPP_ENOMEM;
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}
