// SPDX-License-Identifier: MIT
/*
 * Faulting memory in for a pin must not hold the IOAS's table lock: while one thread's
 * IOAS_MAP waits for its pages (here: a userfaultfd nobody answers yet, as a slow disk or a
 * postcopy migration would), another thread's map and unmap on the same IOAS go through.
 * Run in the default pin mode (nothing is faulted in) and with SOFTIOMMU_PIN=eager (the range
 * is populated before the table is locked). A liveness check: the other thread gets 20 s,
 * and the pages are served either way so that nothing is left blocked.
 */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define PG 4096ULL
#define NPG 16

static int fd;
static uint32_t ioas;
static char *slow, *other;
static atomic_bool map_done, other_done;
static long map_rc;

static void *slow_map(void *arg)
{
	uint64_t iova = MOCK_APERTURE_START;

	(void)arg;
	map_rc = t_map(fd, ioas, slow, NPG * PG, &iova,
		       IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			       IOMMU_IOAS_MAP_WRITEABLE);
	atomic_store(&map_done, true);
	return NULL;
}

static void *other_map(void *arg)
{
	uint64_t iova = MOCK_APERTURE_START + 64 * PG;

	(void)arg;
	CHECK_OK(t_map(fd, ioas, other, PG, &iova,
		       IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE));
	CHECK_OK(t_unmap(fd, ioas, iova, PG, NULL));
	atomic_store(&other_done, true);
	return NULL;
}

/* Serve every missing-page fault of the slow range with zeros until the map is done */
static void serve(int uffd)
{
	while (!atomic_load(&map_done)) {
		struct pollfd p = { .fd = uffd, .events = POLLIN };
		struct uffd_msg msg;

		if (poll(&p, 1, 10) <= 0 || read(uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event == UFFD_EVENT_PAGEFAULT) {
			struct uffdio_zeropage z = {
				.range = { .start = msg.arg.pagefault.address & ~(PG - 1),
					   .len = PG },
			};

			ioctl(uffd, UFFDIO_ZEROPAGE, &z);
		}
	}
}

int main(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	pthread_t a, b;
	bool waiting = false;

	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		printf("test_pin_outside_table_lock: no userfaultfd here, skipped\n");
		return 0;
	}
	slow = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	other = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(other, 1, PG);
	reg.range.start = (uintptr_t)slow;
	reg.range.len = NPG * PG;
	CHECK(ioctl(uffd, UFFDIO_REGISTER, &reg) == 0);
	fd = softiommu_open(0);
	ioas = t_ioas_alloc(fd);
	t_mock_domain(fd, ioas, NULL, NULL);

	CHECK(pthread_create(&a, NULL, slow_map, NULL) == 0);
	/* Wait for the map to block on a missing page, or to finish without touching any */
	for (int i = 0; i != 200 && !waiting && !atomic_load(&map_done); i++) {
		struct pollfd p = { .fd = uffd, .events = POLLIN };

		waiting = poll(&p, 1, 10) > 0;
	}
	/* The eager mode walks the pages (and waits on them); the default one does not */
	{
		const char *mode = getenv("SOFTIOMMU_PIN");
		bool eager = mode && !strcmp(mode, "eager");

		CHECK(eager ? waiting : !waiting);
	}
	CHECK(pthread_create(&b, NULL, other_map, NULL) == 0);
	for (int i = 0; i != 2000 && !atomic_load(&other_done); i++)
		usleep(10000);
	CHECK(atomic_load(&other_done));
	if (!atomic_load(&other_done))
		fprintf(stderr, "test_pin_outside_table_lock: a map waited for another's page "
				"faults (the table lock was held)\n");
	serve(uffd);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	CHECK(map_rc == 0);
	CHECK(t_pinned() == NPG);
	CHECK_OK(softiommu_close(fd));
	close(uffd);
	return t_done();
}
