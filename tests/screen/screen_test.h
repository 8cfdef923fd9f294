/*
 * screen_test.h — helpers shared by the screening tests: fixture paths, the real shared list
 * files (tests skip with a message when they are absent), and building an engine from them.
 */
#ifndef SCREEN_TEST_H
#define SCREEN_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "capp/err.h"
#include "kyc/screen/screen.h"

#ifndef SCREEN_FIXTURES
#error "SCREEN_FIXTURES must point at tests/screen/fixtures"
#endif

static inline const char *fixture(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", SCREEN_FIXTURES, name);
    return buf;
}

/* Path of a file under ../shared/data/sanctions, or NULL (with a message) when absent. */
static inline const char *shared_data(const char *rel, char *buf, size_t cap)
{
    const char *dir = getenv("KYC_SHARED_DIR");
    if (!dir)
        dir = SCREEN_SOURCE_DIR "/../shared";
    snprintf(buf, cap, "%s/data/sanctions/%s", dir, rel);
    struct stat st;
    if (stat(buf, &st) != 0) {
        printf("SKIP: shared list data %s not present\n", buf);
        return NULL;
    }
    return buf;
}

static inline char *read_all(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* An engine over the OFAC and UN fixtures. */
static inline struct screen_engine *fixture_engine(const struct screen_config *cfg)
{
    char a[512], b[512];
    const char *paths[2] = {fixture("ofac", a, sizeof a), fixture("un.xml", b, sizeof b)};
    struct screen_engine *eng = NULL;
    struct screen_error err = {0};
    assert_int_equal(screen_engine_new(cfg, &eng), 0);
    int rc = screen_engine_load(eng, paths, 2, &err);
    if (rc)
        fail_msg("fixture load failed: %s", err.message);
    return eng;
}

/* Queries e with floor min_score and top_k, and copies the match of entry `id` into out (may be
 * NULL; zeroed when the entry is absent). 1 when that entry came back, 0 when not; a failed
 * query fails the test. */
static inline int screen_test_find(struct screen_engine *e, const struct screen_query *q,
                                   double min_score, uint32_t top_k, const char *id,
                                   struct screen_match *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    struct screen_config cfg;
    screen_config_default(&cfg);
    cfg.min_score = min_score;
    cfg.top_k = top_k;
    struct screen_result r;
    int rc = screen_query(e, q, &cfg, &r);
    if (rc)
        fail_msg("query \"%s\" failed: %d", q->name, rc);
    int found = 0;
    for (uint32_t i = 0; i < r.n_matches && !found; i++)
        if (strcmp(r.matches[i].entry->id, id) == 0) {
            if (out)
                *out = r.matches[i];
            found = 1;
        }
    screen_result_release(&r);
    return found;
}

#endif
