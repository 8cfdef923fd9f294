#include "html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int html_text(struct buf *out, const char *text)
{
    int rc = 0;
    const char *run = text;
    for (const char *p = text; *p && rc == 0; p++) {
        const char *entity = NULL;
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
        rc = buf_append(out, run, (size_t)(p - run));
        if (rc == 0)
            rc = buf_append_str(out, entity);
        run = p + 1;
    }
    if (rc == 0)
        rc = buf_append_str(out, run);
    return rc;
}

int html_textf(struct buf *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CAPP_ENOMEM;
    int rc = html_text(out, text);
    free(text);
    return rc;
}

int html_raw_markup(struct buf *out, const char *markup)
{
    return buf_append_str(out, markup);
}
