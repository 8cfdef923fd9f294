/*
 * test_pipeline_activation.c — activation order (spec D27), end to end: the real cloudsim,
 * whose keys answer 401 until their install is active (the app's install 2xx arrived) and a
 * further 3 s have passed (--key-activation-delay-ms 3000, a platform that activates keys
 * late), and the real `kyc serve`.
 *
 *   - the first Cloud call of the new install comes after cloudsim received the install's 2xx
 *     (capp's install hook starts the pipeline before the answer is sent; the pipeline's first
 *     call used to follow at once, while the install was still pending);
 *   - the 401s of the not-yet-active key in the first minutes are retried with backoff: the
 *     run screens every identity and the key is not marked invalid (it used to be, for good).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_pipeline_kit.h"

static void test_first_call_after_the_2xx_and_401s_retried(void **state)
{
    (void)state;
    struct kit k;
    const char *args[] = {"--key-activation-delay-ms", "3000", NULL};
    kit_start_cloudsim(&k, args);
    kit_seed(&k, 40, 0.10, 0.10);
    kit_register(&k);
    kit_start_kyc(&k, NULL);
    kit_install(&k, "[\"data:read\",\"data:write\",\"alerts:read\",\"alerts:write\"]");
    kit_wait_runs(&k, 1, 90000);

    /* ordering, from cloudsim's own audit log (one sequence for events and gateway calls) */
    long long installed = kit_int(k.cs_db,
                                  "SELECT id FROM audit_log WHERE installed_app_id = ? AND"
                                  " event = 'install.succeeded'",
                                  k.installed_app_id);
    long long first_call = kit_int(k.cs_db,
                                   "SELECT min(id) FROM audit_log WHERE installed_app_id = ? AND"
                                   " event = 'gateway.call'",
                                   k.installed_app_id);
    assert_true(installed > 0);
    assert_true(first_call > 0);
    if (first_call < installed)
        fail_msg("the first gateway call (audit row %lld) came before the install's 2xx (row %lld)",
                 first_call, installed);
    /* the late activation was met (401 inactive_api_key) and waited out */
    assert_true(kit_int(k.cs_db,
                        "SELECT count(*) FROM audit_log WHERE installed_app_id = ? AND"
                        " event = 'gateway.call' AND status = 401",
                        k.installed_app_id) >= 1);
    char state_text[32];
    assert_true(kit_text(k.kyc_db,
                         "SELECT state FROM kyc_runs WHERE installed_app_id = ? ORDER BY run_id"
                         " DESC LIMIT 1",
                         k.installed_app_id, NULL, state_text, sizeof state_text));
    assert_string_equal(state_text, "done");
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT key_invalid FROM installs WHERE installed_app_id = ?",
                             k.installed_app_id),
                     0);
    assert_int_equal(kit_int(k.kyc_db,
                             "SELECT count(*) FROM kyc_identities WHERE installed_app_id = ?"
                             " AND writeback_state = 'done'",
                             k.installed_app_id),
                     40);
    kit_stop(&k);
}

int main(int argc, char **argv)
{
    engine_kit_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_first_call_after_the_2xx_and_401s_retried, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
