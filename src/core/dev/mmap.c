// SPDX-License-Identifier: MIT
/*
 * mmap regions of an iommufd: a driver object (a vIOMMU) offers memory — a page of registers,
 * a queue — that user space maps with mmap() on the iommufd at an offset the driver returned.
 * The memory is a memfd, so the driver's own mapping and every user mapping share the pages.
 * While user space has the region mapped, the owner object cannot be destroyed (EBUSY), as a
 * VMA holds it in Linux. softiommu sees mmap() (through the shim) but not munmap(), so a
 * mapping is found gone by checking /proc/self/maps when it matters: before a DESTROY and at
 * close.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../sio.h"
#include "../file.h"

struct sio_user_mapping {
	uint64_t addr;
	size_t length;
};

struct sio_mmap {
	struct list_head node; /* in ctx->mmaps, under ctx->obj_lock */
	struct sio_object *owner;
	uint64_t offset;
	size_t length;
	int memfd;
	dev_t dev;
	ino_t ino;
	struct sio_user_mapping *maps;
	size_t nmaps;
};

/* Offer @length bytes of @memfd at a new offset (the lowest free range above page 0) */
int sio_viommu_alloc_mmap(struct sio_viommu *viommu, int memfd, size_t length,
			  uint64_t *offset)
{
	struct sio_ctx *ctx = viommu->ctx;
	struct sio_mmap *m, *cur;
	uint64_t start = SIO_PAGE_SIZE;
	struct stat st;

	if (!length || length % SIO_PAGE_SIZE || fstat(memfd, &st))
		return -EINVAL;
	m = sio_zalloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->memfd = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
	if (m->memfd < 0) {
		sio_free(m);
		return -ENOMEM;
	}
	m->owner = &viommu->obj;
	m->length = length;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	pthread_mutex_lock(&ctx->obj_lock);
	/* ctx->mmaps is kept sorted by offset */
	list_for_each_entry(cur, &ctx->mmaps, node) {
		if (cur->offset >= start + length)
			break;
		start = cur->offset + cur->length;
	}
	m->offset = start;
	list_add_tail(&m->node, &cur->node);
	pthread_mutex_unlock(&ctx->obj_lock);
	*offset = start;
	return 0;
}

static void mmap_free(struct sio_mmap *m)
{
	syscall(SYS_close, m->memfd);
	sio_free(m->maps);
	sio_free(m);
}

void sio_viommu_destroy_mmap(struct sio_viommu *viommu, uint64_t offset)
{
	struct sio_ctx *ctx = viommu->ctx;
	struct sio_mmap *m, *found = NULL;

	pthread_mutex_lock(&ctx->obj_lock);
	list_for_each_entry(m, &ctx->mmaps, node) {
		if (m->offset == offset && m->owner == &viommu->obj) {
			found = m;
			list_del_init(&m->node);
			break;
		}
	}
	pthread_mutex_unlock(&ctx->obj_lock);
	if (found)
		mmap_free(found);
}

static void *map_here(void *arg, int memfd, void *addr, size_t len, int prot, int flags)
{
	return mmap(addr, len, prot, flags, memfd, 0);
}

int sio_ctx_mmap(struct sio_file *f, void *addr, size_t len, int prot, int flags, off_t off,
		 void **out)
{
	return sio_ctx_mmap_with(f->priv, addr, len, prot, flags, off, map_here, NULL, out);
}

/**
 * sio_ctx_mmap_with() - map the region at @off of @ctx with @map_fn
 *
 * In-process @map_fn is mmap() of the region's memfd; the daemon's (src/frontend/daemon)
 * hands the memfd to its client, which maps it at the address @map_fn returns. Either way the
 * mapping is recorded, and holds its owner, as one of this context's user mappings.
 * @map_fn returns the address, or MAP_FAILED with errno set.
 */
int sio_ctx_mmap_with(struct sio_ctx *ctx, void *addr, size_t len, int prot, int flags,
		      off_t off, void *(*map_fn)(void *arg, int memfd, void *addr, size_t len,
						 int prot, int flags),
		      void *arg, void **out)
{
	struct sio_user_mapping *n;
	struct sio_mmap *m, *found = NULL;
	void *p;
	int rc = 0;

	if (!len || len % SIO_PAGE_SIZE)
		return -EINVAL;
	if (!(flags & MAP_SHARED))
		return -EINVAL;
	if (prot & PROT_EXEC)
		return -EPERM;
	pthread_mutex_lock(&ctx->obj_lock);
	list_for_each_entry(m, &ctx->mmaps, node) {
		if ((uint64_t)off >= m->offset && (uint64_t)off < m->offset + m->length) {
			found = m;
			break;
		}
	}
	/* Only the exact region can be mapped */
	if (!found || found->offset != (uint64_t)off || found->length != len ||
	    !atomic_load(&found->owner->users)) {
		rc = -ENXIO;
		goto out_unlock;
	}
	n = sio_realloc_array(found->maps, found->nmaps + 1, sizeof(*n));
	if (!n) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	found->maps = n;
	p = map_fn(arg, found->memfd, addr, len, prot, flags);
	if (p == MAP_FAILED) {
		rc = -errno;
		goto out_unlock;
	}
	n[found->nmaps++] = (struct sio_user_mapping){ (uintptr_t)p, len };
	/* The mapping holds its owner until it is unmapped */
	atomic_fetch_add(&found->owner->users, 1);
	*out = p;
out_unlock:
	pthread_mutex_unlock(&ctx->obj_lock);
	return rc;
}

/* Drop the holds of user mappings that are gone (munmap'ed or replaced) */
void sio_mmap_reap(struct sio_ctx *ctx)
{
	struct sio_maps *maps = NULL;
	struct sio_mmap *m;

	pthread_mutex_lock(&ctx->obj_lock);
	list_for_each_entry(m, &ctx->mmaps, node) {
		for (size_t i = 0; i < m->nmaps;) {
			struct sio_page_id id;

			if (!maps && !(maps = sio_maps_snapshot()))
				goto out;
			id = sio_page_identity(maps, m->maps[i].addr);
			if (id.ino == m->ino && id.dev == ((uint64_t)major(m->dev) << 32 |
							  minor(m->dev)) && id.off == 0) {
				i++;
				continue;
			}
			m->maps[i] = m->maps[--m->nmaps];
			atomic_fetch_sub(&m->owner->users, 1);
		}
	}
out:
	pthread_mutex_unlock(&ctx->obj_lock);
	sio_maps_free(maps);
}

/*
 * Context teardown: user mappings stay valid (they map the memfd's pages, which live on with
 * them) but no longer hold their owners, so every object can be destroyed. Linux would keep
 * the file open until the last munmap instead; softiommu cannot see munmap.
 */
void sio_mmap_drop_holds(struct sio_ctx *ctx)
{
	struct sio_mmap *m;

	pthread_mutex_lock(&ctx->obj_lock);
	list_for_each_entry(m, &ctx->mmaps, node) {
		while (m->nmaps) {
			m->nmaps--;
			atomic_fetch_sub(&m->owner->users, 1);
		}
	}
	pthread_mutex_unlock(&ctx->obj_lock);
}

/* Context teardown, after the objects: the regions themselves go */
void sio_mmap_release_all(struct sio_ctx *ctx)
{
	struct sio_mmap *m, *n;

	list_for_each_entry_safe(m, n, &ctx->mmaps, node) {
		list_del_init(&m->node);
		mmap_free(m);
	}
}
