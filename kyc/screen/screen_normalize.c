/*
 * screen_normalize.c — name normalisation, the same function for list entries and customers.
 *
 * Pipeline (ICU does every Unicode step; only the ASCII tokenizer is ours):
 *   1. Pure-ASCII input skips ICU entirely (most list names and most customers): that keeps a
 *      query's normalisation well under a microsecond.
 *   2. Otherwise: UTF-8 → UTF-16; if a character is outside Latin/Common/Inherited, transliterate
 *      with ICU "Any-Latin". Han runs are transliterated as "surname given" — first character
 *      alone, the rest joined — because ICU spaces every syllable ("xi jin ping") while lists
 *      write "XI Jinping"; Hangul runs get the same treatment.
 *   3. NFKD, drop non-spacing marks, case fold, then ICU "Latin-ASCII" for what is left
 *      (ß → ss, ø → o, ł → l ...).
 *   4. ASCII tokenizer: letters and digits are kept (lower-cased); apostrophes, periods and
 *      other non-ASCII remnants are deleted so "O'Brien" → "obrien", "S.A." → "sa"; everything
 *      else separates tokens.
 *   5. Persons: "LAST, First" → "First LAST" and honorifics dropped. Organisations: legal-form
 *      suffixes and stopwords dropped (unless nothing else is left); a single letter written
 *      with a period ("A. INSURANCE COMPANY") is an initial and is kept even when it spells a
 *      stopword ("a", "e", "y").
 * Transliterators are not safe to share between threads, so each thread opens its own on
 * first use (pthread key with a destructor).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utrans.h>

#include "kyc/screen/screen_internal.h"

/* ---------------------------------------------------------------- per-thread ICU objects */

struct icu_tls {
    UTransliterator *any_latin;
    UTransliterator *latin_ascii;
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_destroy(void *p)
{
    struct icu_tls *t = p;
    if (t->any_latin)
        utrans_close(t->any_latin);
    if (t->latin_ascii)
        utrans_close(t->latin_ascii);
    free(t);
}

static void tls_init(void)
{
    pthread_key_create(&tls_key, tls_destroy);
}

static UTransliterator *open_trans(const char *id)
{
    UChar uid[64];
    UErrorCode st = U_ZERO_ERROR;
    u_uastrcpy(uid, id);
    UTransliterator *t = utrans_openU(uid, -1, UTRANS_FORWARD, NULL, 0, NULL, &st);
    return U_SUCCESS(st) ? t : NULL;
}

static UTransliterator *get_trans(int any_latin)
{
    pthread_once(&tls_once, tls_init);
    struct icu_tls *t = pthread_getspecific(tls_key);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || pthread_setspecific(tls_key, t) != 0) {
            free(t);
            return NULL;
        }
    }
    if (any_latin) {
        if (!t->any_latin)
            t->any_latin = open_trans("Any-Latin");
        return t->any_latin;
    }
    if (!t->latin_ascii)
        t->latin_ascii = open_trans("Latin-ASCII");
    return t->latin_ascii;
}

/* ---------------------------------------------------------------- Unicode steps */

#define UBUF (SCREEN_MAX_NAME_BYTES * 4 + 64)

static int transliterate(UTransliterator *tr, UChar *buf, int32_t *len, int32_t cap)
{
    if (!tr)
        return CAPP_ENOMEM;
    UErrorCode st = U_ZERO_ERROR;
    int32_t limit = *len;
    utrans_transUChars(tr, buf, len, cap, 0, &limit, &st);
    if (U_FAILURE(st))
        return st == U_BUFFER_OVERFLOW_ERROR ? CAPP_ETOOBIG : CAPP_EINVAL;
    return 0;
}

static int script_needs_latin(UChar32 c, UScriptCode *script)
{
    UErrorCode st = U_ZERO_ERROR;
    UScriptCode s = uscript_getScript(c, &st);
    *script = s;
    return U_SUCCESS(st) && s != USCRIPT_COMMON && s != USCRIPT_INHERITED && s != USCRIPT_LATIN;
}

/* Han/Hangul runs → "first rest" in Latin; other text copied. Writes into out. */
static int east_asian_runs(const UChar *in, int32_t len, UChar *out, int32_t *out_len, int32_t cap)
{
    UTransliterator *tr = get_trans(1);
    int32_t o = 0, i = 0;
    while (i < len) {
        UChar32 c;
        int32_t start = i;
        U16_NEXT(in, i, len, c);
        UScriptCode s;
        script_needs_latin(c, &s);
        if (s != USCRIPT_HAN && s != USCRIPT_HANGUL) {
            if (o + (i - start) >= cap)
                return CAPP_ETOOBIG;
            memcpy(out + o, in + start, (size_t)(i - start) * sizeof(UChar));
            o += i - start;
            continue;
        }
        int32_t first_end = i, end = i;
        while (end < len) {
            int32_t j = end;
            UChar32 d;
            U16_NEXT(in, j, len, d);
            UScriptCode ds;
            script_needs_latin(d, &ds);
            if (ds != s)
                break;
            end = j;
        }
        /* first character, a space, then the rest with its spaces removed */
        UChar tmp[UBUF];
        int32_t tl = first_end - start;
        memcpy(tmp, in + start, (size_t)tl * sizeof(UChar));
        int rc = transliterate(tr, tmp, &tl, UBUF);
        if (rc)
            return rc;
        if (o + tl + 2 >= cap)
            return CAPP_ETOOBIG;
        memcpy(out + o, tmp, (size_t)tl * sizeof(UChar));
        o += tl;
        out[o++] = ' ';
        if (end > first_end) {
            tl = end - first_end;
            memcpy(tmp, in + first_end, (size_t)tl * sizeof(UChar));
            if ((rc = transliterate(tr, tmp, &tl, UBUF)))
                return rc;
            for (int32_t k = 0; k < tl; k++)
                if (tmp[k] != ' ' && tmp[k] != '-' && tmp[k] != '\'') {
                    if (o + 2 >= cap)
                        return CAPP_ETOOBIG;
                    out[o++] = tmp[k];
                }
            out[o++] = ' ';
        }
        i = end;
    }
    *out_len = o;
    return 0;
}

/* Any script → lower-case ASCII (best effort) in `ascii`. */
static int to_ascii(const char *utf8, size_t len, char *ascii, size_t cap, size_t *out_len)
{
    UChar a[UBUF], b[UBUF];
    int32_t alen = 0;
    UErrorCode st = U_ZERO_ERROR;
    u_strFromUTF8(a, UBUF, &alen, utf8, (int32_t)len, &st);
    if (U_FAILURE(st))
        return st == U_BUFFER_OVERFLOW_ERROR ? CAPP_ETOOBIG : CAPP_EINVAL;

    int needs = 0, east = 0;
    for (int32_t i = 0; i < alen;) {
        UChar32 c;
        U16_NEXT(a, i, alen, c);
        UScriptCode s;
        if (script_needs_latin(c, &s)) {
            needs = 1;
            if (s == USCRIPT_HAN || s == USCRIPT_HANGUL)
                east = 1;
        }
    }
    int rc;
    if (east) {
        int32_t blen;
        if ((rc = east_asian_runs(a, alen, b, &blen, UBUF)))
            return rc;
        memcpy(a, b, (size_t)blen * sizeof(UChar));
        alen = blen;
    }
    if (needs && (rc = transliterate(get_trans(1), a, &alen, UBUF)))
        return rc;

    const UNormalizer2 *nfkd = unorm2_getNFKDInstance(&st);
    int32_t blen = unorm2_normalize(nfkd, a, alen, b, UBUF, &st);
    if (U_FAILURE(st))
        return st == U_BUFFER_OVERFLOW_ERROR ? CAPP_ETOOBIG : CAPP_EINVAL;
    int32_t o = 0;
    for (int32_t i = 0; i < blen;) {
        UChar32 c;
        int32_t start = i;
        U16_NEXT(b, i, blen, c);
        if (u_charType(c) == U_NON_SPACING_MARK)
            continue;
        while (start < i)
            b[o++] = b[start++];
    }
    blen = o;
    alen = u_strFoldCase(a, UBUF, b, blen, U_FOLD_CASE_DEFAULT, &st);
    if (U_FAILURE(st))
        return st == U_BUFFER_OVERFLOW_ERROR ? CAPP_ETOOBIG : CAPP_EINVAL;
    int non_ascii = 0;
    for (int32_t i = 0; i < alen; i++)
        if (a[i] > 0x7f)
            non_ascii = 1;
    if (non_ascii && (rc = transliterate(get_trans(0), a, &alen, UBUF)))
        return rc;
    int32_t n = 0;
    u_strToUTF8(ascii, (int32_t)cap, &n, a, alen, &st);
    if (U_FAILURE(st) || (size_t)n >= cap)
        return CAPP_ETOOBIG;
    *out_len = (size_t)n;
    return 0;
}

/* ---------------------------------------------------------------- tokens */

/* legal forms (after periods are deleted: "S.A." → "sa") */
static const char *const legal_forms[] = {
    "ltd",  "limited", "llc",  "inc",   "incorporated", "corp", "corporation", "co",  "company",
    "plc",  "gmbh",    "ag",   "kg",    "sa",           "sas",  "sarl",        "srl", "spa",
    "sl",   "bv",      "nv",   "oy",    "ab",           "as",   "llp",         "lp",  "jsc",
    "ojsc", "cjsc",    "pjsc", "ooo",   "zao",          "oao",  "pao",         "sae", "sal",
    "fze",  "fzco",    "fzc",  "fzllc", "est",          "cv",   "sapi",        "sac", "eirl",
    "ltda", "cia",     "pte",  "pty",   "bhd",          "sdn",  "tbk",         "kft", "doo",
    "dd",   "ad",      "ood",  "eood",  "sro",          "ks",   "bsc",         "wll", "psc",
    "qsc",  "saoc",    "spc",  "group"};

static const char *const org_stopwords[] = {"de",  "the", "of",  "and", "for", "y",  "la",  "el",
                                            "los", "las", "del", "des", "du",  "et", "und", "der",
                                            "die", "le",  "les", "di",  "da",  "do", "e",   "a",
                                            "an",  "in",  "on",  "at",  "to"};

static const char *const person_stopwords[] = {"mr", "mrs", "ms", "miss", "dr", "prof", "sir"};

#define COUNT(a) (sizeof(a) / sizeof(a)[0])

static int in_list(const char *tok, size_t len, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && memcmp(list[i], tok, len) == 0)
            return 1;
    return 0;
}

/* Is the token dropped under these flags? */
static int dropped(const char *tok, size_t len, unsigned flags)
{
    if (flags & SCREEN_NORM_ORGANIZATION)
        return in_list(tok, len, legal_forms, COUNT(legal_forms)) ||
               in_list(tok, len, org_stopwords, COUNT(org_stopwords));
    if (flags & SCREEN_NORM_PERSON)
        return in_list(tok, len, person_stopwords, COUNT(person_stopwords));
    return 0;
}

int screen_token_org_stopword(const char *tok, size_t len)
{
    return dropped(tok, len, SCREEN_NORM_ORGANIZATION);
}

static void push_token(struct screen_tokens *t, size_t *used, const char *s, size_t len)
{
    if (t->count >= SCREEN_MAX_NAME_TOKENS || len == 0)
        return;
    if (len > SCREEN_MAX_TOKEN_BYTES)
        len = SCREEN_MAX_TOKEN_BYTES;
    memcpy(t->text + *used, s, len);
    t->text[*used + len] = '\0';
    t->off[t->count] = (uint16_t)*used;
    t->len[t->count] = (uint8_t)len;
    t->count++;
    *used += len + 1;
}

/* `initials`: bit i set for a token that is one letter written with a period ("A. Khan",
 * "J. SMITH TRADING"): an initial, never the article "a" or "e" */
static void tokenize(const char *s, size_t len, struct screen_tokens *t, size_t *used,
                     uint32_t *initials)
{
    char tok[SCREEN_MAX_NAME_BYTES];
    size_t n = 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)s[i] : ' ';
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (n < sizeof tok)
                tok[n++] = (char)c;
        } else if (c == '\'' || c == '`' || c == '.' || c >= 0x80) {
            /* "A." then a space: an initial ("S.A." stays one token, "sa") */
            if (c == '.' && n == 1 && tok[0] >= 'a' && t->count < 32 &&
                (i + 1 >= len || s[i + 1] == ' ') && (i < 2 || s[i - 2] == ' ' || s[i - 2] == ','))
                *initials |= 1u << t->count;
            continue; /* joins: O'Brien, S.A., stray marks */
        } else if (n) {
            push_token(t, used, tok, n);
            n = 0;
        }
    }
}

int screen_normalize(const char *utf8, size_t len, unsigned flags, struct screen_tokens *out)
{
    out->count = 0;
    out->stopwords = 0;
    if (len > SCREEN_MAX_NAME_BYTES)
        return CAPP_ETOOBIG;
    int ascii = 1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)utf8[i] >= 0x80) {
            ascii = 0;
            break;
        }
    char buf[SCREEN_MAX_NAME_BYTES * 4 + 64];
    const char *s = utf8;
    if (!ascii) {
        size_t n;
        int rc = to_ascii(utf8, len, buf, sizeof buf, &n);
        if (rc)
            return rc;
        s = buf;
        len = n;
    }
    size_t used = 0;
    uint32_t initials = 0;
    const char *comma = (flags & SCREEN_NORM_PERSON) ? memchr(s, ',', len) : NULL;
    if (comma && !memchr(comma + 1, ',', len - (size_t)(comma + 1 - s))) {
        tokenize(comma + 1, len - (size_t)(comma + 1 - s), out, &used, &initials);
        tokenize(s, (size_t)(comma - s), out, &used, &initials);
    } else {
        tokenize(s, len, out, &used, &initials);
    }

    if (flags & SCREEN_NORM_AUTO) {
        /* unknown type: an organisation when a legal form is present, else a person */
        for (uint32_t i = 0; i < out->count && !(flags & SCREEN_NORM_ORGANIZATION); i++)
            if (in_list(out->text + out->off[i], out->len[i], legal_forms, COUNT(legal_forms)))
                flags |= SCREEN_NORM_ORGANIZATION;
        if (!(flags & SCREEN_NORM_ORGANIZATION))
            flags |= SCREEN_NORM_PERSON;
    }
    uint32_t keep = 0;
    for (uint32_t i = 0; i < out->count; i++)
        keep += (initials & (1u << i)) || !dropped(out->text + out->off[i], out->len[i], flags);
    if (keep && keep < out->count) { /* never drop every token */
        uint32_t o = 0, kept_initials = 0;
        for (uint32_t i = 0; i < out->count; i++)
            if ((initials & (1u << i)) || !dropped(out->text + out->off[i], out->len[i], flags)) {
                out->off[o] = out->off[i];
                out->len[o] = out->len[i];
                if (initials & (1u << i))
                    kept_initials |= 1u << o;
                o++;
            }
        out->count = o;
        initials = kept_initials;
    }
    out->stopwords = 0;
    for (uint32_t i = 0; i < out->count; i++)
        if (!(initials & (1u << i)) &&
            dropped(out->text + out->off[i], out->len[i], SCREEN_NORM_ORGANIZATION))
            out->stopwords |= 1u << i;
    return 0;
}

void screen_tokens_join(const struct screen_tokens *t, char *out, size_t cap)
{
    size_t o = 0;
    if (!cap)
        return;
    for (uint32_t i = 0; i < t->count; i++) {
        size_t n = t->len[i];
        if (o + n + 2 > cap)
            break;
        if (i)
            out[o++] = ' ';
        memcpy(out + o, t->text + t->off[i], n);
        o += n;
    }
    out[o] = '\0';
}
