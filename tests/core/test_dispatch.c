// SPDX-License-Identifier: MIT
/*
 * The uAPI dispatcher's rules, applied to every command by src/uapi/dispatch.c: size below
 * the last mandatory field is EINVAL, a longer struct needs a zero tail (else E2BIG), unknown
 * numbers are ENOTTY, bad pointers EFAULT, unknown flags EOPNOTSUPP, and output is copied as
 * min(user size, struct size).
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "testlib.h"

static void test_sizes(int fd)
{
	struct {
		struct iommu_ioas_alloc cmd;
		uint64_t tail;
	} big = { .cmd = { .size = sizeof(big) } };
	struct iommu_ioas_alloc small = { .size = offsetof(struct iommu_ioas_alloc, out_ioas_id) };

	/* Short of the last mandatory field */
	CHECK_ERR(EINVAL, softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &small));
	/* Longer with a zero tail works, and the tail stays untouched (zero) */
	CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &big));
	CHECK(big.cmd.out_ioas_id != 0);
	CHECK(big.tail == 0);
	/* Non-zero tail */
	big.tail = 1;
	CHECK_ERR(E2BIG, softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &big));
	/* Destroy with an unknown ID and a longer struct: the ID check, not the size, fails */
	{
		struct {
			struct iommu_destroy cmd;
			uint64_t future;
		} d = { .cmd = { .size = sizeof(d), .id = 0 } };

		CHECK_ERR(ENOENT, softiommu_ioctl(fd, IOMMU_DESTROY, &d));
		d.future = 1;
		CHECK_ERR(E2BIG, softiommu_ioctl(fd, IOMMU_DESTROY, &d));
		d.cmd.size = sizeof(d.cmd) - 1;
		CHECK_ERR(EINVAL, softiommu_ioctl(fd, IOMMU_DESTROY, &d));
	}
}

static void test_numbers(int fd)
{
	struct iommu_destroy d = { .size = sizeof(d) };

	/* In the iommufd range but no such command */
	CHECK_ERR(ENOTTY, softiommu_ioctl(fd, _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 31), &d));
	/* Below the range: the VFIO compatibility layer, which does not know it either */
	CHECK_ERR(ENOTTY, softiommu_ioctl(fd, _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE - 1), &d));
	/* A number whose NR matches but whose encoding differs */
	CHECK_ERR(ENOTTY, softiommu_ioctl(fd, _IOW(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY, int), &d));
	/* VFIO_GET_API_VERSION answers on an iommufd */
	CHECK(softiommu_ioctl(fd, VFIO_GET_API_VERSION, NULL) == VFIO_API_VERSION);
#ifndef SIO_REAL_KERNEL
	/* Not one of ours (C API only: through a real ioctl fd 0 answers for itself) */
	CHECK_ERR(EBADF, softiommu_ioctl(0, IOMMU_DESTROY, &d));
#endif
}

static void test_pointers(int fd)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *two = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_alloc *edge;

	CHECK_ERR(EFAULT, softiommu_ioctl(fd, IOMMU_DESTROY, NULL));
	CHECK_ERR(EFAULT, softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, (void *)8));
	/* A struct ending exactly at the end of a page followed by an unmapped page works */
	munmap(two + pg, pg);
	edge = (void *)(two + pg - sizeof(*edge));
	memset(edge, 0, sizeof(*edge));
	edge->size = sizeof(*edge);
	CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, edge));
	CHECK(edge->out_ioas_id != 0);
	/* A size claiming more than is mapped */
	edge->size = sizeof(*edge) + 64;
	CHECK_ERR(EFAULT, softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, edge));
	/* A pointer inside a command (the allowed_iovas array) that is bad */
	{
		struct iommu_ioas_allow_iovas a = { .size = sizeof(a), .ioas_id = edge->out_ioas_id,
						    .num_iovas = 1, .allowed_iovas = 16 };

		CHECK_ERR(EFAULT, softiommu_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &a));
	}
	munmap(two, pg);
}

static void test_flags(int fd)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a), .flags = 1 };
	uint32_t ioas = t_ioas_alloc(fd);
	struct iommu_ioas_map m = { .size = sizeof(m), .ioas_id = ioas, .flags = 1u << 31,
				    .length = 4096, .user_va = 4096 };
	struct iommu_ioas_iova_ranges r = { .size = sizeof(r), .ioas_id = ioas, .__reserved = 1 };

	CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &a));
	CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(fd, IOMMU_IOAS_MAP, &m));
	m.flags = 0;
	/* Neither readable nor writeable */
	CHECK_ERR(EINVAL, softiommu_ioctl(fd, IOMMU_IOAS_MAP, &m));
	m.__reserved = 1;
	m.flags = IOMMU_IOAS_MAP_READABLE;
	CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(fd, IOMMU_IOAS_MAP, &m));
	CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &r));
}

/* Output is min(user size, struct size): a longer struct's tail is never written */
static void test_output_size(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd);
	struct {
		struct iommu_ioas_iova_ranges cmd;
		uint32_t tail[4];
	} r = { .cmd = { .size = sizeof(r), .ioas_id = ioas } };

	CHECK_ERR(EMSGSIZE, softiommu_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &r));
	CHECK(r.cmd.num_iovas == 1);
	CHECK(r.cmd.out_iova_alignment == 1);
	CHECK(!r.tail[0] && !r.tail[1] && !r.tail[2] && !r.tail[3]);
}

int main(void)
{
	int fd = softiommu_open(0);

	CHECK(fd >= 0);
	test_sizes(fd);
	test_numbers(fd);
	test_pointers(fd);
	test_flags(fd);
	test_output_size(fd);
	CHECK_OK(softiommu_close(fd));
	CHECK_ERR(EBADF, softiommu_close(fd));
	return t_done();
}
