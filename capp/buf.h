/*
 * buf.h — a growable byte buffer with a hard maximum size (after curl's dynbuf).
 *
 * A buffer is created with the most it may ever hold; any append that would pass it fails with
 * CAPP_ETOOBIG and leaves the buffer as it was. The content is always NUL-terminated, so text
 * can be read as a C string. The buffer owns its memory; buf_free() releases it (NULL-safe).
 */
#ifndef CAPP_BUF_H
#define CAPP_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hands the content to the caller (who frees it) and resets the buffer. */
char *buf_steal(struct buf *b);

#endif
