// SPDX-License-Identifier: MIT
/*
 * VFIO type1 compatibility: the VFIO container ioctls issued on an iommufd, acting on the
 * context's "compat IOAS" (set with IOMMU_VFIO_IOAS). Type1 (v0) allows unmapping part of a
 * mapping; it is emulated by disabling IOPTEs larger than a page and cutting areas.
 */
#include <linux/vfio.h>

#include "../sio.h"

struct sio_ioas *sio_get_compat_ioas(struct sio_ctx *ctx)
{
	struct sio_ioas *ioas = ERR_PTR(-ENODEV);

	pthread_mutex_lock(&ctx->obj_lock);
	if (ctx->vfio_ioas && atomic_load(&ctx->vfio_ioas->obj.users) > 0 &&
	    ctx->objs[ctx->vfio_ioas->obj.id] == &ctx->vfio_ioas->obj) {
		ioas = ctx->vfio_ioas;
		atomic_fetch_add(&ioas->obj.users, 1);
		atomic_fetch_add(&ioas->obj.shortterm, 1);
	}
	pthread_mutex_unlock(&ctx->obj_lock);
	return ioas;
}

int sio_vfio_ioas_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct sio_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		ioas = sio_get_compat_ioas(ucmd->ctx);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		cmd->ioas_id = ioas->obj.id;
		sio_put_object(ucmd->ctx, &ioas->obj);
		return sio_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = sio_get_ioas(ucmd->ctx, cmd->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		pthread_mutex_lock(&ucmd->ctx->obj_lock);
		ucmd->ctx->vfio_ioas = ioas;
		pthread_mutex_unlock(&ucmd->ctx->obj_lock);
		sio_put_object(ucmd->ctx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		pthread_mutex_lock(&ucmd->ctx->obj_lock);
		ucmd->ctx->vfio_ioas = NULL;
		pthread_mutex_unlock(&ucmd->ctx->obj_lock);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int vfio_map_dma(struct sio_ctx *ctx, uint64_t arg)
{
	uint32_t supported = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map map;
	int prot = SIO_PROT_CACHE, rc;
	struct sio_ioas *ioas;
	uint64_t iova;

	if (sio_copy_from_user(&map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz || map.flags & ~supported)
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= SIO_PROT_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= SIO_PROT_WRITE;
	ioas = sio_get_compat_ioas(ctx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	iova = map.iova;
	rc = iopt_map_user_pages(ctx, &ioas->iopt, &iova, map.vaddr, map.size, prot, 0);
	sio_put_object(ctx, &ioas->obj);
	return rc;
}

static int vfio_unmap_dma(struct sio_ctx *ctx, uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap unmap;
	uint64_t unmapped = 0;
	struct sio_ioas *ioas;
	int rc;

	if (sio_copy_from_user(&unmap, arg, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz || unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;
	ioas = sio_get_compat_ioas(ctx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova != 0 || unmap.size != 0) {
			rc = -EINVAL;
			goto out_put;
		}
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else {
		if (__atomic_load_n(&ioas->iopt.disable_large_pages, __ATOMIC_RELAXED)) {
			uint64_t iovas[] = { unmap.iova + unmap.size - 1, unmap.iova - 1 };

			rc = iopt_cut_iova(&ioas->iopt, iovas, unmap.iova ? 2 : 1);
			if (rc)
				goto out_put;
		}
		rc = iopt_unmap_iova(&ioas->iopt, unmap.iova, unmap.size, &unmapped);
	}
	unmap.size = unmapped;
	if (sio_copy_to_user(arg, &unmap, minsz))
		rc = -EFAULT;
out_put:
	sio_put_object(ctx, &ioas->obj);
	return rc;
}

static int vfio_cc_iommu(struct sio_ctx *ctx)
{
	struct sio_hwpt_paging *hwpt_paging;
	struct sio_ioas *ioas = sio_get_compat_ioas(ctx);
	int rc = 1;

	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	pthread_mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt_paging, &ioas->hwpt_list, hwpt_item) {
		if (!hwpt_paging->enforce_cache_coherency) {
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&ioas->mutex);
	sio_put_object(ctx, &ioas->obj);
	return rc;
}

static int vfio_check_extension(struct sio_ctx *ctx, unsigned long type)
{
	switch (type) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		return vfio_cc_iommu(ctx);
	default:
		return 0;
	}
}

static int vfio_set_iommu(struct sio_ctx *ctx, unsigned long type)
{
	struct sio_ioas *ioas;
	int rc = 0;

	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	ioas = sio_get_compat_ioas(ctx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (type == VFIO_TYPE1_IOMMU)
		rc = iopt_disable_large_pages(&ioas->iopt);
	sio_put_object(ctx, &ioas->obj);
	return rc;
}

static uint64_t vfio_pagesizes(struct sio_ioas *ioas)
{
	struct io_pagetable *iopt = &ioas->iopt;
	uint64_t pgsizes = UINT64_MAX;

	pthread_rwlock_wrlock(&iopt->lock);
	for (size_t i = 0; i != iopt->ndomains; i++)
		pgsizes &= iopt->domains[i]->pgsize_bitmap;
	if (pgsizes & ~SIO_PAGE_MASK) {
		pgsizes &= SIO_PAGE_MASK;
		pgsizes |= SIO_PAGE_SIZE;
	}
	pgsizes = max_t(uint64_t, pgsizes, iopt->iova_alignment);
	pthread_rwlock_unlock(&iopt->lock);
	return pgsizes;
}

static int fill_cap_dma_avail(struct sio_ioas *ioas, uint64_t ucap, size_t avail)
{
	struct vfio_iommu_type1_info_dma_avail cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
		.avail = UINT32_MAX,
	};

	if (avail >= sizeof(cap) && sio_copy_to_user(ucap, &cap, sizeof(cap)))
		return -EFAULT;
	return sizeof(cap);
}

static int fill_cap_iova(struct sio_ioas *ioas, uint64_t ucap, size_t avail)
{
	struct vfio_iommu_type1_info_cap_iova_range cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1 },
	};
	size_t hdr = offsetof(struct vfio_iommu_type1_info_cap_iova_range, iova_ranges);
	struct iopt_range ranges[64];
	ssize_t nr = iopt_iova_ranges(&ioas->iopt, ranges, ARRAY_SIZE(ranges));
	size_t n;

	if (nr < 0)
		return nr;
	n = nr;
	if (n > ARRAY_SIZE(ranges))
		n = ARRAY_SIZE(ranges);
	for (size_t i = 0; i != n; i++) {
		struct vfio_iova_range r = { .start = ranges[i].start, .end = ranges[i].last };

		if (avail >= hdr + (i + 1) * sizeof(r) &&
		    sio_copy_to_user(ucap + hdr + i * sizeof(r), &r, sizeof(r)))
			return -EFAULT;
	}
	cap.nr_iovas = n;
	if (avail >= hdr + n * sizeof(struct vfio_iova_range) &&
	    sio_copy_to_user(ucap, &cap, sizeof(cap)))
		return -EFAULT;
	return hdr + n * sizeof(struct vfio_iova_range);
}

static int vfio_iommu_get_info(struct sio_ctx *ctx, uint64_t arg)
{
	typedef int (*fill_cap_fn)(struct sio_ioas *ioas, uint64_t ucap, size_t avail);
	static const fill_cap_fn fill_fns[] = { fill_cap_dma_avail, fill_cap_iova };
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info info = {};
	uint64_t last_cap = 0;
	size_t total_cap_size;
	struct sio_ioas *ioas;
	int rc = 0;

	if (sio_copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	minsz = min_t(size_t, info.argsz, sizeof(info));
	ioas = sio_get_compat_ioas(ctx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = vfio_pagesizes(ioas);
	info.cap_offset = 0;
	total_cap_size = sizeof(info);
	for (size_t i = 0; i != ARRAY_SIZE(fill_fns); i++) {
		int cap_size;

		if (info.argsz > total_cap_size)
			cap_size = fill_fns[i](ioas, arg + total_cap_size,
					       info.argsz - total_cap_size);
		else
			cap_size = fill_fns[i](ioas, 0, 0);
		if (cap_size < 0) {
			rc = cap_size;
			goto out_put;
		}
		cap_size = ALIGN_UP(cap_size, (int)sizeof(uint64_t));
		if (last_cap && info.argsz >= total_cap_size) {
			uint32_t next = total_cap_size;

			if (sio_copy_to_user(last_cap + offsetof(struct vfio_info_cap_header, next),
					     &next, sizeof(next))) {
				rc = -EFAULT;
				goto out_put;
			}
		}
		last_cap = arg + total_cap_size;
		total_cap_size += cap_size;
	}
	if (info.argsz >= total_cap_size)
		info.cap_offset = sizeof(info);
	info.argsz = total_cap_size;
	info.flags |= VFIO_IOMMU_INFO_CAPS;
	if (sio_copy_to_user(arg, &info, minsz))
		rc = -EFAULT;
out_put:
	sio_put_object(ctx, &ioas->obj);
	return rc;
}

long sio_vfio_ioctl(struct sio_ctx *ctx, unsigned long cmd, uint64_t arg)
{
	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_SET_IOMMU:
		return vfio_set_iommu(ctx, arg);
	case VFIO_CHECK_EXTENSION:
		return vfio_check_extension(ctx, arg);
	case VFIO_IOMMU_GET_INFO:
		return vfio_iommu_get_info(ctx, arg);
	case VFIO_IOMMU_MAP_DMA:
		return vfio_map_dma(ctx, arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return vfio_unmap_dma(ctx, arg);
	default:
		return -ENOTTY;
	}
}
