// SPDX-License-Identifier: MIT
/*
 * Regression: IOMMU_IOAS_IOVA_RANGES and VFIO_IOMMU_GET_INFO when an allocation fails. The
 * ranges helper turned ENOMEM into "no ranges" and success, so the ioctl reported
 * num_iovas = 0 (and VFIO an empty capability) as if the IOAS had no usable IOVA at all.
 * Every fail point of the call is failed in turn: each must fail (ENOMEM, or ENOENT for the
 * object lookup), and the
 * unfailed call must report the one full range.
 */
#include <stdio.h>

#include "../common/sio_ops.h"

void sio_fail_nth_set(unsigned int nth);

int main(void)
{
	struct iommu_iova_range out[4];
	struct iommu_ioas_iova_ranges cmd = { .size = sizeof(cmd) };
	int fd = softiommu_open(0), bad = 0, failed = 0;
	long rc;

	if (fd < 0 || t_ioas_alloc(fd, &cmd.ioas_id))
		return 1;
	for (unsigned int nth = 1;; nth++) {
		cmd.num_iovas = 4;
		cmd.allowed_iovas = (uintptr_t)out;
		sio_fail_nth_set(nth);
		rc = t_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);
		sio_fail_nth_set(0);
		if (!rc)
			break;
		failed++;
		/* A failed lookup point says ENOENT, a failed allocation ENOMEM */
		if (rc != -ENOMEM && rc != -ENOENT) {
			printf("fail point %u: rc %ld, expected -ENOMEM\n", nth, rc);
			bad++;
		}
	}
	if (cmd.num_iovas != 1 || out[0].start != 0 || out[0].last != UINT64_MAX) {
		printf("num_iovas %u\n", cmd.num_iovas);
		bad++;
	}
	softiommu_close(fd);
	if (!failed) {
		printf("no fail point reached\n");
		bad++;
	}
	printf("%d fail points, %d passed, %d failed\n", failed, failed + 1 - bad, bad);
	return bad ? 1 : 0;
}
