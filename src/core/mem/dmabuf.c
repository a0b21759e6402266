// SPDX-License-Identifier: MIT
/*
 * dmabufs: a minimal exporter (what the selftest's IOMMU_TEST_OP_DMABUF_GET creates) and the
 * importer side of IOMMU_IOAS_MAP_FILE on a dmabuf descriptor.
 *
 * The exporter owns zeroed, page-aligned memory for as long as its descriptor or any pages
 * object imports it. A revoke (IOMMU_TEST_OP_DMABUF_REVOKE) makes new imports fail with
 * ENODEV and permanently revokes every existing import: its areas stay in their IOAS but are
 * taken out of every domain, as Linux's dma-buf move notify does. Un-revoking the exporter
 * only lets new imports succeed again.
 *
 * Lock order: dmabuf->lock > pages->mutex; the IOAS locks are taken with neither held.
 */
#include <fcntl.h>

#include "../sio.h"
#include "../file.h"

struct sio_dmabuf {
	atomic_int refs;
	pthread_mutex_t lock;
	void *memory;
	size_t length;
	bool revoked;
	struct iopt_pages **imports; /* under lock */
	size_t nimports;
};

static void dmabuf_put(struct sio_dmabuf *db)
{
	if (atomic_fetch_sub(&db->refs, 1) != 1)
		return;
	free(db->memory);
	sio_free(db->imports);
	pthread_mutex_destroy(&db->lock);
	sio_free(db);
}

static void dmabuf_release(struct sio_file *f)
{
	dmabuf_put(f->priv);
}

static const struct sio_file_ops dmabuf_fops = {
	.name = "dmabuf",
	.release = dmabuf_release,
};

/* A new dmabuf of @length bytes (rounded up to pages); returns its descriptor or -errno */
int sio_dmabuf_create(size_t length, int open_flags)
{
	struct sio_dmabuf *db;
	int fd;

	length = ALIGN_UP(length, SIO_PAGE_SIZE);
	if (length == 0 || length > SIO_PAGE_SIZE * 512)
		return -EINVAL;
	db = sio_zalloc(sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->memory = aligned_alloc(SIO_PAGE_SIZE, length);
	if (!db->memory) {
		sio_free(db);
		return -ENOMEM;
	}
	memset(db->memory, 0, length);
	db->length = length;
	atomic_init(&db->refs, 1);
	sio_mutex_init(&db->lock, SIO_LOCK_DMABUF);
	fd = sio_file_install(&dmabuf_fops, db, open_flags & O_CLOEXEC, NULL);
	if (fd < 0)
		dmabuf_put(db);
	return fd;
}

static struct sio_dmabuf *dmabuf_get(int fd, struct sio_file **filep)
{
	struct sio_file *f = sio_file_get(fd);

	if (!f)
		return ERR_PTR(-EBADF);
	if (f->ops != &dmabuf_fops) {
		sio_file_put(f);
		return ERR_PTR(-EINVAL);
	}
	*filep = f;
	return f->priv;
}

/*
 * IOAS_MAP_FILE on @fd: NULL with *rc == 0 when @fd is not a dmabuf (the caller maps it as a
 * file), NULL with *rc set on error, or the new pages.
 */
struct iopt_pages *sio_dmabuf_alloc_pages(int fd, uint64_t start, uint64_t length,
					  bool writable, int *rc)
{
	uint64_t start_byte = start % SIO_PAGE_SIZE;
	struct iopt_pages *pages = NULL;
	struct iopt_pages **n;
	struct sio_dmabuf *db;
	struct sio_file *f;

	*rc = 0;
	if (!sio_file_is_fd(fd))
		return NULL;
	db = dmabuf_get(fd, &f);
	if (IS_ERR(db)) {
		/* One of our descriptors, but not a dmabuf: a file like any other */
		return NULL;
	}
	if (db->length <= start + length - 1) {
		*rc = -EINVAL;
		goto out_put;
	}
	pages = iopt_alloc_dmabuf_pages((uintptr_t)db->memory + start, length, writable);
	if (IS_ERR(pages)) {
		*rc = PTR_ERR(pages);
		goto out_put;
	}
	pages->file_start = start - start_byte;
	pthread_mutex_lock(&db->lock);
	if (db->revoked) {
		*rc = -ENODEV;
	} else if (!(n = sio_realloc_array(db->imports, db->nimports + 1, sizeof(*n)))) {
		*rc = -ENOMEM;
	} else {
		db->imports = n;
		n[db->nimports++] = pages;
		pages->dmabuf = db;
		atomic_fetch_add(&db->refs, 1);
	}
	pthread_mutex_unlock(&db->lock);
	if (*rc) {
		iopt_put_pages(pages);
		pages = NULL;
	}
out_put:
	sio_file_put(f);
	return *rc ? NULL : pages;
}

/* The last reference to an import is gone */
void sio_dmabuf_release_pages(struct iopt_pages *pages)
{
	struct sio_dmabuf *db = pages->dmabuf;

	pthread_mutex_lock(&db->lock);
	for (size_t i = 0; i != db->nimports; i++) {
		if (db->imports[i] == pages) {
			db->imports[i] = db->imports[--db->nimports];
			break;
		}
	}
	pthread_mutex_unlock(&db->lock);
	sio_free(pages->dmabuf_areas);
	pages->dmabuf = NULL;
	dmabuf_put(db);
}

int sio_dmabuf_track_area(struct iopt_pages *pages, struct iopt_area *area)
{
	struct iopt_area **n;
	int rc = 0;

	pthread_mutex_lock(&pages->mutex);
	n = sio_realloc_array(pages->dmabuf_areas, pages->ndmabuf_areas + 1, sizeof(*n));
	if (!n) {
		rc = -ENOMEM;
	} else {
		pages->dmabuf_areas = n;
		n[pages->ndmabuf_areas++] = area;
	}
	pthread_mutex_unlock(&pages->mutex);
	return rc;
}

void sio_dmabuf_untrack_area(struct iopt_pages *pages, struct iopt_area *area)
{
	pthread_mutex_lock(&pages->mutex);
	for (size_t i = 0; i != pages->ndmabuf_areas; i++) {
		if (pages->dmabuf_areas[i] == area) {
			pages->dmabuf_areas[i] = pages->dmabuf_areas[--pages->ndmabuf_areas];
			break;
		}
	}
	pthread_mutex_unlock(&pages->mutex);
}

/* Revoke one import: mark it, then take its areas out of their domains */
static void revoke_import(struct iopt_pages *pages)
{
	struct sio_ioas **ioases;
	size_t n = 0;

	pthread_mutex_lock(&pages->mutex);
	if (__atomic_load_n(&pages->revoked, __ATOMIC_RELAXED)) {
		pthread_mutex_unlock(&pages->mutex);
		return;
	}
	__atomic_store_n(&pages->revoked, true, __ATOMIC_RELEASE);
	ioases = calloc(pages->ndmabuf_areas + 1, sizeof(*ioases));
	for (size_t i = 0; ioases && i != pages->ndmabuf_areas; i++) {
		struct sio_ioas *ioas =
			container_of(pages->dmabuf_areas[i]->iopt, struct sio_ioas, iopt);

		/* An IOAS being destroyed unmaps everything itself */
		if (sio_lock_obj(&ioas->obj))
			ioases[n++] = ioas;
	}
	pthread_mutex_unlock(&pages->mutex);
	for (size_t i = 0; i != n; i++) {
		iopt_revoke_dmabuf_area(&ioases[i]->iopt, pages);
		sio_put_object(ioases[i]->obj.ctx, &ioases[i]->obj);
	}
	free(ioases);
}

int sio_dmabuf_set_revoked(int fd, bool revoked)
{
	struct iopt_pages **imports = NULL;
	struct sio_dmabuf *db;
	struct sio_file *f;
	size_t n = 0;

	db = dmabuf_get(fd, &f);
	if (IS_ERR(db))
		return PTR_ERR(db);
	pthread_mutex_lock(&db->lock);
	db->revoked = revoked;
	if (revoked && db->nimports) {
		imports = calloc(db->nimports, sizeof(*imports));
		for (size_t i = 0; imports && i != db->nimports; i++) {
			imports[n++] = db->imports[i];
			iopt_get_pages(db->imports[i]);
		}
	}
	pthread_mutex_unlock(&db->lock);
	for (size_t i = 0; i != n; i++) {
		revoke_import(imports[i]);
		iopt_put_pages(imports[i]);
	}
	free(imports);
	sio_file_put(f);
	return 0;
}
