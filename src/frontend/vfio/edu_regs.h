/* SPDX-License-Identifier: MIT */
/*
 * The edu device's BAR 0 registers and DMA buffer address (QEMU's docs/specs/edu.rst), for
 * the model (edu.c) and for programs that drive it (tests/vfio).
 */
#ifndef SIO_VFIO_EDU_REGS_H
#define SIO_VFIO_EDU_REGS_H

#define EDU_ID 0x00
#define EDU_LIVENESS 0x04
#define EDU_FACTORIAL 0x08
#define EDU_STATUS 0x20
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98

/* The device's own buffer, as a DMA address of the DMA commands */
#define EDU_BUF_ADDR 0x40000

#endif
