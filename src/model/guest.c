// SPDX-License-Identifier: MIT
/*
 * Guest memory as a model's own fetches see it: tables, context descriptors and queues
 * live at IPAs of the vIOMMU's stage-2 domain (DESIGN.md, memory model). A read translates
 * each page through the stage-2 domain's translate hook (a read of the IOMMU itself: no
 * device, no PASID) and copies with the fault-safe copy, so memory the client unmapped is
 * -EFAULT, never a signal.
 */
#include "model.h"
#include "../core/sio.h"

int __sio_guest_read(struct sio_domain *s2, uint64_t ipa, void *buf, size_t len,
		     struct sio_dma_fault *fault)
{
	struct sio_dma_fault f = { .access = SIO_DMA_READ };
	struct sio_dma_req req = { .access = SIO_DMA_READ };
	char *out = buf;

	while (len) {
		struct sio_dma_xlate x;
		uint64_t n;

		req.iova = ipa;
		f.iova = ipa;
		if (!s2->ops->translate) {
			f.kind = SIO_DMA_FAULT_BLOCKED;
			goto fault;
		}
		if (s2->ops->translate(s2, &req, &x, &f))
			goto fault;
		n = (1ULL << x.leaf_lg2) - (ipa & ((1ULL << x.leaf_lg2) - 1));
		n = min_t(uint64_t, n, len);
		if (sio_copy_pa(out, x.pa, n, false)) {
			f.kind = SIO_DMA_FAULT_WALK_EABT;
			goto fault;
		}
		out += n;
		ipa += n;
		len -= n;
	}
	return 0;
fault:
	/* The fetch was the IOMMU's own: stage 2 failed it on the way to a table */
	f.stage = 2;
	f.ipa = ipa;
	f.s2_walk = true;
	f.cls = SIO_DMA_CLASS_TT;
	if (fault)
		*fault = f;
	return -EFAULT;
}

int sio_guest_read(struct sio_domain *s2, uint64_t ipa, void *buf, size_t len,
		   struct sio_dma_fault *fault)
{
	int rc;

	pthread_rwlock_rdlock(&s2->dma_lock);
	rc = __sio_guest_read(s2, ipa, buf, len, fault);
	pthread_rwlock_unlock(&s2->dma_lock);
	return rc;
}

int sio_host_read(uint64_t pa, void *buf, size_t len)
{
	return sio_copy_pa(buf, pa, len, false);
}
