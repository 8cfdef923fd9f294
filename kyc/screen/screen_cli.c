/*
 * screen_cli.c — command line front end of the screening engine.
 *
 *   kyc screen --lists PATH... "NAME" [--dob D] [--country C] [--nationality C]
 *              [--residence C] [--type individual|organization] [--id-number N]
 *              [--gender male|female] [--top N] [--recall] [--min-score X]
 *              [--source S]... [--topic T]... [--json]
 *   kyc screen --lists PATH... --batch FILE|-        one JSON query per line in, one result out
 *   kyc lists status [--lists PATH... | --dir DIR] [--json]
 *   kyc lists fetch [--dir DIR] [--source NAME]... [--ofac-url BASE] [--un-url URL]
 *                   [--opensanctions-url BASE] [--ofac-only|--un-only]
 *
 * `--lists` is repeatable: a folder holding an OFAC CSV set (SDN or Consolidated), a UN XML
 * file or an OpenSanctions Senzing JSON export; `PATH@YYYY-MM-DD` gives the publication date of
 * files that carry none. Without it the lists directory (--dir, else $KYC_LISTS_DIR, else
 * ./lists) is used: every source of screen_list_sources() found there, in the layout `kyc lists
 * fetch` writes. Progress (fetch, --batch) goes to stderr only when stderr is a terminal.
 */
#include <errno.h>
#include <math.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capp/json.h"
#include "kyc/screen/screen_cli.h"
#include "kyc/screen/screen_index.h"

struct opts {
    const char *lists[SCREEN_MAX_LIST_PATHS];
    size_t n_lists;
    const char *dir;
    const char *batch;
    int json;
    struct screen_query q;
    struct screen_config cfg;
    const char *ofac_url, *un_url, *opensanctions_url;
    int ofac_only, un_only;
    const char *sources[SCREEN_MAX_LIST_PATHS], *topics[SCREEN_MAX_LIST_PATHS];
};

static int usage(const char *cmd, const char *problem)
{
    if (problem)
        fprintf(stderr, "kyc %s: %s\n", cmd, problem);
    if (strcmp(cmd, "lists") == 0)
        fprintf(stderr, "usage: kyc lists status [--lists PATH]... [--dir DIR] [--json]\n"
                        "       kyc lists fetch [--dir DIR] [--source NAME]... [--ofac-url BASE]\n"
                        "                       [--un-url URL] [--opensanctions-url BASE]\n"
                        "                       [--ofac-only|--un-only]\n"
                        "sources: ofac-sdn, ofac-cons, un-consolidated (fetched by default),\n"
                        "         opensanctions-sanctions, opensanctions-peps,\n"
                        "         opensanctions-default (CC BY-NC: fetched only when named)\n");
    else
        fprintf(stderr,
                "usage: kyc screen --lists PATH... \"NAME\" [--dob YYYY[-MM[-DD]]] [--country C]\n"
                "                  [--nationality C] [--residence C]\n"
                "                  [--type individual|organization] [--id-number N]\n"
                "                  [--gender male|female] [--top N] [--recall] [--min-score X]\n"
                "                  [--source LIST]... [--topic TOPIC]... [--json]\n"
                "       kyc screen --lists PATH... --batch FILE|-\n");
    return 2;
}

static const char *default_dir(const struct opts *o)
{
    if (o->dir)
        return o->dir;
    const char *env = getenv("KYC_LISTS_DIR");
    return env && *env ? env : "lists";
}

/* Fills o->lists from the lists directory when no --lists was given: every known source
 * present there. */
static int default_lists(struct opts *o, char paths[][PATH_MAX])
{
    if (o->n_lists)
        return 0;
    const char *dir = default_dir(o);
    size_t n;
    const struct screen_list_source *src = screen_list_sources(&n);
    struct stat st;
    for (size_t i = 0; i < n && o->n_lists < SCREEN_MAX_LIST_PATHS; i++) {
        char *p = paths[o->n_lists];
        if (screen_list_source_path(&src[i], dir, p, PATH_MAX) == 0 && stat(p, &st) == 0)
            o->lists[o->n_lists++] = p;
    }
    return o->n_lists ? 0 : -1;
}

static int load_engine(struct opts *o, const char *cmd, struct screen_engine **out)
{
    struct screen_engine *eng;
    int rc = screen_engine_new(&o->cfg, &eng);
    if (rc) {
        fprintf(stderr, "kyc %s: invalid configuration: %s\n", cmd, capp_strerror(rc));
        return 2;
    }
    struct screen_error err = {0};
    rc = screen_engine_load(eng, o->lists, o->n_lists, &err);
    if (rc) {
        fprintf(stderr, "kyc %s: cannot load lists: %s\n", cmd, err.message);
        screen_engine_free(eng);
        return 1;
    }
    *out = eng;
    return 0;
}

static int parse_number(const char *cmd, const char *flag, const char *s, double lo, double hi,
                        double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* NaN compares false with both bounds, so it needs its own test; inf and 1e999 (ERANGE)
     * are out of every range too, but say so whatever the bounds. */
    if (errno || *end || end == s || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "kyc %s: %s \"%s\" must be a number in [%g, %g]\n", cmd, flag, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

enum {
    OPT_LISTS = 256,
    OPT_DOB,
    OPT_COUNTRY,
    OPT_TYPE,
    OPT_JSON,
    OPT_BATCH,
    OPT_TOP,
    OPT_RECALL,
    OPT_MIN,
    OPT_ID,
    OPT_GENDER,
    OPT_DIR,
    OPT_OFAC_URL,
    OPT_UN_URL,
    OPT_OFAC_ONLY,
    OPT_UN_ONLY,
    OPT_NATIONALITY,
    OPT_RESIDENCE,
    OPT_SOURCE,
    OPT_TOPIC,
    OPT_OPENSANCTIONS_URL,
    OPT_HELP
};

static const struct option long_opts[] = {
    {"lists", required_argument, NULL, OPT_LISTS},
    {"dob", required_argument, NULL, OPT_DOB},
    {"country", required_argument, NULL, OPT_COUNTRY},
    {"type", required_argument, NULL, OPT_TYPE},
    {"json", no_argument, NULL, OPT_JSON},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"top", required_argument, NULL, OPT_TOP},
    {"recall", no_argument, NULL, OPT_RECALL},
    {"min-score", required_argument, NULL, OPT_MIN},
    {"id-number", required_argument, NULL, OPT_ID},
    {"gender", required_argument, NULL, OPT_GENDER},
    {"dir", required_argument, NULL, OPT_DIR},
    {"ofac-url", required_argument, NULL, OPT_OFAC_URL},
    {"un-url", required_argument, NULL, OPT_UN_URL},
    {"ofac-only", no_argument, NULL, OPT_OFAC_ONLY},
    {"un-only", no_argument, NULL, OPT_UN_ONLY},
    {"nationality", required_argument, NULL, OPT_NATIONALITY},
    {"residence", required_argument, NULL, OPT_RESIDENCE},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"topic", required_argument, NULL, OPT_TOPIC},
    {"opensanctions-url", required_argument, NULL, OPT_OPENSANCTIONS_URL},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Returns optind on success, or the exit code negated. */
static int parse_opts(const char *cmd, int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    screen_config_default(&o->cfg);
    o->q.type = SCREEN_TYPE_ANY;
    optind = 1;
    opterr = 0;
    int c;
    double v;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTS:
            if (o->n_lists >= SCREEN_MAX_LIST_PATHS) {
                fprintf(stderr, "kyc %s: more than %u --lists paths\n", cmd, SCREEN_MAX_LIST_PATHS);
                return -2;
            }
            o->lists[o->n_lists++] = optarg;
            break;
        case OPT_DOB:
            o->q.dob = optarg;
            break;
        case OPT_COUNTRY:
            o->q.country = optarg;
            break;
        case OPT_TYPE:
            if (screen_type_parse(optarg, &o->q.type) != 0) {
                fprintf(stderr, "kyc %s: --type \"%s\" is not individual or organization\n", cmd,
                        optarg);
                return -2;
            }
            break;
        case OPT_JSON:
            o->json = 1;
            break;
        case OPT_BATCH:
            o->batch = optarg;
            break;
        case OPT_TOP:
            if (parse_number(cmd, "--top", optarg, 1, SCREEN_MAX_TOP_K, &v))
                return -2;
            o->cfg.top_k = (unsigned)v;
            break;
        case OPT_RECALL:
            o->cfg.recall_mode = 1;
            break;
        case OPT_MIN:
            if (parse_number(cmd, "--min-score", optarg, 0, 1, &v))
                return -2;
            o->cfg.min_score = v;
            break;
        case OPT_ID:
            o->q.id_number = optarg;
            break;
        case OPT_GENDER:
            if (strcasecmp(optarg, "male") == 0)
                o->q.gender = SCREEN_GENDER_MALE;
            else if (strcasecmp(optarg, "female") == 0)
                o->q.gender = SCREEN_GENDER_FEMALE;
            else {
                fprintf(stderr, "kyc %s: --gender \"%s\" is not male or female\n", cmd, optarg);
                return -2;
            }
            break;
        case OPT_DIR:
            o->dir = optarg;
            break;
        case OPT_OFAC_URL:
            o->ofac_url = optarg;
            break;
        case OPT_UN_URL:
            o->un_url = optarg;
            break;
        case OPT_OFAC_ONLY:
            o->ofac_only = 1;
            break;
        case OPT_UN_ONLY:
            o->un_only = 1;
            break;
        case OPT_OPENSANCTIONS_URL:
            o->opensanctions_url = optarg;
            break;
        case OPT_NATIONALITY:
            o->q.nationality = optarg;
            break;
        case OPT_RESIDENCE:
            o->q.residence = optarg;
            break;
        case OPT_SOURCE:
        case OPT_TOPIC: {
            int src = c == OPT_SOURCE;
            size_t *n = src ? &o->q.n_sources : &o->q.n_topics;
            if (*n >= SCREEN_MAX_LIST_PATHS) {
                fprintf(stderr, "kyc %s: more than %u --%s values\n", cmd, SCREEN_MAX_LIST_PATHS,
                        src ? "source" : "topic");
                return -2;
            }
            (src ? o->sources : o->topics)[(*n)++] = optarg;
            o->q.sources = o->sources;
            o->q.topics = o->topics;
            break;
        }
        case OPT_HELP:
            usage(cmd, NULL);
            return -2;
        default: {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown or incomplete option \"%s\"", argv[optind - 1]);
            return -usage(cmd, msg);
        }
        }
    }
    return optind;
}

static void print_match(uint32_t i, const struct screen_match *m)
{
    const struct screen_entry *e = m->entry;
    printf("\n%u. %.4f %-12s %s  %s  [%s", i + 1, m->score, screen_band_name(m->band), e->id,
           e->name, screen_type_name(e->type));
    for (unsigned p = 0; p < e->n_programs; p++)
        printf("%s%s", p ? ", " : "; ", e->programs[p]);
    for (unsigned p = 0; p < e->n_topics; p++)
        printf("%s%s", p ? ", " : "; topics ", e->topics[p]);
    printf("]\n   %s: matched %s \"%s\" (name score %.4f)\n", screen_reason_name(m->reason),
           screen_name_kind_name(m->name_kind), m->matched_name, m->name_score);
    printf("   tokens:");
    for (uint32_t k = 0; k < m->n_pairs; k++) {
        const struct screen_token_pair *p = &m->pairs[k];
        printf(" %s~%s %.2f", p->query_token ? p->query_token : "-",
               p->list_token ? p->list_token : "-", p->similarity);
    }
    printf("\n");
    for (uint32_t k = 0; k < m->n_qualifiers; k++)
        printf("   %s %+.2f: %s\n", screen_qualifier_name(m->qualifiers[k].kind),
               m->qualifiers[k].delta, m->qualifiers[k].detail);
}

static void print_result(const struct screen_result *r, const struct screen_query *q)
{
    char joined[SCREEN_MAX_NAME_BYTES];
    screen_tokens_join(&r->query_tokens, joined, sizeof joined);
    printf("query: \"%s\"  tokens: [%s]\n", q->name ? q->name : "", joined);
    if (r->input_flags)
        printf("input: %s%s removed from the name before screening\n",
               r->input_flags & SCREEN_INPUT_MARKUP ? "markup" : "",
               r->input_flags & SCREEN_INPUT_CONTROL
                   ? (r->input_flags & SCREEN_INPUT_MARKUP ? " and control characters"
                                                           : "control characters")
                   : "");
    printf("result: %s  (review floor %.2f, hit %.2f; %u candidates scored; engine %s)\n",
           screen_band_name(r->band), r->review_floor, r->hit_threshold, r->candidates,
           SCREEN_ENGINE_VERSION);
    const struct screen_list_set *set = screen_index_lists(r->index);
    for (size_t i = 0; i < screen_list_set_version_count(set); i++) {
        const struct screen_list_version *v = screen_list_set_version(set, i);
        printf("list: %s %s (%s) sha256 %.16s... (%u records)\n", v->source, v->date,
               v->date_source[0] ? v->date_source : "unknown", v->sha256, v->records);
    }
    if (r->n_matches == 0)
        printf("no matches at or above %.2f\n", r->review_floor);
    for (uint32_t i = 0; i < r->n_matches; i++)
        print_match(i, &r->matches[i]);
    /* what was looked at and set aside: an examiner asks about it for a clear result */
    uint32_t shown = 0;
    for (uint32_t i = 0; i < r->n_considered; i++) {
        const struct screen_match *m = &r->considered[i];
        int in_matches = 0;
        for (uint32_t k = 0; k < r->n_matches && !in_matches; k++)
            in_matches = r->matches[k].entry == m->entry;
        if (in_matches)
            continue;
        if (!shown++)
            printf("\nconsidered and discounted (below %.2f):\n", r->review_floor);
        print_match(i, m);
    }
}

static int print_json(json_t *j)
{
    char *s = json_to_string_flags(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(j);
    if (!s)
        return -1;
    puts(s);
    free(s);
    return 0;
}

static int run_batch(struct screen_engine *eng, const char *path, const struct screen_query *sel)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        fprintf(stderr, "kyc screen: --batch %s: %s\n", path, strerror(errno));
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long lineno = 0;
    int failed = 0;
    /* progress for a person watching, never in a pipe or a log */
    int progress = isatty(STDERR_FILENO);
    time_t last = 0;
    while ((n = getline(&line, &cap, in)) != -1) {
        lineno++;
        if (progress && time(NULL) != last) {
            last = time(NULL);
            fprintf(stderr, "\rkyc screen: %lu queries ", lineno - 1);
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        struct screen_error err = {0};
        json_t *obj = NULL;
        int rc;
        if ((size_t)n > SCREEN_MAX_BATCH_LINE_BYTES) {
            rc = screen_fail(&err, CAPP_ETOOBIG, "line %lu: %zd bytes exceeds the %u-byte limit",
                             lineno, n, SCREEN_MAX_BATCH_LINE_BYTES);
        } else {
            json_error_t jerr;
            obj = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
            if (!obj)
                rc =
                    screen_fail(&err, CAPP_EPARSE, "line %lu: invalid JSON: %s", lineno, jerr.text);
            else
                rc = 0;
        }
        struct screen_query q;
        if (rc == 0 && (rc = screen_query_from_json(obj, &q, &err)) != 0) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "line %lu: ", lineno);
            screen_error_prefix(&err, prefix);
        }
        if (rc == 0) { /* --source / --topic apply to every line */
            q.sources = sel->sources;
            q.n_sources = sel->n_sources;
            q.topics = sel->topics;
            q.n_topics = sel->n_topics;
        }
        struct screen_result r;
        if (rc == 0 && (rc = screen_query(eng, &q, NULL, &r)) != 0)
            screen_fail(&err, rc, "line %lu: %s", lineno, capp_strerror(rc));
        if (rc == 0) {
            print_json(screen_result_to_json(&r, &q));
            screen_result_release(&r);
        } else {
            failed = 1;
            json_t *id = obj ? json_object_get(obj, "id") : NULL;
            json_t *e =
                json_pack("{s:O?, s:s, s:s, s:I}", "id", json_is_string(id) ? id : NULL, "error",
                          err.message, "code", capp_errcode(rc), "line", (json_int_t)lineno);
            print_json(e);
            fprintf(stderr, "kyc screen: --batch %s %s\n", path, err.message);
        }
        json_decref(obj);
    }
    free(line);
    if (progress)
        fprintf(stderr, "\rkyc screen: %lu queries\n", lineno);
    int bad = ferror(in);
    if (in != stdin)
        fclose(in);
    if (bad) {
        fprintf(stderr, "kyc screen: --batch %s: read error\n", path);
        return 1;
    }
    return failed;
}

static int cmd_screen(int argc, char **argv)
{
    struct opts o;
    int first = parse_opts("screen", argc, argv, &o);
    if (first < 0)
        return -first;
    static char paths[SCREEN_MAX_LIST_PATHS][PATH_MAX];
    if (default_lists(&o, paths) != 0)
        return usage("screen", "no --lists given and no lists directory found");
    const char *name = first < argc ? argv[first] : NULL;
    if (first + 1 < argc) {
        char msg[160];
        snprintf(msg, sizeof msg, "unexpected argument \"%s\" (quote the name)", argv[first + 1]);
        return usage("screen", msg);
    }
    if (!o.batch && (!name || !*name) && !o.q.id_number)
        return usage("screen", "a NAME or --batch is required");
    if (o.batch && name)
        return usage("screen", "give either a NAME or --batch, not both");
    if (name && strlen(name) > SCREEN_MAX_NAME_BYTES) {
        fprintf(stderr, "kyc screen: NAME is %zu bytes, over the %u-byte limit\n", strlen(name),
                SCREEN_MAX_NAME_BYTES);
        return 2;
    }
    if (o.q.dob) {
        struct screen_dob d;
        if (screen_dob_parse(o.q.dob, strlen(o.q.dob), &d) != 0 || d.year != d.year_to) {
            fprintf(stderr, "kyc screen: --dob \"%s\" is not YYYY, YYYY-MM or YYYY-MM-DD\n",
                    o.q.dob);
            return 2;
        }
    }
    struct screen_engine *eng;
    int rc = load_engine(&o, "screen", &eng);
    if (rc)
        return rc;
    if (o.batch) {
        rc = run_batch(eng, o.batch, &o.q);
        screen_engine_free(eng);
        return rc;
    }
    o.q.name = name;
    struct screen_result r;
    rc = screen_query(eng, &o.q, NULL, &r);
    if (rc) {
        fprintf(stderr, "kyc screen: \"%s\": %s\n", name ? name : "", capp_strerror(rc));
        screen_engine_free(eng);
        return rc == CAPP_EINVAL || rc == CAPP_ETOOBIG ? 2 : 1;
    }
    if (o.json)
        print_json(screen_result_to_json(&r, &o.q));
    else
        print_result(&r, &o.q);
    screen_result_release(&r);
    screen_engine_free(eng);
    return 0;
}

static int cmd_lists(int argc, char **argv)
{
    if (argc < 2)
        return usage("lists", "missing subcommand (status or fetch)");
    const char *sub = argv[1];
    struct opts o;
    int first = parse_opts("lists", argc - 1, argv + 1, &o);
    if (first < 0)
        return -first;
    if (first < argc - 1) {
        char msg[160];
        snprintf(msg, sizeof msg, "unexpected argument \"%s\"", argv[1 + first]);
        return usage("lists", msg);
    }
    if (strcmp(sub, "fetch") == 0) {
        struct screen_fetch_options f = {default_dir(&o),
                                         o.ofac_url,
                                         o.un_url,
                                         0,
                                         o.ofac_only,
                                         o.un_only,
                                         o.opensanctions_url,
                                         o.q.sources,
                                         o.q.n_sources,
                                         isatty(STDERR_FILENO)};
        struct screen_error err = {0};
        int rc = screen_lists_fetch(&f, &err);
        if (rc) {
            fprintf(stderr, "kyc lists fetch: %s\n", err.message);
            return 1;
        }
        printf("lists fetched into %s\n", f.dir);
        o.dir = f.dir;
        o.n_lists = 0;
    } else if (strcmp(sub, "status") != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown subcommand \"%s\"", sub);
        return usage("lists", msg);
    }
    static char paths[SCREEN_MAX_LIST_PATHS][PATH_MAX];
    if (default_lists(&o, paths) != 0) {
        fprintf(stderr, "kyc lists %s: no lists in %s (run `kyc lists fetch`)\n", sub,
                default_dir(&o));
        return 1;
    }
    struct screen_engine *eng;
    int rc = load_engine(&o, "lists", &eng);
    if (rc)
        return rc;
    struct screen_index *idx = screen_engine_acquire(eng);
    struct screen_index_stats stats;
    screen_index_stats(idx, &stats);
    if (o.json) {
        json_t *j =
            json_pack("{s:o, s:I, s:I, s:I, s:f}", "lists", screen_index_versions_json(idx),
                      "entries", (json_int_t)stats.entries, "names", (json_int_t)stats.names,
                      "tokens", (json_int_t)stats.tokens, "build_seconds", stats.build_seconds);
        print_json(j);
    } else {
        const struct screen_list_set *set = screen_index_lists(idx);
        for (size_t i = 0; i < screen_list_set_version_count(set); i++) {
            const struct screen_list_version *v = screen_list_set_version(set, i);
            printf("%-16s date %s (%s)  records %u  sha256 %s  %s\n", v->source, v->date,
                   v->date_source[0] ? v->date_source : "unknown", v->records, v->sha256, v->path);
        }
        printf("index: %u entries, %u names, %u tokens, built in %.3f s\n", stats.entries,
               stats.names, stats.tokens, stats.build_seconds);
    }
    screen_index_release(idx);
    screen_engine_free(eng);
    return 0;
}

int screen_cli_main(int argc, char **argv)
{
    if (argc < 1 || !argv[0])
        return usage("screen", "missing command");
    if (strcmp(argv[0], "screen") == 0)
        return cmd_screen(argc, argv);
    if (strcmp(argv[0], "lists") == 0)
        return cmd_lists(argc, argv);
    fprintf(stderr, "kyc: unknown command \"%s\" (expected screen or lists)\n", argv[0]);
    return 2;
}
