// SPDX-License-Identifier: MIT
/*
 * smmuv3_bench: the nested SMMUv3 model (issue 7) through the uAPI, each figure beside a
 * baseline measured in the same run:
 *  - IOTLB-hit translation (an 8-byte DMA) through a nested domain (S1 + S2), against the
 *    same DMA of a device attached to the stage-2 parent alone;
 *  - the nested miss walk (S1 4 levels, each descriptor's IPA walked by S2 4 levels, then
 *    S2 on the output: 24 descriptor loads) against a chain of 24 dependent loads;
 *  - IOMMU_HWPT_INVALIDATE of 1, 16 and 256 TLBI_NH_VA entries in one call, against one
 *    call of one TLBI_NH_ALL (and 16 calls of one entry);
 *  - DMA of 8 B, 4 KiB and 64 KiB through S1 + S2 against memcpy of the same bytes.
 * Guest RAM sits 4 KiB off a 2 MiB boundary of host memory so that stage 2 has 4 KiB
 * leaves only (4 levels). Each figure is the best of REPS runs (the machine is shared).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smmu_test.h"
#include "../../src/dma/iotlb.h"

#define REPS 5
#define GIPA 0x80000000ULL
#define GRAM (8ULL << 20)
#define VA_D 0x10000000ULL  /* 16 pages, contiguous IPA: the DMA rows */
#define VA_M 0x200000000ULL /* NMISS pages: more than the IOTLB holds */
#define NMISS 8192
#define ASID 1

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct bench {
	int fd;
	uint32_t ioas, s2, viommu, vdev, hwpt;
	struct softiommu_dev *dev, *dev_s2;
	unsigned int dev_id, dev_s2_id;
	struct guest g;
	char *map;
	uint64_t cdt, root, data;
};

static void die(const char *what)
{
	fprintf(stderr, "smmuv3_bench: %s failed\n", what);
	exit(1);
}

static void setup(struct bench *b)
{
	unsigned int pt;
	uint64_t ipa = GIPA;
	uintptr_t host;

	b->fd = softiommu_open(0);
	b->ioas = t_ioas_alloc(b->fd);
	if (softiommu_dev_create(b->fd, "smmuv3", 0, &b->dev, &b->dev_id) ||
	    softiommu_dev_create(b->fd, "smmuv3", 0, &b->dev_s2, &b->dev_s2_id))
		die("dev_create");
	if (t_hwpt_alloc(b->fd, b->dev_id, b->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
			 IOMMU_HWPT_DATA_NONE, NULL, 0, &b->s2) ||
	    t_viommu_alloc(b->fd, b->dev_id, b->s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0, &b->viommu) ||
	    t_vdevice_alloc(b->fd, b->viommu, b->dev_id, 0x10, &b->vdev))
		die("nesting objects");
	/* 4 KiB off a 2 MiB boundary: no stage-2 block can map it */
	b->map = mmap(NULL, GRAM + (2 << 20), PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->map == MAP_FAILED)
		die("mmap");
	host = (((uintptr_t)b->map + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1)) + PG;
	b->g = (struct guest){ .ram = (char *)host, .ipa = GIPA, .size = GRAM };
	memset(b->g.ram, 0, GRAM);
	if (t_map(b->fd, b->ioas, b->g.ram, GRAM, &ipa, FIXED_RW))
		die("IOAS_MAP");
	b->cdt = guest_pages(&b->g, 1);
	b->root = guest_pages(&b->g, 1);
	b->data = guest_pages(&b->g, 16);
	memset(guest_ptr(&b->g, b->data), 'D', 16 * PG);
	for (unsigned int i = 0; i != 16; i++)
		guest_map(&b->g, b->root, VA_D + i * PG, b->data + i * PG, S1_RW | S1_NG);
	for (unsigned int i = 0; i != NMISS; i++)
		guest_map(&b->g, b->root, VA_M + i * PG, b->data + (i % 16) * PG, S1_RW | S1_NG);
	guest_cd(&b->g, b->cdt, 0, CD_DEFAULT | CD_ASID(ASID), b->root, 0);
	if (t_nested_alloc(b->fd, b->dev_id, b->viommu, STE_S1 | b->cdt, 0, &b->hwpt))
		die("nested HWPT");
	pt = b->hwpt;
	if (softiommu_dev_attach(b->dev, 0, &pt))
		die("nested attach");
	pt = b->s2;
	if (softiommu_dev_attach(b->dev_s2, 0, &pt))
		die("stage-2 attach");
}

static void teardown(struct bench *b)
{
	softiommu_dev_destroy(b->dev);
	softiommu_dev_destroy(b->dev_s2);
	softiommu_close(b->fd);
	munmap(b->map, GRAM + (2 << 20));
}

/* ns per DMA of @len bytes at @iova + (i % @span pages) · 4 KiB, best of REPS */
static double dma_ns(struct softiommu_dev *dev, uint64_t iova, unsigned int span, size_t len,
		     bool write, int iters)
{
	static char buf[64 << 10];
	double best = 1e30;

	for (int r = 0; r != REPS; r++) {
		double t = now_ns();

		for (int i = 0; i != iters; i++) {
			uint64_t at = iova + (uint64_t)(i % span) * PG;
			int rc = write ? softiommu_dma_write(dev, 0, at, buf, len) :
					 softiommu_dma_read(dev, 0, at, buf, len);

			if (rc)
				die("DMA");
		}
		t = (now_ns() - t) / iters;
		best = t < best ? t : best;
	}
	return best;
}

static double memcpy_ns(char *src, size_t len, bool write, int iters)
{
	static char buf[64 << 10];
	double best = 1e30;

	for (int r = 0; r != REPS; r++) {
		double t = now_ns();

		for (int i = 0; i != iters; i++) {
			if (write)
				memcpy(src, buf, len);
			else
				memcpy(buf, src, len);
			__asm__ volatile("" ::: "memory");
		}
		t = (now_ns() - t) / iters;
		best = t < best ? t : best;
	}
	return best;
}

/* ns per chain of 24 dependent loads over a shuffled cycle of 24 cache lines */
static double chain_ns(int iters)
{
	static void *line[24][8] __attribute__((aligned(64)));
	unsigned int order[24];
	double best = 1e30;
	void **p;

	for (unsigned int i = 0; i != 24; i++)
		order[i] = i;
	srand(7);
	for (unsigned int i = 23; i; i--) {
		unsigned int j = (unsigned int)rand() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (unsigned int i = 0; i != 24; i++)
		line[order[i]][0] = &line[order[(i + 1) % 24]][0];
	p = &line[order[0]][0];
	for (int r = 0; r != REPS; r++) {
		double t = now_ns();

		for (int i = 0; i != iters; i++)
			for (unsigned int k = 0; k != 24; k++)
				p = (void **)*p;
		t = (now_ns() - t) / iters;
		best = t < best ? t : best;
	}
	if (!p)
		die("chain");
	return best;
}

/* ns per HWPT_INVALIDATE call of @n entries @cmds, best of REPS */
static double inv_ns(struct bench *b, const uint64_t (*cmds)[2], uint32_t n, int iters)
{
	double best = 1e30;

	for (int r = 0; r != REPS; r++) {
		double t = now_ns();

		for (int i = 0; i != iters; i++)
			if (t_invalidate(b->fd, b->viommu, cmds, n, NULL))
				die("HWPT_INVALIDATE");
		t = (now_ns() - t) / iters;
		best = t < best ? t : best;
	}
	return best;
}

int main(void)
{
	static uint64_t cmds[256][2];
	const uint64_t all[1][2] = { { 0x10, 0 } };
	struct sio_iotlb_stats st0, st1;
	double hit, base, miss, chain, ns_all;
	struct bench b;

	setup(&b);
	printf("SMMUv3 model (src/drivers/smmuv3), nested S1 + S2, 4 KiB leaves; best of %d\n",
	       REPS);
	printf("QEMU 11.1 SMMUv3 for orientation (not measured): one GHashTable IOTLB behind\n"
	       "one mutex taken per translation, 256 entries, flushed whole when full;\n"
	       "range invalidation walks the table\n\n");

	/* IOTLB hits: 16 resident pages */
	dma_ns(b.dev, VA_D, 16, 8, false, 1000);
	hit = dma_ns(b.dev, VA_D, 16, 8, false, 2000000);
	base = dma_ns(b.dev_s2, b.data, 16, 8, false, 2000000);
	printf("%-48s %8.1f ns\n", "IOTLB hit, 8 B read, stage 2 only (baseline)", base);
	printf("%-48s %8.1f ns  (%.2fx)\n", "IOTLB hit, 8 B read, nested S1 + S2", hit,
	       hit / base);

	/* Misses: NMISS pages strided over, every access a walk */
	sio_iotlb_stats(&st0);
	miss = dma_ns(b.dev, VA_M, NMISS, 8, false, 200000);
	sio_iotlb_stats(&st1);
	chain = chain_ns(2000000);
	printf("%-48s %8.1f ns\n", "24 dependent loads, L1-resident (baseline)", chain);
	printf("%-48s %8.1f ns  (%.2fx)  misses/access %.2f\n",
	       "nested miss: S1 4 levels x S2 4 levels, 8 B", miss, miss / chain,
	       (double)(st1.misses - st0.misses) / (REPS * 200000.0));

	/* Invalidation */
	for (unsigned int i = 0; i != 256; i++) {
		cmds[i][0] = 0x12 | (uint64_t)ASID << 48;
		cmds[i][1] = VA_M + i * PG;
	}
	ns_all = inv_ns(&b, all, 1, 20000);
	printf("\n%-48s %8.0f ns/call\n", "HWPT_INVALIDATE, 1 x TLBI_NH_ALL (baseline)", ns_all);
	printf("%-10s %-22s %12s %14s %8s\n", "entries", "calls", "ns/call", "entries/s",
	       "vs all");
	for (unsigned int n = 1; n <= 256; n *= 16) {
		double ns = inv_ns(&b, cmds, n, n == 256 ? 2000 : 20000);

		printf("%-10u %-22s %12.0f %14.3g %7.2fx\n", n, "one (TLBI_NH_VA)", ns,
		       n * 1e9 / ns, ns / ns_all);
	}
	{
		double ns = 0;

		for (unsigned int i = 0; i != 16; i++)
			ns += inv_ns(&b, &cmds[i], 1, 2000);
		printf("%-10u %-22s %12.0f %14.3g %7.2fx\n", 16u, "16 of one entry", ns,
		       16e9 / ns, ns / ns_all);
	}

	/* DMA through S1 + S2 (hits) against memcpy */
	printf("\n%-10s %-6s %12s %12s %8s\n", "size", "dir", "S1+S2 ns", "memcpy ns", "ratio");
	for (size_t len = 8; len <= 65536; len = len == 8 ? 4096 : len * 16) {
		int iters = len == 65536 ? 50000 : 1000000;

		for (int w = 0; w != 2; w++) {
			double d = dma_ns(b.dev, VA_D, len == 65536 ? 1 : 16, len, w, iters);
			double m = memcpy_ns(guest_ptr(&b.g, b.data), len, w, iters);

			printf("%-10zu %-6s %12.1f %12.1f %7.2fx\n", len, w ? "write" : "read", d,
			       m, d / m);
		}
	}
	teardown(&b);
	return 0;
}
