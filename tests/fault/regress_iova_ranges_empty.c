// SPDX-License-Identifier: MIT
/*
 * Regression: IOMMU_IOAS_IOVA_RANGES on an IOAS with no reserved range. iopt_iova_ranges()
 * copies iopt->reserved with memcpy() even when it is NULL with a zero count, which is
 * undefined behaviour (UBSan: "null pointer passed as argument 2"). Harmless in practice, but
 * it aborts every UBSan run that asks for the ranges of a fresh IOAS (the upstream case
 * iommufd_ioas.no_domain.iova_ranges). Meaningful in the sanitizer build.
 */
#include <stdio.h>

#include "../common/sio_ops.h"

int main(void)
{
	struct iommu_iova_range out[4];
	struct iommu_ioas_iova_ranges cmd = { .size = sizeof(cmd), .num_iovas = 4,
					      .allowed_iovas = (uintptr_t)out };
	int fd = softiommu_open(0), rc;

	if (fd < 0 || t_ioas_alloc(fd, &cmd.ioas_id))
		return 1;
	rc = (int)t_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);
	softiommu_close(fd);
	if (rc || cmd.num_iovas != 1 || out[0].start != 0 || out[0].last != UINT64_MAX) {
		printf("rc %d num_iovas %u\n", rc, cmd.num_iovas);
		return 1;
	}
	printf("ok\n");
	return 0;
}
