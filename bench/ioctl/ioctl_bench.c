// SPDX-License-Identifier: MIT
/*
 * ioctl_bench: the round trip of an iommufd ioctl through the LD_PRELOAD shim (the program
 * only calls open/ioctl), against a bare ioctl() system call on an eventfd that fails with
 * ENOTTY, measured in the same run: the cheapest any kernel ioctl can be. A user-space
 * iommufd pays no mode switch, so its whole round trip should cost less than that.
 *
 * Rows: IOMMU_IOAS_IOVA_RANGES (a real command: two user copies in, one struct and the
 * range array out), IOMMU_DESTROY of an ID that does not exist (copy in, object lookup,
 * ENOENT), and a number in the iommufd range with no command (ENOTTY). Each figure is the
 * best of 15 batches of 20,000 calls, the row's batches alternating with the baseline's so
 * that both see the same load (this VM is shared).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include "../events/bench_util.h"

#define BATCHES 15
#define CALLS 20000

struct row {
	const char *name;
	int fd;
	unsigned long cmd;
	void *arg;
	long expect; /* the expected return: 0, or -1 with @err */
	int err;
};

static double batch_ns(const struct row *r, bool raw)
{
	double t = now_ns();

	for (int i = 0; i < CALLS; i++) {
		long rc = raw ? syscall(SYS_ioctl, r->fd, r->cmd, r->arg) :
				ioctl(r->fd, r->cmd, r->arg);

		if (rc != r->expect || (rc && errno != r->err))
			die(r->name);
	}
	return (now_ns() - t) / CALLS;
}

/* Best of BATCHES for @r and for @base, their batches interleaved */
static void measure(const struct row *r, const struct row *base, double *ns, double *base_ns)
{
	*ns = *base_ns = 1e30;
	for (int b = 0; b < BATCHES; b++) {
		double t = batch_ns(base, true);

		if (t < *base_ns)
			*base_ns = t;
		t = batch_ns(r, false);
		if (t < *ns)
			*ns = t;
	}
}

int main(int argc, char **argv)
{
	struct iommu_iova_range ranges[8];
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_iova_ranges rng = { .size = sizeof(rng), .num_iovas = 8,
					      .allowed_iovas = (uintptr_t)ranges };
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = 12345 };
	int efd, fd;
	double base;

	under_shim(argv);
	efd = eventfd(0, 0);
	fd = open("/dev/iommu", O_RDWR);
	if (efd < 0 || fd < 0 || ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		die("setup");
	rng.ioas_id = alloc.out_ioas_id;

	const struct row base_row = { "bare ioctl", efd, IOMMU_DESTROY, &destroy, -1, ENOTTY };
	const struct row rows[] = {
		{ "IOMMU_IOAS_IOVA_RANGES", fd, IOMMU_IOAS_IOVA_RANGES, &rng, 0, 0 },
		{ "IOMMU_DESTROY, bad ID", fd, IOMMU_DESTROY, &destroy, -1, ENOENT },
		{ "no such command (ENOTTY)", fd, _IO(IOMMUFD_TYPE, 0xff), &destroy, -1, ENOTTY },
	};

	printf("iommufd ioctl round trip through the LD_PRELOAD shim, ns per call (best of %d x %d)\n",
	       BATCHES, CALLS);
	printf("baseline: a bare ioctl() system call on an eventfd failing with ENOTTY\n\n");
	printf("%-28s %10s %10s %8s\n", "ioctl", "ns/call", "base ns", "ratio");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		double ns;

		measure(&rows[i], &base_row, &ns, &base);
		printf("%-28s %10.1f %10.1f %8.2f\n", rows[i].name, ns, base, ns / base);
	}
	close(fd);
	close(efd);
	return 0;
}
