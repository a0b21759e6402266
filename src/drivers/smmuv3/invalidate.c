// SPDX-License-Identifier: MIT
/*
 * IOMMU_HWPT_INVALIDATE on an SMMUv3 vIOMMU (IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3): the
 * guest's own commands, converted as Linux 7.2's arm_vsmmu_cache_invalidate does (VMID
 * forced to the vIOMMU's, vSID → physical StreamID, TLBI_NSNH_ALL → TLBI_NH_ALL, anything
 * else EIO) and issued in Linux's blocks of 63; the call returns after one sync of all it
 * issued, so no DMA sees an invalidated translation or configuration after it.
 *
 * Execution, one function per command, kills each command's scope: stage-1 translations
 * carry a (VMID, ASID) tag or the vIOMMU's global tag (translate.c), so TLBI_NH_ASID is
 * that ASID's tag, TLBI_NH_VA its range on the ASID's and the global tag, TLBI_NH_VAA and
 * TLBI_NH_ALL the range or all of the vIOMMU's nested domains; CFGI_CD the CD's record,
 * CFGI_CD_ALL the StreamID's records, both and ATC_INV the device's IOTLB entries. The
 * TLBIs are recorded without a wait, and one grace period per call is their CMD_SYNC.
 */
#include <endian.h>
#include <errno.h>

#include "smmuv3_int.h"

#define CMD_OP(c) ((unsigned int)((c)[0] & 0xff))
#define CMD_OP_CFGI_CD 0x05
#define CMD_OP_CFGI_CD_ALL 0x06
#define CMD_OP_TLBI_NH_ALL 0x10
#define CMD_OP_TLBI_NH_ASID 0x11
#define CMD_OP_TLBI_NH_VA 0x12
#define CMD_OP_TLBI_NH_VAA 0x13
#define CMD_OP_TLBI_NSNH_ALL 0x30
#define CMD_OP_ATC_INV 0x40
#define CMD_TLBI0_VMID_MASK SMMU_GENMASK(47, 32)
#define CMD_CFGI0_SID_MASK SMMU_GENMASK(63, 32)
#define CMD_CFGI0_SSID(c) ((uint32_t)SMMU_FIELD((c)[0], 31, 12))

/* Linux issues CMDQ_BATCH_ENTRIES - 1 user commands, then its CMD_SYNC */
#define SMMU_INV_BLOCK 63

struct inv_cmd {
	uint64_t cmd[2];
	struct sio_dev *dev; /* SID commands: the vDEVICE's device, referenced until synced */
	bool dev_inv;        /* issued, and the device's IOTLB entries go at the sync */
};

/* As arm_vsmmu_convert_user_cmd */
static int inv_convert(struct smmu_viommu *vsmmu, struct inv_cmd *c)
{
	c->cmd[0] = le64toh(c->cmd[0]);
	c->cmd[1] = le64toh(c->cmd[1]);
	switch (CMD_OP(c->cmd)) {
	case CMD_OP_TLBI_NSNH_ALL:
		c->cmd[0] = CMD_OP_TLBI_NH_ALL | (uint64_t)vsmmu->vmid << 32;
		c->cmd[1] = 0;
		return 0;
	case CMD_OP_TLBI_NH_VA:
	case CMD_OP_TLBI_NH_VAA:
	case CMD_OP_TLBI_NH_ALL:
	case CMD_OP_TLBI_NH_ASID:
		c->cmd[0] = (c->cmd[0] & ~CMD_TLBI0_VMID_MASK) | (uint64_t)vsmmu->vmid << 32;
		return 0;
	case CMD_OP_ATC_INV:
	case CMD_OP_CFGI_CD:
	case CMD_OP_CFGI_CD_ALL:
		c->dev = sio_viommu_find_dev(&vsmmu->core, c->cmd[0] >> 32);
		if (!c->dev)
			return -EIO;
		c->cmd[0] = (c->cmd[0] & ~CMD_CFGI0_SID_MASK) |
			    (uint64_t)to_smmu_dev(c->dev)->sid << 32;
		return 0;
	}
	return -EIO;
}

/* Every IOTLB entry of the vIOMMU's nested domains, or those overlapping a VA range */
static void inv_nested(struct smmu_viommu *vsmmu, uint64_t va, uint64_t len, bool all)
{
	struct smmu_nested *nested;

	pthread_mutex_lock(&vsmmu->nested_lock);
	list_for_each_entry(nested, &vsmmu->nested, item) {
		if (all)
			sio_iotlb_invalidate_all_nosync(&nested->domain.iotlb);
		else
			sio_iotlb_invalidate_range_nosync(&nested->domain.iotlb, va, len);
	}
	pthread_mutex_unlock(&vsmmu->nested_lock);
}

/*
 * The VA range of a TLBI_NH_VA/VAA (Arm IHI 0070, 4.4.1.1; Linux's
 * arm_smmu_tlb_inv_range_cmd): TG = 0, the one address (whatever leaf holds it); else
 * (NUM + 1) << SCALE granules of TG from Addr. TTL (the leaf's level) and Leaf (only leaf
 * entries) are hints: the IOTLB holds leaves only, and the range alone is exact.
 */
static void inv_va_range(const struct inv_cmd *c, uint64_t *va, uint64_t *len)
{
	static const unsigned int tg_lg2[] = { 12, 12, 14, 16 };
	unsigned int tg = (unsigned int)SMMU_FIELD(c->cmd[1], 11, 10);
	uint64_t num = SMMU_FIELD(c->cmd[0], 16, 12), scale = SMMU_FIELD(c->cmd[0], 24, 20);

	*va = c->cmd[1] & ~0xfffULL;
	/* SCALE up to 31 with a 64 KiB granule: 2^47 · 32 still fits in 64 bits */
	*len = tg ? (num + 1) << (scale + tg_lg2[tg]) : 1ULL << 12;
	if (*va + *len < *va)
		*len = -*va;
}

static uint16_t inv_asid(const struct inv_cmd *c)
{
	return (uint16_t)(c->cmd[0] >> 48);
}

/* TLBI_NH_ALL: every stage-1 entry of the VMID (global ones included) */
static void inv_tlbi_nh_all(struct smmu_viommu *vsmmu, const struct inv_cmd *c)
{
	(void)c;
	inv_nested(vsmmu, 0, 0, true);
}

/* TLBI_NH_ASID: the ASID's entries; global ones (nG = 0) survive */
static void inv_tlbi_nh_asid(struct smmu_viommu *vsmmu, const struct inv_cmd *c)
{
	sio_iotlb_invalidate_all_nosync(smmu_asid_tag(vsmmu, inv_asid(c)));
}

/* TLBI_NH_VA: the ASID's entries of a VA range, and the global ones of that range */
static void inv_tlbi_nh_va(struct smmu_viommu *vsmmu, const struct inv_cmd *c)
{
	uint64_t va, len;

	inv_va_range(c, &va, &len);
	sio_iotlb_invalidate_range_nosync(smmu_asid_tag(vsmmu, inv_asid(c)), va, len);
	sio_iotlb_invalidate_range_nosync(&vsmmu->global_tag, va, len);
}

/* TLBI_NH_VAA: a VA range of every ASID (the nested domains' tags hold them all) */
static void inv_tlbi_nh_vaa(struct smmu_viommu *vsmmu, const struct inv_cmd *c)
{
	uint64_t va, len;

	inv_va_range(c, &va, &len);
	inv_nested(vsmmu, va, len, false);
}

/*
 * CFGI_CD: the CD of (SID, SSID); Leaf is a hint. The IOTLB's entries are the device's
 * (keyed by PASID, not by ASID as the SMMU's TLB is), so a CD naming a new ASID or tables
 * must not find them: the device's entries go at the sync (inv_cmd.dev_inv)
 */
static void inv_cfgi_cd(struct smmu_viommu *vsmmu, const struct inv_cmd *c)
{
	sio_cfg_cache_invalidate(&vsmmu->smmu->cd_cache,
				 smmu_cd_key((uint32_t)(c->cmd[0] >> 32), CMD_CFGI0_SSID(c->cmd)));
}

/*
 * CFGI_CD_ALL: every CD of the StreamID: records carry the device's cfg_gen they were
 * fetched under, so a new one makes all of them (and fills in flight) miss
 */
static void inv_cfgi_cd_all(struct smmu_viommu *vsmmu, const struct inv_cmd *c)
{
	(void)vsmmu;
	smmu_dev_new_cfg_gen(to_smmu_dev(c->dev));
}

/* Issue @n converted commands (their sync is the call's, smmu_viommu_cache_invalidate) */
static void inv_issue(struct smmu_viommu *vsmmu, struct inv_cmd *c, uint32_t n)
{
	for (uint32_t i = 0; i != n; i++) {
		switch (CMD_OP(c[i].cmd)) {
		case CMD_OP_TLBI_NH_ALL:
			inv_tlbi_nh_all(vsmmu, &c[i]);
			break;
		case CMD_OP_TLBI_NH_ASID:
			inv_tlbi_nh_asid(vsmmu, &c[i]);
			break;
		case CMD_OP_TLBI_NH_VA:
			inv_tlbi_nh_va(vsmmu, &c[i]);
			break;
		case CMD_OP_TLBI_NH_VAA:
			inv_tlbi_nh_vaa(vsmmu, &c[i]);
			break;
		case CMD_OP_CFGI_CD:
			inv_cfgi_cd(vsmmu, &c[i]);
			c[i].dev_inv = true;
			break;
		case CMD_OP_CFGI_CD_ALL:
			inv_cfgi_cd_all(vsmmu, &c[i]);
			c[i].dev_inv = true;
			break;
		case CMD_OP_ATC_INV:
			/* The device's translations (its whole ATC) */
			c[i].dev_inv = true;
			break;
		}
	}
}

/*
 * The CMD_SYNC of every issued command: the devices named by CFGI/ATC_INV lose their
 * entries (each with a grace period, the core's sio_dev_invalidate_iotlb; one per device
 * in a row of commands naming it), and the last grace period covers every TLBI recorded
 * before it, and drains the CD cache (sio_cfg_cache_drain is a grace period; a device not
 * bound to iommufd has no attachment, so no DMA that could hold a record of it)
 */
static void inv_sync(struct inv_cmd *c, uint32_t issued)
{
	struct sio_dev *last = NULL;

	for (uint32_t i = 0; i != issued; i++) {
		if (!c[i].dev_inv || c[i].dev == last)
			continue;
		last = c[i].dev;
		sio_dev_invalidate_iotlb(last);
	}
	if (issued && !last)
		sio_iotlb_sync();
}

/**
 * smmu_viommu_cache_invalidate() - as arm_vsmmu_cache_invalidate: an empty array is EINVAL
 * (the full-array copy refuses it); a command that does not convert is EIO with
 * @array->entry_num at its index, and the entries of its block before it are counted but
 * not issued
 */
int smmu_viommu_cache_invalidate(struct sio_viommu *viommu, struct sio_user_data_array *array)
{
	struct smmu_viommu *vsmmu = to_smmu_viommu(viommu);
	uint32_t n = array->entry_num, cur = 0, last = 0;
	struct inv_cmd *cmds;
	uint64_t (*raw)[2];
	int rc;

	cmds = sio_calloc(n ? n : 1, sizeof(*cmds));
	raw = sio_calloc(n ? n : 1, sizeof(*raw));
	if (!cmds || !raw) {
		rc = -ENOMEM;
		goto out;
	}
	rc = sio_copy_struct_from_full_user_array(raw, sizeof(*raw), array,
						  IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3);
	if (rc)
		goto out;
	while (cur != n) {
		cmds[cur].cmd[0] = raw[cur][0];
		cmds[cur].cmd[1] = raw[cur][1];
		rc = inv_convert(vsmmu, &cmds[cur]);
		if (rc)
			goto out;
		cur++;
		if (cur != n && cur - last != SMMU_INV_BLOCK)
			continue;
		inv_issue(vsmmu, &cmds[last], cur - last);
		last = cur;
	}
out:
	/* One sync for every block issued, even when a later one failed */
	if (cmds)
		inv_sync(cmds, last);
	array->entry_num = cur;
	for (uint32_t i = 0; cmds && i != n; i++)
		if (cmds[i].dev)
			sio_viommu_put_dev(cmds[i].dev);
	sio_free(raw);
	sio_free(cmds);
	return rc;
}
