/* Must NOT compile: a buf append whose result is dropped (CAPP_WARN_UNUSED; registered with
 * WILL_FAIL in tests/capp/CMakeLists.txt). */
#include "capp/buf.h"

void drop_buf_append(struct buf *b);
void drop_buf_append(struct buf *b)
{
    buf_append_str(b, "x");
}
