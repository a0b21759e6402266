// SPDX-License-Identifier: MIT
/*
 * dma_bench: an emulated device's DMA through softiommu_dma_read/write/readv/writev —
 * translation through the attached mock paging domain (1 MiB and 2 KiB leaves; after the
 * first pass every leaf is an IOTLB hit) plus the fault-safe copy — for 8 B to 64 KiB, from
 * one thread and from two at once, a scatter DMA of 16 segments, and 8 B accesses striding
 * over more 2 KiB leaves than the IOTLB holds (every one a miss). Baseline, measured in
 * the same run: memcpy of the same bytes between the same buffers (what a device model with
 * no IOMMU would do). Each figure is the best of REPS runs (the VM is shared).
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
#define SPAN (1u << 20) /* the IOVA span the accesses cycle over: 1 MiB, IOTLB-resident */
#define REPS 5
#define NSEG 16

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The span the start of an access moves over: SPAN, or all of BUF for the miss rows */
static uint64_t room(size_t len, int nseg, bool miss)
{
	return (miss ? BUF : SPAN) - (nseg ? 2 * (uint64_t)nseg * len : len);
}

struct job {
	struct softiommu_dev *dev;
	uint64_t iova;
	size_t len;
	int iters;
	bool write;
	int nseg; /* 0: one range; else a scatter DMA of nseg ranges of len bytes */
	bool miss; /* walk 2 KiB leaves over all of BUF: more leaves than the IOTLB holds */
	char *local;
	double ns;
};

static void fail(int rc)
{
	fprintf(stderr, "dma_bench: DMA failed: %d\n", rc);
	exit(1);
}

static void *run(void *arg)
{
	struct job *j = arg;
	struct softiommu_dma_seg seg[NSEG];
	double t = now_ns();

	for (int i = 0; i < j->iters; i++) {
		uint64_t step = j->miss ? 2048 : 4096;
		uint64_t at = j->iova + ((uint64_t)i * step) % room(j->len, j->nseg, j->miss);
		int rc;

		if (j->nseg) {
			/* Descriptors a device gathers: every other 256-byte slot of a ring */
			for (int s = 0; s < j->nseg; s++)
				seg[s] = (struct softiommu_dma_seg){ at + s * 2 * j->len,
								     j->local + s * j->len,
								     j->len };
			rc = j->write ? softiommu_dma_writev(j->dev, 0, seg, j->nseg, NULL) :
					softiommu_dma_readv(j->dev, 0, seg, j->nseg, NULL);
		} else {
			rc = j->write ? softiommu_dma_write(j->dev, 0, at, j->local, j->len) :
					softiommu_dma_read(j->dev, 0, at, j->local, j->len);
		}
		if (rc)
			fail(rc);
	}
	j->ns = (now_ns() - t) / j->iters;
	return NULL;
}

static double memcpy_ns(char *mem, char *local, const struct job *p)
{
	size_t len = p->len;
	int nseg = p->nseg;
	bool write = p->write;
	double t = now_ns();

	for (int i = 0; i < p->iters; i++) {
		char *at = mem + ((size_t)i * (p->miss ? 2048 : 4096)) % room(len, nseg, p->miss);

		for (int s = 0; s < (nseg ? nseg : 1); s++) {
			if (write)
				memcpy(at + s * 2 * len, local + s * len, len);
			else
				memcpy(local + s * len, at + s * 2 * len, len);
		}
		__asm__ volatile("" ::: "memory");
	}
	return (now_ns() - t) / p->iters;
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

/* Best of REPS of @nthreads threads each running @proto; the figure is their mean */
static double measure(const struct job *proto, int nthreads)
{
	double best = 1e30;

	for (int r = 0; r < REPS; r++) {
		struct job j[2];
		pthread_t th[2];
		double ns = 0;

		for (int t = 0; t < nthreads; t++) {
			j[t] = *proto;
			j[t].local = malloc(65536 * 2);
			pthread_create(&th[t], NULL, run, &j[t]);
		}
		for (int t = 0; t < nthreads; t++) {
			pthread_join(th[t], NULL);
			ns += j[t].ns / nthreads;
			free(j[t].local);
		}
		if (ns < best)
			best = ns;
	}
	return best;
}

static double measure_memcpy(char *mem, char *local, const struct job *p)
{
	double best = 1e30;

	for (int r = 0; r < REPS; r++) {
		double ns = memcpy_ns(mem, local, p);

		if (ns < best)
			best = ns;
	}
	return best;
}

int main(void)
{
	static const size_t sizes[] = { 8, 64, 4096, 65536 };
	char *mem = mmap(NULL, BUF + (2u << 20), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *local = malloc(65536 * 2);
	int fd = softiommu_open(0);

	mem = (char *)(((uintptr_t)mem + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
	memset(mem, 1, BUF);
	memset(local, 2, 65536 * 2);
	printf("emulated-device DMA through a mock paging domain (softiommu_dma_*), IOTLB warm\n");
	printf("baseline: memcpy of the same bytes; best of %d runs\n\n", REPS);
	printf("%-14s %-7s %-6s %7s %10s %10s %7s\n", "size", "leaves", "dir", "threads",
	       "ns/access", "memcpy ns", "ratio");
	for (int small = 0; small <= 1; small++) {
		uint64_t iova = MOCK_APERTURE_START + ((uint64_t)small << 26);
		struct softiommu_dev *dev = setup(fd, mem, iova, small);

		for (size_t s = 0; s <= sizeof(sizes) / sizeof(sizes[0]); s++) {
			bool scatter = s == sizeof(sizes) / sizeof(sizes[0]);

			for (int write = 0; write <= 1; write++) {
				for (int nthreads = 1; nthreads <= 2; nthreads++) {
					struct job p = {
						.dev = dev, .iova = iova,
						.len = scatter ? 256 : sizes[s],
						.write = write, .nseg = scatter ? NSEG : 0,
					};
					double ns, base;
					char name[32];

					p.iters = p.len > 4096 ? 4000 : 100000;
					/* Warm the IOTLB (and the pages) first */
					p.iters /= 10;
					measure(&p, 1);
					p.iters *= 10;
					ns = measure(&p, nthreads);
					base = measure_memcpy(mem, local, &p);
					if (scatter)
						snprintf(name, sizeof(name), "%dx%zu B sg", NSEG,
							 p.len);
					else
						snprintf(name, sizeof(name), "%zu B", p.len);
					printf("%-14s %-7s %-6s %7d %10.1f %10.1f %7.2f\n", name,
					       small ? "2 KiB" : "1 MiB", write ? "write" : "read",
					       nthreads, ns, base, ns / base);
				}
			}
		}
		/* Misses: every access walks (and refills an entry) */
		for (int write = 0; small && write <= 1; write++) {
			struct job p = { .dev = dev, .iova = iova, .len = 8, .write = write,
					 .miss = true, .iters = 100000 };
			double ns = measure(&p, 1), base = measure_memcpy(mem, local, &p);

			printf("%-14s %-7s %-6s %7d %10.1f %10.1f %7.2f\n", "8 B miss", "2 KiB",
			       write ? "write" : "read", 1, ns, base, ns / base);
		}
		softiommu_dev_destroy(dev);
	}
	softiommu_close(fd);
	return 0;
}
