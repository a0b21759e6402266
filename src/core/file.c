// SPDX-License-Identifier: MIT
/*
 * The descriptor registry. Lookups from the shim's hot path (every read/write/close in the
 * process) are a lock-free load, and so is taking a reference on one of ours (every ioctl and
 * read): sio_file structs are type-stable — a freed one waits on free_files for reuse as a
 * sio_file and is never given back to malloc — so a lookup racing with close may touch the
 * refs of a file being freed: it sees 0, or sees the registry changed after its increment,
 * and tries again. Changes to the registry take the registry lock.
 */
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "file.h"
#include "fail.h"
#include "util.h"

#define SIO_MAX_FDS (1 << 20)

static _Atomic(struct sio_file *) *registry;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;
static atomic_int registry_high; /* one past the highest descriptor ever registered */
static struct sio_file *free_files; /* linked through ->priv, under free_lock */
static pthread_mutex_t free_lock = PTHREAD_MUTEX_INITIALIZER;

/* A zeroed file, refs 0 (a racing lookup may still read refs, never anything else) */
static struct sio_file *file_alloc(void)
{
	struct sio_file *f;

	pthread_mutex_lock(&free_lock);
	f = free_files;
	if (f)
		free_files = f->priv;
	pthread_mutex_unlock(&free_lock);
	if (!f)
		return calloc(1, sizeof(*f));
	f->ops = NULL;
	f->priv = NULL;
	f->signal_fd = -1;
	f->readable = false;
	f->flags = 0;
	return f;
}

static void file_free(struct sio_file *f)
{
	pthread_mutex_lock(&free_lock);
	f->priv = free_files;
	free_files = f;
	pthread_mutex_unlock(&free_lock);
}

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

	registry = p == MAP_FAILED ? NULL : p;
}

static bool registry_ready(void)
{
	pthread_once(&registry_once, registry_init);
	return registry != NULL;
}

bool sio_file_is_fd(int fd)
{
	return registry && fd >= 0 && fd < SIO_MAX_FDS &&
	       atomic_load_explicit(&registry[fd], memory_order_acquire) != NULL;
}

int sio_file_install(const struct sio_file_ops *ops, void *priv, int flags,
		     struct sio_file **out)
{
	struct sio_file *f;
	int fd;

	if (!registry_ready())
		return -ENOMEM;
	if (sio_should_fail())
		return -ENOMEM;
	f = file_alloc();
	if (!f)
		return -ENOMEM;
	fd = eventfd(0, EFD_NONBLOCK | ((flags & O_CLOEXEC) ? EFD_CLOEXEC : 0));
	if (fd < 0) {
		int rc = -errno;

		file_free(f);
		return rc;
	}
	if (fd >= SIO_MAX_FDS) {
		syscall(SYS_close, fd);
		file_free(f);
		return -EMFILE;
	}
	f->signal_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (f->signal_fd < 0) {
		int rc = -errno;

		syscall(SYS_close, fd);
		file_free(f);
		return rc;
	}
	f->ops = ops;
	f->priv = priv;
	f->flags = flags;
	pthread_mutex_init(&f->lock, NULL);
	atomic_store_explicit(&f->refs, 1, memory_order_release);
	pthread_mutex_lock(&registry_lock);
	atomic_store_explicit(&registry[fd], f, memory_order_release);
	registry_note(fd);
	pthread_mutex_unlock(&registry_lock);
	if (out)
		*out = f;
	return fd;
}

/* A reference unless the file is already on its way out (refs 0) */
static bool file_ref_not_zero(struct sio_file *f)
{
	int refs = atomic_load_explicit(&f->refs, memory_order_relaxed);

	do {
		if (!refs)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&f->refs, &refs, refs + 1,
							memory_order_acquire, memory_order_relaxed));
	return true;
}

struct sio_file *sio_file_get(int fd)
{
	struct sio_file *f;

	if (!sio_file_is_fd(fd))
		return NULL;
	for (;;) {
		f = atomic_load_explicit(&registry[fd], memory_order_acquire);
		if (!f)
			return NULL;
		if (file_ref_not_zero(f)) {
			/* Still the file at @fd (not closed, nor freed and reused elsewhere)? */
			if (atomic_load_explicit(&registry[fd], memory_order_acquire) == f)
				return f;
			sio_file_put(f);
		}
	}
}

void sio_file_put(struct sio_file *f)
{
	if (atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	if (f->ops->release)
		f->ops->release(f);
	syscall(SYS_close, f->signal_fd);
	pthread_mutex_destroy(&f->lock);
	file_free(f);
}

static struct sio_file *registry_take(int fd)
{
	struct sio_file *f;

	if (!registry || fd < 0 || fd >= SIO_MAX_FDS)
		return NULL;
	pthread_mutex_lock(&registry_lock);
	f = atomic_exchange(&registry[fd], NULL);
	pthread_mutex_unlock(&registry_lock);
	return f;
}

int sio_file_close(int fd)
{
	struct sio_file *f = registry_take(fd);

	if (!f)
		return -EBADF;
	syscall(SYS_close, fd);
	sio_file_put(f);
	return 0;
}

int sio_file_dup(int oldfd, int newfd)
{
	struct sio_file *f, *old;

	if (newfd < 0 || newfd >= SIO_MAX_FDS)
		return -EBADF;
	f = sio_file_get(oldfd);
	if (!f)
		return -EBADF;
	pthread_mutex_lock(&registry_lock);
	old = atomic_exchange(&registry[newfd], f);
	registry_note(newfd);
	pthread_mutex_unlock(&registry_lock);
	if (old)
		sio_file_put(old);
	return 0;
}

void sio_file_set_readable(struct sio_file *f, bool readable)
{
	uint64_t v = 1;

	pthread_mutex_lock(&f->lock);
	if (readable && !f->readable) {
		if (syscall(SYS_write, f->signal_fd, &v, sizeof(v)) == sizeof(v))
			f->readable = true;
	} else if (!readable && f->readable) {
		if (syscall(SYS_read, f->signal_fd, &v, sizeof(v)) == sizeof(v))
			f->readable = false;
	}
	pthread_mutex_unlock(&f->lock);
}

/* Call @fn for every descriptor of a file of @ops (each file once: dups are skipped) */
void sio_file_for_each(const struct sio_file_ops *ops, void (*fn)(int fd, struct sio_file *f,
								  void *arg),
		       void *arg)
{
	int high = atomic_load(&registry_high);

	for (int fd = 0; registry && fd < high; fd++) {
		struct sio_file *f = sio_file_get(fd);
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
