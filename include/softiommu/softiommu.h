/* SPDX-License-Identifier: MIT */
/*
 * softiommu — Linux iommufd (/dev/iommu, uAPI of Linux 7.2) implemented in user space.
 *
 * The public API is file-descriptor based, like the kernel's: softiommu_open() returns a real
 * file descriptor (an eventfd the library owns) that stands for an open /dev/iommu; the other
 * calls take that fd, or fds that ioctls on it hand out (access, fault queue, vEVENTQ, dmabuf).
 * poll()/select()/epoll work on those fds directly. Every call returns a non-negative value on
 * success and a negative errno on failure; errno is never touched.
 */
#ifndef SOFTIOMMU_H
#define SOFTIOMMU_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * softiommu_open() - open a new iommufd context, as open("/dev/iommu") would
 * @flags: O_CLOEXEC and O_NONBLOCK are honoured; other open flags are ignored
 *
 * Return: a file descriptor, or -errno.
 */
int softiommu_open(int flags);

/**
 * softiommu_open_remote() - open a new iommufd context in the daemon at @path
 * @path: the socket of `softiommu serve` (docs/daemon.md)
 * @flags: as softiommu_open()
 *
 * The descriptor works with every softiommu_* descriptor call and is shared by fork() as a
 * kernel iommufd is; requests act for the calling process. Passed to another process by
 * SCM_RIGHTS, it is a socket there until that process calls softiommu_adopt_fd() on it (the
 * LD_PRELOAD shim does so on the first iommufd ioctl). softiommu_open() does the same as this
 * when SOFTIOMMU_DAEMON names a socket.
 * Return: a file descriptor, or -errno (-ENODEV when no daemon listens at @path).
 */
int softiommu_open_remote(const char *path, int flags);

/**
 * softiommu_adopt_fd() - make @fd, a daemon-mode iommufd received by SCM_RIGHTS, this
 * process's iommufd (since SOFTIOMMU_0.4)
 *
 * The process joins the sender's context with a connection of its own (proving to the daemon
 * that it holds @fd); @fd keeps its number, works with every softiommu_* descriptor call and
 * softiommu_dev_open_remote(), and its requests act for this process's memory. The context
 * lives while any process holds it. softiommu_close(@fd) closes it.
 * Return: @fd, or -errno: -ENOTSOCK, -EINVAL (not a daemon's iommufd), -EPERM (the daemon
 * knows no such iommufd), -EEXIST (already a softiommu descriptor).
 */
int softiommu_adopt_fd(int fd);

/**
 * softiommu_is_fd() - whether @fd is a file descriptor softiommu handed out (registered; see
 * softiommu_fd_check() for whether the number still names it)
 *
 * A descriptor inherited across fork() stays registered in the child, but softiommu's state
 * is not shared between processes: every call on it in the child fails with -EIO, and
 * softiommu_close() releases only the child's descriptor.
 */
int softiommu_is_fd(int fd);

/**
 * softiommu_ioctl() - issue an ioctl on a softiommu fd
 *
 * Return: the ioctl's non-negative result, or -errno (-EBADF if @fd is not ours, -ENOTTY for
 * an unknown command).
 */
long softiommu_ioctl(int fd, unsigned long cmd, void *arg);

/** softiommu_read() - read(2) on a softiommu fd (fault queue, vEVENTQ). Return: bytes or -errno. */
ssize_t softiommu_read(int fd, void *buf, size_t len);

/** softiommu_write() - write(2) on a softiommu fd (fault responses). Return: bytes or -errno. */
ssize_t softiommu_write(int fd, const void *buf, size_t len);

/**
 * softiommu_mmap() - mmap(2) of a softiommu fd
 * @out: receives the mapping address on success
 *
 * Return: 0 or -errno.
 */
int softiommu_mmap(int fd, void *addr, size_t len, int prot, int flags, off_t offset, void **out);

/**
 * softiommu_close() - close(2) a softiommu fd. Dropping the last reference to an iommufd context
 * destroys all of its objects, leaves first.
 *
 * Return: 0 or -errno (-EBADF if @fd is not ours).
 */
int softiommu_close(int fd);

/**
 * softiommu_dup() - record that @newfd (made by dup/dup2/dup3/F_DUPFD on @oldfd) refers to the
 * same softiommu file as @oldfd. The caller has already made @newfd with the real syscall.
 *
 * Return: 0 or -errno.
 */
int softiommu_dup(int oldfd, int newfd);

/*
 * For the LD_PRELOAD shim (and any front-end that interposes a program's descriptor calls).
 * softiommu_is_fd() says whether a number is registered; the number may have been closed
 * behind softiommu's back (a raw close system call, glibc's fclose) and reused.
 */

/**
 * softiommu_fd_check() - whether @fd still names the softiommu file registered for it
 *
 * A registration whose number now names another file (or none) is dropped, releasing the
 * softiommu file as a close would have. Return: 1 when @fd is softiommu's, else 0.
 */
int softiommu_fd_check(int fd);

/**
 * softiommu_fd_is_internal() - whether @fd is one of softiommu's own descriptors, which the
 * program never opened (a front-end keeps the program's close and dup2 off it)
 */
int softiommu_fd_is_internal(int fd);

/**
 * softiommu_fd_vacate() - free @fd's number for the program (before its dup2 onto it): when
 * softiommu uses it internally, its descriptor moves to another number.
 *
 * Return: 0 or -errno.
 */
int softiommu_fd_vacate(int fd);

/** softiommu_fd_limit() - one past the highest descriptor number softiommu has used */
int softiommu_fd_limit(void);

/**
 * softiommu_close_with() - softiommu_close() where @close_fn closes the number instead of
 * close(2) (e.g. fclose of a stdio stream on the descriptor)
 *
 * Return: @close_fn's result, or -EBADF if @fd is not softiommu's.
 */
int softiommu_close_with(int fd, int (*close_fn)(void *arg), void *arg);

/**
 * softiommu_pinned_pages() - pages currently pinned by softiommu in this process, as the kernel
 * would show them in /proc/self/status
 * @pinned: out, VmPin in pages (pinned_vm)
 * @locked: out, VmLck contribution in pages (locked_vm charged in IOMMU_OPTION_RLIMIT_MODE mm)
 */
void softiommu_pinned_pages(unsigned long *pinned, unsigned long *locked);

/**
 * softiommu_live_objects() - iommufd contexts and objects (IOAS, HWPT, device, access, ...)
 * alive in this process: 0 once every descriptor softiommu handed out is closed and every
 * emulated device destroyed. A leak check for tests and fuzzers.
 */
unsigned long softiommu_live_objects(void);

/*
 * Devices a program emulates (a VMM's device models), and their DMA.
 *
 * softiommu_dev_create() makes a device of an IOMMU model and binds it to an iommufd, as
 * VFIO_DEVICE_BIND_IOMMUFD binds a real one; its device ID works in every iommufd ioctl
 * (HWPT_ALLOC, VIOMMU_ALLOC, VDEVICE_ALLOC, GET_HW_INFO, ...). softiommu_dev_attach() is
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT (it replaces an existing attachment). softiommu_dma_read() and
 * softiommu_dma_write() are the device's DMA: translated through what (device, PASID) is
 * attached to, faults routed as Linux routes them — to the HWPT's fault queue as I/O page
 * faults when it has one, else to the vIOMMU's vEVENTQ with the device's virtual ID — and
 * returning -EFAULT.
 */
struct softiommu_dev;

/**
 * softiommu_dev_create() - a new device of @model bound to @iommufd
 * @model: "mock" (the selftest mock IOMMU; @flags are its MOCK_FLAGS_DEVICE_*)
 * @out: the device
 * @dev_id: out, its iommufd device ID
 *
 * Return: 0, -ENODEV for an unknown model, -EBADF/-EINVAL for a bad iommufd, or -errno.
 */
int softiommu_dev_create(int iommufd, const char *model, unsigned int flags,
			 struct softiommu_dev **out, unsigned int *dev_id);

/**
 * softiommu_dev_attach() - attach (@dev, @pasid) to an IOAS, HWPT or vIOMMU-nested HWPT
 * @pasid: 0 for the device's requests without a PASID
 * @pt_id: in: IOAS or HWPT ID; out: the HWPT ID attached (an automatic one for an IOAS)
 */
int softiommu_dev_attach(struct softiommu_dev *dev, unsigned int pasid, unsigned int *pt_id);
int softiommu_dev_detach(struct softiommu_dev *dev, unsigned int pasid);
/**
 * softiommu_dev_open_remote() - the device @dev_id that another process (a VMM) bound to the
 * daemon-mode @iommufd, for a device-model process's DMA (since SOFTIOMMU_0.4)
 * @iommufd: from softiommu_open_remote(), fork(), or softiommu_adopt_fd()
 *
 * softiommu_dma_read/write/readv/writev() work on it, through whatever the VMM attached and
 * into the memory of whichever process mapped the pages; attach and detach are the VMM's
 * (-EOPNOTSUPP). On a fault within a scatter DMA, *moved counts whole ranges only.
 * softiommu_dev_destroy() frees it; the device itself stays the VMM's.
 * Return: 0, -EBADF (not a daemon-mode iommufd), -ENOENT (no such device), or -errno.
 */
int softiommu_dev_open_remote(int iommufd, unsigned int dev_id, struct softiommu_dev **out);
/** softiommu_dev_destroy() - detach everything, unbind and free (NULL is fine) */
void softiommu_dev_destroy(struct softiommu_dev *dev);

/**
 * softiommu_dma_read() - @len bytes from @iova into @buf, tagged with @pasid (0: none)
 * Return: 0 or -errno: -EFAULT on a fault, -EINVAL for a PASID the device cannot issue (a
 * device created without PASID support issues none).
 */
int softiommu_dma_read(struct softiommu_dev *dev, unsigned int pasid, unsigned long long iova,
		       void *buf, size_t len);
/** softiommu_dma_write() - @len bytes of @buf to @iova. Return: 0 or -errno (-EFAULT). */
int softiommu_dma_write(struct softiommu_dev *dev, unsigned int pasid, unsigned long long iova,
			const void *buf, size_t len);
/**
 * struct softiommu_dma_seg - one IOVA range of a scatter DMA
 * @iova: the device address of the range
 * @buf: the caller's bytes for it (read into, or written from)
 * @len: its length in bytes, not 0
 */
struct softiommu_dma_seg {
	unsigned long long iova;
	void *buf;
	size_t len;
};

/**
 * softiommu_dma_readv() - a device read of @nr IOVA ranges, each into its own buffer
 * @dev: the device
 * @pasid: 0 for a request without a PASID
 * @segs: the ranges, moved in order (a device model gathering descriptors passes them all)
 * @nr: how many, at least 1
 * @moved: out (may be NULL): bytes moved, those before a fault included
 *
 * One call translates every range under one view of the device's attachment; a fault stops
 * it at the first byte that could not move and is routed as for softiommu_dma_read().
 * Return: 0; -EFAULT on a fault; -EINVAL for no segments, a NULL buffer, an empty range or
 * one that wraps (nothing moves then).
 */
int softiommu_dma_readv(struct softiommu_dev *dev, unsigned int pasid,
			const struct softiommu_dma_seg *segs, unsigned int nr, size_t *moved);

/**
 * softiommu_dma_writev() - a device write of @nr IOVA ranges, each from its own buffer
 *
 * As softiommu_dma_readv(), in the other direction; the buffers are only read.
 */
int softiommu_dma_writev(struct softiommu_dev *dev, unsigned int pasid,
			 const struct softiommu_dma_seg *segs, unsigned int nr, size_t *moved);

/** softiommu_dma_unhandled_faults() - DMA faults nothing took (no fault queue, no vEVENTQ) */
unsigned long softiommu_dma_unhandled_faults(void);

#define SOFTIOMMU_DUMP_JSON 1u

/**
 * softiommu_dump() - describe an iommufd context's objects and mappings
 * @fd: an iommufd descriptor from softiommu_open() (or open("/dev/iommu") under the shim)
 * @out: where to write
 * @flags: SOFTIOMMU_DUMP_JSON for one JSON object, else human-readable text
 *
 * Return: 0, -EBADF if @fd is not softiommu's, -EINVAL if it is not an iommufd.
 */
int softiommu_dump(int fd, FILE *out, unsigned int flags);

/**
 * softiommu_dump_all() - softiommu_dump() every iommufd open in this process
 */
void softiommu_dump_all(FILE *out, unsigned int flags);

#ifdef __cplusplus
}
#endif
#endif /* SOFTIOMMU_H */
