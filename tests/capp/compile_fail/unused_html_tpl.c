/* Must NOT compile: an HTML write whose result is dropped, even behind a (void) cast, which GCC
 * does not take as looking at it (CAPP_WARN_UNUSED; registered with WILL_FAIL). */
#include "capp/html.h"

void drop_html_tpl(struct buf *b);
void drop_html_tpl(struct buf *b)
{
    (void)html_tpl(b, "<p>{}</p>", "x", NULL);
}
