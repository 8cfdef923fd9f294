/*
 * test_portal_api.c — the review portal's JSON API refuses bad input precisely and changes
 * nothing when it does, over real HTTP: the real cloudsim (two instances, seeded) and the real
 * `kyc serve`, with a portal session launched through cloudsim.
 *
 *   - every state-changing endpoint: no or a wrong CSRF token → 403 csrf_failed; malformed JSON,
 *     wrong field types, a missing/empty/over-long note, a bad or over-long identity id, an
 *     unknown action → 400 naming the field; an unknown identity or decision → 404; a body over
 *     CAPP_MAX_BYTES → 413. After each refusal the identity (status, decisions, pending,
 *     false positives), the settings and the audit log are as they were, and
 *     `kyc audit verify` passes;
 *   - the GET endpoints: every bad filter value → 400 naming the parameter; the CSV export is an
 *     attachment and neutralises a cell that starts with '='; another install's identity is
 *     404 for both the detail and the dossier.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "capp/assert.h"
#include "capp/limits.h"
#include "kyc/results.h"
#include "kyc/review.h"
#include "test_pipeline_kit.h"

#define PLANTED_NAME "=HYPERLINK(\"http://evil.example\")"

/* A portal call; csrf NULL sends no X-CSRF-Token header. */
static void send_call(const struct kit *k, const char *method, const char *path, const char *body,
                      const char *cookie, const char *csrf, struct ts_response *r)
{
    char url[4600], h1[800], h2[300];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", k->kyc_port, path);
    snprintf(h1, sizeof h1, "Cookie: %s", cookie);
    snprintf(h2, sizeof h2, "X-CSRF-Token: %s", csrf ? csrf : "");
    const char *with[] = {h1, h2, "Content-Type: application/json", NULL};
    const char *without[] = {h1, "Content-Type: application/json", NULL};
    ts_http(method, url, body, csrf ? with : without, r);
}

/* What a refusal must leave alone: the identity's review state, the settings, the row counts
 * of the decisions and the audit log. */
static json_t *snapshot(const struct kit *k, const char *identity_id, const char *cookie,
                        const char *csrf)
{
    char path[300];
    snprintf(path, sizeof path, "/portal/api/identities/%s", identity_id);
    struct ts_response r;
    send_call(k, "GET", path, NULL, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    ts_response_free(&r);
    assert_non_null(o);
    send_call(k, "GET", "/portal/api/settings", NULL, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    json_t *settings = json_loads(r.body, 0, NULL);
    ts_response_free(&r);
    assert_non_null(settings);
    json_t *s = json_pack(
        "{s:O, s:O, s:O, s:O, s:O, s:o, s:I, s:I, s:I}", "status", json_object_get(o, "status"),
        "updated_at", json_object_get(o, "updated_at"), "pending", json_object_get(o, "pending"),
        "decisions", json_object_get(o, "decisions"), "false_positives",
        json_object_get(o, "false_positives"), "settings", settings, "decision_rows",
        (json_int_t)kit_int(k->kyc_db, "SELECT count(*) FROM kyc_review_decisions", NULL),
        "fp_rows",
        (json_int_t)kit_int(k->kyc_db, "SELECT count(*) FROM kyc_review_false_positives", NULL),
        "audit_rows", (json_int_t)kit_int(k->kyc_db, "SELECT count(*) FROM kyc_audit_log", NULL));
    json_decref(o);
    assert_non_null(s);
    return s;
}

static void audit_verifies(const struct kit *k)
{
    char bin[512], cmd[1400];
    ts_binary("kyc", bin, sizeof bin);
    snprintf(cmd, sizeof cmd, "'%s' audit verify --db '%s' >'%s/verify.log' 2>&1", bin, k->kyc_db,
             k->dir);
    int status = system(cmd);
    if (status != 0) {
        char log[400];
        snprintf(log, sizeof log, "%s/verify.log", k->dir);
        char *text = ts_read_file(log, NULL);
        fail_msg("kyc audit verify failed (%d):\n%s", status, text ? text : "(no output)");
    }
}

struct refusal {
    const char *method, *path;
    const char *body; /* "%s" is replaced by the identity id */
    int with_csrf;
    long status;
    const char *needle; /* must appear in the response body */
};

static char *expand(const char *fmt, const char *id)
{
    size_t cap = strlen(fmt) + strlen(id) * 4 + 1;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t n = 0;
    for (const char *p = fmt; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            n += (size_t)snprintf(out + n, cap - n, "%s", id);
            p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = 0;
    return out;
}

static void install_on(struct kit *k, const char *instance_id)
{
    char body[800];
    snprintf(body, sizeof body,
             "{\"app_id\":\"%s\",\"instance_id\":\"%s\",\"permissions\":[\"data:read\","
             "\"data:write\",\"alerts:read\",\"alerts:write\"]}",
             k->app_id, instance_id);
    struct ts_response r;
    kit_admin(k, "/admin/installs", body, &r);
    TS_ASSERT_STATUS(r, 201);
    assert_int_equal(
        ts_json_string(&r, "installed_app_id", k->installed_app_id, sizeof k->installed_app_id), 0);
    ts_response_free(&r);
}

/* Renames the instance's first identity in cloudsim's database so its name starts with '='. */
static void plant_formula_name(const struct kit *k, char *id, size_t cap)
{
    assert_true(kit_text(k->cs_db,
                         "SELECT identity_id FROM core_identities WHERE instance_id = ?"
                         " AND identity_type = 'individual' ORDER BY identity_id LIMIT 1",
                         k->instance_id, NULL, id, cap));
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(k->cs_db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "UPDATE core_identities SET first_name = ?"
                                        " WHERE identity_id = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, PLANTED_NAME, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_portal_api_refusals(void **state)
{
    (void)state;
    /* two instances, so there are two installs of the app */
    char cfgdir[256], cfg[320];
    ts_tmpdir(cfgdir, sizeof cfgdir);
    snprintf(cfg, sizeof cfg, "%s/cloudsim.json", cfgdir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fputs("{\"organizations\":[{\"name\":\"Org\",\"instances\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
          "\"users\":[{\"email\":\"rev@example.com\",\"name\":\"Reviewer\"}]}]}",
          f);
    fclose(f);
    struct kit k;
    const char *cs_args[] = {"--config", cfg, NULL};
    kit_start_cloudsim(&k, cs_args);
    char other_instance[160] = "";
    {
        char url[400];
        struct ts_response r;
        snprintf(url, sizeof url, "%s/admin/state", k.cs.url);
        ts_http("GET", url, NULL, NULL, &r);
        TS_ASSERT_STATUS(r, 200);
        json_t *st = json_loads(r.body, 0, NULL);
        ts_response_free(&r);
        json_t *insts = json_object_get(st, "instances");
        assert_int_equal(json_array_size(insts), 2);
        snprintf(other_instance, sizeof other_instance, "%s",
                 json_string_value(json_object_get(json_array_get(insts, 1), "instance_id")));
        json_decref(st);
    }
    kit_seed(&k, 30, 0.3, 0.0);
    {
        char bin[512], cmd[3000];
        ts_binary("cloudsim", bin, sizeof bin);
        snprintf(cmd, sizeof cmd,
                 "'%s' seed --db '%s' --instance %s --identities 5 --seed 8 --plant-lists "
                 "'%s/ofac' '%s/un.xml' --plant-rate 0 --bad-rate 0 >'%s/seed2.log' 2>&1",
                 bin, k.cs_db, other_instance, k.fixtures, k.fixtures, k.dir);
        assert_int_equal(system(cmd), 0);
    }
    char planted[160] = "";
    plant_formula_name(&k, planted, sizeof planted);
    kit_register(&k);
    kit_start_kyc(&k, NULL);

    /* install B first: its identities are the ones install A must never see */
    install_on(&k, other_instance);
    kit_wait_runs(&k, 1, 20000);
    char install_b[160], foreign[160] = "";
    snprintf(install_b, sizeof install_b, "%s", k.installed_app_id);
    assert_true(kit_text(k.kyc_db,
                         "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ?"
                         " ORDER BY identity_id LIMIT 1",
                         install_b, NULL, foreign, sizeof foreign));
    install_on(&k, k.instance_id);
    kit_wait_runs(&k, 1, 20000);

    char id[160] = "";
    assert_true(kit_text(k.kyc_db,
                         "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ?"
                         " AND status IN ('needs_review', 'hit')"
                         /* a sanctions match, so the false-positive calls have an entry */
                         " AND reasons LIKE '%sanctions_match%' ORDER BY identity_id LIMIT 1",
                         k.installed_app_id, NULL, id, sizeof id));
    char cookie[700], csrf[200];
    kit_portal_session(&k, cookie, sizeof cookie, csrf, sizeof csrf);
    struct kit_reviewer ada; /* changes need a signed-in reviewer (D23′) */
    kit_reviewer_create(&k, cookie, csrf, NULL, "Ada", &ada);

    char long_note[REVIEW_NOTE_MAX_BYTES + 200], long_id[CAPP_MAX_ID_BYTES + 2];
    memset(long_id, 'a', CAPP_MAX_ID_BYTES + 1);
    long_id[CAPP_MAX_ID_BYTES + 1] = 0;
    char over_note[REVIEW_NOTE_MAX_BYTES + 2];
    memset(over_note, 'n', REVIEW_NOTE_MAX_BYTES + 1);
    over_note[REVIEW_NOTE_MAX_BYTES + 1] = 0;
    snprintf(long_note, sizeof long_note,
             "{\"identity_id\":\"%%s\",\"action\":\"reject\",\"note\":\"%s\"}", over_note);
    char long_id_body[400];
    snprintf(long_id_body, sizeof long_id_body,
             "{\"identity_id\":\"%s\",\"action\":\"reject\",\"note\":\"x\"}", long_id);
    /* one of the identity's current matches, so a false-positive refusal is about the note */
    char entry[160] = "", fp_empty[600], fp_long[REVIEW_NOTE_MAX_BYTES + 400];
    {
        char path[300];
        struct ts_response r;
        snprintf(path, sizeof path, "/portal/api/identities/%s", id);
        send_call(&k, "GET", path, NULL, cookie, csrf, &r);
        TS_ASSERT_STATUS(r, 200);
        json_t *o = json_loads(r.body, 0, NULL);
        ts_response_free(&r);
        const char *e = json_string_value(
            json_object_get(json_array_get(json_object_get(o, "matches"), 0), "entry_id"));
        assert_non_null(e);
        snprintf(entry, sizeof entry, "%s", e);
        json_decref(o);
    }
    snprintf(fp_empty, sizeof fp_empty,
             "{\"identity_id\":\"%%s\",\"entry_id\":\"%s\",\"note\":\" \"}", entry);
    snprintf(fp_long, sizeof fp_long,
             "{\"identity_id\":\"%%s\",\"entry_id\":\"%s\",\"note\":\"%s\"}", entry, over_note);
    size_t big_len = CAPP_MAX_BODY_BYTES + 1024;
    char *big = malloc(big_len + 1);
    assert_non_null(big);
    memset(big, ' ', big_len);
    memcpy(big, "{\"note\":\"", 9);
    memset(big + 9, 'b', big_len - 11);
    memcpy(big + big_len - 2, "\"}", 2);
    big[big_len] = 0;

    const struct refusal cases[] = {
        /* CSRF on every state-changing endpoint */
        {"POST", "/portal/api/decisions",
         "{\"identity_id\":\"%s\",\"action\":\"reject\",\"note\":\"no csrf\"}", 0, 403,
         "csrf_failed"},
        {"POST", "/portal/api/decisions/1/confirm", "{\"note\":\"x\"}", 0, 403, "csrf_failed"},
        {"POST", "/portal/api/decisions/1/cancel", "{\"note\":\"x\"}", 0, 403, "csrf_failed"},
        {"POST", "/portal/api/false-positives",
         "{\"identity_id\":\"%s\",\"entry_id\":\"ofac:1\",\"note\":\"x\"}", 0, 403, "csrf_failed"},
        {"PUT", "/portal/api/settings", "{\"four_eyes\":true}", 0, 403, "csrf_failed"},
        {"POST", "/portal/api/runs", "{}", 0, 403, "csrf_failed"},
        {"POST", "/portal/api/logout", "{}", 0, 403, "csrf_failed"},
        /* malformed bodies */
        {"POST", "/portal/api/decisions", "{\"identity_id\":", 1, 400, "error"},
        {"POST", "/portal/api/decisions", "[1,2]", 1, 400, "error"},
        {"POST", "/portal/api/decisions", "", 1, 400, "error"},
        {"POST", "/portal/api/decisions/1/confirm", "{nope}", 1, 400, "error"},
        {"POST", "/portal/api/decisions/1/cancel", "\"text\"", 1, 400, "error"},
        {"POST", "/portal/api/false-positives", "{\"a\":", 1, 400, "error"},
        {"PUT", "/portal/api/settings", "{,}", 1, 400, "error"},
        /* wrong field types name the field */
        {"POST", "/portal/api/decisions",
         "{\"identity_id\":7,\"action\":\"reject\",\"note\":\"x\"}", 1, 400, "identity_id"},
        {"POST", "/portal/api/decisions", "{\"identity_id\":\"%s\",\"action\":[],\"note\":\"x\"}",
         1, 400, "action"},
        {"POST", "/portal/api/decisions",
         "{\"identity_id\":\"%s\",\"action\":\"reject\",\"note\":false}", 1, 400, "note"},
        {"POST", "/portal/api/decisions/1/confirm", "{\"note\":12}", 1, 400, "note"},
        {"POST", "/portal/api/false-positives",
         "{\"identity_id\":\"%s\",\"entry_id\":{},\"note\":\"x\"}", 1, 400, "entry_id"},
        {"PUT", "/portal/api/settings", "{\"four_eyes\":\"yes\"}", 1, 400, "four_eyes"},
        {"PUT", "/portal/api/settings", "{\"four_eyes\":1}", 1, 400, "four_eyes"},
        {"PUT", "/portal/api/settings", "{}", 1, 400, "four_eyes"},
        {"PUT", "/portal/api/settings", "{\"screen_tokenized\":\"yes\"}", 1, 400,
         "screen_tokenized"},
        /* the note: missing, empty, blank, over REVIEW_NOTE_MAX_BYTES */
        {"POST", "/portal/api/decisions", "{\"identity_id\":\"%s\",\"action\":\"reject\"}", 1, 400,
         "note"},
        {"POST", "/portal/api/decisions",
         "{\"identity_id\":\"%s\",\"action\":\"reject\",\"note\":\"\"}", 1, 400, "note"},
        {"POST", "/portal/api/decisions",
         "{\"identity_id\":\"%s\",\"action\":\"reject\",\"note\":\"   \"}", 1, 400, "note"},
        {"POST", "/portal/api/decisions",
         "{\"identity_id\":\"%s\",\"action\":\"reject\",\"note\":\"a\\u0001b\"}", 1, 400, "note"},
        {"POST", "/portal/api/decisions", long_note, 1, 400, "note"},
        {"POST", "/portal/api/decisions/1/confirm", "{}", 1, 400, "note"},
        {"POST", "/portal/api/false-positives", fp_empty, 1, 400, "note"},
        {"POST", "/portal/api/false-positives", fp_long, 1, 400, "note"},
        /* the action */
        {"POST", "/portal/api/decisions",
         "{\"identity_id\":\"%s\",\"action\":\"delete\",\"note\":\"x\"}", 1, 400, "invalid_action"},
        {"POST", "/portal/api/decisions",
         "{\"identity_id\":\"%s\",\"action\":\"approveapproveapprove\",\"note\":\"x\"}", 1, 400,
         "action"},
        {"POST", "/portal/api/decisions", "{\"identity_id\":\"%s\",\"note\":\"x\"}", 1, 400,
         "action"},
        /* identity ids: bad characters, too long, unknown, another install's */
        {"POST", "/portal/api/decisions",
         "{\"identity_id\":\"../%s\",\"action\":\"reject\",\"note\":\"x\"}", 1, 400, "identity_id"},
        {"POST", "/portal/api/decisions",
         "{\"identity_id\":\"a b\",\"action\":\"reject\",\"note\":\"x\"}", 1, 400, "identity_id"},
        {"POST", "/portal/api/decisions", long_id_body, 1, 400, "identity_id"},
        {"POST", "/portal/api/decisions",
         "{\"identity_id\":\"no_such_identity\",\"action\":\"reject\",\"note\":\"x\"}", 1, 404,
         "not_found"},
        {"POST", "/portal/api/false-positives",
         "{\"identity_id\":\"%s'\",\"entry_id\":\"ofac:1\",\"note\":\"x\"}", 1, 400, "identity_id"},
        {"POST", "/portal/api/false-positives",
         "{\"identity_id\":\"no_such_identity\",\"entry_id\":\"ofac:1\",\"note\":\"x\"}", 1, 404,
         "not_found"},
        {"POST", "/portal/api/false-positives",
         "{\"identity_id\":\"%s\",\"entry_id\":\"ofac:not-a-match\",\"note\":\"x\"}", 1, 400,
         "entry_id"},
        /* decisions that do not exist */
        {"POST", "/portal/api/decisions/999999/confirm", "{\"note\":\"x\"}", 1, 404, "not_found"},
        {"POST", "/portal/api/decisions/999999/cancel", "{\"note\":\"x\"}", 1, 404, "not_found"},
        {"POST", "/portal/api/decisions/abc/confirm", "{\"note\":\"x\"}", 1, 404, "not_found"},
        {"POST", "/portal/api/decisions/-1/cancel", "{\"note\":\"x\"}", 1, 404, "not_found"},
        {"POST", "/portal/api/decisions/1/explode", "{\"note\":\"x\"}", 1, 404, "not_found"},
        /* bodies over CAPP_MAX_BODY_BYTES */
        {"POST", "/portal/api/decisions", big, 1, 413, "body_too_large"},
        {"POST", "/portal/api/decisions/1/confirm", big, 1, 413, "body_too_large"},
        {"POST", "/portal/api/false-positives", big, 1, 413, "body_too_large"},
        {"PUT", "/portal/api/settings", big, 1, 413, "body_too_large"},
    };

    json_t *before = snapshot(&k, id, cookie, csrf);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct refusal *c = &cases[i];
        char *body = expand(c->body, id);
        struct ts_response r;
        send_call(&k, c->method, c->path, body, cookie, c->with_csrf ? csrf : NULL, &r);
        if (r.status != c->status || !r.body || !strstr(r.body, c->needle))
            fail_msg("case %zu %s %s %.120s: got %ld %.300s, wanted %ld with '%s'", i, c->method,
                     c->path, body, r.status, r.body ? r.body : "", c->status, c->needle);
        if (c->status != 413) {
            json_t *o = json_loads(r.body, 0, NULL);
            if (!json_is_string(json_object_get(o, "error")) ||
                !json_is_string(json_object_get(o, "code")))
                fail_msg("case %zu: the refusal is not {error, code}: %s", i, r.body);
            json_decref(o);
        }
        ts_response_free(&r);
        free(body);
        json_t *after = snapshot(&k, id, cookie, csrf);
        if (!json_equal(before, after)) {
            char *a = json_dumps(before, JSON_COMPACT), *b = json_dumps(after, JSON_COMPACT);
            fail_msg("case %zu %s %s changed state:\n%s\n%s", i, c->method, c->path, a, b);
        }
        json_decref(after);
    }
    json_decref(before);
    free(big);
    audit_verifies(&k);

    /* the session survived the refused logout */
    struct ts_response r;
    send_call(&k, "GET", "/portal/api/session", NULL, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);

    /* a wrong method on the app's own routes: 405 naming the methods the route takes (capp's
     * dispatcher; tests/capp checks it on capp's test app) */
    const struct {
        const char *method, *path, *allow;
    } wrong_method[] = {
        {"GET", "/portal/api/runs", "POST"},
        {"GET", "/portal/api/decisions", "POST"},
        {"GET", "/portal/api/false-positives", "POST"},
        {"DELETE", "/portal/api/settings", "GET, HEAD, PUT"},
    };
    for (size_t i = 0; i < COUNTOF(wrong_method); i++) {
        char allow[64] = "";
        send_call(&k, wrong_method[i].method, wrong_method[i].path, NULL, cookie, csrf, &r);
        TS_ASSERT_STATUS(r, 405);
        assert_int_equal(ts_header(&r, "Allow", allow, sizeof allow), 0);
        assert_string_equal(allow, wrong_method[i].allow);
        ts_response_free(&r);
    }

    /* GET filters: every bad value is 400 naming the parameter, on the list and the export */
    char long_q[RESULTS_NAME_SEARCH_MAX + 8];
    memset(long_q, 'q', RESULTS_NAME_SEARCH_MAX + 1);
    long_q[RESULTS_NAME_SEARCH_MAX + 1] = 0;
    char q_param[RESULTS_NAME_SEARCH_MAX + 16], page_size_over[32];
    snprintf(q_param, sizeof q_param, "q=%s", long_q);
    snprintf(page_size_over, sizeof page_size_over, "page_size=%d", RESULTS_PAGE_SIZE_MAX + 1);
    const struct {
        const char *query, *field;
    } filters[] = {
        {"status=bogus", "status"},
        {"status=CLEAR", "status"},
        {"risk=extreme", "risk"},
        {"reason=Bad!", "reason"},
        {"reason=", NULL},
        {"sort=password", "sort"},
        {"order=sideways", "order"},
        {"page=0", "page"},
        {"page=-3", "page"},
        {"page=abc", "page"},
        {"page=1000001", "page"},
        {"page=1x", "page"},
        {page_size_over, "page_size"},
        {"page_size=0", "page_size"},
        {"page_size=ten", "page_size"},
        {q_param, "q"},
    };
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        static const char *const bases[] = {"/portal/api/identities", "/portal/api/export.csv"};
        for (size_t b = 0; b < 2; b++) {
            char path[600];
            snprintf(path, sizeof path, "%s?%s", bases[b], filters[i].query);
            send_call(&k, "GET", path, NULL, cookie, csrf, &r);
            if (!filters[i].field) {
                TS_ASSERT_STATUS(r, 200); /* an empty parameter is no filter */
            } else if (r.status != 400 || !strstr(r.body, "invalid_filter") ||
                       !strstr(r.body, filters[i].field)) {
                fail_msg("GET %s: got %ld %s, wanted 400 naming '%s'", path, r.status, r.body,
                         filters[i].field);
            }
            ts_response_free(&r);
        }
    }
    /* the largest page is accepted */
    char path[600];
    snprintf(path, sizeof path, "/portal/api/identities?page_size=%d", RESULTS_PAGE_SIZE_MAX);
    send_call(&k, "GET", path, NULL, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    json_t *list = json_loads(r.body, 0, NULL);
    ts_response_free(&r);
    long long total = json_integer_value(json_object_get(list, "total"));
    assert_int_equal(json_integer_value(json_object_get(list, "page_size")), RESULTS_PAGE_SIZE_MAX);
    assert_int_equal(json_array_size(json_object_get(list, "items")), total);
    json_decref(list);
    assert_int_equal(total, 30);

    /* identity paths that are not ids, and another install's identity */
    const char *bad_paths[] = {"/portal/api/identities/a%20b", "/portal/api/identities/a.b",
                               "/portal/api/identities/a.b/dossier",
                               "/portal/api/identities/x/other"};
    for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
        send_call(&k, "GET", bad_paths[i], NULL, cookie, csrf, &r);
        TS_ASSERT_STATUS(r, 404);
        ts_response_free(&r);
    }
    snprintf(path, sizeof path, "/portal/api/identities/%s", long_id);
    send_call(&k, "GET", path, NULL, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 404);
    ts_response_free(&r);
    snprintf(path, sizeof path, "/portal/api/identities/%s/dossier", foreign);
    send_call(&k, "GET", path, NULL, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 404);
    assert_non_null(strstr(r.body, "not_found"));
    ts_response_free(&r);
    snprintf(path, sizeof path, "/portal/api/identities/%s", foreign);
    send_call(&k, "GET", path, NULL, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 404);
    ts_response_free(&r);
    snprintf(path, sizeof path, "/portal/api/identities/%s/dossier", id);
    send_call(&k, "GET", path, NULL, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    ts_response_free(&r);

    /* the CSV export: an attachment, one row per identity, the formula neutralised */
    send_call(&k, "GET", "/portal/api/export.csv", NULL, cookie, csrf, &r);
    TS_ASSERT_STATUS(r, 200);
    char disposition[200] = "";
    assert_int_equal(ts_header(&r, "Content-Disposition", disposition, sizeof disposition), 0);
    assert_non_null(strstr(disposition, "attachment; filename=\"kyc-results-"));
    assert_non_null(strstr(disposition, ".csv\""));
    long lines = 0;
    for (const char *p = r.body; (p = strstr(p, "\r\n")) != NULL; p += 2)
        lines++;
    assert_int_equal(lines, total + 1);
    char cell[300];
    snprintf(cell, sizeof cell, "\"%s\",\"'=HYPERLINK(\"\"http://evil.example\"\")", planted);
    if (!strstr(r.body, cell))
        fail_msg("the export does not neutralise the planted formula (%s):\n%.2000s", cell, r.body);
    assert_null(strstr(r.body, "\"=HYPERLINK"));
    ts_response_free(&r);

    audit_verifies(&k);
    kit_stop(&k);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_portal_api_refusals, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
