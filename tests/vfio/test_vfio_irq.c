// SPDX-License-Identifier: MIT
/*
 * A VFIO device's interrupts and DMA, end to end: GET_IRQ_INFO per index, SET_IRQS's header
 * and data-type rules (Linux 7.2's vfio_set_irqs_validate_and_prepare() and
 * vfio_pci_set_irqs_ioctl()), INTx automasking with eventfds that fire when the edu model
 * raises its interrupt, MSI, the request interrupt's loopback, and the model's DMA going
 * through the IOAS the device is attached to (and faulting, not crashing, where nothing is
 * mapped).
 */
#include <sys/mman.h>

#include "vfio_testlib.h"

static void test_irq_info(int dev)
{
	struct vfio_irq_info info = { .argsz = sizeof(info) };

	info.index = VFIO_PCI_INTX_IRQ_INDEX;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &info));
	CHECK(info.count == 1 && info.flags == (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
						 VFIO_IRQ_INFO_AUTOMASKED));
	info.index = VFIO_PCI_MSI_IRQ_INDEX;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &info));
	CHECK(info.count == 1 && info.flags == (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE));
	info.index = VFIO_PCI_MSIX_IRQ_INDEX;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &info));
	CHECK(info.count == 0);
	info.index = VFIO_PCI_REQ_IRQ_INDEX;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &info));
	CHECK(info.count == 1);
	info.index = VFIO_PCI_ERR_IRQ_INDEX; /* conventional PCI: no AER */
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &info));
	info.index = VFIO_PCI_NUM_IRQS;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &info));
	info.index = 0;
	info.argsz = 12;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &info));
}

static void test_set_irqs_rules(int dev)
{
	struct {
		struct vfio_irq_set hdr;
		int32_t fd[2];
	} s;
	int pipefd[2];

	CHECK(pipe(pipefd) == 0);
	memset(&s, 0, sizeof(s));
	s.hdr = (struct vfio_irq_set){ .argsz = 16, .count = 1,
				       .flags = VFIO_IRQ_SET_DATA_NONE |
						VFIO_IRQ_SET_ACTION_TRIGGER };
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s)); /* argsz below the header */
	s.hdr.argsz = sizeof(s);
	s.hdr.flags = 1u << 10;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s)); /* unknown flag */
	s.hdr.flags = VFIO_IRQ_SET_ACTION_TRIGGER; /* no data type */
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	s.hdr.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	s.hdr.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK |
		      VFIO_IRQ_SET_ACTION_UNMASK;
	CHECK_ERR(ENOTTY, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s)); /* two actions: no handler */
	s.hdr.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s)); /* INTx is not on */
	s.hdr.index = VFIO_PCI_NUM_IRQS;
	s.hdr.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	s.hdr.index = VFIO_PCI_MSIX_IRQ_INDEX; /* no vectors at all */
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	s.hdr.index = VFIO_PCI_ERR_IRQ_INDEX;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	s.hdr.index = VFIO_PCI_MSI_IRQ_INDEX;
	s.hdr.count = 2; /* past its one vector */
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	s.hdr.count = 1;
	s.hdr.start = 1;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	s.hdr.start = 0;
	s.hdr.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK;
	CHECK_ERR(ENOTTY, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s)); /* MSI has no masking */
	s.hdr.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s)); /* loopback while off */
	s.hdr.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	s.hdr.argsz = sizeof(s.hdr) + 2; /* no room for the int32 */
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	s.hdr.argsz = sizeof(s);
	s.fd[0] = pipefd[0];
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s)); /* not an eventfd */
	s.fd[0] = 1000;
	CHECK_ERR(EBADF, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	/* the failures left MSI off: INTx can be enabled */
	CHECK_OK(v_set_irq_fd(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, -1));
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0));
	close(pipefd[0]);
	close(pipefd[1]);
}

static void test_intx(int dev)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), passed = dup(efd);
	struct {
		struct vfio_irq_set hdr;
		uint8_t b;
	} bs = { .hdr = { .argsz = sizeof(bs), .index = VFIO_PCI_INTX_IRQ_INDEX, .count = 1,
			  .flags = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER }, .b = 1 };

	CHECK_OK(v_set_irq_fd(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, passed));
	close(passed); /* the device holds its own reference, as the kernel's eventfd_ctx */
	CHECK_ERR(EINVAL, v_set_irq_fd(dev, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER,
				       efd)); /* INTx is on */
	CHECK(v_fired(efd) == 0);
	v_reg_write(dev, EDU_IRQ_RAISE, 0x4);
	CHECK(v_fired(efd) == 1);
	CHECK(v_reg(dev, EDU_IRQ_STATUS) == 0x4);
	v_reg_write(dev, EDU_IRQ_RAISE, 0x8); /* automasked: no second signal */
	CHECK(v_fired(efd) == 0);
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, 1));
	CHECK(v_fired(efd) == 1); /* the line is still up */
	v_reg_write(dev, EDU_IRQ_ACK, 0xc);
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, 1));
	CHECK(v_fired(efd) == 0);
	/* masked by the user: a raise waits for the unmask */
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_MASK, 1));
	v_reg_write(dev, EDU_IRQ_RAISE, 0x1);
	CHECK(v_fired(efd) == 0);
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, 1));
	CHECK(v_fired(efd) == 1);
	v_reg_write(dev, EDU_IRQ_ACK, 0x1);
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, 1));
	CHECK(v_fired(efd) == 0); /* acknowledged before the unmask: nothing pending */
	/* loopback: DATA_NONE and DATA_BOOL signal without the device */
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 1));
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &bs));
	CHECK(v_fired(efd) == 2);
	bs.b = 0;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &bs));
	CHECK(v_fired(efd) == 0);
	CHECK_ERR(ENOTTY, v_set_irq_fd(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_MASK,
				       efd));
	CHECK_ERR(EINVAL, v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_MASK,
					 0));
	/* the factorial's completion interrupt, through the same line */
	v_reg_write(dev, EDU_STATUS, 0x80);
	v_reg_write(dev, EDU_FACTORIAL, 4);
	CHECK(v_fired(efd) == 1 && v_reg(dev, EDU_FACTORIAL) == 24);
	v_reg_write(dev, EDU_IRQ_ACK, 0x1);
	v_reg_write(dev, EDU_STATUS, 0);
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, 1));
	/* disabled: nothing fires */
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0));
	v_reg_write(dev, EDU_IRQ_RAISE, 0x1);
	CHECK(v_fired(efd) == 0);
	v_reg_write(dev, EDU_IRQ_ACK, 0x1);
	CHECK_ERR(EINVAL, v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX,
					 VFIO_IRQ_SET_ACTION_UNMASK, 1));
	close(efd);
}

static void test_req(int dev)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	CHECK_ERR(EINVAL, v_set_irq_none(dev, VFIO_PCI_REQ_IRQ_INDEX,
					 VFIO_IRQ_SET_ACTION_TRIGGER, 1)); /* no eventfd yet */
	CHECK_ERR(ENOTTY, v_set_irq_none(dev, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_ACTION_MASK,
					 1));
	CHECK_OK(v_set_irq_fd(dev, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, efd));
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 1));
	CHECK(v_fired(efd) == 1);
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0));
	CHECK_ERR(EINVAL, v_set_irq_none(dev, VFIO_PCI_REQ_IRQ_INDEX,
					 VFIO_IRQ_SET_ACTION_TRIGGER, 1));
	close(efd);
}

/* Program the edu DMA engine: @count bytes between @iova and the device buffer at @off */
static void edu_dma(int dev, uint64_t iova, unsigned int off, uint32_t count, int to_ram,
		    int irq)
{
	v_reg_write64(dev, to_ram ? EDU_DMA_SRC : EDU_DMA_DST, EDU_BUF + off);
	v_reg_write64(dev, to_ram ? EDU_DMA_DST : EDU_DMA_SRC, iova);
	v_reg_write64(dev, EDU_DMA_COUNT, count);
	v_reg_write64(dev, EDU_DMA_CMD, 1 | (to_ram ? 2 : 0) | (irq ? 4 : 0));
	CHECK((v_reg(dev, EDU_DMA_CMD) & 1) == 0); /* done */
}

static void test_msi_and_dma(int iommufd, int dev)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint32_t ioas = t_ioas_alloc(iommufd), pt = ioas;
	uint8_t *buf = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = MOCK_APERTURE_START;

	CHECK(buf != MAP_FAILED);
	for (int i = 0; i < 4096; i++)
		buf[i] = (uint8_t)(i * 7);
	CHECK_OK(t_map(iommufd, ioas, buf, 4 * 4096, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
	CHECK_OK(v_attach(dev, &pt));
	CHECK_OK(v_set_irq_fd(dev, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, efd));
	CHECK_ERR(EINVAL, v_set_irq_fd(dev, VFIO_PCI_INTX_IRQ_INDEX,
				       VFIO_IRQ_SET_ACTION_TRIGGER, efd)); /* MSI is on */

	/* without bus mastering neither DMA nor MSI reach memory */
	v_master(dev, 0);
	edu_dma(dev, iova, 0, 4096, 0, 1);
	CHECK(v_fired(efd) == 0);
	v_reg_write(dev, EDU_IRQ_ACK, 0x100);

	v_master(dev, 1);
	edu_dma(dev, iova, 0, 4096, 0, 1); /* RAM -> device, then an MSI */
	CHECK(v_fired(efd) == 1 && v_reg(dev, EDU_IRQ_STATUS) == 0x100);
	v_reg_write(dev, EDU_IRQ_ACK, 0x100);
	edu_dma(dev, iova + 2 * 4096 + 16, 0, 4000, 1, 0); /* device -> RAM elsewhere */
	CHECK(v_fired(efd) == 0);
	CHECK(!memcmp(buf + 2 * 4096 + 16, buf, 4000));

	/* an IOVA nothing maps: the DMA faults in the IOMMU, the program goes on */
	memset(buf + 3 * 4096, 0x5a, 4096);
	edu_dma(dev, MOCK_APERTURE_START + (64 << 20), 0, 64, 1, 1);
	CHECK(v_fired(efd) == 1);
	v_reg_write(dev, EDU_IRQ_ACK, 0x100);
	/* unmapped: the device no longer reaches the page */
	CHECK_OK(t_unmap(iommufd, ioas, iova, 4 * 4096, NULL));
	edu_dma(dev, iova + 3 * 4096, 0, 64, 1, 0);
	CHECK(buf[3 * 4096] == 0x5a);
	/* loopback MSI and disable */
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 1));
	CHECK(v_fired(efd) == 1);
	CHECK_OK(v_set_irq_none(dev, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0));
	v_reg_write(dev, EDU_IRQ_RAISE, 0x1);
	CHECK(v_fired(efd) == 0);
	v_reg_write(dev, EDU_IRQ_ACK, 0x1);
	CHECK_OK(v_detach(dev));
	CHECK_OK(t_destroy(iommufd, ioas));
	munmap(buf, 4 * 4096);
	close(efd);
}

/* Closing the device turns its interrupts off: a new bind starts with none */
static void test_close_releases_irqs(int iommufd)
{
	int dev = v_open(VFIO0), efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	CHECK_OK(v_bind(dev, iommufd, NULL));
	CHECK_OK(v_set_irq_fd(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, efd));
	v_reg_write(dev, EDU_IRQ_RAISE, 0x1);
	CHECK(v_fired(efd) == 1);
	CHECK(close(dev) == 0);
	dev = v_open(VFIO0);
	CHECK_OK(v_bind(dev, iommufd, NULL));
	CHECK(v_reg(dev, EDU_IRQ_STATUS) == 0); /* the model was reset */
	CHECK_ERR(EINVAL, v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX,
					 VFIO_IRQ_SET_ACTION_UNMASK, 1)); /* INTx is off */
	v_reg_write(dev, EDU_IRQ_RAISE, 0x1);
	CHECK(v_fired(efd) == 0);
	CHECK(close(dev) == 0);
	close(efd);
}

int main(void)
{
	int iommufd = open("/dev/iommu", O_RDWR), dev = v_open(VFIO1);

	CHECK(iommufd >= 0);
	CHECK_OK(v_bind(dev, iommufd, NULL));
	test_irq_info(dev);
	test_set_irqs_rules(dev);
	test_intx(dev);
	test_req(dev);
	test_msi_and_dma(iommufd, dev);
	CHECK(close(dev) == 0);
	test_close_releases_irqs(iommufd);
	CHECK(close(iommufd) == 0);
	return t_done();
}
