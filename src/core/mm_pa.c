// SPDX-License-Identifier: MIT
/*
 * mm_pa.c — "physical" addresses that name their process (daemon mode; see mm.h).
 *
 * In-process a domain's physical address is the address of the page in this process, and
 * nothing here runs. In the daemon, user memory is a client's: its address alone does not
 * say in which process, and a DMA served for client B through pages client A mapped must
 * copy in A's memory, never in B's. A tag in the address's spare high bits cannot name a
 * process: the page-table formats walk 48-bit output addresses (an output address above is
 * an address-size fault) and x86-64 user addresses take 47 bits, so one bit is free. That bit
 * marks a client address; the 47 bits under it are a window number and an offset:
 *
 *   PA = 1 << 47 | window << 30 | (client address & (1 GiB - 1))
 *
 * A window is one client address space's aligned GiB, allocated on the first map of memory
 * in it and freed with that address space (the last sio_mm_put): a PTE exists only while the
 * backing pages that hold the mm do, so no live PTE names a freed window. Offsets inside a
 * GiB keep their alignment, so huge leaves still fit; a range that crosses a GiB is mapped
 * in one piece per window. 2^17 windows of a GiB: 128 TiB of client memory mapped at once.
 * A PA without the bit is ours (the daemon's own mappings: files, adopted pages).
 */
#include <stdlib.h>

#include "mm.h"
#include "sio.h"

#define WIN_SHIFT 30
#define WIN_COUNT (1u << (47 - WIN_SHIFT))
#define WIN_SIZE (1ULL << WIN_SHIFT)

struct pa_window {
	struct sio_mm *mm; /* NULL: free; published last, with release */
	uint64_t chunk;    /* the client address >> WIN_SHIFT */
};

static struct pa_window *windows; /* WIN_COUNT entries, allocated on first use */
static pthread_mutex_t win_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int win_next;     /* where the search for a free window starts */

static int window_find(struct sio_mm *mm, uint64_t chunk, uint32_t *out)
{
	struct pa_window *w;
	unsigned int i;

	for (i = 0; i < mm->nwins; i++)
		if (windows[mm->wins[i]].chunk == chunk) {
			*out = mm->wins[i];
			return 0;
		}
	if (mm->nwins == mm->wins_cap) {
		unsigned int cap = mm->wins_cap ? 2 * mm->wins_cap : 4;
		uint32_t *n = realloc(mm->wins, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		mm->wins = n;
		mm->wins_cap = cap;
	}
	/* Round robin: a freed window is reused as late as possible */
	for (i = 0; i < WIN_COUNT; i++) {
		uint32_t k = (win_next + i) % WIN_COUNT;

		if (__atomic_load_n(&windows[k].mm, __ATOMIC_RELAXED))
			continue;
		w = &windows[k];
		w->chunk = chunk;
		__atomic_store_n(&w->mm, mm, __ATOMIC_RELEASE);
		mm->wins[mm->nwins++] = k;
		win_next = k + 1;
		*out = k;
		return 0;
	}
	return -ENOSPC;
}

/**
 * sio_mm_addr_pa() - the physical address of @addr in @mm's memory
 * @contig: out: the bytes from @addr on that follow contiguously in physical addresses
 *          (to the end of @addr's GiB; unlimited for this process)
 *
 * This process's addresses are their own physical addresses. Return: 0, -EFAULT for a client
 * address beyond 47 bits, -ENOSPC when every window is taken, -ENOMEM.
 */
int sio_mm_addr_pa(struct sio_mm *mm, uint64_t addr, uint64_t *pa, uint64_t *contig)
{
	uint32_t k;
	int rc;

	if (sio_mm_is_self(mm)) {
		*pa = addr;
		*contig = UINT64_MAX - addr;
		return 0;
	}
	if (addr >> 47)
		return -EFAULT;
	pthread_mutex_lock(&win_lock);
	if (!windows) {
		struct pa_window *w = calloc(WIN_COUNT, sizeof(*w));

		__atomic_store_n(&windows, w, __ATOMIC_RELEASE);
	}
	rc = windows ? window_find(mm, addr >> WIN_SHIFT, &k) : -ENOMEM;
	pthread_mutex_unlock(&win_lock);
	if (rc)
		return rc;
	*pa = SIO_PA_CLIENT | (uint64_t)k << WIN_SHIFT | (addr & (WIN_SIZE - 1));
	*contig = WIN_SIZE - (addr & (WIN_SIZE - 1));
	return 0;
}

/**
 * sio_pa_decode() - which process's memory physical address @pa is, and where in it
 * @addr: out: the address in that process
 * @contig: out: the bytes from @pa on in the same process at contiguous addresses
 *
 * Return: the mm (this process's for an address without the client bit, or whenever no
 * window was ever made: in-process every address is ours), or NULL for a window that is
 * not (or no longer) allocated: the access is a fault.
 */
struct sio_mm *sio_pa_decode(uint64_t pa, uint64_t *addr, uint64_t *contig)
{
	struct pa_window *ws = __atomic_load_n(&windows, __ATOMIC_ACQUIRE);
	uint64_t k = (pa & ~SIO_PA_CLIENT) >> WIN_SHIFT;
	struct sio_mm *mm;

	if (!(pa & SIO_PA_CLIENT) || !ws) {
		*addr = pa;
		*contig = UINT64_MAX - pa;
		return &sio_mm_self;
	}
	if (k >= WIN_COUNT)
		return NULL;
	mm = __atomic_load_n(&ws[k].mm, __ATOMIC_ACQUIRE);
	if (!mm)
		return NULL;
	*addr = ws[k].chunk << WIN_SHIFT | (pa & (WIN_SIZE - 1));
	*contig = WIN_SIZE - (pa & (WIN_SIZE - 1));
	return mm;
}

/* The last reference to @mm is gone: so is every PTE naming its windows */
void sio_mm_pa_release(struct sio_mm *mm)
{
	pthread_mutex_lock(&win_lock);
	for (unsigned int i = 0; i < mm->nwins; i++)
		__atomic_store_n(&windows[mm->wins[i]].mm, NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&win_lock);
	free(mm->wins);
	mm->wins = NULL;
	mm->nwins = mm->wins_cap = 0;
}

/**
 * sio_mm_pa_repoint_pid() - client @pid is exiting and the daemon took over every page it had
 * pinned, at the same addresses (core/mem/pages.c: sio_pages_adopt_pid): its windows name this
 * process's memory from now on, so DMA through the domains' PTEs reaches the adopted copies
 *
 * Only for a live process (a dead one's recycled pid names none of these windows), and only
 * when every pinned run was taken over: a window maps nothing but pinned pages, so every
 * address a PTE names in it is one of ours. The windows stay the mm's (freed with it).
 * Return: the windows re-pointed.
 */
unsigned int sio_mm_pa_repoint_pid(pid_t pid)
{
	unsigned int n = 0;

	pthread_mutex_lock(&win_lock);
	for (unsigned int k = 0; windows && k < WIN_COUNT; k++) {
		struct sio_mm *mm = windows[k].mm;

		if (!mm || sio_mm_is_self(mm) || mm->pid != pid || !sio_mm_alive(mm))
			continue;
		__atomic_store_n(&windows[k].mm, &sio_mm_self, __ATOMIC_RELEASE);
		n++;
	}
	pthread_mutex_unlock(&win_lock);
	return n;
}

/**
 * sio_mm_windows_live() - windows allocated (tests: a dead client leaves none)
 */
unsigned long sio_mm_windows_live(void)
{
	unsigned long n = 0;

	pthread_mutex_lock(&win_lock);
	for (unsigned int k = 0; windows && k < WIN_COUNT; k++)
		n += windows[k].mm != NULL;
	pthread_mutex_unlock(&win_lock);
	return n;
}

/**
 * sio_domain_map_mm() - map @len bytes of @mm's memory at @addr into @domain at @iova
 *
 * One map per window the range covers (one for this process). All or nothing: what was
 * mapped is unmapped again on failure. Return: 0 or -errno (the map's, or sio_mm_addr_pa's).
 */
int sio_domain_map_mm(struct sio_domain *domain, uint64_t iova, struct sio_mm *mm,
		      uint64_t addr, uint64_t len, unsigned int prot, uint64_t pgsizes)
{
	uint64_t done = 0;
	int rc = 0;

	while (!rc && done < len) {
		uint64_t pa, contig, n;

		rc = sio_mm_addr_pa(mm, addr + done, &pa, &contig);
		if (rc)
			break;
		n = min_t(uint64_t, contig, len - done);
		rc = domain->ops->map(domain, iova + done, pa, n, prot, pgsizes);
		if (!rc)
			done += n;
	}
	if (rc && done)
		domain->ops->unmap(domain, iova, done);
	return rc;
}

/**
 * iopt_pages_dma_pa() - the physical address of byte @byte of @pages (an access's pin)
 *
 * User memory is its mapper's; our own mappings of files are ours. Return: as sio_mm_addr_pa.
 */
int iopt_pages_dma_pa(struct iopt_pages *pages, uint64_t byte, uint64_t *pa)
{
	struct sio_mm *mm = pages->type == IOPT_ADDRESS_USER ?
				    __atomic_load_n(&pages->mm, __ATOMIC_ACQUIRE) :
				    &sio_mm_self;
	uint64_t contig;

	return sio_mm_addr_pa(mm, iopt_pages_pa(pages, byte), pa, &contig);
}
