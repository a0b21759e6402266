// SPDX-License-Identifier: MIT
/*
 * memory.c — the calls that take memory out of the program: munmap, mremap, madvise
 * (MADV_DONTNEED, MADV_REMOVE, MADV_FREE) and mmap with MAP_FIXED (preload.c's mmap calls
 * shim_mem_before_map_fixed()). On Linux a device keeps the pages an IOAS pinned through all
 * of them; here the core moves the pinned pages in the range aside first (src/core/mem/keep.c),
 * then the program's call runs as it would. A range nothing pins costs one atomic load.
 *
 * Not seen here, so not kept (docs/memory-model.md): raw system calls, and the calls libc
 * makes internally (free() of a large block, malloc_trim()). A DMA to such pages faults.
 */
#undef _FORTIFY_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"
#include "../../core/sio.h"

#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif

SHIM_REAL_FN(munmap, int (*)(void *, size_t))
SHIM_REAL_FN(mremap, void *(*)(void *, size_t, size_t, int, ...))
SHIM_REAL_FN(madvise, int (*)(void *, size_t, int))

/* Calls the kernel would refuse before touching the mapping keep nothing */
static int page_aligned(const void *addr)
{
	return ((uintptr_t)addr & (SIO_PAGE_SIZE - 1)) == 0;
}

/* Keep the pinned pages of [addr, +len) for the call that follows, until shim_keep_end() */
static struct sio_keep *keep_begin(const void *addr, size_t len, enum sio_keep_how how,
				   size_t move_len)
{
	struct sio_keep *k;
	int saved = errno;

	shim_enter();
	k = sio_keep_begin((uintptr_t)addr, len, how, move_len);
	shim_leave();
	errno = saved;
	return k;
}

static void keep_end(struct sio_keep *k, uintptr_t new_addr)
{
	int saved = errno;

	if (!k)
		return;
	shim_enter();
	sio_keep_end(k, new_addr);
	shim_leave();
	errno = saved;
}

void *shim_mem_before_map_fixed(void *addr, size_t len, int flags)
{
	if (!shim_depth && (flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE) &&
	    page_aligned(addr) && len)
		return keep_begin(addr, len, SIO_KEEP_UNMAP, 0);
	return NULL;
}

void shim_mem_after_map_fixed(void *keep)
{
	keep_end(keep, 0);
}

SHIM_EXPORT int munmap(void *addr, size_t len)
{
	struct sio_keep *k = NULL;
	int ret;

	if (!shim_depth && page_aligned(addr) && len)
		k = keep_begin(addr, len, SIO_KEEP_UNMAP, 0);
	ret = real_munmap()(addr, len);
	keep_end(k, 0);
	return ret;
}

SHIM_EXPORT int madvise(void *addr, size_t len, int advice)
{
	struct sio_keep *k = NULL;
	int ret;

	if (shim_depth || !page_aligned(addr) || !len)
		return real_madvise()(addr, len, advice);
	switch (advice) {
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
		k = keep_begin(addr, len, SIO_KEEP_DISCARD, 0);
		break;
	case MADV_REMOVE:
		k = keep_begin(addr, len, SIO_KEEP_COPY, 0);
		break;
	case MADV_FREE:
		/* Linux cannot reclaim a pinned page, so its contents stay for both sides */
		if (sio_keep_any_pinned((uintptr_t)addr, len))
			return 0;
		break;
	}
	ret = real_madvise()(addr, len, advice);
	keep_end(k, 0);
	return ret;
}

/*
 * The pages that move stay pinned where they went (the program's and the device's view are
 * shared as on Linux); a tail the call drops is kept, as munmap would; pinned pages under a
 * MREMAP_FIXED destination are kept first (a separate step: the only one with a window in
 * which a pin can slip in).
 */
SHIM_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	struct sio_keep *k;
	void *want = NULL, *ret;

	if (flags & MREMAP_FIXED) {
		va_list ap;

		va_start(ap, flags);
		want = va_arg(ap, void *);
		va_end(ap);
	}
	if (shim_depth || !page_aligned(old) || !old_len || !new_len)
		return real_mremap()(old, old_len, new_len, flags, want);
	if ((flags & MREMAP_FIXED) && page_aligned(want))
		keep_end(keep_begin(want, new_len, SIO_KEEP_UNMAP, 0), 0);
	k = keep_begin(old, old_len, SIO_KEEP_MOVE, new_len < old_len ? new_len : old_len);
	ret = real_mremap()(old, old_len, new_len, flags, want);
	keep_end(k, ret == MAP_FAILED ? 0 : (uintptr_t)ret);
	return ret;
}
