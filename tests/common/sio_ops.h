/* SPDX-License-Identifier: MIT */
/*
 * sio_ops.h — thin wrappers over softiommu_ioctl() with the kernel uAPI structs, shared by the
 * reliability tests (tests/fault, tests/fuzz, tests/stress, tests/core/test_bad_input.c).
 * Each returns 0 or the ioctl's -errno, and fills its out-parameters only on success.
 */
#ifndef SIO_TEST_OPS_H
#define SIO_TEST_OPS_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <softiommu/softiommu.h>

#include "../../src/drivers/mock/iommufd_test.h"


static inline long t_ioctl(int fd, unsigned long cmd, void *arg)
{
	long rc = softiommu_ioctl(fd, cmd, arg);

	return rc > 0 ? 0 : rc;
}

static inline int t_test_cmd(int fd, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return (int)t_ioctl(fd, IOMMU_TEST_CMD, cmd);
}

static inline int t_ioas_alloc(int fd, uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc = (int)t_ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);

	if (!rc)
		*id = cmd.out_ioas_id;
	return rc;
}

static inline int t_destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return (int)t_ioctl(fd, IOMMU_DESTROY, &cmd);
}

/* Map @len bytes at @buf; with @fixed, at *@iova, else *@iova receives the chosen IOVA. */
static inline int t_ioas_map(int fd, uint32_t ioas, const void *buf, uint64_t len,
			     uint64_t *iova, int fixed)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 (fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0),
		.ioas_id = ioas,
		.user_va = (uintptr_t)buf,
		.length = len,
		.iova = fixed ? *iova : 0,
	};
	int rc = (int)t_ioctl(fd, IOMMU_IOAS_MAP, &cmd);

	if (!rc)
		*iova = cmd.iova;
	return rc;
}

static inline int t_ioas_unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t len,
			       uint64_t *out_len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = len,
	};
	int rc = (int)t_ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);

	if (!rc && out_len)
		*out_len = cmd.length;
	return rc;
}

static inline int t_ioas_copy(int fd, uint32_t dst, uint32_t src, uint64_t src_iova,
			      uint64_t len, uint64_t *dst_iova, int fixed)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 (fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0),
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = len,
		.dst_iova = fixed ? *dst_iova : 0,
		.src_iova = src_iova,
	};
	int rc = (int)t_ioctl(fd, IOMMU_IOAS_COPY, &cmd);

	if (!rc)
		*dst_iova = cmd.dst_iova;
	return rc;
}

static inline int t_mock_domain(int fd, uint32_t pt, uint32_t *stdev, uint32_t *hwpt,
				uint32_t *idev)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt };
	int rc = t_test_cmd(fd, &cmd);

	if (!rc) {
		if (stdev)
			*stdev = cmd.mock_domain.out_stdev_id;
		if (hwpt)
			*hwpt = cmd.mock_domain.out_hwpt_id;
		if (idev)
			*idev = cmd.mock_domain.out_idev_id;
	}
	return rc;
}

static inline int t_mock_replace(int fd, uint32_t stdev, uint32_t pt, uint32_t *hwpt)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev,
		.mock_domain_replace = { .pt_id = pt },
	};
	int rc = t_test_cmd(fd, &cmd);

	if (!rc && hwpt)
		*hwpt = cmd.mock_domain_replace.pt_id;
	return rc;
}

static inline int t_hwpt_alloc(int fd, uint32_t idev, uint32_t pt, uint32_t flags,
			       uint32_t data_type, void *data, uint32_t data_len, uint32_t *out)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = idev, .pt_id = pt,
		.data_type = data_type, .data_len = data_len, .data_uptr = (uintptr_t)data,
	};
	int rc = (int)t_ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	if (!rc)
		*out = cmd.out_hwpt_id;
	return rc;
}

static inline int t_nested_alloc(int fd, uint32_t idev, uint32_t parent, uint32_t *out)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };

	return t_hwpt_alloc(fd, idev, parent, 0, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data),
			    out);
}

static inline int t_memory_limit(int fd, uint32_t limit)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, .memory_limit = { .limit = limit },
	};

	return t_test_cmd(fd, &cmd);
}

/* The access is a descriptor; the mock's access ops take that descriptor as their id. */
static inline int t_create_access(int fd, uint32_t ioas, int *access_fd, uint32_t flags)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_CREATE_ACCESS, .id = ioas, .create_access = { .flags = flags },
	};
	int rc = t_test_cmd(fd, &cmd);

	if (!rc)
		*access_fd = (int)cmd.create_access.out_access_fd;
	return rc;
}

static inline int t_access_pages(int fd, int access_fd, uint64_t iova, uint64_t len,
				 void *uptr, uint32_t flags, uint32_t *pages_id)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_PAGES, .id = (uint32_t)access_fd,
		.access_pages = { .flags = flags, .iova = iova, .length = len,
				  .uptr = (uintptr_t)uptr },
	};
	int rc = t_test_cmd(fd, &cmd);

	if (!rc && pages_id)
		*pages_id = cmd.access_pages.out_access_pages_id;
	return rc;
}

static inline int t_access_unpin(int fd, int access_fd, uint32_t pages_id)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, .id = (uint32_t)access_fd,
		.destroy_access_pages = { .access_pages_id = pages_id },
	};

	return t_test_cmd(fd, &cmd);
}

static inline int t_access_rw(int fd, int access_fd, uint64_t iova, void *buf, uint64_t len,
			      uint32_t flags)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)access_fd,
		.access_rw = { .iova = iova, .length = len, .uptr = (uintptr_t)buf,
			       .flags = flags },
	};

	return t_test_cmd(fd, &cmd);
}

static inline int t_access_replace(int fd, int access_fd, uint32_t ioas)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, .id = (uint32_t)access_fd,
		.access_replace_ioas = { .ioas_id = ioas },
	};

	return t_test_cmd(fd, &cmd);
}

static inline int t_vfio_ioas_set(int fd, uint32_t ioas)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .op = IOMMU_VFIO_IOAS_SET,
	};

	return (int)t_ioctl(fd, IOMMU_VFIO_IOAS, &cmd);
}

static inline int t_vfio_set_iommu(int fd, unsigned long type)
{
	return (int)t_ioctl(fd, VFIO_SET_IOMMU, (void *)type);
}

static inline int t_vfio_map(int fd, void *buf, uint64_t len, uint64_t iova)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf, .iova = iova, .size = len,
	};

	return (int)t_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

static inline int t_vfio_unmap(int fd, uint64_t iova, uint64_t len, uint32_t flags,
			       uint64_t *out_len)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .flags = flags, .iova = iova, .size = len,
	};
	int rc = (int)t_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap);

	if (!rc && out_len)
		*out_len = unmap.size;
	return rc;
}

static inline unsigned long t_pinned(void)
{
	unsigned long pinned = 0, locked = 0;

	softiommu_pinned_pages(&pinned, &locked);
	return pinned + locked;
}

/* Contexts and objects still alive (0 once everything is closed) */
static inline unsigned long t_live(void)
{
	return softiommu_live_objects();
}

#endif
