/*
 * quality.h — data-quality rules and PII-tokenization detection for one Blnk identity.
 *
 * Input is the identity object as the Cloud /data API returns it (jansson object; fields per
 * ../shared/spec/blnk-core-api.md: identity_id, identity_type "individual"|"organization",
 * first_name, last_name, other_names, organization_name, category, gender, dob ("YYYY-MM-DD"
 * from /data or RFC 3339 midnight UTC from /proxy; "0001-01-01" means unset, spec D18),
 * email_address, phone_number, nationality, country, street, city, state, post_code,
 * meta_data, created_at).
 *
 * identity_type is free text (spec kyc-domain §5): organization-like values ("organization",
 * "organisation", "company", "business", "entity", "corporate", case-insensitive) are
 * organizations. D26: Cloud's examples put individual/organization in `category` with
 * identity_type "customer", so an organization-like category is one too unless identity_type
 * says "individual" or "person"; and so is an identity with a non-empty organization_name and
 * no personal name (first, last or other names). Everything else is an individual.
 *
 * Rules (each failure adds one finding with a reason code from kyc-domain.md §1 where one exists):
 *   - required fields per type (individual: first_name, last_name, dob, nationality or country;
 *     organization: organization_name, country)                      → "missing_field"
 *   - date of birth parses, is a real date, not in the future, not the unset 0001-01-01
 *                                                                      → "dob_invalid"
 *   - age at the check date ≥ 18                                      → "minor"
 *   - nationality / country resolve to ISO 3166-1 (alpha-2, alpha-3 or the English name,
 *     official name or common name), from Debian's iso-codes data
 *     (/usr/share/iso-codes/json/iso_3166-1.json)                     → "country_invalid"
 *   - email syntax (pragmatic RFC 5321 addr-spec)                      → "email_invalid"
 *   - phone in E.164 (+, country code, at most 15 digits)               → "phone_invalid"
 *   - tokenized PII: a value starting with "FPT:" or a field listed in meta_data.tokenized_fields
 *     is a Blnk token; a tokenized NAME field sets names_tokenized (never screen ciphertext)
 *                                                                      → "pii_tokenized"
 *     Tokenized email or phone values are not syntax-checked (ciphertext) and add no finding.
 *   - a field value that is not a string, contains NUL, or is longer than
 *     QUALITY_MAX_FIELD_BYTES is not processed: one finding with the field's rule code
 *     (dob_invalid, country_invalid, email_invalid, phone_invalid) or "field_invalid"
 *   - markup or control characters the screening engine stripped from the name
 *     (quality_add_name_input, after the screening)                    → "name_markup"
 * Empty, whitespace-only, null and absent values are all "missing". Finding details never echo
 * a field value. At most QUALITY_MAX_FINDINGS findings are kept; later ones are dropped.
 * A risk level follows from the findings (quality_risk).
 *
 * Thread-safe after quality_init(); the ISO table is loaded once and read-only afterwards.
 */
#ifndef KYC_QUALITY_H
#define KYC_QUALITY_H

#include <jansson.h>
#include <stddef.h>

#define QUALITY_MAX_FINDINGS    16
#define QUALITY_MAX_FIELD_BYTES 1024 /* longer field values are refused, not processed */

struct quality_finding {
    const char *reason; /* static string: "missing_field", "dob_invalid", "minor", ... */
    char field[32];     /* the identity field concerned */
    char detail[160];   /* human-readable, safe to show a reviewer (no full PII echo needed) */
};

struct quality_result {
    struct quality_finding findings[QUALITY_MAX_FINDINGS];
    size_t count;
    int names_tokenized; /* 1: the name must not be screened (pii_tokenized) */
};

/* Loads the ISO 3166 table (path NULL: the Debian default). Call once before any check; a
 * second call while loaded is a no-op. CAPP_EIO (unreadable), CAPP_EPARSE (not the iso-codes
 * shape), CAPP_ENOMEM. */
int quality_init(const char *iso_3166_json_path);
void quality_shutdown(void);
/* 1 when code is an ISO 3166-1 alpha-2 or alpha-3 code (case-insensitive). */
int quality_country_valid(const char *code);
/* Resolves a code or English name to the alpha-2 code into out (3 bytes); 0 or CAPP_ENOTFOUND. */
int quality_country_alpha2(const char *code_or_name, char out[3]);
/* 1 when the identity is an organization (identity_type, category, names: see above). */
int quality_is_organization(const json_t *identity);
/* The personal name fields of an individual that are Blnk tokens (an "FPT:" value or flagged in
 * meta_data.tokenized_fields), as static field names ("first_name", "last_name",
 * "other_names") into names; returns how many (0 for an organization: its name is not
 * tokenizable in Core). */
size_t quality_tokenized_names(const json_t *identity, const char *names[3]);
/* 1 when two identity field names are the same field: "first_name", "FirstName" and
 * "firstName" are (Core capitalises Go struct names). */
int quality_same_field_name(const char *a, const char *b);
/* Checks one identity as of today_ymd ("YYYY-MM-DD", NULL: today, UTC). Borrows identity; out
 * is overwritten. CAPP_EINVAL: identity not an object, bad today_ymd, or quality_init not done. */
int quality_check(const json_t *identity, const char *today_ymd, struct quality_result *out);
/* Reports what the screening removed from the name before screening (the engine's input
 * flags: markup such as "<img …>" or HTML entities, control or invisible format characters)
 * as one "name_markup" finding on `field` (a medium finding: the name screened is what
 * remained). No-op when neither is set. */
void quality_add_name_input(struct quality_result *r, const char *field, int markup, int control);
/* "low" (no findings), "medium" (format problems), "high" (minor, dob_invalid, pii_tokenized,
 * missing or unusable name): a static string. NULL counts as no findings. */
const char *quality_risk(const struct quality_result *r);

#endif
