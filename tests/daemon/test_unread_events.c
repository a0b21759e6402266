// SPDX-License-Identifier: MIT
/*
 * A client that never reads its event descriptors harms no one: its fault queue fills with
 * I/O page faults (triggered, and from DMAs that fault through its device) and is never
 * read; meanwhile another client is served as usual. Whether the client then exits holding
 * the queue's descriptor, or is killed, the queue and every record in it, the context and
 * every pin are freed, and the daemon serves on.
 */
#include <sys/mman.h>

#include "daemon_test.h"

#define PG 4096UL
#define FAULTS 2000

static long trigger(int fd, uint32_t idev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = { .dev_id = idev, .grpid = 2, .perm = IOMMU_PGFAULT_PERM_READ,
				  .addr = 0xdeadb000 },
	};

	return softiommu_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* In a child: a device on a HWPT with a fault queue, and faults nobody reads */
static int flood(int ready, bool killed)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_alloc h = { .size = sizeof(h) };
	struct iommu_test_cmd rep = { .size = sizeof(rep), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	char *buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t ioas, idev, stdev;
	int fd = softiommu_open(0);
	char got[8];

	if (fd < 0 || buf == MAP_FAILED)
		return 10;
	ioas = t_ioas_alloc(fd);
	stdev = t_mock_domain(fd, ioas, NULL, &idev);
	if (t_map(fd, ioas, buf, 4 * PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
		  IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE))
		return 11;
	if (softiommu_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa))
		return 12;
	h.dev_id = idev;
	h.pt_id = ioas;
	h.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
	if (softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h))
		return 13;
	h.pt_id = h.out_hwpt_id;
	h.flags = IOMMU_HWPT_FAULT_ID_VALID;
	h.fault_id = fa.out_fault_id;
	h.data_type = IOMMU_HWPT_DATA_SELFTEST;
	h.data_len = sizeof(data);
	h.data_uptr = (uintptr_t)&data;
	if (softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h))
		return 14;
	rep.id = stdev;
	rep.mock_domain_replace.pt_id = h.out_hwpt_id;
	if (softiommu_ioctl(fd, IOMMU_TEST_CMD, &rep))
		return 15;
	for (int i = 0; i < FAULTS; i++)
		if (trigger(fd, idev))
			return 16;
	/* A DMA through the device faults too: an error, never a signal or a hang */
	for (int i = 0; i < 16; i++)
		if (sio_remote_dma(fd, idev, 0, 0xdead0000 + i * PG, got, sizeof(got), false) !=
		    -EFAULT)
			return 17;
	if (write(ready, "r", 1) != 1)
		return 18;
	if (killed)
		pause();
	softiommu_close(fd); /* the queue's descriptor stays open, unread */
	return 0;
}

/* Another client's context, maps and DMA while the flood sits in the daemon */
static void bystander(void)
{
	char *buf = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd), idev;
	uint64_t iova = MOCK_APERTURE_START;
	char got[4];

	t_mock_domain(fd, ioas, NULL, &idev);
	memset(buf, 'b', 2 * PG);
	CHECK_OK(t_map(fd, ioas, buf, 2 * PG, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
		       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
	CHECK_OK(sio_remote_dma(fd, idev, 0, iova + PG, got, sizeof(got), false));
	CHECK(!memcmp(got, "bbbb", 4));
	CHECK(dt_stats(fd).pinned_pages >= 2);
	softiommu_close(fd);
	munmap(buf, 2 * PG);
}

static void one(bool killed)
{
	int ready[2], status;
	pid_t child;
	char b;

	CHECK(!pipe(ready));
	child = fork();
	if (child == 0)
		_exit(flood(ready[1], killed));
	if (read(ready[0], &b, 1) != 1) {
		waitpid(child, &status, 0);
		fprintf(stderr, "flood client: exit %d\n", WEXITSTATUS(status));
		CHECK(0);
		return;
	}
	bystander();
	if (killed)
		kill(child, SIGKILL);
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(killed ? WIFSIGNALED(status) : WIFEXITED(status) && !WEXITSTATUS(status));
	{
		struct sio_proto_stats st = dt_stats_fresh();

		CHECK(st.live_objects == 0 && st.pinned_pages == 0 && st.connections == 0);
		CHECK(st.client_mms == 0 && st.pa_windows == 0);
	}
	close(ready[0]);
	close(ready[1]);
}

int main(void)
{
	dt_start();
	one(false);
	one(true);
	dt_stop();
	return t_done();
}
