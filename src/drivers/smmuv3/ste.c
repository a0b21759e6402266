// SPDX-License-Identifier: MIT
/*
 * The guest's STE (dwords 0 and 1 of IOMMU_HWPT_DATA_ARM_SMMUV3): what Linux 7.2 checks
 * when the nested HWPT is allocated (arm_smmu_validate_vste), and what the SMMU itself
 * checks when a transaction uses it (Arm IHI 0070, 5.2: an ILLEGAL STE is C_BAD_STE).
 */
#include <errno.h>

#include "smmuv3_int.h"

/*
 * As arm_smmu_validate_vste: V = 0 is accepted and zeroed (an abort STE); with V = 1 any bit
 * outside the nesting masks, a Config other than abort/bypass/stage 1, or an EATS other
 * than 0b00/0b01 is EIO. *@enable_ats: stage 1 with EATS = 0b01.
 */
int smmu_vste_validate(uint64_t ste[2], bool *enable_ats)
{
	unsigned int cfg, eats;

	if (!(ste[0] & STE0_V)) {
		ste[0] = ste[1] = 0;
		return 0;
	}
	if ((ste[0] & ~STE0_NESTING_ALLOWED) || (ste[1] & ~STE1_NESTING_ALLOWED))
		return -EIO;
	cfg = (unsigned int)STE0_CFG(ste[0]);
	if (cfg != STE_CFG_ABORT && cfg != STE_CFG_BYPASS && cfg != STE_CFG_S1)
		return -EIO;
	eats = (unsigned int)STE1_EATS(ste[1]);
	ste[1] &= ~STE1_EATS_MASK;
	if (eats > 1)
		return -EIO;
	if (cfg == STE_CFG_S1)
		*enable_ats = eats == 1;
	return 0;
}

/*
 * The hardware's legality checks of a stage-1 STE's guest part, which the driver leaves to
 * it: S1CDMax beyond SSIDSIZE, a 2-level CD table without CD2L, S1STALLD on an SMMU that
 * cannot stall. Return: 0, or the C_BAD_STE event.
 */
int smmu_ste_check(const struct smmu_inst *smmu, const uint64_t ste[2])
{
	unsigned int cdmax = (unsigned int)STE0_S1CDMAX(ste[0]);
	unsigned int stall_model = (smmu->idr[0] >> 24) & 3;

	if (cdmax > smmu->ssid_bits)
		return EVT_C_BAD_STE;
	if (cdmax && STE0_S1FMT(ste[0]) != STE_S1FMT_LINEAR && STE0_S1FMT(ste[0]) != 3 &&
	    !(smmu->idr[0] & SMMU_IDR0_CD2L))
		return EVT_C_BAD_STE;
	if ((ste[1] & STE1_S1STALLD) && stall_model != 0)
		return EVT_C_BAD_STE;
	return 0;
}
