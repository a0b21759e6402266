// SPDX-License-Identifier: MIT
/*
 * Access copies only read the IOAS's table, as Linux's hold iova_rwsem for reading: while one
 * copy is stalled in the memory behind an IOVA (a userfaultfd page nobody has filled yet), a
 * copy of a second access through the same IOAS completes (copies of one access serialize on
 * its ioas_lock, in Linux as here). The stalled copy then finishes with the data
 * the fault was resolved with. Linux: iommufd_access_rw() takes the access's ioas_lock, then
 * iova_rwsem for reading. (The reference kernel's config has no userfaultfd: it skips there.)
 */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testlib.h"

#define PG 4096ULL
#define WAIT_MS 10000 /* a liveness bound, not a timing: the copies take microseconds */

struct copier {
	int fd;
	uint32_t access;
	uint64_t iova;
	char out[16];
	long rc;
	int done; /* eventfd */
};

static void *copy_thread(void *arg)
{
	struct copier *c = arg;
	struct iommu_test_cmd rw = { .size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW,
				     .id = c->access, .access_rw.iova = c->iova,
				     .access_rw.length = sizeof(c->out),
				     .access_rw.uptr = (uintptr_t)c->out };
	uint64_t one = 1;

	c->rc = softiommu_ioctl(c->fd, IOMMU_TEST_CMD, &rw);
	if (write(c->done, &one, sizeof(one)) != sizeof(one))
		c->rc = -EIO;
	return NULL;
}

static bool readable_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static int uffd_open(void)
{
	int u = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	struct uffdio_api api = { .api = UFFD_API };

#ifdef UFFD_USER_MODE_ONLY
	/* Without privilege only user-mode faults: softiommu's copies fault in user mode */
	if (u < 0)
		u = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
#endif
	if (u < 0 || ioctl(u, UFFDIO_API, &api)) {
		if (u >= 0)
			close(u);
		return -1;
	}
	return u;
}

static void test_copy_beside_stalled_copy(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd);
	struct iommu_test_cmd ca = { .size = sizeof(ca), .op = IOMMU_TEST_OP_CREATE_ACCESS,
				     .id = ioas };
	struct iommu_test_cmd cb = ca;
	char *stall = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *plain = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct copier a = { .fd = fd }, b = { .fd = fd };
	static char fill[PG] __attribute__((aligned(4096)));
	struct uffd_msg msg;
	pthread_t ta, tb;
	uint64_t iova_stall = 0, iova_plain = 0;
	int u = uffd_open();

	if (u < 0) {
		printf("SKIP: no userfaultfd here (%s)\n", strerror(errno));
		CHECK_OK(t_destroy(fd, ioas));
		return;
	}
	struct uffdio_register reg = { .range = { (uintptr_t)stall, PG },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	CHECK(ioctl(u, UFFDIO_REGISTER, &reg) == 0);
	strcpy(plain, "plain memory");
	/* No domain: nothing is pinned, so mapping does not touch the missing page */
	CHECK_OK(t_map(fd, ioas, stall, PG, &iova_stall, 0));
	CHECK_OK(t_map(fd, ioas, plain, PG, &iova_plain, 0));
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &ca));
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &cb));
	a.access = ca.create_access.out_access_fd;
	b.access = cb.create_access.out_access_fd;
	a.iova = iova_stall + 8;
	b.iova = iova_plain;
	a.done = eventfd(0, EFD_CLOEXEC);
	b.done = eventfd(0, EFD_CLOEXEC);

	CHECK(pthread_create(&ta, NULL, copy_thread, &a) == 0);
	/* access_copy_stalls_in_missing_page: the first copy waits in the fault */
	CHECK(readable_within(u, WAIT_MS));
	CHECK(read(u, &msg, sizeof(msg)) == sizeof(msg) && msg.event == UFFD_EVENT_PAGEFAULT);
	CHECK(!readable_within(a.done, 0));
	/* access_copy_beside_stalled_copy: another access's copy, same IOAS, completes */
	CHECK(pthread_create(&tb, NULL, copy_thread, &b) == 0);
	CHECK(readable_within(b.done, WAIT_MS));
	CHECK(!readable_within(a.done, 0));
	/* the stalled copy finishes with what the fault was resolved with */
	strcpy(fill + 8, "filled by the fault handler");
	struct uffdio_copy cp = { .dst = (uintptr_t)stall, .src = (uintptr_t)fill, .len = PG };
	CHECK(ioctl(u, UFFDIO_COPY, &cp) == 0);
	pthread_join(tb, NULL);
	pthread_join(ta, NULL);
	CHECK_OK(b.rc);
	CHECK(!memcmp(b.out, "plain memory", 13));
	CHECK_OK(a.rc);
	CHECK(!memcmp(a.out, "filled by the fa", 16));

	CHECK_OK(softiommu_close((int)a.access));
	CHECK_OK(softiommu_close((int)b.access));
	CHECK_OK(t_destroy(fd, ioas));
	close(a.done);
	close(b.done);
	close(u);
	munmap(stall, PG);
	munmap(plain, PG);
}

int main(void)
{
	int fd = softiommu_open(0);

	test_copy_beside_stalled_copy(fd);
	CHECK_OK(softiommu_close(fd));
	return t_done();
}
