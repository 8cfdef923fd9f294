/*
 * quality.c — data-quality rules for one Blnk identity (kyc-domain.md §5).
 *
 * Design. quality_check() reads each field the rules need once into a `struct field` (value,
 * trimmed length, state, tokenized flag), so every rule sees the same verdict on "missing",
 * "unusable" (not a string, NUL inside, longer than QUALITY_MAX_FIELD_BYTES) and "tokenized".
 * The rules then run in a fixed order (unusable values, tokenized names, required fields, date
 * of birth, countries, email, phone), so findings come out in a stable order for tests and for
 * the reviewer. A finding's detail is built from static text and derived numbers only: no field
 * value is ever echoed, which keeps tokens and free-text PII out of the review screen and logs.
 *
 * Libraries and hand-written parts.
 *  - ISO 3166-1: Debian iso-codes JSON, read once with jansson into a sorted array of
 *    lower-cased keys (alpha-2, alpha-3, name, official_name, common_name) searched with
 *    bsearch(). Read-only after quality_init(), so lookups need no lock.
 *  - IDN email domains: ICU UTS #46 (uidna_nameToASCII_UTF8) converts and validates them; the
 *    UIDNA object is immutable and thread-safe, opened once in quality_init().
 *  - Hand-written, because no Debian C library offers them and they are small: the strict
 *    date-of-birth parser (strptime() accepts "1990-1-1" and 31 February), the dot-atom check of
 *    the email local part plus the LDH check of the ASCII domain, the E.164 shape check, and
 *    the ASCII-only case folding (locale-independent on purpose: "I" must fold to "i" under
 *    every locale).
 */
#include "kyc/quality.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unicode/uidna.h>
#include <unicode/utf8.h>

#include "capp/assert.h"
#include "capp/clock.h"
#include "capp/err.h"

#define ISO_3166_DEFAULT_PATH "/usr/share/iso-codes/json/iso_3166-1.json"
#define ISO_MAX_KEY_BYTES     128 /* longest iso-codes name is about 60 bytes */
#define EMAIL_MAX_LOCAL_BYTES 64  /* RFC 5321 §4.5.3.1.1 */
#define EMAIL_MAX_DOMAIN      253 /* RFC 1035, presentation form without the root dot */
#define PHONE_MIN_DIGITS      7   /* shortest numbers in use: +290 XXXX, +683 XXXX */
#define PHONE_MAX_DIGITS      15  /* E.164 §6.1 */
#define ADULT_AGE             18

static const char REASON_MISSING[] = "missing_field";
static const char REASON_DOB[] = "dob_invalid";
static const char REASON_MINOR[] = "minor";
static const char REASON_COUNTRY[] = "country_invalid";
static const char REASON_EMAIL[] = "email_invalid";
static const char REASON_PHONE[] = "phone_invalid";
static const char REASON_TOKENIZED[] = "pii_tokenized";
static const char REASON_FIELD[] = "field_invalid";
static const char REASON_NAME_MARKUP[] = "name_markup";

struct iso_key {
    char *key; /* lower-cased code or name */
    char alpha2[3];
    int is_code;
};

static struct iso_key *iso_keys;
static size_t iso_count;
static UIDNA *idna;

/* ---------------------------------------------------------------- ASCII helpers */

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_space((*s)[*len - 1]))
        (*len)--;
}

static int ascii_equal_nocase(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- ISO 3166-1 table */

static int key_compare(const void *a, const void *b)
{
    return strcmp(((const struct iso_key *)a)->key, ((const struct iso_key *)b)->key);
}

static int add_key(size_t *cap, const char *text, const char *alpha2, int is_code)
{
    if (!text)
        return 0;
    size_t len = strlen(text);
    if (len == 0 || len >= ISO_MAX_KEY_BYTES)
        return 0;
    if (iso_count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 1024;
        struct iso_key *grown = realloc(iso_keys, ncap * sizeof *grown);
        if (!grown)
            return CAPP_ENOMEM;
        iso_keys = grown;
        *cap = ncap;
    }
    char *key = malloc(len + 1);
    if (!key)
        return CAPP_ENOMEM;
    for (size_t i = 0; i < len; i++)
        key[i] = ascii_lower(text[i]);
    key[len] = '\0';
    struct iso_key *k = &iso_keys[iso_count++];
    k->key = key;
    memcpy(k->alpha2, alpha2, 3);
    k->is_code = is_code;
    return 0;
}

static int is_code_of(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return 0;
    return 1;
}

static int load_entries(const json_t *list)
{
    size_t cap = 0, i;
    const json_t *entry;
    json_array_foreach(list, i, entry)
    {
        const char *a2 = json_string_value(json_object_get(entry, "alpha_2"));
        const char *a3 = json_string_value(json_object_get(entry, "alpha_3"));
        if (!is_code_of(a2, 2) || !is_code_of(a3, 3))
            continue;
        char alpha2[3] = {a2[0], a2[1], '\0'};
        static const char *const names[] = {"name", "official_name", "common_name"};
        int rc = add_key(&cap, a2, alpha2, 1);
        if (!rc)
            rc = add_key(&cap, a3, alpha2, 1);
        for (size_t n = 0; !rc && n < sizeof names / sizeof names[0]; n++)
            rc = add_key(&cap, json_string_value(json_object_get(entry, names[n])), alpha2, 0);
        if (rc)
            return rc;
    }
    return iso_count ? 0 : CAPP_EPARSE;
}

int quality_init(const char *iso_3166_json_path)
{
    if (iso_keys)
        return 0;
    const char *path = iso_3166_json_path ? iso_3166_json_path : ISO_3166_DEFAULT_PATH;
    int rc = 0;
    json_t *root = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return CAPP_EIO;
    json_error_t jerr;
    root = json_loadf(f, 0, &jerr);
    fclose(f);
    const json_t *list = json_object_get(root, "3166-1");
    if (!json_is_array(list)) {
        rc = CAPP_EPARSE;
        goto out;
    }
    rc = load_entries(list);
    if (rc)
        goto out;
    qsort(iso_keys, iso_count, sizeof *iso_keys, key_compare);

    UErrorCode status = U_ZERO_ERROR;
    idna = uidna_openUTS46(UIDNA_USE_STD3_RULES | UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ |
                               UIDNA_NONTRANSITIONAL_TO_ASCII,
                           &status);
    if (U_FAILURE(status) || !idna)
        rc = status == U_MEMORY_ALLOCATION_ERROR ? CAPP_ENOMEM : CAPP_EIO;
out:
    json_decref(root);
    if (rc)
        quality_shutdown();
    return rc;
}

void quality_shutdown(void)
{
    for (size_t i = 0; i < iso_count; i++)
        free(iso_keys[i].key);
    free(iso_keys);
    iso_keys = NULL;
    iso_count = 0;
    if (idna)
        uidna_close(idna);
    idna = NULL;
}

static const struct iso_key *country_lookup(const char *s, size_t len)
{
    char buf[ISO_MAX_KEY_BYTES];
    if (!iso_keys || !s)
        return NULL;
    trim(&s, &len);
    if (len == 0 || len >= sizeof buf)
        return NULL;
    for (size_t i = 0; i < len; i++)
        buf[i] = ascii_lower(s[i]);
    buf[len] = '\0';
    struct iso_key probe = {.key = buf};
    return bsearch(&probe, iso_keys, iso_count, sizeof *iso_keys, key_compare);
}

int quality_country_valid(const char *code)
{
    const struct iso_key *k = code ? country_lookup(code, strlen(code)) : NULL;
    return k && k->is_code;
}

int quality_country_alpha2(const char *code_or_name, char out[3])
{
    if (!code_or_name || !out)
        return CAPP_EINVAL;
    const struct iso_key *k = country_lookup(code_or_name, strlen(code_or_name));
    if (!k)
        return CAPP_ENOTFOUND;
    memcpy(out, k->alpha2, 3);
    return 0;
}

/* ---------------------------------------------------------------- identity type */

/* 1 when the identity's string field `key` (trimmed, case-insensitive) is one of words. */
static int field_is_one_of(const json_t *identity, const char *key, const char *const *words,
                           size_t n)
{
    const json_t *v = json_object_get(identity, key);
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    trim(&s, &len);
    for (size_t i = 0; i < n; i++)
        if (ascii_equal_nocase(s, len, words[i]))
            return 1;
    return 0;
}

/* 1 when the string field has visible text. */
static int field_present(const json_t *identity, const char *key)
{
    const json_t *v = json_object_get(identity, key);
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    trim(&s, &len);
    return len > 0;
}

int quality_is_organization(const json_t *identity)
{
    static const char *const org_types[] = {"organization", "organisation", "company",
                                            "business",     "entity",       "corporate"};
    static const char *const person_types[] = {"individual", "person"};
    if (!json_is_object(identity))
        return 0;
    if (field_is_one_of(identity, "identity_type", org_types, COUNTOF(org_types)))
        return 1;
    /* D26: Cloud's examples put individual/organization in category, with identity_type
     * "customer"; Core's own identity_type, when it names a person, wins. */
    if (!field_is_one_of(identity, "identity_type", person_types, COUNTOF(person_types)) &&
        field_is_one_of(identity, "category", org_types, COUNTOF(org_types)))
        return 1;
    /* An organisation name and no personal name: screening it as a person would screen nothing
     * (the organisation's name would never be checked against the entity entries). */
    return field_present(identity, "organization_name") && !field_present(identity, "first_name") &&
           !field_present(identity, "last_name") && !field_present(identity, "other_names");
}

/* ---------------------------------------------------------------- dates */

struct ymd {
    int year, month, day;
};

enum date_verdict { DATE_OK = 0, DATE_SYNTAX = -1, DATE_CALENDAR = -2 };

static int parse_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* "YYYY-MM-DD" exactly; the calendar is checked (Gregorian, years 0001-9999). */
static enum date_verdict parse_ymd(const char *s, size_t len, struct ymd *out)
{
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return DATE_SYNTAX;
    if (parse_digits(s, 4, &out->year) || parse_digits(s + 5, 2, &out->month) ||
        parse_digits(s + 8, 2, &out->day))
        return DATE_SYNTAX;
    if (out->year < 1 || out->month < 1 || out->month > 12 || out->day < 1 ||
        out->day > days_in_month(out->year, out->month))
        return DATE_CALENDAR;
    return DATE_OK;
}

/* The RFC 3339 tail of a DATE read back by Core: "T00:00:00", optional all-zero fraction, then
 * "Z" or a valid numeric offset. Any other time of day is not a date of birth. */
static int midnight_tail(const char *s, size_t len)
{
    if (len < 9 || (s[0] != 'T' && s[0] != 't') || memcmp(s + 1, "00:00:00", 8) != 0)
        return 0;
    size_t i = 9;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] == '0' && i - start < 9)
            i++;
        if (i == start)
            return 0;
    }
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z'))
        return 1;
    int hh, mm;
    if (i + 6 != len || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':' ||
        parse_digits(s + i + 1, 2, &hh) || parse_digits(s + i + 4, 2, &mm))
        return 0;
    return hh <= 23 && mm <= 59;
}

static enum date_verdict parse_dob(const char *s, size_t len, struct ymd *out)
{
    if (len < 10)
        return DATE_SYNTAX;
    if (len > 10 && !midnight_tail(s + 10, len - 10))
        return DATE_SYNTAX;
    return parse_ymd(s, 10, out);
}

static int ymd_compare(const struct ymd *a, const struct ymd *b)
{
    if (a->year != b->year)
        return a->year < b->year ? -1 : 1;
    if (a->month != b->month)
        return a->month < b->month ? -1 : 1;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    return 0;
}

/* Whole years; a 29 February birthday completes its year on 1 March in common years. */
static int age_on(const struct ymd *birth, const struct ymd *today)
{
    int age = today->year - birth->year;
    if (today->month < birth->month || (today->month == birth->month && today->day < birth->day))
        age--;
    return age;
}

static void today_utc(struct ymd *out)
{
    time_t now = (time_t)(clock_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    out->year = tm.tm_year + 1900;
    out->month = tm.tm_mon + 1;
    out->day = tm.tm_mday;
}

/* ---------------------------------------------------------------- email */

static int is_atext(char c)
{
    return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

/* Dot-atom (RFC 5321 §4.1.2) extended with UTF-8 (RFC 6531); quoted local parts are refused. */
static int email_local_valid(const char *s, size_t len)
{
    if (len == 0 || len > EMAIL_MAX_LOCAL_BYTES || s[0] == '.' || s[len - 1] == '.')
        return 0;
    int32_t i = 0, n = (int32_t)len;
    while (i < n) {
        char c = s[i];
        if ((unsigned char)c < 0x80) {
            if (c == '.' && s[i + 1] == '.')
                return 0;
            if (c != '.' && !is_atext(c))
                return 0;
            i++;
            continue;
        }
        UChar32 cp;
        U8_NEXT((const uint8_t *)s, i, n, cp);
        if (cp < 0xA0) /* malformed UTF-8 or a C1 control */
            return 0;
    }
    return 1;
}

/* An ASCII host name: LDH labels of 1-63 bytes, no edge hyphens, at least two labels, and a
 * top-level label that is not all digits (so no bare IPv4 addresses). */
static int ascii_domain_valid(const char *s, size_t len)
{
    if (len == 0 || len > EMAIL_MAX_DOMAIN)
        return 0;
    size_t labels = 0, start = 0;
    int last_all_digits = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            char c = s[i];
            if (!is_alpha(c) && !is_digit(c) && c != '-')
                return 0;
            continue;
        }
        size_t n = i - start;
        if (n == 0 || n > 63 || s[start] == '-' || s[i - 1] == '-')
            return 0;
        last_all_digits = 1;
        for (size_t j = start; j < i; j++)
            if (!is_digit(s[j]))
                last_all_digits = 0;
        labels++;
        start = i + 1;
    }
    return labels >= 2 && !last_all_digits;
}

static int email_valid(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (!at || memchr(at + 1, '@', len - (size_t)(at - s) - 1))
        return 0;
    size_t local_len = (size_t)(at - s);
    const char *domain = at + 1;
    size_t domain_len = len - local_len - 1;
    if (!email_local_valid(s, local_len) || domain_len == 0 || domain_len > 255)
        return 0;

    char ascii[EMAIL_MAX_DOMAIN + 8];
    UErrorCode status = U_ZERO_ERROR;
    UIDNAInfo info = UIDNA_INFO_INITIALIZER;
    int32_t n = uidna_nameToASCII_UTF8(idna, domain, (int32_t)domain_len, ascii,
                                       (int32_t)sizeof ascii, &info, &status);
    if (U_FAILURE(status) || info.errors != 0 || n <= 0 || (size_t)n >= sizeof ascii)
        return 0;
    return ascii_domain_valid(ascii, (size_t)n);
}

/* ---------------------------------------------------------------- phone */

/* E.164 as stored: '+', a country code that does not start with 0, 7-15 digits in all, and
 * nothing else (no spaces, dashes or trunk prefixes). */
static int phone_valid(const char *s, size_t len)
{
    if (len < 2 || s[0] != '+' || s[1] == '0')
        return 0;
    size_t digits = len - 1;
    if (digits < PHONE_MIN_DIGITS || digits > PHONE_MAX_DIGITS)
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- fields */

enum field_state { FIELD_ABSENT, FIELD_PRESENT, FIELD_NOT_STRING, FIELD_TOO_LONG };

struct field {
    const char *name;
    const char *unusable_reason; /* code for a value that cannot be processed */
    enum field_state state;
    const char *value; /* trimmed, not NUL-terminated at len */
    size_t len;
    int tokenized;
};

/* "first_name", "FirstName" and "firstName" name the same field (spec §7: Core capitalises the
 * Go struct name); compare without underscores and case. */
int quality_same_field_name(const char *a, const char *b)
{
    for (;;) {
        while (*a == '_')
            a++;
        while (*b == '_')
            b++;
        if (ascii_lower(*a) != ascii_lower(*b))
            return 0;
        if (!*a)
            return 1;
        a++;
        b++;
    }
}

/* meta_data.tokenized_fields: Core writes {"FirstName": true}; a list of names is accepted too.
 * Anything but an explicit false or null counts as flagged: screening ciphertext is worse than
 * asking for a detokenize. */
static int flagged_tokenized(const json_t *tokenized_fields, const char *name)
{
    const char *key;
    const json_t *v;
    size_t i;
    if (json_is_object(tokenized_fields)) {
        json_object_foreach((json_t *)tokenized_fields, key, v)
        {
            if (!json_is_false(v) && !json_is_null(v) && quality_same_field_name(key, name))
                return 1;
        }
    } else if (json_is_array(tokenized_fields)) {
        json_array_foreach(tokenized_fields, i, v)
        {
            if (json_is_string(v) && quality_same_field_name(json_string_value(v), name))
                return 1;
        }
    }
    return 0;
}

static void read_field(const json_t *identity, const json_t *tokenized_fields, struct field *f)
{
    const json_t *v = json_object_get(identity, f->name);
    f->state = FIELD_ABSENT;
    f->value = NULL;
    f->len = 0;
    f->tokenized = 0;
    if (!v || json_is_null(v))
        return;
    if (!json_is_string(v)) {
        f->state = FIELD_NOT_STRING;
        return;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len > QUALITY_MAX_FIELD_BYTES) {
        f->state = FIELD_TOO_LONG;
        return;
    }
    if (memchr(s, '\0', len)) {
        f->state = FIELD_NOT_STRING;
        return;
    }
    trim(&s, &len);
    if (len == 0)
        return;
    f->state = FIELD_PRESENT;
    f->value = s;
    f->len = len;
    f->tokenized =
        (len >= 4 && memcmp(s, "FPT:", 4) == 0) || flagged_tokenized(tokenized_fields, f->name);
}

size_t quality_tokenized_names(const json_t *identity, const char *names[3])
{
    static const char *const fields[] = {"first_name", "last_name", "other_names"};
    if (!json_is_object(identity) || quality_is_organization(identity))
        return 0;
    const json_t *meta = json_object_get(identity, "meta_data");
    const json_t *tokenized_fields =
        json_is_object(meta) ? json_object_get(meta, "tokenized_fields") : NULL;
    size_t n = 0;
    for (size_t i = 0; i < COUNTOF(fields); i++) {
        struct field f = {.name = fields[i]};
        read_field(identity, tokenized_fields, &f);
        if (f.state == FIELD_PRESENT && f.tokenized)
            names[n++] = fields[i];
    }
    return n;
}

__attribute__((format(printf, 4, 5))) static void
add_finding(struct quality_result *r, const char *reason, const char *field, const char *fmt, ...)
{
    if (r->count >= QUALITY_MAX_FINDINGS)
        return;
    struct quality_finding *f = &r->findings[r->count++];
    f->reason = reason;
    snprintf(f->field, sizeof f->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof f->detail, fmt, ap);
    va_end(ap);
}

static int is_name_field(const char *name)
{
    return strcmp(name, "first_name") == 0 || strcmp(name, "last_name") == 0 ||
           strcmp(name, "other_names") == 0 || strcmp(name, "organization_name") == 0;
}

/* ---------------------------------------------------------------- rules */

enum {
    F_TYPE,
    F_FIRST,
    F_LAST,
    F_OTHER,
    F_ORG,
    F_DOB,
    F_NATIONALITY,
    F_COUNTRY,
    F_EMAIL,
    F_PHONE,
    F_COUNT
};

static void check_dob(const struct field *f, const struct ymd *today, struct quality_result *r)
{
    struct ymd dob;
    switch (parse_dob(f->value, f->len, &dob)) {
    case DATE_SYNTAX:
        add_finding(r, REASON_DOB, f->name,
                    "date of birth is not a YYYY-MM-DD date or an RFC 3339 midnight timestamp");
        return;
    case DATE_CALENDAR:
        add_finding(r, REASON_DOB, f->name, "date of birth is not a real calendar date");
        return;
    case DATE_OK:
        break;
    }
    if (dob.year == 1 && dob.month == 1 && dob.day == 1) {
        add_finding(r, REASON_DOB, f->name, "date of birth is the unset value 0001-01-01");
        return;
    }
    if (ymd_compare(&dob, today) > 0) {
        add_finding(r, REASON_DOB, f->name, "date of birth is in the future");
        return;
    }
    int age = age_on(&dob, today);
    if (age < ADULT_AGE)
        add_finding(r, REASON_MINOR, f->name, "age %d is under %d on %04d-%02d-%02d", age,
                    ADULT_AGE, today->year, today->month, today->day);
}

int quality_check(const json_t *identity, const char *today_ymd, struct quality_result *out)
{
    if (!out)
        return CAPP_EINVAL;
    memset(out, 0, sizeof *out);
    if (!json_is_object(identity) || !iso_keys || !idna)
        return CAPP_EINVAL;
    struct ymd today;
    if (today_ymd) {
        if (parse_ymd(today_ymd, strlen(today_ymd), &today) != DATE_OK)
            return CAPP_EINVAL;
    } else {
        today_utc(&today);
    }

    struct field f[F_COUNT] = {
        [F_TYPE] = {.name = "identity_type", .unusable_reason = REASON_FIELD},
        [F_FIRST] = {.name = "first_name", .unusable_reason = REASON_FIELD},
        [F_LAST] = {.name = "last_name", .unusable_reason = REASON_FIELD},
        [F_OTHER] = {.name = "other_names", .unusable_reason = REASON_FIELD},
        [F_ORG] = {.name = "organization_name", .unusable_reason = REASON_FIELD},
        [F_DOB] = {.name = "dob", .unusable_reason = REASON_DOB},
        [F_NATIONALITY] = {.name = "nationality", .unusable_reason = REASON_COUNTRY},
        [F_COUNTRY] = {.name = "country", .unusable_reason = REASON_COUNTRY},
        [F_EMAIL] = {.name = "email_address", .unusable_reason = REASON_EMAIL},
        [F_PHONE] = {.name = "phone_number", .unusable_reason = REASON_PHONE},
    };
    const json_t *meta = json_object_get(identity, "meta_data");
    const json_t *tokenized_fields =
        json_is_object(meta) ? json_object_get(meta, "tokenized_fields") : NULL;
    int org = quality_is_organization(identity);

    /* An organization has no personal name or birth date; Core serialises them anyway (as ""
     * and 0001-01-01T00:00:00Z), so they are not read for organizations, and vice versa. */
    int relevant[F_COUNT];
    for (int i = 0; i < F_COUNT; i++)
        relevant[i] = 1;
    relevant[F_FIRST] = relevant[F_LAST] = relevant[F_OTHER] = relevant[F_DOB] = !org;
    relevant[F_ORG] = org;

    for (int i = 0; i < F_COUNT; i++) {
        if (!relevant[i])
            continue;
        read_field(identity, tokenized_fields, &f[i]);
        if (f[i].state == FIELD_NOT_STRING)
            add_finding(out, f[i].unusable_reason, f[i].name, "%s is not a text value", f[i].name);
        else if (f[i].state == FIELD_TOO_LONG)
            add_finding(out, f[i].unusable_reason, f[i].name,
                        "%s is longer than %d bytes and was not checked", f[i].name,
                        QUALITY_MAX_FIELD_BYTES);
    }

    static const int names[] = {F_FIRST, F_LAST, F_OTHER, F_ORG};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct field *n = &f[names[i]];
        if (relevant[names[i]] && n->state == FIELD_PRESENT && n->tokenized) {
            out->names_tokenized = 1;
            add_finding(out, REASON_TOKENIZED, n->name,
                        "%s is a Blnk token; detokenize it before screening", n->name);
        }
    }

    static const int individual_required[] = {F_FIRST, F_LAST, F_DOB};
    static const int organization_required[] = {F_ORG, F_COUNTRY};
    const int *required = org ? organization_required : individual_required;
    size_t nrequired = org ? 2 : 3;
    for (size_t i = 0; i < nrequired; i++)
        if (f[required[i]].state == FIELD_ABSENT)
            add_finding(out, REASON_MISSING, f[required[i]].name, "%s is missing",
                        f[required[i]].name);
    if (!org && f[F_NATIONALITY].state == FIELD_ABSENT && f[F_COUNTRY].state == FIELD_ABSENT)
        add_finding(out, REASON_MISSING, "nationality", "neither nationality nor country is set");

    if (!org && f[F_DOB].state == FIELD_PRESENT)
        check_dob(&f[F_DOB], &today, out);

    static const int countries[] = {F_NATIONALITY, F_COUNTRY};
    for (size_t i = 0; i < 2; i++) {
        const struct field *c = &f[countries[i]];
        if (c->state == FIELD_PRESENT && !country_lookup(c->value, c->len))
            add_finding(out, REASON_COUNTRY, c->name,
                        "%s is not an ISO 3166-1 code or English country name", c->name);
    }

    const struct field *email = &f[F_EMAIL];
    if (email->state == FIELD_PRESENT && !email->tokenized &&
        !email_valid(email->value, email->len))
        add_finding(out, REASON_EMAIL, email->name, "email address is not valid syntax");

    const struct field *phone = &f[F_PHONE];
    if (phone->state == FIELD_PRESENT && !phone->tokenized &&
        !phone_valid(phone->value, phone->len))
        add_finding(out, REASON_PHONE, phone->name,
                    "phone number is not in E.164 form (+ country code, 7 to 15 digits)");
    return 0;
}

void quality_add_name_input(struct quality_result *r, const char *field, int markup, int control)
{
    if (!r || (!markup && !control))
        return;
    add_finding(r, REASON_NAME_MARKUP, field, "%s%s%s were removed from the name before screening",
                markup ? "markup (tags or HTML entities)" : "", markup && control ? " and " : "",
                control ? "control or invisible characters" : "");
}

const char *quality_risk(const struct quality_result *r)
{
    if (!r || r->count == 0)
        return "low";
    if (r->names_tokenized)
        return "high";
    for (size_t i = 0; i < r->count && i < QUALITY_MAX_FINDINGS; i++) {
        const struct quality_finding *f = &r->findings[i];
        if (!f->reason)
            continue;
        if (strcmp(f->reason, REASON_MINOR) == 0 || strcmp(f->reason, REASON_DOB) == 0 ||
            strcmp(f->reason, REASON_TOKENIZED) == 0)
            return "high";
        if ((strcmp(f->reason, REASON_MISSING) == 0 || strcmp(f->reason, REASON_FIELD) == 0) &&
            is_name_field(f->field))
            return "high";
    }
    return "medium";
}
