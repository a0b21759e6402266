// SPDX-License-Identifier: MIT
/*
 * Exact IOTLB invalidation scopes (src/dma/iotlb.c): a range invalidation of a tag kills
 * exactly that tag's entries whose leaf overlaps the range, and every other entry survives.
 *
 * White box, observed through sio_iotlb_lookup() and the IOTLB's statistics (never timing):
 * the range's edges (the last byte before it, the first byte after, a 2 MiB leaf partly
 * covered dies whole), per-tag isolation, a nested domain's parent (its ranges are IPAs:
 * they kill every nested entry over it), the driver's third tag (sio_dma_xlate.tag), a
 * fill whose tag generation predates an invalidation, more invalidations than the tag
 * remembers (the entry then misses, and is emptied), batches sharing one sync, the empty
 * and the wrapping range, invalidate-all; concurrent readers and a writer that changes a
 * mapping then invalidates it: no reader sees the old PA once the call returned.
 *
 * Through the device API: unmapping one page of an IOAS leaves the IOTLB's translation of
 * another page in place (the next DMA to it is a hit), and the unmapped page faults.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "testlib.h"
#include "../../src/dma/iotlb.h"

#define PG 4096ULL
#define FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static atomic_uint_least64_t attach_gen = 11;

/*
 * Cache the leaf of 2^@lg2 bytes at @iova -> @pa under @t0 (and @t1, and driver tag @d),
 * from each of its IOTLB slots (one per 1 MiB of a large leaf, per 2 KiB of a small one),
 * as DMAs over all of it would
 */
static void fill(struct sio_iotlb *tlb, uint32_t pasid, uint64_t iova, uint64_t pa,
		 unsigned int lg2, struct sio_iotlb_tag *t0, struct sio_iotlb_tag *t1,
		 struct sio_iotlb_tag *d)
{
	uint64_t step = 1ULL << (lg2 >= 20 ? 20 : 11);

	for (uint64_t off = 0; off < 1ULL << lg2; off += step) {
		struct sio_dma_xlate x = { .pa = pa + off, .leaf_lg2 = lg2,
					   .access = SIO_DMA_READ };
		struct sio_iotlb_fill f;

		if (sio_dma_read_lock())
			abort();
		sio_iotlb_snapshot(&f, atomic_load(&attach_gen), t0, t1);
		if (d) {
			x.tag = d;
			x.tag_gen = sio_iotlb_tag_gen(d);
		}
		sio_iotlb_insert(tlb, &f, pasid, iova + off, &x);
		sio_dma_read_unlock();
	}
}

/* Whether (@pasid, @iova) hits, and then at @pa */
static bool hit(struct sio_iotlb *tlb, uint32_t pasid, uint64_t iova, uint64_t pa)
{
	uint64_t got, contig;
	bool h;

	if (sio_dma_read_lock())
		abort();
	h = sio_iotlb_lookup(tlb, pasid, iova, SIO_DMA_READ, &got, &contig);
	sio_dma_read_unlock();
	if (h && got != pa) {
		fprintf(stderr, "IOVA 0x%llx: PA 0x%llx, not 0x%llx\n", (unsigned long long)iova,
			(unsigned long long)got, (unsigned long long)pa);
		return false;
	}
	return h;
}

static uint64_t misses(void)
{
	struct sio_iotlb_stats st;

	sio_iotlb_stats(&st);
	return st.misses;
}

/* Leaves of 4 KiB at 0x10000, 0x11000, 0x12000, 0x13000 and of 2 MiB at 0x400000 */
static void fill_five(struct sio_iotlb *tlb, struct sio_iotlb_tag *t, struct sio_iotlb_tag *d)
{
	for (uint64_t i = 0; i < 4; i++)
		fill(tlb, 0, 0x10000 + i * PG, 0x80000000 + i * PG, 12, t, NULL, d);
	fill(tlb, 0, 0x400000, 0xc0000000, 21, t, NULL, d);
}

static void test_range_edges(void)
{
	struct sio_iotlb *tlb = sio_iotlb_alloc(&attach_gen);
	struct sio_iotlb_stats a, b;
	struct sio_iotlb_tag t;

	sio_iotlb_tag_init(&t);
	fill_five(tlb, &t, NULL);
	for (uint64_t i = 0; i < 4; i++)
		CHECK(hit(tlb, 0, 0x10000 + i * PG + 5, 0x80000000 + i * PG + 5));
	CHECK(hit(tlb, 0, 0x5fffff, 0xc01fffff));

	/* [0x11000, 0x12fff]: its two leaves die, the last byte before and first after live */
	sio_iotlb_invalidate_range(&t, 0x11000, 2 * PG);
	CHECK(hit(tlb, 0, 0x10fff, 0x80000fff));
	CHECK(!hit(tlb, 0, 0x11000, 0));
	CHECK(!hit(tlb, 0, 0x12fff, 0));
	CHECK(hit(tlb, 0, 0x13000, 0x80003000));
	CHECK(hit(tlb, 0, 0x400000, 0xc0000000));

	/* One byte, the leaf's last: the leaf dies */
	sio_iotlb_invalidate_range(&t, 0x10fff, 1);
	CHECK(!hit(tlb, 0, 0x10000, 0));
	CHECK(hit(tlb, 0, 0x13fff, 0x80003fff));

	/* A 2 MiB leaf partly covered dies whole, at its other end too */
	sio_iotlb_invalidate_range(&t, 0x5ff000, PG);
	CHECK(!hit(tlb, 0, 0x400000, 0));
	CHECK(!hit(tlb, 0, 0x5fffff, 0));
	CHECK(hit(tlb, 0, 0x13000, 0x80003000));

	/* A survivor was checked against the ranges once, then hits without a check */
	fill(tlb, 0, 0x10000, 0x80000000, 12, &t, NULL, NULL);
	sio_iotlb_invalidate_range(&t, 0x20000, PG);
	sio_iotlb_stats(&a);
	CHECK(hit(tlb, 0, 0x10000, 0x80000000));
	CHECK(hit(tlb, 0, 0x13000, 0x80003000));
	sio_iotlb_stats(&b);
	CHECK(b.checks == a.checks + 2 && b.refreshes == a.refreshes + 2);
	CHECK(hit(tlb, 0, 0x10000, 0x80000000));
	CHECK(hit(tlb, 0, 0x13000, 0x80003000));
	sio_iotlb_stats(&a);
	CHECK(a.checks == b.checks && a.misses == b.misses);

	/* The empty range invalidates nothing; one running past 2^64 ends there */
	sio_iotlb_invalidate_range(&t, 0x10000, 0);
	CHECK(hit(tlb, 0, 0x10000, 0x80000000));
	fill(tlb, 0, 0xfffffffffffff000ULL, 0x90000000, 12, &t, NULL, NULL);
	CHECK(hit(tlb, 0, 0xfffffffffffff800ULL, 0x90000800));
	sio_iotlb_invalidate_range(&t, 0xffffffffffffff00ULL, 0x1000);
	CHECK(!hit(tlb, 0, 0xfffffffffffff000ULL, 0));
	CHECK(hit(tlb, 0, 0x10000, 0x80000000));

	/* Every PASID of the tag: the range names IOVAs, not a PASID */
	fill(tlb, 5, 0x30000, 0x70000000, 12, &t, NULL, NULL);
	fill(tlb, 6, 0x30000, 0x71000000, 12, &t, NULL, NULL);
	CHECK(hit(tlb, 5, 0x30000, 0x70000000) && hit(tlb, 6, 0x30000, 0x71000000));
	sio_iotlb_invalidate_range(&t, 0x30000, 1);
	CHECK(!hit(tlb, 5, 0x30000, 0) && !hit(tlb, 6, 0x30000, 0));

	/* Invalidate-all kills what ranges spared */
	sio_iotlb_invalidate_all(&t);
	CHECK(!hit(tlb, 0, 0x10000, 0));
	CHECK(!hit(tlb, 0, 0x13000, 0));
	sio_iotlb_free(tlb);
}

/* A range of one tag leaves another's entries at the same IOVAs; a parent's range too */
static void test_range_tags_isolated(void)
{
	struct sio_iotlb *tlb = sio_iotlb_alloc(&attach_gen);
	struct sio_iotlb_tag a, b, parent;

	sio_iotlb_tag_init(&a);
	sio_iotlb_tag_init(&b);
	sio_iotlb_tag_init(&parent);
	/* PASID 1 under a, PASID 2 under b (nested over parent), same IOVAs */
	fill(tlb, 1, 0x10000, 0x1000000, 12, &a, NULL, NULL);
	fill(tlb, 2, 0x10000, 0x2000000, 12, &b, &parent, NULL);
	fill(tlb, 2, 0x11000, 0x2001000, 12, &b, &parent, NULL);
	CHECK(hit(tlb, 1, 0x10000, 0x1000000) && hit(tlb, 2, 0x10000, 0x2000000));

	sio_iotlb_invalidate_range(&a, 0x10000, PG);
	CHECK(!hit(tlb, 1, 0x10000, 0));
	CHECK(hit(tlb, 2, 0x10000, 0x2000000));

	/* b's range kills b's entries in it only */
	fill(tlb, 1, 0x10000, 0x1000000, 12, &a, NULL, NULL);
	sio_iotlb_invalidate_range(&b, 0x11000, PG);
	CHECK(hit(tlb, 1, 0x10000, 0x1000000));
	CHECK(hit(tlb, 2, 0x10000, 0x2000000));
	CHECK(!hit(tlb, 2, 0x11000, 0));

	sio_iotlb_invalidate_all(&b);
	CHECK(!hit(tlb, 2, 0x10000, 0));
	CHECK(hit(tlb, 1, 0x10000, 0x1000000));
	sio_iotlb_free(tlb);
}

/*
 * A parent's range is an IPA range: it kills every nested entry over that parent, at any
 * IOVA, but only the overlapping entries of a device attached to the parent directly
 */
static void test_range_parent_is_ipa(void)
{
	struct sio_iotlb *tlb = sio_iotlb_alloc(&attach_gen);
	struct sio_iotlb_tag nested, other, parent;

	sio_iotlb_tag_init(&nested);
	sio_iotlb_tag_init(&other);
	sio_iotlb_tag_init(&parent);
	/* IOVA 0x10000 of the nested domain goes through IPA 0x90000 (not modelled here) */
	fill(tlb, 1, 0x10000, 0x5000000, 12, &nested, &parent, NULL);
	fill(tlb, 0, 0x10000, 0x6000000, 12, &parent, NULL, NULL);
	fill(tlb, 0, 0x90000, 0x6080000, 12, &parent, NULL, NULL);
	fill(tlb, 3, 0x10000, 0x7000000, 12, &other, NULL, NULL);

	sio_iotlb_invalidate_range(&parent, 0x90000, PG);
	CHECK(!hit(tlb, 1, 0x10000, 0));
	CHECK(hit(tlb, 0, 0x10000, 0x6000000));
	CHECK(!hit(tlb, 0, 0x90000, 0));
	CHECK(hit(tlb, 3, 0x10000, 0x7000000));

	/* Filled after it, the nested entry survives a stage-1 range elsewhere */
	fill(tlb, 1, 0x10000, 0x5000000, 12, &nested, &parent, NULL);
	sio_iotlb_invalidate_range(&nested, 0x20000, PG);
	CHECK(hit(tlb, 1, 0x10000, 0x5000000));
	sio_iotlb_free(tlb);
}

/* The driver's own tag (an ASID): its range and its all kill, another ASID's do not */
static void test_range_third_tag(void)
{
	struct sio_iotlb *tlb = sio_iotlb_alloc(&attach_gen);
	struct sio_iotlb_tag dom, asid1, asid2;
	struct sio_dma_xlate x = { .pa = 0x5000000, .leaf_lg2 = 12, .access = SIO_DMA_READ };
	struct sio_iotlb_fill f;

	sio_iotlb_tag_init(&dom);
	sio_iotlb_tag_init(&asid1);
	sio_iotlb_tag_init(&asid2);
	fill_five(tlb, &dom, &asid1);
	fill(tlb, 3, 0x10000, 0x6000000, 12, &dom, NULL, &asid2);
	fill(tlb, 4, 0x10000, 0x7000000, 12, &dom, NULL, NULL);

	sio_iotlb_invalidate_range(&asid1, 0x10000, PG);
	CHECK(!hit(tlb, 0, 0x10000, 0));
	CHECK(hit(tlb, 0, 0x11000, 0x80001000));
	CHECK(hit(tlb, 3, 0x10000, 0x6000000));
	CHECK(hit(tlb, 4, 0x10000, 0x7000000));

	sio_iotlb_invalidate_all(&asid1);
	CHECK(!hit(tlb, 0, 0x11000, 0));
	CHECK(!hit(tlb, 0, 0x400000, 0));
	CHECK(hit(tlb, 3, 0x10000, 0x6000000));

	/* The domain's tag still kills entries naming a driver tag */
	sio_iotlb_invalidate_range(&dom, 0x10000, PG);
	CHECK(!hit(tlb, 3, 0x10000, 0));
	CHECK(!hit(tlb, 4, 0x10000, 0));

	/* A walk whose driver-tag generation predates an invalidation caches nothing usable */
	CHECK_OK(sio_dma_read_lock());
	sio_iotlb_snapshot(&f, atomic_load(&attach_gen), &dom, NULL);
	x.tag = &asid2;
	x.tag_gen = sio_iotlb_tag_gen(&asid2);
	sio_dma_read_unlock();
	sio_iotlb_invalidate_range(&asid2, 0x20000, PG);
	CHECK_OK(sio_dma_read_lock());
	sio_iotlb_insert(tlb, &f, 3, 0x20000, &x);
	sio_dma_read_unlock();
	CHECK(!hit(tlb, 3, 0x20000, 0));
	/* ... while one outside that range, filled as late, is served */
	CHECK_OK(sio_dma_read_lock());
	sio_iotlb_insert(tlb, &f, 3, 0x21000, &x);
	sio_dma_read_unlock();
	CHECK(hit(tlb, 3, 0x21000, 0x5000000));
	sio_iotlb_free(tlb);
}

/* More range invalidations than the tag remembers since a fill: that entry misses */
static void test_range_ring_overflow(void)
{
	struct sio_iotlb *tlb = sio_iotlb_alloc(&attach_gen);
	struct sio_iotlb_stats a, b;
	struct sio_iotlb_tag t;

	sio_iotlb_tag_init(&t);
	/* A history the ring has already forgotten part of: older than the fills, harmless */
	for (int i = 0; i < 3 * SIO_IOTLB_TAG_RANGES + 1; i++)
		sio_iotlb_invalidate_range_nosync(&t, 0x10000, PG);
	sio_iotlb_sync();
	fill(tlb, 0, 0x10000, 0x80000000, 12, &t, NULL, NULL);
	fill(tlb, 0, 0x11000, 0x80001000, 12, &t, NULL, NULL);
	/* Exactly as many as remembered, elsewhere, in one batch: both survive */
	for (int i = 0; i < SIO_IOTLB_TAG_RANGES; i++)
		sio_iotlb_invalidate_range_nosync(&t, 0x100000 + i * PG, PG);
	sio_iotlb_sync();
	CHECK(hit(tlb, 0, 0x10000, 0x80000000));
	CHECK(hit(tlb, 0, 0x10800, 0x80000800));
	/* One more: 0x10000 was refreshed by its hit and survives, 0x11000 is too old */
	sio_iotlb_invalidate_range(&t, 0x200000, PG);
	CHECK(hit(tlb, 0, 0x10000, 0x80000000));
	sio_iotlb_stats(&a);
	CHECK(!hit(tlb, 0, 0x11000, 0));
	/* ... and, found dead once, is emptied: the next lookup misses without a check */
	CHECK(!hit(tlb, 0, 0x11000, 0));
	sio_iotlb_stats(&b);
	CHECK(b.checks == a.checks + 1 && b.misses == a.misses + 2);
	/* A batch far larger than the ring, none covering 0x10000: still a miss, not a hit */
	for (int i = 0; i < 256; i++)
		sio_iotlb_invalidate_range_nosync(&t, 0x300000 + i * PG, PG);
	sio_iotlb_sync();
	CHECK(!hit(tlb, 0, 0x10000, 0));
	/* Filled afresh, it lives again */
	fill(tlb, 0, 0x10000, 0x80000000, 12, &t, NULL, NULL);
	CHECK(hit(tlb, 0, 0x10000, 0x80000000));
	sio_iotlb_free(tlb);
}

/* A batch of ranges then one sync: each is as exact as alone */
static void test_range_batch(void)
{
	struct sio_iotlb *tlb = sio_iotlb_alloc(&attach_gen);
	struct sio_iotlb_tag t, d;

	sio_iotlb_tag_init(&t);
	sio_iotlb_tag_init(&d);
	for (uint64_t i = 0; i < 8; i++)
		fill(tlb, 0, 0x40000 + i * PG, 0x3000000 + i * PG, 12, &t, NULL, i & 1 ? &d : NULL);
	sio_iotlb_invalidate_range_nosync(&t, 0x40000, PG);
	sio_iotlb_invalidate_range_nosync(&d, 0x43000, 3 * PG); /* 0x43000 and 0x45000 */
	sio_iotlb_invalidate_range_nosync(&t, 0x47000, 1);
	/* Misses at once for a lookup after the call, before the sync */
	CHECK(!hit(tlb, 0, 0x40000, 0));
	sio_iotlb_sync();
	CHECK(hit(tlb, 0, 0x41000, 0x3001000));
	CHECK(hit(tlb, 0, 0x42000, 0x3002000));
	CHECK(!hit(tlb, 0, 0x43000, 0));
	CHECK(hit(tlb, 0, 0x44000, 0x3004000));
	CHECK(!hit(tlb, 0, 0x45000, 0));
	CHECK(hit(tlb, 0, 0x46000, 0x3006000));
	CHECK(!hit(tlb, 0, 0x47000, 0));
	sio_iotlb_invalidate_all_nosync(&d);
	sio_iotlb_sync();
	CHECK(!hit(tlb, 0, 0x41000, 0));
	CHECK(hit(tlb, 0, 0x42000, 0x3002000));
	sio_iotlb_free(tlb);
}

/*
 * Readers translate pages of a table through the IOTLB (filling it on a miss) while a
 * writer moves pages to new PAs and invalidates them by range (through the domain's tag or
 * the driver's, alone or batched), then publishes the page's new version: a reader that
 * read the published version must never get an older PA
 */
#define RACE_PAGES 64
#define RACE_ROUNDS 4000

struct race {
	struct sio_iotlb *tlb;
	struct sio_iotlb_tag dom, drv;
	atomic_uint_least64_t table[RACE_PAGES];     /* version of the page's PA */
	atomic_uint_least64_t published[RACE_PAGES]; /* a version whose invalidation returned */
	atomic_bool stop;
	atomic_ulong stale, wrong, hits;
};

static uint64_t race_pa(uint64_t page, uint64_t version)
{
	return version << 24 | page << 12;
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	unsigned int s = 12345;

	while (!atomic_load(&r->stop)) {
		uint64_t page = ((s = s * 1103515245 + 12345) >> 16) % RACE_PAGES, pa, contig;
		uint64_t iova = page * PG, pub;

		if (sio_dma_read_lock())
			abort();
		pub = atomic_load(&r->published[page]);
		if (sio_iotlb_lookup(r->tlb, 0, iova, SIO_DMA_READ, &pa, &contig)) {
			atomic_fetch_add(&r->hits, 1);
			if ((pa >> 12 & 0xfff) != page)
				atomic_fetch_add(&r->wrong, 1);
			if (pa >> 24 < pub)
				atomic_fetch_add(&r->stale, 1);
		} else {
			struct sio_dma_xlate x = { .leaf_lg2 = 12, .access = SIO_DMA_READ };
			struct sio_iotlb_fill f;

			/* The generations before the table, as a walk takes them */
			sio_iotlb_snapshot(&f, atomic_load(&attach_gen), &r->dom, NULL);
			x.tag = &r->drv;
			x.tag_gen = sio_iotlb_tag_gen(&r->drv);
			x.pa = race_pa(page, atomic_load(&r->table[page]));
			sio_iotlb_insert(r->tlb, &f, 0, iova, &x);
		}
		sio_dma_read_unlock();
	}
	return NULL;
}

static void test_range_race(void)
{
	static struct race r;
	unsigned int s = 777;
	pthread_t th[2];

	r.tlb = sio_iotlb_alloc(&attach_gen);
	sio_iotlb_tag_init(&r.dom);
	sio_iotlb_tag_init(&r.drv);
	for (int i = 0; i < RACE_PAGES; i++) {
		atomic_init(&r.table[i], 1);
		atomic_init(&r.published[i], 1);
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, race_reader, &r);
	for (int round = 0; round < RACE_ROUNDS; round++) {
		uint64_t page[3], nr = 1 + round % 3;

		for (uint64_t i = 0; i < nr; i++) {
			page[i] = ((s = s * 1103515245 + 12345) >> 16) % RACE_PAGES;
			atomic_fetch_add(&r.table[page[i]], 1);
			sio_iotlb_invalidate_range_nosync(round & 4 ? &r.drv : &r.dom,
							  page[i] * PG, PG);
		}
		sio_iotlb_sync();
		for (uint64_t i = 0; i < nr; i++)
			atomic_store(&r.published[page[i]], atomic_load(&r.table[page[i]]));
		if (round % 64 == 0)
			sched_yield();
	}
	atomic_store(&r.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK(atomic_load(&r.hits) > 0);
	CHECK(atomic_load(&r.wrong) == 0);
	CHECK(atomic_load(&r.stale) == 0);
	sio_iotlb_free(r.tlb);
}

/* ---- through the device API: an IOAS unmap invalidates exactly its area ---- */

static int read_byte(struct softiommu_dev *dev, uint64_t iova)
{
	unsigned char v;
	int rc = softiommu_dma_read(dev, 0, iova, &v, 1);

	return rc ? rc : v;
}

static void test_unmap_keeps_other_pages(void)
{
	char *mem = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t a = MOCK_APERTURE_START, b = MOCK_APERTURE_START + 16 * PG, m;
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);
	struct softiommu_dev *dev;
	unsigned int pt = ioas;

	mem[0] = 'a';
	mem[PG] = 'b';
	CHECK_OK(softiommu_dev_create(fd, "mock", 0, &dev, NULL));
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK_OK(t_map(fd, ioas, mem, PG, &a, FIXED_RW));
	CHECK_OK(t_map(fd, ioas, mem + PG, PG, &b, FIXED_RW));
	CHECK(read_byte(dev, a) == 'a');
	CHECK(read_byte(dev, b) == 'b');
	m = misses();
	CHECK(read_byte(dev, a) == 'a');
	CHECK(misses() == m);

	/* Unmapping page B leaves page A's translation cached: the next DMA to A is a hit */
	CHECK_OK(t_unmap(fd, ioas, b, PG, NULL));
	m = misses();
	CHECK(read_byte(dev, a) == 'a');
	CHECK(misses() == m);
	CHECK(read_byte(dev, b) == -EFAULT);
	CHECK(misses() > m);

	/* ... and unmapping A kills it */
	CHECK_OK(t_unmap(fd, ioas, a, PG, NULL));
	CHECK(read_byte(dev, a) == -EFAULT);
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fd));
	CHECK(t_pinned() == 0);
	munmap(mem, 2 * PG);
}

int main(void)
{
	test_range_edges();
	test_range_tags_isolated();
	test_range_parent_is_ipa();
	test_range_third_tag();
	test_range_ring_overflow();
	test_range_batch();
	test_range_race();
	test_unmap_keeps_other_pages();
	return t_done();
}
