/* SPDX-License-Identifier: MIT */
#ifndef SIO_DMA_H
#define SIO_DMA_H

#include "../core/sio.h"

int sio_dma_rw(struct sio_device *idev, uint32_t pasid, uint64_t iova, void *buf, size_t len,
	       bool write, struct sio_dma_fault *fault);
unsigned long sio_dma_unhandled_faults(void);

#endif
