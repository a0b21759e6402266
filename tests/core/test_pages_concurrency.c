// SPDX-License-Identifier: MIT
/*
 * Two accesses on two IOASes that share one file's pages (IOAS_COPY) copy through them at the
 * same time, each the first use of a fresh mapping: one maps the file for both (under the
 * pages' mutex) while the other looks whether it is mapped (without it). Run under TSan in
 * CI: the mapping must be published so that the look is not a data race, and both copies
 * must see the file's bytes.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"

#define PG 4096ULL
#define ROUNDS 300
#define FLAGS (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

struct side {
	int fd;
	uint32_t access_fd;
	pthread_barrier_t *barrier;
	int bad;
};

static uint32_t create_access(int fd, uint32_t ioas)
{
	struct iommu_test_cmd acc = { .size = sizeof(acc), .op = IOMMU_TEST_OP_CREATE_ACCESS,
				      .id = ioas };

	if (softiommu_ioctl(fd, IOMMU_TEST_CMD, &acc)) {
		fprintf(stderr, "CREATE_ACCESS failed\n");
		exit(2);
	}
	return acc.create_access.out_access_fd;
}

static void *reader(void *arg)
{
	struct side *s = arg;

	for (int r = 0; r != ROUNDS; r++) {
		char out[16] = "";
		struct iommu_test_cmd rw = {
			.size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW, .id = s->access_fd,
			.access_rw = { .iova = MOCK_APERTURE_START + 100, .length = 11,
				       .uptr = (uintptr_t)out },
		};

		pthread_barrier_wait(s->barrier); /* a fresh mapping is in place */
		if (softiommu_ioctl(s->fd, IOMMU_TEST_CMD, &rw) || strcmp(out, "file bytes"))
			s->bad++;
		pthread_barrier_wait(s->barrier); /* done with it */
	}
	return NULL;
}

int main(void)
{
	int fd = softiommu_open(0), mfd = memfd_create("pages", 0);
	uint32_t ioas[2] = { t_ioas_alloc(fd), t_ioas_alloc(fd) };
	pthread_barrier_t barrier;
	struct side sides[2];
	pthread_t t[2];

	CHECK(mfd >= 0 && ftruncate(mfd, 4 * PG) == 0);
	CHECK(pwrite(mfd, "file bytes", 11, 100) == 11);
	pthread_barrier_init(&barrier, NULL, 3);
	for (int i = 0; i != 2; i++) {
		sides[i] = (struct side){ fd, create_access(fd, ioas[i]), &barrier, 0 };
		CHECK(pthread_create(&t[i], NULL, reader, &sides[i]) == 0);
	}
	for (int r = 0; r != ROUNDS; r++) {
		struct iommu_ioas_map_file map = {
			.size = sizeof(map), .flags = FLAGS, .ioas_id = ioas[0], .fd = mfd,
			.length = 4 * PG, .iova = MOCK_APERTURE_START,
		};
		struct iommu_ioas_copy copy = {
			.size = sizeof(copy), .flags = FLAGS, .dst_ioas_id = ioas[1],
			.src_ioas_id = ioas[0], .dst_iova = MOCK_APERTURE_START,
			.src_iova = MOCK_APERTURE_START, .length = 4 * PG,
		};

		/* Lazy (no domain): the file is not mapped until a copy needs it */
		CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_MAP_FILE, &map));
		CHECK_OK(softiommu_ioctl(fd, IOMMU_IOAS_COPY, &copy));
		pthread_barrier_wait(&barrier);
		pthread_barrier_wait(&barrier);
		CHECK_OK(t_unmap(fd, ioas[0], MOCK_APERTURE_START, 4 * PG, NULL));
		CHECK_OK(t_unmap(fd, ioas[1], MOCK_APERTURE_START, 4 * PG, NULL));
	}
	for (int i = 0; i != 2; i++) {
		pthread_join(t[i], NULL);
		CHECK(sides[i].bad == 0);
		softiommu_close(sides[i].access_fd);
	}
	pthread_barrier_destroy(&barrier);
	close(mfd);
	CHECK_OK(softiommu_close(fd));
	return t_done();
}
