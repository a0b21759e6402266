// SPDX-License-Identifier: MIT
/*
 * run_devices.c — `softiommu run`'s device options:
 *
 *   softiommu run [--vfio-device SPEC]... [--run-dir DIR] -- CMD [ARGS...]
 *
 * Each --vfio-device (SPEC: "edu|epf-test[,iommu=mock]") becomes /dev/vfio/devices/vfioN in CMD, in
 * order from vfio0, with its sysfs-like directory under the run directory; the command prints
 * each device's sysfsdev= path on stderr before CMD starts. The devices exist for CMD's
 * lifetime: softiommu waits for it, then removes the run directory (unless --run-dir named
 * one) and exits with CMD's status. Without device options `run` simply executes CMD.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/vfio/vfio.h"
#include "run_devices.h"

static char devices[SVFIO_MAX_DEVICES * 64];
static unsigned int ndevices;
static const char *given_run_dir;

static int add_device(const char *spec)
{
	int rc = sio_vfio_spec_check(spec);
	size_t used = strlen(devices);

	if (rc) {
		fprintf(stderr, "softiommu run: --vfio-device %s: %s\n", spec,
			rc == -ENODEV ? "unknown device model (known: edu, epf-test)" : "bad option");
		return -1;
	}
	if (ndevices == SVFIO_MAX_DEVICES || used + strlen(spec) + 2 > sizeof(devices)) {
		fprintf(stderr, "softiommu run: at most %d devices\n", SVFIO_MAX_DEVICES);
		return -1;
	}
	snprintf(devices + used, sizeof(devices) - used, "%s%s", used ? " " : "", spec);
	ndevices++;
	return 0;
}

/* @opt is "--NAME VALUE" or "--NAME=VALUE" at (*argv)[0]; the value, or NULL if not @name */
static const char *opt_value(int *argc, char ***argv, const char *name)
{
	size_t n = strlen(name);
	char *a = (*argv)[0];

	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] || *argc < 2)
		return NULL;
	(*argc)--;
	(*argv)++;
	return (*argv)[0];
}

int run_devices_parse(int *argc, char ***argv)
{
	while (*argc > 0 && strcmp((*argv)[0], "--")) {
		const char *v;

		if ((v = opt_value(argc, argv, "--vfio-device"))) {
			if (add_device(v))
				return -1;
		} else if ((v = opt_value(argc, argv, "--run-dir"))) {
			given_run_dir = v;
		} else {
			return 0; /* the command itself */
		}
		(*argc)--;
		(*argv)++;
	}
	return 0;
}

bool run_devices_wanted(void)
{
	return ndevices > 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) ? -1 : 0;
}

static int prepare_run_dir(char *dir, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	if (given_run_dir) {
		snprintf(dir, size, "%s", given_run_dir);
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -1;
		return 0;
	}
	snprintf(dir, size, "%s/softiommu-run.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

int run_devices_exec(char **argv)
{
	char dir[PATH_MAX - 64], name[32];
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	int status = 0;
	pid_t pid;

	if (prepare_run_dir(dir, sizeof(dir))) {
		fprintf(stderr, "softiommu run: run directory: %s\n", strerror(errno));
		return 1;
	}
	setenv("SOFTIOMMU_RUN_DIR", dir, 1);
	setenv("SOFTIOMMU_VFIO_DEVICES", devices, 1);
	for (unsigned int i = 0; i < ndevices; i++) {
		sio_vfio_pci_name(i, name, sizeof(name));
		fprintf(stderr, "softiommu: /dev/vfio/devices/vfio%u sysfsdev=%s/devices/%s\n", i,
			dir, name);
	}
	/* like system(): the terminal's signals are for the command; we clean up after it */
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	pid = fork();
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		execvp(argv[0], argv);
		fprintf(stderr, "softiommu run: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!given_run_dir)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (pid < 0) {
		fprintf(stderr, "softiommu run: fork: %s\n", strerror(errno));
		return 1;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
