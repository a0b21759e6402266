// SPDX-License-Identifier: MIT
/*
 * Pages a child of fork() pinned through the shared context outlive the child, as Linux's
 * pins hold the pages: when the child exits, the daemon takes the pinned runs over (private
 * memory copied, shared memory mapped from its file, so the parent's later stores to shared
 * memory are still seen through the IOAS). A child killed cannot hand them over: its pages
 * are EFAULT afterwards, never another process's memory. Nothing is left once closed.
 */
#include <stdbool.h>
#include <sys/mman.h>

#include "daemon_test.h"

#define PG 4096UL

static long access_read(int fd, int access_fd, uint64_t iova, void *buf, size_t len)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)access_fd,
		.access_rw = { .iova = iova, .length = len, .uptr = (uintptr_t)buf },
	};

	return softiommu_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* The child maps @buf (filled with 'c') at the aperture's start and exits or is killed */
static void child_maps(int fd, uint32_t ioas, char *buf, bool killed)
{
	int ready[2], status;
	pid_t child;
	char b;

	if (pipe(ready))
		exit(2);
	child = fork();
	if (child == 0) {
		uint64_t iova = MOCK_APERTURE_START;

		memset(buf, 'c', 2 * PG);
		if (t_map(fd, ioas, buf, 2 * PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
			  IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE))
			_exit(3);
		(void)!write(ready[1], "m", 1);
		if (killed)
			pause();
		exit(0); /* exit(): the shim's exit hook runs */
	}
	CHECK(read(ready[0], &b, 1) == 1);
	if (killed)
		kill(child, SIGKILL);
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(killed ? WIFSIGNALED(status) : WIFEXITED(status) && !WEXITSTATUS(status));
	close(ready[0]);
	close(ready[1]);
}

static void one(int flags, bool killed)
{
	char *buf = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
	struct iommu_test_cmd acc = { .size = sizeof(acc), .op = IOMMU_TEST_OP_CREATE_ACCESS };
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);
	char got[4] = { 0 };
	int access_fd;
	uint32_t idev;

	/* A domain first: the child's map pins its pages */
	t_mock_domain(fd, ioas, NULL, &idev);
	acc.id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &acc));
	access_fd = (int)acc.create_access.out_access_fd;
	memset(buf, 'p', 2 * PG);
	child_maps(fd, ioas, buf, killed);
	if (killed) {
		CHECK_ERR(EFAULT, access_read(fd, access_fd, MOCK_APERTURE_START, got, 4));
		/* Through the domain too: a fault, never the parent's bytes there */
		CHECK_ERR(EFAULT, sio_remote_dma(fd, idev, 0, MOCK_APERTURE_START, got, 4, false));
	} else if (flags & MAP_SHARED) {
		/* The very pages: the parent's store after the child is gone is seen */
		CHECK_OK(access_read(fd, access_fd, MOCK_APERTURE_START + PG, got, 4));
		CHECK(got[0] == 'c');
		buf[PG] = 's';
		CHECK_OK(access_read(fd, access_fd, MOCK_APERTURE_START + PG, got, 4));
		CHECK(got[0] == 's' && got[1] == 'c');
		/* A device's DMA through the domain's PTEs reaches them as well, both ways */
		memset(got, 0, sizeof(got));
		CHECK_OK(sio_remote_dma(fd, idev, 0, MOCK_APERTURE_START + PG, got, 4, false));
		CHECK(got[0] == 's' && got[1] == 'c');
		CHECK_OK(sio_remote_dma(fd, idev, 0, MOCK_APERTURE_START + 5, "dma", 3, true));
		CHECK(!memcmp(buf + 5, "dma", 3));
	} else {
		/* The child's private bytes, not the parent's copy */
		CHECK_OK(access_read(fd, access_fd, MOCK_APERTURE_START, got, 4));
		CHECK(got[0] == 'c' && got[3] == 'c');
		CHECK(buf[0] == 'p');
		/* A device's DMA through the domain reaches the taken-over copy, not our bytes */
		memset(got, 0, sizeof(got));
		CHECK_OK(sio_remote_dma(fd, idev, 0, MOCK_APERTURE_START + PG - 2, got, 4, false));
		CHECK(!memcmp(got, "cccc", 4));
		CHECK_OK(sio_remote_dma(fd, idev, 0, MOCK_APERTURE_START, "dma", 3, true));
		CHECK_OK(access_read(fd, access_fd, MOCK_APERTURE_START, got, 4));
		CHECK(!memcmp(got, "dmac", 4) && buf[0] == 'p');
	}
	CHECK(dt_stats(fd).pinned_pages == 2);
	CHECK_OK(softiommu_close(access_fd));
	softiommu_close(fd);
	{
		struct sio_proto_stats st = dt_stats_fresh();

		CHECK(st.live_objects == 0 && st.pinned_pages == 0 && st.client_mms == 0);
	}
	munmap(buf, 2 * PG);
}

int main(void)
{
	dt_start();
	one(MAP_PRIVATE, false);
	one(MAP_SHARED, false);
	one(MAP_PRIVATE, true);
	one(MAP_SHARED, true);
	dt_stop();
	return t_done();
}
