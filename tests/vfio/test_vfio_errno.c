// SPDX-License-Identifier: MIT
/*
 * The VFIO layer's errno audit against Linux 7.2 (vfio_main.c, device_cdev.c, vfio_pci_core.c,
 * vfio_pci_rdwr.c): the rules the other tests of tests/vfio did not pin down, each named after
 * the kernel function that makes it. The table of every rule and its test is in
 * docs/notes-qemu.md ("errno audit"). Run under the shim with SOFTIOMMU_VFIO_DEVICES=epf-test
 * (its MSI-X table is in BAR 0 at 0x800, 32 entries).
 */
#include <limits.h>
#include <sys/mman.h>

#include "vfio_testlib.h"

#define MSIX_TABLE 0x800
#define MSIX_END (MSIX_TABLE + 32 * 16)
#define MSIX_PBA 0xc00

static int iommufd;

/* A bound descriptor of vfio0 opened with @mode, attached to a new IOAS */
static int bound(int mode, uint32_t *ioas)
{
	int dev = open(VFIO0, mode | O_CLOEXEC);
	uint32_t pt;

	CHECK(dev >= 0);
	*ioas = pt = t_ioas_alloc(iommufd);
	CHECK_OK(v_bind(dev, iommufd, NULL));
	CHECK_OK(v_attach(dev, &pt));
	return dev;
}

static void unbound(int dev, uint32_t ioas)
{
	CHECK(close(dev) == 0);
	CHECK_OK(t_destroy(iommufd, ioas));
}

/* vfio_df_ioctl_bind_iommufd(): copy_struct_from_user() of argsz bytes */
static void test_bind_struct_size(void)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	struct vfio_device_bind_iommufd *b;
	int dev = v_open(VFIO0);

	CHECK(two != MAP_FAILED);
	/* the struct at the end of a page, a PROT_NONE page after it */
	CHECK(mprotect(two + page, page, PROT_NONE) == 0);
	b = (void *)(two + page - sizeof(*b) - 8);
	memset(b, 0, sizeof(*b) + 8);
	b->iommufd = iommufd;
	b->argsz = sizeof(*b) + 8;
	two[page - 1] = 1; /* a non-zero byte past the struct: E2BIG */
	CHECK_ERR(E2BIG, v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, b));
	b = (void *)(two + page - sizeof(*b));
	memset(b, 0, sizeof(*b));
	b->iommufd = iommufd;
	b->argsz = sizeof(*b) + 8; /* the tail is unreadable: EFAULT */
	CHECK_ERR(EFAULT, v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, b));
	b = (void *)(two + page - sizeof(*b) - 8);
	memset(b, 0, sizeof(*b) + 8);
	b->iommufd = iommufd;
	b->argsz = sizeof(*b) + 8; /* a zero tail: fine */
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, b));
	CHECK(b->out_devid != 0);
	CHECK(close(dev) == 0);
	munmap(two, 2 * page);
}

/* vfio_df_ioctl_bind_iommufd(): this descriptor bound, then the token, then the iommufd,
 * then another descriptor of the device bound (vfio_df_open()) */
static void test_bind_order(void)
{
	uint8_t uuid[16] = { 1 };
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = 1000,
					      .flags = VFIO_DEVICE_BIND_FLAG_TOKEN,
					      .token_uuid_ptr = (uintptr_t)uuid };
	int dev = v_open(VFIO0), dev2 = v_open(VFIO0);

	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b)); /* token before iommufd */
	b.token_uuid_ptr = 16;
	CHECK_ERR(EFAULT, v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b));
	CHECK_OK(v_bind(dev, iommufd, NULL));
	/* another descriptor: a bad iommufd is reported before the device being taken */
	CHECK_ERR(EBADF, v_bind(dev2, 1000, NULL));
	CHECK_ERR(EINVAL, v_bind(dev2, iommufd, NULL));
	/* this one, bound: EINVAL before anything else is looked at */
	CHECK_ERR(EINVAL, v_bind(dev, 1000, NULL));
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b));
	CHECK(close(dev2) == 0);
	CHECK(close(dev) == 0);
}

/* vfs_read/vfs_write and do_mmap(): the descriptor's access mode; ioctls do not look at it */
static void test_access_mode(void)
{
	uint32_t ioas, v = 0;
	int dev = bound(O_RDONLY, &ioas);
	void *p;

	CHECK(v_pread(dev, &v, 4, REGION(0)) == 4);
	CHECK_ERR(EBADF, v_pwrite(dev, &v, 4, REGION(0)));
	CHECK_ERR(EBADF, v_pwrite(dev, &v, 4, REGION(VFIO_PCI_CONFIG_REGION_INDEX)));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, dev, (off_t)REGION(2));
	CHECK(p == MAP_FAILED && errno == EACCES);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, dev, (off_t)REGION(2));
	CHECK(p != MAP_FAILED);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	unbound(dev, ioas);

	dev = bound(O_WRONLY, &ioas);
	CHECK_ERR(EBADF, v_pread(dev, &v, 4, REGION(0)));
	v = PCI_COMMAND_MEMORY;
	CHECK(v_pwrite(dev, &v, 2, REGION(VFIO_PCI_CONFIG_REGION_INDEX) + PCI_COMMAND) == 2);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, dev, (off_t)REGION(2));
	CHECK(p == MAP_FAILED && errno == EACCES);
	unbound(dev, ioas);
}

/* vfio_pci_bar_rw(): the MSI-X table is excluded (ones, writes dropped, no decode check) */
static void test_msix_table_excluded(void)
{
	uint32_t ioas, v = 0x12345678, w[2] = { 0 };
	uint64_t q = 0;
	uint16_t cmd;
	int dev = bound(O_RDWR, &ioas);

	CHECK(v_pread(dev, &v, 4, REGION(0) + MSIX_TABLE) == 4 && v == 0xffffffff);
	v = 0;
	CHECK(v_pwrite(dev, &v, 4, REGION(0) + MSIX_TABLE) == 4); /* dropped */
	CHECK(v_pread(dev, &v, 4, REGION(0) + MSIX_TABLE) == 4 && v == 0xffffffff);
	/* a read across the table's start: the BAR's bytes, then ones */
	v = 0xa5a5a5a5;
	CHECK(v_pwrite(dev, &v, 4, REGION(0) + MSIX_TABLE - 4) == 4);
	CHECK(v_pread(dev, w, 8, REGION(0) + MSIX_TABLE - 4) == 8);
	CHECK(w[0] == 0xa5a5a5a5 && w[1] == 0xffffffff);
	/* the PBA is not excluded; past the table's end is the BAR again */
	CHECK(v_pread(dev, &q, 8, REGION(0) + MSIX_PBA) == 8 && q != UINT64_MAX);
	v = 0x11223344;
	CHECK(v_pwrite(dev, &v, 4, REGION(0) + MSIX_END) == 4);
	CHECK(v_pread(dev, &v, 4, REGION(0) + MSIX_END) == 4 && v == 0x11223344);
	/* memory decode off: the table still reads as ones, the rest is EIO */
	cmd = v_cfg16(dev, PCI_COMMAND);
	v_cfg_write16(dev, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
	CHECK(v_pread(dev, &v, 4, REGION(0) + MSIX_TABLE + 16) == 4 && v == 0xffffffff);
	CHECK_ERR(EIO, v_pread(dev, w, 8, REGION(0) + MSIX_TABLE - 4));
	CHECK_ERR(EIO, v_pread(dev, &v, 4, REGION(0) + MSIX_END));
	v_cfg_write16(dev, PCI_COMMAND, cmd);
	unbound(dev, ioas);
}

/* vfio_pci_ioeventfd(): never over the MSI-X table */
static void test_ioeventfd_msix(void)
{
	struct vfio_device_ioeventfd e = { .argsz = sizeof(e), .flags = VFIO_DEVICE_IOEVENTFD_32,
					   .fd = -1 };
	uint32_t ioas;
	int dev = bound(O_RDWR, &ioas);

	e.offset = REGION(0) + MSIX_TABLE;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_IOEVENTFD, &e));
	e.offset = REGION(0) + MSIX_END - 2;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_IOEVENTFD, &e));
	e.offset = REGION(0) + MSIX_TABLE - 4; /* ends where the table starts */
	CHECK_ERR(ENODEV, v_ioctl(dev, VFIO_DEVICE_IOEVENTFD, &e));
	e.offset = REGION(0) + MSIX_END;
	CHECK_ERR(ENODEV, v_ioctl(dev, VFIO_DEVICE_IOEVENTFD, &e));
	unbound(dev, ioas);
}

/* vfio_set_irqs_validate_and_prepare() and vfio_pci_set_irqs_ioctl() */
static void test_set_irqs_rules(void)
{
	struct {
		struct vfio_irq_set h;
		int32_t fd[2];
	} s = { 0 };
	uint32_t ioas;
	int dev = bound(O_RDWR, &ioas);

	s.h = (struct vfio_irq_set){ .argsz = sizeof(s), .index = VFIO_PCI_MSI_IRQ_INDEX,
				     .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				     .start = 1, .count = UINT32_MAX - 1 };
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s)); /* start + count wraps */
	s.h.start = 32;
	s.h.count = 0;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s)); /* start past the vectors */
	s.h.start = 0;
	s.h.index = VFIO_PCI_NUM_IRQS;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	s.h.index = VFIO_PCI_ERR_IRQ_INDEX; /* not PCI Express: no vectors */
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	s.h.index = VFIO_PCI_INTX_IRQ_INDEX;
	s.h.count = 1;
	s.h.flags = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_MASK;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s)); /* two data types */
	s.h.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK | (1u << 10);
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s)); /* an unknown flag */
	/* two actions: no handler is that pair */
	s.h.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK;
	CHECK_ERR(ENOTTY, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	/* data shorter than count entries */
	s.h.index = VFIO_PCI_MSI_IRQ_INDEX;
	s.h.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	s.h.count = 3;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	/* MSI has no mask or unmask action */
	s.h.count = 1;
	s.h.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK;
	CHECK_ERR(ENOTTY, v_ioctl(dev, VFIO_DEVICE_SET_IRQS, &s));
	unbound(dev, ioas);
}

static long feature(int dev, uint32_t flags)
{
	struct vfio_device_feature f = { .argsz = sizeof(f), .flags = flags };

	return v_ioctl(dev, VFIO_DEVICE_FEATURE, &f);
}

/* vfio_ioctl_device_feature() probes: what a VMM asks before it uses a feature */
static void test_feature_probes(void)
{
	const uint32_t probe = VFIO_DEVICE_FEATURE_PROBE;
	uint32_t ioas;
	int dev = bound(O_RDWR, &ioas);

	CHECK_ERR(ENOTTY, feature(dev, probe | VFIO_DEVICE_FEATURE_GET |
					       VFIO_DEVICE_FEATURE_MIGRATION));
	CHECK_ERR(ENOTTY, feature(dev, probe | VFIO_DEVICE_FEATURE_SET |
					       VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE));
	CHECK_ERR(ENOTTY, feature(dev, probe | VFIO_DEVICE_FEATURE_SET |
					       VFIO_DEVICE_FEATURE_DMA_LOGGING_START));
	CHECK_ERR(ENOTTY, feature(dev, probe | VFIO_DEVICE_FEATURE_SET |
					       VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP));
	CHECK_ERR(ENOTTY, feature(dev, probe | VFIO_DEVICE_FEATURE_GET |
					       VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT));
	CHECK_ERR(ENOTTY, feature(dev, probe | VFIO_DEVICE_FEATURE_GET |
					       VFIO_DEVICE_FEATURE_MIG_DATA_SIZE));
	CHECK_ERR(EINVAL, feature(dev, probe | VFIO_DEVICE_FEATURE_SET |
					       VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2));
	CHECK_ERR(ENOTTY, feature(dev, probe | VFIO_DEVICE_FEATURE_SET |
					       VFIO_DEVICE_FEATURE_PCI_VF_TOKEN));
	CHECK_ERR(ENOTTY, feature(dev, probe | VFIO_DEVICE_FEATURE_GET |
					       VFIO_DEVICE_FEATURE_DMA_BUF));
	CHECK_ERR(ENOTTY, feature(dev, probe | VFIO_DEVICE_FEATURE_SET |
					       VFIO_DEVICE_FEATURE_BUS_MASTER));
	CHECK_ERR(ENOTTY, feature(dev, probe | VFIO_DEVICE_FEATURE_GET | 0x1234));
	/* low power: SET only, probed with or without SET, GET refused */
	CHECK_OK(feature(dev, probe | VFIO_DEVICE_FEATURE_SET |
				      VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY));
	CHECK_OK(feature(dev, probe | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT));
	CHECK_ERR(EINVAL, feature(dev, probe | VFIO_DEVICE_FEATURE_GET |
					       VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY));
	CHECK_ERR(EINVAL, feature(dev, probe | VFIO_DEVICE_FEATURE_GET |
					       VFIO_DEVICE_FEATURE_SET |
					       VFIO_DEVICE_FEATURE_LOW_POWER_EXIT));
	/* GET and SET together without PROBE, before the feature is looked at */
	CHECK_ERR(EINVAL, feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET |
					       VFIO_DEVICE_FEATURE_MIGRATION));
	unbound(dev, ioas);
}

/* vfio_iommufd_physical_pasid_attach_ioas(): PASIDs live in an IDA of non-negative ints */
static void test_attach_pasid_range(void)
{
	struct vfio_device_attach_iommufd_pt a = { .argsz = sizeof(a),
						   .flags = VFIO_DEVICE_ATTACH_PASID };
	struct vfio_device_detach_iommufd_pt dt = { .argsz = sizeof(dt),
						    .flags = VFIO_DEVICE_DETACH_PASID };
	uint32_t ioas;
	int dev = bound(O_RDWR, &ioas);

	a.pt_id = ioas;
	a.pasid = 0x80000000u;
	CHECK_ERR(ENOSPC, v_ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a));
	a.pasid = UINT32_MAX;
	CHECK_ERR(ENOSPC, v_ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a));
	/* detaching a PASID never attached: nothing, 0 */
	dt.pasid = 7;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt));
	dt.pasid = 0x80000000u;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt));
	unbound(dev, ioas);
}

int main(void)
{
	iommufd = v_open("/dev/iommu");
	test_bind_struct_size();
	test_bind_order();
	test_access_mode();
	test_msix_table_excluded();
	test_ioeventfd_msix();
	test_set_irqs_rules();
	test_feature_probes();
	test_attach_pasid_range();
	CHECK(close(iommufd) == 0);
	return t_done();
}
