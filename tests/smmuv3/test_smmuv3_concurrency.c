// SPDX-License-Identifier: MIT
/*
 * Nested SMMUv3 DMA under change: device threads read through the nested STE while the
 * main thread replaces the STE (a new nested HWPT, another CD table) and issues TLBI and
 * CFGI commands. Every DMA translates through the old or the new configuration, never
 * faults; once a replace or an invalidation has returned, the main thread's DMA sees the
 * new one. A third thread faults all the while: its events reach the vEVENTQ (or its
 * overflow) with the vSID latched by whichever attach it met. A fourth reads a page whose
 * stage-2 mapping the main thread unmaps and maps again: the data or a fault, never stale
 * memory, and once the unmap returned, a fault. The guest's tables are all written before the threads start (guest memory is
 * plain memory: a guest changing a live table races by design). Run under TSan by CI.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "nest_fixture.h"

#define THREADS 2
#define ROUNDS 200
#define PAGES 16

static struct nest n;
static atomic_bool stop;
static atomic_uint bad, reads, faults;

static void *dma_thread(void *arg)
{
	unsigned int k = (unsigned int)(uintptr_t)arg;

	while (!atomic_load(&stop)) {
		char out[8];

		if (softiommu_dma_read(n.dev, 0, VA + (k++ % PAGES) * PG + 8, out, sizeof(out)) ||
		    (out[0] != 'A' && out[0] != 'B') || memcmp(out, out + 1, 7))
			atomic_fetch_add(&bad, 1);
		atomic_fetch_add(&reads, 1);
	}
	return NULL;
}

/* VA + PAGES * PG: a page of 'C's of its own IOAS mapping, which comes and goes */
static void *churn_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		char out[8];
		int rc = softiommu_dma_read(n.dev, 0, VA + PAGES * PG, out, sizeof(out));

		if ((rc && rc != -EFAULT) || (!rc && (out[0] != 'C' || memcmp(out, out + 1, 7))))
			atomic_fetch_add(&bad, 1);
	}
	return NULL;
}

static void *fault_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		char out[8];

		if (softiommu_dma_read(n.dev, 0, VA + 100 * PG, out, sizeof(out)) != -EFAULT)
			atomic_fetch_add(&bad, 1);
		atomic_fetch_add(&faults, 1);
	}
	return NULL;
}

int main(void)
{
	uint64_t churn_ipa;
	char *churn;
	pthread_t ft, ct;
	struct vevent ev;
	unsigned int events = 0;
	uint64_t cdt[2], root[2];
	pthread_t t[THREADS];

	nest_init(&n);
	for (unsigned int c = 0; c != 2; c++) {
		cdt[c] = guest_pages(&n.g, 1);
		root[c] = guest_pages(&n.g, 1);
		for (unsigned int i = 0; i != PAGES; i++)
			guest_map(&n.g, root[c], VA + i * PG, n.data + c * PG, S1_RW);
		guest_cd(&n.g, cdt[c], 0, CD_DEFAULT, root[c], 0);
	}
	churn = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(churn != MAP_FAILED);
	memset(churn, 'C', PG);
	churn_ipa = GIPA + (2 << 20);
	CHECK_OK(t_map(n.fd, n.ioas, churn, PG, &churn_ipa, FIXED_RW));
	for (unsigned int c = 0; c != 2; c++)
		guest_map(&n.g, root[c], VA + PAGES * PG, churn_ipa, S1_RW);
	CHECK_OK(nest_ste(&n, STE_S1 | cdt[0], 0));
	for (unsigned int i = 0; i != THREADS; i++)
		CHECK(!pthread_create(&t[i], NULL, dma_thread, (void *)(uintptr_t)(i * 5)));
	CHECK(!pthread_create(&ft, NULL, fault_thread, NULL));
	CHECK(!pthread_create(&ct, NULL, churn_thread, NULL));
	for (unsigned int r = 0; r != ROUNDS; r++) {
		unsigned int c = (r + 1) & 1;
		char out[2] = {};

		CHECK_OK(nest_ste(&n, STE_S1 | cdt[c], 0));
		CHECK_OK(softiommu_dma_read(n.dev, 0, VA + (r % PAGES) * PG, out, 1));
		CHECK(out[0] == 'A' + (char)c);
		CHECK_OK(t_inv1(n.fd, n.viommu, 0x10, 0));
		CHECK_OK(t_inv1(n.fd, n.viommu, 0x06 | (uint64_t)VSID << 32, 0));
		CHECK_OK(t_inv1(n.fd, n.viommu, 0x05 | (uint64_t)VSID << 32, 0));
		CHECK_OK(softiommu_dma_read(n.dev, 0, VA + ((r + 7) % PAGES) * PG, out, 1));
		CHECK(out[0] == 'A' + (char)c);
		/* The stage-2 parent changes under the churning reader */
		if (r % 4 == 0) {
			uint64_t ipa = churn_ipa;

			CHECK_OK(t_unmap(n.fd, n.ioas, churn_ipa, PG, NULL));
			CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA + PAGES * PG, out, 1));
			CHECK_OK(t_map(n.fd, n.ioas, churn, PG, &ipa, FIXED_RW));
		}
	}
	atomic_store(&stop, true);
	for (unsigned int i = 0; i != THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_join(ft, NULL);
	pthread_join(ct, NULL);
	/* Records with the vSID, or the overflow's LOST_EVENTS header */
	for (;;) {
		ssize_t len = softiommu_read(n.qfd, &ev, sizeof(ev));

		if (len <= 0)
			break;
		if (len == sizeof(ev))
			CHECK(EVT_TYPE(ev.ev.evt) == 0x10 && EVT_SID(ev.ev.evt) == VSID);
		else
			CHECK(len == sizeof(ev.hdr) &&
			      (ev.hdr.flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS));
		events++;
	}
	CHECK(events > 0 && atomic_load(&faults) > 0);
	CHECK(atomic_load(&bad) == 0);
	CHECK(atomic_load(&reads) > 0);
	nest_fini(&n);
	munmap(churn, PG);
	return t_done();
}
