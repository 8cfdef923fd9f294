/* Must NOT compile: COUNTOF of a pointer (registered with WILL_FAIL in tests/capp/CMakeLists.txt).
 */
#include "capp/assert.h"

unsigned long count_of_pointer(const char *const *p);
unsigned long count_of_pointer(const char *const *p)
{
    return COUNTOF(p);
}
