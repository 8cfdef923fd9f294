/* fuzz_screen_xml — the UN consolidated XML loader, then normalisation of every name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kyc/screen/screen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct screen_error err;
    struct screen_list_set *set = screen_list_set_new();
    if (!set)
        return 0;
    if (screen_list_set_load_un_buffer(set, (const char *)data, size, &err) == 0) {
        struct screen_tokens t;
        for (size_t i = 0; i < screen_list_set_count(set); i++) {
            const struct screen_entry *e = screen_list_set_entry(set, i);
            screen_normalize(e->name, strlen(e->name), SCREEN_NORM_PERSON, &t);
            for (unsigned a = 0; a < e->n_aliases; a++)
                screen_normalize(e->aliases[a].name, strlen(e->aliases[a].name), 0, &t);
        }
    }
    screen_list_set_free(set);
    return 0;
}
