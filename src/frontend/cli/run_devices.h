/* SPDX-License-Identifier: MIT */
/* run_devices.c: `softiommu run`'s --vfio-device and --run-dir options */
#ifndef SIO_CLI_RUN_DEVICES_H
#define SIO_CLI_RUN_DEVICES_H

#include <stdbool.h>

/* Consume the device options at the front of @argv. Return: 0, or -1 (reported) */
int run_devices_parse(int *argc, char ***argv);
/* Whether any device was asked for */
bool run_devices_wanted(void);
/* Run @argv with the devices, wait for it, clean up. Return: the exit status to give */
int run_devices_exec(char **argv);

#endif
