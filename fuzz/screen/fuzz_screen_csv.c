/* fuzz_screen_csv — the OFAC CSV reader and loader: the input is sdn.csv, and also alt.csv
 * against a fixed one-row sdn.csv (so the join and orphan checks run). */
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
    screen_list_set_load_ofac_buffers(set, (const char *)data, size, "", 0, "", 0,
                                      (const char *)data, size, &err);
    static const char sdn[] = "1,\"A\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n";
    screen_list_set_load_ofac_buffers(set, sdn, sizeof sdn - 1, (const char *)data, size, "", 0,
                                      NULL, 0, &err);
    screen_list_set_free(set);
    return 0;
}
