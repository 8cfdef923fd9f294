/*
 * buf.h — a growable byte buffer with a hard maximum size (after curl's dynbuf).
 *
 * A buffer is created with the most it may ever hold; any append that would pass it fails with
 * CAPP_ETOOBIG and leaves the content as it was. The content is always NUL-terminated, so text
 * can be read as a C string. The buffer owns its memory; buf_free() releases it (NULL-safe).
 *
 * Errors stick (as in curl's dynbuf): once an append fails (too big, or out of memory), the
 * buffer remembers that error, and every later append fails with it and changes nothing, so a
 * document built by many appends is either whole or known to be broken — never one with a hole
 * where a middle append failed while later ones succeeded. buf_failed() tells which; only
 * buf_reset(), buf_steal() and buf_free() (which discard the content) clear it.
 *
 * Every append returns 0 or the buffer's error and is CAPP_WARN_UNUSED: the compiler makes the
 * caller look. A caller that builds a long document may chain appends without stopping at each
 * one, since a failed buffer ignores them anyway:
 *
 *     int rc = 0;
 *     rc |= buf_append_str(&b, "a");
 *     rc |= buf_printf(&b, "%d", n);
 *     if (rc) ... buf_failed(&b) is the error ...
 *
 * (the OR of two error codes is not itself a code: it only says "something failed").
 */
#ifndef CAPP_BUF_H
#define CAPP_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "err.h"

struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
    int error; /* sticky: the first failed append's error, 0 while none failed */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* Empties the buffer (storage kept) and forgets a failure. */
void buf_reset(struct buf *b);
CAPP_WARN_UNUSED int buf_append(struct buf *b, const void *data, size_t len);
CAPP_WARN_UNUSED int buf_append_str(struct buf *b, const char *s);
CAPP_WARN_UNUSED int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
CAPP_WARN_UNUSED int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Appends s percent-encoded for a URL (a query value or a path segment): the unreserved
 * characters of RFC 3986 (letters, digits, - _ . ~) as they are, every other byte as %XX. NULL
 * appends nothing. The result is not HTML-escaped. */
CAPP_WARN_UNUSED int buf_append_url_value(struct buf *b, const char *s);
/* Marks the buffer failed with err (a negative CAPP_E* code) unless it failed already; for
 * builders on top of buf (html.h) whose own step failed. Returns the buffer's error. */
int buf_fail(struct buf *b, int err);
/* 0 while every append succeeded, else the error of the first that failed. */
int buf_failed(const struct buf *b);
/* Hands the content to the caller (who frees it; NULL when out of memory) and resets the buffer.
 * Check buf_failed() first: a failed buffer's content is incomplete. */
char *buf_steal(struct buf *b);

#endif
