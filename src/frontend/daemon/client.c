// SPDX-License-Identifier: MIT
/*
 * client.c — the client's side of daemon mode (docs/daemon.md): an open of /dev/iommu
 * becomes a connection to `softiommu serve`, registered in the descriptor registry
 * (core/file.c) as a file whose operations are forwarded. No iommufd logic lives here.
 *
 * The connection is the program's descriptor, so fork() shares it as it shares a kernel
 * file: parent and child send on one connection and the daemon serves their requests in
 * order, each acting for the process the kernel says sent it. Calls on one connection are
 * serialised by a robust process-shared mutex in a MAP_SHARED page, which parent and child
 * both see; a reply carries its request's sequence number, so the reply to a process killed
 * in the middle of a call is skipped by the next caller rather than taken for its own.
 *
 * Descriptors an ioctl makes (an access, a fault queue, a vEVENTQ) are made in the daemon
 * and passed back: the client adopts the descriptor as a sub-file forwarding read/write and
 * writes its own number into the ioctl's output. The selftest's access operations name an
 * access by descriptor number; those numbers are turned into the daemon's for the call.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
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
#include "../../drivers/mock/iommufd_test.h"
#include "proto.h"

/* What parent and child share of one connection (MAP_SHARED) */
struct remote_shared {
	pthread_mutex_t lock;
	uint64_t seq;
};

/* One process's view of a connection: the context file and its sub-files hold it */
struct remote_conn {
	struct remote_conn *next; /* in conns (conns_lock) */
	pid_t opener;             /* the process that connected */
	atomic_int refs;
	int sock; /* a private duplicate of the connection (sio_file_hold_fd) */
	struct remote_shared *sh;
};

struct remote_file {
	struct remote_conn *conn;
	uint64_t handle; /* 0: the context; else a sub-file's number in the daemon */
	pid_t opener;
};

/* This process's connections, for the exit hook */
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct remote_conn *conns;

static void conns_lock_fork(void)
{
	pthread_mutex_lock(&conns_lock);
}

static void conns_unlock_fork(void)
{
	pthread_mutex_unlock(&conns_lock);
}

__attribute__((constructor)) static void conns_fork_init(void)
{
	pthread_atfork(conns_lock_fork, conns_unlock_fork, conns_unlock_fork);
}

static void conns_add(struct remote_conn *c)
{
	pthread_mutex_lock(&conns_lock);
	c->next = conns;
	conns = c;
	pthread_mutex_unlock(&conns_lock);
}

static void conns_del(struct remote_conn *c)
{
	pthread_mutex_lock(&conns_lock);
	for (struct remote_conn **p = &conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	pthread_mutex_unlock(&conns_lock);
}

static void conn_put(struct remote_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	conns_del(c);
	munmap(c->sh, sizeof(*c->sh));
	sio_file_drop_fd(c->sock);
	free(c);
}

static int lock_conn(struct remote_shared *sh)
{
	int rc = pthread_mutex_lock(&sh->lock);

	if (rc == EOWNERDEAD) /* a process died mid-call: its reply is skipped by seq */
		rc = pthread_mutex_consistent(&sh->lock);
	return -rc;
}

/*
 * One request and its reply; a passed descriptor lands in *@fd (else -1). @send_fd >= 0 goes
 * with the request (SCM_RIGHTS: HELLO, JOIN).
 */
static long remote_call_fd(struct remote_conn *c, struct sio_proto_req *req,
			   struct sio_proto_rsp *rsp, int *fd, int send_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	long rc = lock_conn(c->sh);
	unsigned int nth = sio_fail_nth_get();

	*fd = -1;
	if (rc)
		return rc;
	/* A fail-nth count of this thread's counts in the daemon's core, which runs the call */
	req->fail_nth = nth;
	sio_fail_nth_set(0);
	req->magic = SIO_PROTO_MAGIC;
	req->version = SIO_PROTO_VERSION;
	req->seq = ++c->sh->seq;
	do {
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} sc;
		struct iovec iov = { req, sizeof(*req) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (send_fd >= 0) {
			struct cmsghdr *h;

			memset(&sc, 0, sizeof(sc));
			m.msg_control = sc.buf;
			m.msg_controllen = sizeof(sc.buf);
			h = CMSG_FIRSTHDR(&m);
			h->cmsg_level = SOL_SOCKET;
			h->cmsg_type = SCM_RIGHTS;
			h->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(h), &send_fd, sizeof(int));
		}
		rc = sendmsg(c->sock, &m, MSG_NOSIGNAL);
	} while (rc < 0 && errno == EINTR);
	if (rc != sizeof(*req)) {
		rc = rc < 0 && errno != EPIPE ? -errno : -EIO;
		goto out;
	}
	for (;;) {
		struct iovec iov = { rsp, sizeof(*rsp) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
				    .msg_controllen = sizeof(cm.buf) };
		struct cmsghdr *h;
		ssize_t n = recvmsg(c->sock, &m, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -EIO; /* the daemon is gone */
			goto out;
		}
		h = CMSG_FIRSTHDR(&m);
		if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(h), sizeof(int));
		if (n == sizeof(*rsp) && rsp->magic == SIO_PROTO_MAGIC && rsp->seq == req->seq)
			break;
		if (*fd >= 0)
			syscall(SYS_close, *fd);
		*fd = -1;
	}
	rc = rsp->ret;
	nth = rsp->fail_nth;
out:
	sio_fail_nth_set(nth);
	pthread_mutex_unlock(&c->sh->lock);
	return rc;
}

static long remote_call(struct remote_conn *c, struct sio_proto_req *req,
			struct sio_proto_rsp *rsp, int *fd)
{
	return remote_call_fd(c, req, rsp, fd, -1);
}

static long simple_call(struct remote_file *rf, uint16_t op, uint64_t cmd, uint64_t arg,
			uint64_t len)
{
	struct sio_proto_req req = { .op = op, .handle = rf->handle, .cmd = cmd, .arg = arg,
				     .len = len };
	struct sio_proto_rsp rsp;
	long rc;
	int fd;

	rc = remote_call(rf->conn, &req, &rsp, &fd);
	if (fd >= 0)
		syscall(SYS_close, fd); /* not asked for */
	return rc;
}

/* Sub-files as the daemon's files are: read and write where they have them */
static const struct sio_file_ops sub_fops[4];

static bool is_sub(const struct sio_file *f)
{
	return f->ops >= &sub_fops[0] && f->ops <= &sub_fops[3];
}

/*
 * exit() of a process that shares a connection it did not open (a child of fork()): its
 * pinned pages must outlive it, as Linux's pins hold the pages, so the daemon copies them
 * while the process is still there (docs/daemon.md). A process killed cannot ask: what it
 * had pinned is EFAULT afterwards.
 */
__attribute__((destructor)) static void conns_exit(void)
{
	pid_t self = sio_self_pid();

	pthread_mutex_lock(&conns_lock);
	for (struct remote_conn *c = conns; c; c = c->next) {
		struct remote_file rf = { .conn = c };

		if (c->opener != self)
			(void)simple_call(&rf, SIO_OP_EXITING, 0, 0, 0);
	}
	pthread_mutex_unlock(&conns_lock);
}

static ssize_t remote_read(struct sio_file *f, void *buf, size_t len)
{
	return simple_call(f->priv, SIO_OP_READ, 0, (uintptr_t)buf, len);
}

static ssize_t remote_write(struct sio_file *f, const void *buf, size_t len)
{
	return simple_call(f->priv, SIO_OP_WRITE, 0, (uintptr_t)buf, len);
}

static void remote_release(struct sio_file *f)
{
	struct remote_file *rf = f->priv;

	/* A sub-file's last descriptor in the process that received it: the daemon closes it */
	if (rf->handle && rf->opener == sio_self_pid())
		(void)simple_call(rf, SIO_OP_CLOSE, 0, 0, 0);
	conn_put(rf->conn);
	free(rf);
}

/* Adopt descriptor @fd the daemon passed as a sub-file of @conn; returns @fd or -errno */
static int adopt_sub(struct remote_conn *conn, int fd, uint64_t handle, uint32_t bits)
{
	struct remote_file *rf = calloc(1, sizeof(*rf));
	int rc;

	if (!rf)
		return -ENOMEM;
	rf->conn = conn;
	rf->handle = handle;
	rf->opener = sio_self_pid();
	atomic_fetch_add(&conn->refs, 1);
	rc = sio_file_adopt(&sub_fops[(bits & SIO_PROTO_FD_READ ? 1 : 0) |
				      (bits & SIO_PROTO_FD_WRITE ? 2 : 0)],
			    rf, fd, O_CLOEXEC, NULL);
	if (rc) {
		conn_put(conn);
		free(rf);
		return rc;
	}
	return fd;
}

/*
 * The selftest names accesses and dma-bufs by descriptor number: where in struct
 * iommu_test_cmd operation @op carries one, or -1
 */
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

static long ctx_ioctl_remote(struct sio_file *f, unsigned long cmd, void *arg)
{
	struct remote_file *rf = f->priv;
	struct sio_proto_req req = { .op = SIO_OP_IOCTL, .handle = rf->handle, .cmd = cmd,
				     .arg = (uintptr_t)arg };
	uint64_t uarg = (uintptr_t)arg;
	uint32_t op = 0, id = 0, sub_id = 0;
	struct sio_proto_rsp rsp;
	int64_t field = -1;
	long rc;
	int fd;

	if (cmd == IOMMU_TEST_CMD &&
	    !sio_copy_from_user(&op, uarg + offsetof(struct iommu_test_cmd, op), sizeof(op)))
		field = test_fd_field(op);
	if (field >= 0 && !sio_copy_from_user(&id, uarg + field, sizeof(id))) {
		struct sio_file *sub = sio_file_get((int)id);

		/* Not a descriptor of the daemon's: say whether it is a file at all */
		if (sub && is_sub(sub))
			sub_id = (uint32_t)((struct remote_file *)sub->priv)->handle;
		else if (syscall(SYS_fcntl, (int)id, F_GETFD) >= 0)
			sub_id = SIO_PROTO_FD_NOT_OURS;
		else
			sub_id = SIO_PROTO_FD_NONE;
		/* Read by the daemon in place of our number: our memory is left alone */
		req.patch_off1 = (uint32_t)field + 1;
		req.patch_val = sub_id;
		if (sub)
			sio_file_put(sub);
	}
	rc = remote_call(rf->conn, &req, &rsp, &fd);
	/*
	 * The daemon's copy-out of the struct wrote its own number where ours was: put ours back
	 * (the kernel's copy-out writes back what it read). Read-only memory was not written.
	 */
	if (req.patch_off1) {
		uint32_t now;

		if (!sio_copy_from_user(&now, uarg + field, sizeof(now)) && now != id)
			(void)sio_copy_to_user(uarg + field, &id, sizeof(id));
	}
	if (fd >= 0) {
		uint32_t mine;
		int r = rc >= 0 && rsp.has_fd ? adopt_sub(rf->conn, fd, rsp.handle, rsp.has_fd) :
						-EBADMSG;

		if (r < 0) {
			syscall(SYS_close, fd);
			return rc >= 0 ? r : rc;
		}
		if (rsp.fd_off == SIO_PROTO_FD_IS_RET)
			return fd;
		mine = (uint32_t)fd;
		if (sio_copy_to_user(uarg + rsp.fd_off, &mine, sizeof(mine)))
			return -EFAULT;
	}
	return rc;
}

/*
 * mmap of the context (a vIOMMU's region): the daemon checks the request and records the
 * mapping at an address we reserve first, then passes the region's memfd, which we map there.
 */
static int ctx_mmap_remote(struct sio_file *f, void *addr, size_t len, int prot, int flags,
			   off_t off, void **out)
{
	struct remote_file *rf = f->priv;
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	void *at = addr, *p;
	struct sio_proto_req req = { .op = SIO_OP_MMAP, .cmd = (uint64_t)off, .len = len,
				     .handle = (uint64_t)(uint32_t)prot << 32 | (uint32_t)flags };
	struct sio_proto_rsp rsp;
	long rc;
	int fd;

	if (!len)
		return -EINVAL;
	if (!fixed) {
		at = mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (at == MAP_FAILED)
			return -errno;
	}
	req.arg = (uintptr_t)at;
	rc = remote_call(rf->conn, &req, &rsp, &fd);
	if (!rc && fd < 0)
		rc = -EBADMSG;
	if (!rc) {
		p = mmap(at, len, prot, (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED, fd, 0);
		rc = p == MAP_FAILED ? -errno : 0;
	}
	if (fd >= 0)
		syscall(SYS_close, fd);
	if (rc && !fixed)
		munmap(at, len);
	if (!rc)
		*out = at;
	return (int)rc;
}

static const struct sio_file_ops ctx_remote_fops = {
	.name = "iommufd (daemon)",
	.ioctl = ctx_ioctl_remote,
	.mmap = ctx_mmap_remote,
	.release = remote_release,
};

static const struct sio_file_ops sub_fops[4] = {
	{ .name = "iommufd sub-file (daemon)", .ioctl = ctx_ioctl_remote,
	  .release = remote_release },
	{ .name = "iommufd sub-file (daemon)", .ioctl = ctx_ioctl_remote, .read = remote_read,
	  .release = remote_release },
	{ .name = "iommufd sub-file (daemon)", .ioctl = ctx_ioctl_remote, .write = remote_write,
	  .release = remote_release },
	{ .name = "iommufd sub-file (daemon)", .ioctl = ctx_ioctl_remote, .read = remote_read,
	  .write = remote_write, .release = remote_release },
};

static struct remote_shared *shared_alloc(void)
{
	struct remote_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t a;

	if (sh == MAP_FAILED)
		return NULL;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&sh->lock, &a);
	pthread_mutexattr_destroy(&a);
	sh->seq = 0;
	return sh;
}

static int connect_daemon(const char *path, int flags)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int type = SOCK_SEQPACKET | (flags & O_CLOEXEC ? SOCK_CLOEXEC : 0);
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, type, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int rc = -errno;

		syscall(SYS_close, fd);
		return rc == -ENOENT || rc == -ECONNREFUSED ? -ENODEV : rc;
	}
	return fd;
}

/**
 * sio_remote_open() - open /dev/iommu in the daemon listening at @path
 * @flags: open(2) flags; O_CLOEXEC and O_NONBLOCK are kept
 *
 * Return: the new descriptor, or -errno (-ENODEV when no daemon listens there).
 */
/* A first frame carrying descriptor @send_fd (HELLO, JOIN) on socket @sock */
static long first_call(int sock, uint16_t op, int send_fd)
{
	struct remote_shared sh = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct remote_conn tmp = { .sh = &sh, .sock = sock };
	struct sio_proto_req req = { .op = op };
	struct sio_proto_rsp rsp;
	long rc;
	int fd;

	rc = remote_call_fd(&tmp, &req, &rsp, &fd, send_fd);
	if (fd >= 0)
		syscall(SYS_close, fd);
	return rc;
}

int sio_remote_open(const char *path, int flags)
{
	struct remote_conn *c = calloc(1, sizeof(*c));
	struct remote_file *rf = calloc(1, sizeof(*rf));
	struct sio_file *f;
	int fd, rc = -ENOMEM;

	if (!c || !rf)
		goto err;
	c->sh = shared_alloc();
	if (!c->sh)
		goto err;
	fd = connect_daemon(path, flags);
	if (fd < 0) {
		rc = fd;
		goto err_sh;
	}
	/* Before anyone else can hold the descriptor: which socket is ours (serve_hello) */
	rc = (int)first_call(fd, SIO_OP_HELLO, fd);
	if (rc) {
		syscall(SYS_close, fd);
		goto err_sh;
	}
	atomic_init(&c->refs, 1);
	c->opener = sio_self_pid();
	rf->conn = c;
	rf->opener = sio_self_pid();
	rc = sio_file_adopt(&ctx_remote_fops, rf, fd, flags & (O_CLOEXEC | O_NONBLOCK), &f);
	if (rc) {
		syscall(SYS_close, fd);
		goto err_sh;
	}
	/* A system call: the shim would take fcntl() on our descriptor for a dup() of it */
	c->sock = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
	if (c->sock < 0 || sio_file_hold_fd(f, c->sock)) {
		/* The file is registered: closing it releases rf and c with it */
		if (c->sock >= 0)
			syscall(SYS_close, c->sock);
		c->sock = -1;
		sio_file_close(fd);
		return -EMFILE;
	}
	conns_add(c);
	return fd;
err_sh:
	munmap(c->sh, sizeof(*c->sh));
err:
	free(c);
	free(rf);
	return rc;
}

/**
 * sio_remote_stats() - the counters of the daemon behind iommufd descriptor @fd (tests)
 *
 * Return: 0, -EBADF when @fd is not a daemon-mode descriptor, or the daemon's -errno.
 */
int sio_remote_stats(int fd, struct sio_proto_stats *st)
{
	struct sio_file *f = sio_file_get(fd);
	long rc = -EBADF;

	if (f && (f->ops == &ctx_remote_fops || is_sub(f)))
		rc = simple_call(f->priv, SIO_OP_STATS, 0, (uintptr_t)st, sizeof(*st));
	if (f)
		sio_file_put(f);
	return (int)rc;
}

/**
 * sio_remote_mm_account() - VmPin/VmLck (pages) the daemon at @path charges to process @pid
 *
 * For the shim's /proc/PID/status. A connection of its own, so that it works whatever
 * descriptors the caller holds. Return: 0 or -errno.
 */
int sio_remote_mm_account(const char *path, pid_t pid, unsigned long *pinned,
			  unsigned long *locked)
{
	struct sio_proto_mm_stats st = { 0 };
	struct remote_shared sh = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct remote_conn c = { .sh = &sh };
	struct sio_proto_req req = { .op = SIO_OP_MM_STATS, .cmd = (uint64_t)pid,
				     .arg = (uintptr_t)&st };
	struct sio_proto_rsp rsp;
	long rc;
	int fd;

	c.sock = connect_daemon(path, O_CLOEXEC);
	if (c.sock < 0)
		return c.sock;
	rc = remote_call(&c, &req, &rsp, &fd);
	if (fd >= 0)
		syscall(SYS_close, fd);
	syscall(SYS_close, c.sock);
	*pinned = st.pinned_vm;
	*locked = st.locked_vm;
	return (int)rc;
}

/**
 * sio_remote_dma() - a DMA of device object @dev_id of the context behind @fd (a device model)
 * @pasid: SIO_NO_PASID (0) for none
 * @write: from @buf into the IOVA space, else from it into @buf
 *
 * The device is attached by whoever built the context (a VMM that passed @fd, or a parent
 * process); the pages are whichever process mapped them. Return: 0, -EFAULT (a DMA fault:
 * routed as the device's faults are; the bytes before it moved), -ENOENT (no such device),
 * -EINVAL (nothing, or more than SIO_PROTO_DMA_MAX bytes), -EBADF (not a daemon-mode
 * iommufd), -EIO (the daemon is gone).
 */
int sio_remote_dma(int fd, uint32_t dev_id, uint32_t pasid, uint64_t iova, void *buf,
		   size_t len, bool write)
{
	struct sio_file *f = sio_file_get(fd);
	struct sio_proto_req req = { .op = SIO_OP_DMA,
				     .handle = dev_id | (uint64_t)pasid << 32,
				     .cmd = iova, .arg = (uintptr_t)buf, .len = len,
				     .patch_val = write ? SIO_PROTO_DMA_WRITE : 0 };
	struct sio_proto_rsp rsp;
	long rc = -EBADF;
	int pfd;

	if (f && f->ops == &ctx_remote_fops) {
		struct remote_file *rf = f->priv;

		rc = remote_call(rf->conn, &req, &rsp, &pfd);
		if (pfd >= 0)
			syscall(SYS_close, pfd);
	}
	if (f)
		sio_file_put(f);
	return (int)rc;
}

/* The program's descriptor stays open: only our record of it goes */
static int keep_fd(void *arg)
{
	(void)arg;
	return 0;
}

/**
 * sio_remote_adopt() - make @fd, an iommufd this process received (SCM_RIGHTS) from a
 * process in daemon mode, a descriptor of this process
 *
 * @fd is the client end of the sender's connection. This process opens a connection of its
 * own to the same daemon (the peer's address) and joins it to that context by passing @fd,
 * which proves it holds it (serve_join); @fd keeps its number and its calls go over the new
 * connection, serialised in this process only, acting for this process's memory. The context
 * lives while any process holds it, as a kernel file does.
 * Return: @fd, or -errno: -ENOTSOCK (not a socket), -EINVAL (not a daemon's connection),
 * -EPERM (the daemon knows no such connection), -EEXIST (already a softiommu descriptor).
 */
int sio_remote_adopt(int fd)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	struct remote_conn *c;
	struct remote_file *rf;
	struct sio_file *f;
	int type = 0, sock, rc, fl, fdfl;
	socklen_t tlen = sizeof(type);

	if (fd < 0)
		return -EBADF;
	if (sio_file_is_fd(fd))
		return -EEXIST;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen))
		return errno == ENOTSOCK ? -ENOTSOCK : -errno;
	memset(&sa, 0, sizeof(sa));
	if (type != SOCK_SEQPACKET || getpeername(fd, (struct sockaddr *)&sa, &len) ||
	    sa.sun_family != AF_UNIX || len <= offsetof(struct sockaddr_un, sun_path) ||
	    !sa.sun_path[0])
		return -EINVAL;
	sa.sun_path[sizeof(sa.sun_path) - 1] = 0;
	fdfl = (int)syscall(SYS_fcntl, fd, F_GETFD);
	fl = (int)syscall(SYS_fcntl, fd, F_GETFL);
	if (fdfl < 0 || fl < 0)
		return -EBADF;
	fl = (fl & O_NONBLOCK) | (fdfl & FD_CLOEXEC ? O_CLOEXEC : 0);
	c = calloc(1, sizeof(*c));
	rf = calloc(1, sizeof(*rf));
	rc = -ENOMEM;
	if (!c || !rf)
		goto err;
	c->sh = shared_alloc();
	if (!c->sh)
		goto err;
	sock = connect_daemon(sa.sun_path, O_CLOEXEC);
	if (sock < 0) {
		rc = sock == -ENODEV ? -EINVAL : sock;
		goto err_sh;
	}
	rc = (int)first_call(sock, SIO_OP_JOIN, fd);
	if (rc)
		goto err_sock;
	atomic_init(&c->refs, 1);
	/* Not the opener: at exit its pins are handed over, as a fork child's (conns_exit) */
	c->opener = 0;
	c->sock = sock;
	rf->conn = c;
	rf->opener = sio_self_pid();
	rc = sio_file_adopt(&ctx_remote_fops, rf, fd, fl, &f);
	if (rc)
		goto err_sock;
	if (sio_file_hold_fd(f, sock)) {
		/* Registered: unregister without closing the program's @fd; that frees rf, c */
		syscall(SYS_close, sock);
		c->sock = -1;
		(void)sio_file_close_with(fd, keep_fd, NULL);
		return -EMFILE;
	}
	conns_add(c);
	return fd;
err_sock:
	syscall(SYS_close, sock);
err_sh:
	munmap(c->sh, sizeof(*c->sh));
err:
	free(c);
	free(rf);
	return rc;
}

/* A remote device: device object @dev_id of the context behind a daemon-mode iommufd */
struct sio_remote_dev {
	struct remote_conn *conn;
	uint32_t dev_id;
};

/**
 * sio_remote_dev_open() - device @dev_id of the context behind @iommufd (a device model's view
 * of a device a VMM bound), for sio_remote_dev_rwv()
 *
 * Return: 0, -EBADF (not a daemon-mode iommufd), -ENOENT (no such device), -ENOMEM.
 */
int sio_remote_dev_open(int iommufd, uint32_t dev_id, struct sio_remote_dev **out)
{
	struct sio_file *f = sio_file_get(iommufd);
	struct iommu_hw_info info = { .size = sizeof(info), .dev_id = dev_id };
	struct sio_remote_dev *d = NULL;
	long rc = -EBADF;

	if (f && f->ops == &ctx_remote_fops) {
		struct remote_file *rf = f->priv;
		struct sio_proto_req req = { .op = SIO_OP_IOCTL, .cmd = IOMMU_GET_HW_INFO,
					     .arg = (uintptr_t)&info };
		struct sio_proto_rsp rsp;
		int pfd;

		/* The device is looked up as any ioctl naming it: ENOENT when it is none */
		rc = remote_call(rf->conn, &req, &rsp, &pfd);
		if (pfd >= 0)
			syscall(SYS_close, pfd);
		if (!rc) {
			d = calloc(1, sizeof(*d));
			rc = d ? 0 : -ENOMEM;
		}
		if (d) {
			atomic_fetch_add(&rf->conn->refs, 1);
			d->conn = rf->conn;
			d->dev_id = dev_id;
		}
	}
	if (f)
		sio_file_put(f);
	if (!rc)
		*out = d;
	return (int)rc;
}

void sio_remote_dev_free(struct sio_remote_dev *d)
{
	if (!d)
		return;
	conn_put(d->conn);
	free(d);
}

/*
 * @nr segments in order, one SIO_OP_DMA per SIO_PROTO_DMA_MAX bytes; *@moved counts the
 * calls that completed (the bytes a faulting call moved before the fault are not counted)
 */
int sio_remote_dev_rwv(struct sio_remote_dev *d, uint32_t pasid,
		       const struct softiommu_dma_seg *segs, unsigned int nr, bool write,
		       size_t *moved)
{
	size_t done = 0;
	long rc = 0;

	if (moved)
		*moved = 0;
	if (!segs || !nr)
		return -EINVAL;
	for (unsigned int i = 0; i < nr; i++)
		if (!segs[i].buf || !segs[i].len || segs[i].iova + segs[i].len - 1 < segs[i].iova)
			return -EINVAL;
	for (unsigned int i = 0; !rc && i < nr; i++) {
		for (size_t off = 0; !rc && off < segs[i].len; off += SIO_PROTO_DMA_MAX) {
			size_t n = (size_t)min_t(uint64_t, SIO_PROTO_DMA_MAX, segs[i].len - off);
			struct sio_proto_req req = {
				.op = SIO_OP_DMA, .handle = d->dev_id | (uint64_t)pasid << 32,
				.cmd = segs[i].iova + off, .arg = (uintptr_t)segs[i].buf + off,
				.len = n, .patch_val = write ? SIO_PROTO_DMA_WRITE : 0 };
			struct sio_proto_rsp rsp;
			int pfd;

			rc = remote_call(d->conn, &req, &rsp, &pfd);
			if (pfd >= 0)
				syscall(SYS_close, pfd);
			if (!rc)
				done += n;
		}
	}
	if (moved)
		*moved = done;
	return (int)rc;
}
