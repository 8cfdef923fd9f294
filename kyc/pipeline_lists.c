/*
 * pipeline_lists.c — list generations: which list entries changed since the lists the stored
 * results were screened against, and which identities a change could affect.
 *
 * Design. Every loaded entry gets a content hash (names, aliases, dates, countries, documents)
 * and its normalised name tokens; the generation key is the hash over all entries. On start-up
 * the key is compared with the stored entries (kyc_list_entries): when it differs, the tokens
 * of every added, removed or changed entry form the generation's "changed tokens". An identity
 * screened against the previous generation is re-screened only when one of its name tokens
 * could pair with a changed token: Jaro-Winkler at or above the engine's token floor, equal
 * tokens, or an initial against a token it starts (the engine's own pairing rules, §2.2).
 * Identities screened against an older generation, or without lists, are re-screened in full.
 * Approximation (documented in docs/kyc.md): IDF weights of unchanged tokens move a little
 * with any list change; the engine's band thresholds are far from that noise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/buf.h"
#include "capp/err.h"
#include "capp/hash.h"
#include "kyc/pipeline_internal.h"
#include "kyc/screen/screen.h"

/* Similarity below which a changed list token is taken not to change an identity's candidates:
 * one token pair under 0.85 keeps a name's IDF-weighted score under the 0.80 review floor
 * unless other tokens pair exactly, and those are changed tokens too (equal tokens). */
#define AFFECT_FLOOR 0.85

/* ---- map ---- */

/* The short basis: slot order decides the order of persisted list-change tokens and removal
 * records (capp/hash.h). */
static uint64_t fnv(const char *s)
{
    return hash_fnv1a_add_str(HASH_FNV1A_OFFSET_SHORT, s);
}

static int map_grow(struct pipeline_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    struct pipeline_map_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return CAPP_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = fnv(m->slots[i].key) & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int pipeline_map_put(struct pipeline_map *m, const char *key, void *value)
{
    if ((m->count + 1) * 4 >= m->cap * 3 && map_grow(m) != 0)
        return CAPP_ENOMEM;
    size_t j = fnv(key) & (m->cap - 1);
    while (m->slots[j].key) {
        if (strcmp(m->slots[j].key, key) == 0) {
            m->slots[j].value = value;
            return 0;
        }
        j = (j + 1) & (m->cap - 1);
    }
    if (!(m->slots[j].key = strdup(key)))
        return CAPP_ENOMEM;
    m->slots[j].value = value;
    m->count++;
    return 0;
}

void *pipeline_map_get(const struct pipeline_map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t j = fnv(key) & (m->cap - 1);
    while (m->slots[j].key) {
        if (strcmp(m->slots[j].key, key) == 0)
            return m->slots[j].value;
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

void pipeline_map_clear(struct pipeline_map *m, void (*free_value)(void *))
{
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        free(m->slots[i].key);
        if (free_value)
            free_value(m->slots[i].value);
    }
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- entries ---- */

struct entry_info {
    char hash[CRYPTO_SHA256_HEX_BYTES];
    char *tokens;
};

static void entry_info_free(void *p)
{
    struct entry_info *e = p;
    if (e)
        free(e->tokens);
    free(e);
}

static int add_tokens(struct buf *out, const char *name, enum screen_entity_type type)
{
    if (!name || !*name)
        return 0;
    unsigned flags = type == SCREEN_TYPE_INDIVIDUAL     ? SCREEN_NORM_PERSON
                     : type == SCREEN_TYPE_ORGANIZATION ? SCREEN_NORM_ORGANIZATION
                                                        : SCREEN_NORM_AUTO;
    struct screen_tokens t;
    if (screen_normalize(name, strlen(name), flags, &t) != 0)
        return 0;
    int rc = 0;
    for (uint32_t i = 0; i < t.count; i++)
        rc |= buf_printf(out, "%s%s", out->len ? " " : "", t.text + t.off[i]);
    return rc;
}

static int entry_digest(const struct screen_entry *e, struct entry_info *out)
{
    struct buf b, tok;
    buf_init(&b, 1024 * 1024);
    buf_init(&tok, 256 * 1024);
    int rc =
        buf_printf(&b, "%s|%d|%s|%d|", e->id, (int)e->type, e->name ? e->name : "", (int)e->gender);
    rc |= add_tokens(&tok, e->name, e->type);
    for (unsigned i = 0; i < e->n_aliases; i++) {
        rc |= buf_printf(&b, "a:%s:%d;", e->aliases[i].name, (int)e->aliases[i].kind);
        rc |= add_tokens(&tok, e->aliases[i].name, e->type);
    }
    for (unsigned i = 0; i < e->n_dobs; i++) {
        const struct screen_dob *d = &e->dobs[i];
        rc |= buf_printf(&b, "d:%d-%d-%d-%d-%d-%d-%d;", d->year, d->month, d->day, d->year_to,
                         d->month_to, d->day_to, d->circa);
    }
    for (unsigned i = 0; i < e->n_nationalities; i++)
        rc |= buf_printf(&b, "n:%s;", e->nationalities[i]);
    for (unsigned i = 0; i < e->n_countries; i++)
        rc |= buf_printf(&b, "c:%s;", e->countries[i]);
    for (unsigned i = 0; i < e->n_places_of_birth; i++)
        rc |= buf_printf(&b, "p:%s;", e->places_of_birth[i]);
    for (unsigned i = 0; i < e->n_documents; i++)
        rc |= buf_printf(&b, "i:%d:%s;", (int)e->documents[i].kind,
                         e->documents[i].number ? e->documents[i].number : "");
    if (rc) { /* an entry past the list caps: never hash part of it */
        rc = buf_failed(&b) ? buf_failed(&b) : buf_failed(&tok);
        buf_free(&b);
        buf_free(&tok);
        return rc;
    }
    crypto_sha256_hex(b.data, b.len, out->hash);
    buf_free(&b);
    out->tokens = buf_steal(&tok);
    if (!out->tokens)
        out->tokens = strdup("");
    return out->tokens ? 0 : CAPP_ENOMEM;
}

struct stored_walk {
    struct pipeline_map map;
    struct buf key_text;
    int rc;
};

static int stored_visit(void *ctx, const char *id, const char *hash, const char *tokens)
{
    struct stored_walk *w = ctx;
    struct entry_info *e = calloc(1, sizeof *e);
    if (!e || !(e->tokens = strdup(tokens))) {
        free(e);
        return w->rc = CAPP_ENOMEM;
    }
    snprintf(e->hash, sizeof e->hash, "%s", hash);
    if (pipeline_map_get(&w->map, id)) {
        entry_info_free(e);
        return 0;
    }
    if (pipeline_map_put(&w->map, id, e) != 0) {
        entry_info_free(e);
        return w->rc = CAPP_ENOMEM;
    }
    if (buf_printf(&w->key_text, "%s=%s\n", id, hash) != 0)
        return w->rc = buf_failed(&w->key_text);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits space-separated tokens into a sorted, de-duplicated array. */
static int split_tokens(const char *text, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        if (p == s)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(*out, cap * sizeof **out);
            if (!grown)
                return CAPP_ENOMEM;
            *out = grown;
        }
        if (!((*out)[(*n)++] = strndup(s, (size_t)(p - s))))
            return CAPP_ENOMEM;
    }
    if (*n > 1) {
        qsort(*out, *n, sizeof **out, cmp_str);
        size_t k = 1;
        for (size_t i = 1; i < *n; i++) {
            if (strcmp((*out)[i], (*out)[k - 1]) == 0)
                free((*out)[i]);
            else
                (*out)[k++] = (*out)[i];
        }
        *n = k;
    }
    return 0;
}

void pipeline_lists_clear(struct pipeline_lists *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_changed; i++)
        free(l->changed[i]);
    free(l->changed);
    free(l->lists_json);
    json_decref(l->lists);
    if (l->entry_hashes) {
        pipeline_map_clear(l->entry_hashes, free);
        free(l->entry_hashes);
    }
    memset(l, 0, sizeof *l);
}

static char *lists_payload(const struct screen_index *idx)
{
    json_t *versions = screen_index_versions_json(idx);
    json_t *o = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(versions, i, v)
    {
        json_object_set_new(o, json_string_value(json_object_get(v, "source")),
                            json_pack("{s:O, s:O}", "sha256", json_object_get(v, "sha256"), "date",
                                      json_object_get(v, "date")));
    }
    json_decref(versions);
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return text;
}

int pipeline_lists_sync(results_db *db, struct screen_engine *engine, struct pipeline_lists *out)
{
    memset(out, 0, sizeof *out);
    out->token_floor = screen_engine_config(engine)->token_floor;
    /* a token pair this weak cannot lift a name to the review floor on its own (see the
     * design note): the bound used to decide what a list change can affect */
    out->pair_floor = out->token_floor > AFFECT_FLOOR ? out->token_floor : AFFECT_FLOOR;
    struct screen_index *idx = screen_engine_acquire(engine);
    const struct screen_list_set *set = idx ? screen_index_lists(idx) : NULL;
    size_t n = set ? screen_list_set_count(set) : 0;
    out->entry_hashes = calloc(1, sizeof *out->entry_hashes);
    if (n == 0) {
        screen_index_release(idx);
        out->lists_json = strdup("{}");
        out->lists = json_object();
        return out->lists_json && out->lists && out->entry_hashes ? 0 : CAPP_ENOMEM;
    }
    out->loaded = 1;
    out->n_entries = n;
    out->lists_json = lists_payload(idx);
    out->lists = out->lists_json ? json_loads(out->lists_json, 0, NULL) : NULL;
    int rc = out->lists && out->entry_hashes ? 0 : CAPP_ENOMEM;
    struct entry_info *cur = calloc(n, sizeof *cur);
    const char **ids = calloc(n, sizeof *ids), **hashes = calloc(n, sizeof *hashes),
               **toks = calloc(n, sizeof *toks);
    struct buf key_text, changed;
    buf_init(&key_text, 256 * 1024 * 1024);
    buf_init(&changed, 256 * 1024 * 1024);
    struct stored_walk w = {.rc = 0};
    buf_init(&w.key_text, 256 * 1024 * 1024);
    if (!cur || !ids || !hashes || !toks)
        rc = CAPP_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct screen_entry *e = screen_list_set_entry(set, i);
        rc = entry_digest(e, &cur[i]);
        ids[i] = e->id;
        hashes[i] = cur[i].hash;
        toks[i] = cur[i].tokens;
        if (rc == 0)
            rc = buf_printf(&key_text, "%s=%s\n", e->id, cur[i].hash);
        if (rc == 0 && !pipeline_map_get(out->entry_hashes, e->id)) {
            /* the first of a duplicated id, like the stored entries */
            char *h = strdup(cur[i].hash);
            rc = h ? pipeline_map_put(out->entry_hashes, e->id, h) : CAPP_ENOMEM;
            if (rc)
                free(h);
        }
    }
    if (rc == 0)
        crypto_sha256_hex(key_text.data, key_text.len, out->key);
    if (rc == 0)
        rc = results_list_entries_each(db, stored_visit, &w);
    if (rc == 0)
        rc = w.rc;
    char stored_key[CRYPTO_SHA256_HEX_BYTES] = "";
    if (rc == 0 && w.key_text.len)
        crypto_sha256_hex(w.key_text.data, w.key_text.len, stored_key);
    char *changed_text = NULL;
    if (rc == 0 && strcmp(stored_key, out->key) == 0) {
        /* the same lists as last time: the generation recorded then still applies */
        if (results_list_generation_get(db, out->key, out->previous, sizeof out->previous,
                                        &changed_text) != 0)
            out->previous[0] = 0;
    } else if (rc == 0) {
        struct pipeline_map seen = {0};
        for (size_t i = 0; rc == 0 && i < n; i++) {
            struct entry_info *old = pipeline_map_get(&w.map, ids[i]);
            if (!old || strcmp(old->hash, cur[i].hash) != 0) {
                rc = buf_printf(&changed, " %s", cur[i].tokens);
                if (rc == 0 && old)
                    rc = buf_printf(&changed, " %s", old->tokens);
            }
            if (rc == 0)
                rc = pipeline_map_put(&seen, ids[i], &cur[i]);
        }
        for (size_t i = 0; rc == 0 && i < w.map.cap; i++)
            if (w.map.slots[i].key && !pipeline_map_get(&seen, w.map.slots[i].key))
                rc = buf_printf(&changed, " %s",
                                ((struct entry_info *)w.map.slots[i].value)->tokens);
        pipeline_map_clear(&seen, NULL);
        snprintf(out->previous, sizeof out->previous, "%s", stored_key);
        if (rc == 0)
            rc = results_list_generation_save(
                db, out->key, stored_key, changed.data ? changed.data : "", ids, hashes, toks, n);
        if (rc == 0)
            changed_text = strdup(changed.data ? changed.data : "");
    }
    if (rc == 0 && changed_text)
        rc = split_tokens(changed_text, &out->changed, &out->n_changed);
    free(changed_text);
    pipeline_map_clear(&w.map, entry_info_free);
    buf_free(&w.key_text);
    buf_free(&key_text);
    buf_free(&changed);
    for (size_t i = 0; cur && i < n; i++)
        free(cur[i].tokens);
    free(cur);
    free(ids);
    free(hashes);
    free(toks);
    screen_index_release(idx);
    return rc;
}

int pipeline_lists_affects(const struct pipeline_lists *l, const char *tokens)
{
    const char *p = tokens;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        size_t len = (size_t)(p - s);
        if (!len)
            continue;
        for (size_t i = 0; i < l->n_changed; i++) {
            const char *c = l->changed[i];
            size_t clen = strlen(c);
            if ((len == 1 || clen == 1) && s[0] == c[0])
                return 1; /* an initial pairs with any token it starts */
            if (screen_jaro_winkler(s, len, c, clen) >= l->pair_floor)
                return 1;
        }
    }
    return 0;
}
