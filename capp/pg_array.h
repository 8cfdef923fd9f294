/*
 * pg_array.h — PostgreSQL array literals ("{"a","b",NULL}") built in memory, so that one
 * statement can carry a whole batch as a few array parameters (`unnest(?1::text[], …)`)
 * instead of one statement per row. The SQL layer binds text; the server's text → array cast
 * parses the literal. Used on PostgreSQL only, by the launch minter (capp/store_pg.c) and by
 * apps' stores that write in batches; SQLite statements cost no round trip and keep their
 * one-row form. In capp because capp cannot include an app's headers.
 *
 * Every element is double-quoted with '"' and '\' backslash-escaped, so any text (JSON, newlines,
 * commas, braces) round-trips; NULL is the unquoted NULL. Errors stick (capp/buf.h): the caller
 * checks once, at pg_array_text.
 */
#ifndef CAPP_PG_ARRAY_H
#define CAPP_PG_ARRAY_H

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "err.h"

/* Arrays bound per statement are capped far above a committer batch's size. */
#define PG_ARRAY_MAX_BYTES ((size_t)256 * 1024 * 1024)

struct pg_array {
    struct buf b;
    size_t n;
    int failed; /* an append failed (the buffer's error sticks too) */
};

static inline void pg_array_init(struct pg_array *a)
{
    buf_init(&a->b, PG_ARRAY_MAX_BYTES);
    a->n = 0;
    a->failed = 0;
    a->failed |= buf_append_str(&a->b, "{") != 0;
}

static inline void pg_array_free(struct pg_array *a)
{
    buf_free(&a->b);
}

static inline void pg_array_sep(struct pg_array *a)
{
    if (a->n++)
        a->failed |= buf_append(&a->b, ",", 1) != 0;
}

/* Appends a text element (NULL: SQL NULL). */
static inline void pg_array_add_text(struct pg_array *a, const char *s)
{
    pg_array_sep(a);
    if (!s) {
        a->failed |= buf_append_str(&a->b, "NULL") != 0;
        return;
    }
    a->failed |= buf_append(&a->b, "\"", 1) != 0;
    for (const char *run = s;;) {
        size_t plain = strcspn(run, "\"\\");
        a->failed |= buf_append(&a->b, run, plain) != 0;
        if (!run[plain])
            break;
        char esc[2] = {'\\', run[plain]};
        a->failed |= buf_append(&a->b, esc, 2) != 0;
        run += plain + 1;
    }
    a->failed |= buf_append(&a->b, "\"", 1) != 0;
}

static inline void pg_array_add_int(struct pg_array *a, int64_t v)
{
    pg_array_sep(a);
    a->failed |= buf_printf(&a->b, "%" PRId64, v) != 0;
}

/* %.17g: the double comes back bit for bit */
static inline void pg_array_add_double(struct pg_array *a, double v)
{
    pg_array_sep(a);
    a->failed |= buf_printf(&a->b, "%.17g", v) != 0;
}

/* The literal, closed ("{…}"); NULL when an append failed (out of memory or too big). Valid
 * until the array is freed. */
static inline const char *pg_array_text(struct pg_array *a)
{
    if (a->failed || buf_append(&a->b, "}", 1) != 0)
        return NULL;
    return a->b.data;
}

#endif
