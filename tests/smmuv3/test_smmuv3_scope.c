// SPDX-License-Identifier: MIT
/*
 * The exact scope of every accepted IOMMU_HWPT_INVALIDATE command (issue 7, "every
 * accepted command's exact invalidation scope"): the guest changes its tables for VAs
 * inside and outside a command's scope without invalidating, issues the command, and DMA
 * shows which cached translations died (they see the new tables) and which survived (the
 * old, stale, translation): VA ranges and their edges (first and last page, NUM/SCALE
 * ranges of each granule, TTL hints, a block partly covered), other ASIDs, global leaves
 * (nG = 0: TLBI_NH_ASID keeps them, TLBI_NH_VA of any ASID kills them), another vIOMMU's
 * VMID, CFGI_* and ATC_INV of another device, and a batch of commands in one call.
 */
#include "nest_fixture.h"

#define OP_CFGI_CD(vsid, ssid) (0x05 | (uint64_t)(ssid) << 12 | (uint64_t)(vsid) << 32)
#define OP_CFGI_CD_ALL(vsid) (0x06 | (uint64_t)(vsid) << 32)
#define OP_TLBI_NH_ALL 0x10ULL
#define OP_TLBI_NH_ASID(asid) (0x11 | (uint64_t)(asid) << 48)
#define OP_TLBI_NH_VA(asid) (0x12 | (uint64_t)(asid) << 48)
#define OP_TLBI_NH_VAA 0x13ULL
#define OP_TLBI_NSNH_ALL 0x30ULL
#define OP_ATC_INV(vsid) (0x40 | (uint64_t)(vsid) << 32)
/* Range fields: NUM, SCALE in dword 0; TG, TTL, Leaf in dword 1 */
#define RNG(num, scale) ((uint64_t)(num) << 12 | (uint64_t)(scale) << 20)
#define TG(tg) ((uint64_t)(tg) << 10)
#define TTL(l) ((uint64_t)(l) << 8)
#define LEAF 1ULL

#define ASID_A 5
#define ASID_B 6
#define NPAGES 48 /* VA .. VA + NPAGES pages are mapped and cached */
#define VSID2 0x20

/*
 * The fixture's device on CD 0 (ASID A, SSID 0) and CD 1 (ASID B, SSID 1), both over the
 * tables at root; a second device (PSID 0x43) behind a second vIOMMU, on another stage-2
 * parent (another VMID) of the same SMMU, with CD 0 of its own table (ASID A too)
 */
struct scope {
	struct nest n;
	struct softiommu_dev *dev2;
	unsigned int dev2_id;
	uint32_t s2b, viommu2, vdev2, hwpt2;
	uint64_t cdt2, old_pg, new_pg;
};

static void scope_init(struct scope *s, uint64_t leaf_attrs)
{
	struct nest *n = &s->n;
	unsigned int pt;

	nest_init(n);
	s->old_pg = guest_pages(&n->g, 1);
	s->new_pg = guest_pages(&n->g, 1);
	memset(guest_ptr(&n->g, s->old_pg), 'O', PG);
	memset(guest_ptr(&n->g, s->new_pg), 'N', PG);
	for (unsigned int i = 0; i != NPAGES; i++)
		guest_map(&n->g, n->root, VA + i * PG, s->old_pg, S1_RW | leaf_attrs);
	guest_cd(&n->g, n->cdt, 0, CD_DEFAULT | CD_ASID(ASID_A), n->root, 0);
	guest_cd(&n->g, n->cdt, 1, CD_DEFAULT | CD_ASID(ASID_B), n->root, 0);
	CHECK_OK(nest_ste(n, STE_S1 | n->cdt | STE_CDMAX(1), STE1_DSS(2)));

	s->cdt2 = guest_pages(&n->g, 1);
	guest_cd(&n->g, s->cdt2, 0, CD_DEFAULT | CD_ASID(ASID_A), n->root, 0);
	CHECK_OK(softiommu_dev_create(n->fd, "smmuv3:sid=0x43", SMMUV3_DEV_PASID, &s->dev2,
				      &s->dev2_id));
	CHECK_OK(t_hwpt_alloc(n->fd, s->dev2_id, n->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
			      IOMMU_HWPT_DATA_NONE, NULL, 0, &s->s2b));
	CHECK_OK(t_viommu_alloc(n->fd, s->dev2_id, s->s2b, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0,
				&s->viommu2));
	CHECK_OK(t_vdevice_alloc(n->fd, s->viommu2, s->dev2_id, VSID2, &s->vdev2));
	CHECK_OK(t_nested_alloc(n->fd, s->dev2_id, s->viommu2, STE_S1 | s->cdt2, 0, &s->hwpt2));
	pt = s->hwpt2;
	CHECK_OK(softiommu_dev_attach(s->dev2, 0, &pt));
}

static void scope_fini(struct scope *s)
{
	softiommu_dev_destroy(s->dev2);
	nest_fini(&s->n);
}

/* What @dev at (@pasid, page @i) reads: 'O' (a stale entry) or 'N' (a new walk) */
static char rd(struct softiommu_dev *dev, uint32_t pasid, unsigned int i)
{
	char c = 0;

	CHECK_OK(softiommu_dma_read(dev, pasid, VA + i * PG, &c, 1));
	return c;
}

/* Every page cached with the old tables, then the tables moved to the new page */
static void warm_and_change(struct scope *s)
{
	struct nest *n = &s->n;

	for (unsigned int i = 0; i != NPAGES; i++)
		guest_map(&n->g, n->root, VA + i * PG, s->old_pg, S1_RW | (*guest_pte(&n->g,
			  n->root, VA + i * PG) & S1_NG));
	CHECK_OK(t_inv1(n->fd, n->viommu, OP_TLBI_NH_ALL, 0));
	CHECK_OK(t_inv1(n->fd, s->viommu2, OP_TLBI_NH_ALL, 0));
	for (unsigned int i = 0; i != NPAGES; i++) {
		CHECK(rd(n->dev, 0, i) == 'O');
		CHECK(rd(n->dev, 1, i) == 'O');
		CHECK(rd(s->dev2, 0, i) == 'O');
	}
	for (unsigned int i = 0; i != NPAGES; i++)
		guest_map(&n->g, n->root, VA + i * PG, s->new_pg, S1_RW | (*guest_pte(&n->g,
			  n->root, VA + i * PG) & S1_NG));
	/* Nothing invalidated yet: every entry is stale */
	for (unsigned int i = 0; i != NPAGES; i++)
		CHECK(rd(n->dev, 0, i) == 'O');
}

/* Pages [@first, @last] of (dev, SSID 0) are new, the others old */
static void expect_pages(struct scope *s, unsigned int first, unsigned int last,
			 const char *what)
{
	for (unsigned int i = 0; i != NPAGES; i++) {
		char want = (i >= first && i <= last) ? 'N' : 'O', got = rd(s->n.dev, 0, i);

		if (got != want)
			fprintf(stderr, "%s: page %u reads %c, expected %c\n", what, i, got, want);
		CHECK(got == want);
	}
}

/* Which of SSID 1 (ASID B) and the other vIOMMU's device see the new tables */
static void expect_others(struct scope *s, char ssid1, char dev2)
{
	for (unsigned int i = 0; i != NPAGES; i++) {
		CHECK(rd(s->n.dev, 1, i) == ssid1);
		CHECK(rd(s->dev2, 0, i) == dev2);
	}
}

/* TLBI_NH_VA of ASID A: its VA range only; ASID B and the other VMID keep theirs */
static void test_va_ranges(void)
{
	static const struct {
		uint64_t d0, d1off; /* command dwords beside the opcode/ASID and address */
		unsigned int first, n;
		const char *what;
	} cases[] = {
		{ 0, 0, 3, 1, "TG 0: one page" },
		{ 0, LEAF | TTL(3), 3, 1, "TG 0, Leaf, TTL 3" },
		{ RNG(0, 0), TG(1), 0, 1, "the first page" },
		{ RNG(0, 0), TG(1), NPAGES - 1, 1, "the last page" },
		{ RNG(3, 0), TG(1), 2, 4, "NUM 3" },
		{ RNG(3, 0), TG(1) | TTL(3) | LEAF, 2, 4, "NUM 3, TTL 3, Leaf" },
		{ RNG(1, 1), TG(1), 8, 4, "NUM 1 SCALE 1" },
		{ RNG(0, 4), TG(1), 16, 16, "SCALE 4" },
		{ RNG(0, 0), TG(2), 4, 4, "one 16 KiB granule" },
		{ RNG(1, 0), TG(3), 16, 32, "two 64 KiB granules" },
	};

	for (size_t c = 0; c != sizeof(cases) / sizeof(cases[0]); c++) {
		struct scope s;

		scope_init(&s, S1_NG);
		warm_and_change(&s);
		CHECK_OK(t_inv1(s.n.fd, s.n.viommu, OP_TLBI_NH_VA(ASID_A) | cases[c].d0,
				(VA + cases[c].first * PG) | cases[c].d1off));
		expect_pages(&s, cases[c].first, cases[c].first + cases[c].n - 1, cases[c].what);
		expect_others(&s, 'O', 'O');
		/* ASID B's TLBI of the same range reaches SSID 1 only */
		CHECK_OK(t_inv1(s.n.fd, s.n.viommu, OP_TLBI_NH_VA(ASID_B) | cases[c].d0,
				(VA + cases[c].first * PG) | cases[c].d1off));
		for (unsigned int i = 0; i != NPAGES; i++) {
			bool in = i >= cases[c].first && i < cases[c].first + cases[c].n;

			CHECK(rd(s.n.dev, 1, i) == (in ? 'N' : 'O'));
		}
		expect_pages(&s, cases[c].first, cases[c].first + cases[c].n - 1, cases[c].what);
		scope_fini(&s);
	}
}

/* TLBI_NH_VAA: a range of every ASID of the VMID; TLBI_NH_ASID: one ASID, every VA */
static void test_vaa_asid(void)
{
	struct scope s;

	scope_init(&s, S1_NG);
	warm_and_change(&s);
	CHECK_OK(t_inv1(s.n.fd, s.n.viommu, OP_TLBI_NH_VAA | RNG(1, 0), (VA + 6 * PG) | TG(1)));
	expect_pages(&s, 6, 7, "VAA");
	for (unsigned int i = 0; i != NPAGES; i++)
		CHECK(rd(s.n.dev, 1, i) == (i == 6 || i == 7 ? 'N' : 'O'));
	for (unsigned int i = 0; i != NPAGES; i++)
		CHECK(rd(s.dev2, 0, i) == 'O');
	scope_fini(&s);

	scope_init(&s, S1_NG);
	warm_and_change(&s);
	CHECK_OK(t_inv1(s.n.fd, s.n.viommu, OP_TLBI_NH_ASID(ASID_A), 0));
	expect_pages(&s, 0, NPAGES - 1, "ASID A");
	expect_others(&s, 'O', 'O');
	CHECK_OK(t_inv1(s.n.fd, s.n.viommu, OP_TLBI_NH_ASID(ASID_B), 0));
	expect_others(&s, 'N', 'O');
	/* The other vIOMMU's own TLBI_NH_ASID of the same ASID reaches its device */
	CHECK_OK(t_inv1(s.n.fd, s.viommu2, OP_TLBI_NH_ASID(ASID_A), 0));
	expect_others(&s, 'N', 'N');
	scope_fini(&s);
}

/* TLBI_NH_ALL and TLBI_NSNH_ALL: the vIOMMU's VMID whole, the other vIOMMU untouched */
static void test_all(void)
{
	static const uint64_t ops[] = { OP_TLBI_NH_ALL, OP_TLBI_NSNH_ALL };

	for (size_t o = 0; o != 2; o++) {
		struct scope s;

		scope_init(&s, o ? 0 : S1_NG); /* NSNH_ALL over global leaves */
		warm_and_change(&s);
		CHECK_OK(t_inv1(s.n.fd, s.n.viommu, ops[o], 0));
		expect_pages(&s, 0, NPAGES - 1, "ALL");
		expect_others(&s, 'N', 'O');
		scope_fini(&s);
	}
}

/*
 * Global leaves (nG = 0) are every ASID's: TLBI_NH_ASID keeps them, TLBI_NH_VA of any
 * ASID (one the CD does not use included) kills them in its range
 */
static void test_global(void)
{
	struct scope s;

	scope_init(&s, 0);
	warm_and_change(&s);
	CHECK_OK(t_inv1(s.n.fd, s.n.viommu, OP_TLBI_NH_ASID(ASID_A), 0));
	CHECK_OK(t_inv1(s.n.fd, s.n.viommu, OP_TLBI_NH_ASID(ASID_B), 0));
	expect_pages(&s, 1, 0, "global after ASID");
	expect_others(&s, 'O', 'O');
	CHECK_OK(t_inv1(s.n.fd, s.n.viommu, OP_TLBI_NH_VA(77), VA + 9 * PG));
	expect_pages(&s, 9, 9, "global after VA of ASID 77");
	CHECK(rd(s.n.dev, 1, 9) == 'N');
	CHECK(rd(s.n.dev, 1, 10) == 'O');
	CHECK(rd(s.dev2, 0, 9) == 'O');
	scope_fini(&s);
}

/*
 * A 2 MiB stage-1 block: a range that covers part of it kills the translations it covers
 * (those the guest must have changed, break-before-make), nothing outside the block
 */
static void test_block(void)
{
	const uint64_t bva = 0x40000000ULL, bipa = GIPA + (4 << 20);
	struct guest blk;
	struct scope s;
	uint64_t *l2, table;
	char c;

	scope_init(&s, S1_NG);
	guest_init(&blk, s.n.fd, s.n.ioas, bipa, 4 << 20);
	memset(blk.ram, 'O', 2 << 20);
	memset(blk.ram + (2 << 20), 'N', 2 << 20);
	/* The level-2 slot of bva: tables of levels 0 and 1 in the fixture's guest */
	table = s.n.root;
	for (unsigned int level = 0; level != 2; level++) {
		uint64_t *d = guest_u64(&s.n.g, table) + ((bva >> (39 - 9 * level)) & 511);

		if (!(*d & 1))
			*d = guest_pages(&s.n.g, 1) | 3;
		table = *d & 0x0000fffffffff000ULL;
	}
	l2 = guest_u64(&s.n.g, table) + ((bva >> 21) & 511);
	__atomic_store_n(l2, bipa | S1_RW | S1_NG | 1, __ATOMIC_RELEASE);
	CHECK_OK(t_inv1(s.n.fd, s.n.viommu, OP_TLBI_NH_ALL, 0));
	for (unsigned int i = 0; i != 512; i += 64) {
		CHECK_OK(softiommu_dma_read(s.n.dev, 0, bva + i * PG, &c, 1));
		CHECK(c == 'O');
	}
	CHECK(rd(s.n.dev, 0, 0) == 'O');
	__atomic_store_n(l2, (bipa + (2 << 20)) | S1_RW | S1_NG | 1, __ATOMIC_RELEASE);
	CHECK_OK(t_inv1(s.n.fd, s.n.viommu, OP_TLBI_NH_VA(ASID_A) | RNG(1, 0),
			(bva + 127 * PG) | TG(1) | TTL(2)));
	CHECK_OK(softiommu_dma_read(s.n.dev, 0, bva + 128 * PG, &c, 1));
	CHECK(c == 'N');
	CHECK_OK(softiommu_dma_read(s.n.dev, 0, bva + 127 * PG, &c, 1));
	CHECK(c == 'N');
	/* Outside the block, the fixture's pages are untouched */
	CHECK(rd(s.n.dev, 0, 0) == 'O');
	/* The whole block's range: every translation of it is new */
	CHECK_OK(t_inv1(s.n.fd, s.n.viommu, OP_TLBI_NH_VA(ASID_A) | RNG(0, 9), bva | TG(1)));
	for (unsigned int i = 0; i != 512; i += 64) {
		CHECK_OK(softiommu_dma_read(s.n.dev, 0, bva + i * PG, &c, 1));
		CHECK(c == 'N');
	}
	scope_fini(&s);
	guest_fini(&blk);
}

/* CFGI_CD, CFGI_CD_ALL and ATC_INV of one device: another device's entries survive */
static void test_cfgi_atc(void)
{
	static const uint64_t ops[][2] = {
		{ OP_CFGI_CD(VSID, 0), 0 }, { OP_CFGI_CD(VSID, 0), 1 }, /* Leaf */
		{ OP_CFGI_CD_ALL(VSID), 0 }, { OP_ATC_INV(VSID), 0 },
	};

	for (size_t o = 0; o != sizeof(ops) / sizeof(ops[0]); o++) {
		struct scope s;

		scope_init(&s, S1_NG);
		warm_and_change(&s);
		CHECK_OK(t_inv1(s.n.fd, s.n.viommu, ops[o][0], ops[o][1]));
		/* The device's own translations are walked again; the other device's are not */
		CHECK(rd(s.n.dev, 0, 0) == 'N');
		for (unsigned int i = 0; i != NPAGES; i++)
			CHECK(rd(s.dev2, 0, i) == 'O');
		/* A CFGI of the other vIOMMU's vSID is refused on this one: EIO */
		CHECK_ERR(EIO, t_inv1(s.n.fd, s.n.viommu, OP_CFGI_CD_ALL(VSID2), 0));
		CHECK_OK(t_inv1(s.n.fd, s.viommu2, OP_CFGI_CD_ALL(VSID2), 0));
		CHECK(rd(s.dev2, 0, 0) == 'N');
		scope_fini(&s);
	}
}

/* One call, several scopes, one sync: each command's scope, nothing else */
static void test_batch(void)
{
	const uint64_t cmds[][2] = {
		{ OP_TLBI_NH_VA(ASID_A), VA + 1 * PG },
		{ OP_TLBI_NH_VA(ASID_A) | RNG(1, 0), (VA + 20 * PG) | TG(1) },
		{ OP_TLBI_NH_ASID(ASID_B), 0 },
		{ OP_TLBI_NH_VA(ASID_A), (VA + NPAGES * PG) | LEAF }, /* an unmapped VA */
	};
	struct scope s;
	uint32_t done;

	scope_init(&s, S1_NG);
	warm_and_change(&s);
	CHECK_OK(t_invalidate(s.n.fd, s.n.viommu, cmds, 4, &done));
	CHECK(done == 4);
	for (unsigned int i = 0; i != NPAGES; i++)
		CHECK(rd(s.n.dev, 0, i) == (i == 1 || i == 20 || i == 21 ? 'N' : 'O'));
	expect_others(&s, 'N', 'O');
	scope_fini(&s);
}

int main(void)
{
	test_va_ranges();
	test_vaa_asid();
	test_all();
	test_global();
	test_block();
	test_cfgi_atc();
	test_batch();
	return t_done();
}
