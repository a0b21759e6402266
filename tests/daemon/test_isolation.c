// SPDX-License-Identifier: MIT
/*
 * A client reaches only the contexts it opened or inherited: another context's object IDs
 * are ENOENT (each context has its own table, as each kernel iommufd has), another
 * context's access descriptor is EBADF in the selftest's access operations, and
 * descriptors the daemon passed to one client are not reachable by number from another.
 * softiommu_open_remote() opens a context by socket path (-ENODEV: no daemon there).
 */
#include <sys/mman.h>

#include "daemon_test.h"

#define PG 4096UL

int main(void)
{
	struct iommu_test_cmd acc = { .size = sizeof(acc), .op = IOMMU_TEST_OP_CREATE_ACCESS };
	char *buf = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = MOCK_APERTURE_START;
	int a, b, access_fd;
	uint32_t ioas_a, ioas_b;
	char got[4];

	dt_start();
	a = softiommu_open(0);
	/* The library's own way in, whatever SOFTIOMMU_DAEMON says */
	b = softiommu_open_remote(dt_sock, 0);
	CHECK(a >= 0 && b >= 0);
	CHECK_ERR(ENODEV, softiommu_open_remote("/nonexistent/softiommu.sock", 0));
	CHECK_ERR(EINVAL, softiommu_open_remote("", 0));
	ioas_a = t_ioas_alloc(a);
	ioas_a = t_ioas_alloc(a); /* a second one: IDs that B's table does not have */
	ioas_b = t_ioas_alloc(b);
	CHECK(ioas_a != ioas_b);
	CHECK_OK(t_map(a, ioas_a, buf, PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
		       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
	/* B naming A's IOAS */
	iova = MOCK_APERTURE_START;
	CHECK_ERR(ENOENT, t_map(b, ioas_a, buf, PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
			       IOMMU_IOAS_MAP_READABLE));
	CHECK_ERR(ENOENT, t_destroy(b, ioas_a));
	CHECK_ERR(ENOENT, t_unmap(b, ioas_a, MOCK_APERTURE_START, PG, NULL));

	/* A's access, named through B */
	acc.id = ioas_a;
	CHECK_OK(softiommu_ioctl(a, IOMMU_TEST_CMD, &acc));
	access_fd = (int)acc.create_access.out_access_fd;
	{
		struct iommu_test_cmd rw = {
			.size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)access_fd,
			.access_rw = { .iova = MOCK_APERTURE_START, .length = sizeof(got),
				       .uptr = (uintptr_t)got },
		};

		CHECK_OK(softiommu_ioctl(a, IOMMU_TEST_CMD, &rw));
		CHECK_ERR(EBADF, softiommu_ioctl(b, IOMMU_TEST_CMD, &rw));
		/* A number that is no descriptor of ours at all */
		rw.id = 1000;
		CHECK_ERR(EBADF, softiommu_ioctl(a, IOMMU_TEST_CMD, &rw));
	}
	CHECK_OK(softiommu_close(access_fd));
	softiommu_close(a);
	softiommu_close(b);
	{
		struct sio_proto_stats st = dt_stats_fresh();

		CHECK(st.live_objects == 0 && st.connections == 0);
	}
	dt_stop();
	return t_done();
}
