// SPDX-License-Identifier: MIT
/*
 * The VMM stand-in for QEMU 11.1's arm-smmuv3,accel=on (which needs KVM on arm64 and
 * cannot run here): its call sequence as docs/notes-qemu.md's "Third slice" table reads it
 * from hw/arm/smmuv3-accel.c, against the model, with what each step must answer:
 * VFIO's automatic NEST_PARENT stage 2; GET_HW_INFO and the compatibility checks QEMU
 * makes of the host's IDRs; VIOMMU_ALLOC; the pre-allocated abort and bypass nested HWPTs
 * (GBPA), bypass attached; the vEVENTQ (nonblocking reads); the guest's CFGI_STE as
 * VDEVICE_ALLOC (virt_id = the guest StreamID) plus a nested HWPT of the guest STE and its
 * attach; guest invalidations as HWPT_INVALIDATE with one command per call; an event read
 * back with the guest StreamID; a guest abort STE; and the unplug teardown order.
 */
#include "smmu_test.h"

#define GUEST_RAM_IPA 0x40000000ULL /* the virt machine's RAM base */
#define GUEST_SID 0x8
#define GVA 0x7f0000000ULL

/* What QEMU's smmuv3_accel_hw_compatible() requires of the host SMMU's ID registers */
static void check_hw_compatible(int fd, uint32_t dev_id)
{
	struct iommu_hw_info_arm_smmuv3 info;
	struct iommu_hw_info h = { .size = sizeof(h), .dev_id = dev_id,
				   .data_len = sizeof(info), .data_uptr = (uintptr_t)&info };

	memset(&info, 0xff, sizeof(info));
	CHECK_OK(softiommu_ioctl(fd, IOMMU_GET_HW_INFO, &h));
	CHECK(h.out_data_type == IOMMU_HW_INFO_TYPE_ARM_SMMUV3);
	CHECK(h.data_len == sizeof(info));
	CHECK(((info.idr[0] >> 27) & 3) == 1);  /* ST_LEVEL: 2-level stream table */
	CHECK(((info.idr[0] >> 2) & 2) == 2);   /* TTF: AArch64 tables */
	CHECK((info.idr[0] & 3) == 3);          /* S1P and S2P: nesting */
	CHECK((info.idr[1] & 0x3f) >= 16);      /* SIDSIZE */
	CHECK(info.idr[3] & (1u << 10));        /* RIL: range invalidation */
	CHECK((info.idr[5] & 7) >= 4);          /* OAS: 44 bits or more */
	CHECK(((info.idr[5] >> 4) & 7) == 7);   /* GRAN4K, GRAN16K, GRAN64K */
}

int main(void)
{
	struct softiommu_dev *dev;
	unsigned int dev_id, pt;
	uint32_t ioas, s2, viommu, abort_hwpt, bypass_hwpt, vdev, qid, s1_hwpt;
	uint64_t cdt, root, data, ste0;
	struct guest g;
	struct vevent ev;
	char out[8];
	int qfd, fd = softiommu_open(0);

	/* -device vfio-pci,iommufd=...: bind, then VFIO's automatic domain: a NEST_PARENT */
	CHECK_OK(softiommu_dev_create(fd, "smmuv3", 0, &dev, &dev_id));
	ioas = t_ioas_alloc(fd);
	guest_init(&g, fd, ioas, GUEST_RAM_IPA, 1 << 20);
	CHECK_OK(t_hwpt_alloc(fd, dev_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
			      IOMMU_HWPT_DATA_NONE, NULL, 0, &s2));
	pt = s2;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	check_hw_compatible(fd, dev_id);

	/* smmuv3_accel_alloc_viommu: the vIOMMU, then the GBPA HWPTs; bypass attached */
	CHECK_OK(t_viommu_alloc(fd, dev_id, s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0, &viommu));
	CHECK_OK(t_nested_alloc(fd, dev_id, viommu, STE_ABORT, 0, &abort_hwpt));
	CHECK_OK(t_nested_alloc(fd, dev_id, viommu, STE_BYPASS, 0, &bypass_hwpt));
	pt = bypass_hwpt;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	data = guest_pages(&g, 1);
	memcpy(guest_ptr(&g, data), "bypassed", 8);
	CHECK_OK(softiommu_dma_read(dev, 0, data, out, 8)); /* IOVA = IPA through stage 2 */
	CHECK(!memcmp(out, "bypassed", 8));

	/* The guest enables its event queue: depth 1 << EVENTQ.LOG2SIZE, read nonblocking */
	qfd = t_veventq_alloc(fd, viommu, 1u << 7, &qid);
	CHECK(qfd >= 0);
	CHECK(!t_vevent(qfd, &ev));

	/* Guest CFGI_STE of a translating STE: the vDEVICE, the nested HWPT, the attach */
	cdt = guest_pages(&g, 1);
	root = guest_pages(&g, 1);
	memcpy(guest_ptr(&g, data), "through1", 8);
	guest_map(&g, root, GVA, data, S1_RW | S1_NG);
	guest_cd(&g, cdt, 0, CD_DEFAULT | CD_ASID(3), root, 0);
	CHECK_OK(t_vdevice_alloc(fd, viommu, dev_id, GUEST_SID, &vdev));
	/* QEMU hands over STE words 0-1 with the bits Linux allows (the rest masked) */
	ste0 = (STE_S1 | cdt) & 0xf80fffffffffffffULL;
	CHECK_OK(t_nested_alloc(fd, dev_id, viommu, ste0, 0, &s1_hwpt));
	pt = s1_hwpt;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK_OK(softiommu_dma_read(dev, 0, GVA, out, 8));
	CHECK(!memcmp(out, "through1", 8));

	/* Guest invalidations, one command per call: the page goes, DMA faults, an event */
	guest_unmap(&g, root, GVA);
	CHECK_OK(softiommu_dma_read(dev, 0, GVA, out, 8)); /* still cached: no TLBI yet */
	CHECK_OK(t_inv1(fd, viommu, 0x12 | 3ULL << 48, GVA | 1)); /* TLBI_NH_VA, Leaf */
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, GVA, out, 8));
	CHECK(t_vevent(qfd, &ev));
	CHECK(EVT_TYPE(ev.ev.evt) == 0x10 && EVT_SID(ev.ev.evt) == GUEST_SID);
	CHECK(ev.ev.evt[2] == GVA && EVT_RNW(ev.ev.evt));
	guest_map(&g, root, GVA, data, S1_RW | S1_NG);
	CHECK_OK(t_inv1(fd, viommu, 0x05 | (uint64_t)GUEST_SID << 32, 1)); /* CFGI_CD, Leaf */
	CHECK_OK(t_inv1(fd, viommu, 0x11 | 3ULL << 48, 0));                /* TLBI_NH_ASID */
	CHECK_OK(softiommu_dma_read(dev, 0, GVA, out, 8));
	CHECK(!memcmp(out, "through1", 8));
	/* CMD_SYNC is the ioctl's return: QEMU never passes one (EIO if it did) */
	CHECK_ERR(EIO, t_inv1(fd, viommu, 0x46, 0));

	/* A guest abort STE: the pre-allocated abort HWPT; DMA terminated, no event */
	pt = abort_hwpt;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, GVA, out, 8));
	CHECK(!t_vevent(qfd, &ev));

	/* Unplug: back to the S2 HWPT, then S1 HWPT, vDEVICE, vEVENTQ, GBPA HWPTs, vIOMMU */
	pt = s2;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK_OK(t_destroy(fd, s1_hwpt));
	CHECK_OK(t_destroy(fd, vdev));
	/* The queue's descriptor holds the object: EBUSY until QEMU closes it */
	CHECK_ERR(EBUSY, t_destroy(fd, qid));
	CHECK_OK(softiommu_close(qfd));
	CHECK_OK(t_destroy(fd, qid));
	CHECK_OK(t_destroy(fd, bypass_hwpt));
	CHECK_OK(t_destroy(fd, abort_hwpt));
	CHECK_OK(t_destroy(fd, viommu));
	CHECK_OK(softiommu_dma_read(dev, 0, data, out, 8)); /* the device on stage 2 alone */
	CHECK(!memcmp(out, "through1", 8));
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fd));
	CHECK(t_live() == 0);
	guest_fini(&g);
	return t_done();
}
