// SPDX-License-Identifier: MIT
/*
 * map_bench: IOMMU_IOAS_MAP + IOMMU_IOAS_UNMAP of 4 KiB, 2 MiB, 64 MiB and 1 GiB with zero,
 * one and two mock domains attached, through the LD_PRELOAD shim's ioctl path (the program
 * only calls open/ioctl, as any iommufd program does; it re-executes itself under the shim).
 *
 * Prints ns per 4 KiB page of a map+unmap pair, and the ratio to a baseline measured in the
 * same run: writing the same number of 8-byte page-table entries into a plain array (the
 * least any implementation must do). Memory is faulted in beforehand, so pinning measures
 * the pin path, not the first touch.
 *
 * A second table puts the 4 KiB pair beside a bare ioctl() system call (an eventfd answering
 * ENOTTY, the cheapest a kernel ioctl can be), batches of pairs alternating with batches of
 * bare calls so both see the same load: a kernel iommufd pays at least two of those per pair.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include "iommufd_test.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "map_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ns per 8-byte store of @n entries into a plain array (best of @reps) */
static double baseline_ns_per_pte(size_t n, int reps)
{
	volatile uint64_t *a = malloc(n * sizeof(*a));
	double best = 1e30;

	if (!a)
		die("malloc");
	for (size_t i = 0; i < n; i++)
		a[i] = 0;
	for (int r = 0; r < reps; r++) {
		double t = now_ns();

		for (size_t i = 0; i < n; i++)
			a[i] = (i << 12) | 3;
		t = now_ns() - t;
		if (t < best)
			best = t;
	}
	free((void *)a);
	return best / n;
}

static uint32_t setup(int fd, int ndomains)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		die("IOAS_ALLOC");
	struct iommu_test_cmd dom = {
		.size = sizeof(dom), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = alloc.out_ioas_id,
	};

	if (!ndomains)
		return alloc.out_ioas_id;
	/* A mock device on an automatic paging domain ... */
	if (ioctl(fd, IOMMU_TEST_CMD, &dom))
		die("MOCK_DOMAIN");
	/* ... and for two, a second, explicitly allocated paging domain on the same IOAS */
	for (int i = 1; i < ndomains; i++) {
		struct iommu_hwpt_alloc hwpt = {
			.size = sizeof(hwpt), .dev_id = dom.mock_domain.out_idev_id,
			.pt_id = alloc.out_ioas_id,
		};

		if (ioctl(fd, IOMMU_HWPT_ALLOC, &hwpt))
			die("HWPT_ALLOC");
	}
	return alloc.out_ioas_id;
}

/* ns per map+unmap of @len bytes (best of @reps) */
static double map_unmap_ns(int fd, uint32_t ioas, void *buf, size_t len, int reps)
{
	double best = 1e30;

	for (int r = 0; r < reps; r++) {
		struct iommu_ioas_map map = {
			.size = sizeof(map), .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = len,
			.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
				 IOMMU_IOAS_MAP_FIXED_IOVA,
			.iova = MOCK_APERTURE_START,
		};
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap), .ioas_id = ioas, .iova = MOCK_APERTURE_START,
			.length = len,
		};
		double t = now_ns();

		if (ioctl(fd, IOMMU_IOAS_MAP, &map))
			die("IOAS_MAP");
		if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
			die("IOAS_UNMAP");
		t = now_ns() - t;
		if (t < best)
			best = t;
	}
	return best;
}

#define PAIR_BATCH 2000
#define PAIR_BATCHES 15

/* ns per map+unmap of 4 KiB in batches, and per bare ioctl() in batches between them */
static void pair_vs_bare(int fd, uint32_t ioas, void *buf, double *pair, double *bare)
{
	struct iommu_destroy d = { .size = sizeof(d) };
	int efd = eventfd(0, 0);

	if (efd < 0)
		die("eventfd");
	*pair = *bare = 1e30;
	for (int b = 0; b < PAIR_BATCHES; b++) {
		double t = now_ns();

		for (int i = 0; i < PAIR_BATCH; i++)
			if (syscall(SYS_ioctl, efd, IOMMU_DESTROY, &d) != -1 || errno != ENOTTY)
				die("bare ioctl");
		t = (now_ns() - t) / PAIR_BATCH;
		if (t < *bare)
			*bare = t;
		t = now_ns();
		for (int i = 0; i < PAIR_BATCH; i++) {
			struct iommu_ioas_map map = {
				.size = sizeof(map), .ioas_id = ioas, .user_va = (uintptr_t)buf,
				.length = 4096, .iova = MOCK_APERTURE_START,
				.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
					 IOMMU_IOAS_MAP_FIXED_IOVA,
			};
			struct iommu_ioas_unmap unmap = {
				.size = sizeof(unmap), .ioas_id = ioas,
				.iova = MOCK_APERTURE_START, .length = 4096,
			};

			if (ioctl(fd, IOMMU_IOAS_MAP, &map) || ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
				die("IOAS_MAP/UNMAP");
		}
		t = (now_ns() - t) / PAIR_BATCH;
		if (t < *pair)
			*pair = t;
	}
	close(efd);
}

static void bare_table(void *buf)
{
	printf("\nIOAS_MAP + IOAS_UNMAP of 4 KiB against a bare ioctl() (eventfd, ENOTTY), "
	       "batches of %d, best of %d\n\n", PAIR_BATCH, PAIR_BATCHES);
	printf("%-8s %14s %14s %8s\n", "domains", "ns/pair", "bare ioctl ns", "ratio");
	for (int nd = 0; nd <= 2; nd++) {
		int fd = open("/dev/iommu", O_RDWR);
		double pair, bare;
		uint32_t ioas;

		if (fd < 0)
			die("open /dev/iommu");
		ioas = setup(fd, nd);
		pair_vs_bare(fd, ioas, buf, &pair, &bare);
		printf("%-8d %14.0f %14.1f %8.2f\n", nd, pair, bare, pair / bare);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	static const struct { size_t len; int reps; const char *name; } sizes[] = {
		{ 4096, 20000, "4 KiB" },
		{ 2 << 20, 300, "2 MiB" },
		{ 64 << 20, 10, "64 MiB" },
		{ 1 << 30, 3, "1 GiB" },
	};
	const char *pre = getenv("LD_PRELOAD");
	size_t maxlen = 1 << 30;
	void *buf;

	if (!pre || !strstr(pre, "softiommu-preload")) {
		setenv("LD_PRELOAD", SOFTIOMMU_PRELOAD_BUILD, 1);
		execv("/proc/self/exe", argv);
		die("re-exec under the shim");
	}
	if (argc > 1 && !strcmp(argv[1], "--quick"))
		maxlen = 64 << 20;

	/* 2 MiB aligned, as a THP-backed buffer would be */
	buf = mmap(NULL, maxlen + (2 << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	buf = (void *)(((uintptr_t)buf + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
	memset(buf, 1, maxlen);

	printf("IOAS_MAP + IOAS_UNMAP through the LD_PRELOAD shim (best of N runs)\n");
	printf("baseline: writing the same number of 8-byte PTEs into a plain array\n\n");
	printf("%-8s %-8s %14s %12s %12s %8s\n", "size", "domains", "ns/call", "ns/4K page",
	       "base ns/pg", "ratio");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t npages = sizes[s].len / 4096;
		double base;

		if (sizes[s].len > maxlen)
			break;
		base = baseline_ns_per_pte(npages, sizes[s].reps > 10 ? 50 : 5);
		for (int nd = 0; nd <= 2; nd++) {
			int fd = open("/dev/iommu", O_RDWR);
			uint32_t ioas;
			double ns;

			if (fd < 0)
				die("open /dev/iommu");
			ioas = setup(fd, nd);
			ns = map_unmap_ns(fd, ioas, buf, sizes[s].len, sizes[s].reps);
			printf("%-8s %-8d %14.0f %12.2f %12.3f %8.1f\n", sizes[s].name, nd, ns,
			       ns / npages, base, ns / npages / base);
			close(fd);
		}
	}
	bare_table(buf);
	return 0;
}
