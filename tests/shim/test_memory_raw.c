// SPDX-License-Identifier: MIT
/*
 * A program takes memory an IOAS maps with a domain (so pinned) out of its address space by
 * raw system calls, which the shim never sees; softiommu's userfaultfd watch (core/mem/uffd.c)
 * does, and gives the outcomes docs/memory-model.md lists:
 *  - raw munmap, then new memory mapped at the same address (raw mmap MAP_FIXED): a DMA
 *    faults, reads nothing of the new memory and writes nothing into it;
 *  - raw mmap(MAP_FIXED) straight over the range: the same;
 *  - raw madvise(MADV_DONTNEED): the program reads zeros, a DMA faults (the pages are gone:
 *    Linux's device would keep them, which user space cannot);
 *  - raw mremap moving the range: the device follows the pages to their new place, still
 *    shared with the program;
 *  - a thread DMAing all the while the main thread cycles raw munmap + mmap(MAP_FIXED):
 *    not one byte of DMA lands in the new memory, and no pin is left;
 *  - pages pinned again at the same address after IOAS_UNMAP + IOAS_MAP are watched again.
 * Skipped (exit 77) where the kernel gives no userfaultfd. Linked to the shim build that
 * exports the device API, as test_memory_keep.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "memory_testlib.h"

/* Anonymous memory by raw system calls (at @at with MAP_FIXED when not NULL), filled */
static char *raw_anon(void *at, size_t len, char fill)
{
	char *p = (char *)syscall(SYS_mmap, at, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED : 0), -1, 0);

	CHECK(p != MAP_FAILED && (!at || p == at));
	if (p != MAP_FAILED && fill)
		memset(p, fill, len);
	return p;
}

static void test_raw_munmap_then_new_memory(void)
{
	char *buf = raw_anon(NULL, 4 * PG, 'A');
	uint64_t iova = map(buf, 4 * PG);
	char b = 0;

	CHECK(syscall(SYS_munmap, buf + PG, 2 * PG) == 0);
	raw_anon(buf + PG, 2 * PG, 'N');
	/* The device never reaches the program's new memory */
	CHECK(softiommu_dma_read(dev, 0, iova + PG, &b, 1) == -EFAULT);
	CHECK(softiommu_dma_write(dev, 0, iova + 2 * PG, "device", 6) == -EFAULT);
	CHECK(all(buf + PG, 2 * PG, 'N'));
	/* The pages the program kept are still shared */
	CHECK(dev_sees(iova, PG, 'A') && dev_sees(iova + 3 * PG, PG, 'A'));
	CHECK(softiommu_dma_write(dev, 0, iova + 3 * PG, "Z", 1) == 0);
	CHECK(buf[3 * PG] == 'Z');
	unmap(iova, 4 * PG);
	CHECK(pinned() == 0);
	syscall(SYS_munmap, buf, 4 * PG);
}

static void test_raw_map_fixed_over(void)
{
	char *buf = raw_anon(NULL, 2 * PG, 'B');
	uint64_t iova = map(buf, 2 * PG);
	char b;

	raw_anon(buf, 2 * PG, 'C');
	CHECK(softiommu_dma_read(dev, 0, iova, &b, 1) == -EFAULT);
	CHECK(softiommu_dma_write(dev, 0, iova + PG, "x", 1) == -EFAULT);
	CHECK(all(buf, 2 * PG, 'C'));
	unmap(iova, 2 * PG);
	CHECK(pinned() == 0);
	syscall(SYS_munmap, buf, 2 * PG);
}

static void test_raw_dontneed(void)
{
	char *buf = raw_anon(NULL, 2 * PG, 'D');
	uint64_t iova = map(buf, 2 * PG);
	char b;

	CHECK(syscall(SYS_madvise, buf, PG, MADV_DONTNEED) == 0);
	CHECK(all(buf, PG, 0));
	CHECK(softiommu_dma_read(dev, 0, iova, &b, 1) == -EFAULT);
	CHECK(dev_sees(iova + PG, PG, 'D'));
	buf[0] = 'E';
	CHECK(softiommu_dma_write(dev, 0, iova, "y", 1) == -EFAULT);
	CHECK(buf[0] == 'E');
	unmap(iova, 2 * PG);
	syscall(SYS_munmap, buf, 2 * PG);
}

static void test_raw_mremap_followed(void)
{
	char *buf = raw_anon(NULL, 4 * PG, 'F');
	char *dst = raw_anon(NULL, 4 * PG, 0);
	uint64_t iova = map(buf, 4 * PG);
	char *moved;

	moved = (char *)syscall(SYS_mremap, buf, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
				dst);
	CHECK(moved == dst);
	CHECK(dev_sees(iova, 4 * PG, 'F'));
	CHECK(softiommu_dma_write(dev, 0, iova + PG, "G", 1) == 0);
	CHECK(moved[PG] == 'G');
	moved[2 * PG] = 'H';
	CHECK(dev_sees(iova + 2 * PG, 1, 'H'));
	unmap(iova, 4 * PG);
	CHECK(pinned() == 0);
	syscall(SYS_munmap, moved, 4 * PG);
}

static void test_pinned_again(void)
{
	char *buf = raw_anon(NULL, 2 * PG, 'I');
	uint64_t iova = map(buf, 2 * PG);
	char b;

	unmap(iova, 2 * PG);
	iova = map(buf, 2 * PG);
	CHECK(syscall(SYS_munmap, buf, 2 * PG) == 0);
	raw_anon(buf, 2 * PG, 'J');
	CHECK(softiommu_dma_read(dev, 0, iova, &b, 1) == -EFAULT);
	CHECK(all(buf, 2 * PG, 'J'));
	unmap(iova, 2 * PG);
	syscall(SYS_munmap, buf, 2 * PG);
}

struct dma_thread {
	uint64_t iova;
	atomic_bool stop;
	atomic_ulong done, ok;
};

static void *dma_fn(void *arg)
{
	struct dma_thread *t = arg;
	char pattern[PG];

	memset(pattern, 'P', sizeof(pattern));
	while (!atomic_load(&t->stop)) {
		for (int p = 0; p != 8; p++) {
			if (softiommu_dma_write(dev, 0, t->iova + p * PG, pattern, PG) == 0)
				atomic_fetch_add(&t->ok, 1);
			atomic_fetch_add(&t->done, 1);
		}
	}
	return NULL;
}

static void test_raw_cycles_while_dma(void)
{
	char *buf = raw_anon(NULL, 8 * PG, 'P');
	struct dma_thread t = { .iova = map(buf, 8 * PG) };
	bool clean = true;
	pthread_t th;

	CHECK(pthread_create(&th, NULL, dma_fn, &t) == 0);
	for (int round = 0; round != 100; round++) {
		size_t at = (round % 4) * 2 * PG;
		unsigned long seen = atomic_load(&t.done);

		while (atomic_load(&t.done) < seen + 4)
			sched_yield();
		/*
		 * munmap first: a raw mmap(MAP_FIXED) straight over pinned memory replaces it
		 * before the kernel reports the unmap, so a DMA racing it may reach the new
		 * memory (memory-model.md); after a munmap the new memory is never reached
		 */
		CHECK(syscall(SYS_munmap, buf + at, 2 * PG) == 0);
		raw_anon(buf + at, 2 * PG, 0);
		/* Let the device try the new memory before looking */
		seen = atomic_load(&t.done);
		while (atomic_load(&t.done) < seen + 8)
			sched_yield();
		clean &= all(buf + at, 2 * PG, 0);
	}
	atomic_store(&t.stop, true);
	pthread_join(th, NULL);
	CHECK(clean);
	CHECK(t.ok > 0); /* it did DMA, before its pages went */
	unmap(t.iova, 8 * PG);
	CHECK(pinned() == 0);
	syscall(SYS_munmap, buf, 8 * PG);
}

static bool have_userfaultfd(void)
{
	int u = (int)syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);

	if (u < 0)
		return false;
	close(u);
	return true;
}

int main(void)
{
	if (!have_userfaultfd()) {
		printf("test_memory_raw: SKIP: no userfaultfd (%s)\n", strerror(errno));
		return 77;
	}
	setup_device();

	test_raw_munmap_then_new_memory();
	test_raw_map_fixed_over();
	test_raw_dontneed();
	test_raw_mremap_followed();
	test_pinned_again();
	test_raw_cycles_while_dma();

	softiommu_dev_destroy(dev);
	close(fd);
	CHECK(softiommu_live_objects() == 0);
	return check_done("test_memory_raw");
}
