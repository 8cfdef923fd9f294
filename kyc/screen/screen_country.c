/*
 * screen_country.c — one comparable key per country, whether written as an ISO 3166 code or
 * as a name ("IR", "IRN", "Iran", "Iran, Islamic Republic of" → "ir").
 *
 * Names and codes come from the Debian iso-codes table (/usr/share/iso-codes/json/
 * iso_3166-1.json, read once with jansson); the list spellings that ISO does not use
 * ("Korea, North", "Burma", "Syria", "Russia", ...) are the short alias table below. A
 * string that resolves to nothing keys as its own letters, so two identical unknown names
 * still compare equal.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kyc/screen/screen_internal.h"

#define ISO_JSON "/usr/share/iso-codes/json/iso_3166-1.json"

struct country_name {
    uint64_t hash; /* of the squashed name */
    char code[3];
};

static struct country_name *names;
static size_t n_names;
static pthread_once_t once = PTHREAD_ONCE_INIT;

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

/* lower-case letters only, words separated by one space */
static size_t squash(const char *s, char *out, size_t cap)
{
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
    char sq[256];
    size_t n = squash(name, sq, sizeof sq);
    if (!n || !code || strlen(code) != 2)
        return;
    if (n_names == *cap) {
        size_t c = *cap ? *cap * 2 : 1024;
        struct country_name *g = realloc(names, c * sizeof *g);
        if (!g)
            return;
        names = g;
        *cap = c;
    }
    names[n_names].hash = screen_hash(sq, n);
    memcpy(names[n_names].code, code, 3);
    n_names++;
}

static void load(void)
{
    size_t cap = 0;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        add(&cap, aliases[i][0], aliases[i][1]);
    json_t *root = json_load_file(ISO_JSON, 0, NULL);
    json_t *arr = root ? json_object_get(root, "3166-1") : NULL;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *a2 = json_string_value(json_object_get(e, "alpha_2"));
        const char *a3 = json_string_value(json_object_get(e, "alpha_3"));
        const char *fields[] = {"name", "common_name", "official_name"};
        add(&cap, a2, a2);
        add(&cap, a3, a2);
        for (int f = 0; f < 3; f++) {
            const char *n = json_string_value(json_object_get(e, fields[f]));
            if (!n)
                continue;
            add(&cap, n, a2);
            const char *comma = strchr(n, ',');
            if (comma && strncmp(n, "Korea", 5) != 0 && strncmp(n, "Congo", 5) != 0) {
                char head[128];
                snprintf(head, sizeof head, "%.*s", (int)(comma - n), n);
                add(&cap, head, a2);
            }
        }
    }
    json_decref(root);
}

size_t screen_country_key(const char *s, char *out, size_t cap)
{
    pthread_once(&once, load);
    char sq[256];
    size_t n = squash(s, sq, sizeof sq);
    if (!n || cap < 3) {
        if (cap)
            out[0] = '\0';
        return 0;
    }
    uint64_t h = screen_hash(sq, n);
    for (size_t i = 0; i < n_names; i++)
        if (names[i].hash == h) {
            out[0] = (char)(names[i].code[0] - 'A' + 'a');
            out[1] = (char)(names[i].code[1] - 'A' + 'a');
            out[2] = '\0';
            return 2;
        }
    /* "possibly Palestinian", "Giza, Egypt": try the last word group after a comma */
    const char *comma = strrchr(s, ',');
    if (comma && comma[1])
        return screen_country_key(comma + 1, out, cap);
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(out, sq, k);
    out[k] = '\0';
    return k;
}
