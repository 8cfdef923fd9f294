/*
 * screen_internal.h — private structures shared by the engine's files. Not for the app.
 *
 * Memory model: a list set owns one arena; every string and attribute array of its entries
 * is carved from it and freed at once with the set. The index owns the set and a handful of
 * flat arrays (no per-name allocations), so building is a few large allocations and freeing
 * an index is O(number of arrays).
 */
#ifndef SCREEN_INTERNAL_H
#define SCREEN_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "capp/err.h"
#include "kyc/screen/screen.h"

/* ---------------------------------------------------------------- errors */

int screen_fail(struct screen_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends `prefix` to err->message (truncating at the buffer size). */
void screen_error_prefix(struct screen_error *err, const char *prefix);

/* ---------------------------------------------------------------- arena */

struct screen_arena_chunk;
struct screen_arena {
    struct screen_arena_chunk *head;
    size_t used, cap;
};

void *screen_arena_alloc(struct screen_arena *a, size_t n);
char *screen_arena_strndup(struct screen_arena *a, const char *s, size_t n);
void screen_arena_free(struct screen_arena *a);

/* ---------------------------------------------------------------- list set */

struct screen_list_set {
    struct screen_arena arena;
    struct screen_entry *entries;
    size_t n_entries, cap_entries;
    struct screen_list_version versions[8];
    size_t n_versions;
};

/* Attribute collector for one entry while it is parsed; committed into the arena. */
struct screen_entry_builder {
    struct screen_alias aliases[SCREEN_MAX_ALIASES_PER_ENTRY];
    struct screen_dob dobs[SCREEN_MAX_ATTRS_PER_ENTRY];
    const char *pobs[SCREEN_MAX_ATTRS_PER_ENTRY];
    const char *nationalities[SCREEN_MAX_ATTRS_PER_ENTRY];
    const char *countries[SCREEN_MAX_ATTRS_PER_ENTRY];
    struct screen_document documents[SCREEN_MAX_ATTRS_PER_ENTRY];
    const char *programs[SCREEN_MAX_ATTRS_PER_ENTRY];
    unsigned n_aliases, n_dobs, n_pobs, n_nationalities, n_countries, n_documents, n_programs;
};

void screen_builder_reset(struct screen_entry_builder *b);
/* Each returns CAPP_ETOOBIG past the per-entry limits; duplicates are dropped silently. */
int screen_builder_alias(struct screen_entry_builder *b, const char *name,
                         enum screen_name_kind kind);
int screen_builder_dob(struct screen_entry_builder *b, const struct screen_dob *d);
int screen_builder_string(struct screen_entry_builder *b, const char ***arr, unsigned *n,
                          const char *s);
int screen_builder_document(struct screen_entry_builder *b, const struct screen_document *d);
/* Copies the builder's arrays into the arena and onto `e`. */
int screen_builder_commit(struct screen_list_set *set, struct screen_entry_builder *b,
                          struct screen_entry *e);
/* Appends an entry (copied) to the set. */
int screen_list_set_append(struct screen_list_set *set, const struct screen_entry *e);
/* Moves all entries and versions of `from` into `to` (arena chunks change owner). */
int screen_list_set_merge(struct screen_list_set *to, struct screen_list_set *from);
int screen_list_set_add_version(struct screen_list_set *set, const struct screen_list_version *v);

/* Reads a whole file up to SCREEN_MAX_LIST_FILE_BYTES; caller frees *out. */
int screen_read_file(const char *path, char **out, size_t *len, struct screen_error *err);
/* Hex SHA-256 of the concatenation of parts. */
void screen_sha256_hex(const char *const *parts, const size_t *lens, size_t n, char out[65]);

/* The file `kyc lists fetch` writes into a list folder: the publisher's Last-Modified day
 * (YYYY-MM-DD), read back as the version date of lists whose files carry none (D29). */
#define SCREEN_LIST_DATE_FILE ".published"
/* 1 when s[0..len) is a valid calendar date YYYY-MM-DD. */
int screen_date_valid(const char *s, size_t len);

/* Is the normalised token a legal form or stopword that an organisation-like query drops
 * ("pao", "co", "de")? */
int screen_token_org_stopword(const char *tok, size_t len);

/* Collapses runs of whitespace to one space and trims, in place; returns the new length. */
size_t screen_collapse_space(char *s, size_t len);
/* Parses "10 Dec 1948", "1946", "Sep 1938", "circa 1951", "1951 to 1953",
 * "01 Jan 1961 to 31 Dec 1962", "circa 1979-1982", "1970-05-03". 0 or CAPP_EPARSE. */
int screen_dob_parse(const char *s, size_t len, struct screen_dob *out);

/* ---------------------------------------------------------------- token pairs */

/* Orders a pair of tokens longer first (*a, *alen the longer) and returns the length of their
 * common prefix: where one-edit comparisons start (screen_similarity.c, screen_query.c). */
static inline size_t screen_longer_first(const char **a, size_t *alen, const char **b, size_t *blen)
{
    if (*alen < *blen) {
        const char *t = *a;
        *a = *b;
        *b = t;
        size_t tl = *alen;
        *alen = *blen;
        *blen = tl;
    }
    size_t i = 0;
    while (i < *blen && (*a)[i] == (*b)[i])
        i++;
    return i;
}

/* ---------------------------------------------------------------- hashing */

static inline uint64_t screen_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

/* A sorted multimap uint64 → uint32 (built once, read by binary search). */
struct screen_multimap {
    uint64_t *keys;
    uint32_t *values;
    size_t n;
};
/* Sorts parallel arrays in place (takes ownership of them). */
void screen_multimap_init(struct screen_multimap *m, uint64_t *keys, uint32_t *values, size_t n);
/* First position of `key` and the number of values under it. */
size_t screen_multimap_find(const struct screen_multimap *m, uint64_t key, size_t *count);
void screen_multimap_free(struct screen_multimap *m);

/* ---------------------------------------------------------------- country names */

/* Canonical lower-case ASCII country key for a code or name ("IR", "IRN", "Iran",
 * "Iran, Islamic Republic of" → "iran"); writes into out (NUL-terminated). Returns length,
 * 0 when empty. Uses the Debian iso-codes table when present. Thread-safe. */
size_t screen_country_key(const char *s, char *out, size_t cap);

/* Normalised document number: alphanumerics upper-cased; returns length. */
size_t screen_document_key(const char *s, char *out, size_t cap);

#endif
