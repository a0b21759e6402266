// SPDX-License-Identifier: MIT
/*
 * Forged and truncated request frames: each gets a clear error (-EPROTO, or -EBADF for a
 * sub-file this connection was never given, -EFAULT for an argument outside the sender's
 * memory) and the daemon keeps serving the same connection; descriptors a client attaches
 * are dropped; a client that never reads its replies or hangs up mid-frame harms no one.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include "daemon_test.h"

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	strcpy(sa.sun_path, dt_sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		exit(2);
	return fd;
}

/* Send @len bytes of @frame (with @pass_fd attached when >= 0); the reply's result */
static long raw_call(int s, const void *frame, size_t len, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm = { 0 };
	struct iovec iov = { (void *)frame, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct sio_proto_rsp rsp;

	if (pass_fd >= 0) {
		struct cmsghdr *h;

		m.msg_control = cm.buf;
		m.msg_controllen = sizeof(cm.buf);
		h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &pass_fd, sizeof(int));
	}
	if (sendmsg(s, &m, 0) != (ssize_t)len)
		return -1000;
	if (recv(s, &rsp, sizeof(rsp), 0) != sizeof(rsp) || rsp.magic != SIO_PROTO_MAGIC)
		return -1001;
	return rsp.ret;
}

static struct sio_proto_req good(uint64_t cmd, uint64_t arg)
{
	return (struct sio_proto_req){ .magic = SIO_PROTO_MAGIC, .version = SIO_PROTO_VERSION,
				       .op = SIO_OP_IOCTL, .seq = 7, .cmd = cmd, .arg = arg };
}

int main(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct sio_proto_req req;
	char big[sizeof(req) + 64] = { 0 };
	int s, p[2];

	dt_start();
	s = raw_connect();
	/* A valid frame first: the argument is in our memory */
	req = good(IOMMU_IOAS_ALLOC, (uintptr_t)&alloc);
	CHECK_OK(raw_call(s, &req, sizeof(req), -1));
	CHECK(alloc.out_ioas_id != 0);

	CHECK_ERR(EPROTO, raw_call(s, &req, sizeof(req) - 1, -1));      /* truncated */
	CHECK_ERR(EPROTO, raw_call(s, &req, 1, -1));
	memcpy(big, &req, sizeof(req));
	CHECK_ERR(EPROTO, raw_call(s, big, sizeof(big), -1));            /* too long */
	req.magic ^= 1;
	CHECK_ERR(EPROTO, raw_call(s, &req, sizeof(req), -1));           /* bad magic */
	req = good(IOMMU_IOAS_ALLOC, (uintptr_t)&alloc);
	req.version = 99;
	CHECK_ERR(EPROTO, raw_call(s, &req, sizeof(req), -1));           /* bad version */
	req = good(IOMMU_IOAS_ALLOC, (uintptr_t)&alloc);
	req.op = 77;
	CHECK_ERR(EPROTO, raw_call(s, &req, sizeof(req), -1));           /* unknown op */
	/* Sub-files this connection never got */
	req = good(IOMMU_IOAS_ALLOC, (uintptr_t)&alloc);
	req.handle = 3;
	CHECK_ERR(EBADF, raw_call(s, &req, sizeof(req), -1));
	req.op = SIO_OP_READ;
	req.handle = 0;
	CHECK_ERR(EBADF, raw_call(s, &req, sizeof(req), -1));
	req.op = SIO_OP_CLOSE;
	req.handle = 1; /* the daemon's stdout */
	CHECK_ERR(EBADF, raw_call(s, &req, sizeof(req), -1));
	/* Arguments outside our memory: EFAULT, as the kernel's copy_from_user */
	req = good(IOMMU_IOAS_ALLOC, 8);
	CHECK_ERR(EFAULT, raw_call(s, &req, sizeof(req), -1));
	req = good(IOMMU_IOAS_ALLOC, 0xffff800000000000ull);
	CHECK_ERR(EFAULT, raw_call(s, &req, sizeof(req), -1));
	/* Unknown ioctl */
	req = good(0x1234, (uintptr_t)&alloc);
	CHECK_ERR(ENOTTY, raw_call(s, &req, sizeof(req), -1));
	/* A descriptor attached to a request is dropped, the request served */
	if (pipe(p))
		return 2;
	req = good(IOMMU_IOAS_ALLOC, (uintptr_t)&alloc);
	CHECK_OK(raw_call(s, &req, sizeof(req), p[0]));
	close(p[0]);
	/* The daemon closed its copy: our write end has no reader left */
	signal(SIGPIPE, SIG_IGN);
	CHECK(write(p[1], "x", 1) == -1 && errno == EPIPE);
	close(p[1]);
	/* Still served */
	req = good(IOMMU_IOAS_ALLOC, (uintptr_t)&alloc);
	CHECK_OK(raw_call(s, &req, sizeof(req), -1));

	/* A client that sends and never reads, then hangs up */
	{
		int q = raw_connect();

		for (int i = 0; i < 64; i++) {
			req = good(IOMMU_IOAS_ALLOC, (uintptr_t)&alloc);
			if (send(q, &req, sizeof(req), MSG_DONTWAIT) != sizeof(req))
				break;
		}
		close(q);
	}
	req = good(IOMMU_IOAS_ALLOC, (uintptr_t)&alloc);
	CHECK_OK(raw_call(s, &req, sizeof(req), -1));
	close(s);
	{
		struct sio_proto_stats st = dt_stats_fresh();

		CHECK(st.live_objects == 0 && st.connections == 0);
	}
	dt_stop();
	return t_done();
}
