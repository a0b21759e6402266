// SPDX-License-Identifier: MIT
/*
 * lockdep.c — the debug-build checker of the lock order in lockdep.h.
 *
 * Each thread keeps the locks it holds on a small stack; a lock's class is found by its
 * address in a table filled when the lock is initialised (sio_mutex_init/sio_rwlock_init) and
 * emptied when it is destroyed. Taking a lock whose class is below that of a lock already held,
 * or taking a lock already held, aborts with both acquisition sites: an order that could
 * deadlock is caught the first time it runs, not the one time in a million it deadlocks.
 * Nothing here takes a pthread lock (the table has a spinlock of its own), so the checker
 * cannot itself recurse; a signal handler that calls into softiommu could spin on that
 * spinlock, which is why such programs run with SOFTIOMMU_LOCKDEP=0.
 */
#define SIO_LOCKDEP_IMPL
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockdep.h"

#ifdef SIO_LOCKDEP

static const char *const class_names[SIO_LOCK_NR] = {
	[SIO_LOCK_NONE] = "unclassified",
	[SIO_LOCK_VFIO_DEVS] = "vfio devs_lock",
	[SIO_LOCK_VFIO_DEV] = "vfio device->lock",
	[SIO_LOCK_DEV_API] = "softiommu_dev->attach_lock",
	[SIO_LOCK_CTX_VFIO] = "ctx->vfio_lock",
	[SIO_LOCK_CTX_IOAS_CREATION] = "ctx->ioas_creation_lock",
	[SIO_LOCK_ACCESS_IOAS] = "access->ioas_lock",
	[SIO_LOCK_IOAS] = "ioas->mutex",
	[SIO_LOCK_IGROUP] = "igroup->lock",
	[SIO_LOCK_IOMMU_GROUP] = "group->mutex",
	[SIO_LOCK_MOCK_VIOMMU_RWSEM] = "mdev->viommu_rwsem",
	[SIO_LOCK_KEEP_RW] = "sio_keep_rwlock",
	[SIO_LOCK_DOMAIN_DMA] = "domain->dma_lock",
	[SIO_LOCK_KEEP] = "keep_lock",
	[SIO_LOCK_IOPT] = "iopt->lock",
	[SIO_LOCK_PAGES] = "pages->mutex",
	[SIO_LOCK_PAGES_LIST] = "pages_list_lock",
	[SIO_LOCK_VIOMMU_VEVENTQS] = "viommu->veventqs_rwsem",
	[SIO_LOCK_VIOMMU_VDEVS] = "viommu->vdevs_lock",
	[SIO_LOCK_MOCK_HW_QUEUE] = "mv->queue_mutex",
	[SIO_LOCK_STACCESS] = "staccess->lock",
	[SIO_LOCK_FAULT] = "fault->lock",
	[SIO_LOCK_VEVENTQ] = "veventq->lock",
	[SIO_LOCK_DMABUF] = "dmabuf->lock",
	[SIO_LOCK_CTX_OBJ] = "ctx->obj_lock",
	[SIO_LOCK_FILE] = "file->lock",
	[SIO_LOCK_MAPS_FD] = "maps_fd_lock",
};

/*
 * SOFTIOMMU_LOCKDEP=0 turns the checks off at run time: for a program whose signal handlers
 * call into softiommu, as a handler's locks are not the interrupted code's (the checker tracks
 * threads, not handler contexts).
 */
static int lockdep_off;

__attribute__((constructor)) static void lockdep_env(void)
{
	const char *e = getenv("SOFTIOMMU_LOCKDEP");

	lockdep_off = e && !strcmp(e, "0");
}

/* ---- lock address -> class ---- */

#define TABLE_SIZE (1u << 16)
static struct {
	const void *_Atomic lock;
	_Atomic unsigned char cls;
} table[TABLE_SIZE];
static atomic_flag table_busy = ATOMIC_FLAG_INIT;

/*
 * Open addressing with linear probing, and deletion by shifting back the entries after the
 * freed slot (no tombstones): locks are made and destroyed by the million in a long run (the
 * fuzzer), and tombstones would make every lookup of a lock without a class walk the table.
 */
static unsigned int slot_of(const void *lock)
{
	uintptr_t x = (uintptr_t)lock;

	x ^= x >> 17;
	x *= 0xed5ad4bbu;
	x ^= x >> 11;
	return (unsigned int)x & (TABLE_SIZE - 1);
}

static void table_lock(void)
{
	while (atomic_flag_test_and_set_explicit(&table_busy, memory_order_acquire))
		;
}

static void table_unlock(void)
{
	atomic_flag_clear_explicit(&table_busy, memory_order_release);
}

/* The slot holding @lock, or the empty slot ending its probe sequence; table locked */
static unsigned int table_find(const void *lock)
{
	unsigned int i = slot_of(lock);

	for (unsigned int n = 0; n != TABLE_SIZE; n++, i = (i + 1) & (TABLE_SIZE - 1)) {
		const void *cur = atomic_load_explicit(&table[i].lock, memory_order_relaxed);

		if (!cur || cur == lock)
			return i;
	}
	return TABLE_SIZE; /* full */
}

void sio_lockdep_set_class(const void *lock, enum sio_lock_class cls)
{
	unsigned int i;

	if (lockdep_off)
		return;
	table_lock();
	i = table_find(lock);
	if (i != TABLE_SIZE) {
		atomic_store_explicit(&table[i].cls, (unsigned char)cls, memory_order_relaxed);
		atomic_store_explicit(&table[i].lock, lock, memory_order_release);
	}
	table_unlock();
}

static enum sio_lock_class class_of(const void *lock)
{
	enum sio_lock_class cls = SIO_LOCK_NONE;
	unsigned int i;

	table_lock();
	i = table_find(lock);
	if (i != TABLE_SIZE && atomic_load_explicit(&table[i].lock, memory_order_relaxed))
		cls = atomic_load_explicit(&table[i].cls, memory_order_relaxed);
	table_unlock();
	return cls;
}

/* Whether slot @h lies cyclically in (@lo, @hi] */
static bool cyclic_between(unsigned int lo, unsigned int h, unsigned int hi)
{
	return lo <= hi ? lo < h && h <= hi : lo < h || h <= hi;
}

void sio_lockdep_forget(const void *lock)
{
	unsigned int i, j;

	if (lockdep_off)
		return;
	table_lock();
	i = table_find(lock);
	if (i == TABLE_SIZE || !atomic_load_explicit(&table[i].lock, memory_order_relaxed))
		goto out;
	/* Shift back every entry after @i whose probe sequence passes over the hole */
	for (j = (i + 1) & (TABLE_SIZE - 1);; j = (j + 1) & (TABLE_SIZE - 1)) {
		const void *cur = atomic_load_explicit(&table[j].lock, memory_order_relaxed);

		if (!cur)
			break;
		if (cyclic_between(i, slot_of(cur), j))
			continue;
		atomic_store_explicit(&table[i].cls,
				      atomic_load_explicit(&table[j].cls, memory_order_relaxed),
				      memory_order_relaxed);
		atomic_store_explicit(&table[i].lock, cur, memory_order_relaxed);
		i = j;
	}
	atomic_store_explicit(&table[i].lock, NULL, memory_order_relaxed);
out:
	table_unlock();
}

/* ---- what this thread holds ---- */

#define MAX_HELD 48
struct held {
	const void *lock;
	enum sio_lock_class cls;
	const char *file;
	int line;
};
static __thread struct held held[MAX_HELD];
static __thread int nheld;

static void report(const char *what, const struct held *h, const void *lock,
		   enum sio_lock_class cls, const char *file, int line)
{
	fprintf(stderr, "softiommu lockdep: %s: taking %s (%p) at %s:%d", what, class_names[cls],
		lock, file, line);
	if (h)
		fprintf(stderr, " while holding %s (%p) taken at %s:%d", class_names[h->cls],
			h->lock, h->file, h->line);
	fprintf(stderr, "\n");
	for (int i = nheld - 1; i >= 0; i--)
		fprintf(stderr, "  held: %s at %s:%d\n", class_names[held[i].cls], held[i].file,
			held[i].line);
	abort();
}

static void push(const void *lock, enum sio_lock_class cls, const char *file, int line)
{
	if (nheld == MAX_HELD)
		report("too many locks held", NULL, lock, cls, file, line);
	held[nheld++] = (struct held){ .lock = lock, .cls = cls, .file = file, .line = line };
}

void sio_lockdep_acquire(const void *lock, const char *file, int line)
{
	enum sio_lock_class cls;

	if (lockdep_off)
		return;
	cls = class_of(lock);
	for (int i = 0; i != nheld; i++) {
		if (held[i].lock == lock)
			report("recursive locking", &held[i], lock, cls, file, line);
		if (cls != SIO_LOCK_NONE && held[i].cls != SIO_LOCK_NONE && cls < held[i].cls)
			report("lock order violated", &held[i], lock, cls, file, line);
	}
	push(lock, cls, file, line);
}

void sio_lockdep_acquired_try(const void *lock)
{
	if (lockdep_off)
		return;
	/* A trylock cannot deadlock: tracked, not ordered */
	push(lock, class_of(lock), "(trylock)", 0);
}

void sio_lockdep_release(const void *lock)
{
	for (int i = nheld - 1; i >= 0; i--) {
		if (held[i].lock == lock) {
			for (int j = i; j + 1 < nheld; j++)
				held[j] = held[j + 1];
			nheld--;
			return;
		}
	}
	/* Unlocking a lock taken before lockdep saw it (a static initializer): nothing to do */
}

void sio_lockdep_assert_held_at(const void *lock, const char *file, int line)
{
	if (lockdep_off)
		return;
	for (int i = 0; i != nheld; i++)
		if (held[i].lock == lock)
			return;
	report("lock not held", NULL, lock, class_of(lock), file, line);
}

#endif /* SIO_LOCKDEP */
