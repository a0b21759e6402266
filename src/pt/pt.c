// SPDX-License-Identifier: MIT
/*
 * pt.c - format-independent part of the page-table library
 *
 * Owns the table handle: argument checks shared by every format, the
 * allocation hooks, the geometry derived from pt_cfg, the dispatch to the
 * format's ops (one indirect call per operation, none per level), the
 * nested stage-1 x stage-2 walk and the TCR/VTCR-style configuration
 * helpers.
 */
#include "pt_priv.h"

static void *pt_default_alloc(void *priv, size_t size, size_t align)
{
	return aligned_alloc(align, size);
}

static void pt_default_free(void *priv, void *table, size_t size)
{
	free(table);
}

void *pt_alloc_table(struct pt_table *t, size_t size)
{
	void *p = t->cfg.alloc_table(t->cfg.alloc_priv, size, size);

	if (p)
		memset(p, 0, size);
	return p;
}

void pt_free_table(struct pt_table *t, void *table, size_t size)
{
	t->cfg.free_table(t->cfg.alloc_priv, table, size);
}

/*
 * Derive top level, root size and page sizes.  @max_concat_bits is how many
 * index bits the root may have beyond a normal table (VMSAv8 stage-2
 * concatenation: 4 = 16 tables).
 */
int pt_geometry(struct pt_table *t, unsigned int def_ias,
		unsigned int max_concat_bits)
{
	unsigned int g = t->granule_lg2, b = t->bits_lg2;
	unsigned int ias = t->cfg.ias_lg2, top = t->cfg.top_level;
	unsigned int natural;

	if (!ias)
		ias = top ? g + b * (top + 1) : def_ias;
	if (ias <= g || ias > 57)
		return -EINVAL;
	natural = (ias - g + b - 1) / b - 1;
	if (!top)
		top = natural;
	if (top > natural || top > 7 || g + b * top >= ias)
		return -EINVAL;
	t->top_bits = ias - (g + b * top);
	if (t->top_bits > b + max_concat_bits)
		return -EINVAL;
	t->top_level = top;
	t->ias_lg2 = ias;
	t->table_size = (size_t)8 << b;
	t->root_size = (size_t)8 << t->top_bits;
	if (t->root_size < 64)
		t->root_size = 64;
	t->leaf_levels &= (2u << top) - 1;
	t->pgsize_bitmap = 0;
	for (unsigned int l = 0; l <= top; l++)
		if ((t->leaf_levels >> l) & 1)
			t->pgsize_bitmap |= 1ULL << pt_lvl_shift(t, l);
	return 0;
}

static const struct pt_fmt_ops *pt_fmt_ops(enum pt_format fmt)
{
	switch (fmt) {
	case PT_FMT_VMSAV8_S1:
		return &pt_vmsav8_s1_ops;
	case PT_FMT_VMSAV8_S2:
		return &pt_vmsav8_s2_ops;
	case PT_FMT_X86_64:
		return &pt_x86_64_ops;
	case PT_FMT_MOCK:
		return &pt_mock_ops;
	}
	return NULL;
}

int pt_table_alloc(const struct pt_cfg *cfg, struct pt_table **out)
{
	const struct pt_fmt_ops *ops = pt_fmt_ops(cfg->fmt);
	struct pt_table *t;
	int ret;

	if (!ops)
		return -EINVAL;
	if (!cfg->alloc_table != !cfg->free_table)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = *cfg;
	t->ops = ops;
	t->stage = 1;
	if (!t->cfg.alloc_table) {
		t->cfg.alloc_table = pt_default_alloc;
		t->cfg.free_table = pt_default_free;
	}
	ret = ops->init(t);
	if (ret)
		goto err;
	if (cfg->guest_root_pa) {
		t->guest = true;
		t->root_pa = cfg->guest_root_pa;
	} else {
		t->root = pt_alloc_table(t, t->root_size);
		if (!t->root) {
			ret = -ENOMEM;
			goto err;
		}
		t->root_pa = (uintptr_t)t->root;
	}
	*out = t;
	return 0;
err:
	free(t);
	return ret;
}

void pt_table_free(struct pt_table *t)
{
	if (!t)
		return;
	if (!t->guest)
		t->ops->free_tree(t);
	free(t);
}

uint64_t pt_pgsize_bitmap(const struct pt_table *t)
{
	return t->pgsize_bitmap;
}

uint64_t pt_root_pa(const struct pt_table *t)
{
	return t->root_pa;
}

unsigned int pt_ias_lg2(const struct pt_table *t)
{
	return t->ias_lg2;
}

unsigned int pt_top_level(const struct pt_table *t)
{
	return t->top_level;
}

static int pt_check_args(const struct pt_table *t, uint64_t iova,
			 uint64_t len)
{
	uint64_t gmask = (1ULL << t->granule_lg2) - 1;
	uint64_t last = iova + len - 1;

	if (t->guest)
		return -EOPNOTSUPP;
	if (!len || (iova & gmask) || (len & gmask))
		return -EINVAL;
	if (last < iova || (last >> t->ias_lg2))
		return -ERANGE;
	return 0;
}

int pt_map(struct pt_table *t, uint64_t iova, uint64_t pa, uint64_t len,
	   unsigned int prot, uint64_t pgsize_bitmap)
{
	uint64_t granule = 1ULL << t->granule_lg2;
	int ret = pt_check_args(t, iova, len);

	if (ret)
		return ret;
	if ((pa & (granule - 1)) || !(prot & (PT_PROT_READ | PT_PROT_WRITE)))
		return -EINVAL;
	if (pa + len - 1 < pa || ((pa + len - 1) >> t->oas_lg2))
		return -ERANGE;
	pgsize_bitmap = pgsize_bitmap ? pgsize_bitmap & t->pgsize_bitmap :
					t->pgsize_bitmap;
	if (!(pgsize_bitmap & granule))
		return -EINVAL;
	return t->ops->map(t, iova, pa, len, prot, pgsize_bitmap);
}

int pt_unmap(struct pt_table *t, uint64_t iova, uint64_t len,
	     unsigned int flags, uint64_t *unmapped)
{
	int ret = pt_check_args(t, iova, len);

	if (unmapped)
		*unmapped = 0;
	if (ret)
		return ret;
	if (flags & ~PT_UNMAP_ALLOW_SPLIT)
		return -EINVAL;
	return t->ops->unmap(t, iova, len, flags, unmapped);
}

int pt_iova_to_phys(const struct pt_table *t, uint64_t iova, uint64_t *pa,
		    unsigned int *prot, unsigned int *leaf_lg2)
{
	struct pt_walk_result r;

	if (!t->guest)
		return t->ops->iova_to_phys(t, iova, pa, prot, leaf_lg2);
	if (t->ops->walk(t, iova, 0, &r, NULL, NULL))
		return -ENOENT;
	*pa = r.oa;
	if (prot)
		*prot = r.prot;
	if (leaf_lg2)
		*leaf_lg2 = r.leaf_lg2;
	return 0;
}

int pt_walk(const struct pt_table *t, uint64_t iova, unsigned int access,
	    struct pt_walk_result *res, struct pt_fault *fault)
{
	return t->ops->walk(t, iova, access, res, fault, NULL);
}

/* Combine the permissions of two stages: the stricter wins. */
static unsigned int pt_prot_combine(unsigned int s1, unsigned int s2)
{
	unsigned int rw = PT_PROT_READ | PT_PROT_WRITE;

	return (s1 & s2 & (rw | PT_PROT_CACHE)) |
	       ((s1 | s2) & (PT_PROT_NOEXEC | PT_PROT_MMIO)) |
	       (s1 & PT_PROT_PRIV);
}

/*
 * Stage-2 translation for nested walks.  Tables this library built have
 * AF = 1 and in-range outputs everywhere, so for them a successful lookup
 * plus a permission test on the decoded prot is the whole walk; only a
 * miss pays for the full walk that describes the fault.  Fills oa, prot
 * and leaf_lg2 of @r.
 */
int pt_s2_translate(const struct pt_table *s2, uint64_t ipa,
		    unsigned int access, struct pt_walk_result *r,
		    struct pt_fault *f)
{
	if (!s2->guest &&
	    !s2->ops->iova_to_phys(s2, ipa, &r->oa, &r->prot, &r->leaf_lg2) &&
	    (!(access & PT_ACCESS_READ) || (r->prot & PT_PROT_READ)) &&
	    (!(access & PT_ACCESS_WRITE) || (r->prot & PT_PROT_WRITE)) &&
	    (!(access & PT_ACCESS_EXEC) || !(r->prot & PT_PROT_NOEXEC)))
		return 0;
	return s2->ops->walk(s2, ipa, access, r, f, NULL);
}

int pt_walk_nested(const struct pt_table *s1, const struct pt_table *s2,
		   uint64_t va, unsigned int access,
		   struct pt_walk_result *res, struct pt_fault *fault)
{
	struct pt_walk_result r1, r2;
	int ret;

	if (!s1->guest || s1->stage != 1 || s2->stage != 2)
		return -EINVAL;
	ret = s1->ops->walk(s1, va, access, &r1, fault, s2);
	if (ret)
		return ret;
	ret = pt_s2_translate(s2, r1.oa, access, &r2, fault);
	if (ret) {
		if (fault) {
			fault->input = va;
			fault->ipa = r1.oa;
			fault->s2_on_s1_walk = false;
		}
		return ret;
	}
	*res = r1;
	res->oa = r2.oa;
	res->prot = pt_prot_combine(r1.prot, r2.prot);
	if (r2.leaf_lg2 < res->leaf_lg2)
		res->leaf_lg2 = r2.leaf_lg2;
	return 0;
}

int pt_read_and_clear_dirty(struct pt_table *t, uint64_t iova, uint64_t len,
			    unsigned int flags,
			    void (*record)(void *priv, uint64_t iova,
					   uint64_t len),
			    void *priv)
{
	int ret = pt_check_args(t, iova, len);

	if (ret)
		return ret;
	if (flags & ~PT_DIRTY_NO_CLEAR)
		return -EINVAL;
	return t->ops->dirty(t, iova, len, flags, record, priv);
}

int pt_set_dirty(struct pt_table *t, uint64_t iova)
{
	if (t->guest)
		return -EOPNOTSUPP;
	return t->ops->set_dirty(t, iova);
}

int pt_read_entry(const struct pt_table *t, uint64_t iova, unsigned int level,
		  uint64_t *desc)
{
	return t->ops->read_entry(t, iova, level, desc);
}

/* ---- VMSAv8 configuration from TCR / VTCR fields ------------------------ */

static int pt_tg0_lg2(unsigned int tg0)
{
	switch (tg0) {
	case 0:
		return 12;
	case 1:
		return 16;
	case 2:
		return 14;
	}
	return -EINVAL;
}

static int pt_ps_lg2(unsigned int ps)
{
	static const unsigned char bits[] = { 32, 36, 40, 42, 44, 48 };

	return ps < sizeof(bits) ? bits[ps] : -EINVAL;
}

int pt_cfg_vmsav8_s1(struct pt_cfg *cfg, unsigned int t0sz, unsigned int tg0,
		     unsigned int ips)
{
	int g = pt_tg0_lg2(tg0), oas = pt_ps_lg2(ips);

	if (g < 0 || oas < 0 || t0sz < 16 || t0sz > 39)
		return -EINVAL;
	cfg->fmt = PT_FMT_VMSAV8_S1;
	cfg->granule_lg2 = g;
	cfg->ias_lg2 = 64 - t0sz;
	cfg->oas_lg2 = oas;
	cfg->top_level = 0;
	return 0;
}

int pt_cfg_vmsav8_s2(struct pt_cfg *cfg, unsigned int t0sz, unsigned int sl0,
		     unsigned int tg0, unsigned int ps)
{
	int g = pt_tg0_lg2(tg0), oas = pt_ps_lg2(ps);
	unsigned int start;

	if (g < 0 || oas < 0 || t0sz < 16 || t0sz > 39 || sl0 > 2)
		return -EINVAL;
	/*
	 * Architecture start level; library top level is 3 - start.  A
	 * start at level 3 (16K/64K, SL0 = 0) would be library top level 0,
	 * which pt_cfg reads as "derive": not supported.
	 */
	start = g == 12 ? 2 - sl0 : 3 - sl0;
	if (start == 3)
		return -EINVAL;
	cfg->fmt = PT_FMT_VMSAV8_S2;
	cfg->granule_lg2 = g;
	cfg->ias_lg2 = 64 - t0sz;
	cfg->oas_lg2 = oas;
	cfg->top_level = 3 - start;
	return 0;
}
