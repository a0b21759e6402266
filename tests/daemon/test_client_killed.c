// SPDX-License-Identifier: MIT
/*
 * A client that dies has its contexts torn down and the daemon survives: killed while it
 * holds pins, killed in the middle of its ioctls (over and over, at random moments), and
 * killed while it shares the connection with its parent (the parent's calls go on: the
 * robust lock is recovered and the dead child's reply is skipped), and killed in long calls (a
 * 64 MiB map into a domain, 16 MiB DMAs into its own memory). Every pin is released and
 * every object freed; no client address space stays referenced.
 */
#include <sys/mman.h>
#include <time.h>

#include "daemon_test.h"

#define PG 4096UL

static void map_loop(int fd, uint32_t ioas, char *buf)
{
	for (;;) {
		uint64_t iova = 0;

		if (t_map(fd, ioas, buf, 16 * PG, &iova, 0))
			_exit(3);
		if (t_unmap(fd, ioas, iova, 16 * PG, NULL))
			_exit(4);
	}
}

/* A client of its own, killed with its pages pinned */
static void killed_holding_pins(void)
{
	int ready[2], status;
	pid_t child;
	char b;

	if (pipe(ready))
		exit(2);
	child = fork();
	if (child == 0) {
		char *buf = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int fd = softiommu_open(0);
		uint32_t ioas = t_ioas_alloc(fd);
		uint64_t iova = 0;

		t_mock_domain(fd, ioas, NULL, NULL);
		if (t_map(fd, ioas, buf, 16 * PG, &iova, 0))
			_exit(3);
		(void)!write(ready[1], "r", 1);
		pause();
		_exit(0);
	}
	CHECK(read(ready[0], &b, 1) == 1);
	{
		struct sio_proto_stats st = dt_stats_fresh();

		CHECK(st.pinned_pages == 16 && st.connections == 1);
	}
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	{
		struct sio_proto_stats st = dt_stats_fresh();

		CHECK(st.live_objects == 0 && st.pinned_pages == 0 && st.connections == 0);
		CHECK(st.client_mms == 0);
	}
	close(ready[0]);
	close(ready[1]);
}

/* Clients killed at random points of a map/unmap loop */
static void killed_mid_ioctl(void)
{
	struct timespec ts = { 0 };

	srand(1);
	for (int i = 0; i < 20; i++) {
		pid_t child = fork();
		int status;

		if (child == 0) {
			char *buf = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			int fd = softiommu_open(0);
			uint32_t ioas = t_ioas_alloc(fd);

			t_mock_domain(fd, ioas, NULL, NULL);
			map_loop(fd, ioas, buf);
		}
		ts.tv_nsec = 1000000 + (rand() % 4000) * 1000L;
		nanosleep(&ts, NULL);
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		CHECK(WIFSIGNALED(status));
	}
	{
		struct sio_proto_stats st = dt_stats_fresh();

		CHECK(st.live_objects == 0 && st.pinned_pages == 0 && st.connections == 0);
		CHECK(st.client_mms == 0);
	}
}

/*
 * Clients killed in the middle of long calls: a 64 MiB IOAS_MAP into a domain (65536 page
 * entries), or 16 MiB DMAs through their device into their own pages (the daemon still
 * copying into the process as it dies)
 */
#define BIG (64UL << 20)
static void killed_in_long_calls(void)
{
	struct timespec ts = { 0 };

	for (int i = 0; i < 8; i++) {
		pid_t child = fork();
		int status;

		if (child == 0) {
			char *buf = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			static char dst[16UL << 20];
			int fd = softiommu_open(0);
			uint32_t ioas = t_ioas_alloc(fd), idev;

			t_mock_domain(fd, ioas, NULL, &idev);
			for (;;) {
				uint64_t iova = 0;

				if (t_map(fd, ioas, buf, BIG, &iova, 0))
					_exit(3);
				if (i % 2 && sio_remote_dma(fd, idev, 0, iova, dst, sizeof(dst),
							    false))
					_exit(5);
				if (t_unmap(fd, ioas, iova, BIG, NULL))
					_exit(4);
			}
		}
		ts.tv_nsec = 5000000 + (rand() % 40000) * 1000L;
		nanosleep(&ts, NULL);
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		CHECK(WIFSIGNALED(status));
	}
	{
		struct sio_proto_stats st = dt_stats_fresh();

		CHECK(st.live_objects == 0 && st.pinned_pages == 0 && st.connections == 0);
		CHECK(st.client_mms == 0 && st.pa_windows == 0);
	}
}

/* Parent and child on one connection; the child dies mid-call, the parent carries on */
static void killed_sharing_connection(void)
{
	char *buf = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);
	struct timespec ts = { 0 };

	t_mock_domain(fd, ioas, NULL, NULL);
	for (int i = 0; i < 10; i++) {
		pid_t child = fork();
		uint64_t iova = 0;
		int status;

		if (child == 0)
			map_loop(fd, ioas, buf);
		ts.tv_nsec = 1000000 + (rand() % 3000) * 1000L;
		nanosleep(&ts, NULL);
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		/* The connection works for us, with our own replies */
		CHECK_OK(t_map(fd, ioas, buf, PG, &iova, 0));
		CHECK_OK(t_unmap(fd, ioas, iova, PG, NULL));
	}
	/* What a killed child left mapped is the context's: gone with it */
	softiommu_close(fd);
	{
		struct sio_proto_stats st = dt_stats_fresh();

		CHECK(st.live_objects == 0 && st.pinned_pages == 0 && st.connections == 0);
		CHECK(st.client_mms == 0);
	}
	munmap(buf, 16 * PG);
}

int main(void)
{
	dt_start();
	killed_holding_pins();
	killed_mid_ioctl();
	killed_in_long_calls();
	killed_sharing_connection();
	dt_stop();
	return t_done();
}
