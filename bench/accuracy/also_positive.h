/*
 * also_positive.h — whether a generated negative is also one of the evaluation's positives:
 * the same name that a positive generator of bench_gen.h (or a kind of bench_accuracy) makes
 * from a list entry. Used by bench_accuracy to report flagged negatives that no engine could
 * clear without missing the identical positive; tested by tests/screen/test_bench_gen.c.
 */
#ifndef BENCH_ALSO_POSITIVE_H
#define BENCH_ALSO_POSITIVE_H

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "../screen/bench_gen.h"
#include "kyc/screen/screen.h"

/* A flagged negative is *also a positive* when the generators of this benchmark make the very
 * same name from the entry it was flagged against: "Felipe Gomez" is the dropped_middle
 * positive of "FLORES GOMEZ, Felipe", "Omar Rahman" a typo positive of "RAHMAN, Oman", "Yuri
 * Sergei Ivanov" a padded positive of "IVANOV, Sergei". The engine sees one string and must
 * score it once: a negative of that kind can only be cleared by missing the same string as a
 * positive. Counted and reported next to the raw figure, never excluded from it. */

/* Whether b is made from a by one of the generators' edits inside a word (never its first letter):
 * a substituted letter, a missing letter, two letters swapped, a letter doubled. */
static int one_inner_edit(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la < 2 || tolower((unsigned char)a[0]) != tolower((unsigned char)b[0]))
        return 0;
    if (la == lb) {
        size_t d1 = la, d2 = la, n = 0;
        for (size_t i = 0; i < la; i++)
            if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) {
                if (n == 0)
                    d1 = i;
                else
                    d2 = i;
                n++;
            }
        if (n == 1)
            return 1; /* substitution */
        return n == 2 && d2 == d1 + 1 &&
               tolower((unsigned char)a[d1]) == tolower((unsigned char)b[d2]) &&
               tolower((unsigned char)a[d2]) == tolower((unsigned char)b[d1]);
    }
    const char *lng = la > lb ? a : b, *sht = la > lb ? b : a;
    size_t ll = la > lb ? la : lb, ls = la > lb ? lb : la;
    if (ll != ls + 1)
        return 0;
    size_t i = 0;
    while (i < ls && tolower((unsigned char)lng[i]) == tolower((unsigned char)sht[i]))
        i++;
    if (strcasecmp(lng + i + 1, sht + i) != 0)
        return 0;
    if (la > lb) /* a letter missing from the list's word */
        return 1;
    /* a letter added to it: the generators only double the letter before; the doubled letter
     * can sit at any position of its run */
    for (size_t j = 1; j < ll; j++)
        if (tolower((unsigned char)lng[j]) == tolower((unsigned char)lng[j - 1]) &&
            strncasecmp(lng, sht, j) == 0 && strcasecmp(lng + j + 1, sht + j) == 0)
            return 1;
    return 0;
}

static int words_equal(char **a, int na, char **b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (strcasecmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

static int is_gen_first(const char *w)
{
    for (int c = 0; c < GEN_CULTURES; c++)
        for (int i = 0; i < 24; i++)
            if (strcasecmp(gen_first[c][i], w) == 0)
                return 1;
    return 0;
}

static int is_gen_pad(char **p, int n)
{
    if (n == 1)
        return is_gen_first(p[0]);
    if (n != 2)
        return 0;
    for (int c = 0; c < GEN_CULTURES; c++)
        for (int i = 0; i < 24; i++)
            if (strcasecmp(gen_first[c][i], p[0]) == 0)
                for (int j = 0; j < 24; j++)
                    if (strcasecmp(gen_last[c][j], p[1]) == 0)
                        return 1;
    return 0;
}

static void lower_join(char **w, int n, char *out, size_t cap)
{
    gen_join(w, n, out, cap);
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

/* The generator that makes query words q from one list name (flattened words w), or NULL:
 * a perturbation's name (gen_perturbation_names) or bench_accuracy's kind ("padded",
 * "short_edit").
 * `primary`: the entry's own name (the padded and short_edit kinds use no alias). */
static const char *made_from(char **w, int n, char **q, int nq, int person, int primary)
{
    if (words_equal(w, n, q, nq))
        return gen_perturbation_names[GEN_EXACT];
    if (person && n >= 2 && nq == n) {
        char *s[32];
        memcpy(s, w, (size_t)n * sizeof *w);
        s[0] = w[n - 1];
        s[n - 1] = w[0];
        if (words_equal(s, n, q, nq))
            return gen_perturbation_names[GEN_SWAP];
    }
    if (person && n >= 3 && nq == n - 1)
        for (int i = 1; i < n - 1; i++) {
            char *s[32];
            int k = 0;
            for (int j = 0; j < n; j++)
                if (j != i)
                    s[k++] = w[j];
            if (words_equal(s, k, q, nq))
                return gen_perturbation_names[GEN_DROP_MIDDLE];
        }
    if (person && nq == n + 1 && n >= 1 && strcasecmp(q[0], w[0]) == 0 &&
        words_equal(w + 1, n - 1, q + 2, nq - 2) && is_gen_first(q[1]))
        return gen_perturbation_names[GEN_ADD_MIDDLE];
    if (nq == n) {
        int diff = -1, nd = 0;
        for (int i = 0; i < n; i++)
            if (strcasecmp(w[i], q[i]) != 0) {
                diff = i;
                nd++;
            }
        if (nd == 1 && gen_is_ascii(w[diff]) && one_inner_edit(w[diff], q[diff])) {
            size_t len = strlen(w[diff]);
            if (len >= 4)
                return gen_perturbation_names[GEN_TYPO];
            if (person && primary && n == 2 && len == 3)
                return "short_edit";
        }
    }
    /* a transliteration rule on its first occurrence in the lowered name */
    char lw[512], lq[512], out[512];
    lower_join(w, n, lw, sizeof lw);
    lower_join(q, nq, lq, sizeof lq);
    for (size_t r = 0; r < COUNT_OF(gen_translit); r++) {
        const char *hit = strstr(lw, gen_translit[r][0]);
        if (!hit)
            continue;
        snprintf(out, sizeof out, "%.*s%s%s", (int)(hit - lw), lw, gen_translit[r][1],
                 hit + strlen(gen_translit[r][0]));
        if (strcmp(out, lq) == 0)
            return gen_perturbation_names[GEN_TRANSLIT];
    }
    if (person && primary && nq > n && nq <= n + 2) {
        int pad = nq - n;
        if (words_equal(w, n, q + pad, n) && is_gen_pad(q, pad))
            return "padded";
        if (words_equal(w, n, q, n) && is_gen_pad(q + n, pad))
            return "padded";
    }
    return NULL;
}

/* Whether a generator of this benchmark makes `query` from entry e as one of e's positives;
 * the generator's name, or NULL. */
static const char *also_positive(const char *query, const struct screen_entry *e)
{
    int person = e->type == SCREEN_TYPE_INDIVIDUAL;
    char qbuf[512], nbuf[512];
    char *q[32], *w[32];
    snprintf(qbuf, sizeof qbuf, "%s", query);
    int nq = gen_words(qbuf, q, 32);
    for (unsigned a = 0; a <= e->n_aliases; a++) {
        if (a > 0 && e->aliases[a - 1].kind != SCREEN_NAME_ALIAS &&
            e->aliases[a - 1].kind != SCREEN_NAME_ORIGINAL_SCRIPT)
            continue;
        char flat[512];
        if (!gen_perturb(a == 0 ? e->name : e->aliases[a - 1].name, person, GEN_EXACT, flat,
                         sizeof flat))
            continue;
        snprintf(nbuf, sizeof nbuf, "%s", flat);
        int n = gen_words(nbuf, w, 32);
        const char *how = made_from(w, n, q, nq, person, a == 0);
        if (how)
            return how;
    }
    return NULL;
}

#endif
