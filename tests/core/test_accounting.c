// SPDX-License-Identifier: MIT
/*
 * Pin accounting: pages are pinned once per IOAS mapping while a domain (or an access) needs
 * them, never for a lazily mapped IOAS; pinned_vm (VmPin) counts them; without CAP_IPC_LOCK
 * the user mode charges RLIMIT_MEMLOCK (ENOMEM past it, nothing half-done); the mm mode also
 * charges locked_vm (VmLck).
 */
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define PG 4096ULL
#define FIXED (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static void test_lazy_and_domain(char *buf)
{
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd), stdev;
	uint64_t iova = MOCK_APERTURE_START;

	/* No domain: the mapping is lazy, nothing pinned (inside the mock aperture, or adding
	 * the domain would be EADDRINUSE) */
	CHECK_OK(t_map(fd, ioas, buf, 16 * PG, &iova, FIXED));
	CHECK(t_pinned() == 0);
	/* A domain pins every page of the mapping */
	stdev = t_mock_domain(fd, ioas, NULL, NULL);
	CHECK(t_pinned() == 16);
	/* A second domain does not pin again */
	t_mock_domain(fd, ioas, NULL, NULL);
	CHECK(t_pinned() == 16);
	CHECK_OK(t_destroy(fd, stdev));
	CHECK(t_pinned() == 16);
	CHECK_OK(t_unmap(fd, ioas, iova, 16 * PG, NULL));
	CHECK(t_pinned() == 0);
	/* Mapping unmapped memory is fine lazily but EFAULT once a domain needs it */
	CHECK_OK(softiommu_close(fd));
}

static void test_efault(void)
{
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd), ioas2 = t_ioas_alloc(fd);
	char *hole = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_test_cmd dom = { .size = sizeof(dom), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	uint64_t iova = MOCK_APERTURE_START;

	munmap(hole + 2 * PG, 2 * PG);
	CHECK_OK(t_map(fd, ioas, hole, 4 * PG, &iova, FIXED));
	dom.id = ioas;
	CHECK_ERR(EFAULT, softiommu_ioctl(fd, IOMMU_TEST_CMD, &dom));
	CHECK(t_pinned() == 0);
	/* With a domain present, the map itself fails and pins nothing */
	t_mock_domain(fd, ioas2, NULL, NULL);
	iova = 0;
	CHECK_ERR(EFAULT, t_map(fd, ioas2, hole, 4 * PG, &iova, 0));
	CHECK(t_pinned() == 0);
	/* A read-only mapping cannot be pinned writable */
	mprotect(hole, 2 * PG, PROT_READ);
	iova = 0;
	CHECK_ERR(EFAULT, t_map(fd, ioas2, hole, 2 * PG, &iova, 0));
	iova = 0;
	CHECK_OK(t_map(fd, ioas2, hole, 2 * PG, &iova, IOMMU_IOAS_MAP_READABLE));
	CHECK(t_pinned() == 2);
	CHECK_OK(softiommu_close(fd));
	CHECK(t_pinned() == 0);
	munmap(hole, 2 * PG);
}

static int drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[cap / 32].effective &= ~(1u << (cap % 32));
	return syscall(SYS_capset, &hdr, data);
}

/* In a child: without CAP_IPC_LOCK the user mode enforces RLIMIT_MEMLOCK */
static int child_rlimit(char *buf)
{
	struct rlimit rl;
	int fd, failures = 0;
	uint32_t ioas;
	uint64_t iova = MOCK_APERTURE_START;

	/* Lowering the soft limit needs no privilege (raising the hard one would) */
	getrlimit(RLIMIT_MEMLOCK, &rl);
	rl.rlim_cur = 8 * PG;
	if (drop_cap(CAP_IPC_LOCK) || setrlimit(RLIMIT_MEMLOCK, &rl))
		return 100;
	fd = softiommu_open(0);
	ioas = t_ioas_alloc(fd);
	t_mock_domain(fd, ioas, NULL, NULL);
	failures += t_map(fd, ioas, buf, 8 * PG, &iova, FIXED) != 0;
	iova = MOCK_APERTURE_START + 8 * PG;
	failures += 10 * (t_map(fd, ioas, buf + 8 * PG, PG, &iova, FIXED) != -ENOMEM);
	failures += 20 * (t_pinned() != 8);
	softiommu_close(fd);
	failures += 40 * (t_pinned() != 0);
	return failures;
}

static void test_rlimit(char *buf)
{
	int status;
	pid_t pid = fork();

	if (!pid)
		_exit(child_rlimit(buf));
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (WIFEXITED(status) && WEXITSTATUS(status))
		fprintf(stderr, "child_rlimit: %d failures\n", WEXITSTATUS(status));
}

static void test_mm_mode(char *buf)
{
	struct iommu_option opt = { .size = sizeof(opt), .option_id = IOMMU_OPTION_RLIMIT_MODE,
				    .op = IOMMU_OPTION_OP_SET, .val64 = 1 };
	int fd = softiommu_open(0);
	unsigned long pinned, locked;
	uint32_t ioas;
	uint64_t iova = 0;

	CHECK_OK(softiommu_ioctl(fd, IOMMU_OPTION, &opt));
	ioas = t_ioas_alloc(fd);
	/* The mode cannot change once objects exist */
	CHECK_ERR(EBUSY, softiommu_ioctl(fd, IOMMU_OPTION, &opt));
	t_mock_domain(fd, ioas, NULL, NULL);
	CHECK_OK(t_map(fd, ioas, buf, 4 * PG, &iova, 0));
	softiommu_pinned_pages(&pinned, &locked);
	/* As root with CAP_IPC_LOCK the pages are not charged (account mode none) */
	CHECK(pinned == 4 && locked == 0);
	CHECK_OK(softiommu_close(fd));
	softiommu_pinned_pages(&pinned, &locked);
	CHECK(pinned == 0 && locked == 0);
}

int main(void)
{
	char *buf = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	memset(buf, 0, 64 * PG);
	test_lazy_and_domain(buf);
	test_efault();
	test_rlimit(buf);
	test_mm_mode(buf);
	return t_done();
}
