// SPDX-License-Identifier: MIT
/*
 * pin_bench: what pinning costs when IOAS_MAP maps user memory into an IOAS with a domain.
 *
 *  - IOAS_MAP of 1 GiB of memory already faulted in, one mock domain, against the same-run
 *    baseline of MADV_POPULATE_WRITE of that 1 GiB (the page walk the kernel's pin does);
 *    in the default mode (the VMAs are checked, nothing is faulted in) and with
 *    SOFTIOMMU_PIN=eager (the kernel's residency; the program re-executes itself for it);
 *  - IOAS_MAP of 64 GiB of untouched MAP_NORESERVE memory (a VMM's guest RAM), one domain:
 *    the time, and the resident set before and after (/proc/self/statm). Not in the eager
 *    mode, which would have to allocate the 64 GiB.
 * Best of N; timing only, never a pass/fail test.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <softiommu/softiommu.h>
#include "iommufd_test.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define GIB (1ULL << 30)

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "pin_bench: %s: %s\n", what, strerror(err));
	exit(1);
}

static long rss_kib(void)
{
	long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f || fscanf(f, "%ld %ld", &size, &resident) != 2)
		die("/proc/self/statm", errno);
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* An IOAS with one mock paging domain whose aperture spans 256 GiB */
static uint32_t ioas_with_domain(int fd)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct iommu_ioas_alloc other = { .size = sizeof(other) };
	struct iommu_test_cmd dom = { .size = sizeof(dom), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_hwpt_selftest data = { .pagetable_type = MOCK_IOMMUPT_HUGE };
	struct iommu_hwpt_alloc h = {
		.size = sizeof(h), .data_type = IOMMU_HWPT_DATA_SELFTEST,
		.data_len = sizeof(data), .data_uptr = (uintptr_t)&data,
	};
	int rc;

	if ((rc = softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &a)) ||
	    (rc = softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &other)))
		die("IOAS_ALLOC", -rc);
	/* The device sits elsewhere; its HWPT, not attached, is the IOAS's one domain */
	dom.id = other.out_ioas_id;
	if ((rc = softiommu_ioctl(fd, IOMMU_TEST_CMD, &dom)))
		die("MOCK_DOMAIN", -rc);
	h.dev_id = dom.mock_domain.out_idev_id;
	h.pt_id = a.out_ioas_id;
	if ((rc = softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h)))
		die("HWPT_ALLOC", -rc);
	return a.out_ioas_id;
}

/* ns of one IOAS_MAP of [buf, +len) (best of @reps); unmapped after each, untimed */
static double map_ns(int fd, uint32_t ioas, void *buf, uint64_t len, int reps)
{
	double best = 1e30;

	for (int r = 0; r < reps; r++) {
		struct iommu_ioas_map m = {
			.size = sizeof(m), .ioas_id = ioas, .user_va = (uintptr_t)buf,
			.length = len, .iova = GIB,
			.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
				 IOMMU_IOAS_MAP_FIXED_IOVA,
		};
		struct iommu_ioas_unmap u = {
			.size = sizeof(u), .ioas_id = ioas, .iova = GIB, .length = len,
		};
		double t = now_ns();
		int rc = softiommu_ioctl(fd, IOMMU_IOAS_MAP, &m);

		t = now_ns() - t;
		if (rc)
			die("IOAS_MAP", -rc);
		if ((rc = softiommu_ioctl(fd, IOMMU_IOAS_UNMAP, &u)))
			die("IOAS_UNMAP", -rc);
		if (t < best)
			best = t;
	}
	return best;
}

static double populate_ns(void *buf, uint64_t len, int reps)
{
	double best = 1e30;

	for (int r = 0; r < reps; r++) {
		double t = now_ns();

		if (madvise(buf, len, MADV_POPULATE_WRITE))
			die("MADV_POPULATE_WRITE", errno);
		t = now_ns() - t;
		if (t < best)
			best = t;
	}
	return best;
}

static void row_present(const char *mode, int reps)
{
	int fd = softiommu_open(0);
	uint32_t ioas = ioas_with_domain(fd);
	void *buf = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double base, ns;

	if (buf == MAP_FAILED)
		die("mmap 1 GiB", errno);
	memset(buf, 1, GIB);
	base = populate_ns(buf, GIB, reps);
	ns = map_ns(fd, ioas, buf, GIB, reps);
	printf("%-44s %-8s %12.4f %14.3f %8.4f\n", "IOAS_MAP 1 GiB, faulted in, 1 domain", mode,
	       ns / 1e6, base / 1e6, ns / base);
	munmap(buf, GIB);
	softiommu_close(fd);
}

static void row_lazy(int reps)
{
	const uint64_t len = 64 * GIB;
	int fd = softiommu_open(0);
	uint32_t ioas = ioas_with_domain(fd);
	void *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	long before, after;
	double ns;

	if (buf == MAP_FAILED)
		die("mmap 64 GiB MAP_NORESERVE", errno);
	before = rss_kib();
	ns = map_ns(fd, ioas, buf, len, reps);
	after = rss_kib();
	printf("%-44s %-8s %12.4f %14s %8s   RSS %ld -> %ld KiB\n",
	       "IOAS_MAP 64 GiB, untouched NORESERVE, 1 dom", "check", ns / 1e6, "-", "-", before,
	       after);
	munmap(buf, len);
	softiommu_close(fd);
}

int main(int argc, char **argv)
{
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	const char *mode = getenv("SOFTIOMMU_PIN");

	if (argc > 1 && !strcmp(argv[1], "--eager")) {
		row_present("eager", reps);
		return 0;
	}
	if (mode && *mode) {
		fprintf(stderr, "pin_bench: run without SOFTIOMMU_PIN; it sets it itself\n");
		return 1;
	}
	printf("IOAS_MAP with one mock domain, through the C library (best of %d)\n", reps);
	printf("baseline: MADV_POPULATE_WRITE of the same memory, same run\n\n");
	printf("%-44s %-8s %12s %14s %8s\n", "what", "pin mode", "map ms", "baseline ms", "ratio");
	row_present("check", reps);
	fflush(stdout);
	if (fork() == 0) {
		char reps_s[16];

		snprintf(reps_s, sizeof(reps_s), "%d", reps);
		setenv("SOFTIOMMU_PIN", "eager", 1);
		execl("/proc/self/exe", argv[0], "--eager", reps_s, (char *)NULL);
		die("re-exec for the eager mode", errno);
	}
	while (wait(NULL) > 0)
		;
	row_lazy(reps);
	return 0;
}
