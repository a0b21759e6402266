/* SPDX-License-Identifier: MIT */
/*
 * One nested SMMUv3 setup for the tests: a PASID-capable device (StreamID 0x42) with vSID
 * 0x10 on a vIOMMU over a NEST_PARENT stage 2, a vEVENTQ, and guest RAM at IPA 2 GiB
 * holding a CD table (CD 0: 48-bit TTB0 at @root) and four data pages ('A'..'D') mapped at
 * VA..VA + 4 pages.
 */
#ifndef NEST_FIXTURE_H
#define NEST_FIXTURE_H

#include "smmu_test.h"

#define GIPA 0x80000000ULL
#define VA 0x12340000ULL
#define VSID 0x10
#define PSID 0x42 /* the fixture device's physical StreamID */

struct nest {
	int fd, qfd;
	uint32_t ioas, s2, viommu, vdev, hwpt, qid;
	struct softiommu_dev *dev;
	unsigned int dev_id;
	struct guest g;
	uint64_t cdt, root, data;
};

/* The setup with a device of SMMUV3_DEV_* @flags */
static inline void nest_init_flags(struct nest *n, uint32_t flags)
{
	n->fd = softiommu_open(0);
	n->ioas = t_ioas_alloc(n->fd);
	CHECK_OK(softiommu_dev_create(n->fd, "smmuv3:sid=0x42", flags, &n->dev, &n->dev_id));
	CHECK_OK(t_hwpt_alloc(n->fd, n->dev_id, n->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
			      IOMMU_HWPT_DATA_NONE, NULL, 0, &n->s2));
	CHECK_OK(t_viommu_alloc(n->fd, n->dev_id, n->s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0,
				&n->viommu));
	CHECK_OK(t_vdevice_alloc(n->fd, n->viommu, n->dev_id, VSID, &n->vdev));
	n->qfd = t_veventq_alloc(n->fd, n->viommu, 64, &n->qid);
	guest_init(&n->g, n->fd, n->ioas, GIPA, 1 << 20);
	n->cdt = guest_pages(&n->g, 1);
	n->root = guest_pages(&n->g, 1);
	n->data = guest_pages(&n->g, 4);
	for (unsigned int i = 0; i != 4; i++) {
		memset(guest_ptr(&n->g, n->data + i * PG), 'A' + i, PG);
		guest_map(&n->g, n->root, VA + i * PG, n->data + i * PG, S1_RW);
	}
	guest_cd(&n->g, n->cdt, 0, CD_DEFAULT, n->root, 0);
	n->hwpt = 0;
}

static inline void nest_init(struct nest *n)
{
	nest_init_flags(n, SMMUV3_DEV_PASID);
}

/* Attach (or replace with) a nested HWPT of guest STE @ste0/@ste1; 0 or -errno */
static inline long nest_ste(struct nest *n, uint64_t ste0, uint64_t ste1)
{
	uint32_t old = n->hwpt, id;
	unsigned int pt;
	long rc = t_nested_alloc(n->fd, n->dev_id, n->viommu, ste0, ste1, &id);

	if (rc)
		return rc;
	pt = id;
	rc = softiommu_dev_attach(n->dev, 0, &pt);
	if (rc) {
		CHECK_OK(t_destroy(n->fd, id));
		return rc;
	}
	n->hwpt = id;
	if (old)
		CHECK_OK(t_destroy(n->fd, old));
	return 0;
}

static inline void nest_fini(struct nest *n)
{
	struct vevent ev;

	CHECK(!t_vevent(n->qfd, &ev)); /* every test read what it caused */
	softiommu_dev_destroy(n->dev);
	CHECK_OK(softiommu_close(n->qfd));
	CHECK_OK(softiommu_close(n->fd));
	guest_fini(&n->g);
}

/* The next vEVENTQ record is @type for VA @iova (a read unless @write), stage 1 */
static inline void expect_s1_event(struct nest *n, unsigned int type, uint64_t iova,
				   bool write)
{
	struct vevent ev;

	CHECK(t_vevent(n->qfd, &ev));
	if (EVT_TYPE(ev.ev.evt) != type)
		fprintf(stderr, "event 0x%x, expected 0x%x\n", EVT_TYPE(ev.ev.evt), type);
	CHECK(EVT_TYPE(ev.ev.evt) == type && EVT_SID(ev.ev.evt) == VSID);
	CHECK(!EVT_SSV(ev.ev.evt) && !EVT_S2(ev.ev.evt) && EVT_CLASS(ev.ev.evt) == 2);
	CHECK(EVT_RNW(ev.ev.evt) == !write && ev.ev.evt[2] == iova && ev.ev.evt[3] == 0);
	CHECK(!(ev.ev.evt[1] & (1ULL << 31)) && !(ev.ev.evt[1] & (3ULL << 33)));
}

static inline uint64_t host_events(void)
{
	uint64_t fwd, host;

	smmuv3_event_counts(&fwd, &host);
	return host;
}

/* The last record the host kept: @type, stage 2, CLASS @cls, input @iova, IPA @ipa */
static inline void expect_host_s2_event(struct nest *n, unsigned int type, unsigned int cls,
					uint64_t iova, uint64_t ipa)
{
	uint64_t evt[4];

	(void)n;
	CHECK_OK(smmuv3_last_host_event(evt));
	if (EVT_TYPE(evt) != type || EVT_CLASS(evt) != cls)
		fprintf(stderr, "host event 0x%x class %u, expected 0x%x class %u\n",
			EVT_TYPE(evt), EVT_CLASS(evt), type, cls);
	/* The host's record has the physical StreamID */
	CHECK(EVT_TYPE(evt) == type && EVT_SID(evt) == PSID && EVT_S2(evt) &&
	      EVT_CLASS(evt) == cls);
	CHECK(evt[2] == iova && evt[3] == (ipa & 0x000ffffffffff000ULL));
}

#endif
