// SPDX-License-Identifier: MIT
/*
 * Scatter DMA (softiommu_dma_readv/writev): segments in different pages and leaves, each
 * with its own buffer, moved in order; bad lists rejected with nothing moved; a fault in a
 * middle segment moving every byte before it (counted in *moved) and none after; lists long
 * enough to span several batches of leaves.
 */
#include <stdbool.h>
#include <sys/mman.h>

#include "testlib.h"

#define PG 4096ULL
#define FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define NPG 64

struct env {
	int fd;
	uint32_t ioas;
	struct softiommu_dev *dev;
	unsigned char *mem;
};

static void env_open(struct env *e)
{
	uint64_t iova = MOCK_APERTURE_START;
	struct iommu_option o = { .size = sizeof(o), .option_id = IOMMU_OPTION_HUGE_PAGES,
				  .op = IOMMU_OPTION_OP_SET };
	unsigned int pt;

	e->mem = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (size_t i = 0; i < NPG * PG; i++)
		e->mem[i] = (unsigned char)(i * 13 + i / 2048);
	e->fd = softiommu_open(0);
	e->ioas = t_ioas_alloc(e->fd);
	/* 2 KiB leaves: a segment of a few KiB crosses several */
	o.object_id = e->ioas;
	CHECK_OK(softiommu_ioctl(e->fd, IOMMU_OPTION, &o));
	pt = e->ioas;
	CHECK_OK(softiommu_dev_create(e->fd, "mock", 0, &e->dev, NULL));
	CHECK_OK(softiommu_dev_attach(e->dev, 0, &pt));
	/* The last page stays out of the IOVA space: a hole to fault on */
	CHECK_OK(t_map(e->fd, e->ioas, e->mem, (NPG - 1) * PG, &iova, FIXED_RW));
}

static void env_close(struct env *e)
{
	softiommu_dev_destroy(e->dev);
	CHECK_OK(softiommu_close(e->fd));
	CHECK(t_pinned() == 0);
	munmap(e->mem, NPG * PG);
}

static void test_gather_scatter(void)
{
	unsigned char a[16], b[5000], c[1], back[16];
	struct softiommu_dma_seg segs[3] = {
		{ MOCK_APERTURE_START + 40 * PG + 2040, a, sizeof(a) }, /* across two leaves */
		{ MOCK_APERTURE_START + 3, b, sizeof(b) },              /* three leaves */
		{ MOCK_APERTURE_START + 62 * PG + PG - 1, c, 1 },       /* the last mapped byte */
	};
	struct env e;
	size_t moved = 7;

	env_open(&e);
	CHECK_OK(softiommu_dma_readv(e.dev, 0, segs, 3, &moved));
	CHECK(moved == sizeof(a) + sizeof(b) + 1);
	CHECK(!memcmp(a, e.mem + 40 * PG + 2040, sizeof(a)));
	CHECK(!memcmp(b, e.mem + 3, sizeof(b)));
	CHECK(c[0] == e.mem[62 * PG + PG - 1]);
	/* Write them back shifted: segment order is the list's, buffers are the segments' */
	memset(back, 0x77, sizeof(back));
	segs[0].buf = back;
	segs[1].iova = MOCK_APERTURE_START + 20 * PG;
	CHECK_OK(softiommu_dma_writev(e.dev, 0, segs, 2, &moved));
	CHECK(moved == sizeof(back) + sizeof(b));
	for (size_t i = 0; i < sizeof(back); i++)
		CHECK(e.mem[40 * PG + 2040 + i] == 0x77);
	CHECK(!memcmp(e.mem + 20 * PG, b, sizeof(b)));
	CHECK_OK(softiommu_dma_readv(e.dev, 0, segs, 1, NULL));
	env_close(&e);
}

static void test_bad_lists(void)
{
	unsigned char buf[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	struct softiommu_dma_seg ok = { MOCK_APERTURE_START, buf, 8 };
	struct softiommu_dma_seg bad[][2] = {
		{ ok, { MOCK_APERTURE_START, buf, 0 } },          /* an empty segment */
		{ ok, { ~0ULL - 3, buf, 8 } },                    /* wraps */
		{ ok, { MOCK_APERTURE_START, NULL, 8 } },         /* no buffer */
	};
	unsigned long faults = softiommu_dma_unhandled_faults();
	struct env e;
	size_t moved = 7;

	env_open(&e);
	CHECK_ERR(EINVAL, softiommu_dma_readv(e.dev, 0, &ok, 0, &moved));
	CHECK(moved == 0);
	CHECK_ERR(EINVAL, softiommu_dma_readv(e.dev, 0, NULL, 1, &moved));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		moved = 7;
		CHECK_ERR(EINVAL, softiommu_dma_readv(e.dev, 0, bad[i], 2, &moved));
		CHECK(moved == 0);
		CHECK_ERR(EINVAL, softiommu_dma_writev(e.dev, 0, bad[i], 2, NULL));
	}
	/* Nothing moved either way, nothing counted as a device fault */
	CHECK(buf[0] == 9 && buf[7] == 9);
	CHECK(e.mem[0] == 0);
	CHECK(softiommu_dma_unhandled_faults() == faults);
	env_close(&e);
}

static void test_fault_mid_list(void)
{
	unsigned char a[100], b[3 * 2048], c[8];
	struct softiommu_dma_seg segs[3] = {
		{ MOCK_APERTURE_START, a, sizeof(a) },
		/* Runs from the last mapped page into the hole */
		{ MOCK_APERTURE_START + 62 * PG + 1024, b, sizeof(b) },
		{ MOCK_APERTURE_START + PG, c, sizeof(c) },
	};
	unsigned long faults = softiommu_dma_unhandled_faults();
	struct env e;
	size_t moved = 0;

	env_open(&e);
	memset(b, 0xab, sizeof(b));
	memset(c, 0xcd, sizeof(c));
	CHECK_ERR(EFAULT, softiommu_dma_readv(e.dev, 0, segs, 3, &moved));
	/* a, then b up to the end of page 62 (3 KiB), then nothing */
	CHECK(moved == sizeof(a) + 3072);
	CHECK(!memcmp(a, e.mem, sizeof(a)));
	CHECK(!memcmp(b, e.mem + 62 * PG + 1024, 3072) && b[3072] == 0xab);
	CHECK(c[0] == 0xcd && c[7] == 0xcd);
	CHECK(softiommu_dma_unhandled_faults() == faults + 1);
	/* And writing: the hole stops it the same way */
	CHECK_ERR(EFAULT, softiommu_dma_writev(e.dev, 0, segs, 3, &moved));
	CHECK(moved == sizeof(a) + 3072);
	env_close(&e);
}

/* 300 segments of 600 bytes every 700 bytes: many batches, each segment over 1-2 leaves */
static void test_long_list(void)
{
	static struct softiommu_dma_seg segs[300];
	static unsigned char buf[300][600];
	struct env e;
	size_t moved = 0;
	bool same = true;

	env_open(&e);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < 300; i++)
			segs[i] = (struct softiommu_dma_seg){ MOCK_APERTURE_START + 700ULL * i,
							      buf[i], 600 };
		memset(buf, 0, sizeof(buf));
		/* The second pass is served from the IOTLB the first one filled */
		CHECK_OK(softiommu_dma_readv(e.dev, 0, segs, 300, &moved));
		CHECK(moved == sizeof(buf));
		for (int i = 0; i < 300; i++)
			same &= !memcmp(buf[i], e.mem + 700 * i, 600);
		CHECK(same);
	}
	env_close(&e);
}

int main(void)
{
	test_gather_scatter();
	test_bad_lists();
	test_fault_mid_list();
	test_long_list();
	return t_done();
}
