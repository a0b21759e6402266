// SPDX-License-Identifier: MIT
/*
 * The fault-injection sweep reaches the daemon's core: a client thread's fail-nth count
 * (what /proc/self/task/TID/fail-nth sets under the shim) travels with each request and
 * fails the Nth fallible step of the core that runs the call, the daemon's; the reply brings
 * back what is left, so the client reads 0 once it fired. The sweep fails each step of a
 * sequence in turn (IOAS, map, a domain, an access and its read, a device model's DMA,
 * unmap): every call answers 0 or an errno, the daemon serves on, and once the context is
 * closed nothing is left — no object, pin, client mm or address window.
 */
#include <sys/mman.h>

#include "../../src/core/fail.h"
#include "daemon_test.h"

#define PG 4096UL

/* The sequence; Return: the first call's -errno, or 0 */
static long sequence(int fd, char *buf)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd dom = { .size = sizeof(dom), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_test_cmd acc = { .size = sizeof(acc), .op = IOMMU_TEST_OP_CREATE_ACCESS };
	struct iommu_ioas_map map = { .size = sizeof(map), .user_va = (uintptr_t)buf,
				      .length = 4 * PG, .iova = MOCK_APERTURE_START,
				      .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
					       IOMMU_IOAS_MAP_WRITEABLE };
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .iova = MOCK_APERTURE_START,
					  .length = 4 * PG };
	char got[16];
	long rc;

	rc = softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &alloc);
	if (rc)
		return rc;
	dom.id = map.ioas_id = unmap.ioas_id = alloc.out_ioas_id;
	rc = softiommu_ioctl(fd, IOMMU_TEST_CMD, &dom);
	if (rc)
		return rc;
	rc = softiommu_ioctl(fd, IOMMU_IOAS_MAP, &map);
	if (rc)
		return rc;
	acc.id = alloc.out_ioas_id;
	rc = softiommu_ioctl(fd, IOMMU_TEST_CMD, &acc);
	if (rc)
		return rc;
	{
		struct iommu_test_cmd rw = {
			.size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW,
			.id = acc.create_access.out_access_fd,
			.access_rw = { .iova = MOCK_APERTURE_START + PG, .length = sizeof(got),
				       .uptr = (uintptr_t)got },
		};

		rc = softiommu_ioctl(fd, IOMMU_TEST_CMD, &rw);
		softiommu_close((int)acc.create_access.out_access_fd);
		if (rc)
			return rc;
		if (got[0] != 's')
			return -EIO;
	}
	rc = sio_remote_dma(fd, dom.mock_domain.out_idev_id, 0, MOCK_APERTURE_START, got,
			    sizeof(got), false);
	if (rc)
		return rc;
	if (got[0] != 's')
		return -EIO;
	return softiommu_ioctl(fd, IOMMU_IOAS_UNMAP, &unmap);
}

int main(void)
{
	char *buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned int n, failed = 0;

	dt_start();
	memset(buf, 's', 4 * PG);
	for (n = 1; n < 100000; n++) {
		int fd = softiommu_open(0);
		unsigned int left;
		long rc;

		CHECK(fd >= 0);
		sio_fail_nth_set(n);
		rc = sequence(fd, buf);
		left = sio_fail_nth_get();
		sio_fail_nth_set(0);
		/* The first step of the daemon's core fails first: IOAS_ALLOC */
		if (n == 1)
			CHECK_ERR(ENOMEM, rc);
		if (left) { /* the sequence passed every point without the failure: swept */
			CHECK_OK(rc);
			softiommu_close(fd);
			break;
		}
		failed += rc != 0;
		CHECK(rc <= 0 && rc != -EIO);
		softiommu_close(fd);
		{
			struct sio_proto_stats st = dt_stats_fresh();

			CHECK(st.live_objects == 0 && st.pinned_pages == 0 && st.connections == 0);
			CHECK(st.client_mms == 0 && st.pa_windows == 0);
		}
		if (t_fail)
			break; /* the first broken step is the one to look at */
	}
	/* Some steps may swallow a failure (a cache, a retry); most must not */
	CHECK(n > 10 && failed > n / 2);
	printf("swept %u fallible steps of the daemon's core, %u made the sequence fail\n",
	       n - 1, failed);
	dt_stop();
	munmap(buf, 4 * PG);
	return t_done();
}
