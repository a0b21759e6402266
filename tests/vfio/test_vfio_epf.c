// SPDX-License-Identifier: MIT
/*
 * The epf-test model driven as Linux's pci_endpoint_test driver drives it: its IDs, the
 * register BAR (MAGIC read/write, CAPS read-only), READ/WRITE/COPY of several sizes through
 * the IOAS the device is attached to with the driver's CRC-32, MSI and INTx after each
 * command, 32 MSI and 32 MSI-X vectors (capabilities, GET_IRQ_INFO, SET_IRQS blocks), and a
 * DMA to an IOVA nothing maps: an error status and an interrupt, no crash.
 * Run under the shim with SOFTIOMMU_VFIO_DEVICES="epf-test" (vfio0).
 */
#include <sys/mman.h>

#include "vfio_testlib.h"

enum {
	EPF_MAGIC = 0x00, EPF_COMMAND = 0x04, EPF_STATUS = 0x08, EPF_SRC = 0x0c, EPF_DST = 0x14,
	EPF_SIZE = 0x1c, EPF_CHECKSUM = 0x20, EPF_IRQ_TYPE = 0x24, EPF_IRQ_NUMBER = 0x28,
	EPF_FLAGS = 0x2c, EPF_CAPS = 0x30,
};
enum {
	CMD_RAISE_INTX = 1 << 0, CMD_RAISE_MSI = 1 << 1, CMD_READ = 1 << 3, CMD_WRITE = 1 << 4,
	CMD_COPY = 1 << 5,
};
enum {
	ST_READ_OK = 1 << 0, ST_READ_FAIL = 1 << 1, ST_WRITE_OK = 1 << 2, ST_WRITE_FAIL = 1 << 3,
	ST_COPY_OK = 1 << 4, ST_COPY_FAIL = 1 << 5, ST_IRQ = 1 << 6, ST_SRC_INVALID = 1 << 7,
	ST_DST_INVALID = 1 << 8,
};
#define BUF_SIZE (4u << 20)
#define IOVA 0x100000ULL /* below the selftests' aperture: a VMM's device maps from 0 */

/* crc32_le(~0, ...), as the driver computes it (bitwise, independent of the model's table) */
static uint32_t crc32_le(const uint8_t *p, size_t n)
{
	uint32_t c = ~0u;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (c & 1 ? 0xedb88320u : 0);
	}
	return c;
}

/* One command as the driver issues it: addresses, size, flags, MSI 1, command */
static uint32_t epf_cmd(int dev, uint32_t cmd, uint64_t src, uint64_t dst, uint32_t size,
			uint32_t irq_type)
{
	v_reg_write(dev, EPF_SRC, (uint32_t)src);
	v_reg_write(dev, EPF_SRC + 4, (uint32_t)(src >> 32));
	v_reg_write(dev, EPF_DST, (uint32_t)dst);
	v_reg_write(dev, EPF_DST + 4, (uint32_t)(dst >> 32));
	v_reg_write(dev, EPF_SIZE, size);
	v_reg_write(dev, EPF_FLAGS, 1); /* FLAG_USE_DMA: every transfer is a DMA here */
	v_reg_write(dev, EPF_IRQ_TYPE, irq_type);
	v_reg_write(dev, EPF_IRQ_NUMBER, 1);
	v_reg_write(dev, EPF_COMMAND, cmd);
	CHECK(v_reg(dev, EPF_COMMAND) == 0);
	return v_reg(dev, EPF_STATUS);
}

static void test_ids_and_registers(int dev)
{
	CHECK(v_cfg16(dev, PCI_VENDOR_ID) == 0x104c && v_cfg16(dev, PCI_DEVICE_ID) == 0xb500);
	CHECK(v_cfg32(dev, PCI_CLASS_REVISION) >> 8 == 0xff0000);
	CHECK(v_cfg16(dev, PCI_STATUS) & PCI_STATUS_CAP_LIST);
	CHECK(v_reg(dev, EPF_CAPS) == 0xf); /* unaligned access, MSI, MSI-X, INTx */
	v_reg_write(dev, EPF_CAPS, 0);
	CHECK(v_reg(dev, EPF_CAPS) == 0xf);
	v_reg_write(dev, EPF_MAGIC, 0xa0a0a0a0); /* the driver's BAR test on the register BAR */
	CHECK(v_reg(dev, EPF_MAGIC) == 0xa0a0a0a0);
}

/* The capability list: MSI-X (0x70) then MSI (0x50), their vector counts as VFIO reports */
static void test_irq_caps(int dev)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = VFIO_PCI_MSI_IRQ_INDEX };

	CHECK(v_cfg16(dev, PCI_CAPABILITY_LIST) % 256 == 0x70);
	CHECK(v_cfg16(dev, 0x70) == (0x50 << 8 | PCI_CAP_ID_MSIX));
	CHECK((v_cfg16(dev, 0x70 + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) == 31);
	CHECK(v_cfg32(dev, 0x70 + PCI_MSIX_TABLE) == 0x800 && v_cfg32(dev, 0x70 + PCI_MSIX_PBA) == 0xc00);
	CHECK(v_cfg16(dev, 0x50) % 256 == PCI_CAP_ID_MSI);
	CHECK((v_cfg16(dev, 0x50 + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_QMASK) == 5 << 1);
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &info));
	CHECK(info.count == 32 && info.flags == (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE));
	info.index = VFIO_PCI_MSIX_IRQ_INDEX;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &info));
	CHECK(info.count == 32 && info.flags == (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE));
}

/* SET_IRQS with @n eventfds from vector @start (fds[i] < 0: none) */
static long set_vectors(int dev, uint32_t index, uint32_t start, uint32_t n, const int *fds)
{
	struct {
		struct vfio_irq_set hdr;
		int32_t fd[33];
	} s = { .hdr = { .argsz = sizeof(s.hdr) + 4 * n, .index = index, .start = start,
			 .count = n, .flags = VFIO_IRQ_SET_DATA_EVENTFD |
					      VFIO_IRQ_SET_ACTION_TRIGGER } };

	for (uint32_t i = 0; i < n; i++)
		s.fd[i] = fds[i];
	return v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s);
}

/* All 32 MSI-X vectors, each raised by its IRQ_NUMBER; then MSI 32 */
static void test_msix(int dev, int msi)
{
	int fds[33];

	for (int i = 0; i < 33; i++)
		fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK_ERR(EINVAL, set_vectors(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, 32, fds)); /* MSI is on */
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0));
	CHECK_ERR(EINVAL, set_vectors(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, 33, fds)); /* past 32 */
	CHECK_OK(set_vectors(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, 32, fds));
	v_reg_write(dev, EPF_IRQ_TYPE, 2);
	for (int i = 1; i <= 32; i++) {
		v_reg_write(dev, EPF_IRQ_NUMBER, (uint32_t)i);
		v_reg_write(dev, EPF_COMMAND, 1 << 2); /* RAISE_MSIX_IRQ */
		CHECK(v_reg(dev, EPF_STATUS) == ST_IRQ);
		for (int k = 0; k < 32; k++)
			CHECK(v_fired(fds[k]) == (k == i - 1));
	}
	/* a transfer's MSI-X goes to vector 1; vector 33 does not exist */
	CHECK(epf_cmd(dev, CMD_COPY, IOVA, IOVA + 8192, 4096, 2) == (ST_COPY_OK | ST_IRQ));
	CHECK(v_fired(fds[0]) == 1);
	v_reg_write(dev, EPF_IRQ_NUMBER, 33);
	v_reg_write(dev, EPF_COMMAND, 1 << 2);
	CHECK(v_fired(fds[31]) == 0);
	CHECK(epf_cmd(dev, CMD_RAISE_MSI, 0, 0, 0, 1) == ST_IRQ); /* MSI is off now */
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0));
	/* 32 MSI vectors: the last one */
	fds[31] = msi;
	CHECK_OK(set_vectors(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, 32, fds));
	v_reg_write(dev, EPF_IRQ_NUMBER, 32);
	v_reg_write(dev, EPF_COMMAND, CMD_RAISE_MSI);
	CHECK(v_fired(msi) == 1 && v_fired(fds[0]) == 0);
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0));
	for (int i = 0; i < 33; i++)
		if (i != 31)
			close(fds[i]);
	/* back to one MSI vector for the tests after this one */
	CHECK_OK(v_set_irq_fd(dev, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, msi));
}

static void test_transfers(int dev, int efd, uint8_t *buf)
{
	static const uint32_t sizes[] = { 1, 1024, 1025, 1024000, 1024001 };
	uint8_t *src = buf, *dst = buf + BUF_SIZE / 2;
	uint64_t isrc = IOVA, idst = IOVA + BUF_SIZE / 2;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t n = sizes[i];

		/* the driver's "read": the device writes, the driver checks the CRC */
		memset(dst, 0, n);
		CHECK(epf_cmd(dev, CMD_WRITE, 0, idst, n, 1) == (ST_WRITE_OK | ST_IRQ));
		CHECK(v_fired(efd) == 1);
		CHECK(crc32_le(dst, n) == v_reg(dev, EPF_CHECKSUM));
		/* the driver's "write": the device reads and checks the CRC it was given */
		for (uint32_t k = 0; k < n; k++)
			src[k] = (uint8_t)(k * 31 + i);
		v_reg_write(dev, EPF_CHECKSUM, crc32_le(src, n));
		CHECK(epf_cmd(dev, CMD_READ, isrc, 0, n, 1) == (ST_READ_OK | ST_IRQ));
		CHECK(v_fired(efd) == 1);
		v_reg_write(dev, EPF_CHECKSUM, ~crc32_le(src, n));
		CHECK(epf_cmd(dev, CMD_READ, isrc, 0, n, 1) == (ST_READ_FAIL | ST_IRQ));
		CHECK(v_fired(efd) == 1);
		/* copy */
		memset(dst, 0, n);
		CHECK(epf_cmd(dev, CMD_COPY, isrc, idst, n, 1) == (ST_COPY_OK | ST_IRQ));
		CHECK(v_fired(efd) == 1);
		CHECK(!memcmp(src, dst, n));
	}
}

/* A DMA where nothing is mapped: an error status, still an interrupt, the program goes on */
static void test_unmapped(int dev, int efd, uint8_t *buf)
{
	uint64_t hole = IOVA + BUF_SIZE + (1u << 20);

	CHECK(epf_cmd(dev, CMD_WRITE, 0, hole, 4096, 1) ==
	      (ST_WRITE_FAIL | ST_DST_INVALID | ST_IRQ));
	CHECK(v_fired(efd) == 1);
	CHECK(epf_cmd(dev, CMD_READ, hole, 0, 64, 1) == (ST_READ_FAIL | ST_SRC_INVALID | ST_IRQ));
	CHECK(v_fired(efd) == 1);
	/* a copy whose end runs past the mapping moves nothing to the destination */
	memset(buf + BUF_SIZE / 2, 0x5a, 64);
	CHECK(epf_cmd(dev, CMD_COPY, IOVA + BUF_SIZE - 16, IOVA + BUF_SIZE / 2, 64, 1) ==
	      (ST_COPY_FAIL | ST_SRC_INVALID | ST_IRQ));
	CHECK(v_fired(efd) == 1 && buf[BUF_SIZE / 2] == 0x5a);
	CHECK(epf_cmd(dev, CMD_COPY, IOVA, hole, 64, 1) ==
	      (ST_COPY_FAIL | ST_DST_INVALID | ST_IRQ));
	CHECK(v_fired(efd) == 1);
	/* size 0 or beyond what the device takes: a failure, not a crash */
	CHECK(epf_cmd(dev, CMD_COPY, IOVA, IOVA, 0, 1) == (ST_COPY_FAIL | ST_IRQ));
	CHECK(v_fired(efd) == 1);
	CHECK(epf_cmd(dev, CMD_WRITE, 0, IOVA, 0xffffffffu, 1) == (ST_WRITE_FAIL | ST_IRQ));
	CHECK(v_fired(efd) == 1);
	/* bus mastering off: the DMA faults, and the MSI (a memory write) is not sent */
	v_master(dev, 0);
	CHECK(epf_cmd(dev, CMD_WRITE, 0, IOVA, 64, 1) == (ST_WRITE_FAIL | ST_DST_INVALID | ST_IRQ));
	CHECK(v_fired(efd) == 0);
	v_master(dev, 1);
}

static void test_interrupts(int dev, int efd)
{
	int intx = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	CHECK(epf_cmd(dev, CMD_RAISE_MSI, 0, 0, 0, 1) == ST_IRQ);
	CHECK(v_fired(efd) == 1);
	v_reg_write(dev, EPF_IRQ_NUMBER, 2); /* one vector: MSI 2 raises nothing */
	v_reg_write(dev, EPF_COMMAND, CMD_RAISE_MSI);
	CHECK(v_reg(dev, EPF_STATUS) == ST_IRQ && v_fired(efd) == 0);
	/* an IRQ type the device does not know: nothing runs, nothing is raised */
	CHECK(epf_cmd(dev, CMD_WRITE, 0, IOVA, 64, 3) == 0);
	CHECK(v_fired(efd) == 0);
	/* INTx, a pulse: fires once, automasked until unmasked */
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0));
	CHECK_OK(v_set_irq_fd(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, intx));
	CHECK(epf_cmd(dev, CMD_RAISE_INTX, 0, 0, 0, 0) == ST_IRQ);
	CHECK(v_fired(intx) == 1);
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, 1));
	CHECK(v_fired(intx) == 0); /* released: unmasking does not fire again */
	CHECK(epf_cmd(dev, CMD_COPY, IOVA, IOVA + 4096, 4096, 0) == (ST_COPY_OK | ST_IRQ));
	CHECK(v_fired(intx) == 1);
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0));
	close(intx);
}

int main(void)
{
	int iommufd = open("/dev/iommu", O_RDWR), dev = v_open(VFIO0);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint8_t *buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	uint64_t iova = IOVA;
	uint32_t ioas, pt;

	CHECK(iommufd >= 0 && efd >= 0 && buf != MAP_FAILED);
	CHECK_OK(v_bind(dev, iommufd, NULL));
	test_ids_and_registers(dev);
	test_irq_caps(dev);
	ioas = pt = t_ioas_alloc(iommufd);
	CHECK_OK(t_map(iommufd, ioas, buf, BUF_SIZE, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
	CHECK_OK(v_attach(dev, &pt));
	v_master(dev, 1);
	CHECK_OK(v_set_irq_fd(dev, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, efd));
	test_transfers(dev, efd, buf);
	test_unmapped(dev, efd, buf);
	test_msix(dev, efd);
	test_interrupts(dev, efd);
	/* RESET clears the registers but keeps CAPS */
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_RESET, NULL));
	CHECK(v_reg(dev, EPF_MAGIC) == 0 && v_reg(dev, EPF_CAPS) == 0xf);
	CHECK_OK(v_detach(dev));
	CHECK(close(dev) == 0);
	CHECK(close(iommufd) == 0);
	munmap(buf, BUF_SIZE);
	close(efd);
	return t_done();
}
