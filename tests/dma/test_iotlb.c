// SPDX-License-Identifier: MIT
/*
 * The IOTLB and the grace periods behind the lock-free DMA path.
 *
 * Through the device API (black box): a translation cached by one DMA is never used after
 * what it came from changed — the IOVA unmapped and mapped to other memory, the device
 * replaced onto another domain or detached, a nested domain's parent unmapped, a
 * HWPT_INVALIDATE on a nested domain.
 *
 * White box (src/dma/iotlb.c, epoch.c): hits give the right PA and length, misses for
 * another PASID, access or IOVA; a tag bump, a parent bump or an attachment bump kills
 * entries; a fill whose generations were read before an invalidation never hits after it;
 * concurrent fills and lookups never return a torn entry; a grace period waits for a
 * section that began before it, not for those after, and sections nest.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "testlib.h"
#include "../../src/dma/iotlb.h"

#define PG 4096ULL
#define FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static char *pages(size_t n, int fill)
{
	char *p = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	memset(p, fill, n * PG);
	return p;
}

static int read_byte(struct softiommu_dev *dev, uint64_t iova)
{
	unsigned char v;
	int rc = softiommu_dma_read(dev, 0, iova, &v, 1);

	return rc ? rc : v;
}

/* Unmap, then map other memory at the same IOVA: the DMA sees the new memory */
static void test_remap(void)
{
	char *a = pages(1, 'a'), *b = pages(1, 'b');
	uint64_t iova = MOCK_APERTURE_START;
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);
	struct softiommu_dev *dev;
	unsigned int pt = ioas;

	CHECK_OK(softiommu_dev_create(fd, "mock", 0, &dev, NULL));
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	for (int i = 0; i < 3; i++) {
		char *mem = i % 2 ? b : a;

		iova = MOCK_APERTURE_START;
		CHECK_OK(t_map(fd, ioas, mem, PG, &iova, FIXED_RW));
		/* Twice: the second is served by the IOTLB */
		CHECK(read_byte(dev, MOCK_APERTURE_START + 5) == mem[0]);
		CHECK(read_byte(dev, MOCK_APERTURE_START + 6) == mem[0]);
		CHECK_OK(softiommu_dma_write(dev, 0, MOCK_APERTURE_START + 7, "w", 1));
		CHECK(mem[7] == 'w');
		mem[7] = mem[0];
		CHECK_OK(t_unmap(fd, ioas, MOCK_APERTURE_START, PG, NULL));
		CHECK(read_byte(dev, MOCK_APERTURE_START + 5) == -EFAULT);
		CHECK_ERR(EFAULT, softiommu_dma_write(dev, 0, MOCK_APERTURE_START + 7, "x", 1));
		CHECK(mem[7] == mem[0]);
	}
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fd));
	munmap(a, PG);
	munmap(b, PG);
}

/* Replace onto another IOAS's domain, detach: the old domain's translations are gone */
static void test_replace_detach(void)
{
	char *a = pages(1, 'a'), *b = pages(1, 'b');
	uint64_t iova = MOCK_APERTURE_START;
	int fd = softiommu_open(0);
	uint32_t ioas1 = t_ioas_alloc(fd), ioas2 = t_ioas_alloc(fd);
	struct softiommu_dev *dev;
	unsigned int pt = ioas1;

	CHECK_OK(t_map(fd, ioas1, a, PG, &iova, FIXED_RW));
	iova = MOCK_APERTURE_START;
	CHECK_OK(t_map(fd, ioas2, b, PG, &iova, FIXED_RW));
	CHECK_OK(softiommu_dev_create(fd, "mock", 0, &dev, NULL));
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK(read_byte(dev, MOCK_APERTURE_START) == 'a');
	CHECK(read_byte(dev, MOCK_APERTURE_START) == 'a');
	pt = ioas2;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK(read_byte(dev, MOCK_APERTURE_START) == 'b');
	pt = ioas1;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK(read_byte(dev, MOCK_APERTURE_START) == 'a');
	CHECK_OK(softiommu_dev_detach(dev, 0));
	CHECK(read_byte(dev, MOCK_APERTURE_START) == -EFAULT);
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fd));
	CHECK(t_pinned() == 0);
	munmap(a, PG);
	munmap(b, PG);
}

/* A nested domain's translations depend on its parent: the parent's unmap kills them */
static void test_nested_parent_unmap(void)
{
	struct iommu_hwpt_selftest sel = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT };
	struct iommu_hwpt_invalidate_selftest inv = { .flags = IOMMU_TEST_INVALIDATE_FLAG_ALL };
	struct iommu_hwpt_invalidate ic = { .size = sizeof(ic),
					    .data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
					    .data_uptr = (uintptr_t)&inv, .entry_len = sizeof(inv),
					    .entry_num = 1 };
	char *a = pages(1, 'a'), *b = pages(1, 'b');
	uint64_t iova = MOCK_APERTURE_START;
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);
	struct softiommu_dev *dev;
	unsigned int dev_id, pt;

	CHECK_OK(softiommu_dev_create(fd, "mock", 0, &dev, &dev_id));
	h.dev_id = dev_id;
	h.pt_id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	h.pt_id = h.out_hwpt_id;
	h.flags = 0;
	h.data_type = IOMMU_HWPT_DATA_SELFTEST;
	h.data_len = sizeof(sel);
	h.data_uptr = (uintptr_t)&sel;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	pt = h.out_hwpt_id;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK_OK(t_map(fd, ioas, a, PG, &iova, FIXED_RW));
	CHECK(read_byte(dev, MOCK_APERTURE_START) == 'a');
	CHECK(read_byte(dev, MOCK_APERTURE_START) == 'a');
	/* A stage-1 invalidation: the mock's stage 1 is an identity, the data is unchanged */
	ic.hwpt_id = pt;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_INVALIDATE, &ic));
	CHECK(ic.entry_num == 1);
	CHECK(read_byte(dev, MOCK_APERTURE_START) == 'a');
	CHECK_OK(t_unmap(fd, ioas, MOCK_APERTURE_START, PG, NULL));
	CHECK(read_byte(dev, MOCK_APERTURE_START) == -EFAULT);
	iova = MOCK_APERTURE_START;
	CHECK_OK(t_map(fd, ioas, b, PG, &iova, FIXED_RW));
	CHECK(read_byte(dev, MOCK_APERTURE_START) == 'b');
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fd));
	CHECK(t_pinned() == 0);
	munmap(a, PG);
	munmap(b, PG);
}

/* ---- white box: iotlb.c ---- */

static atomic_uint_least64_t attach_gen = 7;

static struct sio_dma_xlate xl(uint64_t pa, unsigned int lg2, unsigned int access)
{
	return (struct sio_dma_xlate){ .pa = pa, .leaf_lg2 = lg2, .access = access };
}

static void test_iotlb_entries(void)
{
	struct sio_iotlb *tlb = sio_iotlb_alloc(&attach_gen);
	struct sio_iotlb_tag tag, parent;
	struct sio_iotlb_fill f;
	struct sio_dma_xlate x;
	uint64_t pa, contig;

	sio_iotlb_tag_init(&tag);
	sio_iotlb_tag_init(&parent);
	CHECK(tlb != NULL);
	CHECK_OK(sio_dma_read_lock());
	CHECK(!sio_iotlb_lookup(tlb, 0, 0x200000, SIO_DMA_READ, &pa, &contig));
	/* A 1 MiB leaf, read only, found from any IOVA in it */
	sio_iotlb_snapshot(&f, atomic_load(&attach_gen), &tag, NULL);
	x = xl(0x7000000 + 0x345, 20, SIO_DMA_READ);
	sio_iotlb_insert(tlb, &f, 0, 0x200345, &x);
	CHECK(sio_iotlb_lookup(tlb, 0, 0x2fff00, SIO_DMA_READ, &pa, &contig) &&
	      pa == 0x70fff00 && contig == 0x100);
	CHECK(sio_iotlb_lookup(tlb, 0, 0x200000, SIO_DMA_READ, &pa, &contig) &&
	      pa == 0x7000000 && contig == 0x100000);
	CHECK(!sio_iotlb_lookup(tlb, 0, 0x300000, SIO_DMA_READ, &pa, &contig));
	CHECK(!sio_iotlb_lookup(tlb, 0, 0x200000, SIO_DMA_WRITE, &pa, &contig));
	CHECK(!sio_iotlb_lookup(tlb, 1, 0x200000, SIO_DMA_READ, &pa, &contig));
	/* A 2 KiB leaf with a parent tag, for PASID 3 */
	sio_iotlb_snapshot(&f, atomic_load(&attach_gen), &tag, &parent);
	x = xl(0x9000800 + 0x10, 11, SIO_DMA_READ | SIO_DMA_WRITE);
	sio_iotlb_insert(tlb, &f, 3, 0x40000810, &x);
	CHECK(sio_iotlb_lookup(tlb, 3, 0x40000fff, SIO_DMA_WRITE, &pa, &contig) &&
	      pa == 0x9000fff && contig == 1);
	CHECK(!sio_iotlb_lookup(tlb, 3, 0x40001000, SIO_DMA_WRITE, &pa, &contig));
	CHECK(!sio_iotlb_lookup(tlb, 3, 0x400007ff, SIO_DMA_WRITE, &pa, &contig));
	/* The parent's invalidation kills the nested entry only */
	sio_dma_read_unlock();
	sio_iotlb_invalidate_all(&parent);
	CHECK_OK(sio_dma_read_lock());
	CHECK(!sio_iotlb_lookup(tlb, 3, 0x40000810, SIO_DMA_READ, &pa, &contig));
	CHECK(sio_iotlb_lookup(tlb, 0, 0x200000, SIO_DMA_READ, &pa, &contig));
	/* A fill whose generations predate an invalidation is never served after it */
	sio_iotlb_snapshot(&f, atomic_load(&attach_gen), &tag, NULL);
	sio_dma_read_unlock();
	sio_iotlb_invalidate_range(&tag, 0x200000, 0x1000);
	CHECK_OK(sio_dma_read_lock());
	CHECK(!sio_iotlb_lookup(tlb, 0, 0x200000, SIO_DMA_READ, &pa, &contig));
	x = xl(0x7000000, 20, SIO_DMA_READ);
	sio_iotlb_insert(tlb, &f, 0, 0x200000, &x);
	CHECK(!sio_iotlb_lookup(tlb, 0, 0x200000, SIO_DMA_READ, &pa, &contig));
	/* The attachment changing kills everything */
	sio_iotlb_snapshot(&f, atomic_load(&attach_gen), &tag, NULL);
	sio_iotlb_insert(tlb, &f, 0, 0x200000, &x);
	CHECK(sio_iotlb_lookup(tlb, 0, 0x200000, SIO_DMA_READ, &pa, &contig));
	atomic_store(&attach_gen, sio_iotlb_new_gen());
	CHECK(!sio_iotlb_lookup(tlb, 0, 0x200000, SIO_DMA_READ, &pa, &contig));
	sio_dma_read_unlock();
	sio_iotlb_free(tlb);
}

/*
 * Fillers and readers of the same entries: a hit is always a whole, right entry. Twice as
 * many leaves as small entries, so fills keep replacing entries others are reading.
 */
#define TORN_LEAVES 2048

struct torn {
	struct sio_iotlb *tlb;
	struct sio_iotlb_tag tag;
	atomic_ulong wrong, hits;
};

struct torn_arg {
	struct torn *t;
	unsigned int seed;
};

static void *torn_thread(void *arg)
{
	struct torn *t = ((struct torn_arg *)arg)->t;
	unsigned int s = ((struct torn_arg *)arg)->seed;

	for (int i = 0; i < 200000; i++) {
		/* The LCG's high bits: its low ones cycle, and would evict every entry first */
		uint64_t leaf = ((s = s * 1103515245 + 12345) >> 16) % TORN_LEAVES, pa, contig;
		uint64_t iova = leaf << 11;
		struct sio_iotlb_fill f;

		if (sio_dma_read_lock())
			abort();
		if (sio_iotlb_lookup(t->tlb, 0, iova, SIO_DMA_READ, &pa, &contig)) {
			atomic_fetch_add(&t->hits, 1);
			if (pa != (leaf * 7919 + 1) << 11 || contig != 2048)
				atomic_fetch_add(&t->wrong, 1);
		} else {
			struct sio_dma_xlate x = xl((leaf * 7919 + 1) << 11, 11, SIO_DMA_READ);

			sio_iotlb_snapshot(&f, atomic_load(&attach_gen), &t->tag, NULL);
			sio_iotlb_insert(t->tlb, &f, 0, iova, &x);
		}
		sio_dma_read_unlock();
	}
	return NULL;
}

static void test_iotlb_torn(void)
{
	struct torn t = { .tlb = sio_iotlb_alloc(&attach_gen) };
	struct torn_arg per[2] = { { &t, 1 }, { &t, 2 } };
	pthread_t th[2];

	sio_iotlb_tag_init(&t.tag);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, torn_thread, &per[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK(t.hits > 0);
	CHECK(t.wrong == 0);
	sio_iotlb_free(t.tlb);
}

/* ---- white box: epoch.c ---- */

struct grace {
	atomic_int stage; /* 1: reader inside; 2: writer about to synchronize */
	atomic_bool sync_done, early;
	atomic_bool stop;
	atomic_ulong sections;
};

static void *grace_reader(void *arg)
{
	struct grace *g = arg;

	if (sio_dma_read_lock())
		abort();
	atomic_store(&g->stage, 1);
	while (atomic_load(&g->stage) != 2)
		sched_yield();
	/* The writer is synchronizing: it cannot have finished while we are inside */
	for (int i = 0; i < 20000; i++) {
		if (atomic_load(&g->sync_done))
			atomic_store(&g->early, true);
		if (i % 16 == 0)
			sched_yield();
	}
	sio_dma_read_unlock();
	return NULL;
}

static void *grace_writer(void *arg)
{
	struct grace *g = arg;

	atomic_store(&g->stage, 2);
	sio_dma_synchronize();
	atomic_store(&g->sync_done, true);
	return NULL;
}

static void *grace_churn(void *arg)
{
	struct grace *g = arg;

	while (!atomic_load(&g->stop)) {
		if (sio_dma_read_lock())
			abort();
		atomic_fetch_add(&g->sections, 1);
		sio_dma_read_unlock();
	}
	return NULL;
}

static void test_grace_period(void)
{
	struct grace g = {};
	pthread_t r, w, c;

	/* Sections nest */
	CHECK_OK(sio_dma_read_lock());
	CHECK_OK(sio_dma_read_lock());
	sio_dma_read_unlock();
	CHECK(sio_dma_in_section());
	sio_dma_read_unlock();
	CHECK(!sio_dma_in_section());

	pthread_create(&r, NULL, grace_reader, &g);
	while (atomic_load(&g.stage) != 1)
		sched_yield();
	pthread_create(&w, NULL, grace_writer, &g);
	pthread_join(r, NULL);
	pthread_join(w, NULL);
	CHECK(!atomic_load(&g.early));
	CHECK(atomic_load(&g.sync_done));

	/* Sections that keep starting do not hold a grace period back */
	pthread_create(&c, NULL, grace_churn, &g);
	while (atomic_load(&g.sections) < 1000)
		sched_yield();
	for (int i = 0; i < 1000; i++)
		sio_dma_synchronize();
	atomic_store(&g.stop, true);
	pthread_join(c, NULL);
	CHECK(atomic_load(&g.sections) >= 1000);
}

int main(void)
{
	test_remap();
	test_replace_detach();
	test_nested_parent_unmap();
	test_iotlb_entries();
	test_iotlb_torn();
	test_grace_period();
	return t_done();
}
