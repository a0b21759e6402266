// SPDX-License-Identifier: MIT
/*
 * IOVA allocation and placement: Linux's policy (lowest fitting hole above the first page,
 * aligned to min(roundup_pow_of_two(length), alignment of the address), capped at 2 MiB),
 * reserved and allowed ranges, fixed IOVAs, the edges of the address space.
 */
#include <sys/mman.h>

#include "testlib.h"

#define PG 4096ULL

static void test_alignment(int fd, char *buf)
{
	uint32_t ioas = t_ioas_alloc(fd);
	uint64_t iova;

	/* A highly aligned address (lazily mapped, never touched): alignment is the rounded-up
	 * length */
	for (uint64_t n = 1; n <= 16; n++) {
		iova = 0;
		CHECK_OK(t_map(fd, ioas, (void *)(1ULL << 32), n * PG, &iova, 0));
		CHECK(iova % (1ULL << (64 - __builtin_clzll(n * PG - 1))) == 0);
		CHECK(iova >= PG);
		CHECK_OK(t_unmap(fd, ioas, iova, n * PG, NULL));
	}
	/* The first allocation is the lowest hole above page 0 */
	iova = 0;
	CHECK_OK(t_map(fd, ioas, buf, PG, &iova, 0));
	CHECK(iova == PG);
	CHECK_OK(t_unmap(fd, ioas, iova, PG, NULL));
	/* An address with 2 KiB alignment keeps its page offset in the IOVA */
	iova = 0;
	CHECK_OK(t_map(fd, ioas, buf + 2048, PG, &iova, 0));
	CHECK(iova % PG == 2048);
	CHECK_OK(t_unmap(fd, ioas, iova, PG, NULL));
	/* Large lengths are capped at 2 MiB alignment */
	iova = 0;
	CHECK_OK(t_map(fd, ioas, (void *)(16ULL << 30), 8ULL << 20, &iova, 0));
	CHECK(iova == 2ULL << 20);
	CHECK_OK(t_unmap(fd, ioas, iova, 8ULL << 20, NULL));
	CHECK_OK(t_destroy(fd, ioas));
}

static void test_reserved_allowed(int fd, char *buf)
{
	uint32_t ioas = t_ioas_alloc(fd);
	struct iommu_test_cmd res = { .size = sizeof(res), .op = IOMMU_TEST_OP_ADD_RESERVED,
				      .id = ioas, .add_reserved = { .start = PG, .length = 100 * PG } };
	struct iommu_iova_range r[2] = {};
	struct iommu_ioas_allow_iovas allow = { .size = sizeof(allow), .ioas_id = ioas,
						.num_iovas = 1, .allowed_iovas = (uintptr_t)r };
	uint64_t iova = 0;

	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &res));
	CHECK_OK(t_map(fd, ioas, buf, PG, &iova, 0));
	CHECK(iova >= 101 * PG);
	CHECK_OK(t_unmap(fd, ioas, iova, PG, NULL));
	/* Fixed IOVA inside a reserved range */
	iova = 2 * PG;
	CHECK_ERR(EINVAL, t_map(fd, ioas, buf, PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
							    IOMMU_IOAS_MAP_READABLE));
	/* Allowed range overlapping a reserved one */
	r[0].start = 0;
	r[0].last = 10 * PG;
	CHECK_ERR(EADDRINUSE, softiommu_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &allow));
	/* Overlapping allowed ranges in one call, and start >= last */
	allow.num_iovas = 2;
	r[0] = (struct iommu_iova_range){ 1ULL << 30, (2ULL << 30) - 1 };
	r[1] = (struct iommu_iova_range){ (1ULL << 30) + PG, (3ULL << 30) - 1 };
	CHECK_ERR(EINVAL, softiommu_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &allow));
	allow.num_iovas = 1;
	r[0] = (struct iommu_iova_range){ 5 * PG, 5 * PG };
	CHECK_ERR(EINVAL, softiommu_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &allow));
	/* Allocation honours the allowed range, and ENOSPC when nothing fits */
	r[0] = (struct iommu_iova_range){ 1ULL << 30, (1ULL << 30) + 4 * PG - 1 };
	CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &allow));
	iova = 0;
	CHECK_OK(t_map(fd, ioas, buf, 4 * PG, &iova, 0));
	CHECK(iova == 1ULL << 30);
	iova = 0;
	CHECK_ERR(ENOSPC, t_map(fd, ioas, buf, PG, &iova, 0));
	/* Reserving over a mapped area */
	res.add_reserved.start = 1ULL << 30;
	res.add_reserved.length = PG;
	CHECK_ERR(EADDRINUSE, softiommu_ioctl(fd, IOMMU_TEST_CMD, &res));
	/* Reserved length overflowing the address space */
	res.add_reserved.start = 6;
	res.add_reserved.length = ~0ULL;
	CHECK_ERR(EOVERFLOW, softiommu_ioctl(fd, IOMMU_TEST_CMD, &res));
	CHECK_OK(t_destroy(fd, ioas));
}

static void test_fixed_and_edges(int fd, char *buf)
{
	uint32_t ioas = t_ioas_alloc(fd);
	uint64_t iova, out;

	/* The very top of the 64-bit space can be mapped at a fixed IOVA */
	iova = ~0ULL - PG + 1;
	CHECK_OK(t_map(fd, ioas, buf, PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
						    IOMMU_IOAS_MAP_READABLE));
	/* ... but not over it */
	iova = ~0ULL - PG + 1;
	CHECK_ERR(EEXIST, t_map(fd, ioas, buf, PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
							    IOMMU_IOAS_MAP_READABLE));
	/* Wrapping past the top */
	iova = ~0ULL - PG + 1;
	CHECK_ERR(EOVERFLOW, t_map(fd, ioas, buf, 2 * PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
								    IOMMU_IOAS_MAP_READABLE));
	/* Unmap all reports what it removed; unmap of nothing is ENOENT */
	CHECK_OK(t_unmap(fd, ioas, 0, ~0ULL, &out));
	CHECK(out == PG);
	CHECK_ERR(ENOENT, t_unmap(fd, ioas, PG, PG, NULL));
	/* Zero length */
	iova = 0;
	CHECK_ERR(EINVAL, t_map(fd, ioas, buf, 0, &iova, 0));
	/* Lengths too large to allocate */
	iova = 0;
	CHECK_ERR(EOVERFLOW, t_map(fd, ioas, buf, 1ULL << 63, &iova, 0));
	/* Partial unmap of an area is not allowed */
	iova = 1ULL << 20;
	CHECK_OK(t_map(fd, ioas, buf, 4 * PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
							IOMMU_IOAS_MAP_READABLE));
	CHECK_ERR(ENOENT, t_unmap(fd, ioas, iova, PG, NULL));
	CHECK_OK(t_unmap(fd, ioas, iova, 4 * PG, &out));
	CHECK(out == 4 * PG);
	CHECK_OK(t_destroy(fd, ioas));
}

/* With a mock domain: the aperture and the 2 KiB IOVA alignment */
static void test_domain_alignment(int fd, char *buf)
{
	uint32_t ioas = t_ioas_alloc(fd), stdev;
	struct iommu_iova_range r[4];
	struct iommu_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = ioas, .num_iovas = 4,
					   .allowed_iovas = (uintptr_t)r };
	uint64_t iova = 0;

	stdev = t_mock_domain(fd, ioas, NULL, NULL);
	CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q));
	CHECK(q.num_iovas == 1 && r[0].start == MOCK_APERTURE_START &&
	      r[0].last == MOCK_APERTURE_LAST && q.out_iova_alignment == MOCK_PAGE_SIZE);
	CHECK_ERR(EINVAL, t_map(fd, ioas, buf, 1000, &iova, 0));
	CHECK_OK(t_map(fd, ioas, buf, MOCK_PAGE_SIZE, &iova, 0));
	CHECK(iova >= MOCK_APERTURE_START && iova <= MOCK_APERTURE_LAST);
	CHECK_OK(t_destroy(fd, stdev));
	CHECK_OK(t_destroy(fd, ioas));
}

int main(void)
{
	char *buf = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = softiommu_open(0);

	test_alignment(fd, buf);
	test_reserved_allowed(fd, buf);
	test_fixed_and_edges(fd, buf);
	test_domain_alignment(fd, buf);
	CHECK_OK(softiommu_close(fd));
	return t_done();
}
