/*
 * screen.h — the sanctions screening engine: list loaders, index, scoring, explanations.
 *
 * Life cycle:
 *   struct screen_list_set *set = screen_list_set_new();
 *   screen_list_set_load_path(set, "lists/ofac", &err);        // a folder with the OFAC CSVs
 *   screen_list_set_load_path(set, "lists/un/consolidated.xml", &err);
 *   struct screen_index *idx; screen_index_build(set, &idx);  // takes the set
 *   struct screen_engine *eng; screen_engine_new(&cfg, &eng);
 *   screen_engine_swap(eng, idx);                              // takes the index
 *   struct screen_result r; screen_query(eng, &q, &r); ... screen_result_release(&r);
 *
 * Threading: an index is immutable once built. screen_query() may be called from any number
 * of threads while another thread calls screen_engine_swap(); a query sees either the old or
 * the new index, never a mix, and never waits. The old index is freed when the last query
 * (or result) holding it lets go.
 *
 * Ownership: every `_new`/`_build` pairs with a NULL-safe `_free`/`_release`. Pointers inside
 * a result (entries, names, tokens) are borrowed from the index snapshot the result holds and
 * stay valid until screen_result_release().
 *
 * Errors: functions return 0 or a negative CAPP_E* code (capp/err.h); loaders also fill a
 * struct screen_error with a message naming the file, line and field at fault.
 */
#ifndef SCREEN_H
#define SCREEN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kyc/screen/screen_limits.h"

#define SCREEN_ENGINE_VERSION "screen-2.3"

struct screen_error {
    int code;
    char message[320];
};

/* ---------------------------------------------------------------- list entries */

enum screen_entity_type {
    SCREEN_TYPE_INDIVIDUAL = 0,
    SCREEN_TYPE_ORGANIZATION = 1,
    SCREEN_TYPE_VESSEL = 2,
    SCREEN_TYPE_AIRCRAFT = 3,
    SCREEN_TYPE_COUNT = 4,
    SCREEN_TYPE_ANY = 255 /* queries only */
};

enum screen_gender { SCREEN_GENDER_UNKNOWN = 0, SCREEN_GENDER_MALE, SCREEN_GENDER_FEMALE };

enum screen_name_kind {
    SCREEN_NAME_PRIMARY = 0,
    SCREEN_NAME_ALIAS = 1,           /* strong alias: OFAC alt.csv aka/nka, UN Good / a.k.a. */
    SCREEN_NAME_ALIAS_WEAK = 2,      /* OFAC remarks a.k.a., UN Low */
    SCREEN_NAME_FORMER = 3,          /* f.k.a. */
    SCREEN_NAME_ORIGINAL_SCRIPT = 4, /* UN NAME_ORIGINAL_SCRIPT */
};

struct screen_alias {
    const char *name;
    enum screen_name_kind kind;
};

/* A date or range. Missing month/day are 0. `year_to` > `year` for ranges; `circa` widens the
 * comparison by one year. */
struct screen_dob {
    int16_t year, year_to;
    uint8_t month, day, month_to, day_to;
    uint8_t circa;
};

enum screen_doc_kind {
    SCREEN_DOC_OTHER = 0,
    SCREEN_DOC_PASSPORT,
    SCREEN_DOC_NATIONAL_ID,
    SCREEN_DOC_TAX_ID,
    SCREEN_DOC_REGISTRATION,
    SCREEN_DOC_VESSEL_IMO,
    SCREEN_DOC_CRYPTO,
    SCREEN_DOC_SWIFT,
};

struct screen_document {
    enum screen_doc_kind kind;
    const char *type;    /* as written in the list, e.g. "Passport", "Cedula No." */
    const char *number;  /* as written */
    const char *country; /* issuing country, or NULL */
};

/* One list record. Everything is borrowed from the list set (or the index that owns it). */
struct screen_entry {
    const char *id;     /* "ofac:2674", "un:QDi.001" */
    const char *source; /* "ofac-sdn", "un-consolidated" */
    enum screen_entity_type type;
    const char *name; /* primary name as listed */
    enum screen_gender gender;
    const struct screen_alias *aliases;
    const struct screen_dob *dobs;
    const char *const *places_of_birth;
    const char *const *nationalities; /* nationality and citizenship, as country names */
    const char *const *countries;     /* address countries */
    const struct screen_document *documents;
    const char *const *programs;
    const char *remarks; /* OFAC remarks (joined with sdn_comments) or UN comments; may be NULL */
    uint16_t n_aliases, n_dobs, n_places_of_birth, n_nationalities, n_countries, n_documents,
        n_programs;
    /* addition (screen-2.0): the publisher's risk topics, e.g. "sanction", "role.pep" (the
     * OpenSanctions vocabulary; OFAC and UN entries carry "sanction") */
    const char *const *topics;
    uint16_t n_topics;
};

struct screen_list_version {
    char source[32];  /* "ofac-sdn" | "ofac-cons" | "un-consolidated" | "opensanctions-<dataset>" */
    char date[32];    /* publication day YYYY-MM-DD (spec D29), or "unknown"; never a file mtime */
    char sha256[65];  /* over the files' bytes, in a fixed order */
    char path[512];   /* where it was loaded from */
    uint32_t records; /* entries loaded */
    /* addition (screen-2.0): where `date` comes from: "content" (UN dateGenerated, the newest
     * OpenSanctions LAST_CHANGE), "given" (`PATH@YYYY-MM-DD`), "fetched" (the publisher's
     * Last-Modified, recorded by `kyc lists fetch`), or "unknown" */
    char date_source[16];
};

struct screen_list_set;

/* A new empty set; NULL on allocation failure. Free with screen_list_set_free() unless handed
 * to screen_index_build(). */
struct screen_list_set *screen_list_set_new(void);
void screen_list_set_free(struct screen_list_set *set);

/* Loads the OFAC legacy CSV set from `dir` (sdn.csv, alt.csv, add.csv required,
 * sdn_comments.csv optional). All-or-nothing: on error the set is unchanged. */
int screen_list_set_load_ofac(struct screen_list_set *set, const char *dir,
                              struct screen_error *err);
/* The same from memory (used by tests and fuzzers); `comments` may be NULL. */
int screen_list_set_load_ofac_buffers(struct screen_list_set *set, const char *sdn, size_t sdn_len,
                                      const char *alt, size_t alt_len, const char *add,
                                      size_t add_len, const char *comments, size_t comments_len,
                                      struct screen_error *err);
/* Loads the UN consolidated XML file. All-or-nothing. */
int screen_list_set_load_un(struct screen_list_set *set, const char *path,
                            struct screen_error *err);
int screen_list_set_load_un_buffer(struct screen_list_set *set, const char *xml, size_t len,
                                   struct screen_error *err);
/* Loads an OpenSanctions Senzing JSON export (one entity per line; `DATA_SOURCE`,
 * `RECORD_ID`, `RECORD_TYPE`, `NAMES[]`, `DATES[]`, `COUNTRIES[]`, `ADDRESSES[]`, `RISKS[]`,
 * `IDENTIFIERS[]`, `GENDER`). Records without a person/organisation/vessel/aircraft type (the
 * export's position records) are skipped. All-or-nothing; errors name the file and line. */
int screen_list_set_load_senzing(struct screen_list_set *set, const char *path,
                                 struct screen_error *err);
int screen_list_set_load_senzing_buffer(struct screen_list_set *set, const char *json, size_t len,
                                        const char *name, struct screen_error *err);
/* A folder → the OFAC CSV set in it (sdn.csv… for the SDN list, cons_prim.csv… for the
 * Consolidated non-SDN list); a file → UN XML, or a Senzing JSON export when it starts with
 * '{'. `PATH@YYYY-MM-DD` gives the list's publication date when its files carry none (D29). */
int screen_list_set_load_path(struct screen_list_set *set, const char *path,
                              struct screen_error *err);

size_t screen_list_set_count(const struct screen_list_set *set);
const struct screen_entry *screen_list_set_entry(const struct screen_list_set *set, size_t i);
size_t screen_list_set_version_count(const struct screen_list_set *set);
const struct screen_list_version *screen_list_set_version(const struct screen_list_set *set,
                                                          size_t i);

/* Parses an OFAC remarks string into `entry`'s attribute arrays (DOBs, places of birth,
 * nationalities, gender, documents, weak aliases). Exposed for tests and the fuzzer; the
 * arrays are allocated in `set` and live as long as it does. */
int screen_remarks_parse(struct screen_list_set *set, const char *remarks, size_t len,
                         struct screen_entry *entry, struct screen_error *err);

/* ---------------------------------------------------------------- normalisation */

/* Tokens of a normalised name: lower-case ASCII [a-z0-9], at most SCREEN_MAX_NAME_TOKENS. */
struct screen_tokens {
    char text[SCREEN_MAX_NAME_TOKENS * (SCREEN_MAX_TOKEN_BYTES + 1)];
    uint16_t off[SCREEN_MAX_NAME_TOKENS];
    uint8_t len[SCREEN_MAX_NAME_TOKENS];
    uint32_t count;
    uint32_t stopwords; /* bit i: token i is a stopword or legal form that was kept */
};

enum screen_norm_flags {
    SCREEN_NORM_ORGANIZATION = 1u << 0, /* drop legal-form suffixes and stopwords */
    SCREEN_NORM_PERSON = 1u << 1,       /* drop honorifics; "LAST, First" → "First LAST" */
    SCREEN_NORM_AUTO = 1u << 2,         /* type unknown: organisation rules if a legal form */
};

/* NFKD, strip marks, case fold, any script → Latin → ASCII, punctuation to spaces, legal forms
 * and stopwords (organisations). The one function used for list entries and for queries.
 * Thread-safe. CAPP_ETOOBIG if `len` > SCREEN_MAX_NAME_BYTES, CAPP_EINVAL on invalid UTF-8. */
int screen_normalize(const char *utf8, size_t len, unsigned flags, struct screen_tokens *out);
/* Joins the tokens with single spaces into `out` (NUL-terminated). */
void screen_tokens_join(const struct screen_tokens *t, char *out, size_t cap);

/* Hand-written string metrics (no Debian library provides them for C). */
double screen_jaro_winkler(const char *a, size_t alen, const char *b, size_t blen);
/* Optimal string alignment distance (substitutions, insertions, deletions and adjacent
 * transpositions each count one); tokens longer than SCREEN_MAX_TOKEN_BYTES are cut there. */
unsigned screen_edit_distance(const char *a, size_t alen, const char *b, size_t blen);
/* The same when it is at most `max`, else max + 1 (a one-edit check decides max ≤ 1 in one
 * pass: what the query path needs for nearly every pair). */
unsigned screen_edit_distance_max(const char *a, size_t alen, const char *b, size_t blen,
                                  unsigned max);
/* A compact consonant-skeleton phonetic key (see screen_phonetic.c); returns its length. */
size_t screen_phonetic_key(const char *token, size_t len, char *out, size_t cap);

/* ---------------------------------------------------------------- configuration */

struct screen_config {
    double hit_threshold;      /* ≥ → hit (default 0.95) */
    double review_threshold;   /* ≥ → needs_review (default 0.80) */
    double recall_threshold;   /* review floor in recall mode (default 0.60) */
    int recall_mode;           /* 1: the review floor is recall_threshold */
    unsigned top_k;            /* matches returned (default 10, ≤ SCREEN_MAX_TOP_K) */
    double min_score;          /* matches below are not returned; <0 → the review floor */
    double token_floor;        /* token pairs below this similarity do not pair (0.70) */
    double unmatched_query;    /* weight of an unpaired query token (0.45) */
    double unmatched_list;     /* weight of an unpaired list token (0.30) */
    double initial_score;      /* "j" against "john" (0.90) */
    double phonetic_score;     /* floor for equal phonetic keys; 0 = off (default) */
    double weak_alias_factor;  /* score × this for weak aliases (0.95) */
    double dob_year_penalty;   /* −0.15 */
    double dob_day_penalty;    /* −0.25 */
    double country_penalty;    /* −0.20 */
    double gender_penalty;     /* −0.20 */
    double id_mismatch_factor; /* same document kind, other number: × 0.70 */
    /* additions (screen-1.1); screen_config_default() sets them */
    double unmatched_middle; /* weight of an unpaired query token between the first and the
                                last, e.g. a middle name the list omits (0.20) */
    double unknown_weight;   /* unpaired cost of a query token that is not itself listed, as a
                                fraction of the highest IDF it may count (0.50; 1 = no cap) */
    double distinct_penalty; /* similarity − this when both tokens are listed names with
                                different phonetic keys: "samir"/"sami" (0.30) */
    double variant_penalty;  /* the same for two listed spellings with one phonetic key:
                                "zheng"/"zhang" (0.06) */
    /* addition (screen-1.2) */
    double compound_factor; /* name score × this for each discrepancy (inexact pair, unpaired
                               token) after the first (0.92; 1 = off) */
    /* additions (screen-2.0): the evidence model (docs/kyc.md "Evidence rules"; the rule table
     * is screen_evidence_rules()). dob_year_penalty is the cost of a birth year one year off,
     * dob_day_penalty of the same year with another month or day, country_penalty of a country
     * of unknown role contradicting every listed nationality and address, gender_penalty of a
     * contradicting gender; screen_config_default() sets the screen-2.0 values of those too. */
    double dob_match_bonus;     /* a full date of birth equal to a listed one: + (0.10) */
    double dob_year_step;       /* + this per further year of distance (0.05) */
    double dob_max_penalty;     /* a date of birth never costs more (0.30) */
    double nationality_penalty; /* nationality contradicting every listed one (0.15) */
    double residence_penalty;   /* residence contradicting every listed address country (0.03) */
    double unmatched_extra;     /* weight of an unpaired query token when the query holds every
                                   token of a listed name of 3+ tokens exactly: padding ("Kim
                                   Jong Un John Smith") (0.08); unmatched_middle for 2 tokens */
    /* additions (screen-2.1, bench/accuracy/README.md) */
    double slip_score;           /* one edit in a token of ≤ 4 letters pairs at least at this
                                    similarity: "ai"/"ali", "abi"/"ali" (0.75) */
    double slip_distinct_factor; /* distinct/variant penalty × this for a one-edit pair whose
                                    shorter token has 4 letters; 0 at ≤ 3 letters (0.33) */
    int edit_budget;             /* 1: token pairs more edits apart than the shorter token's
                                    length allows (1 ≤ 6 letters, 2 ≤ 10, else 3; +1 for equal
                                    phonetic keys) do not pair: "amira"/"samir" (1; 0 = off) */
    /* addition (screen-2.2, bench/accuracy/README.md) */
    double unmatched_list_edge;   /* weight of an unpaired token of a listed individual's name
                                     of 3+ tokens that is its first or last token (given or
                                     family name) rather than a middle one (0.60; unmatched_list
                                     = off) */
    int anchor_rule;              /* 1: a name of two or more pairings none of which is exact
                                     compounds from its first discrepancy, not its second:
                                     "Ming Song" / "SON, Min" (1; 0 = off) */
    double unmatched_designation; /* weight of an unpaired token of an untyped query against
                                     a vessel or aircraft name: a designation is matched
                                     whole, an extra word is neither a middle name nor
                                     padding ("Amina Boateng" / vessel "AMINA") (1.0; 0 =
                                     off) */
    /* additions (screen-2.3) */
    double variant_stretch_penalty; /* similarity − this for two listed spellings with one
                                       phonetic key that are more edits apart than the edit
                                       budget allows without the key: "salma"/"salim",
                                       "nasser"/"nazeer" are two names (0.30; variant_penalty
                                       = off) */
    int one_name_rule;              /* 1: a listed name of one name word and particles (al,
                                       el, ul, abu, abou, bin, ibn, bint, ould) is a one-word
                                       name, not padded: "Galina Al-Shammari" is not
                                       "AL-SHAMMARI" padded (1; 0 = off) */
    int padding_block_rule;         /* 1: a two-token listed name held as two adjacent query
                                       tokens with two or more other tokens on one side
                                       ("Fang Zhou Freddy GARCIA"): a second full name,
                                       padding price unmatched_extra instead of a middle
                                       name's (1; 0 = off) */
    double romanisation_score;      /* floor of a pair that differs by one romanisation
                                       alternation of a consonant (w/v, y/i, q/k, ph/f, kh/h,
                                       dj/j: "vahid"/"wahid"), which is then a variant, also
                                       at a short token's first letter (0.90; 0 = off) */
};

void screen_config_default(struct screen_config *cfg);
/* The effective review floor (recall mode aware). */
double screen_config_review_floor(const struct screen_config *cfg);

/* ---------------------------------------------------------------- index and engine */

struct screen_index;
struct screen_engine;

/* Builds an immutable index. Takes ownership of `set` in every case (freed on error). */
int screen_index_build(struct screen_list_set *set, struct screen_index **out);
/* Drops a reference; the index is freed with the last one. NULL-safe. */
void screen_index_release(struct screen_index *idx);
const struct screen_list_set *screen_index_lists(const struct screen_index *idx);

struct screen_index_stats {
    uint32_t entries, names, tokens, postings;
    double build_seconds;
};
void screen_index_stats(const struct screen_index *idx, struct screen_index_stats *out);

/* `cfg` is copied; NULL means defaults. */
int screen_engine_new(const struct screen_config *cfg, struct screen_engine **out);
void screen_engine_free(struct screen_engine *eng);
/* Publishes `idx` (takes its reference). Waits only for queries that started before the swap
 * to take their own reference, then drops the old index. Serialised between writers. */
int screen_engine_swap(struct screen_engine *eng, struct screen_index *idx);
/* Loads paths into a new list set, builds and swaps. On error the current index stays. */
int screen_engine_load(struct screen_engine *eng, const char *const *paths, size_t n,
                       struct screen_error *err);
/* A counted reference to the current index (NULL if none); release with screen_index_release. */
struct screen_index *screen_engine_acquire(struct screen_engine *eng);
const struct screen_config *screen_engine_config(const struct screen_engine *eng);

/* ---------------------------------------------------------------- queries and results */

enum screen_band { SCREEN_BAND_CLEAR = 0, SCREEN_BAND_REVIEW = 1, SCREEN_BAND_HIT = 2 };

/* All strings borrowed for the duration of the call; NULL or "" means absent. */
struct screen_query {
    const char *id;               /* caller's reference, echoed in JSON */
    const char *name;             /* required unless id_number is set */
    const char *dob;              /* YYYY, YYYY-MM or YYYY-MM-DD */
    const char *country;          /* ISO 3166 alpha-2/alpha-3 or an English country name, of
                                     unknown role (nationality or residence) */
    const char *id_number;        /* passport / national ID / any document number */
    enum screen_doc_kind id_kind; /* SCREEN_DOC_OTHER when unknown */
    enum screen_gender gender;
    enum screen_entity_type type; /* SCREEN_TYPE_ANY for both partitions */
    /* additions (screen-2.0) */
    const char *nationality; /* the customer's nationality (weighs more than `country`) */
    const char *residence;   /* the customer's residence/address country (weighs little) */
    /* Which entries to screen against: an entry is eligible when its source is among
     * `sources` (e.g. "ofac-sdn", "opensanctions-us_congress"; none = all) and one of its
     * topics is among `topics` ("sanction", "role.pep"; "role" also selects "role.pep"; none =
     * all). Borrowed arrays. */
    const char *const *sources;
    size_t n_sources;
    const char *const *topics;
    size_t n_topics;
};

struct screen_token_pair {
    const char *query_token; /* NULL: an unpaired list token */
    const char *list_token;  /* NULL: an unpaired query token */
    float similarity;        /* Jaro-Winkler (or initial/phonetic rule), 0 when unpaired */
    float weight;            /* IDF weight used */
};

enum screen_qualifier_kind {
    SCREEN_QUAL_DOB_MATCH,
    SCREEN_QUAL_DOB_DAY_MISMATCH,
    SCREEN_QUAL_DOB_YEAR_MISMATCH,
    SCREEN_QUAL_COUNTRY_MATCH,
    SCREEN_QUAL_COUNTRY_MISMATCH,
    SCREEN_QUAL_GENDER_MISMATCH,
    SCREEN_QUAL_ID_EXACT,
    SCREEN_QUAL_ID_MISMATCH,
    SCREEN_QUAL_WEAK_ALIAS,
    /* additions (screen-2.0) */
    SCREEN_QUAL_DOB_COMPATIBLE,       /* compatible at the precision listed or given: 0 */
    SCREEN_QUAL_NATIONALITY_MATCH,    /* 0 */
    SCREEN_QUAL_NATIONALITY_MISMATCH, /* − nationality_penalty */
    SCREEN_QUAL_RESIDENCE_MATCH,      /* 0 */
    SCREEN_QUAL_RESIDENCE_MISMATCH,   /* − residence_penalty */
    SCREEN_QUAL_COUNTRY_OTHER, /* a country that differs only from a place of birth or an ID's
                                  issuing country: 0 (people live abroad) */
    SCREEN_QUAL_COUNT
};

/* One evidence rule as data: its name (as in JSON and docs/kyc.md), how it acts, its default
 * weight (from screen_config_default()) and when it applies. */
struct screen_evidence_rule {
    enum screen_qualifier_kind kind;
    const char *name;
    const char *effect;   /* "add" (score + weight), "multiply" (score × weight), "set" (score =
                             weight) */
    size_t config_offset; /* where its weight lives in struct screen_config */
    double sign;          /* +1 or −1: the weight as a signed delta */
    const char *condition;
};
/* The rules, in the order they are applied; *n gets their number. */
const struct screen_evidence_rule *screen_evidence_rules(size_t *n);
/* The signed weight of a rule under `cfg` (a delta for "add", the factor otherwise). */
double screen_evidence_weight(const struct screen_evidence_rule *rule,
                              const struct screen_config *cfg);

struct screen_qualifier {
    enum screen_qualifier_kind kind;
    float delta; /* additive change, or the factor for multiplicative qualifiers */
    char detail[96];
};

#define SCREEN_MAX_QUALIFIERS 10
#define SCREEN_MAX_PAIRS      (2 * SCREEN_MAX_NAME_TOKENS)

/* Why a match matters, from the entry's topics: a sanctions entry can be a hit; a PEP (topic
 * role.*) or any other watch-list entry is at most needs_review, under its own reason. */
enum screen_reason {
    SCREEN_REASON_SANCTIONS = 0, /* "sanctions_match" */
    SCREEN_REASON_PEP = 1,       /* "pep_match" */
    SCREEN_REASON_WATCHLIST = 2, /* "watchlist_match": crime, debarment, ... */
};

struct screen_match {
    const struct screen_entry *entry;
    const char *matched_name; /* the list name that scored best */
    enum screen_name_kind name_kind;
    float name_score;      /* token score before qualifiers */
    float score;           /* final, in [0,1] */
    enum screen_band band; /* from the score; a non-sanctions reason caps it at needs_review */
    uint32_t n_pairs, n_qualifiers;
    struct screen_token_pair pairs[SCREEN_MAX_PAIRS];
    struct screen_qualifier qualifiers[SCREEN_MAX_QUALIFIERS];
    /* addition (screen-2.0) */
    enum screen_reason reason;
};

/* Flags of a result: what was removed from the query name before screening (markup such as
 * "<img …>", HTML entities, control or invisible format characters). A caller reports them
 * as a data-quality finding; the name screened is what remained. */
enum screen_input_flag {
    SCREEN_INPUT_MARKUP = 1u << 0,
    SCREEN_INPUT_CONTROL = 1u << 1,
};

struct screen_result {
    struct screen_index *index; /* reference held by the result */
    struct screen_tokens query_tokens;
    enum screen_band band; /* the highest band among the matches (clear when none) */
    uint32_t candidates;   /* names scored after blocking */
    uint32_t n_matches;    /* at or above min_score, sorted by band, then score, descending */
    struct screen_match *matches;
    double review_floor, hit_threshold;
    /* additions (screen-2.0) */
    /* What the engine considered, whatever the outcome: the best SCREEN_MIN_CONSIDERED
     * entries by final score (among the names blocking let through, and the few best by the
     * blocking bound below it, which are scored for this) plus every entry whose name score
     * alone reached the review floor, each with its name score,
     * alignment, qualifiers, final score and band, sorted like `matches` (at most
     * SCREEN_MAX_CONSIDERED). Entries in `matches` appear here too; a `clear` result can list
     * an exact name that qualifiers discounted ("considered and discounted"), which is what an
     * examiner asks about. Owned by the result (screen_result_release frees it). */
    uint32_t n_considered;
    struct screen_match *considered;
    unsigned input_flags; /* enum screen_input_flag */
};

#define SCREEN_MIN_CONSIDERED 3
#define SCREEN_MAX_CONSIDERED 20

/* Screens one query against the engine's current index. `cfg` NULL → the engine's config.
 * CAPP_ENOTFOUND when no index is loaded, CAPP_EINVAL for an empty query, CAPP_ETOOBIG for a
 * field over its limit. On success release `out` with screen_result_release(). */
int screen_query(struct screen_engine *eng, const struct screen_query *q,
                 const struct screen_config *cfg, struct screen_result *out);
/* The same against a specific index (takes its own reference for the result). */
int screen_query_index(struct screen_index *idx, const struct screen_query *q,
                       const struct screen_config *cfg, struct screen_result *out);
void screen_result_release(struct screen_result *r);

const char *screen_band_name(enum screen_band b);
const char *screen_type_name(enum screen_entity_type t);
const char *screen_name_kind_name(enum screen_name_kind k);
const char *screen_qualifier_name(enum screen_qualifier_kind k);
/* "sanctions_match" | "pep_match" | "watchlist_match". */
const char *screen_reason_name(enum screen_reason r);
/* The reason an entry's topics give (no topics: sanctions, as for OFAC and UN). */
enum screen_reason screen_entry_reason(const struct screen_entry *e);
/* Removes markup (tags, comments, entities) and control/invisible format characters from a
 * UTF-8 name into `out` (NUL-terminated, at most `len` + 1 bytes; cap ≥ len + 1), ORing
 * SCREEN_INPUT_* into *flags. Returns the new length. */
size_t screen_sanitize_name(const char *in, size_t len, char *out, size_t cap, unsigned *flags);
/* "individual" | "person" → individual; "organization" | "entity" | "company" → organization. */
int screen_type_parse(const char *s, enum screen_entity_type *out);

/* ---------------------------------------------------------------- JSON */

/* The result with explanations, as a new jansson object (caller decrefs); NULL on OOM.
 * `query` may be NULL; its id is echoed when present. */
json_t *screen_result_to_json(const struct screen_result *r, const struct screen_query *query);
/* Reads {"id","name","dob","country","nationality","residence","type","id_number","id_kind",
 * "gender"} into `q`; the strings are
 * borrowed from `obj`. Fills `err` naming the bad field. */
int screen_query_from_json(const json_t *obj, struct screen_query *q, struct screen_error *err);
/* The list versions of an index as a JSON array (caller decrefs). */
json_t *screen_index_versions_json(const struct screen_index *idx);

/* ---------------------------------------------------------------- fetching */

enum screen_list_format { SCREEN_LIST_OFAC_CSV, SCREEN_LIST_UN_XML, SCREEN_LIST_SENZING_JSON };

/* One list a publisher puts online, and where `kyc lists fetch` keeps it: <dir>/<folder>/<file>
 * for each of its files, which is what screen_list_set_load_path() (and `--lists`) reads: the
 * folder for an OFAC CSV set, the file otherwise. */
struct screen_list_source {
    const char *name;   /* `--source` value: "ofac-sdn", "ofac-cons", "un-consolidated", ... */
    const char *folder; /* under the lists directory */
    enum screen_list_format format;
    const char *base_url;  /* the publisher's; each remote name is appended to it */
    const char *remote[4]; /* as published */
    const char *local[4];  /* as the loaders expect */
    unsigned n_files;
    int fetched_by_default; /* 0: only with --source (OpenSanctions data is CC BY-NC) */
};

#define SCREEN_OFAC_BASE_URL \
    "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/"
#define SCREEN_UN_URL                 "https://scsanctions.un.org/resources/xml/en/consolidated.xml"
#define SCREEN_OPENSANCTIONS_BASE_URL "https://data.opensanctions.org/datasets/latest/"

/* The known sources, in fetch order; *n gets their number. */
const struct screen_list_source *screen_list_sources(size_t *n);
const struct screen_list_source *screen_list_source_find(const char *name);

struct screen_fetch_options {
    const char *dir;           /* lists directory (layout: struct screen_list_source) */
    const char *ofac_base_url; /* default SCREEN_OFAC_BASE_URL; files appended */
    const char *un_url;        /* default SCREEN_UN_URL */
    long timeout_seconds;      /* per file, default 120 */
    int ofac_only, un_only;
    /* additions (screen-2.0) */
    const char *opensanctions_base_url; /* default SCREEN_OPENSANCTIONS_BASE_URL */
    const char *const *sources;         /* names to fetch; none: those fetched by default */
    size_t n_sources;
    int progress; /* report download progress on stderr (the CLI sets it when stderr is a TTY) */
};

/* The URL of file `i` of `src` under the options' base URL overrides. */
int screen_list_source_url(const struct screen_list_source *src, unsigned i,
                           const struct screen_fetch_options *opt, char *out, size_t cap);
/* The path `--lists` takes for `src` under `dir` (its folder, or its single file). */
int screen_list_source_path(const struct screen_list_source *src, const char *dir, char *out,
                            size_t cap);

/* Downloads into temporary files, validates them by loading, then renames them into place and
 * records the publisher's Last-Modified day in the folder (SCREEN_LIST_DATE_FILE, the version
 * date of lists whose files carry none). A failed download or a file that does not parse leaves
 * the previous files untouched. */
int screen_lists_fetch(const struct screen_fetch_options *opt, struct screen_error *err);

#endif
