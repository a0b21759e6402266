/* SPDX-License-Identifier: MIT */
/*
 * fake_backend.h — commands of the in-memory softiommu stand-in the shim unit test links with.
 * The test drives it only through libc calls the shim routes, never directly.
 */
#ifndef FAKE_BACKEND_H
#define FAKE_BACKEND_H

#include <sys/ioctl.h>

#define FAKE_IOCTL_ECHO _IO('x', 1)                           /* returns FAKE_ECHO_VALUE */
#define FAKE_IOCTL_FAIL _IO('x', 2)                           /* returns -EPERM */
#define FAKE_IOCTL_REFS _IOR('x', 3, int)                     /* fds sharing this file */
#define FAKE_IOCTL_LIVE _IOR('x', 4, int)                     /* files alive in the process */
#define FAKE_IOCTL_PIN _IOW('x', 5, unsigned long[2])         /* set {pinned, locked} pages */

#define FAKE_ECHO_VALUE 42
#define FAKE_READ_TEXT "fake-read"
#define FAKE_MMAP_TEXT "fake-mmap"

#endif
