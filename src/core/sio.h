/* SPDX-License-Identifier: MIT */
/*
 * softiommu core: the private header shared by the core object files (layer 3), the uAPI
 * dispatcher (layer 2) and the mock's selftest extension (IOMMU_TEST_CMD).
 *
 * Object model (as Linux iommufd): every user-visible object has an ID in its context's object
 * table and a `users` count. users == 1 is the table's own reference; every object that
 * depends on this one (a HWPT on its IOAS, a device on its HWPT, ...) adds one, and DESTROY of
 * an object with users > 1 is EBUSY. An ioctl that looks an object up holds a short-term
 * reference (`shortterm`) for the duration of the call; destroy waits for those to drain.
 * Objects are created in two phases: sio_object_alloc() reserves an ID that lookups cannot
 * see; the ioctl builds the object and the dispatcher either finalizes (publishes) it or,
 * on any error, aborts it (its abort/destroy op runs, and the ID is released).
 *
 * Lock order: the classes of core/lockdep.h, outer first, name every lock there is: the VFIO
 * device list and a VFIO device's lock, the C API's device attach lock, ctx->vfio_lock,
 * ctx->ioas_creation_lock, the selftest access's lock, access->ioas_lock, ioas->mutex,
 * igroup->lock, group->mutex, the mock's viommu_rwsem, keep_lock, iopt->lock,
 * sio_keep_rwlock, domain->dma_lock, dmabuf->lock, pages_list_lock, pages->mutex, the
 * vIOMMU's veventqs_rwsem and vdevs_lock, the mock's HW queue lock, fault->lock, the vEVENTQ
 * lock, ctx->obj_lock, a file's lock, the pin check's maps_fd_lock. A DMA read-side section
 * (src/dma/epoch.c) is innermost: nothing is locked inside one. Debug builds
 * (SOFTIOMMU_LOCKDEP, on with the sanitizers) abort on any acquisition out of that order and
 * check sio_lockdep_assert_held() contracts.
 * Never call out of the core (access unmap callbacks) with iopt->lock held.
 */
#ifndef SIO_CORE_H
#define SIO_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/types.h>

#include <linux/iommufd.h>

#include "util.h"
#include "mm.h"
#include "../driver/driver.h"

struct sio_ctx;
struct sio_object;

/* Per-type behaviour of objects */
struct sio_object_ops {
	void (*pre_destroy)(struct sio_object *obj);
	void (*destroy)(struct sio_object *obj);
	void (*abort)(struct sio_object *obj);
};
extern const struct sio_object_ops sio_object_ops[SIO_OBJ_MAX];

enum {
	IOPT_PAGES_ACCOUNT_NONE = 0,
	IOPT_PAGES_ACCOUNT_USER = 1,
	IOPT_PAGES_ACCOUNT_MM = 2,
	IOPT_PAGES_ACCOUNT_MODE_NUM = 3,
};

/**
 * struct sio_ctx - one open /dev/iommu
 * @obj_lock: protects @objs and @nobjs, object users/shortterm transitions to/from destroy
 * @objs: object table indexed by ID; NULL = free, SIO_OBJ_RESERVED = allocated, not published
 */
struct sio_ctx {
	pthread_mutex_t obj_lock;
	pthread_cond_t obj_cond;
	struct sio_object **objs;
	uint32_t nobjs;
	int account_mode;
	pthread_mutex_t vfio_lock;
	struct sio_ioas *vfio_ioas;
	pthread_rwlock_t ioas_creation_lock;
	struct list_head groups; /* struct sio_igroup, under obj_lock */
	struct list_head mmaps;  /* struct sio_mmap, under obj_lock */
	uint64_t next_mmap_pgoff;
	int fd;
	struct sio_file *file; /* the /dev/iommu file; dependents hold references on it */
};

#define SIO_OBJ_RESERVED ((struct sio_object *)1)
#define SIO_OBJ_TOMBSTONE ((struct sio_object *)2)

extern atomic_ulong sio_live_objects;

#define SIO_REMOVE_WAIT 1u
#define SIO_REMOVE_TOMBSTONE 2u
#define SIO_REMOVE_PUT 4u

/* An ioctl in flight: the dispatcher's state */
struct sio_ucmd {
	struct sio_ctx *ctx;
	struct sio_mm *mm; /* the process whose memory the ioctl's pointers are in */
	uint64_t ubuffer; /* user pointer to the command struct */
	uint32_t user_size;
	void *cmd;
	struct sio_object *new_obj; /* aborted on error, finalized on success */
};

/* obj/object.c */
struct sio_object *sio_object_alloc(struct sio_ctx *ctx, size_t size, enum sio_obj_type type);
struct sio_object *sio_object_alloc_ucmd(struct sio_ucmd *ucmd, size_t size,
					 enum sio_obj_type type);
void sio_object_finalize(struct sio_ctx *ctx, struct sio_object *obj);
void sio_object_abort(struct sio_ctx *ctx, struct sio_object *obj);
void sio_object_abort_and_destroy(struct sio_ctx *ctx, struct sio_object *obj);
struct sio_object *sio_get_object(struct sio_ctx *ctx, uint32_t id, enum sio_obj_type type);
void sio_put_object(struct sio_ctx *ctx, struct sio_object *obj);
bool sio_lock_obj(struct sio_object *obj);
int sio_object_remove(struct sio_ctx *ctx, struct sio_object *to_destroy, uint32_t id,
		      unsigned int flags);
void sio_object_destroy_user(struct sio_ctx *ctx, struct sio_object *obj);
void sio_object_tombstone_user(struct sio_ctx *ctx, struct sio_object *obj);
void sio_objects_destroy_all(struct sio_ctx *ctx);
int sio_destroy_ioctl(struct sio_ucmd *ucmd);
int sio_ucmd_respond(struct sio_ucmd *ucmd, size_t size);

#define sio_object_alloc_type(ctx, ptr, type)                                             \
	((__typeof__(ptr))sio_object_alloc(ctx, sizeof(*(ptr)), type))
#define sio_object_alloc_ucmd_type(ucmd, ptr, type)                                      \
	((__typeof__(ptr))sio_object_alloc_ucmd(ucmd, sizeof(*(ptr)), type))

/* mem/uaccess.c: user pointers never fault the process; a bad pointer is -EFAULT */
int sio_copy_from_user(void *dst, uint64_t usrc, size_t len);
int sio_copy_from_user_gup(void *dst, uint64_t usrc, size_t len);

/* fork.c */
void sio_fork_init(void);
size_t sio_copy_from_user_partial(void *dst, uint64_t usrc, size_t len);
struct iovec;
size_t sio_copy_user_sg(void *local, size_t len, const struct iovec *user, unsigned int nr,
			bool write);
pid_t sio_self_pid(void);
int sio_copy_to_user(uint64_t udst, const void *src, size_t len);
int sio_clear_user(uint64_t udst, size_t len);
int sio_copy_struct_from_user(void *dst, size_t ksize, uint64_t usrc, size_t usize);
int sio_user_range_probe(uint64_t uaddr, size_t len, bool write);

/* mem/user_vma.c: pinning checks the VMAs; pages are faulted in by first use unless eager */
/* The most pages Linux's iommufd pins with one GUP call: 64 KiB of page pointers */
#define SIO_PIN_BATCH (65536 / 8)
int sio_user_range_check(uint64_t uaddr, size_t len, bool write);
int sio_user_vma_next(uint64_t addr, uint64_t *start, uint64_t *end);
bool sio_pin_eager(void);

/* accounting.c */
struct sio_account {
	atomic_long pinned_vm; /* VmPin, pages */
	atomic_long locked_vm; /* VmLck, pages (mm mode) */
	atomic_long user_locked_vm; /* per-user locked_vm (user mode) */
};
extern struct sio_account sio_account;
bool sio_capable_ipc_lock(void);
bool sio_capable_sys_resource(void);

/* Temp-memory limit of the selftest (IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT) */
extern size_t sio_test_memory_limit;

#include "ioas/io_pagetable.h"

/**
 * struct sio_ioas - an I/O address space: an io_pagetable plus the HWPTs built on it
 * @mutex: serializes auto-domain creation against @hwpt_list users
 */
struct sio_ioas {
	struct sio_object obj;
	struct io_pagetable iopt;
	pthread_mutex_t mutex;
	struct list_head hwpt_list;
};

struct sio_ioas *sio_get_ioas(struct sio_ctx *ctx, uint32_t id);
struct sio_ioas *sio_ioas_alloc(struct sio_ctx *ctx);
void sio_ioas_destroy(struct sio_object *obj);
int sio_ioas_alloc_ioctl(struct sio_ucmd *ucmd);
int sio_ioas_iova_ranges(struct sio_ucmd *ucmd);
int sio_ioas_allow_iovas(struct sio_ucmd *ucmd);
int sio_ioas_map(struct sio_ucmd *ucmd);
int sio_ioas_map_file(struct sio_ucmd *ucmd);
int sio_ioas_copy(struct sio_ucmd *ucmd);
int sio_ioas_unmap(struct sio_ucmd *ucmd);
int sio_ioas_option(struct sio_ucmd *ucmd);
int sio_ioas_change_process(struct sio_ucmd *ucmd);
int sio_option_ioctl(struct sio_ucmd *ucmd);

/* HW pagetables (dev/hw_pagetable.c) */
struct sio_fault;
struct sio_hw_pagetable {
	struct sio_object obj;
	struct sio_domain *domain;
	struct sio_fault *fault;
	bool pasid_compat;
};

struct sio_hwpt_paging {
	struct sio_hw_pagetable common;
	struct sio_ioas *ioas;
	bool auto_domain;
	bool enforce_cache_coherency;
	bool nest_parent;
	struct list_head hwpt_item;
};

struct sio_hwpt_nested {
	struct sio_hw_pagetable common;
	struct sio_hwpt_paging *parent;
	struct sio_viommu *viommu;
};

static inline struct sio_hwpt_paging *to_hwpt_paging(struct sio_hw_pagetable *hwpt)
{
	return container_of(hwpt, struct sio_hwpt_paging, common);
}
static inline struct sio_hwpt_nested *to_hwpt_nested(struct sio_hw_pagetable *hwpt)
{
	return container_of(hwpt, struct sio_hwpt_nested, common);
}
struct sio_hwpt_paging *sio_find_hwpt_paging(struct sio_hw_pagetable *hwpt);

struct sio_device;
struct sio_hwpt_paging *sio_hwpt_paging_alloc(struct sio_ctx *ctx, struct sio_ioas *ioas,
					      struct sio_device *idev, uint32_t pasid,
					      uint32_t flags, bool immediate_attach,
					      const struct sio_user_data *user_data);
void sio_hwpt_paging_destroy(struct sio_object *obj);
void sio_hwpt_paging_abort(struct sio_object *obj);
void sio_hwpt_nested_destroy(struct sio_object *obj);
void sio_hwpt_nested_abort(struct sio_object *obj);
int sio_hwpt_alloc_ioctl(struct sio_ucmd *ucmd);
int sio_hwpt_invalidate_ioctl(struct sio_ucmd *ucmd);
int sio_hwpt_set_dirty_tracking_ioctl(struct sio_ucmd *ucmd);
int sio_hwpt_get_dirty_bitmap_ioctl(struct sio_ucmd *ucmd);
void sio_hw_pagetable_put(struct sio_ctx *ctx, struct sio_hw_pagetable *hwpt);
int sio_hwpt_set_domain(struct sio_hw_pagetable *hwpt, struct sio_domain *domain,
			const struct sio_iommu_ops *owner);
int sio_hwpt_set_nested_domain(struct sio_hw_pagetable *hwpt, struct sio_domain *domain,
			       const struct sio_iommu_ops *owner);

/* Devices (dev/device.c) */

/* What one PASID (or IOMMU_NO_PASID) of a group is attached to, and by which devices */
struct sio_attach {
	uint32_t pasid;
	struct sio_hw_pagetable *hwpt;
	struct sio_device **devs;
	unsigned int ndevs;
};

/* iommufd's view of an iommu group within one context */
struct sio_igroup {
	struct list_head node; /* in ctx->groups */
	int refs;
	pthread_rwlock_t lock; /* write: attach changes; read: lookups and DMA */
	/* Bumped (under @lock) by every change of what a PASID translates through (src/dma) */
	atomic_uint_least64_t dma_gen;
	struct sio_ctx *ctx;
	struct sio_iommu_group *group;
	struct sio_attach *attaches;
	unsigned int nattaches;
};

struct sio_vdevice;
struct sio_device {
	struct sio_object obj;
	struct sio_ctx *ctx;
	struct sio_igroup *igroup;
	struct sio_dev *dev;
	bool enforce_cache_coherency;
	struct sio_vdevice *vdev;
	bool destroying;
};

/*
 * The DMA path's view of attach changes (src/dma/dma.c): under igroup->lock for writing,
 * sio_dma_attach_changed() invalidates the group's cached translations; after dropping the
 * lock, sio_dma_synchronize() waits out DMAs that used the old attachment.
 */
void sio_dma_attach_changed(struct sio_igroup *igroup);
void sio_dma_synchronize(void);

struct sio_device *sio_device_bind(struct sio_ctx *ctx, struct sio_dev *dev, uint32_t *id);
void sio_device_unbind(struct sio_device *idev);
int sio_device_attach(struct sio_device *idev, uint32_t pasid, uint32_t *pt_id);
int sio_device_replace(struct sio_device *idev, uint32_t pasid, uint32_t *pt_id);
void sio_device_detach(struct sio_device *idev, uint32_t pasid);
void sio_device_detach_all(struct sio_device *idev);
struct sio_hw_pagetable *sio_device_pasid_hwpt(struct sio_device *idev, uint32_t pasid);
struct sio_hw_pagetable *__sio_device_pasid_hwpt(struct sio_device *idev, uint32_t pasid);
struct sio_hw_pagetable *__sio_device_xlate_hwpt(struct sio_device *idev, uint32_t pasid,
						 bool pasid_valid, uint32_t *attach_pasid);
struct sio_device *sio_get_device(struct sio_ucmd *ucmd, uint32_t id);
void sio_device_destroy(struct sio_object *obj);
void sio_device_pre_destroy(struct sio_object *obj);
int sio_get_hw_info_ioctl(struct sio_ucmd *ucmd);

/* Accesses: what an in-kernel driver (mdev) does with an IOAS (dev/access.c) */
struct sio_access;
struct sio_access_ops {
	bool needs_pin_pages;
	void (*unmap)(void *data, uint64_t iova, uint64_t length);
};
struct sio_access {
	struct sio_object obj;
	struct sio_ctx *ctx;
	pthread_mutex_t ioas_lock;
	struct sio_ioas *ioas;
	struct sio_ioas *ioas_unpin;
	const struct sio_access_ops *ops;
	void *data;
	uint64_t iova_alignment;
	uint32_t iopt_access_list_id;
	bool internal;
};

#define SIO_ACCESS_RW_WRITE (1 << 0)
#define SIO_ACCESS_RW_KTHREAD (1 << 1)
#define SIO_ACCESS_RW_SLOW_PATH (1 << 2)

struct sio_access *sio_access_create(struct sio_ctx *ctx, const struct sio_access_ops *ops,
				     void *data, uint32_t *id);
void sio_access_destroy(struct sio_access *access);
int sio_access_attach(struct sio_access *access, uint32_t ioas_id);
int sio_access_replace(struct sio_access *access, uint32_t ioas_id);
void sio_access_detach(struct sio_access *access);
int sio_access_pin_pages(struct sio_access *access, uint64_t iova, uint64_t length,
			 uint64_t *out_pa, unsigned int flags);
void sio_access_unpin_pages(struct sio_access *access, uint64_t iova, uint64_t length);
int sio_access_rw(struct sio_access *access, uint64_t iova, void *data, size_t len,
		  unsigned int flags);
void sio_access_notify_unmap(struct io_pagetable *iopt, uint64_t iova, uint64_t length);
void sio_access_destroy_object(struct sio_object *obj);

/* vIOMMU objects (dev/: viommu.c, veventq.c, mmap.c): struct sio_viommu etc. are in driver.h */
int sio_viommu_alloc_ioctl(struct sio_ucmd *ucmd);
int sio_vdevice_alloc_ioctl(struct sio_ucmd *ucmd);
int sio_veventq_alloc_ioctl(struct sio_ucmd *ucmd);
int sio_hw_queue_alloc_ioctl(struct sio_ucmd *ucmd);
void sio_viommu_destroy(struct sio_object *obj);
void sio_vdevice_destroy(struct sio_object *obj);
void sio_vdevice_abort(struct sio_object *obj);
void sio_veventq_destroy(struct sio_object *obj);
void sio_veventq_abort(struct sio_object *obj);
void sio_hw_queue_destroy(struct sio_object *obj);
struct sio_hwpt_nested *sio_viommu_alloc_hwpt_nested(struct sio_ctx *ctx,
						     struct sio_object *viommu_obj,
						     struct sio_device *idev, uint32_t flags,
						     const struct sio_user_data *user_data);
int sio_viommu_cache_invalidate(struct sio_object *viommu_obj,
				struct sio_user_data_array *array);
void sio_device_remove_vdev(struct sio_device *idev);
struct sio_access *sio_access_create_internal(struct sio_ctx *ctx);
void sio_access_destroy_internal(struct sio_access *access);
int sio_access_attach_internal(struct sio_access *access, struct sio_ioas *ioas);
void sio_mmap_reap(struct sio_ctx *ctx);
int sio_ctx_mmap_with(struct sio_ctx *ctx, void *addr, size_t len, int prot, int flags,
		      off_t off, void *(*map_fn)(void *arg, int memfd, void *addr, size_t len,
						 int prot, int flags),
		      void *arg, void **out);
void sio_mmap_drop_holds(struct sio_ctx *ctx);
void sio_mmap_release_all(struct sio_ctx *ctx);

/* Fault queues (dev/fault.c) */
struct sio_fault *sio_get_fault(struct sio_ucmd *ucmd, uint32_t id);
void sio_fault_put_hwpt_ref(struct sio_fault *fault);
void sio_fault_hold(struct sio_fault *fault);
struct sio_object *sio_fault_obj(struct sio_fault *fault);
int sio_fault_alloc_ioctl(struct sio_ucmd *ucmd);
void sio_fault_destroy(struct sio_object *obj);
int sio_report_iopf(struct sio_device *idev, uint32_t pasid, uint32_t flags, uint32_t grpid,
		    uint32_t perm, uint64_t addr);
int __sio_report_iopf(struct sio_device *idev, uint32_t pasid, uint32_t flags, uint32_t grpid,
		      uint32_t perm, uint64_t addr);
void sio_fault_forget_dev(struct sio_hw_pagetable *hwpt, struct sio_dev *dev);
void sio_fault_auto_response(struct sio_hw_pagetable *hwpt, struct sio_igroup *igroup,
			     uint32_t pasid);

/* VFIO type1 compatibility (ioas/vfio_compat.c) */
int sio_vfio_ioas_ioctl(struct sio_ucmd *ucmd);
long sio_vfio_ioctl(struct sio_ctx *ctx, unsigned long cmd, uint64_t arg);
struct sio_ioas *sio_get_compat_ioas(struct sio_ctx *ctx);

/* Selftest (mock driver) hooks */
/*
 * An object a driver's extension ioctl makes (the mock's selftest devices): the core
 * destroys it through @destroy (NULL: nothing to release), set before it is finalized
 */
struct sio_driver_object {
	struct sio_object obj;
	void (*destroy)(struct sio_driver_object *dobj);
};
void sio_driver_object_destroy(struct sio_object *obj);

/* obj/context.c: objects that outlive an ioctl (accesses, fault queues) keep the context alive */
struct sio_ctx *sio_ctx_from_fd(int fd);
void sio_ctx_get(struct sio_ctx *ctx);
extern void (*sio_ctx_release_hook)(struct sio_ctx *ctx);
void sio_dump_ctx(struct sio_ctx *ctx, FILE *out, unsigned int flags);
void sio_ctx_put(struct sio_ctx *ctx);

#endif /* SIO_CORE_H */
