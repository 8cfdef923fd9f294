/*
 * fuzz_lifecycle.c — lifecycle_parse() on arbitrary bytes (install and uninstall bodies are
 * the first thing an unauthenticated caller reaches). Besides memory errors, it aborts when a
 * parse that succeeds breaks the contract of lifecycle.h or one that fails leaves state behind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capp/json.h"
#include "capp/lifecycle.h"
#include "capp/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(const char *id, int required)
{
    if (!id) {
        if (required)
            abort();
        return;
    }
    if (!json_is_valid_id(id, CAPP_MAX_ID_BYTES))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lifecycle_parsed p;
    struct json_error err = {0};
    int rc = lifecycle_parse((const char *)data, size, &p, &err);
    if (rc != 0) {
        if (rc > 0 || p.root || !err.code || !err.message[0])
            abort();
        return 0;
    }
    const struct store_event *ev = &p.event;
    check_id(ev->installed_app_id, 1);
    check_id(ev->app_id, 1);
    check_id(ev->instance_id, 1);
    check_id(ev->organization_id, 0);
    if (!ev->idempotency_key || ev->sealed_api_key)
        abort();
    if (ev->kind == STORE_EVENT_INSTALL) {
        if (strncmp(ev->idempotency_key, "install:", 8) != 0 || !ev->idempotency_key[8])
            abort();
        if (!p.api_key || !*p.api_key || !ev->api_key_prefix || !*ev->api_key_prefix ||
            ev->uninstalled_at)
            abort();
        /* a prefix that is not the key's start is accepted, but always flagged (D3') */
        if ((strncmp(p.api_key, ev->api_key_prefix, strlen(ev->api_key_prefix)) != 0) !=
            p.api_key_prefix_mismatch)
            abort();
        if (ev->permission_count > CAPP_MAX_PERMISSIONS)
            abort();
        for (size_t i = 0; i < ev->permission_count; i++) {
            if (!*ev->permissions[i] || strlen(ev->permissions[i]) > CAPP_MAX_PERMISSION_BYTES)
                abort();
            for (size_t j = 0; j < i; j++)
                if (strcmp(ev->permissions[i], ev->permissions[j]) == 0)
                    abort();
        }
    } else if (ev->kind == STORE_EVENT_UNINSTALL) {
        if (strncmp(ev->idempotency_key, "uninstall:", 10) != 0 || !ev->idempotency_key[10])
            abort();
        if (p.api_key || ev->api_key_prefix || ev->permission_count)
            abort();
        /* any accepted time is stored as UTC; one that was not is replaced, never kept */
        if (ev->uninstalled_at && (!json_is_rfc3339_utc(ev->uninstalled_at) ||
                                   ev->uninstalled_at != p.uninstalled_at_utc))
            abort();
        if (ev->uninstalled_at && p.uninstalled_at_replaced)
            abort();
    } else {
        abort();
    }
    json_t *key = json_object_get(p.root, "api_key");
    const char *key_bytes = json_is_string(key) ? json_string_value(key) : NULL;
    size_t key_len = key_bytes ? json_string_length(key) : 0;
    json_incref(p.root); /* to look at the key's bytes after the free wiped them */
    json_t *root = p.root;
    lifecycle_parsed_free(&p);
    if (p.root)
        abort();
    for (size_t i = 0; i < key_len; i++) /* wiped for installs and uninstalls alike */
        if (key_bytes[i])
            abort();
    json_decref(root);
    return 0;
}
