// SPDX-License-Identifier: MIT
/*
 * The handover by SCM_RIGHTS through the LD_PRELOAD shim: an exec'ed program with no
 * softiommu in it (scm_shim_device_model) receives this VMM's iommufd, uses it with libc's
 * ioctl() (the shim adopts it), maps its own memory into our IOAS; our device's DMA there
 * reads that program's bytes. It unmaps and exits; ours is whole and nothing else is left.
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include "daemon_test.h"

#define PG 4096UL
#define LEN (8 * PG)
#define IOVA MOCK_APERTURE_START
#define IOVA_DM (MOCK_APERTURE_START + (1UL << 24))

struct order {
	uint32_t ioas;
	uint32_t len;
	uint64_t iova;
};

static void send_order(int sock, int fd, struct order *o)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { o, sizeof(*o) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			    .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *h;

	memset(&cm, 0, sizeof(cm));
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	CHECK(sendmsg(sock, &m, 0) == sizeof(*o));
}

int main(int argc, char **argv)
{
	char *ram = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sio_proto_stats mine, st;
	struct order o = { .len = LEN, .iova = IOVA_DM };
	uint64_t iova = IOVA;
	uint32_t idev;
	int fd, sp[2], status;
	char b[8], r;
	pid_t dm;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PRELOAD DEVICE-MODEL\n", argv[0]);
		return 2;
	}
	dt_start();
	CHECK(ram != MAP_FAILED && !socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp));
	fd = softiommu_open(0);
	CHECK(fd >= 0);
	o.ioas = t_ioas_alloc(fd);
	t_mock_domain(fd, o.ioas, NULL, &idev);
	memset(ram, 'v', LEN);
	CHECK_OK(t_map(fd, o.ioas, ram, LEN, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
		       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
	mine = dt_stats(fd);
	dm = fork();
	if (dm == 0) {
		/* Only the socketpair crosses exec: the iommufd comes by SCM_RIGHTS */
		if (dup2(sp[1], 3) != 3)
			_exit(126);
		setenv("LD_PRELOAD", argv[1], 1);
		execl(argv[2], argv[2], (char *)NULL);
		_exit(127);
	}
	close(sp[1]);
	send_order(sp[0], fd, &o);
	CHECK(read(sp[0], &r, 1) == 1 && r == 'm');
	CHECK_OK(sio_remote_dma(fd, idev, 0, IOVA_DM + PG, b, sizeof(b), false));
	CHECK(!memcmp(b, "hhhhhhhh", 8));
	CHECK_OK(sio_remote_dma(fd, idev, 0, IOVA, b, sizeof(b), false));
	CHECK(b[0] == 'v');
	st = dt_stats(fd);
	CHECK(st.connections == mine.connections + 1 && st.pinned_pages > mine.pinned_pages);
	CHECK(write(sp[0], "f", 1) == 1);
	CHECK(waitpid(dm, &status, 0) == dm && WIFEXITED(status) && !WEXITSTATUS(status));
	st = dt_stats_fresh();
	CHECK(st.pinned_pages == mine.pinned_pages && st.connections == mine.connections);
	CHECK_ERR(EFAULT, sio_remote_dma(fd, idev, 0, IOVA_DM, b, sizeof(b), false));
	CHECK_OK(t_unmap(fd, o.ioas, IOVA, LEN, NULL));
	softiommu_close(fd);
	close(sp[0]);
	st = dt_stats_fresh();
	CHECK(st.live_objects == 0 && st.pinned_pages == 0 && st.connections == 0 &&
	      st.client_mms == 0 && st.pa_windows == 0);
	dt_stop();
	return t_done();
}
