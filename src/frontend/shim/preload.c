// SPDX-License-Identifier: MIT
/*
 * preload.c — the LD_PRELOAD front-end: makes /dev/iommu exist for an unmodified program.
 *
 * What it owns: nothing but routing. open() of "/dev/iommu" becomes softiommu_open(); every
 * fd call (ioctl, read, write, mmap, close, dup*, fcntl F_DUPFD*) on an fd for which
 * softiommu_is_fd() says yes goes to the library, with the -errno result turned into -1 and
 * errno at this boundary; every other call goes to the next definition (libc) untouched.
 * poll/select/epoll are not interposed: softiommu fds are real eventfds the core signals.
 *
 * /proc/self/status (and /proc/<own pid>/status) opened for reading is served from a memfd
 * holding the real text with VmPin:/VmLck: raised by softiommu's pin accounting, because the
 * upstream selftests check pinning there. Another process's status is passed through.
 *
 * Fault injection, as Linux's CONFIG_FAULT_INJECTION shows it, so iommufd_fail_nth runs:
 * /proc/self/task/<tid>/fail-nth (and /proc/<pid>/task/<tid>/, /proc/thread-self/) opens a
 * descriptor whose reads and writes are the calling thread's sio_should_fail() counter
 * (sio_fail_nth_set/get); opendir("/sys/kernel/debug") and absolute opens under
 * /sys/kernel/debug/fail* are redirected to a small private directory holding the failslab
 * and fail_page_alloc knobs the test writes (accepted, not interpreted). The emulation is off
 * when the backend has no fault injection (the shim's unit test links a fake backend).
 *
 * Invariants:
 * - The passthrough path takes no lock and allocates nothing: a TLS depth check, one
 *   softiommu_is_fd() call and an indirect call.
 * - Calls made while softiommu is running on this thread (the core's own close() of an eventfd,
 *   write() to signal one, mmap() of a region) reach libc directly: the core is linked into this
 *   same object, so its libc references bind to these interposers. Threads the core starts
 *   itself do not carry the depth mark; the core must use raw system calls for its own fds there.
 * - Real symbols are resolved lazily with dlsym(RTLD_NEXT), so calls that arrive before any
 *   constructor has run work; a racing double resolution stores the same pointer twice.
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
#include <pthread.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <softiommu/softiommu.h>

#define SHIM_EXPORT __attribute__((visibility("default")))
#define DEV_IOMMU "/dev/iommu"

/* Fortified and internal entry points glibc's headers only declare under _FORTIFY_SOURCE. */
int __open_2(const char *path, int oflag);
int __open64_2(const char *path, int oflag);
int __openat_2(int dirfd, const char *path, int oflag);
int __openat64_2(int dirfd, const char *path, int oflag);
ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);

/*
 * Depth of softiommu calls on this thread; non-zero means "pass everything through".
 * initial-exec: this object is preloaded, so it gets static TLS and the check is one load.
 */
static __thread int shim_depth __attribute__((tls_model("initial-exec")));

/* ---- resolution of the real definitions ---- */

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef FILE *(*fopen_fn)(const char *, const char *);
typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*read_chk_fn)(int, void *, size_t, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef int (*close_fn)(int);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*dup_fn)(int);
typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);
typedef int (*fcntl_fn)(int, int, ...);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef DIR *(*opendir_fn)(const char *);

enum real_id {
	R_OPEN, R_OPEN64, R_OPENAT, R_OPENAT64, R_FOPEN, R_FOPEN64, R_IOCTL, R_READ, R_READ_CHK,
	R_WRITE, R_CLOSE, R_MMAP, R_DUP, R_DUP2, R_DUP3, R_FCNTL, R_FCNTL64, R_PREAD, R_PREAD64,
	R_PWRITE, R_PWRITE64, R_OPENDIR, R_NR
};

static const char *const real_names[R_NR] = {
	[R_OPEN] = "open", [R_OPEN64] = "open64", [R_OPENAT] = "openat",
	[R_OPENAT64] = "openat64", [R_FOPEN] = "fopen", [R_FOPEN64] = "fopen64",
	[R_IOCTL] = "ioctl", [R_READ] = "read", [R_READ_CHK] = "__read_chk", [R_WRITE] = "write",
	[R_CLOSE] = "close", [R_MMAP] = "mmap", [R_DUP] = "dup", [R_DUP2] = "dup2",
	[R_DUP3] = "dup3", [R_FCNTL] = "fcntl", [R_FCNTL64] = "fcntl64", [R_PREAD] = "pread",
	[R_PREAD64] = "pread64", [R_PWRITE] = "pwrite", [R_PWRITE64] = "pwrite64",
	[R_OPENDIR] = "opendir",
};

static void *_Atomic real_syms[R_NR];

static void *real_sym_slow(enum real_id id)
{
	void *p = dlsym(RTLD_NEXT, real_names[id]);

	if (!p) {
		static const char msg[] = "softiommu-preload: cannot resolve a libc symbol\n";

		/* Raw system calls: no libc symbol is usable. */
		syscall(SYS_write, 2, msg, sizeof(msg) - 1);
		abort();
	}
	atomic_store_explicit(&real_syms[id], p, memory_order_release);
	return p;
}

static inline void *real_sym(enum real_id id)
{
	void *p = atomic_load_explicit(&real_syms[id], memory_order_acquire);

	return p ? p : real_sym_slow(id);
}

#define REAL(id, type) ((type)real_sym(id))

/* ---- the softiommu boundary: depth mark, errno ---- */

/* Whether @fd is ours and this call is not one the core itself is making. */
static inline int routed(int fd)
{
	return !shim_depth && fd >= 0 && softiommu_is_fd(fd);
}

static inline void enter(void)
{
	shim_depth++;
}

static inline void leave(void)
{
	shim_depth--;
}

/* Turn a softiommu result into the libc convention; keeps errno on success. */
static inline long to_libc(long ret, int saved_errno)
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
#define CALL_SOFTIOMMU(call)                 \
	({                                   \
		int saved_ = errno;          \
		long ret_;                   \
		enter();                     \
		ret_ = (call);               \
		leave();                     \
		to_libc(ret_, saved_);       \
	})

/* ---- /proc/self/status ---- */

/* "/proc/self/status", "/proc/thread-self/status" or "/proc/<our pid>/status". */
static int is_own_status(const char *path)
{
	const char *p;
	char *end;
	long pid;

	if (strncmp(path, "/proc/", 6))
		return 0;
	p = path + 6;
	if (!strcmp(p, "self/status") || !strcmp(p, "thread-self/status"))
		return 1;
	if (*p < '1' || *p > '9')
		return 0;
	pid = strtol(p, &end, 10);
	return !strcmp(end, "/status") && pid == getpid();
}

/* Read all of @fd into a malloc'd, NUL-terminated buffer. */
static char *slurp(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *nbuf;
	ssize_t n;

	while (buf) {
		if (len + 1 == cap) {
			nbuf = realloc(buf, cap * 2);
			if (!nbuf)
				break;
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0) {
			buf[len] = 0;
			return buf;
		}
		len += n;
	}
	free(buf);
	return NULL;
}

static int write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Write @text to @out with the value of a "VmPin:"/"VmLck:" line raised by the matching
 * softiommu page count, printed the way the kernel prints it.
 */
static int write_status(int out, const char *text)
{
	unsigned long pinned = 0, locked = 0, kb_per_page = sysconf(_SC_PAGESIZE) / 1024;
	const char *line = text, *nl;
	char tmp[64];
	int n;

	softiommu_pinned_pages(&pinned, &locked);
	for (; *line; line = nl) {
		unsigned long extra = 0;

		nl = strchrnul(line, '\n');
		if (*nl)
			nl++;
		if (!strncmp(line, "VmPin:", 6))
			extra = pinned;
		else if (!strncmp(line, "VmLck:", 6))
			extra = locked;
		if (extra) {
			n = snprintf(tmp, sizeof(tmp), "%.6s\t%8lu kB\n", line,
				     strtoul(line + 6, NULL, 10) + extra * kb_per_page);
			if (write_all(out, tmp, n))
				return -1;
		} else if (write_all(out, line, nl - line)) {
			return -1;
		}
	}
	return 0;
}

/*
 * Open our own status file with the pin accounting applied: a memfd positioned at 0.
 * Return: the fd, or -1 with errno set.
 */
static int open_status(const char *path, int flags)
{
	int in, out, err;
	char *text;

	enter();
	out = -1;
	in = REAL(R_OPENAT, openat_fn)(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		goto done;
	text = slurp(in);
	err = errno;
	close(in);
	errno = err;
	if (!text)
		goto done;
	out = memfd_create("softiommu-status", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (out >= 0 && (write_status(out, text) || lseek(out, 0, SEEK_SET))) {
		err = errno ? errno : EIO;
		close(out);
		errno = err;
		out = -1;
	}
	free(text);
done:
	leave();
	return out;
}

static int status_wanted(const char *path, int flags)
{
	return path && (flags & O_ACCMODE) == O_RDONLY && !(flags & (O_CREAT | O_PATH)) &&
	       is_own_status(path);
}


/* ---- fault injection: fail-nth and the debugfs knobs ---- */

/* The backend's per-thread counter; absent (NULL) in a backend without fault injection. */
void sio_fail_nth_set(unsigned int nth) __attribute__((weak));
unsigned int sio_fail_nth_get(void) __attribute__((weak));

static int failnth_available(void)
{
	return sio_fail_nth_set && sio_fail_nth_get;
}

/* Open fail-nth descriptors: a short list, looked at only while it is non-empty. */
#define MAX_NTH_FDS 64
static struct nth_fd {
	int fd;
	pid_t tid;
	off_t pos; /* for read(); pread() takes its own offset */
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

/* Whether @fd is a fail-nth descriptor: a single load while none is open. */
static inline int is_nth_fd(int fd)
{
	int found;

	if (!atomic_load_explicit(&nth_fds_open, memory_order_relaxed) || fd < 0)
		return 0;
	pthread_mutex_lock(&nth_lock);
	found = nth_find(fd) != NULL;
	pthread_mutex_unlock(&nth_lock);
	return found;
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
		nth_fds[i] = (struct nth_fd){ .fd = fd, .tid = tid };
		atomic_fetch_add(&nth_fds_open, 1);
	}
	pthread_mutex_unlock(&nth_lock);
	if (i == MAX_NTH_FDS) {
		REAL(R_CLOSE, close_fn)(fd);
		errno = EMFILE;
		return -1;
	}
	return fd;
}

static void nth_forget(int fd)
{
	struct nth_fd *e;

	pthread_mutex_lock(&nth_lock);
	e = nth_find(fd);
	if (e) {
		e->tid = 0;
		e->fd = -1;
		atomic_fetch_sub(&nth_fds_open, 1);
	}
	pthread_mutex_unlock(&nth_lock);
}

/* The thread @fd names, or 0 when it is not a fail-nth descriptor. */
static pid_t nth_tid(int fd, off_t **pos)
{
	struct nth_fd *e;
	pid_t tid = 0;

	pthread_mutex_lock(&nth_lock);
	e = nth_find(fd);
	if (e) {
		tid = e->tid;
		if (pos)
			*pos = &e->pos;
	}
	pthread_mutex_unlock(&nth_lock);
	return tid;
}

/*
 * read/pread: "<remaining>\n" from @off, as the kernel's simple_read_from_buffer. Only the
 * calling thread's counter is visible (it is thread-local in the core).
 */
static ssize_t nth_read(pid_t tid, void *buf, size_t len, off_t off)
{
	char num[16];
	int n;

	if (tid != (pid_t)syscall(SYS_gettid)) {
		errno = EPERM;
		return -1;
	}
	n = snprintf(num, sizeof(num), "%u\n", sio_fail_nth_get());
	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
	if (off >= n)
		return 0;
	if (len > (size_t)(n - off))
		len = n - off;
	memcpy(buf, num + off, len);
	return (ssize_t)len;
}

/* write/pwrite: an unsigned number (any base, optional newline) arms the counter */
static ssize_t nth_write(pid_t tid, const void *buf, size_t len)
{
	char num[32], *end;
	unsigned long n;

	if (tid != (pid_t)syscall(SYS_gettid)) {
		errno = EPERM;
		return -1;
	}
	if (!len || len >= sizeof(num)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(num, buf, len);
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
		fd = REAL(R_OPENAT, openat_fn)(AT_FDCWD, path, O_WRONLY | O_CREAT | O_CLOEXEC,
					       0600);
		if (fd >= 0)
			REAL(R_CLOSE, close_fn)(fd);
	}
	atexit(debugfs_remove);
}

/* Our debugfs directory, or NULL when it cannot be made. */
static const char *debugfs_path(void)
{
	pthread_once(&debugfs_once, debugfs_make);
	return debugfs_dir[0] ? debugfs_dir : NULL;
}

static int is_debugfs(const char *path)
{
	return !strcmp(path, "/sys/kernel/debug") || !strcmp(path, "/sys/kernel/debug/");
}

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
	if (status_wanted(path, flags)) {
		*ret = open_status(path, flags);
		if (*ret >= 0)
			errno = saved;
		return 1;
	}
	if (failnth_available() && !strncmp(path, "/proc/", 6)) {
		pid_t tid;

		if (is_fail_nth(path, &tid)) {
			*ret = open_fail_nth(tid, flags);
			if (*ret >= 0)
				errno = saved;
			return 1;
		}
	}
	if (failnth_available() && !strncmp(path, "/sys/kernel/debug/fail", 22)) {
		const char *dir = debugfs_path();
		char moved[256];

		if (dir && snprintf(moved, sizeof(moved), "%s/%s", dir, path + 18) <
				   (int)sizeof(moved)) {
			*ret = REAL(R_OPENAT, openat_fn)(AT_FDCWD, moved, flags, 0600);
			return 1;
		}
	}
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
	OPEN_BODY(REAL(R_OPEN, open_fn)(path, flags, mode));
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	OPEN_BODY(REAL(R_OPEN64, open_fn)(path, flags, mode));
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(REAL(R_OPENAT, openat_fn)(dirfd, path, flags, mode));
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(REAL(R_OPENAT64, openat_fn)(dirfd, path, flags, mode));
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

static FILE *fopen_common(const char *path, const char *mode, enum real_id id)
{
	int flags = fopen_read_flags(mode), fd, err;
	FILE *f;

	if (shim_depth || flags < 0 || !path || !is_own_status(path))
		return REAL(id, fopen_fn)(path, mode);
	fd = open_status(path, flags);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, mode);
	if (!f) {
		err = errno;
		enter();
		close(fd);
		leave();
		errno = err;
	}
	return f;
}

SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	return fopen_common(path, mode, R_FOPEN);
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return fopen_common(path, mode, R_FOPEN64);
}

/* ---- fd calls ---- */

SHIM_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	void *arg;
	va_list ap;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!routed(fd))
		return REAL(R_IOCTL, ioctl_fn)(fd, request, arg);
	return (int)CALL_SOFTIOMMU(softiommu_ioctl(fd, request, arg));
}

static ssize_t nth_read_at_pos(int fd, void *buf, size_t len)
{
	off_t *pos = NULL;
	pid_t tid = nth_tid(fd, &pos);
	ssize_t n;

	if (!tid) { /* closed meanwhile */
		errno = EBADF;
		return -1;
	}
	n = nth_read(tid, buf, len, *pos);

	if (n > 0)
		*pos += n;
	return n;
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	if (is_nth_fd(fd))
		return nth_read_at_pos(fd, buf, len);
	if (!routed(fd))
		return REAL(R_READ, read_fn)(fd, buf, len);
	return CALL_SOFTIOMMU(softiommu_read(fd, buf, len));
}

SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (!routed(fd))
		return REAL(R_READ_CHK, read_chk_fn)(fd, buf, len, buflen);
	if (len > buflen) /* let libc report the overflow */
		return REAL(R_READ_CHK, read_chk_fn)(-1, buf, len, buflen);
	return CALL_SOFTIOMMU(softiommu_read(fd, buf, len));
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	if (is_nth_fd(fd))
		return nth_write(nth_tid(fd, NULL), buf, len);
	if (!routed(fd))
		return REAL(R_WRITE, write_fn)(fd, buf, len);
	return CALL_SOFTIOMMU(softiommu_write(fd, buf, len));
}

SHIM_EXPORT int close(int fd)
{
	if (is_nth_fd(fd))
		nth_forget(fd);
	if (!routed(fd))
		return REAL(R_CLOSE, close_fn)(fd);
	return (int)CALL_SOFTIOMMU(softiommu_close(fd));
}

/* pread/pwrite reach softiommu's descriptors only as fail-nth files; the rest pass through. */
SHIM_EXPORT ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	if (is_nth_fd(fd))
		return nth_read(nth_tid(fd, NULL), buf, len, off);
	return REAL(R_PREAD, pread_fn)(fd, buf, len, off);
}

SHIM_EXPORT ssize_t pread64(int fd, void *buf, size_t len, off_t off)
{
	if (is_nth_fd(fd))
		return nth_read(nth_tid(fd, NULL), buf, len, off);
	return REAL(R_PREAD64, pread_fn)(fd, buf, len, off);
}

SHIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (is_nth_fd(fd))
		return nth_write(nth_tid(fd, NULL), buf, len);
	return REAL(R_PWRITE, pwrite_fn)(fd, buf, len, off);
}

SHIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	if (is_nth_fd(fd))
		return nth_write(nth_tid(fd, NULL), buf, len);
	return REAL(R_PWRITE64, pwrite_fn)(fd, buf, len, off);
}

SHIM_EXPORT DIR *opendir(const char *name)
{
	const char *dir;

	if (!shim_depth && failnth_available() && is_debugfs(name)) {
		dir = debugfs_path();
		if (dir)
			return REAL(R_OPENDIR, opendir_fn)(dir);
	}
	return REAL(R_OPENDIR, opendir_fn)(name);
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *out = MAP_FAILED;

	if ((flags & MAP_ANONYMOUS) || !routed(fd))
		return REAL(R_MMAP, mmap_fn)(addr, len, prot, flags, fd, off);
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

	enter();
	ret = softiommu_dup(oldfd, newfd);
	if (ret < 0 && softiommu_close(newfd) < 0)
		REAL(R_CLOSE, close_fn)(newfd);
	leave();
	return to_libc(ret, saved) < 0 ? -1 : newfd;
}

SHIM_EXPORT int dup(int oldfd)
{
	int newfd;

	if (!routed(oldfd))
		return REAL(R_DUP, dup_fn)(oldfd);
	newfd = REAL(R_DUP, dup_fn)(oldfd);
	return newfd < 0 ? newfd : record_dup(oldfd, newfd);
}

/*
 * dup2/dup3 of a plain fd onto one of ours: release ours as close() would, but only once the
 * real call cannot fail for a bad source fd (it must leave the target alone then).
 */
static int release_target(int oldfd, int newfd)
{
	if (REAL(R_FCNTL, fcntl_fn)(oldfd, F_GETFD) < 0)
		return -1;
	return (int)CALL_SOFTIOMMU(softiommu_close(newfd));
}

static int real_dup_onto(int oldfd, int newfd, int flags, int is_dup3)
{
	return is_dup3 ? REAL(R_DUP3, dup3_fn)(oldfd, newfd, flags)
		       : REAL(R_DUP2, dup2_fn)(oldfd, newfd);
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
	if (routed(oldfd)) {
		ret = real_dup_onto(oldfd, newfd, flags, is_dup3);
		return ret < 0 ? ret : record_dup(oldfd, ret);
	}
	if (routed(newfd) && release_target(oldfd, newfd) < 0)
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

static int fcntl_common(enum real_id id, int fd, int cmd, void *arg)
{
	int newfd;

	if ((cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC) || !routed(fd))
		return REAL(id, fcntl_fn)(fd, cmd, arg);
	newfd = REAL(id, fcntl_fn)(fd, cmd, arg);
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
	return fcntl_common(R_FCNTL, fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	void *arg;
	va_list ap;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(R_FCNTL64, fd, cmd, arg);
}
