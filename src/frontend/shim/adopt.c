// SPDX-License-Identifier: MIT
/*
 * adopt.c — daemon mode's handover by SCM_RIGHTS (docs/daemon.md): a program that received
 * another process's iommufd over a UNIX socket holds a socket connected to the daemon, which
 * the registry does not know. Its first iommufd ioctl on that number asks here: when the
 * socket's peer is the daemon SOFTIOMMU_DAEMON names, the descriptor is adopted (it joins the
 * sender's context: softiommu_adopt_fd()) and the call is served as on any iommufd.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "shim.h"

int shim_adopt_received(int fd) SHIM_HIDDEN;

/* 1 when @fd is ours now (adopted here), else 0: the call goes to libc as before */
int shim_adopt_received(int fd)
{
	const char *d = getenv("SOFTIOMMU_DAEMON");
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	int rc;

	if (!d || !*d || fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	if (getpeername(fd, (struct sockaddr *)&sa, &len) || sa.sun_family != AF_UNIX ||
	    strncmp(sa.sun_path, d, sizeof(sa.sun_path)))
		return 0;
	shim_enter();
	rc = softiommu_adopt_fd(fd);
	shim_leave();
	/* Another thread may have adopted it first: ours either way */
	return rc == fd || (rc == -EEXIST && shim_routed(fd));
}
