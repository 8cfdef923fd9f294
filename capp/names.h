/*
 * names.h — an enum's names as a table indexed by its values, looked up both ways.
 *
 * An enum that is stored or sent as text keeps one table, `static const char *const names[] =
 * {[VALUE] = "text", …}`, so a value and its name cannot drift apart in two switch statements.
 * Pass the table with COUNTOF (capp/assert.h), never a literal count. A hole in the table (a
 * value with no name) is NULL and never matches.
 */
#ifndef CAPP_NAMES_H
#define CAPP_NAMES_H

#include <stddef.h>

/* The name of value, or NULL when value is outside the table or has no name. */
const char *names_name(const char *const *names, size_t count, unsigned value);
/* The value whose name is s (exact, case-sensitive) into *value; CAPP_EINVAL for NULL or any
 * other text (*value unchanged). */
int names_parse(const char *const *names, size_t count, const char *s, unsigned *value);

#endif
