/*
 * test_pipeline_reload.c — a new list version without a restart, end to end: the real cloudsim
 * (seeded, nothing planted) and the real `kyc serve` on a copy of the OFAC fixture.
 *
 *   - SIGHUP (--lists-poll 0): an SDN entry naming one of the seeded customers is appended to
 *     the copy; after the signal a run with trigger "lists" re-screens only the identities the
 *     new entry could affect (not all of them), and that customer needs review for a
 *     sanctions match, with an alert and the new generation in its stored lists key;
 *   - polling (--lists-poll 1): the file changes again (the entry is removed) and is picked up
 *     without a signal: the customer is clear again;
 *   - a broken list file: the reload fails, the progress API says so, screening goes on with
 *     the generation loaded before (no run, no status changed), and fixing the file recovers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_pipeline_kit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

/* Writes `text` to path through a temporary file and a rename, as a list update should. The
 * mtime is moved forward by `bump` seconds so a rewrite within the same second is seen. */
static void replace_file(const char *path, const char *text, size_t n, int bump)
{
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
    struct timespec times[2] = {{.tv_sec = time(NULL) + bump}, {.tv_sec = time(NULL) + bump}};
    assert_int_equal(utimensat(AT_FDCWD, tmp, times, 0), 0);
    assert_int_equal(rename(tmp, path), 0);
}

/* The last run of the install: its trigger, state and counts. */
static void last_run(const struct kit *k, char *trigger, size_t cap, long long *screened,
                     long long *unchanged)
{
    char text[64];
    assert_true(kit_text(k->kyc_db,
                         "SELECT trigger FROM kyc_runs WHERE installed_app_id = ?"
                         " ORDER BY run_id DESC LIMIT 1",
                         k->installed_app_id, NULL, trigger, cap));
    assert_true(kit_text(k->kyc_db,
                         "SELECT screened FROM kyc_runs WHERE installed_app_id = ?"
                         " ORDER BY run_id DESC LIMIT 1",
                         k->installed_app_id, NULL, text, sizeof text));
    *screened = atoll(text);
    assert_true(kit_text(k->kyc_db,
                         "SELECT unchanged FROM kyc_runs WHERE installed_app_id = ?"
                         " ORDER BY run_id DESC LIMIT 1",
                         k->installed_app_id, NULL, text, sizeof text));
    *unchanged = atoll(text);
}

static void status_of(const struct kit *k, const char *id, char *out, size_t cap)
{
    assert_true(kit_text(k->kyc_db,
                         "SELECT status FROM kyc_identities WHERE installed_app_id = ?"
                         " AND identity_id = ?",
                         k->installed_app_id, id, out, cap));
}

/* Waits until the install has no run queued or running (the progress API's state). */
static void wait_idle(const struct kit *k, const char *cookie, const char *csrf)
{
    for (long waited = 0;; waited += 100) {
        json_t *o = kit_portal_json(k, "/portal/api/progress", cookie, csrf);
        const char *st = json_string_value(json_object_get(o, "state"));
        int idle = st && strcmp(st, "idle") == 0;
        json_decref(o);
        if (idle)
            return;
        assert_true(waited < 20000);
        ts_sleep_ms(100);
    }
}

static void test_new_list_version_without_restart(void **state)
{
    (void)state;
    struct kit k;
    kit_start_cloudsim(&k, NULL);
    kit_seed(&k, 60, 0.0, 0.0);
    kit_register(&k);
    char ofac[400], sdn[700];
    kit_copy_ofac(&k, ofac, sizeof ofac);
    snprintf(sdn, sizeof sdn, "%s/sdn.csv", ofac);
    const char *signal_only[] = {"--no-default-lists", "--lists", ofac, "--lists-poll", "0", NULL};
    kit_start_kyc(&k, signal_only);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 20000);

    /* a clear individual customer named in plain ASCII "First Last", and the generation
     * everything was screened against */
    char id[160] = "", name[240] = "", key_before[80] = "";
    /* GLOB on SQLite, the same pattern as a regular expression on PostgreSQL */
    const char *plain_name = engine_kit_postgres()
                                 ? " AND display_name ~ '^[A-Z][A-Za-z]* [A-Z][A-Za-z]*$'"
                                 : " AND display_name GLOB '[A-Z]* [A-Z]*'"
                                   " AND display_name NOT GLOB '* * *'"
                                   " AND display_name NOT GLOB '*[^A-Za-z ]*'";
    char sql[600];
    snprintf(sql, sizeof sql,
             "SELECT identity_id FROM kyc_identities WHERE installed_app_id = ?"
             " AND status = 'clear' AND identity_type = 'individual'%s"
             " ORDER BY identity_id LIMIT 1",
             plain_name);
    assert_true(kit_text(k.kyc_db, sql, k.installed_app_id, NULL, id, sizeof id));
    assert_true(kit_text(k.kyc_db,
                         "SELECT display_name FROM kyc_identities WHERE installed_app_id = ?"
                         " AND identity_id = ?",
                         k.installed_app_id, id, name, sizeof name));
    char *space = strchr(name, ' ');
    assert_non_null(space);
    *space = '\0';
    const char *first = name, *last = space + 1;
    assert_true(kit_text(k.kyc_db,
                         "SELECT lists_key FROM kyc_identities WHERE installed_app_id = ?"
                         " AND identity_id = ?",
                         k.installed_app_id, id, key_before, sizeof key_before));
    long long total =
        kit_int(k.kyc_db, "SELECT count(*) FROM kyc_identities WHERE installed_app_id = ?",
                k.installed_app_id);
    assert_int_equal(total, 60);

    /* the new version: one more SDN entry, naming that customer (OFAC's "LAST, First") */
    size_t len = 0;
    char *original = ts_read_file(sdn, &len);
    assert_non_null(original);
    size_t body = len && original[len - 1] == 0x1a ? len - 1 : len; /* before the DOS EOF byte */
    size_t cap = len + 512;
    char *updated = malloc(cap);
    assert_non_null(updated);
    memcpy(updated, original, body);
    int extra = snprintf(updated + body, cap - body,
                         "99001,\"%s, %s\",\"individual\",\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,"
                         "-0- ,-0- ,-0- \r\n\x1a",
                         last, first);
    replace_file(sdn, updated, body + (size_t)extra, 2);
    long long runs = kit_runs_finished(&k);
    assert_int_equal(kill(k.kyc.pid, SIGHUP), 0);
    kit_wait_runs(&k, runs + 1, 20000);
    char trigger[32], status[32], key_after[80] = "", reasons[200] = "";
    long long screened = 0, unchanged = 0;
    last_run(&k, trigger, sizeof trigger, &screened, &unchanged);
    assert_string_equal(trigger, "lists");
    /* only the identities the new entry's tokens could pair with were screened again */
    assert_true(screened >= 1);
    assert_true(screened < total);
    assert_int_equal(screened + unchanged, total);
    status_of(&k, id, status, sizeof status);
    assert_true(strcmp(status, "needs_review") == 0 || strcmp(status, "hit") == 0);
    kit_text(k.kyc_db,
             "SELECT reasons FROM kyc_identities WHERE installed_app_id = ? AND identity_id = ?",
             k.installed_app_id, id, reasons, sizeof reasons);
    assert_non_null(strstr(reasons, "sanctions_match"));
    assert_true(kit_text(k.kyc_db,
                         "SELECT lists_key FROM kyc_identities WHERE installed_app_id = ?"
                         " AND identity_id = ?",
                         k.installed_app_id, id, key_after, sizeof key_after));
    assert_string_not_equal(key_after, key_before);
    /* every stored row now carries the new generation (the unaffected ones were advanced) */
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT count(DISTINCT lists_key) FROM kyc_identities"
                             " WHERE installed_app_id = ?",
                             k.installed_app_id),
                     1);
    for (long waited = 0;; waited += 100) {
        if (kit_audit_count(&k, "POST", "/alerts/flag/") >= 1)
            break;
        assert_true(waited < 20000);
        ts_sleep_ms(100);
    }
    /* the chain recorded the load of the new generation */
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT count(*) FROM kyc_audit_log WHERE installed_app_id = ?"
                             " AND kind = 'list_load'",
                             k.installed_app_id),
                     2);
    kit_stop_kyc(&k);

    /* polling: the entry is withdrawn and the change is picked up without a signal */
    const char *polling[] = {"--no-default-lists", "--lists", ofac, "--lists-poll", "1", NULL};
    kit_start_kyc(&k, polling);
    replace_file(sdn, original, len, 4);
    for (long waited = 0;; waited += 100) {
        status_of(&k, id, status, sizeof status);
        if (strcmp(status, "clear") == 0)
            break;
        assert_true(waited < 20000);
        ts_sleep_ms(100);
    }
    char cookie[700], csrf[200];
    kit_portal_session(&k, cookie, sizeof cookie, csrf, sizeof csrf);
    wait_idle(&k, cookie, csrf);

    /* a broken file: the reload fails, the generation loaded before stays */
    runs = kit_runs_finished(&k);
    replace_file(sdn, "not,a,list\n", 11, 6);
    int seen = 0;
    for (long waited = 0; !seen && waited < 20000; waited += 200) {
        struct ts_response r;
        kit_portal_call(&k, "GET", "/portal/api/progress", cookie, csrf, &r);
        TS_ASSERT_STATUS(r, 200);
        seen = strstr(r.body, "\"lists_reload_failed\"") != NULL;
        ts_response_free(&r);
        if (!seen)
            ts_sleep_ms(200);
    }
    assert_true(seen);
    assert_int_equal(kit_runs_finished(&k), runs);
    status_of(&k, id, status, sizeof status);
    assert_string_equal(status, "clear");
    /* fixed: the notice goes away (the generation is the one already loaded: no run needed) */
    replace_file(sdn, original, len, 8);
    for (long waited = 0; seen; waited += 200) {
        struct ts_response r;
        kit_portal_call(&k, "GET", "/portal/api/progress", cookie, csrf, &r);
        TS_ASSERT_STATUS(r, 200);
        seen = strstr(r.body, "\"lists_reload_failed\"") != NULL;
        ts_response_free(&r);
        assert_true(!seen || waited < 20000);
        if (seen)
            ts_sleep_ms(200);
    }
    free(original);
    free(updated);
    kit_stop(&k);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_new_list_version_without_restart, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
