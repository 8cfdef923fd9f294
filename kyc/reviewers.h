/*
 * reviewers.h — per-install reviewer accounts with a TOTP second factor (spec D23′).
 *
 * Neither a V2 launch (no user) nor a V1 launch (a user_id on an unauthenticated call) proves
 * who decides. A portal session therefore only reads; decisions, settings and bulk exports need
 * the session to be *signed in* to a reviewer account with a correct TOTP code (kyc/totp.h).
 *
 *   account      account_id ("rvw_" + 24 hex), display name (unique per install, any case),
 *                role admin | reviewer, the TOTP secret sealed like API keys (capp/seal.h, AAD
 *                "kyc-reviewer/<install>/<account>", so a secret copied to another row does not
 *                open), created_by (an account, or "bootstrap"), created_at, disabled_at,
 *                failed-attempt counter, locked_until, and the last accepted time step.
 *   bootstrap    while an install has no account, any portal session may start the setup of the
 *                first one (an admin): the secret is shown once, and the account is saved only
 *                when a code from it checks out; the first confirmation wins.
 *   enrolment    an admin creates a one-time enrolment code (REVIEWERS_ENROL_CODE_CHARS from a
 *                32-letter alphabet, shown once, stored as SHA-256, valid REVIEWERS_ENROL_TTL_MS,
 *                with the role the new account gets). The new reviewer, in their own portal
 *                session, starts an enrolment with it and a display name, scans the secret and
 *                confirms a code; the code is spent when the account is saved.
 *   starting     setup or enrolment keeps the new secret sealed against the portal session
 *                (one at a time per session, REVIEWERS_START_TTL_MS, REVIEWERS_MAX_FAILED wrong
 *                confirmations end it) until it is confirmed: it is never sent again.
 *   sign-in      account + code. A code is accepted for its step ±1 (totp.h) only when its step
 *                is after the last one accepted for the account (each code usable once).
 *                REVIEWERS_MAX_FAILED wrong codes in a row lock the account for
 *                REVIEWERS_LOCK_MS (audited); a locked or disabled account cannot sign in. The
 *                session is then bound to the account until it signs out, the session ends (the
 *                binding is keyed by capp's session hash and expires with it) or the account is
 *                disabled.
 *
 * Audit (kind "reviewer", kyc/audit.h, in the transaction that makes the change): event
 * account_created {account_id, display_name, role, created_by, via: bootstrap|enrolment,
 * user_id}, enrolment_created {role, expires_at}, signed_in {account_id, user_id},
 * account_disabled / account_enabled {account_id, display_name}, account_locked {account_id,
 * locked_until}. The actor is the acting account ("system" for a lock).
 *
 * Time: every function takes now_ms (Unix milliseconds), so tests run on their own clock.
 *
 * Errors: CAPP_EINVAL (bad argument; *why names the field: "display_name", "code", "role",
 * "account_id", "enrolment_code"), CAPP_ENOTFOUND (no such account; not signed in),
 * CAPP_EPERM (*why: "code_wrong", "code_used", "account_locked", "account_disabled",
 * "enrolment_code_invalid", "admin_required"), CAPP_ECONFLICT (*why: "setup_done",
 * "name_taken", "nothing_started", "start_ended", "self_disable", "last_admin", "too_many"),
 * CAPP_EDB, CAPP_ECRYPTO. *why strings are static; why may be NULL.
 *
 * Connections: every function takes the calling thread's results_db (the results database), after
 * reviewers_migrate() has run once. Strings are borrowed.
 */
#ifndef KYC_REVIEWERS_H
#define KYC_REVIEWERS_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include "capp/seal.h"
#include "capp/store.h"
#include "kyc/results.h"

#define REVIEWERS_NAME_MAX_BYTES   80  /* a display name */
#define REVIEWERS_MAX_ACCOUNTS     500 /* accounts of one install */
#define REVIEWERS_MAX_FAILED       5   /* wrong codes in a row before the account locks */
#define REVIEWERS_LOCK_MS          (15 * 60 * 1000LL)
#define REVIEWERS_ENROL_TTL_MS     (24 * 3600 * 1000LL)
#define REVIEWERS_START_TTL_MS     (15 * 60 * 1000LL) /* a shown secret awaiting its code */
#define REVIEWERS_ENROL_CODE_CHARS 16                 /* 80 bits */
#define REVIEWERS_ENROL_CODE_CAP   (REVIEWERS_ENROL_CODE_CHARS + 4) /* XXXX-XXXX-XXXX-XXXX */
#define REVIEWERS_MAX_OPEN_CODES   50 /* unused, unexpired enrolment codes of one install */
#define REVIEWERS_BOOTSTRAP        "bootstrap" /* created_by of the first account */

enum reviewer_role {
    REVIEWER_ROLE_REVIEWER,
    REVIEWER_ROLE_ADMIN,
};

/* "reviewer" | "admin"; CAPP_EINVAL for anything else. */
const char *reviewers_role_name(enum reviewer_role role);
int reviewers_role_parse(const char *s, enum reviewer_role *out);

struct reviewer_account {
    char account_id[STORE_ID_CAP];
    char display_name[REVIEWERS_NAME_MAX_BYTES + 1];
    enum reviewer_role role;
    char created_by[STORE_ID_CAP];
    int64_t created_at_ms;
    int64_t disabled_at_ms;  /* 0 while enabled */
    int64_t locked_until_ms; /* 0 or a past time when not locked */
    int failed_attempts;
};

/* What setup or enrolment shows once: the secret as base32 and as an otpauth:// URI. */
struct reviewers_secret {
    char base32[40];
    char uri[512];
};

/* The portal session a call acts for: capp's session hash and expiry, and the launch's V1
 * user_id ("" or NULL under V2), recorded beside the account, never instead of it. */
struct reviewers_session {
    const char *session_hash;
    int64_t expires_at_ms;
    const char *user_id;
};

/* Creates or upgrades the tables (migrations component "kyc_reviewers") and the audit tables. */
int reviewers_migrate(results_db *db);

/* Number of accounts of the install (enabled or not) into *out. */
int reviewers_count(results_db *db, const char *installed_app_id, int *out);

/* Bootstrap: starts the setup of the install's first account (admin) for the session. Refused
 * with "setup_done" once the install has an account. A new start replaces the session's
 * previous one (and its secret). */
int reviewers_setup_start(results_db *db, const struct seal_keyring *kr,
                          const char *installed_app_id, const struct reviewers_session *s,
                          const char *display_name, int64_t now_ms, struct reviewers_secret *out,
                          const char **why);

/* Enrolment: an admin creates a one-time code for a new account of `role`; the code (shown
 * once) into code (REVIEWERS_ENROL_CODE_CAP bytes), its expiry into *expires_at_ms. */
int reviewers_enrolment_create(results_db *db, const char *installed_app_id,
                               const struct reviewer_account *admin, enum reviewer_role role,
                               int64_t now_ms, char code[REVIEWERS_ENROL_CODE_CAP],
                               int64_t *expires_at_ms, const char **why);
/* Starts the enrolment of a new account with an admin's code (checked, not yet spent; dashes,
 * spaces and case are ignored). */
int reviewers_enrol_start(results_db *db, const struct seal_keyring *kr,
                          const char *installed_app_id, const struct reviewers_session *s,
                          const char *enrolment_code, const char *display_name, int64_t now_ms,
                          struct reviewers_secret *out, const char **why);

/* Confirms the session's started setup or enrolment with a code from the new secret: saves the
 * account (spending the enrolment code), signs the session in to it and returns it in *out. */
int reviewers_start_confirm(results_db *db, const struct seal_keyring *kr,
                            const char *installed_app_id, const struct reviewers_session *s,
                            const char *code, int64_t now_ms, struct reviewer_account *out,
                            const char **why);

/* Signs the session in to account_id with a TOTP code (see the design note). */
int reviewers_sign_in(results_db *db, const struct seal_keyring *kr, const char *installed_app_id,
                      const struct reviewers_session *s, const char *account_id, const char *code,
                      int64_t now_ms, struct reviewer_account *out, const char **why);
/* Ends the session's binding (nothing when there is none). */
int reviewers_sign_out(results_db *db, const char *installed_app_id, const char *session_hash);
/* The enabled account the session is signed in to; CAPP_ENOTFOUND when none. */
int reviewers_session_account(results_db *db, const char *installed_app_id,
                              const char *session_hash, int64_t now_ms,
                              struct reviewer_account *out);

/* Loads one account; CAPP_ENOTFOUND. */
int reviewers_get(results_db *db, const char *installed_app_id, const char *account_id,
                  struct reviewer_account *out);
/* The install's accounts, oldest first: [{account_id, display_name, role, created_by,
 * created_by_name, created_at, disabled_at, locked_until}] (times RFC 3339 or null). */
int reviewers_list(results_db *db, const char *installed_app_id, int64_t now_ms, json_t **out);
/* An admin disables (disabled = 1) or enables an account. An admin cannot disable themselves
 * or the last enabled admin. Disabling ends the account's sign-ins at once. */
int reviewers_set_disabled(results_db *db, const char *installed_app_id,
                           const struct reviewer_account *admin, const char *account_id,
                           int disabled, int64_t now_ms, const char **why);

/* Removes ended starts, spent or expired enrolment codes and bindings of ended sessions. */
int reviewers_purge(results_db *db, int64_t now_ms);

#endif
