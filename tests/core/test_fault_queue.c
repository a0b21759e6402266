// SPDX-License-Identifier: MIT
/*
 * Fault queues: IOMMU_FAULT_QUEUE_ALLOC, delivery of a recoverable fault from a mock device to
 * the queue of the HWPT it is attached to, read()/write() of records and responses with
 * cookies, the descriptor's hold on the object, and automatic completion on detach.
 */
#include <poll.h>
#include <unistd.h>

#include "testlib.h"

static long trigger(int fd, uint32_t idev, uint32_t pasid)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = { .dev_id = idev, .pasid = pasid, .grpid = 2,
				  .perm = IOMMU_PGFAULT_PERM_READ, .addr = 0xdeadb000 },
	};

	return softiommu_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int main(void)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_alloc h = { .size = sizeof(h) };
	struct iommu_hwpt_pgfault rec[2];
	struct iommu_hwpt_page_response resp = { .code = IOMMUFD_PAGE_RESP_SUCCESS };
	struct iommu_test_cmd rep = { .size = sizeof(rep), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	uint32_t ioas, idev, stdev, parent, iopf_hwpt;
	int fd = softiommu_open(0);

	ioas = t_ioas_alloc(fd);
	stdev = t_mock_domain(fd, ioas, NULL, &idev);
	fa.flags = 1;
	CHECK_ERR(EOPNOTSUPP, softiommu_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	fa.flags = 0;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	CHECK(fa.out_fault_id && softiommu_is_fd(fa.out_fault_fd));

	h.dev_id = idev;
	h.pt_id = ioas;
	h.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	parent = h.out_hwpt_id;
	h.pt_id = parent;
	h.flags = IOMMU_HWPT_FAULT_ID_VALID;
	h.fault_id = UINT32_MAX;
	h.data_type = IOMMU_HWPT_DATA_SELFTEST;
	h.data_len = sizeof(data);
	h.data_uptr = (uintptr_t)&data;
	CHECK_ERR(ENOENT, softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	h.fault_id = fa.out_fault_id;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	iopf_hwpt = h.out_hwpt_id;
	/* Used by the HWPT and held by its descriptor */
	CHECK_ERR(EBUSY, t_destroy(fd, fa.out_fault_id));

	/* Not attached to the queue's HWPT yet: nothing delivered */
	CHECK_OK(trigger(fd, idev, 0));
	CHECK(!readable(fa.out_fault_fd));
	rep.id = stdev;
	rep.mock_domain_replace.pt_id = iopf_hwpt;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &rep));

	/* A fault on the RID, and one on a PASID the nested domain's table covers */
	CHECK_OK(trigger(fd, idev, 0));
	CHECK_OK(trigger(fd, idev, 7));
	CHECK(readable(fa.out_fault_fd));
	CHECK_ERR(ESPIPE, softiommu_read(fa.out_fault_fd, rec, sizeof(rec[0]) - 1));
	CHECK(softiommu_read(fa.out_fault_fd, rec, sizeof(rec)) == sizeof(rec));
	CHECK(!readable(fa.out_fault_fd));
	CHECK(rec[0].dev_id == idev && rec[0].grpid == 2 && rec[0].addr == 0xdeadb000 &&
	      rec[0].perm == IOMMU_PGFAULT_PERM_READ);
	CHECK(rec[0].flags == IOMMU_PGFAULT_FLAGS_LAST_PAGE);
	CHECK(rec[1].pasid == 7 && (rec[1].flags & IOMMU_PGFAULT_FLAGS_PASID_VALID));
	CHECK(rec[0].cookie != rec[1].cookie);

	/* Responses: a bad code, an unknown cookie, then the real one */
	resp.code = 77;
	resp.cookie = rec[0].cookie;
	CHECK_ERR(EINVAL, softiommu_write(fa.out_fault_fd, &resp, sizeof(resp)));
	resp.code = IOMMUFD_PAGE_RESP_SUCCESS;
	resp.cookie = 12345;
	CHECK_ERR(EINVAL, softiommu_write(fa.out_fault_fd, &resp, sizeof(resp)));
	resp.cookie = rec[0].cookie;
	CHECK(softiommu_write(fa.out_fault_fd, &resp, sizeof(resp)) == sizeof(resp));
	CHECK_ERR(EINVAL, softiommu_write(fa.out_fault_fd, &resp, sizeof(resp)));

	/* fault_cookie_lowest_free: cookies count from 1 and an answered one comes back */
	{
		struct iommu_hwpt_pgfault again;

		CHECK(rec[0].cookie == 1 && rec[1].cookie == 2);
		CHECK_OK(trigger(fd, idev, 0));
		CHECK(softiommu_read(fa.out_fault_fd, &again, sizeof(again)) == sizeof(again));
		CHECK(again.cookie == 1);
		resp.cookie = again.cookie;
		CHECK(softiommu_write(fa.out_fault_fd, &resp, sizeof(resp)) == sizeof(resp));
	}

	/* Leaving the HWPT completes what is pending: rec[1]'s cookie is gone */
	CHECK_OK(trigger(fd, idev, 0));
	rep.mock_domain_replace.pt_id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_TEST_CMD, &rep));
	CHECK(!readable(fa.out_fault_fd));
	resp.cookie = rec[1].cookie;
	CHECK_ERR(EINVAL, softiommu_write(fa.out_fault_fd, &resp, sizeof(resp)));

	CHECK_OK(t_destroy(fd, iopf_hwpt));
	CHECK_ERR(EBUSY, t_destroy(fd, fa.out_fault_id));
	CHECK_OK(softiommu_close(fa.out_fault_fd));
	CHECK_OK(t_destroy(fd, fa.out_fault_id));
	CHECK_OK(softiommu_close(fd));
	return t_done();
}
