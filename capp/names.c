/*
 * names.c — enum ↔ name tables (see names.h). A linear scan: the tables hold a handful of names.
 */
#include "names.h"

#include <string.h>

#include "err.h"

const char *names_name(const char *const *names, size_t count, unsigned value)
{
    return value < count ? names[value] : NULL;
}

int names_parse(const char *const *names, size_t count, const char *s, unsigned *value)
{
    for (size_t i = 0; s && i < count; i++) {
        if (names[i] && strcmp(s, names[i]) == 0) {
            *value = (unsigned)i;
            return 0;
        }
    }
    return CAPP_EINVAL;
}
