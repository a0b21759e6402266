// SPDX-License-Identifier: MIT
/*
 * fake_backend.c — a tiny softiommu for testing the preload shim's routing: every "file" is a
 * refcounted record behind a real eventfd, found through an fd-indexed table. It calls libc
 * close()/mmap() itself, as the core does, which checks that such calls bypass the shim.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <softiommu/softiommu.h>
#include "fake_backend.h"

#define FAKE_MAX_FD 4096

struct fake_file {
	atomic_int refs;
};

static struct fake_file *_Atomic fake_fds[FAKE_MAX_FD];
static atomic_int fake_live;
static atomic_ulong fake_pinned, fake_locked;

static struct fake_file *fake_get(int fd)
{
	if (fd < 0 || fd >= FAKE_MAX_FD)
		return NULL;
	return atomic_load_explicit(&fake_fds[fd], memory_order_acquire);
}

static void fake_put(struct fake_file *f)
{
	if (atomic_fetch_sub(&f->refs, 1) == 1) {
		free(f);
		atomic_fetch_sub(&fake_live, 1);
	}
}

int softiommu_open(int flags)
{
	struct fake_file *f = calloc(1, sizeof(*f));
	int fd;

	if (!f)
		return -ENOMEM;
	fd = eventfd(0, ((flags & O_CLOEXEC) ? EFD_CLOEXEC : 0) |
			       ((flags & O_NONBLOCK) ? EFD_NONBLOCK : 0));
	if (fd < 0 || fd >= FAKE_MAX_FD) {
		int err = fd < 0 ? errno : EMFILE;

		if (fd >= 0)
			close(fd);
		free(f);
		return -err;
	}
	atomic_init(&f->refs, 1);
	atomic_fetch_add(&fake_live, 1);
	atomic_store_explicit(&fake_fds[fd], f, memory_order_release);
	return fd;
}

int softiommu_is_fd(int fd)
{
	return fake_get(fd) != NULL;
}

long softiommu_ioctl(int fd, unsigned long cmd, void *arg)
{
	struct fake_file *f = fake_get(fd);
	unsigned long *pin = arg;

	if (!f)
		return -EBADF;
	switch (cmd) {
	case FAKE_IOCTL_ECHO:
		return FAKE_ECHO_VALUE;
	case FAKE_IOCTL_FAIL:
		return -EPERM;
	case FAKE_IOCTL_REFS:
		*(int *)arg = atomic_load(&f->refs);
		return 0;
	case FAKE_IOCTL_LIVE:
		*(int *)arg = atomic_load(&fake_live);
		return 0;
	case FAKE_IOCTL_PIN:
		atomic_store(&fake_pinned, pin[0]);
		atomic_store(&fake_locked, pin[1]);
		return 0;
	}
	return -ENOTTY;
}

ssize_t softiommu_read(int fd, void *buf, size_t len)
{
	if (!fake_get(fd))
		return -EBADF;
	if (len < sizeof(FAKE_READ_TEXT))
		return -EINVAL;
	memcpy(buf, FAKE_READ_TEXT, sizeof(FAKE_READ_TEXT));
	return sizeof(FAKE_READ_TEXT);
}

ssize_t softiommu_write(int fd, const void *buf, size_t len)
{
	if (!fake_get(fd))
		return -EBADF;
	return len ? (ssize_t)len : -EINVAL;
}

int softiommu_mmap(int fd, void *addr, size_t len, int prot, int flags, off_t offset, void **out)
{
	void *p;

	if (!fake_get(fd))
		return -EBADF;
	if (offset)
		return -EINVAL;
	p = mmap(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	memcpy(p, FAKE_MMAP_TEXT, sizeof(FAKE_MMAP_TEXT));
	*out = p;
	return 0;
}

int softiommu_close(int fd)
{
	struct fake_file *f;

	if (fd < 0 || fd >= FAKE_MAX_FD)
		return -EBADF;
	f = atomic_exchange(&fake_fds[fd], NULL);
	if (!f)
		return -EBADF;
	close(fd);
	fake_put(f);
	return 0;
}

int softiommu_dup(int oldfd, int newfd)
{
	struct fake_file *f = fake_get(oldfd), *old;

	if (!f)
		return -EBADF;
	if (newfd < 0 || newfd >= FAKE_MAX_FD)
		return -EMFILE;
	atomic_fetch_add(&f->refs, 1);
	old = atomic_exchange(&fake_fds[newfd], f);
	if (old)
		fake_put(old); /* @newfd was ours: the real dup2 already closed its eventfd */
	return 0;
}

void softiommu_pinned_pages(unsigned long *pinned, unsigned long *locked)
{
	*pinned = atomic_load(&fake_pinned);
	*locked = atomic_load(&fake_locked);
}

/* The fake trusts its numbers: every registered descriptor is taken to still be its own */
int softiommu_fd_check(int fd)
{
	return fake_get(fd) != NULL;
}

int softiommu_fd_is_internal(int fd)
{
	return 0;
}

int softiommu_fd_vacate(int fd)
{
	return 0;
}

int softiommu_fd_limit(void)
{
	return FAKE_MAX_FD;
}

int softiommu_close_with(int fd, int (*close_fn)(void *arg), void *arg)
{
	struct fake_file *f;
	int rc;

	if (fd < 0 || fd >= FAKE_MAX_FD)
		return -EBADF;
	f = atomic_exchange(&fake_fds[fd], NULL);
	if (!f)
		return -EBADF;
	rc = close_fn(arg);
	fake_put(f);
	return rc;
}

/* memory.c's hooks: the fake has no pinned memory to keep */
void *shim_mem_before_map_fixed(void *addr, size_t len, int flags)
{
	(void)addr;
	(void)len;
	(void)flags;
	return NULL;
}

void shim_mem_after_map_fixed(void *keep)
{
	(void)keep;
}
