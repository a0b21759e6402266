// SPDX-License-Identifier: MIT
/*
 * State dump: a context's objects and mappings as text or JSON, for people and for tools
 * (`softiommu dump -- CMD`, or softiommu_dump() from a program). The dump takes the same locks
 * the ioctls take, one object at a time, so it is a consistent view of each object but not an
 * atomic snapshot of the whole context.
 */
#include <stdarg.h>
#include <stdio.h>

#include <softiommu/softiommu.h>

#include "../sio.h"
#include "../file.h"

bool sio_file_is_ctx(struct sio_file *f);
void sio_ctx_for_each(void (*fn)(int fd, struct sio_file *f, void *arg), void *arg);

static const char *const type_names[SIO_OBJ_MAX] = {
	[SIO_OBJ_NONE] = "none",		[SIO_OBJ_DEVICE] = "device",
	[SIO_OBJ_HWPT_PAGING] = "hwpt_paging",	[SIO_OBJ_HWPT_NESTED] = "hwpt_nested",
	[SIO_OBJ_IOAS] = "ioas",		[SIO_OBJ_ACCESS] = "access",
	[SIO_OBJ_FAULT] = "fault",		[SIO_OBJ_VIOMMU] = "viommu",
	[SIO_OBJ_VDEVICE] = "vdevice",		[SIO_OBJ_VEVENTQ] = "veventq",
	[SIO_OBJ_HW_QUEUE] = "hw_queue",	[SIO_OBJ_DRIVER] = "driver",
};

struct out {
	FILE *f;
	bool json;
	bool first; /* no comma before the next JSON array element */
};

static void emit(struct out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(o->f, fmt, ap);
	va_end(ap);
}

static const char *pages_type(const struct iopt_pages *pages)
{
	switch (pages->type) {
	case IOPT_ADDRESS_USER:
		return "user";
	case IOPT_ADDRESS_FILE:
		return "file";
	case IOPT_ADDRESS_DMABUF:
		return "dmabuf";
	}
	return "?";
}

static void dump_ioas(struct out *o, struct sio_ioas *ioas)
{
	struct io_pagetable *iopt = &ioas->iopt;

	pthread_rwlock_wrlock(&iopt->lock);
	if (o->json)
		emit(o, ", \"iova_alignment\": %llu, \"domains\": %zu, \"areas\": [",
		     (unsigned long long)iopt->iova_alignment, iopt->ndomains);
	else
		emit(o, " iova_alignment=%llu domains=%zu areas=%zu\n",
		     (unsigned long long)iopt->iova_alignment, iopt->ndomains, iopt->nareas);
	size_t i = 0;
	struct iopt_area *a;

	iopt_for_each_area(iopt, a) {
		uint64_t src = a->pages->type == IOPT_ADDRESS_USER ? a->pages->uptr :
								     a->pages->file_start;

		if (o->json)
			emit(o, "%s{\"iova\": %llu, \"last\": %llu, \"backing\": \"%s\", "
				"\"source\": %llu, \"read\": %s, \"write\": %s, \"pinned\": %s}",
			     i ? ", " : "", (unsigned long long)a->iova,
			     (unsigned long long)a->last, pages_type(a->pages),
			     (unsigned long long)(src + a->start_byte),
			     a->iommu_prot & SIO_PROT_READ ? "true" : "false",
			     a->iommu_prot & SIO_PROT_WRITE ? "true" : "false",
			     a->filled ? "true" : "false");
		else
			emit(o, "      [0x%llx, 0x%llx] %s 0x%llx %c%c%s\n",
			     (unsigned long long)a->iova, (unsigned long long)a->last,
			     pages_type(a->pages), (unsigned long long)(src + a->start_byte),
			     a->iommu_prot & SIO_PROT_READ ? 'r' : '-',
			     a->iommu_prot & SIO_PROT_WRITE ? 'w' : '-',
			     a->filled ? " pinned" : "");
		i++;
	}
	if (o->json)
		emit(o, "]");
	pthread_rwlock_unlock(&iopt->lock);
}

/* @obj is held by the dump itself: users as the rest of the graph sees it is one less */
static void dump_object(struct out *o, struct sio_object *obj)
{
	const char *name = obj->type < SIO_OBJ_MAX && type_names[obj->type] ?
				   type_names[obj->type] : "?";

	if (o->json)
		emit(o, "%s{\"id\": %u, \"type\": \"%s\", \"users\": %d", o->first ? "" : ", ",
		     obj->id, name, atomic_load(&obj->users) - 1);
	else
		emit(o, "  %-4u %-12s users=%d", obj->id, name, atomic_load(&obj->users) - 1);
	o->first = false;
	switch (obj->type) {
	case SIO_OBJ_IOAS:
		dump_ioas(o, container_of(obj, struct sio_ioas, obj));
		break;
	case SIO_OBJ_HWPT_PAGING: {
		struct sio_hwpt_paging *h = container_of(obj, struct sio_hwpt_paging, common.obj);

		emit(o, o->json ? ", \"ioas\": %u, \"auto\": %s, \"nest_parent\": %s" :
				  " ioas=%u%s%s\n",
		     h->ioas->obj.id, o->json ? (h->auto_domain ? "true" : "false") :
					       (h->auto_domain ? " auto" : ""),
		     o->json ? (h->nest_parent ? "true" : "false") :
			       (h->nest_parent ? " nest_parent" : ""));
		break;
	}
	case SIO_OBJ_HWPT_NESTED: {
		struct sio_hwpt_nested *h = container_of(obj, struct sio_hwpt_nested, common.obj);

		emit(o, o->json ? ", \"parent\": %u" : " parent=%u\n", h->parent->common.obj.id);
		break;
	}
	case SIO_OBJ_DEVICE: {
		struct sio_device *d = container_of(obj, struct sio_device, obj);
		struct sio_hw_pagetable *h = sio_device_pasid_hwpt(d, SIO_NO_PASID);
		char info[128] = "";

		if (d->dev->ops->dump_dev)
			d->dev->ops->dump_dev(d->dev, info, sizeof(info));
		emit(o, o->json ? ", \"name\": \"%s\", \"attached\": %u" : " %s attached=%u",
		     d->dev->name, h ? h->obj.id : 0);
		if (info[0])
			emit(o, o->json ? ", \"driver\": \"%s\"" : " %s", info);
		if (!o->json)
			emit(o, "\n");
		break;
	}
	case SIO_OBJ_VDEVICE: {
		struct sio_vdevice *v = container_of(obj, struct sio_vdevice, obj);

		emit(o, o->json ? ", \"viommu\": %u, \"device\": %u, \"virt_id\": %llu" :
				  " viommu=%u device=%u virt_id=0x%llx\n",
		     v->viommu->obj.id, v->idev->obj.id, (unsigned long long)v->virt_id);
		break;
	}
	case SIO_OBJ_VIOMMU: {
		struct sio_viommu *v = container_of(obj, struct sio_viommu, obj);

		emit(o, o->json ? ", \"parent\": %u, \"viommu_type\": %u" :
				  " parent=%u type=0x%x\n",
		     v->hwpt->common.obj.id, v->type);
		break;
	}
	default:
		if (!o->json)
			emit(o, "\n");
		break;
	}
	if (o->json)
		emit(o, "}");
}

static int dump_ctx(struct sio_ctx *ctx, int fd, struct out *o)
{
	unsigned long pinned, locked;

	softiommu_pinned_pages(&pinned, &locked);
	if (o->json)
		emit(o, "{\"iommufd\": %d, \"pinned_pages\": %lu, \"objects\": [", fd, pinned);
	else
		emit(o, "iommufd %d (process pins %lu pages)\n", fd, pinned);
	o->first = true;
	for (uint32_t id = 1;; id++) {
		struct sio_object *obj;

		pthread_mutex_lock(&ctx->obj_lock);
		if (id >= ctx->nobjs) {
			pthread_mutex_unlock(&ctx->obj_lock);
			break;
		}
		obj = ctx->objs[id];
		if (!obj || obj == SIO_OBJ_RESERVED || obj == SIO_OBJ_TOMBSTONE) {
			pthread_mutex_unlock(&ctx->obj_lock);
			continue;
		}
		/* Hold it like an ioctl would, so it cannot go while we print */
		atomic_fetch_add(&obj->users, 1);
		atomic_fetch_add(&obj->shortterm, 1);
		pthread_mutex_unlock(&ctx->obj_lock);
		dump_object(o, obj);
		sio_put_object(ctx, obj);
	}
	emit(o, o->json ? "]}\n" : "");
	return 0;
}

/* Dump one context (used by the shim's dump-on-close hook) */
void sio_dump_ctx(struct sio_ctx *ctx, FILE *out, unsigned int flags)
{
	struct out o = { .f = out, .json = flags & SOFTIOMMU_DUMP_JSON };

	dump_ctx(ctx, ctx->fd, &o);
	fflush(out);
}

int softiommu_dump(int fd, FILE *out, unsigned int flags)
{
	struct out o = { .f = out, .json = flags & SOFTIOMMU_DUMP_JSON };
	struct sio_file *f = sio_file_get(fd);
	int rc;

	if (!f)
		return -EBADF;
	if (!sio_file_is_ctx(f)) {
		sio_file_put(f);
		return -EINVAL;
	}
	rc = dump_ctx(f->priv, fd, &o);
	fflush(out);
	sio_file_put(f);
	return rc;
}

static void dump_one(int fd, struct sio_file *f, void *arg)
{
	struct out *o = arg;

	dump_ctx(f->priv, fd, o);
}

void softiommu_dump_all(FILE *out, unsigned int flags)
{
	struct out o = { .f = out, .json = flags & SOFTIOMMU_DUMP_JSON };

	sio_ctx_for_each(dump_one, &o);
	fflush(out);
}
