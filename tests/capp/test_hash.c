/*
 * test_hash.c — capp/hash.h: FNV-1a 64 gives the published reference values, continuing a hash
 * equals hashing the whole, and the short offset basis gives exactly what the seeder and the
 * pipeline's maps computed with their own copies before they used this module (values their
 * persisted data depends on; the expected numbers below were computed independently of this
 * code, with FNV's definition and each basis).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "capp/hash.h"

static void test_reference_vectors(void **state)
{
    /* FNV-1a 64 test vectors (the FNV reference's test suite) */
    assert_true(hash_fnv1a_str("") == 0xcbf29ce484222325ULL);
    assert_true(hash_fnv1a_str("a") == 0xaf63dc4c8601ec8cULL);
    assert_true(hash_fnv1a_str("foobar") == 0x85944171f73967e8ULL);
    assert_true(hash_fnv1a("foobar", 6) == 0x85944171f73967e8ULL);
    assert_true(HASH_FNV1A_OFFSET == 0xcbf29ce484222325ULL);
}

static void test_continuing_equals_hashing_the_whole(void **state)
{
    const char *whole = "instapp_0123456789abcdef";
    uint64_t h = hash_fnv1a(whole, 7);
    h = hash_fnv1a_add(h, whole + 7, strlen(whole) - 7);
    assert_true(h == hash_fnv1a_str(whole));
    assert_true(hash_fnv1a_add_str(HASH_FNV1A_OFFSET, whole) == hash_fnv1a_str(whole));
    /* bytes past a NUL count in the sized form, not in the string form */
    assert_true(hash_fnv1a("a\0b", 3) != hash_fnv1a_str("a\0b"));
}

static void test_short_basis_keeps_old_values(void **state)
{
    assert_true(HASH_FNV1A_OFFSET_SHORT == 0x14650fb0739d0383ULL);
    assert_true(hash_fnv1a_add_str(HASH_FNV1A_OFFSET_SHORT, "") == 0x14650fb0739d0383ULL);
    assert_true(hash_fnv1a_add_str(HASH_FNV1A_OFFSET_SHORT, "a") == 0x44bd8ad473cd9906ULL);
    assert_true(hash_fnv1a_add_str(HASH_FNV1A_OFFSET_SHORT, "foobar") == 0x88fad7c0a8ff07f2ULL);
    /* the seeder's per-instance seed for the instance of test_data_seed's stability check */
    assert_true(hash_fnv1a_add_str(HASH_FNV1A_OFFSET_SHORT, "inst_golden") ==
                0x66de9b130ce620cdULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_vectors),
        cmocka_unit_test(test_continuing_equals_hashing_the_whole),
        cmocka_unit_test(test_short_basis_keeps_old_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
