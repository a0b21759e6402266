// SPDX-License-Identifier: MIT
/*
 * The areas of an io_pagetable, ordered by IOVA: a treap (a binary search tree whose nodes
 * also form a max-heap on a pseudo-random priority, which keeps it balanced in expectation),
 * linked through the areas themselves, plus a list in the same order so that walking on from
 * an area costs O(1). Areas never overlap, so ordering by iova also orders by last, and "the
 * first area ending at or after @iova" is one descent.
 *
 * Each node also knows the free gap before it (to the previous area's end) and the largest
 * such gap in its subtree, so the IOVA allocator can jump over runs of areas packed too
 * tightly for the length it wants instead of visiting each one. Insert and remove are
 * O(log n) and allocate nothing; the caller holds iopt->lock.
 */
#include "../sio.h"

/* A priority from the node's address: a fixed permutation, good enough to balance */
static uint32_t area_prio(const struct iopt_area *area)
{
	uint64_t x = (uintptr_t)area;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return (uint32_t)(x ^ (x >> 33));
}

static uint64_t max3(uint64_t a, uint64_t b, uint64_t c)
{
	return max_t(uint64_t, a, max_t(uint64_t, b, c));
}

static void node_update(struct iopt_area *t)
{
	t->tree_max_gap = max3(t->gap_before, t->tree_left ? t->tree_left->tree_max_gap : 0,
			       t->tree_right ? t->tree_right->tree_max_gap : 0);
}

static struct iopt_area *rotate_right(struct iopt_area *t)
{
	struct iopt_area *l = t->tree_left;

	t->tree_left = l->tree_right;
	l->tree_right = t;
	node_update(t);
	node_update(l);
	return l;
}

static struct iopt_area *rotate_left(struct iopt_area *t)
{
	struct iopt_area *r = t->tree_right;

	t->tree_right = r->tree_left;
	r->tree_left = t;
	node_update(t);
	node_update(r);
	return r;
}

static struct iopt_area *treap_insert(struct iopt_area *t, struct iopt_area *n)
{
	if (!t) {
		node_update(n);
		return n;
	}
	if (n->iova < t->iova) {
		t->tree_left = treap_insert(t->tree_left, n);
		node_update(t);
		if (area_prio(t->tree_left) > area_prio(t))
			t = rotate_right(t);
	} else {
		t->tree_right = treap_insert(t->tree_right, n);
		node_update(t);
		if (area_prio(t->tree_right) > area_prio(t))
			t = rotate_left(t);
	}
	return t;
}

/* Join two treaps, every key of @a below every key of @b */
static struct iopt_area *treap_join(struct iopt_area *a, struct iopt_area *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (area_prio(a) > area_prio(b)) {
		a->tree_right = treap_join(a->tree_right, b);
		node_update(a);
		return a;
	}
	b->tree_left = treap_join(a, b->tree_left);
	node_update(b);
	return b;
}

static struct iopt_area *treap_remove(struct iopt_area *t, struct iopt_area *n)
{
	if (!t)
		return NULL;
	if (t == n)
		return treap_join(t->tree_left, t->tree_right);
	if (n->iova < t->iova)
		t->tree_left = treap_remove(t->tree_left, n);
	else
		t->tree_right = treap_remove(t->tree_right, n);
	node_update(t);
	return t;
}

/* Recompute the subtree maxima on the path from @t down to @n (its gap changed) */
static void treap_refresh(struct iopt_area *t, struct iopt_area *n)
{
	if (!t)
		return;
	if (t != n)
		treap_refresh(n->iova < t->iova ? t->tree_left : t->tree_right, n);
	node_update(t);
}

static struct iopt_area *area_prev(struct io_pagetable *iopt, struct iopt_area *area)
{
	if (area->area_item.prev == &iopt->area_list)
		return NULL;
	return list_entry(area->area_item.prev, struct iopt_area, area_item);
}

static struct iopt_area *area_next(struct io_pagetable *iopt, struct iopt_area *area)
{
	if (area->area_item.next == &iopt->area_list)
		return NULL;
	return list_entry(area->area_item.next, struct iopt_area, area_item);
}

/* The free IOVAs between @prev (NULL: the start of the space) and @area */
static uint64_t gap_between(const struct iopt_area *prev, const struct iopt_area *area)
{
	return prev ? area->iova - prev->last - 1 : area->iova;
}

static void set_gap(struct io_pagetable *iopt, struct iopt_area *area, struct iopt_area *prev)
{
	area->gap_before = gap_between(prev, area);
	treap_refresh(iopt->area_root, area);
}

void iopt_areas_insert(struct io_pagetable *iopt, struct iopt_area *area)
{
	/* Areas are disjoint: the first one ending after our start comes after us */
	struct iopt_area *next = iopt_area_lower_bound(iopt, area->iova);

	list_add_tail(&area->area_item, next ? &next->area_item : &iopt->area_list);
	area->tree_left = area->tree_right = NULL;
	area->gap_before = gap_between(area_prev(iopt, area), area);
	iopt->area_root = treap_insert(iopt->area_root, area);
	if (next)
		set_gap(iopt, next, area);
	iopt->nareas++;
}

void iopt_areas_remove(struct io_pagetable *iopt, struct iopt_area *area)
{
	struct iopt_area *prev = area_prev(iopt, area), *next = area_next(iopt, area);

	iopt->area_root = treap_remove(iopt->area_root, area);
	area->tree_left = area->tree_right = NULL;
	list_del_init(&area->area_item);
	if (next)
		set_gap(iopt, next, prev);
	iopt->nareas--;
}

/* The first area whose last >= @iova, or NULL */
struct iopt_area *iopt_area_lower_bound(struct io_pagetable *iopt, uint64_t iova)
{
	struct iopt_area *t = iopt->area_root, *found = NULL;

	while (t) {
		if (t->last < iova) {
			t = t->tree_right;
		} else {
			found = t;
			t = t->tree_left;
		}
	}
	return found;
}

/* The first area after IOVA @after whose gap before it is at least @gap, or NULL */
static struct iopt_area *first_gap_after(struct iopt_area *t, uint64_t after, uint64_t gap)
{
	struct iopt_area *found;

	if (!t || t->tree_max_gap < gap)
		return NULL;
	if (t->iova <= after)
		return first_gap_after(t->tree_right, after, gap);
	found = first_gap_after(t->tree_left, after, gap);
	if (found)
		return found;
	if (t->gap_before >= gap)
		return t;
	return first_gap_after(t->tree_right, after, gap);
}

/*
 * From @area on, the run of areas separated by gaps smaller than @gap: returns the last area
 * of the run. Nothing of @gap bytes fits anywhere inside the run.
 */
struct iopt_area *iopt_area_run_end(struct io_pagetable *iopt, struct iopt_area *area,
				    uint64_t gap)
{
	struct iopt_area *next = area_next(iopt, area);

	/* The common case, a gap right after: no descent */
	if (!next || next->gap_before >= gap)
		return area;
	next = first_gap_after(iopt->area_root, area->iova, gap);
	return next ? area_prev(iopt, next) :
		      list_entry(iopt->area_list.prev, struct iopt_area, area_item);
}

struct iopt_area *iopt_area_first(struct io_pagetable *iopt, uint64_t start, uint64_t last)
{
	struct iopt_area *area = iopt_area_lower_bound(iopt, start);

	return area && area->iova <= last ? area : NULL;
}

struct iopt_area *iopt_area_next(struct io_pagetable *iopt, struct iopt_area *area,
				 uint64_t start, uint64_t last)
{
	(void)start;
	area = area_next(iopt, area);
	return area && area->iova <= last ? area : NULL;
}
