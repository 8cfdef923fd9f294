/*
 * bench_gen.h — seeded generators shared by bench/screen and bench/accuracy: synthetic
 * customer names from many cultures, and realistic perturbations of list names (typos,
 * swapped order, dropped or added middle names, diacritics, transliteration variants,
 * initials). Deterministic for a given seed so runs are comparable.
 */
#ifndef BENCH_GEN_H
#define BENCH_GEN_H

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t gen_state = 0x853c49e6748fea9bull;

static inline void gen_seed(uint64_t s)
{
    gen_state = s ? s : 1;
}

static inline uint64_t gen_next(void)
{
    uint64_t x = gen_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return gen_state = x;
}

static inline unsigned gen_below(unsigned n)
{
    return (unsigned)(gen_next() % n);
}

#define COUNT_OF(a) (sizeof(a) / sizeof(a)[0])

static int gen_is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* culture: first names, last names */
static const char *const gen_first[][24] = {
    {"James",  "Mary",      "Robert",  "Patricia", "John",    "Jennifer", "Michael", "Linda",
     "David",  "Elizabeth", "William", "Barbara",  "Richard", "Susan",    "Joseph",  "Jessica",
     "Thomas", "Sarah",     "Charles", "Karen",    "Daniel",  "Nancy",    "Matthew", "Lisa"},
    {"Carlos",   "Maria",  "Jose",   "Lucia", "Juan",   "Carmen",    "Luis",      "Ana",
     "Miguel",   "Isabel", "Javier", "Sofia", "Diego",  "Elena",     "Alejandro", "Paula",
     "Fernando", "Laura",  "Pablo",  "Marta", "Andres", "Valentina", "Ricardo",   "Camila"},
    {"Ahmed",  "Fatima", "Omar",  "Aisha",  "Khalid", "Mariam", "Yusuf",  "Layla",
     "Hassan", "Noor",   "Tariq", "Zainab", "Karim",  "Huda",   "Samir",  "Rania",
     "Nabil",  "Salma",  "Walid", "Dina",   "Faisal", "Amira",  "Rashid", "Yasmin"},
    {"Ivan",    "Olga",      "Dmitri",  "Tatiana", "Sergei", "Natalia", "Alexei", "Irina",
     "Mikhail", "Svetlana",  "Nikolai", "Elena",   "Andrei", "Anna",    "Pavel",  "Marina",
     "Yuri",    "Ekaterina", "Boris",   "Galina",  "Oleg",   "Ludmila", "Viktor", "Vera"},
    {"Wei", "Fang", "Jun",   "Li",  "Ming", "Xiu",  "Hao",  "Mei",  "Lei",  "Yan",  "Tao",  "Ying",
     "Bo",  "Hua",  "Qiang", "Lan", "Jian", "Ling", "Peng", "Hong", "Yong", "Juan", "Gang", "Xia"},
    {"Aarav",  "Priya", "Rahul", "Ananya",  "Vikram", "Deepa",  "Arjun", "Kavya",
     "Sanjay", "Pooja", "Rohan", "Neha",    "Amit",   "Sunita", "Ravi",  "Meera",
     "Suresh", "Divya", "Anil",  "Lakshmi", "Manoj",  "Shreya", "Kiran", "Asha"},
    {"Chinedu",  "Ngozi",    "Kwame", "Ama",      "Oluwaseun", "Folake", "Tendai", "Nia",
     "Sipho",    "Thandiwe", "Emeka", "Adaeze",   "Kofi",      "Abena",  "Jabari", "Zuri",
     "Babajide", "Yetunde",  "Tunde", "Chiamaka", "Musa",      "Amina",  "Obinna", "Nkechi"},
    {"Lukas",   "Hannah",  "Felix", "Lena",   "Jonas", "Emma",   "Leon",   "Mia",
     "Pierre",  "Camille", "Louis", "Chloe",  "Hugo",  "Manon",  "Matteo", "Giulia",
     "Lorenzo", "Chiara",  "Sven",  "Ingrid", "Lars",  "Astrid", "Jan",    "Katarzyna"},
};
static const char *const gen_last[][24] = {
    {"Smith",    "Johnson", "Williams", "Brown",  "Jones",   "Miller", "Davis",    "Wilson",
     "Anderson", "Taylor",  "Thomas",   "Moore",  "Jackson", "Martin", "Thompson", "White",
     "Harris",   "Clark",   "Lewis",    "Walker", "Hall",    "Young",  "King",     "Wright"},
    {"Garcia",  "Rodriguez", "Martinez", "Lopez",   "Gonzalez", "Perez",   "Sanchez", "Ramirez",
     "Torres",  "Flores",    "Rivera",   "Gomez",   "Diaz",     "Morales", "Ortiz",   "Castillo",
     "Jimenez", "Vargas",    "Romero",   "Herrera", "Medina",   "Aguilar", "Navarro", "Molina"},
    {"Haddad", "Nasser", "Khoury", "Saleh",    "Mansour", "Farouk",  "Qureshi", "Abdallah",
     "Hamdan", "Aziz",   "Rahman", "Suleiman", "Darwish", "Khalil",  "Barakat", "Haddadin",
     "Bakr",   "Jaber",  "Najjar", "Sabbagh",  "Issa",    "Mahfouz", "Zayed",   "Toukan"},
    {"Ivanov",  "Smirnova", "Kuznetsov", "Popova",   "Sokolov",    "Lebedeva",
     "Kozlov",  "Novikova", "Morozov",   "Volkova",  "Solovyov",   "Vasilieva",
     "Zaitsev", "Pavlova",  "Semyonov",  "Golubeva", "Vinogradov", "Bogdanova",
     "Orlov",   "Fedorova", "Belov",     "Tarasova", "Kiselev",    "Frolova"},
    {"Wang", "Li",   "Zhang", "Liu", "Chen",  "Yang",  "Huang", "Zhao",
     "Wu",   "Zhou", "Xu",    "Sun", "Ma",    "Zhu",   "Hu",    "Guo",
     "He",   "Gao",  "Lin",   "Luo", "Zheng", "Liang", "Xie",   "Song"},
    {"Sharma", "Patel",   "Singh",  "Kumar", "Gupta",    "Reddy", "Iyer",   "Nair",
     "Mehta",  "Joshi",   "Chopra", "Desai", "Bhat",     "Rao",   "Kapoor", "Malhotra",
     "Verma",  "Agarwal", "Pillai", "Menon", "Banerjee", "Das",   "Mishra", "Saxena"},
    {"Okafor",   "Mensah",  "Adeyemi", "Nkosi",  "Mwangi",  "Okonkwo",  "Boateng", "Diallo",
     "Abubakar", "Ndlovu",  "Eze",     "Owusu",  "Balogun", "Kamau",    "Achebe",  "Asante",
     "Oyelaran", "Dlamini", "Chukwu",  "Appiah", "Otieno",  "Ogunleye", "Moyo",    "Banda"},
    {"Muller",     "Schmidt",   "Schneider", "Fischer", "Weber",    "Dubois",
     "Lefebvre",   "Moreau",    "Laurent",   "Rossi",   "Russo",    "Bianchi",
     "Romano",     "Johansson", "Andersson", "Nilsson", "Kowalski", "Nowak",
     "Wisniewski", "Jansen",    "De Vries",  "Bakker",  "Visser",   "Novak"},
};
#define GEN_CULTURES 8

/* A synthetic customer, "First [Middle] Last". */
static inline void gen_customer(char *out, size_t cap)
{
    unsigned c = gen_below(GEN_CULTURES);
    const char *f = gen_first[c][gen_below(24)], *l = gen_last[c][gen_below(24)];
    if (gen_below(4) == 0)
        snprintf(out, cap, "%s %s %s", f, gen_first[c][gen_below(24)], l);
    else
        snprintf(out, cap, "%s %s", f, l);
}

enum gen_perturbation {
    GEN_EXACT,
    GEN_TYPO,
    GEN_SWAP,
    GEN_DROP_MIDDLE,
    GEN_ADD_MIDDLE,
    GEN_DIACRITICS,
    GEN_TRANSLIT,
    GEN_INITIAL,
    GEN_PERTURBATIONS
};

static const char *const gen_perturbation_names[] = {
    "exact",        "typo",       "swapped_order",   "dropped_middle",
    "added_middle", "diacritics", "transliteration", "initial"};

/* The end of the character that starts at or contains byte `at` of s: the next UTF-8 code
 * point boundary after it (so a perturbation never cuts a multi-byte character). */
static inline size_t gen_char_end(const char *s, size_t at)
{
    if (!s[at])
        return at;
    at++;
    while ((s[at] & 0xC0) == 0x80)
        at++;
    return at;
}

/* Splits on spaces/commas into words (pointers into buf). */
static inline int gen_words(char *buf, char **w, int max)
{
    int n = 0;
    for (char *p = strtok(buf, " ,"); p && n < max; p = strtok(NULL, " ,"))
        w[n++] = p;
    return n;
}

static inline void gen_join(char **w, int n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < n && o + 2 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? " " : "", w[i]);
}

static const char *const gen_translit[][2] = {
    {"ou", "u"}, {"u", "ou"}, {"y", "i"},  {"i", "y"},  {"ee", "i"}, {"kh", "h"},
    {"ph", "f"}, {"mm", "m"}, {"ss", "s"}, {"dh", "d"}, {"e", "a"},  {"a", "e"},
    {"q", "k"},  {"j", "dj"}, {"w", "v"},  {"ie", "y"}, {"o", "u"}};

/* Whether a perturbation is one of a person's name: the order of given and family name, a
 * middle name dropped or added, a first name reduced to an initial. */
static inline int gen_perturbation_personal(enum gen_perturbation kind)
{
    return kind == GEN_SWAP || kind == GEN_DROP_MIDDLE || kind == GEN_ADD_MIDDLE ||
           kind == GEN_INITIAL;
}

/* Applies one perturbation to a list name. A person's "LAST, First" is flattened first, as a
 * customer would type it ("First LAST"); an organisation's comma is not a name order
 * ("TROLL PROPERTIES, INC." is typed as listed), and the personal perturbations do not apply
 * to it. Returns 0 if the kind does not apply to this name. */
static inline int gen_perturb(const char *name, int person, enum gen_perturbation kind, char *out,
                              size_t cap)
{
    char buf[512], word[128];
    char *w[32];
    if (!person && gen_perturbation_personal(kind))
        return 0;
    snprintf(buf, sizeof buf, "%s", name);
    const char *comma = person ? strchr(name, ',') : NULL;
    int n;
    if (comma && !strchr(comma + 1, ',')) { /* "LAST, First" → "First LAST" */
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s %.*s", comma + 1, (int)(comma - name), name);
        snprintf(buf, sizeof buf, "%s", tmp);
    }
    n = gen_words(buf, w, 32);
    if (n == 0)
        return 0;
    switch (kind) {
    case GEN_EXACT:
        gen_join(w, n, out, cap);
        return 1;
    case GEN_TYPO: {
        /* Byte-level edits: only on ASCII words, so a typo never splits a UTF-8 sequence. */
        int i = (int)gen_below((unsigned)n), tries = 0;
        while ((strlen(w[i]) < 4 || !gen_is_ascii(w[i])) && tries++ < 8)
            i = (int)gen_below((unsigned)n);
        size_t len = strlen(w[i]);
        if (len < 4 || !gen_is_ascii(w[i]))
            return 0;
        snprintf(word, sizeof word, "%s", w[i]);
        size_t at = 1 + gen_below((unsigned)(len - 1));
        switch (gen_below(4)) {
        case 0: /* substitution */
            word[at] = (char)('a' + gen_below(26));
            break;
        case 1: /* deletion */
            memmove(word + at, word + at + 1, len - at);
            break;
        case 2: /* transposition */
            if (at + 1 < len) {
                char t = word[at];
                word[at] = word[at + 1];
                word[at + 1] = t;
            }
            break;
        default: /* insertion */
            memmove(word + at + 1, word + at, len - at + 1);
            word[at] = word[at - 1];
            break;
        }
        w[i] = word;
        gen_join(w, n, out, cap);
        return 1;
    }
    case GEN_SWAP: {
        if (n < 2)
            return 0;
        char *t = w[0];
        w[0] = w[n - 1];
        w[n - 1] = t;
        gen_join(w, n, out, cap);
        return 1;
    }
    case GEN_DROP_MIDDLE: {
        if (n < 3)
            return 0;
        int i = 1 + (int)gen_below((unsigned)(n - 2));
        memmove(w + i, w + i + 1, (size_t)(n - i - 1) * sizeof *w);
        gen_join(w, n - 1, out, cap);
        return 1;
    }
    case GEN_ADD_MIDDLE: {
        if (n > 30)
            return 0;
        unsigned c = gen_below(GEN_CULTURES);
        memmove(w + 2, w + 1, (size_t)(n - 1) * sizeof *w);
        w[1] = (char *)gen_first[c][gen_below(24)];
        gen_join(w, n + 1, out, cap);
        return 1;
    }
    case GEN_DIACRITICS: {
        /* the customer's spelling carries accents the list lacks */
        char joined[512];
        gen_join(w, n, joined, sizeof joined);
        size_t o = 0;
        int changed = 0;
        for (const char *p = joined; *p && o + 3 < cap; p++) {
            const char *rep = NULL;
            switch (*p) {
            case 'e':
                rep = "\xc3\xa9";
                break;
            case 'a':
                rep = "\xc3\xa1";
                break;
            case 'o':
                rep = "\xc3\xb6";
                break;
            case 'u':
                rep = "\xc3\xbc";
                break;
            case 'E':
                rep = "\xc3\x89";
                break;
            case 'A':
                rep = "\xc3\x81";
                break;
            case 'O':
                rep = "\xc3\x96";
                break;
            case 'U':
                rep = "\xc3\x9c";
                break;
            case 'n':
                rep = "\xc3\xb1";
                break;
            default:
                break;
            }
            if (rep && gen_below(2) == 0) {
                memcpy(out + o, rep, 2);
                o += 2;
                changed = 1;
            } else {
                out[o++] = *p;
            }
        }
        out[o] = '\0';
        return changed;
    }
    case GEN_TRANSLIT: {
        char joined[512], low[512];
        gen_join(w, n, joined, sizeof joined);
        size_t len = strlen(joined);
        for (size_t i = 0; i <= len; i++)
            low[i] = (char)tolower((unsigned char)joined[i]);
        for (int tries = 0; tries < 16; tries++) {
            const char *const *r = gen_translit[gen_below(COUNT_OF(gen_translit))];
            char *hit = strstr(low, r[0]);
            if (!hit)
                continue;
            size_t at = (size_t)(hit - low);
            snprintf(out, cap, "%.*s%s%s", (int)at, low, r[1], low + at + strlen(r[0]));
            return 1;
        }
        return 0;
    }
    case GEN_INITIAL: {
        if (n < 3)
            return 0;
        /* the first character, not its first byte: cutting a multi-byte letter ("Ø", Arabic)
         * made an invalid UTF-8 query that the engine rejects */
        size_t cl = gen_char_end(w[0], 0);
        char initial[8];
        snprintf(initial, sizeof initial, "%.*s.", (int)cl, w[0]);
        w[0] = initial;
        gen_join(w, n, out, cap);
        return 1;
    }
    default:
        return 0;
    }
}

#endif
