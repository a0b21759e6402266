// SPDX-License-Identifier: MIT
/*
 * 64 client processes at once, each with its own context and a mock domain, mapping and
 * unmapping its own memory and DMAing through its device: every call succeeds, each
 * client's pins are its own, and so are its DMA's bytes (all 64 buffers are at the same
 * address, each with the client's own contents), and nothing is left once they have exited.
 */
#include <sys/mman.h>

#include "daemon_test.h"

#define PG 4096UL
#define CLIENTS 64
#define ROUNDS 50

static int client(int n)
{
	char got[8 * PG];

	char *buf = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = softiommu_open(0);
	uint32_t ioas, idev;

	if (fd < 0)
		return 10;
	ioas = t_ioas_alloc(fd);
	t_mock_domain(fd, ioas, NULL, &idev);
	memset(buf, 'A' + n % 26, 8 * PG);
	buf[0] = (char)n;
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t iova = 0, len = 0;

		if (t_map(fd, ioas, buf, 8 * PG, &iova, 0))
			return 11;
		if (sio_remote_dma(fd, idev, 0, iova, got, 8 * PG, false) || got[0] != (char)n ||
		    got[8 * PG - 1] != 'A' + n % 26)
			return 13;
		got[0] = (char)i;
		if (sio_remote_dma(fd, idev, 0, iova + PG, got, 1, true) || buf[PG] != (char)i)
			return 14;
		if (t_unmap(fd, ioas, iova, 8 * PG, &len) || len != 8 * PG)
			return 12;
	}
	softiommu_close(fd);
	return 0;
}

int main(void)
{
	pid_t pids[CLIENTS];
	int ok = 0;

	dt_start();
	for (int i = 0; i < CLIENTS; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(client(i));
	}
	for (int i = 0; i < CLIENTS; i++) {
		int status;

		if (waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
		    !WEXITSTATUS(status))
			ok++;
	}
	CHECK(ok == CLIENTS);
	{
		struct sio_proto_stats st = dt_stats_fresh();

		CHECK(st.live_objects == 0 && st.pinned_pages == 0 && st.connections == 0);
		CHECK(st.client_mms == 0 && st.pa_windows == 0);
		CHECK(st.requests >= CLIENTS * (4 * ROUNDS + 2));
	}
	dt_stop();
	return t_done();
}
