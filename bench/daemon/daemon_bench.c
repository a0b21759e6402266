// SPDX-License-Identifier: MIT
/*
 * daemon_bench: daemon mode against in-process mode, in the same run (docs/daemon.md).
 *
 *  - ioctl round trip: IOMMU_IOAS_IOVA_RANGES and IOMMU_DESTROY of an ID that does not exist,
 *    on an in-process context and on one in a `softiommu serve` started by this program; the
 *    batches alternate so both see the same load (this VM is shared). Target: <= 10 us.
 *  - DMA bandwidth, 4 KiB and 1 MiB reads and writes: in-process, an emulated device's
 *    softiommu_dma_read/write on the program's own mapping; daemon, a separate device-model
 *    process (a child sharing the VMM's iommufd) DMAing through the VMM's device into the
 *    VMM's memory (sio_remote_dma). Both through a mock paging domain over the same 4 MiB.
 *  - open and adoption: softiommu_open + close in-process against softiommu_open_remote + close
 *    (a connection, its HELLO, the daemon's context and teardown) and the adoption of a received
 *    iommufd (softiommu_adopt_fd on a plain duplicate of the connection: a connection, its JOIN,
 *    the teardown), the price of the SCM_RIGHTS handover.
 * Each figure is the best of REPS rounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
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
#include "../../src/frontend/daemon/proto.h"
#include "../../src/frontend/daemon/serve.h"

#define REPS 7
#define CALLS 5000
#define BUF (4u << 20)
#define IOVA ((uint64_t)MOCK_APERTURE_START)

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void fail(const char *what, long rc)
{
	fprintf(stderr, "daemon_bench: %s: %s\n", what, strerror((int)-rc));
	exit(1);
}

static char dir[] = "/tmp/softiommu-bench-daemon.XXXXXX";
static char sock[sizeof(dir) + 16];
static pid_t daemon_pid;

static int daemon_start(void)
{
	if (!mkdtemp(dir))
		fail("mkdtemp", -errno);
	snprintf(sock, sizeof(sock), "%s/iommu.sock", dir);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		execl(SIO_CLI_PATH, "softiommu", "serve", "--socket", sock, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 2000; i++) {
		int fd = softiommu_open_remote(sock, O_CLOEXEC);

		if (fd >= 0)
			return fd;
		usleep(5000);
	}
	fail("no daemon", -ENODEV);
	return -1;
}

static uint32_t ioas_alloc(int fd)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	long rc = softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &a);

	if (rc)
		fail("IOAS_ALLOC", rc);
	return a.out_ioas_id;
}

static void map(int fd, uint32_t ioas, void *buf)
{
	struct iommu_ioas_map m = { .size = sizeof(m), .ioas_id = ioas, .user_va = (uintptr_t)buf,
				    .length = BUF, .iova = IOVA,
				    .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
					     IOMMU_IOAS_MAP_WRITEABLE };
	long rc = softiommu_ioctl(fd, IOMMU_IOAS_MAP, &m);

	if (rc)
		fail("IOAS_MAP", rc);
}

/* 2 MiB-aligned memory, so that both modes may use the same leaves */
static char *ram(void)
{
	char *m = mmap(NULL, BUF + (2u << 20), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		fail("mmap", -errno);
	m = (char *)(((uintptr_t)m + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
	memset(m, 1, BUF);
	return m;
}

/* ns per ioctl of one batch */
static double ioctl_batch(int fd, unsigned long cmd, void *arg, long expect)
{
	double t = now_ns();

	for (int i = 0; i < CALLS; i++)
		if (softiommu_ioctl(fd, cmd, arg) != expect)
			fail("ioctl", -EIO);
	return (now_ns() - t) / CALLS;
}

static void ioctl_rows(int lfd, int rfd)
{
	uint32_t lioas = ioas_alloc(lfd), rioas = ioas_alloc(rfd);
	struct iommu_iova_range r[4];
	struct iommu_ioas_iova_ranges lq = { .size = sizeof(lq), .ioas_id = lioas, .num_iovas = 4,
					     .allowed_iovas = (uintptr_t)r };
	struct iommu_ioas_iova_ranges rq = lq;
	struct iommu_destroy d = { .size = sizeof(d), .id = 77777 };
	double lbest[2] = { 1e18, 1e18 }, rbest[2] = { 1e18, 1e18 };

	rq.ioas_id = rioas;
	for (int rep = 0; rep < REPS; rep++) {
		double t;

		lq.num_iovas = rq.num_iovas = 4;
		t = ioctl_batch(lfd, IOMMU_IOAS_IOVA_RANGES, &lq, 0);
		lbest[0] = t < lbest[0] ? t : lbest[0];
		t = ioctl_batch(rfd, IOMMU_IOAS_IOVA_RANGES, &rq, 0);
		rbest[0] = t < rbest[0] ? t : rbest[0];
		t = ioctl_batch(lfd, IOMMU_DESTROY, &d, -ENOENT);
		lbest[1] = t < lbest[1] ? t : lbest[1];
		t = ioctl_batch(rfd, IOMMU_DESTROY, &d, -ENOENT);
		rbest[1] = t < rbest[1] ? t : rbest[1];
	}
	printf("%-34s %12s %12s %10s\n", "ioctl round trip", "in-process", "daemon", "ratio");
	printf("%-34s %9.1f ns %9.2f us %9.1fx%s\n", "IOMMU_IOAS_IOVA_RANGES", lbest[0],
	       rbest[0] / 1e3, rbest[0] / lbest[0], rbest[0] <= 10e3 ? "" : "  (over 10 us)");
	printf("%-34s %9.1f ns %9.2f us %9.1fx%s\n", "IOMMU_DESTROY, no such ID", lbest[1],
	       rbest[1] / 1e3, rbest[1] / lbest[1], rbest[1] <= 10e3 ? "" : "  (over 10 us)");
}

#define OPENS 200

static void open_rows(int rfd)
{
	double best[3] = { 1e18, 1e18, 1e18 };

	for (int rep = 0; rep < REPS; rep++) {
		double t = now_ns();

		for (int i = 0; i < OPENS; i++) {
			int fd = softiommu_open(O_CLOEXEC);

			if (fd < 0)
				fail("softiommu_open", fd);
			softiommu_close(fd);
		}
		t = (now_ns() - t) / OPENS;
		best[0] = t < best[0] ? t : best[0];
		t = now_ns();
		for (int i = 0; i < OPENS; i++) {
			int fd = softiommu_open_remote(sock, O_CLOEXEC);

			if (fd < 0)
				fail("softiommu_open_remote", fd);
			softiommu_close(fd);
		}
		t = (now_ns() - t) / OPENS;
		best[1] = t < best[1] ? t : best[1];
		t = now_ns();
		for (int i = 0; i < OPENS; i++) {
			/* What a receiver of SCM_RIGHTS holds: the connection, unknown to its registry */
			int fd = fcntl(rfd, F_DUPFD_CLOEXEC, 0);
			int rc = fd < 0 ? -errno : softiommu_adopt_fd(fd);

			if (rc != fd)
				fail("softiommu_adopt_fd", rc < 0 ? rc : -EBADF);
			softiommu_close(fd);
		}
		t = (now_ns() - t) / OPENS;
		best[2] = t < best[2] ? t : best[2];
	}
	printf("\n%-34s %12s %12s %10s\n", "open + close", "in-process", "daemon", "ratio");
	printf("%-34s %9.2f us %9.2f us %9.1fx\n", "open (daemon: connect, HELLO)", best[0] / 1e3,
	       best[1] / 1e3, best[1] / best[0]);
	printf("%-34s %9.2f us %9.2f us %9.1fx\n", "adopt a received iommufd (JOIN)",
	       best[0] / 1e3, best[2] / 1e3, best[2] / best[0]);
}

/* The DMA rows: 4 KiB and 1 MiB, read then write */
static const size_t dma_len[2] = { 4096, 1u << 20 };

/* Bytes moved per ns over one round of each row: in-process */
static void local_round(struct softiommu_dev *dev, char *local, double *gbps)
{
	for (int row = 0; row < 4; row++) {
		size_t len = dma_len[row / 2];
		int iters = (int)((64u << 20) / len);
		bool write = row % 2;
		double t = now_ns();

		for (int i = 0; i < iters; i++) {
			uint64_t iova = IOVA + (i * len) % BUF;
			int rc = write ? softiommu_dma_write(dev, 0, iova, local, len) :
					 softiommu_dma_read(dev, 0, iova, local, len);

			if (rc)
				fail("in-process DMA", rc);
		}
		gbps[row] = (double)iters * len / (now_ns() - t);
	}
}

/* The same from the device-model process, through the VMM's device in the daemon */
static void remote_round(int fd, uint32_t idev, char *local, double *gbps)
{
	for (int row = 0; row < 4; row++) {
		size_t len = dma_len[row / 2];
		int iters = (int)((64u << 20) / len);
		bool write = row % 2;
		double t = now_ns();

		for (int i = 0; i < iters; i++) {
			int rc = sio_remote_dma(fd, idev, 0, IOVA + (i * len) % BUF, local, len, write);

			if (rc)
				fail("device-model DMA", rc);
		}
		gbps[row] = (double)iters * len / (now_ns() - t);
	}
}

static void dma_rows(int lfd, int rfd)
{
	struct iommu_test_cmd dom = { .size = sizeof(dom), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	double lbest[4] = { 0 }, rbest[4] = { 0 };
	char *local = malloc(1u << 20);
	struct softiommu_dev *dev;
	int go[2], back[2];
	unsigned int pt;
	pid_t dm;
	long rc;

	/* In-process: an emulated device on this program's own mapping */
	pt = ioas_alloc(lfd);
	map(lfd, pt, ram());
	rc = softiommu_dev_create(lfd, "mock", 0, &dev, NULL);
	if (!rc)
		rc = softiommu_dev_attach(dev, 0, &pt);
	if (rc)
		fail("softiommu_dev_create/attach", rc);
	/* Daemon: the VMM (this process) maps and attaches, a device model DMAs */
	dom.id = ioas_alloc(rfd);
	map(rfd, dom.id, ram());
	rc = softiommu_ioctl(rfd, IOMMU_TEST_CMD, &dom);
	if (rc)
		fail("MOCK_DOMAIN", rc);
	if (!local || pipe(go) || pipe(back))
		fail("setup", -ENOMEM);
	memset(local, 2, 1u << 20);
	dm = fork();
	if (dm == 0) {
		double g[4];
		char c;

		close(go[1]); /* so that the parent's close ends the loop */
		while (read(go[0], &c, 1) == 1) {
			remote_round(rfd, dom.mock_domain.out_idev_id, local, g);
			if (write(back[1], g, sizeof(g)) != sizeof(g))
				_exit(1);
		}
		_exit(0);
	}
	for (int rep = 0; rep < REPS; rep++) {
		double g[4];

		local_round(dev, local, g);
		for (int i = 0; i < 4; i++)
			lbest[i] = g[i] > lbest[i] ? g[i] : lbest[i];
		if (write(go[1], "g", 1) != 1 || read(back[0], g, sizeof(g)) != sizeof(g))
			fail("device model", -EIO);
		for (int i = 0; i < 4; i++)
			rbest[i] = g[i] > rbest[i] ? g[i] : rbest[i];
	}
	close(go[1]);
	close(go[0]);
	waitpid(dm, NULL, 0);
	printf("\n%-34s %12s %12s %10s\n", "DMA bandwidth (GB/s)", "in-process", "daemon",
	       "ratio");
	for (int row = 0; row < 4; row++)
		printf("%-34s %12.2f %12.2f %9.3fx\n",
		       row == 0 ? "4 KiB reads" : row == 1 ? "4 KiB writes" :
		       row == 2 ? "1 MiB reads" : "1 MiB writes",
		       lbest[row], rbest[row], rbest[row] / lbest[row]);
	softiommu_dev_destroy(dev);
}

int main(void)
{
	int rfd, lfd;

	unsetenv("SOFTIOMMU_DAEMON");
	rfd = daemon_start();
	lfd = softiommu_open(O_CLOEXEC);
	if (lfd < 0)
		fail("softiommu_open", lfd);
	printf("daemon_bench: best of %d rounds; daemon = `softiommu serve`, device model = "
	       "another process\n\n", REPS);
	ioctl_rows(lfd, rfd);
	open_rows(rfd);
	fflush(stdout); /* before the device model's fork */
	dma_rows(lfd, rfd);
	softiommu_close(rfd);
	softiommu_close(lfd);
	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, NULL, 0);
	unlink(sock);
	rmdir(dir);
	return 0;
}
