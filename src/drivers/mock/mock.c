// SPDX-License-Identifier: MIT
/*
 * The mock IOMMU driver: devices, the blocked domain, paging domains backed by the pt
 * library, nested domains, hw_info and capabilities — behaving as Linux's selftest mock.
 */
#include <stdio.h>

#include "mock.h"
#include "../../model/model.h"

enum {
	MOCK_APERTURE_HUGE_LAST = (1ULL << 38) - 1, /* top level 2 of 2 KiB pages */
	MOCK_APERTURE_VMM_LAST = (1ULL << 48) - 1, /* inside top level 4 (56 bits) */
	MOCK_PGSIZE_BITMAP = ((1ULL << 37) - 1) & ~((1ULL << 11) - 1), /* 2 KiB .. 64 GiB */
};

static atomic_int mock_dev_ids;

/* The blocked domain: attach always succeeds, translation always blocks */
static int mock_blocked_attach(struct sio_domain *domain, struct sio_dev *dev,
			       struct sio_domain *old)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	pthread_rwlock_wrlock(&mdev->viommu_rwsem);
	mdev->viommu = NULL;
	mdev->vdev_id = 0;
	pthread_rwlock_unlock(&mdev->viommu_rwsem);
	return 0;
}

static int mock_set_dev_pasid(struct sio_domain *domain, struct sio_dev *dev, uint32_t pasid,
			      struct sio_domain *old)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	/*
	 * PASID IOMMU_TEST_PASID_RESERVED: the first attach arms a fake error that the next
	 * non-blocking attach returns, to exercise the core's rollback on replace.
	 */
	if (pasid == IOMMU_TEST_PASID_RESERVED) {
		if (domain->type == SIO_DOMAIN_BLOCKED)
			atomic_store(&mdev->pasid_1024_fake_error, 0);
		else if (atomic_exchange(&mdev->pasid_1024_fake_error, 0))
			return -ENOMEM;
		else
			atomic_store(&mdev->pasid_1024_fake_error, 1);
	}
	return 0;
}

static const struct sio_domain_ops mock_blocked_ops = {
	.attach_dev = mock_blocked_attach,
	.set_dev_pasid = mock_set_dev_pasid,
};

static struct sio_domain mock_blocked_domain = {
	.type = SIO_DOMAIN_BLOCKED,
	.ops = &mock_blocked_ops,
};

static int mock_domain_attach(struct sio_domain *domain, struct sio_dev *dev,
			      struct sio_domain *old)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	struct mock_viommu *new_viommu = NULL;
	uint64_t vdev_id = 0;
	int rc;

	if (domain->dirty_ops && (mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return -EINVAL;
	/* A nested domain of a vIOMMU needs the device's virtual ID on it */
	if (domain->type == SIO_DOMAIN_NESTED) {
		new_viommu = container_of(domain, struct mock_domain_nested, domain)->mock_viommu;
		if (new_viommu) {
			rc = sio_viommu_get_vdev_id(&new_viommu->core, dev, &vdev_id);
			if (rc)
				return rc;
		}
	}
	/*
	 * As Linux's mock, the virtual ID is taken only when the vIOMMU changes: moving between
	 * nested domains of one vIOMMU keeps the ID the device had (even of a vDEVICE since
	 * destroyed and made again), and events keep reporting it.
	 */
	if (new_viommu != mdev->viommu) {
		pthread_rwlock_wrlock(&mdev->viommu_rwsem);
		mdev->viommu = new_viommu;
		mdev->vdev_id = vdev_id;
		pthread_rwlock_unlock(&mdev->viommu_rwsem);
	}
	return 0;
}

static int mock_domain_map(struct sio_domain *domain, uint64_t iova, uint64_t pa, uint64_t len,
			   int prot, uint64_t pgsize_bitmap)
{
	struct mock_domain *d = to_mock_domain(domain);

	return sio_model_pt_map(d->pt, d->pt_pgsizes, iova, pa, len, prot, pgsize_bitmap);
}

static uint64_t mock_domain_unmap(struct sio_domain *domain, uint64_t iova, uint64_t len)
{
	return sio_model_pt_unmap(to_mock_domain(domain)->pt, iova, len);
}

static int mock_domain_iova_to_phys(struct sio_domain *domain, uint64_t iova, uint64_t *pa)
{
	return pt_iova_to_phys(to_mock_domain(domain)->pt, iova, pa, NULL, NULL);
}

/* The DMA path: walk the mock table as the hardware would (the shared walk driver) */
static int mock_walk(struct mock_domain *mock, const struct sio_dma_req *req,
		     struct sio_dma_xlate *xlate, struct sio_dma_fault *fault)
{
	/* The mock sets no access or dirty flag on a DMA: the IOTLB may serve all it allows */
	return sio_model_walk(mock->pt, NULL, req, xlate, fault);
}

static int mock_domain_translate(struct sio_domain *domain, const struct sio_dma_req *req,
				 struct sio_dma_xlate *xlate, struct sio_dma_fault *fault)
{
	return mock_walk(to_mock_domain(domain), req, xlate, fault);
}

static void mock_domain_free(struct sio_domain *domain)
{
	struct mock_domain *mock = to_mock_domain(domain);

	pt_table_free(mock->pt);
	sio_free(mock);
}

static const struct sio_domain_ops mock_paging_ops = {
	.attach_dev = mock_domain_attach,
	.set_dev_pasid = mock_set_dev_pasid,
	.map = mock_domain_map,
	.unmap = mock_domain_unmap,
	.iova_to_phys = mock_domain_iova_to_phys,
	.translate = mock_domain_translate,
	.free = mock_domain_free,
};

static int mock_set_dirty_tracking(struct sio_domain *domain, bool enable)
{
	struct mock_domain *mock = to_mock_domain(domain);

	if (enable && !domain->dirty_ops)
		return -EINVAL;
	mock->dirty_tracking = enable;
	return 0;
}

struct dirty_fwd {
	struct sio_dirty_bitmap *bitmap;
};

static void dirty_record(void *priv, uint64_t iova, uint64_t len)
{
	struct dirty_fwd *f = priv;

	f->bitmap->record(f->bitmap, iova, len);
}

static int mock_read_and_clear_dirty(struct sio_domain *domain, uint64_t iova, uint64_t len,
				     unsigned int flags, struct sio_dirty_bitmap *bitmap)
{
	struct mock_domain *mock = to_mock_domain(domain);
	struct dirty_fwd f = { bitmap };

	return pt_read_and_clear_dirty(mock->pt, iova, len,
				       (flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ?
					       PT_DIRTY_NO_CLEAR : 0,
				       dirty_record, &f);
}

static const struct sio_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_set_dirty_tracking,
	.read_and_clear_dirty = mock_read_and_clear_dirty,
};

bool mock_is_paging(struct sio_domain *domain)
{
	return domain->ops == &mock_paging_ops;
}

static struct sio_domain *mock_alloc_pgtable(const struct iommu_hwpt_selftest *cfg,
					     uint32_t flags, bool vmm)
{
	/* a VMM's device (MOCK_DEV_VMM_APERTURE): 48 bits from 0, what QEMU's vIOMMUs expect */
	struct pt_cfg pcfg = { .fmt = PT_FMT_MOCK, .top_level = vmm ? 4 : 2 };
	struct mock_domain *mock;
	int rc;

	if (cfg->pagetable_type != MOCK_IOMMUPT_DEFAULT &&
	    cfg->pagetable_type != MOCK_IOMMUPT_HUGE)
		return ERR_PTR(-EOPNOTSUPP);
	mock = sio_zalloc(sizeof(*mock));
	if (!mock)
		return ERR_PTR(-ENOMEM);
	rc = pt_table_alloc(&pcfg, &mock->pt);
	if (rc) {
		sio_free(mock);
		return ERR_PTR(rc);
	}
	mock->pt_pgsizes = pt_pgsize_bitmap(mock->pt);
	mock->domain.type = SIO_DOMAIN_PAGING;
	mock->domain.ops = &mock_paging_ops;
	/*
	 * The page sizes advertised are Linux's mock (an AMDv1-format table with a 2 KiB granule
	 * offers every power of two from 2 KiB to 64 GiB); the table itself holds 2 KiB, 1 MiB
	 * and 512 MiB leaves, and mock_domain_map() narrows what it is asked to those.
	 */
	mock->domain.pgsize_bitmap = MOCK_PGSIZE_BITMAP;
	mock->domain.aperture_start = 0;
	mock->domain.aperture_end = MOCK_APERTURE_HUGE_LAST;
	/* Huge mode only offers huge pages, plus PAGE_SIZE so iommufd accepts the domain */
	if (cfg->pagetable_type == MOCK_IOMMUPT_HUGE)
		mock->domain.pgsize_bitmap = MOCK_HUGE_PAGE_SIZE | SIO_PAGE_SIZE;
	if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
		mock->domain.dirty_ops = &mock_dirty_ops;
	if (vmm)
		mock->domain.aperture_end = MOCK_APERTURE_VMM_LAST;
	/* The default mock narrows its aperture for the tests */
	else if (cfg->pagetable_type == MOCK_IOMMUPT_DEFAULT) {
		mock->domain.aperture_start = MOCK_APERTURE_START;
		mock->domain.aperture_end = MOCK_APERTURE_LAST;
	}
	return &mock->domain;
}

static struct sio_domain *mock_alloc_paging_flags(struct sio_dev *dev, uint32_t flags,
						  const struct sio_user_data *user_data)
{
	const uint32_t paging_flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
				      IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_PASID;
	bool no_dirty = to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY;
	struct iommu_hwpt_selftest cfg = {};
	int rc;

	if ((flags & ~paging_flags) || ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && no_dirty))
		return ERR_PTR(-EOPNOTSUPP);
	if (user_data && user_data->type != IOMMU_HWPT_DATA_SELFTEST &&
	    user_data->type != IOMMU_HWPT_DATA_NONE)
		return ERR_PTR(-EOPNOTSUPP);
	if (user_data) {
		rc = sio_copy_struct_from_user_data(&cfg, sizeof(cfg), user_data,
						    IOMMU_HWPT_DATA_SELFTEST,
						    offsetofend(struct iommu_hwpt_selftest, iotlb));
		if (rc)
			return ERR_PTR(rc);
	}
	return mock_alloc_pgtable(&cfg, flags, to_mock_dev(dev)->flags & MOCK_DEV_VMM_APERTURE);
}

static int mock_nested_invalidate(struct sio_domain *domain, struct sio_user_data_array *array)
{
	struct mock_domain_nested *nested = to_mock_nested(domain);
	struct iommu_hwpt_invalidate_selftest inv;
	uint32_t processed = 0;
	int rc = 0;

	if (array->type != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) {
		rc = -EINVAL;
		goto out;
	}
	for (uint32_t i = 0; i < array->entry_num; i++) {
		rc = sio_copy_struct_from_user_array(
			&inv, sizeof(inv), array, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, i,
			offsetofend(struct iommu_hwpt_invalidate_selftest, iotlb_id));
		if (rc)
			break;
		if (inv.flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			rc = -EOPNOTSUPP;
			break;
		}
		if (inv.iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX) {
			rc = -EINVAL;
			break;
		}
		if (inv.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL)
			memset(nested->iotlb, 0, sizeof(nested->iotlb));
		else
			nested->iotlb[inv.iotlb_id] = 0;
		processed++;
	}
out:
	/*
	 * The mock's stage 1 is an identity, so its translations do not depend on what was
	 * invalidated; a model with a real stage 1 would be wrong to skip this, and it costs
	 * one grace period per call, so the mock behaves as one.
	 */
	if (processed)
		sio_iotlb_invalidate_all(&domain->iotlb);
	array->entry_num = processed;
	return rc;
}

/* The mock's stage 1 is an identity: a nested translation is its parent's stage 2 */
static int mock_nested_translate(struct sio_domain *domain, const struct sio_dma_req *req,
				 struct sio_dma_xlate *xlate, struct sio_dma_fault *fault)
{
	int rc = mock_walk(to_mock_nested(domain)->parent, req, xlate, fault);

	if (rc) {
		fault->stage = 2;
		fault->ipa = req->iova;
	}
	return rc;
}

/* A fault in a vIOMMU's nested domain is the mock's vEVENT: the device's virtual ID */
static int mock_nested_fault_event(struct sio_domain *domain, struct sio_dev *dev,
				   const struct sio_dma_fault *fault)
{
	struct mock_viommu *mv = to_mock_nested(domain)->mock_viommu;
	struct iommu_viommu_event_selftest ev = {};
	uint64_t virt_id;

	if (!mv || sio_viommu_get_vdev_id(&mv->core, dev, &virt_id))
		return -ENOENT;
	ev.virt_id = virt_id;
	return sio_viommu_report_event(&mv->core, IOMMU_VEVENTQ_TYPE_SELFTEST, &ev, sizeof(ev));
}

static void mock_nested_free(struct sio_domain *domain)
{
	sio_free(to_mock_nested(domain));
}

static const struct sio_domain_ops mock_nested_ops = {
	.attach_dev = mock_domain_attach,
	.set_dev_pasid = mock_set_dev_pasid,
	.cache_invalidate_user = mock_nested_invalidate,
	.translate = mock_nested_translate,
	.fault_event = mock_nested_fault_event,
	.free = mock_nested_free,
};

bool mock_is_nested(struct sio_domain *domain)
{
	return domain->ops == &mock_nested_ops;
}

static struct sio_domain *mock_alloc_nested(struct sio_dev *dev, struct sio_domain *parent,
					    uint32_t flags,
					    const struct sio_user_data *user_data)
{
	struct sio_domain *domain;

	if (flags & ~IOMMU_HWPT_ALLOC_PASID)
		return ERR_PTR(-EOPNOTSUPP);
	if (!parent || parent->type != SIO_DOMAIN_PAGING)
		return ERR_PTR(-EINVAL);
	domain = mock_alloc_nested_common(user_data);
	if (!IS_ERR(domain))
		to_mock_nested(domain)->parent = to_mock_domain(parent);
	return domain;
}

struct sio_domain *mock_alloc_nested_common(const struct sio_user_data *user_data)
{
	struct iommu_hwpt_selftest cfg;
	struct mock_domain_nested *nested;
	int rc;

	if (user_data->type != IOMMU_HWPT_DATA_SELFTEST)
		return ERR_PTR(-EOPNOTSUPP);
	rc = sio_copy_struct_from_user_data(&cfg, sizeof(cfg), user_data,
					    IOMMU_HWPT_DATA_SELFTEST,
					    offsetofend(struct iommu_hwpt_selftest, iotlb));
	if (rc)
		return ERR_PTR(rc);
	nested = sio_zalloc(sizeof(*nested));
	if (!nested)
		return ERR_PTR(-ENOMEM);
	nested->domain.type = SIO_DOMAIN_NESTED;
	nested->domain.ops = &mock_nested_ops;
	for (int i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
		nested->iotlb[i] = cfg.iotlb;
	return &nested->domain;
}

static void *mock_hw_info(struct sio_dev *dev, uint32_t *len, uint32_t *type)
{
	struct iommu_test_hw_info *info;

	if (*type != IOMMU_HW_INFO_TYPE_DEFAULT && *type != IOMMU_HW_INFO_TYPE_SELFTEST)
		return ERR_PTR(-EOPNOTSUPP);
	info = sio_zalloc(sizeof(*info));
	if (!info)
		return ERR_PTR(-ENOMEM);
	info->test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL;
	*len = sizeof(*info);
	*type = IOMMU_HW_INFO_TYPE_SELFTEST;
	return info;
}

static bool mock_capable(struct sio_dev *dev, enum sio_cap cap)
{
	switch (cap) {
	case SIO_CAP_CACHE_COHERENCY:
		return true;
	case SIO_CAP_DIRTY_TRACKING:
		return !(to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
	}
	return false;
}

/* A page request was answered: the mock stalls nothing, so it only counts the answer */
static void mock_page_response(struct sio_dev *dev, const struct sio_page_response *resp)
{
	atomic_fetch_add(&to_mock_dev(dev)->page_responses, 1);
}

const struct sio_iommu_ops mock_iommu_ops = {
	.name = "mock",
	.user_pasid_table = true,
	.blocked_domain = &mock_blocked_domain,
	.hw_info = mock_hw_info,
	.capable = mock_capable,
	.domain_alloc_paging_flags = mock_alloc_paging_flags,
	.domain_alloc_nested = mock_alloc_nested,
	.get_viommu_size = mock_get_viommu_size,
	.viommu_init = mock_viommu_init,
	.page_response = mock_page_response,
};

struct mock_dev *mock_dev_create(uint32_t dev_flags)
{
	const uint32_t valid = MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_PASID;
	struct sio_iommu_group *group;
	struct mock_dev *mdev;

	if (dev_flags & ~valid)
		return ERR_PTR(-EINVAL);
	mdev = sio_zalloc(sizeof(*mdev));
	if (!mdev)
		return ERR_PTR(-ENOMEM);
	group = sio_iommu_group_alloc();
	if (!group) {
		sio_free(mdev);
		return ERR_PTR(-ENOMEM);
	}
	mdev->flags = dev_flags;
	sio_rwlock_init(&mdev->viommu_rwsem, SIO_LOCK_MOCK_VIOMMU_RWSEM);
	mdev->id = atomic_fetch_add(&mock_dev_ids, 1);
	for (int i = 0; i < MOCK_DEV_CACHE_NUM; i++)
		mdev->cache[i] = IOMMU_TEST_DEV_CACHE_DEFAULT;
	/* Linux's mock gives every device a "pasid-num-bits" property: 0, or the PASID width */
	mdev->dev.max_pasids = 1;
	if (dev_flags & MOCK_FLAGS_DEVICE_PASID) {
		mdev->dev.max_pasid_log2 = MOCK_PASID_WIDTH;
		mdev->dev.max_pasids = 1u << MOCK_PASID_WIDTH;
	}
	snprintf(mdev->dev.name, sizeof(mdev->dev.name), "iommufd_mock%d", mdev->id);
	/* However it was made, sio_driver_dev_destroy() releases it */
	mdev->dev.driver = &sio_mock_driver;
	sio_iommu_dev_add(&mdev->dev, &mock_iommu_ops, group);
	sio_iommu_group_put(group);
	return mdev;
}

void mock_dev_destroy(struct mock_dev *mdev)
{
	sio_iommu_dev_remove(&mdev->dev);
	pthread_rwlock_destroy(&mdev->viommu_rwsem);
	sio_free(mdev);
}
