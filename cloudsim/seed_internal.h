/*
 * seed_internal.h — pieces of the seeder shared between seed.c, seed_names.c (culture tables),
 * seed_lists.c (sanctions list readers) and seed_truth.c (the answer-key table). Not part of
 * the public contract.
 */
#ifndef CLOUDSIM_SEED_INTERNAL_H
#define CLOUDSIM_SEED_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "cloudsim/core.h"

/* splitmix64: small, fast, and the same sequence on every platform. */
struct seed_rng {
    uint64_t state;
};

uint64_t seed_rng_next(struct seed_rng *r);
/* Uniform in [0, n). */
uint64_t seed_rng_below(struct seed_rng *r, uint64_t n);
double seed_rng_unit(struct seed_rng *r);

#define SEED_PICK(r, arr) ((arr)[seed_rng_below((r), sizeof(arr) / sizeof((arr)[0]))])

/* A naming culture: names in one script, with the country they come from. */
struct seed_culture {
    const char *country; /* ISO 3166-1 alpha-2 */
    const char *dial;    /* E.164 country code digits */
    int latin;           /* 1 when names are in Latin script (usable in emails) */
    const char *const *male, *const *female, *const *last, *const *cities, *const *streets;
    size_t male_count, female_count, last_count, city_count, street_count;
    const char *street_format; /* "%d %s" or "%s %d" */
    int post_code_digits;
    const char *const *org_suffixes;
    size_t org_suffix_count;
    unsigned weight; /* relative frequency */
};

extern const struct seed_culture seed_cultures[];
extern const size_t seed_culture_count;

extern const char *const seed_org_words[];
extern const size_t seed_org_word_count;
extern const char *const seed_email_domains[];
extern const size_t seed_email_domain_count;

/* One name read from a sanctions list. */
struct seed_list_name {
    char *first, *last, *other; /* individuals */
    char *org;                  /* entities (NULL for individuals) */
    char *full;                 /* as listed */
    char *script;               /* original-script name, or NULL */
    char source[8];             /* "ofac" | "un" */
    char entry[32];             /* ent_num / DATAID */
    char dob[11];               /* YYYY-MM-DD, YYYY-MM or YYYY, as precise as listed; or "" */
    int dob_year_to;            /* last year of a listed range ("1960 to 1962"), else 0 */
    char nationality[3];        /* ISO 3166 alpha-2 of the first nationality/citizenship */
    char country[3];            /* ISO 3166 alpha-2 of the first address country */
    char gender;                /* 'm', 'f', or 0 when not listed */
};

struct seed_list {
    struct seed_list_name *items;
    size_t count, cap;
};

/* Reads path (an OFAC folder with sdn.csv and, when present, add.csv for address countries;
 * an sdn.csv file; or a UN consolidated .xml) and appends its names with their DOB,
 * nationality, address country and gender as listed. 0, CAPP_EIO, CAPP_EPARSE or CAPP_ENOMEM. */
int seed_list_load(struct seed_list *list, const char *path);
void seed_list_free(struct seed_list *list);

/* Creates the seed_truth table when missing (seed_truth.c; component "cloudsim_seed"). */
int seed_truth_migrate(sqlite3 *db);

/* ---- one identity under construction (seed.c builds it, seed_plant.c plants list names) ---- */

#define SEED_FIELD 256
/* Ages and expiry dates are relative to this year, never to the clock (reproducible runs). */
#define SEED_REFERENCE_YEAR 2026

struct seed_person {
    char identity_id[CORE_ID_BYTES];
    char identity_type[32], organization_name[SEED_FIELD], category[32];
    char first_name[SEED_FIELD], last_name[SEED_FIELD], other_names[SEED_FIELD], gender[16];
    char email_address[SEED_FIELD], phone_number[64], nationality[64];
    char street[SEED_FIELD], country[64], state[64], post_code[32], city[SEED_FIELD];
    char dob[11], created_at[CORE_TIME_BYTES];
    char meta_data[512];
};

/* Bounded copy that never cuts a UTF-8 sequence in half. */
void seed_set(char *dst, size_t cap, const char *src);
#define SEED_SET(field, src) seed_set(p->field, sizeof p->field, (src))
/* A date of birth for an age in [min_age, max_age) on the seeder's reference date. */
void seed_random_dob(struct seed_rng *r, char out[11], int min_age, int max_age);

struct seed_list_name;
/* Gives p a perturbed form of list entry e's name (typo, transliteration, order, squeeze...);
 * returns a short description of what was done, for the ground truth. */
const char *seed_plant_name(struct seed_rng *r, struct seed_person *p,
                            const struct seed_list_name *e);
/* Gives p some of e's qualifiers (date of birth, nationality, ...) as a namesake would carry them:
 * `carry` of them when possible; writes what was carried into out (cap bytes). */
void seed_plant_qualifiers(struct seed_rng *r, struct seed_person *p,
                           const struct seed_list_name *e, int carry, char *out, size_t cap);

#endif
