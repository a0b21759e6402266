// SPDX-License-Identifier: MIT
/*
 * IOMMU_IOAS_CHANGE_PROCESS in daemon mode, with the kernel's rules: an anonymous mapping
 * refuses it (EINVAL) and nothing moves; with only file-backed mappings, the caller takes
 * over the VmPin charge of every IOAS of the context (from the parent, in a child of fork());
 * the daemon's per-process figures, which the shim shows in /proc/PID/status, follow.
 */
#include <sys/mman.h>

#include "daemon_test.h"

#define PG 4096UL

static unsigned long pinned_of(pid_t pid)
{
	unsigned long pinned = ~0ul, locked = ~0ul;

	CHECK_OK(sio_remote_mm_account(dt_sock, pid, &pinned, &locked));
	return pinned;
}

static long change_process(int fd)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };

	return softiommu_ioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd);
}

int main(void)
{
	char *anon = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd, mfd = memfd_create("cp", 0), status;
	uint32_t ioas, ioas2;
	uint64_t iova = 0;
	pid_t parent = getpid(), child;

	if (mfd < 0 || ftruncate(mfd, 4 * PG))
		return 2;
	dt_start();
	fd = softiommu_open(0);
	ioas = t_ioas_alloc(fd);
	ioas2 = t_ioas_alloc(fd);
	t_mock_domain(fd, ioas, NULL, NULL);
	t_mock_domain(fd, ioas2, NULL, NULL);

	/* An anonymous mapping in any IOAS: EINVAL, nothing moved */
	CHECK_OK(t_map(fd, ioas2, anon, PG, &iova, 0));
	CHECK(pinned_of(parent) == 1);
	{
		struct iommu_ioas_map_file mf = {
			.size = sizeof(mf), .ioas_id = ioas, .fd = mfd, .start = 0,
			.length = 2 * PG,
			.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		};

		CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_MAP_FILE, &mf));
		/* A descriptor the sender does not have */
		mf.fd = 999;
		CHECK_ERR(EBADF, softiommu_ioctl(fd, IOMMU_IOAS_MAP_FILE, &mf));
	}
	CHECK(pinned_of(parent) == 3);
	CHECK_ERR(EINVAL, change_process(fd));
	CHECK_OK(t_unmap(fd, ioas2, iova, PG, NULL));
	CHECK(pinned_of(parent) == 2);
	/* Ours already: succeeds, changes nothing */
	CHECK_OK(change_process(fd));
	CHECK(pinned_of(parent) == 2);

	child = fork();
	if (child == 0) {
		if (pinned_of(parent) != 2 || pinned_of(getpid()) != 0)
			_exit(3);
		if (change_process(fd))
			_exit(4);
		if (pinned_of(parent) != 0 || pinned_of(getpid()) != 2)
			_exit(5);
		_exit(0);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && !WEXITSTATUS(status));
	/* The child is gone; its charge is no one else's until the parent takes it back */
	CHECK(pinned_of(parent) == 0);
	CHECK_OK(change_process(fd));
	CHECK(pinned_of(parent) == 2);
	softiommu_close(fd);
	CHECK(pinned_of(parent) == 0);
	dt_stop();
	return t_done();
}
