// SPDX-License-Identifier: MIT
/*
 * preload.c — the LD_PRELOAD front-end: makes /dev/iommu exist for an unmodified program.
 *
 * What it owns: nothing but routing. open() of "/dev/iommu" becomes softiommu_open(); every
 * fd call (ioctl, read, write, mmap, close, dup*, fcntl F_DUPFD*) on an fd for which
 * softiommu_is_fd() says yes goes to the library, with the -errno result turned into -1 and
 * errno at this boundary; every other call goes to the next definition (libc) untouched.
 * poll/select/epoll are not interposed: softiommu fds are real eventfds the core signals.
 * The shim's other files: status.c (/proc/self/status with softiommu's pins), failnth.c
 * (Linux's fault-injection files), shim.h (what they share).
 *
 * Invariants:
 * - The passthrough path takes no lock and allocates nothing: a TLS depth check, one
 *   softiommu_is_fd() call and an indirect call.
 * - Calls made while softiommu is running on this thread (the core's own close() of an eventfd,
 *   write() to signal one, mmap() of a region) reach libc directly: the core is linked into this
 *   same object, so its libc references bind to these interposers. Threads the core starts
 *   itself do not carry the depth mark; the core must use raw system calls for its own fds there.
 * - dup2/dup3 onto one of our fds release it. From another of ours that is atomic (the real
 *   call, then softiommu_dup() replaces the record); from a plain fd, softiommu_close() runs
 *   first, after checking that the source fd is valid (dup2 must leave the target alone when
 *   it fails), and another thread can take the number in between.
 */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

#define DEV_IOMMU "/dev/iommu"

/* Fortified and internal entry points glibc's headers only declare under _FORTIFY_SOURCE. */
int __open_2(const char *path, int oflag);
int __open64_2(const char *path, int oflag);
int __openat_2(int dirfd, const char *path, int oflag);
int __openat64_2(int dirfd, const char *path, int oflag);
ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);

__thread int shim_depth __attribute__((tls_model("initial-exec")));

void *shim_resolve(void *_Atomic *slot, const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		static const char msg[] = "softiommu-preload: cannot resolve a libc symbol\n";

		/* Raw system calls: no libc symbol is usable. */
		syscall(SYS_write, 2, msg, sizeof(msg) - 1);
		abort();
	}
	atomic_store_explicit(slot, p, memory_order_release);
	return p;
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef FILE *(*fopen_fn)(const char *, const char *);
typedef int (*fcntl_fn)(int, int, ...);

SHIM_REAL_FN(open, open_fn)
SHIM_REAL_FN(open64, open_fn)
SHIM_REAL_FN(openat, openat_fn)
SHIM_REAL_FN(openat64, openat_fn)
SHIM_REAL_FN(fopen, fopen_fn)
SHIM_REAL_FN(fopen64, fopen_fn)
SHIM_REAL_FN(ioctl, int (*)(int, unsigned long, ...))
SHIM_REAL_FN(read, ssize_t (*)(int, void *, size_t))
SHIM_REAL_FN(__read_chk, ssize_t (*)(int, void *, size_t, size_t))
SHIM_REAL_FN(write, ssize_t (*)(int, const void *, size_t))
SHIM_REAL_FN(close, int (*)(int))
SHIM_REAL_FN(mmap, void *(*)(void *, size_t, int, int, int, off_t))
SHIM_REAL_FN(dup, int (*)(int))
SHIM_REAL_FN(dup2, int (*)(int, int))
SHIM_REAL_FN(dup3, int (*)(int, int, int))
SHIM_REAL_FN(fcntl, fcntl_fn)
SHIM_REAL_FN(fcntl64, fcntl_fn)
SHIM_REAL_FN(pread, ssize_t (*)(int, void *, size_t, off_t))
SHIM_REAL_FN(pread64, ssize_t (*)(int, void *, size_t, off_t))
SHIM_REAL_FN(pwrite, ssize_t (*)(int, const void *, size_t, off_t))
SHIM_REAL_FN(pwrite64, ssize_t (*)(int, const void *, size_t, off_t))
SHIM_REAL_FN(opendir, DIR *(*)(const char *))

/* ---- open ---- */

static int needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

/*
 * Whether this open is ours to answer; if so, *@ret is the result in libc convention.
 */
static int open_special(const char *path, int flags, int *ret)
{
	int saved = errno;

	if (shim_depth || !path || path[0] != '/')
		return 0;
	if (!strcmp(path, DEV_IOMMU)) {
		*ret = (int)CALL_SOFTIOMMU(softiommu_open(flags));
		return 1;
	}
	if (shim_status_wanted(path, flags)) {
		*ret = shim_open_status(path, flags);
		if (*ret >= 0)
			errno = saved;
		return 1;
	}
	if (shim_open_failnth_path(path, flags, ret))
		return 1;
	return 0;
}

#define OPEN_BODY(real_call)                                   \
	do {                                                   \
		mode_t mode = 0;                               \
		int ret;                                       \
		if (needs_mode(flags)) {                       \
			va_list ap;                            \
			va_start(ap, flags);                   \
			mode = va_arg(ap, mode_t);             \
			va_end(ap);                            \
		}                                              \
		if (open_special(path, flags, &ret))           \
			return ret;                            \
		return real_call;                              \
	} while (0)

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	OPEN_BODY(real_open()(path, flags, mode));
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	OPEN_BODY(real_open64()(path, flags, mode));
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(real_openat()(dirfd, path, flags, mode));
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(real_openat64()(dirfd, path, flags, mode));
}

/*
 * The _FORTIFY_SOURCE entry points, used by callers that pass no mode. libc's own versions
 * abort on O_CREAT without a mode; these create with mode 0 instead.
 */
SHIM_EXPORT int __open_2(const char *path, int flags)
{
	return needs_mode(flags) ? open(path, flags, 0) : open(path, flags);
}

SHIM_EXPORT int __open64_2(const char *path, int flags)
{
	return needs_mode(flags) ? open64(path, flags, 0) : open64(path, flags);
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return needs_mode(flags) ? openat(dirfd, path, flags, 0) : openat(dirfd, path, flags);
}

SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return needs_mode(flags) ? openat64(dirfd, path, flags, 0) : openat64(dirfd, path, flags);
}

/* ---- fopen ---- */

/* fopen() mode string to open(2) flags, for the only case served here: reading. */
static int fopen_read_flags(const char *mode)
{
	if (!mode || mode[0] != 'r' || strchr(mode, '+'))
		return -1;
	return O_RDONLY | (strchr(mode, 'e') ? O_CLOEXEC : 0);
}

static FILE *fopen_common(const char *path, const char *mode, fopen_fn real)
{
	int flags = fopen_read_flags(mode), fd, err;
	FILE *f;

	if (shim_depth || flags < 0 || !path || !shim_is_own_status(path))
		return real(path, mode);
	fd = shim_open_status(path, flags);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, mode);
	if (!f) {
		err = errno;
		shim_enter();
		close(fd);
		shim_leave();
		errno = err;
	}
	return f;
}

SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	return fopen_common(path, mode, real_fopen());
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return fopen_common(path, mode, real_fopen64());
}

/* ---- fd calls ---- */

SHIM_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	void *arg;
	va_list ap;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!shim_routed(fd))
		return real_ioctl()(fd, request, arg);
	return (int)CALL_SOFTIOMMU(softiommu_ioctl(fd, request, arg));
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	if (shim_nth_is_fd(fd))
		return shim_nth_read_at_pos(fd, buf, len);
	if (!shim_routed(fd))
		return real_read()(fd, buf, len);
	return CALL_SOFTIOMMU(softiommu_read(fd, buf, len));
}

SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (shim_nth_is_fd(fd) && len <= buflen)
		return shim_nth_read_at_pos(fd, buf, len);
	if (!shim_routed(fd))
		return real___read_chk()(fd, buf, len, buflen);
	if (len > buflen) /* let libc report the overflow */
		return real___read_chk()(-1, buf, len, buflen);
	return CALL_SOFTIOMMU(softiommu_read(fd, buf, len));
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	if (shim_nth_is_fd(fd))
		return shim_nth_write(fd, buf, len);
	if (!shim_routed(fd))
		return real_write()(fd, buf, len);
	return CALL_SOFTIOMMU(softiommu_write(fd, buf, len));
}

SHIM_EXPORT int close(int fd)
{
	if (shim_nth_is_fd(fd))
		shim_nth_forget(fd);
	if (!shim_routed(fd))
		return real_close()(fd);
	return (int)CALL_SOFTIOMMU(softiommu_close(fd));
}

/* pread/pwrite reach softiommu's descriptors only as fail-nth files; the rest pass through. */
SHIM_EXPORT ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	if (shim_nth_is_fd(fd))
		return shim_nth_read(fd, buf, len, off);
	return real_pread()(fd, buf, len, off);
}

SHIM_EXPORT ssize_t pread64(int fd, void *buf, size_t len, off_t off)
{
	if (shim_nth_is_fd(fd))
		return shim_nth_read(fd, buf, len, off);
	return real_pread64()(fd, buf, len, off);
}

SHIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (shim_nth_is_fd(fd))
		return shim_nth_write(fd, buf, len);
	return real_pwrite()(fd, buf, len, off);
}

SHIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	if (shim_nth_is_fd(fd))
		return shim_nth_write(fd, buf, len);
	return real_pwrite64()(fd, buf, len, off);
}

SHIM_EXPORT DIR *opendir(const char *name)
{
	const char *dir;

	if (!shim_depth && shim_failnth_available() && shim_is_debugfs(name)) {
		dir = shim_debugfs_path();
		if (dir)
			return real_opendir()(dir);
	}
	return real_opendir()(name);
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *out = MAP_FAILED;

	if ((flags & MAP_ANONYMOUS) || !shim_routed(fd)) {
		void *keep = shim_mem_before_map_fixed(addr, len, flags);

		out = real_mmap()(addr, len, prot, flags, fd, off);
		shim_mem_after_map_fixed(keep);
		return out;
	}
	if (CALL_SOFTIOMMU(softiommu_mmap(fd, addr, len, prot, flags, off, &out)) < 0)
		return MAP_FAILED;
	return out;
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

/*
 * After the real call made @newfd a copy of @oldfd, tell softiommu (which drops whatever it had
 * recorded for @newfd); undo the copy if it cannot. Return: @newfd, or -1 with errno set.
 */
static int record_dup(int oldfd, int newfd)
{
	int ret, saved = errno;

	shim_enter();
	ret = softiommu_dup(oldfd, newfd);
	if (ret < 0 && softiommu_close(newfd) < 0)
		real_close()(newfd);
	shim_leave();
	return shim_to_libc(ret, saved) < 0 ? -1 : newfd;
}

SHIM_EXPORT int dup(int oldfd)
{
	int newfd;

	if (!shim_routed(oldfd))
		return real_dup()(oldfd);
	newfd = real_dup()(oldfd);
	return newfd < 0 ? newfd : record_dup(oldfd, newfd);
}

/*
 * dup2/dup3 of a plain fd onto one of ours: release ours as close() would, but only once the
 * real call cannot fail for a bad source fd (it must leave the target alone then).
 */
static int release_target(int oldfd, int newfd)
{
	if (real_fcntl()(oldfd, F_GETFD) < 0)
		return -1;
	return (int)CALL_SOFTIOMMU(softiommu_close(newfd));
}

static int real_dup_onto(int oldfd, int newfd, int flags, int is_dup3)
{
	return is_dup3 ? real_dup3()(oldfd, newfd, flags)
		       : real_dup2()(oldfd, newfd);
}

/*
 * From one of ours, the real call replaces the target atomically and softiommu_dup() drops
 * what the target was, as the kernel does. From a plain fd onto ours, softiommu has to let go
 * of the target first, so another thread can take the number in between.
 */
static int dup_onto(int oldfd, int newfd, int flags, int is_dup3)
{
	int ret;

	if (shim_depth || oldfd == newfd)
		return real_dup_onto(oldfd, newfd, flags, is_dup3);
	if (shim_routed(oldfd)) {
		ret = real_dup_onto(oldfd, newfd, flags, is_dup3);
		return ret < 0 ? ret : record_dup(oldfd, ret);
	}
	if (shim_routed(newfd) && release_target(oldfd, newfd) < 0)
		return -1;
	return real_dup_onto(oldfd, newfd, flags, is_dup3);
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	return dup_onto(oldfd, newfd, 0, 0);
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return dup_onto(oldfd, newfd, flags, 1);
}

static int fcntl_common(fcntl_fn real, int fd, int cmd, void *arg)
{
	int newfd;

	if ((cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC) || !shim_routed(fd))
		return real(fd, cmd, arg);
	newfd = real(fd, cmd, arg);
	return newfd < 0 ? newfd : record_dup(fd, newfd);
}

/* Every fcntl argument is an int or a pointer: both fit the register a void * is read from. */
SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	void *arg;
	va_list ap;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(real_fcntl(), fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	void *arg;
	va_list ap;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(real_fcntl64(), fd, cmd, arg);
}
