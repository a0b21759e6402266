// SPDX-License-Identifier: MIT
/*
 * Accesses: what an in-kernel driver without its own IOMMU (an emulated or mediated device)
 * does with an IOAS — pin the pages behind an IOVA range and get their physical addresses, or
 * copy to/from an IOVA range. An access that pins must answer unmap notifications by
 * unpinning; the IOAS cannot unmap an area while an access holds pins in it.
 */
#include "../sio.h"

static int access_change_ioas(struct sio_access *access, struct sio_ioas *new_ioas);

/**
 * sio_access_create() - create an access object; the caller holds it until
 * sio_access_destroy()
 * @ops: @ops->unmap is called when an IOVA range the access may have pinned is unmapped
 */
struct sio_access *sio_access_create(struct sio_ctx *ctx, const struct sio_access_ops *ops,
				     void *data, uint32_t *id)
{
	struct sio_access *access = sio_object_alloc_type(ctx, access, SIO_OBJ_ACCESS);

	if (IS_ERR(access))
		return access;
	atomic_fetch_add(&access->obj.users, 1);
	sio_mutex_init(&access->ioas_lock, SIO_LOCK_ACCESS_IOAS);
	access->ctx = ctx;
	access->ops = ops;
	access->data = data;
	access->iova_alignment = ops->needs_pin_pages ? SIO_PAGE_SIZE : 1;
	sio_ctx_get(ctx);
	sio_object_finalize(ctx, &access->obj);
	*id = access->obj.id;
	return access;
}

void sio_access_destroy(struct sio_access *access)
{
	sio_object_destroy_user(access->ctx, &access->obj);
}

/*
 * An access the core itself uses (a HW queue's pins): no driver ops, page-aligned pins that
 * lock their areas against unmap, and no reference on the context (it dies with it).
 */
struct sio_access *sio_access_create_internal(struct sio_ctx *ctx)
{
	struct sio_access *access = sio_object_alloc_type(ctx, access, SIO_OBJ_ACCESS);

	if (IS_ERR(access))
		return access;
	atomic_fetch_add(&access->obj.users, 1);
	sio_mutex_init(&access->ioas_lock, SIO_LOCK_ACCESS_IOAS);
	access->ctx = ctx;
	access->internal = true;
	access->iova_alignment = SIO_PAGE_SIZE;
	sio_object_finalize(ctx, &access->obj);
	return access;
}

void sio_access_destroy_internal(struct sio_access *access)
{
	sio_object_destroy_user(access->ctx, &access->obj);
}

int sio_access_attach_internal(struct sio_access *access, struct sio_ioas *ioas)
{
	int rc;

	pthread_mutex_lock(&access->ioas_lock);
	rc = access->ioas ? -EINVAL : access_change_ioas(access, ioas);
	pthread_mutex_unlock(&access->ioas_lock);
	return rc;
}

/* Called with access->ioas_lock held */
static int access_change_ioas(struct sio_access *access, struct sio_ioas *new_ioas)
{
	struct sio_ioas *cur = access->ioas;
	uint32_t list_id = access->iopt_access_list_id;
	int rc;

	sio_lockdep_assert_held(&access->ioas_lock);
	if (cur != access->ioas_unpin)
		return -EBUSY;
	if (cur == new_ioas)
		return 0;
	access->ioas = NULL;
	if (new_ioas) {
		rc = iopt_add_access(&new_ioas->iopt, access);
		if (rc) {
			access->ioas = cur;
			return rc;
		}
		atomic_fetch_add(&new_ioas->obj.users, 1);
	}
	if (cur) {
		if (!access->internal && access->ops && access->ops->unmap) {
			pthread_mutex_unlock(&access->ioas_lock);
			access->ops->unmap(access->data, 0, UINT64_MAX);
			pthread_mutex_lock(&access->ioas_lock);
		}
		iopt_remove_access(&cur->iopt, access, list_id);
		atomic_fetch_sub(&cur->obj.users, 1);
	}
	access->ioas = new_ioas;
	access->ioas_unpin = new_ioas;
	return 0;
}

static int access_change_ioas_id(struct sio_access *access, uint32_t id)
{
	struct sio_ioas *ioas = sio_get_ioas(access->ctx, id);
	int rc;

	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	rc = access_change_ioas(access, ioas);
	sio_put_object(access->ctx, &ioas->obj);
	return rc;
}

void sio_access_destroy_object(struct sio_object *obj)
{
	struct sio_access *access = container_of(obj, struct sio_access, obj);

	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas)
		access_change_ioas(access, NULL);
	pthread_mutex_unlock(&access->ioas_lock);
	pthread_mutex_destroy(&access->ioas_lock);
	/* May be the last reference: the context's objects go now (this one is out already) */
	if (!access->internal)
		sio_ctx_put(access->ctx);
}

int sio_access_attach(struct sio_access *access, uint32_t ioas_id)
{
	int rc;

	pthread_mutex_lock(&access->ioas_lock);
	rc = access->ioas ? -EINVAL : access_change_ioas_id(access, ioas_id);
	pthread_mutex_unlock(&access->ioas_lock);
	return rc;
}

int sio_access_replace(struct sio_access *access, uint32_t ioas_id)
{
	int rc;

	pthread_mutex_lock(&access->ioas_lock);
	rc = !access->ioas ? -ENOENT : access_change_ioas_id(access, ioas_id);
	pthread_mutex_unlock(&access->ioas_lock);
	return rc;
}

void sio_access_detach(struct sio_access *access)
{
	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas)
		access_change_ioas(access, NULL);
	pthread_mutex_unlock(&access->ioas_lock);
}

/* Tell every access of @iopt that [iova, iova + length) is going away */
void sio_access_notify_unmap(struct io_pagetable *iopt, uint64_t iova, uint64_t length)
{
	struct sio_access **list;
	size_t n;

	pthread_rwlock_wrlock(&iopt->lock);
	n = iopt->naccesses;
	list = sio_calloc(n + 1, sizeof(*list));
	if (list) {
		size_t m = 0;

		for (size_t i = 0; i != n; i++)
			if (!iopt->accesses[i].access->internal &&
			    sio_lock_obj(&iopt->accesses[i].access->obj))
				list[m++] = iopt->accesses[i].access;
		n = m;
	} else {
		n = 0;
	}
	pthread_rwlock_unlock(&iopt->lock);
	for (size_t i = 0; i != n; i++) {
		if (list[i]->ops && list[i]->ops->unmap)
			list[i]->ops->unmap(list[i]->data, iova, length);
		sio_put_object(list[i]->ctx, &list[i]->obj);
	}
	sio_free(list);
}

static bool check_area_prot(struct iopt_area *area, unsigned int flags)
{
	if (flags & SIO_ACCESS_RW_WRITE)
		return area->iommu_prot & SIO_PROT_WRITE;
	return area->iommu_prot & SIO_PROT_READ;
}

static size_t iova_to_index(struct iopt_area *area, uint64_t iova)
{
	return iopt_area_start_byte(area, iova) / SIO_PAGE_SIZE;
}

/* Undo the pins of [iova, last] taken by an access; iopt->lock held */
static void access_unpin_range(struct io_pagetable *iopt, uint64_t iova, uint64_t last,
			       bool internal)
{
	struct iopt_area *area;
	uint64_t cur = iova;

	while (cur <= last && (area = iopt_area_first(iopt, cur, cur))) {
		uint64_t end = min_t(uint64_t, last, area->last);

		iopt_pages_unpin(area->pages, iova_to_index(area, cur), iova_to_index(area, end));
		area->num_accesses--;
		if (internal)
			area->num_locks--;
		if (end == last || end == UINT64_MAX)
			break;
		cur = end + 1;
	}
}

/*
 * The access's current IOAS table, locked (the access's ioas_lock, then the table's); NULL
 * when the access has no IOAS.
 */
static struct io_pagetable *access_lock_iopt_as(struct sio_access *access, bool read)
{
	pthread_mutex_lock(&access->ioas_lock);
	if (!access->ioas) {
		pthread_mutex_unlock(&access->ioas_lock);
		return NULL;
	}
	if (read)
		pthread_rwlock_rdlock(&access->ioas->iopt.lock);
	else
		pthread_rwlock_wrlock(&access->ioas->iopt.lock);
	return &access->ioas->iopt;
}

static struct io_pagetable *access_lock_iopt(struct sio_access *access)
{
	return access_lock_iopt_as(access, false);
}

static void access_unlock_iopt(struct sio_access *access, struct io_pagetable *iopt)
{
	pthread_rwlock_unlock(&iopt->lock);
	pthread_mutex_unlock(&access->ioas_lock);
}

/**
 * sio_access_pin_pages() - pin the pages behind [iova, iova + length)
 * @out_pa: receives the physical address of each PAGE_SIZE page
 *
 * The range must be contiguously mapped and page aligned inside each area.
 */
int sio_access_pin_pages(struct sio_access *access, uint64_t iova, uint64_t length,
			 uint64_t *out_pa, unsigned int flags)
{
	struct io_pagetable *iopt;
	struct iopt_area *area;
	uint64_t last_iova, cur;
	int rc = 0;

	if (access->iova_alignment != SIO_PAGE_SIZE ||
	    (!access->internal && !access->ops->unmap))
		return -EINVAL;
	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last_iova))
		return -EOVERFLOW;

	iopt = access_lock_iopt(access);
	if (!iopt)
		return -ENOENT;
	cur = iova;
	for (;;) {
		uint64_t last;
		size_t idx, last_idx;

		area = iopt_area_first(iopt, cur, cur);
		if (!area || area->iova > cur) {
			rc = -ENOENT;
			break;
		}
		last = min_t(uint64_t, last_iova, area->last);
		if (area->prevent_access || iopt_area_start_byte(area, cur) % SIO_PAGE_SIZE ||
		    (last != last_iova &&
		     iopt_area_start_byte(area, area->last) % SIO_PAGE_SIZE != SIO_PAGE_SIZE - 1)) {
			rc = -EINVAL;
			break;
		}
		if (!check_area_prot(area, flags) ||
		    ((flags & SIO_ACCESS_RW_WRITE) && !area->pages->writable)) {
			rc = -EPERM;
			break;
		}
		if (area->pages->type == IOPT_ADDRESS_DMABUF) {
			rc = -EINVAL;
			break;
		}
		idx = iova_to_index(area, cur);
		last_idx = iova_to_index(area, last);
		rc = iopt_pages_pin(area->pages, idx, last_idx);
		if (rc)
			break;
		area->num_accesses++;
		if (access->internal)
			area->num_locks++;
		for (size_t i = idx; !rc && i <= last_idx; i++)
			rc = iopt_pages_dma_pa(area->pages, i * SIO_PAGE_SIZE, out_pa++);
		if (rc) { /* no window for a client's memory (daemon mode, mm_pa.c) */
			area->num_accesses--;
			if (access->internal)
				area->num_locks--;
			iopt_pages_unpin(area->pages, idx, last_idx);
			break;
		}
		if (last == last_iova)
			break;
		cur = last + 1;
	}
	if (rc && cur > iova)
		access_unpin_range(iopt, iova, cur - 1, access->internal);
	access_unlock_iopt(access, iopt);
	return rc;
}

void sio_access_unpin_pages(struct sio_access *access, uint64_t iova, uint64_t length)
{
	struct io_pagetable *iopt;
	uint64_t last_iova;

	if (!length || check_add_overflow(iova, length - 1, &last_iova))
		return;
	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas_unpin) {
		iopt = &access->ioas_unpin->iopt;
		pthread_rwlock_wrlock(&iopt->lock);
		access_unpin_range(iopt, iova, last_iova, access->internal);
		pthread_rwlock_unlock(&iopt->lock);
	}
	pthread_mutex_unlock(&access->ioas_lock);
}

/**
 * sio_access_rw() - copy between @data and [iova, iova + len) of the access's IOAS
 * @flags: SIO_ACCESS_RW_WRITE to write into the IOAS
 */
int sio_access_rw(struct sio_access *access, uint64_t iova, void *data, size_t len,
		  unsigned int flags)
{
	struct io_pagetable *iopt;
	uint64_t last_iova, cur;
	int rc = 0;

	if (!len)
		return -EINVAL;
	if (check_add_overflow(iova, len - 1, &last_iova))
		return -EOVERFLOW;
	/* Copies only read the table: they run side by side, and an unmap waits for them */
	iopt = access_lock_iopt_as(access, true);
	if (!iopt)
		return -ENOENT;
	for (cur = iova;;) {
		struct iopt_area *area = iopt_area_first(iopt, cur, cur);
		uint64_t last, bytes;

		if (!area || area->iova > cur) {
			rc = -ENOENT;
			break;
		}
		last = min_t(uint64_t, last_iova, area->last);
		bytes = last - cur + 1;
		if (area->prevent_access) {
			rc = -EINVAL;
			break;
		}
		if (!check_area_prot(area, flags)) {
			rc = -EPERM;
			break;
		}
		rc = iopt_pages_rw(area->pages, iopt_area_start_byte(area, cur), data, bytes,
				   flags);
		if (rc)
			break;
		data = (char *)data + bytes;
		if (last == last_iova)
			break;
		cur = last + 1;
	}
	access_unlock_iopt(access, iopt);
	return rc;
}
