/*
 * test_screen_evidence.c — the screen-2.0 evidence model, one test per rule of
 * screen_evidence_rules() (and the rule table against docs/kyc.md), then what a result keeps
 * beyond its matches: the candidates considered and discounted, the input flags of a name
 * that carried markup, and the PEP band cap.
 *
 * Scores are checked as name score + the rule's delta: the name score comes from the same
 * query without the qualifier, so the tests follow the rule, not a hard-coded total.
 */
#include <math.h>

#include "screen_test.h"

static struct screen_engine *eng;

static int setup(void **state)
{
    (void)state;
    eng = fixture_engine(NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    screen_engine_free(eng);
    return 0;
}

/* The match for `id` under a floor of 0 (every scored entry comes back). */
static int match_of(const struct screen_query *q, const char *id, struct screen_match *out)
{
    return screen_test_find(eng, q, 0, 50, id, out);
}

/* The one qualifier of kind k in m (fails when absent or repeated). */
static const struct screen_qualifier *qual(const struct screen_match *m,
                                           enum screen_qualifier_kind k)
{
    const struct screen_qualifier *hit = NULL;
    for (uint32_t i = 0; i < m->n_qualifiers; i++)
        if (m->qualifiers[i].kind == k) {
            if (hit)
                fail_msg("qualifier %s twice", screen_qualifier_name(k));
            hit = &m->qualifiers[i];
        }
    if (!hit)
        fail_msg("no qualifier %s", screen_qualifier_name(k));
    return hit;
}

static int has_qual(const struct screen_match *m, enum screen_qualifier_kind k)
{
    for (uint32_t i = 0; i < m->n_qualifiers; i++)
        if (m->qualifiers[i].kind == k)
            return 1;
    return 0;
}

static double rule_weight(enum screen_qualifier_kind k)
{
    struct screen_config cfg;
    screen_config_default(&cfg);
    size_t n;
    const struct screen_evidence_rule *r = screen_evidence_rules(&n);
    for (size_t i = 0; i < n; i++)
        if (r[i].kind == k)
            return screen_evidence_weight(&r[i], &cfg);
    fail_msg("no rule %d", (int)k);
    return 0;
}

#define ASSERT_NEAR(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-4)

/* Name score and match of `name` against `id` with the qualifier fields of `q`. */
static void check(struct screen_query q, const char *id, struct screen_match *m, float *name)
{
    struct screen_query bare = {.name = q.name, .type = q.type};
    struct screen_match m0;
    assert_true(match_of(&bare, id, &m0));
    assert_int_equal(m0.n_qualifiers, 0); /* missing data costs nothing */
    *name = m0.score;
    assert_true(match_of(&q, id, m));
    ASSERT_NEAR(m->name_score, *name);
}

/* ---------------------------------------------------------------- the rule table */

static void test_rule_table_and_docs(void **state)
{
    (void)state;
    size_t n;
    const struct screen_evidence_rule *rules = screen_evidence_rules(&n);
    assert_true(n >= 14);
    char path[512];
    snprintf(path, sizeof path, "%s/docs/kyc.md", SCREEN_SOURCE_DIR);
    size_t len;
    char *doc = read_all(path, &len);
    assert_non_null(doc);
    struct screen_config cfg;
    screen_config_default(&cfg);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(rules[i].name);
        assert_true(strlen(rules[i].condition) > 20);
        assert_string_equal(screen_qualifier_name(rules[i].kind), rules[i].name);
        /* docs/kyc.md has a row "| `name` | effect | weight |" for each rule, with the
         * default weight as the engine has it */
        char row[128], weight[32];
        snprintf(row, sizeof row, "| `%s` | %s | ", rules[i].name, rules[i].effect);
        const char *at = strstr(doc, row);
        if (!at)
            fail_msg("docs/kyc.md has no row for rule %s (%s)", rules[i].name, rules[i].effect);
        double w = screen_evidence_weight(&rules[i], &cfg);
        snprintf(weight, sizeof weight, strcmp(rules[i].effect, "add") == 0 ? "%+.2f" : "%.2f", w);
        if (strncmp(at + strlen(row), weight, strlen(weight)) != 0)
            fail_msg("docs/kyc.md: rule %s weight is not %s", rules[i].name, weight);
    }
    free(doc);
}

/* ---------------------------------------------------------------- dates of birth */

static void test_dob_match(void **state)
{
    (void)state;
    struct screen_match m;
    float name;
    struct screen_query q = {
        .name = "Aymen al Zawahri", .dob = "1951-06-19", .type = SCREEN_TYPE_INDIVIDUAL};
    check(q, "ofac:2676", &m, &name);
    assert_true(name < 0.95f);
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_DOB_MATCH)->delta, rule_weight(SCREEN_QUAL_DOB_MATCH));
    assert_true(rule_weight(SCREEN_QUAL_DOB_MATCH) > 0);
    ASSERT_NEAR(m.score, fminf(1.0f, name + (float)rule_weight(SCREEN_QUAL_DOB_MATCH)));
    /* a year or a month only is compatible, not a full match */
    q.dob = "1951-06";
    assert_true(match_of(&q, "ofac:2676", &m));
    assert_false(has_qual(&m, SCREEN_QUAL_DOB_MATCH));
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_DOB_COMPATIBLE)->delta, 0);
    ASSERT_NEAR(m.score, name);
}

static void test_dob_compatible(void **state)
{
    (void)state;
    struct screen_match m;
    float name;
    /* listed precision: a range (1961-01-01 to 1962-12-31), "1951 to 1953", circa 1960
     * (1959-1961), "circa 1979-1982" (1978-1983), a year-only query against a full date */
    static const char *const dates[] = {"1962-11-30", "1952-02-02", "1959", "1978-01-01",
                                        "1938-09-15"};
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        struct screen_query q = {
            .name = "Hans Juergen Mueller", .dob = dates[i], .type = SCREEN_TYPE_INDIVIDUAL};
        check(q, "ofac:4001", &m, &name);
        if (!has_qual(&m, SCREEN_QUAL_DOB_COMPATIBLE))
            fail_msg("%s is not compatible with the listed dates", dates[i]);
        ASSERT_NEAR(m.score, name);
    }
    struct screen_query q = {.name = "Ayman al Zawahiri", .dob = "1951"};
    check(q, "ofac:2676", &m, &name);
    assert_true(has_qual(&m, SCREEN_QUAL_DOB_COMPATIBLE));
}

static void test_dob_day_mismatch(void **state)
{
    (void)state;
    struct screen_match m;
    float name;
    struct screen_query q = {.name = "Aymen al Zawahiri", .dob = "1951-07-02"};
    check(q, "ofac:2676", &m, &name);
    float d = (float)rule_weight(SCREEN_QUAL_DOB_DAY_MISMATCH);
    assert_true(d < 0 && d > -0.2f);
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_DOB_DAY_MISMATCH)->delta, d);
    ASSERT_NEAR(m.score, name + d);
}

static void test_dob_year_mismatch_in_proportion(void **state)
{
    (void)state;
    struct screen_config cfg;
    screen_config_default(&cfg);
    struct screen_match m;
    float name;
    /* against 1951-06-19: 1, 2, 4 years off, then far enough for the cap */
    static const struct {
        const char *dob;
        int years;
    } cases[] = {{"1952-06-19", 1}, {"1949", 2}, {"1955-01-01", 4}, {"1990-01-01", 39}};
    float last = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct screen_query q = {.name = "Ayman al Zawahiri", .dob = cases[i].dob};
        check(q, "ofac:2676", &m, &name);
        double p = cfg.dob_year_penalty + cfg.dob_year_step * (cases[i].years - 1);
        if (p > cfg.dob_max_penalty)
            p = cfg.dob_max_penalty;
        float d = qual(&m, SCREEN_QUAL_DOB_YEAR_MISMATCH)->delta;
        ASSERT_NEAR(d, -p);
        ASSERT_NEAR(m.score, name - p);
        assert_true(d <= last); /* never less for a larger distance */
        last = d;
    }
    assert_true(last >= -cfg.dob_max_penalty - 1e-6);
    /* several listed dates: the nearest counts (Sep 1938 for 1940, not circa 1960) */
    struct screen_query q = {.name = "Hans Juergen Mueller", .dob = "1940-01-01"};
    check(q, "ofac:4001", &m, &name);
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_DOB_YEAR_MISMATCH)->delta,
                -(cfg.dob_year_penalty + cfg.dob_year_step));
    /* ranges count from their ends: 1964 is two years after "1961 to 1962" */
    q.dob = "1964";
    check(q, "ofac:4001", &m, &name);
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_DOB_YEAR_MISMATCH)->delta,
                -(cfg.dob_year_penalty + cfg.dob_year_step));
}

/* ---------------------------------------------------------------- countries */

static void test_nationality(void **state)
{
    (void)state;
    struct screen_match m;
    float name;
    struct screen_query q = {.name = "Olga Petrova", .nationality = "RU"};
    check(q, "ofac:4002", &m, &name);
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_NATIONALITY_MATCH)->delta, 0);
    ASSERT_NEAR(m.score, name);
    q.nationality = "France";
    check(q, "ofac:4002", &m, &name);
    float d = (float)rule_weight(SCREEN_QUAL_NATIONALITY_MISMATCH);
    assert_true(d < 0);
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_NATIONALITY_MISMATCH)->delta, d);
    ASSERT_NEAR(m.score, name + d);
    /* an entry that lists no nationality (only a place of birth, an ID country): no cost */
    struct screen_query p = {.name = "Pedro Pablo Gonzalez Ramirez", .nationality = "FR"};
    check(p, "ofac:12300", &m, &name);
    assert_false(has_qual(&m, SCREEN_QUAL_NATIONALITY_MISMATCH));
    ASSERT_NEAR(m.score, name);
}

static void test_residence(void **state)
{
    (void)state;
    struct screen_match m;
    float name;
    struct screen_query q = {.name = "Ayman al Zawahiri", .residence = "EG"};
    check(q, "ofac:2676", &m, &name);
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_RESIDENCE_MATCH)->delta, 0);
    q.residence = "PL"; /* the entry lists an address in Egypt: costs little */
    check(q, "ofac:2676", &m, &name);
    float d = (float)rule_weight(SCREEN_QUAL_RESIDENCE_MISMATCH);
    assert_true(d < 0 && d > (float)rule_weight(SCREEN_QUAL_NATIONALITY_MISMATCH));
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_RESIDENCE_MISMATCH)->delta, d);
    ASSERT_NEAR(m.score, name + d);
}

static void test_country_other_costs_nothing(void **state)
{
    (void)state;
    struct screen_match m;
    float name;
    /* OFAC 12300 lists a place of birth and a Cedula in Colombia, no nationality or address:
     * a customer living in Poland contradicts nothing */
    struct screen_query q = {.name = "Pedro Pablo Gonzalez Ramirez", .residence = "PL"};
    check(q, "ofac:12300", &m, &name);
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_COUNTRY_OTHER)->delta, 0);
    ASSERT_NEAR(m.score, name);
    struct screen_query c = {.name = "Pedro Pablo Gonzalez Ramirez", .country = "PL"};
    check(c, "ofac:12300", &m, &name);
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_COUNTRY_OTHER)->delta, 0);
    ASSERT_NEAR(m.score, name);
    c.country = "Colombia"; /* a country of unknown role matches any listed role */
    check(c, "ofac:12300", &m, &name);
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_COUNTRY_MATCH)->delta, 0);
}

static void test_country_mismatch(void **state)
{
    (void)state;
    struct screen_match m;
    float name;
    struct screen_query q = {.name = "Hans Juergen Mueller", .country = "France"};
    check(q, "ofac:4001", &m, &name);
    float d = (float)rule_weight(SCREEN_QUAL_COUNTRY_MISMATCH);
    assert_true(d < 0 && d > (float)rule_weight(SCREEN_QUAL_NATIONALITY_MISMATCH));
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_COUNTRY_MISMATCH)->delta, d);
    ASSERT_NEAR(m.score, name + d);
}

/* ---------------------------------------------------------------- the rest */

static void test_gender_mismatch(void **state)
{
    (void)state;
    struct screen_match m;
    float name;
    struct screen_query q = {.name = "Ayman al Zawahiri", .gender = SCREEN_GENDER_FEMALE};
    check(q, "ofac:2676", &m, &name);
    float d = (float)rule_weight(SCREEN_QUAL_GENDER_MISMATCH);
    assert_true(d < 0 && d >= -0.10f); /* costs little */
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_GENDER_MISMATCH)->delta, d);
    ASSERT_NEAR(m.score, name + d);
    q.gender = SCREEN_GENDER_MALE;
    check(q, "ofac:2676", &m, &name);
    assert_int_equal(m.n_qualifiers, 0);
    /* an entry without a listed gender: nothing to contradict */
    struct screen_query p = {.name = "Abu Abbas", .gender = SCREEN_GENDER_FEMALE};
    check(p, "ofac:2674", &m, &name);
    assert_int_equal(m.n_qualifiers, 0);
}

static void test_documents_and_weak_alias(void **state)
{
    (void)state;
    struct screen_match m;
    float name;
    struct screen_query q = {.name = "Someone Else", .id_number = "1084010"};
    assert_true(match_of(&q, "ofac:2676", &m));
    assert_true(m.score == 1.0f);
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_ID_EXACT)->delta, rule_weight(SCREEN_QUAL_ID_EXACT));
    struct screen_query o = {
        .name = "Ayman al Zawahiri", .id_number = "X9999999", .id_kind = SCREEN_DOC_PASSPORT};
    check(o, "ofac:2676", &m, &name);
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_ID_MISMATCH)->delta, rule_weight(SCREEN_QUAL_ID_MISMATCH));
    ASSERT_NEAR(m.score, name * rule_weight(SCREEN_QUAL_ID_MISMATCH));
    struct screen_query w = {.name = "BNC", .type = SCREEN_TYPE_ANY};
    assert_true(match_of(&w, "ofac:306", &m));
    ASSERT_NEAR(qual(&m, SCREEN_QUAL_WEAK_ALIAS)->delta, rule_weight(SCREEN_QUAL_WEAK_ALIAS));
    ASSERT_NEAR(m.score, m.name_score * rule_weight(SCREEN_QUAL_WEAK_ALIAS));
}

/* ---------------------------------------------------------------- results */

static void test_considered_when_clear(void **state)
{
    (void)state;
    /* an exact listed name, discounted below the floor by a date 39 years off */
    struct screen_query q = {.name = "Ayman al Zawahiri", .dob = "1990-01-01"};
    struct screen_result r;
    assert_int_equal(screen_query(eng, &q, NULL, &r), 0);
    assert_int_equal(r.band, SCREEN_BAND_CLEAR);
    assert_int_equal(r.n_matches, 0);
    assert_true(r.n_considered >= 1);
    const struct screen_match *c = &r.considered[0];
    assert_string_equal(c->entry->id, "ofac:2676");
    assert_true(c->name_score == 1.0f && c->score < 0.80f);
    assert_int_equal(c->band, SCREEN_BAND_CLEAR);
    assert_true(c->n_pairs == 3 && has_qual(c, SCREEN_QUAL_DOB_YEAR_MISMATCH));
    json_t *j = screen_result_to_json(&r, &q);
    json_t *c0 = json_array_get(json_object_get(j, "considered"), 0);
    assert_string_equal(json_string_value(json_object_get(c0, "entry_id")), "ofac:2676");
    assert_true(json_is_true(json_object_get(c0, "discounted")));
    assert_true(json_array_size(json_object_get(c0, "qualifiers")) == 1);
    assert_true(json_array_size(json_object_get(j, "matches")) == 0);
    json_decref(j);
    screen_result_release(&r);
    assert_null(r.considered);
}

static void test_considered_at_least_three(void **state)
{
    (void)state;
    /* nothing near the floor: the closest candidates are still reported, best first */
    struct screen_query q = {.name = "Hans Petrov Chen", .type = SCREEN_TYPE_INDIVIDUAL};
    struct screen_result r;
    assert_int_equal(screen_query(eng, &q, NULL, &r), 0);
    assert_int_equal(r.band, SCREEN_BAND_CLEAR);
    assert_true(r.n_considered >= SCREEN_MIN_CONSIDERED);
    for (uint32_t i = 0; i < r.n_considered; i++) {
        assert_true(r.considered[i].n_pairs > 0);
        assert_true(r.considered[i].score < 0.80f);
        if (i)
            assert_true(r.considered[i - 1].score >= r.considered[i].score);
    }
    screen_result_release(&r);
    /* a hit keeps its match in `considered` too */
    struct screen_query h = {.name = "Ayman al Zawahiri"};
    assert_int_equal(screen_query(eng, &h, NULL, &r), 0);
    assert_true(r.n_matches >= 1 && r.n_considered >= 1);
    assert_ptr_equal(r.considered[0].entry, r.matches[0].entry);
    screen_result_release(&r);
}

static void test_input_flags(void **state)
{
    (void)state;
    struct screen_result r;
    struct screen_query q = {.name = "<img src=x onerror=alert(1)> Ayman al Zawahiri"};
    assert_int_equal(screen_query(eng, &q, NULL, &r), 0);
    assert_int_equal(r.input_flags, SCREEN_INPUT_MARKUP);
    assert_int_equal(r.query_tokens.count, 3);
    json_t *j = screen_result_to_json(&r, &q);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "input_flags"), 0)),
                        "markup_removed");
    json_decref(j);
    screen_result_release(&r);
    q.name = "Ayman\xe2\x80\x8e al Zawahiri"; /* left-to-right mark */
    assert_int_equal(screen_query(eng, &q, NULL, &r), 0);
    assert_int_equal(r.input_flags, SCREEN_INPUT_CONTROL);
    screen_result_release(&r);
    q.name = "Ayman al-Zawahiri & Co <Ltd"; /* punctuation, not markup */
    assert_int_equal(screen_query(eng, &q, NULL, &r), 0);
    assert_int_equal(r.input_flags, 0);
    screen_result_release(&r);
}

static void test_sanitize(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
        unsigned flags;
    } cases[] = {
        {"Kim Jong Un", "Kim Jong Un", 0},
        {"<b>Kim</b> Jong Un", " Kim  Jong Un", SCREEN_INPUT_MARKUP},
        {"<script>alert('x')</script>Kim", " Kim", SCREEN_INPUT_MARKUP},
        {"<STYLE type=x>p{}</style>Kim", " Kim", SCREEN_INPUT_MARKUP},
        {"<script>never closed Kim", " ", SCREEN_INPUT_MARKUP},
        {"&lt;i&gt;Kim&lt;/i&gt;", " Kim ", SCREEN_INPUT_MARKUP},
        {"Jos&#233; &amp; Mar&#xED;a",
         "Jos\xc3\xa9 & Mar\xc3\xad"
         "a",
         SCREEN_INPUT_MARKUP},
        {"AT&T < B & C >", "AT&T < B & C >", 0},
        {"K\xe2\x80\x8bim\tJong\x01Un\xef\xbb\xbf", "Kim Jong Un", SCREEN_INPUT_CONTROL},
        {"Kim\xc2\x85Jong", "KimJong", SCREEN_INPUT_CONTROL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256];
        unsigned flags = 0;
        size_t n = screen_sanitize_name(cases[i].in, strlen(cases[i].in), out, sizeof out, &flags);
        assert_int_equal(n, strlen(out));
        if (strcmp(out, cases[i].out) != 0 || flags != cases[i].flags)
            fail_msg("case %zu: \"%s\" → \"%s\" flags %u", i, cases[i].in, out, flags);
    }
}

static void test_sources_and_topics(void **state)
{
    (void)state;
    struct screen_result r;
    const char *un[] = {"un-consolidated"}, *pep[] = {"role.pep"}, *sanction[] = {"sanction"};
    /* an OFAC entry is invisible when only the UN list is selected */
    struct screen_query q = {.name = "Ayman al Zawahiri", .sources = un, .n_sources = 1};
    assert_int_equal(screen_query(eng, &q, NULL, &r), 0);
    for (uint32_t i = 0; i < r.n_matches; i++)
        assert_string_equal(r.matches[i].entry->source, "un-consolidated");
    screen_result_release(&r);
    q.sources = NULL;
    q.n_sources = 0;
    q.topics = pep; /* OFAC and UN entries are sanctions, not PEPs */
    q.n_topics = 1;
    assert_int_equal(screen_query(eng, &q, NULL, &r), 0);
    assert_int_equal(r.n_matches, 0);
    screen_result_release(&r);
    q.topics = sanction;
    assert_int_equal(screen_query(eng, &q, NULL, &r), 0);
    assert_true(r.n_matches >= 1);
    assert_int_equal(r.matches[0].reason, SCREEN_REASON_SANCTIONS);
    screen_result_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table_and_docs),
        cmocka_unit_test(test_dob_match),
        cmocka_unit_test(test_dob_compatible),
        cmocka_unit_test(test_dob_day_mismatch),
        cmocka_unit_test(test_dob_year_mismatch_in_proportion),
        cmocka_unit_test(test_nationality),
        cmocka_unit_test(test_residence),
        cmocka_unit_test(test_country_other_costs_nothing),
        cmocka_unit_test(test_country_mismatch),
        cmocka_unit_test(test_gender_mismatch),
        cmocka_unit_test(test_documents_and_weak_alias),
        cmocka_unit_test(test_considered_when_clear),
        cmocka_unit_test(test_considered_at_least_three),
        cmocka_unit_test(test_input_flags),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_sources_and_topics),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
