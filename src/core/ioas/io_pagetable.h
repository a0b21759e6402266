/* SPDX-License-Identifier: MIT */
/*
 * The io_pagetable: what an IOAS maps. It owns
 *  - areas: [iova, last] ranges, each a slice of one iopt_pages (the backing memory),
 *  - allowed ranges (IOAS_ALLOW_IOVAS) and reserved ranges (domain apertures, device reserved
 *    regions, test reservations) that restrict where IOVA can be allocated or mapped,
 *  - the domains that mirror every area (each attached paging HWPT's domain),
 *  - the accesses (in-process "kernel drivers") that pin or copy through it.
 * Invariants: areas never overlap; every area with ->pages set is mapped into every domain in
 * @domains; an area's pages are pinned (counted in pages->runs) while @domains is non-empty
 * (area->filled) and for every access pin inside it.
 *
 * iopt_pages: a run of PAGE_SIZE pages of backing memory — a user VA range (the process's own
 * memory: "physical address" == host virtual address), a file/memfd (softiommu keeps its own
 * shared mapping, so a client munmap cannot pull memory out from under a DMA mapping), or a
 * dmabuf. Pinning counts users per page (in runs); 0→1 checks the memory as Linux's pin
 * would (EFAULT when it is not mapped, not readable, not writable as required, or an I/O
 * mapping) without faulting it in, unless SOFTIOMMU_PIN=eager, and charges the accounting.
 * Pinned user pages the program unmaps or moves are kept and followed (keep.c).
 */
#ifndef SIO_IO_PAGETABLE_H
#define SIO_IO_PAGETABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util.h"

struct sio_domain;
struct sio_access;
struct sio_dmabuf;

enum iopt_address_type {
	IOPT_ADDRESS_USER,
	IOPT_ADDRESS_FILE,
	IOPT_ADDRESS_DMABUF,
};

/* Pages [first, last] of an iopt_pages, each pinned @users times (pages.c) */
struct pin_run {
	size_t first, last;
	uint32_t users;
};

/*
 * Pinned pages of user memory that no longer live at their user address (keep.c): the
 * program unmapped, replaced or discarded them and softiommu moved them aside (@kept, its
 * reserve), or the program moved them (mremap; @kept NULL). Page @first is at @host.
 */
struct sio_kept;
struct pages_seg {
	size_t first, last;
	uint64_t host;
	struct sio_kept *kept;
};

struct sio_adopted_map {
	uint64_t addr, len;
};

struct iopt_pages {
	atomic_int refs;
	pthread_mutex_t mutex;
	enum iopt_address_type type;
	uint64_t base;     /* "physical" address of byte 0 of page 0 */
	uint64_t uptr;     /* USER: user VA of byte 0 of page 0 */
	size_t npages;
	bool writable;
	bool prepopulated;       /* USER: faulted in by the map, before its first pin (mutex) */
	int account_mode;
	struct pin_run *runs;    /* pin counts: sorted, disjoint runs of pinned pages */
	size_t nruns, runs_cap;
	size_t pin_ops;          /* pins held (each adds at most two run boundaries) */
	size_t npinned;
	size_t last_npinned;
	pid_t source_pid;
	struct sio_mm *mm;       /* USER: the process whose memory this is (a reference) */
	uint64_t uffd_epoch;     /* USER: sio_uffd_epoch when made (uffd.c, keep.c) */
	struct sio_mm *acct_mm;  /* the process VmPin/VmLck are charged to (a reference; mutex) */
	/* USER, daemon mode: pinned runs copied into our own memory when their client exited
	 * (pages.c: sio_pages_adopt_pid), and the client's mm they came from */
	struct sio_adopted_map *adopted;
	size_t nadopted;
	struct sio_mm *adopted_from;
	/* USER: pinned pages moved away from their user address, sorted; under mutex and
	 * every iopt->lock of @areas to change, either to read (keep.c) */
	struct pages_seg *segs;
	size_t nsegs, segs_cap;
	struct list_head areas; /* USER: the areas using these pages, under mutex */
	/* FILE */
	int file_fd;
	void *file_map;
	size_t file_map_len;
	uint64_t file_start; /* file offset of page 0 */
	dev_t file_dev;
	ino_t file_ino;
	/* DMABUF: revoked is set once under mutex and never cleared; areas lists the areas
	 * using these pages (under mutex) so a revoke can unmap them from their domains */
	struct sio_dmabuf *dmabuf;
	bool revoked;
	struct iopt_area **dmabuf_areas;
	size_t ndmabuf_areas;
	struct list_head global_node;
	struct list_head index_node; /* USER: in the address index (pages.c) */
};

struct iopt_area {
	uint64_t iova;
	uint64_t last;
	struct iopt_pages *pages;  /* NULL until the area is fully built */
	uint64_t start_byte;       /* offset of iova in pages (bytes from page 0) */
	int iommu_prot;
	unsigned int num_accesses;
	unsigned int num_locks;
	bool prevent_access;
	bool filled;               /* pages pinned on behalf of the domains */
	struct io_pagetable *iopt;
	struct iopt_area *tree_left, *tree_right; /* in iopt's area tree (area_tree.c) */
	struct list_head area_item;               /* in iopt->area_list, in IOVA order */
	struct list_head pages_item;              /* in pages->areas (user memory) */
	uint64_t gap_before;   /* free IOVAs between the previous area (or 0) and this one */
	uint64_t tree_max_gap; /* the largest gap_before in this area's subtree */
};

static inline uint64_t iopt_area_length(const struct iopt_area *a) { return a->last - a->iova + 1; }
static inline size_t iopt_area_first_index(const struct iopt_area *a)
{
	return a->start_byte / SIO_PAGE_SIZE;
}
static inline size_t iopt_area_last_index(const struct iopt_area *a)
{
	return (a->start_byte + iopt_area_length(a) - 1) / SIO_PAGE_SIZE;
}
static inline uint64_t iopt_area_start_byte(const struct iopt_area *a, uint64_t iova)
{
	return a->start_byte + (iova - a->iova);
}

struct iopt_range {
	uint64_t start;
	uint64_t last;
	void *owner;
};

struct iopt_access_ent {
	struct sio_access *access;
	uint32_t id;
};

struct io_pagetable {
	/*
	 * Linux's iova_rwsem and domains_rwsem in one: written by everything that changes the
	 * table or its domains, read only by access copies (which, as Linux's, hold it for the
	 * copy: an unmap waits for them). Waiting writers go first.
	 */
	pthread_rwlock_t lock;
	struct iopt_area *area_root; /* a tree ordered by iova (area_tree.c) */
	struct list_head area_list;  /* the same areas, in order */
	size_t nareas;
	struct iopt_range *allowed; /* sorted, disjoint */
	size_t nallowed;
	struct iopt_range *reserved; /* may overlap (several owners) */
	size_t nreserved;
	struct sio_domain **domains;
	size_t ndomains;
	struct iopt_access_ent *accesses;
	size_t naccesses;
	uint32_t next_access_id;
	uint64_t iova_alignment;
	bool disable_large_pages;
};

#define IOPT_ALLOC_IOVA 1u

void iopt_init_table(struct io_pagetable *iopt);
void iopt_destroy_table(struct io_pagetable *iopt);
int iopt_map_user_pages(struct sio_ctx *ctx, struct io_pagetable *iopt, uint64_t *iova,
			uint64_t uptr, uint64_t length, int iommu_prot, unsigned int flags);
int iopt_map_file_pages(struct sio_ctx *ctx, struct io_pagetable *iopt, uint64_t *iova, int fd,
			uint64_t start, uint64_t length, int iommu_prot, unsigned int flags);
struct iopt_pages_list;
int iopt_get_pages_list(struct io_pagetable *src, uint64_t iova, uint64_t length,
			struct iopt_pages_list **out);
int iopt_map_pages_list(struct io_pagetable *dst, struct iopt_pages_list *list,
			uint64_t *dst_iova, int iommu_prot, unsigned int flags);
void iopt_free_pages_list(struct iopt_pages_list *list);
int iopt_unmap_iova(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
		    uint64_t *unmapped);
int iopt_unmap_all(struct io_pagetable *iopt, uint64_t *unmapped);
int iopt_set_allow_iova(struct io_pagetable *iopt, struct iopt_range *ranges, size_t n);
int iopt_reserve_iova(struct io_pagetable *iopt, uint64_t start, uint64_t last, void *owner);
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner);
int iopt_table_add_domain(struct io_pagetable *iopt, struct sio_domain *domain);
void iopt_table_remove_domain(struct io_pagetable *iopt, struct sio_domain *domain);
int iopt_cut_iova(struct io_pagetable *iopt, uint64_t *iovas, size_t num);
void iopt_enable_large_pages(struct io_pagetable *iopt);
int iopt_disable_large_pages(struct io_pagetable *iopt);
int iopt_add_access(struct io_pagetable *iopt, struct sio_access *access);
void iopt_remove_access(struct io_pagetable *iopt, struct sio_access *access, uint32_t id);
ssize_t iopt_iova_ranges(struct io_pagetable *iopt, struct iopt_range *out, size_t max);
int iopt_read_and_clear_dirty(struct io_pagetable *iopt, struct sio_domain *domain,
			      uint32_t flags, uint64_t iova, uint64_t length,
			      uint64_t page_size, uint64_t ubitmap);
int iopt_set_dirty_tracking(struct io_pagetable *iopt, struct sio_domain *domain, bool enable);

/* Area lookup, iopt->lock held */
struct iopt_area *iopt_area_first(struct io_pagetable *iopt, uint64_t start, uint64_t last);
struct iopt_area *iopt_area_next(struct io_pagetable *iopt, struct iopt_area *area,
				 uint64_t start, uint64_t last);
struct iopt_area *iopt_area_lower_bound(struct io_pagetable *iopt, uint64_t iova);
void iopt_areas_insert(struct io_pagetable *iopt, struct iopt_area *area);
void iopt_areas_remove(struct io_pagetable *iopt, struct iopt_area *area);
struct iopt_area *iopt_area_run_end(struct io_pagetable *iopt, struct iopt_area *area,
				    uint64_t gap);

/* Every area of @iopt in IOVA order; iopt->lock held, @area not removed mid-walk */
#define iopt_for_each_area(iopt, area)                                                  \
	for ((area) = iopt_area_first((iopt), 0, UINT64_MAX); (area);                   \
	     (area) = iopt_area_next((iopt), (area), 0, UINT64_MAX))

/* pages.c */
struct iopt_pages *iopt_alloc_user_pages(uint64_t uptr, uint64_t length, bool writable);
struct iopt_pages *iopt_alloc_dmabuf_pages(uint64_t addr, uint64_t length, bool writable);
void iopt_pages_index_moved(struct iopt_pages *pages);
int sio_pages_index_walk(uint64_t start, uint64_t end, int (*fn)(struct iopt_pages *, void *),
			 void *arg);
struct iopt_pages *iopt_alloc_file_pages(int fd, uint64_t start, uint64_t length, bool writable);
void iopt_put_pages(struct iopt_pages *pages);
static inline void iopt_get_pages(struct iopt_pages *pages) { atomic_fetch_add(&pages->refs, 1); }
/* For lookups in the global list and index, which may find an object being freed */
static inline bool iopt_get_pages_unless_zero(struct iopt_pages *pages)
{
	int refs = atomic_load(&pages->refs);

	while (refs && !atomic_compare_exchange_weak(&pages->refs, &refs, refs + 1))
		;
	return refs != 0;
}
int iopt_pages_pin(struct iopt_pages *pages, size_t first, size_t last);
void iopt_pages_unpin(struct iopt_pages *pages, size_t first, size_t last);
int iopt_pages_split_pin(struct iopt_pages *pages);
int iopt_pages_update_pinned(struct iopt_pages *pages, size_t npages, bool inc);
int iopt_pages_rw(struct iopt_pages *pages, uint64_t start_byte, void *data, size_t len,
		  unsigned int flags);
uint64_t iopt_pages_host(struct iopt_pages *pages, size_t idx, size_t last, size_t *run_last);
uint64_t __iopt_pages_host(struct iopt_pages *pages, size_t idx, size_t last, size_t *run_last);
int iopt_pages_segs_reserve(struct iopt_pages *pages, size_t extra);
void iopt_pages_segs_cut(struct iopt_pages *pages, size_t first, size_t last);
void iopt_pages_segs_set(struct iopt_pages *pages, size_t first, size_t last, uint64_t host,
			 struct sio_kept *kept);
/* USER pages objects holding pins: while 0, no munmap can concern softiommu (keep.c) */
extern atomic_long sio_user_pinned_pages_objs;
void iopt_pages_add_area(struct iopt_pages *pages, struct iopt_area *area);
void iopt_pages_del_area(struct iopt_pages *pages, struct iopt_area *area);
/* The "physical" address of byte @start_byte; base is published once (see pages.c) */
static inline uint64_t iopt_pages_pa(const struct iopt_pages *pages, uint64_t start_byte)
{
	return __atomic_load_n(&pages->base, __ATOMIC_ACQUIRE) + start_byte;
}
extern atomic_ulong sio_pages_pin_bugs; /* pin counts that did not add up (pages.c) */

/* keep.c: pinned user pages the program unmaps, replaces, discards or moves */
enum sio_keep_how {
	SIO_KEEP_UNMAP,   /* munmap, MAP_FIXED over the range */
	SIO_KEEP_DISCARD, /* MADV_DONTNEED: the range stays mapped, empty */
	SIO_KEEP_COPY,    /* MADV_REMOVE: the file's pages go wherever they are mapped */
	SIO_KEEP_MOVE,    /* mremap: the pages move with the program's mapping */
	SIO_KEEP_LOST,    /* gone already (seen by uffd.c): repoint at a PROT_NONE reserve */
};
struct sio_keep;
struct sio_keep *sio_keep_begin(uint64_t addr, uint64_t len, enum sio_keep_how how,
				uint64_t move_len);
void sio_keep_end(struct sio_keep *keep, uint64_t new_addr);
bool sio_keep_any_pinned(uint64_t addr, uint64_t len);
int sio_keep_lost_init(void);
int sio_keep_lost(uint64_t addr, uint64_t len, uint64_t epoch);
int sio_keep_moved(uint64_t from, uint64_t to, uint64_t len, uint64_t epoch);
extern pthread_rwlock_t sio_keep_rwlock;
extern atomic_long sio_kept_bytes;
bool sio_kept_put(struct sio_kept *kept, size_t npages);
struct sio_kept *__iopt_pages_kept(struct iopt_pages *pages, size_t idx);
extern pthread_mutex_t sio_pages_list_lock;
extern struct list_head sio_pages_list;
int iopt_area_repoint(struct io_pagetable *iopt, struct iopt_area *area);

/* dmabuf.c */
struct iopt_pages *sio_dmabuf_alloc_pages(int fd, uint64_t start, uint64_t length,
					  bool writable, int *rc);
int sio_dmabuf_track_area(struct iopt_pages *pages, struct iopt_area *area);
void sio_dmabuf_untrack_area(struct iopt_pages *pages, struct iopt_area *area);
void sio_dmabuf_release_pages(struct iopt_pages *pages);
int sio_dmabuf_create(size_t length, int open_flags);
int sio_dmabuf_set_revoked(int fd, bool revoked);
void iopt_revoke_dmabuf_area(struct io_pagetable *iopt, struct iopt_pages *pages);

/* Physical-page identity, for the selftest's MD_CHECK_MAP / MD_CHECK_REFS */
struct sio_page_id {
	uint64_t dev;
	uint64_t ino; /* 0: anonymous or private memory, identified by its address */
	uint64_t off; /* file offset, or the address */
};
struct sio_maps;
struct sio_maps *sio_maps_snapshot(void);
void sio_maps_free(struct sio_maps *maps);
struct sio_page_id sio_page_identity(const struct sio_maps *maps, uint64_t addr);
struct sio_page_id sio_page_identity_pa(const struct sio_maps *maps, uint64_t pa);
int sio_pages_count_pins(const struct sio_maps *maps, uint64_t uaddr, unsigned int *refs);
size_t sio_pages_adopt_pid(pid_t pid, bool *all);
void iopt_pages_change_mm(struct iopt_pages *pages, struct sio_mm *to);

#endif /* SIO_IO_PAGETABLE_H */
