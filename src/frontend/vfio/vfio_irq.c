// SPDX-License-Identifier: MIT
/*
 * vfio_irq.c — a VFIO PCI device's interrupts: VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_SET_IRQS
 * and the eventfds they install, signalled when the model raises INTx, an MSI or an MSI-X
 * vector.
 *
 * The rules are Linux 7.2's (vfio_set_irqs_validate_and_prepare() in vfio_main.c, then
 * vfio_pci_set_irqs_ioctl() in vfio_pci_intrs.c): the header's index, start/count range and
 * data type are checked against the count the device has for that index, then the action
 * picks a handler, and an index/action pair without one is ENOTTY. INTx is level triggered
 * and automasked: the first edge masks it and signals, further assertions wait for an
 * unmask, which signals again when the line is still up. MSI and MSI-X share the vector
 * slots (one of them is on at a time); MSI-X's table and PBA are the VMM's to emulate.
 *
 * An eventfd the program passes is duplicated and held as one of softiommu's internal
 * descriptors (out of the program's close()/close_range()), as the kernel holds an
 * eventfd_ctx: the program may close its number at once. An unmask eventfd (the KVM
 * resampler's) is read when the model next changes its line or the device is used: there is
 * no thread waiting on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "../../core/file.h"
#include "../../core/sio.h"
#include "vfio.h"

#define IRQ_NONE -1
#define SET_IRQS_MINSZ (offsetof(struct vfio_irq_set, count) + sizeof(uint32_t))

void svfio_irqs_init(struct svfio_irqs *irqs)
{
	irqs->type = IRQ_NONE;
	irqs->intx_trigger = -1;
	irqs->intx_unmask = -1;
	irqs->intx_masked = false;
	irqs->msi_nvec = 0;
	for (int i = 0; i < SVFIO_MAX_VECTORS; i++)
		irqs->msi_trigger[i] = -1;
	irqs->req_trigger = -1;
}

/* ---- held eventfds ---- */

/* Whether @fd names an eventfd: what eventfd_ctx_fdget() accepts */
static int check_eventfd(int fd)
{
	char link[64], target[64];
	ssize_t n;

	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -EBADF;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") ? -EINVAL : 0;
}

/**
 * svfio_eventfd_hold() - take a reference on the program's eventfd @fd
 * @f: the device file it is held for
 * @fd: the program's descriptor
 * @out: our own descriptor of it
 *
 * Return: 0, -EBADF (not open), -EINVAL (not an eventfd), -EMFILE.
 */
int svfio_eventfd_hold(struct sio_file *f, int fd, int *out)
{
	int rc = check_eventfd(fd), held;

	if (rc)
		return rc;
	if (sio_should_fail())
		return -ENOMEM;
	held = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (held < 0)
		return -errno;
	rc = sio_file_hold_fd(f, held);
	if (rc) {
		syscall(SYS_close, held);
		return rc;
	}
	*out = held;
	return 0;
}

void svfio_eventfd_drop(int *fd)
{
	if (*fd >= 0)
		sio_file_drop_fd(*fd);
	*fd = -1;
}

void svfio_eventfd_signal(int fd)
{
	uint64_t one = 1;

	if (fd >= 0)
		(void)!syscall(SYS_write, fd, &one, sizeof(one));
}

/* Replace *@slot with @held (which may be -1) */
static void trigger_replace(int *slot, int held)
{
	svfio_eventfd_drop(slot);
	*slot = held;
}

/* ---- counts and info ---- */

static unsigned int irq_count(const struct svfio_dev *d, uint32_t index)
{
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		return d->cfg.data[PCI_INTERRUPT_PIN] ? 1 : 0;
	case VFIO_PCI_MSI_IRQ_INDEX:
		if (!d->cfg.msi_cap)
			return 0;
		return 1U << ((svfio_cfg_get16(&d->cfg, d->cfg.msi_cap + PCI_MSI_FLAGS) &
			       PCI_MSI_FLAGS_QMASK) >> 1);
	case VFIO_PCI_MSIX_IRQ_INDEX:
		if (!d->cfg.msix_cap)
			return 0;
		return (svfio_cfg_get16(&d->cfg, d->cfg.msix_cap + PCI_MSIX_FLAGS) &
			PCI_MSIX_FLAGS_QSIZE) + 1;
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	default: /* ERR only for PCI Express */
		return 0;
	}
}

/**
 * svfio_get_irq_info() - VFIO_DEVICE_GET_IRQ_INFO
 * @d: the device, locked
 * @arg: the program's struct vfio_irq_info
 *
 * Return: 0, -EFAULT, or -EINVAL for a short argsz or an index the function lacks.
 */
long svfio_get_irq_info(struct svfio_dev *d, void *arg)
{
	const size_t minsz = offsetof(struct vfio_irq_info, count) + sizeof(uint32_t);
	struct vfio_irq_info info;

	if (sio_copy_from_user(&info, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	if (info.index == VFIO_PCI_ERR_IRQ_INDEX)
		return -EINVAL; /* not PCI Express */
	info.flags = VFIO_IRQ_INFO_EVENTFD;
	info.count = irq_count(d, info.index);
	if (info.index == VFIO_PCI_INTX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else
		info.flags |= VFIO_IRQ_INFO_NORESIZE; /* no dynamic MSI-X */
	return sio_copy_to_user((uintptr_t)arg, &info, minsz) ? -EFAULT : 0;
}

/* ---- INTx ---- */

static void intx_signal(struct svfio_dev *d)
{
	if (d->irqs.type == VFIO_PCI_INTX_IRQ_INDEX)
		svfio_eventfd_signal(d->irqs.intx_trigger);
}

/* The line, seen by the host's handler: the first assertion masks and signals */
static void intx_deliver(struct svfio_dev *d)
{
	if (d->irqs.type != VFIO_PCI_INTX_IRQ_INDEX || !d->irqs.intx_asserted ||
	    d->irqs.intx_masked)
		return;
	d->irqs.intx_masked = true;
	intx_signal(d);
}

static void intx_unmask(struct svfio_dev *d)
{
	if (d->irqs.type != VFIO_PCI_INTX_IRQ_INDEX)
		return;
	d->irqs.intx_masked = false;
	intx_deliver(d);
}

/* A write to the unmask eventfd since we last looked unmasks */
static void intx_poll_unmask(struct svfio_dev *d)
{
	struct pollfd p = { .fd = d->irqs.intx_unmask, .events = POLLIN };
	uint64_t v;

	if (p.fd < 0 || poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
		return;
	if (syscall(SYS_read, p.fd, &v, sizeof(v)) == sizeof(v))
		intx_unmask(d);
}

void svfio_set_intx(struct svfio_dev *d, bool level)
{
	intx_poll_unmask(d);
	d->irqs.intx_asserted = level;
	intx_deliver(d);
}

static void intx_disable(struct svfio_dev *d)
{
	svfio_eventfd_drop(&d->irqs.intx_trigger);
	svfio_eventfd_drop(&d->irqs.intx_unmask);
	d->irqs.intx_masked = false;
	d->irqs.type = IRQ_NONE;
}

static int intx_check(struct svfio_dev *d, uint32_t start, uint32_t count)
{
	return d->irqs.type != VFIO_PCI_INTX_IRQ_INDEX || start || count != 1 ? -EINVAL : 0;
}

static int intx_mask(struct svfio_dev *d, uint32_t start, uint32_t count, uint32_t flags,
		     const void *data)
{
	if (intx_check(d, start, count))
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD)
		return -ENOTTY; /* Linux has no masking eventfd either */
	if ((flags & VFIO_IRQ_SET_DATA_NONE) || *(const uint8_t *)data)
		d->irqs.intx_masked = true;
	return 0;
}

static int intx_unmask_set(struct svfio_dev *d, struct sio_file *f, uint32_t start,
			   uint32_t count, uint32_t flags, const void *data)
{
	int32_t fd;
	int held, rc;

	if (intx_check(d, start, count))
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_NONE) {
		intx_unmask(d);
	} else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (*(const uint8_t *)data)
			intx_unmask(d);
	} else {
		memcpy(&fd, data, sizeof(fd));
		if (fd < 0) {
			svfio_eventfd_drop(&d->irqs.intx_unmask);
			return 0;
		}
		rc = svfio_eventfd_hold(f, fd, &held);
		if (rc)
			return rc;
		trigger_replace(&d->irqs.intx_unmask, held);
	}
	return 0;
}

static int intx_trigger(struct svfio_dev *d, struct sio_file *f, uint32_t start,
			uint32_t count, uint32_t flags, const void *data)
{
	bool is_intx = d->irqs.type == VFIO_PCI_INTX_IRQ_INDEX;
	int32_t fd;
	int held = -1, rc;

	if (is_intx && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		intx_disable(d);
		return 0;
	}
	if (!(is_intx || d->irqs.type == IRQ_NONE) || start || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		memcpy(&fd, data, sizeof(fd));
		if (fd >= 0 && (rc = svfio_eventfd_hold(f, fd, &held)))
			return rc;
		trigger_replace(&d->irqs.intx_trigger, held);
		if (!is_intx) {
			d->irqs.type = VFIO_PCI_INTX_IRQ_INDEX;
			d->irqs.intx_masked = false;
			intx_deliver(d); /* a level already up fires at once */
		}
		return 0;
	}
	if (!is_intx)
		return -EINVAL;
	if ((flags & VFIO_IRQ_SET_DATA_NONE) || *(const uint8_t *)data)
		intx_signal(d); /* loopback: signal without touching the mask */
	return 0;
}

/* ---- MSI and MSI-X ---- */

static void msi_disable(struct svfio_dev *d)
{
	for (int i = 0; i < d->irqs.msi_nvec; i++)
		svfio_eventfd_drop(&d->irqs.msi_trigger[i]);
	d->irqs.msi_nvec = 0;
	d->irqs.type = IRQ_NONE;
}

/* Install @count eventfds (-1: none) from vector @start; all or nothing */
static int msi_set_block(struct svfio_dev *d, struct sio_file *f, uint32_t start,
			 uint32_t count, const int32_t *fds)
{
	int held[SVFIO_MAX_VECTORS];
	int rc;

	for (uint32_t i = 0; i < count && i < SVFIO_MAX_VECTORS; i++)
		held[i] = -1;
	for (uint32_t i = 0; i < count; i++) {
		if (start + i >= (uint32_t)d->irqs.msi_nvec) {
			rc = -EINVAL;
			goto unwind;
		}
		if (fds[i] >= 0 && (rc = svfio_eventfd_hold(f, fds[i], &held[i])))
			goto unwind;
	}
	for (uint32_t i = 0; i < count; i++)
		trigger_replace(&d->irqs.msi_trigger[start + i], held[i]);
	return 0;
unwind:
	for (uint32_t i = 0; i < count && i < SVFIO_MAX_VECTORS; i++)
		svfio_eventfd_drop(&held[i]);
	return rc;
}

/* TRIGGER on the MSI or the MSI-X @index, as vfio_pci_set_msi_trigger() */
static int msi_trigger(struct svfio_dev *d, struct sio_file *f, uint32_t index,
		       uint32_t start, uint32_t count, uint32_t flags, const void *data)
{
	bool is_msi = d->irqs.type == (int)index;
	int rc;

	if (is_msi && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		msi_disable(d);
		return 0;
	}
	if (!(is_msi || d->irqs.type == IRQ_NONE))
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		if (is_msi)
			return msi_set_block(d, f, start, count, data);
		d->irqs.type = (int)index;
		d->irqs.msi_nvec = (int)(start + count);
		rc = msi_set_block(d, f, start, count, data);
		if (rc)
			msi_disable(d);
		return rc;
	}
	if (!is_msi)
		return -EINVAL;
	for (uint32_t i = start; i < start + count; i++) {
		if (i >= (uint32_t)d->irqs.msi_nvec)
			continue;
		if ((flags & VFIO_IRQ_SET_DATA_NONE) || ((const uint8_t *)data)[i - start])
			svfio_eventfd_signal(d->irqs.msi_trigger[i]);
	}
	return 0;
}

void svfio_raise_msi(struct svfio_dev *d, unsigned int vector)
{
	if (d->irqs.type == VFIO_PCI_MSI_IRQ_INDEX && vector < (unsigned int)d->irqs.msi_nvec)
		svfio_eventfd_signal(d->irqs.msi_trigger[vector]);
}

void svfio_raise_msix(struct svfio_dev *d, unsigned int vector)
{
	if (d->irqs.type == VFIO_PCI_MSIX_IRQ_INDEX && vector < (unsigned int)d->irqs.msi_nvec)
		svfio_eventfd_signal(d->irqs.msi_trigger[vector]);
}

/* ---- the device request interrupt: one eventfd, loopback with NONE/BOOL ---- */

static int req_trigger(struct svfio_dev *d, struct sio_file *f, uint32_t start,
		       uint32_t count, uint32_t flags, const void *data)
{
	int *slot = &d->irqs.req_trigger;
	int32_t fd;
	int held, rc;

	if (start || count > 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_NONE) {
		if (*slot < 0)
			return -EINVAL;
		if (count)
			svfio_eventfd_signal(*slot);
		else
			svfio_eventfd_drop(slot);
		return 0;
	}
	if (!count)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (*(const uint8_t *)data)
			svfio_eventfd_signal(*slot);
		return 0;
	}
	memcpy(&fd, data, sizeof(fd));
	if (fd == -1) {
		svfio_eventfd_drop(slot);
	} else if (fd >= 0) {
		rc = svfio_eventfd_hold(f, fd, &held);
		if (rc)
			return rc;
		trigger_replace(slot, held);
	}
	return 0;
}

/* ---- SET_IRQS ---- */

static int set_irqs_validate(const struct vfio_irq_set *hdr, unsigned int num, size_t *size)
{
	size_t each;

	if (hdr->argsz < SET_IRQS_MINSZ || hdr->index >= VFIO_PCI_NUM_IRQS ||
	    hdr->count >= UINT32_MAX - hdr->start ||
	    (hdr->flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)))
		return -EINVAL;
	if (hdr->start >= num || hdr->start + hdr->count > num)
		return -EINVAL;
	switch (hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		each = 0;
		break;
	case VFIO_IRQ_SET_DATA_BOOL:
		each = sizeof(uint8_t);
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		each = sizeof(int32_t);
		break;
	default:
		return -EINVAL;
	}
	if (each && hdr->argsz - SET_IRQS_MINSZ < hdr->count * each)
		return -EINVAL;
	*size = hdr->count * each;
	return 0;
}

static int set_irqs_dispatch(struct svfio_dev *d, struct sio_file *f,
			     const struct vfio_irq_set *hdr, const void *data)
{
	uint32_t action = hdr->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	uint32_t s = hdr->start, c = hdr->count, fl = hdr->flags;

	switch (hdr->index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_MASK)
			return intx_mask(d, s, c, fl, data);
		if (action == VFIO_IRQ_SET_ACTION_UNMASK)
			return intx_unmask_set(d, f, s, c, fl, data);
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			return intx_trigger(d, f, s, c, fl, data);
		break;
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_MSIX_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			return msi_trigger(d, f, hdr->index, s, c, fl, data);
		break;
	case VFIO_PCI_REQ_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			return req_trigger(d, f, s, c, fl, data);
		break;
	}
	return -ENOTTY;
}

/**
 * svfio_set_irqs() - VFIO_DEVICE_SET_IRQS
 * @d: the device, locked
 * @f: its descriptor (held eventfds are charged to it)
 * @arg: the program's struct vfio_irq_set and its data
 *
 * Return: 0 or -errno as Linux 7.2's vfio-pci: EINVAL for a bad header or range, ENOTTY for
 * an action the index lacks, EBADF/EINVAL for a descriptor that is not an eventfd.
 */
long svfio_set_irqs(struct svfio_dev *d, struct sio_file *f, void *arg)
{
	struct vfio_irq_set hdr;
	uint8_t data[SVFIO_MAX_VECTORS * sizeof(int32_t)] = { 0 };
	size_t size = 0;
	int rc;

	if (sio_copy_from_user(&hdr, (uintptr_t)arg, SET_IRQS_MINSZ))
		return -EFAULT;
	rc = set_irqs_validate(&hdr, irq_count(d, hdr.index), &size);
	if (rc)
		return rc;
	/* no index has more than SVFIO_MAX_VECTORS vectors */
	if (size > sizeof(data))
		return -EINVAL;
	if (size && sio_copy_from_user(data, (uintptr_t)arg + SET_IRQS_MINSZ, size))
		return -EFAULT;
	intx_poll_unmask(d);
	return set_irqs_dispatch(d, f, &hdr, data);
}

/* Close of the bound descriptor: what vfio_pci_core_disable() turns off */
void svfio_irqs_release(struct svfio_dev *d)
{
	if (d->irqs.type == VFIO_PCI_INTX_IRQ_INDEX)
		intx_disable(d);
	else if (d->irqs.type == VFIO_PCI_MSI_IRQ_INDEX || d->irqs.type == VFIO_PCI_MSIX_IRQ_INDEX)
		msi_disable(d);
	svfio_eventfd_drop(&d->irqs.req_trigger);
	svfio_eventfd_drop(&d->irqs.intx_unmask);
	svfio_irqs_init(&d->irqs);
}
