// SPDX-License-Identifier: MIT
/*
 * iopt_pages: backing memory of IOAS areas, pinning and pin accounting.
 *
 * "Physical" addresses are addresses in this process (DESIGN.md, memory model). For user
 * memory that is the user VA itself; for files softiommu keeps its own MAP_SHARED mapping and
 * hands out addresses inside it. A page is pinned while its pin count > 0: the 0→1
 * transition checks it as get_user_pages would (EFAULT when unmapped, not readable, an I/O
 * mapping or, for a writable mapping, not writable; EINVAL past the end of a file) and
 * charges the accounting of the pages' mode, the 1→0 transition uncharges. The check does
 * not fault memory in: softiommu's DMA goes through this process's page tables, so a page is
 * faulted in by its first DMA, and a guest's lazily allocated RAM stays lazy
 * (SOFTIOMMU_PIN=eager populates at pin time, as the kernel does; see user_vma.c). Data is
 * always moved with the fault-safe copies (sio_copy_*, uaccess.c), so memory the client
 * unmapped behind our back is an EFAULT, never a SIGSEGV.
 *
 * @base and @file_map of a file's pages are set once, under @mutex, when the file is first
 * mapped, and read without it (a DMA, an access copy): they are published with release
 * stores and read with acquire loads.
 */
#include <fcntl.h>
#include <stdio.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../sio.h"
#include "uffd.h"
#include "../file.h"
#include "../fail.h"

struct sio_account sio_account;
size_t sio_test_memory_limit = 65536;

/* Every pages object, for MD_CHECK_REFS and keep.c */
pthread_mutex_t sio_pages_list_lock = PTHREAD_MUTEX_INITIALIZER;
struct list_head sio_pages_list = LIST_HEAD_INIT(sio_pages_list);

/* Daemon mode: a client root whose bounding set lacks @cap (the fallback below, for it) */
static bool client_root_without_bound(pid_t pid, int cap)
{
	unsigned long long bnd = ~0ull;
	char path[64], line[256];
	unsigned int euid = 1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fp = fopen(path, "re");
	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp)) {
		unsigned int r;

		if (sscanf(line, "Uid: %u %u", &r, &euid) == 2)
			continue;
		sscanf(line, "CapBnd: %llx", &bnd);
	}
	fclose(fp);
	return euid == 0 && !(bnd & (1ull << cap));
}

/* Whether the process an operation acts for (mm.h) holds @cap, as the kernel's capable() */
static bool capable(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	struct sio_mm *mm = sio_mm_current_tls;

	hdr.pid = mm ? mm->pid : 0;
	if (syscall(SYS_capget, &hdr, data))
		return false;
	if (data[cap / 32].effective & (1u << (cap % 32)))
		return true;
	if (mm)
		return client_root_without_bound(mm->pid, cap);
	/*
	 * softiommu stands in for the kernel, which a container's bounding set does not bind: a
	 * root process whose sandbox removed @cap from the bounding set is treated as holding
	 * it. A capability the process dropped itself (still in the bounding set) stays dropped,
	 * which is what the selftests check when they drop CAP_IPC_LOCK.
	 */
	return geteuid() == 0 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0;
}

bool sio_capable_ipc_lock(void) { return capable(CAP_IPC_LOCK); }
bool sio_capable_sys_resource(void) { return capable(CAP_SYS_RESOURCE); }

static unsigned long memlock_limit_pages(void)
{
	struct sio_mm *mm = sio_mm_current_tls;
	struct rlimit rl;

	/* The limit of the process the pin is for (daemon mode: the client's) */
	if (prlimit(mm ? mm->pid : 0, RLIMIT_MEMLOCK, NULL, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return ~0UL;
	return rl.rlim_cur >> SIO_PAGE_SHIFT;
}

static int charge(atomic_long *counter, long npages, bool check)
{
	long cur = atomic_load(counter);
	unsigned long limit = memlock_limit_pages();

	do {
		if (check && (unsigned long)(cur + npages) > limit)
			return -ENOMEM;
	} while (!atomic_compare_exchange_weak(counter, &cur, cur + npages));
	return 0;
}

/* A client's VmPin/VmLck (daemon mode); ours are sio_account's */
static void mm_charge(struct sio_mm *mm, int account_mode, long npages)
{
	if (sio_mm_is_self(mm))
		return;
	atomic_fetch_add(&mm->pinned_vm, npages);
	if (account_mode == IOPT_PAGES_ACCOUNT_MM)
		atomic_fetch_add(&mm->locked_vm, npages);
}

/**
 * iopt_pages_change_mm() - charge @pages' pins to @to from now on (IOAS_CHANGE_PROCESS)
 *
 * Moves what is charged now from the process charged so far. pages->mutex held.
 */
void iopt_pages_change_mm(struct iopt_pages *pages, struct sio_mm *to)
{
	struct sio_mm *from = pages->acct_mm;

	if (from == to)
		return;
	mm_charge(from, pages->account_mode, -(long)pages->last_npinned);
	mm_charge(to, pages->account_mode, (long)pages->last_npinned);
	pages->acct_mm = sio_mm_get(to);
	sio_mm_put(from);
}

/* Charge or uncharge @npages pinned pages in the accounting mode of @pages */
int iopt_pages_update_pinned(struct iopt_pages *pages, size_t npages, bool inc)
{
	int rc = 0;

	if (!npages)
		return 0;
	switch (pages->account_mode) {
	case IOPT_PAGES_ACCOUNT_NONE:
		break;
	case IOPT_PAGES_ACCOUNT_USER:
		if (inc)
			rc = charge(&sio_account.user_locked_vm, npages, true);
		else
			atomic_fetch_sub(&sio_account.user_locked_vm, npages);
		break;
	case IOPT_PAGES_ACCOUNT_MM:
		if (inc)
			rc = charge(&sio_account.locked_vm, npages, !sio_capable_ipc_lock());
		else
			atomic_fetch_sub(&sio_account.locked_vm, npages);
		break;
	}
	if (rc)
		return rc;
	if (inc)
		atomic_fetch_add(&sio_account.pinned_vm, npages);
	else
		atomic_fetch_sub(&sio_account.pinned_vm, npages);
	mm_charge(pages->acct_mm, pages->account_mode, inc ? (long)npages : -(long)npages);
	pages->last_npinned = pages->npinned;
	return 0;
}

static struct iopt_pages *iopt_alloc_pages(uint64_t start_byte, uint64_t length, bool writable)
{
	struct iopt_pages *pages;

	if (length > SIZE_MAX - SIO_PAGE_SIZE || length == 0)
		return ERR_PTR(-EINVAL);
	pages = sio_zalloc(sizeof(*pages));
	if (!pages)
		return ERR_PTR(-ENOMEM);
	atomic_init(&pages->refs, 1);
	sio_mutex_init(&pages->mutex, SIO_LOCK_PAGES);
	pages->npages = (length + start_byte + SIO_PAGE_SIZE - 1) / SIO_PAGE_SIZE;
	pages->writable = writable;
	pages->account_mode = sio_capable_ipc_lock() ? IOPT_PAGES_ACCOUNT_NONE :
						       IOPT_PAGES_ACCOUNT_USER;
	pages->mm = sio_mm_get(sio_current_mm());
	pages->acct_mm = sio_mm_get(pages->mm);
	pages->source_pid = sio_mm_pid(pages->mm);
	pages->uffd_epoch = atomic_load(&sio_uffd_epoch);
	pages->file_fd = -1;
	INIT_LIST_HEAD(&pages->areas);
	INIT_LIST_HEAD(&pages->index_node);
	INIT_LIST_HEAD(&pages->global_node);
	return pages;
}

/*
 * User pages by address, for keep.c, which looks for the pinned pages in a range on every
 * munmap: an object within one granule sits in the bucket of its first granule; larger
 * ones, and any whose pinned pages were ever moved away from their address, on one list.
 * sio_pages_list_lock protects them.
 */
#define INDEX_GRANULE_SHIFT 21
#define INDEX_BUCKETS 1024
static struct list_head pages_index[INDEX_BUCKETS];
static struct list_head pages_index_large = LIST_HEAD_INIT(pages_index_large);

static bool pages_index_small(const struct iopt_pages *pages)
{
	return pages->npages <= (1UL << (INDEX_GRANULE_SHIFT - SIO_PAGE_SHIFT));
}

static struct list_head *pages_bucket(uint64_t addr)
{
	struct list_head *b = &pages_index[(addr >> INDEX_GRANULE_SHIFT) % INDEX_BUCKETS];

	if (!b->next)
		INIT_LIST_HEAD(b);
	return b;
}

/* Make @pages visible to lookups, its fields all set */
static void pages_publish(struct iopt_pages *pages)
{
	pthread_mutex_lock(&sio_pages_list_lock);
	list_add_tail(&pages->global_node, &sio_pages_list);
	if (pages->type == IOPT_ADDRESS_USER)
		list_add_tail(&pages->index_node, pages_index_small(pages) ?
				  pages_bucket(pages->base) : &pages_index_large);
	pthread_mutex_unlock(&sio_pages_list_lock);
}

/**
 * iopt_pages_index_moved() - @pages had pinned pages moved: look at it for every range
 */
void iopt_pages_index_moved(struct iopt_pages *pages)
{
	pthread_mutex_lock(&sio_pages_list_lock);
	if (!list_empty(&pages->index_node)) {
		list_del_init(&pages->index_node);
		list_add_tail(&pages->index_node, &pages_index_large);
	}
	pthread_mutex_unlock(&sio_pages_list_lock);
}

static int index_walk_list(struct list_head *head, uint64_t start, uint64_t end, bool all,
			   int (*fn)(struct iopt_pages *, void *), void *arg)
{
	struct iopt_pages *pages;

	list_for_each_entry(pages, head, index_node) {
		int rc;

		if (!all && (pages->base >= end ||
			     pages->base + pages->npages * SIO_PAGE_SIZE <= start))
			continue;
		rc = fn(pages, arg);
		if (rc)
			return rc;
	}
	return 0;
}

/**
 * sio_pages_index_walk() - call @fn on every user pages object that may hold pages in
 * [@start, @end): its user range meets it, or it moved pages; sio_pages_list_lock held
 */
int sio_pages_index_walk(uint64_t start, uint64_t end, int (*fn)(struct iopt_pages *, void *),
			 void *arg)
{
	uint64_t g = (start >> INDEX_GRANULE_SHIFT) ? (start >> INDEX_GRANULE_SHIFT) - 1 : 0;
	uint64_t g_last = (end - 1) >> INDEX_GRANULE_SHIFT;
	int rc = index_walk_list(&pages_index_large, start, end, true, fn, arg);

	if (g_last - g >= INDEX_BUCKETS) {
		g = 0;
		g_last = INDEX_BUCKETS - 1;
	}
	for (; !rc && g <= g_last; g++)
		rc = index_walk_list(pages_bucket(g << INDEX_GRANULE_SHIFT), start, end, false,
				     fn, arg);
	return rc;
}

static struct iopt_pages *alloc_addr_pages(uint64_t uptr, uint64_t length, bool writable,
					    enum iopt_address_type type)
{
	uint64_t uptr_down = ALIGN_DOWN(uptr, SIO_PAGE_SIZE);
	struct iopt_pages *pages;
	uint64_t end;

	if (check_add_overflow(uptr, length, &end))
		return ERR_PTR(-EOVERFLOW);
	pages = iopt_alloc_pages(uptr - uptr_down, length, writable);
	if (IS_ERR(pages))
		return pages;
	pages->type = type;
	pages->uptr = uptr_down;
	pages->base = uptr_down;
	if (type == IOPT_ADDRESS_DMABUF) /* the exporter's memory: no pin accounting */
		pages->account_mode = IOPT_PAGES_ACCOUNT_NONE;
	pages_publish(pages);
	return pages;
}

struct iopt_pages *iopt_alloc_user_pages(uint64_t uptr, uint64_t length, bool writable)
{
	return alloc_addr_pages(uptr, length, writable, IOPT_ADDRESS_USER);
}

/* A dmabuf's memory at @addr (the exporter's mapping), typed before anyone can see it */
struct iopt_pages *iopt_alloc_dmabuf_pages(uint64_t addr, uint64_t length, bool writable)
{
	return alloc_addr_pages(addr, length, writable, IOPT_ADDRESS_DMABUF);
}

/*
 * A file: keep a private descriptor, so the client can close its own. As Linux, nothing is
 * checked about the file until its pages are needed: softiommu then maps it itself
 * (MAP_SHARED), so a client munmap cannot pull memory out from under a DMA mapping.
 */
struct iopt_pages *iopt_alloc_file_pages(int fd, uint64_t start, uint64_t length, bool writable)
{
	uint64_t start_byte = start % SIO_PAGE_SIZE;
	struct iopt_pages *pages;
	struct stat st;
	int rc;

	if (fstat(fd, &st))
		return ERR_PTR(-EBADF);
	pages = iopt_alloc_pages(start_byte, length, writable);
	if (IS_ERR(pages))
		return pages;
	pages->type = IOPT_ADDRESS_FILE;
	pages->file_start = start - start_byte;
	pages->file_dev = st.st_dev;
	pages->file_ino = st.st_ino;
	pages->file_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (pages->file_fd < 0) {
		rc = -errno;
		iopt_put_pages(pages);
		return ERR_PTR(rc);
	}
	pages_publish(pages);
	return pages;
}

/*
 * Our own mapping of a file's pages, made on first need; pages->mutex held. A writable
 * mapping of a read-only descriptor: -EPERM. The whole area when the address space has room
 * for it; otherwise (an area far past the end of its file, which Linux accepts and pins
 * only as far as asked) as much as covers the file today and at least SIO_FILE_WINDOW.
 */
#define SIO_FILE_WINDOW (1ULL << 40)

static int file_ensure_mapped(struct iopt_pages *pages, const struct stat *st)
{
	size_t len = pages->npages * SIO_PAGE_SIZE;
	int prot = PROT_READ | (pages->writable ? PROT_WRITE : 0);
	void *map;

	if (pages->file_map)
		return 0;
	map = mmap(NULL, len, prot, MAP_SHARED | MAP_NORESERVE, pages->file_fd,
		   (off_t)pages->file_start);
	if (map == MAP_FAILED && errno == ENOMEM) {
		uint64_t in_file = (uint64_t)st->st_size > pages->file_start ?
			ALIGN_UP((uint64_t)st->st_size, SIO_PAGE_SIZE) - pages->file_start : 0;
		size_t want = min_t(uint64_t, len, max_t(uint64_t, SIO_FILE_WINDOW, in_file));

		if (want < len) {
			len = want;
			map = mmap(NULL, len, prot, MAP_SHARED | MAP_NORESERVE, pages->file_fd,
				   (off_t)pages->file_start);
		}
	}
	if (map == MAP_FAILED)
		return errno == EACCES ? -EPERM : -EINVAL;
	pages->file_map_len = len;
	__atomic_store_n(&pages->base, (uintptr_t)map, __ATOMIC_RELEASE);
	__atomic_store_n(&pages->file_map, map, __ATOMIC_RELEASE);
	return 0;
}

/*
 * Pages [first, last] of a file, checked as Linux's memfd_pin_folios() checks what iommufd
 * asks of it: a shmem or hugetlbfs file (EINVAL otherwise), every byte of the pages below
 * its size (EINVAL: a partial last page does not count); then our mapping of them.
 * pages->mutex held.
 */
static int file_pin_check(struct iopt_pages *pages, size_t first, size_t last)
{
	uint64_t end;
	struct statfs sfs;
	struct stat st;
	int rc;

	if (fstat(pages->file_fd, &st) || fstatfs(pages->file_fd, &sfs))
		return -EFAULT;
	if (!S_ISREG(st.st_mode) ||
	    (sfs.f_type != TMPFS_MAGIC && sfs.f_type != HUGETLBFS_MAGIC))
		return -EINVAL;
	if (check_add_overflow(pages->file_start, (uint64_t)(last + 1) * SIO_PAGE_SIZE - 1,
			       &end) ||
	    end >= (uint64_t)st.st_size)
		return -EINVAL;
	rc = file_ensure_mapped(pages, &st);
	if (rc)
		return rc;
	/* A file grown past what the address space let us map (see file_ensure_mapped()) */
	if ((uint64_t)(last + 1) * SIO_PAGE_SIZE > pages->file_map_len)
		return -ENOMEM;
	return first > last ? -EINVAL : 0;
}

atomic_ulong sio_pages_pin_bugs;
atomic_long sio_user_pinned_pages_objs;
static void segs_release(struct iopt_pages *pages, size_t first, size_t last);

/* A pin count that does not add up: count it, tell once, never crash or leak the charge */
static void pages_pin_bug(const char *what, size_t npages)
{
	if (atomic_fetch_add(&sio_pages_pin_bugs, 1) == 0)
		fprintf(stderr, "softiommu: BUG: %s (%zu pages)\n", what, npages);
}

void iopt_put_pages(struct iopt_pages *pages)
{
	if (atomic_fetch_sub(&pages->refs, 1) != 1)
		return;
	pthread_mutex_lock(&sio_pages_list_lock);
	list_del_init(&pages->global_node);
	list_del_init(&pages->index_node);
	pthread_mutex_unlock(&sio_pages_list_lock);
	if (pages->npinned) {
		/*
		 * Every pin is owned by an area or access that must be gone by now: a pin left
		 * over is a core bug. Say so, and give the accounting back rather than leave
		 * VmPin and RLIMIT_MEMLOCK charged for pages nothing holds.
		 */
		pages_pin_bug("pages freed with pins left", pages->npinned);
		iopt_pages_update_pinned(pages, pages->npinned, false);
		if (pages->type == IOPT_ADDRESS_USER)
			atomic_fetch_sub(&sio_user_pinned_pages_objs, 1);
		for (size_t r = 0; r != pages->nruns; r++)
			segs_release(pages, pages->runs[r].first, pages->runs[r].last);
		pages->npinned = 0;
	}
	if (pages->dmabuf)
		sio_dmabuf_release_pages(pages);
	if (pages->file_map)
		munmap(pages->file_map, pages->file_map_len);
	if (pages->file_fd >= 0)
		syscall(SYS_close, pages->file_fd);
	for (size_t i = 0; i != pages->nadopted; i++)
		munmap((void *)(uintptr_t)pages->adopted[i].addr, pages->adopted[i].len);
	free(pages->adopted);
	sio_mm_put(pages->adopted_from);
	sio_mm_put(pages->acct_mm);
	sio_mm_put(pages->mm);
	pthread_mutex_destroy(&pages->mutex);
	sio_free(pages->runs);
	sio_free(pages->segs);
	sio_free(pages);
}

/*
 * Check user memory as pinning would, then, in the eager mode, fault it in. The check comes
 * first so that a range the kernel could not pin is refused before anything is populated.
 */
static int user_range_pin_check(uint64_t addr, uint64_t len, bool write, bool populated)
{
	int rc = sio_user_range_check(addr, len, write);

	if (!rc && sio_pin_eager() && !populated)
		rc = sio_user_range_probe(addr, len, write);
	return rc;
}

/*
 * The process whose addresses @pages' "physical" addresses are: the mapper's for user memory,
 * ours for our own mappings of files.
 */
static struct sio_mm *pages_mm(const struct iopt_pages *pages)
{
	return pages->type == IOPT_ADDRESS_USER ? __atomic_load_n(&pages->mm, __ATOMIC_ACQUIRE) :
						  &sio_mm_self;
}

/*
 * Whether user pages can still be reached: in-process, a child of fork() cannot pin or copy
 * its parent's memory; in daemon mode, the client they belong to must still exist.
 */
static bool pages_mm_reachable(const struct iopt_pages *pages)
{
	struct sio_mm *mm = pages_mm(pages);

	if (sio_mm_is_self(mm))
		return __atomic_load_n(&pages->source_pid, __ATOMIC_RELAXED) == sio_self_pid();
	return sio_mm_alive(mm);
}

static int __pages_pin_check(struct iopt_pages *pages, size_t first, size_t last);

/* Check pages [first, last] as pinning would, in the memory they belong to; mutex held */
static int pages_pin_check(struct iopt_pages *pages, size_t first, size_t last)
{
	struct sio_mm *old = sio_mm_use(pages_mm(pages));
	int rc = __pages_pin_check(pages, first, last);

	sio_mm_unuse(old);
	return rc;
}

static int __pages_pin_check(struct iopt_pages *pages, size_t first, size_t last)
{
	uint64_t len = (last - first + 1) * SIO_PAGE_SIZE;
	bool populated;

	if (sio_should_fail())
		return -ENOMEM;
	switch (pages->type) {
	case IOPT_ADDRESS_USER:
		/* Pages of a process we cannot reach (our parent, after fork; a dead client) */
		if (!pages_mm_reachable(pages))
			return -EFAULT;
		/* Populated by the map just before, outside the table lock: once */
		populated = pages->prepopulated;
		pages->prepopulated = false;
		return user_range_pin_check(pages->base + first * SIO_PAGE_SIZE, len,
					    pages->writable, populated);
	case IOPT_ADDRESS_FILE: {
		int rc = file_pin_check(pages, first, last);

		if (rc)
			return rc;
		/* Our own shared mapping of the file: nothing to check, only to populate */
		if (!sio_pin_eager())
			return 0;
		return sio_user_range_probe(pages->base + first * SIO_PAGE_SIZE, len,
					    pages->writable);
	}
	case IOPT_ADDRESS_DMABUF:
		return pages->revoked ? -ENODEV : 0;
	}
	return -EINVAL;
}

/*
 * Pin counts are runs of pages with the same count, [first, last] with users > 0, sorted,
 * disjoint, and merged with a neighbour of equal count that touches them. A domain pins an
 * area as one run, so 64 GiB of guest RAM costs one entry instead of a count per page (Linux
 * keeps its pins in kernel memory, not in the process's RSS). Every run boundary is the
 * first page or the page after the last of a pin still held, so there are never more than
 * 2 * pin_ops runs: pinning keeps room for that many, and unpinning, which may split a run,
 * never allocates. pages->mutex protects them.
 */

/* The first run ending at or after @idx */
static size_t run_pos(const struct iopt_pages *pages, size_t idx)
{
	return sio_partition_point(pages->nruns, i, pages->runs[i].last < idx);
}

static int runs_reserve(struct iopt_pages *pages, size_t want)
{
	struct pin_run *n;
	size_t cap;

	if (want <= pages->runs_cap)
		return 0;
	cap = max_t(size_t, want, pages->runs_cap * 2);
	n = sio_realloc_array(pages->runs, cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	pages->runs = n;
	pages->runs_cap = cap;
	return 0;
}

static void run_insert(struct iopt_pages *pages, size_t pos, struct pin_run run)
{
	memmove(&pages->runs[pos + 1], &pages->runs[pos], (pages->nruns - pos) * sizeof(run));
	pages->runs[pos] = run;
	pages->nruns++;
}

static void run_remove(struct iopt_pages *pages, size_t pos)
{
	memmove(&pages->runs[pos], &pages->runs[pos + 1],
		(pages->nruns - pos - 1) * sizeof(*pages->runs));
	pages->nruns--;
}

/* Make @idx the first page of a run when a run holds it; the room is reserved */
static void run_split(struct iopt_pages *pages, size_t idx)
{
	size_t pos = run_pos(pages, idx);
	struct pin_run *r = &pages->runs[pos];

	if (pos == pages->nruns || r->first >= idx)
		return;
	if (pages->nruns == pages->runs_cap) {
		/* Only an unpin of something never pinned gets here */
		pages_pin_bug("unpin splits a run it did not pin", 0);
		return;
	}
	run_insert(pages, pos + 1, (struct pin_run){ idx, r->last, r->users });
	pages->runs[pos].last = idx - 1;
}

/* Merge the runs in positions [lo, hi] (clamped) with equal, touching neighbours */
static void runs_merge(struct iopt_pages *pages, size_t lo, size_t hi)
{
	size_t i = lo ? lo - 1 : 0;

	while (i + 1 < pages->nruns && i <= hi) {
		struct pin_run *a = &pages->runs[i], *b = a + 1;

		if (a->last + 1 == b->first && a->users == b->users) {
			a->last = b->last;
			run_remove(pages, i + 1);
			hi = hi ? hi - 1 : 0;
		} else {
			i++;
		}
	}
}

/* The count of page @idx; pages->mutex held */
static uint32_t pin_count(const struct iopt_pages *pages, size_t idx)
{
	size_t pos = run_pos(pages, idx);

	return pos < pages->nruns && pages->runs[pos].first <= idx ? pages->runs[pos].users : 0;
}

/* The first segment ending at or after @idx */
static size_t seg_pos(const struct iopt_pages *pages, size_t idx)
{
	return sio_partition_point(pages->nsegs, i, pages->segs[i].last < idx);
}

/* iopt_pages_host() with pages->mutex held */
uint64_t __iopt_pages_host(struct iopt_pages *pages, size_t idx, size_t last, size_t *run_last)
{
	size_t pos = seg_pos(pages, idx), rpos = run_pos(pages, idx);
	const struct pages_seg *g = pos < pages->nsegs ? &pages->segs[pos] : NULL;
	bool pinned = rpos < pages->nruns && pages->runs[rpos].first <= idx;
	size_t end = last;

	/* A segment holds pinned pages; where they are unpinned it is stale (see keep.c) */
	if (g && g->first <= idx && pinned) {
		end = min_t(size_t, min_t(size_t, end, g->last), pages->runs[rpos].last);
		if (run_last)
			*run_last = end;
		return g->host + (idx - g->first) * SIO_PAGE_SIZE;
	}
	if (g && g->first <= idx) /* stale: up to the next pinned page */
		end = min_t(size_t, end, rpos < pages->nruns ? pages->runs[rpos].first - 1 : end);
	else if (g)
		end = min_t(size_t, end, g->first - 1);
	if (run_last)
		*run_last = end;
	return pages->base + idx * SIO_PAGE_SIZE;
}

/* The reserve holding pinned page @idx, if keep.c moved it there; pages->mutex held */
struct sio_kept *__iopt_pages_kept(struct iopt_pages *pages, size_t idx)
{
	size_t pos = seg_pos(pages, idx);

	if (pos < pages->nsegs && pages->segs[pos].first <= idx && pin_count(pages, idx))
		return pages->segs[pos].kept;
	return NULL;
}

/**
 * iopt_pages_host() - where page @idx of @pages is in this process
 * @run_last: out (may be NULL): the last page up to @last that follows it contiguously
 *
 * A page of user memory is at its user address unless it is pinned and was moved (keep.c).
 */
uint64_t iopt_pages_host(struct iopt_pages *pages, size_t idx, size_t last, size_t *run_last)
{
	uint64_t host;

	if (pages->type != IOPT_ADDRESS_USER) {
		if (run_last)
			*run_last = last;
		return iopt_pages_pa(pages, idx * SIO_PAGE_SIZE);
	}
	pthread_mutex_lock(&pages->mutex);
	host = __iopt_pages_host(pages, idx, last, run_last);
	pthread_mutex_unlock(&pages->mutex);
	return host;
}

void iopt_pages_add_area(struct iopt_pages *pages, struct iopt_area *area)
{
	if (pages->type != IOPT_ADDRESS_USER)
		return;
	pthread_mutex_lock(&pages->mutex);
	list_add_tail(&area->pages_item, &pages->areas);
	pthread_mutex_unlock(&pages->mutex);
}

void iopt_pages_del_area(struct iopt_pages *pages, struct iopt_area *area)
{
	if (pages->type != IOPT_ADDRESS_USER)
		return;
	pthread_mutex_lock(&pages->mutex);
	list_del_init(&area->pages_item);
	pthread_mutex_unlock(&pages->mutex);
}

int iopt_pages_segs_reserve(struct iopt_pages *pages, size_t extra)
{
	struct pages_seg *n;
	size_t cap = pages->nsegs + extra;

	if (cap <= pages->segs_cap)
		return 0;
	cap = max_t(size_t, cap, pages->segs_cap * 2);
	n = sio_realloc_array(pages->segs, cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	pages->segs = n;
	pages->segs_cap = cap;
	return 0;
}

/* Take [first, last] out of every segment; the room for one split per call is reserved */
void iopt_pages_segs_cut(struct iopt_pages *pages, size_t first, size_t last)
{
	size_t pos = seg_pos(pages, first);

	while (pos < pages->nsegs && pages->segs[pos].first <= last) {
		struct pages_seg *g = &pages->segs[pos];

		if (g->first < first && g->last > last) {
			struct pages_seg rhs = *g;

			if (pages->nsegs == pages->segs_cap) {
				pages_pin_bug("no room to split a moved range", 0);
				return;
			}
			rhs.host += (last + 1 - g->first) * SIO_PAGE_SIZE;
			rhs.first = last + 1;
			g->last = first - 1;
			memmove(g + 2, g + 1, (pages->nsegs - pos - 1) * sizeof(*g));
			g[1] = rhs;
			pages->nsegs++;
			return;
		}
		if (g->first < first) {
			g->last = first - 1;
			pos++;
		} else if (g->last > last) {
			g->host += (last + 1 - g->first) * SIO_PAGE_SIZE;
			g->first = last + 1;
			return;
		} else {
			memmove(g, g + 1, (pages->nsegs - pos - 1) * sizeof(*g));
			pages->nsegs--;
		}
	}
}

/* Put [first, last] at @host, owned by @kept; the room for two is reserved */
void iopt_pages_segs_set(struct iopt_pages *pages, size_t first, size_t last, uint64_t host,
			 struct sio_kept *kept)
{
	size_t pos;

	iopt_pages_segs_cut(pages, first, last);
	pos = seg_pos(pages, first);
	memmove(&pages->segs[pos + 1], &pages->segs[pos],
		(pages->nsegs - pos) * sizeof(*pages->segs));
	pages->segs[pos] = (struct pages_seg){ first, last, host, kept };
	pages->nsegs++;
}

/* Pages [first, last] lost their last pin: what kept them is released with its last page */
static void segs_release(struct iopt_pages *pages, size_t first, size_t last)
{
	for (size_t pos = seg_pos(pages, first);
	     pos < pages->nsegs && pages->segs[pos].first <= last; pos++) {
		struct pages_seg *g = &pages->segs[pos];
		size_t n = min_t(size_t, g->last, last) - max_t(size_t, g->first, first) + 1;
		struct sio_kept *kept = g->kept;

		if (!kept || !sio_kept_put(kept, n))
			continue;
		/* Gone: no page of these pages may name it again */
		for (size_t i = 0; i != pages->nsegs; i++)
			if (pages->segs[i].kept == kept)
				pages->segs[i].kept = NULL;
	}
}

/*
 * Call @fn on each run of unpinned pages in [first, last]; stops at the first error.
 * *@nnew: the pages in them; *@ngaps: how many runs.
 */
static int for_each_gap(struct iopt_pages *pages, size_t first, size_t last, size_t *nnew,
			size_t *ngaps, int (*fn)(struct iopt_pages *, size_t, size_t))
{
	size_t pos = run_pos(pages, first), cur = first;

	*nnew = *ngaps = 0;
	while (cur <= last) {
		size_t gap_last = last;
		int rc;

		if (pos < pages->nruns && pages->runs[pos].first <= cur) {
			if (pages->runs[pos].last >= last)
				break;
			cur = pages->runs[pos++].last + 1;
			continue;
		}
		if (pos < pages->nruns && pages->runs[pos].first <= last)
			gap_last = pages->runs[pos].first - 1;
		rc = fn ? fn(pages, cur, gap_last) : 0;
		if (rc)
			return rc;
		*nnew += gap_last - cur + 1;
		(*ngaps)++;
		if (gap_last == last)
			break;
		cur = gap_last + 1;
	}
	return 0;
}

/* Pin pages [first, last]: on failure nothing changed */
int iopt_pages_pin(struct iopt_pages *pages, size_t first, size_t last)
{
	bool user = pages->type == IOPT_ADDRESS_USER;
	size_t nnew, ngaps, pos, cur;
	bool watch = false;
	int rc;

	/* No pin of user memory between keep.c's look at a range and the program's call */
	if (user)
		pthread_rwlock_rdlock(&sio_keep_rwlock);
	pthread_mutex_lock(&pages->mutex);
	/* Check every run of pages nobody pins yet */
	rc = for_each_gap(pages, first, last, &nnew, &ngaps, pages_pin_check);
	if (rc)
		goto out;
	rc = runs_reserve(pages, max_t(size_t, 2 * (pages->pin_ops + 1),
				       pages->nruns + ngaps + 2));
	if (!rc && pages->nsegs)
		rc = iopt_pages_segs_reserve(pages, ngaps);
	if (rc)
		goto out;
	if (!pages->npinned && nnew && pages->type == IOPT_ADDRESS_USER)
		atomic_fetch_add(&sio_user_pinned_pages_objs, 1);
	/*
	 * Watch this process's memory once it holds pins (again), and pages pinned at their
	 * user address again after keep.c moved others (uffd.c); another process's is the
	 * daemon's business
	 */
	watch = user && nnew && (!pages->npinned || pages->nsegs) && sio_mm_is_self(pages->mm);
	pages->npinned += nnew;
	rc = iopt_pages_update_pinned(pages, nnew, true);
	if (rc) {
		pages->npinned -= nnew;
		if (!pages->npinned && nnew && pages->type == IOPT_ADDRESS_USER)
			atomic_fetch_sub(&sio_user_pinned_pages_objs, 1);
		goto out;
	}
	pages->pin_ops++;
	run_split(pages, first);
	if (last != SIZE_MAX)
		run_split(pages, last + 1);
	pos = run_pos(pages, first);
	for (cur = first; cur <= last;) {
		struct pin_run *r = &pages->runs[pos];
		size_t end = last;

		if (pos < pages->nruns && r->first == cur) {
			r->users++;
			end = r->last;
		} else {
			if (pos < pages->nruns && r->first <= last)
				end = r->first - 1;
			/* Newly pinned pages are at their user address again */
			if (pages->nsegs)
				iopt_pages_segs_cut(pages, cur, end);
			run_insert(pages, pos, (struct pin_run){ cur, end, 1 });
		}
		pos++;
		if (end >= last)
			break;
		cur = end + 1;
	}
	runs_merge(pages, run_pos(pages, first), pos);
out:
	pthread_mutex_unlock(&pages->mutex);
	if (user)
		pthread_rwlock_unlock(&sio_keep_rwlock);
	if (!rc && watch)
		sio_uffd_watch(pages->uptr + first * SIO_PAGE_SIZE,
			       (min_t(size_t, last, pages->npages - 1) - first + 1) * SIO_PAGE_SIZE);
	return rc;
}

/*
 * One pin becomes two (an area cut in two on a page boundary): the pages stay pinned once
 * and each half unpins on its own, so it counts as a pin held, and the run boundary the first
 * half's unpin makes at the cut needs room. On failure nothing changed.
 */
int iopt_pages_split_pin(struct iopt_pages *pages)
{
	int rc;

	pthread_mutex_lock(&pages->mutex);
	rc = runs_reserve(pages, max_t(size_t, 2 * (pages->pin_ops + 1), pages->nruns + 2));
	if (!rc)
		pages->pin_ops++;
	pthread_mutex_unlock(&pages->mutex);
	return rc;
}

void iopt_pages_unpin(struct iopt_pages *pages, size_t first, size_t last)
{
	size_t nfreed = 0, pos, lo;

	pthread_mutex_lock(&pages->mutex);
	if (!pages->pin_ops) {
		pages_pin_bug("unpin of unpinned pages", last - first + 1);
		goto out;
	}
	/* Both splits fall on boundaries of pins still held: the room is there */
	run_split(pages, first);
	if (last != SIZE_MAX)
		run_split(pages, last + 1);
	lo = pos = run_pos(pages, first);
	for (size_t cur = first; cur <= last;) {
		struct pin_run *r = &pages->runs[pos];

		if (pos == pages->nruns || r->first > last) {
			/* Unpinning what nobody pinned: a caller's bug, not a reason to crash */
			pages_pin_bug("unpin of unpinned pages", last - cur + 1);
			break;
		}
		if (r->first > cur)
			pages_pin_bug("unpin of unpinned pages", r->first - cur);
		cur = r->last + 1;
		if (--r->users == 0) {
			nfreed += r->last - r->first + 1;
			if (pages->nsegs)
				segs_release(pages, r->first, r->last);
			run_remove(pages, pos);
		} else {
			pos++;
		}
		if (cur == 0 || cur > last)
			break;
	}
	runs_merge(pages, lo, pos);
	pages->pin_ops--;
	if (nfreed && pages->npinned == nfreed && pages->type == IOPT_ADDRESS_USER)
		atomic_fetch_sub(&sio_user_pinned_pages_objs, 1);
	pages->npinned -= nfreed;
	iopt_pages_update_pinned(pages, nfreed, false);
out:
	pthread_mutex_unlock(&pages->mutex);
}

/*
 * What Linux checks before an access copy (iopt_pages_rw_access()): a file's pages, and user
 * pages on the slow path, are pinned for the copy where nobody pins them yet, in the pages'
 * own write mode (a read of read-only memory mapped writable: EFAULT); one user page on the
 * slow path is pinned for the copy's direction only, by a remote GUP (EFAULT even at the top
 * of the address space). The fast path checks nothing but the copy itself.
 */
static int pages_rw_check(struct iopt_pages *pages, size_t first, size_t last)
{
	if (pages->type == IOPT_ADDRESS_FILE)
		return file_pin_check(pages, first, last);
	return sio_user_range_check(pages->base + first * SIO_PAGE_SIZE,
				    (last - first + 1) * SIO_PAGE_SIZE, pages->writable);
}

static int pages_rw_pin_check(struct iopt_pages *pages, size_t first, size_t last, bool write)
{
	size_t nnew, ngaps;
	int rc;

	if (pages->type == IOPT_ADDRESS_USER && first == last) {
		uint64_t uaddr = pages->base + first * SIO_PAGE_SIZE;

		return uaddr > UINT64_MAX - SIO_PAGE_SIZE ?
			       -EFAULT :
			       sio_user_range_check(uaddr, SIO_PAGE_SIZE, write);
	}
	pthread_mutex_lock(&pages->mutex);
	rc = for_each_gap(pages, first, last, &nnew, &ngaps, pages_rw_check);
	pthread_mutex_unlock(&pages->mutex);
	return rc;
}

static int __iopt_pages_rw(struct iopt_pages *pages, uint64_t start_byte, void *data,
			   size_t len, unsigned int flags);

/* @flags: SIO_ACCESS_RW_WRITE, SIO_ACCESS_RW_SLOW_PATH. Copies in the pages' own process. */
int iopt_pages_rw(struct iopt_pages *pages, uint64_t start_byte, void *data, size_t len,
		  unsigned int flags)
{
	struct sio_mm *old = sio_mm_use(pages_mm(pages));
	int rc = __iopt_pages_rw(pages, start_byte, data, len, flags);

	sio_mm_unuse(old);
	return rc;
}

static int __iopt_pages_rw(struct iopt_pages *pages, uint64_t start_byte, void *data,
			   size_t len, unsigned int flags)
{
	bool write = flags & SIO_ACCESS_RW_WRITE;
	uint64_t pa;
	int rc;

	if (!len)
		return 0;
	/* A dma-buf has no CPU view to copy through, revoked or not */
	if (pages->type == IOPT_ADDRESS_DMABUF)
		return -EINVAL;
	if (pages->type == IOPT_ADDRESS_USER && !pages_mm_reachable(pages))
		return -EFAULT;
	if (pages->type == IOPT_ADDRESS_FILE ||
	    (pages->type == IOPT_ADDRESS_USER && (flags & SIO_ACCESS_RW_SLOW_PATH))) {
		rc = pages_rw_pin_check(pages, start_byte / SIO_PAGE_SIZE,
					(start_byte + len - 1) / SIO_PAGE_SIZE, write);
		if (rc)
			return rc;
	}
	if (pages->type != IOPT_ADDRESS_USER) {
		pa = iopt_pages_pa(pages, start_byte);
		return write ? sio_copy_to_user(pa, data, len) :
			       sio_copy_from_user(data, pa, len);
	}
	/*
	 * Piece by piece where pinned pages were moved (keep.c). The caller's iopt->lock keeps
	 * them where they are until the copy is done.
	 */
	while (len) {
		size_t idx = start_byte / SIO_PAGE_SIZE, run_last;
		size_t last = (start_byte + len - 1) / SIO_PAGE_SIZE;
		uint64_t off = start_byte % SIO_PAGE_SIZE;
		size_t n;

		pa = iopt_pages_host(pages, idx, last, &run_last) + off;
		n = min_t(uint64_t, len, (run_last - idx + 1) * SIO_PAGE_SIZE - off);
		rc = write ? sio_copy_to_user(pa, data, n) : sio_copy_from_user(data, pa, n);
		if (rc)
			return rc;
		data = (char *)data + n;
		start_byte += n;
		len -= n;
	}
	return 0;
}

/*
 * Physical page identity. Two addresses are the same physical page when they are the same
 * address, or both sit in shared mappings of the same file (or shmem object) at the same
 * offset. /proc/self/maps tells which.
 */
struct sio_map_ent {
	uint64_t start, end, off, dev, ino;
	bool shared;
};

struct sio_maps {
	struct sio_map_ent *ents;
	size_t n;
};

struct sio_maps *sio_maps_snapshot(void)
{
	struct sio_maps *maps = calloc(1, sizeof(*maps));
	size_t cap = 0;
	char line[512];
	FILE *fp;

	if (!maps)
		return NULL;
	if (sio_mm_maps_path(sio_current_mm(), line, sizeof(line)))
		return maps;
	fp = fopen(line, "re");
	if (!fp)
		return maps;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long long s, e, off, ino;
		unsigned int maj, mnr;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &s, &e, perms, &off, &maj, &mnr,
			   &ino) != 7)
			continue;
		if (maps->n == cap) {
			struct sio_map_ent *n;

			cap = cap ? cap * 2 : 64;
			n = realloc(maps->ents, cap * sizeof(*n));
			if (!n)
				break;
			maps->ents = n;
		}
		maps->ents[maps->n++] = (struct sio_map_ent){
			.start = s, .end = e, .off = off, .ino = ino,
			.dev = ((uint64_t)maj << 32) | mnr, .shared = perms[3] == 's',
		};
	}
	fclose(fp);
	return maps;
}

void sio_maps_free(struct sio_maps *maps)
{
	if (!maps)
		return;
	free(maps->ents);
	free(maps);
}

static const struct sio_map_ent *maps_find(const struct sio_maps *maps, uint64_t addr)
{
	size_t lo = 0, hi = maps ? maps->n : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < maps->ents[mid].start)
			hi = mid;
		else if (addr >= maps->ents[mid].end)
			lo = mid + 1;
		else
			return &maps->ents[mid];
	}
	return NULL;
}

/*
 * Daemon mode: a file's pages are our own mapping of it (their "physical" addresses are
 * ours). An address within one of those mappings is that file's page.
 */
static bool own_file_identity(uint64_t addr, struct sio_page_id *id)
{
	struct iopt_pages *pages;
	bool found = false;

	pthread_mutex_lock(&sio_pages_list_lock);
	list_for_each_entry(pages, &sio_pages_list, global_node) {
		uint64_t map = (uintptr_t)pages->file_map;

		if (pages->type != IOPT_ADDRESS_FILE || !map || addr < map ||
		    addr - map >= pages->file_map_len)
			continue;
		*id = (struct sio_page_id){ .dev = pages->file_dev, .ino = pages->file_ino,
					    .off = pages->file_start + (addr - pages->base) };
		found = true;
		break;
	}
	pthread_mutex_unlock(&sio_pages_list_lock);
	return found;
}

struct sio_page_id sio_page_identity(const struct sio_maps *maps, uint64_t addr)
{
	const struct sio_map_ent *m = maps_find(maps, addr);

	if (m && m->shared && m->ino)
		return (struct sio_page_id){ .dev = m->dev, .ino = m->ino,
					     .off = m->off + (addr - m->start) };
	return (struct sio_page_id){ .off = addr };
}

/**
 * sio_page_identity_pa() - sio_page_identity() of a "physical" address (a domain's)
 *
 * In daemon mode @maps describes the client, but a file's pages are our own mapping of it:
 * those addresses are the file's pages. Takes sio_pages_list_lock: not under ctx->obj_lock.
 */
struct sio_page_id sio_page_identity_pa(const struct sio_maps *maps, uint64_t pa)
{
	struct sio_page_id id;
	uint64_t contig;

	sio_pa_decode(pa, &pa, &contig); /* a client's window: its address (mm_pa.c) */
	if (sio_mm_current_tls && own_file_identity(pa, &id))
		return id;
	return sio_page_identity(maps, pa);
}

/* How many pages objects hold the physical page at @uaddr pinned (MD_CHECK_REFS) */
/* Whether a page of the addresses [lo, hi) is the physical page @q */
static bool range_holds_page(const struct sio_maps *maps, uint64_t lo, uint64_t hi,
			     struct sio_page_id q)
{
	/* Anonymous or private memory: the page is its address */
	if (!q.ino)
		return q.off >= lo && q.off < hi;
	for (size_t i = 0; maps && i != maps->n; i++) {
		const struct sio_map_ent *m = &maps->ents[i];
		uint64_t s = max_t(uint64_t, lo, m->start), e = min_t(uint64_t, hi, m->end);

		if (s >= e || !m->shared || m->ino != q.ino || m->dev != q.dev)
			continue;
		if (q.off >= m->off + (s - m->start) && q.off < m->off + (e - m->start))
			return true;
	}
	return false;
}

/*
 * The same for a daemon's client (mm.h), whose addresses @maps describes: its user pages are
 * its own addresses, and a file's pages (ours, mapped here) are the file's offsets.
 */
static bool client_pages_hold_page(const struct sio_maps *maps,
				   const struct iopt_pages *pages, size_t r, struct sio_page_id q)
{
	uint64_t first = pages->runs[r].first * SIO_PAGE_SIZE;
	uint64_t end = (pages->runs[r].last + 1) * SIO_PAGE_SIZE;

	if (pages->type == IOPT_ADDRESS_USER)
		return pages->mm == sio_mm_current_tls &&
		       range_holds_page(maps, pages->base + first, pages->base + end, q);
	if (pages->type != IOPT_ADDRESS_FILE || !q.ino || q.ino != pages->file_ino ||
	    q.dev != pages->file_dev)
		return false;
	return q.off >= pages->file_start + first && q.off < pages->file_start + end;
}

/* How many pages objects hold the physical page at @uaddr pinned (MD_CHECK_REFS) */
int sio_pages_count_pins(const struct sio_maps *maps, uint64_t uaddr, unsigned int *refs)
{
	struct sio_page_id q = sio_page_identity(maps, ALIGN_DOWN(uaddr, SIO_PAGE_SIZE));
	struct iopt_pages *pages;
	unsigned int n = 0;

	pthread_mutex_lock(&sio_pages_list_lock);
	list_for_each_entry(pages, &sio_pages_list, global_node) {
		bool found = false;

		pthread_mutex_lock(&pages->mutex);
		for (size_t r = 0; r != pages->nruns && !found; r++) {
			uint64_t lo = pages->base + pages->runs[r].first * SIO_PAGE_SIZE;
			uint64_t hi = pages->base + (pages->runs[r].last + 1) * SIO_PAGE_SIZE;

			if (sio_mm_current_tls)
				found = client_pages_hold_page(maps, pages, r, q);
			else
				found = range_holds_page(maps, lo, hi, q);
		}
		n += found;
		pthread_mutex_unlock(&pages->mutex);
	}
	pthread_mutex_unlock(&sio_pages_list_lock);
	*refs = n;
	return 0;
}

/*
 * Daemon mode: a client exiting while others keep its context (a child of fork() that
 * mapped its memory into the IOAS its parent uses). Linux's pins hold the pages themselves,
 * so the parent still reaches them after the child is gone; a process's memory cannot outlive
 * it in user space. So the exiting client asks first (SIO_OP_EXITING) and its pinned runs
 * become memory of ours at the very same addresses (the domains' "physical" addresses stay
 * right): shared mappings are mapped from their file (/proc/PID/map_files), so we hold the
 * very pages other processes share, and private memory is copied. From then on the pages
 * are ours. A run whose addresses we use ourselves stays
 * the client's (and is EFAULT once it is gone). Unpinned parts are left behind: pinning them
 * later is EFAULT, as pinning a dead process's memory is.
 */
/*
 * The client's VMA around @addr when it is a shared mapping (shared anonymous memory, a
 * shared file): a descriptor of its file (/proc/PID/map_files) and the file offset of @addr,
 * so that we map the very pages instead of copying them. -1 for private memory.
 */
static int client_shared_file(const struct sio_mm *mm, uint64_t addr, uint64_t len,
			      off_t *off)
{
	char path[64], line[512];
	int fd = -1;
	FILE *fp;

	if (sio_mm_maps_path(mm, path, sizeof(path)))
		return -1;
	fp = fopen(path, "re");
	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long long s, e, o;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s %llx", &s, &e, perms, &o) != 4 || e <= addr)
			continue;
		if (s <= addr && addr + len <= e && perms[3] == 's') {
			snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx",
				 (int)sio_mm_pid(mm), s, e);
			fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				fd = open(path, O_RDONLY | O_CLOEXEC);
			*off = (off_t)(o + (addr - s));
		}
		break;
	}
	fclose(fp);
	return fd;
}

/* Our own mapping of the client's run [addr, addr + len), at the same address */
static int adopt_run(struct sio_mm *from, uint64_t addr, uint64_t len, bool writable)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	off_t off = 0;
	int fd = client_shared_file(from, addr, len, &off);
	void *p;

	if (fd >= 0) {
		p = mmap((void *)(uintptr_t)addr, len, prot, MAP_SHARED | MAP_FIXED_NOREPLACE, fd,
			 off);
		if (p == MAP_FAILED && writable)
			p = mmap((void *)(uintptr_t)addr, len, PROT_READ,
				 MAP_SHARED | MAP_FIXED_NOREPLACE, fd, off);
		close(fd);
	} else {
		p = mmap((void *)(uintptr_t)addr, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	}
	if (p != MAP_FAILED && (uintptr_t)p != addr) {
		munmap(p, len); /* a kernel without MAP_FIXED_NOREPLACE */
		return -EEXIST;
	}
	if (p == MAP_FAILED)
		return -errno;
	/* Private memory is copied while the client still exists */
	if (fd < 0 && sio_mm_copy(from, p, addr, len, false)) {
		munmap(p, len);
		return -EFAULT;
	}
	return 0;
}

static bool pages_adopt(struct iopt_pages *pages)
{
	struct sio_adopted_map *maps = calloc(pages->nruns ? pages->nruns : 1, sizeof(*maps));
	struct sio_mm *from = pages->mm;
	size_t n = 0;

	if (!maps)
		return false;
	for (size_t r = 0; r != pages->nruns; r++) {
		uint64_t addr = pages->base + pages->runs[r].first * SIO_PAGE_SIZE;
		uint64_t len = (pages->runs[r].last - pages->runs[r].first + 1) * SIO_PAGE_SIZE;

		if (adopt_run(from, addr, len, pages->writable)) {
			for (size_t i = 0; i != n; i++)
				munmap((void *)(uintptr_t)maps[i].addr, maps[i].len);
			free(maps);
			return false;
		}
		maps[n++] = (struct sio_adopted_map){ addr, len };
	}
	pages->adopted = maps;
	pages->nadopted = n;
	/* Readers load pages->mm without the mutex: the old mm stays referenced until free */
	pages->adopted_from = from;
	__atomic_store_n(&pages->source_pid, sio_self_pid(), __ATOMIC_RELAXED);
	__atomic_store_n(&pages->mm, &sio_mm_self, __ATOMIC_RELEASE);
	return true;
}

/**
 * sio_pages_adopt_pid() - take over the pinned user pages of client @pid, which is exiting
 * @all: out (may be NULL): whether every pinned run of @pid's was taken over
 *
 * Return: the pages objects taken over.
 */
size_t sio_pages_adopt_pid(pid_t pid, bool *all)
{
	struct iopt_pages *pages;
	size_t n = 0;

	if (all)
		*all = pid != sio_self_pid();
	if (pid == sio_self_pid())
		return 0;
	pthread_mutex_lock(&sio_pages_list_lock);
	list_for_each_entry(pages, &sio_pages_list, global_node) {
		if (pages->type != IOPT_ADDRESS_USER || sio_mm_is_self(pages->mm) ||
		    pages->mm->pid != pid)
			continue;
		pthread_mutex_lock(&pages->mutex);
		if (pages->npinned && !pages->nsegs && pages_adopt(pages))
			n++;
		else if (pages->npinned && all)
			*all = false;
		pthread_mutex_unlock(&pages->mutex);
	}
	pthread_mutex_unlock(&sio_pages_list_lock);
	return n;
}

/*
 * fork(): the child must find pages_list_lock free, whatever another thread was doing. Pages
 * pinned for the parent are the parent's mm's (Linux shows none in the child's VmPin/VmLck;
 * the per-user count stays, as the user is the same); the child never releases them (see
 * core/file.c), so its own counts start from zero.
 */
void sio_pages_fork_prepare(void)
{
	pthread_mutex_lock(&sio_pages_list_lock);
}

void sio_pages_fork_parent(void)
{
	pthread_mutex_unlock(&sio_pages_list_lock);
}

void sio_pages_fork_child(void)
{
	atomic_store(&sio_account.pinned_vm, 0);
	atomic_store(&sio_account.locked_vm, 0);
	pthread_mutex_unlock(&sio_pages_list_lock);
}

__attribute__((constructor)) static void pages_fork_init(void)
{
	sio_lockdep_set_class(&sio_pages_list_lock, SIO_LOCK_PAGES_LIST);
	sio_fork_init();
}
