// SPDX-License-Identifier: MIT
/*
 * A vIOMMU cache invalidation naming a vDEVICE races that vDEVICE's destruction and then its
 * device's. The driver looks the device up by virtual ID and writes its cache; before the
 * lookup held the vDEVICEs still, the device could be freed between the lookup and the
 * write (a use-after-free ASan reports, a race TSan reports). Every invalidation must end in
 * success (the device was there) or EINVAL (it was not), nothing else.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "testlib.h"

#define VIRT_ID 0x55

struct shared {
	int fd;
	uint32_t ioas, viommu;
	atomic_int stop;
	long invalidations, found, missing, other, cycles;
};

static void *invalidator(void *arg)
{
	struct shared *s = arg;
	struct iommu_viommu_invalidate_selftest e = { .vdev_id = VIRT_ID, .cache_id = 0 };
	struct iommu_hwpt_invalidate c = {
		.size = sizeof(c), .data_type = IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
		.entry_len = sizeof(e), .data_uptr = (uintptr_t)&e,
	};

	c.hwpt_id = s->viommu;
	while (!atomic_load(&s->stop)) {
		long rc;

		c.entry_num = 1;
		rc = softiommu_ioctl(s->fd, IOMMU_HWPT_INVALIDATE, &c);
		s->invalidations++;
		if (!rc)
			s->found++;
		else if (rc == -EINVAL)
			s->missing++;
		else
			s->other++;
	}
	return NULL;
}

/* A device comes, gets its vDEVICE, and goes: vDEVICE first, then the device */
static void *churner(void *arg)
{
	struct shared *s = arg;

	while (!atomic_load(&s->stop)) {
		uint32_t idev, stdev = t_mock_domain(s->fd, s->ioas, NULL, &idev);
		struct iommu_vdevice_alloc v = { .size = sizeof(v), .viommu_id = s->viommu,
						 .dev_id = idev, .virt_id = VIRT_ID };

		if (!softiommu_ioctl(s->fd, IOMMU_VDEVICE_ALLOC, &v))
			t_destroy(s->fd, v.out_vdevice_id);
		t_destroy(s->fd, stdev);
		s->cycles++;
	}
	return NULL;
}

int main(void)
{
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT };
	struct iommu_viommu_alloc v = { .size = sizeof(v), .type = IOMMU_VIOMMU_TYPE_SELFTEST };
	struct shared s = { 0 };
	struct timespec t0, t;
	pthread_t a, b;
	uint32_t idev, stdev;

	s.fd = softiommu_open(0);
	s.ioas = t_ioas_alloc(s.fd);
	stdev = t_mock_domain(s.fd, s.ioas, NULL, &idev);
	h.dev_id = idev;
	h.pt_id = s.ioas;
	CHECK_OK(softiommu_ioctl(s.fd, IOMMU_HWPT_ALLOC, &h));
	v.dev_id = idev;
	v.hwpt_id = h.out_hwpt_id;
	CHECK_OK(softiommu_ioctl(s.fd, IOMMU_VIOMMU_ALLOC, &v));
	s.viommu = v.out_viommu_id;

	CHECK(!pthread_create(&a, NULL, invalidator, &s) && !pthread_create(&b, NULL, churner, &s));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct timespec nap = { 0, 10 * 1000 * 1000 };

		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 2);
	atomic_store(&s.stop, 1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("%ld invalidations (%ld found the device, %ld did not), %ld device cycles\n",
	       s.invalidations, s.found, s.missing, s.cycles);
	CHECK(s.other == 0);
	CHECK(s.cycles > 0 && s.invalidations > 0);
	CHECK_OK(t_destroy(s.fd, s.viommu));
	CHECK_OK(t_destroy(s.fd, h.out_hwpt_id));
	CHECK_OK(t_destroy(s.fd, stdev));
	CHECK_OK(softiommu_close(s.fd));
	return t_done();
}
