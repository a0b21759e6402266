// SPDX-License-Identifier: MIT
/*
 * epf_test.c — a device model that Linux's in-tree host driver for the PCI endpoint test
 * function (drivers/misc/pci_endpoint_test.c, bound by vendor/device ID) and its selftest
 * (tools/testing/selftests/pci_endpoint) drive unmodified. Written from the behaviour the
 * driver expects of an endpoint running the pci-epf-test function, not from either's code.
 *
 * PCI 104c:b500 (TI DRA74x, an ID whose table entry gives register BAR 0 and 4 KiB alignment),
 * class 0xff0000. BAR 0 is 4 KiB: the test registers at its start (below), the rest plain
 * bytes, all of it trapped. BAR 2 is 128 KiB of memory a VMM may mmap (the driver's BAR tests
 * write and read it). 32 MSI vectors, 32 MSI-X vectors (table at 0x800 and PBA at 0xc00 of
 * BAR 0, which the VMM emulates), and INTx.
 *
 * Registers (32-bit, little endian; every one but CAPS is plain read/write storage):
 *   0x00 MAGIC  0x04 COMMAND  0x08 STATUS  0x0c/0x10 SRC_ADDR lo/hi  0x14/0x18 DST_ADDR lo/hi
 *   0x1c SIZE  0x20 CHECKSUM  0x24 IRQ_TYPE (0 INTx, 1 MSI, 2 MSI-X)  0x28 IRQ_NUMBER (from 1)
 *   0x2c FLAGS (bit 0: use the DMA engine)  0x30 CAPS  0x34..0x3c doorbell (not offered)
 *
 * A write of a non-zero COMMAND runs the command at once (the endpoint polls; here the write
 * is the poll): COMMAND and STATUS are cleared, the command runs, STATUS gets IRQ_RAISED and
 * the interrupt IRQ_TYPE/IRQ_NUMBER names is raised. Commands:
 *   READ   the device reads SIZE bytes at SRC_ADDR and compares their CRC-32 with CHECKSUM
 *   WRITE  the device writes SIZE random bytes to DST_ADDR and puts their CRC-32 in CHECKSUM
 *   COPY   the device copies SIZE bytes from SRC_ADDR to DST_ADDR
 *   RAISE_{INTX,MSI,MSIX}_IRQ  only the interrupt
 * The CRC is the driver's crc32_le(~0, ...): reflected 0xedb88320, no final inversion.
 *
 * All DMA goes through svfio_dma(), the IOMMU translation of the device's binding: a fault
 * (an unmapped IOVA, bus mastering off, not bound) moves nothing and sets SRC_ADDR_INVALID or
 * DST_ADDR_INVALID with the command's FAIL bit; the interrupt is still raised, so the driver
 * sees an error status and never hangs. FLAG_USE_DMA changes nothing (every transfer is a DMA).
 * INTx is a pulse (asserted then released); MSI and MSI-X need bus mastering and the vector
 * IRQ_NUMBER names (from 1) enabled.
 * SOFTIOMMU_VFIO_TRACE=1 prints each transfer's addresses and status.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "../../core/sio.h"
#include "vfio.h"

#define EPF_VENDOR 0x104c /* Texas Instruments */
#define EPF_DEVICE 0xb500 /* DRA74x */
#define EPF_CLASS 0xff0000u
#define EPF_REG_BAR_SIZE 4096u
#define EPF_RAM_BAR 2
#define EPF_RAM_SIZE (128u << 10)
#define EPF_MSI_CAP 0x50
#define EPF_MSIX_CAP 0x70
#define EPF_NVEC_LG2 5 /* 32 vectors of MSI and of MSI-X */
#define EPF_MSIX_TABLE 0x800 /* in BAR 0, emulated by the VMM */
#define EPF_MSIX_PBA 0xc00
#define EPF_MAX_XFER (16u << 20)

enum {
	EPF_MAGIC = 0x00,
	EPF_COMMAND = 0x04,
	EPF_STATUS = 0x08,
	EPF_SRC_LO = 0x0c,
	EPF_SRC_HI = 0x10,
	EPF_DST_LO = 0x14,
	EPF_DST_HI = 0x18,
	EPF_SIZE = 0x1c,
	EPF_CHECKSUM = 0x20,
	EPF_IRQ_TYPE = 0x24,
	EPF_IRQ_NUMBER = 0x28,
	EPF_FLAGS = 0x2c,
	EPF_CAPS = 0x30,
};

enum {
	CMD_RAISE_INTX = 1u << 0,
	CMD_RAISE_MSI = 1u << 1,
	CMD_RAISE_MSIX = 1u << 2,
	CMD_READ = 1u << 3,
	CMD_WRITE = 1u << 4,
	CMD_COPY = 1u << 5,
};

enum {
	ST_READ_SUCCESS = 1u << 0,
	ST_READ_FAIL = 1u << 1,
	ST_WRITE_SUCCESS = 1u << 2,
	ST_WRITE_FAIL = 1u << 3,
	ST_COPY_SUCCESS = 1u << 4,
	ST_COPY_FAIL = 1u << 5,
	ST_IRQ_RAISED = 1u << 6,
	ST_SRC_ADDR_INVALID = 1u << 7,
	ST_DST_ADDR_INVALID = 1u << 8,
};

enum { IRQ_INTX = 0, IRQ_MSI = 1, IRQ_MSIX = 2 };

enum {
	CAP_UNALIGNED_ACCESS = 1u << 0,
	CAP_MSI = 1u << 1,
	CAP_MSIX = 1u << 2,
	CAP_INTX = 1u << 3,
	EPF_CAPS_VALUE = CAP_UNALIGNED_ACCESS | CAP_MSI | CAP_MSIX | CAP_INTX,
};

struct epf_test {
	uint8_t regs[EPF_REG_BAR_SIZE];
	uint64_t rng;
	unsigned long commands; /* commands run, for the tests and dump */
};

static uint32_t crc_table[256];

__attribute__((constructor)) static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (c & 1 ? 0xedb88320u : 0);
		crc_table[i] = c;
	}
}

/* crc32_le(~0, buf, len) as Linux computes it: no final inversion */
static uint32_t epf_crc32(const uint8_t *buf, size_t len)
{
	uint32_t c = ~0u;

	for (size_t i = 0; i < len; i++)
		c = crc_table[(c ^ buf[i]) & 0xff] ^ (c >> 8);
	return c;
}

static struct epf_test *to_epf(struct svfio_dev *d)
{
	return d->priv;
}

static uint32_t reg32(const struct epf_test *e, unsigned int off)
{
	uint32_t v;

	memcpy(&v, e->regs + off, 4);
	return v; /* the host is little endian, as the PCI bus */
}

static void set_reg32(struct epf_test *e, unsigned int off, uint32_t v)
{
	memcpy(e->regs + off, &v, 4);
}

static uint64_t reg_addr(const struct epf_test *e, unsigned int lo)
{
	return reg32(e, lo) | (uint64_t)reg32(e, lo + 4) << 32;
}

static void epf_fill_random(struct epf_test *e, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		e->rng ^= e->rng << 13; /* xorshift64 */
		e->rng ^= e->rng >> 7;
		e->rng ^= e->rng << 17;
		buf[i] = (uint8_t)(e->rng >> 24);
	}
}

/* One transfer command; returns the STATUS bits it sets */
static uint32_t epf_transfer(struct svfio_dev *d, uint32_t cmd)
{
	struct epf_test *e = to_epf(d);
	uint32_t size = reg32(e, EPF_SIZE);
	uint32_t ok = cmd == CMD_READ ? ST_READ_SUCCESS : cmd == CMD_WRITE ? ST_WRITE_SUCCESS
									   : ST_COPY_SUCCESS;
	uint32_t fail = ok << 1, st = 0;
	uint8_t *buf;

	if (!size || size > EPF_MAX_XFER)
		return fail;
	buf = sio_zalloc(size);
	if (!buf)
		return fail;
	if (cmd != CMD_WRITE && svfio_dma(d, reg_addr(e, EPF_SRC_LO), buf, size, false))
		st = ST_SRC_ADDR_INVALID | fail;
	if (!st && cmd == CMD_READ && epf_crc32(buf, size) != reg32(e, EPF_CHECKSUM))
		st = fail;
	if (!st && cmd == CMD_WRITE) {
		epf_fill_random(e, buf, size);
		set_reg32(e, EPF_CHECKSUM, epf_crc32(buf, size));
	}
	if (!st && cmd != CMD_READ && svfio_dma(d, reg_addr(e, EPF_DST_LO), buf, size, true))
		st = ST_DST_ADDR_INVALID | fail;
	sio_free(buf);
	return st ? st : ok;
}

/* STATUS gets IRQ_RAISED before the interrupt, so the handler sees it */
static void epf_raise_irq(struct svfio_dev *d)
{
	struct epf_test *e = to_epf(d);
	uint32_t number = reg32(e, EPF_IRQ_NUMBER);

	set_reg32(e, EPF_STATUS, reg32(e, EPF_STATUS) | ST_IRQ_RAISED);
	switch (reg32(e, EPF_IRQ_TYPE)) {
	case IRQ_INTX:
		svfio_set_intx(d, true);
		svfio_set_intx(d, false);
		break;
	case IRQ_MSI:
		if (number >= 1 && svfio_bus_master(d))
			svfio_raise_msi(d, number - 1);
		break;
	case IRQ_MSIX:
		if (number >= 1 && svfio_bus_master(d))
			svfio_raise_msix(d, number - 1);
		break;
	}
}

static void epf_command(struct svfio_dev *d, uint32_t cmd)
{
	struct epf_test *e = to_epf(d);
	uint32_t st = 0;

	set_reg32(e, EPF_COMMAND, 0);
	set_reg32(e, EPF_STATUS, 0);
	if (reg32(e, EPF_IRQ_TYPE) > IRQ_MSIX)
		return; /* as the endpoint: no interrupt type, nothing done */
	switch (cmd) {
	case CMD_RAISE_INTX:
	case CMD_RAISE_MSI:
	case CMD_RAISE_MSIX:
		break;
	case CMD_READ:
	case CMD_WRITE:
	case CMD_COPY:
		st = epf_transfer(d, cmd);
		break;
	default:
		return; /* unknown (doorbell, subrange: not offered): ignored */
	}
	e->commands++;
	set_reg32(e, EPF_STATUS, st);
	if (svfio_trace_enabled() && st)
		fprintf(stderr, "softiommu: vfio%u: epf-test command %#x src %#llx dst %#llx size %u: "
			"status %#x\n", d->index, cmd, (unsigned long long)reg_addr(e, EPF_SRC_LO),
			(unsigned long long)reg_addr(e, EPF_DST_LO), reg32(e, EPF_SIZE), st);
	epf_raise_irq(d);
}

static uint64_t epf_bar_read(struct svfio_dev *d, int bar, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	if (bar != 0 || off + size > EPF_REG_BAR_SIZE)
		return ~0ULL;
	memcpy(&v, to_epf(d)->regs + off, size);
	return v;
}

static void epf_bar_write(struct svfio_dev *d, int bar, uint64_t off, unsigned int size,
			  uint64_t val)
{
	struct epf_test *e = to_epf(d);
	uint32_t caps = reg32(e, EPF_CAPS);

	if (bar != 0 || off + size > EPF_REG_BAR_SIZE)
		return;
	memcpy(e->regs + off, &val, size);
	set_reg32(e, EPF_CAPS, caps); /* read-only */
	if (off <= EPF_COMMAND + 3 && off + size > EPF_COMMAND && reg32(e, EPF_COMMAND))
		epf_command(d, reg32(e, EPF_COMMAND));
}

static void epf_reset(struct svfio_dev *d)
{
	struct epf_test *e = to_epf(d);

	memset(e->regs, 0, sizeof(e->regs));
	set_reg32(e, EPF_CAPS, EPF_CAPS_VALUE);
	svfio_set_intx(d, false);
}

static void epf_config(struct svfio_cfg *c)
{
	svfio_cfg_set16(c, PCI_VENDOR_ID, EPF_VENDOR, 0);
	svfio_cfg_set16(c, PCI_DEVICE_ID, EPF_DEVICE, 0);
	svfio_cfg_set32(c, PCI_CLASS_REVISION, EPF_CLASS << 8, 0);
	svfio_cfg_set16(c, PCI_SUBSYSTEM_VENDOR_ID, EPF_VENDOR, 0);
	svfio_cfg_set16(c, PCI_SUBSYSTEM_ID, EPF_DEVICE, 0);
}

static int epf_init(struct svfio_dev *d)
{
	struct epf_test *e = sio_zalloc(sizeof(*e));
	int rc;

	if (!e)
		return -ENOMEM;
	d->priv = e;
	e->rng = 0x9e3779b97f4a7c15ULL ^ d->index;
	d->bars[0] = (struct svfio_bar){ .size = EPF_REG_BAR_SIZE };
	rc = svfio_bar_add_ram(d, EPF_RAM_BAR, EPF_RAM_SIZE);
	if (rc)
		return rc;
	svfio_cfg_init_type0(&d->cfg);
	epf_config(&d->cfg);
	svfio_cfg_add_bars(d);
	set_reg32(e, EPF_CAPS, EPF_CAPS_VALUE);
	rc = svfio_cfg_add_msi(&d->cfg, EPF_MSI_CAP, EPF_NVEC_LG2);
	return rc ? rc : svfio_cfg_add_msix(d, EPF_MSIX_CAP, 1u << EPF_NVEC_LG2, 0, EPF_MSIX_TABLE,
					    EPF_MSIX_PBA);
}

static void epf_destroy(struct svfio_dev *d)
{
	svfio_bar_free_ram(d);
	sio_free(d->priv);
	d->priv = NULL;
}

const struct svfio_model_ops svfio_epf_test_ops = {
	.name = "epf-test",
	.init = epf_init,
	.reset = epf_reset,
	.bar_read = epf_bar_read,
	.bar_write = epf_bar_write,
	.destroy = epf_destroy,
};
