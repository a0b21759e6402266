// SPDX-License-Identifier: MIT
/*
 * vIOMMUs, vDEVICEs and HW queues.
 *
 * A vIOMMU is a user-space instance of an IOMMU model sitting on a nest-parent paging HWPT
 * (the stage 2 it shares with its nested domains); it is driver-sized (the driver embeds
 * struct sio_viommu first). A vDEVICE gives one bound device a virtual ID on a vIOMMU — the
 * ID the guest uses, which events report (seed 000) and invalidations name. A device has at
 * most one vDEVICE; destroying the device revokes it and leaves a tombstone, so the ID stays
 * dead. A HW queue is guest queue memory at a stage-2 IOVA that the model consumes directly:
 * its pages are pinned by an internal access that locks their area against unmap.
 */
#include <fcntl.h>
#include <limits.h>

#include "../sio.h"
#include "../file.h"

struct sio_domain *sio_viommu_parent_domain(struct sio_viommu *viommu)
{
	return viommu->hwpt->common.domain;
}

static struct sio_viommu *get_viommu(struct sio_ucmd *ucmd, uint32_t id)
{
	struct sio_object *obj = sio_get_object(ucmd->ctx, id, SIO_OBJ_VIOMMU);

	return IS_ERR(obj) ? ERR_CAST(obj) : container_of(obj, struct sio_viommu, obj);
}

void sio_viommu_destroy(struct sio_object *obj)
{
	struct sio_viommu *viommu = container_of(obj, struct sio_viommu, obj);

	if (viommu->ops && viommu->ops->destroy)
		viommu->ops->destroy(viommu);
	atomic_fetch_sub(&viommu->hwpt->common.obj.users, 1);
	sio_free(viommu->vdevs);
	pthread_mutex_destroy(&viommu->vdevs_lock);
	pthread_rwlock_destroy(&viommu->veventqs_rwsem);
}

int sio_viommu_alloc_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_viommu_alloc *cmd = ucmd->cmd;
	const struct sio_user_data user_data = {
		.type = cmd->type, .uptr = cmd->data_uptr, .len = cmd->data_len,
	};
	const struct sio_iommu_ops *ops;
	struct sio_object *hwpt_obj;
	struct sio_hwpt_paging *hwpt_paging;
	struct sio_viommu *viommu;
	struct sio_device *idev;
	size_t size;
	int rc;

	if (cmd->flags || cmd->type == IOMMU_VIOMMU_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	idev = sio_get_device(ucmd, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	ops = idev->dev->ops;
	if (!ops->get_viommu_size || !ops->viommu_init) {
		rc = -EOPNOTSUPP;
		goto out_put_idev;
	}
	size = ops->get_viommu_size(idev->dev, cmd->type);
	if (!size || size < sizeof(*viommu)) {
		rc = -EOPNOTSUPP;
		goto out_put_idev;
	}
	hwpt_obj = sio_get_object(ucmd->ctx, cmd->hwpt_id, SIO_OBJ_HWPT_PAGING);
	if (IS_ERR(hwpt_obj)) {
		rc = PTR_ERR(hwpt_obj);
		goto out_put_idev;
	}
	hwpt_paging = container_of(hwpt_obj, struct sio_hwpt_paging, common.obj);
	if (!hwpt_paging->nest_parent) {
		rc = -EINVAL;
		goto out_put_hwpt;
	}
	viommu = (struct sio_viommu *)sio_object_alloc_ucmd(ucmd, size, SIO_OBJ_VIOMMU);
	if (IS_ERR(viommu)) {
		rc = PTR_ERR(viommu);
		goto out_put_hwpt;
	}
	viommu->type = cmd->type;
	viommu->ctx = ucmd->ctx;
	viommu->hwpt = hwpt_paging;
	atomic_fetch_add(&hwpt_paging->common.obj.users, 1);
	viommu->iommu_ops = ops;
	sio_mutex_init(&viommu->vdevs_lock, SIO_LOCK_VIOMMU_VDEVS);
	sio_rwlock_init(&viommu->veventqs_rwsem, SIO_LOCK_VIOMMU_VEVENTQS);
	INIT_LIST_HEAD(&viommu->veventqs);
	rc = ops->viommu_init(viommu, hwpt_paging->common.domain,
			      user_data.len ? &user_data : NULL);
	if (rc)
		goto out_put_hwpt;
	if (!viommu->ops) {
		rc = -EOPNOTSUPP;
		goto out_put_hwpt;
	}
	cmd->out_viommu_id = viommu->obj.id;
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
out_put_hwpt:
	sio_put_object(ucmd->ctx, hwpt_obj);
out_put_idev:
	sio_put_object(ucmd->ctx, &idev->obj);
	return rc;
}

struct sio_hwpt_nested *sio_viommu_alloc_hwpt_nested(struct sio_ctx *ctx,
						     struct sio_object *viommu_obj,
						     struct sio_device *idev, uint32_t flags,
						     const struct sio_user_data *user_data)
{
	struct sio_viommu *viommu = container_of(viommu_obj, struct sio_viommu, obj);
	struct sio_hwpt_nested *hwpt_nested;
	struct sio_hw_pagetable *hwpt;
	int rc;

	if (viommu->iommu_ops != idev->dev->ops)
		return ERR_PTR(-EINVAL);
	if (flags & ~(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID))
		return ERR_PTR(-EOPNOTSUPP);
	if (!user_data->len)
		return ERR_PTR(-EOPNOTSUPP);
	if (!viommu->ops || !viommu->ops->alloc_domain_nested)
		return ERR_PTR(-EOPNOTSUPP);
	hwpt_nested = sio_object_alloc_type(ctx, hwpt_nested, SIO_OBJ_HWPT_NESTED);
	if (IS_ERR(hwpt_nested))
		return hwpt_nested;
	hwpt = &hwpt_nested->common;
	hwpt->pasid_compat = flags & IOMMU_HWPT_ALLOC_PASID;
	hwpt_nested->viommu = viommu;
	atomic_fetch_add(&viommu->obj.users, 1);
	hwpt_nested->parent = viommu->hwpt;
	rc = sio_hwpt_set_nested_domain(hwpt, viommu->ops->alloc_domain_nested(
						      viommu, flags & ~IOMMU_HWPT_FAULT_ID_VALID,
						      user_data),
					viommu->iommu_ops);
	if (rc)
		goto out_abort;
	return hwpt_nested;
out_abort:
	sio_object_abort_and_destroy(ctx, &hwpt->obj);
	return ERR_PTR(rc);
}

int sio_viommu_cache_invalidate(struct sio_object *viommu_obj, struct sio_user_data_array *array)
{
	struct sio_viommu *viommu = container_of(viommu_obj, struct sio_viommu, obj);

	if (!viommu->ops || !viommu->ops->cache_invalidate) {
		array->entry_num = 0;
		return -EOPNOTSUPP;
	}
	return viommu->ops->cache_invalidate(viommu, array);
}

/* vDEVICEs. viommu->vdevs_lock protects the array and every vdev's published flag. */

/**
 * sio_viommu_lock_vdevs() - hold @viommu's vDEVICEs still (none is published or removed)
 * until sio_viommu_unlock_vdevs()
 */
void sio_viommu_lock_vdevs(struct sio_viommu *viommu)
{
	pthread_mutex_lock(&viommu->vdevs_lock);
}

void sio_viommu_unlock_vdevs(struct sio_viommu *viommu)
{
	pthread_mutex_unlock(&viommu->vdevs_lock);
}

/**
 * sio_viommu_find_dev() - the device whose vDEVICE on @viommu has virtual ID @virt_id
 *
 * Takes a reference on the device's binding: the device stays alive (its unbind waits)
 * until sio_viommu_put_dev(), even if its vDEVICE goes meanwhile. Call it without
 * sio_viommu_lock_vdevs() (it takes that lock) and outside any DMA read-side section.
 * Return: the device, or NULL.
 */
struct sio_dev *sio_viommu_find_dev(struct sio_viommu *viommu, uint64_t virt_id)
{
	struct sio_dev *dev = NULL;

	pthread_mutex_lock(&viommu->vdevs_lock);
	for (size_t i = 0; i != viommu->nvdevs; i++) {
		struct sio_vdevice *vdev = viommu->vdevs[i];

		if (vdev->published && vdev->virt_id == virt_id) {
			if (sio_lock_obj(&vdev->idev->obj))
				dev = vdev->idev->dev;
			break;
		}
	}
	pthread_mutex_unlock(&viommu->vdevs_lock);
	return dev;
}

/** sio_viommu_put_dev() - drop the reference sio_viommu_find_dev() took on @dev */
void sio_viommu_put_dev(struct sio_dev *dev)
{
	struct sio_device *idev = dev->iommufd_device;

	sio_put_object(idev->ctx, &idev->obj);
}

/* The virtual ID of @dev on @viommu (seed 000: the reverse lookup drivers report with) */
int sio_viommu_get_vdev_id(struct sio_viommu *viommu, struct sio_dev *dev, uint64_t *virt_id)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&viommu->vdevs_lock);
	for (size_t i = 0; i != viommu->nvdevs; i++) {
		if (viommu->vdevs[i]->published && viommu->vdevs[i]->idev->dev == dev) {
			*virt_id = viommu->vdevs[i]->virt_id;
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&viommu->vdevs_lock);
	return rc;
}

static void vdevs_remove(struct sio_viommu *viommu, struct sio_vdevice *vdev)
{
	pthread_mutex_lock(&viommu->vdevs_lock);
	for (size_t i = 0; i != viommu->nvdevs; i++) {
		if (viommu->vdevs[i] == vdev) {
			viommu->vdevs[i] = viommu->vdevs[--viommu->nvdevs];
			break;
		}
	}
	pthread_mutex_unlock(&viommu->vdevs_lock);
}

/* Called with idev->igroup->lock held */
void sio_vdevice_abort(struct sio_object *obj)
{
	struct sio_vdevice *vdev = container_of(obj, struct sio_vdevice, obj);

	sio_lockdep_assert_held(&vdev->idev->igroup->lock);
	if (vdev->destroy)
		vdev->destroy(vdev);
	vdevs_remove(vdev->viommu, vdev);
	atomic_fetch_sub(&vdev->viommu->obj.users, 1);
	vdev->idev->vdev = NULL;
}

void sio_vdevice_destroy(struct sio_object *obj)
{
	struct sio_vdevice *vdev = container_of(obj, struct sio_vdevice, obj);
	struct sio_device *idev = vdev->idev;

	pthread_rwlock_wrlock(&idev->igroup->lock);
	sio_vdevice_abort(obj);
	pthread_rwlock_unlock(&idev->igroup->lock);
	/* The hold on the device taken at allocation */
	sio_put_object(idev->ctx, &idev->obj);
}

int sio_vdevice_alloc_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_vdevice_alloc *cmd = ucmd->cmd;
	size_t vdev_size = sizeof(struct sio_vdevice);
	struct sio_vdevice *vdev, **n;
	struct sio_viommu *viommu;
	struct sio_device *idev;
	int rc = 0;

	viommu = get_viommu(ucmd, cmd->viommu_id);
	if (IS_ERR(viommu))
		return PTR_ERR(viommu);
	idev = sio_get_device(ucmd, cmd->dev_id);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto out_put_viommu;
	}
	if (viommu->iommu_ops != idev->dev->ops) {
		rc = -EINVAL;
		goto out_put_idev;
	}
	pthread_rwlock_wrlock(&idev->igroup->lock);
	if (idev->destroying) {
		rc = -ENOENT;
		goto out_unlock;
	}
	if (idev->vdev) {
		rc = -EEXIST;
		goto out_unlock;
	}
	if (viommu->ops && viommu->ops->vdevice_size) {
		if (viommu->ops->vdevice_size < vdev_size || !viommu->ops->vdevice_init) {
			rc = -EOPNOTSUPP;
			goto out_unlock;
		}
		vdev_size = viommu->ops->vdevice_size;
	}
	vdev = (struct sio_vdevice *)sio_object_alloc(ucmd->ctx, vdev_size, SIO_OBJ_VDEVICE);
	if (IS_ERR(vdev)) {
		rc = PTR_ERR(vdev);
		goto out_unlock;
	}
	vdev->virt_id = cmd->virt_id;
	vdev->viommu = viommu;
	atomic_fetch_add(&viommu->obj.users, 1);
	/* The vDEVICE keeps the short-term hold on its device until it is destroyed */
	vdev->idev = idev;
	idev->vdev = vdev;
	pthread_mutex_lock(&viommu->vdevs_lock);
	for (size_t i = 0; i != viommu->nvdevs; i++)
		if (viommu->vdevs[i]->virt_id == vdev->virt_id)
			rc = -EEXIST;
	if (!rc) {
		n = sio_realloc_array(viommu->vdevs, viommu->nvdevs + 1, sizeof(*n));
		if (n) {
			viommu->vdevs = n;
			n[viommu->nvdevs++] = vdev;
		} else {
			rc = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&viommu->vdevs_lock);
	if (rc)
		goto out_abort;
	if (viommu->ops && viommu->ops->vdevice_init) {
		rc = viommu->ops->vdevice_init(vdev);
		if (rc)
			goto out_abort;
	}
	pthread_mutex_lock(&viommu->vdevs_lock);
	vdev->published = true;
	pthread_mutex_unlock(&viommu->vdevs_lock);
	cmd->out_vdevice_id = vdev->obj.id;
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_abort;
	sio_object_finalize(ucmd->ctx, &vdev->obj);
	goto out_unlock;
out_abort:
	/* Undoes everything above, including the device hold (put below) */
	sio_object_abort_and_destroy(ucmd->ctx, &vdev->obj);
out_unlock:
	pthread_rwlock_unlock(&idev->igroup->lock);
out_put_idev:
	if (rc)
		sio_put_object(ucmd->ctx, &idev->obj);
out_put_viommu:
	sio_put_object(ucmd->ctx, &viommu->obj);
	return rc;
}

/*
 * The device is being destroyed: revoke its vDEVICE (leaving a tombstone, so user space's
 * vDEVICE ID does not come back) so the device's destroy can finish.
 */
void sio_device_remove_vdev(struct sio_device *idev)
{
	struct sio_vdevice *vdev;

	pthread_rwlock_wrlock(&idev->igroup->lock);
	idev->destroying = true;
	vdev = idev->vdev;
	/* Gone, or its destroy is under way and will drop the hold */
	if (!vdev || !sio_lock_obj(&vdev->obj)) {
		pthread_rwlock_unlock(&idev->igroup->lock);
		return;
	}
	pthread_rwlock_unlock(&idev->igroup->lock);
	/* sio_lock_obj took a users and a short-term reference: keep the users one */
	pthread_mutex_lock(&idev->ctx->obj_lock);
	atomic_fetch_sub(&vdev->obj.shortterm, 1);
	pthread_mutex_unlock(&idev->ctx->obj_lock);
	sio_object_tombstone_user(idev->ctx, &vdev->obj);
}

/* HW queues */

static struct sio_hw_queue *hw_queue_of(struct sio_hw_queue *q) { return q; }

int sio_hw_queue_depend(struct sio_hw_queue *dependent, struct sio_hw_queue *depended)
{
	if (dependent == depended)
		return -EINVAL;
	atomic_fetch_add(&hw_queue_of(depended)->obj.users, 1);
	return 0;
}

void sio_hw_queue_undepend(struct sio_hw_queue *dependent, struct sio_hw_queue *depended)
{
	if (dependent != depended)
		atomic_fetch_sub(&depended->obj.users, 1);
}

static void hw_queue_destroy_access(struct sio_hw_queue *q)
{
	uint64_t aligned = ALIGN_DOWN(q->base_addr, SIO_PAGE_SIZE);
	uint64_t offset = q->base_addr - aligned;

	sio_access_unpin_pages(q->access, aligned, ALIGN_UP(q->length + offset, SIO_PAGE_SIZE));
	sio_access_detach(q->access);
	sio_access_destroy_internal(q->access);
}

void sio_hw_queue_destroy(struct sio_object *obj)
{
	struct sio_hw_queue *q = container_of(obj, struct sio_hw_queue, obj);

	if (q->destroy)
		q->destroy(q);
	if (q->access)
		hw_queue_destroy_access(q);
	if (q->viommu)
		atomic_fetch_sub(&q->viommu->obj.users, 1);
}

/* Pin the queue memory through an internal access; it must be physically contiguous */
static struct sio_access *hw_queue_pin(struct iommu_hw_queue_alloc *cmd,
				       struct sio_viommu *viommu, uint64_t *base_pa)
{
	uint64_t aligned = ALIGN_DOWN(cmd->nesting_parent_iova, SIO_PAGE_SIZE);
	uint64_t offset = cmd->nesting_parent_iova - aligned, length;
	struct sio_access *access;
	size_t npages;
	uint64_t *pa;
	int rc;

	if (check_add_overflow(offset, cmd->length, &length) ||
	    check_add_overflow(length, SIO_PAGE_SIZE - 1, &length))
		return ERR_PTR(-ERANGE);
	npages = length / SIO_PAGE_SIZE;
	length = npages * SIO_PAGE_SIZE;
	/* Linux's page array is a kvmalloc, which refuses more than INT_MAX bytes: ENOMEM */
	if (npages > INT_MAX / sizeof(*pa))
		return ERR_PTR(-ENOMEM);
	pa = sio_calloc(npages, sizeof(*pa));
	if (!pa)
		return ERR_PTR(-ENOMEM);
	access = sio_access_create_internal(viommu->ctx);
	if (IS_ERR(access)) {
		rc = PTR_ERR(access);
		goto out_free;
	}
	rc = sio_access_attach_internal(access, viommu->hwpt->ioas);
	if (rc)
		goto out_destroy;
	rc = sio_access_pin_pages(access, aligned, length, pa, 0);
	if (rc)
		goto out_detach;
	for (size_t i = 1; i < npages; i++) {
		if (pa[i] != pa[i - 1] + SIO_PAGE_SIZE) {
			rc = -EFAULT;
			sio_access_unpin_pages(access, aligned, length);
			goto out_detach;
		}
	}
	*base_pa = pa[0] + offset;
	sio_free(pa);
	return access;
out_detach:
	sio_access_detach(access);
out_destroy:
	sio_access_destroy_internal(access);
out_free:
	sio_free(pa);
	return ERR_PTR(rc);
}

int sio_hw_queue_alloc_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_hw_queue_alloc *cmd = ucmd->cmd;
	struct sio_viommu *viommu;
	struct sio_hw_queue *q;
	struct sio_access *access;
	uint64_t base_pa = 0, last;
	size_t size;
	int rc;

	if (cmd->flags || cmd->type == IOMMU_HW_QUEUE_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	if (!cmd->length)
		return -EINVAL;
	if (check_add_overflow(cmd->nesting_parent_iova, cmd->length - 1, &last))
		return -EOVERFLOW;
	viommu = get_viommu(ucmd, cmd->viommu_id);
	if (IS_ERR(viommu))
		return PTR_ERR(viommu);
	if (!viommu->ops || !viommu->ops->get_hw_queue_size || !viommu->ops->hw_queue_init_phys) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	size = viommu->ops->get_hw_queue_size(viommu, cmd->type);
	if (!size || size < sizeof(*q)) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	q = (struct sio_hw_queue *)sio_object_alloc_ucmd(ucmd, size, SIO_OBJ_HW_QUEUE);
	if (IS_ERR(q)) {
		rc = PTR_ERR(q);
		goto out_put;
	}
	access = hw_queue_pin(cmd, viommu, &base_pa);
	if (IS_ERR(access)) {
		rc = PTR_ERR(access);
		goto out_put;
	}
	q->viommu = viommu;
	atomic_fetch_add(&viommu->obj.users, 1);
	q->access = access;
	q->type = cmd->type;
	q->length = cmd->length;
	q->base_addr = cmd->nesting_parent_iova;
	rc = viommu->ops->hw_queue_init_phys(q, cmd->index, base_pa);
	if (rc)
		goto out_put;
	cmd->out_hw_queue_id = q->obj.id;
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	sio_put_object(ucmd->ctx, &viommu->obj);
	return rc;
}
