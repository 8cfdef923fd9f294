/*
 * seed_lists.c — reads sanctions-list names for planting (kyc-domain.md §3). This is a
 * generator's reader, not the screening engine's: it takes the primary name, a DOB when it is
 * exact, and the UN original-script name, and skips everything else.
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

/* "DOB 10 Dec 1948" in OFAC remarks → 1948-12-10 (only exact day dates). */
static void ofac_dob(const char *remarks, char out[11])
{
    const char *p = strstr(remarks, "DOB ");
    out[0] = '\0';
    if (!p || (p > remarks && p[-1] != ' ' && p[-1] != ';'))
        return;
    int day, year;
    char mon[4];
    if (sscanf(p + 4, "%2d %3s %4d", &day, mon, &year) != 3)
        return;
    for (int m = 0; m < 12; m++)
        if (strcmp(mon, months[m]) == 0 && day >= 1 && day <= 31 && year > 1900)
            snprintf(out, 11, "%04u-%02u-%02u", (unsigned)year % 10000u, (unsigned)m + 1u,
                     (unsigned)day % 100u);
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
            if (n >= 12)
                ofac_dob(fields[11], nm->dob);
        } else {
            nm->org = clean(fields[1], strlen(fields[1]));
        }
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

static char *child_text(xmlNode *parent, const char *name)
{
    for (xmlNode *c = parent->children; c; c = c->next) {
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
        xmlNode *dob = child(rec, "INDIVIDUAL_DATE_OF_BIRTH");
        char *date = dob ? child_text(dob, "DATE") : NULL;
        if (date && strlen(date) == 10)
            snprintf(nm->dob, sizeof nm->dob, "%s", date);
        free(date);
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
        char sdn[4096];
        snprintf(sdn, sizeof sdn, "%s/sdn.csv", path);
        return load_ofac(list, sdn);
    }
    size_t n = strlen(path);
    if (n > 4 && strcasecmp(path + n - 4, ".xml") == 0)
        return load_un(list, path);
    return load_ofac(list, path);
}
