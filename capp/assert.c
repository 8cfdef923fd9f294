/*
 * The failure path of CAPP_ASSERT (assert.h): one log line naming the place, then abort().
 */
#include "assert.h"

#include <stdio.h>
#include <stdlib.h>

#include "log.h"

void capp_assert_failed(const char *expr, const char *file, int line, const char *func)
{
    char line_text[16];
    snprintf(line_text, sizeof line_text, "%d", line);
    log_error("assert.failed", "file", file, "line", line_text, "function", func, "expr", expr,
              NULL);
    abort();
}
