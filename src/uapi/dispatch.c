// SPDX-License-Identifier: MIT
/*
 * The uAPI dispatcher (layer 2): one table of iommufd commands with each struct's size and
 * last mandatory field. The kernel's copy rules are applied here, once, for every command:
 *  - the leading __u32 size is read first (a bad pointer is EFAULT);
 *  - size below the end of the last mandatory field is EINVAL;
 *  - a size larger than ours needs an all-zero tail, else E2BIG; a smaller one is zero-extended;
 *  - handlers respond with min(user size, struct size) bytes (sio_ucmd_respond);
 *  - an object a handler allocated with sio_object_alloc_ucmd() is finalized on success and
 *    aborted on failure.
 * Numbers the core has no entry for may be a driver's extension (the mock's IOMMU_TEST_CMD,
 * found through the driver registry), handled with the same rules. Otherwise, numbers outside
 * the iommufd range go to the VFIO type1 compatibility layer; numbers in the range without
 * an entry are ENOTTY (the kernel's ENOIOCTLCMD).
 */
#include <linux/iommufd.h>

#include "../core/sio.h"
#include "dispatch.h"

struct sio_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct sio_ucmd *ucmd);
};

int sio_fault_alloc_ioctl(struct sio_ucmd *ucmd);
int sio_viommu_alloc_ioctl(struct sio_ucmd *ucmd);
int sio_vdevice_alloc_ioctl(struct sio_ucmd *ucmd);
int sio_veventq_alloc_ioctl(struct sio_ucmd *ucmd);
int sio_hw_queue_alloc_ioctl(struct sio_ucmd *ucmd);

#define IOCTL_OP(_ioctl, _fn, _struct, _last)                                             \
	[_IOC_NR(_ioctl) - IOMMUFD_CMD_BASE] = {                                           \
		.size = sizeof(_struct),                                                   \
		.min_size = offsetofend(_struct, _last),                                   \
		.ioctl_num = _ioctl,                                                       \
		.execute = _fn,                                                            \
	}

static const struct sio_ioctl_op sio_ioctl_ops[] = {
	IOCTL_OP(IOMMU_DESTROY, sio_destroy_ioctl, struct iommu_destroy, id),
	IOCTL_OP(IOMMU_FAULT_QUEUE_ALLOC, sio_fault_alloc_ioctl, struct iommu_fault_alloc,
		 out_fault_fd),
	IOCTL_OP(IOMMU_GET_HW_INFO, sio_get_hw_info_ioctl, struct iommu_hw_info, __reserved),
	IOCTL_OP(IOMMU_HW_QUEUE_ALLOC, sio_hw_queue_alloc_ioctl, struct iommu_hw_queue_alloc,
		 length),
	IOCTL_OP(IOMMU_HWPT_ALLOC, sio_hwpt_alloc_ioctl, struct iommu_hwpt_alloc, __reserved),
	IOCTL_OP(IOMMU_HWPT_GET_DIRTY_BITMAP, sio_hwpt_get_dirty_bitmap_ioctl,
		 struct iommu_hwpt_get_dirty_bitmap, data),
	IOCTL_OP(IOMMU_HWPT_INVALIDATE, sio_hwpt_invalidate_ioctl, struct iommu_hwpt_invalidate,
		 __reserved),
	IOCTL_OP(IOMMU_HWPT_SET_DIRTY_TRACKING, sio_hwpt_set_dirty_tracking_ioctl,
		 struct iommu_hwpt_set_dirty_tracking, __reserved),
	IOCTL_OP(IOMMU_IOAS_ALLOC, sio_ioas_alloc_ioctl, struct iommu_ioas_alloc, out_ioas_id),
	IOCTL_OP(IOMMU_IOAS_ALLOW_IOVAS, sio_ioas_allow_iovas, struct iommu_ioas_allow_iovas,
		 allowed_iovas),
	IOCTL_OP(IOMMU_IOAS_CHANGE_PROCESS, sio_ioas_change_process,
		 struct iommu_ioas_change_process, __reserved),
	IOCTL_OP(IOMMU_IOAS_COPY, sio_ioas_copy, struct iommu_ioas_copy, src_iova),
	IOCTL_OP(IOMMU_IOAS_IOVA_RANGES, sio_ioas_iova_ranges, struct iommu_ioas_iova_ranges,
		 out_iova_alignment),
	IOCTL_OP(IOMMU_IOAS_MAP, sio_ioas_map, struct iommu_ioas_map, iova),
	IOCTL_OP(IOMMU_IOAS_MAP_FILE, sio_ioas_map_file, struct iommu_ioas_map_file, iova),
	IOCTL_OP(IOMMU_IOAS_UNMAP, sio_ioas_unmap, struct iommu_ioas_unmap, length),
	IOCTL_OP(IOMMU_OPTION, sio_option_ioctl, struct iommu_option, val64),
	IOCTL_OP(IOMMU_VDEVICE_ALLOC, sio_vdevice_alloc_ioctl, struct iommu_vdevice_alloc,
		 virt_id),
	IOCTL_OP(IOMMU_VEVENTQ_ALLOC, sio_veventq_alloc_ioctl, struct iommu_veventq_alloc,
		 out_veventq_fd),
	IOCTL_OP(IOMMU_VFIO_IOAS, sio_vfio_ioas_ioctl, struct iommu_vfio_ioas, __reserved),
	IOCTL_OP(IOMMU_VIOMMU_ALLOC, sio_viommu_alloc_ioctl, struct iommu_viommu_alloc,
		 out_viommu_id),
};

/* A number in the iommufd range that nothing handles */
static const struct sio_ioctl_op no_op;

/* Large enough for every command struct in the table */
union ucmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_fault_alloc fault;
	struct iommu_hw_info info;
	struct iommu_hw_queue_alloc hw_queue;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_hwpt_get_dirty_bitmap get_dirty_bitmap;
	struct iommu_hwpt_invalidate cache;
	struct iommu_hwpt_set_dirty_tracking set_dirty_tracking;
	struct iommu_ioas_alloc alloc;
	struct iommu_ioas_allow_iovas allow_iovas;
	struct iommu_ioas_copy ioas_copy;
	struct iommu_ioas_iova_ranges iova_ranges;
	struct iommu_ioas_map map;
	struct iommu_ioas_map_file map_file;
	struct iommu_ioas_unmap unmap;
	struct iommu_ioas_change_process change_process;
	struct iommu_option option;
	struct iommu_vdevice_alloc vdev;
	struct iommu_veventq_alloc veventq;
	struct iommu_vfio_ioas vfio_ioas;
	struct iommu_viommu_alloc viommu;
	uint64_t ext[SIO_UAPI_EXT_MAX_SIZE / 8];
};

long sio_dispatch_ioctl(struct sio_ctx *ctx, unsigned long cmd, uint64_t arg)
{
	const struct sio_ioctl_op *op = NULL;
	struct sio_ucmd ucmd = { .ctx = ctx, .mm = sio_current_mm(), .ubuffer = arg };
	const struct sio_uapi_ext *ext;
	struct sio_ioctl_op ext_op;
	union ucmd_buffer buf;
	unsigned int nr = _IOC_NR(cmd);
	size_t got;
	int rc;

	if (nr >= IOMMUFD_CMD_BASE && nr - IOMMUFD_CMD_BASE < ARRAY_SIZE(sio_ioctl_ops))
		op = &sio_ioctl_ops[nr - IOMMUFD_CMD_BASE];
	if ((!op || !op->execute) && nr >= IOMMUFD_CMD_BASE && (ext = sio_driver_find_ext(nr))) {
		ext_op = (struct sio_ioctl_op){ .size = ext->size, .min_size = ext->min_size,
						.ioctl_num = ext->ioctl_num,
						.execute = ext->execute };
		op = &ext_op;
	}
	/* Numbers below the highest extension's are in the iommufd range, as in Linux's table */
	if (!op && (nr < IOMMUFD_CMD_BASE || nr >= sio_driver_ext_nr_end()))
		return sio_vfio_ioctl(ctx, cmd, arg);
	if (!op)
		op = &no_op;

	/*
	 * Fast path: one read of the whole struct as we know it. When the user buffer is
	 * shorter than that (or ends at an unmapped page) fall back to the kernel's exact
	 * sequence: read the size, then copy_struct_from_user.
	 */
	got = op->size ? sio_copy_from_user_partial(&buf, arg, op->size) : 0;
	if (got >= sizeof(ucmd.user_size))
		memcpy(&ucmd.user_size, &buf, sizeof(ucmd.user_size));
	else if ((rc = sio_copy_from_user(&ucmd.user_size, arg, sizeof(ucmd.user_size))))
		return rc;

	if (op->ioctl_num != cmd)
		return -ENOTTY;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;

	ucmd.cmd = &buf;
	if (ucmd.user_size == op->size && got == op->size) {
		/* Already have it all */
	} else if (ucmd.user_size < op->size && got >= ucmd.user_size) {
		memset((char *)&buf + ucmd.user_size, 0, op->size - ucmd.user_size);
	} else {
		rc = sio_copy_struct_from_user(&buf, op->size, arg, ucmd.user_size);
		if (rc)
			return rc;
	}
	rc = op->execute(&ucmd);

	if (ucmd.new_obj) {
		if (rc < 0)
			sio_object_abort_and_destroy(ctx, ucmd.new_obj);
		else
			sio_object_finalize(ctx, ucmd.new_obj);
	}
	return rc;
}
