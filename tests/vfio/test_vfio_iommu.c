// SPDX-License-Identifier: MIT
/*
 * The IOMMU model behind an emulated device (--vfio-device MODEL,iommu=...): vfio0 is an edu
 * behind the SMMUv3 model, vfio1 one behind the mock. What a VMM asks of each: GET_HW_INFO
 * of its dev_id (the SMMUv3's ID registers, or the mock's), the IOVA ranges once attached
 * (guest RAM from IOVA 0), the device's DMA through a paging domain of that model and
 * through an SMMUv3 NEST_PARENT (stage 2) domain, and a fault where nothing is mapped.
 * Run under the shim with SOFTIOMMU_VFIO_DEVICES="edu,iommu=smmuv3 edu".
 */
#include <sys/mman.h>

#include "vfio_testlib.h"

#define SMMU_IDR0_S1P (1u << 1)
#define SMMU_IDR0_S2P (1u << 0)

static long hw_info(int iommufd, uint32_t devid, void *data, uint32_t len, uint32_t *type)
{
	struct iommu_hw_info h = { .size = sizeof(h), .dev_id = devid, .data_len = len,
				   .data_uptr = (uintptr_t)data };
	long rc = ioctl(iommufd, IOMMU_GET_HW_INFO, &h) ? -errno : 0;

	*type = h.out_data_type;
	return rc;
}

/* The IOAS's allowed ranges: the count, the first range in @r */
static long iova_ranges(int iommufd, uint32_t ioas, struct iommu_iova_range *r)
{
	struct iommu_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = ioas, .num_iovas = 1,
					    .allowed_iovas = (uintptr_t)r };

	return ioctl(iommufd, IOMMU_IOAS_IOVA_RANGES, &q) ? -errno : q.num_iovas;
}

static void edu_dma(int dev, uint64_t iova, uint32_t count, int to_ram)
{
	v_reg_write64(dev, to_ram ? EDU_DMA_SRC : EDU_DMA_DST, EDU_BUF);
	v_reg_write64(dev, to_ram ? EDU_DMA_DST : EDU_DMA_SRC, iova);
	v_reg_write64(dev, EDU_DMA_COUNT, count);
	v_reg_write64(dev, EDU_DMA_CMD, 1 | (to_ram ? 2 : 0));
	CHECK((v_reg(dev, EDU_DMA_CMD) & 1) == 0);
}

/* RAM at IOVA 0 -> the device -> RAM at IOVA 0x2010; a fault at an IOVA not mapped */
static void dma_round_trip(int dev, uint8_t *buf)
{
	for (int i = 0; i < 4096; i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	memset(buf + 0x2000, 0, 0x2000);
	edu_dma(dev, 0, 4096, 0);
	edu_dma(dev, 0x2010, 4000, 1);
	CHECK(!memcmp(buf + 0x2010, buf, 4000));
	memset(buf + 0x3000, 0x5a, 0x1000);
	edu_dma(dev, 1ull << 32, 64, 1); /* nothing at 4 GiB: the DMA faults, nothing moves */
	CHECK(buf[0x3000] == 0x5a);
}

static void test_smmuv3(int iommufd)
{
	int dev = v_open(VFIO0);
	uint32_t devid, type = 0, ioas = t_ioas_alloc(iommufd), pt = ioas;
	struct iommu_hw_info_arm_smmuv3 smmu = { 0 };
	struct iommu_hwpt_alloc s2 = { .size = sizeof(s2), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
				       .pt_id = ioas };
	struct iommu_iova_range r = { 0 };
	uint8_t *buf = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	uint64_t iova = 0;

	CHECK(buf != MAP_FAILED);
	CHECK_OK(v_bind(dev, iommufd, &devid));
	CHECK_OK(hw_info(iommufd, devid, &smmu, sizeof(smmu), &type));
	CHECK(type == IOMMU_HW_INFO_TYPE_ARM_SMMUV3);
	CHECK((smmu.idr[0] & (SMMU_IDR0_S1P | SMMU_IDR0_S2P)) == (SMMU_IDR0_S1P | SMMU_IDR0_S2P));
	CHECK((smmu.idr[5] & 7) == 5); /* OAS 48 bits */
	CHECK(smmu.iidr != 0);
	/* an automatic (stage-1) domain: the whole 48-bit input range, guest RAM from 0 */
	CHECK_OK(v_attach(dev, &pt));
	CHECK(pt != ioas);
	CHECK(iova_ranges(iommufd, ioas, &r) == 1);
	CHECK(r.start == 0 && r.last == (1ull << 48) - 1);
	CHECK_OK(t_map(iommufd, ioas, buf, 4 * 4096, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
	v_master(dev, 1);
	dma_round_trip(dev, buf);
	/* a NEST_PARENT (stage-2) domain, as QEMU makes for a nested vIOMMU */
	s2.dev_id = devid;
	CHECK(ioctl(iommufd, IOMMU_HWPT_ALLOC, &s2) == 0);
	pt = s2.out_hwpt_id;
	CHECK_OK(v_attach(dev, &pt));
	CHECK(pt == s2.out_hwpt_id);
	dma_round_trip(dev, buf);
	CHECK_OK(v_detach(dev));
	CHECK(close(dev) == 0);
	CHECK_OK(t_destroy(iommufd, s2.out_hwpt_id));
	CHECK_OK(t_unmap(iommufd, ioas, 0, 4 * 4096, NULL));
	CHECK_OK(t_destroy(iommufd, ioas));
	munmap(buf, 4 * 4096);
}

static void test_mock(int iommufd)
{
	int dev = v_open(VFIO1);
	uint32_t devid, type = 0, ioas = t_ioas_alloc(iommufd), pt = ioas;
	struct iommu_test_hw_info mock = { 0 };
	struct iommu_iova_range r = { 0 };

	CHECK_OK(v_bind(dev, iommufd, &devid));
	CHECK_OK(hw_info(iommufd, devid, &mock, sizeof(mock), &type));
	CHECK(type == IOMMU_HW_INFO_TYPE_SELFTEST);
	CHECK_OK(v_attach(dev, &pt));
	CHECK(iova_ranges(iommufd, ioas, &r) == 1);
	CHECK(r.start == 0 && r.last == (1ull << 48) - 1);
	CHECK(close(dev) == 0);
	CHECK_OK(t_destroy(iommufd, ioas));
}

int main(void)
{
	int iommufd = v_open("/dev/iommu");

	test_smmuv3(iommufd);
	test_mock(iommufd);
	CHECK(close(iommufd) == 0);
	return t_done();
}
