// SPDX-License-Identifier: MIT
/*
 * vIOMMU objects beyond what the upstream selftests check: the reference graph (vIOMMU on its
 * parent HWPT, nested HWPTs and vDEVICEs on the vIOMMU, EBUSY until they go), vEVENTQ overflow
 * reporting (one lost-events header, the sequence gap, recovery), the loopback mmap region
 * across a close of the iommufd, and the vDEVICE tombstone.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"

struct env {
	int fd;
	uint32_t ioas, stdev, idev, parent, viommu, nested;
};

static void setup(struct env *e, void *data, uint32_t data_len)
{
	struct iommu_hwpt_selftest sel = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT };
	struct iommu_viommu_alloc v = { .size = sizeof(v), .type = IOMMU_VIOMMU_TYPE_SELFTEST };

	e->fd = softiommu_open(0);
	e->ioas = t_ioas_alloc(e->fd);
	e->stdev = t_mock_domain(e->fd, e->ioas, NULL, &e->idev);
	h.dev_id = e->idev;
	h.pt_id = e->ioas;
	CHECK_OK(softiommu_ioctl(e->fd, IOMMU_HWPT_ALLOC, &h));
	e->parent = h.out_hwpt_id;
	v.dev_id = e->idev;
	v.hwpt_id = e->parent;
	v.data_uptr = (uintptr_t)data;
	v.data_len = data_len;
	CHECK_OK(softiommu_ioctl(e->fd, IOMMU_VIOMMU_ALLOC, &v));
	e->viommu = v.out_viommu_id;
	h.flags = 0;
	h.pt_id = e->viommu;
	h.data_type = IOMMU_HWPT_DATA_SELFTEST;
	h.data_len = sizeof(sel);
	h.data_uptr = (uintptr_t)&sel;
	CHECK_OK(softiommu_ioctl(e->fd, IOMMU_HWPT_ALLOC, &h));
	e->nested = h.out_hwpt_id;
}

static uint32_t vdevice(struct env *e, uint64_t virt_id)
{
	struct iommu_vdevice_alloc c = { .size = sizeof(c), .viommu_id = e->viommu,
					 .dev_id = e->idev, .virt_id = virt_id };

	CHECK_OK(softiommu_ioctl(e->fd, IOMMU_VDEVICE_ALLOC, &c));
	return c.out_vdevice_id;
}

static long replace(struct env *e, uint32_t pt)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
				    .id = e->stdev, .mock_domain_replace.pt_id = pt };

	return softiommu_ioctl(e->fd, IOMMU_TEST_CMD, &c);
}

static void test_graph(void)
{
	struct env e;
	uint32_t vdev;

	setup(&e, NULL, 0);
	CHECK_ERR(EBUSY, t_destroy(e.fd, e.parent));
	CHECK_ERR(EBUSY, t_destroy(e.fd, e.viommu));
	/* No vDEVICE yet: the device cannot use the vIOMMU's nested domain */
	CHECK_ERR(ENOENT, replace(&e, e.nested));
	vdev = vdevice(&e, 0x42);
	CHECK_OK(replace(&e, e.nested));
	CHECK_ERR(EBUSY, t_destroy(e.fd, e.nested));
	CHECK_OK(replace(&e, e.ioas));
	CHECK_OK(t_destroy(e.fd, e.nested));
	CHECK_ERR(EBUSY, t_destroy(e.fd, e.viommu));
	CHECK_OK(t_destroy(e.fd, vdev));
	CHECK_OK(t_destroy(e.fd, e.viommu));
	CHECK_OK(t_destroy(e.fd, e.parent));
	CHECK_OK(softiommu_close(e.fd));
}

static void test_lost_events(void)
{
	struct iommu_veventq_alloc q = { .size = sizeof(q), .type = IOMMU_VEVENTQ_TYPE_SELFTEST,
					 .veventq_depth = 1 };
	struct iommu_test_cmd trig = { .size = sizeof(trig), .op = IOMMU_TEST_OP_TRIGGER_VEVENT };
	struct {
		struct iommufd_vevent_header hdr;
		struct iommu_viommu_event_selftest ev;
	} rec[4];
	struct env e;
	ssize_t n;

	setup(&e, NULL, 0);
	q.viommu_id = e.viommu;
	CHECK_OK(softiommu_ioctl(e.fd, IOMMU_VEVENTQ_ALLOC, &q));
	vdevice(&e, 0x77);
	CHECK_OK(replace(&e, e.nested));
	trig.trigger_vevent.dev_id = e.idev;
	for (int i = 0; i < 3; i++)
		CHECK_OK(softiommu_ioctl(e.fd, IOMMU_TEST_CMD, &trig));
	/* One event fits, then one LOST_EVENTS header stands for the other two */
	n = softiommu_read(q.out_veventq_fd, rec, sizeof(rec));
	CHECK(n == sizeof(rec[0]) + sizeof(struct iommufd_vevent_header));
	CHECK(rec[0].hdr.sequence == 0 && rec[0].hdr.flags == 0 && rec[0].ev.virt_id == 0x77);
	CHECK(rec[1].hdr.flags == IOMMU_VEVENTQ_FLAG_LOST_EVENTS);
	/* Recovery: the next event's sequence shows the gap */
	CHECK_OK(softiommu_ioctl(e.fd, IOMMU_TEST_CMD, &trig));
	n = softiommu_read(q.out_veventq_fd, rec, sizeof(rec));
	CHECK(n == sizeof(rec[0]) && rec[0].hdr.flags == 0 && rec[0].hdr.sequence == 3);
	CHECK(softiommu_read(q.out_veventq_fd, rec, sizeof(rec)) == 0);
	CHECK_OK(softiommu_close(q.out_veventq_fd));
	CHECK_OK(softiommu_close(e.fd));
}

static void test_mmap_across_close(void)
{
	struct iommu_viommu_selftest data = { .in_data = 0xfeed };
	struct env e;
	uint32_t *page;

	setup(&e, &data, sizeof(data));
	CHECK(data.out_data == 0xfeed);
	CHECK_OK(softiommu_mmap(e.fd, NULL, data.out_mmap_length, PROT_READ | PROT_WRITE,
				MAP_SHARED, data.out_mmap_offset, (void **)&page));
	CHECK(*page == 0xfeed);
	CHECK_ERR(EBUSY, t_destroy(e.fd, e.viommu));
	/* Closing the iommufd with the region mapped tears everything down; the memory stays */
	CHECK_OK(softiommu_close(e.fd));
	CHECK(*page == 0xfeed);
	munmap(page, data.out_mmap_length);
}

static void test_tombstone(void)
{
	struct env e;
	uint32_t vdev;

	setup(&e, NULL, 0);
	vdev = vdevice(&e, 0x99);
	/* The device cannot go by DESTROY while its vDEVICE holds it ... */
	CHECK_ERR(EBUSY, t_destroy(e.fd, e.idev));
	/* ... but its owner (the mock device) destroying it revokes the vDEVICE */
	CHECK_OK(t_destroy(e.fd, e.stdev));
	CHECK_ERR(ENOENT, t_destroy(e.fd, vdev));
	/* The vDEVICE's ID stays dead: new objects do not reuse it */
	CHECK(t_ioas_alloc(e.fd) != vdev);
	CHECK_OK(softiommu_close(e.fd));
}

int main(void)
{
	test_graph();
	test_lost_events();
	test_mmap_across_close();
	test_tombstone();
	CHECK(t_pinned() == 0);
	return t_done();
}
