/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the VFIO layer's tests: real programs that open /dev/vfio/devices/vfioN and
 * /dev/iommu with system calls, run under the shim with SOFTIOMMU_VFIO_DEVICES="edu edu,iommu=mock"
 * (two emulated edu devices, vfio0 and vfio1). Errors come back as -errno, as in testlib.h.
 */
#ifndef SIO_VFIO_TESTLIB_H
#define SIO_VFIO_TESTLIB_H

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "testlib.h"

#define VFIO0 "/dev/vfio/devices/vfio0"
#define VFIO1 "/dev/vfio/devices/vfio1"
#define REGION(i) ((uint64_t)(i) << 40)

/* edu registers (BAR 0), the model's own */
#include "../../src/frontend/vfio/edu_regs.h"
#define EDU_BUF EDU_BUF_ADDR

static inline int v_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return fd;
}

static inline long v_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static inline long v_bind(int dev, int iommufd, uint32_t *devid)
{
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = iommufd };
	long rc = v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b);

	if (devid)
		*devid = b.out_devid;
	return rc;
}

static inline long v_attach(int dev, uint32_t *pt_id)
{
	struct vfio_device_attach_iommufd_pt a = { .argsz = sizeof(a), .pt_id = *pt_id };
	long rc = v_ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a);

	*pt_id = a.pt_id;
	return rc;
}

static inline long v_detach(int dev)
{
	struct vfio_device_detach_iommufd_pt d = { .argsz = sizeof(d) };

	return v_ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d);
}

static inline long v_pread(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	return n < 0 ? -errno : n;
}

static inline long v_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	ssize_t n = pwrite(fd, buf, len, (off_t)off);

	return n < 0 ? -errno : n;
}

static inline uint32_t v_cfg32(int dev, unsigned int off)
{
	uint32_t v = 0;

	CHECK(v_pread(dev, &v, 4, REGION(VFIO_PCI_CONFIG_REGION_INDEX) + off) == 4);
	return v;
}

static inline uint16_t v_cfg16(int dev, unsigned int off)
{
	uint16_t v = 0;

	CHECK(v_pread(dev, &v, 2, REGION(VFIO_PCI_CONFIG_REGION_INDEX) + off) == 2);
	return v;
}

static inline void v_cfg_write16(int dev, unsigned int off, uint16_t v)
{
	CHECK(v_pwrite(dev, &v, 2, REGION(VFIO_PCI_CONFIG_REGION_INDEX) + off) == 2);
}

static inline uint32_t v_reg(int dev, unsigned int off)
{
	uint32_t v = 0;

	CHECK(v_pread(dev, &v, 4, REGION(0) + off) == 4);
	return v;
}

static inline void v_reg_write(int dev, unsigned int off, uint32_t v)
{
	CHECK(v_pwrite(dev, &v, 4, REGION(0) + off) == 4);
}

static inline void v_reg_write64(int dev, unsigned int off, uint64_t v)
{
	CHECK(v_pwrite(dev, &v, 8, REGION(0) + off) == 8);
}

/* Bus mastering on (DMA and MSI need it), memory decode left on */
static inline void v_master(int dev, int on)
{
	uint16_t cmd = v_cfg16(dev, PCI_COMMAND);

	v_cfg_write16(dev, PCI_COMMAND, on ? cmd | PCI_COMMAND_MASTER : cmd & ~PCI_COMMAND_MASTER);
}

/* SET_IRQS with one int32 of data (an eventfd, or -1) */
static inline long v_set_irq_fd(int dev, uint32_t index, uint32_t action, int32_t fd)
{
	struct {
		struct vfio_irq_set hdr;
		int32_t fd;
	} s = { .hdr = { .argsz = sizeof(s), .index = index, .count = 1,
			 .flags = VFIO_IRQ_SET_DATA_EVENTFD | action }, .fd = fd };

	return v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s);
}

static inline long v_set_irq_none(int dev, uint32_t index, uint32_t action, uint32_t count)
{
	struct vfio_irq_set s = { .argsz = sizeof(s), .index = index, .count = count,
				  .flags = VFIO_IRQ_SET_DATA_NONE | action };

	return v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s);
}

/* How many times @efd was signalled since the last call (0 when not) */
static inline uint64_t v_fired(int efd)
{
	uint64_t n = 0;

	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

#endif
