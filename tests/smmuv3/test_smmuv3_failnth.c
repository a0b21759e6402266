// SPDX-License-Identifier: MIT
/*
 * The nested SMMUv3 setup under fault injection (src/core/fail.h): a scenario — a device
 * with a chosen StreamID, guest RAM in an IOAS, NEST_PARENT, vIOMMU, vDEVICE, vEVENTQ,
 * nested HWPT from a guest STE, DMA through S1+S2, a fault read back from the vEVENTQ,
 * invalidation commands, a replace — runs once counting the fallible points it passes, then
 * once per point with that point failing. Every run must end in success or a clean errno
 * at some step (no wrong data, no wrong record), and once everything is closed no object is
 * left (and, under LeakSanitizer, no memory).
 */
#include "../../src/core/fail.h"
#include "nest_fixture.h"

/* The step's errno when it failed because of the injection */
#define STEP(call)                                                                        \
	do {                                                                              \
		long rc_ = (call);                                                        \
		if (rc_ < 0) {                                                            \
			*step = #call;                                                    \
			return rc_;                                                       \
		}                                                                         \
	} while (0)

struct run {
	int fd, qfd;
	struct softiommu_dev *dev;
	char *ram;
};

static long scenario(struct run *r, const char **step)
{
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct iommu_veventq_alloc q = { .size = sizeof(q), .type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3,
					 .veventq_depth = 8 };
	uint32_t s2, viommu, vdev, hwpt, hwpt2;
	uint64_t ipa = GIPA, cmds[3][2];
	struct guest g = {};
	unsigned int dev_id, pt;
	struct vevent ev;
	char out[8];

	r->fd = softiommu_open(0);
	STEP(r->fd);
	STEP(softiommu_dev_create(r->fd, "smmuv3:smmu=fi,sid=7", SMMUV3_DEV_PASID, &r->dev,
				  &dev_id));
	STEP(softiommu_ioctl(r->fd, IOMMU_IOAS_ALLOC, &ioas));
	r->ram = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->ram == MAP_FAILED)
		return -ENOMEM;
	g.ram = r->ram;
	g.ipa = GIPA;
	g.size = 64 * PG;
	STEP(t_map(r->fd, ioas.out_ioas_id, r->ram, 64 * PG, &ipa, FIXED_RW));
	{
		uint64_t cdt = guest_pages(&g, 1), root = guest_pages(&g, 1);
		uint64_t data = guest_pages(&g, 1);

		memset(guest_ptr(&g, data), 'A', PG);
		guest_map(&g, root, VA, data, S1_RW);
		guest_cd(&g, cdt, 0, CD_DEFAULT, root, 0);
		STEP(t_hwpt_alloc(r->fd, dev_id, ioas.out_ioas_id, IOMMU_HWPT_ALLOC_NEST_PARENT,
				  IOMMU_HWPT_DATA_NONE, NULL, 0, &s2));
		STEP(t_viommu_alloc(r->fd, dev_id, s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0, &viommu));
		STEP(t_vdevice_alloc(r->fd, viommu, dev_id, VSID, &vdev));
		q.viommu_id = viommu;
		STEP(softiommu_ioctl(r->fd, IOMMU_VEVENTQ_ALLOC, &q));
		r->qfd = (int)q.out_veventq_fd;
		STEP(t_nested_alloc(r->fd, dev_id, viommu, STE_S1 | cdt, 0, &hwpt));
		pt = hwpt;
		STEP(softiommu_dev_attach(r->dev, 0, &pt));
		STEP(softiommu_dma_read(r->dev, 0, VA, out, sizeof(out)));
		if (out[0] != 'A')
			return -EILSEQ;
		/* A fault: its record, or nothing if reporting it failed */
		if (softiommu_dma_read(r->dev, 0, VA + PG, out, 4) != -EFAULT)
			return -EILSEQ;
		if (softiommu_read(r->qfd, &ev, sizeof(ev)) == sizeof(ev) &&
		    (EVT_SID(ev.ev.evt) != VSID || EVT_TYPE(ev.ev.evt) != 0x10))
			return -EILSEQ;
		cmds[0][0] = 0x12; /* TLBI_NH_VA */
		cmds[0][1] = VA;
		cmds[1][0] = 0x05 | (uint64_t)VSID << 32; /* CFGI_CD */
		cmds[1][1] = 0;
		cmds[2][0] = 0x40 | (uint64_t)VSID << 32; /* ATC_INV */
		cmds[2][1] = 52;
		STEP(t_invalidate(r->fd, viommu, cmds, 3, NULL));
		STEP(t_nested_alloc(r->fd, dev_id, viommu, STE_BYPASS, 0, &hwpt2));
		pt = hwpt2;
		STEP(softiommu_dev_attach(r->dev, 0, &pt));
		STEP(softiommu_dma_read(r->dev, 0, data, out, sizeof(out)));
		if (out[0] != 'A')
			return -EILSEQ;
		STEP(t_destroy(r->fd, hwpt));
	}
	return 0;
}

static void run_end(struct run *r)
{
	if (r->dev)
		softiommu_dev_destroy(r->dev);
	if (r->qfd > 0)
		softiommu_close(r->qfd);
	if (r->fd > 0)
		softiommu_close(r->fd);
	if (r->ram && r->ram != MAP_FAILED)
		munmap(r->ram, 64 * PG);
}

int main(void)
{
	unsigned long points, failed_runs = 0;
	const char *step = NULL;
	struct run r = {};

	/* Counting run: it must succeed */
	sio_fail_points_reset();
	CHECK_OK(scenario(&r, &step));
	points = sio_fail_points();
	run_end(&r);
	CHECK(points > 0 && t_live() == 0);
	for (unsigned long nth = 1; nth <= points; nth++) {
		long rc;

		memset(&r, 0, sizeof(r));
		step = NULL;
		sio_fail_nth_set((unsigned int)nth);
		rc = scenario(&r, &step);
		sio_fail_nth_set(0);
		run_end(&r);
		/*
		 * ENOMEM for an allocation; ENOENT for an object lookup, EINVAL where the
		 * kernel turns a failed lookup into it (HWPT_ALLOC's pt_id), as tests/fault
		 */
		if (rc) {
			bool clean = rc == -ENOMEM || rc == -ENOENT || rc == -EINVAL;

			failed_runs++;
			if (!clean)
				fprintf(stderr, "point %lu: %s = %ld\n", nth, step ? step : "?", rc);
			CHECK(clean);
		}
		if (t_live())
			fprintf(stderr, "point %lu: %lu objects left\n", nth, t_live());
		CHECK(t_live() == 0);
	}
	/* Some injected failures are absorbed (a lost record, a device without an IOTLB) */
	CHECK(failed_runs > 0);
	printf("%lu fallible points, %lu runs failed cleanly\n", points, failed_runs);
	return t_done();
}
