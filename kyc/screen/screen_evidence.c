/*
 * screen_evidence.c — the evidence model (screen-2.0): what a candidate's listed qualifiers
 * say about the match once its name has scored.
 *
 * Qualifiers are evidence, not filters. The rules are data (the table below: name, effect,
 * weight, condition), documented one for one in docs/kyc.md "Evidence rules" in the manner of
 * yente's published scoring notes, and each has a unit test (tests/screen/test_screen_evidence.c).
 * What bench/accuracy and the cases taught:
 *   - a full date of birth equal to a listed one is strong evidence: it raises the score;
 *   - a date that contradicts every listed date lowers it in proportion to the distance (one
 *     year off is a typo or an approximate listing; ten years off is another person), judged at
 *     the precision listed: a year-only date covers its year, a range its span, "circa" one
 *     year more each side, and several listed dates are alternatives;
 *   - a nationality contradicting every listed nationality lowers it;
 *   - a residence or address country costs little (sanctioned people live abroad), and a
 *     country that differs only from a place of birth or an ID's issuing country costs nothing;
 *   - a contradicting gender costs little (lists and customer records get it wrong);
 *   - missing data, on either side, costs nothing: no rule fires.
 * Every rule that applies is recorded in the match with its signed delta and a detail, so the
 * explanation is the computation. Rules only add or subtract from the name score (an exact
 * document number sets it to 1.0; a weak alias and a different number of the same document
 * kind scale it), and the result is clamped to [0, 1].
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "kyc/screen/screen_index.h"

#define FIXED      ((size_t)-1) /* a rule whose weight is not configurable */
#define CFG(field) offsetof(struct screen_config, field)

static const struct screen_evidence_rule rules[] = {
    {SCREEN_QUAL_WEAK_ALIAS, "weak_alias", "multiply", CFG(weak_alias_factor), 1,
     "the best-scoring name is a weak (low-quality) alias"},
    {SCREEN_QUAL_DOB_MATCH, "dob_match", "add", CFG(dob_match_bonus), 1,
     "the query's full date of birth (year, month, day) equals a listed full date"},
    {SCREEN_QUAL_DOB_COMPATIBLE, "dob_compatible", "add", FIXED, 0,
     "the query's date falls within a listed date at the precision listed or given (year only, "
     "month, range, circa ±1 year)"},
    {SCREEN_QUAL_DOB_DAY_MISMATCH, "dob_day_mismatch", "add", CFG(dob_day_penalty), -1,
     "no listed date is compatible, and one is a single date in the query's birth year whose "
     "month or day differs"},
    {SCREEN_QUAL_DOB_YEAR_MISMATCH, "dob_year_mismatch", "add", CFG(dob_year_penalty), -1,
     "the birth year is outside every listed date or range; the cost grows by dob_year_step "
     "(0.05) per further year to the nearest listed date, up to dob_max_penalty (0.30)"},
    {SCREEN_QUAL_NATIONALITY_MATCH, "nationality_match", "add", FIXED, 0,
     "the query's nationality is among the listed nationalities or citizenships"},
    {SCREEN_QUAL_NATIONALITY_MISMATCH, "nationality_mismatch", "add", CFG(nationality_penalty), -1,
     "the query's nationality differs from every listed nationality and citizenship (the entry "
     "lists at least one)"},
    {SCREEN_QUAL_RESIDENCE_MATCH, "residence_match", "add", FIXED, 0,
     "the query's residence country is among the listed address countries"},
    {SCREEN_QUAL_RESIDENCE_MISMATCH, "residence_mismatch", "add", CFG(residence_penalty), -1,
     "the query's residence country differs from every listed address country (the entry lists "
     "at least one)"},
    {SCREEN_QUAL_COUNTRY_MATCH, "country_match", "add", FIXED, 0,
     "the query's country (role unknown) is among the listed countries of any role"},
    {SCREEN_QUAL_COUNTRY_MISMATCH, "country_mismatch", "add", CFG(country_penalty), -1,
     "the query's country (role unknown) differs from every listed nationality and address "
     "country"},
    {SCREEN_QUAL_COUNTRY_OTHER, "country_other", "add", FIXED, 0,
     "a residence or country of unknown role differs only from listed places of birth or "
     "ID-issuing countries (the entry lists no nationality or address to contradict)"},
    {SCREEN_QUAL_GENDER_MISMATCH, "gender_mismatch", "add", CFG(gender_penalty), -1,
     "the query's gender differs from the listed gender"},
    {SCREEN_QUAL_ID_EXACT, "id_exact", "set", FIXED, 1,
     "the query's document number equals a listed document number (whatever the name)"},
    {SCREEN_QUAL_ID_MISMATCH, "id_mismatch", "multiply", CFG(id_mismatch_factor), 1,
     "the entry lists a document of the query's kind, with another number"},
};

const struct screen_evidence_rule *screen_evidence_rules(size_t *n)
{
    *n = sizeof rules / sizeof rules[0];
    return rules;
}

double screen_evidence_weight(const struct screen_evidence_rule *rule,
                              const struct screen_config *cfg)
{
    if (rule->config_offset == FIXED)
        return rule->sign;
    double w;
    memcpy(&w, (const char *)cfg + rule->config_offset, sizeof w);
    return rule->sign * w;
}

static const struct screen_evidence_rule *rule_of(enum screen_qualifier_kind kind)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].kind == kind)
            return &rules[i];
    return NULL;
}

const char *screen_qualifier_name(enum screen_qualifier_kind k)
{
    const struct screen_evidence_rule *r = rule_of(k);
    return r ? r->name : "unknown";
}

/* ---------------------------------------------------------------- query side */

int screen_evidence_query_init(const struct screen_query *q, struct screen_evidence_query *eq)
{
    memset(eq, 0, sizeof *eq);
    const char *fields[3] = {q->country, q->nationality, q->residence};
    uint64_t *keys[3] = {&eq->country, &eq->nationality, &eq->residence};
    for (int i = 0; i < 3; i++) {
        if (!fields[i] || !*fields[i])
            continue;
        if (strlen(fields[i]) > SCREEN_MAX_QUERY_FIELD_BYTES)
            return CAPP_ETOOBIG;
        char key[64];
        size_t kl = screen_country_key(fields[i], key, sizeof key);
        *keys[i] = kl ? screen_hash(key, kl) : 0;
    }
    eq->country_text = q->country;
    eq->nationality_text = q->nationality;
    eq->residence_text = q->residence;
    if (q->dob && *q->dob) {
        if (strlen(q->dob) > SCREEN_MAX_QUERY_FIELD_BYTES)
            return CAPP_ETOOBIG;
        if (screen_dob_parse(q->dob, strlen(q->dob), &eq->dob) != 0 ||
            eq->dob.year_to != eq->dob.year)
            return CAPP_EINVAL;
        eq->has_dob = 1;
    }
    if (q->id_number && strlen(q->id_number) > SCREEN_MAX_QUERY_FIELD_BYTES)
        return CAPP_ETOOBIG;
    eq->id_len = screen_document_key(q->id_number, eq->id_key, sizeof eq->id_key);
    if (eq->id_len < 4)
        eq->id_len = 0;
    eq->id_kind = q->id_kind;
    eq->gender = q->gender;
    return 0;
}

double screen_evidence_max_bonus(const struct screen_config *cfg,
                                 const struct screen_evidence_query *eq)
{
    return eq->has_dob && eq->dob.day && cfg->dob_match_bonus > 0 ? cfg->dob_match_bonus : 0.0;
}

/* ---------------------------------------------------------------- dates */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return m >= 1 && m <= 12 ? days[m - 1] : 31;
}

/* The span of days a date covers at its precision: a year-only date its whole year, a range
 * from its first to its last day, "circa" one more year each side. */
static void dob_span(const struct screen_dob *d, long *lo, long *hi, int *lo_year, int *hi_year)
{
    int y0 = d->year - d->circa, y1 = (d->year_to ? d->year_to : d->year) + d->circa;
    int m0 = d->circa || !d->month ? 1 : d->month;
    int d0 = d->circa || !d->month || !d->day ? 1 : d->day;
    int m1 = d->circa || !d->month_to ? 12 : d->month_to;
    int d1 = d->circa || !d->month_to || !d->day_to ? month_days(y1, m1) : d->day_to;
    *lo = days_from_civil(y0, m0, d0);
    *hi = days_from_civil(y1, m1, d1);
    *lo_year = y0;
    *hi_year = y1;
}

enum dob_verdict { DOB_YEARS_OFF = 0, DOB_DAY_OFF = 1, DOB_COMPATIBLE = 2, DOB_FULL_MATCH = 3 };

/* How listed date `l` relates to query date `q`; *years gets the distance in years when the
 * spans are disjoint across years. */
static enum dob_verdict dob_compare(const struct screen_dob *l, const struct screen_dob *q,
                                    int *years)
{
    long llo, lhi, qlo, qhi;
    int lly, lhy, qly, qhy;
    dob_span(l, &llo, &lhi, &lly, &lhy);
    dob_span(q, &qlo, &qhi, &qly, &qhy);
    *years = 0;
    if (qhi >= llo && qlo <= lhi) {
        int single = l->year == l->year_to && l->month == l->month_to && l->day == l->day_to;
        if (single && !l->circa && l->day && q->day && l->month == q->month && l->day == q->day &&
            l->year == q->year)
            return DOB_FULL_MATCH;
        return DOB_COMPATIBLE;
    }
    if (qhy >= lly && qly <= lhy)
        return DOB_DAY_OFF; /* the same year, another month or day */
    *years = qhy < lly ? lly - qhy : qly - lhy;
    return DOB_YEARS_OFF;
}

static void format_dob(const struct screen_dob *d, char *out, size_t cap)
{
    int n = 0;
    if (d->circa)
        n = snprintf(out, cap, "circa ");
    if (d->day)
        n += snprintf(out + n, cap - (size_t)n, "%04d-%02d-%02d", d->year, d->month, d->day);
    else if (d->month)
        n += snprintf(out + n, cap - (size_t)n, "%04d-%02d", d->year, d->month);
    else
        n += snprintf(out + n, cap - (size_t)n, "%04d", d->year);
    if (d->year_to != d->year || d->month_to != d->month || d->day_to != d->day)
        snprintf(out + n, cap - (size_t)n, " to %04d", d->year_to);
}

/* ---------------------------------------------------------------- applying */

/* One application of the rules: the running score, and the match that records each rule
 * applied (explain = 0 while candidates are only being ranked: no detail text to format). */
struct ev {
    const struct screen_config *cfg;
    struct screen_match *m;
    int explain;
    float score;
};

static void record(struct ev *ev, enum screen_qualifier_kind kind, float delta, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void record(struct ev *ev, enum screen_qualifier_kind kind, float delta, const char *fmt,
                   ...)
{
    struct screen_match *m = ev->m;
    if (!ev->explain || m->n_qualifiers >= SCREEN_MAX_QUALIFIERS)
        return;
    struct screen_qualifier *q = &m->qualifiers[m->n_qualifiers++];
    q->kind = kind;
    q->delta = delta;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->detail, sizeof q->detail, fmt, ap);
    va_end(ap);
}

/* The signed delta of an additive rule, added to the running score. */
static float add(struct ev *ev, enum screen_qualifier_kind kind)
{
    float d = (float)screen_evidence_weight(rule_of(kind), ev->cfg);
    ev->score += d;
    return d;
}

static void apply_dob(struct ev *ev, const struct screen_entry *en, const struct screen_dob *qdob)
{
    enum dob_verdict best = DOB_YEARS_OFF;
    int best_years = 0, best_i = -1;
    for (unsigned i = 0; i < en->n_dobs; i++) {
        int years;
        enum dob_verdict v = dob_compare(&en->dobs[i], qdob, &years);
        if (best_i < 0 || v > best || (v == DOB_YEARS_OFF && best == v && years < best_years)) {
            best = v;
            best_years = years;
            best_i = (int)i;
        }
    }
    char listed[48] = "";
    if (ev->explain)
        format_dob(&en->dobs[best_i], listed, sizeof listed);
    float d;
    switch (best) {
    case DOB_FULL_MATCH:
        d = add(ev, SCREEN_QUAL_DOB_MATCH);
        record(ev, SCREEN_QUAL_DOB_MATCH, d, "date of birth equals the listed %s", listed);
        break;
    case DOB_COMPATIBLE:
        record(ev, SCREEN_QUAL_DOB_COMPATIBLE, 0, "date of birth compatible with listed %s",
               listed);
        break;
    case DOB_DAY_OFF:
        d = add(ev, SCREEN_QUAL_DOB_DAY_MISMATCH);
        record(ev, SCREEN_QUAL_DOB_DAY_MISMATCH, d,
               "same birth year, another month or day than listed %s", listed);
        break;
    case DOB_YEARS_OFF: {
        /* in proportion to the distance: the rule's weight for one year, a step per further
         * year, capped */
        const struct screen_config *cfg = ev->cfg;
        double p = cfg->dob_year_penalty + cfg->dob_year_step * (best_years - 1);
        if (cfg->dob_max_penalty > 0 && p > cfg->dob_max_penalty)
            p = cfg->dob_max_penalty;
        d = -(float)p;
        ev->score += d;
        record(ev, SCREEN_QUAL_DOB_YEAR_MISMATCH, d,
               "birth year %d is %d year%s from the nearest listed date %s", qdob->year, best_years,
               best_years == 1 ? "" : "s", listed);
        break;
    }
    }
}

/* Which roles of the entry's listed countries hold `key`, and which roles are listed. */
static void country_roles(const struct screen_index *idx, uint32_t e, uint64_t key,
                          unsigned *matched, unsigned *listed)
{
    *matched = *listed = 0;
    for (uint32_t k = idx->country_off[e]; k < idx->country_off[e + 1]; k++) {
        *listed |= idx->country_roles[k];
        if (idx->country_keys[k] == key)
            *matched |= idx->country_roles[k];
    }
}

static void apply_countries(struct ev *ev, const struct screen_index *idx, uint32_t e,
                            const struct screen_evidence_query *eq)
{
    unsigned matched, listed;
    float d;
    if (eq->nationality) {
        country_roles(idx, e, eq->nationality, &matched, &listed);
        if (matched & SCREEN_COUNTRY_NATIONALITY) {
            record(ev, SCREEN_QUAL_NATIONALITY_MATCH, 0, "nationality %s is listed",
                   eq->nationality_text);
        } else if (listed & SCREEN_COUNTRY_NATIONALITY) {
            d = add(ev, SCREEN_QUAL_NATIONALITY_MISMATCH);
            record(ev, SCREEN_QUAL_NATIONALITY_MISMATCH, d,
                   "nationality %s differs from every listed nationality", eq->nationality_text);
        }
    }
    if (eq->residence) {
        country_roles(idx, e, eq->residence, &matched, &listed);
        if (matched & SCREEN_COUNTRY_ADDRESS) {
            record(ev, SCREEN_QUAL_RESIDENCE_MATCH, 0, "residence %s is a listed address country",
                   eq->residence_text);
        } else if (listed & SCREEN_COUNTRY_ADDRESS) {
            d = add(ev, SCREEN_QUAL_RESIDENCE_MISMATCH);
            record(ev, SCREEN_QUAL_RESIDENCE_MISMATCH, d,
                   "residence %s is not a listed address country (people live abroad: weak "
                   "evidence)",
                   eq->residence_text);
        } else if (listed && !matched) {
            record(ev, SCREEN_QUAL_COUNTRY_OTHER, 0,
                   "residence %s differs only from the listed place of birth, nationality or ID "
                   "country: no cost",
                   eq->residence_text);
        }
    }
    if (eq->country) {
        country_roles(idx, e, eq->country, &matched, &listed);
        if (matched) {
            record(ev, SCREEN_QUAL_COUNTRY_MATCH, 0, "country %s matches the entry",
                   eq->country_text);
        } else if (listed & (SCREEN_COUNTRY_NATIONALITY | SCREEN_COUNTRY_ADDRESS)) {
            d = add(ev, SCREEN_QUAL_COUNTRY_MISMATCH);
            record(ev, SCREEN_QUAL_COUNTRY_MISMATCH, d,
                   "country %s not among the entry's nationalities/addresses", eq->country_text);
        } else if (listed) {
            record(ev, SCREEN_QUAL_COUNTRY_OTHER, 0,
                   "country %s differs only from the listed place of birth or ID country: no "
                   "cost",
                   eq->country_text);
        }
    }
}

void screen_evidence_apply(const struct screen_index *idx, const struct screen_config *cfg,
                           const struct screen_evidence_query *eq, uint32_t e, int explain,
                           struct screen_match *m)
{
    const struct screen_entry *en = &idx->lists->entries[e];
    struct ev ev = {cfg, m, explain, m->score};
    float d;
    if (m->name_kind == SCREEN_NAME_ALIAS_WEAK && cfg->weak_alias_factor < 1.0) {
        ev.score *= (float)cfg->weak_alias_factor;
        record(&ev, SCREEN_QUAL_WEAK_ALIAS, (float)cfg->weak_alias_factor,
               "weak alias (low-quality a.k.a.): score x %.2f", cfg->weak_alias_factor);
    }
    if (eq->has_dob && en->n_dobs)
        apply_dob(&ev, en, &eq->dob);
    apply_countries(&ev, idx, e, eq);
    if (eq->gender != SCREEN_GENDER_UNKNOWN && en->gender != SCREEN_GENDER_UNKNOWN &&
        eq->gender != en->gender) {
        d = add(&ev, SCREEN_QUAL_GENDER_MISMATCH);
        record(&ev, SCREEN_QUAL_GENDER_MISMATCH, d, "gender differs from the listed %s",
               en->gender == SCREEN_GENDER_MALE ? "male" : "female");
    }
    if (eq->id_len) {
        int exact = 0, same_kind = 0;
        const struct screen_document *hit = NULL;
        for (unsigned i = 0; i < en->n_documents && !exact; i++) {
            char key[128];
            size_t kl = screen_document_key(en->documents[i].number, key, sizeof key);
            if (kl == eq->id_len && memcmp(key, eq->id_key, kl) == 0) {
                exact = 1;
                hit = &en->documents[i];
            } else if (eq->id_kind != SCREEN_DOC_OTHER && en->documents[i].kind == eq->id_kind) {
                same_kind = 1;
            }
        }
        if (exact) {
            ev.score = 1.0f;
            record(&ev, SCREEN_QUAL_ID_EXACT, 1.0f, "document %s %s matches exactly",
                   hit->type ? hit->type : "number", hit->number);
        } else if (same_kind) {
            ev.score *= (float)cfg->id_mismatch_factor;
            record(&ev, SCREEN_QUAL_ID_MISMATCH, (float)cfg->id_mismatch_factor,
                   "same document type listed with a different number: score x %.2f",
                   cfg->id_mismatch_factor);
        }
    }
    if (ev.score < 0)
        ev.score = 0;
    if (ev.score > 1)
        ev.score = 1;
    m->score = ev.score;
}
