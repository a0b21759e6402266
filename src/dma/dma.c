// SPDX-License-Identifier: MIT
/*
 * The DMA path (layer 7 of DESIGN.md): a device model's read or write at an IOVA (or a
 * scatter list of them), translated through whatever the device (and PASID) is attached to,
 * and faults routed as Linux routes them (seed 000), in one place (route_fault). The model
 * chooses (its domain's fault_disposition: stall or terminate), the router delivers:
 *   - SIO_FAULT_IOPF: an I/O page fault record on the HWPT's fault queue, when it has one;
 *   - SIO_FAULT_EVENT (and an IOPF with no queue): the model reports its event, e.g. on the
 *     vIOMMU's vEVENTQ with the device's virtual ID;
 *   - otherwise (or when the model declines) it is counted (and logged) as unhandled.
 * The access itself fails with -EFAULT in every case (a real device would wait for the page
 * response and retry; a model retries by calling again).
 *
 * Two paths, both in a DMA read-side section (epoch.c) from translation to the end of the
 * copy, so unmap, detach, replace and invalidation return only once no DMA still uses what
 * they removed:
 *   - the hit path takes no lock: every leaf comes from the device's IOTLB (iotlb.c), whose
 *     entries are checked against the group's attachment generation and the domains' tags;
 *   - on a miss, the group's lock is held for reading (the attachment cannot change, so the
 *     HWPT stays alive) and the walk runs under the translating domain's dma_lock for
 *     reading (unmap frees table pages; it takes the lock for writing, and writers are
 *     preferred), filling the IOTLB as it goes.
 * No lock is ever taken inside a section, and faults are routed outside one, so a writer may
 * wait for a grace period with any lock held. Sections end between batches of leaves, so a
 * long DMA delays a writer by one batch at most.
 *
 * Data moves with the fault-safe copy (sio_copy_user_sg), one call per batch of up to
 * DMA_BATCH translated leaves, so memory the client unmapped behind a mapping is a fault,
 * never a signal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "dma.h"
#include "../core/mem/uffd.h"

/* Leaves translated per copy, and the most a section covers */
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

/* Route a fault; called with the group lock held for reading, outside any section */
static void route_fault(struct sio_device *idev, struct sio_hw_pagetable *hwpt,
			const struct sio_dma_fault *fault)
{
	static atomic_bool logged;
	enum sio_fault_disposition disp = SIO_FAULT_UNHANDLED;
	uint32_t perm = 0;

	if (hwpt)
		disp = hwpt->domain->ops->fault_disposition ?
			       hwpt->domain->ops->fault_disposition(hwpt->domain, idev->dev, fault) :
			       sio_fault_default_disposition(fault);
	if (fault->access & SIO_DMA_READ)
		perm |= IOMMU_PGFAULT_PERM_READ;
	if (fault->access & SIO_DMA_WRITE)
		perm |= IOMMU_PGFAULT_PERM_WRITE;
	if (disp == SIO_FAULT_IOPF && hwpt->fault &&
	    !__sio_report_iopf(idev, fault->pasid,
			       IOMMU_PGFAULT_FLAGS_LAST_PAGE |
				       (fault->pasid_valid ? IOMMU_PGFAULT_FLAGS_PASID_VALID : 0),
			       0, perm, fault->iova))
		return;
	if (disp != SIO_FAULT_UNHANDLED && hwpt->domain->ops->fault_event &&
	    !hwpt->domain->ops->fault_event(hwpt->domain, idev->dev, fault))
		return;
	atomic_fetch_add(&unhandled_faults, 1);
	if (!atomic_load_explicit(&logged, memory_order_relaxed) && getenv("SOFTIOMMU_LOG") &&
	    !atomic_exchange(&logged, true))
		fprintf(stderr, "softiommu: unhandled DMA fault (kind %d) at IOVA 0x%llx from %s\n",
			fault->kind, (unsigned long long)fault->iova, idev->dev->name);
}

enum sio_fault_disposition sio_fault_default_disposition(const struct sio_dma_fault *fault)
{
	if (fault->kind == SIO_DMA_FAULT_TRANSLATION || fault->kind == SIO_DMA_FAULT_PERMISSION)
		return SIO_FAULT_IOPF;
	return SIO_FAULT_EVENT;
}

void sio_dma_attach_changed(struct sio_igroup *igroup)
{
	atomic_store(&igroup->dma_gen, sio_iotlb_new_gen());
}

/* Where a DMA has got to: segment, offset in it, bytes moved so far */
struct dma_cursor {
	const struct sio_dma_seg *seg, *end;
	size_t off;
	size_t moved;
	unsigned int access;
	bool write;
};

/* Translated leaves of the current segment, moved with one copy */
struct dma_batch {
	struct iovec iov[DMA_BATCH];
	uint64_t iova[DMA_BATCH];
	unsigned int nr;
	size_t len;
};

static uint64_t cursor_iova(const struct dma_cursor *c)
{
	return c->seg->iova + c->off;
}

static size_t cursor_rest(const struct dma_cursor *c)
{
	return c->seg->len - c->off;
}

static void batch_push(struct dma_batch *b, uint64_t iova, uint64_t pa, size_t n)
{
	b->iov[b->nr].iov_base = (void *)(uintptr_t)pa;
	b->iov[b->nr].iov_len = n;
	b->iova[b->nr++] = iova;
	b->len += n;
}

/*
 * Move @b and advance @c past what moved. Bytes before a fault still move, as a device's
 * earlier beats do. Return: 0, or -EFAULT with @f naming the first byte that did not move.
 */
static int batch_copy(struct dma_cursor *c, struct dma_batch *b, struct sio_dma_fault *f)
{
	size_t done = 0;
	unsigned int i = 0;

	/* Pinned memory is changing behind the shim's back (core/mem/uffd.c): wait, then resume */
	if (b->nr && sio_uffd_frozen())
		return -EAGAIN;
	if (b->nr)
		done = sio_copy_pa_sg((char *)c->seg->buf + c->off, b->len, b->iov, b->nr,
					c->write);
	c->moved += done;
	c->off += done;
	if (c->off == c->seg->len) {
		c->seg++;
		c->off = 0;
	}
	if (done == b->len)
		return 0;
	while (done >= b->iov[i].iov_len)
		done -= b->iov[i++].iov_len;
	f->kind = SIO_DMA_FAULT_ACCESS;
	f->iova = b->iova[i] + done; /* the first byte that did not move */
	return -EFAULT;
}

/*
 * The leaf the hit path last looked up: segments of a scatter DMA often share one, and a
 * translation stays usable until the section it was looked up in ends
 */
struct leaf_memo {
	uint64_t iova, pa, len; /* len 0: none */
};

static bool memo_lookup(struct sio_iotlb *tlb, uint32_t pasid, unsigned int access,
			struct leaf_memo *m, uint64_t iova, uint64_t *pa, uint64_t *contig)
{
	if (iova - m->iova < m->len) {
		*pa = m->pa + (iova - m->iova);
		*contig = m->len - (iova - m->iova);
		return true;
	}
	if (!sio_iotlb_lookup(tlb, pasid, iova, access, pa, contig))
		return false;
	*m = (struct leaf_memo){ iova, *pa, *contig };
	return true;
}

/* Fill @b from the IOTLB, up to the first miss; in a section */
static void batch_from_iotlb(struct sio_iotlb *tlb, uint32_t pasid, const struct dma_cursor *c,
			     struct leaf_memo *m, struct dma_batch *b)
{
	uint64_t iova = cursor_iova(c), pa, contig;
	size_t rest = cursor_rest(c);

	b->nr = 0;
	b->len = 0;
	while (b->len < rest && b->nr < DMA_BATCH &&
	       memo_lookup(tlb, pasid, c->access, m, iova + b->len, &pa, &contig))
		batch_push(b, iova + b->len, pa, min_t(uint64_t, contig, rest - b->len));
}

/*
 * The lock-free path: move what the IOTLB translates, stopping at the first miss (the slow
 * path continues from there). Return: 0, or -EFAULT when a copy faulted.
 */
static int dma_hit_path(struct sio_iotlb *tlb, uint32_t pasid, struct dma_cursor *c,
			struct sio_dma_fault *f)
{
	struct leaf_memo memo = {};
	unsigned int leaves = 0;
	struct dma_batch b;
	int rc = 0;

	if (!tlb || sio_dma_read_lock())
		return 0;
	while (c->seg != c->end) {
		size_t rest = cursor_rest(c);

		batch_from_iotlb(tlb, pasid, c, &memo, &b);
		if (!b.nr)
			break;
		rc = batch_copy(c, &b, f);
		if (rc || (b.len != rest && b.nr < DMA_BATCH))
			break;
		/* Let writers in between batches (the next lookups re-check everything) */
		leaves += b.nr;
		if (leaves >= DMA_BATCH) {
			leaves = 0;
			memo.len = 0;
			sio_dma_read_unlock();
			if (sio_dma_read_lock())
				return 0;
		}
	}
	sio_dma_read_unlock();
	return rc;
}

/* Walk @c's next leaves into @b, caching them; the table lock held, in a section */
static int batch_walk(struct sio_iotlb *tlb, struct sio_hw_pagetable *hwpt,
		      const struct sio_iotlb_fill *fill, struct sio_dma_req *req,
		      const struct dma_cursor *c, struct dma_batch *b, struct sio_dma_fault *f)
{
	uint64_t iova = cursor_iova(c);
	size_t rest = cursor_rest(c);

	b->nr = 0;
	b->len = 0;
	while (b->len < rest && b->nr < DMA_BATCH) {
		uint64_t at = iova + b->len, contig;
		struct sio_dma_xlate x;
		int rc;

		req->iova = at;
		f->iova = at;
		x.tag = NULL; /* the driver's own tag: none unless it names one */
		rc = hwpt->domain->ops->translate(hwpt->domain, req, &x, f);
		if (rc)
			return rc;
		if (tlb)
			sio_iotlb_insert(tlb, fill, req->pasid, at, &x);
		contig = (1ULL << x.leaf_lg2) - (at & ((1ULL << x.leaf_lg2) - 1));
		batch_push(b, at, x.pa, min_t(uint64_t, contig, rest - b->len));
	}
	return 0;
}

/*
 * The walking path, from wherever @c is; idev->igroup->lock held for reading. *@hwpt_out is
 * what the access translated through, for fault routing. Return: 0, -EFAULT or -ENOMEM.
 */
static int dma_walk_path(struct sio_device *idev, struct sio_iotlb *tlb, uint32_t pasid,
			 struct dma_cursor *c, struct sio_dma_fault *f,
			 struct sio_hw_pagetable **hwpt_out)
{
	struct sio_dma_req req = { .dev = idev->dev, .pasid = pasid,
				   .pasid_valid = pasid != SIO_NO_PASID, .access = c->access };
	struct sio_hw_pagetable *hwpt = __sio_device_xlate_hwpt(idev, pasid, req.pasid_valid, NULL);
	struct sio_iotlb_tag *parent_tag;
	uint64_t attach_gen;
	struct sio_domain *tdom;

	*hwpt_out = hwpt;
	if (!hwpt || !hwpt->domain->ops->translate) {
		f->kind = SIO_DMA_FAULT_BLOCKED;
		f->iova = cursor_iova(c);
		return -EFAULT;
	}
	tdom = table_domain(hwpt);
	parent_tag = tdom != hwpt->domain ? &tdom->iotlb : NULL;
	attach_gen = atomic_load(&idev->igroup->dma_gen);
	while (c->seg != c->end) {
		struct sio_iotlb_fill fill;
		struct dma_batch b;
		int rc, crc;

		pthread_rwlock_rdlock(&tdom->dma_lock);
		if (sio_dma_read_lock()) {
			pthread_rwlock_unlock(&tdom->dma_lock);
			return -ENOMEM;
		}
		sio_iotlb_snapshot(&fill, attach_gen, &hwpt->domain->iotlb, parent_tag);
		rc = batch_walk(tlb, hwpt, &fill, &req, c, &b, f);
		pthread_rwlock_unlock(&tdom->dma_lock);
		crc = batch_copy(c, &b, f);
		sio_dma_read_unlock();
		if (crc || rc)
			return crc ? crc : rc;
	}
	return 0;
}

static int check_segs(const struct sio_dma_seg *segs, unsigned int nr)
{
	uint64_t last;

	if (!nr)
		return -EINVAL;
	for (unsigned int i = 0; i != nr; i++)
		if (!segs[i].len || !segs[i].buf ||
		    check_add_overflow(segs[i].iova, (uint64_t)segs[i].len - 1, &last))
			return -EINVAL;
	return 0;
}

/**
 * sio_dma_rwv() - a device access of (@idev, @pasid) over @nr IOVA ranges, in order
 * @tlb: the device's IOTLB, or NULL to walk every time
 * @write: from each segment's buffer into the IOVA space, else from it into the buffers
 * @moved: out (may be NULL): bytes moved, all segments before the fault included
 * @fault: out (may be NULL): what faulted
 *
 * Return: 0; -EFAULT on a fault (routed as above); -EINVAL for no segment, an empty or
 * wrapping one, or a PASID the device cannot issue (nothing moves); -ENOMEM when the
 * thread's first DMA finds no memory.
 */
int sio_dma_rwv(struct sio_device *idev, struct sio_iotlb *tlb, uint32_t pasid,
		const struct sio_dma_seg *segs, unsigned int nr, bool write, size_t *moved,
		struct sio_dma_fault *fault)
{
	unsigned int access = write ? SIO_DMA_WRITE : SIO_DMA_READ;
	struct dma_cursor c = { .seg = segs, .end = segs + nr, .access = access, .write = write };
	struct sio_dma_fault f = { .pasid = pasid, .pasid_valid = pasid != SIO_NO_PASID,
				   .access = access };
	struct sio_hw_pagetable *hwpt;
	int rc;

	rc = check_segs(segs, nr);
	if (rc)
		return rc;
	/* A PASID the device cannot issue (none at all, or beyond its width) is no request */
	if (pasid != SIO_NO_PASID && pasid >= idev->dev->max_pasids)
		return -EINVAL;
again:
	rc = dma_hit_path(tlb, pasid, &c, &f);
	if (rc == -EAGAIN)
		goto thaw;
	if (rc || c.seg != c.end) {
		pthread_rwlock_rdlock(&idev->igroup->lock);
		if (rc)
			hwpt = __sio_device_xlate_hwpt(idev, pasid, f.pasid_valid, NULL);
		else
			rc = dma_walk_path(idev, tlb, pasid, &c, &f, &hwpt);
		if (rc == -EAGAIN) {
			pthread_rwlock_unlock(&idev->igroup->lock);
			goto thaw;
		}
		if (rc == -EFAULT) {
			f.pasid = pasid;
			f.pasid_valid = pasid != SIO_NO_PASID;
			f.access = access;
			route_fault(idev, hwpt, &f);
		}
		pthread_rwlock_unlock(&idev->igroup->lock);
	}
	if (moved)
		*moved = c.moved;
	if (rc && fault)
		*fault = f;
	return rc;
thaw:
	sio_uffd_thaw_wait();
	goto again;
}

/**
 * sio_dma_rw() - sio_dma_rwv() over the one range [@iova, @iova + @len)
 */
int sio_dma_rw(struct sio_device *idev, struct sio_iotlb *tlb, uint32_t pasid, uint64_t iova,
	       void *buf, size_t len, bool write, struct sio_dma_fault *fault)
{
	struct sio_dma_seg seg = { .iova = iova, .buf = buf, .len = len };

	return sio_dma_rwv(idev, tlb, pasid, &seg, 1, write, NULL, fault);
}
