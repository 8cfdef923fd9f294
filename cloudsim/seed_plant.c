/*
 * seed_plant.c — how the seeder plants list entries among its customers: a planted identity
 * carries a listed name the way real data would (retyped with a slip, transliterated, reordered,
 * run together) and some of the entry's qualifiers, so that screening has to work for its hit.
 * Every choice comes from the caller's splitmix64 stream, in a fixed order, so a seed reproduces
 * the same identities byte for byte (tests pin the digest of a seeded instance).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/assert.h"
#include "seed_internal.h"

/* ---- name perturbations of list entries ---- */

/* "ABBAS" → "Abbas", per space/hyphen-separated token; non-ASCII bytes are kept. */
static void title_case(char *s)
{
    int start = 1;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c & 0x80) {
            start = 0;
            continue;
        }
        if (isalpha(c)) {
            *s = (char)(start ? toupper(c) : tolower(c));
            start = 0;
        } else {
            start = c == ' ' || c == '-' || c == '\'';
        }
    }
}

/* One-character edit at an ASCII letter: substitute, delete, transpose or double. */
static int typo(struct seed_rng *r, char *s, size_t cap)
{
    size_t n = strlen(s), pos[SEED_FIELD], count = 0;
    for (size_t i = 0; i < n && count < SEED_FIELD; i++)
        if (isalpha((unsigned char)s[i]) && !((unsigned char)s[i] & 0x80) && i > 0)
            pos[count++] = i;
    if (count < 3)
        return 0;
    size_t i = pos[seed_rng_below(r, count)];
    int upper = isupper((unsigned char)s[i]);
    switch (seed_rng_below(r, 4)) {
    case 0: {
        char c;
        do
            c = (char)('a' + seed_rng_below(r, 26));
        while (tolower((unsigned char)s[i]) == c);
        s[i] = upper ? (char)toupper(c) : c;
        break;
    }
    case 1:
        memmove(s + i, s + i + 1, n - i);
        break;
    case 2:
        if (i + 1 < n && isalpha((unsigned char)s[i + 1]) && !((unsigned char)s[i + 1] & 0x80)) {
            char t = s[i];
            s[i] = s[i + 1];
            s[i + 1] = t;
        } else {
            memmove(s + i, s + i + 1, n - i);
        }
        break;
    default:
        if (n + 2 < cap) {
            memmove(s + i + 1, s + i, n - i + 1);
        }
        break;
    }
    return 1;
}

/* Transliteration variants seen across sanctions lists and customer records. */
static const char *const translit[][2] = {
    {"Mohammed", "Muhammad"},
    {"Muhammad", "Mohamed"},
    {"Mohamed", "Mohammad"},
    {"Mohammad", "Mohammed"},
    {"Ahmed", "Ahmad"},
    {"Ahmad", "Ahmed"},
    {"Yusuf", "Yousef"},
    {"Youssef", "Yusuf"},
    {"Hussein", "Husain"},
    {"Husayn", "Hussein"},
    {"Abdul", "Abdel"},
    {"Abd Al", "Abdul"},
    {"Osama", "Usama"},
    {"Usama", "Osama"},
    {"Omar", "Umar"},
    {"Umar", "Omar"},
    {"Al-", "Al "},
    {"El-", "Al-"},
    {"Qa", "Ka"},
    {"Kh", "H"},
    {"ou", "u"},
    {"iy", "i"},
    {"ei", "ey"},
    {"ph", "f"},
    {"Sergey", "Sergei"},
    {"Yevgeniy", "Evgeny"},
    {"Aleksandr", "Alexander"},
    {"Kim Jong", "Kim Jung"},
    {"Ri ", "Lee "},
    {"w", "v"},
};

static int transliterate(struct seed_rng *r, char *s, size_t cap)
{
    size_t n = COUNTOF(translit), start = seed_rng_below(r, n);
    for (size_t k = 0; k < n; k++) {
        const char *from = translit[(start + k) % n][0], *to = translit[(start + k) % n][1];
        char *hit = strcasestr(s, from);
        if (!hit)
            continue;
        size_t fl = strlen(from), tl = strlen(to), len = strlen(s);
        if (len - fl + tl + 1 > cap)
            continue;
        memmove(hit + tl, hit + fl, len - (size_t)(hit - s) - fl + 1);
        memcpy(hit, to, tl);
        return 1;
    }
    return 0;
}

static void squeeze(char *s)
{
    char *o = s;
    int space = 0;
    for (char *p = s; *p; p++) {
        if (*p == ' ') {
            space = o != s;
            continue;
        }
        if (space)
            *o++ = ' ';
        space = 0;
        *o++ = *p;
    }
    *o = '\0';
}

/* Fills p's name fields from list entry e with one perturbation; returns its name. */
const char *seed_plant_name(struct seed_rng *r, struct seed_person *p,
                            const struct seed_list_name *e)
{
    static const char *const org_suffixes[] = {"LLC", "Ltd", "Limited", "Co.", "S.A.", "GmbH"};
    const char *kind;
    if (e->org) {
        char name[SEED_FIELD];
        seed_set(name, sizeof name, e->org);
        switch (seed_rng_below(r, 5)) {
        case 0:
            kind = "exact";
            break;
        case 1:
            kind = typo(r, name, sizeof name) ? "typo" : "exact";
            break;
        case 2:
            title_case(name);
            kind = "case";
            break;
        case 3: {
            char tmp[SEED_FIELD + 16];
            snprintf(tmp, sizeof tmp, "%s %s", name, SEED_PICK(r, org_suffixes));
            seed_set(name, sizeof name, tmp);
            kind = "suffix_added";
            break;
        }
        default:
            kind = transliterate(r, name, sizeof name) ? "transliteration"
                   : typo(r, name, sizeof name)        ? "typo"
                                                       : "exact";
            break;
        }
        squeeze(name);
        SEED_SET(organization_name, name);
        SEED_SET(identity_type, "organization");
        SEED_SET(category, "business");
        SEED_SET(first_name, "");
        SEED_SET(last_name, "");
        SEED_SET(other_names, "");
        SEED_SET(gender, "");
        seed_set(p->dob, sizeof p->dob, "0001-01-01");
        return kind;
    }
    char first[SEED_FIELD], last[SEED_FIELD], other[SEED_FIELD];
    seed_set(first, sizeof first, e->first);
    seed_set(last, sizeof last, e->last);
    seed_set(other, sizeof other, e->other);
    title_case(first);
    title_case(last);
    title_case(other);
    uint64_t choice = seed_rng_below(r, e->script ? 8 : 7);
    switch (choice) {
    case 0:
        kind = "exact";
        break;
    case 1:
        kind = typo(r, last[0] ? last : first, SEED_FIELD) ? "typo" : "exact";
        break;
    case 2:
        kind = transliterate(r, first, sizeof first) || transliterate(r, last, sizeof last)
                   ? "transliteration"
               : typo(r, first, sizeof first) ? "typo"
                                              : "exact";
        break;
    case 3: {
        char t[SEED_FIELD];
        seed_set(t, sizeof t, first);
        seed_set(first, sizeof first, last);
        seed_set(last, sizeof last, t);
        kind = "reordered";
        break;
    }
    case 4:
        kind = other[0] ? "middle_dropped" : "exact";
        other[0] = '\0';
        break;
    case 5: {
        /* list names are upper-case surnames: keep the listed case */
        seed_set(first, sizeof first, e->first);
        seed_set(last, sizeof last, e->last);
        kind = "list_case";
        break;
    }
    case 6:
        kind = typo(r, first, sizeof first) && typo(r, last[0] ? last : other, SEED_FIELD)
                   ? "two_typos"
                   : "typo";
        break;
    default: {
        /* the original script, split at the first space */
        const char *sp = strchr(e->script, ' ');
        if (sp) {
            snprintf(first, sizeof first, "%.*s", (int)(sp - e->script), e->script);
            seed_set(last, sizeof last, sp + 1);
        } else {
            seed_set(first, sizeof first, "");
            seed_set(last, sizeof last, e->script);
        }
        other[0] = '\0';
        kind = "original_script";
        break;
    }
    }
    squeeze(first);
    squeeze(last);
    squeeze(other);
    SEED_SET(first_name, first);
    SEED_SET(last_name, last);
    SEED_SET(other_names, other);
    SEED_SET(identity_type, "individual");
    SEED_SET(category, "individual");
    SEED_SET(organization_name, "");
    return kind;
}

/* A date within the listed precision: "1948-12-10" as is, "1948-12" a day of that month,
 * "1948" (or a range from it to year_to) a day of one of those years. */
static void listed_dob(struct seed_rng *r, const struct seed_list_name *e, char out[11])
{
    int year = atoi(e->dob);
    if (e->dob_year_to > year)
        year += (int)seed_rng_below(r, (uint64_t)(e->dob_year_to - year + 1));
    int month = strlen(e->dob) >= 7 ? atoi(e->dob + 5) : 1 + (int)seed_rng_below(r, 12);
    int day = strlen(e->dob) == 10 ? atoi(e->dob + 8) : 1 + (int)seed_rng_below(r, 28);
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", year, month, day);
    seed_set(out, 11, tmp);
}

static void note(char *out, size_t cap, const char *what, int carried)
{
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s%s:%s", n ? "," : "", what, carried ? "match" : "random");
}

/*
 * Gives a planted identity the entry's qualifiers when `carry` — the DOB, nationality (and the
 * address country, the listed one or else the nationality), the gender — and otherwise leaves
 * the random ones it was generated with. Writes what it did to `out` (see seed.h).
 */
void seed_plant_qualifiers(struct seed_rng *r, struct seed_person *p,
                           const struct seed_list_name *e, int carry, char *out, size_t cap)
{
    out[0] = '\0';
    int individual = !e->org;
    if (individual && strcmp(p->dob, "0001-01-01") == 0)
        seed_random_dob(r, p->dob, 18, 85); /* generated as an organization */
    if (individual && e->dob[0]) {
        if (carry)
            listed_dob(r, e, p->dob);
        note(out, cap, "dob", carry);
    }
    const char *nationality = e->nationality[0] ? e->nationality : e->country;
    const char *country = e->country[0] ? e->country : e->nationality;
    if (nationality[0]) {
        if (carry) {
            SEED_SET(nationality, nationality);
            SEED_SET(country, country);
        }
        note(out, cap, e->nationality[0] ? "nationality" : "country", carry);
    }
    if (individual && e->gender) {
        if (carry)
            SEED_SET(gender, e->gender == 'f' ? "female" : "male");
        note(out, cap, "gender", carry);
    }
}
