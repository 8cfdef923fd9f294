/*
 * screen_cli.h — the `kyc screen` and `kyc lists` commands.
 *
 * argv[0] is the subcommand word ("screen" or "lists"); the `kyc` binary dispatches to this.
 * Returns the process exit code: 0 success, 1 a runtime failure (a list that does not load,
 * a batch line that fails), 2 a usage error. Every error is one line on stderr naming the
 * bad argument, file or batch line.
 */
#ifndef SCREEN_CLI_H
#define SCREEN_CLI_H

int screen_cli_main(int argc, char **argv);

#endif
