/*
 * test_screen_issue12.c — the cases of issue 12 that screen-1.2 cleared and must not, against
 * the real lists in ../shared/data/sanctions (skipped when absent) and the fixtures:
 *   - a listed name with one typo and the exact listed date of birth, living elsewhere
 *     ("Romex Jose Sabagh Cajeli", 1960-06-04, PL vs OFAC 16206): at least needs_review;
 *   - a listed name padded with ordinary names ("Kim Jong Un John Smith"): at least
 *     needs_review, while a shared family name or a shared common given name stays clear;
 *   - a listed name wrapped in markup or split by an invisible character: found;
 *   - a short name with one slip in a short word ("Aam Cheema" for "CHEEMA, Azam"): found,
 *     also by name alone when the slip is itself a listed name (screen-2.1);
 *   - namesakes that share a family name and differ by more than a slip stay clear.
 * Only the query and result fields every engine version has are used, so this file also
 * builds against screen-1.2 and shows each case failing there.
 */
#include "screen_test.h"

static struct screen_engine *real, *fix;

static int setup(void **state)
{
    (void)state;
    fix = fixture_engine(NULL);
    char a[512], b[512];
    const char *paths[2] = {shared_data("ofac-2021", a, sizeof a),
                            shared_data("un-2026-02-27/consolidated.xml", b, sizeof b)};
    if (!paths[0] || !paths[1])
        return 0;
    struct screen_error err = {0};
    assert_int_equal(screen_engine_new(NULL, &real), 0);
    if (screen_engine_load(real, paths, 2, &err))
        fail_msg("real lists: %s", err.message);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    screen_engine_free(real);
    screen_engine_free(fix);
    return 0;
}

/* Score of entry `id` for the query under the default configuration (0 when not returned),
 * and the result's band. */
static float score_for(struct screen_engine *eng, const struct screen_query *q, const char *id,
                       enum screen_band *band)
{
    struct screen_result r;
    int rc = screen_query(eng, q, NULL, &r);
    if (rc)
        fail_msg("query \"%s\": %d", q->name, rc);
    float s = 0;
    for (uint32_t i = 0; i < r.n_matches; i++)
        if (strcmp(r.matches[i].entry->id, id) == 0)
            s = r.matches[i].score;
    if (band)
        *band = r.band;
    screen_result_release(&r);
    return s;
}

static void test_dob_match_living_elsewhere(void **state)
{
    (void)state;
    if (!real)
        skip();
    struct screen_query q = {.name = "Romex Jose Sabagh Cajeli",
                             .dob = "1960-06-04",
                             .country = "PL",
                             .type = SCREEN_TYPE_INDIVIDUAL};
    enum screen_band band;
    float s = score_for(real, &q, "ofac:16206", &band);
    assert_true(s >= 0.80f);
    assert_int_not_equal(band, SCREEN_BAND_CLEAR);
    /* the same without the date: the residence alone must not clear it either */
    q.dob = NULL;
    assert_true(score_for(real, &q, "ofac:16206", NULL) >= 0.80f);
}

static void test_padding(void **state)
{
    (void)state;
    if (!real)
        skip();
    struct screen_query q = {.name = "Kim Jong Un John Smith", .type = SCREEN_TYPE_ANY};
    enum screen_band band;
    assert_true(score_for(real, &q, "ofac:20157", &band) >= 0.80f);
    assert_int_not_equal(band, SCREEN_BAND_CLEAR);
    q.name = "John Smith Kim Jong Un";
    assert_true(score_for(real, &q, "ofac:20157", NULL) >= 0.80f);
    /* fixtures: a three-token listed name with two extra names, a two-token one with one */
    q.name = "Ayman al Zawahiri John Smith";
    assert_true(score_for(fix, &q, "ofac:2676", NULL) >= 0.90f);
    q.name = "Peter Wei Chen";
    assert_true(score_for(fix, &q, "ofac:5005", NULL) >= 0.80f);
}

static void test_padding_false_positives(void **state)
{
    (void)state;
    /* a shared family name with another given name, a shared given name with another family
     * name: below the review floor */
    static const char *const negatives[][2] = {
        {"Peter Mueller", "ofac:4001"}, {"Karl Heinz Mueller", "ofac:4001"},
        {"Olga Smith", "ofac:4002"},    {"Ayman Haddad", "ofac:2676"},
        {"Wei Zhang", "ofac:5005"},     {"Li Chen", "ofac:5005"},
        {"Hans Schmidt", "ofac:4001"},  {"Pedro Pablo Martinez", "ofac:12300"},
    };
    for (size_t i = 0; i < sizeof negatives / sizeof negatives[0]; i++) {
        struct screen_query q = {.name = negatives[i][0], .type = SCREEN_TYPE_INDIVIDUAL};
        float s = score_for(fix, &q, negatives[i][1], NULL);
        if (s >= 0.80f)
            fail_msg("\"%s\" scores %.3f against %s", negatives[i][0], s, negatives[i][1]);
    }
}

static void test_markup(void **state)
{
    (void)state;
    static const char *const wrapped[] = {
        "<img src=x onerror=alert(1)> Ayman al Zawahiri",
        "<b>Ayman</b> al Zawahiri",
        "&lt;script&gt;alert(document.cookie)&lt;/script&gt;Ayman al Zawahiri",
        "Ay\xe2\x80\x8bman al Zawa\xe2\x80\x8dhiri", /* zero-width space and joiner */
        "\x01"
        "Ayman al Zawahiri\x07",
    };
    for (size_t i = 0; i < sizeof wrapped / sizeof wrapped[0]; i++) {
        struct screen_query q = {.name = wrapped[i], .type = SCREEN_TYPE_ANY};
        float s = score_for(fix, &q, "ofac:2676", NULL);
        if (s < 0.99f)
            fail_msg("\"%s\" scores %.3f", wrapped[i], s);
    }
    if (!real)
        return;
    struct screen_query q = {.name = "<img src=x onerror=alert(1)> Kim Jong Un",
                             .type = SCREEN_TYPE_ANY};
    assert_true(score_for(real, &q, "ofac:20157", NULL) >= 0.99f);
}

static void test_short_names(void **state)
{
    (void)state;
    if (real) {
        struct screen_query q = {
            .name = "Aam Cheema", .dob = "1953", .country = "PK", .type = SCREEN_TYPE_ANY};
        assert_true(score_for(real, &q, "ofac:11460", NULL) >= 0.80f);
        q.dob = NULL;
        q.country = NULL;
        assert_true(score_for(real, &q, "ofac:11460", NULL) >= 0.80f);
    }
    /* a swapped pair in a three-letter word */
    struct screen_query q = {.name = "Wie Chen", .type = SCREEN_TYPE_INDIVIDUAL};
    assert_true(score_for(fix, &q, "ofac:5005", NULL) >= 0.80f);
    if (!real)
        return;
    /* screen-2.1, name only: a letter missing from a three-letter name ("ai", "km": listed
     * tokens themselves), a substitution landing on another listed name ("abi" for "Ali") */
    static const char *const slips[][2] = {
        {"Ai Ibrahim", "ofac:22149"},
        {"Abi Canko", "ofac:16529"},
        {"Km Kwang-Il", "un:KPi.009"},
        {"Liujun Ho", "ofac:29160"},
    };
    for (size_t i = 0; i < sizeof slips / sizeof slips[0]; i++) {
        q.name = slips[i][0];
        q.type = SCREEN_TYPE_ANY;
        float s = score_for(real, &q, slips[i][1], NULL);
        if (s < 0.80f)
            fail_msg("\"%s\" scores %.3f against %s", slips[i][0], s, slips[i][1]);
    }
}

/* screen-2.1 on the real lists: a shared family name with a given name two edits from the
 * listed one stays below the review floor (screen-2.0 flagged each); screen-2.2: a shared
 * given name and first family name of a listed double family name, and two near names with
 * no word exact (screen-2.1 flagged each, bench/accuracy main negatives). */
static void test_namesakes_below_floor(void **state)
{
    (void)state;
    if (!real)
        skip();
    static const char *const negatives[][2] = {
        {"Amira Hijazi", "ofac:27323"},   /* "HIJAZI, Samir": two edits */
        {"Meera Katrangi", "ofac:24746"}, /* "KATRANGI, Maher" */
        {"Asha Hasan", "ofac:21924"},     /* "HASAN, As'ad" */
        {"Omar Ehsan", "ofac:18595"},     /* "HUSSAIN, Omar" */
        /* screen-2.2: the listed family name left out (unmatched_list_edge) */
        {"Carlos Martinez", "ofac:12178"}, /* "MARTINEZ ALVAREZ, Carlos" */
        {"Fernando Torres", "ofac:18127"}, /* "TORRES GONZALEZ, Fernando" */
        {"Ricardo Garcia", "ofac:12183"},  /* "GARCIA SANCHEZ, Ricardo" */
        /* screen-2.2: two near names and no exact one (anchor_rule) */
        {"Ming Song", "ofac:19532"},     /* "SON, Min" */
        {"Salma Mansour", "ofac:22863"}, /* "MANSUR, Salim" */
        {"Ama Banda", "ofac:21765"},     /* "BANA, Hama" */
    };
    for (size_t i = 0; i < sizeof negatives / sizeof negatives[0]; i++) {
        struct screen_query q = {.name = negatives[i][0], .type = SCREEN_TYPE_ANY};
        float s = score_for(real, &q, negatives[i][1], NULL);
        if (s >= 0.80f)
            fail_msg("\"%s\" scores %.3f against %s", negatives[i][0], s, negatives[i][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dob_match_living_elsewhere),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_padding_false_positives),
        cmocka_unit_test(test_markup),
        cmocka_unit_test(test_short_names),
        cmocka_unit_test(test_namesakes_below_floor),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
