/*
 * Form decoding for the dashboard. See dashboard_form.h. Percent-decoding is libcurl's
 * (curl_easy_unescape); only the '+' → space rule of forms is applied here.
 */
#include "cloudsim/dashboard_form.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

int cs_form_value(const char *body, size_t len, const char *name, int occurrence, char *out,
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
