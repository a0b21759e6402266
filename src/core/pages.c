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
 * always moved with process_vm_readv/writev (sio_copy_*), so memory the client unmapped
 * behind our back is an EFAULT, never a SIGSEGV.
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sio.h"
#include "file.h"
#include "fail.h"

struct sio_account sio_account;
size_t sio_test_memory_limit = 65536;

static pthread_mutex_t pages_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct list_head pages_list = LIST_HEAD_INIT(pages_list);

static bool capable(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	if (data[cap / 32].effective & (1u << (cap % 32)))
		return true;
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
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY)
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
	pthread_mutex_init(&pages->mutex, NULL);
	pages->npages = (length + start_byte + SIO_PAGE_SIZE - 1) / SIO_PAGE_SIZE;
	pages->writable = writable;
	pages->account_mode = sio_capable_ipc_lock() ? IOPT_PAGES_ACCOUNT_NONE :
						       IOPT_PAGES_ACCOUNT_USER;
	pages->source_pid = sio_self_pid();
	pages->file_fd = -1;
	pthread_mutex_lock(&pages_list_lock);
	list_add_tail(&pages->global_node, &pages_list);
	pthread_mutex_unlock(&pages_list_lock);
	return pages;
}

struct iopt_pages *iopt_alloc_user_pages(uint64_t uptr, uint64_t length, bool writable)
{
	uint64_t uptr_down = ALIGN_DOWN(uptr, SIO_PAGE_SIZE);
	struct iopt_pages *pages;
	uint64_t end;

	if (check_add_overflow(uptr, length, &end))
		return ERR_PTR(-EOVERFLOW);
	pages = iopt_alloc_pages(uptr - uptr_down, length, writable);
	if (IS_ERR(pages))
		return pages;
	pages->type = IOPT_ADDRESS_USER;
	pages->uptr = uptr_down;
	pages->base = uptr_down;
	return pages;
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
	pages->file_map_len = pages->npages * SIO_PAGE_SIZE;
	pages->file_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (pages->file_fd < 0) {
		rc = -errno;
		iopt_put_pages(pages);
		return ERR_PTR(rc);
	}
	return pages;
}

/*
 * Our own mapping of a file's pages, made on first need; pages->mutex held. Not a file that
 * can back DMA (a pipe, a socket, a descriptor of softiommu's own): -EINVAL, as pinning it is
 * in Linux; a writable mapping of a read-only descriptor: -EPERM.
 */
static int file_ensure_mapped(struct iopt_pages *pages)
{
	struct stat st;
	void *map;

	if (pages->file_map)
		return 0;
	if (fstat(pages->file_fd, &st) || !S_ISREG(st.st_mode))
		return -EINVAL;
	map = mmap(NULL, pages->file_map_len, PROT_READ | (pages->writable ? PROT_WRITE : 0),
		   MAP_SHARED, pages->file_fd, pages->file_start);
	if (map == MAP_FAILED)
		return errno == EACCES ? -EPERM : -EINVAL;
	__atomic_store_n(&pages->base, (uintptr_t)map, __ATOMIC_RELEASE);
	__atomic_store_n(&pages->file_map, map, __ATOMIC_RELEASE);
	return 0;
}

atomic_ulong sio_pages_pin_bugs;

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
	pthread_mutex_lock(&pages_list_lock);
	list_del_init(&pages->global_node);
	pthread_mutex_unlock(&pages_list_lock);
	if (pages->npinned) {
		/*
		 * Every pin is owned by an area or access that must be gone by now: a pin left
		 * over is a core bug. Say so, and give the accounting back rather than leave
		 * VmPin and RLIMIT_MEMLOCK charged for pages nothing holds.
		 */
		pages_pin_bug("pages freed with pins left", pages->npinned);
		iopt_pages_update_pinned(pages, pages->npinned, false);
		pages->npinned = 0;
	}
	if (pages->dmabuf)
		sio_dmabuf_release_pages(pages);
	if (pages->file_map)
		munmap(pages->file_map, pages->file_map_len);
	if (pages->file_fd >= 0)
		syscall(SYS_close, pages->file_fd);
	pthread_mutex_destroy(&pages->mutex);
	for (size_t i = 0; i != pages->npins; i++)
		sio_free(pages->pins[i]);
	sio_free(pages->pins);
	sio_free(pages);
}

/*
 * Check user memory as pinning would, then, in the eager mode, fault it in. The check comes
 * first so that a range the kernel could not pin is refused before anything is populated.
 */
static int user_range_pin_check(uint64_t addr, uint64_t len, bool write)
{
	int rc = sio_user_range_check(addr, len, write);

	if (!rc && sio_pin_eager())
		rc = sio_user_range_probe(addr, len, write);
	return rc;
}

/* Check pages [first, last] as pinning would; pages->mutex held */
static int pages_pin_check(struct iopt_pages *pages, size_t first, size_t last)
{
	uint64_t len = (last - first + 1) * SIO_PAGE_SIZE;

	if (sio_should_fail())
		return -ENOMEM;
	switch (pages->type) {
	case IOPT_ADDRESS_USER:
		/* Pages of another process's memory (after fork) cannot be pinned here */
		if (pages->source_pid != sio_self_pid())
			return -EFAULT;
		return user_range_pin_check(pages->base + first * SIO_PAGE_SIZE, len,
					    pages->writable);
	case IOPT_ADDRESS_FILE: {
		struct stat st;
		int rc = file_ensure_mapped(pages);

		if (rc)
			return rc;
		if (fstat(pages->file_fd, &st))
			return -EFAULT;
		if (pages->file_start + (last + 1) * SIO_PAGE_SIZE >
		    ALIGN_UP((uint64_t)st.st_size, SIO_PAGE_SIZE))
			return -EINVAL;
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
 * Pin counts are sparse: a lazily mapped area can be far larger than the memory behind it
 * (Linux tracks pins in an xarray for the same reason), so counts live in chunks of
 * PIN_CHUNK_PAGES pages, made when a page of theirs is first pinned and freed when their last
 * pin goes. pages->mutex protects them.
 */
static size_t chunk_pos(struct iopt_pages *pages, size_t first)
{
	size_t lo = 0, hi = pages->npins;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pages->pins[mid]->first < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct pin_chunk *chunk_find(struct iopt_pages *pages, size_t idx)
{
	size_t first = ALIGN_DOWN(idx, PIN_CHUNK_PAGES), pos = chunk_pos(pages, first);

	return pos < pages->npins && pages->pins[pos]->first == first ? pages->pins[pos] : NULL;
}

static int chunk_create(struct iopt_pages *pages, size_t idx)
{
	size_t first = ALIGN_DOWN(idx, PIN_CHUNK_PAGES), pos = chunk_pos(pages, first);
	struct pin_chunk *c;

	if (pos < pages->npins && pages->pins[pos]->first == first)
		return 0;
	if (pages->npins == pages->pins_cap) {
		size_t cap = pages->pins_cap ? pages->pins_cap * 2 : 8;
		struct pin_chunk **n = sio_realloc_array(pages->pins, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		pages->pins = n;
		pages->pins_cap = cap;
	}
	c = sio_zalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->first = first;
	memmove(&pages->pins[pos + 1], &pages->pins[pos], (pages->npins - pos) * sizeof(c));
	pages->pins[pos] = c;
	pages->npins++;
	return 0;
}

static void chunk_remove(struct iopt_pages *pages, struct pin_chunk *c)
{
	size_t pos = chunk_pos(pages, c->first);

	memmove(&pages->pins[pos], &pages->pins[pos + 1], (pages->npins - pos - 1) * sizeof(c));
	pages->npins--;
	sio_free(c);
}

static uint32_t pin_count(struct iopt_pages *pages, size_t idx)
{
	struct pin_chunk *c = chunk_find(pages, idx);

	return c ? c->users[idx - c->first] : 0;
}

/* The next page >= @i (up to @last) with a pin count of zero is the return value's start */
static size_t next_unpinned_run(struct iopt_pages *pages, size_t i, size_t last, size_t *run_end)
{
	while (i <= last && pin_count(pages, i))
		i++;
	if (i > last)
		return i;
	for (*run_end = i; *run_end < last && !pin_count(pages, *run_end + 1); (*run_end)++)
		;
	return i;
}

/* Pin pages [first, last]: on failure nothing changed */
int iopt_pages_pin(struct iopt_pages *pages, size_t first, size_t last)
{
	size_t nnew = 0, i, run_end = 0;
	int rc = 0;

	pthread_mutex_lock(&pages->mutex);
	/* Check every run of pages nobody pins yet */
	for (i = first; (i = next_unpinned_run(pages, i, last, &run_end)) <= last;) {
		rc = pages_pin_check(pages, i, run_end);
		if (rc)
			goto out;
		nnew += run_end - i + 1;
		if (run_end == last)
			break;
		i = run_end + 1;
	}
	/* Make every chunk the counts need before anything is counted */
	for (i = ALIGN_DOWN(first, PIN_CHUNK_PAGES); i <= last; i += PIN_CHUNK_PAGES) {
		rc = chunk_create(pages, i);
		if (rc)
			goto out;
	}
	pages->npinned += nnew;
	rc = iopt_pages_update_pinned(pages, nnew, true);
	if (rc) {
		pages->npinned -= nnew;
		goto out;
	}
	for (i = first; i <= last;) {
		struct pin_chunk *c = chunk_find(pages, i);
		size_t end = min_t(size_t, last, c->first + PIN_CHUNK_PAGES - 1);

		for (; i <= end; i++)
			if (c->users[i - c->first]++ == 0)
				c->nonzero++;
	}
out:
	pthread_mutex_unlock(&pages->mutex);
	return rc;
}

void iopt_pages_unpin(struct iopt_pages *pages, size_t first, size_t last)
{
	size_t nfreed = 0;

	pthread_mutex_lock(&pages->mutex);
	for (size_t i = first; i <= last;) {
		struct pin_chunk *c = chunk_find(pages, i);
		size_t end = min_t(size_t, last, ALIGN_DOWN(i, PIN_CHUNK_PAGES) + PIN_CHUNK_PAGES - 1);

		if (!c) {
			/* Unpinning what nobody pinned: a caller's bug, not a reason to crash */
			pages_pin_bug("unpin of unpinned pages", end - i + 1);
			i = end + 1;
			continue;
		}
		for (; i <= end; i++) {
			if (!c->users[i - c->first]) {
				pages_pin_bug("unpin of an unpinned page", 1);
				continue;
			}
			if (--c->users[i - c->first] == 0) {
				c->nonzero--;
				nfreed++;
			}
		}
		if (!c->nonzero)
			chunk_remove(pages, c);
	}
	pages->npinned -= nfreed;
	iopt_pages_update_pinned(pages, nfreed, false);
	pthread_mutex_unlock(&pages->mutex);
}

int iopt_pages_rw(struct iopt_pages *pages, uint64_t start_byte, void *data, size_t len,
		  bool write)
{
	uint64_t pa;

	if (pages->type == IOPT_ADDRESS_USER && pages->source_pid != sio_self_pid())
		return -EFAULT;
	if (__atomic_load_n(&pages->revoked, __ATOMIC_ACQUIRE))
		return -ENODEV;
	if (pages->type == IOPT_ADDRESS_FILE &&
	    !__atomic_load_n(&pages->file_map, __ATOMIC_ACQUIRE)) {
		int rc;

		pthread_mutex_lock(&pages->mutex);
		rc = file_ensure_mapped(pages);
		pthread_mutex_unlock(&pages->mutex);
		if (rc)
			return rc;
	}
	pa = iopt_pages_pa(pages, start_byte);
	return write ? sio_copy_to_user(pa, data, len) : sio_copy_from_user(data, pa, len);
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
	fp = fopen("/proc/self/maps", "re");
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

struct sio_page_id sio_page_identity(const struct sio_maps *maps, uint64_t addr)
{
	const struct sio_map_ent *m = maps_find(maps, addr);

	if (m && m->shared && m->ino)
		return (struct sio_page_id){ .dev = m->dev, .ino = m->ino,
					     .off = m->off + (addr - m->start) };
	return (struct sio_page_id){ .off = addr };
}

static bool page_id_eq(struct sio_page_id a, struct sio_page_id b)
{
	return a.dev == b.dev && a.ino == b.ino && a.off == b.off;
}

/* How many pages objects hold the physical page at @uaddr pinned (MD_CHECK_REFS) */
int sio_pages_count_pins(const struct sio_maps *maps, uint64_t uaddr, unsigned int *refs)
{
	struct sio_page_id q = sio_page_identity(maps, ALIGN_DOWN(uaddr, SIO_PAGE_SIZE));
	struct iopt_pages *pages;
	unsigned int n = 0;

	pthread_mutex_lock(&pages_list_lock);
	list_for_each_entry(pages, &pages_list, global_node) {
		bool found = false;

		pthread_mutex_lock(&pages->mutex);
		for (size_t c = 0; c != pages->npins && !found; c++) {
			struct pin_chunk *chunk = pages->pins[c];

			for (size_t j = 0; j != PIN_CHUNK_PAGES && !found; j++) {
				uint64_t pa = pages->base + (chunk->first + j) * SIO_PAGE_SIZE;

				if (chunk->users[j] &&
				    page_id_eq(sio_page_identity(maps, pa), q))
					found = true;
			}
		}
		n += found;
		pthread_mutex_unlock(&pages->mutex);
	}
	pthread_mutex_unlock(&pages_list_lock);
	*refs = n;
	return 0;
}
