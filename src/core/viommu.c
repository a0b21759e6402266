// SPDX-License-Identifier: MIT
/*
 * vIOMMU, vDEVICE, vEVENTQ and HW queue objects.
 *
 * NOT DONE YET: these object types land with the vIOMMU/nesting issue. Until then their
 * allocation ioctls validate what they can without the objects and answer EOPNOTSUPP, which is
 * what Linux answers when the IOMMU driver has no support for them; nothing is allocated, so
 * there is nothing to leak. The destroy hooks below exist only so the object-ops table is
 * complete.
 */
#include "sio.h"
#include "file.h"

void sio_device_remove_vdev(struct sio_device *idev)
{
	(void)idev;
}

int sio_viommu_alloc_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_viommu_alloc *cmd = ucmd->cmd;

	if (cmd->flags || cmd->type == IOMMU_VIOMMU_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	return -EOPNOTSUPP;
}

int sio_vdevice_alloc_ioctl(struct sio_ucmd *ucmd)
{
	struct sio_object *obj;
	struct iommu_vdevice_alloc *cmd = ucmd->cmd;

	obj = sio_get_object(ucmd->ctx, cmd->viommu_id, SIO_OBJ_VIOMMU);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	sio_put_object(ucmd->ctx, obj);
	return -EOPNOTSUPP;
}

int sio_veventq_alloc_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_veventq_alloc *cmd = ucmd->cmd;
	struct sio_object *obj;

	if (cmd->flags || cmd->__reserved)
		return -EOPNOTSUPP;
	obj = sio_get_object(ucmd->ctx, cmd->viommu_id, SIO_OBJ_VIOMMU);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	sio_put_object(ucmd->ctx, obj);
	return -EOPNOTSUPP;
}

int sio_hw_queue_alloc_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_hw_queue_alloc *cmd = ucmd->cmd;
	struct sio_object *obj;

	if (cmd->flags)
		return -EOPNOTSUPP;
	obj = sio_get_object(ucmd->ctx, cmd->viommu_id, SIO_OBJ_VIOMMU);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	sio_put_object(ucmd->ctx, obj);
	return -EOPNOTSUPP;
}

struct sio_hwpt_nested *sio_viommu_alloc_hwpt_nested(struct sio_ctx *ctx,
						     struct sio_object *viommu_obj,
						     struct sio_device *idev, uint32_t flags,
						     const struct sio_user_data *user_data)
{
	return ERR_PTR(-EOPNOTSUPP);
}

int sio_viommu_cache_invalidate(struct sio_object *viommu_obj, struct sio_user_data_array *a)
{
	a->entry_num = 0;
	return -EOPNOTSUPP;
}

void sio_viommu_destroy(struct sio_object *obj) { (void)obj; }
void sio_vdevice_destroy(struct sio_object *obj) { (void)obj; }
void sio_veventq_destroy(struct sio_object *obj) { (void)obj; }
void sio_hw_queue_destroy(struct sio_object *obj) { (void)obj; }

int sio_ctx_mmap(struct sio_file *f, void *addr, size_t len, int prot, int flags, off_t off,
		 void **out)
{
	/* No object registers an mmap region yet (the mock vIOMMU's page comes with vIOMMU) */
	return -ENXIO;
}
