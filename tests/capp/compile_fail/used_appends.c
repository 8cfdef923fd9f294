/* Must compile: the control for unused_buf_append.c and unused_html_tpl.c — the same calls with
 * their results consumed the way pages chain them. */
#include "capp/buf.h"
#include "capp/html.h"

int use_appends(struct buf *b);
int use_appends(struct buf *b)
{
    int rc = buf_append_str(b, "x");
    rc |= html_tpl(b, "<p>{}</p>", "x", NULL);
    return rc;
}
