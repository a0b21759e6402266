// SPDX-License-Identifier: MIT
/*
 * test_preload_smoke.c — the real shim over the real core, run under
 * LD_PRELOAD=libsoftiommu-preload.so: /dev/iommu opens, ioctls reach the uAPI with errno set as
 * the kernel sets it, dup'd descriptors share the context, and pages pinned by a mock domain
 * show in this process's /proc/self/status VmPin:. The last line is "N passed, N failed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include "iommufd_test.h"

static int passed, failed;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (cond) {                                                          \
			passed++;                                                    \
		} else {                                                             \
			failed++;                                                    \
			printf("FAIL %s:%d: %s (errno %d)\n", __func__, __LINE__, #cond, \
			       errno);                                               \
		}                                                                    \
	} while (0)

static int ioas_alloc(int fd, __u32 *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int ret = ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);

	*id = cmd.out_ioas_id;
	return ret;
}

static int destroy(int fd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &cmd);
}

/* VmPin: of this process in kB, read the way the upstream selftest reads it. */
static long vm_pinned(void)
{
	char buf[80], tag[80];
	long val = -1;
	FILE *fp = fopen("/proc/self/status", "r");

	if (!fp)
		return -1;
	while (fgets(buf, sizeof(buf), fp))
		if (fscanf(fp, "%s %ld\n", tag, &val) == 2 && !strcmp(tag, "VmPin:"))
			break;
	fclose(fp);
	return val;
}

static void test_context(void)
{
	char link[64], target[64] = "";
	int fd = open("/dev/iommu", O_RDWR), d;
	__u32 a = 0, b = 0;

	CHECK(fd >= 0);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	CHECK(readlink(link, target, sizeof(target) - 1) > 0 &&
	      !strncmp(target, "socket:[", 8)); /* one end of softiommu's socket pair */
	CHECK(ioas_alloc(fd, &a) == 0 && a != 0);
	errno = 0;
	CHECK(destroy(fd, 0) == -1 && errno == ENOENT);
	CHECK(ioctl(fd, _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE - 1), NULL) == -1 && errno == ENOTTY);

	d = dup(fd);
	CHECK(d >= 0 && ioas_alloc(d, &b) == 0 && b != 0 && b != a);
	CHECK(close(fd) == 0);
	CHECK(destroy(d, a) == 0 && destroy(d, b) == 0);
	CHECK(close(d) == 0);
	CHECK(close(d) == -1 && errno == EBADF);
}

static void test_pinned(void)
{
	long page = sysconf(_SC_PAGESIZE), before = vm_pinned();
	struct iommu_test_cmd mock = { .size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.length = 4 * page,
	};
	int fd = open("/dev/iommu", O_RDWR);
	void *buf = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	__u32 ioas;

	CHECK(before >= 0 && buf != MAP_FAILED);
	CHECK(ioas_alloc(fd, &ioas) == 0);
	mock.id = ioas;
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &mock) == 0);
	map.ioas_id = ioas;
	map.user_va = (__u64)(unsigned long)buf;
	CHECK(ioctl(fd, IOMMU_IOAS_MAP, &map) == 0);
	CHECK(vm_pinned() == before + 4 * page / 1024);
	CHECK(close(fd) == 0);
	CHECK(vm_pinned() == before);
	munmap(buf, 4 * page);
}

int main(void)
{
	test_context();
	test_pinned();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
