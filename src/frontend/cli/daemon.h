/* SPDX-License-Identifier: MIT */
#ifndef SIO_CLI_DAEMON_H
#define SIO_CLI_DAEMON_H
int cli_serve(int argc, char **argv);
int cli_run_daemon(void);
#endif
