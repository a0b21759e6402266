// SPDX-License-Identifier: MIT
/*
 * After fork() parent and child share one daemon context, as they share a kernel file: the
 * child sees the parent's objects, its IOAS_MAP pins the child's own memory (an access in the
 * parent reads what the child wrote, not the parent's copy of the same addresses), and the
 * mapping the child made outlives the child as on Linux. Nothing is left behind once the
 * context is closed.
 */
#include <sys/mman.h>

#include "daemon_test.h"

#define PG 4096UL

static int access_create(int fd, uint32_t ioas, int *access_fd)
{
	struct iommu_test_cmd cmd = { .size = sizeof(cmd), .op = IOMMU_TEST_OP_CREATE_ACCESS,
				      .id = ioas };
	long rc = softiommu_ioctl(fd, IOMMU_TEST_CMD, &cmd);

	*access_fd = (int)cmd.create_access.out_access_fd;
	return (int)rc;
}

static long access_read(int fd, int access_fd, uint64_t iova, void *buf, size_t len)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)access_fd,
		.access_rw = { .iova = iova, .length = len, .uptr = (uintptr_t)buf },
	};

	return softiommu_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

int main(void)
{
	char *buf = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd, access_fd, efd[2], gate[2], status;
	uint64_t iova = MOCK_APERTURE_START;
	char got[8] = { 0 }, b;
	uint32_t ioas;
	pid_t child;

	dt_start();
	fd = softiommu_open(0);
	CHECK(fd >= 0);
	ioas = t_ioas_alloc(fd);
	CHECK_OK(access_create(fd, ioas, &access_fd));
	CHECK(access_fd >= 0 && access_fd != fd);
	memset(buf, 'p', 2 * PG);
	if (pipe(efd) || pipe(gate))
		return 2;

	child = fork();
	if (child == 0) {
		/* The child's own copy of the buffer, mapped through the shared context */
		memset(buf, 'c', 2 * PG);
		if (t_map(fd, ioas, buf, 2 * PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
			  IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE))
			_exit(3);
		(void)!write(efd[1], "m", 1);
		(void)!read(gate[0], &b, 1);
		_exit(0);
	}
	CHECK(read(efd[0], &b, 1) == 1);
	/* A domain attached now pins the child's pages; the access reads the child's bytes */
	t_mock_domain(fd, ioas, NULL, NULL);
	CHECK_OK(access_read(fd, access_fd, MOCK_APERTURE_START, got, sizeof(got)));
	CHECK(got[0] == 'c' && got[7] == 'c');
	CHECK(dt_stats(fd).pinned_pages == 2);
	(void)!write(gate[1], "g", 1);
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && !WEXITSTATUS(status));

	/* The child's mapping is still there after it exited; unmapping releases its pins */
	CHECK_OK(t_unmap(fd, ioas, MOCK_APERTURE_START, 2 * PG, NULL));
	CHECK(dt_stats(fd).pinned_pages == 0);
	/* An access fd the child inherited was its parent's: closing ours destroys it */
	CHECK_OK(softiommu_close(access_fd));
	CHECK_ERR(EBADFD, access_read(fd, access_fd, MOCK_APERTURE_START, got, 1));
	softiommu_close(fd);
	{
		struct sio_proto_stats st = dt_stats_fresh();

		CHECK(st.live_objects == 0 && st.pinned_pages == 0 && st.connections == 0);
		CHECK(st.client_mms == 0);
	}
	dt_stop();
	return t_done();
}
