// SPDX-License-Identifier: MIT
/*
 * fault_inject — sweep every fault-injection point of a set of iommufd call sequences: IOAS
 * map/unmap/copy with 0, 1 and 2 mock domains, device attach/replace, paging and nested HWPTs,
 * access pin/rw, VFIO compat (type1, type1v2), vIOMMU/vDEVICE/vEVENTQ, fault queue with IOPF,
 * dirty tracking, memfd-backed maps.
 *
 * For each scenario: run it once on a fresh context counting the sio_should_fail() points it
 * passes (it must succeed), then re-run it failing the 1st, 2nd, ... Nth point. After every
 * run:
 *  - the call that failed must have returned a clean errno (ENOMEM, or ENOENT where the point
 *    is an object lookup; EINVAL where the kernel turns a lookup failure into it);
 *  - once the context and every descriptor it handed out are closed, no page is pinned
 *    (softiommu_pinned_pages()) and, under LeakSanitizer, no heap block is unreachable;
 *  - a fresh context still works (alloc, map, access rw, unmap).
 *
 *   fault_inject [-v] [-s SCENARIO]   (prints "N passed, N failed" last)
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/sio_ops.h"
#include "../../src/core/fail.h"

/* LeakSanitizer's on-demand check, when the program runs under it */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

#define BUF_SIZE (256 * 1024)
#define MAX_EXTRA_FDS 8

static char *buffer;
static int verbose;
static int injecting; /* this run arms a failure */
static unsigned long n_pass, n_fail, n_points, n_runs;

/* One run of a scenario: the context and the descriptors it handed out */
struct run {
	int fd;
	int extra[MAX_EXTRA_FDS];
	int nextra;
	const char *step; /* the step that failed */
};

#define STEP(r, call)                                  \
	do {                                           \
		int rc_ = (call);                      \
		if (rc_ < 0) {                         \
			(r)->step = #call;             \
			return rc_;                    \
		}                                      \
	} while (0)

static void keep_fd(struct run *r, int fd)
{
	if (r->nextra < MAX_EXTRA_FDS)
		r->extra[r->nextra++] = fd;
}

/* ---- scenarios ---- */

static int ioas_map_copy(struct run *r, int ndomains)
{
	uint32_t ioas, ioas2, stdev[2];
	uint64_t iova, iova2, fixed = MOCK_APERTURE_START + (1 << 20), len;
	struct iommu_iova_range out_ranges[4];
	struct iommu_ioas_iova_ranges ranges = { .size = sizeof(ranges), .num_iovas = 4,
						 .allowed_iovas = (uintptr_t)out_ranges };
	struct iommu_iova_range allow = { .start = MOCK_APERTURE_START,
					  .last = MOCK_APERTURE_LAST };
	struct iommu_ioas_allow_iovas allow_cmd = { .size = sizeof(allow_cmd), .num_iovas = 1,
						    .allowed_iovas = (uintptr_t)&allow };

	STEP(r, t_ioas_alloc(r->fd, &ioas));
	STEP(r, t_ioas_alloc(r->fd, &ioas2));
	for (int i = 0; i != ndomains; i++)
		STEP(r, t_mock_domain(r->fd, ioas, &stdev[i], NULL, NULL));
	allow_cmd.ioas_id = ioas;
	STEP(r, (int)t_ioctl(r->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow_cmd));
	ranges.ioas_id = ioas;
	STEP(r, (int)t_ioctl(r->fd, IOMMU_IOAS_IOVA_RANGES, &ranges));
	STEP(r, t_ioas_map(r->fd, ioas, buffer, BUF_SIZE, &iova, 0));
	STEP(r, t_ioas_map(r->fd, ioas, buffer, BUF_SIZE / 2, &fixed, 1));
	STEP(r, t_ioas_copy(r->fd, ioas2, ioas, iova, BUF_SIZE, &iova2, 0));
	STEP(r, t_ioas_unmap(r->fd, ioas, iova, BUF_SIZE, &len));
	if (ndomains)
		STEP(r, t_destroy(r->fd, stdev[0]));
	STEP(r, t_ioas_copy(r->fd, ioas, ioas2, iova2, BUF_SIZE, &iova, 0));
	STEP(r, t_ioas_unmap(r->fd, ioas, 0, UINT64_MAX, &len));
	STEP(r, t_ioas_unmap(r->fd, ioas2, iova2, BUF_SIZE, &len));
	STEP(r, t_destroy(r->fd, ioas2));
	return 0;
}

static int ioas_d0(struct run *r) { return ioas_map_copy(r, 0); }
static int ioas_d1(struct run *r) { return ioas_map_copy(r, 1); }
static int ioas_d2(struct run *r) { return ioas_map_copy(r, 2); }

static int device_replace(struct run *r)
{
	uint32_t ioas, ioas2, stdev, hwpt, idev, hwpt2, out;
	uint64_t iova;

	STEP(r, t_ioas_alloc(r->fd, &ioas));
	STEP(r, t_ioas_alloc(r->fd, &ioas2));
	STEP(r, t_mock_domain(r->fd, ioas, &stdev, &hwpt, &idev));
	STEP(r, t_ioas_map(r->fd, ioas, buffer, BUF_SIZE, &iova, 0));
	STEP(r, t_mock_replace(r->fd, stdev, ioas2, &out));
	STEP(r, t_ioas_map(r->fd, ioas2, buffer, BUF_SIZE, &iova, 0));
	STEP(r, t_hwpt_alloc(r->fd, idev, ioas, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &hwpt2));
	STEP(r, t_mock_replace(r->fd, stdev, hwpt2, &out));
	STEP(r, t_mock_replace(r->fd, stdev, ioas, &out));
	STEP(r, t_destroy(r->fd, hwpt2));
	STEP(r, t_destroy(r->fd, stdev));
	STEP(r, t_mock_domain(r->fd, ioas2, &stdev, &hwpt, &idev));
	return 0;
}

static int hwpt_nested(struct run *r)
{
	uint32_t ioas, stdev, idev, parent, nested, out;
	uint64_t iova;

	STEP(r, t_ioas_alloc(r->fd, &ioas));
	STEP(r, t_mock_domain(r->fd, ioas, &stdev, NULL, &idev));
	STEP(r, t_hwpt_alloc(r->fd, idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
			     IOMMU_HWPT_DATA_NONE, NULL, 0, &parent));
	STEP(r, t_ioas_map(r->fd, ioas, buffer, BUF_SIZE, &iova, 0));
	STEP(r, t_nested_alloc(r->fd, idev, parent, &nested));
	STEP(r, t_mock_replace(r->fd, stdev, nested, &out));
	STEP(r, t_mock_replace(r->fd, stdev, parent, &out));
	STEP(r, t_destroy(r->fd, nested));
	STEP(r, t_ioas_unmap(r->fd, ioas, iova, BUF_SIZE, NULL));
	return 0;
}

static int access_pin_rw(struct run *r, int ndomains)
{
	uint32_t ioas, ioas2, pages_id;
	uint64_t iova, iova2;
	char tmp[300];
	int afd;

	STEP(r, t_ioas_alloc(r->fd, &ioas));
	STEP(r, t_ioas_alloc(r->fd, &ioas2));
	STEP(r, t_memory_limit(r->fd, 32));
	for (int i = 0; i != ndomains; i++)
		STEP(r, t_mock_domain(r->fd, ioas, NULL, NULL, NULL));
	STEP(r, t_ioas_map(r->fd, ioas, buffer, BUF_SIZE, &iova, 0));
	STEP(r, t_create_access(r->fd, ioas, &afd, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES));
	keep_fd(r, afd);
	STEP(r, t_access_pages(r->fd, afd, iova + 4096, 3 * 4096, buffer + 4096,
			       MOCK_FLAGS_ACCESS_WRITE, &pages_id));
	STEP(r, t_access_rw(r->fd, afd, iova + 100, tmp, sizeof(tmp), 0));
	STEP(r, t_access_rw(r->fd, afd, iova + 100, tmp, sizeof(tmp), MOCK_ACCESS_RW_WRITE));
	STEP(r, t_access_rw(r->fd, afd, iova + 4000, tmp, sizeof(tmp),
			    MOCK_ACCESS_RW_SLOW_PATH));
	STEP(r, t_access_unpin(r->fd, afd, pages_id));
	STEP(r, t_access_pages(r->fd, afd, iova, BUF_SIZE, buffer, 0, &pages_id));
	/* Unmapping pinned pages makes the core ask the access to unpin them */
	STEP(r, t_ioas_unmap(r->fd, ioas, iova, BUF_SIZE, NULL));
	STEP(r, t_ioas_map(r->fd, ioas2, buffer, BUF_SIZE, &iova2, 0));
	STEP(r, t_access_replace(r->fd, afd, ioas2));
	STEP(r, t_access_rw(r->fd, afd, iova2, tmp, sizeof(tmp), MOCK_ACCESS_RW_WRITE));
	return 0;
}

static int access_d0(struct run *r) { return access_pin_rw(r, 0); }
static int access_d1(struct run *r) { return access_pin_rw(r, 1); }

static int vfio_compat(struct run *r)
{
	uint32_t ioas;
	uint64_t len;

	STEP(r, t_ioas_alloc(r->fd, &ioas));
	STEP(r, t_vfio_ioas_set(r->fd, ioas));
	STEP(r, t_vfio_set_iommu(r->fd, VFIO_TYPE1v2_IOMMU));
	STEP(r, t_vfio_map(r->fd, buffer, BUF_SIZE, MOCK_APERTURE_START));
	STEP(r, t_mock_domain(r->fd, ioas, NULL, NULL, NULL));
	STEP(r, t_vfio_map(r->fd, buffer, BUF_SIZE, MOCK_APERTURE_START + BUF_SIZE));
	STEP(r, t_vfio_unmap(r->fd, MOCK_APERTURE_START, BUF_SIZE, 0, &len));
	STEP(r, t_vfio_unmap(r->fd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &len));
	return 0;
}

static int vfio_type1(struct run *r)
{
	uint32_t ioas;
	uint64_t len;

	STEP(r, t_ioas_alloc(r->fd, &ioas));
	STEP(r, t_vfio_ioas_set(r->fd, ioas));
	STEP(r, t_vfio_set_iommu(r->fd, VFIO_TYPE1_IOMMU));
	STEP(r, t_mock_domain(r->fd, ioas, NULL, NULL, NULL));
	STEP(r, t_vfio_map(r->fd, buffer, BUF_SIZE, MOCK_APERTURE_START));
	/* type1 v0 may unmap part of a mapping */
	STEP(r, t_vfio_unmap(r->fd, MOCK_APERTURE_START + 4096, 4096, 0, &len));
	STEP(r, t_vfio_unmap(r->fd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &len));
	return 0;
}


static int nested_parent(struct run *r, uint32_t *ioas, uint32_t *stdev, uint32_t *idev,
			 uint32_t *parent)
{
	STEP(r, t_ioas_alloc(r->fd, ioas));
	STEP(r, t_mock_domain(r->fd, *ioas, stdev, NULL, idev));
	STEP(r, t_hwpt_alloc(r->fd, *idev, *ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
			     IOMMU_HWPT_DATA_NONE, NULL, 0, parent));
	return 0;
}

static int viommu_veventq(struct run *r)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	uint32_t ioas, stdev, idev, parent, nested, out;
	struct iommu_viommu_alloc viommu = { .size = sizeof(viommu),
					     .type = IOMMU_VIOMMU_TYPE_SELFTEST };
	struct iommu_vdevice_alloc vdev = { .size = sizeof(vdev), .virt_id = 0x99 };
	struct iommu_veventq_alloc veventq = { .size = sizeof(veventq),
					       .type = IOMMU_VEVENTQ_TYPE_SELFTEST,
					       .veventq_depth = 2 };
	struct iommu_test_cmd trigger = { .op = IOMMU_TEST_OP_TRIGGER_VEVENT };
	char event[256];
	int rc;

	rc = nested_parent(r, &ioas, &stdev, &idev, &parent);
	if (rc)
		return rc;
	viommu.dev_id = idev;
	viommu.hwpt_id = parent;
	STEP(r, (int)t_ioctl(r->fd, IOMMU_VIOMMU_ALLOC, &viommu));
	vdev.viommu_id = viommu.out_viommu_id;
	vdev.dev_id = idev;
	STEP(r, (int)t_ioctl(r->fd, IOMMU_VDEVICE_ALLOC, &vdev));
	veventq.viommu_id = viommu.out_viommu_id;
	STEP(r, (int)t_ioctl(r->fd, IOMMU_VEVENTQ_ALLOC, &veventq));
	keep_fd(r, (int)veventq.out_veventq_fd);
	STEP(r, t_hwpt_alloc(r->fd, idev, viommu.out_viommu_id, 0, IOMMU_HWPT_DATA_SELFTEST,
			     &data, sizeof(data), &nested));
	STEP(r, t_mock_replace(r->fd, stdev, nested, &out));
	trigger.trigger_vevent.dev_id = idev;
	STEP(r, t_test_cmd(r->fd, &trigger));
	STEP(r, t_test_cmd(r->fd, &trigger));
	STEP(r, (int)softiommu_read((int)veventq.out_veventq_fd, event, sizeof(event)));
	STEP(r, t_mock_replace(r->fd, stdev, parent, &out));
	STEP(r, t_destroy(r->fd, nested));
	STEP(r, t_destroy(r->fd, vdev.out_vdevice_id));
	return 0;
}

static int fault_queue_iopf(struct run *r)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_fault_alloc fault = { .size = sizeof(fault) };
	struct iommu_hwpt_alloc alloc = { .size = sizeof(alloc), .flags = IOMMU_HWPT_FAULT_ID_VALID,
					  .data_type = IOMMU_HWPT_DATA_SELFTEST,
					  .data_len = sizeof(data), .data_uptr = (uintptr_t)&data };
	struct iommu_test_cmd trigger = {
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = { .pasid = 1, .grpid = 2, .addr = 0xdeadbeaf,
				  .perm = IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE },
	};
	struct iommu_hwpt_page_response response = { .code = IOMMUFD_PAGE_RESP_SUCCESS };
	struct iommu_hwpt_pgfault pgfault;
	uint32_t ioas, stdev, idev, parent, out;
	int rc;

	rc = nested_parent(r, &ioas, &stdev, &idev, &parent);
	if (rc)
		return rc;
	STEP(r, (int)t_ioctl(r->fd, IOMMU_FAULT_QUEUE_ALLOC, &fault));
	keep_fd(r, (int)fault.out_fault_fd);
	alloc.dev_id = idev;
	alloc.pt_id = parent;
	alloc.fault_id = fault.out_fault_id;
	STEP(r, (int)t_ioctl(r->fd, IOMMU_HWPT_ALLOC, &alloc));
	STEP(r, t_mock_replace(r->fd, stdev, alloc.out_hwpt_id, &out));
	trigger.trigger_iopf.dev_id = idev;
	STEP(r, t_test_cmd(r->fd, &trigger));
	rc = (int)softiommu_read((int)fault.out_fault_fd, &pgfault, sizeof(pgfault));
	/* As Linux's, the mock drops a fault it failed to queue and the trigger succeeds */
	if (rc == 0 && injecting && sio_fail_nth_get() == 0)
		return 0;
	if (rc != (int)sizeof(pgfault)) {
		r->step = "read the fault";
		return rc < 0 ? rc : -EIO;
	}
	response.cookie = pgfault.cookie;
	rc = (int)softiommu_write((int)fault.out_fault_fd, &response, sizeof(response));
	if (rc < 0) {
		r->step = "write the response";
		return rc;
	}
	STEP(r, t_mock_replace(r->fd, stdev, parent, &out));
	STEP(r, t_destroy(r->fd, alloc.out_hwpt_id));
	return 0;
}

static int dirty_tracking(struct run *r)
{
	uint32_t ioas, stdev, idev, hwpt, out;
	uint64_t iova = MOCK_APERTURE_START;
	struct iommu_hwpt_set_dirty_tracking set = { .size = sizeof(set),
						     .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE };
	static uint64_t bitmap[64];
	struct iommu_test_cmd dirty = {
		.op = IOMMU_TEST_OP_DIRTY,
		.dirty = { .iova = MOCK_APERTURE_START, .length = BUF_SIZE, .page_size = 4096,
			   .uptr = (uintptr_t)bitmap },
	};
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get), .iova = MOCK_APERTURE_START, .length = BUF_SIZE,
		.page_size = 4096, .data = (uintptr_t)bitmap,
	};

	STEP(r, t_ioas_alloc(r->fd, &ioas));
	STEP(r, t_mock_domain(r->fd, ioas, &stdev, NULL, &idev));
	STEP(r, t_hwpt_alloc(r->fd, idev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
			     IOMMU_HWPT_DATA_NONE, NULL, 0, &hwpt));
	STEP(r, t_mock_replace(r->fd, stdev, hwpt, &out));
	STEP(r, t_ioas_map(r->fd, ioas, buffer, BUF_SIZE, &iova, 1));
	set.hwpt_id = hwpt;
	STEP(r, (int)t_ioctl(r->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set));
	memset(bitmap, 0x55, sizeof(bitmap));
	dirty.id = hwpt;
	STEP(r, t_test_cmd(r->fd, &dirty));
	get.hwpt_id = hwpt;
	STEP(r, (int)t_ioctl(r->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get));
	set.flags = 0;
	STEP(r, (int)t_ioctl(r->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set));
	STEP(r, t_ioas_unmap(r->fd, ioas, iova, BUF_SIZE, NULL));
	return 0;
}

static int map_file(struct run *r)
{
	static int memfd = -1;
	uint32_t ioas, ioas2;
	uint64_t iova, iova2;
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.length = BUF_SIZE / 2,
		.start = 4096,
	};

	if (memfd < 0) {
		memfd = memfd_create("fault_inject", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, BUF_SIZE))
			return -EIO;
	}
	STEP(r, t_ioas_alloc(r->fd, &ioas));
	STEP(r, t_ioas_alloc(r->fd, &ioas2));
	STEP(r, t_mock_domain(r->fd, ioas, NULL, NULL, NULL));
	cmd.ioas_id = ioas;
	cmd.fd = memfd;
	STEP(r, (int)t_ioctl(r->fd, IOMMU_IOAS_MAP_FILE, &cmd));
	iova = cmd.iova;
	STEP(r, t_ioas_copy(r->fd, ioas2, ioas, iova, BUF_SIZE / 2, &iova2, 0));
	STEP(r, t_ioas_unmap(r->fd, ioas, iova, BUF_SIZE / 2, NULL));
	STEP(r, t_ioas_unmap(r->fd, ioas2, 0, UINT64_MAX, NULL));
	return 0;
}

static const struct scenario {
	const char *name;
	int (*run)(struct run *r);
} scenarios[] = {
	{ "ioas_map_copy_0_domains", ioas_d0 },
	{ "ioas_map_copy_1_domain", ioas_d1 },
	{ "ioas_map_copy_2_domains", ioas_d2 },
	{ "device_attach_replace", device_replace },
	{ "hwpt_paging_nested", hwpt_nested },
	{ "access_pin_rw_0_domains", access_d0 },
	{ "access_pin_rw_1_domain", access_d1 },
	{ "vfio_compat_type1v2", vfio_compat },
	{ "vfio_compat_type1", vfio_type1 },
	{ "viommu_vdevice_veventq", viommu_veventq },
	{ "fault_queue_iopf", fault_queue_iopf },
	{ "dirty_tracking", dirty_tracking },
	{ "map_file_copy", map_file },
};

/* ---- checks ---- */

/*
 * ENOMEM from allocations and pinning, ENOENT from an injected object lookup failure; the
 * kernel's IOMMU_HWPT_ALLOC reports any pt_id lookup failure as EINVAL, and so do we.
 */
static int clean_errno(int rc, const char *step)
{
	if (rc == -EINVAL && step &&
	    (strcasestr(step, "hwpt_alloc") || strstr(step, "nested_alloc")))
		return 1;
	return rc == -ENOMEM || rc == -ENOENT;
}

/* A fresh context must work after whatever the previous run did. */
static int fresh_context_works(void)
{
	uint32_t ioas;
	uint64_t iova, len = 0;
	char tmp[64] = "x";
	int fd, afd = -1, ok;

	fd = softiommu_open(0);
	if (fd < 0)
		return 0;
	ok = !t_ioas_alloc(fd, &ioas) && !t_mock_domain(fd, ioas, NULL, NULL, NULL) &&
	     !t_ioas_map(fd, ioas, buffer, 8192, &iova, 0) && !t_create_access(fd, ioas, &afd, 0) &&
	     !t_access_rw(fd, afd, iova, tmp, sizeof(tmp), MOCK_ACCESS_RW_WRITE) &&
	     !t_ioas_unmap(fd, ioas, iova, 8192, &len) && len == 8192;
	softiommu_close(fd);
	if (afd >= 0)
		softiommu_close(afd);
	return ok && t_pinned() == 0;
}

static void report(const struct scenario *s, unsigned long nth, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s nth=%lu: ", s->name, nth);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/*
 * One run of @s failing point @nth (0: none). Return: 1 when every check held, and
 * *@points the points the run passed.
 */
static int run_once(const struct scenario *s, unsigned long nth, unsigned long *points)
{
	struct run r = { .fd = -1 };
	int rc, ok = 1, fired;

	sio_fail_points_reset();
	injecting = nth != 0;
	sio_fail_nth_set((unsigned int)nth);
	r.fd = softiommu_open(0);
	if (r.fd < 0) {
		rc = r.fd;
		r.step = "softiommu_open";
	} else {
		rc = s->run(&r);
	}
	fired = nth && sio_fail_nth_get() == 0;
	sio_fail_nth_set(0);
	*points = sio_fail_points();
	/* The context first: the accesses it handed out keep it alive until they go */
	if (r.fd >= 0)
		softiommu_close(r.fd);
	for (int i = 0; i != r.nextra; i++)
		softiommu_close(r.extra[i]);
	n_runs++;

	if (!nth && rc) {
		report(s, nth, "the sequence fails without injection: %s: %s", r.step,
		       strerror(-rc));
		ok = 0;
	} else if (rc && !clean_errno(rc, r.step)) {
		report(s, nth, "%s returned %s (want ENOMEM/ENOENT)", r.step, strerror(-rc));
		ok = 0;
	} else if (rc && !fired) {
		report(s, nth, "%s failed (%s) with no injected failure", r.step, strerror(-rc));
		ok = 0;
	}
	if (t_pinned()) {
		report(s, nth, "%lu pages still pinned after close", t_pinned());
		ok = 0;
	}
	if (t_live()) {
		report(s, nth, "%lu objects still alive after close", t_live());
		ok = 0;
	}
	if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check()) {
		report(s, nth, "LeakSanitizer found leaks (above)");
		ok = 0;
	}
	if (!fresh_context_works()) {
		report(s, nth, "a fresh context does not work afterwards");
		ok = 0;
	}
	if (verbose)
		printf("  %s nth=%lu: %s%s%s\n", s->name, nth, rc ? r.step : "ok",
		       rc ? " -> " : "", rc ? strerror(-rc) : "");
	return ok;
}

static void sweep(const struct scenario *s)
{
	unsigned long points, p, nth, bad = 0;

	if (!run_once(s, 0, &points)) {
		n_fail++;
		return;
	}
	for (nth = 1; nth <= points; nth++)
		if (!run_once(s, nth, &p))
			bad++;
	/* One past the last point: nothing fires, the sequence must succeed */
	if (!run_once(s, points + 1, &p))
		bad++;
	n_points += points;
	printf("%-28s %5lu points, %5lu runs, %s\n", s->name, points, points + 2,
	       bad ? "FAILED" : "ok");
	if (bad)
		n_fail++;
	else
		n_pass++;
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "vs:")) != -1) {
		if (opt == 'v')
			verbose = 1;
		else if (opt == 's')
			only = optarg;
		else {
			fprintf(stderr, "usage: %s [-v] [-s SCENARIO]\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	buffer = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (buffer == MAP_FAILED)
		return 2;
	memset(buffer, 0x5a, BUF_SIZE);
	for (size_t i = 0; i != sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!only || !strcmp(only, scenarios[i].name))
			sweep(&scenarios[i]);
	printf("fault injection: %lu points swept in %lu runs%s\n", n_points, n_runs,
	       __lsan_do_recoverable_leak_check ? ", leak-checked" : "");
	printf("%lu passed, %lu failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
