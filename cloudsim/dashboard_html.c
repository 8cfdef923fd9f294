/*
 * HTML escaping, templates and form decoding for the dashboard. See dashboard_html.h.
 * Percent-decoding is libcurl's (curl_easy_unescape); only the '+' → space rule of forms is
 * applied here.
 */
#include "cloudsim/dashboard_html.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int html_text(struct buf *b, const char *s)
{
    int rc = 0;
    for (const char *p = s ? s : ""; rc == 0 && *p; p++) {
        switch (*p) {
        case '&':
            rc = buf_append(b, "&amp;", 5);
            break;
        case '<':
            rc = buf_append(b, "&lt;", 4);
            break;
        case '>':
            rc = buf_append(b, "&gt;", 4);
            break;
        case '"':
            rc = buf_append(b, "&quot;", 6);
            break;
        case '\'':
            rc = buf_append(b, "&#39;", 5);
            break;
        default:
            rc = buf_append(b, p, 1);
        }
    }
    return rc;
}

int html_tpl(struct buf *b, const char *tpl, ...)
{
    va_list ap;
    va_start(ap, tpl);
    int rc = 0;
    const char *p = tpl;
    while (rc == 0 && *p) {
        const char *hole = strstr(p, "{}");
        if (!hole) {
            rc = buf_append_str(b, p);
            break;
        }
        rc = buf_append(b, p, (size_t)(hole - p));
        const char *arg = rc == 0 ? va_arg(ap, const char *) : NULL;
        if (rc == 0)
            rc = html_text(b, arg ? arg : "");
        p = hole + 2;
    }
    va_end(ap);
    return rc;
}

int html_raw_trusted(struct buf *b, const char *markup)
{
    return buf_append_str(b, markup);
}

int html_form_value(const char *body, size_t len, const char *name, int occurrence, char *out,
                    size_t cap)
{
    size_t name_len = strlen(name);
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *field_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(field_end - p));
        if (eq && (size_t)(eq - p) == name_len && memcmp(p, name, name_len) == 0 &&
            occurrence-- == 0) {
            size_t vlen = (size_t)(field_end - eq - 1);
            char *raw = malloc(vlen + 1);
            if (!raw)
                return -1;
            for (size_t i = 0; i < vlen; i++)
                raw[i] = eq[1 + i] == '+' ? ' ' : eq[1 + i];
            raw[vlen] = '\0';
            int decoded_len = 0;
            char *decoded = curl_easy_unescape(NULL, raw, (int)vlen, &decoded_len);
            free(raw);
            if (!decoded)
                return -1;
            int rc = -1;
            if ((size_t)decoded_len < cap && memchr(decoded, '\0', (size_t)decoded_len) == NULL) {
                memcpy(out, decoded, (size_t)decoded_len);
                out[decoded_len] = '\0';
                rc = 0;
            }
            curl_free(decoded);
            return rc;
        }
        p = field_end + 1;
    }
    return -1;
}
