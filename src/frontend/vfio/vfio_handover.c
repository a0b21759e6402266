// SPDX-License-Identifier: MIT
/*
 * vfio_handover.c — descriptors handed to a program already open, as libvirt hands a VMM
 * /dev/iommu and /dev/vfio/devices/vfioN (QEMU's `-object iommufd,fd=N` and `-device
 * vfio-pci,fd=M`).
 *
 * An emulated device lives in the program's process (the shim), so whoever starts the program
 * (`softiommu run`) cannot open it there. It reserves the numbers instead: each is an open
 * descriptor without FD_CLOEXEC (a placeholder) when the program is executed, and
 * SOFTIOMMU_VFIO_FDS names what each must become, e.g. "iommufd=10 vfio0=11". When the shim
 * loads, before the program's main(), each placeholder is replaced, at the same number and
 * still without FD_CLOEXEC, by a new iommufd or a new descriptor of device vfioN (opened
 * O_RDWR, as libvirt opens it). The variable is then removed, so that the program's own
 * children do not replace their copies of those numbers.
 *
 * A number that is not open, or that softiommu already uses, is an error: nothing is
 * replaced at that number (the others still are).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <softiommu/softiommu.h>

#include "vfio.h"

/* Open @what ("iommufd" or "vfioN") as a new descriptor of ours, or -errno */
static int handover_open(const char *what, size_t n)
{
	char name[16];
	unsigned long index;
	char *end;

	if (n == strlen("iommufd") && !strncmp(what, "iommufd", n))
		return softiommu_open(O_RDWR);
	if (n >= sizeof(name) || n <= 4 || strncmp(what, "vfio", 4))
		return -EINVAL;
	memcpy(name, what, n);
	name[n] = '\0';
	index = strtoul(name + 4, &end, 10);
	if (*end || name[4] < '0' || name[4] > '9' || (name[4] == '0' && name[5]) ||
	    index >= SVFIO_MAX_DEVICES || !sio_vfio_dev((unsigned int)index))
		return -ENODEV;
	return sio_vfio_open(sio_vfio_dev((unsigned int)index), O_RDWR);
}

/* Put a new @what at @fd, the placeholder: 0 or -errno (the placeholder then stays) */
static int handover_one(const char *what, size_t n, int fd)
{
	int ours, rc;

	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (softiommu_is_fd(fd))
		return -EBUSY;
	ours = handover_open(what, n);
	if (ours < 0)
		return ours;
	rc = syscall(SYS_dup3, ours, fd, 0) < 0 ? -errno : softiommu_dup(ours, fd);
	softiommu_close(ours);
	return rc;
}

/**
 * sio_vfio_handover_from_env() - replace the placeholders SOFTIOMMU_VFIO_FDS names
 *
 * The variable holds "WHAT=FD" items separated by spaces or ';', WHAT being "iommufd" or
 * "vfioN" (an existing device). Errors are reported on stderr with the item.
 * Return: descriptors replaced, or the first error (the items after it are still done).
 */
int sio_vfio_handover_from_env(void)
{
	const char *env = getenv("SOFTIOMMU_VFIO_FDS");
	int done = 0, first_err = 0;

	if (!env)
		return 0;
	while (*env) {
		size_t n = strcspn(env, "; \t"), key = strcspn(env, "=");
		char *end;
		long fd;
		int rc = -EINVAL;

		if (n && key < n) {
			fd = strtol(env + key + 1, &end, 10);
			if (end == env + n && end > env + key + 1 && fd >= 0 && fd <= INT32_MAX)
				rc = handover_one(env, key, (int)fd);
		}
		if (n && rc) {
			fprintf(stderr, "softiommu: SOFTIOMMU_VFIO_FDS: %.*s: %s\n", (int)n, env,
				strerror(-rc));
			first_err = first_err ? first_err : rc;
		} else if (n) {
			done++;
		}
		env += n;
		env += strspn(env, "; \t");
	}
	unsetenv("SOFTIOMMU_VFIO_FDS");
	return first_err ? first_err : done;
}
