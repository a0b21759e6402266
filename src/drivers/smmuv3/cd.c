// SPDX-License-Identifier: MIT
/*
 * Context descriptors of a nested STE (Arm IHI 0070, 5.4): found from S1ContextPtr, S1Fmt
 * and the CD index in guest memory (every L1CD and CD fetch an IPA read through the
 * vIOMMU's stage 2), checked as the hardware checks them (an ILLEGAL CD is C_BAD_CD), and
 * kept in the SMMU's configuration cache under (StreamID, CD index) until a CFGI_CD,
 * CFGI_CD_ALL or a change of the device's STE.
 */
#include <errno.h>
#include <string.h>

#include "smmuv3_int.h"

/* What a cached record holds besides CD dwords 0..3: the state it was fetched under */
enum {
	CD_REC_GEN = 4, /* the device's cfg_gen */
	CD_REC_STE0,    /* STE dword 0 (S1ContextPtr, S1Fmt, S1CDMax) */
	CD_REC_DEV,     /* the device (StreamIDs wrap past 2^SIDSIZE devices) */
};

uint64_t smmu_cd_key(uint32_t sid, uint32_t ssid)
{
	return (uint64_t)sid << 32 | ssid;
}

/* A failed fetch of a CD table structure: stage 2's fault, reported with CLASS = CD */
static int cd_fetch_fault(struct sio_dma_fault *f, const struct sio_dma_fault *rf)
{
	f->kind = rf->kind;
	f->stage = 2;
	f->ipa = rf->ipa;
	f->level = rf->level;
	f->s2_walk = true;
	f->cls = SIO_DMA_CLASS_CD;
	f->event = 0;
	return -EFAULT;
}

/* The CD at index @idx of the table the guest STE @ste points at, read through @s2 */
static int cd_fetch(const uint64_t ste[2], struct sio_domain *s2, uint32_t idx, uint64_t cd[4],
		    struct sio_dma_fault *f)
{
	unsigned int fmt = (unsigned int)STE0_S1FMT(ste[0]);
	uint64_t ptr = ste[0] & STE0_S1CTXPTR_MASK;
	struct sio_dma_fault rf;

	if (STE0_S1CDMAX(ste[0]) && (fmt == 1 || fmt == STE_S1FMT_64K_L2)) {
		unsigned int split = fmt == 1 ? 6 : 10;
		uint64_t l1;

		if (__sio_guest_read(s2, ptr + (uint64_t)(idx >> split) * 8, &l1, sizeof(l1), &rf))
			return cd_fetch_fault(f, &rf);
		if (!(l1 & L1CD_V))
			return smmu_config_fault(f, EVT_C_BAD_SUBSTREAMID);
		ptr = (l1 & L1CD_L2PTR_MASK) + (uint64_t)(idx & ((1u << split) - 1)) * CD_SIZE;
	} else {
		ptr += (uint64_t)idx * CD_SIZE;
	}
	if (__sio_guest_read(s2, ptr, cd, 4 * sizeof(*cd), &rf))
		return cd_fetch_fault(f, &rf);
	return 0;
}

/**
 * smmu_cd_get() - the CD @ssid of @sdev's guest STE @ste: from the configuration cache, or
 * fetched through @s2 and cached. In a DMA section, @s2's dma_lock held for reading.
 * Return: 0, or -EFAULT with @f filled in (a stage-2 fault of the fetch, C_BAD_SUBSTREAMID).
 */
int smmu_cd_get(struct smmu_dev *sdev, const uint64_t ste[2], struct sio_domain *s2,
		uint32_t ssid, uint64_t cd[4], struct sio_dma_fault *f)
{
	struct sio_cfg_cache *cache = &sdev->smmu->cd_cache;
	uint64_t key = smmu_cd_key(sdev->sid, ssid);
	uint64_t rec[SIO_CFG_CACHE_WORDS] = {};
	struct sio_cfg_ticket t;
	uint64_t gen;
	int rc;

	gen = atomic_load_explicit(&sdev->cfg_gen, memory_order_acquire);
	if (sio_cfg_cache_lookup(cache, key, rec) && rec[CD_REC_GEN] == gen &&
	    rec[CD_REC_STE0] == ste[0] && rec[CD_REC_DEV] == (uintptr_t)sdev) {
		memcpy(cd, rec, 4 * sizeof(*cd));
		return 0;
	}
	sio_cfg_cache_ticket(cache, key, &t);
	/* A CFGI_CD_ALL or STE change from here on makes the record's gen stale */
	gen = atomic_load_explicit(&sdev->cfg_gen, memory_order_acquire);
	rc = cd_fetch(ste, s2, ssid, cd, f);
	if (rc)
		return rc;
	memcpy(rec, cd, 4 * sizeof(*cd));
	rec[CD_REC_GEN] = gen;
	rec[CD_REC_STE0] = ste[0];
	rec[CD_REC_DEV] = (uintptr_t)sdev;
	sio_cfg_cache_insert(cache, &t, rec);
	return 0;
}

static const unsigned int ips_bits[] = { 32, 36, 40, 42, 44, 48, 52, 52 };

/* One translation table region's fields: TxSZ 16..39 (no STT), a granule, TTB in range */
static bool cd_region_ok(unsigned int tsz, unsigned int granule_lg2, uint64_t ttb,
			 unsigned int ips_lg2)
{
	if (tsz < 16 || tsz > 39 || !granule_lg2)
		return false;
	return !((ttb & CD_TTB_MASK) >> ips_lg2);
}

/* TG0: 0 = 4 KiB, 1 = 64 KiB, 2 = 16 KiB, 3 reserved; TG1: 1 = 16K, 2 = 4K, 3 = 64K */
unsigned int smmu_cd_tg0_lg2(unsigned int tg0)
{
	static const unsigned int lg2[] = { 12, 16, 14, 0 };

	return lg2[tg0 & 3];
}

unsigned int smmu_cd_tg1_lg2(unsigned int tg1)
{
	static const unsigned int lg2[] = { 0, 14, 12, 16 };

	return lg2[tg1 & 3];
}

/* The effective output size of a CD: IPS capped by the SMMU's OAS */
unsigned int smmu_cd_ips_lg2(const struct smmu_inst *smmu, const uint64_t cd[4])
{
	unsigned int ips = ips_bits[CD0_IPS(cd[0])];

	return ips < smmu->oas_lg2 ? ips : smmu->oas_lg2;
}

/**
 * smmu_cd_check() - the CD's legality as this SMMU judges it (Arm IHI 0070, 5.4.1): V, an
 * AArch64 table format (TTF), no HTTU flags the SMMU lacks, no stall on an SMMU that
 * cannot, and for each region not
 * disabled by EPDx a valid granule, TxSZ and a TTB within the effective IPS.
 * Return: 0, or the C_BAD_CD event.
 */
int smmu_cd_check(const struct smmu_inst *smmu, const uint64_t cd[4])
{
	unsigned int ips = smmu_cd_ips_lg2(smmu, cd);

	if (!(cd[0] & CD0_V) || !(cd[0] & CD0_AA64))
		return EVT_C_BAD_CD;
	/* IDR0.HTTU = 0: no hardware Access flag or dirty state updates */
	if (cd[0] & (CD0_HA | CD0_HD))
		return EVT_C_BAD_CD;
	/* A stalling CD on an SMMU that only terminates (STALL_MODEL 0b01) */
	if ((cd[0] & CD0_S) && ((smmu->idr[0] >> 24) & 3) == 1)
		return EVT_C_BAD_CD;
	if (!(cd[0] & CD0_EPD0) &&
	    !cd_region_ok((unsigned int)CD0_T0SZ(cd[0]),
			  smmu_cd_tg0_lg2((unsigned int)CD0_TG0(cd[0])), cd[1], ips))
		return EVT_C_BAD_CD;
	if (!(cd[0] & CD0_EPD1) &&
	    !cd_region_ok((unsigned int)CD0_T1SZ(cd[0]),
			  smmu_cd_tg1_lg2((unsigned int)CD0_TG1(cd[0])), cd[2], ips))
		return EVT_C_BAD_CD;
	return 0;
}
