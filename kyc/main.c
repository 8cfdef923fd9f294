/*
 * kyc — the KYC review app's command line.
 *
 *   kyc serve ...     the app server (capp runtime + the KYC portal); see capp/serve.h
 *   kyc screen ...    screen names against sanctions lists (kyc/screen)
 *   kyc lists ...     fetch and inspect sanctions list files (kyc/screen)
 *   kyc audit ...     verify the hash-chained audit trail, export a dossier (kyc/audit.h)
 */
#include <stdio.h>
#include <string.h>

#include "capp/serve.h"
#include "kyc/serve_kyc.h"
#include "kyc/audit.h"
#ifdef KYC_HAVE_SCREEN
#include "kyc/screen/screen_cli.h"
#endif

static const char usage[] =
    "usage: kyc <command> [options]\n"
    "commands:\n"
    "  serve    run the app server on SQLite or PostgreSQL (kyc serve --help)\n"
    "  screen   screen a name or a batch against sanctions lists\n"
    "  lists    fetch sanctions lists / show what is loaded\n"
    "  audit    verify the audit trail / export a dossier\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *command = argv[1];
    if (strcmp(command, "serve") == 0)
        return capp_serve_main(argc - 1, argv + 1, kyc_serve_hooks());
#ifdef KYC_HAVE_SCREEN
    if (strcmp(command, "screen") == 0 || strcmp(command, "lists") == 0)
        return screen_cli_main(argc - 1, argv + 1);
#endif
    if (strcmp(command, "audit") == 0)
        return audit_cli_main(argc - 1, argv + 1);
    if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    fprintf(stderr, "kyc: unknown command '%s'\n%s", command, usage);
    return 2;
}
