/*
 * screen_index.c — building the immutable screening index from a list set.
 *
 * Every name of every entry (primary, aliases, former names, original-script names) is
 * normalised with screen_normalize() — the same function queries use — and its tokens are
 * interned into one vocabulary. Names are laid out partition by partition (individuals,
 * organisations, vessels, aircraft), so a partition is a contiguous range of name ids and the
 * postings (token → ascending name ids) can be filtered by a range check.
 *
 * Per token the index keeps an IDF weight log(1 + N/df) — generic tokens such as "al",
 * "bank", "mohammad" weigh little — and three lookup tables used to find the vocabulary
 * tokens similar to a query token without scanning the vocabulary:
 *   by_token     exact token;
 *   by_deletion  every one-character deletion of every token of 3+ characters (a SymSpell-style
 *                neighbourhood: one lookup finds all tokens at Damerau distance 1; 3-letter
 *                tokens too since screen-2.0, so "aly" finds "ali" and "aam" finds "azam");
 *   by_phonetic  the phonetic key (screen_phonetic_key), for transliteration variants.
 * Adjacent tokens of a name are also indexed concatenated (by_join, by_join_del: the same
 * exact and one-deletion tables over "aljihad" for "AL-JIHAD", "ykage" for "YK-AGE"), so a
 * customer who writes a name joined, split or with a hyphen mistyped still finds it.
 * plus by_document (normalised document number → entry) for exact ID matches, and each
 * entry's country keys for the country qualifier. Nothing is mutated after the build, which
 * is what makes lock-free reading safe.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kyc/screen/screen_index.h"

struct intern {
    uint32_t *slots; /* token id + 1, 0 = empty */
    uint64_t *hashes;
    size_t cap;
};

struct build {
    struct screen_index *idx;
    struct intern table;
    size_t tok_cap;
    uint32_t *df;
    /* names before partition sort */
    struct screen_iname *names;
    size_t n_names, cap_names;
    uint32_t *toks;
    size_t n_toks, cap_toks;
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    void *g = realloc(*p, c * size);
    if (!g)
        return CAPP_ENOMEM;
    *p = g;
    *cap = c;
    return 0;
}

static int intern_rehash(struct build *b, size_t cap)
{
    uint32_t *slots = calloc(cap, sizeof *slots);
    uint64_t *hashes = calloc(cap, sizeof *hashes);
    if (!slots || !hashes) {
        free(slots);
        free(hashes);
        return CAPP_ENOMEM;
    }
    for (size_t i = 0; i < b->table.cap; i++) {
        if (!b->table.slots[i])
            continue;
        size_t j = b->table.hashes[i] & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = b->table.slots[i];
        hashes[j] = b->table.hashes[i];
    }
    free(b->table.slots);
    free(b->table.hashes);
    b->table.slots = slots;
    b->table.hashes = hashes;
    b->table.cap = cap;
    return 0;
}

static int intern(struct build *b, const char *s, size_t len, uint32_t *id)
{
    struct screen_index *idx = b->idx;
    if ((idx->n_tokens + 1) * 2 > b->table.cap) {
        int rc = intern_rehash(b, b->table.cap ? b->table.cap * 2 : 1u << 15);
        if (rc)
            return rc;
    }
    uint64_t h = screen_hash(s, len);
    size_t j = h & (b->table.cap - 1);
    while (b->table.slots[j]) {
        uint32_t t = b->table.slots[j] - 1;
        if (b->table.hashes[j] == h && idx->tok_len[t] == len &&
            memcmp(idx->tok_str[t], s, len) == 0) {
            *id = t;
            return 0;
        }
        j = (j + 1) & (b->table.cap - 1);
    }
    if (idx->n_tokens == b->tok_cap) {
        size_t cap = b->tok_cap ? b->tok_cap * 2 : 8192;
        char **ts = realloc(idx->tok_str, cap * sizeof *ts);
        if (ts)
            idx->tok_str = ts;
        uint8_t *tl = realloc(idx->tok_len, cap * sizeof *tl);
        if (tl)
            idx->tok_len = tl;
        uint32_t *df = realloc(b->df, cap * sizeof *df);
        if (df)
            b->df = df;
        if (!ts || !tl || !df)
            return CAPP_ENOMEM;
        b->tok_cap = cap;
    }
    uint32_t t = idx->n_tokens++;
    idx->tok_str[t] = screen_arena_strndup(&idx->arena, s, len);
    if (!idx->tok_str[t])
        return CAPP_ENOMEM;
    idx->tok_len[t] = (uint8_t)len;
    b->df[t] = 0;
    b->table.slots[j] = t + 1;
    b->table.hashes[j] = h;
    *id = t;
    return 0;
}

unsigned screen_index_norm_flags(enum screen_entity_type type)
{
    return type == SCREEN_TYPE_INDIVIDUAL ? SCREEN_NORM_PERSON : SCREEN_NORM_ORGANIZATION;
}

static int add_name(struct build *b, uint32_t entry, const char *display,
                    enum screen_name_kind kind, enum screen_entity_type type)
{
    struct screen_tokens t;
    if (screen_normalize(display, strlen(display), screen_index_norm_flags(type), &t) != 0 ||
        t.count == 0)
        return 0; /* an unusable alias is skipped, not fatal */
    uint32_t ids[SCREEN_MAX_NAME_TOKENS];
    for (uint32_t i = 0; i < t.count; i++) {
        int rc = intern(b, t.text + t.off[i], t.len[i], &ids[i]);
        if (rc)
            return rc;
    }
    /* skip a variant identical to an earlier one of the same entry */
    for (size_t k = b->n_names; k-- > 0 && b->names[k].entry == entry;) {
        const struct screen_iname *o = &b->names[k];
        if (o->n_tokens == t.count && memcmp(b->toks + o->tok_off, ids, t.count * sizeof *ids) == 0)
            return 0;
    }
    if (grow((void **)&b->names, &b->cap_names, b->n_names + 1, sizeof *b->names) ||
        grow((void **)&b->toks, &b->cap_toks, b->n_toks + t.count, sizeof *b->toks))
        return CAPP_ENOMEM;
    struct screen_iname *n = &b->names[b->n_names++];
    n->entry = entry;
    n->tok_off = (uint32_t)b->n_toks;
    n->n_tokens = (uint16_t)t.count;
    n->kind = (uint8_t)kind;
    n->type = (uint8_t)type;
    n->display = display;
    memcpy(b->toks + b->n_toks, ids, t.count * sizeof *ids);
    b->n_toks += t.count;
    return 0;
}

static int build_lookup(struct screen_index *idx)
{
    size_t n = idx->n_tokens, n_del = 0, n_phon = 0;
    for (size_t t = 0; t < n; t++)
        if (idx->tok_len[t] >= 3)
            n_del += idx->tok_len[t];
    uint64_t *tk = malloc(n * sizeof *tk), *dk = malloc((n_del + 1) * sizeof *dk),
             *pk = malloc(n * sizeof *pk);
    uint32_t *tv = malloc(n * sizeof *tv), *dv = malloc((n_del + 1) * sizeof *dv),
             *pv = malloc(n * sizeof *pv);
    idx->tok_phon = malloc((n + 1) * sizeof *idx->tok_phon);
    if (!tk || !dk || !pk || !tv || !dv || !pv || !idx->tok_phon) {
        free(tk), free(dk), free(pk), free(tv), free(dv), free(pv);
        return CAPP_ENOMEM;
    }
    size_t d = 0;
    for (size_t t = 0; t < n; t++) {
        const char *s = idx->tok_str[t];
        size_t len = idx->tok_len[t];
        tk[t] = screen_hash(s, len);
        tv[t] = (uint32_t)t;
        char key[SCREEN_MAX_TOKEN_BYTES + 1];
        size_t kl = screen_phonetic_key(s, len, key, sizeof key);
        idx->tok_phon[t] = screen_index_phonetic_hash(key, kl);
        if (kl >= 2) {
            pk[n_phon] = screen_hash(key, kl);
            pv[n_phon++] = (uint32_t)t;
        }
        if (len >= 3)
            for (size_t i = 0; i < len; i++) {
                char del[SCREEN_MAX_TOKEN_BYTES];
                memcpy(del, s, i);
                memcpy(del + i, s + i + 1, len - i - 1);
                dk[d] = screen_hash(del, len - 1);
                dv[d++] = (uint32_t)t;
            }
    }
    screen_multimap_init(&idx->by_token, tk, tv, n);
    screen_multimap_init(&idx->by_deletion, dk, dv, d);
    screen_multimap_init(&idx->by_phonetic, pk, pv, n_phon);
    return 0;
}

size_t screen_index_join_text(const struct screen_index *idx, uint32_t j, char *out)
{
    const struct screen_iname *n = &idx->names[idx->join_name[j]];
    uint32_t a = idx->name_tokens[n->tok_off + idx->join_pos[j]];
    uint32_t b = idx->name_tokens[n->tok_off + idx->join_pos[j] + 1u];
    size_t la = idx->tok_len[a], lb = idx->tok_len[b];
    memcpy(out, idx->tok_str[a], la);
    memcpy(out + la, idx->tok_str[b], lb);
    out[la + lb] = '\0';
    return la + lb;
}

static int build_joins(struct screen_index *idx)
{
    size_t n_j = 0, n_del = 0;
    for (uint32_t i = 0; i < idx->n_names; i++) {
        const struct screen_iname *n = &idx->names[i];
        for (uint32_t k = 0; k + 1 < n->n_tokens && k < 255; k++) {
            size_t len = (size_t)idx->tok_len[idx->name_tokens[n->tok_off + k]] +
                         idx->tok_len[idx->name_tokens[n->tok_off + k + 1]];
            if (len > SCREEN_MAX_TOKEN_BYTES)
                continue;
            n_j++;
            n_del += len;
        }
    }
    idx->join_name = malloc((n_j + 1) * sizeof *idx->join_name);
    idx->join_pos = malloc(n_j + 1);
    uint64_t *jk = malloc((n_j + 1) * sizeof *jk), *dk = malloc((n_del + 1) * sizeof *dk);
    uint32_t *jv = malloc((n_j + 1) * sizeof *jv), *dv = malloc((n_del + 1) * sizeof *dv);
    if (!idx->join_name || !idx->join_pos || !jk || !dk || !jv || !dv) {
        free(jk), free(dk), free(jv), free(dv);
        return CAPP_ENOMEM;
    }
    uint32_t j = 0;
    size_t d = 0;
    for (uint32_t i = 0; i < idx->n_names; i++) {
        const struct screen_iname *n = &idx->names[i];
        for (uint32_t k = 0; k + 1 < n->n_tokens && k < 255; k++) {
            size_t len = (size_t)idx->tok_len[idx->name_tokens[n->tok_off + k]] +
                         idx->tok_len[idx->name_tokens[n->tok_off + k + 1]];
            if (len > SCREEN_MAX_TOKEN_BYTES)
                continue;
            idx->join_name[j] = i;
            idx->join_pos[j] = (uint8_t)k;
            char s[SCREEN_MAX_TOKEN_BYTES + 1], del[SCREEN_MAX_TOKEN_BYTES];
            screen_index_join_text(idx, j, s);
            jk[j] = screen_hash(s, len);
            jv[j] = j;
            for (size_t c = 0; c < len; c++) {
                if (c && s[c] == s[c - 1])
                    continue;
                memcpy(del, s, c);
                memcpy(del + c, s + c + 1, len - c - 1);
                dk[d] = screen_hash(del, len - 1);
                dv[d++] = j;
            }
            j++;
        }
    }
    idx->n_joins = j;
    screen_multimap_init(&idx->by_join, jk, jv, j);
    screen_multimap_init(&idx->by_join_del, dk, dv, d);
    return 0;
}

static int build_entry_data(struct screen_index *idx)
{
    const struct screen_list_set *set = idx->lists;
    size_t n_docs = 0, n_keys = 0;
    for (size_t e = 0; e < set->n_entries; e++) {
        const struct screen_entry *en = &set->entries[e];
        n_docs += en->n_documents;
        n_keys += en->n_nationalities + en->n_countries + en->n_places_of_birth + en->n_documents;
    }
    uint64_t *dk = malloc((n_docs + 1) * sizeof *dk);
    uint32_t *dv = malloc((n_docs + 1) * sizeof *dv);
    idx->country_off = malloc((set->n_entries + 1) * sizeof *idx->country_off);
    idx->country_keys = malloc((n_keys + 1) * sizeof *idx->country_keys);
    idx->country_roles = malloc(n_keys + 1);
    if (!dk || !dv || !idx->country_off || !idx->country_keys || !idx->country_roles) {
        free(dk);
        free(dv);
        return CAPP_ENOMEM;
    }
    size_t d = 0, k = 0;
    for (size_t e = 0; e < set->n_entries; e++) {
        const struct screen_entry *en = &set->entries[e];
        const char *doc_countries[SCREEN_MAX_ATTRS_PER_ENTRY];
        unsigned n_doc_countries = 0;
        for (unsigned i = 0; i < en->n_documents; i++) {
            char key[128];
            size_t kl = screen_document_key(en->documents[i].number, key, sizeof key);
            if (kl >= 4) {
                dk[d] = screen_hash(key, kl);
                dv[d++] = (uint32_t)e;
            }
            if (en->documents[i].country && n_doc_countries < SCREEN_MAX_ATTRS_PER_ENTRY)
                doc_countries[n_doc_countries++] = en->documents[i].country;
        }
        idx->country_off[e] = (uint32_t)k;
        /* every listed country once, with the roles it is listed in */
        const char *const *lists[4] = {en->nationalities, en->countries, en->places_of_birth,
                                       doc_countries};
        unsigned counts[4] = {en->n_nationalities, en->n_countries, en->n_places_of_birth,
                              n_doc_countries};
        static const uint8_t roles[4] = {SCREEN_COUNTRY_NATIONALITY, SCREEN_COUNTRY_ADDRESS,
                                         SCREEN_COUNTRY_BIRTH, SCREEN_COUNTRY_DOCUMENT};
        for (int l = 0; l < 4; l++)
            for (unsigned i = 0; i < counts[l]; i++) {
                char key[64];
                size_t kl = screen_country_key(lists[l][i], key, sizeof key);
                if (!kl)
                    continue;
                uint64_t h = screen_hash(key, kl);
                size_t j = idx->country_off[e];
                while (j < k && idx->country_keys[j] != h)
                    j++;
                if (j == k) {
                    idx->country_keys[k] = h;
                    idx->country_roles[k++] = 0;
                }
                idx->country_roles[j] |= roles[l];
            }
    }
    idx->country_off[set->n_entries] = (uint32_t)k;
    screen_multimap_init(&idx->by_document, dk, dv, d);
    idx->entry_reason = malloc(set->n_entries + 1);
    if (!idx->entry_reason)
        return CAPP_ENOMEM;
    for (size_t e = 0; e < set->n_entries; e++)
        idx->entry_reason[e] = (uint8_t)screen_entry_reason(&set->entries[e]);
    return 0;
}

int screen_index_build(struct screen_list_set *set, struct screen_index **out)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    *out = NULL;
    if (!set)
        return CAPP_EINVAL;
    struct build b = {0};
    struct screen_index *idx = calloc(1, sizeof *idx);
    int rc = CAPP_ENOMEM;
    if (!idx) {
        screen_list_set_free(set);
        return rc;
    }
    atomic_init(&idx->refs, 1);
    idx->lists = set;
    b.idx = idx;
    for (size_t e = 0; e < set->n_entries; e++) {
        const struct screen_entry *en = &set->entries[e];
        if ((rc = add_name(&b, (uint32_t)e, en->name, SCREEN_NAME_PRIMARY, en->type)))
            goto fail;
        for (unsigned a = 0; a < en->n_aliases; a++)
            if ((rc =
                     add_name(&b, (uint32_t)e, en->aliases[a].name, en->aliases[a].kind, en->type)))
                goto fail;
    }
    /* partition order: counting sort of names by type, stable */
    uint32_t count[SCREEN_TYPE_COUNT + 1] = {0};
    for (size_t i = 0; i < b.n_names; i++)
        count[b.names[i].type + 1]++;
    for (int t = 0; t < SCREEN_TYPE_COUNT; t++)
        count[t + 1] += count[t];
    memcpy(idx->part_start, count, sizeof idx->part_start);
    idx->n_names = (uint32_t)b.n_names;
    idx->names = malloc((b.n_names + 1) * sizeof *idx->names);
    idx->name_tokens = malloc((b.n_toks + 1) * sizeof *idx->name_tokens);
    idx->entry_name_off = calloc(set->n_entries + 1, sizeof *idx->entry_name_off);
    idx->entry_names = malloc((b.n_names + 1) * sizeof *idx->entry_names);
    if (!idx->names || !idx->name_tokens || !idx->entry_name_off || !idx->entry_names)
        goto fail;
    {
        uint32_t pos[SCREEN_TYPE_COUNT];
        memcpy(pos, count, sizeof pos);
        uint32_t tok = 0;
        /* tokens are re-laid in partition order too, so a name's tokens stay contiguous */
        for (int t = 0; t < SCREEN_TYPE_COUNT; t++)
            for (size_t i = 0; i < b.n_names; i++) {
                if (b.names[i].type != t)
                    continue;
                struct screen_iname n = b.names[i];
                memcpy(idx->name_tokens + tok, b.toks + n.tok_off, n.n_tokens * sizeof(uint32_t));
                n.tok_off = tok;
                tok += n.n_tokens;
                idx->names[pos[t]++] = n;
            }
    }
    /* entry → its names */
    for (uint32_t i = 0; i < idx->n_names; i++)
        idx->entry_name_off[idx->names[i].entry + 1]++;
    for (size_t e = 0; e < set->n_entries; e++)
        idx->entry_name_off[e + 1] += idx->entry_name_off[e];
    {
        uint32_t *fill = malloc((set->n_entries + 1) * sizeof *fill);
        if (!fill)
            goto fail;
        memcpy(fill, idx->entry_name_off, (set->n_entries + 1) * sizeof *fill);
        for (uint32_t i = 0; i < idx->n_names; i++)
            idx->entry_names[fill[idx->names[i].entry]++] = i;
        free(fill);
    }
    /* postings: document frequency, offsets, fill (ascending name ids) */
    for (uint32_t i = 0; i < idx->n_names; i++) {
        const struct screen_iname *n = &idx->names[i];
        for (uint32_t k = 0; k < n->n_tokens; k++) {
            uint32_t t = idx->name_tokens[n->tok_off + k];
            int dup = 0;
            for (uint32_t j = 0; j < k; j++)
                dup |= idx->name_tokens[n->tok_off + j] == t;
            if (!dup)
                b.df[t]++;
        }
    }
    idx->post_off = malloc((idx->n_tokens + 1) * sizeof *idx->post_off);
    idx->tok_weight = malloc((idx->n_tokens + 1) * sizeof *idx->tok_weight);
    idx->tok_parts = calloc(idx->n_tokens + 1, 1);
    idx->tok_stop = calloc(idx->n_tokens + 1, 1);
    if (!idx->post_off || !idx->tok_weight || !idx->tok_parts || !idx->tok_stop)
        goto fail;
    for (uint32_t t = 0; t < idx->n_tokens; t++)
        idx->tok_stop[t] = (uint8_t)screen_token_org_stopword(idx->tok_str[t], idx->tok_len[t]);
    for (uint32_t i = 0; i < idx->n_names; i++) {
        const struct screen_iname *n = &idx->names[i];
        for (uint32_t k = 0; k < n->n_tokens; k++)
            idx->tok_parts[idx->name_tokens[n->tok_off + k]] |= (uint8_t)(1u << n->type);
    }
    uint32_t total = 0;
    idx->max_weight = 0;
    for (uint32_t t = 0; t < idx->n_tokens; t++) {
        idx->post_off[t] = total;
        total += b.df[t];
        if (b.df[t] > idx->max_posting)
            idx->max_posting = b.df[t];
        idx->tok_weight[t] = (float)log(1.0 + (double)idx->n_names / (double)b.df[t]);
        if (idx->tok_weight[t] > idx->max_weight)
            idx->max_weight = idx->tok_weight[t];
    }
    idx->post_off[idx->n_tokens] = total;
    idx->n_postings = total;
    idx->postings = malloc((total + 1) * sizeof *idx->postings);
    if (!idx->postings)
        goto fail;
    memset(b.df, 0, idx->n_tokens * sizeof *b.df);
    for (uint32_t i = 0; i < idx->n_names; i++) {
        const struct screen_iname *n = &idx->names[i];
        for (uint32_t k = 0; k < n->n_tokens; k++) {
            uint32_t t = idx->name_tokens[n->tok_off + k];
            int dup = 0;
            for (uint32_t j = 0; j < k; j++)
                dup |= idx->name_tokens[n->tok_off + j] == t;
            if (!dup)
                idx->postings[idx->post_off[t] + b.df[t]++] = i;
        }
    }
    if ((rc = build_lookup(idx)) || (rc = build_joins(idx)) || (rc = build_entry_data(idx)))
        goto fail;
    free(b.table.slots);
    free(b.table.hashes);
    free(b.df);
    free(b.names);
    free(b.toks);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    idx->build_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    *out = idx;
    return 0;
fail:
    free(b.table.slots);
    free(b.table.hashes);
    free(b.df);
    free(b.names);
    free(b.toks);
    screen_index_release(idx);
    return rc ? rc : CAPP_ENOMEM;
}

static void index_free(struct screen_index *idx)
{
    screen_list_set_free(idx->lists);
    free(idx->names);
    free(idx->name_tokens);
    free(idx->entry_name_off);
    free(idx->entry_names);
    free(idx->tok_str);
    free(idx->tok_len);
    free(idx->tok_weight);
    free(idx->tok_parts);
    free(idx->tok_stop);
    free(idx->tok_phon);
    free(idx->entry_reason);
    free(idx->post_off);
    free(idx->postings);
    free(idx->country_off);
    free(idx->country_keys);
    free(idx->country_roles);
    screen_multimap_free(&idx->by_token);
    screen_multimap_free(&idx->by_phonetic);
    screen_multimap_free(&idx->by_deletion);
    screen_multimap_free(&idx->by_document);
    screen_multimap_free(&idx->by_join);
    screen_multimap_free(&idx->by_join_del);
    free(idx->join_name);
    free(idx->join_pos);
    screen_arena_free(&idx->arena);
    free(idx);
}

void screen_index_retain(struct screen_index *idx)
{
    atomic_fetch_add_explicit(&idx->refs, 1, memory_order_relaxed);
}

void screen_index_release(struct screen_index *idx)
{
    if (idx && atomic_fetch_sub_explicit(&idx->refs, 1, memory_order_acq_rel) == 1)
        index_free(idx);
}

const struct screen_list_set *screen_index_lists(const struct screen_index *idx)
{
    return idx ? idx->lists : NULL;
}

void screen_index_stats(const struct screen_index *idx, struct screen_index_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!idx)
        return;
    out->entries = (uint32_t)idx->lists->n_entries;
    out->names = idx->n_names;
    out->tokens = idx->n_tokens;
    out->postings = idx->n_postings;
    out->build_seconds = idx->build_seconds;
}

int screen_index_token_id(const struct screen_index *idx, const char *s, size_t len, uint32_t *out)
{
    size_t count;
    size_t pos = screen_multimap_find(&idx->by_token, screen_hash(s, len), &count);
    for (size_t i = 0; i < count; i++) {
        uint32_t t = idx->by_token.values[pos + i];
        if (idx->tok_len[t] == len && memcmp(idx->tok_str[t], s, len) == 0) {
            *out = t;
            return 1;
        }
    }
    return 0;
}
