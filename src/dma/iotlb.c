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
 *     bumped by attach changes, so the domains' tags named in the entry are alive while it
 *     matches);
 *   - up to three tags (struct sio_iotlb_tag): the domain whose tables were walked, for a
 *     nested translation its parent, and one the driver chose (an ASID, a VMID, a DID).
 *     Ranges are compared with the entry's leaf, in the IOVA space it is looked up in: the
 *     walked domain's and the driver's. A parent's ranges are stage-2 (IPA) ranges, which
 *     say nothing of which stage-1 IOVAs went through them, so any newer range of the
 *     parent kills a nested entry (as Linux's SMMUv3 driver adds TLBI_NH_ALL to a nesting
 *     parent's invalidation: INV_TYPE_S2_VMID_S1_CLEAR); a device attached to the parent
 *     itself names it as its walked domain, and its entries die by range.
 * Generations come from one global counter, so a value is never reused, even by a tag that
 * lives at the address of a freed one, and they are ordered: a tag's invalidations get
 * growing generations (they take the tag's lock).
 *
 * Invalidating a range of a tag: take a new generation g, write the record (g, first,
 * last) into the tag's ring of SIO_IOTLB_TAG_RANGES, publish g as the tag's generation
 * (seq_cst), and wait a grace period (epoch.c) so that no DMA still uses a translation it
 * looked up before; a batch of ranges shares one grace period (the _nosync calls, then
 * sio_iotlb_sync). Invalidating all of a tag records g as its all_gen instead.
 *
 * A record overwritten in the ring is folded into all_gen (all_gen = the newest
 * generation of which some invalidation may no longer be known by its range).
 *
 * A hit whose tag generation is still the one it recorded costs one load per tag, as
 * before ranges existed. Otherwise (the cold path, tag_survives) it reads the generation
 * now, cur, and then the tag: the entry survives if all_gen is not newer than its
 * generation and no ring record newer than it overlaps its leaf; so it misses when the
 * ring has forgotten a record newer than it (over-invalidation, allowed) or a record is
 * being rewritten under it. A survivor is refreshed to cur (claiming the entry as a
 * filler does, so it is the entry that was checked), and its next hit is one load again;
 * an entry found dead is emptied the same way, so it is checked once. Records no newer
 * than cur were all written before cur was published, and cur is read before the ring, so
 * the check sees them; a record published after cur is either seen too (more caution) or
 * its writer's grace period waits for this section, and the refreshed entry still carries
 * cur, older than that record.
 *
 * A fill takes its generations before it walks: a walk racing an invalidation then stores
 * an entry under the old generation, which never hits.
 *
 * Entries are written by any DMAing thread: each has a sequence count (odd while a filler
 * writes it; fillers claim it by compare-and-swap, and a loser just skips caching). Readers
 * load the count (acquire), every field (acquire, so the second count load cannot move
 * above them) and the count again; a changed or odd count is a miss. A lookup gives up
 * after the key and IOVA when they do not match (a torn pair can only make a miss), so
 * probing the array that does not hold the leaf costs two loads. Every field is an
 * atomic, so no reader sees a torn value and TSan sees no race.
 *
 * Statistics (lookups that missed, cold-path checks, refreshes) are global relaxed
 * counters, bumped only off the hit path and without a locked instruction (exact while one
 * thread looks up), for tests to observe survival without timing.
 *
 * Two direct-mapped arrays: leaves of 1 MiB and more are indexed by IOVA >> 20, smaller ones
 * by IOVA >> 11 (the smallest leaf a model has, the mock's 2 KiB); the large array is
 * probed first. A leaf larger than its array's granule is cached in the slot of each
 * granule a DMA looked up, and a range invalidation kills every such copy (each records
 * the whole leaf).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "iotlb.h"

#define IOTLB_LARGE_LG2 20
#define IOTLB_SMALL_LG2 11
#define IOTLB_LARGE_NR 128
#define IOTLB_SMALL_NR 1024
#define IOTLB_TAGS 3

/* entry->key: PASID in bits 0-31, access in 32-39, leaf size log2 in 40-47, valid bit 63 */
#define KEY_VALID (1ULL << 63)

struct iotlb_entry {
	atomic_uint_least64_t seq;
	atomic_uint_least64_t key;
	atomic_uint_least64_t iova; /* the leaf's first IOVA */
	atomic_uint_least64_t pa;   /* the leaf's first PA */
	atomic_uint_least64_t attach_gen;
	_Atomic(struct sio_iotlb_tag *) tag[IOTLB_TAGS];
	atomic_uint_least64_t gen[IOTLB_TAGS];
};

struct sio_iotlb {
	const atomic_uint_least64_t *attach_gen;
	struct iotlb_entry large[IOTLB_LARGE_NR];
	struct iotlb_entry small[IOTLB_SMALL_NR];
};

static atomic_uint_least64_t next_gen = 1;
static atomic_uint_least64_t stat_misses, stat_checks, stat_refreshes;

/* Not a locked add: a miss is on the walk path; threads racing may lose a count */
static void stat_inc(atomic_uint_least64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

void sio_iotlb_stats(struct sio_iotlb_stats *st)
{
	st->misses = atomic_load_explicit(&stat_misses, memory_order_relaxed);
	st->checks = atomic_load_explicit(&stat_checks, memory_order_relaxed);
	st->refreshes = atomic_load_explicit(&stat_refreshes, memory_order_relaxed);
}

uint64_t sio_iotlb_new_gen(void)
{
	return atomic_fetch_add(&next_gen, 1) + 1;
}

void sio_iotlb_tag_init(struct sio_iotlb_tag *tag)
{
	uint64_t g = sio_iotlb_new_gen();

	/* all_gen too: an entry naming a freed tag that lived here is older, so it misses */
	atomic_init(&tag->gen, g);
	atomic_init(&tag->all_gen, g);
	atomic_init(&tag->head, 0);
	pthread_mutex_init(&tag->lock, NULL);
	for (int i = 0; i < SIO_IOTLB_TAG_RANGES; i++) {
		atomic_init(&tag->range[i].seq, 0);
		atomic_init(&tag->range[i].gen, 0);
		atomic_init(&tag->range[i].first, 0);
		atomic_init(&tag->range[i].last, 0);
	}
}

uint64_t sio_iotlb_tag_gen(struct sio_iotlb_tag *tag)
{
	return atomic_load(&tag->gen);
}

void sio_iotlb_invalidate_all_nosync(struct sio_iotlb_tag *tag)
{
	uint64_t g;

	pthread_mutex_lock(&tag->lock);
	g = sio_iotlb_new_gen();
	atomic_store(&tag->all_gen, g);
	atomic_store(&tag->gen, g);
	pthread_mutex_unlock(&tag->lock);
}

void sio_iotlb_invalidate_range_nosync(struct sio_iotlb_tag *tag, uint64_t iova, uint64_t len)
{
	struct sio_iotlb_range *r;
	uint64_t g, n, last;

	if (!len)
		return;
	if (check_add_overflow(iova, len - 1, &last))
		last = UINT64_MAX;
	pthread_mutex_lock(&tag->lock);
	g = sio_iotlb_new_gen();
	n = atomic_load_explicit(&tag->head, memory_order_relaxed);
	r = &tag->range[n % SIO_IOTLB_TAG_RANGES];
	/*
	 * The record this one overwrites is forgotten: fold it into all_gen (an entry no newer
	 * than it now misses), before a reader can see the head that no longer covers it
	 */
	if (n >= SIO_IOTLB_TAG_RANGES) {
		uint64_t lost = atomic_load_explicit(&r->gen, memory_order_relaxed);

		if (lost > atomic_load_explicit(&tag->all_gen, memory_order_relaxed))
			atomic_store(&tag->all_gen, lost);
	}
	/* The record's own sequence count: odd while written, then 2n + 2 (which record it is) */
	atomic_store_explicit(&r->seq, 2 * n + 1, memory_order_relaxed);
	atomic_store_explicit(&r->gen, g, memory_order_release);
	atomic_store_explicit(&r->first, iova, memory_order_release);
	atomic_store_explicit(&r->last, last, memory_order_release);
	atomic_store_explicit(&r->seq, 2 * n + 2, memory_order_release);
	atomic_store_explicit(&tag->head, n + 1, memory_order_release);
	atomic_store(&tag->gen, g);
	pthread_mutex_unlock(&tag->lock);
}

void sio_iotlb_sync(void)
{
	sio_dma_synchronize();
}

void sio_iotlb_invalidate_all(struct sio_iotlb_tag *tag)
{
	sio_iotlb_invalidate_all_nosync(tag);
	sio_iotlb_sync();
}

void sio_iotlb_invalidate_range(struct sio_iotlb_tag *tag, uint64_t iova, uint64_t len)
{
	if (!len)
		return;
	sio_iotlb_invalidate_range_nosync(tag, iova, len);
	sio_iotlb_sync();
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
	uint64_t seq, key, iova, pa, attach_gen, gen[IOTLB_TAGS];
	struct sio_iotlb_tag *tag[IOTLB_TAGS];
};

/* Whether an entry of @key for the leaf at @first holds (@pasid, @iova) for @access */
static inline bool key_matches(uint64_t key, uint64_t first, uint32_t pasid, uint64_t iova,
			       unsigned int access)
{
	return (key & KEY_VALID) && (uint32_t)key == pasid &&
	       !(access & ~(unsigned int)(key >> 32) & 0xff) &&
	       !((iova - first) >> ((key >> 40) & 0xff));
}

/*
 * Read @e into @s, under its sequence count. With @match, give up as soon as the key and
 * IOVA show the entry is not (@pasid, @iova, @access)'s (a torn read then only makes a
 * miss), so the probe of the other array's entry loads two fields, not eleven.
 */
static inline __attribute__((always_inline)) bool entry_read(struct iotlb_entry *e,
							   struct entry_snap *s, bool match,
							   uint32_t pasid, uint64_t iova,
							   unsigned int access)
{
	uint64_t seq = atomic_load_explicit(&e->seq, memory_order_acquire);

	if (seq & 1)
		return false;
	s->seq = seq;
	s->key = atomic_load_explicit(&e->key, memory_order_acquire);
	s->iova = atomic_load_explicit(&e->iova, memory_order_acquire);
	if (match && !key_matches(s->key, s->iova, pasid, iova, access))
		return false;
	s->pa = atomic_load_explicit(&e->pa, memory_order_acquire);
	s->attach_gen = atomic_load_explicit(&e->attach_gen, memory_order_acquire);
	/* Spelt out: the hit path is unrolled and keeps them in registers */
	s->tag[0] = atomic_load_explicit(&e->tag[0], memory_order_acquire);
	s->gen[0] = atomic_load_explicit(&e->gen[0], memory_order_acquire);
	s->tag[1] = atomic_load_explicit(&e->tag[1], memory_order_acquire);
	s->gen[1] = atomic_load_explicit(&e->gen[1], memory_order_acquire);
	s->tag[2] = atomic_load_explicit(&e->tag[2], memory_order_acquire);
	s->gen[2] = atomic_load_explicit(&e->gen[2], memory_order_acquire);
	return atomic_load_explicit(&e->seq, memory_order_relaxed) == seq;
}

/*
 * Whether no invalidation of @t newer than @gen overlaps [@first, @last]; @t's generation
 * (read before the call) was newer than @gen. In a section.
 */
static bool tag_survives(struct sio_iotlb_tag *t, uint64_t gen, uint64_t first, uint64_t last)
{
	/* The head first: the records it no longer covers are folded into all_gen by then */
	uint64_t head = atomic_load_explicit(&t->head, memory_order_acquire), n;

	if (atomic_load(&t->all_gen) > gen)
		return false;
	for (n = head; n-- && head - n <= SIO_IOTLB_TAG_RANGES;) {
		struct sio_iotlb_range *r = &t->range[n % SIO_IOTLB_TAG_RANGES];
		uint64_t rg, rf, rl;

		/* Being rewritten: a newer record, which may cover the leaf */
		if (atomic_load_explicit(&r->seq, memory_order_acquire) != 2 * n + 2)
			return false;
		rg = atomic_load_explicit(&r->gen, memory_order_acquire);
		rf = atomic_load_explicit(&r->first, memory_order_acquire);
		rl = atomic_load_explicit(&r->last, memory_order_acquire);
		if (atomic_load_explicit(&r->seq, memory_order_relaxed) != 2 * n + 2)
			return false;
		if (rg <= gen)
			return true; /* older records were checked when @gen was current */
		if (rf <= last && first <= rl)
			return false;
	}
	/* Every record newer than @gen checked; the older, forgotten ones are in all_gen */
	return true;
}

/* Point @e, still the entry @s was read from, at the tags' generations @cur */
static void entry_refresh(struct iotlb_entry *e, const struct entry_snap *s,
			  const uint64_t *cur)
{
	uint64_t seq = s->seq;

	if (!atomic_compare_exchange_strong_explicit(&e->seq, &seq, seq + 1, memory_order_acquire,
						     memory_order_relaxed))
		return;
	for (int i = 0; i < IOTLB_TAGS; i++)
		atomic_store_explicit(&e->gen[i], cur[i], memory_order_release);
	atomic_store_explicit(&e->seq, seq + 2, memory_order_release);
	stat_inc(&stat_refreshes);
}

/* Empty @e, still at @seq, so that lookups stop checking an entry that can never hit */
static void entry_kill(struct iotlb_entry *e, uint64_t seq)
{
	if (!atomic_compare_exchange_strong_explicit(&e->seq, &seq, seq + 1, memory_order_acquire,
						     memory_order_relaxed))
		return;
	atomic_store_explicit(&e->key, 0, memory_order_release);
	atomic_store_explicit(&e->seq, seq + 2, memory_order_release);
}

/*
 * The cold path of entry_hit: tag @i's generation is @cur_i, newer than the one the entry
 * recorded when it was read at sequence @seq (it reads the entry again, so that the hit
 * path's snapshot stays in registers)
 */
static __attribute__((noinline)) bool entry_recheck(struct iotlb_entry *e, uint64_t seq,
							  int i, uint64_t cur_i)
{
	uint64_t cur[IOTLB_TAGS], first, last;
	struct entry_snap s;

	if (!entry_read(e, &s, false, 0, 0, 0) || s.seq != seq)
		return false;
	stat_inc(&stat_checks);
	first = s.iova;
	last = first + ((1ULL << ((s.key >> 40) & 0xff)) - 1);
	for (int j = 0; j < IOTLB_TAGS; j++) {
		if (j < i || !s.tag[j]) {
			cur[j] = s.gen[j];
			continue;
		}
		cur[j] = j == i ? cur_i : atomic_load(&s.tag[j]->gen);
		/* A parent's ranges are IPAs, not this entry's IOVAs: any of them kills it */
		if (cur[j] != s.gen[j] && !tag_survives(s.tag[j], s.gen[j], j == 1 ? 0 : first,
							j == 1 ? UINT64_MAX : last)) {
			entry_kill(e, seq);
			return false;
		}
	}
	entry_refresh(e, &s, cur);
	return true;
}

/* Whether @s, read from @e for the access asked, is still current */
static bool entry_hit(const struct sio_iotlb *tlb, struct iotlb_entry *e,
		      const struct entry_snap *s)
{
	/* seq_cst: the loads epoch.c's argument needs. The attachment first: it keeps tags alive */
	if (atomic_load(tlb->attach_gen) != s->attach_gen)
		return false;
	/*
	 * In order, stopping at the first that fails: a driver's tag (the last) may be freed
	 * once the domain's tag was invalidated (driver.h)
	 */
	/* Spelt out, as entry_read; the cold path checks (and refreshes) from the first stale */
#define TAG_CHECK(i)                                                                  \
	do {                                                                          \
		uint64_t cur_;                                                        \
		if (s->tag[i] &&                                                      \
		    unlikely((cur_ = atomic_load(&s->tag[i]->gen)) != s->gen[i]))     \
			return entry_recheck(e, s->seq, i, cur_);                     \
	} while (0)
	TAG_CHECK(0);
	TAG_CHECK(1);
	TAG_CHECK(2);
#undef TAG_CHECK
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
		if (entry_read(e[i], &s, true, pasid, iova, access) && entry_hit(tlb, e[i], &s)) {
			uint64_t off = iova - s.iova;

			*pa = s.pa + off;
			*contig = (1ULL << ((s.key >> 40) & 0xff)) - off;
			return true;
		}
	}
	stat_inc(&stat_misses);
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
	atomic_store_explicit(&e->tag[2], x->tag, memory_order_release);
	atomic_store_explicit(&e->gen[2], x->tag ? x->tag_gen : 0, memory_order_release);
	atomic_store_explicit(&e->seq, seq + 2, memory_order_release);
}
