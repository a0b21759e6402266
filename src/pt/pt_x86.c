// SPDX-License-Identifier: MIT
/*
 * pt_x86.c - x86-64 4/5-level paging entries (VT-d first stage)
 *
 * VT-d spec 9.7 / Intel SDM vol. 3 4.5: 4 KiB tables of 512 entries,
 * P[0] R/W[1] U/S[2] PWT[3] PCD[4] A[5] D[6] PS[7] (PAT in a PTE) G[8],
 * address [51:12] (PAT at bit 12 of 2 MiB / 1 GiB leaves), XD[63].
 * Leaves: PTE (4 KiB), PDE with PS (2 MiB), PDPE with PS (1 GiB); PS in a
 * PML4E/PML5E is reserved.  R/W and U/S are ANDed over all levels, XD is
 * ORed.  Architecture levels are numbered 1 (PTE) .. 5 (PML5E).
 *
 * Host tables are built like Linux builds first-stage tables: non-leaf
 * entries P|R/W|U/S|A, leaves P|A|U/S (unless PT_PROT_PRIV)|R/W (if
 * writable)|XD (if PT_PROT_NOEXEC).  Unlike Linux, D starts clear so the
 * D bit can serve dirty tracking; pt_set_dirty() sets A|D like hardware.
 */
#include "pt_priv.h"

#define X86_P		PT_BIT(0)
#define X86_RW		PT_BIT(1)
#define X86_US		PT_BIT(2)
#define X86_A		PT_BIT(5)
#define X86_D		PT_BIT(6)
#define X86_PS		PT_BIT(7)
#define X86_XD		PT_BIT(63)
#define X86_OA		PT_GENMASK(51, 12)

static inline enum pt_etype x86_type(const struct pt_table *t, uint64_t d,
				     unsigned int lvl)
{
	if (!(d & X86_P))
		return d ? PT_E_BAD : PT_E_EMPTY;
	if (!lvl)
		return PT_E_LEAF;
	if (d & X86_PS)
		return (t->leaf_levels >> lvl) & 1 ? PT_E_LEAF : PT_E_BAD;
	return PT_E_TABLE;
}

static inline uint64_t x86_table_pa(const struct pt_table *t, uint64_t d)
{
	return d & X86_OA;
}

static inline uint64_t x86_leaf_pa(const struct pt_table *t, uint64_t d,
				   unsigned int lvl)
{
	return d & X86_OA & ~((1ULL << pt_lvl_shift(t, lvl)) - 1);
}

static inline uint64_t x86_mk_table(const struct pt_table *t, uint64_t pa)
{
	return pa | X86_P | X86_RW | X86_US | X86_A;
}

static inline uint64_t x86_leaf_tmpl(const struct pt_table *t,
				     unsigned int prot, unsigned int lvl)
{
	return X86_P | X86_A | (prot & PT_PROT_WRITE ? X86_RW : 0) |
	       (prot & PT_PROT_PRIV ? 0 : X86_US) |
	       (prot & PT_PROT_NOEXEC ? X86_XD : 0) | (lvl ? X86_PS : 0);
}

static inline uint64_t x86_relevel(const struct pt_table *t, uint64_t d,
				   unsigned int from, unsigned int to)
{
	return (d & ~(X86_OA | X86_PS)) | (to ? X86_PS : 0);
}

static inline uint64_t x86_acc_init(const struct pt_table *t)
{
	return X86_RW | X86_US;
}

static inline uint64_t x86_table_acc(const struct pt_table *t, uint64_t acc,
				     uint64_t d)
{
	return (acc & (d | X86_XD)) | (d & X86_XD);
}

static inline unsigned int x86_leaf_prot(const struct pt_table *t,
					 uint64_t d, uint64_t acc)
{
	uint64_t eff = (acc & d & (X86_RW | X86_US)) | ((acc | d) & X86_XD);

	return PT_PROT_READ | (eff & X86_RW ? PT_PROT_WRITE : 0) |
	       (eff & X86_US ? 0 : PT_PROT_PRIV) |
	       (eff & X86_XD ? PT_PROT_NOEXEC : 0);
}

static inline enum pt_fault_kind x86_check(const struct pt_table *t,
					   uint64_t d, uint64_t acc,
					   unsigned int access)
{
	unsigned int prot = x86_leaf_prot(t, d, acc);

	if (((access & PT_ACCESS_WRITE) && !(prot & PT_PROT_WRITE)) ||
	    (!(access & PT_ACCESS_PRIV) && (prot & PT_PROT_PRIV)) ||
	    ((access & PT_ACCESS_EXEC) && (prot & PT_PROT_NOEXEC)))
		return PT_FAULT_PERMISSION;
	return PT_FAULT_NONE;
}

static inline bool x86_is_dirty(const struct pt_table *t, uint64_t d)
{
	return d & X86_D;
}

static inline uint64_t x86_mk_clean(const struct pt_table *t, uint64_t d)
{
	return d & ~X86_D;
}

static inline int x86_mk_dirty(const struct pt_table *t, uint64_t *d)
{
	if (!(*d & X86_RW))
		return -EPERM;
	*d |= X86_A | X86_D;
	return 0;
}

static inline unsigned int x86_arch_level(const struct pt_table *t,
					  unsigned int lvl)
{
	return lvl + 1;
}

#define PT_FMT_NAME x86
#include "pt_engine.h"
#undef PT_FMT_NAME

static int x86_init(struct pt_table *t)
{
	struct pt_cfg *c = &t->cfg;

	if (c->granule_lg2 && c->granule_lg2 != 12)
		return -EINVAL;
	if (c->oas_lg2 > 52)
		return -EINVAL;
	if (c->top_level && c->top_level != 3 && c->top_level != 4)
		return -EINVAL;
	if (c->ias_lg2 && c->ias_lg2 != 48 && c->ias_lg2 != 57)
		return -EINVAL;
	t->oas_lg2 = c->oas_lg2 ? c->oas_lg2 : 48;
	t->granule_lg2 = 12;
	t->bits_lg2 = 9;
	t->leaf_levels = 0x7;
	if (pt_geometry(t, 48, 0))
		return -EINVAL;
	if (t->top_level != 3 && t->top_level != 4)
		return -EINVAL;
	return 0;
}

const struct pt_fmt_ops pt_x86_64_ops = {
	.init = x86_init,
	.map = x86_map,
	.unmap = x86_unmap,
	.iova_to_phys = x86_iova_to_phys,
	.walk = x86_walk,
	.dirty = x86_dirty,
	.set_dirty = x86_set_dirty,
	.read_entry = x86_read_entry,
	.free_tree = x86_free_tree,
};
