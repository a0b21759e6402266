// SPDX-License-Identifier: MIT
/*
 * IOAS objects and their ioctls: ALLOC, IOVA_RANGES, ALLOW_IOVAS, MAP, MAP_FILE, COPY, UNMAP,
 * the per-IOAS and global IOMMU_OPTIONs, and CHANGE_PROCESS.
 */
#include <unistd.h>

#include "../sio.h"

struct sio_ioas *sio_get_ioas(struct sio_ctx *ctx, uint32_t id)
{
	struct sio_object *obj = sio_get_object(ctx, id, SIO_OBJ_IOAS);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct sio_ioas, obj);
}

void sio_ioas_destroy(struct sio_object *obj)
{
	struct sio_ioas *ioas = container_of(obj, struct sio_ioas, obj);

	iopt_unmap_all(&ioas->iopt, NULL);
	iopt_destroy_table(&ioas->iopt);
	pthread_mutex_destroy(&ioas->mutex);
}

struct sio_ioas *sio_ioas_alloc(struct sio_ctx *ctx)
{
	struct sio_ioas *ioas = sio_object_alloc_type(ctx, ioas, SIO_OBJ_IOAS);

	if (IS_ERR(ioas))
		return ioas;
	iopt_init_table(&ioas->iopt);
	INIT_LIST_HEAD(&ioas->hwpt_list);
	sio_mutex_init(&ioas->mutex, SIO_LOCK_IOAS);
	return ioas;
}

int sio_ioas_alloc_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct sio_ioas *ioas;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	ioas = sio_ioas_alloc(ucmd->ctx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	cmd->out_ioas_id = ioas->obj.id;
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		sio_object_abort_and_destroy(ucmd->ctx, &ioas->obj);
		return rc;
	}
	pthread_rwlock_rdlock(&ucmd->ctx->ioas_creation_lock);
	sio_object_finalize(ucmd->ctx, &ioas->obj);
	pthread_rwlock_unlock(&ucmd->ctx->ioas_creation_lock);
	return 0;
}

int sio_ioas_iova_ranges(struct sio_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iopt_range on_stack[8], *ranges = on_stack;
	struct sio_ioas *ioas;
	uint32_t max_iovas = cmd->num_iovas;
	size_t n, cap = ARRAY_SIZE(on_stack);
	ssize_t nr;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = sio_get_ioas(ucmd->ctx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	/* The common case fits on the stack: no allocation on this hot query */
	nr = iopt_iova_ranges(&ioas->iopt, ranges, cap);
	while (nr > (ssize_t)cap) {
		if (ranges != on_stack)
			sio_free(ranges);
		cap = nr;
		ranges = sio_calloc(cap, sizeof(*ranges));
		if (!ranges) {
			rc = -ENOMEM;
			goto out_put;
		}
		nr = iopt_iova_ranges(&ioas->iopt, ranges, cap);
	}
	if (nr < 0) {
		rc = nr;
		goto out_free;
	}
	n = nr;
	for (size_t i = 0; i != n && i < max_iovas; i++) {
		struct iommu_iova_range elm = { .start = ranges[i].start, .last = ranges[i].last };

		rc = sio_copy_to_user(cmd->allowed_iovas + i * sizeof(elm), &elm, sizeof(elm));
		if (rc)
			goto out_free;
	}
	cmd->num_iovas = n;
	pthread_rwlock_wrlock(&ioas->iopt.lock);
	cmd->out_iova_alignment = ioas->iopt.iova_alignment;
	pthread_rwlock_unlock(&ioas->iopt.lock);
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
	if (!rc && n > max_iovas)
		rc = -EMSGSIZE;
out_free:
	if (ranges != on_stack)
		sio_free(ranges);
out_put:
	sio_put_object(ucmd->ctx, &ioas->obj);
	return rc;
}

int sio_ioas_allow_iovas(struct sio_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct iopt_range *ranges = NULL;
	struct sio_ioas *ioas;
	uint32_t cap = 0;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = sio_get_ioas(ucmd->ctx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	/*
	 * Entries are read and checked one at a time, as Linux does, so a huge num_iovas fails
	 * on the first unreadable or bad entry (EFAULT, EINVAL), never as one huge allocation.
	 */
	for (uint32_t i = 0; i != cmd->num_iovas; i++) {
		struct iommu_iova_range r;

		rc = sio_copy_from_user(&r, cmd->allowed_iovas + i * sizeof(r), sizeof(r));
		if (rc)
			goto out_free;
		if (i == cap) {
			struct iopt_range *grown;

			cap = cap ? 2 * cap : 8;
			grown = sio_realloc_array(ranges, cap, sizeof(*ranges));
			if (!grown) {
				rc = -ENOMEM;
				goto out_free;
			}
			ranges = grown;
		}
		if (r.start >= r.last) {
			rc = -EINVAL;
			goto out_free;
		}
		for (uint32_t j = 0; j != i; j++) {
			if (ranges[j].start <= r.last && ranges[j].last >= r.start) {
				rc = -EINVAL;
				goto out_free;
			}
		}
		ranges[i] = (struct iopt_range){ r.start, r.last };
	}
	rc = iopt_set_allow_iova(&ioas->iopt, ranges, cmd->num_iovas);
out_free:
	sio_free(ranges);
	sio_put_object(ucmd->ctx, &ioas->obj);
	return rc;
}

static int conv_iommu_prot(uint32_t map_flags)
{
	int prot = SIO_PROT_CACHE;

	if (map_flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= SIO_PROT_WRITE;
	if (map_flags & IOMMU_IOAS_MAP_READABLE)
		prot |= SIO_PROT_READ;
	return prot;
}

#define IOAS_MAP_FLAGS                                                                  \
	(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)

/* The checks IOAS_MAP and IOAS_MAP_FILE share, in the kernel's order */
static int ioas_map_check(uint32_t flags, uint64_t iova, uint64_t length)
{
	if (flags & ~IOAS_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (iova >= UINT64_MAX || length >= UINT64_MAX)
		return -EOVERFLOW;
	if (!(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;
	return 0;
}

int sio_ioas_map_file(struct sio_ucmd *ucmd)
{
	struct iommu_ioas_map_file *cmd = ucmd->cmd;
	uint64_t iova = cmd->iova;
	struct sio_ioas *ioas;
	unsigned int flags = 0;
	bool owned;
	int rc, fd;

	rc = ioas_map_check(cmd->flags, cmd->iova, cmd->length);
	if (rc)
		return rc;
	ioas = sio_get_ioas(ucmd->ctx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;
	/* The sender's descriptor (mm.h); one it does not have fails as a bad number here */
	fd = sio_mm_fd_get(cmd->fd, &owned);
	rc = iopt_map_file_pages(ucmd->ctx, &ioas->iopt, &iova, fd < 0 ? -1 : fd, cmd->start,
				 cmd->length, conv_iommu_prot(cmd->flags), flags);
	sio_mm_fd_put(fd, owned);
	if (!rc) {
		cmd->iova = iova;
		rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
	}
	sio_put_object(ucmd->ctx, &ioas->obj);
	return rc;
}

int sio_ioas_map(struct sio_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	uint64_t iova = cmd->iova;
	struct sio_ioas *ioas;
	unsigned int flags = 0;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	rc = ioas_map_check(cmd->flags, cmd->iova, cmd->length);
	if (rc)
		return rc;
	ioas = sio_get_ioas(ucmd->ctx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;
	rc = iopt_map_user_pages(ucmd->ctx, &ioas->iopt, &iova, cmd->user_va, cmd->length,
				 conv_iommu_prot(cmd->flags), flags);
	if (!rc) {
		cmd->iova = iova;
		rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
	}
	sio_put_object(ucmd->ctx, &ioas->obj);
	return rc;
}

int sio_ioas_copy(struct sio_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	struct iopt_pages_list *pages = NULL;
	struct sio_ioas *src_ioas, *dst_ioas;
	unsigned int flags = 0;
	uint64_t iova;
	int rc;

	if (cmd->flags & ~IOAS_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->length >= UINT64_MAX || cmd->src_iova >= UINT64_MAX ||
	    cmd->dst_iova >= UINT64_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;
	/* Linux's order: the source range (EINVAL for length 0, ENOENT), then the destination */
	src_ioas = sio_get_ioas(ucmd->ctx, cmd->src_ioas_id);
	if (IS_ERR(src_ioas))
		return PTR_ERR(src_ioas);
	rc = iopt_get_pages_list(&src_ioas->iopt, cmd->src_iova, cmd->length, &pages);
	sio_put_object(ucmd->ctx, &src_ioas->obj);
	if (rc)
		return rc;
	dst_ioas = sio_get_ioas(ucmd->ctx, cmd->dst_ioas_id);
	if (IS_ERR(dst_ioas)) {
		rc = PTR_ERR(dst_ioas);
		goto out_pages;
	}
	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;
	iova = cmd->dst_iova;
	rc = iopt_map_pages_list(&dst_ioas->iopt, pages, &iova, conv_iommu_prot(cmd->flags),
				 flags);
	if (!rc) {
		cmd->dst_iova = iova;
		rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
	}
	sio_put_object(ucmd->ctx, &dst_ioas->obj);
out_pages:
	iopt_free_pages_list(pages);
	return rc;
}

int sio_ioas_unmap(struct sio_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	uint64_t unmapped = 0;
	struct sio_ioas *ioas;
	int rc;

	ioas = sio_get_ioas(ucmd->ctx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (cmd->iova == 0 && cmd->length == UINT64_MAX) {
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
		if (rc)
			goto out_put;
	} else {
		if (cmd->iova >= UINT64_MAX || cmd->length >= UINT64_MAX) {
			rc = -EOVERFLOW;
			goto out_put;
		}
		rc = iopt_unmap_iova(&ioas->iopt, cmd->iova, cmd->length, &unmapped);
		if (rc)
			goto out_put;
		if (!unmapped) {
			rc = -ENOENT;
			goto out_put;
		}
	}
	cmd->length = unmapped;
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	sio_put_object(ucmd->ctx, &ioas->obj);
	return rc;
}

/*
 * CHANGE_PROCESS moves the pin accounting of file-backed mappings to the calling process. In
 * a single process the accounting already belongs to the caller, so what remains is the
 * kernel's validation: every area must be complete and file-backed. In daemon mode the caller
 * is the client the request acts for (mm.h), and the pages' VmPin/VmLck charge moves to it,
 * all IOASes checked first, then all moved.
 */
/* The areas of @iopt: all file-backed, and (in-process) pinned for this process */
static int change_process_check(struct io_pagetable *iopt)
{
	struct iopt_area *area;
	int rc = 0;

	pthread_rwlock_wrlock(&iopt->lock);
	iopt_for_each_area(iopt, area) {
		struct iopt_pages *pages = area->pages;

		if (pages->type != IOPT_ADDRESS_FILE) {
			rc = -EINVAL;
			break;
		}
		if (sio_mm_is_self(pages->mm) && pages->source_pid != sio_self_pid())
			rc = -EOPNOTSUPP;
	}
	pthread_rwlock_unlock(&iopt->lock);
	return rc;
}

static void change_process_move(struct io_pagetable *iopt, struct sio_mm *to)
{
	struct iopt_area *area;

	pthread_rwlock_wrlock(&iopt->lock);
	iopt_for_each_area(iopt, area) {
		pthread_mutex_lock(&area->pages->mutex);
		iopt_pages_change_mm(area->pages, to);
		pthread_mutex_unlock(&area->pages->mutex);
	}
	pthread_rwlock_unlock(&iopt->lock);
}

int sio_ioas_change_process(struct sio_ucmd *ucmd)
{
	struct iommu_ioas_change_process *cmd = ucmd->cmd;
	struct sio_ctx *ctx = ucmd->ctx;
	struct sio_object **ioases;
	uint32_t n = 0;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	pthread_rwlock_wrlock(&ctx->ioas_creation_lock);
	/* Take every IOAS under the table lock, then look at each with only its own lock */
	pthread_mutex_lock(&ctx->obj_lock);
	ioases = sio_calloc(ctx->nobjs ? ctx->nobjs : 1, sizeof(*ioases));
	for (uint32_t id = 1; ioases && id < ctx->nobjs; id++) {
		struct sio_object *obj = ctx->objs[id];

		if (!obj || obj == SIO_OBJ_RESERVED || obj == SIO_OBJ_TOMBSTONE ||
		    obj->type != SIO_OBJ_IOAS || atomic_load(&obj->users) <= 0)
			continue;
		atomic_fetch_add(&obj->users, 1);
		atomic_fetch_add(&obj->shortterm, 1);
		ioases[n++] = obj;
	}
	pthread_mutex_unlock(&ctx->obj_lock);
	if (!ioases)
		rc = -ENOMEM;
	for (uint32_t i = 0; i != n && !rc; i++)
		rc = change_process_check(&container_of(ioases[i], struct sio_ioas, obj)->iopt);
	for (uint32_t i = 0; i != n && !rc; i++)
		change_process_move(&container_of(ioases[i], struct sio_ioas, obj)->iopt,
				    ucmd->mm);
	for (uint32_t i = 0; i != n; i++)
		sio_put_object(ctx, ioases[i]);
	sio_free(ioases);
	pthread_rwlock_unlock(&ctx->ioas_creation_lock);
	return rc;
}

static int option_rlimit_mode(struct iommu_option *cmd, struct sio_ctx *ctx)
{
	int rc = 0;

	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = ctx->account_mode == IOPT_PAGES_ACCOUNT_MM;
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (!sio_capable_sys_resource())
		return -EPERM;
	pthread_mutex_lock(&ctx->obj_lock);
	for (uint32_t id = 1; id < ctx->nobjs; id++) {
		if (ctx->objs[id]) {
			rc = -EBUSY;
			break;
		}
	}
	if (!rc) {
		if (cmd->val64 == 0)
			ctx->account_mode = IOPT_PAGES_ACCOUNT_USER;
		else if (cmd->val64 == 1)
			ctx->account_mode = IOPT_PAGES_ACCOUNT_MM;
		else
			rc = -EINVAL;
	}
	pthread_mutex_unlock(&ctx->obj_lock);
	return rc;
}

static int option_huge_pages(struct iommu_option *cmd, struct sio_ioas *ioas)
{
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = !__atomic_load_n(&ioas->iopt.disable_large_pages, __ATOMIC_RELAXED);
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (cmd->val64 == 0)
		return iopt_disable_large_pages(&ioas->iopt);
	if (cmd->val64 == 1) {
		iopt_enable_large_pages(&ioas->iopt);
		return 0;
	}
	return -EINVAL;
}

static int ioas_option(struct sio_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct sio_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = sio_get_ioas(ucmd->ctx, cmd->object_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (cmd->option_id == IOMMU_OPTION_HUGE_PAGES)
		rc = option_huge_pages(cmd, ioas);
	else
		rc = -EOPNOTSUPP;
	sio_put_object(ucmd->ctx, &ioas->obj);
	return rc;
}

int sio_option_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		rc = option_rlimit_mode(cmd, ucmd->ctx);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		rc = ioas_option(ucmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc)
		return rc;
	if (sio_copy_to_user(ucmd->ubuffer + offsetof(struct iommu_option, val64), &cmd->val64,
			     sizeof(cmd->val64)))
		return -EFAULT;
	return 0;
}
