// SPDX-License-Identifier: MIT
/*
 * edu.c — the device model behind the emulated VFIO function: the register interface of
 * QEMU's "edu" educational PCI device as its specification (QEMU docs/specs/edu.rst)
 * describes it, written from that description: PCI 1234:11e8, class 0x00ff (no in-tree
 * guest driver claims it), a 1 MiB MMIO BAR 0 of registers, a DMA engine with a 4 KiB
 * buffer at device address 0x40000, and one interrupt, MSI or INTx.
 *
 * softiommu adds a 64 KiB prefetchable BAR 2 of plain memory, the BAR a VMM may mmap.
 *
 * What differs from the specification, on purpose: the factorial is computed at once (the
 * status bit "computing" is never seen set), DMA addresses are not limited to a 28-bit mask,
 * and a DMA whose device-side range leaves the buffer is dropped (nothing moves) instead of
 * stopping the machine. A DMA needs bus mastering on, and goes through the IOMMU as the
 * device is attached: a fault moves nothing and is counted.
 *
 * Interrupts: the model raises its line while its interrupt status is non-zero. With MSI
 * enabled by VFIO_DEVICE_SET_IRQS each raise sends the MSI; otherwise it is INTx, level.
 */
#include <errno.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "../../core/sio.h"
#include "vfio.h"

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_REVISION 0x10
#define EDU_BAR0_SIZE (1u << 20)
#define EDU_RAM_BAR 2
#define EDU_RAM_SIZE (64u << 10)
#define EDU_MSI_CAP 0x40

#include "edu_regs.h"

#define EDU_ID_VALUE 0x010000edu
#define EDU_STATUS_COMPUTING 0x01
#define EDU_STATUS_IRQFACT 0x80
#define EDU_DMA_START 0x01
#define EDU_DMA_TO_RAM 0x02
#define EDU_DMA_IRQ 0x04
#define EDU_IRQ_FACT 0x001
#define EDU_IRQ_DMA 0x100

#define EDU_BUF_SIZE 4096

struct edu {
	uint32_t liveness;
	uint32_t factorial;
	uint32_t status;
	uint32_t irq_status;
	uint64_t dma_src, dma_dst, dma_count, dma_cmd;
	uint8_t buf[EDU_BUF_SIZE];
};

static struct edu *to_edu(struct svfio_dev *d)
{
	return d->priv;
}

static void edu_update_irq(struct svfio_dev *d, bool raised)
{
	struct edu *e = to_edu(d);

	if (d->irqs.type == VFIO_PCI_MSI_IRQ_INDEX) {
		/* MSI is a memory write: bus mastering must be on */
		if (raised && svfio_bus_master(d))
			svfio_raise_msi(d, 0);
		return;
	}
	svfio_set_intx(d, e->irq_status != 0);
}

static void edu_raise(struct svfio_dev *d, uint32_t bits)
{
	to_edu(d)->irq_status |= bits;
	edu_update_irq(d, true);
}

static void edu_ack(struct svfio_dev *d, uint32_t bits)
{
	to_edu(d)->irq_status &= ~bits;
	edu_update_irq(d, false);
}

/* Whether [addr, addr + len) lies in the DMA buffer; its offset in *off */
static bool edu_buf_range(uint64_t addr, uint64_t len, size_t *off)
{
	if (addr < EDU_BUF_ADDR || len > EDU_BUF_SIZE || addr - EDU_BUF_ADDR > EDU_BUF_SIZE - len)
		return false;
	*off = (size_t)(addr - EDU_BUF_ADDR);
	return true;
}

static void edu_dma(struct svfio_dev *d)
{
	struct edu *e = to_edu(d);
	bool to_ram = e->dma_cmd & EDU_DMA_TO_RAM;
	size_t off;

	if (edu_buf_range(to_ram ? e->dma_src : e->dma_dst, e->dma_count, &off))
		(void)svfio_dma(d, to_ram ? e->dma_dst : e->dma_src, e->buf + off,
				(size_t)e->dma_count, to_ram);
	e->dma_cmd &= ~(uint64_t)EDU_DMA_START;
	if (e->dma_cmd & EDU_DMA_IRQ)
		edu_raise(d, EDU_IRQ_DMA);
}

static uint32_t edu_fact(uint32_t n)
{
	uint32_t r = 1;

	while (n > 1)
		r *= n--;
	return r;
}

static uint64_t edu_bar_read(struct svfio_dev *d, int bar, uint64_t off, unsigned int size)
{
	struct edu *e = to_edu(d);

	if (bar != 0 || (off < EDU_DMA_SRC ? size != 4 : size != 4 && size != 8))
		return ~0ULL;
	switch (off) {
	case EDU_ID:
		return EDU_ID_VALUE;
	case EDU_LIVENESS:
		return e->liveness;
	case EDU_FACTORIAL:
		return e->factorial;
	case EDU_STATUS:
		return e->status;
	case EDU_IRQ_STATUS:
		return e->irq_status;
	case EDU_DMA_SRC:
		return e->dma_src;
	case EDU_DMA_DST:
		return e->dma_dst;
	case EDU_DMA_COUNT:
		return e->dma_count;
	case EDU_DMA_CMD:
		return e->dma_cmd;
	default:
		return ~0ULL;
	}
}

static void edu_bar_write(struct svfio_dev *d, int bar, uint64_t off, unsigned int size,
			  uint64_t val)
{
	struct edu *e = to_edu(d);
	uint32_t v32 = (uint32_t)val;

	if (bar != 0 || (off < EDU_DMA_SRC ? size != 4 : size != 4 && size != 8))
		return;
	switch (off) {
	case EDU_LIVENESS:
		e->liveness = ~v32;
		break;
	case EDU_FACTORIAL:
		e->factorial = edu_fact(v32);
		if (e->status & EDU_STATUS_IRQFACT)
			edu_raise(d, EDU_IRQ_FACT);
		break;
	case EDU_STATUS:
		e->status = (e->status & EDU_STATUS_COMPUTING) | (v32 & EDU_STATUS_IRQFACT);
		break;
	case EDU_IRQ_RAISE:
		edu_raise(d, v32);
		break;
	case EDU_IRQ_ACK:
		edu_ack(d, v32);
		break;
	case EDU_DMA_SRC:
		e->dma_src = size == 4 ? (e->dma_src & ~0xffffffffULL) | v32 : val;
		break;
	case EDU_DMA_DST:
		e->dma_dst = size == 4 ? (e->dma_dst & ~0xffffffffULL) | v32 : val;
		break;
	case EDU_DMA_COUNT:
		e->dma_count = size == 4 ? (e->dma_count & ~0xffffffffULL) | v32 : val;
		break;
	case EDU_DMA_CMD:
		if (e->dma_cmd & EDU_DMA_START)
			break; /* busy: the command cannot change mid-transfer */
		e->dma_cmd = val & (EDU_DMA_START | EDU_DMA_TO_RAM | EDU_DMA_IRQ);
		if (e->dma_cmd & EDU_DMA_START)
			edu_dma(d);
		break;
	default:
		break;
	}
}

static void edu_reset(struct svfio_dev *d)
{
	struct edu *e = to_edu(d);

	memset(e, 0, offsetof(struct edu, buf));
	svfio_set_intx(d, false);
}

static void edu_config(struct svfio_cfg *c)
{
	svfio_cfg_init_type0(c);
	svfio_cfg_set16(c, PCI_VENDOR_ID, EDU_VENDOR, 0);
	svfio_cfg_set16(c, PCI_DEVICE_ID, EDU_DEVICE, 0);
	svfio_cfg_set8(c, PCI_REVISION_ID, EDU_REVISION, 0);
	svfio_cfg_set8(c, PCI_CLASS_PROG, 0, 0);
	svfio_cfg_set16(c, PCI_CLASS_DEVICE, 0x00ff, 0);
	svfio_cfg_set16(c, PCI_SUBSYSTEM_VENDOR_ID, 0x1af4, 0);
	svfio_cfg_set16(c, PCI_SUBSYSTEM_ID, 0x1100, 0);
}

static int edu_init(struct svfio_dev *d)
{
	struct edu *e = sio_zalloc(sizeof(*e));
	int rc;

	if (!e)
		return -ENOMEM;
	d->priv = e;
	d->bars[0] = (struct svfio_bar){ .size = EDU_BAR0_SIZE };
	rc = svfio_bar_add_ram(d, EDU_RAM_BAR, EDU_RAM_SIZE);
	if (rc)
		return rc;
	edu_config(&d->cfg);
	svfio_cfg_add_bars(d);
	return svfio_cfg_add_msi(&d->cfg, EDU_MSI_CAP, 0);
}

static void edu_destroy(struct svfio_dev *d)
{
	svfio_bar_free_ram(d);
	sio_free(d->priv);
	d->priv = NULL;
}

const struct svfio_model_ops svfio_edu_ops = {
	.name = "edu",
	.init = edu_init,
	.reset = edu_reset,
	.bar_read = edu_bar_read,
	.bar_write = edu_bar_write,
	.destroy = edu_destroy,
};
