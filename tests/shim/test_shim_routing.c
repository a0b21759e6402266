// SPDX-License-Identifier: MIT
/*
 * test_shim_routing.c — unit test of the preload shim's routing, against fake_backend.c.
 *
 * Linked with libshim-fake.so (preload.c + the fake), so its libc calls reach the shim first,
 * as under LD_PRELOAD. Each check prints "ok"/"FAIL"; the last line is "N passed, N failed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fake_backend.h"

int __open_2(const char *path, int oflag);

static int passed, failed;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (cond) {                                                          \
			passed++;                                                    \
		} else {                                                             \
			failed++;                                                    \
			printf("FAIL %s:%d: %s (errno %d)\n", __func__, __LINE__, #cond, \
			       errno);                                               \
		}                                                                    \
	} while (0)

/* What /proc/self/fd/@fd points at. */
static const char *fd_target(int fd)
{
	static char buf[256];
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = 0;
	return buf;
}

static int is_ours(int fd)
{
	return ioctl(fd, FAKE_IOCTL_ECHO) == FAKE_ECHO_VALUE;
}

static int refs(int fd)
{
	int n = -1;

	return ioctl(fd, FAKE_IOCTL_REFS, &n) ? -1 : n;
}

static int live(void)
{
	int fd = open("/dev/iommu", O_RDWR), n = -1;

	ioctl(fd, FAKE_IOCTL_LIVE, &n);
	close(fd);
	return n - 1;
}

static void test_open_routed(void)
{
	int fds[5], i;

	fds[0] = open("/dev/iommu", O_RDWR);
	fds[1] = open64("/dev/iommu", O_RDWR);
	fds[2] = openat(AT_FDCWD, "/dev/iommu", O_RDWR);
	fds[3] = openat64(123456, "/dev/iommu", O_RDWR); /* absolute: dirfd ignored */
	fds[4] = __open_2("/dev/iommu", O_RDWR);
	for (i = 0; i < 5; i++) {
		CHECK(fds[i] >= 0);
		CHECK(!strcmp(fd_target(fds[i]), "anon_inode:[eventfd]"));
		CHECK(is_ours(fds[i]));
	}
	CHECK(live() == 5);
	for (i = 0; i < 5; i++)
		CHECK(close(fds[i]) == 0);
	CHECK(live() == 0);

	fds[0] = open("/dev/iommu", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	CHECK(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(fds[0], F_GETFD) == FD_CLOEXEC);
	CHECK(close(fds[0]) == 0);
}

static void test_open_passthrough(void)
{
	int fd = open("/dev/null", O_RDWR), dfd;
	char path[] = "/tmp/shim-test-XXXXXX";

	CHECK(fd >= 0 && !strcmp(fd_target(fd), "/dev/null"));
	errno = 0;
	CHECK(ioctl(fd, FAKE_IOCTL_ECHO) == -1 && errno == ENOTTY);
	CHECK(write(fd, "x", 1) == 1);
	CHECK(close(fd) == 0);

	dfd = open("/dev", O_RDONLY | O_DIRECTORY);
	errno = 0;
	fd = openat(dfd, "iommu", O_RDWR); /* relative path: not ours */
	CHECK(fd < 0 ? errno == ENOENT : !is_ours(fd));
	if (fd >= 0)
		close(fd);
	close(dfd);

	errno = 0;
	CHECK(open("/dev/iommu/x", O_RDONLY) == -1 && errno != 0);

	fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600); /* mode argument forwarded */
	CHECK(fd >= 0 && write(fd, "abc", 3) == 3);
	close(fd);
	CHECK(unlink(path) == 0);
}

static void test_ioctl_errno(void)
{
	int fd = open("/dev/iommu", O_RDWR);

	errno = 1234;
	CHECK(ioctl(fd, FAKE_IOCTL_ECHO) == FAKE_ECHO_VALUE && errno == 1234);
	CHECK(ioctl(fd, FAKE_IOCTL_FAIL) == -1 && errno == EPERM);
	CHECK(ioctl(fd, _IO('x', 99)) == -1 && errno == ENOTTY);
	close(fd);
	errno = 0;
	CHECK(ioctl(fd, FAKE_IOCTL_ECHO) == -1 && errno == EBADF);
}

static void test_read_write_mmap(void)
{
	int fd = open("/dev/iommu", O_RDWR), p[2];
	char buf[32] = "";
	char *m;

	CHECK(read(fd, buf, sizeof(buf)) == sizeof(FAKE_READ_TEXT) &&
	      !strcmp(buf, FAKE_READ_TEXT));
	CHECK(read(fd, buf, 1) == -1 && errno == EINVAL);
	CHECK(write(fd, buf, 5) == 5);
	CHECK(write(fd, buf, 0) == -1 && errno == EINVAL);
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED && !strcmp(m, FAKE_MMAP_TEXT));
	if (m != MAP_FAILED)
		munmap(m, 4096);
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096) == MAP_FAILED && errno == EINVAL);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED && m[0] == 0);
	munmap(m, 4096);
	close(fd);

	CHECK(pipe(p) == 0);
	CHECK(write(p[1], "pipe", 5) == 5);
	CHECK(read(p[0], buf, sizeof(buf)) == 5 && !strcmp(buf, "pipe"));
	close(p[0]);
	close(p[1]);
}

static void test_dup_close(void)
{
	int fd = open("/dev/iommu", O_RDWR), d, c, other, bad;

	d = dup(fd);
	CHECK(d >= 0 && is_ours(d) && refs(fd) == 2);
	c = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	CHECK(c >= 100 && is_ours(c) && refs(fd) == 3 && fcntl(c, F_GETFD) == FD_CLOEXEC);
	CHECK(close(fd) == 0 && refs(d) == 2 && live() == 1);
	CHECK(close(c) == 0 && refs(d) == 1);
	CHECK(close(d) == 0 && live() == 0);
	CHECK(close(d) == -1 && errno == EBADF);
	CHECK(close(-1) == -1 && errno == EBADF);

	/* dup2 onto one of ours releases it */
	fd = open("/dev/iommu", O_RDWR);
	other = open("/dev/iommu", O_RDWR);
	CHECK(live() == 2);
	CHECK(dup2(fd, other) == other && live() == 1 && refs(fd) == 2 && is_ours(other));
	CHECK(dup2(fd, fd) == fd && refs(fd) == 2);
	CHECK(dup3(fd, fd, 0) == -1 && errno == EINVAL);
	close(other);

	/* a failing dup2 leaves the target alone */
	other = open("/dev/iommu", O_RDWR);
	bad = open("/dev/null", O_RDONLY);
	close(bad);
	CHECK(dup2(bad, other) == -1 && errno == EBADF && is_ours(other) && live() == 2);

	/* dup3 of a plain fd onto ours: ours released, target no longer routed */
	bad = open("/dev/null", O_RDONLY);
	CHECK(dup3(bad, other, O_CLOEXEC) == other && live() == 1 && !is_ours(other));
	CHECK(!strcmp(fd_target(other), "/dev/null"));
	close(bad);

	/* dup2 of ours onto a plain fd: target becomes ours */
	CHECK(dup2(fd, other) == other && is_ours(other) && refs(fd) == 2);
	close(other);
	close(fd);
	CHECK(live() == 0);
}

/* VmPin/VmLck in kB as the upstream selftest reads them: fgets, then fscanf. */
static long status_value(const char *path, const char *tag)
{
	char buf[80], t[80];
	long val = -1;
	FILE *fp = fopen(path, "r");

	if (!fp)
		return -1;
	while (fgets(buf, sizeof(buf), fp))
		if (fscanf(fp, "%s %ld\n", t, &val) == 2 && !strcmp(t, tag))
			break;
	fclose(fp);
	return val;
}

/* The same value straight from the kernel, bypassing the shim. */
static long raw_status_value(const char *path, const char *tag)
{
	char buf[8192], *p;
	int fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, tag);
	return p ? strtol(p + strlen(tag), NULL, 10) : -1;
}

static void test_proc_status(void)
{
	unsigned long pin[2] = { 4, 2 };
	long kb = sysconf(_SC_PAGESIZE) / 1024;
	char own[64], line[128], buf[8192];
	int fd = open("/dev/iommu", O_RDWR), sfd;
	long raw_pin = raw_status_value("/proc/self/status", "VmPin:");
	long raw_lck = raw_status_value("/proc/self/status", "VmLck:");
	ssize_t n;
	FILE *fp;

	CHECK(ioctl(fd, FAKE_IOCTL_PIN, pin) == 0);
	snprintf(own, sizeof(own), "/proc/%d/status", getpid());
	CHECK(status_value("/proc/self/status", "VmPin:") == raw_pin + 4 * kb);
	CHECK(status_value("/proc/self/status", "VmLck:") == raw_lck + 2 * kb);
	CHECK(status_value(own, "VmPin:") == raw_pin + 4 * kb);
	CHECK(status_value("/proc/thread-self/status", "VmLck:") == raw_lck + 2 * kb);
	/* another process's status is not ours to edit */
	CHECK(status_value("/proc/1/status", "VmPin:") == raw_status_value("/proc/1/status",
									  "VmPin:"));

	/* the kernel's line format, and the rest of the file intact, through open() */
	sfd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	CHECK(sfd >= 0 && fcntl(sfd, F_GETFD) == FD_CLOEXEC);
	n = read(sfd, buf, sizeof(buf) - 1);
	CHECK(n > 0);
	buf[n < 0 ? 0 : n] = 0;
	close(sfd);
	snprintf(line, sizeof(line), "\nVmPin:\t%8lu kB\n", raw_pin + 4 * kb);
	CHECK(strstr(buf, line) != NULL);
	snprintf(line, sizeof(line), "\nPid:\t%d\n", getpid());
	CHECK(strstr(buf, line) != NULL && !strncmp(buf, "Name:", 5));

	/* fopen64 and fscanf-only readers */
	fp = fopen64("/proc/self/status", "re");
	CHECK(fp != NULL);
	if (fp) {
		long v = -1;

		while (fgets(line, sizeof(line), fp))
			if (sscanf(line, "VmPin: %ld", &v) == 1)
				break;
		CHECK(v == raw_pin + 4 * kb);
		fclose(fp);
	}

	pin[0] = pin[1] = 0;
	CHECK(ioctl(fd, FAKE_IOCTL_PIN, pin) == 0);
	CHECK(status_value("/proc/self/status", "VmPin:") == raw_pin);
	close(fd);
}

#define THREADS 4
#define ITERS 2000

static void *thread_fn(void *arg)
{
	long bad = 0;
	int i;

	for (i = 0; i < ITERS; i++) {
		int fd = open("/dev/iommu", O_RDWR), d = dup(fd), n = open("/dev/null", O_RDONLY);

		bad += !is_ours(fd) || !is_ours(d) || is_ours(n);
		bad += close(fd) != 0 || close(d) != 0 || close(n) != 0;
	}
	return (void *)bad;
}

static void test_threads(void)
{
	pthread_t t[THREADS];
	long bad = 0;
	void *r;
	int i;

	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, thread_fn, NULL);
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	CHECK(bad == 0);
	CHECK(live() == 0);
}

int main(void)
{
	test_open_routed();
	test_open_passthrough();
	test_ioctl_errno();
	test_read_write_mmap();
	test_dup_close();
	test_proc_status();
	test_threads();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
