/*
 * seed.c — the synthetic customer generator behind `cloudsim seed` (see seed.h).
 *
 * Design: one splitmix64 stream seeded from (seed, instance_id) drives every choice in a fixed
 * order, so a run is reproducible byte for byte; the clock is never read for data (created_at
 * advances from a fixed epoch, ages are relative to a fixed reference date). Which identities
 * are planted is decided by urn sampling — at slot i, P(plant) = plants_left / slots_left — so
 * the counts are exact and the positions uniform. All rows go in through two prepared
 * statements inside one transaction, which is what makes 100k identities take about a second.
 */
#include "cloudsim/seed.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "capp/buf.h"
#include "capp/clock.h"
#include "capp/db.h"
#include "capp/assert.h"
#include "capp/err.h"
#include "capp/hash.h"
#include "capp/log.h"
#include "cloudsim/core.h"
#include "seed_internal.h"

#define SEED_EPOCH   1704067200LL /* 2024-01-01T00:00:00Z: first created_at */
#define SEED_SPACING 600          /* seconds between consecutive identities, jittered */

/* ---- one identity under construction (struct seed_person: seed_internal.h) ---- */

struct truth {
    const char *kind, *detail;
    const char *source, *entry, *name;
    const char *qualifiers;
};

static const struct seed_culture *pick_culture(struct seed_rng *r)
{
    unsigned total = 0;
    for (size_t i = 0; i < seed_culture_count; i++)
        total += seed_cultures[i].weight;
    uint64_t x = seed_rng_below(r, total);
    for (size_t i = 0; i < seed_culture_count; i++) {
        if (x < seed_cultures[i].weight)
            return &seed_cultures[i];
        x -= seed_cultures[i].weight;
    }
    return &seed_cultures[0];
}

/* ASCII-lowercase local part for emails: letters only, at most 20 bytes. */
static void email_part(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap && n < 20; s++)
        if (isalpha((unsigned char)*s) && !((unsigned char)*s & 0x80))
            out[n++] = (char)tolower((unsigned char)*s);
    out[n] = '\0';
}

static void random_digits(struct seed_rng *r, char *out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = (char)('0' + seed_rng_below(r, 10));
    out[n] = '\0';
}

static void make_address(struct seed_rng *r, struct seed_person *p, const struct seed_culture *c)
{
    char tmp[SEED_FIELD + 32];
    int number = 1 + (int)seed_rng_below(r, 250);
    const char *street = c->streets[seed_rng_below(r, c->street_count)];
    if (strncmp(c->street_format, "%d", 2) == 0)
        snprintf(tmp, sizeof tmp, "%d %s", number, street);
    else
        snprintf(tmp, sizeof tmp, "%s %d", street, number);
    SEED_SET(street, tmp);
    SEED_SET(city, c->cities[seed_rng_below(r, c->city_count)]);
    SEED_SET(country, c->country);
    if (c->post_code_digits > 0) {
        random_digits(r, p->post_code, c->post_code_digits);
    } else {
        /* UK/Irish style outward + inward code, or none */
        snprintf(tmp, sizeof tmp, "%c%c%d %d%c%c", 'A' + (int)seed_rng_below(r, 26),
                 'A' + (int)seed_rng_below(r, 26), 1 + (int)seed_rng_below(r, 20),
                 (int)seed_rng_below(r, 10), 'A' + (int)seed_rng_below(r, 26),
                 'A' + (int)seed_rng_below(r, 26));
        SEED_SET(post_code, tmp);
    }
    SEED_SET(state, "");
}

static void make_phone(struct seed_rng *r, struct seed_person *p, const char *dial)
{
    char digits[16];
    random_digits(r, digits, 9);
    digits[0] = (char)('2' + seed_rng_below(r, 8));
    char tmp[64];
    snprintf(tmp, sizeof tmp, "+%s%s", dial, digits);
    SEED_SET(phone_number, tmp);
}

static void make_individual(struct seed_rng *r, struct seed_person *p, const struct seed_culture *c)
{
    int female = seed_rng_below(r, 2) == 0;
    SEED_SET(identity_type, "individual");
    static const char *const categories[] = {"individual", "customer", "retail", "VIP"};
    SEED_SET(category, SEED_PICK(r, categories));
    SEED_SET(first_name, female ? c->female[seed_rng_below(r, c->female_count)]
                                : c->male[seed_rng_below(r, c->male_count)]);
    SEED_SET(last_name, c->last[seed_rng_below(r, c->last_count)]);
    if (seed_rng_below(r, 5) == 0)
        SEED_SET(other_names, female ? c->female[seed_rng_below(r, c->female_count)]
                                     : c->male[seed_rng_below(r, c->male_count)]);
    else
        SEED_SET(other_names, "");
    SEED_SET(gender, female ? "female" : "male");
    SEED_SET(organization_name, "");
    seed_random_dob(r, p->dob, 18, 85);
    /* most customers live where they are from; some abroad */
    const struct seed_culture *home = seed_rng_below(r, 8) == 0 ? pick_culture(r) : c;
    SEED_SET(nationality, c->country);
    make_address(r, p, home);
    make_phone(r, p, home->dial);
    char a[32], b[32], tmp[SEED_FIELD];
    email_part(p->first_name, a, sizeof a);
    email_part(p->last_name, b, sizeof b);
    const char *domain = seed_email_domains[seed_rng_below(r, seed_email_domain_count)];
    if (a[0] && b[0])
        snprintf(tmp, sizeof tmp, "%s.%s%d@%s", a, b, (int)seed_rng_below(r, 1000), domain);
    else
        snprintf(tmp, sizeof tmp, "user%d@%s", (int)seed_rng_below(r, 10000000), domain);
    SEED_SET(email_address, tmp);
}

static void make_organization(struct seed_rng *r, struct seed_person *p,
                              const struct seed_culture *c)
{
    char tmp[SEED_FIELD];
    const char *base = seed_rng_below(r, 2)
                           ? c->last[seed_rng_below(r, c->last_count)]
                           : seed_org_words[seed_rng_below(r, seed_org_word_count)];
    snprintf(tmp, sizeof tmp, "%s %s %s", base,
             seed_org_words[seed_rng_below(r, seed_org_word_count)],
             c->org_suffixes[seed_rng_below(r, c->org_suffix_count)]);
    SEED_SET(organization_name, tmp);
    SEED_SET(identity_type, "organization");
    SEED_SET(category, "business");
    SEED_SET(first_name, "");
    SEED_SET(last_name, "");
    SEED_SET(other_names, "");
    SEED_SET(gender, "");
    seed_set(p->dob, sizeof p->dob, "0001-01-01");
    SEED_SET(nationality, c->country);
    make_address(r, p, c);
    make_phone(r, p, c->dial);
    char a[32];
    email_part(base, a, sizeof a);
    snprintf(tmp, sizeof tmp, "info@%s%s.com", a[0] ? a : "company",
             seed_org_words[seed_rng_below(r, 3)][0] == 'G' ? "group" : "");
    for (char *q = tmp; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    SEED_SET(email_address, tmp);
}

static void make_meta(struct seed_rng *r, struct seed_person *p)
{
    static const char *const segments[] = {"retail", "premium", "business", "student"};
    static const char *const channels[] = {"web", "mobile", "branch", "partner"};
    if (seed_rng_below(r, 10) < 7)
        snprintf(p->meta_data, sizeof p->meta_data,
                 "{\"customer\":{\"segment\":\"%s\",\"channel\":\"%s\",\"risk_score\":%d}}",
                 SEED_PICK(r, segments), SEED_PICK(r, channels), (int)seed_rng_below(r, 100));
    else
        p->meta_data[0] = '\0';
}

/* ---- data-quality problems ---- */

static const char *make_bad(struct seed_rng *r, struct seed_person *p, const unsigned char key[32])
{
    static const char *const bad_countries[] = {"XX", "ZZ", "UK", "Narnia", "123", "U.S.A", "EU"};
    static const char *const bad_emails[] = {
        "john.doe@",        "no-at-sign.example.com", "@example.com",
        "two@@example.com", "spaces in@example.com",  "x@localhost"};
    static const char *const disposable[] = {"mailinator.com", "10minutemail.com",
                                             "guerrillamail.com", "yopmail.com", "trashmail.com"};
    static const char *const bad_phones[] = {"12345",    "0000000000", "+1 (555) ABC-DEFG",
                                             "555-0100", "+",          "+999123456789012345"};
    int individual = strcmp(p->identity_type, "individual") == 0;
    char tmp[SEED_FIELD];
    switch (seed_rng_below(r, 12)) {
    case 0:
        if (individual) {
            if (seed_rng_below(r, 2))
                SEED_SET(first_name, "");
            else
                SEED_SET(last_name, "");
        } else {
            SEED_SET(organization_name, "");
        }
        return "missing_name";
    case 1:
        SEED_SET(country, "");
        SEED_SET(street, "");
        SEED_SET(city, "");
        return "missing_address";
    case 2:
        if (!individual)
            return make_bad(r, p, key);
        seed_set(p->dob, sizeof p->dob, "0001-01-01");
        return "dob_unset";
    case 3:
        if (!individual)
            return make_bad(r, p, key);
        snprintf(tmp, sizeof tmp, "%04d-%02d-%02d",
                 SEED_REFERENCE_YEAR + 2 + (int)seed_rng_below(r, 20),
                 1 + (int)seed_rng_below(r, 12), 1 + (int)seed_rng_below(r, 28));
        seed_set(p->dob, sizeof p->dob, tmp);
        return "dob_future";
    case 4:
        if (!individual)
            return make_bad(r, p, key);
        snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", 1800 + (int)seed_rng_below(r, 80),
                 1 + (int)seed_rng_below(r, 12), 1 + (int)seed_rng_below(r, 28));
        seed_set(p->dob, sizeof p->dob, tmp);
        return "dob_implausible";
    case 5:
        if (!individual)
            return make_bad(r, p, key);
        seed_random_dob(r, p->dob, 3, 16);
        return "minor";
    case 6:
        SEED_SET(country, SEED_PICK(r, bad_countries));
        return "bad_country";
    case 7:
        if (!individual)
            return make_bad(r, p, key);
        SEED_SET(nationality, SEED_PICK(r, bad_countries));
        return "bad_nationality";
    case 8:
        SEED_SET(email_address, SEED_PICK(r, bad_emails));
        return "bad_email";
    case 9: {
        char local[32];
        email_part(individual ? p->first_name : "info", local, sizeof local);
        snprintf(tmp, sizeof tmp, "%s%d@%s", local[0] ? local : "user",
                 (int)seed_rng_below(r, 1000), SEED_PICK(r, disposable));
        SEED_SET(email_address, tmp);
        return "disposable_email";
    }
    case 10:
        SEED_SET(phone_number, SEED_PICK(r, bad_phones));
        return "bad_phone";
    default: {
        if (!individual)
            return make_bad(r, p, key);
        /* tokenized under a key nobody holds: the app cannot detokenize it */
        char *first = NULL, *last = NULL;
        if (core_token_encode(key, p->first_name, &first) == 0 &&
            core_token_encode(key, p->last_name, &last) == 0) {
            SEED_SET(first_name, first);
            SEED_SET(last_name, last);
            snprintf(p->meta_data, sizeof p->meta_data,
                     "{\"tokenized_fields\":{\"FirstName\":true,\"LastName\":true}}");
        }
        free(first);
        free(last);
        return "tokenized_pii";
    }
    }
}

/* ---- the run ---- */

static void created_at(struct seed_rng *r, long long i, char out[CORE_TIME_BYTES])
{
    long long t = SEED_EPOCH + i * SEED_SPACING + (long long)seed_rng_below(r, SEED_SPACING);
    long long us = t * 1000000 + (long long)seed_rng_below(r, 1000000);
    clock_format_rfc3339_us(us, 6, out, CORE_TIME_BYTES);
}

static int insert_person(sqlite3_stmt *stmt, const char *instance_id, const struct seed_person *p)
{
    const char *values[] = {
        p->identity_id, instance_id,      p->identity_type, p->organization_name,
        p->category,    p->first_name,    p->last_name,     p->other_names,
        p->gender,      p->email_address, p->phone_number,  p->nationality,
        p->street,      p->country,       p->state,         p->post_code,
        p->city,        p->dob,           p->created_at,    p->meta_data[0] ? p->meta_data : NULL};
    sqlite3_reset(stmt);
    for (int i = 0; i < (int)COUNTOF(values); i++)
        if (sqlite3_bind_text(stmt, i + 1, values[i], -1, SQLITE_STATIC) != SQLITE_OK)
            return CAPP_EDB;
    return db_step_done(stmt);
}

static int insert_truth(sqlite3_stmt *stmt, const char *instance_id, const char *identity_id,
                        const struct truth *t)
{
    const char *values[] = {identity_id, instance_id, t->kind, t->detail,
                            t->source,   t->entry,    t->name, t->qualifiers};
    sqlite3_reset(stmt);
    for (int i = 0; i < 8; i++)
        if (sqlite3_bind_text(stmt, i + 1, values[i], -1, SQLITE_STATIC) != SQLITE_OK)
            return CAPP_EDB;
    return db_step_done(stmt);
}

/*
 * Into an empty identity table, building each secondary index once from sorted keys after the
 * bulk insert is about twice as fast as updating ten B-trees row by row. Inside the caller's
 * transaction: drops them and returns their CREATE statements (from sqlite_master, so the
 * schema stays defined in one place) in *sql, malloc'd, for the caller to run after the
 * insert; *sql stays NULL when the table already has rows.
 */
static int drop_indexes_if_empty(sqlite3 *db, char **sql)
{
    struct buf create, drop;
    sqlite3_stmt *stmt = NULL;
    buf_init(&create, 1 << 20);
    buf_init(&drop, 1 << 20);
    int rc = db_prepare(db, "SELECT EXISTS (SELECT 1 FROM core_identities)", &stmt);
    int empty = rc == 0 && db_step_row(stmt) == 1 && sqlite3_column_int(stmt, 0) == 0;
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc == 0 && empty)
        rc = db_prepare(db,
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                        " AND tbl_name = 'core_identities' AND sql IS NOT NULL",
                        &stmt);
    while (rc == 0 && empty) {
        int r = db_step_row(stmt);
        if (r <= 0) {
            rc = r;
            break;
        }
        const char *name = (const char *)sqlite3_column_text(stmt, 0);
        rc = buf_printf(&drop, "DROP INDEX \"%s\";", name);
        if (rc == 0)
            rc = buf_printf(&create, "%s;", (const char *)sqlite3_column_text(stmt, 1));
    }
    sqlite3_finalize(stmt);
    if (rc == 0 && drop.len)
        rc = db_exec(db, drop.data);
    if (rc == 0 && create.len) {
        *sql = strdup(create.data);
        rc = *sql ? 0 : CAPP_ENOMEM;
    }
    buf_free(&create);
    buf_free(&drop);
    return rc;
}

int cs_seed_run(sqlite3 *db, const struct cs_seed_options *o, struct cs_seed_report *report)
{
    struct cs_seed_report rep;
    memset(&rep, 0, sizeof rep);
    if (!o->instance_id || !*o->instance_id || o->identities < 0 ||
        o->identities > CS_SEED_MAX_IDENTITIES || o->plant_rate < 0 || o->plant_rate > 1 ||
        o->bad_rate < 0 || o->bad_rate > 1 || o->plant_rate + o->bad_rate > 1 ||
        !(o->plant_qualifier_match >= 0 && o->plant_qualifier_match <= 1) ||
        o->plant_list_count > CS_SEED_MAX_LISTS)
        return CAPP_EINVAL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct seed_list list = {0};
    int rc = 0;
    for (size_t i = 0; i < o->plant_list_count && rc == 0; i++) {
        rc = seed_list_load(&list, o->plant_lists[i]);
        if (rc)
            log_error("seed.list_failed", "path", o->plant_lists[i], "error", capp_strerror(rc),
                      NULL);
    }
    if (rc) {
        seed_list_free(&list);
        return rc;
    }
    rep.list_names = list.count;
    long long n = o->identities;
    long long plants_left = list.count ? llround((double)n * o->plant_rate) : 0;
    long long bad_left = llround((double)n * o->bad_rate);
    if (plants_left + bad_left > n)
        bad_left = n - plants_left;
    /* the short basis: a seed and an instance give the same data in every version */
    struct seed_rng rng = {o->seed ^ hash_fnv1a_add_str(HASH_FNV1A_OFFSET_SHORT, o->instance_id)};
    unsigned char token_key[32];
    for (int i = 0; i < 4; i++) {
        uint64_t v = seed_rng_next(&rng);
        memcpy(token_key + 8 * i, &v, 8);
    }
    sqlite3_stmt *ins = NULL, *truth = NULL;
    rc = cs_data_migrate(db);
    if (rc == 0)
        rc = seed_truth_migrate(db);
    /* keep the ten identity indexes in memory for the whole transaction instead of spilling
     * dirty pages to the WAL over and over */
    if (rc == 0)
        rc = db_exec(db, "PRAGMA cache_size=-262144");
    if (rc == 0)
        rc = db_begin_immediate(db);
    if (rc == 0)
        rc = db_prepare(db,
                        "INSERT INTO core_identities (identity_id, instance_id, identity_type,"
                        " organization_name, category, first_name, last_name, other_names,"
                        " gender, email_address, phone_number, nationality, street, country,"
                        " state, post_code, city, dob, created_at, meta_data)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        &ins);
    if (rc == 0)
        rc = db_prepare(db,
                        "INSERT INTO seed_truth (identity_id, instance_id, kind, detail,"
                        " list_source, list_entry, list_name, qualifiers)"
                        " VALUES (?,?,?,?,?,?,?,?)",
                        &truth);
    char *indexes = NULL;
    if (rc == 0)
        rc = drop_indexes_if_empty(db, &indexes);
    struct seed_person person;
    char qualifiers[96];
    for (long long i = 0; rc == 0 && i < n; i++) {
        struct seed_person *p = &person;
        memset(p, 0, sizeof *p);
        unsigned char raw[16];
        for (int k = 0; k < 2; k++) {
            uint64_t v = seed_rng_next(&rng);
            memcpy(raw + 8 * k, &v, 8);
        }
        char uuid[CORE_UUID_BYTES];
        core_uuid_format(raw, uuid);
        snprintf(p->identity_id, sizeof p->identity_id, "idt_%s", uuid);
        created_at(&rng, i, p->created_at);
        const struct seed_culture *c = pick_culture(&rng);
        if (seed_rng_below(&rng, 100) < 12)
            make_organization(&rng, p, c);
        else
            make_individual(&rng, p, c);
        make_meta(&rng, p);
        long long slots_left = n - i;
        uint64_t draw = seed_rng_below(&rng, (uint64_t)slots_left);
        struct truth t = {0};
        if ((long long)draw < plants_left) {
            const struct seed_list_name *e = &list.items[seed_rng_below(&rng, list.count)];
            t.kind = "sanctions";
            t.detail = seed_plant_name(&rng, p, e);
            int carry = seed_rng_unit(&rng) < o->plant_qualifier_match;
            seed_plant_qualifiers(&rng, p, e, carry, qualifiers, sizeof qualifiers);
            rep.planted_qualifier_match += carry;
            t.qualifiers = qualifiers;
            t.source = e->source;
            t.entry = e->entry;
            t.name = e->full;
            plants_left--;
            rep.planted++;
        } else if ((long long)draw < plants_left + bad_left) {
            t.kind = "quality";
            t.detail = make_bad(&rng, p, token_key);
            bad_left--;
            rep.bad++;
        }
        if (strcmp(p->identity_type, "organization") == 0)
            rep.organizations++;
        else
            rep.individuals++;
        rc = insert_person(ins, o->instance_id, p);
        if (rc == 0 && t.kind)
            rc = insert_truth(truth, o->instance_id, p->identity_id, &t);
        rep.identities++;
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(truth);
    if (rc == 0 && indexes)
        rc = db_exec(db, indexes);
    free(indexes);
    if (rc == 0)
        rc = db_commit(db);
    else
        db_rollback(db);
    seed_list_free(&list);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rep.seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (report)
        *report = rep;
    return rc;
}

/* ---- command line ---- */

static void usage(void)
{
    fprintf(stderr, "usage: cloudsim seed --db PATH --instance INST --identities N [--seed S]\n"
                    "                     [--plant-lists PATH...] [--plant-rate R]\n"
                    "                     [--plant-qualifier-match R] [--bad-rate R]\n");
}

static int parse_double(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && isfinite(*out) ? 0 : -1;
}

int cs_seed_main(int argc, char **argv)
{
    struct cs_seed_options o = {0};
    const char *db_path = NULL;
    int have_rate = 0;
    o.identities = -1;
    o.plant_qualifier_match = CS_SEED_DEFAULT_QUALIFIER_MATCH;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--db") == 0 && v) {
            db_path = v;
            i++;
        } else if (strcmp(a, "--instance") == 0 && v) {
            o.instance_id = v;
            i++;
        } else if (strcmp(a, "--identities") == 0 && v) {
            o.identities = strtoll(v, &end, 10);
            if (*end || o.identities < 0 || o.identities > CS_SEED_MAX_IDENTITIES) {
                fprintf(stderr, "cloudsim seed: --identities must be 0..%lld, got '%s'\n",
                        CS_SEED_MAX_IDENTITIES, v);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--seed") == 0 && v) {
            o.seed = strtoull(v, &end, 10);
            if (*end) {
                fprintf(stderr, "cloudsim seed: --seed must be a number, got '%s'\n", v);
                return 2;
            }
            i++;
        } else if ((strcmp(a, "--plant-rate") == 0 || strcmp(a, "--bad-rate") == 0 ||
                    strcmp(a, "--plant-qualifier-match") == 0) &&
                   v) {
            double r;
            if (parse_double(v, &r) != 0 || r < 0 || r > 1) {
                fprintf(stderr, "cloudsim seed: %s must be between 0 and 1, got '%s'\n", a, v);
                return 2;
            }
            if (strcmp(a, "--plant-rate") == 0) {
                o.plant_rate = r;
                have_rate = 1;
            } else if (strcmp(a, "--bad-rate") == 0) {
                o.bad_rate = r;
            } else {
                o.plant_qualifier_match = r;
            }
            i++;
        } else if (strcmp(a, "--plant-lists") == 0) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                if (o.plant_list_count == CS_SEED_MAX_LISTS) {
                    fprintf(stderr, "cloudsim seed: at most %d lists\n", CS_SEED_MAX_LISTS);
                    return 2;
                }
                o.plant_lists[o.plant_list_count++] = argv[++i];
            }
        } else {
            fprintf(stderr, "cloudsim seed: unknown or incomplete option '%s'\n", a);
            usage();
            return 2;
        }
    }
    if (!db_path || !o.instance_id || o.identities < 0) {
        usage();
        return 2;
    }
    if (o.plant_list_count && !have_rate)
        o.plant_rate = 0.01;
    if (o.plant_rate + o.bad_rate > 1) {
        fprintf(stderr, "cloudsim seed: --plant-rate + --bad-rate exceeds 1\n");
        return 2;
    }
    sqlite3 *db = NULL;
    int rc = db_open(db_path, 0, &db);
    if (rc) {
        fprintf(stderr, "cloudsim seed: cannot open database '%s'\n", db_path);
        return 1;
    }
    struct cs_seed_report rep;
    rc = cs_seed_run(db, &o, &rep);
    db_close(db);
    if (rc) {
        fprintf(stderr, "cloudsim seed: %s%s\n", capp_strerror(rc),
                rc == CAPP_EEXIST ? " (this seed was already applied to this instance)" : "");
        return 1;
    }
    printf("seeded identities=%lld individuals=%lld organizations=%lld planted=%lld "
           "planted_qualifier_match=%lld bad=%lld list_names=%zu seconds=%.3f\n",
           rep.identities, rep.individuals, rep.organizations, rep.planted,
           rep.planted_qualifier_match, rep.bad, rep.list_names, rep.seconds);
    return 0;
}
