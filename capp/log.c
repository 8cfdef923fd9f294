/*
 * Structured logging. The redaction list is the single place that decides which keys may never
 * carry a value into a log; see log.h.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "assert.h"
#include "clock.h"
#include "limits.h"

static atomic_int min_level = LOG_INFO;
static atomic_int out_fd = 2;

static const char *const redacted_keys[] = {
    "api_key",  "token",      "authorization", "cookie",       "session",       "secret",
    "password", "master_key", "csrf",          "launch_token", "session_token", "set-cookie",
};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    atomic_store(&min_level, level);
}

void log_set_fd(int fd)
{
    atomic_store(&out_fd, fd);
}

int log_key_is_redacted(const char *key)
{
    for (size_t i = 0; i < COUNTOF(redacted_keys); i++)
        if (strcasecmp(key, redacted_keys[i]) == 0)
            return 1;
    return 0;
}

struct line {
    char data[CAPP_LOG_LINE_MAX];
    size_t len;
};

static void put(struct line *l, const char *s, size_t n)
{
    size_t room = sizeof l->data - 1 - l->len; /* keep one byte for '\n' */
    if (n > room)
        n = room;
    memcpy(l->data + l->len, s, n);
    l->len += n;
}

static void put_value(struct line *l, const char *v)
{
    size_t n = strnlen(v, CAPP_LOG_VALUE_MAX + 1);
    int truncated = n > CAPP_LOG_VALUE_MAX;
    if (truncated)
        n = CAPP_LOG_VALUE_MAX;
    int quote = n == 0;
    for (size_t i = 0; i < n && !quote; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
            quote = 1;
    }
    if (!quote) {
        put(l, v, n);
    } else {
        put(l, "\"", 1);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)v[i];
            char esc[8];
            if (c == '"' || c == '\\') {
                esc[0] = '\\';
                esc[1] = (char)c;
                put(l, esc, 2);
            } else if (c < ' ' || c == 0x7f) {
                snprintf(esc, sizeof esc, "\\x%02x", c);
                put(l, esc, 4);
            } else {
                put(l, (const char *)&v[i], 1);
            }
        }
        put(l, "\"", 1);
    }
    if (truncated)
        put(l, "...", 3);
}

void log_event(enum log_level level, const char *event, ...)
{
    if ((int)level < atomic_load(&min_level))
        return;
    struct line l = {.len = 0};
    char now[CLOCK_RFC3339_BYTES], stamp[64];
    clock_format_rfc3339(clock_now_ms(), now, sizeof now);
    int n = snprintf(stamp, sizeof stamp, "ts=%s level=%s event=", now, level_names[level]);
    put(&l, stamp, (size_t)n);
    put_value(&l, event);

    va_list ap;
    va_start(ap, event);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        put(&l, " ", 1);
        put(&l, key, strnlen(key, 64));
        put(&l, "=", 1);
        if (log_key_is_redacted(key))
            put(&l, "[redacted]", 10);
        else
            put_value(&l, value ? value : "-");
    }
    va_end(ap);
    l.data[l.len++] = '\n';
    ssize_t w = write(atomic_load(&out_fd), l.data, l.len);
    (void)w;
}
