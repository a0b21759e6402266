// SPDX-License-Identifier: MIT
/*
 * The iommufd context: what open("/dev/iommu") creates. Its file's ioctls go to the uAPI
 * dispatcher; closing the last descriptor destroys every object, leaves first.
 */
#include <fcntl.h>

#include "../sio.h"
#include "../file.h"
#include "../../uapi/dispatch.h"

static long ctx_ioctl(struct sio_file *f, unsigned long cmd, void *arg)
{
	return sio_dispatch_ioctl(f->priv, cmd, (uint64_t)(uintptr_t)arg);
}

/* A front-end may look at a context just before it is torn down (the shim's dump on close) */
void (*sio_ctx_release_hook)(struct sio_ctx *ctx);

static void ctx_release(struct sio_file *f)
{
	struct sio_ctx *ctx = f->priv;

	if (sio_ctx_release_hook)
		sio_ctx_release_hook(ctx);

	/* User mappings of mmap regions no longer hold their owners */
	sio_mmap_drop_holds(ctx);
	sio_objects_destroy_all(ctx);
	sio_mmap_release_all(ctx);
	free(ctx->objs);
	pthread_mutex_destroy(&ctx->obj_lock);
	pthread_cond_destroy(&ctx->obj_cond);
	pthread_mutex_destroy(&ctx->vfio_lock);
	pthread_rwlock_destroy(&ctx->ioas_creation_lock);
	free(ctx);
	atomic_fetch_sub(&sio_live_objects, 1);
}

int sio_ctx_mmap(struct sio_file *f, void *addr, size_t len, int prot, int flags, off_t off,
		 void **out);

static const struct sio_file_ops ctx_fops = {
	.name = "iommufd",
	.ioctl = ctx_ioctl,
	.mmap = sio_ctx_mmap,
	.release = ctx_release,
};

int sio_ctx_open(int flags)
{
	struct sio_ctx *ctx = sio_zalloc(sizeof(*ctx));
	int fd;

	if (!ctx)
		return -ENOMEM;
	sio_mutex_init(&ctx->obj_lock, SIO_LOCK_CTX_OBJ);
	pthread_cond_init(&ctx->obj_cond, NULL);
	sio_mutex_init(&ctx->vfio_lock, SIO_LOCK_CTX_VFIO);
	sio_rwlock_init(&ctx->ioas_creation_lock, SIO_LOCK_CTX_IOAS_CREATION);
	INIT_LIST_HEAD(&ctx->groups);
	INIT_LIST_HEAD(&ctx->mmaps);
	ctx->account_mode = IOPT_PAGES_ACCOUNT_USER;
	ctx->next_mmap_pgoff = 1;
	/* Release contexts whose descriptors the program closed behind the shim's back */
	sio_file_sweep();
	fd = sio_file_install(&ctx_fops, ctx, flags & (O_CLOEXEC | O_NONBLOCK), &ctx->file);
	if (fd < 0) {
		pthread_mutex_destroy(&ctx->obj_lock);
		pthread_cond_destroy(&ctx->obj_cond);
		pthread_mutex_destroy(&ctx->vfio_lock);
		pthread_rwlock_destroy(&ctx->ioas_creation_lock);
		free(ctx);
		return fd;
	}
	ctx->fd = fd;
	atomic_fetch_add(&sio_live_objects, 1);
	return fd;
}

/*
 * Like Linux's iommufd_ctx_get(): a dependent (an access, a fault queue) holds the context's
 * file, so closing the last /dev/iommu descriptor destroys the objects only once the
 * dependents are gone too.
 */
void sio_ctx_get(struct sio_ctx *ctx)
{
	sio_file_ref(ctx->file);
}

void sio_ctx_put(struct sio_ctx *ctx)
{
	sio_file_put(ctx->file);
}

/* The context behind an iommufd descriptor, with a file reference the caller drops */
struct sio_ctx *sio_ctx_from_fd(int fd)
{
	struct sio_file *f = sio_file_get(fd);

	if (!f)
		return NULL;
	if (f->ops != &ctx_fops) {
		sio_file_put(f);
		return NULL;
	}
	return f->priv;
}

bool sio_file_is_ctx(struct sio_file *f)
{
	return f->ops == &ctx_fops;
}

void sio_ctx_for_each(void (*fn)(int fd, struct sio_file *f, void *arg), void *arg)
{
	sio_file_for_each(&ctx_fops, fn, arg);
}
