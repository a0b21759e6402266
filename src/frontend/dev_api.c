// SPDX-License-Identifier: MIT
/*
 * The C API for device models (layer 1): emulated devices bound to an iommufd and their DMA.
 * A front-end only: it finds the context and hands over to the core (binding, attaching) and
 * to the DMA path (layer 7).
 */
#include <errno.h>
#include <string.h>

#include <softiommu/softiommu.h>

#include "../core/file.h"
#include "../core/sio.h"
#include "../dma/dma.h"
#include "daemon/serve.h"

/*
 * @attach_lock: serialises this device's attach/replace/detach through the API, so that the
 * choice between attach and replace and the change itself happen as one step
 */
struct softiommu_dev {
	struct sio_ctx *ctx;
	struct sio_dev *sdev;
	struct sio_device *idev;
	pthread_mutex_t attach_lock;
	struct sio_iotlb *iotlb; /* NULL: every DMA walks */
	struct sio_remote_dev *remote; /* a daemon's device (daemon/client.c): nothing else set */
};

_Static_assert(sizeof(struct softiommu_dma_seg) == sizeof(struct sio_dma_seg) &&
		       offsetof(struct softiommu_dma_seg, iova) == offsetof(struct sio_dma_seg, iova) &&
		       offsetof(struct softiommu_dma_seg, buf) == offsetof(struct sio_dma_seg, buf) &&
		       offsetof(struct softiommu_dma_seg, len) == offsetof(struct sio_dma_seg, len),
	       "the public scatter segment is the DMA path's");

int softiommu_dev_create(int iommufd, const char *model, unsigned int flags,
			 struct softiommu_dev **out, unsigned int *dev_id)
{
	struct softiommu_dev *d;
	uint32_t id;
	int rc;

	if (!model || !sio_driver_find(model))
		return -ENODEV;
	d = sio_zalloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	/* The device holds the context as a bound VFIO device does (ctx_from_fd takes a ref) */
	d->ctx = sio_ctx_from_fd(iommufd);
	if (!d->ctx) {
		rc = sio_file_is_fd(iommufd) ? -EINVAL : -EBADF;
		goto err_free;
	}
	d->sdev = sio_driver_dev_create(model, flags);
	if (IS_ERR(d->sdev)) {
		rc = PTR_ERR(d->sdev);
		goto err_ctx;
	}
	d->idev = sio_device_bind(d->ctx, d->sdev, &id);
	if (IS_ERR(d->idev)) {
		rc = PTR_ERR(d->idev);
		goto err_mdev;
	}
	sio_mutex_init(&d->attach_lock, SIO_LOCK_DEV_API);
	/* Without one the device still works, only slower */
	d->iotlb = sio_iotlb_alloc(&d->idev->igroup->dma_gen);
	*out = d;
	if (dev_id)
		*dev_id = id;
	return 0;
err_mdev:
	sio_driver_dev_destroy(d->sdev);
err_ctx:
	sio_ctx_put(d->ctx);
err_free:
	sio_free(d);
	return rc;
}

int softiommu_dev_open_remote(int iommufd, unsigned int dev_id, struct softiommu_dev **out)
{
	struct softiommu_dev *d = out ? sio_zalloc(sizeof(*d)) : NULL;
	int rc;

	if (!d)
		return out ? -ENOMEM : -EINVAL;
	rc = sio_remote_dev_open(iommufd, dev_id, &d->remote);
	if (rc) {
		sio_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int softiommu_dev_attach(struct softiommu_dev *d, unsigned int pasid, unsigned int *pt_id)
{
	uint32_t id = *pt_id;
	int rc;

	if (d->remote)
		return -EOPNOTSUPP;

	pthread_mutex_lock(&d->attach_lock);
	if (sio_device_pasid_hwpt(d->idev, pasid))
		rc = sio_device_replace(d->idev, pasid, &id);
	else
		rc = sio_device_attach(d->idev, pasid, &id);
	pthread_mutex_unlock(&d->attach_lock);
	if (!rc)
		*pt_id = id;
	return rc;
}

int softiommu_dev_detach(struct softiommu_dev *d, unsigned int pasid)
{
	int rc = 0;

	if (d->remote)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&d->attach_lock);
	if (sio_device_pasid_hwpt(d->idev, pasid))
		sio_device_detach(d->idev, pasid);
	else
		rc = -ENOENT;
	pthread_mutex_unlock(&d->attach_lock);
	return rc;
}

void softiommu_dev_destroy(struct softiommu_dev *d)
{
	if (!d)
		return;
	if (d->remote) {
		sio_remote_dev_free(d->remote);
		sio_free(d);
		return;
	}
	sio_device_detach_all(d->idev);
	sio_device_unbind(d->idev);
	/* Detaching waited out every DMA that could still look at it */
	sio_iotlb_free(d->iotlb);
	sio_driver_dev_destroy(d->sdev);
	sio_ctx_put(d->ctx);
	pthread_mutex_destroy(&d->attach_lock);
	sio_free(d);
}

int softiommu_dma_read(struct softiommu_dev *d, unsigned int pasid, unsigned long long iova,
		       void *buf, size_t len)
{
	if (d->remote)
		return sio_remote_dev_rwv(d->remote, pasid,
					  &(struct softiommu_dma_seg){ iova, buf, len }, 1, false,
					  NULL);
	return sio_dma_rw(d->idev, d->iotlb, pasid, iova, buf, len, false, NULL);
}

int softiommu_dma_write(struct softiommu_dev *d, unsigned int pasid, unsigned long long iova,
			const void *buf, size_t len)
{
	if (d->remote)
		return sio_remote_dev_rwv(d->remote, pasid,
					  &(struct softiommu_dma_seg){ iova, (void *)buf, len }, 1,
					  true, NULL);
	return sio_dma_rw(d->idev, d->iotlb, pasid, iova, (void *)buf, len, true, NULL);
}

int softiommu_dma_readv(struct softiommu_dev *d, unsigned int pasid,
			const struct softiommu_dma_seg *segs, unsigned int nr, size_t *moved)
{
	if (moved)
		*moved = 0;
	if (!segs)
		return -EINVAL;
	if (d->remote)
		return sio_remote_dev_rwv(d->remote, pasid, segs, nr, false, moved);
	return sio_dma_rwv(d->idev, d->iotlb, pasid, (const struct sio_dma_seg *)segs, nr, false,
			   moved, NULL);
}

int softiommu_dma_writev(struct softiommu_dev *d, unsigned int pasid,
			 const struct softiommu_dma_seg *segs, unsigned int nr, size_t *moved)
{
	if (moved)
		*moved = 0;
	if (!segs)
		return -EINVAL;
	if (d->remote)
		return sio_remote_dev_rwv(d->remote, pasid, segs, nr, true, moved);
	return sio_dma_rwv(d->idev, d->iotlb, pasid, (const struct sio_dma_seg *)segs, nr, true,
			   moved, NULL);
}

unsigned long softiommu_dma_unhandled_faults(void)
{
	return sio_dma_unhandled_faults();
}
