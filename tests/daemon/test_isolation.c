// SPDX-License-Identifier: MIT
/*
 * A client reaches only the contexts it opened or inherited: another context's object IDs
 * are ENOENT (each context has its own table, as each kernel iommufd has); an access a
 * process holds works through any iommufd of its own, as on Linux, and a number that is no
 * descriptor is EBADFD; a process that holds none of them reaches no access of another
 * client's by guessing the daemon's numbers in a frame of its own.
 * softiommu_open_remote() opens a context by socket path (-ENODEV: no daemon there).
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "daemon_test.h"

#define PG 4096UL

/* A fresh process, holding none of our descriptors, forging frames on its own connection */
static void guess_from_another_process(uint64_t iova)
{
	pid_t child = fork();
	int status;

	if (child == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_SEQPACKET, 0), bad = 0;
		char got[4];

		strcpy(sa.sun_path, dt_sock);
		if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(2);
		for (uint32_t id = 0; id < 256; id++) {
			struct iommu_test_cmd rw = {
				.size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW, .id = id,
				.access_rw = { .iova = iova, .length = sizeof(got),
					       .uptr = (uintptr_t)got },
			};
			struct sio_proto_req req = {
				.magic = SIO_PROTO_MAGIC, .version = SIO_PROTO_VERSION,
				.op = SIO_OP_IOCTL, .seq = id + 1, .cmd = IOMMU_TEST_CMD,
				.arg = (uintptr_t)&rw,
			};
			struct sio_proto_rsp rsp;

			if (send(s, &req, sizeof(req), 0) != sizeof(req) ||
			    recv(s, &rsp, sizeof(rsp), 0) != sizeof(rsp))
				_exit(3);
			bad += rsp.ret != -EBADFD;
		}
		_exit(bad ? 4 : 0);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && !WEXITSTATUS(status));
}

int main(void)
{
	struct iommu_test_cmd acc = { .size = sizeof(acc), .op = IOMMU_TEST_OP_CREATE_ACCESS };
	char *buf = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = MOCK_APERTURE_START;
	int a, b, access_fd;
	uint32_t ioas_a, ioas_b;
	char got[4];

	dt_start();
	a = softiommu_open(0);
	/* The library's own way in, whatever SOFTIOMMU_DAEMON says */
	b = softiommu_open_remote(dt_sock, 0);
	CHECK(a >= 0 && b >= 0);
	CHECK_ERR(ENODEV, softiommu_open_remote("/nonexistent/softiommu.sock", 0));
	CHECK_ERR(EINVAL, softiommu_open_remote("", 0));
	ioas_a = t_ioas_alloc(a);
	ioas_a = t_ioas_alloc(a); /* a second one: IDs that B's table does not have */
	ioas_b = t_ioas_alloc(b);
	CHECK(ioas_a != ioas_b);
	CHECK_OK(t_map(a, ioas_a, buf, PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
		       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
	/* B naming A's IOAS */
	iova = MOCK_APERTURE_START;
	CHECK_ERR(ENOENT, t_map(b, ioas_a, buf, PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
			       IOMMU_IOAS_MAP_READABLE));
	CHECK_ERR(ENOENT, t_destroy(b, ioas_a));
	CHECK_ERR(ENOENT, t_unmap(b, ioas_a, MOCK_APERTURE_START, PG, NULL));

	/* A's access, named through B */
	acc.id = ioas_a;
	CHECK_OK(softiommu_ioctl(a, IOMMU_TEST_CMD, &acc));
	access_fd = (int)acc.create_access.out_access_fd;
	{
		struct iommu_test_cmd rw = {
			.size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)access_fd,
			.access_rw = { .iova = MOCK_APERTURE_START, .length = sizeof(got),
				       .uptr = (uintptr_t)got },
		};

		CHECK_OK(softiommu_ioctl(a, IOMMU_TEST_CMD, &rw));
		/* We hold the access: Linux lets any iommufd of ours name it */
		CHECK_OK(softiommu_ioctl(b, IOMMU_TEST_CMD, &rw));
		/* A number that is no descriptor of ours at all */
		rw.id = 1000;
		CHECK_ERR(EBADFD, softiommu_ioctl(a, IOMMU_TEST_CMD, &rw));
		/* Our own file that is no access */
		rw.id = 1;
		CHECK_ERR(EBADFD, softiommu_ioctl(a, IOMMU_TEST_CMD, &rw));
	}
	guess_from_another_process(MOCK_APERTURE_START);
	CHECK_OK(softiommu_close(access_fd));
	softiommu_close(a);
	softiommu_close(b);
	{
		struct sio_proto_stats st = dt_stats_fresh();

		CHECK(st.live_objects == 0 && st.connections == 0);
	}
	dt_stop();
	return t_done();
}
