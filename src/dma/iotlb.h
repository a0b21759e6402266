/* SPDX-License-Identifier: MIT */
/*
 * The IOTLB of the DMA path (iotlb.c has the design). The tag API drivers use
 * (sio_iotlb_tag_init, sio_iotlb_invalidate_*) is declared in driver.h.
 */
#ifndef SIO_DMA_IOTLB_H
#define SIO_DMA_IOTLB_H

#include "../core/sio.h"
#include "epoch.h"

struct sio_iotlb;

/**
 * struct sio_iotlb_fill - what a translation about to be walked depends on, read before
 * the walk (sio_iotlb_snapshot) and stored with its result (sio_iotlb_insert), with the
 * driver's tag the result names
 */
struct sio_iotlb_fill {
	uint64_t attach_gen;
	struct sio_iotlb_tag *tag[2];
	uint64_t gen[2];
};

/**
 * sio_iotlb_alloc() - an empty IOTLB for one device
 * @attach_gen: the device group's attachment generation, checked on every hit
 *
 * Return: the IOTLB, or NULL when out of memory.
 */
struct sio_iotlb *sio_iotlb_alloc(const atomic_uint_least64_t *attach_gen);

/** sio_iotlb_free() - free @tlb; no DMA may be using it (NULL is fine) */
void sio_iotlb_free(struct sio_iotlb *tlb);

/**
 * sio_iotlb_lookup() - a cached translation of (@pasid, @iova) allowing @access
 * @pa: out: the PA of @iova
 * @contig: out: bytes from @iova to the end of the cached leaf
 *
 * Lock free; call inside a DMA read-side section and use the result only inside it.
 * Return: true on a hit.
 */
bool sio_iotlb_lookup(struct sio_iotlb *tlb, uint32_t pasid, uint64_t iova, unsigned int access,
		      uint64_t *pa, uint64_t *contig);

/**
 * sio_iotlb_snapshot() - the generations a walk depends on, taken before it walks
 * @attach_gen: the group's attachment generation, read with the attachment held
 * @t0: the tag of the domain translating; @t1: its parent's for a nested one, or NULL
 *
 * The driver's own tag, if any, comes with the walk's result (sio_dma_xlate.tag).
 */
void sio_iotlb_snapshot(struct sio_iotlb_fill *f, uint64_t attach_gen, struct sio_iotlb_tag *t0,
			struct sio_iotlb_tag *t1);

/**
 * sio_iotlb_insert() - cache the walk result @x for (@pasid, @iova) under @f's generations
 *
 * May drop it (another thread filling the same entry). Lock free.
 */
void sio_iotlb_insert(struct sio_iotlb *tlb, const struct sio_iotlb_fill *f, uint32_t pasid,
		      uint64_t iova, const struct sio_dma_xlate *x);

/**
 * struct sio_iotlb_stats - what every IOTLB of the process did (relaxed counters: exact
 * when one thread looks up)
 * @misses: lookups that found nothing usable
 * @checks: hits whose tag had been invalidated since the fill, checked against its ranges
 * @refreshes: such entries that survived and now hit at full speed again
 */
struct sio_iotlb_stats {
	uint64_t misses, checks, refreshes;
};

void sio_iotlb_stats(struct sio_iotlb_stats *st);

/** sio_iotlb_new_gen() - a generation value never handed out before */
uint64_t sio_iotlb_new_gen(void);

#endif
