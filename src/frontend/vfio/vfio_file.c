// SPDX-License-Identifier: MIT
/*
 * vfio_file.c — the descriptor of an open /dev/vfio/devices/vfioN: Linux 7.2's VFIO device
 * uAPI on a cdev-opened vfio-pci device (drivers/vfio/vfio_main.c, device_cdev.c,
 * pci/vfio_pci_core.c read for behaviour).
 *
 * A descriptor starts without access: every call but VFIO_DEVICE_BIND_IOMMUFD (ioctl, read,
 * write, mmap) is EINVAL until a bind succeeded, and a device is bound through one
 * descriptor at a time (a second bind, on the same or another descriptor, is EINVAL). Bind
 * makes the emulated function an iommufd device of the context, whose dev_id then works in
 * every iommufd ioctl; closing the bound descriptor detaches and unbinds it, turns its
 * interrupts off, resets the model and restores its config space, as closing a vfio-pci
 * device does. The device keeps a reference on the iommufd context while bound, so the
 * iommufd may be closed first.
 *
 * Regions are at Linux's offsets, index << 40 (VFIO_PCI_INDEX_TO_OFFSET); a BAR access is
 * cut at the BAR's end (a short read), starts inside it or is EINVAL, needs memory decode on
 * in the command register (else EIO), and reaches the model in naturally aligned pieces of
 * 8, 4, 2 or 1 bytes, as vfio_pci_core_do_io_rw() issues them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "../../core/file.h"
#include "../../core/sio.h"
#include "../../dma/dma.h"
#include "vfio.h"

#define VFIO_OFFSET_SHIFT 40
#define VFIO_OFFSET_MASK ((1ULL << VFIO_OFFSET_SHIFT) - 1)
#define VFIO_INDEX_TO_OFFSET(i) ((uint64_t)(i) << VFIO_OFFSET_SHIFT)
#define PAGE_SZ 4096ULL
#define ofsend(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

struct svfio_file {
	struct svfio_dev *d;
	atomic_bool access_granted;
};

static const struct sio_file_ops svfio_fops;

static struct svfio_file *to_df(struct sio_file *f)
{
	return f->priv;
}

/* ---- bind, attach, detach (device_cdev.c) ---- */

/*
 * vfio_df_check_token() with vfio-pci's match: the device is neither a PF with a VF token nor
 * a VF, so no token is valid. The UUID is read first (a short argsz left its pointer 0: EFAULT).
 */
static int bind_token(const struct vfio_device_bind_iommufd *bind)
{
	uint8_t uuid[16];

	if (!(bind->flags & VFIO_DEVICE_BIND_FLAG_TOKEN))
		return 0;
	if (sio_copy_from_user(uuid, bind->token_uuid_ptr, sizeof(uuid)))
		return -EFAULT;
	return -EINVAL;
}

static int bind_ctx(int iommufd, struct sio_ctx **out)
{
	*out = sio_ctx_from_fd(iommufd);
	if (*out)
		return 0;
	/* iommufd_ctx_from_fd(): no file EBADF, another file EBADFD */
	if (sio_file_is_fd(iommufd) && sio_file_check(iommufd))
		return -EBADFD;
	return fcntl(iommufd, F_GETFD) < 0 ? -EBADF : -EBADFD;
}

/*
 * As vfio_df_ioctl_bind_iommufd(): argsz, then the struct as copy_struct_from_user() takes it
 * (a larger one needs a zero tail, E2BIG; a smaller one is zero-extended), flags and
 * iommufd, this descriptor bound already, the token, the iommufd, then another descriptor of
 * the device bound (vfio_df_open(): a cdev device opens once).
 */
static long vfio_bind(struct sio_file *f, void *arg)
{
	const size_t minsz = ofsend(struct vfio_device_bind_iommufd, out_devid);
	struct svfio_file *df = to_df(f);
	struct svfio_dev *d = df->d;
	struct vfio_device_bind_iommufd bind = { 0 };
	struct sio_device *idev;
	struct sio_ctx *ctx;
	uint32_t devid, argsz;
	long rc;

	if (sio_copy_from_user(&argsz, (uintptr_t)arg, sizeof(argsz)))
		return -EFAULT;
	if (argsz < minsz)
		return -EINVAL;
	rc = sio_copy_struct_from_user(&bind, sizeof(bind), (uintptr_t)arg, argsz);
	if (rc)
		return rc;
	if (bind.iommufd < 0 || (bind.flags & ~VFIO_DEVICE_BIND_FLAG_TOKEN))
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	rc = atomic_load(&df->access_granted) ? -EINVAL : bind_token(&bind);
	if (rc)
		goto out_unlock;
	rc = bind_ctx(bind.iommufd, &ctx);
	if (rc)
		goto out_unlock;
	rc = d->bound ? -EINVAL : 0;
	if (rc)
		goto out_ctx;
	idev = sio_device_bind(ctx, d->sdev, &devid);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto out_ctx;
	}
	if (sio_copy_to_user((uintptr_t)arg + offsetof(struct vfio_device_bind_iommufd,
						       out_devid), &devid, sizeof(devid))) {
		sio_device_unbind(idev);
		rc = -EFAULT;
		goto out_ctx;
	}
	d->idev = idev;
	d->ctx = ctx;
	d->bound = df;
	/* without one the device still works, only slower */
	d->iotlb = sio_iotlb_alloc(&idev->igroup->dma_gen);
	atomic_store(&df->access_granted, true);
	pthread_mutex_unlock(&d->lock);
	return 0;
out_ctx:
	sio_ctx_put(ctx);
out_unlock:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static long vfio_attach(struct svfio_dev *d, void *arg)
{
	const size_t minsz = ofsend(struct vfio_device_attach_iommufd_pt, pt_id);
	struct vfio_device_attach_iommufd_pt at = { 0 };
	uint32_t pasid = 0, id;
	long rc;

	if (sio_copy_from_user(&at, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (at.argsz < minsz || (at.flags & ~VFIO_DEVICE_ATTACH_PASID))
		return -EINVAL;
	if (at.flags & VFIO_DEVICE_ATTACH_PASID) {
		if (at.argsz < ofsend(struct vfio_device_attach_iommufd_pt, pasid))
			return -EINVAL;
		if (sio_copy_from_user(&at.pasid, (uintptr_t)arg + minsz, sizeof(at.pasid)))
			return -EFAULT;
		pasid = at.pasid;
	}
	id = at.pt_id;
	/* vfio_iommufd_physical_pasid_attach_ioas() tracks PASIDs in an IDA: none above INT_MAX */
	if ((at.flags & VFIO_DEVICE_ATTACH_PASID) && pasid > INT32_MAX)
		return -ENOSPC;
	pthread_mutex_lock(&d->lock);
	if (sio_device_pasid_hwpt(d->idev, pasid))
		rc = sio_device_replace(d->idev, pasid, &id);
	else
		rc = sio_device_attach(d->idev, pasid, &id);
	if (!rc && sio_copy_to_user((uintptr_t)arg + offsetof(struct vfio_device_attach_iommufd_pt,
							      pt_id), &id, sizeof(id))) {
		sio_device_detach(d->idev, pasid);
		rc = -EFAULT;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static long vfio_detach(struct svfio_dev *d, void *arg)
{
	const size_t minsz = ofsend(struct vfio_device_detach_iommufd_pt, flags);
	struct vfio_device_detach_iommufd_pt de = { 0 };
	uint32_t pasid = 0;

	if (sio_copy_from_user(&de, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (de.argsz < minsz || (de.flags & ~VFIO_DEVICE_DETACH_PASID))
		return -EINVAL;
	if (de.flags & VFIO_DEVICE_DETACH_PASID) {
		if (de.argsz < ofsend(struct vfio_device_detach_iommufd_pt, pasid))
			return -EINVAL;
		if (sio_copy_from_user(&de.pasid, (uintptr_t)arg + minsz, sizeof(de.pasid)))
			return -EFAULT;
		pasid = de.pasid;
	}
	pthread_mutex_lock(&d->lock);
	/* detaching what is not attached is a no-op, as vfio_iommufd_physical_detach_ioas() */
	if (sio_device_pasid_hwpt(d->idev, pasid))
		sio_device_detach(d->idev, pasid);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/* ---- info (vfio_pci_core.c) ---- */

static long vfio_get_info(struct svfio_dev *d, void *arg)
{
	const size_t minsz = ofsend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info = { 0 };

	(void)d;
	if (sio_copy_from_user(&info, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	info.cap_offset = 0;
	return sio_copy_to_user((uintptr_t)arg, &info,
				min_t(size_t, info.argsz, sizeof(info))) ? -EFAULT : 0;
}

static long vfio_get_region_info(struct svfio_dev *d, void *arg)
{
	const size_t minsz = ofsend(struct vfio_region_info, offset);
	struct vfio_region_info info = { 0 };
	const struct svfio_bar *b;

	if (sio_copy_from_user(&info, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	switch (info.index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info.size = SVFIO_CFG_SIZE;
		info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
		b = &d->bars[info.index];
		info.size = b->size;
		info.flags = 0;
		if (b->size)
			info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				     (b->mmap ? VFIO_REGION_INFO_FLAG_MMAP : 0);
		break;
	case VFIO_PCI_ROM_REGION_INDEX: /* no ROM BAR and no shadow ROM */
		info.size = 0;
		info.flags = 0;
		break;
	default: /* no VGA, no device-specific regions */
		return -EINVAL;
	}
	info.offset = VFIO_INDEX_TO_OFFSET(info.index);
	info.cap_offset = 0;
	return sio_copy_to_user((uintptr_t)arg, &info, minsz) ? -EFAULT : 0;
}

/*
 * The MSI-X table's bytes in @bar, [*x_start, *x_end), which vfio_pci_bar_rw() keeps from
 * the program (reads are all ones, writes dropped: the VMM emulates the table); empty when
 * the BAR holds none. The PBA is not excluded, as on Linux.
 */
static void msix_excluded(const struct svfio_dev *d, int bar, uint64_t *x_start,
			  uint64_t *x_end)
{
	const struct svfio_cfg *c = &d->cfg;
	uint32_t table;

	*x_start = *x_end = 0;
	if (!c->msix_cap)
		return;
	table = svfio_cfg_get32(c, c->msix_cap + PCI_MSIX_TABLE);
	if ((int)(table & PCI_MSIX_TABLE_BIR) != bar)
		return;
	*x_start = table & PCI_MSIX_TABLE_OFFSET;
	*x_end = *x_start +
		 16ull * ((svfio_cfg_get16(c, c->msix_cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1);
}

/* ---- reset, hot reset, ioeventfd ---- */

static long vfio_reset(struct svfio_dev *d)
{
	pthread_mutex_lock(&d->lock);
	/* a function reset: config space is saved and restored around it (pci_dev_restore) */
	d->model->reset(d);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static long vfio_hot_reset_info(void *arg)
{
	const size_t minsz = ofsend(struct vfio_pci_hot_reset_info, count);
	struct vfio_pci_hot_reset_info hdr;

	if (sio_copy_from_user(&hdr, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz)
		return -EINVAL;
	return -ENODEV; /* on the root bus, with no slot: neither slot nor bus reset */
}

static long vfio_hot_reset(void *arg)
{
	const size_t minsz = ofsend(struct vfio_pci_hot_reset, count);
	struct vfio_pci_hot_reset hdr;

	if (sio_copy_from_user(&hdr, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz || hdr.flags)
		return -EINVAL;
	if (hdr.count) /* a cdev-opened device passes an empty group array */
		return -EINVAL;
	return -ENODEV;
}

static long vfio_ioeventfd(struct svfio_dev *d, void *arg)
{
	const size_t minsz = ofsend(struct vfio_device_ioeventfd, fd);
	struct vfio_device_ioeventfd ev;
	uint32_t size;
	unsigned int bar;
	uint64_t pos, x_start, x_end;

	if (sio_copy_from_user(&ev, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (ev.argsz < minsz || (ev.flags & ~VFIO_DEVICE_IOEVENTFD_SIZE_MASK))
		return -EINVAL;
	size = ev.flags & VFIO_DEVICE_IOEVENTFD_SIZE_MASK;
	if (__builtin_popcount(size) != 1 || ev.fd < -1)
		return -EINVAL;
	bar = (unsigned int)(ev.offset >> VFIO_OFFSET_SHIFT);
	pos = ev.offset & VFIO_OFFSET_MASK;
	if (bar > VFIO_PCI_BAR5_REGION_INDEX || pos + size > d->bars[bar].size)
		return -EINVAL;
	/* vfio_pci_ioeventfd(): never on the MSI-X table */
	msix_excluded(d, (int)bar, &x_start, &x_end);
	if (pos + size > x_start && pos < x_end)
		return -EINVAL;
	if (ev.fd == -1)
		return -ENODEV; /* none registered to remove */
	return -EOPNOTSUPP; /* not modelled: accesses stay trapped (docs/vfio.md) */
}

/* ---- device features (vfio_main.c, vfio_pci_core.c) ---- */

static int check_feature(uint32_t flags, size_t argsz, uint32_t ops, size_t minsz)
{
	if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)) & ~ops)
		return -EINVAL;
	if (flags & VFIO_DEVICE_FEATURE_PROBE)
		return 0;
	if (!(flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)))
		return -EINVAL;
	if (argsz < minsz)
		return -EINVAL;
	return 1;
}

static long feature_low_power(struct svfio_dev *d, struct sio_file *f, uint32_t flags,
			      void *data, size_t argsz, bool entry, bool wakeup)
{
	struct vfio_device_low_power_entry_with_wakeup w;
	int rc, efd;

	rc = check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET, wakeup ? sizeof(w) : 0);
	if (rc != 1)
		return rc;
	if (wakeup) {
		if (sio_copy_from_user(&w, (uintptr_t)data, sizeof(w)))
			return -EFAULT;
		if (w.wakeup_eventfd < 0)
			return -EINVAL;
		rc = svfio_eventfd_hold(f, w.wakeup_eventfd, &efd);
		if (rc)
			return rc;
		svfio_eventfd_drop(&efd); /* the model never wakes by itself */
	}
	pthread_mutex_lock(&d->lock);
	d->low_power = entry;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static long vfio_feature(struct svfio_dev *d, struct sio_file *f, void *arg)
{
	const size_t minsz = ofsend(struct vfio_device_feature, flags);
	const uint32_t valid = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_SET |
			       VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PROBE;
	struct vfio_device_feature ft;
	void *data = (char *)arg + minsz;
	size_t argsz;

	if (sio_copy_from_user(&ft, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (ft.argsz < minsz || (ft.flags & ~valid))
		return -EINVAL;
	if (!(ft.flags & VFIO_DEVICE_FEATURE_PROBE) && (ft.flags & VFIO_DEVICE_FEATURE_SET) &&
	    (ft.flags & VFIO_DEVICE_FEATURE_GET))
		return -EINVAL;
	argsz = ft.argsz - minsz;
	switch (ft.flags & VFIO_DEVICE_FEATURE_MASK) {
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY:
		return feature_low_power(d, f, ft.flags, data, argsz, true, false);
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP:
		return feature_low_power(d, f, ft.flags, data, argsz, true, true);
	case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT:
		return feature_low_power(d, f, ft.flags, data, argsz, false, false);
	case VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2:
		return -EINVAL; /* checks the PRE_COPY migration flag before any ops */
	default:
		/* no migration or dirty-logging ops, not an SR-IOV PF, no dma-buf export */
		return -ENOTTY;
	}
}

/* ---- the file ---- */

static const char *const ioctl_names[] = {
	[VFIO_DEVICE_GET_INFO - VFIO_DEVICE_GET_INFO] = "GET_INFO",
	[VFIO_DEVICE_GET_REGION_INFO - VFIO_DEVICE_GET_INFO] = "GET_REGION_INFO",
	[VFIO_DEVICE_GET_IRQ_INFO - VFIO_DEVICE_GET_INFO] = "GET_IRQ_INFO",
	[VFIO_DEVICE_SET_IRQS - VFIO_DEVICE_GET_INFO] = "SET_IRQS",
	[VFIO_DEVICE_RESET - VFIO_DEVICE_GET_INFO] = "RESET",
	[VFIO_DEVICE_GET_PCI_HOT_RESET_INFO - VFIO_DEVICE_GET_INFO] = "GET_PCI_HOT_RESET_INFO",
	[VFIO_DEVICE_PCI_HOT_RESET - VFIO_DEVICE_GET_INFO] = "PCI_HOT_RESET",
	[VFIO_DEVICE_IOEVENTFD - VFIO_DEVICE_GET_INFO] = "IOEVENTFD",
	[VFIO_DEVICE_FEATURE - VFIO_DEVICE_GET_INFO] = "FEATURE",
	[VFIO_DEVICE_BIND_IOMMUFD - VFIO_DEVICE_GET_INFO] = "BIND_IOMMUFD",
	[VFIO_DEVICE_ATTACH_IOMMUFD_PT - VFIO_DEVICE_GET_INFO] = "ATTACH_IOMMUFD_PT",
	[VFIO_DEVICE_DETACH_IOMMUFD_PT - VFIO_DEVICE_GET_INFO] = "DETACH_IOMMUFD_PT",
};

/* SOFTIOMMU_VFIO_TRACE=1: each device ioctl (and the models' commands) on stderr */
bool svfio_trace_enabled(void)
{
	static atomic_int enabled = -1;

	if (atomic_load(&enabled) < 0) {
		const char *e = getenv("SOFTIOMMU_VFIO_TRACE");

		atomic_store(&enabled, e && *e == '1');
	}
	return atomic_load(&enabled);
}

static void trace_ioctl(const struct svfio_dev *d, unsigned long cmd, long rc)
{
	unsigned long i = cmd - VFIO_DEVICE_GET_INFO;
	const char *name;

	if (!svfio_trace_enabled())
		return;
	name = i < sizeof(ioctl_names) / sizeof(ioctl_names[0]) && ioctl_names[i]
		       ? ioctl_names[i] : "?";
	fprintf(stderr, "softiommu: vfio%u: %s (%#lx) = %ld\n", d->index, name, cmd, rc);
}

static long svfio_ioctl_do(struct sio_file *f, unsigned long cmd, void *arg);

static long svfio_ioctl(struct sio_file *f, unsigned long cmd, void *arg)
{
	long rc = svfio_ioctl_do(f, cmd, arg);

	trace_ioctl(to_df(f)->d, cmd, rc);
	return rc;
}

static long svfio_ioctl_do(struct sio_file *f, unsigned long cmd, void *arg)
{
	struct svfio_file *df = to_df(f);
	struct svfio_dev *d = df->d;
	long rc;

	if (cmd == VFIO_DEVICE_BIND_IOMMUFD)
		return vfio_bind(f, arg);
	if (!atomic_load(&df->access_granted))
		return -EINVAL;
	switch (cmd) {
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		return vfio_attach(d, arg);
	case VFIO_DEVICE_DETACH_IOMMUFD_PT:
		return vfio_detach(d, arg);
	case VFIO_DEVICE_FEATURE:
		return vfio_feature(d, f, arg);
	case VFIO_DEVICE_GET_INFO:
		return vfio_get_info(d, arg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return vfio_get_region_info(d, arg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		pthread_mutex_lock(&d->lock);
		rc = svfio_get_irq_info(d, arg);
		pthread_mutex_unlock(&d->lock);
		return rc;
	case VFIO_DEVICE_SET_IRQS:
		pthread_mutex_lock(&d->lock);
		rc = svfio_set_irqs(d, f, arg);
		pthread_mutex_unlock(&d->lock);
		return rc;
	case VFIO_DEVICE_RESET:
		return vfio_reset(d);
	case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
		return vfio_hot_reset_info(arg);
	case VFIO_DEVICE_PCI_HOT_RESET:
		return vfio_hot_reset(arg);
	case VFIO_DEVICE_IOEVENTFD:
		return vfio_ioeventfd(d, arg);
	default:
		return -ENOTTY;
	}
}

/* One naturally aligned piece of a trapped BAR access */
static int bar_piece(struct svfio_dev *d, int bar, uint8_t *buf, uint64_t pos, size_t n,
		     bool write)
{
	uint64_t v = 0;
	int rc;

	if (write) {
		rc = sio_copy_from_user(&v, (uintptr_t)buf, n);
		if (!rc)
			d->model->bar_write(d, bar, pos, (unsigned int)n, v);
		return rc;
	}
	v = d->model->bar_read(d, bar, pos, (unsigned int)n);
	return sio_copy_to_user((uintptr_t)buf, &v, n); /* little-endian, as the host */
}

/* @len bytes of all ones to the program (a read of an excluded range) */
static int fill_ones(uint8_t *buf, size_t len)
{
	static const uint8_t ones[64] = { [0 ... 63] = 0xff };

	for (size_t done = 0; done < len;) {
		size_t n = min_t(size_t, len - done, sizeof(ones));
		int rc = sio_copy_to_user((uintptr_t)buf + done, ones, n);

		if (rc)
			return rc;
		done += n;
	}
	return 0;
}

/* @len bytes at @pos of a BAR, outside any excluded range, memory decode on */
static ssize_t bar_rw_plain(struct svfio_dev *d, int bar, uint8_t *buf, size_t len,
			    uint64_t pos, bool write)
{
	const struct svfio_bar *b = &d->bars[bar];
	size_t done = 0;

	if (b->ram) {
		int rc = write ? sio_copy_from_user(b->ram + pos, (uintptr_t)buf, len)
			       : sio_copy_to_user((uintptr_t)buf, b->ram + pos, len);

		return rc ? rc : (ssize_t)len;
	}
	while (done < len) {
		uint64_t at = pos + done;
		size_t n = len - done >= 8 && !(at % 8) ? 8 : len - done >= 4 && !(at % 4) ? 4
			 : len - done >= 2 && !(at % 2) ? 2 : 1;
		int rc = bar_piece(d, bar, buf + done, at, n, write);

		if (rc)
			return rc;
		done += n;
	}
	return (ssize_t)done;
}

/*
 * As vfio_pci_bar_rw(): no BAR or a start past its end EINVAL (even for 0 bytes), cut at the
 * end; the MSI-X table reads as ones and drops writes without looking at memory decode, every
 * other piece needs it on (EIO, whatever was moved before).
 */
static ssize_t bar_rw(struct svfio_dev *d, int bar, uint8_t *buf, size_t len, uint64_t pos,
		      bool write)
{
	const struct svfio_bar *b = &d->bars[bar];
	uint64_t x_start, x_end;
	size_t done = 0;

	if (!b->size || pos >= b->size)
		return -EINVAL;
	len = min_t(size_t, len, b->size - pos);
	msix_excluded(d, bar, &x_start, &x_end);
	while (done < len) {
		uint64_t at = pos + done;
		size_t n;
		ssize_t rc;

		if (at >= x_start && at < x_end) {
			n = min_t(size_t, len - done, x_end - at);
			rc = write ? 0 : fill_ones(buf + done, n);
		} else {
			n = at < x_start ? min_t(size_t, len - done, x_start - at) : len - done;
			rc = svfio_mem_enabled(d) ? bar_rw_plain(d, bar, buf + done, n, at, write)
						  : -EIO;
		}
		if (rc < 0)
			return rc;
		done += n;
	}
	return (ssize_t)done;
}

static ssize_t region_rw(struct svfio_dev *d, void *buf, size_t len, uint64_t off, bool write)
{
	uint64_t index = off >> VFIO_OFFSET_SHIFT, pos = off & VFIO_OFFSET_MASK;

	if (index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX: /* vfio_pci_config_rw(): 0 bytes move, unchecked */
		return len ? svfio_cfg_rw(d, buf, len, pos, write) : 0;
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
		return bar_rw(d, (int)index, buf, len, pos, write);
	default: /* ROM: none to read, never writable; VGA: none */
		return -EINVAL;
	}
}

/**
 * sio_vfio_pread() - pread(2)/pwrite(2) on a VFIO device descriptor
 * @fd: the descriptor
 * @buf: the program's buffer
 * @len: bytes
 * @off: region offset (index << 40 | offset in the region)
 * @write: pwrite
 *
 * @not_ours: set when @fd no longer names a softiommu file (the caller passes the call on
 *            to libc)
 *
 * Return: bytes moved (short at a BAR's end), or -errno: ESPIPE another softiommu file,
 * EBADF a descriptor not open for reading (pread) or writing (pwrite), EINVAL before bind or
 * outside a region, EFAULT outside config space or a bad @buf, EIO with memory decode off.
 */
ssize_t sio_vfio_pread(int fd, void *buf, size_t len, uint64_t off, bool write, bool *not_ours)
{
	struct sio_file *f = sio_file_get(fd);
	struct svfio_dev *d;
	int mode;
	ssize_t rc;

	*not_ours = !f;
	if (!f)
		return -EBADF;
	if (f->ops != &svfio_fops) {
		sio_file_put(f);
		return -ESPIPE;
	}
	d = to_df(f)->d;
	mode = f->flags & O_ACCMODE;
	if (mode == (write ? O_RDONLY : O_WRONLY)) {
		rc = -EBADF; /* vfs_read/vfs_write: no FMODE_READ/FMODE_WRITE */
	} else if (!atomic_load(&to_df(f)->access_granted)) {
		rc = -EINVAL;
	} else if ((int64_t)off < 0) {
		rc = -EINVAL;
	} else {
		pthread_mutex_lock(&d->lock);
		rc = region_rw(d, buf, len, off, write);
		pthread_mutex_unlock(&d->lock);
	}
	sio_file_put(f);
	return rc;
}

static int svfio_mmap(struct sio_file *f, void *addr, size_t len, int prot, int flags,
		      off_t off, void **out)
{
	struct svfio_dev *d = to_df(f)->d;
	uint64_t index = (uint64_t)off >> VFIO_OFFSET_SHIFT;
	uint64_t start = (uint64_t)off & VFIO_OFFSET_MASK;
	const struct svfio_bar *b;
	void *p;

	if (!len || ((uint64_t)off & (PAGE_SZ - 1)) || off < 0)
		return -EINVAL;
	/* do_mmap(): a mapping needs the file readable, a shared writable one writable too */
	if ((f->flags & O_ACCMODE) == O_WRONLY ||
	    ((flags & MAP_SHARED) && (prot & PROT_WRITE) && (f->flags & O_ACCMODE) != O_RDWR))
		return -EACCES;
	if (!atomic_load(&to_df(f)->access_granted))
		return -EINVAL;
	if (index >= VFIO_PCI_NUM_REGIONS || !(flags & MAP_SHARED))
		return -EINVAL;
	if (index >= VFIO_PCI_ROM_REGION_INDEX)
		return -EINVAL;
	b = &d->bars[index];
	if (!b->mmap || !b->ram)
		return -EINVAL;
	len = (len + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
	if (start + len > ((b->size + PAGE_SZ - 1) & ~(PAGE_SZ - 1)))
		return -EINVAL;
	/* a second mapping of the BAR's shared pages, where the program asked */
	p = (void *)syscall(SYS_mremap, b->ram + start, 0, len,
			    MREMAP_MAYMOVE | ((flags & MAP_FIXED) ? MREMAP_FIXED : 0), addr);
	if (p == MAP_FAILED)
		return -errno;
	if (prot != (PROT_READ | PROT_WRITE) && syscall(SYS_mprotect, p, len, prot)) {
		int err = errno;

		syscall(SYS_munmap, p, len);
		return -err;
	}
	*out = p;
	return 0;
}

/* Close of the bound descriptor: what vfio_df_close() and vfio_pci_core_disable() undo */
void sio_vfio_unbind_locked(struct svfio_dev *d)
{
	svfio_irqs_release(d);
	sio_device_detach_all(d->idev);
	sio_device_unbind(d->idev);
	/* the model's DMAs run under d->lock, held here: none can still look at it */
	sio_iotlb_free(d->iotlb);
	d->iotlb = NULL;
	sio_ctx_put(d->ctx);
	d->idev = NULL;
	d->ctx = NULL;
	d->bound = NULL;
	d->low_power = false;
	d->model->reset(d);
	d->cfg = d->cfg_saved;
}

static void svfio_release(struct sio_file *f)
{
	struct svfio_file *df = to_df(f);
	struct svfio_dev *d = df->d;

	pthread_mutex_lock(&d->lock);
	if (d->bound == df)
		sio_vfio_unbind_locked(d);
	pthread_mutex_unlock(&d->lock);
	sio_free(df);
}

static const struct sio_file_ops svfio_fops = {
	.name = "vfio-device",
	.ioctl = svfio_ioctl,
	.mmap = svfio_mmap,
	.release = svfio_release,
};

/**
 * sio_vfio_open() - a new descriptor of device @d, as open("/dev/vfio/devices/vfioN")
 * @d: the device
 * @flags: open(2) flags (O_CLOEXEC, O_NONBLOCK are kept)
 *
 * Return: the descriptor or -errno.
 */
int sio_vfio_open(struct svfio_dev *d, int flags)
{
	struct svfio_file *df = sio_zalloc(sizeof(*df));
	int fd;

	if (!df)
		return -ENOMEM;
	df->d = d;
	fd = sio_file_install(&svfio_fops, df, flags, NULL);
	if (fd < 0)
		sio_free(df);
	return fd;
}

/* Whether @f is a VFIO device descriptor, and of which device */
bool sio_vfio_file_index(struct sio_file *f, unsigned int *index)
{
	if (f->ops != &svfio_fops)
		return false;
	*index = to_df(f)->d->index;
	return true;
}

/**
 * svfio_dma() - the device's DMA, translated for its binding (no PASID)
 * @d: the device, locked
 * @iova: I/O virtual address
 * @buf: our buffer
 * @len: bytes
 * @write: to memory
 *
 * Return: 0, or -EFAULT (faulted, or the device is not bound: nothing to translate with).
 */
int svfio_dma(struct svfio_dev *d, uint64_t iova, void *buf, size_t len, bool write)
{
	int rc;

	if (!d->idev || !svfio_bus_master(d)) {
		d->dma_faults++;
		return -EFAULT;
	}
	rc = sio_dma_rw(d->idev, d->iotlb, 0, iova, buf, len, write, NULL);
	if (rc)
		d->dma_faults++;
	return rc;
}
