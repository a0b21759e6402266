// SPDX-License-Identifier: MIT
/*
 * A real program's descriptor hygiene, run under the shim (and, built the same way, on Linux):
 * close_range() over everything, a daemon-style close() loop over every number, closefrom().
 * Each must release the iommufd contexts in its range — their pinned pages come back, as on
 * Linux — leave a context outside the range working, and let the program open /dev/iommu again.
 */
#include <linux/close_range.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "progs.h"

#define PAGES 16

static int still_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void test_close_range_all(void *buf)
{
	unsigned long base = t_pinned();
	int keep = open_pinned(buf, PAGES), fd = open_pinned(buf, PAGES);

	CHECK(t_pinned() == base + 2 * PAGES);
	/* Everything from @fd up: @keep stays, and so must the descriptors it relies on */
	CHECK(close_range(fd, ~0U, 0) == 0);
	CHECK(!still_open(fd));
	CHECK(t_pinned() == base + PAGES);
	CHECK(t_ioas_alloc(keep) != 0);
	fd = open_pinned(buf, PAGES);
	CHECK(t_pinned() == base + 2 * PAGES);
	CHECK_OK(softiommu_close(fd));
	CHECK_OK(softiommu_close(keep));
	CHECK(t_pinned() == base);
}

/* CLOSE_RANGE_CLOEXEC closes nothing */
static void test_close_range_cloexec(void *buf)
{
	int fd = open_pinned(buf, PAGES);

	CHECK(close_range(fd, fd, CLOSE_RANGE_CLOEXEC) == 0);
	CHECK(still_open(fd) && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	CHECK(t_ioas_alloc(fd) != 0);
	CHECK_OK(softiommu_close(fd));
	errno = 0;
	CHECK(close_range(5, 4, 0) == -1 && errno == EINVAL);
}

/* The daemon idiom: close every number above stderr, then open /dev/iommu afresh */
static void test_close_loop(void *buf)
{
	unsigned long base = t_pinned();
	struct rlimit rl;
	int fd, closed = 0;

	fd = open_pinned(buf, PAGES);
	CHECK(!getrlimit(RLIMIT_NOFILE, &rl));
	for (int i = 3; i < (int)(rl.rlim_cur < 4096 ? rl.rlim_cur : 4096); i++)
		closed += close(i) == 0;
	CHECK(closed >= 1);
	CHECK(!still_open(fd));
	CHECK(t_pinned() == base);
	fd = open_pinned(buf, PAGES);
	CHECK(t_pinned() == base + PAGES);
	CHECK_OK(softiommu_close(fd));
	CHECK(t_pinned() == base);
}

static void test_closefrom(void *buf)
{
	unsigned long base = t_pinned();
	int fd = open_pinned(buf, PAGES);

	closefrom(fd);
	CHECK(!still_open(fd));
	CHECK(t_pinned() == base);
	fd = open_pinned(buf, PAGES);
	CHECK(t_ioas_alloc(fd) != 0);
	CHECK_OK(softiommu_close(fd));
}

int main(void)
{
	void *buf = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(buf != MAP_FAILED);
	test_close_range_all(buf);
	test_close_range_cloexec(buf);
	test_close_loop(buf);
	test_closefrom(buf);
	return t_done();
}
