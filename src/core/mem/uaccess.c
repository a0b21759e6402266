// SPDX-License-Identifier: MIT
/*
 * User memory access. Every user pointer an ioctl carries is read and written through this
 * file, so a bad or since-unmapped pointer is -EFAULT and never a SIGSEGV, as copy_from_user
 * is in the kernel. Two ways to get there:
 *  - the fast copy (safecopy.c): plain loads and stores under a per-thread recovery point, a
 *    fault in the copy becoming a short copy; no system call;
 *  - process_vm_readv/writev on our own process: the kernel does the copy and reports EFAULT.
 *    The fallback where the fast copy is not built or its handler could not be installed, and
 *    forced by SOFTIOMMU_UACCESS=vm (CI runs the suite both ways).
 * The choice is made once per process, at the first copy.
 */
#include <sys/uio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../mm.h"
#include "safecopy.h"
#include "../sio.h"

enum uaccess_path { UACCESS_UNSET, UACCESS_FAST, UACCESS_VM };

static atomic_int uaccess_path;
static pthread_once_t uaccess_once = PTHREAD_ONCE_INIT;

static void uaccess_choose(void)
{
	const char *env = getenv("SOFTIOMMU_UACCESS");
	bool want_vm = env && !strcmp(env, "vm");

	atomic_store(&uaccess_path, !want_vm && sio_safecopy_ready() ? UACCESS_FAST : UACCESS_VM);
}

/*
 * The fast copy, unless this thread blocks SIGSEGV/SIGBUS: the kernel kills a process whose
 * fault it cannot deliver, so there the kernel has to do the copy.
 */
static inline bool fast_path(void)
{
	int path = atomic_load_explicit(&uaccess_path, memory_order_relaxed);

	if (__builtin_expect(path == UACCESS_UNSET, 0)) {
		pthread_once(&uaccess_once, uaccess_choose);
		path = atomic_load(&uaccess_path);
	}
	if (path != UACCESS_FAST)
		return false;
	if (__builtin_expect(sio_safecopy_thread_mask != SIO_MASK_OPEN, 0))
		return !sio_safecopy_mask_blocked();
	return true;
}

/**
 * sio_uaccess_path_name() - which copy this process uses: "fast" or "process_vm"
 */
const char *sio_uaccess_path_name(void)
{
	return fast_path() ? "fast" : "process_vm";
}

/*
 * Our own pid, cached: getpid() is a system call and every user copy needs it. A child of
 * fork() refreshes it before any of its threads can copy.
 */
static pid_t self_pid;
static pthread_once_t self_pid_once = PTHREAD_ONCE_INIT;

static void self_pid_refresh(void)
{
	__atomic_store_n(&self_pid, getpid(), __ATOMIC_RELAXED);
}

static void self_pid_init(void)
{
	self_pid_refresh();
	pthread_atfork(NULL, NULL, self_pid_refresh);
}

pid_t sio_self_pid(void)
{
	pthread_once(&self_pid_once, self_pid_init);
	return __atomic_load_n(&self_pid, __ATOMIC_RELAXED);
}

static int vm_copy(void *local, uint64_t remote, size_t len, bool write)
{
	return sio_mm_copy(sio_current_mm(), local, remote, len, write);
}

/*
 * A copy acts for the thread's current mm (mm.h): this process unless a daemon request set
 * another, whose memory only the kernel can reach.
 */
static inline bool remote_mm(void)
{
	return __builtin_expect(sio_mm_current_tls != NULL, 0);
}

static int user_copy(void *local, uint64_t remote, size_t len, bool write)
{
	size_t n;

	if (remote_mm() || !fast_path())
		return vm_copy(local, remote, len, write);
	if (remote + len < remote)
		return -EFAULT;
	n = write ? sio_safecopy((void *)(uintptr_t)remote, local, len, remote) :
		    sio_safecopy(local, (const void *)(uintptr_t)remote, len, remote);
	return n == len ? 0 : -EFAULT;
}

/*
 * Copy up to @len bytes, stopping early at the first unreadable page. Returns the bytes
 * copied (possibly 0). One system call for the common case.
 */
size_t sio_copy_from_user_partial(void *dst, uint64_t usrc, size_t len)
{
	struct iovec l = { .iov_base = dst, .iov_len = len };
	struct iovec r = { .iov_base = (void *)(uintptr_t)usrc, .iov_len = len };
	ssize_t n;

	if (!usrc || !len || usrc + len < usrc)
		return 0;
	if (remote_mm())
		return sio_mm_copy_sg(sio_mm_current_tls, dst, len, &r, 1, false);
	if (fast_path())
		return sio_safecopy(dst, (const void *)(uintptr_t)usrc, len, usrc);
	n = process_vm_readv(sio_self_pid(), &l, 1, &r, 1, 0);
	return n > 0 ? (size_t)n : 0;
}

static size_t fast_sg(void *local, size_t len, const struct iovec *user, unsigned int nr,
		      bool write)
{
	size_t done = 0;

	for (unsigned int i = 0; i < nr && done < len; i++) {
		uint64_t u = (uintptr_t)user[i].iov_base;
		size_t n = user[i].iov_len < len - done ? user[i].iov_len : len - done, got;

		if (u + n < u)
			break;
		got = write ? sio_safecopy((void *)(uintptr_t)u, (char *)local + done, n, u) :
			      sio_safecopy((char *)local + done, (const void *)(uintptr_t)u, n, u);
		done += got;
		if (got != n)
			break;
	}
	return done;
}

/*
 * Scatter-gather between one local buffer of @len bytes and @nr user segments whose lengths
 * add up to @len: one system call for all of them. Returns the bytes moved before the first
 * inaccessible user byte (== @len when all went).
 */
size_t sio_copy_user_sg(void *local, size_t len, const struct iovec *user, unsigned int nr,
			bool write)
{
	if (!remote_mm() && fast_path())
		return fast_sg(local, len, user, nr, write);
	return sio_mm_copy_sg(sio_current_mm(), local, len, user, nr, write);
}

/* sio_copy_user_sg() in this process's memory, whatever mm the thread acts for */
static size_t self_sg(void *local, size_t len, const struct iovec *user, unsigned int nr,
		      bool write)
{
	struct sio_mm *old;
	size_t n;

	if (!remote_mm())
		return sio_copy_user_sg(local, len, user, nr, write);
	old = sio_mm_use(NULL);
	n = sio_copy_user_sg(local, len, user, nr, write);
	sio_mm_unuse(old);
	return n;
}

static size_t mm_sg(struct sio_mm *mm, void *local, size_t len, const struct iovec *iov,
		    unsigned int nr, bool write)
{
	return sio_mm_is_self(mm) ? self_sg(local, len, iov, nr, write) :
				    sio_mm_copy_sg(mm, local, len, iov, nr, write);
}

#define PA_RUN 64

/*
 * Physical addresses of client memory (mm_pa.c): runs of segments in one process, each
 * moved with one copy in that process; a window that is not allocated stops the copy.
 */
static size_t pa_sg_decode(void *local, size_t len, const struct iovec *pa, unsigned int nr,
			   bool write)
{
	struct iovec run[PA_RUN];
	struct sio_mm *run_mm = NULL;
	size_t done = 0, run_len = 0;
	unsigned int nrun = 0;

	for (unsigned int i = 0; i < nr && done + run_len < len; i++) {
		uint64_t at = (uintptr_t)pa[i].iov_base;
		size_t left = min_t(size_t, pa[i].iov_len, len - done - run_len);

		while (left) {
			uint64_t addr, contig;
			struct sio_mm *mm = sio_pa_decode(at, &addr, &contig);
			size_t n = min_t(uint64_t, left, contig), got;

			if (mm && mm == run_mm && nrun < PA_RUN) {
				run[nrun++] = (struct iovec){ (void *)(uintptr_t)addr, n };
				run_len += n;
				at += n;
				left -= n;
				continue;
			}
			if (nrun) {
				got = mm_sg(run_mm, (char *)local + done, run_len, run, nrun, write);
				done += got;
				if (got != run_len)
					return done;
			}
			nrun = 0;
			run_len = 0;
			if (!mm)
				return done;
			run_mm = mm;
			run[nrun++] = (struct iovec){ (void *)(uintptr_t)addr, n };
			run_len = n;
			at += n;
			left -= n;
		}
	}
	if (nrun)
		done += mm_sg(run_mm, (char *)local + done, run_len, run, nrun, write);
	return done;
}

/**
 * sio_copy_pa_sg() - sio_copy_user_sg() at a domain's physical addresses (the DMA path)
 *
 * Each address is in the process it names (mm_pa.c), not in the one the thread acts for: in
 * the daemon, a DMA one client issues through pages another mapped copies in the other's
 * memory, and a DMA into a process that is gone, or through a window that is not there,
 * moves nothing from there on. In-process every address is ours: the user copy, unchanged.
 * Return: the bytes moved before the first that could not be.
 */
size_t sio_copy_pa_sg(void *local, size_t len, const struct iovec *pa, unsigned int nr,
		      bool write)
{
	uint64_t any = 0;

	for (unsigned int i = 0; i < nr; i++)
		any |= (uintptr_t)pa[i].iov_base;
	if (__builtin_expect(!(any & SIO_PA_CLIENT), 1)) {
		if (!remote_mm() && fast_path())
			return fast_sg(local, len, pa, nr, write);
		return self_sg(local, len, pa, nr, write);
	}
	return pa_sg_decode(local, len, pa, nr, write);
}

/* sio_copy_pa_sg() of one range: 0 or -EFAULT */
int sio_copy_pa(void *local, uint64_t pa, size_t len, bool write)
{
	struct iovec v = { (void *)(uintptr_t)pa, len };

	if (!len)
		return 0;
	return sio_copy_pa_sg(local, len, &v, 1, write) == len ? 0 : -EFAULT;
}

/*
 * Read through process_vm_readv() whatever the copy path: it goes through the kernel's
 * get_user_pages and so refuses the mappings pinning refuses (VM_IO, VM_PFNMAP), which a plain
 * load would read. The pin check's probe of special mappings (user_vma.c).
 */
int sio_copy_from_user_gup(void *dst, uint64_t usrc, size_t len)
{
	if (!len)
		return 0;
	if (!usrc)
		return -EFAULT;
	return vm_copy(dst, usrc, len, false);
}

int sio_copy_from_user(void *dst, uint64_t usrc, size_t len)
{
	if (!len)
		return 0;
	if (!usrc)
		return -EFAULT;
	return user_copy(dst, usrc, len, false);
}

int sio_copy_to_user(uint64_t udst, const void *src, size_t len)
{
	if (!len)
		return 0;
	if (!udst)
		return -EFAULT;
	return user_copy((void *)src, udst, len, true);
}

int sio_clear_user(uint64_t udst, size_t len)
{
	static const char zeros[256];

	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		int rc = sio_copy_to_user(udst, zeros, n);

		if (rc)
			return rc;
		udst += n;
		len -= n;
	}
	return 0;
}

/*
 * copy_struct_from_user(): the kernel's extensible-struct rule. A user struct smaller than
 * ours is zero-extended; a larger one must have an all-zero tail, else -E2BIG.
 */
int sio_copy_struct_from_user(void *dst, size_t ksize, uint64_t usrc, size_t usize)
{
	size_t size = usize < ksize ? usize : ksize;
	int rc;

	if (usize < ksize) {
		memset((char *)dst + size, 0, ksize - size);
	} else if (usize > ksize) {
		uint64_t p = usrc + ksize;
		size_t rest = usize - ksize;
		char buf[256];

		while (rest) {
			size_t n = rest < sizeof(buf) ? rest : sizeof(buf);

			rc = sio_copy_from_user(buf, p, n);
			if (rc)
				return rc;
			for (size_t i = 0; i != n; i++)
				if (buf[i])
					return -E2BIG;
			p += n;
			rest -= n;
		}
	}
	return sio_copy_from_user(dst, usrc, size);
}

/*
 * Fault in [uaddr, uaddr + len) as get_user_pages would (the eager pin mode): -EFAULT when any
 * of it is unmapped, or not writable when @write. MADV_POPULATE_* populates the page tables
 * without copying. Kernels before 5.14 lack it: each page is then read once, never written,
 * since storing back a byte read could undo a store another thread made in between; such a
 * kernel gets read residency (a private page is copied on the first write DMA instead).
 */
bool sio_probe_force_fallback; /* tests: the path of kernels without MADV_POPULATE_* */

int sio_user_range_probe(uint64_t uaddr, size_t len, bool write)
{
	uint64_t start = ALIGN_DOWN(uaddr, SIO_PAGE_SIZE);
	uint64_t end;
	char b;
	int rc;

	if (!len)
		return 0;
	if (check_add_overflow(uaddr, len, &end))
		return -EFAULT;
	end = ALIGN_UP(end, SIO_PAGE_SIZE);
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
	if (!sio_probe_force_fallback && !remote_mm()) {
		if (madvise((void *)(uintptr_t)start, end - start,
			    write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0)
			return 0;
		if (errno == EINTR || errno == EAGAIN)
			return -EAGAIN;
		/*
		 * A write-only VMA cannot be populated for reading, but its resident pages pin
		 * for reading (user_vma.c): the check says whether the range is such
		 */
		if (errno == EFAULT && !write)
			return sio_user_range_check(uaddr, len, false);
		/* EINVAL is also what a 5.14+ kernel says of a VMA it cannot populate */
		if (errno != EINVAL)
			return -EFAULT;
	}
	rc = sio_user_range_check(uaddr, len, write);
	if (rc)
		return rc;
	/* A page of a write-only VMA cannot be read, but pins for reading when resident */
	for (uint64_t p = start; p < end; p += SIO_PAGE_SIZE)
		if (vm_copy(&b, p, 1, false) &&
		    (write || sio_user_range_check(p, SIO_PAGE_SIZE, false)))
			return -EFAULT;
	return 0;
}
