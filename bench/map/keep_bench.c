// SPDX-License-Identifier: MIT
/*
 * keep_bench: what the shim's munmap/mmap interposition (memory.c, keep.c) costs a program.
 * Re-executes itself under the LD_PRELOAD shim; the baseline is the same calls made as raw
 * system calls (which the shim does not see) in the same run.
 *
 *  - munmap + mmap(MAP_FIXED) of one unpinned 4 KiB page, with no pinned memory in the
 *    process, and with 1,000 pinned one-page areas elsewhere;
 *  - munmap of 2 MiB an IOAS pins with a domain: the pages are moved to softiommu's reserve
 *    (mremap) and the domain re-pointed, against a raw munmap of 2 MiB.
 * Best of N; timing only.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include "iommufd_test.h"

#define PG 4096UL

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "keep_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int fd;
static uint32_t ioas;

static uint64_t map(void *buf, size_t len)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m), .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = len,
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
	};

	if (ioctl(fd, IOMMU_IOAS_MAP, &m))
		die("IOAS_MAP");
	return m.iova;
}

static void unmap(uint64_t iova, size_t len)
{
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = iova,
				      .length = len };

	if (ioctl(fd, IOMMU_IOAS_UNMAP, &u))
		die("IOAS_UNMAP");
}

/* ns per munmap + mmap(MAP_FIXED) of one page at @p, through libc or raw (best of 5 x n) */
static double cycle_ns(char *p, bool raw, int n)
{
	double best = 1e30;

	for (int r = 0; r != 5; r++) {
		double t = now_ns();

		for (int i = 0; i != n; i++) {
			void *q;

			if (raw) {
				syscall(SYS_munmap, p, PG);
				q = (void *)syscall(SYS_mmap, p, PG, PROT_READ | PROT_WRITE,
						    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			} else {
				munmap(p, PG);
				q = mmap(p, PG, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			}
			if (q != p)
				die("mmap");
		}
		t = (now_ns() - t) / n;
		if (t < best)
			best = t;
	}
	return best;
}

/* ns of a munmap of 2 MiB, pinned (shim) or not (raw), best of @reps */
static double unmap_2m_ns(bool pinned, int reps)
{
	double best = 1e30;

	for (int r = 0; r != reps; r++) {
		char *b = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		uint64_t iova = 0;
		double t;

		if (b == MAP_FAILED)
			die("mmap 2 MiB");
		memset(b, 1, 2 << 20);
		if (pinned)
			iova = map(b, 2 << 20);
		t = now_ns();
		if (pinned)
			munmap(b, 2 << 20);
		else
			syscall(SYS_munmap, b, 2 << 20);
		t = now_ns() - t;
		if (pinned)
			unmap(iova, 2 << 20);
		if (t < best)
			best = t;
	}
	return best;
}

int main(int argc, char **argv)
{
	const char *pre = getenv("LD_PRELOAD");
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct iommu_test_cmd dom = { .size = sizeof(dom), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	char *page, *areas;
	double shim, raw;

	if (!pre || !strstr(pre, "softiommu-preload")) {
		setenv("LD_PRELOAD", SOFTIOMMU_PRELOAD_BUILD, 1);
		execv("/proc/self/exe", argv);
		die("re-exec under the shim");
	}
	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0 || ioctl(fd, IOMMU_IOAS_ALLOC, &a))
		die("IOAS_ALLOC");
	ioas = dom.id = a.out_ioas_id;
	if (ioctl(fd, IOMMU_TEST_CMD, &dom))
		die("MOCK_DOMAIN");
	page = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	areas = mmap(NULL, 2000 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED || areas == MAP_FAILED)
		die("mmap");

	printf("munmap/mmap through the LD_PRELOAD shim; baseline: the same as raw system calls\n\n");
	printf("%-58s %10s %12s %7s\n", "what", "shim ns", "raw ns", "ratio");
	shim = cycle_ns(page, false, 2000);
	raw = cycle_ns(page, true, 2000);
	printf("%-58s %10.0f %12.0f %7.2f\n", "munmap + mmap FIXED, 4 KiB unpinned, no pins", shim,
	       raw, shim / raw);
	for (int i = 0; i != 1000; i++)
		map(areas + 2 * i * PG, PG);
	shim = cycle_ns(page, false, 2000);
	raw = cycle_ns(page, true, 2000);
	printf("%-58s %10.0f %12.0f %7.2f\n",
	       "munmap + mmap FIXED, 4 KiB unpinned, 1,000 pinned areas", shim, raw, shim / raw);
	shim = unmap_2m_ns(true, 20);
	raw = unmap_2m_ns(false, 20);
	printf("%-58s %10.0f %12.0f %7.2f\n", "munmap 2 MiB pinned (kept: moved, re-pointed)",
	       shim, raw, shim / raw);
	close(fd);
	return 0;
}
