// SPDX-License-Identifier: MIT
/*
 * softiommu demo multiprocess: one IOMMU shared by a "VMM" and a separate "device model"
 * process through a private daemon (docs/daemon.md). The VMM builds the IOAS, maps its guest
 * RAM and attaches a device; a device-model process — a separate program (exec'ed), which
 * the VMM hands its iommufd over a UNIX socket by SCM_RIGHTS, as a vhost-user backend is
 * handed one — adopts it (softiommu_adopt_fd) and DMAs through that device into the VMM's
 * RAM (softiommu_dev_open_remote, softiommu_dma_*). Then each side is killed in turn:
 *   - the device model: the VMM loses nothing (its RAM, mappings and device are all there, a
 *     new device model carries on), and the daemon holds exactly the VMM's pins;
 *   - the VMM: the device model keeps a working iommufd, and its DMA into the dead VMM's RAM
 *     is a fault (EFAULT), never anyone else's memory; once it closes, the daemon holds
 *     nothing: no connection, object, pin, client address space or address window.
 * The daemon's counters are printed at each step (SIO_OP_STATS).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <softiommu/softiommu.h>

#include "daemon.h"
#include "drivers/mock/iommufd_test.h"
#include "frontend/daemon/proto.h"
#include "frontend/daemon/serve.h"

#define PG 4096UL
#define RAM_LEN (256 * PG)
#define RAM_IOVA ((uint64_t)MOCK_APERTURE_START)
#define REQ_IOVA RAM_IOVA             /* the "request" the device model reads */
#define RSP_IOVA (RAM_IOVA + 16 * PG) /* where it writes its response */

static int to_orch[2], vmm_to_orch[2], to_vmm[2], to_dm[2];
static uint32_t ioas_id;

static void die(const char *who, const char *what, long rc)
{
	fprintf(stderr, "demo multiprocess: %s: %s: %s\n", who, what, strerror((int)-rc));
	_exit(1);
}

static void say(int fd, const void *msg, size_t len)
{
	if (write(fd, msg, len) != (ssize_t)len)
		_exit(1);
}

static void hear(int fd, void *msg, size_t len)
{
	if (read(fd, msg, len) != (ssize_t)len)
		_exit(1);
}

/* The orchestrator's: a side that died unasked fails the demo, and takes the daemon down */
static void o_hear(int fd, void *msg, size_t len)
{
	if (read(fd, msg, len) == (ssize_t)len)
		return;
	fprintf(stderr, "demo multiprocess: a process died unasked\n");
	cli_daemon_stop();
	exit(1);
}

/* The daemon's counters, less the connection (and address space) asking */
static struct sio_proto_stats show(const char *when)
{
	struct sio_proto_stats st = { 0 };
	int fd = softiommu_open(O_CLOEXEC);
	long rc = fd < 0 ? fd : sio_remote_stats(fd, &st);

	if (rc)
		die("orchestrator", "stats", rc);
	softiommu_close(fd);
	printf("   daemon, %s: %llu connection(s), %llu object(s), %llu pinned page(s), "
	       "%llu client address space(s), %llu address window(s)\n",
	       when, (unsigned long long)st.connections - 1, (unsigned long long)st.live_objects - 1,
	       (unsigned long long)st.pinned_pages, (unsigned long long)st.client_mms - 1,
	       (unsigned long long)st.pa_windows);
	fflush(stdout);
	st.connections--;
	st.live_objects--;
	st.client_mms--;
	return st;
}

static bool holds_nothing(const struct sio_proto_stats *st)
{
	return !st->connections && !st->live_objects && !st->pinned_pages && !st->client_mms &&
	       !st->pa_windows;
}

/* What the exec'ed device model is told, in SIO_DEMO_DM (the demo's own command runs it) */
#define DM_ENV "SIO_DEMO_DM"

/* The iommufd from the VMM, by SCM_RIGHTS over @sock, with the device's and the IOAS's IDs */
static int receive_iommufd(int sock, uint32_t ids[2])
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { ids, 2 * sizeof(uint32_t) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			    .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *h;
	int fd = -1;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 2 * sizeof(uint32_t))
		return -EIO;
	h = CMSG_FIRSTHDR(&m);
	if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(h), sizeof(fd));
	return fd >= 0 ? fd : -EBADMSG;
}

static void send_iommufd(int sock, int fd, const uint32_t ids[2])
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { (void *)ids, 2 * sizeof(uint32_t) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			    .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *h;

	memset(&cm, 0, sizeof(cm));
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	if (sendmsg(sock, &m, MSG_NOSIGNAL) != 2 * sizeof(uint32_t))
		die("VMM", "SCM_RIGHTS", -errno);
}

/*
 * The device model, an exec'ed program: it never inherited the iommufd; it receives it over
 * its socket, adopts it, and opens the VMM's device for its DMA. It serves the request once,
 * reports, then either loops (to be killed mid-DMA) or waits for the word to try again after
 * the VMM is gone.
 */
static void device_model(int sock, int orch, int word, bool loop)
{
	char req[64] = { 0 }, rsp[64];
	struct softiommu_dev *dev;
	unsigned long n = 0;
	uint32_t ids[2];
	int fd = receive_iommufd(sock, ids);
	long rc;

	if (fd < 0)
		die("device model", "receive the iommufd", fd);
	rc = softiommu_adopt_fd(fd);
	if (rc != fd)
		die("device model", "adopt the iommufd", rc < 0 ? rc : -EBADF);
	ioas_id = ids[1];
	rc = softiommu_dev_open_remote(fd, ids[0], &dev);
	if (rc)
		die("device model", "open the VMM's device", rc);
	rc = softiommu_dma_read(dev, 0, REQ_IOVA, req, sizeof(req));
	if (rc)
		die("device model", "DMA read", rc);
	snprintf(rsp, sizeof(rsp), "done by device model %d", (int)getpid());
	rc = softiommu_dma_write(dev, 0, RSP_IOVA, rsp, sizeof(rsp));
	if (rc)
		die("device model", "DMA write", rc);
	printf("   device model %d (exec'ed, iommufd %d received by SCM_RIGHTS): read \"%s\" by "
	       "DMA at IOVA 0x%llx, wrote its response at 0x%llx\n", (int)getpid(), fd, req,
	       (unsigned long long)REQ_IOVA, (unsigned long long)RSP_IOVA);
	fflush(stdout);
	say(orch, "r", 1);
	while (loop) { /* until SIGKILL: 4 KiB and 1 MiB DMAs back to back */
		static char big[RAM_LEN];

		rc = softiommu_dma_read(dev, 0, RAM_IOVA, big, ++n % 2 ? PG : RAM_LEN);
		if (rc)
			die("device model", "DMA loop", rc);
	}
	hear(word, req, 1);
	rc = softiommu_dma_read(dev, 0, REQ_IOVA, req, sizeof(req));
	printf("   device model %d: DMA into the dead VMM's RAM: %s\n", (int)getpid(),
	       rc ? strerror((int)-rc) : "succeeded (wrong!)");
	{
		struct iommu_iova_range r;
		struct iommu_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = ioas_id,
						    .num_iovas = 1, .allowed_iovas = (uintptr_t)&r };
		long qrc = softiommu_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q);

		printf("   device model %d: its iommufd still works: IOAS_IOVA_RANGES %s\n",
		       (int)getpid(), qrc ? strerror((int)-qrc) : "ok");
	}
	fflush(stdout);
	say(orch, rc == -EFAULT ? "f" : "x", 1);
	hear(word, req, 1);
	softiommu_dev_destroy(dev);
	softiommu_close(fd);
	say(orch, "c", 1);
	_exit(0);
}

/*
 * A device model: a fresh program (this command, exec'ed: nothing of the VMM's address space
 * or descriptors but its socket and the demo's pipes), then the iommufd by SCM_RIGHTS
 */
static pid_t spawn_dm(int fd, uint32_t idev, bool loop)
{
	uint32_t ids[2] = { idev, ioas_id };
	char env[64];
	int sp[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp))
		die("VMM", "socketpair", -errno);
	snprintf(env, sizeof(env), "%d,%d,%d,%d", sp[1], to_orch[1], to_dm[0], loop);
	pid = fork();
	if (pid == 0) {
		setenv(DM_ENV, env, 1);
		execl("/proc/self/exe", "softiommu", "demo", "multiprocess", (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		die("VMM", "fork", -errno);
	close(sp[1]);
	send_iommufd(sp[0], fd, ids);
	close(sp[0]);
	return pid;
}

static void vmm(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd dom = { .size = sizeof(dom), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_ioas_map map = { .size = sizeof(map) };
	char *ram = mmap(NULL, RAM_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = softiommu_open(O_CLOEXEC);
	pid_t dm;
	char cmd;
	long rc;

	if (fd < 0 || ram == MAP_FAILED)
		die("VMM", "open", fd < 0 ? fd : -errno);
	rc = softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &alloc);
	if (rc)
		die("VMM", "IOAS_ALLOC", rc);
	memset(ram, 0, RAM_LEN);
	snprintf(ram, 64, "request from VMM %d", (int)getpid());
	ioas_id = alloc.out_ioas_id;
	map.ioas_id = alloc.out_ioas_id;
	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	map.user_va = (uintptr_t)ram;
	map.length = RAM_LEN;
	map.iova = RAM_IOVA;
	rc = softiommu_ioctl(fd, IOMMU_IOAS_MAP, &map);
	if (rc)
		die("VMM", "IOAS_MAP", rc);
	dom.id = alloc.out_ioas_id;
	rc = softiommu_ioctl(fd, IOMMU_TEST_CMD, &dom);
	if (rc)
		die("VMM", "MOCK_DOMAIN", rc);
	printf("   VMM %d: IOAS %u, %lu KiB of guest RAM at IOVA 0x%llx, device %u attached "
	       "through HWPT %u\n", (int)getpid(), alloc.out_ioas_id, RAM_LEN / 1024,
	       (unsigned long long)RAM_IOVA, dom.mock_domain.out_idev_id,
	       dom.mock_domain.out_hwpt_id);
	fflush(stdout);
	dm = spawn_dm(fd, dom.mock_domain.out_idev_id, true);
	say(vmm_to_orch[1], &dm, sizeof(dm));
	hear(to_vmm[0], &cmd, 1); /* the device model was killed */
	printf("   VMM %d: its RAM has \"%s\" at IOVA 0x%llx\n", (int)getpid(), ram + 16 * PG,
	       (unsigned long long)RSP_IOVA);
	memset(ram + 16 * PG, 0, 64);
	rc = sio_remote_dma(fd, dom.mock_domain.out_idev_id, 0, REQ_IOVA, &cmd, 1, false);
	printf("   VMM %d: after the kill its IOAS and device are intact (its own DMA: %s); "
	       "a new device model:\n", (int)getpid(), rc ? strerror((int)-rc) : "ok");
	fflush(stdout);
	dm = spawn_dm(fd, dom.mock_domain.out_idev_id, false);
	say(vmm_to_orch[1], &dm, sizeof(dm));
	pause(); /* until SIGKILL */
	_exit(0);
}

int cli_demo_multiprocess(void)
{
	struct sio_proto_stats st, at_work;
	pid_t vmm_pid, dm;
	bool ok = true, empty;
	int status;
	char c;

	const char *dm_env = getenv(DM_ENV);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (dm_env) {
		int sock, orch, word, loop;

		if (sscanf(dm_env, "%d,%d,%d,%d", &sock, &orch, &word, &loop) != 4)
			return 2;
		unsetenv(DM_ENV);
		device_model(sock, orch, word, loop);
	}
	if (pipe(to_orch) || pipe(vmm_to_orch) || pipe(to_vmm) || pipe(to_dm) || cli_daemon_start())
		return 1;
	printf("== a private daemon serves /dev/iommu (SOFTIOMMU_DAEMON=%s)\n",
	       getenv("SOFTIOMMU_DAEMON"));
	st = show("at the start");
	ok &= holds_nothing(&st);
	printf("\n== the VMM builds the context; a device-model process DMAs through it\n");
	vmm_pid = fork();
	if (vmm_pid == 0)
		vmm();
	/* Only the others write to us: a read finds them gone rather than waits */
	close(to_orch[1]);
	close(vmm_to_orch[1]);
	o_hear(vmm_to_orch[0], &dm, sizeof(dm));
	o_hear(to_orch[0], &c, 1);
	at_work = show("VMM and device model at work");
	/* The VMM's connection, and the one the device model joined to its context */
	ok &= at_work.pinned_pages == RAM_LEN / PG && at_work.connections == 2;

	printf("\n== SIGKILL the device model %d in the middle of its DMAs\n", (int)dm);
	kill(dm, SIGKILL);
	say(to_vmm[1], "k", 1);
	o_hear(vmm_to_orch[0], &dm, sizeof(dm));
	o_hear(to_orch[0], &c, 1);
	st = show("the VMM's pins only");
	ok &= st.pinned_pages == at_work.pinned_pages && st.live_objects == at_work.live_objects &&
	      st.connections == 2;

	printf("\n== SIGKILL the VMM %d\n", (int)vmm_pid);
	kill(vmm_pid, SIGKILL);
	waitpid(vmm_pid, &status, 0);
	say(to_dm[1], "g", 1);
	o_hear(to_orch[0], &c, 1);
	ok &= c == 'f'; /* its DMA was EFAULT */
	st = show("the device model still holds the context");
	/* It holds the VMM's descriptor (its connection) and its own joined to it */
	ok &= st.connections == 2 && st.live_objects == at_work.live_objects;
	say(to_dm[1], "g", 1);
	o_hear(to_orch[0], &c, 1);
	st = show("after the device model closed its iommufd");
	empty = holds_nothing(&st);
	cli_daemon_stop();
	printf("\n%s\n", ok && empty && c == 'c' ? "nothing lost, nothing left behind" : "FAILED");
	return ok && empty && c == 'c' ? 0 : 1;
}
