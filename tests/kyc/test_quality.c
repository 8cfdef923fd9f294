/*
 * test_quality.c — the data-quality rules (kyc/quality.c): one table per rule, each row a
 * field value and the finding it must (or must not) produce, plus whole-identity tables for
 * required fields, identity types, tokenization and risk. The check date is fixed
 * (2026-03-01) so ages and "future" never drift.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsupport.h"

#include "capp/err.h"
#include "kyc/quality.h"

#define TODAY "2026-03-01"

/* ---------------------------------------------------------------- helpers */

/* A clean adult individual; every table row changes one field of it. */
static json_t *individual(void)
{
    json_t *id = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n}",
                           "identity_type", "individual", "first_name", "Ada", "last_name",
                           "Lovelace", "other_names", "", "dob", "1985-12-10", "nationality", "GB",
                           "country", "GB", "email_address", "ada@example.com", "phone_number",
                           "+442071234567", "organization_name", "", "meta_data");
    assert_non_null(id);
    return id;
}

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    if (!v)
        fail_msg("bad test JSON (%s): %s", err.text, text);
    return v;
}

/* "reason:field reason:field ..." for comparing against a table's expectation. */
static void summarize(const struct quality_result *r, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->count && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s:%s", i ? " " : "", r->findings[i].reason,
                              r->findings[i].field);
}

static void assert_no_echo(const struct quality_result *r, const char *value, const char *label)
{
    if (!value || strlen(value) < 4)
        return;
    for (size_t i = 0; i < r->count; i++)
        if (strstr(r->findings[i].detail, value) || strstr(r->findings[i].field, value))
            fail_msg("%s: finding %zu echoes the value: %s", label, i, r->findings[i].detail);
}

/* Checks identity (consumed) and compares the findings summary with want ("" for none). */
static void expect_findings(json_t *identity, const char *today, const char *want,
                            const char *label, struct quality_result *out)
{
    struct quality_result local;
    struct quality_result *r = out ? out : &local;
    int rc = quality_check(identity, today, r);
    json_decref(identity);
    if (rc)
        fail_msg("%s: quality_check failed: %d", label, rc);
    char got[1024];
    summarize(r, got, sizeof got);
    if (strcmp(got, want) != 0)
        fail_msg("%s: findings \"%s\", want \"%s\"", label, got, want);
    for (size_t i = 0; i < r->count; i++)
        if (!r->findings[i].detail[0])
            fail_msg("%s: finding %zu has no detail", label, i);
}

struct field_case {
    const char *value;
    const char *reason; /* NULL: the value is fine */
};

/* Each row sets `field` of the clean individual; the row's reason (if any) must be the only
 * finding, on that field. echo_check: also assert the value never appears in a detail. */
static void run_field_cases(const char *field, const struct field_case *rows, size_t n,
                            const char *today, int echo_check)
{
    for (size_t i = 0; i < n; i++) {
        json_t *id = individual();
        assert_int_equal(json_object_set_new(id, field, json_string(rows[i].value)), 0);
        char want[128] = "";
        if (rows[i].reason)
            snprintf(want, sizeof want, "%s:%s", rows[i].reason, field);
        char label[256];
        snprintf(label, sizeof label, "%s=\"%.150s\" (row %zu)", field, rows[i].value, i);
        struct quality_result r;
        expect_findings(id, today, want, label, &r);
        if (echo_check)
            assert_no_echo(&r, rows[i].value, label);
    }
}

#define ROWS(a) (sizeof(a) / sizeof((a)[0]))

struct identity_case {
    const char *json;
    const char *want; /* findings summary */
    const char *risk;
    int names_tokenized;
};

static void run_identity_cases(const struct identity_case *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct quality_result r;
        char label[96];
        snprintf(label, sizeof label, "identity row %zu", i);
        expect_findings(parse(rows[i].json), TODAY, rows[i].want, label, &r);
        if (strcmp(quality_risk(&r), rows[i].risk) != 0)
            fail_msg("%s: risk %s, want %s", label, quality_risk(&r), rows[i].risk);
        if (r.names_tokenized != rows[i].names_tokenized)
            fail_msg("%s: names_tokenized %d, want %d", label, r.names_tokenized,
                     rows[i].names_tokenized);
        for (size_t k = 0; k < r.count; k++)
            if (strstr(r.findings[k].detail, "FPT:") || strstr(r.findings[k].detail, "QUJD"))
                fail_msg("%s: detail echoes a token: %s", label, r.findings[k].detail);
    }
}

static char *repeat(char c, size_t n, const char *suffix)
{
    size_t extra = suffix ? strlen(suffix) : 0;
    char *s = malloc(n + extra + 1);
    assert_non_null(s);
    memset(s, c, n);
    memcpy(s + n, suffix ? suffix : "", extra);
    s[n + extra] = '\0';
    return s;
}

/* ---------------------------------------------------------------- date of birth */

static void test_dob_forms(void **state)
{
    (void)state;
    static const struct field_case rows[] = {
        {"1985-12-10", NULL},
        {"1985-12-10T00:00:00Z", NULL},
        {"1985-12-10t00:00:00z", NULL},
        {"1985-12-10T00:00:00.000000Z", NULL},
        {"1985-12-10T00:00:00.000000000Z", NULL},
        {"1985-12-10T00:00:00+00:00", NULL},
        {"1985-12-10T00:00:00-05:00", NULL},
        {"1985-12-10T00:00:00+23:59", NULL},
        {" 1985-12-10 ", NULL},                  /* surrounding blanks are trimmed */
        {"1985-12-10T12:00:00Z", "dob_invalid"}, /* not midnight: not a DATE */
        {"1985-12-10T00:00:01Z", "dob_invalid"},
        {"1985-12-10T00:00:00", "dob_invalid"}, /* no zone */
        {"1985-12-10T00:00:00+24:00", "dob_invalid"},
        {"1985-12-10T00:00:00+05:60", "dob_invalid"},
        {"1985-12-10T00:00:00+0500", "dob_invalid"},
        {"1985-12-10T00:00:00.Z", "dob_invalid"},
        {"1985-12-10T00:00:00.1Z", "dob_invalid"},
        {"1985-12-10T00:00:00.0000000000Z", "dob_invalid"}, /* > 9 fraction digits */
        {"1985-12-10T", "dob_invalid"},
        {"1985-12-10 00:00:00", "dob_invalid"},
        {"1985-12-10x", "dob_invalid"},
        {"1985-1-10", "dob_invalid"},
        {"85-12-10", "dob_invalid"},
        {"1985/12/10", "dob_invalid"},
        {"10-12-1985", "dob_invalid"},
        {"10/12/1985", "dob_invalid"},
        {"19851210", "dob_invalid"},
        {"+1985-12-10", "dob_invalid"},
        {"１９８５-12-10", "dob_invalid"}, /* full-width digits */
        {"abcdefghij", "dob_invalid"},
        {"yesterday", "dob_invalid"},
        {"FPT:Abc1:QUJDREVGR0g=", "dob_invalid"},
    };
    run_field_cases("dob", rows, ROWS(rows), TODAY, 0);
}

static void test_dob_calendar(void **state)
{
    (void)state;
    static const struct field_case rows[] = {
        {"2004-02-29", NULL}, /* leap year */
        {"2000-02-29", NULL}, /* divisible by 400 */
        {"1996-02-29T00:00:00Z", NULL},
        {"2001-02-29", "dob_invalid"},
        {"1900-02-29", "dob_invalid"}, /* divisible by 100, not 400 */
        {"2001-02-28", NULL},
        {"1990-01-31", NULL},
        {"1990-03-31", NULL},
        {"1990-04-30", NULL},
        {"1990-04-31", "dob_invalid"},
        {"1990-06-31", "dob_invalid"},
        {"1990-09-31", "dob_invalid"},
        {"1990-11-31", "dob_invalid"},
        {"1990-12-31", NULL},
        {"1990-12-32", "dob_invalid"},
        {"1990-13-01", "dob_invalid"},
        {"1990-00-10", "dob_invalid"},
        {"1990-01-00", "dob_invalid"},
        {"0000-06-15", "dob_invalid"},
        {"0001-01-01", "dob_invalid"}, /* the unset value (spec D18) */
        {"0001-01-01T00:00:00Z", "dob_invalid"},
        {"0001-01-02", NULL}, /* old, but a real past date */
        {"1900-01-01", NULL},
    };
    run_field_cases("dob", rows, ROWS(rows), TODAY, 0);
}

static void test_dob_future_and_age(void **state)
{
    (void)state;
    static const struct {
        const char *today, *dob, *want;
    } rows[] = {
        {"2026-03-01", "2026-03-02", "dob_invalid"}, /* tomorrow */
        {"2026-03-01", "2027-01-01", "dob_invalid"},
        {"2026-03-01", "9999-12-31", "dob_invalid"},
        {"2026-03-01", "9999-12-31T00:00:00Z", "dob_invalid"},
        {"2026-03-01", "2026-03-01", "minor"}, /* born today */
        {"2026-03-01", "2008-03-01", NULL},    /* 18th birthday today */
        {"2026-03-01", "2008-03-02", "minor"}, /* 18th birthday tomorrow */
        {"2026-03-01", "2008-02-29", NULL},    /* leap-day birthday, common year: 1 March */
        {"2026-02-28", "2008-02-29", "minor"},
        {"2024-02-29", "2006-02-28", NULL},
        {"2024-02-29", "2006-03-01", "minor"},
        {"2024-02-29", "2006-02-29", "dob_invalid"}, /* 2006 is not a leap year */
        {"2026-01-01", "2007-12-31", NULL},
        {"2025-12-31", "2008-01-01", "minor"},
        {"2025-12-31", "2007-12-31", NULL},
        {"2026-03-01", "2008-03-01T00:00:00Z", NULL},
        {"2026-03-01", "2008-03-02T00:00:00Z", "minor"},
        {"2026-03-01", "2015-07-04", "minor"},
        {"2026-03-01", "1926-03-01", NULL},
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        const struct field_case row = {rows[i].dob, rows[i].want};
        run_field_cases("dob", &row, 1, rows[i].today, 0);
    }
}

static void test_minor_detail(void **state)
{
    (void)state;
    json_t *id = individual();
    json_object_set_new(id, "dob", json_string("2008-03-02"));
    struct quality_result r;
    expect_findings(id, TODAY, "minor:dob", "minor detail", &r);
    assert_non_null(strstr(r.findings[0].detail, "age 17"));
    assert_null(strstr(r.findings[0].detail, "2008"));
    assert_string_equal(quality_risk(&r), "high");
}

static void test_today_argument(void **state)
{
    (void)state;
    static const char *const bad[] = {"2026-02-30",           "2026-3-1",  "yesterday", "",
                                      "2026-03-01T00:00:00Z", "0000-01-01"};
    struct quality_result r;
    for (size_t i = 0; i < ROWS(bad); i++) {
        json_t *id = individual();
        if (quality_check(id, bad[i], &r) != CAPP_EINVAL)
            fail_msg("today \"%s\" was accepted", bad[i]);
        json_decref(id);
    }
    /* NULL: the real clock; a 1985 birth date is fine and year 9999 is in the future */
    expect_findings(individual(), NULL, "", "today NULL", NULL);
    json_t *id = individual();
    json_object_set_new(id, "dob", json_string("9999-12-31"));
    expect_findings(id, NULL, "dob_invalid:dob", "today NULL, future", NULL);
}

/* ---------------------------------------------------------------- countries */

static const struct field_case country_rows[] = {
    {"GB", NULL},
    {"gb", NULL},
    {"Gb", NULL},
    {" gb ", NULL},
    {"GBR", NULL},
    {"gbr", NULL},
    {"United Kingdom", NULL},
    {"united kingdom", NULL},
    {"UNITED KINGDOM", NULL},
    {"United Kingdom of Great Britain and Northern Ireland", NULL}, /* official name */
    {"DE", NULL},
    {"DEU", NULL},
    {"Germany", NULL},
    {"Federal Republic of Germany", NULL},
    {"NG", NULL},
    {"United States", NULL},
    {"United States of America", NULL},
    {"Korea, Republic of", NULL},
    {"South Korea", NULL}, /* common name */
    {"Bolivia", NULL},
    {"Côte d'Ivoire", NULL},
    {"XK", "country_invalid"}, /* Kosovo: user-assigned, not in ISO 3166-1 */
    {"XX", "country_invalid"},
    {"XXX", "country_invalid"},
    {"UK", "country_invalid"}, /* exceptionally reserved, not an assigned code */
    {"G", "country_invalid"},
    {"GBRR", "country_invalid"},
    {"826", "country_invalid"}, /* numeric codes are not accepted */
    {"England", "country_invalid"},
    {"Atlantis", "country_invalid"},
    {"United  Kingdom", "country_invalid"},
    {"United Kingdom.", "country_invalid"},
    {"FPT:Abc:QUJDREVG", "country_invalid"},
};

static void test_country(void **state)
{
    (void)state;
    run_field_cases("country", country_rows, ROWS(country_rows), TODAY, 1);
}

static void test_nationality(void **state)
{
    (void)state;
    run_field_cases("nationality", country_rows, ROWS(country_rows), TODAY, 1);
}

static void test_country_api(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int code_valid;
        const char *alpha2; /* NULL: not found */
    } rows[] = {
        {"GB", 1, "GB"},
        {"gbr", 1, "GB"},
        {"United Kingdom", 0, "GB"},
        {"germany", 0, "DE"},
        {"DEU", 1, "DE"},
        {"South Korea", 0, "KR"},
        {"Taiwan, Province of China", 0, "TW"},
        {"XX", 0, NULL},
        {"", 0, NULL},
        {"   ", 0, NULL},
        {"Atlantis", 0, NULL},
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        char out[3] = "";
        if (quality_country_valid(rows[i].in) != rows[i].code_valid)
            fail_msg("quality_country_valid(\"%s\") != %d", rows[i].in, rows[i].code_valid);
        int rc = quality_country_alpha2(rows[i].in, out);
        if (rows[i].alpha2) {
            if (rc != 0 || strcmp(out, rows[i].alpha2) != 0)
                fail_msg("alpha2(\"%s\") = %d \"%s\", want %s", rows[i].in, rc, out,
                         rows[i].alpha2);
        } else if (rc != CAPP_ENOTFOUND) {
            fail_msg("alpha2(\"%s\") = %d, want CAPP_ENOTFOUND", rows[i].in, rc);
        }
    }
    char out[3];
    assert_int_equal(quality_country_valid(NULL), 0);
    assert_int_equal(quality_country_alpha2(NULL, out), CAPP_EINVAL);
    char *long_name = repeat('a', 5000, NULL);
    assert_int_equal(quality_country_alpha2(long_name, out), CAPP_ENOTFOUND);
    free(long_name);
}

/* ---------------------------------------------------------------- email */

static void test_email(void **state)
{
    (void)state;
    static const struct field_case rows[] = {
        {"ada@example.com", NULL},
        {"ada.lovelace@example.co.uk", NULL},
        {"ada+kyc@example.com", NULL},
        {"o'brien@example.ie", NULL},
        {"a{b}|c~d@example.org", NULL},
        {"x@example.io", NULL},
        {"ADA@EXAMPLE.COM", NULL},
        {"first_last-1@sub-domain.example.org", NULL},
        {"ada@123.example", NULL},
        {"user@bücher.de", NULL},            /* IDN domain (UTS #46) */
        {"user@xn--bcher-kva.de", NULL},     /* the same domain in punycode */
        {"用户@例子.广告", NULL},            /* RFC 6531 local part and IDN domain */
        {"josé@example.com", NULL},          /* RFC 6531 local part */
        {"adaexample.com", "email_invalid"}, /* no at */
        {"ada@example", "email_invalid"},    /* no dot in the domain */
        {"ada@localhost", "email_invalid"},
        {"ada@@example.com", "email_invalid"},
        {"ada@exa@mple.com", "email_invalid"},
        {"@example.com", "email_invalid"},
        {"ada@", "email_invalid"},
        {".ada@example.com", "email_invalid"},
        {"ada.@example.com", "email_invalid"},
        {"ada..l@example.com", "email_invalid"},
        {"ada@example..com", "email_invalid"},
        {"ada@.example.com", "email_invalid"},
        {"ada@example.com.", "email_invalid"},
        {"ada@-example.com", "email_invalid"},
        {"ada@example-.com", "email_invalid"},
        {"ada@exam_ple.com", "email_invalid"},
        {"ada lovelace@example.com", "email_invalid"},
        {"ada@exa mple.com", "email_invalid"},
        {"\"ada\"@example.com", "email_invalid"}, /* quoted local parts are refused */
        {"ada(comment)@example.com", "email_invalid"},
        {"ada<script>@example.com", "email_invalid"},
        {"ada@[192.0.2.1]", "email_invalid"},
        {"ada@192.0.2.1", "email_invalid"},
        {"ada@example.123", "email_invalid"},
        {"ada@bü cher.de", "email_invalid"},
        {"ada@xn--zzzzzzz-.de", "email_invalid"},      /* broken punycode */
        {"ada\xc2\x85x@example.com", "email_invalid"}, /* C1 control */
        {"Ada Lovelace <ada@example.com>", "email_invalid"},
        {"mailto:ada@example.com", "email_invalid"},
    };
    run_field_cases("email_address", rows, ROWS(rows), TODAY, 1);
}

static void test_email_lengths(void **state)
{
    (void)state;
    char *local64 = repeat('a', 64, "@example.com");
    char *local65 = repeat('a', 65, "@example.com");
    char *label63 = repeat('b', 63, ".com");
    char *label64 = repeat('b', 64, ".com");
    char with_at63[128], with_at64[128];
    snprintf(with_at63, sizeof with_at63, "ada@%s", label63);
    snprintf(with_at64, sizeof with_at64, "ada@%s", label64);
    /* domains of 253 bytes (the maximum) and 256 bytes */
    char domain253[300], domain256[300];
    snprintf(domain253, sizeof domain253, "ada@%.63s.%.63s.%.63s.%.57s.com", label63, label63,
             label63, label63);
    snprintf(domain256, sizeof domain256, "ada@%.63s.%.63s.%.63s.%.60s.com", label63, label63,
             label63, label63);
    assert_int_equal(strlen(domain253), 4 + 253);
    const struct field_case rows[] = {
        {local64, NULL},   {local65, "email_invalid"},
        {with_at63, NULL}, {with_at64, "email_invalid"},
        {domain253, NULL}, {domain256, "email_invalid"},
    };
    run_field_cases("email_address", rows, ROWS(rows), TODAY, 0);
    free(local64);
    free(local65);
    free(label63);
    free(label64);
}

/* ---------------------------------------------------------------- phone */

static void test_phone(void **state)
{
    (void)state;
    static const struct field_case rows[] = {
        {"+442071234567", NULL},
        {"+14155552671", NULL},
        {"+4930123456", NULL},
        {"+2348031234567", NULL},
        {"+2901234", NULL},                     /* 7 digits: the shortest in use */
        {"+123456789012345", NULL},             /* 15 digits: the E.164 maximum */
        {" +442071234567 ", NULL},              /* surrounding blanks are trimmed */
        {"+1234567890123456", "phone_invalid"}, /* 16 digits */
        {"+123456", "phone_invalid"},
        {"02071234567", "phone_invalid"}, /* national form */
        {"0207 123 4567", "phone_invalid"},
        {"442071234567", "phone_invalid"}, /* no + */
        {"+44 20 7123 4567", "phone_invalid"},
        {"+44-20-7123-4567", "phone_invalid"},
        {"+44(20)71234567", "phone_invalid"},
        {"+44.20.7123.4567", "phone_invalid"},
        {"+0442071234567", "phone_invalid"}, /* country codes never start with 0 */
        {"++442071234567", "phone_invalid"},
        {"+", "phone_invalid"},
        {"+44207123456a", "phone_invalid"},
        {"tel:+442071234567", "phone_invalid"},
        {"+４４2071234567", "phone_invalid"}, /* full-width digits */
        {"00442071234567", "phone_invalid"},
    };
    run_field_cases("phone_number", rows, ROWS(rows), TODAY, 1);
}

/* ---------------------------------------------------------------- required fields and types */

static void test_required_individual(void **state)
{
    (void)state;
    static const struct identity_case rows[] = {
        {"{\"identity_type\":\"individual\",\"first_name\":\"Ada\",\"last_name\":\"Lovelace\","
         "\"dob\":\"1985-12-10\",\"nationality\":\"GB\"}",
         "", "low", 0},
        {"{\"identity_type\":\"individual\",\"first_name\":\"Ada\",\"last_name\":\"Lovelace\","
         "\"dob\":\"1985-12-10\",\"country\":\"GB\"}",
         "", "low", 0},
        {"{\"identity_type\":\"individual\",\"last_name\":\"Lovelace\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\"}",
         "missing_field:first_name", "high", 0},
        {"{\"identity_type\":\"individual\",\"first_name\":\"\",\"last_name\":\"Lovelace\","
         "\"dob\":\"1985-12-10\",\"country\":\"GB\"}",
         "missing_field:first_name", "high", 0},
        {"{\"identity_type\":\"individual\",\"first_name\":\" \\t \",\"last_name\":\"Lovelace\","
         "\"dob\":\"1985-12-10\",\"country\":\"GB\"}",
         "missing_field:first_name", "high", 0},
        {"{\"identity_type\":\"individual\",\"first_name\":null,\"last_name\":\"Lovelace\","
         "\"dob\":\"1985-12-10\",\"country\":\"GB\"}",
         "missing_field:first_name", "high", 0},
        {"{\"identity_type\":\"individual\",\"first_name\":\"Ada\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\"}",
         "missing_field:last_name", "high", 0},
        {"{\"identity_type\":\"individual\",\"first_name\":\"Ada\",\"last_name\":\"Lovelace\","
         "\"country\":\"GB\"}",
         "missing_field:dob", "medium", 0},
        {"{\"identity_type\":\"individual\",\"first_name\":\"Ada\",\"last_name\":\"Lovelace\","
         "\"dob\":\"1985-12-10\",\"nationality\":\"\",\"country\":\"\"}",
         "missing_field:nationality", "medium", 0},
        {"{}",
         "missing_field:first_name missing_field:last_name missing_field:dob "
         "missing_field:nationality",
         "high", 0},
        /* a Blnk /proxy read of an empty identity: every field serialised, dob unset */
        {"{\"identity_id\":\"idt_1\",\"identity_type\":\"\",\"organization_name\":\"\","
         "\"category\":\"\",\"first_name\":\"\",\"last_name\":\"\",\"other_names\":\"\","
         "\"gender\":\"\",\"email_address\":\"\",\"phone_number\":\"\",\"nationality\":\"\","
         "\"street\":\"\",\"country\":\"\",\"state\":\"\",\"post_code\":\"\",\"city\":\"\","
         "\"dob\":\"0001-01-01T00:00:00Z\",\"created_at\":\"2024-01-01T00:00:00Z\","
         "\"meta_data\":null}",
         "missing_field:first_name missing_field:last_name missing_field:nationality "
         "dob_invalid:dob",
         "high", 0},
        /* "customer" (the Cloud example) is an individual */
        {"{\"identity_type\":\"customer\",\"first_name\":\"Ada\",\"last_name\":\"Lovelace\","
         "\"dob\":\"1985-12-10T00:00:00Z\",\"country\":\"GB\"}",
         "", "low", 0},
        {"{\"identity_type\":\"customer\",\"last_name\":\"Lovelace\","
         "\"dob\":\"1985-12-10T00:00:00Z\",\"country\":\"GB\"}",
         "missing_field:first_name", "high", 0},
        /* an individual's organization_name is not required and not read */
        {"{\"identity_type\":\"individual\",\"first_name\":\"Ada\",\"last_name\":\"Lovelace\","
         "\"dob\":\"1985-12-10\",\"country\":\"GB\",\"organization_name\":\"FPT:X:QUJD\"}",
         "", "low", 0},
    };
    run_identity_cases(rows, ROWS(rows));
}

static void test_required_organization(void **state)
{
    (void)state;
    static const struct identity_case rows[] = {
        {"{\"identity_type\":\"organization\",\"organization_name\":\"Acme Ltd\","
         "\"country\":\"GB\"}",
         "", "low", 0},
        /* names and dob as Core serialises them for an organization are ignored */
        {"{\"identity_type\":\"organization\",\"organization_name\":\"Acme Ltd\","
         "\"country\":\"Germany\",\"first_name\":\"\",\"last_name\":\"\","
         "\"dob\":\"0001-01-01T00:00:00Z\",\"nationality\":\"\"}",
         "", "low", 0},
        {"{\"identity_type\":\"organization\",\"organization_name\":\"Acme Ltd\"}",
         "missing_field:country", "medium", 0},
        {"{\"identity_type\":\"organization\",\"organization_name\":\"Acme Ltd\","
         "\"nationality\":\"GB\"}",
         "missing_field:country", "medium", 0},
        {"{\"identity_type\":\"organization\",\"country\":\"GB\"}",
         "missing_field:organization_name", "high", 0},
        {"{\"identity_type\":\"organization\",\"organization_name\":\"\","
         "\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"country\":\"GB\"}",
         "missing_field:organization_name", "high", 0},
        {"{\"identity_type\":\"company\"}", "missing_field:organization_name missing_field:country",
         "high", 0},
        {"{\"identity_type\":\"business\",\"organization_name\":\"Acme\",\"country\":\"XX\"}",
         "country_invalid:country", "medium", 0},
        {"{\"identity_type\":\"Organisation\",\"organization_name\":\"Acme\",\"country\":\"de\","
         "\"email_address\":\"ops@acme\",\"phone_number\":\"030 1234\"}",
         "email_invalid:email_address phone_invalid:phone_number", "medium", 0},
    };
    run_identity_cases(rows, ROWS(rows));
}

static void test_identity_type(void **state)
{
    (void)state;
    static const struct {
        const char *type; /* NULL: absent */
        int org;
    } rows[] = {
        {"organization", 1},
        {"Organization", 1},
        {"organisation", 1},
        {"ORGANISATION", 1},
        {"company", 1},
        {"Company", 1},
        {" business ", 1},
        {"entity", 1},
        {"corporate", 1},
        {"individual", 0},
        {"customer", 0},
        {"VIP", 0},
        {"", 0},
        {"organizations", 0},
        {"org", 0},
        {"corporation", 0},
        {NULL, 0},
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        json_t *id = json_object();
        if (rows[i].type)
            json_object_set_new(id, "identity_type", json_string(rows[i].type));
        if (quality_is_organization(id) != rows[i].org)
            fail_msg("identity_type \"%s\": organization != %d",
                     rows[i].type ? rows[i].type : "(absent)", rows[i].org);
        json_decref(id);
    }
    json_t *odd = parse("{\"identity_type\":7}");
    assert_int_equal(quality_is_organization(odd), 0);
    json_decref(odd);
    assert_int_equal(quality_is_organization(NULL), 0);
}

/* D26: Cloud's own examples put individual/organization in category with identity_type
 * "customer"; an organisation name without personal names is an organisation too. These were
 * all screened as people (and their organisation name never screened). */
static void test_identity_type_from_category_and_names(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int org;
    } rows[] = {
        {"{\"identity_type\":\"customer\",\"category\":\"organization\","
         "\"organization_name\":\"Acme\",\"first_name\":\"Ada\"}",
         1},
        {"{\"identity_type\":\"customer\",\"category\":\" Organisation \"}", 1},
        {"{\"category\":\"company\"}", 1},
        {"{\"identity_type\":\"customer\",\"category\":\"individual\","
         "\"first_name\":\"Ada\",\"last_name\":\"Lovelace\"}",
         0},
        /* Core's identity_type naming a person wins over the category */
        {"{\"identity_type\":\"individual\",\"category\":\"organization\","
         "\"first_name\":\"Ada\"}",
         0},
        /* an organisation name and no personal name, whatever the type says */
        {"{\"identity_type\":\"customer\",\"organization_name\":\"Acme Ltd\","
         "\"first_name\":\"\",\"last_name\":\" \",\"other_names\":\"\"}",
         1},
        {"{\"identity_type\":\"individual\",\"organization_name\":\"Acme Ltd\"}", 1},
        {"{\"organization_name\":\"Acme Ltd\",\"last_name\":\"Lovelace\"}", 0},
        {"{\"organization_name\":\"  \"}", 0},
        {"{\"category\":\"organizations\"}", 0},
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        json_t *id = parse(rows[i].json);
        if (quality_is_organization(id) != rows[i].org)
            fail_msg("%s: organization != %d", rows[i].json, rows[i].org);
        json_decref(id);
    }
    /* and the rules follow: an organisation's required fields, not a person's */
    static const struct identity_case checks[] = {
        {"{\"identity_type\":\"customer\",\"category\":\"organization\","
         "\"organization_name\":\"Acme Ltd\",\"country\":\"GB\"}",
         "", "low", 0},
        {"{\"identity_type\":\"customer\",\"category\":\"organization\",\"country\":\"GB\"}",
         "missing_field:organization_name", "high", 0},
    };
    run_identity_cases(checks, ROWS(checks));
}

/* ---------------------------------------------------------------- tokenization */

static void test_tokenized(void **state)
{
    (void)state;
    static const struct identity_case rows[] = {
        /* by prefix */
        {"{\"first_name\":\"FPT:Kqp:QUJDREVGR0hJSktM\",\"last_name\":\"Lovelace\","
         "\"dob\":\"1985-12-10\",\"country\":\"GB\"}",
         "pii_tokenized:first_name", "high", 1},
        {"{\"first_name\":\"FPT:Kqp:QUJD\",\"last_name\":\"FPT:Zwxyzab:QUJD\","
         "\"other_names\":\"FPT:Q:QUJD\",\"dob\":\"1985-12-10\",\"country\":\"GB\"}",
         "pii_tokenized:first_name pii_tokenized:last_name pii_tokenized:other_names", "high", 1},
        /* by meta_data.tokenized_fields, Core's map of struct names */
        {"{\"first_name\":\"Ada\",\"last_name\":\"Xbqmzqdz\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\",\"meta_data\":{\"tokenized_fields\":{\"LastName\":true}}}",
         "pii_tokenized:last_name", "high", 1},
        {"{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\",\"meta_data\":{\"tokenized_fields\":{\"firstName\":true}}}",
         "pii_tokenized:first_name", "high", 1},
        {"{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\",\"meta_data\":{\"tokenized_fields\":{\"OtherNames\":true}},"
         "\"other_names\":\"Byron\"}",
         "pii_tokenized:other_names", "high", 1},
        /* ... or a list of field names */
        {"{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\",\"meta_data\":{\"tokenized_fields\":[\"last_name\"]}}",
         "pii_tokenized:last_name", "high", 1},
        /* an explicit false is not a flag; other keys are unrelated */
        {"{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\",\"meta_data\":{\"tokenized_fields\":{\"FirstName\":false,"
         "\"Street\":true,\"PostCode\":true}}}",
         "", "low", 0},
        {"{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\",\"meta_data\":{\"tokenized_fields\":\"FirstName\"}}",
         "", "low", 0},
        /* a lower-case prefix is not Blnk's */
        {"{\"first_name\":\"fpt:ada\",\"last_name\":\"Lovelace\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\"}",
         "", "low", 0},
        /* flagged but empty: missing, not tokenized */
        {"{\"first_name\":\"\",\"last_name\":\"Lovelace\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\",\"meta_data\":{\"tokenized_fields\":{\"FirstName\":true}}}",
         "missing_field:first_name", "high", 0},
        /* tokenized email and phone are not syntax-checked and are not name problems */
        {"{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\",\"email_address\":\"FPT:abc@xyz.abc:QUJD\","
         "\"phone_number\":\"FPT:+12345:QUJD\"}",
         "", "low", 0},
        {"{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\",\"email_address\":\"Qrx@pmzlwxq.vfm\",\"phone_number\":\"+9 77\","
         "\"meta_data\":{\"tokenized_fields\":{\"EmailAddress\":true,\"PhoneNumber\":true}}}",
         "", "low", 0},
        /* organization name token */
        {"{\"identity_type\":\"organization\",\"organization_name\":\"FPT:Abcd Ltd:QUJD\","
         "\"country\":\"GB\"}",
         "pii_tokenized:organization_name", "high", 1},
        /* a token is still a value: required fields are satisfied */
        {"{\"identity_type\":\"customer\",\"first_name\":\"FPT:Kqp:QUJD\",\"dob\":\"2010-01-01\","
         "\"country\":\"XX\"}",
         "pii_tokenized:first_name missing_field:last_name minor:dob country_invalid:country",
         "high", 1},
    };
    run_identity_cases(rows, ROWS(rows));
}

/* ---------------------------------------------------------------- limits and types */

static void test_long_values(void **state)
{
    (void)state;
    static const struct {
        const char *field, *reason;
    } rows[] = {
        {"first_name", "field_invalid"},
        {"last_name", "field_invalid"},
        {"other_names", "field_invalid"},
        {"identity_type", "field_invalid"},
        {"dob", "dob_invalid"},
        {"nationality", "country_invalid"},
        {"country", "country_invalid"},
        {"email_address", "email_invalid"},
        {"phone_number", "phone_invalid"},
    };
    char *too_long = repeat('a', QUALITY_MAX_FIELD_BYTES + 1, NULL);
    char *at_limit = repeat('a', QUALITY_MAX_FIELD_BYTES, NULL);
    char *huge = repeat('7', 1 << 20, NULL);
    for (size_t i = 0; i < ROWS(rows); i++) {
        const struct field_case cases[] = {{too_long, rows[i].reason}, {huge, rows[i].reason}};
        run_field_cases(rows[i].field, cases, ROWS(cases), TODAY, 1);
    }
    /* exactly at the limit, a name is processed normally */
    const struct field_case ok[] = {{at_limit, NULL}};
    run_field_cases("first_name", ok, 1, TODAY, 0);
    /* a long name cannot be screened: high risk, like a missing name */
    json_t *id = individual();
    json_object_set_new(id, "last_name", json_string(too_long));
    struct quality_result r;
    expect_findings(id, TODAY, "field_invalid:last_name", "long last_name", &r);
    assert_string_equal(quality_risk(&r), "high");
    assert_non_null(strstr(r.findings[0].detail, "1024"));
    /* organization name too */
    id = parse("{\"identity_type\":\"organization\",\"country\":\"GB\"}");
    json_object_set_new(id, "organization_name", json_string(too_long));
    expect_findings(id, TODAY, "field_invalid:organization_name", "long org name", &r);
    assert_string_equal(quality_risk(&r), "high");
    free(too_long);
    free(at_limit);
    free(huge);
}

static void test_wrong_types(void **state)
{
    (void)state;
    static const struct identity_case rows[] = {
        {"{\"identity_type\":7,\"first_name\":5,\"last_name\":[\"x\"],\"dob\":19851210,"
         "\"nationality\":{\"a\":1},\"country\":true,\"email_address\":1.5,"
         "\"phone_number\":442071234567}",
         "field_invalid:identity_type field_invalid:first_name field_invalid:last_name "
         "dob_invalid:dob country_invalid:nationality country_invalid:country "
         "email_invalid:email_address phone_invalid:phone_number",
         "high", 0},
        {"{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\",\"meta_data\":[1,2]}",
         "", "low", 0},
        {"{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\",\"meta_data\":{\"tokenized_fields\":null}}",
         "", "low", 0},
        {"{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"dob\":\"1985-12-10\","
         "\"country\":\"GB\",\"meta_data\":{\"tokenized_fields\":[1,null,{}]}}",
         "", "low", 0},
    };
    run_identity_cases(rows, ROWS(rows));

    /* a NUL inside a value (jansson allows it when built in memory) is not processed */
    json_t *id = individual();
    json_object_set_new(id, "first_name", json_stringn("Ada\0Eve", 7));
    json_object_set_new(id, "email_address", json_stringn("ada@example.com\0x", 17));
    expect_findings(id, TODAY, "field_invalid:first_name email_invalid:email_address", "NUL", NULL);
}

static void test_arguments(void **state)
{
    (void)state;
    struct quality_result r;
    r.count = 99;
    assert_int_equal(quality_check(NULL, TODAY, &r), CAPP_EINVAL);
    assert_int_equal(r.count, 0);
    json_t *arr = parse("[1]");
    assert_int_equal(quality_check(arr, TODAY, &r), CAPP_EINVAL);
    json_decref(arr);
    json_t *id = individual();
    assert_int_equal(quality_check(id, TODAY, NULL), CAPP_EINVAL);
    json_decref(id);
    assert_string_equal(quality_risk(NULL), "low");
}

/* ---------------------------------------------------------------- risk and detail safety */

static void test_risk(void **state)
{
    (void)state;
    static const struct {
        const char *field, *value, *risk;
    } rows[] = {
        {"first_name", "Ada", "low"},
        {"email_address", "ada@example", "medium"},
        {"phone_number", "0207", "medium"},
        {"country", "XX", "medium"},
        {"nationality", "Atlantis", "medium"},
        {"dob", "", "medium"}, /* missing dob: a gap, not a bad value */
        {"dob", "2001-02-29", "high"},
        {"dob", "0001-01-01", "high"},
        {"dob", "2015-01-01", "high"},
        {"first_name", "", "high"},
        {"last_name", "FPT:Abc:QUJD", "high"},
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        json_t *id = individual();
        json_object_set_new(id, rows[i].field, json_string(rows[i].value));
        struct quality_result r;
        assert_int_equal(quality_check(id, TODAY, &r), 0);
        json_decref(id);
        if (strcmp(quality_risk(&r), rows[i].risk) != 0)
            fail_msg("%s=\"%s\": risk %s, want %s", rows[i].field, rows[i].value, quality_risk(&r),
                     rows[i].risk);
    }
    /* several medium findings stay medium */
    json_t *id = individual();
    json_object_set_new(id, "email_address", json_string("x"));
    json_object_set_new(id, "phone_number", json_string("x"));
    json_object_set_new(id, "country", json_string("x"));
    struct quality_result r;
    expect_findings(id, TODAY,
                    "country_invalid:country email_invalid:email_address "
                    "phone_invalid:phone_number",
                    "three medium", &r);
    assert_string_equal(quality_risk(&r), "medium");
}

static void test_details_never_echo_values(void **state)
{
    (void)state;
    const char *text =
        "{\"identity_type\":\"individual\",\"first_name\":\"FPT:Secretname:QUJDREVGR0g=\","
        "\"last_name\":\"Privatesurname\",\"dob\":\"FPT:1234-56-78:QUJD\","
        "\"nationality\":\"Privatenation\",\"country\":\"Privateland\","
        "\"email_address\":\"private.mailbox@@example\",\"phone_number\":\"Privatephone\","
        "\"meta_data\":{\"tokenized_fields\":{\"LastName\":true}}}";
    struct quality_result r;
    expect_findings(parse(text), TODAY,
                    "pii_tokenized:first_name pii_tokenized:last_name dob_invalid:dob "
                    "country_invalid:nationality country_invalid:country "
                    "email_invalid:email_address phone_invalid:phone_number",
                    "echo", &r);
    static const char *const secrets[] = {"Secret",  "QUJD",    "Private", "private",
                                          "mailbox", "1234-56", "FPT"};
    for (size_t i = 0; i < r.count; i++) {
        for (size_t k = 0; k < ROWS(secrets); k++)
            if (strstr(r.findings[i].detail, secrets[k]))
                fail_msg("detail echoes \"%s\": %s", secrets[k], r.findings[i].detail);
        for (const char *p = r.findings[i].detail; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                fail_msg("detail has a non-printable byte: %s", r.findings[i].detail);
    }
    assert_int_equal(r.names_tokenized, 1);
}

/* ---------------------------------------------------------------- init */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void test_init(void **state)
{
    (void)state;
    struct quality_result r;
    char dir[512], path[600];
    ts_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/iso.json", dir);

    assert_int_equal(quality_init(NULL), 0); /* already loaded: no-op */
    quality_shutdown();
    quality_shutdown(); /* idempotent */

    json_t *id = individual();
    assert_int_equal(quality_check(id, TODAY, &r), CAPP_EINVAL); /* not initialised */
    assert_int_equal(quality_country_alpha2("GB", (char[3]){0}), CAPP_ENOTFOUND);
    assert_int_equal(quality_country_valid("GB"), 0);

    assert_int_equal(quality_init("/nonexistent/iso_3166-1.json"), CAPP_EIO);
    write_file(path, "{\"3166-1\": [");
    assert_int_equal(quality_init(path), CAPP_EPARSE);
    write_file(path, "{\"3166-1\": []}");
    assert_int_equal(quality_init(path), CAPP_EPARSE);
    write_file(path, "[{\"alpha_2\":\"GB\"}]");
    assert_int_equal(quality_init(path), CAPP_EPARSE);
    write_file(path, "{\"3166-1\": [{\"alpha_2\":\"gb\",\"alpha_3\":\"GBR\"},"
                     "{\"alpha_2\":\"ZZ\",\"alpha_3\":7}]}");
    assert_int_equal(quality_init(path), CAPP_EPARSE); /* no usable entry */
    assert_int_equal(quality_check(id, TODAY, &r), CAPP_EINVAL);

    /* a custom table replaces the Debian one */
    write_file(path, "{\"3166-1\": [{\"alpha_2\":\"ZZ\",\"alpha_3\":\"ZZZ\",\"name\":\"Zedland\"},"
                     "{\"alpha_2\":\"bad\"}]}");
    assert_int_equal(quality_init(path), 0);
    assert_int_equal(quality_country_valid("zzz"), 1);
    assert_int_equal(quality_country_valid("GB"), 0);
    assert_int_equal(quality_check(id, TODAY, &r), 0);
    char got[256];
    summarize(&r, got, sizeof got);
    assert_string_equal(got, "country_invalid:nationality country_invalid:country");
    json_object_set_new(id, "country", json_string("zedland"));
    json_object_set_new(id, "nationality", json_string("ZZ"));
    assert_int_equal(quality_check(id, TODAY, &r), 0);
    assert_int_equal(r.count, 0);
    quality_shutdown();

    assert_int_equal(quality_init(NULL), 0);
    json_decref(id);
    unlink(path);
    rmdir(dir);
}

static int setup(void **state)
{
    (void)state;
    return quality_init(NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    quality_shutdown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dob_forms),
        cmocka_unit_test(test_dob_calendar),
        cmocka_unit_test(test_dob_future_and_age),
        cmocka_unit_test(test_minor_detail),
        cmocka_unit_test(test_today_argument),
        cmocka_unit_test(test_country),
        cmocka_unit_test(test_nationality),
        cmocka_unit_test(test_country_api),
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_email_lengths),
        cmocka_unit_test(test_phone),
        cmocka_unit_test(test_required_individual),
        cmocka_unit_test(test_required_organization),
        cmocka_unit_test(test_identity_type),
        cmocka_unit_test(test_identity_type_from_category_and_names),
        cmocka_unit_test(test_tokenized),
        cmocka_unit_test(test_long_values),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_risk),
        cmocka_unit_test(test_details_never_echo_values),
        cmocka_unit_test(test_init),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
