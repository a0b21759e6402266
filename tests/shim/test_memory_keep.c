// SPDX-License-Identifier: MIT
/*
 * A program under the shim takes memory an IOAS maps (with a domain, so pinned) out of its
 * address space while a device DMAs to it, and gets Linux's outcome: the device keeps the
 * pinned pages, and the program sees its new memory untouched.
 *  - munmap, then mmap(MAP_FIXED) of new memory at the same address;
 *  - mmap(MAP_FIXED) straight over the pinned range;
 *  - madvise(MADV_DONTNEED): the program reads zeros, the device the old bytes;
 *  - mremap moving the range: the program and the device share the pages at the new place;
 *  - mremap shrinking it: the dropped tail is kept for the device;
 *  - a thread DMAing all the while munmap + mmap(MAP_FIXED) cycles run, and another mapping
 *    the range into a second IOAS and copying the DMAed area there: no DMA faults, no byte
 *    lands in the program's new memory, no pin is left;
 *  - an access (IOMMU_TEST_OP_ACCESS_RW) reads the kept pages as the device does;
 *  - memory pinned twice (a second IOAS_MAP of it, and IOAS_COPY into a second IOAS with its
 *    own device) is kept once: every view reaches the same kept pages;
 *  - MADV_REMOVE of a shared memfd mapping: the device keeps the bytes, the file loses them;
 *  - MADV_FREE of pinned memory: both sides keep the data;
 *  - IOAS_UNMAP releases what was kept (the reserve's VMA goes, VmPin returns to 0);
 *  - the documented limit: a raw munmap system call bypasses the shim, and the DMA faults.
 * Linked to a build of the shim that also exports the device API (softiommu_dev_*), so its
 * libc calls reach the shim first, as under LD_PRELOAD.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "iommufd_test.h"
#include "memory_testlib.h"

static char *anon(void *at, size_t len, char fill)
{
	char *p = mmap(at, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED : 0), -1, 0);

	CHECK(p != MAP_FAILED && (!at || p == at));
	if (p != MAP_FAILED && fill)
		memset(p, fill, len);
	return p;
}

static int count_vmas(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n++;
	if (f)
		fclose(f);
	return n;
}

static void test_munmap_then_map_fixed(void)
{
	char *buf = anon(NULL, 8 * PG, 'A');
	uint64_t iova = map(buf, 8 * PG);
	int vmas;

	CHECK(pinned() == 8);
	CHECK(munmap(buf + 2 * PG, 4 * PG) == 0);
	anon(buf + 2 * PG, 4 * PG, 0);
	/* The device still reaches the pinned pages, the program has new, zeroed memory */
	CHECK(dev_sees(iova, 8 * PG, 'A'));
	CHECK(softiommu_dma_write(dev, 0, iova + 3 * PG, "device", 7) == 0);
	CHECK(all(buf + 2 * PG, 4 * PG, 0));
	CHECK(dev_sees(iova + 2 * PG, PG, 'A'));
	/* Pages the program kept are still shared with the device */
	CHECK(softiommu_dma_write(dev, 0, iova + 7 * PG, "B", 1) == 0);
	CHECK(buf[7 * PG] == 'B');
	buf[0] = 'C';
	CHECK(!dev_sees(iova, 1, 'A') && dev_sees(iova, 1, 'C'));
	CHECK(pinned() == 8);
	vmas = count_vmas();
	unmap(iova, 8 * PG);
	CHECK(pinned() == 0);
	CHECK(count_vmas() < vmas); /* the reserve that kept the pages is gone */
	CHECK(munmap(buf, 8 * PG) == 0);
}

static void test_map_fixed_over(void)
{
	char *buf = anon(NULL, 4 * PG, 'D');
	uint64_t iova = map(buf, 4 * PG);

	anon(buf, 4 * PG, 'E');
	CHECK(dev_sees(iova, 4 * PG, 'D'));
	CHECK(all(buf, 4 * PG, 'E'));
	unmap(iova, 4 * PG);
	CHECK(pinned() == 0);
	munmap(buf, 4 * PG);
}

static void test_dontneed(void)
{
	char *buf = anon(NULL, 4 * PG, 'F');
	uint64_t iova = map(buf, 4 * PG);

	CHECK(madvise(buf + PG, 2 * PG, MADV_DONTNEED) == 0);
	CHECK(all(buf + PG, 2 * PG, 0));
	CHECK(dev_sees(iova, 4 * PG, 'F'));
	/* The program's fresh pages are its own; the device's are the old ones */
	buf[PG] = 'G';
	CHECK(dev_sees(iova + PG, PG, 'F'));
	unmap(iova, 4 * PG);
	munmap(buf, 4 * PG);
}

static void test_mremap(void)
{
	char *buf = anon(NULL, 4 * PG, 'H');
	char *dst = anon(NULL, 4 * PG, 0);
	uint64_t iova = map(buf, 4 * PG);
	char *moved;

	/* Moved: the pages go along, still shared between the program and the device */
	moved = mremap(buf, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	CHECK(moved == dst);
	CHECK(dev_sees(iova, 4 * PG, 'H'));
	CHECK(softiommu_dma_write(dev, 0, iova + PG, "I", 1) == 0);
	CHECK(moved[PG] == 'I');
	moved[2 * PG] = 'J';
	CHECK(dev_sees(iova + 2 * PG, 1, 'J'));
	/* Shrunk: the dropped tail stays the device's */
	CHECK(mremap(moved, 4 * PG, 2 * PG, 0) == moved);
	CHECK(dev_sees(iova + 3 * PG, PG, 'H'));
	CHECK(softiommu_dma_write(dev, 0, iova + 3 * PG, "K", 1) == 0);
	unmap(iova, 4 * PG);
	CHECK(pinned() == 0);
	munmap(moved, 2 * PG);
}

static void test_access_reads_kept(void)
{
	char *buf = anon(NULL, 2 * PG, 'L');
	uint64_t iova = map(buf, 2 * PG);
	struct iommu_test_cmd acc = { .size = sizeof(acc), .op = IOMMU_TEST_OP_CREATE_ACCESS,
				      .id = ioas };
	char out[PG];

	CHECK(ioctl(fd, IOMMU_TEST_CMD, &acc) == 0);
	munmap(buf, 2 * PG);
	anon(buf, 2 * PG, 'M');
	struct iommu_test_cmd rw = {
		.size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW,
		.id = acc.create_access.out_access_fd,
		.access_rw = { .iova = iova + PG / 2, .length = PG, .uptr = (uintptr_t)out },
	};
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &rw) == 0);
	CHECK(all(out, PG, 'L'));
	close(acc.create_access.out_access_fd);
	unmap(iova, 2 * PG);
	munmap(buf, 2 * PG);
}

static uint32_t ioas2;
static struct softiommu_dev *dev2;

static bool dev2_sees(uint64_t iova, size_t len, char c)
{
	static char buf[16 * PG];

	return len <= sizeof(buf) && softiommu_dma_read(dev2, 0, iova, buf, len) == 0 &&
	       all(buf, len, c);
}

static void test_pinned_twice(void)
{
	char *buf = anon(NULL, 4 * PG, 'S');
	uint64_t iova = map(buf, 4 * PG);
	struct iommu_ioas_map m = {
		.size = sizeof(m), .ioas_id = ioas2, .user_va = (uintptr_t)buf, .length = 4 * PG,
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
	};
	struct iommu_ioas_copy c = {
		.size = sizeof(c), .dst_ioas_id = ioas2, .src_ioas_id = ioas, .src_iova = iova,
		.length = 4 * PG, .flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
	};
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas2 };

	CHECK(ioctl(fd, IOMMU_IOAS_MAP, &m) == 0);  /* its own pages object */
	CHECK(ioctl(fd, IOMMU_IOAS_COPY, &c) == 0); /* the first one's, in another IOAS */
	CHECK(pinned() == 8);
	CHECK(munmap(buf, 4 * PG) == 0);
	anon(buf, 4 * PG, 'T');
	CHECK(dev_sees(iova, 4 * PG, 'S'));
	CHECK(dev2_sees(m.iova, 4 * PG, 'S'));
	CHECK(dev2_sees(c.dst_iova, 4 * PG, 'S'));
	/* One set of pages behind all three, as on Linux */
	CHECK(softiommu_dma_write(dev, 0, iova + PG, "U", 1) == 0);
	CHECK(dev2_sees(m.iova + PG, 1, 'U') && dev2_sees(c.dst_iova + PG, 1, 'U'));
	CHECK(all(buf, 4 * PG, 'T'));
	unmap(iova, 4 * PG);
	u.iova = m.iova;
	u.length = 4 * PG;
	CHECK(ioctl(fd, IOMMU_IOAS_UNMAP, &u) == 0);
	/* The copy in the second IOAS still holds the first pages object, kept */
	CHECK(pinned() == 4);
	CHECK(dev2_sees(c.dst_iova, PG, 'S') && dev2_sees(c.dst_iova + PG, 1, 'U'));
	u.iova = c.dst_iova;
	CHECK(ioctl(fd, IOMMU_IOAS_UNMAP, &u) == 0);
	CHECK(pinned() == 0);
	munmap(buf, 4 * PG);
}

static void test_madv_remove(void)
{
	int mfd = memfd_create("keep", 0);
	char *buf;
	uint64_t iova;

	CHECK(mfd >= 0 && ftruncate(mfd, 4 * PG) == 0);
	buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(buf != MAP_FAILED);
	memset(buf, 'V', 4 * PG);
	iova = map(buf, 4 * PG);
	CHECK(madvise(buf, 2 * PG, MADV_REMOVE) == 0);
	CHECK(all(buf, 2 * PG, 0));
	CHECK(dev_sees(iova, 4 * PG, 'V'));
	/* The rest of the file is still shared */
	CHECK(softiommu_dma_write(dev, 0, iova + 3 * PG, "W", 1) == 0);
	CHECK(buf[3 * PG] == 'W');
	unmap(iova, 4 * PG);
	munmap(buf, 4 * PG);
	close(mfd);
}

static void test_madv_free(void)
{
	char *buf = anon(NULL, 4 * PG, 'X');
	uint64_t iova = map(buf, 4 * PG);

	CHECK(madvise(buf, 4 * PG, MADV_FREE) == 0);
	CHECK(all(buf, 4 * PG, 'X'));
	CHECK(dev_sees(iova, 4 * PG, 'X'));
	unmap(iova, 4 * PG);
	munmap(buf, 4 * PG);
}

struct dma_thread {
	uint64_t iova;
	atomic_bool stop;
	unsigned long faults;
	atomic_ulong done;
};

static void *dma_fn(void *arg)
{
	struct dma_thread *t = arg;
	char pattern[PG], back[PG];

	memset(pattern, 'P', sizeof(pattern));
	while (!atomic_load(&t->stop)) {
		for (int p = 0; p != 8; p++) {
			if (softiommu_dma_write(dev, 0, t->iova + p * PG, pattern, PG) ||
			    softiommu_dma_read(dev, 0, t->iova + p * PG, back, PG) ||
			    memcmp(back, pattern, PG))
				t->faults++;
			atomic_fetch_add(&t->done, 1);
		}
	}
	return NULL;
}

/*
 * Meanwhile the IOAS tables change: the range being unmapped is mapped again into the second
 * IOAS (pinning whatever is there, or EFAULT in a hole), and the DMAed area is copied there
 * and unmapped, so keeping must find and lock tables that come and go.
 */
struct churn_thread {
	char *buf;
	uint64_t src_iova;
	atomic_bool stop;
	unsigned long maps, copies;
};

static void *churn_fn(void *arg)
{
	struct churn_thread *c = arg;

	while (!atomic_load(&c->stop)) {
		struct iommu_ioas_map m = {
			.size = sizeof(m), .ioas_id = ioas2, .user_va = (uintptr_t)c->buf,
			.length = 8 * PG, .flags = IOMMU_IOAS_MAP_READABLE,
		};
		struct iommu_ioas_copy cp = {
			.size = sizeof(cp), .dst_ioas_id = ioas2, .src_ioas_id = ioas,
			.src_iova = c->src_iova, .length = 8 * PG,
			.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		};
		struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas2,
					      .length = 8 * PG };

		if (ioctl(fd, IOMMU_IOAS_MAP, &m) == 0) {
			c->maps++;
			u.iova = m.iova;
			ioctl(fd, IOMMU_IOAS_UNMAP, &u);
		}
		if (ioctl(fd, IOMMU_IOAS_COPY, &cp) == 0) {
			c->copies++;
			u.iova = cp.dst_iova;
			ioctl(fd, IOMMU_IOAS_UNMAP, &u);
		}
	}
	return NULL;
}

static void test_while_dma(void)
{
	char *buf = anon(NULL, 8 * PG, 'P');
	struct dma_thread t = { .iova = map(buf, 8 * PG) };
	struct churn_thread c = { .buf = buf, .src_iova = t.iova };
	bool clean = true;
	pthread_t th, tc;

	CHECK(pthread_create(&th, NULL, dma_fn, &t) == 0);
	CHECK(pthread_create(&tc, NULL, churn_fn, &c) == 0);
	for (int round = 0; round != 200; round++) {
		size_t at = (round % 4) * 2 * PG;
		unsigned long seen = atomic_load(&t.done);

		/* Interleave with the DMAs: each round waits for some to happen */
		while (atomic_load(&t.done) < seen + 4)
			sched_yield();
		if (round % 2)
			munmap(buf + at, 2 * PG);
		anon(buf + at, 2 * PG, 0); /* MAP_FIXED: over the range or into the hole */
		clean &= all(buf + at, 2 * PG, 0);
	}
	atomic_store(&t.stop, true);
	atomic_store(&c.stop, true);
	pthread_join(th, NULL);
	pthread_join(tc, NULL);
	CHECK(c.copies > 0);
	CHECK(t.faults == 0);
	CHECK(t.done > 0);
	CHECK(clean);
	CHECK(all(buf, 8 * PG, 0));
	unmap(t.iova, 8 * PG);
	CHECK(pinned() == 0);
	munmap(buf, 8 * PG);
}

/* Bypassing the shim keeps nothing: the device faults, never a signal */
static void test_raw_syscall_faults(void)
{
	char *buf = anon(NULL, 2 * PG, 'R');
	uint64_t iova = map(buf, 2 * PG);
	char b;

	CHECK(syscall(SYS_munmap, buf, 2 * PG) == 0);
	CHECK(softiommu_dma_read(dev, 0, iova, &b, 1) == -EFAULT);
	unmap(iova, 2 * PG);
}

int main(void)
{
	unsigned int dev_id, pt;

	setup_device();
	test_munmap_then_map_fixed();
	test_map_fixed_over();
	test_dontneed();
	test_mremap();
	test_access_reads_kept();
	struct iommu_ioas_alloc a2 = { .size = sizeof(a2) };
	CHECK(ioctl(fd, IOMMU_IOAS_ALLOC, &a2) == 0);
	ioas2 = pt = a2.out_ioas_id;
	CHECK(softiommu_dev_create(fd, "mock", 0, &dev2, &dev_id) == 0);
	CHECK(softiommu_dev_attach(dev2, 0, &pt) == 0);
	test_pinned_twice();
	test_madv_remove();
	test_madv_free();
	test_while_dma();
	test_raw_syscall_faults();

	softiommu_dev_destroy(dev);
	softiommu_dev_destroy(dev2);
	close(fd);
	CHECK(softiommu_live_objects() == 0);
	return check_done("test_memory_keep");
}
