/* SPDX-License-Identifier: MIT */
/*
 * What the SMMUv3 model's files share: the instance, device and domain structs, the STE,
 * CD and event-record fields (Arm IHI 0070: 5.2, 5.4, 7.3), and the functions one file
 * offers the others. smmuv3.c is the driver's entry (instances, devices, paging domains);
 * viommu.c the vIOMMU and nested domains; ste.c the guest STE; cd.c the context
 * descriptors; translate.c the nested walk; event.c the event records; invalidate.c the
 * guest's invalidation commands.
 */
#ifndef SIO_SMMUV3_INT_H
#define SIO_SMMUV3_INT_H

#include <linux/iommufd.h>
#include <stdatomic.h>

#include "../../driver/driver.h"
#include "../../model/model.h"
#include "smmuv3.h"

#define SMMU_BIT(n) (1ULL << (n))
#define SMMU_GENMASK(h, l) ((~0ULL >> (63 - (h))) & (~0ULL << (l)))
#define SMMU_FIELD(v, h, l) (((v) & SMMU_GENMASK(h, l)) >> (l))

/* STE dwords 0 and 1 (the part a guest gives) */
#define STE0_V SMMU_BIT(0)
#define STE0_CFG(v) SMMU_FIELD(v, 3, 1)
#define STE0_S1FMT(v) SMMU_FIELD(v, 5, 4)
#define STE0_S1CTXPTR_MASK SMMU_GENMASK(51, 6)
#define STE0_S1CDMAX(v) SMMU_FIELD(v, 63, 59)
#define STE1_S1DSS(v) SMMU_FIELD(v, 1, 0)
#define STE1_S1STALLD SMMU_BIT(27)
#define STE1_EATS_MASK SMMU_GENMASK(29, 28)
#define STE1_EATS(v) SMMU_FIELD(v, 29, 28)

#define STE_CFG_ABORT 0
#define STE_CFG_BYPASS 4
#define STE_CFG_S1 5

#define STE_S1FMT_LINEAR 0
#define STE_S1FMT_64K_L2 2 /* 1: 4 KiB leaf tables of 64 CDs; 2: 64 KiB of 1024 */

#define STE_S1DSS_TERMINATE 0
#define STE_S1DSS_BYPASS 1
#define STE_S1DSS_SSID0 2

/* The bits arm_smmu_validate_vste lets a guest set (Linux: STRTAB_STE_*_NESTING_ALLOWED) */
#define STE0_NESTING_ALLOWED 0xf80fffffffffffffULL
#define STE1_NESTING_ALLOWED 0x380000ffULL

/* CD dwords 0..3 */
#define CD0_T0SZ(v) SMMU_FIELD(v, 5, 0)
#define CD0_TG0(v) SMMU_FIELD(v, 7, 6)
#define CD0_EPD0 SMMU_BIT(14)
#define CD0_ENDI SMMU_BIT(15)
#define CD0_T1SZ(v) SMMU_FIELD(v, 21, 16)
#define CD0_TG1(v) SMMU_FIELD(v, 23, 22)
#define CD0_EPD1 SMMU_BIT(30)
#define CD0_V SMMU_BIT(31)
#define CD0_IPS(v) SMMU_FIELD(v, 34, 32)
#define CD0_AFFD SMMU_BIT(35)
#define CD0_TBI0 SMMU_BIT(38)
#define CD0_TBI1 SMMU_BIT(39)
#define CD0_AA64 SMMU_BIT(41)
#define CD0_HD SMMU_BIT(42)
#define CD0_HA SMMU_BIT(43)
#define CD0_S SMMU_BIT(44)
#define CD0_R SMMU_BIT(45)
#define CD0_A SMMU_BIT(46)
#define CD0_ASID(v) SMMU_FIELD(v, 63, 48)
#define CD_TTB_MASK SMMU_GENMASK(51, 4)
#define CD_SIZE 64

/* L1 CD descriptor of a 2-level CD table */
#define L1CD_V SMMU_BIT(0)
#define L1CD_L2PTR_MASK SMMU_GENMASK(51, 12)

/* Event record types (Arm IHI 0070, 7.3) */
#define EVT_C_BAD_STREAMID 0x02
#define EVT_C_BAD_STE 0x04
#define EVT_F_STREAM_DISABLED 0x06
#define EVT_C_BAD_SUBSTREAMID 0x08
#define EVT_F_CD_FETCH 0x09
#define EVT_C_BAD_CD 0x0a
#define EVT_F_WALK_EABT 0x0b
#define EVT_F_TRANSLATION 0x10
#define EVT_F_ADDR_SIZE 0x11
#define EVT_F_ACCESS 0x12
#define EVT_F_PERMISSION 0x13

/* Event record fields */
#define EVT0_SSV SMMU_BIT(11)
#define EVT0_SSID_SHIFT 12
#define EVT0_SID_SHIFT 32
#define EVT1_STALL SMMU_BIT(31)
#define EVT1_STAG_MASK SMMU_GENMASK(15, 0)
#define EVT1_PNU SMMU_BIT(33)
#define EVT1_IND SMMU_BIT(34)
#define EVT1_RNW SMMU_BIT(35)
#define EVT1_S2 SMMU_BIT(39)
#define EVT1_CLASS_SHIFT 40
#define EVT_CLASS_CD 0
#define EVT_CLASS_TT 1
#define EVT_CLASS_IN 2
#define EVT3_IPA_MASK SMMU_GENMASK(51, 12)
#define EVT3_FETCH_MASK SMMU_GENMASK(51, 3)

/*
 * A fault's sio_dma_fault.event: the record type, and whether the SMMU records it at all
 * (a stage-1 fault of a CD with R = 0 terminates the transaction silently)
 */
#define SMMU_EVT_TYPE(e) ((e) & 0xff)
#define SMMU_EVT_NORECORD (1u << 31)
#define SMMU_EVT_STALL (1u << 30) /* the transaction stalled: a page request, not an event */

/* One SMMU: its configuration, ID registers, ASID/VMID spaces, caches and counters */
struct smmu_inst {
	struct sio_iommu_ops ops; /* per instance: the core's "same IOMMU" checks compare it */
	uint32_t cfg;             /* the device flags that describe it (SMMUV3_DEV_* but PASID) */
	int refs;                 /* devices and domains on it; under smmu_lock */
	unsigned int index;
	unsigned int oas_lg2;
	unsigned int sid_bits, ssid_bits;
	bool s1, s2;
	uint32_t idr[6], iidr, aidr;
	pthread_mutex_t id_lock; /* protects asid_map, vmid_map (a leaf lock) */
	uint64_t asid_map[(1u << 16) / 64];
	uint64_t vmid_map[(1u << 16) / 64];
	/* The configuration cache: CDs, keyed by StreamID and CD index (cd.c) */
	struct sio_cfg_cache cd_cache;
	char name[SMMUV3_NAME_MAX + 1]; /* "" for an unnamed instance (found by cfg) */
	struct list_head devs;           /* its devices (their StreamIDs); under smmu_lock */
	uint32_t next_sid;               /* where automatic StreamIDs continue; ditto */
};

/* What "smmuv3:..." options of softiommu_dev_create ask for (options.c) */
struct smmu_dev_opts {
	char smmu[SMMUV3_NAME_MAX + 1]; /* the instance's name, "" for none */
	bool sid_given;
	uint32_t sid;
};

int smmu_parse_opts(const char *opts, struct smmu_dev_opts *o);

struct smmu_viommu;

/*
 * A device (a PCI function: one StreamID). The vmaster record is what a nested attach
 * latched (arm_smmu_attach_prepare_vmaster): the vSID its events carry, written under the
 * core's group locks at attach and read by event reporting with the attachment held.
 */
struct smmu_dev {
	struct sio_dev dev;
	struct smmu_inst *smmu;
	struct list_head item; /* on smmu->devs */
	uint32_t sid;
	bool stall; /* dma-can-stall: a stalling CD (or S2S) stalls its faults */
	unsigned int host_pasids; /* PASIDs attached to host paging domains (attach path only) */
	struct smmu_viommu *vmaster; /* NULL: no vDEVICE at attach (no event forwarding) */
	uint64_t vsid;
	/* New (never used) at every STE change and CFGI_CD_ALL: older cached CDs never hit */
	atomic_uint_least64_t cfg_gen;
};

enum smmu_stage {
	SMMU_STAGE_1,
	SMMU_STAGE_2,
};

struct smmu_domain {
	struct sio_domain domain;
	struct smmu_inst *smmu;
	struct pt_table *pt;
	uint64_t pt_pgsizes;
	enum smmu_stage stage;
	bool nest_parent;
	uint16_t asid; /* stage 1 */
	uint16_t vmid; /* stage 2 */
};

/*
 * IOTLB tags of one vIOMMU's stage-1 translations by ASID: ASID a names asid_tag[a % 256]
 * (ASIDs 256 apart share one, so a TLBI of one over-invalidates the other, as hardware
 * may); translations of a global leaf (nG = 0) name global_tag, which TLBI_NH_ASID leaves
 * alone and TLBI_NH_VA of any ASID hits (Arm IHI 0070, 3.17 and the fact sheet's 2.3)
 */
#define SMMU_ASID_TAGS 256

/*
 * IOMMU_VIOMMU_TYPE_ARM_SMMUV3 (arm_vsmmu): a stage-2 parent and its VMID, the nested
 * domains that have been attached (whose IOTLB entries the guest's TLBIs name), and the
 * (VMID, ASID) tags of their stage-1 translations
 */
struct smmu_viommu {
	struct sio_viommu core;
	struct smmu_inst *smmu;
	struct smmu_domain *s2_parent;
	uint16_t vmid;
	pthread_mutex_t nested_lock; /* protects nested (a leaf lock) */
	struct list_head nested;
	struct sio_iotlb_tag global_tag;
	struct sio_iotlb_tag asid_tag[SMMU_ASID_TAGS];
};

static inline struct sio_iotlb_tag *smmu_asid_tag(struct smmu_viommu *vsmmu, uint16_t asid)
{
	return &vsmmu->asid_tag[asid % SMMU_ASID_TAGS];
}

/* A nested domain: the guest's STE dwords 0 and 1 (EATS cleared) over the vIOMMU's stage 2 */
struct smmu_nested {
	struct sio_domain domain;
	struct smmu_viommu *vsmmu;
	uint64_t ste[2];
	bool enable_ats;
	bool listed;            /* on vsmmu->nested (from its first attach); under nested_lock */
	struct list_head item;
};

static inline struct smmu_dev *to_smmu_dev(struct sio_dev *dev)
{
	return container_of(dev, struct smmu_dev, dev);
}

static inline struct smmu_domain *to_smmu_domain(struct sio_domain *d)
{
	return container_of(d, struct smmu_domain, domain);
}

static inline struct smmu_nested *to_smmu_nested(struct sio_domain *d)
{
	return container_of(d, struct smmu_nested, domain);
}

static inline struct smmu_viommu *to_smmu_viommu(struct sio_viommu *v)
{
	return container_of(v, struct smmu_viommu, core);
}

static inline struct smmu_inst *smmu_of_ops(const struct sio_iommu_ops *ops)
{
	return container_of(ops, struct smmu_inst, ops);
}

/* smmuv3.c */
extern const struct sio_domain_ops smmu_paging_ops;
extern struct sio_domain smmu_blocked_domain;
void smmu_inst_get(struct smmu_inst *smmu);
void smmu_put(struct smmu_inst *smmu);
void smmu_dev_config_changed(struct smmu_dev *sdev);
void smmu_dev_new_cfg_gen(struct smmu_dev *sdev);

/* viommu.c */
size_t smmu_get_viommu_size(struct sio_dev *dev, uint32_t viommu_type);
int smmu_viommu_init(struct sio_viommu *viommu, struct sio_domain *parent,
		     const struct sio_user_data *user_data);
bool smmu_is_nested(const struct sio_domain *domain);

/* ste.c */
int smmu_vste_validate(uint64_t ste[2], bool *enable_ats);
int smmu_ste_check(const struct smmu_inst *smmu, const uint64_t ste[2]);

/* cd.c: the CD of index @ssid for @sdev under STE @ste; 0, or -EFAULT with @f filled */
int smmu_cd_get(struct smmu_dev *sdev, const uint64_t ste[2], struct sio_domain *s2,
		uint32_t ssid, uint64_t cd[4], struct sio_dma_fault *f);
int smmu_cd_check(const struct smmu_inst *smmu, const uint64_t cd[4]);
uint64_t smmu_cd_key(uint32_t sid, uint32_t ssid);
unsigned int smmu_cd_tg0_lg2(unsigned int tg0);
unsigned int smmu_cd_tg1_lg2(unsigned int tg1);
unsigned int smmu_cd_ips_lg2(const struct smmu_inst *smmu, const uint64_t cd[4]);

/* translate.c */
int smmu_nested_translate(struct sio_domain *domain, const struct sio_dma_req *req,
			  struct sio_dma_xlate *xlate, struct sio_dma_fault *fault);

/* event.c */
enum sio_fault_disposition smmu_nested_fault_disposition(struct sio_domain *domain,
							 struct sio_dev *dev,
							 const struct sio_dma_fault *fault);
int smmu_nested_fault_event(struct sio_domain *domain, struct sio_dev *dev,
			    const struct sio_dma_fault *fault);
void smmu_dump_dev(struct sio_dev *dev, char *buf, size_t len);
void smmu_event_record(const struct smmu_dev *sdev, const struct sio_dma_fault *fault,
		       uint64_t evt[4]);

/* invalidate.c */
int smmu_viommu_cache_invalidate(struct sio_viommu *viommu, struct sio_user_data_array *array);

/* A fault of the SMMU's own configuration checks (C_BAD_*, F_STREAM_DISABLED) */
static inline int smmu_config_fault(struct sio_dma_fault *f, uint32_t event)
{
	f->kind = SIO_DMA_FAULT_CONFIG;
	f->event = event;
	f->stage = 1;
	f->ipa = 0;
	f->s2_walk = false;
	f->cls = SIO_DMA_CLASS_CD;
	f->level = 0;
	return -EFAULT;
}

#endif
