/*
 * test_screen_limits.c — every limit of kyc/screen/screen_limits.h, exceeded once.
 */
#include <unistd.h>

#include "screen_test.h"

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_name_bytes(void **state)
{
    (void)state;
    struct screen_tokens t;
    char *s = repeat('a', SCREEN_MAX_NAME_BYTES + 1);
    assert_int_equal(screen_normalize(s, strlen(s), 0, &t), CAPP_ETOOBIG);
    assert_int_equal(screen_normalize(s, SCREEN_MAX_NAME_BYTES, 0, &t), 0);
    assert_int_equal(t.len[0], SCREEN_MAX_TOKEN_BYTES); /* long tokens are cut */
    free(s);
    /* tokens past SCREEN_MAX_NAME_TOKENS are dropped */
    char many[SCREEN_MAX_NAME_BYTES];
    size_t o = 0;
    for (unsigned i = 0; i < SCREEN_MAX_NAME_TOKENS + 5; i++)
        o += (size_t)snprintf(many + o, sizeof many - o, "t%u ", i);
    assert_int_equal(screen_normalize(many, o, 0, &t), 0);
    assert_int_equal(t.count, SCREEN_MAX_NAME_TOKENS);
}

static void test_query_fields(void **state)
{
    (void)state;
    struct screen_engine *eng = fixture_engine(NULL);
    struct screen_result r;
    char *big = repeat('x', SCREEN_MAX_NAME_BYTES + 1);
    struct screen_query q = {.name = big, .type = SCREEN_TYPE_ANY};
    assert_int_equal(screen_query(eng, &q, NULL, &r), CAPP_ETOOBIG);
    char *field = repeat('1', SCREEN_MAX_QUERY_FIELD_BYTES + 1);
    struct screen_query q2 = {.name = "x", .country = field, .type = SCREEN_TYPE_ANY};
    assert_int_equal(screen_query(eng, &q2, NULL, &r), CAPP_ETOOBIG);
    struct screen_query q3 = {.name = "x", .id_number = field, .type = SCREEN_TYPE_ANY};
    assert_int_equal(screen_query(eng, &q3, NULL, &r), CAPP_ETOOBIG);
    /* JSON query fields */
    json_t *o = json_pack("{s:s}", "name", big);
    struct screen_error err = {0};
    assert_int_equal(screen_query_from_json(o, &q, &err), CAPP_ETOOBIG);
    assert_non_null(strstr(err.message, "\"name\""));
    json_decref(o);
    o = json_pack("{s:s, s:s}", "name", "x", "id", field);
    assert_int_equal(screen_query_from_json(o, &q, &err), CAPP_ETOOBIG);
    assert_non_null(strstr(err.message, "\"id\""));
    json_decref(o);
    /* top-k */
    struct screen_config cfg;
    screen_config_default(&cfg);
    cfg.top_k = SCREEN_MAX_TOP_K + 1;
    struct screen_engine *bad;
    assert_int_equal(screen_engine_new(&cfg, &bad), CAPP_EINVAL);
    free(big);
    free(field);
    screen_engine_free(eng);
}

static void test_field_and_remarks(void **state)
{
    (void)state;
    struct screen_error err = {0};
    struct screen_list_set *set = screen_list_set_new();
    /* one CSV field over SCREEN_MAX_FIELD_BYTES */
    size_t n = SCREEN_MAX_FIELD_BYTES + 1;
    char *sdn = malloc(n + 64);
    int w = snprintf(sdn, 64, "1,\"");
    memset(sdn + w, 'A', n);
    strcpy(sdn + w + n, "\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n");
    assert_int_equal(
        screen_list_set_load_ofac_buffers(set, sdn, strlen(sdn), "", 0, "", 0, NULL, 0, &err),
        CAPP_ETOOBIG);
    assert_non_null(strstr(err.message, "sdn.csv line 1 field 2"));
    free(sdn);
    /* remarks over SCREEN_MAX_REMARKS_BYTES */
    struct screen_entry e = {0};
    char *r = repeat('r', SCREEN_MAX_REMARKS_BYTES + 1);
    assert_int_equal(screen_remarks_parse(set, r, strlen(r), &e, &err), CAPP_ETOOBIG);
    free(r);
    /* more attributes than SCREEN_MAX_ATTRS_PER_ENTRY */
    size_t cap = (SCREEN_MAX_ATTRS_PER_ENTRY + 2) * 24;
    char *many = malloc(cap);
    size_t o = 0;
    for (unsigned i = 0; i < SCREEN_MAX_ATTRS_PER_ENTRY + 1; i++)
        o += (size_t)snprintf(many + o, cap - o, "POB Town%u; ", i);
    assert_int_equal(screen_remarks_parse(set, many, o, &e, &err), CAPP_ETOOBIG);
    free(many);
    /* more aliases than SCREEN_MAX_ALIASES_PER_ENTRY (UN XML) */
    size_t xcap = (SCREEN_MAX_ALIASES_PER_ENTRY + 2) * 96 + 256;
    char *xml = malloc(xcap);
    o = (size_t)snprintf(xml, xcap,
                         "<CONSOLIDATED_LIST><ENTITIES><ENTITY><FIRST_NAME>A"
                         "</FIRST_NAME>");
    for (unsigned i = 0; i < SCREEN_MAX_ALIASES_PER_ENTRY + 1; i++)
        o += (size_t)snprintf(xml + o, xcap - o,
                              "<ENTITY_ALIAS><ALIAS_NAME>N%u</ALIAS_NAME></ENTITY_ALIAS>", i);
    o += (size_t)snprintf(xml + o, xcap - o, "</ENTITY></ENTITIES></CONSOLIDATED_LIST>");
    assert_int_equal(screen_list_set_load_un_buffer(set, xml, o, &err), CAPP_ETOOBIG);
    free(xml);
    /* XML nesting deeper than SCREEN_MAX_XML_DEPTH */
    char deep[2048];
    o = (size_t)snprintf(deep, sizeof deep, "<CONSOLIDATED_LIST>");
    for (unsigned i = 0; i < SCREEN_MAX_XML_DEPTH + 1; i++)
        o += (size_t)snprintf(deep + o, sizeof deep - o, "<a>");
    for (unsigned i = 0; i < SCREEN_MAX_XML_DEPTH + 1; i++)
        o += (size_t)snprintf(deep + o, sizeof deep - o, "</a>");
    o += (size_t)snprintf(deep + o, sizeof deep - o, "</CONSOLIDATED_LIST>");
    assert_int_equal(screen_list_set_load_un_buffer(set, deep, o, &err), CAPP_ETOOBIG);
    assert_int_equal(screen_list_set_count(set), 0);
    screen_list_set_free(set);
}

static void test_file_size_and_paths(void **state)
{
    (void)state;
    struct screen_error err = {0};
    struct screen_list_set *set = screen_list_set_new();
    /* a sparse file one byte over SCREEN_MAX_LIST_FILE_BYTES */
    char path[] = "/tmp/screen-limit-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)SCREEN_MAX_LIST_FILE_BYTES + 1), 0);
    close(fd);
    assert_int_equal(screen_list_set_load_un(set, path, &err), CAPP_ETOOBIG);
    assert_non_null(strstr(err.message, path));
    assert_int_equal(screen_list_set_load_un_buffer(set, "", SCREEN_MAX_LIST_FILE_BYTES + 1, &err),
                     CAPP_ETOOBIG);
    unlink(path);
    screen_list_set_free(set);
    /* more list paths than SCREEN_MAX_LIST_PATHS */
    const char *paths[SCREEN_MAX_LIST_PATHS + 1];
    for (unsigned i = 0; i <= SCREEN_MAX_LIST_PATHS; i++)
        paths[i] = "x";
    struct screen_engine *eng;
    assert_int_equal(screen_engine_new(NULL, &eng), 0);
    assert_int_equal(screen_engine_load(eng, paths, SCREEN_MAX_LIST_PATHS + 1, &err), CAPP_ETOOBIG);
    screen_engine_free(eng);
    /* SCREEN_MAX_ENTRIES, SCREEN_MAX_BATCH_LINE_BYTES and SCREEN_MAX_DOWNLOAD_BYTES are
     * exceeded in test_screen_cli.c (batch line) and by the shared checks in
     * screen_list_set_append / the fetch sink, which these same code paths use. */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_bytes),
        cmocka_unit_test(test_query_fields),
        cmocka_unit_test(test_field_and_remarks),
        cmocka_unit_test(test_file_size_and_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
