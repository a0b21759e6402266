// SPDX-License-Identifier: MIT
/*
 * fuzz_daemon — libFuzzer target: the daemon's request decoder and dispatcher (recv_req,
 * serve_one in src/frontend/daemon/serve.c) on one connection, fed forged, truncated and
 * oversized frames by a client process.
 *
 * This process is the daemon: each input gets a fresh connection, a socketpair whose one end
 * goes to sio_serve_conn() (a connection thread, as an accepted socket does). The other end
 * is a client forked for the input, so that every pointer a frame carries is an address in
 * the client, reached through its pidfd as a real client's are: nothing a frame says can
 * touch the daemon's memory. The client decodes the input into frames and sends them one at
 * a time, waiting for each reply; then it leaves with _exit() (no exit hook runs, as for a
 * killed client). The daemon must then tear the connection down completely: abort unless, within
 * 10 s, there is no connection, no object and no pinned page left.
 *
 * An input is a list of records, each a control byte and then what it asks for (missing
 * bytes read as zero):
 *   bits 0-1  the frame's length: as is, cut to 1..size-1 bytes, or up to 15 bytes too long
 *   bit 2     a descriptor attached (SCM_RIGHTS: the daemon must close it unread)
 *   bit 3     @arg points into the client's scratch page (else the frame's raw value)
 *   bit 4     @cmd from a table of iommufd ioctl numbers (else raw)
 *   bit 5     the magic and version made valid, the reserved word 0 (else raw); the
 *             frame's fail_nth stays raw: the daemon's core then fails its Nth step
 *   bit 6     @handle is a descriptor number the daemon passed earlier in this input
 *   then the frame's bytes, then a length byte and that many bytes for the scratch page.
 *
 * Built as fuzz_daemon with -DSOFTIOMMU_FUZZ=ON (tests/fuzz/run.sh runs it), and with
 * FUZZ_REPLAY as fuzz_daemon_replay, which CTest runs on tests/fuzz/corpus-daemon/.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <softiommu/softiommu.h>

#include "../../src/drivers/mock/iommufd_test.h"
#include "../../src/frontend/daemon/proto.h"
#include "../../src/frontend/daemon/serve.h"

#define MAX_RECORDS 64
#define SCRATCH 4096

static char scratch[SCRATCH] __attribute__((aligned(4096)));

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static void bytes(struct in *in, void *out, size_t len)
{
	size_t n = len < in->n ? len : in->n;

	memcpy(out, in->p, n);
	memset((char *)out + n, 0, len - n);
	in->p += n;
	in->n -= n;
}

static const uint64_t cmds[] = {
	IOMMU_DESTROY,	     IOMMU_IOAS_ALLOC,	     IOMMU_IOAS_IOVA_RANGES,
	IOMMU_IOAS_ALLOW_IOVAS, IOMMU_IOAS_MAP,	     IOMMU_IOAS_COPY,
	IOMMU_IOAS_UNMAP,    IOMMU_OPTION,	     IOMMU_GET_HW_INFO,
	IOMMU_HWPT_ALLOC,    IOMMU_FAULT_QUEUE_ALLOC, IOMMU_VEVENTQ_ALLOC,
	IOMMU_IOAS_MAP_FILE, IOMMU_IOAS_CHANGE_PROCESS, IOMMU_TEST_CMD,
	0x3b00,		     0,
};

/* The client: send the input's frames, one reply each */
static void client(int sock, struct in *in)
{
	uint64_t handles[8] = { 0 };
	unsigned int nhandles = 0;
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

	for (int r = 0; r < MAX_RECORDS && in->n; r++) {
		uint8_t ctl = u8(in);
		char frame[sizeof(struct sio_proto_req) + 16];
		struct sio_proto_req req;
		size_t len = sizeof(req), plen;
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} cm;
		struct iovec iov = { frame, 0 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		struct sio_proto_rsp rsp;

		bytes(in, &req, sizeof(req));
		if (ctl & 8)
			req.arg = (uintptr_t)scratch + req.arg % SCRATCH;
		if (ctl & 16)
			req.cmd = cmds[req.cmd % (sizeof(cmds) / sizeof(cmds[0]))];
		if (ctl & 32) {
			req.magic = SIO_PROTO_MAGIC;
			req.version = SIO_PROTO_VERSION;
			req.reserved = 0;
		}
		if ((ctl & 64) && nhandles)
			req.handle = handles[req.handle % nhandles];
		plen = u8(in) % 128;
		bytes(in, scratch + (req.arg - (uintptr_t)scratch) % (SCRATCH - 128), plen);
		memcpy(frame, &req, sizeof(req));
		memset(frame + sizeof(req), 0xa5, 16);
		if ((ctl & 3) == 1)
			len = 1 + req.seq % (sizeof(req) - 1); /* never 0: that is a hang-up */
		else if ((ctl & 3) == 2)
			len = sizeof(req) + 1 + req.seq % 15;
		iov.iov_len = len;
		if ((ctl & 4) && devnull >= 0) {
			struct cmsghdr *h;

			memset(&cm, 0, sizeof(cm));
			m.msg_control = cm.buf;
			m.msg_controllen = sizeof(cm.buf);
			h = CMSG_FIRSTHDR(&m);
			h->cmsg_level = SOL_SOCKET;
			h->cmsg_type = SCM_RIGHTS;
			h->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(h), &devnull, sizeof(int));
		}
		if (sendmsg(sock, &m, MSG_NOSIGNAL) < 0)
			break;
		{
			union {
				char buf[CMSG_SPACE(sizeof(int))];
				struct cmsghdr align;
			} rcm;
			struct iovec riov = { &rsp, sizeof(rsp) };
			struct msghdr rm = { .msg_iov = &riov, .msg_iovlen = 1,
					     .msg_control = rcm.buf,
					     .msg_controllen = sizeof(rcm.buf) };
			struct cmsghdr *h;

			if (recvmsg(sock, &rm, MSG_CMSG_CLOEXEC) <= 0)
				break;
			h = CMSG_FIRSTHDR(&rm);
			if (h && h->cmsg_type == SCM_RIGHTS) {
				int fd;

				memcpy(&fd, CMSG_DATA(h), sizeof(fd));
				close(fd);
				handles[nhandles++ % 8] = rsp.handle;
				if (nhandles > 8)
					nhandles = 8;
			}
		}
	}
}

static void settle(void)
{
	struct timespec ts = { 0, 1000000 };
	unsigned long pinned = 0;

	for (int i = 0; i < 10000 && atomic_load(&sio_serve_conns); i++)
		nanosleep(&ts, NULL);
	if (atomic_load(&sio_serve_conns)) {
		fprintf(stderr, "fuzz_daemon: the connection was not torn down\n");
		abort();
	}
	softiommu_pinned_pages(&pinned, NULL);
	if (pinned || softiommu_live_objects()) {
		fprintf(stderr, "fuzz_daemon: %lu pages pinned, %lu objects left\n", pinned,
			softiommu_live_objects());
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	int sv[2], status;
	pid_t pid;

	signal(SIGPIPE, SIG_IGN);
	unsetenv("SOFTIOMMU_DAEMON");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		abort();
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		close(sv[0]);
		client(sv[1], &in);
		_exit(0);
	}
	close(sv[1]);
	if (sio_serve_conn(sv[0]))
		abort();
	/* The client runs until it has sent all; then it dies as a crashed client does */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		struct timespec ts = { 0, 200000 };

		nanosleep(&ts, NULL);
	}
	settle();
	return 0;
}

#ifdef FUZZ_REPLAY
/* Replay the inputs named on the command line (files), as libFuzzer would run them. */
int main(int argc, char **argv)
{
	static uint8_t data[1 << 16];
	int n = 0;

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t len;

		if (!f) {
			perror(argv[i]);
			return 2;
		}
		len = fread(data, 1, sizeof(data), f);
		fclose(f);
		LLVMFuzzerTestOneInput(data, len);
		n++;
	}
	printf("%d passed, 0 failed\n", n);
	return 0;
}
#endif
