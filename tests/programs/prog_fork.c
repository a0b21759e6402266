// SPDX-License-Identifier: MIT
/*
 * fork() while another thread is inside iommufd ioctls, many times over. The child must never
 * deadlock: it closes what it inherited and opens /dev/iommu afresh, maps and unmaps, and
 * exits. The parent's fault queue keeps its pending fault (and POLLIN) whatever the child does.
 *
 * Documented difference (README, "Not done"): on Linux the child shares the parent's iommufd;
 * under softiommu, until its daemon mode, an inherited descriptor answers EIO in the child.
 * The program tells the two apart by what the descriptor is (/proc/self/fd).
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "testlib.h"

#define FORKS 50

static atomic_int stop;
static int under_shim;

static int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static int is_softiommu(int fd)
{
	char link[64], target[64] = "";

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	return readlink(link, target, sizeof(target) - 1) > 0 &&
	       strcmp(target, "anon_inode:[iommufd]");
}

struct busy {
	int fd;
	uint32_t ioas;
	void *buf;
};

/* Map and unmap in a loop: some thread is always inside an ioctl, holding its locks */
static void *busy_thread(void *arg)
{
	struct busy *b = arg;

	while (!atomic_load(&stop)) {
		uint64_t iova = 0;

		if (!t_map(b->fd, b->ioas, b->buf, 65536, &iova, IOMMU_IOAS_MAP_READABLE))
			t_unmap(b->fd, b->ioas, iova, 65536, NULL);
	}
	return NULL;
}

/* A fault queue holding one fault: its descriptor is readable */
static int fault_queue_with_fault(int fd, uint32_t ioas)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_alloc h = { .size = sizeof(h) };
	struct iommu_test_cmd rep = { .size = sizeof(rep), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	struct iommu_test_cmd trig = {
		.size = sizeof(trig), .op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = { .grpid = 1, .perm = IOMMU_PGFAULT_PERM_READ, .addr = 0x10000 },
	};
	uint32_t idev, stdev;

	stdev = t_mock_domain(fd, ioas, NULL, &idev);
	CHECK_OK(softiommu_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	h.dev_id = idev;
	h.pt_id = ioas;
	h.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	h.pt_id = h.out_hwpt_id;
	h.flags = IOMMU_HWPT_FAULT_ID_VALID;
	h.fault_id = fa.out_fault_id;
	h.data_type = IOMMU_HWPT_DATA_SELFTEST;
	h.data_len = sizeof(data);
	h.data_uptr = (uintptr_t)&data;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	rep.id = stdev;
	rep.mock_domain_replace.pt_id = h.out_hwpt_id;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &rep));
	trig.trigger_iopf.dev_id = idev;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &trig));
	CHECK(readable(fa.out_fault_fd));
	return fa.out_fault_fd;
}

/* The child: exit status 0 when everything held */
static int child(int fd, int qfd, void *buf)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct iommu_hwpt_pgfault rec;
	uint64_t iova = 0;
	uint32_t ioas;
	int nfd;

	alarm(20); /* a deadlock ends the child with SIGALRM */
	if (under_shim) {
		CHECK_ERR(EIO, softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &a));
		CHECK_ERR(EIO, softiommu_read(qfd, &rec, sizeof(rec)));
	} else {
		CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &a));
	}
	CHECK(readable(qfd));
	CHECK_OK(softiommu_close(qfd));
	CHECK_OK(softiommu_close(fd));
	nfd = softiommu_open(0);
	CHECK(nfd >= 0);
	ioas = t_ioas_alloc(nfd);
	t_mock_domain(nfd, ioas, NULL, NULL);
	CHECK_OK(t_map(nfd, ioas, buf, 4096, &iova, IOMMU_IOAS_MAP_READABLE));
	CHECK_OK(t_unmap(nfd, ioas, iova, 4096, NULL));
	CHECK_OK(softiommu_close(nfd));
	return t_fail ? 1 : 0;
}

int main(void)
{
	void *buf = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	struct busy b = { .buf = buf };
	struct iommu_hwpt_pgfault rec;
	pthread_t t;
	int qfd, ok = 0;

	b.fd = softiommu_open(0);
	CHECK(b.fd >= 0);
	under_shim = is_softiommu(b.fd);
	b.ioas = t_ioas_alloc(b.fd);
	t_mock_domain(b.fd, b.ioas, NULL, NULL);
	qfd = fault_queue_with_fault(b.fd, t_ioas_alloc(b.fd));
	CHECK(pthread_create(&t, NULL, busy_thread, &b) == 0);
	for (int i = 0; i != FORKS; i++) {
		pid_t pid = fork();
		int status = -1;

		/*
		 * _exit: what the busy thread had half built at the fork is the parent's, and no
		 * leak of the child (LeakSanitizer would count it, as it cannot see the thread)
		 */
		if (!pid)
			_exit(child(b.fd, qfd, buf));
		CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
		else
			fprintf(stderr, "child %d: status 0x%x\n", i, status);
	}
	CHECK(ok == FORKS);
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	/* The parent's fault is still there for it */
	CHECK(readable(qfd));
	CHECK(softiommu_read(qfd, &rec, sizeof(rec)) == sizeof(rec));
	CHECK(!readable(qfd));
	CHECK_OK(softiommu_close(qfd));
	CHECK_OK(softiommu_close(b.fd));
	CHECK(t_pinned() == 0);
	printf("%s: %d forks, %d children clean\n", under_shim ? "softiommu" : "linux", FORKS, ok);
	return t_done();
}
