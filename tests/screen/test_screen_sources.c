/*
 * test_screen_sources.c — the lists added by issue 12: the OFAC Consolidated (non-SDN) CSV
 * set and OpenSanctions' Senzing JSON export (real samples from ../shared/data/sanctions when
 * present, and small inline files), malformed input refused with the file and line named, PEP
 * matches capped at needs_review under their own reason, and the `kyc lists fetch` source
 * table (URLs and file naming; nothing is downloaded).
 */
#include "screen_test.h"

static const struct screen_entry *find(const struct screen_list_set *set, const char *id)
{
    for (size_t i = 0; i < screen_list_set_count(set); i++)
        if (strcmp(screen_list_set_entry(set, i)->id, id) == 0)
            return screen_list_set_entry(set, i);
    fail_msg("entry %s not found", id);
    return NULL;
}

static int has_topic(const struct screen_entry *e, const char *t)
{
    for (unsigned i = 0; i < e->n_topics; i++)
        if (strcmp(e->topics[i], t) == 0)
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- OFAC consolidated */

static void test_real_ofac_cons(void **state)
{
    (void)state;
    char p[1024];
    if (!shared_data("ofac-cons-2025-12", p, sizeof p))
        skip();
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err = {0};
    int rc = screen_list_set_load_path(set, p, &err);
    if (rc)
        fail_msg("%s", err.message);
    assert_int_equal(screen_list_set_count(set), 442);
    const struct screen_entry *e = find(set, "ofac-cons:9639");
    assert_string_equal(e->name, "HANIYA, Ismail Abdul Salah");
    assert_string_equal(e->source, "ofac-cons");
    assert_true(has_topic(e, "sanction"));
    assert_true(e->n_dobs == 1 && e->dobs[0].year == 1962);
    assert_true(e->n_aliases >= 2);
    const struct screen_list_version *v = screen_list_set_version(set, 0);
    assert_string_equal(v->source, "ofac-cons");
    assert_int_equal(v->records, 442);
    /* the CSVs carry no date and none was fetched or given: unknown, never the files' mtime */
    assert_string_equal(v->date, "unknown");
    screen_list_set_free(set);
    /* given with the path */
    char dated[1100];
    snprintf(dated, sizeof dated, "%s@2025-12-15", p);
    set = screen_list_set_new();
    assert_int_equal(screen_list_set_load_path(set, dated, &err), 0);
    assert_string_equal(screen_list_set_version(set, 0)->date, "2025-12-15");
    assert_string_equal(screen_list_set_version(set, 0)->date_source, "given");
    screen_list_set_free(set);
}

static void test_ofac_cons_malformed(void **state)
{
    (void)state;
    char dir[] = "/tmp/screen-cons-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[600];
    static const char *const files[][2] = {
        {"cons_prim.csv", "9639,\"HANIYA, Ismail\",\"individual\",\"NS-PLC\",-0- ,-0- ,-0- ,-0- "
                          ",-0- ,-0- ,-0- ,\"DOB 1962.\"\r\n9640,\"ABU TEIR"},
        {"cons_alt.csv", ""},
        {"cons_add.csv", ""},
    };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        FILE *f = fopen(path, "w");
        fputs(files[i][1], f);
        fclose(f);
    }
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err = {0};
    assert_int_equal(screen_list_set_load_path(set, dir, &err), CAPP_EPARSE);
    assert_non_null(strstr(err.message, "cons_prim.csv line 2"));
    assert_non_null(strstr(err.message, dir));
    assert_int_equal(screen_list_set_count(set), 0); /* all or nothing */
    /* an alt row for an entry the primary file lacks */
    snprintf(path, sizeof path, "%s/cons_prim.csv", dir);
    FILE *f = fopen(path, "w");
    fputs("9639,\"HANIYA, Ismail\",\"individual\",\"NS-PLC\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- "
          ",-0- \r\n",
          f);
    fclose(f);
    snprintf(path, sizeof path, "%s/cons_alt.csv", dir);
    f = fopen(path, "w");
    fputs("9639,1,\"aka\",\"HANIYA, I.\",-0- \r\n77,2,\"aka\",\"X\",-0- \r\n", f);
    fclose(f);
    assert_int_equal(screen_list_set_load_path(set, dir, &err), CAPP_EPARSE);
    assert_non_null(strstr(err.message, "cons_alt.csv line 2: ent_num 77 is not in cons_prim.csv"));
    screen_list_set_free(set);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---------------------------------------------------------------- OpenSanctions */

static void test_real_senzing(void **state)
{
    (void)state;
    char p[1024];
    if (!shared_data("opensanctions-us-congress-2026-01/us_congress_senzing.json", p, sizeof p))
        skip();
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err = {0};
    int rc = screen_list_set_load_path(set, p, &err);
    if (rc)
        fail_msg("%s", err.message);
    /* 1,319 records, two of them positions ("United States senator") that nobody is */
    assert_int_equal(screen_list_set_count(set), 1317);
    const struct screen_entry *e = find(set, "os:Q101198561");
    assert_string_equal(e->name, "Scott Franklin");
    assert_int_equal(e->type, SCREEN_TYPE_INDIVIDUAL);
    assert_true(e->n_aliases == 1 && strcmp(e->aliases[0].name, "C. Scott Franklin") == 0);
    assert_true(e->n_dobs == 1 && e->dobs[0].year == 1964 && e->dobs[0].month == 0);
    assert_true(e->n_nationalities == 1 && strcmp(e->nationalities[0], "us") == 0);
    assert_true(has_topic(e, "role.pep") && e->n_topics == 1);
    assert_string_equal(e->source, "opensanctions-us_congress");
    assert_int_equal(e->n_documents, 0); /* Wikidata and OpenSanctions ids are not documents */
    const struct screen_list_version *v = screen_list_set_version(set, 0);
    assert_string_equal(v->source, "opensanctions-us_congress");
    /* the newest LAST_CHANGE of the file: its own date */
    assert_string_equal(v->date_source, "content");
    assert_true(screen_list_set_count(set) > 0 && strlen(v->date) == 10 &&
                strcmp(v->date, "2024-01-01") > 0);
    screen_list_set_free(set);
}

static const char senzing_ok[] =
    "{\"DATA_SOURCE\":\"OS_TEST\",\"RECORD_ID\":\"p1\",\"RECORD_TYPE\":\"PERSON\","
    "\"LAST_CHANGE\":\"2025-11-02T10:00:00\",\"NAMES\":[{\"NAME_TYPE\":\"PRIMARY\","
    "\"NAME_FULL\":\"Maria Example Politica\"},{\"NAME_TYPE\":\"ALIAS\",\"NAME_FULL\":\"Maria "
    "Politica\"}],\"GENDER\":\"F\",\"RISKS\":[{\"TOPIC\":\"role.pep\"}],\"DATES\":[{"
    "\"DATE_OF_BIRTH\":\"1970-05-01\"}],\"COUNTRIES\":[{\"NATIONALITY\":\"es\"}],"
    "\"ADDRESSES\":[{\"PLACE_OF_BIRTH\":\"Sevilla, Spain\"}],\"IDENTIFIERS\":[{"
    "\"PASSPORT_NUMBER\":\"AB123456\",\"PASSPORT_COUNTRY\":\"es\"},{\"OTHER_ID_TYPE\":"
    "\"OPEN_SANCTIONS\",\"OTHER_ID_NUMBER\":\"p1\"}]}\n"
    "\n"
    "{\"DATA_SOURCE\":\"OS_TEST\",\"RECORD_ID\":\"o1\",\"RECORD_TYPE\":\"ORGANIZATION\","
    "\"LAST_CHANGE\":\"2025-12-24T00:00:00\",\"NAMES\":[{\"NAME_TYPE\":\"PRIMARY\","
    "\"NAME_ORG\":\"Example Sanctioned Trading LLC\"}],\"RISKS\":[{\"TOPIC\":\"sanction\"}],"
    "\"COUNTRIES\":[{\"REGISTRATION_COUNTRY\":\"ae\"}]}\r\n"
    "{\"DATA_SOURCE\":\"OS_TEST\",\"RECORD_ID\":\"x1\",\"RECORD_TYPE\":null,"
    "\"NAMES\":[{\"NAME_TYPE\":\"PRIMARY\",\"NAME_FULL\":\"Member of Parliament\"}]}\n";

static void test_senzing_inline(void **state)
{
    (void)state;
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err = {0};
    assert_int_equal(
        screen_list_set_load_senzing_buffer(set, senzing_ok, sizeof senzing_ok - 1, "t.json", &err),
        0);
    assert_int_equal(screen_list_set_count(set), 2);
    const struct screen_entry *p = find(set, "os:p1");
    assert_int_equal(p->gender, SCREEN_GENDER_FEMALE);
    assert_true(p->n_dobs == 1 && p->dobs[0].day == 1);
    assert_true(p->n_places_of_birth == 1 && p->n_nationalities == 1);
    assert_int_equal(p->n_documents, 1);
    assert_int_equal(p->documents[0].kind, SCREEN_DOC_PASSPORT);
    assert_string_equal(p->documents[0].number, "AB123456");
    assert_int_equal(screen_entry_reason(p), SCREEN_REASON_PEP);
    const struct screen_entry *o = find(set, "os:o1");
    assert_int_equal(o->type, SCREEN_TYPE_ORGANIZATION);
    assert_int_equal(screen_entry_reason(o), SCREEN_REASON_SANCTIONS);
    assert_true(o->n_countries == 1);
    assert_string_equal(screen_list_set_version(set, 0)->date, "2025-12-24");
    assert_string_equal(screen_list_set_version(set, 0)->source, "opensanctions-test");
    screen_list_set_free(set);
}

static void test_senzing_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text, *message;
    } cases[] = {
        {"{\"RECORD_ID\":\"a\",\"RECORD_TYPE\":\"PERSON\",\"NAMES\":[{\"NAME_FULL\":\"A B\"}]}\n"
         "{\"RECORD_ID\":\"b\",\"RECORD_TYPE\":\"PERSON\",\"NAMES\":[{\"NAME_FU",
         "x.json line 2: invalid JSON"},
        {"[1,2]\n", "x.json line 1: a record must be a JSON object"},
        {"{\"RECORD_ID\":\"a\",\"RECORD_TYPE\":\"PERSON\",\"NAMES\":{\"NAME_FULL\":\"A\"}}\n",
         "x.json line 1: field \"NAMES\" must be an array"},
        {"{\"RECORD_ID\":\"a\",\"RECORD_TYPE\":\"PERSON\",\"NAMES\":[\"A\"]}\n",
         "x.json line 1: field \"NAMES\" item 1 must be an object"},
        {"{\"RECORD_ID\":\"a\",\"RECORD_TYPE\":\"PERSON\",\"NAMES\":[{\"NAME_FULL\":7}]}\n",
         "x.json line 1: field \"NAME_FULL\" must be a string"},
        {"\n\n{\"RECORD_ID\":\"a\",\"RECORD_TYPE\":\"PERSON\",\"NAMES\":[]}\n",
         "x.json line 3: record a has no name"},
        {"{\"RECORD_TYPE\":\"PERSON\",\"NAMES\":[{\"NAME_FULL\":\"A B\"}]}\n",
         "x.json line 1: record without RECORD_ID"},
        {"{\"RECORD_ID\":\"a\",\"RECORD_ID\":\"b\"}\n", "x.json line 1: invalid JSON"},
        {"{\"RECORD_ID\":\"a\",\"RECORD_TYPE\":\"PERSON\",\"NAMES\":[{\"NAME_FULL\":\"A\"}],"
         "\"RISKS\":[{\"TOPIC\":[\"x\"]}]}\n",
         "x.json line 1: field \"TOPIC\" must be a string"},
        {"{\"RECORD_ID\":\"x\",\"RECORD_TYPE\":null}\n", "x.json: no person"},
        {"", "x.json: no person"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct screen_list_set *set = screen_list_set_new();
        struct screen_error err = {0};
        int rc = screen_list_set_load_senzing_buffer(set, cases[i].text, strlen(cases[i].text),
                                                     "x.json", &err);
        if (rc == 0 || !strstr(err.message, cases[i].message))
            fail_msg("case %zu: rc %d, \"%s\" (wanted \"%s\")", i, rc, err.message,
                     cases[i].message);
        assert_int_equal(screen_list_set_count(set), 0); /* all or nothing */
        screen_list_set_free(set);
    }
    /* a record over the line limit */
    size_t n = SCREEN_MAX_JSON_LINE_BYTES + 64;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "{\"RECORD_ID\":\"", 14);
    big[n - 2] = '}';
    big[n - 1] = '\n';
    big[n] = '\0';
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err = {0};
    assert_int_equal(screen_list_set_load_senzing_buffer(set, big, n, "x.json", &err),
                     CAPP_ETOOBIG);
    assert_non_null(strstr(err.message, "x.json line 1"));
    screen_list_set_free(set);
    free(big);
}

static void test_pep_match_is_review(void **state)
{
    (void)state;
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err = {0};
    assert_int_equal(
        screen_list_set_load_senzing_buffer(set, senzing_ok, sizeof senzing_ok - 1, "t.json", &err),
        0);
    struct screen_index *idx;
    assert_int_equal(screen_index_build(set, &idx), 0);
    struct screen_engine *eng;
    assert_int_equal(screen_engine_new(NULL, &eng), 0);
    assert_int_equal(screen_engine_swap(eng, idx), 0);
    /* an exact PEP name and date: score 1.0, never a sanctions hit */
    struct screen_query q = {.name = "Maria Example Politica", .dob = "1970-05-01"};
    struct screen_result r;
    assert_int_equal(screen_query(eng, &q, NULL, &r), 0);
    assert_int_equal(r.n_matches, 1);
    assert_true(r.matches[0].score == 1.0f);
    assert_int_equal(r.matches[0].band, SCREEN_BAND_REVIEW);
    assert_int_equal(r.band, SCREEN_BAND_REVIEW);
    assert_int_equal(r.matches[0].reason, SCREEN_REASON_PEP);
    json_t *j = screen_result_to_json(&r, &q);
    json_t *m0 = json_array_get(json_object_get(j, "matches"), 0);
    assert_string_equal(json_string_value(json_object_get(m0, "reason")), "pep_match");
    assert_string_equal(json_string_value(json_object_get(m0, "band")), "needs_review");
    json_decref(j);
    screen_result_release(&r);
    /* a sanctioned organisation is a hit */
    struct screen_query o = {.name = "Example Sanctioned Trading LLC", .type = SCREEN_TYPE_ANY};
    assert_int_equal(screen_query(eng, &o, NULL, &r), 0);
    assert_int_equal(r.band, SCREEN_BAND_HIT);
    assert_int_equal(r.matches[0].reason, SCREEN_REASON_SANCTIONS);
    screen_result_release(&r);
    /* topic selection: sanctions only leaves the PEP out */
    const char *sanction[] = {"sanction"};
    q.topics = sanction;
    q.n_topics = 1;
    assert_int_equal(screen_query(eng, &q, NULL, &r), 0);
    assert_int_equal(r.n_matches, 0);
    screen_result_release(&r);
    screen_engine_free(eng);
}

/* ---------------------------------------------------------------- the fetch table */

static void test_fetch_sources(void **state)
{
    (void)state;
    size_t n;
    const struct screen_list_source *all = screen_list_sources(&n);
    assert_true(n >= 6);
    for (size_t i = 0; i < n; i++) /* each name once */
        assert_ptr_equal(screen_list_source_find(all[i].name), &all[i]);
    static const struct {
        const char *name, *url0, *path;
        int by_default;
    } want[] = {
        {"ofac-sdn",
         "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.CSV",
         "/l/ofac", 1},
        {"ofac-cons",
         "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/"
         "CONS_PRIM.CSV",
         "/l/ofac-cons", 1},
        {"un-consolidated", "https://scsanctions.un.org/resources/xml/en/consolidated.xml",
         "/l/un/consolidated.xml", 1},
        {"opensanctions-sanctions",
         "https://data.opensanctions.org/datasets/latest/sanctions/senzing.json",
         "/l/opensanctions/sanctions.senzing.json", 0},
        {"opensanctions-peps", "https://data.opensanctions.org/datasets/latest/peps/senzing.json",
         "/l/opensanctions/peps.senzing.json", 0},
        {"opensanctions-default",
         "https://data.opensanctions.org/datasets/latest/default/senzing.json",
         "/l/opensanctions/default.senzing.json", 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct screen_list_source *s = screen_list_source_find(want[i].name);
        assert_non_null(s);
        char url[512], path[512];
        assert_int_equal(screen_list_source_url(s, 0, NULL, url, sizeof url), 0);
        assert_string_equal(url, want[i].url0);
        assert_int_equal(screen_list_source_path(s, "/l", path, sizeof path), 0);
        assert_string_equal(path, want[i].path);
        assert_int_equal(s->fetched_by_default, want[i].by_default);
        for (unsigned f = 0; f < s->n_files; f++) {
            assert_int_equal(screen_list_source_url(s, f, NULL, url, sizeof url), 0);
            assert_int_equal(strncmp(url, "https://", 8), 0);
        }
    }
    /* the local names are those the loader reads: the Consolidated set, by name */
    const struct screen_list_source *cons = screen_list_source_find("ofac-cons");
    assert_int_equal(cons->n_files, 4);
    assert_string_equal(cons->local[0], "cons_prim.csv");
    assert_string_equal(cons->local[3], "cons_comments.csv");
    assert_string_equal(cons->remote[2], "CONS_ADD.CSV");
    /* overrides replace the base (tests use file:// publishers) */
    struct screen_fetch_options o = {0};
    o.ofac_base_url = "file:///srv/";
    o.opensanctions_base_url = "file:///os/";
    char url[512];
    assert_int_equal(screen_list_source_url(cons, 1, &o, url, sizeof url), 0);
    assert_string_equal(url, "file:///srv/CONS_ALT.CSV");
    assert_int_equal(
        screen_list_source_url(screen_list_source_find("opensanctions-peps"), 0, &o, url, 32), 0);
    assert_string_equal(url, "file:///os/peps/senzing.json");
    assert_int_equal(screen_list_source_url(cons, 1, &o, url, 8), CAPP_ETOOBIG);
    assert_null(screen_list_source_find("nope"));
    struct screen_error err = {0};
    const char *bad[] = {"nope"};
    o.dir = "/tmp";
    o.sources = bad;
    o.n_sources = 1;
    assert_int_equal(screen_lists_fetch(&o, &err), CAPP_EINVAL);
    assert_non_null(strstr(err.message, "unknown list source \"nope\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_ofac_cons),    cmocka_unit_test(test_ofac_cons_malformed),
        cmocka_unit_test(test_real_senzing),      cmocka_unit_test(test_senzing_inline),
        cmocka_unit_test(test_senzing_malformed), cmocka_unit_test(test_pep_match_is_review),
        cmocka_unit_test(test_fetch_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
