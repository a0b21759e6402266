// SPDX-License-Identifier: MIT
/*
 * IOMMU_IOAS_MAP_FILE: memfds and regular files, the file-size checks (made when the pages are
 * pinned, as Linux does), IOVA alignment from the file offset, data visible through the
 * mapping after the client closed and unmapped its own descriptor and mapping, and pin
 * accounting.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <linux/magic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "testlib.h"

#define PG 4096ULL
#define FIXED (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static long map_file(int fd, uint32_t ioas, int mfd, uint64_t start, uint64_t len,
		     uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .fd = mfd, .start = start, .length = len,
		.flags = flags ? flags : IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.iova = *iova,
	};
	long rc = softiommu_ioctl(fd, IOMMU_IOAS_MAP_FILE, &cmd);

	*iova = cmd.iova;
	return rc;
}

static long access_read(int fd, uint32_t ioas, uint64_t iova, void *out, size_t len)
{
	struct iommu_test_cmd acc = { .size = sizeof(acc), .op = IOMMU_TEST_OP_CREATE_ACCESS,
				      .id = ioas };
	struct iommu_test_cmd rw = { .size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW };
	long rc = softiommu_ioctl(fd, IOMMU_TEST_CMD, &acc);

	if (rc)
		return rc;
	rw.id = acc.create_access.out_access_fd;
	rw.access_rw.iova = iova;
	rw.access_rw.length = len;
	rw.access_rw.uptr = (uintptr_t)out;
	rc = softiommu_ioctl(fd, IOMMU_TEST_CMD, &rw);
	softiommu_close(acc.create_access.out_access_fd);
	return rc;
}

/* Linux pins only shmem and hugetlbfs files (memfd_pin_folios()); others fail EINVAL */
static bool pinnable(int mfd)
{
	struct statfs sfs;

	return !fstatfs(mfd, &sfs) && (sfs.f_type == TMPFS_MAGIC || sfs.f_type == HUGETLBFS_MAGIC);
}

static void test_file(int fd, int mfd, const char *what)
{
	uint32_t ioas = t_ioas_alloc(fd), stdev;
	char msg[32] = "", out[32] = "";
	uint64_t iova = 0;

	CHECK(ftruncate(mfd, 8 * PG) == 0);
	snprintf(msg, sizeof(msg), "data of %s", what);
	CHECK(pwrite(mfd, msg, sizeof(msg), 3 * PG + 100) == sizeof(msg));
	/* Lazy, no domain: beyond the end of the file is still accepted */
	CHECK_OK(map_file(fd, ioas, mfd, 0, 16 * PG, &iova, 0));
	CHECK_OK(t_unmap(fd, ioas, iova, 16 * PG, NULL));
	/* A page-offset start keeps its offset in the IOVA */
	iova = 0;
	CHECK_OK(map_file(fd, ioas, mfd, 2048, PG, &iova, 0));
	CHECK(iova % PG == 2048);
	CHECK_OK(t_unmap(fd, ioas, iova, PG, NULL));
	/* With a domain the pages are pinned: past the end of the file is EINVAL */
	stdev = t_mock_domain(fd, ioas, NULL, NULL);
	iova = MOCK_APERTURE_START;
	CHECK_ERR(EINVAL, map_file(fd, ioas, mfd, 0, 8 * PG + 1, &iova, FIXED));
	CHECK(t_pinned() == 0);
	iova = MOCK_APERTURE_START;
	if (!pinnable(mfd)) {
		/* map_file_not_shmem_einval: a file on a disk file system cannot be pinned */
		CHECK_ERR(EINVAL, map_file(fd, ioas, mfd, 0, 8 * PG, &iova, FIXED));
		CHECK(t_pinned() == 0);
		CHECK_OK(t_destroy(fd, stdev));
		CHECK_OK(t_destroy(fd, ioas));
		return;
	}
	CHECK_OK(map_file(fd, ioas, mfd, 0, 8 * PG, &iova, FIXED));
	CHECK(t_pinned() == 8);
	/* The data is reachable through the IOVA */
	CHECK_OK(access_read(fd, ioas, MOCK_APERTURE_START + 3 * PG + 100, out, sizeof(out)));
	CHECK(!strcmp(out, msg));
	CHECK_OK(t_destroy(fd, stdev));
	CHECK(t_pinned() == 8 - 8);
	CHECK_OK(t_destroy(fd, ioas));
}

/* The client closes its descriptor: softiommu's own mapping keeps the memory */
static void test_outlives_client(int fd)
{
	int mfd = memfd_create("outlive", MFD_CLOEXEC);
	uint32_t ioas = t_ioas_alloc(fd);
	char out[8] = "";
	uint64_t iova = 0;

	CHECK(ftruncate(mfd, PG) == 0);
	CHECK(pwrite(mfd, "kept", 5, 0) == 5);
	CHECK_OK(map_file(fd, ioas, mfd, 0, PG, &iova, 0));
	close(mfd);
	CHECK_OK(access_read(fd, ioas, iova, out, 5));
	CHECK(!strcmp(out, "kept"));
	CHECK_OK(t_destroy(fd, ioas));
}

/*
 * An area far longer than its file (1 PiB: more than a process's address space), mapped
 * without a domain: Linux pins only what an access asks for, so the pages inside the file
 * work and those past its end are EINVAL, on every access path
 */
static void test_far_past_eof(int fd)
{
	int mfd = memfd_create("far", MFD_CLOEXEC);
	uint32_t ioas = t_ioas_alloc(fd), access;
	struct iommu_test_cmd ca = { .size = sizeof(ca), .op = IOMMU_TEST_OP_CREATE_ACCESS,
				     .id = ioas,
				     .create_access.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES };
	struct iommu_test_cmd ap = { .size = sizeof(ap), .op = IOMMU_TEST_OP_ACCESS_PAGES };
	char out[8] = "";
	uint64_t iova = 0;

	CHECK(ftruncate(mfd, 4 * PG + 100) == 0);
	CHECK(pwrite(mfd, "far", 4, PG + 8) == 4);
	CHECK_OK(map_file(fd, ioas, mfd, 0, 1ULL << 50, &iova, 0));
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &ca));
	access = ca.create_access.out_access_fd;
	/* map_file_far_past_eof_rw: inside the file, both paths */
	CHECK_OK(t_access_rw(fd, access, iova + PG + 8, out, 4, 0));
	CHECK(!strcmp(out, "far"));
	CHECK_OK(t_access_rw(fd, access, iova + PG + 8, out, 4, MOCK_ACCESS_RW_SLOW_PATH));
	/* map_file_far_past_eof_pin: an access pins the pages it asks for */
	ap.id = access;
	ap.access_pages.iova = iova;
	ap.access_pages.length = 2 * PG;
	/* the same pages seen by the process, as the mock compares them */
	ap.access_pages.uptr = (uintptr_t)mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
					       mfd, 0);
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &ap));
	CHECK(t_pinned() == 2);
	{
		struct iommu_test_cmd dp = { .size = sizeof(dp), .id = access,
					     .op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES };

		dp.destroy_access_pages.access_pages_id = ap.access_pages.out_access_pages_id;
		CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &dp));
	}
	CHECK(t_pinned() == 0);
	/* map_file_rw_past_eof_einval: the page past the end, and the partial last page */
	CHECK_ERR(EINVAL, t_access_rw(fd, access, iova + 5 * PG, out, 4, 0));
	CHECK_ERR(EINVAL, t_access_rw(fd, access, iova + 4 * PG, out, 4, MOCK_ACCESS_RW_SLOW_PATH));
	CHECK_ERR(EINVAL, t_access_rw(fd, access, iova + 3 * PG, out, 2 * PG, 0));
	CHECK_OK(t_access_rw(fd, access, iova + 3 * PG, out, 4, MOCK_ACCESS_RW_WRITE));
	ap.access_pages.iova = iova + 3 * PG;
	CHECK_ERR(EINVAL, softiommu_ioctl(fd, IOMMU_TEST_CMD, &ap));
	CHECK(t_pinned() == 0);
	munmap((void *)(uintptr_t)ap.access_pages.uptr, 2 * PG);
	CHECK_OK(softiommu_close((int)access));
	CHECK_OK(t_destroy(fd, ioas));
	close(mfd);
}

static void test_bad(int fd)
{
	uint32_t ioas = t_ioas_alloc(fd), ioas2 = t_ioas_alloc(fd);
	int ro = open("/proc/self/exe", O_RDONLY);
	int efd = eventfd(0, EFD_CLOEXEC);
	uint64_t iova = 0;

	CHECK_ERR(EBADF, map_file(fd, ioas, -1, 0, PG, &iova, 0));
	CHECK_ERR(EBADF, map_file(fd, ioas, 9999, 0, PG, &iova, 0));
	CHECK_ERR(EINVAL, map_file(fd, ioas, ro, 0, 0, &iova, 0));
	CHECK_ERR(EOVERFLOW, map_file(fd, ioas, ro, ~0ULL - 10, 100, &iova, 0));
	/*
	 * As in Linux, nothing is checked about the file until its pages are needed: any
	 * descriptor maps lazily (an eventfd, or a writable map of a read-only file), and fails
	 * when a domain needs the pages
	 */
	CHECK_OK(map_file(fd, ioas, efd, 0, PG, &iova, 0));
	iova = 0;
	CHECK_OK(map_file(fd, ioas, ro, 0, PG, &iova, 0));
	t_mock_domain(fd, ioas2, NULL, NULL);
	iova = MOCK_APERTURE_START;
	CHECK_ERR(EINVAL, map_file(fd, ioas2, efd, 0, PG, &iova, FIXED));
	iova = MOCK_APERTURE_START;
	if (!pinnable(ro)) {
		CHECK_ERR(EINVAL, map_file(fd, ioas2, ro, 0, PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
							    IOMMU_IOAS_MAP_READABLE));
	} else {
		CHECK_OK(map_file(fd, ioas2, ro, 0, PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
								  IOMMU_IOAS_MAP_READABLE));
#ifndef SIO_REAL_KERNEL
		/* softiommu cannot write through a read-only descriptor; Linux pins it anyway */
		iova = MOCK_APERTURE_START + PG;
		CHECK_ERR(EPERM, map_file(fd, ioas2, ro, 0, PG, &iova, FIXED));
#endif
	}
	close(ro);
	close(efd);
	CHECK_OK(softiommu_close(fd));
}

int main(void)
{
	char path[] = "/tmp/softiommu-map-file-XXXXXX";
	char shm[] = "/dev/shm/softiommu-map-file-XXXXXX";
	int fd = softiommu_open(0);
	int mfd = memfd_create("buffer", MFD_CLOEXEC);
	int rfd = mkstemp(path);
	int sfd = mkstemp(shm);

	test_file(fd, mfd, "memfd");
	unlink(path);
	test_file(fd, rfd, "regular file");
	/* a regular file on tmpfs, where there is one */
	if (sfd >= 0) {
		unlink(shm);
		test_file(fd, sfd, "tmpfs file");
		close(sfd);
	}
	test_outlives_client(fd);
	test_far_past_eof(fd);
	test_bad(fd);
	close(mfd);
	close(rfd);
	CHECK(t_pinned() == 0);
	return t_done();
}
