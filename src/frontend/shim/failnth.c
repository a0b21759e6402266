// SPDX-License-Identifier: MIT
/*
 * failnth.c — fault injection, as Linux's CONFIG_FAULT_INJECTION shows it, so that
 * iommufd_fail_nth runs: /proc/self/task/<tid>/fail-nth (and /proc/<pid>/task/<tid>/,
 * /proc/thread-self/) opens a descriptor whose reads and writes are the calling thread's
 * sio_should_fail() counter (sio_fail_nth_set/get); opendir("/sys/kernel/debug") and absolute
 * opens under /sys/kernel/debug/fail* are redirected to a small private directory holding the
 * failslab and fail_page_alloc knobs the test writes (accepted, not interpreted). The
 * emulation is off when the backend has no fault injection (the shim's unit test links a fake
 * backend).
 */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

SHIM_REAL_FN(openat, int (*)(int, const char *, int, ...))
SHIM_REAL_FN(close, int (*)(int))


/* The backend's per-thread counter; absent (NULL) in a backend without fault injection. */
void sio_fail_nth_set(unsigned int nth) __attribute__((weak));
unsigned int sio_fail_nth_get(void) __attribute__((weak));

int shim_failnth_available(void)
{
	return sio_fail_nth_set && sio_fail_nth_get && sio_copy_to_user && sio_copy_from_user;
}

/* Open fail-nth descriptors: a short list, looked at only while it is non-empty. */
#define MAX_NTH_FDS 64
static struct nth_fd {
	_Atomic int fd;    /* written under nth_lock, read without it by shim_nth_is_fd() */
	_Atomic pid_t tid; /* 0: free slot */
	off_t pos; /* for read(); pread() takes its own offset; under nth_lock */
} nth_fds[MAX_NTH_FDS];
static atomic_int nth_fds_open;
static pthread_mutex_t nth_lock = PTHREAD_MUTEX_INITIALIZER;

/* Parse a fail-nth path; *@tid is the thread it names. */
static int is_fail_nth(const char *path, pid_t *tid)
{
	const char *p;
	char *end;
	long pid, t;

	if (strncmp(path, "/proc/", 6))
		return 0;
	p = path + 6;
	if (!strcmp(p, "thread-self/fail-nth")) {
		*tid = (pid_t)syscall(SYS_gettid);
		return 1;
	}
	if (!strncmp(p, "self/", 5)) {
		p += 5;
	} else {
		pid = strtol(p, &end, 10);
		if (end == p || *end != '/' || pid != getpid())
			return 0;
		p = end + 1;
	}
	if (strncmp(p, "task/", 5))
		return 0;
	t = strtol(p + 5, &end, 10);
	if (end == p + 5 || strcmp(end, "/fail-nth") || t <= 0)
		return 0;
	*tid = (pid_t)t;
	return 1;
}

static struct nth_fd *nth_find(int fd)
{
	for (int i = 0; i != MAX_NTH_FDS; i++)
		if (nth_fds[i].fd == fd && nth_fds[i].tid)
			return &nth_fds[i];
	return NULL;
}

/*
 * Whether @fd is a fail-nth descriptor: a single load while none is open, and never a lock
 * (every read/write/close of the process asks, signal handlers included).
 */
int shim_nth_is_fd(int fd)
{
	if (!atomic_load_explicit(&nth_fds_open, memory_order_relaxed) || fd < 0)
		return 0;
	for (int i = 0; i != MAX_NTH_FDS; i++)
		if (atomic_load_explicit(&nth_fds[i].tid, memory_order_acquire) &&
		    atomic_load_explicit(&nth_fds[i].fd, memory_order_relaxed) == fd)
			return 1;
	return 0;
}

/* Return: the descriptor, or -1 with errno set. */
static int open_fail_nth(pid_t tid, int flags)
{
	char task[64];
	struct stat st;
	int fd, i;

	snprintf(task, sizeof(task), "/proc/self/task/%d", (int)tid);
	if (stat(task, &st))
		return -1; /* not a thread of ours: ENOENT as the kernel */
	fd = memfd_create("softiommu-fail-nth", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -1;
	pthread_mutex_lock(&nth_lock);
	for (i = 0; i != MAX_NTH_FDS && nth_fds[i].tid; i++)
		;
	if (i != MAX_NTH_FDS) {
		atomic_store_explicit(&nth_fds[i].fd, fd, memory_order_relaxed);
		nth_fds[i].pos = 0;
		atomic_store_explicit(&nth_fds[i].tid, tid, memory_order_release);
		atomic_fetch_add(&nth_fds_open, 1);
	}
	pthread_mutex_unlock(&nth_lock);
	if (i == MAX_NTH_FDS) {
		real_close()(fd);
		errno = EMFILE;
		return -1;
	}
	return fd;
}

void shim_nth_forget(int fd)
{
	struct nth_fd *e;

	pthread_mutex_lock(&nth_lock);
	e = nth_find(fd);
	if (e) {
		atomic_store_explicit(&e->tid, 0, memory_order_release);
		atomic_store_explicit(&e->fd, -1, memory_order_relaxed);
		atomic_fetch_sub(&nth_fds_open, 1);
	}
	pthread_mutex_unlock(&nth_lock);
}

/* The thread @fd names, or 0 when it is not a fail-nth descriptor. */
static pid_t nth_tid(int fd)
{
	struct nth_fd *e;
	pid_t tid = 0;

	pthread_mutex_lock(&nth_lock);
	e = nth_find(fd);
	if (e)
		tid = e->tid;
	pthread_mutex_unlock(&nth_lock);
	return tid;
}

/*
 * "<remaining>\n" from @off, as the kernel's simple_read_from_buffer, into @num (16 bytes).
 * Only the calling thread's counter is visible (it is thread-local in the core).
 * Return: the bytes available from @off, or -1 with errno set.
 */
static ssize_t nth_format(pid_t tid, char *num, off_t off)
{
	int n;

	if (!tid) { /* closed meanwhile */
		errno = EBADF;
		return -1;
	}
	if (tid != (pid_t)syscall(SYS_gettid)) {
		errno = EPERM;
		return -1;
	}
	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(num, 16, "%u\n", sio_fail_nth_get());
	return off >= n ? 0 : n - off;
}

/* Copy out through the library, so that a bad buffer is EFAULT, as read(2) gives. */
static ssize_t nth_copy_out(void *buf, const char *src, size_t len)
{
	int rc = sio_copy_to_user((uintptr_t)buf, src, len);

	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return (ssize_t)len;
}

/* pread */
ssize_t shim_nth_read(int fd, void *buf, size_t len, off_t off)
{
	char num[16];
	ssize_t avail = nth_format(nth_tid(fd), num, off);

	if (avail <= 0)
		return avail;
	if (len > (size_t)avail)
		len = avail;
	return nth_copy_out(buf, num + off, len);
}

/* read: from the descriptor's position, advanced under the lock that owns it */
ssize_t shim_nth_read_at_pos(int fd, void *buf, size_t len)
{
	char num[16];
	struct nth_fd *e;
	ssize_t avail, n;
	off_t off = 0;

	pthread_mutex_lock(&nth_lock);
	e = nth_find(fd);
	if (e)
		off = e->pos;
	avail = nth_format(e ? e->tid : 0, num, off);
	if (avail > 0 && len > (size_t)avail)
		len = avail;
	n = avail <= 0 ? avail : nth_copy_out(buf, num + off, len);
	if (n > 0)
		e->pos += n;
	pthread_mutex_unlock(&nth_lock);
	return n;
}

/* write/pwrite: an unsigned number (any base, optional newline) arms the counter */
ssize_t shim_nth_write(int fd, const void *buf, size_t len)
{
	pid_t tid = nth_tid(fd);
	char num[32], *end;
	unsigned long n;
	int rc;

	if (!tid) {
		errno = EBADF;
		return -1;
	}
	if (tid != (pid_t)syscall(SYS_gettid)) {
		errno = EPERM;
		return -1;
	}
	if (!len || len >= sizeof(num)) {
		errno = EINVAL;
		return -1;
	}
	rc = sio_copy_from_user(num, (uintptr_t)buf, len);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	num[len] = 0;
	if (num[len - 1] == '\n')
		num[len - 1] = 0;
	errno = 0;
	n = strtoul(num, &end, 0);
	if (num[0] == '-' || num[0] == 0 || *end || errno || n > UINT32_MAX) {
		errno = errno == ERANGE || n > UINT32_MAX ? ERANGE : EINVAL;
		return -1;
	}
	sio_fail_nth_set((unsigned int)n);
	return (ssize_t)len;
}

/*
 * The debugfs knobs iommufd_fail_nth writes: a private directory made on first use, removed
 * at exit by the process that made it.
 */
static const char *const debugfs_files[] = {
	"failslab/ignore-gfp-wait", "failslab/verbose", "failslab/probability",
	"failslab/interval", "failslab/times", "failslab/space",
	"fail_page_alloc/ignore-gfp-wait", "fail_page_alloc/ignore-gfp-highmem",
	"fail_page_alloc/min-order", "fail_page_alloc/verbose", "fail_page_alloc/probability",
	"fail_page_alloc/interval", "fail_page_alloc/times", "fail_page_alloc/space",
};
static char debugfs_dir[64];
static pid_t debugfs_owner;
static pthread_once_t debugfs_once = PTHREAD_ONCE_INIT;

static void debugfs_remove(void)
{
	char path[128];

	if (!debugfs_dir[0] || getpid() != debugfs_owner)
		return;
	for (size_t i = 0; i != sizeof(debugfs_files) / sizeof(debugfs_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", debugfs_dir, debugfs_files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/failslab", debugfs_dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/fail_page_alloc", debugfs_dir);
	rmdir(path);
	rmdir(debugfs_dir);
}

static void debugfs_make(void)
{
	char path[128];
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(debugfs_dir, sizeof(debugfs_dir), "%s/softiommu-debugfs.XXXXXX",
		 tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(debugfs_dir)) {
		debugfs_dir[0] = 0;
		return;
	}
	debugfs_owner = getpid();
	snprintf(path, sizeof(path), "%s/failslab", debugfs_dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/fail_page_alloc", debugfs_dir);
	mkdir(path, 0700);
	for (size_t i = 0; i != sizeof(debugfs_files) / sizeof(debugfs_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", debugfs_dir, debugfs_files[i]);
		fd = real_openat()(AT_FDCWD, path, O_WRONLY | O_CREAT | O_CLOEXEC,
					       0600);
		if (fd >= 0)
			real_close()(fd);
	}
	atexit(debugfs_remove);
}

/* Our debugfs directory, or NULL when it cannot be made. */
const char *shim_debugfs_path(void)
{
	pthread_once(&debugfs_once, debugfs_make);
	return debugfs_dir[0] ? debugfs_dir : NULL;
}

int shim_is_debugfs(const char *path)
{
	return !strcmp(path, "/sys/kernel/debug") || !strcmp(path, "/sys/kernel/debug/");
}

/*
 * Opens of a fail-nth file or a debugfs fault-injection knob: whether this one is such;
 * if so, *@ret is the result in the libc convention.
 */
int shim_open_failnth_path(const char *path, int flags, int *ret)
{
	int saved = errno;

	if (!shim_failnth_available())
		return 0;
	if (!strncmp(path, "/proc/", 6)) {
		pid_t tid;

		if (is_fail_nth(path, &tid)) {
			*ret = open_fail_nth(tid, flags);
			if (*ret >= 0)
				errno = saved;
			return 1;
		}
	}
	if (!strncmp(path, "/sys/kernel/debug/fail", 22)) {
		const char *dir = shim_debugfs_path();
		char moved[256];

		if (dir && snprintf(moved, sizeof(moved), "%s/%s", dir, path + 18) <
				   (int)sizeof(moved)) {
			*ret = real_openat()(AT_FDCWD, moved, flags, 0600);
			return 1;
		}
	}
	return 0;
}

/* fork(): the child must find nth_lock free, whatever another thread was doing */
static void nth_fork_prepare(void)
{
	pthread_mutex_lock(&nth_lock);
}

static void nth_fork_release(void)
{
	pthread_mutex_unlock(&nth_lock);
}

__attribute__((constructor)) static void nth_fork_init(void)
{
	pthread_atfork(nth_fork_prepare, nth_fork_release, nth_fork_release);
}
