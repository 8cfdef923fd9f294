/*
 * Corpus replay driver for builds without libFuzzer (gcc, sanitizer runs).
 *
 * Usage: <target> CORPUS_DIR [MUTATIONS]
 * Feeds every corpus file to LLVMFuzzerTestOneInput, then MUTATIONS inputs derived from the
 * corpus by a deterministic xorshift generator (byte flips, truncations, insertions, splices),
 * so a plain `ctest` still drives each parser through malformed input. A crash or sanitizer
 * report fails the test; a clean run prints what it covered.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sample {
    uint8_t *data;
    size_t size;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static int read_file(const char *path, struct sample *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    out->data = buf;
    out->size = len;
    return 0;
}

static void mutate_and_run(const struct sample *corpus, size_t count)
{
    const struct sample *a = &corpus[next_random() % count];
    size_t cap = a->size * 2 + 64;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return;
    size_t len = a->size;
    memcpy(buf, a->data, len);
    int edits = 1 + (int)(next_random() % 8);
    for (int i = 0; i < edits; i++) {
        switch (next_random() % 6) {
        case 0: /* flip a byte */
            if (len)
                buf[next_random() % len] ^= (uint8_t)(1u << (next_random() % 8));
            break;
        case 1: /* truncate */
            if (len)
                len = next_random() % len;
            break;
        case 2: /* insert an interesting byte */
            if (len < cap) {
                static const uint8_t interesting[] = {0,   '"',  '\\', '{',  '}',  '[',  ']', ',',
                                                      ':', '\n', '\r', 0x1a, 0xff, 0xc3, '<', '>'};
                size_t at = len ? next_random() % len : 0;
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = interesting[next_random() % sizeof interesting];
                len++;
            }
            break;
        case 3: /* delete a range */
            if (len > 2) {
                size_t at = next_random() % len;
                size_t n = 1 + next_random() % (len - at);
                memmove(buf + at, buf + at + n, len - at - n);
                len -= n;
            }
            break;
        case 4: { /* splice from another sample */
            const struct sample *b = &corpus[next_random() % count];
            if (b->size && len) {
                size_t from = next_random() % b->size;
                size_t n = 1 + next_random() % (b->size - from);
                size_t at = next_random() % len;
                if (at + n > cap)
                    n = cap - at;
                memcpy(buf + at, b->data + from, n);
                if (at + n > len)
                    len = at + n;
            }
            break;
        }
        default: /* duplicate a range */
            if (len && len < cap / 2) {
                size_t at = next_random() % len;
                size_t n = 1 + next_random() % (len - at);
                if (len + n <= cap) {
                    memmove(buf + at + n, buf + at, len - at);
                    len += n;
                }
            }
            break;
        }
    }
    /* Hand the target an exact-size heap copy so ASan sees any overread. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact) {
        memcpy(exact, buf, len);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS]\n", argv[0]);
        return 2;
    }
    long mutations = argc > 2 ? strtol(argv[2], NULL, 10) : 10000;
    DIR *dir = opendir(argv[1]);
    if (!dir) {
        fprintf(stderr, "%s: cannot open corpus %s\n", argv[0], argv[1]);
        return 2;
    }
    struct sample *corpus = NULL;
    size_t count = 0, cap = 0;
    struct dirent *entry;
    char path[4096];
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", argv[1], entry->d_name);
        struct sample s;
        if (read_file(path, &s) != 0)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            struct sample *grown = realloc(corpus, cap * sizeof *corpus);
            if (!grown)
                return 2;
            corpus = grown;
        }
        corpus[count++] = s;
        LLVMFuzzerTestOneInput(s.data, s.size);
    }
    closedir(dir);
    if (count == 0) {
        fprintf(stderr, "%s: empty corpus %s\n", argv[0], argv[1]);
        return 2;
    }
    for (long i = 0; i < mutations; i++)
        mutate_and_run(corpus, count);
    printf("replayed %zu corpus files and %ld mutations\n", count, mutations);
    for (size_t i = 0; i < count; i++)
        free(corpus[i].data);
    free(corpus);
    return 0;
}
