// SPDX-License-Identifier: MIT
/*
 * The DMA path (layer 7 of DESIGN.md): a device model's read or write at an IOVA, translated
 * through whatever the device (and PASID) is attached to, and faults routed as Linux routes
 * them (seed 000):
 *   - a recoverable fault on a HWPT with a fault queue becomes an I/O page fault record there;
 *   - otherwise, when the domain belongs to a vIOMMU, the model reports its event on the
 *     vIOMMU's vEVENTQ with the device's virtual ID;
 *   - otherwise it is counted (and logged) as unhandled.
 * The access itself fails with -EFAULT in every case (a real device would wait for the page
 * response and retry; a model retries by calling again).
 *
 * Concurrency: no global lock. The device group's lock is held for reading (the attachment
 * cannot change mid-access), and the translating domain's dma_lock for reading (its tables
 * cannot shrink: unmap takes it for writing), so after IOAS_UNMAP returns no access can still
 * reach the unmapped pages. Data moves with process_vm_readv/writev, one call per batch of
 * leaves, so memory the client unmapped behind our back is a fault, never a SIGSEGV.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "dma.h"

/* Leaves translated per system call that moves the data */
#define DMA_BATCH 64

static atomic_ulong unhandled_faults;

unsigned long sio_dma_unhandled_faults(void)
{
	return atomic_load(&unhandled_faults);
}

/* The domain whose tables a translation through @hwpt walks (a nested one's parent) */
static struct sio_domain *table_domain(struct sio_hw_pagetable *hwpt)
{
	if (hwpt->obj.type == SIO_OBJ_HWPT_NESTED)
		return to_hwpt_nested(hwpt)->parent->common.domain;
	return hwpt->domain;
}

/* Route a fault; called with the group lock held for reading */
static void route_fault(struct sio_device *idev, struct sio_hw_pagetable *hwpt,
			const struct sio_dma_fault *fault)
{
	static bool logged;
	uint32_t perm = 0;

	if (fault->access & SIO_DMA_READ)
		perm |= IOMMU_PGFAULT_PERM_READ;
	if (fault->access & SIO_DMA_WRITE)
		perm |= IOMMU_PGFAULT_PERM_WRITE;
	if (hwpt && hwpt->fault &&
	    (fault->kind == SIO_DMA_FAULT_TRANSLATION || fault->kind == SIO_DMA_FAULT_PERMISSION) &&
	    !__sio_report_iopf(idev, fault->pasid,
			       IOMMU_PGFAULT_FLAGS_LAST_PAGE |
				       (fault->pasid ? IOMMU_PGFAULT_FLAGS_PASID_VALID : 0),
			       0, perm, fault->iova))
		return;
	if (hwpt && hwpt->domain->ops->fault_event &&
	    !hwpt->domain->ops->fault_event(hwpt->domain, idev->dev, fault))
		return;
	atomic_fetch_add(&unhandled_faults, 1);
	if (!logged && getenv("SOFTIOMMU_LOG")) {
		logged = true;
		fprintf(stderr, "softiommu: unhandled DMA fault (kind %d) at IOVA 0x%llx from %s\n",
			fault->kind, (unsigned long long)fault->iova, idev->dev->name);
	}
}

/**
 * sio_dma_rw() - a device access of @len bytes at @iova of (@idev, @pasid)
 * @write: from @buf into the IOVA space, else from it into @buf
 * @fault: out (may be NULL): what faulted
 *
 * Return: 0; -EFAULT on a fault (routed as above); -EINVAL for an empty or wrapping range.
 */
int sio_dma_rw(struct sio_device *idev, uint32_t pasid, uint64_t iova, void *buf, size_t len,
	       bool write, struct sio_dma_fault *fault)
{
	unsigned int access = write ? SIO_DMA_WRITE : SIO_DMA_READ;
	struct sio_dma_fault f = { .iova = iova, .pasid = pasid, .access = access };
	struct sio_hw_pagetable *hwpt;
	struct sio_domain *tdom = NULL;
	uint64_t last;
	int rc = 0;

	if (!len || check_add_overflow(iova, (uint64_t)len - 1, &last))
		return -EINVAL;
	pthread_rwlock_rdlock(&idev->igroup->lock);
	hwpt = __sio_device_pasid_hwpt(idev, pasid);
	if (!hwpt || !hwpt->domain->ops->translate) {
		f.kind = SIO_DMA_FAULT_BLOCKED;
		rc = -EFAULT;
		goto out_route;
	}
	tdom = table_domain(hwpt);
	pthread_rwlock_rdlock(&tdom->dma_lock);
	while (len && !rc) {
		struct iovec seg[DMA_BATCH];
		uint64_t seg_iova[DMA_BATCH];
		unsigned int nr = 0;
		size_t batch = 0, done;

		/* Translate up to DMA_BATCH leaves, then move them with one system call */
		while (len > batch && nr < DMA_BATCH) {
			uint64_t pa, contig, at = iova + batch;
			size_t n;

			rc = hwpt->domain->ops->translate(hwpt->domain, at, access, &pa, &contig,
							  &f);
			if (rc)
				break;
			n = contig < len - batch ? contig : len - batch;
			seg[nr].iov_base = (void *)(uintptr_t)pa;
			seg[nr].iov_len = n;
			seg_iova[nr++] = at;
			batch += n;
		}
		/* Bytes before a translation fault still move, as a device's earlier beats do */
		done = nr ? sio_copy_user_sg(buf, batch, seg, nr, write) : 0;
		if (done != batch) {
			unsigned int i = 0;

			/* The leaf holding the first byte that did not move */
			while (done >= seg[i].iov_len)
				done -= seg[i++].iov_len;
			f.kind = SIO_DMA_FAULT_ACCESS;
			f.iova = seg_iova[i];
			rc = -EFAULT;
			break;
		}
		buf = (char *)buf + batch;
		iova += batch;
		len -= batch;
	}
	pthread_rwlock_unlock(&tdom->dma_lock);
out_route:
	if (rc) {
		f.pasid = pasid;
		f.access = access;
		route_fault(idev, hwpt, &f);
	}
	pthread_rwlock_unlock(&idev->igroup->lock);
	if (rc && fault)
		*fault = f;
	return rc;
}
