// SPDX-License-Identifier: MIT
/*
 * The device model of test_scm_handover_shim: a plain program (no softiommu in it) run under
 * the LD_PRELOAD shim, which receives a VMM's iommufd over descriptor 3 by SCM_RIGHTS and uses
 * it with libc's ioctl() only: the shim adopts it on the first iommufd ioctl. It maps its own
 * bytes ('h') into the VMM's IOAS at the IOVA it is told, says 'm', waits for 'f', unmaps,
 * closes and exits 0; any failure exits non-zero with a line on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/iommufd.h>

#define FAIL(what)                                                                   \
	do {                                                                         \
		fprintf(stderr, "scm_shim_device_model: %s (errno %d)\n", what, errno); \
		exit(1);                                                             \
	} while (0)

struct order {
	uint32_t ioas;
	uint32_t len;
	uint64_t iova;
};

int main(void)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct order o;
	struct iovec iov = { &o, sizeof(o) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			    .msg_controllen = sizeof(cm.buf) };
	struct iommu_iova_range range;
	struct iommu_ioas_iova_ranges r = { .size = sizeof(r), .num_iovas = 1,
					    .allowed_iovas = (uintptr_t)&range };
	struct cmsghdr *h;
	int fd = -1, sp[2];
	char go, *buf;

	/* A socket that is no daemon's: not adopted, libc's answer */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp))
		FAIL("socketpair");
	if (ioctl(sp[0], IOMMU_IOAS_IOVA_RANGES, &r) != -1 || errno != ENOTTY)
		FAIL("an iommufd ioctl on a plain socket");
	if (recvmsg(3, &m, 0) != sizeof(o))
		FAIL("recvmsg");
	h = CMSG_FIRSTHDR(&m);
	if (!h || h->cmsg_type != SCM_RIGHTS)
		FAIL("no descriptor");
	memcpy(&fd, CMSG_DATA(h), sizeof(fd));
	r.ioas_id = o.ioas;
	if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &r) || r.num_iovas != 1)
		FAIL("IOVA_RANGES on the received iommufd");
	buf = mmap(NULL, o.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		FAIL("mmap");
	memset(buf, 'h', o.len);
	struct iommu_ioas_map map = { .size = sizeof(map), .ioas_id = o.ioas,
				      .flags = IOMMU_IOAS_MAP_FIXED_IOVA |
					       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
				      .user_va = (uintptr_t)buf, .length = o.len, .iova = o.iova };
	if (ioctl(fd, IOMMU_IOAS_MAP, &map))
		FAIL("IOAS_MAP");
	if (write(3, "m", 1) != 1 || read(3, &go, 1) != 1 || go != 'f')
		FAIL("the VMM's go");
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = o.ioas,
					  .iova = o.iova, .length = o.len };
	if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap) || unmap.length != o.len)
		FAIL("IOAS_UNMAP");
	if (close(fd))
		FAIL("close");
	return 0;
}
