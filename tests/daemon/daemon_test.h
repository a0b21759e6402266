/* SPDX-License-Identifier: MIT */
/*
 * daemon_test.h — what the daemon tests share: a daemon in a child process on a private
 * socket (SOFTIOMMU_DAEMON set for this process and its children), and its counters.
 */
#ifndef SIO_DAEMON_TEST_H
#define SIO_DAEMON_TEST_H

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/testlib.h"
#include "../../src/frontend/daemon/proto.h"
#include "../../src/frontend/daemon/serve.h"

#ifndef SIO_CLI_PATH
#error "SIO_CLI_PATH: the softiommu command, from CMake"
#endif

static char dt_dir[] = "/tmp/softiommu-test-daemon.XXXXXX";
static char dt_sock[sizeof(dt_dir) + 16];
static pid_t dt_pid;

/*
 * `softiommu serve`, exec'ed (not just forked) so that its address space is laid out
 * independently of ours, as a real daemon's is
 */
static inline void dt_start(void)
{
	if (!mkdtemp(dt_dir))
		exit(2);
	snprintf(dt_sock, sizeof(dt_sock), "%s/iommu.sock", dt_dir);
	unsetenv("SOFTIOMMU_DAEMON");
	dt_pid = fork();
	if (dt_pid == 0) {
		execl(SIO_CLI_PATH, "softiommu", "serve", "--socket", dt_sock, (char *)NULL);
		_exit(127);
	}
	setenv("SOFTIOMMU_DAEMON", dt_sock, 1);
	for (int i = 0; i < 2000; i++) {
		int fd = softiommu_open(0);

		if (fd >= 0) {
			softiommu_close(fd);
			return;
		}
		usleep(5000);
	}
	fprintf(stderr, "no daemon at %s\n", dt_sock);
	exit(2);
}

/* The daemon must still be there: a client never takes it down */
static inline void dt_stop(void)
{
	int status;

	CHECK(waitpid(dt_pid, &status, WNOHANG) == 0);
	kill(dt_pid, SIGKILL);
	waitpid(dt_pid, &status, 0);
	unlink(dt_sock);
	rmdir(dt_dir);
}

static inline struct sio_proto_stats dt_stats(int fd)
{
	struct sio_proto_stats st = { 0 };

	CHECK_OK(sio_remote_stats(fd, &st));
	return st;
}

/* Counters as a fresh connection sees them (every hung-up connection torn down first) */
static inline struct sio_proto_stats dt_stats_fresh(void)
{
	int fd = softiommu_open(0);
	struct sio_proto_stats st = dt_stats(fd);

	softiommu_close(fd);
	st.live_objects -= 1; /* the context just opened to ask */
	st.connections -= 1;
	st.client_mms -= 1;    /* and the asking process's address space */
	return st;
}

#endif
