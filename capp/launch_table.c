/*
 * Chained hash table of launch tokens behind one mutex. The hash is already a uniform SHA-256,
 * so its first bytes pick the bucket. Critical sections are a few pointer moves: one lock is
 * enough at the rates the portal generator sees (tens of thousands per second).
 */
#include "launch_table.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define BUCKETS 4096

struct entry {
    struct entry *next;
    struct store_launch launch;
};

struct launch_table {
    pthread_mutex_t lock;
    struct entry *buckets[BUCKETS];
    size_t count;
};

static unsigned bucket_of(const char *hash)
{
    unsigned v = 0;
    for (int i = 0; i < 6 && hash[i]; i++)
        v = v * 16 + (unsigned)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
    return v % BUCKETS;
}

int launch_table_new(struct launch_table **out)
{
    struct launch_table *t = calloc(1, sizeof *t);
    if (!t)
        return CAPP_ENOMEM;
    pthread_mutex_init(&t->lock, NULL);
    *out = t;
    return 0;
}

void launch_table_free(struct launch_table *t)
{
    if (!t)
        return;
    for (int i = 0; i < BUCKETS; i++) {
        struct entry *e = t->buckets[i];
        while (e) {
            struct entry *next = e->next;
            free(e);
            e = next;
        }
    }
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* Removes entries matching pred; caller holds the lock. */
static void sweep(struct launch_table *t, int (*pred)(const struct store_launch *, const void *),
                  const void *arg)
{
    for (int i = 0; i < BUCKETS; i++) {
        struct entry **link = &t->buckets[i];
        while (*link) {
            struct entry *e = *link;
            if (pred(&e->launch, arg)) {
                *link = e->next;
                free(e);
                t->count--;
            } else {
                link = &e->next;
            }
        }
    }
}

static int is_expired(const struct store_launch *l, const void *arg)
{
    return l->expires_at_ms <= *(const int64_t *)arg;
}

static int is_install(const struct store_launch *l, const void *arg)
{
    return strcmp(l->installed_app_id, (const char *)arg) == 0;
}

int launch_table_put(struct launch_table *t, const struct store_launch *launch, int64_t now_ms)
{
    struct entry *e = malloc(sizeof *e);
    if (!e)
        return CAPP_ENOMEM;
    e->launch = *launch;
    unsigned b = bucket_of(launch->token_hash);
    pthread_mutex_lock(&t->lock);
    if (t->count >= CAPP_MAX_LIVE_LAUNCH_TOKENS)
        sweep(t, is_expired, &now_ms);
    if (t->count >= CAPP_MAX_LIVE_LAUNCH_TOKENS) {
        pthread_mutex_unlock(&t->lock);
        free(e);
        return CAPP_EBUSY;
    }
    e->next = t->buckets[b];
    t->buckets[b] = e;
    t->count++;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

int launch_table_take(struct launch_table *t, const char *token_hash, struct store_launch *out)
{
    unsigned b = bucket_of(token_hash);
    int rc = CAPP_ENOTFOUND;
    pthread_mutex_lock(&t->lock);
    for (struct entry **link = &t->buckets[b]; *link; link = &(*link)->next) {
        struct entry *e = *link;
        if (strcmp(e->launch.token_hash, token_hash) == 0) {
            *out = e->launch;
            *link = e->next;
            free(e);
            t->count--;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void launch_table_revoke_install(struct launch_table *t, const char *installed_app_id)
{
    pthread_mutex_lock(&t->lock);
    sweep(t, is_install, installed_app_id);
    pthread_mutex_unlock(&t->lock);
}

void launch_table_purge(struct launch_table *t, int64_t now_ms)
{
    pthread_mutex_lock(&t->lock);
    sweep(t, is_expired, &now_ms);
    pthread_mutex_unlock(&t->lock);
}
