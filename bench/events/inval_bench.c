// SPDX-License-Identifier: MIT
/*
 * inval_bench: cache invalidation passed down from a guest, through the shim:
 * IOMMU_HWPT_INVALIDATE on a mock nested HWPT (IOTLB entries) and on a mock vIOMMU (device
 * caches by virtual ID), with 1, 16 and 256 entries per call. ns per entry, against a
 * baseline measured in the same run: copying the same entries from user memory with one
 * read(2) of a pipe holding them (the copy_from_user any kernel path pays). A second
 * baseline for the one-entry call: a bare ioctl() system call on an eventfd (ENOTTY), the
 * least a kernel invalidation costs. Each figure is the best of 7 runs, interleaved with
 * its baselines' runs.
 */
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <math.h>

#include "bench_util.h"

static double baseline(size_t entry, int n, int iters)
{
	char *buf = calloc(n, entry);
	double t;
	int p[2];

	if (!buf || pipe(p))
		die("baseline");
	t = now_ns();
	for (int i = 0; i < iters; i++) {
		if (write(p[1], buf, entry * n) != (ssize_t)(entry * n) ||
		    read(p[0], buf, entry * n) != (ssize_t)(entry * n))
			die("pipe");
	}
	t = now_ns() - t;
	close(p[0]);
	close(p[1]);
	free(buf);
	return t / ((double)iters * n);
}

static double bare_ioctl(int efd, int iters)
{
	struct iommu_destroy d = { .size = sizeof(d) };
	double t = now_ns();

	for (int i = 0; i < iters; i++)
		if (syscall(SYS_ioctl, efd, IOMMU_DESTROY, &d) != -1 || errno != ENOTTY)
			die("bare ioctl");
	return (now_ns() - t) / iters;
}

static double inval(int fd, uint32_t id, uint32_t type, void *reqs, size_t entry, int n,
		    int iters)
{
	double t = now_ns();

	for (int i = 0; i < iters; i++) {
		struct iommu_hwpt_invalidate c = {
			.size = sizeof(c), .hwpt_id = id, .data_type = type,
			.data_uptr = (uintptr_t)reqs, .entry_len = entry, .entry_num = n,
		};

		if (ioctl(fd, IOMMU_HWPT_INVALIDATE, &c) || c.entry_num != (uint32_t)n)
			die("HWPT_INVALIDATE");
	}
	return (now_ns() - t) / ((double)iters * n);
}

int main(int argc, char **argv)
{
	struct iommu_hwpt_selftest sel = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	static struct iommu_hwpt_invalidate_selftest hreq[256];
	static struct iommu_viommu_invalidate_selftest vreq[256];
	struct iommu_vdevice_alloc vd = { .size = sizeof(vd), .virt_id = 0x20 };
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .data_type = IOMMU_HWPT_DATA_SELFTEST,
				      .data_len = sizeof(sel), .data_uptr = (uintptr_t)&sel };
	struct bench_env e;
	int fd, efd;

	under_shim(argv);
	fd = open("/dev/iommu", O_RDWR);
	bench_env_setup(fd, &e);
	h.dev_id = e.idev;
	h.pt_id = e.parent;
	if (ioctl(fd, IOMMU_HWPT_ALLOC, &h))
		die("nested HWPT");
	vd.viommu_id = e.viommu;
	vd.dev_id = e.idev;
	if (ioctl(fd, IOMMU_VDEVICE_ALLOC, &vd))
		die("VDEVICE_ALLOC");
	for (int i = 0; i < 256; i++) {
		hreq[i].iotlb_id = i % 4;
		vreq[i] = (struct iommu_viommu_invalidate_selftest){ .vdev_id = 0x20,
								     .cache_id = i % 4 };
	}
	printf("IOMMU_HWPT_INVALIDATE through the LD_PRELOAD shim, ns per entry\n");
	printf("baseline: the same entries copied through a pipe (write + read)\n\n");
	printf("%-26s %8s %10s %10s %8s %12s %8s\n", "target", "entries", "ns/entry", "pipe ns",
	       "ratio", "bare ioctl", "ratio");
	efd = eventfd(0, 0);
	if (efd < 0)
		die("eventfd");
	for (int n = 1; n <= 256; n *= 16) {
		int iters = n == 1 ? 20000 : 100000 / n;

		for (int k = 0; k < 2; k++) {
			uint32_t id = k ? e.viommu : h.out_hwpt_id;
			uint32_t type = k ? IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST :
					    IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
			void *reqs = k ? (void *)vreq : (void *)hreq;
			size_t len = k ? sizeof(vreq[0]) : sizeof(hreq[0]);
			double ns = 1e30, base = 1e30, bare = 1e30;

			for (int r = 0; r < 7; r++) {
				ns = fmin(ns, inval(fd, id, type, reqs, len, n, iters));
				base = fmin(base, baseline(len, n, iters));
				bare = fmin(bare, bare_ioctl(efd, iters));
			}
			printf("%-26s %8d %10.1f %10.1f %8.2f", k ? "vIOMMU (device cache)" :
				"nested HWPT (IOTLB)", n, ns, base, ns / base);
			if (n == 1)
				printf(" %12.1f %8.2f", bare, ns / bare);
			printf("\n");
		}
	}
	close(efd);
	close(fd);
	return 0;
}
