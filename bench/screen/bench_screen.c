/*
 * bench_screen — speed and memory of the screening engine on the shipped lists.
 *
 * Loads OFAC 2021 + UN 2026 (or the --lists given), reports list parsing and index build
 * time and the resident set size, then screens 10,000 queries (half synthetic customers,
 * half perturbed list names; seeded) one at a time on one core and reports p50/p99 latency
 * and screens per second. Prints figures; never fails on a target.
 *
 *   bench_screen [--lists PATH]... [--queries N] [--seed S]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_gen.h"
#include "kyc/screen/screen.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *lists[16];
    int n_lists = 0, n_queries = 10000;
    unsigned long seed = 42;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--lists") == 0 && i + 1 < argc && n_lists < 16)
            lists[n_lists++] = argv[++i];
        else if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc)
            n_queries = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--lists PATH]... [--queries N] [--seed S]\n", argv[0]);
            return 2;
        }
    }
    if (n_lists == 0) {
        lists[n_lists++] = BENCH_SHARED "/data/sanctions/ofac-2021";
        lists[n_lists++] = BENCH_SHARED "/data/sanctions/un-2026-02-27/consolidated.xml";
    }
    long rss0 = rss_kb();
    double t0 = now();
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err = {0};
    for (int i = 0; i < n_lists; i++)
        if (screen_list_set_load_path(set, lists[i], &err)) {
            fprintf(stderr, "bench_screen: %s\n", err.message);
            return 1;
        }
    double t1 = now();
    struct screen_index *idx;
    if (screen_index_build(set, &idx)) {
        fprintf(stderr, "bench_screen: index build failed\n");
        return 1;
    }
    double t2 = now();
    struct screen_engine *eng;
    screen_engine_new(NULL, &eng);
    screen_engine_swap(eng, idx);
    struct screen_index_stats st;
    struct screen_index *ref = screen_engine_acquire(eng);
    screen_index_stats(ref, &st);
    const struct screen_list_set *ls = screen_index_lists(ref);

    /* queries: synthetic customers and perturbed list names, with a type half the time */
    gen_seed(seed);
    char(*names)[512] = malloc((size_t)n_queries * sizeof *names);
    enum screen_entity_type *types = malloc((size_t)n_queries * sizeof *types);
    for (int i = 0; i < n_queries; i++) {
        types[i] = SCREEN_TYPE_ANY;
        if (i % 2 == 0) {
            gen_customer(names[i], sizeof names[i]);
            if (gen_below(2))
                types[i] = SCREEN_TYPE_INDIVIDUAL;
            continue;
        }
        for (;;) {
            const struct screen_entry *e =
                screen_list_set_entry(ls, gen_below((unsigned)screen_list_set_count(ls)));
            if (gen_perturb(e->name, e->type == SCREEN_TYPE_INDIVIDUAL,
                            (enum gen_perturbation)gen_below(GEN_PERTURBATIONS), names[i],
                            sizeof names[i])) {
                if (gen_below(2))
                    types[i] = e->type == SCREEN_TYPE_INDIVIDUAL ? SCREEN_TYPE_INDIVIDUAL
                                                                 : SCREEN_TYPE_ORGANIZATION;
                break;
            }
        }
    }
    double *lat = malloc((size_t)n_queries * sizeof *lat);
    unsigned long hits = 0, reviews = 0;
    /* warm-up: scratch allocation, ICU transliterators, caches */
    for (int i = 0; i < 200 && i < n_queries; i++) {
        struct screen_query q = {.name = names[i], .type = types[i]};
        struct screen_result r;
        if (screen_query(eng, &q, NULL, &r) == 0)
            screen_result_release(&r);
    }
    double q0 = now();
    for (int i = 0; i < n_queries; i++) {
        struct screen_query q = {.name = names[i], .type = types[i]};
        struct screen_result r;
        double a = now();
        int rc = screen_query(eng, &q, NULL, &r);
        lat[i] = now() - a;
        if (rc == 0) {
            hits += r.band == SCREEN_BAND_HIT;
            reviews += r.band == SCREEN_BAND_REVIEW;
            screen_result_release(&r);
        }
    }
    double q1 = now();
    qsort(lat, (size_t)n_queries, sizeof *lat, cmp_double);
    long rss1 = rss_kb();
    printf("lists: %zu entries (", screen_list_set_count(ls));
    for (size_t i = 0; i < screen_list_set_version_count(ls); i++)
        printf("%s%s %s", i ? ", " : "", screen_list_set_version(ls, i)->source,
               screen_list_set_version(ls, i)->date);
    printf(")\nindex: %u names, %u tokens, %u postings\n", st.names, st.tokens, st.postings);
    printf("parse time:        %.3f s\n", t1 - t0);
    printf("index build time:  %.3f s (parse + build %.3f s)\n", t2 - t1, t2 - t0);
    printf("RSS:               %.1f MB after build, %.1f MB after queries (%.1f MB at start)\n",
           (double)rss1 / 1024.0, (double)rss1 / 1024.0, (double)rss0 / 1024.0);
    printf("queries:           %d (seed %lu; %lu hit, %lu needs_review)\n", n_queries, seed, hits,
           reviews);
    printf("latency p50:       %.1f us\n", lat[n_queries / 2] * 1e6);
    printf("latency p90:       %.1f us\n", lat[n_queries * 9 / 10] * 1e6);
    printf("latency p99:       %.1f us\n", lat[n_queries * 99 / 100] * 1e6);
    printf("latency max:       %.1f us\n", lat[n_queries - 1] * 1e6);
    printf("throughput:        %.0f screens/s on one core\n", n_queries / (q1 - q0));
    screen_index_release(ref);
    screen_engine_free(eng);
    free(names);
    free(types);
    free(lat);
    return 0;
}
