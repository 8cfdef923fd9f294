/*
 * admin_cli.h — the client subcommands of `cloudsim` (register, install, launch, uninstall,
 * state). Each talks to the admin API of a running `cloudsim serve` (docs/cloudsim.md), prints
 * the one value a script needs on stdout (or the whole JSON answer with --json) and returns
 * the process exit code: 0 ok, 1 the server refused or the flow failed, 2 bad usage.
 */
#ifndef CLOUDSIM_ADMIN_CLI_H
#define CLOUDSIM_ADMIN_CLI_H

int cs_cli_register(int argc, char **argv);
int cs_cli_install(int argc, char **argv);
int cs_cli_launch(int argc, char **argv);
int cs_cli_uninstall(int argc, char **argv);
int cs_cli_state(int argc, char **argv);

#endif
