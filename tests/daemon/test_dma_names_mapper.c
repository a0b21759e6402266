// SPDX-License-Identifier: MIT
/*
 * A DMA copies in the memory of the process that mapped the pages, whoever issues it: a
 * device-model process (a child sharing the VMM's iommufd) DMAs through the VMM's mapping
 * and reads and writes the VMM's bytes, never its own copy at the same address; pages a
 * child mapped are the child's, and once the child is killed a DMA to them is a fault
 * (EFAULT, a fault record) — never the bytes another process has there. Bad requests: no
 * such device (also another connection's device), no bytes, a buffer the sender does not
 * have. Nothing is left once all is closed: pins, objects, client mms, address windows.
 */
#include <sys/mman.h>

#include "daemon_test.h"

#define PG 4096UL
#define LEN (64 * PG)

/* In a child of the VMM: its copy of @buf says 'd', the VMM's says 'v' */
static void device_model(int fd, uint32_t idev, char *buf, uint64_t iova)
{
	char *got = malloc(LEN), *own = malloc(LEN);

	if (!got || !own)
		_exit(2);
	memset(buf, 'd', LEN);
	CHECK_OK(sio_remote_dma(fd, idev, 0, iova, got, LEN, false));
	CHECK(got[0] == 'v' && got[LEN - 1] == 'v' && buf[0] == 'd');
	/* Across pages and at an offset */
	CHECK_OK(sio_remote_dma(fd, idev, 0, iova + PG - 3, got, 7, false));
	CHECK(!memcmp(got, "vvvvvvv", 7));
	memset(own, 'w', LEN);
	CHECK_OK(sio_remote_dma(fd, idev, 0, iova + PG, own, 2 * PG, true));
	CHECK(buf[PG] == 'd');
	/* Past the mapping: a fault, the bytes before it moved */
	CHECK_ERR(EFAULT, sio_remote_dma(fd, idev, 0, iova + LEN - PG, got, 2 * PG, false));
	CHECK_ERR(ENOENT, sio_remote_dma(fd, idev + 1000, 0, iova, got, 8, false));
	CHECK_ERR(EINVAL, sio_remote_dma(fd, idev, 0, iova, got, 0, false));
	CHECK_ERR(EFAULT, sio_remote_dma(fd, idev, 0, iova, (void *)8, 8, false));
	_exit(t_done());
}

static void from_a_device_model(void)
{
	char *buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = softiommu_open(0), other = softiommu_open(0), status;
	uint32_t ioas = t_ioas_alloc(fd), idev;
	uint64_t iova = MOCK_APERTURE_START;
	char got[8];
	pid_t dm;

	CHECK(buf != MAP_FAILED);
	t_mock_domain(fd, ioas, NULL, &idev);
	memset(buf, 'v', LEN);
	CHECK_OK(t_map(fd, ioas, buf, LEN, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
		       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
	dm = fork();
	if (dm == 0)
		device_model(fd, idev, buf, iova);
	CHECK(waitpid(dm, &status, 0) == dm && WIFEXITED(status) && !WEXITSTATUS(status));
	/* The device model's write landed in the VMM's memory */
	CHECK(buf[PG] == 'w' && buf[3 * PG - 1] == 'w' && buf[3 * PG] == 'v' && buf[0] == 'v');
	/* Another context does not have the device */
	CHECK_ERR(ENOENT, sio_remote_dma(other, idev, 0, iova, got, 8, false));
	CHECK_ERR(EBADF, sio_remote_dma(-1, idev, 0, iova, got, 8, false));
	CHECK(dt_stats(fd).pa_windows >= 1);
	softiommu_close(other);
	softiommu_close(fd);
	munmap(buf, LEN);
}

/* A child maps its own bytes at the address where ours say 'p'; then it is killed */
static void mapper_killed(void)
{
	char *buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = softiommu_open(0), ready[2], status;
	uint32_t ioas = t_ioas_alloc(fd), idev;
	uint64_t iova = MOCK_APERTURE_START;
	char got[8] = { 0 }, b;
	pid_t child;

	CHECK(buf != MAP_FAILED && !pipe(ready));
	t_mock_domain(fd, ioas, NULL, &idev);
	memset(buf, 'p', LEN);
	child = fork();
	if (child == 0) {
		memset(buf, 'c', LEN);
		if (t_map(fd, ioas, buf, LEN, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
			  IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE))
			_exit(3);
		(void)!write(ready[1], "m", 1);
		pause();
		_exit(0);
	}
	CHECK(read(ready[0], &b, 1) == 1);
	/* The parent's DMA reads the child's bytes */
	CHECK_OK(sio_remote_dma(fd, idev, 0, iova, got, 8, false));
	CHECK(!memcmp(got, "cccccccc", 8));
	kill(child, SIGKILL);
	CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status));
	memset(got, 0, sizeof(got));
	CHECK_ERR(EFAULT, sio_remote_dma(fd, idev, 0, iova, got, 8, false));
	CHECK(got[0] == 0);
	CHECK_ERR(EFAULT, sio_remote_dma(fd, idev, 0, iova, buf, 8, true));
	CHECK(buf[0] == 'p');
	CHECK_OK(t_unmap(fd, ioas, iova, LEN, NULL));
	softiommu_close(fd);
	close(ready[0]);
	close(ready[1]);
	munmap(buf, LEN);
}

int main(void)
{
	struct sio_proto_stats st;

	dt_start();
	from_a_device_model();
	mapper_killed();
	st = dt_stats_fresh();
	CHECK(st.live_objects == 0 && st.pinned_pages == 0 && st.client_mms == 0 &&
	      st.pa_windows == 0);
	dt_stop();
	return t_done();
}
