/* fuzz_screen_remarks — the OFAC remarks parser (DOBs, documents, aliases, ...). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kyc/screen/screen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct screen_error err;
    struct screen_entry e;
    memset(&e, 0, sizeof e);
    struct screen_list_set *set = screen_list_set_new();
    if (!set)
        return 0;
    screen_remarks_parse(set, (const char *)data, size, &e, &err);
    screen_list_set_free(set);
    return 0;
}
