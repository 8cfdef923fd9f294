/*
 * json.h — strict JSON input on jansson, GNU Taler style: a body is parsed into a typed struct
 * field by field, and the first bad field gives a precise error naming it.
 *
 *   const char *id; const char *perms[CAPP_MAX_PERMISSIONS]; size_t nperms;
 *   struct json_field fields[] = {
 *       JSON_ID("installed_app_id", &id, 1),
 *       JSON_STRING_ARRAY("granted_permissions", perms, &nperms, CAPP_MAX_PERMISSIONS, 64, 1),
 *   };
 *   rc = json_read_fields(obj, fields, COUNTOF(fields), &err);       (capp/assert.h)
 *
 * Strings written to out-parameters are borrowed from the json_t and live as long as it does.
 * Unknown fields are ignored; duplicate keys, NUL characters, nesting deeper than
 * CAPP_MAX_JSON_DEPTH, non-object bodies and trailing garbage are refused.
 */
#ifndef CAPP_JSON_H
#define CAPP_JSON_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

#include "err.h"

struct json_error {
    const char *code; /* machine code for {"code": ...} */
    char message[256];
};

enum json_field_kind {
    JSON_KIND_STRING,       /* any string up to max_len bytes (0 = unlimited) */
    JSON_KIND_ID,           /* opaque ID: [A-Za-z0-9_-], 1..max_len bytes (spec D6) */
    JSON_KIND_STRING_ARRAY, /* array of strings, at most max_items of at most max_len bytes */
    JSON_KIND_TIMESTAMP,    /* RFC 3339 UTC string ending in 'Z' */
    JSON_KIND_INTEGER,
    JSON_KIND_BOOLEAN,
};

struct json_field {
    const char *name;
    enum json_field_kind kind;
    int required;
    size_t max_len;
    size_t max_items;
    void *out;         /* const char **, const char *[], long long *, int * */
    size_t *out_count; /* items written, for arrays */
    int *present;      /* optional: set to 1 when the field was present */
};

#define JSON_STRING(n, o, maxlen, req)                             \
    {                                                              \
        (n), JSON_KIND_STRING, (req), (maxlen), 0, (o), NULL, NULL \
    }
#define JSON_ID(n, o, req)                                              \
    {                                                                   \
        (n), JSON_KIND_ID, (req), CAPP_MAX_ID_BYTES, 0, (o), NULL, NULL \
    }
#define JSON_STRING_ARRAY(n, o, cnt, maxitems, maxlen, req)                        \
    {                                                                              \
        (n), JSON_KIND_STRING_ARRAY, (req), (maxlen), (maxitems), (o), (cnt), NULL \
    }
#define JSON_TIMESTAMP(n, o, req)                                                     \
    {                                                                                 \
        (n), JSON_KIND_TIMESTAMP, (req), CAPP_MAX_TIMESTAMP_BYTES, 0, (o), NULL, NULL \
    }
#define JSON_INTEGER(n, o, req)                              \
    {                                                        \
        (n), JSON_KIND_INTEGER, (req), 0, 0, (o), NULL, NULL \
    }
#define JSON_BOOLEAN(n, o, req)                              \
    {                                                        \
        (n), JSON_KIND_BOOLEAN, (req), 0, 0, (o), NULL, NULL \
    }

/* Parses a request body that must be one JSON object. On error fills err and returns
 * CAPP_EPARSE (malformed), CAPP_ETOOBIG (too deep or long) or CAPP_EINVAL (not an object). */
int json_parse_object(const char *body, size_t len, json_t **out, struct json_error *err);
int json_read_fields(const json_t *obj, const struct json_field *fields, size_t count,
                     struct json_error *err);
/* 1 when s is a valid opaque ID of at most max bytes. */
int json_is_valid_id(const char *s, size_t max);
/* 1 when s is an RFC 3339 timestamp in UTC with a 'Z' suffix (fractional seconds allowed). */
int json_is_rfc3339_utc(const char *s);
/*
 * Output: the one way a json_t becomes text (HTTP bodies, CLI output, stored documents).
 * Reals get JSON_OUTPUT_REAL_PRECISION significant digits instead of jansson's default 17, so
 * a number anybody typed prints as typed (0.8, never 0.80000000000000004): 15 digits (DBL_DIG)
 * round-trip every decimal of up to 15 digits. Text whose bytes are hashed and compared with
 * hashes computed earlier (audit_input_hash, the pipeline's identity fingerprints) keeps its own
 * fixed format and does not go through here.
 */
#define JSON_OUTPUT_REAL_PRECISION 15
/* Compact serialisation; caller frees with free(). NULL on failure. */
char *json_to_string(const json_t *value);
/* The same with jansson flags (JSON_COMPACT, JSON_SORT_KEYS, JSON_INDENT(n)); a
 * JSON_REAL_PRECISION(n) among them replaces the default precision. Caller frees. */
char *json_to_string_flags(const json_t *value, size_t flags);

/*
 * Piecewise output for hot paths that write a document without building a json_t first (the
 * pipeline's per-identity detail): each appends to b the bytes jansson's json_dumps writes for
 * the same value (no JSON_ENSURE_ASCII, no JSON_ESCAPE_SLASH), so text written either way is
 * byte-identical, and stored documents compared or hashed across versions do not change.
 * Both fail (the buffer's sticky error) where jansson would refuse the value.
 */
struct buf;
/* s as a JSON string: '"' and '\\' escaped, control characters as \b \f \n \r \t or \u00XX,
 * everything else as it is. CAPP_EINVAL for invalid UTF-8 (json_string refuses it). */
CAPP_WARN_UNUSED int json_append_string(struct buf *b, const char *s);
/* x as a real under JSON_REAL_PRECISION(precision) (0: jansson's 17). CAPP_EINVAL for NaN and
 * infinities (json_real refuses them). */
CAPP_WARN_UNUSED int json_append_real(struct buf *b, double x, int precision);

/* The project's error body {"error": message, "code": code} (every HTTP error of capp, of the apps
 * on it and of cloudsim's own answers), the message formatted and cut at JSON_ERROR_MESSAGE_BYTES -
 * 1 bytes. NULL only when out of memory. Caller owns the result. */
#define JSON_ERROR_MESSAGE_BYTES 512
json_t *json_error_body(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
json_t *json_error_bodyv(const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
