// SPDX-License-Identifier: MIT
/*
 * Device objects: binding a driver's device to a context, and attaching it (per PASID) to
 * HWPTs, either chosen by the user or, when the user names an IOAS, an automatically
 * managed paging domain shared with every compatible device on that IOAS.
 *
 * Attachments are per group (seed 004): the first device of a group to attach a PASID attaches
 * the whole group's domain; later devices of the group must name the same HWPT and only join
 * the attachment's device list. Each attached device holds one users reference on the HWPT.
 */
#include "../sio.h"

static struct sio_igroup *igroup_get(struct sio_ctx *ctx, struct sio_dev *dev)
{
	struct sio_igroup *igroup;

	pthread_mutex_lock(&ctx->obj_lock);
	list_for_each_entry(igroup, &ctx->groups, node) {
		if (igroup->group == dev->group) {
			igroup->refs++;
			pthread_mutex_unlock(&ctx->obj_lock);
			return igroup;
		}
	}
	igroup = sio_zalloc(sizeof(*igroup));
	if (!igroup) {
		pthread_mutex_unlock(&ctx->obj_lock);
		return ERR_PTR(-ENOMEM);
	}
	igroup->refs = 1;
	igroup->ctx = ctx;
	igroup->group = dev->group;
	sio_rwlock_init(&igroup->lock, SIO_LOCK_IGROUP);
	list_add_tail(&igroup->node, &ctx->groups);
	pthread_mutex_unlock(&ctx->obj_lock);
	return igroup;
}

static void igroup_put(struct sio_igroup *igroup)
{
	struct sio_ctx *ctx = igroup->ctx;

	pthread_mutex_lock(&ctx->obj_lock);
	if (--igroup->refs) {
		pthread_mutex_unlock(&ctx->obj_lock);
		return;
	}
	list_del_init(&igroup->node);
	pthread_mutex_unlock(&ctx->obj_lock);
	sio_free(igroup->attaches);
	pthread_rwlock_destroy(&igroup->lock);
	sio_free(igroup);
}

void sio_device_pre_destroy(struct sio_object *obj)
{
	sio_device_remove_vdev(container_of(obj, struct sio_device, obj));
}

void sio_device_destroy(struct sio_object *obj)
{
	struct sio_device *idev = container_of(obj, struct sio_device, obj);

	if (idev->dev->iommufd_device == idev)
		idev->dev->iommufd_device = NULL;
	sio_iommu_release_dma_owner(idev->dev);
	igroup_put(idev->igroup);
}

/**
 * sio_device_bind() - bind a driver's device to @ctx
 * @id: out, the device object's ID
 *
 * The caller (a driver, as vfio or the mock) must undo this with sio_device_unbind().
 */
struct sio_device *sio_device_bind(struct sio_ctx *ctx, struct sio_dev *dev, uint32_t *id)
{
	struct sio_igroup *igroup;
	struct sio_device *idev;
	int rc;

	if (!sio_dev_capable(dev, SIO_CAP_CACHE_COHERENCY))
		return ERR_PTR(-EINVAL);
	igroup = igroup_get(ctx, dev);
	if (IS_ERR(igroup))
		return ERR_CAST(igroup);
	rc = sio_iommu_claim_dma_owner(dev, ctx);
	if (rc)
		goto err_group;
	idev = sio_object_alloc_type(ctx, idev, SIO_OBJ_DEVICE);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto err_owner;
	}
	idev->ctx = ctx;
	idev->dev = dev;
	idev->igroup = igroup;
	/* The binding driver is a user until sio_device_unbind() */
	atomic_fetch_add(&idev->obj.users, 1);
	dev->iommufd_device = idev;
	sio_object_finalize(ctx, &idev->obj);
	*id = idev->obj.id;
	return idev;
err_owner:
	sio_iommu_release_dma_owner(dev);
err_group:
	igroup_put(igroup);
	return ERR_PTR(rc);
}

void sio_device_unbind(struct sio_device *idev)
{
	sio_object_destroy_user(idev->ctx, &idev->obj);
}

struct sio_device *sio_get_device(struct sio_ucmd *ucmd, uint32_t id)
{
	struct sio_object *obj = sio_get_object(ucmd->ctx, id, SIO_OBJ_DEVICE);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct sio_device, obj);
}

static struct sio_attach *attach_find(struct sio_igroup *igroup, uint32_t pasid)
{
	for (unsigned int i = 0; i != igroup->nattaches; i++)
		if (igroup->attaches[i].pasid == pasid)
			return &igroup->attaches[i];
	return NULL;
}

static bool attach_has_dev(struct sio_attach *attach, struct sio_device *idev)
{
	for (unsigned int i = 0; attach && i != attach->ndevs; i++)
		if (attach->devs[i] == idev)
			return true;
	return false;
}

static void attach_remove(struct sio_igroup *igroup, struct sio_attach *attach)
{
	sio_free(attach->devs);
	*attach = igroup->attaches[--igroup->nattaches];
}

/* What (@idev, @pasid) is attached to; idev->igroup->lock held */
struct sio_hw_pagetable *__sio_device_pasid_hwpt(struct sio_device *idev, uint32_t pasid)
{
	struct sio_attach *attach = attach_find(idev->igroup, pasid);

	return attach && attach_has_dev(attach, idev) ? attach->hwpt : NULL;
}

/**
 * __sio_device_xlate_hwpt() - the HWPT a request of (@idev, @pasid) translates through
 * @pasid_valid: the request carries a PASID
 * @attach_pasid: out (may be NULL): the PASID of the attachment that takes it
 *
 * A PASID attached on its own translates through its HWPT. With a PASID table owned by user
 * space (nested stage 1, ops->user_pasid_table), a PASID the host never attached is
 * translated by the RID's nested domain, which then also takes its faults. The fault queue
 * and the DMA path both ask here. idev->igroup->lock held (read or write).
 * Return: the HWPT, or NULL (the request is blocked).
 */
struct sio_hw_pagetable *__sio_device_xlate_hwpt(struct sio_device *idev, uint32_t pasid,
						 bool pasid_valid, uint32_t *attach_pasid)
{
	struct sio_hw_pagetable *hwpt = __sio_device_pasid_hwpt(idev, pasid);

	if (attach_pasid)
		*attach_pasid = pasid;
	if (hwpt || !pasid_valid || !idev->dev->ops->user_pasid_table)
		return hwpt;
	hwpt = __sio_device_pasid_hwpt(idev, SIO_NO_PASID);
	if (!hwpt || hwpt->domain->type != SIO_DOMAIN_NESTED)
		return NULL;
	if (attach_pasid)
		*attach_pasid = SIO_NO_PASID;
	return hwpt;
}

/**
 * sio_dev_invalidate_iotlb() - every translation @dev's IOTLBs cached (all PASIDs, every
 * domain) is gone, and no DMA of the device still uses one, when this returns: what a
 * model's ATC invalidation or a change of the device's configuration (its STE, its
 * context entry) needs. The caller keeps @dev bound (it holds sio_viommu_find_dev()'s
 * reference, or an ioctl of its attachment); an unbound device caches nothing. Never call
 * it in a DMA section; it takes no lock.
 */
void sio_dev_invalidate_iotlb(struct sio_dev *dev)
{
	struct sio_device *idev = dev->iommufd_device;

	if (!idev)
		return;
	/*
	 * Entries are checked against the group's attachment generation on every hit; a new
	 * one needs no lock (a walk that read the old one stores an entry that never hits)
	 */
	sio_dma_attach_changed(idev->igroup);
	sio_dma_synchronize();
}

/* As above; the result is only a snapshot unless the caller holds the attachment */
struct sio_hw_pagetable *sio_device_pasid_hwpt(struct sio_device *idev, uint32_t pasid)
{
	struct sio_hw_pagetable *hwpt;

	pthread_rwlock_rdlock(&idev->igroup->lock);
	hwpt = __sio_device_pasid_hwpt(idev, pasid);
	pthread_rwlock_unlock(&idev->igroup->lock);
	return hwpt;
}

static int hwpt_pasid_compat(struct sio_hw_pagetable *hwpt, struct sio_igroup *igroup,
			     uint32_t pasid)
{
	if (pasid == SIO_NO_PASID) {
		for (unsigned int i = 0; i != igroup->nattaches; i++)
			if (igroup->attaches[i].pasid != SIO_NO_PASID && !hwpt->pasid_compat)
				return -EINVAL;
	} else {
		struct sio_attach *attach = attach_find(igroup, SIO_NO_PASID);

		if (!hwpt->pasid_compat)
			return -EINVAL;
		if (attach && attach->hwpt && !attach->hwpt->pasid_compat)
			return -EINVAL;
	}
	return 0;
}

/* Point the domain of (@idev, @pasid) at @domain; @old is what it translates through now */
static int domain_attach(struct sio_device *idev, uint32_t pasid, struct sio_domain *domain,
			 struct sio_domain *old, bool replace)
{
	if (pasid == SIO_NO_PASID) {
		if (replace)
			return sio_iommu_replace_group(domain, idev->igroup->group, idev->dev);
		return sio_iommu_attach_group(domain, idev->igroup->group, idev->dev);
	}
	if (!domain->ops->set_dev_pasid || !idev->dev->ops->blocked_domain->ops->set_dev_pasid)
		return -EOPNOTSUPP;
	if (domain->owner && domain->owner != idev->dev->ops)
		return -EINVAL;
	/* A device without PASID support never issues PASID-tagged DMA: nothing to set up */
	if (!idev->dev->max_pasids)
		return 0;
	if (pasid >= idev->dev->max_pasids)
		return -EINVAL;
	return domain->ops->set_dev_pasid(domain, idev->dev, pasid, old);
}

static void domain_detach(struct sio_device *idev, uint32_t pasid, struct sio_domain *domain)
{
	struct sio_domain *blocked = idev->dev->ops->blocked_domain;

	if (pasid == SIO_NO_PASID)
		sio_iommu_detach_group(domain, idev->igroup->group, idev->dev);
	else if (blocked->ops->set_dev_pasid && idev->dev->max_pasids)
		blocked->ops->set_dev_pasid(blocked, idev->dev, pasid, domain);
}

static int attach_add_dev(struct sio_attach *attach, struct sio_device *idev)
{
	struct sio_device **devs;

	devs = sio_realloc_array(attach->devs, attach->ndevs + 1, sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	attach->devs = devs;
	devs[attach->ndevs++] = idev;
	return 0;
}

static void attach_del_dev(struct sio_attach *attach, struct sio_device *idev)
{
	for (unsigned int i = 0; i != attach->ndevs; i++) {
		if (attach->devs[i] == idev) {
			attach->devs[i] = attach->devs[--attach->ndevs];
			return;
		}
	}
}

static int hwpt_attach(struct sio_hw_pagetable *hwpt, struct sio_device *idev, uint32_t pasid)
{
	struct sio_igroup *igroup = idev->igroup;
	struct sio_attach *attach, *n;
	bool first;
	int rc;

	pthread_rwlock_wrlock(&igroup->lock);
	attach = attach_find(igroup, pasid);
	if (attach_has_dev(attach, idev)) {
		rc = -EBUSY;
		goto out_unlock;
	}
	if (attach && attach->hwpt != hwpt) {
		rc = -EINVAL;
		goto out_unlock;
	}
	first = !attach;
	if (first) {
		rc = hwpt_pasid_compat(hwpt, igroup, pasid);
		if (rc)
			goto out_unlock;
		n = sio_realloc_array(igroup->attaches, igroup->nattaches + 1, sizeof(*n));
		if (!n) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		igroup->attaches = n;
		attach = &n[igroup->nattaches];
		*attach = (struct sio_attach){ .pasid = pasid, .hwpt = hwpt };
	}
	rc = attach_add_dev(attach, idev);
	if (rc)
		goto out_unlock;
	if (first) {
		rc = domain_attach(idev, pasid, hwpt->domain, NULL, false);
		if (rc) {
			sio_free(attach->devs);
			goto out_unlock;
		}
		igroup->nattaches++;
	}
	atomic_fetch_add(&hwpt->obj.users, 1);
out_unlock:
	pthread_rwlock_unlock(&igroup->lock);
	return rc;
}

/* Detach (@idev, @pasid); returns the HWPT it was attached to (caller puts it) or NULL */
static struct sio_hw_pagetable *hwpt_detach(struct sio_device *idev, uint32_t pasid)
{
	struct sio_igroup *igroup = idev->igroup;
	struct sio_hw_pagetable *hwpt;
	struct sio_attach *attach;

	pthread_rwlock_wrlock(&igroup->lock);
	attach = attach_find(igroup, pasid);
	if (!attach || !attach_has_dev(attach, idev)) {
		pthread_rwlock_unlock(&igroup->lock);
		return NULL;
	}
	hwpt = attach->hwpt;
	attach_del_dev(attach, idev);
	if (!attach->ndevs) {
		domain_detach(idev, pasid, hwpt->domain);
		attach_remove(igroup, attach);
		sio_fault_auto_response(hwpt, igroup, pasid);
	} else {
		/* Its faults stay pending on the group's attachment; no answer reaches it */
		sio_fault_forget_dev(hwpt, idev->dev);
	}
	sio_dma_attach_changed(igroup);
	pthread_rwlock_unlock(&igroup->lock);
	sio_dma_synchronize();
	return hwpt;
}

/* Replace what (@idev, @pasid) is attached to; returns the old HWPT (caller puts it) */
static struct sio_hw_pagetable *hwpt_replace(struct sio_hw_pagetable *hwpt,
					     struct sio_device *idev, uint32_t pasid)
{
	struct sio_igroup *igroup = idev->igroup;
	struct sio_hw_pagetable *old;
	struct sio_attach *attach;
	int rc;

	pthread_rwlock_wrlock(&igroup->lock);
	attach = attach_find(igroup, pasid);
	if (!attach || !attach_has_dev(attach, idev)) {
		rc = -EINVAL;
		goto err_unlock;
	}
	old = attach->hwpt;
	if (hwpt == old) {
		pthread_rwlock_unlock(&igroup->lock);
		return NULL;
	}
	rc = hwpt_pasid_compat(hwpt, igroup, pasid);
	if (rc)
		goto err_unlock;
	rc = domain_attach(idev, pasid, hwpt->domain, old->domain, true);
	if (rc)
		goto err_unlock;
	attach->hwpt = hwpt;
	sio_fault_auto_response(old, igroup, pasid);
	/* Every device of the attachment now holds the new HWPT; the caller puts one of old */
	atomic_fetch_add(&hwpt->obj.users, attach->ndevs);
	if (attach->ndevs > 1)
		atomic_fetch_sub(&old->obj.users, attach->ndevs - 1);
	sio_dma_attach_changed(igroup);
	pthread_rwlock_unlock(&igroup->lock);
	sio_dma_synchronize();
	return old;
err_unlock:
	pthread_rwlock_unlock(&igroup->lock);
	return ERR_PTR(rc);
}

void sio_hw_pagetable_put(struct sio_ctx *ctx, struct sio_hw_pagetable *hwpt)
{
	if (hwpt->obj.type == SIO_OBJ_HWPT_PAGING && to_hwpt_paging(hwpt)->auto_domain) {
		/* An automatic domain goes away with its last device */
		sio_object_remove(ctx, &hwpt->obj, hwpt->obj.id, SIO_REMOVE_PUT);
		return;
	}
	atomic_fetch_sub(&hwpt->obj.users, 1);
}

typedef struct sio_hw_pagetable *(*attach_fn)(struct sio_device *idev, uint32_t pasid,
					      struct sio_hw_pagetable *hwpt);

static struct sio_hw_pagetable *do_attach(struct sio_device *idev, uint32_t pasid,
					  struct sio_hw_pagetable *hwpt)
{
	int rc = hwpt_attach(hwpt, idev, pasid);

	return rc ? ERR_PTR(rc) : NULL;
}

static struct sio_hw_pagetable *do_replace(struct sio_device *idev, uint32_t pasid,
					   struct sio_hw_pagetable *hwpt)
{
	return hwpt_replace(hwpt, idev, pasid);
}

/*
 * Attach to any existing automatic domain of @ioas that accepts the device (-EINVAL from the
 * driver means "incompatible, try another"), else allocate a new one.
 */
static struct sio_hw_pagetable *auto_get_domain(struct sio_device *idev, uint32_t pasid,
						struct sio_ioas *ioas, uint32_t *pt_id,
						attach_fn fn)
{
	struct sio_hw_pagetable *destroy_hwpt;
	struct sio_hwpt_paging *hwpt_paging;

	pthread_mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt_paging, &ioas->hwpt_list, hwpt_item) {
		struct sio_hw_pagetable *hwpt = &hwpt_paging->common;

		if (!hwpt_paging->auto_domain)
			continue;
		if (!sio_lock_obj(&hwpt->obj))
			continue;
		destroy_hwpt = fn(idev, pasid, hwpt);
		sio_put_object(idev->ctx, &hwpt->obj);
		if (IS_ERR(destroy_hwpt)) {
			if (PTR_ERR(destroy_hwpt) == -EINVAL)
				continue;
			goto out_unlock;
		}
		*pt_id = hwpt->obj.id;
		goto out_unlock;
	}

	hwpt_paging = sio_hwpt_paging_alloc(idev->ctx, ioas, idev, pasid, 0, fn == do_attach,
					    NULL);
	if (IS_ERR(hwpt_paging)) {
		destroy_hwpt = ERR_CAST(hwpt_paging);
		goto out_unlock;
	}
	if (fn != do_attach) {
		destroy_hwpt = fn(idev, pasid, &hwpt_paging->common);
		if (IS_ERR(destroy_hwpt)) {
			sio_object_abort_and_destroy(idev->ctx, &hwpt_paging->common.obj);
			goto out_unlock;
		}
	} else {
		destroy_hwpt = NULL;
	}
	hwpt_paging->auto_domain = true;
	*pt_id = hwpt_paging->common.obj.id;
	sio_object_finalize(idev->ctx, &hwpt_paging->common.obj);
out_unlock:
	pthread_mutex_unlock(&ioas->mutex);
	return destroy_hwpt;
}

static int device_change_pt(struct sio_device *idev, uint32_t pasid, uint32_t *pt_id,
			    attach_fn fn)
{
	struct sio_hw_pagetable *destroy_hwpt;
	struct sio_object *pt_obj;

	pt_obj = sio_get_object(idev->ctx, *pt_id, SIO_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return PTR_ERR(pt_obj);
	switch (pt_obj->type) {
	case SIO_OBJ_HWPT_NESTED:
	case SIO_OBJ_HWPT_PAGING:
		destroy_hwpt = fn(idev, pasid, container_of(pt_obj, struct sio_hw_pagetable, obj));
		break;
	case SIO_OBJ_IOAS:
		destroy_hwpt = auto_get_domain(idev, pasid,
					       container_of(pt_obj, struct sio_ioas, obj), pt_id, fn);
		break;
	default:
		destroy_hwpt = ERR_PTR(-EINVAL);
		break;
	}
	sio_put_object(idev->ctx, pt_obj);
	if (IS_ERR(destroy_hwpt))
		return PTR_ERR(destroy_hwpt);
	if (destroy_hwpt)
		sio_hw_pagetable_put(idev->ctx, destroy_hwpt);
	return 0;
}

/**
 * sio_device_attach() - attach (@idev, @pasid) to an IOAS (automatic domain) or HWPT
 * @pt_id: in: IOAS or HWPT ID; out: the HWPT ID attached to
 */
int sio_device_attach(struct sio_device *idev, uint32_t pasid, uint32_t *pt_id)
{
	int rc = device_change_pt(idev, pasid, pt_id, do_attach);

	if (rc)
		return rc;
	/* Pairs with sio_device_detach(): the attachment keeps the device alive */
	atomic_fetch_add(&idev->obj.users, 1);
	return 0;
}

/* As attach, for an already attached (@idev, @pasid); on failure nothing changed */
int sio_device_replace(struct sio_device *idev, uint32_t pasid, uint32_t *pt_id)
{
	return device_change_pt(idev, pasid, pt_id, do_replace);
}

void sio_device_detach(struct sio_device *idev, uint32_t pasid)
{
	struct sio_hw_pagetable *hwpt = hwpt_detach(idev, pasid);

	if (!hwpt)
		return;
	sio_hw_pagetable_put(idev->ctx, hwpt);
	atomic_fetch_sub(&idev->obj.users, 1);
}

int sio_get_hw_info_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	uint32_t data_len = 0, type = IOMMU_HW_INFO_TYPE_DEFAULT;
	struct sio_device *idev;
	void *data = NULL;
	int rc;

	if (cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		return -EOPNOTSUPP;
	if (cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;
	if (cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		type = cmd->in_data_type;
	idev = sio_get_device(ucmd, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	if (idev->dev->ops->hw_info) {
		data = idev->dev->ops->hw_info(idev->dev, &data_len, &type);
		if (IS_ERR(data)) {
			rc = PTR_ERR(data);
			goto out_put;
		}
	} else {
		if (type != IOMMU_HW_INFO_TYPE_DEFAULT) {
			rc = -EOPNOTSUPP;
			goto out_put;
		}
		type = IOMMU_HW_INFO_TYPE_NONE;
	}
	/* Copy what fits and zero the rest of a larger user buffer */
	if (cmd->data_len) {
		uint32_t copy = data_len < cmd->data_len ? data_len : cmd->data_len;

		rc = sio_copy_to_user(cmd->data_uptr, data, copy);
		if (!rc && cmd->data_len > copy)
			rc = sio_clear_user(cmd->data_uptr + copy, cmd->data_len - copy);
		if (rc)
			goto out_free;
	}
	cmd->data_len = data_len;
	cmd->out_data_type = type;
	cmd->out_capabilities = 0;
	if (sio_dev_capable(idev->dev, SIO_CAP_DIRTY_TRACKING))
		cmd->out_capabilities |= IOMMU_HW_CAP_DIRTY_TRACKING;
	/* No model offers PCI ATS yet */
	cmd->out_capabilities |= IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED;
	cmd->out_max_pasid_log2 = idev->dev->max_pasid_log2;
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	free(data);
out_put:
	sio_put_object(ucmd->ctx, &idev->obj);
	return rc;
}

/* Attach/detach of a HWPT being created (the driver needs the device attached to build it) */
int sio_hw_pagetable_attach_immediate(struct sio_hw_pagetable *hwpt, struct sio_device *idev,
				      uint32_t pasid)
{
	return hwpt_attach(hwpt, idev, pasid);
}

void sio_hw_pagetable_detach_immediate(struct sio_device *idev, uint32_t pasid)
{
	struct sio_hw_pagetable *hwpt = hwpt_detach(idev, pasid);

	if (hwpt)
		atomic_fetch_sub(&hwpt->obj.users, 1);
}

/* Detach every PASID (and the RID) of @idev, as a driver unbinding its device does */
void sio_device_detach_all(struct sio_device *idev)
{
	for (;;) {
		bool found = false;
		uint32_t pasid = 0;

		pthread_rwlock_rdlock(&idev->igroup->lock);
		for (unsigned int i = 0; i != idev->igroup->nattaches && !found; i++) {
			if (attach_has_dev(&idev->igroup->attaches[i], idev)) {
				pasid = idev->igroup->attaches[i].pasid;
				found = true;
			}
		}
		pthread_rwlock_unlock(&idev->igroup->lock);
		if (!found)
			return;
		sio_device_detach(idev, pasid);
	}
}
