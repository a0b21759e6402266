// SPDX-License-Identifier: MIT
/*
 * Stalls (fact sheet 1.9, 3.14): a device that can stall (dma-can-stall) behind a stalling
 * CD (CD.S = 1, STE.S1STALLD = 0), or any stage-2 fault of it, raises a page request on
 * the nested HWPT's fault queue instead of a vEVENTQ record (Linux's Stall = 1 path); a
 * device that cannot stall, S1STALLD, or no fault queue do not; an SMMU that only
 * terminates (STALL_MODEL 0b01) calls S1STALLD an ILLEGAL STE and CD.S an ILLEGAL CD.
 */
#include "nest_fixture.h"

/* Replace the attachment with a nested HWPT of guest STE @ste0 taking faults to @fault_id */
static void nest_ste_fault(struct nest *n, uint64_t ste0, uint64_t ste1, uint32_t fault_id)
{
	struct iommu_hwpt_arm_smmuv3 ste = { .ste = { ste0, ste1 } };
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = IOMMU_HWPT_FAULT_ID_VALID,
				      .dev_id = n->dev_id, .pt_id = n->viommu,
				      .data_type = IOMMU_HWPT_DATA_ARM_SMMUV3,
				      .data_len = sizeof(ste), .data_uptr = (uintptr_t)&ste,
				      .fault_id = fault_id };
	unsigned int pt;

	CHECK_OK(softiommu_ioctl(n->fd, IOMMU_HWPT_ALLOC, &h));
	pt = h.out_hwpt_id;
	CHECK_OK(softiommu_dev_attach(n->dev, 0, &pt));
	if (n->hwpt)
		CHECK_OK(t_destroy(n->fd, n->hwpt));
	n->hwpt = h.out_hwpt_id;
}

static void test_stall(void)
{
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_pgfault pf;
	uint64_t cdt_s, host;
	struct vevent ev;
	char out[4];
	struct nest n;

	nest_init_flags(&n, SMMUV3_DEV_PASID | SMMUV3_DEV_STALL);
	CHECK_OK(softiommu_ioctl(n.fd, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	cdt_s = guest_pages(&n.g, 1);
	guest_cd(&n.g, cdt_s, 0, CD_DEFAULT | (1ULL << 44), n.root, 0);
	guest_cd(&n.g, cdt_s, 3, CD_DEFAULT | (1ULL << 44), n.root, 0);

	/* A stage-1 fault of a stalling CD: a page request, no vEVENTQ record */
	nest_ste_fault(&n, STE_S1 | cdt_s | STE_CDMAX(2), STE1_DSS(2), fa.out_fault_id);
	CHECK_ERR(EFAULT, softiommu_dma_write(n.dev, 0, VA + 50 * PG + 4, "x", 1));
	CHECK(softiommu_read(fa.out_fault_fd, &pf, sizeof(pf)) == sizeof(pf));
	CHECK(pf.addr == VA + 50 * PG + 4 && pf.dev_id == n.dev_id &&
	      pf.perm == IOMMU_PGFAULT_PERM_WRITE && !(pf.flags & IOMMU_PGFAULT_FLAGS_PASID_VALID));
	CHECK(!t_vevent(n.qfd, &ev));
	/* With a SubstreamID: the request carries it */
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 3, VA + 51 * PG, out, 2));
	CHECK(softiommu_read(fa.out_fault_fd, &pf, sizeof(pf)) == sizeof(pf));
	CHECK(pf.addr == VA + 51 * PG && pf.pasid == 3 &&
	      (pf.flags & IOMMU_PGFAULT_FLAGS_PASID_VALID) && pf.perm == IOMMU_PGFAULT_PERM_READ);
	/* A stage-2 fault of the device stalls too (S2S), whatever the CD says */
	nest_ste_fault(&n, STE_S1 | n.cdt, 0, fa.out_fault_id);
	guest_map(&n.g, n.root, VA + 52 * PG, GIPA + (64 << 20), S1_RW);
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 52 * PG, out, 2));
	CHECK(softiommu_read(fa.out_fault_fd, &pf, sizeof(pf)) == sizeof(pf));
	CHECK(pf.addr == VA + 52 * PG);
	/* A non-stalling CD: the event path */
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 53 * PG, out, 2));
	expect_s1_event(&n, 0x10, VA + 53 * PG, false);
	/* S1STALLD: stage-1 stalls disabled */
	nest_ste_fault(&n, STE_S1 | cdt_s | STE_CDMAX(2), STE1_DSS(2) | (1ULL << 27),
		       fa.out_fault_id);
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 54 * PG, out, 2));
	expect_s1_event(&n, 0x10, VA + 54 * PG, false);
	/* No fault queue: the stall is answered and logged, never forwarded */
	CHECK_OK(nest_ste(&n, STE_S1 | cdt_s | STE_CDMAX(2), STE1_DSS(2)));
	host = host_events();
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 55 * PG, out, 2));
	CHECK(host_events() == host + 1 && !t_vevent(n.qfd, &ev));
	CHECK(softiommu_read(fa.out_fault_fd, &pf, sizeof(pf)) == 0);
	nest_fini(&n);
	CHECK_OK(softiommu_close(fa.out_fault_fd));
}

/* A device that cannot stall (a PCI function) never does, whatever the CD says */
static void test_no_stall(void)
{
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_pgfault pf;
	uint64_t cdt_s;
	char out[4];
	struct nest n;

	nest_init(&n);
	CHECK_OK(softiommu_ioctl(n.fd, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	cdt_s = guest_pages(&n.g, 1);
	guest_cd(&n.g, cdt_s, 0, CD_DEFAULT | (1ULL << 44), n.root, 0);
	nest_ste_fault(&n, STE_S1 | cdt_s, 0, fa.out_fault_id);
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 50 * PG, out, 2));
	expect_s1_event(&n, 0x10, VA + 50 * PG, false);
	CHECK(softiommu_read(fa.out_fault_fd, &pf, sizeof(pf)) == 0);
	nest_fini(&n);
	CHECK_OK(softiommu_close(fa.out_fault_fd));
}

/* STALL_MODEL 0b01: S1STALLD is C_BAD_STE, CD.S is C_BAD_CD */
static void test_term_only(void)
{
	struct iommu_hw_info_arm_smmuv3 info;
	struct iommu_hw_info h = { .size = sizeof(h), .data_len = sizeof(info),
				   .data_uptr = (uintptr_t)&info };
	uint64_t cdt_s;
	struct vevent ev;
	char out[4];
	struct nest n;

	nest_init_flags(&n, SMMUV3_DEV_TERM_ONLY);
	h.dev_id = n.dev_id;
	CHECK_OK(softiommu_ioctl(n.fd, IOMMU_GET_HW_INFO, &h));
	CHECK(((info.idr[0] >> 24) & 3) == 1);
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 1ULL << 27));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA, out, 2));
	CHECK(t_vevent(n.qfd, &ev) && EVT_TYPE(ev.ev.evt) == 0x04 && EVT_SID(ev.ev.evt) == VSID);
	cdt_s = guest_pages(&n.g, 1);
	guest_cd(&n.g, cdt_s, 0, CD_DEFAULT | (1ULL << 44), n.root, 0);
	CHECK_OK(nest_ste(&n, STE_S1 | cdt_s, 0));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA, out, 2));
	CHECK(t_vevent(n.qfd, &ev) && EVT_TYPE(ev.ev.evt) == 0x0a);
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA, out, 2));
	nest_fini(&n);
}

int main(void)
{
	test_stall();
	test_no_stall();
	test_term_only();
	return t_done();
}
