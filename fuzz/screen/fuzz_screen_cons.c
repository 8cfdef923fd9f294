/* fuzz_screen_cons — the OFAC Consolidated (non-SDN) CSV set: the same reader as the SDN set
 * under the cons_ layout, so its file names reach the messages. The input is cons_prim.csv, and
 * also cons_alt.csv against a fixed one-row cons_prim.csv (the join and orphan checks). */
#include <stdint.h>
#include <stdlib.h>

#include "kyc/screen/screen_ofac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct screen_error err;
    struct screen_list_set *set = screen_list_set_new();
    if (!set)
        return 0;
    const char *in = (const char *)data;
    struct screen_ofac_files files = {
        in, size, "", 0, "", 0, in, size, NULL, NULL, &screen_ofac_cons, NULL};
    screen_ofac_load(set, &files, &err);
    static const char prim[] = "9639,\"HANIYA, Ismail\",\"individual\",\"NS-PLC\",-0- ,-0- ,-0- "
                               ",-0- ,-0- ,-0- ,-0- ,-0- \r\n";
    struct screen_ofac_files side = {prim, sizeof prim - 1,   in,  size, "", 0, NULL, 0, NULL,
                                     NULL, &screen_ofac_cons, NULL};
    screen_ofac_load(set, &side, &err);
    screen_list_set_free(set);
    return 0;
}
