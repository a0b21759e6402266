// SPDX-License-Identifier: MIT
/*
 * iotlb_bench: the IOTLB of src/dma/iotlb.c on its own (white box: no walk, no copy).
 *
 *   - invalidation: batches of 1, 16 and 256 range invalidations of one tag, each batch
 *     recorded with sio_iotlb_invalidate_range_nosync() and drained with one sio_iotlb_sync(),
 *     and the same ranges each with its own grace period (sio_iotlb_invalidate_range());
 *     baselines in the same run: one bare grace period and one sio_iotlb_invalidate_all().
 *     A reader slot is registered (this thread entered a section), so a grace period is the
 *     real one: a membarrier (or the fenced fallback) and a scan of the slots.
 *   - exactness: how many of 256 cached 4 KiB leaves still hit after a batch of 16 ranges
 *     covering 16 of them, against invalidate-all (a count, not a time).
 *   - hit: sio_iotlb_lookup() of a resident entry, with no driver tag and with one (the third
 *     tag of sio_dma_xlate), and the first hit after an unrelated range invalidation of its
 *     tag (the cold path: the ring check and the refresh).
 * Built with -DIOTLB_BENCH_BASELINE (against main, which has neither ranges nor a third
 * tag) only the plain hit figure is measured, for the before/after comparison.
 *
 * For orientation, not measured: QEMU's SMMUv3 (hw/arm/smmu-common.c) keeps one GHashTable
 * IOTLB per SMMU behind one mutex taken on every translation, of at most 256 entries,
 * flushed whole when full; a range invalidation walks the whole table.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../src/dma/iotlb.h"

#define REPS 5
#define LEAVES 256
#define PG 4096ULL

static atomic_uint_least64_t attach_gen = 1;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * @n leaves of 2^@lg2 bytes (4 KiB: both 2 KiB slots each; 1 MiB: one slot) at IOVA
 * 0, 2^@lg2, ... under @t (and driver tag @d)
 */
static void fill_lg2(struct sio_iotlb *tlb, struct sio_iotlb_tag *t, struct sio_iotlb_tag *d,
		     unsigned int lg2, uint64_t n)
{
	uint64_t step = lg2 >= 20 ? 1ULL << lg2 : 2048;

	if (sio_dma_read_lock())
		exit(1);
	for (uint64_t i = 0; i < n; i++) {
		for (uint64_t off = 0; off < 1ULL << lg2; off += step) {
			struct sio_dma_xlate x = { .pa = 0x100000000ULL + (i << lg2) + off,
						   .leaf_lg2 = lg2, .access = SIO_DMA_READ };
			struct sio_iotlb_fill f;

			sio_iotlb_snapshot(&f, atomic_load(&attach_gen), t, NULL);
#ifndef IOTLB_BENCH_BASELINE
			if (d) {
				x.tag = d;
				x.tag_gen = sio_iotlb_tag_gen(d);
			}
#else
			(void)d;
#endif
			sio_iotlb_insert(tlb, &f, 0, (i << lg2) + off, &x);
		}
	}
	sio_dma_read_unlock();
}

static void fill_all(struct sio_iotlb *tlb, struct sio_iotlb_tag *t, struct sio_iotlb_tag *d)
{
	fill_lg2(tlb, t, d, 12, LEAVES);
}

/* Leaves of fill_all() that hit (used by the range figures only) */
static __attribute__((unused)) int hits(struct sio_iotlb *tlb)
{
	uint64_t pa, contig;
	int n = 0;

	if (sio_dma_read_lock())
		exit(1);
	for (uint64_t i = 0; i < LEAVES; i++)
		n += sio_iotlb_lookup(tlb, 0, i * PG + 8, SIO_DMA_READ, &pa, &contig);
	sio_dma_read_unlock();
	return n;
}

/* ns per lookup, best of REPS passes of @passes over @n resident leaves of 2^@lg2 */
static double hit_lg2_ns(struct sio_iotlb *tlb, int passes, unsigned int lg2, uint64_t n)
{
	double best = 1e30;
	uint64_t sum = 0;

	for (int r = 0; r < REPS; r++) {
		double t;

		if (sio_dma_read_lock())
			exit(1);
		t = now_ns();
		for (int p = 0; p < passes; p++) {
			for (uint64_t i = 0; i < n; i++) {
				uint64_t pa = 0, contig;

				if (!sio_iotlb_lookup(tlb, 0, (i << lg2) + 8, SIO_DMA_READ, &pa,
						      &contig))
					exit(2);
				sum += pa;
			}
		}
		t = (now_ns() - t) / ((double)passes * n);
		sio_dma_read_unlock();
		if (t < best)
			best = t;
	}
	__asm__ volatile("" ::"r"(sum));
	return best;
}

static double hit_ns(struct sio_iotlb *tlb, int passes)
{
	return hit_lg2_ns(tlb, passes, 12, LEAVES);
}

#ifndef IOTLB_BENCH_BASELINE
/* ns per call of @op over @iters calls, best of REPS */
#define TIME_BEST(iters, op)                                            \
	({                                                              \
		double best_ = 1e30;                                    \
		for (int r_ = 0; r_ < REPS; r_++) {                     \
			double t_ = now_ns();                           \
			for (int i_ = 0; i_ < (iters); i_++) {          \
				op;                                     \
			}                                               \
			t_ = (now_ns() - t_) / (iters);                 \
			if (t_ < best_)                                 \
				best_ = t_;                             \
		}                                                       \
		best_;                                                  \
	})

static void batch(struct sio_iotlb_tag *t, int n, bool each_synced)
{
	for (int i = 0; i < n; i++) {
		if (each_synced)
			sio_iotlb_invalidate_range(t, (uint64_t)i * PG, PG);
		else
			sio_iotlb_invalidate_range_nosync(t, (uint64_t)i * PG, PG);
	}
	if (!each_synced)
		sio_iotlb_sync();
}

/* ns of the first lookup of each leaf after a range invalidation elsewhere in its tag */
static double cold_hit_ns(struct sio_iotlb *tlb, struct sio_iotlb_tag *t)
{
	double best = 1e30;
	uint64_t sum = 0;

	for (int r = 0; r < REPS; r++) {
		double tm;

		sio_iotlb_invalidate_range_nosync(t, 0x7fff0000000ULL, PG);
		if (sio_dma_read_lock())
			exit(1);
		tm = now_ns();
		for (uint64_t i = 0; i < LEAVES; i++) {
			uint64_t pa = 0, contig;

			if (!sio_iotlb_lookup(tlb, 0, i * PG + 8, SIO_DMA_READ, &pa, &contig))
				exit(3);
			sum += pa;
		}
		tm = (now_ns() - tm) / LEAVES;
		sio_dma_read_unlock();
		if (tm < best)
			best = tm;
	}
	__asm__ volatile("" ::"r"(sum));
	return best;
}

static void range_figures(struct sio_iotlb *tlb, struct sio_iotlb_tag *tag,
			  struct sio_iotlb_tag *drv, double plain)
{
	static const int sizes[] = { 1, 16, 256 };
	double grace = TIME_BEST(2000, sio_iotlb_sync());
	double all = TIME_BEST(2000, sio_iotlb_invalidate_all(tag));
	double with_drv, cold;
	int kept_range, kept_all;

	fill_all(tlb, tag, drv);
	with_drv = hit_ns(tlb, 4000);
	cold = cold_hit_ns(tlb, tag);
	printf("%-52s %10.2f ns  (%.2fx)\n", "hit, 4 KiB leaves, domain tag + driver tag",
	       with_drv, with_drv / plain);
	printf("%-52s %10.2f ns  (%.2fx)\n", "first hit after another range's invalidation",
	       cold, cold / plain);

	printf("\nbaselines: one bare grace period %.0f ns; invalidate_all %.0f ns\n", grace, all);
	printf("%-10s %-18s %12s %14s %10s\n", "ranges", "sync", "ns/batch", "ranges/s", "vs all");
	for (int s = 0; s < 3; s++) {
		int n = sizes[s], iters = n == 256 ? 40 : 2000 / n;
		double one = TIME_BEST(iters, batch(tag, n, false));
		double each = TIME_BEST(n == 256 ? 8 : iters, batch(tag, n, true));

		printf("%-10d %-18s %12.0f %14.3g %9.2fx\n", n, "one per batch", one,
		       n / one * 1e9, one / all);
		printf("%-10d %-18s %12.0f %14.3g %9.2fx\n", n, "one per range", each,
		       n / each * 1e9, each / all);
	}

	/* Exactness: 16 ranges over 16 of the 256 leaves, against invalidate-all */
	fill_all(tlb, tag, NULL);
	for (int i = 0; i < 16; i++)
		sio_iotlb_invalidate_range_nosync(tag, (uint64_t)i * 16 * PG, PG);
	sio_iotlb_sync();
	kept_range = hits(tlb);
	fill_all(tlb, tag, NULL);
	sio_iotlb_invalidate_all(tag);
	kept_all = hits(tlb);
	printf("\nleaves still cached after invalidating 16 of %d: %d by ranges, %d by "
	       "invalidate_all (the old range behaviour)\n",
	       LEAVES, kept_range, kept_all);
}
#endif

int main(void)
{
	struct sio_iotlb *tlb = sio_iotlb_alloc(&attach_gen);
	struct sio_iotlb_tag tag, drv;
	double plain, large;

	if (!tlb)
		return 1;
	sio_iotlb_tag_init(&tag);
	sio_iotlb_tag_init(&drv);
	/* 64 leaves of 1 MiB: 64 of the 128 large entries, each found in the first array probed */
	fill_lg2(tlb, &tag, NULL, 20, 64);
	large = hit_lg2_ns(tlb, 16000, 20, 64);
	/* A fresh IOTLB for the 4 KiB leaves: the first 1 MiB leaf would cover them all */
	sio_iotlb_free(tlb);
	tlb = sio_iotlb_alloc(&attach_gen);
	if (!tlb)
		return 1;
	fill_all(tlb, &tag, NULL);
	plain = hit_ns(tlb, 4000);
	printf("IOTLB (src/dma/iotlb.c), %d resident 4 KiB leaves; best of %d runs\n", LEAVES,
	       REPS);
	printf("QEMU SMMUv3 for orientation (not measured): one GHashTable IOTLB behind one mutex\n"
	       "per translation, 256 entries, flushed whole when full\n\n");
	printf("%-52s %10.2f ns\n", "hit, 1 MiB leaves, domain tag only", large);
	printf("%-52s %10.2f ns\n", "hit, 4 KiB leaves, domain tag only", plain);
#ifndef IOTLB_BENCH_BASELINE
	range_figures(tlb, &tag, &drv, plain);
#endif
	sio_iotlb_free(tlb);
	return 0;
}
