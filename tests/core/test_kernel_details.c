// SPDX-License-Identifier: MIT
/*
 * Details of Linux's behaviour that no upstream selftest pins down but clients can observe,
 * settled by running this program against the reference kernel too (run-on-refkernel.sh):
 * automatic domains shared between devices on one IOAS, GET_HW_INFO capabilities of the mock,
 * the VFIO compatibility info, and errno ordering in a few corners.
 */
#include <sys/mman.h>

#include <linux/vfio.h>

#include "testlib.h"

static void test_auto_domain_shared(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd), h1, h2, h3, s1, s2, s3;
	struct iommu_test_cmd flags = { .size = sizeof(flags),
					.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, .id = ioas,
					.mock_domain_flags.dev_flags = MOCK_FLAGS_DEVICE_NO_DIRTY };

	s1 = t_mock_domain(fd, ioas, &h1, NULL);
	s2 = t_mock_domain(fd, ioas, &h2, NULL);
	/* Any automatic domain that accepts the device is reused */
	CHECK(h1 == h2);
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &flags));
	s3 = flags.mock_domain_flags.out_stdev_id;
	h3 = flags.mock_domain_flags.out_hwpt_id;
	CHECK(h3 == h1);
	CHECK_OK(t_destroy(fd, s1));
	CHECK_OK(t_destroy(fd, s2));
	CHECK_OK(t_destroy(fd, s3));
	CHECK_ERR(ENOENT, t_destroy(fd, h1));
	CHECK_OK(t_destroy(fd, ioas));
}

static void test_hw_info(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd), idev, stdev;
	struct iommu_test_hw_info info;
	struct iommu_hw_info c = { .size = sizeof(c), .data_len = sizeof(info),
				   .data_uptr = (uintptr_t)&info };

	stdev = t_mock_domain(fd, ioas, NULL, &idev);
	c.dev_id = idev;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_GET_HW_INFO, &c));
	CHECK(c.out_data_type == IOMMU_HW_INFO_TYPE_SELFTEST && c.data_len == sizeof(info));
	CHECK(info.test_reg == IOMMU_HW_INFO_SELFTEST_REGVAL);
	CHECK(c.out_capabilities ==
	      (IOMMU_HW_CAP_DIRTY_TRACKING | IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED));
	CHECK(c.out_max_pasid_log2 == 0);
	/* Unknown flag, then reserved bytes */
	c.flags = 2;
	CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(fd, IOMMU_GET_HW_INFO, &c));
	c.flags = 0;
	c.__reserved[0] = 1;
	CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(fd, IOMMU_GET_HW_INFO, &c));
	CHECK_OK(t_destroy(fd, stdev));
	CHECK_OK(t_destroy(fd, ioas));
}

static void test_vfio_info(int fd)
{
	struct iommu_vfio_ioas v = { .size = sizeof(v), .op = IOMMU_VFIO_IOAS_GET };
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	uint32_t ioas;

	/* No compat IOAS yet */
	CHECK_ERR(ENODEV, softiommu_ioctl(fd, IOMMU_VFIO_IOAS, &v));
	CHECK_ERR(ENODEV, softiommu_ioctl(fd, VFIO_IOMMU_GET_INFO, &info));
	CHECK(softiommu_ioctl(fd, VFIO_CHECK_EXTENSION, (void *)VFIO_TYPE1v2_IOMMU) == 1);
	CHECK(softiommu_ioctl(fd, VFIO_CHECK_EXTENSION, (void *)VFIO_UPDATE_VADDR) == 0);
	ioas = t_ioas_alloc(fd);
	v.op = IOMMU_VFIO_IOAS_SET;
	v.ioas_id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VFIO_IOAS, &v));
	CHECK_OK(softiommu_ioctl(fd, VFIO_IOMMU_GET_INFO, &info));
	CHECK(info.flags == (VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS));
	CHECK(info.iova_pgsizes == ~0xfffULL);
	CHECK(info.argsz > sizeof(info) && info.cap_offset == 0);
	CHECK_ERR(EINVAL, softiommu_ioctl(fd, VFIO_SET_IOMMU, (void *)7));
	v.op = 77;
	CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(fd, IOMMU_VFIO_IOAS, &v));
	/* Destroying the compat IOAS clears it */
	CHECK_OK(t_destroy(fd, ioas));
	v.op = IOMMU_VFIO_IOAS_GET;
	CHECK_ERR(ENODEV, softiommu_ioctl(fd, IOMMU_VFIO_IOAS, &v));
}

static void test_corners(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd);
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = 0,
				      .length = 0 };
	struct iommu_option opt = { .size = sizeof(opt), .option_id = 77,
				    .op = IOMMU_OPTION_OP_GET, .object_id = ioas };
	struct iommu_ioas_copy cp = { .size = sizeof(cp), .dst_ioas_id = ioas,
				      .src_ioas_id = ioas, .length = 4096,
				      .flags = IOMMU_IOAS_MAP_READABLE };

	/* Zero-length unmap, unknown option, copy from nothing, copy to a non-IOAS */
	CHECK_ERR(EINVAL, softiommu_ioctl(fd, IOMMU_IOAS_UNMAP, &u));
	CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(fd, IOMMU_OPTION, &opt));
	opt.option_id = IOMMU_OPTION_HUGE_PAGES;
	opt.op = 7;
	CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(fd, IOMMU_OPTION, &opt));
	CHECK_ERR(ENOENT, softiommu_ioctl(fd, IOMMU_IOAS_COPY, &cp));
	cp.dst_ioas_id = 999;
	CHECK_ERR(ENOENT, softiommu_ioctl(fd, IOMMU_IOAS_COPY, &cp));
	/* The fault queue and vEVENTQ reject unknown flags before anything else */
	{
		struct iommu_veventq_alloc q = { .size = sizeof(q), .type = 1, .veventq_depth = 0,
						 .viommu_id = 999 };

		CHECK_ERR(EINVAL, softiommu_ioctl(fd, IOMMU_VEVENTQ_ALLOC, &q));
		q.veventq_depth = 1;
		CHECK_ERR(ENOENT, softiommu_ioctl(fd, IOMMU_VEVENTQ_ALLOC, &q));
		q.flags = 1;
		CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(fd, IOMMU_VEVENTQ_ALLOC, &q));
	}
	CHECK_OK(t_destroy(fd, ioas));
}

int main(void)
{
	int fd = softiommu_open(0);

	test_auto_domain_shared(fd);
	test_hw_info(fd);
	test_vfio_info(fd);
	test_corners(fd);
	CHECK_OK(softiommu_close(fd));
	return t_done();
}
