/* SPDX-License-Identifier: MIT */
/*
 * pt.h - softiommu page-table library (DESIGN.md layer 6)
 *
 * One contract, several hardware formats:
 *
 *   PT_FMT_VMSAV8_S1  Arm VMSAv8-64 stage 1 (4/16/64 KiB granule, 48-bit OA)
 *   PT_FMT_VMSAV8_S2  Arm VMSAv8-64 stage 2 (ditto, concatenated start tables)
 *   PT_FMT_X86_64     x86-64 4/5-level paging as used by VT-d first stage
 *   PT_FMT_MOCK       the selftest mock IOMMU: 2 KiB pages, 4 KiB tables
 *
 * The library knows nothing about iommufd.  A struct pt_table is a radix
 * tree of descriptors; a "physical address" is an address in the hosting
 * process (DESIGN.md, memory model), so the PA of a host-owned table is its
 * host virtual address and pt_root_pa() can go straight into an STE, CD or
 * PASID entry.
 *
 * Levels.  Inside the library level 0 is the level whose entries map one
 * granule, level 1 the one above it, and so on up to pt_table::top_level.
 * Faults report the level in the *architecture's* numbering instead
 * (VMSAv8: 3 = page level; x86: 1 = PTE, 4 = PML4E, 5 = PML5E; mock: the
 * library numbering), because that is what event records carry.
 *
 * Mock descriptor layout (our own choice, PT_FMT_MOCK):
 *   bit 0  present           bit 3  writeable
 *   bit 1  leaf (0 = table)  bit 4  dirty (set by pt_set_dirty / hardware)
 *   bit 2  readable          bits 51:11  output address (tables: 51:12)
 *
 * Two kinds of table memory:
 *   - host-owned tables are allocated through pt_cfg::alloc_table and can be
 *     mapped, unmapped and walked;
 *   - guest-owned tables (pt_cfg::guest_root_pa != 0) are only walked; every
 *     descriptor is fetched through pt_cfg::read_desc (or, when that is NULL,
 *     by a plain load from the host address equal to the PA).  With
 *     pt_walk_nested() every table address of the guest stage-1 table is an
 *     IPA translated by a stage-2 pt_table first.
 *
 * Return convention: 0 or -errno (STYLE.md habit 5).  No function sets
 * errno.  A walk that ends in a translation fault is not an error of the
 * library: pt_walk() returns -EFAULT and describes the fault as data in
 * struct pt_fault.
 *
 * Concurrency and memory ordering.
 *   - Every descriptor is a naturally aligned 64-bit word, loaded and stored
 *     with __atomic builtins; walkers never see a torn descriptor.
 *   - A new table is zero-filled (or, for a split, filled completely) before
 *     it is published with a release compare-and-swap into its parent
 *     descriptor; walkers load descriptors with acquire ordering, so a
 *     walker that sees the table descriptor sees the table's contents.
 *   - Walks (pt_walk, pt_iova_to_phys, pt_walk_nested) may run at any time,
 *     concurrently with map/unmap/dirty operations, without any lock.  A
 *     walker of a range that is being changed observes, per descriptor,
 *     either the old or the new value: during map it sees "not mapped" or
 *     the new mapping; during unmap the old mapping or "not mapped"; during
 *     a block split the old block or the new table, which translate to the
 *     same address and permissions.  (Real Arm hardware requires
 *     break-before-make for a block->table change; the software model does
 *     the replacement in one atomic store.)
 *   - Map, unmap and pt_read_and_clear_dirty may run concurrently on
 *     *disjoint* ranges: intermediate tables are installed by CAS, so two
 *     maps racing to create the same table agree on one.  Callers must
 *     serialise modifications of overlapping ranges themselves (the IOAS
 *     layer does).
 *   - Dirty bits are set and cleared with compare-and-swap on valid leaves
 *     only, so a concurrent pt_set_dirty() (emulated hardware) is never
 *     lost (it is reported by this pass or the next one) and never
 *     resurrects a descriptor that unmap just cleared.
 *   - Freed tables.  Unmap frees a table page as soon as its parent
 *     descriptor has been cleared, by calling pt_cfg::free_table.  A walker
 *     of the *same* range may still be reading that page.  So either the
 *     caller guarantees that no walker of the unmapped range is running
 *     (e.g. it quiesced DMA to that range, as an IOTLB invalidation does),
 *     or its free_table hook defers the real free until such walkers are
 *     gone (e.g. an epoch/RCU list drained after invalidation).  Walkers of
 *     other ranges are never affected.
 *
 * Not implemented: 52-bit addresses (FEAT_LPA/LPA2), the Contiguous hint,
 * hardware Access flag updates (AF = 0 always faults), FEAT_XNX (only
 * stage-2 XN[1] is used), the S2FWB MemAttr encoding, VT-d second-stage
 * and AMD formats, and the x86 reserved-bit checks beyond PS in PML4E /
 * PML5E (all of those faults are reported as translation faults).
 */
#ifndef SOFTIOMMU_PT_H
#define SOFTIOMMU_PT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pt_table;

/** enum pt_format - descriptor format of a table */
enum pt_format {
	PT_FMT_VMSAV8_S1,
	PT_FMT_VMSAV8_S2,
	PT_FMT_X86_64,
	PT_FMT_MOCK,
};

/* Mapping permissions / attributes (pt_map prot, decoded prot of walks). */
#define PT_PROT_READ	(1u << 0)
#define PT_PROT_WRITE	(1u << 1)
#define PT_PROT_NOEXEC	(1u << 2)	/* VMSAv8 UXN+PXN / S2 XN, x86 XD */
#define PT_PROT_PRIV	(1u << 3)	/* privileged only: S1 AP[1]=0, x86 U/S=0 */
#define PT_PROT_CACHE	(1u << 4)	/* normal write-back cacheable memory */
#define PT_PROT_MMIO	(1u << 5)	/* device memory (VMSAv8 only) */

/* pt_cfg::flags */
#define PT_CFG_DIRTY_TRACKING	(1u << 0)	/* VMSAv8: writable leaves get DBM
						 * and start writable-clean */

/* pt_unmap flags */
#define PT_UNMAP_ALLOW_SPLIT	(1u << 0)

/* pt_read_and_clear_dirty flags */
#define PT_DIRTY_NO_CLEAR	(1u << 0)

/* Access types for pt_walk(). */
#define PT_ACCESS_READ	(1u << 0)
#define PT_ACCESS_WRITE	(1u << 1)
#define PT_ACCESS_EXEC	(1u << 2)
#define PT_ACCESS_PRIV	(1u << 3)	/* privileged request (PnU=1, PR=1) */

/**
 * struct pt_cfg - parameters of a table
 * @fmt: descriptor format
 * @granule_lg2: log2 of the smallest page: 12/14/16 for VMSAv8, 12 for x86,
 *	11 for mock (0 selects that default; VMSAv8 defaults to 12)
 * @ias_lg2: input address bits; 0 = format default (VMSAv8 48, x86 48,
 *	mock derived from @top_level)
 * @oas_lg2: output address bits, at most 48 (0 = 48)
 * @top_level: library level of the root table (0 = derive from @ias_lg2).
 *	For VMSAv8 stage 2 a top level lower than the one derived from
 *	@ias_lg2 selects up to 16 concatenated start tables (VTCR.SL0).
 *	x86: 3 = 4-level, 4 = 5-level.  Mock: 2..4 (default 2, 38-bit input).
 * @flags: PT_CFG_*
 * @alloc_table: returns zeroable memory of @size bytes aligned to @align,
 *	or NULL; default aligned_alloc().  Called for every table page.
 * @free_table: frees what @alloc_table returned; default free().  See the
 *	freed-table rule in the header comment.
 * @alloc_priv: passed to both hooks
 * @guest_root_pa: non-zero makes this a guest-owned, walk-only table with
 *	its root at this (I)PA
 * @read_desc: reads the 64-bit little-endian descriptor at @desc_pa of a
 *	guest-owned table; returns 0 or -errno (reported as PT_FAULT_EXTERNAL).
 *	NULL means a plain load from the host address @desc_pa.
 * @read_priv: passed to @read_desc
 */
struct pt_cfg {
	enum pt_format fmt;
	unsigned int granule_lg2;
	unsigned int ias_lg2;
	unsigned int oas_lg2;
	unsigned int top_level;
	unsigned int flags;
	void *(*alloc_table)(void *priv, size_t size, size_t align);
	void (*free_table)(void *priv, void *table, size_t size);
	void *alloc_priv;
	uint64_t guest_root_pa;
	int (*read_desc)(void *priv, uint64_t desc_pa, uint64_t *desc);
	void *read_priv;
};

/**
 * pt_cfg_vmsav8_s1() - fill @cfg from CD/TCR-style stage-1 fields
 * @cfg: out; other fields (hooks, flags) are preserved
 * @t0sz: TCR.T0SZ, input size is 64 - T0SZ (16..39)
 * @tg0: TCR.TG0 encoding: 0 = 4 KiB, 1 = 64 KiB, 2 = 16 KiB
 * @ips: TCR.IPS encoding: 0=32 1=36 2=40 3=42 4=44 5=48 bits
 *
 * Return: 0, or -EINVAL for an encoding this library does not implement.
 */
int pt_cfg_vmsav8_s1(struct pt_cfg *cfg, unsigned int t0sz, unsigned int tg0,
		     unsigned int ips);

/**
 * pt_cfg_vmsav8_s2() - fill @cfg from STE/VTCR-style stage-2 fields
 * @cfg: out; other fields preserved
 * @t0sz: VTCR.T0SZ (input size 64 - T0SZ)
 * @sl0: VTCR.SL0: 4 KiB 0->L2 1->L1 2->L0; 16/64 KiB 0->L3 1->L2 2->L1
 * @tg0: VTCR.TG0 (as for stage 1)
 * @ps: VTCR.PS (as TCR.IPS)
 *
 * Return: 0, or -EINVAL for an encoding this library does not implement
 * (including a start at level 3, 16/64 KiB SL0 = 0).  pt_table_alloc()
 * then fails with -EINVAL if the start level cannot resolve the input size
 * with at most 16 concatenated tables.
 */
int pt_cfg_vmsav8_s2(struct pt_cfg *cfg, unsigned int t0sz, unsigned int sl0,
		     unsigned int tg0, unsigned int ps);

/**
 * pt_table_alloc() - create a table
 * @cfg: parameters (copied)
 * @out: the new table
 *
 * A host-owned table gets an empty root from @cfg->alloc_table.  A
 * guest-owned table (@cfg->guest_root_pa) allocates nothing but the handle.
 *
 * Return: 0, -EINVAL for bad parameters, -ENOMEM.
 */
int pt_table_alloc(const struct pt_cfg *cfg, struct pt_table **out);

/**
 * pt_table_free() - free every table page and the handle
 * @t: table, may be NULL
 *
 * The caller guarantees nothing walks @t any more.
 */
void pt_table_free(struct pt_table *t);

/** pt_pgsize_bitmap() - bit n set when 2^n-byte leaves are supported */
uint64_t pt_pgsize_bitmap(const struct pt_table *t);

/** pt_root_pa() - PA of the root table (host address, or guest_root_pa) */
uint64_t pt_root_pa(const struct pt_table *t);

/** pt_ias_lg2() - input address bits actually resolved by @t */
unsigned int pt_ias_lg2(const struct pt_table *t);

/** pt_top_level() - library level of the root table */
unsigned int pt_top_level(const struct pt_table *t);

/**
 * pt_map() - map [iova, iova + len) to [pa, pa + len)
 * @t: host-owned table
 * @iova: input address, aligned to the granule
 * @pa: output address, aligned to the granule
 * @len: bytes, a non-zero multiple of the granule
 * @prot: PT_PROT_*; at least one of READ or WRITE
 * @pgsize_bitmap: leaf sizes the caller allows (0 = all supported); must
 *	include the granule
 *
 * Each step uses the largest allowed leaf that @iova, @pa and the remaining
 * length are aligned to.  Existing tables are reused (smaller pages are
 * used inside them).
 *
 * Return: 0; -EINVAL (misaligned, zero length, bad prot or bitmap);
 * -ERANGE (input beyond ias, or output beyond oas); -EADDRINUSE (part of the
 * range is already mapped); -ENOMEM; -EOPNOTSUPP (guest-owned table).  On
 * failure every leaf this call installed has been removed again, so the
 * translations are as before (empty intermediate tables may stay).
 */
int pt_map(struct pt_table *t, uint64_t iova, uint64_t pa, uint64_t len,
	   unsigned int prot, uint64_t pgsize_bitmap);

/**
 * pt_unmap() - unmap the leaves within [iova, iova + len)
 * @t: host-owned table
 * @iova: aligned to the granule
 * @len: non-zero multiple of the granule
 * @flags: PT_UNMAP_ALLOW_SPLIT to split leaves that straddle either end
 * @unmapped: out, bytes whose translation was removed (may be NULL)
 *
 * Holes are skipped.  Without PT_UNMAP_ALLOW_SPLIT a leaf that starts
 * inside the range but ends beyond it is removed whole and counted whole
 * (unmapping the first 4 KiB of a 2 MiB block removes and reports 2 MiB);
 * a leaf that starts *before* @iova fails the call with -EINVAL.  With the
 * flag such leaves are split into smaller leaves so exactly the range is
 * removed.  Tables completely covered by the range are freed.  The only
 * allocations are split tables; they are all allocated before anything is
 * changed, so a failed call changed nothing.
 *
 * Return: 0; -EINVAL; -ERANGE; -ENOMEM (split allocation, nothing
 * changed); -EOPNOTSUPP (guest-owned table).
 */
int pt_unmap(struct pt_table *t, uint64_t iova, uint64_t len,
	     unsigned int flags, uint64_t *unmapped);

/**
 * pt_iova_to_phys() - look up one address
 * @t: table
 * @iova: any input address
 * @pa: out, output address of @iova (offset within the leaf included)
 * @prot: out (may be NULL), decoded PT_PROT_* of the leaf
 * @leaf_lg2: out (may be NULL), log2 of the leaf size
 *
 * Return: 0, -ENOENT if no valid leaf maps @iova (or the walk faulted).
 */
int pt_iova_to_phys(const struct pt_table *t, uint64_t iova, uint64_t *pa,
		    unsigned int *prot, unsigned int *leaf_lg2);

/** enum pt_fault_kind - architectural fault classes */
enum pt_fault_kind {
	PT_FAULT_NONE,
	PT_FAULT_TRANSLATION,	/* invalid descriptor, input out of range */
	PT_FAULT_ACCESS,	/* VMSAv8 AF == 0 */
	PT_FAULT_PERMISSION,
	PT_FAULT_ADDR_SIZE,	/* table/output address beyond oas */
	PT_FAULT_EXTERNAL,	/* read_desc() failed (F_WALK_EABT) */
};

/**
 * struct pt_fault - a walk that did not translate, as data
 * @kind: fault class
 * @stage: 1, or 2 for a stage-2 table (or the stage-2 part of a nested walk)
 * @level: level of the faulting descriptor, architecture numbering (the
 *	start level when the input address is beyond the input size)
 * @s2_on_s1_walk: nested only: stage 2 faulted translating the address of
 *	a stage-1 descriptor (SMMU CLASS=TT), not the final IPA (CLASS=IN)
 * @access: the PT_ACCESS_* of the request
 * @input: input address of the whole walk (VA / IOVA)
 * @ipa: stage-2 faults: the IPA that stage 2 could not translate
 */
struct pt_fault {
	enum pt_fault_kind kind;
	unsigned int stage;
	unsigned int level;
	bool s2_on_s1_walk;
	unsigned int access;
	uint64_t input;
	uint64_t ipa;
};

/**
 * struct pt_walk_result - a successful walk
 * @oa: output address of the input address (offset included)
 * @prot: decoded PT_PROT_* of the leaf (combined over both stages for a
 *	nested walk, and with hierarchical table attributes applied)
 * @leaf_lg2: log2 size of the leaf (nested: the smaller of both stages)
 * @level: library level of the leaf (stage 1 for nested)
 * @desc: the raw leaf descriptor (stage 1 for nested)
 * @dirty: the leaf is in the format's dirty state
 */
struct pt_walk_result {
	uint64_t oa;
	unsigned int prot;
	unsigned int leaf_lg2;
	unsigned int level;
	uint64_t desc;
	bool dirty;
};

/**
 * pt_walk() - translate @iova as the hardware would
 * @t: table (host or guest owned)
 * @iova: input address
 * @access: PT_ACCESS_*; the permission check uses it (0 = no check)
 * @res: out on success
 * @fault: out on fault (may be NULL)
 *
 * Return: 0, or -EFAULT with @fault filled in.
 */
int pt_walk(const struct pt_table *t, uint64_t iova, unsigned int access,
	    struct pt_walk_result *res, struct pt_fault *fault);

/**
 * pt_walk_nested() - stage-1 walk whose table addresses are IPAs
 * @s1: guest-owned stage-1 table (any non-S2 format); its root and every
 *	table address it holds are IPAs
 * @s2: stage-2 table translating IPA -> PA
 * @va: input address
 * @access: PT_ACCESS_*
 * @res: out on success; @res->oa is the final PA
 * @fault: out on fault (may be NULL)
 *
 * Every stage-1 descriptor address is translated by @s2 with a read access
 * before it is fetched (through @s1's read_desc if set, else a host load),
 * and the final IPA is translated by @s2 with @access.
 *
 * Return: 0, or -EFAULT with @fault filled in (@fault->stage tells which).
 */
int pt_walk_nested(const struct pt_table *s1, const struct pt_table *s2,
		   uint64_t va, unsigned int access,
		   struct pt_walk_result *res, struct pt_fault *fault);

/**
 * pt_read_and_clear_dirty() - report and clear dirty leaves in a range
 * @t: host-owned table
 * @iova: start (granule aligned)
 * @len: bytes (granule multiple)
 * @flags: PT_DIRTY_NO_CLEAR to only report
 * @record: called once per dirty leaf with the part of the leaf inside
 *	the range (a leaf bigger than the caller's bitmap granule is reported
 *	whole, as far as it lies in the range)
 * @priv: for @record
 *
 * Dirty state: VMSAv8 S1 DBM=1 && AP[2]=0; S2 DBM=1 && S2AP[1]=1; x86 D;
 * mock dirty bit.  Clearing makes the leaf writable-clean again (S1 sets
 * AP[2], S2 clears S2AP[1], x86/mock clear D) with an atomic RMW.
 *
 * Return: 0, -EINVAL, -ERANGE, -EOPNOTSUPP.
 */
int pt_read_and_clear_dirty(struct pt_table *t, uint64_t iova, uint64_t len,
			    unsigned int flags,
			    void (*record)(void *priv, uint64_t iova,
					   uint64_t len),
			    void *priv);

/**
 * pt_set_dirty() - emulate the hardware marking the leaf of @iova dirty
 * @t: host-owned table
 * @iova: any address inside the leaf
 *
 * Like hardware, the update is an atomic compare-and-swap on a valid leaf,
 * so it may race with an unmap of the same leaf: it then either marks the
 * leaf before it goes away or finds nothing.  The mock format sets its
 * dirty bit on any present leaf (the selftest dirties by IOVA without
 * regard to permissions); x86 sets A and D.
 *
 * Return: 0; -ENOENT (not mapped); -EPERM (x86/VMSAv8: leaf not writable,
 * or for VMSAv8 has no DBM so hardware could not track it).
 */
int pt_set_dirty(struct pt_table *t, uint64_t iova);

/**
 * pt_read_entry() - raw descriptor on the path of @iova at library @level
 * @t: table
 * @iova: input address
 * @level: library level (top_level .. 0)
 * @desc: out
 *
 * For tests and state dumps.  Return: 0, -ENOENT if the walk ends above
 * @level, -EINVAL for a bad level.
 */
int pt_read_entry(const struct pt_table *t, uint64_t iova, unsigned int level,
		  uint64_t *desc);

#ifdef __cplusplus
}
#endif
#endif /* SOFTIOMMU_PT_H */
