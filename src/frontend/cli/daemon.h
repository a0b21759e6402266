/* SPDX-License-Identifier: MIT */
#ifndef SIO_CLI_DAEMON_H
#define SIO_CLI_DAEMON_H
int cli_serve(int argc, char **argv);
int cli_run_daemon(void);
/* A private daemon for this process and its children (SOFTIOMMU_DAEMON set) */
int cli_daemon_start(void);
void cli_daemon_stop(void);
int cli_demo_multiprocess(void);
#endif
