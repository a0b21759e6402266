// SPDX-License-Identifier: MIT
/*
 * dma_bench: an emulated device's DMA through softiommu_dma_read/write — translation through
 * the attached paging domain (1 MiB and 2 KiB leaves) plus the copy — for 8 B to 64 KiB, from
 * one thread and from two at once. Baseline, measured in the same run: memcpy of the same
 * bytes between the same buffers (what a device model with no IOMMU would do).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <linux/iommufd.h>
#include <softiommu/softiommu.h>

#include "iommufd_test.h"

#define BUF (4u << 20)

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct job {
	struct softiommu_dev *dev;
	uint64_t iova;
	size_t len;
	int iters;
	bool write;
	char *local;
	double ns;
};

static void *run(void *arg)
{
	struct job *j = arg;
	double t = now_ns();

	for (int i = 0; i < j->iters; i++) {
		uint64_t at = j->iova + ((uint64_t)i * 4096) % (BUF - j->len);
		int rc = j->write ? softiommu_dma_write(j->dev, 0, at, j->local, j->len) :
				    softiommu_dma_read(j->dev, 0, at, j->local, j->len);

		if (rc) {
			fprintf(stderr, "dma_bench: DMA failed: %d\n", rc);
			exit(1);
		}
	}
	j->ns = (now_ns() - t) / j->iters;
	return NULL;
}

static double memcpy_ns(char *mem, char *local, size_t len, int iters)
{
	double t = now_ns();

	for (int i = 0; i < iters; i++) {
		memcpy(local, mem + ((size_t)i * 4096) % (BUF - len), len);
		__asm__ volatile("" ::: "memory");
	}
	return (now_ns() - t) / iters;
}

static struct softiommu_dev *setup(int fd, char *mem, uint64_t iova, bool small_pages)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct iommu_ioas_map m = { .size = sizeof(m), .user_va = (uintptr_t)mem, .length = BUF,
				    .iova = iova,
				    .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
					     IOMMU_IOAS_MAP_WRITEABLE };
	struct softiommu_dev *dev;
	unsigned int pt;

	if (softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &a) ||
	    softiommu_dev_create(fd, "mock", 0, &dev, NULL))
		exit(1);
	pt = a.out_ioas_id;
	if (small_pages) {
		/* Type1-v0 style: no leaf larger than a CPU page */
		struct iommu_option o = { .size = sizeof(o), .option_id = IOMMU_OPTION_HUGE_PAGES,
					  .op = IOMMU_OPTION_OP_SET, .object_id = pt };

		softiommu_ioctl(fd, IOMMU_OPTION, &o);
	}
	m.ioas_id = a.out_ioas_id;
	if (softiommu_dev_attach(dev, 0, &pt) || softiommu_ioctl(fd, IOMMU_IOAS_MAP, &m))
		exit(1);
	return dev;
}

int main(void)
{
	static const size_t sizes[] = { 8, 64, 4096, 65536 };
	char *mem = mmap(NULL, BUF + (2u << 20), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *local = malloc(65536);
	int fd = softiommu_open(0);

	mem = (char *)(((uintptr_t)mem + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
	memset(mem, 1, BUF);
	printf("emulated-device DMA through a mock paging domain (softiommu_dma_*)\n");
	printf("baseline: memcpy of the same bytes\n\n");
	printf("%-8s %-9s %-6s %8s %12s %10s %8s\n", "size", "leaves", "dir", "threads",
	       "ns/access", "memcpy ns", "ratio");
	for (int small = 0; small <= 1; small++) {
		struct softiommu_dev *dev = setup(fd, mem, MOCK_APERTURE_START + (small << 26),
						  small);

		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			for (int write = 0; write <= 1; write++) {
				for (int nthreads = 1; nthreads <= 2; nthreads++) {
					int iters = sizes[s] > 4096 ? 3000 : 30000;
					struct job j[2];
					pthread_t th[2];
					double base, ns = 0;

					for (int t = 0; t < nthreads; t++) {
						j[t] = (struct job){ dev, MOCK_APERTURE_START +
									     (small << 26),
								     sizes[s], iters, write,
								     malloc(65536) };
						pthread_create(&th[t], NULL, run, &j[t]);
					}
					for (int t = 0; t < nthreads; t++) {
						pthread_join(th[t], NULL);
						ns += j[t].ns / nthreads;
						free(j[t].local);
					}
					base = memcpy_ns(mem, local, sizes[s], iters);
					printf("%-8zu %-9s %-6s %8d %12.0f %10.1f %8.1f\n", sizes[s],
					       small ? "2 KiB" : "1 MiB", write ? "write" : "read",
					       nthreads, ns, base, ns / base);
				}
			}
		}
		softiommu_dev_destroy(dev);
	}
	softiommu_close(fd);
	return 0;
}
