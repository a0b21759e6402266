/* SPDX-License-Identifier: MIT */
/*
 * vfio.h — emulated VFIO cdev devices (a front-end, layer 1): what a VMM opens as
 * /dev/vfio/devices/vfioN, binds to an iommufd with VFIO_DEVICE_BIND_IOMMUFD and drives
 * through its config space, BARs and interrupt eventfds, as Linux 7.2's vfio-pci presents a
 * PCI function.
 *
 * The pieces:
 * - vfio_dev.c: the process's emulated devices (created from SOFTIOMMU_VFIO_DEVICES or by
 *   sio_vfio_create()), their run directory with the sysfs-like tree, and opening one by path.
 * - vfio_handover.c: descriptors handed over already open (SOFTIOMMU_VFIO_FDS: fd=).
 * - vfio_file.c: the device descriptor: the bind/attach ioctls, GET_INFO, regions,
 *   pread/pwrite at index << 40, mmap, RESET, FEATURE.
 * - vfio_irq.c: GET_IRQ_INFO, SET_IRQS and the eventfds the model's interrupts signal.
 * - pci_config.c: a PCI function's config space (read-only, writable and RW1C bits).
 * - edu.c: a device model, QEMU's documented "edu" educational device (DMA, MSI, INTx).
 * - epf_test.c: a device model for Linux's pci_endpoint_test driver (READ/WRITE/COPY DMA with
 *   CRC-32 checks, MSI, INTx).
 *
 * Locking: each device has one mutex (@lock) serialising its config space, registers,
 * interrupt state and binding. It is taken before any core lock (a DMA the model starts
 * under it enters the DMA path, which takes the core's).
 */
#ifndef SIO_VFIO_H
#define SIO_VFIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/vfio.h>

/* The most emulated devices a process has (vfio0 .. vfio15) */
#define SVFIO_MAX_DEVICES 16

/*
 * Device numbers. Both are dynamic on Linux (misc_register with MISC_DYNAMIC_MINOR for
 * iommufd, alloc_chrdev_region for the vfio-dev class), so any value is one a kernel could
 * give; these are the ones a Debian 7.2 kernel booted on QEMU q35 showed (see docs/vfio.md).
 */
#define SVFIO_IOMMU_MAJOR 10
#define SVFIO_IOMMU_MINOR 123
#define SVFIO_CDEV_MAJOR 237

#define SVFIO_CFG_SIZE 256 /* conventional PCI */
#define SVFIO_MAX_VECTORS 32 /* MSI's most; the MSI-X tables models declare stay within it */
#define SVFIO_NUM_BARS 6

struct svfio_dev;
struct svfio_file;
struct sio_file;
struct sio_dev;
struct sio_device;
struct sio_ctx;
struct sio_iotlb;

/**
 * struct svfio_bar - one BAR as the model declares it
 * @size: bytes, a power of two (0: no BAR)
 * @prefetch: a prefetchable memory BAR
 * @mmap: user space may mmap it (it is plain memory: @ram)
 * @ram: the memory behind an mmap-able BAR (shared with every mapping of it)
 */
struct svfio_bar {
	uint64_t size;
	bool prefetch;
	bool mmap;
	uint8_t *ram;
};

/**
 * struct svfio_model_ops - what a device model implements
 * @init: set up config space and BARs (@d->cfg, @d->bars) and private state
 * @reset: a function-level reset of the model's own state (config space is restored by
 *         the VFIO layer, as Linux's pci_try_reset_function() restores it)
 * @bar_read, @bar_write: an access of @size (1, 2, 4 or 8) bytes at @off of a trapped BAR
 * @destroy: free private state
 * All but @init and @destroy run with @d->lock held.
 */
struct svfio_model_ops {
	const char *name;
	int (*init)(struct svfio_dev *d);
	void (*reset)(struct svfio_dev *d);
	uint64_t (*bar_read)(struct svfio_dev *d, int bar, uint64_t off, unsigned int size);
	void (*bar_write)(struct svfio_dev *d, int bar, uint64_t off, unsigned int size,
			  uint64_t val);
	void (*destroy)(struct svfio_dev *d);
};

/* The PCI config space of one function: contents, which bits a write may change and which
 * are write-1-to-clear, and what a reset restores */
struct svfio_cfg {
	uint8_t data[SVFIO_CFG_SIZE];
	uint8_t wmask[SVFIO_CFG_SIZE];
	uint8_t w1cmask[SVFIO_CFG_SIZE];
	uint8_t msi_cap; /* offset of the MSI capability, 0 if none */
	uint8_t msix_cap; /* offset of the MSI-X capability, 0 if none */
};

/* Interrupt state, as vfio-pci keeps it (type is one of VFIO_PCI_*_IRQ_INDEX or -1; the
 * vectors are MSI's or MSI-X's, whichever type is on) */
struct svfio_irqs {
	int type;
	int intx_trigger; /* held eventfd descriptors, -1 when none */
	int intx_unmask;
	bool intx_masked;
	bool intx_asserted;
	int msi_nvec;
	int msi_trigger[SVFIO_MAX_VECTORS];
	int req_trigger;
};

/**
 * struct svfio_dev - one emulated PCI function and its VFIO state
 * @index: N of /dev/vfio/devices/vfioN (the cdev minor)
 * @name: the PCI address, the basename of its sysfs directory
 * @sysfs: the absolute path of its sysfs-like directory (what sysfsdev= takes)
 * @sdev: the IOMMU side (an iommu group member of the chosen IOMMU model)
 * @bound: the descriptor that bound it (Linux opens a cdev device once); NULL if none
 * @idev: the iommufd device of that binding
 * @iotlb: the device's IOTLB while bound (NULL: every DMA walks)
 * @attached: pasid 0 (no PASID) attached, for detach of nothing being a no-op
 * @dma_faults: DMAs the model started that faulted
 */
struct svfio_dev {
	unsigned int index;
	char name[32];
	char sysfs[256];
	const struct svfio_model_ops *model;
	void *priv;
	struct sio_dev *sdev;
	void *iommu_priv;
	pthread_mutex_t lock;
	struct svfio_cfg cfg;
	struct svfio_cfg cfg_saved;
	struct svfio_bar bars[SVFIO_NUM_BARS];
	struct svfio_irqs irqs;
	struct svfio_file *bound;
	struct sio_device *idev;
	struct sio_iotlb *iotlb;
	struct sio_ctx *ctx;
	bool low_power;
	unsigned long dma_faults;
};

/* vfio_dev.c */
int sio_vfio_create(const char *spec);
int sio_vfio_create_from_env(void);
int sio_vfio_spec_check(const char *spec);
void sio_vfio_pci_name(unsigned int index, char *buf, size_t size);
struct svfio_dev *sio_vfio_dev(unsigned int index);
unsigned int sio_vfio_count(void);
const char *sio_vfio_run_dir(void);
int sio_vfio_open_path(const char *path, int flags);
int sio_vfio_path_index(const char *path);

/* vfio_handover.c */
int sio_vfio_handover_from_env(void);

/* vfio_file.c */
int sio_vfio_open(struct svfio_dev *d, int flags);
bool sio_vfio_file_index(struct sio_file *f, unsigned int *index);
ssize_t sio_vfio_pread(int fd, void *buf, size_t len, uint64_t off, bool write, bool *not_ours);
void sio_vfio_unbind_locked(struct svfio_dev *d);
bool svfio_trace_enabled(void);

/* vfio_irq.c */
long svfio_get_irq_info(struct svfio_dev *d, void *arg);
long svfio_set_irqs(struct svfio_dev *d, struct sio_file *f, void *arg);
void svfio_irqs_init(struct svfio_irqs *irqs);
void svfio_irqs_release(struct svfio_dev *d);
int svfio_eventfd_hold(struct sio_file *f, int fd, int *out);
void svfio_eventfd_drop(int *fd);
void svfio_eventfd_signal(int fd);
/* the model's interrupt lines: INTx level, an MSI or an MSI-X vector */
void svfio_set_intx(struct svfio_dev *d, bool level);
void svfio_raise_msi(struct svfio_dev *d, unsigned int vector);
void svfio_raise_msix(struct svfio_dev *d, unsigned int vector);

/* pci_config.c */
void svfio_cfg_set8(struct svfio_cfg *c, unsigned int off, uint8_t v, uint8_t wmask);
void svfio_cfg_set16(struct svfio_cfg *c, unsigned int off, uint16_t v, uint16_t wmask);
void svfio_cfg_set32(struct svfio_cfg *c, unsigned int off, uint32_t v, uint32_t wmask);
uint16_t svfio_cfg_get16(const struct svfio_cfg *c, unsigned int off);
uint32_t svfio_cfg_get32(const struct svfio_cfg *c, unsigned int off);
void svfio_cfg_init_type0(struct svfio_cfg *c);
int svfio_bar_add_ram(struct svfio_dev *d, int bar, uint64_t size);
void svfio_bar_free_ram(struct svfio_dev *d);
void svfio_cfg_add_bars(struct svfio_dev *d);
int svfio_cfg_add_msi(struct svfio_cfg *c, unsigned int off, unsigned int nvec_lg2);
int svfio_cfg_add_msix(struct svfio_dev *d, unsigned int off, unsigned int nvec, int bar,
		       uint32_t table_off, uint32_t pba_off);
ssize_t svfio_cfg_rw(struct svfio_dev *d, void *buf, size_t len, uint64_t pos, bool write);
bool svfio_mem_enabled(const struct svfio_dev *d);
bool svfio_bus_master(const struct svfio_dev *d);

/* the device's DMA, translated for the iommufd device it is bound as */
int svfio_dma(struct svfio_dev *d, uint64_t iova, void *buf, size_t len, bool write);

extern const struct svfio_model_ops svfio_edu_ops;
extern const struct svfio_model_ops svfio_epf_test_ops;

#endif
