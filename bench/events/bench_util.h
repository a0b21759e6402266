/* SPDX-License-Identifier: MIT */
/* Shared scaffolding of the shim benchmarks: re-exec under the shim, timing, errors. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include "iommufd_test.h"

static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Run under the shim: re-execute with LD_PRELOAD unless already there */
static inline void under_shim(char **argv)
{
	const char *pre = getenv("LD_PRELOAD");

	if (pre && strstr(pre, "softiommu-preload"))
		return;
	setenv("LD_PRELOAD", SOFTIOMMU_PRELOAD_BUILD, 1);
	execv("/proc/self/exe", argv);
	die("re-exec under the shim");
}

/* An IOAS with a mock device on it, a nest-parent HWPT and a vIOMMU on that */
struct bench_env {
	uint32_t ioas, stdev, idev, parent, viommu;
};

static inline void bench_env_setup(int fd, struct bench_env *e)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct iommu_test_cmd d = { .size = sizeof(d), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT };
	struct iommu_viommu_alloc v = { .size = sizeof(v), .type = IOMMU_VIOMMU_TYPE_SELFTEST };

	if (ioctl(fd, IOMMU_IOAS_ALLOC, &a))
		die("IOAS_ALLOC");
	d.id = e->ioas = a.out_ioas_id;
	if (ioctl(fd, IOMMU_TEST_CMD, &d))
		die("MOCK_DOMAIN");
	e->stdev = d.mock_domain.out_stdev_id;
	e->idev = d.mock_domain.out_idev_id;
	h.dev_id = e->idev;
	h.pt_id = e->ioas;
	if (ioctl(fd, IOMMU_HWPT_ALLOC, &h))
		die("HWPT_ALLOC parent");
	e->parent = h.out_hwpt_id;
	v.dev_id = e->idev;
	v.hwpt_id = e->parent;
	if (ioctl(fd, IOMMU_VIOMMU_ALLOC, &v))
		die("VIOMMU_ALLOC");
	e->viommu = v.out_viommu_id;
}

#endif
