/*
 * fuzz_launch.c — portal_generator_parse() on arbitrary bytes (the portal generator's body). Aborts
 * when an accepted body yields a field that is not a valid ID, or a refusal leaves state behind.
 */
#include <stdint.h>
#include <stdlib.h>

#include "capp/json.h"
#include "capp/portal_generator.h"
#include "capp/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(const char *id, int required)
{
    if (!id ? required : !json_is_valid_id(id, CAPP_MAX_ID_BYTES))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct portal_generator_request r;
    struct json_error err = {0};
    int rc = portal_generator_parse((const char *)data, size, &r, &err);
    if (rc != 0) {
        if (rc > 0 || r.root || !err.code || !err.message[0])
            abort();
        return 0;
    }
    check_id(r.installed_app_id, 1);
    check_id(r.app_id, 1);
    check_id(r.instance_id, 1);
    check_id(r.organization_id, 0);
    check_id(r.user_id, 0);
    portal_generator_request_free(&r);
    if (r.root)
        abort();
    return 0;
}
