// SPDX-License-Identifier: MIT
/*
 * A transaction through a nested STE, as the SMMU walks it (Arm IHI 0070, 3.4 and 5.x;
 * the fact sheet's section 2.5): the guest STE's Config, its legality, the substream
 * (S1CDMax, S1DSS, SSV/SSID), the CD (cd.c), the stage-1 walk of TTB0 or TTB1 in guest
 * memory, every descriptor fetched at an IPA through the vIOMMU's stage 2, and stage 2 on
 * the output IPA. Each step's failure is the architecture's fault or event, as data for
 * event.c.
 *
 * The stage-1 walk is written here rather than on pt_walk_nested(): a guest table of the
 * library is a handle pt_table_alloc() allocates, and this hook runs in a DMA section where
 * nothing may be allocated; the CD's TTB1 region, EPDx, TBI, AFFD and the unprivileged
 * transaction's AP checks are the SMMU's, not the library's.
 */
#include <errno.h>

#include "smmuv3_int.h"

/* The transaction's stage-2 translation of @ipa: stage 2's fault with CLASS = IN */
static int s2_stage(struct sio_domain *s2, const struct sio_dma_req *req, uint64_t ipa,
		    struct sio_dma_xlate *x, struct sio_dma_fault *f)
{
	struct sio_dma_req r = { .dev = req->dev, .iova = ipa, .access = req->access };
	struct sio_dma_fault sf = {};

	if (!s2->ops->translate(s2, &r, x, &sf))
		return 0;
	f->kind = sf.kind;
	f->level = sf.level;
	f->stage = 2;
	f->ipa = ipa;
	f->s2_walk = false;
	f->cls = SIO_DMA_CLASS_IN;
	f->event = 0;
	return -EFAULT;
}

static int s1_fault(struct sio_dma_fault *f, enum sio_dma_fault_kind kind, unsigned int level)
{
	f->kind = kind;
	f->level = level;
	f->stage = 1;
	f->ipa = 0;
	f->s2_walk = false;
	f->cls = SIO_DMA_CLASS_IN;
	f->event = 0;
	return -EFAULT;
}

/* What a successful stage-1 walk found */
struct s1_result {
	uint64_t ipa;
	unsigned int leaf_lg2;
	unsigned int access; /* SIO_DMA_* the leaf allows this (unprivileged) transaction */
	bool global;         /* nG = 0: the entry is any ASID's (TLBI_NH_ASID keeps it) */
};

/* Blocks: 4 KiB granule at levels 1 and 2, 16 and 64 KiB at level 2 only (no 52-bit) */
static bool s1_block_ok(unsigned int granule_lg2, unsigned int level)
{
	return level == 2 || (level == 1 && granule_lg2 == 12);
}

/*
 * The VMSAv8-64 stage-1 walk of @va under @cd, descriptors read through @s2. Requests are
 * unprivileged data accesses (PnU = 0, InD = 0): a leaf needs AP[1] (EL0 access), and a
 * write AP[2] = 0; APTable[0] / APTable[1] restrict the levels below.
 */
static int s1_walk(const struct smmu_inst *smmu, const uint64_t cd[4], struct sio_domain *s2,
		   const struct sio_dma_req *req, struct s1_result *out, struct sio_dma_fault *f)
{
	uint64_t va = req->iova;
	bool upper = (va >> 55) & 1;
	unsigned int tsz = (unsigned int)(upper ? CD0_T1SZ(cd[0]) : CD0_T0SZ(cd[0]));
	unsigned int g = upper ? smmu_cd_tg1_lg2((unsigned int)CD0_TG1(cd[0])) :
				 smmu_cd_tg0_lg2((unsigned int)CD0_TG0(cd[0]));
	bool tbi = cd[0] & (upper ? CD0_TBI1 : CD0_TBI0);
	bool epd = cd[0] & (upper ? CD0_EPD1 : CD0_EPD0);
	unsigned int ips = smmu_cd_ips_lg2(smmu, cd);
	unsigned int ias = 64 - tsz, stride, start, level;
	uint64_t table = (upper ? cd[2] : cd[1]) & CD_TTB_MASK, region;
	bool no_write = false, no_unpriv = false;

	/* EPDx = 1, or an address outside both regions: a translation fault */
	if (epd || !g || tsz < 16 || tsz > 39)
		return s1_fault(f, SIO_DMA_FAULT_TRANSLATION, 0);
	region = SMMU_GENMASK(tbi ? 55 : 63, ias);
	if ((va & region) != (upper ? region : 0))
		return s1_fault(f, SIO_DMA_FAULT_TRANSLATION, 0);
	stride = g - 3;
	start = 4 - (ias - g + stride - 1) / stride;
	level = start;
	/* The start table is aligned to its size: lower TTB bits are ignored */
	table &= ~((1ULL << (ias - (g + (3 - level) * stride) + 3)) - 1);
	for (;;) {
		unsigned int shift = g + (3 - level) * stride;
		unsigned int nbits = level == start ? ias - shift : stride;
		uint64_t idx = (va >> shift) & ((1ULL << nbits) - 1);
		struct sio_dma_fault rf;
		uint64_t desc, oa;

		if (__sio_guest_read(s2, table + idx * 8, &desc, sizeof(desc), &rf)) {
			/*
			 * Stage 2 failed the descriptor's IPA (CLASS = TT), or the fetch itself
			 * aborted: F_WALK_EABT of the stage-1 walk, its address in @ipa
			 */
			bool eabt = rf.kind == SIO_DMA_FAULT_WALK_EABT;

			f->kind = rf.kind;
			f->level = eabt ? level : rf.level;
			f->stage = eabt ? 1 : 2;
			f->ipa = rf.ipa;
			f->s2_walk = !eabt;
			f->cls = SIO_DMA_CLASS_TT;
			f->event = 0;
			return -EFAULT;
		}
		if (!(desc & 1))
			return s1_fault(f, SIO_DMA_FAULT_TRANSLATION, level);
		if (level < 3 && (desc & 2)) {
			oa = desc & SMMU_GENMASK(47, g);
			if ((desc & SMMU_GENMASK(51, 48)) || (oa >> ips))
				return s1_fault(f, SIO_DMA_FAULT_ADDR_SIZE, level);
			no_unpriv |= desc & SMMU_BIT(61);
			no_write |= desc & SMMU_BIT(62);
			table = oa;
			level++;
			continue;
		}
		if ((level == 3 && !(desc & 2)) || (level < 3 && !s1_block_ok(g, level)))
			return s1_fault(f, SIO_DMA_FAULT_TRANSLATION, level);
		oa = desc & SMMU_GENMASK(47, shift);
		if ((desc & SMMU_GENMASK(51, 48)) || (oa >> ips))
			return s1_fault(f, SIO_DMA_FAULT_ADDR_SIZE, level);
		/* AF = 0 faults unless AFFD (no HTTU: the SMMU never sets it) */
		if (!(desc & SMMU_BIT(10)) && !(cd[0] & CD0_AFFD))
			return s1_fault(f, SIO_DMA_FAULT_ACCESS_FLAG, level);
		if (!(desc & SMMU_BIT(6)) || no_unpriv)
			return s1_fault(f, SIO_DMA_FAULT_PERMISSION, level);
		no_write |= desc & SMMU_BIT(7);
		if ((req->access & SIO_DMA_WRITE) && no_write)
			return s1_fault(f, SIO_DMA_FAULT_PERMISSION, level);
		out->ipa = oa | (va & ((1ULL << shift) - 1));
		out->leaf_lg2 = shift;
		out->access = SIO_DMA_READ | (no_write ? 0 : SIO_DMA_WRITE);
		out->global = !(desc & SMMU_BIT(11));
		return 0;
	}
}

/*
 * Which CD serves the transaction (Arm IHI 0070, 5.2 S1CDMax/S1DSS): *@idx, or 1 with
 * *@idx unset when S1DSS bypasses stage 1, or -EFAULT with the event.
 */
static int s1_substream(const uint64_t ste[2], const struct sio_dma_req *req, uint32_t *idx,
			struct sio_dma_fault *f)
{
	unsigned int cdmax = (unsigned int)STE0_S1CDMAX(ste[0]);
	unsigned int dss = (unsigned int)STE1_S1DSS(ste[1]);

	if (!cdmax) {
		/* Substreams off: S1DSS is ignored, any SSID is refused */
		if (req->pasid_valid)
			return smmu_config_fault(f, EVT_C_BAD_SUBSTREAMID);
		*idx = 0;
		return 0;
	}
	if (!req->pasid_valid) {
		if (dss == STE_S1DSS_BYPASS)
			return 1;
		if (dss != STE_S1DSS_SSID0)
			return smmu_config_fault(f, EVT_F_STREAM_DISABLED);
		*idx = 0;
		return 0;
	}
	if (req->pasid >> cdmax)
		return smmu_config_fault(f, EVT_C_BAD_SUBSTREAMID);
	/* With S1DSS = 0b10, CD 0 is the non-substream traffic's: SSID 0 is disabled */
	if (!req->pasid && dss == STE_S1DSS_SSID0)
		return smmu_config_fault(f, EVT_F_STREAM_DISABLED);
	*idx = req->pasid;
	return 0;
}

/*
 * A translation-class fault of a device that can stall stalls (a page request instead of
 * an event) when its stage allows it: stage 1 with CD.S and not STE.S1STALLD, stage 2
 * always (the kernel's STE has S2S for such a device). Otherwise a stage-1 fault of a CD
 * with R = 0 is not recorded. Return: -EFAULT.
 */
static int fault_mark(struct sio_dma_fault *f, const struct smmu_dev *sdev, bool s1_stall,
		      bool s1_record)
{
	bool xlate = f->kind == SIO_DMA_FAULT_TRANSLATION || f->kind == SIO_DMA_FAULT_PERMISSION ||
		     f->kind == SIO_DMA_FAULT_ACCESS_FLAG || f->kind == SIO_DMA_FAULT_ADDR_SIZE;

	if (sdev->stall && xlate && (f->stage == 2 || s1_stall))
		f->event = SMMU_EVT_STALL;
	else if (xlate && f->stage == 1 && !s1_record)
		f->event = SMMU_EVT_NORECORD;
	return -EFAULT;
}

/**
 * smmu_nested_translate() - the nested domain's translate hook (the DMA path's miss): in a
 * DMA section, the stage-2 parent's dma_lock held for reading; takes no lock, allocates
 * nothing
 */
int smmu_nested_translate(struct sio_domain *domain, const struct sio_dma_req *req,
			  struct sio_dma_xlate *xlate, struct sio_dma_fault *f)
{
	struct smmu_nested *nested = to_smmu_nested(domain);
	struct sio_domain *s2 = &nested->vsmmu->s2_parent->domain;
	const uint64_t *ste = nested->ste;
	unsigned int cfg = (ste[0] & STE0_V) ? (unsigned int)STE0_CFG(ste[0]) : STE_CFG_ABORT;
	struct sio_iotlb_tag *asid_tag;
	uint64_t asid_gen, global_gen;
	struct sio_dma_xlate x2;
	struct smmu_dev *sdev;
	struct s1_result s1;
	uint64_t cd[4];
	bool s1_stall;
	uint32_t idx;
	int rc, ev;

	f->event = 0;
	if (!req->dev || cfg == STE_CFG_ABORT) {
		/* An abort STE: terminated, no event (a VMM wanting C_BAD_STE makes its own) */
		f->kind = SIO_DMA_FAULT_BLOCKED;
		return -EFAULT;
	}
	sdev = to_smmu_dev(req->dev);
	if (cfg == STE_CFG_BYPASS) {
		if (req->pasid_valid)
			return smmu_config_fault(f, EVT_C_BAD_SUBSTREAMID);
		rc = s2_stage(s2, req, req->iova, xlate, f);
		return rc ? fault_mark(f, sdev, false, true) : 0;
	}
	ev = smmu_ste_check(sdev->smmu, ste);
	if (ev)
		return smmu_config_fault(f, (uint32_t)ev);
	rc = s1_substream(ste, req, &idx, f);
	if (rc < 0)
		return rc;
	if (rc) {
		rc = s2_stage(s2, req, req->iova, xlate, f);
		return rc ? fault_mark(f, sdev, false, true) : 0;
	}
	rc = smmu_cd_get(sdev, ste, s2, idx, cd, f);
	if (rc)
		return f->kind == SIO_DMA_FAULT_CONFIG ? rc : fault_mark(f, sdev, false, true);
	ev = smmu_cd_check(sdev->smmu, cd);
	if (ev)
		return smmu_config_fault(f, (uint32_t)ev);
	s1_stall = (cd[0] & CD0_S) && !(ste[1] & STE1_S1STALLD);
	/*
	 * The walk's result is the (VMID, ASID)'s, or every ASID's for a global leaf (known
	 * only at the leaf): both generations before the first descriptor is read
	 */
	asid_tag = smmu_asid_tag(nested->vsmmu, (uint16_t)CD0_ASID(cd[0]));
	asid_gen = sio_iotlb_tag_gen(asid_tag);
	global_gen = sio_iotlb_tag_gen(&nested->vsmmu->global_tag);
	/* CD.R = 0: stage-1 faults terminate without a record (stage-2 ones are S2R's) */
	rc = s1_walk(sdev->smmu, cd, s2, req, &s1, f);
	if (rc)
		return fault_mark(f, sdev, s1_stall, cd[0] & CD0_R);
	rc = s2_stage(s2, req, s1.ipa, &x2, f);
	if (rc)
		return fault_mark(f, sdev, s1_stall, true);
	xlate->pa = x2.pa;
	xlate->leaf_lg2 = s1.leaf_lg2 < x2.leaf_lg2 ? s1.leaf_lg2 : x2.leaf_lg2;
	xlate->access = x2.access & s1.access;
	xlate->tag = s1.global ? &nested->vsmmu->global_tag : asid_tag;
	xlate->tag_gen = s1.global ? global_gen : asid_gen;
	return 0;
}
