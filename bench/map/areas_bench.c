// SPDX-License-Identifier: MIT
/*
 * areas_bench: IOAS_MAP + IOAS_UNMAP of one 4 KiB page into an IOAS that already holds N
 * areas (a VMM shadowing a guest's per-page DMA maps builds tens of thousands): with a fixed
 * IOVA into the middle of areas spread one every other page; with an allocated IOVA (which
 * lands in the free space below them); and with an allocated IOVA when the areas are packed
 * at the bottom of the space, so that the allocator walks past all of them (Linux's policy:
 * the lowest hole that fits). Baseline, measured in the same run: the same operation on an
 * empty IOAS, so the ratio is what the N areas cost. Through the C library (no shim).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include <linux/iommufd.h>
#include <softiommu/softiommu.h>

#define PG 4096ULL
#define BASE_IOVA (1ULL << 32)

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int map(int fd, uint32_t ioas, void *va, uint64_t *iova, bool fixed)
{
	struct iommu_ioas_map m = { .size = sizeof(m), .ioas_id = ioas, .user_va = (uintptr_t)va,
				    .length = PG, .iova = *iova,
				    .flags = IOMMU_IOAS_MAP_READABLE |
					     (fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0) };
	int rc = softiommu_ioctl(fd, IOMMU_IOAS_MAP, &m);

	*iova = m.iova;
	return rc;
}

static int unmap(int fd, uint32_t ioas, uint64_t iova)
{
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = iova,
				      .length = PG };

	return softiommu_ioctl(fd, IOMMU_IOAS_UNMAP, &u);
}

enum mode { FIXED, ALLOCATED, PACKED };
static const char *const mode_name[] = { "fixed", "allocated", "packed" };

/* ns for one map + unmap of a page, with @n areas already in place */
static double measure(char *buf, size_t n, enum mode mode, int reps)
{
	bool fixed = mode == FIXED;
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	int fd = softiommu_open(0);
	double best = 1e30;

	if (fd < 0 || softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &a))
		exit(1);
	for (size_t i = 0; i < n; i++) {
		uint64_t iova = mode == PACKED ? PG + i * PG : BASE_IOVA + 2 * i * PG;

		if (map(fd, a.out_ioas_id, buf + i * PG, &iova, true))
			exit(1);
	}
	for (int r = 0; r < 5; r++) {
		double t = now_ns();

		for (int i = 0; i < reps; i++) {
			/* Fixed: into the middle of the areas; allocated: wherever the policy puts it */
			uint64_t iova = BASE_IOVA + n * PG + PG;

			if (map(fd, a.out_ioas_id, buf, &iova, fixed) ||
			    unmap(fd, a.out_ioas_id, iova))
				exit(1);
		}
		t = (now_ns() - t) / reps;
		if (t < best)
			best = t;
	}
	softiommu_close(fd);
	return best;
}

int main(void)
{
	static const size_t counts[] = { 1000, 10000, 30000, 100000 };
	const size_t maxn = 100000;
	char *buf = mmap(NULL, maxn * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);

	if (buf == MAP_FAILED)
		return 1;
	printf("IOAS_MAP + IOAS_UNMAP of 4 KiB into an IOAS holding N areas (best of 5)\n");
	printf("baseline: the same on an empty IOAS, this run\n\n");
	printf("%-8s %-10s %12s %12s %8s\n", "areas", "iova", "ns/op", "base ns", "ratio");
	for (enum mode m = FIXED; m <= PACKED; m++) {
		double base = measure(buf, 0, m, 2000);

		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			double ns = measure(buf, counts[c], m, counts[c] >= 30000 ? 100 : 500);

			printf("%-8zu %-10s %12.0f %12.0f %8.1f\n", counts[c], mode_name[m], ns,
			       base, ns / base);
		}
	}
	return 0;
}
