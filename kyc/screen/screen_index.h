/*
 * screen_index.h — the layout of the immutable index, shared by the builder
 * (screen_index.c) and the query path (screen_query.c). Private to kyc/screen.
 */
#ifndef SCREEN_INDEX_H
#define SCREEN_INDEX_H

#include "kyc/screen/screen_internal.h"

/* ---------------------------------------------------------------- index */

struct screen_iname {
    uint32_t entry;   /* index into lists->entries */
    uint32_t tok_off; /* into name_tokens */
    uint16_t n_tokens;
    uint8_t kind; /* enum screen_name_kind */
    uint8_t type; /* enum screen_entity_type */
    const char *display;
};

struct screen_index {
    atomic_long refs;
    struct screen_list_set *lists;
    /* names, ordered by entity type so each partition is an id range */
    struct screen_iname *names;
    uint32_t n_names;
    uint32_t part_start[SCREEN_TYPE_COUNT + 1];
    uint32_t *name_tokens;
    /* vocabulary of interned tokens */
    uint32_t n_tokens;
    char **tok_str; /* NUL-terminated, in the arena */
    uint8_t *tok_len;
    float *tok_weight;
    uint8_t *tok_parts; /* bit t: the token occurs in a name of entity type t */
    uint8_t *tok_stop;  /* 1: a legal form or stopword (screen_token_org_stopword) */
    uint32_t *tok_phon; /* screen_index_phonetic_hash of each token's phonetic key */
    uint32_t *post_off; /* n_tokens + 1 */
    uint32_t *postings; /* name ids, ascending */
    uint32_t max_posting;
    float max_weight;
    /* lookups */
    struct screen_multimap by_token;    /* hash(token) → token id */
    struct screen_multimap by_phonetic; /* hash(phonetic key) → token ids */
    struct screen_multimap by_deletion; /* hash(token minus one char) → token ids */
    struct screen_multimap by_document; /* hash(normalised doc number) → entry id */
    /* joins: every pair of adjacent tokens of a name, concatenated ("al" "jihad" → "aljihad") */
    uint32_t n_joins;
    uint32_t *join_name;                /* join id → name id */
    uint8_t *join_pos;                  /* join id → position of its first token in the name */
    struct screen_multimap by_join;     /* hash(concatenation) → join id */
    struct screen_multimap by_join_del; /* hash(concatenation minus one char) → join id */
    /* per entry: its names, and hashes of its country keys */
    uint32_t *entry_name_off; /* n_entries + 1 */
    uint32_t *entry_names;
    uint32_t *country_off; /* n_entries + 1 */
    uint64_t *country_keys;
    uint8_t *country_roles; /* per key: SCREEN_COUNTRY_* bits (roles the country is listed in) */
    uint8_t *entry_reason;  /* per entry: enum screen_reason, from its topics */
    struct screen_arena arena;
    double build_seconds;
    uint32_t n_postings;
};

/* Roles of a listed country (screen_evidence.c weighs them differently). */
enum {
    SCREEN_COUNTRY_NATIONALITY = 1u << 0, /* nationality or citizenship */
    SCREEN_COUNTRY_ADDRESS = 1u << 1,
    SCREEN_COUNTRY_BIRTH = 1u << 2,    /* place of birth */
    SCREEN_COUNTRY_DOCUMENT = 1u << 3, /* a document's issuing country */
};

/* ---------------------------------------------------------------- evidence (screen_evidence.c) */

/* The qualifier inputs of one query, parsed once. */
struct screen_evidence_query {
    struct screen_dob dob;
    int has_dob;
    uint64_t country, nationality, residence; /* hashed country keys; 0 = absent */
    const char *country_text, *nationality_text, *residence_text;
    char id_key[SCREEN_MAX_QUERY_FIELD_BYTES + 1];
    size_t id_len; /* 0: no usable document number */
    enum screen_doc_kind id_kind;
    enum screen_gender gender;
};

/* CAPP_ETOOBIG for a field over its limit, CAPP_EINVAL for a date that is not YYYY[-MM[-DD]]. */
int screen_evidence_query_init(const struct screen_query *q, struct screen_evidence_query *eq);
/* The most the rules can add to a name score for this query (blocking lowers its bound by it). */
double screen_evidence_max_bonus(const struct screen_config *cfg,
                                 const struct screen_evidence_query *eq);
/* Applies the rules to m (m->score holds the name score on entry, the final score on return);
 * with `explain` each applied rule is also recorded in m->qualifiers. */
void screen_evidence_apply(const struct screen_index *idx, const struct screen_config *cfg,
                           const struct screen_evidence_query *eq, uint32_t entry, int explain,
                           struct screen_match *m);

/* A 32-bit hash of a phonetic key, 0 for a key shorter than two letters (which never
 * counts as a match), so keys compare by one integer. */
static inline uint32_t screen_index_phonetic_hash(const char *key, size_t len)
{
    return len >= 2 ? (uint32_t)screen_hash(key, len) | 1u : 0;
}

/* Normalisation flags used for names of this entity type (list side and query side). */
unsigned screen_index_norm_flags(enum screen_entity_type type);
void screen_index_retain(struct screen_index *idx);
/* 1 and the id when `s` is in the vocabulary. */
int screen_index_token_id(const struct screen_index *idx, const char *s, size_t len, uint32_t *out);
/* Writes the concatenation of join `j`'s two tokens into out (≥ SCREEN_MAX_TOKEN_BYTES + 1);
 * returns its length. */
size_t screen_index_join_text(const struct screen_index *idx, uint32_t j, char *out);

#endif
