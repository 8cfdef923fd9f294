/*
 * test_html.c — every text write escapes & < > " ' (html_text and html_textf alike), only
 * html_raw_markup writes markup as is, and the buffer's limit applies to the escaped size.
 */
#include <string.h>

#include "testsupport.h"

#include "capp/buf.h"
#include "capp/err.h"
#include "capp/html.h"

static void expect_text(const char *in, const char *out)
{
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(html_text(&b, in), 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, out);
    assert_int_equal(b.len, strlen(out));
    buf_free(&b);
}

static void test_escapes_each_special(void **state)
{
    expect_text("&", "&amp;");
    expect_text("<", "&lt;");
    expect_text(">", "&gt;");
    expect_text("\"", "&quot;");
    expect_text("'", "&#39;");
}

static void test_escapes_in_context(void **state)
{
    expect_text("<a href=\"x\" onclick='y'>Tom & Jerry</a>",
                "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;");
    expect_text("<<&&>>", "&lt;&lt;&amp;&amp;&gt;&gt;");
    expect_text("</script><script>alert(1)</script>",
                "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
    /* entities in the input are text, so they are escaped again */
    expect_text("&amp;", "&amp;amp;");
}

static void test_plain_text_unchanged(void **state)
{
    expect_text("plain text 123", "plain text 123");
    expect_text("Zoë Ñandú — ok", "Zoë Ñandú — ok");
    struct buf b;
    buf_init(&b, 16);
    assert_int_equal(html_text(&b, ""), 0);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_appends_to_existing(void **state)
{
    struct buf b;
    buf_init(&b, 256);
    assert_int_equal(html_raw_markup(&b, "<td>"), 0);
    assert_int_equal(html_text(&b, "a<b"), 0);
    assert_int_equal(html_raw_markup(&b, "</td>"), 0);
    assert_string_equal(b.data, "<td>a&lt;b</td>");
    buf_free(&b);
}

static void test_textf_escapes_arguments(void **state)
{
    struct buf b;
    buf_init(&b, 256);
    assert_int_equal(html_textf(&b, "name=%s count=%d", "<img src=x onerror='a'>", 3), 0);
    assert_string_equal(b.data, "name=&lt;img src=x onerror=&#39;a&#39;&gt; count=3");
    buf_reset(&b);
    /* the format's own literal text is escaped as well */
    assert_int_equal(html_textf(&b, "<b>%s & \"%d\"</b>", "x", 1), 0);
    assert_string_equal(b.data, "&lt;b&gt;x &amp; &quot;1&quot;&lt;/b&gt;");
    buf_free(&b);
}

static void test_raw_markup_not_escaped(void **state)
{
    struct buf b;
    buf_init(&b, 256);
    assert_int_equal(html_raw_markup(&b, "<p class=\"a\">&nbsp;</p>"), 0);
    assert_string_equal(b.data, "<p class=\"a\">&nbsp;</p>");
    buf_free(&b);
}

static void test_limit_counts_escaped_size(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    /* three bytes of input, twelve of output */
    assert_int_not_equal(html_text(&b, "<<<"), 0);
    assert_true(b.len <= 10);
    buf_reset(&b);
    assert_int_equal(html_text(&b, "<<"), 0); /* 8 bytes */
    assert_string_equal(b.data, "&lt;&lt;");
    assert_int_equal(html_text(&b, "&"), CAPP_ETOOBIG);
    assert_int_equal(html_textf(&b, "%s", "'"), CAPP_ETOOBIG);
    assert_int_equal(html_text(&b, "ab"), 0);
    assert_string_equal(b.data, "&lt;&lt;ab");
    assert_int_equal(html_raw_markup(&b, "x"), CAPP_ETOOBIG);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_each_special),
        cmocka_unit_test(test_escapes_in_context),
        cmocka_unit_test(test_plain_text_unchanged),
        cmocka_unit_test(test_appends_to_existing),
        cmocka_unit_test(test_textf_escapes_arguments),
        cmocka_unit_test(test_raw_markup_not_escaped),
        cmocka_unit_test(test_limit_counts_escaped_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
