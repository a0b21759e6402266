// SPDX-License-Identifier: MIT
/*
 * test_bad_input — what each class of bad input gets, as Linux 7.2's iommufd answers it. One
 * row per case; the table this prints is docs/bad-input.md's, and every row there is a row
 * here. Prints "N passed, N failed" last.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/sio_ops.h"

static int fd;
static uint32_t ioas, stdev, hwpt, idev;
static char *buf;     /* two mapped pages */
static void *hole;    /* a PROT_NONE page: never readable, never reused by an allocator */
static int n_pass, n_fail;

static long do_ioctl(unsigned long cmd, void *arg)
{
	return softiommu_ioctl(fd, cmd, arg);
}

/* ---- the cases: each returns the call's result (0 or -errno) ---- */

static long bad_id_destroy(void)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = 0xdead };

	return do_ioctl(IOMMU_DESTROY, &cmd);
}

static long bad_id_map(void)
{
	uint64_t iova;

	return t_ioas_map(fd, 0xdead, buf, 4096, &iova, 0);
}

static long wrong_type_map(void)
{
	uint64_t iova;

	return t_ioas_map(fd, hwpt, buf, 4096, &iova, 0); /* a HWPT is not an IOAS */
}

static long wrong_type_hwpt_alloc(void)
{
	uint32_t out;

	return t_hwpt_alloc(fd, idev, stdev, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &out);
}

static long wrong_type_device(void)
{
	uint32_t out;

	return t_hwpt_alloc(fd, ioas, ioas, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &out);
}

static long null_arg(void)
{
	return do_ioctl(IOMMU_IOAS_ALLOC, NULL);
}

static long unmapped_arg(void)
{
	return do_ioctl(IOMMU_IOAS_ALLOC, hole);
}

static long bad_array_pointer(void)
{
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = 1,
		.allowed_iovas = (uintptr_t)hole,
	};

	return do_ioctl(IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

static long bad_user_va_pinned(void)
{
	uint64_t iova;

	/* With a domain attached the pages are pinned at map time */
	return t_ioas_map(fd, ioas, hole, 4096, &iova, 0);
}

static long bad_rw_buffer(void)
{
	uint64_t iova = MOCK_APERTURE_START + (8 << 20);
	int afd;
	long rc = t_ioas_map(fd, ioas, buf, 8192, &iova, 1);

	if (rc)
		return rc;
	rc = t_create_access(fd, ioas, &afd, 0);
	if (!rc) {
		rc = t_access_rw(fd, afd, iova, hole, 64, 0);
		softiommu_close(afd);
	}
	t_ioas_unmap(fd, ioas, iova, 8192, NULL);
	return rc;
}

static long iova_overflow(void)
{
	uint64_t iova = UINT64_MAX - 4095;

	return t_ioas_map(fd, ioas, buf, 8192, &iova, 1);
}

static long unmap_overflow(void)
{
	return t_ioas_unmap(fd, ioas, UINT64_MAX - 4095, 8192, NULL);
}

static long user_va_overflow(void)
{
	uint64_t iova;
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE,
		.ioas_id = ioas,
		.user_va = UINT64_MAX - 4095,
		.length = 8192,
	};

	(void)iova;
	return do_ioctl(IOMMU_IOAS_MAP, &cmd);
}

static long reserved_hwpt_alloc(void)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .dev_id = idev, .pt_id = ioas, .__reserved = 1,
	};

	return do_ioctl(IOMMU_HWPT_ALLOC, &cmd);
}

static long reserved_allow_iovas(void)
{
	struct iommu_ioas_allow_iovas cmd = { .size = sizeof(cmd), .ioas_id = ioas,
					      .__reserved = 1 };

	return do_ioctl(IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

static long unknown_flag_alloc(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd), .flags = 1 };

	return do_ioctl(IOMMU_IOAS_ALLOC, &cmd);
}

static long unknown_flag_map(void)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = IOMMU_IOAS_MAP_READABLE | (1u << 30),
		.ioas_id = ioas, .user_va = (uintptr_t)buf, .length = 4096,
	};

	return do_ioctl(IOMMU_IOAS_MAP, &cmd);
}

static long unknown_flag_hwpt(void)
{
	uint32_t out;

	return t_hwpt_alloc(fd, idev, ioas, 1u << 31, IOMMU_HWPT_DATA_NONE, NULL, 0, &out);
}

static long short_struct(void)
{
	struct iommu_ioas_alloc cmd = { .size = 4 };

	return do_ioctl(IOMMU_IOAS_ALLOC, &cmd);
}

static long short_struct_map(void)
{
	struct iommu_ioas_map cmd = { .size = offsetof(struct iommu_ioas_map, iova) };

	return do_ioctl(IOMMU_IOAS_MAP, &cmd);
}

static struct {
	struct iommu_ioas_alloc cmd;
	uint64_t tail;
} long_cmd;

static long long_nonzero_tail(void)
{
	long_cmd.cmd = (struct iommu_ioas_alloc){ .size = sizeof(long_cmd) };
	long_cmd.tail = 1;
	return do_ioctl(IOMMU_IOAS_ALLOC, &long_cmd);
}

static long long_zero_tail(void)
{
	long rc;

	long_cmd.cmd = (struct iommu_ioas_alloc){ .size = sizeof(long_cmd) };
	long_cmd.tail = 0;
	rc = do_ioctl(IOMMU_IOAS_ALLOC, &long_cmd);
	if (!rc)
		t_destroy(fd, long_cmd.cmd.out_ioas_id);
	return rc;
}

static long unknown_ioctl_in_range(void)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd) };

	return do_ioctl(_IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 0x70), &cmd);
}

static long unknown_ioctl_other(void)
{
	return do_ioctl(_IO('z', 0x42), NULL);
}

static long bad_fd(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	return softiommu_ioctl(-1, IOMMU_IOAS_ALLOC, &cmd);
}

static long destroy_in_use(void)
{
	return t_destroy(fd, ioas); /* the mock device's domain holds it */
}

static long misaligned_iova(void)
{
	uint64_t iova = MOCK_APERTURE_START + 100;

	return t_ioas_map(fd, ioas, buf, 4096, &iova, 1);
}

static long zero_length(void)
{
	uint64_t iova;

	return t_ioas_map(fd, ioas, buf, 0, &iova, 0);
}

static long ranges_too_small(void)
{
	struct iommu_ioas_iova_ranges cmd = { .size = sizeof(cmd), .ioas_id = ioas };

	return do_ioctl(IOMMU_IOAS_IOVA_RANGES, &cmd);
}

static long unmap_nothing(void)
{
	return t_ioas_unmap(fd, ioas, MOCK_APERTURE_START + (64 << 20), 4096, NULL);
}

static long vfio_bad_type(void)
{
	return t_vfio_set_iommu(fd, 0x1234);
}

/* ---- classes the differential tester (tests/diff) found ---- */

static long dirty_range_before_support(void)
{
	/* the mock device's automatic domain does not track dirty pages */
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .iova = MOCK_APERTURE_START,
		.length = 4096, .page_size = 0, .data = (uintptr_t)buf,
	};

	return do_ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

static long allow_iovas_huge_count(void)
{
	struct iommu_iova_range *r = (void *)buf;
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = UINT32_MAX,
		.allowed_iovas = (uintptr_t)r,
	};

	r[0] = (struct iommu_iova_range){ 1 << 24, (2 << 24) - 1 };
	r[1] = (struct iommu_iova_range){ 4 << 24, 4 << 24 };
	return do_ioctl(IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

static long read_noncanonical(void)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };
	long rc = do_ioctl(IOMMU_FAULT_QUEUE_ALLOC, &cmd);
	struct iommu_destroy d = { .size = sizeof(d) };

	if (rc)
		return rc;
	/* 16 is no multiple of a fault record: the buffer check comes first */
	rc = softiommu_read((int)cmd.out_fault_fd, (void *)0x8000000000000000ull, 16);
	softiommu_close((int)cmd.out_fault_fd);
	d.id = cmd.out_fault_id;
	do_ioctl(IOMMU_DESTROY, &d);
	return rc;
}

static long pasid_on_plain_device(void)
{
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = IOMMU_HWPT_ALLOC_PASID,
				      .dev_id = idev, .pt_id = ioas };
	struct iommu_test_cmd cmd = { .size = sizeof(cmd), .op = IOMMU_TEST_OP_PASID_ATTACH,
				      .id = stdev, .pasid_attach.pasid = 100 };
	struct iommu_destroy d = { .size = sizeof(d) };
	long rc = do_ioctl(IOMMU_HWPT_ALLOC, &h);

	if (rc)
		return rc;
	cmd.pasid_attach.pt_id = h.out_hwpt_id;
	rc = do_ioctl(IOMMU_TEST_CMD, &cmd);
	d.id = h.out_hwpt_id;
	do_ioctl(IOMMU_DESTROY, &d);
	return rc;
}

static void destroy_id(uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	do_ioctl(IOMMU_DESTROY, &d);
}

static long dirty_bitmap_unwritable(void)
{
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				      .dev_id = idev, .pt_id = ioas };
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .iova = MOCK_APERTURE_START, .length = 4096,
		.page_size = 4096, .data = 0,
	};
	long rc = do_ioctl(IOMMU_HWPT_ALLOC, &h);

	if (rc)
		return rc;
	cmd.hwpt_id = h.out_hwpt_id;
	rc = do_ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
	destroy_id(h.out_hwpt_id);
	return rc;
}

static long veventq_write(void)
{
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
				      .dev_id = idev, .pt_id = ioas };
	struct iommu_viommu_alloc v = { .size = sizeof(v), .type = IOMMU_VIOMMU_TYPE_SELFTEST,
					.dev_id = idev };
	struct iommu_veventq_alloc q = { .size = sizeof(q), .type = IOMMU_VEVENTQ_TYPE_SELFTEST,
					 .veventq_depth = 2 };
	long rc = do_ioctl(IOMMU_HWPT_ALLOC, &h);

	if (rc)
		return rc;
	v.hwpt_id = h.out_hwpt_id;
	rc = do_ioctl(IOMMU_VIOMMU_ALLOC, &v);
	if (!rc) {
		q.viommu_id = v.out_viommu_id;
		rc = do_ioctl(IOMMU_VEVENTQ_ALLOC, &q);
		if (!rc) {
			rc = softiommu_write((int)q.out_veventq_fd, buf, 8);
			softiommu_close((int)q.out_veventq_fd);
			destroy_id(q.out_veventq_id);
		}
		destroy_id(v.out_viommu_id);
	}
	destroy_id(h.out_hwpt_id);
	return rc;
}

static long copy_zero_length(void)
{
	struct iommu_ioas_copy cmd = { .size = sizeof(cmd), .dst_ioas_id = 0xdead,
				       .src_ioas_id = ioas, .length = 0,
				       .flags = IOMMU_IOAS_MAP_READABLE };

	return do_ioctl(IOMMU_IOAS_COPY, &cmd);
}

/* The last page of the address space, mapped where a domain pins it: GUP's count wraps */
static long pin_wraps(void)
{
	uint64_t iova = 1 << 24;

	return t_ioas_map(fd, ioas, (void *)(uintptr_t)(UINT64_MAX - 4095), 2048, &iova, 1);
}

/* An access through an IOAS without domains: @map maps, then a 16-byte copy at @off */
static long access_copy(long (*map)(uint32_t, uint64_t *), uint64_t off, uint32_t flags)
{
	uint32_t lazy;
	uint64_t iova = 0;
	int afd;
	char out[16];
	long rc;

	if (t_ioas_alloc(fd, &lazy))
		return -ENOMEM;
	rc = map(lazy, &iova);
	if (!rc)
		rc = t_create_access(fd, lazy, &afd, 0);
	if (!rc) {
		rc = t_access_rw(fd, afd, iova + off, out, sizeof(out), flags);
		softiommu_close(afd);
	}
	destroy_id(lazy);
	return rc;
}

static long map_memfd_page(uint32_t id, uint64_t *iova)
{
	int mfd = memfd_create("bad-input", MFD_CLOEXEC);
	struct iommu_ioas_map_file cmd = { .size = sizeof(cmd), .ioas_id = id, .fd = mfd,
					   .length = 1ULL << 40,
					   .flags = IOMMU_IOAS_MAP_READABLE };
	long rc = mfd < 0 || ftruncate(mfd, 4096) ? -ENOMEM : do_ioctl(IOMMU_IOAS_MAP_FILE, &cmd);

	*iova = cmd.iova;
	close(mfd);
	return rc;
}

static long file_past_eof(void)
{
	return access_copy(map_memfd_page, 4096, 0);
}

static long map_readonly_writable(uint32_t id, uint64_t *iova)
{
	void *ro = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return ro == MAP_FAILED ? -ENOMEM : t_ioas_map(fd, id, ro, 2 * 4096, iova, 0);
}

static long readonly_mapped_writable(void)
{
	return access_copy(map_readonly_writable, 4090, MOCK_ACCESS_RW_SLOW_PATH);
}

static const struct row {
	const char *class;
	const char *what;
	long (*fn)(void);
	int want; /* errno */
} rows[] = {
	{ "bad object ID", "IOMMU_DESTROY of an ID never handed out", bad_id_destroy, ENOENT },
	{ "bad object ID", "IOMMU_IOAS_MAP on an unknown ioas_id", bad_id_map, ENOENT },
	{ "wrong object type", "IOMMU_IOAS_MAP with a HWPT's ID as ioas_id", wrong_type_map,
	  ENOENT },
	{ "wrong object type", "IOMMU_HWPT_ALLOC with a device's ID as pt_id",
	  wrong_type_hwpt_alloc, EINVAL },
	{ "wrong object type", "IOMMU_HWPT_ALLOC with an IOAS's ID as dev_id", wrong_type_device,
	  ENOENT },
	{ "bad pointer", "ioctl argument NULL", null_arg, EFAULT },
	{ "bad pointer", "ioctl argument on an inaccessible page", unmapped_arg, EFAULT },
	{ "bad pointer", "IOMMU_IOAS_ALLOW_IOVAS array on an inaccessible page", bad_array_pointer,
	  EFAULT },
	{ "bad pointer", "IOMMU_IOAS_MAP of inaccessible memory (pinned: a domain is attached)",
	  bad_user_va_pinned, EFAULT },
	{ "bad pointer", "IOMMU_TEST_OP_ACCESS_RW into an inaccessible buffer", bad_rw_buffer,
	  EFAULT },
	{ "overflowing range", "IOMMU_IOAS_MAP, FIXED_IOVA iova + length past 2^64",
	  iova_overflow, EOVERFLOW },
	{ "overflowing range", "IOMMU_IOAS_UNMAP, iova + length past 2^64", unmap_overflow,
	  EOVERFLOW },
	{ "overflowing range", "IOMMU_IOAS_MAP, user_va + length past 2^64", user_va_overflow,
	  EOVERFLOW },
	{ "reserved field set", "IOMMU_HWPT_ALLOC __reserved = 1", reserved_hwpt_alloc,
	  EOPNOTSUPP },
	{ "reserved field set", "IOMMU_IOAS_ALLOW_IOVAS __reserved = 1", reserved_allow_iovas,
	  EOPNOTSUPP },
	{ "unknown flag", "IOMMU_IOAS_ALLOC flags = 1", unknown_flag_alloc, EOPNOTSUPP },
	{ "unknown flag", "IOMMU_IOAS_MAP flags bit 30", unknown_flag_map, EOPNOTSUPP },
	{ "unknown flag", "IOMMU_HWPT_ALLOC flags bit 31", unknown_flag_hwpt, EOPNOTSUPP },
	{ "short struct", "IOMMU_IOAS_ALLOC size = 4", short_struct, EINVAL },
	{ "short struct", "IOMMU_IOAS_MAP size ending before iova", short_struct_map, EINVAL },
	{ "long struct, non-zero tail", "IOMMU_IOAS_ALLOC size + 8, tail 1", long_nonzero_tail,
	  E2BIG },
	{ "long struct, zero tail", "IOMMU_IOAS_ALLOC size + 8, tail 0 (accepted)",
	  long_zero_tail, 0 },
	{ "unknown ioctl", "iommufd number without a command", unknown_ioctl_in_range, ENOTTY },
	{ "unknown ioctl", "a number of another driver", unknown_ioctl_other, ENOTTY },
	{ "not an iommufd", "softiommu_ioctl() on fd -1", bad_fd, EBADF },
	{ "object in use", "IOMMU_DESTROY of an IOAS a device is attached to", destroy_in_use,
	  EBUSY },
	{ "misaligned", "IOMMU_IOAS_MAP FIXED_IOVA not aligned to the domain's page",
	  misaligned_iova, EINVAL },
	{ "empty range", "IOMMU_IOAS_MAP length 0", zero_length, EINVAL },
	{ "output too small", "IOMMU_IOAS_IOVA_RANGES with num_iovas 0 (count written back)",
	  ranges_too_small, EMSGSIZE },
	{ "nothing there", "IOMMU_IOAS_UNMAP of an unmapped range", unmap_nothing, ENOENT },
	{ "bad VFIO compat", "VFIO_SET_IOMMU of an unknown type", vfio_bad_type, EINVAL },
	{ "empty range before a bad object", "IOMMU_IOAS_COPY length 0 to an unknown dst_ioas_id",
	  copy_zero_length, EINVAL },
	{ "bad range on a HWPT without dirty tracking",
	  "IOMMU_HWPT_GET_DIRTY_BITMAP page_size 0 on an automatic domain",
	  dirty_range_before_support, EINVAL },
	{ "unwritable dirty bitmap", "IOMMU_HWPT_GET_DIRTY_BITMAP with data NULL (accepted)",
	  dirty_bitmap_unwritable, 0 },
	{ "huge array count", "IOMMU_IOAS_ALLOW_IOVAS num_iovas 2^32-1, second entry start = last",
	  allow_iovas_huge_count, EINVAL },
	{ "bad read/write buffer", "read() of a fault queue into a non-canonical address, 16 bytes",
	  read_noncanonical, EFAULT },
	{ "no such file operation", "write() on a vEVENTQ descriptor", veventq_write, EINVAL },
	{ "page count wraps", "IOMMU_IOAS_MAP of the last page of the address space, pinned",
	  pin_wraps, EOVERFLOW },
	{ "past the end of a file", "IOMMU_TEST_OP_ACCESS_RW of a memfd page past its end (area 1 TiB)",
	  file_past_eof, EINVAL },
	{ "memory not as mapped", "IOMMU_TEST_OP_ACCESS_RW slow path over read-only memory mapped writable",
	  readonly_mapped_writable, EFAULT },
	{ "PASID the device cannot issue", "IOMMU_TEST_OP_PASID_ATTACH of PASID 100 to a plain mock device",
	  pasid_on_plain_device, EINVAL },
};

static const char *errname(long rc)
{
	static char other[32];

	switch (-rc) {
	case 0: return "success";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case E2BIG: return "E2BIG";
	case ENOTTY: return "ENOTTY";
	case EBADF: return "EBADF";
	case EBUSY: return "EBUSY";
	case EMSGSIZE: return "EMSGSIZE";
	case ENOMEM: return "ENOMEM";
	case EEXIST: return "EEXIST";
	}
	snprintf(other, sizeof(other), "errno %ld", -rc);
	return other;
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);

	buf = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	hole = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || hole == MAP_FAILED)
		return 2;
	fd = softiommu_open(0);
	if (fd < 0 || t_ioas_alloc(fd, &ioas) || t_mock_domain(fd, ioas, &stdev, &hwpt, &idev) ||
	    t_vfio_ioas_set(fd, ioas)) {
		printf("setup failed\n");
		return 2;
	}
	printf("| class | input | errno | got |\n|---|---|---|---|\n");
	for (size_t i = 0; i != sizeof(rows) / sizeof(rows[0]); i++) {
		long rc = rows[i].fn();
		int ok = rc == -(long)rows[i].want;

		printf("| %s | %s | %s | %s |\n", rows[i].class, rows[i].what,
		       errname(-(long)rows[i].want), ok ? "ok" : errname(rc));
		if (ok)
			n_pass++;
		else
			n_fail++;
	}
	softiommu_close(fd);
	if (t_pinned()) {
		printf("pages still pinned after close\n");
		n_fail++;
	}
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
