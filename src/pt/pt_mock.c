// SPDX-License-Identifier: MIT
/*
 * pt_mock.c - descriptor format of the selftest mock IOMMU
 *
 * The kernel selftest's mock domain uses an AMDv1-derived table with a
 * 2 KiB page: 4 KiB table pages of 512 eight-byte entries (9 index bits per
 * level), leaves of 2 KiB (level 0), 1 MiB (level 1) and 512 MiB
 * (level 2), and a top level of 2 (38-bit input, default), 3 or 4.  Levels
 * 3 and 4 only hold tables.
 *
 * The bit layout is ours (see pt.h): P[0] LEAF[1] R[2] W[3] D[4],
 * OA[51:11] for leaves, table address [51:12].  Hardware (pt_set_dirty)
 * sets D on any present leaf: the selftest dirties pages by IOVA without
 * caring about their permission.
 */
#include "pt_priv.h"

#define MOCK_P		PT_BIT(0)
#define MOCK_LEAF	PT_BIT(1)
#define MOCK_R		PT_BIT(2)
#define MOCK_W		PT_BIT(3)
#define MOCK_D		PT_BIT(4)
#define MOCK_OA		PT_GENMASK(51, 11)
#define MOCK_TABLE_OA	PT_GENMASK(51, 12)

static inline enum pt_etype mock_type(const struct pt_table *t, uint64_t d,
				      unsigned int lvl)
{
	if (!(d & MOCK_P))
		return d ? PT_E_BAD : PT_E_EMPTY;
	if (d & MOCK_LEAF)
		return lvl <= 2 ? PT_E_LEAF : PT_E_BAD;
	return lvl ? PT_E_TABLE : PT_E_BAD;
}

static inline uint64_t mock_table_pa(const struct pt_table *t, uint64_t d)
{
	return d & MOCK_TABLE_OA;
}

static inline uint64_t mock_leaf_pa(const struct pt_table *t, uint64_t d,
				    unsigned int lvl)
{
	return d & MOCK_OA & ~((1ULL << pt_lvl_shift(t, lvl)) - 1);
}

static inline uint64_t mock_mk_table(const struct pt_table *t, uint64_t pa)
{
	return pa | MOCK_P;
}

static inline uint64_t mock_leaf_tmpl(const struct pt_table *t,
				      unsigned int prot, unsigned int lvl)
{
	return MOCK_P | MOCK_LEAF | (prot & PT_PROT_READ ? MOCK_R : 0) |
	       (prot & PT_PROT_WRITE ? MOCK_W : 0);
}

static inline uint64_t mock_relevel(const struct pt_table *t, uint64_t d,
				    unsigned int from, unsigned int to)
{
	return d & ~MOCK_OA;
}

static inline uint64_t mock_acc_init(const struct pt_table *t)
{
	return 0;
}

static inline uint64_t mock_table_acc(const struct pt_table *t, uint64_t acc,
				      uint64_t d)
{
	return acc;
}

static inline unsigned int mock_leaf_prot(const struct pt_table *t,
					  uint64_t d, uint64_t acc)
{
	return (d & MOCK_R ? PT_PROT_READ : 0) |
	       (d & MOCK_W ? PT_PROT_WRITE : 0);
}

static inline enum pt_fault_kind mock_check(const struct pt_table *t,
					    uint64_t d, uint64_t acc,
					    unsigned int access)
{
	if (((access & PT_ACCESS_READ) && !(d & MOCK_R)) ||
	    ((access & PT_ACCESS_WRITE) && !(d & MOCK_W)))
		return PT_FAULT_PERMISSION;
	return PT_FAULT_NONE;
}

static inline bool mock_is_dirty(const struct pt_table *t, uint64_t d)
{
	return d & MOCK_D;
}

static inline uint64_t mock_mk_clean(const struct pt_table *t, uint64_t d)
{
	return d & ~MOCK_D;
}

static inline int mock_mk_dirty(const struct pt_table *t, uint64_t *d)
{
	*d |= MOCK_D;
	return 0;
}

static inline unsigned int mock_arch_level(const struct pt_table *t,
					   unsigned int lvl)
{
	return lvl;
}

#define PT_FMT_NAME mock
#include "pt_engine.h"
#undef PT_FMT_NAME

static int mock_init(struct pt_table *t)
{
	struct pt_cfg *c = &t->cfg;

	if (c->granule_lg2 && c->granule_lg2 != 11)
		return -EINVAL;
	if (c->top_level && (c->top_level < 2 || c->top_level > 4))
		return -EINVAL;
	if (!c->ias_lg2 && !c->top_level)
		c->top_level = 2;
	if (c->oas_lg2 > 52)
		return -EINVAL;
	t->oas_lg2 = c->oas_lg2 ? c->oas_lg2 : 48;
	t->granule_lg2 = 11;
	t->bits_lg2 = 9;
	t->leaf_levels = 0x7;
	t->table_size = 4096;
	if (pt_geometry(t, 38, 0))
		return -EINVAL;
	if (t->top_level < 2)
		return -EINVAL;
	return 0;
}

const struct pt_fmt_ops pt_mock_ops = {
	.init = mock_init,
	.map = mock_map,
	.unmap = mock_unmap,
	.iova_to_phys = mock_iova_to_phys,
	.walk = mock_walk,
	.dirty = mock_dirty,
	.set_dirty = mock_set_dirty,
	.read_entry = mock_read_entry,
	.free_tree = mock_free_tree,
};
