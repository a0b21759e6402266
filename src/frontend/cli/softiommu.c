// SPDX-License-Identifier: MIT
/*
 * softiommu — the command-line front-end.
 *
 *   softiommu demo            an end-to-end story through the iommufd uAPI, printed step by step
 *   softiommu demo smmuv3     the nested SMMUv3 story: guest stage 1 over stage 2, vSID events
 *   softiommu run -- CMD ...  run CMD with /dev/iommu provided by softiommu (LD_PRELOAD)
 *   softiommu run --vfio-device edu|epf-test[,iommu=mock|smmuv3][,fd[=M]] ...
 *                 [--iommufd-fd N] -- CMD ...
 *                             ... with emulated VFIO devices (run_devices.c)
 *   softiommu dump [--json] [--at-exit] -- CMD ...
 *                             run CMD under softiommu and describe each iommufd's objects and
 *                             mappings as it is closed (or those still open at exit)
 *   softiommu run --daemon -- CMD ...
 *                             ... with /dev/iommu served by a private daemon (daemon.c)
 *   softiommu serve --socket PATH
 *                             host iommufd contexts for other processes (daemon.c)
 *   softiommu preload-path    print the path of libsoftiommu-preload.so
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "run_devices.h"

int softiommu_demo(void);
int softiommu_demo_smmuv3(void);

static const char *preload_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("SOFTIOMMU_PRELOAD");
	char exe[PATH_MAX - 64];
	ssize_t n;

	if (env && *env)
		return env;
	/* Installed layout: <prefix>/bin/softiommu and <prefix>/lib/libsoftiommu-preload.so */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(path, sizeof(path), "%s/../lib/libsoftiommu-preload.so", exe);
			if (access(path, R_OK) == 0)
				return path;
		}
	}
	return SOFTIOMMU_PRELOAD_BUILD;
}

static int cmd_run(int argc, char **argv)
{
	const char *old = getenv("LD_PRELOAD");
	char *val;

	if (argc > 0 && !strcmp(argv[0], "--daemon")) {
		argc--;
		argv++;
		cli_run_daemon(); /* returns in the program's process only */
	}
	if (run_devices_parse(&argc, &argv))
		return 2;
	if (argc > 0 && !strcmp(argv[0], "--")) {
		argc--;
		argv++;
	}
	if (argc < 1) {
		fprintf(stderr, "usage: softiommu run [--vfio-device edu|epf-test[,iommu=mock|smmuv3]"
				"[,fd[=M]]]... [--iommufd-fd N] [--run-dir DIR] -- CMD [ARGS...]\n");
		return 2;
	}
	if (asprintf(&val, "%s%s%s", preload_path(), old && *old ? ":" : "", old ? old : "") < 0)
		return 1;
	setenv("LD_PRELOAD", val, 1);
	free(val); /* setenv copied it */
	if (run_devices_wanted())
		return run_devices_exec(argv);
	execvp(argv[0], argv);
	fprintf(stderr, "softiommu run: %s: %s\n", argv[0], strerror(errno));
	return 127;
}

static int cmd_dump(int argc, char **argv)
{
	const char *what = "text", *when = "close";

	for (; argc > 0 && strcmp(argv[0], "--"); argc--, argv++) {
		if (!strcmp(argv[0], "--json"))
			what = "json";
		else if (!strcmp(argv[0], "--at-exit"))
			when = "exit";
		else
			break;
	}
	setenv("SOFTIOMMU_DUMP", what, 1);
	setenv("SOFTIOMMU_DUMP_WHEN", when, 1);
	return cmd_run(argc, argv);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: softiommu demo [smmuv3|multiprocess]\n"
		   "       softiommu run [--vfio-device edu|epf-test[,iommu=mock|smmuv3][,fd[=M]]]...\n"
		   "                     [--iommufd-fd N] [--run-dir DIR] -- CMD [ARGS...]\n"
		   "       softiommu run --daemon -- CMD [ARGS...]\n"
		   "       softiommu serve --socket PATH\n"
		   "       softiommu dump [--json] [--at-exit] -- CMD [ARGS...]\n"
		   "       softiommu preload-path\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "demo")) {
		if (argc > 2 && !strcmp(argv[2], "smmuv3"))
			return softiommu_demo_smmuv3();
		if (argc > 2 && !strcmp(argv[2], "multiprocess"))
			return cli_demo_multiprocess();
		return softiommu_demo();
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 2, argv + 2);
	if (!strcmp(argv[1], "serve"))
		return cli_serve(argc - 2, argv + 2);
	if (!strcmp(argv[1], "dump"))
		return cmd_dump(argc - 2, argv + 2);
	if (!strcmp(argv[1], "preload-path")) {
		printf("%s\n", preload_path());
		return 0;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
