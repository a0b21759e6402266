// SPDX-License-Identifier: MIT
/*
 * pt_vmsav8.c - Arm VMSAv8-64 long-descriptor translation tables
 *
 * Arm ARM D8.3 (VMSAv8-64 translation table format descriptors), 48-bit
 * output addresses, 4/16/64 KiB granules:
 *
 *   bits[1:0]  0b11 table (levels 0-2) or page (level 3); 0b01 block
 *              (4K: levels 1, 2; 16K and 64K: level 2); bit 0 clear =
 *              invalid
 *   address    [47:g] of the next table or of the output (g = granule)
 *   stage 1    AttrIndx[4:2] NS[5] AP[7:6] SH[9:8] AF[10] nG[11]
 *              DBM[51] Contiguous[52] PXN[53] UXN[54];
 *              table: PXNTable[59] XNTable[60] APTable[62:61] NSTable[63]
 *   stage 2    MemAttr[5:2] S2AP[7:6] SH[9:8] AF[10] DBM[51]
 *              Contiguous[52] XN[54:53]
 *
 * Library level L is architecture level 3 - L.  AP[1] (bit 6) grants
 * unprivileged access, AP[2] (bit 7) makes the page read-only.  S2AP[0]
 * (bit 6) grants read, S2AP[1] (bit 7) grants write.
 *
 * Hardware dirty state (D8.4.6, HTTU with DBM): a writable leaf mapped with
 * PT_CFG_DIRTY_TRACKING is installed writable-clean: DBM=1 and stage 1
 * AP[2]=1 / stage 2 S2AP[1]=0.  The first write makes it dirty (stage 1
 * AP[2]=0, stage 2 S2AP[1]=1); read-and-clear restores writable-clean.
 * Such a table models HD=1, so DBM=1 grants write in the permission check.
 *
 * Memory attributes, by our MAIR convention for stage 1: AttrIndx 0 =
 * Normal non-cacheable, 1 = Normal write-back, 2 = Device-nGnRE (as Linux's
 * io-pgtable MAIR).  Stage 2 MemAttr: 0xf Normal WB, 0x5 Normal NC, 0x1
 * Device-nGnRE.  Cacheable memory is inner shareable, other memory outer
 * shareable.  Leaves always have AF=1; stage-1 leaves are nG=1 (ASID
 * tagged).  The walker does not model HA: AF=0 is an access flag fault.
 */
#include "pt_priv.h"

#define V8_VALID	PT_BIT(0)
#define V8_TYPE		PT_BIT(1)	/* table or page */
#define V8_ATTR_SHIFT	2
#define V8_AP1		PT_BIT(6)	/* S1: unprivileged; S2: S2AP[0] read */
#define V8_AP2		PT_BIT(7)	/* S1: read-only;   S2: S2AP[1] write */
#define V8_SH_SHIFT	8
#define V8_SH_OS	(2ULL << V8_SH_SHIFT)
#define V8_SH_IS	(3ULL << V8_SH_SHIFT)
#define V8_AF		PT_BIT(10)
#define V8_NG		PT_BIT(11)
#define V8_DBM		PT_BIT(51)
#define V8_PXN		PT_BIT(53)
#define V8_UXN		PT_BIT(54)	/* S2: XN[1] */
#define V8_PXNTABLE	PT_BIT(59)
#define V8_XNTABLE	PT_BIT(60)
#define V8_APTABLE0	PT_BIT(61)	/* no unprivileged access below */
#define V8_APTABLE1	PT_BIT(62)	/* no write below */
#define V8_OA		PT_GENMASK(47, 12)

#define V8_MAIR_NC	0
#define V8_MAIR_WB	1
#define V8_MAIR_DEV	2
#define V8_S2_MEMATTR_WB	0xfULL
#define V8_S2_MEMATTR_NC	0x5ULL
#define V8_S2_MEMATTR_DEV	0x1ULL

static inline bool v8_hd(const struct pt_table *t)
{
	return t->cfg.flags & PT_CFG_DIRTY_TRACKING;
}

static inline enum pt_etype v8_type(const struct pt_table *t, uint64_t d,
				    unsigned int lvl)
{
	if (!(d & V8_VALID))
		return d ? PT_E_BAD : PT_E_EMPTY;
	if (!lvl)
		return d & V8_TYPE ? PT_E_LEAF : PT_E_BAD;
	if (d & V8_TYPE)
		return PT_E_TABLE;
	return (t->leaf_levels >> lvl) & 1 ? PT_E_LEAF : PT_E_BAD;
}

static inline uint64_t v8_table_pa(const struct pt_table *t, uint64_t d)
{
	return d & V8_OA & ~((1ULL << t->granule_lg2) - 1);
}

static inline uint64_t v8_leaf_pa(const struct pt_table *t, uint64_t d,
				  unsigned int lvl)
{
	return d & V8_OA & ~((1ULL << pt_lvl_shift(t, lvl)) - 1);
}

static inline uint64_t v8_mk_table(const struct pt_table *t, uint64_t pa)
{
	return pa | V8_VALID | V8_TYPE;
}

static inline uint64_t v8_relevel(const struct pt_table *t, uint64_t d,
				  unsigned int from, unsigned int to)
{
	return (d & ~(V8_OA | V8_TYPE)) | (to ? 0 : V8_TYPE);
}

static inline uint64_t v8_leaf_common(unsigned int prot, unsigned int lvl)
{
	return V8_VALID | (lvl ? 0 : V8_TYPE) | V8_AF |
	       (prot & PT_PROT_CACHE ? V8_SH_IS : V8_SH_OS);
}

static inline unsigned int v8_arch_level(const struct pt_table *t,
					 unsigned int lvl)
{
	return 3 - lvl;
}

/* ---- stage 1 ------------------------------------------------------------ */

static inline uint64_t s1_leaf_tmpl(const struct pt_table *t,
				    unsigned int prot, unsigned int lvl)
{
	uint64_t d = v8_leaf_common(prot, lvl) | V8_NG;
	uint64_t idx = prot & PT_PROT_MMIO  ? V8_MAIR_DEV :
		       prot & PT_PROT_CACHE ? V8_MAIR_WB : V8_MAIR_NC;

	d |= idx << V8_ATTR_SHIFT;
	if (!(prot & PT_PROT_PRIV))
		d |= V8_AP1;
	if (!(prot & PT_PROT_WRITE))
		d |= V8_AP2;
	else if (v8_hd(t))
		d |= V8_AP2 | V8_DBM;
	if (prot & PT_PROT_NOEXEC)
		d |= V8_UXN | V8_PXN;
	return d;
}

static inline uint64_t s1_acc_init(const struct pt_table *t)
{
	return 0;
}

static inline uint64_t s1_table_acc(const struct pt_table *t, uint64_t acc,
				    uint64_t d)
{
	return acc | (d & PT_GENMASK(62, 59));
}

static inline bool s1_writable(const struct pt_table *t, uint64_t d,
			       uint64_t acc)
{
	if (acc & V8_APTABLE1)
		return false;
	return !(d & V8_AP2) || (v8_hd(t) && (d & V8_DBM));
}

static inline unsigned int s1_leaf_prot(const struct pt_table *t, uint64_t d,
					uint64_t acc)
{
	unsigned int attr = (d >> V8_ATTR_SHIFT) & 7;
	unsigned int prot = PT_PROT_READ;

	if (s1_writable(t, d, acc))
		prot |= PT_PROT_WRITE;
	if (!(d & V8_AP1) || (acc & V8_APTABLE0))
		prot |= PT_PROT_PRIV;
	if ((d & V8_UXN) || (acc & V8_XNTABLE))
		prot |= PT_PROT_NOEXEC;
	if (attr == V8_MAIR_WB)
		prot |= PT_PROT_CACHE;
	else if (attr == V8_MAIR_DEV)
		prot |= PT_PROT_MMIO;
	return prot;
}

static inline enum pt_fault_kind s1_check(const struct pt_table *t,
					  uint64_t d, uint64_t acc,
					  unsigned int access)
{
	bool priv = access & PT_ACCESS_PRIV;

	if (!(d & V8_AF))
		return PT_FAULT_ACCESS;
	if (!priv && (!(d & V8_AP1) || (acc & V8_APTABLE0)))
		return PT_FAULT_PERMISSION;
	if ((access & PT_ACCESS_WRITE) && !s1_writable(t, d, acc))
		return PT_FAULT_PERMISSION;
	if (access & PT_ACCESS_EXEC) {
		if (priv ? (d & V8_PXN) || (acc & V8_PXNTABLE) :
			   (d & V8_UXN) || (acc & V8_XNTABLE))
			return PT_FAULT_PERMISSION;
	}
	return PT_FAULT_NONE;
}

static inline bool s1_is_dirty(const struct pt_table *t, uint64_t d)
{
	return (d & (V8_DBM | V8_AP2)) == V8_DBM;
}

static inline uint64_t s1_mk_clean(const struct pt_table *t, uint64_t d)
{
	return d | V8_AP2;
}

static inline int s1_mk_dirty(const struct pt_table *t, uint64_t *d)
{
	if (!(*d & V8_DBM))
		return -EPERM;
	*d &= ~V8_AP2;
	return 0;
}

#define s1_type		v8_type
#define s1_table_pa	v8_table_pa
#define s1_leaf_pa	v8_leaf_pa
#define s1_mk_table	v8_mk_table
#define s1_relevel	v8_relevel
#define s1_arch_level	v8_arch_level
#define PT_FMT_NAME s1
#include "pt_engine.h"
#undef PT_FMT_NAME

/* ---- stage 2 ------------------------------------------------------------ */

static inline uint64_t s2_leaf_tmpl(const struct pt_table *t,
				    unsigned int prot, unsigned int lvl)
{
	uint64_t d = v8_leaf_common(prot, lvl);
	uint64_t attr = prot & PT_PROT_MMIO  ? V8_S2_MEMATTR_DEV :
			prot & PT_PROT_CACHE ? V8_S2_MEMATTR_WB :
					       V8_S2_MEMATTR_NC;

	d |= attr << V8_ATTR_SHIFT;
	if (prot & PT_PROT_READ)
		d |= V8_AP1;
	if (prot & PT_PROT_WRITE)
		d |= v8_hd(t) ? V8_DBM : V8_AP2;
	if (prot & PT_PROT_NOEXEC)
		d |= V8_UXN;
	return d;
}

static inline uint64_t s2_acc_init(const struct pt_table *t)
{
	return 0;
}

static inline uint64_t s2_table_acc(const struct pt_table *t, uint64_t acc,
				    uint64_t d)
{
	return acc;
}

static inline bool s2_writable(const struct pt_table *t, uint64_t d)
{
	return (d & V8_AP2) || (v8_hd(t) && (d & V8_DBM));
}

static inline unsigned int s2_leaf_prot(const struct pt_table *t, uint64_t d,
					uint64_t acc)
{
	uint64_t attr = (d >> V8_ATTR_SHIFT) & 0xf;
	unsigned int prot = 0;

	if (d & V8_AP1)
		prot |= PT_PROT_READ;
	if (s2_writable(t, d))
		prot |= PT_PROT_WRITE;
	if (d & V8_UXN)
		prot |= PT_PROT_NOEXEC;
	if (attr == V8_S2_MEMATTR_WB)
		prot |= PT_PROT_CACHE;
	else if (!(attr & 0xc))
		prot |= PT_PROT_MMIO;
	return prot;
}

static inline enum pt_fault_kind s2_check(const struct pt_table *t,
					  uint64_t d, uint64_t acc,
					  unsigned int access)
{
	if (!(d & V8_AF))
		return PT_FAULT_ACCESS;
	if (((access & PT_ACCESS_READ) && !(d & V8_AP1)) ||
	    ((access & PT_ACCESS_WRITE) && !s2_writable(t, d)) ||
	    ((access & PT_ACCESS_EXEC) && (d & V8_UXN)))
		return PT_FAULT_PERMISSION;
	return PT_FAULT_NONE;
}

static inline bool s2_is_dirty(const struct pt_table *t, uint64_t d)
{
	return (d & (V8_DBM | V8_AP2)) == (V8_DBM | V8_AP2);
}

static inline uint64_t s2_mk_clean(const struct pt_table *t, uint64_t d)
{
	return d & ~V8_AP2;
}

static inline int s2_mk_dirty(const struct pt_table *t, uint64_t *d)
{
	if (!(*d & V8_DBM))
		return -EPERM;
	*d |= V8_AP2;
	return 0;
}

#define s2_type		v8_type
#define s2_table_pa	v8_table_pa
#define s2_leaf_pa	v8_leaf_pa
#define s2_mk_table	v8_mk_table
#define s2_relevel	v8_relevel
#define s2_arch_level	v8_arch_level
#define PT_FMT_NAME s2
#include "pt_engine.h"
#undef PT_FMT_NAME

/* ---- geometry ----------------------------------------------------------- */

static int v8_init(struct pt_table *t, unsigned int concat_bits)
{
	struct pt_cfg *c = &t->cfg;
	unsigned int g = c->granule_lg2 ? c->granule_lg2 : 12;

	if (g != 12 && g != 14 && g != 16)
		return -EINVAL;
	if (c->oas_lg2 > 48 || (c->oas_lg2 && c->oas_lg2 < 32))
		return -EINVAL;
	if (c->ias_lg2 > 48)
		return -EINVAL;
	t->oas_lg2 = c->oas_lg2 ? c->oas_lg2 : 48;
	t->granule_lg2 = g;
	t->bits_lg2 = g - 3;
	/* blocks: 4K at levels 1 and 2 (arch), 16K and 64K at level 2 */
	t->leaf_levels = g == 12 ? 0x7 : 0x3;
	return pt_geometry(t, 48, concat_bits);
}

static int s1_init(struct pt_table *t)
{
	return v8_init(t, 0);
}

static int s2_init(struct pt_table *t)
{
	t->stage = 2;
	return v8_init(t, 4);
}

const struct pt_fmt_ops pt_vmsav8_s1_ops = {
	.init = s1_init,
	.map = s1_map,
	.unmap = s1_unmap,
	.iova_to_phys = s1_iova_to_phys,
	.walk = s1_walk,
	.dirty = s1_dirty,
	.set_dirty = s1_set_dirty,
	.read_entry = s1_read_entry,
	.free_tree = s1_free_tree,
};

const struct pt_fmt_ops pt_vmsav8_s2_ops = {
	.init = s2_init,
	.map = s2_map,
	.unmap = s2_unmap,
	.iova_to_phys = s2_iova_to_phys,
	.walk = s2_walk,
	.dirty = s2_dirty,
	.set_dirty = s2_set_dirty,
	.read_entry = s2_read_entry,
	.free_tree = s2_free_tree,
};
