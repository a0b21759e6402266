// SPDX-License-Identifier: MIT
/*
 * Fault queues (IOMMU_FAULT_QUEUE_ALLOC): recoverable I/O page faults of HWPTs that name the
 * queue are delivered to user space through the queue's descriptor. read() returns whole
 * fault groups as struct iommu_hwpt_pgfault records, each tagged with a cookie; write() of
 * struct iommu_hwpt_page_response with that cookie completes the group. Faults still pending
 * when their attachment goes away are completed as INVALID, as Linux does.
 *
 * Every completion — a response written, or INVALID when the attachment goes — reaches the
 * device's model (its page_response op), which resumes or terminates the stalled request.
 *
 * The descriptor holds a users reference on the object, so the object outlives it (DESTROY is
 * EBUSY while the descriptor is open). Locking: fault->lock protects both lists.
 */
#include <fcntl.h>

#include "../sio.h"
#include "../file.h"

struct sio_iopf_group {
	struct list_head node;
	struct iommu_hwpt_pgfault rec; /* one fault per group: PRI "last page" requests */
	uint32_t cookie;
	struct sio_igroup *igroup;
	struct sio_dev *dev; /* alive while attached: its detach completes the group */
	uint32_t pasid;
};

struct sio_fault {
	struct sio_object obj;
	struct sio_ctx *ctx;
	pthread_mutex_t lock;
	struct list_head deliver;  /* not yet read */
	struct list_head response; /* read, waiting for a response */
	bool signalled; /* what the descriptor's eventfd says: readable or not */
	struct sio_file *file;
};

/* fault->lock held. Only a change reaches the eventfd: one system call per transition */
static void fault_update_readable(struct sio_fault *fault)
{
	bool readable = !list_empty(&fault->deliver);

	if (fault->file && readable != fault->signalled) {
		sio_file_set_readable(fault->file, readable);
		fault->signalled = readable;
	}
}

/* Tell the model how @g ended; fault->lock held, @g's attachment still in place */
static void group_respond(struct sio_iopf_group *g, uint32_t code)
{
	struct sio_page_response resp = {
		.pasid = g->rec.pasid,
		.pasid_valid = g->rec.flags & IOMMU_PGFAULT_FLAGS_PASID_VALID,
		.grpid = g->rec.grpid,
		.code = code,
		.addr = g->rec.addr,
	};

	if (g->dev && g->dev->ops->page_response)
		g->dev->ops->page_response(g->dev, &resp);
}

static void free_groups(struct list_head *list)
{
	struct sio_iopf_group *g, *n;

	list_for_each_entry_safe(g, n, list, node) {
		list_del_init(&g->node);
		sio_free(g);
	}
}

void sio_fault_destroy(struct sio_object *obj)
{
	struct sio_fault *fault = container_of(obj, struct sio_fault, obj);

	/* Nothing can reach the queue any more: complete everything as INVALID */
	free_groups(&fault->deliver);
	free_groups(&fault->response);
	pthread_mutex_destroy(&fault->lock);
}

struct sio_fault *sio_get_fault(struct sio_ucmd *ucmd, uint32_t id)
{
	struct sio_object *obj = sio_get_object(ucmd->ctx, id, SIO_OBJ_FAULT);

	return IS_ERR(obj) ? ERR_CAST(obj) : container_of(obj, struct sio_fault, obj);
}

struct sio_object *sio_fault_obj(struct sio_fault *fault)
{
	return &fault->obj;
}

void sio_fault_hold(struct sio_fault *fault)
{
	atomic_fetch_add(&fault->obj.users, 1);
}

void sio_fault_put_hwpt_ref(struct sio_fault *fault)
{
	atomic_fetch_sub(&fault->obj.users, 1);
}

/*
 * The lowest cookie from 1 that no group awaiting its response holds, as Linux's
 * xa_alloc() on an XA_FLAGS_ALLOC1 array hands them out: an answered cookie comes back.
 */
static uint32_t fault_alloc_cookie(struct sio_fault *fault)
{
	for (uint32_t cookie = 1;; cookie++) {
		struct sio_iopf_group *g;
		bool used = false;

		list_for_each_entry(g, &fault->response, node) {
			if (g->cookie == cookie) {
				used = true;
				break;
			}
		}
		if (!used)
			return cookie;
	}
}

static ssize_t fault_read(struct sio_file *f, void *buf, size_t count)
{
	const size_t rec_size = sizeof(struct iommu_hwpt_pgfault);
	struct sio_fault *fault = f->priv;
	size_t done = 0;
	int rc = 0;

	if (count % rec_size)
		return -ESPIPE;
	pthread_mutex_lock(&fault->lock);
	while (!list_empty(&fault->deliver)) {
		struct sio_iopf_group *g = list_first_entry(&fault->deliver, struct sio_iopf_group,
							    node);

		if (done >= count || rec_size > count - done) {
			if (!done)
				rc = -EINVAL;
			break;
		}
		g->cookie = fault_alloc_cookie(fault);
		g->rec.cookie = g->cookie;
		rc = sio_copy_to_user((uintptr_t)buf + done, &g->rec, rec_size);
		if (rc)
			break;
		list_del_init(&g->node);
		list_add_tail(&g->node, &fault->response);
		done += rec_size;
	}
	fault_update_readable(fault);
	pthread_mutex_unlock(&fault->lock);
	return done ? (ssize_t)done : rc;
}

static ssize_t fault_write(struct sio_file *f, const void *buf, size_t count)
{
	const size_t resp_size = sizeof(struct iommu_hwpt_page_response);
	struct sio_fault *fault = f->priv;
	size_t done = 0;
	int rc = 0;

	if (count % resp_size)
		return -ESPIPE;
	pthread_mutex_lock(&fault->lock);
	while (count > done) {
		struct iommu_hwpt_page_response resp;
		struct sio_iopf_group *g, *found = NULL;

		rc = sio_copy_from_user(&resp, (uintptr_t)buf + done, resp_size);
		if (rc)
			break;
		if (resp.code != IOMMUFD_PAGE_RESP_SUCCESS &&
		    resp.code != IOMMUFD_PAGE_RESP_INVALID) {
			rc = -EINVAL;
			break;
		}
		list_for_each_entry(g, &fault->response, node) {
			if (g->cookie == resp.cookie) {
				found = g;
				break;
			}
		}
		if (!found) {
			rc = -EINVAL;
			break;
		}
		group_respond(found, resp.code);
		list_del_init(&found->node);
		sio_free(found);
		done += resp_size;
	}
	pthread_mutex_unlock(&fault->lock);
	return done ? (ssize_t)done : rc;
}

static void fault_release(struct sio_file *f)
{
	struct sio_fault *fault = f->priv;

	struct sio_ctx *ctx = fault->ctx;

	pthread_mutex_lock(&fault->lock);
	fault->file = NULL;
	pthread_mutex_unlock(&fault->lock);
	atomic_fetch_sub(&fault->obj.users, 1);
	sio_ctx_put(ctx);
}

static const struct sio_file_ops fault_fops = {
	.name = "iommufd-pgfault",
	.read = fault_read,
	.write = fault_write,
	.release = fault_release,
};

int sio_fault_alloc_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_fault_alloc *cmd = ucmd->cmd;
	struct sio_fault *fault;
	int fd, rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	fault = (struct sio_fault *)sio_object_alloc_ucmd(ucmd, sizeof(*fault), SIO_OBJ_FAULT);
	if (IS_ERR(fault))
		return PTR_ERR(fault);
	sio_mutex_init(&fault->lock, SIO_LOCK_FAULT);
	INIT_LIST_HEAD(&fault->deliver);
	INIT_LIST_HEAD(&fault->response);
	/* The descriptor's references: on the object and on the context */
	fault->ctx = ucmd->ctx;
	atomic_fetch_add(&fault->obj.users, 1);
	sio_ctx_get(ucmd->ctx);
	fd = sio_file_install(&fault_fops, fault, O_CLOEXEC, &fault->file);
	if (fd < 0) {
		atomic_fetch_sub(&fault->obj.users, 1);
		sio_ctx_put(ucmd->ctx);
		return fd;
	}
	cmd->out_fault_id = fault->obj.id;
	cmd->out_fault_fd = fd;
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		sio_file_close(fd); /* drops the descriptor's reference; abort follows */
	return rc;
}

/**
 * sio_report_iopf() - a device raised a recoverable page fault on (@idev, @pasid)
 *
 * Delivered to the fault queue of the HWPT the PASID is attached to; with no queue the
 * request is completed as a failure at once (nothing to deliver). Returns 0 when queued.
 */
/* As sio_report_iopf(), with idev->igroup->lock held (read or write) */
int __sio_report_iopf(struct sio_device *idev, uint32_t pasid, uint32_t flags, uint32_t grpid,
		      uint32_t perm, uint64_t addr)
{
	struct sio_hw_pagetable *hwpt;
	uint32_t handle_pasid;
	struct sio_iopf_group *g;
	struct sio_fault *fault;

	/* The attachment that translates the request takes its fault */
	hwpt = __sio_device_xlate_hwpt(idev, pasid, flags & IOMMU_PGFAULT_FLAGS_PASID_VALID,
				       &handle_pasid);
	if (!hwpt || !hwpt->fault)
		return -EOPNOTSUPP;
	g = sio_zalloc(sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->rec = (struct iommu_hwpt_pgfault){
		.flags = flags, .dev_id = idev->obj.id, .pasid = pasid, .grpid = grpid,
		.perm = perm, .addr = addr,
	};
	/* The attachment that took the fault; its departure completes the fault */
	g->igroup = idev->igroup;
	g->dev = idev->dev;
	g->pasid = handle_pasid;
	fault = hwpt->fault;
	pthread_mutex_lock(&fault->lock);
	list_add_tail(&g->node, &fault->deliver);
	fault_update_readable(fault);
	pthread_mutex_unlock(&fault->lock);
	return 0;
}

int sio_report_iopf(struct sio_device *idev, uint32_t pasid, uint32_t flags, uint32_t grpid,
		    uint32_t perm, uint64_t addr)
{
	int rc;

	/* The attachment cannot change (nor its HWPT go) while the fault is queued */
	pthread_rwlock_rdlock(&idev->igroup->lock);
	rc = __sio_report_iopf(idev, pasid, flags, grpid, perm, addr);
	pthread_rwlock_unlock(&idev->igroup->lock);
	return rc;
}

/* (@igroup, @pasid) no longer translates through @hwpt: complete its pending faults */
void sio_fault_auto_response(struct sio_hw_pagetable *hwpt, struct sio_igroup *igroup,
			     uint32_t pasid)
{
	struct sio_fault *fault = hwpt->fault;
	struct list_head *lists[2];
	struct sio_iopf_group *g, *n;

	if (!fault)
		return;
	lists[0] = &fault->deliver;
	lists[1] = &fault->response;
	pthread_mutex_lock(&fault->lock);
	for (int i = 0; i < 2; i++) {
		list_for_each_entry_safe(g, n, lists[i], node) {
			if (g->igroup != igroup || g->pasid != pasid)
				continue;
			group_respond(g, IOMMUFD_PAGE_RESP_INVALID);
			list_del_init(&g->node);
			sio_free(g);
		}
	}
	fault_update_readable(fault);
	pthread_mutex_unlock(&fault->lock);
}

/* @dev left the attachment of @hwpt that its pending faults were taken on (others remain) */
void sio_fault_forget_dev(struct sio_hw_pagetable *hwpt, struct sio_dev *dev)
{
	struct sio_fault *fault = hwpt->fault;
	struct list_head *lists[2];
	struct sio_iopf_group *g;

	if (!fault)
		return;
	lists[0] = &fault->deliver;
	lists[1] = &fault->response;
	pthread_mutex_lock(&fault->lock);
	for (int i = 0; i < 2; i++)
		list_for_each_entry(g, lists[i], node)
			if (g->dev == dev)
				g->dev = NULL;
	pthread_mutex_unlock(&fault->lock);
}
