// SPDX-License-Identifier: MIT
/*
 * The object table of a context: IDs, two-phase creation, short-term references and destroy.
 *
 * IDs are the lowest free index from 1, as the kernel's xarray allocation gives. A reserved
 * (allocated but not finalized) slot holds SIO_OBJ_RESERVED and is invisible to lookups.
 * users starts at 1 (the table's reference). Destroy removes the object from the table only
 * when users == 1 (else EBUSY), then waits for short-term users to drain before running the
 * type's destroy op.
 */
#include "../sio.h"

/* Objects and contexts alive in the process: a leak check for tests and fuzzers */
atomic_ulong sio_live_objects;

static int table_grow(struct sio_ctx *ctx)
{
	uint32_t n = ctx->nobjs ? ctx->nobjs * 2 : 64;
	struct sio_object **objs = sio_realloc_array(ctx->objs, n, sizeof(*objs));

	if (!objs)
		return -ENOMEM;
	memset(objs + ctx->nobjs, 0, (n - ctx->nobjs) * sizeof(*objs));
	ctx->objs = objs;
	ctx->nobjs = n;
	return 0;
}

struct sio_object *sio_object_alloc(struct sio_ctx *ctx, size_t size, enum sio_obj_type type)
{
	struct sio_object *obj;
	uint32_t id;
	int rc;

	obj = sio_zalloc(size);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->type = type;
	obj->ctx = ctx;
	atomic_init(&obj->users, 1);
	atomic_init(&obj->shortterm, 1);

	pthread_mutex_lock(&ctx->obj_lock);
	for (id = 1; id < ctx->nobjs && ctx->objs[id]; id++)
		;
	if (id >= ctx->nobjs) {
		rc = id >= 0x7fffffff ? -ENOSPC : table_grow(ctx);
		if (rc) {
			pthread_mutex_unlock(&ctx->obj_lock);
			sio_free(obj);
			return ERR_PTR(rc);
		}
	}
	ctx->objs[id] = SIO_OBJ_RESERVED;
	obj->id = id;
	pthread_mutex_unlock(&ctx->obj_lock);
	atomic_fetch_add(&sio_live_objects, 1);
	return obj;
}

struct sio_object *sio_object_alloc_ucmd(struct sio_ucmd *ucmd, size_t size,
					 enum sio_obj_type type)
{
	struct sio_object *obj;

	/* Only one new object per ioctl may be tracked by the dispatcher */
	if (ucmd->new_obj)
		return ERR_PTR(-EBUSY);
	obj = sio_object_alloc(ucmd->ctx, size, type);
	if (!IS_ERR(obj))
		ucmd->new_obj = obj;
	return obj;
}

void sio_object_finalize(struct sio_ctx *ctx, struct sio_object *obj)
{
	pthread_mutex_lock(&ctx->obj_lock);
	ctx->objs[obj->id] = obj;
	/* The creator's short-term reference ends with publication */
	atomic_fetch_sub(&obj->shortterm, 1);
	pthread_mutex_unlock(&ctx->obj_lock);
}

/* Undo sio_object_alloc() of an object whose type-specific parts were never built */
void sio_object_abort(struct sio_ctx *ctx, struct sio_object *obj)
{
	pthread_mutex_lock(&ctx->obj_lock);
	ctx->objs[obj->id] = NULL;
	pthread_mutex_unlock(&ctx->obj_lock);
	sio_free(obj);
	atomic_fetch_sub(&sio_live_objects, 1);
}

/* Undo a partially built object: run its abort (or destroy) op, then release the ID */
void sio_object_abort_and_destroy(struct sio_ctx *ctx, struct sio_object *obj)
{
	const struct sio_object_ops *ops = &sio_object_ops[obj->type];

	if (ops->abort)
		ops->abort(obj);
	else if (ops->destroy)
		ops->destroy(obj);
	sio_object_abort(ctx, obj);
}

struct sio_object *sio_get_object(struct sio_ctx *ctx, uint32_t id, enum sio_obj_type type)
{
	struct sio_object *obj;

	if (sio_should_fail())
		return ERR_PTR(-ENOENT);
	pthread_mutex_lock(&ctx->obj_lock);
	obj = id < ctx->nobjs ? ctx->objs[id] : NULL;
	if (!obj || obj == SIO_OBJ_RESERVED || obj == SIO_OBJ_TOMBSTONE ||
	    (type != SIO_OBJ_ANY && obj->type != type) ||
	    atomic_load(&obj->users) == 0) {
		pthread_mutex_unlock(&ctx->obj_lock);
		return ERR_PTR(-ENOENT);
	}
	/* A short-term reference is also a user: DESTROY of an object in use is EBUSY */
	atomic_fetch_add(&obj->users, 1);
	atomic_fetch_add(&obj->shortterm, 1);
	pthread_mutex_unlock(&ctx->obj_lock);
	return obj;
}

void sio_put_object(struct sio_ctx *ctx, struct sio_object *obj)
{
	pthread_mutex_lock(&ctx->obj_lock);
	atomic_fetch_sub(&obj->users, 1);
	if (atomic_fetch_sub(&obj->shortterm, 1) == 1)
		pthread_cond_broadcast(&ctx->obj_cond);
	pthread_mutex_unlock(&ctx->obj_lock);
}

/* Take a short-term reference on an object the caller already knows is live */
bool sio_lock_obj(struct sio_object *obj)
{
	struct sio_ctx *ctx = obj->ctx;
	bool ok;

	pthread_mutex_lock(&ctx->obj_lock);
	ok = atomic_load(&obj->users) > 0 && ctx->objs[obj->id] == obj;
	if (ok) {
		atomic_fetch_add(&obj->users, 1);
		atomic_fetch_add(&obj->shortterm, 1);
	}
	pthread_mutex_unlock(&ctx->obj_lock);
	return ok;
}

static void object_destroy(struct sio_object *obj)
{
	const struct sio_object_ops *ops = &sio_object_ops[obj->type];

	if (ops->destroy)
		ops->destroy(obj);
	sio_free(obj);
	atomic_fetch_sub(&sio_live_objects, 1);
}

/*
 * Remove an object from the table and destroy it. @to_destroy (when set) must be the object
 * at @id. With SIO_REMOVE_WAIT the caller holds a users reference it drops here (a driver
 * destroying an object it created), and first waits for short-term holders to go, asking the
 * object (pre_destroy) to revoke long-lived ones such as a vDEVICE's hold on its device.
 * With SIO_REMOVE_PUT the caller's users reference is dropped under the table lock first
 * (put-and-try-destroy). Otherwise users must be exactly 1 or -EBUSY. SIO_REMOVE_TOMBSTONE
 * leaves the ID allocated but unusable (lookups and DESTROY see ENOENT) until the context closes.
 */
int sio_object_remove(struct sio_ctx *ctx, struct sio_object *to_destroy, uint32_t id,
		      unsigned int flags)
{
	struct sio_object *obj;

	pthread_mutex_lock(&ctx->obj_lock);
	obj = id < ctx->nobjs ? ctx->objs[id] : NULL;
	if (!obj || obj == SIO_OBJ_RESERVED || obj == SIO_OBJ_TOMBSTONE ||
	    (to_destroy && obj != to_destroy)) {
		pthread_mutex_unlock(&ctx->obj_lock);
		return -ENOENT;
	}
	if (flags & SIO_REMOVE_WAIT) {
		if (atomic_load(&obj->shortterm) && sio_object_ops[obj->type].pre_destroy) {
			pthread_mutex_unlock(&ctx->obj_lock);
			sio_object_ops[obj->type].pre_destroy(obj);
			pthread_mutex_lock(&ctx->obj_lock);
		}
		while (atomic_load(&obj->shortterm))
			pthread_cond_wait(&ctx->obj_cond, &ctx->obj_lock);
		atomic_fetch_sub(&obj->users, 1);
	} else if (flags & SIO_REMOVE_PUT) {
		/* The caller's reference goes under the lock; if others remain, they destroy it */
		atomic_fetch_sub(&obj->users, 1);
		if (atomic_load(&obj->users) != 1) {
			pthread_mutex_unlock(&ctx->obj_lock);
			return -EBUSY;
		}
	}
	if (atomic_load(&obj->users) != 1) {
		if (flags & SIO_REMOVE_WAIT)
			atomic_fetch_add(&obj->users, 1);
		pthread_mutex_unlock(&ctx->obj_lock);
		return -EBUSY;
	}
	atomic_store(&obj->users, 0);
	ctx->objs[id] = (flags & SIO_REMOVE_TOMBSTONE) ? SIO_OBJ_TOMBSTONE : NULL;
	if (ctx->vfio_ioas && &ctx->vfio_ioas->obj == obj)
		ctx->vfio_ioas = NULL;
	while (atomic_load(&obj->shortterm))
		pthread_cond_wait(&ctx->obj_cond, &ctx->obj_lock);
	pthread_mutex_unlock(&ctx->obj_lock);
	object_destroy(obj);
	return 0;
}

/* Destroy an object a kernel-side user created and still holds a users reference on */
void sio_object_destroy_user(struct sio_ctx *ctx, struct sio_object *obj)
{
	sio_object_remove(ctx, obj, obj->id, SIO_REMOVE_WAIT);
}

/* As sio_object_destroy_user(), leaving a tombstone: user space's ID stays dead */
void sio_object_tombstone_user(struct sio_ctx *ctx, struct sio_object *obj)
{
	sio_object_remove(ctx, obj, obj->id, SIO_REMOVE_WAIT | SIO_REMOVE_TOMBSTONE);
}

int sio_destroy_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	/* Unmapped mmap regions no longer hold their owners */
	sio_mmap_reap(ucmd->ctx);
	return sio_object_remove(ucmd->ctx, NULL, cmd->id, 0);
}

/*
 * Close of the context: destroy leaves first. Each pass destroys every object nothing depends
 * on (users == 1); the graph is acyclic, so passes make progress until the table is empty.
 */
void sio_objects_destroy_all(struct sio_ctx *ctx)
{
	bool progress = true;

	while (progress) {
		progress = false;
		for (uint32_t id = 1; id < ctx->nobjs; id++) {
			struct sio_object *obj;

			pthread_mutex_lock(&ctx->obj_lock);
			obj = ctx->objs[id];
			if (!obj || obj == SIO_OBJ_RESERVED || obj == SIO_OBJ_TOMBSTONE ||
			    atomic_load(&obj->users) != 1) {
				pthread_mutex_unlock(&ctx->obj_lock);
				continue;
			}
			pthread_mutex_unlock(&ctx->obj_lock);
			if (sio_object_remove(ctx, obj, id, 0) == 0)
				progress = true;
		}
	}
}

int sio_ucmd_respond(struct sio_ucmd *ucmd, size_t cmd_len)
{
	size_t n = ucmd->user_size < cmd_len ? ucmd->user_size : cmd_len;

	return sio_copy_to_user(ucmd->ubuffer, ucmd->cmd, n);
}
