/* SPDX-License-Identifier: MIT */
/*
 * What hardware models share (DESIGN.md layer 5, as QEMU's smmu-common.c): the walk over the
 * page-table library turned into the driver contract's translation and fault record, reads
 * of guest memory for walks and queues, and a configuration cache (STEs, CDs, context
 * entries) with an invalidate-and-drain API. The IOTLB itself is the DMA path's
 * (src/dma/iotlb.c), reached through the tags of driver.h; the one place faults become
 * IOPFs or events is the DMA path's router, steered by the model's fault_disposition.
 * Models include this header and driver.h; nothing here knows a model.
 */
#ifndef SIO_MODEL_H
#define SIO_MODEL_H

#include <stdatomic.h>

#include "../driver/driver.h"
#include "pt.h"

/**
 * sio_model_fault_from_pt() - fill a contract fault record from the library's @pf
 *
 * Sets kind, stage, level, IPA, the stage-2-during-stage-1-walk flag and the class (TT for
 * a fault on a table fetch, IN otherwise); leaves the request's fields (iova, PASID, access)
 * as the core set them.
 */
void sio_model_fault_from_pt(struct sio_dma_fault *f, const struct pt_fault *pf);

/** sio_model_pt_access() - the PT_ACCESS_* of a contract SIO_DMA_* access */
static inline unsigned int sio_model_pt_access(unsigned int access)
{
	return ((access & SIO_DMA_READ) ? PT_ACCESS_READ : 0) |
	       ((access & SIO_DMA_WRITE) ? PT_ACCESS_WRITE : 0);
}

/** sio_model_pt_prot() - the PT_PROT_* of a contract SIO_PROT_* mapping */
static inline unsigned int sio_model_pt_prot(int prot)
{
	return ((prot & SIO_PROT_READ) ? PT_PROT_READ : 0) |
	       ((prot & SIO_PROT_WRITE) ? PT_PROT_WRITE : 0) |
	       ((prot & SIO_PROT_CACHE) ? PT_PROT_CACHE : 0);
}

/*
 * A paging domain's map/unmap/iova_to_phys on a table of the library whose leaf sizes are
 * @pt_pgsizes: a map uses the leaf sizes the caller allows that the table holds, always with
 * the granule
 */
static inline int sio_model_pt_map(struct pt_table *pt, uint64_t pt_pgsizes, uint64_t iova,
				   uint64_t pa, uint64_t len, int prot, uint64_t pgsize_bitmap)
{
	return pt_map(pt, iova, pa, len, sio_model_pt_prot(prot),
		      (pgsize_bitmap & pt_pgsizes) | (pt_pgsizes & -pt_pgsizes));
}

static inline uint64_t sio_model_pt_unmap(struct pt_table *pt, uint64_t iova, uint64_t len)
{
	uint64_t unmapped = 0;

	pt_unmap(pt, iova, len, 0, &unmapped);
	return unmapped;
}

/**
 * sio_model_xlate_from_pt() - a contract translation from a successful walk
 * @cacheable: the SIO_DMA_* accesses the IOTLB may serve without another walk (a model that
 *       sets an access or dirty flag on a walk leaves out what would need it)
 */
static inline void sio_model_xlate_from_pt(struct sio_dma_xlate *x,
					   const struct pt_walk_result *res,
					   unsigned int cacheable)
{
	x->pa = res->oa;
	x->leaf_lg2 = res->leaf_lg2;
	x->access = cacheable & (((res->prot & PT_PROT_READ) ? SIO_DMA_READ : 0) |
				 ((res->prot & PT_PROT_WRITE) ? SIO_DMA_WRITE : 0));
}

/**
 * sio_model_walk() - translate @req through @s1 (and @s2 when not NULL: a nested walk whose
 * table addresses are IPAs), as the domain's translate hook does; inline, as it is the
 * DMA path's miss
 *
 * Return: 0 with @x filled in, or -EFAULT with @f filled in.
 */
static inline int sio_model_walk(const struct pt_table *s1, const struct pt_table *s2,
				 const struct sio_dma_req *req, struct sio_dma_xlate *x,
				 struct sio_dma_fault *f)
{
	unsigned int access = sio_model_pt_access(req->access);
	struct pt_walk_result res;
	struct pt_fault pf;
	int rc;

	rc = s2 ? pt_walk_nested(s1, s2, req->iova, access, &res, &pf) :
		  pt_walk(s1, req->iova, access, &res, &pf);
	if (rc) {
		sio_model_fault_from_pt(f, &pf);
		return -EFAULT;
	}
	sio_model_xlate_from_pt(x, &res, SIO_DMA_READ | SIO_DMA_WRITE);
	return 0;
}

/**
 * sio_model_read_desc() - a pt_cfg.read_desc for guest-owned tables: a fault-safe load of
 * the descriptor at host address @pa (memory the client unmapped is -EFAULT, reported by
 * the walk as F_WALK_EABT, never a signal). @priv is unused.
 */
int sio_model_read_desc(void *priv, uint64_t pa, uint64_t *desc);

/**
 * __sio_guest_read() - read @len bytes at IPA @ipa of stage-2 domain @s2, as the IOMMU's own
 * fetch (a table, a CD, a queue entry): each page translated by @s2 for a read, then copied
 * fault-safe. The caller holds @s2->dma_lock for reading, as a translate hook does.
 * @fault: out (may be NULL): on failure, stage 2's fault (stage 2, @s2_walk, class TT, the
 *       IPA), or SIO_DMA_FAULT_WALK_EABT when the memory behind it is gone
 * Return: 0, or -EFAULT.
 */
int __sio_guest_read(struct sio_domain *s2, uint64_t ipa, void *buf, size_t len,
		     struct sio_dma_fault *fault);

/**
 * sio_guest_read() - as __sio_guest_read(), taking @s2->dma_lock itself (an ioctl's read of
 * a guest queue or table); never from a translate hook nor in a DMA section
 */
int sio_guest_read(struct sio_domain *s2, uint64_t ipa, void *buf, size_t len,
		   struct sio_dma_fault *fault);

/**
 * sio_host_read() - a fault-safe read of host memory at @pa (a HW queue's base_pa, a table
 * of a host-owned format): -EFAULT, never a signal, when it is gone
 */
int sio_host_read(uint64_t pa, void *buf, size_t len);

/*
 * The configuration cache: a direct-mapped cache of fixed-size records (an STE, a CD)
 * keyed by a 64-bit value the model chooses (StreamID, StreamID << 20 | SSID, ...).
 * Lookups take no lock and never block; fills and invalidations are lock free too. Look
 * records up inside a DMA read-side section (a translate hook is in one), so that
 * sio_cfg_cache_drain() can wait for the lookups that still use an invalidated record.
 *
 * Use: before fetching a record, take a ticket (sio_cfg_cache_ticket); fetch; insert with
 * the ticket. An invalidation that ran meanwhile makes the insert a no-op, so a record
 * fetched before an invalidation never outlives it. After the invalidation calls,
 * sio_cfg_cache_drain() waits until no DMA still uses a record looked up before.
 */
#define SIO_CFG_CACHE_WORDS 8 /* the largest record: 64 bytes (an STE, a CD) */

struct sio_cfg_slot {
	atomic_uint_least64_t seq;      /* odd while a filler writes the slot */
	atomic_uint_least64_t gen;      /* bumped by every invalidation that hits the slot */
	atomic_uint_least64_t fill_gen; /* the slot's gen the record was fetched under */
	atomic_uint_least64_t fill_all; /* the cache's all_gen it was fetched under */
	atomic_uint_least64_t key;
	atomic_uint_least64_t word[SIO_CFG_CACHE_WORDS];
};

struct sio_cfg_cache {
	unsigned int nr_lg2;
	unsigned int words;
	atomic_uint_least64_t all_gen; /* bumped by sio_cfg_cache_invalidate_all() */
	struct sio_cfg_slot *slot;
};

/** struct sio_cfg_ticket - what a fill depends on, taken before the fetch */
struct sio_cfg_ticket {
	uint64_t key;
	uint64_t gen, all_gen;
};

/**
 * sio_cfg_cache_init() - an empty cache of 2^@nr_lg2 slots of @record_size bytes
 * Return: 0, -EINVAL for a record over 64 bytes, -ENOMEM.
 */
int sio_cfg_cache_init(struct sio_cfg_cache *c, unsigned int nr_lg2, size_t record_size);
void sio_cfg_cache_destroy(struct sio_cfg_cache *c);

/** sio_cfg_cache_lookup() - copy the record of @key into @out; true on a hit */
bool sio_cfg_cache_lookup(struct sio_cfg_cache *c, uint64_t key, void *out);

/** sio_cfg_cache_ticket() - the ticket of a fill of @key (take it before the fetch) */
void sio_cfg_cache_ticket(struct sio_cfg_cache *c, uint64_t key, struct sio_cfg_ticket *t);

/** sio_cfg_cache_insert() - cache @record under @t; dropped if an invalidation intervened */
void sio_cfg_cache_insert(struct sio_cfg_cache *c, const struct sio_cfg_ticket *t,
			  const void *record);

/** sio_cfg_cache_invalidate() - the record of @key is gone (and any fill of it in flight) */
void sio_cfg_cache_invalidate(struct sio_cfg_cache *c, uint64_t key);

/** sio_cfg_cache_invalidate_all() - every record is gone */
void sio_cfg_cache_invalidate_all(struct sio_cfg_cache *c);

/**
 * sio_cfg_cache_drain() - wait until no DMA uses a record looked up before the
 * invalidations this thread made (a grace period); never call it inside a DMA section
 */
void sio_cfg_cache_drain(struct sio_cfg_cache *c);

#endif
