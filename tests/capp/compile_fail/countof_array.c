/* Must compile: the control for countof_pointer.c (same flags, an array). */
#include "capp/assert.h"

unsigned long count_of_array(void);
unsigned long count_of_array(void)
{
    static const char *const words[] = {"a", "b"};
    return COUNTOF(words);
}
