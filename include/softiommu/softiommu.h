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
 * softiommu_is_fd() - whether @fd is a file descriptor softiommu handed out
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

/**
 * softiommu_pinned_pages() - pages currently pinned by softiommu in this process, as the kernel
 * would show them in /proc/self/status
 * @pinned: out, VmPin in pages (pinned_vm)
 * @locked: out, VmLck contribution in pages (locked_vm charged in IOMMU_OPTION_RLIMIT_MODE mm)
 */
void softiommu_pinned_pages(unsigned long *pinned, unsigned long *locked);

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
