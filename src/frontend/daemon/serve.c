// SPDX-License-Identifier: MIT
/*
 * serve.c — `softiommu serve`: iommufd contexts for other processes (docs/daemon.md).
 *
 * Each accepted connection is one open of /dev/iommu: a context of this process's core,
 * served by one thread, which reads a request frame (proto.h), takes the sender the kernel
 * names (SCM_CREDENTIALS, for every frame: after fork() parent and child share the
 * connection), acts for that process's mm (core/mm.h) while the core runs the ioctl, so every
 * pointer in the argument, nested arrays included, is read and written in the sender's memory,
 * and sends the result back. A connection reaches only its own context and the descriptors
 * made for it. When the last client copy of the connection goes (the clients closed it, or
 * exited, or were killed) the thread closes the context and those descriptors: every object
 * is destroyed and every pin released. A bad frame gets -EPROTO and the connection is served
 * on; nothing a client sends stops the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <softiommu/softiommu.h>

#include "../../core/fail.h"
#include "../../core/file.h"
#include "../../core/sio.h"
#include "../../dma/dma.h"
#include "../../drivers/mock/iommufd_test.h"
#include "proto.h"
#include "serve.h"

struct conn {
	struct conn *next;  /* in the list of live connections (conns_lock) */
	int sock;
	int ctx_fd;
	pid_t mm_pid;      /* the sender of the last request, and its mm */
	struct sio_mm *mm;
	void *bounce;      /* SIO_OP_DMA's buffer (BOUNCE bytes), made on first use */
	int *subs;         /* descriptors made for this connection (accesses, queues); changed
			    * by its thread under conns_lock */
	size_t nsubs, subs_cap;
	pid_t seen[8];     /* the last senders (conns_lock), who may name its descriptors */
	unsigned int nseen;
	uint64_t cookie;   /* SO_COOKIE of the client's end (SIO_OP_HELLO; conns_lock), 0: none */
	uint64_t nreq;     /* frames served: HELLO and JOIN only come first */
};

/*
 * A kernel close() of the last descriptor releases the context before it returns; here the
 * connection's thread notices the hang-up a moment later. So that a client which closes and
 * then looks (a new open, MD_CHECK_REFS) finds the pins released, as on Linux, a new
 * connection and the selftest's ref check first wait out the teardown of every connection
 * already hung up.
 */
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conns_cond = PTHREAD_COND_INITIALIZER;
static struct conn *conns;

static bool hung_up(const struct conn *c)
{
	struct pollfd p = { .fd = c->sock, .events = POLLIN };

	return syscall(SYS_poll, &p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void conns_settle(const struct conn *self)
{
	struct conn *c;

	pthread_mutex_lock(&conns_lock);
restart:
	for (c = conns; c; c = c->next) {
		if (c == self || !hung_up(c))
			continue;
		/* Every teardown broadcasts once its connection is off the list: look again */
		pthread_cond_wait(&conns_cond, &conns_lock);
		goto restart;
	}
	pthread_mutex_unlock(&conns_lock);
}

static void conns_add(struct conn *c)
{
	pthread_mutex_lock(&conns_lock);
	c->next = conns;
	conns = c;
	pthread_mutex_unlock(&conns_lock);
}

static void conns_del(struct conn *c)
{
	pthread_mutex_lock(&conns_lock);
	for (struct conn **p = &conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	pthread_cond_broadcast(&conns_cond);
	pthread_mutex_unlock(&conns_lock);
}

static bool conn_has_sub(const struct conn *c, uint64_t fd)
{
	for (size_t i = 0; i < c->nsubs; i++)
		if ((uint64_t)c->subs[i] == fd)
			return true;
	return false;
}

static int conn_add_sub(struct conn *c, int fd)
{
	int rc = 0;

	pthread_mutex_lock(&conns_lock);
	if (c->nsubs == c->subs_cap) {
		size_t cap = c->subs_cap ? 2 * c->subs_cap : 8;
		int *n = realloc(c->subs, cap * sizeof(*n));

		if (n) {
			c->subs = n;
			c->subs_cap = cap;
		}
		rc = n ? 0 : -ENOMEM;
	}
	if (!rc)
		c->subs[c->nsubs++] = fd;
	pthread_mutex_unlock(&conns_lock);
	return rc;
}

static void conn_del_sub(struct conn *c, int fd)
{
	pthread_mutex_lock(&conns_lock);
	for (size_t i = 0; i < c->nsubs; i++)
		if (c->subs[i] == fd) {
			c->subs[i] = c->subs[--c->nsubs];
			break;
		}
	pthread_mutex_unlock(&conns_lock);
}

static void conn_saw(struct conn *c, pid_t pid)
{
	pthread_mutex_lock(&conns_lock);
	c->seen[c->nseen++ % ARRAY_SIZE(c->seen)] = pid;
	pthread_mutex_unlock(&conns_lock);
}

/*
 * A descriptor made for another connection that @pid also uses (a program holding two
 * iommufds names one's access in the other's ioctl, as the kernel allows: it holds both)
 */
static bool other_conn_sub(const struct conn *self, uint64_t fd, pid_t pid)
{
	bool found = false;

	pthread_mutex_lock(&conns_lock);
	for (const struct conn *c = conns; c && !found; c = c->next) {
		bool sender = false;

		if (c == self)
			continue;
		for (unsigned int i = 0; i < ARRAY_SIZE(c->seen) && i < c->nseen; i++)
			sender |= c->seen[i] == pid;
		for (size_t i = 0; sender && i < c->nsubs && !found; i++)
			found = (uint64_t)c->subs[i] == fd;
	}
	pthread_mutex_unlock(&conns_lock);
	return found;
}

/* The mm of process @pid: the last sender's is kept, a new sender's opened */
static struct sio_mm *conn_mm(struct conn *c, pid_t pid, int *rc)
{
	struct sio_mm *mm;

	if (c->mm && c->mm_pid == pid && sio_mm_alive(c->mm))
		return c->mm;
	mm = sio_mm_open_pid(pid, rc);
	if (!mm)
		return NULL;
	conn_saw(c, pid);
	sio_mm_put(c->mm);
	c->mm = mm;
	c->mm_pid = pid;
	return mm;
}

/*
 * Where the ioctl's output carries a descriptor it made: the offset in the argument, or -1.
 * Read in the sender's memory after the call succeeded.
 */
static int64_t fd_field(unsigned long cmd, uint64_t arg)
{
	uint32_t op;

	switch (cmd) {
	case IOMMU_FAULT_QUEUE_ALLOC:
		return offsetof(struct iommu_fault_alloc, out_fault_fd);
	case IOMMU_VEVENTQ_ALLOC:
		return offsetof(struct iommu_veventq_alloc, out_veventq_fd);
	case IOMMU_TEST_CMD:
		if (sio_copy_from_user(&op, arg + offsetof(struct iommu_test_cmd, op), sizeof(op)))
			return -1;
		if (op == IOMMU_TEST_OP_CREATE_ACCESS)
			return offsetof(struct iommu_test_cmd, create_access.out_access_fd);
		if (op == IOMMU_TEST_OP_DMABUF_GET)
			return SIO_PROTO_FD_IS_RET;
		return -1;
	}
	return -1;
}

/* Where the selftest's operation @op names a descriptor (an access, a dma-buf), or -1 */
static int64_t test_fd_field(uint32_t op)
{
	switch (op) {
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
	case IOMMU_TEST_OP_ACCESS_PAGES:
	case IOMMU_TEST_OP_ACCESS_RW:
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return offsetof(struct iommu_test_cmd, id);
	case IOMMU_TEST_OP_DMABUF_REVOKE:
		return offsetof(struct iommu_test_cmd, dmabuf_revoke.dmabuf_fd);
	}
	return -1;
}

/*
 * The selftest names accesses and dma-bufs by descriptor: it must be one made for this
 * connection. The client marks a number that is none of them (proto.h): no file at all is
 * left to fail the lookup as it does in-process; a file of the client's own becomes our
 * context's descriptor, a file of the wrong kind, so the errno is the kernel's either way.
 * The client's number is never written over: the request's patch (proto.h, mm.h) makes our
 * reads of that field see ours. A number of a connection the sender does not use is refused
 * as no file would be.
 */
static int check_test_cmd(struct conn *c, uint64_t arg, pid_t pid)
{
	uint32_t op, id, ctx_fd = (uint32_t)c->ctx_fd;
	int64_t field;

	if (sio_copy_from_user(&op, arg + offsetof(struct iommu_test_cmd, op), sizeof(op)))
		return 0; /* the dispatcher reports the EFAULT */
	if (op == IOMMU_TEST_OP_MD_CHECK_REFS)
		conns_settle(c);
	field = test_fd_field(op);
	if (field < 0 || sio_copy_from_user(&id, arg + field, sizeof(id)))
		return 0;
	if (id == SIO_PROTO_FD_NONE || conn_has_sub(c, id) || other_conn_sub(c, id, pid))
		return 0;
	if (id == SIO_PROTO_FD_NOT_OURS && sio_mm_patch_tls.on) {
		sio_mm_patch_tls.val = ctx_fd;
		return 0;
	}
	return op == IOMMU_TEST_OP_DMABUF_REVOKE ? -EBADF : -EBADFD;
}

/* Which of read/write the file at @fd has (the client's view of it must have the same) */
static uint32_t file_rw_bits(int fd)
{
	struct sio_file *f = sio_file_get(fd);
	uint32_t bits = 0;

	if (f) {
		bits = (f->ops->read ? SIO_PROTO_FD_READ : 0) |
		       (f->ops->write ? SIO_PROTO_FD_WRITE : 0);
		sio_file_put(f);
	}
	return bits;
}

static long do_ioctl(struct conn *c, const struct sio_proto_req *req, pid_t pid,
		     struct sio_proto_rsp *rsp, int *pass_fd)
{
	int fd = req->handle ? (int)req->handle : c->ctx_fd;
	int64_t off;
	uint32_t made;
	long rc;

	if (req->handle && !conn_has_sub(c, req->handle))
		return -EBADF;
	if (req->patch_off1 && req->cmd != IOMMU_TEST_CMD)
		return -EPROTO;
	if (req->patch_off1)
		sio_mm_patch_tls = (struct sio_mm_patch){
			.on = true, .addr = req->arg + req->patch_off1 - 1, .val = req->patch_val };
	if (req->cmd == IOMMU_TEST_CMD)
		rc = check_test_cmd(c, req->arg, pid);
	else
		rc = 0;
	if (!rc)
		rc = softiommu_ioctl(fd, req->cmd, (void *)(uintptr_t)req->arg);
	sio_mm_patch_tls.on = false;
	if (rc < 0)
		return rc;
	off = fd_field(req->cmd, req->arg);
	if (off == SIO_PROTO_FD_IS_RET)
		made = (uint32_t)rc;
	else if (off < 0 || sio_copy_from_user(&made, req->arg + off, sizeof(made)))
		return rc;
	if (conn_add_sub(c, (int)made)) {
		softiommu_close((int)made);
		return -ENOMEM;
	}
	rsp->has_fd = SIO_PROTO_HAS_FD | file_rw_bits((int)made);
	rsp->handle = made;
	rsp->fd_off = off;
	*pass_fd = (int)made;
	return rc;
}

atomic_ulong sio_serve_requests;
atomic_int sio_serve_conns;

static long serve_stats(struct conn *c, uint64_t arg)
{
	struct sio_proto_stats st = { 0 };
	unsigned long pinned = 0;

	conns_settle(c);
	softiommu_pinned_pages(&pinned, NULL);
	st.live_objects = softiommu_live_objects();
	st.pinned_pages = pinned;
	st.connections = atomic_load(&sio_serve_conns);
	st.client_mms = atomic_load(&sio_mm_live);
	st.requests = atomic_load(&sio_serve_requests);
	st.pa_windows = sio_mm_windows_live();
	return sio_copy_to_user(arg, &st, sizeof(st));
}

/* The client maps the memfd itself, at the address it reserved: pass it back */
static void *map_for_client(void *arg, int memfd, void *addr, size_t len, int prot, int flags)
{
	int *pass_fd = arg;

	*pass_fd = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
	return *pass_fd < 0 ? MAP_FAILED : addr;
}

static long serve_mmap(struct conn *c, const struct sio_proto_req *req,
		       struct sio_proto_rsp *rsp, int *pass_fd)
{
	struct sio_ctx *ctx = sio_ctx_from_fd(c->ctx_fd);
	void *out;
	long rc;

	if (!ctx)
		return -EBADF;
	if (!req->arg || req->arg % SIO_PAGE_SIZE)
		rc = -EINVAL;
	else
		rc = sio_ctx_mmap_with(ctx, (void *)(uintptr_t)req->arg, req->len,
				       (int)(req->handle >> 32), (int)(uint32_t)req->handle,
				       (off_t)req->cmd, map_for_client, pass_fd, &out);
	sio_ctx_put(ctx);
	if (rc && *pass_fd >= 0) {
		syscall(SYS_close, *pass_fd);
		*pass_fd = -1;
	}
	if (*pass_fd >= 0) {
		rsp->has_fd = SIO_PROTO_HAS_FD;
		rsp->fd_off = -1;
	}
	return rc;
}

#define BOUNCE (1u << 20)

/*
 * A device model's DMA through a device of this context: the device-side copy runs in the
 * process that mapped the pages (the physical address names it: core/mm_pa.c), the sender's
 * buffer is moved with the sender's mm, BOUNCE bytes at a time. A fault is routed as any DMA
 * fault is (a fault queue, a vEVENTQ) and the call returns -EFAULT; bytes before it moved.
 */
static long serve_dma(struct conn *c, const struct sio_proto_req *req)
{
	uint32_t dev_id = (uint32_t)req->handle, pasid = (uint32_t)(req->handle >> 32);
	bool write = req->patch_val & SIO_PROTO_DMA_WRITE;
	struct sio_object *obj;
	struct sio_ctx *ctx;
	long rc = 0;

	if (req->patch_off1 || (req->patch_val & ~SIO_PROTO_DMA_WRITE) || !req->len ||
	    req->len > SIO_PROTO_DMA_MAX || req->cmd + req->len - 1 < req->cmd)
		return -EINVAL;
	if (!c->bounce && !(c->bounce = malloc(BOUNCE)))
		return -ENOMEM;
	ctx = sio_ctx_from_fd(c->ctx_fd);
	if (!ctx)
		return -EBADF;
	obj = sio_get_object(ctx, dev_id, SIO_OBJ_DEVICE);
	if (IS_ERR(obj)) {
		sio_ctx_put(ctx);
		return PTR_ERR(obj);
	}
	for (uint64_t done = 0; !rc && done < req->len; done += BOUNCE) {
		size_t n = (size_t)min_t(uint64_t, BOUNCE, req->len - done);
		struct sio_device *idev = container_of(obj, struct sio_device, obj);

		if (write) {
			rc = sio_copy_from_user(c->bounce, req->arg + done, n);
			if (!rc)
				rc = sio_dma_rw(idev, NULL, pasid, req->cmd + done, c->bounce, n,
						true, NULL);
		} else {
			rc = sio_dma_rw(idev, NULL, pasid, req->cmd + done, c->bounce, n, false,
					NULL);
			if (!rc)
				rc = sio_copy_to_user(req->arg + done, c->bounce, n);
		}
	}
	sio_put_object(ctx, obj);
	sio_ctx_put(ctx);
	return rc;
}

/* The socket cookie of descriptor @fd (a socket's, never reused while the kernel runs), or 0 */
static uint64_t sock_cookie(int fd)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int type = 0;
	socklen_t tlen = sizeof(type);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) ||
	    type != SOCK_SEQPACKET || getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len))
		return 0;
	return cookie;
}

/* The connection whose client end has @cookie (conns_lock held), or NULL */
static struct conn *conn_by_cookie(uint64_t cookie)
{
	for (struct conn *c = conns; c; c = c->next)
		if (c->cookie == cookie)
			return c;
	return NULL;
}

/*
 * An open says which socket its end is, so that a process it passes the descriptor to can
 * prove it holds that descriptor (serve_join). The opener does so before the descriptor
 * exists for anyone else; a cookie another connection has claimed first is refused, so a
 * process cannot pass itself off as a connection it received.
 */
static long serve_hello(struct conn *c, const struct sio_proto_req *req, int rfd)
{
	uint64_t cookie = sock_cookie(rfd);
	long rc = 0;

	if (c->nreq || req->handle || req->cmd || req->arg || req->len || req->patch_off1)
		return -EPROTO;
	if (!cookie)
		return -EBADF;
	pthread_mutex_lock(&conns_lock);
	if (c->cookie || conn_by_cookie(cookie))
		rc = -EEXIST;
	else
		c->cookie = cookie;
	pthread_mutex_unlock(&conns_lock);
	return rc;
}

/*
 * A process that received an iommufd (the client end of connection T, by SCM_RIGHTS) opens a
 * connection of its own and passes that descriptor in its first frame: holding it is the
 * proof. The connection then serves T's context (a second reference to its file, as a
 * received kernel file is one), with its own thread, requests and descriptors, each acting for
 * its sender. A number that is no connection's client end is refused (-EPERM).
 */
static long serve_join(struct conn *c, const struct sio_proto_req *req, int rfd)
{
	uint64_t cookie = sock_cookie(rfd);
	struct conn *t;
	int fd = -1, old;
	long rc = 0;

	if (c->nreq || req->handle || req->cmd || req->arg || req->len || req->patch_off1)
		return -EPROTO;
	if (!cookie)
		return -EBADF;
	pthread_mutex_lock(&conns_lock);
	t = conn_by_cookie(cookie);
	if (!t || t == c) {
		rc = -EPERM;
	} else {
		/* t's teardown clears its cookie before closing its context: ctx_fd is open */
		fd = fcntl(t->ctx_fd, F_DUPFD_CLOEXEC, 0);
		rc = fd < 0 ? -errno : softiommu_dup(t->ctx_fd, fd);
		if (rc && fd >= 0)
			close(fd);
	}
	pthread_mutex_unlock(&conns_lock);
	if (rc)
		return rc;
	old = c->ctx_fd;
	c->ctx_fd = fd;
	softiommu_close(old); /* the fresh context this connection was opened with */
	return 0;
}

static long serve_one(struct conn *c, const struct sio_proto_req *req, pid_t pid, int rfd,
		      struct sio_proto_rsp *rsp, int *pass_fd)
{
	struct sio_mm *mm, *old;
	long rc;
	int err;

	mm = conn_mm(c, pid, &err);
	if (!mm)
		return -EFAULT; /* the sender is gone already */
	old = sio_mm_use(mm);
	/* The client's fail-nth, in the core that runs the call (the transport's own steps
	 * before this point are not counted, as the kernel's syscall entry is not) */
	sio_fail_nth_set(req->fail_nth);
	switch (req->op) {
	case SIO_OP_IOCTL:
		rc = do_ioctl(c, req, pid, rsp, pass_fd);
		break;
	case SIO_OP_READ:
		rc = conn_has_sub(c, req->handle) ?
			     softiommu_read((int)req->handle, (void *)(uintptr_t)req->arg, req->len) :
			     -EBADF;
		break;
	case SIO_OP_WRITE:
		rc = conn_has_sub(c, req->handle) ?
			     softiommu_write((int)req->handle, (void *)(uintptr_t)req->arg,
					     req->len) :
			     -EBADF;
		break;
	case SIO_OP_CLOSE:
		rc = conn_has_sub(c, req->handle) ? softiommu_close((int)req->handle) : -EBADF;
		if (!rc)
			conn_del_sub(c, (int)req->handle);
		break;
	case SIO_OP_STATS:
		rc = serve_stats(c, req->arg);
		break;
	case SIO_OP_MM_STATS: {
		/* As /proc/PID/status, which any process may read */
		struct sio_proto_mm_stats st;
		unsigned long pinned, locked;

		conns_settle(c);
		sio_mm_account_pid((pid_t)req->cmd, &pinned, &locked);
		st.pinned_vm = pinned;
		st.locked_vm = locked;
		rc = sio_copy_to_user(req->arg, &st, sizeof(st));
		break;
	}
	case SIO_OP_MMAP:
		rc = serve_mmap(c, req, rsp, pass_fd);
		break;
	case SIO_OP_DMA:
		rc = serve_dma(c, req);
		break;
	case SIO_OP_HELLO:
		rc = serve_hello(c, req, rfd);
		break;
	case SIO_OP_JOIN:
		rc = serve_join(c, req, rfd);
		break;
	case SIO_OP_EXITING: {
		/* Only the sender's own memory, and only what is pinned (core/mem/pages.c) */
		bool all;

		rc = (long)sio_pages_adopt_pid(pid, &all);
		/* DMA through its PTEs then reaches the copies (core/mm_pa.c) */
		if (all)
			(void)sio_mm_pa_repoint_pid(pid);
		break;
	}
	default:
		rc = -EPROTO;
	}
	rsp->fail_nth = sio_fail_nth_get();
	sio_fail_nth_set(0);
	sio_mm_unuse(old);
	return rc;
}

/* A frame as proto.h defines it, with the kernel's word on its sender; else -EPROTO */
static ssize_t recv_req(int sock, struct sio_proto_req *req, pid_t *pid, int *rfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { req, sizeof(*req) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			    .msg_controllen = sizeof(cm.buf) };
	bool creds = false;
	ssize_t n;

	do {
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
		if (h->cmsg_level != SOL_SOCKET)
			continue;
		if (h->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(h), sizeof(uc));
			*pid = uc.pid;
			creds = true;
		} else if (h->cmsg_type == SCM_RIGHTS) {
			/* One descriptor is kept (HELLO, JOIN); any other is dropped */
			size_t nfd = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < nfd; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(fd));
				if (*rfd < 0)
					*rfd = fd;
				else
					close(fd);
			}
		}
	}
	if (n != sizeof(*req) || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || !creds ||
	    req->magic != SIO_PROTO_MAGIC || req->version != SIO_PROTO_VERSION || *pid <= 0 ||
	    req->reserved)
		return -EPROTO;
	return n;
}

static void send_rsp(int sock, struct sio_proto_rsp *rsp, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { rsp, sizeof(*rsp) };
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
	rsp->magic = SIO_PROTO_MAGIC;
	/* A client that died before its reply is no error of ours */
	while (sendmsg(sock, &m, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EINTR)
		;
}

/* The last client copy is gone: destroy everything, leaves first, as a kernel close does */
static void conn_teardown(struct conn *c)
{
	/* No join finds this connection from here on (serve_join) */
	pthread_mutex_lock(&conns_lock);
	c->cookie = 0;
	pthread_mutex_unlock(&conns_lock);
	for (size_t i = 0; i < c->nsubs; i++)
		softiommu_close(c->subs[i]);
	softiommu_close(c->ctx_fd);
	sio_mm_put(c->mm);
	free(c->bounce);
	free(c->subs);
	c->subs = NULL;
	atomic_fetch_sub(&sio_serve_conns, 1);
	conns_del(c);
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;

	for (;;) {
		struct sio_proto_req req;
		struct sio_proto_rsp rsp = { 0 };
		int pass_fd = -1;
		pid_t pid = 0;
		int rfd = -1;
		ssize_t n = recv_req(c->sock, &req, &pid, &rfd);

		if (n == 0 || (n < 0 && n != -EPROTO)) {
			if (rfd >= 0)
				close(rfd);
			break;
		}
		rsp.seq = n > 0 ? req.seq : 0;
		rsp.ret = n < 0 ? n : serve_one(c, &req, pid, rfd, &rsp, &pass_fd);
		/* close(), not the system call: a sanitizer tracks descriptors it saw received */
		if (rfd >= 0)
			close(rfd);
		c->nreq++;
		send_rsp(c->sock, &rsp, pass_fd);
		atomic_fetch_add(&sio_serve_requests, 1);
	}
	conn_teardown(c);
	/* Off the list: no settling thread polls the socket any more */
	syscall(SYS_close, c->sock);
	free(c);
	return NULL;
}

static int conn_start(int sock)
{
	struct conn *c = calloc(1, sizeof(*c));
	pthread_attr_t a;
	pthread_t t;
	int one = 1, rc;

	if (!c)
		return -ENOMEM;
	c->sock = sock;
	c->ctx_fd = softiommu_open(O_CLOEXEC);
	if (c->ctx_fd < 0 || setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one))) {
		rc = c->ctx_fd < 0 ? c->ctx_fd : -errno;
		if (c->ctx_fd >= 0)
			softiommu_close(c->ctx_fd);
		free(c);
		return rc;
	}
	atomic_fetch_add(&sio_serve_conns, 1);
	conns_settle(NULL);
	conns_add(c);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	rc = -pthread_create(&t, &a, conn_thread, c);
	pthread_attr_destroy(&a);
	if (rc) {
		atomic_fetch_sub(&sio_serve_conns, 1);
		softiommu_close(c->ctx_fd);
		conns_del(c);
		free(c);
	}
	return rc;
}

/**
 * sio_serve_conn() - serve connected socket @sock (SOCK_SEQPACKET) as one client connection
 *
 * What sio_serve_loop() does with each accepted socket; the fuzz target's way in. The socket
 * is the connection's from here on, also on failure (closed). Return: 0 or -errno.
 */
int sio_serve_conn(int sock)
{
	int rc = conn_start(sock);

	if (rc)
		syscall(SYS_close, sock);
	return rc;
}

/**
 * sio_serve_listen() - bind and listen at @path (removed first when it is a stale socket)
 *
 * Return: the listening descriptor, or -errno.
 */
int sio_serve_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, one = 1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128)) {
		int rc = -errno;

		syscall(SYS_close, fd);
		return rc;
	}
	return fd;
}

/**
 * sio_serve_loop() - accept connections on @lfd until it fails (it is closed or shut down)
 *
 * Return: 0 once accept() reports the listener gone, else -errno of the failure.
 */
int sio_serve_loop(int lfd)
{
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (s < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE || errno == ENOMEM)
				continue;
			return errno == EINVAL || errno == EBADF ? 0 : -errno;
		}
		if (conn_start(s))
			syscall(SYS_close, s);
	}
}
