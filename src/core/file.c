// SPDX-License-Identifier: MIT
/*
 * The descriptor registry: which descriptor numbers are softiommu files.
 *
 * A file's descriptor is one end of a socket pair the core made; the other end, and a
 * descriptor of its own for the program's end, stay private to softiommu (marked internal
 * here, so the shim keeps the program's close()/close_range()/dup2() off them). A number is
 * only a hint: the program may close it behind the shim's back (a raw system call, glibc's own
 * close inside fclose) and get the number again for a pipe. So a number's registration is
 * checked against the file's identity, the inode of the program's end (fstat), wherever a
 * stale entry could do harm, and a stale entry is dropped, releasing its file; only the iommufd
 * ioctl hot path trusts the number (an iommufd ioctl on a closed descriptor is the program's
 * bug, and ENOTTY is all Linux would have said).
 *
 * Lookups are lock-free and async-signal-safe: a signal handler may read or close a softiommu
 * descriptor whatever the interrupted thread was doing here. Files live in type-stable memory
 * (never returned to malloc, reused through a lock-free free list with an ABA tag), so a lookup
 * that loses a race with the last put touches a file's refcount, never freed memory, and
 * re-checks the registry after taking its reference.
 *
 * fork(): files belong to the process that made them. In a child they are inherited: every
 * operation on them fails with EIO (softiommu's state is not shared across processes until its
 * daemon mode), close() just lets go of the child's descriptors, and nothing in the child ever
 * reads, writes or locks the parent's objects — so a lock another thread held at fork() cannot
 * deadlock the child, and the child's reads never clear the parent's POLLIN.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "file.h"
#include "fail.h"
#include "sio.h"
#include "mem/uffd.h"
#include "util.h"

#define SIO_MAX_FDS (1 << 20)
#define POOL_CHUNK_LG2 12
#define POOL_CHUNK (1u << POOL_CHUNK_LG2)
#define POOL_CHUNKS 256u

static _Atomic(struct sio_file *) *registry;
/* Internal descriptor number -> 1 + index of the file using it, 0 when not internal */
static _Atomic uint32_t *internal;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;
static atomic_int registry_high; /* one past the highest descriptor ever registered */

static _Atomic(struct sio_file *) pool_chunks[POOL_CHUNKS];
static atomic_uint pool_next;
static _Atomic uint64_t pool_free; /* ABA tag << 32 | (index + 1); 0: empty */

static void registry_note(int fd)
{
	int cur = atomic_load(&registry_high);

	while (fd >= cur && !atomic_compare_exchange_weak(&registry_high, &cur, fd + 1))
		;
}

static void registry_init(void)
{
	void *p = mmap(NULL, SIO_MAX_FDS * sizeof(*registry), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	void *q = mmap(NULL, SIO_MAX_FDS * sizeof(*internal), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || q == MAP_FAILED) {
		if (p != MAP_FAILED)
			munmap(p, SIO_MAX_FDS * sizeof(*registry));
		if (q != MAP_FAILED)
			munmap(q, SIO_MAX_FDS * sizeof(*internal));
		return;
	}
	internal = q;
	/* the pointer itself is not _Atomic (its slots are): clang's atomic_store wants one */
	__atomic_store_n(&registry, (_Atomic(struct sio_file *) *)p, __ATOMIC_RELEASE);
}

static bool registry_ready(void)
{
	pthread_once(&registry_once, registry_init);
	return registry != NULL;
}

static inline bool fd_in_range(int fd)
{
	return fd >= 0 && fd < SIO_MAX_FDS;
}

/* ---- type-stable file memory ---- */

static struct sio_file *pool_file(uint32_t index)
{
	struct sio_file *chunk =
		atomic_load_explicit(&pool_chunks[index >> POOL_CHUNK_LG2], memory_order_acquire);

	return chunk ? &chunk[index & (POOL_CHUNK - 1)] : NULL;
}

static struct sio_file *pool_new(void)
{
	uint32_t index = atomic_fetch_add(&pool_next, 1);
	struct sio_file *chunk, *expected = NULL;
	uint32_t c = index >> POOL_CHUNK_LG2;

	if (index >= POOL_CHUNKS * POOL_CHUNK) {
		atomic_fetch_sub(&pool_next, 1);
		return NULL;
	}
	chunk = atomic_load_explicit(&pool_chunks[c], memory_order_acquire);
	if (!chunk) {
		/* calloc, not mmap: LeakSanitizer sees what the files point to */
		chunk = calloc(POOL_CHUNK, sizeof(*chunk));
		if (!chunk)
			return NULL; /* this index is lost; the next caller tries again */
		for (uint32_t i = 0; i != POOL_CHUNK; i++)
			chunk[i].index = c * POOL_CHUNK + i;
		if (!atomic_compare_exchange_strong(&pool_chunks[c], &expected, chunk)) {
			free(chunk);
			chunk = expected;
		}
	}
	return &chunk[index & (POOL_CHUNK - 1)];
}

static struct sio_file *file_alloc(void)
{
	uint64_t head = atomic_load_explicit(&pool_free, memory_order_acquire);

	while ((uint32_t)head) {
		struct sio_file *f = pool_file((uint32_t)head - 1);
		uint64_t next = (head & ~0xffffffffull) + (1ull << 32) +
				atomic_load_explicit(&f->next_free, memory_order_relaxed);

		if (atomic_compare_exchange_weak_explicit(&pool_free, &head, next,
							  memory_order_acquire,
							  memory_order_acquire))
			return f;
	}
	return pool_new();
}

static void file_free(struct sio_file *f)
{
	uint64_t head = atomic_load_explicit(&pool_free, memory_order_relaxed), next;

	do {
		atomic_store_explicit(&f->next_free, (uint32_t)head, memory_order_relaxed);
		next = (head & ~0xffffffffull) + (1ull << 32) + f->index + 1;
	} while (!atomic_compare_exchange_weak_explicit(&pool_free, &head, next,
							memory_order_release,
							memory_order_relaxed));
}

/* ---- internal descriptors ---- */

static void internal_mark(int fd, struct sio_file *f)
{
	registry_note(fd);
	atomic_store_explicit(&internal[fd], f ? f->index + 1 : 0, memory_order_release);
}

bool sio_file_is_internal(int fd)
{
	return registry && fd_in_range(fd) &&
	       atomic_load_explicit(&internal[fd], memory_order_acquire) != 0;
}

static void close_internal(int fd)
{
	if (fd < 0)
		return;
	internal_mark(fd, NULL);
	syscall(SYS_close, fd);
}

/*
 * A descriptor the core keeps for @f beyond the program's reach (an eventfd a VFIO device
 * signals): the program's close(), close_range() and closefrom() leave it alone.
 * Return: 0, or -EMFILE when the number is beyond the registry.
 */
int sio_file_hold_fd(struct sio_file *f, int fd)
{
	if (!registry_ready() || !fd_in_range(fd))
		return -EMFILE;
	internal_mark(fd, f);
	return 0;
}

/* Internal descriptors of the core itself, with no file (uffd.c's userfaultfd) */
#define CORE_FD_MARK UINT32_MAX

/**
 * sio_file_hold_core_fd() - @fd is the core's own: the program's close(), close_range() and
 * closefrom() leave it alone, and dup2() onto it asks its owner to move it (uffd.c)
 * Return: 0, or -EMFILE when the number is beyond the registry.
 */
int sio_file_hold_core_fd(int fd)
{
	if (!registry_ready() || !fd_in_range(fd))
		return -EMFILE;
	registry_note(fd);
	atomic_store_explicit(&internal[fd], CORE_FD_MARK, memory_order_release);
	return 0;
}

/* @fd is no longer the core's (its owner closes it) */
void sio_file_release_core_fd(int fd)
{
	if (registry && fd_in_range(fd))
		atomic_store_explicit(&internal[fd], 0, memory_order_release);
}

/* Close a descriptor sio_file_hold_fd() kept */
void sio_file_drop_fd(int fd)
{
	close_internal(fd);
}

/* The program's descriptors and ours: all below SIO_MAX_FDS, or -EMFILE */
static int file_make_fds(struct sio_file *f, int flags)
{
	struct stat st;
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	f->signal_fd = sv[1];
	f->drain_fd = fcntl(sv[0], F_DUPFD_CLOEXEC, 0);
	rc = f->drain_fd < 0 ? -errno : 0;
	if (!rc && (!fd_in_range(sv[0]) || !fd_in_range(sv[1]) || !fd_in_range(f->drain_fd)))
		rc = -EMFILE;
	if (!rc && !(flags & O_CLOEXEC) && fcntl(sv[0], F_SETFD, 0))
		rc = -errno;
	if (!rc && (flags & O_NONBLOCK) && fcntl(sv[0], F_SETFL, O_NONBLOCK))
		rc = -errno;
	if (!rc && fstat(sv[0], &st))
		rc = -errno;
	if (rc) {
		syscall(SYS_close, sv[0]);
		syscall(SYS_close, sv[1]);
		if (f->drain_fd >= 0)
			syscall(SYS_close, f->drain_fd);
		return rc;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	internal_mark(f->signal_fd, f);
	internal_mark(f->drain_fd, f);
	return sv[0];
}

/* ---- files ---- */

int sio_file_install(const struct sio_file_ops *ops, void *priv, int flags,
		     struct sio_file **out)
{
	struct sio_file *f, *old;
	int fd;

	if (!registry_ready())
		return -ENOMEM;
	if (sio_should_fail())
		return -ENOMEM;
	f = file_alloc();
	if (!f)
		return -ENOMEM;
	fd = file_make_fds(f, flags);
	if (fd < 0) {
		file_free(f);
		return fd;
	}
	f->ops = ops;
	f->priv = priv;
	f->flags = flags;
	f->readable = false;
	f->owner = sio_self_pid();
	sio_mutex_init(&f->lock, SIO_LOCK_FILE);
	atomic_store_explicit(&f->refs, 1, memory_order_release);
	registry_note(fd);
	/* A number the kernel just gave us may still name a file closed behind our back */
	old = atomic_exchange_explicit(&registry[fd], f, memory_order_acq_rel);
	if (old)
		sio_file_put(old);
	if (out)
		*out = f;
	return fd;
}

/*
 * sio_file_adopt() - register @fd, a descriptor another process made (the daemon's end of a
 * connection, a fault queue it passed), as a softiommu file of @ops
 *
 * The file is shared across fork() as the kernel file behind it is: a child's copy works (no
 * EIO), and each process releases its own view when its last number for it goes.
 * @drain_fd of the file is a private duplicate of @fd, kept out of the program's reach, for
 * @ops to talk through whatever the program does with its numbers.
 * Return: 0 or -errno; on error @fd is left to the caller.
 */
int sio_file_adopt(const struct sio_file_ops *ops, void *priv, int fd, int flags,
		   struct sio_file **out)
{
	struct sio_file *f, *old;
	struct stat st;

	if (!registry_ready() || !fd_in_range(fd))
		return -EMFILE;
	if (fstat(fd, &st))
		return -errno;
	f = file_alloc();
	if (!f)
		return -ENOMEM;
	f->drain_fd = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
	if (f->drain_fd < 0 || !fd_in_range(f->drain_fd)) {
		if (f->drain_fd >= 0)
			syscall(SYS_close, f->drain_fd);
		file_free(f);
		return -EMFILE;
	}
	internal_mark(f->drain_fd, f);
	f->signal_fd = -1;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->ops = ops;
	f->priv = priv;
	f->flags = flags;
	f->readable = false;
	f->owner = 0; /* shared: see file_inherited() */
	sio_mutex_init(&f->lock, SIO_LOCK_FILE);
	atomic_store_explicit(&f->refs, 1, memory_order_release);
	registry_note(fd);
	old = atomic_exchange_explicit(&registry[fd], f, memory_order_acq_rel);
	if (old)
		sio_file_put(old);
	if (out)
		*out = f;
	return 0;
}

/* Made by our parent and not shared with us (owner 0: an adopted file, shared by fork) */
static inline bool file_inherited(const struct sio_file *f)
{
	return f->owner && f->owner != sio_self_pid();
}

/* A reference on the file registered at @fd, inherited or not; NULL when none */
static struct sio_file *registry_get(int fd)
{
	struct sio_file *f;

	if (!registry || !fd_in_range(fd))
		return NULL;
	for (;;) {
		int refs;

		f = atomic_load_explicit(&registry[fd], memory_order_acquire);
		if (!f)
			return NULL;
		refs = atomic_load_explicit(&f->refs, memory_order_relaxed);
		while (refs > 0 &&
		       !atomic_compare_exchange_weak_explicit(&f->refs, &refs, refs + 1,
							      memory_order_acquire,
							      memory_order_relaxed))
			;
		if (refs <= 0)
			continue; /* being freed: the slot has changed or is about to */
		if (atomic_load_explicit(&registry[fd], memory_order_acquire) == f)
			return f;
		sio_file_put(f);
	}
}

bool sio_file_is_fd(int fd)
{
	return registry && fd_in_range(fd) &&
	       atomic_load_explicit(&registry[fd], memory_order_acquire) != NULL;
}

/* Drop @fd's entry if it still holds @f: the number no longer names @f */
static void registry_drop_stale(int fd, struct sio_file *f)
{
	struct sio_file *expected = f;

	if (atomic_compare_exchange_strong(&registry[fd], &expected, NULL) && !file_inherited(f))
		sio_file_put(f);
}

static bool file_matches(int fd, const struct sio_file *f)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_dev == f->dev && st.st_ino == f->ino;
}

/* Whether @fd still names the file registered for it; a stale entry is dropped */
bool sio_file_check(int fd)
{
	struct sio_file *f = registry_get(fd);
	bool ok;

	if (!f)
		return false;
	ok = file_matches(fd, f);
	if (!ok)
		registry_drop_stale(fd, f);
	sio_file_put(f);
	return ok;
}

/* The file behind @fd without the identity check: the iommufd ioctl hot path */
struct sio_file *sio_file_get_unchecked(int fd)
{
	struct sio_file *f = registry_get(fd);

	if (f && file_inherited(f)) {
		sio_file_put(f);
		return NULL;
	}
	return f;
}

struct sio_file *sio_file_get(int fd)
{
	struct sio_file *f = registry_get(fd);

	if (!f)
		return NULL;
	if (!file_matches(fd, f)) {
		registry_drop_stale(fd, f);
		sio_file_put(f);
		return NULL;
	}
	if (file_inherited(f)) {
		sio_file_put(f);
		return NULL;
	}
	return f;
}

bool sio_file_is_inherited(int fd)
{
	struct sio_file *f = registry_get(fd);
	bool inherited = f && file_inherited(f);

	if (f)
		sio_file_put(f);
	return inherited;
}

void sio_file_put(struct sio_file *f)
{
	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (file_inherited(f))
		return; /* the parent's: a child never releases it (see the top) */
	if (f->ops->release)
		f->ops->release(f);
	close_internal(f->signal_fd);
	close_internal(f->drain_fd);
	pthread_mutex_destroy(&f->lock);
	file_free(f);
}

/* In a child of fork(): whether another number of the child still names inherited @f */
static bool inherited_still_open(const struct sio_file *f)
{
	int high = atomic_load(&registry_high);

	for (int fd = 0; fd < high; fd++)
		if (atomic_load_explicit(&registry[fd], memory_order_relaxed) == f)
			return true;
	return false;
}

/*
 * Take @fd out of the registry and let @close_fn close the number (close(2) itself when
 * NULL), then drop the file. Return: close_fn's result; -EBADF when @fd is not ours.
 */
int sio_file_close_with(int fd, int (*close_fn)(void *arg), void *arg)
{
	struct sio_file *f;
	int rc;

	if (!registry || !fd_in_range(fd))
		return -EBADF;
	f = atomic_exchange_explicit(&registry[fd], NULL, memory_order_acq_rel);
	if (!f)
		return -EBADF;
	if (!file_matches(fd, f)) {
		/* Stale: the number is another file's now, and not ours to close */
		if (!file_inherited(f))
			sio_file_put(f);
		return -EBADF;
	}
	if (close_fn) {
		rc = close_fn(arg);
	} else {
		rc = syscall(SYS_close, fd) ? -errno : 0;
		if (rc == -EINTR)
			rc = 0; /* Linux has released the descriptor anyway */
	}
	if (file_inherited(f)) {
		/* The child's copies of our descriptors go with its last number for the file */
		if (!inherited_still_open(f)) {
			close_internal(f->signal_fd);
			close_internal(f->drain_fd);
		}
		return rc;
	}
	sio_file_put(f);
	return rc;
}

int sio_file_close(int fd)
{
	return sio_file_close_with(fd, NULL, NULL);
}

int sio_file_dup(int oldfd, int newfd)
{
	struct sio_file *f, *old;

	if (!fd_in_range(newfd))
		return -EBADF;
	f = sio_file_get(oldfd);
	if (!f)
		return -EBADF;
	registry_note(newfd);
	old = atomic_exchange_explicit(&registry[newfd], f, memory_order_acq_rel);
	if (old && !file_inherited(old))
		sio_file_put(old);
	return 0;
}

/*
 * The program wants @fd's number (dup2/dup3 onto it): when softiommu uses it internally, move
 * our descriptor to another number first. Return: 0 or -errno.
 */
int sio_file_vacate(int fd)
{
	uint32_t idx;
	struct sio_file *f;
	int moved = -1;

	if (!sio_file_is_internal(fd))
		return 0;
	idx = atomic_load_explicit(&internal[fd], memory_order_acquire);
	if (idx == CORE_FD_MARK)
		return sio_uffd_vacate(fd);
	f = idx ? pool_file(idx - 1) : NULL;
	if (!f)
		return 0;
	pthread_mutex_lock(&f->lock);
	if (f->signal_fd == fd || f->drain_fd == fd) {
		moved = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (moved >= 0 && !fd_in_range(moved)) {
			syscall(SYS_close, moved);
			moved = -1;
			errno = EMFILE;
		}
		if (moved >= 0) {
			internal_mark(moved, f);
			if (f->signal_fd == fd)
				f->signal_fd = moved;
			else
				f->drain_fd = moved;
			close_internal(fd);
		}
	}
	pthread_mutex_unlock(&f->lock);
	return moved < 0 && sio_file_is_internal(fd) ? -errno : 0;
}

int sio_file_limit(void)
{
	return atomic_load(&registry_high);
}

/* Drop every entry whose number no longer names its file */
void sio_file_sweep(void)
{
	int high = atomic_load(&registry_high);

	for (int fd = 0; registry && fd < high; fd++)
		if (atomic_load_explicit(&registry[fd], memory_order_relaxed))
			(void)sio_file_check(fd);
}

void sio_file_set_readable(struct sio_file *f, bool readable)
{
	char b = 0;

	pthread_mutex_lock(&f->lock);
	if (readable && !f->readable) {
		if (syscall(SYS_sendto, f->signal_fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL, NULL,
			    0) == 1)
			f->readable = true;
	} else if (!readable && f->readable) {
		if (syscall(SYS_recvfrom, f->drain_fd, &b, 1, MSG_DONTWAIT, NULL, NULL) == 1)
			f->readable = false;
	}
	pthread_mutex_unlock(&f->lock);
}

/**
 * sio_file_find_same() - the registered number of the file @fd refers to, or -1
 *
 * A descriptor fetched from another process (pidfd_getfd, daemon mode) of a file we handed
 * out has a number of its own; the file's identity (the program's end's inode) finds ours.
 */
int sio_file_find_same(int fd)
{
	int high = atomic_load(&registry_high);
	struct stat st;

	if (!registry || syscall(SYS_fstat, fd, &st))
		return -1;
	for (int n = 0; n < high; n++) {
		struct sio_file *f = atomic_load_explicit(&registry[n], memory_order_acquire);

		if (f && f->dev == st.st_dev && f->ino == st.st_ino && !file_inherited(f))
			return n;
	}
	return -1;
}

/* Call @fn for every descriptor of a file of @ops (each file once: dups are skipped) */
void sio_file_for_each(const struct sio_file_ops *ops, void (*fn)(int fd, struct sio_file *f,
								  void *arg),
		       void *arg)
{
	int high = atomic_load(&registry_high);

	for (int fd = 0; registry && fd < high; fd++) {
		struct sio_file *f = sio_file_get_unchecked(fd);
		bool seen = false;

		if (!f)
			continue;
		for (int prev = 0; prev < fd && f->ops == ops && !seen; prev++)
			seen = atomic_load(&registry[prev]) == f;
		if (f->ops == ops && !seen)
			fn(fd, f, arg);
		sio_file_put(f);
	}
}
