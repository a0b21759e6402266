// SPDX-License-Identifier: MIT
/*
 * Details of Linux's behaviour that no upstream selftest pins down but clients can observe,
 * settled by running this program against the reference kernel too (run-on-refkernel.sh):
 * automatic domains shared between devices on one IOAS, GET_HW_INFO capabilities of the mock,
 * the VFIO compatibility info, and errno ordering in a few corners.
 */
#include <sys/mman.h>
#include <unistd.h>

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

/*
 * VFIO type1 (v0) unmaps part of a mapping by cutting its area: each half then unpins its
 * own pages (vfio_v0_cut_unpins_both_halves)
 */
static void test_vfio_v0_cut_unpins(int fd)
{
	struct iommu_vfio_ioas v = { .size = sizeof(v), .op = IOMMU_VFIO_IOAS_SET };
	char *mem = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map),
						.flags = VFIO_DMA_MAP_FLAG_READ |
							 VFIO_DMA_MAP_FLAG_WRITE,
						.vaddr = (uintptr_t)mem, .iova = 1 << 24,
						.size = 2 * 4096 };
	struct vfio_iommu_type1_dma_unmap un = { .argsz = sizeof(un),
						 .iova = (1 << 24) + 4096, .size = 4096 };
	struct iommu_ioas_copy cp = { .size = sizeof(cp), .src_iova = 1 << 24, .length = 4096,
				      .flags = IOMMU_IOAS_MAP_READABLE };
	uint32_t ioas = t_ioas_alloc(fd), stdev;
	unsigned long before = t_pinned();

	v.ioas_id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VFIO_IOAS, &v));
	stdev = t_mock_domain(fd, ioas, NULL, NULL);
	CHECK_OK(softiommu_ioctl(fd, VFIO_SET_IOMMU, (void *)VFIO_TYPE1_IOMMU));
	CHECK_OK(softiommu_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map));
	CHECK(t_pinned() == before + 2);
	CHECK_OK(softiommu_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &un));
	CHECK(un.size == 4096);
	CHECK(t_pinned() == before + 1);
	/* the pages stay referenced (a copy into an IOAS without domains pins nothing) */
	cp.dst_ioas_id = t_ioas_alloc(fd);
	cp.src_ioas_id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_COPY, &cp));
	un.iova = 1 << 24;
	CHECK_OK(softiommu_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &un));
	CHECK(t_pinned() == before);
	CHECK_OK(t_destroy(fd, cp.dst_ioas_id));
	CHECK_OK(t_destroy(fd, stdev));
	CHECK_OK(t_destroy(fd, ioas));
	munmap(mem, 2 * 4096);
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

/*
 * Findings of the differential tester (tests/diff), one check each, named after what Linux
 * does. Each failed against softiommu before its fix.
 */
#define NONCANON ((void *)0x8000000000000000ull)

static uint32_t hwpt_alloc(int fd, uint32_t dev, uint32_t pt, uint32_t flags)
{
	struct iommu_hwpt_alloc c = { .size = sizeof(c), .flags = flags, .dev_id = dev,
				      .pt_id = pt };

	return softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &c) ? 0 : c.out_hwpt_id;
}

static long dirty_bitmap(int fd, uint32_t hwpt, uint64_t iova, uint64_t len, uint64_t pgsize,
			 void *data)
{
	struct iommu_hwpt_get_dirty_bitmap c = { .size = sizeof(c), .hwpt_id = hwpt, .iova = iova,
						 .length = len, .page_size = pgsize,
						 .data = (uintptr_t)data };

	return softiommu_ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &c);
}

/* GET_DIRTY_BITMAP: the range is checked before dirty support; the bitmap's faults are lost */
static void test_dirty_bitmap_order(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd), idev, stdev, plain, dirty;
	uint64_t iova = MOCK_APERTURE_START, bits[4] = { 0 };
	char *mem = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	stdev = t_mock_domain(fd, ioas, NULL, &idev);
	plain = hwpt_alloc(fd, idev, ioas, 0);
	dirty = hwpt_alloc(fd, idev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
	CHECK(plain && dirty);
	CHECK_OK(t_map(fd, ioas, mem, 4 * 4096, &iova, IOMMU_IOAS_MAP_READABLE |
		       IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	/* dirty_bitmap_range_before_support: EINVAL (page_size 0), then EOPNOTSUPP */
	CHECK_ERR(EINVAL, dirty_bitmap(fd, plain, iova, 4 * 4096, 0, bits));
	CHECK_ERR(EOVERFLOW, dirty_bitmap(fd, plain, UINT64_MAX - 4095, 8192, 4096, bits));
	CHECK_ERR(EOPNOTSUPP, dirty_bitmap(fd, plain, iova, 4 * 4096, 4096, bits));
	/* dirty_bitmap_pgsize_is_a_mask: 12 KiB is accepted where the mask lets it */
	CHECK_OK(dirty_bitmap(fd, dirty, iova, 4 * 4096, 3 * 4096, bits));
	CHECK_ERR(EINVAL, dirty_bitmap(fd, dirty, iova, 3 * 4096, 3 * 4096, bits));
	/* dirty_bitmap_faults_lost: an unwritable bitmap, a hole in the range: success */
	CHECK_OK(dirty_bitmap(fd, dirty, iova, 4 * 4096, 4096, NULL));
	CHECK_OK(dirty_bitmap(fd, dirty, iova, 4 * 4096, 4096, NONCANON));
	CHECK_OK(dirty_bitmap(fd, dirty, iova, 64 * 4096, 4096, bits));
	CHECK_OK(dirty_bitmap(fd, dirty, iova + (1ull << 30), 1ull << 40, 4096, bits));
	CHECK_OK(t_unmap(fd, ioas, iova, 4 * 4096, NULL));
	CHECK_OK(t_destroy(fd, plain));
	CHECK_OK(t_destroy(fd, dirty));
	CHECK_OK(t_destroy(fd, stdev));
	CHECK_OK(t_destroy(fd, ioas));
	munmap(mem, 4 * 4096);
}

/* ALLOW_IOVAS reads entries one at a time: a huge count fails on its first bad entry */
static void test_allow_iovas_huge_count(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd);
	char *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_iova_range *r = (void *)(p + 4096 - 3 * sizeof(*r));
	struct iommu_ioas_allow_iovas c = { .size = sizeof(c), .ioas_id = ioas,
					    .num_iovas = UINT32_MAX, .allowed_iovas = (uintptr_t)r };

	mprotect(p + 4096, 4096, PROT_NONE);
	r[0] = (struct iommu_iova_range){ 1 << 24, (2 << 24) - 1 };
	r[1] = (struct iommu_iova_range){ 4 << 24, (5 << 24) - 1 };
	r[2] = (struct iommu_iova_range){ 8 << 24, 8 << 24 };	/* start >= last */
	/* allow_iovas_huge_count_einval */
	CHECK_ERR(EINVAL, softiommu_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &c));
	/* allow_iovas_huge_count_efault: valid entries up to the inaccessible page */
	r[2] = (struct iommu_iova_range){ 8 << 24, (9 << 24) - 1 };
	CHECK_ERR(EFAULT, softiommu_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &c));
	CHECK_OK(t_destroy(fd, ioas));
	munmap(p, 2 * 4096);
}

/* read()/write() on event queues: what the VFS checks before the file does */
static void test_eventq_rw_order(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd), idev, stdev, parent;
	struct iommu_fault_alloc f = { .size = sizeof(f) };
	struct iommu_viommu_alloc v = { .size = sizeof(v), .type = IOMMU_VIOMMU_TYPE_SELFTEST };
	struct iommu_veventq_alloc q = { .size = sizeof(q), .type = IOMMU_VEVENTQ_TYPE_SELFTEST,
					 .veventq_depth = 2 };
	char small[16];

	CHECK_OK(softiommu_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &f));
	/* fault_read_bad_buffer_efault: access_ok before the record size (ESPIPE) */
	CHECK_ERR(EFAULT, softiommu_read((int)f.out_fault_fd, NONCANON, 16));
	CHECK_ERR(ESPIPE, softiommu_read((int)f.out_fault_fd, small, 16));
	CHECK_ERR(EFAULT, softiommu_write((int)f.out_fault_fd, NONCANON, 8));
	stdev = t_mock_domain(fd, ioas, NULL, &idev);
	parent = hwpt_alloc(fd, idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
	v.dev_id = idev;
	v.hwpt_id = parent;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VIOMMU_ALLOC, &v));
	q.viommu_id = v.out_viommu_id;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VEVENTQ_ALLOC, &q));
	/* veventq_write_einval: no write at all comes before the buffer check */
	CHECK_ERR(EINVAL, softiommu_write((int)q.out_veventq_fd, NONCANON, 8));
	CHECK_ERR(EINVAL, softiommu_write((int)q.out_veventq_fd, small, 8));
	CHECK_ERR(EFAULT, softiommu_read((int)q.out_veventq_fd, NONCANON, 16));
	CHECK_OK(softiommu_close((int)q.out_veventq_fd));
	CHECK_OK(t_destroy(fd, q.out_veventq_id));
	CHECK_OK(t_destroy(fd, v.out_viommu_id));
	CHECK_OK(t_destroy(fd, parent));
	CHECK_OK(t_destroy(fd, stdev));
	CHECK_OK(softiommu_close((int)f.out_fault_fd));
	CHECK_OK(t_destroy(fd, f.out_fault_id));
	CHECK_OK(t_destroy(fd, ioas));
}

/* The mock's page sizes in VFIO_IOMMU_GET_INFO, and PASIDs on a plain mock device */
static void test_mock_geometry(int fd)
{
	struct iommu_vfio_ioas v = { .size = sizeof(v), .op = IOMMU_VFIO_IOAS_SET };
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	uint32_t ioas = t_ioas_alloc(fd), idev, stdev, hwpt;
	struct iommu_test_cmd pa = { .size = sizeof(pa), .op = IOMMU_TEST_OP_PASID_ATTACH };
	struct iommu_test_cmd rep = { .size = sizeof(rep),
				      .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };

	stdev = t_mock_domain(fd, ioas, NULL, &idev);
	v.ioas_id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VFIO_IOAS, &v));
	CHECK_OK(softiommu_ioctl(fd, VFIO_IOMMU_GET_INFO, &info));
	/* vfio_pgsizes_mock_domain: every power of two from 4 KiB to 64 GiB */
	CHECK(info.iova_pgsizes == 0x1ffffff000ull);
	/* pasid_attach_plain_device_einval: its one PASID is 0 */
	hwpt = hwpt_alloc(fd, idev, ioas, IOMMU_HWPT_ALLOC_PASID);
	CHECK(hwpt != 0);
	rep.id = stdev;
	rep.mock_domain_replace.pt_id = hwpt;	/* the RID on a PASID-capable HWPT too */
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &rep));
	pa.id = stdev;
	pa.pasid_attach.pasid = 100;
	pa.pasid_attach.pt_id = hwpt;
	CHECK_ERR(EINVAL, softiommu_ioctl(fd, IOMMU_TEST_CMD, &pa));
	v.op = IOMMU_VFIO_IOAS_CLEAR;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VFIO_IOAS, &v));
	rep.mock_domain_replace.pt_id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &rep));
	CHECK_OK(t_destroy(fd, hwpt));
	CHECK_OK(t_destroy(fd, stdev));
	CHECK_OK(t_destroy(fd, ioas));
}

/* IOAS_COPY: the source range is checked before the destination is looked up */
static void test_copy_order(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd);
	struct iommu_ioas_copy cp = { .size = sizeof(cp), .dst_ioas_id = 0xdead,
				      .src_ioas_id = ioas, .length = 0,
				      .flags = IOMMU_IOAS_MAP_READABLE };

	/* copy_zero_length_before_dst: EINVAL, not the destination's ENOENT */
	CHECK_ERR(EINVAL, softiommu_ioctl(fd, IOMMU_IOAS_COPY, &cp));
	/* copy_hole_before_dst: nothing mapped at the source, ENOENT from the range */
	cp.length = 4096;
	cp.src_iova = 1 << 24;
	CHECK_ERR(ENOENT, softiommu_ioctl(fd, IOMMU_IOAS_COPY, &cp));
	cp.src_iova = UINT64_MAX - 4095;
	cp.length = 8192;
	CHECK_ERR(EOVERFLOW, softiommu_ioctl(fd, IOMMU_IOAS_COPY, &cp));
	/* copy_one_byte_past_the_area: the hole is the range's last byte, still ENOENT */
	{
		char *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0);
		uint64_t iova = 1 << 24;

		CHECK_OK(t_map(fd, ioas, mem, 4096, &iova, IOMMU_IOAS_MAP_READABLE |
			       IOMMU_IOAS_MAP_FIXED_IOVA));
		cp.dst_ioas_id = ioas;
		cp.src_iova = iova;
		cp.length = 4097;
		CHECK_ERR(ENOENT, softiommu_ioctl(fd, IOMMU_IOAS_COPY, &cp));
		cp.length = 4096;
		CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_COPY, &cp));
		CHECK_OK(t_unmap(fd, ioas, 0, UINT64_MAX, NULL));
		munmap(mem, 4096);
	}
	CHECK_OK(t_destroy(fd, ioas));
}

static long hw_queue_alloc(int fd, uint32_t viommu, uint32_t index, uint64_t iova,
			   uint32_t *id)
{
	struct iommu_hw_queue_alloc c = { .size = sizeof(c), .viommu_id = viommu,
					  .type = IOMMU_HW_QUEUE_TYPE_SELFTEST, .index = index,
					  .nesting_parent_iova = iova, .length = 4096 };
	long rc = softiommu_ioctl(fd, IOMMU_HW_QUEUE_ALLOC, &c);

	*id = c.out_hw_queue_id;
	return rc;
}

/* Linux 7.2's mock never records a HW queue's index: destroying queue 1 empties slot 0 */
static void test_hw_queue_slots(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd), idev, stdev, parent, q0, q1, q0b, unused;
	struct iommu_viommu_alloc v = { .size = sizeof(v), .type = IOMMU_VIOMMU_TYPE_SELFTEST };
	char *mem = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = MOCK_APERTURE_START;

	stdev = t_mock_domain(fd, ioas, NULL, &idev);
	parent = hwpt_alloc(fd, idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
	v.dev_id = idev;
	v.hwpt_id = parent;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VIOMMU_ALLOC, &v));
	CHECK_OK(t_map(fd, ioas, mem, 2 * 4096, &iova, IOMMU_IOAS_MAP_READABLE |
		       IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	/* hw_queue_page_array_enomem: more than INT_MAX bytes of page array, before any pin */
	{
		struct iommu_hw_queue_alloc big = { .size = sizeof(big),
						    .viommu_id = v.out_viommu_id,
						    .type = IOMMU_HW_QUEUE_TYPE_SELFTEST,
						    .nesting_parent_iova = iova,
						    .length = 1ull << 40 };

		CHECK_ERR(ENOMEM, softiommu_ioctl(fd, IOMMU_HW_QUEUE_ALLOC, &big));
	}
	CHECK_OK(hw_queue_alloc(fd, v.out_viommu_id, 0, iova, &q0));
	CHECK_OK(hw_queue_alloc(fd, v.out_viommu_id, 1, iova + 4096, &q1));
	CHECK_ERR(EEXIST, hw_queue_alloc(fd, v.out_viommu_id, 0, iova, &unused));
	CHECK_ERR(EBUSY, t_destroy(fd, q0));	/* queue 1 depends on it */
	CHECK_OK(t_destroy(fd, q1));
	/* hw_queue_slot0_freed_by_queue1: a second queue 0 beside the live one */
	CHECK_OK(hw_queue_alloc(fd, v.out_viommu_id, 0, iova, &q0b));
	/* hw_queue_slot1_stale: queue 1 stays EEXIST */
	CHECK_ERR(EEXIST, hw_queue_alloc(fd, v.out_viommu_id, 1, iova + 4096, &unused));
	CHECK_OK(t_destroy(fd, q0b));
	CHECK_OK(t_destroy(fd, q0));
	CHECK_OK(t_destroy(fd, v.out_viommu_id));
	CHECK_OK(t_destroy(fd, parent));
	CHECK_OK(t_unmap(fd, ioas, iova, 2 * 4096, NULL));
	CHECK_OK(t_destroy(fd, stdev));
	CHECK_OK(t_destroy(fd, ioas));
	munmap(mem, 2 * 4096);
}

#ifndef SIO_REAL_KERNEL
/*
 * Destroying a mock device with a PASID attached: Linux 7.2 WARNs and later uses the freed
 * device (docs/difftest.md); softiommu detaches every attachment. Not run on Linux.
 */
static void test_destroy_device_with_pasid(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd), hwpt;
	struct iommu_test_cmd md = { .size = sizeof(md), .op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
				     .id = ioas,
				     .mock_domain_flags.dev_flags = MOCK_FLAGS_DEVICE_PASID };
	struct iommu_test_cmd pa = { .size = sizeof(pa), .op = IOMMU_TEST_OP_PASID_ATTACH };
	struct iommu_hw_info hi = { .size = sizeof(hi) };
	struct iommu_test_cmd rep = { .size = sizeof(rep),
				      .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };

	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &md));
	hwpt = hwpt_alloc(fd, md.mock_domain_flags.out_idev_id, ioas, IOMMU_HWPT_ALLOC_PASID);
	CHECK(hwpt != 0);
	rep.id = md.mock_domain_flags.out_stdev_id;
	rep.mock_domain_replace.pt_id = hwpt;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &rep));
	pa.id = md.mock_domain_flags.out_stdev_id;
	pa.pasid_attach.pasid = 100;
	pa.pasid_attach.pt_id = hwpt;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &pa));
	CHECK_OK(t_destroy(fd, md.mock_domain_flags.out_stdev_id));
	/* destroy_device_with_pasid_detaches: the device is gone, the HWPT free */
	hi.dev_id = md.mock_domain_flags.out_idev_id;
	CHECK_ERR(ENOENT, softiommu_ioctl(fd, IOMMU_GET_HW_INFO, &hi));
	CHECK_OK(t_destroy(fd, hwpt));
	CHECK_OK(t_destroy(fd, ioas));
}
#endif

/* TEST_OP_ACCESS_PAGES checks the user pages as get_user_pages_fast() does */
static void test_access_pages_top(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd);
	struct iommu_test_cmd ca = { .size = sizeof(ca), .op = IOMMU_TEST_OP_CREATE_ACCESS,
				     .id = ioas,
				     .create_access.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES };
	struct iommu_test_cmd ap = { .size = sizeof(ap), .op = IOMMU_TEST_OP_ACCESS_PAGES };
	char *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = 1 << 24;

	CHECK_OK(t_map(fd, ioas, mem, 4096, &iova, IOMMU_IOAS_MAP_READABLE |
		       IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &ca));
	ap.id = ca.create_access.out_access_fd;
	ap.access_pages.iova = iova;
	ap.access_pages.length = 4096;
	/* access_pages_last_page_eoverflow: the page's end wraps past 2^64 */
	ap.access_pages.uptr = UINT64_MAX - 4095;
	CHECK_ERR(EOVERFLOW, softiommu_ioctl(fd, IOMMU_TEST_CMD, &ap));
	ap.access_pages.uptr = UINT64_MAX - 8191;
	CHECK_ERR(EFAULT, softiommu_ioctl(fd, IOMMU_TEST_CMD, &ap));
	CHECK_OK(softiommu_close((int)ca.create_access.out_access_fd));
	CHECK_OK(t_unmap(fd, ioas, iova, 4096, NULL));
	CHECK_OK(t_destroy(fd, ioas));
	munmap(mem, 4096);
}

/*
 * Read-only memory mapped writable, without a domain (nothing pinned): the slow access path
 * pins the pages as their mapping does (FOLL_WRITE), one page only for the copy's direction
 */
static void test_access_rw_readonly_mapped_writable(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd), access;
	char *mem = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = 1 << 24;
	char buf[16];

	CHECK_OK(t_map(fd, ioas, mem, 2 * 4096, &iova, IOMMU_IOAS_MAP_READABLE |
		       IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	access = t_access_create(fd, ioas, 0);
	CHECK(access != 0);
	/* access_rw_ro_fast_read: copy_from_user only */
	CHECK_OK(t_access_rw(fd, access, iova + 4090, buf, 12, 0));
	/* access_rw_ro_slow_one_page_read: one page, pinned for reading */
	CHECK_OK(t_access_rw(fd, access, iova + 100, buf, 12, MOCK_ACCESS_RW_SLOW_PATH));
	/* access_rw_ro_slow_read_efault: two pages, pinned for writing as mapped */
	CHECK_ERR(EFAULT, t_access_rw(fd, access, iova + 4090, buf, 12, MOCK_ACCESS_RW_SLOW_PATH));
	/* access_rw_ro_write_efault: both paths */
	CHECK_ERR(EFAULT, t_access_rw(fd, access, iova + 100, buf, 12, MOCK_ACCESS_RW_WRITE));
	CHECK_ERR(EFAULT, t_access_rw(fd, access, iova + 100, buf, 12,
				    MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH));
	CHECK_OK(softiommu_close((int)access));
	CHECK_OK(t_destroy(fd, ioas));
	munmap(mem, 2 * 4096);
}

/* The last page of the address space: mapped lazily, never pinned (GUP: EOVERFLOW) */
static void test_map_last_page(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd), ioas2 = t_ioas_alloc(fd), access, stdev;
	uint64_t top = UINT64_MAX - 4095, iova = 1 << 24;
	char buf[16];

	/* map_last_page_lazy: no domain, nothing pinned */
	CHECK_OK(t_map(fd, ioas, (void *)(uintptr_t)top, 100, &iova,
		       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	access = t_access_create(fd, ioas, 0);
	CHECK(access != 0);
	/* access_rw_last_page_efault: copy_from_user, and one page by remote GUP */
	CHECK_ERR(EFAULT, t_access_rw(fd, access, iova, buf, 12, 0));
	CHECK_ERR(EFAULT, t_access_rw(fd, access, iova, buf, 12, MOCK_ACCESS_RW_SLOW_PATH));
	CHECK_OK(softiommu_close((int)access));
	/* map_last_page_pinned_eoverflow: a domain pins it (2 KiB: the mock's IOVA granule), and the page count wraps */
	stdev = t_mock_domain(fd, ioas2, NULL, NULL);
	iova = 1 << 24;
	CHECK_ERR(EOVERFLOW, t_map(fd, ioas2, (void *)(uintptr_t)top, 2048, &iova,
				   IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	iova = 1 << 24;
	CHECK_ERR(EOVERFLOW, t_map(fd, ioas2, (void *)(uintptr_t)(top - 4096), 4096 + 2048, &iova,
				   IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	/* map_below_last_page_efault: a hole in kernel space, no wrap */
	iova = 1 << 24;
	CHECK_ERR(EFAULT, t_map(fd, ioas2, (void *)(uintptr_t)(top - 4096), 4096, &iova,
				IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	CHECK_OK(t_destroy(fd, stdev));
	CHECK_OK(t_destroy(fd, ioas2));
	CHECK_OK(t_destroy(fd, ioas));
}

/* IOVA allocation sees touching ALLOW_IOVAS ranges as one span, as Linux's interval tree */
static void test_allowed_ranges_touching(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd);
	struct iommu_iova_range r[2] = { { 0x1900000, 0x1ffffff }, { 0x2000000, 0x27fffff } };
	struct iommu_ioas_allow_iovas al = { .size = sizeof(al), .ioas_id = ioas, .num_iovas = 2,
					     .allowed_iovas = (uintptr_t)r };
	int mfd = memfd_create("kd", 0);
	struct iommu_ioas_map_file mf = { .size = sizeof(mf), .ioas_id = ioas, .fd = mfd,
					  .flags = IOMMU_IOAS_MAP_READABLE, .start = 0x400000,
					  .length = 0x801000 };

	CHECK(mfd >= 0 && !ftruncate(mfd, 16 << 20));
	CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &al));
	/* alloc_iova_across_allowed_ranges: 8 MiB + 4 KiB, 2 MiB aligned, over both ranges */
	CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_MAP_FILE, &mf));
	CHECK(mf.iova == 0x1a00000);
	CHECK_OK(t_unmap(fd, ioas, 0, UINT64_MAX, NULL));
	close(mfd);
	CHECK_OK(t_destroy(fd, ioas));
}

static uint32_t nested_on(int fd, uint32_t dev, uint32_t viommu)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc c = { .size = sizeof(c), .dev_id = dev, .pt_id = viommu,
				      .data_type = IOMMU_HWPT_DATA_SELFTEST,
				      .data_len = sizeof(data), .data_uptr = (uintptr_t)&data };

	return softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &c) ? 0 : c.out_hwpt_id;
}

/* The mock takes a device's virtual ID only when its vIOMMU changes */
static void test_vdev_id_kept(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd), idev, stdev, parent, n1, n2;
	struct iommu_viommu_alloc v = { .size = sizeof(v), .type = IOMMU_VIOMMU_TYPE_SELFTEST };
	struct iommu_veventq_alloc q = { .size = sizeof(q), .type = IOMMU_VEVENTQ_TYPE_SELFTEST,
					 .veventq_depth = 4 };
	struct iommu_vdevice_alloc vd = { .size = sizeof(vd), .virt_id = 1 };
	struct iommu_test_cmd rep = { .size = sizeof(rep),
				      .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	struct iommu_test_cmd trig = { .size = sizeof(trig), .op = IOMMU_TEST_OP_TRIGGER_VEVENT };
	uint32_t ev[3] = { 0 };

	stdev = t_mock_domain(fd, ioas, NULL, &idev);
	parent = hwpt_alloc(fd, idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
	v.dev_id = idev;
	v.hwpt_id = parent;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VIOMMU_ALLOC, &v));
	q.viommu_id = v.out_viommu_id;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VEVENTQ_ALLOC, &q));
	vd.viommu_id = v.out_viommu_id;
	vd.dev_id = idev;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VDEVICE_ALLOC, &vd));
	n1 = nested_on(fd, idev, v.out_viommu_id);
	n2 = nested_on(fd, idev, v.out_viommu_id);
	CHECK(n1 && n2);
	rep.id = stdev;
	rep.mock_domain_replace.pt_id = n1;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &rep));
	/* a new vDEVICE, virt_id 3, while the device stays on the same vIOMMU */
	CHECK_OK(t_destroy(fd, vd.out_vdevice_id));
	vd.virt_id = 3;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VDEVICE_ALLOC, &vd));
	rep.mock_domain_replace.pt_id = n2;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &rep));
	trig.trigger_vevent.dev_id = idev;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &trig));
	/* vdev_id_kept_same_viommu: the event still carries virt_id 1 */
	CHECK(softiommu_read((int)q.out_veventq_fd, ev, sizeof(ev)) == sizeof(ev));
	CHECK(ev[2] == 1);
	rep.mock_domain_replace.pt_id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &rep));
	CHECK_OK(t_destroy(fd, n1));
	CHECK_OK(t_destroy(fd, n2));
	CHECK_OK(t_destroy(fd, vd.out_vdevice_id));
	CHECK_OK(softiommu_close((int)q.out_veventq_fd));
	CHECK_OK(t_destroy(fd, q.out_veventq_id));
	CHECK_OK(t_destroy(fd, v.out_viommu_id));
	CHECK_OK(t_destroy(fd, parent));
	CHECK_OK(t_destroy(fd, stdev));
	CHECK_OK(t_destroy(fd, ioas));
}

int main(void)
{
	int fd = softiommu_open(0);

	test_auto_domain_shared(fd);
	test_hw_info(fd);
	test_vfio_info(fd);
	test_vfio_v0_cut_unpins(fd);
	test_corners(fd);
	test_dirty_bitmap_order(fd);
	test_allow_iovas_huge_count(fd);
	test_eventq_rw_order(fd);
	test_mock_geometry(fd);
	test_copy_order(fd);
	test_hw_queue_slots(fd);
	test_access_pages_top(fd);
	test_access_rw_readonly_mapped_writable(fd);
	test_map_last_page(fd);
	test_allowed_ranges_touching(fd);
	test_vdev_id_kept(fd);
#ifndef SIO_REAL_KERNEL
	test_destroy_device_with_pasid(fd);
#endif
	CHECK_OK(softiommu_close(fd));
	return t_done();
}
