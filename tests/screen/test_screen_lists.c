/*
 * test_screen_lists.c — the OFAC CSV, OFAC remarks and UN XML loaders, against fixture files
 * covering every documented quirk, and against the real shared files when present (every
 * record parsed: 8,976 OFAC SDN rows, 1,003 UN records).
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

static int has_alias(const struct screen_entry *e, const char *name, enum screen_name_kind kind)
{
    for (unsigned i = 0; i < e->n_aliases; i++)
        if (strcmp(e->aliases[i].name, name) == 0 && e->aliases[i].kind == kind)
            return 1;
    return 0;
}

static void test_ofac_fixture(void **state)
{
    (void)state;
    char dir[512];
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err = {0};
    int rc = screen_list_set_load_ofac(set, fixture("ofac", dir, sizeof dir), &err);
    if (rc)
        fail_msg("%s", err.message);
    assert_int_equal(screen_list_set_count(set), 11);
    const struct screen_list_version *v = screen_list_set_version(set, 0);
    assert_string_equal(v->source, "ofac-sdn");
    assert_int_equal(strlen(v->sha256), 64);
    assert_int_equal(v->records, 11);

    /* -0- nulls are absent fields; entities have type -0- */
    const struct screen_entry *e = find(set, "ofac:36");
    assert_string_equal(e->name, "AEROCARIBBEAN AIRLINES");
    assert_int_equal(e->type, SCREEN_TYPE_ORGANIZATION);
    assert_null(e->remarks);
    assert_true(has_alias(e, "AERO-CARIBBEAN", SCREEN_NAME_ALIAS));
    assert_int_equal(e->n_countries, 1);
    assert_string_equal(e->countries[0], "Cuba");

    /* remarks a.k.a. is a weak alias; trailing period dropped */
    e = find(set, "ofac:306");
    assert_true(has_alias(e, "BNC", SCREEN_NAME_ALIAS_WEAK));
    assert_true(has_alias(e, "NATIONAL BANK OF CUBA", SCREEN_NAME_ALIAS));

    /* DOB, POB, passports with and without country, nationality, gender */
    e = find(set, "ofac:2676");
    assert_int_equal(e->type, SCREEN_TYPE_INDIVIDUAL);
    assert_int_equal(e->n_dobs, 1);
    assert_int_equal(e->dobs[0].year, 1951);
    assert_int_equal(e->dobs[0].month, 6);
    assert_int_equal(e->dobs[0].day, 19);
    assert_string_equal(e->places_of_birth[0], "Giza, Egypt");
    assert_int_equal(e->n_documents, 2);
    assert_int_equal(e->documents[0].kind, SCREEN_DOC_PASSPORT);
    assert_string_equal(e->documents[0].number, "1084010");
    assert_string_equal(e->documents[0].country, "Egypt");
    assert_string_equal(e->documents[1].number, "19820215");
    assert_null(e->documents[1].country);
    assert_string_equal(e->nationalities[0], "Egypt");
    assert_int_equal(e->gender, SCREEN_GENDER_MALE);
    assert_true(has_alias(e, "AL-ZAWAHIRI, Ayman", SCREEN_NAME_ALIAS));

    /* every DOB form; bracket-joined programs; citizen; national ID */
    e = find(set, "ofac:4001");
    assert_int_equal(e->n_programs, 2);
    assert_string_equal(e->programs[0], "SDGT");
    assert_string_equal(e->programs[1], "IFSR");
    assert_int_equal(e->n_dobs, 5);
    assert_true(e->dobs[0].circa && e->dobs[0].year == 1960);
    assert_true(e->dobs[1].year == 1951 && e->dobs[1].year_to == 1953);
    assert_true(e->dobs[2].year == 1961 && e->dobs[2].month == 1 && e->dobs[2].day == 1 &&
                e->dobs[2].year_to == 1962 && e->dobs[2].month_to == 12 && e->dobs[2].day_to == 31);
    assert_true(e->dobs[3].year == 1938 && e->dobs[3].month == 9 && e->dobs[3].day == 0);
    assert_true(e->dobs[4].circa && e->dobs[4].year == 1979 && e->dobs[4].year_to == 1982);
    assert_string_equal(e->nationalities[0], "Germany");
    assert_int_equal(e->documents[0].kind, SCREEN_DOC_NATIONAL_ID);
    assert_string_equal(e->documents[0].number, "1234567890");

    e = find(set, "ofac:4002");
    assert_int_equal(e->gender, SCREEN_GENDER_FEMALE);
    assert_int_equal(e->documents[0].kind, SCREEN_DOC_TAX_ID);
    assert_true(has_alias(e, "PETROVA, Olya", SCREEN_NAME_ALIAS_WEAK));

    /* vessel: IMO number, former name from alt.csv fka */
    e = find(set, "ofac:4003");
    assert_int_equal(e->type, SCREEN_TYPE_VESSEL);
    assert_int_equal(e->documents[0].kind, SCREEN_DOC_VESSEL_IMO);
    assert_string_equal(e->documents[0].number, "9187629");
    assert_true(has_alias(e, "SEA PEARL", SCREEN_NAME_FORMER));

    /* crypto address: the coin is part of the type */
    e = find(set, "ofac:4004");
    assert_int_equal(e->documents[0].kind, SCREEN_DOC_CRYPTO);
    assert_string_equal(e->documents[0].type, "Digital Currency Address - XBT");
    assert_string_equal(e->documents[0].number, "1AbCdEfGh123456789");

    /* remarks cut at 1,000 characters continue in sdn_comments.csv, joined mid-word */
    e = find(set, "ofac:12300");
    assert_non_null(strstr(e->remarks, "COMPANIA NUMERO 24 S.A.S."));
    assert_true(has_alias(e, "EL PROMOTOR", SCREEN_NAME_ALIAS_WEAK));
    int passport = 0;
    for (unsigned i = 0; i < e->n_documents; i++)
        passport |= strcmp(e->documents[i].number, "AB998877") == 0;
    assert_true(passport);
    assert_int_equal(e->gender, SCREEN_GENDER_MALE);
    screen_list_set_free(set);
}

struct ofac_bufs {
    char *sdn, *alt, *add, *com;
    size_t sdn_len, alt_len, add_len, com_len;
};

static void read_fixture_bufs(struct ofac_bufs *b)
{
    char p[512];
    b->sdn = read_all(fixture("ofac/sdn.csv", p, sizeof p), &b->sdn_len);
    b->alt = read_all(fixture("ofac/alt.csv", p, sizeof p), &b->alt_len);
    b->add = read_all(fixture("ofac/add.csv", p, sizeof p), &b->add_len);
    b->com = read_all(fixture("ofac/sdn_comments.csv", p, sizeof p), &b->com_len);
    assert_non_null(b->sdn);
    assert_non_null(b->com);
}

static void free_bufs(struct ofac_bufs *b)
{
    free(b->sdn);
    free(b->alt);
    free(b->add);
    free(b->com);
}

static int load_bufs(const struct ofac_bufs *b, size_t sdn_len, struct screen_error *err)
{
    struct screen_list_set *set = screen_list_set_new();
    int rc = screen_list_set_load_ofac_buffers(set, b->sdn, sdn_len, b->alt, b->alt_len, b->add,
                                               b->add_len, b->com, b->com_len, err);
    if (rc)
        assert_int_equal(screen_list_set_count(set), 0); /* all or nothing */
    screen_list_set_free(set);
    return rc;
}

static void test_ofac_truncated(void **state)
{
    (void)state;
    struct ofac_bufs b;
    read_fixture_bufs(&b);
    struct screen_error err = {0};
    /* cut in the middle of a quoted field */
    const char *cut = strstr(b.sdn, "\"ANGLO-CARIBBEAN") + 5;
    assert_int_equal(load_bufs(&b, (size_t)(cut - b.sdn), &err), CAPP_EPARSE);
    assert_non_null(strstr(err.message, "sdn.csv line 2"));
    assert_non_null(strstr(err.message, "unterminated"));
    /* cut after a complete field but before the line end */
    cut = strstr(b.sdn, "\"CUBA\"") + 6;
    assert_int_equal(load_bufs(&b, (size_t)(cut - b.sdn), &err), CAPP_EPARSE);
    assert_non_null(strstr(err.message, "line 1"));
    /* cut at a line boundary: alt.csv now points at entries sdn.csv lacks */
    cut = strstr(b.sdn, "306,");
    assert_int_equal(load_bufs(&b, (size_t)(cut - b.sdn), &err), CAPP_EPARSE);
    assert_non_null(strstr(err.message, "alt.csv line 3: ent_num 306 is not in sdn.csv"));
    /* empty file */
    assert_int_equal(load_bufs(&b, 0, &err), CAPP_EPARSE);
    assert_non_null(strstr(err.message, "no records"));
    free_bufs(&b);
}

static void test_ofac_malformed(void **state)
{
    (void)state;
    struct ofac_bufs b;
    read_fixture_bufs(&b);
    struct screen_error err = {0};
    struct screen_list_set *set = screen_list_set_new();
    const char *bad_fields = "36,\"X\",-0- ,\"CUBA\"\r\n";
    assert_int_equal(screen_list_set_load_ofac_buffers(set, bad_fields, strlen(bad_fields), b.alt,
                                                       0, b.add, 0, NULL, 0, &err),
                     CAPP_EPARSE);
    assert_non_null(strstr(err.message, "sdn.csv line 1: expected 12 fields, found 4"));
    const char *bad_num = "3x6,\"X\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n";
    assert_int_equal(screen_list_set_load_ofac_buffers(set, bad_num, strlen(bad_num), b.alt, 0,
                                                       b.add, 0, NULL, 0, &err),
                     CAPP_EPARSE);
    assert_non_null(strstr(err.message, "ent_num \"3x6\" is not a number"));
    const char *dup = "1,\"X\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n"
                      "1,\"Y\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n";
    assert_int_equal(
        screen_list_set_load_ofac_buffers(set, dup, strlen(dup), b.alt, 0, b.add, 0, NULL, 0, &err),
        CAPP_EPARSE);
    assert_non_null(strstr(err.message, "ent_num 1 appears twice"));
    /* LF-only line ends and no 0x1A are accepted too */
    const char *lf = "1,\"X\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n";
    assert_int_equal(
        screen_list_set_load_ofac_buffers(set, lf, strlen(lf), "", 0, "", 0, NULL, 0, &err), 0);
    assert_int_equal(screen_list_set_count(set), 1);
    screen_list_set_free(set);
    /* a missing file is named */
    set = screen_list_set_new();
    assert_int_equal(screen_list_set_load_ofac(set, "/nonexistent-dir", &err), CAPP_EIO);
    assert_non_null(strstr(err.message, "/nonexistent-dir/sdn.csv"));
    screen_list_set_free(set);
    free_bufs(&b);
}

static void test_remarks(void **state)
{
    (void)state;
    struct screen_list_set *set = screen_list_set_new();
    struct screen_entry e = {0};
    struct screen_error err = {0};
    const char *r = "DOB circa 07 Jul 1966; alt. DOB Mar 1962 to Feb 1963; DOB garbage; "
                    "POB Tehran, Iran; alt. nationality Iran; citizen Iraq; Gender Female; "
                    "f.k.a. 'O'REILLY TRADING'; n.k.a. 'NEW NAME'; "
                    "C.U.R.P. ABCD123456HDFRRN09 (Mexico); R.F.C. ABC123456 (Mexico); "
                    "NIT # 900123456-7 (Colombia); RUC # 20123456789 (Peru); "
                    "Identification Number 12345 (Spain) expires 2020; SWIFT/BIC BKMTIRTH; "
                    "Registration ID 998877 (Iran); Linked To: SOMEONE; "
                    "Additional Sanctions Information - Subject to Secondary Sanctions.";
    assert_int_equal(screen_remarks_parse(set, r, strlen(r), &e, &err), 0);
    assert_int_equal(e.n_dobs, 2);
    assert_true(e.dobs[0].circa && e.dobs[0].day == 7 && e.dobs[0].month == 7);
    assert_true(e.dobs[1].year == 1962 && e.dobs[1].month == 3 && e.dobs[1].year_to == 1963 &&
                e.dobs[1].month_to == 2);
    assert_string_equal(e.places_of_birth[0], "Tehran, Iran");
    assert_int_equal(e.n_nationalities, 2);
    assert_int_equal(e.gender, SCREEN_GENDER_FEMALE);
    assert_int_equal(e.n_aliases, 2);
    assert_string_equal(e.aliases[0].name, "O'REILLY TRADING");
    assert_int_equal(e.aliases[0].kind, SCREEN_NAME_FORMER);
    assert_int_equal(e.n_documents, 7);
    assert_int_equal(e.documents[0].kind, SCREEN_DOC_NATIONAL_ID);
    assert_string_equal(e.documents[0].number, "ABCD123456HDFRRN09");
    assert_int_equal(e.documents[1].kind, SCREEN_DOC_TAX_ID);
    assert_string_equal(e.documents[2].number, "900123456-7");
    assert_string_equal(e.documents[4].country, "Spain");
    assert_int_equal(e.documents[5].kind, SCREEN_DOC_SWIFT);
    assert_int_equal(e.documents[6].kind, SCREEN_DOC_REGISTRATION);
    /* empty and odd input */
    struct screen_entry e2 = {0};
    assert_int_equal(screen_remarks_parse(set, "", 0, &e2, &err), 0);
    assert_int_equal(screen_remarks_parse(set, ";;; .", 5, &e2, &err), 0);
    assert_int_equal(screen_remarks_parse(set, "a.k.a. '", 8, &e2, &err), 0);
    screen_list_set_free(set);
}

static void test_un_fixture(void **state)
{
    (void)state;
    char p[512];
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err = {0};
    int rc = screen_list_set_load_un(set, fixture("un.xml", p, sizeof p), &err);
    if (rc)
        fail_msg("%s", err.message);
    assert_int_equal(screen_list_set_count(set), 5);
    const struct screen_list_version *v = screen_list_set_version(set, 0);
    assert_string_equal(v->source, "un-consolidated");
    assert_string_equal(v->date, "2026-02-27");
    const struct screen_entry *e = find(set, "un:IQi.001");
    assert_string_equal(e->name, "SADDAM HUSSEIN AL-TIKRITI");
    assert_int_equal(e->gender, SCREEN_GENDER_MALE);
    assert_true(has_alias(e, "صدام حسين التكريتي", SCREEN_NAME_ORIGINAL_SCRIPT));
    assert_true(has_alias(e, "Abu Ali", SCREEN_NAME_ALIAS));
    assert_true(has_alias(e, "Abu Uday", SCREEN_NAME_ALIAS_WEAK)); /* line break collapsed */
    assert_true(has_alias(e, "Saddam Hussein", SCREEN_NAME_ALIAS));
    assert_true(has_alias(e, "Saddam Takriti", SCREEN_NAME_FORMER));
    assert_int_equal(e->n_aliases, 5); /* the empty placeholder alias is skipped */
    assert_non_null(strstr(e->remarks, "multi-line comment with a quote\xe2\x80\x99s mark."));
    assert_int_equal(e->dobs[0].year, 1937);
    assert_int_equal(e->dobs[0].day, 28);
    assert_string_equal(e->places_of_birth[0], "al-Awja, near Tikrit, Iraq");
    assert_int_equal(e->n_documents, 0);
    assert_string_equal(e->programs[0], "Iraq");

    e = find(set, "un:KPi.999");
    assert_int_equal(e->n_dobs, 2);
    assert_true(e->dobs[0].circa && e->dobs[0].year == 1965);
    assert_true(e->dobs[1].year == 1960 && e->dobs[1].year_to == 1962);
    assert_int_equal(e->n_documents, 2);
    assert_int_equal(e->documents[0].kind, SCREEN_DOC_PASSPORT); /* "Numéro de passeport" */
    assert_string_equal(e->documents[0].number, "PX 445566");
    assert_int_equal(e->documents[1].kind, SCREEN_DOC_NATIONAL_ID);

    e = find(set, "un:QDe.005");
    assert_int_equal(e->type, SCREEN_TYPE_ORGANIZATION);
    assert_string_equal(e->countries[0], "Pakistan");
    assert_true(has_alias(e, "Al-Amin Welfare Trust", SCREEN_NAME_ALIAS_WEAK));
    screen_list_set_free(set);
}

static void test_un_malformed(void **state)
{
    (void)state;
    char p[512];
    size_t len = 0;
    char *xml = read_all(fixture("un.xml", p, sizeof p), &len);
    assert_non_null(xml);
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err = {0};
    /* truncated download */
    assert_int_equal(screen_list_set_load_un_buffer(set, xml, len / 2, &err), CAPP_EPARSE);
    assert_non_null(strstr(err.message, "consolidated.xml line"));
    assert_int_equal(screen_list_set_count(set), 0);
    /* not the UN list */
    const char *other = "<?xml version=\"1.0\"?><sdnList/>";
    assert_int_equal(screen_list_set_load_un_buffer(set, other, strlen(other), &err), CAPP_EPARSE);
    assert_non_null(strstr(err.message, "<sdnList>"));
    /* a record without a name */
    const char *noname = "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><REFERENCE_NUMBER>X.1"
                         "</REFERENCE_NUMBER></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>";
    assert_int_equal(screen_list_set_load_un_buffer(set, noname, strlen(noname), &err),
                     CAPP_EPARSE);
    assert_non_null(strstr(err.message, "INDIVIDUAL X.1 has no name"));
    /* external entities are not fetched or expanded */
    const char *xxe =
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        "<CONSOLIDATED_LIST><ENTITIES><ENTITY><FIRST_NAME>&x;</FIRST_NAME>"
        "</ENTITY></ENTITIES></CONSOLIDATED_LIST>";
    int rc = screen_list_set_load_un_buffer(set, xxe, strlen(xxe), &err);
    if (rc == 0)
        assert_null(strstr(screen_list_set_entry(set, 0)->name, "root:"));
    screen_list_set_free(set);
    free(xml);
}

static void test_real_ofac(void **state)
{
    (void)state;
    char p[1024];
    if (!shared_data("ofac-2021", p, sizeof p))
        skip();
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err = {0};
    int rc = screen_list_set_load_ofac(set, p, &err);
    if (rc)
        fail_msg("%s", err.message);
    assert_int_equal(screen_list_set_count(set), 8976);
    unsigned types[SCREEN_TYPE_COUNT] = {0}, strong = 0, with_dob = 0;
    for (size_t i = 0; i < screen_list_set_count(set); i++) {
        const struct screen_entry *e = screen_list_set_entry(set, i);
        types[e->type]++;
        with_dob += e->n_dobs > 0;
        for (unsigned a = 0; a < e->n_aliases; a++)
            strong +=
                e->aliases[a].kind == SCREEN_NAME_ALIAS || e->aliases[a].kind == SCREEN_NAME_FORMER;
    }
    assert_int_equal(types[SCREEN_TYPE_INDIVIDUAL], 4620);
    assert_int_equal(types[SCREEN_TYPE_VESSEL], 406);
    assert_int_equal(types[SCREEN_TYPE_AIRCRAFT], 277);
    assert_int_equal(types[SCREEN_TYPE_ORGANIZATION], 3673);
    assert_true(strong >= 11800); /* 11,910 alt.csv rows less same-entry duplicates */
    assert_true(with_dob > 4000);
    const struct screen_entry *e = find(set, "ofac:12300");
    assert_non_null(e->remarks);
    assert_true(strlen(e->remarks) > 1000); /* joined with sdn_comments.csv */
    screen_list_set_free(set);
}

static void test_real_un(void **state)
{
    (void)state;
    char p[1024];
    if (!shared_data("un-2026-02-27/consolidated.xml", p, sizeof p))
        skip();
    struct screen_list_set *set = screen_list_set_new();
    struct screen_error err = {0};
    int rc = screen_list_set_load_un(set, p, &err);
    if (rc)
        fail_msg("%s", err.message);
    assert_int_equal(screen_list_set_count(set), 1003);
    unsigned ind = 0, orig = 0, gender = 0, aliases = 0;
    for (size_t i = 0; i < screen_list_set_count(set); i++) {
        const struct screen_entry *e = screen_list_set_entry(set, i);
        ind += e->type == SCREEN_TYPE_INDIVIDUAL;
        gender += e->gender != SCREEN_GENDER_UNKNOWN;
        for (unsigned a = 0; a < e->n_aliases; a++) {
            orig += e->aliases[a].kind == SCREEN_NAME_ORIGINAL_SCRIPT;
            aliases += e->aliases[a].kind != SCREEN_NAME_ORIGINAL_SCRIPT;
        }
    }
    assert_int_equal(ind, 730);
    assert_int_equal(orig, 378);
    assert_int_equal(gender, 54);
    assert_true(aliases >= 2700); /* 2,752 non-empty, a few repeat within an entry */
    assert_string_equal(screen_list_set_version(set, 0)->date, "2026-02-27");
    screen_list_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ofac_fixture),   cmocka_unit_test(test_ofac_truncated),
        cmocka_unit_test(test_ofac_malformed), cmocka_unit_test(test_remarks),
        cmocka_unit_test(test_un_fixture),     cmocka_unit_test(test_un_malformed),
        cmocka_unit_test(test_real_ofac),      cmocka_unit_test(test_real_un),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
