// SPDX-License-Identifier: MIT
/*
 * pci_config.c — the config space of an emulated PCI function, as the VFIO region at index
 * VFIO_PCI_CONFIG_REGION_INDEX shows it.
 *
 * Every byte has a value, a mask of the bits a write may change and a mask of the bits that
 * are write-1-to-clear (the status register). BAR sizing falls out of the masks: a BAR's
 * address bits below its size are read-only zero, so writing all ones reads back the size
 * mask, as on hardware and as vfio-pci's virtualised BARs answer.
 *
 * Accesses follow Linux's vfio_pci_config_rw(): the whole access must lie inside the config
 * space (else EFAULT, nothing moved), and it is split into naturally aligned pieces of 4, 2
 * or 1 bytes.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/pci_regs.h>

#include "../../core/sio.h"
#include "vfio.h"

void svfio_cfg_set8(struct svfio_cfg *c, unsigned int off, uint8_t v, uint8_t wmask)
{
	c->data[off] = v;
	c->wmask[off] = wmask;
}

void svfio_cfg_set16(struct svfio_cfg *c, unsigned int off, uint16_t v, uint16_t wmask)
{
	svfio_cfg_set8(c, off, (uint8_t)v, (uint8_t)wmask);
	svfio_cfg_set8(c, off + 1, (uint8_t)(v >> 8), (uint8_t)(wmask >> 8));
}

void svfio_cfg_set32(struct svfio_cfg *c, unsigned int off, uint32_t v, uint32_t wmask)
{
	svfio_cfg_set16(c, off, (uint16_t)v, (uint16_t)wmask);
	svfio_cfg_set16(c, off + 2, (uint16_t)(v >> 16), (uint16_t)(wmask >> 16));
}

uint16_t svfio_cfg_get16(const struct svfio_cfg *c, unsigned int off)
{
	return (uint16_t)(c->data[off] | c->data[off + 1] << 8);
}

uint32_t svfio_cfg_get32(const struct svfio_cfg *c, unsigned int off)
{
	return svfio_cfg_get16(c, off) | (uint32_t)svfio_cfg_get16(c, off + 2) << 16;
}

/**
 * svfio_cfg_init_type0() - the type-0 header fields every model shares
 * @c: the config space
 *
 * The command register as pci_enable_device() leaves it (memory decode on, as vfio-pci hands
 * the device over) with its writable bits, the status register's write-1-to-clear error bits,
 * cache line size, latency timer, header type, and INTA# with a writable interrupt line. The
 * model sets its IDs, class and capabilities after this.
 */
void svfio_cfg_init_type0(struct svfio_cfg *c)
{
	svfio_cfg_set16(c, PCI_COMMAND, PCI_COMMAND_MEMORY,
			PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	svfio_cfg_set16(c, PCI_STATUS, 0, 0);
	c->w1cmask[PCI_STATUS + 1] = 0xf9; /* parity, aborts, SERR: write 1 to clear */
	svfio_cfg_set8(c, PCI_CACHE_LINE_SIZE, 0, 0xff);
	svfio_cfg_set8(c, PCI_LATENCY_TIMER, 0, 0xff);
	svfio_cfg_set8(c, PCI_HEADER_TYPE, PCI_HEADER_TYPE_NORMAL, 0);
	svfio_cfg_set8(c, PCI_INTERRUPT_LINE, 0, 0xff);
	svfio_cfg_set8(c, PCI_INTERRUPT_PIN, 1, 0);
}

/**
 * svfio_bar_add_ram() - declare BAR @bar as @size bytes of plain memory a VMM may mmap
 * @d: the device being initialised
 * @bar: the BAR index
 * @size: bytes, a power of two
 *
 * The memory is shared, so that every mapping of the BAR sees the same bytes; the model's
 * destroy hook frees it with svfio_bar_free_ram(). Return: 0 or -ENOMEM.
 */
int svfio_bar_add_ram(struct svfio_dev *d, int bar, uint64_t size)
{
	void *ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (ram == MAP_FAILED)
		return -ENOMEM;
	d->bars[bar] = (struct svfio_bar){ .size = size, .prefetch = true, .mmap = true, .ram = ram };
	return 0;
}

/* Free the memory of every BAR svfio_bar_add_ram() declared */
void svfio_bar_free_ram(struct svfio_dev *d)
{
	for (int i = 0; i < SVFIO_NUM_BARS; i++) {
		if (d->bars[i].ram)
			munmap(d->bars[i].ram, d->bars[i].size);
		d->bars[i].ram = NULL;
	}
}

/* The BAR registers for what the model declared in d->bars (32-bit memory BARs) */
void svfio_cfg_add_bars(struct svfio_dev *d)
{
	for (int i = 0; i < SVFIO_NUM_BARS; i++) {
		const struct svfio_bar *b = &d->bars[i];
		uint32_t type = PCI_BASE_ADDRESS_SPACE_MEMORY | PCI_BASE_ADDRESS_MEM_TYPE_32;

		if (b->prefetch)
			type |= PCI_BASE_ADDRESS_MEM_PREFETCH;
		if (b->size)
			svfio_cfg_set32(&d->cfg, PCI_BASE_ADDRESS_0 + 4 * i, type,
					(uint32_t)~(b->size - 1) & PCI_BASE_ADDRESS_MEM_MASK);
		else
			svfio_cfg_set32(&d->cfg, PCI_BASE_ADDRESS_0 + 4 * i, 0, 0);
	}
}

/* Link the capability at @off first in the list */
static void cfg_cap_link(struct svfio_cfg *c, unsigned int off, uint8_t id)
{
	svfio_cfg_set8(c, off + PCI_CAP_LIST_ID, id, 0);
	svfio_cfg_set8(c, off + PCI_CAP_LIST_NEXT, c->data[PCI_CAPABILITY_LIST], 0);
	svfio_cfg_set8(c, PCI_CAPABILITY_LIST, (uint8_t)off, 0);
	c->data[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
}

/**
 * svfio_cfg_add_msi() - a 64-bit MSI capability without per-vector masking at @off
 * @c: the config space
 * @off: its offset, dword aligned, in the device-specific part
 * @nvec_lg2: log2 of the vectors it may have (Multiple Message Capable), at most 5
 *
 * Return: 0 or -EINVAL when it does not fit.
 */
int svfio_cfg_add_msi(struct svfio_cfg *c, unsigned int off, unsigned int nvec_lg2)
{
	if (off < PCI_STD_HEADER_SIZEOF || off + PCI_MSI_DATA_64 + 2 > SVFIO_CFG_SIZE || off & 3 ||
	    (1u << nvec_lg2) > SVFIO_MAX_VECTORS)
		return -EINVAL;
	cfg_cap_link(c, off, PCI_CAP_ID_MSI);
	svfio_cfg_set16(c, off + PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT | (uint16_t)(nvec_lg2 << 1),
			PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	svfio_cfg_set32(c, off + PCI_MSI_ADDRESS_LO, 0, 0xfffffffc);
	svfio_cfg_set32(c, off + PCI_MSI_ADDRESS_HI, 0, 0xffffffff);
	svfio_cfg_set16(c, off + PCI_MSI_DATA_64, 0, 0xffff);
	c->msi_cap = (uint8_t)off;
	return 0;
}

/**
 * svfio_cfg_add_msix() - an MSI-X capability at @off
 * @d: the device being initialised (its BARs declared)
 * @off: the capability's offset, dword aligned
 * @nvec: table size, at most SVFIO_MAX_VECTORS
 * @bar: the (trapped) BAR holding the table and the pending bit array
 * @table_off, @pba_off: their offsets in it, 8-byte aligned
 *
 * The table and PBA are left to the VMM, which emulates them (QEMU's vfio-pci does; Linux's
 * vfio-pci does not let user space mmap them either): the model only sees vectors raised.
 * Return: 0 or -EINVAL when it does not fit.
 */
int svfio_cfg_add_msix(struct svfio_dev *d, unsigned int off, unsigned int nvec, int bar,
		       uint32_t table_off, uint32_t pba_off)
{
	struct svfio_cfg *c = &d->cfg;
	uint64_t size = d->bars[bar].size;

	if (off < PCI_STD_HEADER_SIZEOF || off + PCI_CAP_MSIX_SIZEOF > SVFIO_CFG_SIZE || off & 3 ||
	    !nvec || nvec > SVFIO_MAX_VECTORS || (table_off | pba_off) & 7 ||
	    table_off + 16ull * nvec > size || pba_off + 8 > size)
		return -EINVAL;
	cfg_cap_link(c, off, PCI_CAP_ID_MSIX);
	svfio_cfg_set16(c, off + PCI_MSIX_FLAGS, (uint16_t)(nvec - 1),
			PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	svfio_cfg_set32(c, off + PCI_MSIX_TABLE, table_off | (uint32_t)bar, 0);
	svfio_cfg_set32(c, off + PCI_MSIX_PBA, pba_off | (uint32_t)bar, 0);
	c->msix_cap = (uint8_t)off;
	return 0;
}

bool svfio_mem_enabled(const struct svfio_dev *d)
{
	return svfio_cfg_get16(&d->cfg, PCI_COMMAND) & PCI_COMMAND_MEMORY;
}

bool svfio_bus_master(const struct svfio_dev *d)
{
	return svfio_cfg_get16(&d->cfg, PCI_COMMAND) & PCI_COMMAND_MASTER;
}

static void cfg_write_byte(struct svfio_cfg *c, unsigned int off, uint8_t v)
{
	uint8_t old = c->data[off];

	old &= ~(v & c->w1cmask[off]);
	c->data[off] = (uint8_t)((old & ~c->wmask[off]) | (v & c->wmask[off]));
}

/* Length of the next piece of an access at @pos: 4, 2 or 1 bytes, naturally aligned */
static size_t cfg_piece(uint64_t pos, size_t len)
{
	if (len >= 4 && !(pos % 4))
		return 4;
	if (len >= 2 && !(pos % 2))
		return 2;
	return 1;
}

/**
 * svfio_cfg_rw() - read or write the config space from or to user memory
 * @d: the device, locked
 * @buf: the program's buffer
 * @len: bytes
 * @pos: offset in config space (the region offset without its index)
 * @write: direction
 *
 * Return: @len, or -EFAULT for an access not wholly inside config space or a bad @buf.
 */
ssize_t svfio_cfg_rw(struct svfio_dev *d, void *buf, size_t len, uint64_t pos, bool write)
{
	size_t done = 0;

	if (pos >= SVFIO_CFG_SIZE || len > SVFIO_CFG_SIZE - pos)
		return -EFAULT;
	while (done < len) {
		size_t n = cfg_piece(pos + done, len - done);
		uint8_t tmp[4];
		int rc;

		if (write) {
			rc = sio_copy_from_user(tmp, (uintptr_t)buf + done, n);
			if (rc)
				return rc;
			for (size_t i = 0; i < n; i++)
				cfg_write_byte(&d->cfg, (unsigned int)(pos + done + i), tmp[i]);
		} else {
			rc = sio_copy_to_user((uintptr_t)buf + done, &d->cfg.data[pos + done], n);
			if (rc)
				return rc;
		}
		done += n;
	}
	return (ssize_t)done;
}
