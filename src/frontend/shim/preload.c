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
 * - The core is linked into this same object, so its libc references bind to these
 *   interposers: it uses system calls for its own descriptors, and its path-based calls (the
 *   real /proc/self/status) carry the depth mark so open() does not serve them. Descriptor
 *   calls are routed whatever the depth, so a signal handler that interrupts a softiommu call
 *   still reaches softiommu with the program's descriptors (and never blocks on a lock: the
 *   registry is lock-free).
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
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"

#define DEV_IOMMU "/dev/iommu"
/* The iommufd and VFIO ioctls: the number is trusted on this hot path (see core/file.c) */
#define IOMMUFD_IOCTL_TYPE ';'

/*
 * Whether @fd is ours, checked: a number closed behind our back (a raw close, glibc's own
 * close inside fclose) and reused for another file is dropped and passes through.
 */
static inline int shim_routed_checked(int fd)
{
	return shim_routed(fd) && softiommu_fd_check(fd);
}

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
	if (shim_open_vfio_path && shim_open_vfio_path(path, flags, ret))
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
	char fixed[PATH_MAX];

	if (shim_fix_path) /* paths.c: through the synthesised directories */
		path = shim_fix_path(AT_FDCWD, path, fixed, sizeof(fixed));
	OPEN_BODY(real_open()(path, flags, mode));
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	char fixed[PATH_MAX];

	if (shim_fix_path) /* paths.c: through the synthesised directories */
		path = shim_fix_path(AT_FDCWD, path, fixed, sizeof(fixed));
	OPEN_BODY(real_open64()(path, flags, mode));
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	char fixed[PATH_MAX];

	if (shim_fix_path) /* paths.c: through the synthesised directories */
		path = shim_fix_path(dirfd, path, fixed, sizeof(fixed));
	OPEN_BODY(real_openat()(dirfd, path, flags, mode));
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	char fixed[PATH_MAX];

	if (shim_fix_path) /* paths.c: through the synthesised directories */
		path = shim_fix_path(dirfd, path, fixed, sizeof(fixed));
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

	if (shim_depth || flags < 0 || !path || !shim_status_wanted(path, flags))
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

/* Daemon mode: an iommufd received by SCM_RIGHTS (adopt.c; weak: not in the unit tests) */
int shim_adopt_received(int fd) __attribute__((weak)) SHIM_HIDDEN;

SHIM_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	void *arg;
	va_list ap;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (_IOC_TYPE(request) == IOMMUFD_IOCTL_TYPE ?
		    !shim_routed(fd) && !(shim_adopt_received && shim_adopt_received(fd)) :
		    !shim_routed_checked(fd))
		return real_ioctl()(fd, request, arg);
	return (int)CALL_SOFTIOMMU(softiommu_ioctl(fd, request, arg));
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	if (shim_nth_is_fd(fd))
		return shim_nth_read_at_pos(fd, buf, len);
	if (!shim_routed_checked(fd))
		return real_read()(fd, buf, len);
	return CALL_SOFTIOMMU(softiommu_read(fd, buf, len));
}

SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (shim_nth_is_fd(fd) && len <= buflen)
		return shim_nth_read_at_pos(fd, buf, len);
	if (!shim_routed_checked(fd))
		return real___read_chk()(fd, buf, len, buflen);
	if (len > buflen) /* let libc report the overflow */
		return real___read_chk()(-1, buf, len, buflen);
	return CALL_SOFTIOMMU(softiommu_read(fd, buf, len));
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	if (shim_nth_is_fd(fd))
		return shim_nth_write(fd, buf, len);
	if (!shim_routed_checked(fd))
		return real_write()(fd, buf, len);
	return CALL_SOFTIOMMU(softiommu_write(fd, buf, len));
}

SHIM_EXPORT int close(int fd)
{
	if (shim_nth_is_fd(fd))
		shim_nth_forget(fd);
	if (softiommu_fd_is_internal(fd)) {
		errno = EBADF; /* a number the program never opened */
		return -1;
	}
	if (!shim_routed_checked(fd))
		return real_close()(fd);
	return (int)CALL_SOFTIOMMU(softiommu_close(fd));
}

/* pread/pwrite reach softiommu as fail-nth files and VFIO devices; the rest pass through. */
SHIM_EXPORT ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t ret;

	if (shim_nth_is_fd(fd))
		return shim_nth_read(fd, buf, len, off);
	if (shim_vfio_rw && shim_vfio_rw(fd, buf, len, off, 0, &ret))
		return ret;
	return real_pread()(fd, buf, len, off);
}

SHIM_EXPORT ssize_t pread64(int fd, void *buf, size_t len, off_t off)
{
	ssize_t ret;

	if (shim_nth_is_fd(fd))
		return shim_nth_read(fd, buf, len, off);
	if (shim_vfio_rw && shim_vfio_rw(fd, buf, len, off, 0, &ret))
		return ret;
	return real_pread64()(fd, buf, len, off);
}

SHIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t ret;

	if (shim_nth_is_fd(fd))
		return shim_nth_write(fd, buf, len);
	if (shim_vfio_rw && shim_vfio_rw(fd, (void *)buf, len, off, 1, &ret))
		return ret;
	return real_pwrite()(fd, buf, len, off);
}

SHIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t ret;

	if (shim_nth_is_fd(fd))
		return shim_nth_write(fd, buf, len);
	if (shim_vfio_rw && shim_vfio_rw(fd, (void *)buf, len, off, 1, &ret))
		return ret;
	return real_pwrite64()(fd, buf, len, off);
}

SHIM_EXPORT DIR *opendir(const char *name)
{
	const char *dir;
	int kind;

	if (shim_listing_opendir && shim_dir_kind && (kind = shim_dir_kind(name)))
		return shim_listing_opendir(kind); /* listing.c: /dev/vfio, /dev/vfio/devices */

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

	if ((flags & MAP_ANONYMOUS) || !shim_routed_checked(fd)) {
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

	if (!shim_routed_checked(oldfd))
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

	if (oldfd == newfd)
		return real_dup_onto(oldfd, newfd, flags, is_dup3);
	if (softiommu_fd_is_internal(newfd) && (ret = softiommu_fd_vacate(newfd)) < 0) {
		errno = -ret;
		return -1;
	}
	if (shim_routed_checked(oldfd)) {
		ret = real_dup_onto(oldfd, newfd, flags, is_dup3);
		return ret < 0 ? ret : record_dup(oldfd, ret);
	}
	if (shim_routed_checked(newfd) && release_target(oldfd, newfd) < 0)
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

	if ((cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC) || !shim_routed_checked(fd))
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

/* ---- closing behind close(): close_range, closefrom, fclose ---- */

SHIM_REAL_FN(close_range, int (*)(unsigned int, unsigned int, int))
SHIM_REAL_FN(closefrom, void (*)(int))
SHIM_REAL_FN(fclose, int (*)(FILE *))

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_UNSHARE (1U << 1)
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/*
 * close_range(2): our descriptors in the range are released as close() releases them, and
 * softiommu's internal ones (which the program never opened) are left out of the real call.
 */
SHIM_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	unsigned int lo = first, limit;
	int rc = 0;

	if (first > last || (flags & CLOSE_RANGE_CLOEXEC) ||
	    (flags & ~(int)(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)))
		return real_close_range()(first, last, flags);
	limit = (unsigned int)softiommu_fd_limit();
	for (unsigned int fd = first; fd <= last && fd < limit; fd++) {
		if (softiommu_fd_is_internal((int)fd)) {
			if (lo < fd && real_close_range()(lo, fd - 1, flags) && !rc)
				rc = -errno;
			lo = fd + 1;
		} else if (shim_routed_checked((int)fd)) {
			CALL_SOFTIOMMU(softiommu_close((int)fd));
		}
	}
	if (lo <= last && lo >= first && real_close_range()(lo, last, flags) && !rc)
		rc = -errno;
	if (rc) {
		errno = -rc;
		return -1;
	}
	return 0;
}

SHIM_EXPORT void closefrom(int lowfd)
{
	int saved = errno;

	if (lowfd < 0)
		lowfd = 0;
	if (close_range((unsigned int)lowfd, ~0U, 0))
		real_closefrom()(lowfd);
	errno = saved;
}

static int fclose_cb(void *stream)
{
	return real_fclose()(stream) ? -errno : 0;
}

/* fclose() of a stream on one of our descriptors: glibc closes the number itself */
SHIM_EXPORT int fclose(FILE *stream)
{
	int fd = stream ? fileno(stream) : -1;

	if (fd < 0 || !shim_routed_checked(fd))
		return real_fclose()(stream);
	return CALL_SOFTIOMMU(softiommu_close_with(fd, fclose_cb, stream)) < 0 ? EOF : 0;
}

/* ---- readv/writev: as Linux runs them on a file with only read/write ---- */

SHIM_REAL_FN(readv, ssize_t (*)(int, const struct iovec *, int))
SHIM_REAL_FN(writev, ssize_t (*)(int, const struct iovec *, int))

/*
 * One read (write) per segment, stopping at the first short one; the bytes moved, or the
 * first call's error. An iovec array the program cannot read is EFAULT.
 */
static ssize_t rw_vec(int fd, const struct iovec *uiov, int cnt, int write)
{
	struct iovec iov[SHIM_UIO_MAXIOV];
	ssize_t total = 0;
	int rc;

	if (cnt < 0 || cnt > SHIM_UIO_MAXIOV) {
		errno = EINVAL;
		return -1;
	}
	rc = shim_copy_from_user(iov, uiov, cnt * sizeof(*iov));
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	for (int i = 0; i != cnt; i++) {
		if ((ssize_t)iov[i].iov_len < 0) {
			errno = EINVAL;
			return -1;
		}
	}
	for (int i = 0; i != cnt; i++) {
		ssize_t n;

		if (!iov[i].iov_len)
			continue;
		n = write ? CALL_SOFTIOMMU(softiommu_write(fd, iov[i].iov_base, iov[i].iov_len))
			  : CALL_SOFTIOMMU(softiommu_read(fd, iov[i].iov_base, iov[i].iov_len));
		if (n < 0)
			return total ? total : -1;
		total += n;
		if ((size_t)n != iov[i].iov_len)
			break;
	}
	return total;
}

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	if (!shim_routed_checked(fd))
		return real_readv()(fd, iov, cnt);
	return rw_vec(fd, iov, cnt, 0);
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (!shim_routed_checked(fd))
		return real_writev()(fd, iov, cnt);
	return rw_vec(fd, iov, cnt, 1);
}
