/*
 * bench_accuracy — recall and precision of the screening engine on a generated, seeded
 * evaluation set over the shipped lists.
 *
 * Positives: list names and aliases (primary, strong aliases, original-script names) with one
 * realistic perturbation each (bench/screen/bench_gen.h: exact, typo, swapped order, dropped
 * or added middle name, diacritics, transliteration variant, initial). A positive is found at
 * threshold t when its own entry scores ≥ t. Negatives: synthetic customers from eight
 * cultures; a negative is flagged at t when any entry scores ≥ t. Reported per threshold
 * (recall floor 0.60, review floor 0.80, hit 0.95) and per perturbation. Precision at t is
 * TP / (TP + FP) with as many negatives as positives.
 *
 *   bench_accuracy [--lists PATH]... [--positives N] [--negatives N] [--seed S]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../screen/bench_gen.h"
#include "kyc/screen/screen.h"

#define N_T 3
static const double thresholds[N_T] = {0.60, 0.80, 0.95};
static const char *const t_names[N_T] = {"0.60 (recall-mode floor)", "0.80 (review floor)",
                                         "0.95 (hit)"};

int main(int argc, char **argv)
{
    const char *lists[16];
    int n_lists = 0, n_pos = 5000, n_neg = 5000, verbose = 0;
    unsigned long seed = 7;
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
        else {
            fprintf(stderr,
                    "usage: %s [--lists PATH]... [--positives N] [--negatives N] [--seed S] "
                    "[--verbose]\n",
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
    gen_seed(seed);

    unsigned long pos_found[N_T] = {0}, neg_flag[N_T] = {0};
    unsigned long per_kind[GEN_PERTURBATIONS] = {0}, per_kind_found[GEN_PERTURBATIONS] = {0};
    unsigned long per_kind_hit[GEN_PERTURBATIONS] = {0};
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
        if (screen_query(eng, &q, NULL, &r) == 0) {
            for (uint32_t i = 0; i < r.n_matches; i++)
                if (r.matches[i].entry == e) {
                    score = r.matches[i].score;
                    break;
                }
            screen_result_release(&r);
        }
        per_kind[kind]++;
        for (int t = 0; t < N_T; t++)
            pos_found[t] += score >= thresholds[t];
        per_kind_found[kind] += score >= 0.80;
        per_kind_hit[kind] += score >= 0.60;
        if (verbose && score < 0.80)
            printf("MISS %-16s %.3f  \"%s\"  <- \"%s\" (%s)\n", gen_perturbation_names[kind], score,
                   q_name, name, e->id);
    }
    for (int i = 0; i < n_neg; i++) {
        char q_name[256];
        gen_customer(q_name, sizeof q_name);
        struct screen_query q = {.name = q_name,
                                 .type = gen_below(2) ? SCREEN_TYPE_INDIVIDUAL : SCREEN_TYPE_ANY};
        struct screen_result r;
        float top = 0;
        if (screen_query(eng, &q, NULL, &r) == 0) {
            if (r.n_matches)
                top = r.matches[0].score;
            if (verbose && top >= 0.80)
                printf("FP   %.3f  \"%s\" -> \"%s\" (%s)\n", top, q_name, r.matches[0].matched_name,
                       r.matches[0].entry->id);
            screen_result_release(&r);
        }
        for (int t = 0; t < N_T; t++)
            neg_flag[t] += top >= thresholds[t];
    }
    printf("evaluation set: %d positives, %d negatives, seed %lu, %zu list entries\n\n", n_pos,
           n_neg, seed, screen_list_set_count(ls));
    printf("%-26s %8s %14s %10s\n", "threshold", "recall", "neg. flagged", "precision");
    for (int t = 0; t < N_T; t++) {
        double recall = (double)pos_found[t] / n_pos;
        double fpr = (double)neg_flag[t] / n_neg;
        double tp = (double)pos_found[t], fp = (double)neg_flag[t] * n_pos / n_neg;
        printf("%-26s %8.4f %13.2f%% %10.4f\n", t_names[t], recall, 100.0 * fpr,
               tp + fp > 0 ? tp / (tp + fp) : 1.0);
    }
    printf("\nrecall per perturbation    %8s %8s %8s\n", "n", "@0.80", "@0.60");
    for (int k = 0; k < GEN_PERTURBATIONS; k++)
        printf("  %-24s %8lu %8.4f %8.4f\n", gen_perturbation_names[k], per_kind[k],
               per_kind[k] ? (double)per_kind_found[k] / per_kind[k] : 0,
               per_kind[k] ? (double)per_kind_hit[k] / per_kind[k] : 0);
    screen_index_release(idx);
    screen_engine_free(eng);
    return 0;
}
