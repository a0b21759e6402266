// SPDX-License-Identifier: MIT
/*
 * The SMMUv3 model, first slice: SMMU instances, devices with a StreamID, the ID registers
 * of IOMMU_GET_HW_INFO, and paging domains as arm-smmu-v3 makes them (Linux 7.2,
 * arm_smmu_domain_alloc_paging_flags / arm_smmu_domain_finalise): stage 1 with an ASID for
 * a plain paging HWPT, stage 2 with a VMID for NEST_PARENT, on the pt library's VMSAv8-64
 * formats, translated by the shared walk (src/model).
 */
#include <errno.h>
#include <linux/iommufd.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "smmuv3_int.h"

#define SMMU_MAX_INSTANCES 8
#define SMMU_ID_BITS 16 /* ASID16 and VMID16: 16-bit ASIDs and VMIDs */
#define SMMU_CD_CACHE_LG2 10

static const struct sio_iommu_ops smmu_iommu_ops;

static pthread_mutex_t smmu_lock = PTHREAD_MUTEX_INITIALIZER;
static struct smmu_inst *smmu_insts[SMMU_MAX_INSTANCES];

static const unsigned int oas_bits[] = { 32, 36, 40, 42, 44, 48 };

/* The ID registers of an SMMU of configuration @cfg, as the hardware would report them */
static void smmu_init_regs(struct smmu_inst *smmu, unsigned int oas_enc)
{
	uint32_t idr0 = SMMU_IDR0_TTF_AARCH64 | SMMU_IDR0_COHACC | SMMU_IDR0_HYP |
			SMMU_IDR0_ATS | SMMU_IDR0_ASID16 | SMMU_IDR0_MSI | SMMU_IDR0_SEV |
			SMMU_IDR0_VMID16 | SMMU_IDR0_CD2L | SMMU_IDR0_TTENDIAN_MIXED |
			SMMU_IDR0_ST_LEVEL_2LVL;

	idr0 |= (smmu->cfg & SMMUV3_DEV_TERM_ONLY) ? SMMU_IDR0_STALL_MODEL_TERM :
						      SMMU_IDR0_STALL_MODEL_BOTH;
	if (smmu->s1)
		idr0 |= SMMU_IDR0_S1P;
	if (smmu->s2)
		idr0 |= SMMU_IDR0_S2P;
	smmu->idr[0] = idr0;
	smmu->idr[1] = SMMU_IDR1_SIDSIZE(smmu->sid_bits) | SMMU_IDR1_SSIDSIZE(smmu->ssid_bits) |
		       SMMU_IDR1_EVTQS(19) | SMMU_IDR1_CMDQS(19) | SMMU_IDR1_ATTR_PERMS_OVR |
		       SMMU_IDR1_ATTR_TYPES_OVR;
	smmu->idr[2] = 0; /* no VATOS */
	smmu->idr[3] = SMMU_IDR3_HAD | SMMU_IDR3_XNX | SMMU_IDR3_PPS | SMMU_IDR3_RIL |
		       SMMU_IDR3_BBML2;
	smmu->idr[4] = 0; /* IMPLEMENTATION DEFINED */
	smmu->idr[5] = SMMU_IDR5_OAS(oas_enc) | SMMU_IDR5_GRAN4K | SMMU_IDR5_GRAN16K |
		       SMMU_IDR5_GRAN64K | SMMU_IDR5_STALL_MAX(128);
	smmu->iidr = SMMU_IIDR_DEFAULT;
	smmu->aidr = SMMU_AIDR_DEFAULT;
}

/*
 * The instance called @name ("": the unnamed one of configuration @cfg), made on first use;
 * referenced. A named instance of another configuration is -EINVAL.
 */
static struct smmu_inst *smmu_get(uint32_t cfg, const char *name)
{
	unsigned int oas_f = (cfg & SMMUV3_DEV_OAS_MASK) >> 4;
	unsigned int sid_f = (cfg & SMMUV3_DEV_SID_BITS_MASK) >> 8;
	unsigned int ssid_f = (cfg & SMMUV3_DEV_SSID_BITS_MASK) >> 16;
	struct smmu_inst *smmu = NULL;
	unsigned int oas_enc = oas_f ? oas_f - 1 : SMMUV3_DEFAULT_OAS_ENC;
	int free_slot = -1;

	if (oas_enc >= ARRAY_SIZE(oas_bits) || sid_f > 32 || (ssid_f && ssid_f - 1 > 20) ||
	    (cfg & (SMMUV3_DEV_NO_S1 | SMMUV3_DEV_NO_S2)) == (SMMUV3_DEV_NO_S1 | SMMUV3_DEV_NO_S2))
		return ERR_PTR(-EINVAL);
	pthread_mutex_lock(&smmu_lock);
	for (unsigned int i = 0; i != SMMU_MAX_INSTANCES; i++) {
		if (smmu_insts[i] && !strcmp(smmu_insts[i]->name, name) &&
		    (name[0] || smmu_insts[i]->cfg == cfg)) {
			smmu = smmu_insts[i];
			if (smmu->cfg != cfg) {
				smmu = ERR_PTR(-EINVAL);
				goto out;
			}
			smmu->refs++;
			goto out;
		}
		if (!smmu_insts[i] && free_slot < 0)
			free_slot = (int)i;
	}
	if (free_slot < 0) {
		smmu = ERR_PTR(-ENOSPC);
		goto out;
	}
	smmu = sio_zalloc(sizeof(*smmu));
	if (!smmu) {
		smmu = ERR_PTR(-ENOMEM);
		goto out;
	}
	if (sio_cfg_cache_init(&smmu->cd_cache, SMMU_CD_CACHE_LG2, SIO_CFG_CACHE_WORDS * 8)) {
		sio_free(smmu);
		smmu = ERR_PTR(-ENOMEM);
		goto out;
	}
	smmu->ops = smmu_iommu_ops;
	strcpy(smmu->name, name);
	INIT_LIST_HEAD(&smmu->devs);
	smmu->cfg = cfg;
	smmu->refs = 1;
	smmu->index = (unsigned int)free_slot;
	smmu->oas_lg2 = oas_bits[oas_enc];
	smmu->sid_bits = sid_f ? sid_f : SMMUV3_DEFAULT_SID_BITS;
	smmu->ssid_bits = ssid_f ? ssid_f - 1 : SMMUV3_DEFAULT_SSID_BITS;
	smmu->s1 = !(cfg & SMMUV3_DEV_NO_S1);
	smmu->s2 = !(cfg & SMMUV3_DEV_NO_S2);
	pthread_mutex_init(&smmu->id_lock, NULL);
	smmu_init_regs(smmu, oas_enc);
	smmu_insts[free_slot] = smmu;
out:
	pthread_mutex_unlock(&smmu_lock);
	return smmu;
}

void smmu_inst_get(struct smmu_inst *smmu)
{
	pthread_mutex_lock(&smmu_lock);
	smmu->refs++;
	pthread_mutex_unlock(&smmu_lock);
}

void smmu_put(struct smmu_inst *smmu)
{
	bool last;

	pthread_mutex_lock(&smmu_lock);
	last = !--smmu->refs;
	if (last)
		smmu_insts[smmu->index] = NULL;
	pthread_mutex_unlock(&smmu_lock);
	if (last) {
		sio_cfg_cache_destroy(&smmu->cd_cache);
		pthread_mutex_destroy(&smmu->id_lock);
		sio_free(smmu);
	}
}

/* An ID from [1, 2^SMMU_ID_BITS - 1] of @map (0 is reserved), or -ENOSPC */
static int smmu_id_alloc(struct smmu_inst *smmu, uint64_t *map)
{
	int id = -ENOSPC;

	pthread_mutex_lock(&smmu->id_lock);
	for (unsigned int i = 1; i != 1u << SMMU_ID_BITS; i++) {
		if (!(map[i / 64] & (1ULL << (i % 64)))) {
			map[i / 64] |= 1ULL << (i % 64);
			id = (int)i;
			break;
		}
	}
	pthread_mutex_unlock(&smmu->id_lock);
	return id;
}

static void smmu_id_free(struct smmu_inst *smmu, uint64_t *map, unsigned int id)
{
	pthread_mutex_lock(&smmu->id_lock);
	map[id / 64] &= ~(1ULL << (id % 64));
	pthread_mutex_unlock(&smmu->id_lock);
}

/*
 * The device's STE changes (an attach, a replace, a detach): configuration cached from the
 * old one never hits again, and events stop carrying a vSID until a nested attach latches
 * one. Called by the attach hooks, under the core's group locks (no DMA of the device runs).
 */
void smmu_dev_config_changed(struct smmu_dev *sdev)
{
	sdev->vmaster = NULL;
	smmu_dev_new_cfg_gen(sdev);
}

/*
 * A configuration generation no device ever had: cached records of the device's old one
 * (or of a freed device at the same address and StreamID) never hit again
 */
void smmu_dev_new_cfg_gen(struct smmu_dev *sdev)
{
	static atomic_uint_least64_t next_gen = 1;

	atomic_store_explicit(&sdev->cfg_gen, atomic_fetch_add(&next_gen, 1),
			      memory_order_release);
}

/* A PASID of @dev moves from @old to a domain that is a host paging one or not */
static void smmu_count_host_pasid(struct sio_dev *dev, struct sio_domain *old, bool host)
{
	bool was_host = old && old->ops == &smmu_paging_ops;

	if (host && !was_host)
		to_smmu_dev(dev)->host_pasids++;
	else if (!host && was_host)
		to_smmu_dev(dev)->host_pasids--;
}

/* The blocked domain: an abort STE; attach always succeeds */
static int smmu_blocked_attach(struct sio_domain *domain, struct sio_dev *dev,
			       struct sio_domain *old)
{
	smmu_dev_config_changed(to_smmu_dev(dev));
	return 0;
}

static int smmu_blocked_set_dev_pasid(struct sio_domain *domain, struct sio_dev *dev,
				      uint32_t pasid, struct sio_domain *old)
{
	smmu_count_host_pasid(dev, old, false);
	return 0;
}

static const struct sio_domain_ops smmu_blocked_ops = {
	.attach_dev = smmu_blocked_attach,
	.set_dev_pasid = smmu_blocked_set_dev_pasid,
};

struct sio_domain smmu_blocked_domain = {
	.type = SIO_DOMAIN_BLOCKED,
	.ops = &smmu_blocked_ops,
};

/* As arm_smmu_attach_dev: a domain of another SMMU is incompatible */
static int smmu_domain_attach(struct sio_domain *domain, struct sio_dev *dev,
			      struct sio_domain *old)
{
	if (to_smmu_domain(domain)->smmu != to_smmu_dev(dev)->smmu)
		return -EINVAL;
	smmu_dev_config_changed(to_smmu_dev(dev));
	return 0;
}

/* As arm_smmu_s1_set_dev_pasid: a PASID takes a stage-1 domain of the device's SMMU (a CD) */
static int smmu_domain_set_dev_pasid(struct sio_domain *domain, struct sio_dev *dev,
				     uint32_t pasid, struct sio_domain *old)
{
	struct smmu_domain *sd = to_smmu_domain(domain);

	if (sd->smmu != to_smmu_dev(dev)->smmu || sd->stage != SMMU_STAGE_1)
		return -EINVAL;
	smmu_count_host_pasid(dev, old, true);
	return 0;
}

static int smmu_domain_map(struct sio_domain *domain, uint64_t iova, uint64_t pa, uint64_t len,
			   int prot, uint64_t pgsize_bitmap)
{
	struct smmu_domain *d = to_smmu_domain(domain);

	return sio_model_pt_map(d->pt, d->pt_pgsizes, iova, pa, len, prot, pgsize_bitmap);
}

static uint64_t smmu_domain_unmap(struct sio_domain *domain, uint64_t iova, uint64_t len)
{
	return sio_model_pt_unmap(to_smmu_domain(domain)->pt, iova, len);
}

static int smmu_domain_iova_to_phys(struct sio_domain *domain, uint64_t iova, uint64_t *pa)
{
	return pt_iova_to_phys(to_smmu_domain(domain)->pt, iova, pa, NULL, NULL);
}

/* The SMMU's walk of a stage-1 (CD.TTB0) or stage-2 (STE.S2TTB) table */
static int smmu_domain_translate(struct sio_domain *domain, const struct sio_dma_req *req,
				 struct sio_dma_xlate *xlate, struct sio_dma_fault *fault)
{
	struct smmu_domain *sd = to_smmu_domain(domain);
	int rc = sio_model_walk(sd->pt, NULL, req, xlate, fault);

	if (rc && sd->stage == SMMU_STAGE_2) {
		/* A stage-2-only STE: the input address is the IPA */
		fault->stage = 2;
		fault->ipa = req->iova;
	}
	return rc;
}

static void smmu_domain_free(struct sio_domain *domain)
{
	struct smmu_domain *sd = to_smmu_domain(domain);

	pt_table_free(sd->pt);
	if (sd->stage == SMMU_STAGE_1)
		smmu_id_free(sd->smmu, sd->smmu->asid_map, sd->asid);
	else
		smmu_id_free(sd->smmu, sd->smmu->vmid_map, sd->vmid);
	smmu_put(sd->smmu);
	sio_free(sd);
}

const struct sio_domain_ops smmu_paging_ops = {
	.attach_dev = smmu_domain_attach,
	.set_dev_pasid = smmu_domain_set_dev_pasid,
	.map = smmu_domain_map,
	.unmap = smmu_domain_unmap,
	.iova_to_phys = smmu_domain_iova_to_phys,
	.translate = smmu_domain_translate,
	.free = smmu_domain_free,
};

/*
 * As arm_smmu_domain_finalise: stage 1 resolves 48 bits (no VAX) into the SMMU's OAS, stage
 * 2 the OAS into itself; the granule is the host's 4 KiB, so leaves are 4 KiB, 2 MiB, 1 GiB.
 */
static struct smmu_domain *smmu_domain_alloc(struct smmu_inst *smmu, enum smmu_stage stage)
{
	struct pt_cfg pcfg = {
		.fmt = stage == SMMU_STAGE_1 ? PT_FMT_VMSAV8_S1 : PT_FMT_VMSAV8_S2,
		.granule_lg2 = 12,
		.ias_lg2 = stage == SMMU_STAGE_1 ? 48 : smmu->oas_lg2,
		/*
		 * The output is a host address (DESIGN.md, memory model), which may need all 48
		 * bits whatever OAS the SMMU reports: the OAS bounds stage 2's input only.
		 */
		.oas_lg2 = 48,
	};
	struct smmu_domain *sd = sio_zalloc(sizeof(*sd));
	int id, rc;

	if (!sd)
		return ERR_PTR(-ENOMEM);
	id = smmu_id_alloc(smmu, stage == SMMU_STAGE_1 ? smmu->asid_map : smmu->vmid_map);
	if (id < 0) {
		sio_free(sd);
		return ERR_PTR(id);
	}
	rc = pt_table_alloc(&pcfg, &sd->pt);
	if (rc) {
		smmu_id_free(smmu, stage == SMMU_STAGE_1 ? smmu->asid_map : smmu->vmid_map,
			     (unsigned int)id);
		sio_free(sd);
		return ERR_PTR(rc);
	}
	if (stage == SMMU_STAGE_1)
		sd->asid = (uint16_t)id;
	else
		sd->vmid = (uint16_t)id;
	sd->stage = stage;
	sd->pt_pgsizes = pt_pgsize_bitmap(sd->pt);
	sd->domain.type = SIO_DOMAIN_PAGING;
	sd->domain.ops = &smmu_paging_ops;
	sd->domain.pgsize_bitmap = sd->pt_pgsizes;
	sd->domain.aperture_start = 0;
	sd->domain.aperture_end = (1ULL << pt_ias_lg2(sd->pt)) - 1;
	smmu_inst_get(smmu);
	sd->smmu = smmu;
	return sd;
}

/* As arm_smmu_domain_alloc_paging_flags: only the flag sets it knows, no user data */
static struct sio_domain *smmu_alloc_paging_flags(struct sio_dev *dev, uint32_t flags,
						  const struct sio_user_data *user_data)
{
	const uint32_t paging_flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID |
				      IOMMU_HWPT_ALLOC_NEST_PARENT;
	struct smmu_inst *smmu = to_smmu_dev(dev)->smmu;
	struct smmu_domain *sd;
	enum smmu_stage stage;

	if ((flags & ~paging_flags) || user_data)
		return ERR_PTR(-EOPNOTSUPP);
	switch (flags) {
	case 0:
		stage = smmu->s1 ? SMMU_STAGE_1 : SMMU_STAGE_2;
		break;
	case IOMMU_HWPT_ALLOC_NEST_PARENT:
		/* FEAT_NESTING: both stages */
		if (!smmu->s1 || !smmu->s2)
			return ERR_PTR(-EOPNOTSUPP);
		stage = SMMU_STAGE_2;
		break;
	case IOMMU_HWPT_ALLOC_PASID:
		if (!smmu->s1)
			return ERR_PTR(-EOPNOTSUPP);
		stage = SMMU_STAGE_1;
		break;
	default:
		/* DIRTY_TRACKING needs HTTU, which this SMMU does not report (IDR0.HTTU = 0) */
		return ERR_PTR(-EOPNOTSUPP);
	}
	sd = smmu_domain_alloc(smmu, stage);
	if (IS_ERR(sd))
		return ERR_CAST(sd);
	sd->nest_parent = flags == IOMMU_HWPT_ALLOC_NEST_PARENT;
	return &sd->domain;
}

/* As arm_smmu_hw_info: the raw ID registers, no field masked */
static void *smmu_hw_info(struct sio_dev *dev, uint32_t *len, uint32_t *type)
{
	struct smmu_inst *smmu = to_smmu_dev(dev)->smmu;
	struct iommu_hw_info_arm_smmuv3 *info;

	if (*type != IOMMU_HW_INFO_TYPE_DEFAULT && *type != IOMMU_HW_INFO_TYPE_ARM_SMMUV3)
		return ERR_PTR(-EOPNOTSUPP); /* no implementation-specific info (CMDQV) */
	info = sio_zalloc(sizeof(*info));
	if (!info)
		return ERR_PTR(-ENOMEM);
	memcpy(info->idr, smmu->idr, sizeof(info->idr));
	info->iidr = smmu->iidr;
	info->aidr = smmu->aidr;
	*len = sizeof(*info);
	*type = IOMMU_HW_INFO_TYPE_ARM_SMMUV3;
	return info;
}

/* A coherent SMMU (IDR0.COHACC); no HTTU, so no dirty tracking */
static bool smmu_capable(struct sio_dev *dev, enum sio_cap cap)
{
	switch (cap) {
	case SIO_CAP_CACHE_COHERENCY:
		return true;
	case SIO_CAP_DIRTY_TRACKING:
		return false;
	}
	return false;
}

static const struct sio_iommu_ops smmu_iommu_ops = {
	.name = "smmuv3",
	.user_pasid_table = true, /* a nested STE's CD table is the guest's */
	.blocked_domain = &smmu_blocked_domain,
	.hw_info = smmu_hw_info,
	.capable = smmu_capable,
	.domain_alloc_paging_flags = smmu_alloc_paging_flags,
	.get_viommu_size = smmu_get_viommu_size,
	.viommu_init = smmu_viommu_init,
	.dump_dev = smmu_dump_dev,
};

static bool smmu_sid_used(const struct smmu_inst *smmu, uint32_t sid)
{
	struct smmu_dev *other;

	list_for_each_entry(other, &smmu->devs, item)
		if (other->sid == sid)
			return true;
	return false;
}

/*
 * Give @sdev its StreamID on its SMMU (@o's, or the next free one within SIDSIZE) and list
 * it there. Return: 0, -EINVAL beyond SIDSIZE, -EEXIST when taken, -ENOSPC when all are.
 */
static int smmu_sid_assign(struct smmu_dev *sdev, const struct smmu_dev_opts *o)
{
	struct smmu_inst *smmu = sdev->smmu;
	uint32_t mask = smmu->sid_bits >= 32 ? UINT32_MAX : (1u << smmu->sid_bits) - 1;
	int rc = 0;

	pthread_mutex_lock(&smmu_lock);
	if (o->sid_given) {
		if (o->sid & ~mask)
			rc = -EINVAL;
		else if (smmu_sid_used(smmu, o->sid))
			rc = -EEXIST;
		sdev->sid = o->sid;
	} else {
		uint64_t tries = (uint64_t)mask + 1;

		while (tries-- && smmu_sid_used(smmu, smmu->next_sid & mask))
			smmu->next_sid++;
		if (tries == UINT64_MAX)
			rc = -ENOSPC;
		sdev->sid = smmu->next_sid++ & mask;
	}
	if (!rc)
		list_add_tail(&sdev->item, &smmu->devs);
	pthread_mutex_unlock(&smmu_lock);
	return rc;
}

static struct sio_dev *smmu_dev_make(uint32_t flags, const struct smmu_dev_opts *o)
{
	struct sio_iommu_group *group;
	struct smmu_inst *smmu;
	struct smmu_dev *sdev;
	int rc;

	if (flags & ~SMMUV3_DEV_FLAGS_VALID)
		return ERR_PTR(-EINVAL);
	smmu = smmu_get(flags & ~SMMUV3_DEV_PER_DEVICE, o->smmu);
	if (IS_ERR(smmu))
		return ERR_CAST(smmu);
	sdev = sio_zalloc(sizeof(*sdev));
	group = sdev ? sio_iommu_group_alloc() : NULL;
	if (!group) {
		sio_free(sdev);
		smmu_put(smmu);
		return ERR_PTR(-ENOMEM);
	}
	sdev->smmu = smmu;
	rc = smmu_sid_assign(sdev, o);
	if (rc) {
		sio_iommu_group_put(group);
		sio_free(sdev);
		smmu_put(smmu);
		return ERR_PTR(rc);
	}
	sdev->stall = flags & SMMUV3_DEV_STALL;
	smmu_dev_new_cfg_gen(sdev);
	/* As Linux: the PASID width is the device's, capped by SSIDSIZE; none without PASID */
	if (flags & SMMUV3_DEV_PASID) {
		sdev->dev.max_pasid_log2 = smmu->ssid_bits;
		sdev->dev.max_pasids = 1u << smmu->ssid_bits;
	}
	if (smmu->name[0])
		snprintf(sdev->dev.name, sizeof(sdev->dev.name), "%s:sid%#x", smmu->name,
			 sdev->sid);
	else
		snprintf(sdev->dev.name, sizeof(sdev->dev.name), "smmu%u:sid%#x", smmu->index,
			 sdev->sid);
	sio_iommu_dev_add(&sdev->dev, &smmu->ops, group);
	sio_iommu_group_put(group);
	return &sdev->dev;
}

static struct sio_dev *smmu_dev_create(uint32_t flags)
{
	const struct smmu_dev_opts none = {};

	return smmu_dev_make(flags, &none);
}

/* "smmuv3:smmu=NAME,sid=N" */
static struct sio_dev *smmu_dev_create_opts(uint32_t flags, const char *opts)
{
	struct smmu_dev_opts o;
	int rc = smmu_parse_opts(opts, &o);

	return rc ? ERR_PTR(rc) : smmu_dev_make(flags, &o);
}

static void smmu_dev_destroy(struct sio_dev *dev)
{
	struct smmu_dev *sdev = to_smmu_dev(dev);
	struct smmu_inst *smmu = sdev->smmu;

	sio_iommu_dev_remove(dev);
	pthread_mutex_lock(&smmu_lock);
	list_del_init(&sdev->item);
	pthread_mutex_unlock(&smmu_lock);
	sio_free(sdev);
	smmu_put(smmu);
}

const struct sio_driver sio_smmuv3_driver = {
	.name = "smmuv3",
	.dev_create = smmu_dev_create,
	.dev_create_opts = smmu_dev_create_opts,
	.dev_destroy = smmu_dev_destroy,
};
