// SPDX-License-Identifier: MIT
/*
 * Regression: an access descriptor (IOMMU_TEST_OP_CREATE_ACCESS) closed after the iommufd
 * that made it. In the kernel the access file holds a reference on the iommufd context, so the
 * context lives until the access is gone. In softiommu closing the iommufd frees the context
 * while the access still points at it, and the access's release then removes its object from
 * the freed context (ASan: heap-use-after-free in sio_object_remove from staccess_release).
 * Without ASan it may pass silently; run it in the sanitizer build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../common/sio_ops.h"

int main(void)
{
	char *buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint32_t ioas, pages_id;
	uint64_t iova;
	int fd, afd;

	fd = softiommu_open(0);
	if (fd < 0 || t_ioas_alloc(fd, &ioas) || t_ioas_map(fd, ioas, buf, 8192, &iova, 0) ||
	    t_create_access(fd, ioas, &afd, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) ||
	    t_access_pages(fd, afd, iova, 8192, buf, 0, &pages_id)) {
		printf("setup failed\n");
		return 1;
	}
	if (softiommu_close(fd) || softiommu_close(afd)) {
		printf("close failed\n");
		return 1;
	}
	if (t_pinned()) {
		printf("%lu pages still pinned after both closes\n", t_pinned());
		return 1;
	}
	printf("ok\n");
	return 0;
}
