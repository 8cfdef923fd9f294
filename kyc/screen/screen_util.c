/*
 * screen_util.c — small shared pieces of the engine: error messages, the arena, the list set
 * container the loaders fill, the sorted multimap used for every index lookup table,
 * whole-file reads and SHA-256. Choosing a loader for a path is screen_load.c's job.
 *
 * The multimap is a pair of parallel arrays sorted by key and searched by binary search. It
 * is built once per index, needs no resizing or tombstones, and a lookup over ~200k keys costs
 * ~18 comparisons on contiguous memory, which is as fast as a hash table at this size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "kyc/screen/screen_internal.h"

int screen_fail(struct screen_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void screen_error_prefix(struct screen_error *err, const char *prefix)
{
    if (!err)
        return;
    char msg[sizeof err->message * 2];
    size_t pl = strlen(prefix), ml = strlen(err->message);
    if (pl > sizeof err->message - 1)
        pl = sizeof err->message - 1;
    memcpy(msg, prefix, pl);
    memcpy(msg + pl, err->message, ml + 1);
    size_t total = pl + ml;
    if (total > sizeof err->message - 1)
        total = sizeof err->message - 1;
    memcpy(err->message, msg, total);
    err->message[total] = '\0';
}

/* ---------------------------------------------------------------- arena */

struct screen_arena_chunk {
    struct screen_arena_chunk *next;
    size_t size;
    max_align_t data[];
};

#define ARENA_CHUNK (256u * 1024u)

void *screen_arena_alloc(struct screen_arena *a, size_t n)
{
    n = (n + 15u) & ~(size_t)15u;
    if (!a->head || a->used + n > a->cap) {
        size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        struct screen_arena_chunk *c = malloc(sizeof *c + size);
        if (!c)
            return NULL;
        c->next = a->head;
        c->size = size;
        a->head = c;
        a->used = 0;
        a->cap = size;
    }
    void *p = (char *)a->head->data + a->used;
    a->used += n;
    return p;
}

char *screen_arena_strndup(struct screen_arena *a, const char *s, size_t n)
{
    char *p = screen_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void screen_arena_free(struct screen_arena *a)
{
    struct screen_arena_chunk *c = a->head;
    while (c) {
        struct screen_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = a->cap = 0;
}

/* Moves `from`'s chunks under `to`; `to` keeps allocating from its own current chunk. */
static void arena_adopt(struct screen_arena *to, struct screen_arena *from)
{
    if (!from->head)
        return;
    if (!to->head) {
        *to = *from;
    } else {
        struct screen_arena_chunk *last = from->head;
        while (last->next)
            last = last->next;
        last->next = to->head->next;
        to->head->next = from->head;
    }
    from->head = NULL;
    from->used = from->cap = 0;
}

/* ---------------------------------------------------------------- list set basics */

struct screen_list_set *screen_list_set_new(void)
{
    return calloc(1, sizeof(struct screen_list_set));
}

void screen_list_set_free(struct screen_list_set *set)
{
    if (!set)
        return;
    screen_arena_free(&set->arena);
    free(set->entries);
    free(set);
}

int screen_list_set_append(struct screen_list_set *set, const struct screen_entry *e)
{
    if (set->n_entries >= SCREEN_MAX_ENTRIES)
        return CAPP_ETOOBIG;
    if (set->n_entries == set->cap_entries) {
        size_t cap = set->cap_entries ? set->cap_entries * 2 : 1024;
        struct screen_entry *grown = realloc(set->entries, cap * sizeof *grown);
        if (!grown)
            return CAPP_ENOMEM;
        set->entries = grown;
        set->cap_entries = cap;
    }
    set->entries[set->n_entries++] = *e;
    return 0;
}

int screen_list_set_add_version(struct screen_list_set *set, const struct screen_list_version *v)
{
    if (set->n_versions >= sizeof set->versions / sizeof set->versions[0])
        return CAPP_ETOOBIG;
    set->versions[set->n_versions++] = *v;
    return 0;
}

int screen_list_set_merge(struct screen_list_set *to, struct screen_list_set *from)
{
    if (to->n_entries + from->n_entries > SCREEN_MAX_ENTRIES)
        return CAPP_ETOOBIG;
    if (to->n_versions + from->n_versions > sizeof to->versions / sizeof to->versions[0])
        return CAPP_ETOOBIG;
    size_t need = to->n_entries + from->n_entries;
    if (need > to->cap_entries) {
        struct screen_entry *grown = realloc(to->entries, need * sizeof *grown);
        if (!grown)
            return CAPP_ENOMEM;
        to->entries = grown;
        to->cap_entries = need;
    }
    if (from->n_entries)
        memcpy(to->entries + to->n_entries, from->entries, from->n_entries * sizeof *to->entries);
    to->n_entries = need;
    for (size_t i = 0; i < from->n_versions; i++)
        to->versions[to->n_versions++] = from->versions[i];
    arena_adopt(&to->arena, &from->arena);
    from->n_entries = 0;
    from->n_versions = 0;
    return 0;
}

size_t screen_list_set_count(const struct screen_list_set *set)
{
    return set ? set->n_entries : 0;
}

const struct screen_entry *screen_list_set_entry(const struct screen_list_set *set, size_t i)
{
    return set && i < set->n_entries ? &set->entries[i] : NULL;
}

size_t screen_list_set_version_count(const struct screen_list_set *set)
{
    return set ? set->n_versions : 0;
}

const struct screen_list_version *screen_list_set_version(const struct screen_list_set *set,
                                                          size_t i)
{
    return set && i < set->n_versions ? &set->versions[i] : NULL;
}

/* ---------------------------------------------------------------- files and hashing */

int screen_read_file(const char *path, char **out, size_t *len, struct screen_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return screen_fail(err, CAPP_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return screen_fail(err, CAPP_EIO, "%s: not a regular file", path);
    }
    if ((unsigned long long)st.st_size > SCREEN_MAX_LIST_FILE_BYTES) {
        fclose(f);
        return screen_fail(err, CAPP_ETOOBIG, "%s: %lld bytes exceeds the %u-byte list file limit",
                           path, (long long)st.st_size, SCREEN_MAX_LIST_FILE_BYTES);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        fclose(f);
        return screen_fail(err, CAPP_ENOMEM, "%s: out of memory", path);
    }
    size_t got = size ? fread(buf, 1, size, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (bad || got != size) {
        free(buf);
        return screen_fail(err, CAPP_EIO, "%s: short read", path);
    }
    buf[size] = '\0';
    *out = buf;
    *len = size;
    return 0;
}

void screen_sha256_hex(const char *const *parts, const size_t *lens, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    out[0] = '\0';
    if (!ctx)
        return;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
        for (size_t i = 0; i < n; i++)
            if (parts[i])
                EVP_DigestUpdate(ctx, parts[i], lens[i]);
        EVP_DigestFinal_ex(ctx, md, &md_len);
    }
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < md_len && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

size_t screen_collapse_space(char *s, size_t len)
{
    size_t o = 0;
    int space = 1; /* drops leading space */
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
            if (!space)
                s[o++] = ' ';
            space = 1;
        } else {
            s[o++] = c;
            space = 0;
        }
    }
    while (o > 0 && s[o - 1] == ' ')
        o--;
    s[o] = '\0';
    return o;
}

/* ---------------------------------------------------------------- multimap */

static void sift(uint64_t *k, uint32_t *v, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n &&
            (k[child + 1] > k[child] || (k[child + 1] == k[child] && v[child + 1] > v[child])))
            child++;
        if (k[root] > k[child] || (k[root] == k[child] && v[root] >= v[child]))
            return;
        uint64_t tk = k[root];
        k[root] = k[child];
        k[child] = tk;
        uint32_t tv = v[root];
        v[root] = v[child];
        v[child] = tv;
        root = child;
    }
}

void screen_multimap_init(struct screen_multimap *m, uint64_t *keys, uint32_t *values, size_t n)
{
    /* heap sort by (key, value): no extra memory, deterministic order of values */
    for (size_t i = n / 2; i-- > 0;)
        sift(keys, values, i, n);
    for (size_t end = n; end-- > 1;) {
        uint64_t tk = keys[0];
        keys[0] = keys[end];
        keys[end] = tk;
        uint32_t tv = values[0];
        values[0] = values[end];
        values[end] = tv;
        sift(keys, values, 0, end);
    }
    /* drop duplicate (key, value) pairs */
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o && keys[o - 1] == keys[i] && values[o - 1] == values[i])
            continue;
        keys[o] = keys[i];
        values[o] = values[i];
        o++;
    }
    m->keys = keys;
    m->values = values;
    m->n = o;
}

size_t screen_multimap_find(const struct screen_multimap *m, uint64_t key, size_t *count)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < m->n && m->keys[end] == key)
        end++;
    *count = end - lo;
    return lo;
}

void screen_multimap_free(struct screen_multimap *m)
{
    free(m->keys);
    free(m->values);
    m->keys = NULL;
    m->values = NULL;
    m->n = 0;
}

size_t screen_document_key(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; s && *s && o + 1 < cap; s++) {
        char c = *s;
        if (c >= 'a' && c <= 'z')
            out[o++] = (char)(c - 'a' + 'A');
        else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            out[o++] = c;
    }
    if (cap)
        out[o] = '\0';
    return o;
}

int screen_date_valid(const char *s, size_t len)
{
    if (len < 10)
        return 0;
    for (int i = 0; i < 10; i++)
        if (i == 4 || i == 7 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return 0;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    static const int days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
        return 0;
    return m != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}
