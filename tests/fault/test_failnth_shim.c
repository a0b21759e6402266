// SPDX-License-Identifier: MIT
/*
 * test_failnth_shim — the shim's emulation of Linux's fault-injection files, as
 * iommufd_fail_nth uses them. Run under LD_PRELOAD=libsoftiommu-preload.so (CTest does):
 *  - opendir("/sys/kernel/debug/") lists failslab and fail_page_alloc, whose knobs open for
 *    writing relative to it;
 *  - /proc/self/task/<tid>/fail-nth reads back what was written, "N\n";
 *  - arming it makes the Nth fault-injection point of this thread fail: an ioctl returns
 *    ENOMEM (or ENOENT) and the file reads "0\n" afterwards;
 *  - another thread's file cannot be armed from here.
 * Prints "N passed, N failed" last.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/iommufd.h>

static int n_pass, n_fail;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (cond) {                                                           \
			n_pass++;                                                     \
		} else {                                                              \
			n_fail++;                                                     \
			printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                     \
	} while (0)

static void check_debugfs(void)
{
	DIR *d = opendir("/sys/kernel/debug/");
	struct dirent *e;
	int found = 0, fd;

	CHECK(d != NULL);
	if (!d)
		return;
	while ((e = readdir(d)))
		found += !strcmp(e->d_name, "failslab") || !strcmp(e->d_name, "fail_page_alloc");
	CHECK(found == 2);
	fd = openat(dirfd(d), "failslab/ignore-gfp-wait", O_WRONLY);
	CHECK(fd >= 0 && write(fd, "N", 1) == 1);
	if (fd >= 0)
		close(fd);
	fd = openat(dirfd(d), "fail_page_alloc/min-order", O_WRONLY);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	closedir(d);
}

ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);

/*
 * A buffer the program cannot touch is EFAULT, as read(2)/write(2) give, never a SIGSEGV;
 * the fortified read() (__read_chk) reaches the fail-nth file too.
 */
static void check_bad_buffers(void)
{
	char *bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int nth = open("/proc/thread-self/fail-nth", O_RDWR);
	char buf[8] = "";

	CHECK(bad != MAP_FAILED && nth >= 0);
	errno = 0;
	CHECK(pread(nth, bad, 8, 0) == -1 && errno == EFAULT);
	errno = 0;
	CHECK(read(nth, bad, 8) == -1 && errno == EFAULT);
	errno = 0;
	CHECK(pwrite(nth, bad, 1, 0) == -1 && errno == EFAULT);
	CHECK(pwrite(nth, "5", 1, 0) == 1);
	CHECK(__read_chk(nth, buf, sizeof(buf), sizeof(buf)) == 2 && !strncmp(buf, "5\n", 2));
	CHECK(pwrite(nth, "0", 1, 0) == 1);
	CHECK(close(nth) == 0);
	munmap(bad, 4096);
}

static void *other_thread(void *arg)
{
	int fd = *(int *)arg;

	/* A thread other than the file's cannot arm its counter */
	return (void *)(long)(pwrite(fd, "1", 1, 0) == -1 && errno == EPERM);
}

int main(void)
{
	char path[64], buf[16] = "";
	int nth, iommufd, rc = 0, saw_errno = 0;
	pthread_t t;
	void *ok;

	check_debugfs();
	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
	nth = open(path, O_RDWR);
	CHECK(nth >= 0);
	if (nth < 0)
		goto out;
	CHECK(pwrite(nth, "7", 1, 0) == 1);
	CHECK(pread(nth, buf, sizeof(buf), 0) == 2 && !strncmp(buf, "7\n", 2));
	CHECK(pwrite(nth, "x", 1, 0) == -1 && errno == EINVAL);
	CHECK(pthread_create(&t, NULL, other_thread, &nth) == 0 && !pthread_join(t, &ok) && ok);

	iommufd = open("/dev/iommu", O_RDWR);
	CHECK(iommufd >= 0);
	/* Arm the 3rd point; IOAS allocations fail sooner or later */
	CHECK(pwrite(nth, "3", 1, 0) == 1);
	for (int i = 0; i != 10 && !saw_errno; i++) {
		struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

		rc = ioctl(iommufd, IOMMU_IOAS_ALLOC, &cmd);
		if (rc)
			saw_errno = errno;
	}
	CHECK(saw_errno == ENOMEM || saw_errno == ENOENT);
	memset(buf, 0, sizeof(buf));
	CHECK(pread(nth, buf, sizeof(buf), 0) == 2 && !strncmp(buf, "0\n", 2));
	/* read() keeps a position, as the kernel's file does */
	CHECK(read(nth, buf, sizeof(buf)) == 2 && read(nth, buf, sizeof(buf)) == 0);
	CHECK(close(nth) == 0);
	check_bad_buffers();
	close(iommufd);
out:
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
