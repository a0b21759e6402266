// SPDX-License-Identifier: MIT
/*
 * daemon.c — the CLI's daemon mode (docs/daemon.md):
 *   softiommu serve [--socket PATH]   host iommufd contexts for other processes
 *   softiommu run --daemon -- CMD     start a daemon on a private socket, run CMD with the
 *                                     shim forwarding to it, stop the daemon after CMD
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../daemon/serve.h"
#include "daemon.h"

int cli_serve(int argc, char **argv)
{
	const char *path = getenv("SOFTIOMMU_DAEMON");
	int lfd;

	if (argc >= 2 && !strcmp(argv[0], "--socket"))
		path = argv[1];
	else if (argc)
		path = NULL;
	if (!path || !*path) {
		fprintf(stderr, "usage: softiommu serve --socket PATH\n");
		return 2;
	}
	unsetenv("SOFTIOMMU_DAEMON"); /* our own contexts are local */
	lfd = sio_serve_listen(path);
	if (lfd < 0) {
		fprintf(stderr, "softiommu serve: %s: %s\n", path, strerror(-lfd));
		return 1;
	}
	fprintf(stderr, "softiommu: serving on %s\n", path);
	return sio_serve_loop(lfd) ? 1 : 0;
}

static char run_dir[] = "/tmp/softiommu-daemon.XXXXXX";
static char sock_path[sizeof(run_dir) + 16];
static pid_t daemon_pid;

/* Before the program: a daemon on a socket in a private directory, listening already */
int cli_daemon_start(void)
{
	int lfd;

	if (!mkdtemp(run_dir)) {
		perror("softiommu run --daemon: mkdtemp");
		return -1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/iommu.sock", run_dir);
	lfd = sio_serve_listen(sock_path);
	if (lfd < 0) {
		fprintf(stderr, "softiommu run --daemon: %s: %s\n", sock_path, strerror(-lfd));
		rmdir(run_dir);
		return -1;
	}
	daemon_pid = fork();
	if (daemon_pid < 0) {
		perror("softiommu run --daemon: fork");
		return -1;
	}
	if (daemon_pid == 0) {
		unsetenv("SOFTIOMMU_DAEMON");
		_exit(sio_serve_loop(lfd) ? 1 : 0);
	}
	close(lfd);
	setenv("SOFTIOMMU_DAEMON", sock_path, 1);
	return 0;
}

void cli_daemon_stop(void)
{
	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, NULL, 0);
	unlink(sock_path);
	rmdir(run_dir);
}

/**
 * cli_run_daemon() - run the rest of `softiommu run` as a child with a daemon around it
 *
 * Return: in the child, -1 (carry on with the run); in the parent, never (exits with the
 * program's status).
 */
int cli_run_daemon(void)
{
	int status;
	pid_t pid;

	if (cli_daemon_start())
		exit(1);
	pid = fork();
	if (pid < 0) {
		perror("softiommu run --daemon: fork");
		cli_daemon_stop();
		exit(1);
	}
	if (pid == 0)
		return -1;
	signal(SIGINT, SIG_IGN);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	cli_daemon_stop();
	if (WIFSIGNALED(status))
		exit(128 + WTERMSIG(status));
	exit(WEXITSTATUS(status));
}
