// SPDX-License-Identifier: MIT
/*
 * The DMA path of an emulated device (softiommu_dev_* / softiommu_dma_*): translation through
 * an automatic paging domain, permissions, unmapped IOVAs, memory the client unmapped behind
 * the mapping, fault routing (fault queue, vEVENTQ with the virtual ID, unhandled) and PASIDs.
 * Races with unmap are test_dma_races.c's.
 */
#include <poll.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"

#define PG 4096ULL
#define FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED_RO (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE)

static void test_basic(void)
{
	char *buf = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = MOCK_APERTURE_START, iova_ro = MOCK_APERTURE_START + 64 * PG;
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd), hwpt;
	unsigned int dev_id, pt;
	struct softiommu_dev *dev;
	char out[64];

	CHECK_ERR(ENODEV, softiommu_dev_create(fd, "nope", 0, &dev, &dev_id));
	CHECK_ERR(EBADF, softiommu_dev_create(77, "mock", 0, &dev, &dev_id));
	CHECK_OK(softiommu_dev_create(fd, "mock", 0, &dev, &dev_id));
	/* Not attached: blocked */
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, iova, out, 8));
	pt = ioas;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	hwpt = pt;
	CHECK(hwpt != ioas);
	/* A device bound this way cannot be destroyed by ID (its driver holds it) */
	CHECK_ERR(EBUSY, t_destroy(fd, dev_id));
	memset(buf, 0, 8 * PG);
	CHECK_OK(t_map(fd, ioas, buf, 4 * PG, &iova, FIXED_RW));
	CHECK_OK(t_map(fd, ioas, buf + 4 * PG, PG, &iova_ro, FIXED_RO));
	/* Write and read through the IOVA, across page boundaries */
	CHECK_OK(softiommu_dma_write(dev, 0, MOCK_APERTURE_START + PG - 3, "crossing pages", 15));
	CHECK(!memcmp(buf + PG - 3, "crossing pages", 15));
	memcpy(buf + 2 * PG, "from the CPU", 13);
	CHECK_OK(softiommu_dma_read(dev, 0, MOCK_APERTURE_START + 2 * PG, out, 13));
	CHECK(!strcmp(out, "from the CPU"));
	/* Read-only mapping: reads work, writes fault */
	CHECK_OK(softiommu_dma_read(dev, 0, iova_ro, out, 8));
	CHECK_ERR(EFAULT, softiommu_dma_write(dev, 0, iova_ro, "x", 1));
	/* Unmapped IOVA, a range running off the end of a mapping, a bad length */
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, MOCK_APERTURE_START + 32 * PG, out, 8));
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, MOCK_APERTURE_START + 4 * PG - 4, out, 8));
	CHECK_ERR(EINVAL, softiommu_dma_read(dev, 0, iova, out, 0));
	/* A PASID a device without PASID support cannot issue: no request, no fault */
	CHECK_ERR(EINVAL, softiommu_dma_read(dev, 5, iova, out, 8));
	CHECK_ERR(EINVAL, softiommu_dma_write(dev, 1, iova, "x", 1));
	/* None of those had a fault queue or a vIOMMU to go to */
	CHECK(softiommu_dma_unhandled_faults() == 4);
	/* After IOAS_UNMAP the IOVA no longer reaches the memory */
	CHECK_OK(t_unmap(fd, ioas, MOCK_APERTURE_START, 4 * PG, NULL));
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, MOCK_APERTURE_START, out, 8));
	CHECK_OK(softiommu_dev_detach(dev, 0));
	CHECK_ERR(ENOENT, softiommu_dev_detach(dev, 0));
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fd));
	CHECK(t_pinned() == 0);
	munmap(buf, 8 * PG);
}

/* Memory the client unmapped behind a live mapping: a fault, not a SIGSEGV */
static void test_gone_memory(void)
{
	char *buf = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = MOCK_APERTURE_START;
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);
	struct softiommu_dev *dev;
	unsigned int pt = ioas;
	char out[8];

	memset(buf, 1, 2 * PG);
	CHECK_OK(softiommu_dev_create(fd, "mock", 0, &dev, NULL));
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK_OK(t_map(fd, ioas, buf, 2 * PG, &iova, FIXED_RW));
	munmap(buf, 2 * PG);
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, MOCK_APERTURE_START, out, 8));
	CHECK_ERR(EFAULT, softiommu_dma_write(dev, 0, MOCK_APERTURE_START, out, 8));
	softiommu_dev_destroy(dev);
	/* The device held the context: closing last is fine */
	CHECK_OK(softiommu_close(fd));
}

/*
 * A DMA over hundreds of leaves (CPU-page leaves: IOMMU_OPTION_HUGE_PAGES off) moves in
 * batches; one that meets memory the client unmapped, or an IOVA hole, moves every byte
 * before it and none after.
 */
static void test_many_leaves(void)
{
	const size_t npg = 300, hole = 200;
	char *buf = mmap(NULL, npg * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	char *src = malloc(npg * PG), *dst = malloc(npg * PG);
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);
	struct iommu_option o = { .size = sizeof(o), .option_id = IOMMU_OPTION_HUGE_PAGES,
				  .op = IOMMU_OPTION_OP_SET, .object_id = ioas };
	uint64_t base = MOCK_APERTURE_START, iova;
	struct softiommu_dev *dev;
	unsigned int pt = ioas;
	bool before = true, after = true;

	for (size_t i = 0; i < npg * PG; i++)
		src[i] = (char)(i * 7 + i / PG);
	memset(buf, 0, npg * PG);
	CHECK_OK(softiommu_ioctl(fd, IOMMU_OPTION, &o));
	CHECK_OK(softiommu_dev_create(fd, "mock", 0, &dev, NULL));
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	/* Three areas, so that the last page can later leave the IOVA space on its own */
	iova = base;
	CHECK_OK(t_map(fd, ioas, buf, hole * PG, &iova, FIXED_RW));
	iova = base + hole * PG;
	CHECK_OK(t_map(fd, ioas, buf + hole * PG, (npg - hole - 1) * PG, &iova, FIXED_RW));
	iova = base + (npg - 1) * PG;
	CHECK_OK(t_map(fd, ioas, buf + (npg - 1) * PG, PG, &iova, FIXED_RW));
	/* Unaligned at both ends, across every batch boundary */
	CHECK_OK(softiommu_dma_write(dev, 0, base + 5, src + 5, npg * PG - 9));
	CHECK(!memcmp(buf + 5, src + 5, npg * PG - 9) && buf[4] == 0 && buf[npg * PG - 4] == 0);
	memset(dst, 0, npg * PG);
	CHECK_OK(softiommu_dma_read(dev, 0, base + 3, dst + 3, npg * PG - 3));
	CHECK(!memcmp(dst + 3, buf + 3, npg * PG - 3));

	/* The client unmaps one page behind the mapping: bytes before it move, none after */
	munmap(buf + hole * PG, PG);
	memset(buf, 0, hole * PG);
	memset(buf + (hole + 1) * PG, 0, (npg - hole - 1) * PG);
	CHECK_ERR(EFAULT, softiommu_dma_write(dev, 0, base, src, npg * PG));
	for (size_t i = 0; i < hole * PG; i++)
		before &= buf[i] == src[i];
	for (size_t i = (hole + 1) * PG; i < npg * PG; i++)
		after &= buf[i] == 0;
	CHECK(before && after);
	memset(dst, 0, npg * PG);
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, base + 100, dst, npg * PG - 100));
	CHECK(!memcmp(dst, buf + 100, hole * PG - 100) && dst[hole * PG - 100] == 0);

	/* An IOVA hole at the last page: the same */
	CHECK_OK(t_unmap(fd, ioas, base + (npg - 1) * PG, PG, NULL));
	memset(dst, 0, npg * PG);
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, base + (hole + 1) * PG, dst,
					     (npg - hole - 1) * PG));
	CHECK(!memcmp(dst, buf + (hole + 1) * PG, (npg - hole - 2) * PG));
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fd));
	CHECK(t_pinned() == 0);
	munmap(buf, npg * PG);
	free(src);
	free(dst);
}

/* Faults go to the HWPT's fault queue as I/O page faults when it has one */
static void test_iopf_routing(void)
{
	struct iommu_hwpt_selftest sel = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT };
	struct iommu_hwpt_pgfault rec;
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);
	struct softiommu_dev *dev;
	unsigned int dev_id, pt;

	CHECK_OK(softiommu_dev_create(fd, "mock", 0, &dev, &dev_id));
	CHECK_OK(softiommu_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	h.dev_id = dev_id;
	h.pt_id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	h.pt_id = h.out_hwpt_id;
	h.flags = IOMMU_HWPT_FAULT_ID_VALID;
	h.fault_id = fa.out_fault_id;
	h.data_type = IOMMU_HWPT_DATA_SELFTEST;
	h.data_len = sizeof(sel);
	h.data_uptr = (uintptr_t)&sel;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	pt = h.out_hwpt_id;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK_ERR(EFAULT, softiommu_dma_write(dev, 0, 0x123000, "x", 1));
	CHECK(softiommu_read(fa.out_fault_fd, &rec, sizeof(rec)) == sizeof(rec));
	CHECK(rec.addr == 0x123000 && rec.dev_id == dev_id &&
	      rec.perm == IOMMU_PGFAULT_PERM_WRITE && (rec.flags & IOMMU_PGFAULT_FLAGS_LAST_PAGE));
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fa.out_fault_fd));
	CHECK_OK(softiommu_close(fd));
}

/* Without a fault queue, a vIOMMU's nested domain reports a vEVENT with the virtual ID */
static void test_vevent_routing(void)
{
	struct iommu_hwpt_selftest sel = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT };
	struct iommu_viommu_alloc v = { .size = sizeof(v), .type = IOMMU_VIOMMU_TYPE_SELFTEST };
	struct iommu_vdevice_alloc vd = { .size = sizeof(vd), .virt_id = 0x55 };
	struct iommu_veventq_alloc q = { .size = sizeof(q), .type = IOMMU_VEVENTQ_TYPE_SELFTEST,
					 .veventq_depth = 4 };
	struct {
		struct iommufd_vevent_header hdr;
		struct iommu_viommu_event_selftest ev;
	} rec;
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);
	struct softiommu_dev *dev;
	unsigned int dev_id, pt;
	char out[8];

	CHECK_OK(softiommu_dev_create(fd, "mock", 0, &dev, &dev_id));
	h.dev_id = v.dev_id = vd.dev_id = dev_id;
	h.pt_id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	v.hwpt_id = h.out_hwpt_id;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VIOMMU_ALLOC, &v));
	vd.viommu_id = q.viommu_id = v.out_viommu_id;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VDEVICE_ALLOC, &vd));
	CHECK_OK(softiommu_ioctl(fd, IOMMU_VEVENTQ_ALLOC, &q));
	h.pt_id = v.out_viommu_id;
	h.flags = 0;
	h.data_type = IOMMU_HWPT_DATA_SELFTEST;
	h.data_len = sizeof(sel);
	h.data_uptr = (uintptr_t)&sel;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	pt = h.out_hwpt_id;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, 0x9000, out, 8));
	CHECK(softiommu_read(q.out_veventq_fd, &rec, sizeof(rec)) == sizeof(rec));
	CHECK(rec.ev.virt_id == 0x55 && rec.hdr.flags == 0);
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(q.out_veventq_fd));
	CHECK_OK(softiommu_close(fd));
}

int main(void)
{
	test_basic();
	test_gone_memory();
	test_many_leaves();
	test_iopf_routing();
	test_vevent_routing();
	return t_done();
}
