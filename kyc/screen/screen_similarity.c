/*
 * screen_similarity.c — token similarity: Jaro-Winkler, an edit distance and a phonetic key.
 * Hand-written:
 * no Debian-packaged C library provides either (ICU has no string metrics).
 *
 * Jaro-Winkler is the textbook definition (match window max(|a|,|b|)/2 − 1, transpositions
 * halved, Winkler prefix bonus l·0.1·(1−J) for l ≤ 4 applied when J ≥ 0.7). Tokens are at most
 * SCREEN_MAX_TOKEN_BYTES long, so matched positions fit in a 64-bit mask and the whole
 * computation runs on the stack in well under 100 ns for name-sized tokens.
 *
 * The edit distance is the optimal string alignment distance (Levenshtein with adjacent
 * transpositions counted as one edit): Jaro-Winkler says how alike two spellings look, the
 * edit count says how many slips separate them, which is what decides whether a short token is
 * a typo of another (screen_query.c, screen-2.1).
 *
 * The phonetic key is a compact consonant skeleton in the spirit of Double Metaphone's
 * primary code, tuned for romanised Arabic, Persian, Slavic and Spanish names rather than
 * English spelling: initial vowels (and y/h/w before a vowel) collapse to "A"; c/k/q/g/kh/gh →
 * K; d/t/th/dh → T; b/p → P; f/v/ph/w → F; s/z/c(e,i)/ts/x → S; sh/sch/ch/zh/j/dj → J; l, m, n,
 * r keep their letter; vowels, h, y and repeated codes vanish. So Mohammed/Muhammad/Mohamad →
 * MMT, Yusuf/Youssef → ASF, Qaddafi/Gaddafi/Kadhafi → KTF. It is used for candidate blocking
 * and as a similarity floor, never as the score itself.
 */
#include <stdint.h>
#include <string.h>

#include "kyc/screen/screen.h"
#include "kyc/screen/screen_internal.h"

static double jaro(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen == 0 || blen == 0)
        return 0.0;
    if (alen > 64)
        alen = 64;
    if (blen > 64)
        blen = 64;
    size_t longer = alen > blen ? alen : blen;
    size_t window = longer / 2 ? longer / 2 - 1 : 0;
    uint64_t bmask = 0;
    char amatched[64];
    size_t m = 0;
    for (size_t i = 0; i < alen; i++) {
        size_t lo = i > window ? i - window : 0;
        size_t hi = i + window + 1 < blen ? i + window + 1 : blen;
        for (size_t j = lo; j < hi; j++) {
            if (!(bmask & (1ull << j)) && a[i] == b[j]) {
                bmask |= 1ull << j;
                amatched[m++] = a[i];
                break;
            }
        }
    }
    if (m == 0)
        return 0.0;
    size_t t = 0, k = 0;
    for (size_t j = 0; j < blen; j++)
        if (bmask & (1ull << j)) {
            if (b[j] != amatched[k])
                t++;
            k++;
        }
    double dm = (double)m;
    return (dm / (double)alen + dm / (double)blen + (dm - (double)t / 2.0) / dm) / 3.0;
}

double screen_jaro_winkler(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen == blen && memcmp(a, b, alen) == 0)
        return alen ? 1.0 : 0.0;
    double j = jaro(a, alen, b, blen);
    if (j < 0.7)
        return j;
    size_t l = 0;
    while (l < 4 && l < alen && l < blen && a[l] == b[l])
        l++;
    return j + (double)l * 0.1 * (1.0 - j);
}

/* Distance 0 or 1 in one pass: skip the common prefix, then the rest must agree after one
 * substitution, insertion, deletion or adjacent swap. */
static unsigned within_one(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = screen_longer_first(&a, &alen, &b, &blen);
    if (alen == blen + 1)
        return memcmp(a + i + 1, b + i, blen - i) == 0 ? 1u : 2u;
    if (alen != blen)
        return 2u;
    if (i == alen)
        return 0u;
    if (memcmp(a + i + 1, b + i + 1, alen - i - 1) == 0)
        return 1u;
    if (i + 1 < alen && a[i] == b[i + 1] && a[i + 1] == b[i] &&
        memcmp(a + i + 2, b + i + 2, alen - i - 2) == 0)
        return 1u;
    return 2u;
}

/* The optimal string alignment distance of a (≤ 64 bytes) and b, bit-parallel (Hyyrö 2003,
 * "A bit-vector algorithm for computing Levenshtein and Damerau edit distances"): one column
 * of the dynamic programme per machine word, a few operations per letter of b. */
static unsigned osa_bits(const char *a, size_t alen, const char *b, size_t blen)
{
    static _Thread_local uint64_t peq[256]; /* zero between calls */
    if (alen == 0)
        return (unsigned)blen;
    for (size_t i = 0; i < alen; i++)
        peq[(unsigned char)a[i]] |= UINT64_C(1) << i;
    uint64_t vp = ~UINT64_C(0), vn = 0, d0 = 0, pm_old = 0;
    uint64_t last = UINT64_C(1) << (alen - 1);
    unsigned dist = (unsigned)alen;
    for (size_t j = 0; j < blen; j++) {
        uint64_t pm = peq[(unsigned char)b[j]];
        uint64_t tr = (((~d0) & pm) << 1) & pm_old;
        d0 = (((pm & vp) + vp) ^ vp) | pm | vn | tr;
        uint64_t hp = vn | ~(d0 | vp);
        uint64_t hn = d0 & vp;
        dist += (hp & last) != 0;
        dist -= (hn & last) != 0;
        hp = (hp << 1) | 1;
        hn <<= 1;
        vp = hn | ~(d0 | hp);
        vn = hp & d0;
        pm_old = pm;
    }
    for (size_t i = 0; i < alen; i++)
        peq[(unsigned char)a[i]] = 0;
    return dist;
}

unsigned screen_edit_distance_max(const char *a, size_t alen, const char *b, size_t blen,
                                  unsigned max)
{
    size_t gap = alen > blen ? alen - blen : blen - alen;
    if (gap > max)
        return max + 1;
    unsigned d = within_one(a, alen, b, blen);
    if (d <= 1 || max <= 1)
        return d <= max ? d : max + 1;
    if (alen > 64) /* never for tokens (SCREEN_MAX_TOKEN_BYTES) */
        d = screen_edit_distance(a, alen, b, blen);
    else
        d = osa_bits(a, alen, b, blen);
    return d <= max ? d : max + 1;
}

unsigned screen_edit_distance(const char *a, size_t alen, const char *b, size_t blen)
{
    /* optimal string alignment (restricted Damerau-Levenshtein): three rolling rows */
    if (alen > SCREEN_MAX_TOKEN_BYTES)
        alen = SCREEN_MAX_TOKEN_BYTES;
    if (blen > SCREEN_MAX_TOKEN_BYTES)
        blen = SCREEN_MAX_TOKEN_BYTES;
    unsigned rows[3][SCREEN_MAX_TOKEN_BYTES + 1];
    unsigned *pp = rows[0], *p = rows[1], *c = rows[2];
    for (size_t j = 0; j <= blen; j++)
        p[j] = (unsigned)j;
    for (size_t i = 1; i <= alen; i++) {
        c[0] = (unsigned)i;
        for (size_t j = 1; j <= blen; j++) {
            unsigned cost = a[i - 1] != b[j - 1];
            unsigned v = p[j - 1] + cost;
            if (p[j] + 1 < v)
                v = p[j] + 1;
            if (c[j - 1] + 1 < v)
                v = c[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
        }
        unsigned *t = pp;
        pp = p;
        p = c;
        c = t;
    }
    return p[blen];
}

static int vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

size_t screen_phonetic_key(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    char last = 0;
    if (cap == 0)
        return 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        char c = s[i], next = i + 1 < len ? s[i + 1] : 0, code = 0;
        if (i == 0 && (vowel(c) || ((c == 'y' || c == 'h' || c == 'w') && vowel(next)))) {
            out[o++] = 'A';
            last = 'A';
            continue;
        }
        if (vowel(c) || c == 'y') {
            last = 0; /* "mm" collapses, "m-m" across a vowel does not */
            continue;
        }
        switch (c) {
        case 'b':
        case 'p':
            code = (c == 'p' && next == 'h') ? 'F' : 'P';
            if (code == 'F')
                i++;
            break;
        case 'f':
        case 'v':
        case 'w':
            code = 'F';
            if (c == 'w')
                code = vowel(next) && i > 0 ? 'F' : 0;
            break;
        case 'c':
            if (next == 'h') {
                code = 'J';
                i++;
            } else if (next == 'e' || next == 'i' || next == 'y') {
                code = 'S';
            } else {
                code = 'K';
            }
            break;
        case 'k':
        case 'g':
        case 'q':
            code = 'K';
            if (next == 'h')
                i++;
            break;
        case 'd':
        case 't':
            code = 'T';
            if (next == 'h')
                i++;
            else if (c == 't' && next == 's') {
                code = 'S';
                i++;
            } else if (c == 'd' && next == 'j') {
                code = 'J';
                i++;
            }
            break;
        case 's':
            code = 'S';
            if (next == 'h') {
                code = 'J';
                i++;
            } else if (next == 'c' && i + 2 < len && s[i + 2] == 'h') {
                code = 'J';
                i += 2;
            }
            break;
        case 'z':
            code = 'S';
            if (next == 'h') {
                code = 'J';
                i++;
            }
            break;
        case 'x':
            code = 'S';
            break;
        case 'j':
            code = 'J';
            break;
        case 'l':
        case 'm':
        case 'n':
        case 'r':
            code = (char)(c - 'a' + 'A');
            break;
        default:
            if (c >= '0' && c <= '9')
                code = c;
            break;
        }
        if (code && code != last)
            out[o++] = code;
        if (code)
            last = code;
    }
    out[o] = '\0';
    return o;
}
