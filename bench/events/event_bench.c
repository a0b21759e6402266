// SPDX-License-Identifier: MIT
/*
 * event_bench: delivery of events to user space through the shim, per event:
 *   - vEVENTQ: the mock vIOMMU reports a virtual event (IOMMU_TEST_OP_TRIGGER_VEVENT), the
 *     program polls and reads it (header + payload) from the vEVENTQ descriptor;
 *   - fault queue: the mock device raises a page request (IOMMU_TEST_OP_TRIGGER_IOPF), the
 *     program reads the record and writes the response.
 * Each is timed end to end in batches of 1 and 64 events per read, and compared with a
 * baseline measured in the same run: the same bytes through a pipe (write + poll + read), the
 * least a kernel event path costs. Each figure is the best of 7 runs, each run of the path
 * followed by one of its baseline, so that both see the same load on this shared VM.
 */
#include <fcntl.h>
#include <poll.h>

#include "bench_util.h"

static double pipe_baseline(size_t rec, int batch, int iters)
{
	char buf[64 * 64];
	int p[2];
	double t;

	if (pipe(p))
		die("pipe");
	t = now_ns();
	for (int i = 0; i < iters; i++) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };

		for (int b = 0; b < batch; b++)
			if (write(p[1], buf, rec) != (ssize_t)rec)
				die("write");
		poll(&pf, 1, -1);
		if (read(p[0], buf, rec * batch) != (ssize_t)(rec * batch))
			die("read");
	}
	t = now_ns() - t;
	close(p[0]);
	close(p[1]);
	return t / ((double)iters * batch);
}

static double vevent_ns(int fd, struct bench_env *e, int batch, int iters)
{
	struct iommu_hwpt_selftest sel = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .dev_id = e->idev, .pt_id = e->viommu,
				      .data_type = IOMMU_HWPT_DATA_SELFTEST,
				      .data_len = sizeof(sel), .data_uptr = (uintptr_t)&sel };
	struct iommu_vdevice_alloc vd = { .size = sizeof(vd), .viommu_id = e->viommu,
					  .dev_id = e->idev, .virt_id = 0x10 };
	struct iommu_veventq_alloc q = { .size = sizeof(q), .viommu_id = e->viommu,
					 .type = IOMMU_VEVENTQ_TYPE_SELFTEST, .veventq_depth = 1024 };
	struct iommu_test_cmd rep = { .size = sizeof(rep), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
				      .id = e->stdev };
	struct iommu_test_cmd trig = { .size = sizeof(trig), .op = IOMMU_TEST_OP_TRIGGER_VEVENT,
				       .trigger_vevent.dev_id = e->idev };
	size_t rec = sizeof(struct iommufd_vevent_header) + sizeof(struct iommu_viommu_event_selftest);
	char buf[64 * 16];
	double t;

	if (ioctl(fd, IOMMU_HWPT_ALLOC, &h) || ioctl(fd, IOMMU_VDEVICE_ALLOC, &vd) ||
	    ioctl(fd, IOMMU_VEVENTQ_ALLOC, &q))
		die("vEVENTQ setup");
	rep.mock_domain_replace.pt_id = h.out_hwpt_id;
	if (ioctl(fd, IOMMU_TEST_CMD, &rep))
		die("attach to the vIOMMU's nested HWPT");
	t = now_ns();
	for (int i = 0; i < iters; i++) {
		struct pollfd pf = { .fd = q.out_veventq_fd, .events = POLLIN };

		for (int b = 0; b < batch; b++)
			if (ioctl(fd, IOMMU_TEST_CMD, &trig))
				die("TRIGGER_VEVENT");
		poll(&pf, 1, -1);
		if (read(q.out_veventq_fd, buf, rec * batch) != (ssize_t)(rec * batch))
			die("read vEVENTQ");
	}
	t = now_ns() - t;
	return t / ((double)iters * batch);
}

static double iopf_ns(int fd, struct bench_env *e, int batch, int iters)
{
	struct iommu_hwpt_selftest sel = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .dev_id = e->idev, .pt_id = e->parent,
				      .flags = IOMMU_HWPT_FAULT_ID_VALID,
				      .data_type = IOMMU_HWPT_DATA_SELFTEST,
				      .data_len = sizeof(sel), .data_uptr = (uintptr_t)&sel };
	struct iommu_test_cmd rep = { .size = sizeof(rep), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
				      .id = e->stdev };
	struct iommu_test_cmd trig = { .size = sizeof(trig), .op = IOMMU_TEST_OP_TRIGGER_IOPF,
				       .trigger_iopf = { .dev_id = e->idev, .grpid = 1,
							 .perm = IOMMU_PGFAULT_PERM_READ } };
	struct iommu_hwpt_pgfault recs[64];
	struct iommu_hwpt_page_response resp[64];
	double t;

	if (ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa))
		die("FAULT_QUEUE_ALLOC");
	h.fault_id = fa.out_fault_id;
	if (ioctl(fd, IOMMU_HWPT_ALLOC, &h))
		die("HWPT_ALLOC iopf");
	rep.mock_domain_replace.pt_id = h.out_hwpt_id;
	if (ioctl(fd, IOMMU_TEST_CMD, &rep))
		die("attach to the iopf HWPT");
	t = now_ns();
	for (int i = 0; i < iters; i++) {
		struct pollfd pf = { .fd = fa.out_fault_fd, .events = POLLIN };

		for (int b = 0; b < batch; b++)
			if (ioctl(fd, IOMMU_TEST_CMD, &trig))
				die("TRIGGER_IOPF");
		poll(&pf, 1, -1);
		if (read(fa.out_fault_fd, recs, sizeof(recs[0]) * batch) !=
		    (ssize_t)(sizeof(recs[0]) * batch))
			die("read faults");
		for (int b = 0; b < batch; b++)
			resp[b] = (struct iommu_hwpt_page_response){ .cookie = recs[b].cookie };
		if (write(fa.out_fault_fd, resp, sizeof(resp[0]) * batch) !=
		    (ssize_t)(sizeof(resp[0]) * batch))
			die("write responses");
	}
	t = now_ns() - t;
	return t / ((double)iters * batch);
}

#define RUNS 7

/* One run of @path on a fresh iommufd (setup not timed) */
static double run_path(int iopf, int batch, int iters)
{
	struct bench_env e;
	int fd = open("/dev/iommu", O_RDWR);
	double ns;

	if (fd < 0)
		die("open /dev/iommu");
	bench_env_setup(fd, &e);
	ns = iopf ? iopf_ns(fd, &e, batch, iters) : vevent_ns(fd, &e, batch, iters);
	close(fd);
	return ns;
}

int main(int argc, char **argv)
{
	size_t vrec = sizeof(struct iommufd_vevent_header) +
		      sizeof(struct iommu_viommu_event_selftest);
	size_t frec = sizeof(struct iommu_hwpt_pgfault) + sizeof(struct iommu_hwpt_page_response);

	under_shim(argv);
	printf("event delivery through the LD_PRELOAD shim, ns per event (best of %d runs)\n", RUNS);
	printf("baseline: the same bytes through a pipe (write + poll + read)\n\n");
	printf("%-32s %6s %10s %10s %8s\n", "path", "batch", "ns/event", "base ns", "ratio");
	for (int batch = 1; batch <= 64; batch *= 64) {
		int iters = batch == 1 ? 20000 : 500;

		for (int iopf = 0; iopf < 2; iopf++) {
			double ns = 1e30, base = 1e30;

			for (int r = 0; r < RUNS; r++) {
				double t = run_path(iopf, batch, iters);

				if (t < ns)
					ns = t;
				t = pipe_baseline(iopf ? frec : vrec, batch, iters);
				if (t < base)
					base = t;
			}
			printf("%-32s %6d %10.0f %10.0f %8.2f\n",
			       iopf ? "fault queue: IOPF, read, respond" :
				      "vEVENTQ: report, poll, read", batch, ns, base, ns / base);
		}
	}
	return 0;
}
