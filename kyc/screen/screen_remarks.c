/*
 * screen_remarks.c — parser for OFAC SDN remarks.
 *
 * Remarks are free-text segments separated by "; " and closed by ".". The segments that matter
 * for screening are recognised by their prefix (optionally preceded by "alt. "):
 *   DOB, POB, nationality, citizen, Gender, a.k.a./f.k.a./n.k.a. 'NAME' (OFAC's weak aliases),
 *   and identity documents (Passport, National ID No., Cedula No., C.U.R.P., R.F.C., NIT #,
 *   RUC #, Tax ID No., Registration ID, Identification Number, SWIFT/BIC, IMO numbers,
 *   Digital Currency Address - <coin> ...), whose issuing country is in parentheses.
 * Every other segment (Linked To, Additional Sanctions Information, ...) stays in the raw
 * remarks string only. A segment that looks like a DOB but does not parse is kept raw as well:
 * the list, not the parser, is the authority, and one odd date must not refuse the whole list.
 */
#include <stdlib.h>
#include <string.h>

#include "kyc/screen/screen_ofac.h"

struct doc_prefix {
    const char *prefix;
    enum screen_doc_kind kind;
};

/* Longest prefixes first where one is a prefix of another. */
static const struct doc_prefix doc_prefixes[] = {
    {"Vessel Registration Identification", SCREEN_DOC_VESSEL_IMO},
    {"Digital Currency Address -", SCREEN_DOC_CRYPTO},
    {"Passport", SCREEN_DOC_PASSPORT},
    {"Diplomatic Passport", SCREEN_DOC_PASSPORT},
    {"National ID No.", SCREEN_DOC_NATIONAL_ID},
    {"National Foreign ID Number", SCREEN_DOC_NATIONAL_ID},
    {"Personal ID Card", SCREEN_DOC_NATIONAL_ID},
    {"Identification Number", SCREEN_DOC_NATIONAL_ID},
    {"Cedula No.", SCREEN_DOC_NATIONAL_ID},
    {"C.U.R.P.", SCREEN_DOC_NATIONAL_ID},
    {"D.N.I.", SCREEN_DOC_NATIONAL_ID},
    {"SSN", SCREEN_DOC_NATIONAL_ID},
    {"R.F.C.", SCREEN_DOC_TAX_ID},
    {"NIT #", SCREEN_DOC_TAX_ID},
    {"RUC #", SCREEN_DOC_TAX_ID},
    {"Tax ID No.", SCREEN_DOC_TAX_ID},
    {"V.A.T. Number", SCREEN_DOC_TAX_ID},
    {"Registration ID", SCREEN_DOC_REGISTRATION},
    {"Registration Number", SCREEN_DOC_REGISTRATION},
    {"Business Registration Number", SCREEN_DOC_REGISTRATION},
    {"Company Number", SCREEN_DOC_REGISTRATION},
    {"Commercial Registry Number", SCREEN_DOC_REGISTRATION},
    {"Trade License No.", SCREEN_DOC_REGISTRATION},
    {"SWIFT/BIC", SCREEN_DOC_SWIFT},
    {"Driver's License No.", SCREEN_DOC_OTHER},
    {"MMSI", SCREEN_DOC_OTHER},
};

static int starts(const char *s, size_t len, const char *prefix, size_t *plen)
{
    size_t n = strlen(prefix);
    if (len >= n && memcmp(s, prefix, n) == 0) {
        *plen = n;
        return 1;
    }
    return 0;
}

static char *dup_trim(struct screen_list_set *set, const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == ':'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '.'))
        len--;
    if (!len)
        return NULL;
    char *d = screen_arena_strndup(&set->arena, s, len);
    if (d)
        screen_collapse_space(d, len);
    return d;
}

static int parse_document(struct screen_list_set *set, struct screen_entry_builder *b,
                          const char *seg, size_t len, const struct doc_prefix *dp, size_t plen)
{
    struct screen_document d = {dp->kind, NULL, NULL, NULL};
    const char *rest = seg + plen, *end = seg + len;
    /* "Digital Currency Address - XBT addr": the coin belongs to the type */
    if (dp->kind == SCREEN_DOC_CRYPTO) {
        while (rest < end && *rest == ' ')
            rest++;
        while (rest < end && *rest != ' ')
            rest++;
    } else if (dp->kind == SCREEN_DOC_VESSEL_IMO) {
        while (rest < end && *rest == ' ')
            rest++;
        if (end - rest >= 3 && memcmp(rest, "IMO", 3) == 0)
            rest += 3;
    }
    d.type = dup_trim(set, seg, (size_t)(rest - seg));
    while (rest < end && (*rest == ' ' || *rest == ':'))
        rest++;
    /* number ends at " (" (country), "," or ";"; the country is the parenthesised part */
    const char *num_end = rest;
    while (num_end < end && *num_end != '(' && *num_end != ',' && *num_end != ';')
        num_end++;
    d.number = dup_trim(set, rest, (size_t)(num_end - rest));
    if (num_end < end && *num_end == '(') {
        const char *close = memchr(num_end, ')', (size_t)(end - num_end));
        if (close)
            d.country = dup_trim(set, num_end + 1, (size_t)(close - num_end - 1));
    }
    if (!d.number)
        return 0;
    return screen_builder_document(b, &d);
}

static int parse_alias(struct screen_list_set *set, struct screen_entry_builder *b, const char *s,
                       size_t len, enum screen_name_kind kind)
{
    /* 'NAME' — quotes are single; names may contain apostrophes, so take the outermost pair */
    while (len && *s == ' ')
        s++, len--;
    if (len < 2 || s[0] != '\'')
        return 0;
    const char *close = NULL;
    for (size_t i = len; i-- > 1;)
        if (s[i] == '\'') {
            close = s + i;
            break;
        }
    if (!close)
        return 0;
    char *name = dup_trim(set, s + 1, (size_t)(close - s - 1));
    if (!name)
        return 0;
    return screen_builder_alias(b, name, kind);
}

static int parse_segment(struct screen_list_set *set, struct screen_entry_builder *b,
                         const char *seg, size_t len, enum screen_gender *gender)
{
    size_t plen;
    while (len && *seg == ' ')
        seg++, len--;
    if (starts(seg, len, "alt. ", &plen)) {
        seg += plen;
        len -= plen;
    }
    if (!len)
        return 0;
    if (starts(seg, len, "DOB ", &plen)) {
        struct screen_dob dob;
        if (screen_dob_parse(seg + plen, len - plen, &dob) == 0)
            return screen_builder_dob(b, &dob);
        return 0;
    }
    if (starts(seg, len, "POB ", &plen)) {
        const char **arr = b->pobs;
        return screen_builder_string(b, &arr, &b->n_pobs, dup_trim(set, seg + plen, len - plen));
    }
    if (starts(seg, len, "nationality ", &plen) || starts(seg, len, "citizen ", &plen)) {
        const char **arr = b->nationalities;
        return screen_builder_string(b, &arr, &b->n_nationalities,
                                     dup_trim(set, seg + plen, len - plen));
    }
    if (starts(seg, len, "Gender ", &plen)) {
        const char *g = seg + plen;
        size_t gl = len - plen;
        if (gl >= 4 && memcmp(g, "Male", 4) == 0)
            *gender = SCREEN_GENDER_MALE;
        else if (gl >= 6 && memcmp(g, "Female", 6) == 0)
            *gender = SCREEN_GENDER_FEMALE;
        return 0;
    }
    if (starts(seg, len, "a.k.a.", &plen))
        return parse_alias(set, b, seg + plen, len - plen, SCREEN_NAME_ALIAS_WEAK);
    if (starts(seg, len, "f.k.a.", &plen))
        return parse_alias(set, b, seg + plen, len - plen, SCREEN_NAME_FORMER);
    if (starts(seg, len, "n.k.a.", &plen))
        return parse_alias(set, b, seg + plen, len - plen, SCREEN_NAME_ALIAS_WEAK);
    const struct doc_prefix *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < sizeof doc_prefixes / sizeof doc_prefixes[0]; i++)
        if (starts(seg, len, doc_prefixes[i].prefix, &plen) && plen > best_len &&
            (plen == len || seg[plen] == ' ' || seg[plen] == ':' || seg[plen - 1] == '#' ||
             seg[plen - 1] == '.' || seg[plen - 1] == '-')) {
            best = &doc_prefixes[i];
            best_len = plen;
        }
    if (best)
        return parse_document(set, b, seg, len, best, best_len);
    return 0;
}

int screen_remarks_collect(struct screen_list_set *set, struct screen_entry_builder *b,
                           const char *remarks, size_t len, enum screen_gender *gender,
                           struct screen_error *err)
{
    if (len > SCREEN_MAX_REMARKS_BYTES)
        return screen_fail(err, CAPP_ETOOBIG, "remarks: %zu bytes exceeds the %u-byte limit", len,
                           SCREEN_MAX_REMARKS_BYTES);
    /* the closing "." of the whole remarks belongs to no segment */
    if (len && remarks[len - 1] == '.')
        len--;
    const char *p = remarks, *end = remarks + len;
    while (p < end) {
        const char *q = p;
        while (q < end && !(q[0] == ';' && (q + 1 == end || q[1] == ' ')))
            q++;
        int rc = parse_segment(set, b, p, (size_t)(q - p), gender);
        if (rc == CAPP_ENOMEM)
            return screen_fail(err, rc, "remarks: out of memory");
        if (rc == CAPP_ETOOBIG)
            return screen_fail(err, rc, "remarks: more attributes than the per-entry limit of %u",
                               SCREEN_MAX_ATTRS_PER_ENTRY);
        if (rc)
            return screen_fail(err, rc, "remarks: %s", capp_strerror(rc));
        p = q < end ? q + 1 : q;
    }
    return 0;
}

int screen_remarks_parse(struct screen_list_set *set, const char *remarks, size_t len,
                         struct screen_entry *entry, struct screen_error *err)
{
    struct screen_entry_builder *b = malloc(sizeof *b);
    if (!b)
        return screen_fail(err, CAPP_ENOMEM, "remarks: out of memory");
    screen_builder_reset(b);
    enum screen_gender g = SCREEN_GENDER_UNKNOWN;
    int rc = screen_remarks_collect(set, b, remarks, len, &g, err);
    if (rc == 0) {
        rc = screen_builder_commit(set, b, entry);
        if (rc)
            screen_fail(err, rc, "remarks: out of memory");
        else
            entry->gender = g;
    }
    free(b);
    return rc;
}
