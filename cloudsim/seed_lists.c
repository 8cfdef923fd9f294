/*
 * seed_lists.c — reads sanctions-list names for planting (kyc-domain.md §3). This is a
 * generator's reader, not the screening engine's: it takes the primary name, the first DOB at
 * the precision listed (day, month, year or a year range), the first nationality (else
 * citizenship), the first address country, the gender and the UN original-script name, and
 * skips everything else. Country names become ISO alpha-2 through the Debian iso-codes table
 * plus the few list spellings ISO does not use — a small copy of what kyc/screen does, since
 * cloudsim must not depend on the app it simulates for.
 *
 *   OFAC sdn.csv   no header, quoted text fields without escaped quotes, "-0- " nulls, CRLF,
 *                  a trailing 0x1A. Individuals are "LAST, First Middle"; entities have type
 *                  -0-; vessels and aircraft are skipped.
 *   UN XML         libxml2 DOM; INDIVIDUAL FIRST_NAME..FOURTH_NAME, ENTITY FIRST_NAME.
 */
#include "seed_internal.h"

#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "capp/country.h"
#include "capp/err.h"

void seed_list_free(struct seed_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        struct seed_list_name *n = &list->items[i];
        free(n->first);
        free(n->last);
        free(n->other);
        free(n->org);
        free(n->full);
        free(n->script);
    }
    free(list->items);
    memset(list, 0, sizeof *list);
}

static struct seed_list_name *add(struct seed_list *list)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 1024;
        struct seed_list_name *items = realloc(list->items, cap * sizeof *items);
        if (!items)
            return NULL;
        list->items = items;
        list->cap = cap;
    }
    struct seed_list_name *n = &list->items[list->count++];
    memset(n, 0, sizeof *n);
    return n;
}

/* Collapses whitespace runs and trims; returns a malloc'd copy (NULL for empty). */
static char *clean(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c)) {
            space = o != out;
            continue;
        }
        if (space)
            *o++ = ' ';
        space = 0;
        *o++ = (char)c;
    }
    *o = '\0';
    if (o == out) {
        free(out);
        return NULL;
    }
    return out;
}

/* Splits "First Middle More" into first and other. */
static void split_given(struct seed_list_name *n, const char *given)
{
    if (!given)
        return;
    const char *sp = strchr(given, ' ');
    n->first = clean(given, sp ? (size_t)(sp - given) : strlen(given));
    if (sp)
        n->other = clean(sp + 1, strlen(sp + 1));
}

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int month_number(const char *mon)
{
    for (int m = 0; m < 12; m++)
        if (strncmp(mon, months[m], 3) == 0)
            return m + 1;
    return 0;
}

/* The text after the first "KEY " that starts a remark ("; KEY ..."), or NULL. */
static const char *remark(const char *remarks, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = strstr(remarks, key); p; p = strstr(p + 1, key))
        if ((p == remarks || p[-1] == ' ' || p[-1] == ';') && p[n] == ' ')
            return p + n + 1;
    return NULL;
}

/* The first "DOB ..." of OFAC remarks: "10 Dec 1948", "Dec 1948", "1948", "circa 1948",
 * "1960 to 1962". */
static void ofac_dob(const char *remarks, struct seed_list_name *nm)
{
    const char *p = remark(remarks, "DOB");
    if (!p)
        return;
    if (strncmp(p, "circa ", 6) == 0)
        p += 6;
    int day, year, year_to;
    char mon[4];
    unsigned y, m, d;
    if (sscanf(p, "%2d %3s %4d", &day, mon, &year) == 3) {
        y = (unsigned)year, m = (unsigned)month_number(mon), d = (unsigned)day;
        if (m && d >= 1 && d <= 31 && y > 1900 && y < 10000)
            snprintf(nm->dob, sizeof nm->dob, "%04u-%02u-%02u", y % 10000u, m % 100u, d % 100u);
    } else if (sscanf(p, "%3s %4d", mon, &year) == 2 && month_number(mon)) {
        y = (unsigned)year, m = (unsigned)month_number(mon);
        if (y > 1900 && y < 10000)
            snprintf(nm->dob, sizeof nm->dob, "%04u-%02u", y % 10000u, m % 100u);
    } else if (sscanf(p, "%4d", &year) == 1 && year > 1900 && year < 10000) {
        snprintf(nm->dob, sizeof nm->dob, "%04u", (unsigned)year);
        if (sscanf(p, "%*4d to %4d", &year_to) == 1 && year_to > year && year_to < 10000)
            nm->dob_year_to = year_to;
    }
}

/* "nationality Iran; citizen Iran; Gender Male" → IR, m. */
static void ofac_attributes(const struct seed_list *list, const char *remarks,
                            struct seed_list_name *nm)
{
    ofac_dob(remarks, nm);
    const char *keys[] = {"nationality", "citizen"};
    for (int k = 0; k < 2 && !nm->nationality[0]; k++) {
        const char *v = remark(remarks, keys[k]);
        if (v) {
            char value[96];
            snprintf(value, sizeof value, "%.*s", (int)strcspn(v, ";."), v);
            country_code(value, nm->nationality);
        }
    }
    const char *g = remark(remarks, "Gender");
    if (g && strncmp(g, "Male", 4) == 0)
        nm->gender = 'm';
    else if (g && strncmp(g, "Female", 6) == 0)
        nm->gender = 'f';
}

/* Splits one CSV line into at most max fields (pointers into line, which is modified). */
static int csv_fields(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (*p && n < max) {
        if (*p == '"') {
            char *end = strchr(p + 1, '"');
            if (!end)
                return -1;
            *end = '\0';
            fields[n++] = p + 1;
            p = end + 1;
        } else {
            char *end = strchr(p, ',');
            fields[n++] = p;
            if (!end)
                break;
            *end = '\0';
            p = end + 1;
            continue;
        }
        if (*p == ',')
            p++;
        else
            break;
    }
    for (int i = 0; i < n; i++) {
        char *f = fields[i];
        size_t len = strlen(f);
        while (len && (f[len - 1] == ' ' || f[len - 1] == '\r' || f[len - 1] == '\n'))
            f[--len] = '\0';
        if (strcmp(f, "-0-") == 0)
            f[0] = '\0';
    }
    return n;
}

static int load_ofac(struct seed_list *list, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return CAPP_EIO;
    char line[8192];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        char *fields[12];
        int n = csv_fields(line, fields, 12);
        if (n < 3 || !isdigit((unsigned char)fields[0][0]))
            continue; /* the trailing 0x1A line, or an oversized row */
        const char *type = fields[2];
        if (strcmp(type, "vessel") == 0 || strcmp(type, "aircraft") == 0 || !fields[1][0])
            continue;
        struct seed_list_name *nm = add(list);
        if (!nm) {
            rc = CAPP_ENOMEM;
            break;
        }
        snprintf(nm->source, sizeof nm->source, "ofac");
        snprintf(nm->entry, sizeof nm->entry, "%.31s", fields[0]);
        nm->full = clean(fields[1], strlen(fields[1]));
        if (strcmp(type, "individual") == 0) {
            const char *comma = strstr(fields[1], ", ");
            if (comma) {
                nm->last = clean(fields[1], (size_t)(comma - fields[1]));
                split_given(nm, comma + 2);
            } else {
                nm->last = clean(fields[1], strlen(fields[1]));
            }
        } else {
            nm->org = clean(fields[1], strlen(fields[1]));
        }
        if (n >= 12)
            ofac_attributes(list, fields[11], nm);
        if (!nm->full) {
            list->count--;
            free(nm->last);
            free(nm->first);
            free(nm->other);
            free(nm->org);
        }
    }
    fclose(f);
    return rc;
}

static int by_entry(const void *a, const void *b)
{
    long x = strtol(((const struct seed_list_name *)a)->entry, NULL, 10);
    long y = strtol(((const struct seed_list_name *)b)->entry, NULL, 10);
    return (x > y) - (x < y);
}

/* add.csv (ent_num, add_num, address, city, country, remarks): each entry's first address
 * country, for the names appended since `first`. A missing file is not an error. */
static int load_ofac_addresses(struct seed_list *list, size_t first, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    struct seed_list_name *items = list->items + first;
    size_t count = list->count - first;
    /* sdn.csv is in ent_num order already; sorting keeps the lookup right if it is not */
    qsort(items, count, sizeof *items, by_entry);
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        char *fields[6];
        int n = csv_fields(line, fields, 6);
        if (n < 5 || !isdigit((unsigned char)fields[0][0]) || !fields[4][0])
            continue;
        struct seed_list_name key;
        snprintf(key.entry, sizeof key.entry, "%.31s", fields[0]);
        struct seed_list_name *nm = bsearch(&key, items, count, sizeof *items, by_entry);
        if (nm && !nm->country[0])
            country_code(fields[4], nm->country);
    }
    fclose(f);
    return 0;
}

static char *child_text(xmlNode *parent, const char *name)
{
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) {
            xmlChar *t = xmlNodeGetContent(c);
            char *out = t ? clean((const char *)t, strlen((const char *)t)) : NULL;
            xmlFree(t);
            return out;
        }
    }
    return NULL;
}

static xmlNode *child(xmlNode *parent, const char *name)
{
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

/* <TYPE_OF_DATE>EXACT|APPROXIMATELY|BETWEEN</TYPE_OF_DATE> with DATE, YEAR or FROM_YEAR and
 * TO_YEAR. */
static void un_dob(xmlNode *dob, struct seed_list_name *nm)
{
    if (!dob)
        return;
    char *date = child_text(dob, "DATE"), *year = child_text(dob, "YEAR");
    char *from = child_text(dob, "FROM_YEAR"), *to = child_text(dob, "TO_YEAR");
    if (date && strlen(date) == 10)
        snprintf(nm->dob, sizeof nm->dob, "%s", date);
    else if (year && strlen(year) == 4 && atoi(year) > 1900)
        snprintf(nm->dob, sizeof nm->dob, "%s", year);
    else if (from && to && strlen(from) == 4 && atoi(from) > 1900 && atoi(to) > atoi(from) &&
             atoi(to) < 10000) {
        snprintf(nm->dob, sizeof nm->dob, "%s", from);
        nm->dob_year_to = atoi(to);
    }
    free(date);
    free(year);
    free(from);
    free(to);
}

static int un_record(struct seed_list *list, xmlNode *rec, int individual)
{
    struct seed_list_name *nm = add(list);
    if (!nm)
        return CAPP_ENOMEM;
    snprintf(nm->source, sizeof nm->source, "un");
    char *id = child_text(rec, "DATAID");
    snprintf(nm->entry, sizeof nm->entry, "%.31s", id ? id : "");
    free(id);
    char *parts[4] = {child_text(rec, "FIRST_NAME"), child_text(rec, "SECOND_NAME"),
                      child_text(rec, "THIRD_NAME"), child_text(rec, "FOURTH_NAME")};
    nm->script = child_text(rec, "NAME_ORIGINAL_SCRIPT");
    char full[1024] = "";
    for (int i = 0; i < 4; i++)
        if (parts[i])
            snprintf(full + strlen(full), sizeof full - strlen(full), "%s%s", *full ? " " : "",
                     parts[i]);
    nm->full = full[0] ? strdup(full) : NULL;
    if (!individual) {
        nm->org = nm->full ? strdup(nm->full) : NULL;
    } else {
        int last = -1;
        for (int i = 1; i < 4; i++)
            if (parts[i])
                last = i;
        nm->first = parts[0] ? strdup(parts[0]) : NULL;
        if (last > 0) {
            nm->last = strdup(parts[last]);
            char other[512] = "";
            for (int i = 1; i < last; i++)
                if (parts[i])
                    snprintf(other + strlen(other), sizeof other - strlen(other), "%s%s",
                             *other ? " " : "", parts[i]);
            nm->other = other[0] ? strdup(other) : NULL;
        }
        un_dob(child(rec, "INDIVIDUAL_DATE_OF_BIRTH"), nm);
        char *gender = child_text(rec, "GENDER");
        if (gender && strcasecmp(gender, "male") == 0)
            nm->gender = 'm';
        else if (gender && strcasecmp(gender, "female") == 0)
            nm->gender = 'f';
        free(gender);
    }
    char *nationality = child_text(child(rec, "NATIONALITY"), "VALUE");
    if (nationality)
        country_code(nationality, nm->nationality);
    free(nationality);
    const char *address = individual ? "INDIVIDUAL_ADDRESS" : "ENTITY_ADDRESS";
    for (xmlNode *c = rec->children; c && !nm->country[0]; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, address) != 0)
            continue;
        char *country = child_text(c, "COUNTRY");
        if (country)
            country_code(country, nm->country);
        free(country);
    }
    for (int i = 0; i < 4; i++)
        free(parts[i]);
    if (!nm->full) {
        free(nm->first);
        free(nm->last);
        free(nm->other);
        free(nm->org);
        free(nm->script);
        list->count--;
    }
    return 0;
}

static int load_un(struct seed_list *list, const char *path)
{
    xmlDoc *doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_HUGE);
    if (!doc)
        return CAPP_EPARSE;
    xmlNode *root = xmlDocGetRootElement(doc);
    int rc = root ? 0 : CAPP_EPARSE;
    const char *groups[2] = {"INDIVIDUALS", "ENTITIES"};
    const char *items[2] = {"INDIVIDUAL", "ENTITY"};
    for (int g = 0; g < 2 && rc == 0; g++) {
        xmlNode *group = child(root, groups[g]);
        for (xmlNode *c = group ? group->children : NULL; c && rc == 0; c = c->next)
            if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, items[g]) == 0)
                rc = un_record(list, c, g == 0);
    }
    xmlFreeDoc(doc);
    return rc;
}

int seed_list_load(struct seed_list *list, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return CAPP_EIO;
    if (S_ISDIR(st.st_mode)) {
        char file[4096];
        size_t first = list->count;
        snprintf(file, sizeof file, "%s/sdn.csv", path);
        int rc = load_ofac(list, file);
        snprintf(file, sizeof file, "%s/add.csv", path);
        return rc ? rc : load_ofac_addresses(list, first, file);
    }
    size_t n = strlen(path);
    if (n > 4 && strcasecmp(path + n - 4, ".xml") == 0)
        return load_un(list, path);
    return load_ofac(list, path);
}
