// SPDX-License-Identifier: MIT
/*
 * The small "IOMMU core" between iommufd and the drivers: device groups, DMA ownership, and
 * attaching a group to a domain (Linux's drivers/iommu/iommu.c, reduced to what iommufd
 * needs). It also holds the helpers drivers use to copy their data from user space with the
 * kernel's extensible-struct rules.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "driver.h"
#include "../core/sio.h"

static atomic_uint next_group_id;

struct sio_iommu_group *sio_iommu_group_alloc(void)
{
	struct sio_iommu_group *group = sio_zalloc(sizeof(*group));

	if (!group)
		return NULL;
	sio_mutex_init(&group->mutex, SIO_LOCK_IOMMU_GROUP);
	group->refs = 1;
	group->id = atomic_fetch_add(&next_group_id, 1);
	return group;
}

void sio_iommu_group_put(struct sio_iommu_group *group)
{
	bool last;

	pthread_mutex_lock(&group->mutex);
	last = --group->refs == 0;
	pthread_mutex_unlock(&group->mutex);
	if (!last)
		return;
	pthread_mutex_destroy(&group->mutex);
	sio_free(group);
}

int sio_iommu_dev_add(struct sio_dev *dev, const struct sio_iommu_ops *ops,
		      struct sio_iommu_group *group)
{
	dev->ops = ops;
	dev->group = group;
	pthread_mutex_lock(&group->mutex);
	group->refs++;
	group->ndevs++;
	if (!group->domain)
		group->domain = ops->blocked_domain;
	pthread_mutex_unlock(&group->mutex);
	return 0;
}

void sio_iommu_dev_remove(struct sio_dev *dev)
{
	struct sio_iommu_group *group = dev->group;

	pthread_mutex_lock(&group->mutex);
	group->ndevs--;
	pthread_mutex_unlock(&group->mutex);
	sio_iommu_group_put(group);
	dev->group = NULL;
}

/* Claim the group for @owner (an iommufd context); -EBUSY when someone else holds it */
int sio_iommu_claim_dma_owner(struct sio_dev *dev, void *owner)
{
	struct sio_iommu_group *group = dev->group;
	int rc = 0;

	pthread_mutex_lock(&group->mutex);
	if (group->owner_cnt && group->owner != owner)
		rc = -EBUSY;
	else {
		group->owner = owner;
		group->owner_cnt++;
	}
	pthread_mutex_unlock(&group->mutex);
	return rc;
}

void sio_iommu_release_dma_owner(struct sio_dev *dev)
{
	struct sio_iommu_group *group = dev->group;

	pthread_mutex_lock(&group->mutex);
	if (--group->owner_cnt == 0)
		group->owner = NULL;
	pthread_mutex_unlock(&group->mutex);
}

bool sio_dev_capable(struct sio_dev *dev, enum sio_cap cap)
{
	return dev->ops->capable && dev->ops->capable(dev, cap);
}

static int group_set_domain(struct sio_iommu_group *group, struct sio_dev *dev,
			    struct sio_domain *domain)
{
	struct sio_domain *old = group->domain;
	int rc;

	if (domain->owner && domain->owner != dev->ops)
		return -EINVAL;
	rc = domain->ops->attach_dev(domain, dev, old);
	if (rc)
		return rc;
	group->domain = domain;
	return 0;
}

int sio_iommu_attach_group(struct sio_domain *domain, struct sio_iommu_group *group,
			   struct sio_dev *first)
{
	int rc;

	pthread_mutex_lock(&group->mutex);
	if (group->domain && group->domain != first->ops->blocked_domain)
		rc = -EBUSY;
	else
		rc = group_set_domain(group, first, domain);
	pthread_mutex_unlock(&group->mutex);
	return rc;
}

int sio_iommu_replace_group(struct sio_domain *domain, struct sio_iommu_group *group,
			    struct sio_dev *first)
{
	int rc;

	pthread_mutex_lock(&group->mutex);
	rc = group_set_domain(group, first, domain);
	pthread_mutex_unlock(&group->mutex);
	return rc;
}

void sio_iommu_detach_group(struct sio_domain *domain, struct sio_iommu_group *group,
			    struct sio_dev *first)
{
	struct sio_domain *blocked = first->ops->blocked_domain;

	pthread_mutex_lock(&group->mutex);
	if (group->domain == domain) {
		/* Moving to the blocked domain must not fail */
		blocked->ops->attach_dev(blocked, first, domain);
		group->domain = blocked;
	}
	pthread_mutex_unlock(&group->mutex);
}

void sio_domain_free(struct sio_domain *domain)
{
	if (domain && domain->ops->free)
		domain->ops->free(domain);
}

/*
 * iommu_copy_struct_from_user(): @ud must be of @type and at least @min_len long; a longer
 * user struct needs a zero tail (E2BIG), a shorter one is zero-extended.
 */
int sio_copy_struct_from_user_data(void *dst, size_t dst_size, const struct sio_user_data *ud,
				   uint32_t type, size_t min_len)
{
	if (ud->type != type)
		return -EINVAL;
	/* Unlike ioctl structs, driver data longer than the driver's struct is refused */
	if (ud->len < min_len || dst_size < ud->len)
		return -EINVAL;
	return sio_copy_struct_from_user(dst, dst_size, ud->uptr, ud->len);
}

int sio_copy_struct_to_user_data(const struct sio_user_data *ud, const void *src,
				 size_t src_size, uint32_t type, size_t min_len)
{
	if (ud->type != type)
		return -EINVAL;
	if (ud->len < min_len)
		return -EINVAL;
	return sio_copy_to_user(ud->uptr, src, ud->len < src_size ? ud->len : src_size);
}

int sio_copy_struct_from_user_array(void *dst, size_t dst_size,
				    const struct sio_user_data_array *array, uint32_t type,
				    uint32_t index, size_t min_len)
{
	if (index >= array->entry_num || array->type != type)
		return -EINVAL;
	if (array->entry_len < min_len || dst_size < array->entry_len)
		return -EINVAL;
	if (array->kbuf) {
		/* The entry is no longer than ours (checked above): zero-extend it */
		memcpy(dst, (const char *)array->kbuf + (size_t)index * array->entry_len,
		       array->entry_len);
		memset((char *)dst + array->entry_len, 0, dst_size - array->entry_len);
		return 0;
	}
	return sio_copy_struct_from_user(dst, dst_size,
					 array->uptr + (uint64_t)index * array->entry_len,
					 array->entry_len);
}

/* The whole array at once; entries must be exactly @entry_size long */
int sio_copy_struct_from_full_user_array(void *dst, size_t entry_size,
					 const struct sio_user_data_array *array, uint32_t type)
{
	if (array->type != type)
		return -EINVAL;
	if (!array->entry_num)
		return -EINVAL;
	if (array->kbuf && array->entry_len == entry_size) {
		memcpy(dst, array->kbuf, (size_t)array->entry_num * entry_size);
		return 0;
	}
	if (array->entry_len == entry_size)
		return sio_copy_from_user(dst, array->uptr, (size_t)array->entry_num * entry_size);
	for (uint32_t i = 0; i != array->entry_num; i++) {
		int rc = sio_copy_struct_from_user((char *)dst + i * entry_size, entry_size,
						   array->uptr + (uint64_t)i * array->entry_len,
						   array->entry_len);
		if (rc)
			return rc;
	}
	return 0;
}
