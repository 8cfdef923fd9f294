/*
 * Strict JSON input. jansson does the parsing; this file adds what it lacks for hostile input:
 * a nesting-depth limit checked before parsing, typed field extraction, and errors that name the
 * field a client got wrong.
 */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "limits.h"

static int fail(struct json_error *err, const char *code, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct json_error *err, const char *code, int rc, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Nesting depth of the JSON text, ignoring brackets inside strings. */
static int depth_exceeds(const char *s, size_t len, int max)
{
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return 1;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 0;
}

int json_parse_object(const char *body, size_t len, json_t **out, struct json_error *err)
{
    *out = NULL;
    if (len == 0)
        return fail(err, "empty_body", CAPP_EPARSE,
                    "request body is empty; expected a JSON object");
    if (len > CAPP_MAX_BODY_BYTES)
        return fail(err, "body_too_large", CAPP_ETOOBIG, "request body exceeds %d bytes",
                    CAPP_MAX_BODY_BYTES);
    if (depth_exceeds(body, len, CAPP_MAX_JSON_DEPTH))
        return fail(err, "json_too_deep", CAPP_ETOOBIG, "JSON nesting exceeds %d levels",
                    CAPP_MAX_JSON_DEPTH);
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(err, "malformed_json", CAPP_EPARSE, "malformed JSON at line %d column %d: %s",
                    jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(err, "not_an_object", CAPP_EINVAL, "request body must be a JSON object");
    }
    *out = root;
    return 0;
}

int json_is_valid_id(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= max)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return n > 0;
}

static int digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int json_is_rfc3339_utc(const char *s)
{
    /* YYYY-MM-DDTHH:MM:SS[.frac]Z */
    size_t len = strlen(s);
    if (len < 20 || len > CAPP_MAX_TIMESTAMP_BYTES)
        return 0;
    if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
        (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return 0;
    int month = num(s + 5, 2), day = num(s + 8, 2), hour = num(s + 11, 2), minute = num(s + 14, 2),
        second = num(s + 17, 2);
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return 0;
    size_t i = 19;
    if (s[i] == '.') {
        i++;
        size_t start = i;
        while (s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return 0;
    }
    return (s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0';
}

static int read_string(const json_t *v, const struct json_field *f, struct json_error *err,
                       const char **out)
{
    if (!json_is_string(v))
        return fail(err, "invalid_field", CAPP_EINVAL, "field '%s' must be a string", f->name);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (f->max_len && len > f->max_len)
        return fail(err, "field_too_long", CAPP_ETOOBIG, "field '%s' exceeds %zu bytes", f->name,
                    f->max_len);
    if (f->kind == JSON_KIND_ID && !json_is_valid_id(s, f->max_len))
        return fail(err, "invalid_field", CAPP_EINVAL,
                    "field '%s' must be a non-empty ID of letters, digits, '_' or '-'", f->name);
    if (f->kind == JSON_KIND_TIMESTAMP && !json_is_rfc3339_utc(s))
        return fail(err, "invalid_field", CAPP_EINVAL,
                    "field '%s' must be an RFC 3339 UTC timestamp ending in 'Z'", f->name);
    *out = s;
    return 0;
}

int json_read_fields(const json_t *obj, const struct json_field *fields, size_t count,
                     struct json_error *err)
{
    for (size_t i = 0; i < count; i++) {
        const struct json_field *f = &fields[i];
        json_t *v = json_object_get(obj, f->name);
        if (f->present)
            *f->present = v != NULL && !json_is_null(v);
        if (!v || json_is_null(v)) {
            if (f->required)
                return fail(err, "missing_field", CAPP_EINVAL, "field '%s' is required", f->name);
            continue;
        }
        int rc = 0;
        switch (f->kind) {
        case JSON_KIND_STRING:
        case JSON_KIND_ID:
        case JSON_KIND_TIMESTAMP:
            rc = read_string(v, f, err, (const char **)f->out);
            break;
        case JSON_KIND_STRING_ARRAY: {
            if (!json_is_array(v))
                return fail(err, "invalid_field", CAPP_EINVAL,
                            "field '%s' must be an array of strings", f->name);
            size_t n = json_array_size(v);
            if (n > f->max_items)
                return fail(err, "field_too_long", CAPP_ETOOBIG,
                            "field '%s' has more than %zu items", f->name, f->max_items);
            const char **items = f->out;
            for (size_t j = 0; j < n; j++) {
                json_t *item = json_array_get(v, j);
                if (!json_is_string(item))
                    return fail(err, "invalid_field", CAPP_EINVAL,
                                "field '%s' item %zu must be a string", f->name, j);
                if (f->max_len && json_string_length(item) > f->max_len)
                    return fail(err, "field_too_long", CAPP_ETOOBIG,
                                "field '%s' item %zu exceeds %zu bytes", f->name, j, f->max_len);
                items[j] = json_string_value(item);
            }
            *f->out_count = n;
            break;
        }
        case JSON_KIND_INTEGER:
            if (!json_is_integer(v))
                return fail(err, "invalid_field", CAPP_EINVAL, "field '%s' must be an integer",
                            f->name);
            *(long long *)f->out = json_integer_value(v);
            break;
        case JSON_KIND_BOOLEAN:
            if (!json_is_boolean(v))
                return fail(err, "invalid_field", CAPP_EINVAL, "field '%s' must be true or false",
                            f->name);
            *(int *)f->out = json_is_true(v);
            break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

char *json_to_string_flags(const json_t *value, size_t flags)
{
    if (!(flags & JSON_REAL_PRECISION(0x1F)))
        flags |= JSON_REAL_PRECISION(JSON_OUTPUT_REAL_PRECISION);
    return json_dumps(value, flags | JSON_ENCODE_ANY);
}

char *json_to_string(const json_t *value)
{
    return json_to_string_flags(value, JSON_COMPACT);
}

/* ---- piecewise output, byte-identical to json_dumps ---- */

/* Length of the valid UTF-8 sequence at s (n > 0 bytes, s[0] >= 0x80), 0 when invalid: the
 * checks of jansson's utf8_check_first/utf8_check_full (no overlong forms, no surrogates,
 * nothing above U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned min, cp;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2, min = 0x80, cp = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3, min = 0x800, cp = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4, min = 0x10000, cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int json_append_string(struct buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), start = 0, i = 0;
    int rc = buf_append(b, "\"", 1);
    while (rc == 0 && i < n) {
        /* runs that need no escape are copied at once: most strings are all one run */
        while (i < n && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\')
            i++;
        if (i == n)
            break;
        if (p[i] >= 0x80) {
            size_t len = utf8_sequence(p + i, n - i);
            if (!len)
                return buf_fail(b, CAPP_EINVAL);
            i += len;
            continue;
        }
        unsigned char c = p[i];
        char esc[8];
        const char *short_esc = c == '"'    ? "\\\""
                                : c == '\\' ? "\\\\"
                                : c == '\b' ? "\\b"
                                : c == '\f' ? "\\f"
                                : c == '\n' ? "\\n"
                                : c == '\r' ? "\\r"
                                : c == '\t' ? "\\t"
                                            : NULL;
        if (!short_esc) {
            snprintf(esc, sizeof esc, "\\u%04X", (unsigned)c);
            short_esc = esc;
        }
        rc = buf_append(b, s + start, i - start);
        rc |= buf_append_str(b, short_esc);
        start = ++i;
    }
    if (rc == 0)
        rc = buf_append(b, s + start, n - start);
    return rc ? buf_failed(b) : buf_append(b, "\"", 1);
}

int json_append_real(struct buf *b, double x, int precision)
{
    if (!isfinite(x))
        return buf_fail(b, CAPP_EINVAL);
    if (precision <= 0)
        precision = 17;
    /* Scores and weights are rounded to 4 decimals before they are written: such a value (the
     * double nearest to k/10000, |k| < 10^6) has at most 6 significant digits, which "%.*g"
     * recovers exactly for any precision from 6 to 15 (DBL_DIG) and prints in fixed notation
     * (exponent -4..1) without trailing zeros; jansson then adds ".0" to an integral value.
     * Written here with integer arithmetic, which is what makes this path cheap. */
    double scaled = x * 10000.0;
    if (precision >= 6 && precision <= 15 && fabs(scaled) < 1e6) {
        long long k = llround(scaled);
        if ((double)k / 10000.0 == x) {
            unsigned a = (unsigned)(k < 0 ? -k : k), whole = a / 10000, frac = a % 10000;
            char text[32];
            int len = 0;
            if (signbit(x))
                text[len++] = '-';
            if (whole >= 10)
                text[len++] = (char)('0' + whole / 10);
            text[len++] = (char)('0' + whole % 10);
            text[len++] = '.';
            if (frac == 0) {
                text[len++] = '0';
            } else {
                for (unsigned div = 1000; frac; div /= 10) {
                    text[len++] = (char)('0' + frac / div);
                    frac %= div;
                }
            }
            return buf_append(b, text, (size_t)len);
        }
    }
    /* jansson's jsonp_dtostr: "%.*g", ".0" when there is neither '.' nor 'e', and no '+' nor
     * leading zeros in the exponent (the C locale's decimal point is already '.') */
    char text[64];
    int len = snprintf(text, sizeof text, "%.*g", precision, x);
    if (len < 0 || (size_t)len + 3 >= sizeof text)
        return buf_fail(b, CAPP_EINVAL);
    if (!strchr(text, '.') && !strchr(text, 'e')) {
        memcpy(text + len, ".0", 3);
        len += 2;
    }
    char *e = strchr(text, 'e');
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, (size_t)(len - (end - text)) + 1);
            len -= (int)(end - start);
        }
    }
    return buf_append(b, text, (size_t)len);
}

json_t *json_error_bodyv(const char *code, const char *fmt, va_list ap)
{
    char message[JSON_ERROR_MESSAGE_BYTES];
    vsnprintf(message, sizeof message, fmt, ap);
    return json_pack("{s:s, s:s}", "error", message, "code", code);
}

json_t *json_error_body(const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *body = json_error_bodyv(code, fmt, ap);
    va_end(ap);
    return body;
}
