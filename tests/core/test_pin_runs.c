// SPDX-License-Identifier: MIT
/*
 * White box: the pin counts of an iopt_pages (pages.c), kept as runs of pages with one count.
 * Random pins and unpins of random ranges (each unpin undoing an earlier pin, as areas and
 * accesses do) are checked against a count per page after every step: the runs must be
 * sorted, disjoint, merged, never more than two per pin held, and npinned and VmPin must
 * be the number of pages with a count. Then the bugs a caller can make: an unpin of pages
 * nobody pinned, and pins left when the pages are freed, are reported (counted) and cost
 * neither a crash nor a charge left behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../../src/core/sio.h"
#include <softiommu/softiommu.h>

#define NPAGES 300
#define PG 4096UL

#include "../common/check.h"

static unsigned long pinned_vm(void)
{
	unsigned long p;

	softiommu_pinned_pages(&p, NULL);
	return p;
}

/* The runs against the model; returns false on the first difference */
static bool runs_match(const struct iopt_pages *pages, const uint32_t *model)
{
	size_t r = 0, counted = 0;

	for (size_t i = 0; i + 1 < pages->nruns; i++) {
		const struct pin_run *a = &pages->runs[i], *b = a + 1;

		if (a->last >= b->first || (a->last + 1 == b->first && a->users == b->users))
			return false;
	}
	if (pages->nruns > 2 * pages->pin_ops || pages->nruns > pages->runs_cap)
		return false;
	for (size_t idx = 0; idx != NPAGES; idx++) {
		uint32_t users = 0;

		while (r < pages->nruns && pages->runs[r].last < idx)
			r++;
		if (r < pages->nruns && pages->runs[r].first <= idx)
			users = pages->runs[r].users;
		if (users != model[idx])
			return false;
		counted += users != 0;
	}
	return counted == pages->npinned;
}

static void test_random(char *mem)
{
	struct iopt_pages *pages = iopt_alloc_user_pages((uintptr_t)mem, NPAGES * PG, true);
	struct { size_t first, last; } held[64];
	size_t nheld = 0, max_runs = 0;
	uint32_t model[NPAGES] = { 0 };

	CHECK(!IS_ERR(pages));
	srand(1234);
	for (int step = 0; step != 20000; step++) {
		bool pin = nheld == 0 || (nheld < 64 && rand() % 2);

		if (pin) {
			size_t first = rand() % NPAGES;
			size_t last = first + rand() % (rand() % 4 ? 8 : NPAGES - first);

			if (last >= NPAGES)
				last = NPAGES - 1;
			CHECK(iopt_pages_pin(pages, first, last) == 0);
			for (size_t i = first; i <= last; i++)
				model[i]++;
			held[nheld].first = first;
			held[nheld++].last = last;
		} else {
			size_t k = rand() % nheld;

			iopt_pages_unpin(pages, held[k].first, held[k].last);
			for (size_t i = held[k].first; i <= held[k].last; i++)
				model[i]--;
			held[k] = held[--nheld];
		}
		if (!runs_match(pages, model)) {
			CHECK(!"runs match the per-page model");
			break;
		}
		CHECK(pinned_vm() == pages->npinned);
		if (pages->nruns > max_runs)
			max_runs = pages->nruns;
	}
	while (nheld) {
		nheld--;
		iopt_pages_unpin(pages, held[nheld].first, held[nheld].last);
	}
	CHECK(pages->nruns == 0 && pages->npinned == 0 && pinned_vm() == 0);
	CHECK(atomic_load(&sio_pages_pin_bugs) == 0);
	printf("test_pin_runs: 20000 random steps, up to %zu runs\n", max_runs);
	iopt_put_pages(pages);
}

/* One pin of a huge range is one run: a lazily pinned 64 GiB costs no per-page memory */
static void test_one_run(void)
{
	const size_t n = (64UL << 30) / PG;
	char *mem = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct iopt_pages *pages;

	CHECK(mem != MAP_FAILED);
	pages = iopt_alloc_user_pages((uintptr_t)mem, n * PG, true);
	CHECK(!IS_ERR(pages));
	CHECK(iopt_pages_pin(pages, 0, n - 1) == 0);
	CHECK(pages->nruns == 1 && pages->npinned == n && pinned_vm() == n);
	CHECK(iopt_pages_pin(pages, 5, 5) == 0);
	CHECK(pages->nruns == 3);
	iopt_pages_unpin(pages, 0, n - 1);
	CHECK(pages->nruns == 1 && pages->npinned == 1);
	iopt_pages_unpin(pages, 5, 5);
	CHECK(pages->nruns == 0 && pinned_vm() == 0);
	iopt_put_pages(pages);
	munmap(mem, n * PG);
}

static void test_bugs(char *mem)
{
	struct iopt_pages *pages = iopt_alloc_user_pages((uintptr_t)mem, NPAGES * PG, true);
	unsigned long bugs = atomic_load(&sio_pages_pin_bugs);

	/* Unpinning pages nobody pinned: reported, nothing changes, no crash */
	iopt_pages_unpin(pages, 3, 9);
	CHECK(atomic_load(&sio_pages_pin_bugs) == bugs + 1);
	CHECK(pages->nruns == 0 && pinned_vm() == 0);
	CHECK(iopt_pages_pin(pages, 10, 19) == 0);
	iopt_pages_unpin(pages, 15, 29);
	CHECK(atomic_load(&sio_pages_pin_bugs) > bugs + 1);
	CHECK(pages->npinned == 5 && pinned_vm() == 5);
	/* Pins left at the last put: reported, and the charge goes back */
	bugs = atomic_load(&sio_pages_pin_bugs);
	iopt_put_pages(pages);
	CHECK(atomic_load(&sio_pages_pin_bugs) == bugs + 1);
	CHECK(pinned_vm() == 0);
}

int main(void)
{
	char *mem = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);

	test_random(mem);
	test_one_run();
	test_bugs(mem);
	return check_done("test_pin_runs");
}
