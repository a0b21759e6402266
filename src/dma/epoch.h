/* SPDX-License-Identifier: MIT */
/*
 * Read-side sections and grace periods of the DMA path (epoch.c has the invariants and the
 * memory orderings).
 */
#ifndef SIO_DMA_EPOCH_H
#define SIO_DMA_EPOCH_H

#include <stdbool.h>

#include "../core/util.h"

/**
 * sio_dma_read_lock() - enter a DMA read-side section (nests; never blocks)
 *
 * Return: 0, or -ENOMEM when this thread's first section cannot get a reader slot.
 */
int sio_dma_read_lock(void);

/** sio_dma_read_unlock() - leave the section sio_dma_read_lock() entered */
void sio_dma_read_unlock(void);

/** sio_dma_in_section() - whether the calling thread is inside a section */
bool sio_dma_in_section(void);

/**
 * sio_dma_synchronize() - wait until every section that began before this call has ended
 *
 * Call it after publishing a change with a seq_cst store of a generation the DMA path checks
 * (an IOTLB tag, a group's attachment generation). Never from inside a section.
 */
void sio_dma_synchronize(void);

#endif
