// SPDX-License-Identifier: MIT
/*
 * vEVENTQs: per-vIOMMU queues of events a hardware model reports for user space (a guest's
 * event queue). Each event is a struct iommufd_vevent_header (flags, sequence) followed by
 * the type's payload; sequences count up modulo INT_MAX + 1. When the queue is full, or an
 * event cannot be stored, a LOST_EVENTS header (payload-less) stands at the tail instead, and
 * a reader sees the gap in the sequence. read() returns whole events only.
 *
 * Locking: veventq->lock protects the list, counters and the lost header; the vIOMMU's
 * veventqs_rwsem protects its list of queues (writers: alloc/destroy; readers: report).
 */
#include <fcntl.h>
#include <limits.h>

#include "../sio.h"
#include "../file.h"

#define VEVENTQ_MAX_DEPTH (1U << 19)

/* The payload follows the header directly: read() copies both in one go */
struct sio_vevent {
	struct list_head node;
	size_t data_len;
	struct iommufd_vevent_header header;
	uint8_t data[];
};
_Static_assert(offsetof(struct sio_vevent, data) ==
	       offsetof(struct sio_vevent, header) + sizeof(struct iommufd_vevent_header),
	       "vEVENT payload must follow its header");

struct sio_veventq {
	struct sio_object obj;
	struct sio_ctx *ctx;
	struct sio_viommu *viommu;
	struct list_head node; /* in viommu->veventqs */
	uint32_t type;
	uint32_t depth;
	pthread_mutex_t lock;
	struct list_head deliver;
	uint32_t num_events;
	uint32_t sequence;
	bool lost_queued;
	bool signalled; /* what the descriptor's eventfd says: readable or not */
	struct sio_file *file;
	/* The LOST_EVENTS header, queued at most once (last: it ends in a flexible array) */
	struct sio_vevent lost;
};

/* q->lock held. Only a change reaches the eventfd: one system call per empty<->non-empty */
static void veventq_update_readable(struct sio_veventq *q)
{
	bool readable = !list_empty(&q->deliver);

	if (q->file && readable != q->signalled) {
		sio_file_set_readable(q->file, readable);
		q->signalled = readable;
	}
}

/* Append @ev (or the lost header) and stamp its sequence; q->lock held */
static void veventq_queue(struct sio_veventq *q, struct sio_vevent *ev)
{
	/* A lost header at the tail is replaced by whatever comes next */
	if (q->lost_queued && q->deliver.prev == &q->lost.node) {
		list_del_init(&q->lost.node);
		q->lost_queued = false;
	}
	list_add_tail(&ev->node, &q->deliver);
	if (ev == &q->lost)
		q->lost_queued = true;
	ev->header.sequence = q->sequence;
	q->sequence = (q->sequence + 1) & INT_MAX;
	veventq_update_readable(q);
}

static struct sio_veventq *viommu_find_veventq(struct sio_viommu *viommu, uint32_t type)
{
	struct sio_veventq *q;

	list_for_each_entry(q, &viommu->veventqs, node)
		if (q->type == type)
			return q;
	return NULL;
}

/**
 * sio_viommu_report_event() - a hardware model reports an event of @type for user space
 *
 * Return: 0; -EOPNOTSUPP when no vEVENTQ of @type exists; -ENOMEM when the event could not be
 * stored (it is reported as lost).
 */
int sio_viommu_report_event(struct sio_viommu *viommu, uint32_t type, const void *data,
			    size_t len)
{
	struct sio_veventq *q;
	struct sio_vevent *ev;
	int rc = 0;

	if (!len || !data)
		return -EINVAL;
	pthread_rwlock_rdlock(&viommu->veventqs_rwsem);
	q = viommu_find_veventq(viommu, type);
	if (!q) {
		rc = -EOPNOTSUPP;
		goto out_unlock;
	}
	ev = sio_zalloc(sizeof(*ev) + len);
	pthread_mutex_lock(&q->lock);
	if (!ev) {
		rc = -ENOMEM;
		ev = &q->lost;
	} else if (q->num_events == q->depth) {
		sio_free(ev);
		ev = &q->lost;
	} else {
		ev->data_len = len;
		memcpy(ev->data, data, len);
		q->num_events++;
	}
	veventq_queue(q, ev);
	pthread_mutex_unlock(&q->lock);
out_unlock:
	pthread_rwlock_unlock(&viommu->veventqs_rwsem);
	return rc;
}

static ssize_t veventq_read(struct sio_file *f, void *buf, size_t count)
{
	const size_t hdr_size = sizeof(struct iommufd_vevent_header);
	struct sio_veventq *q = f->priv;
	size_t done = 0;
	int rc = 0;

	if (count < hdr_size)
		return -EINVAL;
	pthread_mutex_lock(&q->lock);
	while (!list_empty(&q->deliver)) {
		struct sio_vevent *ev = list_first_entry(&q->deliver, struct sio_vevent, node);
		bool lost = ev == &q->lost;

		if (done >= count || hdr_size > count - done)
			break;
		if (!lost && hdr_size + ev->data_len > count - done) {
			if (!done)
				rc = -EINVAL;
			break;
		}
		rc = sio_copy_to_user((uintptr_t)buf + done, &ev->header, hdr_size + ev->data_len);
		if (rc)
			break;
		done += hdr_size + ev->data_len;
		list_del_init(&ev->node);
		if (lost) {
			q->lost_queued = false;
		} else {
			q->num_events--;
			sio_free(ev);
		}
	}
	veventq_update_readable(q);
	pthread_mutex_unlock(&q->lock);
	return done ? (ssize_t)done : rc;
}

static void veventq_release(struct sio_file *f)
{
	struct sio_veventq *q = f->priv;
	struct sio_ctx *ctx = q->ctx;

	pthread_mutex_lock(&q->lock);
	q->file = NULL;
	pthread_mutex_unlock(&q->lock);
	atomic_fetch_sub(&q->obj.users, 1);
	sio_ctx_put(ctx);
}

static const struct sio_file_ops veventq_fops = {
	.name = "iommufd-viommu-event",
	.read = veventq_read,
	.release = veventq_release,
};

/* Called with viommu->veventqs_rwsem held for writing */
void sio_veventq_abort(struct sio_object *obj)
{
	struct sio_veventq *q = container_of(obj, struct sio_veventq, obj);
	struct sio_vevent *ev, *n;

	sio_lockdep_assert_held(&q->viommu->veventqs_rwsem);
	list_for_each_entry_safe(ev, n, &q->deliver, node) {
		list_del_init(&ev->node);
		if (ev != &q->lost)
			sio_free(ev);
	}
	atomic_fetch_sub(&q->viommu->obj.users, 1);
	list_del_init(&q->node);
	pthread_mutex_destroy(&q->lock);
}

void sio_veventq_destroy(struct sio_object *obj)
{
	struct sio_veventq *q = container_of(obj, struct sio_veventq, obj);
	struct sio_viommu *viommu = q->viommu;

	pthread_rwlock_wrlock(&viommu->veventqs_rwsem);
	sio_veventq_abort(obj);
	pthread_rwlock_unlock(&viommu->veventqs_rwsem);
}

int sio_veventq_alloc_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_veventq_alloc *cmd = ucmd->cmd;
	struct sio_object *viommu_obj;
	struct sio_viommu *viommu;
	struct sio_veventq *q;
	int fd, rc;

	if (cmd->flags || cmd->__reserved || cmd->type == IOMMU_VEVENTQ_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	if (!cmd->veventq_depth || cmd->veventq_depth > VEVENTQ_MAX_DEPTH)
		return -EINVAL;
	viommu_obj = sio_get_object(ucmd->ctx, cmd->viommu_id, SIO_OBJ_VIOMMU);
	if (IS_ERR(viommu_obj))
		return PTR_ERR(viommu_obj);
	viommu = container_of(viommu_obj, struct sio_viommu, obj);
	pthread_rwlock_wrlock(&viommu->veventqs_rwsem);
	if (viommu_find_veventq(viommu, cmd->type)) {
		rc = -EEXIST;
		goto out_unlock;
	}
	q = (struct sio_veventq *)sio_object_alloc(ucmd->ctx, sizeof(*q), SIO_OBJ_VEVENTQ);
	if (IS_ERR(q)) {
		rc = PTR_ERR(q);
		goto out_unlock;
	}
	q->ctx = ucmd->ctx;
	q->type = cmd->type;
	q->viommu = viommu;
	atomic_fetch_add(&viommu->obj.users, 1);
	q->depth = cmd->veventq_depth;
	sio_mutex_init(&q->lock, SIO_LOCK_VEVENTQ);
	INIT_LIST_HEAD(&q->deliver);
	INIT_LIST_HEAD(&q->lost.node);
	q->lost.header.flags = IOMMU_VEVENTQ_FLAG_LOST_EVENTS;
	list_add_tail(&q->node, &viommu->veventqs);
	/* The descriptor's references: the object and the context */
	atomic_fetch_add(&q->obj.users, 1);
	sio_ctx_get(ucmd->ctx);
	fd = sio_file_install(&veventq_fops, q, O_CLOEXEC, &q->file);
	if (fd < 0) {
		atomic_fetch_sub(&q->obj.users, 1);
		sio_ctx_put(ucmd->ctx);
		rc = fd;
		goto out_abort;
	}
	cmd->out_veventq_id = q->obj.id;
	cmd->out_veventq_fd = fd;
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		sio_file_close(fd);
		goto out_abort;
	}
	sio_object_finalize(ucmd->ctx, &q->obj);
	goto out_unlock;
out_abort:
	sio_object_abort_and_destroy(ucmd->ctx, &q->obj);
out_unlock:
	pthread_rwlock_unlock(&viommu->veventqs_rwsem);
	sio_put_object(ucmd->ctx, viommu_obj);
	return rc;
}
