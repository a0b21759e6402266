// SPDX-License-Identifier: MIT
/*
 * pt_bench.c - page-table library timings with same-run baselines
 *
 * Each figure is the best of several repetitions of a batch, in ns per
 * operation.  Baselines, measured in the same run:
 *   - map/unmap: plain 8-byte stores into an array, as many per call as the
 *     operation writes leaves (1 or 256);
 *   - walks: a dependent-load pointer chase through a plain radix tree of
 *     the same depth and the same memory footprint (one load per level,
 *     no descriptor decoding), hot or at random addresses.
 * Run time is a few seconds.  Not a test: it asserts nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pt.h"

#define RW (PT_PROT_READ | PT_PROT_WRITE)
#define K4 0x1000ULL
#define M2 0x200000ULL
#define G1 0x40000000ULL

/*
 * The machine may be shared: every figure is the minimum over many short
 * batches, which filters out preemption and frequency noise.
 */
#define REPS 300

static volatile uint64_t sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static struct pt_table *mk(enum pt_format fmt, unsigned int top)
{
	struct pt_cfg cfg = { .fmt = fmt, .top_level = top,
			      .granule_lg2 = fmt == PT_FMT_MOCK ? 11 : 12 };
	struct pt_table *t;

	if (pt_table_alloc(&cfg, &t)) {
		fprintf(stderr, "pt_table_alloc failed\n");
		exit(1);
	}
	return t;
}

static void die_if(int ret, const char *what)
{
	if (ret) {
		fprintf(stderr, "%s: %d\n", what, ret);
		exit(1);
	}
}

struct row {
	const char *name;
	double ns, base;
	const char *linux_ref;
};

static struct row rows[32];
static unsigned int nrows;

static void report(const char *name, double ns, double base, const char *ref)
{
	rows[nrows++] = (struct row){ name, ns, base, ref };
}

/* ---- map / unmap ------------------------------------------------------- */

static uint64_t *store_arr;

static double base_stores(unsigned int per_op, unsigned int ops)
{
	double best = 1e30;

	for (int rep = 0; rep < REPS; rep++) {
		double t0 = now_ns();

		for (unsigned int i = 0; i < ops; i++) {
			uint64_t *p = &store_arr[(i * per_op) & (512 * 1024 - 1)];

			for (unsigned int j = 0; j < per_op; j++)
				__atomic_store_n(&p[j], (i + j) | 1,
						 __ATOMIC_RELEASE);
			__asm__ volatile("" ::: "memory");
		}
		double dt = (now_ns() - t0) / ops;
		if (dt < best)
			best = dt;
	}
	return best;
}

/*
 * @ops calls each mapping @pages leaves of @leaf bytes, then @ops unmaps.
 * The tables are populated once beforehand so steady-state cost is seen.
 */
static void bench_map(const char *mname, const char *uname, unsigned int pages,
		      uint64_t leaf, unsigned int ops, const char *mref,
		      const char *uref)
{
	struct pt_table *t = mk(PT_FMT_VMSAV8_S1, 0);
	uint64_t len = pages * leaf, un;
	double bm = 1e30, bu = 1e30, base = base_stores(pages, ops);

	/* pre-populate tables */
	for (unsigned int i = 0; i < ops; i++)
		die_if(pt_map(t, i * len, i * len, len, RW, leaf | K4), "map");
	for (unsigned int i = 0; i < ops; i++)
		pt_unmap(t, i * len, len, 0, &un);
	for (int rep = 0; rep < REPS; rep++) {
		double t0 = now_ns();

		for (unsigned int i = 0; i < ops; i++)
			pt_map(t, i * len, i * len, len, RW, leaf | K4);
		double t1 = now_ns();

		for (unsigned int i = 0; i < ops; i++) {
			pt_unmap(t, i * len, len, 0, &un);
			sink += un;
		}
		double t2 = now_ns();

		if ((t1 - t0) / ops < bm)
			bm = (t1 - t0) / ops;
		if ((t2 - t1) / ops < bu)
			bu = (t2 - t1) / ops;
	}
	report(mname, bm, base, mref);
	report(uname, bu, base, uref);
	pt_table_free(t);
}

/* ---- walks ------------------------------------------------------------- */

/*
 * Baseline radix tree: @depth levels of 512-entry pointer tables covering
 * @span bytes of input with 4 KiB leaves at the bottom level, so the memory
 * footprint matches a real table.
 */
struct btree {
	uint64_t *root;
	unsigned int depth;
};

static uint64_t *bt_node(void)
{
	uint64_t *p = aligned_alloc(4096, 4096);

	memset(p, 0, 4096);
	return p;
}

static void bt_insert(struct btree *bt, uint64_t a)
{
	uint64_t *p = bt->root;

	for (int l = bt->depth - 1; l > 0; l--) {
		uint64_t *e = &p[(a >> (12 + 9 * l)) & 511];

		if (!*e)
			*e = (uintptr_t)bt_node();
		p = (uint64_t *)(uintptr_t)*e;
	}
	p[(a >> 12) & 511] = a | 1;
}

static inline uint64_t bt_walk(const struct btree *bt, uint64_t a)
{
	const uint64_t *p = bt->root;
	int l = bt->depth - 1;

	for (; l > 0; l--)
		p = (const uint64_t *)(uintptr_t)p[(a >> (12 + 9 * l)) & 511];
	return p[(a >> 12) & 511];
}

static void bt_free(uint64_t *p, int l)
{
	if (l > 0)
		for (int i = 0; i < 512; i++)
			if (p[i])
				bt_free((uint64_t *)(uintptr_t)p[i], l - 1);
	free(p);
}

#define NADDR 4096

/* ns per lookup of addrs[]; each lookup depends on the previous result */
static double time_walks(const struct pt_table *t, const struct btree *bt,
			 const uint64_t *addrs, unsigned int n, int full)
{
	double best = 1e30;

	for (int rep = 0; rep < REPS; rep++) {
		uint64_t dep = 0, pa;
		double t0 = now_ns();

		for (unsigned int r = 0; r < 1; r++) {
			for (unsigned int i = 0; i < n; i++) {
				uint64_t a = addrs[i] + (dep & 1);

				if (bt) {
					dep = bt_walk(bt, a);
				} else if (full) {
					struct pt_walk_result res;

					pt_walk(t, a, PT_ACCESS_READ, &res,
						NULL);
					dep = res.oa;
				} else {
					pt_iova_to_phys(t, a, &pa, NULL, NULL);
					dep = pa;
				}
			}
		}
		double dt = (now_ns() - t0) / n;

		sink += dep;
		if (dt < best)
			best = dt;
	}
	return best;
}

static void bench_walk_hot(void)
{
	static uint64_t addrs[NADDR];
	struct pt_table *t = mk(PT_FMT_VMSAV8_S1, 0);
	struct pt_table *x = mk(PT_FMT_X86_64, 3);
	struct btree bt = { bt_node(), 4 };
	double b;

	/* 16 pages in one leaf table: every level cache-hot */
	die_if(pt_map(t, 0x40000000, 0x80000000, 16 * K4, RW, 0), "map");
	die_if(pt_map(x, 0x40000000, 0x80000000, 16 * K4, RW, 0), "map");
	for (unsigned int i = 0; i < NADDR; i++) {
		addrs[i] = 0x40000000 + (i % 16) * K4 + 8 * (i % 7);
		bt_insert(&bt, addrs[i]);
	}
	b = time_walks(NULL, &bt, addrs, NADDR, 0);
	report("iova_to_phys hot, VMSAv8 S1 4K 4-level",
	       time_walks(t, NULL, addrs, NADDR, 0), b, "");
	report("pt_walk hot (perm check), VMSAv8 S1 4-level",
	       time_walks(t, NULL, addrs, NADDR, 1), b, "");
	report("iova_to_phys hot, x86-64 4-level",
	       time_walks(x, NULL, addrs, NADDR, 0), b, "");
	pt_table_free(t);
	pt_table_free(x);
	bt_free(bt.root, 3);
}

static void bench_walk_random(uint64_t leaf, const char *name)
{
	static uint64_t addrs[NADDR];
	struct pt_table *t = mk(PT_FMT_VMSAV8_S1, 0);
	struct btree bt = { bt_node(), leaf == K4 ? 4 : 3 };
	uint64_t span = 16 * G1;
	double b;

	die_if(pt_map(t, 0, 0x100000000ULL, span, RW, leaf | K4), "map 16G");
	/* the baseline tree gets the same footprint: fully populated */
	if (leaf == K4) {
		for (uint64_t a = 0; a < span; a += K4)
			bt_insert(&bt, a);
	} else {
		/* 3 levels of pointers to 2M "leaves" (shift by 9) */
		for (uint64_t a = 0; a < span; a += M2)
			bt_insert(&bt, a >> 9);
	}
	for (unsigned int i = 0; i < NADDR; i++)
		addrs[i] = (rnd() % span) & ~7ULL;
	if (leaf == K4) {
		b = time_walks(NULL, &bt, addrs, NADDR, 0);
	} else {
		static uint64_t sh[NADDR];

		for (unsigned int i = 0; i < NADDR; i++)
			sh[i] = addrs[i] >> 9;
		b = time_walks(NULL, &bt, sh, NADDR, 0);
	}
	report(name, time_walks(t, NULL, addrs, NADDR, 0), b, "");
	pt_table_free(t);
	bt_free(bt.root, bt.depth - 1);
}

/* Nested: guest S1 (4 levels) in memory mapped by S2 (4 levels). */
static void bench_nested(void)
{
	static uint64_t addrs[NADDR];
	size_t ram = 64 * K4;
	uint8_t *gram = aligned_alloc(4096, ram);
	uint64_t ipa = 0x80000000ULL;
	struct pt_table *s2 = mk(PT_FMT_VMSAV8_S2, 0), *s1;
	struct pt_cfg c1 = { .fmt = PT_FMT_VMSAV8_S1, .granule_lg2 = 12,
			     .guest_root_pa = ipa };
	struct btree bt = { bt_node(), 24 };
	uint64_t *pg[8];
	double b;

	memset(gram, 0, ram);
	for (int i = 0; i < 8; i++)
		pg[i] = (uint64_t *)(gram + i * K4);
	die_if(pt_map(s2, ipa, (uintptr_t)gram, ram, RW, 0), "map s2");
	die_if(pt_map(s2, 0x100000000ULL, 0x100000000ULL, G1, RW, 0), "s2 data");
	/* VA 0x40000000 + n*4K -> IPA 0x100000000 + n*4K */
	pg[0][0] = (ipa + 1 * K4) | 3;
	pg[1][1] = (ipa + 2 * K4) | 3;
	pg[2][0] = (ipa + 3 * K4) | 3;
	for (int i = 0; i < 16; i++)
		pg[3][i] = (0x100000000ULL + i * K4) | 0x443;
	die_if(pt_table_alloc(&c1, &s1), "s1");
	for (unsigned int i = 0; i < NADDR; i++)
		addrs[i] = 0x40000000 + (i % 16) * K4;
	{
		struct pt_walk_result r;
		double best = 1e30;

		die_if(pt_walk_nested(s1, s2, addrs[0], PT_ACCESS_READ, &r,
				      NULL), "nested");
		for (int rep = 0; rep < REPS; rep++) {
			uint64_t dep = 0;
			double t0 = now_ns();

			for (unsigned int k = 0; k < 1; k++)
				for (unsigned int i = 0; i < NADDR; i++) {
					pt_walk_nested(s1, s2,
						       addrs[i] + (dep & 1),
						       PT_ACCESS_READ, &r,
						       NULL);
					dep = r.oa;
				}
			double dt = (now_ns() - t0) / NADDR;

			sink += dep;
			if (dt < best)
				best = dt;
		}
		/* baseline: 4 S1 levels, each behind a 4-level S2 walk,
		 * plus the final S2 walk = 24 dependent loads, hot */
		{
			struct btree b4 = { bt_node(), 4 };
			double bb = 1e30;

			for (unsigned int i = 0; i < 16; i++)
				bt_insert(&b4, 0x40000000 + i * K4);
			for (int rep = 0; rep < REPS; rep++) {
				uint64_t dep = 0;
				double t0 = now_ns();

				for (unsigned int k = 0; k < 1; k++)
					for (unsigned int i = 0; i < NADDR; i++) {
						uint64_t a = addrs[i] + (dep & 1);

						for (int j = 0; j < 6; j++)
							a = bt_walk(&b4, (a & 0xffff) | 0x40000000) - 1 + (a & 1);
						dep = a;
					}
				double dt = (now_ns() - t0) / NADDR;

				sink += dep;
				if (dt < bb)
					bb = dt;
			}
			b = bb;
			bt_free(b4.root, 3);
		}
		report("nested S1 x S2 walk, 4x4 levels, hot", best, b, "");
	}
	free(bt.root);
	pt_table_free(s1);
	pt_table_free(s2);
	free(gram);
}

int main(void)
{
	double t0 = now_ns();

	store_arr = aligned_alloc(4096, 512 * 1024 * 8);
	memset(store_arr, 0, 512 * 1024 * 8);
	bench_map("map 1 x 4 KiB", "unmap 1 x 4 KiB", 1, K4, 512,
		  "53-57", "");
	bench_map("map 256 x 4 KiB (one call)", "unmap 256 x 4 KiB (one call)",
		  256, K4, 32, "380-405", "210-521");
	bench_map("map 256 x 2 MiB (one call)", "unmap 256 x 2 MiB (one call)",
		  256, M2, 8, "", "");
	bench_walk_hot();
	bench_walk_random(K4, "iova_to_phys random, 16 GiB of 4 KiB pages");
	bench_walk_random(M2, "iova_to_phys random, 16 GiB of 2 MiB blocks");
	bench_nested();

	printf("| operation | ns/op | baseline ns | ratio | Linux generic_pt ns |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (unsigned int i = 0; i < nrows; i++)
		printf("| %s | %.1f | %.1f | %.2f | %s |\n", rows[i].name,
		       rows[i].ns, rows[i].base, rows[i].ns / rows[i].base,
		       rows[i].linux_ref);
	printf("\ntotal run time %.1f s\n", (now_ns() - t0) / 1e9);
	free(store_arr);
	return 0;
}
