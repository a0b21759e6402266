// SPDX-License-Identifier: MIT
/*
 * run_devices.c — `softiommu run`'s device options:
 *
 *   softiommu run [--vfio-device SPEC]... [--iommufd-fd N] [--run-dir DIR] -- CMD [ARGS...]
 *
 * Each --vfio-device (SPEC: "edu|epf-test[,iommu=mock|smmuv3][,fd[=M]]") becomes
 * /dev/vfio/devices/vfioN in CMD, in order from vfio0, with its sysfs-like directory under the
 * run directory; the command prints each device's sysfsdev= path on stderr before CMD starts.
 * The devices exist for CMD's lifetime: softiommu waits for it, then removes the run directory
 * (unless --run-dir named one) and exits with CMD's status. Without device options `run`
 * simply executes CMD.
 *
 * ",fd" hands the device to CMD already open, as libvirt hands one to QEMU: CMD starts with
 * descriptor M (the lowest free number when not given) open on the device and descriptor N
 * (--iommufd-fd, else the lowest free) open on an iommufd, neither close-on-exec, and
 * softiommu prints the QEMU options that take them. The numbers are reserved here and filled
 * by the shim before CMD's main() (SOFTIOMMU_VFIO_FDS, see vfio_handover.c).
 */
#include <errno.h>
#include <fcntl.h>
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
/* the descriptor each device is handed over at: -2 none, -1 any free number, else that */
static int device_fd[SVFIO_MAX_DEVICES];
static int iommufd_fd = -1; /* --iommufd-fd, or -1: any free number */
static bool any_handover;

/* A descriptor number option: 0..INT32_MAX; -1 when not one */
static int parse_fd(const char *v)
{
	char *end;
	long n;

	if (*v < '0' || *v > '9')
		return -1;
	n = strtol(v, &end, 10);
	return *end || n > INT32_MAX ? -1 : (int)n;
}

/* Take ",fd" or ",fd=M" out of @spec into @dev (the rest, for the shim); -1 when bad */
static int split_fd_option(const char *spec, char *dev, size_t size, int *fd)
{
	const char *p = spec;
	size_t used = 0;

	*fd = -2;
	while (*p) {
		size_t n = strcspn(p, ",");
		bool is_fd = p != spec && (n == 2 || p[2] == '=') && !strncmp(p, "fd", 2);

		if (is_fd && n == 2) {
			*fd = -1;
		} else if (is_fd) {
			char num[16];

			if (n - 3 >= sizeof(num))
				return -1;
			memcpy(num, p + 3, n - 3);
			num[n - 3] = '\0';
			*fd = parse_fd(num);
			if (*fd < 0)
				return -1;
		} else {
			if (used + n + 2 > size)
				return -1;
			memcpy(dev + used, p - (used ? 1 : 0), n + (used ? 1 : 0));
			used += n + (used ? 1 : 0);
		}
		p += n;
		p += *p == ',';
	}
	dev[used] = '\0';
	return 0;
}

static int add_device(const char *spec)
{
	char dev[64];
	size_t used = strlen(devices);
	int fd, rc = split_fd_option(spec, dev, sizeof(dev), &fd) ? -EINVAL
								     : sio_vfio_spec_check(dev);

	if (rc) {
		fprintf(stderr, "softiommu run: --vfio-device %s: %s\n", spec,
			rc == -ENODEV	   ? "unknown device model (known: edu, epf-test)"
			: rc == -EOPNOTSUPP ? "iommu=vtd: softiommu has no VT-d model yet "
					      "(iommu=mock or iommu=smmuv3)"
					    : "bad option (iommu=mock|smmuv3, fd, fd=N)");
		return -1;
	}
	if (ndevices == SVFIO_MAX_DEVICES || used + strlen(dev) + 2 > sizeof(devices)) {
		fprintf(stderr, "softiommu run: at most %d devices\n", SVFIO_MAX_DEVICES);
		return -1;
	}
	snprintf(devices + used, sizeof(devices) - used, "%s%s", used ? " " : "", dev);
	device_fd[ndevices++] = fd;
	any_handover |= fd != -2;
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
		} else if ((v = opt_value(argc, argv, "--iommufd-fd"))) {
			iommufd_fd = parse_fd(v);
			if (iommufd_fd < 0) {
				fprintf(stderr, "softiommu run: --iommufd-fd %s: not a number\n", v);
				return -1;
			}
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

/* Reserve descriptor @want (-1: the lowest free) for the program: the number, or -1 */
static int reserve_fd(int want)
{
	int fd;

	if (want >= 0 && fcntl(want, F_GETFD) >= 0) {
		fprintf(stderr, "softiommu run: descriptor %d is already open here\n", want);
		return -1;
	}
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0 && want >= 0 && fd != want) {
		if (dup2(fd, want) < 0)
			want = -1;
		close(fd);
		fd = want;
	}
	if (fd < 0)
		fprintf(stderr, "softiommu run: cannot reserve a descriptor: %s\n", strerror(errno));
	return fd;
}

/*
 * The numbers of the handed-over descriptors (given ones first, so that a free number picked
 * for another cannot take them), in SOFTIOMMU_VFIO_FDS, printed with the QEMU options.
 * Return: 0, or -1 (reported; what was reserved is closed).
 */
static int reserve_handover(int *fds, char *env, size_t size)
{
	size_t used;

	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int i = 0; i <= ndevices; i++) {
			int want = i < ndevices ? device_fd[i] : iommufd_fd;

			if ((i < ndevices && want == -2) || (want < 0) != pass)
				continue;
			fds[i] = reserve_fd(want);
			if (fds[i] < 0)
				goto fail;
		}
	}
	used = (size_t)snprintf(env, size, "iommufd=%d", fds[ndevices]);
	for (unsigned int i = 0; i < ndevices; i++) {
		if (device_fd[i] == -2)
			continue;
		used += (size_t)snprintf(env + used, size - used, " vfio%u=%d", i, fds[i]);
		/* QEMU 11.1 needs an id= with fd= (it crashes without one), as libvirt gives */
		fprintf(stderr,
			"softiommu: vfio%u fd=%d, iommufd fd=%d: -object iommufd,id=iommufd0,fd=%d "
			"-device vfio-pci,id=hostdev%u,iommufd=iommufd0,fd=%d\n",
			i, fds[i], fds[ndevices], fds[ndevices], i, fds[i]);
	}
	return 0;
fail:
	for (unsigned int i = 0; i <= ndevices; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return -1;
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
	int status = 0, fds[SVFIO_MAX_DEVICES + 1];
	char handover[SVFIO_MAX_DEVICES * 24 + 24];
	pid_t pid;

	for (unsigned int i = 0; i <= SVFIO_MAX_DEVICES; i++)
		fds[i] = -1;
	if (any_handover && reserve_handover(fds, handover, sizeof(handover)))
		return 1;
	if (any_handover)
		setenv("SOFTIOMMU_VFIO_FDS", handover, 1);
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
	for (unsigned int i = 0; i <= ndevices; i++)
		if (fds[i] >= 0)
			close(fds[i]);
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
