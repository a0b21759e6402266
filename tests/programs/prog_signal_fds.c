// SPDX-License-Identifier: MIT
/*
 * A signal handler that touches descriptors while the thread it interrupted is inside the
 * shim: the handler reads a fault queue and writes to a pipe (the self-pipe idiom) while the
 * main thread opens and closes softiommu files, issues ioctls and reads its fail-nth file.
 * The shim's routing must never take a lock a handler could find held, so this must finish;
 * a deadlock ends it through alarm().
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>

#include "testlib.h"

static int qfd, pipefd[2];
static atomic_long handled, handler_errors;

static void on_usr1(int sig)
{
	struct iommu_hwpt_pgfault rec;
	int saved = errno;
	char b = 1;

	/* Nothing queued: a fault queue read returns 0; the pipe takes the byte */
	if (read(qfd, &rec, sizeof(rec)) != 0)
		atomic_fetch_add(&handler_errors, 1);
	if (write(pipefd[1], &b, 1) != 1)
		atomic_fetch_add(&handler_errors, 1);
	else if (read(pipefd[0], &b, 1) != 1)
		atomic_fetch_add(&handler_errors, 1);
	atomic_fetch_add(&handled, 1);
	errno = saved;
}

struct target {
	pthread_t thread;
	atomic_int stop;
};

static void *signaller(void *arg)
{
	struct target *t = arg;

	while (!atomic_load(&t->stop)) {
		struct timespec nap = { 0, 20 * 1000 };

		pthread_kill(t->thread, SIGUSR1);
		nanosleep(&nap, NULL);
	}
	return NULL;
}

int main(void)
{
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct target t = { .thread = pthread_self() };
	struct timespec t0, now;
	long rounds = 0;
	char nth[64], buf[16];
	pthread_t s;
	int fd, nfd;

	alarm(60);
	CHECK(pipe(pipefd) == 0);
	fd = softiommu_open(0);
	CHECK(fd >= 0);
	CHECK_OK(softiommu_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	qfd = fa.out_fault_fd;
	snprintf(nth, sizeof(nth), "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
	nfd = open(nth, O_RDWR);
	sigaction(SIGUSR1, &sa, NULL);
	CHECK(!pthread_create(&s, NULL, signaller, &t));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct iommu_fault_alloc f2 = { .size = sizeof(f2) };
		struct iommu_destroy d = { .size = sizeof(d) };

		/* Install and release files: the registry's writers */
		if (!softiommu_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &f2)) {
			close(f2.out_fault_fd);
			d.id = f2.out_fault_id;
			softiommu_ioctl(fd, IOMMU_DESTROY, &d);
		}
		if (nfd >= 0)
			pread(nfd, buf, sizeof(buf), 0);
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - t0.tv_sec < 2);
	atomic_store(&t.stop, 1);
	pthread_join(s, NULL);
	printf("%ld rounds, %ld signals handled\n", rounds, atomic_load(&handled));
	CHECK(atomic_load(&handled) > 0 && atomic_load(&handler_errors) == 0);
	if (nfd >= 0)
		close(nfd);
	CHECK_OK(softiommu_close(qfd));
	CHECK_OK(softiommu_close(fd));
	return t_done();
}
