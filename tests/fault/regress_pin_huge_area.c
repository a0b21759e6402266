// SPDX-License-Identifier: MIT
/*
 * Regression (found by tests/fuzz): pinning one page of a very large mapping. IOMMU_IOAS_MAP
 * of a user range does not touch the memory while no domain is attached (as Linux), so an area
 * can be far larger than what backs it. Pinning a single page of it through an access must
 * work, as in Linux, whose pinned-page tracking is sparse (an xarray). iopt_pages_pin() instead
 * callocs a per-page users[] array for the whole area on the first pin: 2^34 pages here, a
 * 128 GiB allocation, so the pin fails with ENOMEM (and ASan aborts: "allocator is out of
 * memory"). Fuzzer input: tests/fuzz/pending/.
 */
#include <stdio.h>
#include <sys/mman.h>

#include "../common/sio_ops.h"

int main(void)
{
	char *buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = 0, huge = 1ULL << 46;
	uint32_t ioas, pages_id;
	int fd, afd, rc;

	fd = softiommu_open(0);
	if (fd < 0 || t_ioas_alloc(fd, &ioas) || t_ioas_map(fd, ioas, buf, huge, &iova, 0) ||
	    t_create_access(fd, ioas, &afd, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)) {
		printf("setup failed\n");
		return 1;
	}
	rc = t_access_pages(fd, afd, iova, 4096, buf, 0, &pages_id);
	if (!rc)
		t_access_unpin(fd, afd, pages_id);
	softiommu_close(afd);
	softiommu_close(fd);
	printf("%s: pinning one page of a 2^46-byte area: %s\n", rc ? "FAIL" : "ok",
	       rc ? strerror(-rc) : "pinned");
	return rc ? 1 : 0;
}
