/* SPDX-License-Identifier: MIT */
/*
 * What the nested SMMUv3 tests share: the uAPI calls (vIOMMU, vDEVICE, nested HWPT,
 * vEVENTQ, invalidation), a "guest": RAM mapped into an IOAS at an IPA (the stage 2), with
 * a page allocator, VMSAv8-64 stage-1 tables (4 KiB granule, 48-bit VA) and CDs built in
 * it as a guest kernel would, and the guest STE/CD encodings (Arm IHI 0070, 5.2 and 5.4).
 */
#ifndef SMMU_TEST_H
#define SMMU_TEST_H

#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"
#include "smmuv3.h"

#define PG 4096ULL
#define FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

/* STE dwords 0/1 */
#define STE_V 1ULL
#define STE_CFG(c) ((uint64_t)(c) << 1)
#define STE_ABORT (STE_V | STE_CFG(0))
#define STE_BYPASS (STE_V | STE_CFG(4))
#define STE_S1 (STE_V | STE_CFG(5))
#define STE_FMT(f) ((uint64_t)(f) << 4)
#define STE_CDMAX(n) ((uint64_t)(n) << 59)
#define STE1_DSS(d) ((uint64_t)(d) << 0)
#define STE1_EATS(e) ((uint64_t)(e) << 28)

/* CD dword 0 */
#define CD_T0SZ(n) ((uint64_t)(n) << 0)
#define CD_TG0(n) ((uint64_t)(n) << 6)
#define CD_EPD0 (1ULL << 14)
#define CD_T1SZ(n) ((uint64_t)(n) << 16)
#define CD_TG1(n) ((uint64_t)(n) << 22)
#define CD_EPD1 (1ULL << 30)
#define CD_V (1ULL << 31)
#define CD_IPS(n) ((uint64_t)(n) << 32)
#define CD_AFFD (1ULL << 35)
#define CD_AA64 (1ULL << 41)
#define CD_HA (1ULL << 43)
#define CD_R (1ULL << 45)
#define CD_ASID(n) ((uint64_t)(n) << 48)
/* A 48-bit TTB0-only CD, 4 KiB granule, recording faults */
#define CD_DEFAULT (CD_T0SZ(16) | CD_TG0(0) | CD_EPD1 | CD_V | CD_IPS(5) | CD_AA64 | CD_R)

/* Stage-1 leaf attributes: AF, AP[1] (unprivileged access), AP[2] (read-only) */
#define S1_AF (1ULL << 10)
#define S1_EL0 (1ULL << 6)
#define S1_RO (1ULL << 7)
#define S1_RW (S1_AF | S1_EL0 | (3ULL << 8))
#define S1_NG (1ULL << 11) /* not global: the entry is the CD's ASID's only */

/* Event record */
#define EVT_TYPE(e) ((unsigned int)((e)[0] & 0xff))
#define EVT_SSV(e) (((e)[0] >> 11) & 1)
#define EVT_SSID(e) ((uint32_t)(((e)[0] >> 12) & 0xfffff))
#define EVT_SID(e) ((uint32_t)((e)[0] >> 32))
#define EVT_RNW(e) (((e)[1] >> 35) & 1)
#define EVT_S2(e) (((e)[1] >> 39) & 1)
#define EVT_CLASS(e) ((unsigned int)(((e)[1] >> 40) & 3))

struct vevent {
	struct iommufd_vevent_header hdr;
	struct iommu_vevent_arm_smmuv3 ev;
};

static inline long t_hwpt_alloc(int fd, uint32_t dev_id, uint32_t pt_id, uint32_t flags,
				uint32_t data_type, const void *data, uint32_t data_len,
				uint32_t *out)
{
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = flags, .dev_id = dev_id,
				      .pt_id = pt_id, .data_type = data_type,
				      .data_len = data_len, .data_uptr = (uintptr_t)data };
	long rc = softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h);

	if (out)
		*out = h.out_hwpt_id;
	return rc;
}

static inline long t_nested_alloc(int fd, uint32_t dev_id, uint32_t viommu, uint64_t ste0,
				  uint64_t ste1, uint32_t *out)
{
	struct iommu_hwpt_arm_smmuv3 ste = { .ste = { ste0, ste1 } };

	return t_hwpt_alloc(fd, dev_id, viommu, 0, IOMMU_HWPT_DATA_ARM_SMMUV3, &ste, sizeof(ste),
			    out);
}

static inline long t_viommu_alloc(int fd, uint32_t dev_id, uint32_t hwpt_id, uint32_t type,
				  uint32_t flags, uint32_t *out)
{
	struct iommu_viommu_alloc v = { .size = sizeof(v), .flags = flags, .type = type,
					.dev_id = dev_id, .hwpt_id = hwpt_id };
	long rc = softiommu_ioctl(fd, IOMMU_VIOMMU_ALLOC, &v);

	if (out)
		*out = v.out_viommu_id;
	return rc;
}

static inline long t_vdevice_alloc(int fd, uint32_t viommu, uint32_t dev_id, uint64_t vsid,
				   uint32_t *out)
{
	struct iommu_vdevice_alloc v = { .size = sizeof(v), .viommu_id = viommu,
					 .dev_id = dev_id, .virt_id = vsid };
	long rc = softiommu_ioctl(fd, IOMMU_VDEVICE_ALLOC, &v);

	if (out)
		*out = v.out_vdevice_id;
	return rc;
}

/* A vEVENTQ of the ARM_SMMUV3 type; returns its fd (*@id: its object, may be NULL) */
static inline int t_veventq_alloc(int fd, uint32_t viommu, uint32_t depth, uint32_t *id)
{
	struct iommu_veventq_alloc q = { .size = sizeof(q), .viommu_id = viommu,
					 .type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3,
					 .veventq_depth = depth };

	CHECK_OK(softiommu_ioctl(fd, IOMMU_VEVENTQ_ALLOC, &q));
	if (id)
		*id = q.out_veventq_id;
	return (int)q.out_veventq_fd;
}

/* The next record of @qfd into @ev; false when the queue is empty */
static inline bool t_vevent(int qfd, struct vevent *ev)
{
	ssize_t n = softiommu_read(qfd, ev, sizeof(*ev));

	if (n == 0)
		return false;
	CHECK(n == (ssize_t)sizeof(*ev));
	return n == (ssize_t)sizeof(*ev);
}

/* HWPT_INVALIDATE with @n 16-byte commands; *@done: the entry_num it returned */
static inline long t_invalidate(int fd, uint32_t id, const uint64_t (*cmds)[2], uint32_t n,
				uint32_t *done)
{
	struct iommu_hwpt_invalidate inv = {
		.size = sizeof(inv), .hwpt_id = id, .data_uptr = (uintptr_t)cmds,
		.data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, .entry_len = 16,
		.entry_num = n,
	};
	long rc = softiommu_ioctl(fd, IOMMU_HWPT_INVALIDATE, &inv);

	if (done)
		*done = inv.entry_num;
	return rc;
}

static inline long t_inv1(int fd, uint32_t viommu, uint64_t d0, uint64_t d1)
{
	const uint64_t cmd[1][2] = { { d0, d1 } };

	return t_invalidate(fd, viommu, cmd, 1, NULL);
}

/* Guest RAM at IPA @ipa of an IOAS; pages handed out from the start */
struct guest {
	char *ram;
	uint64_t ipa;
	uint64_t size;
	uint64_t next;
};

static inline void guest_init(struct guest *g, int fd, uint32_t ioas, uint64_t ipa,
			      uint64_t size)
{
	g->ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(g->ram != MAP_FAILED);
	memset(g->ram, 0, size);
	g->ipa = ipa;
	g->size = size;
	g->next = 0;
	CHECK_OK(t_map(fd, ioas, g->ram, size, &g->ipa, FIXED_RW));
}

static inline void guest_fini(struct guest *g)
{
	munmap(g->ram, g->size);
}

/* @n zeroed, contiguous guest pages; their IPA */
static inline uint64_t guest_pages(struct guest *g, unsigned int n)
{
	uint64_t ipa = g->ipa + g->next;

	g->next += n * PG;
	if (g->next > g->size)
		abort();
	memset(g->ram + (ipa - g->ipa), 0, n * PG);
	return ipa;
}

static inline void *guest_ptr(struct guest *g, uint64_t ipa)
{
	return g->ram + (ipa - g->ipa);
}

static inline uint64_t *guest_u64(struct guest *g, uint64_t ipa)
{
	return (uint64_t *)guest_ptr(g, ipa);
}

/*
 * The level-3 descriptor slot of @va in the 4-level table at @root (48-bit VA, 4 KiB
 * granule), making tables on the way
 */
static inline uint64_t *guest_pte(struct guest *g, uint64_t root, uint64_t va)
{
	uint64_t table = root;

	for (unsigned int level = 0; level != 3; level++) {
		uint64_t *d = guest_u64(g, table) + ((va >> (39 - 9 * level)) & 511);

		if (!(*d & 1))
			*d = guest_pages(g, 1) | 3;
		table = *d & 0x0000fffffffff000ULL;
	}
	return guest_u64(g, table) + ((va >> 12) & 511);
}

/* Map the 4 KiB page @va to IPA @ipa with leaf @attrs */
static inline void guest_map(struct guest *g, uint64_t root, uint64_t va, uint64_t ipa,
			     uint64_t attrs)
{
	__atomic_store_n(guest_pte(g, root, va), ipa | attrs | 3, __ATOMIC_RELEASE);
}

static inline void guest_unmap(struct guest *g, uint64_t root, uint64_t va)
{
	__atomic_store_n(guest_pte(g, root, va), 0, __ATOMIC_RELEASE);
}

/* Write CD @idx of a linear table at @table */
static inline void guest_cd(struct guest *g, uint64_t table, unsigned int idx, uint64_t d0,
			    uint64_t ttb0, uint64_t ttb1)
{
	uint64_t *cd = guest_u64(g, table + idx * 64ULL);

	cd[1] = ttb0;
	cd[2] = ttb1;
	cd[3] = 0x44ff04; /* MAIR: device, normal WB, normal NC */
	__atomic_store_n(&cd[0], d0, __ATOMIC_RELEASE);
}

#endif
