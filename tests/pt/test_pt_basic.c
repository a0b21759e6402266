// SPDX-License-Identifier: MIT
/*
 * test_pt_basic.c - map / iova_to_phys / unmap / dirty smoke test for every
 * format and granule
 */
#include <errno.h>
#include <string.h>

#include "pt.h"
#include "pt_test.h"

struct fmt_case {
	const char *name;
	enum pt_format fmt;
	unsigned int granule_lg2;
	unsigned int top_level;
	unsigned int flags;
};

static const struct fmt_case cases[] = {
	{ "mock", PT_FMT_MOCK, 11, 0, 0 },
	{ "mock-top3", PT_FMT_MOCK, 11, 3, 0 },
	{ "mock-top4", PT_FMT_MOCK, 11, 4, 0 },
	{ "x86-4lvl", PT_FMT_X86_64, 12, 3, 0 },
	{ "x86-5lvl", PT_FMT_X86_64, 12, 4, 0 },
	{ "s1-4k", PT_FMT_VMSAV8_S1, 12, 0, PT_CFG_DIRTY_TRACKING },
	{ "s1-16k", PT_FMT_VMSAV8_S1, 14, 0, PT_CFG_DIRTY_TRACKING },
	{ "s1-64k", PT_FMT_VMSAV8_S1, 16, 0, PT_CFG_DIRTY_TRACKING },
	{ "s2-4k", PT_FMT_VMSAV8_S2, 12, 0, PT_CFG_DIRTY_TRACKING },
	{ "s2-16k", PT_FMT_VMSAV8_S2, 14, 0, PT_CFG_DIRTY_TRACKING },
	{ "s2-64k", PT_FMT_VMSAV8_S2, 16, 0, PT_CFG_DIRTY_TRACKING },
};

struct rec { uint64_t iova, len; unsigned int n; };

static void record(void *priv, uint64_t iova, uint64_t len)
{
	struct rec *r = priv;

	if (!r->n)
		r->iova = iova;
	r->len += len;
	r->n++;
}

static void one(const struct fmt_case *c)
{
	struct pt_cfg cfg = { .fmt = c->fmt, .granule_lg2 = c->granule_lg2,
			      .top_level = c->top_level, .flags = c->flags };
	struct pt_table *t;
	uint64_t g = 1ULL << c->granule_lg2, pa, bitmap, big, un;
	unsigned int prot, lg2;
	struct rec r;
	int ret;

	ret = pt_table_alloc(&cfg, &t);
	CHECK_EQ(ret, 0);
	if (ret) {
		fprintf(stderr, "%s: alloc %d\n", c->name, ret);
		return;
	}
	bitmap = pt_pgsize_bitmap(t);
	CHECK(bitmap & g);
	/* second smallest page size */
	big = bitmap & ~g;
	big &= -big;

	CHECK_EQ(pt_map(t, 0x100 * g, 0x7700 * g, g,
			PT_PROT_READ | PT_PROT_WRITE, 0), 0);
	CHECK_EQ(pt_iova_to_phys(t, 0x100 * g + 8, &pa, &prot, &lg2), 0);
	CHECK_EQ(pa, 0x7700 * g + 8);
	CHECK(prot & PT_PROT_WRITE);
	CHECK_EQ(lg2, c->granule_lg2);
	CHECK_EQ(pt_iova_to_phys(t, 0x101 * g, &pa, NULL, NULL), -ENOENT);
	CHECK_EQ(pt_map(t, 0x100 * g, 0x7700 * g, g, PT_PROT_READ, 0),
		 -EADDRINUSE);

	/* one big leaf */
	CHECK_EQ(pt_map(t, 4 * big, 8 * big, big, PT_PROT_READ, 0), 0);
	CHECK_EQ(pt_iova_to_phys(t, 4 * big + g, &pa, &prot, &lg2), 0);
	CHECK_EQ(pa, 8 * big + g);
	CHECK_EQ(lg2, __builtin_ctzll(big));
	CHECK(!(prot & PT_PROT_WRITE));

	/* dirty on a writable page */
	CHECK_EQ(pt_set_dirty(t, 0x100 * g), 0);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(pt_read_and_clear_dirty(t, 0, 8 * big, PT_DIRTY_NO_CLEAR,
					 record, &r), 0);
	CHECK_EQ(r.n, 1);
	CHECK_EQ(r.iova, 0x100 * g);
	CHECK_EQ(r.len, g);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(pt_read_and_clear_dirty(t, 0, 8 * big, 0, record, &r), 0);
	CHECK_EQ(r.n, 1);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(pt_read_and_clear_dirty(t, 0, 8 * big, 0, record, &r), 0);
	CHECK_EQ(r.n, 0);

	/* unmap the first granule of the big leaf without split: all of it */
	CHECK_EQ(pt_unmap(t, 4 * big, g, 0, &un), 0);
	CHECK_EQ(un, big);
	CHECK_EQ(pt_iova_to_phys(t, 4 * big + g, &pa, NULL, NULL), -ENOENT);
	CHECK_EQ(pt_unmap(t, 0x100 * g, g, 0, &un), 0);
	CHECK_EQ(un, g);
	CHECK_EQ(pt_iova_to_phys(t, 0x100 * g, &pa, NULL, NULL), -ENOENT);
	pt_table_free(t);
}

int main(void)
{
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		one(&cases[i]);
	return pt_test_done();
}
