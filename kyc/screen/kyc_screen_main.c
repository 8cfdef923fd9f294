/* kyc-screen — standalone front end for `kyc screen` / `kyc lists` (tests, benchmarks). */
#include <stdio.h>

#include "kyc/screen/screen_cli.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: kyc-screen screen|lists ...\n");
        return 2;
    }
    return screen_cli_main(argc - 1, argv + 1);
}
