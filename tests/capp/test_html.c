/*
 * test_html.c — capp's HTML builder: every hole and text write escapes & < > " ' (in text and
 * in quoted attributes alike), the template's own markup and html_raw_trusted go out as
 * written, the limit applies to the escaped size, and a failure sticks: after one failed write
 * every later one fails and the buffer keeps only what was written before it.
 */
#include <stdio.h>
#include <string.h>

#include "testsupport.h"

#include "capp/assert.h"
#include "capp/buf.h"
#include "capp/err.h"
#include "capp/html.h"

static const char *const specials[][2] = {
    {"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}, {"'", "&#39;"},
};

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

static void test_text_escapes_each_special(void **state)
{
    for (size_t i = 0; i < COUNTOF(specials); i++)
        expect_text(specials[i][0], specials[i][1]);
}

static void test_text_escapes_in_context(void **state)
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
    expect_text("", "");
    expect_text(NULL, "");
}

/* Each special character in a text hole and in an attribute hole: escaped in both, and the
 * template's own quotes and brackets are left as written. */
static void test_tpl_escapes_each_special_in_text_and_attribute(void **state)
{
    for (size_t i = 0; i < COUNTOF(specials); i++) {
        char value[16], expected[128];
        snprintf(value, sizeof value, "a%sb", specials[i][0]);
        snprintf(expected, sizeof expected, "<td title=\"a%sb\">a%sb</td>", specials[i][1],
                 specials[i][1]);
        struct buf b;
        buf_init(&b, 256);
        assert_int_equal(html_tpl(&b, "<td title=\"{}\">{}</td>", value, value, NULL), 0);
        assert_string_equal(b.data, expected);
        buf_free(&b);
    }
}

static void test_tpl_breakout_attempts_stay_inside(void **state)
{
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(html_tpl(&b, "<input value=\"{}\"><a title='{}'>{}</a>",
                              "\"><script>alert(1)</script>", "' onmouseover='x", "</a><b>", NULL),
                     0);
    assert_string_equal(b.data, "<input value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\">"
                                "<a title='&#39; onmouseover=&#39;x'>&lt;/a&gt;&lt;b&gt;</a>");
    buf_free(&b);
}

static void test_tpl_holes_in_order_null_as_empty(void **state)
{
    struct buf b;
    buf_init(&b, 256);
    assert_int_equal(html_tpl(&b, "{}-{}-{}", "1", NULL, "3", NULL), 0);
    assert_string_equal(b.data, "1--3");
    buf_reset(&b);
    assert_int_equal(html_tpl(&b, "no holes <b>&nbsp;</b>", NULL), 0);
    assert_string_equal(b.data, "no holes <b>&nbsp;</b>");
    buf_reset(&b);
    assert_int_equal(html_tpl(&b, "{}", "", NULL), 0);
    assert_string_equal(b.data, "");
    buf_reset(&b);
    /* a brace alone is template text */
    assert_int_equal(html_tpl(&b, "{x} { } {}", "<", NULL), 0);
    assert_string_equal(b.data, "{x} { } &lt;");
    buf_free(&b);
}

static void test_appends_to_existing(void **state)
{
    struct buf b;
    buf_init(&b, 256);
    assert_int_equal(html_raw_trusted(&b, "<td>"), 0);
    assert_int_equal(html_text(&b, "a<b"), 0);
    assert_int_equal(html_raw_trusted(&b, "</td>"), 0);
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

static void test_raw_trusted_not_escaped(void **state)
{
    struct buf b;
    buf_init(&b, 256);
    assert_int_equal(html_raw_trusted(&b, "<p class=\"a\">&nbsp;'</p>"), 0);
    assert_string_equal(b.data, "<p class=\"a\">&nbsp;'</p>");
    buf_free(&b);
}

static void test_limit_counts_escaped_size(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    /* three bytes of input, twelve of output */
    assert_int_equal(html_text(&b, "<<<"), CAPP_ETOOBIG);
    assert_true(b.len <= 10);
    buf_reset(&b);
    assert_int_equal(html_text(&b, "<<"), 0); /* 8 bytes */
    assert_string_equal(b.data, "&lt;&lt;");
    assert_int_equal(html_text(&b, "&"), CAPP_ETOOBIG);
    buf_free(&b);
}

/* The first failure sticks: later writes of every kind fail with it, even ones that would fit,
 * and the content stays what it was before the failure (the page cannot get a hole). */
static void test_failure_sticks(void **state)
{
    struct buf b;
    buf_init(&b, 16);
    assert_int_equal(html_raw_trusted(&b, "<p>"), 0);
    assert_int_equal(html_text(&b, "this does not fit"), CAPP_ETOOBIG);
    assert_int_equal(buf_failed(&b), CAPP_ETOOBIG);
    assert_int_equal(html_raw_trusted(&b, "</p>"), CAPP_ETOOBIG);
    assert_int_equal(html_text(&b, "x"), CAPP_ETOOBIG);
    assert_int_equal(html_textf(&b, "%d", 1), CAPP_ETOOBIG);
    assert_int_equal(html_tpl(&b, "{}", "y", NULL), CAPP_ETOOBIG);
    assert_int_equal(html_tpl(&b, "", NULL), CAPP_ETOOBIG);
    /* what fitted before the failure may be partly there, but nothing after it */
    assert_null(strstr(b.data, "</p>"));
    assert_null(strstr(b.data, "x"));
    assert_null(strstr(b.data, "1"));
    assert_null(strstr(b.data, "y"));
    assert_int_equal(strncmp(b.data, "<p>", 3), 0);
    /* the chained form a page uses: one check at the end */
    buf_reset(&b);
    assert_int_equal(buf_failed(&b), 0);
    int rc = html_raw_trusted(&b, "<b>");
    rc |= html_tpl(&b, "{}", "0123456789abcdef", NULL);
    rc |= html_raw_trusted(&b, "</b>");
    assert_int_not_equal(rc, 0);
    assert_int_equal(buf_failed(&b), CAPP_ETOOBIG);
    assert_null(strstr(b.data, "</b>"));
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_escapes_each_special),
        cmocka_unit_test(test_text_escapes_in_context),
        cmocka_unit_test(test_plain_text_unchanged),
        cmocka_unit_test(test_tpl_escapes_each_special_in_text_and_attribute),
        cmocka_unit_test(test_tpl_breakout_attempts_stay_inside),
        cmocka_unit_test(test_tpl_holes_in_order_null_as_empty),
        cmocka_unit_test(test_appends_to_existing),
        cmocka_unit_test(test_textf_escapes_arguments),
        cmocka_unit_test(test_raw_trusted_not_escaped),
        cmocka_unit_test(test_limit_counts_escaped_size),
        cmocka_unit_test(test_failure_sticks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
