/*
 * test_country.c — capp/country.h against Debian's iso-codes table (installed by
 * scripts/bootstrap): codes, ISO names in their several forms, the list spellings ISO does
 * not use, what must not resolve, squashing limits, and a first use from several threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "capp/country.h"

static void expect(const char *in, const char *code)
{
    char out[3] = "??";
    int ok = country_code(in, out);
    if (!code) {
        if (ok || out[0])
            fail_msg("'%s' resolved to '%s', expected nothing", in ? in : "(null)", out);
        return;
    }
    if (!ok || strcmp(out, code) != 0)
        fail_msg("'%s' resolved to '%s' (%d), expected '%s'", in, out, ok, code);
}

static void test_codes_and_names(void **state)
{
    (void)state;
    if (access(COUNTRY_ISO_JSON, R_OK) != 0)
        skip(); /* iso-codes is a bootstrap dependency; without it only aliases resolve */
    expect("IR", "IR");
    expect("irn", "IR");
    expect("Iran", "IR");
    expect("Iran, Islamic Republic of", "IR");
    expect("IRAN (ISLAMIC REPUBLIC OF)", "IR");
    expect("  germany ", "DE");
    expect("Federal Republic of Germany", "DE");
    expect("Côte d'Ivoire", "CI"); /* ISO's own spelling, accents dropped alike */
    expect("Korea, Republic of", "KR");
    expect("Korea, Democratic People's Republic of", "KP");
    expect("Congo, The Democratic Republic of the", "CD");
    expect("Congo", "CG");
    expect("United Kingdom", "GB");
    expect("Viet Nam", "VN");
}

static void test_list_spellings(void **state)
{
    (void)state;
    expect("Burma", "MM");
    expect("Korea, North", "KP");
    expect("korea south", "KR");
    expect("Russia", "RU");
    expect("Ivory Coast", "CI");
    expect("Cote d'Ivoire", "CI");
    expect("Congo, Democratic Republic of the", "CD");
    expect("West Bank", "PS");
    expect("UK", "GB");
    expect("Kosovo", "XK");
}

static void test_not_countries(void **state)
{
    (void)state;
    expect(NULL, NULL);
    expect("", NULL);
    expect(" ,.- ", NULL);
    expect("Narnia", NULL);
    expect("XX", NULL);
    expect("Iran Iran", NULL);
    char long_name[400];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    expect(long_name, NULL);
    /* a name that only begins like one is not it */
    expect("Iranian Oil Company of the Islamic Republic of Iran and its subsidiaries and "
           "affiliates worldwide",
           NULL);
}

static void test_squash(void **state)
{
    (void)state;
    char out[32];
    /* ASCII separators become one space; non-ASCII bytes are dropped ("ô" is two of them) */
    assert_int_equal(country_squash("  Côte  d'IVOIRE ", out, sizeof out), 12);
    assert_string_equal(out, "cte d ivoire");
    assert_int_equal(country_squash("a-b", out, 4), 3); /* "a b" and its NUL fill 4 bytes */
    assert_string_equal(out, "a b");
    assert_int_equal(country_squash("a-b", out, 3), 1); /* no room for " b": stops at "a" */
    assert_string_equal(out, "a");
    assert_int_equal(country_squash(NULL, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(country_squash("abc", out, 0), 0);
}

static void *resolve_many(void *arg)
{
    long *bad = arg;
    for (int i = 0; i < 2000; i++) {
        char out[3];
        if (!country_code("Burma", out) || strcmp(out, "MM") != 0)
            (*bad)++;
    }
    return NULL;
}

static void test_first_use_from_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    long bad[4] = {0};
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, resolve_many, &bad[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(bad[i], 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first: the table's one load happens under four threads at once */
        cmocka_unit_test(test_first_use_from_threads),
        cmocka_unit_test(test_codes_and_names),
        cmocka_unit_test(test_list_spellings),
        cmocka_unit_test(test_not_countries),
        cmocka_unit_test(test_squash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
