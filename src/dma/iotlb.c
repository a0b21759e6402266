// SPDX-License-Identifier: MIT
/*
 * The IOTLB: a per-device cache of leaf translations in front of the page-table walk, shared
 * by every hardware model (DESIGN.md layer 7; a model's walk fills it, its invalidation
 * commands empty it through the tags below).
 *
 * An entry caches one leaf: (PASID, the leaf's first IOVA and size) -> its first PA and the
 * accesses it allows. It is valid only while everything it was computed from is unchanged,
 * and it records a generation for each:
 *   - the device group's attachment generation (which domain the PASID translates through;
 *     bumped by attach changes, so the tags named in the entry are alive while it matches);
 *   - up to two tags (struct sio_iotlb_tag): the domain whose tables were walked and, for a
 *     nested translation, its parent. A driver may give other things tags (an ASID, a VMID).
 * Generations come from one global counter, so a value is never reused, even by a tag that
 * lives at the address of a freed one. Invalidating is bumping a tag's generation, which
 * kills every entry naming it in every IOTLB at once, in O(1); invalidation by range does
 * the same (hardware may invalidate more than asked, never less), then waits a grace period
 * (epoch.c) so that no DMA still uses a translation it looked up before.
 *
 * A fill takes its generations before it walks: a walk racing an invalidation then stores
 * an entry under the old generation, which never hits.
 *
 * Entries are written by any DMAing thread: each has a sequence count (odd while a filler
 * writes it; fillers claim it by compare-and-swap, and a loser just skips caching). Readers
 * load the count (acquire), every field (acquire, so the second count load cannot move
 * above them) and the count again; a changed or odd count is a miss. Every field is an
 * atomic, so no reader sees a torn value and TSan sees no race.
 *
 * Two direct-mapped arrays: leaves of 1 MiB and more are indexed by IOVA >> 20, smaller ones
 * by IOVA >> 11 (the smallest leaf a model has, the mock's 2 KiB); the large array is
 * probed first.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "iotlb.h"

#define IOTLB_LARGE_LG2 20
#define IOTLB_SMALL_LG2 11
#define IOTLB_LARGE_NR 128
#define IOTLB_SMALL_NR 1024

/* entry->key: PASID in bits 0-31, access in 32-39, leaf size log2 in 40-47, valid bit 63 */
#define KEY_VALID (1ULL << 63)

struct iotlb_entry {
	atomic_uint_least64_t seq;
	atomic_uint_least64_t key;
	atomic_uint_least64_t iova; /* the leaf's first IOVA */
	atomic_uint_least64_t pa;   /* the leaf's first PA */
	atomic_uint_least64_t attach_gen;
	_Atomic(struct sio_iotlb_tag *) tag[2];
	atomic_uint_least64_t gen[2];
};

struct sio_iotlb {
	const atomic_uint_least64_t *attach_gen;
	struct iotlb_entry large[IOTLB_LARGE_NR];
	struct iotlb_entry small[IOTLB_SMALL_NR];
};

static atomic_uint_least64_t next_gen = 1;

uint64_t sio_iotlb_new_gen(void)
{
	return atomic_fetch_add(&next_gen, 1) + 1;
}

void sio_iotlb_tag_init(struct sio_iotlb_tag *tag)
{
	atomic_init(&tag->gen, sio_iotlb_new_gen());
}

void sio_iotlb_invalidate_all(struct sio_iotlb_tag *tag)
{
	atomic_store(&tag->gen, sio_iotlb_new_gen());
	sio_dma_synchronize();
}

void sio_iotlb_invalidate_range(struct sio_iotlb_tag *tag, uint64_t iova, uint64_t len)
{
	(void)iova;
	(void)len;
	sio_iotlb_invalidate_all(tag);
}

struct sio_iotlb *sio_iotlb_alloc(const atomic_uint_least64_t *attach_gen)
{
	struct sio_iotlb *tlb = sio_zalloc(sizeof(*tlb));

	if (tlb)
		tlb->attach_gen = attach_gen;
	return tlb;
}

void sio_iotlb_free(struct sio_iotlb *tlb)
{
	sio_free(tlb);
}

static inline unsigned int slot(uint64_t iova, uint32_t pasid, unsigned int lg2, unsigned int nr)
{
	return (unsigned int)((iova >> lg2) ^ (pasid * 0x9e3779b1u)) & (nr - 1);
}

struct entry_snap {
	uint64_t key, iova, pa, attach_gen, gen[2];
	struct sio_iotlb_tag *tag[2];
};

static bool entry_read(struct iotlb_entry *e, struct entry_snap *s)
{
	uint64_t seq = atomic_load_explicit(&e->seq, memory_order_acquire);

	if (seq & 1)
		return false;
	s->key = atomic_load_explicit(&e->key, memory_order_acquire);
	s->iova = atomic_load_explicit(&e->iova, memory_order_acquire);
	s->pa = atomic_load_explicit(&e->pa, memory_order_acquire);
	s->attach_gen = atomic_load_explicit(&e->attach_gen, memory_order_acquire);
	s->tag[0] = atomic_load_explicit(&e->tag[0], memory_order_acquire);
	s->tag[1] = atomic_load_explicit(&e->tag[1], memory_order_acquire);
	s->gen[0] = atomic_load_explicit(&e->gen[0], memory_order_acquire);
	s->gen[1] = atomic_load_explicit(&e->gen[1], memory_order_acquire);
	return atomic_load_explicit(&e->seq, memory_order_relaxed) == seq;
}

/* Whether @s holds (@pasid, @iova) for @access and is still current; in a section */
static bool entry_hit(const struct sio_iotlb *tlb, const struct entry_snap *s, uint32_t pasid,
		      uint64_t iova, unsigned int access)
{
	unsigned int lg2 = (s->key >> 40) & 0xff;

	if (!(s->key & KEY_VALID) || (uint32_t)s->key != pasid ||
	    (access & ~(unsigned int)(s->key >> 32) & 0xff) || (iova - s->iova) >> lg2)
		return false;
	/* seq_cst: the loads epoch.c's argument needs. The attachment first: it keeps tags alive */
	if (atomic_load(tlb->attach_gen) != s->attach_gen)
		return false;
	for (int i = 0; i < 2; i++)
		if (s->tag[i] && atomic_load(&s->tag[i]->gen) != s->gen[i])
			return false;
	return true;
}

bool sio_iotlb_lookup(struct sio_iotlb *tlb, uint32_t pasid, uint64_t iova, unsigned int access,
		      uint64_t *pa, uint64_t *contig)
{
	struct iotlb_entry *e[2] = {
		&tlb->large[slot(iova, pasid, IOTLB_LARGE_LG2, IOTLB_LARGE_NR)],
		&tlb->small[slot(iova, pasid, IOTLB_SMALL_LG2, IOTLB_SMALL_NR)],
	};
	struct entry_snap s;

	for (int i = 0; i < 2; i++) {
		if (entry_read(e[i], &s) && entry_hit(tlb, &s, pasid, iova, access)) {
			uint64_t off = iova - s.iova;

			*pa = s.pa + off;
			*contig = (1ULL << ((s.key >> 40) & 0xff)) - off;
			return true;
		}
	}
	return false;
}

void sio_iotlb_snapshot(struct sio_iotlb_fill *f, uint64_t attach_gen, struct sio_iotlb_tag *t0,
			struct sio_iotlb_tag *t1)
{
	f->attach_gen = attach_gen;
	f->tag[0] = t0;
	f->tag[1] = t1;
	f->gen[0] = atomic_load(&t0->gen);
	f->gen[1] = t1 ? atomic_load(&t1->gen) : 0;
}

void sio_iotlb_insert(struct sio_iotlb *tlb, const struct sio_iotlb_fill *f, uint32_t pasid,
		      uint64_t iova, const struct sio_dma_xlate *x)
{
	bool large = x->leaf_lg2 >= IOTLB_LARGE_LG2;
	struct iotlb_entry *e;
	uint64_t seq, first;

	if (x->leaf_lg2 < IOTLB_SMALL_LG2 || x->leaf_lg2 > 63 || !x->access)
		return;
	e = large ? &tlb->large[slot(iova, pasid, IOTLB_LARGE_LG2, IOTLB_LARGE_NR)] :
		    &tlb->small[slot(iova, pasid, IOTLB_SMALL_LG2, IOTLB_SMALL_NR)];
	seq = atomic_load_explicit(&e->seq, memory_order_relaxed);
	if ((seq & 1) || !atomic_compare_exchange_strong_explicit(&e->seq, &seq, seq + 1,
								  memory_order_acquire,
								  memory_order_relaxed))
		return;
	first = iova & ~((1ULL << x->leaf_lg2) - 1);
	atomic_store_explicit(&e->key,
			      KEY_VALID | (uint64_t)x->leaf_lg2 << 40 |
				      (uint64_t)(x->access & 0xff) << 32 | pasid,
			      memory_order_release);
	atomic_store_explicit(&e->iova, first, memory_order_release);
	atomic_store_explicit(&e->pa, x->pa - (iova - first), memory_order_release);
	atomic_store_explicit(&e->attach_gen, f->attach_gen, memory_order_release);
	for (int i = 0; i < 2; i++) {
		atomic_store_explicit(&e->tag[i], f->tag[i], memory_order_release);
		atomic_store_explicit(&e->gen[i], f->gen[i], memory_order_release);
	}
	atomic_store_explicit(&e->seq, seq + 2, memory_order_release);
}
