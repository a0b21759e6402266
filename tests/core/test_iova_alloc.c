// SPDX-License-Identifier: MIT
/*
 * IOVA allocation and placement: Linux's policy (lowest fitting hole above the first page,
 * aligned to min(roundup_pow_of_two(length), alignment of the address), capped at 2 MiB),
 * reserved and allowed ranges, fixed IOVAs, the edges of the address space.
 */
#include <stdbool.h>
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

/*
 * The policy, checked on random histories against its definition rather than fixed answers:
 * every allocated IOVA is aligned to min(roundup_pow_of_two(length), the address's
 * alignment) (at most 2 MiB), inside an allowed range (or above the first page), clear of
 * areas and reserved ranges, and no aligned start below it — in an earlier allowed range or
 * lower in its own — was free. ENOSPC only when no aligned start fits anywhere.
 */
#define UNIV_PAGES 16384 /* 64 MiB: every IOVA these histories can reach */

static bool univ_used[UNIV_PAGES];

static bool univ_free(uint64_t start, uint64_t len)
{
	for (uint64_t p = start / PG; p != (start + len) / PG; p++)
		if (p >= UNIV_PAGES || univ_used[p])
			return false;
	return true;
}

static void univ_mark(uint64_t start, uint64_t len, bool used)
{
	for (uint64_t p = start / PG; p != (start + len) / PG && p < UNIV_PAGES; p++)
		univ_used[p] = used;
}

static uint64_t rnd(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* Is there an aligned start in [lo, below) whose [start, start + len) fits in [lo, last]? */
static bool fits_below(uint64_t lo, uint64_t last, uint64_t below, uint64_t len, uint64_t align)
{
	for (uint64_t st = (lo + align - 1) & ~(align - 1); st < below && st + len - 1 <= last;
	     st += align)
		if (univ_free(st, len))
			return true;
	return false;
}

static void test_policy_random(void)
{
	/* A 2 MiB-aligned buffer, so that the history (and its fingerprint) is reproducible */
	char *raw = mmap(NULL, 4ULL << 20, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *buf = (char *)(((uintptr_t)raw + (2ULL << 20) - 1) & ~((2ULL << 20) - 1));
	uint64_t seed = 0x9e3779b97f4a7c15ULL, fingerprint = 0;
	int bad = 0, maps = 0, nospc = 0;

	for (int round = 0; round < 40; round++) {
		int fd = softiommu_open(0);
		uint32_t ioas = t_ioas_alloc(fd);
		struct iommu_iova_range allowed[3];
		unsigned int nallowed = 0;
		struct { uint64_t iova, len; } live[64];
		unsigned int nlive = 0;

		memset(univ_used, 0, sizeof(univ_used));
		univ_mark(0, PG, true); /* the first page is never allocated */
		if (round % 2) {
			/* Up to three sorted, disjoint allowed ranges in the first 8 MiB */
			uint64_t at = (rnd(&seed) % 64) * PG;

			nallowed = 1 + rnd(&seed) % 3;
			for (unsigned int i = 0; i < nallowed; i++) {
				allowed[i].start = at;
				allowed[i].last = at + (8 + rnd(&seed) % 256) * PG - 1;
				at = allowed[i].last + 1 + (1 + rnd(&seed) % 64) * PG;
			}
			struct iommu_ioas_allow_iovas a = { .size = sizeof(a), .ioas_id = ioas,
							    .num_iovas = nallowed,
							    .allowed_iovas = (uintptr_t)allowed };
			CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &a));
		} else {
			/* Reserved ranges in the first 8 MiB */
			for (int i = rnd(&seed) % 4; i > 0; i--) {
				uint64_t st = (rnd(&seed) % 2048) * PG, len = (1 + rnd(&seed) % 128) * PG;
				struct iommu_test_cmd res = { .size = sizeof(res),
							      .op = IOMMU_TEST_OP_ADD_RESERVED,
							      .id = ioas,
							      .add_reserved = { .start = st, .length = len } };

				CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &res));
				univ_mark(st, len, true);
			}
		}
		for (int op = 0; op < 150; op++) {
			uint64_t len = (1 + rnd(&seed) % 16) * PG, iova = 0, align;
			char *va = buf + (rnd(&seed) % 48) * PG;
			long rc;

			if (nlive && (nlive == 64 || rnd(&seed) % 3 == 0)) {
				unsigned int i = rnd(&seed) % nlive;

				CHECK_OK(t_unmap(fd, ioas, live[i].iova, live[i].len, NULL));
				univ_mark(live[i].iova, live[i].len, false);
				live[i] = live[--nlive];
				continue;
			}
			align = 1;
			while (align < len)
				align <<= 1;
			if (align > 2ULL << 20)
				align = 2ULL << 20;
			while ((uintptr_t)va % align)
				align >>= 1;
			rc = t_map(fd, ioas, va, len, &iova, 0);
			if (rc == -ENOSPC) {
				nospc++;
				for (unsigned int i = 0; i < nallowed; i++)
					bad += fits_below(allowed[i].start, allowed[i].last, UINT64_MAX,
							  len, align);
				if (!nallowed)
					bad += fits_below(PG, UNIV_PAGES * PG - 1, UINT64_MAX, len,
							  align);
				continue;
			}
			if (rc) {
				bad++;
				continue;
			}
			maps++;
			fingerprint = fingerprint * 31 + iova;
			bad += (iova % align) != 0 || !univ_free(iova, len);
			if (nallowed) {
				unsigned int i = 0;

				while (i < nallowed && allowed[i].last < iova)
					bad += fits_below(allowed[i].start, allowed[i].last, UINT64_MAX,
							  len, align), i++;
				bad += i == nallowed || iova < allowed[i].start ||
				       iova + len - 1 > allowed[i].last ||
				       fits_below(allowed[i].start, allowed[i].last, iova, len, align);
			} else {
				bad += fits_below(PG, UNIV_PAGES * PG - 1, iova, len, align);
			}
			univ_mark(iova, len, true);
			live[nlive].iova = iova;
			live[nlive++].len = len;
		}
		CHECK_OK(softiommu_close(fd));
	}
	CHECK(bad == 0);
	/* The histories did reach both outcomes */
	CHECK(maps > 1000 && nospc > 0);
	/* Identical on Linux and softiommu when both choose as the policy says */
	printf("policy: %d maps, %d ENOSPC, IOVA fingerprint %016llx\n", maps, nospc,
	       (unsigned long long)fingerprint);
	munmap(raw, 4ULL << 20);
}

int main(void)
{
	char *buf = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = softiommu_open(0);

	test_alignment(fd, buf);
	test_reserved_allowed(fd, buf);
	test_fixed_and_edges(fd, buf);
	test_domain_alignment(fd, buf);
	test_policy_random();
	CHECK_OK(softiommu_close(fd));
	return t_done();
}
