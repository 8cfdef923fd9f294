/*
 * review.h — the reviewer workflow of the KYC app (kyc-domain.md §6): decisions with
 * maker/checker (four-eyes), false-positive memory per list entry version, and the per-install
 * review settings. Every decision, status change and settings change is appended to the
 * install's audit chain (kyc/audit.h) in the same transaction as the row that records it.
 *
 * Decisions. A reviewer asks to approve, reject or reopen one identity, always with a note.
 *
 *   four-eyes applies (settings.four_eyes and: every rejection; an approval of an identity
 *   whose computed status is hit or whose score is >= REVIEW_FOUR_EYES_SCORE)
 *     → the request is stored as a *pending* decision by its maker; nothing changes in the
 *       results yet. A second, different reviewer account confirms it (the status change is
 *       applied then) or anyone cancels it. The maker can never confirm their own decision.
 *   otherwise
 *     → the status change is applied at once and the decision stored as applied.
 *
 * Reviewer identity is the reviewer account the portal session is signed in to (spec D23′,
 * kyc/reviewers.h): every change (decision, confirmation, cancellation, false positive,
 * settings) needs one, or it is refused with CAPP_EPERM "sign_in_required". Four-eyes means two
 * distinct accounts, so it works under V2, and a V1 user_id (unauthenticated, forgeable) is only
 * recorded beside the account (maker_user_id, checker_user_id, and "user_id" in the audit
 * payloads), never used to tell reviewers apart. Turning four-eyes off is a settings change,
 * audited like any other.
 *
 * A pending decision goes stale when the identity's status changes before it is confirmed (a
 * re-screen or a reopen): confirming it is then refused ("decision_stale") and it is cancelled.
 * At most one decision per identity is pending at a time.
 *
 * The status change itself is not this module's: the caller passes a review_apply_fn (the
 * portal passes pipeline_apply_decision, which writes the result back to Blnk and resolves the
 * alert). It is called outside any transaction of this module.
 *
 * False positives are remembered per (install, identity, list entry id, entry content hash):
 * a remembered pair is not raised again for that identity unless the list entry changes (a new
 * content hash, see kyc/pipeline_lists.c). review_false_positive_suppressed() is the query the
 * screening pipeline asks for each candidate match.
 *
 * Errors: CAPP_EINVAL (bad argument, empty or overlong note; *why names it), CAPP_ENOTFOUND,
 * CAPP_ECONFLICT (state does not allow it; *why is a machine code: "same_reviewer",
 * "decision_pending", "decision_not_pending", "decision_stale", "no_change"), CAPP_EPERM
 * ("sign_in_required"), CAPP_EDB. The *why strings are static.
 *
 * Connections: every function takes the calling thread's results_db (results_conn), after
 * review_migrate() has run once. Strings are borrowed; JSON out-parameters are new references.
 */
#ifndef KYC_REVIEW_H
#define KYC_REVIEW_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include "capp/limits.h"
#include "kyc/results.h"

#define REVIEW_NOTE_MAX_BYTES  2000 /* a reviewer's note */
#define REVIEW_FOUR_EYES_SCORE 0.80 /* approving at or above this score needs two reviewers */
#define REVIEW_HISTORY_MAX     200  /* decisions returned for one identity */

/* Creates or upgrades the review tables (migrations component "kyc_review") and the audit
 * tables (audit_migrate). */
int review_migrate(results_db *db);

/* Who acts: the signed-in reviewer account (required for every change) and, beside it, the
 * launch's V1 user_id (NULL or "" under V2), which is recorded and never trusted. */
struct review_actor {
    const char *account_id;
    const char *user_id;
};

/* ---- settings ---- */

#define REVIEW_SELECTION_MAX      64 /* names in one selection */
#define REVIEW_SELECTION_NAME_MAX 32 /* bytes of one name, NUL included (a list's source) */

/* A set of list sources or topics, sorted and without duplicates (review_selection_add). */
struct review_selection {
    size_t n;
    char names[REVIEW_SELECTION_MAX][REVIEW_SELECTION_NAME_MAX];
};

/* 1 when name is a valid list source or topic: 1..31 bytes of [a-z0-9._-]. */
int review_selection_name_valid(const char *name);
/* Adds name in order (nothing when present); CAPP_EINVAL for an invalid name, CAPP_ETOOBIG
 * when full. */
int review_selection_add(struct review_selection *sel, const char *name);
/* 1 when name is in sel. */
int review_selection_has(const struct review_selection *sel, const char *name);

struct review_settings {
    int four_eyes; /* 1 (default): two reviewers for rejections and risky approvals */
    /* 1: tokenized names are detokenized through Cloud (data:read) and screened in memory,
     * never stored or logged; 0 (default): they go to review unscreened (pii_tokenized) */
    int screen_tokenized;
    /* Which loaded lists (by source: "ofac-sdn", "un-consolidated", "opensanctions-<dataset>")
     * and topics ("sanction", "role.pep", ...) the install does NOT screen against. Stored as
     * exclusions so the default (none) is everything loaded, including lists loaded later. */
    struct review_selection lists_excluded;
    struct review_selection topics_excluded;
};

/* The install's settings; defaults when none were stored. */
int review_settings_get(results_db *db, const char *installed_app_id, struct review_settings *out);
/* Stores s and appends one config_change audit record per setting that changed, naming it with
 * its old and new values (nothing when unchanged; the exclusions "lists_excluded" and
 * "topics_excluded" as arrays). CAPP_EPERM without a signed-in account, CAPP_EINVAL for an
 * invalid or unsorted selection. */
int review_settings_set(results_db *db, const char *installed_app_id, const struct review_actor *by,
                        const struct review_settings *s);

/* ---- decisions ---- */

enum review_action {
    REVIEW_APPROVE,
    REVIEW_REJECT,
    REVIEW_REOPEN,
};

/* "approve" | "reject" | "reopen"; NULL outside the enum. */
const char *review_action_name(enum review_action a);
/* CAPP_EINVAL for anything else. */
int review_action_parse(const char *s, enum review_action *out);
/* The status an action leads to: approved | rejected | needs_review. */
const char *review_action_status(enum review_action a);

/* 1 when this action on the identity (results_get()'s object) needs a second reviewer. */
int review_needs_four_eyes(const struct review_settings *s, enum review_action a,
                           const json_t *current);

/* Applies a status change for reviewer account account_id; 0 or a negative CAPP_E*. note may
 * be used as the audit reason. */
typedef int (*review_apply_fn)(void *ctx, const char *installed_app_id, const char *identity_id,
                               const char *status, const char *account_id, const char *note);

struct review_request {
    const char *identity_id;
    enum review_action action;
    struct review_actor by; /* the signed-in account (required) and the V1 user_id */
    const char *note;       /* required, 1..REVIEW_NOTE_MAX_BYTES after trimming */
};

struct review_outcome {
    int pending;         /* 1: stored for a second reviewer; 0: applied */
    int64_t decision_id; /* the stored decision */
    const char *why;     /* on error: a machine code or the bad field (static) */
};

/* A reviewer's request on identity `current` (results_get()'s object for rq->identity_id). */
int review_decide(results_db *db, const char *installed_app_id, const struct review_settings *s,
                  const json_t *current, const struct review_request *rq, review_apply_fn apply,
                  void *apply_ctx, struct review_outcome *out);
/* The second reviewer (another account than the maker) confirms pending decision
 * `decision_id` of the identity `current`. */
int review_confirm(results_db *db, const char *installed_app_id, int64_t decision_id,
                   const json_t *current, const struct review_actor *by, const char *note,
                   review_apply_fn apply, void *apply_ctx, struct review_outcome *out);
/* Any signed-in reviewer cancels a pending decision (the maker withdraws it, another account
 * declines it). */
int review_cancel(results_db *db, const char *installed_app_id, int64_t decision_id,
                  const struct review_actor *by, const char *note, struct review_outcome *out);

/* The pending decision of an identity as {decision_id, action, maker, maker_note, made_at,
 * status_at_proposal, maker_user_id}, or *out = NULL when there is none (maker is an
 * account_id). */
int review_pending(results_db *db, const char *installed_app_id, const char *identity_id,
                   json_t **out);
/* The identity's decisions, newest first (at most REVIEW_HISTORY_MAX): [{decision_id, action,
 * state, four_eyes, maker, maker_note, made_at, checker, checker_note, checked_at,
 * maker_user_id, checker_user_id}]. */
int review_decisions(results_db *db, const char *installed_app_id, const char *identity_id,
                     json_t **out);
/* The pipeline's before_decision check (struct pipeline_hooks), so no caller can go around
 * four-eyes: 0 when setting `status` (approved | rejected | needs_review) on the identity needs
 * one reviewer, or when it needs two and review_confirm has claimed a pending decision for
 * exactly this (checker account_id, another maker); CAPP_EPERM otherwise, CAPP_EINVAL for a bad
 * status. current is results_get()'s object. */
int review_decision_allowed(results_db *db, const char *installed_app_id, const char *identity_id,
                            const char *status, const char *account_id, const json_t *current);
/* The identity id of a decision (STORE_ID_CAP bytes); CAPP_ENOTFOUND. */
int review_decision_identity(results_db *db, const char *installed_app_id, int64_t decision_id,
                             char *identity_id, size_t cap);

/* ---- false positives ---- */

/* The content hash of a list entry in the current generation (results_list_entry_hash), into
 * out (65 bytes); CAPP_ENOTFOUND when the entry is not in it. */
int review_list_entry_hash(results_db *db, const char *entry_id, char out[65]);
/* Called after a false positive was newly remembered (committed): `kyc serve` re-screens the
 * identity (pipeline_rescreen_identity). Set once at start-up, before requests are served;
 * NULL clears it. */
typedef void (*review_false_positive_fn)(void *ctx, const char *installed_app_id,
                                         const char *identity_id);
void review_set_false_positive_hook(review_false_positive_fn fn, void *ctx);
/* Remembers the match of identity_id against entry_id (content entry_hash) as a false
 * positive, with the reviewer's note; audited as a decision, then the false-positive hook is
 * called. Marking it again is a no-op. CAPP_EPERM ("sign_in_required") without an account. */
int review_false_positive_mark(results_db *db, const char *installed_app_id,
                               const char *identity_id, const char *entry_id,
                               const char *entry_hash, const struct review_actor *by,
                               const char *note, const char **why);
/* For the screening pipeline: 1 when that match was marked a false positive and the entry's
 * content hash is still entry_hash, 0 when it must be raised, negative on error. */
int review_false_positive_suppressed(results_db *db, const char *installed_app_id,
                                     const char *identity_id, const char *entry_id,
                                     const char *entry_hash);
/* The identity's remembered false positives: [{entry_id, entry_hash, marked_by, note,
 * marked_at}], oldest first. */
int review_false_positives(results_db *db, const char *installed_app_id, const char *identity_id,
                           json_t **out);

#endif
