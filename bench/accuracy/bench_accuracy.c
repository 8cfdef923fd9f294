/*
 * bench_accuracy — recall and precision of the screening engine on a generated, seeded
 * evaluation set over the shipped lists.
 *
 * Positives: list names and aliases (primary, strong aliases, original-script names) with one
 * realistic perturbation each (bench/screen/bench_gen.h: exact, typo, swapped order, dropped
 * or added middle name, diacritics, transliteration variant, initial). A positive is found at
 * threshold t when its own entry scores ≥ t. Negatives: synthetic customers from eight
 * cultures; a negative is flagged at t when any entry scores ≥ t. A generated customer whose
 * normalised name has the same tokens as a list name or alias (any order: "Sergei Ivanov" and
 * "IVANOV, Sergei") is a genuine namesake, not a negative: it is excluded at generation time,
 * redrawn, and the number excluded is reported. Reported per threshold (recall floor 0.60,
 * review floor 0.80, hit 0.95), per band (clear, needs_review, hit) and per perturbation.
 * Precision is TP / (TP + FP) with as many negatives as positives.
 *
 * Then the kinds of issue 12, each reported on its own (recall, or negatives flagged, at the
 * review floor and at the hit threshold), --kind-size queries each:
 *   dob_residence  a list individual with a single listed date of birth: the name with one
 *                  perturbation as above, the listed date at its listed precision, and a
 *                  country (role unknown, as the pipeline passes it) that is none of the
 *                  entry's countries: the customer lives elsewhere;
 *   padded         a list name with one or two ordinary names appended or prepended;
 *   markup         a list name wrapped in markup, entities or invisible characters;
 *   short_edit     a two-word individual name with one edit (substitution, deletion,
 *                  transposition, doubled letter) in a word of three or four letters;
 *   neg_family     negatives: a listed family name with a given name that is not the entry's;
 *   neg_given      negatives: a given name that is common on the lists (≥ 5 individuals) with
 *                  a family name from the customer pools.
 * Only the query fields every engine version has are used (name, dob, country, type), so the
 * same source measures an older engine (bench/accuracy/README.md "before and after").
 *
 *   bench_accuracy [--lists PATH]... [--positives N] [--negatives N] [--seed S] [--verbose]
 *                  [--dump FILE] [--kind-size N]
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../screen/bench_gen.h"
#include "also_positive.h"
#include "kyc/screen/screen.h"

#define N_T 3
static const double thresholds[N_T] = {0.60, 0.80, 0.95};
static const char *const t_names[N_T] = {"0.60 (recall-mode floor)", "0.80 (review floor)",
                                         "0.95 (hit)"};

/* ---------------------------------------------------------------- namesakes */

/* Sorted token multiset of a normalised name, joined with spaces: an order-free key. */
static int name_key(const char *name, unsigned flags, char *out, size_t cap)
{
    struct screen_tokens t;
    if (screen_normalize(name, strlen(name), flags, &t) != 0 || t.count == 0)
        return 0;
    const char *tok[SCREEN_MAX_NAME_TOKENS];
    for (uint32_t i = 0; i < t.count; i++)
        tok[i] = t.text + t.off[i];
    for (uint32_t i = 1; i < t.count; i++)
        for (uint32_t j = i; j > 0 && strcmp(tok[j - 1], tok[j]) > 0; j--) {
            const char *x = tok[j];
            tok[j] = tok[j - 1];
            tok[j - 1] = x;
        }
    size_t o = 0;
    for (uint32_t i = 0; i < t.count; i++) {
        int n = snprintf(out + o, cap - o, "%s%s", i ? " " : "", tok[i]);
        if (n < 0 || (size_t)n >= cap - o)
            return 0;
        o += (size_t)n;
    }
    return 1;
}

struct key_set {
    char **keys;
    size_t n, cap;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void key_add(struct key_set *ks, const char *name, unsigned flags)
{
    char key[1024];
    if (!name || !name_key(name, flags, key, sizeof key))
        return;
    if (ks->n == ks->cap) {
        ks->cap = ks->cap ? ks->cap * 2 : 4096;
        char **g = realloc(ks->keys, ks->cap * sizeof *g);
        if (!g)
            abort();
        ks->keys = g;
    }
    ks->keys[ks->n++] = strdup(key);
}

/* Every list name and alias of every entry, normalised as the index does. */
static void key_set_build(struct key_set *ks, const struct screen_list_set *ls)
{
    for (size_t e = 0; e < screen_list_set_count(ls); e++) {
        const struct screen_entry *en = screen_list_set_entry(ls, e);
        unsigned flags =
            en->type == SCREEN_TYPE_INDIVIDUAL ? SCREEN_NORM_PERSON : SCREEN_NORM_ORGANIZATION;
        key_add(ks, en->name, flags);
        for (unsigned a = 0; a < en->n_aliases; a++)
            key_add(ks, en->aliases[a].name, flags);
    }
    qsort(ks->keys, ks->n, sizeof *ks->keys, cmp_str);
}

static int key_set_has(const struct key_set *ks, const char *name)
{
    char key[1024];
    const char *k = key;
    if (!name_key(name, SCREEN_NORM_PERSON, key, sizeof key))
        return 0;
    return bsearch(&k, ks->keys, ks->n, sizeof *ks->keys, cmp_str) != NULL;
}

static void key_set_free(struct key_set *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->keys[i]);
    free(ks->keys);
}

/* The token alignment of a match, for --dump: "query~list:similarity:weight ...". */
static void alignment(const struct screen_match *m, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (uint32_t i = 0; m && i < m->n_pairs && o + 1 < cap; i++) {
        const struct screen_token_pair *p = &m->pairs[i];
        int n = snprintf(out + o, cap - o, "%s%s~%s:%.2f:%.1f", i ? " " : "",
                         p->query_token ? p->query_token : "-", p->list_token ? p->list_token : "-",
                         p->similarity, p->weight);
        if (n < 0)
            break;
        o += (size_t)n < cap - o ? (size_t)n : cap - o - 1;
    }
}

/* ---------------------------------------------------------------- issue 12 kinds */

enum kind { K_DOB_RESIDENCE, K_PADDED, K_MARKUP, K_SHORT_EDIT, K_NEG_FAMILY, K_NEG_GIVEN, K_COUNT };
static const char *const kind_names[K_COUNT] = {"dob_residence", "padded",     "markup",
                                                "short_edit",    "neg_family", "neg_given"};
#define K_FIRST_NEGATIVE K_NEG_FAMILY

static const char *const residences[][2] = {
    {"PL", "Poland"}, {"BR", "Brazil"},   {"CA", "Canada"},       {"DE", "Germany"},
    {"FR", "France"}, {"JP", "Japan"},    {"KE", "Kenya"},        {"MX", "Mexico"},
    {"NO", "Norway"}, {"TH", "Thailand"}, {"ZA", "South Africa"}, {"SE", "Sweden"},
    {"IT", "Italy"},  {"ES", "Spain"},    {"NL", "Netherlands"},  {"AR", "Argentina"}};

static int icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

/* A residence country that is none of the entry's listed countries, or NULL. */
static const char *other_country(const struct screen_entry *e)
{
    for (int tries = 0; tries < 16; tries++) {
        unsigned k = gen_below((unsigned)COUNT_OF(residences));
        const char *name = residences[k][1];
        int listed = 0;
        for (unsigned i = 0; i < e->n_nationalities; i++)
            listed |= icontains(e->nationalities[i], name);
        for (unsigned i = 0; i < e->n_countries; i++)
            listed |= icontains(e->countries[i], name);
        for (unsigned i = 0; i < e->n_places_of_birth; i++)
            listed |= icontains(e->places_of_birth[i], name);
        if (!listed)
            return residences[k][0];
    }
    return NULL;
}

static const struct screen_entry *random_individual(const struct screen_list_set *ls)
{
    for (;;) {
        const struct screen_entry *e =
            screen_list_set_entry(ls, gen_below((unsigned)screen_list_set_count(ls)));
        if (e->type == SCREEN_TYPE_INDIVIDUAL)
            return e;
    }
}

/* A word of three or four letters, letters only: "'Ali" and "Il-U" are not (an edit "not
 * of the first letter" at their second byte would change the first letter). */
static int short_word(const char *w)
{
    size_t n = strlen(w);
    if (n < 3 || n > 4)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalpha((unsigned char)w[i]))
            return 0;
    return 1;
}

/* One edit inside the word (not its first letter), as bench_gen.h's typo does. */
static void edit_word(char *word)
{
    size_t len = strlen(word);
    size_t at = 1 + gen_below((unsigned)(len - 1));
    switch (gen_below(4)) {
    case 0: { /* substitution by another letter */
        char c = word[at];
        while (c == word[at])
            c = (char)('a' + gen_below(26));
        word[at] = c;
        break;
    }
    case 1:
        memmove(word + at, word + at + 1, len - at);
        break;
    case 2:
        if (at + 1 < len) {
            char t = word[at];
            word[at] = word[at + 1];
            word[at + 1] = t;
        } else {
            word[at] = (char)('a' + gen_below(26));
        }
        break;
    default:
        memmove(word + at + 1, word + at, len - at + 1);
        word[at] = word[at - 1];
        break;
    }
}

/* Given names (the first word after the comma of "LAST, First") of at least `min` list
 * individuals: the common given names. */
struct given_names {
    char (*names)[64];
    size_t n;
};

static void given_names_build(struct given_names *g, const struct screen_list_set *ls, int min)
{
    size_t n_all = 0, cap = screen_list_set_count(ls);
    char(*all)[64] = calloc(cap + 1, sizeof *all);
    for (size_t i = 0; i < screen_list_set_count(ls); i++) {
        const struct screen_entry *e = screen_list_set_entry(ls, i);
        const char *comma = e->type == SCREEN_TYPE_INDIVIDUAL ? strchr(e->name, ',') : NULL;
        if (!comma || !gen_is_ascii(comma))
            continue;
        const char *p = comma + 1;
        while (*p == ' ')
            p++;
        size_t k = 0;
        while (isalpha((unsigned char)p[k]) && k < 63)
            k++;
        if (k < 3 || (p[k] && p[k] != ' '))
            continue; /* not a plain word ("Dr.", "Abu-Bakr") */
        memcpy(all[n_all], p, k);
        all[n_all][k] = '\0';
        for (size_t c = 1; c < k; c++)
            all[n_all][c] = (char)tolower((unsigned char)all[n_all][c]);
        n_all++;
    }
    qsort(all, n_all, sizeof *all, (int (*)(const void *, const void *))strcmp);
    g->names = calloc(n_all + 1, sizeof *g->names);
    g->n = 0;
    for (size_t i = 0; i < n_all;) {
        size_t j = i;
        while (j < n_all && strcmp(all[j], all[i]) == 0)
            j++;
        if (j - i >= (size_t)min)
            memcpy(g->names[g->n++], all[i], 64);
        i = j;
    }
    free(all);
}

/* The family name of a "LAST, First" individual (one word), or 0. */
static int family_of(const struct screen_entry *e, char *out, size_t cap)
{
    const char *comma = strchr(e->name, ',');
    if (!comma || comma == e->name || !gen_is_ascii(e->name))
        return 0;
    size_t n = (size_t)(comma - e->name);
    if (n >= cap || memchr(e->name, ' ', n) || n < 3)
        return 0;
    memcpy(out, e->name, n);
    out[n] = '\0';
    return 1;
}

/* Whether `word` (case-insensitive) is one of the words of the entry's names. */
static int entry_has_word(const struct screen_entry *e, const char *word)
{
    char buf[512];
    char *w[32];
    for (unsigned a = 0; a <= e->n_aliases; a++) {
        snprintf(buf, sizeof buf, "%s", a == 0 ? e->name : e->aliases[a - 1].name);
        int n = gen_words(buf, w, 32);
        for (int i = 0; i < n; i++)
            if (strcasecmp(w[i], word) == 0)
                return 1;
    }
    return 0;
}

/* Among the matches at or above the review floor, whether one is an entry the generators
 * make this query from; its generator's name, or NULL. */
static const char *flagged_also_positive(const char *query, const struct screen_result *r)
{
    for (uint32_t i = 0; i < r->n_matches; i++) {
        if (r->matches[i].score < 0.80f)
            continue;
        const char *how = also_positive(query, r->matches[i].entry);
        if (how)
            return how;
    }
    return NULL;
}

/* Builds one query of kind k; 0 when the drawn entry does not fit (draw again). `own` gets
 * the entry a positive must find. */
static int make_kind(enum kind k, const struct screen_list_set *ls, const struct given_names *g,
                     const struct key_set *namesakes, char *name, size_t cap, char *dob,
                     const char **country, const struct screen_entry **own)
{
    char flat[300];
    char *w[32];
    char buf[512];
    *country = NULL;
    dob[0] = '\0';
    *own = NULL;
    switch (k) {
    case K_DOB_RESIDENCE: {
        const struct screen_entry *e = random_individual(ls);
        if (!e->n_dobs)
            return 0;
        const struct screen_dob *d = &e->dobs[gen_below(e->n_dobs)];
        if (d->year != d->year_to || d->circa)
            return 0;
        if (d->day)
            snprintf(dob, 16, "%04d-%02d-%02d", d->year, d->month, d->day);
        else if (d->month)
            snprintf(dob, 16, "%04d-%02d", d->year, d->month);
        else
            snprintf(dob, 16, "%04d", d->year);
        if (!(*country = other_country(e)))
            return 0;
        if (!gen_perturb(e->name, 1, (enum gen_perturbation)gen_below(GEN_PERTURBATIONS), name,
                         cap))
            return 0;
        *own = e;
        return 1;
    }
    case K_PADDED: {
        const struct screen_entry *e = random_individual(ls);
        if (!gen_perturb(e->name, 1, GEN_EXACT, flat, sizeof flat))
            return 0;
        unsigned c = gen_below(GEN_CULTURES);
        char pad[128];
        if (gen_below(2))
            snprintf(pad, sizeof pad, "%s", gen_first[c][gen_below(24)]);
        else
            snprintf(pad, sizeof pad, "%s %s", gen_first[c][gen_below(24)],
                     gen_last[c][gen_below(24)]);
        if (gen_below(2))
            snprintf(name, cap, "%s %s", flat, pad);
        else
            snprintf(name, cap, "%s %s", pad, flat);
        *own = e;
        return 1;
    }
    case K_MARKUP: {
        const struct screen_entry *e =
            screen_list_set_entry(ls, gen_below((unsigned)screen_list_set_count(ls)));
        if (!gen_perturb(e->name, e->type == SCREEN_TYPE_INDIVIDUAL, GEN_EXACT, flat, sizeof flat))
            return 0;
        switch (gen_below(6)) {
        case 0:
            snprintf(name, cap, "<img src=x onerror=alert(1)> %s", flat);
            break;
        case 1:
            snprintf(name, cap, "<b>%s</b>", flat);
            break;
        case 2:
            snprintf(name, cap, "<a href=\"https://example.com/x?a=1&amp;b=2\">%s</a>", flat);
            break;
        case 3:
            snprintf(name, cap, "&lt;script&gt;alert(document.cookie)&lt;/script&gt;%s", flat);
            break;
        case 4: { /* a zero-width space inside the first word of 3+ bytes, after its
                   * second byte or the character that holds it (never inside a character) */
            size_t at = strcspn(flat, " ");
            if (at < 3)
                return 0;
            size_t cut = gen_char_end(flat, 1);
            snprintf(name, cap, "%.*s\xe2\x80\x8b%s", (int)cut, flat, flat + cut);
            break;
        }
        default: /* control characters around it */
            snprintf(name, cap, "\x01%s\x07", flat);
            break;
        }
        *own = e;
        return 1;
    }
    case K_SHORT_EDIT: {
        const struct screen_entry *e = random_individual(ls);
        if (!gen_perturb(e->name, 1, GEN_EXACT, flat, sizeof flat) || !gen_is_ascii(flat))
            return 0;
        snprintf(buf, sizeof buf, "%s", flat);
        int n = gen_words(buf, w, 32);
        if (n != 2)
            return 0;
        int i = gen_below(2);
        if (!short_word(w[i]))
            i = 1 - i;
        if (!short_word(w[i]))
            return 0;
        char word[16];
        snprintf(word, sizeof word, "%s", w[i]);
        for (char *p = word; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        edit_word(word);
        w[i] = word;
        gen_join(w, 2, name, cap);
        *own = e;
        return 1;
    }
    case K_NEG_FAMILY: {
        const struct screen_entry *e = random_individual(ls);
        char family[64];
        if (!family_of(e, family, sizeof family))
            return 0;
        unsigned c = gen_below(GEN_CULTURES);
        const char *given = gen_first[c][gen_below(24)];
        if (entry_has_word(e, given))
            return 0;
        snprintf(name, cap, "%s %s", given, family);
        return !key_set_has(namesakes, name);
    }
    case K_NEG_GIVEN: {
        if (!g->n)
            return 0;
        unsigned c = gen_below(GEN_CULTURES);
        snprintf(name, cap, "%s %s", g->names[gen_below((unsigned)g->n)],
                 gen_last[c][gen_below(24)]);
        return !key_set_has(namesakes, name);
    }
    default:
        return 0;
    }
}

struct kind_stats {
    unsigned long n, at_floor, at_hit, also; /* also: flagged negatives that are also positives */
};

static void run_kinds(struct screen_engine *eng, const struct screen_list_set *ls,
                      const struct key_set *namesakes, int per_kind, int verbose, FILE *dump,
                      struct kind_stats *st)
{
    struct given_names g = {0};
    given_names_build(&g, ls, 5);
    for (int k = 0; k < K_COUNT; k++) {
        int made = 0;
        while (made < per_kind) {
            char name[512], dob[16];
            const char *country;
            const struct screen_entry *own;
            if (!make_kind((enum kind)k, ls, &g, namesakes, name, sizeof name, dob, &country, &own))
                continue;
            made++;
            struct screen_query q = {.name = name, .type = SCREEN_TYPE_ANY};
            if (dob[0])
                q.dob = dob;
            q.country = country;
            if (gen_below(2) && k != K_MARKUP)
                q.type = SCREEN_TYPE_INDIVIDUAL;
            struct screen_result r;
            float score = 0;
            const char *why = "-", *matched = "-";
            char align[1024] = "";
            if (screen_query(eng, &q, NULL, &r) == 0) {
                for (uint32_t i = 0; i < r.n_matches; i++)
                    if (own ? r.matches[i].entry == own : i == 0) {
                        score = r.matches[i].score;
                        why = r.matches[i].entry->id;
                        matched = r.matches[i].matched_name;
                        if (dump)
                            alignment(&r.matches[i], align, sizeof align);
                        break;
                    }
                const char *how = !own && score >= 0.80f ? flagged_also_positive(name, &r) : NULL;
                st[k].also += how != NULL;
                if (verbose && ((own && score < 0.80f) || (!own && score >= 0.80f)))
                    printf("%s %-13s %.3f  \"%s\" dob %s country %s -> %s%s%s\n",
                           own ? "MISS" : "FP  ", kind_names[k], score, name, dob[0] ? dob : "-",
                           country ? country : "-", own ? own->id : why, how ? " also " : "",
                           how ? how : "");
                if (dump)
                    fprintf(dump, "%s\t%s\t%.4f\t%s\t%s\t%s\t%s\n", own ? "KP" : "KN",
                            kind_names[k], score, name, own ? own->id : why, align, matched);
                screen_result_release(&r);
            }
            st[k].n++;
            st[k].at_floor += score >= 0.80f;
            st[k].at_hit += score >= 0.95f;
        }
    }
    free(g.names);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    const char *lists[16];
    int n_lists = 0, n_pos = 5000, n_neg = 5000, verbose = 0, kind_size = 2000;
    unsigned long seed = 7;
    const char *dump_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--lists") == 0 && i + 1 < argc && n_lists < 16)
            lists[n_lists++] = argv[++i];
        else if (strcmp(argv[i], "--positives") == 0 && i + 1 < argc)
            n_pos = atoi(argv[++i]);
        else if (strcmp(argv[i], "--negatives") == 0 && i + 1 < argc)
            n_neg = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = 1;
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
            dump_path = argv[++i];
        else if (strcmp(argv[i], "--kind-size") == 0 && i + 1 < argc)
            kind_size = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--lists PATH]... [--positives N] [--negatives N] [--seed S] "
                    "[--verbose] [--dump FILE] [--kind-size N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n_pos < 1 || n_neg < 1 || kind_size < 1 || n_pos > 10000000 || n_neg > 10000000 ||
        kind_size > 10000000) {
        fprintf(stderr, "bench_accuracy: --positives, --negatives and --kind-size take 1 to "
                        "10000000\n");
        return 2;
    }
    if (n_lists == 0) {
        lists[n_lists++] = BENCH_SHARED "/data/sanctions/ofac-2021";
        lists[n_lists++] = BENCH_SHARED "/data/sanctions/un-2026-02-27/consolidated.xml";
    }
    struct screen_config cfg;
    screen_config_default(&cfg);
    cfg.min_score = 0.5;
    cfg.top_k = 50;
    struct screen_engine *eng;
    struct screen_error err = {0};
    screen_engine_new(&cfg, &eng);
    if (screen_engine_load(eng, lists, (size_t)n_lists, &err)) {
        fprintf(stderr, "bench_accuracy: %s\n", err.message);
        return 1;
    }
    struct screen_index *idx = screen_engine_acquire(eng);
    const struct screen_list_set *ls = screen_index_lists(idx);
    struct key_set namesakes = {0};
    key_set_build(&namesakes, ls);
    FILE *dump = dump_path ? fopen(dump_path, "w") : NULL;
    if (dump_path && !dump) {
        perror(dump_path);
        return 1;
    }
    gen_seed(seed);

    unsigned long pos_found[N_T] = {0}, neg_flag[N_T] = {0};
    unsigned long per_kind[GEN_PERTURBATIONS] = {0}, per_kind_found[GEN_PERTURBATIONS] = {0};
    unsigned long per_kind_hit[GEN_PERTURBATIONS] = {0};
    /* per band: clear, needs_review, hit */
    unsigned long pos_band[3] = {0}, neg_band[3] = {0}, excluded = 0, neg_also = 0;
    int made = 0;
    while (made < n_pos) {
        const struct screen_entry *e =
            screen_list_set_entry(ls, gen_below((unsigned)screen_list_set_count(ls)));
        /* the name: primary, or one strong alias / original-script name */
        const char *name = e->name;
        if (e->n_aliases && gen_below(2)) {
            const struct screen_alias *a = &e->aliases[gen_below(e->n_aliases)];
            if (a->kind == SCREEN_NAME_ALIAS || a->kind == SCREEN_NAME_ORIGINAL_SCRIPT)
                name = a->name;
        }
        enum gen_perturbation kind = (enum gen_perturbation)gen_below(GEN_PERTURBATIONS);
        char q_name[512];
        if (!gen_perturb(name, e->type == SCREEN_TYPE_INDIVIDUAL, kind, q_name, sizeof q_name))
            continue;
        made++;
        struct screen_query q = {.name = q_name, .type = SCREEN_TYPE_ANY};
        if (gen_below(2))
            q.type = e->type == SCREEN_TYPE_INDIVIDUAL ? SCREEN_TYPE_INDIVIDUAL
                                                       : SCREEN_TYPE_ORGANIZATION;
        struct screen_result r;
        float score = 0;
        char why[1024] = "";
        if (screen_query(eng, &q, NULL, &r) == 0) {
            for (uint32_t i = 0; i < r.n_matches; i++)
                if (r.matches[i].entry == e) {
                    score = r.matches[i].score;
                    if (dump)
                        alignment(&r.matches[i], why, sizeof why);
                    break;
                }
            screen_result_release(&r);
        }
        per_kind[kind]++;
        for (int t = 0; t < N_T; t++)
            pos_found[t] += score >= thresholds[t];
        pos_band[(score >= thresholds[1]) + (score >= thresholds[2])]++;
        if (dump)
            fprintf(dump, "P\t%s\t%.4f\t%s\t%s\t%s\n", gen_perturbation_names[kind], score, q_name,
                    e->id, why);
        per_kind_found[kind] += score >= 0.80;
        per_kind_hit[kind] += score >= 0.60;
        if (verbose && score < 0.80)
            printf("MISS %-16s %.3f  \"%s\"  <- \"%s\" (%s)\n", gen_perturbation_names[kind], score,
                   q_name, name, e->id);
    }
    for (int i = 0; i < n_neg; i++) {
        char q_name[256];
        gen_customer(q_name, sizeof q_name);
        if (key_set_has(&namesakes, q_name)) {
            /* a genuine namesake of a listed person: not a negative; draw another */
            if (verbose)
                printf("NAMESAKE \"%s\" (excluded)\n", q_name);
            excluded++;
            i--;
            continue;
        }
        struct screen_query q = {.name = q_name,
                                 .type = gen_below(2) ? SCREEN_TYPE_INDIVIDUAL : SCREEN_TYPE_ANY};
        struct screen_result r;
        float top = 0;
        char why[1024] = "", top_name[256] = "-";
        if (screen_query(eng, &q, NULL, &r) == 0) {
            if (r.n_matches) {
                top = r.matches[0].score;
                if (dump) {
                    alignment(&r.matches[0], why, sizeof why);
                    snprintf(top_name, sizeof top_name, "%s", r.matches[0].matched_name);
                }
            }
            const char *how = top >= 0.80 ? flagged_also_positive(q_name, &r) : NULL;
            neg_also += how != NULL;
            if (verbose && top >= 0.80)
                printf("FP   %.3f  \"%s\" -> \"%s\" (%s)%s%s\n", top, q_name,
                       r.matches[0].matched_name, r.matches[0].entry->id, how ? " also " : "",
                       how ? how : "");
            screen_result_release(&r);
        }
        for (int t = 0; t < N_T; t++)
            neg_flag[t] += top >= thresholds[t];
        neg_band[(top >= thresholds[1]) + (top >= thresholds[2])]++;
        if (dump)
            fprintf(dump, "N\t-\t%.4f\t%s\t%s\t%s\n", top, q_name, top_name, why);
    }
    printf("evaluation set: %d positives, %d negatives, seed %lu, %zu list entries\n", n_pos, n_neg,
           seed, screen_list_set_count(ls));
    printf("namesakes excluded from the negatives (same tokens as a list name): %lu\n\n", excluded);
    printf("%-26s %8s %14s %10s\n", "threshold", "recall", "neg. flagged", "precision");
    for (int t = 0; t < N_T; t++) {
        double recall = (double)pos_found[t] / n_pos;
        double fpr = (double)neg_flag[t] / n_neg;
        double tp = (double)pos_found[t], fp = (double)neg_flag[t] * n_pos / n_neg;
        printf("%-26s %8.4f %13.2f%% %10.4f\n", t_names[t], recall, 100.0 * fpr,
               tp + fp > 0 ? tp / (tp + fp) : 1.0);
    }
    static const char *const band_names[3] = {"clear (< 0.80)", "needs_review (0.80-0.95)",
                                              "hit (>= 0.95)"};
    printf("\n%-26s %10s %10s %10s %10s\n", "band", "positives", "negatives", "precision",
           "recall");
    for (int b = 2; b >= 0; b--) {
        double tp = (double)pos_band[b], fp = (double)neg_band[b] * n_pos / n_neg;
        printf("%-26s %10lu %10lu %10.4f %10.4f\n", band_names[b], pos_band[b], neg_band[b],
               tp + fp > 0 ? tp / (tp + fp) : 1.0, (double)pos_band[b] / n_pos);
    }
    printf("flagged negatives that are also positives (the same name made by a positive generator\n"
           "from a flagged entry): %lu of %lu; the others: %.2f%% of the negatives\n",
           neg_also, neg_flag[1], 100.0 * (double)(neg_flag[1] - neg_also) / n_neg);
    printf("\nrecall per perturbation    %8s %8s %8s\n", "n", "@0.80", "@0.60");
    for (int k = 0; k < GEN_PERTURBATIONS; k++)
        printf("  %-24s %8lu %8.4f %8.4f\n", gen_perturbation_names[k], per_kind[k],
               per_kind[k] ? (double)per_kind_found[k] / per_kind[k] : 0,
               per_kind[k] ? (double)per_kind_hit[k] / per_kind[k] : 0);

    /* the issue 12 kinds, after the main set so its draws are unchanged */
    struct kind_stats ks[K_COUNT] = {{0}};
    run_kinds(eng, ls, &namesakes, kind_size, verbose, dump, ks);
    printf("\nkinds (issue 12)           %8s %14s %14s\n", "n", "@0.80 (floor)", "@0.95 (hit)");
    unsigned long hit_tp = pos_band[2], hit_fp = neg_band[2];
    for (int k = 0; k < K_COUNT; k++) {
        int neg = k >= K_FIRST_NEGATIVE;
        printf("  %-24s %8lu %13.4f%s %13.4f%s\n", kind_names[k], ks[k].n,
               ks[k].n ? (double)ks[k].at_floor / (double)ks[k].n : 0, neg ? "F" : "R",
               ks[k].n ? (double)ks[k].at_hit / (double)ks[k].n : 0, neg ? "F" : "R");
        if (neg)
            hit_fp += ks[k].at_hit;
        else
            hit_tp += ks[k].at_hit;
    }
    printf("  (R: recall of the positives, F: share of negatives flagged)\n");
    for (int k = K_FIRST_NEGATIVE; k < K_COUNT; k++)
        printf("  %-24s flagged and also positives: %lu of %lu; the others: %.2f%%\n",
               kind_names[k], ks[k].also, ks[k].at_floor,
               ks[k].n ? 100.0 * (double)(ks[k].at_floor - ks[k].also) / (double)ks[k].n : 0);
    printf("precision in the hit band, main set and kinds: %.4f (%lu positives, %lu negatives)\n",
           hit_tp + hit_fp ? (double)hit_tp / (double)(hit_tp + hit_fp) : 1.0, hit_tp, hit_fp);
    if (dump)
        fclose(dump);
    key_set_free(&namesakes);
    screen_index_release(idx);
    screen_engine_free(eng);
    return 0;
}
