/*
 * test_portal_assets.c — the portal's script and stylesheet are real files (kyc/portal/),
 * embedded at build time by cmake/embed.cmake: the bytes in the binary are the file's bytes,
 * every one, NUL-terminated, with the length the generator recorded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kyc/portal_internal.h"
#include "testsupport.h"

extern const unsigned long kyc_portal_js_len;
extern const unsigned long kyc_portal_css_len;

static void assert_embedded(const char *relative, const char *bytes, unsigned long len)
{
    const char *src = getenv("KYC_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", src, relative);
    size_t file_len = 0;
    char *file = ts_read_file(path, &file_len);
    assert_non_null(file);
    assert_true(file_len > 1000); /* the real asset, not an empty placeholder */
    assert_int_equal(len, file_len);
    assert_memory_equal(bytes, file, file_len);
    assert_int_equal(bytes[len], '\0');
    assert_int_equal(strlen(bytes), len); /* no NUL inside: served as a C string */
    free(file);
}

static void test_script_is_the_file(void **state)
{
    (void)state;
    assert_embedded("kyc/portal/app.js", kyc_portal_js, kyc_portal_js_len);
}

static void test_stylesheet_is_the_file(void **state)
{
    (void)state;
    assert_embedded("kyc/portal/app.css", kyc_portal_css, kyc_portal_css_len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_script_is_the_file),
        cmocka_unit_test(test_stylesheet_is_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
