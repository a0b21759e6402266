// SPDX-License-Identifier: MIT
/*
 * Faults of nested translations as SMMUv3 event records (Arm IHI 0070, 7.3: 32 bytes, four
 * little-endian dwords), and where Linux 7.2 sends them (arm_smmu_handle_event,
 * arm_vmaster_report_event): the eight types it forwards, of a device with a vmaster
 * record, stage 1 only, go to the vIOMMU's vEVENTQ with the StreamID replaced by the vSID;
 * everything else stays in the host's log, which here is a counter. The DMA path's router
 * calls these hooks; the SMMU model stalls nothing (its CDs terminate).
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "smmuv3_int.h"

/*
 * Event records the SMMUs wrote: forwarded to a vEVENTQ, or left to the host's log, whose
 * last record is kept (a leaf lock: reporting runs outside any DMA section)
 */
static atomic_uint_least64_t evt_forwarded, evt_host;
static pthread_mutex_t host_log_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t host_log_last[4];

void smmuv3_event_counts(uint64_t *forwarded, uint64_t *host)
{
	*forwarded = atomic_load(&evt_forwarded);
	*host = atomic_load(&evt_host);
}

/* softiommu dump: the device's StreamID and the (process-wide) event counters */
void smmu_dump_dev(struct sio_dev *dev, char *buf, size_t len)
{
	uint64_t fwd, host;

	smmuv3_event_counts(&fwd, &host);
	snprintf(buf, len, "sid=0x%x events_forwarded=%llu events_host_log=%llu",
		 to_smmu_dev(dev)->sid, (unsigned long long)fwd, (unsigned long long)host);
}

int smmuv3_last_host_event(uint64_t evt[4])
{
	pthread_mutex_lock(&host_log_lock);
	memcpy(evt, host_log_last, sizeof(host_log_last));
	pthread_mutex_unlock(&host_log_lock);
	return atomic_load(&evt_host) ? 0 : -ENOENT;
}

static void host_log(const uint64_t evt[4])
{
	pthread_mutex_lock(&host_log_lock);
	memcpy(host_log_last, evt, sizeof(host_log_last));
	atomic_fetch_add(&evt_host, 1);
	pthread_mutex_unlock(&host_log_lock);
}

/* The record type of a fault (0 when the SMMU records none) */
static unsigned int event_type(const struct sio_dma_fault *f)
{
	if (f->event & SMMU_EVT_NORECORD)
		return 0;
	switch (f->kind) {
	case SIO_DMA_FAULT_CONFIG:
		return SMMU_EVT_TYPE(f->event);
	case SIO_DMA_FAULT_TRANSLATION:
		return EVT_F_TRANSLATION;
	case SIO_DMA_FAULT_PERMISSION:
		return EVT_F_PERMISSION;
	case SIO_DMA_FAULT_ACCESS_FLAG:
		return EVT_F_ACCESS;
	case SIO_DMA_FAULT_ADDR_SIZE:
		return EVT_F_ADDR_SIZE;
	case SIO_DMA_FAULT_WALK_EABT:
		return f->cls == SIO_DMA_CLASS_CD ? EVT_F_CD_FETCH : EVT_F_WALK_EABT;
	case SIO_DMA_FAULT_NONE:
	case SIO_DMA_FAULT_BLOCKED:
	case SIO_DMA_FAULT_ACCESS: /* the memory behind a translation: the bus's, not the SMMU's */
		break;
	}
	return 0;
}

static bool forwarded_type(unsigned int type)
{
	switch (type) {
	case EVT_C_BAD_STE:
	case EVT_F_STREAM_DISABLED:
	case EVT_C_BAD_SUBSTREAMID:
	case EVT_C_BAD_CD:
	case EVT_F_TRANSLATION:
	case EVT_F_ADDR_SIZE:
	case EVT_F_ACCESS:
	case EVT_F_PERMISSION:
		return true;
	}
	return false;
}

static uint64_t event_class(enum sio_dma_fault_class cls)
{
	switch (cls) {
	case SIO_DMA_CLASS_CD:
		return EVT_CLASS_CD;
	case SIO_DMA_CLASS_TT:
		return EVT_CLASS_TT;
	case SIO_DMA_CLASS_IN:
		break;
	}
	return EVT_CLASS_IN;
}

/**
 * smmu_event_record() - the event record of @fault of @sdev's transaction, as the SMMU
 * writes it: type, SSV/SSID, StreamID; for the translation-class records also RnW, S2,
 * CLASS, the input address and (stage 2) the IPA, or the fetch address of an abort.
 * Transactions are unprivileged data accesses (PnU = InD = 0) and never stall.
 */
void smmu_event_record(const struct smmu_dev *sdev, const struct sio_dma_fault *fault,
		       uint64_t evt[4])
{
	unsigned int type = event_type(fault);

	memset(evt, 0, 4 * sizeof(*evt));
	evt[0] = type | (uint64_t)sdev->sid << EVT0_SID_SHIFT;
	switch (type) {
	case EVT_F_STREAM_DISABLED:
		return; /* the StreamID only */
	case EVT_C_BAD_SUBSTREAMID:
		/* The SubstreamID is always valid here, and no SSV is given */
		evt[0] |= (uint64_t)(fault->pasid & 0xfffff) << EVT0_SSID_SHIFT;
		return;
	}
	if (fault->pasid_valid)
		evt[0] |= EVT0_SSV | (uint64_t)(fault->pasid & 0xfffff) << EVT0_SSID_SHIFT;
	switch (type) {
	case EVT_F_TRANSLATION:
	case EVT_F_ADDR_SIZE:
	case EVT_F_ACCESS:
	case EVT_F_PERMISSION:
		evt[3] = fault->stage == 2 ? fault->ipa & EVT3_IPA_MASK : 0;
		break;
	case EVT_F_CD_FETCH:
		/* The fetch address only (an IPA here: the model's PAs are host addresses) */
		evt[3] = fault->ipa & EVT3_FETCH_MASK;
		return;
	case EVT_F_WALK_EABT:
		evt[3] = fault->ipa & EVT3_FETCH_MASK;
		break;
	default:
		return; /* C_BAD_STE, C_BAD_CD: StreamID and substream */
	}
	/* A stalled transaction's record: Stall, and STAG (the model's page group: 0) */
	evt[1] = ((fault->event & SMMU_EVT_STALL) ? EVT1_STALL : 0) |
		 ((fault->access & SIO_DMA_WRITE) ? 0 : EVT1_RNW) |
		 (fault->stage == 2 ? EVT1_S2 : 0) |
		 event_class(fault->cls) << EVT1_CLASS_SHIFT;
	evt[2] = fault->iova;
}

/*
 * A stalled transaction is a page request for the HWPT's fault queue (arm_smmu_handle_event
 * with Stall = 1: iommu_report_device_fault); every other fault the SMMU records is an
 * event; the rest are silent aborts
 */
enum sio_fault_disposition smmu_nested_fault_disposition(struct sio_domain *domain,
							 struct sio_dev *dev,
							 const struct sio_dma_fault *fault)
{
	(void)domain;
	(void)dev;
	if (!event_type(fault))
		return SIO_FAULT_UNHANDLED;
	return (fault->event & SMMU_EVT_STALL) ? SIO_FAULT_IOPF : SIO_FAULT_EVENT;
}

/*
 * As arm_smmu_handle_event + arm_vmaster_report_event: forward the eight types, stage 1,
 * of a device with a vmaster on this domain's vIOMMU, StreamID → vSID (its low 32 bits);
 * 0 when a vEVENTQ took it. What is not forwarded is counted as the host's log.
 */
int smmu_nested_fault_event(struct sio_domain *domain, struct sio_dev *dev,
			    const struct sio_dma_fault *fault)
{
	struct smmu_nested *nested = to_smmu_nested(domain);
	struct smmu_dev *sdev = to_smmu_dev(dev);
	struct iommu_vevent_arm_smmuv3 vevt;
	uint64_t evt[4];
	int rc = -ENOENT;

	smmu_event_record(sdev, fault, evt);
	/* A stall nobody took (no fault queue) is answered with an error and logged */
	if (forwarded_type(SMMU_EVT_TYPE(evt[0])) && !(evt[1] & (EVT1_S2 | EVT1_STALL)) &&
	    sdev->vmaster == nested->vsmmu) {
		vevt.evt[0] = htole64((evt[0] & 0xffffffffULL) |
				      (sdev->vsid & 0xffffffffULL) << EVT0_SID_SHIFT);
		for (unsigned int i = 1; i != 4; i++)
			vevt.evt[i] = htole64(evt[i]);
		rc = sio_viommu_report_event(&nested->vsmmu->core, IOMMU_VEVENTQ_TYPE_ARM_SMMUV3,
					     &vevt, sizeof(vevt));
	}
	if (rc)
		host_log(evt);
	else
		atomic_fetch_add(&evt_forwarded, 1);
	return rc;
}
