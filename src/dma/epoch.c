// SPDX-License-Identifier: MIT
/*
 * Read-side sections and grace periods for the DMA path: what lets a DMA translate and copy
 * without a lock while unmap, detach, replace and invalidation still return only once no DMA
 * can use what they took away (DESIGN.md, concurrency).
 *
 * Each thread that DMAs owns a reader slot, on a list that only grows (slots of exited
 * threads are reused). A slot's @active is 0 while its thread is outside a section, else the
 * grace epoch it read on entry.
 *
 *   reader:  e = load(grace_epoch); exchange(active, e); ...reads...; store(active, 0)
 *   writer:  change state; publish it with a seq_cst store (an IOTLB tag's or a group's
 *            generation); t = fetch_add(grace_epoch, 1) + 1; wait until every slot's
 *            active is 0 or >= t
 *
 * Invariant: when sio_dma_synchronize() returns, every section that could have missed the
 * writer's change has ended. Why, with every access named above seq_cst (one total order S):
 *   - the writer saw a slot at 0: the reader's exchange comes after that load in S, so its
 *     later seq_cst load of the generation comes after the writer's store, sees the new
 *     value, and (reading from a release store) sees every change made before it;
 *   - the writer saw e >= t: the reader's load of grace_epoch read the writer's fetch_add or
 *     a later one, so again it happens after the change;
 *   - the writer saw 0 < e < t: it waits for the release store of 0 (or a re-entry's
 *     exchange, which continues that release sequence), so the whole section happens before
 *     the writer goes on to unpin or free.
 * So a reader must load a published generation (seq_cst) after entering and before it uses
 * anything that generation guards; the IOTLB and the DMA path do.
 *
 * Writers never starve: a grace period waits only for sections that began before it, and
 * the DMA path leaves its section between batches, so a steady stream of DMAs delays a
 * writer by at most one batch per thread. Sections never take a lock and never wait for a
 * writer, so a writer may synchronize while holding any lock; a thread must not
 * synchronize from inside its own section (it would wait for itself).
 */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "epoch.h"

struct sio_dma_reader {
	atomic_uint_least64_t active;
	atomic_bool taken;
	struct sio_dma_reader *next; /* set before the slot is published, never changed */
	unsigned int depth;          /* nesting; the owning thread's only */
};

static _Atomic(struct sio_dma_reader *) readers;
static atomic_uint_least64_t grace_epoch = 1;
static __thread struct sio_dma_reader *self;
static pthread_key_t self_key;
static pthread_once_t self_key_once = PTHREAD_ONCE_INIT;

/* A thread's exit hands its slot back (it cannot be in a section any more) */
static void reader_release(void *arg)
{
	struct sio_dma_reader *r = arg;

	/* A later destructor's DMA claims a slot anew instead of sharing this one */
	self = NULL;
	r->depth = 0;
	atomic_store_explicit(&r->active, 0, memory_order_release);
	atomic_store_explicit(&r->taken, false, memory_order_release);
}

/* The child of fork() has one thread: every other slot's owner is gone */
static void reader_atfork_child(void)
{
	for (struct sio_dma_reader *r = atomic_load(&readers); r; r = r->next) {
		if (r == self)
			continue;
		r->depth = 0;
		atomic_store(&r->active, 0);
		atomic_store(&r->taken, false);
	}
}

static void self_key_init(void)
{
	pthread_key_create(&self_key, reader_release);
	pthread_atfork(NULL, NULL, reader_atfork_child);
}

static struct sio_dma_reader *reader_claim(void)
{
	struct sio_dma_reader *r, *head;

	pthread_once(&self_key_once, self_key_init);
	for (r = atomic_load(&readers); r; r = r->next) {
		bool free_slot = false;

		if (atomic_compare_exchange_strong(&r->taken, &free_slot, true))
			goto claimed;
	}
	/* Not a fault-injection point: a slot is bookkeeping, not an object the caller sees */
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	atomic_init(&r->taken, true);
	head = atomic_load(&readers);
	do
		r->next = head;
	while (!atomic_compare_exchange_weak(&readers, &head, r));
claimed:
	pthread_setspecific(self_key, r);
	self = r;
	return r;
}

int sio_dma_read_lock(void)
{
	struct sio_dma_reader *r = self;

	if (unlikely(!r)) {
		r = reader_claim();
		if (!r)
			return -ENOMEM;
	}
	if (r->depth++)
		return 0;
	atomic_exchange(&r->active, atomic_load(&grace_epoch));
	return 0;
}

void sio_dma_read_unlock(void)
{
	struct sio_dma_reader *r = self;

	if (!--r->depth)
		atomic_store_explicit(&r->active, 0, memory_order_release);
}

bool sio_dma_in_section(void)
{
	return self && self->depth;
}

void sio_dma_synchronize(void)
{
	uint64_t target;

	assert(!sio_dma_in_section());
	target = atomic_fetch_add(&grace_epoch, 1) + 1;
	for (struct sio_dma_reader *r = atomic_load(&readers); r; r = r->next) {
		unsigned int spins = 0;
		uint64_t e;

		while ((e = atomic_load(&r->active)) && e < target) {
			/* A section is one batch of a DMA: short, but its thread may be preempted */
			if (++spins > 64)
				sched_yield();
		}
	}
}
