// SPDX-License-Identifier: MIT
/*
 * test_pt_golden.c - descriptor encodings checked against hand-derived values
 *
 * Every expected constant below was worked out from the architecture
 * documents, bit by bit, in the comment beside it; none is produced by the
 * encoder under test.  The first half maps through the library and reads the
 * raw descriptors back; the second half builds tables by hand and checks
 * that the walker decodes them (permissions, faults and their levels).
 * Table pages come from an arena, so table descriptors are predictable:
 * allocation n lives at arena + n * 64 KiB.
 */
#include <errno.h>
#include <string.h>

#include "pt.h"
#include "pt_test.h"

#define ARENA_SLOT (64 * 1024)
#define ARENA_SLOTS 16
static _Alignas(65536) uint8_t arena[ARENA_SLOTS * ARENA_SLOT];
static unsigned int arena_next;

static void *arena_alloc(void *priv, size_t size, size_t align)
{
	if (arena_next == ARENA_SLOTS || size > ARENA_SLOT)
		return NULL;
	return &arena[ARENA_SLOT * arena_next++];
}

static void arena_free(void *priv, void *p, size_t size)
{
}

static uint64_t slot(unsigned int n)
{
	return (uintptr_t)&arena[ARENA_SLOT * n];
}

static struct pt_table *mk(enum pt_format fmt, unsigned int g,
			   unsigned int top, unsigned int flags)
{
	struct pt_cfg cfg = {
		.fmt = fmt, .granule_lg2 = g, .top_level = top, .flags = flags,
		.alloc_table = arena_alloc, .free_table = arena_free,
	};
	struct pt_table *t = NULL;

	memset(arena, 0, sizeof(arena));
	arena_next = 0;
	CHECK_EQ(pt_table_alloc(&cfg, &t), 0);
	CHECK_EQ(pt_root_pa(t), slot(0));
	return t;
}

static uint64_t leaf(struct pt_table *t, uint64_t iova, unsigned int lvl)
{
	uint64_t d = 0;

	CHECK_EQ(pt_read_entry(t, iova, lvl, &d), 0);
	return d;
}

#define RW (PT_PROT_READ | PT_PROT_WRITE)

static void golden_mock(void)
{
	struct pt_table *t = mk(PT_FMT_MOCK, 11, 0, 0);

	/* 2 KiB page at level 0: P(1) | LEAF(2) | R(4) | W(8) = 0xf */
	CHECK_EQ(pt_map(t, 0x800, 0x12345800, 0x800, RW, 0), 0);
	CHECK_EQ(leaf(t, 0x800, 0), 0x1234580FULL);
	/* tables: slot | P(1); root = slot 0, level 1 = slot 1, level 0 = 2 */
	CHECK_EQ(leaf(t, 0x800, 2), slot(1) | 1);
	CHECK_EQ(leaf(t, 0x800, 1), slot(2) | 1);
	/* 1 MiB read-only leaf at level 1: P | LEAF | R = 0x7 */
	CHECK_EQ(pt_map(t, 0x100000, 0x40100000, 0x100000, PT_PROT_READ, 0), 0);
	CHECK_EQ(leaf(t, 0x100000, 1), 0x40100007ULL);
	/* 512 MiB write-only leaf at level 2: P | LEAF | W = 0xb */
	CHECK_EQ(pt_map(t, 0x20000000, 0x60000000, 0x20000000, PT_PROT_WRITE,
			0), 0);
	CHECK_EQ(leaf(t, 0x20000000, 2), 0x6000000BULL);
	/* hardware dirty: bit 4 */
	CHECK_EQ(pt_set_dirty(t, 0x20000800), 0);
	CHECK_EQ(leaf(t, 0x20000000, 2), 0x6000001BULL);
	pt_table_free(t);
}

static void golden_x86(void)
{
	struct pt_table *t = mk(PT_FMT_X86_64, 12, 3, 0);

	/*
	 * 4 KiB PTE, writable user page at PA 0x1_2345_6000:
	 * P(bit0)=0x1 | R/W(bit1)=0x2 | U/S(bit2)=0x4 | A(bit5)=0x20 = 0x27
	 */
	CHECK_EQ(pt_map(t, 0x7000, 0x123456000ULL, 0x1000, RW, 0), 0);
	CHECK_EQ(leaf(t, 0x7000, 0), 0x0000000123456027ULL);
	/* non-leaf: P | R/W | U/S | A = 0x27 over the next table */
	CHECK_EQ(leaf(t, 0x7000, 3), slot(1) | 0x27);
	CHECK_EQ(leaf(t, 0x7000, 2), slot(2) | 0x27);
	CHECK_EQ(leaf(t, 0x7000, 1), slot(3) | 0x27);
	/*
	 * 2 MiB PDE, read-only, supervisor, no-execute at PA 0x4000_0000:
	 * P(0x1) | A(0x20) | PS(bit7 = 0x80) = 0xa1; XD = bit 63
	 */
	CHECK_EQ(pt_map(t, 0x200000, 0x40000000, 0x200000,
			PT_PROT_READ | PT_PROT_PRIV | PT_PROT_NOEXEC, 0), 0);
	CHECK_EQ(leaf(t, 0x200000, 1), 0x80000000400000A1ULL);
	/* 1 GiB PDPE, RW user at PA 0x80_4000_0000: 0x27 | PS 0x80 = 0xa7 */
	CHECK_EQ(pt_map(t, 0x40000000, 0x8040000000ULL, 0x40000000, RW, 0), 0);
	CHECK_EQ(leaf(t, 0x40000000, 2), 0x00000080400000A7ULL);
	/* hardware write: A | D(bit6 = 0x40) -> 0xe7 */
	CHECK_EQ(pt_set_dirty(t, 0x40001000), 0);
	CHECK_EQ(leaf(t, 0x40000000, 2), 0x00000080400000E7ULL);
	/* read-only leaves cannot become dirty */
	CHECK_EQ(pt_set_dirty(t, 0x200000), -EPERM);
	pt_table_free(t);
}

static void golden_s1(void)
{
	struct pt_table *t = mk(PT_FMT_VMSAV8_S1, 12, 0, 0);

	/*
	 * 4 KiB page (level 3), RW cacheable at PA 0x8_1234_5000:
	 * bits[1:0] = 0b11 (page)         0x003
	 * AttrIndx[4:2] = 1 (WB)          0x004
	 * AP[1] (bit6) = 1 unprivileged   0x040
	 * AP[2] (bit7) = 0 writable
	 * SH[9:8] = 0b11 inner shareable  0x300
	 * AF (bit10)                      0x400
	 * nG (bit11)                      0x800
	 *                          total  0xf47
	 */
	CHECK_EQ(pt_map(t, 0x5000, 0x812345000ULL, 0x1000, RW | PT_PROT_CACHE,
			0), 0);
	CHECK_EQ(leaf(t, 0x5000, 0), 0x0000000812345F47ULL);
	/* table descriptors: address | 0b11 */
	CHECK_EQ(leaf(t, 0x5000, 3), slot(1) | 3);
	CHECK_EQ(leaf(t, 0x5000, 1), slot(3) | 3);
	/*
	 * 2 MiB block (level 2), read-only, privileged, non-cacheable,
	 * no-exec, PA 0x4020_0000:
	 * bits[1:0] = 0b01 (block) 0x001; AttrIndx 0; AP[1] = 0;
	 * AP[2] (bit7) = 1 0x080; SH = 0b10 outer 0x200; AF 0x400; nG 0x800
	 * -> 0xe81; PXN bit53 | UXN bit54 = 0x0060_0000_0000_0000
	 */
	CHECK_EQ(pt_map(t, 0x400000, 0x40200000, 0x200000,
			PT_PROT_READ | PT_PROT_PRIV | PT_PROT_NOEXEC, 0), 0);
	CHECK_EQ(leaf(t, 0x400000, 1), 0x0060000040200E81ULL);
	/* 1 GiB block (level 1), RW device memory at PA 0xc000_0000:
	 * 0b01 | AttrIndx 2 (0x8) | AP[1] 0x40 | SH outer 0x200 | AF | nG
	 * = 0x1 + 0x8 + 0x40 + 0x200 + 0x400 + 0x800 = 0xe49 */
	CHECK_EQ(pt_map(t, 0x40000000, 0xC0000000, 0x40000000,
			RW | PT_PROT_MMIO, 0), 0);
	CHECK_EQ(leaf(t, 0x40000000, 2), 0x00000000C0000E49ULL);
	/* no DBM: writable but not trackable */
	CHECK_EQ(pt_set_dirty(t, 0x5000), -EPERM);
	pt_table_free(t);

	/* with dirty tracking: writable-clean = DBM(bit51) | AP[2](0x80) */
	t = mk(PT_FMT_VMSAV8_S1, 12, 0, PT_CFG_DIRTY_TRACKING);
	CHECK_EQ(pt_map(t, 0x5000, 0x812345000ULL, 0x1000, RW | PT_PROT_CACHE,
			0), 0);
	CHECK_EQ(leaf(t, 0x5000, 0), 0x0008000812345FC7ULL);
	/* hardware write clears AP[2]: 0xfc7 - 0x80 = 0xf47 */
	CHECK_EQ(pt_set_dirty(t, 0x5000), 0);
	CHECK_EQ(leaf(t, 0x5000, 0), 0x0008000812345F47ULL);
	CHECK_EQ(pt_read_and_clear_dirty(t, 0, 0x10000, 0, NULL, NULL), 0);
	CHECK_EQ(leaf(t, 0x5000, 0), 0x0008000812345FC7ULL);
	pt_table_free(t);

	/* 64 KiB granule: 64 KiB page 0xf47 and 512 MiB block 0xf45 */
	t = mk(PT_FMT_VMSAV8_S1, 16, 0, 0);
	CHECK_EQ(pt_top_level(t), 2);	/* 48-bit input starts at level 1 */
	CHECK_EQ(pt_map(t, 0x10000, 0x123450000ULL, 0x10000,
			RW | PT_PROT_CACHE, 0), 0);
	CHECK_EQ(leaf(t, 0x10000, 0), 0x0000000123450F47ULL);
	CHECK_EQ(pt_map(t, 0x20000000, 0x20000000, 0x20000000,
			RW | PT_PROT_CACHE, 0), 0);
	CHECK_EQ(leaf(t, 0x20000000, 1), 0x0000000020000F45ULL);
	CHECK_EQ(pt_pgsize_bitmap(t), 0x10000ULL | 0x20000000ULL);
	pt_table_free(t);

	/* 16 KiB granule: 16 KiB page and 32 MiB block */
	t = mk(PT_FMT_VMSAV8_S1, 14, 0, 0);
	CHECK_EQ(pt_top_level(t), 3);	/* level 0 resolves 1 bit */
	CHECK_EQ(pt_map(t, 0x4000, 0x4000, 0x4000, RW | PT_PROT_CACHE, 0), 0);
	CHECK_EQ(leaf(t, 0x4000, 0), 0x0000000000004F47ULL);
	CHECK_EQ(pt_map(t, 0x2000000, 0x6000000, 0x2000000,
			RW | PT_PROT_CACHE, 0), 0);
	CHECK_EQ(leaf(t, 0x2000000, 1), 0x0000000006000F45ULL);
	CHECK_EQ(pt_pgsize_bitmap(t), 0x4000ULL | 0x2000000ULL);
	pt_table_free(t);
}

static void golden_s2(void)
{
	struct pt_table *t = mk(PT_FMT_VMSAV8_S2, 12, 0, 0);

	/*
	 * 4 KiB page, RW, cacheable at PA 0x8_1234_5000:
	 * 0b11 0x003 | MemAttr[5:2] = 0xf (0x3c) | S2AP[0] read 0x40 |
	 * S2AP[1] write 0x80 | SH inner 0x300 | AF 0x400 = 0x7ff
	 */
	CHECK_EQ(pt_map(t, 0x5000, 0x812345000ULL, 0x1000, RW | PT_PROT_CACHE,
			0), 0);
	CHECK_EQ(leaf(t, 0x5000, 0), 0x00000008123457FFULL);
	/*
	 * 2 MiB block, read-only, normal non-cacheable, XN:
	 * 0b01 | MemAttr 0x5 (0x14) | S2AP read 0x40 | SH outer 0x200 | AF
	 * = 0x655; XN[1] = bit 54
	 */
	CHECK_EQ(pt_map(t, 0x400000, 0x40200000, 0x200000,
			PT_PROT_READ | PT_PROT_NOEXEC, 0), 0);
	CHECK_EQ(leaf(t, 0x400000, 1), 0x0040000040200655ULL);
	pt_table_free(t);

	/* dirty tracking: writable-clean = DBM, S2AP[1] clear: 0x77f */
	t = mk(PT_FMT_VMSAV8_S2, 12, 0, PT_CFG_DIRTY_TRACKING);
	CHECK_EQ(pt_map(t, 0x5000, 0x812345000ULL, 0x1000, RW | PT_PROT_CACHE,
			0), 0);
	CHECK_EQ(leaf(t, 0x5000, 0), 0x000800081234577FULL);
	CHECK_EQ(pt_set_dirty(t, 0x5000), 0);
	CHECK_EQ(leaf(t, 0x5000, 0), 0x00080008123457FFULL);
	pt_table_free(t);
}

/* ---- decode: hand-built tables walked as guest-owned ------------------- */

static _Alignas(4096) uint64_t g0[512], g1[512], g2[512], g3[512];

/* Guest "physical" memory: PA 0x1000 * (n + 1) is table gn. */
static uint64_t *const gmem[] = { g0, g1, g2, g3 };

static uint64_t pa_of(const uint64_t *p)
{
	for (unsigned int i = 0; i < 4; i++)
		if (p == gmem[i])
			return 0x1000 * (i + 1);
	return 0;
}

static unsigned int reads;

static int read_desc(void *priv, uint64_t pa, uint64_t *desc)
{
	uint64_t n = pa / 0x1000;

	reads++;
	if (n < 1 || n > 4 || (pa & 7))
		return -EIO;
	*desc = gmem[n - 1][(pa & 0xfff) / 8];
	return 0;
}

static struct pt_table *guest(enum pt_format fmt, unsigned int top,
			      unsigned int oas, unsigned int flags)
{
	struct pt_cfg cfg = { .fmt = fmt, .granule_lg2 = 12, .top_level = top,
			      .oas_lg2 = oas, .flags = flags,
			      .guest_root_pa = pa_of(g0),
			      .read_desc = read_desc };
	struct pt_table *t = NULL;

	CHECK_EQ(pt_table_alloc(&cfg, &t), 0);
	return t;
}

static int walk(struct pt_table *t, uint64_t va, unsigned int acc,
		struct pt_walk_result *r, struct pt_fault *f)
{
	memset(f, 0, sizeof(*f));
	return pt_walk(t, va, acc, r, f);
}

static void decode_s1(void)
{
	struct pt_walk_result r;
	struct pt_fault f;
	struct pt_table *t;
	/* VA 0x4060_1234: L0 idx 0, L1 idx 1, L2 idx 3, offset 0x1234 */
	uint64_t va = (1ULL << 30) | (3ULL << 21) | 0x1234;

	memset(g0, 0, sizeof(g0));
	memset(g1, 0, sizeof(g1));
	memset(g2, 0, sizeof(g2));
	g0[0] = pa_of(g1) | 3;
	g1[1] = pa_of(g2) | 3;
	g2[3] = 0x0060000040200E81ULL;	/* block RO priv XN, see golden_s1 */
	t = guest(PT_FMT_VMSAV8_S1, 0, 48, 0);

	CHECK_EQ(walk(t, va, PT_ACCESS_READ | PT_ACCESS_PRIV, &r, &f), 0);
	CHECK_EQ(r.oa, 0x40200000ULL + 0x1234);
	CHECK_EQ(r.leaf_lg2, 21);
	CHECK_EQ(r.prot, PT_PROT_READ | PT_PROT_PRIV | PT_PROT_NOEXEC);
	/* unprivileged read: AP[1] = 0 -> permission fault, level 2 */
	CHECK_EQ(walk(t, va, PT_ACCESS_READ, &r, &f), -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_PERMISSION);
	CHECK_EQ(f.level, 2);
	CHECK_EQ(f.stage, 1);
	CHECK_EQ(f.input, va);
	CHECK_EQ(walk(t, va, PT_ACCESS_WRITE | PT_ACCESS_PRIV, &r, &f), -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_PERMISSION);
	CHECK_EQ(walk(t, va, PT_ACCESS_EXEC | PT_ACCESS_PRIV, &r, &f), -EFAULT);
	/* AF = 0 -> access flag fault */
	g2[3] &= ~(1ULL << 10);
	CHECK_EQ(walk(t, va, PT_ACCESS_READ | PT_ACCESS_PRIV, &r, &f), -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_ACCESS);
	CHECK_EQ(f.level, 2);
	/* invalid at level 1 -> translation fault, level 1 */
	CHECK_EQ(walk(t, 2ULL << 30, PT_ACCESS_READ, &r, &f), -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_TRANSLATION);
	CHECK_EQ(f.level, 1);
	/* a block descriptor (0b01) at level 0 is invalid for 4 KiB */
	g0[1] = 0x0000008000000401ULL;
	CHECK_EQ(walk(t, 1ULL << 39, PT_ACCESS_READ, &r, &f), -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_TRANSLATION);
	CHECK_EQ(f.level, 0);
	/* page descriptor at level 3 with bits[1:0] = 0b01 is invalid */
	g2[4] = pa_of(g3) | 3;
	g3[0] = 0x0000000050000441ULL;	/* 0b01 | AP[1] | AF */
	CHECK_EQ(walk(t, (1ULL << 30) | (4ULL << 21), PT_ACCESS_READ, &r, &f),
		 -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_TRANSLATION);
	CHECK_EQ(f.level, 3);
	/* 0b11 there is a page: 0x443 = page | AP[1] | AF */
	g3[0] = 0x0000000050000443ULL;
	CHECK_EQ(walk(t, (1ULL << 30) | (4ULL << 21) | 0x10, PT_ACCESS_WRITE,
		      &r, &f), 0);
	CHECK_EQ(r.oa, 0x50000010ULL);
	/* APTable[1] (bit 62) on the level-2 table removes write below it */
	g2[4] |= 1ULL << 62;
	CHECK_EQ(walk(t, (1ULL << 30) | (4ULL << 21), PT_ACCESS_WRITE, &r, &f),
		 -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_PERMISSION);
	CHECK_EQ(f.level, 3);
	pt_table_free(t);

	/* output address 0x100_0000_0000 (bit 40) beyond a 40-bit OAS */
	t = guest(PT_FMT_VMSAV8_S1, 0, 40, 0);
	g3[1] = 0x0000010000000443ULL;
	g2[4] &= ~(1ULL << 62);
	CHECK_EQ(walk(t, (1ULL << 30) | (4ULL << 21) | 0x1000, PT_ACCESS_READ,
		      &r, &f), -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_ADDR_SIZE);
	CHECK_EQ(f.level, 3);
	/* a table at PA 0x100_0000_0000 is beyond the OAS too, at level 2 */
	g2[5] = 0x0000010000000003ULL;
	CHECK_EQ(walk(t, (1ULL << 30) | (5ULL << 21), PT_ACCESS_READ, &r, &f),
		 -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_ADDR_SIZE);
	CHECK_EQ(f.level, 2);
	/* a table the accessor cannot read: external abort at level 3 */
	g2[6] = 0x0000000000009003ULL;
	CHECK_EQ(walk(t, (1ULL << 30) | (6ULL << 21), PT_ACCESS_READ, &r, &f),
		 -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_EXTERNAL);
	CHECK_EQ(f.level, 3);
	/* input beyond 2^48 -> translation fault */
	CHECK_EQ(walk(t, 1ULL << 48, PT_ACCESS_READ, &r, &f), -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_TRANSLATION);
	pt_table_free(t);
}

static void decode_x86(void)
{
	struct pt_walk_result r;
	struct pt_fault f;
	struct pt_table *t;
	/* VA: PML4 idx 0, PDPT idx 2, PD idx 5, PT idx 7 */
	uint64_t va = (2ULL << 30) | (5ULL << 21) | (7ULL << 12) | 0x10;

	memset(g0, 0, sizeof(g0));
	memset(g1, 0, sizeof(g1));
	memset(g2, 0, sizeof(g2));
	memset(g3, 0, sizeof(g3));
	g0[0] = pa_of(g1) | 0x7;	/* P | R/W | U/S */
	g1[2] = pa_of(g2) | 0x7;
	g2[5] = pa_of(g3) | 0x5;	/* P | U/S: read-only below */
	g3[7] = 0x0000000077777067ULL;	/* P R/W U/S A D */
	t = guest(PT_FMT_X86_64, 3, 0, 0);
	CHECK_EQ(walk(t, va, PT_ACCESS_READ, &r, &f), 0);
	CHECK_EQ(r.oa, 0x77777010ULL);
	CHECK(r.dirty);
	CHECK_EQ(r.prot, PT_PROT_READ);	/* R/W ANDed over levels */
	CHECK_EQ(walk(t, va, PT_ACCESS_WRITE, &r, &f), -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_PERMISSION);
	CHECK_EQ(f.level, 1);
	/* 2 MiB PDE (PS) supervisor-only: user access faults at level 2 */
	g2[6] = 0x00000000AA2000A3ULL;	/* P R/W A PS */
	CHECK_EQ(walk(t, (2ULL << 30) | (6ULL << 21) | 0x5, PT_ACCESS_READ |
		      PT_ACCESS_PRIV, &r, &f), 0);
	CHECK_EQ(r.oa, 0xAA200005ULL);
	CHECK_EQ(r.leaf_lg2, 21);
	CHECK_EQ(walk(t, (2ULL << 30) | (6ULL << 21), PT_ACCESS_READ, &r, &f),
		 -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_PERMISSION);
	CHECK_EQ(f.level, 2);
	/* not present at the PDPT: translation fault, level 3 */
	CHECK_EQ(walk(t, 3ULL << 30, PT_ACCESS_READ, &r, &f), -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_TRANSLATION);
	CHECK_EQ(f.level, 3);
	/* PS in a PML4E is reserved */
	g0[1] = 0x0000008000000087ULL;
	CHECK_EQ(walk(t, 1ULL << 39, PT_ACCESS_READ, &r, &f), -EFAULT);
	CHECK_EQ(f.kind, PT_FAULT_TRANSLATION);
	CHECK_EQ(f.level, 4);
	pt_table_free(t);
}

static void cfg_helpers(void)
{
	struct pt_cfg cfg = { 0 };
	struct pt_table *t;

	/* T0SZ 16 (48-bit), TG0 0 (4K), IPS 5 (48-bit) */
	CHECK_EQ(pt_cfg_vmsav8_s1(&cfg, 16, 0, 5), 0);
	CHECK_EQ(cfg.granule_lg2, 12);
	CHECK_EQ(cfg.ias_lg2, 48);
	CHECK_EQ(cfg.oas_lg2, 48);
	CHECK_EQ(pt_cfg_vmsav8_s1(&cfg, 16, 3, 5), -EINVAL);
	CHECK_EQ(pt_cfg_vmsav8_s1(&cfg, 16, 0, 6), -EINVAL);	/* 52-bit */
	/* VTCR T0SZ 24 (40-bit IPA), SL0 1 (start level 1), 4K: level 1
	 * resolves IPA[39:30] = 10 bits = 2 concatenated tables */
	CHECK_EQ(pt_cfg_vmsav8_s2(&cfg, 24, 1, 0, 2), 0);
	CHECK_EQ(pt_table_alloc(&cfg, &t), 0);
	CHECK_EQ(pt_top_level(t), 2);
	CHECK_EQ(pt_ias_lg2(t), 40);
	CHECK_EQ(pt_map(t, 0xFFC0000000ULL, 0x40000000, 0x40000000,
			PT_PROT_READ, 0), 0);
	pt_table_free(t);
	/* SL0 0 (start level 2) would need 2^(40-30) = 1024 tables */
	CHECK_EQ(pt_cfg_vmsav8_s2(&cfg, 24, 0, 0, 2), 0);
	CHECK_EQ(pt_table_alloc(&cfg, &t), -EINVAL);
	/* 64K, T0SZ 22 (42 bits), SL0 1 (start level 2): 42-29 = 13 bits */
	CHECK_EQ(pt_cfg_vmsav8_s2(&cfg, 22, 1, 1, 3), 0);
	CHECK_EQ(pt_table_alloc(&cfg, &t), 0);
	CHECK_EQ(pt_top_level(t), 1);
	pt_table_free(t);
}

int main(void)
{
	golden_mock();
	golden_x86();
	golden_s1();
	golden_s2();
	decode_s1();
	decode_x86();
	cfg_helpers();
	return pt_test_done();
}
