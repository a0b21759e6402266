// SPDX-License-Identifier: MIT
/*
 * IOMMU_HWPT_INVALIDATE on an SMMUv3 vIOMMU (fact sheet 1.7, 3.7-3.10): the object and
 * array rules with their errnos, the opcodes Linux accepts and the ones it refuses (EIO,
 * entry_num at the failing index), the 63-entry blocks (a refused entry leaves its block
 * unissued), and what the accepted commands do to DMA: after the call, no DMA sees the
 * invalidated translation or CD.
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
#define OP_CMD_SYNC 0x46ULL

/* The object and array rules, before any command is looked at */
static void test_rules(void)
{
	uint64_t cmds[4][2] = { { OP_TLBI_NH_ALL, 0 }, { OP_TLBI_NH_ALL, 0 } };
	uint64_t narrow[2] = { OP_TLBI_NH_ALL, OP_TLBI_NH_ASID(1) };
	uint64_t wide[2][3] = { { OP_TLBI_NH_ALL, 0, 0 }, { OP_TLBI_NH_ALL, 0, 1 } };
	struct iommu_hwpt_invalidate inv;
	struct nest n;
	uint32_t done;

	nest_init(&n);
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	/* The nested HWPT itself: EOPNOTSUPP; an unknown ID; any other object */
	CHECK_ERR(EOPNOTSUPP, t_invalidate(n.fd, n.hwpt, cmds, 1, &done));
	CHECK(done == 0);
	CHECK_ERR(ENOENT, t_invalidate(n.fd, 9999, cmds, 1, &done));
	CHECK_ERR(EINVAL, t_invalidate(n.fd, n.ioas, cmds, 1, &done));
	CHECK_ERR(EINVAL, t_invalidate(n.fd, n.s2, cmds, 1, &done));
	CHECK_ERR(EINVAL, t_invalidate(n.fd, n.vdev, cmds, 1, &done));
	CHECK_OK(t_invalidate(n.fd, n.viommu, cmds, 2, &done));
	CHECK(done == 2);
	/* An empty array is EINVAL for this driver */
	CHECK_ERR(EINVAL, t_invalidate(n.fd, n.viommu, cmds, 0, &done));
	CHECK(done == 0);

	inv = (struct iommu_hwpt_invalidate){ .size = sizeof(inv), .hwpt_id = n.viommu,
					      .data_uptr = (uintptr_t)cmds, .entry_len = 16,
					      .entry_num = 1,
					      .data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 };
	inv.__reserved = 1;
	CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(n.fd, IOMMU_HWPT_INVALIDATE, &inv));
	inv.__reserved = 0;
	inv.data_type = IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST;
	CHECK_ERR(EINVAL, softiommu_ioctl(n.fd, IOMMU_HWPT_INVALIDATE, &inv));
	inv.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
	CHECK_ERR(EINVAL, softiommu_ioctl(n.fd, IOMMU_HWPT_INVALIDATE, &inv));
	inv.data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3;
	inv.data_uptr = 0;
	CHECK_ERR(EINVAL, softiommu_ioctl(n.fd, IOMMU_HWPT_INVALIDATE, &inv));
	inv.data_uptr = (uintptr_t)cmds;
	inv.entry_len = 0;
	CHECK_ERR(EINVAL, softiommu_ioctl(n.fd, IOMMU_HWPT_INVALIDATE, &inv));
	inv.entry_len = PG + 1;
	CHECK_ERR(EINVAL, softiommu_ioctl(n.fd, IOMMU_HWPT_INVALIDATE, &inv));
	inv.entry_len = 16;
	inv.entry_num = (1u << 19) + 1;
	CHECK_ERR(EINVAL, softiommu_ioctl(n.fd, IOMMU_HWPT_INVALIDATE, &inv));
	/* A bad pointer */
	inv.entry_num = 1;
	inv.data_uptr = 8;
	CHECK_ERR(EFAULT, softiommu_ioctl(n.fd, IOMMU_HWPT_INVALIDATE, &inv));
	/* Short entries are zero-extended; long ones need a zero tail */
	inv.data_uptr = (uintptr_t)narrow;
	inv.entry_len = 8;
	inv.entry_num = 2;
	CHECK_OK(softiommu_ioctl(n.fd, IOMMU_HWPT_INVALIDATE, &inv));
	CHECK(inv.entry_num == 2);
	inv.data_uptr = (uintptr_t)wide;
	inv.entry_len = 24;
	inv.entry_num = 1;
	CHECK_OK(softiommu_ioctl(n.fd, IOMMU_HWPT_INVALIDATE, &inv));
	inv.entry_num = 2;
	CHECK_ERR(E2BIG, softiommu_ioctl(n.fd, IOMMU_HWPT_INVALIDATE, &inv));
	nest_fini(&n);
}

/* The opcodes: accepted ones pass, every other (CMD_SYNC included) is EIO at its index */
static void test_opcodes(void)
{
	static const uint64_t refused[] = {
		0x00, 0x01, 0x02, 0x03, 0x04, 0x07, 0x14, 0x1a, 0x20, 0x21, 0x22, 0x23,
		0x28, 0x2a, 0x41, 0x44, 0x45, OP_CMD_SYNC, 0x31, 0xff,
	};
	const uint64_t accepted[][2] = {
		{ OP_TLBI_NH_ALL | 0x1234ULL << 32, 0 }, /* a VMID of the guest's: overwritten */
		{ OP_TLBI_NH_ASID(7), 0 },
		{ OP_TLBI_NH_VA(7), VA | 1 },
		{ OP_TLBI_NH_VA(7) | 1 << 12 | 1 << 20, VA | 1 << 10 | 1 << 8 }, /* a range */
		{ OP_TLBI_NH_VAA, VA },
		{ OP_TLBI_NSNH_ALL, ~0ULL },
		{ OP_CFGI_CD(VSID, 0), 1 },
		{ OP_CFGI_CD_ALL(VSID), 0 },
		{ OP_ATC_INV(VSID), 52 },
		/* Illegal fields in an accepted command do not fail the call */
		{ OP_CFGI_CD(VSID, 0xfffff) | 0xf00, ~0ULL },
	};
	uint64_t cmds[5][2] = {};
	struct nest n;
	uint32_t done;

	nest_init(&n);
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	CHECK_OK(t_invalidate(n.fd, n.viommu, accepted, sizeof(accepted) / sizeof(accepted[0]),
			      &done));
	CHECK(done == sizeof(accepted) / sizeof(accepted[0]));
	for (size_t i = 0; i != sizeof(refused) / sizeof(refused[0]); i++) {
		cmds[0][0] = OP_TLBI_NH_ALL;
		cmds[1][0] = OP_TLBI_NH_ASID(1);
		cmds[2][0] = refused[i];
		cmds[3][0] = OP_TLBI_NH_ALL;
		done = 99;
		CHECK_ERR(EIO, t_invalidate(n.fd, n.viommu, cmds, 4, &done));
		CHECK(done == 2);
	}
	/* SID commands need a vSID of a vDEVICE of this vIOMMU */
	cmds[0][0] = OP_CFGI_CD(0x11, 0);
	CHECK_ERR(EIO, t_invalidate(n.fd, n.viommu, cmds, 1, &done));
	CHECK(done == 0);
	cmds[0][0] = OP_TLBI_NH_ALL;
	cmds[1][0] = OP_ATC_INV(0x11);
	CHECK_ERR(EIO, t_invalidate(n.fd, n.viommu, cmds, 2, &done));
	CHECK(done == 1);
	cmds[1][0] = OP_CFGI_CD_ALL(VSID | 1ULL << 31);
	CHECK_ERR(EIO, t_invalidate(n.fd, n.viommu, cmds, 2, &done));
	CHECK(done == 1);
	nest_fini(&n);
}

/* The guest unmaps a page and flushes it: the next DMA faults, reported with the vSID */
static void test_tlbi(void)
{
	static const uint64_t tlbis[][2] = {
		{ OP_TLBI_NH_VA(0), VA + PG },
		{ OP_TLBI_NH_VAA, VA + 2 * PG },
		{ OP_TLBI_NH_ASID(0), 0 },
		{ OP_TLBI_NH_ALL, 0 },
		{ OP_TLBI_NSNH_ALL, 0 },
		{ OP_ATC_INV(VSID), 52 },
	};
	char out[4];
	struct nest n;

	nest_init(&n);
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	for (size_t i = 0; i != sizeof(tlbis) / sizeof(tlbis[0]); i++) {
		uint64_t va = VA + (1 + i % 3) * PG;

		/* nG: TLBI_NH_ASID kills the ASID's entries, not global ones */
		guest_map(&n.g, n.root, va, n.data + PG, S1_RW | S1_NG);
		CHECK_OK(t_inv1(n.fd, n.viommu, OP_TLBI_NH_ALL, 0));
		CHECK_OK(softiommu_dma_read(n.dev, 0, va, out, 2));
		CHECK(!memcmp(out, "BB", 2));
		guest_unmap(&n.g, n.root, va);
		CHECK_OK(t_inv1(n.fd, n.viommu, tlbis[i][0], (tlbis[i][1] & ~0xfffULL) ?
								 va : tlbis[i][1]));
		CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, va, out, 2));
		expect_s1_event(&n, 0x10, va, false);
	}
	/* A change of the stage-2 parent needs no guest command */
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA, out, 2));
	CHECK_OK(t_unmap(n.fd, n.ioas, GIPA, 1 << 20, NULL));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA, out, 2));
	CHECK_OK(t_map(n.fd, n.ioas, n.g.ram, n.g.size, &n.g.ipa, FIXED_RW));
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA, out, 2));
	CHECK(!memcmp(out, "AA", 2));
	nest_fini(&n);
}

/*
 * CDs are cached until CFGI_CD / CFGI_CD_ALL (or an STE change); a refused entry leaves the
 * commands of its 63-entry block unissued, those of completed blocks issued
 */
static void test_cfgi_and_blocks(void)
{
	static uint64_t cmds[130][2];
	uint64_t root2, va = VA + 64 * PG;
	char out[4];
	struct nest n;
	uint32_t done;

	nest_init(&n);
	root2 = guest_pages(&n.g, 1);
	for (unsigned int i = 0; i != 4; i++)
		guest_map(&n.g, root2, va + i * PG, n.data + 3 * PG, S1_RW);
	guest_map(&n.g, n.root, va, n.data, S1_RW);
	guest_map(&n.g, n.root, va + PG, n.data, S1_RW);
	guest_map(&n.g, n.root, va + 2 * PG, n.data, S1_RW);
	guest_map(&n.g, n.root, va + 3 * PG, n.data, S1_RW);
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA, out, 2));
	/* The guest points CD 0 at other tables: the cached CD still serves */
	guest_cd(&n.g, n.cdt, 0, CD_DEFAULT, root2, 0);
	CHECK_OK(softiommu_dma_read(n.dev, 0, va, out, 2));
	CHECK(!memcmp(out, "AA", 2));

	/* CFGI_CD at 64, refused entry at 69: the block 63..68 is counted, not issued */
	for (unsigned int i = 0; i != 130; i++) {
		cmds[i][0] = OP_TLBI_NH_ASID(3);
		cmds[i][1] = 0;
	}
	cmds[64][0] = OP_CFGI_CD(VSID, 0);
	cmds[69][0] = OP_CMD_SYNC;
	CHECK_ERR(EIO, t_invalidate(n.fd, n.viommu, cmds, 130, &done));
	CHECK(done == 69);
	CHECK_OK(softiommu_dma_read(n.dev, 0, va + PG, out, 2));
	CHECK(!memcmp(out, "AA", 2));
	/* CFGI_CD at 10, refused entry at 63: the first block (0..62) was issued */
	cmds[64][0] = OP_TLBI_NH_ASID(3);
	cmds[69][0] = OP_TLBI_NH_ASID(3);
	cmds[10][0] = OP_CFGI_CD(VSID, 0);
	cmds[63][0] = OP_CMD_SYNC;
	CHECK_ERR(EIO, t_invalidate(n.fd, n.viommu, cmds, 130, &done));
	CHECK(done == 63);
	CHECK_OK(softiommu_dma_read(n.dev, 0, va + 2 * PG, out, 2));
	CHECK(!memcmp(out, "DD", 2));

	/* CFGI_CD_ALL; and a whole array of several blocks completes */
	guest_cd(&n.g, n.cdt, 0, CD_DEFAULT, n.root, 0);
	cmds[10][0] = OP_TLBI_NH_ASID(3);
	cmds[63][0] = OP_TLBI_NH_ASID(3);
	cmds[129][0] = OP_CFGI_CD_ALL(VSID);
	CHECK_OK(t_invalidate(n.fd, n.viommu, cmds, 130, &done));
	CHECK(done == 130);
	CHECK_OK(softiommu_dma_read(n.dev, 0, va + 3 * PG, out, 2));
	CHECK(!memcmp(out, "AA", 2));
	/* A CFGI_CD of another SSID leaves CD 0 cached */
	guest_cd(&n.g, n.cdt, 0, CD_DEFAULT, root2, 0);
	CHECK_OK(t_inv1(n.fd, n.viommu, OP_CFGI_CD(VSID, 1), 0));
	guest_map(&n.g, n.root, va + 5 * PG, n.data + PG, S1_RW);
	guest_map(&n.g, root2, va + 5 * PG, n.data + 3 * PG, S1_RW);
	CHECK_OK(softiommu_dma_read(n.dev, 0, va + 5 * PG, out, 2));
	CHECK(!memcmp(out, "BB", 2));
	nest_fini(&n);
}

/* CFGI scopes: a StreamID's CDs go, another device's stay cached until its own CFGI */
static void test_cfgi_scope(void)
{
	uint64_t cdt2, root_new, va = VA + 128 * PG;
	struct softiommu_dev *dev2;
	unsigned int dev2_id, pt;
	uint32_t vdev2, hwpt2;
	char out[4];
	struct nest n;

	nest_init(&n);
	CHECK_OK(softiommu_dev_create(n.fd, "smmuv3", SMMUV3_DEV_PASID, &dev2, &dev2_id));
	CHECK_OK(t_vdevice_alloc(n.fd, n.viommu, dev2_id, 0x20, &vdev2));
	cdt2 = guest_pages(&n.g, 1);
	guest_cd(&n.g, cdt2, 0, CD_DEFAULT, n.root, 0);
	CHECK_OK(t_nested_alloc(n.fd, dev2_id, n.viommu, STE_S1 | cdt2, 0, &hwpt2));
	pt = hwpt2;
	CHECK_OK(softiommu_dev_attach(dev2, 0, &pt));
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	root_new = guest_pages(&n.g, 1);
	for (unsigned int i = 0; i != 4; i++) {
		guest_map(&n.g, n.root, va + i * PG, n.data, S1_RW);
		guest_map(&n.g, root_new, va + i * PG, n.data + 2 * PG, S1_RW);
	}
	/* Both devices cache their CD 0, then the guest repoints both */
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA, out, 2));
	CHECK_OK(softiommu_dma_read(dev2, 0, VA, out, 2));
	guest_cd(&n.g, n.cdt, 0, CD_DEFAULT, root_new, 0);
	guest_cd(&n.g, cdt2, 0, CD_DEFAULT, root_new, 0);
	CHECK_OK(t_inv1(n.fd, n.viommu, OP_CFGI_CD_ALL(VSID), 0));
	CHECK_OK(softiommu_dma_read(n.dev, 0, va, out, 2));
	CHECK(!memcmp(out, "CC", 2));
	CHECK_OK(softiommu_dma_read(dev2, 0, va + PG, out, 2));
	CHECK(!memcmp(out, "AA", 2));
	/* CFGI_CD of the other vSID: now it sees its new CD */
	CHECK_OK(t_inv1(n.fd, n.viommu, OP_CFGI_CD(0x20, 0), 1));
	CHECK_OK(softiommu_dma_read(dev2, 0, va + 2 * PG, out, 2));
	CHECK(!memcmp(out, "CC", 2));
	softiommu_dev_destroy(dev2);
	CHECK_OK(t_destroy(n.fd, hwpt2));
	nest_fini(&n);
}

int main(void)
{
	test_rules();
	test_opcodes();
	test_tlbi();
	test_cfgi_and_blocks();
	test_cfgi_scope();
	return t_done();
}
