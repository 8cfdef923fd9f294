/*
 * screen_sanitize.c — what is not a name is removed before screening: markup and invisible
 * characters.
 *
 * A customer record can carry markup ("<img src=x onerror=…> Kim Jong Un", "<b>Kim</b>"),
 * HTML entities, control characters or invisible format characters (zero-width spaces, bidi
 * overrides, soft hyphens), by accident or to evade: normalised as words, a tag's attributes
 * become a handful of unpaired tokens that push a listed name below the floor, and a
 * zero-width space splits "Kim" into "Ki" "m". The name is screened without them, and the
 * result says what was removed (SCREEN_INPUT_*) so the caller can report a data-quality
 * finding. Only well-formed constructs count as markup: an entity is "&name;" or "&#digits;" /
 * "&#xhex;" and is decoded first ("&lt;b&gt;" is a tag, "&#233;" the letter é; other named
 * entities become a space); a tag is "<" followed by a letter, "/", "!" or "?", up to the next
 * ">", and becomes a space (it separates words); a <script> or <style> element goes with its
 * content. A lone "<" or "&" stays (normalisation treats
 * it as punctuation). Invisible characters vanish (they sit inside words).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "kyc/screen/screen_internal.h"

/* Decodes an entity at p ("&amp;", "&lt;", "&#233;", "&#xE9;") into out (UTF-8, ≤ 4 bytes);
 * returns the entity's length (0: not an entity) and the decoded length in *n_out. Named
 * entities other than the markup characters decode to a space. */
static size_t entity(const char *p, const char *end, char *out, size_t *n_out)
{
    const char *q = p + 1;
    unsigned long cp = ' ';
    if (q < end && *q == '#') {
        q++;
        int hex = q < end && (*q == 'x' || *q == 'X');
        q += hex;
        const char *digits = q;
        cp = 0;
        while (q < end && q - digits < 7 &&
               (hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q))) {
            int v = isdigit((unsigned char)*q) ? *q - '0' : (tolower((unsigned char)*q) - 'a' + 10);
            cp = cp * (hex ? 16u : 10u) + (unsigned long)v;
            q++;
        }
        if (q == digits)
            return 0;
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            cp = ' ';
    } else {
        static const struct {
            const char *name;
            char c;
        } named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
        const char *letters = q;
        while (q < end && q - letters < 10 && isalnum((unsigned char)*q))
            q++;
        size_t n = (size_t)(q - letters);
        if (n < 2)
            return 0;
        for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
            if (strlen(named[i].name) == n && memcmp(letters, named[i].name, n) == 0)
                cp = (unsigned char)named[i].c;
    }
    if (q >= end || *q != ';')
        return 0;
    if (cp < 0x80) {
        out[0] = (char)cp;
        *n_out = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        *n_out = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        *n_out = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        *n_out = 4;
    }
    return (size_t)(q + 1 - p);
}

/* Length of a tag at p, or 0 when "<" does not open one. */
static size_t tag_len(const char *p, const char *end)
{
    if (p + 1 >= end)
        return 0;
    unsigned char c = (unsigned char)p[1];
    if (!isalpha(c) && c != '/' && c != '!' && c != '?')
        return 0;
    const char *close = memchr(p, '>', (size_t)(end - p));
    return close ? (size_t)(close + 1 - p) : 0;
}

/* After an opening <script> or <style> tag of length n at p: the length of the element's
 * content up to and including its closing tag (not text a reader sees), else 0. */
static size_t raw_text_len(const char *p, size_t n, const char *end)
{
    static const char *const names[] = {"script", "style"};
    for (size_t i = 0; i < 2; i++) {
        size_t k = strlen(names[i]);
        if (n < k + 2 || strncasecmp(p + 1, names[i], k) != 0 ||
            (p[1 + k] != '>' && !isspace((unsigned char)p[1 + k])))
            continue;
        for (const char *q = p + n; q + k + 2 <= end; q++)
            if (q[0] == '<' && q[1] == '/' && strncasecmp(q + 2, names[i], k) == 0) {
                const char *close = memchr(q, '>', (size_t)(end - q));
                return close ? (size_t)(close + 1 - (p + n)) : (size_t)(end - (p + n));
            }
        return (size_t)(end - (p + n)); /* unclosed: the rest is script */
    }
    return 0;
}

/* Length of an invisible format or C1 control character at p (UTF-8), or 0. */
static size_t invisible_len(const unsigned char *p, const unsigned char *end)
{
    if (p + 1 < end && p[0] == 0xC2 && (p[1] <= 0x9F || p[1] == 0xAD))
        return 2; /* C1 controls U+0080–U+009F, soft hyphen U+00AD */
    if (p + 2 < end && p[0] == 0xE2 && p[1] == 0x80 &&
        ((p[2] >= 0x8B && p[2] <= 0x8F) || (p[2] >= 0xAA && p[2] <= 0xAE)))
        return 3; /* zero-width U+200B–U+200F, bidi embeddings/overrides U+202A–U+202E */
    if (p + 2 < end && p[0] == 0xE2 && p[1] == 0x81 &&
        ((p[2] >= 0xA0 && p[2] <= 0xA4) || (p[2] >= 0xA6 && p[2] <= 0xAF)))
        return 3; /* word joiner, invisible operators, bidi isolates U+2060–U+206F */
    if (p + 2 < end && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        return 3; /* zero-width no-break space / BOM U+FEFF */
    return 0;
}

size_t screen_sanitize_name(const char *in, size_t len, char *out, size_t cap, unsigned *flags)
{
    if (cap == 0)
        return 0;
    /* pass 1: entities decoded ("&lt;img&gt;" is markup once decoded, "&#233;" a letter);
     * an entity is at least as long as what it decodes to, so this fits in `out` */
    size_t o = 0;
    for (const char *p = in, *end = in + len; p < end && o + 1 < cap;) {
        char dec[4];
        size_t n, dn;
        if (*p == '&' && (n = entity(p, end, dec, &dn)) && o + dn < cap) {
            *flags |= SCREEN_INPUT_MARKUP;
            memcpy(out + o, dec, dn);
            o += dn;
            p += n;
        } else {
            out[o++] = *p++;
        }
    }
    /* pass 2, in place (it only shortens): tags, control and invisible characters */
    const char *p = out, *end = out + o;
    size_t w = 0;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        size_t n;
        if (c == '<' && (n = tag_len(p, end))) {
            *flags |= SCREEN_INPUT_MARKUP;
            out[w++] = ' ';
            p += n + raw_text_len(p, n, end);
        } else if (c == '\t' || c == '\n' || c == '\r') {
            out[w++] = ' '; /* whitespace, as a form field may carry it */
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            *flags |= SCREEN_INPUT_CONTROL;
            out[w++] = ' ';
            p++;
        } else if (c >= 0xC2 &&
                   (n = invisible_len((const unsigned char *)p, (const unsigned char *)end))) {
            *flags |= SCREEN_INPUT_CONTROL;
            p += n;
        } else {
            out[w++] = *p++;
        }
    }
    out[w] = '\0';
    return w;
}
