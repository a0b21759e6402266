// SPDX-License-Identifier: MIT
/*
 * uffd.c: a userfaultfd watch on pinned user memory.
 *
 * keep.c gives pinned pages Linux's semantics for every change of the program's memory that
 * comes through the shim's libc entry points. A raw system call, libc's own internal calls
 * and a program linking the library without the shim are not seen there. The kernel can tell
 * us about those: a userfaultfd with the non-cooperative events (UFFD_EVENT_UNMAP, _REMOVE,
 * _REMAP) registered over a VMA reports every munmap (and MAP_FIXED over it), every
 * MADV_DONTNEED / MADV_REMOVE and every mremap of it, from whatever code, and holds the
 * calling thread in its system call until the event has been read.
 *
 * The registration is write-protect mode with nothing write-protected: it causes no fault,
 * only the events. Pinning registers the pinned object's range (best effort: VMAs that
 * userfaultfd does not take, or that another userfaultfd holds, stay as they are).
 *
 * What an event means here:
 *   - UNMAP, REMOVE: the pages are gone (an unmap is reported after it, a discard races with
 *     our read of its event). keep.c points the device's view of pinned pages in the range
 *     at a PROT_NONE reserve: a DMA faults, it never reaches memory mapped there later;
 *   - REMAP: the pages moved with the mapping; the device's view follows them, as for the
 *     program's mremap under the shim.
 *
 * Reading an event lets the thread that caused it go on, possibly to map new memory at the
 * same address at once. So before reading, the watch freezes DMA (sio_uffd_freeze, which
 * the DMA path checks inside its read-side section) and waits a grace period, so that no
 * copy is running; it thaws DMA once keep.c has repointed the pages. A DMA therefore never
 * copies to or from memory mapped over pinned pages after the event. Another thread that
 * maps new memory at the address in the microseconds between the kernel's unmap and the
 * watch's poll wake-up can still be reached by a DMA in that gap (memory-model.md).
 *
 * The descriptor is internal (file.c): the program's close(), close_range() and closefrom()
 * leave it alone, and dup2() onto its number moves it first. A forked child inherits no
 * registration (no UFFD_FEATURE_EVENT_FORK) and starts without a watch.
 *
 * Lock: uffd_lock, a leaf (creation, registration, the descriptor's number, reads).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../sio.h"
#include "../file.h"
#include "uffd.h"
#include "../../dma/epoch.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif

#define UFFD_EVENTS (UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_EVENT_REMOVE | \
		     UFFD_FEATURE_EVENT_REMAP)

atomic_int sio_uffd_freeze;
atomic_uint_least64_t sio_uffd_epoch = 1;

/* An event, and the epoch it was read in: pages objects made later are not its business */
struct event {
	struct uffd_msg msg;
	uint64_t epoch;
};

static pthread_mutex_t uffd_lock = PTHREAD_MUTEX_INITIALIZER;
static int uffd = -1;
static bool uffd_failed; /* unavailable or turned off: never try again (this process) */

void sio_uffd_thaw_wait(void)
{
	while (atomic_load(&sio_uffd_freeze))
		syscall(SYS_futex, &sio_uffd_freeze, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
}

static void thaw(void)
{
	atomic_store(&sio_uffd_freeze, 0);
	syscall(SYS_futex, &sio_uffd_freeze, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/*
 * The ranges registered now, sorted and disjoint (uffd_lock): a pin of memory already
 * watched makes no system call. The kernel drops a registration only with its VMA (an
 * unmap, reported as an event) or at our unregister, and moves it with an mremap (reported).
 */
struct range {
	uint64_t start, end;
};
static struct range *watched;
static size_t nwatched, watched_cap;

/* The first range ending after @at */
static size_t ws_find(uint64_t at)
{
	return sio_partition_point(nwatched, i, watched[i].end <= at);
}

static bool ws_covered(uint64_t start, uint64_t end)
{
	size_t i = ws_find(start);

	return i != nwatched && watched[i].start <= start && watched[i].end >= end;
}

/* Take [start, end) out of the set */
static void ws_remove(uint64_t start, uint64_t end)
{
	size_t i = ws_find(start);

	while (i != nwatched && watched[i].start < end) {
		struct range *r = &watched[i];

		if (r->start < start && r->end > end) {
			/* Split in two; without room, forget the tail (a later pin registers it) */
			if (nwatched == watched_cap) {
				r->end = start;
				return;
			}
			memmove(r + 2, r + 1, (nwatched - i - 1) * sizeof(*r));
			r[1] = (struct range){ end, r->end };
			r->end = start;
			nwatched++;
			return;
		}
		if (r->start < start) {
			r->end = start;
			i++;
		} else if (r->end > end) {
			r->start = end;
			return;
		} else {
			memmove(r, r + 1, (nwatched - i - 1) * sizeof(*r));
			nwatched--;
		}
	}
}

/* Put [start, end) in the set, merging; without memory, it is just not remembered */
static void ws_add(uint64_t start, uint64_t end)
{
	size_t i, j;

	if (nwatched + 1 >= watched_cap) {
		size_t cap = watched_cap ? 2 * watched_cap : 64;
		struct range *n = sio_realloc_array(watched, cap, sizeof(*n));

		if (!n)
			return;
		watched = n;
		watched_cap = cap;
	}
	i = start ? ws_find(start - 1) : 0; /* the first range touching or after @start */
	for (j = i; j != nwatched && watched[j].start <= end; j++) {
		start = min_t(uint64_t, start, watched[j].start);
		end = max_t(uint64_t, end, watched[j].end);
	}
	if (j == i) {
		memmove(&watched[i + 1], &watched[i], (nwatched - i) * sizeof(*watched));
		nwatched++;
	} else if (j > i + 1) {
		memmove(&watched[i + 1], &watched[j], (nwatched - j) * sizeof(*watched));
		nwatched -= j - i - 1;
	}
	watched[i] = (struct range){ start, end };
}

/* What an event read says about the registrations (uffd_lock held) */
static void ws_event(const struct uffd_msg *m)
{
	if (m->event == UFFD_EVENT_UNMAP) {
		ws_remove(m->arg.remove.start, m->arg.remove.end);
	} else if (m->event == UFFD_EVENT_REMAP) {
		/* The registration went with the VMA; an UNMAP of the old range may follow */
		ws_remove(m->arg.remap.from, m->arg.remap.from + m->arg.remap.len);
		ws_add(m->arg.remap.to, m->arg.remap.to + m->arg.remap.len);
	}
}

/* 0, or -EBUSY when keep.c's lock is taken (handle it again later) */
static int handle(const struct event *e)
{
	const struct uffd_msg *m = &e->msg;
	int rc = 0;

	switch (m->event) {
	case UFFD_EVENT_UNMAP:
	case UFFD_EVENT_REMOVE:
		rc = sio_keep_lost(m->arg.remove.start, m->arg.remove.end - m->arg.remove.start,
				   e->epoch);
		break;
	case UFFD_EVENT_REMAP:
		rc = sio_keep_moved(m->arg.remap.from, m->arg.remap.to, m->arg.remap.len, e->epoch);
		break;
	default:
		break;
	}
	return rc;
}

/* Read what is queued (the descriptor is non-blocking); returns the number of messages */
static size_t read_events(struct event *ev, size_t max, bool *dead)
{
	/*
	 * Before the read: the threads these events hold go on once it is done, and memory
	 * they map and pin from then on is new, in a pages object of this epoch or later
	 */
	uint64_t epoch = atomic_fetch_add(&sio_uffd_epoch, 1) + 1;
	size_t n = 0;

	pthread_mutex_lock(&uffd_lock);
	while (n != max && uffd >= 0) {
		ssize_t r = syscall(SYS_read, uffd, &ev[n].msg, sizeof(ev[n].msg));

		if (r == (ssize_t)sizeof(ev[n].msg)) {
			ws_event(&ev[n].msg);
			n++;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN)
			*dead = true;
		break;
	}
	if (uffd < 0)
		*dead = true;
	pthread_mutex_unlock(&uffd_lock);
	for (size_t i = 0; i != n; i++)
		ev[i].epoch = epoch;
	return n;
}

/*
 * The watch. It never waits for a lock: the thread holding keep_lock may be in a system call
 * that reports more than one event (an mremap, a discard over several VMAs) and waits for
 * each to be read. An event keep.c cannot take yet stays queued, with DMA frozen, and is
 * tried again after a millisecond; later ones are read meanwhile and handled in order.
 */
static void *watch_thread(void *arg)
{
	struct event *q = NULL;
	size_t nq = 0, cap = 0;
	bool frozen = false;
	sigset_t all;

	(void)arg;
	/*
	 * The program's signals are not ours to take; the synchronous ones stay open, as a
	 * fault-safe copy (safecopy.c) recovers through SIGSEGV/SIGBUS and a blocked one kills
	 */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGTRAP);
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, _NSIG / 8);
	for (;;) {
		struct pollfd p;
		bool dead = false;
		size_t done = 0;

		pthread_mutex_lock(&uffd_lock);
		p.fd = uffd;
		pthread_mutex_unlock(&uffd_lock);
		if (p.fd < 0)
			break;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, nq ? 1 : -1) < 0 && errno != EINTR)
			break;
		if (p.revents & POLLNVAL)
			break;
		if (!(p.revents & POLLIN) && !nq)
			continue;
		if (!frozen) {
			/* No copy may start or run between our read and keep.c's repoint */
			atomic_store(&sio_uffd_freeze, 1);
			sio_dma_synchronize();
			frozen = true;
		}
		for (;;) {
			size_t n;

			if (nq == cap) {
				size_t ncap = cap ? 2 * cap : 64;
				struct event *nqv = sio_realloc_array(q, ncap, sizeof(*q));

				if (!nqv)
					break; /* read later, once the queue drains */
				q = nqv;
				cap = ncap;
			}
			n = read_events(q + nq, cap - nq, &dead);
			nq += n;
			if (nq != cap)
				break;
		}
		while (done != nq && !handle(&q[done]))
			done++;
		memmove(q, q + done, (nq - done) * sizeof(*q));
		nq -= done;
		if (!nq) {
			thaw();
			frozen = false;
		}
		if (dead && !nq)
			break;
	}
	thaw();
	sio_free(q);
	return NULL;
}

static bool uffd_disabled(void)
{
	const char *e = getenv("SOFTIOMMU_UFFD");

	return e && !strcmp(e, "0");
}

/* The descriptor and its thread, made at the first watch; uffd_lock held */
static int uffd_open(void)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_EVENTS | UFFD_FEATURE_WP_HUGETLBFS_SHMEM };
	pthread_attr_t attr;
	pthread_t thread;
	int fd, moved;

	/* The shim interposes ioctl, read, fcntl: the watch makes its system calls itself */

	if (uffd >= 0 || uffd_failed)
		return uffd;
	uffd_failed = true;
	if (uffd_disabled())
		return -1;
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return -1;
	if (syscall(SYS_ioctl, fd, UFFDIO_API, &api)) {
		/* An older kernel: the events without write-protecting shmem and hugetlbfs */
		syscall(SYS_close, fd);
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
		api = (struct uffdio_api){ .api = UFFD_API, .features = UFFD_EVENTS };
		if (fd < 0 || syscall(SYS_ioctl, fd, UFFDIO_API, &api)) {
			if (fd >= 0)
				syscall(SYS_close, fd);
			return -1;
		}
	}
	/* Out of the way of the low numbers programs expect to get back */
	moved = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 100);
	if (moved >= 0) {
		syscall(SYS_close, fd);
		fd = moved;
	}
	if (sio_file_hold_core_fd(fd)) {
		syscall(SYS_close, fd);
		return -1;
	}
	uffd = fd;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&thread, &attr, watch_thread, NULL)) {
		pthread_attr_destroy(&attr);
		sio_file_release_core_fd(fd);
		syscall(SYS_close, fd);
		uffd = -1;
		return -1;
	}
	pthread_attr_destroy(&attr);
	uffd_failed = false;
	return uffd;
}

static bool uffd_register(int fd, uint64_t start, uint64_t end)
{
	struct uffdio_register r = { .range = { start, end - start },
				     .mode = UFFDIO_REGISTER_MODE_WP };

	if (syscall(SYS_ioctl, fd, UFFDIO_REGISTER, &r))
		return false;
	ws_add(start, end);
	return true;
}

void sio_uffd_watch(uint64_t addr, uint64_t len)
{
	uint64_t start = ALIGN_DOWN(addr, SIO_PAGE_SIZE), end, cur;
	int fd;

	if (!len || check_add_overflow(addr, len, &end))
		return;
	end = ALIGN_UP(end, SIO_PAGE_SIZE);
	/* Where lost pages will point, made first: later it could land in the hole they leave */
	if (sio_keep_lost_init())
		return;
	pthread_mutex_lock(&uffd_lock);
	fd = uffd_open();
	if (fd < 0 || ws_covered(start, end))
		goto out;
	if (uffd_register(fd, start, end))
		goto out;
	/* Some VMA of the range is not one userfaultfd takes: watch the others one by one */
	for (cur = start; cur < end;) {
		uint64_t vs, ve;

		if (sio_user_vma_next(cur, &vs, &ve) || vs >= end)
			break;
		vs = max_t(uint64_t, vs, cur);
		ve = min_t(uint64_t, ve, end);
		uffd_register(fd, vs, ve); /* or not watched: memory-model.md */
		cur = ve;
	}
out:
	pthread_mutex_unlock(&uffd_lock);
}

void sio_uffd_unwatch(uint64_t addr, uint64_t len)
{
	struct uffdio_range r;
	uint64_t end;

	if (!len || check_add_overflow(addr, len, &end))
		return;
	r.start = ALIGN_DOWN(addr, SIO_PAGE_SIZE);
	r.len = ALIGN_UP(end, SIO_PAGE_SIZE) - r.start;
	pthread_mutex_lock(&uffd_lock);
	ws_remove(r.start, r.start + r.len);
	/*
	 * Holes and unregistered VMAs are fine, but one VMA userfaultfd does not take (a file on
	 * disk) fails the whole range: then go VMA by VMA
	 */
	if (uffd >= 0 && syscall(SYS_ioctl, uffd, UFFDIO_UNREGISTER, &r)) {
		for (uint64_t cur = r.start, last = r.start + r.len; cur < last;) {
			struct uffdio_range v;
			uint64_t vs, ve;

			if (sio_user_vma_next(cur, &vs, &ve) || vs >= last)
				break;
			v.start = max_t(uint64_t, vs, cur);
			v.len = min_t(uint64_t, ve, last) - v.start;
			syscall(SYS_ioctl, uffd, UFFDIO_UNREGISTER, &v);
			cur = v.start + v.len;
		}
	}
	pthread_mutex_unlock(&uffd_lock);
}

int sio_uffd_vacate(int fd)
{
	int moved, rc = 0;

	pthread_mutex_lock(&uffd_lock);
	if (uffd == fd) {
		moved = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
		if (moved < 0 || sio_file_hold_core_fd(moved)) {
			rc = moved < 0 ? -errno : -EMFILE;
			if (moved >= 0)
				syscall(SYS_close, moved);
		} else {
			/* The thread polls the old number until its next wake-up: it re-reads */
			uffd = moved;
			sio_file_release_core_fd(fd);
			syscall(SYS_close, fd);
		}
	}
	pthread_mutex_unlock(&uffd_lock);
	return rc;
}

void sio_uffd_fork_prepare(void)
{
	pthread_mutex_lock(&uffd_lock);
}

void sio_uffd_fork_parent(void)
{
	pthread_mutex_unlock(&uffd_lock);
}

/* The child has no registration and no watch thread: it starts afresh at its first pin */
void sio_uffd_fork_child(void)
{
	if (uffd >= 0) {
		sio_file_release_core_fd(uffd);
		syscall(SYS_close, uffd);
	}
	uffd = -1;
	uffd_failed = false;
	nwatched = 0;
	atomic_store(&sio_uffd_freeze, 0);
	pthread_mutex_unlock(&uffd_lock);
}
