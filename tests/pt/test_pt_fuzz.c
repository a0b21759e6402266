// SPDX-License-Identifier: MIT
/*
 * test_pt_fuzz.c - differential fuzz of every format against a page model
 *
 * The reference model is a flat array with one record per granule of a
 * window of the input space (at address 0 or at the very top of the input
 * range): mapped, output address, permissions, dirty, and the size of the
 * leaf the library reported for it.  Leaf sizes are the only thing taken
 * from the library; each reported leaf is checked to be a supported size,
 * aligned in input and output, inside the map call that created it and
 * mapped contiguously, and from then on the model predicts unmap (whole
 * leaf without split, -EINVAL when the range starts inside a leaf) and
 * dirty reporting (per leaf) by itself.
 *
 * Random map / unmap (with and without split) / walk / set_dirty /
 * read-and-clear dirty sequences, with random allocation failures, are
 * compared result by result.  Seeded (PT_FUZZ_SEED overrides), bounded by
 * operation count and wall time.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "pt.h"
#include "pt_test.h"

struct page {
	uint64_t pa;
	uint8_t mapped;
	uint8_t prot;
	uint8_t dirty;
	uint8_t leaf_lg2;
};

struct fz {
	const char *name;
	enum pt_format fmt;
	unsigned int g;			/* granule_lg2 */
	unsigned int top_level;
	struct pt_table *t;
	uint64_t base, win;		/* window in input space */
	uint64_t hot;			/* most operations hit [base, base+hot) */
	uint64_t npages;
	struct page *pg;
	uint64_t bitmap;
	uint64_t rng;
	int fail_in;			/* fail the n-th allocation, -1 never */
	unsigned long allocs;
	uint8_t *seen;
};

static bool trace;
static unsigned long n_deep_split, n_big_leaf;

static uint64_t rnd(struct fz *f)
{
	/* xorshift64* */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545F4914F6CDD1DULL;
}

static uint64_t rnd_n(struct fz *f, uint64_t n)
{
	return n ? rnd(f) % n : 0;
}

static void *fz_alloc(void *priv, size_t size, size_t align)
{
	struct fz *f = priv;

	if (f->fail_in >= 0 && f->fail_in-- == 0)
		return NULL;
	f->allocs++;
	return aligned_alloc(align, size);
}

static void fz_free(void *priv, void *p, size_t size)
{
	struct fz *f = priv;

	f->allocs--;
	free(p);
}

/* What the format reports back for a mapping made with @prot. */
static unsigned int norm_prot(const struct fz *f, unsigned int prot)
{
	switch (f->fmt) {
	case PT_FMT_X86_64:
	case PT_FMT_VMSAV8_S1:
		return PT_PROT_READ | (prot & PT_PROT_WRITE);
	default:
		return prot & (PT_PROT_READ | PT_PROT_WRITE);
	}
}

static bool dirty_needs_write(const struct fz *f)
{
	return f->fmt != PT_FMT_MOCK;
}

static struct page *pg(struct fz *f, uint64_t iova)
{
	return &f->pg[(iova - f->base) >> f->g];
}

static bool in_win(struct fz *f, uint64_t iova)
{
	return iova >= f->base && iova - f->base < f->win;
}

/* Compare one granule with the library; refresh the leaf size if asked. */
static void check_page(struct fz *f, uint64_t iova, bool learn,
		       uint64_t lo, uint64_t hi)
{
	struct page *p = pg(f, iova);
	uint64_t pa, off = rnd_n(f, 1ULL << f->g) & ~7ULL;
	unsigned int prot, lg2;
	int ret = pt_iova_to_phys(f->t, iova + off, &pa, &prot, &lg2);

	if (!p->mapped) {
		CHECK_EQ(ret, -ENOENT);
		return;
	}
	CHECK_EQ(ret, 0);
	if (ret) {
		if (trace)
			fprintf(stderr, "  page %#llx mapped in model only\n",
				(unsigned long long)iova);
		return;
	}
	CHECK_EQ(pa, p->pa + off);
	CHECK_EQ(prot & (PT_PROT_READ | PT_PROT_WRITE), p->prot);
	if (learn) {
		uint64_t sz = 1ULL << lg2, ls = iova & ~(sz - 1);

		CHECK(f->bitmap & sz);
		CHECK(!((p->pa - (iova - ls)) & (sz - 1)));
		CHECK(ls >= lo && ls + sz <= hi);
		p->leaf_lg2 = lg2;
	} else {
		CHECK_EQ(lg2, p->leaf_lg2);
	}
}

static uint64_t leaf_start(struct fz *f, uint64_t iova)
{
	return iova & ~((1ULL << pg(f, iova)->leaf_lg2) - 1);
}

/* A random granule-aligned start for @len bytes, mostly in the hot region. */
static uint64_t pick_iova(struct fz *f, uint64_t len)
{
	uint64_t g = 1ULL << f->g, span = f->win;

	if (rnd_n(f, 5) && f->hot >= len)
		span = f->hot;
	return f->base + rnd_n(f, (span - len) / g + 1) * g;
}

/* A random address, preferring mapped ones. */
static uint64_t pick_addr(struct fz *f)
{
	uint64_t iova = 0;

	for (int i = 0; i < 8; i++) {
		iova = pick_iova(f, 1ULL << f->g) + (rnd_n(f, 1ULL << f->g) & ~7ULL);
		if (pg(f, iova)->mapped)
			break;
	}
	return iova;
}

static uint64_t pick_len(struct fz *f, uint64_t *align)
{
	uint64_t g = 1ULL << f->g, b1 = f->bitmap & ~g, b2;

	b1 &= -b1;
	b2 = f->bitmap & ~(g | b1);
	b2 &= -b2;
	switch (rnd_n(f, 12)) {
	case 0 ... 5:
		*align = g;
		return g * (1 + rnd_n(f, 64));
	case 6 ... 7:
		*align = b1;
		return b1 * (1 + rnd_n(f, 3)) + (rnd_n(f, 2) ? g * rnd_n(f, 8) : 0);
	case 8 ... 10:
		if (b2 && b2 * 2 <= f->win) {
			*align = b2;
			return b2;
		}
		/* fallthrough */
	default:
		*align = g;
		return b1 + g * rnd_n(f, 600);
	}
}

static void op_map(struct fz *f)
{
	uint64_t g = 1ULL << f->g, align, len = pick_len(f, &align);
	uint64_t iova, pa, pgsz = 0, i;
	unsigned int prot;
	bool busy = false;
	int ret;

	if (len > f->win)
		len = f->win;
	iova = pick_iova(f, len);
	if (rnd_n(f, 2))
		iova &= ~(align - 1);
	pa = rnd_n(f, 2) ? rnd_n(f, 1ULL << 12) << 30 : rnd_n(f, 1ULL << 20) << 21;
	pa += rnd_n(f, 3) ? 0 : g * rnd_n(f, 7);
	pa += (iova & (align - 1));
	prot = rnd_n(f, 2) ? PT_PROT_READ | PT_PROT_WRITE : PT_PROT_READ;
	if ((f->fmt == PT_FMT_MOCK || f->fmt == PT_FMT_VMSAV8_S2) &&
	    !rnd_n(f, 5))
		prot = PT_PROT_WRITE;
	if (!rnd_n(f, 6))
		pgsz = g;
	for (i = 0; i < len; i += g)
		busy |= pg(f, iova + i)->mapped;
	f->fail_in = rnd_n(f, 8) ? -1 : (int)rnd_n(f, 3);
	ret = pt_map(f->t, iova, pa, len, prot, pgsz);
	if (trace)
		fprintf(stderr, "map %#llx+%#llx -> %#llx prot %u pgsz %#llx fail_in %d: %d\n",
			(unsigned long long)iova, (unsigned long long)len,
			(unsigned long long)pa, prot, (unsigned long long)pgsz,
			f->fail_in, ret);
	f->fail_in = -1;
	if (ret == -ENOMEM) {
		for (i = 0; i < len; i += g)
			check_page(f, iova + i, false, 0, 0);
		return;
	}
	CHECK_EQ(ret, busy ? -EADDRINUSE : 0);
	if (ret) {
		for (i = 0; i < len; i += g)
			check_page(f, iova + i, false, 0, 0);
		return;
	}
	for (i = 0; i < len; i += g) {
		struct page *p = pg(f, iova + i);

		p->mapped = 1;
		p->pa = pa + i;
		p->prot = norm_prot(f, prot);
		p->dirty = 0;
		check_page(f, iova + i, true, iova, iova + len);
		if (pgsz)
			CHECK_EQ(p->leaf_lg2, f->g);
		if (p->leaf_lg2 > f->g && !((iova + i) & ((1ULL << p->leaf_lg2) - 1)))
			n_big_leaf++;
	}
}

/* Re-learn the leaves around @a after a split. */
static void relearn(struct fz *f, uint64_t a, uint64_t old_lo, uint64_t old_hi)
{
	uint64_t g = 1ULL << f->g;

	for (uint64_t i = old_lo; i < old_hi; i += g)
		if (in_win(f, i) && pg(f, i)->mapped)
			check_page(f, i, true, old_lo, old_hi);
}

static void op_unmap(struct fz *f)
{
	uint64_t g = 1ULL << f->g, align, len = pick_len(f, &align);
	uint64_t iova, end, exp = 0, un = ~0ULL, i;
	uint64_t s_lo = 0, s_hi = 0, e_lo = 0, e_hi = 0;
	bool split = rnd_n(f, 2);
	int ret, want = 0;

	if (len > f->win)
		len = f->win;
	iova = pick_iova(f, len);
	if (rnd_n(f, 2))
		iova &= ~(align - 1);
	else if (rnd_n(f, 2))	/* start on a mapped page, maybe mid-leaf */
		iova = pick_addr(f) & ~(g - 1);
	if (iova + len > f->base + f->win)
		len = f->base + f->win - iova;
	end = iova + len;
	if (pg(f, iova)->mapped && leaf_start(f, iova) < iova) {
		s_lo = leaf_start(f, iova);
		s_hi = s_lo + (1ULL << pg(f, iova)->leaf_lg2);
		if (!split)
			want = -EINVAL;
	}
	if (in_win(f, end) && pg(f, end)->mapped && leaf_start(f, end) < end) {
		e_lo = leaf_start(f, end);
		e_hi = e_lo + (1ULL << pg(f, end)->leaf_lg2);
	}
	if (split && s_hi && s_hi - s_lo > (1ULL << (f->g + 1)) &&
	    (iova & ((s_hi - s_lo) / 2 - 1)))
		n_deep_split++;
	f->fail_in = split && rnd_n(f, 4) == 0 ? (int)rnd_n(f, 2) : -1;
	ret = pt_unmap(f->t, iova, len, split ? PT_UNMAP_ALLOW_SPLIT : 0, &un);
	if (trace)
		fprintf(stderr, "unmap %#llx+%#llx split %d fail_in %d: %d %#llx\n",
			(unsigned long long)iova, (unsigned long long)len,
			split, f->fail_in, ret, (unsigned long long)un);
	f->fail_in = -1;
	if (ret == -ENOMEM && split && (s_hi || e_hi)) {
		CHECK_EQ(un, 0);
		for (i = iova; i < end; i += g)
			check_page(f, i, false, 0, 0);
		return;
	}
	CHECK_EQ(ret, want);
	if (ret)
		return;
	if (!split && e_hi)
		end = e_hi;
	for (i = iova; i < end; i += g) {
		if (pg(f, i)->mapped)
			exp += g;
		pg(f, i)->mapped = 0;
	}
	CHECK_EQ(un, exp);
	if (split) {
		if (s_hi)
			relearn(f, iova, s_lo, s_hi);
		if (e_hi)
			relearn(f, end, e_lo, e_hi);
	}
	for (i = iova; i < end; i += g * (1 + rnd_n(f, 16)))
		check_page(f, i, false, 0, 0);
}

static void op_walk(struct fz *f)
{
	uint64_t iova = pick_addr(f);
	struct page *p = pg(f, iova & ~((1ULL << f->g) - 1));
	unsigned int acc = rnd_n(f, 2) ? PT_ACCESS_WRITE : PT_ACCESS_READ;
	struct pt_walk_result r;
	struct pt_fault flt;
	int ret = pt_walk(f->t, iova, acc, &r, &flt);
	bool ok = p->mapped && (acc == PT_ACCESS_WRITE ?
					(p->prot & PT_PROT_WRITE) :
					(p->prot & PT_PROT_READ));

	CHECK_EQ(ret, ok ? 0 : -EFAULT);
	if (!ret) {
		CHECK_EQ(r.oa, p->pa + (iova & ((1ULL << f->g) - 1)));
		CHECK_EQ(r.leaf_lg2, p->leaf_lg2);
		CHECK_EQ(r.dirty, p->dirty);
	} else {
		CHECK_EQ(flt.kind, p->mapped ? PT_FAULT_PERMISSION :
					       PT_FAULT_TRANSLATION);
		CHECK_EQ(flt.input, iova);
	}
}

static void op_set_dirty(struct fz *f)
{
	uint64_t iova = pick_addr(f);
	struct page *p = pg(f, iova & ~((1ULL << f->g) - 1));
	int ret = pt_set_dirty(f->t, iova), want = 0;

	if (!p->mapped)
		want = -ENOENT;
	else if (dirty_needs_write(f) && !(p->prot & PT_PROT_WRITE))
		want = -EPERM;
	CHECK_EQ(ret, want);
	if (!ret && !want) {
		uint64_t ls = leaf_start(f, iova), sz = 1ULL << p->leaf_lg2;

		for (uint64_t i = ls; i < ls + sz; i += 1ULL << f->g)
			pg(f, i)->dirty = 1;
	}
}

static struct fz *rec_fz;
static uint64_t rec_lo, rec_hi;

static void rec(void *priv, uint64_t iova, uint64_t len)
{
	struct fz *f = priv;
	uint64_t g = 1ULL << f->g;

	CHECK(iova >= rec_lo && iova + len <= rec_hi);
	CHECK(!(iova & (g - 1)) && !(len & (g - 1)));
	for (uint64_t i = iova; i < iova + len && i < rec_hi; i += g) {
		CHECK(!f->seen[(i - rec_lo) >> f->g]);
		f->seen[(i - rec_lo) >> f->g] = 1;
	}
}

static void op_dirty(struct fz *f)
{
	uint64_t g = 1ULL << f->g, align, len = pick_len(f, &align), iova, i;
	unsigned int flags = rnd_n(f, 3) ? 0 : PT_DIRTY_NO_CLEAR;

	if (len > f->win)
		len = f->win;
	iova = pick_iova(f, len);
	rec_fz = f;
	rec_lo = iova;
	rec_hi = iova + len;
	memset(f->seen, 0, len >> f->g);
	CHECK_EQ(pt_read_and_clear_dirty(f->t, iova, len, flags, rec, f), 0);
	for (i = iova; i < iova + len; i += g) {
		struct page *p = pg(f, i);

		CHECK_EQ(f->seen[(i - iova) >> f->g], p->mapped && p->dirty);
	}
	if (flags & PT_DIRTY_NO_CLEAR)
		return;
	for (i = iova; i < iova + len; i += g) {
		struct page *p = pg(f, i);

		if (p->mapped && p->dirty) {
			uint64_t ls = leaf_start(f, i);

			for (uint64_t j = ls; j < ls + (1ULL << p->leaf_lg2);
			     j += g)
				pg(f, j)->dirty = 0;
		}
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void run(struct fz *f, uint64_t seed, bool top, double budget)
{
	struct pt_cfg cfg = {
		.fmt = f->fmt, .granule_lg2 = f->g, .top_level = f->top_level,
		.flags = PT_CFG_DIRTY_TRACKING, .alloc_table = fz_alloc,
		.free_table = fz_free, .alloc_priv = f,
	};
	uint64_t g, b1, hi;
	double t0 = now();
	unsigned long ops = 0;
	int ret;

	f->fail_in = -1;
	f->allocs = 0;
	f->rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	ret = pt_table_alloc(&cfg, &f->t);
	CHECK_EQ(ret, 0);
	if (ret)
		return;
	f->bitmap = pt_pgsize_bitmap(f->t);
	g = 1ULL << f->g;
	b1 = f->bitmap & ~g;
	b1 &= -b1;
	hi = 1ULL << (63 - __builtin_clzll(f->bitmap));
	f->win = hi > b1 ? 2 * hi : 8 * b1;
	if (f->win > (1ULL << 31))
		f->win = 1ULL << 31;
	if (f->win < 8 * b1)
		f->win = 8 * b1;
	f->hot = 16 * b1 < f->win ? 16 * b1 : f->win;
	f->base = top ? (1ULL << pt_ias_lg2(f->t)) - f->win : 0;
	if (top)
		f->hot = f->win;	/* the top end matters there */
	f->npages = f->win >> f->g;
	f->pg = calloc(f->npages, sizeof(*f->pg));
	f->seen = calloc(f->npages, 1);
	while (ops < 4000 && now() - t0 < budget) {
		unsigned long nfail = pt_test_fail;

		switch (rnd_n(f, 10)) {
		case 0 ... 2:
			op_map(f);
			break;
		case 3 ... 4:
			op_unmap(f);
			break;
		case 5 ... 6:
			op_walk(f);
			break;
		case 7 ... 8:
			op_set_dirty(f);
			break;
		default:
			op_dirty(f);
			break;
		}
		ops++;
		if (pt_test_fail != nfail) {
			fprintf(stderr, "%s: first failure at op %lu\n",
				f->name, ops);
			break;
		}
	}
	/* full comparison, then a full unmap must free every table but the root */
	for (uint64_t i = 0; i < f->npages; i++)
		check_page(f, f->base + (i << f->g), false, 0, 0);
	{
		uint64_t un = 0, exp = 0;

		for (uint64_t i = 0; i < f->npages; i++)
			exp += f->pg[i].mapped ? g : 0;
		CHECK_EQ(pt_unmap(f->t, f->base, f->win, 0, &un), 0);
		CHECK_EQ(un, exp);
	}
	printf("%-10s %s seed %llu: %lu ops, %lu big leaves, %lu deep splits, "
	       "%lu tables left after full unmap\n",
	       f->name, top ? "top " : "low ", (unsigned long long)seed, ops,
	       n_big_leaf, n_deep_split, f->allocs);
	n_big_leaf = n_deep_split = 0;
	pt_table_free(f->t);
	CHECK_EQ(f->allocs, 0);
	free(f->pg);
	free(f->seen);
}

int main(int argc, char **argv)
{
	static struct fz cases[] = {
		{ .name = "mock", .fmt = PT_FMT_MOCK, .g = 11 },
		{ .name = "mock-t4", .fmt = PT_FMT_MOCK, .g = 11, .top_level = 4 },
		{ .name = "x86-4", .fmt = PT_FMT_X86_64, .g = 12, .top_level = 3 },
		{ .name = "x86-5", .fmt = PT_FMT_X86_64, .g = 12, .top_level = 4 },
		{ .name = "s1-4k", .fmt = PT_FMT_VMSAV8_S1, .g = 12 },
		{ .name = "s1-16k", .fmt = PT_FMT_VMSAV8_S1, .g = 14 },
		{ .name = "s1-64k", .fmt = PT_FMT_VMSAV8_S1, .g = 16 },
		{ .name = "s2-4k", .fmt = PT_FMT_VMSAV8_S2, .g = 12 },
		{ .name = "s2-16k", .fmt = PT_FMT_VMSAV8_S2, .g = 14 },
		{ .name = "s2-64k", .fmt = PT_FMT_VMSAV8_S2, .g = 16 },
	};
	const char *s = getenv("PT_FUZZ_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : 20261121;
	unsigned int n = sizeof(cases) / sizeof(cases[0]);

	const char *only = getenv("PT_FUZZ_ONLY");

	trace = getenv("PT_FUZZ_TRACE");

	for (unsigned int i = 0; i < n; i++) {
		if (only && strcmp(only, cases[i].name))
			continue;
		run(&cases[i], seed + i, false, 3.0 / (2 * n));
		run(&cases[i], seed + 100 + i, true, 3.0 / (2 * n));
	}
	return pt_test_done();
}
