// SPDX-License-Identifier: MIT
/*
 * test_pt_boundary.c - edge cases of the pt.h contract
 *
 * Argument checks (-EINVAL / -ERANGE), the top of the input range, page
 * size selection, block splitting (one and two levels, dirty state kept),
 * unmap without split permission, allocation failure through the hook at
 * every allocation of an operation (the translations must be unchanged),
 * and the nested stage-1 x stage-2 walk with faults from both stages.
 */
#include <errno.h>
#include <string.h>

#include "pt.h"
#include "pt_test.h"

#define RW (PT_PROT_READ | PT_PROT_WRITE)
#define K4 0x1000ULL
#define M2 0x200000ULL
#define G1 0x40000000ULL

struct hook {
	int fail_at;		/* fail this allocation (0 = next), -1 never */
	long live;
};

static void *h_alloc(void *priv, size_t size, size_t align)
{
	struct hook *h = priv;

	if (h->fail_at >= 0 && h->fail_at-- == 0)
		return NULL;
	h->live++;
	return aligned_alloc(align, size);
}

static void h_free(void *priv, void *p, size_t size)
{
	struct hook *h = priv;

	h->live--;
	free(p);
}

static struct pt_table *mk(enum pt_format fmt, unsigned int g,
			   unsigned int top, struct hook *h)
{
	struct pt_cfg cfg = { .fmt = fmt, .granule_lg2 = g, .top_level = top,
			      .flags = PT_CFG_DIRTY_TRACKING };
	struct pt_table *t = NULL;

	if (h) {
		h->fail_at = -1;
		h->live = 0;
		cfg.alloc_table = h_alloc;
		cfg.free_table = h_free;
		cfg.alloc_priv = h;
	}
	CHECK_EQ(pt_table_alloc(&cfg, &t), 0);
	return t;
}

static uint64_t lookup(struct pt_table *t, uint64_t iova, unsigned int *lg2)
{
	uint64_t pa = ~0ULL;

	if (pt_iova_to_phys(t, iova, &pa, NULL, lg2))
		return ~0ULL;
	return pa;
}

static void args(void)
{
	struct pt_table *t = mk(PT_FMT_VMSAV8_S1, 12, 0, NULL);
	struct pt_cfg bad = { .fmt = PT_FMT_VMSAV8_S1, .granule_lg2 = 13 };
	uint64_t top = 1ULL << 48, un = 1;
	unsigned int lg2;

	CHECK_EQ(pt_map(t, 0x800, 0, K4, RW, 0), -EINVAL);
	CHECK_EQ(pt_map(t, 0, 0x800, K4, RW, 0), -EINVAL);
	CHECK_EQ(pt_map(t, 0, 0, 0x800, RW, 0), -EINVAL);
	CHECK_EQ(pt_map(t, 0, 0, 0, RW, 0), -EINVAL);
	CHECK_EQ(pt_map(t, 0, 0, K4, 0, 0), -EINVAL);
	CHECK_EQ(pt_map(t, 0, 0, K4, RW, M2), -EINVAL);	/* no granule */
	CHECK_EQ(pt_map(t, top - K4, 0, 2 * K4, RW, 0), -ERANGE);
	CHECK_EQ(pt_map(t, top, 0, K4, RW, 0), -ERANGE);
	CHECK_EQ(pt_map(t, 0, 1ULL << 48, K4, RW, 0), -ERANGE);
	CHECK_EQ(pt_map(t, 0, ~0ULL << 12, 2 * K4, RW, 0), -ERANGE);
	CHECK_EQ(pt_unmap(t, 0x800, K4, 0, &un), -EINVAL);
	CHECK_EQ(un, 0);
	CHECK_EQ(pt_unmap(t, top - K4, 2 * K4, 0, &un), -ERANGE);
	CHECK_EQ(pt_unmap(t, 0, K4, 0x100, &un), -EINVAL);
	/* the very last page and block of the input range */
	CHECK_EQ(pt_map(t, top - K4, 0x5000, K4, RW, 0), 0);
	CHECK_EQ(lookup(t, top - 1, &lg2), 0x5fffULL);
	CHECK_EQ(pt_map(t, top - G1, G1, G1 - K4, RW, 0), 0);
	CHECK_EQ(lookup(t, top - G1 + M2, &lg2), G1 + M2);
	CHECK_EQ(lg2, 21);
	CHECK_EQ(lookup(t, top, NULL), ~0ULL);
	CHECK_EQ(pt_unmap(t, top - G1, G1, 0, &un), 0);
	CHECK_EQ(un, G1);
	CHECK_EQ(pt_table_alloc(&bad, &t), -EINVAL);
	pt_table_free(t);
}

static void pgsize(void)
{
	struct pt_table *t = mk(PT_FMT_X86_64, 12, 3, NULL);
	unsigned int lg2;

	/* 1G + 2M + 4K at a 1G-aligned IOVA and PA: one leaf of each */
	CHECK_EQ(pt_map(t, G1, 2 * G1, G1 + M2 + K4, RW, 0), 0);
	CHECK_EQ(lookup(t, G1 + 5, &lg2), 2 * G1 + 5);
	CHECK_EQ(lg2, 30);
	CHECK_EQ(lookup(t, 2 * G1, &lg2), 3 * G1);
	CHECK_EQ(lg2, 21);
	CHECK_EQ(lookup(t, 2 * G1 + M2, &lg2), 3 * G1 + M2);
	CHECK_EQ(lg2, 12);
	/* PA only 4K aligned: 4K leaves only */
	CHECK_EQ(pt_map(t, 4 * G1, K4, M2, RW, 0), 0);
	CHECK_EQ(lookup(t, 4 * G1 + M2 - 1, &lg2), K4 + M2 - 1);
	CHECK_EQ(lg2, 12);
	/* caller restricts to 4K and 2M */
	CHECK_EQ(pt_map(t, 8 * G1, 8 * G1, G1, RW, K4 | M2), 0);
	CHECK_EQ(lookup(t, 8 * G1, &lg2), 8 * G1);
	CHECK_EQ(lg2, 21);
	CHECK_EQ(pt_map(t, 8 * G1 + G1 - K4, 0, K4, RW, 0), -EADDRINUSE);
	pt_table_free(t);
}

static unsigned int nrec;
static uint64_t rec_bytes;

static void rec(void *priv, uint64_t iova, uint64_t len)
{
	nrec++;
	rec_bytes += len;
}

static void split(void)
{
	struct hook h;
	struct pt_table *t = mk(PT_FMT_VMSAV8_S1, 12, 0, &h);
	uint64_t un;
	unsigned int lg2;

	CHECK_EQ(pt_map(t, G1, 4 * G1, G1, RW, 0), 0);
	CHECK_EQ(pt_set_dirty(t, G1 + 0x1234), 0);
	/* start inside the block without permission: nothing happens */
	CHECK_EQ(pt_unmap(t, G1 + 0x3000, K4, 0, &un), -EINVAL);
	CHECK_EQ(un, 0);
	CHECK_EQ(lookup(t, G1 + 0x3000, &lg2), 4 * G1 + 0x3000);
	CHECK_EQ(lg2, 30);
	/* a two-level split needs two tables; fail each in turn */
	for (int i = 0; i < 2; i++) {
		long live = h.live;

		h.fail_at = i;
		CHECK_EQ(pt_unmap(t, G1 + 0x3000, K4, PT_UNMAP_ALLOW_SPLIT,
				  &un), -ENOMEM);
		h.fail_at = -1;
		CHECK_EQ(un, 0);
		CHECK_EQ(h.live, live);
		CHECK_EQ(lookup(t, G1 + 0x3000, &lg2), 4 * G1 + 0x3000);
		CHECK_EQ(lg2, 30);
	}
	CHECK_EQ(pt_unmap(t, G1 + 0x3000, K4, PT_UNMAP_ALLOW_SPLIT, &un), 0);
	CHECK_EQ(un, K4);
	CHECK_EQ(lookup(t, G1 + 0x3000, NULL), ~0ULL);
	CHECK_EQ(lookup(t, G1 + 0x2000, &lg2), 4 * G1 + 0x2000);
	CHECK_EQ(lg2, 12);
	CHECK_EQ(lookup(t, G1 + 0x4000, &lg2), 4 * G1 + 0x4000);
	CHECK_EQ(lg2, 12);
	CHECK_EQ(lookup(t, G1 + M2, &lg2), 4 * G1 + M2);
	CHECK_EQ(lg2, 21);
	/* the whole former block is still dirty, minus the hole */
	nrec = 0;
	rec_bytes = 0;
	CHECK_EQ(pt_read_and_clear_dirty(t, G1, G1, 0, rec, NULL), 0);
	CHECK_EQ(rec_bytes, G1 - K4);
	CHECK_EQ(nrec, 511 + 511);
	/* without split: the first 4K of a 2M block takes the whole block */
	CHECK_EQ(pt_unmap(t, G1 + 4 * M2, K4, 0, &un), 0);
	CHECK_EQ(un, M2);
	/* an unmap ending inside a block, with split: exact */
	CHECK_EQ(pt_unmap(t, G1 + 6 * M2 - K4, 2 * K4, PT_UNMAP_ALLOW_SPLIT,
			  &un), 0);
	CHECK_EQ(un, 2 * K4);
	CHECK_EQ(lookup(t, G1 + 6 * M2 + K4, &lg2), 4 * G1 + 6 * M2 + K4);
	/* holes are skipped, fully covered tables freed */
	CHECK_EQ(pt_unmap(t, 0, 4 * G1, 0, &un), 0);
	CHECK_EQ(un, G1 - K4 - M2 - 2 * K4);
	CHECK_EQ(h.live, 2);	/* root + the level-1 table */
	pt_table_free(t);
	CHECK_EQ(h.live, 0);

	/* dirty reporting of a 2M leaf is the whole leaf within the range */
	t = mk(PT_FMT_MOCK, 11, 0, &h);
	CHECK_EQ(pt_map(t, 0x100000, 0x100000, 0x100000, RW, 0), 0);
	CHECK_EQ(pt_set_dirty(t, 0x180000), 0);
	nrec = 0;
	rec_bytes = 0;
	CHECK_EQ(pt_read_and_clear_dirty(t, 0, 0x400000, PT_DIRTY_NO_CLEAR,
					 rec, NULL), 0);
	CHECK_EQ(nrec, 1);
	CHECK_EQ(rec_bytes, 0x100000);
	pt_table_free(t);
}

static void alloc_fail(void)
{
	static const enum pt_format fmts[] = {
		PT_FMT_MOCK, PT_FMT_X86_64, PT_FMT_VMSAV8_S1, PT_FMT_VMSAV8_S2,
	};
	struct pt_cfg cfg = { .fmt = PT_FMT_MOCK };
	struct hook h = { .fail_at = 0 };

	cfg.alloc_table = h_alloc;
	cfg.free_table = h_free;
	cfg.alloc_priv = &h;
	{
		struct pt_table *t = NULL;

		CHECK_EQ(pt_table_alloc(&cfg, &t), -ENOMEM);
		CHECK(t == NULL);
	}
	for (unsigned int f = 0; f < 4; f++) {
		unsigned int g = fmts[f] == PT_FMT_MOCK ? 11 : 12;
		uint64_t gr = 1ULL << g;
		/* a range crossing two leaf tables and two level-1 tables */
		uint64_t iova = (1ULL << (g + 18)) - 3 * gr;
		uint64_t len = 6 * gr;

		for (int i = 0; i < 8; i++) {
			struct pt_table *t = mk(fmts[f], g, 0, &h);
			uint64_t un;
			int ret;

			/* a neighbour that must survive */
			CHECK_EQ(pt_map(t, iova - gr, 0x100000, gr, RW, 0), 0);
			h.fail_at = i;
			ret = pt_map(t, iova, 0x200000, len, RW, 0);
			h.fail_at = -1;
			if (ret) {
				CHECK_EQ(ret, -ENOMEM);
				for (uint64_t o = 0; o < len; o += gr)
					CHECK_EQ(lookup(t, iova + o, NULL),
						 ~0ULL);
			} else {
				CHECK_EQ(lookup(t, iova + len - 1, NULL),
					 0x200000 + len - 1);
				CHECK_EQ(pt_unmap(t, iova, len, 0, &un), 0);
				CHECK_EQ(un, len);
			}
			CHECK_EQ(lookup(t, iova - gr, NULL), 0x100000ULL);
			pt_table_free(t);
			CHECK_EQ(h.live, 0);
		}
	}
}

/* ---- nested ------------------------------------------------------------ */

static _Alignas(4096) uint8_t guest_ram[64 * 4096];
#define IPA_BASE 0x80000000ULL

static uint64_t *gpage(unsigned int n)
{
	return (uint64_t *)&guest_ram[n * 4096];
}

static void nested(void)
{
	struct pt_table *s2 = mk(PT_FMT_VMSAV8_S2, 12, 0, NULL);
	struct pt_cfg c1 = { .fmt = PT_FMT_VMSAV8_S1, .granule_lg2 = 12,
			     .guest_root_pa = IPA_BASE };
	struct pt_table *s1 = NULL;
	struct pt_walk_result r;
	struct pt_fault f;
	uint64_t va = (1ULL << 39) | (2ULL << 30) | (3ULL << 21) | (4 << 12);
	uint64_t un;

	memset(guest_ram, 0, sizeof(guest_ram));
	/* IPA_BASE + n * 4K -> guest_ram page n, RW */
	CHECK_EQ(pt_map(s2, IPA_BASE, (uintptr_t)guest_ram, sizeof(guest_ram),
			RW, 0), 0);
	/* guest S1: pages 0..3 are the L0..L3 tables, page 10 the data */
	gpage(0)[1] = (IPA_BASE + 1 * 4096) | 3;
	gpage(1)[2] = (IPA_BASE + 2 * 4096) | 3;
	gpage(2)[3] = (IPA_BASE + 3 * 4096) | 3;
	gpage(3)[4] = (IPA_BASE + 10 * 4096) | 0x443;	/* page, AP[1], AF */
	gpage(3)[5] = (IPA_BASE + 100 * 4096) | 0x443;	/* IPA unmapped */
	CHECK_EQ(pt_table_alloc(&c1, &s1), 0);

	CHECK_EQ(pt_walk_nested(s1, s2, va + 0x18, PT_ACCESS_WRITE, &r, &f), 0);
	CHECK_EQ(r.oa, (uintptr_t)gpage(10) + 0x18);
	CHECK_EQ(r.prot & RW, RW);
	CHECK_EQ(r.leaf_lg2, 12);
	/* final IPA not mapped by S2: stage-2 fault on the input, level 3 */
	CHECK_EQ(pt_walk_nested(s1, s2, va + K4, PT_ACCESS_READ, &r, &f),
		 -EFAULT);
	CHECK_EQ(f.stage, 2);
	CHECK_EQ(f.kind, PT_FAULT_TRANSLATION);
	CHECK(!f.s2_on_s1_walk);
	CHECK_EQ(f.ipa, IPA_BASE + 100 * 4096);
	CHECK_EQ(f.input, va + K4);
	/* stage-1 fault: nothing at L3 index 6 */
	CHECK_EQ(pt_walk_nested(s1, s2, va + 2 * K4, PT_ACCESS_READ, &r, &f),
		 -EFAULT);
	CHECK_EQ(f.stage, 1);
	CHECK_EQ(f.level, 3);
	/* S2 read-only data page: write faults in stage 2 */
	CHECK_EQ(pt_unmap(s2, IPA_BASE + 10 * 4096, K4, 0, &un), 0);
	CHECK_EQ(pt_map(s2, IPA_BASE + 10 * 4096, (uintptr_t)gpage(10), K4,
			PT_PROT_READ, 0), 0);
	CHECK_EQ(pt_walk_nested(s1, s2, va, PT_ACCESS_WRITE, &r, &f), -EFAULT);
	CHECK_EQ(f.stage, 2);
	CHECK_EQ(f.kind, PT_FAULT_PERMISSION);
	CHECK_EQ(pt_walk_nested(s1, s2, va, PT_ACCESS_READ, &r, &f), 0);
	CHECK_EQ(r.prot & RW, PT_PROT_READ);
	/* the L2 table page unmapped in S2: fault while walking stage 1 */
	CHECK_EQ(pt_unmap(s2, IPA_BASE + 2 * 4096, K4, 0, &un), 0);
	CHECK_EQ(pt_walk_nested(s1, s2, va, PT_ACCESS_READ, &r, &f), -EFAULT);
	CHECK_EQ(f.stage, 2);
	CHECK(f.s2_on_s1_walk);
	CHECK_EQ(f.ipa, IPA_BASE + 2 * 4096 + 3 * 8);
	CHECK_EQ(f.kind, PT_FAULT_TRANSLATION);
	CHECK_EQ(f.level, 3);
	CHECK_EQ(f.input, va);
	/* nested needs a guest S1 and an S2 */
	CHECK_EQ(pt_walk_nested(s2, s2, va, PT_ACCESS_READ, &r, &f), -EINVAL);
	pt_table_free(s1);
	pt_table_free(s2);
}

int main(void)
{
	args();
	pgsize();
	split();
	alloc_fail();
	nested();
	return pt_test_done();
}
