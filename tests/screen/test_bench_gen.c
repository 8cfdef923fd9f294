/*
 * test_bench_gen.c — the evaluation set's generators (bench/screen/bench_gen.h) and the
 * "also a positive" check of bench/accuracy (bench/accuracy/also_positive.h): what they make
 * decides what bench_accuracy reports, so they are tested like code that ships.
 *
 * - person-name perturbations (swapped order, dropped or added middle name, initial) and the
 *   "LAST, First" flattening apply to individuals only: "TROLL PROPERTIES, INC." was queried
 *   "INC. PROPERTIES" before screen-2.3;
 * - a negative is "also a positive" exactly when a generator makes that name from the entry:
 *   each generator recognised, and near misses (the first letter changed, two perturbations at
 *   once, a family name appended as padding, an organisation's "middle name") refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bench/accuracy/also_positive.h"

static void test_personal_perturbations(void **state)
{
    (void)state;
    char out[256];
    for (int k = 0; k < GEN_PERTURBATIONS; k++) {
        int personal = gen_perturbation_personal((enum gen_perturbation)k);
        assert_int_equal(personal, k == GEN_SWAP || k == GEN_DROP_MIDDLE || k == GEN_ADD_MIDDLE ||
                                       k == GEN_INITIAL);
        /* an organisation: never a personal perturbation */
        if (personal) {
            assert_int_equal(
                gen_perturb("TROLL PROPERTIES, INC.", 0, (enum gen_perturbation)k, out, sizeof out),
                0);
            assert_int_equal(gen_perturb("KOREA TAESONG TRADING COMPANY", 0,
                                         (enum gen_perturbation)k, out, sizeof out),
                             0);
        }
    }
    /* an organisation's comma is not a name order; a person's is */
    assert_int_equal(gen_perturb("TROLL PROPERTIES, INC.", 0, GEN_EXACT, out, sizeof out), 1);
    assert_string_equal(out, "TROLL PROPERTIES INC.");
    assert_int_equal(gen_perturb("SABAGH CAJELI, Romez Jose", 1, GEN_EXACT, out, sizeof out), 1);
    assert_string_equal(out, "Romez Jose SABAGH CAJELI");
    assert_int_equal(gen_perturb("SABAGH CAJELI, Romez Jose", 1, GEN_SWAP, out, sizeof out), 1);
    assert_string_equal(out, "CAJELI Jose SABAGH Romez");
    /* a dropped middle name of a person is one of the middle words */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(gen_perturb("FLORES GOMEZ, Felipe", 1, GEN_DROP_MIDDLE, out, sizeof out),
                         1);
        assert_string_equal(out, "Felipe GOMEZ");
    }
}

static void test_also_positive(void **state)
{
    (void)state;
    struct screen_entry flores = {
        .id = "t:1", .type = SCREEN_TYPE_INDIVIDUAL, .name = "FLORES GOMEZ, Felipe"};
    struct screen_entry rahman = {
        .id = "t:2", .type = SCREEN_TYPE_INDIVIDUAL, .name = "RAHMAN, Oman"};
    struct screen_entry ivanov = {
        .id = "t:3", .type = SCREEN_TYPE_INDIVIDUAL, .name = "IVANOV, Sergei"};
    struct screen_entry wei = {.id = "t:4", .type = SCREEN_TYPE_INDIVIDUAL, .name = "WEI, Zhang"};
    struct screen_entry khalil = {
        .id = "t:8", .type = SCREEN_TYPE_INDIVIDUAL, .name = "KHALIL, Iyad"};
    struct screen_entry ali = {.id = "t:5", .type = SCREEN_TYPE_INDIVIDUAL, .name = "ALI, Samir"};
    struct screen_entry troll = {
        .id = "t:6", .type = SCREEN_TYPE_ORGANIZATION, .name = "TROLL PROPERTIES, INC."};
    static const struct screen_alias aliases[] = {{"HADDAD, Rami", SCREEN_NAME_ALIAS},
                                                  {"KHOURY, Nabil", SCREEN_NAME_ALIAS_WEAK}};
    struct screen_entry aka = {.id = "t:7",
                               .type = SCREEN_TYPE_INDIVIDUAL,
                               .name = "NASSER, Omar",
                               .aliases = aliases,
                               .n_aliases = 2};
    const struct {
        const char *query;
        const struct screen_entry *e;
        const char *how; /* NULL: no generator makes it */
    } cases[] = {
        {"Felipe Gomez", &flores, gen_perturbation_names[GEN_DROP_MIDDLE]},
        {"Felipe Flores", &flores, NULL}, /* the family name dropped, not a middle one */
        {"Felipe Flores Gomez", &flores, gen_perturbation_names[GEN_EXACT]},
        {"Omar Rahman", &rahman,
         gen_perturbation_names[GEN_TYPO]}, /* "Oman" with its last letter substituted */
        {"Amar Rahman", &rahman, NULL},     /* typos keep the first letter */
        {"Om Rahman", &rahman, NULL},       /* two letters missing */
        {"Rahman Oman", &rahman, gen_perturbation_names[GEN_SWAP]},
        {"Yuri Sergei Ivanov", &ivanov, "padded"},
        {"Sergei Ivanov John Smith", &ivanov, "padded"},
        {"Sergei Ivanov Lin", &ivanov, NULL},        /* a family name alone is no pad */
        {"Sergei Ivanov John Zhang", &ivanov, NULL}, /* first and last of two cultures */
        {"Sergei Maria Ivanov", &ivanov, gen_perturbation_names[GEN_ADD_MIDDLE]},
        {"Zheng Wei", &wei, gen_perturbation_names[GEN_TYPO]}, /* "zhang", a letter substituted */
        {"Iyad Halil", &khalil,
         gen_perturbation_names[GEN_TRANSLIT]}, /* kh → h, at the first letter */
        {"Wei Zheng", &wei, NULL},              /* and swapped: two perturbations */
        {"Samir Aly", &ali, "short_edit"},
        {"Samir Al", &ali, "short_edit"},
        {"TROLL PROPERTIES INC.", &troll, gen_perturbation_names[GEN_EXACT]},
        {"INC. PROPERTIES", &troll, NULL}, /* no middle name in a company's name */
        {"Rami Hadad", &aka, gen_perturbation_names[GEN_TYPO]}, /* from a strong alias */
        {"Nabil Khoury", &aka, NULL}, /* a weak alias is never a positive's name */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *how = also_positive(cases[i].query, cases[i].e);
        if (!cases[i].how) {
            if (how)
                fail_msg("\"%s\" is not made from %s, said %s", cases[i].query, cases[i].e->name,
                         how);
        } else {
            if (!how || strcmp(how, cases[i].how) != 0)
                fail_msg("\"%s\" from %s: expected %s, got %s", cases[i].query, cases[i].e->name,
                         cases[i].how, how ? how : "(none)");
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_personal_perturbations),
        cmocka_unit_test(test_also_positive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
