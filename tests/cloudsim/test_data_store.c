/*
 * test_data_store.c — Core-like store rules against an in-memory database: identity create
 * validation and Core error bodies, partial update, D18 dob flavours, metadata shallow merge
 * (spec §6) for identities and transactions, alerts and custom statuses (D15), and exact
 * totals and D17 order of deep unfiltered pages under inserts, deletes and moves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capp/db.h"
#include "capp/err.h"
#include "cloudsim/core.h"
#include "cloudsim/core_alerts.h"

#define INST "inst_s"
#define ORG  "org_s"

static sqlite3 *db;

static int setup(void **state)
{
    assert_int_equal(db_open(":memory:", 0, &db), 0);
    assert_int_equal(cs_data_migrate(db), 0);
    assert_int_equal(cs_data_migrate(db), 0); /* idempotent */
    return 0;
}

static int teardown(void **state)
{
    db_close(db);
    return 0;
}

static void create(const char *json, char id[CORE_ID_BYTES], int expect_rc, const char *code)
{
    json_t *body = json_loads(json, 0, NULL);
    struct core_identity in;
    struct core_error err = {0};
    char dob[11];
    int rc = core_identity_from_json(body, &in, dob, &err);
    if (rc == 0)
        rc = core_identity_create(db, INST, &in, id, &err);
    json_decref(body);
    assert_int_equal(rc != 0, expect_rc != 0);
    if (code)
        assert_string_equal(err.code, code);
}

static void test_identity_create_and_dob_flavours(void **state)
{
    char id[CORE_ID_BYTES];
    create("{\"first_name\":\"Ada\",\"dob\":\"1990-01-01T00:00:00Z\"}", id, 0, NULL);
    assert_memory_equal(id, "idt_", 4);
    assert_true(core_is_uuid(id + 4));
    json_t *proxy = NULL, *data = NULL;
    assert_int_equal(
        core_get(db, core_resource(CORE_IDENTITIES), INST, id, CORE_FLAVOUR_PROXY, &proxy), 0);
    assert_int_equal(
        core_get(db, core_resource(CORE_IDENTITIES), INST, id, CORE_FLAVOUR_DATA, &data), 0);
    assert_string_equal(json_string_value(json_object_get(proxy, "dob")), "1990-01-01T00:00:00Z");
    assert_string_equal(json_string_value(json_object_get(data, "dob")), "1990-01-01");
    /* every field serialised, in Core's order, meta_data null when never set */
    static const char *const keys[] = {
        "identity_id",   "identity_type", "organization_name", "category",
        "first_name",    "last_name",     "other_names",       "gender",
        "email_address", "phone_number",  "nationality",       "street",
        "country",       "state",         "post_code",         "city",
        "dob",           "created_at",    "meta_data"};
    void *iter = json_object_iter(proxy);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0];
         i++, iter = json_object_iter_next(proxy, iter))
        assert_string_equal(json_object_iter_key(iter), keys[i]);
    assert_true(json_is_null(json_object_get(proxy, "meta_data")));
    json_decref(proxy);
    json_decref(data);
    /* unset dob */
    create("{\"first_name\":\"Bo\"}", id, 0, NULL);
    assert_int_equal(
        core_get(db, core_resource(CORE_IDENTITIES), INST, id, CORE_FLAVOUR_PROXY, &proxy), 0);
    assert_string_equal(json_string_value(json_object_get(proxy, "dob")), "0001-01-01T00:00:00Z");
    json_decref(proxy);
}

static void test_identity_create_errors(void **state)
{
    char id[CORE_ID_BYTES];
    create("{\"dob\":\"1990-01-01\"}", id, -1, "GEN_MALFORMED_REQUEST");
    create("{\"identity_id\":\"abc\"}", id, -1, "IDT_VALIDATION_ERROR");
    create("{\"identity_id\":\"idt_notauuid\"}", id, -1, "IDT_VALIDATION_ERROR");
    create("{\"identity_id\":\"idt_11111111-1111-4111-8111-111111111111\"}", id, 0, NULL);
    /* a duplicate is 400, not 409 */
    json_t *body =
        json_loads("{\"identity_id\":\"idt_11111111-1111-4111-8111-111111111111\"}", 0, NULL);
    struct core_identity in;
    struct core_error err = {0};
    char dob[11];
    assert_int_equal(core_identity_from_json(body, &in, dob, &err), 0);
    assert_int_not_equal(core_identity_create(db, INST, &in, id, &err), 0);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.code, "IDT_VALIDATION_ERROR");
    assert_string_equal(err.message,
                        "Identity already exists: idt_11111111-1111-4111-8111-111111111111");
    json_decref(body);
}

static void test_core_error_body(void **state)
{
    json_t *out = NULL;
    assert_int_equal(
        core_get(db, core_resource(CORE_IDENTITIES), INST, "idt_x", CORE_FLAVOUR_PROXY, &out),
        CAPP_ENOTFOUND);
    struct core_error err = {0};
    struct core_identity in = {.first_name = "x"};
    assert_int_equal(core_identity_update(db, INST, "idt_missing", &in, &err), CAPP_ENOTFOUND);
    json_t *body = core_error_body(&err);
    char *text = json_dumps(body, JSON_COMPACT);
    assert_string_equal(text, "{\"error\":\"Identity with ID 'idt_missing' not found\","
                              "\"error_detail\":{\"code\":\"IDT_NOT_FOUND\",\"message\":"
                              "\"Identity with ID 'idt_missing' not found\",\"details\":{}}}");
    free(text);
    json_decref(body);
}

static void test_identity_partial_update(void **state)
{
    char id[CORE_ID_BYTES];
    create("{\"first_name\":\"Ada\",\"last_name\":\"Byron\",\"meta_data\":{\"a\":1,\"b\":2}}", id,
           0, NULL);
    struct core_error err = {0};
    struct core_identity none = {.first_name = ""};
    assert_int_equal(core_identity_update(db, INST, id, &none, &err), CAPP_EINVAL);
    assert_string_equal(err.code, "GEN_BAD_REQUEST");
    json_t *meta = json_pack("{s:i}", "c", 3);
    struct core_identity in = {.last_name = "Lovelace", .first_name = "", .meta_data = meta};
    assert_int_equal(core_identity_update(db, INST, id, &in, &err), 0);
    json_t *obj = NULL;
    core_get(db, core_resource(CORE_IDENTITIES), INST, id, CORE_FLAVOUR_PROXY, &obj);
    assert_string_equal(json_string_value(json_object_get(obj, "first_name")), "Ada");
    assert_string_equal(json_string_value(json_object_get(obj, "last_name")), "Lovelace");
    /* PUT replaces meta_data whole */
    assert_true(json_equal(json_object_get(obj, "meta_data"), meta));
    json_decref(obj);
    json_decref(meta);
}

static void test_metadata_shallow_merge(void **state)
{
    char id[CORE_ID_BYTES];
    create("{\"meta_data\":{\"kyc\":{\"status\":\"pending\",\"score\":1},\"other\":true}}", id, 0,
           NULL);
    json_t *patch = json_loads("{\"kyc\":{\"status\":\"clear\"},\"new\":null}", 0, NULL), *out;
    struct core_error err = {0};
    assert_int_equal(core_metadata_update(db, INST, id, patch, &out, &err), 0);
    char *text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    /* nested object replaced whole (score gone), sibling kept, null stored */
    assert_string_equal(text, "{\"meta_data\":{\"kyc\":{\"status\":\"clear\"},\"new\":null,"
                              "\"other\":true}}");
    free(text);
    json_decref(out);
    /* unknown prefix, missing entity */
    assert_int_equal(core_metadata_update(db, INST, "acc_1", patch, &out, &err), CAPP_EINVAL);
    assert_string_equal(err.code, "META_INVALID_ENTITY_ID");
    assert_string_equal(err.message, "invalid entity ID format: acc_1");
    assert_int_equal(core_metadata_update(db, INST, "idt_nope", patch, &out, &err), CAPP_ENOTFOUND);
    assert_string_equal(err.code, "META_ENTITY_NOT_FOUND");
    /* another instance cannot touch it */
    assert_int_equal(core_metadata_update(db, "inst_other", id, patch, &out, &err), CAPP_ENOTFOUND);
    json_decref(patch);
}

static void test_transaction_metadata_echoes_keys_sent(void **state)
{
    char ldg[CORE_ID_BYTES], a[CORE_ID_BYTES], b[CORE_ID_BYTES];
    struct core_error err = {0};
    assert_int_equal(core_ledger_create(db, INST, "main", NULL, NULL, ldg), 0);
    assert_int_equal(core_balance_create(db, INST, ldg, NULL, "USD", 100, NULL, NULL, a, &err), 0);
    assert_int_equal(core_balance_create(db, INST, ldg, NULL, "USD", 100, NULL, NULL, b, &err), 0);
    json_t *body = json_pack("{s:f, s:s, s:s, s:s, s:s, s:s, s:i, s:{s:i}}", "amount", 12.5,
                             "currency", "USD", "reference", "r1", "description", "d", "source", a,
                             "destination", b, "precision", 100, "meta_data", "x", 1);
    json_t *txn = NULL, *out = NULL;
    assert_int_equal(core_transaction_create(db, INST, body, &txn, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(txn, "precise_amount")), 1250);
    json_t *dup = NULL;
    assert_int_not_equal(core_transaction_create(db, INST, body, &dup, &err), 0);
    assert_int_equal(err.status, 409);
    assert_string_equal(err.code, "TXN_DUPLICATE_REFERENCE");
    json_t *patch = json_pack("{s:i}", "y", 2);
    const char *tid = json_string_value(json_object_get(txn, "transaction_id"));
    assert_int_equal(core_metadata_update(db, INST, tid, patch, &out, &err), 0);
    char *text = json_dumps(out, JSON_COMPACT);
    assert_string_equal(text, "{\"meta_data\":{\"y\":2}}");
    free(text);
    json_t *bal = NULL;
    core_get(db, core_resource(CORE_BALANCES), INST, b, CORE_FLAVOUR_PROXY, &bal);
    assert_int_equal(json_integer_value(json_object_get(bal, "balance")), 1250);
    json_decref(bal);
    json_decref(out);
    json_decref(patch);
    json_decref(txn);
    json_decref(body);
}

static void test_alert_create_and_errors(void **state)
{
    char id[CORE_ID_BYTES];
    create("{\"first_name\":\"Flag\"}", id, 0, NULL);
    struct core_error err = {0};
    json_t *alert = NULL, *out = NULL;
    assert_int_equal(cs_alert_create(db, ORG, INST, id, NULL, "on a list", &alert, &err), 0);
    const char *ano = json_string_value(json_object_get(alert, "anomaly_id"));
    assert_memory_equal(ano, "ano_", 4);
    assert_true(core_is_uuid(ano + 4));
    assert_int_equal(ano[4 + 14], '4'); /* UUID v4 */
    assert_string_equal(json_string_value(json_object_get(alert, "type")), "Identity");
    assert_string_equal(json_string_value(json_object_get(alert, "status")), "FLAGGED");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(alert, "affected_identities"), 0)), id);
    assert_int_equal(json_array_size(json_object_get(alert, "affected_balances")), 0);
    assert_null(json_object_get(alert, "severity"));
    /* D15 errors */
    assert_int_equal(cs_alert_create(db, ORG, INST, id, "t", NULL, &out, &err), CAPP_EINVAL);
    assert_int_equal(err.status, 400);
    assert_int_equal(cs_alert_create(db, ORG, INST, "acc_1", "t", "d", &out, &err), CAPP_EINVAL);
    assert_int_equal(err.status, 400);
    assert_int_equal(cs_alert_create(db, ORG, INST, "bln_missing", "t", "d", &out, &err),
                     CAPP_ENOTFOUND);
    assert_int_equal(err.status, 404);
    /* scoping: another org or instance cannot see it */
    assert_int_equal(cs_alert_get(db, "org_x", INST, ano, &out, &err), CAPP_ENOTFOUND);
    assert_int_equal(cs_alert_get(db, ORG, "inst_x", ano, &out, &err), CAPP_ENOTFOUND);
    /* update: unknown status 400, built-in case-insensitive ok */
    assert_int_equal(cs_alert_update(db, ORG, INST, ano, NULL, NULL, "NOPE", &out, &err),
                     CAPP_EINVAL);
    assert_int_equal(err.status, 400);
    assert_int_equal(
        cs_alert_update(db, ORG, INST, ano, "new title", NULL, "investigating", &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "status")), "INVESTIGATING");
    assert_string_equal(json_string_value(json_object_get(out, "title")), "new title");
    assert_string_equal(json_string_value(json_object_get(out, "description")), "on a list");
    json_decref(out);
    assert_int_equal(cs_alert_update(db, ORG, INST, "ano_missing", NULL, NULL, NULL, &out, &err),
                     CAPP_ENOTFOUND);
    long long total = 0;
    json_t *data = NULL;
    assert_int_equal(cs_alert_list(db, ORG, INST, 20, 0, &data, &total), 0);
    assert_int_equal(total, 1);
    json_decref(data);
    json_decref(alert);
}

static void test_custom_statuses(void **state)
{
    char key[64];
    assert_int_equal(cs_alert_status_key("Pending Review", key, sizeof key), 0);
    assert_string_equal(key, "PENDING_REVIEW");
    assert_int_equal(cs_alert_status_key("  needs -- 2nd look!", key, sizeof key), 0);
    assert_string_equal(key, "NEEDS_2ND_LOOK");
    struct core_error err = {0};
    json_t *out = NULL;
    assert_int_equal(cs_alert_status_create(db, ORG, "Pending Review", "#123456", NULL, &out, &err),
                     CAPP_EINVAL);
    assert_int_equal(err.status, 400);
    assert_int_equal(cs_alert_status_create(db, ORG, NULL, "#3B82F6", NULL, &out, &err),
                     CAPP_EINVAL);
    assert_int_equal(cs_alert_status_create(db, ORG, "Pending Review", "#3b82f6", NULL, &out, &err),
                     0);
    assert_string_equal(json_string_value(json_object_get(out, "key")), "PENDING_REVIEW");
    assert_string_equal(json_string_value(json_object_get(out, "organization_id")), ORG);
    json_decref(out);
    assert_int_equal(cs_alert_status_create(db, ORG, "Pending review", "#3B82F6", NULL, &out, &err),
                     CAPP_EEXIST);
    assert_int_equal(err.status, 409);
    assert_int_equal(cs_alert_status_create(db, ORG, "Flagged", "#3B82F6", NULL, &out, &err),
                     CAPP_EEXIST);
    /* update by key, case-insensitive */
    assert_int_equal(
        cs_alert_status_update(db, ORG, "pending_review", "Awaiting", "#10B981", &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "Awaiting");
    json_decref(out);
    assert_int_equal(cs_alert_status_update(db, ORG, "nope", "x", NULL, &out, &err),
                     CAPP_ENOTFOUND);
    assert_int_equal(cs_alert_status_update(db, ORG, "PENDING_REVIEW", NULL, "red", &out, &err),
                     CAPP_EINVAL);
    /* list shape: the built-in statuses first (D28: an app confirms RESOLVED here), then ours */
    assert_int_equal(cs_alert_status_list(db, ORG, &out), 0);
    json_t *listed = json_object_get(out, "data");
    assert_int_equal(json_array_size(listed), 4);
    static const char *const keys[] = {"FLAGGED", "INVESTIGATING", "RESOLVED", "PENDING_REVIEW"};
    for (size_t i = 0; i < 4; i++) {
        json_t *row = json_array_get(listed, i);
        assert_string_equal(json_string_value(json_object_get(row, "key")), keys[i]);
        assert_string_equal(json_string_value(json_object_get(row, "organization_id")), ORG);
    }
    assert_int_equal(json_array_size(json_object_get(out, "allowed_colours")), 15);
    json_decref(out);
    /* in use → 409 with Cloud's message; then deletable */
    char id[CORE_ID_BYTES];
    create("{\"first_name\":\"S\"}", id, 0, NULL);
    json_t *alert = NULL;
    assert_int_equal(cs_alert_create(db, ORG, INST, id, NULL, "d", &alert, &err), 0);
    const char *ano = json_string_value(json_object_get(alert, "anomaly_id"));
    assert_int_equal(cs_alert_update(db, ORG, INST, ano, NULL, NULL, "Pending_Review", &out, &err),
                     0);
    json_decref(out);
    assert_int_equal(cs_alert_status_delete(db, ORG, "PENDING_REVIEW", &err), CAPP_ECONFLICT);
    assert_int_equal(err.status, 409);
    assert_string_equal(err.message, "cannot delete status: 1 alert(s) use this status - reassign "
                                     "them to another status first");
    assert_int_equal(cs_alert_update(db, ORG, INST, ano, NULL, NULL, "RESOLVED", &out, &err), 0);
    json_decref(out);
    assert_int_equal(cs_alert_status_delete(db, ORG, "pending_review", &err), 0);
    assert_int_equal(cs_alert_status_delete(db, ORG, "pending_review", &err), CAPP_ENOTFOUND);
    /* an organization without RESOLVED (cloudsim serve --without-resolved-status): not listed,
     * not settable, and an app may create its own status instead */
    cs_alert_configure(1);
    assert_int_equal(cs_alert_status_list(db, ORG, &out), 0);
    listed = json_object_get(out, "data");
    assert_int_equal(json_array_size(listed), 2);
    for (size_t i = 0; i < 2; i++)
        assert_string_not_equal(
            json_string_value(json_object_get(json_array_get(listed, i), "key")), "RESOLVED");
    json_decref(out);
    assert_int_equal(cs_alert_update(db, ORG, INST, ano, NULL, NULL, "RESOLVED", &out, &err),
                     CAPP_EINVAL);
    assert_int_equal(err.status, 400);
    assert_int_equal(
        cs_alert_status_create(db, ORG, "KYC cleared", "#10B981", "KYC_CLEARED", &out, &err), 0);
    json_decref(out);
    assert_int_equal(cs_alert_update(db, ORG, INST, ano, NULL, NULL, "kyc_cleared", &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "status")), "KYC_CLEARED");
    json_decref(out);
    cs_alert_configure(0);
    json_decref(alert);
}

/* Unfiltered lists take total from core_counts and serve deep pages from key-set cursors:
 * every page must equal the D17 order (created_at desc, then ID) computed independently, and
 * stay exact after inserts, deletes and moves between instances. */
#define PAGING_INST "inst_paging"
#define PAGING_ROWS 1250
#define PAGING_PAGE 100

static int expected_ids(const char *instance, char ids[][CORE_ID_BYTES], int cap)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(db_prepare(db,
                                "SELECT identity_id FROM core_identities WHERE instance_id = ?"
                                " ORDER BY created_at DESC, identity_id ASC",
                                &stmt),
                     0);
    db_bind_text(stmt, 1, instance);
    int n = 0;
    while (db_step_row(stmt) == 1) {
        assert_true(n < cap);
        db_column_copy(stmt, 0, ids[n++], CORE_ID_BYTES);
    }
    sqlite3_finalize(stmt);
    return n;
}

static void check_page(const char *instance, char ids[][CORE_ID_BYTES], int n, long long page)
{
    json_t *data = NULL;
    long long total = -1;
    long long offset = (page - 1) * PAGING_PAGE;
    assert_int_equal(core_list(db, core_resource(CORE_IDENTITIES), instance, NULL, PAGING_PAGE,
                               offset, CORE_FLAVOUR_DATA, &data, &total),
                     0);
    assert_int_equal(total, n);
    long long want = n - offset < 0 ? 0 : n - offset > PAGING_PAGE ? PAGING_PAGE : n - offset;
    assert_int_equal(json_array_size(data), want);
    for (long long i = 0; i < want; i++)
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(data, i), "identity_id")),
            ids[offset + i]);
    json_decref(data);
}

static void check_all_pages(const char *instance)
{
    static char ids[PAGING_ROWS + 10][CORE_ID_BYTES];
    int n = expected_ids(instance, ids, PAGING_ROWS + 10);
    long long pages = n / PAGING_PAGE + 2;
    for (long long page = 1; page <= pages; page++) /* forward: cursor after the last row */
        check_page(instance, ids, n, page);
    for (long long page = pages; page >= 1; page--) /* backward and repeated: lead cursors */
        check_page(instance, ids, n, page);
    check_page(instance, ids, n, 9);
    check_page(instance, ids, n, 9);
}

static void test_unfiltered_paging_stays_exact(void **state)
{
    char id[CORE_ID_BYTES], victim[CORE_ID_BYTES] = "";
    struct core_error err = {0};
    for (int i = 0; i < PAGING_ROWS; i++) {
        char at[CORE_TIME_BYTES];
        /* three rows share each timestamp, so the ID breaks ties */
        snprintf(at, sizeof at, "2025-01-01T00:%02d:%02d.000000Z", (i / 3) / 60, (i / 3) % 60);
        struct core_identity in = {.first_name = "Pat", .created_at = at};
        assert_int_equal(core_identity_create(db, PAGING_INST, &in, id, &err), 0);
        if (i == 640)
            snprintf(victim, sizeof victim, "%s", id);
    }
    check_all_pages(PAGING_INST);
    /* a delete in the middle and a newer insert shift every deep page by one */
    assert_int_equal(core_identity_delete(db, PAGING_INST, victim, &err), 0);
    check_all_pages(PAGING_INST);
    struct core_identity newest = {.first_name = "Neo", .created_at = "2026-01-01T00:00:00Z"};
    assert_int_equal(core_identity_create(db, PAGING_INST, &newest, id, &err), 0);
    check_all_pages(PAGING_INST);
    /* a row moved to another instance leaves this one's count and order */
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(db_prepare(db,
                                "UPDATE core_identities SET instance_id = 'inst_other'"
                                " WHERE identity_id = ?",
                                &stmt),
                     0);
    db_bind_text(stmt, 1, id);
    assert_int_equal(db_step_done(stmt), 0);
    sqlite3_finalize(stmt);
    check_all_pages(PAGING_INST);
    check_all_pages("inst_other");
    check_all_pages("inst_nobody");
    /* a rolled-back insert leaves both the count and the cursors valid */
    assert_int_equal(db_exec(db, "BEGIN"), 0);
    struct core_identity ghost = {.first_name = "Ghost", .created_at = "2024-06-01T00:00:00Z"};
    assert_int_equal(core_identity_create(db, PAGING_INST, &ghost, id, &err), 0);
    check_all_pages(PAGING_INST);
    db_rollback(db);
    check_all_pages(PAGING_INST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_create_and_dob_flavours),
        cmocka_unit_test(test_identity_create_errors),
        cmocka_unit_test(test_core_error_body),
        cmocka_unit_test(test_identity_partial_update),
        cmocka_unit_test(test_metadata_shallow_merge),
        cmocka_unit_test(test_transaction_metadata_echoes_keys_sent),
        cmocka_unit_test(test_alert_create_and_errors),
        cmocka_unit_test(test_custom_statuses),
        cmocka_unit_test(test_unfiltered_paging_stays_exact),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
