// SPDX-License-Identifier: MIT
/* Per-type destroy/abort operations of every object type. */
#include "../sio.h"

void sio_driver_object_destroy(struct sio_object *obj)
{
	struct sio_driver_object *dobj = container_of(obj, struct sio_driver_object, obj);

	if (dobj->destroy)
		dobj->destroy(dobj);
}

const struct sio_object_ops sio_object_ops[SIO_OBJ_MAX] = {
	[SIO_OBJ_ACCESS] = { .destroy = sio_access_destroy_object },
	[SIO_OBJ_DEVICE] = { .pre_destroy = sio_device_pre_destroy,
			     .destroy = sio_device_destroy },
	[SIO_OBJ_FAULT] = { .destroy = sio_fault_destroy },
	[SIO_OBJ_HWPT_PAGING] = { .destroy = sio_hwpt_paging_destroy,
				  .abort = sio_hwpt_paging_abort },
	[SIO_OBJ_HWPT_NESTED] = { .destroy = sio_hwpt_nested_destroy,
				  .abort = sio_hwpt_nested_abort },
	[SIO_OBJ_IOAS] = { .destroy = sio_ioas_destroy },
	[SIO_OBJ_VIOMMU] = { .destroy = sio_viommu_destroy },
	[SIO_OBJ_VDEVICE] = { .destroy = sio_vdevice_destroy, .abort = sio_vdevice_abort },
	[SIO_OBJ_VEVENTQ] = { .destroy = sio_veventq_destroy, .abort = sio_veventq_abort },
	[SIO_OBJ_HW_QUEUE] = { .destroy = sio_hw_queue_destroy },
	[SIO_OBJ_DRIVER] = { .destroy = sio_driver_object_destroy },
};
