// SPDX-License-Identifier: MIT
/*
 * The vhost-user style handover: a VMM passes its daemon-mode iommufd by SCM_RIGHTS to a
 * process that never inherited it (forked before the open, so its registry knows nothing of
 * it). softiommu_adopt_fd() makes it that process's iommufd: both sides map their own memory
 * and DMA (softiommu_dev_open_remote + softiommu_dma_*), each copy in the memory of the
 * process that mapped the pages, concurrently. The receiver killed: the VMM keeps everything.
 * The VMM killed: the receiver's DMA into its memory is EFAULT, its own calls still work, and
 * once it closes nothing is left. A process that was never given the descriptor cannot join
 * (no descriptor, a socket that is no connection, a frame out of order, a stolen HELLO).
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "daemon_test.h"

#define PG 4096UL
#define LEN (16 * PG)
#define IOVA MOCK_APERTURE_START
#define IOVA_DM (MOCK_APERTURE_START + (1UL << 24))

static void send_fd(int sock, int fd, const void *data, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { (void *)data, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *h;

		memset(&cm, 0, sizeof(cm));
		m.msg_control = cm.buf;
		m.msg_controllen = sizeof(cm.buf);
		h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &fd, sizeof(int));
	}
	CHECK(sendmsg(sock, &m, 0) == (ssize_t)len);
}

static int recv_fd(int sock, void *data, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { data, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			    .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *h;
	int fd = -1;

	if (recvmsg(sock, &m, 0) != (ssize_t)len)
		return -1;
	h = CMSG_FIRSTHDR(&m);
	if (h && h->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(h), sizeof(int));
	return fd;
}

struct hello {
	uint32_t ioas, idev;
};

static long iova_ranges(int fd, uint32_t ioas)
{
	struct iommu_iova_range range;
	struct iommu_ioas_iova_ranges r = { .size = sizeof(r), .ioas_id = ioas, .num_iovas = 1,
					    .allowed_iovas = (uintptr_t)&range };
	long rc = softiommu_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &r);

	/* The mock's aperture: one range, which must have been written back */
	return rc ? rc : r.num_iovas == 1 && range.start <= IOVA ? 0 : -EBADMSG;
}

/* DMAs from a second thread while the first makes ioctls: two connections in one context */
struct dm_loop {
	struct softiommu_dev *dev;
	int fails;
};

static void *dm_dma_loop(void *arg)
{
	struct dm_loop *l = arg;
	char b[64];

	for (int i = 0; i < 300; i++)
		if (softiommu_dma_read(l->dev, 0, IOVA + (8 + i % 8) * PG, b, sizeof(b)) || b[0] != 'v')
			l->fails++;
	return NULL;
}

/*
 * The device model: receives the VMM's iommufd, maps its own RAM ('m') at IOVA_DM, DMAs into
 * the VMM's ('v' at IOVA), then waits to be killed or told to finish
 */
static void device_model(int sock)
{
	char *ram = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *buf = malloc(LEN), b[16], go;
	struct softiommu_dma_seg segs[2];
	struct softiommu_dev *dev = NULL;
	struct hello h;
	struct dm_loop l = { 0 };
	pthread_t t;
	uint64_t iova = IOVA_DM;
	size_t moved;
	int fd = recv_fd(sock, &h, sizeof(h));

	CHECK(fd >= 0 && ram != MAP_FAILED && buf);
	/* A socket here until adopted: the registry never saw it */
	CHECK(!softiommu_is_fd(fd));
	CHECK_ERR(EBADF, softiommu_dev_open_remote(fd, h.idev, &dev));
	CHECK(softiommu_adopt_fd(fd) == fd);
	CHECK(softiommu_is_fd(fd));
	CHECK_ERR(EEXIST, softiommu_adopt_fd(fd));
	CHECK_ERR(ENOENT, softiommu_dev_open_remote(fd, h.idev + 1000, &dev));
	CHECK_OK(softiommu_dev_open_remote(fd, h.idev, &dev));
	if (!dev)
		_exit(t_done());
	CHECK_ERR(EOPNOTSUPP, softiommu_dev_detach(dev, 0));
	/* The VMM's bytes, not ours */
	memset(buf, 'd', LEN);
	CHECK_OK(softiommu_dma_read(dev, 0, IOVA, buf, LEN));
	CHECK(buf[0] == 'v' && buf[LEN - 1] == 'v');
	CHECK_OK(softiommu_dma_write(dev, 0, IOVA + PG, "written by dm", 14));
	segs[0] = (struct softiommu_dma_seg){ IOVA + 2 * PG - 2, b, 4 };
	segs[1] = (struct softiommu_dma_seg){ IOVA + PG, b + 4, 7 };
	CHECK_OK(softiommu_dma_readv(dev, 0, segs, 2, &moved));
	CHECK(moved == 11 && !memcmp(b, "vvvvwritten", 11));
	segs[1].iova = IOVA + LEN; /* past the VMM's map */
	CHECK_ERR(EFAULT, softiommu_dma_readv(dev, 0, segs, 2, &moved));
	CHECK(moved == 4);
	segs[1].len = 0;
	CHECK_ERR(EINVAL, softiommu_dma_writev(dev, 0, segs, 2, &moved));
	/* Our own memory in the VMM's IOAS: the VMM's DMA there reads our bytes */
	memset(ram, 'm', LEN);
	CHECK_OK(t_map(fd, h.ioas, ram, LEN, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
		       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
	CHECK_OK(softiommu_dma_read(dev, 0, IOVA_DM + 5, b, 3));
	CHECK(!memcmp(b, "mmm", 3));
	/* Both processes at once, and two threads of ours on our connection */
	l.dev = dev;
	CHECK(!pthread_create(&t, NULL, dm_dma_loop, &l));
	for (int i = 0; i < 300; i++)
		CHECK_OK(iova_ranges(fd, h.ioas));
	pthread_join(t, NULL);
	CHECK(l.fails == 0);
	send_fd(sock, -1, "r", 1);
	/* Wait: killed, or told to finish ('f') */
	CHECK(read(sock, &go, 1) == 1 && go == 'f');
	softiommu_dev_destroy(dev);
	CHECK_OK(t_unmap(fd, h.ioas, IOVA_DM, LEN, NULL));
	softiommu_close(fd);
	_exit(t_done());
}

static void vmm_side(bool kill_dm)
{
	char *ram = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int sp[2], fd, status;
	struct sio_proto_stats mine, before, after;
	struct hello h;
	uint64_t iova = IOVA;
	char b[16], r;
	pid_t dm;

	CHECK(ram != MAP_FAILED);
	CHECK(!socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp));
	dm = fork(); /* before the open: the device model never inherits the iommufd */
	if (dm == 0) {
		close(sp[0]);
		device_model(sp[1]);
	}
	close(sp[1]);
	fd = softiommu_open(0);
	CHECK(fd >= 0);
	h.ioas = t_ioas_alloc(fd);
	t_mock_domain(fd, h.ioas, NULL, &h.idev);
	memset(ram, 'v', LEN);
	CHECK_OK(t_map(fd, h.ioas, ram, LEN, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
		       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
	mine = dt_stats(fd);
	send_fd(sp[0], fd, &h, sizeof(h));
	for (int i = 0; i < 300; i++)
		CHECK_OK(iova_ranges(fd, h.ioas));
	CHECK(read(sp[0], &r, 1) == 1 && r == 'r');
	/* Its write landed in our memory; its map pins its memory, which our DMA reads */
	CHECK(!memcmp(ram + PG, "written by dm", 14) && ram[0] == 'v');
	CHECK_OK(sio_remote_dma(fd, h.idev, 0, IOVA_DM, b, 4, false));
	CHECK(!memcmp(b, "mmmm", 4));
	before = dt_stats(fd);
	CHECK(before.connections >= 2 && before.pinned_pages > mine.pinned_pages);
	if (kill_dm) {
		kill(dm, SIGKILL);
		CHECK(waitpid(dm, &status, 0) == dm && WIFSIGNALED(status));
		/* Its connection is torn down; the context, our pins and objects are whole */
		after = dt_stats_fresh();
		CHECK(after.live_objects == before.live_objects);
		CHECK_OK(sio_remote_dma(fd, h.idev, 0, IOVA, b, 4, false));
		CHECK(!memcmp(b, "vvvv", 4));
		/* Its pages are gone with it: a fault, never our bytes at that address */
		CHECK_ERR(EFAULT, sio_remote_dma(fd, h.idev, 0, IOVA_DM, b, 4, false));
		CHECK_OK(t_unmap(fd, h.ioas, IOVA_DM, LEN, NULL));
	} else {
		CHECK(write(sp[0], "f", 1) == 1);
		CHECK(waitpid(dm, &status, 0) == dm && WIFEXITED(status) && !WEXITSTATUS(status));
		/* It unmapped its memory and closed; we have ours */
		after = dt_stats(fd);
		CHECK(after.pinned_pages == mine.pinned_pages);
		CHECK_ERR(ENOENT, t_unmap(fd, h.ioas, IOVA_DM, LEN, NULL));
	}
	CHECK_OK(t_unmap(fd, h.ioas, IOVA, LEN, NULL));
	softiommu_close(fd);
	close(sp[0]);
	munmap(ram, LEN);
}

/* The VMM is an unrelated child killed while we (the device model) hold its iommufd */
static void vmm_killed(void)
{
	int sp[2], status, fd;
	struct softiommu_dev *dev = NULL;
	struct hello h;
	char b[8];
	pid_t vmm;

	CHECK(!socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp));
	vmm = fork();
	if (vmm == 0) {
		char *ram = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint64_t iova = IOVA;
		int vfd = softiommu_open(0);

		close(sp[0]);
		if (vfd < 0 || ram == MAP_FAILED)
			_exit(2);
		h.ioas = t_ioas_alloc(vfd);
		t_mock_domain(vfd, h.ioas, NULL, &h.idev);
		memset(ram, 'V', LEN);
		if (t_map(vfd, h.ioas, ram, LEN, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
			  IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE))
			_exit(3);
		send_fd(sp[1], vfd, &h, sizeof(h));
		pause();
		_exit(0);
	}
	close(sp[1]);
	fd = recv_fd(sp[0], &h, sizeof(h));
	CHECK(fd >= 0 && softiommu_adopt_fd(fd) == fd);
	CHECK_OK(softiommu_dev_open_remote(fd, h.idev, &dev));
	if (!dev)
		exit(t_done());
	CHECK_OK(softiommu_dma_read(dev, 0, IOVA, b, sizeof(b)));
	CHECK(b[0] == 'V');
	kill(vmm, SIGKILL);
	CHECK(waitpid(vmm, &status, 0) == vmm && WIFSIGNALED(status));
	/* Our iommufd still works; the dead VMM's memory is a fault */
	memset(b, 0, sizeof(b));
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, IOVA, b, sizeof(b)));
	CHECK(b[0] == 0);
	CHECK_ERR(EFAULT, softiommu_dma_write(dev, 0, IOVA, "x", 1));
	CHECK_OK(iova_ranges(fd, h.ioas));
	CHECK_OK(t_unmap(fd, h.ioas, IOVA, LEN, NULL));
	softiommu_dev_destroy(dev);
	softiommu_close(fd);
	close(sp[0]);
}

/* A raw first frame @op on a fresh connection to the daemon, passing @pass (or none) */
static long raw_first(uint16_t op, int pass, int *conn)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sio_proto_req req = { .magic = SIO_PROTO_MAGIC, .version = SIO_PROTO_VERSION,
				     .op = op, .seq = 1 };
	struct sio_proto_rsp rsp;
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	CHECK(s >= 0);
	strcpy(sa.sun_path, dt_sock);
	CHECK(!connect(s, (struct sockaddr *)&sa, sizeof(sa)));
	send_fd(s, pass, &req, sizeof(req));
	CHECK(recv(s, &rsp, sizeof(rsp), 0) == sizeof(rsp) && rsp.magic == SIO_PROTO_MAGIC);
	if (conn)
		*conn = s;
	else
		close(s);
	return (long)rsp.ret;
}

static void cannot_guess(void)
{
	int fd = softiommu_open(0), sp[2], pfd[2], own, again;
	uint32_t ioas = t_ioas_alloc(fd);
	struct sio_proto_req req = { .magic = SIO_PROTO_MAGIC, .version = SIO_PROTO_VERSION,
				     .op = SIO_OP_JOIN, .seq = 2 };
	struct sio_proto_rsp rsp;

	CHECK(!socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) && !pipe(pfd));
	/* No descriptor, a file that is no socket, a socket that is no connection */
	CHECK_ERR(EBADF, raw_first(SIO_OP_JOIN, -1, NULL));
	CHECK_ERR(EBADF, raw_first(SIO_OP_JOIN, pfd[0], NULL));
	CHECK_ERR(EPERM, raw_first(SIO_OP_JOIN, sp[0], NULL));
	/* A connection of one's own that said HELLO is no way into another's context */
	CHECK(raw_first(SIO_OP_HELLO, -1, &own) == -EBADF);
	close(own);
	/* Claiming someone's socket as one's own end is refused (first come) */
	CHECK_ERR(EEXIST, raw_first(SIO_OP_HELLO, fd, NULL));
	/* JOIN only as the first frame */
	CHECK(raw_first(SIO_OP_HELLO, sp[0], &again) == 0);
	send_fd(again, fd, &req, sizeof(req));
	CHECK(recv(again, &rsp, sizeof(rsp), 0) == sizeof(rsp) && rsp.ret == -EPROTO);
	close(again);
	/* The library's checks before any frame */
	CHECK_ERR(EBADF, softiommu_adopt_fd(-1));
	CHECK_ERR(ENOTSOCK, softiommu_adopt_fd(pfd[0]));
	CHECK_ERR(EINVAL, softiommu_adopt_fd(sp[0]));
	CHECK_ERR(EEXIST, softiommu_adopt_fd(fd));
	/* A legitimate JOIN (we hold fd) still works after all that */
	CHECK_OK(raw_first(SIO_OP_JOIN, fd, NULL));
	CHECK_OK(iova_ranges(fd, ioas));
	close(sp[0]);
	close(sp[1]);
	close(pfd[0]);
	close(pfd[1]);
	softiommu_close(fd);
}

int main(void)
{
	struct sio_proto_stats st;

	dt_start();
	cannot_guess();
	vmm_side(false);
	vmm_side(true);
	vmm_killed();
	st = dt_stats_fresh();
	CHECK(st.live_objects == 0 && st.pinned_pages == 0 && st.client_mms == 0 &&
	      st.pa_windows == 0 && st.connections == 0);
	dt_stop();
	return t_done();
}
