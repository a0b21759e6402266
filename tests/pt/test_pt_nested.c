// SPDX-License-Identifier: MIT
/*
 * test_pt_nested.c - differential test of the nested stage-1 x stage-2 walk
 *
 * A host-owned stage-1 table is built with pt_map(); every table page it
 * allocates is identity-mapped (IPA == PA) in a stage-2 table by the
 * allocation hook, so the same stage-1 table can also be walked as a guest
 * table whose descriptor addresses are IPAs.  The nested walk is then
 * compared with its definition, composed from single-stage walks:
 * each stage-1 descriptor address on the path must translate through
 * stage 2 (else a stage-2 fault on the stage-1 walk at that IPA), then the
 * stage-1 result (or fault), then stage 2 of the output IPA.  Random
 * stage-1 and stage-2 updates, including hiding stage-1 table pages from
 * stage 2, run between walks.
 */
#include <errno.h>
#include <string.h>

#include "pt.h"
#include "pt_test.h"

#define RW (PT_PROT_READ | PT_PROT_WRITE)
#define IPA_BASE 0x10000000000ULL	/* data IPAs: 1 TiB + [0, 64 MiB) */
#define IPA_SPAN 0x4000000ULL
#define VA_SPAN 0x4000000ULL

struct env {
	struct pt_table *s1h, *s1g, *s2;
	enum pt_format fmt;
	uint64_t pages[4096];
	size_t sizes[4096];
	unsigned int npages;
	uint64_t rng;
};

static unsigned long n_ok, n_s1, n_s2_walk, n_s2_in;

static uint64_t rnd(struct env *e)
{
	e->rng ^= e->rng << 13;
	e->rng ^= e->rng >> 7;
	e->rng ^= e->rng << 17;
	return e->rng;
}

/* Table pages are rounded up to whole stage-2 pages and identity-mapped. */
static size_t s2_round(const struct env *e, size_t size)
{
	size_t g = (size_t)(pt_pgsize_bitmap(e->s2) & -pt_pgsize_bitmap(e->s2));

	return size < g ? g : size;
}

static void *s1_alloc(void *priv, size_t size, size_t align)
{
	struct env *e = priv;
	size_t sz = s2_round(e, size);
	void *p = aligned_alloc(sz > align ? sz : align, sz);

	if (!p || e->npages == 4096)
		return p;
	if (pt_map(e->s2, (uintptr_t)p, (uintptr_t)p, sz, RW, 0)) {
		free(p);
		return NULL;
	}
	e->pages[e->npages] = (uintptr_t)p;
	e->sizes[e->npages++] = sz;
	return p;
}

static void s1_free(void *priv, void *p, size_t size)
{
	struct env *e = priv;
	uint64_t un;

	for (unsigned int i = 0; i < e->npages; i++) {
		if (e->pages[i] == (uintptr_t)p) {
			pt_unmap(e->s2, (uintptr_t)p, e->sizes[i], 0, &un);
			e->pages[i] = e->pages[--e->npages];
			e->sizes[i] = e->sizes[e->npages];
			break;
		}
	}
	free(p);
}

/* Library level of an architecture level reported in a fault. */
static unsigned int lib_level(const struct env *e, unsigned int arch)
{
	return e->fmt == PT_FMT_X86_64 ? arch - 1 : 3 - arch;
}

static uint64_t table_addr(const struct env *e, uint64_t d)
{
	return d & (e->fmt == PT_FMT_X86_64 ? 0x000FFFFFFFFFF000ULL :
					      0x0000FFFFFFFFF000ULL);
}

static unsigned int prot_combine(unsigned int a, unsigned int b)
{
	return (a & b & (RW | PT_PROT_CACHE)) |
	       ((a | b) & (PT_PROT_NOEXEC | PT_PROT_MMIO)) |
	       (a & PT_PROT_PRIV);
}

static void check_walk(struct env *e, uint64_t va, unsigned int acc)
{
	struct pt_walk_result r1, r2, rn;
	struct pt_fault f1, f2, fn;
	unsigned int top = pt_top_level(e->s1h), last;
	uint64_t tpa = pt_root_pa(e->s1h);
	int ret1, ret;

	memset(&fn, 0, sizeof(fn));
	ret = pt_walk_nested(e->s1g, e->s2, va, acc, &rn, &fn);
	ret1 = pt_walk(e->s1h, va, acc, &r1, &f1);
	last = ret1 ? lib_level(e, f1.level) : r1.level;
	if (ret1 && f1.kind == PT_FAULT_TRANSLATION && va >> pt_ias_lg2(e->s1h))
		last = top + 1;	/* nothing fetched */
	/* descriptor fetches, top down */
	for (unsigned int lvl = top; last <= top; lvl--) {
		unsigned int gr = e->fmt == PT_FMT_X86_64 ? 12 :
				  (unsigned int)__builtin_ctzll(
					  pt_pgsize_bitmap(e->s1h));
		unsigned int bits = gr - 3, shift = gr + bits * lvl;
		uint64_t d, daddr, idx;

		CHECK_EQ(pt_read_entry(e->s1h, va, lvl, &d), 0);
		idx = (va >> shift) &
		      (lvl == top ? (1ULL << (pt_ias_lg2(e->s1h) - shift)) - 1 :
				    (1ULL << bits) - 1);
		daddr = tpa + idx * 8;
		if (pt_walk(e->s2, daddr, PT_ACCESS_READ, &r2, &f2)) {
			CHECK_EQ(ret, -EFAULT);
			CHECK_EQ(fn.stage, 2);
			CHECK(fn.s2_on_s1_walk);
			CHECK_EQ(fn.ipa, daddr);
			CHECK_EQ(fn.kind, f2.kind);
			CHECK_EQ(fn.level, f2.level);
			CHECK_EQ(fn.input, va);
			n_s2_walk++;
			return;
		}
		if (lvl == last)
			break;
		tpa = table_addr(e, d);
	}
	if (ret1) {
		CHECK_EQ(ret, -EFAULT);
		CHECK_EQ(fn.stage, 1);
		CHECK_EQ(fn.kind, f1.kind);
		CHECK_EQ(fn.level, f1.level);
		CHECK_EQ(fn.input, va);
		n_s1++;
		return;
	}
	if (pt_walk(e->s2, r1.oa, acc, &r2, &f2)) {
		CHECK_EQ(ret, -EFAULT);
		CHECK_EQ(fn.stage, 2);
		CHECK(!fn.s2_on_s1_walk);
		CHECK_EQ(fn.ipa, r1.oa);
		CHECK_EQ(fn.kind, f2.kind);
		CHECK_EQ(fn.level, f2.level);
		n_s2_in++;
		return;
	}
	CHECK_EQ(ret, 0);
	n_ok++;
	CHECK_EQ(rn.oa, r2.oa);
	CHECK_EQ(rn.prot, prot_combine(r1.prot, r2.prot));
	CHECK_EQ(rn.leaf_lg2, r1.leaf_lg2 < r2.leaf_lg2 ? r1.leaf_lg2 :
							  r2.leaf_lg2);
}

static void run(enum pt_format fmt, unsigned int g1, unsigned int g2,
		uint64_t seed)
{
	struct env *e = calloc(1, sizeof(*e));
	struct pt_cfg c2 = { .fmt = PT_FMT_VMSAV8_S2, .granule_lg2 = g2 };
	struct pt_cfg c1 = { .fmt = fmt, .granule_lg2 = g1,
			     .top_level = fmt == PT_FMT_X86_64 ? 3 : 0,
			     .alloc_table = s1_alloc, .free_table = s1_free };
	struct pt_cfg cg;
	uint64_t gr1 = 1ULL << g1, gr2 = 1ULL << g2, un;
	unsigned long walks = 0, s2walk_faults = 0;

	e->fmt = fmt;
	e->rng = seed;
	c1.alloc_priv = e;
	CHECK_EQ(pt_table_alloc(&c2, &e->s2), 0);
	CHECK_EQ(pt_table_alloc(&c1, &e->s1h), 0);
	cg = c1;
	cg.alloc_table = NULL;
	cg.free_table = NULL;
	cg.guest_root_pa = pt_root_pa(e->s1h);
	CHECK_EQ(pt_table_alloc(&cg, &e->s1g), 0);

	for (int op = 0; op < 20000; op++) {
		uint64_t x = rnd(e);

		switch (x % 8) {
		case 0: {	/* stage-1 map */
			uint64_t len = gr1 * (1 + (x >> 8) % 64);
			uint64_t va = ((x >> 16) % VA_SPAN) & ~(gr1 - 1);
			uint64_t ipa = IPA_BASE + (((x >> 30) % IPA_SPAN) & ~(gr1 - 1));

			if ((x >> 60) & 1)
				len = 0x200000, va &= ~0x1fffffULL,
				ipa &= ~0x1fffffULL;
			if (va + len <= VA_SPAN && ipa + len <= IPA_BASE + IPA_SPAN)
				pt_map(e->s1h, va, ipa, len,
				       (x >> 62) & 1 ? RW : PT_PROT_READ, 0);
			break;
		}
		case 1: {	/* stage-1 unmap */
			uint64_t va = ((x >> 16) % VA_SPAN) & ~(gr1 - 1);

			pt_unmap(e->s1h, va, gr1 * (1 + (x >> 8) % 512),
				 PT_UNMAP_ALLOW_SPLIT, &un);
			break;
		}
		case 2: {	/* stage-2 data map */
			uint64_t ipa = IPA_BASE + (((x >> 16) % IPA_SPAN) & ~(0x1fffffULL));

			pt_map(e->s2, ipa, 0x200000000ULL + (ipa - IPA_BASE),
			       0x200000, (x >> 62) & 1 ? RW : PT_PROT_READ, 0);
			break;
		}
		case 3: {	/* stage-2 data unmap */
			uint64_t ipa = IPA_BASE + (((x >> 16) % IPA_SPAN) & ~(gr2 - 1));

			pt_unmap(e->s2, ipa, gr2 * (1 + (x >> 8) % 64),
				 PT_UNMAP_ALLOW_SPLIT, &un);
			break;
		}
		case 4:		/* hide or show a stage-1 table page */
			if (e->npages) {
				unsigned int i = (x >> 8) % e->npages;

				if ((x >> 40) & 15) {
					pt_map(e->s2, e->pages[i], e->pages[i],
					       e->sizes[i], RW, 0);
				} else {
					pt_unmap(e->s2, e->pages[i],
						 e->sizes[i], 0, &un);
					s2walk_faults++;
				}
			}
			break;
		default: {
			uint64_t va = (x >> 8) % (VA_SPAN + gr1);

			if (!((x >> 50) & 15))
				va = 1ULL << pt_ias_lg2(e->s1h);	/* out of range */
			check_walk(e, va & ~7ULL, (x >> 62) & 1 ?
				   PT_ACCESS_WRITE : PT_ACCESS_READ);
			walks++;
			break;
		}
		}
	}
	printf("nested fmt %d g1 %u g2 %u: %lu walks (%lu ok, %lu S1 faults, "
	       "%lu S2 faults on S1 walk, %lu on output), %lu pages hidden\n",
	       fmt, g1, g2, walks, n_ok, n_s1, n_s2_walk, n_s2_in,
	       s2walk_faults);
	n_ok = n_s1 = n_s2_walk = n_s2_in = 0;
	pt_table_free(e->s1g);
	pt_table_free(e->s1h);
	pt_table_free(e->s2);
	free(e);
}

int main(void)
{
	run(PT_FMT_VMSAV8_S1, 12, 12, 1);
	run(PT_FMT_VMSAV8_S1, 16, 12, 2);
	run(PT_FMT_VMSAV8_S1, 14, 16, 3);
	run(PT_FMT_X86_64, 12, 12, 4);
	run(PT_FMT_X86_64, 12, 14, 5);
	return pt_test_done();
}
