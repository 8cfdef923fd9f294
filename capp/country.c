/*
 * country.c — the country table behind capp/country.h: squashed names sorted for bsearch,
 * the first spelling added for a name winning (the list spellings, then ISO order).
 */
#include "capp/country.h"

#include "capp/assert.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define NAME_BYTES 96

struct country_name {
    char name[NAME_BYTES]; /* squashed */
    char code[3];
    unsigned order; /* insertion order: the first spelling of a name wins */
};

static struct country_name *names;
static size_t n_names;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* List spellings and demonyms that are not ISO names. */
static const char *const aliases[][2] = {
    {"korea north", "KP"},
    {"north korea", "KP"},
    {"dprk", "KP"},
    {"korea south", "KR"},
    {"south korea", "KR"},
    {"burma", "MM"},
    {"syria", "SY"},
    {"russia", "RU"},
    {"iran", "IR"},
    {"venezuela", "VE"},
    {"bolivia", "BO"},
    {"tanzania", "TZ"},
    {"laos", "LA"},
    {"vietnam", "VN"},
    {"moldova", "MD"},
    {"palestinian", "PS"},
    {"west bank", "PS"},
    {"gaza", "PS"},
    {"palestine", "PS"},
    {"taiwan", "TW"},
    {"turkey", "TR"},
    {"czech republic", "CZ"},
    {"ivory coast", "CI"},
    {"cote d ivoire", "CI"},
    {"congo democratic republic of the", "CD"},
    {"democratic republic of the congo", "CD"},
    {"congo republic of the", "CG"},
    {"macedonia", "MK"},
    {"united states", "US"},
    {"usa", "US"},
    {"uk", "GB"},
    {"great britain", "GB"},
    {"england", "GB"},
    {"micronesia", "FM"},
    {"the gambia", "GM"},
    {"the bahamas", "BS"},
    {"cape verde", "CV"},
    {"swaziland", "SZ"},
    {"brunei", "BN"},
    {"kosovo", "XK"},
};

size_t country_squash(const char *s, char *out, size_t cap)
{
    if (!cap)
        return 0;
    size_t o = 0;
    int space = 0;
    for (; s && *s && o + 2 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c >= 'a' && c <= 'z') {
            if (space && o)
                out[o++] = ' ';
            out[o++] = (char)c;
            space = 0;
        } else if (c < 0x80) {
            space = 1;
        }
    }
    out[o] = '\0';
    return o;
}

static void add(size_t *cap, const char *name, const char *code)
{
    char sq[NAME_BYTES];
    if (!name || !code || strlen(code) != 2 || !country_squash(name, sq, sizeof sq))
        return;
    if (n_names == *cap) {
        size_t c = *cap ? *cap * 2 : 1024;
        struct country_name *grown = realloc(names, c * sizeof *grown);
        if (!grown)
            return; /* a spelling fewer: lookups of it fail, nothing else does */
        names = grown;
        *cap = c;
    }
    struct country_name *e = &names[n_names];
    memcpy(e->name, sq, sizeof sq);
    e->code[0] = (char)(code[0] >= 'a' && code[0] <= 'z' ? code[0] - 'a' + 'A' : code[0]);
    e->code[1] = (char)(code[1] >= 'a' && code[1] <= 'z' ? code[1] - 'a' + 'A' : code[1]);
    e->code[2] = '\0';
    e->order = (unsigned)n_names++;
}

static int by_name_then_order(const void *a, const void *b)
{
    const struct country_name *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int by_name(const void *key, const void *elem)
{
    return strcmp(key, ((const struct country_name *)elem)->name);
}

static void load(void)
{
    size_t cap = 0;
    for (size_t i = 0; i < COUNTOF(aliases); i++)
        add(&cap, aliases[i][0], aliases[i][1]);
    json_t *root = json_load_file(COUNTRY_ISO_JSON, 0, NULL);
    json_t *arr = root ? json_object_get(root, "3166-1") : NULL;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *a2 = json_string_value(json_object_get(e, "alpha_2"));
        add(&cap, a2, a2);
        add(&cap, json_string_value(json_object_get(e, "alpha_3")), a2);
        static const char *const fields[] = {"name", "common_name", "official_name"};
        for (int f = 0; f < 3; f++) {
            const char *n = json_string_value(json_object_get(e, fields[f]));
            if (!n)
                continue;
            add(&cap, n, a2);
            /* "Iran, Islamic Republic of" is also "Iran"; not "Korea, Republic of" or
             * "Congo, The Democratic Republic of the": their heads name two countries */
            const char *comma = strchr(n, ',');
            if (comma && strncmp(n, "Korea", 5) != 0 && strncmp(n, "Congo", 5) != 0) {
                char head[NAME_BYTES];
                snprintf(head, sizeof head, "%.*s", (int)(comma - n), n);
                add(&cap, head, a2);
            }
        }
    }
    json_decref(root);
    if (!n_names)
        return;
    qsort(names, n_names, sizeof *names, by_name_then_order);
    /* keep the first spelling of each name */
    size_t kept = 1;
    for (size_t k = 1; k < n_names; k++)
        if (strcmp(names[k].name, names[kept - 1].name) != 0)
            names[kept++] = names[k];
    n_names = kept;
}

int country_code(const char *s, char out[3])
{
    pthread_once(&once, load);
    char sq[256];
    out[0] = '\0';
    size_t n = country_squash(s, sq, sizeof sq);
    if (!n || n >= NAME_BYTES - 1 || !n_names) /* longer than any name: not one */
        return 0;
    const struct country_name *hit = bsearch(sq, names, n_names, sizeof *names, by_name);
    if (!hit)
        return 0;
    memcpy(out, hit->code, 3);
    return 1;
}
