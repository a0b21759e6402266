/* SPDX-License-Identifier: MIT */
/*
 * fuzz_smmuv3.h — the SMMUv3 model's part of fuzz_ioctl.c (issue 7): one op, op_smmuv3,
 * whose next byte picks a sub-op: an smmuv3 device (flags and "smmuv3:..." options from
 * the input), a whole nested setup in one go (IOAS with guest RAM at an IPA, NEST_PARENT,
 * vIOMMU ARM_SMMUV3, vDEVICE, vEVENTQ, guest stage-1 tables and CDs written into the RAM
 * with fuzzed fields, a nested HWPT from a guest STE, the attach), single ARM_SMMUV3
 * vIOMMU/nested-HWPT allocations, attach/replace, DMA through whatever a device is
 * attached to (faults become events: op_event_io reads the vEVENTQs), HW_INFO of type
 * ARM_SMMUV3 and invalidation arrays of SMMUv3 commands.
 *
 * The "dictionary" is in the tables below: STE dword-0 templates (abort, bypass, stage 1
 * linear and 2-level), STE dword 1 S1DSS/EATS/S1STALLD values, CD dword-0 templates and
 * every command opcode (the accepted ones, the refused ones Linux names, and CMD_SYNC), so
 * that random bytes reach the validators and the walk's branches rather than their first
 * check. Included by fuzz_ioctl.c after its input helpers and struct state.
 */
#ifndef FUZZ_SMMUV3_H
#define FUZZ_SMMUV3_H

#include "../../src/drivers/smmuv3/smmuv3.h"

#define SM_GIPA 0x80000000ULL
#define SM_RAM (256u << 10) /* the last 256 KiB of the buffer are the guest's RAM */
#define SM_VA 0x40000000ULL
#define SM_PAGES 4

static const uint64_t sm_ste0[] = {
	0, 1, 1 | 4 << 1, 1 | 5 << 1, 1 | 5 << 1 | 1ULL << 59, 1 | 5 << 1 | 3ULL << 59,
	1 | 5 << 1 | 1 << 4 | 6ULL << 59, 1 | 5 << 1 | 2 << 4 | 10ULL << 59, 1 | 6 << 1,
	1 | 7 << 1, 1 | 5 << 1 | 3 << 4, ~0ULL,
};
static const uint64_t sm_ste1[] = {
	0, 1, 2, 3, 1ULL << 27, 1ULL << 28, 2ULL << 28, 3ULL << 28, 0x380000ffULL, ~0ULL,
};
/* T0SZ 16, 4 KiB, EPD1, V, IPS 48, AA64, R; then variants (TG, TxSZ, EPD0, S, HA, TBI) */
#define SM_CD0 (16ULL | 1ULL << 30 | 1ULL << 31 | 5ULL << 32 | 1ULL << 41 | 1ULL << 45)
static const uint64_t sm_cd0_xor[] = {
	0, 1ULL << 31, 1ULL << 41, 2ULL << 6, 1ULL << 6, 3ULL << 6, 24, 40, 1ULL << 14,
	1ULL << 44, 1ULL << 43, 1ULL << 38, 1ULL << 35, 1ULL << 45, 7ULL << 32, 1ULL << 30,
};
static const uint8_t sm_opcodes[] = {
	0x05, 0x06, 0x10, 0x11, 0x12, 0x13, 0x30, 0x40, /* accepted */
	0x03, 0x04, 0x46, 0x1a, 0x20, 0x28, 0x41, 0x44, 0x45, 0x01, 0xff,
};

static struct softiommu_dev *sm_dev_of(struct in *in, struct state *st)
{
	if (!st->nsdev)
		return NULL;
	return st->sdev[u8(in) % st->nsdev];
}

/* softiommu_dev_create(fd, "smmuv3[:options]", flags) */
static void sm_dev_create(struct in *in, struct state *st)
{
	static const char *const names[] = {
		"smmuv3", "smmuv3:sid=0x42", "smmuv3:smmu=f", "smmuv3:smmu=f,sid=7",
		"smmuv3:sid=99999999", "smmuv3:smmu=", "smmuv3:bogus", "smmuv3:smmu=g,sid=1",
	};
	uint8_t b = u8(in);
	uint32_t flags = (b & 0x80) ? u32(in) : (b & 0x4f);
	struct softiommu_dev *dev;
	unsigned int id;

	if (st->nsdev == MAX_IDS)
		return;
	if (softiommu_dev_create(st->fd, names[u8(in) % 8], flags, &dev, &id))
		return;
	st->sdev[st->nsdev++] = dev;
	remember(st->idev, &st->nidev, st, id);
}

/* Guest tables in the guest RAM: CD table, a 4-level stage 1 mapping SM_PAGES pages */
static void sm_guest_tables(struct in *in, char *ram, uint64_t cd0)
{
	uint64_t *cd = (uint64_t *)ram, *t = (uint64_t *)(ram + 4096);

	memset(ram, 0, 8 * 4096);
	cd[0] = cd0;
	cd[1] = SM_GIPA + 4096; /* TTB0 */
	cd[3] = 0x44ff04;
	cd[8] = cd0 ^ (1ULL << 48); /* CD 1: another ASID */
	cd[9] = SM_GIPA + 4096;
	/* levels 0..2 one table each (pages 1..3), level 3 at page 4 */
	t[(SM_VA >> 39) & 511] = (SM_GIPA + 2 * 4096) | 3;
	t[512 + ((SM_VA >> 30) & 511)] = (SM_GIPA + 3 * 4096) | 3;
	t[1024 + ((SM_VA >> 21) & 511)] = (SM_GIPA + 4 * 4096) | 3;
	for (unsigned int i = 0; i != SM_PAGES; i++) {
		uint64_t attrs = 3 | 1ULL << 10 | 1ULL << 6 | (u8(in) & 1 ? 1ULL << 11 : 0);

		/* Sometimes a fuzzed leaf: AF, AP, nG, a block bit, garbage */
		if (u8(in) == 0xa5)
			attrs = u64(in);
		t[1536 + ((SM_VA >> 12) & 511) + i] = (SM_GIPA + (5 + i) * 4096) | attrs;
	}
}

/* The whole nested setup, each step's input fuzzed, each failure leaving the rest */
static void sm_nested_setup(struct in *in, struct state *st)
{
	char *ram = buffer + BUF_SIZE - SM_RAM;
	struct softiommu_dev *dev;
	uint32_t ioas, s2, viommu, hwpt;
	unsigned int dev_id, pt;
	uint64_t ste[2], ipa = SM_GIPA;
	struct iommu_veventq_alloc q = { .size = sizeof(q), .type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3,
					 .veventq_depth = 1 + u8(in) % 8 };
	struct iommu_hwpt_arm_smmuv3 data;

	if (st->nsdev == MAX_IDS)
		return;
	if (softiommu_dev_create(st->fd, "smmuv3", u8(in) & SMMUV3_DEV_PER_DEVICE, &dev,
				 &dev_id))
		return;
	st->sdev[st->nsdev++] = dev;
	remember(st->idev, &st->nidev, st, dev_id);
	if (t_ioas_alloc(st->fd, &ioas))
		return;
	remember(st->ioas, &st->nioas, st, ioas);
	if (t_ioas_map(st->fd, ioas, ram, SM_RAM, &ipa, 1))
		return;
	sm_guest_tables(in, ram, SM_CD0 ^ sm_cd0_xor[u8(in) % 16] ^ (uint64_t)u8(in) << 48);
	if (t_hwpt_alloc(st->fd, dev_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_DATA_NONE,
			 NULL, 0, &s2))
		return;
	remember(st->hwpt, &st->nhwpt, st, s2);
	{
		struct iommu_viommu_alloc v = { .size = sizeof(v), .type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
						.dev_id = dev_id, .hwpt_id = s2 };

		if (t_ioctl(st->fd, IOMMU_VIOMMU_ALLOC, &v))
			return;
		viommu = v.out_viommu_id;
		remember(st->viommu, &st->nviommu, st, viommu);
	}
	{
		struct iommu_vdevice_alloc v = { .size = sizeof(v), .viommu_id = viommu,
						 .dev_id = dev_id, .virt_id = u8(in) };

		if (!t_ioctl(st->fd, IOMMU_VDEVICE_ALLOC, &v) && st->nids < MAX_IDS)
			st->ids[st->nids++] = v.out_vdevice_id;
	}
	q.viommu_id = viommu;
	if (!t_ioctl(st->fd, IOMMU_VEVENTQ_ALLOC, &q)) {
		keep_event_fd(st, (int)q.out_veventq_fd);
		if (st->nids < MAX_IDS)
			st->ids[st->nids++] = q.out_veventq_id;
	}
	ste[0] = (sm_ste0[u8(in) % 12] & ~0xfffffffffffc0ULL) | SM_GIPA;
	ste[1] = sm_ste1[u8(in) % 10];
	if (u8(in) == 0x5a) {
		ste[0] ^= u64(in);
		ste[1] ^= u64(in);
	}
	memcpy(&data, ste, sizeof(ste));
	{
		struct iommu_hwpt_alloc h = { .size = sizeof(h), .dev_id = dev_id, .pt_id = viommu,
					      .data_type = IOMMU_HWPT_DATA_ARM_SMMUV3,
					      .data_len = sizeof(data), .data_uptr = (uintptr_t)&data };

		if (t_ioctl(st->fd, IOMMU_HWPT_ALLOC, &h))
			return;
		hwpt = h.out_hwpt_id;
		remember(st->hwpt, &st->nhwpt, st, hwpt);
	}
	pt = hwpt;
	softiommu_dev_attach(dev, 0, &pt);
}

/* A nested HWPT from a fuzzed guest STE on a picked vIOMMU (or anything) */
static void sm_nested_alloc(struct in *in, struct state *st)
{
	uint64_t ste[4] = { sm_ste0[u8(in) % 12], sm_ste1[u8(in) % 10], 0, 0 };
	uint8_t b = u8(in);
	struct iommu_hwpt_alloc h = {
		.size = sizeof(h), .flags = (b & 0x10) ? IOMMU_HWPT_ALLOC_PASID : 0,
		.dev_id = pick(in, st, st->idev, st->nidev),
		.pt_id = (b & 1) ? pick(in, st, st->hwpt, st->nhwpt) :
				   pick(in, st, st->viommu, st->nviommu),
		.data_type = (b & 6) ? IOMMU_HWPT_DATA_ARM_SMMUV3 : u8(in),
		.data_len = (b & 8) ? u8(in) % 33 : 16, .data_uptr = (uintptr_t)ste,
	};

	ste[0] = (ste[0] & ~0xfffffffffffc0ULL) | ((b & 0x20) ? SM_GIPA : number(in) << 6);
	if (b & 0x40)
		ste[u8(in) % 4] ^= u64(in);
	if (!t_ioctl(st->fd, IOMMU_HWPT_ALLOC, &h))
		remember(st->hwpt, &st->nhwpt, st, h.out_hwpt_id);
}

static void sm_viommu_alloc(struct in *in, struct state *st)
{
	struct iommu_viommu_alloc v = {
		.size = sizeof(v), .type = (u8(in) & 7) ? IOMMU_VIOMMU_TYPE_ARM_SMMUV3 : u32(in),
		.dev_id = pick(in, st, st->idev, st->nidev),
		.hwpt_id = pick(in, st, st->hwpt, st->nhwpt),
	};

	if (!t_ioctl(st->fd, IOMMU_VIOMMU_ALLOC, &v))
		remember(st->viommu, &st->nviommu, st, v.out_viommu_id);
}

/* Attach, replace or detach (device, PASID) */
static void sm_attach(struct in *in, struct state *st)
{
	struct softiommu_dev *dev = sm_dev_of(in, st);
	unsigned int pasid = (u8(in) & 3) ? 0 : u8(in) % 4, pt;

	if (!dev)
		return;
	pt = pick(in, st, st->hwpt, st->nhwpt);
	if (u8(in) & 7)
		softiommu_dev_attach(dev, pasid, &pt);
	else
		softiommu_dev_detach(dev, pasid);
}

/* DMA around the guest's VAs (and anywhere): hits, walks, every kind of fault */
static void sm_dma(struct in *in, struct state *st)
{
	struct softiommu_dev *dev = sm_dev_of(in, st);
	uint8_t b = u8(in);
	uint64_t iova = (b & 1) ? SM_VA + (u8(in) % (SM_PAGES + 1)) * 4096ULL + u8(in) : number(in);
	size_t len = (b & 2) ? 1 + u8(in) : 1 + u32(in) % 65536;
	unsigned int pasid = (b & 4) ? u8(in) % 3 : 0;

	if (!dev)
		return;
	if (b & 8)
		softiommu_dma_write(dev, pasid, iova, scratch, len);
	else
		softiommu_dma_read(dev, pasid, iova, scratch, len);
}

/* HWPT_INVALIDATE of SMMUv3 commands: opcodes from the table, fields fuzzed */
static void sm_invalidate(struct in *in, struct state *st)
{
	uint64_t (*cmd)[2] = (uint64_t (*)[2])(scratch + 8192);
	uint8_t b = u8(in);
	uint32_t n = (b & 0x80) ? u8(in) : 1 + b % 8;
	struct iommu_hwpt_invalidate inv = {
		.size = sizeof(inv), .hwpt_id = pick(in, st, st->viommu, st->nviommu),
		.data_type = (b & 0x40) ? u32(in) : IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
		.entry_len = (b & 0x20) ? u8(in) % 64 : 16, .entry_num = n,
		.data_uptr = (uintptr_t)cmd,
	};

	for (uint32_t i = 0; i != n; i++) {
		uint8_t f = u8(in);

		cmd[i][0] = sm_opcodes[f % sizeof(sm_opcodes)];
		if (f & 0x80)
			cmd[i][0] |= u64(in) & ~0xffULL;
		else
			cmd[i][0] |= (uint64_t)u8(in) << 32 | (uint64_t)u8(in) << 48 |
				     (uint64_t)(u8(in) & 0x1f) << 12 | (uint64_t)(u8(in) & 0x1f) << 20;
		cmd[i][1] = (f & 0x40) ? u64(in) :
					 (SM_VA + (u8(in) % 8) * 4096ULL) | (u8(in) & 0xf01);
	}
	t_ioctl(st->fd, IOMMU_HWPT_INVALIDATE, &inv);
}

static void sm_hw_info(struct in *in, struct state *st)
{
	struct iommu_hw_info h = {
		.size = sizeof(h), .dev_id = pick(in, st, st->idev, st->nidev),
		.data_len = u8(in), .data_uptr = (uintptr_t)uptr(in, scratch, 4096),
		.in_data_type = (u8(in) & 1) ? IOMMU_HW_INFO_TYPE_ARM_SMMUV3 : 0,
		.flags = u8(in) & 1,
	};

	t_ioctl(st->fd, IOMMU_GET_HW_INFO, &h);
}

static void op_smmuv3(struct in *in, struct state *st)
{
	static void (*const sub[])(struct in *, struct state *) = {
		sm_dev_create, sm_nested_setup, sm_nested_alloc, sm_viommu_alloc, sm_attach,
		sm_dma, sm_dma, sm_invalidate, sm_invalidate, sm_hw_info,
	};

	sub[u8(in) % (sizeof(sub) / sizeof(sub[0]))](in, st);
}

/* Devices the input made: destroyed before the context closes */
static void sm_cleanup(struct state *st)
{
	for (unsigned int i = 0; i != st->nsdev; i++)
		softiommu_dev_destroy(st->sdev[i]);
	st->nsdev = 0;
}

#endif
