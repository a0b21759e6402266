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
 *   reader:  e = load(grace_epoch); active = e; ...reads...; store-release(active, 0)
 *   writer:  change state; publish it with a seq_cst store (an IOTLB tag's or a group's
 *            generation); a full barrier on every thread; t = fetch_add(grace_epoch, 1) + 1;
 *            wait until every slot's active is 0 or >= t
 *
 * The reader's store of @active must be ordered before its loads of the generations (the
 * store-buffering pattern), and the two ways to get that are:
 *   - asymmetric (the default where the kernel has it): the reader stores with no fence and
 *     the writer runs membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which executes a full
 *     barrier on every CPU running a thread of this process (others pass one when they are
 *     scheduled), after its own seq_cst store. Entering a section costs a plain store; each
 *     grace period costs a system call. This is liburcu's "memb" flavour;
 *   - fenced (no membarrier, or SOFTIOMMU_DMA_FENCE=1): the reader's store is an atomic
 *     exchange, and every access named above is seq_cst, so one total order S holds them.
 *
 * Invariant: when sio_dma_synchronize() returns, every section that could have missed the
 * writer's change has ended. Why, for each value the writer's scan reads:
 *   - 0: the reader's store of @active was not visible past the barrier (or comes after the
 *     writer's load in S), so its later loads of the generation come after the writer's
 *     store was visible and see the new value, and (reading from a release store) every
 *     change made before it;
 *   - e >= t: the reader's (acquire) load of grace_epoch read the writer's fetch_add or a
 *     later one, so again it happens after the change;
 *   - 0 < e < t: it waits for the release store of 0 (or a re-entry's store), so the whole
 *     section happens before the writer goes on to unpin or free.
 * So a reader must load a published generation (seq_cst) after entering and before it uses
 * anything that generation guards; the IOTLB and the DMA path do.
 *
 * A process in which no thread ever entered a section has no slot, and its grace periods
 * cost one load (a first reader's slot is published with a seq_cst compare-and-swap before
 * it enters, so it sees any generation published before the writer saw the list empty).
 *
 * Writers never starve: a grace period waits only for sections that began before it, and
 * the DMA path leaves its section between batches, so a steady stream of DMAs delays a
 * writer by at most one batch per thread. Sections never take a lock and never wait for a
 * writer, so a writer may synchronize while holding any lock; a thread must not
 * synchronize from inside its own section (it would wait for itself).
 */
#include <assert.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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
/* Readers enter with a plain store; writers issue membarrier. Set once, before any section */
static bool asymmetric;

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

static bool membarrier_register(void)
{
	return !syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
}

/*
 * The child of fork() has one thread: every other slot's owner is gone. It registers for
 * membarrier anew (a new mm), or falls back to fenced readers; with no other thread it
 * may switch.
 */
static void reader_atfork_child(void)
{
	if (asymmetric)
		asymmetric = membarrier_register();
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
	const char *env = getenv("SOFTIOMMU_DMA_FENCE");

	pthread_key_create(&self_key, reader_release);
	pthread_atfork(NULL, NULL, reader_atfork_child);
	if (!(env && !strcmp(env, "1")))
		asymmetric = membarrier_register();
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
	if (likely(asymmetric)) {
		atomic_store_explicit(&r->active,
				      atomic_load_explicit(&grace_epoch, memory_order_acquire),
				      memory_order_relaxed);
		/* Only the compiler must keep the order: the writer's membarrier is the fence */
		atomic_signal_fence(memory_order_seq_cst);
	} else {
		atomic_exchange(&r->active, atomic_load(&grace_epoch));
	}
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
	if (!atomic_load(&readers))
		return;
	pthread_once(&self_key_once, self_key_init);
	if (asymmetric && syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0)) {
		/* Registered, so the kernel cannot refuse; if it did, readers could miss the change */
		fprintf(stderr, "softiommu: membarrier failed after registration\n");
		abort();
	}
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
