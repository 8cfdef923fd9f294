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
 *   bench_accuracy [--lists PATH]... [--positives N] [--negatives N] [--seed S] [--verbose]
 *                  [--dump FILE]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../screen/bench_gen.h"
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

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    const char *lists[16];
    int n_lists = 0, n_pos = 5000, n_neg = 5000, verbose = 0;
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
        else {
            fprintf(stderr,
                    "usage: %s [--lists PATH]... [--positives N] [--negatives N] [--seed S] "
                    "[--verbose] [--dump FILE]\n",
                    argv[0]);
            return 2;
        }
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
    unsigned long pos_band[3] = {0}, neg_band[3] = {0}, excluded = 0;
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
        if (!gen_perturb(name, kind, q_name, sizeof q_name))
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
            if (verbose && top >= 0.80)
                printf("FP   %.3f  \"%s\" -> \"%s\" (%s)\n", top, q_name, r.matches[0].matched_name,
                       r.matches[0].entry->id);
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
    printf("\nrecall per perturbation    %8s %8s %8s\n", "n", "@0.80", "@0.60");
    for (int k = 0; k < GEN_PERTURBATIONS; k++)
        printf("  %-24s %8lu %8.4f %8.4f\n", gen_perturbation_names[k], per_kind[k],
               per_kind[k] ? (double)per_kind_found[k] / per_kind[k] : 0,
               per_kind[k] ? (double)per_kind_hit[k] / per_kind[k] : 0);
    if (dump)
        fclose(dump);
    key_set_free(&namesakes);
    screen_index_release(idx);
    screen_engine_free(eng);
    return 0;
}
