/*
 * The launch-token table (see launch_tokens.h).
 *
 * The portal generator inserts one token per launch, so the insert is on the hot path and must
 * cost about as much as a hash-table insert, with no I/O and no serialisation point. Entries are
 * bump-allocated in per-generation arenas (no per-token malloc or free) and indexed by chained
 * buckets; dropping a generation frees its chunks whole. The memory bound is a byte budget, not a
 * count, so 128-byte IDs cannot inflate it. A take marks the entry taken under the shard mutex
 * (single use even when requests race) and leaves the bytes to the generation drop.
 */
#include "launch_tokens.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert.h"
#include "crypto.h"
#include "err.h"

#define LAUNCH_SHARDS        16
#define LAUNCH_CHUNK_BYTES   (64 * 1024)
#define LAUNCH_FIRST_BUCKETS 256
#define LAUNCH_FIELDS        4

struct launch_entry {
    struct launch_entry *next;
    uint8_t key[CRYPTO_SHA256_BYTES];
    int64_t created_at_ms;
    int64_t expires_at_ms;
    uint8_t taken;
    uint8_t len[LAUNCH_FIELDS]; /* installed_app_id, organization_id, instance_id, user_id */
    char text[];                /* the four fields, each NUL-terminated */
};

struct launch_chunk {
    struct launch_chunk *next;
    size_t used;
    char data[];
};

struct launch_generation {
    struct launch_entry **buckets;
    size_t bucket_count;
    size_t count;
    size_t chunk_bytes; /* what the budget limits */
    size_t bytes;       /* chunks and buckets */
    struct launch_chunk *chunks;
};

struct launch_shard {
    pthread_mutex_t lock;
    struct launch_generation gen[2];
    int current;
    int64_t started_ms;
} __attribute__((aligned(64))); /* one cache line per mutex: shards do not false-share */

struct launch_tokens {
    size_t generation_budget; /* bytes one generation of one shard may hold */
    int64_t generation_ms;
    struct launch_shard shards[LAUNCH_SHARDS];
};

static void generation_clear(struct launch_generation *g)
{
    while (g->chunks) {
        struct launch_chunk *next = g->chunks->next;
        free(g->chunks);
        g->chunks = next;
    }
    free(g->buckets);
    memset(g, 0, sizeof *g);
}

/* Hashes are uniform: byte 0 picks the shard, bytes 8.. the bucket. */
static size_t bucket_of(const uint8_t key[CRYPTO_SHA256_BYTES], size_t bucket_count)
{
    CAPP_ASSERT(bucket_count && (bucket_count & (bucket_count - 1)) == 0); /* the mask below */
    uint64_t h;
    memcpy(&h, key + 8, sizeof h);
    return (size_t)(h & (bucket_count - 1));
}

static int generation_grow(struct launch_generation *g)
{
    size_t count = g->bucket_count ? g->bucket_count * 2 : LAUNCH_FIRST_BUCKETS;
    struct launch_entry **buckets = calloc(count, sizeof *buckets);
    if (!buckets)
        return CAPP_ENOMEM;
    for (size_t i = 0; i < g->bucket_count; i++)
        for (struct launch_entry *e = g->buckets[i], *next; e; e = next) {
            next = e->next;
            size_t b = bucket_of(e->key, count);
            e->next = buckets[b];
            buckets[b] = e;
        }
    free(g->buckets);
    g->bytes += (count - g->bucket_count) * sizeof *buckets;
    g->buckets = buckets;
    g->bucket_count = count;
    return 0;
}

static int chunk_has_room(const struct launch_generation *g, size_t size)
{
    return g->chunks && g->chunks->used + size <= LAUNCH_CHUNK_BYTES - sizeof *g->chunks;
}

/* size is a multiple of 8 */
static void *generation_alloc(struct launch_generation *g, size_t size)
{
    /* put() bounds every field, so an entry always fits a fresh chunk */
    CAPP_ASSERT(size % 8 == 0 && size <= LAUNCH_CHUNK_BYTES - sizeof(struct launch_chunk));
    if (!chunk_has_room(g, size)) {
        struct launch_chunk *c = malloc(LAUNCH_CHUNK_BYTES);
        if (!c)
            return NULL;
        c->used = 0;
        c->next = g->chunks;
        g->chunks = c;
        g->chunk_bytes += LAUNCH_CHUNK_BYTES;
        g->bytes += LAUNCH_CHUNK_BYTES;
    }
    struct launch_chunk *c = g->chunks;
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

static struct launch_entry *generation_find(struct launch_generation *g,
                                            const uint8_t key[CRYPTO_SHA256_BYTES])
{
    if (!g->bucket_count)
        return NULL;
    for (struct launch_entry *e = g->buckets[bucket_of(key, g->bucket_count)]; e; e = e->next)
        if (crypto_equal(e->key, key, CRYPTO_SHA256_BYTES))
            return e;
    return NULL;
}

static void shard_rotate(struct launch_shard *sh, int64_t now_ms)
{
    int older = 1 - sh->current;
    generation_clear(&sh->gen[older]);
    sh->current = older;
    sh->started_ms = now_ms;
}

int launch_tokens_new(size_t max_bytes, int64_t generation_ms, struct launch_tokens **out)
{
    size_t budget = max_bytes / (2 * LAUNCH_SHARDS);
    if (budget < LAUNCH_CHUNK_BYTES || generation_ms <= 0)
        return CAPP_EINVAL;
    struct launch_tokens *t = aligned_alloc(64, (sizeof *t + 63) & ~(size_t)63);
    if (!t)
        return CAPP_ENOMEM;
    memset(t, 0, sizeof *t);
    t->generation_budget = budget;
    t->generation_ms = generation_ms;
    for (int i = 0; i < LAUNCH_SHARDS; i++)
        pthread_mutex_init(&t->shards[i].lock, NULL);
    *out = t;
    return 0;
}

void launch_tokens_free(struct launch_tokens *t)
{
    if (!t)
        return;
    for (int i = 0; i < LAUNCH_SHARDS; i++) {
        generation_clear(&t->shards[i].gen[0]);
        generation_clear(&t->shards[i].gen[1]);
        pthread_mutex_destroy(&t->shards[i].lock);
    }
    free(t);
}

int launch_tokens_put(struct launch_tokens *t, const struct store_launch *l, int64_t now_ms)
{
    uint8_t key[CRYPTO_SHA256_BYTES];
    if (crypto_hex_decode(l->token_hash, key, sizeof key) != 0)
        return CAPP_EINVAL;
    const char *fields[LAUNCH_FIELDS] = {l->installed_app_id, l->organization_id, l->instance_id,
                                         l->user_id};
    size_t len[LAUNCH_FIELDS], text = 0;
    for (int i = 0; i < LAUNCH_FIELDS; i++) {
        len[i] = strnlen(fields[i], STORE_ID_CAP);
        if (len[i] >= STORE_ID_CAP || len[i] > UINT8_MAX)
            return CAPP_EINVAL;
        text += len[i] + 1;
    }
    size_t size = (sizeof(struct launch_entry) + text + 7) & ~(size_t)7;
    struct launch_shard *sh = &t->shards[key[0] % LAUNCH_SHARDS];
    int rc = 0;
    pthread_mutex_lock(&sh->lock);
    struct launch_generation *g = &sh->gen[sh->current];
    /* Rotate when due, or when the entry needs a chunk the budget has no room for. */
    if (now_ms - sh->started_ms >= t->generation_ms ||
        (!chunk_has_room(g, size) && g->chunk_bytes + LAUNCH_CHUNK_BYTES > t->generation_budget)) {
        shard_rotate(sh, now_ms);
        g = &sh->gen[sh->current];
    }
    struct launch_entry *e = NULL;
    if (generation_find(&sh->gen[0], key) || generation_find(&sh->gen[1], key))
        rc = CAPP_EEXIST;
    else if (g->count >= g->bucket_count && (rc = generation_grow(g)) != 0)
        ;
    else if (!(e = generation_alloc(g, size)))
        rc = CAPP_ENOMEM;
    if (e) {
        memcpy(e->key, key, sizeof key);
        e->created_at_ms = l->created_at_ms;
        e->expires_at_ms = l->expires_at_ms;
        e->taken = 0;
        char *p = e->text;
        for (int i = 0; i < LAUNCH_FIELDS; i++) {
            e->len[i] = (uint8_t)len[i];
            memcpy(p, fields[i], len[i] + 1);
            p += len[i] + 1;
        }
        size_t b = bucket_of(key, g->bucket_count);
        e->next = g->buckets[b];
        g->buckets[b] = e;
        g->count++;
    }
    pthread_mutex_unlock(&sh->lock);
    return rc;
}

int launch_tokens_take(struct launch_tokens *t, const char *hash, struct store_launch *out)
{
    memset(out, 0, sizeof *out);
    uint8_t key[CRYPTO_SHA256_BYTES];
    if (crypto_hex_decode(hash, key, sizeof key) != 0)
        return CAPP_ENOTFOUND;
    struct launch_shard *sh = &t->shards[key[0] % LAUNCH_SHARDS];
    pthread_mutex_lock(&sh->lock);
    struct launch_entry *e = generation_find(&sh->gen[sh->current], key);
    if (!e)
        e = generation_find(&sh->gen[1 - sh->current], key);
    int rc = e && !e->taken ? 0 : CAPP_ENOTFOUND;
    if (rc == 0) {
        e->taken = 1;
        snprintf(out->token_hash, sizeof out->token_hash, "%s", hash);
        char *fields[LAUNCH_FIELDS] = {out->installed_app_id, out->organization_id,
                                       out->instance_id, out->user_id};
        const char *p = e->text;
        for (int i = 0; i < LAUNCH_FIELDS; i++) {
            memcpy(fields[i], p, (size_t)e->len[i] + 1);
            p += e->len[i] + 1;
        }
        out->created_at_ms = e->created_at_ms;
        out->expires_at_ms = e->expires_at_ms;
    }
    pthread_mutex_unlock(&sh->lock);
    return rc;
}

void launch_tokens_revoke_install(struct launch_tokens *t, const char *installed_app_id)
{
    for (int i = 0; i < LAUNCH_SHARDS; i++) {
        struct launch_shard *sh = &t->shards[i];
        pthread_mutex_lock(&sh->lock);
        for (int gi = 0; gi < 2; gi++) {
            struct launch_generation *g = &sh->gen[gi];
            for (size_t b = 0; b < g->bucket_count; b++)
                for (struct launch_entry *e = g->buckets[b]; e; e = e->next)
                    if (strcmp(e->text, installed_app_id) == 0)
                        e->taken = 1;
        }
        pthread_mutex_unlock(&sh->lock);
    }
}

void launch_tokens_rotate(struct launch_tokens *t, int64_t now_ms)
{
    for (int i = 0; i < LAUNCH_SHARDS; i++) {
        struct launch_shard *sh = &t->shards[i];
        pthread_mutex_lock(&sh->lock);
        if (now_ms - sh->started_ms >= t->generation_ms)
            shard_rotate(sh, now_ms);
        pthread_mutex_unlock(&sh->lock);
    }
}

size_t launch_tokens_bytes(struct launch_tokens *t)
{
    size_t bytes = 0;
    for (int i = 0; i < LAUNCH_SHARDS; i++) {
        struct launch_shard *sh = &t->shards[i];
        pthread_mutex_lock(&sh->lock);
        bytes += sh->gen[0].bytes + sh->gen[1].bytes;
        pthread_mutex_unlock(&sh->lock);
    }
    return bytes;
}
