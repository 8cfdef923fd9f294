/* fuzz_screen_senzing — the OpenSanctions Senzing JSON loader: the input is the export, one
 * record per line. A successful load is also indexed, so every field it accepted is used. */
#include <stdint.h>
#include <stdlib.h>

#include "kyc/screen/screen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct screen_error err;
    struct screen_list_set *set = screen_list_set_new();
    if (!set)
        return 0;
    if (screen_list_set_load_senzing_buffer(set, (const char *)data, size, "fuzz.json", &err)) {
        screen_list_set_free(set);
        return 0;
    }
    struct screen_index *idx;
    if (screen_index_build(set, &idx) == 0) /* takes the set */
        screen_index_release(idx);
    return 0;
}
