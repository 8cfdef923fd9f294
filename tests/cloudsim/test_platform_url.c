/* Unit tests of platform_url.c: absolute-URL rules and CSP frame-ancestors matching. */
#include <string.h>

#include "cloudsim/platform_url.h"
#include "cs_testkit.h"

static void test_url_parse(void **state)
{
    struct cs_url u;
    assert_int_equal(cs_url_parse("https://App.Example.com/portal?token=x#f", &u), 0);
    assert_string_equal(u.origin, "https://app.example.com");
    assert_string_equal(u.without_query, "https://app.example.com/portal");
    assert_true(cs_url_secure_enough(&u));
    assert_int_equal(cs_url_parse("http://127.0.0.1:8080/p", &u), 0);
    assert_string_equal(u.origin, "http://127.0.0.1:8080");
    assert_true(u.loopback && cs_url_secure_enough(&u));
    assert_int_equal(cs_url_parse("http://app.example.com/", &u), 0);
    assert_false(cs_url_secure_enough(&u));
    assert_int_equal(cs_url_parse("http://[::1]:9/x", &u), 0);
    assert_string_equal(u.origin, "http://[::1]:9");
    assert_true(u.loopback);
    assert_int_not_equal(cs_url_parse("/portal?token=x", &u), 0);
    assert_int_not_equal(cs_url_parse("ftp://example.com/", &u), 0);
    assert_int_not_equal(cs_url_parse("javascript:alert(1)", &u), 0);
    assert_int_not_equal(cs_url_parse("https://exa mple.com/", &u), 0);
    assert_int_not_equal(cs_url_parse("", &u), 0);
}

static int allows(const char *csp, const char *page, const char *ancestor)
{
    struct cs_url p, a;
    assert_int_equal(cs_url_parse(page, &p), 0);
    assert_int_equal(cs_url_parse(ancestor, &a), 0);
    return cs_frame_ancestors_allow(csp, &p, &a);
}

static void test_frame_ancestors(void **state)
{
    const char *page = "https://app.example.com/portal";
    const char *spec = "frame-ancestors 'self' https://blnkfinance.com https://*.blnkfinance.com";
    assert_true(allows(spec, page, "https://blnkfinance.com"));
    assert_true(allows(spec, page, "https://cloud.blnkfinance.com"));
    assert_false(allows(spec, page, "https://evilblnkfinance.com"));
    assert_false(allows(spec, page, "http://127.0.0.1:8800"));
    assert_true(allows(spec, page, "https://app.example.com")); /* 'self' */
    assert_true(allows("frame-ancestors http://127.0.0.1:*", page, "http://127.0.0.1:8800"));
    assert_true(allows("frame-ancestors http://127.0.0.1:8800", page, "http://127.0.0.1:8800"));
    assert_false(allows("frame-ancestors http://127.0.0.1:8801", page, "http://127.0.0.1:8800"));
    assert_true(allows("frame-ancestors *", page, "http://127.0.0.1:8800"));
    assert_true(allows("frame-ancestors http:", page, "http://127.0.0.1:8800"));
    assert_false(allows("frame-ancestors https:", page, "http://127.0.0.1:8800"));
    assert_false(allows("frame-ancestors 'none'", page, "https://blnkfinance.com"));
    assert_false(allows("default-src 'self'", page, "https://blnkfinance.com")); /* absent */
    assert_false(allows("", page, "https://blnkfinance.com"));
    assert_true(allows("script-src 'none'; frame-ancestors https://blnkfinance.com; img-src *",
                       page, "https://blnkfinance.com"));
    /* two policies: both must allow */
    assert_false(
        allows("frame-ancestors *, frame-ancestors 'self'", page, "https://blnkfinance.com"));
    assert_true(allows("frame-ancestors *, img-src *", page, "https://blnkfinance.com"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_frame_ancestors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
