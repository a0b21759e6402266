// SPDX-License-Identifier: MIT
/*
 * fuzz_ioctl — libFuzzer target: input bytes decode to a sequence of iommufd ioctls on one
 * context, through the public API.
 *
 * The ops cover the IOAS, HWPT (paging, nested, dirty tracking, invalidation), device, access,
 * vIOMMU/vDEVICE/vEVENTQ/HW queue, fault queue (IOPF, read/write) and VFIO compat ioctls,
 * and the SMMUv3 model (fuzz_smmuv3.h: devices, a nested setup, DMA, command arrays).
 * Each op is one byte (the command) and then what it needs, read from the input as it goes
 * (missing bytes read as zero): IDs are drawn from the objects this input created (or are
 * zero, stale, or random), sizes and IOVAs from a table of boundary values or raw, flags
 * mutated, user pointers sometimes NULL, an inaccessible page or misaligned. One op arms the
 * fault-injection counter, one issues a raw command of iommufd's range with input bytes as the
 * struct (every word that could be a pointer is replaced by one of ours first: process memory
 * must not be written through a guessed address).
 *
 * After each input every descriptor softiommu handed out is closed, and then no page may
 * remain pinned (abort otherwise); LeakSanitizer (libFuzzer's -detect_leaks) reports heap
 * blocks the input left behind.
 *
 * Built two ways: with clang and -fsanitize=fuzzer (tests/fuzz/run.sh) as the fuzzer, and
 * with FUZZ_REPLAY as a plain program that runs the inputs named on its command line (CTest
 * replays the corpus and the regression inputs with it).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/sio_ops.h"
#include "../../src/core/fail.h"

#define BUF_SIZE (1 << 20)
#define MAX_IDS 64
#define MAX_OPS 128

static char *buffer, *scratch, *hole;
static int memfd = -1;

struct in {
	const uint8_t *p;
	size_t n;
};

struct state {
	int fd;
	uint32_t ids[MAX_IDS]; /* every ID any op returned */
	uint32_t ioas[MAX_IDS], nioas;
	uint32_t hwpt[MAX_IDS], nhwpt;
	uint32_t stdev[MAX_IDS], nstdev;
	uint32_t idev[MAX_IDS], nidev;
	int access[MAX_IDS], naccess;
	uint32_t pages[MAX_IDS], npages;
	uint32_t viommu[MAX_IDS], nviommu;
	uint32_t fault[MAX_IDS], nfault;
	int event_fds[MAX_IDS], nevent_fds; /* fault queues and vEVENTQs */
	unsigned int nids;
	struct softiommu_dev *sdev[MAX_IDS]; /* devices of the driver registry (fuzz_smmuv3.h) */
	unsigned int nsdev;
};

static uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint32_t u32(struct in *in)
{
	uint32_t v = 0;

	for (int i = 0; i != 4; i++)
		v |= (uint32_t)u8(in) << (8 * i);
	return v;
}

static uint64_t u64(struct in *in)
{
	return u32(in) | (uint64_t)u32(in) << 32;
}

static void remember(uint32_t *list, uint32_t *n, struct state *st, uint32_t id)
{
	if (*n < MAX_IDS)
		list[(*n)++] = id;
	if (st->nids < MAX_IDS)
		st->ids[st->nids++] = id;
}

/* An ID: mostly one of @list's, sometimes any live one, zero, stale or random */
static uint32_t pick(struct in *in, struct state *st, const uint32_t *list, uint32_t n)
{
	uint8_t b = u8(in);

	switch (b & 7) {
	case 0: case 1: case 2: case 3:
		if (n)
			return list[(b >> 3) % n];
		/* fall through */
	case 4:
		if (st->nids)
			return st->ids[(b >> 3) % st->nids];
		return 1;
	case 5:
		return 0;
	case 6:
		return st->nids + 1;
	default:
		return u32(in);
	}
}

/* A size, IOVA or offset: boundary values, or raw */
static uint64_t number(struct in *in)
{
	static const uint64_t table[] = {
		0, 1, 4095, 4096, 8192, 65536, BUF_SIZE, BUF_SIZE / 2, 2048,
		MOCK_APERTURE_START, MOCK_APERTURE_START + 4096, MOCK_APERTURE_LAST,
		(uint64_t)MOCK_APERTURE_LAST + 1, 1ULL << 32, UINT64_MAX, UINT64_MAX - 4095,
	};
	uint8_t b = u8(in);

	if (b < 16 * 12)
		return table[b % 16] + ((b / 16) % 3 == 1 ? 4096 * (b / 48) : 0);
	return u64(in);
}

/* A length inside the buffer, page-sized mostly */
static uint64_t length(struct in *in)
{
	uint8_t b = u8(in);

	if (b & 0x80)
		return number(in);
	return 4096ULL * (1 + (b & 0x3f)) - ((b & 0x40) ? 1 : 0);
}

/* A user pointer: into the buffer, or NULL, the inaccessible page, misaligned */
static void *uptr(struct in *in, char *base, size_t size)
{
	uint8_t b = u8(in);

	switch (b & 7) {
	case 0: return NULL;
	case 1: return hole;
	case 2: return base + 1 + ((size_t)(b >> 3) * 4096) % size;
	default: return base + ((size_t)(b >> 3) * 4096) % size;
	}
}

/* Replace every 8-byte word of @p that could be a pointer by one that is safe to write */
static void defang(struct in *in, void *p, size_t len)
{
	for (size_t off = 0; off + 8 <= len; off += 8) {
		uint64_t w;

		memcpy(&w, (char *)p + off, 8);
		if (w < (1ULL << 32))
			continue; /* below any mapping of a PIE process */
		w = (uintptr_t)uptr(in, scratch, 65536 - 4096);
		memcpy((char *)p + off, &w, 8);
	}
}

static void op_ioas_alloc(struct in *in, struct state *st)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd), .flags = u8(in) == 0xff };

	if (!t_ioctl(st->fd, IOMMU_IOAS_ALLOC, &cmd))
		remember(st->ioas, &st->nioas, st, cmd.out_ioas_id);
}

static void op_map(struct in *in, struct state *st)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = u8(in) & 0xf,
		.ioas_id = pick(in, st, st->ioas, st->nioas),
		.user_va = (uintptr_t)uptr(in, buffer, BUF_SIZE),
		.length = length(in),
	};

	if (cmd.flags & IOMMU_IOAS_MAP_FIXED_IOVA)
		cmd.iova = number(in);
	t_ioctl(st->fd, IOMMU_IOAS_MAP, &cmd);
}

static void op_map_file(struct in *in, struct state *st)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = u8(in) & 0xf,
		.ioas_id = pick(in, st, st->ioas, st->nioas),
		.fd = (u8(in) & 7) ? memfd : st->fd,
		.start = (u8(in) & 3) ? 4096ULL * (u8(in) & 0xf) : number(in),
		.length = length(in),
	};

	if (cmd.flags & IOMMU_IOAS_MAP_FIXED_IOVA)
		cmd.iova = number(in);
	t_ioctl(st->fd, IOMMU_IOAS_MAP_FILE, &cmd);
}

static void op_unmap(struct in *in, struct state *st)
{
	uint32_t ioas = pick(in, st, st->ioas, st->nioas);

	if (u8(in) & 1)
		t_ioas_unmap(st->fd, ioas, 0, UINT64_MAX, NULL);
	else
		t_ioas_unmap(st->fd, ioas, number(in), length(in), NULL);
}

static void op_copy(struct in *in, struct state *st)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = u8(in) & 0xf,
		.dst_ioas_id = pick(in, st, st->ioas, st->nioas),
		.src_ioas_id = pick(in, st, st->ioas, st->nioas),
		.length = length(in),
		.src_iova = number(in),
	};

	if (cmd.flags & IOMMU_IOAS_MAP_FIXED_IOVA)
		cmd.dst_iova = number(in);
	t_ioctl(st->fd, IOMMU_IOAS_COPY, &cmd);
}

static void op_allow_iovas(struct in *in, struct state *st)
{
	struct iommu_iova_range *r = (struct iommu_iova_range *)scratch;
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = pick(in, st, st->ioas, st->nioas),
		.num_iovas = u8(in) % 5,
	};

	for (uint32_t i = 0; i != cmd.num_iovas; i++) {
		r[i].start = number(in);
		r[i].last = number(in);
	}
	cmd.allowed_iovas = (u8(in) & 7) ? (uintptr_t)r : (uintptr_t)uptr(in, scratch, 4096);
	t_ioctl(st->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

static void op_iova_ranges(struct in *in, struct state *st)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = pick(in, st, st->ioas, st->nioas),
		.num_iovas = u8(in) % 9,
		.allowed_iovas = (uintptr_t)uptr(in, scratch, 4096),
	};

	t_ioctl(st->fd, IOMMU_IOAS_IOVA_RANGES, &cmd);
}

static void op_option(struct in *in, struct state *st)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = u8(in) % 3,
		.op = u8(in) % 3,
		.__reserved = u8(in) == 0xff,
		.val64 = u8(in) % 3,
	};

	cmd.object_id = cmd.option_id == IOMMU_OPTION_HUGE_PAGES ?
				pick(in, st, st->ioas, st->nioas) : 0;
	t_ioctl(st->fd, IOMMU_OPTION, &cmd);
}

static void op_destroy(struct in *in, struct state *st)
{
	t_destroy(st->fd, pick(in, st, st->ids, st->nids));
}

static void op_mock_domain(struct in *in, struct state *st)
{
	struct iommu_test_cmd cmd = {
		.op = (u8(in) & 1) ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS : IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pick(in, st, st->nhwpt && (u8(in) & 1) ? st->hwpt : st->ioas,
			   st->nhwpt ? st->nhwpt : st->nioas),
	};

	if (cmd.op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS)
		cmd.mock_domain_flags.dev_flags = u8(in) & 0x7;
	if (t_test_cmd(st->fd, &cmd))
		return;
	remember(st->stdev, &st->nstdev, st, cmd.mock_domain.out_stdev_id);
	remember(st->hwpt, &st->nhwpt, st, cmd.mock_domain.out_hwpt_id);
	remember(st->idev, &st->nidev, st, cmd.mock_domain.out_idev_id);
}

static void op_replace(struct in *in, struct state *st)
{
	uint32_t stdev = pick(in, st, st->stdev, st->nstdev);
	uint32_t pt = (u8(in) & 1) ? pick(in, st, st->hwpt, st->nhwpt)
				    : pick(in, st, st->ioas, st->nioas);

	t_mock_replace(st->fd, stdev, pt, NULL);
}

static void op_hwpt_alloc(struct in *in, struct state *st)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT,
					    .pagetable_type = u8(in) % 3 };
	uint8_t kind = u8(in);
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = (kind & 0x10) ? u32(in) : (kind >> 5),
		.dev_id = pick(in, st, st->idev, st->nidev),
		.pt_id = (kind & 1) ? pick(in, st, st->hwpt, st->nhwpt)
				    : pick(in, st, st->ioas, st->nioas),
	};

	if (kind & 2) {
		cmd.data_type = (kind & 4) ? IOMMU_HWPT_DATA_SELFTEST : u32(in);
		cmd.data_len = (kind & 8) ? sizeof(data) : u8(in);
		cmd.data_uptr = (kind & 0x80) ? (uintptr_t)uptr(in, scratch, 4096)
					      : (uintptr_t)&data;
	}
	if (!t_ioctl(st->fd, IOMMU_HWPT_ALLOC, &cmd))
		remember(st->hwpt, &st->nhwpt, st, cmd.out_hwpt_id);
}

static void op_create_access(struct in *in, struct state *st)
{
	int afd;

	if (!t_create_access(st->fd, pick(in, st, st->ioas, st->nioas), &afd, u8(in) & 1) &&
	    st->naccess < MAX_IDS)
		st->access[st->naccess++] = afd;
}

static int pick_access(struct in *in, struct state *st)
{
	uint8_t b = u8(in);

	if (st->naccess && (b & 3))
		return st->access[(b >> 2) % st->naccess];
	return (int)pick(in, st, st->ids, st->nids);
}

static void op_access_pages(struct in *in, struct state *st)
{
	uint32_t id;
	int afd = pick_access(in, st);

	if (!t_access_pages(st->fd, afd, number(in), length(in), uptr(in, buffer, BUF_SIZE),
			    u8(in) & 1, &id) && st->npages < MAX_IDS)
		st->pages[st->npages++] = id;
}

static void op_access_unpin(struct in *in, struct state *st)
{
	t_access_unpin(st->fd, pick_access(in, st), pick(in, st, st->pages, st->npages));
}

static void op_access_rw(struct in *in, struct state *st)
{
	int afd = pick_access(in, st);
	uint32_t flags = u8(in) & 0x7;

	t_access_rw(st->fd, afd, number(in), uptr(in, scratch, 65536 - 8192),
		    (u8(in) & 1) ? u8(in) : length(in) % 8192, flags);
}

static void op_access_close(struct in *in, struct state *st)
{
	if (st->naccess)
		softiommu_close(st->access[u8(in) % st->naccess]);
}

static void op_access_replace(struct in *in, struct state *st)
{
	t_access_replace(st->fd, pick_access(in, st), pick(in, st, st->ioas, st->nioas));
}

static void op_vfio(struct in *in, struct state *st)
{
	struct iommu_vfio_ioas vioas = { .size = sizeof(vioas) };
	struct vfio_iommu_type1_info *info = (struct vfio_iommu_type1_info *)scratch;

	switch (u8(in) % 8) {
	case 0:
		vioas.op = u8(in) % 4;
		vioas.ioas_id = pick(in, st, st->ioas, st->nioas);
		t_ioctl(st->fd, IOMMU_VFIO_IOAS, &vioas);
		break;
	case 1:
		t_vfio_set_iommu(st->fd, u8(in) % 12);
		break;
	case 2:
		t_vfio_map(st->fd, uptr(in, buffer, BUF_SIZE), length(in), number(in));
		break;
	case 3:
		t_vfio_unmap(st->fd, number(in), length(in), u8(in) & 3, NULL);
		break;
	case 4:
		memset(info, 0, sizeof(*info));
		info->argsz = (u8(in) & 1) ? 4096 : u8(in);
		t_ioctl(st->fd, VFIO_IOMMU_GET_INFO, info);
		break;
	case 5:
		t_ioctl(st->fd, VFIO_CHECK_EXTENSION, (void *)(uintptr_t)(u8(in) % 12));
		break;
	case 6:
		t_ioctl(st->fd, VFIO_GET_API_VERSION, NULL);
		break;
	default:
		t_vfio_unmap(st->fd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL);
		break;
	}
}

/* Any command number of iommufd's range (or around it), input bytes as the struct */
static void op_raw(struct in *in, struct state *st)
{
	uint64_t raw[16];
	unsigned int nr = IOMMUFD_CMD_BASE + u8(in) % 40;
	size_t len = u8(in) % sizeof(raw);

	memset(raw, 0, sizeof(raw));
	for (size_t i = 0; i != len; i++)
		((uint8_t *)raw)[i] = u8(in);
	defang(in, raw, sizeof(raw));
	if (u8(in) & 1)
		((uint32_t *)raw)[0] = (uint32_t)len; /* a plausible size */
	t_ioctl(st->fd, _IO(IOMMUFD_TYPE, nr), raw);
}

static void op_fail_nth(struct in *in, struct state *st)
{
	sio_fail_nth_set(1 + u8(in) % 32);
}

static void op_memory_limit(struct in *in, struct state *st)
{
	t_memory_limit(st->fd, u8(in));
}


static void op_viommu_alloc(struct in *in, struct state *st)
{
	struct iommu_viommu_selftest data = { .in_data = u32(in) };
	struct iommu_viommu_alloc cmd = {
		.size = sizeof(cmd),
		.flags = u8(in) == 0xff,
		.type = (u8(in) & 7) ? IOMMU_VIOMMU_TYPE_SELFTEST : u32(in),
		.dev_id = pick(in, st, st->idev, st->nidev),
		.hwpt_id = pick(in, st, st->hwpt, st->nhwpt),
	};

	if (u8(in) & 1) {
		cmd.data_len = (u8(in) & 3) ? sizeof(data) : u8(in);
		cmd.data_uptr = (u8(in) & 7) ? (uintptr_t)&data : (uintptr_t)uptr(in, scratch, 4096);
	}
	if (!t_ioctl(st->fd, IOMMU_VIOMMU_ALLOC, &cmd))
		remember(st->viommu, &st->nviommu, st, cmd.out_viommu_id);
}

static void op_vdevice_alloc(struct in *in, struct state *st)
{
	struct iommu_vdevice_alloc cmd = {
		.size = sizeof(cmd),
		.viommu_id = pick(in, st, st->viommu, st->nviommu),
		.dev_id = pick(in, st, st->idev, st->nidev),
		.virt_id = (u8(in) & 1) ? u8(in) : number(in),
	};

	if (!t_ioctl(st->fd, IOMMU_VDEVICE_ALLOC, &cmd) && st->nids < MAX_IDS)
		st->ids[st->nids++] = cmd.out_vdevice_id;
}

static void keep_event_fd(struct state *st, int fd)
{
	if (st->nevent_fds < MAX_IDS)
		st->event_fds[st->nevent_fds++] = fd;
}

static void op_veventq_alloc(struct in *in, struct state *st)
{
	struct iommu_veventq_alloc cmd = {
		.size = sizeof(cmd),
		.flags = u8(in) == 0xff,
		.viommu_id = pick(in, st, st->viommu, st->nviommu),
		.type = (u8(in) & 7) ? IOMMU_VEVENTQ_TYPE_SELFTEST : u32(in),
		.veventq_depth = u8(in) % 5,
	};

	if (!t_ioctl(st->fd, IOMMU_VEVENTQ_ALLOC, &cmd)) {
		keep_event_fd(st, (int)cmd.out_veventq_fd);
		if (st->nids < MAX_IDS)
			st->ids[st->nids++] = cmd.out_veventq_id;
	}
}

static void op_hw_queue_alloc(struct in *in, struct state *st)
{
	struct iommu_hw_queue_alloc cmd = {
		.size = sizeof(cmd),
		.viommu_id = pick(in, st, st->viommu, st->nviommu),
		.type = (u8(in) & 7) ? IOMMU_HW_QUEUE_TYPE_SELFTEST : u32(in),
		.index = u8(in) % 4,
		.nesting_parent_iova = number(in),
		.length = length(in),
	};

	if (!t_ioctl(st->fd, IOMMU_HW_QUEUE_ALLOC, &cmd) && st->nids < MAX_IDS)
		st->ids[st->nids++] = cmd.out_hw_queue_id;
}

static void op_fault_alloc(struct in *in, struct state *st)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd), .flags = u8(in) == 0xff };

	if (!t_ioctl(st->fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd)) {
		keep_event_fd(st, (int)cmd.out_fault_fd);
		remember(st->fault, &st->nfault, st, cmd.out_fault_id);
	}
}

/* A nested HWPT on a parent or a vIOMMU, sometimes with a fault queue */
static void op_nested_alloc(struct in *in, struct state *st)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	uint8_t b = u8(in);
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = (b & 1) ? IOMMU_HWPT_FAULT_ID_VALID : 0,
		.dev_id = pick(in, st, st->idev, st->nidev),
		.pt_id = (b & 2) ? pick(in, st, st->viommu, st->nviommu)
				 : pick(in, st, st->hwpt, st->nhwpt),
		.data_type = IOMMU_HWPT_DATA_SELFTEST,
		.data_len = sizeof(data),
		.data_uptr = (uintptr_t)&data,
	};

	if (b & 1)
		cmd.fault_id = pick(in, st, st->fault, st->nfault);
	if (b & 4)
		cmd.flags |= IOMMU_HWPT_ALLOC_NEST_PARENT;
	if (!t_ioctl(st->fd, IOMMU_HWPT_ALLOC, &cmd))
		remember(st->hwpt, &st->nhwpt, st, cmd.out_hwpt_id);
}

static void op_invalidate(struct in *in, struct state *st)
{
	struct iommu_hwpt_invalidate_selftest *e = (struct iommu_hwpt_invalidate_selftest *)scratch;
	uint8_t b = u8(in);
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = (b & 1) ? pick(in, st, st->viommu, st->nviommu)
				   : pick(in, st, st->hwpt, st->nhwpt),
		.data_type = (b & 6) ? IOMMU_HWPT_INVALIDATE_DATA_SELFTEST : u32(in),
		.entry_len = (b & 8) ? u8(in) : (b & 1) ? 12 : sizeof(*e),
		.entry_num = u8(in) % 5,
		.data_uptr = (b & 0x70) ? (uintptr_t)scratch : (uintptr_t)uptr(in, scratch, 4096),
	};

	for (uint32_t i = 0; i != 4; i++) {
		e[i].flags = u8(in) & 3;
		e[i].iotlb_id = u8(in) % 6;
	}
	t_ioctl(st->fd, IOMMU_HWPT_INVALIDATE, &cmd);
}

static void op_dirty(struct in *in, struct state *st)
{
	uint32_t hwpt = pick(in, st, st->hwpt, st->nhwpt);
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set), .hwpt_id = hwpt, .flags = u8(in) % 3,
	};
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get), .hwpt_id = hwpt, .flags = u8(in) % 3,
		.iova = number(in), .length = length(in),
		.page_size = (u8(in) & 1) ? 4096 : number(in),
		.data = (uintptr_t)uptr(in, scratch, 65536 - 4096),
	};
	struct iommu_test_cmd mark = {
		.op = IOMMU_TEST_OP_DIRTY, .id = hwpt,
		.dirty = { .iova = get.iova, .length = get.length, .page_size = get.page_size,
			   .uptr = get.data },
	};

	switch (u8(in) % 3) {
	case 0: t_ioctl(st->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set); break;
	case 1: t_ioctl(st->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get); break;
	default: t_test_cmd(st->fd, &mark); break;
	}
}

static void op_trigger(struct in *in, struct state *st)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_TRIGGER_IOPF };

	if (u8(in) & 1) {
		cmd.op = IOMMU_TEST_OP_TRIGGER_VEVENT;
		cmd.trigger_vevent.dev_id = pick(in, st, st->idev, st->nidev);
	} else {
		cmd.trigger_iopf.dev_id = pick(in, st, st->idev, st->nidev);
		cmd.trigger_iopf.pasid = u8(in) % 3;
		cmd.trigger_iopf.grpid = u8(in);
		cmd.trigger_iopf.perm = u8(in) & 3;
		cmd.trigger_iopf.addr = number(in);
	}
	t_test_cmd(st->fd, &cmd);
}

/* read() a fault queue or vEVENTQ, or write() a page response */
static void op_event_io(struct in *in, struct state *st)
{
	struct iommu_hwpt_page_response resp = { .cookie = u8(in), .code = u8(in) % 3 };
	int fd;

	if (!st->nevent_fds)
		return;
	fd = st->event_fds[u8(in) % st->nevent_fds];
	if (u8(in) & 1)
		softiommu_read(fd, uptr(in, scratch, 65536 - 4096), u8(in) * 8);
	else
		softiommu_write(fd, (u8(in) & 7) ? (void *)&resp : uptr(in, scratch, 4096),
				(u8(in) & 3) ? sizeof(resp) : u8(in));
}

static void op_hw_info(struct in *in, struct state *st)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.flags = u8(in) & 3,
		.dev_id = pick(in, st, st->idev, st->nidev),
		.data_len = u8(in),
		.data_uptr = (uintptr_t)uptr(in, scratch, 4096),
		.in_data_type = (u8(in) & 1) ? IOMMU_HW_INFO_TYPE_SELFTEST : 0,
	};

	t_ioctl(st->fd, IOMMU_GET_HW_INFO, &cmd);
}

#include "fuzz_smmuv3.h"

/* op_smmuv3 took op_map's second slot: the table's length, so the corpus's decoding, stays */
static void (*const ops[])(struct in *, struct state *) = {
	op_ioas_alloc, op_map, op_smmuv3, op_map_file, op_unmap, op_copy, op_allow_iovas,
	op_iova_ranges, op_option, op_destroy, op_mock_domain, op_replace, op_hwpt_alloc,
	op_create_access, op_access_pages, op_access_unpin, op_access_rw, op_access_close,
	op_access_replace, op_vfio, op_raw, op_fail_nth, op_memory_limit, op_viommu_alloc,
	op_vdevice_alloc, op_veventq_alloc, op_hw_queue_alloc, op_fault_alloc, op_nested_alloc,
	op_invalidate, op_dirty, op_trigger, op_event_io, op_hw_info,
};

static void setup_once(void)
{
	if (buffer)
		return;
	buffer = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	scratch = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memfd = memfd_create("fuzz", MFD_CLOEXEC);
	if (buffer == MAP_FAILED || scratch == MAP_FAILED || hole == MAP_FAILED || memfd < 0 ||
	    ftruncate(memfd, BUF_SIZE)) {
		fprintf(stderr, "fuzz_ioctl: setup failed\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct state st = { .fd = -1 };
	unsigned long pinned;

	setup_once();
	st.fd = softiommu_open(0);
	if (st.fd < 0)
		abort();
	for (int n = 0; n != MAX_OPS && in.n; n++)
		ops[u8(&in) % (sizeof(ops) / sizeof(ops[0]))](&in, &st);
	sio_fail_nth_set(0);
	sm_cleanup(&st);

	/* Everything softiommu handed out: the context, accesses, fault queues, ... */
	for (int fd = 0; fd != 4096; fd++)
		if (softiommu_is_fd(fd))
			softiommu_close(fd);
	pinned = t_pinned();
	if (pinned) {
		fprintf(stderr, "fuzz_ioctl: %lu pages still pinned after closing everything\n",
			pinned);
		abort();
	}
	if (t_live()) {
		fprintf(stderr, "fuzz_ioctl: %lu objects still alive after closing everything\n",
			t_live());
		abort();
	}
	return 0;
}

#ifdef FUZZ_REPLAY
/* Replay the inputs named on the command line (files), as libFuzzer would run them. */
int main(int argc, char **argv)
{
	static uint8_t data[1 << 16];
	int n = 0;

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t len;

		if (!f) {
			perror(argv[i]);
			return 2;
		}
		len = fread(data, 1, sizeof(data), f);
		fclose(f);
		LLVMFuzzerTestOneInput(data, len);
		n++;
	}
	printf("%d passed, 0 failed\n", n);
	return 0;
}
#endif
