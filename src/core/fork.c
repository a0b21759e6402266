// SPDX-License-Identifier: MIT
/*
 * fork.c — what a child of fork() finds. softiommu's state is not shared across processes
 * (core/file.c: a child's inherited files answer EIO and are never touched), but the child
 * opens /dev/iommu afresh through the same global locks the parent's threads may have held at
 * the fork. One handler takes them all before the fork, in the lock order of lockdep.h, and
 * frees them on both sides after; the child also starts its own accounting.
 */
#include <pthread.h>

#include "sio.h"
#include "mem/uffd.h"

void sio_keep_fork_prepare(void);
void sio_keep_fork_parent(void);
void sio_keep_fork_child(void);
void sio_pages_fork_prepare(void);
void sio_pages_fork_parent(void);
void sio_pages_fork_child(void);
void sio_vma_fork_prepare(void);
void sio_vma_fork_release(void);

static void fork_prepare(void)
{
	sio_keep_fork_prepare();  /* keep_lock */
	sio_pages_fork_prepare(); /* sio_pages_list_lock */
	sio_uffd_fork_prepare();  /* uffd_lock (taken before maps_fd_lock by a watch) */
	sio_vma_fork_prepare();   /* maps_fd_lock */
}

static void fork_parent(void)
{
	sio_vma_fork_release();
	sio_uffd_fork_parent();
	sio_pages_fork_parent();
	sio_keep_fork_parent();
}

static void fork_child(void)
{
	sio_vma_fork_release();
	sio_uffd_fork_child();
	sio_pages_fork_child();
	sio_keep_fork_child();
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_register(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/*
 * Called by the constructors of the files that own those locks (a static link pulls this
 * file in only through them).
 */
void sio_fork_init(void)
{
	pthread_once(&fork_once, fork_register);
}
