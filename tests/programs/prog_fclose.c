// SPDX-License-Identifier: MIT
/*
 * Descriptors closed where the shim cannot see the close: fclose() of a stdio stream opened
 * on the iommufd (glibc closes the number itself), and a raw close system call. The number is
 * then reused for a pipe, which must behave as a pipe; the dead context must be released
 * (its pins come back) — at the fclose, or for the raw close when the shim next looks.
 */
#include <sys/syscall.h>

#include "progs.h"

#define PAGES 8

/* A pipe that takes the number @fd had: it reads and writes as a pipe */
static void check_pipe_on(int fd)
{
	char out[6] = "hello", in[6] = "";
	int p[2];

	CHECK(pipe(p) == 0);
	CHECK(p[0] == fd || p[1] == fd);
	CHECK(write(p[1], out, sizeof(out)) == sizeof(out));
	CHECK(read(p[0], in, sizeof(in)) == sizeof(in) && !memcmp(in, out, sizeof(out)));
	CHECK(close(p[0]) == 0 && close(p[1]) == 0);
}

static void test_fclose(void *buf)
{
	unsigned long base = t_pinned();
	int fd = open_pinned(buf, PAGES);
	FILE *f = fdopen(fd, "r+");

	CHECK(f != NULL);
	CHECK(t_pinned() == base + PAGES);
	CHECK(fclose(f) == 0);
	CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
	CHECK(t_pinned() == base);
	check_pipe_on(fd);
}

static void test_raw_close(void *buf)
{
	unsigned long base = t_pinned();
	int fd = open_pinned(buf, PAGES), fd2;
	char in[4];
	int p[2];

	CHECK(syscall(SYS_close, fd) == 0);
	CHECK(pipe(p) == 0 && p[0] == fd);
	/* The pipe is a pipe: an empty non-blocking read says EAGAIN, not iommufd's EINVAL */
	CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
	errno = 0;
	CHECK(read(p[0], in, sizeof(in)) == -1 && errno == EAGAIN);
	CHECK(write(p[1], "abc", 4) == 4 && read(p[0], in, 4) == 4 && !strcmp(in, "abc"));
	/* The stale context is gone, and its pins with it */
	CHECK(t_pinned() == base);
	CHECK(close(p[0]) == 0 && close(p[1]) == 0);

	/* Closed and never reused: the next open of /dev/iommu releases it */
	fd = open_pinned(buf, PAGES);
	CHECK(syscall(SYS_close, fd) == 0);
	fd2 = softiommu_open(0);
	CHECK(fd2 >= 0);
	CHECK(t_pinned() == base);
	CHECK_OK(softiommu_close(fd2));
}

int main(void)
{
	void *buf = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(buf != MAP_FAILED);
	test_fclose(buf);
	test_raw_close(buf);
	return t_done();
}
