// SPDX-License-Identifier: MIT
/*
 * Object lifetime: IDs, destroy of a used object (EBUSY), wrong-type lookups, abort of a
 * half-built object on failure (no ID leaks, nothing half-built), and close of a context with
 * a graph of objects (everything released, leaves first).
 */
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"

static void test_ids_and_destroy(int fd)
{
	uint32_t a = t_ioas_alloc(fd), b = t_ioas_alloc(fd), c;

	CHECK(a == 1 && b == 2);
	CHECK_OK(t_destroy(fd, a));
	CHECK_ERR(ENOENT, t_destroy(fd, a));
	/* The lowest free ID is reused, as the kernel's xarray allocation does */
	c = t_ioas_alloc(fd);
	CHECK(c == a);
	CHECK_ERR(ENOENT, t_destroy(fd, 0));
	CHECK_ERR(ENOENT, t_destroy(fd, 1000));
	CHECK_OK(t_destroy(fd, b));
	CHECK_OK(t_destroy(fd, c));
}

static void test_busy(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd), hwpt, idev, stdev;
	struct iommu_ioas_map m = { .size = sizeof(m), .ioas_id = hwpt = 0 };

	stdev = t_mock_domain(fd, ioas, &hwpt, &idev);
	/* The IOAS and the HWPT are used; the device is held by its selftest object */
	CHECK_ERR(EBUSY, t_destroy(fd, ioas));
	CHECK_ERR(EBUSY, t_destroy(fd, hwpt));
	CHECK_ERR(EBUSY, t_destroy(fd, idev));
	/* Wrong object type for the command */
	m.ioas_id = hwpt;
	m.flags = IOMMU_IOAS_MAP_READABLE;
	m.length = 4096;
	m.user_va = 4096;
	CHECK_ERR(ENOENT, softiommu_ioctl(fd, IOMMU_IOAS_MAP, &m));
	/* Destroying the device releases its automatic HWPT, then the IOAS is free */
	CHECK_OK(t_destroy(fd, stdev));
	CHECK_ERR(ENOENT, t_destroy(fd, hwpt));
	CHECK_ERR(ENOENT, t_destroy(fd, idev));
	CHECK_OK(t_destroy(fd, ioas));
}

/* A failing HWPT_ALLOC must leave no object behind and no ID consumed */
static void test_abort(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd), idev, stdev, before;
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .pt_id = ioas };
	struct iommu_hwpt_selftest bad = { .pagetable_type = 77 };

	stdev = t_mock_domain(fd, ioas, NULL, &idev);
	before = t_ioas_alloc(fd);
	CHECK_OK(t_destroy(fd, before));
	h.dev_id = idev;
	/* The driver refuses the page-table type after the HWPT object was allocated */
	h.data_type = IOMMU_HWPT_DATA_SELFTEST;
	h.data_len = sizeof(bad);
	h.data_uptr = (uintptr_t)&bad;
	CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	/* Unsupported flags */
	h.data_type = 0;
	h.data_len = 0;
	h.data_uptr = 0;
	h.flags = 1u << 30;
	CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	/* A mock device whose attach fails (unknown IOAS) is aborted with its device */
	{
		struct iommu_test_cmd cmd = { .size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
					      .id = 9999 };

		CHECK_ERR(ENOENT, softiommu_ioctl(fd, IOMMU_TEST_CMD, &cmd));
	}
	/* The aborted objects did not keep IDs: the next object gets the same ID again */
	CHECK(t_ioas_alloc(fd) == before);
	CHECK_OK(t_destroy(fd, before));
	CHECK_ERR(EBUSY, t_destroy(fd, ioas));
	CHECK_OK(t_destroy(fd, stdev));
	CHECK_OK(t_destroy(fd, ioas));
}

/* Close with a graph: IOASes, devices on automatic and manual HWPTs, nested HWPTs, maps */
static void test_close_graph(void)
{
	size_t len = 64 * 4096;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	uint32_t ioas, ioas2, idev, parent;
	struct iommu_hwpt_alloc h = { .size = sizeof(h) };
	struct iommu_test_cmd acc = { .size = sizeof(acc), .op = IOMMU_TEST_OP_CREATE_ACCESS };
	uint64_t iova = 0;
	int fd = softiommu_open(0);

	ioas = t_ioas_alloc(fd);
	ioas2 = t_ioas_alloc(fd);
	t_mock_domain(fd, ioas, NULL, &idev);
	t_mock_domain(fd, ioas2, NULL, NULL);
	h.dev_id = idev;
	h.pt_id = ioas;
	h.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	parent = h.out_hwpt_id;
	h.pt_id = parent;
	h.flags = 0;
	h.data_type = IOMMU_HWPT_DATA_SELFTEST;
	h.data_len = sizeof(data);
	h.data_uptr = (uintptr_t)&data;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	CHECK_OK(t_map(fd, ioas, buf, len, &iova, 0));
	iova = 0;
	CHECK_OK(t_map(fd, ioas2, buf, len, &iova, 0));
	acc.id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &acc));
	/* Two IOASes with domains pin the buffer (once per IOAS mapping) */
	CHECK(t_pinned() == 2 * 64);
#ifndef SIO_REAL_KERNEL
	/* Context, 2 IOASes, 2 × (selftest device, idev, automatic HWPT), parent, nested, access */
	CHECK(t_live() == 1 + 2 + 2 * 3 + 2 + 1);
#endif
	/* The access descriptor keeps its own reference; close both */
	CHECK_OK(softiommu_close(fd));
#ifndef SIO_REAL_KERNEL
	CHECK(t_live() > 0);
#endif
	CHECK_OK(softiommu_close(acc.create_access.out_access_fd));
	CHECK(t_pinned() == 0);
	CHECK(t_live() == 0);
	munmap(buf, len);
}

/*
 * Closing /dev/iommu while an access and a fault queue descriptor are open: like Linux, those
 * keep the context, so its objects (and pins) go only when the last descriptor closes.
 */
static void test_close_with_dependents(void)
{
	size_t len = 8 * 4096;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_test_cmd acc = { .size = sizeof(acc), .op = IOMMU_TEST_OP_CREATE_ACCESS,
				      .create_access.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES };
	struct iommu_test_cmd pin = { .size = sizeof(pin), .op = IOMMU_TEST_OP_ACCESS_PAGES };
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	uint64_t iova = 0;
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);

	memset(buf, 0, len);
	CHECK_OK(t_map(fd, ioas, buf, len, &iova, 0));
	acc.id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &acc));
	pin.id = acc.create_access.out_access_fd;
	pin.access_pages.iova = iova;
	pin.access_pages.length = len;
	pin.access_pages.uptr = (uintptr_t)buf;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &pin));
	CHECK_OK(softiommu_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	CHECK(t_pinned() == 8);
	CHECK_OK(softiommu_close(fd));
	/* The access still pins its pages through the (now descriptor-less) context */
	CHECK(t_pinned() == 8);
	CHECK_OK(softiommu_close(acc.create_access.out_access_fd));
	CHECK(t_pinned() == 0);
	CHECK_OK(softiommu_close(fa.out_fault_fd));
	munmap(buf, len);
}

int main(void)
{
	int fd = softiommu_open(0);

	test_ids_and_destroy(fd);
	test_busy(fd);
	test_abort(fd);
	CHECK_OK(softiommu_close(fd));
	test_close_graph();
	test_close_with_dependents();
	return t_done();
}
