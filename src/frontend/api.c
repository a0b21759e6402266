// SPDX-License-Identifier: MIT
/*
 * The public C API (layer 1): file-descriptor operations on softiommu files. No iommufd logic
 * lives here; each call finds the file behind the descriptor and forwards to its operations.
 */
#include <errno.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <softiommu/softiommu.h>

#include "../core/file.h"
#include "../core/mem/safecopy.h"
#include "../core/sio.h"

int sio_ctx_open(int flags);
int sio_remote_open(const char *path, int flags);

/* Daemon mode (docs/daemon.md): SOFTIOMMU_DAEMON names the socket of `softiommu serve` */
int softiommu_open(int flags)
{
	const char *daemon = getenv("SOFTIOMMU_DAEMON");

	if (daemon && *daemon)
		return sio_remote_open(daemon, flags);
	/* A program may have replaced our fault handler since the last open (library mode) */
	sio_safecopy_recheck();
	return sio_ctx_open(flags);
}

int softiommu_open_remote(const char *path, int flags)
{
	if (!path || !*path)
		return -EINVAL;
	return sio_remote_open(path, flags);
}

int sio_remote_adopt(int fd);

int softiommu_adopt_fd(int fd)
{
	return sio_remote_adopt(fd);
}

int softiommu_is_fd(int fd)
{
	return sio_file_is_fd(fd);
}

int softiommu_fd_check(int fd)
{
	return sio_file_check(fd);
}

int softiommu_fd_is_internal(int fd)
{
	return sio_file_is_internal(fd);
}

int softiommu_fd_vacate(int fd)
{
	return sio_file_vacate(fd);
}

int softiommu_fd_limit(void)
{
	return sio_file_limit();
}

int softiommu_close_with(int fd, int (*close_fn)(void *arg), void *arg)
{
	return sio_file_close_with(fd, close_fn, arg);
}

/* No file: -EIO for one inherited across fork(), else -EBADF */
static int no_file(int fd)
{
	return sio_file_is_inherited(fd) ? -EIO : -EBADF;
}

/* The iommufd and VFIO ioctls (type ';') trust the number: the hot path */
#define IOMMUFD_IOCTL_TYPE ';'

long softiommu_ioctl(int fd, unsigned long cmd, void *arg)
{
	struct sio_file *f = _IOC_TYPE(cmd) == IOMMUFD_IOCTL_TYPE ? sio_file_get_unchecked(fd)
								  : sio_file_get(fd);
	long rc;

	if (!f)
		return no_file(fd);
	rc = f->ops->ioctl ? f->ops->ioctl(f, cmd, arg) : -ENOTTY;
	sio_file_put(f);
	return rc;
}

/*
 * vfs_read()/vfs_write()'s access_ok(): a buffer that does not lie wholly below the top of
 * user space (x86-64 with 4-level paging: 2^47 - 4 KiB) is EFAULT before the file sees it.
 */
#define SIO_USER_ADDR_END 0x00007ffffffff000ULL

static bool user_range_ok(const void *buf, size_t len)
{
	uintptr_t end;

	return !__builtin_add_overflow((uintptr_t)buf, len, &end) && end <= SIO_USER_ADDR_END;
}

ssize_t softiommu_read(int fd, void *buf, size_t len)
{
	struct sio_file *f = sio_file_get(fd);
	ssize_t rc;

	if (!f)
		return no_file(fd);
	if (!f->ops->read)
		rc = -EINVAL;		/* no read: FMODE_CAN_READ, checked first */
	else if (!user_range_ok(buf, len))
		rc = -EFAULT;
	else
		rc = f->ops->read(f, buf, len);
	sio_file_put(f);
	return rc;
}

ssize_t softiommu_write(int fd, const void *buf, size_t len)
{
	struct sio_file *f = sio_file_get(fd);
	ssize_t rc;

	if (!f)
		return no_file(fd);
	if (!f->ops->write)
		rc = -EINVAL;		/* no write: FMODE_CAN_WRITE, checked first */
	else if (!user_range_ok(buf, len))
		rc = -EFAULT;
	else
		rc = f->ops->write(f, buf, len);
	sio_file_put(f);
	return rc;
}

int softiommu_mmap(int fd, void *addr, size_t len, int prot, int flags, off_t offset,
		   void **out)
{
	struct sio_file *f = sio_file_get(fd);
	int rc;

	if (!f)
		return no_file(fd);
	rc = f->ops->mmap ? f->ops->mmap(f, addr, len, prot, flags, offset, out) : -ENODEV;
	sio_file_put(f);
	return rc;
}

int softiommu_close(int fd)
{
	return sio_file_close(fd);
}

int softiommu_dup(int oldfd, int newfd)
{
	return sio_file_dup(oldfd, newfd);
}

unsigned long softiommu_live_objects(void)
{
	return atomic_load(&sio_live_objects);
}

void softiommu_pinned_pages(unsigned long *pinned, unsigned long *locked)
{
	if (pinned)
		*pinned = atomic_load(&sio_account.pinned_vm);
	if (locked)
		*locked = atomic_load(&sio_account.locked_vm);
}
