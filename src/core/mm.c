// SPDX-License-Identifier: MIT
/*
 * mm.c — address spaces by process (see mm.h): this process's, and clients' in daemon mode.
 *
 * A client's memory is moved with process_vm_readv/writev on its pid. A pid alone could name
 * another process once the client has exited and been reaped, so every client mm holds a
 * pidfd, and a copy counts only while that pidfd says the process still exists: checked
 * before a write (nothing is stored into a pid whose process is gone) and after every copy (a
 * read from a process that exited during the call is discarded as -EFAULT). A process that
 * exits is a zombie, its pid still its own, until its parent reaps it; the one window left
 * is a client exiting, being reaped and its pid reused within one copy's system call.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mm.h"
#include "sio.h"
#include "file.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

struct sio_mm sio_mm_self = {
	.refs = 1,
	.pidfd = -1,
	.maps_lock = PTHREAD_MUTEX_INITIALIZER,
	.maps_fd = -1,
};

__thread struct sio_mm *sio_mm_current_tls __attribute__((tls_model("initial-exec")));
atomic_long sio_mm_live;
__thread struct sio_mm_patch sio_mm_patch_tls __attribute__((tls_model("initial-exec")));

/* What this thread reads of [remote, remote + len) into @local, with the patch applied */
static void apply_patch(void *local, uint64_t remote, size_t len)
{
	const struct sio_mm_patch *p = &sio_mm_patch_tls;

	if (!p->on)
		return;
	for (unsigned int i = 0; i < sizeof(p->val); i++) {
		uint64_t a = p->addr + i;

		if (a >= remote && a - remote < len)
			((uint8_t *)local)[a - remote] = (uint8_t)(p->val >> (8 * i));
	}
}

/* Clients' mms, for their VmPin/VmLck (several mms may name one pid: their counts add up) */
static pthread_mutex_t mms_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sio_mm *mms;

/**
 * sio_mm_account_pid() - VmPin and VmLck, in pages, charged to process @pid as a client
 */
void sio_mm_account_pid(pid_t pid, unsigned long *pinned, unsigned long *locked)
{
	*pinned = *locked = 0;
	pthread_mutex_lock(&mms_lock);
	for (struct sio_mm *mm = mms; mm; mm = mm->next) {
		if (mm->pid != pid)
			continue;
		*pinned += atomic_load(&mm->pinned_vm);
		*locked += atomic_load(&mm->locked_vm);
	}
	pthread_mutex_unlock(&mms_lock);
}

/**
 * sio_mm_open_pid() - a new mm for process @pid (this process gives sio_mm_self)
 * @rc: out, -errno when NULL is returned (-ESRCH: no such process)
 */
struct sio_mm *sio_mm_open_pid(pid_t pid, int *rc)
{
	struct sio_mm *mm;
	int fd;

	if (pid == sio_self_pid())
		return &sio_mm_self;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		*rc = -errno;
		return NULL;
	}
	mm = sio_zalloc(sizeof(*mm));
	if (!mm) {
		syscall(SYS_close, fd);
		*rc = -ENOMEM;
		return NULL;
	}
	atomic_init(&mm->refs, 1);
	mm->pid = pid;
	mm->pidfd = fd;
	mm->maps_fd = -1;
	pthread_mutex_init(&mm->maps_lock, NULL);
	atomic_fetch_add(&sio_mm_live, 1);
	pthread_mutex_lock(&mms_lock);
	mm->next = mms;
	mms = mm;
	pthread_mutex_unlock(&mms_lock);
	return mm;
}

struct sio_mm *sio_mm_get(struct sio_mm *mm)
{
	if (!sio_mm_is_self(mm))
		atomic_fetch_add_explicit(&mm->refs, 1, memory_order_relaxed);
	return mm;
}

void sio_mm_put(struct sio_mm *mm)
{
	if (!mm || sio_mm_is_self(mm) || atomic_fetch_sub(&mm->refs, 1) != 1)
		return;
	pthread_mutex_lock(&mms_lock);
	for (struct sio_mm **p = &mms; *p; p = &(*p)->next)
		if (*p == mm) {
			*p = mm->next;
			break;
		}
	pthread_mutex_unlock(&mms_lock);
	sio_mm_pa_release(mm);
	if (mm->maps_fd >= 0)
		syscall(SYS_close, mm->maps_fd);
	syscall(SYS_close, mm->pidfd);
	pthread_mutex_destroy(&mm->maps_lock);
	free(mm);
	atomic_fetch_sub(&sio_mm_live, 1);
}

pid_t sio_mm_pid(const struct sio_mm *mm)
{
	return sio_mm_is_self(mm) ? sio_self_pid() : mm->pid;
}

/* Whether the process @mm was made for still exists (its pidfd is not readable yet) */
bool sio_mm_alive(const struct sio_mm *mm)
{
	struct pollfd p = { .fd = mm->pidfd, .events = POLLIN };

	if (sio_mm_is_self(mm))
		return true;
	return syscall(SYS_poll, &p, 1, 0) == 0;
}

static ssize_t vm_rw(pid_t pid, const struct iovec *l, unsigned int nl, const struct iovec *r,
		     unsigned int nr, bool write)
{
	return write ? process_vm_writev(pid, l, nl, r, nr, 0) :
		       process_vm_readv(pid, l, nl, r, nr, 0);
}

/**
 * sio_mm_copy() - copy @len bytes between @local and @remote in @mm, by the kernel
 *
 * Return: 0, -EFAULT when any byte is inaccessible or the process is gone, -ENOMEM.
 */
int sio_mm_copy(struct sio_mm *mm, void *local, uint64_t remote, size_t len, bool write)
{
	pid_t pid = sio_mm_pid(mm);
	void *start = local;
	uint64_t from = remote;
	size_t total = len;

	if (write && !sio_mm_alive(mm))
		return -EFAULT;
	while (len) {
		struct iovec l = { .iov_base = local, .iov_len = len };
		struct iovec r = { .iov_base = (void *)(uintptr_t)remote, .iov_len = len };
		ssize_t n;

		if (remote + len < remote)
			return -EFAULT;
		n = vm_rw(pid, &l, 1, &r, 1, write);
		if (n <= 0)
			return n < 0 && errno == ENOMEM ? -ENOMEM : -EFAULT;
		local = (char *)local + n;
		remote += n;
		len -= n;
	}
	if (!sio_mm_alive(mm))
		return -EFAULT;
	if (!write && !sio_mm_is_self(mm))
		apply_patch(start, from, total);
	return 0;
}

/**
 * sio_mm_copy_sg() - scatter-gather between one local buffer and @nr segments of @mm
 * @len: the local buffer's size, the sum of the segments' lengths
 *
 * One system call for all segments when every byte is there. Return: the bytes moved before
 * the first inaccessible byte of @mm (== @len when all went; 0 when the process is gone).
 */
size_t sio_mm_copy_sg(struct sio_mm *mm, void *local, size_t len, const struct iovec *remote,
		      unsigned int nr, bool write)
{
	pid_t pid = sio_mm_pid(mm);
	size_t done = 0, skip = 0;
	unsigned int i = 0;

	if (write && !sio_mm_alive(mm))
		return 0;
	while (done < len && i < nr) {
		struct iovec l = { .iov_base = (char *)local + done, .iov_len = len - done };
		struct iovec first = remote[i];
		ssize_t n;

		/* Resume mid-segment after a short transfer */
		first.iov_base = (char *)first.iov_base + skip;
		first.iov_len -= skip;
		if (nr - i == 1 || skip)
			n = vm_rw(pid, &l, 1, &first, 1, write);
		else
			n = vm_rw(pid, &l, 1, &remote[i], nr - i, write);
		if (n <= 0)
			break;
		done += n;
		/* Advance past the segments this call completed */
		n += skip;
		skip = 0;
		while (i < nr && (size_t)n >= remote[i].iov_len) {
			n -= remote[i].iov_len;
			i++;
		}
		skip = n;
	}
	if (!sio_mm_alive(mm))
		return 0;
	if (!write && !sio_mm_is_self(mm)) {
		size_t off = 0;

		for (unsigned int j = 0; j < nr && off < done; j++) {
			size_t n = min_t(size_t, remote[j].iov_len, done - off);

			apply_patch((char *)local + off, (uintptr_t)remote[j].iov_base, n);
			off += n;
		}
	}
	return done;
}

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/**
 * sio_mm_fd_get() - a descriptor of ours for the current mm's descriptor @fd
 *
 * An ioctl argument that names a file (IOAS_MAP_FILE's fd) names it in the sender's
 * descriptor table. In-process that is ours, and @fd is returned as it is; for a client, its
 * file is fetched with pidfd_getfd(), and when it is one of the files we handed out (a dma-buf)
 * our own number for it is returned. Give the result back to sio_mm_fd_put() with @owned.
 * Return: the descriptor, or -errno (-EBADF: the client has no such descriptor).
 */
int sio_mm_fd_get(int fd, bool *owned)
{
	struct sio_mm *mm = sio_mm_current_tls;
	int local, ours;

	*owned = false;
	if (!mm)
		return fd;
	if (fd < 0)
		return -EBADF;
	local = (int)syscall(SYS_pidfd_getfd, mm->pidfd, fd, 0);
	if (local < 0)
		return errno == ESRCH ? -EBADF : -errno;
	ours = sio_file_find_same(local);
	if (ours >= 0) {
		syscall(SYS_close, local);
		return ours;
	}
	*owned = true;
	return local;
}

void sio_mm_fd_put(int local, bool owned)
{
	if (owned)
		syscall(SYS_close, local);
}

/* "/proc/self/maps" or "/proc/PID/maps" into @buf; -ENAMETOOLONG when it does not fit */
int sio_mm_maps_path(const struct sio_mm *mm, char *buf, size_t len)
{
	int n = sio_mm_is_self(mm) ? snprintf(buf, len, "/proc/self/maps") :
				     snprintf(buf, len, "/proc/%d/maps", (int)mm->pid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
