/* SPDX-License-Identifier: MIT */
/*
 * The driver interface (layer 4 of DESIGN.md): the contract a hardware model implements, and
 * the small "IOMMU core" the iommufd core uses to attach domains to device groups.
 *
 * A driver provides one struct sio_iommu_ops per IOMMU model; every device it creates
 * (struct sio_dev) points at it. Domains are driver-allocated and embed struct sio_domain as
 * their first member. Optional hooks left NULL mean "not supported" and the core answers
 * EOPNOTSUPP, as Linux does for a missing op.
 *
 * Locking: attach/detach/replace of a group run under the group's mutex (taken by the core,
 * never by a driver). Domain map/unmap/iova_to_phys may run concurrently on different IOVA
 * ranges; the core never maps and unmaps the same range at once.
 */
#ifndef SIO_DRIVER_H
#define SIO_DRIVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/util.h"

struct sio_ctx;
struct sio_dev;
struct sio_device;
struct sio_access;
struct sio_hwpt_paging;
struct sio_driver;
struct sio_domain;
struct sio_iommu_group;
struct sio_viommu;

/* Mapping permissions (IOMMU_READ/WRITE/CACHE of Linux) */
#define SIO_PROT_READ 0x1
#define SIO_PROT_WRITE 0x2
#define SIO_PROT_CACHE 0x4

#define SIO_NO_PASID 0u

enum sio_domain_type {
	SIO_DOMAIN_BLOCKED,
	SIO_DOMAIN_PAGING,
	SIO_DOMAIN_NESTED,
};

enum sio_cap {
	SIO_CAP_CACHE_COHERENCY,
	SIO_CAP_DIRTY_TRACKING,
};

/* Driver-specific data passed through from user space (struct iommu_user_data) */
struct sio_user_data {
	uint32_t type;
	uint64_t uptr; /* user pointer */
	size_t len;
};

/*
 * An array of driver-format entries from user space (struct iommu_user_data_array). The core
 * may have copied the whole array already (@kbuf, entry_num * entry_len bytes); the copy
 * helpers below read from it then, and from user space otherwise.
 */
struct sio_user_data_array {
	uint32_t type;
	uint64_t uptr;
	uint32_t entry_len;
	uint32_t entry_num; /* in: entries given; out: entries handled */
	const void *kbuf;
};

/* DMA (layer 7): what a device access asks for, and what a failed translation reports */
#define SIO_DMA_READ 0x1
#define SIO_DMA_WRITE 0x2

/**
 * struct sio_dma_req - one translation the DMA path asks a domain for
 * @dev: the device issuing it (the model's StreamID / RID is in its driver part); NULL for
 *       an access of the IOMMU itself (a table or queue fetch through a stage-2 domain)
 * @pasid: the PASID / SubstreamID, meaningful when @pasid_valid
 * @pasid_valid: the request carries a PASID (SMMUv3 SSV, PCIe PASID prefix)
 * @iova: the input address
 * @access: SIO_DMA_*
 */
struct sio_dma_req {
	struct sio_dev *dev;
	uint32_t pasid;
	bool pasid_valid;
	uint64_t iova;
	unsigned int access;
};

/* What went wrong, as the page-table library classes it plus what only the DMA path sees */
enum sio_dma_fault_kind {
	SIO_DMA_FAULT_NONE,
	SIO_DMA_FAULT_BLOCKED,     /* nothing attached / a blocking domain */
	SIO_DMA_FAULT_TRANSLATION, /* no valid mapping */
	SIO_DMA_FAULT_PERMISSION,  /* mapped without the access */
	SIO_DMA_FAULT_ACCESS,      /* the memory behind the mapping is gone (a bus error) */
	SIO_DMA_FAULT_ACCESS_FLAG, /* VMSAv8 AF == 0 (F_ACCESS) */
	SIO_DMA_FAULT_ADDR_SIZE,   /* a table or output address beyond the OAS (F_ADDR_SIZE) */
	SIO_DMA_FAULT_WALK_EABT,   /* a table or descriptor fetch failed (F_WALK_EABT) */
	SIO_DMA_FAULT_CONFIG,      /* bad configuration (C_BAD_STE, C_BAD_CD, ...): see @event */
};

/* Which fetch faulted (SMMUv3 event CLASS: CD fetch, table walk, the input address) */
enum sio_dma_fault_class {
	SIO_DMA_CLASS_IN,
	SIO_DMA_CLASS_TT,
	SIO_DMA_CLASS_CD,
};

/**
 * struct sio_dma_fault - a failed translation, as data (turned into an IOPF or an event in
 * one place, the DMA path's router)
 * @kind: the fault class
 * @iova: the input address of the access (for SIO_DMA_FAULT_ACCESS: the first byte not moved)
 * @ipa: stage-2 faults: the IPA stage 2 could not translate (a table's, when @s2_walk)
 * @pasid, @pasid_valid: the request's PASID / SubstreamID (SSV)
 * @access: SIO_DMA_* of the request
 * @stage: 1 or 2 for a nested translation, 0 otherwise
 * @level: the table level, as the format numbers it
 * @s2_walk: stage 2 faulted translating the address of a stage-1 table (or CD), not the
 *       final IPA
 * @cls: SIO_DMA_CLASS_*
 * @event: a model's own event code (e.g. its C_BAD_STE), 0 when @kind says it all
 */
struct sio_dma_fault {
	enum sio_dma_fault_kind kind;
	uint64_t iova;
	uint64_t ipa;
	uint32_t pasid;
	bool pasid_valid;
	unsigned int access;
	unsigned int stage;
	unsigned int level;
	bool s2_walk;
	enum sio_dma_fault_class cls;
	uint32_t event;
};

/**
 * enum sio_fault_disposition - where the router sends a fault (a domain's @fault_disposition)
 * @SIO_FAULT_UNHANDLED: count and log it (a terminated transaction nobody hears of)
 * @SIO_FAULT_IOPF: a page request on the HWPT's fault queue (a stalled transaction); with no
 *       queue, or when queueing fails, the router goes on as for @SIO_FAULT_EVENT
 * @SIO_FAULT_EVENT: the model's event (@fault_event: a vEVENTQ record); when that declines,
 *       unhandled
 */
enum sio_fault_disposition {
	SIO_FAULT_UNHANDLED,
	SIO_FAULT_IOPF,
	SIO_FAULT_EVENT,
};

/**
 * sio_fault_default_disposition() - what a domain without @fault_disposition gets: an IOPF
 * for a translation or permission fault, an event for anything else
 */
enum sio_fault_disposition sio_fault_default_disposition(const struct sio_dma_fault *fault);

/**
 * struct sio_page_response - user space's answer to a page request (a fault queue write)
 * @pasid, @pasid_valid: of the request it answers
 * @grpid: the request's page group
 * @code: IOMMUFD_PAGE_RESP_SUCCESS or _INVALID
 * @addr: the faulting address the request reported
 */
struct sio_page_response {
	uint32_t pasid;
	bool pasid_valid;
	uint32_t grpid;
	uint32_t code;
	uint64_t addr;
};

struct sio_iotlb_tag;

/**
 * struct sio_dma_xlate - a successful translation (the translate hook's result)
 * @pa: the PA of the IOVA asked for
 * @leaf_lg2: log2 of the size of the naturally aligned leaf holding it (IOVA and PA alike)
 * @access: the SIO_DMA_* accesses the IOTLB may serve from this leaf without another walk
 *       (a model that sets an access or dirty flag on a walk leaves out what would need it)
 * @tag: optional, the driver's own tag for this translation besides the domain's (and a
 *       nested domain's parent's), which the core adds itself: e.g. (VMID, ASID) for
 *       SMMUv3, (DID, PASID) for VT-d. The core sets it NULL before calling translate.
 * @tag_gen: sio_iotlb_tag_gen(@tag), read *before* reading anything the translation
 *       depends on under that tag (after learning the ASID from the CD, before the
 *       stage-1 walk), so that a walk racing an invalidation of @tag caches nothing usable
 */
struct sio_dma_xlate {
	uint64_t pa;
	unsigned int leaf_lg2;
	unsigned int access;
	struct sio_iotlb_tag *tag;
	uint64_t tag_gen;
};

/* Range invalidations a tag remembers: an entry older than the oldest one forgotten misses */
#define SIO_IOTLB_TAG_RANGES 16

/**
 * struct sio_iotlb_tag - what a set of IOTLB entries was computed from (a domain's tables;
 * in a model, an ASID or VMID too). Every IOTLB entry names up to three tags (the walked
 * domain's, a nested domain's parent's, the driver's sio_dma_xlate.tag) and dies by an
 * invalidation of any of them, in every device's IOTLB at once (src/dma/iotlb.c). Opaque:
 * only sio_iotlb_tag_init() and the functions below touch it. A driver's own tag must stay
 * allocated while a domain whose translations named it is attached, or the driver first
 * invalidates that domain's tag (sio_iotlb_invalidate_all(&domain->iotlb)).
 */
struct sio_iotlb_tag {
	atomic_uint_least64_t gen;     /* the latest invalidation (or init) */
	atomic_uint_least64_t all_gen; /* the latest of every IOVA (or a forgotten range) */
	atomic_uint_least64_t head;    /* range records ever made */
	pthread_mutex_t lock;          /* invalidations of this tag (a leaf lock) */
	struct sio_iotlb_range {
		atomic_uint_least64_t seq; /* 2 * record number + 2 when written, odd while */
		atomic_uint_least64_t gen, first, last;
	} range[SIO_IOTLB_TAG_RANGES];
};

/** sio_iotlb_tag_init() - a fresh tag: no entry names it yet (none to destroy it) */
void sio_iotlb_tag_init(struct sio_iotlb_tag *tag);

/** sio_iotlb_tag_gen() - @tag's generation now, for sio_dma_xlate.tag_gen (in a section) */
uint64_t sio_iotlb_tag_gen(struct sio_iotlb_tag *tag);

/**
 * sio_iotlb_invalidate_range() - IOTLB entries of @tag whose leaf overlaps
 * [@iova, @iova + @len) are gone, and no DMA still uses one, when this returns; entries
 * of @tag outside it survive (unless more than SIO_IOTLB_TAG_RANGES invalidations of @tag
 * came after the entry was filled: then it misses too, as hardware may invalidate more
 * than asked, never less). @len 0 invalidates nothing; a range past 2^64 ends there.
 *
 * Ranges are IOVAs as the DMA presents them (stage-1 input for a nested translation): a
 * range of a domain's own tag, or of a driver tag, kills that tag's entries whose leaf
 * overlaps it. A range of a nested domain's parent (a stage-2 change: an IOAS unmap under
 * the parent, TLBI_S2_IPA) is an IPA range, so it kills every nested entry walked through
 * that parent, whatever its IOVA (as Linux adds TLBI_NH_ALL for a nesting parent), and
 * only the overlapping ones of devices attached to the parent directly. A driver tag must
 * be invalidated with ranges in the IOVA space of the entries naming it.
 *
 * Leaf-only invalidation (SMMUv3 TLBI_*_VA with Leaf=1, VT-d IOTLB invalidation with IH=1)
 * is the same call: the IOTLB caches leaves only (no walk caches), so there is nothing
 * non-leaf to keep. Ranged forms (SMMUv3 TG/NUM/SCALE, VT-d address + AM) are the range
 * the driver decodes; TTL is a hint it may ignore (the range alone is exact).
 *
 * Call it after the change it publishes (tables cleared, dirty bits cleared); never from
 * inside the DMA path (a section). May sleep; takes only @tag's own leaf lock.
 */
void sio_iotlb_invalidate_range(struct sio_iotlb_tag *tag, uint64_t iova, uint64_t len);

/** sio_iotlb_invalidate_all() - as sio_iotlb_invalidate_range() for every IOVA of @tag */
void sio_iotlb_invalidate_all(struct sio_iotlb_tag *tag);

/**
 * sio_iotlb_invalidate_range_nosync(), sio_iotlb_invalidate_all_nosync() - the same, but
 * return at once: the entries miss for every lookup that starts after this returns, and a
 * DMA that looked one up before may still use it until sio_iotlb_sync() returns. For a
 * command batch (SMMUv3's commands up to CMD_SYNC, VT-d's descriptors up to a wait
 * descriptor): record every range, then sync once.
 */
void sio_iotlb_invalidate_range_nosync(struct sio_iotlb_tag *tag, uint64_t iova, uint64_t len);
void sio_iotlb_invalidate_all_nosync(struct sio_iotlb_tag *tag);

/** sio_iotlb_sync() - wait until no DMA uses an entry invalidated before the call */
void sio_iotlb_sync(void);

struct sio_dev;
void sio_dev_invalidate_iotlb(struct sio_dev *dev);

/* Collects dirty IOVA ranges for IOMMU_HWPT_GET_DIRTY_BITMAP */
struct sio_dirty_bitmap {
	void (*record)(struct sio_dirty_bitmap *b, uint64_t iova, uint64_t length);
};

/**
 * struct sio_domain_ops - operations on a domain
 * @attach_dev: the group of @dev now translates through @domain (replacing @old); 0 or -errno,
 *              -EINVAL meaning "incompatible" (the core may try another domain)
 * @set_dev_pasid: the same for one PASID of @dev
 * @map: map [@iova, @iova + @len) to @pa with SIO_PROT_* @prot using page sizes from
 *       @pgsize_bitmap; all or nothing
 * @unmap: unmap [@iova, @iova + @len); returns bytes unmapped; never fails
 * @iova_to_phys: 0 and *@pa, or -ENOENT
 * @cache_invalidate_user: process @array (driver-format entries); on return
 *       @array->entry_num is the number handled, even on error
 * @translate: the DMA path's walk: translate @req (device, PASID, IOVA, access) into @xlate;
 *       -EFAULT with @fault filled in when the hardware would fault (the core has set its
 *       iova, pasid, pasid_valid and access; the driver sets the rest). Runs concurrently with
 *       map (lock free) but never with unmap of the same domain, nor of a nested domain's
 *       parent (the core's dma_lock). The result is cached in the IOTLB under the domain's
 *       tag (and a nested domain's parent's): a driver whose translation depends on state
 *       it changes in other hooks (cache_invalidate_user, a stage-1 table) must invalidate
 *       the tag after the change. Runs in a DMA read-side section: it takes no lock (read
 *       guest memory with __sio_guest_read(), never sio_guest_read()).
 * @fault_disposition: where a fault of this domain goes (stall or terminate: an IOPF, an
 *       event, nothing); NULL means sio_fault_default_disposition(). Called with the
 *       device's attachment held (the core's group lock for reading), outside any section.
 * @fault_event: report a DMA fault as the model's event on its vIOMMU (a nested domain's
 *       vEVENTQ, with the device's virtual ID); 0 when reported. Called as
 *       @fault_disposition.
 * @free: release the domain (never called while attached)
 */
struct sio_domain_ops {
	int (*attach_dev)(struct sio_domain *domain, struct sio_dev *dev, struct sio_domain *old);
	int (*set_dev_pasid)(struct sio_domain *domain, struct sio_dev *dev, uint32_t pasid,
			     struct sio_domain *old);
	int (*map)(struct sio_domain *domain, uint64_t iova, uint64_t pa, uint64_t len, int prot,
		   uint64_t pgsize_bitmap);
	uint64_t (*unmap)(struct sio_domain *domain, uint64_t iova, uint64_t len);
	int (*iova_to_phys)(struct sio_domain *domain, uint64_t iova, uint64_t *pa);
	int (*cache_invalidate_user)(struct sio_domain *domain, struct sio_user_data_array *array);
	int (*translate)(struct sio_domain *domain, const struct sio_dma_req *req,
			 struct sio_dma_xlate *xlate, struct sio_dma_fault *fault);
	enum sio_fault_disposition (*fault_disposition)(struct sio_domain *domain,
							 struct sio_dev *dev,
							 const struct sio_dma_fault *fault);
	int (*fault_event)(struct sio_domain *domain, struct sio_dev *dev,
			   const struct sio_dma_fault *fault);
	void (*free)(struct sio_domain *domain);
};

/**
 * struct sio_dirty_ops - dirty tracking of a paging domain
 * @set_dirty_tracking: start/stop hardware dirty tracking
 * @read_and_clear_dirty: report dirty ranges in [@iova, @iova + @len) to @bitmap, clearing
 *       the hardware state unless @flags has IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR
 */
struct sio_dirty_ops {
	int (*set_dirty_tracking)(struct sio_domain *domain, bool enable);
	int (*read_and_clear_dirty)(struct sio_domain *domain, uint64_t iova, uint64_t len,
				    unsigned int flags, struct sio_dirty_bitmap *bitmap);
};

/**
 * struct sio_domain - the core part of a driver domain; drivers embed it first
 * @iopf_handler: set by the core when the HWPT has a fault queue (recoverable faults go there)
 * @iotlb: the tag of IOTLB entries walked through this domain's tables (the core's; the
 *       core invalidates it on unmap and dirty-bit clearing, a driver on its own changes)
 */
struct sio_domain {
	/* read: a DMA walking the tables; write: unmap (the core's; writers preferred) */
	pthread_rwlock_t dma_lock;
	struct sio_iotlb_tag iotlb;
	enum sio_domain_type type;
	const struct sio_domain_ops *ops;
	const struct sio_dirty_ops *dirty_ops;
	const struct sio_iommu_ops *owner;
	uint64_t pgsize_bitmap;
	uint64_t aperture_start;
	uint64_t aperture_end; /* inclusive */
	void *iommufd_hwpt;
	bool iopf_handler;
};

/**
 * struct sio_iommu_ops - one IOMMU model
 * @blocked_domain: the domain a group is in when nothing is attached
 * @hw_info: IOMMU_GET_HW_INFO data; *@type in: requested type (0 = default), out: the type
 *       returned. Returns a malloc'ed buffer of *@len bytes, or ERR_PTR.
 * @capable: SIO_CAP_*
 * @domain_alloc_paging_flags: a paging domain for @dev; @user_data may be NULL
 * @domain_alloc_nested: a nested domain on @parent
 * @get_viommu_size / @viommu_init: driver-sized vIOMMU objects (seed 003)
 * @user_pasid_table: the PASID table belongs to user space (nested stage 1), so a PASID the
 *       host did not attach is translated by the RID's nested domain
 * @page_response: user space answered a page request of @dev (a stalled transaction may
 *       resume or terminate); also called with IOMMUFD_PAGE_RESP_INVALID for requests whose
 *       attachment went away unanswered. Called under the fault queue's lock: take no lock
 *       of the core, and do not DMA.
 * @dump_dev: optional, a few words about @dev for `softiommu dump` (e.g. a model's event
 *       counters), NUL-terminated in @buf of @len bytes; no quotes or backslashes
 */
struct sio_iommu_ops {
	const char *name;
	bool user_pasid_table;
	struct sio_domain *blocked_domain;
	void *(*hw_info)(struct sio_dev *dev, uint32_t *len, uint32_t *type);
	bool (*capable)(struct sio_dev *dev, enum sio_cap cap);
	struct sio_domain *(*domain_alloc_paging_flags)(struct sio_dev *dev, uint32_t flags,
							const struct sio_user_data *user_data);
	struct sio_domain *(*domain_alloc_nested)(struct sio_dev *dev, struct sio_domain *parent,
						  uint32_t flags,
						  const struct sio_user_data *user_data);
	size_t (*get_viommu_size)(struct sio_dev *dev, uint32_t viommu_type);
	int (*viommu_init)(struct sio_viommu *viommu, struct sio_domain *parent,
			   const struct sio_user_data *user_data);
	void (*page_response)(struct sio_dev *dev, const struct sio_page_response *resp);
	void (*dump_dev)(struct sio_dev *dev, char *buf, size_t len);
};

/**
 * struct sio_dev - a device behind an IOMMU, as a driver creates it
 * @max_pasids: PASIDs the device can issue, 0 when it has no PASID support at all; a device
 *              whose PASID width is 0 has one (PASID 0), and any other PASID is EINVAL, as in
 *              Linux (the mock's plain devices: "pasid-num-bits" 0)
 * @max_pasid_log2: log2 of @max_pasids (0 for 0 or 1), as GET_HW_INFO reports it
 * @driver: the registered driver that made it (sio_driver_dev_create), or NULL
 * @iommufd_device: the core's: its binding to an iommufd while bound
 */
struct sio_dev {
	const struct sio_iommu_ops *ops;
	struct sio_iommu_group *group;
	uint32_t max_pasids;
	uint32_t max_pasid_log2;
	char name[32];
	void (*release)(struct sio_dev *dev);
	const struct sio_driver *driver;
	void *iommufd_device;
};

/**
 * struct sio_iommu_group - devices that cannot be isolated from each other (seed 004)
 * @domain: the domain the whole group translates through (the blocked domain when idle)
 * @owner: the DMA owner (an iommufd context), NULL when unclaimed
 */
struct sio_iommu_group {
	pthread_mutex_t mutex;
	int refs;
	unsigned int id;
	struct sio_domain *domain;
	void *owner;
	unsigned int owner_cnt;
	unsigned int ndevs;
};

struct sio_iommu_group *sio_iommu_group_alloc(void);
void sio_iommu_group_put(struct sio_iommu_group *group);
int sio_iommu_dev_add(struct sio_dev *dev, const struct sio_iommu_ops *ops,
		      struct sio_iommu_group *group);
void sio_iommu_dev_remove(struct sio_dev *dev);

int sio_iommu_claim_dma_owner(struct sio_dev *dev, void *owner);
void sio_iommu_release_dma_owner(struct sio_dev *dev);
int sio_iommu_attach_group(struct sio_domain *domain, struct sio_iommu_group *group,
			   struct sio_dev *first);
int sio_iommu_replace_group(struct sio_domain *domain, struct sio_iommu_group *group,
			    struct sio_dev *first);
void sio_iommu_detach_group(struct sio_domain *domain, struct sio_iommu_group *group,
			    struct sio_dev *first);
bool sio_dev_capable(struct sio_dev *dev, enum sio_cap cap);
void sio_domain_free(struct sio_domain *domain);

/* Copying driver data from/to user space with the kernel's size rules */
int sio_copy_struct_from_user_data(void *dst, size_t dst_size, const struct sio_user_data *ud,
				   uint32_t type, size_t min_len);
int sio_copy_struct_to_user_data(const struct sio_user_data *ud, const void *src,
				 size_t src_size, uint32_t type, size_t min_len);
int sio_copy_struct_from_user_array(void *dst, size_t dst_size,
				    const struct sio_user_data_array *array, uint32_t type,
				    uint32_t index, size_t min_len);
int sio_copy_struct_from_full_user_array(void *dst, size_t entry_size,
					 const struct sio_user_data_array *array, uint32_t type);

/*
 * vIOMMU support (seeds 001, 003): a driver sizes its vIOMMU (get_viommu_size), embeds
 * struct sio_viommu first (SIO_VIOMMU_STRUCT_SIZE checks it at build time) and fills
 * viommu->ops in viommu_init. vDEVICEs and HW queues may be driver-sized the same way; their
 * destroy hooks are set by their init ops, so an abort before init never calls them.
 */
struct sio_vdevice;
struct sio_hw_queue;

/**
 * struct sio_viommu_ops - operations of a driver's vIOMMU
 * @destroy: release driver parts (the core frees the memory)
 * @alloc_domain_nested: a nested domain whose stage 2 is the vIOMMU's parent
 * @cache_invalidate: process driver-format invalidation entries; set @array->entry_num to the
 *       number handled, even on error
 * @vdevice_size: size of the driver's vDEVICE (0: the core's); needs @vdevice_init
 * @vdevice_init: set up a vDEVICE; may set vdev->destroy
 * @get_hw_queue_size: size of the driver's HW queue of @type, 0 if unsupported
 * @hw_queue_init_phys: set up HW queue @index whose memory starts at @base_pa (pinned by
 *       the core while the queue lives; read it with sio_host_read() from src/model, which
 *       is fault-safe, rather than by dereferencing it)
 */
struct sio_viommu_ops {
	void (*destroy)(struct sio_viommu *viommu);
	struct sio_domain *(*alloc_domain_nested)(struct sio_viommu *viommu, uint32_t flags,
						  const struct sio_user_data *user_data);
	int (*cache_invalidate)(struct sio_viommu *viommu, struct sio_user_data_array *array);
	size_t vdevice_size;
	int (*vdevice_init)(struct sio_vdevice *vdev);
	size_t (*get_hw_queue_size)(struct sio_viommu *viommu, uint32_t queue_type);
	int (*hw_queue_init_phys)(struct sio_hw_queue *hw_queue, uint32_t index, uint64_t base_pa);
};

/* Object types of the core's object table (core/sio.h has the object model) */
enum sio_obj_type {
	SIO_OBJ_NONE,
	SIO_OBJ_ANY = SIO_OBJ_NONE,
	SIO_OBJ_DEVICE,
	SIO_OBJ_HWPT_PAGING,
	SIO_OBJ_HWPT_NESTED,
	SIO_OBJ_IOAS,
	SIO_OBJ_ACCESS,
	SIO_OBJ_FAULT,
	SIO_OBJ_VIOMMU,
	SIO_OBJ_VDEVICE,
	SIO_OBJ_VEVENTQ,
	SIO_OBJ_HW_QUEUE,
	SIO_OBJ_DRIVER, /* a driver extension's own object (struct sio_driver_object) */
	SIO_OBJ_MAX,
};

struct sio_object {
	enum sio_obj_type type;
	uint32_t id;
	atomic_int users;
	atomic_int shortterm;
	struct sio_ctx *ctx;
};

/*
 * The core objects a driver embeds or reads (as Linux's include/linux/iommufd.h): every
 * object's header, and the vIOMMU, vDEVICE and HW queue a driver may size.
 */
struct sio_viommu {
	struct sio_object obj;
	struct sio_ctx *ctx;
	struct sio_hwpt_paging *hwpt;
	const struct sio_viommu_ops *ops;
	const struct sio_iommu_ops *iommu_ops; /* the physical IOMMU model it sits on */
	uint32_t type;
	pthread_mutex_t vdevs_lock;            /* protects vdevs */
	struct sio_vdevice **vdevs;
	size_t nvdevs;
	pthread_rwlock_t veventqs_rwsem;       /* protects veventqs */
	struct list_head veventqs;
};

struct sio_vdevice {
	struct sio_object obj;
	struct sio_viommu *viommu;
	struct sio_device *idev;
	uint64_t virt_id;
	bool published;                        /* visible to lookups once init succeeded */
	void (*destroy)(struct sio_vdevice *vdev);
};

struct sio_hw_queue {
	struct sio_object obj;
	struct sio_viommu *viommu;
	struct sio_access *access;
	uint32_t type;
	uint64_t base_addr;
	uint64_t length;
	void (*destroy)(struct sio_hw_queue *hw_queue);
};

/* Helpers the core offers drivers (viommu.c, veventq.c, mmap.c) */
void sio_viommu_lock_vdevs(struct sio_viommu *viommu);
void sio_viommu_unlock_vdevs(struct sio_viommu *viommu);
struct sio_dev *sio_viommu_find_dev(struct sio_viommu *viommu, uint64_t virt_id);
void sio_viommu_put_dev(struct sio_dev *dev);
int sio_viommu_get_vdev_id(struct sio_viommu *viommu, struct sio_dev *dev, uint64_t *virt_id);
int sio_viommu_report_event(struct sio_viommu *viommu, uint32_t type, const void *data,
			    size_t len);
int sio_viommu_alloc_mmap(struct sio_viommu *viommu, int memfd, size_t length,
			  uint64_t *offset);
void sio_viommu_destroy_mmap(struct sio_viommu *viommu, uint64_t offset);
int sio_hw_queue_depend(struct sio_hw_queue *dependent, struct sio_hw_queue *depended);
void sio_hw_queue_undepend(struct sio_hw_queue *dependent, struct sio_hw_queue *depended);
struct sio_domain *sio_viommu_parent_domain(struct sio_viommu *viommu);

/*
 * The driver registry (registry.c): front-ends create devices of a model by its name
 * ("mock", later "smmuv3", "vtd"), and a model may add its own ioctls to the uAPI (the
 * mock's IOMMU_TEST_CMD), so neither the core nor the dispatcher knows any model.
 */
struct sio_ucmd;

/* The largest command struct an extension ioctl may have */
#define SIO_UAPI_EXT_MAX_SIZE 256

/**
 * struct sio_uapi_ext - an ioctl a driver adds to the iommufd uAPI
 * @ioctl_num: the full command number (its _IOC_NR in the iommufd range, unused by the core)
 * @size: sizeof the command struct (at most SIO_UAPI_EXT_MAX_SIZE)
 * @min_size: offsetofend of its last mandatory field
 * @execute: the handler; the dispatcher has copied the struct in with the kernel's rules
 *       (ucmd->cmd) and finalizes or aborts ucmd->new_obj, as for the core's commands
 */
struct sio_uapi_ext {
	unsigned int ioctl_num;
	unsigned int size;
	unsigned int min_size;
	int (*execute)(struct sio_ucmd *ucmd);
};

/**
 * struct sio_driver - a hardware model, as front-ends see it
 * @name: what front-ends call it
 * @dev_create: a new device, not yet bound; @flags are the model's (the mock's
 *       MOCK_FLAGS_DEVICE_*). Return: the device, or ERR_PTR.
 * @dev_create_opts: as @dev_create, for a name with options ("smmuv3:sid=0x10": @opts is
 *       what follows the colon); NULL: the model takes none (-EINVAL)
 * @dev_destroy: release a device @dev_create made, after its unbind
 * @uapi_ext / @nr_uapi_ext: the model's own ioctls
 */
struct sio_driver {
	const char *name;
	struct sio_dev *(*dev_create)(uint32_t flags);
	struct sio_dev *(*dev_create_opts)(uint32_t flags, const char *opts);
	void (*dev_destroy)(struct sio_dev *dev);
	const struct sio_uapi_ext *uapi_ext;
	unsigned int nr_uapi_ext;
};

/**
 * sio_driver_register() - add a driver (the built-in ones are always there)
 * Return: 0; -EEXIST for a name taken; -ENOSPC when the registry is full.
 */
int sio_driver_register(const struct sio_driver *drv);
/** sio_driver_unregister() - remove @drv; none of its devices may be left */
void sio_driver_unregister(const struct sio_driver *drv);
/** sio_driver_find() - the driver called @name (options after a colon ignored), or NULL */
const struct sio_driver *sio_driver_find(const char *name);
/** sio_driver_find_ext() - the extension ioctl with _IOC_NR @nr, or NULL */
const struct sio_uapi_ext *sio_driver_find_ext(unsigned int nr);
/** sio_driver_ext_nr_end() - one past the highest _IOC_NR of any extension ioctl (0: none) */
unsigned int sio_driver_ext_nr_end(void);
/**
 * sio_driver_dev_create() - a device of the model called @name ("model" or "model:options")
 * Return: the device (dev->driver set), ERR_PTR(-ENODEV) for no such model, -EINVAL for
 * options to a model that takes none, or the model's ERR_PTR.
 */
struct sio_dev *sio_driver_dev_create(const char *name, uint32_t flags);
/** sio_driver_dev_destroy() - release a device sio_driver_dev_create() made (NULL is fine) */
void sio_driver_dev_destroy(struct sio_dev *dev);

#define SIO_VIOMMU_STRUCT_SIZE(drv_struct, member)                                        \
	(sizeof(drv_struct) +                                                              \
	 0 * sizeof(char[offsetof(drv_struct, member) == 0 ? 1 : -1]))

#endif /* SIO_DRIVER_H */
