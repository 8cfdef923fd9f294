/*
 * screen_query.c — one screening query: blocking, scoring, qualifiers, explanations.
 *
 * 1. The query name is normalised (screen_normalize, flags from the query type).
 * 2. Similar vocabulary: for each query token, the index tokens equal to it, at one Damerau
 *    edit (deletion neighbourhood), or sharing its phonetic key; each scored once with
 *    Jaro-Winkler and kept when ≥ token_floor. Inexact pairs of short tokens (< 5 letters) are
 *    shaded, since they agree by chance. Equal phonetic keys can lift the similarity to
 *    phonetic_score (off by default: bench/accuracy showed it adds false positives such as
 *    Hassan/Hussein without adding recall; the keys still serve blocking).
 * 3. Blocking: the postings of those tokens give candidate names (only in the partitions the
 *    query type allows) and, per name, A = Σ w_i·s_i over the query tokens that reached it and
 *    C = Σ u_i, their unpaired costs. The exact score can never exceed A / (A + U − C) (U the
 *    unpaired cost of all blocking query tokens: those that never reached the name can only
 *    be unpaired), so names whose bound is below the reporting floor are dropped without
 *    scoring. If no query token reached the vocabulary at all, every vocabulary token is
 *    compared (the Watchman-style fallback: blocking never loses a candidate for lack of a
 *    shared token). Joins (below) bring their names in the same way.
 * 4. Name score: query tokens are paired one-to-one with the name's tokens, best pair first
 *    (order independent); with w the query token's IDF weight and s the pair similarity,
 *        S = Σ w·s / (Σ_paired w + Σ_unpaired-query u + β·Σ_unpaired-list w_list)
 *    A single letter pairs with a token of the same initial at initial_score. The rules that
 *    bench/accuracy motivated, each visible in the alignment:
 *    - u = α·w for the first and last query tokens (given and family name: unmatched_query)
 *      but unmatched_middle·w for a token between them: a customer's middle name that the list
 *      omits is weak evidence against the match. (nomenklatura weighs unmatched query parts
 *      more than result parts; here an unpaired list token costs β = unmatched_list, a missing
 *      first/last query token more, a missing middle one less.)
 *    - a query token that is not itself in the vocabulary has no document frequency: its
 *      unpaired cost uses at most unknown_weight × the highest IDF (the alignment row shows
 *      that capped weight), so one unknown word cannot outweigh the listed ones that matched.
 *    - two different tokens that are both listed names ("samir" and "sami") are more likely
 *      two names than a typo: their similarity is lowered by distinct_penalty when their
 *      phonetic keys differ, by variant_penalty when they agree ("zheng"/"zhang"); the
 *      alignment shows the lowered similarity.
 *    - joins: one query token against two adjacent listed tokens ("aljihad" / "al" "jihad",
 *      also within one edit), two query tokens against one listed token ("aero caribbean" /
 *      "aerocaribbean", exactly) or two against two where only the boundary moved ("yka gc" /
 *      "yk agc"). A join is one pairing at the similarity of the concatenations, shown as one
 *      alignment row per token involved, with the weight split between the rows.
 *    Initials written "A." survive the organisation stopword list (normalisation).
 *    screen-1.2 added two rules:
 *    - discrepancies compound: a discrepancy is an inexact pair (a spelling difference, an
 *      initial, a fuzzy join) or a token left unpaired on either side (a query stopword
 *      aside). The weighted average adds them up, but two at once ("Faisal Rahman" for
 *      "RAHMAN, Fazil Ahmad": a spelling difference and a missing name) are much less likely
 *      one person written twice than either alone; each discrepancy after the first scales
 *      the name score by compound_factor. It only lowers scores, so the blocking bound holds.
 *    - the first/last (given/family name) cost applies to person-ordered queries only
 *      (individual or unknown type); in a query typed organisation, vessel or aircraft every
 *      unpaired token costs unmatched_middle.
 *    screen-2.1 changed how token pairs are scored (step 2, consider()), from the short-name
 *    misses and the family-name namesakes of bench/accuracy:
 *    - a slip in a short token: one Damerau edit where the shorter token has four letters or
 *      fewer pairs at least at slip_score (Jaro-Winkler gives "ai"/"ali" 0.65), and listed two-
 *      and three-letter query tokens look up their one-edit neighbourhood as well;
 *    - the listed-name penalty below is dropped for such a slip at three letters or fewer and
 *      scaled by slip_distinct_factor at four (short names are so crowded that a slip lands on
 *      another listed name more often than not), but kept whole for a letter added at the end
 *      of a four-letter name ("sami"/"samir": how names derive from each other);
 *    - the edit budget: two tokens more edits apart than the shorter one's length allows (1 up
 *      to six letters, 2 up to ten, 3 beyond, +1 for equal phonetic keys) do not pair, however
 *      alike Jaro-Winkler finds them ("amira"/"samir" 0.87).
 *    screen-2.2 scores how much of the listed name the query covers more closely, from the
 *    namesakes bench/accuracy still flagged:
 *    - a listed individual's first or last token (its given name and its family name, "LAST,
 *      First" being flattened to "First LAST") left unpaired costs unmatched_list_edge, a
 *      middle one unmatched_list as before: "Carlos Martinez" leaves the family name of
 *      "MARTINEZ ALVAREZ, Carlos" unexplained, "Carlos Alvarez" only a middle name. The mirror
 *      of the query-side first/last rule. Not charged when the same token is paired elsewhere
 *      in the name ("MATA MATA, Noel") or is a legal form the query's normalisation drops
 *      ("PAO");
 *    - no anchor: a name of two or more pairings none of which is exact compounds from its
 *      first discrepancy ("Ming Song" / "SON, Min"): a misspelt listed name keeps a word.
 *    - a designation is matched whole: against a vessel's or aircraft's one-word name, an
 *      untyped query's extra name word (three or more letters, no digit) costs
 *      unmatched_designation of its weight, not a family name's capped price: "Amina
 *      Boateng" is a person, not the ship "AMINA". Typed queries are not concerned (an
 *      individual never sees the vessel partition; an organisation may be the ship's owner),
 *      nor hull prefixes and numbers ("MV", "2"), nor designations of two or more words (no
 *      negative of that shape in bench/accuracy, while padding finds their positives).
 *    screen-2.3, from the negatives bench/accuracy flagged that none of its positive
 *    generators makes (bench/accuracy/README.md):
 *    - two listed spellings with one phonetic key that only the key's extra edit lets pair
 *      ("salma"/"salim", "nasser"/"nazeer") are two names: variant_stretch_penalty, the
 *      distinct-name price, instead of variant_penalty;
 *    - a listed name of one name word and Arabic particles ("AL-SHAMMARI", "Abu Al-Khayr") is
 *      a one-word name: not padded, so "Galina Al-Shammari" pays for "galina" in full
 *      (one_name_rule);
 *    - a two-token listed name held as two adjacent query tokens with two or more others on
 *      one side ("Fang Zhou Freddy GARCIA") stands beside a second full name: those tokens
 *      cost the padding price, not a middle name's (padding_block_rule).
 *    - one romanisation alternation of a consonant (w/v, y/i, q/k, ph/f, kh/h, dj/j: "vahid"/
 *      "wahid", "halil"/"khalil") pairs at least at romanisation_score, as a variant (the
 *      listed-name penalty of a variant, no edit-budget stretch), even at a short token's
 *      first letter. Vowel alternations are not concerned ("zheng"/"zhang").
 * 5. Per entry the best name wins; weak aliases are scaled; then the qualifiers: date of birth
 *    (year disjoint, day disjoint), country, gender, documents (an exact document number
 *    scores 1.0; same document kind with another number × id_mismatch_factor). Every applied
 *    rule is recorded in the match, and the top-k are re-scored once more to record the token
 *    alignment.
 * All per-query state lives in a thread-local scratch area sized to the index and reset by
 * generation counters, so a query performs no allocation except the result's match array.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kyc/screen/screen_index.h"

void screen_config_default(struct screen_config *cfg)
{
    cfg->hit_threshold = 0.95;
    cfg->review_threshold = 0.80;
    cfg->recall_threshold = 0.60;
    cfg->recall_mode = 0;
    cfg->top_k = 10;
    cfg->min_score = -1;
    cfg->token_floor = 0.70;
    cfg->unmatched_query = 0.45;
    cfg->unmatched_list = 0.30;
    cfg->initial_score = 0.90;
    cfg->phonetic_score = 0.0;
    cfg->weak_alias_factor = 0.95;
    /* the evidence model (screen_evidence.c, docs/kyc.md "Evidence rules") */
    cfg->dob_year_penalty = 0.10;
    cfg->dob_day_penalty = 0.10;
    cfg->country_penalty = 0.05;
    cfg->gender_penalty = 0.05;
    cfg->id_mismatch_factor = 0.70;
    cfg->unmatched_middle = 0.20;
    cfg->unknown_weight = 0.50;
    cfg->distinct_penalty = 0.30;
    cfg->variant_penalty = 0.06;
    cfg->compound_factor = 0.92;
    cfg->dob_match_bonus = 0.10;
    cfg->dob_year_step = 0.05;
    cfg->dob_max_penalty = 0.30;
    cfg->nationality_penalty = 0.15;
    cfg->residence_penalty = 0.03;
    cfg->unmatched_extra = 0.08;
    cfg->slip_score = 0.75;
    cfg->slip_distinct_factor = 0.33;
    cfg->edit_budget = 1;
    cfg->unmatched_list_edge = 0.60;
    cfg->anchor_rule = 1;
    cfg->unmatched_designation = 1.0;
    cfg->variant_stretch_penalty = 0.30;
    cfg->one_name_rule = 1;
    cfg->padding_block_rule = 1;
    cfg->romanisation_score = 0.90;
}

double screen_config_review_floor(const struct screen_config *cfg)
{
    return cfg->recall_mode ? cfg->recall_threshold : cfg->review_threshold;
}

/* ---------------------------------------------------------------- scratch */

#define MAXQ SCREEN_MAX_NAME_TOKENS
/* similar vocabulary tokens kept per query token (the most similar are found first) */
#define MAX_FOUND 512
/* listed joins ("al"+"jihad") similar to a query token or pair, kept per query */
#define MAX_JOIN_HITS 256

struct scratch {
    uint32_t gen;
    uint32_t n_tok, n_names, n_entries;
    uint32_t *tok_gen;
    float (*tok_sim)[MAXQ];
    uint32_t *name_gen;
    float *name_acc;
    float *name_cost;    /* Σ unpaired cost of the query tokens that reached the name */
    uint8_t *name_reach; /* listed tokens the query units that reached the name can pair */
    uint8_t *name_last;  /* last query token (i+1) that reached the name */
    uint32_t *cand;
    uint32_t n_cand;
    uint32_t *entry_gen;
    uint32_t *entry_slot;
};

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p)
{
    struct scratch *s = p;
    if (!s)
        return;
    free(s->tok_gen);
    free(s->tok_sim);
    free(s->name_gen);
    free(s->name_acc);
    free(s->name_cost);
    free(s->name_reach);
    free(s->name_last);
    free(s->cand);
    free(s->entry_gen);
    free(s->entry_slot);
    free(s);
}

static void scratch_key_init(void)
{
    pthread_key_create(&scratch_key, scratch_free);
}

static struct scratch *scratch_get(const struct screen_index *idx)
{
    pthread_once(&scratch_once, scratch_key_init);
    struct scratch *s = pthread_getspecific(scratch_key);
    uint32_t n_entries = (uint32_t)idx->lists->n_entries;
    if (s && s->n_tok >= idx->n_tokens && s->n_names >= idx->n_names && s->n_entries >= n_entries) {
        if (++s->gen == 0) { /* wrapped: start clean */
            memset(s->tok_gen, 0, s->n_tok * sizeof *s->tok_gen);
            memset(s->name_gen, 0, s->n_names * sizeof *s->name_gen);
            memset(s->entry_gen, 0, s->n_entries * sizeof *s->entry_gen);
            s->gen = 1;
        }
        return s;
    }
    scratch_free(s);
    pthread_setspecific(scratch_key, NULL);
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    /* headroom so a slightly bigger next index does not reallocate */
    s->n_tok = idx->n_tokens + idx->n_tokens / 4 + 16;
    s->n_names = idx->n_names + idx->n_names / 4 + 16;
    s->n_entries = n_entries + n_entries / 4 + 16;
    s->tok_gen = calloc(s->n_tok, sizeof *s->tok_gen);
    s->tok_sim = malloc(s->n_tok * sizeof *s->tok_sim);
    s->name_gen = calloc(s->n_names, sizeof *s->name_gen);
    s->name_acc = malloc(s->n_names * sizeof *s->name_acc);
    s->name_cost = malloc(s->n_names * sizeof *s->name_cost);
    s->name_reach = malloc(s->n_names * sizeof *s->name_reach);
    s->name_last = malloc(s->n_names * sizeof *s->name_last);
    s->cand = malloc(s->n_names * sizeof *s->cand);
    s->entry_gen = calloc(s->n_entries, sizeof *s->entry_gen);
    s->entry_slot = malloc(s->n_entries * sizeof *s->entry_slot);
    if (!s->tok_gen || !s->tok_sim || !s->name_gen || !s->name_acc || !s->name_cost ||
        !s->name_reach || !s->name_last || !s->cand || !s->entry_gen || !s->entry_slot) {
        scratch_free(s);
        return NULL;
    }
    s->gen = 1;
    pthread_setspecific(scratch_key, s);
    return s;
}

/* ---------------------------------------------------------------- query state */

struct qtok {
    const char *s;
    uint8_t len;
    uint8_t unknown; /* no listed token is similar: weight capped at unknown_weight */
    uint8_t listed;  /* the token itself is in the vocabulary */
    uint32_t listed_id;
    float best_sim;    /* similarity of the closest listed spelling (0: none) */
    float weight;      /* IDF weight when paired */
    float cost_weight; /* the weight an unpaired token costs (unknown tokens capped) */
    float unpaired;    /* what the token adds to the denominator when left unpaired */
    float extra;       /* the same when the query holds the whole listed name (padding) */
    float pad2;        /* the same for a two-token listed name (≥ extra) */
    float desig;      /* the same against a vessel or aircraft name, untyped query (≥ unpaired) */
    uint32_t similar; /* number of vocabulary tokens looked at */
    uint32_t n_found; /* similar enough, listed in found[] */
    uint32_t found[MAX_FOUND];
    char phon[SCREEN_MAX_TOKEN_BYTES + 1];
    uint8_t phon_len;
    uint32_t phon_hash; /* screen_index_phonetic_hash of phon */
};

/* A listed join (two adjacent tokens of one name) similar to query unit `unit`. */
struct join_hit {
    uint32_t name;
    uint8_t unit; /* a query token (< nq) or a query pair slot (≥ nq) */
    uint8_t pos;  /* the join's first token in the name */
    float sim;
};

struct qstate {
    const struct screen_index *idx;
    const struct screen_config *cfg;
    struct scratch *sc;
    /* q[0 .. nq-1] are the query tokens; q[nq + k] (k < n_pairs) is the pair slot holding
     * tokens k and k+1 concatenated ("al" "jihad" → "aljihad") */
    struct qtok q[MAXQ];
    uint32_t nq, n_pairs;
    char pair_text[MAXQ][SCREEN_MAX_TOKEN_BYTES + 1];
    struct join_hit hits[MAX_JOIN_HITS];
    uint32_t n_hits;
    float total_weight;
    float total_unpaired; /* Σ unpaired cost of the tokens that block (not initials) */
    /* padding prices as shares of the unpaired cost, at least (for the blocking bound) */
    float extra_share, pad2_share;
    float initial_bonus; /* Σ w·initial_score over one-letter query tokens */
    uint32_t n_initials; /* one-letter query tokens (they pair without blocking) */
    uint32_t stopwords;  /* query tokens that are stopwords (bit mask) */
    int untyped;         /* the query has no entity type: a designation is matched whole */
};

static void set_sim(struct qstate *st, uint32_t tok, uint32_t i, float s)
{
    struct scratch *sc = st->sc;
    if (sc->tok_gen[tok] != sc->gen) {
        sc->tok_gen[tok] = sc->gen;
        memset(sc->tok_sim[tok], 0, sizeof sc->tok_sim[tok]);
    }
    if (sc->tok_sim[tok][i] == 0) {
        struct qtok *q = &st->q[i];
        if (q->n_found < MAX_FOUND)
            q->found[q->n_found++] = tok;
    }
    if (s > sc->tok_sim[tok][i])
        sc->tok_sim[tok][i] = s;
}

static float get_sim(const struct qstate *st, uint32_t tok, uint32_t i)
{
    const struct scratch *sc = st->sc;
    float s = sc->tok_gen[tok] == sc->gen ? sc->tok_sim[tok][i] : 0.0f;
    const struct qtok *q = &st->q[i];
    if (i >= st->nq)
        return s; /* a pair slot: the joined spelling only */
    if (s < st->cfg->initial_score) {
        const char *t = st->idx->tok_str[tok];
        uint8_t tl = st->idx->tok_len[tok];
        if (q->len == 1 && q->s[0] == t[0])
            s = (float)st->cfg->initial_score;
        else if (tl == 1 && q->s[0] == t[0] && (float)st->cfg->initial_score - 0.2f > s)
            s = (float)st->cfg->initial_score - 0.2f; /* a list initial says less */
    }
    return s;
}

static int one_transposition(const char *a, const char *b, size_t len)
{
    size_t i = 0;
    while (i < len && a[i] == b[i])
        i++;
    return i + 1 < len && a[i] == b[i + 1] && a[i + 1] == b[i] &&
           memcmp(a + i + 2, b + i + 2, len - i - 2) == 0;
}

/* Whether a and b differ by one romanisation alternation of a consonant: w/v ("wahid"/
 * "vahid"), y/i ("yusuf"/"iusuf"), q/k, ph/f, kh/h ("khalil"/"halil"), dj/j. Called for every
 * pair looked at: decided from the first difference, one comparison of the rest. */
static int romanisation_pair(const char *a, size_t la, const char *b, size_t lb)
{
    if (la + 1 < lb || lb + 1 < la)
        return 0;
    size_t i = screen_longer_first(&a, &la, &b, &lb);
    if (i == lb)
        return 0; /* equal, or one letter added at the end */
    char x = a[i], y = b[i];
    if (la == lb) {
        int alt = (x == 'w' && y == 'v') || (x == 'v' && y == 'w') || (x == 'y' && y == 'i') ||
                  (x == 'i' && y == 'y') || (x == 'q' && y == 'k') || (x == 'k' && y == 'q');
        return alt && memcmp(a + i + 1, b + i + 1, la - i - 1) == 0;
    }
    /* one letter longer: "ph"/"f", "kh"/"h", "dj"/"j" at the first difference */
    int alt = (x == 'p' && a[i + 1] == 'h' && y == 'f') ||
              (x == 'k' && a[i + 1] == 'h' && y == 'h') ||
              (x == 'd' && a[i + 1] == 'j' && y == 'j');
    return alt && memcmp(a + i + 2, b + i + 1, lb - i - 1) == 0;
}

/* Scores `tok` against query token i and records it when similar enough. */
static void consider(struct qstate *st, uint32_t i, uint32_t tok, float *best, float *best_w)
{
    const struct qtok *q = &st->q[i];
    const struct screen_index *idx = st->idx;
    const char *t = idx->tok_str[tok];
    uint8_t tl = idx->tok_len[tok];
    uint8_t shortest = q->len < tl ? q->len : tl;
    /* a short token with another first letter is another name ("lan"/"yan", "gang"/
     * "wang"), not a slip: slips keep the first letter, and transliterations keep the sound
     * ("esad"/"asad", "kuan"/"quan": equal phonetic keys). screen-2.0, with the 3-letter
     * deletion neighbourhood that made such pairs reachable; decided before Jaro-Winkler,
     * which most of those neighbours would not pass anyway. */
    /* one romanisation alternation of a consonant ("vahid"/"wahid", "halil"/"khalil",
     * "yvan"/"ivan") is one name spelt two ways, even at the first letter (screen-2.3) */
    int rom = st->cfg->romanisation_score > 0 && romanisation_pair(q->s, q->len, t, tl);
    if (shortest < 5 && q->s[0] != t[0] && idx->tok_phon[tok] != q->phon_hash && !rom)
        return;
    float s = (float)screen_jaro_winkler(q->s, q->len, t, tl);
    if (rom && s < (float)st->cfg->romanisation_score)
        s = (float)st->cfg->romanisation_score;
    /* Jaro's match window is 0 for three-letter tokens, so a swapped pair ("kmi"/"kim")
     * scores as two substitutions; one adjacent transposition is one slip */
    if (s < 0.90f && q->len == tl && q->len >= 3 && one_transposition(q->s, t, tl))
        s = 0.90f;
    /* short tokens agree by chance ("tao"/"ta", "wang"/"rang"): shade inexact short pairs */
    if (s < 1.0f && shortest < 5)
        s -= 0.03f * (float)(5 - shortest);
    if (s < st->cfg->phonetic_score && q->phon_len >= 2 && t[0] == q->s[0] &&
        s >= st->cfg->token_floor) {
        char key[SCREEN_MAX_TOKEN_BYTES + 1];
        size_t kl = screen_phonetic_key(t, tl, key, sizeof key);
        if (kl == q->phon_len && memcmp(key, q->phon, kl) == 0)
            s = (float)st->cfg->phonetic_score;
    }
    /* the edit budget (screen-2.1): Jaro-Winkler also rates spellings several edits apart
     * highly ("amira"/"samir" 0.87, "asha"/"asad" 0.84, "meera"/"maher" 0.76): two names, not
     * one misspelt. A pair pairs only within max_edits(shorter length): 1 up to six letters,
     * 2 up to ten, 3 beyond, one more when the phonetic keys agree (transliterations move
     * several letters: "mohammed"/"muhammad"). Nothing below raises a pair of long tokens, so
     * one under the floor is dropped before the edit distance is computed. */
    unsigned d = 0, base_budget = 0;
    if (s < 1.0f) {
        if (shortest >= 5 && s < st->cfg->token_floor)
            return;
        unsigned budget = shortest <= 6 ? 1u : shortest <= 10 ? 2u : 3u;
        base_budget = budget;
        if (idx->tok_phon[tok] == q->phon_hash)
            budget++;
        /* only "one edit" and "within budget" matter: the bounded distance */
        unsigned cap = st->cfg->edit_budget ? budget : 1u;
        d = screen_edit_distance_max(q->s, q->len, t, tl, cap);
        if (st->cfg->edit_budget && d > budget)
            return;
    }
    /* slips in short tokens (screen-2.1). Jaro-Winkler undersells one edit in a short token
     * ("ai"/"ali" 0.65, "abi"/"ali" 0.74 after shading): one substituted, missing, extra or
     * swapped letter in a token of four letters or fewer pairs at least at slip_score. */
    int slip = shortest < 5 && d == 1;
    if (slip && s < st->cfg->slip_score)
        s = (float)st->cfg->slip_score;
    /* two different listed names ("samir" and "sami" are both on the lists) are more likely
     * two names than one name misspelt: a typo rarely lands on another listed name. Only
     * names of one kind count: "aam", listed in a company name, says nothing against "aam"
     * being a slip for the person's name "azam" (screen-2.0). That holds for long tokens;
     * the shorter the token, the more of its one-edit neighbours are listed names themselves
     * (most three-letter strings are: "abi", "ali", "aly", "ari"), so for a one-edit pair the
     * penalty is dropped when the shorter token has three letters or fewer and scaled by
     * slip_distinct_factor at four (screen-2.1) — except for a letter added at the end of a
     * four-letter name, which is how names derive from each other ("sami"/"samir",
     * "jana"/"janan"): that keeps the whole penalty. */
    if (s < 1.0f && q->listed && tok != q->listed_id && s >= st->cfg->token_floor &&
        (idx->tok_parts[tok] & idx->tok_parts[q->listed_id])) {
        int same_key = idx->tok_phon[tok] == q->phon_hash || rom; /* a variant */
        int at_end = q->len != tl && memcmp(q->s, t, shortest) == 0;
        float f = !slip           ? 1.0f
                  : shortest <= 3 ? 0.0f
                  : at_end        ? 1.0f
                                  : (float)st->cfg->slip_distinct_factor;
        int stretched = st->cfg->edit_budget && d > base_budget && !rom;
        s -= f * (float)(same_key ? (stretched ? st->cfg->variant_stretch_penalty
                                               : st->cfg->variant_penalty)
                                  : st->cfg->distinct_penalty);
    }
    if (s < st->cfg->token_floor)
        return;
    set_sim(st, tok, i, s);
    if (s > *best || (s == *best && idx->tok_weight[tok] > *best_w)) {
        *best = s;
        *best_w = idx->tok_weight[tok];
    }
}

static void lookup_tokens(struct qstate *st, const struct screen_multimap *m, uint64_t key,
                          uint32_t i, float *best, float *best_w)
{
    size_t count;
    size_t pos = screen_multimap_find(m, key, &count);
    for (size_t k = 0; k < count; k++)
        consider(st, i, m->values[pos + k], best, best_w);
    st->q[i].similar += (uint32_t)count;
}

/* Weight: the token's own IDF when listed, else that of its closest listed spelling. A token
 * like no listed token at all (a customer's extra middle name, a word no list uses) has no
 * document frequency to go by: it gets unknown_weight × the highest IDF rather than the
 * highest IDF itself, so one unknown word cannot outweigh the listed words that did match. */
static void set_weight(struct qstate *st, uint32_t i, float best, float best_w)
{
    struct qtok *q = &st->q[i];
    const struct screen_config *cfg = st->cfg;
    double f = cfg->unknown_weight > 0 && cfg->unknown_weight < 1 ? cfg->unknown_weight : 1.0;
    float cap = (float)(f * st->idx->max_weight);
    q->best_sim = best;
    q->unknown = best < 1.0f;
    q->weight = best > 0 ? best_w : st->idx->max_weight;
    q->cost_weight = q->unknown && q->weight > cap ? cap : q->weight;
}

static void find_similar(struct qstate *st, uint32_t i)
{
    const struct screen_index *idx = st->idx;
    struct qtok *q = &st->q[i];
    float best = 0, best_w = 0;
    uint32_t exact;
    q->listed = 0;
    if (screen_index_token_id(idx, q->s, q->len, &exact)) {
        q->listed = 1;
        q->listed_id = exact;
        set_sim(st, exact, i, 1.0f);
        best = 1.0f;
        best_w = idx->tok_weight[exact];
        q->similar++;
    }
    /* a letter missing from a three-letter listed token ("ai" for "ali"), also for a token
     * that is itself listed: in two letters a slip lands on another listed token more often
     * than not (screen-2.1; before, listed two-letter tokens skipped this lookup) */
    if (q->len == 2)
        lookup_tokens(st, &idx->by_deletion, screen_hash(q->s, q->len), i, &best, &best_w);
    if (q->len >= 3) {
        char del[SCREEN_MAX_TOKEN_BYTES];
        /* the query token is a deletion of a list token (a letter missing) */
        lookup_tokens(st, &idx->by_deletion, screen_hash(q->s, q->len), i, &best, &best_w);
        for (size_t k = 0; k < q->len; k++) {
            if (k && q->s[k] == q->s[k - 1])
                continue; /* same deletion as the previous position */
            memcpy(del, q->s, k);
            memcpy(del + k, q->s + k + 1, q->len - k - 1);
            uint64_t h = screen_hash(del, q->len - 1u);
            /* a letter too many, and a substituted or transposed letter ("abi" for "ali":
             * listed three-letter tokens too since screen-2.1, as above) */
            lookup_tokens(st, &idx->by_token, h, i, &best, &best_w);
            lookup_tokens(st, &idx->by_deletion, h, i, &best, &best_w);
        }
    }
    if (q->phon_len >= 2)
        lookup_tokens(st, &idx->by_phonetic, screen_hash(q->phon, q->phon_len), i, &best, &best_w);
    set_weight(st, i, best, best_w);
}

/* ---------------------------------------------------------------- joins */

static uint32_t unit_tokens(const struct qstate *st, uint32_t u, uint32_t *first)
{
    *first = u < st->nq ? u : u - st->nq;
    return u < st->nq ? 1 : 2;
}

static float join_similarity(const struct qstate *st, const char *a, size_t al, const char *b,
                             size_t bl)
{
    float s = (float)screen_jaro_winkler(a, al, b, bl);
    size_t shortest = al < bl ? al : bl;
    if (s < 1.0f && shortest < 5)
        s -= 0.03f * (float)(5 - shortest);
    return s >= st->cfg->token_floor ? s : 0.0f;
}

static void consider_join(struct qstate *st, uint32_t u, uint32_t j, float *best, float *best_w)
{
    const struct screen_index *idx = st->idx;
    const struct qtok *q = &st->q[u];
    uint32_t name = idx->join_name[j];
    uint8_t pos = idx->join_pos[j];
    char text[SCREEN_MAX_TOKEN_BYTES + 1];
    size_t len = screen_index_join_text(idx, j, text);
    float s = join_similarity(st, q->s, q->len, text, len);
    /* two against two only where the word boundary moved and the letters did not ("yka gc" /
     * "yk agc", "ab dal" / "abd al"); otherwise they are two single pairs, scored as such */
    if (s <= 0 || (u >= st->nq && s < 1.0f))
        return;
    for (uint32_t k = 0; k < st->n_hits; k++) {
        struct join_hit *h = &st->hits[k];
        if (h->name == name && h->unit == u && h->pos == pos) {
            if (s > h->sim)
                h->sim = s;
            return;
        }
    }
    if (st->n_hits < MAX_JOIN_HITS)
        st->hits[st->n_hits++] = (struct join_hit){name, (uint8_t)u, pos, s};
    if (s > *best) {
        const uint32_t *toks = idx->name_tokens + idx->names[name].tok_off;
        float wa = idx->tok_weight[toks[pos]], wb = idx->tok_weight[toks[pos + 1]];
        *best = s;
        *best_w = wa > wb ? wa : wb;
    }
}

static void lookup_joins(struct qstate *st, const struct screen_multimap *m, uint64_t key,
                         uint32_t u, float *best, float *best_w)
{
    size_t count;
    size_t pos = screen_multimap_find(m, key, &count);
    for (size_t k = 0; k < count && k < 64; k++)
        consider_join(st, u, m->values[pos + k], best, best_w);
}

/* Listed joins within one edit of query unit u (a token, or a pair slot). A token whose
 * closest listed spelling is a join ("aljihad" ~ "al"+"jihad") takes that join's weight. */
static void find_joins(struct qstate *st, uint32_t u)
{
    const struct screen_index *idx = st->idx;
    struct qtok *q = &st->q[u];
    if (q->len < 4 || !idx->n_joins)
        return;
    float best = 0, best_w = 0;
    lookup_joins(st, &idx->by_join, screen_hash(q->s, q->len), u, &best, &best_w);
    /* a listed token or a pair slot: the exact join only ("abubakar" = "abu" "bakar"); an
     * unlisted token also within one edit ("alldajani" ~ "al" "dajani") */
    if (u >= st->nq || q->listed)
        goto done;
    lookup_joins(st, &idx->by_join_del, screen_hash(q->s, q->len), u, &best, &best_w);
    char del[SCREEN_MAX_TOKEN_BYTES];
    for (size_t k = 0; k < q->len; k++) {
        if (k && q->s[k] == q->s[k - 1])
            continue;
        memcpy(del, q->s, k);
        memcpy(del + k, q->s + k + 1, q->len - k - 1u);
        uint64_t h = screen_hash(del, q->len - 1u);
        lookup_joins(st, &idx->by_join, h, u, &best, &best_w);
        lookup_joins(st, &idx->by_join_del, h, u, &best, &best_w);
    }
done:
    if (u < st->nq && best > q->best_sim)
        set_weight(st, u, best, best_w);
}

/* Pair slot for tokens k, k+1: its concatenation against the vocabulary, exactly (a
 * customer's "al jihad" for a listed "aljihad"), and against listed joins within one edit
 * ("yka gc" for "yk agc", "ap ice" for "ep ice"). */
static void find_pair(struct qstate *st, uint32_t k)
{
    uint32_t u = st->nq + k;
    struct qtok *a = &st->q[k], *b = &st->q[k + 1], *q = &st->q[u];
    size_t len = (size_t)a->len + b->len;
    q->n_found = 0;
    q->similar = 0;
    q->len = 0;
    if (len > SCREEN_MAX_TOKEN_BYTES || len < 4)
        return;
    char *text = st->pair_text[k];
    memcpy(text, a->s, a->len);
    memcpy(text + a->len, b->s, b->len);
    text[len] = '\0';
    q->s = text;
    q->len = (uint8_t)len;
    q->phon_len = 0;
    q->listed = 0;
    uint32_t exact;
    if (screen_index_token_id(st->idx, q->s, q->len, &exact))
        set_sim(st, exact, u, 1.0f);
    find_joins(st, u);
    q->weight = a->weight + b->weight;
    q->unpaired = a->unpaired + b->unpaired;
    q->extra = a->extra + b->extra;
    q->pad2 = a->pad2 + b->pad2;
}

/* Most similar first, so the first posting walk that reaches a name carries its best
 * similarity for this query token (the blocking bound relies on it). */
static void sort_found(struct qstate *st, uint32_t i)
{
    struct qtok *q = &st->q[i];
    float(*sim)[MAXQ] = st->sc->tok_sim;
    for (uint32_t a = 1; a < q->n_found; a++) {
        uint32_t t = q->found[a];
        float s = sim[t][i];
        uint32_t b = a;
        while (b > 0 && sim[q->found[b - 1]][i] < s) {
            q->found[b] = q->found[b - 1];
            b--;
        }
        q->found[b] = t;
    }
}

/* ---------------------------------------------------------------- name scoring */

struct pairing {
    uint32_t n;
    int8_t qi[SCREEN_MAX_PAIRS];
    int8_t lj[SCREEN_MAX_PAIRS];
    float sim[SCREEN_MAX_PAIRS];
    float w[SCREEN_MAX_PAIRS];
};

/* A join: query tokens q0 .. q0+nqt-1 with listed tokens l0 .. l0+nlt-1, similarity s. */
struct join_opt {
    uint8_t q0, nqt, l0, nlt;
    float s;
};

static void record(struct pairing *out, uint32_t *n, int qi, int lj, float sim, float w)
{
    if (!out || *n >= SCREEN_MAX_PAIRS)
        return;
    out->qi[*n] = (int8_t)qi;
    out->lj[*n] = (int8_t)lj;
    out->sim[*n] = sim;
    out->w[*n] = w;
    (*n)++;
}

/* What the greedy pairing of one name works on. */
struct name_ctx {
    const struct qstate *st;
    const uint32_t *toks;
    uint32_t m;
    int person;      /* a listed individual's name: given name first, family name last */
    int designation; /* a vessel's or aircraft's name against an untyped query */
    float sim[MAXQ][MAXQ];
    struct join_opt opt[32];
    uint32_t n_opt;
};

/* An Arabic name particle (article, "father of", "son/daughter of"): part of a name, never a
 * name of its own. "abd" is not one: "AL-'ABD" is a family name. */
static int name_particle(const char *s, size_t len)
{
    switch (len) {
    case 2:
        return (s[0] == 'a' || s[0] == 'e' || s[0] == 'u') && s[1] == 'l';
    case 3:
        return memcmp(s, "abu", 3) == 0 || memcmp(s, "bin", 3) == 0 || memcmp(s, "ibn", 3) == 0;
    case 4:
        return memcmp(s, "abou", 4) == 0 || memcmp(s, "bint", 4) == 0 || memcmp(s, "ould", 4) == 0;
    default:
        return 0;
    }
}

/* One name word and particles ("AL-SHAMMARI", "Abu Al-Khayr"): a one-word name for padding
 * (module comment, screen-2.3). */
static int one_name(const struct name_ctx *c)
{
    const struct screen_index *idx = c->st->idx;
    uint32_t words = 0;
    for (uint32_t j = 0; j < c->m && words < 2; j++)
        words += !name_particle(idx->tok_str[c->toks[j]], idx->tok_len[c->toks[j]]);
    return words <= 1;
}

/* Does unpaired listed token j not count as a missing given or family name? When the same
 * token is paired elsewhere in the name ("MATA MATA, Noel": the query's one "mata" covers
 * both), or when it is a legal form or stopword that a query holding it would have dropped
 * ("PAO, Hua Chiang" queried "Hua Chiang Pao", normalised as an organisation). */
static int listed_elsewhere(const struct name_ctx *c, uint32_t lused, uint32_t j)
{
    uint32_t tok = c->toks[j];
    if (c->st->idx->tok_stop[tok])
        return 1;
    for (uint32_t k = 0; k < c->m; k++)
        if ((lused & (1u << k)) && c->toks[k] == tok)
            return 1;
    return 0;
}

/* Best pair first (a join when it is more similar than every single pair left); `forced`
 * (≥ 0) takes that join first. */
static float pair_greedy(const struct name_ctx *c, int forced, struct pairing *out)
{
    const struct qstate *st = c->st;
    const struct screen_index *idx = st->idx;
    uint32_t m = c->m, nq = st->nq;
    uint32_t qused = 0, lused = 0; /* bit masks, MAXQ ≤ 32 */
    float num = 0, den = 0, floor = (float)st->cfg->token_floor;
    uint32_t pairs = 0, defects = 0, exact_single = 0, pairings = 0, exact = 0;
    for (;;) {
        float best = floor;
        int bi = -1, bj = -1, bo = -1;
        if (forced >= 0) {
            bo = forced;
            best = c->opt[forced].s;
            forced = -1;
        } else {
            for (uint32_t i = 0; i < nq; i++) {
                if (qused & (1u << i))
                    continue;
                for (uint32_t j = 0; j < m; j++)
                    if (!(lused & (1u << j)) && c->sim[i][j] >= best &&
                        (bi < 0 || c->sim[i][j] > best)) {
                        best = c->sim[i][j];
                        bi = (int)i;
                        bj = (int)j;
                    }
            }
            for (uint32_t o = 0; o < c->n_opt; o++) {
                uint32_t qm = ((1u << c->opt[o].nqt) - 1u) << c->opt[o].q0;
                uint32_t lm = ((1u << c->opt[o].nlt) - 1u) << c->opt[o].l0;
                if (!(qused & qm) && !(lused & lm) && c->opt[o].s > best) {
                    best = c->opt[o].s;
                    bo = (int)o;
                }
            }
        }
        if (bo >= 0) {
            const struct join_opt *o = &c->opt[bo];
            defects += best < 1.0f;
            pairings++;
            exact += best >= 1.0f;
            uint32_t q0 = o->q0, l0 = o->l0;
            /* weight: the query token's; for two query tokens joined into one listed token the
             * larger of theirs (they act as one word); for two against two, both */
            float w = st->q[q0].weight;
            if (o->nqt == 2) {
                float w1 = st->q[q0 + 1].weight;
                w = o->nlt == 2 ? w + w1 : (w1 > w ? w1 : w);
            }
            num += w * best;
            den += w;
            qused |= ((1u << o->nqt) - 1u) << q0;
            lused |= ((1u << o->nlt) - 1u) << l0;
            if (o->nqt == 1) { /* one query token, two listed: its weight split */
                record(out, &pairs, (int)q0, (int)l0, best, w / 2);
                record(out, &pairs, (int)q0, (int)l0 + 1, best, w / 2);
            } else if (o->nlt == 1) {
                record(out, &pairs, (int)q0, (int)l0, best, w / 2);
                record(out, &pairs, (int)q0 + 1, (int)l0, best, w / 2);
            } else {
                record(out, &pairs, (int)q0, (int)l0, best, st->q[q0].weight);
                record(out, &pairs, (int)q0 + 1, (int)l0 + 1, best, st->q[q0 + 1].weight);
            }
            continue;
        }
        if (bi < 0)
            break;
        defects += best < 1.0f;
        exact_single += best >= 1.0f;
        pairings++;
        exact += best >= 1.0f;
        qused |= 1u << bi;
        lused |= 1u << bj;
        float w = st->q[bi].weight;
        num += w * best;
        den += w;
        record(out, &pairs, bi, bj, best, w);
    }
    /* padding: when the query holds a listed name of two or more tokens exactly, its other
     * tokens are extra words ("Kim Jong Un John Smith"), not a different name: they cost the
     * padding price and do not compound. A two-token listed name turns up inside longer names
     * by chance ("Ahmed Noor Hamdan" holds "AHMED, Noor"), so there they cost a middle name's
     * price (module comment). */
    int padded = m >= 2 && exact_single >= m && !(st->cfg->one_name_rule && one_name(c));
    /* ... unless the two listed tokens are adjacent in the query with two or more other
     * tokens on one side: a second full name ("Fang Zhou Freddy GARCIA"), padding */
    int pad_block = 0;
    if (st->cfg->padding_block_rule && padded && m == 2 && nq >= 4 &&
        __builtin_popcount(qused) == 2) {
        uint32_t k = (uint32_t)__builtin_ctz(qused);
        pad_block = qused == (3u << k) && (k == 0 || k + 2 == nq);
    }
    for (uint32_t i = 0; i < nq; i++)
        if (!(qused & (1u << i))) {
            den += c->designation         ? st->q[i].desig
                   : !padded              ? st->q[i].unpaired
                   : m == 2 && !pad_block ? st->q[i].pad2
                                          : st->q[i].extra;
            record(out, &pairs, (int)i, -1, 0, st->q[i].cost_weight);
            if (!(st->stopwords & (1u << i)) && !padded)
                defects++;
        }
    for (uint32_t j = 0; j < m; j++)
        if (!(lused & (1u << j))) {
            double beta = st->cfg->unmatched_list;
            if (c->person && m >= 3 && (j == 0 || j + 1 == m) && !listed_elsewhere(c, lused, j))
                beta = st->cfg->unmatched_list_edge;
            den += (float)beta * idx->tok_weight[c->toks[j]];
            record(out, &pairs, -1, (int)j, 0, idx->tok_weight[c->toks[j]]);
            defects++;
        }
    if (out)
        out->n = pairs;
    /* discrepancies compound: each one after the first scales the score (module comment) */
    float score = den > 0 ? num / den : 0.0f, f = (float)st->cfg->compound_factor;
    /* no anchor: when two or more pairings agree and none of them exactly, even the first
     * discrepancy compounds. Every customer name of that shape that bench/accuracy flagged
     * was two near names ("Ming Song" / "SON, Min", "Salma Mansour" / "MANSUR, Salim"); a
     * misspelt listed name keeps at least one word intact (screen-2.2) */
    uint32_t d0 = st->cfg->anchor_rule && pairings >= 2 && !exact ? 0 : 1;
    for (uint32_t d = d0; d < defects && f > 0 && f < 1; d++)
        score *= f;
    return score;
}

/* The name score (module comment, step 4). Query tokens pair one-to-one with the name's
 * tokens, best pair first; a join pairs two adjacent tokens on one side with one (or two)
 * on the other ("aljihad" with "al" "jihad") at the similarity of the concatenations, and
 * is recorded as one alignment row per token involved. A join is also tried first, since
 * it can beat an exact single pair it displaces ("ap ice" ~ "ep ice" as "apice"/"epice"). */
static float score_name(const struct qstate *st, uint32_t name, struct pairing *out)
{
    const struct screen_index *idx = st->idx;
    const struct screen_iname *n = &idx->names[name];
    struct name_ctx c;
    c.st = st;
    c.toks = idx->name_tokens + n->tok_off;
    c.m = n->n_tokens;
    c.person = n->type == SCREEN_TYPE_INDIVIDUAL;
    /* a one-word vessel or aircraft name against an untyped query (module comment) */
    c.designation = st->untyped && c.m == 1 &&
                    (n->type == SCREEN_TYPE_VESSEL || n->type == SCREEN_TYPE_AIRCRAFT);
    c.n_opt = 0;
    uint32_t nq = st->nq;
    for (uint32_t i = 0; i < nq; i++)
        for (uint32_t j = 0; j < c.m; j++)
            c.sim[i][j] = get_sim(st, c.toks[j], i);
    /* joins that concern this name: pair slots against one listed token, listed joins */
    for (uint32_t k = 0; k < st->n_pairs; k++) {
        if (!st->q[nq + k].n_found)
            continue;
        for (uint32_t j = 0; j < c.m && c.n_opt < 32; j++) {
            /* two query tokens against one listed token: only the exact join ("al jihad" for
             * "aljihad"); a near one joins two short names into a third ("jun wu" ~ "junju") */
            float v = get_sim(st, c.toks[j], nq + k);
            if (v >= 1.0f)
                c.opt[c.n_opt++] = (struct join_opt){(uint8_t)k, 2, (uint8_t)j, 1, v};
        }
    }
    for (uint32_t h = 0; h < st->n_hits && c.n_opt < 32; h++)
        if (st->hits[h].name == name) {
            uint32_t first, cnt = unit_tokens(st, st->hits[h].unit, &first);
            c.opt[c.n_opt++] = (struct join_opt){(uint8_t)first, (uint8_t)cnt, st->hits[h].pos, 2,
                                                 st->hits[h].sim};
        }
    float best = pair_greedy(&c, -1, NULL);
    int forced = -1;
    for (uint32_t o = 0; o < c.n_opt; o++) {
        float s = pair_greedy(&c, (int)o, NULL);
        if (s > best) {
            best = s;
            forced = (int)o;
        }
    }
    if (out)
        pair_greedy(&c, forced, out);
    return best;
}

/* ---------------------------------------------------------------- the query */

/* A word of a person's name: three or more characters, no digit ("boateng", not "mv" or
 * "2"). */
static int name_word(const char *s, size_t len)
{
    if (len < 3)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] >= '0' && s[i] <= '9')
            return 0;
    return 1;
}

/* A scored entry: its best name, name score, final score and band. Kept small so ranking the
 * pool moves little; full matches (alignment, qualifiers) are built for the survivors only. */
struct cand {
    const char *id;
    uint32_t entry, name;
    float name_score, score;
    uint8_t kind, band, reason;
};

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->band != y->band)
        return x->band > y->band ? -1 : 1;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->name_score != y->name_score)
        return x->name_score > y->name_score ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* The band of a final score; only a sanctions entry can be a hit (a PEP is needs_review). */
static enum screen_band band_of(const struct screen_config *cfg, double s, enum screen_reason why)
{
    if (s >= cfg->hit_threshold)
        return why == SCREEN_REASON_SANCTIONS ? SCREEN_BAND_HIT : SCREEN_BAND_REVIEW;
    if (s >= screen_config_review_floor(cfg))
        return SCREEN_BAND_REVIEW;
    return SCREEN_BAND_CLEAR;
}

static void fallback_scan(struct qstate *st)
{
    const struct screen_index *idx = st->idx;
    for (uint32_t i = 0; i < st->nq; i++) {
        float best = 0, best_w = 0;
        for (uint32_t t = 0; t < idx->n_tokens; t++)
            consider(st, i, t, &best, &best_w);
        set_weight(st, i, best, best_w);
    }
}

/* "role" selects "role.pep": a selection matches a topic equal to it or below it. */
static int topic_selected(const char *topic, const char *sel)
{
    size_t n = strlen(sel);
    return strncmp(topic, sel, n) == 0 && (topic[n] == '\0' || topic[n] == '.');
}

/* Whether the query's list and topic selection lets entry `e` be screened. */
static int eligible(const struct screen_query *q, const struct screen_entry *e)
{
    if (q->n_sources) {
        size_t i = 0;
        while (i < q->n_sources && strcmp(e->source, q->sources[i]) != 0)
            i++;
        if (i == q->n_sources)
            return 0;
    }
    if (q->n_topics) {
        static const char *const sanction[] = {"sanction"};
        const char *const *topics = e->n_topics ? e->topics : sanction;
        unsigned n = e->n_topics ? e->n_topics : 1;
        for (size_t i = 0; i < q->n_topics; i++)
            for (unsigned k = 0; k < n; k++)
                if (topic_selected(topics[k], q->topics[i]))
                    return 1;
        return 0;
    }
    return 1;
}

static int pool_push(struct cand **pool, size_t *n, size_t *cap, const struct cand *c)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct cand *g = realloc(*pool, nc * sizeof *g);
        if (!g)
            return CAPP_ENOMEM;
        *pool = g;
        *cap = nc;
    }
    (*pool)[(*n)++] = *c;
    return 0;
}

/* The full match of a ranked candidate: qualifiers with their details, band, reason and the
 * token alignment of its best name. */
static void build_match(const struct qstate *st, const struct screen_evidence_query *eq,
                        const struct cand *c, struct screen_match *m)
{
    const struct screen_index *idx = st->idx;
    const struct screen_iname *in = &idx->names[c->name];
    m->entry = &idx->lists->entries[c->entry];
    m->matched_name = in->display;
    m->name_kind = (enum screen_name_kind)c->kind;
    m->name_score = c->name_score;
    m->score = c->name_score;
    m->n_qualifiers = 0;
    m->n_pairs = 0;
    screen_evidence_apply(idx, st->cfg, eq, c->entry, 1, m);
    m->reason = (enum screen_reason)c->reason;
    m->band = (enum screen_band)c->band;
    if (!st->nq)
        return;
    struct pairing pr;
    score_name(st, c->name, &pr);
    for (uint32_t p = 0; p < pr.n && p < SCREEN_MAX_PAIRS; p++) {
        struct screen_token_pair *tp = &m->pairs[m->n_pairs++];
        tp->query_token = pr.qi[p] >= 0 ? st->q[pr.qi[p]].s : NULL;
        uint32_t lt = pr.lj[p] >= 0 ? idx->name_tokens[in->tok_off + (uint32_t)pr.lj[p]] : 0;
        tp->list_token = pr.lj[p] >= 0 ? idx->tok_str[lt] : NULL;
        tp->similarity = pr.sim[p];
        tp->weight = pr.w[p];
    }
}

int screen_query_index(struct screen_index *idx, const struct screen_query *q,
                       const struct screen_config *cfg_in, struct screen_result *out)
{
    memset(out, 0, sizeof *out);
    if (!idx)
        return CAPP_ENOTFOUND;
    struct screen_config defaults;
    if (!cfg_in) {
        screen_config_default(&defaults);
        cfg_in = &defaults;
    }
    const struct screen_config *cfg = cfg_in;
    out->review_floor = screen_config_review_floor(cfg);
    out->hit_threshold = cfg->hit_threshold;
    const char *name = q->name ? q->name : "";
    size_t name_len = strlen(name);
    if (name_len > SCREEN_MAX_NAME_BYTES)
        return CAPP_ETOOBIG;
    if (q->id && strlen(q->id) > SCREEN_MAX_QUERY_FIELD_BYTES)
        return CAPP_ETOOBIG;
    struct screen_evidence_query eq;
    int rc = screen_evidence_query_init(q, &eq);
    if (rc)
        return rc;
    unsigned flags = q->type == SCREEN_TYPE_INDIVIDUAL ? SCREEN_NORM_PERSON
                     : q->type == SCREEN_TYPE_ANY      ? SCREEN_NORM_AUTO
                                                       : SCREEN_NORM_ORGANIZATION;
    /* markup and control characters go before anything else sees the name (a padding of
     * "<img src=x onerror=…>" would otherwise be five unpaired tokens) */
    char clean[SCREEN_MAX_NAME_BYTES + 1];
    size_t clean_len = screen_sanitize_name(name, name_len, clean, sizeof clean, &out->input_flags);
    rc = screen_normalize(clean, clean_len, flags, &out->query_tokens);
    if (rc)
        return rc;
    if (out->query_tokens.count == 0 && !eq.id_len)
        return CAPP_EINVAL;
    unsigned top_k = cfg->top_k ? cfg->top_k : 10;
    if (top_k > SCREEN_MAX_TOP_K)
        top_k = SCREEN_MAX_TOP_K;
    double min_score = cfg->min_score >= 0 ? cfg->min_score : out->review_floor;
    /* names are scored down to what a qualifier bonus could still lift to min_score */
    double name_floor = min_score - screen_evidence_max_bonus(cfg, &eq);

    struct qstate st; /* not zeroed: ~50 KB, every field used is set below */
    st.idx = idx;
    st.cfg = cfg;
    st.sc = scratch_get(idx);
    if (!st.sc)
        return CAPP_ENOMEM;
    struct scratch *sc = st.sc;
    st.nq = out->query_tokens.count;
    st.stopwords = out->query_tokens.stopwords;
    st.untyped = q->type == SCREEN_TYPE_ANY && cfg->unmatched_designation > 0;
    uint32_t any_similar = 0;
    for (uint32_t i = 0; i < st.nq; i++) {
        struct qtok *t = &st.q[i];
        t->s = out->query_tokens.text + out->query_tokens.off[i];
        t->len = out->query_tokens.len[i];
        t->similar = 0;
        t->n_found = 0;
        t->phon_len = (uint8_t)screen_phonetic_key(t->s, t->len, t->phon, sizeof t->phon);
        t->phon_hash = screen_index_phonetic_hash(t->phon, t->phon_len);
        find_similar(&st, i);
        any_similar += t->similar;
        sort_found(&st, i);
    }
    if (st.nq && !any_similar) {
        fallback_scan(&st);
        for (uint32_t i = 0; i < st.nq; i++)
            sort_found(&st, i);
    }
    st.n_hits = 0;
    for (uint32_t i = 0; i < st.nq; i++)
        find_joins(&st, i);
    st.total_weight = 0;
    st.total_unpaired = 0;
    st.initial_bonus = 0;
    st.n_initials = 0;
    for (uint32_t i = 0; i < st.nq; i++) {
        struct qtok *t = &st.q[i];
        /* a kept stopword ("de" in a name of unknown type) barely counts when unpaired */
        float soft = (st.stopwords & (1u << i)) ? 0.1f : 1.0f;
        /* a middle token missing from the listed name is weak evidence: lists often omit
         * middle names; a first or last token (given or family name) missing is not. An
         * organisation, vessel or aircraft name has no given or family name: an extra word
         * anywhere in it ("ZDRAVO Holding" for "ZDRAVO") costs like a middle name. */
        int person_order = q->type == SCREEN_TYPE_INDIVIDUAL || q->type == SCREEN_TYPE_ANY;
        double al = (i > 0 && i + 1 < st.nq) || !person_order ? cfg->unmatched_middle
                                                              : cfg->unmatched_query;
        t->unpaired = soft * (float)al * t->cost_weight;
        /* what it costs instead when the whole listed name is matched (padding) */
        t->extra = soft * (float)cfg->unmatched_extra * t->cost_weight;
        t->pad2 = soft * (float)cfg->unmatched_middle * t->cost_weight;
        if (t->pad2 > t->unpaired)
            t->pad2 = t->unpaired;
        if (t->extra > t->pad2)
            t->extra = t->pad2;
        /* a vessel's or aircraft's one-word name is a designation, matched whole: an untyped
         * query that holds it and a name word more ("Amina Boateng" / vessel "AMINA") names
         * someone else, so that word costs unmatched_designation of its weight, never less
         * than unpaired (which keeps the blocking bound an upper bound). A hull prefix or a
         * number ("MV", "2") is not a name word and keeps its usual price. */
        t->desig = soft * (float)cfg->unmatched_designation * t->cost_weight;
        if (t->desig < t->unpaired || !name_word(t->s, t->len))
            t->desig = t->unpaired;
        st.total_weight += t->weight;
        if (t->len == 1) {
            st.initial_bonus += t->weight * (float)cfg->initial_score;
            st.n_initials++;
        } else {
            st.total_unpaired += t->unpaired;
        }
    }
    /* every token's padding price is at least this share of its unpaired cost (the costs
     * scale alike with the stopword softening and the IDF cap; unpaired uses at most the
     * larger of unmatched_query and unmatched_middle) */
    {
        double top = cfg->unmatched_query > cfg->unmatched_middle ? cfg->unmatched_query
                                                                  : cfg->unmatched_middle;
        double ex = cfg->unmatched_extra < cfg->unmatched_middle ? cfg->unmatched_extra
                                                                 : cfg->unmatched_middle;
        st.extra_share = top > 0 ? (float)(ex / top) : 1.0f;
        st.pad2_share = top > 0 ? (float)(cfg->unmatched_middle / top) : 1.0f;
        if (st.extra_share > 1)
            st.extra_share = 1;
        if (st.pad2_share > 1)
            st.pad2_share = 1;
    }
    st.n_pairs = 0;
    while (st.n_pairs + 1 < st.nq && st.nq + st.n_pairs < MAXQ) {
        find_pair(&st, st.n_pairs);
        sort_found(&st, st.nq + st.n_pairs);
        st.n_pairs++;
    }

    /* blocking over the allowed partitions */
    uint32_t lo = 0, hi = idx->n_names;
    if (q->type == SCREEN_TYPE_INDIVIDUAL) {
        lo = idx->part_start[SCREEN_TYPE_INDIVIDUAL];
        hi = idx->part_start[SCREEN_TYPE_INDIVIDUAL + 1];
    } else if (q->type != SCREEN_TYPE_ANY) {
        lo = idx->part_start[SCREEN_TYPE_ORGANIZATION];
        hi = idx->part_start[SCREEN_TYPE_COUNT];
    }
    sc->n_cand = 0;
    for (uint32_t i = 0; i < st.nq + st.n_pairs; i++) {
        struct qtok *t = &st.q[i];
        if (t->len <= 1)
            continue; /* initials are too unselective to block on */
        for (uint32_t f = 0; f < t->n_found; f++) {
            uint32_t tok = t->found[f];
            float s = t->weight * sc->tok_sim[tok][i];
            for (uint32_t p = idx->post_off[tok]; p < idx->post_off[tok + 1]; p++) {
                uint32_t n = idx->postings[p];
                if (n < lo || n >= hi)
                    continue;
                if (sc->name_gen[n] != sc->gen) {
                    sc->name_gen[n] = sc->gen;
                    sc->name_acc[n] = s;
                    sc->name_cost[n] = t->unpaired;
                    sc->name_reach[n] = 1;
                    sc->name_last[n] = (uint8_t)(i + 1);
                    sc->cand[sc->n_cand++] = n;
                } else if (sc->name_last[n] != i + 1) {
                    sc->name_acc[n] += s;
                    sc->name_cost[n] += t->unpaired;
                    sc->name_reach[n]++;
                    sc->name_last[n] = (uint8_t)(i + 1);
                }
            }
        }
    }
    for (uint32_t h = 0; h < st.n_hits; h++) {
        uint32_t n = st.hits[h].name, u = st.hits[h].unit;
        if (n < lo || n >= hi)
            continue;
        float s = st.q[u].weight * st.hits[h].sim;
        if (sc->name_gen[n] != sc->gen) {
            sc->name_gen[n] = sc->gen;
            sc->name_acc[n] = s;
            sc->name_cost[n] = st.q[u].unpaired;
            sc->name_reach[n] = 2; /* a join covers two listed tokens */
            sc->name_last[n] = 0;
            sc->cand[sc->n_cand++] = n;
        } else {
            sc->name_acc[n] += s;
            sc->name_cost[n] += st.q[u].unpaired;
            sc->name_reach[n] += 2;
        }
    }
    /* documents: an exact number brings its entry in whatever the name says */
    uint32_t id_entries[64];
    size_t n_id_entries = 0;
    if (eq.id_len) {
        size_t count;
        size_t pos =
            screen_multimap_find(&idx->by_document, screen_hash(eq.id_key, eq.id_len), &count);
        for (size_t k = 0; k < count && n_id_entries < 64; k++)
            id_entries[n_id_entries++] = idx->by_document.values[pos + k];
    }

    /* score candidates whose bound reaches the floor; keep the best name per entry */
    float weak = cfg->weak_alias_factor < 1.0 ? (float)cfg->weak_alias_factor : 1.0f;
    struct cand *pool = NULL;
    struct screen_match *matches = NULL, *considered = NULL;
    size_t n_pool = 0, cap_pool = 0;
    int filtered = q->n_sources || q->n_topics;
    /* the names with the best bounds below the floor, best first (for `considered`) */
    enum { MAX_NEAR = 2 * SCREEN_MIN_CONSIDERED };
    uint32_t near_name[MAX_NEAR], n_near = 0;
    float near_bound[MAX_NEAR];
    for (uint32_t c = 0; c < sc->n_cand; c++) {
        uint32_t n = sc->cand[c];
        /* S = Σw·s / (Σ_paired w + Σ_unpaired cost + list costs) with s ≤ 1 and cost ≤ w, so
         * S ≤ a / (a + cost of the tokens that never reached this name); when enough query
         * tokens reached it to pair every listed token, those tokens may cost only their
         * padding price (module comment). The name record itself is read only when that
         * matters: most candidates are decided from the scratch arrays alone. */
        float a = sc->name_acc[n] + st.initial_bonus;
        float missing = st.total_unpaired - sc->name_cost[n];
        float d = a + (missing > 0 ? missing : 0.0f);
        float bound = d > 0 ? a / d : 0.0f;
        float cut = (float)name_floor * (weak < 1.0f ? weak : 1.0f);
        if (bound + 1e-6f < cut && sc->name_reach[n] + st.n_initials >= 2 && missing > 0) {
            /* padded: the missing tokens cost at least extra_share of their unpaired cost
             * (pad2_share for a two-token listed name) */
            uint32_t m = idx->names[n].n_tokens;
            if (sc->name_reach[n] + st.n_initials >= m) {
                int block = cfg->padding_block_rule && st.nq >= 4;
                float xd = a + missing * (m == 2 && !block ? st.pad2_share : st.extra_share);
                bound = xd > 0 ? a / xd : 0.0f;
            }
        }
        if (filtered && !eligible(q, &idx->lists->entries[idx->names[n].entry]))
            continue;
        if (bound + 1e-6f < cut) {
            /* below the floor: not scored now; the best few by bound are scored afterwards,
             * so that `considered` holds the closest candidates even when nothing matched */
            uint32_t k = n_near;
            while (k > 0 && near_bound[k - 1] < bound)
                k--;
            if (k < MAX_NEAR && bound > 0) {
                if (n_near < MAX_NEAR)
                    n_near++;
                for (uint32_t j = n_near - 1; j > k; j--) {
                    near_bound[j] = near_bound[j - 1];
                    near_name[j] = near_name[j - 1];
                }
                near_bound[k] = bound;
                near_name[k] = n;
            }
            continue;
        }
        const struct screen_iname *in = &idx->names[n];
        uint32_t e = in->entry;
        out->candidates++;
        float s = score_name(&st, n, NULL);
        float eff = in->kind == SCREEN_NAME_ALIAS_WEAK ? s * weak : s;
        if (sc->entry_gen[e] == sc->gen) {
            struct cand *m = &pool[sc->entry_slot[e]];
            float m_eff = m->kind == SCREEN_NAME_ALIAS_WEAK ? m->name_score * weak : m->name_score;
            if (eff > m_eff) {
                m->name_score = s;
                m->kind = in->kind;
                m->name = n;
            }
            continue;
        }
        sc->entry_gen[e] = sc->gen;
        sc->entry_slot[e] = (uint32_t)n_pool;
        struct cand cd = {idx->lists->entries[e].id, e, n, s, 0, in->kind, 0, 0};
        if ((rc = pool_push(&pool, &n_pool, &cap_pool, &cd)))
            goto out;
    }
    for (uint32_t k = 0; k < n_near; k++) {
        uint32_t n = near_name[k], e = idx->names[n].entry;
        if (sc->entry_gen[e] == sc->gen)
            continue; /* the entry was scored through another name */
        out->candidates++;
        sc->entry_gen[e] = sc->gen;
        struct cand cd = {idx->lists->entries[e].id, e, n, score_name(&st, n, NULL), 0,
                          idx->names[n].kind,        0, 0};
        if ((rc = pool_push(&pool, &n_pool, &cap_pool, &cd)))
            goto out;
    }
    for (size_t k = 0; k < n_id_entries; k++) {
        uint32_t e = id_entries[k];
        if (sc->entry_gen[e] == sc->gen || (filtered && !eligible(q, &idx->lists->entries[e])))
            continue;
        /* best name of the entry, however weak */
        uint32_t best_n = idx->entry_names[idx->entry_name_off[e]];
        float best = -1;
        for (uint32_t j = idx->entry_name_off[e]; j < idx->entry_name_off[e + 1]; j++) {
            float s = st.nq ? score_name(&st, idx->entry_names[j], NULL) : 0;
            if (s > best) {
                best = s;
                best_n = idx->entry_names[j];
            }
        }
        sc->entry_gen[e] = sc->gen;
        struct cand cd = {idx->lists->entries[e].id, e, best_n, best < 0 ? 0 : best, 0,
                          idx->names[best_n].kind,   0, 0};
        if ((rc = pool_push(&pool, &n_pool, &cap_pool, &cd)))
            goto out;
    }

    /* qualifiers (ranking only: no explanation text yet), bands, order */
    for (size_t k = 0; k < n_pool; k++) {
        struct cand *c = &pool[k];
        struct screen_match tmp;
        tmp.name_kind = (enum screen_name_kind)c->kind;
        tmp.score = c->name_score;
        tmp.n_qualifiers = 0;
        screen_evidence_apply(idx, cfg, &eq, c->entry, 0, &tmp);
        c->score = tmp.score;
        c->reason = idx->entry_reason[c->entry];
        c->band = (uint8_t)band_of(cfg, c->score, (enum screen_reason)c->reason);
    }
    if (n_pool > 1)
        qsort(pool, n_pool, sizeof *pool, cmp_cand);

    /* matches: at or above min_score, the top_k; considered: the best few whatever their
     * score, and every entry whose name alone reached the review floor */
    uint32_t sel_m[SCREEN_MAX_TOP_K], sel_c[SCREEN_MAX_CONSIDERED];
    size_t n_m = 0, n_c = 0;
    for (size_t k = 0; k < n_pool; k++) {
        const struct cand *c = &pool[k];
        if (c->score + 1e-6f >= (float)min_score && n_m < top_k)
            sel_m[n_m++] = (uint32_t)k;
        if (n_c < SCREEN_MAX_CONSIDERED &&
            (n_c < SCREEN_MIN_CONSIDERED || c->name_score + 1e-6f >= (float)out->review_floor))
            sel_c[n_c++] = (uint32_t)k;
    }
    if (n_m && !(matches = malloc(n_m * sizeof *matches))) {
        rc = CAPP_ENOMEM;
        goto out;
    }
    if (n_c && !(considered = malloc(n_c * sizeof *considered))) {
        rc = CAPP_ENOMEM;
        goto out;
    }
    for (size_t k = 0; k < n_m; k++)
        build_match(&st, &eq, &pool[sel_m[k]], &matches[k]);
    for (size_t k = 0, j = 0; k < n_c; k++) {
        while (j < n_m && sel_m[j] < sel_c[k])
            j++;
        if (j < n_m && sel_m[j] == sel_c[k])
            considered[k] = matches[j]; /* already built */
        else
            build_match(&st, &eq, &pool[sel_c[k]], &considered[k]);
    }
    out->n_matches = (uint32_t)n_m;
    out->band = n_m ? matches[0].band : SCREEN_BAND_CLEAR;
    out->matches = matches;
    out->n_considered = (uint32_t)n_c;
    out->considered = considered;
    matches = considered = NULL;
    screen_index_retain(idx);
    out->index = idx;
out:
    free(pool);
    free(matches);
    free(considered);
    return rc;
}

void screen_result_release(struct screen_result *r)
{
    if (!r)
        return;
    free(r->matches);
    r->matches = NULL;
    r->n_matches = 0;
    free(r->considered);
    r->considered = NULL;
    r->n_considered = 0;
    screen_index_release(r->index);
    r->index = NULL;
}

const char *screen_band_name(enum screen_band b)
{
    return b == SCREEN_BAND_HIT ? "hit" : b == SCREEN_BAND_REVIEW ? "needs_review" : "clear";
}

const char *screen_type_name(enum screen_entity_type t)
{
    switch (t) {
    case SCREEN_TYPE_INDIVIDUAL:
        return "individual";
    case SCREEN_TYPE_ORGANIZATION:
        return "organization";
    case SCREEN_TYPE_VESSEL:
        return "vessel";
    case SCREEN_TYPE_AIRCRAFT:
        return "aircraft";
    default:
        return "any";
    }
}

const char *screen_name_kind_name(enum screen_name_kind k)
{
    static const char *const names[] = {"primary", "alias", "weak_alias", "former_name",
                                        "original_script"};
    return (unsigned)k < 5 ? names[k] : "unknown";
}

int screen_type_parse(const char *s, enum screen_entity_type *out)
{
    if (!s || !*s) {
        *out = SCREEN_TYPE_ANY;
        return 0;
    }
    static const struct {
        const char *name;
        enum screen_entity_type type;
    } map[] = {{"individual", SCREEN_TYPE_INDIVIDUAL},
               {"person", SCREEN_TYPE_INDIVIDUAL},
               {"organization", SCREEN_TYPE_ORGANIZATION},
               {"organisation", SCREEN_TYPE_ORGANIZATION},
               {"entity", SCREEN_TYPE_ORGANIZATION},
               {"company", SCREEN_TYPE_ORGANIZATION},
               {"vessel", SCREEN_TYPE_VESSEL},
               {"aircraft", SCREEN_TYPE_AIRCRAFT},
               {"any", SCREEN_TYPE_ANY}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(s, map[i].name) == 0) {
            *out = map[i].type;
            return 0;
        }
    return CAPP_EINVAL;
}
