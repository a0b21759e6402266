// SPDX-License-Identifier: MIT
/*
 * smmuv3_stress: the nested SMMUv3 scenario under load (issue 7's stress coverage). One
 * device behind a vIOMMU (vSID 0x10, vEVENTQ), guest stage-1 tables in IOAS-mapped RAM; at
 * the same time:
 *  - two DMA threads read and write the guest's VAs (pasid 0 and SSID 1);
 *  - a guest thread remaps and unmaps the VAs' leaves and issues TLBI_NH_VA / ASID / ALL /
 *    VAA, CFGI_CD / CFGI_CD_ALL and ATC_INV in arrays of 1 to 8;
 *  - a VMM thread replaces the STE (stage 1 with a CD table of two CDs, bypass, abort) by
 *    allocating a new nested HWPT, replacing and destroying the old one;
 *  - an event thread reads the vEVENTQ.
 * Checks: DMA ends in 0 or -EFAULT only, a read returns one page's bytes whole (one of the
 * data pages' letters, never torn or another page); every ioctl succeeds; each event
 * record is a stage-1 fault type or the overflow record with the vSID; nothing leaks (the
 * context's objects all go at close). Run under TSan by CI (name "stress").
 *
 *   smmuv3_stress [-t SECONDS]   (default 2)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "smmu_test.h"

/* Threads do not touch testlib's counters (not atomic): they count failures here */
static atomic_int bad;
#define EXPECT(cond)                                                                      \
	do {                                                                              \
		if (!(cond)) {                                                            \
			atomic_fetch_add(&bad, 1);                                        \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);       \
		}                                                                         \
	} while (0)

#define GIPA 0x80000000ULL
#define VA 0x12340000ULL
#define NVA 8
#define VSID 0x10

struct shared {
	int fd, qfd;
	uint32_t ioas, s2, viommu, vdev, qid;
	struct softiommu_dev *dev;
	unsigned int dev_id;
	struct guest g;
	uint64_t cdt, root, data[3];
	atomic_int stop;
	atomic_long dmas, faults, invs, replaces, events;
	pthread_mutex_t ste_lock; /* the VMM thread's: the current nested HWPT */
	uint32_t hwpt;
};

static void *dma_thread(void *arg)
{
	struct shared *s = arg;
	static _Atomic unsigned int which;
	unsigned int pasid = atomic_fetch_add(&which, 1) & 1;
	char buf[64];

	for (unsigned int i = 0; !atomic_load(&s->stop); i++) {
		uint64_t va = VA + (i % NVA) * PG + (i * 64) % PG;
		int rc = (i & 3) == 3 ? softiommu_dma_write(s->dev, pasid, va, buf, 16) :
					softiommu_dma_read(s->dev, pasid, va, buf, sizeof(buf));

		EXPECT(rc == 0 || rc == -EFAULT);
		if (rc) {
			atomic_fetch_add(&s->faults, 1);
			continue;
		}
		atomic_fetch_add(&s->dmas, 1);
		if ((i & 3) != 3) {
			/* Whole bytes of one page: its letter, or what writes left (0xaa) */
			for (unsigned int k = 1; k != sizeof(buf); k++)
				EXPECT(buf[k] == buf[0] || (unsigned char)buf[k] == 0xaa ||
				      (unsigned char)buf[0] == 0xaa);
		} else {
			memset(buf, 0xaa, sizeof(buf));
		}
	}
	return NULL;
}

/* The guest: change leaves, then invalidate them (or more) */
static void *guest_thread(void *arg)
{
	struct shared *s = arg;
	uint64_t cmds[8][2];
	unsigned int seed = 1;

	while (!atomic_load(&s->stop)) {
		unsigned int n = 1 + rand_r(&seed) % 8;

		for (unsigned int k = 0; k != n; k++) {
			unsigned int v = rand_r(&seed) % NVA, what = rand_r(&seed) % 8;
			uint64_t va = VA + v * PG;

			if (what == 0)
				guest_unmap(&s->g, s->root, va);
			else
				guest_map(&s->g, s->root, va, s->data[what % 3],
					  S1_RW | ((what & 4) ? S1_NG : 0));
			switch (rand_r(&seed) % 9) {
			case 0: cmds[k][0] = 0x10; cmds[k][1] = 0; break;
			case 1: cmds[k][0] = 0x11 | (uint64_t)(1 + (what & 1)) << 48; cmds[k][1] = 0;
				break;
			case 2: cmds[k][0] = 0x13; cmds[k][1] = va; break;
			case 3: cmds[k][0] = 0x05 | (uint64_t)VSID << 32 | (uint64_t)(what & 1) << 12;
				cmds[k][1] = 0; break;
			case 4: cmds[k][0] = 0x06 | (uint64_t)VSID << 32; cmds[k][1] = 0; break;
			case 5: cmds[k][0] = 0x40 | (uint64_t)VSID << 32; cmds[k][1] = 0; break;
			case 6: cmds[k][0] = 0x12 | 1ULL << 48 | 1 << 12; cmds[k][1] = va | 1 << 10;
				break;
			default: cmds[k][0] = 0x12 | 1ULL << 48; cmds[k][1] = va; break;
			}
		}
		EXPECT(!t_invalidate(s->fd, s->viommu, cmds, n, NULL));
		atomic_fetch_add(&s->invs, 1);
	}
	return NULL;
}

/* The VMM: STE replace, round robin over stage 1, bypass, stage 1 again, abort */
static void *vmm_thread(void *arg)
{
	struct shared *s = arg;
	const uint64_t ste0[] = { STE_S1 | STE_CDMAX(1) | s->cdt, STE_BYPASS,
				  STE_S1 | STE_CDMAX(1) | s->cdt, STE_ABORT };

	for (unsigned int i = 0; !atomic_load(&s->stop); i++) {
		uint32_t id, old;
		unsigned int pt;

		long rc = t_nested_alloc(s->fd, s->dev_id, s->viommu, ste0[i % 4],
					 (i % 2) ? 0 : STE1_DSS(2), &id);

		EXPECT(!rc);
		if (rc)
			continue;
		pt = id;
		rc = softiommu_dev_attach(s->dev, 0, &pt);
		EXPECT(!rc);
		if (rc) {
			t_destroy(s->fd, id);
			continue;
		}
		pthread_mutex_lock(&s->ste_lock);
		old = s->hwpt;
		s->hwpt = id;
		pthread_mutex_unlock(&s->ste_lock);
		EXPECT(!t_destroy(s->fd, old));
		atomic_fetch_add(&s->replaces, 1);
	}
	return NULL;
}

static void *event_thread(void *arg)
{
	struct shared *s = arg;
	struct vevent ev;

	while (!atomic_load(&s->stop)) {
		ssize_t n = softiommu_read(s->qfd, &ev, sizeof(ev));
		unsigned int type;

		if (n <= 0) {
			nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
			continue;
		}
		/* A record, or the overflow header alone (the queue is small on purpose) */
		EXPECT(n == (ssize_t)sizeof(ev) || n == (ssize_t)sizeof(ev.hdr));
		if (n != (ssize_t)sizeof(ev))
			continue;
		type = EVT_TYPE(ev.ev.evt);
		EXPECT(EVT_SID(ev.ev.evt) == VSID);
		EXPECT(type == 0x10 || type == 0x11 || type == 0x12 || type == 0x13 ||
		      type == 0x06 || type == 0x08 || type == 0x0a || type == 0x04);
		atomic_fetch_add(&s->events, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	void *(*const fn[])(void *) = { dma_thread, dma_thread, guest_thread, vmm_thread,
					event_thread };
	pthread_t th[5];
	struct shared s = {};
	int seconds = 2;
	unsigned int pt;

	if (argc == 3 && !strcmp(argv[1], "-t"))
		seconds = atoi(argv[2]);
	s.fd = softiommu_open(0);
	s.ioas = t_ioas_alloc(s.fd);
	CHECK_OK(softiommu_dev_create(s.fd, "smmuv3", SMMUV3_DEV_PASID, &s.dev, &s.dev_id));
	CHECK_OK(t_hwpt_alloc(s.fd, s.dev_id, s.ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
			      IOMMU_HWPT_DATA_NONE, NULL, 0, &s.s2));
	CHECK_OK(t_viommu_alloc(s.fd, s.dev_id, s.s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0,
				&s.viommu));
	CHECK_OK(t_vdevice_alloc(s.fd, s.viommu, s.dev_id, VSID, &s.vdev));
	s.qfd = t_veventq_alloc(s.fd, s.viommu, 4, &s.qid);
	guest_init(&s.g, s.fd, s.ioas, GIPA, 1 << 20);
	s.cdt = guest_pages(&s.g, 1);
	s.root = guest_pages(&s.g, 1);
	for (unsigned int i = 0; i != 3; i++) {
		s.data[i] = guest_pages(&s.g, 1);
		memset(guest_ptr(&s.g, s.data[i]), 'a' + i, PG);
	}
	for (unsigned int i = 0; i != NVA; i++)
		guest_map(&s.g, s.root, VA + i * PG, s.data[i % 3], S1_RW);
	guest_cd(&s.g, s.cdt, 0, CD_DEFAULT | CD_ASID(1), s.root, 0);
	guest_cd(&s.g, s.cdt, 1, CD_DEFAULT | CD_ASID(2), s.root, 0);
	CHECK_OK(t_nested_alloc(s.fd, s.dev_id, s.viommu, STE_S1 | STE_CDMAX(1) | s.cdt,
				STE1_DSS(2), &s.hwpt));
	pt = s.hwpt;
	CHECK_OK(softiommu_dev_attach(s.dev, 0, &pt));
	pthread_mutex_init(&s.ste_lock, NULL);

	for (unsigned int i = 0; i != 5; i++)
		pthread_create(&th[i], NULL, fn[i], &s);
	sleep((unsigned int)seconds);
	atomic_store(&s.stop, 1);
	for (unsigned int i = 0; i != 5; i++)
		pthread_join(th[i], NULL);
	printf("smmuv3_stress: %ld DMAs, %ld faults, %ld invalidation calls, %ld STE replaces, "
	       "%ld events\n", atomic_load(&s.dmas), atomic_load(&s.faults),
	       atomic_load(&s.invs), atomic_load(&s.replaces), atomic_load(&s.events));
	CHECK(atomic_load(&s.dmas) > 0 && atomic_load(&s.invs) > 0 &&
	      atomic_load(&s.replaces) > 0);

	softiommu_dev_destroy(s.dev);
	CHECK_OK(softiommu_close(s.qfd));
	CHECK_OK(softiommu_close(s.fd));
	CHECK(t_live() == 0);
	CHECK(atomic_load(&bad) == 0);
	guest_fini(&s.g);
	pthread_mutex_destroy(&s.ste_lock);
	return t_done();
}
