// SPDX-License-Identifier: MIT
/*
 * The area tree (src/core/ioas/area_tree.c), white box: random inserts and removes of disjoint
 * areas, each followed by checks against a brute-force model — the in-order list, the
 * subtree gap maxima, lower_bound for random IOVAs, and run_end for random gap sizes.
 */
#include "../../src/core/sio.h"

#include "testlib.h"

#define SLOTS 600 /* area i may occupy IOVA pages [4i, 4i + 3] */

static struct iopt_area areas[SLOTS];
static bool present[SLOTS];

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Walk the tree in order, checking the BST order and the gap maxima; returns the count */
static size_t check_subtree(struct iopt_area *t, struct iopt_area **prev, bool *ok)
{
	size_t n;
	uint64_t max;

	if (!t)
		return 0;
	n = check_subtree(t->tree_left, prev, ok);
	if (*prev && (*prev)->last >= t->iova)
		*ok = false;
	if (t->gap_before != (*prev ? t->iova - (*prev)->last - 1 : t->iova))
		*ok = false;
	*prev = t;
	n += 1 + check_subtree(t->tree_right, prev, ok);
	max = t->gap_before;
	if (t->tree_left && t->tree_left->tree_max_gap > max)
		max = t->tree_left->tree_max_gap;
	if (t->tree_right && t->tree_right->tree_max_gap > max)
		max = t->tree_right->tree_max_gap;
	if (t->tree_max_gap != max)
		*ok = false;
	return n;
}

static bool check(struct io_pagetable *iopt, uint64_t *seed)
{
	struct iopt_area *prev = NULL, *a;
	bool ok = true;
	size_t n = check_subtree(iopt->area_root, &prev, &ok), i = 0, count = 0;

	for (size_t s = 0; s < SLOTS; s++)
		count += present[s];
	ok &= n == count && iopt->nareas == count;
	/* The list holds the same areas in the same order */
	iopt_for_each_area(iopt, a) {
		while (i < SLOTS && !present[i])
			i++;
		ok &= i < SLOTS && a == &areas[i];
		i++;
	}
	/* lower_bound: the first present area whose last >= iova */
	for (int k = 0; k < 20; k++) {
		uint64_t iova = rnd(seed) % (4 * SLOTS * 4096ULL + 8192);
		struct iopt_area *want = NULL;

		for (size_t s = 0; s < SLOTS && !want; s++)
			if (present[s] && areas[s].last >= iova)
				want = &areas[s];
		ok &= iopt_area_lower_bound(iopt, iova) == want;
	}
	/* run_end: from an area, the last one before the first gap of at least @gap */
	for (int k = 0; k < 20 && count; k++) {
		uint64_t gap = (rnd(seed) % 10) * 4096ULL;
		size_t s = rnd(seed) % SLOTS, e;

		while (!present[s])
			s = (s + 1) % SLOTS;
		e = s;
		for (size_t t = s + 1; t < SLOTS; t++) {
			if (!present[t])
				continue;
			if (areas[t].iova - areas[e].last - 1 >= gap)
				break;
			e = t;
		}
		ok &= iopt_area_run_end(iopt, &areas[s], gap) == &areas[e];
	}
	return ok;
}

int main(void)
{
	struct io_pagetable iopt;
	uint64_t seed = 0x1234567887654321ULL;
	int bad = 0;

	iopt_init_table(&iopt);
	for (int step = 0; step < 6000; step++) {
		size_t s = rnd(&seed) % SLOTS;

		if (present[s]) {
			iopt_areas_remove(&iopt, &areas[s]);
			present[s] = false;
		} else {
			/* One to four pages, somewhere in its slot */
			uint64_t first = 4 * s + rnd(&seed) % 2, len = 1 + rnd(&seed) % 2;

			areas[s].iova = first * 4096;
			areas[s].last = (first + len) * 4096 - 1;
			iopt_areas_insert(&iopt, &areas[s]);
			present[s] = true;
		}
		if (step % 7 == 0 || step > 5900)
			bad += !check(&iopt, &seed);
	}
	CHECK(bad == 0);
	/* Empty it again */
	for (size_t s = 0; s < SLOTS; s++)
		if (present[s]) {
			iopt_areas_remove(&iopt, &areas[s]);
			present[s] = false;
		}
	CHECK(iopt.area_root == NULL && iopt.nareas == 0 && check(&iopt, &seed));
	iopt_destroy_table(&iopt);
	return t_done();
}
