/*
 * test_pipeline_detail.c — the stored detail of a checked identity is byte for byte what the
 * jansson rendering of the engine's result gives.
 *
 * pipeline_check_identity writes the detail (matches, findings, considered candidates, each
 * with alignment and qualifiers) and the audit record's considered candidates straight from
 * the screening result, for speed (issue 12). Stored details are compared and shown across
 * versions, so the text must not change: for a set of identities (hit, discounted, PEP,
 * markup and control characters, an organisation whose listed name has quotes and a
 * backslash, detokenized, bad data, no name) it must equal json_dumps(JSON_COMPACT |
 * JSON_REAL_PRECISION(6)) of the tree built from screen_result_to_json() as the detail was
 * built before, and the audit's considered candidates must equal the ones derived from that
 * tree. The same comparison runs on the shipped OFAC and UN lists when ../shared has them.
 * The audit record's input_sha256, also written directly, is compared with audit_input_hash()
 * of the normalised screened fields as an object (trimmed strings, the date cut at 10 bytes,
 * other JSON values as they are, tokenized_fields). A candidate whose list strings are not
 * valid UTF-8 (a list file in another encoding) is left out of the detail, as the jansson
 * rendering left it out, and the identity is still checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "capp/err.h"
#include "kyc/audit.h"
#include "kyc/pipeline_internal.h"
#include "kyc/quality.h"
#include "kyc/screen/screen.h"
#include "testsupport.h"

/* the pipeline keeps the best five matches (pipeline_screen.c TOP_MATCHES) */
#define KEPT_MATCHES 5

static const char sdn[] =
    "2676,\"AL ZAWAHIRI, Dr. Ayman\",\"individual\",\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"
    "\"DOB 19 Jun 1951; POB Giza, Egypt; nationality Egypt; Gender Male.\"\r\n"
    "2677,\"AL ZAWAHIRI, Muhammad\",\"individual\",\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"
    "\"DOB 1953; nationality Egypt.\"\r\n"
    "9001,\"SUNRISE \"\"GOLDEN\"\" \\ TRADING LLC\",-0- ,\"IRAN\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"
    "-0- ,-0- \r\n";
static const char alt[] = "2676,101,\"aka\",\"ZAWAHRI, Aiman\",-0- \r\n"
                          "9001,102,\"aka\",\"SUNRISE GOLD TRADING\",-0- \r\n";
static const char add[] = "9001,201,-0- ,\"Tehran\",\"Iran\",-0- \r\n";
static const char pep[] =
    "{\"DATA_SOURCE\":\"OS_US_CONGRESS\",\"RECORD_ID\":\"NK-test1\",\"RECORD_TYPE\":\"PERSON\","
    "\"NAMES\":[{\"NAME_TYPE\":\"PRIMARY\",\"NAME_FULL\":\"Jennifer L. McClellan\"}],"
    "\"RISKS\":[{\"TOPIC\":\"role.pep\"}],\"DATES\":[{\"DATE_OF_BIRTH\":\"1972\"}],"
    "\"COUNTRIES\":[{\"NATIONALITY\":\"us\"}]}\n";

static struct screen_engine *engine;

static int setup(void **state)
{
    (void)state;
    if (quality_init(NULL) != 0)
        return -1;
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err;
    if (screen_list_set_load_ofac_buffers(set, sdn, strlen(sdn), alt, strlen(alt), add, strlen(add),
                                          NULL, 0, &err) ||
        screen_list_set_load_senzing_buffer(set, pep, strlen(pep), "pep.json", &err)) {
        fprintf(stderr, "load: %s\n", err.message);
        screen_list_set_free(set);
        return -1;
    }
    struct screen_index *idx = NULL;
    if (screen_index_build(set, &idx) || screen_engine_new(NULL, &engine) ||
        screen_engine_swap(engine, idx))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    screen_engine_free(engine);
    engine = NULL;
    quality_shutdown();
    return 0;
}

/* One identity and the query the pipeline screens for it (its fields, in their roles). */
struct sample {
    const char *identity;
    struct screen_query query; /* .name NULL: the check screens nothing */
    int detokenized;           /* checked as the plain copy of a tokenized identity */
};

static void scrub_query_tokens(json_t *matches)
{
    size_t i, k;
    json_t *m, *pair;
    json_array_foreach(matches, i, m)
    {
        json_array_foreach(json_object_get(m, "alignment"), k, pair)
            json_object_set_new(pair, "query", json_null());
    }
}

/* The detail as the tree built from screen_result_to_json, dumped; and the audit's considered
 * candidates derived from that tree. findings and screening come from the detail under test
 * (their rules are not what this compares). */
static char *reference_detail(struct screen_engine *eng, const struct sample *s,
                              const json_t *actual, json_t **audit_considered)
{
    json_t *matches = json_array(), *considered = json_array();
    *audit_considered = json_array();
    struct screen_result r;
    if (s->query.name && screen_query(eng, &s->query, NULL, &r) == 0) {
        json_t *full = screen_result_to_json(&r, NULL);
        assert_non_null(full);
        json_t *all = json_object_get(full, "matches");
        for (size_t i = 0; i < json_array_size(all) && i < KEPT_MATCHES; i++)
            json_array_append(matches, json_array_get(all, i));
        size_t i;
        json_t *cm;
        json_array_foreach(json_object_get(full, "considered"), i, cm)
        {
            json_array_append(considered, cm);
            json_t *quals = json_array();
            size_t k;
            json_t *qv;
            json_array_foreach(json_object_get(cm, "qualifiers"), k, qv) json_array_append_new(
                quals, json_pack("{s:O, s:O}", "rule", json_object_get(qv, "rule"), "delta",
                                 json_object_get(qv, "delta")));
            json_array_append_new(
                *audit_considered,
                json_pack("{s:O, s:O, s:O, s:O, s:O, s:o, s:b}", "entry_id",
                          json_object_get(cm, "entry_id"), "source", json_object_get(cm, "source"),
                          "name_score", json_object_get(cm, "name_score"), "score",
                          json_object_get(cm, "score"), "band", json_object_get(cm, "band"),
                          "qualifiers", quals, "discounted",
                          json_is_true(json_object_get(cm, "discounted"))));
        }
        json_decref(full);
        screen_result_release(&r);
    }
    if (s->detokenized) {
        scrub_query_tokens(matches);
        scrub_query_tokens(considered);
    }
    json_t *detail = json_pack("{s:O, s:o, s:O, s:o}", "screening",
                               json_object_get(actual, "screening"), "matches", matches, "findings",
                               json_object_get(actual, "findings"), "considered", considered);
    assert_non_null(detail);
    if (s->detokenized)
        json_object_set_new(detail, "detokenized", json_true());
    char *text = json_dumps(detail, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(detail);
    return text;
}

/* Checks s and compares its detail and audit with the reference; returns the detail's number
 * of considered candidates. */
static size_t expect_detail_as_reference(struct screen_engine *eng, const struct sample *s)
{
    json_t *identity = json_loads(s->identity, 0, NULL);
    assert_non_null(identity);
    struct pipeline_checked c;
    memset(&c, 0, sizeof c);
    assert_int_equal(pipeline_identity_hash(identity, c.identity_id, c.fields_hash), 0);
    assert_int_equal(pipeline_check_identity(eng, identity, s->detokenized ? identity : NULL,
                                             "2026-01-15", NULL, NULL, &c),
                     0);
    json_t *actual = json_loads(c.detail_json, 0, NULL);
    if (!actual)
        fail_msg("%s: the detail is not JSON: %s", c.identity_id, c.detail_json);
    json_t *want_audit = NULL;
    char *want = reference_detail(eng, s, actual, &want_audit);
    assert_non_null(want);
    if (strcmp(c.detail_json, want) != 0)
        fail_msg("%s: detail differs\n got: %s\nwant: %s", c.identity_id, c.detail_json, want);
    if (!json_equal(json_object_get(c.audit, "considered"), want_audit)) {
        char *got = json_dumps(json_object_get(c.audit, "considered"), JSON_COMPACT);
        char *exp = json_dumps(want_audit, JSON_COMPACT);
        fail_msg("%s: audit considered differs\n got: %s\nwant: %s", c.identity_id, got, exp);
    }
    size_t n = json_array_size(json_object_get(actual, "considered"));
    free(want);
    json_decref(want_audit);
    json_decref(actual);
    json_decref(identity);
    pipeline_checked_clear(&c);
    return n;
}

static void test_detail_is_the_result_json(void **state)
{
    (void)state;
    const struct sample samples[] = {
        {"{\"identity_id\":\"idt_hit\",\"identity_type\":\"individual\",\"first_name\":\"Ayman\","
         "\"last_name\":\"Al Zawahiri\",\"dob\":\"1951-06-19\",\"nationality\":\"EG\","
         "\"country\":\"DE\",\"gender\":\"male\"}",
         {.name = "Ayman Al Zawahiri",
          .dob = "1951-06-19",
          .nationality = "EG",
          .residence = "DE",
          .gender = SCREEN_GENDER_MALE,
          .type = SCREEN_TYPE_INDIVIDUAL},
         0},
        {"{\"identity_id\":\"idt_disc\",\"identity_type\":\"individual\",\"first_name\":\"Aiman\","
         "\"last_name\":\"Zawahri\",\"dob\":\"1990-03-03\",\"nationality\":\"NO\","
         "\"country\":\"NO\",\"gender\":\"female\"}",
         {.name = "Aiman Zawahri",
          .dob = "1990-03-03",
          .nationality = "NO",
          .residence = "NO",
          .gender = SCREEN_GENDER_FEMALE,
          .type = SCREEN_TYPE_INDIVIDUAL},
         0},
        {"{\"identity_id\":\"idt_pep\",\"identity_type\":\"individual\",\"first_name\":"
         "\"Jennifer\","
         "\"last_name\":\"McClellan\",\"dob\":\"1972-05-05\",\"nationality\":\"US\","
         "\"country\":\"US\",\"gender\":\"female\"}",
         {.name = "Jennifer McClellan",
          .dob = "1972-05-05",
          .nationality = "US",
          .residence = "US",
          .gender = SCREEN_GENDER_FEMALE,
          .type = SCREEN_TYPE_INDIVIDUAL},
         0},
        {"{\"identity_id\":\"idt_markup\",\"identity_type\":\"individual\",\"first_name\":"
         "\"<b>Muhammad</b>\\u0007\",\"last_name\":\"Al \\\"Zawahiri\\\"\",\"email_address\":"
         "\"not-an-email\",\"dob\":\"2015-01-01\"}",
         {.name = "<b>Muhammad</b>\a Al \"Zawahiri\"",
          .dob = "2015-01-01",
          .type = SCREEN_TYPE_INDIVIDUAL},
         0},
        {"{\"identity_id\":\"idt_org\",\"identity_type\":\"organization\",\"organization_name\":"
         "\"Sunrise Golden Trading\",\"country\":\"IR\"}",
         {.name = "Sunrise Golden Trading", .country = "IR", .type = SCREEN_TYPE_ORGANIZATION},
         0},
        {"{\"identity_id\":\"idt_detok\",\"identity_type\":\"individual\",\"first_name\":"
         "\"Ayman\",\"last_name\":\"Al Zawahiri\",\"dob\":\"1951-06-19\",\"nationality\":\"EG\"}",
         {.name = "Ayman Al Zawahiri",
          .dob = "1951-06-19",
          .nationality = "EG",
          .type = SCREEN_TYPE_INDIVIDUAL},
         1},
        {"{\"identity_id\":\"idt_clear\",\"identity_type\":\"individual\",\"first_name\":\"Maria\","
         "\"last_name\":\"Lopez\",\"dob\":\"1980-01-01\",\"nationality\":\"ES\"}",
         {.name = "Maria Lopez",
          .dob = "1980-01-01",
          .nationality = "ES",
          .type = SCREEN_TYPE_INDIVIDUAL},
         0},
        {"{\"identity_id\":\"idt_noname\",\"identity_type\":\"individual\",\"dob\":\"0001-01-01\","
         "\"phone_number\":\"12\"}",
         {.name = NULL},
         0},
    };
    size_t considered = 0;
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
        considered += expect_detail_as_reference(engine, &samples[i]);
    assert_true(considered >= 10); /* the comparison covered candidates, not empty arrays */
}

/* The screened fields as the object audit_input_hash() takes: the change hash's fields, string
 * values trimmed (the date of birth cut at 10 bytes), other values as they are, and
 * meta_data.tokenized_fields. */
static json_t *screened_input(const json_t *identity)
{
    static const char *const fields[] = {
        "identity_type",     "first_name",    "last_name",    "other_names",
        "organization_name", "gender",        "dob",          "nationality",
        "country",           "email_address", "phone_number", "category",
    };
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const json_t *v = json_object_get(identity, fields[i]);
        if (json_is_string(v)) {
            const char *s = json_string_value(v);
            while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
                s++;
            size_t n = strlen(s);
            while (n &&
                   (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
                n--;
            if (strcmp(fields[i], "dob") == 0 && n > 10)
                n = 10;
            json_object_set_new(o, fields[i], json_stringn(s, n)); /* NULL: left out */
        } else if (v && !json_is_null(v)) {
            json_object_set_new(o, fields[i], json_deep_copy(v));
        }
    }
    const json_t *tokenized =
        json_object_get(json_object_get(identity, "meta_data"), "tokenized_fields");
    if (tokenized)
        json_object_set_new(o, "tokenized_fields", json_deep_copy(tokenized));
    return o;
}

static void test_audit_input_hash(void **state)
{
    (void)state;
    static const char *const identities[] = {
        "{\"identity_id\":\"idt_1\",\"identity_type\":\"individual\",\"first_name\":\"  Ayman \","
        "\"last_name\":\"Al Zawahiri\\t\",\"dob\":\"1951-06-19T00:00:00Z\",\"nationality\":\"EG\","
        "\"country\":\"DE\",\"gender\":\"male\",\"email_address\":\"a@b.example\","
        "\"phone_number\":\"+4930123456\",\"category\":\"customer\",\"street\":\"not hashed\"}",
        /* other JSON values, null, an object with keys to sort, tokenized fields */
        "{\"identity_id\":\"idt_2\",\"identity_type\":\"organization\",\"organization_name\":"
        "\"Sunrise \\\"Golden\\\" \\\\ Trading\",\"country\":null,\"nationality\":7,"
        "\"category\":{\"z\":1.5,\"a\":[true,null,\"x\"]},\"meta_data\":{\"tokenized_fields\":"
        "[\"first_name\",\"last_name\"]}}",
        /* a date whose 10-byte cut splits a UTF-8 sequence, control characters, non-ASCII */
        "{\"identity_id\":\"idt_3\",\"first_name\":\"Zoë\\u0001\",\"last_name\":\"金正恩\","
        "\"dob\":\"1990-01-0\\u00e9x\",\"other_names\":\"\",\"gender\":\"  \"}",
        "{\"identity_id\":\"idt_4\"}",
    };
    for (size_t i = 0; i < sizeof identities / sizeof identities[0]; i++) {
        json_t *identity = json_loads(identities[i], 0, NULL);
        assert_non_null(identity);
        struct pipeline_checked c;
        memset(&c, 0, sizeof c);
        assert_int_equal(pipeline_identity_hash(identity, c.identity_id, c.fields_hash), 0);
        assert_int_equal(
            pipeline_check_identity(engine, identity, NULL, "2026-01-15", NULL, NULL, &c), 0);
        json_t *input = screened_input(identity);
        char want[AUDIT_HASH_HEX_BYTES];
        assert_int_equal(audit_input_hash(input, want), 0);
        const char *got = json_string_value(json_object_get(c.audit, "input_sha256"));
        assert_non_null(got);
        if (strcmp(got, want) != 0) {
            char *text = json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS);
            fail_msg("%s: input_sha256 %s, audit_input_hash of %s is %s", c.identity_id, got, text,
                     want);
        }
        json_decref(input);
        json_decref(identity);
        pipeline_checked_clear(&c);
    }
}

/* An OFAC file in Latin-1: entry 7001's primary name is not UTF-8, its alias is ASCII. */
static void test_invalid_utf8_candidate_left_out(void **state)
{
    (void)state;
    static const char latin1_sdn[] =
        "7001,\"M\xc9NDEZ, Jos\xe9\",\"individual\",\"SDNT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"
        "\"DOB 04 Jun 1960.\"\r\n"
        "7002,\"MENDES, Josef\",\"individual\",\"SDNT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"
        "\"DOB 1961.\"\r\n";
    static const char latin1_alt[] = "7001,301,\"aka\",\"MENDEZ, Jose\",-0- \r\n";
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err;
    assert_int_equal(screen_list_set_load_ofac_buffers(set, latin1_sdn, strlen(latin1_sdn),
                                                       latin1_alt, strlen(latin1_alt), "", 0, NULL,
                                                       0, &err),
                     0);
    struct screen_index *idx = NULL;
    struct screen_engine *eng = NULL;
    assert_int_equal(screen_index_build(set, &idx), 0);
    assert_int_equal(screen_engine_new(NULL, &eng), 0);
    assert_int_equal(screen_engine_swap(eng, idx), 0);
    /* the engine finds the entry by its alias */
    struct screen_query q = {
        .name = "Jose Mendez", .dob = "1960-06-04", .type = SCREEN_TYPE_INDIVIDUAL};
    struct screen_result r;
    assert_int_equal(screen_query(eng, &q, NULL, &r), 0);
    int found = 0;
    for (uint32_t i = 0; i < r.n_considered; i++)
        found |= strcmp(r.considered[i].entry->id, "ofac:7001") == 0;
    screen_result_release(&r);
    assert_true(found);
    const struct sample s = {
        "{\"identity_id\":\"idt_latin1\",\"identity_type\":\"individual\",\"first_name\":"
        "\"Jose\",\"last_name\":\"Mendez\",\"dob\":\"1960-06-04\"}",
        q, 0};
    expect_detail_as_reference(eng, &s); /* checked (rc 0), and as jansson rendered it */
    screen_engine_free(eng);
}

/* path of a file under the shared data folder, NULL when it is not there */
static const char *shared_path(const char *rel, char *buf, size_t cap)
{
    const char *dir = getenv("KYC_SHARED_DIR");
    struct stat st;
    snprintf(buf, cap, "%s/%s", dir ? dir : "", rel);
    if (!dir || stat(buf, &st) != 0) {
        printf("SKIP: shared list data %s not present\n", buf);
        return NULL;
    }
    return buf;
}

/* The same on the shipped lists, with list names of many scripts and shapes. */
static void test_detail_on_shipped_lists(void **state)
{
    (void)state;
    char ofac[1024], un[1024];
    if (!shared_path("data/sanctions/ofac-2021", ofac, sizeof ofac) ||
        !shared_path("data/sanctions/un-2026-02-27/consolidated.xml", un, sizeof un))
        skip();
    struct screen_engine *eng = NULL;
    const char *paths[] = {ofac, un};
    struct screen_error err = {0};
    assert_int_equal(screen_engine_new(NULL, &eng), 0);
    if (screen_engine_load(eng, paths, 2, &err) != 0)
        fail_msg("%s", err.message);
    static const char *const names[] = {
        "Kim Jong Un",       "Kim Jong Un John Smith", "Romex Jose Sabagh Cajeli",
        "Aam Cheema",        "Osama bin Laden",        "Banco Nacional de Cuba",
        "Aerocaribbean",     "Hassan Nasrallah",       "Mohammed Omar",
        "Viktor Bout",       "Ali Khamenei",           "Joaquin Guzman Loera",
        "Ahmad Shah Massoud"};
    size_t considered = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char identity[512];
        snprintf(identity, sizeof identity,
                 "{\"identity_id\":\"idt_%zu\",\"identity_type\":\"individual\","
                 "\"first_name\":\"%s\",\"dob\":\"1960-06-04\",\"nationality\":\"PL\","
                 "\"country\":\"PL\"}",
                 i, names[i]);
        struct sample s = {identity,
                           {.name = names[i],
                            .dob = "1960-06-04",
                            .nationality = "PL",
                            .residence = "PL",
                            .type = SCREEN_TYPE_INDIVIDUAL},
                           (int)(i % 4 == 3)};
        considered += expect_detail_as_reference(eng, &s);
    }
    assert_true(considered >= 2 * sizeof names / sizeof names[0]);
    screen_engine_free(eng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detail_is_the_result_json),
        cmocka_unit_test(test_detail_on_shipped_lists),
        cmocka_unit_test(test_audit_input_hash),
        cmocka_unit_test(test_invalid_utf8_candidate_left_out),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
