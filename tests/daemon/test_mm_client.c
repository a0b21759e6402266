// SPDX-License-Identifier: MIT
/*
 * The mm object (src/core/mm.c): a thread acting for another process reads and writes that
 * process's memory, not its own, checks pins against that process's VMAs, and pins its pages
 * for an IOAS; once the process is gone every copy and pin is EFAULT, never another process's
 * memory. The in-process default is untouched: after sio_mm_unuse() the same addresses are
 * this process's again.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/testlib.h"
#include "../../src/core/mm.h"

int sio_copy_from_user(void *dst, uint64_t usrc, size_t len);
int sio_copy_to_user(uint64_t udst, const void *src, size_t len);
int sio_user_range_check(uint64_t uaddr, size_t len, bool write);

#define PG 4096UL

static char *region;        /* 4 pages: the child's; unmapped in this process after fork */
static int to_child[2], to_parent[2];

static void child(void)
{
	char b;

	memset(region, 0x5a, 4 * PG);
	(void)!write(to_parent[1], "r", 1);
	/* Wait for the parent's word, then check what it stored */
	if (read(to_child[0], &b, 1) != 1)
		_exit(3);
	_exit(region[PG] == 0x33 && region[PG + 1] == 0x44 ? 0 : 4);
}

static void copies(struct sio_mm *mm)
{
	char buf[8] = { 0 }, w[2] = { 0x33, 0x44 };
	struct sio_mm *old;

	old = sio_mm_use(mm);
	CHECK_OK(sio_copy_from_user(buf, (uintptr_t)region, sizeof(buf)));
	CHECK(buf[0] == 0x5a && buf[7] == 0x5a);
	CHECK_OK(sio_copy_to_user((uintptr_t)region + PG, w, sizeof(w)));
	/* The child's VMAs, not ours: mapped there, PROT_NONE here */
	CHECK_OK(sio_user_range_check((uintptr_t)region, 4 * PG, true));
	CHECK_ERR(EFAULT, sio_copy_from_user(buf, 8, 1));
	sio_mm_unuse(old);
	CHECK_ERR(EFAULT, sio_copy_from_user(buf, (uintptr_t)region, sizeof(buf)));
	CHECK_ERR(EFAULT, sio_user_range_check((uintptr_t)region, 4 * PG, true));
}

/* IOAS_MAP with a domain, its argument and its memory in the child */
static void map_for_child(struct sio_mm *mm, int fd, uint32_t ioas)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .user_va = (uintptr_t)region + 2 * PG,
		.length = 2 * PG, .flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
	};
	uint64_t arg = (uintptr_t)region; /* the struct lives in the child's first page */
	struct sio_mm *old;

	old = sio_mm_use(mm);
	CHECK_OK(sio_copy_to_user(arg, &cmd, sizeof(cmd)));
	CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_MAP, (void *)(uintptr_t)arg));
	CHECK_OK(sio_copy_from_user(&cmd, arg, sizeof(cmd)));
	sio_mm_unuse(old);
	CHECK(cmd.iova != 0);
	CHECK(t_pinned() == 2);
	/* The same map acting for ourselves: the range is PROT_NONE here */
	cmd.iova = 0;
	CHECK_ERR(EFAULT, softiommu_ioctl(fd, IOMMU_IOAS_MAP, &cmd));
	CHECK(t_pinned() == 2);
}

int main(void)
{
	int fd, status, rc = 0;
	struct sio_mm *mm;
	uint32_t ioas;
	pid_t pid;
	char b;

	region = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || pipe(to_child) || pipe(to_parent))
		return 2;
	pid = fork();
	if (pid == 0)
		child();
	/* Nothing of ours there: a reservation no allocation of ours can take */
	mmap(region, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (read(to_parent[0], &b, 1) != 1)
		return 2;

	CHECK(sio_mm_open_pid(getpid(), &rc) == &sio_mm_self);
	mm = sio_mm_open_pid(pid, &rc);
	CHECK(mm && !sio_mm_is_self(mm) && sio_mm_pid(mm) == pid);
	if (!mm)
		return t_done();
	copies(mm);

	fd = softiommu_open(0);
	ioas = t_ioas_alloc(fd);
	t_mock_domain(fd, ioas, NULL, NULL);
	map_for_child(mm, fd, ioas);

	/* The child checks our stores and exits; its memory is gone with it */
	(void)!write(to_child[1], "g", 1);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(!sio_mm_alive(mm));
	{
		struct sio_mm *old = sio_mm_use(mm);
		char buf[1];

		CHECK_ERR(EFAULT, sio_copy_from_user(buf, (uintptr_t)region, 1));
		CHECK_ERR(EFAULT, sio_copy_to_user((uintptr_t)region, buf, 1));
		sio_mm_unuse(old);
	}
	/*
	 * Pages pinned while the child lived stay pinned (Linux holds the pages themselves), so
	 * an IOAS_COPY of them into a second domain succeeds; a request acting for the dead
	 * child cannot even have its argument read.
	 */
	{
		struct iommu_ioas_copy cp = { .size = sizeof(cp), .flags = IOMMU_IOAS_MAP_READABLE,
					      .src_ioas_id = ioas, .length = 2 * PG,
					      .src_iova = MOCK_APERTURE_START };
		uint32_t ioas2 = t_ioas_alloc(fd);
		struct sio_mm *old;

		t_mock_domain(fd, ioas2, NULL, NULL);
		cp.dst_ioas_id = ioas2;
		CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_COPY, &cp));
		CHECK(t_pinned() == 2);
		old = sio_mm_use(mm);
		CHECK_ERR(EFAULT, softiommu_ioctl(fd, IOMMU_IOAS_COPY, (void *)(uintptr_t)region));
		sio_mm_unuse(old);
	}
	sio_mm_put(mm);
	softiommu_close(fd);
	CHECK(t_pinned() == 0);
	CHECK(sio_mm_live == 0);
	return t_done();
}
