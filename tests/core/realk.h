/* SPDX-License-Identifier: MIT */
/*
 * Build the black-box core tests against the real kernel: the softiommu_* calls become the
 * system calls on /dev/iommu, so the same expectations can be checked against Linux 7.2
 * (tests/core/run-on-refkernel.sh runs them in the reference kernel's guest). Checks that are
 * about softiommu's C API only are left out with #ifndef SIO_REAL_KERNEL.
 */
#ifndef SIO_REALK_H
#define SIO_REALK_H

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define SOFTIOMMU_DUMP_JSON 1u

static inline int softiommu_open(int flags)
{
	int fd = open("/dev/iommu", O_RDWR | flags);

	return fd < 0 ? -errno : fd;
}

static inline int softiommu_is_fd(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static inline long softiommu_ioctl(int fd, unsigned long cmd, void *arg)
{
	long rc = ioctl(fd, cmd, arg);

	return rc < 0 ? -errno : rc;
}

static inline ssize_t softiommu_read(int fd, void *buf, size_t len)
{
	ssize_t rc = read(fd, buf, len);

	return rc < 0 ? -errno : rc;
}

static inline ssize_t softiommu_write(int fd, const void *buf, size_t len)
{
	ssize_t rc = write(fd, buf, len);

	return rc < 0 ? -errno : rc;
}

static inline int softiommu_mmap(int fd, void *addr, size_t len, int prot, int flags,
				 off_t off, void **out)
{
	void *p = mmap(addr, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	return 0;
}

static inline int softiommu_close(int fd)
{
	return close(fd) ? -errno : 0;
}

/* VmPin / VmLck of /proc/self/status, in pages */
static inline void softiommu_pinned_pages(unsigned long *pinned, unsigned long *locked)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "r");

	if (pinned)
		*pinned = 0;
	if (locked)
		*locked = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long kb;

		if (pinned && sscanf(line, "VmPin: %lu kB", &kb) == 1)
			*pinned = kb / 4;
		if (locked && sscanf(line, "VmLck: %lu kB", &kb) == 1)
			*locked = kb / 4;
	}
	if (f)
		fclose(f);
}

#endif
