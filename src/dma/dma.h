/* SPDX-License-Identifier: MIT */
/* The DMA path of emulated devices (dma.c) */
#ifndef SIO_DMA_H
#define SIO_DMA_H

#include "../core/sio.h"
#include "iotlb.h"

/* One IOVA range of a scatter DMA and the caller's bytes for it */
struct sio_dma_seg {
	uint64_t iova;
	void *buf;
	size_t len;
};

int sio_dma_rwv(struct sio_device *idev, struct sio_iotlb *tlb, uint32_t pasid,
		const struct sio_dma_seg *segs, unsigned int nr, bool write, size_t *moved,
		struct sio_dma_fault *fault);
int sio_dma_rw(struct sio_device *idev, struct sio_iotlb *tlb, uint32_t pasid, uint64_t iova,
	       void *buf, size_t len, bool write, struct sio_dma_fault *fault);
unsigned long sio_dma_unhandled_faults(void);

#endif
