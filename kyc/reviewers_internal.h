/*
 * reviewers_internal.h — what the reviewer-account files share. Not for other modules (their
 * contract is kyc/reviewers.h).
 *
 * The module is split by concern:
 *   reviewers.c        the tables, accounts, TOTP sign-in and the session binding, and the
 *                      administration of accounts (list, disable, enable, purge);
 *   reviewers_enrol.c  bringing an account into being: the first-run setup, enrolment codes,
 *                      and confirming a started setup or enrolment.
 * reviewers_enrol.c calls reviewers.c (the helpers below), never the other way
 * (scripts/check-cycles).
 *
 * Conventions of the helpers: why may be NULL; the refusal helpers set *why and return the error
 * code, so a check reads `return reviewers_refuse(why, "code", CAPP_EINVAL);`.
 */
#ifndef KYC_REVIEWERS_INTERNAL_H
#define KYC_REVIEWERS_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "capp/seal.h"
#include "capp/sql.h"
#include "kyc/reviewers.h"
#include "kyc/totp.h"

#define REVIEWERS_AAD_CAP 400 /* "kyc-reviewer…/<install>/<account or session hash>" */

/* Sets *why (when why is not NULL) and returns err. */
int reviewers_refuse(const char **why, const char *value, int err);
int reviewers_valid_id(const char *s);
/* 0 when the install id, the session and the keyring are usable, else CAPP_EINVAL ("session"). */
int reviewers_check_caller(const char *installed_app_id, const struct reviewers_session *s,
                           const struct seal_keyring *kr, const char **why);
/* 0 when code is TOTP_DIGITS digits, else CAPP_EINVAL ("code"). */
int reviewers_check_code(const char *code, const char **why);
/* 0 when admin is an enabled admin, else CAPP_EPERM ("admin_required"). */
int reviewers_check_admin(const struct reviewer_account *admin, const char **why);
/* The session's V1 user_id, or NULL. */
const char *reviewers_user_or_null(const struct reviewers_session *s);
/* The display name without surrounding blanks into out; 0 when it is empty, too long or holds
 * control characters. */
int reviewers_name_clean(const char *in, char out[REVIEWERS_NAME_MAX_BYTES + 1]);

/* The AAD an account's secret is sealed with. */
void reviewers_account_aad(const char *install, const char *account_id,
                           char out[REVIEWERS_AAD_CAP]);
int reviewers_seal_secret(const struct seal_keyring *kr, const char *aad,
                          const uint8_t secret[TOTP_SECRET_BYTES], char **out);
/* Opens the sealed secret into secret (the caller wipes it) and checks code against it at
 * now_ms: 1 and its time step in *step when it matches, 0 when not, or a negative error. */
int reviewers_open_and_verify(const struct seal_keyring *kr, const char *aad, const char *sealed,
                              const char *code, int64_t now_ms, uint8_t secret[TOTP_SECRET_BYTES],
                              int64_t *step);

/* Opens a write transaction for a change to the install's accounts and takes the install's
 * "reviewers:<id>" lock first (sql_xact_lock), so every read-decide-write of the module is
 * serialised per install on PostgreSQL as SQLite's one write lock serialises it there. */
int reviewers_begin(struct sql_conn *db, const char *install);
/* Appends the audit event payload (kind "reviewer"; taken, may be NULL: CAPP_ENOMEM). */
int reviewers_audit(struct sql_conn *db, const char *install, const char *actor, json_t *payload);
/* An RFC 3339 string, or JSON null for ms <= 0. */
json_t *reviewers_time_or_null(int64_t ms);
/* Ends a transaction: commits when rc is 0 or a refusal whose side effects must stay
 * (keep = 1), rolls back otherwise. Returns rc, or the commit's error. */
int reviewers_finish(struct sql_conn *db, int rc, int keep);

/* The role stored as text in column col (anything but "admin" is a reviewer). */
enum reviewer_role reviewers_role_column(struct sql_stmt *st, int col);
/* count(*) of sql into *out; sql binds the install as ?1 and, when now_ms is not NULL, *now_ms
 * as ?2. */
int reviewers_count_where(struct sql_conn *db, const char *sql, const char *install,
                          const int64_t *now_ms, int *out);
/* The account with its sealed secret (*sealed, caller frees; may be NULL) and last step. */
int reviewers_load_account(struct sql_conn *db, const char *install, const char *account_id,
                           struct reviewer_account *out, char **sealed, int64_t *last_step);
/* Binds the session to the account (replacing an earlier binding of the session). */
int reviewers_bind_session(struct sql_conn *db, const char *install,
                           const struct reviewers_session *s, const char *account_id,
                           int64_t now_ms);

#endif
