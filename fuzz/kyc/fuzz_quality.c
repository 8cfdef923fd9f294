/*
 * fuzz_quality — the data-quality rules (kyc/quality.c) on hostile identities.
 *
 * An input that parses as a JSON object is checked as an identity. Any other input that is
 * valid UTF-8 becomes the value of every field the rules read, so the date, email, phone,
 * country and token parsers see the raw mutated bytes directly. The ISO table is loaded on
 * the first call (quality_init must run once; libFuzzer has no init hook we rely on).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kyc/quality.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fields[] = {
    "identity_type", "first_name",  "last_name", "other_names",   "organization_name",
    "dob",           "nationality", "country",   "email_address", "phone_number"};

static void check(const json_t *identity)
{
    struct quality_result r;
    if (quality_check(identity, "2026-03-01", &r) == 0) {
        const char *risk = quality_risk(&r);
        if (r.count > QUALITY_MAX_FINDINGS || !risk)
            abort();
        for (size_t i = 0; i < r.count; i++)
            if (!r.findings[i].reason || !memchr(r.findings[i].detail, '\0', 160))
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (quality_init(NULL) != 0)
            abort();
        ready = 1;
    }
    json_error_t err;
    json_t *doc = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &err);
    if (json_is_object(doc)) {
        check(doc);
        json_t *org = json_deep_copy(doc);
        if (org && json_object_set_new(org, "identity_type", json_string("organization")) == 0)
            check(org);
        json_decref(org);
        json_decref(doc);
        return 0;
    }
    json_decref(doc);

    json_t *value = json_stringn((const char *)data, size);
    if (!value)
        return 0; /* not UTF-8 */
    char alpha2[3];
    (void)quality_country_alpha2(json_string_value(value), alpha2);
    (void)quality_country_valid(json_string_value(value));
    json_t *identity = json_object();
    for (size_t i = 1; identity && i < sizeof fields / sizeof fields[0]; i++)
        json_object_set(identity, fields[i], value);
    if (identity)
        check(identity);
    json_t *meta = json_pack("{s:{s:b}}", "tokenized_fields", "FirstName", 1);
    if (identity && meta && json_object_set_new(identity, "meta_data", meta) == 0) {
        meta = NULL;
        check(identity);
    }
    json_decref(meta);
    json_decref(identity);
    json_decref(value);
    return 0;
}
