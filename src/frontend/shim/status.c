// SPDX-License-Identifier: MIT
/*
 * status.c — /proc/self/status (and /proc/<own pid>/status, /proc/thread-self/status) opened
 * for reading is served from a memfd holding the real text with VmPin:/VmLck: raised by
 * softiommu's pin accounting, because the upstream selftests check pinning there. Another
 * process's status is passed through, except in daemon mode (docs/daemon.md), where the
 * daemon says what it charges to any process, ours or another client's.
 */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <stdint.h>
#include <unistd.h>

#include "shim.h"

SHIM_REAL_FN(openat, int (*)(int, const char *, int, ...))


/* Daemon mode's per-process accounting (weak: the shim's unit test has no core) */
int sio_remote_mm_account(const char *path, pid_t pid, unsigned long *pinned,
			  unsigned long *locked) __attribute__((weak));

static const char *daemon_path(void)
{
	const char *d = getenv("SOFTIOMMU_DAEMON");

	return d && *d && sio_remote_mm_account ? d : NULL;
}

/* The process whose status file @path is ("self" and "thread-self": ours); 0 when none */
static pid_t status_pid(const char *path)
{
	const char *p;
	char *end;
	long pid;

	if (strncmp(path, "/proc/", 6))
		return 0;
	p = path + 6;
	if (!strcmp(p, "self/status") || !strcmp(p, "thread-self/status"))
		return getpid();
	if (*p < '1' || *p > '9')
		return 0;
	pid = strtol(p, &end, 10);
	return !strcmp(end, "/status") && pid > 0 && pid <= INT32_MAX ? (pid_t)pid : 0;
}

/* "/proc/self/status", "/proc/thread-self/status" or "/proc/<our pid>/status". */
int shim_is_own_status(const char *path)
{
	return status_pid(path) == getpid();
}

/* Read all of @fd into a malloc'd, NUL-terminated buffer. */
static char *slurp(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *nbuf;
	ssize_t n;

	while (buf) {
		if (len + 1 == cap) {
			nbuf = realloc(buf, cap * 2);
			if (!nbuf)
				break;
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0) {
			buf[len] = 0;
			return buf;
		}
		len += n;
	}
	free(buf);
	return NULL;
}

static int write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Write @text to @out with the value of a "VmPin:"/"VmLck:" line raised by the matching
 * softiommu page count, printed the way the kernel prints it.
 */
static int write_status(int out, const char *text, pid_t pid)
{
	unsigned long pinned = 0, locked = 0, kb_per_page = sysconf(_SC_PAGESIZE) / 1024;
	const char *line = text, *nl;
	const char *daemon = daemon_path();
	char tmp[64];
	int n;

	if (daemon)
		(void)sio_remote_mm_account(daemon, pid, &pinned, &locked);
	else
		softiommu_pinned_pages(&pinned, &locked);
	for (; *line; line = nl) {
		unsigned long extra = 0;

		nl = strchrnul(line, '\n');
		if (*nl)
			nl++;
		if (!strncmp(line, "VmPin:", 6))
			extra = pinned;
		else if (!strncmp(line, "VmLck:", 6))
			extra = locked;
		if (extra) {
			n = snprintf(tmp, sizeof(tmp), "%.6s\t%8lu kB\n", line,
				     strtoul(line + 6, NULL, 10) + extra * kb_per_page);
			if (write_all(out, tmp, n))
				return -1;
		} else if (write_all(out, line, nl - line)) {
			return -1;
		}
	}
	return 0;
}

/*
 * Open our own status file with the pin accounting applied: a memfd positioned at 0.
 * Return: the fd, or -1 with errno set.
 */
int shim_open_status(const char *path, int flags)
{
	int in, out, err;
	char *text;

	shim_enter();
	out = -1;
	in = real_openat()(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		goto done;
	text = slurp(in);
	err = errno;
	close(in);
	errno = err;
	if (!text)
		goto done;
	out = memfd_create("softiommu-status", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (out >= 0 && (write_status(out, text, status_pid(path)) || lseek(out, 0, SEEK_SET))) {
		err = errno ? errno : EIO;
		close(out);
		errno = err;
		out = -1;
	}
	free(text);
done:
	shim_leave();
	return out;
}

int shim_status_wanted(const char *path, int flags)
{
	return path && (flags & O_ACCMODE) == O_RDONLY && !(flags & (O_CREAT | O_PATH)) &&
	       (shim_is_own_status(path) || (daemon_path() && status_pid(path)));
}

