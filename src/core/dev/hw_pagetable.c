// SPDX-License-Identifier: MIT
/*
 * HW pagetables: paging HWPTs (a driver domain mirroring an IOAS) and nested HWPTs (a driver
 * domain whose stage 1 belongs to user space, on a nest-parent paging HWPT or a vIOMMU), plus
 * their ioctls: HWPT_ALLOC, HWPT_INVALIDATE, HWPT_SET_DIRTY_TRACKING, HWPT_GET_DIRTY_BITMAP.
 */
#include "../sio.h"


static void hwpt_destroy_common(struct sio_hw_pagetable *hwpt)
{
	if (hwpt->domain) {
		pthread_rwlock_destroy(&hwpt->domain->dma_lock);
		sio_domain_free(hwpt->domain);
	}
	if (hwpt->fault)
		sio_fault_put_hwpt_ref(hwpt->fault);
}

/* @locked: the caller holds ioas->mutex (abort runs under the creator's lock) */
/*
 * Adopt the domain a driver just allocated for @hwpt (or its ERR_PTR): the HWPT owns it from
 * here, and its DMA lock is ready. On error hwpt->domain stays NULL for the abort path.
 */
int sio_hwpt_set_domain(struct sio_hw_pagetable *hwpt, struct sio_domain *domain,
			const struct sio_iommu_ops *owner)
{
	if (IS_ERR(domain))
		return PTR_ERR(domain);
	domain->owner = owner;
	domain->iommufd_hwpt = hwpt;
	/* Unmap must get in under a steady stream of DMAs walking the tables */
	sio_rwlock_init_writer_first(&domain->dma_lock, SIO_LOCK_DOMAIN_DMA);
	sio_iotlb_tag_init(&domain->iotlb);
	hwpt->domain = domain;
	return 0;
}

/* sio_hwpt_set_domain() for a nested HWPT: a driver's domain of another type is refused */
int sio_hwpt_set_nested_domain(struct sio_hw_pagetable *hwpt, struct sio_domain *domain,
			       const struct sio_iommu_ops *owner)
{
	int rc = sio_hwpt_set_domain(hwpt, domain, owner);

	if (!rc && hwpt->domain->type != SIO_DOMAIN_NESTED)
		rc = -EOPNOTSUPP;
	return rc;
}

static void hwpt_paging_teardown(struct sio_hwpt_paging *hwpt_paging, bool locked)
{
	struct sio_ioas *ioas = hwpt_paging->ioas;
	bool linked;

	/* hwpt_list (and so whether we are on it) changes only under ioas->mutex */
	if (!locked)
		pthread_mutex_lock(&ioas->mutex);
	linked = !list_empty(&hwpt_paging->hwpt_item);
	if (linked)
		list_del_init(&hwpt_paging->hwpt_item);
	if (!locked)
		pthread_mutex_unlock(&ioas->mutex);
	if (linked)
		iopt_table_remove_domain(&ioas->iopt, hwpt_paging->common.domain);
	hwpt_destroy_common(&hwpt_paging->common);
	atomic_fetch_sub(&ioas->obj.users, 1);
}

void sio_hwpt_paging_destroy(struct sio_object *obj)
{
	hwpt_paging_teardown(container_of(obj, struct sio_hwpt_paging, common.obj), false);
}

void sio_hwpt_paging_abort(struct sio_object *obj)
{
	hwpt_paging_teardown(container_of(obj, struct sio_hwpt_paging, common.obj), true);
}

void sio_hwpt_nested_destroy(struct sio_object *obj)
{
	struct sio_hwpt_nested *hwpt_nested =
		container_of(obj, struct sio_hwpt_nested, common.obj);

	hwpt_destroy_common(&hwpt_nested->common);
	if (hwpt_nested->viommu)
		atomic_fetch_sub(&((struct sio_object *)hwpt_nested->viommu)->users, 1);
	else
		atomic_fetch_sub(&hwpt_nested->parent->common.obj.users, 1);
}

void sio_hwpt_nested_abort(struct sio_object *obj)
{
	sio_hwpt_nested_destroy(obj);
}

struct sio_hwpt_paging *sio_find_hwpt_paging(struct sio_hw_pagetable *hwpt)
{
	switch (hwpt->obj.type) {
	case SIO_OBJ_HWPT_PAGING:
		return to_hwpt_paging(hwpt);
	case SIO_OBJ_HWPT_NESTED:
		return to_hwpt_nested(hwpt)->parent;
	default:
		return NULL;
	}
}

int sio_hw_pagetable_attach_immediate(struct sio_hw_pagetable *hwpt, struct sio_device *idev,
				      uint32_t pasid);
void sio_hw_pagetable_detach_immediate(struct sio_device *idev, uint32_t pasid);

/**
 * sio_hwpt_paging_alloc() - a paging HWPT for @idev mirroring @ioas
 *
 * Called with ioas->mutex held until the result is finalized or aborted. With
 * @immediate_attach the device is attached before the domain is filled.
 */
struct sio_hwpt_paging *sio_hwpt_paging_alloc(struct sio_ctx *ctx, struct sio_ioas *ioas,
					      struct sio_device *idev, uint32_t pasid,
					      uint32_t flags, bool immediate_attach,
					      const struct sio_user_data *user_data)
{
	const uint32_t valid_flags = IOMMU_HWPT_ALLOC_NEST_PARENT |
				     IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_FAULT_ID_VALID |
				     IOMMU_HWPT_ALLOC_PASID;
	const struct sio_iommu_ops *ops = idev->dev->ops;
	struct sio_hwpt_paging *hwpt_paging;
	struct sio_hw_pagetable *hwpt;
	int rc;

	if ((flags || user_data) && !ops->domain_alloc_paging_flags)
		return ERR_PTR(-EOPNOTSUPP);
	if (flags & ~valid_flags)
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    !sio_dev_capable(idev->dev, SIO_CAP_DIRTY_TRACKING))
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_FAULT_ID_VALID) && (flags & IOMMU_HWPT_ALLOC_NEST_PARENT))
		return ERR_PTR(-EOPNOTSUPP);

	hwpt_paging = sio_object_alloc_type(ctx, hwpt_paging, SIO_OBJ_HWPT_PAGING);
	if (IS_ERR(hwpt_paging))
		return hwpt_paging;
	hwpt = &hwpt_paging->common;
	hwpt->pasid_compat = flags & IOMMU_HWPT_ALLOC_PASID;
	INIT_LIST_HEAD(&hwpt_paging->hwpt_item);
	atomic_fetch_add(&ioas->obj.users, 1);
	hwpt_paging->ioas = ioas;
	hwpt_paging->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;

	rc = sio_hwpt_set_domain(hwpt, ops->domain_alloc_paging_flags(
					       idev->dev, flags & ~IOMMU_HWPT_FAULT_ID_VALID,
					       user_data), ops);
	if (rc)
		goto out_abort;

	if (immediate_attach) {
		rc = sio_hw_pagetable_attach_immediate(hwpt, idev, pasid);
		if (rc)
			goto out_abort;
	}
	rc = iopt_table_add_domain(&ioas->iopt, hwpt->domain);
	if (rc)
		goto out_detach;
	list_add_tail(&hwpt_paging->hwpt_item, &ioas->hwpt_list);
	return hwpt_paging;

out_detach:
	if (immediate_attach)
		sio_hw_pagetable_detach_immediate(idev, pasid);
out_abort:
	sio_object_abort_and_destroy(ctx, &hwpt->obj);
	return ERR_PTR(rc);
}

static struct sio_hwpt_nested *hwpt_nested_alloc(struct sio_ctx *ctx,
						 struct sio_hwpt_paging *parent,
						 struct sio_device *idev, uint32_t flags,
						 const struct sio_user_data *user_data)
{
	const struct sio_iommu_ops *ops = idev->dev->ops;
	struct sio_hwpt_nested *hwpt_nested;
	struct sio_hw_pagetable *hwpt;
	int rc;

	if ((flags & ~(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)) ||
	    !user_data->len || !ops->domain_alloc_nested)
		return ERR_PTR(-EOPNOTSUPP);
	if (parent->auto_domain || !parent->nest_parent ||
	    parent->common.domain->owner != ops)
		return ERR_PTR(-EINVAL);

	hwpt_nested = sio_object_alloc_type(ctx, hwpt_nested, SIO_OBJ_HWPT_NESTED);
	if (IS_ERR(hwpt_nested))
		return hwpt_nested;
	hwpt = &hwpt_nested->common;
	hwpt->pasid_compat = flags & IOMMU_HWPT_ALLOC_PASID;
	atomic_fetch_add(&parent->common.obj.users, 1);
	hwpt_nested->parent = parent;

	rc = sio_hwpt_set_nested_domain(hwpt, ops->domain_alloc_nested(
							idev->dev, parent->common.domain,
							flags & ~IOMMU_HWPT_FAULT_ID_VALID, user_data),
					ops);
	if (rc)
		goto out_abort;
	return hwpt_nested;
out_abort:
	sio_object_abort_and_destroy(ctx, &hwpt->obj);
	return ERR_PTR(rc);
}

struct sio_hwpt_nested *sio_viommu_alloc_hwpt_nested(struct sio_ctx *ctx,
						     struct sio_object *viommu_obj,
						     struct sio_device *idev, uint32_t flags,
						     const struct sio_user_data *user_data);

int sio_hwpt_alloc_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	const struct sio_user_data user_data = {
		.type = cmd->data_type, .uptr = cmd->data_uptr, .len = cmd->data_len,
	};
	struct sio_hw_pagetable *hwpt;
	struct sio_ioas *ioas = NULL;
	struct sio_object *pt_obj;
	struct sio_device *idev;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if ((cmd->data_type == IOMMU_HWPT_DATA_NONE && cmd->data_len) ||
	    (cmd->data_type != IOMMU_HWPT_DATA_NONE && !cmd->data_len))
		return -EINVAL;

	idev = sio_get_device(ucmd, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	pt_obj = sio_get_object(ucmd->ctx, cmd->pt_id, SIO_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		rc = -EINVAL;
		goto out_put_idev;
	}

	if (pt_obj->type == SIO_OBJ_IOAS) {
		struct sio_hwpt_paging *hwpt_paging;

		ioas = container_of(pt_obj, struct sio_ioas, obj);
		pthread_mutex_lock(&ioas->mutex);
		hwpt_paging = sio_hwpt_paging_alloc(ucmd->ctx, ioas, idev, SIO_NO_PASID, cmd->flags,
						    false, user_data.len ? &user_data : NULL);
		if (IS_ERR(hwpt_paging)) {
			rc = PTR_ERR(hwpt_paging);
			goto out_unlock;
		}
		hwpt = &hwpt_paging->common;
	} else if (pt_obj->type == SIO_OBJ_HWPT_PAGING) {
		struct sio_hwpt_nested *hwpt_nested;

		hwpt_nested = hwpt_nested_alloc(
			ucmd->ctx, container_of(pt_obj, struct sio_hwpt_paging, common.obj), idev,
			cmd->flags, &user_data);
		if (IS_ERR(hwpt_nested)) {
			rc = PTR_ERR(hwpt_nested);
			goto out_unlock;
		}
		hwpt = &hwpt_nested->common;
	} else if (pt_obj->type == SIO_OBJ_VIOMMU) {
		struct sio_hwpt_nested *hwpt_nested;

		hwpt_nested = sio_viommu_alloc_hwpt_nested(ucmd->ctx, pt_obj, idev, cmd->flags,
							   &user_data);
		if (IS_ERR(hwpt_nested)) {
			rc = PTR_ERR(hwpt_nested);
			goto out_unlock;
		}
		hwpt = &hwpt_nested->common;
	} else {
		rc = -EINVAL;
		goto out_put_pt;
	}

	if (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) {
		struct sio_fault *fault = sio_get_fault(ucmd, cmd->fault_id);

		if (IS_ERR(fault)) {
			rc = PTR_ERR(fault);
			goto out_hwpt;
		}
		hwpt->fault = fault;
		hwpt->domain->iopf_handler = true;
		sio_fault_hold(fault);
		sio_put_object(ucmd->ctx, sio_fault_obj(fault));
	}

	cmd->out_hwpt_id = hwpt->obj.id;
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_hwpt;
	sio_object_finalize(ucmd->ctx, &hwpt->obj);
	goto out_unlock;

out_hwpt:
	sio_object_abort_and_destroy(ucmd->ctx, &hwpt->obj);
out_unlock:
	if (ioas)
		pthread_mutex_unlock(&ioas->mutex);
out_put_pt:
	sio_put_object(ucmd->ctx, pt_obj);
out_put_idev:
	sio_put_object(ucmd->ctx, &idev->obj);
	return rc;
}

#define IOMMU_HWPT_INVALIDATE_ENTRY_NUM_MAX (1U << 19)

int sio_viommu_cache_invalidate(struct sio_object *viommu_obj,
				struct sio_user_data_array *array);

/*
 * Copy the whole entry array from user space with one system call when it is readable (the
 * drivers then parse entries from memory); on any fault leave it to the drivers' per-entry
 * copies, which report exactly how far they got.
 */
static void *invalidate_bounce(struct sio_user_data_array *array, void *stack, size_t stack_size)
{
	size_t total = (size_t)array->entry_num * array->entry_len;
	void *buf;

	if (!total || total > (1u << 20))
		return NULL;
	buf = total <= stack_size ? stack : malloc(total);
	if (!buf)
		return NULL;
	if (sio_copy_from_user_partial(buf, array->uptr, total) != total) {
		if (buf != stack)
			free(buf);
		return NULL;
	}
	array->kbuf = buf;
	return buf;
}

int sio_hwpt_invalidate_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct sio_user_data_array array = {
		.type = cmd->data_type, .uptr = cmd->data_uptr,
		.entry_len = cmd->entry_len, .entry_num = cmd->entry_num,
	};
	uint64_t bounce[64];
	struct sio_object *pt_obj;
	uint32_t done_num = 0;
	void *kbuf = NULL;
	int rc;

	if (cmd->__reserved) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	if (cmd->entry_num && (!cmd->data_uptr || !cmd->entry_len ||
			       cmd->entry_len > SIO_PAGE_SIZE ||
			       cmd->entry_num > IOMMU_HWPT_INVALIDATE_ENTRY_NUM_MAX)) {
		rc = -EINVAL;
		goto out;
	}
	pt_obj = sio_get_object(ucmd->ctx, cmd->hwpt_id, SIO_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		rc = PTR_ERR(pt_obj);
		goto out;
	}
	kbuf = invalidate_bounce(&array, bounce, sizeof(bounce));
	if (pt_obj->type == SIO_OBJ_HWPT_NESTED) {
		struct sio_hw_pagetable *hwpt = container_of(pt_obj, struct sio_hw_pagetable, obj);

		if (!hwpt->domain->ops || !hwpt->domain->ops->cache_invalidate_user) {
			rc = -EOPNOTSUPP;
			goto out_put_pt;
		}
		rc = hwpt->domain->ops->cache_invalidate_user(hwpt->domain, &array);
	} else if (pt_obj->type == SIO_OBJ_VIOMMU) {
		rc = sio_viommu_cache_invalidate(pt_obj, &array);
	} else {
		rc = -EINVAL;
		goto out_put_pt;
	}
	done_num = array.entry_num;
out_put_pt:
	if (kbuf != bounce)
		sio_free(kbuf);
	sio_put_object(ucmd->ctx, pt_obj);
out:
	cmd->entry_num = done_num;
	if (sio_ucmd_respond(ucmd, sizeof(*cmd)))
		return -EFAULT;
	return rc;
}

static struct sio_hwpt_paging *get_hwpt_paging(struct sio_ucmd *ucmd, uint32_t id)
{
	struct sio_object *obj = sio_get_object(ucmd->ctx, id, SIO_OBJ_HWPT_PAGING);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct sio_hwpt_paging, common.obj);
}

int sio_hwpt_set_dirty_tracking_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct sio_hwpt_paging *hwpt_paging;
	int rc;

	if (cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE)
		return -EOPNOTSUPP;
	hwpt_paging = get_hwpt_paging(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt_paging))
		return PTR_ERR(hwpt_paging);
	rc = iopt_set_dirty_tracking(&hwpt_paging->ioas->iopt, hwpt_paging->common.domain,
				     cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
	/* Cached translations predate the new tracking state (and the dirty bits it cleared) */
	sio_iotlb_invalidate_all(&hwpt_paging->common.domain->iotlb);
	sio_put_object(ucmd->ctx, &hwpt_paging->common.obj);
	return rc;
}

int sio_hwpt_get_dirty_bitmap_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct sio_hwpt_paging *hwpt_paging;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) || cmd->__reserved)
		return -EOPNOTSUPP;
	hwpt_paging = get_hwpt_paging(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt_paging))
		return PTR_ERR(hwpt_paging);
	rc = iopt_read_and_clear_dirty(&hwpt_paging->ioas->iopt, hwpt_paging->common.domain,
				       cmd->flags, cmd->iova, cmd->length, cmd->page_size,
				       cmd->data);
	/*
	 * A cached writable translation would let the next write skip setting the dirty bit
	 * just cleared (Linux syncs the IOTLB here too); even a failed pass may have cleared some
	 */
	if (!(cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR))
		sio_iotlb_invalidate_range(&hwpt_paging->common.domain->iotlb, cmd->iova,
					   cmd->length);
	sio_put_object(ucmd->ctx, &hwpt_paging->common.obj);
	return rc;
}
