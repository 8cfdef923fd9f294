/*
 * bench_check — CPU cost of the pipeline's per-identity check against the engine's query alone.
 *
 * Seeds N identities in memory the way `bench/pipeline/run.sh` does (cloudsim's seeder: 1 %
 * planted from the lists, 3 % bad data, the same seed), reads them back as `/data/identities`
 * pages give them, then on one thread:
 *   - check:  pipeline_identity_hash + pipeline_check_identity for each identity (what the
 *             pipeline's coordinator does per identity and counts as "screening CPU");
 *   - engine: screen_query alone for the same identities, with the query built as the check
 *             builds it (name, dob, nationality and residence, gender, type).
 * Passes alternate (check, engine, check, engine, ...) so a slow spell of a shared machine
 * touches both; times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), not wall time.
 * It also prints a SHA-256 over everything the check produced (status, risk, score, reasons,
 * detail, audit record, alert text, basis, ...) so that two builds can be compared for
 * byte-identical results. Prints figures; never fails on a target.
 *
 *   bench_check [--lists PATH]... [--identities N] [--rounds R] [--seed S] [--only check|engine]
 *               [--bare]
 *
 * --bare screens only the name and type in the engine pass (as bench/screen does): the
 * difference to the full query is what dates of birth, countries and gender cost the engine.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "capp/buf.h"
#include "capp/crypto.h"
#include "capp/db.h"
#include "cloudsim/core.h"
#include "cloudsim/seed.h"
#include "kyc/pipeline_internal.h"
#include "kyc/quality.h"
#include "kyc/screen/screen.h"

#define INSTANCE "inst_00000000000000000000000000000001"
#define TODAY    "2026-12-07"

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *field(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The query pipeline_check_identity builds (kyc/pipeline_screen.c), for the engine-only pass. */
struct bench_query {
    struct screen_query q;
    char name[1024], dob[11], nat[3], ctry[3];
    int screen; /* 0: the check skips screening (no name, tokenized) */
};

static void build_query(const json_t *identity, struct bench_query *b)
{
    memset(b, 0, sizeof *b);
    int org = quality_is_organization(identity);
    if (org) {
        snprintf(b->name, sizeof b->name, "%s", field(identity, "organization_name"));
    } else {
        const char *parts[] = {field(identity, "first_name"), field(identity, "other_names"),
                               field(identity, "last_name")};
        size_t n = 0;
        for (size_t i = 0; i < 3; i++) {
            const char *s = parts[i];
            while (*s && isspace((unsigned char)*s))
                s++;
            if (!*s)
                continue;
            int w = snprintf(b->name + n, sizeof b->name - n, "%s%s", n ? " " : "", s);
            if (w < 0 || (size_t)w >= sizeof b->name - n)
                break;
            n += (size_t)w;
        }
    }
    b->screen = b->name[0] != 0;
    b->q.name = b->name;
    b->q.type = org ? SCREEN_TYPE_ORGANIZATION : SCREEN_TYPE_INDIVIDUAL;
    const char *dob = field(identity, "dob");
    if (!org && strlen(dob) >= 10 && strncmp(dob, "0001-01-01", 10) != 0) {
        memcpy(b->dob, dob, 10);
        b->q.dob = b->dob;
    }
    const char *nat = field(identity, "nationality"), *ctry = field(identity, "country");
    if (!org && *nat && quality_country_alpha2(nat, b->nat) == 0)
        b->q.nationality = b->nat;
    if (*ctry && quality_country_alpha2(ctry, b->ctry) == 0) {
        if (org)
            b->q.country = b->ctry;
        else
            b->q.residence = b->ctry;
    }
    const char *g = field(identity, "gender");
    if (!org && (strcasecmp(g, "male") == 0 || strcasecmp(g, "m") == 0))
        b->q.gender = SCREEN_GENDER_MALE;
    else if (!org && (strcasecmp(g, "female") == 0 || strcasecmp(g, "f") == 0))
        b->q.gender = SCREEN_GENDER_FEMALE;
}

/* A running digest: chain = SHA-256(chain || outputs of one identity). */
struct digest {
    char chain[CRYPTO_SHA256_HEX_BYTES];
    struct buf b;
};

/* One pass of the check over every identity; its CPU seconds. Digests the outputs when h. */
static double check_pass(struct screen_engine *eng, json_t *identities, struct digest *h,
                         long *errors)
{
    double spent = 0;
    for (size_t i = 0; i < json_array_size(identities); i++) {
        const json_t *item = json_array_get(identities, i);
        struct pipeline_checked c;
        memset(&c, 0, sizeof c);
        double t0 = thread_cpu();
        int rc = pipeline_identity_hash(item, c.identity_id, c.fields_hash);
        if (rc == 0)
            rc = pipeline_check_identity(eng, item, NULL, TODAY, NULL, NULL, &c);
        spent += thread_cpu() - t0;
        if (rc)
            (*errors)++;
        if (h && rc == 0) {
            char score[32];
            snprintf(score, sizeof score, "%.17g", c.score);
            char *audit = json_dumps(c.audit, JSON_COMPACT | JSON_SORT_KEYS);
            const char *parts[] = {c.identity_id, c.fields_hash,   c.basis,       c.status,
                                   c.risk,        c.identity_type, score,         c.display_name,
                                   c.name_tokens, c.reasons_json,  c.detail_json, c.alert_title,
                                   c.alert_text,  c.identity_json, audit};
            buf_reset(&h->b);
            int brc = buf_append_str(&h->b, h->chain);
            for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
                brc |= buf_append(&h->b, parts[k] ? parts[k] : "(null)",
                                  strlen(parts[k] ? parts[k] : "(null)") + 1);
            if (brc)
                (*errors)++;
            crypto_sha256_hex(h->b.data, h->b.len, h->chain);
            free(audit);
        }
        pipeline_checked_clear(&c);
    }
    return spent;
}

static double engine_pass(struct screen_engine *eng, const struct bench_query *qs, size_t n,
                          long *screened)
{
    double spent = 0;
    for (size_t i = 0; i < n; i++) {
        if (!qs[i].screen)
            continue;
        struct screen_result r;
        double t0 = thread_cpu();
        int rc = screen_query(eng, &qs[i].q, NULL, &r);
        if (rc == 0)
            screen_result_release(&r);
        spent += thread_cpu() - t0;
        *screened += rc == 0;
    }
    return spent;
}

int main(int argc, char **argv)
{
    const char *lists[8];
    int n_lists = 0, rounds = 3;
    long long n = 20000;
    unsigned long long seed = 0;
    const char *only = NULL;
    int bare = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--lists") == 0 && i + 1 < argc && n_lists < 8)
            lists[n_lists++] = argv[++i];
        else if (strcmp(argv[i], "--identities") == 0 && i + 1 < argc)
            n = atoll(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--bare") == 0)
            bare = 1;
        else {
            fprintf(stderr,
                    "usage: %s [--lists PATH]... [--identities N] [--rounds R] [--seed S]"
                    " [--only check|engine] [--bare]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n_lists == 0) {
        lists[n_lists++] = BENCH_SHARED "/data/sanctions/ofac-2021";
        lists[n_lists++] = BENCH_SHARED "/data/sanctions/un-2026-02-27/consolidated.xml";
    }
    if (quality_init(NULL) != 0) {
        fprintf(stderr, "bench_check: quality_init failed\n");
        return 1;
    }
    struct screen_engine *eng = NULL;
    struct screen_error err = {0};
    if (screen_engine_new(NULL, &eng) || screen_engine_load(eng, lists, (size_t)n_lists, &err)) {
        fprintf(stderr, "bench_check: %s\n", err.message);
        return 1;
    }
    /* the identities, as the pipeline bench seeds them and /data/identities pages give them */
    sqlite3 *db = NULL;
    struct cs_seed_options o = {.instance_id = INSTANCE,
                                .identities = n,
                                .seed = seed,
                                .plant_rate = 0.01,
                                .bad_rate = 0.03,
                                .plant_qualifier_match = CS_SEED_DEFAULT_QUALIFIER_MATCH};
    for (int i = 0; i < n_lists; i++)
        o.plant_lists[o.plant_list_count++] = lists[i];
    struct cs_seed_report rep;
    if (db_open(":memory:", 0, &db) || cs_seed_run(db, &o, &rep)) {
        fprintf(stderr, "bench_check: seeding failed\n");
        return 1;
    }
    json_t *identities = json_array();
    for (long long off = 0;; off += 100) {
        json_t *page = NULL;
        if (core_list(db, core_resource(CORE_IDENTITIES), INSTANCE, NULL, 100, off,
                      CORE_FLAVOUR_DATA, &page, NULL)) {
            fprintf(stderr, "bench_check: reading identities failed\n");
            return 1;
        }
        size_t got = json_array_size(page);
        json_array_extend(identities, page);
        json_decref(page);
        if (got < 100)
            break;
    }
    sqlite3_close(db);
    size_t count = json_array_size(identities);
    struct bench_query *qs = calloc(count, sizeof *qs);
    for (size_t i = 0; i < count; i++) {
        build_query(json_array_get(identities, i), &qs[i]);
        if (bare)
            qs[i].q = (struct screen_query){.name = qs[i].name, .type = qs[i].q.type};
    }

    /* warm-up (thread scratch, ICU transliterators) and the digest of the outputs */
    struct digest h = {.chain = ""};
    buf_init(&h.b, 64 * 1024 * 1024);
    long errors = 0, screened = 0;
    (void)check_pass(eng, identities, &h, &errors);
    buf_free(&h.b);
    double check_s = 0, engine_s = 0;
    for (int r = 0; r < rounds; r++) {
        long ignored = 0;
        if (!only || strcmp(only, "check") == 0)
            check_s += check_pass(eng, identities, NULL, &ignored);
        screened = 0;
        if (!only || strcmp(only, "engine") == 0)
            engine_s += engine_pass(eng, qs, count, &screened);
    }
    printf("identities:        %zu (seed %llu; %lld planted, %lld bad)\n", count, seed, rep.planted,
           rep.bad);
    printf("check errors:      %ld\n", errors);
    printf("outputs sha256:    %s\n", h.chain);
    if (check_s > 0)
        printf("check CPU:         %.1f us per identity (%d rounds)\n",
               check_s / rounds / (double)count * 1e6, rounds);
    if (engine_s > 0)
        printf("engine CPU:        %.1f us per screened query (%ld screened per round%s)\n",
               engine_s / rounds / (double)screened * 1e6, screened,
               bare ? "; name and type only" : "");
    if (check_s > 0 && engine_s > 0)
        printf("ratio:             %.2f (check per identity / engine per query)\n",
               (check_s / (double)count) / (engine_s / (double)screened));
    free(qs);
    json_decref(identities);
    screen_engine_free(eng);
    quality_shutdown();
    return 0;
}
