/*
 * seed.h — `cloudsim seed`: realistic synthetic identities for the Core-like store.
 *
 * Customers are individuals and organizations from many cultures and scripts, with DOBs,
 * nationalities, addresses, emails and phones. At chosen rates the seeder plants identities
 * whose names are perturbed variants of sanctions-list entries (OFAC sdn.csv folders or files,
 * UN consolidated XML) and identities with data-quality problems. Everything is a pure
 * function of (seed, instance_id, options): the same inputs give byte-identical rows,
 * including IDs and created_at. A planted identity carries, at the share
 * plant_qualifier_match, the list entry's date of birth (within the listed precision: a
 * year-only entry gives a date in that year), nationality and address country (ISO alpha-2)
 * and gender, as a real customer who is the listed person would; the rest keep their random
 * ones as noise. The planted truth is recorded in the side table seed_truth (identity_id,
 * instance_id, kind 'sanctions'|'quality', detail, list_source, list_entry, list_name,
 * qualifiers) and never in the identity itself, so the KYC app cannot read the answers.
 * qualifiers lists, for each attribute the entry has, whether the identity carries it:
 * "dob:match,nationality:match,gender:match", or ":random" for noise; "" when the entry lists
 * none.
 */
#ifndef CLOUDSIM_SEED_H
#define CLOUDSIM_SEED_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define CS_SEED_MAX_IDENTITIES 10000000LL
#define CS_SEED_MAX_LISTS      8

struct cs_seed_options {
    const char *instance_id;
    long long identities;
    uint64_t seed;
    const char *plant_lists[CS_SEED_MAX_LISTS]; /* OFAC folder or sdn.csv, or UN .xml */
    size_t plant_list_count;
    double plant_rate; /* share of identities planted from the lists, 0..1 */
    double bad_rate;   /* share with data-quality problems, 0..1 */
    /* share of planted identities that carry the entry's DOB/nationality/country/gender, 0..1;
     * 0 (a zeroed struct) keeps every planted identity's random ones. The CLI default is
     * CS_SEED_DEFAULT_QUALIFIER_MATCH. */
    double plant_qualifier_match;
};

#define CS_SEED_DEFAULT_QUALIFIER_MATCH 0.9

struct cs_seed_report {
    long long identities, individuals, organizations;
    long long planted, bad;
    long long planted_qualifier_match; /* planted identities carrying the entry's qualifiers */
    size_t list_names;                 /* names loaded from the lists */
    double seconds;
};

/*
 * Seeds into an open database (the data tables are created when missing), in one transaction.
 * Planted counts are exact: round(N × rate) each (plants need at least one list name).
 * CAPP_EINVAL for bad options, CAPP_EIO/CAPP_EPARSE for unreadable lists, CAPP_EEXIST when
 * the same seed was already applied to this instance.
 */
int cs_seed_run(sqlite3 *db, const struct cs_seed_options *options, struct cs_seed_report *report);

/* `cloudsim seed --db PATH --instance INST --identities N [--seed S]
 *   [--plant-lists PATH...] [--plant-rate R] [--plant-qualifier-match R] [--bad-rate R]`;
 * argv[0] is "seed". */
int cs_seed_main(int argc, char **argv);

#endif
