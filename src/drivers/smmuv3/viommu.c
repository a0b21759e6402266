// SPDX-License-Identifier: MIT
/*
 * The SMMUv3 vIOMMU (IOMMU_VIOMMU_TYPE_ARM_SMMUV3) and its nested domains, as Linux 7.2's
 * arm-smmu-v3-iommufd.c makes them: a vIOMMU sits on a NEST_PARENT stage 2 of the same SMMU
 * and uses its VMID; a nested domain is a guest STE (validated in ste.c) translated over
 * that stage 2 (translate.c); attaching one latches the device's vSID for its events.
 * The generic part (objects, vDEVICE bookkeeping, the errnos before the driver's) is the
 * core's (src/core/dev/viommu.c).
 */
#include <errno.h>

#include "smmuv3_int.h"

static void smmu_viommu_destroy(struct sio_viommu *viommu)
{
	struct smmu_viommu *vsmmu = to_smmu_viommu(viommu);

	pthread_mutex_destroy(&vsmmu->nested_lock);
	smmu_put(vsmmu->smmu);
}

/*
 * The domain's IOTLB tag is the core's from its allocation on, so the vIOMMU's list (what
 * TLBI commands invalidate) takes a domain at its first attach: before, nothing is cached
 */
static void smmu_nested_list(struct smmu_nested *nested)
{
	struct smmu_viommu *vsmmu = nested->vsmmu;

	pthread_mutex_lock(&vsmmu->nested_lock);
	if (!nested->listed) {
		list_add_tail(&nested->item, &vsmmu->nested);
		nested->listed = true;
	}
	pthread_mutex_unlock(&vsmmu->nested_lock);
}

/* As arm_smmu_attach_dev_nested and arm_smmu_attach_prepare_vmaster */
static int smmu_nested_attach(struct sio_domain *domain, struct sio_dev *dev,
			      struct sio_domain *old)
{
	struct smmu_nested *nested = to_smmu_nested(domain);
	struct smmu_dev *sdev = to_smmu_dev(dev);
	unsigned int cfg = STE0_CFG(nested->ste[0]);
	uint64_t vsid;

	if (nested->vsmmu->smmu != sdev->smmu)
		return -EINVAL;
	if (sdev->host_pasids)
		return -EBUSY;
	smmu_nested_list(nested);
	if (sio_viommu_get_vdev_id(&nested->vsmmu->core, dev, &vsid)) {
		/* Abort and bypass need no vDEVICE (the GBPA case); a translating STE does */
		if (cfg != STE_CFG_ABORT && cfg != STE_CFG_BYPASS)
			return -ENOENT;
		smmu_dev_config_changed(sdev);
		return 0;
	}
	smmu_dev_config_changed(sdev);
	sdev->vmaster = nested->vsmmu;
	sdev->vsid = vsid;
	return 0;
}

static void smmu_nested_free(struct sio_domain *domain)
{
	struct smmu_nested *nested = to_smmu_nested(domain);
	struct smmu_viommu *vsmmu = nested->vsmmu;

	pthread_mutex_lock(&vsmmu->nested_lock);
	if (nested->listed)
		list_del_init(&nested->item);
	pthread_mutex_unlock(&vsmmu->nested_lock);
	sio_free(nested);
}

static const struct sio_domain_ops smmu_nested_ops = {
	.attach_dev = smmu_nested_attach,
	.translate = smmu_nested_translate,
	.fault_disposition = smmu_nested_fault_disposition,
	.fault_event = smmu_nested_fault_event,
	.free = smmu_nested_free,
};

bool smmu_is_nested(const struct sio_domain *domain)
{
	return domain->ops == &smmu_nested_ops;
}

/* As arm_vsmmu_alloc_domain_nested: the guest STE, checked as arm_smmu_validate_vste */
static struct sio_domain *smmu_viommu_alloc_nested(struct sio_viommu *viommu, uint32_t flags,
						   const struct sio_user_data *user_data)
{
	struct smmu_viommu *vsmmu = to_smmu_viommu(viommu);
	struct iommu_hwpt_arm_smmuv3 arg;
	struct smmu_nested *nested;
	bool enable_ats = false;
	int rc;

	if (flags)
		return ERR_PTR(-EOPNOTSUPP);
	rc = sio_copy_struct_from_user_data(&arg, sizeof(arg), user_data,
					    IOMMU_HWPT_DATA_ARM_SMMUV3,
					    offsetofend(struct iommu_hwpt_arm_smmuv3, ste));
	if (rc)
		return ERR_PTR(rc);
	rc = smmu_vste_validate((uint64_t *)arg.ste, &enable_ats);
	if (rc)
		return ERR_PTR(rc);
	nested = sio_zalloc(sizeof(*nested));
	if (!nested)
		return ERR_PTR(-ENOMEM);
	nested->vsmmu = vsmmu;
	nested->ste[0] = arg.ste[0];
	nested->ste[1] = arg.ste[1] & ~STE1_EATS_MASK;
	nested->enable_ats = enable_ats;
	nested->domain.type = SIO_DOMAIN_NESTED;
	nested->domain.ops = &smmu_nested_ops;
	nested->domain.pgsize_bitmap = vsmmu->s2_parent->domain.pgsize_bitmap;
	return &nested->domain;
}

static const struct sio_viommu_ops smmu_viommu_ops = {
	.destroy = smmu_viommu_destroy,
	.alloc_domain_nested = smmu_viommu_alloc_nested,
	.cache_invalidate = smmu_viommu_cache_invalidate,
};

/*
 * As arm_smmu_get_viommu_size: only with FEAT_NESTING (both stages). The model's devices
 * are coherent (CANWBS), so the S2FWB alternative never matters.
 */
size_t smmu_get_viommu_size(struct sio_dev *dev, uint32_t viommu_type)
{
	struct smmu_inst *smmu = to_smmu_dev(dev)->smmu;

	if (!smmu->s1 || !smmu->s2 || viommu_type != IOMMU_VIOMMU_TYPE_ARM_SMMUV3)
		return 0;
	return SIO_VIOMMU_STRUCT_SIZE(struct smmu_viommu, core);
}

/* As arm_vsmmu_init: the parent must be a stage 2 of this SMMU; its VMID is the vIOMMU's */
int smmu_viommu_init(struct sio_viommu *viommu, struct sio_domain *parent,
		     const struct sio_user_data *user_data)
{
	struct smmu_viommu *vsmmu = to_smmu_viommu(viommu);
	struct smmu_inst *smmu = smmu_of_ops(viommu->iommu_ops);
	struct smmu_domain *s2;

	(void)user_data; /* type 1 takes none; what is given is ignored */
	if (parent->ops != &smmu_paging_ops)
		return -EINVAL;
	s2 = to_smmu_domain(parent);
	if (s2->smmu != smmu || s2->stage != SMMU_STAGE_2)
		return -EINVAL;
	smmu_inst_get(smmu);
	vsmmu->smmu = smmu;
	vsmmu->s2_parent = s2;
	vsmmu->vmid = s2->vmid;
	pthread_mutex_init(&vsmmu->nested_lock, NULL);
	INIT_LIST_HEAD(&vsmmu->nested);
	sio_iotlb_tag_init(&vsmmu->global_tag);
	for (unsigned int i = 0; i != SMMU_ASID_TAGS; i++)
		sio_iotlb_tag_init(&vsmmu->asid_tag[i]);
	viommu->ops = &smmu_viommu_ops;
	return 0;
}
