/* SPDX-License-Identifier: MIT */
/*
 * The SMMUv3 model (issue 7): an Arm SMMUv3 behind the iommufd uAPI, as Linux 7.2's
 * arm-smmu-v3 driver drives one. This slice: the ID registers GET_HW_INFO reports, and
 * paging domains (stage 1 with an ASID, stage 2 with a VMID for NEST_PARENT) on the
 * page-table library's VMSAv8-64 formats.
 *
 * A device is created with flags saying which SMMU it sits behind: devices whose flags
 * describe the same configuration share one SMMU instance (its ASID and VMID spaces, and
 * domains attach to every device of it); other flags make another instance.
 */
#ifndef SIO_SMMUV3_H
#define SIO_SMMUV3_H

#include <stdint.h>

/*
 * softiommu_dev_create(fd, "smmuv3", flags, ...), or with options after the name,
 * "smmuv3:smmu=NAME,sid=N": the device sits on the SMMU instance called NAME (made with the
 * flags' configuration on first use; another configuration under that name is EINVAL), and
 * has StreamID N (EEXIST when taken on that SMMU, EINVAL beyond SIDSIZE). Instances without
 * a name are found by configuration; StreamIDs without sid= are handed out in order.
 */
#define SMMUV3_NAME_MAX 15

#define SMMUV3_DEV_NO_S1 (1u << 0)  /* the SMMU has no stage 1 (IDR0.S1P = 0) */
#define SMMUV3_DEV_NO_S2 (1u << 1)  /* no stage 2 (IDR0.S2P = 0): no nesting */
#define SMMUV3_DEV_PASID (1u << 2)  /* the device issues SubstreamIDs, as many as SSIDSIZE */
#define SMMUV3_DEV_STALL (1u << 3)  /* the device can stall (firmware's dma-can-stall) */
#define SMMUV3_DEV_TERM_ONLY (1u << 7) /* IDR0.STALL_MODEL = 0b01: the SMMU never stalls */
/* IDR5.OAS encoding + 1 (0: the default, 5 = 48 bits); 0..5 (32..48 bits) */
#define SMMUV3_DEV_OAS(enc) ((((uint32_t)(enc)) + 1) << 4)
#define SMMUV3_DEV_OAS_MASK (7u << 4)
/* IDR1.SIDSIZE (0: the default, 16); 1..32 */
#define SMMUV3_DEV_SID_BITS(n) (((uint32_t)(n)) << 8)
#define SMMUV3_DEV_SID_BITS_MASK (0x3fu << 8)
/* IDR1.SSIDSIZE + 1 (0: the default, 20); 0..20 */
#define SMMUV3_DEV_SSID_BITS(n) ((((uint32_t)(n)) + 1) << 16)
#define SMMUV3_DEV_SSID_BITS_MASK (0x1fu << 16)

#define SMMUV3_DEV_FLAGS_VALID                                                            \
	(SMMUV3_DEV_NO_S1 | SMMUV3_DEV_NO_S2 | SMMUV3_DEV_PASID | SMMUV3_DEV_STALL |      \
	 SMMUV3_DEV_TERM_ONLY | SMMUV3_DEV_OAS_MASK | SMMUV3_DEV_SID_BITS_MASK |          \
	 SMMUV3_DEV_SSID_BITS_MASK)
/* The flags that describe the device rather than its SMMU */
#define SMMUV3_DEV_PER_DEVICE (SMMUV3_DEV_PASID | SMMUV3_DEV_STALL)

/* The defaults: a 2-stage SMMUv3.2, 48-bit OAS, 16-bit StreamIDs, 20-bit SubstreamIDs */
#define SMMUV3_DEFAULT_OAS_ENC 5
#define SMMUV3_DEFAULT_SID_BITS 16
#define SMMUV3_DEFAULT_SSID_BITS 20

/* ID register fields (Arm IHI 0070, 6.3.1-6.3.6), as far as the model sets them */
#define SMMU_IDR0_S2P (1u << 0)
#define SMMU_IDR0_S1P (1u << 1)
#define SMMU_IDR0_TTF_AARCH64 (2u << 2)
#define SMMU_IDR0_COHACC (1u << 4)
#define SMMU_IDR0_HYP (1u << 9)
#define SMMU_IDR0_ATS (1u << 10)
#define SMMU_IDR0_ASID16 (1u << 12)
#define SMMU_IDR0_MSI (1u << 13)
#define SMMU_IDR0_SEV (1u << 14)
#define SMMU_IDR0_VMID16 (1u << 18)
#define SMMU_IDR0_CD2L (1u << 19)
#define SMMU_IDR0_TTENDIAN_MIXED (0u << 21)
#define SMMU_IDR0_STALL_MODEL_BOTH (0u << 24)
#define SMMU_IDR0_STALL_MODEL_TERM (1u << 24)
#define SMMU_IDR0_ST_LEVEL_2LVL (1u << 27)

#define SMMU_IDR1_SIDSIZE(n) ((uint32_t)(n) << 0)
#define SMMU_IDR1_SSIDSIZE(n) ((uint32_t)(n) << 6)
#define SMMU_IDR1_EVTQS(n) ((uint32_t)(n) << 16)
#define SMMU_IDR1_CMDQS(n) ((uint32_t)(n) << 21)
#define SMMU_IDR1_ATTR_PERMS_OVR (1u << 26)
#define SMMU_IDR1_ATTR_TYPES_OVR (1u << 27)

#define SMMU_IDR3_HAD (1u << 2)
#define SMMU_IDR3_XNX (1u << 4)
#define SMMU_IDR3_PPS (1u << 5)
#define SMMU_IDR3_RIL (1u << 10)
#define SMMU_IDR3_BBML2 (2u << 11)

#define SMMU_IDR5_OAS(enc) ((uint32_t)(enc) << 0)
#define SMMU_IDR5_GRAN4K (1u << 4)
#define SMMU_IDR5_GRAN16K (1u << 5)
#define SMMU_IDR5_GRAN64K (1u << 6)
#define SMMU_IDR5_STALL_MAX(n) ((uint32_t)(n) << 16)

/* IIDR: Arm Ltd (JEP106 0x43B), ProductID 0x487 (MMU-700), r1p1; AIDR: SMMUv3.2 */
#define SMMU_IIDR_DEFAULT ((0x487u << 20) | (1u << 16) | (1u << 12) | 0x43bu)
#define SMMU_AIDR_DEFAULT 0x02u

/*
 * Event records of nested translations since the program started, on every SMMU: those
 * forwarded to a vEVENTQ, and those Linux leaves to the host's log (stage-2 faults, types
 * it does not forward, devices without a vSID, vIOMMUs without a vEVENTQ)
 */
void smmuv3_event_counts(uint64_t *forwarded, uint64_t *host);
/* The last record left to the host's log (its StreamID the physical one); -ENOENT: none */
int smmuv3_last_host_event(uint64_t evt[4]);

#endif
