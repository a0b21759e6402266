// SPDX-License-Identifier: MIT
/*
 * The VFIO device descriptor's uAPI, checked against Linux 7.2's rules (vfio_main.c,
 * device_cdev.c, vfio_pci_core.c): nothing but BIND before a bind, bind's argsz/flags/
 * descriptor errnos, one binding per device, attach/replace/detach, GET_INFO and
 * GET_REGION_INFO, region offsets and the pread/pwrite edges (short at a BAR's end, EINVAL
 * outside, EFAULT outside config space, EIO with memory decode off), mmap of the BAR that
 * allows it, RESET, FEATURE, and close ordering between the iommufd and the device.
 */
#include <sys/mman.h>
#include <sys/syscall.h>

#include "vfio_testlib.h"

static void test_before_bind(void)
{
	int dev = v_open(VFIO0);
	struct vfio_device_info info = { .argsz = sizeof(info) };
	uint32_t pt = 1, v;
	void *p;

	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_GET_INFO, &info));
	CHECK_ERR(EINVAL, v_attach(dev, &pt));
	CHECK_ERR(EINVAL, v_detach(dev));
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_RESET, NULL));
	CHECK_ERR(EINVAL, v_ioctl(dev, _IO(VFIO_TYPE, VFIO_BASE + 60), NULL));
	CHECK_ERR(EINVAL, v_pread(dev, &v, 4, REGION(VFIO_PCI_CONFIG_REGION_INDEX)));
	CHECK_ERR(EINVAL, v_pread(dev, &v, 0, 0));
	CHECK_ERR(EINVAL, v_pwrite(dev, &v, 4, REGION(0)));
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, dev, (off_t)REGION(2));
	CHECK(p == MAP_FAILED && errno == EINVAL);
	CHECK(close(dev) == 0);
}

static void test_bind_errors(void)
{
	int dev = v_open(VFIO0), iommufd = open("/dev/iommu", O_RDWR), pipefd[2];
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = iommufd };
	uint8_t uuid[16] = { 0 };

	CHECK(pipe(pipefd) == 0);
	b.argsz = 12;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b));
	b.argsz = sizeof(b);
	b.flags = 2;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b));
	b.flags = 0;
	b.iommufd = -1;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b));
	CHECK_ERR(EBADFD, v_bind(dev, pipefd[0], NULL));
	CHECK_ERR(EBADFD, v_bind(dev, dev, NULL));
	CHECK_ERR(EBADF, v_bind(dev, 1000, NULL));
	/* a token for a device that is neither a PF nor a VF */
	b.iommufd = iommufd;
	b.flags = VFIO_DEVICE_BIND_FLAG_TOKEN;
	b.token_uuid_ptr = (uintptr_t)uuid;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b));
	b.token_uuid_ptr = 8;
	CHECK_ERR(EFAULT, v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b));
	b.argsz = 16; /* no room for the token pointer: zero-extended, so the UUID is at 0 */
	CHECK_ERR(EFAULT, v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b));
	b.argsz = sizeof(b);
	CHECK_ERR(EFAULT, v_ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, (void *)8));
	/* nothing half-done: the device binds now */
	CHECK_OK(v_bind(dev, iommufd, NULL));
	close(pipefd[0]);
	close(pipefd[1]);
	CHECK(close(dev) == 0);
	CHECK(close(iommufd) == 0);
}

static void test_bind_once(void)
{
	int iommufd = open("/dev/iommu", O_RDWR), dev = v_open(VFIO0), dev2 = v_open(VFIO0);
	struct iommu_hw_info hw = { .size = sizeof(hw) };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	uint32_t devid = 0, devid2 = 0;

	CHECK_OK(v_bind(dev, iommufd, &devid));
	CHECK(devid != 0);
	CHECK_ERR(EINVAL, v_bind(dev, iommufd, NULL));
	CHECK_ERR(EINVAL, v_bind(dev2, iommufd, NULL));
	CHECK_ERR(EINVAL, v_ioctl(dev2, VFIO_DEVICE_GET_INFO, &info));
	/* the dev_id is an iommufd device: GET_HW_INFO answers for it */
	hw.dev_id = devid;
	CHECK_OK(softiommu_ioctl(iommufd, IOMMU_GET_HW_INFO, &hw));
	CHECK(hw.out_data_type == IOMMU_HW_INFO_TYPE_SELFTEST);
	/* the second descriptor's close leaves the binding alone */
	CHECK(close(dev2) == 0);
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_INFO, &info));
	CHECK(close(dev) == 0);
	/* unbound at close: the ID is gone, and the device binds again */
	CHECK_ERR(ENOENT, softiommu_ioctl(iommufd, IOMMU_GET_HW_INFO, &hw));
	dev = v_open(VFIO0);
	CHECK_OK(v_bind(dev, iommufd, &devid2));
	CHECK(devid2 != 0);
	CHECK(close(dev) == 0);
	CHECK(close(iommufd) == 0);
}

static void test_attach(void)
{
	int iommufd = open("/dev/iommu", O_RDWR), dev = v_open(VFIO1);
	struct vfio_device_attach_iommufd_pt a = { .argsz = sizeof(a) };
	struct vfio_device_detach_iommufd_pt d = { .argsz = sizeof(d) };
	uint32_t ioas = t_ioas_alloc(iommufd), ioas2 = t_ioas_alloc(iommufd), pt;

	CHECK_OK(v_bind(dev, iommufd, NULL));
	a.argsz = 8;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a));
	a.argsz = sizeof(a);
	a.flags = 2;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a));
	a.flags = VFIO_DEVICE_ATTACH_PASID;
	a.argsz = 12;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a));
	pt = 9999;
	CHECK_ERR(ENOENT, v_attach(dev, &pt));
	pt = ioas;
	CHECK_OK(v_attach(dev, &pt));
	CHECK(pt != ioas && pt != 0); /* the automatic domain's HWPT */
	CHECK_ERR(EBUSY, t_destroy(iommufd, ioas));
	pt = ioas2;
	CHECK_OK(v_attach(dev, &pt)); /* a second attach replaces */
	CHECK_OK(t_destroy(iommufd, ioas));
	CHECK_OK(v_detach(dev));
	CHECK_OK(v_detach(dev)); /* nothing attached: a no-op */
	CHECK_OK(t_destroy(iommufd, ioas2));
	d.argsz = 4;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d));
	d.argsz = sizeof(d);
	d.flags = 4;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d));
	d.flags = VFIO_DEVICE_DETACH_PASID;
	d.argsz = 8;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d));
	CHECK(close(dev) == 0);
	CHECK(close(iommufd) == 0);
}

static void test_info(int dev)
{
	struct vfio_device_info info;
	struct vfio_region_info r;

	memset(&info, 0xa5, sizeof(info));
	info.argsz = 12;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_GET_INFO, &info));
	info.argsz = 16; /* no room for cap_offset: it is left as it was */
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_INFO, &info));
	CHECK(info.flags == (VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET));
	CHECK(info.num_regions == VFIO_PCI_NUM_REGIONS && info.num_irqs == VFIO_PCI_NUM_IRQS);
	CHECK(info.cap_offset == 0xa5a5a5a5);
	info.argsz = sizeof(info) + 8;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_INFO, &info));
	CHECK(info.cap_offset == 0);

	memset(&r, 0, sizeof(r));
	r.argsz = 16;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &r));
	r.argsz = sizeof(r);
	r.index = VFIO_PCI_CONFIG_REGION_INDEX;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &r));
	CHECK(r.size == 256 && r.offset == REGION(VFIO_PCI_CONFIG_REGION_INDEX));
	CHECK(r.flags == (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE));
	r.index = VFIO_PCI_BAR0_REGION_INDEX;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &r));
	CHECK(r.size == 1 << 20 && r.offset == REGION(0));
	CHECK(r.flags == (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE));
	r.index = VFIO_PCI_BAR1_REGION_INDEX;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &r));
	CHECK(r.size == 0 && r.flags == 0 && r.offset == REGION(1));
	r.index = VFIO_PCI_BAR2_REGION_INDEX;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &r));
	CHECK(r.size == 64 << 10 && r.offset == REGION(2));
	CHECK(r.flags == (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			  VFIO_REGION_INFO_FLAG_MMAP));
	r.index = VFIO_PCI_ROM_REGION_INDEX;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &r));
	CHECK(r.size == 0 && r.flags == 0 && r.offset == REGION(VFIO_PCI_ROM_REGION_INDEX));
	r.index = VFIO_PCI_VGA_REGION_INDEX;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &r));
	r.index = VFIO_PCI_NUM_REGIONS;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &r));
	CHECK_ERR(EFAULT, v_ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, (void *)16));
}

static void test_config(int dev)
{
	const uint64_t cfg = REGION(VFIO_PCI_CONFIG_REGION_INDEX);
	uint32_t v = 0xffffffff, bar;
	uint8_t buf[256];

	CHECK(v_cfg16(dev, PCI_VENDOR_ID) == 0x1234 && v_cfg16(dev, PCI_DEVICE_ID) == 0x11e8);
	CHECK((v_cfg32(dev, PCI_CLASS_REVISION) >> 8) == 0x00ff00);
	CHECK(v_pread(dev, buf, sizeof(buf), cfg) == 256); /* all of it, in pieces */
	CHECK(buf[PCI_CAPABILITY_LIST] == 0x40 && buf[0x40] == PCI_CAP_ID_MSI);
	CHECK(v_cfg16(dev, PCI_STATUS) & PCI_STATUS_CAP_LIST);
	CHECK_ERR(EFAULT, v_pread(dev, buf, 2, cfg + 255));
	CHECK_ERR(EFAULT, v_pread(dev, buf, 1, cfg + 256));
	CHECK_ERR(EFAULT, v_pread(dev, (void *)8, 4, cfg));
	/* read-only registers keep their value */
	CHECK(v_pwrite(dev, &v, 4, cfg + PCI_VENDOR_ID) == 4);
	CHECK(v_cfg16(dev, PCI_VENDOR_ID) == 0x1234);
	/* BAR sizing: all ones reads back the size mask */
	bar = v_cfg32(dev, PCI_BASE_ADDRESS_0);
	CHECK(v_pwrite(dev, &v, 4, cfg + PCI_BASE_ADDRESS_0) == 4);
	CHECK(v_cfg32(dev, PCI_BASE_ADDRESS_0) == 0xfff00000);
	CHECK(v_pwrite(dev, &v, 4, cfg + PCI_BASE_ADDRESS_2) == 4);
	CHECK(v_cfg32(dev, PCI_BASE_ADDRESS_2) ==
	      (0xffff0000 | PCI_BASE_ADDRESS_MEM_PREFETCH));
	CHECK(v_pwrite(dev, &v, 4, cfg + PCI_BASE_ADDRESS_1) == 4);
	CHECK(v_cfg32(dev, PCI_BASE_ADDRESS_1) == 0);
	v = 0xfe000000;
	CHECK(v_pwrite(dev, &v, 4, cfg + PCI_BASE_ADDRESS_0) == 4);
	CHECK(v_cfg32(dev, PCI_BASE_ADDRESS_0) == 0xfe000000);
	CHECK(v_pwrite(dev, &bar, 4, cfg + PCI_BASE_ADDRESS_0) == 4);
}

static void test_bar_rw(int dev)
{
	uint64_t v64 = 0;
	uint32_t v = 0;
	uint8_t b[16];
	uint16_t cmd;

	CHECK(v_reg(dev, EDU_ID) == 0x010000ed);
	v_reg_write(dev, EDU_LIVENESS, 0x12345678);
	CHECK(v_reg(dev, EDU_LIVENESS) == ~0x12345678u);
	v_reg_write(dev, EDU_FACTORIAL, 10);
	CHECK(v_reg(dev, EDU_FACTORIAL) == 3628800);
	/* 8-byte registers take one 8-byte access */
	v_reg_write64(dev, EDU_DMA_SRC, 0x1122334455667788ull);
	CHECK(v_pread(dev, &v64, 8, REGION(0) + EDU_DMA_SRC) == 8 && v64 == 0x1122334455667788ull);
	/* an access that runs past the BAR's end is cut short; one past it is EINVAL */
	CHECK(v_pread(dev, b, 16, REGION(0) + (1 << 20) - 4) == 4);
	CHECK_ERR(EINVAL, v_pread(dev, b, 4, REGION(0) + (1 << 20)));
	CHECK_ERR(EINVAL, v_pread(dev, b, 4, REGION(1)));
	CHECK_ERR(EINVAL, v_pread(dev, b, 4, REGION(VFIO_PCI_BAR5_REGION_INDEX)));
	CHECK_ERR(EINVAL, v_pread(dev, b, 4, REGION(VFIO_PCI_ROM_REGION_INDEX)));
	CHECK_ERR(EINVAL, v_pwrite(dev, b, 4, REGION(VFIO_PCI_ROM_REGION_INDEX)));
	CHECK_ERR(EINVAL, v_pread(dev, b, 4, REGION(VFIO_PCI_VGA_REGION_INDEX)));
	CHECK_ERR(EINVAL, v_pread(dev, b, 4, REGION(VFIO_PCI_NUM_REGIONS)));
	/* 0 bytes: vfio_pci_rw() still checks the region (config space moves 0, unchecked) */
	CHECK_ERR(EINVAL, v_pread(dev, b, 0, REGION(VFIO_PCI_NUM_REGIONS)));
	CHECK_ERR(EINVAL, v_pread(dev, b, 0, REGION(1)));
	CHECK_ERR(EINVAL, v_pread(dev, b, 0, REGION(0) + (1 << 20)));
	CHECK(v_pread(dev, b, 0, REGION(0)) == 0);
	CHECK(v_pread(dev, b, 0, REGION(VFIO_PCI_CONFIG_REGION_INDEX) + 4096) == 0);
	CHECK_ERR(EFAULT, v_pread(dev, (void *)8, 4, REGION(0)));
	/* memory decode off: BAR accesses are EIO, config space still answers */
	cmd = v_cfg16(dev, PCI_COMMAND);
	v_cfg_write16(dev, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
	CHECK_ERR(EIO, v_pread(dev, &v, 4, REGION(0)));
	CHECK_ERR(EIO, v_pwrite(dev, &v, 4, REGION(2)));
	v_cfg_write16(dev, PCI_COMMAND, cmd);
	CHECK(v_reg(dev, EDU_ID) == 0x010000ed);
}

static void test_mmap(int dev)
{
	uint8_t buf[8] = { 0 };
	uint8_t *p, *q;
	void *bad;

	p = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_SHARED, dev, (off_t)REGION(2));
	CHECK(p != MAP_FAILED);
	if (p == MAP_FAILED)
		return;
	memcpy(p + 100, "softiommu", 8);
	CHECK(v_pread(dev, buf, 8, REGION(2) + 100) == 8 && !memcmp(buf, "softiommu", 8));
	CHECK(v_pwrite(dev, "VFIO-BAR", 8, REGION(2) + 4096) == 8);
	q = mmap(NULL, 4096, PROT_READ, MAP_SHARED, dev, (off_t)(REGION(2) + 4096));
	CHECK(q != MAP_FAILED && !memcmp(q, "VFIO-BAR", 8) && !memcmp(p + 4096, "VFIO-BAR", 8));
	if (q != MAP_FAILED)
		munmap(q, 4096);
	munmap(p, 64 << 10);
	bad = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, dev, (off_t)REGION(2));
	CHECK(bad == MAP_FAILED && errno == EINVAL);
	bad = mmap(NULL, 4096, PROT_READ, MAP_SHARED, dev, (off_t)REGION(0)); /* trapped */
	CHECK(bad == MAP_FAILED && errno == EINVAL);
	bad = mmap(NULL, 8192, PROT_READ, MAP_SHARED, dev, (off_t)(REGION(2) + (60 << 10)));
	CHECK(bad == MAP_FAILED && errno == EINVAL);
	bad = mmap(NULL, 4096, PROT_READ, MAP_SHARED, dev, (off_t)REGION(0x3ff));
	CHECK(bad == MAP_FAILED && errno == EINVAL);
	bad = mmap(NULL, 4096, PROT_READ, MAP_SHARED, dev,
		   (off_t)REGION(VFIO_PCI_CONFIG_REGION_INDEX));
	CHECK(bad == MAP_FAILED && errno == EINVAL);
}

static void test_reset_feature_misc(int dev)
{
	struct {
		struct vfio_device_feature hdr;
		uint8_t data[16];
	} f = { .hdr = { .argsz = sizeof(f) } };
	struct vfio_pci_hot_reset_info hri = { .argsz = sizeof(hri) };
	struct vfio_pci_hot_reset hr = { .argsz = sizeof(hr) };
	struct vfio_device_ioeventfd ioe = { .argsz = sizeof(ioe), .flags = 4, .fd = -1 };
	uint32_t bar0 = v_cfg32(dev, PCI_BASE_ADDRESS_0);

	v_reg_write(dev, EDU_LIVENESS, 7);
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_RESET, NULL));
	CHECK(v_reg(dev, EDU_LIVENESS) == 0); /* the model reset ... */
	CHECK(v_cfg32(dev, PCI_BASE_ADDRESS_0) == bar0); /* ... config space restored */

	f.hdr.argsz = 4;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_FEATURE, &f));
	f.hdr.argsz = sizeof(f);
	f.hdr.flags = 1u << 20;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_FEATURE, &f));
	f.hdr.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_FEATURE, &f));
	f.hdr.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_MIGRATION;
	CHECK_ERR(ENOTTY, v_ioctl(dev, VFIO_DEVICE_FEATURE, &f));
	f.hdr.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_PCI_VF_TOKEN;
	CHECK_ERR(ENOTTY, v_ioctl(dev, VFIO_DEVICE_FEATURE, &f));
	f.hdr.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_FEATURE, &f));
	f.hdr.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_FEATURE, &f));
	f.hdr.flags = VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_FEATURE, &f)); /* neither GET nor SET */
	f.hdr.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_FEATURE, &f));
	f.hdr.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT;
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_FEATURE, &f));
	f.hdr.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP;
	memset(f.data, 0xff, 4); /* wakeup_eventfd -1 */
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_FEATURE, &f));
	f.hdr.argsz = sizeof(f.hdr) + 2;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_FEATURE, &f));

	CHECK_ERR(ENODEV, v_ioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hri));
	hri.argsz = 8;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hri));
	CHECK_ERR(ENODEV, v_ioctl(dev, VFIO_DEVICE_PCI_HOT_RESET, &hr));
	hr.count = 1; /* group fds: not for a cdev-opened device */
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_PCI_HOT_RESET, &hr));
	CHECK_ERR(ENODEV, v_ioctl(dev, VFIO_DEVICE_IOEVENTFD, &ioe));
	ioe.flags = 3;
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_IOEVENTFD, &ioe));
	ioe.flags = 4;
	ioe.offset = REGION(1);
	CHECK_ERR(EINVAL, v_ioctl(dev, VFIO_DEVICE_IOEVENTFD, &ioe));
	CHECK_ERR(ENOTTY, v_ioctl(dev, _IO(VFIO_TYPE, VFIO_BASE + 60), NULL));
	CHECK_ERR(ENOTTY, v_ioctl(dev, VFIO_GET_API_VERSION, NULL));
}

/* Linux holds the iommufd while a device is bound: the iommufd may go first */
static void test_close_iommufd_first(void)
{
	int iommufd = open("/dev/iommu", O_RDWR), dev = v_open(VFIO0);
	struct vfio_device_info info = { .argsz = sizeof(info) };
	uint32_t ioas = t_ioas_alloc(iommufd), pt = ioas;

	CHECK_OK(v_bind(dev, iommufd, NULL));
	CHECK_OK(v_attach(dev, &pt));
	CHECK(close(iommufd) == 0);
	CHECK_OK(v_ioctl(dev, VFIO_DEVICE_GET_INFO, &info));
	CHECK_OK(v_detach(dev));
	pt = ioas;
	CHECK_OK(v_attach(dev, &pt));
	CHECK(close(dev) == 0);
	/* both gone: the device binds to a new iommufd */
	iommufd = open("/dev/iommu", O_RDWR);
	dev = v_open(VFIO0);
	CHECK_OK(v_bind(dev, iommufd, NULL));
	CHECK(close(dev) == 0);
	CHECK(close(iommufd) == 0);
}

static void test_close_device_first(void)
{
	int iommufd = open("/dev/iommu", O_RDWR), dev = v_open(VFIO0);
	uint32_t ioas = t_ioas_alloc(iommufd), pt = ioas, devid;
	struct iommu_hw_info hw = { .size = sizeof(hw) };

	CHECK_OK(v_bind(dev, iommufd, &devid));
	CHECK_OK(v_attach(dev, &pt));
	CHECK_ERR(EBUSY, t_destroy(iommufd, ioas));
	CHECK(close(dev) == 0);
	hw.dev_id = devid;
	CHECK_ERR(ENOENT, softiommu_ioctl(iommufd, IOMMU_GET_HW_INFO, &hw));
	CHECK_OK(t_destroy(iommufd, ioas)); /* detached and unbound: nothing holds it */
	CHECK(close(iommufd) == 0);
}

/* A device number closed behind the shim's back and reused: pread reaches the new file */
static void test_reused_number(void)
{
	int iommufd = open("/dev/iommu", O_RDWR), dev = v_open(VFIO0), mfd;
	char c = 0;

	CHECK_OK(v_bind(dev, iommufd, NULL));
	CHECK(syscall(SYS_close, dev) == 0);
	mfd = memfd_create("reuse", 0);
	CHECK(mfd == dev);
	CHECK(write(mfd, "x", 1) == 1);
	CHECK(pread(mfd, &c, 1, 0) == 1 && c == 'x');
	CHECK(close(mfd) == 0);
	/* the device was released with its number: it binds again */
	dev = v_open(VFIO0);
	CHECK_OK(v_bind(dev, iommufd, NULL));
	CHECK(close(dev) == 0);
	CHECK(close(iommufd) == 0);
}

int main(void)
{
	int iommufd, dev;

	test_before_bind();
	test_bind_errors();
	test_bind_once();
	test_attach();
	iommufd = open("/dev/iommu", O_RDWR);
	dev = v_open(VFIO1);
	CHECK_OK(v_bind(dev, iommufd, NULL));
	test_info(dev);
	test_config(dev);
	test_bar_rw(dev);
	test_mmap(dev);
	test_reset_feature_misc(dev);
	CHECK(close(dev) == 0);
	CHECK(close(iommufd) == 0);
	test_close_iommufd_first();
	test_close_device_first();
	test_reused_number();
	return t_done();
}
