// SPDX-License-Identifier: MIT
/*
 * softiommu demo: open an iommufd, create an IOAS, map a buffer, attach a mock device through
 * an automatically created paging domain, let an "in-kernel driver" (an access) read and write
 * through the IOVA, then unmap and tear everything down — printing each step with the object
 * IDs and mappings. It uses the public C API (softiommu_open/ioctl/close), so every step goes
 * through the same uAPI path a program under the LD_PRELOAD shim takes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/iommufd.h>
#include <softiommu/softiommu.h>

#include "drivers/mock/iommufd_test.h"

#define STEP(...) printf("\n== " __VA_ARGS__)

static int check(long rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "demo: %s failed: %s\n", what, strerror((int)-rc));
		exit(1);
	}
	return (int)rc;
}

static void show_ranges(int fd, uint32_t ioas_id)
{
	struct iommu_iova_range r[8];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd), .ioas_id = ioas_id, .num_iovas = 8,
		.allowed_iovas = (uintptr_t)r,
	};

	check(softiommu_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd), "IOAS_IOVA_RANGES");
	printf("   usable IOVA: ");
	for (uint32_t i = 0; i < cmd.num_iovas && i < 8; i++)
		printf("%s[0x%llx, 0x%llx]", i ? ", " : "", (unsigned long long)r[i].start,
		       (unsigned long long)r[i].last);
	printf(" (alignment %llu)\n", (unsigned long long)cmd.out_iova_alignment);
}

int softiommu_demo(void)
{
	const size_t len = 4 * 4096;
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd dom = { .size = sizeof(dom), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_test_cmd acc = { .size = sizeof(acc), .op = IOMMU_TEST_OP_CREATE_ACCESS };
	struct iommu_test_cmd chk = { .size = sizeof(chk), .op = IOMMU_TEST_OP_MD_CHECK_MAP };
	struct iommu_test_cmd rw = { .size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW };
	struct iommu_ioas_map map = { .size = sizeof(map) };
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	char msg[64], back[64];
	unsigned long pinned;
	char *buf;
	int fd;

	printf("softiommu demo: the iommufd uAPI of Linux 7.2, in user space\n");

	STEP("open /dev/iommu\n");
	fd = check(softiommu_open(0), "open");
	printf("   iommufd context on fd %d\n", fd);

	STEP("IOMMU_IOAS_ALLOC: an I/O address space\n");
	check(softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &alloc), "IOAS_ALLOC");
	printf("   IOAS id %u\n", alloc.out_ioas_id);
	show_ranges(fd, alloc.out_ioas_id);

	STEP("attach a mock device to the IOAS (IOMMU_TEST_OP_MOCK_DOMAIN)\n");
	dom.id = alloc.out_ioas_id;
	check(softiommu_ioctl(fd, IOMMU_TEST_CMD, &dom), "MOCK_DOMAIN");
	printf("   device id %u, selftest object %u, attached to automatic paging HWPT %u\n",
	       dom.mock_domain.out_idev_id, dom.mock_domain.out_stdev_id,
	       dom.mock_domain.out_hwpt_id);
	printf("   the domain's aperture now restricts the IOAS:\n");
	show_ranges(fd, alloc.out_ioas_id);

	STEP("IOMMU_IOAS_MAP: map a %zu KiB buffer, IOVA chosen by the kernel's policy\n", len >> 10);
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	memset(buf, 0, len);
	map.ioas_id = alloc.out_ioas_id;
	map.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	map.user_va = (uintptr_t)buf;
	map.length = len;
	check(softiommu_ioctl(fd, IOMMU_IOAS_MAP, &map), "IOAS_MAP");
	softiommu_pinned_pages(&pinned, NULL);
	printf("   user VA %p -> IOVA 0x%llx, %zu bytes; %lu pages pinned for the domain\n",
	       (void *)buf, (unsigned long long)map.iova, len, pinned);

	chk.id = dom.mock_domain.out_hwpt_id;
	chk.check_map.iova = map.iova;
	chk.check_map.length = len;
	chk.check_map.uptr = (uintptr_t)buf;
	check(softiommu_ioctl(fd, IOMMU_TEST_CMD, &chk), "MD_CHECK_MAP");
	printf("   the paging domain's page table translates every 2 KiB IOVA page to the buffer\n");

	STEP("an access (an in-kernel driver) writes and reads through the IOVA\n");
	acc.id = alloc.out_ioas_id;
	check(softiommu_ioctl(fd, IOMMU_TEST_CMD, &acc), "CREATE_ACCESS");
	printf("   access fd %u on IOAS %u\n", acc.create_access.out_access_fd, alloc.out_ioas_id);
	snprintf(msg, sizeof(msg), "hello from IOVA 0x%llx", (unsigned long long)map.iova + 100);
	rw.id = acc.create_access.out_access_fd;
	rw.access_rw.iova = map.iova + 100;
	rw.access_rw.length = strlen(msg) + 1;
	rw.access_rw.uptr = (uintptr_t)msg;
	rw.access_rw.flags = MOCK_ACCESS_RW_WRITE;
	check(softiommu_ioctl(fd, IOMMU_TEST_CMD, &rw), "ACCESS_RW write");
	printf("   wrote \"%s\"; the CPU sees it at buf+100: \"%s\"\n", msg, buf + 100);
	memcpy(buf + 200, "written by the CPU", 19);
	rw.access_rw.iova = map.iova + 200;
	rw.access_rw.length = 19;
	rw.access_rw.uptr = (uintptr_t)back;
	rw.access_rw.flags = 0;
	check(softiommu_ioctl(fd, IOMMU_TEST_CMD, &rw), "ACCESS_RW read");
	printf("   read back through IOVA 0x%llx: \"%s\"\n", (unsigned long long)map.iova + 200,
	       back);
	check(softiommu_close(acc.create_access.out_access_fd), "close access");

	STEP("an emulated device (a VMM's device model) DMAs through the same IOAS\n");
	{
		struct softiommu_dev *dev;
		unsigned int dev_id, pt = alloc.out_ioas_id;
		char in[32];
		int rc;

		check(softiommu_dev_create(fd, "mock", 0, &dev, &dev_id), "dev_create");
		check(softiommu_dev_attach(dev, 0, &pt), "dev_attach");
		printf("   device %u attached to HWPT %u (the IOAS's automatic domain, shared)\n",
		       dev_id, pt);
		check(softiommu_dma_write(dev, 0, map.iova + 300, "DMA from the device", 20),
		      "dma_write");
		printf("   dma_write at IOVA 0x%llx; the CPU sees \"%s\" at buf+300\n",
		       (unsigned long long)map.iova + 300, buf + 300);
		check(softiommu_dma_read(dev, 0, map.iova + 100, in, sizeof(in)), "dma_read");
		printf("   dma_read at IOVA 0x%llx: \"%s\"\n", (unsigned long long)map.iova + 100,
		       in);
		rc = softiommu_dma_read(dev, 0, map.iova + len, in, 8);
		printf("   dma_read at unmapped IOVA 0x%llx: %s (a translation fault; nothing\n"
		       "   to report it to, so it is counted: %lu unhandled)\n",
		       (unsigned long long)map.iova + len, strerror(-rc),
		       softiommu_dma_unhandled_faults());
		softiommu_dev_destroy(dev);
	}

	STEP("IOMMU_IOAS_UNMAP\n");
	unmap.ioas_id = alloc.out_ioas_id;
	unmap.iova = map.iova;
	unmap.length = len;
	check(softiommu_ioctl(fd, IOMMU_IOAS_UNMAP, &unmap), "IOAS_UNMAP");
	softiommu_pinned_pages(&pinned, NULL);
	printf("   unmapped %llu bytes; %lu pages still pinned\n",
	       (unsigned long long)unmap.length, pinned);

	STEP("teardown\n");
	destroy.id = alloc.out_ioas_id;
	printf("   IOMMU_DESTROY of IOAS %u while the device's HWPT uses it: %s\n",
	       alloc.out_ioas_id,
	       softiommu_ioctl(fd, IOMMU_DESTROY, &destroy) == -EBUSY ? "EBUSY, as Linux" :
									 "unexpected");
	destroy.id = dom.mock_domain.out_stdev_id;
	check(softiommu_ioctl(fd, IOMMU_DESTROY, &destroy), "DESTROY device");
	printf("   destroyed the mock device %u; its automatic HWPT %u went with it\n",
	       dom.mock_domain.out_stdev_id, dom.mock_domain.out_hwpt_id);
	destroy.id = alloc.out_ioas_id;
	check(softiommu_ioctl(fd, IOMMU_DESTROY, &destroy), "DESTROY IOAS");
	printf("   destroyed IOAS %u\n", alloc.out_ioas_id);
	check(softiommu_close(fd), "close");
	munmap(buf, len);
	printf("   closed the iommufd\n\ndemo complete\n");
	return 0;
}
