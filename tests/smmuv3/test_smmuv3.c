// SPDX-License-Identifier: MIT
/*
 * The SMMUv3 model through the uAPI, as Linux 7.2's arm-smmu-v3 answers: GET_HW_INFO's
 * registers and size rules, paging HWPTs (stage 1; NEST_PARENT stage 2) with their
 * apertures, DMA through them, and the errnos of the allocations it refuses.
 */
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"
#include "smmuv3.h"

#define PG 4096ULL
#define FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static long hw_info(int fd, uint32_t dev_id, void *data, uint32_t len, uint32_t flags,
		    uint32_t type, struct iommu_hw_info *out)
{
	*out = (struct iommu_hw_info){ .size = sizeof(*out), .flags = flags, .dev_id = dev_id,
				       .data_len = len, .data_uptr = (uintptr_t)data,
				       .in_data_type = type };
	return softiommu_ioctl(fd, IOMMU_GET_HW_INFO, out);
}

static long hwpt_alloc(int fd, uint32_t dev_id, uint32_t pt_id, uint32_t flags,
		       uint32_t data_type, void *data, uint32_t data_len, uint32_t *out)
{
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = flags, .dev_id = dev_id,
				      .pt_id = pt_id, .data_type = data_type,
				      .data_len = data_len, .data_uptr = (uintptr_t)data };
	long rc = softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h);

	if (out)
		*out = h.out_hwpt_id;
	return rc;
}

/* The last allowed IOVA of @ioas (one range expected) */
static uint64_t iova_last(int fd, uint32_t ioas)
{
	struct iommu_iova_range r[4] = {};
	struct iommu_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = ioas, .num_iovas = 4,
					    .allowed_iovas = (uintptr_t)r };

	CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q));
	CHECK(q.num_iovas == 1 && r[0].start == 0);
	return r[0].last;
}

static void test_hw_info(void)
{
	struct iommu_hw_info_arm_smmuv3 info[2];
	int fd = softiommu_open(0);
	struct softiommu_dev *dev, *dev2, *dev3;
	unsigned int dev_id, dev2_id, dev3_id;
	struct iommu_hw_info h;

	CHECK_ERR(EINVAL, softiommu_dev_create(fd, "smmuv3", 1u << 30, &dev, &dev_id));
	CHECK_ERR(EINVAL, softiommu_dev_create(fd, "smmuv3", SMMUV3_DEV_OAS(6), &dev, &dev_id));
	CHECK_ERR(EINVAL, softiommu_dev_create(fd, "smmuv3", SMMUV3_DEV_NO_S1 | SMMUV3_DEV_NO_S2,
					       &dev, &dev_id));
	CHECK_OK(softiommu_dev_create(fd, "smmuv3", 0, &dev, &dev_id));

	memset(info, 0xa5, sizeof(info));
	CHECK_OK(hw_info(fd, dev_id, info, sizeof(info[0]), 0, 0, &h));
	CHECK(h.out_data_type == IOMMU_HW_INFO_TYPE_ARM_SMMUV3 && h.data_len == 40);
	CHECK(info[0].flags == 0 && info[0].__reserved == 0);
	/* IDR0: S1P, S2P, AArch64 tables, coherent, ATS, 16-bit ASID/VMID, 2-level STs, CD2L */
	CHECK((info[0].idr[0] & 3) == 3 && ((info[0].idr[0] >> 2) & 3) == 2);
	CHECK(info[0].idr[0] & SMMU_IDR0_COHACC && info[0].idr[0] & SMMU_IDR0_ATS);
	CHECK(info[0].idr[0] & SMMU_IDR0_ASID16 && info[0].idr[0] & SMMU_IDR0_VMID16);
	CHECK(((info[0].idr[0] >> 27) & 3) == 1 && info[0].idr[0] & SMMU_IDR0_CD2L);
	/* No HTTU, no BTM: Linux does not nest those */
	CHECK(((info[0].idr[0] >> 6) & 3) == 0 && !(info[0].idr[0] & (1u << 5)));
	/* IDR1: 16 StreamID bits, 20 SubstreamID bits; none of the PRESET/REL bits */
	CHECK((info[0].idr[1] & 0x3f) == 16 && ((info[0].idr[1] >> 6) & 0x1f) == 20);
	CHECK(!(info[0].idr[1] & (7u << 28)) && ((info[0].idr[1] >> 21) & 0x1f) > 6);
	/* IDR3: RIL, BBML2; IDR5: 48-bit OAS, all three granules */
	CHECK(info[0].idr[3] & SMMU_IDR3_RIL && ((info[0].idr[3] >> 11) & 3) == 2);
	CHECK((info[0].idr[5] & 7) == 5 && (info[0].idr[5] & 0x70) == 0x70);
	/* An Arm MMU-700 r1p1 (no nesting errata), SMMUv3.2 */
	CHECK((info[0].iidr & 0xfff) == 0x43b && info[0].iidr >> 20 == 0x487);
	CHECK(((info[0].iidr >> 16) & 0xf) == 1 && ((info[0].iidr >> 12) & 0xf) == 1);
	CHECK(info[0].aidr == 0x02);
	/* A device without PASIDs; no dirty tracking without HTTU */
	CHECK(h.out_max_pasid_log2 == 0);
	CHECK(!(h.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING));

	/* Size rules: a short buffer gets a prefix, a long one a zeroed tail; 40 either way */
	memset(info, 0xa5, sizeof(info));
	CHECK_OK(hw_info(fd, dev_id, info, 8, 0, 0, &h));
	CHECK(h.data_len == 40 && info[0].flags == 0 && info[0].idr[0] == 0xa5a5a5a5);
	memset(info, 0xa5, sizeof(info));
	CHECK_OK(hw_info(fd, dev_id, info, sizeof(info), 0, 0, &h));
	CHECK(h.data_len == 40 && info[1].flags == 0 && info[1].idr[5] == 0);
	CHECK_OK(hw_info(fd, dev_id, NULL, 0, 0, 0, &h));
	CHECK(h.data_len == 40 && h.out_data_type == IOMMU_HW_INFO_TYPE_ARM_SMMUV3);

	/* Input types: ARM_SMMUV3 and DEFAULT work, any other is EOPNOTSUPP */
	CHECK_OK(hw_info(fd, dev_id, info, 40, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
			 IOMMU_HW_INFO_TYPE_ARM_SMMUV3, &h));
	CHECK(h.out_data_type == IOMMU_HW_INFO_TYPE_ARM_SMMUV3);
	CHECK_OK(hw_info(fd, dev_id, info, 40, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
			 IOMMU_HW_INFO_TYPE_DEFAULT, &h));
	CHECK_ERR(EOPNOTSUPP, hw_info(fd, dev_id, info, 40, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
				      IOMMU_HW_INFO_TYPE_INTEL_VTD, &h));
	CHECK_ERR(EOPNOTSUPP, hw_info(fd, dev_id, info, 40, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
				      IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, &h));
	/* Without the flag the type is ignored (forced to DEFAULT) */
	CHECK_OK(hw_info(fd, dev_id, info, 40, 0, IOMMU_HW_INFO_TYPE_INTEL_VTD, &h));
	CHECK(h.out_data_type == IOMMU_HW_INFO_TYPE_ARM_SMMUV3);

	/* Per-instance configuration: no stage 2, 40-bit OAS, 8 SID bits, no SSIDs */
	CHECK_OK(softiommu_dev_create(fd, "smmuv3",
				      SMMUV3_DEV_NO_S2 | SMMUV3_DEV_OAS(2) |
					      SMMUV3_DEV_SID_BITS(8) | SMMUV3_DEV_SSID_BITS(0) |
					      SMMUV3_DEV_PASID,
				      &dev2, &dev2_id));
	CHECK_OK(hw_info(fd, dev2_id, info, 40, 0, 0, &h));
	CHECK((info[0].idr[0] & 3) == 2 && (info[0].idr[5] & 7) == 2);
	CHECK((info[0].idr[1] & 0x3f) == 8 && ((info[0].idr[1] >> 6) & 0x1f) == 0);
	CHECK(h.out_max_pasid_log2 == 0);
	/* A PASID-capable device on the default SMMU: SSIDSIZE bits */
	CHECK_OK(softiommu_dev_create(fd, "smmuv3", SMMUV3_DEV_PASID, &dev3, &dev3_id));
	CHECK_OK(hw_info(fd, dev3_id, info, 40, 0, 0, &h));
	CHECK(h.out_max_pasid_log2 == 20 && (info[0].idr[1] & 0x3f) == 16);

	softiommu_dev_destroy(dev3);
	softiommu_dev_destroy(dev2);
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fd));
}

/* DMA through whatever @dev is attached to at IOVA @iova (mapped to @buf) */
static void check_dma(struct softiommu_dev *dev, char *buf, uint64_t iova)
{
	char out[32] = {};

	CHECK_OK(softiommu_dma_write(dev, 0, iova + PG - 4, "through the SMMU", 17));
	CHECK(!memcmp(buf + PG - 4, "through the SMMU", 17));
	memcpy(buf + 2 * PG, "from the CPU", 13);
	CHECK_OK(softiommu_dma_read(dev, 0, iova + 2 * PG, out, 13));
	CHECK(!strcmp(out, "from the CPU"));
	/* Past the mapping: a translation fault */
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, iova + 4 * PG, out, 8));
}

static void test_paging(void)
{
	char *buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = 0x40000000ULL, ro = 0x80000000ULL;
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd), s1, s2;
	struct softiommu_dev *dev;
	unsigned int dev_id, pt;
	char out[8];

	CHECK_OK(softiommu_dev_create(fd, "smmuv3", 0, &dev, &dev_id));
	/* Not attached: the abort STE */
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, iova, out, 8));
	memset(buf, 0, 4 * PG);
	CHECK_OK(t_map(fd, ioas, buf, 4 * PG, &iova, FIXED_RW));
	CHECK_OK(t_map(fd, ioas, buf, PG, &ro, IOMMU_IOAS_MAP_FIXED_IOVA |
						IOMMU_IOAS_MAP_READABLE));

	/* The automatic domain: stage 1, 48-bit input */
	pt = ioas;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK(pt != ioas);
	CHECK(iova_last(fd, ioas) == (1ULL << 48) - 1);
	check_dma(dev, buf, iova);
	CHECK_OK(softiommu_dma_read(dev, 0, ro, out, 8));
	CHECK_ERR(EFAULT, softiommu_dma_write(dev, 0, ro, "x", 1));

	/* An explicit stage-1 HWPT and a NEST_PARENT stage-2 one: each translates the IOAS */
	CHECK_OK(hwpt_alloc(fd, dev_id, ioas, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &s1));
	CHECK_OK(hwpt_alloc(fd, dev_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_DATA_NONE,
			    NULL, 0, &s2));
	pt = s1;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	check_dma(dev, buf, iova);
	pt = s2;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	check_dma(dev, buf, iova);
	CHECK_ERR(EFAULT, softiommu_dma_write(dev, 0, ro, "x", 1));

	/* Unmap: the next DMA faults */
	CHECK_OK(t_unmap(fd, ioas, iova, 4 * PG, NULL));
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, iova, out, 8));
	/* Map again: the stage-2 table gets it too */
	CHECK_OK(t_map(fd, ioas, buf, 4 * PG, &iova, FIXED_RW));
	check_dma(dev, buf, iova);

	CHECK_OK(softiommu_dev_detach(dev, 0));
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, iova, out, 8));
	CHECK_OK(t_destroy(fd, s1));
	CHECK_OK(t_destroy(fd, s2));
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fd));
	munmap(buf, 4 * PG);
}

/* A stage-2 domain's aperture is the OAS: an SMMU of 40 bits allows 2^40 IOVAs */
static void test_aperture(void)
{
	char *buf = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd), ioas2 = t_ioas_alloc(fd), s2, s1;
	uint64_t iova = (1ULL << 40) - PG;
	struct softiommu_dev *dev, *other;
	unsigned int dev_id, other_id, pt;
	char out[8] = {};

	CHECK_OK(softiommu_dev_create(fd, "smmuv3", SMMUV3_DEV_OAS(2), &dev, &dev_id));
	CHECK_OK(hwpt_alloc(fd, dev_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_DATA_NONE,
			    NULL, 0, &s2));
	pt = s2;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK(iova_last(fd, ioas) == (1ULL << 40) - 1);
	/* The last page of the aperture maps; one beyond it does not */
	CHECK_OK(t_map(fd, ioas, buf, PG, &iova, FIXED_RW));
	memcpy(buf, "top", 4);
	CHECK_OK(softiommu_dma_read(dev, 0, iova, out, 4));
	CHECK(!strcmp(out, "top"));
	iova = 1ULL << 40;
	CHECK(t_map(fd, ioas, buf, PG, &iova, FIXED_RW) < 0);
	/* A stage-1 domain of the same SMMU still takes 48 bits */
	CHECK_OK(hwpt_alloc(fd, dev_id, ioas2, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &s1));
	pt = s1;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK(iova_last(fd, ioas2) == (1ULL << 48) - 1);

	/* A domain of another SMMU instance does not attach (arm_smmu_attach_dev: EINVAL) */
	CHECK_OK(softiommu_dev_create(fd, "smmuv3", 0, &other, &other_id));
	pt = s2;
	CHECK_ERR(EINVAL, softiommu_dev_attach(other, 0, &pt));
	/* ... but two devices of one configuration share an SMMU, and its domains */
	softiommu_dev_destroy(other);
	CHECK_OK(softiommu_dev_create(fd, "smmuv3", SMMUV3_DEV_OAS(2), &other, &other_id));
	pt = s2;
	CHECK_OK(softiommu_dev_attach(other, 0, &pt));
	CHECK_OK(softiommu_dma_read(other, 0, (1ULL << 40) - PG, out, 4));

	softiommu_dev_destroy(other);
	softiommu_dev_destroy(dev);
	/* The HWPTs outlive the devices that made them */
	CHECK_OK(t_destroy(fd, s1));
	CHECK_OK(t_destroy(fd, s2));
	CHECK_OK(softiommu_close(fd));
	munmap(buf, PG);
}

/* The allocations arm-smmu-v3 refuses, with its errnos (and the core's before it) */
static void test_alloc_errors(void)
{
	uint64_t ste[2] = { 1, 0 };
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd), id;
	struct softiommu_dev *dev, *s1only, *s2only;
	unsigned int dev_id, s1_id, s2_id;

	CHECK_OK(softiommu_dev_create(fd, "smmuv3", 0, &dev, &dev_id));
	/* Unknown flags */
	CHECK_ERR(EOPNOTSUPP, hwpt_alloc(fd, dev_id, ioas, 1u << 10, 0, NULL, 0, &id));
	/* Only exact flag sets: NEST_PARENT with PASID or DIRTY_TRACKING */
	CHECK_ERR(EOPNOTSUPP, hwpt_alloc(fd, dev_id, ioas,
					 IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_PASID,
					 0, NULL, 0, &id));
	CHECK_ERR(EOPNOTSUPP,
		  hwpt_alloc(fd, dev_id, ioas,
			     IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 0,
			     NULL, 0, &id));
	/* No HTTU: no dirty tracking */
	CHECK_ERR(EOPNOTSUPP, hwpt_alloc(fd, dev_id, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 0,
					 NULL, 0, &id));
	/* NEST_PARENT | FAULT_ID_VALID: the core refuses it */
	CHECK_ERR(EOPNOTSUPP,
		  hwpt_alloc(fd, dev_id, ioas,
			     IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_FAULT_ID_VALID, 0, NULL,
			     0, &id));
	/* User data on a paging HWPT: any type is EOPNOTSUPP */
	CHECK_ERR(EOPNOTSUPP, hwpt_alloc(fd, dev_id, ioas, 0, IOMMU_HWPT_DATA_ARM_SMMUV3, ste,
					 sizeof(ste), &id));
	CHECK_ERR(EOPNOTSUPP, hwpt_alloc(fd, dev_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
					 IOMMU_HWPT_DATA_ARM_SMMUV3, ste, sizeof(ste), &id));
	CHECK_ERR(EOPNOTSUPP, hwpt_alloc(fd, dev_id, ioas, 0, IOMMU_HWPT_DATA_SELFTEST, ste,
					 sizeof(ste), &id));
	/* The core's data rules: NONE with a length, a type with none */
	CHECK_ERR(EINVAL, hwpt_alloc(fd, dev_id, ioas, 0, IOMMU_HWPT_DATA_NONE, ste,
				     sizeof(ste), &id));
	CHECK_ERR(EINVAL, hwpt_alloc(fd, dev_id, ioas, 0, IOMMU_HWPT_DATA_ARM_SMMUV3, ste, 0,
				     &id));
	/* A NEST_PARENT HWPT as pt_id: no plain domain_alloc_nested */
	CHECK_OK(hwpt_alloc(fd, dev_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL, 0, &id));
	CHECK_ERR(EOPNOTSUPP, hwpt_alloc(fd, dev_id, id, 0, IOMMU_HWPT_DATA_ARM_SMMUV3, ste,
					 sizeof(ste), NULL));
	CHECK_OK(t_destroy(fd, id));
	/* PASID-capable stage 1 */
	CHECK_OK(hwpt_alloc(fd, dev_id, ioas, IOMMU_HWPT_ALLOC_PASID, 0, NULL, 0, &id));
	CHECK_OK(t_destroy(fd, id));

	/* Without FEAT_NESTING (one stage only) NEST_PARENT is EOPNOTSUPP */
	CHECK_OK(softiommu_dev_create(fd, "smmuv3", SMMUV3_DEV_NO_S2, &s1only, &s1_id));
	CHECK_OK(softiommu_dev_create(fd, "smmuv3", SMMUV3_DEV_NO_S1, &s2only, &s2_id));
	CHECK_ERR(EOPNOTSUPP, hwpt_alloc(fd, s1_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL,
					 0, &id));
	CHECK_ERR(EOPNOTSUPP, hwpt_alloc(fd, s2_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL,
					 0, &id));
	/* Stage 2 only: a plain HWPT is a stage-2 domain; PASID needs stage 1 */
	CHECK_ERR(EOPNOTSUPP, hwpt_alloc(fd, s2_id, ioas, IOMMU_HWPT_ALLOC_PASID, 0, NULL, 0,
					 &id));
	CHECK_OK(hwpt_alloc(fd, s2_id, ioas, 0, 0, NULL, 0, &id));
	CHECK_OK(t_destroy(fd, id));

	softiommu_dev_destroy(s2only);
	softiommu_dev_destroy(s1only);
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fd));
}

/* SubstreamIDs: a PASID takes a stage-1 (PASID-flagged) domain, as a CD; not a stage 2 */
static void test_pasid(void)
{
	char *buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = 0x100000ULL;
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd), s1, s2;
	struct softiommu_dev *dev, *nopasid;
	unsigned int dev_id, nopasid_id, pt;
	char out[8];

	CHECK_OK(softiommu_dev_create(fd, "smmuv3", SMMUV3_DEV_PASID, &dev, &dev_id));
	CHECK_OK(softiommu_dev_create(fd, "smmuv3", 0, &nopasid, &nopasid_id));
	CHECK_OK(t_map(fd, ioas, buf, 4 * PG, &iova, FIXED_RW));
	CHECK_OK(hwpt_alloc(fd, dev_id, ioas, IOMMU_HWPT_ALLOC_PASID, 0, NULL, 0, &s1));
	CHECK_OK(hwpt_alloc(fd, dev_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL, 0, &s2));
	pt = s1;
	CHECK_OK(softiommu_dev_attach(dev, 5, &pt));
	memset(buf, 0, 4 * PG);
	CHECK_OK(softiommu_dma_write(dev, 5, iova + 8, "ssid 5", 7));
	CHECK(!strcmp(buf + 8, "ssid 5"));
	/* Another SSID, and the requests without one, are not attached */
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 6, iova, out, 8));
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, iova, out, 8));
	/* A stage-2 domain cannot serve a PASID; a device without PASIDs has none */
	pt = s2;
	CHECK_ERR(EINVAL, softiommu_dev_attach(dev, 7, &pt));
	/* (the core, as Linux: a device without PASIDs "attaches" one and never uses it) */
	pt = s1;
	CHECK_OK(softiommu_dev_attach(nopasid, 5, &pt));
	/* The RID beside SSID 5: not on a HWPT without the PASID flag (the core), on one with */
	pt = s2;
	CHECK_ERR(EINVAL, softiommu_dev_attach(dev, 0, &pt));
	pt = s1;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK_OK(softiommu_dma_read(dev, 0, iova + 8, out, 7));
	CHECK(!strcmp(out, "ssid 5"));
	CHECK_OK(softiommu_dev_detach(dev, 5));
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 5, iova, out, 8));

	softiommu_dev_destroy(nopasid);
	softiommu_dev_destroy(dev);
	CHECK_OK(t_destroy(fd, s1));
	CHECK_OK(t_destroy(fd, s2));
	CHECK_OK(softiommu_close(fd));
	munmap(buf, 4 * PG);
}

int main(void)
{
	test_hw_info();
	test_paging();
	test_aperture();
	test_alloc_errors();
	test_pasid();
	return t_done();
}
