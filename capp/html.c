/*
 * The HTML builder: escaping, templates, trusted markup. See html.h.
 */
#include "html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int html_text(struct buf *b, const char *s)
{
    int rc = buf_failed(b);
    const char *run = s ? s : "";
    for (const char *p = run; rc == 0 && *p; p++) {
        const char *entity;
        switch (*p) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&quot;";
            break;
        case '\'':
            entity = "&#39;";
            break;
        default:
            continue;
        }
        rc = buf_append(b, run, (size_t)(p - run));
        if (rc == 0)
            rc = buf_append_str(b, entity);
        run = p + 1;
    }
    return rc ? rc : buf_append_str(b, run);
}

int html_textf(struct buf *b, const char *fmt, ...)
{
    if (buf_failed(b))
        return buf_failed(b);
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return buf_fail(b, CAPP_ENOMEM);
    int rc = html_text(b, text);
    free(text);
    return rc;
}

int html_tpl(struct buf *b, const char *tpl, ...)
{
    va_list ap;
    va_start(ap, tpl);
    int rc = buf_failed(b);
    const char *p = tpl;
    while (rc == 0 && *p) {
        const char *hole = strstr(p, "{}");
        if (!hole) {
            rc = buf_append_str(b, p);
            break;
        }
        rc = buf_append(b, p, (size_t)(hole - p));
        if (rc == 0)
            rc = html_text(b, va_arg(ap, const char *));
        p = hole + 2;
    }
    va_end(ap);
    return rc;
}

int html_raw_trusted(struct buf *b, const char *markup)
{
    return buf_append_str(b, markup);
}
