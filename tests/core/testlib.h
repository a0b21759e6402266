/* SPDX-License-Identifier: MIT */
/*
 * A tiny test harness for the black-box core tests: each test program calls the public API
 * (softiommu_open/ioctl/close) with the kernel's uAPI structs, counts checks, and prints
 * "N passed, N failed" last.
 */
#ifndef SIO_TESTLIB_H
#define SIO_TESTLIB_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/iommufd.h>
#ifdef SIO_REAL_KERNEL
#include "realk.h"
#else
#include <softiommu/softiommu.h>
#endif

#include "iommufd_test.h"

static int t_pass, t_fail;

#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (cond) {                                                               \
			t_pass++;                                                         \
		} else {                                                                  \
			t_fail++;                                                         \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                         \
	} while (0)

/* An ioctl expected to fail with errno @e (the API returns -errno) */
#define CHECK_ERR(e, expr)                                                                \
	do {                                                                              \
		long __r = (expr);                                                        \
		if (__r == -(long)(e)) {                                                  \
			t_pass++;                                                         \
		} else {                                                                  \
			t_fail++;                                                         \
			fprintf(stderr, "%s:%d: %s = %ld, expected -%s\n", __FILE__, __LINE__, \
				#expr, __r, #e);                                          \
		}                                                                         \
	} while (0)

#define CHECK_OK(expr) CHECK_ERR(0, expr)

/* Contexts and objects still alive (0 once everything is closed); not observable on Linux */
static inline unsigned long t_live(void)
{
#ifdef SIO_REAL_KERNEL
	return 0;
#else
	return softiommu_live_objects();
#endif
}

/* The end of a test program: everything it opened is closed by now */
static inline int t_done(void)
{
	if (t_live()) {
		fprintf(stderr, "%lu softiommu objects left alive at exit\n", t_live());
		t_fail++;
	}
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}

static inline uint32_t t_ioas_alloc(int fd)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	if (softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &cmd)) {
		fprintf(stderr, "IOAS_ALLOC failed\n");
		exit(2);
	}
	return cmd.out_ioas_id;
}

/* A mock device attached to @pt_id; returns the selftest object ID (destroy to detach) */
static inline uint32_t t_mock_domain(int fd, uint32_t pt_id, uint32_t *hwpt_id, uint32_t *idev_id)
{
	struct iommu_test_cmd cmd = { .size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
				      .id = pt_id };

	long rc = softiommu_ioctl(fd, IOMMU_TEST_CMD, &cmd);

	if (rc) {
		fprintf(stderr, "MOCK_DOMAIN on %u failed: %s\n", pt_id, strerror((int)-rc));
		exit(2);
	}
	if (hwpt_id)
		*hwpt_id = cmd.mock_domain.out_hwpt_id;
	if (idev_id)
		*idev_id = cmd.mock_domain.out_idev_id;
	return cmd.mock_domain.out_stdev_id;
}

static inline long t_map(int fd, uint32_t ioas, void *buf, uint64_t len, uint64_t *iova,
			 uint32_t flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = len,
		.flags = flags ? flags : IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.iova = *iova,
	};
	long rc = softiommu_ioctl(fd, IOMMU_IOAS_MAP, &cmd);

	*iova = cmd.iova;
	return rc;
}

static inline long t_unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t len, uint64_t *out)
{
	struct iommu_ioas_unmap cmd = { .size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
					.length = len };
	long rc = softiommu_ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);

	if (out)
		*out = cmd.length;
	return rc;
}

static inline long t_destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return softiommu_ioctl(fd, IOMMU_DESTROY, &cmd);
}

/* A selftest access object on @ioas (its descriptor number as the ID), or 0 */
static inline uint32_t t_access_create(int fd, uint32_t ioas, uint32_t flags)
{
	struct iommu_test_cmd ca = { .size = sizeof(ca), .op = IOMMU_TEST_OP_CREATE_ACCESS,
				     .id = ioas, .create_access.flags = flags };

	return softiommu_ioctl(fd, IOMMU_TEST_CMD, &ca) ? 0 : ca.create_access.out_access_fd;
}

/* IOMMU_TEST_OP_ACCESS_RW of @len bytes at @iova, MOCK_ACCESS_RW_* @flags */
static inline long t_access_rw(int fd, uint32_t access, uint64_t iova, void *buf, size_t len,
			       uint32_t flags)
{
	struct iommu_test_cmd rw = { .size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW,
				     .id = access, .access_rw.iova = iova,
				     .access_rw.length = len, .access_rw.uptr = (uintptr_t)buf,
				     .access_rw.flags = flags };

	return softiommu_ioctl(fd, IOMMU_TEST_CMD, &rw);
}

static inline unsigned long t_pinned(void)
{
	unsigned long p;

	softiommu_pinned_pages(&p, NULL);
	return p;
}

#endif
