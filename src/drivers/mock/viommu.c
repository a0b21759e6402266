// SPDX-License-Identifier: MIT
/*
 * The mock IOMMU's vIOMMU: nested domains tied to it, invalidation of the mock devices' fake
 * caches by virtual device ID, a two-page region user space can mmap (loopback of user data),
 * HW queues that must be created in index order (each depends on the previous), and virtual
 * events carrying the virtual device ID.
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mock.h"

static struct mock_viommu *to_mock_viommu(struct sio_viommu *v)
{
	return container_of(v, struct mock_viommu, core);
}

static void mock_viommu_destroy(struct sio_viommu *viommu)
{
	struct mock_viommu *mv = to_mock_viommu(viommu);

	if (mv->mmap_offset)
		sio_viommu_destroy_mmap(viommu, mv->mmap_offset);
	if (mv->page)
		munmap(mv->page, 2 * SIO_PAGE_SIZE);
	if (mv->page_fd >= 0)
		syscall(SYS_close, mv->page_fd);
	pthread_mutex_destroy(&mv->queue_mutex);
}

static struct sio_domain *mock_viommu_alloc_nested(struct sio_viommu *viommu, uint32_t flags,
						   const struct sio_user_data *user_data)
{
	struct sio_domain *domain;

	if (flags & ~IOMMU_HWPT_ALLOC_PASID)
		return ERR_PTR(-EOPNOTSUPP);
	domain = mock_alloc_nested_common(user_data);
	if (!IS_ERR(domain)) {
		to_mock_nested(domain)->mock_viommu = to_mock_viommu(viommu);
		to_mock_nested(domain)->parent = to_mock_viommu(viommu)->s2_parent;
	}
	return domain;
}

static int mock_viommu_cache_invalidate(struct sio_viommu *viommu,
					struct sio_user_data_array *array)
{
	struct iommu_viommu_invalidate_selftest *cmds;
	uint32_t done = 0;
	int rc;

	/* A zero-length array only checks the type */
	if (!array->entry_num && array->type == IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST)
		return 0;
	cmds = sio_calloc(array->entry_num, sizeof(*cmds));
	if (!cmds) {
		array->entry_num = 0;
		return -ENOMEM;
	}
	rc = sio_copy_struct_from_full_user_array(cmds, sizeof(*cmds), array,
						  IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST);
	for (; !rc && done < array->entry_num; done++) {
		struct iommu_viommu_invalidate_selftest *cur = &cmds[done];
		struct sio_dev *dev;
		struct mock_dev *mdev;

		if (cur->flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			rc = -EOPNOTSUPP;
			break;
		}
		if (cur->cache_id > MOCK_DEV_CACHE_ID_MAX) {
			rc = -EINVAL;
			break;
		}
		dev = sio_viommu_find_dev(viommu, cur->vdev_id);
		if (!dev) {
			rc = -EINVAL;
			break;
		}
		mdev = to_mock_dev(dev);
		/* The vDEVICE lock serialises the invalidations of the device's caches */
		sio_viommu_lock_vdevs(viommu);
		if (cur->flags & IOMMU_TEST_INVALIDATE_FLAG_ALL)
			memset(mdev->cache, 0, sizeof(mdev->cache));
		else
			mdev->cache[cur->cache_id] = 0;
		sio_viommu_unlock_vdevs(viommu);
		sio_viommu_put_dev(dev);
	}
	array->entry_num = done;
	sio_free(cmds);
	return rc;
}

static size_t mock_get_hw_queue_size(struct sio_viommu *viommu, uint32_t queue_type)
{
	if (queue_type != IOMMU_HW_QUEUE_TYPE_SELFTEST)
		return 0;
	return SIO_VIOMMU_STRUCT_SIZE(struct mock_hw_queue, core);
}

static void mock_hw_queue_destroy(struct sio_hw_queue *hw_queue)
{
	struct mock_hw_queue *q = container_of(hw_queue, struct mock_hw_queue, core);
	struct mock_viommu *mv = q->mock_viommu;

	pthread_mutex_lock(&mv->queue_mutex);
	mv->hw_queue[q->index] = NULL;
	if (q->prev)
		sio_hw_queue_undepend(&q->core, &q->prev->core);
	pthread_mutex_unlock(&mv->queue_mutex);
}

static int mock_hw_queue_init_phys(struct sio_hw_queue *hw_queue, uint32_t index,
				   uint64_t base_pa)
{
	struct mock_viommu *mv = to_mock_viommu(hw_queue->viommu);
	struct mock_hw_queue *q = container_of(hw_queue, struct mock_hw_queue, core);
	struct mock_hw_queue *prev = NULL;
	uint64_t pa;
	int rc = 0;

	if (index >= IOMMU_TEST_HW_QUEUE_MAX)
		return -EINVAL;
	pthread_mutex_lock(&mv->queue_mutex);
	if (mv->hw_queue[index]) {
		rc = -EEXIST;
		goto out_unlock;
	}
	if (index) {
		prev = mv->hw_queue[index - 1];
		if (!prev) {
			rc = -EIO;
			goto out_unlock;
		}
	}
	/* The core must have translated the queue's IOVA through the stage 2 */
	if (mv->s2_parent->domain.ops->iova_to_phys(&mv->s2_parent->domain, hw_queue->base_addr,
						    &pa) || pa != base_pa) {
		rc = -EFAULT;
		goto out_unlock;
	}
	if (prev) {
		rc = sio_hw_queue_depend(&q->core, &prev->core);
		if (rc)
			goto out_unlock;
	}
	q->prev = prev;
	q->mock_viommu = mv;
	/*
	 * Linux 7.2's mock never records the index (q->index stays 0), so destroying any queue
	 * empties slot 0 and a destroyed queue 1 keeps its slot: a new queue 0 then succeeds
	 * beside a live one, and queue 1 is EEXIST for good. Clients see that; so does ours.
	 * The stale slot is only ever compared with NULL.
	 */
	mv->hw_queue[index] = q;
	hw_queue->destroy = mock_hw_queue_destroy;
out_unlock:
	pthread_mutex_unlock(&mv->queue_mutex);
	return rc;
}

static const struct sio_viommu_ops mock_viommu_ops = {
	.destroy = mock_viommu_destroy,
	.alloc_domain_nested = mock_viommu_alloc_nested,
	.cache_invalidate = mock_viommu_cache_invalidate,
	.get_hw_queue_size = mock_get_hw_queue_size,
	.hw_queue_init_phys = mock_hw_queue_init_phys,
};

size_t mock_get_viommu_size(struct sio_dev *dev, uint32_t viommu_type)
{
	if (viommu_type != IOMMU_VIOMMU_TYPE_SELFTEST)
		return 0;
	return SIO_VIOMMU_STRUCT_SIZE(struct mock_viommu, core);
}

/* With user data: echo in_data, and offer two pages holding it for mmap */
static int mock_viommu_init_data(struct mock_viommu *mv, const struct sio_user_data *ud)
{
	struct iommu_viommu_selftest data;
	int rc;

	rc = sio_copy_struct_from_user_data(&data, sizeof(data), ud, IOMMU_VIOMMU_TYPE_SELFTEST,
					    offsetofend(struct iommu_viommu_selftest, out_data));
	if (rc)
		return rc;
	mv->page_fd = memfd_create("mock-viommu", MFD_CLOEXEC);
	if (mv->page_fd < 0)
		return -ENOMEM;
	if (ftruncate(mv->page_fd, 2 * SIO_PAGE_SIZE))
		return -ENOMEM;
	mv->page = mmap(NULL, 2 * SIO_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mv->page_fd,
			0);
	if (mv->page == MAP_FAILED) {
		mv->page = NULL;
		return -ENOMEM;
	}
	rc = sio_viommu_alloc_mmap(&mv->core, mv->page_fd, 2 * SIO_PAGE_SIZE, &mv->mmap_offset);
	if (rc)
		return rc;
	*mv->page = data.in_data;
	data.out_data = data.in_data;
	data.out_mmap_length = 2 * SIO_PAGE_SIZE;
	data.out_mmap_offset = mv->mmap_offset;
	return sio_copy_struct_to_user_data(ud, &data, sizeof(data), IOMMU_VIOMMU_TYPE_SELFTEST,
					    offsetofend(struct iommu_viommu_selftest, out_data));
}

int mock_viommu_init(struct sio_viommu *viommu, struct sio_domain *parent,
		     const struct sio_user_data *user_data)
{
	struct mock_viommu *mv = to_mock_viommu(viommu);
	int rc;

	mv->page_fd = -1;
	sio_mutex_init(&mv->queue_mutex, SIO_LOCK_MOCK_HW_QUEUE);
	if (user_data) {
		rc = mock_viommu_init_data(mv, user_data);
		if (rc) {
			/* The core calls no op of a vIOMMU whose init failed: undo it all here */
			mock_viommu_destroy(viommu);
			return rc;
		}
	}
	mv->s2_parent = to_mock_domain(parent);
	viommu->ops = &mock_viommu_ops;
	return 0;
}
