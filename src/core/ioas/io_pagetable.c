// SPDX-License-Identifier: MIT
/*
 * io_pagetable: IOVA areas, allowed and reserved ranges, and the domains that mirror the
 * areas. See io_pagetable.h for the invariants. One rwlock (iopt->lock) covers the whole
 * table, written by all but access copies; it is never held while calling out to an
 * access's unmap callback.
 *
 * IOVA allocation follows Linux's policy, which clients observe: the lowest hole (above
 * PAGE_SIZE, below the top page) of the allowed ranges that is free of areas and reserved
 * ranges and fits the length at an alignment of min(roundup_pow_of_two(length), alignment of
 * the backing address), capped at the huge page size.
 */
#include <linux/iommufd.h>

#include "../sio.h"
#include "../fail.h"

#define SIO_HPAGE_SIZE (2UL << 20)

void iopt_init_table(struct io_pagetable *iopt)
{
	memset(iopt, 0, sizeof(*iopt));
	sio_rwlock_init_writer_first(&iopt->lock, SIO_LOCK_IOPT);
	INIT_LIST_HEAD(&iopt->area_list);
	iopt->iova_alignment = 1;
}

void iopt_destroy_table(struct io_pagetable *iopt)
{
	/* Test reservations (owner NULL) go with the table; everything else must be gone */
	iopt_remove_reserved_iova(iopt, NULL);
	sio_free(iopt->allowed);
	sio_free(iopt->reserved);
	sio_free(iopt->domains);
	sio_free(iopt->accesses);
	pthread_rwlock_destroy(&iopt->lock);
}

static bool reserved_overlaps(struct io_pagetable *iopt, uint64_t start, uint64_t last)
{
	for (size_t i = 0; i != iopt->nreserved; i++)
		if (iopt->reserved[i].start <= last && iopt->reserved[i].last >= start)
			return true;
	return false;
}

static bool allowed_overlaps(struct io_pagetable *iopt, uint64_t start, uint64_t last)
{
	for (size_t i = 0; i != iopt->nallowed; i++)
		if (iopt->allowed[i].start <= last && iopt->allowed[i].last >= start)
			return true;
	return false;
}

static int range_cmp(const void *a, const void *b)
{
	const struct iopt_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * What is "used" for IOVA allocation, in order of start: the areas (sorted, disjoint) merged
 * with a sorted copy of the reserved ranges (few; they may overlap). Spans may overlap or
 * touch; the hole walk below copes. A run of areas whose gaps are all too small for the
 * length comes out as one span (the area tree finds where it ends), so an allocation costs
 * the holes it has to look at, not the areas it passes.
 */
struct used_iter {
	struct io_pagetable *iopt;
	struct iopt_area *area;
	uint64_t length; /* runs of areas with gaps below this count as one span */
	const struct iopt_range *res;
	size_t nres, r;
};

static bool used_next(struct used_iter *it, struct iopt_range *span)
{
	bool have_res = it->r != it->nres;

	if (it->area && (!have_res || it->area->iova <= it->res[it->r].start)) {
		struct iopt_area *end = iopt_area_run_end(it->iopt, it->area, it->length);

		*span = (struct iopt_range){ it->area->iova, end->last };
		it->area = iopt_area_next(it->iopt, end, 0, UINT64_MAX);
		return true;
	}
	if (have_res) {
		*span = it->res[it->r++];
		return true;
	}
	return false;
}

/* Align *start up for an allocation of @length; false when it does not fit by @last */
static bool alloc_check_range(uint64_t *start, uint64_t last, uint64_t length,
			      uint64_t iova_alignment, uint64_t page_offset)
{
	uint64_t aligned;

	if (check_add_overflow(*start, iova_alignment - 1, &aligned))
		return false;
	aligned &= ~(iova_alignment - 1);
	aligned |= page_offset;
	if (aligned >= last || last - aligned < length - 1)
		return false;
	*start = aligned;
	return true;
}

static int iopt_alloc_iova(struct io_pagetable *iopt, uint64_t *iova, uint64_t addr,
			   uint64_t length)
{
	uint64_t page_offset = addr % SIO_PAGE_SIZE;
	const uint64_t lo = SIO_PAGE_SIZE, hi = UINT64_MAX - SIO_PAGE_SIZE;
	uint64_t iova_alignment;
	struct iopt_range whole = { lo, hi }, *allowed, *res;
	size_t nallowed;

	if (length == 0 || length >= UINT64_MAX / 2)
		return -EOVERFLOW;
	if (!addr)
		iova_alignment = roundup_pow_of_two(length);
	else
		iova_alignment = min_t(uint64_t, roundup_pow_of_two(length),
				       1ULL << sio_ffs64(addr));
	if (iova_alignment >= SIO_HPAGE_SIZE)
		iova_alignment = SIO_HPAGE_SIZE;
	if (iova_alignment < iopt->iova_alignment)
		return -EINVAL;

	res = sio_calloc(iopt->nreserved + 1, sizeof(*res));
	if (!res)
		return -ENOMEM;
	if (iopt->nreserved) {
		memcpy(res, iopt->reserved, iopt->nreserved * sizeof(*res));
		qsort(res, iopt->nreserved, sizeof(*res), range_cmp);
	}
	/*
	 * Linux walks the allowed ranges as spans of its interval tree: in order, and ranges
	 * that touch are one span (a hole may straddle the boundary of two ALLOW_IOVAS ranges).
	 */
	allowed = &whole;
	nallowed = 1;
	if (iopt->nallowed) {
		allowed = sio_calloc(iopt->nallowed, sizeof(*allowed));
		if (!allowed) {
			sio_free(res);
			return -ENOMEM;
		}
		memcpy(allowed, iopt->allowed, iopt->nallowed * sizeof(*allowed));
		qsort(allowed, iopt->nallowed, sizeof(*allowed), range_cmp);
		nallowed = 1;
		for (size_t a = 1; a != iopt->nallowed; a++) {
			if (allowed[a].start <= allowed[nallowed - 1].last + 1)
				allowed[nallowed - 1].last = max_t(uint64_t, allowed[nallowed - 1].last,
								   allowed[a].last);
			else
				allowed[nallowed++] = allowed[a];
		}
	}
	for (size_t a = 0; a != nallowed; a++) {
		uint64_t astart = max_t(uint64_t, allowed[a].start, lo);
		uint64_t alast = min_t(uint64_t, allowed[a].last, hi);
		struct used_iter it = { .iopt = iopt, .length = length, .res = res,
					 .nres = iopt->nreserved };
		struct iopt_range span;
		uint64_t hole_start;
		bool covered = false;

		if (astart > alast ||
		    !alloc_check_range(&astart, alast, length, iova_alignment, page_offset))
			continue;
		/* Walk the holes between the used spans inside [astart, alast] */
		hole_start = astart;
		it.area = iopt_area_lower_bound(iopt, astart);
		while (used_next(&it, &span)) {
			if (span.last < hole_start)
				continue;
			if (span.start > alast)
				break;
			if (span.start > hole_start &&
			    alloc_check_range(&hole_start, span.start - 1, length, iova_alignment,
					      page_offset)) {
				*iova = hole_start;
				goto out_found;
			}
			if (span.last >= alast) {
				covered = true;
				break;
			}
			hole_start = max_t(uint64_t, hole_start, span.last + 1);
		}
		if (!covered &&
		    alloc_check_range(&hole_start, alast, length, iova_alignment, page_offset)) {
			*iova = hole_start;
			goto out_found;
		}
	}
	if (allowed != &whole)
		sio_free(allowed);
	sio_free(res);
	return -ENOSPC;
out_found:
	if (allowed != &whole)
		sio_free(allowed);
	sio_free(res);
	return 0;
}

static int iopt_check_iova(struct io_pagetable *iopt, uint64_t iova, uint64_t length)
{
	uint64_t last;

	if (iova & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (reserved_overlaps(iopt, iova, last))
		return -EINVAL;
	if (iopt_area_first(iopt, iova, last))
		return -EEXIST;
	return 0;
}

/* The address the client named for page 0 of @pages: a user VA or a file offset */
static uint64_t iopt_pages_source_addr(const struct iopt_pages *pages)
{
	return pages->type == IOPT_ADDRESS_USER ? pages->uptr : pages->file_start;
}

static uint64_t iopt_domain_pgsizes(struct io_pagetable *iopt, struct sio_domain *domain)
{
	uint64_t pgsizes = domain->pgsize_bitmap;

	/* Type1 v0 compatibility: no IOPTE larger than a CPU page, so any unmap can split */
	if (iopt->disable_large_pages)
		pgsizes &= (SIO_PAGE_SIZE << 1) - 1;
	return pgsizes;
}

/*
 * Map @area into @domain at the pages' host addresses: one call, unless pinned pages of
 * user memory were moved (keep.c), then one per contiguous piece.
 */
static int area_map_pieces(struct io_pagetable *iopt, struct iopt_area *area,
			   struct sio_domain *domain)
{
	uint64_t iova = area->iova, byte = area->start_byte, end = byte + iopt_area_length(area);
	struct iopt_pages *pages = area->pages;
	int rc = 0;

	if (pages->type != IOPT_ADDRESS_USER)
		return domain->ops->map(domain, iova, iopt_pages_pa(pages, byte),
					iopt_area_length(area), area->iommu_prot,
					iopt_domain_pgsizes(iopt, domain));
	pthread_mutex_lock(&pages->mutex);
	while (!rc && byte < end) {
		size_t idx = byte / SIO_PAGE_SIZE, run_last;
		uint64_t host = __iopt_pages_host(pages, idx, (end - 1) / SIO_PAGE_SIZE, &run_last);
		uint64_t n = min_t(uint64_t, end, (run_last + 1) * SIO_PAGE_SIZE) - byte;

		rc = sio_domain_map_mm(domain, iova, pages->mm, host + byte % SIO_PAGE_SIZE, n,
				       area->iommu_prot, iopt_domain_pgsizes(iopt, domain));
		iova += n;
		byte += n;
	}
	pthread_mutex_unlock(&pages->mutex);
	if (rc && iova != area->iova)
		domain->ops->unmap(domain, area->iova, iova - area->iova);
	return rc;
}

static int area_map_domain(struct io_pagetable *iopt, struct iopt_area *area,
			   struct sio_domain *domain)
{
	if (sio_should_fail())
		return -ENOMEM;
	return area_map_pieces(iopt, area, domain);
}

/**
 * iopt_area_repoint() - map @area into every domain again, where its pages are now
 *
 * For keep.c, after pinned pages moved: iopt->lock held, and every domain's dma_lock held
 * for writing, so no DMA sees the area half done. An IOTLB must treat this as the unmap and
 * map it is. Return: 0, or the first error (the area is then left out of that domain: a
 * DMA faults rather than reach the old address).
 */
int iopt_area_repoint(struct io_pagetable *iopt, struct iopt_area *area)
{
	int rc = 0;

	if (!area->filled)
		return 0;
	for (size_t i = 0; i != iopt->ndomains; i++) {
		struct sio_domain *domain = iopt->domains[i];
		int err;

		domain->ops->unmap(domain, area->iova, iopt_area_length(area));
		err = area_map_pieces(iopt, area, domain);
		if (err && !rc)
			rc = err;
	}
	return rc;
}

/*
 * No DMA may be walking @domain's tables while they shrink (the walk frees nothing it
 * reads), and none may use a cached translation of the range once this returns, before the
 * caller unpins (see src/dma/epoch.c)
 */
static void area_unmap_domain(struct iopt_area *area, struct sio_domain *domain)
{
	pthread_rwlock_wrlock(&domain->dma_lock);
	domain->ops->unmap(domain, area->iova, iopt_area_length(area));
	pthread_rwlock_unlock(&domain->dma_lock);
	sio_iotlb_invalidate_range(&domain->iotlb, area->iova, iopt_area_length(area));
}

/* Pin an area's pages and map it into every domain; all or nothing */
static int iopt_area_fill_domains(struct io_pagetable *iopt, struct iopt_area *area)
{
	size_t i;
	int rc;

	if (!iopt->ndomains || __atomic_load_n(&area->pages->revoked, __ATOMIC_ACQUIRE))
		return 0;
	rc = iopt_pages_pin(area->pages, iopt_area_first_index(area), iopt_area_last_index(area));
	if (rc)
		return rc;
	for (i = 0; i != iopt->ndomains; i++) {
		rc = area_map_domain(iopt, area, iopt->domains[i]);
		if (rc)
			goto err_unmap;
	}
	area->filled = true;
	return 0;
err_unmap:
	while (i--)
		area_unmap_domain(area, iopt->domains[i]);
	iopt_pages_unpin(area->pages, iopt_area_first_index(area), iopt_area_last_index(area));
	return rc;
}

static void iopt_area_unfill_domains(struct io_pagetable *iopt, struct iopt_area *area)
{
	if (!area->filled)
		return;
	for (size_t i = 0; i != iopt->ndomains; i++)
		area_unmap_domain(area, iopt->domains[i]);
	iopt_pages_unpin(area->pages, iopt_area_first_index(area), iopt_area_last_index(area));
	area->filled = false;
}

struct iopt_pages_elm {
	struct iopt_pages *pages;
	uint64_t start_byte;
	uint64_t length;
};

/*
 * Map a list of page slices contiguously at *dst_iova (allocated when IOPT_ALLOC_IOVA).
 * Areas take their own references on the pages.
 */
static int iopt_map_pages(struct io_pagetable *iopt, struct iopt_pages_elm *elms, size_t nelm,
			  uint64_t length, uint64_t *dst_iova, int iommu_prot, unsigned int flags)
{
	struct iopt_area **new_areas;
	uint64_t iova;
	size_t i, nfilled = 0;
	int rc;

	new_areas = sio_calloc(nelm, sizeof(*new_areas));
	if (!new_areas)
		return -ENOMEM;
	for (i = 0; i != nelm; i++) {
		new_areas[i] = sio_zalloc(sizeof(**new_areas));
		if (!new_areas[i]) {
			rc = -ENOMEM;
			goto out_free;
		}
	}

	pthread_rwlock_wrlock(&iopt->lock);
	if ((length & (iopt->iova_alignment - 1)) || !length) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (flags & IOPT_ALLOC_IOVA)
		rc = iopt_alloc_iova(iopt, dst_iova, iopt_pages_source_addr(elms[0].pages) +
							     elms[0].start_byte, length);
	else
		rc = iopt_check_iova(iopt, *dst_iova, length);
	if (rc)
		goto out_unlock;
	iova = *dst_iova;
	for (i = 0; i != nelm; i++) {
		struct iopt_area *area = new_areas[i];

		if ((iommu_prot & SIO_PROT_WRITE) && !elms[i].pages->writable) {
			rc = -EPERM;
			goto out_unlock;
		}
		if ((elms[i].start_byte % SIO_PAGE_SIZE) & (iopt->iova_alignment - 1)) {
			rc = -EINVAL;
			goto out_unlock;
		}
		if (check_add_overflow(iova, elms[i].length - 1, &area->last)) {
			rc = -EOVERFLOW;
			goto out_unlock;
		}
		area->iova = iova;
		area->iommu_prot = iommu_prot;
		area->start_byte = elms[i].start_byte;
		area->pages = elms[i].pages;
		area->iopt = iopt;
		iova += elms[i].length;
	}
	/*
	 * On the pages' area list before anything is pinned: keep.c finds every table that
	 * can pin or unpin the pages through it, and waits for this one's lock.
	 */
	for (i = 0; i != nelm; i++)
		iopt_pages_add_area(new_areas[i]->pages, new_areas[i]);
	for (nfilled = 0; nfilled != nelm; nfilled++) {
		rc = iopt_area_fill_domains(iopt, new_areas[nfilled]);
		if (rc)
			goto out_unfill;
	}
	for (i = 0; i != nelm; i++) {
		if (new_areas[i]->pages->type == IOPT_ADDRESS_DMABUF) {
			rc = sio_dmabuf_track_area(new_areas[i]->pages, new_areas[i]);
			if (rc) {
				while (i--)
					if (new_areas[i]->pages->type == IOPT_ADDRESS_DMABUF)
						sio_dmabuf_untrack_area(new_areas[i]->pages,
									new_areas[i]);
				nfilled = nelm;
				goto out_unfill;
			}
		}
	}
	for (i = 0; i != nelm; i++) {
		iopt_get_pages(new_areas[i]->pages);
		iopt_areas_insert(iopt, new_areas[i]);
		new_areas[i] = NULL;
	}
	pthread_rwlock_unlock(&iopt->lock);
	sio_free(new_areas);
	return 0;

out_unfill:
	while (nfilled--)
		iopt_area_unfill_domains(iopt, new_areas[nfilled]);
	for (i = 0; i != nelm; i++)
		iopt_pages_del_area(new_areas[i]->pages, new_areas[i]);
out_unlock:
	pthread_rwlock_unlock(&iopt->lock);
out_free:
	for (i = 0; i != nelm; i++)
		sio_free(new_areas[i]);
	sio_free(new_areas);
	return rc;
}

static bool iopt_has_domains(struct io_pagetable *iopt)
{
	bool any;

	pthread_rwlock_wrlock(&iopt->lock);
	any = iopt->ndomains;
	pthread_rwlock_unlock(&iopt->lock);
	return any;
}

static void account_mode_upgrade(struct sio_ctx *ctx, struct iopt_pages *pages)
{
	if (ctx->account_mode == IOPT_PAGES_ACCOUNT_MM &&
	    pages->account_mode == IOPT_PAGES_ACCOUNT_USER)
		pages->account_mode = IOPT_PAGES_ACCOUNT_MM;
}

int iopt_map_user_pages(struct sio_ctx *ctx, struct io_pagetable *iopt, uint64_t *iova,
			uint64_t uptr, uint64_t length, int iommu_prot, unsigned int flags)
{
	struct iopt_pages_elm elm;
	struct iopt_pages *pages;
	int rc;

	pages = iopt_alloc_user_pages(uptr, length, iommu_prot & SIO_PROT_WRITE);
	if (IS_ERR(pages))
		return PTR_ERR(pages);
	account_mode_upgrade(ctx, pages);
	/*
	 * The eager pin mode faults the range in before the table is locked, so the lock is
	 * not held for the page walk; the pin under it then only checks. A failure here is
	 * the pin's to report (with the errno order of the map).
	 */
	if (sio_pin_eager() && iopt_has_domains(iopt) &&
	    !sio_user_range_probe(uptr, length, iommu_prot & SIO_PROT_WRITE))
		pages->prepopulated = true;
	elm = (struct iopt_pages_elm){ pages, uptr - pages->uptr, length };
	rc = iopt_map_pages(iopt, &elm, 1, length, iova, iommu_prot, flags);
	iopt_put_pages(pages);
	return rc;
}

int iopt_map_file_pages(struct sio_ctx *ctx, struct io_pagetable *iopt, uint64_t *iova, int fd,
			uint64_t start, uint64_t length, int iommu_prot, unsigned int flags)
{
	struct iopt_pages_elm elm;
	struct iopt_pages *pages;
	uint64_t last;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(start, length - 1, &last))
		return -EOVERFLOW;
	pages = sio_dmabuf_alloc_pages(fd, start, length, iommu_prot & SIO_PROT_WRITE, &rc);
	if (!pages && !rc)
		pages = iopt_alloc_file_pages(fd, start, length, iommu_prot & SIO_PROT_WRITE);
	else if (!pages)
		return rc;
	if (IS_ERR(pages))
		return PTR_ERR(pages);
	account_mode_upgrade(ctx, pages);
	elm = (struct iopt_pages_elm){ pages, start % SIO_PAGE_SIZE, length };
	rc = iopt_map_pages(iopt, &elm, 1, length, iova, iommu_prot, flags);
	iopt_put_pages(pages);
	return rc;
}

/* The pages behind a range of an IOAS, held between the two halves of IOAS_COPY */
struct iopt_pages_list {
	struct iopt_pages_elm *elms;
	size_t n;
	uint64_t length;
};

void iopt_free_pages_list(struct iopt_pages_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i != list->n; i++)
		iopt_put_pages(list->elms[i].pages);
	sio_free(list->elms);
	sio_free(list);
}

/*
 * IOAS_COPY, first half (Linux's iopt_get_pages): take a reference on the pages behind
 * [@iova, +@length) of @src, which must be mapped without a hole. EINVAL for an empty range,
 * EOVERFLOW, ENOENT; all before the destination IOAS is even looked up.
 */
int iopt_get_pages_list(struct io_pagetable *src, uint64_t iova, uint64_t length,
			struct iopt_pages_list **out)
{
	struct iopt_pages_list *list;
	struct iopt_area *area;
	uint64_t last_iova, cur;
	bool covered = false;
	size_t cap = 0;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last_iova))
		return -EOVERFLOW;
	list = sio_zalloc(sizeof(*list));
	if (!list)
		return -ENOMEM;
	list->length = length;

	pthread_rwlock_wrlock(&src->lock);
	cur = iova;
	area = iopt_area_first(src, cur, cur);
	while (area && area->iova <= cur) {
		uint64_t last = min_t(uint64_t, last_iova, area->last);

		if (list->n == cap) {
			struct iopt_pages_elm *ne;

			cap = cap ? cap * 2 : 4;
			ne = sio_realloc_array(list->elms, cap, sizeof(*ne));
			if (!ne) {
				rc = -ENOMEM;
				break;
			}
			list->elms = ne;
		}
		list->elms[list->n].pages = area->pages;
		list->elms[list->n].start_byte = iopt_area_start_byte(area, cur);
		list->elms[list->n].length = last - cur + 1;
		iopt_get_pages(area->pages);
		list->n++;
		if (last == last_iova) {
			covered = true;
			break;
		}
		cur = last + 1;
		area = iopt_area_first(src, cur, cur);
	}
	/* a hole anywhere, the last byte included, is ENOENT */
	if (!rc && !covered)
		rc = -ENOENT;
	pthread_rwlock_unlock(&src->lock);
	if (rc) {
		iopt_free_pages_list(list);
		return rc;
	}
	*out = list;
	return 0;
}

/* IOAS_COPY, second half: map what iopt_get_pages_list() took into @dst */
int iopt_map_pages_list(struct io_pagetable *dst, struct iopt_pages_list *list,
			uint64_t *dst_iova, int iommu_prot, unsigned int flags)
{
	return iopt_map_pages(dst, list->elms, list->n, list->length, dst_iova, iommu_prot,
			      flags);
}

static void iopt_area_destroy(struct io_pagetable *iopt, struct iopt_area *area)
{
	if (area->pages->type == IOPT_ADDRESS_DMABUF)
		sio_dmabuf_untrack_area(area->pages, area);
	iopt_area_unfill_domains(iopt, area);
	iopt_areas_remove(iopt, area);
	iopt_pages_del_area(area->pages, area);
	iopt_put_pages(area->pages);
	sio_free(area);
}

static int iopt_unmap_iova_range(struct io_pagetable *iopt, uint64_t start, uint64_t last,
				 uint64_t *unmapped)
{
	uint64_t unmapped_bytes = 0;
	unsigned int tries = 0;
	struct iopt_area *area;
	int rc = 0;

again:
	pthread_rwlock_wrlock(&iopt->lock);
	while ((area = iopt_area_first(iopt, start, last))) {
		uint64_t area_first = area->iova, area_last = area->last;

		if (area->num_locks) {
			rc = -EBUSY;
			break;
		}
		if (area_first < start || area_last > last) {
			rc = -ENOENT;
			break;
		}
		if (area_first != start)
			tries = 0;
		if (area->num_accesses) {
			uint64_t length = iopt_area_length(area);

			start = area_first;
			area->prevent_access = true;
			pthread_rwlock_unlock(&iopt->lock);
			sio_access_notify_unmap(iopt, area_first, length);
			if (++tries > 100) {
				rc = -EDEADLK;
				goto out;
			}
			goto again;
		}
		iopt_area_destroy(iopt, area);
		unmapped_bytes += area_last - area_first + 1;
		if (area_last >= last)
			break;
		start = area_last + 1;
	}
	pthread_rwlock_unlock(&iopt->lock);
out:
	if (unmapped)
		*unmapped = unmapped_bytes;
	return rc;
}

int iopt_unmap_iova(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
		    uint64_t *unmapped)
{
	uint64_t last;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	return iopt_unmap_iova_range(iopt, iova, last, unmapped);
}

int iopt_unmap_all(struct io_pagetable *iopt, uint64_t *unmapped)
{
	return iopt_unmap_iova_range(iopt, 0, UINT64_MAX, unmapped);
}

/* Replace the allowed ranges; @ranges must be sorted and disjoint (the caller checks) */
int iopt_set_allow_iova(struct io_pagetable *iopt, struct iopt_range *ranges, size_t n)
{
	struct iopt_range *copy = NULL;

	if (n) {
		copy = sio_calloc(n, sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, ranges, n * sizeof(*copy));
		qsort(copy, n, sizeof(*copy), range_cmp);
	}
	pthread_rwlock_wrlock(&iopt->lock);
	for (size_t i = 0; i != n; i++) {
		if (reserved_overlaps(iopt, copy[i].start, copy[i].last)) {
			pthread_rwlock_unlock(&iopt->lock);
			sio_free(copy);
			return -EADDRINUSE;
		}
	}
	sio_free(iopt->allowed);
	iopt->allowed = copy;
	iopt->nallowed = n;
	pthread_rwlock_unlock(&iopt->lock);
	return 0;
}

static int __iopt_reserve_iova(struct io_pagetable *iopt, uint64_t start, uint64_t last,
			       void *owner)
{
	struct iopt_range *n;

	if (iopt_area_first(iopt, start, last) || allowed_overlaps(iopt, start, last))
		return -EADDRINUSE;
	n = sio_realloc_array(iopt->reserved, iopt->nreserved + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	iopt->reserved = n;
	n[iopt->nreserved++] = (struct iopt_range){ start, last, owner };
	return 0;
}

static void __iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	size_t j = 0;

	for (size_t i = 0; i != iopt->nreserved; i++)
		if (iopt->reserved[i].owner != owner)
			iopt->reserved[j++] = iopt->reserved[i];
	iopt->nreserved = j;
}

int iopt_reserve_iova(struct io_pagetable *iopt, uint64_t start, uint64_t last, void *owner)
{
	int rc;

	pthread_rwlock_wrlock(&iopt->lock);
	rc = __iopt_reserve_iova(iopt, start, last, owner);
	pthread_rwlock_unlock(&iopt->lock);
	return rc;
}

void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	pthread_rwlock_wrlock(&iopt->lock);
	__iopt_remove_reserved_iova(iopt, owner);
	pthread_rwlock_unlock(&iopt->lock);
}

/*
 * The usable IOVA ranges: holes between the reserved ranges (IOAS_IOVA_RANGES).
 * Return: how many there are (the first @max are in @out), or -ENOMEM.
 */
ssize_t iopt_iova_ranges(struct io_pagetable *iopt, struct iopt_range *out, size_t max)
{
	struct iopt_range on_stack[16], *r = on_stack;
	uint64_t next = 0;
	size_t n = 0, m;
	bool done = false;

	pthread_rwlock_wrlock(&iopt->lock);
	m = iopt->nreserved;
	/* A few reserved ranges are the rule: sort them on the stack */
	if (m + 1 > ARRAY_SIZE(on_stack))
		r = sio_calloc(m + 1, sizeof(*r));
	if (!r) {
		pthread_rwlock_unlock(&iopt->lock);
		return -ENOMEM;
	}
	if (m)
		memcpy(r, iopt->reserved, m * sizeof(*r));
	pthread_rwlock_unlock(&iopt->lock);
	qsort(r, m, sizeof(*r), range_cmp);
	for (size_t i = 0; i != m && !done; i++) {
		if (r[i].last < next)
			continue;
		if (r[i].start > next) {
			if (n < max)
				out[n] = (struct iopt_range){ next, r[i].start - 1 };
			n++;
		}
		if (r[i].last == UINT64_MAX)
			done = true;
		else if (r[i].last + 1 > next)
			next = r[i].last + 1;
	}
	if (!done) {
		if (n < max)
			out[n] = (struct iopt_range){ next, UINT64_MAX };
		n++;
	}
	if (r != on_stack)
		sio_free(r);
	return n;
}

static int iopt_check_iova_alignment(struct io_pagetable *iopt, uint64_t new_alignment)
{
	uint64_t mask = new_alignment - 1;
	struct iopt_area *area;

	iopt_for_each_area(iopt, area) {
		if ((area->iova & mask) || (iopt_area_length(area) & mask) ||
		    ((area->start_byte % SIO_PAGE_SIZE) & mask))
			return -EADDRINUSE;
	}
	return 0;
}

static int iopt_calculate_iova_alignment(struct io_pagetable *iopt)
{
	uint64_t align = iopt->disable_large_pages ? SIO_PAGE_SIZE : 1;
	int rc;

	for (size_t i = 0; i != iopt->ndomains; i++)
		align = max_t(uint64_t, align, 1ULL << sio_ffs64(iopt->domains[i]->pgsize_bitmap));
	for (size_t i = 0; i != iopt->naccesses; i++)
		align = max_t(uint64_t, align, iopt->accesses[i].access->iova_alignment);
	if (align > iopt->iova_alignment) {
		rc = iopt_check_iova_alignment(iopt, align);
		if (rc)
			return rc;
	}
	iopt->iova_alignment = align;
	return 0;
}

/* Map every area into a new domain (pinning them when it is the first); all or nothing */
static int iopt_fill_domain(struct io_pagetable *iopt, struct sio_domain *domain)
{
	bool first = iopt->ndomains == 0;
	struct iopt_area *area, *bad;
	int rc = 0;

	iopt_for_each_area(iopt, area) {
		/* A revoked dmabuf stays out of every domain */
		if (__atomic_load_n(&area->pages->revoked, __ATOMIC_ACQUIRE))
			continue;
		if (first) {
			rc = iopt_pages_pin(area->pages, iopt_area_first_index(area),
					    iopt_area_last_index(area));
			if (rc)
				goto err;
		}
		rc = area_map_domain(iopt, area, domain);
		if (rc) {
			if (first)
				iopt_pages_unpin(area->pages, iopt_area_first_index(area),
						 iopt_area_last_index(area));
			goto err;
		}
		if (first)
			area->filled = true;
	}
	return 0;
err:
	/* Undo the areas before the one that failed */
	bad = area;
	for (area = iopt_area_first(iopt, 0, UINT64_MAX); area != bad;
	     area = iopt_area_next(iopt, area, 0, UINT64_MAX)) {
		if (!area->filled)
			continue;
		area_unmap_domain(area, domain);
		if (first) {
			iopt_pages_unpin(area->pages, iopt_area_first_index(area),
					 iopt_area_last_index(area));
			area->filled = false;
		}
	}
	return rc;
}

int iopt_table_add_domain(struct io_pagetable *iopt, struct sio_domain *domain)
{
	struct sio_domain **domains;
	uint64_t new_alignment;
	int rc;

	pthread_rwlock_wrlock(&iopt->lock);
	for (size_t i = 0; i != iopt->ndomains; i++) {
		if (iopt->domains[i] == domain) {
			rc = -EEXIST;
			goto out_unlock;
		}
	}
	new_alignment = max_t(uint64_t, 1ULL << sio_ffs64(domain->pgsize_bitmap),
			      iopt->iova_alignment);
	if (new_alignment > SIO_PAGE_SIZE) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (new_alignment != iopt->iova_alignment) {
		rc = iopt_check_iova_alignment(iopt, new_alignment);
		if (rc)
			goto out_unlock;
	}
	if (domain->aperture_start != 0) {
		rc = __iopt_reserve_iova(iopt, 0, domain->aperture_start - 1, domain);
		if (rc)
			goto out_reserved;
	}
	if (domain->aperture_end != UINT64_MAX) {
		rc = __iopt_reserve_iova(iopt, domain->aperture_end + 1, UINT64_MAX, domain);
		if (rc)
			goto out_reserved;
	}
	domains = sio_realloc_array(iopt->domains, iopt->ndomains + 1, sizeof(*domains));
	if (!domains) {
		rc = -ENOMEM;
		goto out_reserved;
	}
	iopt->domains = domains;
	rc = iopt_fill_domain(iopt, domain);
	if (rc)
		goto out_reserved;
	iopt->iova_alignment = new_alignment;
	iopt->domains[iopt->ndomains++] = domain;
	pthread_rwlock_unlock(&iopt->lock);
	return 0;
out_reserved:
	__iopt_remove_reserved_iova(iopt, domain);
out_unlock:
	pthread_rwlock_unlock(&iopt->lock);
	return rc;
}

void iopt_table_remove_domain(struct io_pagetable *iopt, struct sio_domain *domain)
{
	struct iopt_area *area;
	size_t i;

	pthread_rwlock_wrlock(&iopt->lock);
	for (i = 0; i != iopt->ndomains && iopt->domains[i] != domain; i++)
		;
	if (i == iopt->ndomains)
		goto out;
	iopt->domains[i] = iopt->domains[--iopt->ndomains];
	iopt_for_each_area(iopt, area) {
		if (!area->filled)
			continue;
		area_unmap_domain(area, domain);
		if (!iopt->ndomains) {
			iopt_pages_unpin(area->pages, iopt_area_first_index(area),
					 iopt_area_last_index(area));
			area->filled = false;
		}
	}
	__iopt_remove_reserved_iova(iopt, domain);
	iopt_calculate_iova_alignment(iopt);
out:
	pthread_rwlock_unlock(&iopt->lock);
}

/* Split @area so that @iova is its last byte (VFIO type1 v0 unmap of part of a mapping) */
static int iopt_area_split(struct io_pagetable *iopt, struct iopt_area *area, uint64_t iova)
{
	uint64_t new_start = iova + 1, align = iopt->iova_alignment;
	struct iopt_area *rhs;
	size_t lhs_last_idx, rhs_first_idx;
	int rc;

	if (iova == area->iova || iova == area->last)
		return 0;
	if (!area->pages || area->prevent_access)
		return -EBUSY;
	if (area->pages->type == IOPT_ADDRESS_DMABUF)
		return -EOPNOTSUPP;
	if ((new_start & (align - 1)) || (iopt_area_start_byte(area, new_start) & (align - 1)))
		return -EINVAL;
	if (area->num_accesses)
		return -EINVAL;
	if (area->filled && !iopt->disable_large_pages)
		return -EINVAL;
	rhs = sio_zalloc(sizeof(*rhs));
	if (!rhs)
		return -ENOMEM;
	*rhs = *area;
	rhs->iova = new_start;
	rhs->start_byte = iopt_area_start_byte(area, new_start);
	lhs_last_idx = (area->start_byte + (new_start - area->iova) - 1) / SIO_PAGE_SIZE;
	rhs_first_idx = iopt_area_first_index(rhs);
	if (area->filled) {
		/*
		 * Each half unpins its own pages later: both now hold the page they share, or,
		 * cut on a page boundary, the one pin becomes two
		 */
		if (lhs_last_idx == rhs_first_idx)
			rc = iopt_pages_pin(area->pages, rhs_first_idx, rhs_first_idx);
		else
			rc = iopt_pages_split_pin(area->pages);
		if (rc) {
			sio_free(rhs);
			return rc;
		}
	}
	area->last = iova;
	iopt_get_pages(rhs->pages);
	iopt_areas_insert(iopt, rhs);
	iopt_pages_add_area(rhs->pages, rhs);
	return 0;
}

int iopt_cut_iova(struct io_pagetable *iopt, uint64_t *iovas, size_t num)
{
	int rc = 0;

	pthread_rwlock_wrlock(&iopt->lock);
	for (size_t i = 0; i < num; i++) {
		struct iopt_area *area = iopt_area_first(iopt, iovas[i], iovas[i]);

		if (!area)
			continue;
		rc = iopt_area_split(iopt, area, iovas[i]);
		if (rc)
			break;
	}
	pthread_rwlock_unlock(&iopt->lock);
	return rc;
}

void iopt_enable_large_pages(struct io_pagetable *iopt)
{
	pthread_rwlock_wrlock(&iopt->lock);
	__atomic_store_n(&iopt->disable_large_pages, false, __ATOMIC_RELAXED);
	iopt_calculate_iova_alignment(iopt);
	pthread_rwlock_unlock(&iopt->lock);
}

int iopt_disable_large_pages(struct io_pagetable *iopt)
{
	int rc = 0;

	pthread_rwlock_wrlock(&iopt->lock);
	if (iopt->disable_large_pages)
		goto out;
	if (iopt->ndomains && iopt->nareas) {
		rc = -EINVAL;
		goto out;
	}
	__atomic_store_n(&iopt->disable_large_pages, true, __ATOMIC_RELAXED);
	rc = iopt_calculate_iova_alignment(iopt);
	if (rc)
		__atomic_store_n(&iopt->disable_large_pages, false, __ATOMIC_RELAXED);
out:
	pthread_rwlock_unlock(&iopt->lock);
	return rc;
}

int iopt_add_access(struct io_pagetable *iopt, struct sio_access *access)
{
	struct iopt_access_ent *n;
	int rc;

	pthread_rwlock_wrlock(&iopt->lock);
	n = sio_realloc_array(iopt->accesses, iopt->naccesses + 1, sizeof(*n));
	if (!n) {
		rc = -ENOMEM;
		goto out;
	}
	iopt->accesses = n;
	n[iopt->naccesses] = (struct iopt_access_ent){ access, iopt->next_access_id };
	iopt->naccesses++;
	rc = iopt_calculate_iova_alignment(iopt);
	if (rc) {
		iopt->naccesses--;
		goto out;
	}
	access->iopt_access_list_id = iopt->next_access_id++;
out:
	pthread_rwlock_unlock(&iopt->lock);
	return rc;
}

void iopt_remove_access(struct io_pagetable *iopt, struct sio_access *access, uint32_t id)
{
	pthread_rwlock_wrlock(&iopt->lock);
	for (size_t i = 0; i != iopt->naccesses; i++) {
		if (iopt->accesses[i].access == access && iopt->accesses[i].id == id) {
			iopt->accesses[i] = iopt->accesses[--iopt->naccesses];
			break;
		}
	}
	iopt_calculate_iova_alignment(iopt);
	pthread_rwlock_unlock(&iopt->lock);
}

/*
 * Dirty tracking: dirty ranges from the domain go straight into the user's bitmap, bit
 * (iova - base) >> pgshift, OR'ed into what it holds. As Linux's iova_bitmap, a part of the
 * bitmap that cannot be written (unmapped, read-only) silently loses its bits: the ioctl still
 * succeeds and the domain's dirty bits are still read and cleared.
 */
struct dirty_collect {
	struct sio_dirty_bitmap bitmap;
	uint64_t base, ubitmap;
	unsigned int pgshift;
};

/* Set bits [first, last] of the user bitmap, one user page at a time */
static void dirty_set_user_bits(uint64_t ubitmap, uint64_t first, uint64_t last)
{
	uint8_t buf[256];

	while (first <= last) {
		uint64_t byte = first / 8, uaddr = ubitmap + byte;
		uint64_t room = min_t(uint64_t, sizeof(buf), SIO_PAGE_SIZE - (uaddr & (SIO_PAGE_SIZE - 1)));
		uint64_t nbytes = min_t(uint64_t, room, last / 8 - byte + 1);
		uint64_t bit, end_bit = min_t(uint64_t, last, (byte + nbytes) * 8 - 1);

		if (!sio_copy_from_user(buf, uaddr, nbytes)) {
			for (bit = first; bit <= end_bit; bit++)
				buf[bit / 8 - byte] |= 1u << (bit % 8);
			(void)sio_copy_to_user(uaddr, buf, nbytes);
		}
		if (end_bit == UINT64_MAX)
			break;
		first = end_bit + 1;
	}
}

static void dirty_record(struct sio_dirty_bitmap *b, uint64_t iova, uint64_t length)
{
	struct dirty_collect *c = container_of(b, struct dirty_collect, bitmap);

	if (!length || iova + length - 1 < c->base)
		return;
	if (iova < c->base) {
		length -= c->base - iova;
		iova = c->base;
	}
	dirty_set_user_bits(c->ubitmap, (iova - c->base) >> c->pgshift,
			    (iova + length - 1 - c->base) >> c->pgshift);
}

/*
 * The checks come in Linux's order: the range (EOVERFLOW, then EINVAL for alignment to the
 * IOAS and to @page_size, which is used as a mask and need not be a power of two), and only
 * then whether the domain tracks dirty pages at all (EOPNOTSUPP). The walk stops at the first
 * hole in the mappings or the first error of the domain; neither is reported, as in Linux.
 */
int iopt_read_and_clear_dirty(struct io_pagetable *iopt, struct sio_domain *domain,
			      uint32_t flags, uint64_t iova, uint64_t length,
			      uint64_t page_size, uint64_t ubitmap)
{
	struct dirty_collect c = { .bitmap.record = dirty_record };
	uint64_t last_iova, cur;
	int rc = 0;

	if (check_add_overflow(iova, length - 1, &last_iova))
		return -EOVERFLOW;
	pthread_rwlock_wrlock(&iopt->lock);
	if ((iova & (iopt->iova_alignment - 1)) ||
	    ((last_iova + 1) & (iopt->iova_alignment - 1)))
		rc = -EINVAL;
	pthread_rwlock_unlock(&iopt->lock);
	if (rc)
		return rc;
	if (!page_size)
		return -EINVAL;
	if ((iova & (page_size - 1)) || ((last_iova + 1) & (page_size - 1)))
		return -EINVAL;
	if (!domain->dirty_ops || !domain->dirty_ops->read_and_clear_dirty)
		return -EOPNOTSUPP;

	c.base = iova;
	c.ubitmap = ubitmap;
	c.pgshift = (unsigned int)__builtin_ctzll(page_size);
	pthread_rwlock_wrlock(&iopt->lock);
	for (cur = iova;;) {
		struct iopt_area *area = iopt_area_first(iopt, cur, cur);
		uint64_t last;

		if (!area || area->iova > cur)
			break;
		last = min_t(uint64_t, last_iova, area->last);
		if (domain->dirty_ops->read_and_clear_dirty(domain, cur, last - cur + 1, flags,
							   &c.bitmap) ||
		    last == last_iova)
			break;
		cur = last + 1;
	}
	pthread_rwlock_unlock(&iopt->lock);
	return 0;
}

static void dirty_discard(struct sio_dirty_bitmap *b, uint64_t iova, uint64_t length)
{
}

int iopt_set_dirty_tracking(struct io_pagetable *iopt, struct sio_domain *domain, bool enable)
{
	struct sio_dirty_bitmap discard = { .record = dirty_discard };
	struct iopt_area *area;
	int rc = 0;

	if (!domain->dirty_ops)
		return -EOPNOTSUPP;
	pthread_rwlock_wrlock(&iopt->lock);
	/* Start from a clean snapshot */
	if (enable) {
		iopt_for_each_area(iopt, area) {
			rc = domain->dirty_ops->read_and_clear_dirty(domain, area->iova,
								    iopt_area_length(area), 0,
								    &discard);
			if (rc)
				goto out;
		}
	}
	rc = domain->dirty_ops->set_dirty_tracking(domain, enable);
out:
	pthread_rwlock_unlock(&iopt->lock);
	return rc;
}

/*
 * A dmabuf exporter revoked the memory behind @pages: take every area of @iopt that uses it
 * out of the domains. The areas stay (user space still owns the IOVA) but translate nothing.
 */
void iopt_revoke_dmabuf_area(struct io_pagetable *iopt, struct iopt_pages *pages)
{
	struct iopt_area *area;

	pthread_rwlock_wrlock(&iopt->lock);
	iopt_for_each_area(iopt, area)
		if (area->pages == pages)
			iopt_area_unfill_domains(iopt, area);
	pthread_rwlock_unlock(&iopt->lock);
}
