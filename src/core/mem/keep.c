// SPDX-License-Identifier: MIT
/*
 * keep.c: pinned user memory that the program takes out of its address space.
 *
 * On Linux a pin holds the pages themselves: after munmap, a MAP_FIXED mapping over the range,
 * MADV_DONTNEED or MADV_REMOVE the device still reaches the pages it was given, and the
 * program sees its new (or empty) memory. softiommu's "physical" addresses are this
 * process's addresses, so the front-end (the shim's memory.c) calls in here before such a
 * call runs, and the pinned pages in the range are moved aside first: mremap() into a
 * reserve softiommu owns keeps the very pages (with MREMAP_DONTUNMAP, so the program's range
 * stays mapped, empty, until its own call: no other thread's mmap can land in a hole), and
 * where mremap cannot (a VMA it refuses, MADV_REMOVE, which frees the file's pages wherever
 * they are mapped) the bytes are copied into fresh memory. The areas' domains are then
 * pointed at the new place. When the program moves memory itself (mremap), the pages go with
 * it, and the domains follow them there.
 *
 * Every such change runs from sio_keep_begin() to sio_keep_end(), around the program's call:
 * under keep_lock, with every IOAS table that has an area on the pages locked, every domain
 * of those tables' dma_lock held for writing (no DMA or access copy sees a move half done),
 * and sio_keep_rwlock held for writing (no pin of user memory slips in between the look for
 * pinned pages and the call). A reserve (struct sio_kept) is freed when the last of its
 * pages loses its last pin.
 *
 * What is not seen here cannot be kept: a raw system call, and libc's own internal calls
 * (free() of a large block, malloc_trim) do not come through the shim. Then the pages are
 * gone; uffd.c's userfaultfd watch reports it, and sio_keep_lost() points them at a PROT_NONE
 * arena so a DMA faults rather than reach memory mapped there later (sio_keep_moved() follows
 * a raw mremap); docs/memory-model.md lists the cases.
 *
 * Lock order: keep_lock > iopt->lock (several: by address, or try-locked) >
 * sio_keep_rwlock > sio_pages_list_lock > pages->mutex > ctx->obj_lock, and
 * sio_keep_rwlock > domain->dma_lock (several). A pin takes iopt->lock > sio_keep_rwlock
 * (read) > pages->mutex.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sched.h>
#include <unistd.h>

#include "../sio.h"
#include "uffd.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

struct sio_kept {
	uint64_t host, len;
	atomic_long users; /* (pages object, page) pairs pinned in it */
};

atomic_long sio_kept_bytes; /* bytes held in reserves now */

static pthread_mutex_t keep_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Pinning user pages holds this for reading; a change of the program's memory holds it for
 * writing from its exact look for pinned pages until the program's call has run, so no pin
 * can slip in between the look and the call (the pages it took would go with the call).
 */
pthread_rwlock_t sio_keep_rwlock = PTHREAD_RWLOCK_INITIALIZER;

/*
 * fork() in the middle of a change would leave the child with keep_lock held by a thread it
 * does not have; a pin in flight would leave it sio_keep_rwlock read-held. No change runs
 * across a fork, and the child starts with both free (it has one thread; its parent's pages
 * are another process's, which keep.c never touches).
 */
void sio_keep_fork_prepare(void)
{
	pthread_mutex_lock(&keep_lock);
}

void sio_keep_fork_parent(void)
{
	pthread_mutex_unlock(&keep_lock);
}

void sio_keep_fork_child(void)
{
	pthread_mutex_unlock(&keep_lock);
	sio_rwlock_init(&sio_keep_rwlock, SIO_LOCK_KEEP_RW);
}

__attribute__((constructor)) static void keep_init(void)
{
	sio_lockdep_set_class(&keep_lock, SIO_LOCK_KEEP);
	sio_lockdep_set_class(&sio_keep_rwlock, SIO_LOCK_KEEP_RW);
	sio_fork_init();
}

/**
 * sio_kept_put() - @npages pinned pages in @kept lost their last pin
 *
 * Return: true when that was the reserve's last page, and it is gone.
 */
bool sio_kept_put(struct sio_kept *kept, size_t npages)
{
	if (atomic_fetch_sub(&kept->users, (long)npages) != (long)npages)
		return false;
	syscall(SYS_munmap, (void *)(uintptr_t)kept->host, kept->len);
	atomic_fetch_sub(&sio_kept_bytes, (long)kept->len);
	sio_free(kept);
	return true;
}

/* Pinned pages of one pages object in the range being changed, contiguous at @host */
struct piece {
	struct iopt_pages *pages;
	size_t first, last;
	uint64_t host;
};

/* Everything one change holds */
struct keep_op {
	uint64_t start, end;
	struct piece *pieces;
	size_t npieces, cap;
	struct iopt_pages **pages; /* with a reference each */
	size_t npages;
	struct sio_ioas **ioas;    /* short-term references */
	size_t nioas, nlocked;     /* the first nlocked tables are locked */
	bool dma_locked, pins_frozen, incomplete;
	enum sio_keep_how how;
	uint64_t move_len;         /* SIO_KEEP_MOVE: the bytes that may move (the rest is kept) */
	uint64_t epoch;            /* from uffd.c: only pages objects made before it (0: all) */
};

static int op_add_piece(struct keep_op *op, struct piece p)
{
	if (op->npieces == op->cap) {
		size_t cap = op->cap ? op->cap * 2 : 8;
		struct piece *n = sio_realloc_array(op->pieces, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		op->pieces = n;
		op->cap = cap;
	}
	op->pieces[op->npieces++] = p;
	return 0;
}

/* The pinned pages of @pages in [op->start, op->end); pages->mutex held */
static int collect_pages(struct keep_op *op, struct iopt_pages *pages)
{
	for (size_t r = 0; r != pages->nruns; r++) {
		size_t idx = pages->runs[r].first, last = pages->runs[r].last;

		while (idx <= last) {
			size_t run_last;
			uint64_t host = __iopt_pages_host(pages, idx, last, &run_last);
			uint64_t hend = host + (run_last - idx + 1) * SIO_PAGE_SIZE;
			uint64_t lo = max_t(uint64_t, host, op->start);
			uint64_t hi = min_t(uint64_t, hend, op->end);
			int rc;

			/* Our own reserve is not the program's to take away */
			if (lo < hi && !__iopt_pages_kept(pages, idx)) {
				rc = op_add_piece(op, (struct piece){
					pages, idx + (lo - host) / SIO_PAGE_SIZE,
					idx + (hi - host) / SIO_PAGE_SIZE - 1, lo });
				if (rc)
					return rc;
			}
			if (run_last == last)
				break;
			idx = run_last + 1;
		}
	}
	return 0;
}

static bool op_has_ioas(struct keep_op *op, struct sio_ioas *ioas);

/*
 * With pins frozen, whether every table with an area on @pages is one the op holds locked,
 * read under the same pages->mutex as its pins (an unpin and the removal of its area happen
 * under it too, in a table not held). Tables not held yet are added for a try-lock, and
 * op->incomplete says to look again once they are held. pages->mutex held.
 */
static int check_tables_locked(struct keep_op *op, struct iopt_pages *pages)
{
	struct iopt_area *area;

	list_for_each_entry(area, &pages->areas, pages_item) {
		struct sio_ioas *ioas = container_of(area->iopt, struct sio_ioas, iopt);
		struct sio_ioas **n;

		if (op_has_ioas(op, ioas))
			continue;
		if (!sio_lock_obj(&ioas->obj))
			continue; /* being destroyed: no domain or access uses it any more */
		n = sio_realloc_array(op->ioas, op->nioas + 1, sizeof(*n));
		if (!n) {
			sio_put_object(ioas->obj.ctx, &ioas->obj);
			return -ENOMEM;
		}
		op->ioas = n;
		op->ioas[op->nioas++] = ioas;
		op->incomplete = true;
	}
	return 0;
}

static int collect_one(struct iopt_pages *pages, void *arg)
{
	struct keep_op *op = arg;
	size_t before = op->npieces;
	struct iopt_pages **n;
	int rc;

	if (pages->type != IOPT_ADDRESS_USER || pages->source_pid != sio_self_pid())
		return 0;
	if (op->epoch && pages->uffd_epoch >= op->epoch)
		return 0; /* mapped after the change uffd.c reports: new memory */
	pthread_mutex_lock(&pages->mutex);
	rc = pages->npinned ? collect_pages(op, pages) : 0;
	if (!rc && op->npieces != before && op->pins_frozen)
		rc = check_tables_locked(op, pages);
	pthread_mutex_unlock(&pages->mutex);
	if (rc || op->npieces == before)
		return rc;
	n = sio_realloc_array(op->pages, op->npages + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	op->pages = n;
	/* Its last reference gone, it is on its way out of the index: never revive it */
	if (!iopt_get_pages_unless_zero(pages)) {
		op->npieces = before;
		return 0;
	}
	op->pages[op->npages++] = pages;
	return 0;
}

/* The pinned pages in the op's range, and their pages objects (referenced) */
static int collect(struct keep_op *op)
{
	int rc;

	op->npieces = 0;
	pthread_mutex_lock(&sio_pages_list_lock);
	rc = sio_pages_index_walk(op->start, op->end, collect_one, op);
	pthread_mutex_unlock(&sio_pages_list_lock);
	return rc;
}

static bool op_has_ioas(struct keep_op *op, struct sio_ioas *ioas)
{
	for (size_t i = 0; i != op->nioas; i++)
		if (op->ioas[i] == ioas)
			return true;
	return false;
}

/* Short-term references on the IOASes with areas on op->pages; *complete: no new one */
static int find_ioas(struct keep_op *op, bool *complete)
{
	*complete = true;
	for (size_t p = 0; p != op->npages; p++) {
		struct iopt_pages *pages = op->pages[p];
		struct iopt_area *area;
		int rc = 0;

		pthread_mutex_lock(&pages->mutex);
		list_for_each_entry(area, &pages->areas, pages_item) {
			struct sio_ioas *ioas = container_of(area->iopt, struct sio_ioas, iopt);
			struct sio_ioas **n;

			if (op_has_ioas(op, ioas))
				continue;
			/* Being destroyed: no domain or access uses it any more */
			if (!sio_lock_obj(&ioas->obj))
				continue;
			*complete = false;
			n = sio_realloc_array(op->ioas, op->nioas + 1, sizeof(*n));
			if (!n) {
				sio_put_object(ioas->obj.ctx, &ioas->obj);
				rc = -ENOMEM;
				break;
			}
			op->ioas = n;
			op->ioas[op->nioas++] = ioas;
		}
		pthread_mutex_unlock(&pages->mutex);
		if (rc)
			return rc;
	}
	return 0;
}

static int ioas_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(struct sio_ioas *const *)a;
	uintptr_t y = (uintptr_t)*(struct sio_ioas *const *)b;

	return x < y ? -1 : x > y;
}

static void lock_tables(struct keep_op *op, bool lock)
{
	if (!lock) {
		while (op->nlocked)
			pthread_rwlock_unlock(&op->ioas[--op->nlocked]->iopt.lock);
		return;
	}
	qsort(op->ioas, op->nioas, sizeof(*op->ioas), ioas_cmp);
	for (; op->nlocked != op->nioas; op->nlocked++)
		pthread_rwlock_wrlock(&op->ioas[op->nlocked]->iopt.lock);
}

static void lock_dma(struct keep_op *op, bool lock)
{
	for (size_t i = 0; i != op->nioas; i++) {
		struct io_pagetable *iopt = &op->ioas[i]->iopt;

		for (size_t d = 0; d != iopt->ndomains; d++) {
			struct sio_domain *domain = iopt->domains[d];

			if (!lock) {
				pthread_rwlock_unlock(&domain->dma_lock);
				continue;
			}
			pthread_rwlock_wrlock(&domain->dma_lock);
			/*
			 * No walk can fill the IOTLB until the unlock; what it holds goes now, and
			 * a DMA still copying through a cached translation finishes, before any
			 * page moves (the walk path leaves its section without dma_lock: no wait
			 * on ourselves)
			 */
			sio_iotlb_invalidate_all(&domain->iotlb);
		}
	}
	op->dma_locked = lock;
}

/* Drop every lock and reference of @op but keep_lock */
static void op_unwind(struct keep_op *op)
{
	if (op->dma_locked)
		lock_dma(op, false);
	if (op->pins_frozen)
		pthread_rwlock_unlock(&sio_keep_rwlock);
	lock_tables(op, false);
	for (size_t i = 0; i != op->nioas; i++)
		sio_put_object(op->ioas[i]->obj.ctx, &op->ioas[i]->obj);
	for (size_t i = 0; i != op->npages; i++)
		iopt_put_pages(op->pages[i]);
	sio_free(op->ioas);
	sio_free(op->pages);
	sio_free(op->pieces);
	*op = (struct keep_op){ .start = op->start, .end = op->end, .how = op->how,
				.move_len = op->move_len, .epoch = op->epoch };
}

static void op_release(struct keep_op *op)
{
	op_unwind(op);
	pthread_mutex_unlock(&keep_lock);
}

/*
 * Lock everything a change of [start, end) needs, and find its pinned pages. Return: 0 with
 * op->npieces == 0 when nothing is pinned there (nothing is locked but keep_lock).
 */
/* Lock the tables find_ioas() added after the locked ones, without waiting */
static int trylock_new_tables(struct keep_op *op)
{
	for (; op->nlocked != op->nioas; op->nlocked++)
		if (pthread_rwlock_trywrlock(&op->ioas[op->nlocked]->iopt.lock))
			return -EAGAIN;
	return 0;
}

static int __op_begin(struct keep_op *op)
{
	bool complete = false;
	int rc = collect(op);

	/* Lock the tables of every area on the pages; more may appear while we wait */
	for (int tries = 0; !rc && op->npages && !complete; tries++) {
		rc = find_ioas(op, &complete);
		if (rc || complete)
			break;
		lock_tables(op, false);
		lock_tables(op, true);
		if (tries > 100)
			rc = -EDEADLK;
	}
	if (rc)
		return rc;
	/*
	 * Freeze pins, then look again, exactly. A table that got an area on the pages since is
	 * held by a thread that may be waiting to pin: only try its lock.
	 */
	pthread_rwlock_wrlock(&sio_keep_rwlock);
	op->pins_frozen = true;
	/*
	 * Unpins are not frozen, only held off by the tables' locks: look again until every
	 * table with an area on what was found was locked before the look, which is then exact.
	 */
	do {
		for (size_t i = 0; i != op->npages; i++)
			iopt_put_pages(op->pages[i]);
		op->npages = 0;
		op->incomplete = false;
		rc = collect(op);
		if (!rc && op->incomplete)
			rc = trylock_new_tables(op);
	} while (!rc && op->incomplete);
	if (!rc && op->npieces)
		lock_dma(op, true);
	return rc;
}

/*
 * Lock everything a change of [start, end) needs, and find its pinned pages. Return: 0 with
 * op->npieces == 0 when nothing is pinned there. keep_lock is held either way.
 */
static int op_begin(struct keep_op *op, uint64_t start, uint64_t end, bool try)
{
	int rc;

	op->start = start;
	op->end = end;
	if (!try)
		pthread_mutex_lock(&keep_lock);
	else if (pthread_mutex_trylock(&keep_lock))
		return -EBUSY; /* nothing locked */
	for (int tries = 0; tries != 20; tries++) {
		rc = __op_begin(op);
		if (rc != -EAGAIN)
			break;
		op_unwind(op);
		sched_yield();
	}
	return rc;
}

/* Room for the segments op_commit() sets, so that nothing fails after pages have moved */
static int op_reserve(struct keep_op *op)
{
	for (size_t p = 0; p != op->npages; p++) {
		size_t n = 0;
		int rc;

		for (size_t i = 0; i != op->npieces; i++)
			n += op->pieces[i].pages == op->pages[p];
		pthread_mutex_lock(&op->pages[p]->mutex);
		rc = iopt_pages_segs_reserve(op->pages[p], 2 * n + 1);
		pthread_mutex_unlock(&op->pages[p]->mutex);
		if (rc)
			return rc;
	}
	return 0;
}

/* Point every area of the op's pages at where the pages are now */
static void op_repoint(struct keep_op *op)
{
	for (size_t p = 0; p != op->npages; p++) {
		struct iopt_pages *pages = op->pages[p];
		struct iopt_area *area, **areas = NULL;
		size_t n = 0;

		/* area_map_pieces() takes pages->mutex: collect the areas first */
		pthread_mutex_lock(&pages->mutex);
		list_for_each_entry(area, &pages->areas, pages_item)
			n++;
		areas = sio_calloc(n + 1, sizeof(*areas));
		n = 0;
		if (areas)
			list_for_each_entry(area, &pages->areas, pages_item)
				areas[n++] = area;
		pthread_mutex_unlock(&pages->mutex);
		for (size_t i = 0; i != n; i++)
			if (op_has_ioas(op, container_of(areas[i]->iopt, struct sio_ioas, iopt)))
				iopt_area_repoint(areas[i]->iopt, areas[i]);
		sio_free(areas);
	}
}

static int piece_host_cmp(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	return x->host < y->host ? -1 : x->host > y->host;
}

/*
 * Move [src, src + len) to @dst, keeping the pages: mremap, one VMA at a time; where it
 * refuses (or @copy), copy. @src stays mapped, empty (MREMAP_DONTUNMAP): the program's own
 * call then unmaps or replaces it, and no other thread's mmap can land in a hole between.
 */
static int move_range(uint64_t src, uint64_t len, uint64_t dst, bool copy)
{
	uint64_t cur = src, end = src + len;

	while (cur < end) {
		uint64_t vs, ve, n;
		long r = -1;

		if (sio_user_vma_next(cur, &vs, &ve) || vs >= end)
			return 0; /* the rest is a hole already: nothing to keep there */
		if (vs > cur) {
			cur = vs;
			continue;
		}
		/*
		 * Pinned pages already gone (a raw munmap) leave a hole the reserve may have been
		 * placed in: skip it. Their part of the reserve stays PROT_NONE: a DMA faults.
		 * (The kernel may also merge what was moved into the reserve with the VMA next to
		 * it, so only the reserve's own addresses count.)
		 */
		if (cur >= dst && cur < dst + len) {
			cur = min_t(uint64_t, dst + len, end);
			continue;
		}
		n = min_t(uint64_t, ve, end) - cur;
		if (dst > cur && dst - cur < n)
			n = dst - cur;
		if (!copy)
			r = syscall(SYS_mremap, (void *)(uintptr_t)cur, n, n,
				    MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
				    (void *)(uintptr_t)(dst + (cur - src)));
		if (r == -1) {
			void *m = (void *)syscall(SYS_mmap, (void *)(uintptr_t)(dst + (cur - src)),
						  n, PROT_READ | PROT_WRITE,
						  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

			if (m == MAP_FAILED)
				return -ENOMEM;
			/* What cannot be read is left as zeros; the device's view of it is lost */
			sio_copy_user_sg(m, n, &(struct iovec){ (void *)(uintptr_t)cur, n }, 1,
					 false);
		}
		cur += n;
	}
	return 0;
}

/*
 * Where pages lost behind the shim's back point (SIO_KEEP_LOST): an address range of our
 * own, PROT_NONE for good, so that a DMA to them faults. It is made before any such loss
 * (uffd.c, at its first watch): one made at the loss could land in the hole the lost pages
 * left, where the program maps its new memory. Handed out in turn, wrapping around (every
 * byte of it faults, so sharing it is harmless); under keep_lock.
 */
#define LOST_ARENA (16ULL << 30)
static uint64_t lost_arena, lost_next;

static pthread_once_t lost_once = PTHREAD_ONCE_INIT;

static void lost_arena_make(void)
{
	void *p = (void *)syscall(SYS_mmap, NULL, LOST_ARENA, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p != MAP_FAILED)
		__atomic_store_n(&lost_arena, (uintptr_t)p, __ATOMIC_RELEASE);
}

/* Takes no lock (a pin calls it through uffd.c with tables locked) */
int sio_keep_lost_init(void)
{
	pthread_once(&lost_once, lost_arena_make);
	return __atomic_load_n(&lost_arena, __ATOMIC_ACQUIRE) ? 0 : -ENOMEM;
}

static uint64_t lost_alloc(uint64_t len)
{
	uint64_t at;

	if (!lost_arena || len > LOST_ARENA)
		return 0;
	if (lost_next + len > LOST_ARENA)
		lost_next = 0;
	at = lost_arena + lost_next;
	lost_next += len;
	return at;
}

/* SIO_KEEP_LOST: point the pieces into the arena; no reserve to free later */
static int op_lose(struct keep_op *op)
{
	for (size_t i = 0; i != op->npieces; i++) {
		struct piece *p = &op->pieces[i];
		uint64_t len = (p->last - p->first + 1) * SIO_PAGE_SIZE;
		uint64_t at = lost_alloc(len);

		if (!at)
			return -ENOMEM;
		iopt_pages_index_moved(p->pages);
		pthread_mutex_lock(&p->pages->mutex);
		iopt_pages_segs_set(p->pages, p->first, p->last, at, NULL);
		pthread_mutex_unlock(&p->pages->mutex);
	}
	return 0;
}

/* Move every interval of the op's pieces into one reserve each, and record where */
static int op_move(struct keep_op *op, bool copy)
{
	if (op->how == SIO_KEEP_LOST)
		return op_lose(op);
	qsort(op->pieces, op->npieces, sizeof(*op->pieces), piece_host_cmp);
	for (size_t i = 0; i != op->npieces;) {
		uint64_t lo = op->pieces[i].host, hi = lo;
		struct sio_kept *kept;
		size_t j;
		void *res;
		int rc;

		for (j = i; j != op->npieces && op->pieces[j].host <= hi; j++)
			hi = max_t(uint64_t, hi, op->pieces[j].host +
				   (op->pieces[j].last - op->pieces[j].first + 1) * SIO_PAGE_SIZE);
		kept = sio_zalloc(sizeof(*kept));
		res = (void *)syscall(SYS_mmap, NULL, hi - lo, PROT_NONE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (!kept || res == MAP_FAILED) {
			sio_free(kept);
			if (res != MAP_FAILED)
				syscall(SYS_munmap, res, hi - lo);
			return -ENOMEM;
		}
		/* Our own move is no change for the watch to report (uffd.c) */
		sio_uffd_unwatch(lo, hi - lo);
		rc = move_range(lo, hi - lo, (uintptr_t)res, copy);
		if (rc) {
			syscall(SYS_munmap, res, hi - lo);
			sio_free(kept);
			return rc;
		}
		kept->host = (uintptr_t)res;
		kept->len = hi - lo;
		atomic_fetch_add(&sio_kept_bytes, (long)kept->len);
		for (; i != j; i++) {
			struct piece *p = &op->pieces[i];
			size_t n = p->last - p->first + 1;

			atomic_fetch_add(&kept->users, (long)n);
			iopt_pages_index_moved(p->pages);
			pthread_mutex_lock(&p->pages->mutex);
			iopt_pages_segs_set(p->pages, p->first, p->last,
					    kept->host + (p->host - lo), kept);
			pthread_mutex_unlock(&p->pages->mutex);
		}
	}
	return 0;
}

/*
 * SIO_KEEP_MOVE: split the pieces at the end of what may move; keep the dropped tail now (as
 * a munmap would), and leave the rest for sio_keep_end()
 */
static void op_move_tail(struct keep_op *op)
{
	uint64_t cut = op->start + op->move_len;
	size_t n = op->npieces, ntail = 0;
	struct keep_op tail;

	for (size_t i = 0; i != n; i++) {
		struct piece *p = &op->pieces[i];
		uint64_t pend = p->host + (p->last - p->first + 1) * SIO_PAGE_SIZE;

		if (p->host < cut && pend > cut) {
			struct piece rhs = *p;

			rhs.first = p->first + (cut - p->host) / SIO_PAGE_SIZE;
			rhs.host = cut;
			p->last = rhs.first - 1;
			if (op_add_piece(op, rhs))
				return; /* no memory: the tail goes with the call */
			p = &op->pieces[i];
		}
	}
	for (size_t i = 0; i != op->npieces; i++)
		ntail += op->pieces[i].host >= cut;
	if (!ntail)
		return;
	/* The tail pieces, moved as for a munmap; the op keeps its locks */
	tail = *op;
	tail.pieces = sio_calloc(ntail, sizeof(*tail.pieces));
	if (!tail.pieces)
		return;
	tail.npieces = 0;
	for (size_t i = 0; i != op->npieces; i++)
		if (op->pieces[i].host >= cut)
			tail.pieces[tail.npieces++] = op->pieces[i];
	op_move(&tail, false);
	op_repoint(op);
	sio_free(tail.pieces);
}

/**
 * sio_keep_begin() - the program is about to take [@addr, @addr + @len) away: move the pinned
 * pages in it aside, so devices keep reaching them, and hold pinning off until
 * sio_keep_end(), once the program's call has run
 * @how: SIO_KEEP_UNMAP (munmap, MAP_FIXED over it: the range ends unmapped),
 *       SIO_KEEP_DISCARD (MADV_DONTNEED: it stays mapped, empty),
 *       SIO_KEEP_COPY (MADV_REMOVE: its pages are freed wherever mapped, keep their bytes),
 *       SIO_KEEP_MOVE (mremap: the first @move_len bytes may move with their pages, the rest
 *       is dropped and kept; sio_keep_end() says where they went)
 *       SIO_KEEP_LOST (the pages are gone already: point them at the lost arena)
 *
 * Return: a handle for sio_keep_end(), NULL when nothing is pinned in the process. Pages
 * that cannot be kept (no memory) go with the program's call; a DMA to them faults.
 */
static struct keep_op *keep_begin(uint64_t addr, uint64_t len, enum sio_keep_how how,
				  uint64_t move_len, uint64_t epoch, bool *busy)
{
	struct keep_op *op;
	uint64_t end;
	int rc;

	if (!len || !atomic_load(&sio_user_pinned_pages_objs) ||
	    check_add_overflow(addr, len, &end))
		return NULL;
	op = sio_zalloc(sizeof(*op));
	if (!op)
		return NULL;
	op->how = how;
	op->move_len = how == SIO_KEEP_MOVE ? ALIGN_UP(move_len, SIO_PAGE_SIZE) : 0;
	op->epoch = epoch;
	/* uffd.c's calls never wait for keep_lock (see sio_keep_lost()) */
	rc = op_begin(op, ALIGN_DOWN(addr, SIO_PAGE_SIZE), ALIGN_UP(end, SIO_PAGE_SIZE),
		      epoch != 0);
	if (rc == -EBUSY) {
		sio_free(op);
		*busy = true;
		return NULL;
	}
	if (!rc && op->npieces)
		rc = op_reserve(op);
	if (!rc && op->npieces && how != SIO_KEEP_MOVE) {
		op_move(op, how == SIO_KEEP_COPY);
		op_repoint(op);
	}
	if (!rc && op->npieces && how == SIO_KEEP_MOVE)
		op_move_tail(op);
	return op;
}

struct sio_keep *sio_keep_begin(uint64_t addr, uint64_t len, enum sio_keep_how how,
				uint64_t move_len)
{
	return (struct sio_keep *)keep_begin(addr, len, how, move_len, 0, NULL);
}

/**
 * sio_keep_end() - the program's call of sio_keep_begin() ran; for SIO_KEEP_MOVE, what
 * moved went to @new_addr (0: nothing moved, the call failed or stayed in place)
 */
void sio_keep_end(struct sio_keep *keep, uint64_t new_addr)
{
	struct keep_op *op = (struct keep_op *)keep;

	if (!op)
		return;
	if (op->how == SIO_KEEP_MOVE && op->npieces && new_addr && new_addr != op->start) {
		for (size_t i = 0; i != op->npieces; i++) {
			struct piece *p = &op->pieces[i];
			uint64_t off = p->host - op->start;

			if (off >= op->move_len)
				continue; /* the dropped tail, kept at begin */
			iopt_pages_index_moved(p->pages);
			pthread_mutex_lock(&p->pages->mutex);
			iopt_pages_segs_set(p->pages, p->first, p->last, new_addr + off, NULL);
			pthread_mutex_unlock(&p->pages->mutex);
		}
		op_repoint(op);
	}
	op_release(op);
	sio_free(op);
}

/**
 * sio_keep_lost() - pinned pages of [@addr, @addr + @len) are gone behind the shim's back
 * (uffd.c saw a munmap or a discard): the device's view of them becomes a PROT_NONE reserve,
 * so a DMA faults instead of reaching whatever is mapped there next. Only pages objects
 * made before @epoch (sio_uffd_epoch, non-zero) count: later ones map the new memory. Never
 * waits for keep_lock (its holder may be in a system call waiting for the watch): -EBUSY,
 * try again.
 */
int sio_keep_lost(uint64_t addr, uint64_t len, uint64_t epoch)
{
	bool busy = false;
	struct keep_op *op = keep_begin(addr, len, SIO_KEEP_LOST, 0, epoch, &busy);

	sio_keep_end((struct sio_keep *)op, 0);
	return busy ? -EBUSY : 0;
}

/**
 * sio_keep_moved() - pinned pages of [@from, @from + @len) moved to @to with their mapping
 * behind the shim's back (uffd.c saw an mremap): the device's view follows them; -EBUSY
 * as sio_keep_lost()
 */
int sio_keep_moved(uint64_t from, uint64_t to, uint64_t len, uint64_t epoch)
{
	bool busy = false;
	struct keep_op *op = keep_begin(from, len, SIO_KEEP_MOVE, len, epoch, &busy);

	sio_keep_end((struct sio_keep *)op, to);
	return busy ? -EBUSY : 0;
}

/**
 * sio_keep_any_pinned() - whether any page of [@addr, @addr + @len) is pinned
 */
bool sio_keep_any_pinned(uint64_t addr, uint64_t len)
{
	struct keep_op op = { .start = ALIGN_DOWN(addr, SIO_PAGE_SIZE) };
	uint64_t end;
	bool any;

	if (!len || !atomic_load(&sio_user_pinned_pages_objs))
		return false;
	if (check_add_overflow(addr, len, &end))
		return false;
	op.end = ALIGN_UP(end, SIO_PAGE_SIZE);
	pthread_mutex_lock(&keep_lock);
	any = collect(&op) || op.npieces;
	op_release(&op);
	return any;
}
