// SPDX-License-Identifier: MIT
/*
 * DMA through a nested SMMUv3 STE, with the guest's CD table and stage-1 tables built in
 * guest memory (an IOAS-mapped buffer: IPA → host through the vIOMMU's stage 2): the STE's
 * configurations, substreams (S1CDMax, S1DSS, linear and 2-level CD tables), TTB0/TTB1,
 * the CD's checks, and every event at the stage that raises it, read from the vEVENTQ
 * with the vSID (or, for what Linux does not forward, counted on the host side).
 */
#include "nest_fixture.h"

/* The next record is configuration event @type (no SSID unless @ssv / @ssid) */
static void expect_cfg_event(struct nest *n, unsigned int type, bool ssv, uint32_t ssid)
{
	struct vevent ev;

	CHECK(t_vevent(n->qfd, &ev));
	if (EVT_TYPE(ev.ev.evt) != type)
		fprintf(stderr, "event 0x%x, expected 0x%x\n", EVT_TYPE(ev.ev.evt), type);
	CHECK(EVT_TYPE(ev.ev.evt) == type && EVT_SID(ev.ev.evt) == VSID);
	CHECK(EVT_SSV(ev.ev.evt) == ssv && EVT_SSID(ev.ev.evt) == ssid);
	CHECK(!ev.ev.evt[1] && !ev.ev.evt[2] && !ev.ev.evt[3]);
}

/* Stage 1 over stage 2: data moves through the guest's tables; read-only and AP checks */
static void test_s1_dma(void)
{
	char out[32] = {};
	struct nest n;

	nest_init(&n);
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	/* Across the boundary of two guest pages */
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA + PG - 2, out, 4));
	CHECK(!memcmp(out, "AABB", 4));
	CHECK_OK(softiommu_dma_write(n.dev, 0, VA + 3 * PG + 5, "nested", 7));
	CHECK(!strcmp((char *)guest_ptr(&n.g, n.data + 3 * PG + 5), "nested"));
	/* Read-only (AP[2]): reads pass, a write is F_PERMISSION */
	guest_map(&n.g, n.root, VA + 8 * PG, n.data, S1_RW | S1_RO);
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA + 8 * PG, out, 2));
	CHECK_ERR(EFAULT, softiommu_dma_write(n.dev, 0, VA + 8 * PG + 16, "x", 1));
	expect_s1_event(&n, 0x13, VA + 8 * PG + 16, true);
	/* Privileged only (AP[1] = 0): the device's unprivileged read is F_PERMISSION */
	guest_map(&n.g, n.root, VA + 9 * PG, n.data, S1_AF);
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 9 * PG, out, 2));
	expect_s1_event(&n, 0x13, VA + 9 * PG, false);
	/* APTable[1] on the way makes a writable leaf read-only */
	{
		uint64_t va = 1ULL << 39;

		guest_map(&n.g, n.root, va, n.data, S1_RW);
		*(guest_u64(&n.g, n.root) + 1) |= 1ULL << 62;
		CHECK_OK(softiommu_dma_read(n.dev, 0, va, out, 2));
		CHECK_ERR(EFAULT, softiommu_dma_write(n.dev, 0, va + 8, "x", 1));
		expect_s1_event(&n, 0x13, va + 8, true);
	}
	nest_fini(&n);
}

/* Stage-1 faults: F_TRANSLATION, F_ACCESS, F_ADDR_SIZE; AFFD; CD.R = 0 records nothing */
static void test_s1_faults(void)
{
	uint64_t cdt2, host;
	char out[8];
	struct nest n;

	nest_init(&n);
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	/* Nothing mapped: an invalid descriptor */
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 100 * PG, out, 8));
	expect_s1_event(&n, 0x10, VA + 100 * PG, false);
	/* Outside the TTB0 region (T0SZ 16: bits 63:48 must be 0) */
	CHECK_ERR(EFAULT, softiommu_dma_write(n.dev, 0, 1ULL << 50, "x", 1));
	expect_s1_event(&n, 0x10, 1ULL << 50, true);
	/* AF = 0: F_ACCESS (no HTTU, no AFFD) */
	guest_map(&n.g, n.root, VA + 10 * PG, n.data, S1_EL0);
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 10 * PG, out, 8));
	expect_s1_event(&n, 0x12, VA + 10 * PG, false);
	/* An output address beyond the CD's IPS (48 bits): F_ADDR_SIZE */
	guest_map(&n.g, n.root, VA + 11 * PG, n.data | (1ULL << 48), S1_RW);
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 11 * PG, out, 8));
	expect_s1_event(&n, 0x11, VA + 11 * PG, false);
	/* ... and with IPS = 32 bits, an IPA at 4 GiB */
	cdt2 = guest_pages(&n.g, 1);
	guest_cd(&n.g, cdt2, 0, (CD_DEFAULT & ~CD_IPS(7)) | CD_IPS(0) | CD_AFFD, n.root, 0);
	CHECK_OK(nest_ste(&n, STE_S1 | cdt2, 0));
	guest_map(&n.g, n.root, VA + 12 * PG, 1ULL << 32, S1_RW);
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 12 * PG, out, 8));
	expect_s1_event(&n, 0x11, VA + 12 * PG, false);
	/* AFFD: AF = 0 is taken as 1 */
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA + 10 * PG, out, 2));
	CHECK(!memcmp(out, "AA", 2));
	/* EPD0: every TTB0 address faults */
	guest_cd(&n.g, cdt2, 0, CD_DEFAULT | CD_EPD0, n.root, 0);
	CHECK_OK(nest_ste(&n, STE_S1 | cdt2, 0));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA, out, 8));
	expect_s1_event(&n, 0x10, VA, false);
	/* CD.R = 0: stage-1 faults terminate silently, no record anywhere */
	guest_cd(&n.g, cdt2, 0, CD_DEFAULT & ~CD_R, n.root, 0);
	CHECK_OK(nest_ste(&n, STE_S1 | cdt2, 0));
	host = host_events();
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 100 * PG, out, 8));
	CHECK(host_events() == host);
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA, out, 2));
	nest_fini(&n);
}

/* TTB1 (the upper region) with its own granule field; TBI0 */
static void test_ttb1_tbi(void)
{
	uint64_t root1 = 0, cdt2, hi = 0xffff000012340000ULL;
	char out[4] = {};
	struct nest n;

	nest_init(&n);
	root1 = guest_pages(&n.g, 1);
	guest_map(&n.g, root1, hi, n.data + 2 * PG, S1_RW);
	cdt2 = guest_pages(&n.g, 1);
	/* T1SZ 16, TG1 = 0b10 (4 KiB) */
	guest_cd(&n.g, cdt2, 0, (CD_DEFAULT & ~CD_EPD1) | CD_T1SZ(16) | CD_TG1(2), n.root, root1);
	CHECK_OK(nest_ste(&n, STE_S1 | cdt2, 0));
	CHECK_OK(softiommu_dma_read(n.dev, 0, hi + 1, out, 2));
	CHECK(!memcmp(out, "CC", 2));
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA, out, 2));
	CHECK(!memcmp(out, "AA", 2));
	/* A tagged address faults without TBI0 */
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA | (0x5aULL << 56), out, 2));
	expect_s1_event(&n, 0x10, VA | (0x5aULL << 56), false);
	guest_cd(&n.g, cdt2, 0, CD_DEFAULT | (1ULL << 38), n.root, 0);
	CHECK_OK(nest_ste(&n, STE_S1 | cdt2, 0));
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA | (0x5aULL << 56), out, 2));
	CHECK(!memcmp(out, "AA", 2));
	/* EPD1 on: the upper region faults */
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, hi, out, 2));
	expect_s1_event(&n, 0x10, hi, false);
	nest_fini(&n);
}

/*
 * Blocks of the 4 KiB granule (1 GiB, 2 MiB); 64 KiB and 16 KiB granules with 39- and 36-bit
 * VAs (two levels each)
 */
static void test_granules(void)
{
	uint64_t off, cdt64, l2, l3, page64, *d;
	char out[4] = {};
	struct nest n;

	nest_init(&n);
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	off = n.data + PG - GIPA; /* data page 'B' within the guest's RAM */
	/* A 1 GiB block at level 1 (VA 2 GiB -> IPA 2 GiB) and a 2 MiB one at level 2 */
	/* (level 0 entry 0 is VA's path) */
	d = guest_u64(&n.g, *guest_u64(&n.g, n.root) & 0x0000fffffffff000ULL) + 2;
	*d = GIPA | S1_RW | 1;
	CHECK_OK(softiommu_dma_read(n.dev, 0, 0x80000000ULL + off, out, 2));
	CHECK(!memcmp(out, "BB", 2));
	{
		uint64_t va = 3ULL << 30, l2t = guest_pages(&n.g, 1);

		*(guest_u64(&n.g, *guest_u64(&n.g, n.root) & 0x0000fffffffff000ULL) + 3) = l2t | 3;
		*(guest_u64(&n.g, l2t) + 1) = GIPA | S1_RW | 1;
		CHECK_OK(softiommu_dma_read(n.dev, 0, va + (2 << 20) + off, out, 2));
		CHECK(!memcmp(out, "BB", 2));
		/* A block at level 0 is no descriptor of the 4 KiB granule */
		*(guest_u64(&n.g, n.root) + 7) = GIPA | S1_RW | 1;
		CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, 7ULL << 39, out, 2));
		expect_s1_event(&n, 0x10, 7ULL << 39, false);
		/* Nor is a "block" at level 3 (bit 1 clear) */
		*guest_pte(&n.g, n.root, VA + 30 * PG) = n.data | S1_RW | 1;
		CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 30 * PG, out, 2));
		expect_s1_event(&n, 0x10, VA + 30 * PG, false);
	}
	/* 64 KiB granule, T0SZ 25: level 2 (1024 entries, 512 MiB each), level 3 (8192) */
	n.g.next = (n.g.next + 0xffff) & ~0xffffULL;
	l3 = guest_pages(&n.g, 16);
	page64 = guest_pages(&n.g, 16);
	l2 = guest_pages(&n.g, 2);
	memset(guest_ptr(&n.g, page64), 'Z', 16 * PG);
	*(guest_u64(&n.g, l2) + 1) = l3 | 3;               /* VA bits 38:29 = 1 */
	*(guest_u64(&n.g, l3) + 5) = page64 | S1_RW | 3;   /* VA bits 28:16 = 5 */
	cdt64 = guest_pages(&n.g, 1);
	guest_cd(&n.g, cdt64, 0, (CD_DEFAULT & ~(CD_T0SZ(63) | CD_TG0(3))) | CD_T0SZ(25) | CD_TG0(1),
		 l2, 0);
	CHECK_OK(nest_ste(&n, STE_S1 | cdt64, 0));
	CHECK_OK(softiommu_dma_read(n.dev, 0, (1ULL << 29) + (5ULL << 16) + 0xfff0, out, 2));
	CHECK(!memcmp(out, "ZZ", 2));
	/* Beyond 39 bits: outside TTB0's region */
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, 1ULL << 39, out, 2));
	expect_s1_event(&n, 0x10, 1ULL << 39, false);
	/* 16 KiB granule, T0SZ 28: levels 2 (bits 35:25) and 3 (bits 24:14), 16 KiB pages */
	n.g.next = (n.g.next + 0x3fff) & ~0x3fffULL;
	l2 = guest_pages(&n.g, 4);
	l3 = guest_pages(&n.g, 4);
	page64 = guest_pages(&n.g, 4);
	memset(guest_ptr(&n.g, page64), 'Y', 4 * PG);
	*(guest_u64(&n.g, l2) + 3) = l3 | 3;
	*(guest_u64(&n.g, l3) + 9) = page64 | S1_RW | 3;
	guest_cd(&n.g, cdt64, 0, (CD_DEFAULT & ~(CD_T0SZ(63) | CD_TG0(3))) | CD_T0SZ(28) | CD_TG0(2),
		 l2, 0);
	CHECK_OK(nest_ste(&n, STE_S1 | cdt64, 0));
	CHECK_OK(softiommu_dma_read(n.dev, 0, (3ULL << 25) + (9ULL << 14) + 0x3ffe, out, 2));
	CHECK(!memcmp(out, "YY", 2));
	nest_fini(&n);
}

/* C_BAD_STE and C_BAD_CD (fact sheet 2.5 steps 2 and 5) */
static void test_bad_config(void)
{
	static const uint64_t bad_cd0[] = {
		CD_DEFAULT & ~CD_V,
		CD_DEFAULT & ~CD_AA64,
		CD_DEFAULT | CD_TG0(3),
		(CD_DEFAULT & ~CD_T0SZ(63)) | CD_T0SZ(15),
		(CD_DEFAULT & ~CD_T0SZ(63)) | CD_T0SZ(40),
		CD_DEFAULT | CD_HA,
		CD_DEFAULT | (1ULL << 42), /* HD */
		(CD_DEFAULT & ~CD_EPD1) | CD_T1SZ(16) | CD_TG1(0),
	};
	char out[4];
	struct nest n;

	nest_init(&n);
	/* S1CDMax beyond SSIDSIZE (20) */
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt | STE_CDMAX(21), STE1_DSS(2)));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA, out, 2));
	expect_cfg_event(&n, 0x04, false, 0);
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 3, VA, out, 2));
	expect_cfg_event(&n, 0x04, true, 3);
	for (size_t i = 0; i != sizeof(bad_cd0) / sizeof(bad_cd0[0]); i++) {
		uint64_t cdt = guest_pages(&n.g, 1);

		guest_cd(&n.g, cdt, 0, bad_cd0[i], n.root, 0);
		CHECK_OK(nest_ste(&n, STE_S1 | cdt, 0));
		CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA, out, 2));
		expect_cfg_event(&n, 0x0a, false, 0);
	}
	/* TTB0 beyond the CD's IPS (32 bits) */
	{
		uint64_t cdt = guest_pages(&n.g, 1);

		guest_cd(&n.g, cdt, 0, (CD_DEFAULT & ~CD_IPS(7)) | CD_IPS(0), 1ULL << 33, 0);
		CHECK_OK(nest_ste(&n, STE_S1 | cdt, 0));
		CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA, out, 2));
		expect_cfg_event(&n, 0x0a, false, 0);
	}
	nest_fini(&n);
}

/* Substreams: S1CDMax, S1DSS, linear and 2-level CD tables (fact sheet 3.4) */
static void test_substreams(void)
{
	uint64_t cdt8, root5, l1, l2, root70, cd2l64;
	char out[4] = {};
	struct nest n;

	nest_init(&n);
	/* S1CDMax = 0: any SSID is C_BAD_SUBSTREAMID (SSID given, no SSV) */
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, STE1_DSS(1)));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 3, VA, out, 2));
	expect_cfg_event(&n, 0x08, false, 3);
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA, out, 2));

	/* A linear table of 8 CDs: CD 5 has its own tables */
	cdt8 = guest_pages(&n.g, 1);
	root5 = guest_pages(&n.g, 1);
	guest_map(&n.g, root5, VA, n.data + 2 * PG, S1_RW);
	guest_cd(&n.g, cdt8, 0, CD_DEFAULT, n.root, 0);
	guest_cd(&n.g, cdt8, 5, CD_DEFAULT | CD_ASID(5), root5, 0);
	CHECK_OK(nest_ste(&n, STE_S1 | cdt8 | STE_CDMAX(3), STE1_DSS(2)));
	CHECK_OK(softiommu_dma_read(n.dev, 5, VA, out, 2));
	CHECK(!memcmp(out, "CC", 2));
	/* S1DSS = 0b10: traffic without an SSID takes CD 0 */
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA, out, 2));
	CHECK(!memcmp(out, "AA", 2));
	/* SSID 8 is beyond S1CDMax; CD 6 is not valid */
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 8, VA, out, 2));
	expect_cfg_event(&n, 0x08, false, 8);
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 6, VA, out, 2));
	expect_cfg_event(&n, 0x0a, true, 6);
	/* S1DSS = 0b00: no SSID is F_STREAM_DISABLED (StreamID only) */
	CHECK_OK(nest_ste(&n, STE_S1 | cdt8 | STE_CDMAX(3), STE1_DSS(0)));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA, out, 2));
	expect_cfg_event(&n, 0x06, false, 0);
	CHECK_OK(softiommu_dma_read(n.dev, 5, VA, out, 2));
	/* S1DSS = 0b01: no SSID bypasses stage 1 (the IOVA is the IPA); SSIDs still use CDs */
	CHECK_OK(nest_ste(&n, STE_S1 | cdt8 | STE_CDMAX(3), STE1_DSS(1)));
	CHECK_OK(softiommu_dma_read(n.dev, 0, n.data + PG, out, 2));
	CHECK(!memcmp(out, "BB", 2));
	CHECK_OK(softiommu_dma_read(n.dev, 5, VA, out, 2));
	CHECK(!memcmp(out, "CC", 2));

	/* 2-level, 4 KiB leaves (64 CDs each): SSID 70 = L1 entry 1, CD 6 of its leaf */
	l1 = guest_pages(&n.g, 1);
	l2 = guest_pages(&n.g, 1);
	root70 = guest_pages(&n.g, 1);
	guest_map(&n.g, root70, VA, n.data + 3 * PG, S1_RW);
	guest_cd(&n.g, l2, 6, CD_DEFAULT, root70, 0);
	*guest_u64(&n.g, l1 + 8) = l2 | 1;
	CHECK_OK(nest_ste(&n, STE_S1 | STE_FMT(1) | l1 | STE_CDMAX(8), STE1_DSS(1)));
	CHECK_OK(softiommu_dma_read(n.dev, 70, VA, out, 2));
	CHECK(!memcmp(out, "DD", 2));
	/* L1 entry 2 not valid: C_BAD_SUBSTREAMID */
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 130, VA, out, 2));
	expect_cfg_event(&n, 0x08, false, 130);
	/* 2-level, 64 KiB leaves (1024 CDs): SSID 1030 = L1 entry 1, CD 6 of its leaf */
	cd2l64 = guest_pages(&n.g, 16);
	guest_cd(&n.g, cd2l64, 6, CD_DEFAULT, root70, 0);
	*guest_u64(&n.g, l1 + 8) = cd2l64 | 1;
	CHECK_OK(nest_ste(&n, STE_S1 | STE_FMT(2) | l1 | STE_CDMAX(12), STE1_DSS(1)));
	CHECK_OK(softiommu_dma_read(n.dev, 1030, VA, out, 2));
	CHECK(!memcmp(out, "DD", 2));

	/* A bypass STE takes no SSID */
	CHECK_OK(nest_ste(&n, STE_BYPASS, 0));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 4, n.data, out, 2));
	expect_cfg_event(&n, 0x08, false, 4);
	CHECK_OK(softiommu_dma_read(n.dev, 0, n.data, out, 2));
	CHECK(!memcmp(out, "AA", 2));
	nest_fini(&n);
}

/*
 * What Linux does not forward (fact sheet 1.8, 3.12, 3.13): stage-2 faults on the output,
 * on a stage-1 table and on a CD fetch; abort STEs record nothing at all; the vSID latched
 * at attach outlives its vDEVICE
 */
static void test_unforwarded(void)
{
	uint64_t host, cdt2, root2;
	struct vevent ev;
	char out[4];
	struct nest n;

	nest_init(&n);
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	/* The stage-1 output IPA is not mapped by stage 2 */
	guest_map(&n.g, n.root, VA + 20 * PG, GIPA + (64 << 20), S1_RW);
	host = host_events();
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 20 * PG, out, 2));
	CHECK(host_events() == host + 1 && !t_vevent(n.qfd, &ev));
	expect_host_s2_event(&n, 0x10, 2, VA + 20 * PG, GIPA + (64 << 20));
	/* A stage-1 table at an unmapped IPA (CLASS = TT) */
	*(guest_u64(&n.g, n.root) + 5) = (GIPA + (64 << 20)) | 3;
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, 5ULL << 39, out, 2));
	CHECK(host_events() == host + 2 && !t_vevent(n.qfd, &ev));
	expect_host_s2_event(&n, 0x10, 1, 5ULL << 39, GIPA + (64 << 20));
	/* The CD table at an unmapped IPA (CLASS = CD) */
	CHECK_OK(nest_ste(&n, STE_S1 | (GIPA + (64 << 20)), 0));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA, out, 2));
	CHECK(host_events() == host + 3 && !t_vevent(n.qfd, &ev));
	expect_host_s2_event(&n, 0x10, 0, VA, GIPA + (64 << 20));
	/* Bypass: stage 2 only, its faults stay on the host */
	CHECK_OK(nest_ste(&n, STE_BYPASS, 0));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, GIPA + (64 << 20), out, 2));
	CHECK(host_events() == host + 4 && !t_vevent(n.qfd, &ev));
	expect_host_s2_event(&n, 0x10, 2, GIPA + (64 << 20), GIPA + (64 << 20));
	/* Abort and V = 0: terminated, no record */
	CHECK_OK(nest_ste(&n, STE_ABORT, 0));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, n.data, out, 2));
	CHECK_OK(nest_ste(&n, 0, 0));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, n.data, out, 2));
	CHECK(host_events() == host + 4 && !t_vevent(n.qfd, &ev));

	/* The vDEVICE goes: events keep the latched vSID until the next attach */
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	CHECK_OK(t_destroy(n.fd, n.vdev));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 100 * PG, out, 2));
	expect_s1_event(&n, 0x10, VA + 100 * PG, false);
	/* Re-attached without a vDEVICE: a translating STE cannot be; bypass has no vSID */
	cdt2 = guest_pages(&n.g, 1);
	root2 = guest_pages(&n.g, 1);
	guest_cd(&n.g, cdt2, 0, CD_DEFAULT, root2, 0);
	CHECK_ERR(ENOENT, nest_ste(&n, STE_S1 | cdt2, 0));
	/*
	 * A new vDEVICE with another vSID, seen from the next attach on; a vSID beyond 32 bits
	 * keeps its low 32 in records, and no command can name it
	 */
	CHECK_OK(t_vdevice_alloc(n.fd, n.viommu, n.dev_id, 1ULL << 40 | 0x77, &n.vdev));
	CHECK_OK(nest_ste(&n, STE_S1 | cdt2, 0));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA, out, 2));
	CHECK(t_vevent(n.qfd, &ev) && EVT_SID(ev.ev.evt) == 0x77 && EVT_TYPE(ev.ev.evt) == 0x10);
	CHECK_ERR(EIO, t_inv1(n.fd, n.viommu, 0x06 | 0x77ULL << 32, 0));
	nest_fini(&n);
}

/*
 * Guest memory the VMM unmapped from its process behind a live IOAS mapping: a table fetch
 * is an external abort (F_WALK_EABT), a CD fetch F_CD_FETCH; neither is forwarded, and
 * neither is a signal
 */
static void test_gone_guest_memory(void)
{
	uint64_t va = 2ULL << 39, l1, host, evt[4];
	struct vevent ev;
	char out[4];
	struct nest n;

	nest_init(&n);
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	guest_map(&n.g, n.root, va, n.data, S1_RW);
	CHECK_OK(softiommu_dma_read(n.dev, 0, va, out, 2));
	/* The level-1 table of @va goes */
	l1 = *(guest_u64(&n.g, n.root) + 2) & 0x0000fffffffff000ULL;
	CHECK(!munmap(guest_ptr(&n.g, l1), PG));
	host = host_events();
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, va + PG, out, 2));
	CHECK(host_events() == host + 1 && !t_vevent(n.qfd, &ev));
	/* F_WALK_EABT: stage 1's table fetch, CLASS TT, the fetch address */
	CHECK_OK(smmuv3_last_host_event(evt));
	CHECK(EVT_TYPE(evt) == 0x0b && !EVT_S2(evt) && EVT_CLASS(evt) == 1 && EVT_RNW(evt));
	CHECK(evt[2] == va + PG && evt[3] == l1 + ((va >> 30) & 511) * 8);
	/* Other tables still walk */
	CHECK_OK(softiommu_dma_read(n.dev, 0, VA + PG, out, 2));
	CHECK(!memcmp(out, "BB", 2));
	/* The CD table goes; a new STE must fetch it */
	CHECK(!munmap(guest_ptr(&n.g, n.cdt), PG));
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA, out, 2));
	CHECK(host_events() == host + 2 && !t_vevent(n.qfd, &ev));
	/* F_CD_FETCH: the CD's address only */
	CHECK_OK(smmuv3_last_host_event(evt));
	CHECK(EVT_TYPE(evt) == 0x09 && !evt[1] && !evt[2] && evt[3] == n.cdt);
	nest_fini(&n);
}

/* No vEVENTQ on the vIOMMU: forwardable records are dropped to the host side */
static void test_no_veventq(void)
{
	uint64_t host;
	char out[4];
	struct nest n;

	nest_init(&n);
	/* The queue object goes with IOMMU_DESTROY once its fd is closed */
	CHECK_OK(softiommu_close(n.qfd));
	CHECK_OK(t_destroy(n.fd, n.qid));
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	host = host_events();
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 100 * PG, out, 2));
	CHECK(host_events() == host + 1);
	n.qfd = t_veventq_alloc(n.fd, n.viommu, 4, NULL);
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + 100 * PG, out, 2));
	expect_s1_event(&n, 0x10, VA + 100 * PG, false);
	nest_fini(&n);
}

int main(void)
{
	test_s1_dma();
	test_s1_faults();
	test_ttb1_tbi();
	test_granules();
	test_bad_config();
	test_substreams();
	test_unforwarded();
	test_gone_guest_memory();
	test_no_veventq();
	return t_done();
}
