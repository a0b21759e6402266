/* SPDX-License-Identifier: MIT */
/*
 * What test_memory_keep and test_memory_raw share: one iommufd, one IOAS and one mock device
 * attached to it, the map/unmap calls through the shim's ioctl, and the views of the bytes
 * (the program's, the device's) the tests compare.
 */
#ifndef MEMORY_TESTLIB_H
#define MEMORY_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include <linux/iommufd.h>
#include <softiommu/softiommu.h>

#include "../common/check.h"

#define PG 4096UL

static int fd;
static uint32_t ioas;
static struct softiommu_dev *dev;

static uint64_t map(void *buf, size_t len)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m), .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = len,
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
	};

	CHECK(ioctl(fd, IOMMU_IOAS_MAP, &m) == 0);
	return m.iova;
}

static void unmap(uint64_t iova, size_t len)
{
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = iova,
				      .length = len };

	CHECK(ioctl(fd, IOMMU_IOAS_UNMAP, &u) == 0);
}

static bool all(const char *p, size_t len, char c)
{
	for (size_t i = 0; i != len; i++)
		if (p[i] != c)
			return false;
	return true;
}

/* The device's view of @len bytes at @iova is all @c */
static bool dev_sees(uint64_t iova, size_t len, char c)
{
	static char buf[16 * PG];

	return len <= sizeof(buf) && softiommu_dma_read(dev, 0, iova, buf, len) == 0 &&
	       all(buf, len, c);
}

static unsigned long pinned(void)
{
	unsigned long p;

	softiommu_pinned_pages(&p, NULL);
	return p;
}

/* The iommufd, its IOAS and the mock device attached to it */
static void setup_device(void)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	unsigned int dev_id, pt;

	fd = open("/dev/iommu", O_RDWR);
	CHECK(fd >= 0);
	CHECK(ioctl(fd, IOMMU_IOAS_ALLOC, &a) == 0);
	ioas = pt = a.out_ioas_id;
	CHECK(softiommu_dev_create(fd, "mock", 0, &dev, &dev_id) == 0);
	CHECK(softiommu_dev_attach(dev, 0, &pt) == 0);
}

#endif
