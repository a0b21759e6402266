/* SPDX-License-Identifier: MIT */
/* What the real-program tests share: an iommufd whose pages are pinned by a mock domain */
#ifndef SIO_PROGS_H
#define SIO_PROGS_H

#include "testlib.h"

/* An iommufd with a mock domain and @pages pinned pages of @buf */
static inline int open_pinned(void *buf, unsigned int pages)
{
	int fd = softiommu_open(0);
	uint32_t ioas;
	uint64_t iova = 0;

	CHECK(fd >= 0);
	ioas = t_ioas_alloc(fd);
	t_mock_domain(fd, ioas, NULL, NULL);
	CHECK_OK(t_map(fd, ioas, buf, pages * 4096ull, &iova, IOMMU_IOAS_MAP_WRITEABLE |
				 IOMMU_IOAS_MAP_READABLE));
	return fd;
}

#endif
