/* SPDX-License-Identifier: MIT */
/*
 * The selftest mock IOMMU (the model of Linux's drivers/iommu/iommufd/selftest.c that the
 * upstream selftests drive): mock devices, paging domains on a real page table (the pt
 * library's PT_FMT_MOCK format, 2 KiB pages as the kernel's AMDv1-derived mock), nested
 * domains with fake IOTLB slots, and the IOMMU_TEST_CMD operations.
 */
#ifndef SIO_MOCK_H
#define SIO_MOCK_H

#include <linux/iommufd.h>

#include "../../driver/driver.h"
#include "iommufd_test.h"
#include "pt.h"

struct mock_viommu;

/*
 * softiommu-internal device flag (not uAPI, outside MOCK_FLAGS_DEVICE_*): set by the creator
 * after mock_dev_create(). Its paging domains have a 0-based 48-bit aperture on a deeper table
 * (top level 4) instead of the selftests' [16 MiB, 2 GiB), so that a VMM can map guest RAM at
 * IOVA 0 and a vIOMMU with 48-bit addresses fits (the emulated VFIO devices, docs/vfio.md).
 */
#define MOCK_DEV_VMM_APERTURE (1u << 31)

struct mock_dev {
	struct sio_dev dev;
	pthread_rwlock_t viommu_rwsem; /* protects viommu, vdev_id */
	struct mock_viommu *viommu;
	uint64_t vdev_id;
	uint32_t flags;
	uint32_t cache[MOCK_DEV_CACHE_NUM];
	atomic_int pasid_1024_fake_error;
	atomic_uint page_responses; /* answers to its page requests (the model resumes none) */
	int id;
};

struct mock_domain {
	struct sio_domain domain;
	struct pt_table *pt;
	uint64_t pt_pgsizes;
	bool dirty_tracking;
};

struct mock_domain_nested {
	struct sio_domain domain;
	struct mock_domain *parent;
	struct mock_viommu *mock_viommu;
	uint32_t iotlb[MOCK_NESTED_DOMAIN_IOTLB_NUM];
};

struct mock_hw_queue {
	struct sio_hw_queue core;
	struct mock_viommu *mock_viommu;
	struct mock_hw_queue *prev;
	uint16_t index;
};

struct mock_viommu {
	struct sio_viommu core;
	struct mock_domain *s2_parent;
	struct mock_hw_queue *hw_queue[IOMMU_TEST_HW_QUEUE_MAX];
	pthread_mutex_t queue_mutex;
	uint64_t mmap_offset;
	int page_fd;     /* memfd of the two-page region user space can mmap */
	uint32_t *page;  /* our mapping of it */
};

extern const struct sio_iommu_ops mock_iommu_ops;
extern const struct sio_driver sio_mock_driver;

size_t mock_get_viommu_size(struct sio_dev *dev, uint32_t viommu_type);
int mock_viommu_init(struct sio_viommu *viommu, struct sio_domain *parent,
		     const struct sio_user_data *user_data);
struct sio_domain *mock_alloc_nested_common(const struct sio_user_data *user_data);

/* IOMMU_TEST_CMD (selftest.c, the one mock file that plays the core's in-kernel users) */
int sio_test_cmd_ioctl(struct sio_ucmd *ucmd);

struct mock_dev *mock_dev_create(uint32_t dev_flags);
void mock_dev_destroy(struct mock_dev *mdev);
static inline struct mock_dev *to_mock_dev(struct sio_dev *dev)
{
	return container_of(dev, struct mock_dev, dev);
}
bool mock_is_paging(struct sio_domain *domain);
bool mock_is_nested(struct sio_domain *domain);
static inline struct mock_domain *to_mock_domain(struct sio_domain *d)
{
	return container_of(d, struct mock_domain, domain);
}
static inline struct mock_domain_nested *to_mock_nested(struct sio_domain *d)
{
	return container_of(d, struct mock_domain_nested, domain);
}

#endif
