/* SPDX-License-Identifier: MIT */
/*
 * shim.h — what the LD_PRELOAD front-end's files share: the depth mark that tells a call the
 * core itself makes from one the program makes, the lookup of libc's real definitions, and
 * the conversion of softiommu's -errno results to libc's -1/errno at this boundary.
 *
 * Each file that interposes a libc entry point declares the real one with SHIM_REAL_FN(name,
 * type) and calls it as real_<name>()(args...). Every real definition is resolved by a
 * constructor when the shim is loaded, so a wrapper reached later (from a signal handler
 * included) never calls dlsym(); a call that arrives before the constructors ran resolves
 * lazily, and a racing double resolution stores the same pointer twice.
 */
#ifndef SIO_SHIM_H
#define SIO_SHIM_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <softiommu/softiommu.h>

#define SHIM_EXPORT __attribute__((visibility("default")))
#define SHIM_HIDDEN __attribute__((visibility("hidden")))

/*
 * Depth of softiommu calls on this thread; non-zero means "pass path-based calls through"
 * (the core's own open() of /proc files must not be served by the shim). Descriptor calls
 * do not look at it: the core never makes a libc call on a descriptor the program holds (it
 * uses system calls on its own), and a signal handler that interrupts a softiommu call must
 * see the program's descriptors routed as anywhere else.
 * initial-exec: this object is preloaded, so it gets static TLS and the check is one load.
 */
extern __thread int shim_depth __attribute__((tls_model("initial-exec"))) SHIM_HIDDEN;

/* dlsym(RTLD_NEXT, @name) stored in @slot; aborts when libc lacks it. */
void *shim_resolve(void *_Atomic *slot, const char *name) SHIM_HIDDEN;

#define SHIM_REAL_FN(sym, type)                                                        \
	static void *_Atomic real_##sym##_slot;                                        \
	static inline __typeof__(type) real_##sym(void)                                          \
	{                                                                              \
		void *p = atomic_load_explicit(&real_##sym##_slot, memory_order_acquire); \
		return (__typeof__(type))(p ? p : shim_resolve(&real_##sym##_slot, #sym));         \
	}                                                                              \
	__attribute__((constructor)) static void real_##sym##_init(void)              \
	{                                                                              \
		(void)real_##sym();                                                    \
	}

/* Whether @fd is registered as ours (the number alone: see shim_routed_checked()) */
static inline int shim_routed(int fd)
{
	return fd >= 0 && softiommu_is_fd(fd);
}

static inline void shim_enter(void)
{
	shim_depth++;
}

static inline void shim_leave(void)
{
	shim_depth--;
}

/* Turn a softiommu result into the libc convention; keeps errno on success. */
static inline long shim_to_libc(long ret, int saved_errno)
{
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	errno = saved_errno;
	return ret;
}

/*
 * Evaluate @call, a softiommu function returning a value or -errno, with the depth mark set;
 * yields its result in the libc convention.
 */
#define CALL_SOFTIOMMU(call)                   \
	({                                     \
		int saved_ = errno;            \
		long ret_;                     \
		shim_enter();                  \
		ret_ = (call);                 \
		shim_leave();                  \
		shim_to_libc(ret_, saved_);    \
	})

/* Linux's UIO_MAXIOV: the most segments readv/writev take */
#define SHIM_UIO_MAXIOV 1024

/*
 * The core's fault-safe user copies (weak: the shim's unit test links a fake backend without
 * them, and then the copy is a plain memcpy).
 */
int sio_copy_to_user(uint64_t udst, const void *src, size_t len) __attribute__((weak));
int sio_copy_from_user(void *dst, uint64_t usrc, size_t len) __attribute__((weak));

/* Copy from the program's memory: 0, or -EFAULT when @src cannot be read */
static inline int shim_copy_from_user(void *dst, const void *src, size_t len)
{
	if (sio_copy_from_user)
		return sio_copy_from_user(dst, (uintptr_t)src, len);
	memcpy(dst, src, len);
	return 0;
}

/* status.c: /proc/self/status with softiommu's pins in VmPin:/VmLck: */
int shim_is_own_status(const char *path) SHIM_HIDDEN;
int shim_status_wanted(const char *path, int flags) SHIM_HIDDEN;
int shim_open_status(const char *path, int flags) SHIM_HIDDEN;

/*
 * memory.c: around a MAP_FIXED mmap that replaces memory, keep what an IOAS pins there;
 * before returns a handle (or NULL) for after, which runs once the real call has
 */
void *shim_mem_before_map_fixed(void *addr, size_t len, int flags) SHIM_HIDDEN;
void shim_mem_after_map_fixed(void *keep) SHIM_HIDDEN;

/* failnth.c: the fail-nth files and debugfs knobs of Linux's fault injection */
int shim_failnth_available(void) SHIM_HIDDEN;
int shim_open_failnth_path(const char *path, int flags, int *ret) SHIM_HIDDEN;
int shim_nth_is_fd(int fd) SHIM_HIDDEN;
void shim_nth_forget(int fd) SHIM_HIDDEN;
ssize_t shim_nth_read(int fd, void *buf, size_t len, off_t off) SHIM_HIDDEN;
ssize_t shim_nth_read_at_pos(int fd, void *buf, size_t len) SHIM_HIDDEN;
ssize_t shim_nth_write(int fd, const void *buf, size_t len) SHIM_HIDDEN;
const char *shim_debugfs_path(void) SHIM_HIDDEN;
int shim_is_debugfs(const char *path) SHIM_HIDDEN;

/*
 * paths.c: path queries on /dev/iommu and the VFIO nodes; VFIO device open and pread (weak:
 * the shim's unit test builds preload.c without the core)
 */
int shim_open_vfio_path(const char *path, int flags, int *ret) SHIM_HIDDEN __attribute__((weak));
int shim_vfio_rw(int fd, void *buf, size_t len, off_t off, _Bool write, ssize_t *ret)
	SHIM_HIDDEN __attribute__((weak));
/* which synthesised directory a path names (0: none) */
#define SHIM_DIR_VFIO 1
#define SHIM_DIR_VFIO_DEVICES 2
int shim_dir_kind(const char *path) SHIM_HIDDEN __attribute__((weak));

/* listing.c: listing those directories (weak, as paths.c) */
struct __dirstream;
struct stat;
int shim_listing_open(int kind, int flags) SHIM_HIDDEN;
_Bool shim_listing_fstat(int fd, struct stat *st) SHIM_HIDDEN;
struct __dirstream *shim_listing_opendir(int kind) SHIM_HIDDEN __attribute__((weak));
const char *shim_listing_dir_path(int dirfd) SHIM_HIDDEN;
/* paths.c: @path as resolved against the synthesised directories (into @buf), else @path */
const char *shim_fix_path(int dirfd, const char *path, char *buf, size_t size) SHIM_HIDDEN
	__attribute__((weak));

#endif
